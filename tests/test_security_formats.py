# Issue 11 with the project's file rule: planted links and swaps in the
# files of the mix, mbx, MMDF, MH and Maildir drivers. The user (the
# attacker of their own session) puts a symlink where the session opens,
# creates or renames, or swaps a file or directory for one during appends
# and expunges; a root-owned file or directory the user could write stays
# byte-identical and its text never reaches a response.
import os
import shutil
import stat
import tempfile
import threading
import time

import pytest

from helpers import mailstore
from helpers.imapclient import Lit
from test_security_paths import all_bytes, plant_link

# The bait's text: the word "Hello" of the message and the keyword name
# "$Kwd5" become SECRET (same length: sizes stay valid), so a link followed
# for reading shows in a body or in FLAGS.
SECRET = b"S3CR3"
MSG1 = b"From: a@example.com\r\nSubject: one\r\n\r\nHello there.\r\n"
MSG2 = b"From: b@example.com\r\nSubject: two\r\n\r\nAnother one.\r\n"

# (format, file in the mailbox planted as a link): every file the driver
# opens, creates or renames. DATA is mix's first data file; LOCK is mbx's
# /tmp/.<dev>.<ino> lock file.
PLANTED = [("mix", ".mixmeta"), ("mix", ".mixindex"), ("mix", ".mixstatus"), ("mix", "DATA"),
           ("mbx", "LOCK"), ("mh", ".mh_sequences"), ("mh", "1"), ("mh", "2"),
           ("maildir", "dovecot-uidlist"), ("maildir", "dovecot-keywords"),
           ("maildir", "tmp"), ("maildir", "new"), ("maildir", "cur")]
# (format, what is swapped for a link over and over during the session's
# work; "" is the mailbox itself, file or directory)
SWAPPED = [("mix", ".mixindex"), ("mix", ".mixstatus"), ("mix", ""), ("mbx", ""),
           ("mmdf", ""), ("mh", ".mh_sequences"), ("mh", ""), ("maildir", "tmp"),
           ("maildir", "cur"), ("maildir", "dovecot-uidlist")]


@pytest.fixture
def loot():
    """A root-owned directory everyone may enter: the link targets in it
    are writable by the user, so a followed link would show."""
    d = tempfile.mkdtemp(prefix="fmt-loot-")
    os.chmod(d, 0o755)
    yield d
    shutil.rmtree(d, ignore_errors=True)


@pytest.fixture
def store(fresh, spool, user):
    """A Maildir user gets ~/Maildir (folders inside it); the others keep
    their spool INBOX and make folders in the home."""
    def make(fmt):
        if fmt == "maildir":
            mailstore.make("maildir", spool).init(user)
    return make


def box_path(user, fmt):
    if fmt == "maildir":
        return os.path.join(user.home, "Maildir", ".box")
    return os.path.join(user.home, "box")


def make_box(c, fmt):
    """box with one message carrying a keyword (so dovecot-keywords and
    .mh_sequences exist), selected once and closed (uidlist written)."""
    name = "box" if fmt == "maildir" else "#driver.%s/box" % fmt
    assert c.command("CREATE %s" % name).ok
    assert c.command("APPEND box (\\Seen $Kwd5) ", Lit(MSG1)).ok
    assert c.command("SELECT box").ok
    assert c.command("CLOSE").ok


def tree(path):
    """{relative name: bytes or None for a directory} under path, with
    the mode, owner and inode of each: what "untouched" compares."""
    out = {}
    for d, subs, files in os.walk(path):
        for n in subs + files:
            p = os.path.join(d, n)
            st = os.lstat(p)
            data = None
            if stat.S_ISREG(st.st_mode):
                with open(p, "rb") as f:
                    data = f.read()
            out[os.path.relpath(p, path)] = (data, st.st_mode, st.st_uid, st.st_ino)
    st = os.lstat(path)
    out["."] = (None, st.st_mode, st.st_uid, st.st_ino)
    return out


def bait(real, loot, name):
    """A root-owned copy of real (file or directory) in loot, open to all,
    with the SECRET in it: what a followed link would read or write."""
    target = os.path.join(loot, name)
    if os.path.isdir(real):
        shutil.copytree(real, target)
        for d, subs, files in os.walk(target):
            os.chown(d, 0, 0)
            os.chmod(d, 0o777)
            for n in files:
                bait_file(os.path.join(d, n))
    else:
        shutil.copyfile(real, target)
        bait_file(target)
    return target


def bait_file(p):
    with open(p, "rb") as f:
        data = f.read()
    with open(p, "wb") as f:
        f.write(data.replace(b"Hello", SECRET).replace(b"$Kwd5", SECRET))
    os.chown(p, 0, 0)
    os.chmod(p, 0o666)


def data_file(box):
    return sorted(n for n in os.listdir(box) if n.startswith(".mix") and
                  n not in (".mixmeta", ".mixindex", ".mixstatus"))[0]


def mbx_lock(box):
    st = os.stat(box)
    return "/tmp/.%x.%x" % (st.st_dev, st.st_ino)


def work(c, rounds=1):
    """What a session does to box: open, read, flag, add, expunge. Every
    answer may be NO; returns all the bytes the server said."""
    said = b""
    for _ in range(rounds):
        for cmd in ("SELECT box", "FETCH 1:* (FLAGS BODY.PEEK[])",
                    "STORE 1:* +FLAGS (\\Flagged $Other)", ("APPEND box (\\Seen) ", Lit(MSG2)),
                    "NOOP", "STORE 1 +FLAGS.SILENT (\\Deleted)", "EXPUNGE",
                    "FETCH 1:* (FLAGS BODY.PEEK[])", "STATUS box (MESSAGES UIDNEXT)", "CLOSE"):
            r = c.command(*cmd) if isinstance(cmd, tuple) else c.command(cmd)
            said += all_bytes(r)
    return said


@pytest.mark.parametrize("fmt,planted", PLANTED, ids=["%s-%s" % p for p in PLANTED])
def test_planted_link_is_never_followed(store, connect, user, loot, fmt, planted):
    """A link in place of one of the mailbox's files or directories, to a
    root-owned copy the user could write: the session's whole round of
    work leaves the copy as it was and never shows its text."""
    store(fmt)
    c = connect()
    make_box(c, fmt)
    box = box_path(user, fmt)
    if planted == "LOCK":
        link, real = mbx_lock(box), box
    else:
        name = data_file(box) if planted == "DATA" else planted
        link = real = os.path.join(box, name)
        if planted == "2":       # where the next APPEND would write
            real = os.path.join(box, "1")
    target = bait(real, loot, "target")
    before = tree(loot)
    if os.path.lexists(link) and link == real:
        (shutil.rmtree if os.path.isdir(link) and not os.path.islink(link) else os.unlink)(link)
    try:
        plant_link(target, link, user)
        said = work(c)
    finally:
        if planted == "LOCK" and os.path.islink(link):
            os.unlink(link)
    assert tree(loot) == before
    assert SECRET not in said


@pytest.mark.parametrize("fmt,swapped", SWAPPED, ids=["%s-%s" % (f, s or "box") for f, s in SWAPPED])
def test_swap_during_work_is_never_followed(store, connect, user, loot, fmt, swapped):
    """While the session appends, flags and expunges, a thread swaps one
    of the mailbox's files or directories (or the mailbox itself) for a
    link to a root-owned copy and back, over and over: the copy stays as
    it was, its text is never shown, and the session goes on answering."""
    store(fmt)
    c = connect()
    make_box(c, fmt)
    box = box_path(user, fmt)
    real = os.path.join(box, swapped) if swapped else box
    target = bait(real, loot, "target")
    before = tree(loot)
    aside, tmp = real + ".aside", real + ".lnk"
    stop = threading.Event()
    swaps = [0]

    def swapper():
        while not stop.is_set():
            try:
                os.rename(real, aside)
                plant_link(target, tmp, user)
                os.rename(tmp, real)
                time.sleep(0.001)
                os.rename(real, tmp)
                os.unlink(tmp)
                swaps[0] += 1
            except FileNotFoundError:
                pass     # the session renamed it meanwhile (a rewrite): next round
            except IsADirectoryError:
                os.unlink(tmp)   # the session made the directory again: next round
            finally:
                if os.path.lexists(aside) and not os.path.lexists(real):
                    os.rename(aside, real)
            time.sleep(0.001)

    t = threading.Thread(target=swapper, daemon=True)
    t.start()
    try:
        said = work(c, rounds=15)
    finally:
        stop.set()
        t.join(5)
    assert swaps[0] >= 20, "only %d swaps" % swaps[0]
    assert tree(loot) == before
    assert SECRET not in said
    assert c.command("NOOP").ok     # the session survived it all
