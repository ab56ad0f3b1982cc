# SEARCH and UID SEARCH (RFC 3501 6.4.4): address, text, date, size, flag and
# set keys with AND/OR/NOT, CHARSET UTF-8 matching decoded headers and 8-bit
# bodies case-insensitively, and the errors for unknown charsets and keys.
# Every test runs on an mbox spool INBOX and on a Maildir INBOX.
import pytest

from helpers import mailstore
from helpers.imapclient import Lit

MAIL_FORMATS = mailstore.FORMATS


@pytest.fixture
def box(inbox, client):
    r = client.command("SELECT INBOX")
    assert r.ok, r
    return client


def search(c, *criteria):
    r = c.command("SEARCH ", *criteria)
    assert r.ok, r
    assert len(r.named("SEARCH")) == 1, r.raw
    return sorted(r.search())


@pytest.mark.parametrize("criteria,want", [
    ("ALL", [1, 2, 3, 4]),
    ("FROM alice", [1, 4]),
    ("FROM \"Bob Builder\"", [2]),
    ("SUBJECT report", [2]),
    ("SUBJECT REPORT", [2]),
    ("TO carol", [2]),
    ("CC dave", [2]),
    ("BCC dave", []),
    ("BODY pineapples", [1]),
    ("BODY Pineapples", [1]),
    ("TEXT \"Bob Builder\"", [2]),
    ("TEXT pineapples", [1]),
    ("HEADER Message-ID <notes-4@example.org>", [4]),
    ("HEADER In-Reply-To \"\"", [2]),
    ("SINCE 21-Nov-2026", [3, 4]),
    ("BEFORE 20-Nov-2026", [1]),
    ("ON 20-Nov-2026", [2]),
    ("SENTSINCE 21-Nov-2026", [3, 4]),
    ("SENTBEFORE 20-Nov-2026", [1]),
    ("SENTON 23-Nov-2026", [4]),
    ("NOT FROM alice", [2, 3]),
    ("OR FROM bob SUBJECT meeting", [2, 4]),
    ("FROM alice SUBJECT meeting", [4]),
    ("(FROM alice) (NOT SUBJECT hello)", [4]),
    ("2:3", [2, 3]),
    ("2,4:*", [2, 4]),
    ("NEW", [1, 2, 3, 4]),
    ("RECENT", [1, 2, 3, 4]),
    ("OLD", []),
    ("UNSEEN", [1, 2, 3, 4]),
    ("SEEN", []),
    ("DELETED", []),
    ("NOTHING-HERE-AT-ALL BODY x", None),
])
def test_search_keys(box, criteria, want):
    if want is None:
        assert box.command("SEARCH " + criteria).status == "BAD"
    else:
        assert search(box, criteria) == want


def test_search_sizes(box, inbox):
    sizes = [len(e.crlf()) for e in inbox]
    s2 = sizes[1]
    assert search(box, "LARGER %d" % (s2 - 1)) == [i + 1 for i, s in enumerate(sizes) if s > s2 - 1]
    assert search(box, "SMALLER %d" % (s2 + 1)) == [i + 1 for i, s in enumerate(sizes) if s < s2 + 1]


def test_search_flags_and_keywords(box):
    assert box.command("STORE 2 +FLAGS (\\Seen \\Flagged)").ok
    assert box.command("STORE 3 +FLAGS (\\Deleted $Label1)").ok
    assert search(box, "SEEN") == [2]
    assert search(box, "UNSEEN") == [1, 3, 4]
    assert search(box, "FLAGGED") == [2]
    assert search(box, "UNFLAGGED") == [1, 3, 4]
    assert search(box, "DELETED") == [3]
    assert search(box, "UNDELETED UNSEEN") == [1, 4]
    assert search(box, "KEYWORD $Label1") == [3]
    assert search(box, "UNKEYWORD $Label1") == [1, 2, 4]
    assert search(box, "ANSWERED") == []


def test_uid_search(box):
    f = box.command("FETCH 1:* UID").fetches()
    uid = {seq: int(v["UID"]) for seq, v in f.items()}
    r = box.command("UID SEARCH FROM alice")
    assert r.ok, r
    assert sorted(r.search()) == [uid[1], uid[4]]
    r = box.command("UID SEARCH UID %d:%d" % (uid[2], uid[3]))
    assert sorted(r.search()) == [uid[2], uid[3]]
    r = box.command("SEARCH UID %d" % uid[4])
    assert r.search() == [4]


def test_search_charset_utf8_decoded_subject(box):
    assert search(box, "CHARSET UTF-8 SUBJECT ", Lit("grüße".encode())) == [3]


def test_search_charset_utf8_body(box):
    assert search(box, "CHARSET UTF-8 BODY ", Lit("München".encode())) == [3]


def test_search_utf8_is_case_insensitive(box):
    assert search(box, "CHARSET UTF-8 BODY ", Lit("MÜNCHEN".encode())) == [3]
    assert search(box, "CHARSET UTF-8 SUBJECT ", Lit("GRÜßE".encode())) == [3]


def test_search_us_ascii_charset(box):
    assert search(box, "CHARSET US-ASCII FROM carol") == [3]


def test_unknown_charset_is_badcharset(box):
    r = box.command("SEARCH CHARSET X-NO-SUCH-CHARSET FROM alice")
    assert r.status == "NO", r
    assert (r.code or "").upper().startswith("BADCHARSET"), r


def test_search_with_imaplib(inbox, imap_user):
    imap_user.select("INBOX")
    typ, data = imap_user.search(None, "FROM", "alice")
    assert typ == "OK" and data[0].split() == [b"1", b"4"]
