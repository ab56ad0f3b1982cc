# mailutil, the classic toolkit's mailbox utility, run as the user it serves:
# each command leaves what imapd then shows exactly (messages byte for byte,
# flags, keywords and internal dates), and says plainly what went wrong.
import os
import re
import subprocess

import pytest

from conftest import REPO
from helpers.session import make_message
from helpers import mbox


@pytest.fixture(scope="session")
def mailutil(imapd):
    """The mailutil built beside the imapd under test."""
    path = os.path.join(os.path.dirname(os.path.dirname(imapd)), "src", "mailutil")
    if not os.access(path, os.X_OK):
        path = os.path.join(REPO, "src", "mailutil")
    assert os.access(path, os.X_OK), "no mailutil built at %s" % path
    return path


@pytest.fixture
def mu(mailutil, user, config_file, san_env, fresh):
    """mu(*args, who=user, input=None) -> CompletedProcess of mailutil run
    as the user, with the test configuration."""
    def run(*args, who=None, input=None):
        who = who or user
        env = {"PATH": "/usr/bin:/bin", "HOME": who.home, "USER": who.name,
               "LOGNAME": who.name}
        env.update(san_env)
        return subprocess.run(["setpriv", "--reuid=%d" % who.uid, "--regid=%d" % who.gid,
                               "--init-groups", mailutil, "--config", config_file] +
                              list(args), input=input, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, env=env, timeout=300,
                              cwd=who.home)
    return run


def session(imapd_as, user, *commands):
    """Run IMAP commands as the user (PREAUTH over pipes); the output."""
    data = "".join("t%d %s\r\n" % (i, c) for i, c in enumerate(commands))
    r = imapd_as(user, (data + "z LOGOUT\r\n").encode(), timeout=120)
    assert r.returncode == 0, r.stderr
    return r.stdout


def contents(imapd_as, user, name):
    """What a client sees of each message in name: flags (less \\Recent,
    session state), internal date, size and bytes, in order."""
    out = session(imapd_as, user, 'EXAMINE "%s"' % name,
                  "FETCH 1:* (FLAGS INTERNALDATE RFC822.SIZE BODY.PEEK[])")
    assert re.search(rb"\r\nt0 OK", out), out[-300:]
    if b"\r\n* 0 EXISTS\r\n" in out:
        return []
    assert re.search(rb"\r\nt1 OK", out), out[-300:]
    out = out.replace(b"\\Recent ", b"").replace(b" \\Recent", b"").replace(b"\\Recent", b"")
    return re.findall(rb"\* \d+ FETCH .*?(?=\r\n\* \d+ FETCH|\r\nt1 OK)", out, re.S)


def test_create_check_delete_rename(mu, user):
    r = mu("create", "box1")
    assert r.returncode == 0 and r.stderr == b"", r
    assert mu("check", "box1").stdout == b"0 new messages (0 unseen), 0 total in box1\n"
    assert mu("rename", "box1", "box2").returncode == 0
    assert os.path.exists(os.path.join(user.home, "box2"))
    assert mu("delete", "box2").returncode == 0
    assert not os.path.exists(os.path.join(user.home, "box2"))


def test_check_inbox_counts(mu, spool, user, sample):
    spool.write(user, sample)
    r = mu("check")
    assert r.returncode == 0, r
    assert r.stdout == b"4 new messages (4 unseen), 4 total in INBOX\n"


def test_errors_are_plain(mu):
    r = mu("copy", "nosuch", "x")
    assert r.returncode == 1
    assert r.stderr == b"mailutil: cannot open nosuch: mailbox nosuch does not exist\n"
    r = mu("frobnicate")
    assert r.returncode == 2 and r.stderr.startswith(b"usage: mailutil command")
    r = mu("create", "#driver.nosuch/x")
    assert r.returncode == 1
    assert r.stderr == (b"mailutil: cannot create #driver.nosuch/x: "
                        b"no mailbox format is called nosuch\n")


def flag_some(imapd_as, user, name):
    out = session(imapd_as, user, 'SELECT "%s"' % name,
                  "STORE 1 +FLAGS (\\Seen \\Flagged)", "STORE 2 +FLAGS (\\Answered $Label1)",
                  "STORE 3 +FLAGS (\\Draft Junk)")
    assert out.count(b" OK ") >= 4, out


def test_copy_keeps_messages_flags_and_dates(mu, imapd_as, spool, user, sample):
    spool.write(user, sample)
    flag_some(imapd_as, user, "INBOX")
    before = contents(imapd_as, user, "INBOX")
    assert len(before) == 4
    r = mu("copy", "INBOX", "saved")
    assert r.returncode == 0, r
    assert contents(imapd_as, user, "saved") == before
    assert contents(imapd_as, user, "INBOX") == before
    r = mu("copy", "INBOX", "saved")
    assert r.returncode == 1
    assert r.stderr == b"mailutil: cannot create saved: mailbox saved already exists\n"


def test_move_and_appenddelete_empty_the_source(mu, imapd_as, spool, user, sample):
    spool.write(user, sample)
    before = contents(imapd_as, user, "INBOX")
    assert mu("move", "INBOX", "moved").returncode == 0
    assert contents(imapd_as, user, "moved") == before
    assert contents(imapd_as, user, "INBOX") == []
    assert mu("create", "other").returncode == 0
    assert mu("appenddelete", "moved", "other").returncode == 0
    assert contents(imapd_as, user, "other") == before
    assert contents(imapd_as, user, "moved") == []


def test_append_needs_an_existing_target(mu, imapd_as, spool, user, sample):
    spool.write(user, sample)
    r = mu("append", "INBOX", "absent")
    assert r.returncode == 1
    assert r.stderr == b"mailutil: cannot copy INBOX to absent: mailbox absent does not exist\n"
    assert mu("create", "present").returncode == 0
    assert mu("append", "INBOX", "present").returncode == 0
    assert mu("append", "INBOX", "present").returncode == 0
    assert len(contents(imapd_as, user, "present")) == 8


def test_prune_deletes_what_the_search_finds(mu, imapd_as, user):
    assert mu("create", "p").returncode == 0
    msgs = [make_message(i, 300, tag="keep" if i % 2 else "drop") for i in range(6)]
    path = os.path.join(user.home, "p")
    with open(path, "ab") as f:
        for m in msgs:
            f.write(mbox.entry_bytes(m))
    r = mu("prune", "p", "SUBJECT", "drop")
    assert r.returncode == 0, r
    assert r.stdout == b"3 messages deleted from p\n"
    left = contents(imapd_as, user, "p")
    assert len(left) == 3 and all(b"Subject: keep number" in x for x in left)
    r = mu("prune", "p", "NOSUCHKEY")
    assert r.returncode == 2 and b"prune: bad criteria \"NOSUCHKEY\"" in r.stderr


def test_transfer_a_hierarchy(mu, imapd_as, spool, user, sample):
    spool.write(user, sample)
    flag_some(imapd_as, user, "INBOX")
    assert mu("create", "work/a").returncode == 0
    assert mu("append", "INBOX", "work/a").returncode == 0
    assert mu("create", "notes").returncode == 0
    want = {n: contents(imapd_as, user, n) for n in ("INBOX", "work/a", "notes")}
    r = mu("-v", "transfer", "", "#driver.unix/backup/")
    assert r.returncode == 0, r
    # a progress line per mailbox (and what went where)
    assert b"mailutil: INBOX -> #driver.unix/backup/INBOX\n" in r.stderr
    assert b"\rmailutil: INBOX: 4/4 messages\n" in r.stderr
    for n, c in want.items():
        assert contents(imapd_as, user, "backup/" + n) == c, n
    # again: the targets exist now, and nothing is merged unless asked
    r = mu("transfer", "work/", "backup/work/")
    assert r.returncode == 1
    assert r.stderr == (b"mailutil: backup/work/a already exists "
                        b"(use -m resume, -m append, -m suffix=XX or -m prompt)\n")
    assert mu("-m", "append", "transfer", "work/", "backup/work/").returncode == 0
    assert len(contents(imapd_as, user, "backup/work/a")) == 8
    assert mu("-m", "suffix=.old", "transfer", "work/", "backup/work/").returncode == 0
    assert contents(imapd_as, user, "backup/work/a.old") == want["work/a"]


@pytest.mark.parametrize("middle", ["maildir", "mmdf"])
def test_transfer_mbox_home_into_maildir_and_back(mu, imapd_as, spool, user, sample, middle):
    """An mbox home (INBOX and a 10,000-message folder, flags and keywords
    set) goes into a Maildir tree (or UW's MMDF files) and back into mbox
    files: every message byte for byte, with its flags, keywords and
    internal date."""
    big = [make_message(i, 600 + (i * 37) % 3000, tag="bulk") for i in range(10000)]
    spool.write(user, sample)
    flag_some(imapd_as, user, "INBOX")
    assert mu("create", "lists/big").returncode == 0
    with open(os.path.join(user.home, "lists/big"), "ab") as f:
        for m in big:
            f.write(mbox.entry_bytes(m))
    out = session(imapd_as, user, 'SELECT "lists/big"', "STORE 1:500 +FLAGS (\\Seen)",
                  "STORE 250:300 +FLAGS (\\Flagged $Work)")
    assert out.count(b" OK ") >= 3, out[-300:]
    assert mu("create", "empty").returncode == 0
    names = ("INBOX", "lists/big", "empty")
    want = {n: contents(imapd_as, user, n) for n in names}
    assert len(want["lists/big"]) == 10000
    r = mu("transfer", "", "#driver.%s/md/" % middle)
    assert r.returncode == 0, r.stderr[-500:]
    if middle == "maildir":
        assert os.path.isdir(os.path.join(user.home, "md/lists/big/cur"))
    else:
        with open(os.path.join(user.home, "md/lists/big"), "rb") as f:
            assert f.read(5) == mbox.MMDF_MARK
    for n in names:
        assert contents(imapd_as, user, "#driver.%s/md/%s" % (middle, n)) == want[n], n
    r = mu("transfer", "#driver.%s/md/" % middle, "#driver.unix/back/")
    assert r.returncode == 0, r.stderr[-500:]
    for n in names:
        assert contents(imapd_as, user, "back/" + n) == want[n], n


def test_copy_leaves_new_mail_new_unless_rw(mu, imapd_as, spool, user, sample):
    # the classic tool opens the source read-only, so copying new mail
    # does not make it old; -rw opens it read-write, as a client would
    spool.write(user, sample)
    path = spool.path(user)
    with open(path, "rb") as f:
        before = f.read()

    def recent():
        out = session(imapd_as, user, "STATUS INBOX (RECENT)")
        return int(re.search(rb"\(RECENT (\d+)\)", out).group(1))

    assert mu("copy", "INBOX", "a").returncode == 0
    with open(path, "rb") as f:
        assert f.read() == before
    assert recent() == 4
    assert mu("-rw", "copy", "INBOX", "b").returncode == 0
    assert recent() == 0
    assert contents(imapd_as, user, "b") == contents(imapd_as, user, "a")
