# What a sender writes can never hide, forge or split mail (issue 10,
# defects 7 and 13). Lines other mbox readers take for separators are
# quoted on every write and read back exactly; a delivered message with the
# folder-data header is mail like any other; Status, X-Status, X-Keywords
# and X-UID from a sender count for nothing; the state the server wrote
# itself (also a previous version's) is still read.
import mailbox
import os
import re
import shutil
import subprocess

import pytest

from helpers import mbox
from helpers.imapclient import Lit
from test_clients import run_in_pty

# The last version before folder records carried a MAC (the upgrade test
# builds it from this repository's history).
PREVIOUS_VERSION = "ac6ce2d79d23ad7d48fd82523ef7a3063013b5aa"
REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PSEUDO_SUBJECT = b"DON'T DELETE THIS MESSAGE -- FOLDER INTERNAL DATA"

# Lines that one mbox reader or another takes for the start of a message
# (the list), and mboxrd's quoted forms.
FROM_LINES = [
    b"From evil@x Thu Jan  2 10:00:00 2025!",
    b"From evil@x Thu Jan 99 10:00:00 2025",
    b"From evil@x\tThu Jan  2 10:00:00 2025",
    b"From evil@x Thu Jan  2 10:00:00 1",
    b"From evil@x Thu Jan  2 99:99:00 2025",
    b"From evil@x Thu Jan  2 10:00:00 2025\r\r",
    b"From evil@x Thu Jan  2 10:00:00 2025",
    b"From nobody",
    b"From x",
    b">From y",
    b">>From z",
]


def tricky_message():
    body = b"".join(b"\r\n" + line + b"\r\n" for line in FROM_LINES)
    return (b"From: a@example.org\r\nSubject: separators\r\n\r\nstart\r\n" + body +
            b"\r\nend\r\n")


def append(c, data, box="INBOX"):
    r = c.command("APPEND %s " % box, Lit(data))
    assert r.ok, r
    return r


def select(c, box="INBOX"):
    r = c.command("SELECT %s" % box)
    assert r.ok, r
    return r


def exists(r):
    return r.numbered("EXISTS")[-1]


def body_of(c, seq):
    r = c.command("FETCH %d BODY.PEEK[]" % seq)
    assert r.ok, r
    return r.fetches()[seq]["BODY[]"]


def flags_uids(c):
    r = c.command("FETCH 1:* (UID FLAGS)")
    assert r.ok, r
    return {s: (int(v["UID"]), {f.upper() for f in v["FLAGS"]})
            for s, v in r.fetches().items()}


def mutt_count(path, tmp_path):
    """How many messages mutt shows in the mbox file (read-only, its own
    parser, status line "Msgs:N")."""
    home = tmp_path / "mutt-home"
    (home / "Mail").mkdir(parents=True, exist_ok=True)
    shutil.copyfile(path, home / "m")
    env = dict(os.environ, TERM="vt100", HOME=str(home))
    status, screen = run_in_pty(["mutt", "-n", "-F", "/dev/null", "-R", "-f", "m",
                                 "-e", "set status_format='Msgs:%m'", "-e", "push <quit>"],
                                env, str(home), timeout=60)
    counts = re.findall(rb"Msgs:(\d+)", screen)
    assert status == 0 and counts, screen[-500:]
    return int(counts[-1])


def file_counts(path, tmp_path):
    """Messages in the file for Python's mailbox, for mutt, and for the
    plainest rule ("From " at a line start, as grep -c counts)."""
    py = len(mailbox.mbox(path, create=False))
    grep = subprocess.run(["grep", "-c", "^From ", path], stdout=subprocess.PIPE,
                          check=False).stdout.decode().strip()
    return py, mutt_count(path, tmp_path), int(grep)


def has_pseudo(path):
    with open(path, "rb") as f:
        head = f.read(4096)
    return PSEUDO_SUBJECT in head.split(b"\n\n", 1)[0]


def assert_file_agrees(path, n_server, tmp_path):
    """Every reader finds what the server says, plus our folder record."""
    extra = 1 if has_pseudo(path) else 0
    assert file_counts(path, tmp_path) == (n_server + extra,) * 3


# ---------------------------------------------------------------- defect 7

def test_from_lines_never_split_a_message(fresh, user, spool, connect, tmp_path):
    """The issue's separator-like lines, APPENDed: every reader counts the
    same messages as the server, FETCH returns the bytes APPENDed, also
    after a rewrite and in a new session."""
    msg = tricky_message()
    plain = b"From: b@example.org\r\nSubject: plain\r\n\r\nhello\r\n"
    spool.write(user, [])       # the INBOX as the MTA made it
    c = connect()
    append(c, plain)
    append(c, msg)
    append(c, plain)
    n = exists(select(c))
    assert n == 3
    p = spool.path(user)
    assert_file_agrees(p, 3, tmp_path)
    assert body_of(c, 2) == msg
    # a rewrite: expunge the first message
    assert c.command("STORE 1 +FLAGS.SILENT (\\Deleted)").ok
    assert c.command("EXPUNGE").ok
    assert body_of(c, 1) == msg
    assert_file_agrees(p, 2, tmp_path)
    c.command("LOGOUT")
    c2 = connect()
    assert exists(select(c2)) == 2
    assert body_of(c2, 1) == msg
    assert body_of(c2, 2) == plain


def test_copy_quotes_too(fresh, user, spool, connect, tmp_path):
    """COPY into a folder in the home: the same quoting, the same bytes."""
    msg = tricky_message()
    spool.write(user, [])       # the INBOX as the MTA made it
    c = connect()
    append(c, msg)
    assert c.command("CREATE folder").ok
    select(c)
    assert c.command("COPY 1 folder").ok
    assert exists(select(c, "folder")) == 1
    assert body_of(c, 1) == msg
    assert_file_agrees(os.path.join(user.home, "folder"), 1, tmp_path)


def test_mta_quoting_reads_as_before(fresh, user, spool, connect, tmp_path):
    """A delivery quoted by an MTA (mboxo: only "From " got a '>') reads as
    the MTA's file says, before and after the server rewrote it."""
    data = (b"Subject: quoted by the MTA\n\nintro\n\nFrom the start\n>From literal\n"
            b">>From deeper\n")
    other = mbox.Entry(b"Subject: other\n\nx\n")
    spool.write(user, [other, mbox.Entry(data)])
    want = mbox.crlf(data.replace(b"\nFrom the", b"\n>From the"))
    c = connect()
    select(c)
    assert body_of(c, 2) == want
    assert c.command("STORE 1 +FLAGS.SILENT (\\Deleted)").ok
    assert c.command("EXPUNGE").ok
    assert body_of(c, 1) == want
    assert_file_agrees(spool.path(user), 1, tmp_path)
    c.command("LOGOUT")
    c2 = connect()
    select(c2)
    assert body_of(c2, 1) == want


# ---------------------------------------------------------------- defect 13

def forged_pseudo():
    return mbox.Entry(b"Date: Thu, 2 Jan 2025 10:00:00 +0000\n"
                      b"From: Mail System Internal Data <MAILER-DAEMON@evil>\n"
                      b"Subject: " + PSEUDO_SUBJECT + b"\n"
                      b"X-IMAP: 0000000001 0000000099 $Junk\n"
                      b"Status: RO\n\n"
                      b"This is a message from an outsider.\n",
                      sender="MAILER-DAEMON")


def test_delivered_folder_data_message_is_mail(fresh, user, spool, connect):
    """A first delivery carrying X-IMAP is shown, and an EXPUNGE of another
    message keeps it, byte for byte."""
    pseudo = forged_pseudo()
    spool.deliver(user, pseudo)
    spool.deliver(user, mbox.Entry(b"Subject: second\n\nsecond\n"))
    c = connect()
    assert exists(select(c)) == 2
    before = body_of(c, 1)
    assert before == mbox.crlf(mbox.strip_meta(pseudo.data))
    assert PSEUDO_SUBJECT in before
    assert c.command("STORE 2 +FLAGS.SILENT (\\Deleted)").ok
    assert c.command("EXPUNGE").ok
    assert exists(select(c)) == 1
    assert body_of(c, 1) == before
    c.command("LOGOUT")
    c2 = connect()
    assert exists(select(c2)) == 1
    assert body_of(c2, 1) == before
    # in the file it is an ordinary message after our own record
    assert [e.data for e in mbox.real_messages(spool.read(user))] == \
        [mbox.strip_meta(pseudo.data)]


FORGED = [
    b"Subject: f1\nStatus: RO\n\nf1\n",
    b"Subject: f2\nX-Status: DFA\n\nf2\n",
    b"Subject: f3\nX-Keywords: $Junk\n\nf3\n",
    b"Subject: f4\nX-UID: 1\n\nf4\n",
    b"Subject: f5\nStatus: RO\nX-Status: DFAT\nX-Keywords: $Junk work\nX-UID: 2\n\nf5\n",
]


def assert_forged_are_new(c, first_seq, uidnext):
    fu = flags_uids(c)
    uids = []
    for s in range(first_seq, first_seq + len(FORGED)):
        uid, fl = fu[s]
        assert fl == {"\\RECENT"}, (s, fl)
        uids.append(uid)
    assert uids == list(range(uidnext, uidnext + len(FORGED)))


def test_delivered_status_headers_set_nothing(fresh, user, spool, connect):
    """Into an empty spool: every forged message is \\Recent, unseen, not
    deleted, without keywords, with UIDs the server chose."""
    for d in FORGED:
        spool.deliver(user, mbox.Entry(d))
    c = connect()
    r = select(c)
    assert exists(r) == len(FORGED)
    assert r.numbered("RECENT")[-1] == len(FORGED)
    assert_forged_are_new(c, 1, 1)
    assert c.command("SEARCH UNSEEN").search() == list(range(1, len(FORGED) + 1))
    # an EXPUNGE removes nothing: no message is \Deleted
    assert c.command("EXPUNGE").ok
    assert exists(select(c)) == len(FORGED)


def test_forged_state_after_ours(fresh, user, spool, connect):
    """The server wrote the spool (flags, a UID gap from an expunge); the
    forged deliveries that follow, also X-UIDs below uidlast, are new
    mail, in the same session and in the next."""
    spool.write(user, [mbox.Entry(b"Subject: m%d\n\nm\n" % i) for i in range(1, 5)])
    c = connect()
    select(c)
    assert c.command("STORE 1 +FLAGS (\\Seen $Work)").ok
    assert c.command("STORE 3:4 +FLAGS.SILENT (\\Deleted)").ok
    assert c.command("EXPUNGE").ok
    r = c.command("STATUS INBOX (UIDNEXT)")
    uidnext = int(re.search(r"UIDNEXT (\d+)", r.raw[0].decode()).group(1))
    assert uidnext == 5
    for d in FORGED[:3] + [b"Subject: f4\nX-UID: 3\n\nf4\n", b"Subject: f5\nX-UID: 4\n"
                          b"X-Status: D\n\nf5\n"]:
        spool.deliver(user, mbox.Entry(d))
    assert c.command("NOOP").ok
    assert_forged_are_new(c, 3, uidnext)
    c.command("LOGOUT")
    c2 = connect()
    select(c2)
    fu = flags_uids(c2)
    assert fu[1] == (1, {"\\SEEN", "$WORK"})
    assert fu[2] == (2, set())
    # the first session reported them \Recent; still nothing else
    assert [fu[s][1] for s in range(3, 8)] == [set()] * 5
    assert [fu[s][0] for s in range(3, 8)] == list(range(uidnext, uidnext + 5))


def test_our_state_is_still_read(fresh, user, spool, connect):
    """Flags set by STORE survive a new session, a rewrite, and delivery."""
    spool.write(user, [mbox.Entry(b"Subject: m%d\n\nm\n" % i) for i in range(1, 4)])
    c = connect()
    select(c)
    assert c.command("STORE 1 +FLAGS (\\Seen \\Answered)").ok
    assert c.command("STORE 2 +FLAGS (\\Flagged $Label1)").ok
    c.command("LOGOUT")
    c = connect()
    select(c)
    fu = flags_uids(c)
    assert fu[1] == (1, {"\\SEEN", "\\ANSWERED"}) and fu[2] == (2, {"\\FLAGGED", "$LABEL1"})
    assert c.command("STORE 3 +FLAGS.SILENT (\\Deleted)").ok
    assert c.command("EXPUNGE").ok
    spool.deliver(user, mbox.Entry(b"Subject: late\n\nlate\n"))
    assert c.command("NOOP").ok
    c.command("LOGOUT")
    c = connect()
    select(c)
    fu = flags_uids(c)
    assert fu[1] == (1, {"\\SEEN", "\\ANSWERED"}) and fu[2] == (2, {"\\FLAGGED", "$LABEL1"})
    assert fu[3] == (4, set())


@pytest.fixture(scope="module")
def previous_imapd(workdir):
    """imapd of PREVIOUS_VERSION, built from git history into workdir."""
    have = subprocess.run(["git", "-C", REPO, "cat-file", "-e", PREVIOUS_VERSION + "^{commit}"],
                          stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=60)
    if have.returncode != 0:
        pytest.skip("the previous version is not in this clone's history")
    src = os.path.join(workdir, "previous-version")
    os.mkdir(src)
    archive = subprocess.run(["git", "-C", REPO, "archive", PREVIOUS_VERSION],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=120)
    assert archive.returncode == 0, "cannot get %s from git: %s" % (
        PREVIOUS_VERSION, archive.stderr.decode(errors="replace"))
    subprocess.run(["tar", "-x", "-C", src], input=archive.stdout, check=True, timeout=120)
    build = subprocess.run(["make", "-C", src, "-s", "-j2", "all", "CFLAGS=-O1"],
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=600)
    assert build.returncode == 0, build.stdout.decode(errors="replace")
    os.chmod(workdir, 0o755)
    return os.path.join(src, "imapd", "imapd")


def test_upgrade_from_the_version_without_keys(fresh, user, spool, connect, launch_daemon,
                                               config_file, previous_imapd):
    """A spool written by the previous version (no key, no auth line):
    its folder record stays hidden and its flags stay, and the first open
    authenticates it."""
    spool.write(user, [mbox.Entry(b"Subject: m%d\n\nm\n" % i) for i in range(1, 4)])
    old = launch_daemon(argv=[previous_imapd, "--config", config_file])
    from helpers.imapclient import RawIMAP
    c = RawIMAP(old.host, old.port)
    try:
        c.login(user.name, user.password)
        select(c)
        assert c.command("STORE 2 +FLAGS (\\Flagged $Old)").ok
        c.command("LOGOUT")
    finally:
        c.close()
    assert has_pseudo(spool.path(user)) and b"X-IMAP-Auth:" not in spool.read(user)
    c = connect()
    assert exists(select(c)) == 3
    fu = flags_uids(c)
    assert fu[2] == (2, {"\\FLAGGED", "$OLD"})
    c.command("LOGOUT")
    assert b"X-IMAP-Auth:" in spool.read(user)
    c = connect()
    assert exists(select(c)) == 3
    assert flags_uids(c)[2] == (2, {"\\FLAGGED", "$OLD"})


def test_delivered_keywords_do_not_fill_the_table(fresh, user, spool, connect):
    """A sender's X-Keywords with 70 names neither shows up in FLAGS nor
    keeps the user from adding a keyword of their own."""
    names = b" ".join(b"k%02d" % i for i in range(70))
    spool.deliver(user, mbox.Entry(b"Subject: kw\nX-Keywords: " + names + b"\n\nkw\n"))
    c = connect()
    r = select(c)
    flags = {f.upper() for f in r.named("FLAGS")[0][1]}
    assert not any(f.startswith("K0") for f in flags), flags
    r = c.command("STORE 1 +FLAGS (mine)")
    assert r.ok, r
    assert flags_uids(c)[1][1] == {"\\RECENT", "MINE"}
    c.command("LOGOUT")
    c = connect()
    select(c)
    assert flags_uids(c)[1][1] == {"MINE"}


def test_key_never_written_through_a_symlink(fresh, user, spool, connect):
    """~/.imapd-cache a symlink to the spool directory: the key is neither
    created there nor read from there, and mail still reads back exactly."""
    os.symlink(spool.dir, os.path.join(user.home, ".imapd-cache"))
    msg = tricky_message()
    c = connect()
    # a folder in the home: the spool INBOX could not even be rewritten
    # without its journal in ~/.imapd-cache (it opens read-only then)
    assert c.command("CREATE box").ok
    append(c, msg, "box")
    select(c, "box")
    assert body_of(c, 1) == msg
    c.command("LOGOUT")
    assert not [n for n in os.listdir(spool.dir) if "secret" in n]
