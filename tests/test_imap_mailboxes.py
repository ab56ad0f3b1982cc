# Mailbox management (RFC 3501 6.3.3-6.3.11, 6.4.7): CREATE, DELETE, RENAME,
# LIST, LSUB, SUBSCRIBE, STATUS, APPEND, COPY. Every test runs twice: with an
# mbox spool INBOX, whose other mailboxes are files in the user's home, and
# with a Maildir INBOX, whose folders are Maildir++ directories inside it.
# Names that would leave the home are refused either way.
import datetime
import os
import tempfile

import pytest

from helpers import mailstore, mbox
from helpers.imapclient import Lit, quote

MAIL_FORMATS = mailstore.FORMATS

NOTE = (b"Date: Tue, 14 Jul 2026 02:44:25 -0700\r\n"
        b"From: Fred Foobar <foobar@example.com>\r\n"
        b"Subject: afternoon meeting\r\n"
        b"To: mooch@example.com\r\n"
        b"Message-Id: <B27397-0100000@example.com>\r\n"
        b"MIME-Version: 1.0\r\n"
        b"Content-Type: TEXT/PLAIN; CHARSET=US-ASCII\r\n"
        b"\r\n"
        b"Hello Joe, do you think we can meet at 3:30 tomorrow?\r\n")


def listed(r, kind="LIST"):
    """{name: (attributes, delimiter)} of LIST/LSUB responses."""
    out = {}
    for u in r.named(kind):
        name = u[3].decode() if isinstance(u[3], bytes) else u[3]
        out[name] = ({a.upper() for a in u[1]}, u[2])
    return out


def names(c, pattern="*", ref='""', kind="LIST"):
    r = c.command('%s %s %s' % (kind, ref, quote(pattern)))
    assert r.ok, r
    return set(listed(r, kind))


def status(c, box, items="(MESSAGES RECENT UIDNEXT UIDVALIDITY UNSEEN)"):
    r = c.command("STATUS %s %s" % (quote(box), items))
    assert r.ok, r
    st = r.named("STATUS")
    assert len(st) == 1, r.raw
    lst = st[0][2]
    return {lst[i].upper(): int(lst[i + 1]) for i in range(0, len(lst), 2)}


def ok(c, cmd, *more):
    r = c.command(cmd, *more)
    assert r.ok, r
    return r


def test_create_and_list(client, user, mail_store):
    ok(client, "CREATE work")
    assert {"INBOX", "work"} <= names(client)
    assert mail_store.is_mailbox(user, "work")
    assert os.stat(mail_store.folder_path(user, "work")).st_uid == user.uid


def test_list_always_shows_inbox(fresh, client):
    assert "INBOX" in names(client)


def test_list_delimiter(client):
    r = ok(client, 'LIST "" ""')
    lines = r.named("LIST")
    assert len(lines) == 1
    assert lines[0][2] == b"/"
    assert lines[0][3] in (b"", "")


def test_create_existing_is_no(client):
    ok(client, "CREATE work")
    assert client.command("CREATE work").status == "NO"


def test_create_inbox_is_no(client):
    assert client.command("CREATE INBOX").status == "NO"


def test_hierarchy_and_wildcards(client, user, mail_store):
    ok(client, "CREATE lists/debian")
    ok(client, "CREATE lists/openbsd")
    ok(client, "CREATE top")
    assert mail_store.is_mailbox(user, "lists/debian")
    assert {"lists/debian", "lists/openbsd", "top"} <= names(client, "*")
    pct = names(client, "%")
    assert "top" in pct and "lists" in pct
    assert "lists/debian" not in pct
    assert names(client, "lists/%") == {"lists/debian", "lists/openbsd"}
    assert names(client, "%", ref='"lists/"') == {"lists/debian", "lists/openbsd"}


def test_names_with_spaces_and_utf7(client):
    ok(client, 'CREATE "My Folder"')
    ok(client, "CREATE Entw&APw-rfe")
    assert {"My Folder", "Entw&APw-rfe"} <= names(client)
    assert status(client, "My Folder", "(MESSAGES)")["MESSAGES"] == 0


def test_delete(client, user, mail_store):
    ok(client, "CREATE old")
    ok(client, "DELETE old")
    assert "old" not in names(client)
    assert not os.path.exists(mail_store.folder_path(user, "old"))


def test_delete_missing_or_inbox_is_no(inbox, client):
    assert client.command("DELETE nothing-here").status == "NO"
    assert client.command("DELETE INBOX").status == "NO"
    assert status(client, "INBOX")["MESSAGES"] == 4


def test_rename(client, user, mail_store):
    ok(client, "CREATE before")
    ok(client, "APPEND before", " ", Lit(NOTE))
    ok(client, "RENAME before after")
    got = names(client)
    assert "after" in got and "before" not in got
    assert status(client, "after")["MESSAGES"] == 1
    assert mail_store.is_mailbox(user, "after")
    assert not os.path.exists(mail_store.folder_path(user, "before"))


def test_rename_onto_existing_is_no(client):
    ok(client, "CREATE a")
    ok(client, "CREATE b")
    assert client.command("RENAME a b").status == "NO"


def test_rename_inbox_moves_its_messages(inbox, client):
    ok(client, "RENAME INBOX archive")
    assert status(client, "archive")["MESSAGES"] == 4
    assert status(client, "INBOX")["MESSAGES"] == 0
    assert "INBOX" in names(client)
    ok(client, "SELECT archive")
    f = client.command("FETCH 2 BODY.PEEK[]").fetches()
    assert f[2]["BODY[]"] == inbox[1].crlf()


def test_subscribe_lsub_unsubscribe(client):
    ok(client, "CREATE news")
    ok(client, "CREATE other")
    ok(client, "SUBSCRIBE news")
    assert names(client, kind="LSUB") == {"news"}
    ok(client, "UNSUBSCRIBE news")
    assert names(client, kind="LSUB") == set()


def test_status_of_mta_spool(inbox, client):
    st = status(client, "INBOX")
    assert st["MESSAGES"] == 4
    assert st["RECENT"] == 4
    assert st["UNSEEN"] == 4
    assert st["UIDNEXT"] >= 5
    assert st["UIDVALIDITY"] > 0


def test_status_of_missing_mailbox_is_no(client):
    assert client.command("STATUS nowhere (MESSAGES)").status == "NO"


def _instant(s):
    return datetime.datetime.strptime(s.strip(), "%d-%b-%Y %H:%M:%S %z")


def test_append_with_flags_and_date(client):
    ok(client, "CREATE work")
    ok(client, 'APPEND work (\\Seen $Work) "14-Jul-2026 02:44:25 -0700" ', Lit(NOTE))
    sel = ok(client, "SELECT work")
    assert sel.numbered("EXISTS") == [1]
    f = client.command("FETCH 1 (FLAGS INTERNALDATE RFC822.SIZE BODY.PEEK[])").fetches()[1]
    assert f["BODY[]"] == NOTE
    assert int(f["RFC822.SIZE"]) == len(NOTE)
    assert {x.upper() for x in f["FLAGS"]} - {"\\RECENT"} == {"\\SEEN", "$WORK"}
    assert _instant(f["INTERNALDATE"].decode()) == _instant("14-Jul-2026 02:44:25 -0700")


@pytest.mark.mbox_only("the spool file's first delivery")
def test_append_to_inbox_without_spool_file(fresh, client, spool, user):
    # the session holds no group mail: /var/mail/<user> comes from the
    # mail system's first delivery (here: an empty file, as an MTA leaves
    # it), never from the session, which says so
    r = client.command("APPEND INBOX ", Lit(NOTE))
    assert r.status == "NO" and "first delivery" in r.text, r
    assert not os.path.exists(spool.path(user))
    spool.write(user, [])
    ok(client, "APPEND INBOX ", Lit(NOTE))
    st = os.stat(spool.path(user))
    assert st.st_uid == user.uid
    assert st.st_mode & 0o077 in (0o060, 0o000), oct(st.st_mode)
    sel = ok(client, "SELECT INBOX")
    assert sel.numbered("EXISTS") == [1]
    f = client.command("FETCH 1 BODY.PEEK[]").fetches()[1]
    assert f["BODY[]"] == NOTE


def test_append_to_inbox_is_stored_with_flags_and_date(inbox, client, mail_store, user):
    """The appended message is the last one, its flags and date on disk."""
    ok(client, 'APPEND INBOX (\\Flagged $Work) "14-Jul-2026 02:44:25 -0700" ', Lit(NOTE))
    msgs = mail_store.messages(user)
    assert [m.data for m in msgs[:4]] == [e.data for e in inbox]
    assert len(msgs) == 5 and mbox.crlf(msgs[4].data) == NOTE
    assert msgs[4].flags == {"\\Flagged", "$Work"}
    assert msgs[4].time == _instant("14-Jul-2026 02:44:25 -0700").timestamp()


def test_append_to_selected_mailbox_shows_exists(inbox, client):
    ok(client, "SELECT INBOX")
    r = ok(client, "APPEND INBOX ", Lit(NOTE))
    if not r.numbered("EXISTS"):
        r = ok(client, "NOOP")
    assert r.numbered("EXISTS") == [5]


def test_append_keeps_a_body_line_starting_with_from(client):
    msg = (b"From: a@example.org\r\nSubject: quoting\r\n\r\n"
           b"From here on the line starts like an mbox separator.\r\n"
           b">From and this one was already quoted.\r\n")
    ok(client, "CREATE q")
    ok(client, "APPEND q ", Lit(msg))
    ok(client, "APPEND q ", Lit(NOTE))
    ok(client, "SELECT q")
    f = client.command("FETCH 1:* BODY.PEEK[]").fetches()
    assert sorted(f) == [1, 2]
    assert f[1]["BODY[]"] == msg
    assert f[2]["BODY[]"] == NOTE


def test_append_to_missing_mailbox_says_trycreate(client, user, mail_store):
    r = client.command("APPEND nowhere ", Lit(NOTE))
    assert r.status == "NO" and (r.code or "").upper() == "TRYCREATE", r
    assert not os.path.exists(os.path.join(user.home, "nowhere"))
    assert not os.path.exists(mail_store.folder_path(user, "nowhere"))


def test_copy(inbox, client):
    ok(client, "CREATE saved")
    ok(client, "SELECT INBOX")
    ok(client, "STORE 1 +FLAGS (\\Flagged)")
    ok(client, "COPY 1:2 saved")
    assert status(client, "saved")["MESSAGES"] == 2
    ok(client, "EXAMINE saved")
    f = client.command("FETCH 1:2 (FLAGS BODY.PEEK[])").fetches()
    assert f[1]["BODY[]"] == inbox[0].crlf()
    assert f[2]["BODY[]"] == inbox[1].crlf()
    assert "\\FLAGGED" in {x.upper() for x in f[1]["FLAGS"]}


def test_uid_copy(inbox, client):
    ok(client, "CREATE saved")
    ok(client, "SELECT INBOX")
    u4 = client.command("FETCH 4 UID").fetches()[4]["UID"]
    ok(client, "UID COPY %s saved" % u4)
    ok(client, "EXAMINE saved")
    f = client.command("FETCH 1 BODY.PEEK[]").fetches()
    assert f[1]["BODY[]"] == inbox[3].crlf()


def test_copy_to_missing_mailbox_says_trycreate(inbox, client, user, mail_store):
    ok(client, "SELECT INBOX")
    r = client.command("COPY 1 nowhere")
    assert r.status == "NO" and (r.code or "").upper() == "TRYCREATE", r
    assert not os.path.exists(os.path.join(user.home, "nowhere"))
    assert not os.path.exists(mail_store.folder_path(user, "nowhere"))


def assert_outside_home(r, name):
    """A valid name the server will not serve: NO [CANNOT] (RFC 5530), not
    BAD (the command is well formed) nor NONEXISTENT (that would tell)."""
    assert (r.status, r.code, r.text) == (
        "NO", "CANNOT", "mailbox names must stay inside your home directory: %s" % name), r


BAD_NAMES = ["../x", "/etc/passwd", "../../etc/passwd", "lists/../../x",
             "~root/x", "/tmp"]


@pytest.mark.parametrize("name", BAD_NAMES)
@pytest.mark.parametrize("command", ["SELECT %s", "EXAMINE %s", "CREATE %s",
                                     "DELETE %s", "RENAME work %s",
                                     "STATUS %s (MESSAGES)"])
def test_names_leaving_home_are_refused(client, user, command, name, mail_store):
    ok(client, "CREATE work")
    r = client.command(command % quote(name))
    if mail_store.format == "maildir" and name[0] not in "/~":
        # a folder name in the Maildir++ namespace: ".." never gets that far
        assert (r.status, r.code, r.text) == (
            "NO", "CANNOT", "invalid mailbox name %s: '.' is the folder separator on "
            "disk and cannot be in a name" % name), r
    else:
        assert_outside_home(r, name)
    assert os.path.exists("/etc/passwd")
    assert not os.path.exists(os.path.join(os.path.dirname(user.home), "x"))


def test_append_outside_home_is_refused(client):
    r = client.command("APPEND %s " % quote("/etc/passwd"), Lit(NOTE))
    assert_outside_home(r, "/etc/passwd")
    with open("/etc/passwd", "rb") as f:
        assert b"afternoon meeting" not in f.read()


def test_delete_outside_home_leaves_file(client, user):
    d = tempfile.mkdtemp(prefix="imt-victim-")
    os.chmod(d, 0o777)
    victim = os.path.join(d, "mbox")
    with open(victim, "wb") as f:
        f.write(mbox.entry_bytes(mbox.load("late.mbox")[0]))
    os.chown(victim, user.uid, user.gid)
    try:
        r = client.command("DELETE %s" % quote(victim))
        assert_outside_home(r, victim)
        assert os.path.exists(victim)
    finally:
        os.unlink(victim)
        os.rmdir(d)


def test_other_users_mailboxes_are_unreachable(client, other_user, connect, mail_store):
    c = connect(who=other_user)
    ok(c, "CREATE secret")
    path = mail_store.folder_path(other_user, "secret")
    assert os.path.exists(path)
    assert_outside_home(client.command("SELECT %s" % quote(path)), path)
    theirs = "~%s/%s" % (other_user.name, os.path.relpath(path, other_user.home))
    assert_outside_home(client.command("SELECT %s" % quote(theirs)), theirs)


def test_symlink_to_another_users_spool_is_refused(client, user, other_user, spool,
                                                   mail_store):
    """The session keeps group mail (for the spool's lock files); a symlink
    where a mailbox of the user would be (the home, or a Maildir++ folder)
    must not turn that into a way to read someone else's INBOX."""
    spool.write(other_user, [mbox.Entry(b"Subject: private\n\nnot for you\n")])
    link = mail_store.folder_path(user, "peek")
    os.symlink(spool.path(other_user), link)
    try:
        for cmd in ("SELECT peek", "EXAMINE peek", "STATUS peek (MESSAGES)"):
            r = client.command(cmd)
            assert r.status == "NO", (cmd, r)
    finally:
        os.unlink(link)
