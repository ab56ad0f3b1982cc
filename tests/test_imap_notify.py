# NOTIFY (RFC 5465): with no command running, the session tells what another
# process changed: EXISTS/EXPUNGE/FETCH for the selected mailbox, STATUS for
# the others the client named; it waits on the mailboxes' inotify watches,
# so a delivery reaches the client in under a second; IDLE hears the same.
import os
import select
import time

import pytest

from helpers import mailstore, mbox, system
from helpers.imapclient import parse
from helpers.mbox import Entry
from helpers.session import server_pid, wait_response

MAIL_FORMATS = mailstore.FORMATS

FIRST = Entry(b"From: a@example.org\nSubject: first\n\nfirst\n")
NEW = Entry(b"From: b@example.org\nSubject: news\n\nhello\n")


def timed(c, within=1.0):
    """The next response, which must come within the time a watch gives."""
    t0 = time.monotonic()
    resp = wait_response(c, 3)
    waited = time.monotonic() - t0
    assert resp is not None, "nothing within 3 s"
    assert waited < within, "%r took %.2f s" % (resp, waited)
    return resp


def silent(c, seconds):
    """Nothing arrives from the server for that long."""
    return select.select([c.sock], [], [], seconds)[0] == []


def arriving(c, seconds):
    """Every response the server sends unasked within that long."""
    got, end = [], time.monotonic() + seconds
    while select.select([c.sock], [], [], max(0, end - time.monotonic()))[0]:
        got.append(c.read_response())
    return got


def status_of(c, name):
    r = c.command("STATUS %s (MESSAGES UIDNEXT UIDVALIDITY)" % name)
    assert r.ok, r
    return dict(zip(*[iter(r.named("STATUS")[0][2])] * 2))


@pytest.fixture
def notified(inbox_one, client):
    return client


@pytest.fixture
def inbox_one(mail_store, user):
    """An INBOX holding one message, in every format."""
    mail_store.write(user, [FIRST])
    return mail_store


def test_selected_events_without_a_command(inbox_one, user, notified, connect):
    c = notified
    assert c.command("SELECT INBOX").ok
    r = c.command("NOTIFY SET (SELECTED (MessageNew MessageExpunge FlagChange))")
    assert r.ok and r.raw == []
    time.sleep(0.2)
    inbox_one.deliver(user, NEW)
    assert timed(c) == b"* 2 EXISTS"
    assert wait_response(c, 3) == b"* 2 RECENT"   # FIRST is new to this session too
    other = connect()
    assert other.command("SELECT INBOX").ok
    assert other.command("STORE 1 +FLAGS.SILENT (\\Flagged)").ok
    resp = timed(c)
    assert resp == b"* 1 FETCH (UID 1 FLAGS (\\Flagged \\Recent))"
    assert other.command("STORE 2 +FLAGS.SILENT (\\Deleted)").ok
    assert other.command("EXPUNGE").ok
    while not resp.endswith(b"EXPUNGE"):
        resp = timed(c)
    assert resp == b"* 2 EXPUNGE"
    assert c.command("NOOP").ok


def test_inboxes_status_while_another_is_selected(inbox_one, user, notified):
    c = notified
    assert c.command("CREATE Other").ok
    before = status_of(c, "INBOX")
    assert c.command("SELECT Other").ok
    assert c.command("NOTIFY SET (SELECTED (MessageNew MessageExpunge)) "
                     "(INBOXES (MessageNew MessageExpunge))").ok
    time.sleep(0.2)
    inbox_one.deliver(user, NEW)
    assert timed(c) == b"* STATUS INBOX (MESSAGES 2 UIDNEXT %d UIDVALIDITY %d)" % (
        int(before["UIDNEXT"]) + 1, int(before["UIDVALIDITY"]))
    assert silent(c, 0.5)


def test_idle_hears_notify_mailboxes(inbox_one, user, notified):
    c = notified
    assert c.command("CREATE Other").ok
    assert c.command("SELECT Other").ok
    assert c.command("NOTIFY SET (INBOXES (MessageNew MessageExpunge FlagChange))").ok
    tag = c.next_tag()
    c.send("%s IDLE\r\n" % tag)
    assert c.read_response().startswith(b"+")
    time.sleep(0.2)
    inbox_one.deliver(user, NEW)
    resp = timed(c)
    assert resp.startswith(b"* STATUS INBOX (MESSAGES 2 UIDNEXT ") and \
        resp.endswith(b" UNSEEN 2)"), resp
    c.send("DONE\r\n")
    assert c.read_until(tag).ok


@pytest.mark.mbox_only("the filters and the grammar; the watch is the selected tests'")
def test_status_indicator_personal_and_none(inbox_one, user, notified):
    c = notified
    assert c.command("CREATE Other").ok
    r = c.command("NOTIFY SET STATUS (PERSONAL (MessageNew MessageExpunge))")
    assert r.ok
    got = sorted(parse(x[2:])[1] for x in r.raw)
    assert got == ["INBOX", "Other"] and all(x.startswith(b"* STATUS ") for x in r.raw)
    assert c.command("NOTIFY NONE").ok
    inbox_one.deliver(user, NEW)
    assert silent(c, 1.5)
    r = c.command("STATUS INBOX (MESSAGES)")
    assert r.raw == [b"* STATUS INBOX (MESSAGES 2)"]


@pytest.mark.mbox_only("the grammar alone")
@pytest.mark.parametrize("args,status,code", [
    ("SET (SELECTED (MessageNew))", "BAD", None),
    ("SET (SELECTED (FlagChange))", "BAD", None),
    ("SET (SELECTED NONE) (SELECTED-DELAYED NONE)", "BAD", None),
    ("SET (NOWHERE (MessageNew MessageExpunge))", "BAD", None),
    ("SET (INBOXES (MessageNew (UID) MessageExpunge))", "BAD", None),
    ("SET (INBOXES (MessageNew MessageExpunge AnnotationChange))", "NO",
     "BADEVENT (MessageNew MessageExpunge FlagChange MailboxName SubscriptionChange "
     "MailboxMetadataChange ServerMetadataChange)"),
    ("SET (INBOXES (MessageNew MessageExpunge MailboxName))", "OK", None),
    ("SET (MAILBOXES (INBOX Nowhere) (MessageNew MessageExpunge))", "OK", None),
    ("SET (SUBTREE INBOX NONE) (SELECTED-DELAYED (MessageNew MessageExpunge))", "OK", None),
])
def test_grammar(inbox_one, notified, args, status, code):
    r = notified.command("NOTIFY " + args)
    assert (r.status, r.code) == (status, code), r


@pytest.mark.mbox_only("a capability")
def test_capability(notified):
    caps = notified.command("CAPABILITY").named("CAPABILITY")[0]
    assert "NOTIFY" in caps


@pytest.mark.mbox_only("a spool file that does not exist yet")
def test_inboxes_status_for_a_first_delivery(mail_store, user, client):
    assert client.command("CREATE Other").ok
    assert client.command("SELECT Other").ok
    assert client.command("NOTIFY SET (INBOXES (MessageNew MessageExpunge))").ok
    time.sleep(0.2)
    mail_store.deliver(user, NEW)
    resp = timed(client)
    assert resp.startswith(b"* STATUS INBOX (MESSAGES 1 UIDNEXT 2 UIDVALIDITY "), resp


def test_selected_delayed_keeps_expunges_for_a_command(inbox_one, user, notified, connect):
    c = notified
    inbox_one.deliver(user, NEW)
    assert c.command("SELECT INBOX").ok
    assert c.command("NOTIFY SET (SELECTED-DELAYED (MessageNew MessageExpunge))").ok
    other = connect()
    assert other.command("SELECT INBOX").ok
    assert other.command("STORE 1 +FLAGS.SILENT (\\Deleted)").ok
    assert other.command("EXPUNGE").ok
    # the flag change may be told; the expunge must wait for a command
    assert not [x for x in arriving(c, 1.0) if x.endswith(b"EXPUNGE")]
    assert c.command("NOOP").numbered("EXPUNGE") == [1]


@pytest.mark.mbox_only("the watch, not the format: one slow check of the wait")
def test_waits_without_polling(inbox_one, user, notified):
    """Between commands the session sleeps on its watches: no wake-ups while
    nothing happens (a 5-second poll would show in 6 seconds), then the
    STATUS at once."""
    c = notified
    assert c.command("CREATE Other").ok
    assert c.command("SELECT Other").ok
    assert c.command("NOTIFY SET (SELECTED (MessageNew MessageExpunge)) "
                     "(INBOXES (MessageNew MessageExpunge))").ok
    pid = server_pid(c)
    assert pid, "no session process found"
    time.sleep(0.3)

    def switches():
        return int(system.proc_status(pid)["voluntary_ctxt_switches"][0])
    before = switches()
    time.sleep(6)
    assert switches() == before, "the session woke up with nothing to do"
    inbox_one.deliver(user, NEW)
    assert timed(c).startswith(b"* STATUS INBOX (MESSAGES 2 ")


@pytest.mark.mbox_only("the spool file's owner, which only the spool formats have")
def test_inboxes_status_when_root_creates_the_spool_file_first(mail_store, user, client):
    """An MDA running as root (procmail, a local delivery agent) may create the
    spool file as root and hand it to the user a moment later: the session,
    which cannot open it in between, still tells the delivery that follows."""
    assert client.command("CREATE Other").ok
    assert client.command("SELECT Other").ok
    assert client.command("NOTIFY SET (INBOXES (MessageNew MessageExpunge))").ok
    time.sleep(0.2)
    path = mail_store.spool.path(user)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        assert silent(client, 0.5)
        os.fchown(fd, user.uid, mail_store.spool.mail_gid)
        os.fchmod(fd, 0o660)
    finally:
        os.close(fd)
    mail_store.deliver(user, NEW)
    resp = timed(client)
    assert resp.startswith(b"* STATUS INBOX (MESSAGES 1 UIDNEXT 2 UIDVALIDITY "), resp


@pytest.mark.mbox_only("the spool file's owner, which only the spool formats have")
def test_inboxes_status_when_root_replaces_the_spool_file(inbox_one, user, notified):
    """Root renames its own file over the user's spool file (a repair, an
    MDA's rewrite) and hands it over later: while the session cannot open it
    it neither spins nor tells anything; once it is the user's, the STATUS
    comes with the next retry (every 5 s)."""
    c = notified
    assert c.command("CREATE Other").ok
    assert c.command("SELECT Other").ok
    assert c.command("NOTIFY SET (INBOXES (MessageNew MessageExpunge))").ok
    pid = server_pid(c)
    assert pid, "no session process found"
    time.sleep(0.2)
    path = inbox_one.spool.path(user)
    tmp = path + ".root"
    with open(tmp, "wb") as f:
        f.write(mbox.entry_bytes(FIRST) + mbox.entry_bytes(NEW))
    os.chmod(tmp, 0o600)
    os.rename(tmp, path)

    def switches():
        st = system.proc_status(pid)
        return int(st["voluntary_ctxt_switches"][0]) + int(st["nonvoluntary_ctxt_switches"][0])
    time.sleep(0.3)
    before = switches()
    assert silent(c, 2)
    assert switches() - before <= 4, "the session spun while the file was root's"
    os.chown(path, user.uid, inbox_one.spool.mail_gid)
    os.chmod(path, 0o660)
    resp = wait_response(c, 7)
    assert resp is not None and resp.startswith(b"* STATUS INBOX (MESSAGES 2 UIDNEXT 3 "), resp
