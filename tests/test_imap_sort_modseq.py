# SORT by MODSEQ (SORT=MODSEQ, the sort key of the expired
# draft-melnikov-condstore-sort that Cyrus offers; RFC 7162 has none) on
# every mailbox format: the order follows each message's last change, this
# session's or another's, and the key turns CONDSTORE on like SEARCH MODSEQ.
# Also what RFC 7162 does add to SORT: the MODSEQ search key's "(MODSEQ n)".
import re

import pytest

from helpers import mailstore
from test_imap_condstore import change_and_expunge, message, modseqs, ok

MAIL_FORMATS = mailstore.FORMATS


def sort(c, command):
    """The numbers of the one SORT line the command answered."""
    r = ok(c.command(command))
    found = [x for x in r.raw if x.startswith(b"* SORT")]
    assert len(found) == 1, r.raw
    return [int(x) for x in found[0].split()[2:]], r


def test_sort_by_modseq(mail_store, user, connect):
    mail_store.write(user, [message(n) for n in range(1, 7)])
    c = connect()
    caps = ok(c.command("CAPABILITY")).named("CAPABILITY")[0]
    assert "SORT=MODSEQ" in caps
    ok(c.command("SELECT INBOX"))
    # the first SORT (MODSEQ) asks for modseqs: the client hears where the
    # mailbox stands first (RFC 7162 3.1), the messages get theirs in order
    order, r = sort(c, "SORT (MODSEQ) UTF-8 ALL")
    assert re.match(rb"^\* OK \[HIGHESTMODSEQ \d+\]", r.raw[0]), r.raw
    assert order == [1, 2, 3, 4, 5, 6]
    for n in (4, 2, 5):
        ok(c.command("STORE %d +FLAGS (\\Flagged)" % n))
    assert sort(c, "SORT (MODSEQ) UTF-8 ALL")[0] == [1, 3, 6, 4, 2, 5]
    assert sort(c, "SORT (REVERSE MODSEQ) UTF-8 ALL")[0] == [5, 2, 4, 6, 3, 1]
    assert sort(c, "SORT (MODSEQ) UTF-8 FLAGGED")[0] == [4, 2, 5]
    # the order is the one FETCH MODSEQ tells
    ms = modseqs(ok(c.command("FETCH 1:* (MODSEQ)")))
    assert sorted(ms, key=ms.get) == [1, 3, 6, 4, 2, 5]
    # another session flags 3 (now last) and expunges 5 and 6
    change_and_expunge(connect)
    ok(c.command("NOOP"))
    assert sort(c, "UID SORT (MODSEQ) UTF-8 ALL")[0] == [1, 4, 2, 3]
    assert sort(c, "SORT (MODSEQ SUBJECT) UTF-8 ALL")[0] == [1, 4, 2, 3]


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


@pytest.mark.mbox_only("the grammar of the answer, not the format, is tested")
def test_sort_with_the_modseq_search_key(mail_store, user, connect):
    """RFC 7162 3.1.5 and 3.1.6: SORT with the MODSEQ search key turns
    CONDSTORE on and ends a non-empty result with "(MODSEQ highest)"."""
    mail_store.write(user, [message(n) for n in range(1, 6)])
    c = connect()
    ok(c.command("SELECT INBOX"))
    r = ok(c.command("SORT (REVERSE SUBJECT) UTF-8 MODSEQ 1"))
    m = re.match(rb"^\* OK \[HIGHESTMODSEQ (\d+)\]", r.raw[0])
    assert m, r.raw
    assert r.raw[1:] == [b"* SORT 5 4 3 2 1 (MODSEQ %s)" % m.group(1)]
    r = ok(c.command("STORE 2 +FLAGS (\\Seen)"))
    m2 = int(re.search(rb"MODSEQ \((\d+)\)", r.raw[0]).group(1))
    assert ok(c.command("SORT (ARRIVAL) UTF-8 MODSEQ %d" % m2)).raw == \
        [b"* SORT 2 (MODSEQ %d)" % m2]
    assert ok(c.command("SORT (ARRIVAL) UTF-8 MODSEQ %d" % (m2 + 1))).raw == [b"* SORT"]
    r = ok(c.command("UID SORT RETURN (ALL) (ARRIVAL) UTF-8 MODSEQ %d" % m2, tag="X1"))
    assert r.raw == [b'* ESEARCH (TAG "X1") UID ALL 2 MODSEQ %d' % m2]
