# Hostile and broken clients (RFC 3501 2.2.1, 7.1.3, 9; RFC 9051 7.1): garbage,
# unknown commands, bad arguments, over-long lines, oversized literals, deep
# nesting, random bytes. Each request gets the one answer it deserves: a BAD
# (tagged when the tag can be read) for what does not parse, the same data as
# the well-formed twin for odd but valid requests, NO [TOOBIG] for a literal
# too large to take, and "* BYE" then a closed connection for a line too long
# to frame (where its command ends is unknown). The session goes on after
# everything but the last; an end of file anywhere else fails the test.
import random
import socket
import time

import pytest

from helpers import system
from helpers.imapclient import RawIMAP
from helpers.session import server_pid

MAX_LINE = 65536        # max_line's default (imapd.conf(5))
LINE_BYE = b"* BYE Command line too long (the limit is %d bytes)" % MAX_LINE
SEARCH_DEPTH = 100      # imapd/search_parse.h SEARCH_MAX_DEPTH: keys nested


def answers(c, tag):
    """Every response up to and including the one tagged tag (raw bytes)."""
    out = []
    while True:
        resp = c.read_response()
        out.append(resp)
        if resp.startswith(tag.encode() + b" ") or resp.startswith(b"+"):
            return out


def send_line(c, line):
    try:
        c.send(line)
        return True
    except (BrokenPipeError, ConnectionResetError):
        return False


def session_goes_on(c):
    r = c.command("NOOP")
    assert r.status == "OK", r


def closed_after(c, first):
    """The connection gives exactly first and then end of file."""
    assert c.read_response() == first
    with pytest.raises((EOFError, ConnectionResetError)):
        c.read_response()


# ---------------------------------------------------------------- lines

@pytest.mark.parametrize("line,expected", [
    (b"\x01\x02\x03 garbage", b"* BAD Invalid tag"),
    (b"* NOOP", b"* BAD Invalid tag"),
    (b"+ NOOP", b"* BAD Invalid tag"),
    (b"a(b NOOP", b"* BAD Invalid tag"),
    (b"a{b NOOP", b"* BAD Invalid tag"),
    (b"   ", b"* BAD Invalid tag"),
    (b"", b"* BAD Empty command line"),
    # a valid tag alone: tagged, so the client can tell which line failed
    (b"tagonly", b"tagonly BAD Missing command"),
    (b"tag ", b"tag BAD Missing command"),
])
def test_garbage_is_bad(conn, line, expected):
    assert send_line(conn, line + b"\r\nz1 NOOP\r\n")
    assert answers(conn, "z1") == [expected, b"z1 OK NOOP completed"]


@pytest.mark.parametrize("line,text", [
    ("FROBNICATE", "Unknown command FROBNICATE"),
    ("FROBNICATE now please", "Unknown command FROBNICATE"),
    ("SELECT", "SELECT is not valid before login"),
    ("LOGIN onlyone", "LOGIN: Missing argument"),
    ("LOGIN a b c", "LOGIN: Unexpected extra arguments"),
    ('LOGIN "unterminated', "LOGIN: Unterminated quoted string"),
    ("NOOP extra", "NOOP: Unexpected extra arguments"),
    ("CAPABILITY please", "CAPABILITY: Unexpected extra arguments"),
    ("LOGOUT now", "LOGOUT: Unexpected extra arguments"),
])
def test_unknown_command_or_bad_arguments_is_bad(conn, line, text):
    r = conn.command(line)
    assert (r.status, r.code, r.text) == ("BAD", None, text), r
    assert r.untagged == []
    session_goes_on(conn)


@pytest.mark.parametrize("line,text", [
    ("FETCH 1 (FLAGS", "FETCH: Expected ')'"),
    ("FETCH 1 FLAGS)", "FETCH: Unexpected extra arguments"),
    ("FETCH 0 FLAGS", "FETCH: Invalid sequence set"),
    ("FETCH 1:x FLAGS", "FETCH: Invalid sequence set"),
    ("FETCH 4294967296 FLAGS", "FETCH: Invalid sequence set"),
    ("FETCH 1 NOSUCHITEM", "FETCH: Unknown fetch attribute"),
    ("FETCH 1 BODY[HEADER.FIELDS]", "FETCH: Expected a space"),
    ("FETCH 1 BODY[HEADER.FIELDS ()]", "FETCH: Expected an atom or string"),
    ("FETCH 1 BODY[TEXT", "FETCH: Expected ']'"),
    ("FETCH 1 BODY[]<1.>", "FETCH: Expected a number"),
    ("FETCH 1 BODY[]<x.1>", "FETCH: Expected a number"),
    # section-partial's length is nz-number (RFC 3501 9)
    ("FETCH 1 BODY.PEEK[]<0.0>", "FETCH: Zero is not allowed here"),
    ("STORE 1 FLAGS", "STORE: Missing argument"),
    ("STORE 1 +FLAGZ (\\Seen)", "STORE: Expected FLAGS, +FLAGS or -FLAGS"),
    ("STORE 1 +FLAGS (\\NoSuchSystemFlag)",
     "STORE: Invalid flag (\\Recent and unknown \\flags cannot be set)"),
    ("SEARCH FROM", "SEARCH: Missing argument"),
    ("SEARCH SINCE 32-Foo-2026", "SEARCH: Bad month in date"),
    ("SEARCH (FROM alice", "SEARCH: Missing argument"),
    ("SEARCH OR FROM alice", "SEARCH: Missing argument"),
    ("UID NOOP", "Unknown command UID NOOP"),
    ("UID FROBNICATE 1", "Unknown command UID FROBNICATE"),
    ("COPY", "COPY: Missing argument"),
    ("STATUS INBOX MESSAGES", "STATUS: Expected '('"),
    ("STATUS INBOX (NOSUCHITEM)", "STATUS: unknown item NOSUCHITEM"),
])
def test_bad_arguments_when_selected(inbox, client, line, text):
    assert client.command("SELECT INBOX").ok
    r = client.command(line)
    assert (r.status, r.code, r.text) == ("BAD", None, text), r
    assert r.untagged == [], r.raw
    session_goes_on(client)
    # nothing was changed by the refused command
    f = client.command("FETCH 1:* FLAGS").fetches()
    assert [f[n]["FLAGS"] for n in sorted(f)] == [["\\Recent"]] * len(inbox), f


# ---------------------------------------------------------------- odd but valid

FLAGS_1_TO_4 = [b"* %d FETCH (FLAGS (\\Recent))" % n for n in range(1, 5)]
# message 2, part 2 is a leaf: its part 1 is itself (as for a message)
MIME_2_2 = (b'Content-Type: application/octet-stream; name="report.bin"\r\n'
            b"Content-Transfer-Encoding: base64\r\n"
            b'Content-Disposition: attachment; filename="report.bin"\r\n\r\n')


@pytest.mark.parametrize("line,untagged", [
    ("FETCH 1 BODY.PEEK[999]", [b'* 1 FETCH (BODY[999] "")']),
    ("FETCH 1 BODY.PEEK[1.2.3.4.5.6.7.8.9.10.11.12]",
     [b'* 1 FETCH (BODY[1.2.3.4.5.6.7.8.9.10.11.12] "")']),
    ("FETCH 2 BODY.PEEK[2.1.MIME]",
     [b"* 2 FETCH (BODY[2.1.MIME] {%d}\r\n%s)" % (len(MIME_2_2), MIME_2_2)]),
    # an origin past the end is an empty string (RFC 3501 6.4.5)
    ("FETCH 1 BODY.PEEK[]<4294967295.4294967295>", [b'* 1 FETCH (BODY[]<4294967295> "")']),
    ("FETCH *:* FLAGS", FLAGS_1_TO_4[3:]),
    # n:m is the same set as m:n (RFC 3501 9, seq-range)
    ("FETCH 4:1 FLAGS", FLAGS_1_TO_4),
    ("FETCH 1:4 FLAGS", FLAGS_1_TO_4),
    ("FETCH 1,1,1,1 UID", [b"* 1 FETCH (UID 1)"]),
    ("UID FETCH 4294967295 FLAGS", []),
    ("UID FETCH 1:4294967295 UID", [b"* %d FETCH (UID %d)" % (n, n) for n in range(1, 5)]),
    ("SEARCH UID 4294967295", [b"* SEARCH"]),
    ("SEARCH LARGER 4294967295", [b"* SEARCH"]),
])
def test_odd_but_valid_requests(inbox, client, line, untagged):
    assert client.command("SELECT INBOX").ok
    r = client.command(line)
    assert r.status == "OK", r
    assert r.raw == untagged
    session_goes_on(client)


# ---------------------------------------------------------------- line bombs

@pytest.mark.parametrize("login", [False, True], ids=["before-login", "after-login"])
def test_over_long_line_ends_session(connect, login):
    """A line past max_line (then ended, and followed by a NOOP): its
    command cannot be framed, so BYE and close, and the NOOP is never
    taken for a command."""
    c = connect(login=login)
    assert send_line(c, b"long1 NOOP " + b"x" * (1 << 20) + b"\r\nz1 NOOP\r\n")
    closed_after(c, LINE_BYE)


def test_over_long_sasl_response_ends_session(conn):
    conn.send(b"a1 AUTHENTICATE PLAIN\r\n")
    assert conn.read_response() == b"+ "
    assert send_line(conn, b"A" * (MAX_LINE + 10) + b"\r\n")
    closed_after(conn, LINE_BYE)


def test_over_long_line_during_idle_ends_session(inbox, client):
    assert client.command("SELECT INBOX").ok
    client.send(b"i1 IDLE\r\n")
    assert client.read_response() == b"+ idling"
    assert send_line(client, b"D" * (MAX_LINE + 10) + b"\r\n")
    closed_after(client, LINE_BYE)


@pytest.mark.parametrize("login", [False, True], ids=["before-login", "after-login"])
def test_line_bomb_gets_bye_and_close(server, connect, login):
    """64 MiB with no line end: the server reads max_line, says BYE and
    closes; it does not go on reading (then the client's sends fail long
    before the 64 MiB are out) nor grow."""
    c = connect(login=login)
    pid = server_pid(c)
    c.sock.settimeout(10)
    sent, peak = 0, 0
    chunk = b"A" * 65536
    try:
        while sent < (64 << 20):
            c.sock.sendall(chunk)
            sent += len(chunk)
            peak = max(peak, system.peak_rss(pid))
    except (BrokenPipeError, ConnectionResetError):
        pass
    except socket.timeout:
        pytest.fail("the server stopped reading after %d bytes without closing" % sent)
    assert sent < (16 << 20), "the server took %d bytes of one line" % sent
    assert peak < (48 << 20), "daemon grew to %d kB on one line" % (peak >> 10)
    closed_after(c, LINE_BYE)


# ---------------------------------------------------------------- literals

@pytest.mark.parametrize("literal,expected", [
    # number64 (RFC 9051 9), but more than a message may be: NO [TOOBIG]
    ("{4294967296000}", "big1 NO [TOOBIG] Message too large (the limit is 52428800 bytes)"),
    ("{2147483648}", "big1 NO [TOOBIG] Message too large (the limit is 52428800 bytes)"),
    ("{4294967295}", "big1 NO [TOOBIG] Message too large (the limit is 52428800 bytes)"),
    # past 2^63: not a number64 at all
    ("{99999999999999999999999}", "big1 BAD APPEND: Literal too large"),
])
def test_huge_literal_refused_before_continuation(client, literal, expected):
    assert send_line(client, ("big1 APPEND INBOX %s\r\n" % literal).encode())
    assert answers(client, "big1") == [expected.encode()]
    session_goes_on(client)


def test_huge_literal_before_login_refused(conn):
    assert send_line(conn, b"big2 LOGIN {100000000}\r\n")
    assert answers(conn, "big2") == [
        b"big2 NO [TOOBIG] Literal too large (the limit is 8192 bytes before login)"]
    session_goes_on(conn)


@pytest.mark.parametrize("literal,text", [
    ("{abc}", "SELECT: Bad literal size"),
    ("{-1}", "SELECT: Bad literal size"),
    ("{}", "SELECT: Bad literal size"),
    ("{1", "SELECT: Expected '}'"),
])
def test_malformed_literal_is_bad(client, literal, text):
    assert send_line(client, ("m1 SELECT %s\r\n" % literal).encode())
    assert answers(client, "m1") == [("m1 BAD %s" % text).encode()]
    session_goes_on(client)


def test_disconnect_inside_literal_appends_nothing(inbox, client, connect):
    assert send_line(client, b"cut1 APPEND INBOX {200}\r\n")
    assert answers(client, "cut1") == [b"+ Ready for literal data"]
    client.send(b"From: half@example.org\r\n")
    client.close()
    time.sleep(0.5)         # let that daemon see EOF and exit
    c = connect()
    r = c.command("STATUS INBOX (MESSAGES)")
    assert r.ok, r
    assert r.named("STATUS")[0][2][1] == "4"


@pytest.mark.parametrize("line,text", [
    # NUL and 8-bit bytes are not ATOM-CHARs (RFC 3501 9)
    (b"n1 SELECT IN\x00BOX", "SELECT: NUL is not allowed here"),
    (b"n1 SELECT \xff\xfe", "SELECT: Expected an atom or string"),
    (b"n1 NOOP\x00", "NOOP: NUL is not allowed here"),
])
def test_nul_and_eight_bit_bytes(inbox, client, line, text):
    assert send_line(client, line + b"\r\n")
    assert answers(client, "n1") == [("n1 BAD %s" % text).encode()]
    session_goes_on(client)


# ---------------------------------------------------------------- nesting

def nested(kind, depth):
    """A search program whose keys nest depth deep."""
    if kind == "parens":
        return "(" * (depth - 1) + "ALL" + ")" * (depth - 1)
    if kind == "not":
        return "NOT " * (depth - 1) + "ALL"
    return "OR " * (depth - 1) + " ".join(["ALL"] * depth)


@pytest.mark.parametrize("kind", ["parens", "not", "or"])
def test_search_nesting_up_to_the_limit_works(inbox, client, kind):
    assert client.command("SELECT INBOX").ok
    r = client.command("SEARCH " + nested(kind, SEARCH_DEPTH))
    assert r.status == "OK", r
    even_nots = kind != "not" or (SEARCH_DEPTH - 1) % 2 == 0
    assert r.search() == ([1, 2, 3, 4] if even_nots else []), r.raw


@pytest.mark.parametrize("depth", [SEARCH_DEPTH + 1, 5000])
@pytest.mark.parametrize("kind", ["parens", "not", "or"])
def test_search_nesting_beyond_the_limit_is_bad(inbox, client, kind, depth):
    assert client.command("SELECT INBOX").ok
    r = client.command("SEARCH " + nested(kind, depth))
    assert (r.status, r.text) == ("BAD", "SEARCH: Search keys nested too deeply"), r
    assert r.untagged == [], r.raw
    session_goes_on(client)


# ---------------------------------------------------------------- volume

def test_many_pipelined_commands(client):
    n = 2000
    client.send(b"".join(b"p%d NOOP\r\n" % i for i in range(n)))
    for i in range(n):
        assert answers(client, "p%d" % i) == [b"p%d OK NOOP completed" % i]


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


def test_random_commands_after_login(inbox, client):
    """Nonsense, one short line at a time: each gets a tagged OK, NO or BAD
    (which one depends on the draw) and the session stays up throughout."""
    rnd = random.Random(9051)
    words = ["FETCH", "STORE", "SEARCH", "UID", "1", "*", "1:*", "(", ")",
             "BODY[", "]", "<0.5>", "FLAGS", "+FLAGS", "\\Seen", "NOT", "OR",
             "HEADER", "\"x\"", "NIL", "BODY.PEEK[1.MIME]", "ENVELOPE",
             "BODYSTRUCTURE", "SINCE", "1-Jan-2026", "EXPUNGE", "CHECK"]
    assert client.command("SELECT INBOX").ok
    for i in range(300):
        line = " ".join(rnd.choice(words) for _ in range(rnd.randrange(1, 8)))
        r = client.command(line)
        assert r.status in ("OK", "NO", "BAD"), (line, r)
        assert r.text, (line, r)
