# The daemon as an administrator meets it: --help and --version, a broken
# configuration reported by name to the client, autologout timers (RFC 3501
# 5.4: at least 30 minutes once logged in), the line/literal/message limits,
# the login-failure limit, and the privileges of the process after LOGIN.
import os
import re
import subprocess
import time

import pytest

from helpers import system
from helpers.imapclient import Lit, quote
from helpers.session import make_message, server_pid, wait_response


# ------------------------------------------------------------ servers



def raw_session(srv, send=b"", timeout=15):
    """Connect, optionally send bytes, read until the server closes; the
    raw bytes received."""
    import socket
    s = socket.create_connection((srv.host, srv.port), timeout=timeout)
    out = b""
    try:
        if send:
            time.sleep(0.3)
            try:
                s.sendall(send)
            except OSError:
                pass
        while True:
            try:
                chunk = s.recv(65536)
            except (ConnectionResetError, socket.timeout):
                break
            if not chunk:
                break
            out += chunk
    finally:
        s.close()
    return out


# ------------------------------------------------------------ command line

def run_daemon(imapd, *args):
    return subprocess.run([imapd] + list(args), stdin=subprocess.DEVNULL,
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          timeout=30, env={"PATH": "/usr/bin:/bin",
                                           "ASAN_OPTIONS": "detect_leaks=0"})


def test_help(imapd):
    r = run_daemon(imapd, "--help")
    assert r.returncode == 0, r
    out = r.stdout.decode()
    assert "usage" in out.lower(), out
    for opt in ("--config", "--version", "--help"):
        assert opt in out, (opt, out)
    assert r.stderr == b"", r.stderr


def test_version(imapd):
    r = run_daemon(imapd, "--version")
    assert r.returncode == 0, r
    out = r.stdout.decode()
    assert re.match(r"^imapd\S* .*\d+\.\d+", out), out
    assert out.count("\n") == 1, out


def test_unknown_option_is_an_error(imapd):
    r = run_daemon(imapd, "--no-such-option")
    assert r.returncode != 0
    assert b"usage" in r.stderr.lower(), r


# ------------------------------------------------------------ configuration

@pytest.mark.parametrize("line,key", [
    ("frobnicate = yes", "frobnicate"),
    ("max_line = lots", "max_line"),
    ("allow_plaintext = maybe", "allow_plaintext"),
    ("timeout_login = -5", "timeout_login"),
])
def test_bad_config_says_bye_naming_the_key(server_with, fresh, line, key, user, spool):
    srv = server_with(line)
    out = raw_session(srv, send=("a LOGIN %s %s\r\nb SELECT INBOX\r\n" % (
        quote(user.name), quote(user.password))).encode())
    assert out.startswith(b"* BYE "), out[:300]
    assert key.encode() in out, out
    # one response line, CRLF-terminated, no bare LF inside (RFC 3501 9:
    # text has no CR or LF), and no answer to what the client sent
    assert out.endswith(b"\r\n"), out
    assert out.count(b"\n") == 1, "BYE is not one line: %r" % out
    assert b"a OK" not in out and b"a NO" not in out and b"b " not in out, out
    assert not os.path.exists(spool.path(user))


def test_missing_explicit_config_file_says_bye(launch_daemon, imapd, fresh, workdir):
    srv = launch_daemon(argv=[imapd, "--config", os.path.join(workdir, "no-such.conf")])
    out = raw_session(srv)
    assert out.startswith(b"* BYE "), out[:300]
    assert out.endswith(b"\r\n") and out.count(b"\n") == 1, out


# ------------------------------------------------------------ autologout

def test_autologout_before_login(server_with, open_to):
    c = open_to(server_with("timeout_login = 2"))
    t0 = time.monotonic()
    resp = wait_response(c, 15)
    elapsed = time.monotonic() - t0
    assert resp is not None, "no BYE within 15 s with timeout_login = 2"
    assert resp == b"* BYE Autologout; idle for too long", resp
    assert 1.5 <= elapsed <= 8, elapsed
    with pytest.raises(EOFError):
        c.read_response()


def test_autologout_in_the_middle_of_a_literal(server_with, open_to):
    # a client that announces a literal and then stalls is still logged out
    c = open_to(server_with("timeout_login = 2"))
    c.send(b"a LOGIN {8}\r\n")
    assert c.read_response().startswith(b"+")
    resp = wait_response(c, 15)
    assert resp == b"* BYE Autologout; idle for too long", resp
    with pytest.raises(EOFError):
        c.read_response()


def test_login_timeout_does_not_apply_after_login(server_with, open_to, user):
    c = open_to(server_with("timeout_login = 2"), who=user)
    assert c.command("SELECT INBOX").ok
    time.sleep(4)
    r = c.command("NOOP")
    assert r.ok and not r.named("BYE"), r.raw


def test_default_allows_a_long_idle_after_login(server, open_to, user):
    # RFC 3501 5.4: at least 30 minutes; we can only check it is not short
    c = open_to(server, who=user)
    assert c.command("SELECT INBOX").ok
    time.sleep(5)
    r = c.command("NOOP")
    assert r.ok and not r.named("BYE"), r.raw


def test_autologout_after_login(server_with, open_to, user):
    c = open_to(server_with("timeout_idle = 3"), who=user)
    assert c.command("SELECT INBOX").ok
    t0 = time.monotonic()
    resp = wait_response(c, 20)
    elapsed = time.monotonic() - t0
    assert resp is not None, "no BYE within 20 s with timeout_idle = 3"
    assert resp == b"* BYE Autologout; idle for too long", resp
    assert 2.5 <= elapsed <= 10, elapsed
    with pytest.raises(EOFError):
        c.read_response()


# ------------------------------------------------------------ limits

LIMITS = "max_line = 1k\nmax_literal = 2k\nmax_message = 10k"


@pytest.fixture
def limited(server_with, open_to, user, spool):
    spool.write(user, [])   # the INBOX an MTA created (sessions cannot)
    return open_to(server_with(LIMITS), who=user)


def test_max_line_ends_the_session_on_a_longer_line(limited):
    # where a line's command ends is unknown once it is cut: BYE, close
    limited.send('T1 LIST "" "%s"\r\nT2 NOOP\r\n' % ("x" * 2000))
    assert limited.read_response() == b"* BYE Command line too long (the limit is 1024 bytes)"
    with pytest.raises(EOFError):
        limited.read_response()


def test_max_line_allows_shorter_lines(limited):
    r = limited.command('LIST "" "%s"' % ("x" * 900))
    assert r.ok, r


def test_max_literal_refused_before_continuation(limited):
    r = limited.command("SELECT ", Lit(b"y" * 3000))
    # command() returns the tagged reply if it came instead of "+"
    assert (r.status, r.code, r.text) == (
        "NO", "TOOBIG", "Literal too large (the limit is 2048 bytes)"), r
    assert limited.command("NOOP").ok


def test_max_literal_allows_smaller_literals(limited):
    r = limited.command("SELECT ", Lit(b"y" * 1500))
    assert r.status == "NO", r          # no such mailbox, but parsed
    assert (r.code or "").upper() != "TOOBIG", r


def message_of(size, n):
    m = make_message(n, size, tag="sized").crlf()
    # pad or trim the body to exactly size bytes
    if len(m) < size:
        m = m + b"z" * (size - len(m) - 2) + b"\r\n"
    return m[:size - 2] + b"\r\n" if len(m) > size else m


def inbox_count(srv, open_to, user):
    c = open_to(srv, who=user)
    r = c.command("STATUS INBOX (MESSAGES)")
    assert r.ok, r
    st = r.named("STATUS")[0][2]
    return int(st[st.index("MESSAGES") + 1])


def test_max_message_refuses_big_append_before_continuation(limited, server_with, open_to, user):
    big = message_of(11 * 1024, 1)
    r = limited.command("APPEND INBOX ", Lit(big))
    assert r.status == "NO", r
    assert (r.code or "").upper() == "TOOBIG", r
    assert limited.command("NOOP").ok
    assert inbox_count(server_with(LIMITS), open_to, user) == 0


def test_max_message_allows_smaller_append(limited):
    msg = message_of(9 * 1024, 2)
    assert len(msg) == 9 * 1024
    r = limited.command("APPEND INBOX ", Lit(msg))
    assert r.ok, r
    assert limited.command("SELECT INBOX").numbered("EXISTS") == [1]
    f = limited.command("FETCH 1 BODY.PEEK[]").fetches()
    assert f[1]["BODY[]"] == msg


def test_max_message_boundary(limited):
    assert limited.command("APPEND INBOX ", Lit(message_of(10240, 3))).ok
    r = limited.command("APPEND INBOX ", Lit(message_of(10241, 4)))
    assert r.status == "NO" and (r.code or "").upper() == "TOOBIG", r


def test_max_message_with_nonsync_literal(limited, server_with, open_to, user):
    # LITERAL+: the bytes are already on their way and would be read as
    # commands if the server went on: BYE [TOOBIG] and close, never the
    # message stored
    big = message_of(11 * 1024, 5)
    limited.send(b"a1 APPEND INBOX {%d+}\r\n" % len(big) + big + b"\r\n")
    assert limited.read_response() == b"* BYE [TOOBIG] Literal too large"
    with pytest.raises((EOFError, ConnectionResetError)):
        limited.read_response()
    assert inbox_count(server_with(LIMITS), open_to, user) == 0


# ------------------------------------------------------------ login failures

def wrong_logins(srv, user, limit, timeout=30):
    """On one plain socket, try wrong passwords up to limit+1 times. For each
    attempt: (response lines, closed), where the lines include whatever
    follows the tagged reply within a second (a BYE may come after it)."""
    import select
    import socket
    s = socket.create_connection((srv.host, srv.port), timeout=timeout)
    buf = b""
    tries = []
    try:
        while b"\r\n" not in buf:
            buf += s.recv(4096)
        buf = buf.split(b"\r\n", 1)[1]         # the greeting
        for i in range(limit + 1):
            tag = b"L%d" % i
            try:
                s.sendall(b"%s LOGIN %s %s\r\n" % (
                    tag, quote(user.name).encode(), quote("wrong%d" % i).encode()))
            except OSError:
                tries.append(([], True))
                break
            lines, closed, tagged, end = [], False, False, time.monotonic() + timeout
            while not closed and time.monotonic() < end:
                while b"\r\n" in buf:
                    line, buf = buf.split(b"\r\n", 1)
                    lines.append(line)
                    tagged = tagged or line.startswith(tag + b" ")
                if tagged:
                    end = min(end, time.monotonic() + 1.0)
                if not select.select([s], [], [], max(0, end - time.monotonic()))[0]:
                    break
                try:
                    chunk = s.recv(4096)
                except ConnectionResetError:
                    chunk = b""
                closed = not chunk
                buf += chunk
            while b"\r\n" in buf:
                line, buf = buf.split(b"\r\n", 1)
                lines.append(line)
            tries.append((lines, closed))
            if closed:
                break
    finally:
        s.close()
    return tries


def check_failure_limit(tries, limit):
    for i, (resp, closed) in enumerate(tries[:limit - 1]):
        assert not closed, "closed after %d failures: %r" % (i + 1, resp)
        assert resp and resp[-1].startswith(b"L%d NO" % i), resp
    assert len(tries) == limit, "still open after %d failures: %r" % (limit, tries)
    resp, closed = tries[-1]
    assert closed, tries[-1]
    assert b"* BYE Too many login failures" in resp, "closed without BYE: %r" % resp


def test_login_failures_end_the_connection(server, open_to, user):
    check_failure_limit(wrong_logins(server, user, 3), 3)     # default 3


def test_login_failure_limit_is_configurable(server_with, open_to, user):
    srv = server_with("max_login_failures = 1\nlogin_delay = 0")
    t0 = time.monotonic()
    check_failure_limit(wrong_logins(srv, user, 1), 1)
    assert time.monotonic() - t0 < 3, "login_delay = 0 not honoured"
    # and a right password still works on the next connection
    c2 = open_to(srv)
    assert c2.login(user.name, user.password).ok


# ------------------------------------------------------------ privileges

def test_process_after_login_runs_as_the_user(server, open_to, user, spool):
    c = open_to(server)
    assert c.command("NOOP").ok
    pid = server_pid(c)
    assert pid, "cannot find the daemon serving this connection"
    pre = system.proc_status(pid)
    assert "0" not in pre["Uid"], "root before login: %r" % pre["Uid"]
    parent = pre["PPid"][0]
    c.login(user.name, user.password)
    assert c.command("SELECT INBOX").ok
    # the session is the pre-login process's sibling, forked after LOGIN
    sessions = [pid for pid, st in system.daemon_processes(
                os.readlink("/proc/%s/exe" % parent))
                if st["PPid"] == [parent] and st["Uid"][0] == str(user.uid)]
    assert len(sessions) == 1, sessions
    st = system.proc_status(sessions[0])
    assert st["Uid"] == [str(user.uid)] * 4, st["Uid"]
    assert st["Gid"] == [str(user.gid)] * 4, st["Gid"]
    assert "0" not in st["Uid"] and "0" not in st["Gid"], st
    assert str(spool.mail_gid) not in st["Groups"], st["Groups"]
    assert "0" not in st["Groups"], "still in group root: %r" % st["Groups"]
    for cap in ("CapEff", "CapPrm", "CapAmb"):
        assert st[cap] == ["0000000000000000"], (cap, st[cap])
