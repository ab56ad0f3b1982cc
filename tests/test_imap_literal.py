# LITERAL- (RFC 7888) when the configuration asks for it (literal_minus =
# yes): LITERAL- is offered instead of LITERAL+, non-synchronising literals
# up to 4096 octets are taken as before, a larger one is answered BAD
# [TOOBIG] (its bytes read and dropped, the session goes on; before login
# the session ends, as for any refused literal there). The default server
# offers LITERAL+ alone (test_imap_append_ext.py).
import pytest

from helpers import mailstore
from helpers.imapclient import Lit, RawIMAP
from helpers.session import make_message

MAIL_FORMATS = mailstore.FORMATS


def caps(c):
    r = c.command("CAPABILITY")
    assert r.ok, r
    return [x.upper() for x in r.named("CAPABILITY")[0][1:]]


def messages(c):
    r = c.command("STATUS INBOX (MESSAGES)")
    assert r.ok, r
    return int(r.named("STATUS")[0][2][1])


def message(size):
    """A message of exactly size octets (CRLF lines)."""
    data = make_message(1, 3000, tag="minus").crlf()
    return data + b"x" * (size - len(data) - 2) + b"\r\n"


def logged_in(srv, user):
    c = RawIMAP(srv.host, srv.port)
    c.login(user.name, user.password)
    return c


@pytest.fixture
def minus(server_with, mail_store, user):
    mail_store.write(user, [])    # an (empty) INBOX exists, as after a delivery
    return server_with("literal_minus = yes")


def test_literal_minus_replaces_literal_plus(minus, user):
    c = RawIMAP(minus.host, minus.port)
    try:
        before = caps(c)
        c.login(user.name, user.password)
        after = caps(c)
    finally:
        c.close()
    for cs in (before, after):
        assert "LITERAL-" in cs and "LITERAL+" not in cs, cs


def test_4096_octets_non_synchronising_are_taken(minus, user):
    c = logged_in(minus, user)
    try:
        data = message(4096)
        assert len(data) == 4096
        r = c.command("APPEND INBOX ", Lit(data, nonsync=True))
        assert r.ok, r
        r = c.command("SELECT INBOX")
        assert r.numbered("EXISTS") == [1], r
        got = c.command("FETCH 1 BODY.PEEK[]").fetches()[1]["BODY[]"]
        assert got == data
    finally:
        c.close()


def test_4097_octets_non_synchronising_are_bad_toobig(minus, user):
    c = logged_in(minus, user)
    try:
        data = message(4097)
        r = c.command("APPEND INBOX ", Lit(data, nonsync=True))
        assert r.status == "BAD" and r.code == "TOOBIG", r
        assert "4096" in r.text and "nothing appended" in r.text, r
        # the literal's bytes were dropped, not read as commands
        assert c.command("NOOP").ok
        assert messages(c) == 0
        # the same message as a synchronising literal is fine
        assert c.command("APPEND INBOX ", Lit(data)).ok
        assert messages(c) == 1
    finally:
        c.close()


def test_big_non_synchronising_literal_before_login_ends_the_session(minus, user):
    c = RawIMAP(minus.host, minus.port)
    try:
        c.send(b'A1 LOGIN {5000+}\r\n' + b"u" * 5000 + b' "pw"\r\n')
        line = c.read_response()
        assert line == b"* BYE [TOOBIG] Literal too large", line
        with pytest.raises(EOFError):
            c.read_response()
    finally:
        c.close()
