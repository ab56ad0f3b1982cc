# AUTHENTICATE (RFC 3501 6.2.2) with SASL PLAIN (RFC 4616) and LOGIN, with
# and without an initial response (SASL-IR, RFC 4959), cancelling, failures,
# and real clients (imaplib, curl). The default test server allows
# plaintext, so the mechanisms are offered without TLS here; test_tls.py
# covers the refusal before TLS.
import base64
import subprocess

import pytest

from helpers.imapclient import quote


def b64(data):
    return base64.b64encode(data).decode()


def plain(user, password, authzid=b""):
    return b64(authzid + b"\0" + user.encode() + b"\0" + password.encode())


def caps(result):
    lines = result.named("CAPABILITY")
    assert len(lines) == 1, result.raw
    return [c.upper() for c in lines[0][1:]]


def exchange(conn, command, *answers):
    """Send command, answer each "+" challenge with the next line; returns
    (challenges seen, tagged Result)."""
    tag = conn.next_tag()
    conn.send("%s %s\r\n" % (tag, command))
    seen = []
    answers = list(answers)
    while True:
        resp = conn.read_response()
        if resp.startswith(b"+"):
            seen.append(resp[2:].decode())
            assert answers, "unexpected challenge %r" % resp
            conn.send(answers.pop(0) + "\r\n")
            continue
        return seen, conn._classify(resp, tag, [], []) or conn.read_until(tag)


def test_capabilities_offer_plain_login_and_sasl_ir(conn):
    c = caps(conn.command("CAPABILITY"))
    assert "AUTH=PLAIN" in c and "AUTH=LOGIN" in c and "SASL-IR" in c


def test_capabilities_after_login_offer_no_mechanisms(client):
    c = caps(client.command("CAPABILITY"))
    assert not [x for x in c if x.startswith("AUTH=")]
    assert "STARTTLS" not in c


def test_plain_with_initial_response(conn, user):
    seen, r = exchange(conn, "AUTHENTICATE PLAIN " + plain(user.name, user.password))
    assert seen == []
    assert r.ok, r
    assert r.code.startswith("CAPABILITY"), r
    # logged in as the user: the INBOX with no spool file yet is empty
    r = conn.command("SELECT INBOX")
    assert r.status == "OK" and r.numbered("EXISTS") == [0], r


def test_plain_without_initial_response(conn, user):
    seen, r = exchange(conn, "AUTHENTICATE PLAIN", plain(user.name, user.password))
    assert seen == [""]
    assert r.ok, r


def test_plain_with_own_authzid(conn, user):
    seen, r = exchange(conn, "AUTHENTICATE PLAIN " +
                       plain(user.name, user.password, user.name.encode()))
    assert r.ok, r


def test_plain_acting_as_someone_else_is_refused(conn, user, other_user):
    seen, r = exchange(conn, "AUTHENTICATE PLAIN " +
                       plain(user.name, user.password, other_user.name.encode()))
    assert r.status == "NO" and r.code == "AUTHORIZATIONFAILED", r


def test_plain_wrong_password(conn, user):
    seen, r = exchange(conn, "AUTHENTICATE PLAIN " + plain(user.name, "wrong"))
    assert r.status == "NO" and r.code == "AUTHENTICATIONFAILED", r
    # the session goes on and a good attempt still works
    seen, r = exchange(conn, "AUTHENTICATE PLAIN " + plain(user.name, user.password))
    assert r.ok, r


def test_mechanism_name_is_case_insensitive(conn, user):
    seen, r = exchange(conn, "authenticate plain " + plain(user.name, user.password))
    assert r.ok, r


def test_login_mechanism(conn, user):
    seen, r = exchange(conn, "AUTHENTICATE LOGIN", b64(user.name.encode()),
                       b64(user.password.encode()))
    assert [base64.b64decode(s) for s in seen] == [b"Username:", b"Password:"]
    assert r.ok, r


def test_login_mechanism_with_initial_response(conn, user):
    seen, r = exchange(conn, "AUTHENTICATE LOGIN " + b64(user.name.encode()),
                       b64(user.password.encode()))
    assert [base64.b64decode(s) for s in seen] == [b"Password:"]
    assert r.ok, r


@pytest.mark.parametrize("mech", ["PLAIN", "LOGIN"])
def test_cancel_with_star(conn, user, mech):
    seen, r = exchange(conn, "AUTHENTICATE " + mech, "*")
    assert len(seen) == 1
    assert r.status == "BAD", r
    assert "cancel" in r.text.lower()
    assert conn.command("NOOP").ok
    assert conn.command("LOGIN %s %s" % (quote(user.name), quote(user.password))).ok


def test_cancel_in_the_middle_of_login(conn, user):
    seen, r = exchange(conn, "AUTHENTICATE LOGIN", b64(user.name.encode()), "*")
    assert len(seen) == 2 and r.status == "BAD", r


@pytest.mark.parametrize("bad", ["not base64!", "AAA", "AA==AA==", "=x"])
def test_malformed_base64_is_bad(conn, bad):
    seen, r = exchange(conn, "AUTHENTICATE PLAIN", bad)
    assert (r.status, r.code, r.text) == ("BAD", None, "AUTHENTICATE: malformed SASL response (not base64)"), r
    assert conn.command("NOOP").ok


@pytest.mark.parametrize("msg,text", [
    (b"", "malformed PLAIN message"),
    (b"user\0pass", "malformed PLAIN message"),
    (b"\0\0pass", "PLAIN message without user"),
    (b"\0user\0", "PLAIN message without password"),
    (b"a\0b\0c\0d", "malformed PLAIN message"),
])
def test_malformed_plain_message_is_bad(conn, msg, text):
    # not RFC 4616's message: the client broke the exchange (BAD), no
    # password was checked (that would be NO [AUTHENTICATIONFAILED])
    arg = b64(msg) if msg else "="
    seen, r = exchange(conn, "AUTHENTICATE PLAIN " + arg)
    assert seen == []
    assert (r.status, r.code, r.text) == ("BAD", None, "AUTHENTICATE: " + text), r
    assert conn.command("NOOP").ok


def test_unknown_mechanism_is_no(conn):
    seen, r = exchange(conn, "AUTHENTICATE CRAM-MD5")
    assert seen == [] and r.status == "NO", r


def test_authenticate_after_login_is_bad(client, user):
    seen, r = exchange(client, "AUTHENTICATE PLAIN " + plain(user.name, user.password))
    assert seen == []
    assert (r.status, r.text) == ("BAD", "AUTHENTICATE is not valid after login"), r


def test_imaplib_authenticate_plain(imap, user):
    typ, _ = imap.authenticate(
        "PLAIN", lambda _: b"\0" + user.name.encode() + b"\0" + user.password.encode())
    assert typ == "OK"
    assert imap.state == "AUTH"


def test_curl_authenticate_plain_with_sasl_ir(server, fresh, user, spool, sample):
    spool.write(user, sample)
    url = "imap://%s:%d/INBOX" % (server.host, server.port)
    p = subprocess.run(["curl", "-sS", "-v", "--max-time", "30", "--login-options",
                        "AUTH=PLAIN", "--user", "%s:%s" % (user.name, user.password),
                        "-X", "EXAMINE INBOX", url],
                       capture_output=True, timeout=60)
    err = p.stderr.decode("utf-8", "replace")
    assert p.returncode == 0, err
    assert "AUTHENTICATE PLAIN " in err, err       # initial response on the line
    assert "EXISTS" in p.stdout.decode()


def test_curl_authenticate_login(server, fresh, user):
    url = "imap://%s:%d/" % (server.host, server.port)
    p = subprocess.run(["curl", "-sS", "-v", "--max-time", "30", "--login-options",
                        "AUTH=LOGIN", "--user", "%s:%s" % (user.name, user.password),
                        url],
                       capture_output=True, timeout=60)
    err = p.stderr.decode("utf-8", "replace")
    assert p.returncode == 0, err
    assert "AUTHENTICATE LOGIN" in err, err
