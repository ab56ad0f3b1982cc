# The imap driver as an IMAP4rev2 client (RFC 9051) of our imapd, which
# offers IMAP4rev2 beside IMAP4rev1. The client asks for rev2 there only
# when the name says /imap4rev2 (rev2 has no \Recent, so the classic
# programs' recent counts would read 0); a server of rev2 alone always
# gets it (test_imap_client_push). mtest's /debug trace shows the ENABLE
# and the server's ESEARCH answer to the search it pushed; imaplib, an
# IMAP4rev1 session, checks what the rev2 session changed on the server.
import os
import re

from test_imap_client import (ScriptServer, imap_login, inbox_texts, mtest, pki,  # noqa: F401
                              run_as, tls_server)


def trace_of(r):
    """The protocol lines of mtest's /debug trace ("C: ..." and "S: ...")."""
    return r.stderr.decode().splitlines()


def test_open_search_fetch_flag_expunge(mtest, tls_server, server, spool, user,  # noqa: F811
                                        sample):
    spool.write(user, sample)
    srv = tls_server()
    before = inbox_texts(server, user)
    name = "{localhost:%d/ssl/debug/imap4rev2}INBOX" % srv.port
    r = mtest("open " + name, "search FROM alice", "fetch 4", "set 2 \\Flagged",
              "set 3 \\Deleted", "expunge", "headers")
    out = r.stdout.decode()
    assert r.returncode == 0, (out, r.stderr)
    trace = trace_of(r)
    enable = trace.index("S: * ENABLED IMAP4rev2")
    assert re.match(r"C: A\d{4} ENABLE IMAP4rev2$", trace[enable - 1]), trace
    # no RECENT in rev2: the client reports none (and shows no \Recent)
    assert out.startswith("%s: 4 messages, 0 recent, uidvalidity " % name), out
    search = [i for i, x in enumerate(trace) if x.startswith("C: ") and " UID SEARCH " in x]
    assert len(search) == 1, "\n".join(trace)
    tag = trace[search[0]].split()[1]
    assert trace[search[0]] == 'C: %s UID SEARCH From "alice"' % tag
    assert trace[search[0] + 1] == 'S: * ESEARCH (TAG "%s") UID ALL 1,4' % tag
    assert "search: 1 4\n" in out
    assert "-- message 4, %d octets\n" % len(before[3][1]) in out
    assert "expunge done, 3 messages\n" in out
    assert "\\Recent" not in out
    after = inbox_texts(server, user)
    assert [t for _, t in after] == [before[0][1], before[1][1], before[3][1]]
    assert after[1][0] == before[1][0] | {b"\\Flagged"}


def test_status_list_and_a_utf8_name(mtest, tls_server, server, user):  # noqa: F811
    srv = tls_server()
    p = "{localhost:%d/ssl/debug/imap4rev2}" % srv.port
    path = os.path.join(user.home, "new.eml")
    with open(path, "wb") as f:
        f.write(b"From: a@example.org\nSubject: appended\n\nline\n")
    os.chown(path, user.uid, user.gid)
    # the library's names are modified UTF-7, as the classic ones: Caf&AOk- is "Café"
    r = mtest("create %sCaf&AOk-" % p, "append %sCaf&AOk- new.eml \\Seen" % p,
              "status %sCaf&AOk-" % p, 'list "" %sCaf*' % p, "open %sCaf&AOk-" % p, "headers")
    out = r.stdout.decode()
    assert r.returncode == 0, (out, r.stderr)
    trace = trace_of(r)
    assert "S: * ENABLED IMAP4rev2" in trace
    # the server heard and answered the name in UTF-8
    assert [x for x in trace if re.match(r'S: \* LIST \([^)]*\) "/" "Caf\u00e9"$', x)], trace
    # "Café" is 5 octets of UTF-8 (its modified UTF-7 would be 8), and STATUS
    # asks for no RECENT (not an item in RFC 9051)
    assert "C: A0003 CREATE {5+}" in trace
    st = trace.index("C: A0003 STATUS {5+}")
    assert trace[st + 1] == "C: <5 octets> (MESSAGES UIDNEXT UIDVALIDITY UNSEEN)", trace
    assert re.search(r"^%sCaf&AOk-: messages 1 recent 0 unseen 0 uidnext 2 uidvalidity \d+$"
                     % re.escape(p), out, re.M), out
    assert re.search(r"^list: %sCaf&AOk-( \\Noinferiors)?$" % re.escape(p), out, re.M), out
    assert re.search(r"^1 uid 1 \(\\Seen\) 48 octets .* subject: appended$", out, re.M), out
    # an IMAP4rev1 session sees the one name, in modified UTF-7
    c = imap_login(server, user)
    try:
        typ, names = c.list('""', "Caf*")
    finally:
        c.logout()
    assert typ == "OK" and len(names) == 1 and names[0].endswith(b' "/" Caf&AOk-'), names


def test_enable_refused_keeps_imap4rev1(mtest, user):  # noqa: F811
    # a server of both revisions that does not say ENABLED stays IMAP4rev1:
    # names in modified UTF-7, the pushed search answered by SEARCH
    fetched = b"".join(b'* %d FETCH (UID %d FLAGS () INTERNALDATE "01-Jan-2026 00:00:00 +0000" '
                       b"RFC822.SIZE 9)\r\n" % (i, i) for i in (1, 2))
    srv = ScriptServer(b"* PREAUTH [CAPABILITY IMAP4rev1 IMAP4rev2] hi\r\n", [
        (b"A0001 ENABLE IMAP4rev2", b"A0001 OK nothing enabled\r\n"),
        (b'A0002 SELECT "Caf&AOk-"', b"* 2 EXISTS\r\n* OK [UIDVALIDITY 5] v\r\n"
                                     b"A0002 OK [READ-WRITE] ok\r\n"),
        (b"A0003 FETCH 1:* (UID FLAGS INTERNALDATE RFC822.SIZE)", fetched + b"A0003 OK\r\n"),
        (b"A0004 UID SEARCH (FLAGGED)", b"* SEARCH 1\r\nA0004 OK\r\n"),
        (b"A0005 LOGOUT", b"* BYE bye\r\nA0005 OK bye\r\n")])
    r = mtest("open {127.0.0.1:%d/imap4rev2}Caf&AOk-" % srv.port, "search FLAGGED")
    srv.join(30)
    assert srv.done, srv.heard
    assert r.stdout.decode().split("\n")[1] == "search: 1", r.stdout


def test_both_revisions_offered_stays_imap4rev1_unless_asked(mtest, tls_server, spool, user,  # noqa: F811
                                                             sample):
    # without /imap4rev2 our imapd (IMAP4rev1 and IMAP4rev2) is spoken to
    # as IMAP4rev1: no ENABLE, the new messages counted recent as Debian's
    # library counts them, the pushed search answered by SEARCH
    spool.write(user, sample)
    srv = tls_server()
    name = "{localhost:%d/ssl/debug}INBOX" % srv.port
    r = mtest("open " + name, "search FROM alice")
    out = r.stdout.decode()
    assert r.returncode == 0, (out, r.stderr)
    trace = trace_of(r)
    assert not [x for x in trace if "ENABLE IMAP4rev2" in x], trace
    assert out.startswith("%s: 4 messages, 4 recent, uidvalidity " % name), out
    search = [i for i, x in enumerate(trace) if x.startswith("C: ") and " UID SEARCH " in x]
    assert len(search) == 1, "\n".join(trace)
    assert trace[search[0] + 1] == "S: * SEARCH 1 4", trace
    assert "search: 1 4\n" in out
