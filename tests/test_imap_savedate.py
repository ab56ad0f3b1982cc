# SAVEDATE (RFC 8514) on every mailbox format: FETCH SAVEDATE is when the
# message came into the mailbox where the format records it (Maildir: the
# seconds its file name begins with; MH: the file's ctime), NIL elsewhere,
# as Dovecot answers for
# an mbox; SEARCH SAVEDBEFORE/SAVEDON/SAVEDSINCE compare it (the internal
# date standing in where there is none) and SAVEDATESUPPORTED matches the
# messages that have one.
import os
import time

import pytest

from helpers import mailstore
from helpers.imapclient import Lit
from test_imap_condstore import message, ok

MAIL_FORMATS = mailstore.FORMATS
KEEPS_SAVE_DATE = ("maildir", "mh")

OLD = b"Subject: written long ago\r\n\r\nold\r\n"


def imap_date(t):
    return time.strftime("%d-%b-%Y %H:%M:%S +0000", time.gmtime(t))


def imap_day(t):
    return time.strftime("%d-%b-%Y", time.gmtime(t))


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
    r = ok(two.command("FETCH 1:2 (SAVEDATE)"))
    if mail_store.format in KEEPS_SAVE_DATE:
        want = [imap_date(t) for t in save_seconds(mail_store, user)]
        assert r.raw == [b'* 1 FETCH (SAVEDATE "%s")' % want[0].encode(),
                         b'* 2 FETCH (SAVEDATE "%s")' % want[1].encode()], r.raw
    else:
        assert r.raw == [b"* 1 FETCH (SAVEDATE NIL)", b"* 2 FETCH (SAVEDATE NIL)"], r.raw
    supported = ok(two.command("SEARCH SAVEDATESUPPORTED")).search()
    assert supported == ([1, 2] if mail_store.format in KEEPS_SAVE_DATE else [])


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
    if mail_store.format in KEEPS_SAVE_DATE:
        assert f["SAVEDATE"].decode() in {imap_date(t) for t in range(before, after + 1)}, r.raw
        assert 3 in ok(c.command("SEARCH SAVEDSINCE " + today)).search()
        assert 3 not in ok(c.command("SEARCH SAVEDBEFORE 1-Jan-2016")).search()
        assert ok(c.command("SEARCH SAVEDON 1-Jan-2015")).search() == []
    else:
        assert f["SAVEDATE"] is None, r.raw
        # without a save date the internal date stands in (Dovecot too)
        assert 3 not in ok(c.command("SEARCH SAVEDSINCE " + today)).search()
        assert ok(c.command("SEARCH SAVEDBEFORE 1-Jan-2016")).search() == [3]
        assert ok(c.command("SEARCH SAVEDON 1-Jan-2015")).search() == [3]
    # the internal date answers SINCE either way
    assert 3 not in ok(c.command("SEARCH SINCE " + today)).search()
    # a copy is saved in its new mailbox now, whatever its first one said
    ok(c.command("CREATE Kept"))
    ok(c.command("COPY 1 Kept"))
    after = int(time.time())
    ok(c.command("SELECT Kept"))
    copied = saved(ok(c.command("FETCH 1 (SAVEDATE)")))[1]
    if mail_store.format in KEEPS_SAVE_DATE:
        assert copied.decode() in {imap_date(t) for t in range(before, after + 1)}, copied
    else:
        assert copied is None


@pytest.mark.mbox_only("the search keys' syntax does not depend on the format")
@pytest.mark.parametrize("keys", ["SAVEDBEFORE", "SAVEDON 2015-01-01", "SAVEDSINCE (1-Jan-2015)"])
def test_bad_keys(two, keys):
    r = two.command("SEARCH " + keys)
    assert r.status == "BAD" and r.text.startswith("SEARCH: "), r


def test_flag_changes_keep_the_save_date(two, mail_store):
    """A Maildir flag change renames the file (and moves its ctime): the
    save date comes from the name, so it stays. MH keeps flags in
    .mh_sequences: the file and its ctime stay as they were."""
    first = saved(ok(two.command("FETCH 1 (SAVEDATE)")))
    time.sleep(1.1 if mail_store.format in KEEPS_SAVE_DATE else 0)
    ok(two.command("STORE 1 +FLAGS (\\Flagged \\Seen)"))
    ok(two.command("CHECK"))
    assert saved(ok(two.command("FETCH 1 (SAVEDATE)"))) == first
    assert (first[1] is not None) == (mail_store.format in KEEPS_SAVE_DATE), first


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
