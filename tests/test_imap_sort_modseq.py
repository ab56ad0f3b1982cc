# SORT by MODSEQ (SORT=MODSEQ, the sort key of the expired
# draft-melnikov-condstore-sort that Cyrus offers; RFC 7162 has none) on
# every mailbox format: the order follows each message's last change, this
# session's or another's, and the key turns CONDSTORE on like SEARCH MODSEQ.
import re

import pytest

from helpers import mailstore
from helpers.mbox import Entry

MAIL_FORMATS = mailstore.FORMATS


def message(n):
    data = ("From: a%d@example.com\nTo: you@example.org\nSubject: s%d\n"
            "Message-ID: <sm%d@example.com>\n\nbody %d\n" % (n, n, n, n)).encode()
    return Entry(data, date="Fri Jan  9 12:00:00 2026")


def ok(r):
    assert r.ok, r
    return r


def sort(c, command):
    """The numbers of the one SORT line the command answered."""
    r = ok(c.command(command))
    found = [x for x in r.raw if x.startswith(b"* SORT")]
    assert len(found) == 1, r.raw
    return [int(x) for x in found[0].split()[2:]], r


def test_sort_by_modseq(mail_store, user, connect):
    mail_store.write(user, [message(n) for n in range(1, 6)])
    c = connect()
    caps = ok(c.command("CAPABILITY")).named("CAPABILITY")[0]
    assert "SORT=MODSEQ" in caps
    ok(c.command("SELECT INBOX"))
    # the first SORT (MODSEQ) asks for modseqs: the client hears where the
    # mailbox stands first (RFC 7162 3.1), the messages get theirs in order
    order, r = sort(c, "SORT (MODSEQ) UTF-8 ALL")
    assert re.match(rb"^\* OK \[HIGHESTMODSEQ \d+\]", r.raw[0]), r.raw
    assert order == [1, 2, 3, 4, 5]
    for n in (4, 2, 5):
        ok(c.command("STORE %d +FLAGS (\\Flagged)" % n))
    assert sort(c, "SORT (MODSEQ) UTF-8 ALL")[0] == [1, 3, 4, 2, 5]
    assert sort(c, "SORT (REVERSE MODSEQ) UTF-8 ALL")[0] == [5, 2, 4, 3, 1]
    assert sort(c, "SORT (MODSEQ) UTF-8 FLAGGED")[0] == [4, 2, 5]
    # the order is the one FETCH MODSEQ tells
    ms = {n: int(a["MODSEQ"][0])
          for n, a in ok(c.command("FETCH 1:* (MODSEQ)")).fetches().items()}
    assert sorted(ms, key=ms.get) == [1, 3, 4, 2, 5]
    # another session's change moves message 1 last; UID SORT answers UIDs
    b = connect()
    ok(b.command("SELECT INBOX"))
    ok(b.command("STORE 1 +FLAGS (\\Seen)"))
    ok(b.command("STORE 3 +FLAGS (\\Deleted)"))
    ok(b.command("EXPUNGE"))
    ok(c.command("NOOP"))
    assert sort(c, "UID SORT (MODSEQ) UTF-8 ALL")[0] == [4, 2, 5, 1]
    assert sort(c, "SORT (MODSEQ SUBJECT) UTF-8 ALL")[0] == [3, 2, 4, 1]


@pytest.mark.mbox_only("the order, not the format, is tested")
def test_context_sort_follows_a_moved_message(mail_store, user, connect):
    """CONTEXT=SORT (RFC 5267) by MODSEQ: a message whose change moves it
    in the order leaves its place and takes its new one."""
    mail_store.write(user, [message(n) for n in range(1, 6)])
    a, b = connect(), connect()
    ok(a.command("SELECT INBOX (CONDSTORE)"))
    ok(b.command("SELECT INBOX"))
    r = ok(a.command("UID SORT RETURN (ALL UPDATE) (MODSEQ) US-ASCII ALL", tag="S1"))
    assert [x for x in r.raw if x.startswith(b"* ESEARCH")] == \
        [b'* ESEARCH (TAG "S1") UID ALL 1:5']
    ok(b.command("STORE 2 +FLAGS (\\Seen)"))
    r = ok(a.command("NOOP"))
    # the client holds 1 2 3 4 5; 2 leaves place 2 and ends last
    assert [x for x in r.raw if x.startswith(b"* ESEARCH")] == \
        [b'* ESEARCH (TAG "S1") UID REMOVEFROM (2 2)', b'* ESEARCH (TAG "S1") UID ADDTO (5 2)']
