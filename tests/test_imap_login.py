# Connection and authentication (RFC 3501 6.1, 6.2, 7.1.4): the greeting,
# CAPABILITY, LOGIN through PAM with real users, LOGOUT, the state rules,
# privilege drop after login, and PREAUTH when started as the user.
import os
import time

import pytest

from helpers import system
from helpers.imapclient import Lit, quote


def caps(result):
    lines = result.named("CAPABILITY")
    assert len(lines) == 1, result.raw
    return [c.upper() for c in lines[0][1:]]


def test_greeting_is_ok(conn):
    assert conn.greeting[:2] == ["*", "OK"], conn.greeting_raw


def test_capability_lists_imap4rev1(conn):
    r = conn.command("CAPABILITY")
    assert r.ok, r
    assert "IMAP4REV1" in caps(r)


def test_capability_allows_plaintext_login_when_configured(conn):
    # allow_plaintext = yes in the test configuration
    r = conn.command("CAPABILITY")
    assert "LOGINDISABLED" not in caps(r)


def test_imaplib_sees_imap4rev1(imap):
    assert "IMAP4REV1" in imap.capabilities


def test_noop_before_login(conn):
    assert conn.command("NOOP").ok


def test_login_ok_with_imaplib(imap, user):
    typ, _ = imap.login(user.name, user.password)
    assert typ == "OK"
    assert imap.state == "AUTH"


def test_login_with_literals(conn, user):
    r = conn.command("LOGIN ", Lit(user.name.encode()), " ",
                     Lit(user.password.encode()))
    assert r.ok, r


def test_wrong_password_is_no_after_a_delay(conn, user):
    t0 = time.monotonic()
    r = conn.command("LOGIN %s %s" % (quote(user.name), quote("wrong-" + user.password)))
    elapsed = time.monotonic() - t0
    assert r.status == "NO", r
    assert elapsed >= 1.0, "failed login answered after %.2fs" % elapsed


def test_unknown_user_looks_like_wrong_password(conn, user):
    r1 = conn.command("LOGIN %s %s" % (quote(user.name), quote("nope")))
    r2 = conn.command("LOGIN %s %s" % (quote("imtnosuchuser"), quote("nope")))
    assert r1.status == r2.status == "NO"
    assert r1.text == r2.text, "responses reveal which users exist"


def test_login_works_after_a_failed_attempt(conn, user):
    assert conn.command("LOGIN %s x" % quote(user.name)).status == "NO"
    assert conn.command("LOGIN %s %s" % (quote(user.name), quote(user.password))).ok


def test_password_of_one_user_does_not_open_another(conn, user, other_user):
    r = conn.command("LOGIN %s %s" % (quote(other_user.name), quote(user.password)))
    assert r.status == "NO", r


def test_logout_says_bye_and_closes(conn):
    r = conn.command("LOGOUT")
    assert r.ok, r
    assert r.named("BYE"), "no untagged BYE before the tagged OK"
    with pytest.raises(EOFError):
        conn.read_response()


def test_logout_after_login(client):
    r = client.command("LOGOUT")
    assert r.ok and r.named("BYE")


@pytest.mark.parametrize("command", [
    "SELECT INBOX",
    "EXAMINE INBOX",
    'LIST "" "*"',
    "CREATE newbox",
    "STATUS INBOX (MESSAGES)",
    "SUBSCRIBE INBOX",
    "FETCH 1 FLAGS",
    "EXPUNGE",
])
def test_commands_before_login_are_refused(conn, user, command):
    # RFC 3501 3 leaves BAD or NO to the server for a command in the wrong
    # state; ours is BAD, naming the state
    r = conn.command(command)
    name = command.split()[0]
    assert (r.status, r.text) == ("BAD", "%s is not valid before login" % name), r
    assert not os.path.exists(os.path.join(user.home, "newbox"))


def test_login_again_after_login_is_refused(client, user):
    r = client.command("LOGIN %s %s" % (quote(user.name), quote(user.password)))
    assert (r.status, r.text) == ("BAD", "LOGIN is not valid after login"), r


def test_fetch_in_authenticated_state_is_refused(client):
    # FETCH needs a selected mailbox (RFC 3501 6.4)
    r = client.command("FETCH 1 FLAGS")
    assert (r.status, r.text) == ("BAD", "FETCH is not valid without a selected mailbox"), r


def test_login_drops_root(client, user, imapd, spool):
    # The daemon serving this connection now runs as the user, with the
    # user's own groups only (never "mail": spool lock files come from the
    # setgid dotlockfile), and no way back.
    assert client.command("NOOP").ok
    mine = [s for _, s in system.daemon_processes(imapd) if s["Uid"][0] == str(user.uid)]
    assert mine, "no imapd process runs as %s after LOGIN" % user.name
    st = mine[0]
    assert st["Uid"] == [str(user.uid)] * 4, st["Uid"]
    assert st["Gid"] == [str(user.gid)] * 4, st["Gid"]
    assert str(spool.mail_gid) not in st["Groups"], st["Groups"]
    assert str(user.gid) in st["Groups"] or st["Gid"][0] == str(user.gid)
    assert st["CapEff"] == ["0000000000000000"], st["CapEff"]


def test_preauth_when_started_as_the_user(inbox, user, imapd_as):
    out = imapd_as(user, b"a CAPABILITY\r\nb SELECT INBOX\r\n"
                         b"c LOGIN x y\r\nd LOGOUT\r\n").stdout
    lines = out.split(b"\r\n")
    assert lines[0].startswith(b"* PREAUTH"), out[:300]
    assert b"a OK" in out and b"IMAP4REV1" in out.upper()
    assert b"* 4 EXISTS" in out, out
    assert b"b OK" in out, out
    assert b"c OK" not in out, "LOGIN accepted in authenticated state"
    assert b"* BYE" in out and b"d OK" in out, out


def test_preauth_serves_only_that_user(inbox, other_user, imapd_as, user):
    # other_user has no spool file: an empty INBOX, never the first user's
    out = imapd_as(other_user, b"a SELECT INBOX\r\nb LOGOUT\r\n").stdout
    assert out.startswith(b"* PREAUTH"), out[:300]
    assert b"* 0 EXISTS" in out, out
