# COMPRESS=DEFLATE (RFC 4978): after the tagged OK both directions are raw
# deflate (no zlib header), flushed at the end of every response burst, over
# the plain port, after STARTTLS and over implicit TLS; mbsync (which uses
# COMPRESS when offered) syncs through it. A decompression bomb meets the
# same line limit as clear text.
import os
import re
import subprocess
import zlib

import pytest

from helpers import mailstore
from helpers import tls as T

MAIL_FORMATS = mailstore.FORMATS


class DeflateSock:
    """The client end of a deflate stream over sock (plain or TLS): what
    RawIMAP needs of a socket (sendall, makefile) and of its file (readline,
    read), counting the bytes on the wire both ways."""

    def __init__(self, sock):
        self.sock = sock
        self.z_out = zlib.compressobj(6, zlib.DEFLATED, -15)
        self.z_in = zlib.decompressobj(-15)
        self.buf = b""
        self.wire_in = self.wire_out = self.plain_in = 0

    def sendall(self, data):
        out = self.z_out.compress(data) + self.z_out.flush(zlib.Z_SYNC_FLUSH)
        self.wire_out += len(out)
        self.sock.sendall(out)

    def _more(self):
        raw = self.sock.recv(65536)
        if not raw:
            return False
        self.wire_in += len(raw)
        got = self.z_in.decompress(raw)
        self.plain_in += len(got)
        self.buf += got
        return True

    def readline(self):
        while b"\n" not in self.buf:
            if not self._more():
                line, self.buf = self.buf, b""
                return line
        i = self.buf.index(b"\n") + 1
        line, self.buf = self.buf[:i], self.buf[i:]
        return line

    def read(self, n):
        while len(self.buf) < n and self._more():
            pass
        data, self.buf = self.buf[:n], self.buf[n:]
        return data

    def makefile(self, mode):
        return self

    def close(self):
        self.sock.close()


def compress(c, tag="Z1"):
    """COMPRESS DEFLATE on RawIMAP c; on OK c speaks deflate from then on."""
    c.send(tag.encode() + b" COMPRESS DEFLATE\r\n")
    r = c.read_until(tag)
    if r.ok:
        c.sock = c.f = DeflateSock(c.sock)
    return r


def fetch_all(c, n):
    r = c.command("FETCH 1:%d BODY.PEEK[]" % n)
    assert r.ok, r
    got = r.fetches()
    return [got[i]["BODY[]"] for i in sorted(got)]


def crlf(data):
    return data.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")


def test_capability_after_login_only(conn, user):
    before = conn.command("CAPABILITY").named("CAPABILITY")[0]
    assert "COMPRESS=DEFLATE" not in before
    conn.login(user.name, user.password)
    after = conn.command("CAPABILITY").named("CAPABILITY")[0]
    assert "COMPRESS=DEFLATE" in after


def test_compress_then_mail_over_plain(client, inbox):
    r = compress(client)
    assert r.ok and r.text == "DEFLATE active", r
    z = client.sock
    r = client.command("SELECT INBOX")
    assert r.ok and r.numbered("EXISTS") == [len(inbox)], r
    assert fetch_all(client, len(inbox)) == [crlf(e.data) for e in inbox]
    # the server's stream is raw deflate: our inflater took every byte
    assert z.z_in.unused_data == b"" and not z.z_in.eof
    assert z.wire_in < z.plain_in, (z.wire_in, z.plain_in)
    print("compress: %d octets of responses in %d on the wire; commands %d" %
          (z.plain_in, z.wire_in, z.wire_out))
    r = client.command("LOGOUT")
    assert r.ok and r.named("BYE"), r


def test_idle_through_compress(client, inbox, mail_store, user):
    # the "+ idling" and the news are flushed whole: nothing waits in the
    # compressor while the client waits for them
    assert compress(client).ok
    assert client.command("SELECT INBOX").ok
    client.send(b"I1 IDLE\r\n")
    assert client.read_response() == b"+ idling"
    mail_store.deliver(user, inbox[0])
    assert client.read_response() == b"* %d EXISTS" % (len(inbox) + 1)
    client.send(b"DONE\r\n")
    r = client.read_until("I1")
    assert r.ok, r


def test_preauth_session_with_everything_in_one_write(imapd_as, user, inbox):
    # a pre-authenticated session (ssh) on pipes; the compressed commands
    # arrive with COMPRESS in one read, so they are already in the
    # server's buffer when compression starts
    z = zlib.compressobj(6, zlib.DEFLATED, -15)
    after = z.compress(b"b SELECT INBOX\r\nc LOGOUT\r\n") + z.flush(zlib.Z_SYNC_FLUSH)
    r = imapd_as(user, b"a COMPRESS DEFLATE\r\n" + after)
    clear, sep, rest = r.stdout.partition(b"a OK DEFLATE active\r\n")
    assert sep and clear.startswith(b"* PREAUTH "), r.stdout[:300]
    out = zlib.decompressobj(-15).decompress(rest)
    assert b"* %d EXISTS\r\n" % len(inbox) in out, out
    assert b"b OK [READ-WRITE] SELECT completed\r\n" in out, out
    assert out.endswith(b"* BYE Logging out\r\nc OK LOGOUT completed\r\n"), out
    assert r.returncode == 0, r.stderr


def test_compress_twice_is_no_compressionactive(client):
    assert compress(client).ok
    r = compress(client, "Z2")
    assert r.status == "NO" and r.code == "COMPRESSIONACTIVE", r
    # still compressed, still working
    assert client.command("NOOP").ok


def test_unknown_mechanism_is_bad_and_nothing_changes(client):
    client.send(b"Z1 COMPRESS LZW\r\n")
    r = client.read_until("Z1")
    assert r.status == "BAD", r
    client.send(b"Z2 COMPRESS\r\n")
    assert client.read_until("Z2").status == "BAD"
    # the session is still in clear
    assert client.command("NOOP").ok


def test_not_before_login(conn):
    r = compress(conn)
    assert r.status == "BAD" and "before login" in r.text, r
    assert conn.command("NOOP").ok


def test_pipelined_commands_after_ok_arrive_compressed(client, inbox):
    # the client may send its next (compressed) command in the same write
    # as nothing but the COMPRESS line, right after reading the OK
    client.send(b"Z1 COMPRESS DEFLATE\r\n")
    assert client.read_until("Z1").ok
    z = DeflateSock(client.sock)
    client.sock = client.f = z
    client.send(b"A1 SELECT INBOX\r\nA2 NOOP\r\n")
    r1 = client.read_until("A1")
    r2 = client.read_until("A2")
    assert r1.ok and r2.ok, (r1, r2)


def server_pid_of(c, user):
    """The session process serving user (one connection at a time here)."""
    out = subprocess.run(["pgrep", "-u", str(user.uid), "imapd"],
                         stdout=subprocess.PIPE).stdout.split()
    assert len(out) == 1, out
    return int(out[0])


def test_decompression_bomb_meets_the_line_limit(client, user):
    # 16 KiB of deflate that inflate to some 16 MiB of "a" (a 1000:1
    # bomb), sent at once: the server inflates no more than its line limit
    # (64 KiB by default), says goodbye and ends the session. (All is sent
    # before reading: a client still sending when the server closes gets a
    # reset that may eat the BYE.)
    z = zlib.compressobj(9, zlib.DEFLATED, -15)
    assert compress(client).ok
    pid = server_pid_of(client, user)
    before = vm_hwm(pid)
    bomb = z.compress(b"T9 NOOP ") + z.compress(b"a" * (32 << 20)) + \
        z.flush(zlib.Z_SYNC_FLUSH)
    assert len(bomb) < 64 << 10, len(bomb)
    assert len(zlib.decompressobj(-15).decompress(bomb[:16384])) > 15 << 20
    client.sock.sock.sendall(bomb[:16384])
    peaks = [before, vm_hwm(pid)]
    line = client.read_response()
    assert line == b"* BYE Command line too long (the limit is 65536 bytes)", line
    with pytest.raises(EOFError):
        client.read_response()
    # while it read, its memory stayed that of any session (the sanitizer
    # build's shadow memory included), far from what the bomb makes;
    # tests/unit/test-io-deflate.c measures the same to the byte
    print("bomb: peak RSS %s KiB" % peaks)
    assert before and max(p for p in peaks if p) < 64 * 1024, peaks


def vm_hwm(pid):
    """Peak resident memory of a live process in KiB; None once it is gone."""
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        return None
    return None


def test_garbage_instead_of_deflate_ends_the_session(client):
    assert compress(client).ok
    client.sock.sock.sendall(b"\xff" * 64 + b"T1 NOOP\r\n")
    with pytest.raises((EOFError, ConnectionResetError)):
        client.read_response()


def test_unauthenticate_is_refused_once_compressed(client):
    assert compress(client).ok
    r = client.command("UNAUTHENTICATE")
    assert r.status == "NO" and "COMPRESS" in r.text, r
    assert client.command("NOOP").ok


# ---------------------------------------------------------------- TLS


@pytest.fixture(scope="module")
def tls_dir(workdir):
    d = T.make_ssl_dir(os.path.join(workdir, "ssl-compress"))
    T.make_pem(os.path.join(d, "certs", "imapd.pem"), "localhost")
    return d


def test_compress_over_implicit_tls(server_with, tls_dir, user, inbox):
    srv = server_with("ssl_dir = %s" % tls_dir, tls=True)
    c = T.TLSIMAP(srv.host, srv.port)
    try:
        c.login(user.name, user.password)
        assert compress(c).ok
        assert c.command("SELECT INBOX").ok
        assert fetch_all(c, len(inbox)) == [crlf(e.data) for e in inbox]
        assert c.sock.wire_in < c.sock.plain_in
    finally:
        c.close()


def test_compress_after_starttls(server_with, tls_dir, user, inbox):
    srv = server_with("ssl_dir = %s" % tls_dir)
    c = T.TLSIMAP(srv.host, srv.port, implicit=False)
    try:
        assert c.starttls().ok
        c.login(user.name, user.password)
        assert compress(c).ok
        r = c.command("SELECT INBOX")
        assert r.ok and r.numbered("EXISTS") == [len(inbox)], r
        assert fetch_all(c, len(inbox)) == [crlf(e.data) for e in inbox]
    finally:
        c.close()


# ---------------------------------------------------------------- mbsync


def mbsync_rc(path, port, user, local, ssl_line):
    with open(path, "w") as f:
        f.write("IMAPAccount t\nHost localhost\nPort %d\nUser %s\nPass %s\n%s\n"
                "AuthMechs LOGIN\n\nIMAPStore remote\nAccount t\n\n"
                "MaildirStore local\nPath %s/\nInbox %s/INBOX\n\n"
                "Channel all\nFar :remote:\nNear :local:\nPatterns INBOX\n"
                "Create Near\nSyncState *\n"
                % (port, user.name, user.password, ssl_line, local, local))


@pytest.mark.parametrize("transport", ["plain", "imaps"])
def test_mbsync_syncs_through_compress(server, server_with, tls_dir, transport, user, inbox,
                                       tmp_path):
    local = tmp_path / "Mail"
    local.mkdir()
    rc = str(tmp_path / "mbsyncrc")
    if transport == "plain":
        mbsync_rc(rc, server.port, user, str(local), "SSLType None")
    else:
        srv = server_with("ssl_dir = %s" % tls_dir, tls=True)
        mbsync_rc(rc, srv.port, user, str(local), "SSLType IMAPS\nCertificateFile %s"
                  % os.path.join(tls_dir, "certs", "imapd.pem"))
    r = subprocess.run(["mbsync", "-c", rc, "-D", "all"], stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, timeout=120)
    out = r.stdout.decode("utf-8", "replace")
    assert r.returncode == 0, out
    # mbsync's protocol log: it asked for compression and got it
    assert re.search(r"(?m)^F: >>> \d+ COMPRESS DEFLATE\r?$", out), out[-3000:]
    assert re.search(r"(?m)^F: \d+ OK DEFLATE active\r?$", out), out[-3000:]
    got = []
    for sub in ("new", "cur"):
        for fn in os.listdir(local / "INBOX" / sub):
            data = (local / "INBOX" / sub / fn).read_bytes()
            got.append(re.sub(rb"(?m)^X-TUID: [^\n]*\n", b"", data, count=1))
    assert sorted(got) == sorted(e.data for e in inbox)


def test_offlineimap_syncs_through_compress(server, user, inbox, tmp_path):
    # offlineimap (imaplib2) compresses when the repository says so
    rc = tmp_path / "offlineimaprc"
    rc.write_text("[general]\naccounts = t\nmetadata = %s/meta\n\n"
                  "[Account t]\nlocalrepository = local\nremoterepository = remote\n\n"
                  "[Repository local]\ntype = Maildir\nlocalfolders = %s/mail\n\n"
                  "[Repository remote]\ntype = IMAP\nremotehost = %s\nremoteport = %d\n"
                  "remoteuser = %s\nremotepass = %s\nssl = no\nstarttls = no\n"
                  "usecompression = yes\nfolderfilter = lambda f: f == 'INBOX'\n"
                  % (tmp_path, tmp_path, server.host, server.port, user.name, user.password))
    r = subprocess.run(["offlineimap", "-c", str(rc), "-o", "-u", "basic", "-d", "imap"],
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=120)
    out = r.stdout.decode("utf-8", "replace")
    assert r.returncode == 0, out[-3000:]
    assert "COMPRESS DEFLATE" in out and "DEFLATE active" in out, out[-3000:]
    got = []
    for sub in ("new", "cur"):
        d = tmp_path / "mail" / "INBOX" / sub
        for fn in os.listdir(d):
            got.append((d / fn).read_bytes())
    assert sorted(got) == sorted(e.data for e in inbox)
