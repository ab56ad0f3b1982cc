# Certificate refusals of the SMTP and NNTP clients (issue 13), as the IMAP
# and POP3 ones have theirs: a server whose certificate names another host,
# and one that signed its own, are refused with the reason and host named,
# and hear nothing after the handshake (no AUTH, no MAIL, no AUTHINFO).
import os
import socket
import ssl
import threading

import pytest

from test_imap_client import mtest, pki, run_as  # noqa: F401 (fixtures)
from test_nntp_client import inn  # noqa: F401 (a fixture)

REASONS = {"wrong-name": "hostname mismatch", "self-signed": "self-signed certificate"}


class StartTlsSmtp(threading.Thread):
    """An SMTP server on loopback that offers STARTTLS and starts TLS with
    the certificate file pem; .after holds what came over TLS."""

    def __init__(self, pem):
        super().__init__(daemon=True)
        self.ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.ctx.load_cert_chain(pem)
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.heard, self.after = [], b""
        self.start()

    def run(self):
        self.sock.settimeout(30)
        conn, _ = self.sock.accept()
        conn.settimeout(10)
        with conn, conn.makefile("rb") as f:
            conn.sendall(b"220 fake ESMTP\r\n")
            for line in iter(f.readline, b""):
                self.heard.append(line.rstrip(b"\r\n"))
                verb = line[:4].upper()
                if verb == b"EHLO":
                    conn.sendall(b"250-fake\r\n250-AUTH PLAIN\r\n250 STARTTLS\r\n")
                elif verb == b"STAR":
                    conn.sendall(b"220 go ahead\r\n")
                    self.tls(conn)
                    return
                else:
                    conn.sendall(b"503 not before TLS\r\n")

    def tls(self, conn):
        try:
            t = self.ctx.wrap_socket(conn, server_side=True)
            self.after = t.recv(4096)
        except (OSError, ssl.SSLError):
            pass


@pytest.mark.parametrize("kind", ["wrong-name", "self-signed"])
def test_smtp_certificate_refused(mtest, pki, user, kind):
    srv = StartTlsSmtp(os.path.join(pki["dirs"][kind], "certs", "imapd.pem"))
    path = os.path.join(user.home, "msg.eml")
    with open(path, "wb") as f:
        f.write(b"From: a@example.org\nSubject: x\n\nbody\n")
    os.chown(path, user.uid, user.gid)
    name = "localhost:%d/submit/user=%s" % (srv.port, user.name)
    r = mtest("send %s a@example.org %s b@example.org" % (name, path))
    srv.join(30)
    assert r.returncode == 1
    assert r.stdout.decode() == "NO %s: TLS certificate of localhost not accepted: %s\n" % (
        name, REASONS[kind])
    assert srv.heard[-1] == b"STARTTLS" and srv.after == b""


def test_nntp_self_signed_refused(mtest, inn, user):
    port = inn("self-signed")
    name = "{localhost:%d/nntp}local.test" % port
    r = mtest("open " + name)
    assert r.returncode == 1
    assert r.stdout.decode() == ("NO %s: TLS certificate of localhost not accepted: "
                                 "self-signed certificate\n" % name)
