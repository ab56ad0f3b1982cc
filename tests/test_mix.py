# The mix driver through imapd (issue 11): UW's mix mailboxes (a directory
# of .mixmeta, .mixindex, .mixstatus and .mix<hex> data files) made by
# "#driver.mix/x" and by mail_format = mix, shared with Debian's
# uw-mailutils (UW imap-2007f's own library) in both directions.
import fcntl
import os
import re
import shutil
import subprocess
import threading
import time

from helpers.imapclient import Lit
from helpers.session import (appends_beside, idle_sees_delivery_and_flags, make_message,
                             tagged_message)
from helpers import mbox
from test_maildir import body_of, listed  # noqa: F401 (shared helpers)
from test_mailutil import contents, mailutil, mu, session  # noqa: F401
from test_mh import path, read  # noqa: F401 (shared helpers)
from test_tmail import run, tmail  # noqa: F401 (fixtures)
from test_silent_failures import tmpfs_home  # noqa: F401 (a fixture)

MSG1 = (b"From: Alice <alice@example.com>\r\nTo: bob@example.com\r\n"
        b"Subject: first\r\n\r\nHello from mix.\r\n")
MSG2 = (b"From: Carol <carol@example.com>\r\nSubject: second\r\n\r\n"
        b"Another one.\r\n")


def write_mbox(user, name, data):
    """An mbox file of the user's in their home, for UW's mailutil."""
    p = path(user, name)
    with open(p, "wb") as f:
        f.write(data)
    os.chown(p, user.uid, user.gid)


def lines(user, box, name):
    """The CRLF lines of one of the mailbox's files."""
    data = read(path(user, box, name))
    assert data.endswith(b"\r\n") or not data
    return data.decode().split("\r\n")[:-1]


def index_uids(user, box):
    return [int(ln.split(":")[1], 16) for ln in lines(user, box, ".mixindex")[1:]]


def status_of(user, box):
    """{uid: (keyword bits, system flag bits)} from .mixstatus."""
    out = {}
    for ln in lines(user, box, ".mixstatus")[1:]:
        f = ln.split(":")
        out[int(f[1], 16)] = (int(f[2], 16), int(f[3], 16))
    return out


def test_driver_mix_mailbox(fresh, connect, user):
    """CREATE #driver.mix/work makes UW's four files; APPEND writes the
    data with UW's per-message record; SELECT, FETCH, STORE, COPY,
    EXPUNGE and STATUS work on it, UIDs and UIDVALIDITY kept."""
    c = connect()
    assert c.command("CREATE #driver.mix/work").ok
    files = sorted(os.listdir(path(user, "work")))
    assert files[1:] == [".mixindex", ".mixmeta", ".mixstatus"] and len(files) == 4, files
    assert re.fullmatch(r"\.mix[0-9a-f]{8}", files[0])
    r = c.command("APPEND work (\\Seen $Work) ", Lit(MSG1))
    assert r.ok, r
    validity = r.codes()["APPENDUID"].split()[0]
    assert r.codes()["APPENDUID"] == validity + " 1"
    assert lines(user, "work", ".mixmeta")[1] == "V%08x" % int(validity)
    r = c.command('APPEND work () "01-Feb-2024 10:20:30 +0130" ', Lit(MSG2))
    assert r.ok and r.codes()["APPENDUID"] == validity + " 2", r
    data = read(path(user, "work", files[0]))
    rec1 = b":msg:00000001:"
    assert data.startswith(rec1) and MSG1 in data and MSG2 in data
    assert b":msg:00000002:20240201102030+0130:%08x:\r\n" % len(MSG2) + MSG2 in data
    meta = lines(user, "work", ".mixmeta")
    assert meta[2] == "L00000002" and meta[4] == "K$Work", meta
    assert index_uids(user, "work") == [1, 2]
    assert status_of(user, "work") == {1: (1, 0x1), 2: (0, 0)}
    r = c.command("SELECT work")
    assert r.ok and r.numbered("EXISTS") == [2] and r.numbered("RECENT") == [2], r
    assert r.codes()["UIDVALIDITY"] == validity and r.codes()["UIDNEXT"] == "3"
    # the \Recent claim is UW's "old" bit
    assert {u: f[1] & 0x10 for u, f in status_of(user, "work").items()} == {1: 0x10, 2: 0x10}
    r = c.command("FETCH 1:2 (UID FLAGS RFC822.SIZE INTERNALDATE BODY.PEEK[])")
    f = r.fetches()
    assert (f[1]["UID"], f[2]["UID"]) == ("1", "2")
    assert set(f[1]["FLAGS"]) == {"\\Seen", "$Work", "\\Recent"}
    assert body_of(r, 1) == MSG1 and body_of(r, 2) == MSG2
    assert f[2]["RFC822.SIZE"] == str(len(MSG2))
    assert f[2]["INTERNALDATE"] == b"01-Feb-2024 10:20:30 +0130"
    assert c.command("STORE 2 +FLAGS (\\Flagged \\Answered \\Deleted $Other)").ok
    st = status_of(user, "work")
    assert st[2] == (0x2, 0x10 | 0x4 | 0x8 | 0x2), st
    assert lines(user, "work", ".mixmeta")[4] == "K$Work $Other"
    assert c.command("CREATE #driver.mix/keep").ok
    r = c.command("COPY 1:2 keep")
    assert r.ok and r.codes()["COPYUID"].split()[1:] == ["1:2", "1:2"], r
    r = c.command("EXPUNGE")
    assert r.ok and r.numbered("EXPUNGE") == [2], r
    assert index_uids(user, "work") == [1] and list(status_of(user, "work")) == [1]
    assert index_uids(user, "keep") == [1, 2]
    c.command("LOGOUT")
    c2 = connect()
    r = c2.command("SELECT work")
    assert r.codes()["UIDVALIDITY"] == validity and r.numbered("RECENT") == [0]
    assert r.codes()["UIDNEXT"] == "3"
    r = c2.command("STATUS keep (MESSAGES UNSEEN UIDNEXT RECENT)")
    assert r.ok and r.named("STATUS")[0][2] == ["MESSAGES", "2", "RECENT", "2", "UIDNEXT", "3",
                                                 "UNSEEN", "1"], r
    r = c2.command("SELECT keep")
    f = c2.command("FETCH 1:2 (FLAGS BODY.PEEK[])").fetches()
    assert set(f[2]["FLAGS"]) == {"\\Flagged", "\\Answered", "\\Deleted", "$Other", "\\Recent"}
    # MOVE out of mix into an mbox file, and COPY back in from it
    assert c2.command("CREATE #driver.unix/flat").ok
    r = c2.command("UID MOVE 2 flat")
    assert r.ok and r.codes()["COPYUID"].split()[1:] == ["2", "1"], r
    assert index_uids(user, "keep") == [1]
    assert c2.command("SELECT flat").ok
    r = c2.command("COPY 1 keep")
    assert r.ok and r.codes()["COPYUID"].split()[1:] == ["1", "3"], r
    assert c2.command("SELECT keep").ok
    f = c2.command("FETCH 2 (UID FLAGS BODY.PEEK[])").fetches()
    assert f[2]["UID"] == "3" and body_of(c2.command("FETCH 2 BODY.PEEK[]"), 2) == MSG2
    assert set(f[2]["FLAGS"]) - {"\\Recent"} == {"\\Flagged", "\\Answered", "\\Deleted", "$Other"}


def test_mail_format_mix_nests_renames_deletes(fresh, server_with, open_to, user):
    """mail_format = mix: CREATE makes mix mailboxes, which may hold
    others (UW's "dual-use"); RENAME moves one with its messages and
    UIDVALIDITY; DELETE removes it, and a new one of that name gets a
    greater UIDVALIDITY."""
    srv = server_with("mail_format = mix")
    c = open_to(srv, user)
    assert c.command("CREATE lists").ok and c.command("CREATE lists/debian").ok
    assert os.path.isfile(path(user, "lists", "debian", ".mixmeta"))
    r = c.command("APPEND lists/debian ", Lit(MSG1))
    assert r.ok, r
    v1 = r.codes()["APPENDUID"].split()[0]
    got = listed(c.command('LIST "" *'))
    assert got["lists"] == {"\\HASCHILDREN"}, got
    assert got["lists/debian"] == {"\\HASNOCHILDREN"}, got
    # a \Noselect parent made on the way becomes a mailbox by CREATE
    assert c.command("CREATE old/2024").ok
    assert listed(c.command('LIST "" old'))["old"] == {"\\NOSELECT", "\\HASCHILDREN"}
    assert c.command("CREATE old").ok
    assert listed(c.command('LIST "" old'))["old"] == {"\\HASCHILDREN"}
    assert c.command("CREATE old").status == "NO"
    assert c.command("RENAME lists/debian lists/ubuntu").ok
    r = c.command("SELECT lists/ubuntu")
    assert r.ok and r.numbered("EXISTS") == [1] and r.codes()["UIDVALIDITY"] == v1, r
    assert body_of(c.command("FETCH 1 BODY.PEEK[]")) == MSG1
    assert c.command("CLOSE").ok
    assert c.command("DELETE lists/ubuntu").ok
    assert not os.path.exists(path(user, "lists", "ubuntu"))
    assert c.command("CREATE lists/ubuntu").ok
    r = c.command("STATUS lists/ubuntu (MESSAGES UIDVALIDITY)")
    st = r.named("STATUS")[0][2]
    assert st[:2] == ["MESSAGES", "0"] and int(st[3]) > int(v1), r


def test_two_sessions_see_each_other(fresh, connect, user):
    """Two sessions on one mix mailbox: each one's APPEND, STORE and
    EXPUNGE reach the other at its NOOP."""
    a, b = connect(), connect()
    assert a.command("CREATE #driver.mix/shared").ok
    assert a.command("APPEND shared ", Lit(MSG1)).ok
    assert a.command("SELECT shared").ok and b.command("SELECT shared").ok
    assert b.command("APPEND shared ", Lit(MSG2)).ok
    r = a.command("NOOP")
    assert r.numbered("EXISTS") == [2], r
    assert b.command("STORE 1 +FLAGS.SILENT (\\Flagged \\Deleted)").ok
    r = a.command("NOOP")
    f = r.fetches()
    assert set(f[1]["FLAGS"]) >= {"\\Flagged", "\\Deleted"}, r
    assert a.command("STORE 2 +FLAGS.SILENT (\\Seen)").ok
    r = b.command("EXPUNGE")
    assert r.numbered("EXPUNGE") == [1], r
    r = a.command("NOOP")
    assert r.numbered("EXPUNGE") == [1], r
    r = b.command("FETCH 1 (UID FLAGS)")
    f = r.fetches()
    assert f[1]["UID"] == "2" and "\\Seen" in f[1]["FLAGS"], r
    # RENAME and DELETE wait until no session has it open (UW's rule)
    assert b.command("CLOSE").ok
    r = b.command("RENAME shared moved")
    assert r.status == "NO" and "open" in r.text, r
    assert b.command("DELETE shared").status == "NO"
    assert a.command("CLOSE").ok
    assert b.command("RENAME shared moved").ok
    r = b.command("STATUS moved (MESSAGES UIDNEXT)")
    assert r.named("STATUS")[0][2] == ["MESSAGES", "1", "UIDNEXT", "3"], r


def test_idle_wakes_on_uw_delivery(fresh, connect, user):
    """A session idling on a mix mailbox hears of a message UW's mailutil
    appends, and of another session's flag change, at once."""
    c, other = connect(), connect()
    assert c.command("CREATE #driver.mix/box").ok
    assert c.command("SELECT box").ok
    write_mbox(user, "one.mbox", b"From x@y Mon Jan  1 00:00:00 2024\nSubject: idle\n\nhi\n")
    idle_sees_delivery_and_flags(c, other, "box",
                                 lambda: uw_mailutil(user, "append", "one.mbox", "box"))


# ---------------------------------------------------------------- UW imap-2007f

def uw_mailutil(user, *args, check=True):
    """Debian's uw-mailutils mailutil (UW imap-2007f) as the user."""
    p = subprocess.run(["setpriv", "--reuid=%d" % user.uid, "--regid=%d" % user.gid,
                        "--init-groups", "/usr/bin/mailutil"] + list(args),
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=60, cwd=user.home,
                       env={"PATH": "/usr/bin:/bin", "HOME": user.home, "USER": user.name})
    assert p.returncode == 0 or not check, (args, p.stdout, p.stderr)
    return p.stdout.decode() + p.stderr.decode()


def mbox_status(data):
    """The Status/X-Status lines UW writes, message by message (its
    pseudo-message of folder data left out)."""
    out = []
    for part in data.split(b"\nFrom ")[1:]:
        head = part.split(b"\n\n", 1)[0]
        out.append(sorted(ln for ln in head.split(b"\n")
                          if ln.startswith((b"Status:", b"X-Status:"))))
    return out


def uw_messages(data):
    """The messages of an mbox file UW wrote, without its From lines and
    the status headers it adds (pseudo-message left out), LF line ends."""
    out = []
    parts = data.split(b"\n\nFrom ")[1:]
    for i, part in enumerate(parts):
        body = part.split(b"\n", 1)[1] + (b"\n" if i < len(parts) - 1 else b"")
        head, text = body.split(b"\n\n", 1)
        keep = [ln for ln in head.split(b"\n") if not ln.startswith(
            (b"Status:", b"X-Status:", b"X-Keywords:", b"X-UID:"))]
        out.append(b"\n".join(keep) + b"\n\n" + text)
    out[-1] = out[-1][:-1]   # the file's last blank line
    return out


def test_uw_mailutil_reads_ours_while_open(fresh, connect, user):
    """UW's mailutil, while our session has the mailbox selected, appends
    to it (we see the message at NOOP, UID 3) and copies it out with our
    messages byte for byte, our flags and keywords."""
    assert os.path.exists("/usr/bin/mailutil"), "uw-mailutils is not installed (src/deps.sh)"
    c = connect()
    assert c.command("CREATE #driver.mix/ours").ok
    assert c.command("APPEND ours (\\Seen $Work) ", Lit(MSG1)).ok
    assert c.command("APPEND ours ", Lit(MSG2)).ok
    assert c.command("SELECT ours").ok
    assert c.command("STORE 2 +FLAGS (\\Flagged \\Answered)").ok
    write_mbox(user, "in.mbox",
               b"From x@y Mon Jan  1 00:00:00 2024\nSubject: from uw\n\nuw body\n")
    uw_mailutil(user, "append", "in.mbox", "ours")
    r = c.command("NOOP")
    assert r.numbered("EXISTS") == [3], r
    f = c.command("FETCH 3 (UID BODY.PEEK[])").fetches()
    assert f[3]["UID"] == "3"
    assert body_of(c.command("FETCH 3 BODY.PEEK[]"), 3) == b"Subject: from uw\r\n\r\nuw body\r\n"
    uw_mailutil(user, "copy", "ours", "#driver.unix/out")
    out = read(path(user, "out"))
    assert uw_messages(out) == [MSG1.replace(b"\r\n", b"\n"), MSG2.replace(b"\r\n", b"\n"),
                                b"Subject: from uw\n\nuw body\n"]
    st = mbox_status(out)
    assert st[0] == [b"Status: R", b"X-Status: "], st
    assert st[1] == [b"Status: ", b"X-Status: FA"], st
    assert uw_mailutil(user, "check", "ours").strip().endswith("3 total in ours")
    # the keyword bit for the destination below is set before the prune
    assert c.command("CREATE #driver.mix/dest").ok
    assert c.command("APPEND dest ($Work) ", Lit(MSG2)).ok
    uw_mailutil(user, "append", "ours", "dest")
    # UW expunges (its prune rewrites the index in place under its
    # locks); our session hears of it at NOOP and keeps serving the rest
    # (2007f's prune exits 1 even when it worked: its words tell)
    out = uw_mailutil(user, "prune", "ours", "SUBJECT second", check=False)
    assert out == "1 message(s) purged\n", out
    r = c.command("NOOP")
    assert r.numbered("EXPUNGE") == [2], r
    f = c.command("FETCH 1:* (UID)").fetches()
    assert [f[i]["UID"] for i in sorted(f)] == ["1", "3"]
    assert index_uids(user, "ours") == [1, 3]
    # our open session holds .mixmeta's shared lock: UW cannot delete it
    out = uw_mailutil(user, "delete", "ours", check=False)
    assert "Can't lock mailbox for delete" in out, out
    assert os.path.isfile(path(user, "ours", ".mixmeta"))
    # UW's append keeps only keywords its destination knows: into a mix
    # mailbox of ours that knows $Work, its copy of message 1 carries it
    assert index_uids(user, "dest") == [1, 2, 3, 4]
    assert status_of(user, "dest")[2][0] == 1, status_of(user, "dest")
    assert [k for k, _ in status_of(user, "dest").values()] == [1, 1, 0, 0]


def test_we_read_what_uw_wrote(fresh, connect, user):
    """A mix mailbox made and filled by UW's mailutil, flags and all, is
    served with UW's UIDs, flags, keywords and bytes; our STORE on it is
    what UW's mailutil then copies out."""
    write_mbox(user, "src.mbox",
               b"From a@b Mon Jan  1 00:00:00 2024\nSubject: one\nStatus: RO\n\nbody1\n\n"
               b"From c@d Tue Jan  2 00:00:00 2024\nSubject: two\nX-Status: F\n\nbody2\n")
    uw_mailutil(user, "create", "#driver.mix/theirs")
    uw_mailutil(user, "append", "src.mbox", "theirs")
    c = connect()
    r = c.command("SELECT theirs")
    assert r.ok and r.numbered("EXISTS") == [2], r
    f = c.command("FETCH 1:2 (UID FLAGS INTERNALDATE BODY.PEEK[])").fetches()
    assert (f[1]["UID"], f[2]["UID"]) == ("1", "2")
    assert set(f[1]["FLAGS"]) - {"\\Recent"} == {"\\Seen"}, f
    assert set(f[2]["FLAGS"]) - {"\\Recent"} == {"\\Flagged"}, f
    assert f[1]["INTERNALDATE"] == b"01-Jan-2024 00:00:00 +0000"
    r = c.command("FETCH 2 BODY.PEEK[]")
    assert body_of(r, 2) == b"Subject: two\r\n\r\nbody2\r\n"
    assert c.command("STORE 2 +FLAGS (\\Answered Junk)").ok
    assert c.command("LOGOUT").ok
    uw_mailutil(user, "copy", "theirs", "#driver.unix/back")
    st = mbox_status(read(path(user, "back")))
    assert st == [[b"Status: R", b"X-Status: "], [b"Status: ", b"X-Status: FA"]], st
    # a mailbox UW made and left empty (its index and status are empty
    # files): our APPEND, then UW sees the message
    uw_mailutil(user, "create", "#driver.mix/uwempty")
    assert os.path.getsize(path(user, "uwempty", ".mixindex")) == 0
    c = connect()
    r = c.command("APPEND uwempty (\\Flagged) ", Lit(MSG1))
    assert r.ok and r.codes()["APPENDUID"].split()[1] == "1", r
    assert uw_mailutil(user, "check", "uwempty").strip().endswith("1 total in uwempty")
    uw_mailutil(user, "copy", "uwempty", "#driver.unix/back2")
    out = read(path(user, "back2"))
    assert uw_messages(out) == [MSG1.replace(b"\r\n", b"\n")]
    assert mbox_status(out) == [[b"Status: ", b"X-Status: F"]]


def test_append_waits_for_uws_index_lock(fresh, connect, user):
    """While another program holds .mixindex exclusively (as UW's append
    and expunge do), our APPEND waits, and completes once it is let go."""
    c = connect()
    assert c.command("CREATE #driver.mix/locked").ok
    fd = os.open(path(user, "locked", ".mixindex"), os.O_RDWR)
    fcntl.flock(fd, fcntl.LOCK_EX)
    done = []
    t = threading.Thread(target=lambda: done.append(c.command("APPEND locked ", Lit(MSG1))))
    t.start()
    time.sleep(0.7)
    assert not done and index_uids(user, "locked") == []
    fcntl.flock(fd, fcntl.LOCK_UN)
    os.close(fd)
    t.join(10)
    assert done and done[0].ok, done
    assert index_uids(user, "locked") == [1]


def data_files(user, box):
    return sorted(n for n in os.listdir(path(user, box)) if re.fullmatch(r"\.mix[0-9a-f]{8}", n))


def test_uw_reads_after_our_burp(fresh, connect, user):
    """EXPUNGE by the only session gives the space back into a new data
    file (UW's "burp", done crash-safely); UW's mailutil then reads the
    mailbox: the messages left, byte for byte, and appends after them."""
    c = connect()
    assert c.command("CREATE #driver.mix/b").ok
    for m in (MSG1, MSG2, MSG1):
        assert c.command("APPEND b ", Lit(m)).ok
    old = data_files(user, "b")
    assert c.command("SELECT b").ok
    assert c.command("STORE 2 +FLAGS (\\Deleted)").ok
    r = c.command("EXPUNGE")
    assert r.numbered("EXPUNGE") == [2], r
    new = data_files(user, "b")
    assert len(new) == 1 and new != old, (old, new)
    size = os.path.getsize(path(user, "b", new[0]))
    assert size == 2 * (len(MSG1) + len(":msg:00000001:20240101000000+0000:00000000:\r\n"))
    assert body_of(c.command("FETCH 2 BODY.PEEK[]"), 2) == MSG1
    assert c.command("LOGOUT").ok
    uw_mailutil(user, "copy", "b", "#driver.unix/out")
    assert uw_messages(read(path(user, "out"))) == [MSG1.replace(b"\r\n", b"\n")] * 2
    uw_mailutil(user, "append", "out", "b")
    assert index_uids(user, "b") == [1, 3, 4, 5]


def test_concurrent_appends_with_uw_lose_nothing(fresh, connect, user):
    """Two IMAP sessions append while UW's mailutil appends to the same mix
    mailbox: every message is there once, whole, under its own UID, and
    UW's mailutil counts them all."""
    c = connect()
    assert c.command("CREATE #driver.mix/drop").ok
    n = 20
    msg = tagged_message

    def uw():
        for i in range(n):
            write_mbox(user, "one.mbox", b"From uw@x Mon Jan  1 00:00:00 2024\n" +
                       msg("uw", i).replace(b"\r\n", b"\n"))
            uw_mailutil(user, "append", "one.mbox", "drop")
    appends_beside(connect, "drop", n, uw)
    uids = index_uids(user, "drop")
    assert uids == list(range(1, 3 * n + 1)), uids
    assert uw_mailutil(user, "check", "drop").strip().endswith("%d total in drop" % (3 * n))
    r = c.command("SELECT drop")
    assert r.ok and r.numbered("EXISTS") == [3 * n], r
    f = c.command("FETCH 1:* BODY.PEEK[]").fetches()
    got = sorted(f[i]["BODY[]"] for i in f)
    want = sorted(msg(w, i) for w in ("a", "b", "uw") for i in range(n))
    assert got == want


def test_mix_inbox_at_home_takes_tmail_delivery(fresh, run, tmail, connect, user):
    """~/INBOX made a mix mailbox by UW's mailutil is INBOX (as UW's own
    library has it): our tmail delivers into it, imapd serves it as INBOX,
    and UW's mailutil sees the message there."""
    uw_mailutil(user, "create", "#driver.mix/INBOX")
    r = run(tmail, [user.name], b"Subject: to mix\n\nhello\n")
    assert r.returncode == 0, r.stderr
    assert index_uids(user, "INBOX") == [1]
    c = connect()
    r = c.command("SELECT INBOX")
    assert r.ok and r.numbered("EXISTS") == [1], r
    body = body_of(c.command("FETCH 1 BODY.PEEK[]"), 1)
    assert body.endswith(b"Subject: to mix\r\n\r\nhello\r\n"), body
    assert c.command("LOGOUT").ok
    assert uw_mailutil(user, "check", "INBOX").strip().endswith("1 total in INBOX")


# ---------------------------------------------------------------- hostile files

def test_planted_links_fifo_and_garbage(fresh, connect, user, other_user):
    """A link in place of a mix file, pointing at another user's file, is
    never read or written; a FIFO does not hang the session; a damaged
    index gives NO naming the mailbox."""
    c = connect()
    assert c.command("CREATE #driver.mix/box").ok
    assert c.command("APPEND box ", Lit(MSG1)).ok
    secret = path(other_user, "secret")
    with open(secret, "wb") as f:
        f.write(b"S00000001\r\n:00000001:00000000:0001:00000001:\r\n")
    os.chown(secret, other_user.uid, other_user.gid)
    os.chmod(secret, 0o666)
    before = read(secret)
    st = path(user, "box", ".mixstatus")
    os.rename(st, st + ".real")
    os.symlink(secret, st)
    r = c.command("SELECT box")
    assert r.status == "NO" and "box" in r.text, r
    r = c.command("APPEND box ", Lit(MSG2))
    assert r.status == "NO", r
    assert read(secret) == before
    os.unlink(st)
    os.mkfifo(st)
    os.chown(st, user.uid, user.gid)
    r = c.command("SELECT box")
    assert r.status == "NO" and "box" in r.text, r
    os.unlink(st)
    os.rename(st + ".real", st)
    ix = path(user, "box", ".mixindex")
    good = read(ix)
    with open(ix, "wb") as f:
        f.write(good[:11] + b":zzzz:garbage\r\n")
    r = c.command("SELECT box")
    assert r.status == "NO" and "box" in r.text and ".mixindex" in r.text, r
    with open(ix, "wb") as f:
        f.write(good)
    r = c.command("SELECT box")
    assert r.ok and r.numbered("EXISTS") == [1], r
    # the mailbox directory itself a link to another user's mix mailbox,
    # every file of it open to all: never read nor written
    assert c.command("CLOSE").ok
    theirs = path(other_user, "box")
    shutil.copytree(path(user, "box"), theirs)
    for n in os.listdir(theirs) + [""]:
        os.chown(os.path.join(theirs, n), other_user.uid, other_user.gid)
        os.chmod(os.path.join(theirs, n), 0o777 if n == "" else 0o666)
    os.chmod(other_user.home, 0o755)
    was = {n: read(os.path.join(theirs, n)) for n in os.listdir(theirs)}
    os.symlink(theirs, path(user, "alias"))
    r = c.command("SELECT #driver.mix/alias")
    assert r.status == "NO", r
    r = c.command("APPEND #driver.mix/alias ", Lit(MSG2))
    assert r.status == "NO", r
    r = c.command("STATUS #driver.mix/alias (MESSAGES)")
    assert r.status == "NO", r
    assert {n: read(os.path.join(theirs, n)) for n in os.listdir(theirs)} == was


def test_full_disk_answers_no_and_loses_nothing(fresh, tmpfs_home, connect, user):
    """A mix mailbox on a full file system: APPEND answers NO and every
    file is as it was; EXPUNGE still works (the space it would give back
    by a burp waits: that needs a new file) and the rest is whole; after
    space is freed the same APPEND works."""
    c = connect()
    assert c.command("CREATE #driver.mix/box").ok
    for m in (MSG1, MSG2, MSG1):
        assert c.command("APPEND box (\\Flagged) ", Lit(m)).ok
    names = sorted(os.listdir(path(user, "box")))
    before = {n: read(path(user, "box", n)) for n in names}
    tmpfs_home.fill()
    big = MSG1 + b"x" * 8192 + b"\r\n"
    r = c.command("APPEND box ", Lit(big))
    assert r.status == "NO", r
    assert sorted(os.listdir(path(user, "box"))) == names
    assert {n: read(path(user, "box", n)) for n in names} == before
    assert c.command("SELECT box").ok
    assert c.command("STORE 2 +FLAGS (\\Deleted)").ok
    r = c.command("EXPUNGE")
    assert r.ok and r.numbered("EXPUNGE") == [2], r
    assert sorted(os.listdir(path(user, "box"))) == names
    r = c.command("FETCH 1:2 (UID BODY.PEEK[])")
    assert [r.fetches()[i]["UID"] for i in (1, 2)] == ["1", "3"]
    assert body_of(r, 1) == MSG1 and body_of(r, 2) == MSG1
    tmpfs_home.free()
    r = c.command("APPEND box ", Lit(big))
    assert r.ok, r
    assert index_uids(user, "box") == [1, 3, 4]


# ---------------------------------------------------------------- mailutil

def test_transfer_10000_mbox_into_mix_and_back(mu, imapd_as, user):
    """The issue's demonstration, run once (not per store): mailutil
    transfer of a 10,000-message mbox, flags and keywords set, into mix
    and back into mbox: every message byte for byte, with its flags,
    keywords and internal date, and the UIDs 1..10000 in the index."""
    big = [make_message(i, 600 + (i * 37) % 3000, tag="bulk") for i in range(10000)]
    assert mu("create", "old/big").returncode == 0
    with open(path(user, "old", "big"), "ab") as f:
        for m in big:
            f.write(mbox.entry_bytes(m))
    out = session(imapd_as, user, 'SELECT "old/big"', "STORE 1:500 +FLAGS (\\Seen)",
                  "STORE 250:300 +FLAGS (\\Flagged $Work)")
    assert out.count(b" OK ") >= 3, out[-300:]
    want = contents(imapd_as, user, "old/big")
    assert len(want) == 10000
    r = mu("transfer", "old/", "#driver.mix/new/")
    assert r.returncode == 0, r.stderr[-500:]
    assert os.path.isfile(path(user, "new", "big", ".mixmeta"))
    assert index_uids(user, "new/big") == list(range(1, 10001))
    assert contents(imapd_as, user, "new/big") == want
    r = mu("transfer", "new/", "#driver.unix/back/")
    assert r.returncode == 0, r.stderr[-500:]
    assert contents(imapd_as, user, "back/big") == want
