# STORE, EXPUNGE, CLOSE and the UID forms (RFC 3501 6.4.3, 6.4.6, 6.4.8):
# flags change as asked, persist in the mailbox for the next session, and
# expunging keeps every other message byte for byte, also when new mail
# arrives meanwhile. Every test runs on an mbox spool and on a Maildir INBOX.
import pytest

from helpers import mailstore, mbox

MAIL_FORMATS = mailstore.FORMATS
NEW_MAIL = mbox.load("late.mbox")[0]


@pytest.fixture
def box(inbox, client):
    r = client.command("SELECT INBOX")
    assert r.ok, r
    return client


def flags(lst):
    return {f.upper() for f in lst} - {"\\RECENT"}


def all_flags(c):
    r = c.command("FETCH 1:* FLAGS")
    assert r.ok, r
    return {seq: flags(v["FLAGS"]) for seq, v in r.fetches().items()}


def store(c, cmd):
    r = c.command(cmd)
    assert r.ok, r
    return r


def test_add_flag(box):
    r = store(box, "STORE 1 +FLAGS (\\Flagged)")
    assert flags(r.fetches()[1]["FLAGS"]) == {"\\FLAGGED"}
    assert all_flags(box)[1] == {"\\FLAGGED"}


def test_remove_flag(box):
    store(box, "STORE 1 +FLAGS (\\Flagged \\Seen)")
    r = store(box, "STORE 1 -FLAGS (\\Flagged)")
    assert flags(r.fetches()[1]["FLAGS"]) == {"\\SEEN"}


def test_replace_flags(box):
    store(box, "STORE 2 +FLAGS (\\Seen)")
    r = store(box, "STORE 2 FLAGS (\\Answered \\Draft)")
    assert flags(r.fetches()[2]["FLAGS"]) == {"\\ANSWERED", "\\DRAFT"}


def test_silent_store_sends_no_fetch(box):
    r = store(box, "STORE 1:2 +FLAGS.SILENT (\\Seen)")
    assert r.fetches() == {}
    got = all_flags(box)
    assert got[1] == got[2] == {"\\SEEN"} and got[3] == set()


def test_store_on_a_range(box):
    store(box, "STORE 2:* +FLAGS (\\Answered)")
    assert all_flags(box) == {1: set(), 2: {"\\ANSWERED"}, 3: {"\\ANSWERED"},
                              4: {"\\ANSWERED"}}


def test_keywords(box, connect):
    r = store(box, "STORE 1 +FLAGS ($Label1 project-x)")
    assert flags(r.fetches()[1]["FLAGS"]) == {"$LABEL1", "PROJECT-X"}
    box.command("LOGOUT")
    c = connect()
    sel = c.command("SELECT INBOX")
    assert {"$LABEL1", "PROJECT-X"} <= flags(sel.named("FLAGS")[0][1])
    assert all_flags(c)[1] == {"$LABEL1", "PROJECT-X"}
    r = store(c, "STORE 1 -FLAGS (project-x)")
    assert flags(r.fetches()[1]["FLAGS"]) == {"$LABEL1"}


def test_flags_persist_across_connections(box, connect, mail_store, user):
    store(box, "STORE 1 +FLAGS (\\Seen \\Answered)")
    store(box, "STORE 2 +FLAGS (\\Flagged)")
    store(box, "STORE 3 +FLAGS (\\Draft \\Deleted)")
    want = all_flags(box)
    box.command("LOGOUT")
    c = connect()
    c.command("SELECT INBOX")
    assert all_flags(c) == want
    assert want[4] == set()
    # in the mailbox itself, where another program reads them
    assert [flags(m.flags) for m in mail_store.messages(user)] == [want[i] for i in (1, 2, 3, 4)]


def test_store_keeps_flags_another_session_set(box, connect, mail_store, user):
    """A session that has not yet heard of another session's flag changes
    adds and removes flags: the other's changes stay (no lost update)."""
    store(box, "STORE 1 +FLAGS (\\Seen)")
    all_flags(box)
    other = connect()
    other.command("SELECT INBOX")
    store(other, "STORE 1 +FLAGS (\\Answered Later)")
    store(other, "STORE 2 +FLAGS (\\Draft)")
    other.command("LOGOUT")
    store(box, "STORE 1 +FLAGS (\\Flagged)")
    store(box, "STORE 1 -FLAGS (\\Seen)")
    store(box, "STORE 2 +FLAGS (\\Seen)")
    want = {1: {"\\ANSWERED", "LATER", "\\FLAGGED"}, 2: {"\\DRAFT", "\\SEEN"},
            3: set(), 4: set()}
    assert box.command("NOOP").ok
    assert all_flags(box) == want
    box.command("LOGOUT")
    assert [flags(m.flags) for m in mail_store.messages(user)] == [want[i] for i in (1, 2, 3, 4)]


@pytest.mark.format_bug("maildir", "a session that makes a keyword before it has synced "
                        "never shows the keyword another session made meanwhile: on disk "
                        "the letter and dovecot-keywords are right, NOOP reports the "
                        "message without it")
def test_new_keywords_of_two_sessions_stay_apart(box, connect, mail_store, user):
    """Two sessions each make a keyword the other has not seen: each message
    keeps the keyword it was given (in a Maildir they share the
    dovecot-keywords table; "Early", not "First": nmh reserves "first" as
    a message name, so an MH folder refuses that keyword)."""
    store(box, "STORE 4 +FLAGS (Early)")
    all_flags(box)
    other = connect()
    other.command("SELECT INBOX")
    store(other, "STORE 1 +FLAGS (Later)")
    other.command("LOGOUT")
    store(box, "STORE 3 +FLAGS (Other)")
    want = {1: {"LATER"}, 2: set(), 3: {"OTHER"}, 4: {"EARLY"}}
    assert box.command("NOOP").ok
    assert all_flags(box) == want
    box.command("LOGOUT")
    assert [flags(m.flags) for m in mail_store.messages(user)] == [want[i] for i in (1, 2, 3, 4)]
    c = connect()
    c.command("SELECT INBOX")
    assert all_flags(c) == want


def test_store_on_a_message_another_session_expunged(box, inbox, connect, mail_store, user):
    """A session flags a message another session has just expunged: the
    message stays gone (no file or copy comes back), the session hears of
    the expunge, and the other messages keep their flags."""
    all_flags(box)
    other = connect()
    other.command("SELECT INBOX")
    store(other, "STORE 2 +FLAGS (\\Deleted)")
    store(other, "STORE 3 +FLAGS (\\Flagged)")
    assert other.command("EXPUNGE").numbered("EXPUNGE") == [2]
    other.command("LOGOUT")
    box.command("STORE 2 +FLAGS (\\Seen)")
    r = box.command("NOOP")
    assert r.ok and r.numbered("EXPUNGE") == [2], r.raw
    assert all_flags(box) == {1: set(), 2: {"\\FLAGGED"}, 3: set()}
    box.command("LOGOUT")
    msgs = mail_store.messages(user)
    assert [m.data for m in msgs] == [inbox[i].data for i in (0, 2, 3)]
    assert [flags(m.flags) for m in msgs] == [set(), {"\\FLAGGED"}, set()]


def test_flag_change_keeps_messages_intact(box, inbox, mail_store, user):
    store(box, "STORE 1:4 +FLAGS (\\Seen \\Flagged)")
    box.command("LOGOUT")
    msgs = mail_store.messages(user)
    assert [m.data for m in msgs] == [e.data for e in inbox]
    assert [m.time for m in msgs] == [mailstore.entry_time(e) for e in inbox]


def remaining_after(expunged, n):
    """Sequence numbers (original) left after a series of EXPUNGE n."""
    left = list(range(1, n + 1))
    for seq in expunged:
        del left[seq - 1]
    return left


def test_expunge_removes_deleted(box, inbox, mail_store, user, connect):
    store(box, "STORE 2 +FLAGS (\\Deleted)")
    r = box.command("EXPUNGE")
    assert r.ok, r
    assert r.numbered("EXPUNGE") == [2]
    f = box.command("FETCH 1:* BODY.PEEK[]").fetches()
    assert [f[i]["BODY[]"] for i in sorted(f)] == [inbox[i].crlf() for i in (0, 2, 3)]
    box.command("LOGOUT")
    msgs = mail_store.messages(user)
    assert [m.data for m in msgs] == [inbox[i].data for i in (0, 2, 3)]
    assert [m.time for m in msgs] == [mailstore.entry_time(inbox[i]) for i in (0, 2, 3)]
    c = connect()
    assert c.command("SELECT INBOX").numbered("EXISTS") == [3]


def test_expunge_several(box, inbox):
    uids = box.command("FETCH 1:* UID").fetches()
    store(box, "STORE 1,3 +FLAGS (\\Deleted)")
    r = box.command("EXPUNGE")
    assert r.ok
    assert remaining_after(r.numbered("EXPUNGE"), 4) == [2, 4]
    after = box.command("FETCH 1:* UID").fetches()
    assert [after[1]["UID"], after[2]["UID"]] == [uids[2]["UID"], uids[4]["UID"]]


def test_close_expunges_silently(box, inbox, connect):
    store(box, "STORE 4 +FLAGS (\\Deleted)")
    r = box.command("CLOSE")
    assert r.ok and r.numbered("EXPUNGE") == []
    c = connect()
    assert c.command("SELECT INBOX").numbered("EXISTS") == [3]
    f = c.command("FETCH 3 BODY.PEEK[]").fetches()
    assert f[3]["BODY[]"] == inbox[2].crlf()


def test_expunge_keeps_mail_delivered_meanwhile(box, inbox, mail_store, user):
    store(box, "STORE 1 +FLAGS (\\Deleted)")
    mail_store.deliver(user, NEW_MAIL)
    r = box.command("EXPUNGE")
    assert r.ok
    box.command("LOGOUT")
    msgs = mail_store.messages(user)
    assert [m.data for m in msgs] == [e.data for e in inbox[1:]] + [NEW_MAIL.data]


def test_uid_store_and_uid_fetch(box):
    uids = box.command("FETCH 1:* UID").fetches()
    u3 = uids[3]["UID"]
    r = store(box, "UID STORE %s +FLAGS (\\Flagged)" % u3)
    f = r.fetches()
    assert list(f) == [3]
    assert f[3]["UID"] == u3
    assert "\\FLAGGED" in flags(f[3]["FLAGS"])
    r = box.command("UID FETCH %s:* FLAGS" % u3)
    got = r.fetches()
    assert sorted(got) == [3, 4]
    assert "\\FLAGGED" in flags(got[3]["FLAGS"])
    assert "\\FLAGGED" not in flags(got[4]["FLAGS"])


def test_uid_store_of_expunged_uid_is_harmless(box):
    u1 = box.command("FETCH 1 UID").fetches()[1]["UID"]
    store(box, "STORE 1 +FLAGS (\\Deleted)")
    box.command("EXPUNGE")
    r = box.command("UID STORE %s +FLAGS (\\Seen)" % u1)
    assert r.ok and r.fetches() == {}


def test_store_with_imaplib(inbox, imap_user):
    imap_user.select("INBOX")
    typ, data = imap_user.store("1", "+FLAGS", "(\\Answered)")
    assert typ == "OK"
    assert b"\\Answered" in data[0]
