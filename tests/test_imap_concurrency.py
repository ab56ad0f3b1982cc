# Real concurrency on a /var/mail-style spool: an MTA-like process appends
# with dotlock + fcntl locking while IMAP sessions flag, expunge and poll the
# same INBOX; afterwards every delivered message is there exactly once, byte
# for byte, and the expunged ones are gone. One test delivers through
# liblockfile's dotlockfile (whose retry sleeps 5 s), the busier one through
# an equivalent dotlock that retries every 10 ms. And a daemon killed with
# SIGKILL while rewriting a large mailbox leaves the old or the new state.
import os
import random
import signal
import threading
import time

from helpers import mbox
from helpers.imapclient import RawIMAP
from helpers.session import (View, bodies_by_id, deliver_quick, make_message,
                             message_id, server_pid)

N_DELIVER = 100


class Deliverer(threading.Thread):
    """Deliver messages one by one with small random pauses, as an MTA
    would; records an exception instead of losing it."""

    def __init__(self, spool, user, entries, pause=0.02, quick=False):
        super().__init__(daemon=True)
        self.spool, self.user, self.entries = spool, user, entries
        self.quick = quick      # own dotlock with 10 ms retries
        self.pause = pause
        self.error = None
        self.done = 0

    def run(self):
        rnd = random.Random(7)
        try:
            for e in self.entries:
                if self.quick:
                    deliver_quick(self.spool, self.user, e)
                else:
                    self.spool.deliver(self.user, e)     # dotlockfile
                self.done += 1
                time.sleep(rnd.uniform(0, self.pause))
        except Exception as exc:      # reported by the test
            self.error = exc


def select_view(c):
    r = c.command("SELECT INBOX")
    assert r.ok, r
    v = View([None] * r.numbered("EXISTS")[-1])
    v.fill(c)
    return v


def ids_by_uid(c):
    r = c.command("UID FETCH 1:* (UID BODY.PEEK[HEADER.FIELDS (MESSAGE-ID)])")
    assert r.ok, r
    out = {}
    for d in r.fetches().values():
        key = [k for k in d if str(k).startswith("BODY[HEADER")][0]
        out[int(d["UID"])] = message_id(bytes(d[key]))
    return out


def expunge_loop(c, victims, expunged, deliverer, errors, also_new=False):
    """Until the deliveries are over: now and then mark the next two victims
    (by UID) \\Deleted and EXPUNGE, NOOP in between; spread over the whole
    delivery so expunges and appends interleave. also_new: each time also
    the newest message delivered meanwhile (its UID given by this session).
    The session's model of numbers and UIDs must stay consistent."""
    try:
        v = View.of(c)
        total = len(deliverer.entries)
        step = max(1, total // (len(victims) // 2 + 1))
        next_at = 0
        while deliverer.is_alive() or victims:
            if victims and (deliverer.done >= next_at or not deliverer.is_alive()):
                next_at += step
                batch = [victims.pop(0) for _ in range(min(2, len(victims)))]
                if also_new:
                    batch += newest_delivered(c, v, expunged)
                for uid, mid in batch:
                    r = v.apply(c.command("UID STORE %d +FLAGS.SILENT (\\Deleted)" % uid))
                    assert r.ok, r
                r = v.apply(c.command("EXPUNGE"))
                assert r.ok, r
                expunged.extend(mid for _, mid in batch)
                v.fill(c)
                assert not any(uid in v.uids for uid, _ in batch), \
                    "expunged UIDs still listed: %r" % batch
            assert v.apply(c.command("NOOP")).ok
            v.fill(c)
            time.sleep(0.04)
        for _ in range(3):
            assert v.apply(c.command("NOOP")).ok
        v.fill(c)
        f = c.command("FETCH 1:* UID").fetches()
        assert [int(f[i]["UID"]) for i in sorted(f)] == v.uids, \
            "session model and server disagree"
    except Exception as exc:
        errors.append(exc)


def newest_delivered(c, v, expunged):
    """[(uid, id)] of the last message if it is a delivered one not yet
    expunged, else []."""
    v.fill(c)
    if not v.uids:
        return []
    uid = v.uids[-1]
    r = c.command("UID FETCH %d (BODY.PEEK[HEADER.FIELDS (MESSAGE-ID)])" % uid)
    f = list(r.fetches().values())
    if not f:
        return []
    key = [k for k in f[0] if str(k).startswith("BODY[HEADER")][0]
    mid = message_id(bytes(f[0][key]))
    if mid and mid.startswith("<new-") and mid not in expunged:
        return [(uid, mid)]
    return []


def check_final(c, initial, delivered, expunged):
    """Everything not expunged present exactly once, byte for byte."""
    want = {message_id(e.data): e.crlf() for e in initial + delivered}
    for mid in expunged:
        del want[mid]
    got = bodies_by_id(c)
    dups = {k: len(v) for k, v in got.items() if len(v) > 1}
    assert not dups, "duplicated messages: %r" % dups
    back = sorted(set(expunged) & set(got))
    assert not back, "expunged messages are back: %r" % back
    missing = sorted(set(want) - set(got))
    assert not missing, "lost messages: %r" % missing
    extra = sorted(set(got) - set(want))
    assert not extra, "unexpected messages: %r" % extra
    changed = sorted(k for k in want if got[k][0] != want[k])
    assert not changed, "messages changed: %r" % changed


def spool_ids(spool, user):
    return [message_id(e.data) for e in mbox.real_messages(spool.read(user))]


def test_deliveries_while_one_session_expunges(fresh, user, spool, connect):
    initial = [make_message(i, 300 + 37 * i, tag="old") for i in range(30)]
    spool.write(user, initial)
    delivered = [make_message(i, 200 + 53 * i, tag="new") for i in range(N_DELIVER)]
    c = connect()
    select_view(c)
    victims = [(u, m) for u, m in sorted(ids_by_uid(c).items())][:20]
    expunged, errors = [], []
    d = Deliverer(spool, user, delivered)
    d.start()
    expunge_loop(c, victims, expunged, d, errors, also_new=True)
    d.join(300)
    assert not d.is_alive(), "delivery hung (a lock held forever?)"
    assert d.error is None, "delivery failed: %r" % d.error
    assert not errors, errors[0]
    n_new = len([m for m in expunged if m.startswith("<new-")])
    assert len(expunged) - n_new == 20
    assert c.command("NOOP").ok
    check_final(c, initial, delivered, expunged)
    assert c.command("LOGOUT").ok
    # the file itself, and a fresh session, agree
    left = 30 - 20 + N_DELIVER - n_new
    ids = spool_ids(spool, user)
    assert len(ids) == len(set(ids)) == left
    c2 = connect()
    r = c2.command("SELECT INBOX")
    assert r.numbered("EXISTS") == [left], r.raw
    check_final(c2, initial, delivered, expunged)


def test_deliveries_while_two_sessions_expunge(fresh, user, spool, connect):
    initial = [make_message(i, 500 + 11 * i, tag="old") for i in range(40)]
    spool.write(user, initial)
    delivered = [make_message(i, 300 + 29 * i, tag="new") for i in range(N_DELIVER)]
    a, b = connect(), connect()
    select_view(a)
    select_view(b)
    olds = sorted(ids_by_uid(a).items())
    # disjoint victims: a takes even, b odd positions of the first 32
    va = [olds[i] for i in range(0, 32, 2)]
    vb = [olds[i] for i in range(1, 32, 2)]
    exp_a, exp_b, errors = [], [], []
    d = Deliverer(spool, user, delivered, pause=0.01, quick=True)
    ta = threading.Thread(target=expunge_loop, args=(a, va, exp_a, d, errors))
    tb = threading.Thread(target=expunge_loop, args=(b, vb, exp_b, d, errors))
    for t in (d, ta, tb):
        t.start()
    for t in (ta, tb):
        t.join(300)
        assert not t.is_alive(), "an IMAP session hung"
    d.join(300)
    assert not d.is_alive(), "delivery hung (a lock held forever?)"
    assert d.error is None, "delivery failed: %r" % d.error
    assert not errors, errors[0]
    assert len(exp_a) == len(exp_b) == 16
    for c in (a, b):
        assert c.command("NOOP").ok
        check_final(c, initial, delivered, exp_a + exp_b)
    # both sessions see the same UIDs in the same order
    fa = a.command("FETCH 1:* UID").fetches()
    fb = b.command("FETCH 1:* UID").fetches()
    assert [fa[i]["UID"] for i in sorted(fa)] == [fb[i]["UID"] for i in sorted(fb)]
    for c in (a, b):
        c.command("LOGOUT")
    ids = spool_ids(spool, user)
    assert len(ids) == len(set(ids)) == 40 - 32 + N_DELIVER


# ------------------------------------------------------------ SIGKILL

BIG_N = 240             # messages of ~16 KB: about 4 MB of spool
# when to kill: after a fixed delay, or as soon as a new file (the rewrite's
# temporary copy or its journal in ~/.imapd-cache, whatever its name)
# appears in one of the watched directories
TRIGGERS = ["newfile", "newfile-late", 0.0, 0.002, 0.005, 0.01, 0.03, 0.1]


def listing(dirs):
    out = set()
    for d in dirs:
        try:
            out |= {os.path.join(d, f) for f in os.listdir(d)}
        except FileNotFoundError:
            pass
    return out


def wait_trigger(trigger, dirs, before):
    if not isinstance(trigger, str):
        time.sleep(trigger)
        return
    end = time.monotonic() + 2
    while time.monotonic() < end:
        if [f for f in listing(dirs) - before if not f.endswith(".lock")]:
            break
    if trigger == "newfile-late":
        time.sleep(0.003)


def kill_during_expunge(server, user, spool, trigger):
    """Select, mark every third message deleted, send EXPUNGE and SIGKILL
    the serving process at the trigger. Returns (deleted ids, True if the
    tagged EXPUNGE reply had not arrived before the kill)."""
    c = RawIMAP(server.host, server.port, timeout=60)
    try:
        c.login(user.name, user.password)
        assert c.command("SELECT INBOX").numbered("EXISTS") == [BIG_N]
        ids = ids_by_uid(c)
        uids = sorted(ids)
        doomed = uids[::3]
        for i in range(0, len(doomed), 40):
            part = ",".join(str(u) for u in doomed[i:i + 40])
            assert c.command("UID STORE %s +FLAGS.SILENT (\\Deleted)" % part).ok
        assert c.command("NOOP").ok     # flags on disk; the rewrite is next
        pid = server_pid(c)
        assert pid, "cannot find the daemon serving this connection"
        dirs = [spool.dir, os.path.join(user.home, ".imapd-cache")]
        before = listing(dirs)
        c.send("X1 EXPUNGE\r\n")
        wait_trigger(trigger, dirs, before)
        os.kill(pid, signal.SIGKILL)
        rest = b""
        c.sock.settimeout(10)
        try:
            while True:
                chunk = c.sock.recv(65536)
                if not chunk:
                    break
                rest += chunk
        except OSError:
            pass
        return [ids[u] for u in doomed], b"\r\nX1 OK" not in b"\r\n" + rest
    finally:
        c.close()


def test_sigkill_during_expunge_keeps_old_or_new_state(fresh, user, spool, server, connect):
    entries = [make_message(i, 16000 + (i % 7) * 900, tag="big") for i in range(BIG_N)]
    all_ids = [message_id(e.data) for e in entries]
    want = {message_id(e.data): e.crlf() for e in entries}
    interrupted = 0
    for trigger in TRIGGERS:
        spool.remove(user)
        spool.write(user, entries)
        doomed, cut = kill_during_expunge(server, user, spool, trigger)
        interrupted += cut
        time.sleep(0.2)
        # a fresh session (stale lock, temp file or journal and all) first:
        # a rewrite in place is finished from its journal when the mailbox
        # is next opened, so the file alone may be half-written until then
        c = connect()
        r = c.command("SELECT INBOX")
        assert r.ok, "kill at %s: %r" % (trigger, r)
        got = bodies_by_id(c)
        ids = spool_ids(spool, user)
        # the file: no duplicates, nothing foreign, survivors all there
        assert len(ids) == len(set(ids)), \
            "kill at %s: duplicated messages in the spool" % trigger
        assert set(ids) <= set(all_ids), "kill at %s: foreign messages" % trigger
        keep = set(all_ids) - set(doomed)
        assert keep <= set(ids), "kill at %s: lost %d messages that were not deleted" % (
            trigger, len(keep - set(ids)))
        left = set(doomed) & set(ids)
        assert not left or left == set(doomed), \
            "kill at %s: half-done expunge, %d of %d deleted messages remain" % (
                trigger, len(left), len(doomed))
        # and the session sees what is in the file
        assert sorted(got) == sorted(ids), "kill at %s" % trigger
        bad = [k for k, v in got.items() if v != [want[k]]]
        assert not bad, "kill at %s: changed or duplicated: %r" % (trigger, bad[:5])
        # and it can finish the job
        if left:
            assert c.command("STORE 1:* -FLAGS.SILENT (\\Deleted)").ok
        c.command("LOGOUT")
    assert interrupted, ("every EXPUNGE finished before SIGKILL; the test did "
                         "not hit the rewrite (make the mailbox larger)")
