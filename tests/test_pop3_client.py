# The library as a POP3 client: mtest and mailutil open "{host/pop3}INBOX"
# on this project's ipop3d and on Debian's Dovecot pop3, STLS or implicit
# TLS verified against the test CA of test_imap_client.py, refusals with
# their exact texts, the login commands byte for byte, and DELE made final
# only by QUIT at close, as POP3 defines.
import os
import re
import time

import pytest

from helpers.tls import write
from test_classic_abi import libdir, php_net  # noqa: F401
from test_imap_client import (DOVECOT_TLS_CONF, ScriptServer, expand, mtest, pki, private_dovecot,  # noqa: F401
                              run_as, shown)

POP3_LOGIN = """service pop3-login {{
  inet_listener pop3 {{
    port = {port}
  }}
  inet_listener pop3s {{
    port = {sport}
    ssl = yes
  }}
}}
"""
# test_imap_client's Dovecot, its IMAP on iport (to fill the mailbox), POP3 added
DOVECOT_POP3_CONF = (DOVECOT_TLS_CONF.replace("protocols = imap", "protocols = imap pop3")
                     .replace("port = {port}", "port = {iport}")
                     .replace("port = {sport}", "port = 0")
                     .replace("service anvil", POP3_LOGIN + "service anvil"))
# the library's UIDL record in the home (pop3_uidl.c)
RECORD = ".c-client-pop3"


@pytest.fixture(scope="module")
def pop_ssl_dirs(pki):
    """ssl_dir per certificate kind, holding the test CA's certificates
    under ipop3d's name."""
    dirs = {}
    for kind, d in pki["dirs"].items():
        with open(os.path.join(d, "certs", "imapd.pem"), "rb") as f:
            write(os.path.join(d, "certs", "ipop3d.pem"), f.read())
        dirs[kind] = d
    return dirs


@pytest.fixture(scope="module")
def pop_with(launch_daemon, ipop3d, workdir, spool, pam_service, pop_ssl_dirs):
    """pop_with(kind="good", implicit=False) -> ipop3d with that certificate
    (passwords only over TLS), offering STLS or on implicit TLS."""
    made = {}

    def make(kind="good", implicit=False):
        if (kind, implicit) not in made:
            path = os.path.join(workdir, "pop-client-%s.conf" % kind)
            with open(path, "w") as f:
                f.write("spool_dir = %s\nssl_dir = %s\nallow_plaintext = no\n"
                        % (spool.dir, pop_ssl_dirs[kind]))
            os.chmod(path, 0o644)
            made[kind, implicit] = launch_daemon(argv=[ipop3d, "--config", path] +
                                                 (["--tls"] if implicit else []))
        return made[kind, implicit]
    return make


def subject(e):
    return re.search(rb"^Subject: (.*)$", e.data, re.M).group(1).decode()


# ---------------------------------------------------------------- ipop3d

def test_stls_by_default_fetch_and_dele_at_close(mtest, pop_with, spool, user, sample):
    spool.write(user, sample)
    srv = pop_with()
    name = "{localhost:%d/pop3/debug}INBOX" % srv.port
    r = mtest("open " + name, "headers", "fetch 1", "fetch 4", "set 2 \\Deleted", "expunge",
              "close", "open -r " + name.replace("/debug", ""), "headers")
    out = r.stdout.decode()
    assert r.returncode == 0, (out, r.stderr)
    trace = r.stderr.decode()
    assert "C: STLS\nS: +OK" in trace
    assert re.search(r"^C: AUTH PLAIN <credentials>\nS: \+OK", trace, re.M), trace
    assert user.password not in trace
    assert "C: DELE 2\n" in trace and trace.index("C: DELE 2") < trace.index("C: QUIT")
    # headers by TOP n 0 (no RETR), texts by RETR: only the two fetched
    assert "".join(re.findall(r"^C: (TOP \d+ 0|RETR \d+)$", trace, re.M)) == (
        "TOP 1 0TOP 2 0TOP 3 0TOP 4 0RETR 1RETR 4")
    assert "<classic UIDs" not in trace
    validity = re.match(r"%s: 4 messages, 0 recent, uidvalidity (\d+), uidnext 5\n"
                        % re.escape(name), out).group(1)
    assert "* expunged 2\nexpunge done, 3 messages\n" in out
    # the first text byte-exact (CRLF); the second session sees three, under
    # the same UIDVALIDITY with the UIDs the first gave them (UIDL)
    assert sample[0].crlf() in r.stdout
    second = out.split("\n%s: " % name.replace("/debug", ""))[1]
    assert second.startswith("3 messages, 0 recent, uidvalidity %s, uidnext 5, read-only\n"
                             % validity)
    subjects = re.findall(r"^\d+ uid (\d+) .* subject: (.*)$", second, re.M)
    assert subjects == [(str(i + 1), subject(sample[i])) for i in (0, 2, 3)]


def test_implicit_tls_fetch_is_byte_exact(mtest, pop_with, spool, user, sample):
    spool.write(user, sample)
    srv = pop_with(implicit=True)
    r = mtest("open {127.0.0.1:%d/pop3/ssl}INBOX" % srv.port,
              *["save %d m%d.eml" % (i, i) for i in range(1, len(sample) + 1)])
    assert r.returncode == 0, (r.stdout, r.stderr)
    for i, e in enumerate(sample, 1):
        with open(os.path.join(user.home, "m%d.eml" % i), "rb") as f:
            assert f.read() == e.crlf()


@pytest.mark.parametrize("kind,host,implicit,reason", [
    ("wrong-name", "localhost", True, "hostname mismatch"),
    ("wrong-name", "127.0.0.1", False, "IP address mismatch"),
    ("self-signed", "localhost", False, "self-signed certificate"),
])
def test_certificate_refused_with_reason(mtest, pop_with, user, kind, host, implicit, reason):
    srv = pop_with(kind, implicit)
    name = "{%s:%d/pop3%s}INBOX" % (host, srv.port, "/ssl" if implicit else "")
    r = mtest("open " + name)
    assert r.returncode == 1
    assert r.stdout.decode() == "NO %s: TLS certificate of %s not accepted: %s\n" % (
        name, host, reason)


def test_wrong_password_says_so(mtest, pop_with, user):
    srv = pop_with()
    name = "{localhost:%d/pop3}INBOX" % srv.port
    r = mtest("open " + name, password="not-the-password")
    assert r.returncode == 1
    assert re.match(r"NO %s: login to localhost as %s failed: \S" % (re.escape(name), user.name),
                    r.stdout.decode()), r.stdout


def test_only_inbox_and_no_changes_of_mailboxes(mtest, pop_with, spool, user, sample):
    spool.write(user, sample)
    srv = pop_with()
    net = "{localhost:%d/pop3}" % srv.port
    r = mtest("list %s *" % net, "status %sINBOX" % net, "open %sother" % net,
              "create %sx" % net)
    out = r.stdout.decode().splitlines()
    assert out[0] == "list: %sINBOX \\Noinferiors" % net
    # STATUS opens the maildrop as a session would: the UIDL record's numbers
    with open(os.path.join(user.home, RECORD)) as f:
        validity = f.read().split("\n")[1].split()[1]
    assert out[1] == "%sINBOX: messages 4 recent 0 unseen 4 uidnext 5 uidvalidity %s" % (
        net, validity)
    assert out[2] == "NO %sother: other: a POP3 server has INBOX alone" % net
    assert out[3] == "NO %sx: %sx: a POP3 server cannot create mailboxes" % (net, net)


def opened(out, name):
    """(uidvalidity, uidnext, [(uid, subject)]) of mtest's open and headers."""
    m = re.match(r"%s: \d+ messages, 0 recent, uidvalidity (\d+), uidnext (\d+)"
                 % re.escape(name), out)
    assert m, out
    return (m.group(1), int(m.group(2)),
            [(int(u), s) for u, s in re.findall(r"^\d+ uid (\d+) .* subject: (.*)$", out, re.M)])


def test_uidl_uids_after_a_delete_and_a_delivery(mtest, pop_with, spool, user, sample):
    """Another client deletes message 2, a delivery adds one: the next
    connection keeps the others' UIDs under the same UIDVALIDITY and gives
    the new one the next UID; the record is the user's, 0600."""
    spool.write(user, sample[:3])
    srv = pop_with()
    name = "{localhost:%d/pop3}INBOX" % srv.port
    v1, next1, first = opened(mtest("open " + name, "headers").stdout.decode(), name)
    assert (next1, first) == (4, [(i + 1, subject(sample[i])) for i in range(3)])
    r = mtest("open " + name, "set 2 \\Deleted", "expunge")
    assert "* expunged 2\nexpunge done, 2 messages\n" in r.stdout.decode(), r.stdout
    spool.deliver(user, sample[3])
    v3, next3, third = opened(mtest("open -r " + name, "headers").stdout.decode(), name)
    assert (v3, next3) == (v1, 5)
    assert third == [(i + 1, subject(sample[i])) for i in (0, 2, 3)]
    path = os.path.join(user.home, RECORD)
    st = os.lstat(path)
    assert (st.st_uid, st.st_mode) == (user.uid, 0o100600)
    with open(path) as f:
        text = f.read()
    assert re.fullmatch(r"c-client-pop3 1\nS %s 5 localhost:%d %s\n1 \S+\n3 \S+\n4 \S+\n"
                        % (v1, srv.port, user.name), text), text


@pytest.mark.parametrize("plant", ["record", "lock", "home"])
def test_uidl_record_refused_gives_classic_uids(mtest, pop_with, spool, user, sample, plant):
    """A link planted at the record or its lock, or a home the user does
    not own: nothing is written, UIDs are the session's numbers under a new
    UIDVALIDITY each time, and the /debug trace says why."""
    spool.write(user, sample[:2])
    srv = pop_with()
    name = "{localhost:%d/pop3/debug}INBOX" % srv.port
    victim = os.path.join(user.home, "victim")
    with open(victim, "w") as f:
        f.write("keep\n")
    os.chown(victim, user.uid, user.gid)
    if plant == "home":
        os.chown(user.home, 0, 0)
        os.chmod(user.home, 0o777)
    else:
        os.symlink(victim, os.path.join(user.home, RECORD + (".lock" if plant == "lock" else "")))
    try:
        t0 = int(time.time())
        r = mtest("open " + name, "close", "open " + name)
        t1 = int(time.time())
    finally:
        os.chown(user.home, user.uid, user.gid)
        os.chmod(user.home, 0o700)
    out = r.stdout.decode()
    # the classic UIDVALIDITY: the time of each open
    validities = [int(v) for v in re.findall(r"uidvalidity (\d+), uidnext 3\n", out)]
    assert len(validities) == 2 and all(t0 <= v <= t1 for v in validities), out
    why = {"record": r"\.c-client-pop3 not read: it is a symbolic link \(.*\)",
           "lock": r"cannot lock ~/\.c-client-pop3\.lock: it is a symbolic link",
           "home": r"no home of the user's own for ~/\.c-client-pop3"}[plant]
    notes = re.findall(r"<classic UIDs: (.*)>", r.stderr.decode())
    assert len(notes) == 2 and re.fullmatch(why, notes[0]), r.stderr.decode()
    with open(victim) as f:
        assert f.read() == "keep\n"
    if plant == "home":
        assert not os.path.lexists(os.path.join(user.home, RECORD))


# ---------------------------------------------------------------- refusals

def test_no_stls_no_password(mtest, user):
    srv = ScriptServer(b"+OK hi\r\n", [(b"CAPA", b"+OK\r\nUSER\r\nTOP\r\n.\r\n"),
                                       (b"QUIT", b"+OK bye\r\n")])
    name = "{127.0.0.1:%d/pop3}INBOX" % srv.port
    r = mtest("open " + name)
    srv.join(30)
    assert r.stdout.decode() == ("NO %s: 127.0.0.1 offers no STLS: refusing to send a password "
                                 "in clear (use /ssl for implicit TLS)\n" % name)
    assert all(user.password.encode() not in h for h in srv.heard)


@pytest.mark.parametrize("capa,login,flags", [
    # no SASL: USER and PASS
    ("USER\r\nTOP", [("USER {u}", "+OK"), ("PASS {p}", "+OK in")], ""),
    # SASL PLAIN with its initial response
    ("SASL PLAIN LOGIN", [("AUTH PLAIN b64:\0{u}\0{p}", "+OK in")], ""),
    # /authuser: authenticate as that user, act as /user's
    ("USER", [("AUTH PLAIN b64:ann\0{u}\0{p}", "+OK in")], "/user=ann/authuser={u}"),
])
def test_login_exact_bytes_and_a_hostile_list(mtest, user, capa, login, flags):
    pw = "pa ss"
    fill = dict(u=user.name, p=pw)
    steps = [(expand(w, fill), (r + "\r\n").encode()) for w, r in login]
    srv = ScriptServer(b"+OK hi\r\n", [(b"CAPA", b"+OK\r\n%s\r\n.\r\n" % capa.encode())] + steps +
                       [(b"STAT", b"+OK 2 30\r\n"),
                        # sizes for numbers that do not exist are ignored
                        (b"LIST", b"+OK\r\n1 10\r\n2 20\r\n9 99\r\nx\r\n.\r\n"),
                        (b"QUIT", b"+OK bye\r\n")])
    name = "{127.0.0.1:%d/pop3/notls%s}INBOX" % (srv.port, flags.format(**fill))
    r = mtest("open " + name, password=pw)
    srv.join(30)
    assert srv.done, srv.heard
    assert r.stdout.decode().startswith("%s: 2 messages, 0 recent, uidvalidity " % name)


@pytest.mark.parametrize("capa,uidl,record,uids,why", [
    # no UIDL offered, or an answer RFC 1939 does not allow: session numbers
    ("USER", None, None, "classic", "the server offers no UIDL"),
    ("USER\r\nUIDL", "1 " + "a" * 71 + "\r\n2 b", None, "classic", "unusable"),
    ("USER\r\nUIDL", "1 a\r\n2 a", None, "classic", "unusable"),
    ("USER\r\nUIDL", "1 a\r\n2 b\xff", None, "classic", "unusable"),
    ("USER\r\nUIDL", "1 a", None, "classic", "unusable"),
    # a known record: kept UIDs, the new one the next; gone ones dropped
    ("USER\r\nUIDL", "1 aaa\r\n2 ccc", "3 aaa\n5 bbb\n", "7 3 9 10", None),
    # the server renumbered (known out of order, or a new one before a
    # known one): a new UIDVALIDITY
    ("USER\r\nUIDL", "1 bbb\r\n2 aaa", "3 aaa\n5 bbb\n", "new 1 2 3", None),
    ("USER\r\nUIDL", "1 ccc\r\n2 aaa", "3 aaa\n5 bbb\n", "new 1 2 3", None),
])
def test_uidl_from_a_scripted_server(mtest, user, capa, uidl, record, uids, why):
    steps = [(b"CAPA", b"+OK\r\n%s\r\n.\r\n" % capa.encode()),
             (b"USER " + user.name.encode(), b"+OK\r\n"),
             (b"PASS " + user.password.encode(), b"+OK\r\n"),
             (b"STAT", b"+OK 2 20\r\n"), (b"LIST", b"+OK\r\n1 10\r\n2 10\r\n.\r\n")]
    if uidl:
        steps.append((b"UIDL", b"+OK\r\n%s\r\n.\r\n" % uidl.encode("latin-1")))
    srv = ScriptServer(b"+OK hi\r\n", steps + [(b"QUIT", b"+OK bye\r\n")])
    key = "127.0.0.1:%d %s" % (srv.port, user.name)
    path = os.path.join(user.home, RECORD)
    if record:
        write(path, ("c-client-pop3 1\nS 7 9 %s\n%s" % (key, record)).encode())
        os.chown(path, user.uid, user.gid)
        os.chmod(path, 0o600)
    name = "{127.0.0.1:%d/pop3/notls/debug}INBOX" % srv.port
    t0 = int(time.time())
    r = mtest("open " + name)
    srv.join(30)
    assert srv.done, srv.heard
    validity, uidnext, _ = opened(r.stdout.decode(), name)
    notes = re.findall(r"<classic UIDs: (.*)>", r.stderr.decode())
    if uids == "classic":
        assert int(validity) >= t0 and uidnext == 3
        assert len(notes) == 1 and why in notes[0], r.stderr
        assert not os.path.lexists(path)
        return
    assert notes == []
    v, first, second, nxt = uids.split()
    if v == "new":
        assert int(validity) >= t0
    else:
        assert validity == v
    assert uidnext == int(nxt)
    lines = uidl.replace("\r\n", "\n").split("\n")
    with open(path) as f:
        assert f.read() == "c-client-pop3 1\nS %s %s %s\n%s %s\n%s %s\n" % (
            validity, nxt, key, first, lines[0].split()[1], second, lines[1].split()[1])


def test_no_top_headers_from_retr_once(mtest, user):
    """A server without TOP: the header comes from RETR, whose text then
    serves the fetch too (one RETR); the date is the Date: header's."""
    text = b"Subject: hi\r\nDate: Tue, 03 Nov 2026 10:00:00 +0000\r\n\r\n.body\r\n"
    srv = ScriptServer(b"+OK hi\r\n", [(b"CAPA", b"+OK\r\nUSER\r\n.\r\n"),
                                       (b"USER " + user.name.encode(), b"+OK\r\n"),
                                       (b"PASS " + user.password.encode(), b"+OK\r\n"),
                                       (b"STAT", b"+OK 1 61\r\n"),
                                       (b"LIST", b"+OK\r\n1 61\r\n.\r\n"),
                                       (b"RETR 1", b"+OK\r\n" + text.replace(b"\r\n.", b"\r\n..") +
                                        b".\r\n"),
                                       (b"QUIT", b"+OK bye\r\n")])
    r = mtest("open {127.0.0.1:%d/pop3/notls}INBOX" % srv.port, "headers", "fetch 1")
    srv.join(30)
    assert srv.done, srv.heard
    out = r.stdout.split(b"\n", 1)[1]
    assert len(text) == 61
    assert out == (b"1 uid 1 () 61 octets 03-Nov-2026 10:00:00 +0000 subject: hi\n"
                   b"-- message 1, 61 octets\n" + text + b"\n-- end\n")


# ---------------------------------------------------------------- Dovecot

@pytest.fixture
def dovecot_pop(workdir, pki, user, fresh):
    """Dovecot on the user's ~/dcmail over IMAP (.iport, to fill it) and
    POP3 (.port STLS, .sport implicit TLS)."""
    if not os.access("/usr/lib/dovecot/pop3", os.X_OK):
        pytest.fail("Dovecot pop3 is not installed (apt-get install dovecot-pop3d)")
    with private_dovecot(workdir, pki, user, "dovecot-pop", DOVECOT_POP3_CONF, iport=1, port=1,
                         sport=1) as d:
        yield d


def fill_dovecot(d, pki, user, n):
    """n messages through Dovecot's IMAP (CRLF, as a POP3 server keeps them)."""
    import imaplib
    import ssl
    from helpers.session import make_message
    c = imaplib.IMAP4("localhost", d.iport)
    c.starttls(ssl.create_default_context(cafile=pki["ca"]))
    c.login(user.name, user.password)
    texts = []
    try:
        for i in range(n):
            text = make_message(i, 200 + 37 * (i % 50), "pop").crlf()
            if i == 1:
                text = text.replace(b"\r\n\r\n", b"\r\n\r\n.leading dot\r\n..two\r\n", 1)
            assert c.append("INBOX", None, None, text)[0] == "OK"
            texts.append(text)
    finally:
        c.logout()
    return texts


def test_mailutil_transfer_from_dovecot_pop3(run_as, mtest, dovecot_pop, pki, user):
    n = 40
    texts = fill_dovecot(dovecot_pop, pki, user, n)
    src = "{localhost:%d/pop3/ssl/user=%s}INBOX" % (dovecot_pop.sport, user.name)
    r = run_as("mailutil", ["transfer", src, "#driver.maildir/popped"])
    assert r.returncode == 0, (r.stdout, r.stderr[-2000:])
    local = shown(mtest, "#driver.maildir/popped", n)
    remote = shown(mtest, src, n)
    assert local.count("\n-- end\n") == n
    assert local == remote
    for t in texts:
        assert t.decode() in local.replace("\n-- end\n", "\n")


def test_dovecot_stls_dele(mtest, dovecot_pop, pki, user):
    fill_dovecot(dovecot_pop, pki, user, 3)
    name = "{localhost:%d/pop3}INBOX" % dovecot_pop.port
    r = mtest("open " + name, "set 1 \\Deleted", "expunge", "close", "status " + name)
    out = r.stdout.decode()
    assert r.returncode == 0, (out, r.stderr)
    assert out.startswith("%s: 3 messages" % name)
    assert "* expunged 1\nexpunge done, 2 messages\n" in out
    # UIDL: STATUS and the next connections keep the UIDs, a new message
    # gets the next
    validity = opened(out, name)[0]
    assert re.search(r"^%s: messages 2 recent 0 unseen 2 uidnext 4 uidvalidity %s$"
                     % (re.escape(name), validity), out, re.M), out
    again = opened(mtest("open " + name, "headers").stdout.decode(), name)
    assert again[:2] == (validity, 4) and [u for u, _ in again[2]] == [2, 3]
    fill_dovecot(dovecot_pop, pki, user, 1)
    third = opened(mtest("open " + name, "headers").stdout.decode(), name)
    assert third[:2] == (validity, 5) and [u for u, _ in third[2]] == [2, 3, 4]


def test_php_imap_on_pop3_through_the_classic_library(fresh, libdir, pop_with, spool, user,
                                                       sample, pki):
    """PHP's imap extension, built for libc-client.so.2007e, on our library
    opens a POP3 INBOX on ipop3d over TLS: the classic pop3driver serves the
    same calls as for IMAP (search, sort, headers and flags kept in the
    session; STATUS of the open maildrop answered from it, as the server
    would refuse a second login while the first holds the maildrop)."""
    spool.write(user, sample)
    srv = pop_with(implicit=True)
    box = "{localhost:%d/pop3/ssl}INBOX" % srv.port
    out, _, err = php_net(user, libdir, box, pki["ca"])
    lines = out.splitlines()
    assert lines[0] == "check: %d pop3" % len(sample), (out, err)
    assert lines[1] == "status: %d %d %d" % (len(sample), len(sample), len(sample) + 1)
    assert lines[2] == 'list: ["{localhost:%d\\/pop3\\/ssl}INBOX"]' % srv.port
    assert lines[3:6] == ["search: [2]", "sort: [4,3,2,1]", "header: Hello there"]
    assert lines[6].startswith('body: "This is a multi-part message in MIME format.')
    assert lines[7:] == ["flag: true", "flags: [[1,0],[2,1]]", "errors: false"], out


def test_php_imap_uid_across_connections(fresh, libdir, pop_with, spool, user, sample, pki,
                                         mtest):
    """A webmail's pages on POP3: each a new connection, messages named by
    imap_uid. After another client deletes message 2 and a delivery, the
    next page has the others' UIDs and a greater one for the new."""
    spool.write(user, sample[:3])
    srv = pop_with(implicit=True)
    box = "{localhost:%d/pop3/ssl}INBOX" % srv.port
    first = php_net(user, libdir, box, pki["ca"], uids=True)[0].splitlines()[-2]
    m = re.fullmatch(r"uids: \[1,2,3\] (\d+)", first)
    assert m, first
    r = mtest("open " + box, "set 2 \\Deleted", "expunge")
    assert "expunge done, 2 messages\n" in r.stdout.decode(), r.stdout
    spool.deliver(user, sample[3])
    second = php_net(user, libdir, box, pki["ca"], uids=True)[0].splitlines()[-2]
    assert second == "uids: [1,3,4] %s" % m.group(1)
