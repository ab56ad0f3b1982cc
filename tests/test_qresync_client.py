# A scripted Thunderbird-like QRESYNC client (RFC 7162) on every mailbox
# format: it keeps a local cache (UIDVALIDITY, HIGHESTMODSEQ, each UID's
# flags and body), resynchronises with SELECT ... (QRESYNC ...) after
# another session changed, expunged and appended, and must end with the
# server's mailbox without downloading a body twice; then the same after the
# server's index directory (~/.imapd-cache) is deleted.
import os
import re

from helpers import mailstore
from helpers.imapclient import Lit
from helpers.mbox import Entry

MAIL_FORMATS = mailstore.FORMATS


def message(n):
    data = ("From: t%d@example.com\r\nTo: you@example.org\r\nSubject: q%d\r\n"
            "Message-ID: <q%d@example.com>\r\n\r\nbody of %d\r\n" % (n, n, n, n)).encode()
    return Entry(data.replace(b"\r\n", b"\n"), date="Fri Jan  9 12:00:00 2026")


def ok(r):
    assert r.ok, r
    return r


def uid_set(text):
    """"3,6:8" -> {3, 6, 7, 8}"""
    out = set()
    for part in text.split(","):
        lo, _, hi = part.partition(":")
        out.update(range(int(lo), int(hi or lo) + 1))
    return out


def set_text(uids):
    return ",".join(str(u) for u in sorted(uids))


def flags_of(item):
    """A FETCH FLAGS list as a set, \\Recent left out (it is the session's)."""
    return frozenset(f for f in item if f.lower() != "\\recent")


class CachingClient:
    """What Thunderbird keeps of a mailbox, and how it syncs: a full
    download once, then QRESYNC with its known UIDs and a few
    sequence-number/UID pairs, then only the bodies of new UIDs."""

    def __init__(self, connect):
        self.connect = connect
        self.validity = self.highest = None
        self.flags, self.bodies = {}, {}
        self.downloads = []       # every UID whose body was fetched, in order

    def sync(self):
        """One connection's sync -> (VANISHED UIDs, UIDs of FETCH lines,
        the SELECT's result)."""
        c = self.connect()
        ok(c.command("ENABLE QRESYNC"))
        vanished, changed = set(), set()
        if self.validity is None:
            r = ok(c.command("SELECT INBOX"))
        else:
            r = ok(c.command("SELECT INBOX (QRESYNC (%d %d %s %s))" % (
                self.validity, self.highest, set_text(self.flags), self.seq_match())))
        codes = r.codes()
        if self.validity is not None and int(codes["UIDVALIDITY"]) != self.validity:
            self.flags, self.bodies = {}, {}
        self.validity, self.highest = int(codes["UIDVALIDITY"]), int(codes["HIGHESTMODSEQ"])
        for raw in r.raw:
            m = re.match(rb"^\* VANISHED \(EARLIER\) ([0-9:,]+)$", raw)
            if m:
                vanished |= uid_set(m.group(1).decode())
        for u in vanished:
            self.flags.pop(u, None)
            self.bodies.pop(u, None)
        for a in r.fetches().values():
            uid = int(a["UID"])
            changed.add(uid)
            if uid in self.flags:
                self.flags[uid] = flags_of(a["FLAGS"])
        self.fetch_new(c)
        ok(c.command("LOGOUT"))
        return vanished, changed, r

    def seq_match(self):
        """seq-match-data: every third known message's number and UID."""
        known = sorted(self.flags)
        picks = list(range(0, len(known), 3))
        return "(%s %s)" % (",".join(str(i + 1) for i in picks),
                            ",".join(str(known[i]) for i in picks))

    def fetch_new(self, c):
        """Flags and bodies of the UIDs above the highest known."""
        top = max(self.flags, default=0)
        r = ok(c.command("UID FETCH %d:* (FLAGS)" % (top + 1)))
        new = {int(a["UID"]): flags_of(a["FLAGS"]) for a in r.fetches().values()
               if int(a["UID"]) > top}     # "n:*" names the last message too
        if not new:
            return
        r = ok(c.command("UID FETCH %s (BODY.PEEK[])" % set_text(new)))
        for a in r.fetches().values():
            uid = int(a["UID"])
            self.bodies[uid] = bytes(a["BODY[]"])
            self.downloads.append(uid)
        self.flags.update(new)


def server_state(connect):
    """{UID: (flags, body)} as a fresh session reads the mailbox."""
    c = connect()
    ok(c.command("EXAMINE INBOX"))
    r = ok(c.command("UID FETCH 1:* (FLAGS BODY.PEEK[])"))
    ok(c.command("LOGOUT"))
    return {int(a["UID"]): (flags_of(a["FLAGS"]), bytes(a["BODY[]"]))
            for a in r.fetches().values()}


def cache_state(tb):
    assert set(tb.flags) == set(tb.bodies)
    return {u: (tb.flags[u], tb.bodies[u]) for u in tb.flags}


def append(c, n):
    data = message(n).data.replace(b"\n", b"\r\n")
    r = ok(c.command("APPEND INBOX ", Lit(data)))
    return int(r.code.split()[2])     # APPENDUID validity uid


def another_session(connect, store, expunge, appended):
    """Flag changes (UID, command), the expunge of the UIDs in expunge,
    then appends: those kept, and one more appended and expunged again.
    -> the UIDs of the kept new messages."""
    b = connect()
    ok(b.command("SELECT INBOX"))
    for uid, what in store:
        ok(b.command("UID STORE %d %s" % (uid, what)))
    for gone in (expunge, None):
        if gone is None:
            new = [append(b, n) for n in appended]
            gone = {append(b, 99)}
            ok(b.command("NOOP"))
        if gone:
            ok(b.command("UID STORE %s +FLAGS.SILENT (\\Deleted)" % set_text(gone)))
            ok(b.command("UID EXPUNGE %s" % set_text(gone)))
    ok(b.command("LOGOUT"))
    return set(new)


def lose_index(user):
    """Delete the mailbox's files in ~/.imapd-cache (modseqs, the mbox index,
    \\Recent claims, MH's state), keeping the user's key and UIDVALIDITY
    counter, which belong to no mailbox."""
    cache = os.path.join(user.home, ".imapd-cache")
    names = [n for n in os.listdir(cache) if n not in ("secret", "uidvalidity")]
    assert [n for n in names if n.endswith(".msq")], names
    for n in names:
        os.unlink(os.path.join(cache, n))


def test_thunderbird_like_resync(mail_store, user, connect):
    mail_store.write(user, [message(n) for n in range(1, 13)])
    tb = CachingClient(connect)
    tb.sync()
    uids = sorted(tb.flags)
    assert len(uids) == 12 and sorted(tb.downloads) == uids
    assert cache_state(tb) == server_state(connect)
    first_highest = tb.highest

    # another client: \Seen, \Flagged, a keyword, a flag set and cleared
    # (still a change), a change on a message it then expunges, appends
    u = dict(enumerate(uids, 1))
    store = [(u[2], "+FLAGS (\\Seen)"), (u[5], "+FLAGS (\\Flagged)"),
             (u[7], "+FLAGS ($Label1)"), (u[9], "+FLAGS (\\Answered)"),
             (u[9], "-FLAGS (\\Answered)"), (u[6], "+FLAGS (\\Seen)")]
    gone = {u[3], u[6], u[8]}
    new = another_session(connect, store, gone, (13, 14))
    vanished, changed, r = tb.sync()
    assert vanished == gone
    assert changed == {u[2], u[5], u[7], u[9]}
    assert not [x for x in r.raw if re.match(rb"^\* \d+ EXPUNGE", x)], r.raw
    assert tb.highest > first_highest
    # zero re-downloads: only the new messages' bodies came
    assert tb.downloads == uids + sorted(new)
    assert cache_state(tb) == server_state(connect)
    assert "$Label1" in tb.flags[u[7]] and "\\Flagged" in tb.flags[u[5]]

    # more changes, then the mailbox's index files are lost; the next sync
    # may hear every flag again, never a smaller HIGHESTMODSEQ, and ends
    # with the mailbox as it is
    before, validity = tb.highest, tb.validity
    another_session(connect, [(u[1], "+FLAGS (\\Flagged)")], {u[4]}, (15,))
    lose_index(user)
    vanished, changed, r = tb.sync()
    assert tb.highest > before
    assert cache_state(tb) == server_state(connect)
    if mail_store.format == "mh":
        # MH keeps its UIDVALIDITY in the index: a new, greater one, and
        # the client starts again (each message downloaded once more)
        assert tb.validity > validity and len(tb.downloads) == 14 + 11
    else:
        # the UIDs held: exactly the known message that went is VANISHED,
        # every other known one may come as FETCH, no body comes again
        assert tb.validity == validity
        assert vanished == {u[4]} and changed <= set(tb.flags)
        assert len(tb.downloads) == len(set(tb.downloads)) == 15

    # from the rebuilt state the next sync is exact again, and a UID is
    # never used twice: the newest message goes, a new one comes
    newest = max(tb.flags)
    new = another_session(connect, [(u[10], "+FLAGS (\\Seen)")], {u[11], newest}, (16,))
    assert min(new) > newest
    vanished, changed, r = tb.sync()
    assert vanished == {u[11], newest} and changed == {u[10]}
    assert tb.downloads[-1:] == sorted(new)
    assert cache_state(tb) == server_state(connect)


def test_uid_of_an_expunged_last_message_is_never_reused(mail_store, user, connect):
    """RFC 3501 2.3.1.1: a cache keyed by UID breaks if a UID comes back.
    The mbox and MMDF drivers gave an expunged last message's UID to the
    next APPEND (and STATUS disagreed with SELECT on UIDNEXT)."""
    mail_store.write(user, [message(n) for n in range(1, 4)])
    b = connect()
    ok(b.command("SELECT INBOX"))
    last = append(b, 4)
    ok(b.command("UID STORE %d +FLAGS.SILENT (\\Deleted)" % last))
    ok(b.command("UID EXPUNGE %d" % last))
    ok(b.command("LOGOUT"))
    c = connect()
    status = ok(c.command("STATUS INBOX (UIDNEXT)")).raw
    assert status == [b"* STATUS INBOX (UIDNEXT %d)" % (last + 1)]
    assert int(ok(c.command("SELECT INBOX")).codes()["UIDNEXT"]) == last + 1
    assert append(c, 5) == last + 1
