# APPEND and session extensions, checked as a client uses them: MULTIAPPEND
# (RFC 3502) all or none with APPENDUID sets (RFC 4315), LITERAL+ and why
# LITERAL- is not advertised (RFC 7888), APPENDLIMIT (RFC 7889), ENABLE
# (RFC 5161), ID (RFC 2971), and UNAUTHENTICATE (RFC 8437) across the
# privilege separation.
import datetime
import os
import pwd
import re
import subprocess
import time

import pytest

from helpers import system
from helpers import tls as T
from helpers.imapclient import Lit
from helpers.session import make_message, server_pid, uid_set, upper

# RFC 3502's example messages, as its exchange sends them (CRLF lines)
RFC3502_FIRST = (
    b"Date: Mon, 7 Feb 1994 21:52:25 -0800 (PST)\r\n"
    b"From: Fred Foobar <foobar@Blurdybloop.example.COM>\r\n"
    b"Subject: afternoon meeting\r\n"
    b"To: mooch@owatagu.example.net\r\n"
    b"Message-Id: <B27397-0100000@Blurdybloop.example.COM>\r\n"
    b"MIME-Version: 1.0\r\n"
    b"Content-Type: TEXT/PLAIN; CHARSET=US-ASCII\r\n"
    b"\r\n"
    b"Hello Joe, do you think we can meet at 3:30 tomorrow?\r\n")
RFC3502_SECOND = (
    b"Date: Mon, 7 Feb 1994 22:43:04 -0800 (PST)\r\n"
    b"From: Joe Mooch <mooch@OWaTaGu.example.net>\r\n"
    b"Subject: Re: afternoon meeting\r\n"
    b"To: foobar@blurdybloop.example.com\r\n"
    b"Message-Id: <a0434793874930@OWaTaGu.example.net>\r\n"
    b"MIME-Version: 1.0\r\n"
    b"Content-Type: TEXT/PLAIN; CHARSET=US-ASCII\r\n"
    b"\r\n"
    b"3:30 is fine with me.\r\n")

LIMITS = "max_line = 1k\nmax_literal = 2k\nmax_message = 10k"
# what one APPEND may hold in all (imapd/main.c append_total)
APPEND_TOTAL = 2 * 10240 + 4 * 1024


def caps(c):
    r = c.command("CAPABILITY")
    assert r.ok, r
    return [x.upper() for x in r.named("CAPABILITY")[0][1:]]


def msg(n, size=400):
    return make_message(n, size, tag="multi").crlf()


def count(c, box="INBOX"):
    r = c.command("STATUS %s (MESSAGES)" % box)
    assert r.ok, r
    st = r.named("STATUS")[0][2]
    return int(st[st.index("MESSAGES") + 1])


def appenduid(r):
    m = re.match(r"APPENDUID (\d+) ([0-9:,]+)$", r.code or "", re.I)
    assert m, r
    return int(m.group(1)), uid_set(m.group(2))


def last_uids(c, n):
    f = c.command("UID FETCH 1:* UID").fetches()
    return [int(f[i]["UID"]) for i in sorted(f)][-n:]


def body(c, uid):
    f = c.command("UID FETCH %d BODY.PEEK[]" % uid).fetches()
    assert len(f) == 1, f
    return bytes(list(f.values())[0]["BODY[]"])


def instant(date_time):
    return datetime.datetime.strptime(date_time.decode().strip(), "%d-%b-%Y %H:%M:%S %z")


def read_tagged(c, tag):
    """Every response up to the tagged one: (lines, closed)."""
    seen = []
    while True:
        try:
            line = c.read_response()
        except EOFError:
            return seen, True
        seen.append(line)
        if line.startswith(tag.encode() + b" "):
            return seen, False


@pytest.fixture
def limited(server_with, open_to, user, mail_store):
    mail_store.write(user, [])
    return open_to(server_with(LIMITS), who=user)


# ------------------------------------------------------------ capabilities

def test_capabilities_after_login(client):
    cs = caps(client)
    for ext in ("MULTIAPPEND", "APPENDLIMIT=52428800", "ENABLE", "LITERAL+", "UIDPLUS", "ID"):
        assert ext in cs, cs
    # RFC 7888: never LITERAL- beside LITERAL+
    assert "LITERAL-" not in cs and "UNAUTHENTICATE" in cs, cs


def test_login_response_carries_the_same_capabilities(conn, user):
    r = conn.command('LOGIN "%s" "%s"' % (user.name, user.password))
    assert r.ok, r
    assert (r.code or "").upper().split()[1:] == caps(conn)


# ------------------------------------------------------------ MULTIAPPEND

@pytest.mark.every_format
def test_rfc3502_example_exchange(client):
    assert client.command("CREATE saved-messages").ok
    client.send(b'A003 APPEND saved-messages (\\Seen) {%d}\r\n' % len(RFC3502_FIRST))
    assert client.read_response().startswith(b"+ ")
    client.send(RFC3502_FIRST + b' (\\Seen) " 7-Feb-1994 22:43:04 -0800" {%d}\r\n'
                % len(RFC3502_SECOND))
    assert client.read_response().startswith(b"+ ")
    client.send(RFC3502_SECOND + b"\r\n")
    r = client.read_until("A003")
    assert r.ok and r.text == "APPEND completed", r
    validity, new = appenduid(r)
    assert len(new) == 2 and new[1] == new[0] + 1, r
    sel = client.command("SELECT saved-messages")
    assert sel.numbered("EXISTS") == [2]
    assert int(sel.codes()["UIDVALIDITY"]) == validity
    f = client.command("UID FETCH 1:* (UID FLAGS INTERNALDATE BODY.PEEK[])").fetches()
    assert [int(f[i]["UID"]) for i in (1, 2)] == new
    assert f[1]["BODY[]"] == RFC3502_FIRST and f[2]["BODY[]"] == RFC3502_SECOND
    assert "\\SEEN" in upper(f[1]["FLAGS"]) and "\\SEEN" in upper(f[2]["FLAGS"])
    # the same instant (an mbox keeps internal dates in UTC)
    assert instant(f[2]["INTERNALDATE"]) == instant(b" 7-Feb-1994 22:43:04 -0800")


def test_rfc3502_missing_mailbox_trycreate(client):
    r = client.command("APPEND bogusname (\\Flagged) ", Lit(msg(1)), " ", Lit(msg(2)))
    assert r.status == "NO" and r.code == "TRYCREATE", r
    r = client.command("STATUS bogusname (MESSAGES)")
    assert r.status == "NO", r    # not created by the APPEND


def test_multiappend_with_literal_plus_in_one_write(client, inbox):
    parts = [msg(i, 300 + 100 * i) for i in range(3)]
    line = b"M1 APPEND INBOX"
    for i, p in enumerate(parts):
        line += b" (\\Flagged kw%d) {%d+}\r\n%s" % (i, len(p), p)
    client.send(line + b"\r\nM2 NOOP\r\n")
    r = client.read_until("M1")
    assert r.ok, r
    assert client.read_until("M2").ok
    _, new = appenduid(r)
    assert client.command("SELECT INBOX").numbered("EXISTS") == [7]
    assert new == last_uids(client, 3)
    for i, uid in enumerate(new):
        assert body(client, uid) == parts[i]
    f = client.command("FETCH 5:7 FLAGS").fetches()
    assert [upper(f[i]["FLAGS"]) - {"\\RECENT"} for i in (5, 6, 7)] == \
        [{"\\FLAGGED", "KW%d" % i} for i in range(3)]


def test_multiappend_to_the_selected_mailbox_announces_exists(client, inbox):
    assert client.command("SELECT INBOX").numbered("EXISTS") == [4]
    r = client.command("APPEND INBOX ", Lit(msg(1)), " ", Lit(msg(2)), " ", Lit(msg(3)))
    assert r.ok, r
    assert r.numbered("EXISTS") == [7], r.raw
    assert appenduid(r)[1] == last_uids(client, 3)


def test_bad_date_in_the_middle_appends_nothing(client, inbox):
    r = client.command("APPEND INBOX ", Lit(msg(1)),
                       ' "31-Feb-2027 25:61:00 +0000" ', Lit(msg(2)), " ", Lit(msg(3)))
    assert r.status == "BAD", r
    assert r.text == "APPEND: Bad time in date-time", r
    assert count(client) == 4
    assert client.command("NOOP").ok


def test_recent_flag_in_the_middle_appends_nothing(client, inbox):
    r = client.command("APPEND INBOX ", Lit(msg(1)), " (\\Recent) ", Lit(msg(2)))
    assert r.status == "BAD" and "Invalid flag" in r.text, r
    assert count(client) == 4


def test_empty_message_cancels_the_whole_append(client, inbox):
    # RFC 3502: a zero-length literal is an error (NO), the way to cancel
    r = client.command("APPEND INBOX ", Lit(msg(1)), " ", Lit(b""), " ", Lit(msg(3)))
    assert r.status == "NO" and r.code is None, r
    assert r.text == "Message 2 is empty: APPEND cancelled, nothing appended", r
    assert count(client) == 4


def test_storage_failure_on_a_later_message_appends_nothing(client, inbox):
    # a mailbox holds at most 1000 keywords: the second message's are the
    # 601st to 1200th, so the library refuses it after accepting the first
    first = " (%s) " % " ".join("a%d" % i for i in range(600))
    second = " (%s) " % " ".join("b%d" % i for i in range(600))
    r = client.command("APPEND INBOX" + first, Lit(msg(1)), second, Lit(msg(2)))
    assert r.status == "NO" and r.code == "LIMIT", r
    assert count(client) == 4
    sel = client.command("SELECT INBOX")
    flags = upper(sel.named("FLAGS")[0][1])
    assert not any(f.startswith(("A", "B")) and f[1:].isdigit() for f in flags), flags


def test_too_big_sync_literal_in_the_middle(limited):
    r = limited.command("APPEND INBOX ", Lit(msg(1)), " ", Lit(msg(2, 11 * 1024)),
                        " ", Lit(msg(3)))
    assert r.status == "NO" and r.code == "TOOBIG", r
    assert r.text == "Message too large (the limit is 10240 bytes)", r
    assert limited.command("NOOP").ok
    assert count(limited) == 0


def test_too_big_nonsync_literal_in_the_middle_is_drained(limited):
    big = msg(2, 11 * 1024)
    limited.send(b"N1 APPEND INBOX {400+}\r\n" + msg(1)[:400] +
                 b" {%d+}\r\n%s {5+}\r\nthree\r\nN2 NOOP\r\n" % (len(big), big))
    seen, closed = read_tagged(limited, "N1")
    assert not closed and not any(s.startswith((b"+", b"* BYE")) for s in seen), seen
    assert seen[-1] == b"N1 NO [TOOBIG] Message too large (the limit is 10240 bytes)"
    # the bytes after the refused literal were not taken as commands
    r = limited.read_until("N2")
    assert r.ok and not r.untagged, r
    assert count(limited) == 0


def test_nonsync_literal_beyond_any_command_ends_the_session(limited):
    huge = b"x" * (APPEND_TOTAL + 1)
    limited.send(b"H1 APPEND INBOX {%d+}\r\n" % len(huge) + huge + b"\r\n")
    seen, closed = read_tagged(limited, "H1")
    assert closed and seen == [b"* BYE [TOOBIG] Literal too large"], seen


def test_messages_together_over_the_total(limited):
    # each fits max_message; the third would pass what one APPEND may hold
    parts = [msg(i, 9 * 1024) for i in range(3)]
    r = limited.command("APPEND INBOX ", Lit(parts[0]), " ", Lit(parts[1]), " ",
                        Lit(parts[2]))
    assert r.status == "NO" and r.code == "TOOBIG", r
    assert r.text == ("Command too large (its literals may hold %d bytes together); "
                      "nothing appended" % APPEND_TOTAL), r
    assert count(limited) == 0
    r = limited.command("APPEND INBOX ", Lit(parts[0]), " ", Lit(parts[1]))
    assert r.ok and len(appenduid(r)[1]) == 2, r


def test_too_many_messages(limited):
    parts = []
    for i in range(1001):
        parts += [" ", Lit(b"x", nonsync=True)]
    r = limited.command("APPEND INBOX", *parts)
    assert r.status == "NO" and r.code == "LIMIT", r
    assert r.text == "Too many messages: one APPEND takes at most 1000", r
    assert count(limited) == 0


@pytest.mark.parametrize("args,why", [
    ("APPEND INBOX", "APPEND: Missing argument"),
    ("APPEND INBOX (\\Seen)", "APPEND: Missing argument"),
    ('APPEND INBOX "hello"', "APPEND: Bad date"),
    ("APPEND INBOX hello", "APPEND: The message must be sent as a literal"),
])
def test_append_bad_input(client, inbox, args, why):
    r = client.command(args)
    assert r.status == "BAD" and r.text == why, r
    assert count(client) == 4


def test_trailing_garbage_after_the_last_message(client, inbox):
    r = client.command("APPEND INBOX ", Lit(msg(1)), " junk")
    assert r.status == "BAD", r
    assert r.text == "APPEND: The message must be sent as a literal", r
    assert count(client) == 4


# ------------------------------------------------------------ LITERAL+ / LITERAL-

def test_literal_plus_has_no_4096_limit(client, inbox):
    # LITERAL- would cap non-synchronising literals at 4096 octets; with
    # LITERAL+ advertised (and LITERAL- not) a larger one is taken
    big = msg(9, 6000)
    assert len(big) > 4096
    r = client.command("APPEND INBOX ", Lit(big, nonsync=True))
    assert r.ok, r
    assert client.command("SELECT INBOX").numbered("EXISTS") == [5]
    assert body(client, appenduid(r)[1][0]) == big


# ------------------------------------------------------------ APPENDLIMIT

def test_appendlimit_capability_follows_max_message(limited):
    assert "APPENDLIMIT=10240" in caps(limited)


def test_appendlimit_beyond_an_imap_number(server_with, open_to, user, spool, fresh):
    # max_message may be larger than a 32-bit number: the most it can say
    spool.write(user, [])
    c = open_to(server_with("max_message = 5g"), who=user)
    assert "APPENDLIMIT=4294967295" in caps(c)
    assert c.command("STATUS INBOX (APPENDLIMIT)").raw == \
        [b"* STATUS INBOX (APPENDLIMIT 4294967295)"]


def test_status_appendlimit(limited):
    r = limited.command("STATUS INBOX (MESSAGES APPENDLIMIT)")
    assert r.ok, r
    assert r.raw == [b"* STATUS INBOX (MESSAGES 0 APPENDLIMIT 10240)"]
    r = limited.command("STATUS INBOX (appendlimit)")
    assert r.raw == [b"* STATUS INBOX (APPENDLIMIT 10240)"], r


def test_status_appendlimit_of_missing_mailbox(limited):
    r = limited.command("STATUS nosuch (APPENDLIMIT)")
    assert r.status == "NO" and r.code == "NONEXISTENT", r


@pytest.mark.every_format
def test_append_at_and_over_appendlimit(limited):
    ok = msg(1, 10240)[:10238] + b"\r\n"
    assert len(ok) == 10240
    assert limited.command("APPEND INBOX ", Lit(ok)).ok
    r = limited.command("APPEND INBOX ", Lit(ok + b"x"))
    assert r.status == "NO" and r.code == "TOOBIG", r
    assert count(limited) == 1


# ------------------------------------------------------------ ENABLE

def test_rfc5161_example(client):
    before = caps(client)
    r = client.command("ENABLE CONDSTORE X-GOOD-IDEA")
    assert r.ok, r
    # RFC 5161's answer: the one it knows, X-GOOD-IDEA ignored
    assert r.raw == [b"* ENABLED CONDSTORE"], r.raw
    assert caps(client) == before


def test_enable_is_repeatable(client):
    # each ENABLED lists what that command turned on: UTF8=ACCEPT
    # (test_imap_listext.py), IMAP4rev2 (test_imap_rev2.py) and QRESYNC
    # once, then nothing new
    for want in ([b"* ENABLED UTF8=ACCEPT IMAP4rev2 QRESYNC"], [b"* ENABLED"]):
        r = client.command("ENABLE utf8=accept IMAP4rev2 QRESYNC")
        assert r.ok and r.raw == want, r


@pytest.mark.parametrize("args,why", [
    ("ENABLE", "ENABLE needs at least one capability name"),
    ("ENABLE ", "ENABLE: Expected an atom"),
    ('ENABLE "CONDSTORE"', "ENABLE: Expected an atom"),
    ("ENABLE CONDSTORE  X", "ENABLE: Expected an atom"),
])
def test_enable_bad_input(client, args, why):
    r = client.command(args)
    assert r.status == "BAD" and r.text == why and not r.untagged, r


def test_enable_before_login(conn):
    r = conn.command("ENABLE CONDSTORE")
    assert r.status == "BAD" and r.text == "ENABLE is not valid before login", r


def test_enable_with_a_mailbox_selected(client, inbox):
    # RFC 5161: only in the authenticated state, before SELECT
    assert client.command("SELECT INBOX").ok
    r = client.command("ENABLE CONDSTORE")
    assert r.status == "BAD" and r.text == "ENABLE is not valid now", r


# ------------------------------------------------------------ ID

def version(imapd):
    out = subprocess.run([imapd, "--version"], capture_output=True, check=True).stdout
    return out.decode().split()[1]


def test_rfc2971_example(conn, imapd):
    r = conn.command('ID ("name" "sodr" "version" "19.34" "vendor" "Pink Floyd Music Limited")')
    assert r.ok, r
    assert r.raw == [('* ID ("name" "imapd" "version" "%s" "vendor" "uw-imap, rebuilt")'
                      % version(imapd)).encode()]


def test_id_nil_after_login(client, imapd):
    r = client.command("ID NIL")
    fields = [bytes(x).decode() for x in r.named("ID")[0][1]]
    assert r.ok and fields == ["name", "imapd", "version", version(imapd),
                               "vendor", "uw-imap, rebuilt"], r


@pytest.mark.parametrize("args,why", [
    ("ID", "ID: Missing argument"),
    ('ID ("name" "x"', "ID: Missing argument"),
    ("ID foo", "ID: needs a parameter list or NIL"),
])
def test_id_bad_input(conn, args, why):
    r = conn.command(args)
    assert r.status == "BAD" and r.text == why, r


# ------------------------------------------------------------ UNAUTHENTICATE

def gone(pid, timeout=10):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if not os.path.exists("/proc/%d" % pid):
            return True
        time.sleep(0.05)
    return False


def uid_of(pid):
    return int(system.proc_status(pid)["Uid"][0])


def test_unauthenticate_then_another_user(connect, user, other_user, spool, sample):
    spool.write(user, sample)
    spool.write(other_user, sample[:1])
    c = connect()
    assert "UNAUTHENTICATE" in caps(c)
    first = server_pid(c)
    assert uid_of(first) == user.uid
    assert client_select(c) == 4
    r = c.command("UNAUTHENTICATE")
    assert r.ok and r.text == "UNAUTHENTICATE completed" and not r.untagged, r
    # the session process that ran as the user is gone; not logged in now
    assert gone(first)
    assert "AUTH=PLAIN" in caps(c) and "MULTIAPPEND" not in caps(c)
    r = c.command("SELECT INBOX")
    assert r.status == "BAD" and r.text == "SELECT is not valid before login", r
    r = c.command('LOGIN "%s" "%s"' % (other_user.name, other_user.password))
    assert r.ok, r
    second = server_pid(c)
    assert second != first and uid_of(second) == other_user.uid
    assert client_select(c) == 1
    assert c.command("LOGOUT").ok


def client_select(c):
    r = c.command("SELECT INBOX")
    assert r.ok, r
    return r.numbered("EXISTS")[0]


def test_unauthenticate_keeps_the_changes_and_counts_failures(connect, user, inbox):
    c = connect()
    assert client_select(c) == 4
    assert c.command("STORE 2 +FLAGS (\\Flagged)").ok
    assert c.command("UNAUTHENTICATE").ok
    r = c.command('LOGIN "%s" "wrong-password"' % user.name)
    assert r.status == "NO" and r.code == "AUTHENTICATIONFAILED", r
    r = c.command('LOGIN "%s" "%s"' % (user.name, user.password))
    assert r.ok, r
    assert client_select(c) == 4
    f = c.command("FETCH 2 FLAGS").fetches()
    assert "\\FLAGGED" in upper(f[2]["FLAGS"])
    # and once more: the pre-login process takes the connection back again
    assert c.command("UNAUTHENTICATE").ok
    assert c.command("UNAUTHENTICATE").status == "BAD"
    assert c.command("LOGOUT").ok


def test_next_command_right_after_the_ok_is_answered(connect, user, other_user, spool):
    # what the client sends the moment it has the OK reaches the pre-login
    # process, never the ending session; ten rounds catch the race
    spool.write(user, [])
    spool.write(other_user, [])
    c = connect()
    for i in range(10):
        who = other_user if i % 2 == 0 else user
        c.send(b"U%d UNAUTHENTICATE\r\n" % i)
        line = c.read_response()
        assert line == b"U%d OK UNAUTHENTICATE completed" % i, line
        c.send(b'L%d LOGIN "%s" "%s"\r\n' % (i, who.name.encode(), who.password.encode()))
        r = c.read_until("L%d" % i)
        assert r.ok, r
        assert uid_of(server_pid(c)) == who.uid


def test_unauthenticate_over_tls_keeps_the_tls_session(server_with, workdir, user,
                                                      other_user, spool, fresh):
    ssl_dir = T.make_ssl_dir(os.path.join(workdir, "ssl-unauth"))
    T.make_pem(os.path.join(ssl_dir, "certs", "imapd.pem"), "unauth.test")
    srv = server_with("ssl_dir = %s" % ssl_dir, tls=True)
    spool.write(other_user, [])
    c = T.TLSIMAP(srv.host, srv.port)
    try:
        c.login(user.name, user.password)
        assert c.command("UNAUTHENTICATE").ok
        c.login(other_user.name, other_user.password)
        assert uid_of(server_pid(c)) == other_user.uid
        assert c.command("SELECT INBOX").ok
        assert c.cn == "unauth.test"
    finally:
        c.close()


def test_after_unauthenticate_the_same_unprivileged_process_serves(conn, user):
    pre = server_pid(conn)
    prelogin_uid = pwd.getpwnam("uwimap").pw_uid
    assert conn.command('LOGIN "%s" "%s"' % (user.name, user.password)).ok
    session = server_pid(conn)
    assert session != pre and uid_of(session) == user.uid
    assert conn.command("UNAUTHENTICATE").ok
    assert gone(session)
    assert server_pid(conn) == pre
    st = system.proc_status(pre)
    assert st["Uid"] == [str(prelogin_uid)] * 4, st["Uid"]
    assert int(st["CapEff"][0], 16) == 0 and st["NoNewPrivs"] == ["1"], st
    assert conn.command("NOOP").ok


def test_commands_behind_unauthenticate_are_answered_not_run(conn, user, inbox):
    # sent before the OK, they reached the ending session: each gets a BAD
    # (a literal's bytes are no command; one waiting for "+" is answered
    # too), none runs, and the first command after the OK is served
    assert conn.command('LOGIN "%s" "%s"' % (user.name, user.password)).ok
    conn.send(b"a UNAUTHENTICATE\r\nb SELECT {5+}\r\nINBOX\r\n"
              b"c STORE 1 +FLAGS {8+}\r\n\\Flagged\r\nd LOGIN {4}\r\n")
    lines = [conn.read_response() for _ in range(4)]
    assert lines == [b"a OK UNAUTHENTICATE completed"] + [
        b"%s BAD Sent before UNAUTHENTICATE completed; not run" % t for t in (b"b", b"c", b"d")], lines
    conn.send(b"e CAPABILITY\r\n")
    seen = read_tagged(conn, "e")[0]
    assert seen[-1] == b"e OK CAPABILITY completed", seen
    conn.login(user.name, user.password)
    assert client_select(conn) == 4
    f = conn.command("FETCH 1 FLAGS").fetches()
    assert "\\FLAGGED" not in upper(f[1]["FLAGS"])


def test_login_failures_count_across_unauthenticate(server_with, open_to, user, spool, fresh):
    # UNAUTHENTICATE gives no fresh budget for guessing passwords
    spool.write(user, [])
    c = open_to(server_with("login_delay = 0\nmax_login_failures = 3"))
    for _ in range(2):
        r = c.command('LOGIN "%s" "wrong"' % user.name)
        assert r.status == "NO" and r.code == "AUTHENTICATIONFAILED", r
    c.login(user.name, user.password)
    assert c.command("UNAUTHENTICATE").ok
    c.send(b'x LOGIN "%s" "wrong"\r\n' % user.name.encode())
    seen, closed = read_tagged(c, "x")
    assert seen[-1] == b"x NO [AUTHENTICATIONFAILED] Invalid credentials", seen
    assert c.read_response() == b"* BYE Too many login failures"
    with pytest.raises(EOFError):
        c.read_response()


def test_unauthenticate_bad_input(client):
    r = client.command("UNAUTHENTICATE now")
    assert r.status == "BAD" and r.text == "UNAUTHENTICATE: Unexpected extra arguments", r
    assert client.command("NOOP").ok


def test_no_starttls_after_unauthenticate(conn, user):
    assert "STARTTLS" in caps(conn)
    assert conn.command('LOGIN "%s" "%s"' % (user.name, user.password)).ok
    assert conn.command("UNAUTHENTICATE").ok
    assert "STARTTLS" not in caps(conn)
    r = conn.command("STARTTLS")
    assert r.status == "NO" and r.text == "STARTTLS is only possible before the first login", r


def test_preauth_session_does_not_offer_unauthenticate(imapd_as, user, inbox):
    # started as the user (ssh): nobody else could log in on the connection
    out = imapd_as(user, b"a CAPABILITY\r\nb UNAUTHENTICATE\r\nc LOGOUT\r\n").stdout
    lines = out.split(b"\r\n")
    assert lines[0].startswith(b"* PREAUTH ") and b"UNAUTHENTICATE" not in lines[0], lines
    assert b"UNAUTHENTICATE" not in lines[1], lines
    assert lines[3] == (b"b BAD UNAUTHENTICATE is not available in a pre-authenticated "
                        b"session"), lines
