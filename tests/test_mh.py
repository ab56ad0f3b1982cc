# The MH driver through imapd (issue 11): folders made by "#driver.mh/x"
# and by mail_format = mh, messages as numbered files with their flags and
# keywords in .mh_sequences, and the same folder used at once by Debian's
# nmh (inc, scan, mark, refile) run as the test user with its own profile.
import os
import shutil
import subprocess

from helpers.imapclient import Lit
from helpers.session import appends_beside, idle_sees_delivery_and_flags, tagged_message
from test_maildir import body_of, listed  # noqa: F401 (shared helpers)
from test_silent_failures import tmpfs_home  # noqa: F401 (a fixture)

MSG1 = (b"From: Alice <alice@example.com>\r\nTo: bob@example.com\r\n"
        b"Subject: first\r\n\r\nHello from MH.\r\n")
MSG2 = (b"From: Carol <carol@example.com>\r\nSubject: second\r\n\r\n"
        b"Another one.\r\n")


def path(user, *parts):
    return os.path.join(user.home, *parts)


def read(p):
    with open(p, "rb") as f:
        return f.read()


def sequences(user, folder):
    p = path(user, folder, ".mh_sequences")
    return read(p).decode() if os.path.exists(p) else ""


def numbers(user, folder):
    return sorted(int(e) for e in os.listdir(path(user, folder)) if e.isdigit())


def test_driver_mh_folder(fresh, connect, user):
    """CREATE #driver.mh/work makes an MH folder; APPEND writes numbered
    files (LF line ends) and sequences for the flags; SELECT, FETCH,
    STORE, EXPUNGE and COPY work on it with the numbers as UIDs."""
    c = connect()
    assert c.command("CREATE #driver.mh/work").ok
    assert os.listdir(path(user, "work")) == [".mh_sequences"]
    r = c.command("APPEND work (\\Seen $Work) ", Lit(MSG1))
    assert r.ok, r
    validity = r.codes()["APPENDUID"].split()[0]
    assert r.codes()["APPENDUID"] == validity + " 1"
    assert c.command("APPEND work ", Lit(MSG2)).ok
    assert numbers(user, "work") == [1, 2]
    assert read(path(user, "work", "1")) == MSG1.replace(b"\r\n", b"\n")
    assert sequences(user, "work") == "$Work: 1\nunseen: 2\n"
    r = c.command("SELECT work")
    assert r.ok and r.numbered("EXISTS") == [2] and r.numbered("RECENT") == [2], r
    assert r.codes()["UIDVALIDITY"] == validity
    r = c.command("FETCH 1:2 (UID FLAGS RFC822.SIZE BODY.PEEK[])")
    f = r.fetches()
    assert (f[1]["UID"], f[2]["UID"]) == ("1", "2")
    assert set(f[1]["FLAGS"]) == {"\\Seen", "$Work", "\\Recent"}
    assert body_of(r, 1) == MSG1 and body_of(r, 2) == MSG2
    assert f[2]["RFC822.SIZE"] == str(len(MSG2))
    assert c.command("STORE 2 +FLAGS (\\Flagged \\Answered \\Deleted)").ok
    assert sequences(user, "work") == ("$Work: 1\nunseen: 2\nflagged: 2\nreplied: 2\n"
                                       "deleted: 2\n")
    assert c.command("CREATE #driver.mh/keep").ok
    r = c.command("COPY 1:2 keep")
    assert r.ok and r.codes()["COPYUID"].split()[1:] == ["1:2", "1:2"], r
    r = c.command("EXPUNGE")
    assert r.ok and r.numbered("EXPUNGE") == [2], r
    assert numbers(user, "work") == [1]
    assert sequences(user, "work") == "$Work: 1\n"
    assert numbers(user, "keep") == [1, 2]
    assert read(path(user, "keep", "2")) == MSG2.replace(b"\r\n", b"\n")
    c.command("LOGOUT")
    c2 = connect()
    r = c2.command("SELECT work")
    assert r.codes()["UIDVALIDITY"] == validity and r.numbered("RECENT") == [0]
    assert r.codes()["UIDNEXT"] == "3"
    r = c2.command("STATUS keep (MESSAGES UNSEEN UIDNEXT)")
    assert r.ok and r.named("STATUS")[0][2] == ["MESSAGES", "2", "UIDNEXT", "3", "UNSEEN", "1"], r


def test_mail_format_mh_nests(fresh, server_with, open_to, user):
    """mail_format = mh: CREATE makes MH folders; a folder holding another
    is listed as a mailbox with children, not \\NoInferiors; an empty
    directory stays \\Noselect."""
    srv = server_with("mail_format = mh")
    c = open_to(srv, user)
    assert c.command("CREATE lists").ok and c.command("CREATE lists/debian").ok
    os.mkdir(path(user, "empty"), 0o700)
    os.chown(path(user, "empty"), user.uid, user.gid)
    assert os.path.isfile(path(user, "lists", "debian", ".mh_sequences"))
    r = c.command("APPEND lists/debian ", Lit(MSG1))
    assert r.ok, r
    assert numbers(user, "lists/debian") == [1]
    r = c.command('LIST "" *')
    got = listed(r)
    assert got["lists"] == {"\\HASCHILDREN"}, got
    assert got["lists/debian"] == {"\\HASNOCHILDREN"}, got
    assert got["empty"] == {"\\NOSELECT", "\\HASNOCHILDREN"}, got
    r = c.command("SELECT lists")
    assert r.ok and r.numbered("EXISTS") == [0], r
    r = c.command("SELECT lists/debian")
    assert r.ok and r.numbered("EXISTS") == [1], r
    r = c.command("FETCH 1 BODY.PEEK[]")
    assert body_of(r) == MSG1


def test_nmh_users_inbox_is_mail_inbox_listed_once(fresh, connect, user, spool, sample):
    """With a ~/.mh_profile, an MH ~/Mail/inbox is INBOX (nmh's +inbox);
    LIST names it once, as INBOX. Without the profile INBOX is the spool
    file again and ~/Mail/inbox an ordinary folder."""
    spool.write(user, sample[:1])
    c = connect()
    assert c.command("CREATE #driver.mh/Mail/inbox").ok
    assert c.command("APPEND Mail/inbox ", Lit(MSG1)).ok
    assert c.command("APPEND Mail/inbox ", Lit(MSG2)).ok
    mh_profile(user)
    c = connect()
    r = c.command("SELECT INBOX")
    assert r.ok and r.numbered("EXISTS") == [2], r
    assert body_of(c.command("FETCH 2 BODY.PEEK[]"), 2) == MSG2
    assert sorted(listed(c.command('LIST "" *'))) == ["INBOX", "Mail"]
    os.unlink(path(user, ".mh_profile"))
    c = connect()
    r = c.command("SELECT INBOX")
    assert r.ok and r.numbered("EXISTS") == [1], r
    assert sorted(listed(c.command('LIST "" *'))) == ["INBOX", "Mail", "Mail/inbox"]


def test_full_disk_append_answers_no_and_leaves_nothing(fresh, tmpfs_home, connect, user):
    """An MH folder on a full file system: APPEND answers NO, leaves no
    numbered file and no temp file, and the sequences as they were; after
    space is freed the same APPEND works."""
    c = connect()
    assert c.command("CREATE #driver.mh/box").ok
    assert c.command("APPEND box (\\Flagged) ", Lit(MSG1)).ok
    before = sequences(user, "box")
    tmpfs_home.fill()
    big = MSG1 + b"x" * 8192 + b"\r\n"
    r = c.command("APPEND box ", Lit(big))
    assert r.status == "NO", r
    assert sorted(os.listdir(path(user, "box"))) == [".mh_sequences", "1"]
    assert sequences(user, "box") == before
    tmpfs_home.free()
    r = c.command("APPEND box ", Lit(big))
    assert r.ok, r
    assert numbers(user, "box") == [1, 2]


def test_idle_wakes_on_nmh_style_delivery(fresh, connect, user):
    """IDLE on an MH folder watches the directory: a message linked in
    under the next number (as rcvstore delivers) reaches the idling client
    at once, and so does another session's STORE in the sequences."""
    c, other = connect(), connect()
    assert c.command("CREATE #driver.mh/box").ok
    assert c.command("SELECT box").ok

    def deliver():
        tmp = path(user, "box", ",tmp-delivery")
        with open(tmp, "wb") as f:
            f.write(MSG1.replace(b"\r\n", b"\n"))
        os.chown(tmp, user.uid, user.gid)
        os.link(tmp, path(user, "box", "1"))
        os.unlink(tmp)
    idle_sees_delivery_and_flags(c, other, "box", deliver)


def test_planted_files_not_served(fresh, connect, user, other_user):
    """A link to another user's mail, a hard link of another user's file
    and a FIFO among the numbers are not messages."""
    c = connect()
    assert c.command("CREATE #driver.mh/box").ok
    assert c.command("APPEND box ", Lit(MSG1)).ok
    secret = path(other_user, "secret")
    with open(secret, "wb") as f:
        f.write(b"Subject: not yours\r\n\r\nsecret\r\n")
    os.chown(secret, other_user.uid, other_user.gid)
    os.symlink(secret, path(user, "box", "2"))
    os.mkfifo(path(user, "box", "3"))
    os.chown(path(user, "box", "3"), user.uid, user.gid)
    r = c.command("SELECT box")
    assert r.ok and r.numbered("EXISTS") == [1], r
    r = c.command("FETCH 1:* (UID BODY.PEEK[])")
    assert list(r.fetches()) == [1] and body_of(r) == MSG1


# ---------------------------------------------------------------- nmh

def nmh(user, prog, *args):
    """Run an nmh program as the user, with the profile in their home."""
    exe = shutil.which(prog, path="/usr/bin/mh:/usr/bin")
    assert exe, "%s: nmh is not installed (src/deps.sh check installs it)" % prog
    env = {"PATH": "/usr/bin/mh:/usr/bin:/bin", "HOME": user.home, "USER": user.name,
           "LOGNAME": user.name}
    p = subprocess.run(["setpriv", "--reuid=%d" % user.uid, "--regid=%d" % user.gid,
                        "--init-groups", exe] + list(args), stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, env=env, timeout=60, cwd=user.home)
    assert p.returncode == 0, (prog, args, p.stderr)
    return p.stdout.decode()


def rcvstore(user, folder, data):
    """nmh's delivery into a folder (what slocal or procmail run)."""
    p = subprocess.run(["setpriv", "--reuid=%d" % user.uid, "--regid=%d" % user.gid,
                        "--init-groups", "/usr/lib/mh/rcvstore", "+" + folder], input=data,
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=60, cwd=user.home,
                       env={"PATH": "/usr/bin/mh:/usr/bin:/bin", "HOME": user.home,
                            "USER": user.name})
    assert p.returncode == 0, p.stderr


def mh_profile(user):
    with open(path(user, ".mh_profile"), "w") as f:
        f.write("Path: Mail\nUnseen-Sequence: unseen\n")
    os.chown(path(user, ".mh_profile"), user.uid, user.gid)


def test_nmh_on_the_same_folder(fresh, connect, user):
    """nmh and imapd on one folder at once: scan reads what APPEND wrote;
    mark's sequences are IMAP flags at the next NOOP; inc's delivery is a
    new message with the next UID; anno's edit in place keeps the message;
    refile moves a message out (an EXPUNGE for the session) into another
    folder imapd then serves, and the first folder keeps its UIDVALIDITY."""
    mh_profile(user)
    c = connect()
    assert c.command("CREATE #driver.mh/Mail/inbox").ok
    assert c.command("APPEND Mail/inbox (\\Seen) ", Lit(MSG1)).ok
    assert c.command("APPEND Mail/inbox ", Lit(MSG2)).ok
    out = nmh(user, "scan", "+inbox", "-format", "%(msg) %{subject}")
    assert out.split("\n")[:2] == ["1 first", "2 second"], out
    r = c.command("SELECT Mail/inbox")
    assert r.ok and r.numbered("EXISTS") == [2], r
    validity = r.codes()["UIDVALIDITY"]
    nmh(user, "mark", "+inbox", "1", "-sequence", "flagged", "-add")
    nmh(user, "mark", "+inbox", "2", "-sequence", "unseen", "-delete")
    r = c.command("NOOP")
    assert r.ok, r
    r = c.command("FETCH 1:2 FLAGS")
    f = r.fetches()
    assert set(f[1]["FLAGS"]) == {"\\Seen", "\\Flagged", "\\Recent"}, f
    assert set(f[2]["FLAGS"]) == {"\\Seen", "\\Recent"}, f
    # imapd's flags are what nmh's pick sees
    assert c.command("STORE 2 +FLAGS (\\Answered)").ok
    assert nmh(user, "mhpath", "+inbox", "replied").split() == [path(user, "Mail", "inbox", "2")]
    # a delivery by inc from an mbox file
    mbox = path(user, "drop.mbox")
    with open(mbox, "wb") as f:
        f.write(b"From carol@example.com Mon Jan  6 10:00:00 2025\n" +
                MSG2.replace(b"Subject: second", b"Subject: third").replace(b"\r\n", b"\n"))
    os.chown(mbox, user.uid, user.gid)
    nmh(user, "inc", "+inbox", "-file", mbox, "-silent")
    assert numbers(user, "Mail/inbox") == [1, 2, 3]
    r = c.command("NOOP")
    assert r.numbered("EXISTS") == [3], r
    r = c.command("FETCH 3 (UID FLAGS BODY.PEEK[HEADER.FIELDS (SUBJECT)])")
    f = r.fetches()[3]
    assert f["UID"] == "3" and "\\Seen" not in f["FLAGS"], f
    # anno edits message 2 in place: the same message, read anew
    nmh(user, "anno", "+inbox", "2", "-component", "X-Note", "-text", "seen by nmh", "-nodate")
    r = c.command("NOOP")
    assert r.ok and not r.numbered("EXPUNGE"), r
    r = c.command("FETCH 2 (UID BODY.PEEK[HEADER.FIELDS (X-NOTE)])")
    f = r.fetches()[2]
    assert f["UID"] == "2" and f["BODY[HEADER.FIELDS (X-NOTE)]"] == b"X-Note: seen by nmh\r\n\r\n"
    # refile moves 1 into +archive
    nmh(user, "folder", "-create", "+archive")
    nmh(user, "refile", "-src", "+inbox", "1", "+archive")
    r = c.command("NOOP")
    assert r.numbered("EXPUNGE") == [1], r
    r = c.command("SELECT Mail/archive")
    assert r.ok and r.numbered("EXISTS") == [1], r
    assert body_of(c.command("FETCH 1 BODY.PEEK[]")) == MSG1
    r = c.command("SELECT Mail/inbox")
    assert r.ok and r.codes()["UIDVALIDITY"] == validity and r.numbered("EXISTS") == [2], r
    # folder -pack renumbers 2 3 as 1 2: the session is told, and the next
    # SELECT gives a new, greater UIDVALIDITY with the new numbers as UIDs
    nmh(user, "folder", "+inbox", "-pack")
    assert numbers(user, "Mail/inbox") == [1, 2]
    r = c.command("NOOP")
    assert r.ok and r.numbered("EXPUNGE") == [2, 1], r
    assert any(u[0] == "NO" and "renumbered" in u for u in r.untagged), r.untagged
    r = c.command("SELECT Mail/inbox")
    assert r.ok and int(r.codes()["UIDVALIDITY"]) > int(validity), r
    r = c.command("FETCH 1:2 (UID BODY.PEEK[HEADER.FIELDS (SUBJECT)])")
    f = r.fetches()
    assert (f[1]["UID"], f[2]["UID"]) == ("1", "2"), f
    assert f[1]["BODY[HEADER.FIELDS (SUBJECT)]"] == b"Subject: second\r\n\r\n"


# ---------------------------------------------------------------- UW imap-2007f

def uw_mailutil(user, *args, rc=0):
    """Debian's uw-mailutils mailutil (UW imap-2007f) as the user: it finds
    MH folders through ~/.mh_profile, names them #mh/NAME. rc: the exit
    status it gives for success (its prune exits 1 after purging)."""
    p = subprocess.run(["setpriv", "--reuid=%d" % user.uid, "--regid=%d" % user.gid,
                        "--init-groups", "/usr/bin/mailutil"] + list(args),
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=60, cwd=user.home,
                       env={"PATH": "/usr/bin:/bin", "HOME": user.home, "USER": user.name})
    assert p.returncode == rc, (args, p.stdout, p.stderr)
    return p.stdout.decode()


def test_uw_mailutil_and_us_on_mh(fresh, connect, user):
    """UW's mailutil copies a folder we wrote out of MH with every message
    whole, and a folder it writes into MH (numbered files, no sequences)
    is served by imapd with the same messages."""
    assert os.path.exists("/usr/bin/mailutil"), "uw-mailutils is not installed (src/deps.sh)"
    mh_profile(user)
    c = connect()
    assert c.command("CREATE #driver.mh/Mail/ours").ok
    assert c.command("APPEND Mail/ours (\\Seen) ", Lit(MSG1)).ok
    assert c.command("APPEND Mail/ours ", Lit(MSG2)).ok
    uw_mailutil(user, "copy", "#mh/ours", "#driver.unix/fromours")
    # UW 2007f keeps no flags for MH (it never reads .mh_sequences): its
    # copy says none, so only the messages are compared
    assert read(path(user, "fromours")).count(b"\nStatus: \n") == 2
    r = c.command("SELECT fromours")
    assert r.ok and r.numbered("EXISTS") == [2], r
    r = c.command("FETCH 1:2 (BODY.PEEK[HEADER.FIELDS (SUBJECT)] BODY.PEEK[TEXT])")
    f = r.fetches()
    assert [f[i]["BODY[TEXT]"] for i in (1, 2)] == [b"Hello from MH.\r\n", b"Another one.\r\n"]
    # the other way: UW writes an MH folder, imapd serves it
    uw_mailutil(user, "copy", "fromours", "#mh/theirs")
    assert sorted(os.listdir(path(user, "Mail", "theirs"))) == ["1", "2"]
    r = c.command("SELECT Mail/theirs")
    assert r.ok and r.numbered("EXISTS") == [2], r
    r = c.command("FETCH 1:2 (UID BODY.PEEK[TEXT] BODY.PEEK[HEADER.FIELDS (SUBJECT)])")
    f = r.fetches()
    assert (f[1]["UID"], f[2]["UID"]) == ("1", "2")
    assert [f[i]["BODY[TEXT]"] for i in (1, 2)] == [b"Hello from MH.\r\n", b"Another one.\r\n"]
    assert f[2]["BODY[HEADER.FIELDS (SUBJECT)]"] == b"Subject: second\r\n\r\n"


def test_concurrent_append_and_rcvstore_lose_nothing(fresh, connect, user):
    """IMAP APPENDs from two sessions while nmh's rcvstore delivers into the
    same folder: every message is there once, whole, under its own
    number, and a session sees them all with increasing UIDs."""
    mh_profile(user)
    c = connect()
    assert c.command("CREATE #driver.mh/Mail/inbox").ok
    n = 25
    msg = tagged_message

    def nmh():
        for i in range(n):
            rcvstore(user, "inbox", msg("nmh", i).replace(b"\r\n", b"\n"))
    appends_beside(connect, "Mail/inbox", n, nmh)
    nums = numbers(user, "Mail/inbox")
    assert len(nums) == 3 * n, nums
    got = sorted(read(path(user, "Mail", "inbox", str(k))) for k in nums)
    want = sorted(msg(w, i).replace(b"\r\n", b"\n") for w in ("a", "b", "nmh") for i in range(n))
    assert got == want
    r = c.command("SELECT Mail/inbox")
    assert r.ok and r.numbered("EXISTS") == [3 * n], r
    uids = [int(f["UID"]) for _, f in sorted(c.command("FETCH 1:* UID").fetches().items())]
    assert uids == nums
