# tmail and dmail, the delivery agents (issue 11): real system users, the
# real /var/mail spool, tmail run as root (as an MTA runs it) and as the
# recipient (Postfix's mailbox_command), dmail as the user, and every
# delivery read back through imapd as a mail client would.
import os
import re
import shutil
import subprocess
import tempfile
import threading
import time

import pytest

from helpers import mbox, system
from helpers.syslogsink import collect

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

MSG = (b"From: Alice <alice@example.org>\n"
       b"To: someone@example.org\n"
       b"Subject: delivery test\n"
       b"Message-ID: <tmail-1@example.org>\n"
       b"\n"
       b"Hello,\n"
       b"From here on a line that looks like a separator.\n"
       b"\n"
       b"bye\n")


def tool(env, name):
    """The program to test: $env, else beside the imapd under test (make
    check: the sanitizer build), else the plain build."""
    if os.environ.get(env):
        return os.environ[env]
    imapd = os.environ.get("IMAPD")
    if imapd:
        p = os.path.join(os.path.dirname(os.path.dirname(imapd)), "src", name)
        if os.access(p, os.X_OK):
            return p
    p = os.path.join(REPO, "src", name)
    if not os.access(p, os.X_OK):
        pytest.fail("no %s to test at %s (run make, or set %s)" % (name, p, env))
    return p


@pytest.fixture(scope="session")
def tmail(imapd):
    return tool("TMAIL", "tmail")


@pytest.fixture(scope="session")
def dmail(imapd):
    return tool("DMAIL", "dmail")


@pytest.fixture
def run(san_env, config_file):
    """run(prog, args, data, who=None, config=config_file) -> CompletedProcess;
    who: run as that user (setpriv), else as root."""
    def go(prog, args, data=MSG, who=None, config=None, timeout=60):
        argv = [prog, "-c", config or config_file] + list(args)
        env = {"PATH": "/usr/bin:/bin"}
        env.update(san_env)
        if who:
            argv = ["setpriv", "--reuid=%d" % who.uid, "--regid=%d" % who.gid,
                    "--init-groups"] + argv
            env.update({"HOME": who.home, "USER": who.name, "LOGNAME": who.name})
        return subprocess.run(argv, input=data, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, env=env, timeout=timeout,
                              cwd="/")
    return go


def config_with(workdir, extra, spool_dir="/var/mail"):
    fd, path = tempfile.mkstemp(prefix="tmail-", suffix=".conf", dir=workdir)
    with os.fdopen(fd, "w") as f:
        f.write("spool_dir = %s\n%s\n" % (spool_dir, extra))
    os.chmod(path, 0o644)
    return path


def messages(c, box="INBOX"):
    """{uid: (flags, BODY[])} of box, read through imapd."""
    r = c.command("EXAMINE %s" % box)
    assert r.ok, r
    if not r.numbered("EXISTS")[-1]:
        return {}
    r = c.command("FETCH 1:* (UID FLAGS BODY.PEEK[])")
    assert r.ok, r
    return {int(v["UID"]): ({f.upper() for f in v["FLAGS"]} - {"\\RECENT"}, bytes(v["BODY[]"]))
            for v in r.fetches().values()}


def with_return_path(sender, data=MSG):
    return mbox.crlf(b"Return-Path: <%s>\n" % sender + data)


def from_lines(raw):
    return re.findall(rb"(?m)^From (\S+) ", raw)


# ---------------------------------------------------------------- delivery

def test_delivers_to_an_existing_spool_file(run, tmail, fresh, user, spool, sample, connect):
    """Appended after what the MTA delivered before, which stays as it was;
    the new message reads back byte for byte with its Return-Path."""
    spool.write(user, sample[:2])
    r = run(tmail, ["-f", "alice@example.org", user.name])
    assert r.returncode == 0, r.stderr
    got = messages(connect())
    assert len(got) == 3
    bodies = [got[u][1] for u in sorted(got)]
    assert bodies[:2] == [sample[0].crlf(), sample[1].crlf()]
    assert bodies[2] == with_return_path(b"alice@example.org")
    assert from_lines(spool.read(user))[-1] == b"alice@example.org"


def test_creates_a_missing_spool_file_for_the_user(run, tmail, fresh, user, spool, connect):
    """Root makes exactly /var/mail/USER, owned by the user, group mail,
    0660 (Debian's 2775 root:mail spool, which the user cannot write)."""
    path = spool.path(user)
    assert not os.path.lexists(path)
    r = run(tmail, ["-f", "alice@example.org", user.name])
    assert r.returncode == 0, r.stderr
    st = os.lstat(path)
    assert (st.st_uid, st.st_gid, st.st_mode & 0o7777) == (user.uid, system.mail_gid(), 0o660)
    assert [b for _, b in messages(connect()).values()] == [with_return_path(b"alice@example.org")]
    assert sorted(os.listdir(spool.dir)).count(user.name) == 1
    assert not os.path.exists(path + ".lock")


def test_as_the_recipient_like_postfix_mailbox_command(run, tmail, fresh, user, other_user,
                                                       spool, connect):
    """Run as the recipient: without a spool file (which only root may make
    in Debian's spool) 75, so the MTA keeps the message; with one, it
    delivers; to another user 75 (only root may)."""
    r = run(tmail, [user.name], who=user)
    assert r.returncode == 75
    assert b"cannot create" in r.stderr
    assert not os.path.exists(spool.path(user))
    spool.write(user, [])
    r = run(tmail, ["-f", "bob@example.org", user.name], who=user)
    assert r.returncode == 0, r.stderr
    assert [b for _, b in messages(connect()).values()] == [with_return_path(b"bob@example.org")]
    r = run(tmail, [other_user.name], who=user)
    assert r.returncode == 75
    assert not os.path.exists(spool.path(other_user))


def test_several_recipients_each_get_the_message(run, tmail, fresh, user, other_user, spool,
                                                 connect):
    r = run(tmail, ["-f", "carol@example.org", user.name, other_user.name])
    assert r.returncode == 0, r.stderr
    for who in (user, other_user):
        assert [b for _, b in messages(connect(who=who)).values()] == \
            [with_return_path(b"carol@example.org")]
        assert os.stat(spool.path(who)).st_uid == who.uid


# ---------------------------------------------------------------- envelope

def test_f_sets_the_from_line_and_return_path(run, tmail, fresh, user, spool):
    r = run(tmail, ["-f", "<dave@example.org>", user.name])
    assert r.returncode == 0, r.stderr
    raw = spool.read(user)
    assert from_lines(raw)[-1] == b"dave@example.org"
    entry = mbox.real_messages(raw)[-1]
    assert entry.data.startswith(b"Return-Path: <dave@example.org>\nFrom: Alice")


def test_null_sender_is_mailer_daemon(run, tmail, fresh, user, spool, connect):
    r = run(tmail, ["-f", "<>", user.name])
    assert r.returncode == 0, r.stderr
    assert from_lines(spool.read(user))[-1] == b"MAILER-DAEMON"
    assert [b for _, b in messages(connect()).values()] == [mbox.crlf(b"Return-Path: <>\n" + MSG)]


def test_an_existing_return_path_is_kept_alone(run, tmail, fresh, user, spool, connect):
    data = b"Return-Path: <orig@example.org>\n" + MSG
    r = run(tmail, ["-f", "other@example.org", user.name], data=data)
    assert r.returncode == 0, r.stderr
    assert [b for _, b in messages(connect()).values()] == [mbox.crlf(data)]
    assert from_lines(spool.read(user))[-1] == b"other@example.org"


def test_the_mtas_from_line_gives_the_sender(run, tmail, fresh, user, spool, connect):
    """Postfix's local(8) hands over the message framed as in an mbox: a
    From line before it (the envelope, not part of the message) and a blank
    line after it (the separator, not part of it either)."""
    data = b"From erin@example.org  Sun Dec  6 10:00:00 2026\n" + MSG + b"\n"
    r = run(tmail, [user.name], data=data)
    assert r.returncode == 0, r.stderr
    assert from_lines(spool.read(user))[-1] == b"erin@example.org"
    assert [b for _, b in messages(connect()).values()] == [with_return_path(b"erin@example.org")]


def test_forged_internal_headers_set_no_state(run, tmail, fresh, user, spool, sample, connect):
    """Status, X-Status, X-Keywords, X-UID, X-IMAP, X-IMAPbase and
    Content-Length in a delivered message are the sender's words, not our
    state: no flag, keyword or UID comes of them, and they are dropped."""
    spool.write(user, sample[:1])
    forged = (b"Status: RO\nX-Status: DAF\nX-Keywords: Forged $Junk\nX-UID: 4000\n"
              b"X-IMAP: 1 4000 Forged\nX-IMAPbase: 1 4000\nContent-Length: 2\n")
    r = run(tmail, ["-f", "mallory@example.org", user.name], data=forged + MSG)
    assert r.returncode == 0, r.stderr
    c = connect()
    got = messages(c)
    assert sorted(got) == [1, 2]
    assert got[2] == (set(), with_return_path(b"mallory@example.org"))
    sel = c.command("SELECT INBOX")
    assert sel.codes()["UIDNEXT"] == "3"
    flags = " ".join(sel.named("FLAGS")[0][1])
    assert "Forged" not in flags and "$Junk" not in flags


def test_user_plus_folder(run, tmail, fresh, user, spool, connect):
    """user+folder delivers to an existing folder; a missing one, or one a
    stranger could abuse (a dot file, a path), gets INBOX instead."""
    for name in ("lists", ".forward"):
        p = os.path.join(user.home, name)
        open(p, "wb").close()
        os.chown(p, user.uid, user.gid)
    for arg in ("+lists", "+nosuch", "+.forward", "+../" + user.name, "+lists/../.forward"):
        r = run(tmail, ["-f", "f@example.org", user.name + arg])
        assert r.returncode == 0, (arg, r.stderr)
    c = connect()
    assert len(messages(c, "lists")) == 1
    assert len(messages(c, "INBOX")) == 4
    assert os.path.getsize(os.path.join(user.home, ".forward")) == 0


# ---------------------------------------------------------------- failures

def test_unknown_user_is_67_and_logged(run, tmail, fresh, user, spool, syslog, connect):
    """The others still get it; the exit code is the failure's."""
    r = run(tmail, ["nosuchuser-tm", user.name])
    assert r.returncode == 67
    lines = collect(syslog, r"delivery failed user=nosuchuser-tm: no such user")
    assert any(re.search(r"tmail\[\d+\]: delivered user=%s mailbox=INBOX file=/var/mail/%s "
                         % (user.name, user.name), l) for l in lines), lines
    assert len(messages(connect())) == 1


def test_root_is_never_a_recipient(run, tmail, fresh):
    """Mail for root is refused (77), not stored as root: the aliases
    should send it to a user."""
    before = os.path.lexists("/var/mail/root") and os.lstat("/var/mail/root")
    r = run(tmail, ["root"])
    assert r.returncode == 77
    assert b"never stored as root" in r.stderr
    after = os.path.lexists("/var/mail/root") and os.lstat("/var/mail/root")
    assert before == after


def test_setuid_install_is_refused(run, tmail, workdir, fresh, user, spool):
    """Installed setuid root, tmail would let any user pick its
    configuration (and so the spool root writes in): it refuses to run."""
    copy = os.path.join(workdir, "tmail-setuid")
    shutil.copy(tmail, copy)
    os.chmod(copy, 0o4755)
    try:
        r = run(copy, [user.name], who=user)
    finally:
        os.unlink(copy)
    assert r.returncode == 64
    assert b"refuses to run setuid or setgid" in r.stderr
    assert not os.path.exists(spool.path(user))


def test_bad_arguments_are_64(run, tmail, fresh, user):
    assert run(tmail, []).returncode == 64
    assert run(tmail, ["-x", user.name]).returncode == 64


def test_empty_input_is_65_and_nothing_is_stored(run, tmail, fresh, user, spool, sample):
    spool.write(user, sample[:1])
    before = spool.read(user)
    for data in (b"", b"\n\n", b"From x@y  Sun Dec  6 10:00:00 2026\n"):
        assert run(tmail, [user.name], data=data).returncode == 65, data
    assert spool.read(user) == before


@pytest.fixture
def held_lock(spool, user):
    """The user's spool dotlock held by a live process (this one), as an
    MTA holds it while it appends."""
    lock = spool.path(user) + ".lock"
    fd = os.open(lock, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    os.write(fd, b"%d\n" % os.getpid())
    os.close(fd)
    yield lock
    os.unlink(lock)


def test_locked_mailbox_is_75_after_the_timeout(run, tmail, workdir, fresh, user, spool, sample,
                                                held_lock, syslog):
    spool.write(user, sample[:2])
    before = spool.read(user)
    cfg = config_with(workdir, "lock_timeout = 2")
    t0 = time.monotonic()
    r = run(tmail, [user.name], config=cfg)
    took = time.monotonic() - t0
    assert r.returncode == 75
    assert 2 <= took < 15, took
    assert spool.read(user) == before
    collect(syslog, r"delivery failed user=%s mailbox=INBOX file=/var/mail/%s: mailbox "
            r".* is locked by another process .*temporary" % (user.name, user.name))


def test_symlink_at_the_spool_path_is_refused(run, tmail, workdir, fresh, user, spool, syslog):
    """A link planted where the spool file belongs: nothing is written
    through it (75: the MTA keeps the message), the target is untouched."""
    target = os.path.join(workdir, "precious")
    with open(target, "wb") as f:
        f.write(b"root's file\n")
    os.symlink(target, spool.path(user))
    try:
        r = run(tmail, [user.name])
        assert r.returncode == 75
        with open(target, "rb") as f:
            assert f.read() == b"root's file\n"
        assert os.stat(target).st_uid == 0
        assert os.readlink(spool.path(user)) == target
        collect(syslog, r"delivery failed user=%s .*symbolic link" % user.name)
        # a dangling link: root does not create its target either
        os.unlink(target)
        assert run(tmail, [user.name]).returncode == 75
        assert not os.path.lexists(target)
    finally:
        os.unlink(spool.path(user))


@pytest.fixture
def tmpfs():
    """tmpfs(path, uid, gid, mode): a 512 KB tmpfs mounted on path (an
    existing directory) for the test, unmounted afterwards."""
    mounted = []

    def mount(path, uid, gid, mode):
        subprocess.run(["mount", "-t", "tmpfs", "-o", "size=512k", "tmpfs", path], check=True)
        mounted.append(path)
        os.chown(path, uid, gid)
        os.chmod(path, mode)
        return path
    yield mount
    for path in reversed(mounted):
        subprocess.run(["umount", "-l", path], check=True)


@pytest.fixture
def small_spool(workdir, users, tmpfs):
    """A small tmpfs as the spool directory (2775 root:mail, as Debian's)."""
    d = tmpfs(tempfile.mkdtemp(prefix="spool-", dir=workdir), 0, system.mail_gid(), 0o2775)
    return mbox.Spool(d, system.mail_gid())


BIG = b"Subject: big\nMessage-ID: <big@x>\n\n" + b"x" * 60000 + b"\nbye\n"


@pytest.mark.parametrize("room", [0, 8192], ids=["no-room-for-the-lock", "room-for-the-lock"])
@pytest.mark.parametrize("record", [False, True], ids=["as-the-mta-left-it", "with-record"])
def test_full_disk_is_75_and_the_mailbox_is_unchanged(run, tmail, workdir, fresh, user, sample,
                                                      small_spool, record, room):
    """The spool's filesystem full, with or without room for the dotlock
    (then the message itself does not fit): 75, the file byte for byte as
    before (nothing half-written); with room again, the retry stores the
    message once."""
    cfg = config_with(workdir, "", spool_dir=small_spool.dir)
    small_spool.write(user, sample[:3])
    if record:   # a first delivery gives the file its folder record
        assert run(tmail, [user.name], config=cfg).returncode == 0
    before = small_spool.read(user)
    system.fill_filesystem(small_spool.dir)
    if room:
        filler = os.path.join(small_spool.dir, "filler")
        os.truncate(filler, os.path.getsize(filler) - room)
    big = BIG
    r = run(tmail, ["-f", "big@example.org", user.name], data=big, config=cfg)
    assert r.returncode == 75, r.stderr
    assert b"No space left on device" in r.stderr
    assert (b"cannot create lock file" in r.stderr) == (not room), r.stderr
    assert small_spool.read(user) == before
    for name in ("filler", "filler2"):
        os.unlink(os.path.join(small_spool.dir, name))
    r = run(tmail, ["-f", "big@example.org", user.name], data=big, config=cfg)
    assert r.returncode == 0, r.stderr
    got = mbox.real_messages(small_spool.read(user))
    assert [e.data for e in got].count(b"Return-Path: <big@example.org>\n" + big) == 1
    assert len(got) == 3 + record + 1


def test_concurrent_deliveries_and_expunge_lose_nothing(run, tmail, fresh, user, spool, connect):
    """Two tmail processes deliver 12 messages each while an IMAP session
    expunges the 12 old ones one by one: afterwards every new message is
    there exactly once and every old one is gone."""
    old = [mbox.Entry(b"Subject: old %d\nMessage-ID: <old-%d@x>\n\nold\n" % (i, i))
           for i in range(12)]
    spool.write(user, old)
    c = connect()
    assert c.command("SELECT INBOX").ok
    failures = []

    def deliver(tag):
        for i in range(12):
            data = b"Subject: new\nMessage-ID: <%s-%d@x>\n\nnew %s %d\n" % (tag, i, tag, i)
            r = run(tmail, ["-f", "x@example.org", user.name], data=data)
            if r.returncode:
                failures.append((tag, i, r.returncode, r.stderr))
    threads = [threading.Thread(target=deliver, args=(t,)) for t in (b"a", b"b")]
    for t in threads:
        t.start()
    for uid in range(1, 13):
        assert c.command("UID STORE %d +FLAGS.SILENT (\\Deleted)" % uid).ok
        assert c.command("EXPUNGE").ok
    for t in threads:
        t.join()
    assert failures == []
    ids = re.findall(rb"(?mi)^Message-ID: <([^>]+)>", b"".join(
        b for _, b in messages(connect()).values()))
    want = sorted(b"%s-%d@x" % (t, i) for t in (b"a", b"b") for i in range(12))
    assert sorted(ids) == want


def test_dash_i_names_the_mailbox(run, tmail, fresh, user, spool, connect):
    """-I delivers to that mailbox of the user's instead of INBOX, made
    when missing."""
    for _ in range(2):
        r = run(tmail, ["-I", "mail/incoming", "-f", "i@example.org", user.name])
        assert r.returncode == 0, r.stderr
    assert os.stat(os.path.join(user.home, "mail", "incoming")).st_uid == user.uid
    got = messages(connect(), "mail/incoming")
    assert [got[u][1] for u in sorted(got)] == [with_return_path(b"i@example.org")] * 2
    assert not os.path.exists(spool.path(user))


# ---------------------------------------------------------------- dmail

def test_dmail_plus_folder_as_the_user(run, dmail, fresh, user, connect):
    """procmail's `| dmail +folder`: the folder is made (the user's own,
    0600) and the message reads back through imapd byte for byte."""
    data = b"From frank@example.org  Sun Dec  6 10:00:00 2026\n" + MSG
    r = run(dmail, ["+archive"], data=data, who=user)
    assert r.returncode == 0, r.stderr
    st = os.lstat(os.path.join(user.home, "archive"))
    assert (st.st_uid, st.st_mode & 0o777) == (user.uid, 0o600)
    r = run(dmail, ["-f", "gina@example.org", "archive"], who=user)
    assert r.returncode == 0, r.stderr
    got = messages(connect(), "archive")
    assert [got[u][1] for u in sorted(got)] == [with_return_path(b"frank@example.org"),
                                                with_return_path(b"gina@example.org")]


def test_dmail_to_inbox_as_the_user(run, dmail, fresh, user, spool, connect):
    spool.write(user, [])
    r = run(dmail, ["-f", "hal@example.org"], who=user)
    assert r.returncode == 0, r.stderr
    assert [b for _, b in messages(connect()).values()] == [with_return_path(b"hal@example.org")]


@pytest.mark.parametrize("record", [False, True], ids=["as-the-mta-left-it", "with-record"])
def test_dmail_full_home_is_75_and_the_folder_is_unchanged(run, dmail, fresh, user, tmpfs,
                                                           sample, record):
    """A folder in a full home (a small tmpfs): 75 and the folder byte for
    byte as before; with room again, the retry stores the message once."""
    tmpfs(user.home, user.uid, user.gid, 0o700)
    box = os.path.join(user.home, "box")
    with open(box, "wb") as f:
        f.write(b"".join(mbox.entry_bytes(e) for e in sample[:3]))
    os.chown(box, user.uid, user.gid)
    if record:
        assert run(dmail, ["+box"], who=user).returncode == 0
    with open(box, "rb") as f:
        before = f.read()
    system.fill_filesystem(user.home)
    r = run(dmail, ["-f", "big@example.org", "+box"], data=BIG, who=user)
    assert r.returncode == 75, r.stderr
    assert b"No space left on device" in r.stderr
    with open(box, "rb") as f:
        assert f.read() == before
    for name in ("filler", "filler2"):
        os.unlink(os.path.join(user.home, name))
    assert run(dmail, ["-f", "big@example.org", "+box"], data=BIG, who=user).returncode == 0
    with open(box, "rb") as f:
        got = mbox.real_messages(f.read())
    assert [e.data for e in got].count(b"Return-Path: <big@example.org>\n" + BIG) == 1
    assert len(got) == 3 + record + 1


def test_dmail_refuses_root(run, dmail, fresh, user):
    r = run(dmail, ["+archive"])
    assert r.returncode == 64
    assert b"refusing to run as root" in r.stderr
    assert not os.path.exists(os.path.join(user.home, "archive"))
