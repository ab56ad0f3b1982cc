# ipop3d under a real super-server with real PAM users: RFC 1939 commands
# byte for byte on the wire (sizes, dot-stuffing, CRLF), CAPA/AUTH/STLS, the
# maildrop semantics (deletions only after QUIT, nothing lost on a dropped
# connection, one POP session at a time while MTAs and IMAP carry on), the
# agreement with IMAP (\Seen, UIDL = UIDVALIDITY.UID), real clients (poplib,
# curl, fetchmail) and a differential test against Debian's Dovecot pop3. The
# tests of a maildrop run on an mbox spool INBOX and on a Maildir INBOX.
# IPOP3D selects the binary (make check: the sanitizer build).
import base64
import os
import poplib
import re
import shutil
import socket
import subprocess
import sys
import time

import pytest

from helpers import mailstore, mbox, sessionlog, system

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "bench"))
import corpus  # noqa: E402

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DOVECOT_POP3 = "/usr/lib/dovecot/pop3"
MAIL_FORMATS = mailstore.FORMATS
TIMEOUT = 20


# ---------------------------------------------------------------- fixtures

@pytest.fixture(scope="session")
def ssl_dir(workdir):
    """A throwaway self-signed certificate for ipop3d (src/mkcert.sh)."""
    d = os.path.join(workdir, "ssl")
    r = subprocess.run(["sh", os.path.join(REPO, "src", "mkcert.sh"), d, "ipop3d"],
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    if r.returncode != 0:
        pytest.skip("cannot make a certificate: %s" % r.stdout.decode())
    return d


def write_config(workdir, name, spool, ssl_dir, plaintext):
    p = os.path.join(workdir, name)
    with open(p, "w") as f:
        f.write("# ipop3d integration test configuration\n"
                "spool_dir = %s\nssl_dir = %s\nallow_plaintext = %s\n"
                % (spool.dir, ssl_dir, "yes" if plaintext else "no"))
    os.chmod(p, 0o644)
    return p


@pytest.fixture(scope="session")
def pop_config(workdir, spool, ssl_dir, pop_pam):
    return write_config(workdir, "pop.conf", spool, ssl_dir, True)


@pytest.fixture(scope="session")
def strict_config(workdir, spool, ssl_dir, pop_pam):
    return write_config(workdir, "pop-strict.conf", spool, ssl_dir, False)


@pytest.fixture(scope="session")
def pop_server(launch_daemon, ipop3d, pop_config):
    return launch_daemon(argv=[ipop3d, "--config", pop_config])


@pytest.fixture(scope="session")
def strict_server(launch_daemon, ipop3d, strict_config):
    return launch_daemon(argv=[ipop3d, "--config", strict_config])


@pytest.fixture(scope="session")
def pop3s_server(launch_daemon, ipop3d, strict_config):
    return launch_daemon(argv=[ipop3d, "--config", strict_config, "--tls"])


class RawPOP:
    """A strict POP3 client: lines and multi-line answers as bytes, exactly
    as they cross the wire (dot-stuffing and CRLF included)."""

    def __init__(self, server):
        self.sock = socket.create_connection((server.host, server.port), TIMEOUT)
        self.f = self.sock.makefile("rb")
        self.greeting = self.line()

    def line(self):
        data = self.f.readline(1 << 20)
        if not data.endswith(b"\r\n"):
            raise EOFError("connection closed or bare line end: %r" % data)
        return data[:-2].decode("utf-8", "replace")

    def send(self, text):
        self.sock.sendall(text.encode() + b"\r\n")

    def cmd(self, text):
        self.send(text)
        return self.line()

    def multi(self):
        """The raw body of a multi-line answer, up to (not with) ".\\r\\n"."""
        out = b""
        while True:
            data = self.f.readline(1 << 24)
            if not data.endswith(b"\r\n"):
                raise EOFError("multi-line answer cut: %r" % data)
            if data == b".\r\n":
                return out
            out += data

    def login(self, who):
        assert self.cmd("USER %s" % who.name).startswith("+OK")
        r = self.cmd("PASS %s" % who.password)
        assert r.startswith("+OK"), r
        return r

    def close(self):
        try:
            self.f.close()          # the file holds the socket open too
            self.sock.close()
        except OSError:
            pass


@pytest.fixture
def pop(pop_server, fresh):
    """Factory: pop(server=pop_server) -> RawPOP; all closed afterwards."""
    conns = []
    launchers = {pop_server.proc.pid}

    def make(server=None):
        server = server or pop_server
        launchers.add(server.proc.pid)
        c = RawPOP(server)
        conns.append(c)
        return c

    yield make
    for c in conns:
        c.close()
    wait_daemons_gone(launchers)


def wait_daemons_gone(launchers, timeout=15):
    """Sessions a test left open end when their client goes; wait for that,
    so no daemon of this test touches the next test's spool. (Only the
    children of our launchers: other test runs may be going on.)"""
    binary = os.environ.get("IPOP3D") or os.path.join(REPO, "ipopd", "ipop3d")
    end = time.monotonic() + timeout
    while True:
        left = [(pid, st["State"]) for pid, st in system.daemon_processes(binary)
                if st["State"][0] != "Z" and int(st["PPid"][0]) in launchers]
        if not left:
            return
        if time.monotonic() > end:
            pytest.fail("ipop3d sessions did not end: %r" % left)
        time.sleep(0.05)


def poplib_login(server, who):
    p = poplib.POP3(server.host, server.port, timeout=TIMEOUT)
    p.user(who.name)
    p.pass_(who.password)
    return p


def unstuff(raw):
    return re.sub(rb"(?m)^\.", b"", raw)


def left_in(mail_store, user):
    """The messages left in the user's INBOX, without server metadata."""
    return [m.data for m in mail_store.messages(user)]


def wait_unlocked(server, who, timeout=15):
    """Until a new session gets the maildrop (the previous daemon exited and
    its lock went with it); that session ends without changes."""
    end = time.monotonic() + timeout
    while True:
        c = RawPOP(server)
        try:
            c.cmd("USER %s" % who.name)
            r = c.cmd("PASS %s" % who.password)
            if r.startswith("+OK"):
                assert c.cmd("QUIT").startswith("+OK")
                return
            assert "[IN-USE]" in r, r
        finally:
            c.close()
        if time.monotonic() > end:
            pytest.fail("the maildrop stayed locked")
        time.sleep(0.2)


# ---------------------------------------------------------------- greeting, CAPA

def test_greeting_has_no_apop_timestamp(pop):
    c = pop()
    assert c.greeting.startswith("+OK")
    assert "<" not in c.greeting, "APOP is not offered: no timestamp banner"


def test_capa_lists_the_extensions(pop):
    c = pop()
    assert c.cmd("CAPA").startswith("+OK")
    caps = c.multi().decode().split("\r\n")[:-1]
    for want in ("TOP", "UIDL", "RESP-CODES", "AUTH-RESP-CODE", "PIPELINING", "USER",
                 "EXPIRE NEVER", "SASL PLAIN LOGIN"):
        assert want in caps, caps
    assert any(c.startswith("IMPLEMENTATION ") for c in caps)
    assert "STLS" in caps


def test_transaction_commands_need_login(pop):
    c = pop()
    for cmd in ("STAT", "LIST", "RETR 1", "DELE 1", "UIDL", "TOP 1 0", "NOOP", "RSET"):
        assert c.cmd(cmd).startswith("-ERR"), cmd
    assert c.cmd("FOO").startswith("-ERR")
    assert c.cmd("PASS x").startswith("-ERR"), "PASS without USER"
    assert c.cmd("QUIT").startswith("+OK")


def test_wrong_password_is_refused_with_auth_code(pop, user):
    c = pop()
    c.cmd("USER %s" % user.name)
    r = c.cmd("PASS wrong-password")
    assert r.startswith("-ERR [AUTH]"), r
    c.login(user)                       # the session may try again


def test_too_many_failures_end_the_session(pop, pop_server, ipop3d, user, syslog):
    """The third failure ends the session: -ERR saying so, EOF, the
    processes gone, and one log line with the reason after the three
    failed logins."""
    c = pop()
    pids = sessionlog.session_pids(pop_server.proc.pid, ipop3d)
    for i in range(3):
        c.cmd("USER %s" % user.name)
        r = c.cmd("PASS nope%d" % i)
        assert r == ("-ERR [AUTH] Authentication failed" + "; too many failures, closing" *
                     (i == 2)), r
    with pytest.raises(EOFError):
        c.line()
    sessionlog.wait_gone(pids)
    lines = sessionlog.lines_of(syslog, "ipop3d", pids)
    assert [x.split(" user=")[0] for x in lines if "Login failed" in x] == ["Login failed"] * 3
    assert lines[-1] == "Too many login failures (3) host=127.0.0.1 [127.0.0.1]", lines
    assert sum("Too many" in x for x in lines) == 1, lines


# ---------------------------------------------------------------- transaction

def test_stat_list_and_retr_byte_for_byte(pop, inbox, user):
    c = pop()
    r = c.login(user)
    assert "%d messages" % len(inbox) in r
    sizes = [len(e.crlf()) for e in inbox]
    assert c.cmd("STAT") == "+OK %d %d" % (len(inbox), sum(sizes))
    assert c.cmd("LIST").startswith("+OK")
    assert c.multi() == b"".join(b"%d %d\r\n" % (i + 1, s) for i, s in enumerate(sizes))
    assert c.cmd("LIST 2") == "+OK 2 %d" % sizes[1]
    for i, e in enumerate(inbox):
        assert c.cmd("RETR %d" % (i + 1)) == "+OK %d octets" % sizes[i]
        raw = c.multi()
        assert unstuff(raw) == e.crlf()
        # every line that starts with '.' is stuffed on the wire
        assert not re.search(rb"(?m)^\.(?!\.)", raw)
    assert c.cmd("QUIT").startswith("+OK")


def test_dot_stuffing_and_missing_final_newline(pop, mail_store, user):
    msg = b"Subject: dots\n\n.\n..two\n.three\nend without newline"
    mail_store.write(user, [mbox.Entry(msg)])
    c = pop()
    c.login(user)
    assert c.cmd("RETR 1").startswith("+OK")
    raw = c.multi()
    assert b"\r\n..\r\n...two\r\n..three\r\n" in raw
    assert raw.endswith(b"\r\n")
    assert unstuff(raw).rstrip(b"\r\n") == mbox.crlf(msg).rstrip(b"\r\n")


def test_top(pop, inbox, user):
    c = pop()
    c.login(user)
    e = inbox[0]
    head = mbox.crlf(e.header())
    assert c.cmd("TOP 1 0").startswith("+OK")
    assert unstuff(c.multi()) == head
    body_lines = mbox.crlf(e.text()).split(b"\r\n")
    assert c.cmd("TOP 1 2").startswith("+OK")
    assert unstuff(c.multi()) == head + b"".join(l + b"\r\n" for l in body_lines[:2])
    assert c.cmd("TOP 1 999999").startswith("+OK")
    assert unstuff(c.multi()) == e.crlf()
    assert c.cmd("TOP 1").startswith("-ERR")
    assert c.cmd("TOP 1 -1").startswith("-ERR")


def test_bad_arguments(pop, inbox, user):
    c = pop()
    c.login(user)
    for cmd in ("RETR", "RETR 0", "RETR 99", "RETR x", "RETR 1 2", "DELE 0",
                "LIST 99", "UIDL 99", "STAT 1", "RETR 99999999999999999999"):
        assert c.cmd(cmd).startswith("-ERR"), cmd
    assert c.cmd("x" * 70000).startswith("-ERR")     # too long, session goes on
    assert c.cmd("NOOP").startswith("+OK")
    assert c.cmd("USER x").startswith("-ERR"), "no USER after login"


def test_dele_hides_and_rset_restores(pop, inbox, user):
    c = pop()
    c.login(user)
    assert c.cmd("DELE 2").startswith("+OK")
    assert c.cmd("DELE 2").startswith("-ERR")
    assert c.cmd("RETR 2").startswith("-ERR")
    assert c.cmd("LIST 2").startswith("-ERR")
    n = len(inbox)
    assert c.cmd("STAT").startswith("+OK %d " % (n - 1))
    c.cmd("LIST")
    assert b"\r\n2 " not in b"\r\n" + c.multi()
    assert c.cmd("RSET").startswith("+OK")
    assert c.cmd("STAT").startswith("+OK %d " % n)
    assert c.cmd("QUIT").startswith("+OK")


def test_quit_removes_exactly_the_deleted_messages(pop, pop_server, inbox, mail_store, user):
    c = pop()
    c.login(user)
    assert c.cmd("DELE 1").startswith("+OK")
    assert c.cmd("DELE 3").startswith("+OK")
    # not yet: deletions wait for the UPDATE state
    assert len(left_in(mail_store, user)) == len(inbox)
    r = c.cmd("QUIT")
    assert r.startswith("+OK") and "2 messages deleted" in r, r
    left = left_in(mail_store, user)
    assert left == [inbox[1].data, inbox[3].data]


@pytest.mark.mbox_only
def test_quit_that_cannot_save_answers_err(pop, inbox, mail_store, user, syslog):
    """The spool INBOX is rewritten in place through a journal in
    ~/.imapd-cache; that directory made unwritable during the session means
    QUIT cannot remove the message DELE marked: -ERR naming the reason (not
    +OK), every message still in the spool (the \\Seen RETR set may be
    saved: it needs no journal), and one log line for the failure."""
    c = pop()
    c.login(user)
    cache = os.path.join(user.home, ".imapd-cache")
    assert os.path.isdir(cache)
    os.chmod(cache, 0o500)
    try:
        assert c.cmd("RETR 1").startswith("+OK")
        c.multi()
        assert c.cmd("DELE 1").startswith("+OK")
        r = c.cmd("QUIT")
        with pytest.raises(EOFError):
            c.line()
    finally:
        os.chmod(cache, 0o700)
    assert r.startswith("-ERR [SYS/TEMP]") and "ermission denied" in r, r
    assert left_in(mail_store, user) == [e.data for e in inbox]
    name = re.escape(user.name)
    wait_log(syslog, r"Logout user=%s " % name)
    failures = [x for x in syslog.lines if re.search(r"user=%s .*ermission denied" % name, x)]
    assert len(failures) == 1 and "Deletions failed" in failures[0], syslog.lines


def test_dropped_connection_deletes_nothing(pop, pop_server, inbox, mail_store, user):
    c = pop()
    c.login(user)
    for i in range(len(inbox)):
        assert c.cmd("DELE %d" % (i + 1)).startswith("+OK")
    c.close()
    wait_unlocked(pop_server, user)
    assert left_in(mail_store, user) == [e.data for e in inbox]


def test_pipelining(pop, inbox, user):
    c = pop()
    c.sock.sendall(("USER %s\r\nPASS %s\r\nSTAT\r\nLIST 1\r\nNOOP\r\nQUIT\r\n"
                    % (user.name, user.password)).encode())
    answers = [c.line() for _ in range(6)]
    assert all(a.startswith("+OK") for a in answers), answers


# ---------------------------------------------------------------- maildrop lock

def test_second_session_gets_in_use(pop, pop_server, inbox, user):
    first = pop()
    first.login(user)
    second = pop()
    second.cmd("USER %s" % user.name)
    r = second.cmd("PASS %s" % user.password)
    assert r.startswith("-ERR [IN-USE]"), r
    with pytest.raises((EOFError, ConnectionError)):
        second.cmd("NOOP")
    assert first.cmd("STAT").startswith("+OK %d " % len(inbox))
    assert first.cmd("QUIT").startswith("+OK")
    third = pop()
    third.login(user)
    assert third.cmd("QUIT").startswith("+OK")


def test_lock_file_is_in_the_home(pop, inbox, user):
    c = pop()
    c.login(user)
    st = os.stat(os.path.join(user.home, ".pop.lock"))
    assert st.st_uid == user.uid
    c.cmd("QUIT")


def test_delivery_and_imap_go_on_during_a_session(pop, pop_server, inbox, mail_store, user,
                                                  imap_user):
    c = pop()
    c.login(user)
    new = mbox.Entry(b"Subject: late\n\ndelivered during the POP session\n")
    t0 = time.monotonic()
    mail_store.deliver(user, new, timeout=10)     # the MTA is not blocked
    assert time.monotonic() - t0 < 10
    typ, data = imap_user.select("INBOX")
    assert typ == "OK" and int(data[0]) == len(inbox) + 1
    imap_user.logout()
    # the POP view is fixed at login
    assert c.cmd("STAT").startswith("+OK %d " % len(inbox))
    assert c.cmd("DELE 1").startswith("+OK")
    assert c.cmd("QUIT").startswith("+OK")
    assert left_in(mail_store, user) == [e.data for e in inbox[1:]] + [new.data]


# ---------------------------------------------------------------- IMAP agreement

def imap_flags(imap, n):
    typ, data = imap.fetch(str(n), "(FLAGS)")
    assert typ == "OK", data
    return data[0].decode()


def test_retr_marks_seen_top_does_not(pop, inbox, user, imap_user):
    c = pop()
    c.login(user)
    assert c.cmd("RETR 2").startswith("+OK")
    c.multi()
    assert c.cmd("TOP 3 1").startswith("+OK")
    c.multi()
    assert c.cmd("QUIT").startswith("+OK")
    imap_user.select("INBOX", readonly=True)
    assert "\\Seen" in imap_flags(imap_user, 2)
    assert "\\Seen" not in imap_flags(imap_user, 3)
    assert "\\Seen" not in imap_flags(imap_user, 1)


def test_uidl_is_imap_uidvalidity_dot_uid(pop, inbox, user, imap_user):
    c = pop()
    c.login(user)
    assert c.cmd("UIDL").startswith("+OK")
    uidl = c.multi().decode().split("\r\n")[:-1]
    assert c.cmd("UIDL 2") == "+OK " + uidl[1]
    assert c.cmd("QUIT").startswith("+OK")
    typ, data = imap_user.select("INBOX", readonly=True)
    typ, st = imap_user.status("INBOX", "(UIDVALIDITY)")
    validity = re.search(rb"UIDVALIDITY (\d+)", st[0]).group(1).decode()
    typ, data = imap_user.fetch("1:*", "(UID)")
    uids = [re.search(rb"UID (\d+)", d).group(1).decode() for d in data]
    assert uidl == ["%d %s.%s" % (i + 1, validity, u) for i, u in enumerate(uids)]


def test_uidl_stable_across_sessions_and_deletions(pop, pop_server, inbox, user):
    def listing():
        c = pop()
        c.login(user)
        c.cmd("UIDL")
        out = [l.split()[1] for l in c.multi().decode().split("\r\n")[:-1]]
        return c, out

    c, first = listing()
    assert len(set(first)) == len(first)
    c.cmd("DELE 4")
    c.cmd("QUIT")
    c, second = listing()
    assert second == first[:3]
    c.cmd("QUIT")


@pytest.mark.format_bug("mh", "nmh's delivery (rcvstore, inc) numbers a message after the "
                        "highest file, so it reuses the expunged last message's number; "
                        "the numbers are the UIDs, so the folder takes a new UIDVALIDITY "
                        "and every UIDL changes")
def test_uids_are_not_reused_after_deleting_the_last_message(pop, pop_server, inbox,
                                                             mail_store, user):
    c = pop()
    c.login(user)
    c.cmd("UIDL")
    before = [l.split()[1] for l in c.multi().decode().split("\r\n")[:-1]]
    c.cmd("DELE %d" % len(inbox))
    assert c.cmd("QUIT").startswith("+OK")
    c = pop()                         # a session that changes nothing
    c.login(user)
    assert c.cmd("QUIT").startswith("+OK")
    mail_store.deliver(user, mbox.Entry(b"Subject: new\n\nnew\n"))
    c = pop()
    c.login(user)
    c.cmd("UIDL")
    after = [l.split()[1] for l in c.multi().decode().split("\r\n")[:-1]]
    assert after[:-1] == before[:-1]
    assert after[-1] not in before, "a UIDL of a deleted message came back"


# ---------------------------------------------------------------- AUTH, TLS

def test_auth_plain_with_initial_response(pop, inbox, user):
    c = pop()
    ir = base64.b64encode(b"\0%s\0%s" % (user.name.encode(), user.password.encode()))
    r = c.cmd("AUTH PLAIN " + ir.decode())
    assert r.startswith("+OK"), r
    assert c.cmd("STAT").startswith("+OK %d " % len(inbox))


def test_auth_login_exchange_and_failure(pop, user):
    c = pop()
    assert c.cmd("AUTH LOGIN").startswith("+ ")
    assert c.cmd(base64.b64encode(user.name.encode()).decode()).startswith("+ ")
    r = c.cmd(base64.b64encode(b"wrong").decode())
    assert r.startswith("-ERR [AUTH]"), r
    assert c.cmd("AUTH PLAIN").startswith("+ ")
    assert c.cmd("*").startswith("-ERR"), "cancelled"
    assert c.cmd("AUTH CRAM-MD5").startswith("-ERR")
    assert c.cmd("AUTH").startswith("+OK")
    assert c.multi() == b"PLAIN\r\nLOGIN\r\n"
    c.login(user)


def test_plaintext_refused_before_tls(pop, strict_server, user):
    c = pop(strict_server)
    assert c.cmd("CAPA").startswith("+OK")
    caps = c.multi().decode().split("\r\n")
    assert "USER" not in caps and not any(x.startswith("SASL") for x in caps)
    assert "STLS" in caps
    for cmd in ("USER %s" % user.name, "AUTH PLAIN AGFiAGM="):
        r = c.cmd(cmd)
        assert r.startswith("-ERR") and "TLS" in r, r


def tls_context():
    import ssl
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    return ctx


def test_stls_then_login(strict_server, fresh, inbox, user):
    p = poplib.POP3(strict_server.host, strict_server.port, timeout=TIMEOUT)
    try:
        p.stls(context=tls_context())
        caps = p.capa()
        assert "USER" in caps and "STLS" not in caps
        p.user(user.name)
        p.pass_(user.password)
        assert p.stat()[0] == len(inbox)
        resp, lines, octets = p.retr(1)
        assert b"\r\n".join(lines) + b"\r\n" == inbox[0].crlf()
        p.quit()
    finally:
        p.close()


def test_implicit_tls(pop3s_server, fresh, inbox, user):
    p = poplib.POP3_SSL(pop3s_server.host, pop3s_server.port, timeout=TIMEOUT,
                        context=tls_context())
    try:
        p.user(user.name)
        p.pass_(user.password)
        assert p.stat()[0] == len(inbox)
        p.quit()
    finally:
        p.close()


# ---------------------------------------------------------------- real clients

def test_poplib_downloads_and_deletes(pop_server, fresh, inbox, mail_store, user):
    p = poplib_login(pop_server, user)
    count, size = p.stat()
    assert count == len(inbox)
    for i, e in enumerate(inbox):
        resp, lines, octets = p.retr(i + 1)
        assert octets == len(e.crlf())
        assert b"\r\n".join(lines) + b"\r\n" == e.crlf()
    p.dele(2)
    p.quit()
    assert left_in(mail_store, user) == [e.data for i, e in enumerate(inbox) if i != 1]


def curl_pop(server, who, path="", *args, scheme="pop3"):
    url = "%s://%s:%d/%s" % (scheme, server.host, server.port, path)
    r = subprocess.run(["curl", "-sS", "--max-time", "30", "--user",
                        "%s:%s" % (who.name, who.password)] + list(args) + [url],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=60)
    assert r.returncode == 0, r.stderr.decode()
    return r.stdout


def test_curl_lists_and_retrieves(pop_server, fresh, inbox, user):
    listing = curl_pop(pop_server, user)
    assert listing == b"".join(b"%d %d\r\n" % (i + 1, len(e.crlf()))
                               for i, e in enumerate(inbox))
    for i, e in enumerate(inbox):
        assert curl_pop(pop_server, user, str(i + 1)) == e.crlf()


def test_curl_pop3s_and_stls(pop3s_server, strict_server, fresh, inbox, user):
    assert curl_pop(pop3s_server, user, "2", "-k", scheme="pop3s") == inbox[1].crlf()
    # --ssl-reqd on a plain port: curl upgrades with STLS
    assert curl_pop(strict_server, user, "3", "-k", "--ssl-reqd") == inbox[2].crlf()


def test_curl_deletes_with_dele(pop_server, fresh, inbox, mail_store, user):
    curl_pop(pop_server, user, "1", "-X", "DELE", "-I")
    assert left_in(mail_store, user) == [e.data for e in inbox[1:]]


def fetchmail(server, who, outdir, keep, protocol="pop3", tls='sslproto ""', host=None):
    """fetchmail's messages for who, delivered by an MDA into outdir (also
    tests/test_clients_recorded.py's IMAP run: protocol, tls and host)."""
    if not shutil.which("fetchmail"):
        pytest.skip("fetchmail is not installed (apt-get install fetchmail)")
    rc = os.path.join(who.home, ".fetchmailrc")
    with open(rc, "w") as f:
        f.write('set no syslog\n'
                'poll %s service %d protocol %s auth password\n'
                '  user "%s" there is "%s" here password "%s"\n'
                '  %s\n'
                '  fetchall %s no rewrite\n'
                '  mda "cat > %s/msg.$$"\n'
                % (host or server.host, server.port, protocol, who.name, who.name,
                   who.password, tls, "keep" if keep else "nokeep", outdir))
    os.chown(rc, who.uid, who.gid)
    os.chmod(rc, 0o600)
    r = subprocess.run(["runuser", "-u", who.name, "--", "env", "HOME=" + who.home,
                        "fetchmail", "--nodetach", "--invisible", "-f", rc],
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=120,
                       cwd=who.home)
    assert r.returncode == 0, r.stdout.decode()
    out = []
    for name in os.listdir(outdir):
        with open(os.path.join(outdir, name), "rb") as f:
            out.append(f.read())
    return sorted(out)


@pytest.mark.parametrize("keep", [True, False], ids=["keep", "delete"])
def test_fetchmail_downloads_the_mailbox(pop_server, fresh, inbox, mail_store, user, keep):
    outdir = os.path.join(user.home, "fetched")
    os.mkdir(outdir)
    os.chown(outdir, user.uid, user.gid)
    got = fetchmail(pop_server, user, outdir, keep)
    assert got == sorted(e.data for e in inbox)
    left = left_in(mail_store, user)
    assert left == ([e.data for e in inbox] if keep else [])


# ---------------------------------------------------------------- command line

def test_version_help_and_check(ipop3d, pop_config):
    r = subprocess.run([ipop3d, "--version"], stdout=subprocess.PIPE, timeout=10)
    assert r.returncode == 0 and r.stdout.startswith(b"ipop3d ")
    r = subprocess.run([ipop3d, "--help"], stdout=subprocess.PIPE, timeout=10)
    assert r.returncode == 0 and b"--check" in r.stdout and b".pop.lock" in r.stdout
    r = subprocess.run([ipop3d, "--config", pop_config, "--check"],
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=30)
    out = r.stdout.decode()
    assert "PAM service \"pop\"" in out and "spool directory" in out, out
    assert r.returncode == 0, out


def test_bad_config_is_reported_by_name(ipop3d, workdir):
    p = os.path.join(workdir, "bad-pop.conf")
    with open(p, "w") as f:
        f.write("no_such_key = 1\n")
    r = subprocess.run([ipop3d, "--config", p], stdin=subprocess.DEVNULL,
                       stdout=subprocess.PIPE, timeout=10)
    assert r.returncode == 1
    assert r.stdout.startswith(b"-ERR") and b"no_such_key" in r.stdout


# ---------------------------------------------------------------- pre-authenticated

def run_as(who, argv, data, env_extra=None, timeout=60):
    env = {"PATH": "/usr/bin:/bin", "HOME": who.home, "USER": who.name,
           "LOGNAME": who.name}
    env.update(env_extra or {})
    return subprocess.run(["setpriv", "--reuid=%d" % who.uid, "--regid=%d" % who.gid,
                           "--init-groups"] + argv, input=data,
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env,
                          timeout=timeout, cwd=who.home)


def test_started_as_the_user_serves_that_user(ipop3d, pop_config, san_env, fresh, inbox,
                                              user):
    r = run_as(user, [ipop3d, "--config", pop_config], b"STAT\r\nQUIT\r\n", san_env)
    lines = r.stdout.decode().split("\r\n")
    assert lines[0].startswith("+OK") and user.name in lines[0], lines
    assert lines[1].startswith("+OK %d " % len(inbox)), lines


# ---------------------------------------------------------------- Dovecot

def pop_session(argv, env, cwd, commands):
    """Run one standalone POP3 session over pipes: the commands, then QUIT.
    Returns the raw output."""
    data = "".join(c + "\r\n" for c in commands + ["QUIT"]).encode()
    r = subprocess.run(argv, input=data, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       env=env, cwd=cwd, timeout=120)
    return r.stdout


def split_answers(raw, commands, greeting):
    """The answers of a pipelined session: status line, plus the multi-line
    body for RETR/TOP and argument-less LIST/UIDL."""
    f = raw.split(b"\r\n")
    pos = 1 if greeting else 0
    out = []
    for c in commands:
        status = f[pos]
        pos += 1
        body = None
        multi = c.startswith(("RETR", "TOP")) or c in ("LIST", "UIDL")
        if multi and status.startswith(b"+OK"):
            end = f.index(b".", pos)
            body = b"\r\n".join(f[pos:end]) + b"\r\n" if end > pos else b""
            pos = end + 1
        out.append((status, body))
    return out


@pytest.mark.skipif(not os.access(DOVECOT_POP3, os.X_OK),
                    reason="Dovecot's pop3 is not installed (apt-get install dovecot-pop3d)")
def test_differential_against_dovecot(ipop3d, workdir, san_env, user):
    data = corpus.handwritten_mbox() + corpus.mbox_entry(corpus.large_message())
    n = data.count(corpus.FROM_LINE)
    root = os.path.join(workdir, "pop-diff")
    shutil.rmtree(root, ignore_errors=True)
    results = {}
    commands = ["STAT", "LIST"] + ["RETR %d" % i for i in range(1, n + 1)]
    for kind in ("ours", "dovecot"):
        d = os.path.join(root, kind)
        home, spool_dir = os.path.join(d, "home"), os.path.join(d, "spool")
        for x in (d, home, spool_dir):
            os.makedirs(x, exist_ok=True)
            os.chown(x, user.uid, user.gid)
        inbox = os.path.join(spool_dir, user.name)
        with open(inbox, "wb") as f:
            f.write(data)
        os.chown(inbox, user.uid, user.gid)
        conf = os.path.join(d, "conf")
        with open(conf, "w") as f:
            if kind == "ours":
                f.write("spool_dir = %s\n" % spool_dir)
            else:
                f.write("protocols = pop3\nssl = no\nlog_path = /dev/stderr\n"
                        "mail_location = mbox:%s/mail:INBOX=%s\n" % (home, inbox))
        argv = [ipop3d, "--config", conf] if kind == "ours" else [DOVECOT_POP3, "-c", conf]
        env = {"PATH": "/usr/bin:/bin", "HOME": home, "USER": user.name,
               "LOGNAME": user.name}
        if kind == "ours":
            env.update(san_env)
        argv = ["setpriv", "--reuid=%d" % user.uid, "--regid=%d" % user.gid,
                "--init-groups"] + argv
        raw = pop_session(argv, env, home, commands)
        assert raw.startswith(b"+OK"), (kind, raw[:300])
        # Dovecot started as the user logs in silently; ours greets
        results[kind] = split_answers(raw, commands, kind == "ours")
    ours, theirs = results["ours"], results["dovecot"]
    # STAT: count and size; LIST: the sizes; RETR: the bytes
    assert ours[0][0] == theirs[0][0], (ours[0], theirs[0])
    assert ours[1][1] == theirs[1][1]
    for i in range(2, len(commands)):
        assert ours[i][1] == theirs[i][1], "%s differs" % commands[i]


# ---------------------------------------------------------------- syslog

def wait_log(sink, pattern, timeout=10):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        for line in list(sink.lines):
            if re.search(pattern, line):
                return line
        time.sleep(0.05)
    pytest.fail("no log line matching %r in:\n%s" % (pattern, "\n".join(sink.lines)))


def test_logins_are_logged_like_imapd(syslog, pop, user):
    c = pop()
    c.cmd("USER %s" % user.name)
    c.cmd("PASS wrong")
    name = re.escape(user.name)
    line = wait_log(syslog, r"ipop3d\[\d+\]: Login failed user=%s auth=%s host=\S+ "
                            r"\[127\.0\.0\.1\]" % (name, name))
    assert "wrong" not in line
    c.login(user)
    wait_log(syslog, r"Login user=%s host=\S+ \[127\.0\.0\.1\]" % name)
    c.cmd("QUIT")
    wait_log(syslog, r"Logout user=%s host=" % name)


# ---------------------------------------------------------------- timeouts

def test_timeouts_short_before_login_ten_minutes_after(launch_daemon, ipop3d, workdir, spool,
                                                      pop_pam, fresh, inbox, user):
    p = os.path.join(workdir, "pop-timeouts.conf")
    with open(p, "w") as f:
        f.write("spool_dir = %s\nallow_plaintext = yes\ntimeout_login = 1\n"
                "timeout_idle = 1\n" % spool.dir)
    os.chmod(p, 0o644)
    server = launch_daemon(argv=[ipop3d, "--config", p])
    idle = RawPOP(server)
    busy = RawPOP(server)
    try:
        busy.login(user)
        time.sleep(3)
        # before login: closed without a word (RFC 1939 autologout)
        with pytest.raises((EOFError, ConnectionError)):
            idle.cmd("NOOP")
        # after login RFC 1939 asks for at least 10 minutes, whatever the
        # configuration says
        assert busy.cmd("STAT").startswith("+OK")
        assert busy.cmd("QUIT").startswith("+OK")
    finally:
        idle.close()
        busy.close()


# ---------------------------------------------------------------- hostile clients (issue 10)

def test_nul_in_sasl_response_does_not_log_in(pop, inbox, user):
    """Defect 12: a continuation line "<base64>NUL<junk>" was cut at the
    NUL and logged in with what came before it."""
    c = pop()
    assert c.cmd("AUTH PLAIN").startswith("+ ")
    good = base64.b64encode(b"\0%s\0%s" % (user.name.encode(), user.password.encode()))
    c.sock.sendall(good + b"\0junk\r\n")
    r = c.line()
    assert r.startswith("-ERR"), r
    assert c.cmd("STAT").startswith("-ERR"), "logged in after all"


def test_nul_in_user_name_refused(pop, inbox, user):
    c = pop()
    c.sock.sendall(b"USER " + user.name.encode() + b"\0junk\r\n")
    assert c.line().startswith("-ERR")
    r = c.cmd("PASS %s" % user.password)
    assert r.startswith("-ERR"), r
    assert c.cmd("STAT").startswith("-ERR")


@pytest.mark.parametrize("daemon,data", [
    ("ipop3d", b"USER x"), ("ipop3d", b"CAPA\r\n"), ("ipop2d", b"HELO x"),
])
def test_login_deadline_is_total(request, launch_daemon, workdir, spool, pop_pam, fresh,
                                 daemon, data):
    """Defect 9: one byte a second before login, in a line that never ends
    or in whole commands, keeps the session for timeout_login at most."""
    binary = request.getfixturevalue(daemon)
    p = os.path.join(workdir, "pop-trickle.conf")
    with open(p, "w") as f:
        f.write("spool_dir = %s\nallow_plaintext = yes\ntimeout_login = 3\n" % spool.dir)
    os.chmod(p, 0o644)
    server = launch_daemon(argv=[binary, "--config", p])
    s = socket.create_connection((server.host, server.port), TIMEOUT)
    try:
        s.settimeout(1.0)
        s.recv(4096)    # greeting
        t0 = time.monotonic()
        ended = None
        i = 0
        while time.monotonic() - t0 < 20 and ended is None:
            try:
                s.sendall(data[i % len(data):i % len(data) + 1])
                i += 1
                if s.recv(4096) == b"":
                    ended = time.monotonic() - t0
            except socket.timeout:
                continue
            except (BrokenPipeError, ConnectionResetError):
                ended = time.monotonic() - t0
        assert ended is not None, "%s still connected after 20 s, timeout_login = 3" % daemon
        assert ended <= 8, ended
    finally:
        s.close()
