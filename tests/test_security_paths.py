# Issue 10, "every file reached without following links": a logged-in user
# (`user`, the attacker) plants symlinks in their own home and asks imapd to
# list, subscribe, create, delete, rename, expunge; the victim (`other_user`)
# must find their spool file byte-identical, still theirs, and its mail must
# never show in any response. One test per defect 1, 2, 3, 4, 5, 8, 10, 14.
import os
import secrets
import stat
import tempfile
import threading
import time

import pytest

from helpers import mbox, system
from helpers.imapclient import RawIMAP, quote
from helpers.syslogsink import collect


# ---------------------------------------------------------------- helpers

def plant_link(target, link, owner):
    """A symlink made by the attacker (owned by them, as `ln -s` would)."""
    os.symlink(target, link)
    os.lchown(link, owner.uid, owner.gid)


def victim_mail(spool, victim):
    """Give the victim an INBOX with a secret; returns (secret, snapshot)."""
    secret = b"SECRET-" + secrets.token_hex(12).encode()
    spool.write(victim, [mbox.Entry(b"Subject: private\n\n" + secret + b"\n")])
    return secret, snapshot(spool.path(victim))


def snapshot(path):
    st = os.lstat(path)
    with open(path, "rb") as f:
        return f.read(), st.st_uid, st.st_mode, st.st_ino


def assert_untouched(path, snap, victim):
    """What the victim checks: same bytes, same file, still theirs."""
    st = os.lstat(path)
    assert stat.S_ISREG(st.st_mode), "%s is no longer a regular file" % path
    with open(path, "rb") as f:
        data = f.read()
    assert data == snap[0], "the victim's spool file was changed"
    assert st.st_uid == victim.uid, "the victim's spool file changed owner"
    assert (st.st_mode, st.st_ino) == (snap[2], snap[3]), "the victim's spool file was replaced"


def all_bytes(*results):
    """Everything the server said in these responses, as one byte string."""
    out = b""
    for r in results:
        out += b"\n".join(r.raw) + b"\n" + ("[%s] %s" % (r.code, r.text)).encode("latin-1")
    return out


def planted_in_spool(spool, who):
    """Files of who in the spool directory other than their own INBOX (the
    spool may be the real /var/mail, shared: look only at who's)."""
    out = []
    for n in os.listdir(spool.dir):
        if n in (who.name, who.name + ".lock"):
            continue
        try:
            if os.lstat(os.path.join(spool.dir, n)).st_uid == who.uid:
                out.append(n)
        except FileNotFoundError:
            pass
    return out


def listed_names(r):
    return [u[3].decode() if isinstance(u[3], bytes) else u[3] for u in r.named("LIST")]


def user_daemons(imapd, who):
    """pids of imapd processes running as who (their session processes)."""
    return [pid for pid, st in system.daemon_processes(imapd)
            if int(st.get("Uid", ["-1"])[0]) == who.uid]


def kill_pids(pids):
    for pid in pids:
        try:
            os.kill(int(pid), 9)
        except ProcessLookupError:
            pass


# ---------------------------------------------------------------- defect 1, 2

def test_mailboxlist_link_to_other_spool_is_not_read(client, user, other_user, spool):
    """1: ~/.mailboxlist -> the victim's spool: LSUB must not print their mail."""
    secret, snap = victim_mail(spool, other_user)
    plant_link(spool.path(other_user), os.path.join(user.home, ".mailboxlist"), user)
    r1 = client.command('LSUB "" "*"')
    r2 = client.command("SUBSCRIBE INBOX")
    r3 = client.command('LSUB "" "*"')
    assert r1.status == "NO", r1
    assert "link" in r1.text, r1
    assert secret not in all_bytes(r1, r2, r3)
    assert b"Subject: private" not in all_bytes(r1, r2, r3)
    assert_untouched(spool.path(other_user), snap, other_user)


def test_mailboxlist_tmp_link_does_not_overwrite_other_spool(client, user, other_user, spool):
    """2: ~/.mailboxlist.tmp -> the victim's spool: SUBSCRIBE must not
    truncate or write it (it may succeed, writing only the user's file)."""
    secret, snap = victim_mail(spool, other_user)
    tmp = os.path.join(user.home, ".mailboxlist.tmp")
    plant_link(spool.path(other_user), tmp, user)
    r = client.command("SUBSCRIBE INBOX")
    assert_untouched(spool.path(other_user), snap, other_user)
    assert r.status == "OK", r
    lst = os.path.join(user.home, ".mailboxlist")
    st = os.lstat(lst)
    assert stat.S_ISREG(st.st_mode) and st.st_uid == user.uid
    with open(lst, "rb") as f:
        assert f.read() == b"INBOX\n"
    r2 = client.command('LSUB "" "*"')
    assert secret not in all_bytes(r, r2)


# ---------------------------------------------------------------- defect 3

@pytest.fixture
def spool_link(user, spool):
    """~/spool -> the spool directory, planted by the attacker."""
    link = os.path.join(user.home, "spool")
    plant_link(spool.dir, link, user)
    return link


def test_delete_through_linked_directory_is_refused(client, other_user, spool, spool_link):
    """3: DELETE spool/<victim> must not delete the victim's INBOX."""
    secret, snap = victim_mail(spool, other_user)
    r = client.command("DELETE %s" % quote("spool/" + other_user.name))
    assert r.status == "NO", r
    assert "link" in r.text, r
    assert_untouched(spool.path(other_user), snap, other_user)
    assert secret not in all_bytes(r)


def test_rename_through_linked_directory_is_refused(client, user, other_user, spool,
                                                     spool_link):
    """3: RENAME spool/<victim> x must not move the victim's INBOX home."""
    secret, snap = victim_mail(spool, other_user)
    r = client.command("RENAME %s stolen" % quote("spool/" + other_user.name))
    assert r.status == "NO", r
    assert not os.path.lexists(os.path.join(user.home, "stolen"))
    assert_untouched(spool.path(other_user), snap, other_user)
    r2 = client.command("SELECT stolen")
    assert r2.status == "NO", r2
    assert secret not in all_bytes(r, r2)


def test_create_through_linked_directory_is_refused(client, other_user, spool, spool_link):
    """3: CREATE spool/<victim> (no mail delivered yet) must not create the
    victim's INBOX owned by the attacker."""
    spool.remove(other_user)
    r = client.command("CREATE %s" % quote("spool/" + other_user.name))
    assert r.status == "NO", r
    assert not os.path.lexists(spool.path(other_user))
    assert not os.path.lexists(spool.path(other_user) + ".lock")


def test_list_does_not_follow_linked_directory(client, other_user, spool, spool_link):
    """3: LIST shows nothing reached through ~/spool, nor the link itself
    (it is not a mailbox, and following it would show what is behind)."""
    victim_mail(spool, other_user)
    r = client.command('LIST "" "*"')
    assert r.ok, r
    assert other_user.name.encode() not in all_bytes(r)
    assert "spool" not in listed_names(r), r.raw


# ---------------------------------------------------------------- defect 4

@pytest.fixture(scope="module")
def outside_server(launch_daemon, imapd, workdir, config_file):
    """A second daemon: the test configuration plus allow_outside_home = yes."""
    p = os.path.join(workdir, "imapd-outside.conf")
    with open(config_file) as src, open(p, "w") as f:
        f.write(src.read() + "\nallow_outside_home = yes\n")
    os.chmod(p, 0o644)
    return launch_daemon(argv=[imapd, "--config", p])


@pytest.fixture
def outside(outside_server, fresh, user):
    c = RawIMAP(outside_server.host, outside_server.port)
    c.login(user.name, user.password)
    yield c
    c.close()


def test_outside_home_never_reaches_other_spool(outside, user, other_user, spool):
    """4: with allow_outside_home, DELETE/RENAME/SELECT of the victim's
    spool file by its absolute name are refused."""
    secret, snap = victim_mail(spool, other_user)
    victim = spool.path(other_user)
    rs = [outside.command("DELETE %s" % quote(victim)),
          outside.command("RENAME %s %s" % (quote(victim), quote("~/stolen"))),
          outside.command("SELECT %s" % quote(victim)),
          outside.command("STATUS %s (MESSAGES)" % quote(victim))]
    for r in rs:
        assert r.status == "NO", r
    assert_untouched(victim, snap, other_user)
    assert not os.path.lexists(os.path.join(user.home, "stolen"))
    assert secret not in all_bytes(*rs)


def test_outside_home_cannot_create_other_spool(outside, other_user, spool):
    """4: CREATE of the victim's (not yet delivered) spool file is refused,
    and so is any new file in the spool directory."""
    spool.remove(other_user)
    for name in (spool.path(other_user), os.path.join(spool.dir, "planted")):
        r = outside.command("CREATE %s" % quote(name))
        assert r.status == "NO", r
        assert not os.path.lexists(name)


def test_outside_home_admin_link_still_not_the_spool(outside, user, other_user, spool,
                                                     workdir):
    """4: a link an administrator made (root's, in a root-only directory,
    like /var/spool/mail -> ../mail) may be crossed, but never into the
    spool directory; a mailbox of the user's own behind such a link works."""
    secret, snap = victim_mail(spool, other_user)
    admin = os.path.join(workdir, "admin-" + secrets.token_hex(4))
    os.mkdir(admin, 0o755)
    os.symlink(spool.dir, os.path.join(admin, "mail"))
    mine = os.path.join(admin, "real")
    os.mkdir(mine, 0o755)
    os.chown(mine, user.uid, user.gid)
    os.symlink(mine, os.path.join(admin, "mine"))
    with open(os.path.join(mine, "box"), "wb") as f:
        f.write(b"From a@b Thu Jan  2 10:00:00 2025\nSubject: mine\n\nhello\n\n")
    os.chown(os.path.join(mine, "box"), user.uid, user.gid)
    via = os.path.join(admin, "mail", other_user.name)
    rs = [outside.command("DELETE %s" % quote(via)),
          outside.command("SELECT %s" % quote(via))]
    for r in rs:
        assert r.status == "NO", r
    assert_untouched(spool.path(other_user), snap, other_user)
    assert secret not in all_bytes(*rs)
    r = outside.command("SELECT %s" % quote(os.path.join(admin, "mine", "box")))
    assert r.ok, r
    # the user's own link in a directory they control is not an admin link
    plant_link(spool.dir, os.path.join(mine, "sp"), user)
    r = outside.command("DELETE %s" % quote(os.path.join(mine, "sp", other_user.name)))
    assert r.status == "NO", r
    assert_untouched(spool.path(other_user), snap, other_user)


# ---------------------------------------------------------------- defect 5

def big_mbox(path, owner, n=1200, body=16 * 1024):
    """A mailbox of n messages of body bytes: an EXPUNGE rewrite takes a
    while, long enough for a swap to land in the middle of it."""
    line = b"x" * 79 + b"\n"
    text = line * (body // 80)
    with open(path, "wb") as f:
        for i in range(n):
            f.write(b"From a@b Thu Jan  2 10:00:00 2025\nSubject: m%d\n\n" % i + text + b"\n")
    os.chown(path, owner.uid, owner.gid)
    os.chmod(path, 0o644)


def test_expunge_race_with_directory_swap(client, user, other_user, spool):
    """5: while EXPUNGE rewrites ~/d/<victim>, ~/d is swapped for a link to
    the spool directory, over and over. The rewrite's temp file and rename
    must stay in the directory the mailbox was opened in: the victim's
    spool file is never replaced."""
    secret, snap = victim_mail(spool, other_user)
    d = os.path.join(user.home, "d")
    real = os.path.join(user.home, "d.real")
    os.mkdir(d, 0o700)
    os.chown(d, user.uid, user.gid)
    name = "d/" + other_user.name
    big_mbox(os.path.join(d, other_user.name), user)
    stop = threading.Event()
    swapping = threading.Event()
    mutex = threading.Lock()   # the test's own swaps and restores never overlap

    def restore():
        with mutex:
            if os.path.islink(d):
                os.unlink(d)
            if os.path.isdir(real) and not os.path.lexists(d):
                os.rename(real, d)

    def clear_own_locks():
        # a lock (or liblockfile's temp file) made before a swap and removed
        # through the link after it stays in ~/d: the attacker clears it
        for n in os.listdir(d):
            if n.endswith(".lock") or n.startswith(".lk"):
                os.unlink(os.path.join(d, n))

    def swap_once():
        with mutex:
            os.rename(d, real)
            plant_link(spool.dir, d, user)
        time.sleep(0.002)
        restore()

    def swapper():
        while not stop.is_set():
            if swapping.wait(0.05):
                swap_once()

    t = threading.Thread(target=swapper, daemon=True)
    t.start()
    seen = b""
    end = time.monotonic() + 60
    tries = expunges = 0
    try:
        while tries < 200 and time.monotonic() < end:
            tries += 1
            swapping.clear()
            restore()
            clear_own_locks()
            r = client.command("SELECT %s" % quote(name))
            seen += all_bytes(r)
            if not r.ok:
                continue   # SELECT met a swap still in flight: try again
            r = client.command("STORE 1 +FLAGS.SILENT (\\Deleted)")
            seen += all_bytes(r)
            # new mail makes the EXPUNGE parse the whole file again under
            # its lock: the swap has that long to land before the rewrite
            with open(os.path.join(d, other_user.name), "ab") as f:
                f.write(b"From a@b Thu Jan  2 10:00:00 2025\nSubject: new\n\nx\n\n")
            swapping.set()
            r = client.command("EXPUNGE")
            expunges += 1
            seen += all_bytes(r)
            swapping.clear()
            assert_untouched(spool.path(other_user), snap, other_user)
    finally:
        stop.set()
        t.join(5)
        restore()
    assert expunges >= 20, "only %d EXPUNGEs raced a swap" % expunges
    assert_untouched(spool.path(other_user), snap, other_user)
    assert secret not in seen
    assert planted_in_spool(spool, user) == []


# ---------------------------------------------------------------- defect 8

@pytest.mark.parametrize("device", ["/dev/zero", "/dev/urandom"])
def test_mailboxlist_link_to_device(server, fresh, imapd, user, device):
    """8: ~/.mailboxlist -> /dev/zero or /dev/urandom: LSUB answers NO at
    once (no endless read, no unbounded memory) and the session process
    is gone after LOGOUT."""
    plant_link(device, os.path.join(user.home, ".mailboxlist"), user)
    c = RawIMAP(server.host, server.port, timeout=10)
    try:
        c.login(user.name, user.password)
        t0 = time.monotonic()
        r = c.command('LSUB "" "*"')
        took = time.monotonic() - t0
        assert r.status == "NO", r
        assert took < 5, "LSUB took %.1f s" % took
        r = c.command("SUBSCRIBE INBOX")
        assert r.status == "NO", r
        c.command("LOGOUT")
        end = time.monotonic() + 5
        while user_daemons(imapd, user) and time.monotonic() < end:
            time.sleep(0.1)
        assert not user_daemons(imapd, user), "the session outlived LOGOUT"
    finally:
        c.close()
        kill_pids(user_daemons(imapd, user))   # what the old code left spinning


def test_oversized_mailboxlist_is_refused(syslog, client, user):
    """8: a regular ~/.mailboxlist over the limit is refused with a clear NO
    and a log line, not read."""
    p = os.path.join(user.home, ".mailboxlist")
    with open(p, "wb") as f:
        f.write(b"box\n" * (300 * 1024))
    os.chown(p, user.uid, user.gid)
    r = client.command('LSUB "" "*"')
    assert r.status == "NO", r
    assert "too large" in r.text, r
    collect(syslog, r"\.mailboxlist.*too large", 5)


# ---------------------------------------------------------------- defect 10

def test_index_dir_link_to_spool_writes_nothing_there(client, user, other_user, spool, inbox):
    """10: ~/.imapd-cache -> the spool directory: SELECT must not write an
    index (or anything) into the spool directory."""
    secret, snap = victim_mail(spool, other_user)
    before = set(os.listdir(spool.dir))
    plant_link(spool.dir, os.path.join(user.home, ".imapd-cache"), user)
    r = client.command("SELECT INBOX")
    assert r.ok, r
    r2 = client.command("CLOSE")
    r3 = client.command("EXAMINE INBOX")
    assert r3.ok, r3
    new = set(os.listdir(spool.dir)) - before
    assert [n for n in new if n.endswith(".idx")] == [], new
    assert planted_in_spool(spool, user) == []
    assert_untouched(spool.path(other_user), snap, other_user)
    assert secret not in all_bytes(r, r2, r3)
    assert os.path.islink(os.path.join(user.home, ".imapd-cache"))


def test_index_dir_link_is_logged_once(syslog, client, user, inbox, workdir):
    """10: the refused index directory is said in the log, once per session."""
    elsewhere = tempfile.mkdtemp(dir=workdir)
    os.chown(elsewhere, user.uid, user.gid)
    plant_link(elsewhere, os.path.join(user.home, ".imapd-cache"), user)
    for _ in range(3):
        assert client.command("SELECT INBOX").ok
        assert client.command("CLOSE").ok
    lines = collect(syslog, r"index directory ~/.imapd-cache not used", 5)
    time.sleep(0.5)
    said = [l for l in syslog.lines if "index directory ~/.imapd-cache not used" in l]
    assert len(said) == 1, lines
    # the spool INBOX cannot be rewritten without its journal there: each
    # SELECT says so (read-only, with the fix), none writes elsewhere
    assert os.listdir(elsewhere) == []


# ---------------------------------------------------------------- defect 14

def test_overlong_name_refused_at_once(client, user):
    """14: CREATE of a 300-character name is refused at once, naming the
    limit (not a minute of lock retries ending in a false INUSE)."""
    for name in ("a" * 300, "sub/" + "b" * 250):
        t0 = time.monotonic()
        r = client.command("CREATE %s" % name)
        took = time.monotonic() - t0
        assert r.status == "NO", r
        assert took < 5, "CREATE took %.1f s" % took
        assert r.code != "INUSE" and "too long" in r.text, r
    assert os.listdir(user.home) == []
    r = client.command("CREATE %s" % ("c" * 200))   # within the limit: fine
    assert r.ok, r
