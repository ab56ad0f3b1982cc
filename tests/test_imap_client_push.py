# SEARCH, SORT and THREAD of a network mailbox done by the server when its
# CAPABILITY offers them, by the library when it does not: PHP's imap
# extension on our library (tests/data/classic/imap-push.php) asks the same
# mailbox on our imapd, on Debian's Dovecot, and on a Dovecot that hides
# SORT and THREAD, and gets the same answers from all three. Dovecot's raw
# log shows which commands reached it. mtest's idle waits for new mail with
# IMAP IDLE where the server has it, and by NOOP every second where not.
import glob
import imaplib
import os
import re
import shutil
import ssl
import subprocess
import time

from test_classic_abi import DATA, PHP, libdir, run  # noqa: F401 (fixture)
from test_imap_client import (DOVECOT_TLS_CONF, dovecot_login, pki,  # noqa: F401
                              ScriptServer, mtest, private_dovecot, run_as, tls_server)

RAWLOG = "rawlog_dir = {root}/rawlog\n"
HIDDEN = "imap_capability = IMAP4rev1 LITERAL+ SASL-IR ID ENABLE IDLE UIDPLUS\n"
NO_IDLE = "imap_capability = IMAP4rev1 LITERAL+ SASL-IR ID ENABLE UIDPLUS SORT\n"

# A small mailbox with two threads, a message no one answers, an encoded
# UTF-8 subject and body: (flags, internal date, text).
MESSAGES = [
    ("\\Seen", "02-Nov-2026 09:00:00 +0000",
     "Date: Mon, 2 Nov 2026 09:00:00 +0000\r\nFrom: Alice <alice@example.org>\r\n"
     "To: team@example.org\r\nSubject: Lunch plans\r\nMessage-ID: <a1@t>\r\n\r\n"
     "Shall we meet at the zebra crossing?\r\n"),
    ("", "02-Nov-2026 10:00:00 +0000",
     "Date: Mon, 2 Nov 2026 09:30:00 +0100\r\nFrom: Bob <bob@example.org>\r\n"
     "To: alice@example.org\r\nSubject: Re: Lunch plans\r\nMessage-ID: <b1@t>\r\n"
     "In-Reply-To: <a1@t>\r\nReferences: <a1@t>\r\n\r\nYes, noon.\r\n"),
    ("\\Flagged", "01-Nov-2026 08:00:00 +0000",
     "Date: Sun, 1 Nov 2026 08:00:00 +0000\r\nFrom: Carol <carol@example.org>\r\n"
     "To: board@example.org\r\nSubject: Quarterly report\r\nMessage-ID: <c1@t>\r\n\r\n"
     "The numbers are in. " + "Figures follow. " * 20 + "\r\n"),
    ("\\Seen \\Answered", "04-Nov-2026 12:00:00 +0000",
     "Date: Wed, 4 Nov 2026 12:00:00 +0000\r\nFrom: alice@example.org\r\n"
     "To: Carol <carol@example.org>\r\nSubject: RE: Quarterly report\r\n"
     "Message-ID: <a2@t>\r\nReferences: <c1@t>\r\n\r\nThanks.\r\n"),
    ("", "05-Nov-2026 07:00:00 +0000",
     "Date: Thu, 5 Nov 2026 07:00:00 +0000\r\nFrom: Dave <dave@example.org>\r\n"
     "To: team@example.org\r\nSubject: =?UTF-8?Q?Caf=C3=A9?= menu\r\nMessage-ID: <d1@t>\r\n"
     "MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n"
     "Content-Transfer-Encoding: 8bit\r\n\r\nUn caf\u00e9 au lait, s'il vous pla\u00eet.\r\n"),
    ("\\Seen", "03-Nov-2026 18:00:00 +0000",
     "Date: Tue, 3 Nov 2026 18:00:00 +0000\r\nFrom: Bob <bob@example.org>\r\n"
     "To: team@example.org\r\nSubject: Fwd: Lunch plans\r\nMessage-ID: <b2@t>\r\n"
     "References: <a1@t> <b1@t>\r\n\r\nForwarding for the record.\r\n"),
    ("", "06-Nov-2026 06:00:00 +0000",
     "Date: Fri, 6 Nov 2026 06:00:00 +0000\r\nFrom: Eve <eve@example.org>\r\n"
     "To: bob@example.org\r\nSubject: unrelated\r\n\r\n" + "padding line\r\n" * 30),
]


def fill(c, box):
    """Append MESSAGES to box over the imaplib connection c."""
    if box != "INBOX":
        assert c.create(box)[0] == "OK"
    for flags, date, text in MESSAGES:
        typ, _ = c.append(box, "(%s)" % flags, '"%s"' % date, text.encode())
        assert typ == "OK"


def ask(user, libdir, name, pki):  # noqa: F811
    """imap-push.php on name, on our library: its lines."""
    argv = ["env", "BOX=" + name, "IMAP_USER=" + user.name, "IMAP_PASSWORD=" + user.password,
            "MAIL_CAFILE=" + pki["ca"], PHP, "-n", "-d", "extension=imap",
            os.path.join(DATA, "imap-push.php")]
    out, _, err = run(user, argv, True, libdir, sanitized=False)
    assert err == "", err
    return out.splitlines()


def on_dovecot(workdir, pki, user, libdir, name, extra):  # noqa: F811
    """The script's answers from a Dovecot configured with extra, and what
    the client sent it after login (its raw log)."""
    logs = os.path.join(workdir, "%s-%s" % (name, user.name), "rawlog")
    shutil.rmtree(logs, ignore_errors=True)
    os.makedirs(logs)
    shutil.chown(logs, user.uid, user.gid)
    with private_dovecot(workdir, pki, user, name, DOVECOT_TLS_CONF + extra, port=1,
                         sport=1) as d:
        shutil.rmtree(os.path.join(user.home, "dcmail"), ignore_errors=True)
        c = dovecot_login(d, pki, user)
        try:
            fill(c, "INBOX")
        finally:
            c.logout()
        for f in glob.glob(os.path.join(logs, "*")):
            os.unlink(f)    # imaplib's session: not the one under test
        lines = ask(user, libdir, "{localhost:%d/ssl}INBOX" % d.sport, pki)
    sent = b""
    for f in sorted(glob.glob(os.path.join(logs, "*.in"))):
        with open(f, "rb") as fh:
            sent += fh.read()
    return lines, sent.decode("utf-8", "replace")


def test_search_sort_thread_same_on_our_imapd_dovecot_and_without_sort(
        fresh, workdir, libdir, user, tls_server, pki):  # noqa: F811
    srv = tls_server()
    c = imaplib.IMAP4_SSL("localhost", srv.port,
                          ssl_context=ssl.create_default_context(cafile=pki["ca"]))
    try:
        c.login(user.name, user.password)
        fill(c, "push")
    finally:
        c.logout()
    ours = ask(user, libdir, "{localhost:%d/ssl}push" % srv.port, pki)
    dovecot, sent = on_dovecot(workdir, pki, user, libdir, "dovecot-push", RAWLOG)
    hidden, sent_hidden = on_dovecot(workdir, pki, user, libdir, "dovecot-nosort",
                                     RAWLOG + HIDDEN)
    assert ours == dovecot
    assert hidden == dovecot
    answers = dict(line.split(": ", 1) for line in ours)
    assert answers["search SUBJECT lunch"] == "[1,2,6]"
    assert answers["search TEXT zebra"] == "[1]"
    assert answers["search utf-8"] == "[5]"
    assert answers["search SEEN UNANSWERED"] == "[1,6]"
    assert answers["sort date"] == "[3,2,1,6,4,5,7]"     # Bob's 09:30 +0100 is 08:30 UTC
    assert answers["sort subject"] == "[5,1,2,6,3,4,7]"
    assert answers["sort unseen subject"] == "[5,2,3,7]"
    assert answers["errors"] == "false"
    # the server did the work where it could, the library where it could not
    assert "UID SEARCH CHARSET UTF-8 (BODY {5+}" in sent, sent
    assert "UID SORT (DATE) US-ASCII ALL" in sent
    assert "UID SORT (SUBJECT) US-ASCII UID 2:3,5,7" in sent   # the UNSEEN ones
    assert "UID THREAD REFERENCES US-ASCII ALL" in sent
    assert "UID SEARCH (ALL)" not in sent    # nothing to ask for
    assert "UID SEARCH (TEXT \"zebra\" ALL)" in sent_hidden
    assert " SORT " not in sent_hidden and " THREAD " not in sent_hidden


def idle_until(p, name, deliver):
    """mtest p opens name and idles; deliver() once its IDLE (or first
    NOOP) is under way: (stdout after the open line, trace, seconds from
    the delivery to mtest's answer)."""
    p.stdin.write(b"open %s\nidle 60\n" % name.encode())
    p.stdin.flush()
    assert p.stdout.readline().decode().startswith(name + ": ")
    trace = ""
    while True:   # the trace says when the wait has begun
        line = p.stderr.readline().decode()
        assert line, "mtest ended before idling"
        trace += line
        if line.startswith("S: + ") or " NOOP" in line:
            break
    t0 = time.monotonic()
    deliver()
    line = p.stdout.readline().decode()
    took = time.monotonic() - t0
    p.stdin.write(b"quit\n")
    p.stdin.close()   # (communicate would lose what readline has buffered)
    out, err = p.stdout.read(), p.stderr.read()
    p.wait(timeout=60)
    return line + out.decode(), trace + err.decode(), took


def test_idle_wakes_at_new_mail(run_as, tls_server, spool, user, sample):  # noqa: F811
    spool.write(user, sample[:2])
    srv = tls_server()
    p = subprocess.Popen(stdin=subprocess.PIPE, **run_as.command("mtest"))
    try:
        out, trace, took = idle_until(p, "{localhost:%d/ssl/debug}INBOX" % srv.port,
                                      lambda: spool.deliver(user, sample[2]))
    finally:
        if p.poll() is None:
            p.kill()
    assert out.split("\n")[:2] == ["* 3 messages", "idle done, 3 messages, woken"], (out, trace)
    assert took < 5, took
    idle = trace[trace.index(" IDLE\n"):]
    assert "C: DONE\n" in idle and " NOOP" not in idle.split("C: DONE")[0], trace


def test_idle_polls_a_server_without_idle(run_as, workdir, pki, user, fresh):  # noqa: F811
    with private_dovecot(workdir, pki, user, "dovecot-noidle", DOVECOT_TLS_CONF + NO_IDLE,
                         port=1, sport=1) as d:
        shutil.rmtree(os.path.join(user.home, "dcmail"), ignore_errors=True)
        c = dovecot_login(d, pki, user)
        try:
            fill(c, "INBOX")
            p = subprocess.Popen(stdin=subprocess.PIPE, **run_as.command("mtest"))
            try:
                out, trace, took = idle_until(
                    p, "{localhost:%d/ssl/debug}INBOX" % d.sport,
                    lambda: c.append("INBOX", "", None, MESSAGES[0][2].encode()))
            finally:
                if p.poll() is None:
                    p.kill()
        finally:
            c.logout()
    n = len(MESSAGES) + 1
    assert out.split("\n")[:2] == ["* %d messages" % n, "idle done, %d messages, polled" % n]
    assert " IDLE\n" not in trace and took < 5


def reopen_and_ping(run_as, workdir, user, name, n, login):
    """mtest opens name (n messages) and closes it; another session (login())
    flags UID n/2 and expunges UID 1; mtest opens it again, the other session
    flags UID n*7/10, mtest pings. The server's lines for each step."""
    a, b = n // 2, n * 7 // 10
    cmd = run_as.command("mtest")
    trace_file = os.path.join(workdir, "qresync-trace-%s" % user.name)
    with open(trace_file, "wb") as tf:
        cmd["stderr"] = tf
        p = subprocess.Popen(stdin=subprocess.PIPE, **cmd)
        try:
            def say(line, expect):
                p.stdin.write(line.encode() + b"\n")
                p.stdin.flush()
                got = p.stdout.readline().decode()
                assert got.startswith(expect), (line, got)

            def others(*stores):
                c = login()
                c.select("INBOX")
                for uid, flag in stores:
                    assert c.uid("STORE", str(uid), "+FLAGS", flag)[0] == "OK"
                if stores[-1][1] == "(\\Deleted)":
                    assert c.expunge()[0] == "OK"
                c.logout()

            say("open " + name, name + ": %d messages" % n)
            say("close", "close done")
            others((a, "(\\Flagged)"), (1, "(\\Deleted)"))
            t0 = time.monotonic()
            say("open " + name, name + ": %d messages" % (n - 1))
            took = time.monotonic() - t0
            say("headers %d" % (a - 1), "%d uid %d (\\Flagged" % (a - 1, a))
            others((b, "($Later)"))
            say("check", "* flags of %d changed" % (b - 1))
            p.stdin.write(b"quit\n")
            p.stdin.close()
            p.stdout.read()
            p.wait(timeout=60)
        finally:
            if p.poll() is None:
                p.kill()
    with open(trace_file, encoding="utf-8", errors="replace") as f:
        trace = f.read()
    first, second = re.split(r"C: A\d+ SELECT ", trace)[1:3]
    second, ping = re.split(r"C: A\d+ NOOP\n", second)
    assert "FETCH 1:*" not in second                      # nothing learnt anew
    # all the first open heard; the reopen's SELECT answer; the ping's answer
    server = [[x for x in part.split("\n") if x.startswith("S: ")]
              for part in (first, second.split("\nC: ")[0], ping.split("\nC: ")[0])]
    return second.split("\n")[0], server, took


def test_reopen_asks_only_for_changes_and_a_ping_hears_one_line(run_as, tls_server, spool,
                                                                  server, user, workdir):  # noqa
    from helpers.session import make_message
    n = 10000
    spool.write(user, [make_message(i, 150, "q") for i in range(1, n + 1)])
    srv = tls_server()
    select, (first, second, ping), took = reopen_and_ping(
        run_as, workdir, user, "{localhost:%d/ssl/debug}INBOX" % srv.port, n,
        lambda: imap_login_plain(server, user))
    assert len([x for x in first if " FETCH (" in x]) == n   # the first open learns all
    assert "QRESYNC (" in select, select
    assert [x for x in second if " FETCH " in x or "VANISHED" in x] == [
        "S: * VANISHED (EARLIER) 1",
        "S: * 4999 FETCH (UID 5000 FLAGS (\\Flagged) MODSEQ (%s))" % second[-2].split(
            "MODSEQ (")[1].split(")")[0]], second
    assert len(second) < 15, second
    assert ping[0].startswith("S: * 6999 FETCH (UID 7000 FLAGS ($Later)") and len(ping) <= 3
    print("reopen of %d messages with one change and one expunge: %.2f s" % (n, took))


def test_reopen_on_dovecot_hears_the_changes_alone(run_as, workdir, pki, user, fresh):  # noqa
    with private_dovecot(workdir, pki, user, "dovecot-qresync", DOVECOT_TLS_CONF, port=1,
                         sport=1) as d:
        shutil.rmtree(os.path.join(user.home, "dcmail"), ignore_errors=True)
        c = dovecot_login(d, pki, user)
        try:
            fill(c, "INBOX")
            for _ in range(3):
                fill_more(c)
        finally:
            c.logout()
        n = 4 * len(MESSAGES)
        select, (first, second, ping), _ = reopen_and_ping(
            run_as, workdir, user, "{localhost:%d/ssl/debug}INBOX" % d.sport, n,
            lambda: dovecot_login(d, pki, user))
    assert "QRESYNC (" in select and len([x for x in first if " FETCH (" in x]) == n
    changes = [x for x in second if " FETCH " in x or "VANISHED" in x]
    assert changes[0] == "S: * VANISHED (EARLIER) 1" and len(changes) == 2, second
    assert changes[1].startswith("S: * %d FETCH (UID %d FLAGS (\\Flagged" % (n // 2 - 1, n // 2))
    fetches = [x for x in ping if " FETCH " in x]       # (Dovecot puts MODSEQ first)
    assert len(fetches) == 1 and re.match(r"S: \* %d FETCH \(UID %d .*FLAGS \(\$Later\)"
                                          % (n * 7 // 10 - 1, n * 7 // 10), fetches[0]), ping


def fill_more(c):
    for flags, date, text in MESSAGES:
        assert c.append("INBOX", "(%s)" % flags, '"%s"' % date, text.encode())[0] == "OK"


def imap_login_plain(srv, user):
    c = imaplib.IMAP4(srv.host, srv.port)
    c.login(user.name, user.password)
    return c


def test_a_server_of_imap4rev2_alone_is_searched_there(mtest, user):  # noqa: F811
    # RFC 9051: ENABLE first, no \Recent, a LIST in SELECT's answer, and
    # ESEARCH (by our tag; another command's is not ours) where a rev1
    # server says SEARCH: the server searches, no text is fetched
    texts = [b"Subject: one\r\n\r\nbody\r\n", b"Subject: two\r\n\r\nbody\r\n"]
    fetched = b"".join(b'* %d FETCH (UID %d FLAGS () INTERNALDATE "01-Jan-2026 00:00:00 +0000" '
                       b"RFC822.SIZE %d)\r\n" % (i, i + 4, len(t)) for i, t in enumerate(texts, 1))
    srv = ScriptServer(b"* PREAUTH [CAPABILITY IMAP4rev2 SORT] hi\r\n", [
        (b"A0001 ENABLE IMAP4rev2", b"* ENABLED IMAP4rev2\r\nA0001 OK\r\n"),
        (b'A0002 SELECT "INBOX"', b'* 2 EXISTS\r\n* OK [UIDVALIDITY 5] v\r\n* OK [UIDNEXT 7] n\r\n'
                                  b'* LIST () "/" INBOX\r\nA0002 OK [READ-WRITE] ok\r\n'),
        (b"A0003 FETCH 1:* (UID FLAGS INTERNALDATE RFC822.SIZE)", fetched + b"A0003 OK\r\n"),
        (b'A0004 UID SEARCH HEADER "Subject" "two"',
         b'* ESEARCH (TAG "A0003") UID ALL 5:6\r\n* ESEARCH (TAG "A0004") UID ALL 6\r\n'
         b"A0004 OK\r\n"),
        (b"A0005 LOGOUT", b"* BYE bye\r\nA0005 OK bye\r\n")])
    r = mtest("open {127.0.0.1:%d}INBOX" % srv.port, "search SUBJECT two")
    srv.join(30)
    assert srv.done, srv.heard
    out = r.stdout.decode().split("\n")
    assert out[0].startswith("{127.0.0.1:%d}INBOX: 2 messages, 0 recent," % srv.port), out
    assert out[1] == "search: 2", r.stdout
