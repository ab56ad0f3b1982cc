# NOTIFY's MailboxName and SubscriptionChange events (RFC 5465 5.4, 5.5):
# a mailbox made, renamed or deleted, or a subscription changed, by another
# session of the same user reaches a client that only waits, as an untagged
# LIST (\NonExistent for a deleted name, OLDNAME for a renamed one), through
# an inotify watch on the directories holding the names: never polled, and
# a link planted under a mailbox's name is neither followed nor reported.
import os
import select
import time

import pytest

from helpers import mailstore, system
from helpers.session import server_pid

MAIL_FORMATS = mailstore.FORMATS


def unasked(c, seconds, first=None):
    """What the server sends unasked: the first within `first` seconds (or
    `seconds`), the rest until `seconds` pass with nothing more."""
    got = []
    while buffered(c) or select.select([c.sock], [], [], seconds if got or first is None
                                       else first)[0]:
        got.append(c.read_response())
    return got


def news(c, first=1.0, quiet=0.3):
    """What the server sends unasked, which must start within `first`
    seconds (a watch, not a poll) and ends with `quiet` seconds of nothing."""
    t0 = time.monotonic()
    got = unasked(c, quiet, first)
    assert got, "nothing within %.1f s" % first
    assert time.monotonic() - t0 < first + 2 * quiet + 0.5
    return got


def buffered(c):
    """Has the reader already taken in more (two lines in one segment)?"""
    old = c.sock.gettimeout()
    c.sock.settimeout(0)
    try:
        return bool(c.f.peek(1))
    finally:
        c.sock.settimeout(old)


def listed(c, name):
    """The LIST line another client gets for name now."""
    r = c.command('LIST "" %s' % name)
    assert r.ok and len(r.raw) == 1, r
    return r.raw[0]


def listed_subscribed(c, name):
    """The LIST line with LIST-EXTENDED's \\Subscribed where it applies."""
    r = c.command('LIST "" %s RETURN (SUBSCRIBED CHILDREN)' % name)
    assert r.ok and len(r.raw) == 1, r
    return r.raw[0]


@pytest.fixture
def pair(connect):
    """Two sessions of the same user: the first waits, the second acts."""
    return connect(), connect()


def test_create_rename_delete_and_subscriptions(pair):
    watcher, other = pair
    assert watcher.command("NOTIFY SET (PERSONAL (MailboxName SubscriptionChange))").ok
    assert unasked(watcher, 0.2) == []
    assert other.command("CREATE Foo").ok
    assert news(watcher) == [listed(other, "Foo")]
    assert other.command("RENAME Foo Bar").ok
    assert news(watcher) == [listed(other, "Bar") + b' ("OLDNAME" (Foo))']
    assert other.command("SUBSCRIBE Bar").ok
    assert news(watcher) == [listed_subscribed(other, "Bar")]
    assert b"\\Subscribed" in listed_subscribed(other, "Bar")
    assert other.command("UNSUBSCRIBE Bar").ok
    assert news(watcher) == [listed(other, "Bar")]
    assert other.command("DELETE Bar").ok
    assert news(watcher) == [b'* LIST (\\NonExistent) "/" Bar']
    assert unasked(watcher, 0.3) == []


@pytest.mark.mbox_only("the filters, not the format")
def test_filters_reach_their_names_only(pair):
    watcher, other = pair
    assert other.command("CREATE Work/").ok
    r = watcher.command("NOTIFY SET STATUS (SUBTREE Work (MailboxName)) "
                        "(MAILBOXES Lists (SubscriptionChange))")
    # STATUS is about messages: no event here asks for their counts
    assert r.ok and r.raw == []
    for cmd in ("CREATE Play", "SUBSCRIBE Play", "CREATE Lists", "CREATE Workshop"):
        assert other.command(cmd).ok
    assert unasked(watcher, 0.4) == []
    assert other.command("CREATE Work/Done").ok
    got = news(watcher)
    # the new child, and its parent, which now has children
    assert sorted(got) == sorted([listed(other, "Work/Done"), listed(other, "Work")])
    assert other.command("SUBSCRIBE Lists").ok
    assert news(watcher) == [listed_subscribed(other, "Lists")]
    assert other.command("NOOP").ok and watcher.command("NOTIFY NONE").ok
    assert other.command("DELETE Work/Done").ok
    assert unasked(watcher, 0.4) == []


@pytest.mark.mbox_only("the METADATA file is the same in every format")
def test_metadata_changes(pair):
    """RFC 5465 5.7, 5.8: an entry set, changed or removed by another
    session is told as RFC 5464 4.4.2's unsolicited METADATA, entry names
    only; writing a value that was already there tells nothing."""
    watcher, other = pair
    assert other.command("CREATE Notes").ok
    assert watcher.command("NOTIFY SET (MAILBOXES INBOX (MailboxMetadataChange "
                           "ServerMetadataChange))").ok
    assert other.command('SETMETADATA INBOX (/private/comment "x")').ok
    assert news(watcher) == [b"* METADATA INBOX /private/comment"]
    assert other.command('SETMETADATA "" (/shared/admin "mailto:a@example.org")').ok
    assert news(watcher) == [b'* METADATA "" /shared/admin']
    assert other.command('SETMETADATA INBOX (/private/comment "x")').ok
    assert other.command('SETMETADATA Notes (/private/comment "not asked")').ok
    assert unasked(watcher, 0.4) == []
    assert other.command('SETMETADATA INBOX (/private/comment "y" /shared/comment "z")').ok
    assert sorted(news(watcher)) == [b"* METADATA INBOX /private/comment",
                                     b"* METADATA INBOX /shared/comment"]
    assert other.command("SETMETADATA INBOX (/private/comment NIL)").ok
    assert news(watcher) == [b"* METADATA INBOX /private/comment"]


@pytest.mark.mbox_only("IDLE's wait, not the format")
def test_idle_hears_name_events(pair):
    watcher, other = pair
    assert watcher.command("NOTIFY SET (PERSONAL (MailboxName))").ok
    tag = watcher.next_tag()
    watcher.send("%s IDLE\r\n" % tag)
    assert watcher.read_response().startswith(b"+")
    assert other.command("CREATE Idled").ok
    assert news(watcher) == [listed(other, "Idled")]
    watcher.send("DONE\r\n")
    assert watcher.read_until(tag).ok


@pytest.mark.mbox_only("the grammar alone")
def test_badevent_names_what_is_sent(pair):
    watcher, _ = pair
    r = watcher.command("NOTIFY SET (PERSONAL (MailboxName AnnotationChange))")
    assert (r.status, r.code) == ("NO", "BADEVENT (MessageNew MessageExpunge FlagChange "
                                        "MailboxName SubscriptionChange "
                                        "MailboxMetadataChange ServerMetadataChange)")


def test_planted_link_is_no_mailbox(pair, mail_store, user):
    """A link named like a mailbox, to a real one of the user: not followed
    (it would list as a second mailbox), not reported; the watch still
    tells the real mailbox made after it."""
    watcher, other = pair
    assert other.command("CREATE Real").ok
    assert watcher.command("NOTIFY SET (PERSONAL (MailboxName))").ok
    link = mail_store.folder_path(user, "Evil")
    os.symlink(mail_store.folder_path(user, "Real"), link)
    os.lchown(link, user.uid, user.gid)
    assert unasked(watcher, 0.4) == []
    assert other.command("CREATE Good").ok
    assert news(watcher) == [listed(other, "Good")]
    assert other.command('LIST "" Evil').raw == []


@pytest.mark.mbox_only("the watch, not the format: one slow check of the wait")
def test_names_watch_waits_without_polling(pair):
    watcher, other = pair
    assert watcher.command("NOTIFY SET (PERSONAL (MailboxName SubscriptionChange))").ok
    pid = server_pid(watcher)
    assert pid, "no session process found"
    time.sleep(0.3)

    def switches():
        return int(system.proc_status(pid)["voluntary_ctxt_switches"][0])
    before = switches()
    time.sleep(3)
    assert switches() == before, "the session woke up with nothing to do"
    assert other.command("CREATE Late").ok
    assert news(watcher) == [listed(other, "Late")]


MSG = b"From: a@example.org\r\nSubject: hi\r\n\r\nhello\r\n"


def status_now(c, box):
    r = c.command("STATUS %s (MESSAGES UIDNEXT UIDVALIDITY)" % box)
    assert r.ok and len(r.raw) == 1, r
    return r.raw[0]


def appended_and_told(watcher, other, box, count):
    """other appends to box; watcher is told at once what a STATUS shows
    (one read while the append is under way may come first)."""
    assert other.command("APPEND %s {%d+}\r\n" % (box, len(MSG)) + MSG.decode()).ok
    got = news(watcher)
    assert all(x.startswith(b"* STATUS %s " % box.encode()) for x in got)
    assert got[-1] == status_now(other, box)
    assert b"(MESSAGES %d " % count in got[-1]


@pytest.mark.mbox_only("following names is the names watch's; each format's message watch "
                       "is test_imap_notify's")
def test_message_filters_follow_new_names(pair):
    """RFC 5465 6.1: PERSONAL means the mailboxes as they are now, not at
    NOTIFY SET: one made later, or renamed, has its messages told; one
    deleted is no longer watched."""
    watcher, other = pair
    assert watcher.command("NOTIFY SET (PERSONAL (MessageNew MessageExpunge))").ok
    assert other.command("CREATE Later").ok
    assert unasked(watcher, 0.3) == []   # no MailboxName asked: no LIST
    appended_and_told(watcher, other, "Later", 1)
    assert other.command("RENAME Later Moved").ok
    # no LIST (no MailboxName asked); MH gives a renamed folder a new
    # UIDVALIDITY, which a STATUS may tell (RFC 5465 5.1), if it was read first
    assert all(x == status_now(other, "Moved") for x in unasked(watcher, 0.3))
    appended_and_told(watcher, other, "Moved", 2)
    # mbx refuses to delete a mailbox open elsewhere, as the watcher's
    # STATUS read of it may be for a moment: the user tries again
    for _ in range(20):
        r = other.command("DELETE Moved")
        if r.code != "INUSE":
            break
        time.sleep(0.1)
    assert r.ok, r
    assert unasked(watcher, 0.3) == []
