# A small, strict IMAP client for the tests: sends commands as a mail client
# would and parses every response (atoms, strings, literals, lists) so tests
# can assert on exact response codes and FETCH data, which imaplib hides.
import re
import socket

ATOM_END = b" ()\r\n"


class Literal(bytes):
    """A string that arrived as a literal {n}."""


class Lit:
    """A literal argument to send: waits for the server's "+" first."""

    def __init__(self, data, nonsync=False):
        self.data = data
        self.nonsync = nonsync


class ParseError(Exception):
    pass


def parse(data):
    """Parse one response (wire bytes, literals inline, no final CRLF)
    into a list: atoms -> str, quoted/literal -> bytes, NIL -> None,
    parenthesized lists -> list. "[...]" stays inside its atom."""
    items, i = _parse_list(data, 0, None)
    return items


def _parse_list(data, i, close):
    items = []
    n = len(data)
    while i < n:
        c = data[i:i + 1]
        if c == b" ":
            i += 1
        elif c == b"(":
            sub, i = _parse_list(data, i + 1, b")")
            items.append(sub)
        elif c == b")":
            if close != b")":
                raise ParseError("unbalanced ) at %d in %r" % (i, data[:200]))
            return items, i + 1
        elif c == b'"':
            s, i = _parse_quoted(data, i + 1)
            items.append(s)
        elif c == b"{" or data[i:i + 2] == b"~{":
            m = re.compile(rb"~?\{(\d+)\+?\}\r\n").match(data, i)
            if not m:
                raise ParseError("bad literal at %d in %r" % (i, data[:200]))
            ln = int(m.group(1))
            start = m.end()
            if start + ln > n:
                raise ParseError("short literal")
            items.append(Literal(data[start:start + ln]))
            i = start + ln
        else:
            a, i = _parse_atom(data, i)
            items.append(None if a.upper() == "NIL" else a)
    if close is not None:
        raise ParseError("missing ) in %r" % data[:200])
    return items, i


def _parse_quoted(data, i):
    out = bytearray()
    while i < len(data):
        c = data[i]
        if c == 0x5C and i + 1 < len(data):
            out.append(data[i + 1])
            i += 2
        elif c == 0x22:
            return bytes(out), i + 1
        else:
            out.append(c)
            i += 1
    raise ParseError("unterminated quoted string")


def _parse_atom(data, i):
    start = i
    depth = 0
    while i < len(data):
        c = data[i:i + 1]
        if c == b"[":
            depth += 1
        elif c == b"]":
            depth = max(0, depth - 1)
        elif depth == 0 and c in (b" ", b"(", b")"):
            break
        elif depth == 0 and c == b"{":
            break
        i += 1
    if i == start:
        raise ParseError("empty atom at %d in %r" % (i, data[:200]))
    return data[start:i].decode("latin-1"), i


def pairs(lst):
    """FETCH attribute list -> dict with upper-cased keys."""
    d = {}
    for k in range(0, len(lst) - 1, 2):
        d[lst[k].upper() if isinstance(lst[k], str) else lst[k]] = lst[k + 1]
    return d


_CODE_RE = re.compile(r"^\[([^\]]*)\]\s*(.*)$", re.S)


class Result:
    """The outcome of one command: tagged status, response code, text, and
    every untagged response received while it ran."""

    def __init__(self, tag, status, rest, untagged, raw):
        self.tag = tag
        self.status = status
        m = _CODE_RE.match(rest)
        self.code = m.group(1) if m else None
        self.text = m.group(2) if m else rest
        self.untagged = untagged    # parsed item lists, "*" removed
        self.raw = raw              # raw bytes of each untagged response

    def __repr__(self):
        return "<%s %s [%s] %s; %d untagged>" % (
            self.tag, self.status, self.code, self.text, len(self.untagged))

    @property
    def ok(self):
        return self.status == "OK"

    def named(self, name):
        """Untagged responses "* NAME ..." (e.g. FLAGS, LIST, SEARCH)."""
        name = name.upper()
        return [u for u in self.untagged
                if u and isinstance(u[0], str) and u[0].upper() == name]

    def numbered(self, name):
        """Numbers n of "* n NAME" responses (EXISTS, RECENT, EXPUNGE)."""
        name = name.upper()
        return [int(u[0]) for u in self.untagged
                if len(u) >= 2 and isinstance(u[1], str) and u[1].upper() == name
                and str(u[0]).isdigit()]

    def codes(self):
        """Response codes of untagged OK/NO/BAD and of the tagged line:
        {"UIDVALIDITY": "123", "READ-WRITE": "", ...}."""
        out = {}
        texts = [r.decode("latin-1") for r in self.raw]
        for t in texts:
            m = re.match(r"^\* (?:OK|NO|BAD) \[([^\]]*)\]", t)
            if m:
                _add_code(out, m.group(1))
        if self.code is not None:
            _add_code(out, self.code)
        return out

    def fetches(self):
        """{seq: {ATTR: value}} merged over all FETCH responses."""
        out = {}
        for u in self.untagged:
            if len(u) >= 3 and isinstance(u[1], str) and u[1].upper() == "FETCH":
                out.setdefault(int(u[0]), {}).update(pairs(u[2]))
        return out

    def search(self):
        out = []
        for u in self.named("SEARCH"):
            out.extend(int(x) for x in u[1:])
        return out


def _add_code(out, code):
    name, _, arg = code.partition(" ")
    out[name.upper()] = arg


class IMAPError(Exception):
    pass


class RawIMAP:
    """One connection. greeting holds the parsed greeting line."""

    def __init__(self, host, port, timeout=20):
        self.sock = socket.create_connection((host, port), timeout=timeout)
        self.f = self.sock.makefile("rb")
        self.ntag = 0
        self.greeting_raw = self.read_response()
        self.greeting = parse(self.greeting_raw)

    def close(self):
        try:
            self.f.close()
            self.sock.close()
        except OSError:
            pass

    def send(self, data):
        if isinstance(data, str):
            data = data.encode()
        self.sock.sendall(data)

    def read_response(self):
        """Raw bytes of one response, literals inline, final CRLF removed.
        Raises EOFError when the server closed the connection."""
        out = b""
        while True:
            line = self.f.readline()
            if not line:
                raise EOFError("connection closed; got %r" % out[:200])
            out += line
            m = re.search(rb"\{(\d+)\}\r\n$", line)
            if m:
                ln = int(m.group(1))
                lit = self.f.read(ln)
                if len(lit) != ln:
                    raise EOFError("connection closed inside literal")
                out += lit
                continue
            if out.endswith(b"\r\n"):
                return out[:-2]
            raise IMAPError("response line not ended by CRLF: %r" % out[:200])

    def next_tag(self):
        self.ntag += 1
        return "T%03d" % self.ntag

    def command(self, *parts, tag=None):
        """Send one command made of str/bytes pieces and Lit literals; read
        until its tagged response. If the server answers a literal with a
        tagged response instead of "+", that response is returned."""
        tag = tag or self.next_tag()
        untagged, raw = [], []
        buf = tag.encode() + b" "
        for p in parts:
            if isinstance(p, Lit):
                plus = "+" if p.nonsync else ""
                buf += ("{%d%s}\r\n" % (len(p.data), plus)).encode()
                self.send(buf)
                buf = b""
                if not p.nonsync:
                    r = self._wait_continue(tag, untagged, raw)
                    if r is not None:
                        return r
                self.send(p.data)
            else:
                buf += p.encode() if isinstance(p, str) else p
        self.send(buf + b"\r\n")
        return self.read_until(tag, untagged, raw)

    def _wait_continue(self, tag, untagged, raw):
        while True:
            resp = self.read_response()
            if resp.startswith(b"+"):
                return None
            r = self._classify(resp, tag, untagged, raw)
            if r is not None:
                return r

    def read_until(self, tag, untagged=None, raw=None):
        untagged = [] if untagged is None else untagged
        raw = [] if raw is None else raw
        while True:
            resp = self.read_response()
            r = self._classify(resp, tag, untagged, raw)
            if r is not None:
                return r

    def _classify(self, resp, tag, untagged, raw):
        if resp.startswith(b"* "):
            raw.append(resp)
            untagged.append(parse(resp[2:]))
            return None
        if resp.startswith(b"+"):
            raise IMAPError("unexpected continuation: %r" % resp)
        t, _, rest = resp.partition(b" ")
        status, _, text = rest.partition(b" ")
        if t.decode("latin-1") != tag:
            raise IMAPError("response for unknown tag: %r" % resp)
        return Result(tag, status.decode("latin-1").upper(),
                      text.decode("latin-1"), untagged, raw)

    def login(self, user, password):
        r = self.command("LOGIN %s %s" % (quote(user), quote(password)))
        if not r.ok:
            raise IMAPError("LOGIN failed: %r" % r)
        return r

    def __enter__(self):
        return self

    def __exit__(self, *a):
        self.close()


def quote(s):
    if isinstance(s, bytes):
        s = s.decode()
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'
