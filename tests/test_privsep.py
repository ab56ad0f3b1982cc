# Privilege separation: before login no process that holds the client's
# connection runs as root or holds a capability (plaintext, implicit TLS,
# STARTTLS, after a failed login; imapd, ipop3d, ipop2d), the session after
# login runs as the user, and a crash of the pre-login process (a test build
# hook, -DPRIVSEP_TEST_HOOKS, in the asan build) leaves the privileged parent
# alive to log it and exit, with no zombie left.
import os
import re
import socket
import ssl
import tempfile
import time

import pytest

from helpers import system
from helpers import tls as T
from helpers.imapclient import RawIMAP, quote
from helpers.session import _is_launcher, _socket_inodes_for_peer
from helpers.syslogsink import collect

CAP_FIELDS = ("CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb")


# ------------------------------------------------------------ fixtures

@pytest.fixture(scope="module")
def ps_ssl_dir(workdir):
    d = T.make_ssl_dir(os.path.join(workdir, "ssl-privsep"))
    for svc in ("imapd", "ipop3d"):
        T.make_pem(os.path.join(d, "certs", "%s.pem" % svc), "default.test")
        T.make_pem(os.path.join(d, "certs", "%s-sni.example.pem" % svc), "sni.example")
    return d


@pytest.fixture(scope="module")
def ps_config(workdir, spool, pam_service, ps_ssl_dir):
    """Passwords allowed in the clear (so a failed LOGIN needs no TLS)."""
    fd, path = tempfile.mkstemp(prefix="privsep-", suffix=".conf", dir=workdir)
    with os.fdopen(fd, "w") as f:
        f.write("spool_dir = %s\npam_service = %s\nssl_dir = %s\nallow_plaintext = yes\n"
                "login_delay = 0\n" % (spool.dir, pam_service, ps_ssl_dir))
    os.chmod(path, 0o644)
    return path


@pytest.fixture(scope="module")
def servers(launch_daemon, imapd, ipop3d, ipop2d, ps_config, pop_pam):
    """Each daemon on its own port, started as root by the launcher."""
    made = {}

    def get(name):
        if name not in made:
            argv = {"imap": [imapd, "--config", ps_config],
                    "imaps": [imapd, "--tls", "--config", ps_config],
                    "pop3": [ipop3d, "--config", ps_config],
                    "pop3s": [ipop3d, "--tls", "--config", ps_config],
                    "pop2": [ipop2d, "--config", ps_config]}[name]
            made[name] = launch_daemon(argv=argv)
        return made[name]
    return get


# ------------------------------------------------------------ /proc

def holders(sock, settle=3.0):
    """{pid: status} of every process (launcher aside) holding the server
    end of the TCP connection sock; waits for the launcher to let go."""
    raw = sock
    me, peer = raw.getsockname()[1], raw.getpeername()[1]
    want = {"socket:[%s]" % i for i in _socket_inodes_for_peer(peer, me)}
    assert want, "cannot find the server side of the connection"
    end = time.monotonic() + settle
    while True:
        found, launcher = {}, False
        for pid in os.listdir("/proc"):
            if not pid.isdigit():
                continue
            try:
                fds = os.listdir("/proc/%s/fd" % pid)
                links = {os.readlink("/proc/%s/fd/%s" % (pid, fd)) for fd in fds}
            except OSError:
                continue
            if links & want:
                if _is_launcher(int(pid)):
                    launcher = True
                else:
                    found[int(pid)] = system.proc_status(pid)
        if found and (not launcher or time.monotonic() > end):
            return found
        assert time.monotonic() < end, "no daemon holds the connection"
        time.sleep(0.05)


def assert_unprivileged(procs):
    """What a root compromise needs is absent from every holder."""
    for pid, st in procs.items():
        what = "pid %d (%s)" % (pid, st["Name"][0])
        assert "0" not in st["Uid"], (what, "Uid", st["Uid"])
        assert "0" not in st["Gid"], (what, "Gid", st["Gid"])
        assert "0" not in st.get("Groups", []), (what, "Groups", st.get("Groups"))
        for cap in CAP_FIELDS:
            assert int(st[cap][0], 16) == 0, (what, cap, st[cap])
        assert st["NoNewPrivs"] == ["1"], (what, "NoNewPrivs", st["NoNewPrivs"])


def children(pid):
    """Pids whose parent is pid."""
    out = []
    for p in os.listdir("/proc"):
        if p.isdigit():
            try:
                if system.proc_status(p)["PPid"] == [str(pid)]:
                    out.append(int(p))
            except OSError:
                continue
    return out


def wait_gone(pid, timeout=10):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        try:
            st = system.proc_status(pid)
        except OSError:
            return True
        if st["State"][0] == "Z":
            time.sleep(0.05)    # a zombie until its parent reaps it
            continue
        time.sleep(0.05)
    return False


def recv_line(s):
    out = b""
    while not out.endswith(b"\n"):
        ch = s.recv(1)
        if not ch:
            break
        out += ch
    return out


# ------------------------------------------------------------ IMAP

def test_plaintext_before_login_holds_no_root(servers, fresh):
    c = RawIMAP(servers("imap").host, servers("imap").port)
    try:
        assert c.command("CAPABILITY").ok
        procs = holders(c.sock)
        assert_unprivileged(procs)
        assert len(procs) == 1, procs   # the root parent holds nothing of it
        (pid,) = procs
        # confined to an empty directory: no spool, no homes, no key files
        assert os.readlink("/proc/%d/root" % pid) == "/run/uwimap"
        assert os.listdir("/run/uwimap") == []
        # and cannot start a process (no helper to exploit, no fork bomb)
        with open("/proc/%d/limits" % pid) as f:
            nproc = [l.split() for l in f if l.startswith("Max processes")][0]
        assert nproc[2:4] == ["0", "0"], nproc
    finally:
        c.close()


def test_after_a_failed_login_holds_no_root(servers, fresh, user):
    c = RawIMAP(servers("imap").host, servers("imap").port)
    try:
        r = c.command("LOGIN %s %s" % (quote(user.name), quote("wrong-password")))
        assert r.status == "NO", r
        assert_unprivileged(holders(c.sock))
        # and the right password still works on the same connection
        assert c.command("LOGIN %s %s" % (quote(user.name), quote(user.password))).ok
        assert c.command("SELECT INBOX").ok
    finally:
        c.close()


def test_implicit_tls_before_login_holds_no_root(servers, fresh, user):
    srv = servers("imaps")
    c = T.TLSIMAP(srv.host, srv.port)
    try:
        assert c.command("CAPABILITY").ok
        assert_unprivileged(holders(c.sock))
        assert c.command("LOGIN %s %s" % (quote(user.name), quote(user.password))).ok
        assert c.command("SELECT INBOX").ok
    finally:
        c.close()


def test_starttls_then_login(servers, fresh, user):
    srv = servers("imap")
    c = T.TLSIMAP(srv.host, srv.port, implicit=False)
    try:
        assert c.starttls().ok
        assert_unprivileged(holders(c.sock))
        r = c.command("LOGIN %s %s" % (quote(user.name), quote(user.password)))
        assert r.ok and "STARTTLS" not in r.text.upper(), r
        assert c.command("SELECT INBOX").ok
    finally:
        c.close()


def test_sni_certificate_is_served_from_the_preloaded_set(servers, fresh):
    """The SNI file is read by the root parent before the drop: the
    unprivileged process still presents it."""
    srv = servers("imaps")
    c = T.TLSIMAP(srv.host, srv.port, server_hostname="sni.example")
    try:
        der = c.sock.getpeercert(binary_form=True)
        from cryptography import x509
        cn = x509.load_der_x509_certificate(der).subject.rfc4514_string()
        assert "sni.example" in cn, cn
    finally:
        c.close()


def test_session_after_login_runs_as_the_user(servers, fresh, user):
    c = RawIMAP(servers("imap").host, servers("imap").port)
    try:
        (pre_pid,) = holders(c.sock)
        parent = int(system.proc_status(pre_pid)["PPid"][0])
        assert c.command("LOGIN %s %s" % (quote(user.name), quote(user.password))).ok
        assert c.command("SELECT INBOX").ok
        assert_unprivileged(holders(c.sock))
        sessions = [p for p in children(parent) if p != pre_pid]
        assert len(sessions) == 1, sessions
        st = system.proc_status(sessions[0])
        assert st["Uid"] == [str(user.uid)] * 4, st["Uid"]
        assert st["Gid"] == [str(user.gid)] * 4, st["Gid"]
        assert "0" not in st["Groups"], st["Groups"]
        for cap in ("CapEff", "CapPrm", "CapAmb"):
            assert int(st[cap][0], 16) == 0, (cap, st[cap])
    finally:
        c.close()


def test_pipelined_commands_after_login_reach_the_session(servers, fresh, user):
    """Bytes the pre-login process read past LOGIN go to the session."""
    srv = servers("imap")
    s = socket.create_connection((srv.host, srv.port), timeout=20)
    try:
        recv_line(s)
        s.sendall(b"a LOGIN %s %s\r\nb SELECT INBOX\r\nc LOGOUT\r\n"
                  % (quote(user.name).encode(), quote(user.password).encode()))
        out = b""
        while b"\r\nc OK" not in out:
            chunk = s.recv(65536)
            if not chunk:
                break
            out += chunk
        assert re.search(rb"(?m)^a OK ", out), out
        assert re.search(rb"(?m)^b OK ", out), out
        assert re.search(rb"(?m)^c OK ", out), out
    finally:
        s.close()


def test_pam_runs_in_a_short_lived_worker(servers, fresh, user, syslog):
    """PAM (and the password hash's memory) lives in a process of its own
    that is gone after the check: neither the pre-login process, nor the
    root parent, nor a later session ever held it."""
    c = RawIMAP(servers("imap").host, servers("imap").port)
    try:
        (pre_pid,) = holders(c.sock)
        parent = int(system.proc_status(pre_pid)["PPid"][0])
        r = c.command("LOGIN %s %s" % (quote(user.name), quote("wrong-password")))
        assert r.status == "NO", r
        lines = collect(syslog, r"pam_unix\(imap:auth\): authentication failure.*user=%s"
                        % re.escape(user.name))
        pam = [l for l in lines if "pam_unix(imap:auth)" in l and user.name in l][-1]
        pid = int(re.search(r"imapd\[(\d+)\]", pam).group(1))
        assert pid not in (pre_pid, parent), (pid, pre_pid, parent, pam)
        assert wait_gone(pid), "the PAM worker %d is still there" % pid
        failed = [l for l in collect(syslog, r"Login failed user=%s " % re.escape(user.name))
                  if "Login failed user=%s " % user.name in l][-1]   # may follow PAM's line
        assert "imapd[%d]" % parent in failed, failed   # counted and logged by P
    finally:
        c.close()


def test_overlong_password_is_refused_not_cut(servers, fresh, user, syslog):
    """The login message has fixed limits: a longer password is a failed
    login (logged, counted), never a shorter one that might match."""
    c = RawIMAP(servers("imap").host, servers("imap").port)
    try:
        long_pw = user.password + "x" * 600
        r = c.command("LOGIN %s %s" % (quote(user.name), quote(long_pw)))
        assert r.status == "NO", r
        collect(syslog, r"Authentication rejected user=%s: name or password longer than "
                r"the limit" % re.escape(user.name))
        assert c.command("LOGIN %s %s" % (quote(user.name), quote(user.password))).ok
    finally:
        c.close()


# ------------------------------------------------------------ POP

def test_pop3_before_login_holds_no_root(servers, fresh, user):
    srv = servers("pop3")
    s = socket.create_connection((srv.host, srv.port), timeout=20)
    try:
        assert recv_line(s).startswith(b"+OK")
        s.sendall(b"USER %s\r\n" % user.name.encode())
        assert recv_line(s).startswith(b"+OK")
        assert_unprivileged(holders(s))
        s.sendall(b"PASS %s\r\n" % user.password.encode())
        assert recv_line(s).startswith(b"+OK"), "login failed"
        assert_unprivileged(holders(s))
        s.sendall(b"STAT\r\n")
        assert recv_line(s).startswith(b"+OK 0 0")
    finally:
        s.close()


def test_pop3s_before_login_holds_no_root(servers, fresh, user):
    srv = servers("pop3s")
    raw = socket.create_connection((srv.host, srv.port), timeout=20)
    s = T.client_context().wrap_socket(raw)
    try:
        assert recv_line(s).startswith(b"+OK")
        assert_unprivileged(holders(s))
        s.sendall(b"AUTH PLAIN\r\n")
        assert recv_line(s).startswith(b"+")
        import base64
        s.sendall(base64.b64encode(b"\0%s\0%s" % (user.name.encode(),
                                                   user.password.encode())) + b"\r\n")
        assert recv_line(s).startswith(b"+OK"), "AUTH PLAIN failed"
    finally:
        s.close()


def test_pop2_before_login_holds_no_root(servers, fresh, user):
    srv = servers("pop2")
    s = socket.create_connection((srv.host, srv.port), timeout=20)
    try:
        assert recv_line(s).startswith(b"+")
        assert_unprivileged(holders(s))
        s.sendall(b"HELO %s %s\r\n" % (user.name.encode(), user.password.encode()))
        assert recv_line(s).startswith(b"#0"), "HELO failed"
    finally:
        s.close()


# ------------------------------------------------------------ failures

def send_hook(srv, word):
    """Send the test-hook command word to a fresh connection's pre-login
    process; it must end the connection. -> (pre-login pid, parent pid)."""
    c = RawIMAP(srv.host, srv.port)
    try:
        (pre_pid,) = holders(c.sock)
        parent = int(system.proc_status(pre_pid)["PPid"][0])
        c.send(b"x1 " + word + b"\r\n")
        try:
            line = c.f.readline()
        except OSError:
            line = b""
        if line.startswith(b"x1 BAD"):
            pytest.skip("built without -DPRIVSEP_TEST_HOOKS (make asan has them)")
        assert line == b"", "the connection stayed open: %r" % line
    finally:
        c.close()
    return pre_pid, parent


def test_pre_login_crash_is_survived_and_logged(servers, fresh, syslog):
    pre_pid, parent = send_hook(servers("imap"), b"XCRASH")
    lines = collect(syslog, r"pre-login process %d killed by signal \d+ host=127\.0\.0\.1"
                    % pre_pid)
    assert any("imapd[%d]" % parent in l for l in lines
               if "killed by signal" in l), lines
    # the parent reaped the crashed child, then ended itself: nothing left
    assert wait_gone(pre_pid), "the crashed pre-login process is still there"
    assert wait_gone(parent), "the privileged parent did not exit"


def test_malformed_request_ends_the_connection(servers, fresh, syslog):
    """What a compromised pre-login process might send the root parent: it
    logs, kills the sender and exits, and does nothing else."""
    pre_pid, parent = send_hook(servers("imap"), b"XBADCTL")
    collect(syslog, r"imapd\[%d\]: pre-login process %d: malformed login request "
            r"host=127\.0\.0\.1" % (parent, pre_pid))
    assert wait_gone(pre_pid), "the pre-login process is still there"
    assert wait_gone(parent), "the privileged parent did not exit"


def test_stop_request_to_the_parent_ends_the_connection(servers, imapd, fresh, user):
    """systemd or inetd stopping the daemon signals the root parent: the
    children go with it rather than live on unsupervised."""
    c = RawIMAP(servers("imap").host, servers("imap").port)
    try:
        (pre_pid,) = holders(c.sock)
        parent = int(system.proc_status(pre_pid)["PPid"][0])
        assert os.readlink("/proc/%d/exe" % parent) == os.path.realpath(imapd)
        assert c.command("LOGIN %s %s" % (quote(user.name), quote(user.password))).ok
        sessions = [p for p in children(parent) if p != pre_pid]
        assert len(sessions) == 1, sessions
        os.kill(parent, 15)
        try:
            line = c.f.readline()
        except OSError:
            line = b""
        assert line == b"", line
        for pid in [pre_pid, sessions[0], parent]:
            assert wait_gone(pid), "pid %d still there" % pid
    finally:
        c.close()


def test_missing_prelogin_user_refuses_with_the_fix(launch_daemon, imapd, workdir, spool,
                                                   pam_service, fresh, syslog):
    fd, path = tempfile.mkstemp(prefix="privsep-nouser-", suffix=".conf", dir=workdir)
    with os.fdopen(fd, "w") as f:
        f.write("spool_dir = %s\npam_service = %s\nallow_plaintext = yes\n"
                "prelogin_user = nosuchuser-imt\n" % (spool.dir, pam_service))
    os.chmod(path, 0o644)
    srv = launch_daemon(argv=[imapd, "--config", path])
    s = socket.create_connection((srv.host, srv.port), timeout=20)
    try:
        assert recv_line(s).startswith(b"* BYE Server configuration problem")
        assert recv_line(s) == b""
    finally:
        s.close()
    lines = collect(syslog, r"pre-login user nosuchuser-imt does not exist")
    line = [l for l in lines if "nosuchuser-imt" in l][-1]
    assert "useradd --system --no-create-home --shell /usr/sbin/nologin" in line, line
