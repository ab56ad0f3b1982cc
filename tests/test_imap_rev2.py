# IMAP4rev2 (RFC 9051) beside IMAP4rev1: after ENABLE IMAP4rev2 a session
# follows the rev2 rules of RFC 9051 appendix E, one test per rule (byte for
# byte where the RFC's examples fix the answer); a session that does not
# enable it is answered as before (test_without_enable_rev1_is_unchanged).
import re

import pytest

from helpers import mailstore
from helpers.imapclient import Lit
from helpers.mbox import Entry
from helpers.session import make_message


def ok(r):
    assert r.ok, r
    return r


def rev2(connect):
    """A logged-in session with IMAP4rev2 enabled (its answer is
    test_enable_is_acknowledged_once's)."""
    c = connect()
    ok(c.command("ENABLE IMAP4rev2"))
    return c


def search_box():
    """Twelve messages; the one from Smith is message 5."""
    out = []
    for n in range(1, 13):
        who = "Smith <smith@example.org>" if n == 5 else "Ann <ann@example.org>"
        out.append(Entry(("From: %s\nTo: b@example.org\nSubject: s%d\n"
                          "Date: Mon, 1 Mar 2027 10:00:00 +0000\n\nbody %d\n"
                          % (who, n, n)).encode()))
    return out


def strip_ids(raw):
    """Untagged lines with the numbers that change from run to run hidden."""
    return [re.sub(rb"(UIDVALIDITY|MAILBOXID) [^\]]+\]", rb"\1 x]", x) for x in raw]


def test_capability_lists_both_revisions(conn, client):
    for c in (conn, client):
        caps = ok(c.command("CAPABILITY")).named("CAPABILITY")[0][1:3]
        assert caps == ["IMAP4rev1", "IMAP4rev2"], caps


def test_enable_is_acknowledged_once(client):
    # RFC 5161: ENABLED names what this command turned on
    assert ok(client.command("ENABLE IMAP4rev2")).raw == [b"* ENABLED IMAP4rev2"]
    assert ok(client.command("ENABLE IMAP4rev2")).raw == [b"* ENABLED"]


def test_select_has_list_and_no_recent_or_unseen(connect, mail_store, user):
    # RFC 9051 6.3.2: FLAGS, EXISTS, LIST; UIDVALIDITY, UIDNEXT,
    # PERMANENTFLAGS; no RECENT response and no UNSEEN code (appendix E)
    mail_store.write(user, [make_message(n) for n in range(1, 4)])
    r = ok(rev2(connect).command("SELECT INBOX"))
    assert strip_ids(r.raw) == [
        b"* FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft)",
        b"* OK [PERMANENTFLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft \\*)]"
        b" Flags the client can change permanently",
        b"* 3 EXISTS",
        b"* OK [UIDVALIDITY x] UIDs valid",
        b"* OK [UIDNEXT 4] Predicted next UID",
        b"* OK [MAILBOXID x] Mailbox id",
        b"* LIST (\\Noinferiors) \"/\" INBOX",
    ], r.raw
    assert r.code == "READ-WRITE", r


def test_reselect_says_closed(connect, mail_store, user):
    # RFC 9051 7.1 (CLOSED), taken from QRESYNC into the base protocol
    c = rev2(connect)
    ok(c.command("SELECT INBOX"))
    r = ok(c.command("EXAMINE INBOX"))
    assert r.raw[0] == b"* OK [CLOSED] Previous mailbox closed", r.raw
    assert sum(x.startswith(b"* OK [CLOSED]") for x in r.raw) == 1, r.raw


@pytest.mark.parametrize("mail_store", mailstore.FORMATS, indirect=True)
def test_no_recent_anywhere(connect, mail_store, user):
    # appendix E: the RECENT response and the \Recent flag are gone; a
    # message another session delivers is announced by EXISTS alone
    mail_store.write(user, [make_message(1)])
    c = rev2(connect)
    r = ok(c.command("SELECT INBOX"))
    assert not [x for x in r.raw if b"RECENT" in x.upper()], r.raw
    ok(connect().command("APPEND INBOX ", Lit(make_message(2).crlf())))
    r = ok(c.command("NOOP"))
    assert r.raw == [b"* 2 EXISTS"], r.raw
    r = ok(c.command("FETCH 1:2 FLAGS"))
    assert r.raw == [b"* 1 FETCH (FLAGS ())", b"* 2 FETCH (FLAGS ())"], r.raw
    r = ok(c.command("STORE 2 +FLAGS (\\Seen)"))
    assert r.raw == [b"* 2 FETCH (FLAGS (\\Seen))"], r.raw


def test_recent_is_no_status_item_nor_search_key(connect, mail_store, user):
    # RFC 9051 9: status-att and search-key no longer hold RECENT, NEW, OLD
    c = rev2(connect)
    r = c.command("STATUS INBOX (MESSAGES RECENT)")
    assert (r.status, r.text) == ("BAD", "STATUS: unknown item RECENT"), r
    ok(c.command("SELECT INBOX"))
    for key in ("RECENT", "NEW", "OLD", "NOT old"):
        r = c.command("SEARCH " + key)
        assert (r.status, r.text, r.raw) == (
            "BAD", "SEARCH: IMAP4rev2 has no RECENT, NEW or OLD search key", []), r


@pytest.mark.parametrize("mail_store", mailstore.FORMATS, indirect=True)
def test_status_size_and_deleted(connect, mail_store, user):
    # STATUS=SIZE (RFC 8438) and DELETED are rev2 items; SIZE is what the
    # messages' RFC822.SIZE add up to, in every format
    mail_store.write(user, [make_message(n, size=300 + 50 * n) for n in range(1, 4)])
    c = rev2(connect)
    ok(c.command("SELECT INBOX"))
    sizes = ok(c.command("FETCH 1:3 RFC822.SIZE")).fetches()
    total = sum(int(f["RFC822.SIZE"]) for f in sizes.values())
    ok(c.command("STORE 2 +FLAGS.SILENT (\\Deleted)"))
    ok(c.command("UNSELECT"))
    r = ok(c.command("STATUS INBOX (MESSAGES UNSEEN DELETED SIZE)"))
    assert r.raw == [b"* STATUS INBOX (MESSAGES 3 UNSEEN 3 SIZE %d DELETED 1)" % total], r.raw


def test_search_answers_esearch(connect, mail_store, user):
    # RFC 9051 6.4.4's examples, tags and all: no RETURN means RETURN (ALL)
    mail_store.write(user, search_box())
    c = rev2(connect)
    ok(c.command("SELECT INBOX"))
    ok(c.command("STORE 2,5,10:11 +FLAGS.SILENT (\\Flagged)"))
    crit = 'FLAGGED SINCE 1-Feb-1994 NOT FROM "Smith"'
    for tag, cmd, want in [
            ("A282", "SEARCH RETURN (MIN COUNT) " + crit, b'* ESEARCH (TAG "A282") MIN 2 COUNT 3'),
            ("A283", "SEARCH RETURN () " + crit, b'* ESEARCH (TAG "A283") ALL 2,10:11'),
            ("A284", 'SEARCH TEXT "string not in mailbox"', b'* ESEARCH (TAG "A284")'),
            ("A285", "SEARCH " + crit, b'* ESEARCH (TAG "A285") ALL 2,10:11'),
            ("A286", "UID SEARCH " + crit, b'* ESEARCH (TAG "A286") UID ALL 2,10:11'),
            ("A287", "SEARCH CHARSET UTF-8 FLAGGED", b'* ESEARCH (TAG "A287") ALL 2,5,10:11')]:
        r = ok(c.command(cmd, tag=tag))
        assert r.raw == [want], (cmd, r.raw)


def test_list_extended_is_the_base(connect, mail_store, user):
    # LIST-EXTENDED, CHILDREN's return option and LIST-STATUS are rev2's
    # LIST (RFC 9051 6.3.9): \NonExistent for a subscribed name that is gone
    c = rev2(connect)
    for cmd in ("CREATE a/b", "CREATE c", "SUBSCRIBE c", "SUBSCRIBE gone"):
        ok(c.command(cmd))
    r = ok(c.command('LIST (SUBSCRIBED) "" "*" RETURN (CHILDREN STATUS (MESSAGES))'))
    assert r.raw == [b'* LIST (\\Noinferiors \\Subscribed) "/" c', b"* STATUS c (MESSAGES 0)",
                     b'* LIST (\\HasNoChildren \\Subscribed \\NonExistent) "/" gone'], r.raw


@pytest.mark.parametrize("mail_store", ["maildir"], indirect=True)
def test_select_list_as_the_rfc_example(connect, mail_store, user):
    # RFC 9051 6.3.2's example ends its untagged responses with this LIST
    c = rev2(connect)
    assert ok(c.command("SELECT INBOX")).raw[-1] == b'* LIST () "/" INBOX'
    ok(c.command("CREATE c"))
    ok(c.command("CREATE c/d"))
    assert ok(c.command("EXAMINE c")).raw[-1] == b'* LIST () "/" c'
    r = ok(c.command('LIST "" "c" RETURN (CHILDREN)'))
    assert r.raw == [b'* LIST (\\HasChildren) "/" c'], r.raw


def test_mailbox_names_are_utf8(connect, mail_store, user):
    # RFC 9051 5.1: names in UTF-8; a rev1 client sees modified UTF-7
    c, old = rev2(connect), connect()
    ok(c.command('CREATE "Entw\u00fcrfe"'.encode()))
    r = ok(c.command('LIST "" "Entw*"'))
    assert r.raw == ['* LIST (\\Noinferiors) "/" "Entw\u00fcrfe"'.encode()], r.raw
    r = ok(old.command('LIST "" "Entw*"'))
    assert r.raw == [b'* LIST (\\Noinferiors) "/" Entw&APw-rfe'], r.raw
    r = ok(c.command('SELECT "Entw\u00fcrfe"'.encode()))
    assert r.raw[-1] == '* LIST (\\Noinferiors) "/" "Entw\u00fcrfe"'.encode(), r.raw


def test_response_codes(connect, mail_store, user):
    # RFC 9051 7.1's codes for the failures a client tells apart; COPY and
    # MOVE never create their target, they say TRYCREATE (appendix E 8)
    mail_store.write(user, [make_message(1)])
    c = rev2(connect)
    ok(c.command("CREATE c"))
    ok(c.command("SELECT INBOX"))
    for cmd in ("COPY 1 nosuch", "MOVE 1 nosuch", "UID MOVE 1 nosuch"):
        r = c.command(cmd)
        assert (r.status, r.code, r.raw) == ("NO", "TRYCREATE", []), (cmd, r)
    r = ok(c.command("STATUS INBOX (MESSAGES)"))
    assert r.raw == [b"* STATUS INBOX (MESSAGES 1)"], r.raw
    assert ok(c.command('LIST "" nosuch')).raw == []
    for cmd, code in [("SELECT nosuch", "NONEXISTENT"), ("DELETE nosuch", "NONEXISTENT"),
                      ("RENAME nosuch x", "NONEXISTENT"), ("CREATE c", "ALREADYEXISTS"),
                      ("CREATE INBOX", "ALREADYEXISTS"), ("RENAME INBOX c", "ALREADYEXISTS")]:
        r = c.command(cmd)
        assert (r.status, r.code) == ("NO", code), (cmd, r)


def test_incorporated_extensions(connect, mail_store, user):
    # appendix E: NAMESPACE, UNSELECT, UIDPLUS, MOVE, BINARY, ID, IDLE,
    # LIST-STATUS work in a rev2 session as RFC 9051 writes them
    mail_store.write(user, [make_message(n) for n in range(1, 4)])
    c = rev2(connect)
    r = ok(c.command("NAMESPACE"))
    assert r.raw == [b'* NAMESPACE (("" "/")) NIL NIL'], r.raw
    ok(c.command("CREATE dest"))
    uv = ok(c.command("STATUS dest (UIDVALIDITY)")).named("STATUS")[0][2][1]
    ok(c.command("SELECT INBOX"))
    r = ok(c.command("UID MOVE 2 dest"))
    assert r.raw == [b"* OK [COPYUID %s 2 1] Moved" % uv.encode(), b"* 2 EXPUNGE"], r.raw
    r = ok(c.command("FETCH 2 (UID BINARY.SIZE[1])"))
    assert r.fetches()[2]["UID"] == "3", r
    ok(c.command("STORE 1 +FLAGS.SILENT (\\Deleted)"))
    assert ok(c.command("UID EXPUNGE 1")).raw == [b"* 1 EXPUNGE"]
    ok(c.command("UNSELECT"))
    r = ok(c.command('LIST "" "dest" RETURN (STATUS (MESSAGES))'))
    assert r.raw[1] == b"* STATUS dest (MESSAGES 1)", r.raw
    c.send(b"I1 IDLE\r\n")
    assert c.read_response().startswith(b"+ ")
    c.send(b"DONE\r\n")
    assert c.read_until("I1").ok


def test_without_enable_rev1_is_unchanged(connect, mail_store, user):
    # the same commands in a session that never enabled IMAP4rev2 get
    # RFC 3501's answers: RECENT, UNSEEN, SEARCH, \Recent, no LIST, no CLOSED
    mail_store.write(user, search_box())
    c = connect()
    r = ok(c.command("SELECT INBOX"))
    assert strip_ids(r.raw) == [
        b"* FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft)",
        b"* OK [PERMANENTFLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft \\*)]"
        b" Flags the client can change permanently",
        b"* 12 EXISTS",
        b"* 12 RECENT",
        b"* OK [UNSEEN 1] First unseen message",
        b"* OK [UIDVALIDITY x] UIDs valid",
        b"* OK [UIDNEXT 13] Predicted next UID",
        b"* OK [MAILBOXID x] Mailbox id",
    ], r.raw
    ok(c.command("STORE 2,5,10:11 +FLAGS.SILENT (\\Flagged)"))
    r = ok(c.command('SEARCH FLAGGED SINCE 1-Feb-1994 NOT FROM "Smith"'))
    assert r.raw == [b"* SEARCH 2 10 11"], r.raw
    assert ok(c.command("UID SEARCH RECENT NOT OLD NEW 1:2")).raw == [b"* SEARCH 1 2"]
    assert ok(c.command("FETCH 1 FLAGS")).raw == [b"* 1 FETCH (FLAGS (\\Recent))"]
    r = ok(c.command("STATUS INBOX (MESSAGES RECENT)"))
    assert r.raw == [b"* STATUS INBOX (MESSAGES 12 RECENT 12)"], r.raw
    r = ok(c.command("EXAMINE INBOX"))
    assert not [x for x in r.raw if b"CLOSED" in x or x.startswith(b"* LIST")], r.raw
    r = ok(c.command('CREATE "Entw&APw-rfe"'))
    assert ok(c.command('LIST "" "Entw*"')).raw == [b'* LIST (\\Noinferiors) "/" Entw&APw-rfe']
