# Deployment as administrators do it: the launcher files we ship (xinetd.d,
# inetd.conf, systemd .socket + @.service), with the paths `make install`
# fills in, run for real under xinetd, openbsd-inetd and
# systemd-socket-activate on a loopback port, with a throwaway user logging
# in over IMAP and POP3; and the README's quick start (`make demo`) from a
# clean state, reached with curl over imaps and pop3s.
import imaplib
import os
import poplib
import pwd
import re
import shutil
import signal
import socket
import ssl
import subprocess
import tempfile
import time

import pytest

from helpers import deploy, launch

HOST = "127.0.0.1"
SERVICES = ["imap", "imaps", "pop3", "pop3s"]


# ---------------------------------------------------------------- fixtures

@pytest.fixture(scope="session")
def deploy_dir(workdir):
    d = os.path.join(workdir, "deploy")
    os.makedirs(d, exist_ok=True)
    return d


@pytest.fixture(scope="session")
def deploy_sbin(deploy_dir, imapd, ipop3d):
    return deploy.sbin_dir(deploy_dir, imapd, ipop3d)


@pytest.fixture(scope="session")
def deploy_ssl(deploy_dir):
    """A certificate made the way the README says (src/mkcert.sh)."""
    d = os.path.join(deploy_dir, "ssl")
    r = deploy.run(["sh", os.path.join(deploy.REPO, "src", "mkcert.sh"), d,
                    "imapd", "ipop3d"])
    assert r.returncode == 0, r.stdout
    return d


@pytest.fixture(scope="session")
def deploy_config(deploy_dir, spool, deploy_ssl, pam_service, pop_pam):
    """No pam_service line: each daemon uses its default PAM service
    (imap, pop), as a shipped setup does."""
    p = os.path.join(deploy_dir, "imapd.conf")
    with open(p, "w") as f:
        f.write("spool_dir = %s\nssl_dir = %s\nallow_plaintext = yes\n"
                % (spool.dir, deploy_ssl))
    os.chmod(p, 0o644)
    return p


@pytest.fixture(scope="session")
def started(san_dir):
    """Launchers this module starts; stopped at the end."""
    out = []
    yield out
    for lnch in out:
        lnch.stop()


def subdir(parent, prefix):
    return tempfile.mkdtemp(prefix=prefix + "-", dir=parent)


def insecure():
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    return ctx


def login_and_read(service, port, user, sample):
    """Log in through the launcher as the user and read message 1."""
    first = sample[0].crlf()
    if service.startswith("imap"):
        if service == "imaps":
            m = imaplib.IMAP4_SSL(HOST, port, ssl_context=insecure(), timeout=20)
        else:
            m = imaplib.IMAP4(HOST, port, timeout=20)
        try:
            assert m.login(user.name, user.password)[0] == "OK"
            typ, data = m.select("INBOX")
            assert typ == "OK" and int(data[0]) == len(sample), data
            typ, data = m.fetch("1", "(BODY.PEEK[])")
            assert typ == "OK" and data[0][1] == first
        finally:
            m.logout()
    else:
        if service == "pop3s":
            p = poplib.POP3_SSL(HOST, port, context=insecure(), timeout=20)
        else:
            p = poplib.POP3(HOST, port, timeout=20)
        try:
            p.user(user.name)
            p.pass_(user.password)
            assert p.stat()[0] == len(sample)
            _, lines, _ = p.retr(1)
            assert b"\r\n".join(lines) + b"\r\n" == first
        finally:
            p.quit()


def check_tls(service, port):
    """The TLS services speak TLS from the first byte."""
    if not service.endswith("s"):
        return
    with socket.create_connection((HOST, port), timeout=20) as s:
        with insecure().wrap_socket(s) as t:
            assert t.version() == "TLSv1.3"     # both ends offer it
            assert t.recv(100)[:4] in (b"* OK", b"+OK ")


# ---------------------------------------------------------------- xinetd

@pytest.mark.parametrize("service", SERVICES)
def test_shipped_xinetd_file(service, deploy_sbin, deploy_config, san_env,
                             deploy_dir, started, inbox, user):
    text = deploy.shipped("xinetd.d/" + service, deploy_sbin)
    name, attrs = deploy.xinetd_service(text)
    assert name == service
    daemon = "ipop3d" if service.startswith("pop") else "imapd"
    assert attrs["server"] == os.path.join(deploy_sbin, daemon)
    assert ("--tls" in attrs.get("server_args", "")) == service.endswith("s")
    lnch = deploy.ShippedXinetd(text, deploy_config, san_env,
                                subdir(deploy_dir, "xinetd-" + service))
    started.append(lnch)
    lnch.start()
    check_tls(service, lnch.port)
    login_and_read(service, lnch.port, user, inbox)
    lnch.stop()


# ---------------------------------------------------------------- openbsd-inetd

# Debian's openbsd-inetd and xinetd conflict (both provide inet-superserver),
# and the other tests need xinetd installed. So CI unpacks openbsd-inetd
# beside it without installing it:
#   apt-get download openbsd-inetd && dpkg-deb -x openbsd-inetd_*.deb /opt/openbsd-inetd
# INETD overrides where the binary is looked for.
INETD_PLACES = ["/usr/sbin/inetd", "/opt/openbsd-inetd/usr/sbin/inetd"]


@pytest.fixture(scope="session")
def inetd_bin():
    for p in ([os.environ["INETD"]] if os.environ.get("INETD") else INETD_PLACES):
        if os.access(p, os.X_OK):
            return p
    pytest.fail("openbsd-inetd not found in %s: apt-get download openbsd-inetd && "
                "dpkg-deb -x openbsd-inetd_*.deb /opt/openbsd-inetd (or set INETD)"
                % " or ".join(INETD_PLACES))


@pytest.mark.parametrize("service", SERVICES)
def test_shipped_inetd_line(service, inetd_bin, deploy_sbin, deploy_config,
                            san_env, deploy_dir, started, inbox, user):
    lines = deploy.inetd_lines(deploy.shipped("inetd.conf", deploy_sbin))
    assert sorted(lines) == sorted(SERVICES)
    fields = lines[service]
    daemon = "ipop3d" if service.startswith("pop") else "imapd"
    assert fields[5] == os.path.join(deploy_sbin, daemon) and fields[6] == daemon
    lnch = deploy.ShippedInetd(inetd_bin, fields, deploy_config, san_env,
                               subdir(deploy_dir, "inetd-" + service))
    started.append(lnch)
    lnch.start()
    check_tls(service, lnch.port)
    login_and_read(service, lnch.port, user, inbox)
    lnch.stop()


# ---------------------------------------------------------------- TCP wrappers

# The rules name the daemons at the address the test listens on only
# (daemon@127.0.0.1), so other TCP-wrapped services, and these daemons on
# any other address, are left alone: loopback is let in, anyone else at
# that address is refused. A client from 127.0.0.2 is "anyone else".
WRAPPED = {"imaps": (993, "imapd"), "pop3s": (995, "ipop3d")}
ALLOW = ["imapd@127.0.0.1 ipop3d@127.0.0.1 : 127.0.0.1"]
DENY = ["imapd@127.0.0.1 ipop3d@127.0.0.1 : ALL"]


@pytest.fixture
def hosts_rules():
    with deploy.HostsRules(ALLOW, DENY) as rules:
        yield rules


@pytest.mark.parametrize("service", sorted(WRAPPED))
def test_tcp_wrappers_inetd_line_on_the_public_port(
        service, public_ports, hosts_rules, inetd_bin, deploy_sbin, deploy_config,
        san_env, deploy_dir, started, inbox, user):
    """The shipped inetd.conf's tcpd line (imaps/pop3s stream tcp nowait
    root /usr/sbin/tcpd /path/daemon), on 993/995 itself (no --tls: the
    daemon that tcpd execs finds TLS from the local port's name): loopback
    logs in over TLS; a client the rules deny gets the connection closed
    and not one byte, no greeting."""
    port, daemon = WRAPPED[service]
    public_ports(port)
    lines = deploy.inetd_tcpd_lines(deploy.shipped("inetd.conf", deploy_sbin))
    assert sorted(lines) == sorted(WRAPPED)
    fields = lines[service]
    assert fields[6] == os.path.join(deploy_sbin, daemon), fields
    lnch = deploy.ShippedInetd(inetd_bin, fields, deploy_config, san_env,
                               subdir(deploy_dir, "tcpd-" + service), port=port)
    started.append(lnch)
    lnch.start()
    try:
        check_tls(service, port)
        login_and_read(service, port, user, inbox)
        # tcpd looks the refused client's name up for its log line: up to
        # the resolver's timeout where 127.0.0.2 is not in /etc/hosts
        with socket.socket() as s:
            s.settimeout(30)
            s.bind(("127.0.0.2", 0))
            s.connect((HOST, port))
            # an allowed client's daemon would wait for our ClientHello
            # (no EOF): only the refusal closes at once
            assert s.recv(4096) == b"", "a denied client was answered"
        with pytest.raises((ssl.SSLEOFError, ssl.SSLZeroReturnError, ConnectionResetError)):
            with socket.create_connection((HOST, port), timeout=30,
                                          source_address=("127.0.0.2", 0)) as s:
                insecure().wrap_socket(s).recv(100)
    finally:
        lnch.stop()     # 993/995 are free again when the lock is released


# ---------------------------------------------------------------- systemd

@pytest.mark.parametrize("service", SERVICES)
def test_shipped_systemd_units(service, deploy_sbin, deploy_config, san_env,
                               deploy_dir, started, inbox, user):
    sock = deploy.shipped("systemd/%s.socket" % service, deploy_sbin)
    unit = deploy.shipped("systemd/%s@.service" % service, deploy_sbin)
    public = {"imap": "143", "imaps": "993", "pop3": "110", "pop3s": "995"}
    assert deploy.unit_values(sock, "ListenStream") == [public[service]]
    lnch = deploy.ShippedSocketActivate(sock, unit, deploy_config, san_env,
                                        subdir(deploy_dir, "systemd-" + service))
    started.append(lnch)
    lnch.start()
    check_tls(service, lnch.port)
    login_and_read(service, lnch.port, user, inbox)
    lnch.stop()


# ---------------------------------------------------------------- make demo

DEMO_CONF_MARK = "# demo configuration"


def demo_user_is_ours():
    """The demo user as src/demo.sh makes it (home /home/demo, no shell)."""
    try:
        pw = pwd.getpwnam("demo")
    except KeyError:
        return None
    return pw.pw_dir == "/home/demo" and pw.pw_shell == "/usr/sbin/nologin"


def demo_spool_is_ours(path="/var/mail/demo"):
    try:
        with open(path, "rb") as f:
            data = f.read(1 << 20)
    except FileNotFoundError:
        return None
    return b"<demo1@example.org>" in data


def demo_build_is_ours(d):
    if not os.path.exists(d):
        return None
    try:
        with open(os.path.join(d, "imapd.conf")) as f:
            return f.read().startswith(DEMO_CONF_MARK)
    except FileNotFoundError:
        return set(os.listdir(d)) <= {"ssl"}


def demo_clean(build_dir):
    """Remove what an earlier demo left, refusing to touch look-alikes."""
    u, s, b = demo_user_is_ours(), demo_spool_is_ours(), demo_build_is_ours(build_dir)
    if u is False or s is False or b is False:
        pytest.skip("a 'demo' user, /var/mail/demo or build/demo exists that "
                    "src/demo.sh did not make; not touching it")
    if u:
        subprocess.run(["userdel", "-r", "-f", "demo"], stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL)
    for p in ("/var/mail/demo", "/var/mail/demo.lock"):
        if os.path.exists(p):
            os.unlink(p)
    shutil.rmtree(build_dir, ignore_errors=True)


def demo_ports(banner):
    m = {}
    for key, pat in (("imap", r"IMAP is being served on 127\.0\.0\.1:(\d+)"),
                     ("imaps", r"and on\s+127\.0\.0\.1:(\d+) \(imaps"),
                     ("pop3", r"POP3 on 127\.0\.0\.1:(\d+)"),
                     ("pop3s", r"and 127\.0\.0\.1:(\d+) \(pop3s\)")):
        found = re.search(pat, banner)
        assert found, "no %s port in the banner:\n%s" % (key, banner)
        m[key] = int(found.group(1))
    return m


def curl(url, *args):
    return subprocess.run(["curl", "-sS", "--max-time", "30", "--insecure",
                           "--user", "demo:demo"] + list(args) + [url],
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=60)


def test_make_demo_from_clean_state(imapd, tmp_path):
    """The quick start: `make demo` in a clean state (no demo user, no
    mailbox, no certificate), then curl over imaps and pop3s, then Ctrl-C.
    The demo picks 143/993/110/995, or 10143/... when those are taken;
    the other tests use ephemeral ports (32768+), so they cannot collide."""
    build_dir = os.path.join(deploy.REPO, "build", "demo")
    pam_before = {s: os.path.exists("/etc/pam.d/" + s) for s in ("imap", "pop")}
    demo_clean(build_dir)
    log = tmp_path / "demo.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen(["make", "-s", "demo"], cwd=deploy.REPO,
                                stdin=subprocess.DEVNULL, stdout=out,
                                stderr=subprocess.STDOUT, start_new_session=True)
    ports = None
    try:
        end = time.monotonic() + 600
        while time.monotonic() < end:
            text = log.read_text(errors="replace")
            if "Press Ctrl-C to stop." in text:
                ports = demo_ports(text)
                break
            assert proc.poll() is None, "make demo exited early:\n" + text
            time.sleep(0.2)
        assert ports, "make demo printed no banner:\n" + log.read_text()
        for p in ports.values():
            assert launch.listening(p), (p, log.read_text())
        assert "wrote 3 messages" in text
        assert os.path.exists(os.path.join(build_dir, "ssl", "certs", "imapd.pem"))

        r = curl("imaps://127.0.0.1:%d/INBOX;UID=1" % ports["imaps"])
        assert r.returncode == 0, r.stderr
        assert b"Subject: Demo message 1" in r.stdout
        assert b"Hello, this is demo message number 1." in r.stdout
        r = curl("imaps://127.0.0.1:%d/INBOX" % ports["imaps"], "-X", "FETCH 1:* (FLAGS)")
        assert r.returncode == 0, r.stderr
        assert len(re.findall(rb"\* \d+ FETCH", r.stdout)) == 3, r.stdout
        r = curl("pop3s://127.0.0.1:%d/2" % ports["pop3s"])
        assert r.returncode == 0, r.stderr
        assert b"Hello, this is demo message number 2." in r.stdout
        r = curl("pop3s://127.0.0.1:%d/" % ports["pop3s"])
        assert r.returncode == 0 and len(r.stdout.splitlines()) == 3, r.stdout
        # the wrong password is refused
        r = subprocess.run(["curl", "-sS", "--max-time", "30", "--insecure", "--user",
                            "demo:wrong", "imaps://127.0.0.1:%d/INBOX" % ports["imaps"]],
                           capture_output=True, timeout=60)
        assert r.returncode != 0

        # Ctrl-C, as at the terminal: SIGINT to the whole foreground group
        os.killpg(proc.pid, signal.SIGINT)
        proc.wait(30)
        text = log.read_text(errors="replace")
        end = time.monotonic() + 10
        while any(launch.listening(p) for p in ports.values()) and time.monotonic() < end:
            time.sleep(0.1)
        assert not any(launch.listening(p) for p in ports.values()), ports
        assert "demo: stopped" in text, text
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(10)
        demo_clean_after(build_dir, pam_before)


def demo_clean_after(build_dir, pam_before):
    subprocess.run(["userdel", "-r", "-f", "demo"], stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL)
    for p in ("/var/mail/demo", "/var/mail/demo.lock"):
        if os.path.exists(p):
            os.unlink(p)
    shutil.rmtree(build_dir, ignore_errors=True)
    for svc, existed in pam_before.items():
        p = "/etc/pam.d/" + svc
        if not existed and os.path.exists(p):
            with open(p) as f:
                shipped = open(os.path.join(deploy.EXAMPLES, "pam.d", svc)).read()
                if f.read() == shipped:
                    os.unlink(p)
