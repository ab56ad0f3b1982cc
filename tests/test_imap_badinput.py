# Hostile and broken clients (RFC 3501 2.2.1, 7.1.3, 9): garbage, unknown
# commands, bad arguments, over-long lines, oversized literals, deep nesting,
# random bytes. The daemon answers BAD (or says BYE and closes cleanly), never
# crashes, never says "+" to a literal it will not take, and stays usable.
import random
import socket
import time

import pytest

from helpers import system
from helpers.imapclient import RawIMAP


def reply(c, tag, limit=200):
    """The server's verdict on one line: ("tagged", status), ("untagged",
    "BAD") for a "* BAD" it could not tie to a tag, or ("eof", None)."""
    try:
        for _ in range(limit):
            resp = c.read_response()
            if resp.startswith((tag + " ").encode()):
                return "tagged", resp.split(b" ")[1].decode().upper()
            if resp.startswith(b"* BAD"):
                return "untagged", "BAD"
            if resp.startswith(b"+"):
                return "continue", None
    except (EOFError, ConnectionResetError):
        return "eof", None
    raise AssertionError("no verdict after %d responses" % limit)


def still_alive(c):
    """The session answers NOOP, or the server closed it (fine too)."""
    try:
        r = c.command("NOOP")
    except (EOFError, ConnectionResetError, BrokenPipeError):
        return True
    return r.ok


def send_line(c, line):
    try:
        c.send(line)
        return True
    except (BrokenPipeError, ConnectionResetError):
        return False


@pytest.mark.parametrize("line", [
    b"\x01\x02\x03 garbage\r\n",
    b"* NOOP\r\n",
    b"+ NOOP\r\n",
    b"a(b NOOP\r\n",
    b"a{b NOOP\r\n",
    b"tagonly\r\n",
    b"\r\n",
    b"   \r\n",
])
def test_garbage_is_bad(conn, line):
    # Each bad line gets a BAD (tagged or "* BAD"); an empty line may also be
    # ignored. Either way the NOOP sent right after it is answered OK.
    assert send_line(conn, line + b"z1 NOOP\r\n")
    seen = []
    while True:
        resp = conn.read_response()
        if resp.startswith(b"z1 "):
            assert resp.startswith(b"z1 OK"), resp
            break
        seen.append(resp)
    assert all(r.split(b" ")[1:2] == [b"BAD"] for r in seen), seen
    if line.strip():
        assert seen, "no BAD for %r" % line


@pytest.mark.parametrize("line", [
    "FROBNICATE",
    "FROBNICATE now please",
    "SELECT",
    "LOGIN onlyone",
    "LOGIN a b c",
    'LOGIN "unterminated',
    "NOOP extra",
    "CAPABILITY please",
    "LOGOUT now",
])
def test_unknown_command_or_bad_arguments_is_bad(conn, line):
    r = conn.command(line)
    assert r.status == "BAD", r
    assert still_alive(conn)


@pytest.mark.parametrize("line", [
    "FETCH 1 (FLAGS",
    "FETCH 1 FLAGS)",
    "FETCH 0 FLAGS",
    "FETCH 1:x FLAGS",
    "FETCH 4294967296 FLAGS",
    "FETCH 1 NOSUCHITEM",
    "FETCH 1 BODY[HEADER.FIELDS]",
    "FETCH 1 BODY[HEADER.FIELDS ()]",
    "FETCH 1 BODY[TEXT",
    "FETCH 1 BODY[]<1.>",
    "FETCH 1 BODY[]<x.1>",
    "STORE 1 FLAGS",
    "STORE 1 +FLAGZ (\\Seen)",
    "STORE 1 +FLAGS (\\NoSuchSystemFlag)",
    "SEARCH FROM",
    "SEARCH SINCE 32-Foo-2026",
    "SEARCH (FROM alice",
    "SEARCH OR FROM alice",
    "UID NOOP",
    "UID FROBNICATE 1",
    "COPY",
    "STATUS INBOX MESSAGES",
    "STATUS INBOX (NOSUCHITEM)",
])
def test_bad_arguments_when_selected(inbox, client, line):
    assert client.command("SELECT INBOX").ok
    r = client.command(line)
    assert r.status in ("BAD", "NO"), r
    if not line.startswith(("STORE 1 +FLAGS (\\No", "STATUS INBOX (NOSUCH")):
        assert r.status == "BAD", r
    assert client.command("NOOP").ok


@pytest.mark.parametrize("line", [
    "FETCH 1 BODY.PEEK[999]",
    "FETCH 1 BODY.PEEK[1.2.3.4.5.6.7.8.9.10.11.12]",
    "FETCH 2 BODY.PEEK[2.1.MIME]",
    "FETCH 1 BODY.PEEK[]<4294967295.4294967295>",
    "FETCH 1 BODY.PEEK[]<0.0>",
    "FETCH *:* FLAGS",
    "FETCH 4:1 FLAGS",
    "FETCH 1,1,1,1 UID",
    "UID FETCH 4294967295 FLAGS",
    "UID FETCH 1:4294967295 UID",
    "SEARCH UID 4294967295",
    "SEARCH LARGER 4294967295",
])
def test_odd_but_valid_requests_do_not_break(inbox, client, line):
    assert client.command("SELECT INBOX").ok
    r = client.command(line)
    assert r.status in ("OK", "NO", "BAD"), r
    assert client.command("NOOP").ok


def test_over_long_line(conn):
    tag = "long1"
    ok = send_line(conn, (tag + " NOOP " + "x" * (1 << 20) + "\r\n").encode())
    kind, status = reply(conn, tag) if ok else ("eof", None)
    assert kind in ("tagged", "untagged", "eof"), kind
    if kind != "eof":
        assert status == "BAD", status
        assert still_alive(conn)


def test_over_long_line_without_newline_is_bounded(server, imapd):
    # A client that never sends CRLF must not make the daemon buffer the
    # line: it may refuse, close, or skip to the next CRLF, but its memory
    # stays far below the 64 MB sent.
    c = RawIMAP(server.host, server.port)
    try:
        sent = 0
        peak = 0
        try:
            c.sock.settimeout(10)
            chunk = b"A" * 65536
            while sent < (64 << 20):
                c.sock.sendall(chunk)
                sent += len(chunk)
                if sent % (8 << 20) == 0:
                    peak = max([peak] + [system.peak_rss(p) for p, _
                                         in system.daemon_processes(imapd)])
            c.send(b"\r\nz1 NOOP\r\n")
            while True:     # a "* BAD" for the long line may come first
                resp = c.read_response()
                if resp.startswith(b"z1 "):
                    assert resp.startswith(b"z1 OK"), resp
                    break
        except (BrokenPipeError, ConnectionResetError, socket.timeout, EOFError):
            pass
        assert peak < (48 << 20), "daemon grew to %d kB on one line" % (peak >> 10)
    finally:
        c.close()


@pytest.mark.parametrize("literal", [
    "{4294967296000}", "{99999999999999999999999}", "{2147483648}",
    "{4294967295}",
])
def test_huge_literal_refused_before_continuation(client, literal):
    tag = "big1"
    assert send_line(client, ("%s APPEND INBOX %s\r\n" % (tag, literal)).encode())
    kind, status = reply(client, tag)
    assert kind != "continue", "server invited a %s literal" % literal
    assert kind == "eof" or status in ("NO", "BAD"), (kind, status)


def test_huge_literal_before_login_refused(conn):
    tag = "big2"
    assert send_line(conn, ("%s LOGIN {100000000}\r\n" % tag).encode())
    kind, status = reply(conn, tag)
    assert kind != "continue", "pre-login literal of 100 MB invited"


@pytest.mark.parametrize("literal", ["{abc}", "{-1}", "{1", "{}"])
def test_malformed_literal_is_bad(client, literal):
    assert send_line(client, ("m1 SELECT %s\r\n" % literal).encode())
    kind, status = reply(client, "m1")
    assert kind != "continue", "server invited the malformed literal %s" % literal
    assert (kind, status) in (("tagged", "BAD"), ("untagged", "BAD")), (kind, status)
    assert still_alive(client)


def test_disconnect_inside_literal_appends_nothing(inbox, client, connect):
    tag = "cut1"
    assert send_line(client, ("%s APPEND INBOX {200}\r\n" % tag).encode())
    kind, _ = reply(client, tag)
    assert kind == "continue"
    client.send(b"From: half@example.org\r\n")
    client.close()
    time.sleep(0.5)         # let that daemon see EOF and exit
    c = connect()
    r = c.command("STATUS INBOX (MESSAGES)")
    assert r.ok, r
    assert r.named("STATUS")[0][2][1] == "4"


def test_nul_and_eight_bit_bytes(inbox, client):
    for line in (b"n1 SELECT IN\x00BOX\r\n", b"n1 SELECT \xff\xfe\r\n",
                 b"n1 NOOP\x00\r\n"):
        if not send_line(client, line):
            break
        kind, status = reply(client, "n1")
        if kind == "eof":
            break
        assert status in ("BAD", "NO"), (line, status)


def test_deep_nesting_in_search(inbox, client):
    assert client.command("SELECT INBOX").ok
    for crit in ("(" * 5000 + "ALL" + ")" * 5000, "NOT " * 5000 + "ALL",
                 "OR " * 3000 + "ALL " * 3001):
        try:
            r = client.command("SEARCH " + crit)
        except (EOFError, ConnectionResetError):
            return
        assert r.status in ("OK", "NO", "BAD"), r
    assert client.command("NOOP").ok


def test_many_pipelined_commands(client):
    n = 2000
    client.send(b"".join(b"p%d NOOP\r\n" % i for i in range(n)))
    for i in range(n):
        kind, status = reply(client, "p%d" % i)
        assert (kind, status) == ("tagged", "OK"), (i, kind, status)


def test_random_bytes_do_not_crash(inbox, server, connect):
    rnd = random.Random(3501)
    alphabet = b"A1 *%()[]{}<>\\\"+.:,-~\x00\x7f\xff\r\n FETCH BODY UID SEARCH SELECT INBOX"
    for round_ in range(20):
        c = RawIMAP(server.host, server.port)
        try:
            for _ in range(20):
                n = rnd.randrange(1, 200)
                junk = bytes(rnd.choice(alphabet) for _ in range(n))
                if not send_line(c, b"r1 " + junk.replace(b"\r\n", b"") + b"\r\n"):
                    break
        finally:
            c.close()
    c = connect()
    assert c.command("SELECT INBOX").numbered("EXISTS") == [4]


def test_random_commands_after_login(inbox, server, user):
    # A server may hang up on a client that keeps sending nonsense; then we
    # reconnect and go on. Every answer must be a proper tagged status.
    rnd = random.Random(9051)
    words = ["FETCH", "STORE", "SEARCH", "UID", "1", "*", "1:*", "(", ")",
             "BODY[", "]", "<0.5>", "FLAGS", "+FLAGS", "\\Seen", "NOT", "OR",
             "HEADER", "\"x\"", "NIL", "BODY.PEEK[1.MIME]", "ENVELOPE",
             "BODYSTRUCTURE", "SINCE", "1-Jan-2026", "EXPUNGE", "CHECK"]
    c = None
    try:
        for i in range(300):
            if c is None:
                c = RawIMAP(server.host, server.port)
                c.login(user.name, user.password)
                assert c.command("SELECT INBOX").ok
            line = " ".join(rnd.choice(words) for _ in range(rnd.randrange(1, 8)))
            try:
                r = c.command(line)
            except (EOFError, ConnectionResetError, BrokenPipeError):
                c.close()
                c = None
                continue
            assert r.status in ("OK", "NO", "BAD"), (line, r)
    finally:
        if c is not None:
            c.close()
