# The client's classic name flags that had no test of their own (issue 13):
# /validate-cert, /secure, /service= and /norsh, and two promises of its
# TLS: nothing below TLS 1.2, and the mailbox name's host sent as SNI (none
# for an address). mtest runs as a test user against our imapd/ipop3d or a
# stand-in server on loopback.
import os
import socket
import ssl
import subprocess
import warnings

import pytest

from test_imap_client import (LOGOUT, SELECT_EMPTY, FakeServer, ScriptServer, expand,  # noqa: F401
                              mtest, pki, run_as, tls_server)
from test_pop3_client import pop_ssl_dirs, pop_with  # noqa: F401 (fixtures)


def refused(name, host, reason):
    return "NO %s: TLS certificate of %s not accepted: %s\n" % (name, host, reason)


def refusal(mtest, fake, name):
    """What mtest says when opening name on the stand-in fake fails."""
    r = mtest("open " + name)
    fake.close()
    assert r.returncode == 1, r
    return r.stdout.decode()


def test_validate_cert_undoes_novalidate_cert(mtest, tls_server, user):
    """The default made explicit, and the last flag wins: a wrong-name and a
    self-signed certificate are refused again after /novalidate-cert."""
    for kind, reason in (("wrong-name", "hostname mismatch"),
                         ("self-signed", "self-signed certificate")):
        srv = tls_server(kind)
        name = "{localhost:%d/ssl/novalidate-cert/validate-cert}INBOX" % srv.port
        r = mtest("open " + name)
        assert r.returncode == 1 and r.stdout.decode() == refused(name, "localhost", reason)


def test_validate_cert_accepts_the_right_certificate(mtest, tls_server, spool, user, sample):
    spool.write(user, sample)
    srv = tls_server()
    name = "{localhost:%d/ssl/validate-cert}INBOX" % srv.port
    r = mtest("open " + name)
    assert r.returncode == 0, r
    assert r.stdout.decode().startswith(name + ": 4 messages, ")


def test_secure_never_sends_a_password_in_clear(mtest, user):
    """/notls alone may log in in clear on loopback (test_imap_client);
    /secure forbids it, and the server hears no LOGIN or AUTHENTICATE."""
    fake = FakeServer()
    name = "{127.0.0.1:%d/notls/secure}INBOX" % fake.port
    assert refusal(mtest, fake, name) == ("NO %s: 127.0.0.1: /secure: refusing to send a "
                                          "password in clear\n" % name)
    assert b"LOGIN" not in fake.received and b"AUTHENTICATE" not in fake.received
    assert user.password.encode() not in fake.received


def test_secure_over_starttls_logs_in(mtest, tls_server, spool, user, sample):
    spool.write(user, sample)
    srv = tls_server(implicit=False)
    name = "{localhost:%d/secure/debug}INBOX" % srv.port
    r = mtest("open " + name)
    assert r.returncode == 0, r
    assert b"C: A0001 STARTTLS\n" in r.stderr
    assert r.stdout.decode().startswith(name + ": 4 messages, ")


def test_service_pop3_reaches_ipop3d(mtest, pop_with, spool, user, sample):
    """/service=pop3 is /pop3: ipop3d's greeting and commands, not IMAP's."""
    spool.write(user, sample)
    srv = pop_with()
    name = "{localhost:%d/service=pop3/debug}INBOX" % srv.port
    r = mtest("open " + name, "headers")
    assert r.returncode == 0, (r.stdout, r.stderr)
    trace = r.stderr.decode()
    assert "C: STLS\nS: +OK" in trace and "C: A0001" not in trace
    out = r.stdout.decode()
    assert out.startswith(name + ": 4 messages, 0 recent, uidvalidity ")
    assert len([line for line in out.splitlines() if " subject: " in line]) == 4


def test_service_of_no_protocol_refused(mtest, user):
    name = "{localhost:1/service=smtp}INBOX"
    r = mtest("open " + name)
    assert r.returncode == 1
    assert r.stdout.decode() == ("NO %s: no network driver for the service smtp "
                                 "(imap, pop3, nntp)\n" % name)


def test_norsh_accepted_and_nothing_run(run_as, user, tmp_path):
    """With or without /norsh, the library connects and runs no program
    (the classic one tried `rsh host exec /etc/rimapd` first): strace sees
    no execve after mtest's own."""
    for flags in ("/notls/norsh", "/notls"):
        fill = dict(u=user.name, p=user.password)
        srv = ScriptServer(b"* OK [CAPABILITY IMAP4rev1 SASL-IR AUTH=PLAIN] hi\r\n",
                           [(expand("A0001 AUTHENTICATE PLAIN b64:\0{u}\0{p}", fill),
                             b"A0001 OK in\r\n"), (b'A0002 SELECT "INBOX"', SELECT_EMPTY),
                            LOGOUT])
        name = "{127.0.0.1:%d%s}INBOX" % (srv.port, flags)
        cmd = run_as.command("mtest")
        log = str(tmp_path / "strace")
        cmd["args"] = ["strace", "-f", "-qq", "-e", "trace=execve", "-o", log] + cmd["args"]
        r = subprocess.run(input=("open %s\nquit\n" % name).encode(), timeout=120, **cmd)
        srv.join(30)
        assert srv.done, srv.heard
        assert r.stdout.decode() == "%s: 0 messages, 0 recent, uidvalidity 5, uidnext 0\n" % name
        with open(log) as f:
            execs = [line.split('"')[1] for line in f if "execve(" in line and "= 0" in line]
        assert [os.path.basename(p) for p in execs] == ["setsid", "setpriv", "mtest"], execs


# ---------------------------------------------------------------- TLS

class SniServer(FakeServer):
    """FakeServer on implicit TLS that records the server name each
    ClientHello carried (None when it carried none)."""

    def __init__(self, pem, max_version=None):
        super().__init__(pem=pem)
        self.names = []
        self.tls.sni_callback = lambda sock, name, ctx: self.names.append(name)
        if max_version:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", DeprecationWarning)
                self.tls.set_ciphers("DEFAULT:@SECLEVEL=0")
                self.tls.minimum_version = ssl.TLSVersion.TLSv1
                self.tls.maximum_version = max_version


def good_pem(pki):
    return os.path.join(pki["dirs"]["good"], "certs", "imapd.pem")


@pytest.mark.parametrize("host,sent", [("localhost", "localhost"), ("127.0.0.1", None)])
def test_sni_is_the_mailbox_name_s_host(mtest, pki, user, host, sent):
    fake = SniServer(good_pem(pki))
    name = "{%s:%d/ssl}INBOX" % (host, fake.port)
    r = mtest("open " + name)
    fake.close()
    assert r.returncode == 0, (r.stdout, r.stderr)
    assert fake.names == [sent]


def old_tls_works(port):
    """Whether a client that still allows TLS 1.0/1.1 completes a handshake
    with the server on port: so a refusal is the client's doing."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname, ctx.verify_mode = False, ssl.CERT_NONE
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        ctx.set_ciphers("DEFAULT:@SECLEVEL=0")
        ctx.minimum_version = ssl.TLSVersion.TLSv1
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        with ctx.wrap_socket(s) as t:
            return t.version()


@pytest.mark.parametrize("version", ["TLSv1_1", "TLSv1"])
def test_tls_below_1_2_refused(mtest, pki, user, version):
    probe = SniServer(good_pem(pki), getattr(ssl.TLSVersion, version))
    assert old_tls_works(probe.port) == version.replace("_", ".")
    probe.close()
    fake = SniServer(good_pem(pki), getattr(ssl.TLSVersion, version))
    name = "{localhost:%d/ssl}INBOX" % fake.port
    assert refusal(mtest, fake, name) == ("NO %s: TLS handshake with localhost failed: the "
                                          "server offers no TLS 1.2 or newer (tlsv1 alert "
                                          "protocol version)\n" % name)
    assert fake.received == b""
