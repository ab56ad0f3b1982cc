# FETCH (RFC 3501 6.4.5, 7.4.2): every data item a mail client uses, checked
# against the bytes the MTA delivered: sizes, sections, partials, \Seen side
# effects, ENVELOPE and BODYSTRUCTURE. Every test runs on an mbox spool INBOX
# and on a Maildir INBOX.
import re

import pytest

from helpers import mailstore, mbox

MAIL_FORMATS = mailstore.FORMATS

PART2_MIME = (b'Content-Type: application/octet-stream; name="report.bin"\r\n'
              b"Content-Transfer-Encoding: base64\r\n"
              b'Content-Disposition: attachment; filename="report.bin"\r\n\r\n')


@pytest.fixture
def box(inbox, client):
    r = client.command("SELECT INBOX")
    assert r.ok, r
    return client


def fetch(c, cmd):
    r = c.command(cmd)
    assert r.ok, r
    return r.fetches()


def flags_of(c, seq):
    return {f.upper() for f in fetch(c, "FETCH %d FLAGS" % seq)[seq]["FLAGS"]}


def up(v):
    return v.upper() if isinstance(v, (bytes, str)) else v


def test_fetch_flags_of_fresh_delivery(box):
    f = fetch(box, "FETCH 1:* FLAGS")
    assert sorted(f) == [1, 2, 3, 4]
    for seq in f:
        assert "\\SEEN" not in {x.upper() for x in f[seq]["FLAGS"]}


def test_fetch_uid_ascending(box):
    f = fetch(box, "FETCH 1:* UID")
    uids = [int(f[i]["UID"]) for i in sorted(f)]
    assert uids == sorted(set(uids)) and uids[0] > 0


def test_body_is_the_delivered_message(box, inbox):
    f = fetch(box, "FETCH 1:* BODY.PEEK[]")
    for i, e in enumerate(inbox, 1):
        assert f[i]["BODY[]"] == e.crlf(), "message %d differs" % i
        assert not f[i]["BODY[]"].startswith(b"From ")


def test_rfc822_size_is_length_of_body(box, inbox):
    f = fetch(box, "FETCH 1:* (RFC822.SIZE BODY.PEEK[])")
    for i, e in enumerate(inbox, 1):
        assert int(f[i]["RFC822.SIZE"]) == len(f[i]["BODY[]"]) == len(e.crlf())


def test_body_header_and_text(box, inbox):
    f = fetch(box, "FETCH 1:4 (BODY.PEEK[HEADER] BODY.PEEK[TEXT])")
    for i, e in enumerate(inbox, 1):
        assert f[i]["BODY[HEADER]"] == mbox.crlf(e.header())
        assert f[i]["BODY[TEXT]"] == mbox.crlf(e.text())
        assert f[i]["BODY[HEADER]"].endswith(b"\r\n\r\n")


def test_body_header_fields(box):
    f = fetch(box, "FETCH 1 BODY.PEEK[HEADER.FIELDS (SUBJECT FROM)]")
    key = [k for k in f[1] if k.startswith("BODY[HEADER.FIELDS")]
    assert len(key) == 1, f[1]
    assert f[1][key[0]] == (b"From: Alice Example <alice@example.org>\r\n"
                            b"Subject: Hello there\r\n\r\n")


def test_body_header_fields_not(box, inbox):
    f = fetch(box, "FETCH 1 BODY.PEEK[HEADER.FIELDS.NOT (RETURN-PATH)]")
    val = list(f[1].values())[0]
    assert b"Return-Path" not in val
    assert val == mbox.crlf(inbox[0].header().split(b"\n", 1)[1])


def test_peek_does_not_set_seen_but_body_does(box, inbox):
    fetch(box, "FETCH 1 BODY.PEEK[]")
    assert "\\SEEN" not in flags_of(box, 1)
    f = fetch(box, "FETCH 1 BODY[]")
    assert f[1]["BODY[]"] == inbox[0].crlf()
    assert "\\SEEN" in flags_of(box, 1)
    assert "\\SEEN" not in flags_of(box, 2)


def test_seen_from_fetch_persists(box, connect):
    fetch(box, "FETCH 2 BODY[TEXT]")
    box.command("LOGOUT")
    c = connect()
    c.command("SELECT INBOX")
    assert "\\SEEN" in flags_of(c, 2)
    assert "\\SEEN" not in flags_of(c, 1)


def test_rfc822_items(box, inbox):
    f = fetch(box, "FETCH 4 (RFC822.HEADER RFC822.TEXT)")
    assert f[4]["RFC822.HEADER"] == mbox.crlf(inbox[3].header())
    assert f[4]["RFC822.TEXT"] == mbox.crlf(inbox[3].text())
    f = fetch(box, "FETCH 4 RFC822")
    assert f[4]["RFC822"] == inbox[3].crlf()
    assert "\\SEEN" in flags_of(box, 4)


def test_envelope(box):
    env = fetch(box, "FETCH 2 ENVELOPE")[2]["ENVELOPE"]
    assert len(env) == 10
    date, subject, frm, sender, reply_to, to, cc, bcc, irt, msgid = env
    assert date == b"Fri, 20 Nov 2026 08:29:13 +0000"
    assert subject == b"Report with attachment"
    assert frm == [[b"Bob Builder", None, b"bob", b"example.com"]]
    assert sender == frm            # no Sender: field -> From (RFC 3501 7.4.2)
    assert reply_to == [[None, None, b"bob-replies", b"example.com"]]
    assert to == [[None, None, b"test", b"example.net"],
                  [b"Carol", None, b"carol", b"example.com"]]
    assert cc == [[None, None, b"dave", b"example.com"]]
    assert bcc is None
    assert irt == b"<hello-1@example.org>"
    assert msgid == b"<report-2@example.com>"


def test_envelope_keeps_encoded_words(box):
    env = fetch(box, "FETCH 3 ENVELOPE")[3]["ENVELOPE"]
    assert env[1] == b"=?UTF-8?Q?Gr=C3=BC=C3=9Fe_aus_M=C3=BCnchen?="
    assert env[4] == env[2]         # no Reply-To: -> From


def test_bodystructure_of_plain_text(box, inbox):
    bs = fetch(box, "FETCH 1 BODYSTRUCTURE")[1]["BODYSTRUCTURE"]
    text = mbox.crlf(inbox[0].text())
    assert [up(bs[0]), up(bs[1])] == [b"TEXT", b"PLAIN"]
    assert [up(x) for x in bs[2]] == [b"CHARSET", b"US-ASCII"]
    assert bs[3] is None and bs[4] is None
    assert up(bs[5]) == b"7BIT"
    assert int(bs[6]) == len(text)
    assert int(bs[7]) == text.count(b"\r\n")


def test_bodystructure_of_multipart(box):
    bs = fetch(box, "FETCH 2 BODYSTRUCTURE")[2]["BODYSTRUCTURE"]
    assert isinstance(bs[0], list) and isinstance(bs[1], list)
    assert up(bs[2]) == b"MIXED"
    assert [up(x) for x in bs[3]] == [b"BOUNDARY", b"=-=-=BOUNDARY42"]
    p1, p2 = bs[0], bs[1]
    assert [up(p1[0]), up(p1[1])] == [b"TEXT", b"PLAIN"]
    assert [up(x) for x in p1[2]] == [b"CHARSET", b"UTF-8"]
    assert up(p1[5]) == b"7BIT"
    assert int(p1[6]) == len(b"Please find the report attached.\r\n")
    assert int(p1[7]) == 1
    assert [up(p2[0]), up(p2[1])] == [b"APPLICATION", b"OCTET-STREAM"]
    assert [up(x) for x in p2[2]] == [b"NAME", b"REPORT.BIN"]
    assert up(p2[5]) == b"BASE64"
    assert int(p2[6]) == 46
    # extension data of the attachment: md5, then disposition
    assert up(p2[8][0]) == b"ATTACHMENT"
    assert [up(x) for x in p2[8][1]] == [b"FILENAME", b"REPORT.BIN"]


def test_body_is_bodystructure_without_extensions(box):
    f = fetch(box, "FETCH 2 (BODY BODYSTRUCTURE)")[2]
    body, bs = f["BODY"], f["BODYSTRUCTURE"]
    assert len(body) == 3               # part, part, subtype
    assert body[0] == bs[0][:8]         # text part: ... size lines
    assert body[1] == bs[1][:7]         # other part: ... size


def test_body_parts_and_mime_headers(box):
    f = fetch(box, "FETCH 2 (BODY.PEEK[1] BODY.PEEK[2] BODY.PEEK[2.MIME])")[2]
    assert f["BODY[1]"] == b"Please find the report attached.\r\n"
    assert f["BODY[2]"] == b"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=\r\n"
    assert f["BODY[2.MIME]"] == PART2_MIME


def test_body_1_of_a_non_multipart_is_its_text(box, inbox):
    f = fetch(box, "FETCH 1 BODY.PEEK[1]")
    assert f[1]["BODY[1]"] == mbox.crlf(inbox[0].text())


def test_eight_bit_body_unchanged(box, inbox):
    f = fetch(box, "FETCH 3 BODY.PEEK[TEXT]")
    assert f[3]["BODY[TEXT]"] == "Viele Grüße aus München!\r\nCarol\r\n".encode()


def test_internaldate_from_the_from_line(box):
    """The From-line date (mbox) or the file's mtime (Maildir, which the
    store sets to the same date)."""
    f = fetch(box, "FETCH 1:4 INTERNALDATE")
    for i in f:
        assert re.match(r"^[ \d]\d-[A-Z][a-z]{2}-\d{4} \d\d:\d\d:\d\d [+-]\d{4}$",
                        f[i]["INTERNALDATE"].decode()), f[i]["INTERNALDATE"]
    # the test machine runs in UTC; From-line dates are local time
    assert f[1]["INTERNALDATE"] == b"19-Nov-2026 10:00:00 +0000"
    assert f[4]["INTERNALDATE"] == b"23-Nov-2026 17:45:00 +0000"


def test_partial_fetch(box, inbox):
    full = inbox[3].crlf()
    f = fetch(box, "FETCH 4 BODY.PEEK[]<0.10>")[4]
    assert f["BODY[]<0>"] == full[:10]
    f = fetch(box, "FETCH 4 BODY.PEEK[]<10.20>")[4]
    assert f["BODY[]<10>"] == full[10:30]
    f = fetch(box, "FETCH 4 BODY.PEEK[TEXT]<5.7>")[4]
    assert f["BODY[TEXT]<5>"] == mbox.crlf(inbox[3].text())[5:12]


def test_partial_beyond_end_is_empty(box):
    f = fetch(box, "FETCH 1 BODY.PEEK[]<100000.10>")[1]
    assert f["BODY[]<100000>"] == b""


def test_macros(box):
    f = fetch(box, "FETCH 1 FAST")[1]
    assert {"FLAGS", "INTERNALDATE", "RFC822.SIZE"} <= set(f)
    f = fetch(box, "FETCH 1 ALL")[1]
    assert {"FLAGS", "INTERNALDATE", "RFC822.SIZE", "ENVELOPE"} <= set(f)
    f = fetch(box, "FETCH 1 FULL")[1]
    assert {"FLAGS", "INTERNALDATE", "RFC822.SIZE", "ENVELOPE", "BODY"} <= set(f)


def test_uid_fetch_always_returns_uid(box, inbox):
    uids = fetch(box, "FETCH 1:* UID")
    u3 = uids[3]["UID"]
    r = box.command("UID FETCH %s BODY.PEEK[HEADER.FIELDS (MESSAGE-ID)]" % u3)
    assert r.ok, r
    f = r.fetches()
    assert list(f) == [3]
    assert f[3]["UID"] == u3
    assert b"<utf8-3@example.com>" in list(v for k, v in f[3].items() if k != "UID")[0]


def test_uid_fetch_of_missing_uid_is_empty_ok(box):
    r = box.command("UID FETCH 999999 FLAGS")
    assert r.ok and r.fetches() == {}


def test_fetch_beyond_exists_is_refused(box):
    # a number past the last message is a client error: BAD, as UW and Dovecot say
    r = box.command("FETCH 9 FLAGS")
    assert (r.status, r.text) == (
        "BAD", "Invalid message sequence number (the mailbox has 4 messages)"), r
    assert r.untagged == [], r.raw


def test_fetch_with_imaplib(inbox, imap_user):
    imap_user.select("INBOX")
    typ, data = imap_user.fetch("1", "(BODY.PEEK[])")
    assert typ == "OK"
    assert data[0][1] == inbox[0].crlf()
