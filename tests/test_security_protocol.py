# Attacks on the protocol layer (issue 10, defects 6, 9, 11, 12 and 15), made
# the way a stranger or a hostile user would: a huge literal before login,
# a trickle of bytes that never ends a line, a user name that forges mail-log
# lines, a NUL that cuts a name short, UID 4294967295 taken for "*", and
# more keywords than a mailbox can keep.
import os
import re
import shutil
import socket
import ssl
import subprocess
import time

import pytest

from helpers import tls as T
from helpers.imapclient import Lit, quote
from helpers.session import server_pid

LOG_MAIL = 2 << 3


# ------------------------------------------------------------ helpers



def monitor_pid(c):
    """The process that logs this connection's logins: the root monitor,
    parent of the unprivileged pre-login process holding the socket."""
    with open("/proc/%d/status" % server_pid(c)) as f:
        for line in f:
            if line.startswith("PPid:"):
                return int(line.split()[1])
    raise AssertionError("no parent for the pre-login process")


def vm_hwm(pid):
    """Peak resident memory of pid in bytes (0 once it is gone)."""
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def flood(sock, total, chunk=1 << 18, on_chunk=None):
    """Send up to total bytes of junk; stop when the server closes or stops
    reading. Returns the bytes the kernel accepted."""
    sent = 0
    sock.settimeout(5)
    data = b"x" * chunk
    try:
        while sent < total:
            sent += sock.send(data[:min(chunk, total - sent)])
            if on_chunk:
                on_chunk()
    except (BrokenPipeError, ConnectionResetError, socket.timeout):
        pass
    return sent


def read_all(c, limit=50):
    """Responses until the server closes (or limit responses)."""
    out = []
    try:
        for _ in range(limit):
            out.append(c.read_response())
    except (EOFError, ConnectionResetError, socket.timeout):
        pass
    return out


def trickle(c, data, interval, until):
    """Send data one byte every interval seconds for at most until seconds;
    returns the seconds after which the server ended the session, or None
    if it was still there."""
    c.sock.settimeout(interval)
    t0 = time.monotonic()
    i = 0
    while time.monotonic() - t0 < until:
        try:
            c.sock.sendall(data[i % len(data):i % len(data) + 1])
            i += 1
            got = c.sock.recv(4096)
            if got == b"" or b"BYE" in got:
                return time.monotonic() - t0
        except socket.timeout:
            continue
        except (BrokenPipeError, ConnectionResetError):
            return time.monotonic() - t0
    return None


# ------------------------------------------------------------ 6: literals before login

def test_nonsync_literal_before_login_is_not_buffered(server, open_to):
    """Defect 6: APPEND {52428800+} before login ends the session at once
    instead of reading 50 MiB into a process that has not authenticated."""
    c = open_to(server)
    pid = server_pid(c)
    before = vm_hwm(pid)
    peak = [before]

    def sample():
        peak[0] = max(peak[0], vm_hwm(pid))
    c.send(b"a APPEND INBOX {52428800+}\r\n")
    sent = flood(c.sock, 52428800, on_chunk=sample)
    replies = read_all(c)
    assert sent < (8 << 20), "the daemon accepted %d bytes of the literal" % sent
    assert peak[0] - before < (4 << 20), "daemon grew by %d kB" % ((peak[0] - before) >> 10)
    # read_all stops at the end of file, which is right after this BYE
    assert replies == [b"* BYE [TOOBIG] Literal too large"], replies[:3]


def test_sync_literal_for_a_command_not_valid_before_login(server, open_to):
    """Defect 6: the state check comes before the literal: no "+" for an
    APPEND before login, a tagged BAD, and the session goes on."""
    c = open_to(server)
    c.send(b"a APPEND INBOX {52428800}\r\n")
    r = c.read_response()
    assert r == b"a BAD Unknown command, or not valid before login; literal refused", r
    assert c.command("NOOP").ok


def test_large_sync_literal_before_login_refused(server, open_to):
    """Before login a literal is small (8 KiB): enough for LOGIN, no more."""
    c = open_to(server)
    c.send(b"a LOGIN {9000}\r\n")
    r = c.read_response()
    assert r == b"a NO [TOOBIG] Literal too large (the limit is 8192 bytes before login)", r
    assert c.command("NOOP").ok


def test_large_nonsync_literal_before_login_ends_session(server, open_to):
    c = open_to(server)
    c.send(b"a LOGIN {9000+}\r\n")
    flood(c.sock, 9000)
    replies = read_all(c)
    assert replies == [b"* BYE [TOOBIG] Literal too large"], replies


def test_login_with_literals_still_works(server, open_to, user):
    c = open_to(server)
    r = c.command("LOGIN ", Lit(user.name.encode()), " ", Lit(user.password.encode()))
    assert r.ok, r.raw
    r = c.command("LOGOUT")
    assert r.ok


# ------------------------------------------------------------ 9: slowloris

@pytest.mark.parametrize("data", [b"a NOOP ", b"a NOOP\r\n"], ids=["partial", "whole-lines"])
def test_login_deadline_is_total(server_with, open_to, data):
    """Defect 9: one byte a second (never a whole line, or whole NOOPs)
    keeps a connection that has not logged in for timeout_login at most."""
    c = open_to(server_with("timeout_login = 3"))
    ended = trickle(c, data, 1.0, 20)
    assert ended is not None, "still connected after 20 s with timeout_login = 3"
    assert ended <= 8, ended


def test_idle_deadline_not_reset_by_a_trickle(server_with, open_to, user, inbox):
    """Defect 9: after login, bytes that never complete a command line do
    not keep the session past timeout_idle."""
    c = open_to(server_with("timeout_idle = 4"), who=user)
    assert c.command("SELECT INBOX").ok
    ended = trickle(c, b"a NOOP ", 1.0, 20)
    assert ended is not None, "still connected after 20 s with timeout_idle = 4"
    assert ended <= 9, ended


def test_idle_command_ends_at_its_timeout_despite_a_trickle(server_with, open_to, user, inbox):
    """Defects 9 and 15: IDLE fed one byte every 4 s ends at timeout_idle."""
    c = open_to(server_with("timeout_idle = 5"), who=user)
    assert c.command("SELECT INBOX").ok
    c.send(b"i1 IDLE\r\n")
    assert c.read_response().startswith(b"+")
    ended = trickle(c, b"DON", 4.0, 24)
    assert ended is not None, "IDLE still running after 24 s with timeout_idle = 5"
    assert ended <= 12, ended


def test_slow_but_steady_commands_after_login_are_fine(server_with, open_to, user, inbox):
    """The idle deadline is per command: a client sending whole commands
    now and then is not cut off."""
    c = open_to(server_with("timeout_idle = 4"), who=user)
    assert c.command("SELECT INBOX").ok
    for _ in range(3):
        time.sleep(2)
        assert c.command("NOOP").ok


@pytest.fixture(scope="module")
def tls_server_with(server_with, workdir):
    """tls_server_with(extra) -> imapd --tls with a certificate and the
    extra configuration lines."""
    ssl_dir = T.make_ssl_dir(os.path.join(workdir, "ssl-sec"))
    T.make_pem(os.path.join(ssl_dir, "certs", "imapd.pem"), "sec.test")
    return lambda extra: server_with("ssl_dir = %s\n%s" % (ssl_dir, extra), tls=True)


def tls_bytes_trickled(sock, data, interval, until):
    """Send data a byte every interval s; seconds until the server closed,
    or None if it was still there after until seconds."""
    sock.settimeout(interval)
    t0 = time.monotonic()
    for b in data:
        if time.monotonic() - t0 >= until:
            return None
        try:
            sock.sendall(bytes([b]))
            if sock.recv(65536) == b"":
                return time.monotonic() - t0
        except socket.timeout:
            continue
        except (BrokenPipeError, ConnectionResetError):
            return time.monotonic() - t0
    # all sent: wait for the verdict on the rest of the time
    try:
        sock.settimeout(max(until - (time.monotonic() - t0), 0.1))
        while sock.recv(65536):
            pass
        return time.monotonic() - t0
    except socket.timeout:
        return None
    except ConnectionResetError:
        return time.monotonic() - t0


def tls_client(sock):
    """A TLS client over sock driven by hand (memory BIOs), so the test can
    send the bytes of a record one at a time. Returns (tls, out)."""
    inc, out = ssl.MemoryBIO(), ssl.MemoryBIO()
    obj = T.client_context().wrap_bio(inc, out)
    while True:
        try:
            obj.do_handshake()
            break
        except ssl.SSLWantReadError:
            if out.pending:
                sock.sendall(out.read())
            got = sock.recv(65536)
            if not got:
                raise EOFError("closed during the handshake")
            inc.write(got)
    if out.pending:
        sock.sendall(out.read())
    greeting = b""
    while b"\r\n" not in greeting:
        try:
            greeting += obj.read(65536)
        except ssl.SSLWantReadError:
            inc.write(sock.recv(65536))
    assert greeting.startswith(b"* OK"), greeting
    return obj, out


def test_tls_handshake_trickle_ends_at_login_deadline(tls_server_with):
    """Defect 9 over implicit TLS: a ClientHello sent a byte a second does
    not hold the process past timeout_login."""
    srv = tls_server_with("timeout_login = 3")
    inc, out = ssl.MemoryBIO(), ssl.MemoryBIO()
    obj = T.client_context().wrap_bio(inc, out)
    with pytest.raises(ssl.SSLWantReadError):
        obj.do_handshake()
    hello = out.read()
    with socket.create_connection((srv.host, srv.port), timeout=10) as s:
        ended = tls_bytes_trickled(s, hello, 1.0, 20)
    assert ended is not None, "handshake still going after 20 s, timeout_login = 3"
    assert ended <= 8, ended


def test_tls_record_trickle_ends_at_login_deadline(tls_server_with):
    """Defect 9 inside TLS: a record sent a byte a second (the socket's
    receive timeout restarts at each byte) ends at timeout_login."""
    srv = tls_server_with("timeout_login = 3")
    with socket.create_connection((srv.host, srv.port), timeout=10) as s:
        obj, out = tls_client(s)
        obj.write(b"a NOOP\r\n" * 8)
        ended = tls_bytes_trickled(s, out.read(), 1.0, 20)
    assert ended is not None, "still connected after 20 s, timeout_login = 3"
    assert ended <= 8, ended


# ------------------------------------------------------------ 11: log injection

FORGED = "192.0.2.66"


def forged_name(tag):
    """A user name carrying a whole log line of its own, date and all, as a
    file would hold it, and a terminal escape for good measure."""
    return ("nobody%s\r\n%s mailhost imapd[1]: Login failed user=root auth=root "
            "host=evil [%s]\nx\x1b[2J" % (tag, time.strftime("%b %e %H:%M:%S"), FORGED))


def as_log_file(dgrams, path):
    """The datagrams as a plain file writer would store them: each message
    after a stamp and host name, its bytes (line breaks too) unchanged."""
    with open(path, "w") as f:
        for dgram in dgrams:
            m = re.match(r"<\d+>(\w{3} [ \d]\d \d\d:\d\d:\d\d) (.*)$", dgram.rstrip("\0"),
                         re.S)
            if m:
                f.write("%s mailhost %s\n" % (m.group(1), m.group(2).rstrip("\n")))


def from_pid(sink, pid):
    """The datagrams a given daemon sent (other daemons may log meanwhile)."""
    return [d for d in sink.lines if "imapd[%d]:" % pid in d]


def fail2ban_addresses(path):
    """Addresses fail2ban's uwimap-auth filter finds in the log file (None
    when fail2ban is not installed)."""
    regex = shutil.which("fail2ban-regex")
    filt = "/etc/fail2ban/filter.d/uwimap-auth.conf"
    if not regex or not os.path.exists(filt):
        return None
    r = subprocess.run([regex, "-o", "ip", path, filt], stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, timeout=60)
    assert r.returncode == 0, r.stderr
    return set(r.stdout.decode().split())


def test_login_name_cannot_forge_log_lines(syslog, server, open_to, user, tmp_path):
    """Defect 11: a LOGIN name sent as a literal with CR/LF and an escape
    sequence reaches the log as one escaped line, so no fail2ban filter can
    read the attacker's chosen address as a failed login."""
    from helpers.syslogsink import collect
    c = open_to(server)
    pid = monitor_pid(c)
    r = c.command("LOGIN ", Lit(forged_name("1").encode()), " ", quote("wrong"))
    assert r.status == "NO", r.raw
    r = c.command("LOGIN %s %s" % (quote(user.name), quote("wrong")))   # a normal failure
    assert r.status == "NO", r.raw
    collect(syslog, r"imapd\[%d\]: Login failed user=%s " % (pid, re.escape(user.name)))
    mine = from_pid(syslog, pid)
    for dgram in mine:
        body = dgram.rstrip("\n\0")
        assert "\n" not in body and "\r" not in body and "\x1b" not in body, repr(dgram)
    assert any("user=nobody1\\x0d\\x0a" in d for d in mine), mine
    log = tmp_path / "mail.log"
    as_log_file(mine, str(log))
    for line in log.read_text().splitlines():
        assert not re.search(r"mailhost imapd\[1\]: Login failed", line.split("user=nobody")[0]), \
            line
    banned = fail2ban_addresses(str(log))
    if banned is not None:
        assert FORGED not in banned, banned
        assert banned == {"127.0.0.1"}, banned


def test_fail2ban_still_matches_a_normal_failure(syslog, server, open_to, user, tmp_path):
    """The escaping leaves an ordinary failed-login line as fail2ban's
    uwimap-auth filter expects it."""
    from helpers.syslogsink import collect
    c = open_to(server)
    pid = monitor_pid(c)
    assert c.command("LOGIN %s %s" % (quote(user.name), quote("wrong"))).status == "NO"
    collect(syslog, r"imapd\[%d\]: Login failed user=%s " % (pid, re.escape(user.name)))
    log = tmp_path / "mail.log"
    as_log_file(from_pid(syslog, pid), str(log))
    banned = fail2ban_addresses(str(log))
    if banned is None:
        pytest.skip("fail2ban is not installed")
    assert banned == {"127.0.0.1"}, banned


# ------------------------------------------------------------ 12: NUL in names

def test_nul_in_literal_user_name_does_not_log_in(server, open_to, user):
    """Defect 12: LOGIN {n} <user>NUL<junk> used to log in as <user>."""
    c = open_to(server)
    name = user.name.encode() + b"\0junk"
    r = c.command("LOGIN ", Lit(name), " ", quote(user.password))
    assert (r.status, r.text) == ("BAD", "LOGIN: NUL is not allowed in this string"), r
    r = c.command("SELECT INBOX")
    assert (r.status, r.text) == ("BAD", "SELECT is not valid before login"), r


def test_nul_in_literal_password_does_not_log_in(server, open_to, user):
    c = open_to(server)
    r = c.command("LOGIN %s " % quote(user.name), Lit(user.password.encode() + b"\0junk"))
    assert (r.status, r.text) == ("BAD", "LOGIN: NUL is not allowed in this string"), r
    r = c.command("SELECT INBOX")
    assert (r.status, r.text) == ("BAD", "SELECT is not valid before login"), r


def test_nul_in_mailbox_name_refused(server, open_to, user):
    c = open_to(server, who=user)
    r = c.command("CREATE ", Lit(b"stolen\0junk"))
    assert (r.status, r.text) == ("BAD", "CREATE: NUL is not allowed in this string"), r
    assert not os.path.lexists(os.path.join(user.home, "stolen"))
    r = c.command("LIST \"\" *")
    assert r.ok and not any(b"stolen" in line for line in r.raw), r.raw


def test_nul_in_message_text_still_appended(server, open_to, user, inbox):
    c = open_to(server, who=user)
    msg = b"From: a@example.org\r\nSubject: nul\r\n\r\nbinary \0 body\r\n"
    r = c.command("APPEND INBOX ", Lit(msg))
    assert r.ok, r.raw
    assert c.command("SELECT INBOX").numbered("EXISTS") == [len(inbox) + 1]


# ------------------------------------------------------------ 15: numbers and keywords

def test_uid_4294967295_is_not_star(server, open_to, user, inbox):
    """Defect 15: UID 4294967295 named the last message, as "*" does."""
    c = open_to(server, who=user)
    assert c.command("SELECT INBOX").ok
    r = c.command("UID FETCH 4294967295 (UID FLAGS)")
    assert r.ok and not r.fetches(), r.raw
    r = c.command("UID STORE 4294967295 +FLAGS (\\Flagged)")
    assert r.ok, r.raw
    r = c.command("FETCH 1:* (FLAGS)")
    assert r.ok and len(r.fetches()) == len(inbox), r.raw
    assert not any("\\Flagged" in f["FLAGS"] for f in r.fetches().values()), r.raw
    r = c.command("UID SEARCH UID 4294967295")
    assert r.ok and r.search() == [], r.raw
    # a range up to it is an ordinary range: every message
    r = c.command("UID FETCH 1:4294967295 (UID)")
    assert r.ok and len(r.fetches()) == len(inbox), r.raw


@pytest.mark.parametrize("cmd,status", [
    ("UID FETCH 0 (UID)", "BAD"),
    ("UID FETCH 4294967296 (UID)", "BAD"),
    ("FETCH 0 (UID)", "BAD"),
    ("FETCH 4294967295 (UID)", "BAD"),
    ("FETCH 4294967296 (UID)", "BAD"),
    ("FETCH 3:1 (UID)", "OK"),
    ("FETCH *:2 (UID)", "OK"),
])
def test_sequence_set_corners(server, open_to, user, inbox, cmd, status):
    c = open_to(server, who=user)
    assert c.command("SELECT INBOX").ok
    r = c.command(cmd)
    assert r.status == status, r.raw
    if status == "OK":
        assert len(r.fetches()) == (3 if "3:1" in cmd else len(inbox) - 1), r.raw


def keywords(n, prefix="kw"):
    return " ".join("%s%d" % (prefix, i) for i in range(n))


def test_append_with_too_many_keywords_is_refused(server, open_to, user, inbox):
    """Defect 15: APPEND with 65 keywords stored the message with 64; now
    that a mailbox holds up to 1000, one keyword more is refused whole."""
    c = open_to(server, who=user)
    msg = b"From: a@example.org\r\nSubject: kw\r\n\r\nbody\r\n"
    r = c.command("APPEND INBOX (%s) " % keywords(1001), Lit(msg))
    assert r.status == "NO", r.raw
    assert r.code == "LIMIT", (r, r.raw)
    assert c.command("SELECT INBOX").numbered("EXISTS") == [len(inbox)]


def test_append_beyond_the_mailbox_keyword_table_is_refused(server, open_to, user, inbox):
    """995 keywords in the mailbox (of 1000), then a message with 10 new
    ones: NO, not a message stored with 5 of them."""
    c = open_to(server, who=user)
    msg = b"From: a@example.org\r\nSubject: kw\r\n\r\nbody\r\n"
    assert c.command("APPEND INBOX (%s) " % keywords(995), Lit(msg)).ok
    r = c.command("APPEND INBOX (%s) " % keywords(10, "new"), Lit(msg))
    assert r.status == "NO", r.raw
    assert c.command("SELECT INBOX").numbered("EXISTS") == [len(inbox) + 1]
    assert c.command("SELECT INBOX").ok
    r = c.command("STORE 1 +FLAGS (%s)" % keywords(10, "more"))
    assert r.status == "NO" and r.code == "LIMIT", (r, r.raw)
    # refused as a whole: none of the ten became a keyword of the mailbox
    assert c.command("CLOSE").ok
    r = c.command("SELECT INBOX")
    assert r.ok, r.raw
    names = [f for u in r.named("FLAGS") for f in u[1]]
    assert "kw994" in names and not any(f.startswith("more") for f in names), names
