# The library as an IMAP client: mtest and mailutil open "{host/flags}name"
# on this project's imapd and on Debian's Dovecot, over TLS verified against
# a CA the tests make (certificates for "localhost" and 127.0.0.1), and say
# exactly why when a certificate is refused. A server that offers no
# STARTTLS gets no password; imapd itself never opens a network name.
import base64
import contextlib
import datetime
import grp
import imaplib
import ipaddress
import os
import re
import socket
import ssl
import subprocess
import threading
import types

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from conftest import REPO
from helpers import launch, mbox
from helpers.tls import cert_pem, key_pem, new_cert, new_key, write

DAY = datetime.timedelta(days=1)
DOVECOT = "/usr/sbin/dovecot"


# ---------------------------------------------------------------- certificates

def _name(cn):
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])


def make_ca(cn):
    key = new_key()
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(_name(cn)).issuer_name(_name(cn))
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - DAY).not_valid_after(now + 90 * DAY)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .add_extension(x509.KeyUsage(True, False, False, False, False, True, True, False,
                                         False), critical=True)
            .sign(key, hashes.SHA256()))
    return key, cert


def make_leaf(ca, names=("localhost",), ips=("127.0.0.1",), days_before=1, days_after=90):
    """key + certificate (PEM, the server's file) signed by ca."""
    ca_key, ca_cert = ca
    key = new_key()
    now = datetime.datetime.now(datetime.timezone.utc)
    alt = [x509.DNSName(n) for n in names] + [x509.IPAddress(ipaddress.ip_address(i))
                                             for i in ips]
    cert = (x509.CertificateBuilder().subject_name(_name(names[0]))
            .issuer_name(ca_cert.subject).public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - days_before * DAY).not_valid_after(now + days_after * DAY)
            .add_extension(x509.SubjectAlternativeName(alt), critical=False)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]),
                           critical=False)
            .sign(ca_key, hashes.SHA256()))
    return key_pem(key) + cert_pem(cert)


@pytest.fixture(scope="session")
def pki(workdir):
    """The test CA (ca.pem, readable by the test users) and one ssl_dir per
    kind of server certificate."""
    root = os.path.join(workdir, "client-pki")
    ca, other_ca = make_ca("imapd test CA"), make_ca("some other CA")
    self_key = new_key()
    pems = {
        "good": make_leaf(ca),
        "wrong-name": make_leaf(ca, names=("other.example",), ips=("192.0.2.77",)),
        "self-signed": key_pem(self_key) + cert_pem(new_cert(self_key, "localhost")),
        "expired": make_leaf(ca, days_before=30, days_after=-1),
        "untrusted-ca": make_leaf(other_ca),
    }
    dirs = {}
    for kind, pem in pems.items():
        d = os.path.join(root, kind)
        write(os.path.join(d, "certs", "imapd.pem"), pem)
        os.makedirs(os.path.join(d, "private"), mode=0o700, exist_ok=True)
        dirs[kind] = d
    ca_file = os.path.join(root, "ca.pem")
    write(ca_file, cert_pem(ca[1]), mode=0o644)
    os.chmod(root, 0o755)
    return {"ca": ca_file, "dirs": dirs, "good_pem": pems["good"]}


@pytest.fixture(scope="session")
def tls_server(server_with, pki):
    """tls_server(kind="good", implicit=True) -> imapd with that certificate,
    implicit TLS or (implicit=False) offering STARTTLS."""
    def make(kind="good", implicit=True):
        return server_with("ssl_dir = %s" % pki["dirs"][kind], tls=implicit)
    return make


# ---------------------------------------------------------------- programs

def tool(imapd, name):
    path = os.path.join(os.path.dirname(os.path.dirname(imapd)), "src", name)
    if not os.access(path, os.X_OK):
        path = os.path.join(REPO, "src", name)
    assert os.access(path, os.X_OK), "no %s built at %s" % (name, path)
    return path


@pytest.fixture
def run_as(imapd, user, config_file, san_env, pki, fresh):
    """run_as(prog, args, stdin=b"", password=...) -> CompletedProcess of
    mtest or mailutil run as the user, the password in $MAIL_PASSWORD and
    the test CA in $MAIL_CAFILE."""
    def command(prog, args=(), password=None, cafile=True, env_extra=None):
        env = {"PATH": "/usr/bin:/bin", "HOME": user.home, "USER": user.name,
               "LOGNAME": user.name, "MAIL_PASSWORD": password or user.password}
        env.update(env_extra or {})
        env = {k: v for k, v in env.items() if v is not None}
        if cafile:
            env["MAIL_CAFILE"] = pki["ca"]
        env.update(san_env)
        # setsid: no controlling terminal, so nothing ever asks for a password
        return dict(args=["setsid", "-w", "setpriv", "--reuid=%d" % user.uid,
                          "--regid=%d" % user.gid,
                          "--init-groups", tool(imapd, prog), "--config", config_file] +
                    list(args), stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env,
                    cwd=user.home)

    def run(prog, args=(), stdin=b"", **kw):
        return subprocess.run(input=stdin, timeout=300, **command(prog, args, **kw))
    run.command = command
    return run


@pytest.fixture
def mtest(run_as):
    """mtest(*lines, **kw) -> CompletedProcess of an mtest script."""
    def run(*lines, **kw):
        return run_as("mtest", (), ("\n".join(lines) + "\nquit\n").encode(), **kw)
    return run


def imap_login(srv, user):
    c = imaplib.IMAP4(srv.host, srv.port)
    c.login(user.name, user.password)
    return c


def inbox_texts(srv, user):
    """What imapd itself serves of INBOX: (flags without \\Recent, text)."""
    c = imap_login(srv, user)
    try:
        c.select("INBOX", readonly=True)
        typ, data = c.fetch("1:*", "(FLAGS BODY.PEEK[])")
        out = []
        for item in data:
            if isinstance(item, tuple):
                flags = set(imaplib.ParseFlags(item[0])) - {b"\\Recent"}
                out.append((flags, item[1]))
        return out
    finally:
        c.logout()


# ---------------------------------------------------------------- our imapd

def test_open_fetch_flag_expunge_over_tls(mtest, tls_server, server, spool, user, sample):
    spool.write(user, sample)
    srv = tls_server()
    before = inbox_texts(server, user)
    name = "{localhost:%d/ssl}INBOX" % srv.port
    r = mtest("open " + name, "save 1 m1.eml", "set 2 \\Flagged $Work",
              "set 3:4 \\Deleted", "expunge 3", "headers 2:3", "clear 3 \\Deleted")
    out = r.stdout.decode()
    assert r.returncode == 0, (out, r.stderr)
    assert out.startswith("%s: 4 messages, 4 recent, uidvalidity " % name)
    assert "saved %d octets\n" % len(before[0][1]) in out
    assert "2 (\\Flagged \\Recent $Work)\n" in out
    assert "* expunged 3\nexpunge done, 3 messages\n" in out   # UID EXPUNGE 3 alone
    assert "3 (\\Recent)\n" in out.split("expunge done")[1]
    with open(os.path.join(user.home, "m1.eml"), "rb") as f:
        assert f.read() == before[0][1]
    after = inbox_texts(server, user)
    assert [t for _, t in after] == [t for _, t in before[:2]] + [before[3][1]]
    assert after[1][0] == before[1][0] | {b"\\Flagged", b"$Work"}
    assert after[2][0] == before[3][0]    # its \Deleted cleared again


def test_fetch_is_byte_exact(mtest, tls_server, server, spool, user, sample):
    spool.write(user, sample)
    srv = tls_server()
    before = inbox_texts(server, user)
    r = mtest("open {127.0.0.1:%d/ssl/readonly}INBOX" % srv.port,
              *["fetch %d" % i for i in range(1, len(before) + 1)])
    assert r.returncode == 0, r
    got = re.findall(rb"-- message \d+, (\d+) octets\n(.*?)\n-- end\n", r.stdout, re.S)
    assert [g[1] for g in got] == [t for _, t in before]
    assert [int(g[0]) for g in got] == [len(t) for _, t in before]
    assert r.stdout.split(b"\n")[0].endswith(b", read-only")   # EXAMINE


def test_append_status_list_create_rename_delete(mtest, tls_server, server, user, tmp_path):
    srv = tls_server()
    p = "{localhost:%d/ssl}" % srv.port
    msg = b"From: a@example.org\nSubject: appended\n\nline\n"
    path = os.path.join(user.home, "new.eml")
    with open(path, "wb") as f:
        f.write(msg)
    os.chown(path, user.uid, user.gid)
    r = mtest("create %sbox1" % p, "append %sbox1 new.eml \\Seen" % p,
              "status %sbox1" % p, 'list "" %s*' % p, "rename %sbox1 %sbox2" % (p, p),
              "open %sbox2" % p, "headers", "fetch 1", "close", "delete %sbox2" % p,
              'list "" %s*' % p)
    out = r.stdout.decode()
    assert r.returncode == 0, (out, r.stderr)
    assert re.search(r"^appended, uid 1 uidvalidity \d+$", out, re.M)
    assert re.search(r"^%sbox1: messages 1 recent 1 unseen 0 uidnext 2 uidvalidity \d+$"
                     % re.escape(p), out, re.M)
    assert "list: %sbox1 \\Noinferiors\n" % p in out
    assert re.search(r"^1 uid 1 \(\\Seen \\Recent\) 48 octets \d\d-\w\w\w-\d{4} .* "
                     r"subject: appended$", out, re.M)
    assert "-- message 1, 48 octets\n%s\n-- end\n" % msg.decode().replace("\n", "\r\n") in out
    assert out.count("list: %sbox" % p) == 1     # box2 is gone at the end
    assert not os.path.exists(os.path.join(user.home, "box2"))


def test_check_reports_new_mail_and_others_flags(run_as, tls_server, server, spool, user,
                                                  sample):
    spool.write(user, sample[:2])
    srv = tls_server()
    p = subprocess.Popen(stdin=subprocess.PIPE, **run_as.command("mtest"))
    try:
        p.stdin.write(b"open {localhost:%d/ssl}INBOX\n" % srv.port)
        p.stdin.flush()
        first = p.stdout.readline().decode()
        assert re.match(r"\{localhost:\d+/ssl\}INBOX: 2 messages, 2 recent, uidvalidity "
                        r"\d+, uidnext 3\n$", first), first
        c = imap_login(server, user)
        c.select("INBOX")
        c.store("1", "+FLAGS", "(\\Answered)")
        c.logout()
        spool.deliver(user, sample[2])
        out, err = p.communicate(b"check\nheaders 3\n", timeout=120)
    finally:
        if p.poll() is None:
            p.kill()
    assert p.returncode == 0, err
    lines = out.decode().split("\n")
    assert "* 3 messages" in lines
    assert "* flags of 1 changed" in lines
    assert "check done, 3 messages" in lines
    assert re.search(r"^3 uid 3 \(\\Recent\) \d+ octets ", out.decode(), re.M), out


def test_starttls_by_default_and_no_password_in_trace(mtest, tls_server, spool, user, sample):
    spool.write(user, sample)
    srv = tls_server(implicit=False)
    r = mtest("open {localhost:%d/debug}INBOX" % srv.port)
    assert r.returncode == 0, r
    trace = r.stderr.decode()
    assert "C: A0001 STARTTLS\n" in trace
    assert re.search(r"C: A0003 AUTHENTICATE PLAIN <credentials>\n", trace), trace
    assert user.password not in trace
    assert r.stdout.startswith(b"{localhost:%d/debug}INBOX: 4 messages" % srv.port)


@pytest.mark.parametrize("kind,host,reason", [
    ("wrong-name", "localhost", "hostname mismatch"),
    ("wrong-name", "127.0.0.1", "IP address mismatch"),
    ("self-signed", "localhost", "self-signed certificate"),
    ("expired", "localhost", "certificate has expired"),
    ("untrusted-ca", "localhost", "unable to get local issuer certificate"),
])
def test_certificate_refused_with_reason(mtest, tls_server, pki, user, kind, host, reason):
    # imapd will not serve an expired certificate at all: a stand-in does
    fake = FakeServer(pem=os.path.join(pki["dirs"][kind], "certs", "imapd.pem")) \
        if kind == "expired" else None
    port = fake.port if fake else tls_server(kind).port
    name = "{%s:%d/ssl}INBOX" % (host, port)
    r = mtest("open " + name)
    if fake:
        fake.close()
        assert fake.received == b""
    assert r.returncode == 1
    assert r.stdout.decode() == "NO %s: TLS certificate of %s not accepted: %s\n" % (
        name, host, reason)


def test_starttls_certificate_refused_too(mtest, tls_server, user):
    srv = tls_server("self-signed", implicit=False)
    name = "{localhost:%d}INBOX" % srv.port
    r = mtest("open " + name)
    assert r.stdout.decode() == ("NO %s: TLS certificate of localhost not accepted: "
                                 "self-signed certificate\n" % name)


def test_novalidate_cert_accepted(mtest, tls_server, spool, user, sample):
    spool.write(user, sample)
    srv = tls_server("self-signed")
    r = mtest("open {localhost:%d/ssl/novalidate-cert}INBOX" % srv.port)
    assert r.returncode == 0, r
    assert b": 4 messages" in r.stdout


def test_system_store_alone_refuses_the_test_ca(mtest, tls_server, user):
    srv = tls_server()
    name = "{localhost:%d/ssl}INBOX" % srv.port
    r = mtest("open " + name, cafile=False)
    assert r.stdout.decode() == ("NO %s: TLS certificate of localhost not accepted: "
                                 "unable to get local issuer certificate\n" % name)


def test_wrong_password_says_so(mtest, tls_server, user):
    srv = tls_server()
    name = "{localhost:%d/ssl}INBOX" % srv.port
    r = mtest("open " + name, password="not-the-password")
    assert re.match(r"NO %s: login to localhost as %s failed: \S" % (re.escape(name), user.name),
                    r.stdout.decode()), r.stdout


# ---------------------------------------------------------------- plaintext

class FakeServer:
    """A listener that greets as an IMAP server without STARTTLS (over
    implicit TLS with the certificate file pem, if given) and records every
    byte a client sends."""

    def __init__(self, addr="127.0.0.1", pem=None):
        self.tls = None
        if pem:
            self.tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            self.tls.load_cert_chain(pem)
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.bind((addr, 0))
        self.sock.listen(4)
        self.port = self.sock.getsockname()[1]
        self.received = b""
        self.thread = threading.Thread(target=self.serve, daemon=True)
        self.thread.start()

    def serve(self):
        self.sock.settimeout(30)
        try:
            conn, _ = self.sock.accept()
        except OSError:
            return
        try:
            if self.tls:
                conn.settimeout(10)
                conn = self.tls.wrap_socket(conn, server_side=True)
        except (OSError, ssl.SSLError):
            conn.close()
            return
        with conn:
            conn.settimeout(10)
            conn.sendall(b"* OK [CAPABILITY IMAP4rev1 AUTH=PLAIN AUTH=LOGIN SASL-IR] hi\r\n")
            try:
                while True:
                    data = conn.recv(4096)
                    if not data:
                        break
                    self.received += data
                    for line in data.split(b"\r\n"):
                        if line:
                            tag = line.split(b" ")[0]
                            conn.sendall(b"* BYE bye\r\n" if b"LOGOUT" in line.upper() else b"")
                            conn.sendall(tag + b" OK done\r\n")
            except OSError:
                pass

    def close(self):
        self.sock.close()
        self.thread.join(15)


def test_no_starttls_no_password(mtest, user):
    fake = FakeServer()
    name = "{localhost:%d}INBOX" % fake.port
    r = mtest("open " + name)
    fake.close()
    assert r.stdout.decode() == ("NO %s: localhost offers no STARTTLS: refusing to send a "
                                 "password in clear (use /ssl for implicit TLS)\n" % name)
    assert b"AUTHENTICATE" not in fake.received and b"LOGIN " not in fake.received
    assert user.password.encode() not in fake.received


def non_loopback_address():
    out = subprocess.run(["hostname", "-I"], stdout=subprocess.PIPE).stdout.decode().split()
    v4 = [a for a in out if re.match(r"\d+\.\d+\.\d+\.\d+$", a) and not a.startswith("127.")]
    return v4[0] if v4 else None


def test_notls_only_to_this_machine(mtest, user):
    addr = non_loopback_address()
    if not addr:
        pytest.skip("this machine has no address but loopback")
    fake = FakeServer("0.0.0.0")
    name = "{%s:%d/notls}INBOX" % (addr, fake.port)
    r = mtest("open " + name)
    fake.close()
    assert r.stdout.decode() == ("NO %s: %s: refusing to send a password in clear over the "
                                 "network (/notls is for a server on this machine; use /ssl)\n"
                                 % (name, addr))
    assert user.password.encode() not in fake.received


def test_notls_on_loopback_logs_in(mtest, tls_server, spool, user, sample):
    spool.write(user, sample)
    srv = tls_server(implicit=False)
    r = mtest("open {127.0.0.1:%d/notls/debug}INBOX" % srv.port)
    assert r.returncode == 0, r
    assert b"C: A0001 STARTTLS" not in r.stderr
    assert re.search(rb"^C: A0001 AUTHENTICATE PLAIN <credentials>$", r.stderr, re.M)
    assert b": 4 messages" in r.stdout


# ---------------------------------------------------------------- imapd refuses

def test_imapd_never_opens_a_network_name(server, spool, user, sample, fresh):
    """SELECT, STATUS, APPEND, COPY, LIST, CREATE, DELETE, RENAME with a
    {127.0.0.1:port} name: NO, and nothing connects to that port."""
    trap = socket.socket()
    trap.bind(("127.0.0.1", 0))
    trap.listen(8)
    trap.setblocking(False)
    net = '"{127.0.0.1:%d}INBOX"' % trap.getsockname()[1]
    spool.write(user, sample)
    c = imap_login(server, user)
    try:
        results = [
            c._simple_command("SELECT", net),
            c._simple_command("STATUS", net, "(MESSAGES)"),
            c._simple_command("CREATE", net),
            c._simple_command("DELETE", net),
            c._simple_command("RENAME", net, "elsewhere"),
            c._simple_command("LIST", '""', net),
            c._simple_command("LIST", net, '"*"'),
            c.append(net, None, None, b"Subject: x\r\n\r\nhi\r\n"),
        ]
        c.select("INBOX")
        results.append(c._simple_command("COPY", "1", net))
        for typ, data in results:
            assert typ == "NO"
            assert data[-1].endswith(b"network mailbox names are not served here"), data
    finally:
        c.logout()
    with pytest.raises(BlockingIOError):
        trap.accept()
    trap.close()


# ---------------------------------------------------------------- Dovecot

DOVECOT_TLS_CONF = """# written by tests/test_imap_client.py
base_dir = {root}/run
state_dir = {root}/state
log_path = {root}/log
protocols = imap
listen = 127.0.0.1
service imap-login {{
  inet_listener imap {{
    port = {port}
  }}
  inet_listener imaps {{
    port = {sport}
    ssl = yes
  }}
}}
service anvil {{
  chroot =
}}
ssl = required
ssl_cert = <{root}/cert.pem
ssl_key = <{root}/key.pem
auth_mechanisms = plain login
passdb {{
  driver = passwd-file
  args = {root}/passwd
}}
userdb {{
  driver = passwd-file
  args = {root}/passwd
}}
mail_location = maildir:~/dcmail
namespace inbox {{
  inbox = yes
  separator = /
}}
"""


@contextlib.contextmanager
def private_dovecot(workdir, pki, user, name, template, **ports):
    """A private Dovecot (the whole daemon: login, TLS, auth) from template
    (filled with root and the ports, free ones), serving the test user with
    our CA's certificate; yields an object with the ports as attributes."""
    if not os.access(DOVECOT, os.X_OK):
        pytest.fail("Dovecot is not installed (apt-get install dovecot-imapd)")
    root = os.path.join(workdir, "%s-%s" % (name, user.name))
    os.makedirs(root, exist_ok=True)
    pem = pki["good_pem"].decode()
    cut = pem.index("-----BEGIN CERTIFICATE-----")
    write(os.path.join(root, "key.pem"), pem[:cut].encode())
    write(os.path.join(root, "cert.pem"), pem[cut:].encode(), mode=0o644)
    passwd = os.path.join(root, "passwd")
    write(passwd, ("%s:{PLAIN}%s:%d:%d::%s\n" % (
        user.name, user.password, user.uid, user.gid, user.home)).encode(), mode=0o640)
    os.chown(passwd, 0, grp.getgrnam("dovecot").gr_gid)   # its auth process reads it
    d = types.SimpleNamespace(**{k: launch.free_port() for k in ports})
    conf = os.path.join(root, "dovecot.conf")
    with open(conf, "w") as f:
        f.write(template.format(root=root, **vars(d)))
    with dovecot_running(conf, *vars(d).values()):
        yield d


@contextlib.contextmanager
def dovecot_running(conf, *ports):
    """Dovecot started with conf, up once every port listens; stopped after."""
    subprocess.run([DOVECOT, "-c", conf], check=True, timeout=30)
    try:
        for _ in range(100):
            if all(launch.listening(p) for p in ports):
                break
            threading.Event().wait(0.1)
        yield
    finally:
        subprocess.run([DOVECOT, "-c", conf, "stop"], timeout=30)


@pytest.fixture
def dovecot(workdir, pki, user, fresh):
    """Dovecot's IMAP on the test user's ~/dcmail: .port (STARTTLS) and
    .sport (implicit TLS)."""
    with private_dovecot(workdir, pki, user, "dovecot-client", DOVECOT_TLS_CONF, port=1,
                         sport=1) as d:
        yield d


def dovecot_login(d, pki, user):
    ctx = ssl.create_default_context(cafile=pki["ca"])
    c = imaplib.IMAP4_SSL("localhost", d.sport, ssl_context=ctx)
    c.login(user.name, user.password)
    return c


FLAG_CYCLE = ["", "\\Seen", "\\Seen \\Answered", "\\Flagged $Label1", "\\Draft", "Junk \\Seen"]


def populate_dovecot(d, pki, user, n_inbox):
    from helpers.session import make_message
    c = dovecot_login(d, pki, user)
    try:
        assert c.create("a/b")[0] == "OK"
        for i in range(n_inbox):
            text = make_message(i, 200 + 37 * (i % 50), "dc").crlf()
            date = '"%02d-Nov-2026 %02d:%02d:00 %s"' % (1 + i % 28, i % 24, i % 60,
                                                       ("+0000", "-0700", "+0530")[i % 3])
            typ, _ = c.append("INBOX", "(%s)" % FLAG_CYCLE[i % len(FLAG_CYCLE)], date, text)
            assert typ == "OK"
        for i in range(3):
            c.append("a/b", "(\\Seen)", None, make_message(1000 + i, 500, "ab").crlf())
    finally:
        c.logout()


def shown(mtest, name, n):
    """mtest's headers line (without UID or \\Recent) and the exact text
    of every message of name."""
    r = mtest("open -r " + name, "headers", *["fetch %d" % i for i in range(1, n + 1)])
    assert r.returncode == 0, (r.stdout[-500:], r.stderr[-2000:])
    out = r.stdout.decode("utf-8", "replace").split("\n", 1)[1]
    out = re.sub(r"^(\d+) uid \d+ ", r"\1 ", out, flags=re.M)
    return re.sub(r" ?\\Recent", "", out).replace("( ", "(")


def test_mtest_on_dovecot_starttls(mtest, dovecot, pki, user):
    populate_dovecot(dovecot, pki, user, 6)
    name = "{localhost:%d}INBOX" % dovecot.port
    r = mtest("open " + name, "set 1 \\Flagged", "set 2 \\Deleted", "expunge", "headers 1:2")
    out = r.stdout.decode()
    assert r.returncode == 0, (out, r.stderr)
    assert out.startswith("%s: 6 messages" % name)
    assert "* expunged 2\nexpunge done, 5 messages\n" in out
    assert re.search(r"^1 uid 1 \(\\Flagged( \\Recent)?\) \d+ octets 01-Nov-2026 00:00:00 \+0000 "
                     r"subject: dc number 0$", out, re.M), out
    assert re.search(r"^2 uid 3 \(\\Seen \\Answered( \\Recent)?\) ", out, re.M), out


def test_mailutil_transfer_from_dovecot(run_as, mtest, dovecot, pki, user):
    n = 300
    populate_dovecot(dovecot, pki, user, n)
    src = "{localhost:%d/ssl/user=%s}" % (dovecot.sport, user.name)
    r = run_as("mailutil", ["transfer", src, "#driver.maildir/dc"])   # "/" implied
    assert r.returncode == 0, (r.stdout, r.stderr[-2000:])
    assert os.path.isdir(os.path.join(user.home, "dc", "INBOX", "cur"))
    for box, count in (("INBOX", n), ("a/b", 3)):
        remote = shown(mtest, src + box, count)
        local = shown(mtest, "#driver.maildir/dc/" + box, count)
        assert local.count("\n-- end\n") == count
        assert local == remote
    flags = re.findall(r"^\d+ \((.*?)\)", shown(mtest, "#driver.maildir/dc/INBOX", 0), re.M)
    assert flags[:6] == ["", "\\Seen", "\\Seen \\Answered", "\\Flagged $Label1", "\\Draft",
                         "\\Seen Junk"]


def test_mailutil_debug_traces_the_conversation_not_the_password(run_as, tls_server, server,
                                                                spool, user, sample):
    # -d: the classic switch, the IMAP conversation on stderr, credentials left out
    spool.write(user, sample)
    srv = tls_server()
    net = "{localhost:%d/ssl}" % srv.port
    r = run_as("mailutil", ["-d", "check", net + "INBOX"])
    assert r.returncode == 0, r.stderr
    assert r.stdout.decode() == "4 new messages (4 unseen), 4 total in %sINBOX\n" % net
    err = r.stderr.decode()
    assert re.search(r"^mailutil: localhost S: \* OK ", err, re.M), err
    assert re.search(r"^mailutil: localhost C: \S+ STATUS ", err, re.M), err
    assert user.password not in err
    quiet = run_as("mailutil", ["check", net + "INBOX"])
    assert quiet.returncode == 0 and quiet.stderr == b"", quiet.stderr


def test_mailutil_check_and_copy_with_a_network_end(run_as, tls_server, server, spool, user,
                                                    sample):
    spool.write(user, sample)
    srv = tls_server()
    net = "{localhost:%d/ssl}" % srv.port
    r = run_as("mailutil", ["check", net + "INBOX"])
    assert r.returncode == 0, r.stderr
    assert r.stdout.decode() == "4 new messages (4 unseen), 4 total in %sINBOX\n" % net
    r = run_as("mailutil", ["copy", net + "INBOX", net + "copied"])
    assert r.returncode == 0, r.stderr
    r = run_as("mailutil", ["copy", net + "copied", "#driver.maildir/back"])
    assert r.returncode == 0, r.stderr
    r = run_as("mailutil", ["check", "#driver.maildir/back"])
    assert r.stdout.decode() == "4 new messages (4 unseen), 4 total in #driver.maildir/back\n"
    want = inbox_texts(server, user)
    c = imap_login(server, user)
    try:
        c.select("copied", readonly=True)
        got = [item[1] for item in c.fetch("1:*", "(BODY.PEEK[])")[1] if isinstance(item, tuple)]
    finally:
        c.logout()
    assert got == [t for _, t in want]
    r = run_as("mailutil", ["check", net + "nonexistent"])
    assert r.returncode == 1
    assert r.stderr.decode().startswith("mailutil: cannot check %snonexistent: " % net)


def test_mailutil_transfer_progress_from_a_network_source(run_as, mtest, tls_server, server,
                                                          spool, user, sample):
    """-v transfer from our imapd: the progress line names the source as
    typed, counts every message, and the copy is whole."""
    spool.write(user, sample)
    srv = tls_server()
    src = "{localhost:%d/ssl}INBOX" % srv.port
    r = run_as("mailutil", ["-v", "transfer", src, "#driver.maildir/got"])
    assert r.returncode == 0, r.stderr
    assert (r.stdout, r.stderr.decode()) == (b"", (
        "mailutil: {s} -> #driver.maildir/got\n"
        "\rmailutil: {s}: 4/4 messages\n"
        "mailutil: {s}: 4 messages copied to #driver.maildir/got\n").format(s=src))
    assert shown(mtest, "#driver.maildir/got", 4) == shown(mtest, src, 4)


class ScriptServer(threading.Thread):
    """A plaintext server on loopback that expects exactly the given client
    lines, answering each with the bytes paired with it; .heard holds what
    came, .done says every line came as expected."""

    def __init__(self, greeting, steps, addr="127.0.0.1"):
        super().__init__(daemon=True)
        self.sock = socket.socket(socket.AF_INET6 if ":" in addr else socket.AF_INET)
        self.sock.bind((addr, 0))
        self.sock.listen(1)
        self.port = self.sock.getsockname()[1]
        self.greeting, self.steps, self.heard, self.done = greeting, steps, [], False
        self.start()

    def run(self):
        self.sock.settimeout(30)
        conn, _ = self.sock.accept()
        with conn, conn.makefile("rb") as f:
            conn.sendall(self.greeting)
            for want, reply in self.steps:
                line = f.readline().rstrip(b"\r\n")
                self.heard.append(line)
                if line != want:
                    return
                conn.sendall(reply)
            self.done = True


SELECT_EMPTY = b"* 0 EXISTS\r\n* OK [UIDVALIDITY 5] v\r\nA0002 OK [READ-WRITE] ok\r\n"
LOGOUT = (b"A0003 LOGOUT", b"* BYE bye\r\nA0003 OK bye\r\n")


def expand(template, fill):
    """template with {u}/{p}/{q} filled in; what follows "b64:" base64-encoded."""
    head, _, tail = template.partition("b64:")
    text = head.format(**fill)
    if tail:
        text += base64.b64encode(tail.format(**fill).encode()).decode()
    return text.encode()


@pytest.mark.parametrize("caps,login,flags", [
    # AUTH=PLAIN without SASL-IR: the response after the server's "+"
    ("IMAP4rev1 AUTH=PLAIN", [("A0001 AUTHENTICATE PLAIN", "+ "),
                              ("b64:\0{u}\0{p}", "A0001 OK in")], ""),
    # SASL-IR: one line
    ("IMAP4rev1 SASL-IR AUTH=PLAIN", [("A0001 AUTHENTICATE PLAIN b64:\0{u}\0{p}",
                                       "A0001 OK in")], ""),
    # /authuser: authenticate as that user, act as /user's
    ("IMAP4rev1 SASL-IR AUTH=PLAIN", [("A0001 AUTHENTICATE PLAIN b64:ann\0{u}\0{p}",
                                       "A0001 OK in")], "/user=ann/authuser={u}"),
    # LOGIN refused, the LOGIN mechanism offered
    ("IMAP4rev1 LOGINDISABLED AUTH=LOGIN", [("A0001 AUTHENTICATE LOGIN", "+ VXNlcm5hbWU6"),
                                            ("b64:{u}", "+ UGFzc3dvcmQ6"),
                                            ("b64:{p}", "A0001 OK in")], ""),
    # no SASL at all: the LOGIN command, the password with a quote escaped
    ("IMAP4rev1", [('A0001 LOGIN "{u}" "{q}"', "A0001 OK in")], ""),
])
def test_login_methods_exact_bytes(mtest, user, caps, login, flags):
    pw = 'pa"ss'
    fill = dict(u=user.name, p=pw, q=pw.replace('"', '\\"'))
    steps = [(expand(w, fill), (r + "\r\n").encode()) for w, r in login]
    srv = ScriptServer(b"* OK [CAPABILITY %s] hi\r\n" % caps.encode(),
                       steps + [(b'A0002 SELECT "INBOX"', SELECT_EMPTY), LOGOUT])
    name = "{127.0.0.1:%d/notls%s}INBOX" % (srv.port, flags.format(**fill))
    r = mtest("open " + name, password=pw)
    srv.join(30)
    assert srv.done, srv.heard
    assert r.stdout.decode() == "%s: 0 messages, 0 recent, uidvalidity 5, uidnext 0\n" % name


def test_ipv6_address(mtest, user):
    """An IPv6 literal in brackets; ::1 is loopback, so /notls may log in."""
    srv = ScriptServer(b"* OK [CAPABILITY IMAP4rev1 SASL-IR AUTH=PLAIN] hi\r\n",
                       [(expand("A0001 AUTHENTICATE PLAIN b64:\0{u}\0{p}",
                                dict(u=user.name, p=user.password)), b"A0001 OK in\r\n"),
                        (b'A0002 SELECT "INBOX"', SELECT_EMPTY), LOGOUT], addr="::1")
    name = "{[::1]:%d/notls}INBOX" % srv.port
    r = mtest("open " + name)
    srv.join(30)
    assert srv.done, srv.heard
    assert r.stdout.decode() == "%s: 0 messages, 0 recent, uidvalidity 5, uidnext 0\n" % name


def test_preauth(mtest, user):
    """PREAUTH: no password asked or sent; in clear it is refused when the
    name demands TLS (STARTTLS cannot follow it)."""
    srv = ScriptServer(b"* PREAUTH [CAPABILITY IMAP4rev1] ssh tunnel\r\n",
                       [(b'A0001 SELECT "INBOX"', SELECT_EMPTY.replace(b"A0002", b"A0001")),
                        (b"A0002 LOGOUT", b"* BYE bye\r\nA0002 OK bye\r\n")])
    name = "{127.0.0.1:%d}INBOX" % srv.port
    r = mtest("open " + name)
    srv.join(30)
    assert srv.done, srv.heard
    assert r.stdout.decode() == "%s: 0 messages, 0 recent, uidvalidity 5, uidnext 0\n" % name
    srv = ScriptServer(b"* PREAUTH [CAPABILITY IMAP4rev1] who knows\r\n", [])
    name = "{127.0.0.1:%d/tls}INBOX" % srv.port
    r = mtest("open " + name)
    srv.join(30)
    assert r.stdout.decode() == ("NO %s: 127.0.0.1: PREAUTH in clear, but /tls or /secure "
                                 "asks for TLS\n" % name)


@pytest.mark.parametrize("reply,why", [
    (b"* 1 FETCH (UID 1 BODY[] {300000000}\r\n", "literal larger than we accept"),
    (b"* 1 FETCH (UID 1 FLAGS (" + b"(" * 40 + b"\r\n",
     "bad response from the server (lists nested too deeply)"),
    (b"* 4000000000 EXISTS\r\nA0002 OK\r\n", "127.0.0.1 sent no UID, or one out of order, "
     "for message 2"),
])
def test_hostile_server_refused_cleanly(mtest, user, reply, why):
    srv = ScriptServer(b"* PREAUTH [CAPABILITY IMAP4rev1] hi\r\n",
                       [(b'A0001 SELECT "INBOX"',
                         b"* 1 EXISTS\r\n* OK [UIDVALIDITY 5] v\r\nA0001 OK [READ-WRITE] ok\r\n"),
                        (b"A0002 FETCH 1:* (UID FLAGS INTERNALDATE RFC822.SIZE)",
                         b"* 1 FETCH (UID 7 FLAGS ())\r\n" + reply)])
    name = "{127.0.0.1:%d}INBOX" % srv.port
    r = mtest("open " + name)
    srv.join(30)
    assert srv.done, srv.heard
    assert r.stdout.decode() == "NO %s: %s\n" % (
        name, why if why.startswith("127.0.0.1 sent") else "127.0.0.1: " + why)


def test_password_from_a_file_or_none(mtest, tls_server, spool, user, sample):
    spool.write(user, sample)
    srv = tls_server()
    name = "{localhost:%d/ssl}INBOX" % srv.port
    pwfile = os.path.join(user.home, ".imap-password")
    with open(pwfile, "w") as f:
        f.write(user.password + "\n")
    os.chown(pwfile, user.uid, user.gid)
    os.chmod(pwfile, 0o600)
    r = mtest("open " + name, env_extra={"MAIL_PASSWORD": None, "MAIL_PASSWORD_FILE": pwfile})
    assert r.returncode == 0, r
    assert r.stdout.startswith(name.encode() + b": 4 messages")
    # no variable, no terminal to ask on (setsid): no password, no login tried
    r = mtest("open " + name, env_extra={"MAIL_PASSWORD": None})
    assert r.stdout.decode() == "NO %s: no password given for %s on localhost\n" % (
        name, user.name)


def test_alert_reaches_the_user(mtest, user):
    srv = ScriptServer(b"* PREAUTH [CAPABILITY IMAP4rev1] hi\r\n",
                       [(b'A0001 SELECT "INBOX"', b"* OK [ALERT] Quota 95% full\r\n" +
                         SELECT_EMPTY.replace(b"A0002", b"A0001")),
                        (b"A0002 NOOP", b"* OK [ALERT] Going down at noon\r\nA0002 OK\r\n"),
                        (b"A0003 LOGOUT", b"* BYE bye\r\nA0003 OK bye\r\n")])
    name = "{127.0.0.1:%d}INBOX" % srv.port
    r = mtest("open " + name, "check")
    srv.join(30)
    assert srv.done, srv.heard
    assert r.stdout.decode() == ("* Quota 95%% full\n"
                                 "%s: 0 messages, 0 recent, uidvalidity 5, uidnext 0\n"
                                 "* Going down at noon\ncheck done, 0 messages\n" % name)
