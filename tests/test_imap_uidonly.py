# UIDONLY (RFC 9586): once enabled, message numbers are refused with
# BAD [UIDREQUIRED] (in commands and in search keys), FETCH answers come as
# "* uid UIDFETCH (...)", expunges as VANISHED, and SELECT names no message
# number. Front-end behaviour only, so one mailbox format is enough.
import pytest

from helpers.imapclient import Lit
from test_imap_condstore import message, ok


@pytest.fixture
def four(mail_store, user, connect):
    """INBOX holds four messages (UIDs 1-4), seen by an earlier session (no
    longer \\Recent); 1 is \\Seen."""
    mail_store.write(user, [message(n) for n in (1, 2, 3, 4)])
    c = connect()
    ok(c.command("SELECT INBOX"))
    ok(c.command("STORE 1 +FLAGS.SILENT (\\Seen)"))
    ok(c.command("LOGOUT"))


@pytest.fixture
def uidonly(four, connect):
    c = connect()
    r = ok(c.command("ENABLE UIDONLY"))
    assert r.raw == [b"* ENABLED UIDONLY"], r.raw
    return c


def test_capability(client):
    caps = ok(client.command("CAPABILITY")).named("CAPABILITY")[0]
    assert "UIDONLY" in caps, caps


def test_select_names_no_message_number(uidonly):
    r = ok(uidonly.command("SELECT INBOX"))
    assert "UNSEEN" not in r.codes(), r.raw
    assert b"* 4 EXISTS" in r.raw, r.raw


@pytest.mark.parametrize("command", [
    "FETCH 1 (FLAGS)", "FETCH 1:* FLAGS", "STORE 1 +FLAGS (\\Seen)", "SEARCH ALL",
    "COPY 1 INBOX", "MOVE 1 INBOX", "SORT (DATE) UTF-8 ALL",
    "THREAD REFERENCES UTF-8 ALL",
])
def test_message_numbers_are_refused(uidonly, command):
    ok(uidonly.command("SELECT INBOX"))
    r = uidonly.command(command)
    name = command.split()[0]
    assert (r.status, r.code) == ("BAD", "UIDREQUIRED"), r
    assert r.text == "Message numbers cannot be used once UIDONLY is enabled: use UID %s" % name
    assert r.raw == [], r.raw
    # nothing ran: the flags and the mailbox are as they were
    f = ok(uidonly.command("UID FETCH 1:* (FLAGS)"))
    assert f.raw == [b"* 1 UIDFETCH (FLAGS (\\Seen))", b"* 2 UIDFETCH (FLAGS ())",
                     b"* 3 UIDFETCH (FLAGS ())", b"* 4 UIDFETCH (FLAGS ())"], f.raw


def test_replace_with_a_message_number_is_refused(uidonly):
    ok(uidonly.command("SELECT INBOX"))
    r = uidonly.command("REPLACE 1 INBOX ", Lit(b"Subject: x\r\n\r\nx\r\n"))
    assert (r.status, r.code) == ("BAD", "UIDREQUIRED"), r
    assert ok(uidonly.command("STATUS INBOX (MESSAGES)")).named("STATUS")[0][2] == \
        ["MESSAGES", "4"]


@pytest.mark.parametrize("keys", ["1:2", "NOT 3", "OR 1 UID 2", "UNSEEN 2:*"])
def test_message_numbers_in_search_keys_are_refused(uidonly, keys):
    ok(uidonly.command("SELECT INBOX"))
    r = uidonly.command("UID SEARCH " + keys)
    assert (r.status, r.code) == ("BAD", "UIDREQUIRED"), r
    assert r.text == "SEARCH: Message numbers cannot be used once UIDONLY is enabled", r


def test_uid_commands_work(uidonly):
    c = uidonly
    ok(c.command("SELECT INBOX"))
    assert ok(c.command("UID SEARCH UID 2:* UNSEEN")).raw == [b"* SEARCH 2 3 4"]
    # "$" holds UIDs, so it is no message number
    ok(c.command("UID SEARCH RETURN (SAVE) UID 3:4"))
    assert ok(c.command("UID SEARCH $")).raw == [b"* SEARCH 3 4"]
    r = ok(c.command("UID MOVE $ INBOX"))
    # expunges are told last message first, one VANISHED each
    assert r.raw[-2:] == [b"* VANISHED 4", b"* VANISHED 3"], r.raw
    # UID REPLACE (RFC 8508) is the form UIDONLY allows
    r = ok(c.command("UID REPLACE 2 INBOX ", Lit(b"Subject: new\r\n\r\nnew\r\n")))
    assert r.raw[1:] == [b"* 5 EXISTS", b"* 3 RECENT", b"* VANISHED 2"], r.raw


@pytest.mark.every_format
def test_uidfetch_responses(uidonly):
    c = uidonly
    ok(c.command("SELECT INBOX"))
    # RFC 9586 3.3: the number is the UID; the UID item only when asked for
    r = ok(c.command("UID FETCH 2:3 (FLAGS)"))
    assert r.raw == [b"* 2 UIDFETCH (FLAGS ())", b"* 3 UIDFETCH (FLAGS ())"], r.raw
    r = ok(c.command("UID FETCH 4 (UID RFC822.SIZE)"))
    assert r.raw == [b"* 4 UIDFETCH (UID 4 RFC822.SIZE %d)" % len(message(4).crlf())], r.raw
    r = ok(c.command("UID STORE 2 +FLAGS (\\Flagged)"))
    assert r.raw == [b"* 2 UIDFETCH (FLAGS (\\Flagged))"], r.raw
    assert ok(c.command("UID STORE 3 +FLAGS.SILENT (\\Flagged)")).raw == []
    # a BODY fetch that sets \Seen reports the flags in the same response
    r = ok(c.command("UID FETCH 3 (BODY[HEADER.FIELDS (SUBJECT)])"))
    assert r.raw == [b"* 3 UIDFETCH (BODY[HEADER.FIELDS (SUBJECT)] {15}\r\n"
                     b"Subject: m3\r\n\r\n FLAGS (\\Seen \\Flagged))"], r.raw


def test_other_sessions_changes_come_by_uid(uidonly, connect):
    c = uidonly
    ok(c.command("SELECT INBOX"))
    other = connect()
    ok(other.command("SELECT INBOX"))
    ok(other.command("STORE 2 +FLAGS.SILENT (\\Answered)"))
    ok(other.command("STORE 3 +FLAGS.SILENT (\\Deleted)"))
    ok(other.command("EXPUNGE"))
    r = ok(c.command("NOOP"))
    assert r.raw == [b"* VANISHED 3", b"* 2 UIDFETCH (FLAGS (\\Answered))"] or \
        r.raw == [b"* 2 UIDFETCH (FLAGS (\\Answered))", b"* VANISHED 3"], r.raw


@pytest.mark.every_format
def test_own_expunge_is_vanished(uidonly):
    c = uidonly
    ok(c.command("SELECT INBOX"))
    ok(c.command("UID STORE 1,4 +FLAGS.SILENT (\\Deleted)"))
    r = ok(c.command("EXPUNGE"))
    assert r.raw == [b"* VANISHED 4", b"* VANISHED 1"], r.raw
    ok(c.command("UID STORE 2 +FLAGS.SILENT (\\Deleted)"))
    r = ok(c.command("UID EXPUNGE 2"))
    assert r.raw == [b"* VANISHED 2"], r.raw


def test_without_enable_nothing_changes(four, client):
    r = ok(client.command("SELECT INBOX"))
    assert r.codes()["UNSEEN"] == "2"
    assert ok(client.command("FETCH 2 (FLAGS)")).raw == [b"* 2 FETCH (FLAGS ())"]
    assert ok(client.command("UID FETCH 2 (FLAGS)")).raw == [b"* 2 FETCH (UID 2 FLAGS ())"]
