# A tiny logging proxy for recording what a real IMAP client and imapd say:
# the client speaks TLS to the proxy (which shows the test certificate, so the
# client still verifies it), the proxy speaks plain IMAP to imapd and keeps
# every byte of both directions, per connection, in order.
import re
import socket
import ssl
import threading
import zlib


class Conversation:
    """The bytes of one client connection: .client and .server streams, as
    sent (after COMPRESS DEFLATE still compressed)."""

    def __init__(self):
        """Both streams empty."""
        self.client = bytearray()
        self.server = bytearray()

    def commands(self):
        """The client's commands, each one line with its literals' data
        left out (the {n} that announced them stays)."""
        sent = bytes(self.client)
        m = re.search(rb"(?im)^\S+ COMPRESS DEFLATE\r\n", sent)
        return _lines(_inflated(sent, m.end() if m else None))

    def responses(self):
        """imapd's lines, literals left out the same way."""
        said = bytes(self.server)
        tag = re.search(rb"(?im)^(\S+) COMPRESS DEFLATE\r\n", bytes(self.client))
        m = tag and re.search(rb"(?m)^" + re.escape(tag.group(1)) + rb" OK[^\r]*\r\n", said)
        return _lines(_inflated(said, m.end() if m else None))


def _inflated(data, start):
    """data with its tail from start on inflated (RFC 4978 raw deflate)."""
    if start is None:
        return data
    return data[:start] + zlib.decompressobj(-15).decompress(data[start:])


def _lines(data):
    """CRLF lines of an IMAP stream, each literal's octets skipped and the
    line it belongs to joined to the one announcing it."""
    out, cur, i = [], b"", 0
    while True:
        j = data.find(b"\r\n", i)
        if j < 0:
            return out
        seg = data[i:j]
        cur += seg
        i = j + 2
        m = re.search(rb"~?\{(\d+)[+-]?\}$", seg)
        if m:
            i += int(m.group(1))
            continue
        out.append(cur)
        cur = b""


class Recorder:
    """Listens on 127.0.0.1 with TLS (cert_file holds key and certificate),
    relays each connection to backend (host, port); .conversations grows
    with each accepted connection."""

    def __init__(self, backend, cert_file):
        """Start listening and accepting at once."""
        self.backend = backend
        self.ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.ctx.load_cert_chain(cert_file)
        self.conversations = []
        self.host = "127.0.0.1"
        self.listener = socket.create_server((self.host, 0))
        self.port = self.listener.getsockname()[1]
        self.threads = []
        t = threading.Thread(target=self._accept, daemon=True)
        t.start()

    def _accept(self):
        """Take connections until close(); one relay pair for each."""
        while True:
            try:
                raw, _ = self.listener.accept()
            except OSError:     # the listener was closed
                return
            conv = Conversation()
            self.conversations.append(conv)
            t = threading.Thread(target=self._serve, args=(raw, conv), daemon=True)
            t.start()
            self.threads.append(t)

    def _serve(self, raw, conv):
        """The TLS handshake, then both directions until either side ends."""
        try:
            front = self.ctx.wrap_socket(raw, server_side=True)
        except (ssl.SSLError, OSError):
            raw.close()
            return
        back = socket.create_connection(self.backend)
        up = threading.Thread(target=_pump, args=(front, back, conv.client), daemon=True)
        up.start()
        _pump(back, front, conv.server)
        up.join(30)
        for s in (front, back):
            s.close()

    def close(self):
        """Stop listening and wait for the open relays to end."""
        try:
            self.listener.shutdown(socket.SHUT_RDWR)    # wakes the accept
        except OSError:
            pass
        self.listener.close()
        for t in self.threads:
            t.join(30)


def _pump(src, dst, log):
    """Copy src to dst, keeping a copy in log, until src ends; then end dst
    for writing so the other direction finishes too."""
    while True:
        try:
            data = src.recv(65536)
        except OSError:
            data = b""
        if not data:
            break
        log += data
        try:
            dst.sendall(data)
        except OSError:
            break
    try:
        dst.shutdown(socket.SHUT_WR)
    except OSError:
        pass
