# The benchmark as users meet the servers: over TCP on loopback, logging in
# with a password that both check through PAM (our imapd under
# systemd-socket-activate, as inetd runs it; a private Dovecot master with
# passdb pam), so login costs the same password hashing on both sides.
import os
import pwd
import re
import signal
import socket
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "helpers"))
import launch  # noqa: E402

PASSWORD = "bench-Pw-1"
PAM_SERVICE = "imap"
DOVECOT_MASTER = "/usr/sbin/dovecot"


def set_password(account):
    subprocess.run(["chpasswd"], input=("%s:%s\n" % (account.name, PASSWORD)).encode(),
                   check=True)


def ensure_pam():
    """/etc/pam.d/imap as `make demo` installs it, if absent; True if made."""
    path = "/etc/pam.d/" + PAM_SERVICE
    if os.path.exists(path):
        return False
    with open(path, "w") as f:
        f.write("# written by tests/bench/tcp.py for the benchmark\n"
                "@include common-auth\n@include common-account\n")
    os.chmod(path, 0o644)
    return True


class Ours:
    """imapd under systemd-socket-activate, one process per connection."""

    def __init__(self, server):
        self.server = server
        self.launcher = None

    def start(self):
        with open(self.server.conf, "a") as f:
            f.write("allow_plaintext = yes\npam_service = %s\n" % PAM_SERVICE)
        self.launcher = launch.SocketActivate(
            [self.server.binary, "--config", self.server.conf],
            self.server.extra_env, self.server.root).start()
        return self.launcher.port

    def stop(self):
        if self.launcher:
            self.launcher.stop()

    def exe(self):
        return os.path.realpath(self.server.binary)


class Dovecot:
    """A private Dovecot master: its own base_dir, loopback listener,
    passdb pam (the same PAM service), the user's INBOX at the same spool
    path as ours."""

    def __init__(self, server):
        self.server = server
        self.proc = None
        self.port = launch.free_port()

    def start(self):
        s = self.server
        run = os.path.join(s.root, "run")
        os.makedirs(run, exist_ok=True)
        conf = os.path.join(s.root, "dovecot-tcp.conf")
        with open(conf, "w") as f:
            f.write("protocols = imap\nssl = no\nlisten = 127.0.0.1\n"
                    "base_dir = %s\nstate_dir = %s\n"
                    "log_path = %s\ninstance_name = imapd-bench-%d\n"
                    "disable_plaintext_auth = no\nauth_mechanisms = plain login\n"
                    "passdb {\n  driver = pam\n  args = %s\n}\n"
                    "userdb {\n  driver = passwd\n}\n"
                    "mail_location = mbox:~/mail:INBOX=%s/%%u\n"
                    "service imap-login {\n  inet_listener imap {\n"
                    "    address = 127.0.0.1\n    port = %d\n  }\n"
                    "  inet_listener imaps {\n    port = 0\n  }\n}\n"
                    "service anvil {\n  chroot =\n}\n"
                    % (run, run, s.log, self.port, PAM_SERVICE, s.spool, self.port))
        self.proc = subprocess.Popen([DOVECOT_MASTER, "-F", "-c", conf],
                                     stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                     stderr=open(s.log, "ab"), start_new_session=True)
        end = time.monotonic() + 20
        while not launch.listening(self.port):
            if self.proc.poll() is not None or time.monotonic() > end:
                self.stop()
                raise OSError("dovecot did not start: %s" % s.log_tail(800))
            time.sleep(0.05)
        return self.port

    def stop(self):
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()

    def exe(self):
        return os.path.realpath(self.server.binary)


def session_pid(uid, exe):
    """The process serving the logged-in user: running as uid, from exe."""
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            st = os.stat("/proc/" + pid)
            if st.st_uid == uid and os.readlink("/proc/%s/exe" % pid) == exe:
                return int(pid)
        except OSError:
            pass
    return None


class TcpSession:
    """LOGIN over a TCP connection; same command() as bench.Session."""

    def __init__(self, port, account, failed):
        self.failed = failed
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=900)
        self.r = self.sock.makefile("rb", buffering=1 << 20)
        self.ntag = 0
        greeting = self.r.readline()
        if not greeting.startswith(b"* OK"):
            raise failed("greeting was %r" % greeting[:200])

    def command(self, text, keep=()):
        self.ntag += 1
        tag = b"T%04d" % self.ntag
        t0 = time.perf_counter()
        self.sock.sendall(tag + b" " + text.encode() + b"\r\n")
        untagged, kept = 0, []
        while True:
            line = self.r.readline()
            if not line:
                raise self.failed("connection closed during %s" % text.split()[0])
            m = re.search(rb"\{(\d+)\}\r\n$", line)
            while m:
                self.r.read(int(m.group(1)))
                line = self.r.readline()
                m = re.search(rb"\{(\d+)\}\r\n$", line)
            if line.startswith(b"* "):
                untagged += 1
                if keep and line[2:].lstrip(b"0123456789 ").startswith(
                        tuple(k.encode() for k in keep)):
                    kept.append(line.rstrip(b"\r\n"))
            elif line.startswith(tag + b" "):
                if line.split(b" ", 2)[1].upper() != b"OK":
                    raise self.failed(line.decode("latin-1").strip())
                return (time.perf_counter() - t0) * 1000, untagged, kept

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass


def login_ms(port, account, failed):
    """connect + greeting + LOGIN + LOGOUT, wall clock."""
    t0 = time.perf_counter()
    s = TcpSession(port, account, failed)
    s.command("LOGIN %s %s" % (account.name, PASSWORD))
    s.command("LOGOUT")
    s.close()
    return (time.perf_counter() - t0) * 1000


def cpu_ms(pid):
    """CPU time the process has used (user and system), in ms, or None."""
    try:
        with open("/proc/%d/schedstat" % pid) as f:
            return int(f.read().split()[0]) / 1e6
    except (OSError, TypeError, ValueError, IndexError):
        return None


def tcp_round(server, mbox_path, failed):
    """A fresh copy, then over TCP with a PAM login: SELECT (first open),
    FETCH 1:* (FLAGS ENVELOPE INTERNALDATE RFC822.SIZE), SEARCH TEXT, the
    session's VmHWM; then the login cost alone. -> ({op: ms}, facts).
    Beside each command's wall time, the serving process's CPU time for it
    (facts OP_cpu): the Python client's reading is in the wall time, not in
    that."""
    import corpus
    import servers
    server.reset(mbox_path)
    side = (Ours if server.kind == "ours" else Dovecot)(server)
    port = side.start()
    t, facts = {}, {}
    try:
        s = TcpSession(port, server.account, failed)
        s.command("LOGIN %s %s" % (server.account.name, PASSWORD))
        pid = session_pid(server.account.uid, side.exe())
        for key, command in (("tcp_select", "SELECT INBOX"),
                             ("tcp_fetch", "FETCH 1:* (FLAGS ENVELOPE INTERNALDATE RFC822.SIZE)"),
                             ("tcp_search", 'SEARCH TEXT "%s"' % corpus.RARE_WORD)):
            c0 = cpu_ms(pid)
            t[key] = s.command(command)[0]
            c1 = cpu_ms(pid)
            facts[key + "_cpu"] = c1 - c0 if c0 is not None and c1 is not None else None
        facts["tcp_rss_kb"] = servers.peak_rss_kb(pid) if pid else None
        s.command("LOGOUT")
        s.close()
        t["tcp_login"] = min(login_ms(port, server.account, failed) for _ in range(5))
    finally:
        side.stop()
    return t, facts


def available(kind):
    """Can this side run over TCP here (root, its programs)?"""
    if os.geteuid() != 0:
        return False
    if kind == "dovecot":
        return os.access(DOVECOT_MASTER, os.X_OK) and _has_user("dovenull")
    return True


def _has_user(name):
    try:
        pwd.getpwnam(name)
        return True
    except KeyError:
        return False
