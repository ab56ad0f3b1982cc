# TLS (RFC 3501 6.2.1, RFC 8314): implicit TLS with --tls, STARTTLS on the
# plaintext port, passwords refused before TLS when allow_plaintext = no,
# no plaintext injection across the upgrade, TLS 1.2+ only, the certificate
# search (SNI name, local address, service) read per connection, and the
# broken setups an administrator meets, each explained in the mail log and
# by `imapd --check`; TLS 1.2 and 1.3 sessions resumed by the next process
# through the shared ticket key file.
import os
import re
import shutil
import socket
import ssl
import subprocess
import time

import pytest

from helpers import launch
from helpers import tls as T
from helpers.imapclient import quote
from helpers.syslogsink import collect

HOST = "127.0.0.1"


# ---------------------------------------------------------------- fixtures

@pytest.fixture(scope="session")
def ssl_dir(workdir):
    """The good setup: imapd.pem (key + cert in one file), an SNI file and
    a file for the second loopback address."""
    d = T.make_ssl_dir(os.path.join(workdir, "ssl"))
    T.make_pem(os.path.join(d, "certs", "imapd.pem"), "default.test")
    T.make_pem(os.path.join(d, "certs", "imapd-sni.example.pem"), "sni.example")
    T.make_pem(os.path.join(d, "certs", "imapd-127.0.0.2.pem"), "ip2.example")
    T.make_pem(os.path.join(d, "certs", "imapd-::1.pem"), "ip6.example")
    return d


def write_config(path, spool, pam_service, ssl_dir, extra=""):
    with open(path, "w") as f:
        f.write("spool_dir = %s\npam_service = %s\nssl_dir = %s\n"
                "allow_plaintext = no\n%s" % (spool.dir, pam_service, ssl_dir, extra))
    os.chmod(path, 0o644)
    return path


@pytest.fixture(scope="session")
def tls_config(workdir, spool, pam_service, ssl_dir):
    """Like production: passwords only over TLS."""
    return write_config(os.path.join(workdir, "imapd-tls.conf"), spool,
                        pam_service, ssl_dir)


@pytest.fixture(scope="session")
def plain_server(launch_daemon, imapd, tls_config):
    """The plaintext port: STARTTLS needed before a password."""
    return launch_daemon(argv=[imapd, "--config", tls_config])


@pytest.fixture(scope="session")
def tls_server(launch_daemon, imapd, tls_config):
    """Implicit TLS (as on port 993) via --tls."""
    return launch_daemon(argv=[imapd, "--tls", "--config", tls_config])


@pytest.fixture(scope="session")
def lab_dir(workdir):
    """An ssl_dir the tests rewrite between connections."""
    return T.make_ssl_dir(os.path.join(workdir, "ssl-lab"))


@pytest.fixture(scope="session")
def lab_config(workdir, spool, pam_service, lab_dir):
    return write_config(os.path.join(workdir, "imapd-lab.conf"), spool,
                        pam_service, lab_dir)


@pytest.fixture(scope="session")
def lab_servers(launch_daemon, imapd, lab_config):
    """(implicit TLS, plaintext+STARTTLS) servers reading lab_dir."""
    return (launch_daemon(argv=[imapd, "--tls", "--config", lab_config]),
            launch_daemon(argv=[imapd, "--config", lab_config]))


@pytest.fixture
def lab(lab_dir):
    """A clean lab: empty certs/ and private/ for each test."""
    for sub in ("certs", "private"):
        p = os.path.join(lab_dir, sub)
        shutil.rmtree(p, ignore_errors=True)
        os.makedirs(p)
    os.chmod(os.path.join(lab_dir, "private"), 0o700)
    return lab_dir


def tls_connect(server, **kw):
    return T.TLSIMAP(server.host, server.port, **kw)


def login(c, user):
    return c.command("LOGIN %s %s" % (quote(user.name), quote(user.password)))


# ---------------------------------------------------------------- implicit TLS

def test_implicit_tls_greeting_and_login(tls_server, fresh, user):
    c = tls_connect(tls_server)
    try:
        assert c.greeting[:2] == ["*", "OK"], c.greeting_raw
        assert c.version == "TLSv1.3"     # both ends offer it: the highest wins
        assert c.cn == "default.test"
        caps = T.capabilities(c.command("CAPABILITY"))
        assert "STARTTLS" not in caps and "LOGINDISABLED" not in caps
        assert "AUTH=PLAIN" in caps and "SASL-IR" in caps
        r = login(c, user)
        assert r.ok, r
        r = c.command("SELECT INBOX")
        assert r.status == "OK" and r.numbered("EXISTS") == [0], r   # no spool file yet
        assert c.command("LOGOUT").ok
    finally:
        c.close()


def test_imaplib_over_implicit_tls(tls_server, fresh, user):
    import imaplib
    m = imaplib.IMAP4_SSL(tls_server.host, tls_server.port,
                          ssl_context=T.client_context(), timeout=20)
    assert m.login(user.name, user.password)[0] == "OK"
    assert m.logout()[0] == "BYE"


def test_tls13_and_tls12_both_work(tls_server):
    c = tls_connect(tls_server)
    assert c.version == "TLSv1.3"
    c.close()
    c = tls_connect(tls_server, context=T.client_context(maximum=ssl.TLSVersion.TLSv1_2))
    assert c.version == "TLSv1.2"
    assert c.sock.cipher()[0] in (
        "ECDHE-ECDSA-AES128-GCM-SHA256", "ECDHE-ECDSA-AES256-GCM-SHA384",
        "ECDHE-ECDSA-CHACHA20-POLY1305"), c.sock.cipher()
    c.close()


@pytest.mark.parametrize("version", ["TLSv1", "TLSv1_1"])
def test_old_tls_versions_are_refused(tls_server, version):
    v = getattr(ssl.TLSVersion, version)
    ctx = T.client_context(minimum=v, maximum=v, ciphers="DEFAULT:@SECLEVEL=0")
    with pytest.raises((ssl.SSLError, ConnectionError, EOFError)):
        tls_connect(tls_server, context=ctx)


@pytest.mark.parametrize("flag", ["-tls1", "-tls1_1"])
def test_openssl_s_client_old_versions_refused(tls_server, flag):
    p = subprocess.run(["openssl", "s_client", flag, "-cipher", "DEFAULT@SECLEVEL=0",
                        "-connect", "%s:%d" % (tls_server.host, tls_server.port)],
                       stdin=subprocess.DEVNULL, capture_output=True, timeout=30)
    out = (p.stdout + p.stderr).decode("utf-8", "replace")
    assert p.returncode != 0, out
    assert "* OK" not in out


def test_openssl_s_client_implicit(tls_server):
    p = subprocess.run(["openssl", "s_client", "-quiet", "-connect",
                        "%s:%d" % (tls_server.host, tls_server.port)],
                       input=b"a CAPABILITY\r\nb LOGOUT\r\n",
                       capture_output=True, timeout=30)
    out = p.stdout.decode("utf-8", "replace")
    assert out.startswith("* OK"), out
    assert "a OK" in out and "b OK" in out


def test_openssl_s_client_starttls(plain_server):
    p = subprocess.run(["openssl", "s_client", "-quiet", "-starttls", "imap",
                        "-connect", "%s:%d" % (plain_server.host, plain_server.port)],
                       input=b"a CAPABILITY\r\nb LOGOUT\r\n",
                       capture_output=True, timeout=30)
    out = p.stdout.decode("utf-8", "replace")
    assert re.search(r"^\* CAPABILITY .*AUTH=PLAIN", out, re.M), out
    assert "STARTTLS" not in out.split("a OK")[0].split("* CAPABILITY")[-1]
    assert "b OK" in out


# ---------------------------------------------------------------- STARTTLS

def test_plaintext_port_offers_starttls_and_disables_login(plain_server):
    c = T.TLSIMAP(plain_server.host, plain_server.port, implicit=False)
    try:
        caps = T.capabilities(c.command("CAPABILITY"))
        assert "STARTTLS" in caps and "LOGINDISABLED" in caps
        assert not [x for x in caps if x.startswith("AUTH=")]
    finally:
        c.close()


def test_login_refused_before_tls_then_accepted(plain_server, fresh, user):
    c = T.TLSIMAP(plain_server.host, plain_server.port, implicit=False)
    try:
        r = login(c, user)
        assert r.status == "NO" and r.code == "PRIVACYREQUIRED", r
        assert "TLS" in r.text
        r = c.command("AUTHENTICATE PLAIN " + T_plain(user))
        assert r.status == "NO" and r.code == "PRIVACYREQUIRED", r
        assert c.starttls().ok
        assert c.version == "TLSv1.3"     # both ends offer it: the highest wins
        caps = T.capabilities(c.command("CAPABILITY"))
        assert "STARTTLS" not in caps and "LOGINDISABLED" not in caps
        assert "AUTH=PLAIN" in caps
        r = login(c, user)
        assert r.ok, r
    finally:
        c.close()


def T_plain(user):
    import base64
    return base64.b64encode(b"\0" + user.name.encode() + b"\0" +
                            user.password.encode()).decode()


def test_authenticate_plain_after_starttls(plain_server, fresh, user):
    c = T.TLSIMAP(plain_server.host, plain_server.port, implicit=False)
    try:
        assert c.starttls().ok
        r = c.command("AUTHENTICATE PLAIN " + T_plain(user))
        assert r.ok, r
    finally:
        c.close()


def test_pipelined_command_after_starttls_is_discarded(plain_server, fresh, user):
    """Bytes sent in clear behind STARTTLS must not run inside TLS
    (CVE-2011-0411 style command injection)."""
    c = T.TLSIMAP(plain_server.host, plain_server.port, implicit=False)
    try:
        r = c.starttls(extra=b"X1 LOGIN %s %s\r\nX2 CAPABILITY\r\n" % (
            quote(user.name).encode(), quote(user.password).encode()))
        assert r.ok, r
        # the first thing over TLS answers our command, not the injected ones
        tag = c.next_tag()
        c.send(tag + " NOOP\r\n")
        resp = c.read_response()
        assert resp.startswith(tag.encode() + b" OK"), resp
        r = c.command("SELECT INBOX")
        assert r.status == "BAD", "injected LOGIN took effect: %r" % r
    finally:
        c.close()


def test_starttls_twice_is_bad(plain_server):
    c = T.TLSIMAP(plain_server.host, plain_server.port, implicit=False)
    try:
        assert c.starttls().ok
        r = c.command("STARTTLS")
        assert r.status == "BAD", r
    finally:
        c.close()


def test_starttls_on_implicit_port_is_bad(tls_server):
    c = tls_connect(tls_server)
    try:
        assert c.command("STARTTLS").status == "BAD"
    finally:
        c.close()


def test_idle_over_tls(tls_server, fresh, user, spool, sample):
    spool.write(user, sample)
    c = tls_connect(tls_server)
    try:
        assert login(c, user).ok
        assert c.command("SELECT INBOX").ok
        for pipelined in (False, True):
            tag = c.next_tag()
            c.send(tag + (" IDLE\r\nDONE\r\n" if pipelined else " IDLE\r\n"))
            assert c.read_response().startswith(b"+")
            t0 = time.monotonic()
            if not pipelined:
                c.send("DONE\r\n")
            r = c.read_until(tag)
            assert r.ok, r
            assert time.monotonic() - t0 < 3, "DONE over TLS was not seen at once"
    finally:
        c.close()


# ---------------------------------------------------------------- which certificate

def test_sni_picks_the_named_certificate(tls_server):
    c = tls_connect(tls_server, server_hostname="sni.example")
    assert c.cn == "sni.example"
    c.close()
    c = tls_connect(tls_server, server_hostname="SNI.Example")
    assert c.cn == "sni.example"
    c.close()


def test_unknown_sni_gets_the_default(tls_server):
    c = tls_connect(tls_server, server_hostname="unknown.example")
    assert c.cn == "default.test"
    c.close()


def test_sni_with_path_tricks_gets_the_default(tls_server):
    for name in ("..", "../certs/imapd-sni.example", "sni.example/x"):
        p = subprocess.run(["openssl", "s_client", "-servername", name, "-connect",
                            "%s:%d" % (tls_server.host, tls_server.port)],
                           input=b"a LOGOUT\r\n", capture_output=True, timeout=30)
        out = p.stdout.decode("utf-8", "replace")
        assert "CN = default.test" in out or "CN=default.test" in out, out


def test_sni_with_starttls(plain_server):
    c = T.TLSIMAP(plain_server.host, plain_server.port, implicit=False,
                  server_hostname="sni.example")
    try:
        assert c.starttls().ok
        assert c.cn == "sni.example"
    finally:
        c.close()


def loopback2_ok():
    s = socket.socket()
    try:
        s.bind(("127.0.0.2", 0))
        return True
    except OSError:
        return False
    finally:
        s.close()


def test_certificate_per_local_address(imapd, tls_config, san_env, workdir):
    if not loopback2_ok():
        pytest.skip("127.0.0.2 is not usable here")
    import tempfile
    sub = tempfile.mkdtemp(prefix="ip2-", dir=workdir)
    lnch = launch.SocketActivate([imapd, "--tls", "--config", tls_config],
                                 san_env, sub, "127.0.0.2").start()
    try:
        c = T.TLSIMAP("127.0.0.2", lnch.port)
        assert c.cn == "ip2.example"
        c.close()
        # a name the client asks for still wins over the address
        c = T.TLSIMAP("127.0.0.2", lnch.port, server_hostname="sni.example")
        assert c.cn == "sni.example"
        c.close()
    finally:
        lnch.stop()


def ipv6_ok():
    try:
        s = socket.socket(socket.AF_INET6)
        s.bind(("::1", 0))
        s.close()
        return True
    except OSError:
        return False


def test_certificate_per_local_ipv6_address(imapd, tls_config, san_env, workdir):
    if not ipv6_ok():
        pytest.skip("no IPv6 loopback here")
    import tempfile
    sub = tempfile.mkdtemp(prefix="ip6-", dir=workdir)
    lnch = launch.SocketActivate([imapd, "--tls", "--config", tls_config],
                                 san_env, sub, "[::1]").start()
    try:
        c = T.TLSIMAP("::1", lnch.port)
        assert c.cn == "ip6.example"
        c.close()
    finally:
        lnch.stop()


# ---------------------------------------------------------------- xinetd, flags = IPv6

@pytest.fixture
def xinetd6(imapd, workdir, spool, pam_service, san_env):
    """xinetd6(bind) -> an xinetd service with flags = IPv6 bound to bind,
    running imapd --tls on an ssl_dir of its own: imapd.pem, the ::1 file
    and the 127.0.0.1 file (the shared ssl_dir must not gain the latter:
    every other test connects to 127.0.0.1). Stopped after the test."""
    import tempfile
    sub = tempfile.mkdtemp(prefix="xinetd6-", dir=workdir)
    d = T.make_ssl_dir(os.path.join(sub, "ssl"))
    T.make_pem(os.path.join(d, "certs", "imapd.pem"), "default6.test")
    T.make_pem(os.path.join(d, "certs", "imapd-::1.pem"), "ip6.example")
    T.make_pem(os.path.join(d, "certs", "imapd-127.0.0.1.pem"), "mapped4.example")
    conf = write_config(os.path.join(sub, "imapd.conf"), spool, pam_service, d)
    started = []

    def start(bind):
        lnch = launch.Xinetd6([imapd, "--tls", "--config", conf], san_env, sub, bind)
        started.append(lnch)
        return lnch.start(), d
    yield start
    for lnch in started:
        lnch.stop()


def test_xinetd_ipv6_certificate_per_local_ipv6_address(xinetd6, fresh, user):
    """flags = IPv6 on ::1: the client gets ssl_dir/certs/imapd-::1.pem (the
    address as inet_ntop writes it), chosen over imapd.pem, and logs in."""
    if not ipv6_ok():
        pytest.skip("no IPv6 loopback here")
    lnch, d = xinetd6("::1")
    c = T.TLSIMAP("::1", lnch.port)
    try:
        assert c.cn == "ip6.example"
        assert login(c, user).ok
        r = c.command("SELECT INBOX")
        assert r.status == "OK" and r.numbered("EXISTS") == [0], r
    finally:
        c.close()
    # read per connection: without the per-address file, imapd.pem
    os.unlink(os.path.join(d, "certs", "imapd-::1.pem"))
    c = T.TLSIMAP("::1", lnch.port)
    assert c.cn == "default6.test"
    c.close()


def test_xinetd_ipv6_v4_mapped_client_gets_the_ipv4_file(xinetd6):
    """An AF_INET6 listener sees an IPv4 client's local address as
    ::ffff:127.0.0.1; the certificate is the one for 127.0.0.1."""
    lnch, _ = xinetd6("::ffff:127.0.0.1")
    c = T.TLSIMAP("127.0.0.1", lnch.port)
    try:
        assert c.cn == "mapped4.example"
    finally:
        c.close()


def test_port_named_imaps_starts_tls_without_option(launch_daemon, imapd, tls_config,
                                                    public_ports):
    """/etc/services calls 993 "imaps": TLS from the first byte, no --tls."""
    assert socket.getservbyport(993, "tcp") == "imaps"    # netbase
    public_ports(993)
    srv = launch_daemon(argv=[imapd, "--config", tls_config], port=993)
    try:
        c = tls_connect(srv)
        try:
            assert c.greeting[:2] == ["*", "OK"]
            assert "STARTTLS" not in T.capabilities(c.command("CAPABILITY"))
        finally:
            c.close()
    finally:
        srv.stop()      # 993 is free again when the lock is released


def test_renewed_certificate_is_used_without_restart(lab, lab_servers):
    implicit, _ = lab_servers
    pem = os.path.join(lab, "certs", "imapd.pem")
    T.make_pem(pem, "before.test")
    c = tls_connect(implicit)
    assert c.cn == "before.test"
    c.close()
    T.make_pem(pem, "after.test")      # as certbot renew would
    c = tls_connect(implicit)
    assert c.cn == "after.test"
    c.close()


def test_key_in_private_directory(lab, lab_servers):
    implicit, _ = lab_servers
    key = T.new_key()
    T.write(os.path.join(lab, "certs", "imapd.pem"),
            T.cert_pem(T.new_cert(key, "split.test")), 0o644)
    T.write(os.path.join(lab, "private", "imapd.pem"), T.key_pem(key))
    c = tls_connect(implicit)
    assert c.cn == "split.test"
    c.close()


def test_certbot_style_tls_cert_and_tls_key(imapd, launch_daemon, workdir, spool,
                                            pam_service):
    live = os.path.join(workdir, "letsencrypt", "live", "mail.example")
    key = T.new_key()
    leaf = T.new_cert(key, "mail.example")
    T.write(os.path.join(live, "fullchain.pem"), T.cert_pem(leaf), 0o644)
    T.write(os.path.join(live, "privkey.pem"), T.key_pem(key))
    conf = write_config(os.path.join(workdir, "imapd-certbot.conf"), spool,
                        pam_service, os.path.join(workdir, "nonexistent-ssl"),
                        "tls_cert = %s/fullchain.pem\ntls_key = %s/privkey.pem\n"
                        % (live, live))
    srv = launch_daemon(argv=[imapd, "--tls", "--config", conf])
    c = tls_connect(srv)
    assert c.cn == "mail.example"
    c.close()
    chk = subprocess.run([imapd, "--check", "--config", conf], capture_output=True,
                         text=True, timeout=30)
    assert "ok: %s/fullchain.pem" % live in chk.stdout, chk.stdout


def test_admin_symlinks_are_followed(imapd, ipop3d, launch_daemon, workdir, spool,
                                     pam_service, user):
    """What only an administrator can change stays reachable through links
    (security issue): ipop3d.pem as a link to imapd.pem, as the classic
    guides say; certbot's live/ links into archive/; the configuration file
    itself a link. The monitor reads them all as root before it drops."""
    root = os.path.join(workdir, "admin-links")
    ssl_dir = T.make_ssl_dir(os.path.join(root, "ssl"))
    T.make_pem(os.path.join(ssl_dir, "certs", "imapd.pem"), "shared.test")
    os.symlink("imapd.pem", os.path.join(ssl_dir, "certs", "ipop3d.pem"))
    archive = os.path.join(root, "letsencrypt", "archive", "mail.example")
    live = os.path.join(root, "letsencrypt", "live", "mail.example")
    os.makedirs(live)
    key = T.new_key()
    T.write(os.path.join(archive, "fullchain1.pem"),
            T.cert_pem(T.new_cert(key, "mail.example")), 0o644)
    T.write(os.path.join(archive, "privkey1.pem"), T.key_pem(key))
    for name in ("fullchain", "privkey"):
        os.symlink("../../archive/mail.example/%s1.pem" % name,
                   os.path.join(live, name + ".pem"))
    real = write_config(os.path.join(root, "imapd.conf.real"), spool, pam_service, ssl_dir,
                        "tls_cert = %s/fullchain.pem\ntls_key = %s/privkey.pem\n"
                        % (live, live))
    conf = os.path.join(root, "imapd.conf")
    os.symlink(real, conf)
    srv = launch_daemon(argv=[imapd, "--tls", "--config", conf])
    c = tls_connect(srv)
    assert c.cn == "mail.example"
    assert login(c, user).ok
    c.close()
    pop_conf = write_config(os.path.join(root, "pop.conf.real"), spool, pam_service, ssl_dir)
    pop_link = os.path.join(root, "pop.conf")
    os.symlink(pop_conf, pop_link)
    pop = launch_daemon(argv=[ipop3d, "--tls", "--config", pop_link])
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    with socket.create_connection((pop.host, pop.port), timeout=20) as raw:
        with ctx.wrap_socket(raw) as s:
            assert s.recv(512).startswith(b"+OK")
            assert T.peer_cn(s) == "shared.test"


def test_min_version_13(imapd, launch_daemon, workdir, spool, pam_service, ssl_dir):
    conf = write_config(os.path.join(workdir, "imapd-13.conf"), spool, pam_service,
                        ssl_dir, "tls_min_version = 1.3\n")
    srv = launch_daemon(argv=[imapd, "--tls", "--config", conf])
    c = tls_connect(srv)
    assert c.version == "TLSv1.3"
    c.close()
    with pytest.raises((ssl.SSLError, ConnectionError, EOFError)):
        tls_connect(srv, context=T.client_context(maximum=ssl.TLSVersion.TLSv1_2))


# ---------------------------------------------------------------- broken setups

def pem_path(lab):
    return os.path.join(lab, "certs", "imapd.pem")


def setup_missing(lab):
    return "does not exist"


def setup_directory(lab):
    os.mkdir(pem_path(lab))
    return "not a regular PEM file"


def setup_world_readable(lab):
    T.make_pem(pem_path(lab), "open.test", mode=0o644)
    return "every user may read it"


def setup_expired(lab):
    T.make_pem(pem_path(lab), "old.test", days_before=100, days_after=-10)
    return "expired on"


def setup_not_yet_valid(lab):
    T.make_pem(pem_path(lab), "future.test", days_before=-10, days_after=100)
    return "not valid before"


def setup_encrypted(lab):
    key = T.new_key()
    T.write(pem_path(lab), T.key_pem(key, b"secret") +
            T.cert_pem(T.new_cert(key, "enc.test")))
    return "is encrypted"


def setup_mismatch(lab):
    T.write(pem_path(lab), T.key_pem(T.new_key()) +
            T.cert_pem(T.new_cert(T.new_key(), "mismatch.test")))
    return "does not belong to the certificate"


def setup_no_key(lab):
    T.write(pem_path(lab), T.cert_pem(T.new_cert(T.new_key(), "nokey.test")), 0o644)
    return "holds no private key"


BROKEN = [setup_missing, setup_directory, setup_world_readable, setup_expired,
          setup_not_yet_valid, setup_encrypted, setup_mismatch, setup_no_key]


@pytest.mark.parametrize("setup", BROKEN, ids=lambda f: f.__name__[6:])
def test_broken_setup_reported_by_check(setup, lab, lab_config, imapd):
    phrase = setup(lab)
    p = subprocess.run([imapd, "--check", "--config", lab_config],
                       capture_output=True, text=True, timeout=30)
    assert p.returncode != 0, p.stdout
    lines = [l for l in p.stdout.splitlines()
             if l.startswith("problem:") and phrase in l]
    assert lines, p.stdout
    assert pem_path(lab) in lines[0] or "private" in lines[0], lines[0]


@pytest.mark.parametrize("setup", BROKEN, ids=lambda f: f.__name__[6:])
def test_broken_setup_implicit_tls_logs_and_closes(setup, lab, lab_servers, syslog):  # noqa: F811
    implicit, _ = lab_servers
    phrase = setup(lab)
    with pytest.raises((ssl.SSLError, ConnectionError, EOFError, OSError)):
        c = tls_connect(implicit)
        c.close()
    lines = collect(syslog, re.escape(phrase))
    line = [l for l in lines if phrase in l][-1]
    assert "TLS refused" in line and "[127.0.0.1]" in line, line


@pytest.mark.parametrize("setup", BROKEN, ids=lambda f: f.__name__[6:])
def test_broken_setup_starttls_says_no_and_stays_usable(setup, lab, lab_servers,
                                                         syslog):  # noqa: F811
    _, plain = lab_servers
    phrase = setup(lab)
    c = T.TLSIMAP(plain.host, plain.port, implicit=False)
    try:
        r = c.starttls()
        assert r.status == "NO", r
        assert "certificate" in r.text
        assert c.command("NOOP").ok          # still talking, in plaintext
        lines = collect(syslog, re.escape(phrase))
        assert any("STARTTLS refused" in l for l in lines), lines
    finally:
        c.close()


def test_check_passes_on_a_good_setup(imapd, tls_config):
    p = subprocess.run([imapd, "--check", "--config", tls_config],
                       capture_output=True, text=True, timeout=30)
    assert p.returncode == 0, p.stdout
    assert "ok: %s" % os.path.join(os.path.dirname(tls_config), "ssl", "certs",
                                   "imapd.pem") in p.stdout, p.stdout


def test_check_reports_bad_tls_keys(imapd, workdir, spool, pam_service, ssl_dir):
    conf = write_config(os.path.join(workdir, "imapd-badkeys.conf"), spool, pam_service,
                        ssl_dir, "tls_min_version = 1.0\ntls_ciphers = NOSUCHCIPHER\n")
    p = subprocess.run([imapd, "--check", "--config", conf], capture_output=True,
                       text=True, timeout=30)
    assert p.returncode != 0
    assert "tls_min_version" in p.stdout and "tls_ciphers" in p.stdout, p.stdout


def test_mkcert_makes_a_usable_certificate(workdir, imapd, spool, pam_service,
                                           launch_daemon):
    repo = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    d = os.path.join(workdir, "mkcert-ssl")
    p = subprocess.run(["sh", os.path.join(repo, "src", "mkcert.sh"), d, "imapd"],
                       capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, p.stderr
    assert "TESTING ONLY" in p.stdout
    pem = os.path.join(d, "certs", "imapd.pem")
    st = os.stat(pem)
    assert st.st_mode & 0o777 == 0o600 and st.st_uid == 0
    conf = write_config(os.path.join(workdir, "imapd-mkcert.conf"), spool, pam_service, d)
    chk = subprocess.run([imapd, "--check", "--config", conf], capture_output=True,
                         text=True, timeout=30)
    assert "ok: " + pem in chk.stdout, chk.stdout
    srv = launch_daemon(argv=[imapd, "--tls", "--config", conf])
    c = tls_connect(srv)
    assert c.greeting[:2] == ["*", "OK"]
    c.close()


# ---------------------------------------------------------------- session resumption
# Every connection is a new process: resumption works only through the
# ticket key file shared in ssl_dir/private (current + previous key, rotated
# after 12 hours).

@pytest.fixture(scope="session")
def tk_dir(workdir):
    d = T.make_ssl_dir(os.path.join(workdir, "ssl-tickets"))
    T.make_pem(os.path.join(d, "certs", "imapd.pem"), "tickets.test")
    return d


@pytest.fixture(scope="session")
def tk_config(workdir, spool, pam_service, tk_dir):
    return write_config(os.path.join(workdir, "imapd-tickets.conf"), spool,
                        pam_service, tk_dir)


@pytest.fixture(scope="session")
def tk_server(launch_daemon, imapd, tk_config):
    return launch_daemon(argv=[imapd, "--tls", "--config", tk_config])


VERSIONS = {
    "TLSv1.2": lambda: T.client_context(maximum=ssl.TLSVersion.TLSv1_2),
    "TLSv1.3": lambda: T.client_context(minimum=ssl.TLSVersion.TLSv1_3),
}


@pytest.mark.parametrize("version", sorted(VERSIONS))
def test_session_resumed_by_the_next_process(version, tk_server, tk_dir, fresh, user):
    first, second = T.resume_pair(tk_server.host, tk_server.port, VERSIONS[version]())
    try:
        assert first.version == version and not first.sock.session_reused
        assert first.sock.session.has_ticket
        assert second.version == version
        assert second.sock.session_reused, "the second process did not resume"
        assert second.greeting[:2] == ["*", "OK"], second.greeting_raw
        assert login(second, user).ok
        assert second.command("LOGOUT").ok
    finally:
        first.close()
        second.close()
    st = os.stat(T.ticket_file(tk_dir))
    assert st.st_uid == 0 and st.st_mode & 0o777 == 0o600, oct(st.st_mode)


@pytest.mark.parametrize("flag", ["-tls1_2", "-tls1_3"])
def test_session_resumed_with_openssl_s_client(flag, tk_server, tmp_path):
    sess = str(tmp_path / "session.pem")

    def s_client(*extra):
        p = subprocess.run(["openssl", "s_client", flag, "-connect",
                            "%s:%d" % (tk_server.host, tk_server.port), "-ign_eof"] + list(extra),
                           input=b"a NOOP\r\nb LOGOUT\r\n", capture_output=True,
                           timeout=30)
        out = (p.stdout + p.stderr).decode("utf-8", "replace")
        assert "b OK" in out, out
        return out

    out = s_client("-sess_out", sess)
    assert re.search(r"^New, TLSv1", out, re.M), out
    # tickets live 11 hours, less than the 12 between key rotations
    assert "lifetime hint: 39600 (seconds)" in out, out
    out = s_client("-sess_in", sess)
    assert re.search(r"^Reused, TLSv1", out, re.M), out


def test_ticket_from_before_rotation_still_resumes(tk_server, tk_dir):
    ctx = T.client_context()
    c = T.TLSIMAP(tk_server.host, tk_server.port, context=ctx)
    c.close()
    old_current, _ = T.ticket_key_names(tk_dir)
    first = T.TLSIMAP(tk_server.host, tk_server.port, context=ctx)
    ticket = first.sock.session
    first.close()
    T.age_ticket_file(tk_dir, 13)
    # this connection rotates the key and still takes the older ticket
    c = T.TLSIMAP(tk_server.host, tk_server.port, context=ctx, session=ticket)
    assert c.sock.session_reused
    c.close()
    current, previous = T.ticket_key_names(tk_dir)
    assert previous == old_current and current != old_current
    assert time.time() - os.stat(T.ticket_file(tk_dir)).st_mtime < 60
    # a second rotation retires the key: the old ticket now means a full handshake
    T.age_ticket_file(tk_dir, 13)
    T.TLSIMAP(tk_server.host, tk_server.port, context=ctx).close()
    assert T.ticket_key_names(tk_dir)[1] == current
    c = T.TLSIMAP(tk_server.host, tk_server.port, context=ctx, session=ticket)
    assert not c.sock.session_reused
    assert c.greeting[:2] == ["*", "OK"]
    c.close()


def test_concurrent_first_connections_agree_on_one_key(lab, lab_servers):
    """Many processes find no key file at once: the lock lets one create
    it and the others use it, so every ticket is readable by the rest."""
    T.make_pem(pem_path(lab), "race.test")
    implicit, _ = lab_servers
    ctx = T.client_context()
    import concurrent.futures
    with concurrent.futures.ThreadPoolExecutor(8) as ex:
        conns = list(ex.map(lambda _: T.TLSIMAP(implicit.host, implicit.port, context=ctx),
                            range(8)))
    sessions = [c.sock.session for c in conns]
    for c in conns:
        c.close()
    for s in sessions:
        c = T.TLSIMAP(implicit.host, implicit.port, context=ctx, session=s)
        assert c.sock.session_reused
        c.close()
    assert os.listdir(os.path.join(lab, "private")) == [T.TICKET_FILE]


def keys_world_readable(lab):
    T.write(T.ticket_file(lab), T.TICKET_MAGIC + os.urandom(2 * T.TICKET_KEY_SIZE), 0o644)
    return "chmod 600"


def keys_damaged(lab):
    T.write(T.ticket_file(lab), b"not a key file\n")
    return "is damaged"


def keys_directory(lab):
    os.mkdir(T.ticket_file(lab))
    return "not a regular file"


KEYS_BROKEN = [keys_world_readable, keys_damaged, keys_directory]


@pytest.mark.parametrize("setup", KEYS_BROKEN, ids=lambda f: f.__name__[5:])
def test_unusable_ticket_keys_mean_no_resumption(setup, lab, lab_servers, syslog):  # noqa: F811
    implicit, _ = lab_servers
    T.make_pem(pem_path(lab), "nokeys.test")
    phrase = setup(lab)
    before = open(T.ticket_file(lab), "rb").read() if os.path.isfile(T.ticket_file(lab)) \
        else None
    first, second = T.resume_pair(implicit.host, implicit.port)
    try:
        assert first.greeting[:2] == ["*", "OK"] and second.greeting[:2] == ["*", "OK"]
        assert not second.sock.session_reused
        assert second.command("NOOP").ok
    finally:
        first.close()
        second.close()
    lines = collect(syslog, re.escape(T.ticket_file(lab)))
    line = [l for l in lines if T.ticket_file(lab) in l][-1]
    assert "resumption off" in line and phrase in line, line
    if before is not None:     # never overwritten behind the administrator's back
        assert open(T.ticket_file(lab), "rb").read() == before


def test_check_reports_ticket_keys(lab, lab_config, imapd):
    T.make_pem(pem_path(lab), "check.test")

    def check():
        p = subprocess.run([imapd, "--check", "--config", lab_config],
                           capture_output=True, text=True, timeout=30)
        assert p.returncode == 0, p.stdout
        return [l for l in p.stdout.splitlines() if T.TICKET_FILE in l]

    lines = check()
    assert len(lines) == 1 and lines[0].startswith("ok:") and "will be created" in lines[0]
    assert not os.path.exists(T.ticket_file(lab))       # --check creates nothing
    keys_world_readable(lab)
    lines = check()
    assert len(lines) == 1 and lines[0].startswith("warning:") and "chmod 600" in lines[0]
    os.chmod(T.ticket_file(lab), 0o600)
    lines = check()
    assert len(lines) == 1 and lines[0].startswith("ok:"), lines


# ---------------------------------------------------------------- testssl.sh

def test_testssl_finds_nothing_wrong(tls_server):
    """testssl.sh (Debian package testssl.sh) against the implicit TLS port:
    protocols, cipher categories, forward secrecy, cipher order and the
    known vulnerabilities. Certificate trust is left out on purpose: the
    test certificate is self-signed."""
    exe = shutil.which("testssl") or shutil.which("testssl.sh")
    if not exe:
        pytest.skip("testssl.sh is not installed (apt-get install testssl.sh)")
    p = subprocess.run([exe, "--fast", "--quiet", "--color", "0", "--warnings", "off",
                        "-p", "-s", "-f", "-P", "-U",
                        "%s:%d" % (tls_server.host, tls_server.port)],
                       capture_output=True, text=True, timeout=300)
    out = p.stdout
    summary = [l for l in out.splitlines()
               if re.match(r"^ (SSLv|TLS |NULL|Anonymous|Export|LOW|Triple|Obsolete|"
                           r"Strong|PFS|Elliptic|Has server|Heartbleed|CCS|ROBOT|"
                           r"Secure|CRIME|POODLE|SWEET32|FREAK|DROWN|LOGJAM|BEAST|"
                           r"LUCKY13|RC4)", l)]
    print("testssl.sh summary:\n" + "\n".join(summary))
    assert "TLS 1.3    offered" in out and "TLS 1.2    offered" in out, out
    bad = [l for l in out.splitlines() if "NOT ok" in l or "VULNERABLE" in l]
    assert not bad, "\n".join(bad)
