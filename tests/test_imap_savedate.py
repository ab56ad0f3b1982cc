# SAVEDATE (RFC 8514) on every mailbox format: FETCH SAVEDATE is when the
# message came into the mailbox: where the format records it, its own
# (Maildir: the seconds its file name begins with; MH: the file's ctime),
# elsewhere (mbox, MMDF, mbx, mix) the time a session first recorded the
# UID in the user's index (~/.imapd-cache, beside the modseqs), kept from
# then on. SEARCH SAVEDBEFORE/SAVEDON/SAVEDSINCE compare it (the internal
# date standing in where no index can be kept) and SAVEDATESUPPORTED
# matches the messages that have one.
import os
import time

import pytest

from helpers import mailstore
from helpers.imapclient import Lit
from helpers.mbox import Entry
from test_imap_condstore import message, ok

MAIL_FORMATS = mailstore.FORMATS
KEEPS_SAVE_DATE = ("maildir", "mh")   # the others' dates are in the index

OLD = b"Subject: written long ago\r\n\r\nold\r\n"


def imap_date(t):
    return time.strftime("%d-%b-%Y %H:%M:%S +0000", time.gmtime(t))


def imap_day(t):
    return time.strftime("%d-%b-%Y", time.gmtime(t))


def next_second():
    """Wait until the clock's second changes, so what is dated after it has
    a later date than what was dated before."""
    time.sleep(1.01 - time.time() % 1)


def in_range(date, before, after):
    return date is not None and date.decode() in {imap_date(t) for t in range(before, after + 1)}


def saved(r):
    """{msgno: SAVEDATE} of the FETCH responses of r (None for NIL)."""
    return {n: a["SAVEDATE"] for n, a in r.fetches().items()}


def name_seconds(user):
    """The leading seconds of the INBOX Maildir's file names, by UID order
    (the names' order)."""
    md = os.path.join(user.home, "Maildir")
    names = os.listdir(os.path.join(md, "cur")) + os.listdir(os.path.join(md, "new"))
    return sorted(int(n.split(".")[0]) for n in names)


def save_seconds(mail_store, user):
    """The save dates the INBOX's format records, in UID order."""
    if mail_store.format == "maildir":
        return name_seconds(user)
    d = mail_store.inbox_path(user)
    return [int(os.stat(os.path.join(d, n)).st_ctime)
            for n in sorted((n for n in os.listdir(d) if n.isdigit()), key=int)]


@pytest.fixture
def two(mail_store, user, connect):
    """INBOX holds two messages delivered by an MTA, selected."""
    mail_store.write(user, [message(1), message(2)])
    c = connect()
    ok(c.command("SELECT INBOX"))
    return c


def test_capability(client):
    caps = ok(client.command("CAPABILITY")).named("CAPABILITY")[0]
    assert "SAVEDATE" in caps, caps


def test_fetch_savedate(two, mail_store, user):
    before = int(time.time())
    r = ok(two.command("FETCH 1:2 (SAVEDATE)"))
    after = int(time.time())
    if mail_store.format in KEEPS_SAVE_DATE:
        want = [imap_date(t) for t in save_seconds(mail_store, user)]
        assert r.raw == [b'* 1 FETCH (SAVEDATE "%s")' % want[0].encode(),
                         b'* 2 FETCH (SAVEDATE "%s")' % want[1].encode()], r.raw
    else:
        # delivered by an MTA: dated when first recorded, by this FETCH
        assert all(in_range(d, before, after) for d in saved(r).values()), r.raw
    assert ok(two.command("SEARCH SAVEDATESUPPORTED")).search() == [1, 2]


def test_delivery_dated_and_kept_across_sessions_and_restart(two, mail_store, user, server,
                                                              connect):
    c = two
    first = saved(ok(c.command("FETCH 1:2 (SAVEDATE)")))
    next_second()
    before = int(time.time())
    mail_store.deliver(user, message(3))
    ok(c.command("NOOP"))
    dates = saved(ok(c.command("FETCH 1:3 (SAVEDATE)")))
    after = int(time.time())
    if mail_store.format in KEEPS_SAVE_DATE:
        # the format's own date (the test store names Maildir files itself)
        assert dates[3] == imap_date(save_seconds(mail_store, user)[2]).encode(), dates
    else:
        assert in_range(dates[3], before, after) and dates[3] > first[2], dates
    assert {1: dates[1], 2: dates[2]} == first
    ok(c.command("LOGOUT"))
    next_second()
    again = connect()
    ok(again.command("SELECT INBOX"))
    assert saved(ok(again.command("FETCH 1:3 (SAVEDATE)"))) == dates
    ok(again.command("LOGOUT"))
    server.stop()
    server.start()
    after_restart = connect()
    ok(after_restart.command("EXAMINE INBOX"))
    assert saved(ok(after_restart.command("FETCH 1:3 (SAVEDATE)"))) == dates


def test_append_is_saved_now_not_at_its_internal_date(two, mail_store):
    c = two
    before = int(time.time())
    ok(c.command('APPEND INBOX "01-Jan-2015 00:05:00 -0500" ', Lit(OLD)))
    after = int(time.time())
    r = ok(c.command("FETCH 3 (INTERNALDATE SAVEDATE)"))
    f = r.fetches()[3]
    # the same instant; mbox and MMDF keep it in UTC
    assert f["INTERNALDATE"] in (b"01-Jan-2015 00:05:00 -0500", b"01-Jan-2015 05:05:00 +0000")
    today = imap_day(after)
    assert in_range(f["SAVEDATE"], before, after), r.raw
    assert 3 in ok(c.command("SEARCH SAVEDSINCE " + today)).search()
    assert 3 not in ok(c.command("SEARCH SAVEDBEFORE 1-Jan-2016")).search()
    assert ok(c.command("SEARCH SAVEDON 1-Jan-2015")).search() == []
    # the internal date answers SINCE
    assert 3 not in ok(c.command("SEARCH SINCE " + today)).search()
    # a copy is saved in its new mailbox now, whatever its first one said
    ok(c.command("CREATE Kept"))
    ok(c.command("COPY 1 Kept"))
    ok(c.command("SELECT Kept"))
    copied = saved(ok(c.command("FETCH 1 (SAVEDATE)")))[1]
    assert in_range(copied, before, int(time.time())), copied


@pytest.mark.mbox_only("the search keys' syntax does not depend on the format")
@pytest.mark.parametrize("keys", ["SAVEDBEFORE", "SAVEDON 2015-01-01", "SAVEDSINCE (1-Jan-2015)"])
def test_bad_keys(two, keys):
    r = two.command("SEARCH " + keys)
    assert r.status == "BAD" and r.text.startswith("SEARCH: "), r


def test_flag_changes_keep_the_save_date(two):
    """A Maildir flag change renames the file (and moves its ctime): the
    save date comes from the name, so it stays. MH keeps flags in
    .mh_sequences: the file and its ctime stay as they were. The index's
    record of the others gets a new modseq and keeps its date."""
    first = saved(ok(two.command("FETCH 1 (SAVEDATE)")))
    next_second()
    ok(two.command("STORE 1 +FLAGS (\\Flagged \\Seen)"))
    ok(two.command("CHECK"))
    assert saved(ok(two.command("FETCH 1 (SAVEDATE)"))) == first
    assert first[1] is not None, first


@pytest.mark.mbox_only("the index is the same for every format that has no dates of its own")
def test_no_index_no_date(mail_store, user, connect):
    """Where the index cannot be kept (~/.imapd-cache is no directory),
    SAVEDATE is NIL and the internal date stands in for the searches."""
    cache = os.path.join(user.home, ".imapd-cache")
    with open(cache, "w"):
        pass
    os.chown(cache, user.uid, user.gid)
    # an mbox is not rewritten without the index's journal: read-only
    mail_store.write(user, [message(1), Entry(OLD, date="Thu Jan  1 05:05:00 2015")])
    c = connect()
    ok(c.command("EXAMINE INBOX"))
    r = ok(c.command("FETCH 1:2 (SAVEDATE)"))
    assert r.raw == [b"* 1 FETCH (SAVEDATE NIL)", b"* 2 FETCH (SAVEDATE NIL)"], r.raw
    assert ok(c.command("SEARCH SAVEDATESUPPORTED")).search() == []
    assert ok(c.command("SEARCH SAVEDON 1-Jan-2015")).search() == [2]
    assert ok(c.command("SEARCH SAVEDSINCE 1-Jan-2016")).search() == [1]


@pytest.mark.mbox_only("the index is the same for every format that has no dates of its own")
def test_lost_index_dates_anew(two, user, connect):
    """The index lost, a message is dated when it is seen again."""
    first = saved(ok(two.command("FETCH 1 (SAVEDATE)")))[1]
    ok(two.command("LOGOUT"))
    cache = os.path.join(user.home, ".imapd-cache")
    for n in os.listdir(cache):
        if n.endswith(".msq"):
            os.unlink(os.path.join(cache, n))
    next_second()
    before = int(time.time())
    c = connect()
    ok(c.command("SELECT INBOX"))
    again = saved(ok(c.command("FETCH 1 (SAVEDATE)")))[1]
    assert in_range(again, before, int(time.time())) and again != first, (first, again)


@pytest.mark.mbox_only("an MH folder made by CREATE #driver.mh, beside any INBOX")
def test_mh_save_date_is_the_files_ctime(client, user):
    c = client
    ok(c.command("CREATE #driver.mh/notes"))
    ok(c.command('APPEND notes "01-Jan-2015 00:05:00 -0500" ', Lit(OLD)))
    ok(c.command("SELECT notes"))
    ctime = os.stat(os.path.join(user.home, "notes", "1")).st_ctime
    r = ok(c.command("FETCH 1 (SAVEDATE)"))
    assert r.raw == [b'* 1 FETCH (SAVEDATE "%s")' % imap_date(ctime).encode()], r.raw
    assert ok(c.command("SEARCH SAVEDATESUPPORTED SAVEDSINCE " + imap_day(ctime))).search() == [1]
