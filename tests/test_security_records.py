# The project's file rule for the per-user record files: while a session
# reads and rewrites ~/.imapd-metadata, ~/.imapd-mailboxids, ~/.imapd-urlauth
# (each with its lock), an MH folder's record in ~/.imapd-cache and ~/.newsrc,
# root swaps the file for a link and back in a tight loop. The links point
# at files the user could read and write holding a record of that kind (the
# bait: the user's own, outside the home, and another user's), at a name a
# followed O_CREAT would make, and at /etc/shadow (the root-made link's real
# prize; other tests' useradd rewrites it, so the baits are what show a
# followed link): none is read, written or made, and the session answers
# with the right data or NO.
import hashlib
import hmac
import os
import re
import shutil
import stat
import tempfile
import threading
import time

import pytest

from helpers.imapclient import Lit
from test_imap_client import mtest, pki, run_as  # noqa: F401
from test_imap_urlauth import MSG, PART1, fetch, rump
from test_nntp_client import inn, owned_file  # noqa: F401
from test_security_paths import all_bytes, plant_link

SHADOW = "/etc/shadow"
STOLEN = "STOLEN"
BAIT_ID = "F" + "5" * 24          # the mailbox id the bait file holds
BAIT_KEY = "ab" * 32              # the URLAUTH key the bait file holds
BAIT_VALIDITY = 777777            # the MH UIDVALIDITY the bait record holds


def fingerprint(path):
    """What "untouched" compares: content digest, mtime, size, inode."""
    st = os.lstat(path)
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest(), st.st_mtime_ns, st.st_size, st.st_ino


@pytest.fixture
def loot(other_user):
    """A root-owned directory anyone may write in: "bait-own" (another user's
    file, mode 0666) and "absent" (a name nothing makes) are the targets a
    followed link would reach."""
    d = tempfile.mkdtemp(prefix="rec-loot-")
    os.chmod(d, 0o777)
    yield d
    shutil.rmtree(d, ignore_errors=True)


class Swap:
    """Swap path (a file in the user's home) for a link to each target in
    turn, as fast as it goes, until stop(): the real file is kept by a
    hard link and put back unless the session replaced the link with a
    file of its own meanwhile. Never leaves a link at path."""

    def __init__(self, path, targets, user):
        self.path, self.targets, self.user = path, targets, user
        self.swaps = 0
        self.error = None
        self.halt = threading.Event()
        self.thread = threading.Thread(target=self.run, daemon=True)

    def keep(self, aside):
        """Hard-link the real file at aside; False when there is none."""
        while True:
            try:
                os.link(self.path, aside, follow_symlinks=False)
                return True
            except FileNotFoundError:
                # an inode the session's rename has just unlinked cannot
                # be linked: only a name truly gone means no file
                if not os.path.lexists(self.path):
                    return False

    def once(self, target):
        lnk, aside = self.path + ".swap", self.path + ".aside"
        plant_link(target, lnk, self.user)
        had = self.keep(aside)
        os.rename(lnk, self.path)
        time.sleep(0.0005)
        if stat.S_ISLNK(os.lstat(self.path).st_mode):
            if had:
                os.rename(aside, self.path)
            else:
                os.unlink(self.path)
        if os.path.lexists(aside):
            os.unlink(aside)
        self.swaps += 1

    def run(self):
        try:
            while not self.halt.is_set():
                for t in self.targets:
                    try:
                        self.once(t)
                    except FileNotFoundError:
                        pass      # the session renamed its file meanwhile: next round
                time.sleep(0.001)
        except BaseException as e:     # shown by __exit__, not lost in the thread
            self.error = e

    def drive(self, step, rounds, swaps):
        """step(i) for i = 0, 1, ...: rounds of them at least, and more
        until swaps swaps were made (30 s at most)."""
        end = time.monotonic() + 30
        i = 0
        while i < rounds or (self.swaps < swaps and time.monotonic() < end):
            step(i)
            i += 1
        assert self.swaps >= swaps, "only %d swaps" % self.swaps

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.halt.set()
        self.thread.join(10)
        assert not self.thread.is_alive()
        assert self.error is None, self.error
        assert not os.path.islink(self.path), "left as a link"
        for extra in (self.path + ".swap", self.path + ".aside"):
            assert not os.path.lexists(extra)


class Targets:
    """The targets and the check that none was touched: the bait as the
    user's own file outside the home (only the link rule keeps it out) and
    as another user's file open to all, a name a followed O_CREAT would
    make, and /etc/shadow."""

    def __init__(self, loot, user, other_user, bait_text):
        self.baits = [os.path.join(loot, "bait-own"), os.path.join(loot, "bait-other")]
        self.absent = os.path.join(loot, "absent")
        for p, who in zip(self.baits, (user, other_user)):
            with open(p, "wb") as f:
                f.write(bait_text)
            os.chown(p, who.uid, who.gid)
            os.chmod(p, 0o666)
        self.before = [fingerprint(p) for p in self.baits]

    def all(self):
        return self.baits + [self.absent, SHADOW]

    def check(self):
        assert [fingerprint(p) for p in self.baits] == self.before
        assert not os.path.lexists(self.absent), "a followed link made a file"


class Said:
    """Runs the session's commands and keeps all it said, to look for the
    bait's text in afterwards."""

    def __init__(self, client):
        self.client, self.text = client, b""

    def __call__(self, *cmd):
        r = self.client.command(*cmd)
        self.text += all_bytes(r)
        return r


def right_or_refused(r, check):
    """An OK answer passes check; any other is a NO that names the link."""
    if r.ok:
        check(r)
    else:
        assert r.status == "NO" and "symbolic link" in r.text, r


def swapped(user, name, targets):
    """Swap for ~/name (name may lie in a directory of the home)."""
    return Swap(os.path.join(user.home, name), targets.all(), user)


ROUNDS = 40
MIN_SWAPS = 20


# ---------------------------------------------------------------- METADATA

META_BAIT = ("imapd-metadata 1\n0 10 %d\n/private/x%s\n" % (len(STOLEN), STOLEN)).encode()


@pytest.mark.parametrize("leaf", [".imapd-metadata", ".imapd-metadata.lock"])
def test_metadata_swapped(client, user, other_user, loot, leaf):
    """SETMETADATA and GETMETADATA while the file or its lock is swapped:
    an OK GETMETADATA shows a value the session set, never the bait's."""
    targets = Targets(loot, user, other_user, META_BAIT)
    assert client.command('SETMETADATA "" (/private/x "v0")').ok
    written, said = {"v0"}, Said(client)

    def value(r):
        m = re.match(rb'^\* METADATA "" \(/private/x "(v\d+)"\)$', r.raw[0])
        assert m and m.group(1).decode() in written, r.raw

    def step(i):
        written.add("v%d" % (i + 1))
        right_or_refused(said('SETMETADATA "" (/private/x "v%d")' % (i + 1)), lambda r: None)
        right_or_refused(said('GETMETADATA "" /private/x'), value)
    with swapped(user, leaf, targets) as sw:
        sw.drive(step, ROUNDS, MIN_SWAPS)
    targets.check()
    assert STOLEN.encode() not in said.text
    value(client.command('GETMETADATA "" /private/x'))


# ---------------------------------------------------------------- OBJECTID

IDS_BAIT = ("imapd-mailboxids 1\n%s 5\nINBOX\n" % BAIT_ID).encode()


def inbox_id(r):
    m = re.match(rb"^\* STATUS INBOX \(MAILBOXID \((F[0-9a-f]{24})\)\)$", r.raw[0])
    assert m and len(r.raw) == 1, r.raw
    return m.group(1).decode()


@pytest.mark.parametrize("leaf", [".imapd-mailboxids", ".imapd-mailboxids.lock"])
def test_mailboxids_swapped(client, user, other_user, loot, leaf):
    """New mailboxes get ids while the file or its lock is swapped: INBOX
    keeps its one id whenever STATUS answers OK, the bait's is never told."""
    targets = Targets(loot, user, other_user, IDS_BAIT)
    first = inbox_id(client.command("STATUS INBOX (MAILBOXID)"))
    said = Said(client)

    def same(r):
        assert inbox_id(r) == first

    def step(i):
        assert said("CREATE b%d" % i).ok
        right_or_refused(said("STATUS b%d (MAILBOXID)" % i), lambda r: None)
        right_or_refused(said("STATUS INBOX (MAILBOXID)"), same)
    with swapped(user, leaf, targets) as sw:
        sw.drive(step, ROUNDS, MIN_SWAPS)
    targets.check()
    assert BAIT_ID.encode() not in said.text
    assert inbox_id(client.command("STATUS INBOX (MAILBOXID)")) == first


# ---------------------------------------------------------------- URLAUTH

def bait_token(url):
    """The token a session reading the bait's key would give url."""
    return hmac.new(bytes.fromhex(BAIT_KEY), url.encode(), hashlib.sha1).hexdigest()


@pytest.mark.parametrize("leaf", [".imapd-urlauth", ".imapd-urlauth.lock"])
def test_urlauth_keys_swapped(client, mail_store, user, other_user, loot, leaf):
    """GENURLAUTH, URLFETCH and RESETKEY while the key file or its lock is
    swapped: a URL signed OK fetches the right part or NIL (its key reset
    or unreadable), and no token is ever made with the bait's key."""
    mail_store.write(user, [])
    assert client.command("APPEND INBOX ", Lit(MSG)).ok
    r = client.command("SELECT INBOX")
    validity = int(re.search(rb"UIDVALIDITY (\d+)", b"\n".join(r.raw)).group(1))
    targets = Targets(loot, user, other_user, ("%d %s INBOX\n" % (validity, BAIT_KEY)).encode())
    url = rump(user)
    assert client.command('GENURLAUTH "%s" INTERNAL' % url).ok     # the key file and its lock
    said = Said(client)

    def signed(r):
        full = re.match(rb'^\* GENURLAUTH "(.*)"$', r.raw[0]).group(1).decode()
        assert full.split(":internal:")[1] != bait_token(url)
        assert fetch(client, full)[full] in (PART1, None)   # None: its key reset meanwhile

    def step(i):
        right_or_refused(said('GENURLAUTH "%s" INTERNAL' % url), signed)
        if i % 8 == 7:
            right_or_refused(said("RESETKEY INBOX"), lambda r: None)
    with swapped(user, leaf, targets) as sw:
        sw.drive(step, ROUNDS, MIN_SWAPS)
    targets.check()
    assert bait_token(url).encode() not in said.text
    full = re.match(rb'^\* GENURLAUTH "(.*)"$', client.command(
        'GENURLAUTH "%s" INTERNAL' % url).raw[0]).group(1).decode()
    assert fetch(client, full)[full] == PART1


# ---------------------------------------------------------------- MH record

def mh_record(user):
    d = os.path.join(user.home, ".imapd-cache")
    names = [n for n in os.listdir(d) if n.endswith(".mh")]
    assert len(names) == 1, names
    return os.path.join(".imapd-cache", names[0])


def test_mh_record_swapped(client, user, other_user, loot):
    """APPEND, STATUS and SELECT on an MH folder while its UIDVALIDITY
    record in ~/.imapd-cache is swapped: MESSAGES is always the count
    appended, and the bait's UIDVALIDITY is never told."""
    assert client.command("CREATE #driver.mh/box").ok
    assert client.command("STATUS box (UIDVALIDITY)").ok
    rec = mh_record(user)
    path = os.path.join(user.home, "box")
    targets = Targets(loot, user, other_user,
                      ("mh1 %d 2 %s\n" % (BAIT_VALIDITY, path)).encode())
    said = Said(client)

    def step(i):
        assert said("APPEND box ", Lit(b"Subject: m%d\r\n\r\nbody\r\n" % i)).ok
        r = said("STATUS box (MESSAGES UIDVALIDITY)")
        assert r.ok and re.search(rb"MESSAGES %d UIDVALIDITY" % (i + 1), r.raw[0]), r
        assert said("SELECT box").ok and said("CLOSE").ok
    with swapped(user, rec, targets) as sw:
        sw.drive(step, ROUNDS // 2, MIN_SWAPS)
    targets.check()
    assert b"UIDVALIDITY %d" % BAIT_VALIDITY not in said.text


# ---------------------------------------------------------------- ~/.newsrc

def test_newsrc_swapped(mtest, inn, user, other_user, loot, fresh):  # noqa: F811
    """mtest reads ~/.newsrc at open and rewrites it at close while it is
    swapped: article 1 is marked read each time; the bait (which marks 1-3
    read) is never read (2 and 3 always show unseen) nor written."""
    port = inn()
    owned_file(user, ".newsrc", "local.test: 1\n")
    targets = Targets(loot, user, other_user, b"local.test: 1-3\n")
    name = "{localhost:%d/nntp}local.test" % port

    def step(i):
        r = mtest("open " + name, "headers", "set 1 \\Seen", "close")
        out = r.stdout.decode()
        assert r.returncode == 0, (out, r.stderr)
        for k in (2, 3):
            assert re.search(r"^%d uid %d \(\) " % (k, k), out, re.M), out
    with swapped(user, ".newsrc", targets) as sw:
        sw.drive(step, 12, MIN_SWAPS)
    targets.check()
    with open(os.path.join(user.home, ".newsrc")) as f:
        assert f.read() == "local.test: 1\n"
