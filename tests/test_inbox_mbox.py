# The classic toolkit's ~/mbox mode (its EXTRADRIVERS=mbox), as the key
# inbox_mbox = yes: a user who has a ~/mbox reads it as INBOX, and mail the
# MTA delivers to the spool moves into it, losing nothing.
import os

import pytest

from helpers import mbox
from helpers.session import make_message

NEW = mbox.load("late.mbox")[0]


@pytest.fixture
def srv(server_with):
    return server_with("inbox_mbox = yes")


def home_mbox(user):
    return os.path.join(user.home, "mbox")


def make_home_mbox(user, entries=()):
    p = home_mbox(user)
    with open(p, "wb") as f:
        for e in entries:
            f.write(mbox.entry_bytes(e))
    os.chown(p, user.uid, user.gid)
    os.chmod(p, 0o600)


def bodies(c):
    r = c.command("FETCH 1:* BODY.PEEK[]")
    assert r.ok, r
    f = r.fetches()
    return [bytes(f[i]["BODY[]"]) for i in sorted(f)]


def test_spool_mail_moves_into_home_mbox(srv, open_to, fresh, user, spool, sample):
    old = make_message(1, 300, tag="kept")
    make_home_mbox(user, [old])
    spool.write(user, sample)
    c = open_to(srv, user)
    r = c.command("SELECT INBOX")
    assert r.ok and r.numbered("EXISTS") == [1 + len(sample)], r
    assert bodies(c) == [old.crlf()] + [e.crlf() for e in sample]
    # the spool is emptied: the messages live in ~/mbox now
    assert mbox.real_messages(spool.read(user)) == []
    assert len(mbox.real_messages(open(home_mbox(user), "rb").read())) == 1 + len(sample)
    # a delivery while selected arrives at the next NOOP
    spool.deliver(user, NEW)
    r = c.command("NOOP")
    assert r.ok and r.numbered("EXISTS") == [2 + len(sample)], r
    assert bodies(c)[-1] == NEW.crlf()
    assert mbox.real_messages(spool.read(user)) == []


def test_without_home_mbox_inbox_is_the_spool(srv, open_to, fresh, user, spool, sample):
    spool.write(user, sample)
    c = open_to(srv, user)
    r = c.command("SELECT INBOX")
    assert r.ok and r.numbered("EXISTS") == [len(sample)], r
    assert len(mbox.real_messages(spool.read(user))) == len(sample)
    assert not os.path.exists(home_mbox(user))


def test_examine_moves_nothing(srv, open_to, fresh, user, spool, sample):
    make_home_mbox(user)
    spool.write(user, sample)
    c = open_to(srv, user)
    r = c.command("EXAMINE INBOX")
    assert r.ok and r.numbered("EXISTS") == [0], r
    assert len(mbox.real_messages(spool.read(user))) == len(sample)


def test_idle_sees_spool_delivery(srv, open_to, fresh, user, spool, sample):
    """IDLE on the ~/mbox INBOX wakes for a delivery to the spool file."""
    import time
    from helpers.session import wait_response
    make_home_mbox(user)
    spool.write(user, sample)
    c = open_to(srv, user)
    assert c.command("SELECT INBOX").numbered("EXISTS") == [len(sample)]
    tag = c.next_tag()
    c.send("%s IDLE\r\n" % tag)
    assert c.read_response().startswith(b"+")
    time.sleep(0.3)
    spool.deliver(user, NEW)
    t0 = time.monotonic()
    resp = wait_response(c, 5)
    assert resp == b"* %d EXISTS" % (len(sample) + 1), resp
    assert time.monotonic() - t0 < 1.0
    c.send("DONE\r\n")
    assert c.read_until(tag).ok
    assert mbox.real_messages(spool.read(user)) == []
