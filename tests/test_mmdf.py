# The MMDF driver through imapd (issue 11): UW's Ctrl-A framed files made
# by "#driver.mmdf/x" and by mail_format = mmdf, read and written with the
# mbox driver's status headers and folder record, and the same files used
# by Debian's uw-mailutils (UW imap-2007f) run as the test user, both ways.
import os
import re
import stat
import subprocess

import pytest

from helpers import mbox
from helpers.mailstore import mbox_flags
from helpers.imapclient import Lit
from test_maildir import listed
from test_mh import path, read, uw_mailutil
from test_tmail import run, tmail  # noqa: F401 (fixtures)

MARK = mbox.MMDF_MARK
MSG1 = (b"From: Alice <alice@example.com>\r\nTo: bob@example.com\r\n"
        b"Subject: first\r\n\r\nHello in MMDF.\r\nFrom the start of a line\r\n"
        b">From quoted already\r\n")
MSG2 = (b"From: Carol <carol@example.com>\r\nSubject: second\r\n\r\n"
        b"Another one.\r\n\r\n")


def own(user, p, mode=0o600):
    os.chown(p, user.uid, user.gid)
    os.chmod(p, mode)


def frames(raw):
    """The messages of MMDF bytes, pseudo message first: (From line, rest)."""
    assert raw.startswith(MARK) and raw.endswith(MARK), raw[:80]
    out = []
    for part in raw[len(MARK):-len(MARK)].split(MARK + MARK):
        first, rest = part.split(b"\n", 1)
        out.append((first, rest))
    return out


def rd_unquote(data):
    """mboxrd text read back: one '>' less before each ">+From " line."""
    return re.sub(rb"(?m)^>(>*From )", rb"\1", data)


def fetch_all(c, items="UID FLAGS INTERNALDATE RFC822.SIZE BODY.PEEK[]"):
    r = c.command("FETCH 1:* (%s)" % items)
    assert r.ok, r
    return r.fetches()


def test_driver_mmdf_mailbox(fresh, connect, user):
    """CREATE #driver.mmdf/work writes UW's frame with our folder record;
    APPEND adds framed messages (nothing quoted); SELECT, FETCH (byte for
    byte, sizes, dates), STORE, EXPUNGE, COPY and MOVE work; UIDs and
    UIDVALIDITY hold across sessions and STATUS agrees with SELECT."""
    c = connect()
    assert c.command("CREATE #driver.mmdf/work").ok
    raw = read(path(user, "work"))
    assert raw.startswith(MARK + b"From MAILER-DAEMON ") and raw.endswith(MARK)
    assert re.search(rb"\nX-IMAP: \d{10} 0000000000\n", raw), raw
    r = c.command('APPEND work (\\Seen $Work) "07-Feb-2025 09:30:00 +0000" ', Lit(MSG1))
    assert r.ok, r
    validity, uid = r.codes()["APPENDUID"].split()
    assert uid == "1"
    r = c.command("APPEND work ", Lit(MSG2))
    assert r.ok and r.codes()["APPENDUID"] == validity + " 2", r
    f = frames(read(path(user, "work")))
    assert len(f) == 3 and f[1][0].startswith(b"From ") and f[2][0].startswith(b"From ")
    # MMDF needs no From quoting: the body is stored as sent (LF ends)
    assert f[1][1].endswith(b"\n\nHello in MMDF.\nFrom the start of a line\n"
                            b">From quoted already\n"), f[1]
    assert b"X-Keywords: $Work" in f[1][1] and b"X-UID: 1\n" in f[1][1]
    r = c.command("STATUS work (MESSAGES UIDNEXT UIDVALIDITY UNSEEN)")
    assert r.named("STATUS")[0][2] == ["MESSAGES", "2", "UIDNEXT", "3", "UIDVALIDITY",
                                       validity, "UNSEEN", "1"], r
    r = c.command("SELECT work")
    assert r.ok and r.numbered("EXISTS") == [2] and r.codes()["UIDVALIDITY"] == validity, r
    got = fetch_all(c)
    assert (got[1]["UID"], got[2]["UID"]) == ("1", "2")
    assert set(got[1]["FLAGS"]) == {"\\Seen", "$Work", "\\Recent"}
    assert got[1]["INTERNALDATE"] == b"07-Feb-2025 09:30:00 +0000"
    assert got[1]["BODY[]"] == MSG1
    assert got[2]["BODY[]"] == MSG2 and got[2]["RFC822.SIZE"] == str(len(MSG2))
    assert c.command("STORE 2 +FLAGS (\\Flagged \\Answered Later)").ok
    assert c.command("CREATE #driver.mmdf/keep").ok
    r = c.command("COPY 1:2 keep")
    assert r.ok and r.codes()["COPYUID"].split()[1:] == ["1:2", "1:2"], r
    assert c.command("STORE 1 +FLAGS (\\Deleted)").ok
    r = c.command("EXPUNGE")
    assert r.ok and r.numbered("EXPUNGE") == [1], r
    f = frames(read(path(user, "work")))
    assert len(f) == 2 and b"X-UID: 2\n" in f[1][1] and b"X-Status: FA" in f[1][1], f
    assert f[1][1].endswith(b"\n\nAnother one.\n\n"), f[1]
    r = c.command("MOVE 1 keep")
    assert r.ok and r.codes()["COPYUID"].split()[1:] == ["2", "3"], r
    assert len(frames(read(path(user, "work")))) == 1
    c.command("LOGOUT")
    c2 = connect()
    r = c2.command("SELECT keep")
    assert r.ok and r.numbered("EXISTS") == [3], r
    got = fetch_all(c2)
    assert [got[i]["UID"] for i in (1, 2, 3)] == ["1", "2", "3"]
    assert [got[i]["BODY[]"] for i in (1, 2, 3)] == [MSG1, MSG2, MSG2]
    assert set(got[3]["FLAGS"]) - {"\\Recent"} == {"\\Flagged", "\\Answered", "Later"}
    r = c2.command('LIST "" *')
    assert {"work", "keep"} <= set(listed(r)), r


def test_create_delete_rename_and_a_recreated_name(fresh, connect, user):
    """RENAME keeps the file (and its UIDVALIDITY); DELETE removes it; the
    same name created again gets a strictly greater UIDVALIDITY."""
    c = connect()
    assert c.command("CREATE #driver.mmdf/old").ok
    assert c.command("APPEND old ", Lit(MSG1)).ok
    v1 = int(c.command("STATUS old (UIDVALIDITY)").named("STATUS")[0][2][1])
    assert c.command("RENAME old new").ok
    assert not os.path.exists(path(user, "old"))
    r = c.command("STATUS new (MESSAGES UIDVALIDITY)")
    assert r.named("STATUS")[0][2] == ["MESSAGES", "1", "UIDVALIDITY", str(v1)], r
    assert read(path(user, "new")).startswith(MARK)
    assert c.command("DELETE new").ok and not os.path.exists(path(user, "new"))
    assert c.command("CREATE #driver.mmdf/new").ok
    v2 = int(c.command("STATUS new (UIDVALIDITY)").named("STATUS")[0][2][1])
    assert v2 > v1


def test_mail_format_mmdf(fresh, server_with, open_to, user):
    """mail_format = mmdf: a plain CREATE makes an MMDF file."""
    c = open_to(server_with("mail_format = mmdf"), user)
    assert c.command("CREATE lists/debian").ok
    raw = read(path(user, "lists", "debian"))
    assert raw.startswith(MARK) and raw.endswith(MARK)
    assert c.command("APPEND lists/debian ", Lit(MSG2)).ok
    assert len(frames(read(path(user, "lists", "debian")))) == 2


def test_two_sessions_see_each_other(fresh, connect, user):
    """Appends, flag changes and expunges of one session reach another at
    NOOP."""
    a, b = connect(), connect()
    assert a.command("CREATE #driver.mmdf/both").ok
    assert a.command("APPEND both ", Lit(MSG1)).ok
    assert a.command("SELECT both").ok and b.command("SELECT both").ok
    assert b.command("APPEND both ", Lit(MSG2)).ok
    r = a.command("NOOP")
    assert r.numbered("EXISTS") == [2], r
    assert a.command("STORE 1 +FLAGS (\\Flagged)").ok
    r = b.command("NOOP")
    assert r.fetches()[1]["FLAGS"] == ["\\Flagged"] or \
        set(r.fetches()[1]["FLAGS"]) == {"\\Flagged"}, r
    assert b.command("STORE 2 +FLAGS (\\Deleted)").ok and b.command("EXPUNGE").ok
    r = a.command("NOOP")
    assert r.numbered("EXPUNGE") == [2], r


# ---------------------------------------------------------------- UW imap-2007f

def uw_mbox_messages(raw):
    """Entries of an mbox UW wrote, its pseudo message left out."""
    return [e for e in mbox.parse_mbox(raw) if b"FOLDER INTERNAL DATA" not in e.data]


def test_uw_reads_what_we_wrote(fresh, connect, user):
    """UW's mailutil copies our MMDF file into an mbox with every message
    byte for byte and its flags and keywords; UW's own expunge (prune)
    rewrites our file keeping our UIDs and UIDVALIDITY, which we read."""
    assert os.path.exists("/usr/bin/mailutil"), "uw-mailutils is not installed (src/deps.sh)"
    c = connect()
    assert c.command("CREATE #driver.mmdf/ours").ok
    assert c.command("APPEND ours (\\Seen \\Flagged Work) ", Lit(MSG1)).ok
    assert c.command("APPEND ours ", Lit(MSG2)).ok
    assert c.command("APPEND ours (\\Answered) ", Lit(MSG1.replace(b"first", b"third"))).ok
    validity = c.command("STATUS ours (UIDVALIDITY)").named("STATUS")[0][2][1]
    c.command("LOGOUT")
    uw_mailutil(user, "copy", "-kw", "ours", "#driver.unix/copied")
    got = uw_mbox_messages(read(path(user, "copied")))
    # UW's mbox writer quotes From lines (mboxo), as UW always has
    assert [mbox.strip_meta(e.data) for e in got] == [
        mbox.quote_from(m.replace(b"\r\n", b"\n"))
        for m in (MSG1, MSG2, MSG1.replace(b"first", b"third"))]
    assert mbox_flags(got[0].data) == {"\\Seen", "\\Flagged", "Work"}
    assert mbox_flags(got[2].data) == {"\\Answered"}
    assert uw_mailutil(user, "prune", "ours", "SUBJECT second", rc=1) == "1 message(s) purged\n"
    raw = read(path(user, "ours"))
    assert b"X-IMAP: %s " % validity.encode() in raw and raw.count(b"X-UID: ") == 2, raw
    c = connect()
    r = c.command("SELECT ours")
    assert r.ok and r.numbered("EXISTS") == [2] and r.codes()["UIDVALIDITY"] == validity, r
    got = fetch_all(c)
    assert (got[1]["UID"], got[2]["UID"]) == ("1", "3")
    assert got[1]["BODY[]"] == MSG1 and set(got[1]["FLAGS"]) == {"\\Seen", "\\Flagged", "Work"}


def test_we_read_what_uw_wrote(fresh, connect, user):
    """An MMDF file UW's mailutil made from an mbox: imapd serves its
    messages byte for byte with UW's UIDs, UIDVALIDITY, flags and the
    From lines' dates; what we then write UW reads again."""
    src = path(user, "src")
    with open(src, "wb") as f:
        f.write(b"From alice@example.com Mon Jan  6 10:00:00 2025\n"
                b"From: alice@example.com\nSubject: one\nStatus: RO\nX-Status: AF\n\n"
                b"first body\nFrom the middle\n\n"
                b"From bob@example.com Tue Jan  7 11:30:05 2025 -0500\n"
                b"From: bob@example.com\nSubject: two\n\nsecond body\n")
    own(user, src)
    uw_mailutil(user, "copy", "src", "#driver.mmdf/theirs")
    raw = read(path(user, "theirs"))
    validity = re.search(rb"\nX-IMAP: (\d+) ", raw).group(1).decode()
    assert raw.startswith(MARK) and raw.count(MARK) == 6, raw
    c = connect()
    r = c.command("SELECT theirs")
    assert r.ok and r.numbered("EXISTS") == [2] and r.codes()["UIDVALIDITY"] == validity, r
    got = fetch_all(c)
    assert (got[1]["UID"], got[2]["UID"]) == ("1", "2")
    assert set(got[1]["FLAGS"]) - {"\\Recent"} == {"\\Seen", "\\Flagged", "\\Answered"}
    assert got[2]["INTERNALDATE"] == b"07-Jan-2025 11:30:05 -0500"
    # UW keeps the separator's blank line in the text it copies
    assert got[1]["BODY[]"] == (b"From: alice@example.com\r\nSubject: one\r\n\r\n"
                                b"first body\r\nFrom the middle\r\n\r\n")
    assert got[2]["BODY[]"].startswith(b"From: bob@example.com\r\nSubject: two\r\n\r\n"
                                       b"second body\r\n")
    assert c.command("STORE 2 +FLAGS (\\Deleted)").ok and c.command("EXPUNGE").ok
    assert c.command("STORE 1 -FLAGS (\\Flagged)").ok and c.command("CLOSE").ok
    uw_mailutil(user, "copy", "-kw", "theirs", "#driver.unix/back")
    got = uw_mbox_messages(read(path(user, "back")))
    assert len(got) == 1 and mbox_flags(got[0].data) == {"\\Seen", "\\Answered"}


def test_transfer_round_trip(fresh, user):
    """Our mailutil moves an mbox into MMDF and back: the messages are the
    same bytes, with their flags and From-line dates."""
    tool = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                        "src", "mailutil")
    src = path(user, "orig")
    entries = [mbox.Entry(b"Subject: t%d\nStatus: RO\nX-Status: F\n\nbody %d\nFrom x\n" % (i, i),
                          date="Fri Feb  7 09:%02d:00 2025" % i) for i in range(3)]
    with open(src, "wb") as f:
        for e in entries:
            f.write(mbox.entry_bytes(e))
    own(user, src)

    def run(*args):
        p = subprocess.run(["setpriv", "--reuid=%d" % user.uid, "--regid=%d" % user.gid,
                            "--init-groups", tool] + list(args), stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, timeout=60, cwd=user.home,
                           env={"PATH": "/usr/bin:/bin", "HOME": user.home,
                                "USER": user.name})
        assert p.returncode == 0, (args, p.stdout, p.stderr)
    run("copy", "orig", "#driver.mmdf/mid")
    assert read(path(user, "mid")).startswith(MARK)
    run("copy", "#driver.mmdf/mid", "#driver.unix/back")
    a = mbox.real_messages(read(src))
    b = mbox.real_messages(read(path(user, "back")))
    # the MTA's ">From x" stays that text: MMDF keeps it as it is, and the
    # mbox written back quotes it once more (mboxrd), which reading undoes
    assert [f[1].split(b"\n", 6)[-1] for f in frames(read(path(user, "mid")))[1:]] == \
        [e.data.split(b"\n\n", 1)[1] for e in a]
    assert [rd_unquote(e.data) for e in b] == [e.data for e in a]
    assert [e.date for e in b] == [e.date for e in a]
    assert [mbox_flags(e.data) for e in uw_mbox_messages(read(path(user, "back")))] == \
        [{"\\Seen", "\\Flagged"}] * 3


# ---------------------------------------------------------------- hostile files

def test_planted_links_and_fifo_not_served(fresh, connect, user, other_user):
    """A symlink in place of an MMDF mailbox, to another user's MMDF file,
    is refused for SELECT, APPEND and STATUS and the file is untouched; a
    FIFO answers NO at once; a corrupt file gives NO naming it."""
    theirs = path(other_user, "private")
    with open(theirs, "wb") as f:
        f.write(MARK + b"From x Mon Jan  6 10:00:00 2025\nSubject: TOPSECRET\n\nsecret\n" + MARK)
    own(other_user, theirs, 0o644)
    before = read(theirs)
    os.symlink(theirs, path(user, "link"))
    os.lchown(path(user, "link"), user.uid, user.gid)
    os.mkfifo(path(user, "fifo"))
    own(user, path(user, "fifo"))
    with open(path(user, "bad"), "wb") as f:
        f.write(MARK + b"From x Mon Jan  6 10:00:00 2025\nSubject: a\n\nbody\n" + MARK +
                b"garbage between messages\n" + MARK + b"Subject: b\n\n" + MARK)
    own(user, path(user, "bad"))
    c = connect()
    for cmd in ("SELECT #driver.mmdf/link", "STATUS #driver.mmdf/link (MESSAGES)",
                "SELECT link"):
        r = c.command(cmd)
        assert r.status == "NO" and b"TOPSECRET" not in b"".join(r.raw), (cmd, r)
    r = c.command("APPEND #driver.mmdf/link ", Lit(MSG1))
    assert r.status == "NO", r
    assert read(theirs) == before and os.path.islink(path(user, "link"))
    r = c.command("SELECT #driver.mmdf/fifo")
    assert r.status == "NO", r
    assert stat.S_ISFIFO(os.lstat(path(user, "fifo")).st_mode)
    r = c.command("SELECT #driver.mmdf/bad")
    assert r.status == "NO" and "bad" in r.text and "MMDF" in r.text, r
    assert c.command("NOOP").ok


# ---------------------------------------------------------------- an MMDF spool

def test_mmdf_spool_inbox_takes_tmail_delivery(run, tmail, fresh, user, spool, sample,
                                               connect):
    """A spool file in MMDF stays MMDF: tmail appends its delivery in that
    frame, imapd serves it as INBOX, and UW's mailutil counts the same."""
    spool.write(user, sample[:2], frame=mbox.mmdf_entry_bytes)
    r = run(tmail, ["-f", "alice@example.org", user.name])
    assert r.returncode == 0, r.stderr
    raw = spool.read(user)
    assert raw.startswith(MARK) and raw.endswith(MARK)
    assert raw.rsplit(MARK + MARK, 1)[1].startswith(b"From alice@example.org ")
    got = [mbox.strip_meta(e.data) for e in mbox.parse_mmdf(raw)[1:]]   # after the record
    assert got[:2] == [sample[0].data, sample[1].data] and len(got) == 3
    assert got[2].startswith(b"Return-Path: <alice@example.org>\n")
    c = connect()
    r = c.command("SELECT INBOX")
    assert r.ok and r.numbered("EXISTS") == [3], r
    f = fetch_all(c, "BODY.PEEK[]")
    assert [f[i]["BODY[]"] for i in (1, 2)] == [sample[0].crlf(), sample[1].crlf()]
    c.command("LOGOUT")
    assert uw_mailutil(user, "check", "INBOX").endswith(", 3 total in INBOX\n")


def test_dotlock_keeps_uw_and_us_apart(fresh, server_with, open_to, user):
    """The lock UW and we both take on an MMDF file is its dotlock: while
    one is held, our APPEND answers NO after lock_timeout and UW's mailutil
    waits, neither writing; once it is gone both write."""
    c = open_to(server_with("lock_timeout = 2"), user)
    assert c.command("CREATE #driver.mmdf/shared").ok
    box, lock = path(user, "shared"), path(user, "shared.lock")
    src = path(user, "src")
    with open(src, "wb") as f:
        f.write(mbox.entry_bytes(mbox.Entry(b"Subject: from uw\n\nuw body\n")))
    own(user, src)
    with open(lock, "w") as f:
        f.write("%d\n" % os.getpid())   # alive: nobody may break it
    own(user, lock, 0o644)
    before = read(box)
    r = c.command("APPEND shared ", Lit(MSG1))
    assert r.status == "NO", r
    uw = subprocess.Popen(["setpriv", "--reuid=%d" % user.uid, "--regid=%d" % user.gid,
                           "--init-groups", "/usr/bin/mailutil", "append", "src", "shared"],
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=user.home,
                          env={"PATH": "/usr/bin:/bin", "HOME": user.home, "USER": user.name})
    try:
        with pytest.raises(subprocess.TimeoutExpired):
            uw.wait(timeout=3)
        assert read(box) == before
    finally:
        os.unlink(lock)
    out, err = uw.communicate(timeout=60)
    assert uw.returncode == 0, (out, err)
    assert c.command("APPEND shared ", Lit(MSG2)).ok
    r = c.command("SELECT shared")
    assert r.ok and r.numbered("EXISTS") == [2], r
    got = fetch_all(c, "BODY.PEEK[TEXT]")
    # (UW's copy of an mbox message keeps the separator's empty line)
    assert [got[i]["BODY[TEXT]"] for i in (1, 2)] == [b"uw body\r\n\r\n",
                                                      b"Another one.\r\n\r\n"]
