# REPLACE and UID REPLACE (RFC 8508) through the daemon, on every mailbox
# format: the new message is stored first (APPENDUID in an untagged OK), the
# old one expunged after, and any failure leaves the old message in place
# and nothing appended.
import re

import pytest

from helpers import mailstore
from helpers.imapclient import Lit
from helpers.mbox import Entry

MAIL_FORMATS = mailstore.FORMATS

# the argument checks are made before any driver is reached
ONE_FORMAT = pytest.mark.mbox_only("REPLACE's refusals happen before the driver is asked")


def message(n):
    data = ("From: a%d@example.com\nTo: you@example.org\nSubject: draft %d\n"
            "Message-ID: <r%d@example.com>\n\ndraft body %d\n" % (n, n, n, n)).encode()
    return Entry(data, date="Fri Jan  9 12:00:00 2026")


NEW = (b"Date: Thu, 1 Jan 2015 00:05:00 -0500\r\nFrom: Fritz <fritz@example.org>\r\n"
       b"Subject: the replacement\r\nTo: Ulrich <ulrich@example.org>\r\n\r\n"
       b"Second draft, better than the first.\r\n")


def ok(r):
    assert r.ok, r
    return r


@pytest.fixture
def drafts(mail_store, user, connect):
    """INBOX holds three messages (UIDs 1-3), selected by the client returned."""
    mail_store.write(user, [message(n) for n in (1, 2, 3)])
    c = connect()
    r = ok(c.command("SELECT INBOX"))
    return c, r.codes()["UIDVALIDITY"]


def subjects(c):
    """UID -> Subject of every message of the selected mailbox."""
    r = ok(c.command("UID FETCH 1:* (BODY.PEEK[HEADER.FIELDS (SUBJECT)])"))
    out = {}
    for a in r.fetches().values():
        body = a["BODY[HEADER.FIELDS (SUBJECT)]"]
        out[int(a["UID"])] = body.decode().strip()
    return out


def test_capability(client):
    caps = ok(client.command("CAPABILITY")).named("CAPABILITY")[0]
    assert "REPLACE" in caps, caps


def test_replace_in_the_selected_mailbox(drafts):
    c, validity = drafts
    r = ok(c.command("REPLACE 2 INBOX (\\Seen \\Draft) ", Lit(NEW)))
    assert r.text == "REPLACE completed", r
    # RFC 8508 3.2's order: APPENDUID, the new message, the old one's
    # expunge (the three first SELECTed here are \Recent, and the new one)
    assert r.raw == [b"* OK [APPENDUID %s 4] Replacement stored" % validity.encode(),
                     b"* 4 EXISTS", b"* 4 RECENT", b"* 2 EXPUNGE"], r.raw
    assert subjects(c) == {1: "Subject: draft 1", 3: "Subject: draft 3",
                           4: "Subject: the replacement"}
    f = ok(c.command("UID FETCH 4 (FLAGS RFC822.SIZE)")).fetches()
    assert set(f[3]["FLAGS"]) == {"\\Seen", "\\Draft", "\\Recent"} and int(f[3]["RFC822.SIZE"]) == len(NEW)


def test_uid_replace_into_another_mailbox(drafts, connect):
    c, _ = drafts
    ok(c.command("CREATE Drafts"))
    validity = ok(c.command("STATUS Drafts (UIDVALIDITY)")).named("STATUS")[0][2][1]
    r = ok(c.command("UID REPLACE 3 Drafts ", Lit(NEW)))
    assert r.text == "UID REPLACE completed", r
    assert r.raw == [b"* OK [APPENDUID %s 1] Replacement stored" % str(validity).encode(),
                     b"* 3 EXPUNGE"], r.raw
    assert subjects(c) == {1: "Subject: draft 1", 2: "Subject: draft 2"}
    other = connect()
    ok(other.command("SELECT Drafts"))
    assert subjects(other) == {1: "Subject: the replacement"}
    body = ok(other.command("FETCH 1 BODY.PEEK[]")).fetches()[1]["BODY[]"]
    assert body == NEW


def test_other_deleted_messages_stay(drafts):
    c, _ = drafts
    ok(c.command("STORE 1 +FLAGS.SILENT (\\Deleted)"))
    r = ok(c.command("REPLACE 3 INBOX ", Lit(NEW)))
    assert b"* 3 EXPUNGE" in r.raw and b"* 1 EXPUNGE" not in r.raw, r.raw
    assert sorted(subjects(c)) == [1, 2, 4]


def test_failed_append_keeps_the_old_message(drafts):
    c, _ = drafts
    r = c.command("REPLACE 2 NoSuchBox ", Lit(NEW))
    assert r.status == "NO" and r.code == "TRYCREATE", r
    assert r.raw == [], r.raw
    assert sorted(subjects(c)) == [1, 2, 3]
    assert c.command("STATUS NoSuchBox (MESSAGES)").status == "NO"


@ONE_FORMAT
def test_read_only_mailbox_is_refused_before_storing(drafts):
    c, _ = drafts
    ok(c.command("CREATE Drafts"))
    ok(c.command("EXAMINE INBOX"))
    r = c.command("REPLACE 1 Drafts ", Lit(NEW))
    assert (r.status, r.text) == ("NO", "Mailbox is read-only"), r
    assert ok(c.command("STATUS Drafts (MESSAGES)")).named("STATUS")[0][2] == ["MESSAGES", "0"]


@ONE_FORMAT
def test_uid_that_is_not_there(drafts):
    c, _ = drafts
    ok(c.command("CREATE Drafts"))
    r = c.command("UID REPLACE 9 Drafts ", Lit(NEW))
    assert (r.status, r.text) == ("NO", "No message with UID 9 to replace"), r
    assert ok(c.command("STATUS Drafts (MESSAGES)")).named("STATUS")[0][2] == ["MESSAGES", "0"]


@ONE_FORMAT
@pytest.mark.parametrize("args, text", [
    ("4 INBOX", "Invalid message sequence number (the mailbox has 3 messages)"),
    ("1:2 INBOX", None),
    ("0 INBOX", None),
])
def test_bad_message_numbers(drafts, args, text):
    c, _ = drafts
    r = c.command("REPLACE %s " % args, Lit(NEW))
    assert r.status == "BAD", r
    if text:
        assert r.text == text, r
    assert sorted(subjects(c)) == [1, 2, 3]


@ONE_FORMAT
def test_star_is_the_last_message(drafts):
    c, _ = drafts
    r = ok(c.command("REPLACE * INBOX ", Lit(NEW)))
    assert b"* 3 EXPUNGE" in r.raw, r.raw
    assert sorted(subjects(c)) == [1, 2, 4]


@ONE_FORMAT
def test_one_message_only_and_not_before_select(drafts, connect):
    c, _ = drafts
    r = c.command("REPLACE 1 INBOX ", Lit(NEW), " ", Lit(NEW))
    assert (r.status, r.code) == ("NO", "LIMIT"), r
    assert r.text == "Too many messages: one REPLACE takes at most 1", r
    r = c.command("REPLACE 1 INBOX ", Lit(b""))
    assert r.status == "NO" and r.text.startswith("Message 1 is empty"), r
    assert sorted(subjects(c)) == [1, 2, 3]
    fresh = connect()
    r = fresh.command("REPLACE 1 INBOX ", Lit(NEW))
    assert (r.status, r.text) == ("BAD", "Unknown command, or not valid now; literal refused"), r


@ONE_FORMAT
def test_a_message_larger_than_max_literal(drafts):
    """REPLACE's literal is a message: max_message holds, not max_literal."""
    c, _ = drafts
    big = NEW + (b"y" * 998 + b"\r\n") * 100   # 100 KB over the 64 KiB
    r = ok(c.command("REPLACE 1 INBOX ", Lit(big)))
    assert b"* 1 EXPUNGE" in r.raw, r.raw
    f = ok(c.command("UID FETCH 4 RFC822.SIZE")).fetches()
    assert int(f[3]["RFC822.SIZE"]) == len(big)
