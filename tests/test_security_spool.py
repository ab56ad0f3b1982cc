# The spool without group mail, as an attacker would probe it: the session
# holds only the user's own groups; symlinks in the home to another user's
# spool file or to /var/mail reach neither that file nor its lock file; the
# user's own INBOX in /var/mail is still rewritten (in place, through the
# journal in ~/.imapd-cache) with deliveries going on, and a session killed
# in the middle of that rewrite loses nothing.
import ctypes
import os
import signal
import struct
import threading
import time

import pytest

from helpers import mbox, system
from helpers.imapclient import Lit, RawIMAP, quote
from helpers.session import bodies_by_id, make_message, message_id, server_pid

SECRET = b"the victim's secret 7f3a9c"


def victim_inbox(spool, victim):
    spool.write(victim, [mbox.Entry(b"Subject: private\n\n%s\n" % SECRET)])
    p = spool.path(victim)
    st = os.stat(p)
    with open(p, "rb") as f:
        return p, f.read(), st


def assert_untouched(path, data, st):
    now = os.stat(path)
    with open(path, "rb") as f:
        assert f.read() == data, "the victim's spool file changed"
    assert (now.st_uid, now.st_gid, now.st_ino) == (st.st_uid, st.st_gid, st.st_ino)
    assert now.st_mode == st.st_mode


def all_bytes(c, r):
    return b"".join(r.raw) + r.text.encode("latin-1", "replace")


# ------------------------------------------------------------ groups

def test_session_has_no_mail_group(client, user):
    """After LOGIN the serving process holds exactly the user's groups."""
    assert client.command("NOOP").ok
    pid = server_pid(client)
    assert pid, "cannot find the daemon serving this connection"
    status = system.proc_status(pid)
    groups = {int(g) for g in status["Groups"]}
    assert system.mail_gid() not in groups, "session kept group mail: %r" % groups
    assert int(status["Uid"][1]) == user.uid
    want = set(os.getgrouplist(user.name, user.gid))
    assert groups <= want, "groups %r, user has only %r" % (groups, want)


# ------------------------------------------------------------ symlinks

def test_symlink_to_victims_spool_file_reaches_nothing(client, user, other_user, spool):
    path, data, st = victim_inbox(spool, other_user)
    link = os.path.join(user.home, "x")
    msg = b"From: attacker\r\nSubject: planted\r\n\r\nplanted by the attacker\r\n"
    attempts = [("SELECT x", True), ("EXAMINE x", True), ("STATUS x (MESSAGES UNSEEN)", True),
                (("APPEND x ", Lit(msg)), True), ("DELETE x", False),
                ("RENAME x y", False)]
    for cmd, must_fail in attempts:
        if os.path.lexists(link):
            os.unlink(link)
        y = os.path.join(user.home, "y")
        if os.path.lexists(y):
            os.unlink(y)
        os.symlink(path, link)
        r = client.command(*cmd) if isinstance(cmd, tuple) else client.command(cmd)
        if must_fail:
            assert r.status == "NO", (cmd, r)
        assert SECRET not in all_bytes(client, r), cmd
        assert_untouched(path, data, st)
        # whatever DELETE or RENAME did, it did to the link in the home
        for p in (link, y):
            if os.path.lexists(p) and not os.path.islink(p):
                assert os.stat(p).st_uid == user.uid
                with open(p, "rb") as f:
                    assert SECRET not in f.read()
    assert not os.path.exists(path + ".lock")


# ------------------------------------------------------------ lock files

IN_CREATE, IN_DELETE, IN_MOVED_FROM, IN_MOVED_TO = 0x100, 0x200, 0x40, 0x80


class DirWatch:
    """inotify on one directory: the names created or removed in it."""

    def __init__(self, path):
        self.libc = ctypes.CDLL(None, use_errno=True)
        self.fd = self.libc.inotify_init1(os.O_NONBLOCK)
        assert self.fd >= 0
        mask = IN_CREATE | IN_DELETE | IN_MOVED_FROM | IN_MOVED_TO
        assert self.libc.inotify_add_watch(self.fd, path.encode(), mask) >= 0

    def names(self):
        out = []
        while True:
            try:
                buf = os.read(self.fd, 65536)
            except BlockingIOError:
                return out
            i = 0
            while i < len(buf):
                _, mask, _, n = struct.unpack_from("iIII", buf, i)
                name = buf[i + 16:i + 16 + n].rstrip(b"\0").decode()
                out.append((mask, name))
                i += 16 + n

    def close(self):
        os.close(self.fd)


def test_victims_lock_file_is_not_made(client, user, other_user, spool):
    """~/sp -> /var/mail: opening sp/<victim> would dotlock
    /var/mail/<victim>.lock. The session cannot create it: inotify sees no
    such name appear in the spool."""
    path, data, st = victim_inbox(spool, other_user)
    os.symlink(spool.dir, os.path.join(user.home, "sp"))
    name = "sp/%s" % other_user.name
    w = DirWatch(spool.dir)
    try:
        for cmd in ("SELECT %s" % name, "STATUS %s (MESSAGES)" % name,
                    "EXAMINE %s" % name):
            r = client.command(cmd)
            assert r.status == "NO", (cmd, r)
        seen = [n for _, n in w.names() if n.startswith(other_user.name)]
        assert not seen, "the attacker's session made %r in the spool" % seen
    finally:
        w.close()
    assert_untouched(path, data, st)


def test_victims_stale_lock_is_not_broken(client, user, other_user, spool):
    """A stale lock (dead pid) the victim's mail reader left behind stays
    where it is: breaking it takes write access to the spool directory,
    which the attacker's session does not have."""
    path, data, st = victim_inbox(spool, other_user)
    os.symlink(spool.dir, os.path.join(user.home, "sp"))
    lock = path + ".lock"
    with open(lock, "w") as f:
        f.write("999999999\n")
    os.chown(lock, other_user.uid, spool.mail_gid)
    lst = os.stat(lock)
    try:
        r = client.command("SELECT sp/%s" % other_user.name)
        assert r.status == "NO", r
        assert os.path.exists(lock), "the attacker's session removed the victim's lock"
        assert os.stat(lock).st_ino == lst.st_ino
        with open(lock) as f:
            assert f.read() == "999999999\n"
        assert_untouched(path, data, st)
    finally:
        if os.path.exists(lock):
            os.unlink(lock)


# ------------------------------------------------------------ own INBOX

def write_inbox(spool, user, n, size=600, tag="m"):
    entries = [make_message(i, size, tag=tag) for i in range(n)]
    spool.write(user, entries)
    return entries


def test_expunge_in_var_mail_is_in_place(fresh, user, spool, connect):
    entries = write_inbox(spool, user, 20)
    c = connect()
    assert c.command("SELECT INBOX").codes().get("READ-WRITE") is not None
    ino = os.stat(spool.path(user)).st_ino
    assert c.command("STORE 1:5 +FLAGS.SILENT (\\Deleted)").ok
    r = c.command("EXPUNGE")
    assert r.ok, r
    assert sorted(r.numbered("EXPUNGE")) == [1, 2, 3, 4, 5]
    st = os.stat(spool.path(user))
    assert st.st_ino == ino, "rewritten by rename: needs a file in /var/mail"
    assert (st.st_uid, st.st_gid) == (user.uid, spool.mail_gid)
    ids = [message_id(e.data) for e in mbox.real_messages(spool.read(user))]
    assert ids == [message_id(e.data) for e in entries[5:]]
    cache = os.path.join(user.home, ".imapd-cache")
    assert not [f for f in os.listdir(cache) if f.endswith(".journal")]
    assert not [f for f in os.listdir(spool.dir) if f.startswith("." + user.name)]


class Deliverer(threading.Thread):
    """An MTA: dotlockfile, fcntl, append; n messages with short pauses."""

    def __init__(self, spool, user, entries):
        super().__init__(daemon=True)
        self.spool, self.user, self.entries = spool, user, entries
        self.error = None

    def run(self):
        try:
            for e in self.entries:
                self.spool.deliver(self.user, e)
                time.sleep(0.01)
        except Exception as exc:
            self.error = exc


def test_expunge_with_concurrent_delivery_loses_nothing(fresh, user, spool, connect):
    first = write_inbox(spool, user, 30)
    new = [make_message(i, 700, tag="new") for i in range(40)]
    c = connect()
    assert c.command("SELECT INBOX").ok
    d = Deliverer(spool, user, new)
    d.start()
    gone = []
    n = 1
    while d.is_alive() or n < 6:
        r = c.command("FETCH 1 BODY.PEEK[HEADER.FIELDS (MESSAGE-ID)]")
        if r.ok and r.fetches():
            hdr = bytes(list(r.fetches()[1].values())[0])
            mid = message_id(hdr)
            if mid and mid.startswith("<m-"):
                assert c.command("STORE 1 +FLAGS.SILENT (\\Deleted)").ok
                assert c.command("EXPUNGE").ok
                gone.append(mid)
        n += 1
        time.sleep(0.05)
    d.join()
    assert d.error is None, d.error
    assert c.command("NOOP").ok
    got = bodies_by_id(c)
    want = {message_id(e.data) for e in first + new} - set(gone)
    assert gone, "no expunge ran during the deliveries"
    assert set(got) == want
    assert all(len(v) == 1 for v in got.values())
    ids = [message_id(e.data) for e in mbox.real_messages(spool.read(user))]
    assert sorted(ids) == sorted(want)


# ------------------------------------------------------------ SIGKILL

BIG_N = 240
TRIGGERS = ["journal", "journal-late", "copying", 0.0, 0.003, 0.01, 0.03, 0.1]
J_COPYING = 2


def journal_phase(cache):
    """Phase of the rewrite journal in cache (see unix_journal.c), None."""
    try:
        names = [f for f in os.listdir(cache) if f.endswith(".journal")]
        with open(os.path.join(cache, names[0]), "rb") as f:
            head = f.read(48)
    except (FileNotFoundError, IndexError):
        return None
    return struct.unpack_from("<I", head, 40)[0] if len(head) == 48 else None


def wait_journal(home, trigger):
    """Sleep, or wait for the journal to appear ("journal"), or for the
    copy over the INBOX to begin ("copying")."""
    if not isinstance(trigger, str):
        time.sleep(trigger)
        return
    cache = os.path.join(home, ".imapd-cache")
    end = time.monotonic() + 2
    while time.monotonic() < end:
        phase = journal_phase(cache)
        if phase is not None and (trigger != "copying" or phase >= J_COPYING):
            break
    if trigger == "journal-late":
        time.sleep(0.005)


def test_sigkill_during_in_place_expunge_then_delivery(fresh, user, spool, server, connect):
    """Kill the session while it rewrites a 4 MB INBOX in place, deliver a
    message, open a new session: every message that was not deleted and
    the new one are there once, byte for byte, and the deleted ones are
    either all there or all gone."""
    entries = [make_message(i, 16000 + (i % 7) * 900, tag="big") for i in range(BIG_N)]
    all_ids = [message_id(e.data) for e in entries]
    want = {message_id(e.data): e.crlf() for e in entries}
    half = cut = mid_copy = 0
    for k, trigger in enumerate(TRIGGERS):
        spool.remove(user)
        spool.write(user, entries)
        c = RawIMAP(server.host, server.port, timeout=60)
        c.login(user.name, user.password)
        assert c.command("SELECT INBOX").numbered("EXISTS") == [BIG_N]
        doomed_seq = list(range(1, BIG_N + 1, 3))
        assert c.command("STORE %s +FLAGS.SILENT (\\Deleted)"
                         % ",".join(map(str, doomed_seq))).ok
        assert c.command("NOOP").ok
        doomed = [all_ids[s - 1] for s in doomed_seq]
        pid = server_pid(c)
        assert pid
        c.send("X1 EXPUNGE\r\n")
        wait_journal(user.home, trigger)
        os.kill(pid, signal.SIGKILL)
        c.close()
        wait_gone(pid)
        cache = os.path.join(user.home, ".imapd-cache")
        phase = journal_phase(cache)
        cut += phase is not None
        mid_copy += phase == J_COPYING
        late = make_message(1000 + k, 900, tag="late")
        spool.deliver(user, late)
        want[message_id(late.data)] = late.crlf()
        n = connect()
        r = n.command("SELECT INBOX")
        assert r.ok, "kill at %s: %r" % (trigger, r)
        got = bodies_by_id(n)
        n.command("LOGOUT")
        keep = set(all_ids) - set(doomed)
        assert keep <= set(got), "kill at %s: lost %d messages" % (
            trigger, len(keep - set(got)))
        assert message_id(late.data) in got, "kill at %s: lost the delivery" % trigger
        left = set(doomed) & set(got)
        assert not left or left == set(doomed), \
            "kill at %s: half-done expunge, %d of %d remain" % (trigger, len(left), len(doomed))
        half += bool(left)
        print("kill at %s: journal phase %s, expunge %s" % (
            trigger, phase, "not done" if left else "done"))
        assert set(got) <= set(want), "kill at %s: foreign messages" % trigger
        bad = [i for i, v in got.items() if v != [want[i]]]
        assert not bad, "kill at %s: changed or duplicated: %r" % (trigger, bad[:3])
        # and the file itself, after the new session finished the job
        ids = [message_id(e.data) for e in mbox.real_messages(spool.read(user))]
        assert sorted(ids) == sorted(got), "kill at %s" % trigger
        assert not [f for f in os.listdir(cache) if f.endswith(".journal")]
    # the kills must have hit rewrites in progress, or this proves nothing
    assert cut >= 1, "no kill landed during an in-place rewrite"
    assert mid_copy >= 1, "no kill landed while the INBOX itself was being overwritten"


def wait_gone(pid):
    end = time.monotonic() + 10
    while os.path.exists("/proc/%d" % pid) and time.monotonic() < end:
        time.sleep(0.01)


# ------------------------------------------------------------ PREAUTH

def test_preauth_opens_inbox_read_write(fresh, user, spool, imapd_as):
    """imapd started by the user (ssh tunnel), without group mail: INBOX in
    /var/mail opens read-write and EXPUNGE works."""
    write_inbox(spool, user, 5)
    r = imapd_as(user, b"a SELECT INBOX\r\nb STORE 1 +FLAGS.SILENT (\\Deleted)\r\n"
                       b"c EXPUNGE\r\nd LOGOUT\r\n")
    out = r.stdout.decode("latin-1")
    assert "* PREAUTH" in out, out
    assert "a OK [READ-WRITE]" in out, out
    assert "* 1 EXPUNGE" in out and "c OK" in out, out
    assert len(mbox.real_messages(spool.read(user))) == 4


KWS = " ".join("keyword%02d_%s" % (i, "x" * 20) for i in range(20))
TAIL = b"".join(b"the same last line %02d of two messages\n" % i for i in range(4))


def last_message_len(raw):
    return len(raw) - raw.rindex(b"\n\nFrom ") - 2


def in_place_growth(spool, user, connect, filler):
    """INBOX ends with two messages of the same last bytes, the last one
    padded by filler. Sessions a and b select it (the first rewrite adds
    the folder record); then b's keywords on message 1 leave no room in
    place, so the file is rewritten (in place: same inode) and grows.
    Returns a, the last message's length before, and the growth."""
    entries = [make_message(i, 600) for i in range(4)]
    entries.append(mbox.Entry(b"Subject: five\n\n" + TAIL))
    entries.append(mbox.Entry(b"Subject: six\n\n" + filler + TAIL))
    spool.write(user, entries)
    a, b = connect(), connect()
    assert a.command("SELECT INBOX").ok and b.command("SELECT INBOX").ok
    raw = spool.read(user)
    st0 = os.stat(spool.path(user))
    assert b.command("STORE 1 +FLAGS (%s)" % KWS).ok
    assert b.command("NOOP").ok
    st1 = os.stat(spool.path(user))
    assert st1.st_ino == st0.st_ino, "not rewritten in place"
    return a, last_message_len(raw), st1.st_size - st0.st_size


def test_other_sessions_see_an_in_place_rewrite(fresh, user, spool, connect):
    """A rewrite in place keeps the inode. Built here so that it grows by
    exactly the length of the last message, which ends like the one before
    it: to a session that looks only at size and last bytes, message 1's
    shift reads as a copy of the last message appended. The folder record's
    change counter must make it a full change."""
    _, l6, growth = in_place_growth(spool, user, connect, b"")
    assert growth > l6 + 2, (growth, l6)
    pad = growth - l6
    filler = b"z" * (pad - 1) + b"\n"
    a, l6, again = in_place_growth(spool, user, connect, filler)
    assert (l6, again) == (growth, growth)
    r = a.command("NOOP")
    assert r.ok
    assert not r.numbered("EXISTS") or r.numbered("EXISTS")[-1] == 6, \
        "a rewrite taken for new mail: %r" % r.raw
    f = a.command("FETCH 1:* (FLAGS)").fetches()
    assert len(f) == 6
    assert "keyword00_" + "x" * 20 in [str(x) for x in f[1]["FLAGS"]], f[1]
    got = a.command("FETCH 6 BODY.PEEK[TEXT]").fetches()[6]
    assert bytes(got["BODY[TEXT]"]) == mbox.crlf(filler + TAIL)


@pytest.mark.parametrize("cmd", ["DELETE", "CREATE"])
def test_var_mail_stays_closed_to_the_session(client, user, other_user, spool, cmd):
    """Without group mail, even a path that reaches /var/mail by name
    cannot create or remove a spool file there."""
    path, data, st = victim_inbox(spool, other_user)
    os.symlink(spool.dir, os.path.join(user.home, "sp"))
    target = "sp/%s" % (other_user.name if cmd == "DELETE" else other_user.name + "x")
    try:
        r = client.command("%s %s" % (cmd, quote(target)))
        assert r.status == "NO", r
        assert_untouched(path, data, st)
        assert not os.path.exists(path + "x")
    finally:
        if os.path.exists(path + "x"):      # what the old code created
            os.unlink(path + "x")
