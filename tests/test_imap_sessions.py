# Two sessions on one mailbox, as when a phone and a desktop client both have
# INBOX open (RFC 3501 5.2, 7.4.1): both stay usable, each learns of the
# other's flag changes, expunges and appends at its next NOOP, message
# numbers and UIDs stay consistent, and no EXPUNGE is sent while a non-UID
# FETCH, STORE or SEARCH is answered.
import pytest

from helpers import mbox
from helpers.imapclient import Lit
from helpers.session import View, bodies_by_id, make_message, upper

NEW_MAIL = mbox.load("late.mbox")[0]


@pytest.fixture
def pair(inbox, connect):
    """Two logged-in sessions of the same user, both with INBOX selected."""
    a, b = connect(), connect()
    for c in (a, b):
        r = c.command("SELECT INBOX")
        assert r.ok, r
        assert r.numbered("EXISTS") == [4], r.raw
    return a, b


def uids_of(c):
    f = c.command("FETCH 1:* UID").fetches()
    return [int(f[i]["UID"]) for i in sorted(f)]


def test_both_sessions_stay_alive(pair):
    a, b = pair
    ua, ub = uids_of(a), uids_of(b)
    assert ua == ub and len(ua) == 4
    for _ in range(3):
        for c in (a, b):
            r = c.command("NOOP")
            assert r.ok, r
            assert not r.named("BYE"), r.raw
    # both can still read and write
    assert a.command("FETCH 1 BODY.PEEK[HEADER]").ok
    assert b.command("STORE 1 +FLAGS (\\Answered)").ok
    assert a.command("FETCH 4 BODY.PEEK[]").ok
    for c in (a, b):
        r = c.command("SELECT INBOX")
        assert r.ok and "READ-WRITE" in r.codes(), r


def test_store_shows_in_other_session_at_noop(pair):
    a, b = pair
    r = a.command("STORE 2 +FLAGS (\\Flagged $Work)")
    assert r.ok, r
    r = b.command("NOOP")
    assert r.ok, r
    f = r.fetches()
    assert 2 in f, "no untagged FETCH for message 2 at NOOP: %r" % r.raw
    assert {"\\FLAGGED", "$WORK"} <= upper(f[2]["FLAGS"]), f[2]
    # and the removal too
    assert a.command("STORE 2 -FLAGS (\\Flagged)").ok
    f = b.command("NOOP").fetches()
    assert 2 in f and "\\FLAGGED" not in upper(f[2]["FLAGS"]), f
    # nothing else was reported as changed
    assert set(f) == {2}, f


def test_store_shows_after_the_writer_noops(pair):
    # the weaker property: once the writing session has had a NOOP
    a, b = pair
    assert a.command("STORE 3 +FLAGS (\\Seen)").ok
    assert a.command("NOOP").ok
    f = b.command("NOOP").fetches()
    assert 3 in f and "\\SEEN" in upper(f[3]["FLAGS"]), f
    assert "\\SEEN" in upper(b.command("FETCH 3 FLAGS").fetches()[3]["FLAGS"])


def test_expunge_shows_in_other_session_at_noop(pair, inbox):
    a, b = pair
    vb = View.of(b)
    before = list(vb.uids)
    assert a.command("STORE 2 +FLAGS.SILENT (\\Deleted)").ok
    r = a.command("EXPUNGE")
    assert r.ok and r.numbered("EXPUNGE") == [2], r.raw
    r = b.command("NOOP")
    assert r.ok, r
    assert r.numbered("EXPUNGE") == [2], r.raw
    vb.apply(r)
    assert vb.uids == [before[0], before[2], before[3]]
    # numbers and UIDs of the second session agree with the server
    assert uids_of(b) == vb.uids
    f = b.command("FETCH 2 BODY.PEEK[]").fetches()
    assert f[2]["BODY[]"] == inbox[2].crlf()
    r = b.command("UID FETCH %d BODY.PEEK[]" % before[3])
    assert r.fetches()[3]["BODY[]"] == inbox[3].crlf()


def test_several_expunges_renumber_consistently(pair, inbox):
    a, b = pair
    vb = View.of(b)
    before = list(vb.uids)
    assert a.command("STORE 1,3,4 +FLAGS.SILENT (\\Deleted)").ok
    assert a.command("EXPUNGE").ok
    r = b.command("NOOP")
    assert len(r.numbered("EXPUNGE")) == 3, r.raw
    vb.apply(r)
    assert vb.uids == [before[1]]
    assert uids_of(b) == [before[1]]
    f = b.command("FETCH 1 BODY.PEEK[]").fetches()
    assert f[1]["BODY[]"] == inbox[1].crlf()
    # the second session may now expunge as well without confusion
    assert b.command("STORE 1 +FLAGS.SILENT (\\Deleted)").ok
    r = b.command("EXPUNGE")
    assert r.ok and r.numbered("EXPUNGE") == [1], r.raw
    r = a.command("NOOP")
    assert r.numbered("EXPUNGE") == [1], r.raw
    assert uids_of(a) == []


def test_append_from_other_session_shows_as_exists(pair, connect):
    a, b = pair
    vb = View.of(b)
    c = connect()           # a third session that has nothing selected
    msg = make_message(1, 600, tag="appended")
    r = c.command("APPEND INBOX (\\Flagged) ", Lit(msg.crlf()))
    assert r.ok, r
    r = b.command("NOOP")
    assert r.ok, r
    assert r.numbered("EXISTS") == [5], r.raw
    vb.apply(r)
    vb.fill(b)
    assert vb.uids[4] > max(vb.uids[:4])
    f = b.command("FETCH 5 (BODY.PEEK[] FLAGS)").fetches()
    assert f[5]["BODY[]"] == msg.crlf()
    assert "\\FLAGGED" in upper(f[5]["FLAGS"])
    # the session that appended into the selected box (a) learns it too
    r = a.command("NOOP")
    assert r.numbered("EXISTS") == [5], r.raw


def test_append_from_the_other_selected_session(pair):
    a, b = pair
    msg = make_message(2, 300, tag="appended")
    r = a.command("APPEND INBOX ", Lit(msg.crlf()))
    assert r.ok, r
    # a may learn it now or at its next command; b at its NOOP
    ra = a.command("NOOP")
    assert 5 in r.numbered("EXISTS") + ra.numbered("EXISTS"), (r.raw, ra.raw)
    rb = b.command("NOOP")
    assert rb.numbered("EXISTS") == [5], rb.raw
    assert bodies_by_id(b)["<appended-2@test>"] == [msg.crlf()]


def test_examine_sees_changes_of_the_selecting_session(inbox, connect):
    ro, rw = connect(), connect()
    r = ro.command("EXAMINE INBOX")
    assert r.ok and "READ-ONLY" in r.codes(), r
    assert rw.command("SELECT INBOX").ok
    v = View.of(ro)
    before = list(v.uids)
    assert rw.command("STORE 1 +FLAGS (\\Answered)").ok
    # CHECK: the writer's changes are on disk whatever its write-back policy
    # (the strict "visible at once" case is test_store_shows_in_other_...)
    assert rw.command("CHECK").ok
    r = ro.command("NOOP")
    f = r.fetches()
    assert 1 in f and "\\ANSWERED" in upper(f[1]["FLAGS"]), r.raw
    assert rw.command("STORE 3 +FLAGS.SILENT (\\Deleted)").ok
    assert rw.command("EXPUNGE").ok
    msg = make_message(3, 500, tag="examined")
    assert rw.command("APPEND INBOX ", Lit(msg.crlf())).ok
    r = ro.command("NOOP")
    assert r.numbered("EXPUNGE") == [3], r.raw
    assert r.numbered("EXISTS") and r.numbered("EXISTS")[-1] == 4, r.raw
    v.apply(r)
    v.fill(ro)
    assert v.uids[:3] == [before[0], before[1], before[3]]
    assert uids_of(ro) == v.uids
    got = bodies_by_id(ro)
    assert got["<examined-3@test>"] == [msg.crlf()]
    assert got["<hello-1@example.org>"] == [inbox[0].crlf()]
    assert r.ok and "READ-ONLY" in ro.command("EXAMINE INBOX").codes()


def test_no_expunge_during_fetch_store_search(pair):
    # RFC 3501 7.4.1: another session expunged message 2; while this one
    # answers FETCH, STORE and SEARCH its numbering must not shift.
    a, b = pair
    vb = View.of(b)
    before = list(vb.uids)
    assert a.command("STORE 2 +FLAGS.SILENT (\\Deleted)").ok
    r = a.command("EXPUNGE")
    assert r.ok and r.numbered("EXPUNGE") == [2], r.raw

    r = b.command("FETCH 1:4 (UID FLAGS)")
    assert r.numbered("EXPUNGE") == [], "EXPUNGE during FETCH: %r" % r.raw
    assert all(n >= 4 for n in r.numbered("EXISTS")), r.raw
    # RFC 2180 4.1.1: the expunged message is still served from this
    # session's view until the EXPUNGE can be told (not 4.1.2's NO)
    assert r.status == "OK", r
    f = r.fetches()
    assert sorted(f) == [1, 2, 3, 4], r.raw
    for seq in (1, 2, 3, 4):   # every number still names the message it named
        assert int(f[seq]["UID"]) == before[seq - 1], (seq, f)

    r = b.command("STORE 3 +FLAGS (\\Seen)")
    assert r.numbered("EXPUNGE") == [], "EXPUNGE during STORE: %r" % r.raw
    f = r.fetches()
    assert 3 in f and "\\SEEN" in upper(f[3]["FLAGS"]), r.raw

    r = b.command("SEARCH ALL")
    assert r.numbered("EXPUNGE") == [], "EXPUNGE during SEARCH: %r" % r.raw
    hits = r.search()
    assert hits == [1, 2, 3, 4], hits     # the view's four, as FETCH saw them

    r = b.command("NOOP")
    assert r.numbered("EXPUNGE") == [2], "NOOP did not deliver the EXPUNGE: %r" % r.raw
    vb.apply(r)
    assert vb.uids == [before[0], before[2], before[3]]
    assert uids_of(b) == vb.uids
    # the flag set during the pending expunge went to the right message
    f = b.command("FETCH 2 (UID FLAGS)").fetches()
    assert int(f[2]["UID"]) == before[2] and "\\SEEN" in upper(f[2]["FLAGS"])


def test_no_expunge_during_fetch_of_bodies(pair, inbox):
    # the message numbers in a FETCH BODY[] response are the old ones
    a, b = pair
    assert a.command("STORE 1 +FLAGS.SILENT (\\Deleted)").ok
    assert a.command("EXPUNGE").ok
    r = b.command("FETCH 2:4 BODY.PEEK[]")
    assert r.numbered("EXPUNGE") == [], r.raw
    f = r.fetches()
    assert [f[i]["BODY[]"] for i in (2, 3, 4)] == [e.crlf() for e in inbox[1:]]
    assert b.command("NOOP").numbered("EXPUNGE") == [1]


def test_flag_change_survives_other_sessions_expunge(pair, connect):
    # a sets a flag, b expunges another message before a has written
    # anything; neither change may be lost
    a, b = pair
    before = uids_of(a)
    assert a.command("STORE 3 +FLAGS (\\Flagged)").ok
    assert b.command("STORE 1 +FLAGS.SILENT (\\Deleted)").ok
    assert b.command("EXPUNGE").numbered("EXPUNGE") == [1]
    r = a.command("NOOP")
    assert r.numbered("EXPUNGE") == [1], r.raw
    assert uids_of(a) == before[1:]
    for c in (a, b):
        c.command("NOOP")
        f = c.command("UID FETCH %d FLAGS" % before[2]).fetches()
        assert "\\FLAGGED" in upper(list(f.values())[0]["FLAGS"]), f
    c = connect()
    c.command("SELECT INBOX")
    assert uids_of(c) == before[1:]
    f = c.command("FETCH 2 FLAGS").fetches()
    assert "\\FLAGGED" in upper(f[2]["FLAGS"]), f


def test_flags_from_both_sessions_are_merged(pair, connect):
    # two clients flag the same message differently at about the same time
    a, b = pair
    assert a.command("STORE 1 +FLAGS (\\Flagged)").ok
    assert b.command("STORE 1 +FLAGS (\\Answered)").ok
    assert a.command("NOOP").ok
    assert b.command("NOOP").ok
    assert a.command("NOOP").ok
    c = connect()
    c.command("SELECT INBOX")
    f = c.command("FETCH 1 FLAGS").fetches()
    assert {"\\FLAGGED", "\\ANSWERED"} <= upper(f[1]["FLAGS"]), f
    for s in (a, b):
        f = s.command("FETCH 1 FLAGS").fetches()
        assert {"\\FLAGGED", "\\ANSWERED"} <= upper(f[1]["FLAGS"]), f
