# The mbx driver through imapd (issue 11): mailboxes made by "#driver.mbx/x"
# and by mail_format = mbx, in UW's mbx file format byte for byte, shared
# with UW imap-2007f's own mailutil (Debian's uw-mailutils) on the same file
# at the same time: its appends and expunges reach our open sessions, and
# each side reads what the other wrote with the same flags and keywords.
import os
import re
import subprocess

from helpers import mailstore
from helpers.imapclient import Lit
from helpers.session import appends_beside, idle_sees_delivery_and_flags, tagged_message
from test_maildir import body_of  # noqa: F401 (a shared helper)
from test_mh import path, read
from test_mailutil import contents, flag_some, mailutil, mu, session  # noqa: F401 (fixtures)
from test_silent_failures import tmpfs_home  # noqa: F401 (a fixture)

MSG1 = (b"From: Alice <alice@example.com>\r\nTo: bob@example.com\r\n"
        b"Subject: first\r\n\r\nHello from mbx.\r\n")
MSG2 = (b"From: Carol <carol@example.com>\r\nSubject: second\r\n\r\n"
        b"Another one.\r\n")
HDRSIZE = mailstore.MBX_HDRSIZE


def records(data):
    """(date, keyword bits, system flags, uid, text) of each message line of
    an mbx file, as UW lays them out."""
    return [(date, kw, sys, uid, data[at:at + size])
            for date, size, kw, sys, uid, at in mailstore.mbx_records(data)]


def header(data):
    """(uidvalidity, last uid, keyword names) of an mbx file."""
    assert data[:7] == b"*mbx*\r\n"
    names = data[25:HDRSIZE - 10].split(b"\r\n")
    names = names[:names.index(b"")] if b"" in names else names
    return int(data[7:15], 16), int(data[15:23], 16), [n.decode() for n in names]


def uw_mailutil(user, *args, check=True):
    """Debian's uw-mailutils mailutil (UW imap-2007f) as the user."""
    p = subprocess.run(["setpriv", "--reuid=%d" % user.uid, "--regid=%d" % user.gid,
                        "--init-groups", "/usr/bin/mailutil"] + list(args),
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=60, cwd=user.home,
                       env={"PATH": "/usr/bin:/bin", "HOME": user.home, "USER": user.name})
    if check:
        assert p.returncode == 0, (args, p.stdout, p.stderr)
    return p


def write_as(user, name, data):
    p = path(user, name)
    with open(p, "wb") as f:
        f.write(data)
    os.chown(p, user.uid, user.gid)
    return p


def test_driver_mbx_mailbox(fresh, connect, user):
    """CREATE #driver.mbx/work makes UW's 2048-byte header; APPEND writes a
    message line with its flags, keyword bits and UID before the text;
    SELECT, FETCH, STORE (written in place), COPY and EXPUNGE work, and the
    UIDs and UIDVALIDITY hold in the next session and in STATUS."""
    c = connect()
    assert c.command("CREATE #driver.mbx/work").ok
    data = read(path(user, "work"))
    assert len(data) == HDRSIZE and header(data)[1:] == (0, [])
    r = c.command("APPEND work (\\Seen $Work) \"06-Dec-2026 18:00:00 +0100\" ", Lit(MSG1))
    assert r.ok, r
    validity = r.codes()["APPENDUID"].split()[0]
    assert r.codes()["APPENDUID"] == validity + " 1"
    assert c.command("APPEND work ", Lit(MSG2)).ok
    data = read(path(user, "work"))
    assert header(data) == (int(validity), 2, ["$Work"])
    recs = records(data)
    assert recs[0] == (b" 6-Dec-2026 18:00:00 +0100", 1, 0x1, 1, MSG1)
    assert recs[1][1:] == (0, 0, 2, MSG2)
    r = c.command("SELECT work")
    assert r.ok and r.numbered("EXISTS") == [2] and r.numbered("RECENT") == [2], r
    assert r.codes()["UIDVALIDITY"] == validity and r.codes()["UIDNEXT"] == "3"
    r = c.command("FETCH 1:2 (UID FLAGS RFC822.SIZE INTERNALDATE BODY.PEEK[])")
    f = r.fetches()
    assert (f[1]["UID"], f[2]["UID"]) == ("1", "2")
    assert set(f[1]["FLAGS"]) == {"\\Seen", "$Work", "\\Recent"}
    assert f[1]["INTERNALDATE"] == b"06-Dec-2026 18:00:00 +0100"
    assert body_of(r, 1) == MSG1 and body_of(r, 2) == MSG2
    assert f[2]["RFC822.SIZE"] == str(len(MSG2))
    size = len(read(path(user, "work")))
    assert c.command("STORE 2 +FLAGS (\\Flagged \\Answered \\Deleted NewKw)").ok
    data = read(path(user, "work"))
    assert len(data) == size and header(data)[2] == ["$Work", "NewKw"]
    assert records(data)[1][1:4] == (0x2, 0x4 | 0x8 | 0x2 | 0x10, 2)
    assert c.command("CREATE #driver.mbx/keep").ok
    r = c.command("COPY 1:2 keep")
    assert r.ok and r.codes()["COPYUID"].split()[1:] == ["1:2", "1:2"], r
    r = c.command("EXPUNGE")
    assert r.ok and r.numbered("EXPUNGE") == [2], r
    assert [x[3] for x in records(read(path(user, "work")))] == [1]
    keep = records(read(path(user, "keep")))
    assert [x[4] for x in keep] == [MSG1, MSG2] and keep[1][2] & 0xf == 0xe
    c.command("LOGOUT")
    c2 = connect()
    r = c2.command("SELECT work")
    assert r.codes()["UIDVALIDITY"] == validity and r.numbered("RECENT") == [0]
    assert r.codes()["UIDNEXT"] == "3"
    r = c2.command("STATUS keep (MESSAGES UNSEEN UIDNEXT UIDVALIDITY)")
    st = r.named("STATUS")[0][2]
    assert st[:6] == ["MESSAGES", "2", "UIDNEXT", "3", "UIDVALIDITY", st[5]], r
    assert st[6:] == ["UNSEEN", "1"]
    r = c2.command("SELECT keep")
    assert r.codes()["UIDVALIDITY"] == st[5]


def test_mail_format_mbx(fresh, server_with, open_to, user):
    """mail_format = mbx: CREATE makes mbx files; LIST shows them; DELETE
    and CREATE again give a strictly greater UIDVALIDITY; RENAME keeps
    the messages."""
    srv = server_with("mail_format = mbx")
    c = open_to(srv, user)
    assert c.command("CREATE lists/debian").ok
    assert read(path(user, "lists/debian"))[:7] == b"*mbx*\r\n"
    assert c.command("APPEND lists/debian ", Lit(MSG1)).ok
    r = c.command('LIST "" lists/*')
    assert r.ok and [x for x in r.raw if x.endswith(b" lists/debian")], r
    v1 = int(c.command("SELECT lists/debian").codes()["UIDVALIDITY"])
    assert c.command("CLOSE").ok
    assert c.command("RENAME lists/debian lists/old").ok
    r = c.command("SELECT lists/old")
    assert r.ok and r.numbered("EXISTS") == [1] and int(r.codes()["UIDVALIDITY"]) == v1
    assert c.command("CLOSE").ok and c.command("DELETE lists/old").ok
    assert c.command("CREATE lists/old").ok
    v2 = int(c.command("SELECT lists/old").codes()["UIDVALIDITY"])
    assert v2 > v1


def test_two_sessions_share_flags_appends_expunges(fresh, connect, user):
    """Two sessions on one mbx file: a STORE, an APPEND and an EXPUNGE of
    one are seen by the other at its NOOP; while both have it open the
    expunged message only gets its expunged bit, and its space goes when
    the last other session has left."""
    a, b = connect(), connect()
    assert a.command("CREATE #driver.mbx/box").ok
    for m in (MSG1, MSG2):
        assert a.command("APPEND box ", Lit(m)).ok
    assert a.command("SELECT box").ok and b.command("SELECT box").ok
    assert a.command("STORE 1 +FLAGS.SILENT (\\Flagged)").ok
    r = b.command("NOOP")
    assert r.ok and r.raw[0].startswith(b"* 1 FETCH (") and b"\\Flagged" in r.raw[0], r
    assert a.command("APPEND box ", Lit(MSG1)).ok
    r = b.command("NOOP")
    assert r.numbered("EXISTS") == [3], r
    assert a.command("STORE 2 +FLAGS.SILENT (\\Deleted)").ok
    assert a.command("EXPUNGE").numbered("EXPUNGE") == [2]
    recs = records(read(path(user, "box")))
    assert len(recs) == 3 and recs[1][2] & 0x8000, recs
    r = b.command("NOOP")
    assert r.numbered("EXPUNGE") == [2], r
    r = b.command("FETCH 1:* (UID BODY.PEEK[])")
    assert [r.fetches()[i]["UID"] for i in (1, 2)] == ["1", "3"]
    b.command("LOGOUT")
    assert a.command("CHECK").ok
    recs = records(read(path(user, "box")))
    assert [(x[3], x[4]) for x in recs] == [(1, MSG1), (3, MSG1)]


def test_idle_wakes_on_uw_append(fresh, connect, user):
    """IDLE on an mbx file: UW's mailutil appending to it reaches the idling
    client at once, and so does another session's STORE."""
    c, other = connect(), connect()
    assert c.command("CREATE #driver.mbx/box").ok
    write_as(user, "src", b"From a@b Sun Dec  6 18:00:00 2026\n" +
             MSG1.replace(b"\r\n", b"\n"))
    assert c.command("SELECT box").ok
    idle_sees_delivery_and_flags(c, other, "box",
                                 lambda: uw_mailutil(user, "append", "src", "box"))


def test_uw_mailutil_reads_ours_with_flags_and_keywords(fresh, connect, user):
    """UW's mailutil copies our mbx file into an mbox: every message byte
    for byte, its flags in Status/X-Status, its keywords by name."""
    c = connect()
    assert c.command("CREATE #driver.mbx/ours").ok
    assert c.command("APPEND ours (\\Seen \\Flagged Work) ", Lit(MSG1)).ok
    assert c.command("APPEND ours (\\Answered \\Deleted Home Work) ", Lit(MSG2)).ok
    uw_mailutil(user, "copy", "-kw", "ours", "#driver.unix/theirs")
    out = read(path(user, "theirs"))
    msgs = re.split(rb"\nFrom \S+ [^\n]*\n", b"\n" + out)[2:]
    assert len(msgs) == 2, out
    h1, b1 = msgs[0].split(b"\n\n", 1)
    assert b"Status: R" in h1 and b"X-Status: F" in h1 and b"X-Keywords: Work" in h1
    assert b1.startswith(b"Hello from mbx.\n")
    h2, b2 = msgs[1].split(b"\n\n", 1)
    assert b"X-Status: DA" in h2 and b"X-Keywords: Work Home" in h2, h2  # in slot order
    # and the check UW's own driver makes of the file
    p = uw_mailutil(user, "check", "ours")
    assert b"2 total in ours" in p.stdout + p.stderr, p


def test_we_read_what_uw_wrote(fresh, connect, user):
    """An mbx file UW's mailutil wrote (messages without UIDs, as its copy
    leaves them) is served with its flags; the first read-write session
    gives the UIDs in the file, which UW's next open keeps."""
    write_as(user, "src", b"From a@b Sun Dec  6 18:00:00 2026\nStatus: RO\n"
             b"X-Status: F\n" + MSG1.replace(b"\r\n", b"\n") +
             b"\nFrom c@d Sun Dec  6 18:01:00 2026\n" + MSG2.replace(b"\r\n", b"\n"))
    uw_mailutil(user, "copy", "src", "#driver.mbx/uw")
    data = read(path(user, "uw"))
    assert [x[3] for x in records(data)] == [0, 0]
    c = connect()
    r = c.command("STATUS uw (MESSAGES UIDNEXT UIDVALIDITY UNSEEN)")
    st = r.named("STATUS")[0][2]
    assert st == ["MESSAGES", "2", "UIDNEXT", "3", "UIDVALIDITY", str(header(data)[0]),
                  "UNSEEN", "1"], r
    r = c.command("SELECT uw")
    assert r.ok and r.numbered("EXISTS") == [2] and r.codes()["UIDVALIDITY"] == st[5]
    r = c.command("FETCH 1:2 (UID FLAGS INTERNALDATE BODY.PEEK[])")
    f = r.fetches()
    assert (f[1]["UID"], f[2]["UID"]) == ("1", "2")
    assert set(f[1]["FLAGS"]) == {"\\Seen", "\\Flagged", "\\Recent"}
    assert f[2]["INTERNALDATE"] == b"06-Dec-2026 18:01:00 +0000"
    assert body_of(r, 1) == MSG1 and body_of(r, 2) == MSG2
    c.command("LOGOUT")
    recs = records(read(path(user, "uw")))
    assert [x[3] for x in recs] == [1, 2] and all(x[2] & 0x10 for x in recs)
    p = uw_mailutil(user, "check", "uw")
    assert b"0 new message(s)" in p.stdout + p.stderr, p
    assert [x[3] for x in records(read(path(user, "uw")))] == [1, 2]


def test_uw_expunge_while_we_have_it_open(fresh, connect, user):
    """UW's mailutil prune on the file our session holds cannot take it
    alone, so it marks the message expunged in place; our NOOP reports the
    EXPUNGE and the other message keeps its UID."""
    c = connect()
    assert c.command("CREATE #driver.mbx/box").ok
    assert c.command("APPEND box ", Lit(MSG1)).ok
    assert c.command("APPEND box ", Lit(MSG2)).ok
    assert c.command("SELECT box").ok
    # (its exit code is 1 even when it purged: the output says what it did)
    p = uw_mailutil(user, "prune", "box", "SUBJECT second", check=False)
    assert b"1 message(s) purged" in p.stdout, p
    recs = records(read(path(user, "box")))
    assert len(recs) == 2 and recs[1][2] & 0x8000, recs
    r = c.command("NOOP")
    assert r.numbered("EXPUNGE") == [2], r
    r = c.command("FETCH 1 (UID BODY.PEEK[])")
    assert r.fetches()[1]["UID"] == "1" and body_of(r) == MSG1
    c.command("LOGOUT")
    p = uw_mailutil(user, "check", "box")
    assert b"1 total" in p.stdout + p.stderr, p


def test_planted_link_to_another_users_file(fresh, connect, user, other_user):
    """A symlink in the user's home to another user's mbx file is never
    read, appended to or emptied, under any name."""
    other = write_as(other_user, "secret", b"")
    ours = path(user, "ours")
    c = connect()
    assert c.command("CREATE #driver.mbx/ours").ok
    assert c.command("APPEND ours ", Lit(MSG1)).ok
    with open(ours, "rb") as f:
        good = f.read()
    write_as(other_user, "secret", good)
    before = read(other)
    os.symlink(other, path(user, "evil"))
    r = c.command("SELECT evil")
    assert r.status == "NO" and "link" in str(r.text), r
    r = c.command("SELECT #driver.mbx/evil")
    assert r.status == "NO", r
    r = c.command("APPEND #driver.mbx/evil ", Lit(MSG2))
    assert r.status == "NO", r
    assert c.command("DELETE evil").status == "NO"
    assert read(other) == before and os.path.islink(path(user, "evil"))
    # a link where the EXPUNGE's rewrite puts its new file: removed, not
    # followed; the other user's file keeps its bytes
    os.symlink(other, path(user, ".ours.mbxtmp"))
    assert c.command("SELECT ours").ok
    assert c.command("STORE 1 +FLAGS.SILENT (\\Deleted)").ok
    assert c.command("EXPUNGE").numbered("EXPUNGE") == [1]
    assert records(read(ours)) == [] and read(other) == before
    assert not os.path.lexists(path(user, ".ours.mbxtmp"))
    # a FIFO under a mailbox name answers NO at once
    os.mkfifo(path(user, "fifo"))
    os.chown(path(user, "fifo"), user.uid, user.gid)
    assert c.command("SELECT #driver.mbx/fifo").status == "NO"
    assert c.command("STATUS fifo (MESSAGES)").status == "NO"


def test_hostile_contents_answer_no(fresh, connect, user):
    """A file with the mbx header but a damaged message line: SELECT and
    STATUS answer NO naming the mailbox; the session goes on."""
    write_as(user, "bad", b"*mbx*\r\n6b15af7b00000001\r\n" + b"\r\n" * 30 +
             b"\0" * (HDRSIZE - 25 - 60) + b" 6-Dec-2026 18:00:00 +0000,99999999999;"
             b"000000000000-00000001\r\nshort")
    # a cut-short tail alone is an unfinished append: make it a bad line
    data = bytearray(read(path(user, "bad")))
    data[HDRSIZE + 3] = ord("x")
    write_as(user, "bad", bytes(data))
    c = connect()
    r = c.command("SELECT bad")
    assert r.status == "NO" and "bad" in str(r.text) and "damaged" in str(r.text), r
    r = c.command("STATUS bad (MESSAGES)")
    assert r.status == "NO" and "bad" in str(r.text), r
    assert c.command("NOOP").ok


def test_full_disk_append_answers_no_and_leaves_file(fresh, tmpfs_home, connect, user):
    """An mbx file on a full file system: APPEND answers NO and the file
    has the same messages; after space is freed the APPEND works."""
    c = connect()
    assert c.command("CREATE #driver.mbx/box").ok
    assert c.command("APPEND box (\\Flagged) ", Lit(MSG1)).ok
    before = records(read(path(user, "box")))
    tmpfs_home.fill()
    big = MSG1 + b"x" * 8192 + b"\r\n"
    r = c.command("APPEND box ", Lit(big))
    assert r.status == "NO", r
    assert records(read(path(user, "box"))) == before
    # an EXPUNGE cannot write the new file: the message is marked expunged
    # in place (it is gone), its space stays until a later CHECK
    assert c.command("SELECT box").ok
    assert c.command("STORE 1 +FLAGS.SILENT (\\Deleted)").ok
    r = c.command("EXPUNGE")
    assert r.ok and r.numbered("EXPUNGE") == [1], r
    recs = records(read(path(user, "box")))
    assert len(recs) == 1 and recs[0][2] & 0x8000 and recs[0][4] == MSG1
    tmpfs_home.free()
    assert c.command("CHECK").ok
    assert records(read(path(user, "box"))) == []
    r = c.command("APPEND box ", Lit(big))
    assert r.ok, r
    recs = records(read(path(user, "box")))
    assert [x[4] for x in recs] == [big]


def test_mailutil_transfer_mbox_mbx_mbox(mu, imapd_as, spool, user, sample):
    """mailutil transfer of an mbox home into mbx files and back into mbox:
    every message byte for byte, with its flags, keywords and date."""
    spool.write(user, sample)
    flag_some(imapd_as, user, "INBOX")
    assert mu("copy", "INBOX", "lists/one").returncode == 0
    want = {n: contents(imapd_as, user, n) for n in ("INBOX", "lists/one")}
    r = mu("transfer", "", "#driver.mbx/x/")
    assert r.returncode == 0, r.stderr[-500:]
    assert read(path(user, "x/INBOX"))[:7] == b"*mbx*\r\n"
    for n in want:
        assert contents(imapd_as, user, "#driver.mbx/x/" + n) == want[n], n
    r = mu("transfer", "#driver.mbx/x/", "#driver.unix/back/")
    assert r.returncode == 0, r.stderr[-500:]
    for n in want:
        assert contents(imapd_as, user, "back/" + n) == want[n], n


def test_move_in_and_out(fresh, connect, user):
    """MOVE from an mbox folder into an mbx file and back out: COPYUID with
    the mbx UIDs, the message byte for byte with its flags."""
    c = connect()
    assert c.command("CREATE #driver.unix/plain").ok
    assert c.command("CREATE #driver.mbx/box").ok
    assert c.command("APPEND plain (\\Flagged) ", Lit(MSG1)).ok
    assert c.command("SELECT plain").ok
    r = c.command("MOVE 1 box")
    assert r.ok and r.codes()["COPYUID"].split()[2] == "1", r
    assert [(x[2] & 0xf, x[4]) for x in records(read(path(user, "box")))] == [(0x4, MSG1)]
    assert c.command("SELECT box").ok
    r = c.command("UID MOVE 1 plain")
    assert r.ok and r.numbered("EXPUNGE") == [1], r
    assert c.command("CHECK").ok
    assert records(read(path(user, "box"))) == []
    r = c.command("SELECT plain")
    r = c.command("FETCH 1 (FLAGS BODY.PEEK[])")
    assert "\\Flagged" in r.fetches()[1]["FLAGS"] and body_of(r) == MSG1


def test_concurrent_appends_with_uw_lose_nothing(fresh, connect, user):
    """IMAP APPENDs from two sessions, one of them with the file selected
    and storing flags, while UW's mailutil appends to the same file: each
    waits for the other's lock, every message is there once and whole, and
    the UIDs rise through the file."""
    c = connect()
    assert c.command("CREATE #driver.mbx/box").ok
    n = 20
    msg = tagged_message
    write_as(user, "src", b"".join(b"From uw@b Sun Dec  6 18:00:00 2026\n" +
                                   msg("uw", i).replace(b"\r\n", b"\n") + b"\n"
                                   for i in range(n)))

    def uw():
        for _ in range(3):
            uw_mailutil(user, "append", "src", "box")
    appends_beside(connect, "box", n, uw, selected=True)
    recs = records(read(path(user, "box")))
    texts = sorted(x[4] for x in recs)
    want = sorted([msg(w, i) for w in ("a", "b") for i in range(n)] +
                  [msg("uw", i) for i in range(n)] * 3)
    assert texts == want
    r = c.command("SELECT box")
    assert r.ok and r.numbered("EXISTS") == [5 * n], r
    uids = [int(f["UID"]) for _, f in sorted(c.command("FETCH 1:* UID").fetches().items())]
    assert uids == sorted(set(uids)) and len(uids) == 5 * n
    assert [x[3] for x in records(read(path(user, "box")))] == uids


def test_inbox_as_mbx_file(fresh, server_with, open_to, user):
    """inbox = ~/INBOX with mail_format = mbx (UW's mbx INBOX): the first
    SELECT makes the file, APPEND and STATUS work on it, and UW's mailutil
    reads it."""
    srv = server_with("inbox = ~/INBOX\nmail_format = mbx")
    c = open_to(srv, user)
    r = c.command("SELECT INBOX")
    assert r.ok and r.numbered("EXISTS") == [0], r
    assert read(path(user, "INBOX"))[:7] == b"*mbx*\r\n"
    r = c.command("APPEND INBOX (\\Seen) ", Lit(MSG1))
    assert r.ok and r.numbered("EXISTS") + c.command("NOOP").numbered("EXISTS") == [1], r
    r = c.command("STATUS INBOX (MESSAGES UNSEEN)")
    assert r.named("STATUS")[0][2] == ["MESSAGES", "1", "UNSEEN", "0"], r
    c.command("LOGOUT")
    uw_mailutil(user, "copy", "INBOX", "#driver.unix/copy")   # UW's mbx INBOX: ~/INBOX
    assert b"Hello from mbx." in read(path(user, "copy"))
