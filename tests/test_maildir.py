# The Maildir driver through imapd (issue 11): a user whose ~/Maildir
# exists gets it as INBOX, with Maildir++ folders inside it (".a.b") as
# Dovecot lays them out; messages, flags, keywords and UIDs live in the
# files Dovecot reads. What a user plants in their own Maildir (a link to
# someone else's mail, a hard link, a FIFO) is never served, and a full
# disk answers NO leaving nothing behind.
import os
import re
import stat

from helpers.imapclient import Lit
from helpers.session import idle_sees_delivery_and_flags
from test_silent_failures import tmpfs_home  # noqa: F401 (a fixture)
from test_tmail import MSG as TMAIL_MSG, run, tmail, with_return_path  # noqa: F401 (fixtures)

MSG1 = (b"From: Alice <alice@example.com>\r\nTo: bob@example.com\r\n"
        b"Subject: first\r\n\r\nHello from the Maildir.\r\n")
MSG2 = (b"From: Carol <carol@example.com>\r\nSubject: second\r\n\r\n"
        b"Another one.\r\n")


def maildir(user, *parts):
    return os.path.join(user.home, "Maildir", *parts)


def own(user, path):
    os.chown(path, user.uid, user.gid)


def make_maildir(user, folder=None):
    """~/Maildir (or its folder .folder) with cur/ new/ tmp/, the user's."""
    root = maildir(user) if folder is None else maildir(user, "." + folder)
    for p in (maildir(user), root) + tuple(os.path.join(root, s) for s in ("cur", "new", "tmp")):
        if not os.path.isdir(p):
            os.mkdir(p, 0o700)
            own(user, p)
    return root


def deliver(user, data, name, folder=None):
    """An MTA's delivery into new/ (tmp/ then rename), LF line ends."""
    root = make_maildir(user, folder)
    tmp = os.path.join(root, "tmp", name)
    with open(tmp, "wb") as f:
        f.write(data.replace(b"\r\n", b"\n"))
    own(user, tmp)
    os.rename(tmp, os.path.join(root, "new", name))


def files(user, sub, folder=None):
    root = maildir(user) if folder is None else maildir(user, "." + folder)
    return sorted(os.listdir(os.path.join(root, sub)))


def uidlist(user, folder=None):
    root = maildir(user) if folder is None else maildir(user, "." + folder)
    with open(os.path.join(root, "dovecot-uidlist"), "rb") as f:
        return f.read().decode()


def listed(r):
    out = {}
    for u in r.named("LIST"):
        name = u[3].decode() if isinstance(u[3], bytes) else u[3]
        out[name] = {a.upper() for a in u[1]}
    return out


def body_of(r, n=1):
    return r.fetches()[n]["BODY[]"]


# ---------------------------------------------------------------- messages

def test_select_fetch_store_expunge(fresh, connect, user):
    """Two deliveries in new/: SELECT sees both \\Recent, moves them to
    cur/ under UIDs recorded in dovecot-uidlist, FETCH gives CRLF text,
    STORE renames the file to its flags (a keyword as a letter of
    dovecot-keywords) and EXPUNGE removes the file."""
    deliver(user, MSG1, "1700000001.M1P1.mx")
    deliver(user, MSG2, "1700000002.M1P1.mx")
    c = connect()
    r = c.command("SELECT INBOX")
    assert r.ok, r
    assert r.numbered("EXISTS") == [2] and r.numbered("RECENT") == [2]
    validity = r.codes()["UIDVALIDITY"]
    assert uidlist(user).startswith("3 V%s N3 G" % validity)
    assert files(user, "new") == []
    assert files(user, "cur") == ["1700000001.M1P1.mx:2,", "1700000002.M1P1.mx:2,"]
    assert re.search(r"^1 W%d :1700000001\.M1P1\.mx$" % len(MSG1), uidlist(user), re.M)
    r = c.command("FETCH 1:2 (UID RFC822.SIZE BODY.PEEK[])")
    assert r.ok, r
    f = r.fetches()
    assert (f[1]["UID"], f[2]["UID"]) == ("1", "2")
    assert body_of(r, 1) == MSG1 and body_of(r, 2) == MSG2
    assert f[1]["RFC822.SIZE"] == str(len(MSG1))
    r = c.command("STORE 1 +FLAGS (\\Seen \\Answered $Work)")
    assert r.ok, r
    assert files(user, "cur")[0] == "1700000001.M1P1.mx:2,RSa"
    with open(maildir(user, "dovecot-keywords")) as fk:
        assert fk.read() == "0 $Work\n"
    assert c.command("STORE 2 +FLAGS.SILENT (\\Deleted)").ok
    assert files(user, "cur")[1] == "1700000002.M1P1.mx:2,T"
    r = c.command("EXPUNGE")
    assert r.ok and r.numbered("EXPUNGE") == [2], r
    assert files(user, "cur") == ["1700000001.M1P1.mx:2,RSa"]
    c.command("LOGOUT")
    # a new session: the same UID, flags and keyword
    c2 = connect()
    r = c2.command("SELECT INBOX")
    assert r.codes()["UIDVALIDITY"] == validity and r.numbered("RECENT") == [0]
    r = c2.command("FETCH 1 (UID FLAGS)")
    f = r.fetches()[1]
    assert f["UID"] == "1" and set(f["FLAGS"]) == {"\\Seen", "\\Answered", "$Work"}


def test_two_sessions_see_each_other(fresh, connect, user):
    """A flag change and an expunge by one session reach the other at its
    next NOOP."""
    deliver(user, MSG1, "1700000001.M1P1.mx")
    deliver(user, MSG2, "1700000002.M1P1.mx")
    a, b = connect(), connect()
    assert a.command("SELECT INBOX").ok and b.command("SELECT INBOX").ok
    assert b.command("STORE 1 +FLAGS.SILENT (\\Flagged)").ok
    assert b.command("STORE 2 +FLAGS.SILENT (\\Deleted)").ok
    assert b.command("EXPUNGE").ok
    r = a.command("NOOP")
    assert r.numbered("EXPUNGE") == [2], r
    # a selected first: the message is \\Recent in its session only
    assert set(r.fetches()[1]["FLAGS"]) == {"\\Flagged", "\\Recent"}
    deliver(user, MSG2, "1700000003.M1P1.mx")
    r = a.command("NOOP")
    assert r.numbered("EXISTS") == [2], r
    r = a.command("FETCH 2 (UID BODY.PEEK[])")
    assert r.fetches()[2]["UID"] == "3" and body_of(r, 2) == MSG2


def test_idle_wakes_on_delivery(fresh, connect, user):
    """IDLE on a Maildir INBOX watches new/ and cur/: a delivery into new/
    reaches the idling client at once (under a second; without the watch
    IDLE polls every 5 seconds), and so does another session's flag
    change in cur/."""
    make_maildir(user)
    c, other = connect(), connect()
    assert c.command("SELECT INBOX").ok
    idle_sees_delivery_and_flags(c, other, "INBOX",
                                 lambda: deliver(user, MSG1, "1700000001.M1P1.mx"))


def test_append_copy_and_uidplus(fresh, connect, user):
    """APPEND stores in cur/ with flags, an internal date as mtime and a UID
    under the uidlist; COPY hard-links into the folder with its flags."""
    make_maildir(user)
    c = connect()
    assert c.command("CREATE Archive").ok
    r = c.command('APPEND INBOX (\\Flagged Blue) "14-Jul-2026 02:44:25 +0000" ', Lit(MSG1))
    assert r.ok, r
    validity, uid = r.codes()["APPENDUID"].split()
    assert uid == "1"
    (name,) = files(user, "cur")
    assert name.endswith(",S=%d,W=%d:2,Fa" % (len(MSG1) - 5, len(MSG1)))
    path = maildir(user, "cur", name)
    assert os.stat(path).st_mtime == 1783997065
    with open(path, "rb") as f:
        assert f.read() == MSG1.replace(b"\r\n", b"\n")
    assert c.command("SELECT INBOX").ok
    r = c.command("COPY 1 Archive")
    assert r.ok, r
    dv, src, dst = r.codes()["COPYUID"].split()
    assert (src, dst) == ("1", "1")
    (copied,) = files(user, "cur", "Archive")
    assert copied.endswith(":2,Fa")
    assert os.stat(maildir(user, ".Archive", "cur", copied)).st_ino == os.stat(path).st_ino
    r = c.command("STATUS Archive (MESSAGES UIDNEXT UIDVALIDITY UNSEEN)")
    assert r.ok, r
    assert "MESSAGES 1" in r.raw[0].decode() and "UIDVALIDITY %s" % dv in r.raw[0].decode()
    assert c.command("EXAMINE Archive").ok
    r = c.command("FETCH 1 (FLAGS INTERNALDATE BODY.PEEK[])")
    f = r.fetches()[1]
    assert set(f["FLAGS"]) == {"\\Flagged", "Blue", "\\Recent"}
    assert f["INTERNALDATE"] == b"14-Jul-2026 02:44:25 +0000"
    assert body_of(r) == MSG1


def test_folders_create_list_rename_delete(fresh, connect, user):
    """Folders as Dovecot's Maildir++: "a/b" is .a.b with maildirfolder;
    parents without a directory list as \\Noselect; RENAME takes the
    children along; DELETE leaves them; '.' in a name is refused."""
    make_maildir(user)
    c = connect()
    assert c.command("CREATE Work/2026").ok
    assert os.path.isfile(maildir(user, ".Work.2026", "maildirfolder"))
    assert all(os.path.isdir(maildir(user, ".Work.2026", s)) for s in ("cur", "new", "tmp"))
    r = c.command('LIST "" *')
    assert listed(r) == {"INBOX": {"\\HASNOCHILDREN"}, "Work": {"\\NOSELECT", "\\HASCHILDREN"},
                         "Work/2026": {"\\HASNOCHILDREN"}}, r
    r = c.command("CREATE Work.old")
    assert not r.ok and r.status == "NO", r
    assert c.command("CREATE Work").ok
    assert c.command("RENAME Work Jobs").ok
    assert sorted(e for e in os.listdir(maildir(user)) if e.startswith(".")) == \
        [".Jobs", ".Jobs.2026"]
    assert c.command("DELETE Jobs").ok
    assert sorted(e for e in os.listdir(maildir(user)) if e.startswith(".")) == [".Jobs.2026"]
    r = c.command('LIST "" *')
    assert listed(r)["Jobs"] == {"\\NOSELECT", "\\HASCHILDREN"}
    assert c.command("DELETE Jobs/2026").ok
    assert [e for e in os.listdir(maildir(user)) if e.startswith(".")] == []


# ---------------------------------------------------------------- safety

def test_planted_links_and_fifo_are_not_served(fresh, connect, user, other_user, spool):
    """In the user's own cur/ and new/: a symlink to another user's spool
    file, a hard link to a file of the other user, and a FIFO. SELECT
    counts only the real message (it does not hang on the FIFO), nothing
    of the other user's is ever sent, and the planted entries are neither
    moved nor renamed."""
    secret = b"From: x@y\r\nSubject: other's secret\r\n\r\nTOPSECRET-1234\r\n"
    deliver(user, MSG1, "1700000001.M1P1.mx")
    spool_file = spool.path(other_user)
    with open(spool_file, "wb") as f:
        f.write(b"From x@y Thu Jan  1 00:00:00 2026\n" + secret.replace(b"\r\n", b"\n"))
    own(other_user, spool_file)
    theirs = os.path.join(other_user.home, "theirs")
    with open(theirs, "wb") as f:
        f.write(secret)
    own(other_user, theirs)
    os.chmod(theirs, 0o644)
    os.symlink(spool_file, maildir(user, "cur", "1600000000.link:2,"))
    os.symlink(spool_file, maildir(user, "new", "1600000001.link"))
    os.link(theirs, maildir(user, "cur", "1600000002.hard:2,"))
    os.mkfifo(maildir(user, "cur", "1600000003.fifo:2,"))
    for p in ("cur/1600000000.link:2,", "new/1600000001.link", "cur/1600000003.fifo:2,"):
        os.lchown(maildir(user, *p.split("/")), user.uid, user.gid)
    c = connect()
    r = c.command("SELECT INBOX")
    assert r.ok and r.numbered("EXISTS") == [1], r
    r = c.command("FETCH 1:* (BODY[])")
    assert r.ok and list(r.fetches()) == [1] and body_of(r) == MSG1, r
    r = c.command("SEARCH TEXT TOPSECRET-1234")
    assert r.ok and r.search() == [], r
    r = c.command("STATUS INBOX (MESSAGES)")
    assert "MESSAGES 1" in r.raw[0].decode(), r
    assert c.command("STORE 1:* +FLAGS (\\Seen)").ok
    assert c.command("CLOSE").ok
    cur = files(user, "cur")
    assert "1600000000.link:2," in cur and "1600000002.hard:2," in cur and \
        "1600000003.fifo:2," in cur
    assert files(user, "new") == ["1600000001.link"]
    assert os.path.islink(maildir(user, "new", "1600000001.link"))
    assert stat.S_ISFIFO(os.lstat(maildir(user, "cur", "1600000003.fifo:2,")).st_mode)
    with open(theirs, "rb") as f:
        assert f.read() == secret
    assert "TOPSECRET" not in uidlist(user)


def test_full_disk_append_answers_no_and_leaves_nothing(fresh, tmpfs_home, connect, user):
    """~/Maildir on a full file system: APPEND answers NO, no file is left
    in tmp/, new/ or cur/, and the uidlist is as it was; after space is
    freed the same APPEND works."""
    make_maildir(user)
    c = connect()
    assert c.command("SELECT INBOX").ok
    before = uidlist(user)
    tmpfs_home.fill()
    big = MSG1 + b"x" * 8192 + b"\r\n"
    r = c.command("APPEND INBOX ", Lit(big))
    assert r.status == "NO", r
    assert files(user, "tmp") == [] and files(user, "cur") == [] and files(user, "new") == []
    assert uidlist(user) == before
    tmpfs_home.free()
    r = c.command("APPEND INBOX ", Lit(big))
    assert r.ok, r
    assert len(files(user, "cur")) == 1


def test_mail_format_maildir_outside_maildir_inbox(fresh, server_with, open_to, user):
    """mail_format = maildir with the spool as INBOX: CREATE makes a plain
    Maildir directory under the home (no maildirfolder), usable at once."""
    srv = server_with("mail_format = maildir")
    c = open_to(srv, user)
    assert c.command("CREATE Lists").ok
    root = os.path.join(user.home, "Lists")
    assert sorted(os.listdir(root)) == ["cur", "dovecot-uidlist", "new", "tmp"]
    r = c.command("APPEND Lists (\\Seen) ", Lit(MSG2))
    assert r.ok, r
    assert c.command("SELECT Lists").ok
    r = c.command("FETCH 1 (FLAGS BODY.PEEK[])")
    assert set(r.fetches()[1]["FLAGS"]) == {"\\Seen", "\\Recent"} and body_of(r) == MSG2
    r = c.command('LIST "" *')
    assert listed(r)["Lists"] == {"\\NOINFERIORS"}


def test_configured_inbox_made_by_first_create(fresh, server_with, open_to, user):
    """inbox = ~/Maildir and no Maildir yet: a CREATE before anything else
    makes ~/Maildir a Maildir as well as the folder, so INBOX works."""
    srv = server_with("inbox = ~/Maildir")
    c = open_to(srv, user)
    assert c.command("CREATE Drafts").ok
    made = sorted(e for e in os.listdir(maildir(user)) if not e.startswith("dovecot-uidvalidity"))
    assert made == [".Drafts", "cur", "dovecot-uidlist", "new", "tmp"]
    # Dovecot's count of UIDVALIDITYs given out knows the two taken
    with open(maildir(user, "dovecot-uidvalidity")) as f:
        last = int(f.read(), 16)
    with open(maildir(user, ".Drafts", "dovecot-uidlist")) as f:
        assert f.read().startswith("3 V%d " % last)
    r = c.command("SELECT INBOX")
    assert r.ok and r.numbered("EXISTS") == [0], r
    r = c.command("APPEND INBOX ", Lit(MSG1))
    assert r.ok, r
    assert len(files(user, "cur")) == 1


def test_tmail_delivers_into_a_maildir_inbox(run, tmail, fresh, user, connect, spool):
    """tmail (an MTA's mailbox_command, run as root) stores into the
    user's ~/Maildir when that is INBOX: one file in cur/ owned by the
    user, nothing in the spool, served by imapd with its Return-Path."""
    make_maildir(user)
    r = run(tmail, ["-f", "alice@example.org", user.name])
    assert r.returncode == 0, r.stderr
    (name,) = files(user, "cur")
    assert os.stat(maildir(user, "cur", name)).st_uid == user.uid
    assert not os.path.exists(spool.path(user))
    c = connect()
    assert c.command("SELECT INBOX").ok
    r = c.command("FETCH 1 (BODY.PEEK[])")
    assert body_of(r) == with_return_path(b"alice@example.org", TMAIL_MSG)
