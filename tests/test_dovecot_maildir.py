# Interoperability with Debian's Dovecot on the same Maildir (~/Maildir,
# Maildir++ folders, '/' as the IMAP hierarchy delimiter): a Maildir written
# and flagged through Dovecot is served by our imapd with identical
# UIDVALIDITY, UIDNEXT, UIDs, flags, keywords, INTERNALDATE, RFC822.SIZE and
# BODY[] bytes and the same folders, and the reverse; and a client's cache
# (UIDVALIDITY + UID -> flags) stays valid while the user switches servers
# back and forth, changing mail on each side and with MTA deliveries between.
# Both servers run as the test user, pre-authenticated over pipes.
import contextlib
import datetime
import os
import sys
import threading
import time

import pytest

from helpers import mailstore, mbox
from helpers.imapclient import Lit, quote
from helpers.pipeimap import PipeIMAP
from helpers.session import make_message, message_id, parse_untagged

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "bench"))
from servers import DOVECOT, Account, Server  # noqa: E402

pytestmark = pytest.mark.skipif(not os.access(DOVECOT, os.X_OK),
                                reason="Dovecot's imap binary (%s) is not installed "
                                "(apt-get install dovecot-imapd)" % DOVECOT)

# Dovecot's Maildir++ as a Debian administrator sets it up, with '/' as the
# hierarchy delimiter (on disk a/b is still .a.b); its index files stay in
# the Maildir, as they do by default.
DOVECOT_CONF = """# written by tests/test_dovecot_maildir.py
protocols = imap
ssl = no
log_path = /dev/stderr
mail_location = maildir:~/Maildir
namespace inbox {
  inbox = yes
  separator = /
}
"""
FOLDERS = ("INBOX", "a", "a/b")

# What the scenario writes, whichever server runs it: six messages into
# INBOX (one expunged again; the last one large, dated in another zone),
# two folders with mail.
SAMPLE = mbox.load("sample.mbox") + mbox.load("late.mbox")
INBOX_MAIL = [(e.crlf(), date) for e, date in zip(SAMPLE, (
    "19-Nov-2026 10:00:00 +0000", "20-Nov-2026 08:30:00 +0000",
    "21-Nov-2026 23:15:00 +0000", "23-Nov-2026 17:45:00 +0000",
    "25-Nov-2026 09:00:00 +0000"))] + [
    (make_message(6, 300000, "big").crlf(), "01-Dec-2026 05:00:00 -0700")]
NOTE_MAIL = make_message(10, 300, "note").crlf()
A_MAIL = (make_message(7, 500, "a").crlf(), "02-Dec-2026 01:02:03 +0000")
AB_MAIL = [(make_message(8, 700, "ab").crlf(), "03-Dec-2026 04:05:06 +0000"),
           (make_message(9, 900, "ab").crlf(), "04-Dec-2026 07:08:09 +0000")]
# Flags each message ends with (message 5 is expunged), per folder, in order.
WANT_FLAGS = {
    "INBOX": [{"\\Seen"}, {"\\Flagged", "\\Answered"}, {"\\Draft", "$Label1"},
              {"Junk", "\\Seen"}, {"\\Deleted"}],
    "a": [{"\\Seen"}],
    "a/b": [{"$Label1"}, set()],
}
WANT_MAIL = {"INBOX": [m for i, m in enumerate(INBOX_MAIL) if i != 4],
             "a": [A_MAIL], "a/b": AB_MAIL}
# Files as some delivery agents leave them: CRLF line ends, no final one.
ODD_MAIL = [
    mbox.Entry(b"From: crlf@example.org\r\nSubject: stored with CRLF\r\n\r\n"
               b"line one\r\nline two\r\n", date="Fri Nov 27 11:00:00 2026"),
    mbox.Entry(b"From: cut@example.org\nSubject: no final newline\n\nlast line",
               date="Sat Nov 28 12:00:00 2026"),
]


# ---------------------------------------------------------------- servers

class HomeServer(Server):
    """A server of servers.py that serves the user's own home (~/Maildir),
    with its configuration text and log under root."""

    def __init__(self, kind, binary, root, account, home, conf, extra_env=None):
        super().__init__(kind, binary, root, account, extra_env)
        self.home = home
        os.makedirs(self.spool, exist_ok=True)
        os.chmod(root, 0o755)
        self._own(self.spool, 0o700)
        with open(self.conf, "w") as f:
            f.write(conf)
        os.chmod(self.conf, 0o644)


@pytest.fixture
def servers(imapd, user, workdir, san_env, fresh):
    """{"dovecot", "dovecot-crlf" (mail_save_crlf = yes), "ours" (INBOX
    found as ~/Maildir, no configuration for it), "ours-configured"
    (inbox = ~/Maildir, mail_format = maildir)} on
    the test user's emptied home (fresh removes ~/Maildir afterwards)."""
    acct = Account.named(user.name)
    base = os.path.join(workdir, "dovecot-maildir")
    os.makedirs(base, exist_ok=True)

    def ours(name, extra):
        """Our imapd with a private spool directory and extra settings."""
        root = os.path.join(base, name)
        os.makedirs(root, exist_ok=True)
        return HomeServer("ours", imapd, root, acct, user.home,
                          "spool_dir = %s\n%s" % (os.path.join(root, "spool"), extra),
                          san_env)
    return {
        "dovecot": HomeServer("dovecot", DOVECOT, os.path.join(base, "dovecot"), acct,
                              user.home, DOVECOT_CONF),
        "dovecot-crlf": HomeServer("dovecot", DOVECOT, os.path.join(base, "dovecot-crlf"),
                                   acct, user.home, DOVECOT_CONF + "mail_save_crlf = yes\n"),
        "ours": ours("ours", ""),
        "ours-configured": ours("ours-configured",
                                "inbox = ~/Maildir\nmail_format = maildir\n"),
    }


@contextlib.contextmanager
def session(server):
    """A pre-authenticated session; LOGOUT at the end."""
    c = PipeIMAP(server)
    try:
        assert c.greeting_raw.startswith(b"* PREAUTH"), (server.kind, c.greeting_raw,
                                                          server.log_tail())
        yield c
        ok(c, "LOGOUT")
    finally:
        c.close()


def ok(c, *parts):
    """The result of a command that must succeed (the server's log if not)."""
    r = c.command(*parts)
    assert r.ok, (c.server.kind, "".join(p if isinstance(p, str) else "<literal>"
                                         for p in parts), r, c.server.log_tail())
    return r


# ---------------------------------------------------------------- the scenario

def append(c, box, data, date, flags=""):
    """APPEND with flags and an internal date."""
    ok(c, "APPEND %s (%s) %s " % (quote(box), flags, quote(date)), Lit(data))


def populate(c):
    """Write the scenario through one server: APPEND (some flags given
    there), STORE every system flag and two keywords, EXPUNGE one message,
    CREATE a and a/b with mail."""
    for i, (data, date) in enumerate(INBOX_MAIL):
        append(c, "INBOX", data, date, "\\Seen" if i == 0 else "")
    ok(c, "SELECT INBOX")
    ok(c, "STORE 2 +FLAGS (\\Flagged \\Answered)")
    ok(c, "STORE 3 +FLAGS (\\Draft $Label1)")
    ok(c, "STORE 4 +FLAGS (Junk \\Seen)")
    ok(c, "STORE 5 +FLAGS (\\Deleted)")
    assert ok(c, "EXPUNGE").numbered("EXPUNGE") == [5]
    ok(c, "STORE 5 +FLAGS (\\Deleted)")    # stays, flagged for deletion
    ok(c, "CREATE a")
    ok(c, "CREATE a/b")
    append(c, "a", *A_MAIL, "\\Seen")
    append(c, "a/b", *AB_MAIL[0], "$Label1")
    append(c, "a/b", *AB_MAIL[1])


def flagset(lst):
    """FLAGS without \\Recent, which only one session gets."""
    return frozenset(f for f in lst if f.upper() != "\\RECENT")


def listing(c):
    """{name: (delimiter, selectability attributes)} of LIST "" "*"; a name
    listed twice fails."""
    out = {}
    for u in ok(c, 'LIST "" "*"').named("LIST"):
        name = u[3].decode() if isinstance(u[3], bytes) else u[3]
        attrs = {a.upper() for a in u[1]} & {"\\NOSELECT", "\\NONEXISTENT"}
        assert name not in out, (c.server.kind, "listed twice", name, out[name], u)
        out[name] = (u[2], frozenset(attrs))
    return out


def status(c, box):
    """STATUS MESSAGES UIDNEXT UIDVALIDITY UNSEEN as {item: number}."""
    r = ok(c, "STATUS %s (MESSAGES UIDNEXT UIDVALIDITY UNSEEN)" % quote(box))
    lst = r.named("STATUS")[0][2]
    return {lst[i].upper(): int(lst[i + 1]) for i in range(0, len(lst), 2)}


def instant(s):
    """An INTERNALDATE as an aware datetime: " 2-Dec-2026" and "02-Dec-2026"
    are the same date (RFC 3501 date-day-fixed)."""
    return datetime.datetime.strptime(s.strip(), "%d-%b-%Y %H:%M:%S %z")


def messages(c):
    """{UID: (flags, INTERNALDATE, RFC822.SIZE, BODY[])} of the selected box."""
    r = ok(c, "UID FETCH 1:* (UID FLAGS INTERNALDATE RFC822.SIZE BODY.PEEK[])")
    return {int(d["UID"]): (flagset(d["FLAGS"]), instant(d["INTERNALDATE"].decode()),
                            int(d["RFC822.SIZE"]), bytes(d["BODY[]"]))
            for d in r.fetches().values()}


def snapshot(server):
    """Everything a client caches about the account, as one server says it
    (SELECT, never CLOSE: that would expunge the \\Deleted message)."""
    out = {"LIST": listing_of(server)}
    with session(server) as c:
        for box in FOLDERS:
            st = status(c, box)
            sel = ok(c, "SELECT %s" % quote(box))
            codes = sel.codes()
            out[box] = {"STATUS": st,
                        "SELECT": {"UIDVALIDITY": int(codes["UIDVALIDITY"]),
                                   "UIDNEXT": int(codes["UIDNEXT"]),
                                   "EXISTS": sel.numbered("EXISTS")},
                        "messages": messages(c)}
    return out


def listing_of(server):
    """listing() in a session of its own."""
    with session(server) as c:
        return listing(c)


def check_written(snap):
    """The writer's own view is the scenario: flags, dates, sizes, bytes,
    ascending UIDs, STATUS agreeing with SELECT."""
    assert set(snap["LIST"]) == {"INBOX", "a", "a/b"}, snap["LIST"]
    assert {d for d, _ in snap["LIST"].values()} == {b"/"}, snap["LIST"]
    for box in FOLDERS:
        s = snap[box]
        uids = sorted(s["messages"])
        got = [s["messages"][u] for u in uids]
        assert [g[0] for g in got] == WANT_FLAGS[box], box
        assert [(g[3], g[1]) for g in got] == [(m, instant(d)) for m, d in WANT_MAIL[box]], box
        assert [g[2] for g in got] == [len(m) for m, _ in WANT_MAIL[box]], box
        assert s["SELECT"]["EXISTS"] == [len(uids)]
        assert s["SELECT"]["UIDNEXT"] > uids[-1]
        assert s["STATUS"]["UIDVALIDITY"] == s["SELECT"]["UIDVALIDITY"]
        assert s["STATUS"]["UIDNEXT"] == s["SELECT"]["UIDNEXT"]
        assert s["STATUS"]["MESSAGES"] == len(uids)
    assert sorted(snap["INBOX"]["messages"])[-1] == 6 and 5 not in snap["INBOX"]["messages"]


def check_same(writer, reader, wname, rname):
    """The reader's snapshot equals the writer's, item by item."""
    assert reader["LIST"] == writer["LIST"], (wname, rname)
    for box in FOLDERS:
        for key in ("SELECT", "STATUS"):
            assert reader[box][key] == writer[box][key], (box, key, wname, rname)
        w, r = writer[box]["messages"], reader[box]["messages"]
        assert sorted(r) == sorted(w), (box, "UIDs", wname, rname)
        for uid in sorted(w):
            for i, item in enumerate(("FLAGS", "INTERNALDATE", "RFC822.SIZE", "BODY[]")):
                assert r[uid][i] == w[uid][i], (box, uid, item, wname, rname)


# ---------------------------------------------------------------- tests

def on_disk(user, box):
    """{UID: (flags, mtime, CRLF bytes)} of a folder as helpers/mailstore.py
    reads the Maildir (what the parametrised suites rely on)."""
    md = mailstore.MaildirStore()
    return {m.uid: (m.flags, m.time, mbox.crlf(m.data))
            for m in md.messages(user, None if box == "INBOX" else box)}


def served(snap, box):
    """The same shape from a server's snapshot."""
    return {u: (set(f), int(d.timestamp()), body)
            for u, (f, d, size, body) in snap[box]["messages"].items()}


@pytest.mark.parametrize("writer", ["dovecot", "dovecot-crlf"])
def test_dovecot_writes_imapd_serves(servers, user, writer):
    """A user moving from Dovecot: imapd (INBOX found as ~/Maildir) serves
    what Dovecot wrote (files with LF line ends, or CRLF with
    mail_save_crlf) exactly as Dovecot does, and leaves it so."""
    with session(servers[writer]) as c:
        populate(c)
    stored = [m.data for m in mailstore.MaildirStore().messages(user)]
    assert {b"\r\n" in d for d in stored} == {writer == "dovecot-crlf"}
    written = snapshot(servers["dovecot"])
    check_written(written)
    for box in FOLDERS:
        assert on_disk(user, box) == served(written, box), box
    check_same(written, snapshot(servers["ours"]), "dovecot", "ours")
    # reading changed nothing Dovecot relies on
    check_same(written, snapshot(servers["dovecot"]), "dovecot", "dovecot again")


def test_imapd_writes_dovecot_serves(servers, user):
    """The reverse: imapd (inbox = ~/Maildir) makes the Maildir from
    nothing, Dovecot serves it exactly as imapd does."""
    assert not os.path.exists(os.path.join(user.home, "Maildir"))
    with session(servers["ours-configured"]) as c:
        populate(c)
    assert os.path.isdir(os.path.join(user.home, "Maildir", "cur"))
    written = snapshot(servers["ours-configured"])
    check_written(written)
    check_same(written, snapshot(servers["dovecot"]), "ours", "dovecot")
    check_same(written, snapshot(servers["ours"]), "ours", "ours again")
    for box in FOLDERS:
        assert on_disk(user, box) == served(written, box), box


@pytest.mark.parametrize("first,second", [("dovecot", "ours"), ("ours", "dovecot")],
                         ids=["dovecot-first", "imapd-first"])
def test_mta_delivery_seen_alike(servers, user, sample, first, second):
    """Mail an MTA left in new/ (LF line ends, one stored with CRLF, one
    without a final line end) gets the same UIDs, in delivery order, from
    whichever server sees it first; the other agrees on everything. Then a
    second delivery while the first server's view is cached."""
    sample = sample + ODD_MAIL
    store = mailstore.MaildirStore()
    store.init(user)
    store.write(user, sample)
    snap = snapshot_inbox(servers[first])
    assert [v[3] for _, v in sorted(snap["messages"].items())] == [e.crlf() for e in sample]
    assert [int(v[1].timestamp()) for _, v in sorted(snap["messages"].items())] == \
        [mailstore.entry_time(e) for e in sample]
    assert snapshot_inbox(servers[second]) == snap
    late = mbox.load("late.mbox")[0]
    store.deliver(user, late)
    again = snapshot_inbox(servers[second])
    assert snapshot_inbox(servers[first]) == again
    new = set(again["messages"]) - set(snap["messages"])
    assert len(new) == 1 and min(new) >= snap["UIDNEXT"]
    assert again["messages"][min(new)][3] == late.crlf()
    assert [m.uid for m in store.messages(user)] == sorted(again["messages"])


def snapshot_inbox(server):
    """INBOX alone: UIDVALIDITY, UIDNEXT and the messages (flags without
    \\Recent, which only one session gets)."""
    with session(server) as c:
        codes = ok(c, "SELECT INBOX").codes()
        return {"UIDVALIDITY": int(codes["UIDVALIDITY"]), "UIDNEXT": int(codes["UIDNEXT"]),
                "messages": messages(c)}


def cache_of(server, box="INBOX"):
    """What a client keeps: (UIDVALIDITY, UIDNEXT, {UID: flags})."""
    with session(server) as c:
        codes = ok(c, "SELECT %s" % quote(box)).codes()
        r = ok(c, "UID FETCH 1:* (UID FLAGS)")
        flags = {int(d["UID"]): flagset(d["FLAGS"]) for d in r.fetches().values()}
    return int(codes["UIDVALIDITY"]), int(codes["UIDNEXT"]), flags


def change(server, n, seen, unflag, gone):
    """Turn n on one server: \\Seen and a keyword neither side has seen yet
    on UID seen, \\Flagged off UID unflag, UID gone expunged (with any
    other \\Deleted message), one APPEND."""
    kw = "Turn%d" % n
    with session(server) as c:
        ok(c, "SELECT INBOX")
        ok(c, "UID STORE %d +FLAGS (\\Seen %s)" % (seen, kw))
        ok(c, "UID STORE %d -FLAGS (\\Flagged)" % unflag)
        ok(c, "UID STORE %d +FLAGS (\\Deleted)" % gone)
        assert ok(c, "EXPUNGE").numbered("EXPUNGE")
        ok(c, "APPEND INBOX (%s) " % kw, Lit(make_message(50 + n, 600, kw).crlf()))


@pytest.mark.parametrize("first,second", [("dovecot", "ours-configured"),
                                          ("ours-configured", "dovecot")],
                         ids=["dovecot-first", "imapd-first"])
def test_client_cache_survives_switching(servers, user, first, second):
    """A client that cached the INBOX on one server finds the same UIDs and
    flags on the other, after each server has made changes and an MTA has
    delivered into new/, over three more switches."""
    with session(servers[first]) as c:
        populate(c)
    assert cache_of(servers[second]) == cache_of(servers[first]), "first switch"
    md = mailstore.MaildirStore()
    turns = [second, first, second, first]
    for n, (who, other) in enumerate(zip(turns, turns[1:])):
        validity, uidnext, flags = cache_of(servers[who])
        live = sorted(u for u, f in flags.items() if "\\Deleted" not in f)
        change(servers[who], n, live[0], 2, live[-1])
        md.deliver(user, make_message(100 + n, 400, "mta"))
        mine = cache_of(servers[who])
        assert cache_of(servers[other]) == mine, (n, who, other)
        assert mine[0] == validity, "UIDVALIDITY changed"
        new = set(mine[2]) - set(flags)
        assert len(new) == 2 and min(new) >= uidnext, ("UIDs of the APPEND and the "
                                                      "delivery", new, uidnext)
        assert mine[1] > max(new)
        assert mine[2][live[0]] >= {"\\Seen", "Turn%d" % n}
        assert "\\Flagged" not in mine[2].get(2, ())
        assert live[-1] not in mine[2] and not any("\\Deleted" in f for f in mine[2].values())


def appenduid(r):
    """The UID of an APPENDUID response code."""
    return int(r.codes()["APPENDUID"].split()[1])


@pytest.mark.parametrize("first,second", [("dovecot", "ours-configured"),
                                          ("ours-configured", "dovecot")],
                         ids=["dovecot-first", "imapd-first"])
def test_uid_of_expunged_newest_message_not_reused(servers, first, second):
    """The newest message expunged on one server: the other's UIDNEXT stays
    above its UID and its next APPEND gets a new UID (Dovecot keeps
    expunged records and a lagging N in dovecot-uidlist until it rewrites
    the file, so the list alone can understate it)."""
    with session(servers[first]) as c:
        populate(c)
        gone = appenduid(ok(c, "APPEND INBOX ", Lit(make_message(60, 300, "gone").crlf())))
        ok(c, "SELECT INBOX")
        ok(c, "UID STORE %d +FLAGS (\\Deleted)" % gone)
        ok(c, "EXPUNGE")
        uidnext = status(c, "INBOX")["UIDNEXT"]
    assert uidnext > gone
    with session(servers[second]) as c:
        assert status(c, "INBOX")["UIDNEXT"] == uidnext
        new = appenduid(ok(c, "APPEND INBOX ", Lit(make_message(61, 300, "new").crlf())))
    assert new >= uidnext
    assert cache_of(servers[first]) == cache_of(servers[second])
    assert gone not in cache_of(servers[first])[2]


def test_sessions_on_both_servers_at_once(servers, user):
    """One session on each server, both selected: each sees the other's flag
    changes, expunges and appends on NOOP, under the same UIDs, and mail
    one of them moved from new/ to cur/ is no expunge to the other."""
    with session(servers["dovecot"]) as c:
        populate(c)
    with session(servers["ours"]) as us, session(servers["dovecot"]) as dc:
        ok(us, "SELECT INBOX")
        ok(dc, "SELECT INBOX")
        ok(dc, "UID STORE 1 +FLAGS (\\Flagged Both)")
        d_new = appenduid(ok(dc, "APPEND INBOX ", Lit(make_message(70, 300, "dc").crlf())))
        ok(us, "NOOP")
        assert live_view(us) == live_view(dc)
        ok(us, "UID STORE 2 -FLAGS (\\Flagged)")
        ok(us, "UID STORE 3 +FLAGS (\\Deleted)")
        ok(us, "EXPUNGE")
        u_new = appenduid(ok(us, "APPEND INBOX ", Lit(make_message(71, 300, "us").crlf())))
        assert u_new > d_new
        ok(dc, "NOOP")
        view = live_view(dc)
        assert live_view(us) == view
        assert 3 not in view and 6 not in view
        assert view[1] >= {"\\Flagged", "Both"} and "\\Flagged" not in view[2]
        assert {d_new, u_new} <= set(view)
        # an MTA delivers to new/; one server moves the file to cur/ while
        # the other has the mailbox open: a new message to both, no expunge
        md = mailstore.MaildirStore()
        for n, (mover, other) in enumerate(((dc, us), (us, dc))):
            md.deliver(user, make_message(80 + n, 300, "mta"))
            assert ok(mover, "NOOP").numbered("EXISTS")
            r = ok(other, "NOOP")
            assert r.numbered("EXISTS") and not r.numbered("EXPUNGE"), (n, r.raw)
            assert live_view(us) == live_view(dc)
        assert not os.listdir(os.path.join(user.home, "Maildir", "new"))


def live_view(c):
    """{UID: flags} of the selected mailbox after the session caught up."""
    r = ok(c, "UID FETCH 1:* (UID FLAGS)")
    return {int(d["UID"]): flagset(d["FLAGS"]) for d in r.fetches().values()}


@pytest.mark.parametrize("changer,viewer", [("dovecot", "ours"), ("ours", "dovecot")],
                         ids=["dovecot-changes", "imapd-changes"])
def test_folder_changes_seen_alike(servers, changer, viewer):
    """RENAME (children move along, UIDVALIDITY and UIDs kept), CREATE and
    DELETE on one server; the other lists the same folders with the same
    contents."""
    with session(servers["dovecot"]) as c:
        populate(c)
    before = snapshot(servers[viewer])
    with session(servers[changer]) as c:
        ok(c, "RENAME a x")
        ok(c, "CREATE y/z")
        ok(c, "DELETE y/z")
        ok(c, "CREATE w")
    want = {"INBOX", "x", "x/b", "w"}
    for who in (changer, viewer):
        with session(servers[who]) as c:
            got = listing(c)
            assert set(got) == want, (who, got)
            for old, new in (("a", "x"), ("a/b", "x/b")):
                ok(c, "SELECT %s" % quote(new))
                assert messages(c) == before[old]["messages"], (who, new)
                assert status(c, new) == before[old]["STATUS"], (who, new)
    assert listing_of(servers[changer]) == listing_of(servers[viewer])


def subscribed(c):
    """The names LSUB gives."""
    return {(u[3].decode() if isinstance(u[3], bytes) else u[3])
            for u in ok(c, 'LSUB "" "*"').named("LSUB")}


@pytest.mark.parametrize("first,second", [("dovecot", "ours"), ("ours", "dovecot")],
                         ids=["dovecot-first", "imapd-first"])
def test_subscriptions_carry_over(servers, first, second):
    """Folders subscribed on one server are subscribed on the other (a
    client showing subscribed folders only would otherwise lose them all)."""
    with session(servers["dovecot"]) as c:
        populate(c)
    with session(servers[first]) as c:
        ok(c, "SUBSCRIBE a/b")
        ok(c, "SUBSCRIBE INBOX")
        assert subscribed(c) == {"a/b", "INBOX"}
    with session(servers[second]) as c:
        assert subscribed(c) == {"a/b", "INBOX"}
        ok(c, "UNSUBSCRIBE a/b")
        ok(c, "SUBSCRIBE a")
    with session(servers[first]) as c:
        assert subscribed(c) == {"a", "INBOX"}


def test_copies_seen_alike(servers):
    """COPY on each server (Dovecot hard-links the files): both see the same
    copies, and a flag changed on a copy leaves the original as it was."""
    with session(servers["dovecot"]) as c:
        populate(c)
        ok(c, "SELECT INBOX")
        ok(c, "COPY 1:2 a")
    with session(servers["ours"]) as c:
        ok(c, "SELECT INBOX")
        ok(c, "COPY 3:4 a")
        ok(c, "SELECT a")
        ok(c, "STORE 1:* +FLAGS (Copied)")
    snap = snapshot(servers["ours"])
    check_same(snap, snapshot(servers["dovecot"]), "ours", "dovecot")
    inbox = [snap["INBOX"]["messages"][u] for u in sorted(snap["INBOX"]["messages"])]
    copies = [snap["a"]["messages"][u] for u in sorted(snap["a"]["messages"])][1:]
    assert [(m[1], m[2], m[3]) for m in copies] == [(m[1], m[2], m[3]) for m in inbox[:4]]
    assert [m[0] for m in copies] == [m[0] | {"Copied"} for m in inbox[:4]]
    assert [m[0] for m in inbox] == WANT_FLAGS["INBOX"]


def recreate(server, name, times):
    """CREATE, STATUS, DELETE name again and again; the UIDVALIDITYs."""
    out = []
    with session(server) as c:
        for _ in range(times):
            ok(c, "CREATE %s" % quote(name))
            out.append(status(c, name)["UIDVALIDITY"])
            ok(c, "DELETE %s" % quote(name))
    return out


@pytest.mark.parametrize("first,second", [("dovecot", "ours"), ("ours", "dovecot")],
                         ids=["dovecot-first", "imapd-first"])
def test_recreated_folder_gets_a_greater_uidvalidity(servers, user, first, second):
    """RFC 3501 2.3.1.1: a name deleted and made again gets a greater
    UIDVALIDITY, also when the other server makes it (five quick rounds on
    one server run its values ahead of the clock, so the other's must know
    them)."""
    mailstore.MaildirStore().init(user)
    seen = recreate(servers[first], "r", 5) + recreate(servers[second], "r", 1)
    assert seen == sorted(set(seen)), seen


@pytest.mark.parametrize("name", ["INBOX/sub", "inbox/sub"])
@pytest.mark.parametrize("maker", ["dovecot", "ours"])
def test_folders_under_inbox_listed_alike(servers, user, maker, name):
    """A folder under INBOX, its name given in either case, is listed by both
    servers under one name, beside one INBOX, and holds the same mail."""
    mailstore.MaildirStore().init(user)
    with session(servers[maker]) as c:
        ok(c, "CREATE %s" % name)
        append(c, name, *A_MAIL, "\\Seen")
    views = {}
    for who in ("dovecot", "ours"):
        with session(servers[who]) as c:
            views[who] = listing(c)
            ok(c, "SELECT INBOX/sub")
            assert [m[3] for m in messages(c).values()] == [A_MAIL[0]], who
    assert views["ours"] == views["dovecot"]
    assert [n for n in views["ours"] if n.upper() == "INBOX"] == ["INBOX"], views


def test_appends_on_both_servers_and_an_mta_at_once(servers, user):
    """Dovecot, imapd and an MTA add mail to INBOX at the same moment (both
    servers take dovecot-uidlist.lock): every message is there once, with
    one UID that both servers agree on."""
    mailstore.MaildirStore().init(user)
    n = 40
    errors = []

    def appender(kind):
        try:
            with session(servers[kind]) as c:
                for i in range(n):
                    append(c, "INBOX", make_message(i, 400, kind).crlf(),
                           "05-Dec-2026 10:00:00 +0000")
                    if i % 5 == 4:
                        ok(c, "SELECT INBOX")
        except BaseException as e:      # reported below, in the test's thread
            errors.append((kind, e))

    def mta():
        md = mailstore.MaildirStore()
        for i in range(n):
            md.deliver(user, make_message(i, 400, "mta"))

    threads = [threading.Thread(target=appender, args=(k,)) for k in ("dovecot", "ours")]
    threads.append(threading.Thread(target=mta))
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert not errors, errors
    views = {k: snapshot_inbox(servers[k]) for k in ("ours", "dovecot")}
    assert views["ours"] == views["dovecot"]
    ids = sorted(message_id(m[3]) for m in views["ours"]["messages"].values())
    assert ids == sorted("<%s-%d@test>" % (k, i) for k in ("dovecot", "ours", "mta")
                         for i in range(n))


def test_idle_on_imapd_reports_dovecots_changes(servers, user):
    """A client idling on imapd hears of what Dovecot did meanwhile (a flag
    set, a message expunged, one appended) as FETCH, EXPUNGE and EXISTS,
    and ends up with Dovecot's view."""
    with session(servers["dovecot"]) as c:
        populate(c)
    with session(servers["ours"]) as us:
        assert ok(us, "SELECT INBOX").numbered("EXISTS") == [5]
        tag = us.next_tag()
        us.send("%s IDLE\r\n" % tag)
        assert us.deadline(us.read_response).startswith(b"+")
        with session(servers["dovecot"]) as dc:
            ok(dc, "SELECT INBOX")
            ok(dc, "UID STORE 1 +FLAGS (\\Flagged)")
            ok(dc, "UID STORE 2 +FLAGS (\\Deleted)")
            ok(dc, "EXPUNGE")
            ok(dc, "APPEND INBOX ", Lit(make_message(90, 300, "idle").crlf()))
        heard = []
        # the session polls every few seconds; a deadline kills it if not
        while not ({"FETCH", "EXPUNGE", "EXISTS"} <= {str(u[1]).upper() for u in heard}):
            raw = us.deadline(us.read_response)
            assert raw.startswith(b"* "), raw
            heard.append(parse_untagged(raw))
        us.send("DONE\r\n")
        assert us.deadline(us.read_until, tag).ok
        view = live_view(us)
        with session(servers["dovecot"]) as dc:
            ok(dc, "SELECT INBOX")
            assert live_view(dc) == view
        assert "\\Flagged" in view[1] and 2 not in view and len(view) == 4


NAMES = ["My Folder", "Entw&APw-rfe", "Sent Items/2026", "cur", "new", "tmp", "Maildir"]


@pytest.mark.parametrize("maker,other", [("dovecot", "ours"), ("ours", "dovecot")],
                         ids=["dovecot-creates", "imapd-creates"])
def test_folder_names_seen_alike(servers, user, maker, other):
    """Folders with spaces, modified UTF-7, a level below a space, and names
    of Maildir's own directories: made by one server, listed and opened
    by the other under the same names with the same mail."""
    mailstore.MaildirStore().init(user)
    with session(servers[maker]) as c:
        for name in NAMES:
            ok(c, "CREATE %s" % quote(name))
            append(c, name, *A_MAIL)
    views = {}
    for who in (maker, other):
        with session(servers[who]) as c:
            views[who] = listing(c)
            for name in NAMES:
                ok(c, "SELECT %s" % quote(name))
                assert [m[3] for m in messages(c).values()] == [A_MAIL[0]], (who, name)
            ok(c, "SELECT INBOX")
            assert messages(c) == {}, who
    assert views[maker] == views[other]
    assert set(views[maker]) == {"INBOX", "Sent Items"} | set(NAMES)


@pytest.mark.parametrize("first,second", [("dovecot", "ours"), ("ours", "dovecot")],
                         ids=["dovecot-first", "imapd-first"])
def test_files_a_sync_tool_put_in_cur_seen_alike(servers, user, sample, first, second):
    """Files written straight into cur/ with their flags (as mbsync or
    offlineimap do), one without any info: the same UIDs, in name order,
    and flags from the names, on both servers."""
    store = mailstore.MaildirStore()
    store.init(user)
    infos = ["FS", "", "RT", None]
    for e, info in zip(sample, infos):
        path = store.deliver(user, e, info=info or "")
        if info is None:
            os.rename(path, path[:-len(":2,")])
    snap = snapshot_inbox(servers[first])
    got = [snap["messages"][u] for u in sorted(snap["messages"])]
    assert [m[3] for m in got] == [e.crlf() for e in sample]
    assert [m[0] for m in got] == [{"\\Flagged", "\\Seen"}, set(),
                                  {"\\Answered", "\\Deleted"}, set()]
    assert snapshot_inbox(servers[second]) == snap


@pytest.mark.parametrize("appender,other", [("dovecot", "ours"), ("ours", "dovecot")],
                         ids=["dovecot-appends", "imapd-appends"])
def test_append_goes_after_mail_waiting_in_new(servers, user, sample, appender, other):
    """RFC 3501 6.3.11: APPEND adds to the end of the mailbox, also when the
    mail before it is still in new/ with no UID yet (Dovecot gives those
    their UIDs first); the other server agrees."""
    store = mailstore.MaildirStore()
    store.init(user)
    store.write(user, sample)
    with session(servers[appender]) as c:
        uid = appenduid(ok(c, "APPEND INBOX ", Lit(NOTE_MAIL)))
    snap = snapshot_inbox(servers[other])
    assert snapshot_inbox(servers[appender]) == snap
    got = [snap["messages"][u] for u in sorted(snap["messages"])]
    assert [m[3] for m in got] == [e.crlf() for e in sample] + [NOTE_MAIL]
    assert uid == max(snap["messages"])


@pytest.mark.parametrize("stale,fresh_side", [
    ("ours", "dovecot"), ("dovecot", "ours")], ids=["imapd-stale", "dovecot-stale"])
def test_store_on_a_file_the_other_server_renamed(servers, user, stale, fresh_side):
    """A session that has not yet seen the other server's flag change (the
    file renamed under it) adds and removes flags: nothing the other set is
    lost, and the flags are what both sets of changes make."""
    with session(servers["dovecot"]) as c:
        populate(c)
    with session(servers[stale]) as st:
        ok(st, "SELECT INBOX")
        ok(st, "UID FETCH 1:4 FLAGS")
        # past the mtime dovecot-keywords has (Dovecot runs it ahead of the
        # clock): that second is test_dovecot_sees_a_keyword_imapd_made_in_
        # the_same_second; this test is about flags written from a stale view
        past_mtime(os.path.join(user.home, "Maildir", "dovecot-keywords"))
        with session(servers[fresh_side]) as fr:
            ok(fr, "SELECT INBOX")
            ok(fr, "UID STORE 1 +FLAGS (\\Answered Later)")     # had \Seen
            ok(fr, "UID STORE 2 -FLAGS (\\Answered)")           # had \Flagged \Answered
        ok(st, "UID STORE 1 +FLAGS (\\Flagged)")
        ok(st, "UID STORE 2 +FLAGS (\\Seen)")
        ok(st, "UID STORE 4 -FLAGS (Junk)")                     # untouched by the other
        ok(st, "NOOP")
        mine = live_view(st)
    want = {1: {"\\Seen", "\\Answered", "Later", "\\Flagged"}, 2: {"\\Flagged", "\\Seen"},
            3: {"\\Draft", "$Label1"}, 4: {"\\Seen"}}
    assert {u: mine[u] for u in want} == want
    for who in ("ours", "dovecot"):
        with session(servers[who]) as c:
            ok(c, "SELECT INBOX")
            assert live_view(c) == mine, who


@pytest.mark.parametrize("also", [False, pytest.param(True, marks=pytest.mark.xfail(
    strict=True, reason="driver bug: a session that makes a keyword before it has "
    "synced never shows the keyword Dovecot made meanwhile (NOOP reports the message "
    "without it; the file name and dovecot-keywords are right)"))],
    ids=["noop", "store-then-noop"])
def test_open_imapd_session_shows_dovecots_new_keyword(servers, user, also):
    """imapd's session has made a keyword; Dovecot then makes another on a
    different message; imapd perhaps makes a third before it syncs: after
    NOOP imapd shows them all, as Dovecot does."""
    with session(servers["dovecot"]) as c:
        populate(c)
    with session(servers["ours"]) as us:
        ok(us, "SELECT INBOX")
        ok(us, "UID STORE 4 +FLAGS (First)")
        with session(servers["dovecot"]) as dc:
            ok(dc, "SELECT INBOX")
            ok(dc, "UID STORE 1 +FLAGS (Later)")
        if also:
            ok(us, "UID STORE 3 +FLAGS (Other)")
        ok(us, "NOOP")
        with session(servers["dovecot"]) as dc:
            ok(dc, "SELECT INBOX")
            view = live_view(dc)
        assert live_view(us) == view
        assert "Later" in view[1] and "First" in view[4]


def past_mtime(path):
    """Sleep until the clock's whole seconds are past path's mtime."""
    time.sleep(max(0.0, os.stat(path).st_mtime + 1.02 - time.time()))


def start_of_a_second():
    """Sleep to just after the clock's next whole second, so what follows
    shares that second (file mtimes count whole seconds)."""
    time.sleep(1.02 - time.time() % 1)


def test_dovecot_sees_a_keyword_imapd_made_in_the_same_second(servers, user):
    """An open Dovecot session read dovecot-keywords (written in this second);
    within that second imapd makes a new keyword: Dovecot shows it by name,
    and the file still names it after Dovecot has written it again."""
    with session(servers["dovecot"]) as c:
        populate(c)
    kw_file = os.path.join(user.home, "Maildir", "dovecot-keywords")
    with session(servers["dovecot"]) as dc:
        ok(dc, "SELECT INBOX")
        start_of_a_second()
        now = int(time.time())
        os.utime(kw_file, (now, now))
        ok(dc, "UID STORE 2 +FLAGS (Junk)")     # Dovecot reads the file now
        with session(servers["ours"]) as us:
            ok(us, "SELECT INBOX")
            ok(us, "UID STORE 1 +FLAGS (Later)")
        assert int(time.time()) == now, "too slow to test the same second"
        ok(dc, "NOOP")
        view = live_view(dc)
        ok(dc, "UID STORE 3 +FLAGS (Another)")   # Dovecot writes the file
    keywords = mailstore.read_keywords(os.path.join(user.home, "Maildir"))
    assert "Later" in view[1], view
    # else Dovecot wrote "unknown-2" where "Later" was: lost for every client
    assert sorted(keywords.values()) == ["$Label1", "Another", "Junk", "Later"], keywords
