# TLS helpers for the integration tests: certificates made on the fly (any
# name, any dates, keys encrypted or not) with python3-cryptography, an ssl_dir
# laid out as the daemons expect, and an IMAP client that speaks implicit TLS
# or upgrades with STARTTLS (and can resume an earlier TLS session).
import datetime
import os
import socket
import ssl
import time

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from helpers.imapclient import RawIMAP, parse

DAY = datetime.timedelta(days=1)


def new_key():
    return ec.generate_private_key(ec.SECP256R1())


def new_cert(key, cn, sans=("localhost",), days_before=1, days_after=90):
    """A self-signed certificate for cn, valid from now-days_before to
    now+days_after (negative values put the window in the past/future)."""
    now = datetime.datetime.now(datetime.timezone.utc)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])
    alt = [x509.DNSName(s) for s in (cn,) + tuple(sans)]
    return (x509.CertificateBuilder()
            .subject_name(name).issuer_name(name)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - days_before * DAY)
            .not_valid_after(now + days_after * DAY)
            .add_extension(x509.SubjectAlternativeName(alt), critical=False)
            .sign(key, hashes.SHA256()))


def key_pem(key, password=None):
    enc = (serialization.BestAvailableEncryption(password) if password
           else serialization.NoEncryption())
    return key.private_bytes(serialization.Encoding.PEM,
                             serialization.PrivateFormat.PKCS8, enc)


def cert_pem(cert):
    return cert.public_bytes(serialization.Encoding.PEM)


def write(path, data, mode=0o600):
    """Write atomically (as certbot renews: a new file replaces the old)."""
    os.makedirs(os.path.dirname(path), exist_ok=True)
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(data)
    os.chmod(tmp, mode)
    os.replace(tmp, path)


def make_pem(path, cn, key=None, mode=0o600, **kw):
    """key + certificate in one file (the classic layout); returns the key."""
    key = key or new_key()
    write(path, key_pem(key) + cert_pem(new_cert(key, cn, **kw)), mode)
    return key


def make_ssl_dir(root):
    """ssl_dir with certs/ and private/ as the daemons expect."""
    os.makedirs(os.path.join(root, "certs"), exist_ok=True)
    os.makedirs(os.path.join(root, "private"), exist_ok=True)
    os.chmod(os.path.join(root, "private"), 0o700)
    return root


def client_context(minimum=None, maximum=None, ciphers=None):
    """A client context that accepts any certificate (we test which one
    the server presents, not the trust chain)."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    if ciphers:
        ctx.set_ciphers(ciphers)
    if minimum:
        ctx.minimum_version = minimum
    if maximum:
        ctx.maximum_version = maximum
    return ctx


def peer_cn(sslsock):
    der = sslsock.getpeercert(binary_form=True)
    cert = x509.load_der_x509_certificate(der)
    return cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value


class TLSIMAP(RawIMAP):
    """RawIMAP over implicit TLS (implicit=True) or plaintext that can be
    upgraded with starttls()."""

    def __init__(self, host, port, implicit=True, context=None,
                 server_hostname=None, timeout=20, session=None):
        self.ctx = context or client_context()
        self.server_hostname = server_hostname
        self.sock = socket.create_connection((host, port), timeout=timeout)
        if implicit:
            self.sock = self.ctx.wrap_socket(self.sock, server_hostname=server_hostname,
                                             session=session)
        self.f = self.sock.makefile("rb")
        self.ntag = 0
        self.greeting_raw = self.read_response()
        self.greeting = parse(self.greeting_raw)

    def starttls(self, extra=b""):
        """STARTTLS (extra: bytes pipelined right behind it in the same
        write); on OK the connection continues over TLS."""
        tag = self.next_tag()
        self.send(tag.encode() + b" STARTTLS\r\n" + extra)
        r = self.read_until(tag)
        if r.ok:
            self.f.close()
            self.sock = self.ctx.wrap_socket(self.sock,
                                             server_hostname=self.server_hostname)
            self.f = self.sock.makefile("rb")
        return r

    @property
    def cn(self):
        return peer_cn(self.sock)

    @property
    def version(self):
        return self.sock.version()


def capabilities(result):
    lines = result.named("CAPABILITY")
    assert len(lines) == 1, result.raw
    return [c.upper() for c in lines[0][1:]]


TICKET_FILE = "tls-ticket-keys"
TICKET_MAGIC = b"TLSTKT1\n"
TICKET_KEY_SIZE = 16 + 32 + 32      # name, AES-256 key, HMAC-SHA256 key


def ticket_file(ssl_dir):
    return os.path.join(ssl_dir, "private", TICKET_FILE)


def ticket_key_names(ssl_dir):
    """(current, previous) key names from the shared ticket key file."""
    with open(ticket_file(ssl_dir), "rb") as f:
        data = f.read()
    assert data.startswith(TICKET_MAGIC) and \
        len(data) == len(TICKET_MAGIC) + 2 * TICKET_KEY_SIZE, data[:16]
    body = data[len(TICKET_MAGIC):]
    return body[:16], body[TICKET_KEY_SIZE:TICKET_KEY_SIZE + 16]


def age_ticket_file(ssl_dir, hours):
    """Make the key file look `hours` old (the daemon rotates after 12)."""
    t = time.time() - hours * 3600
    os.utime(ticket_file(ssl_dir), (t, t))


def resume_pair(host, port, context=None):
    """Two connections (two daemon processes): the second offers the first's
    session (from the same context, as ssl requires). Returns (first, second),
    both still open."""
    context = context or client_context()
    first = TLSIMAP(host, port, context=context)   # the greeting carries the
    session = first.sock.session                   # TLS 1.3 ticket with it
    second = TLSIMAP(host, port, context=context, session=session)
    return first, second
