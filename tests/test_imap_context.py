# CONTEXT=SEARCH and CONTEXT=SORT (RFC 5267 section 4): a SEARCH or SORT
# with RETURN (UPDATE) stays live; as this session or another one appends,
# changes flags or expunges, the client hears ADDTO / REMOVEFROM (UIDs,
# position 0 for SEARCH, the place in the order for SORT) after the
# EXISTS / EXPUNGE that explain them, until CANCELUPDATE. The other
# session's changes reach us through the driver, so the first test runs
# on every format.
import pytest

from helpers.imapclient import Lit
from helpers.mailstore import FORMATS
from helpers.mbox import Entry
from test_imap_catenate import ok

MAIL_FORMATS = FORMATS


def message(n, subject=None):
    return Entry(("From: a@example.com\nTo: b@example.org\nSubject: %s\n"
                  "Message-ID: <c%d@example.com>\n\nbody %d\n"
                  % (subject or "message %d" % n, n, n)).encode())


def esearch_lines(r):
    return [x.decode() for x in ok(r).raw if x.startswith(b"* ESEARCH")]


@pytest.fixture
def pair(connect, mail_store, user):
    """(a, b): two sessions of the user with INBOX selected; INBOX holds
    five messages, UIDs 1 to 5, unseen."""
    mail_store.write(user, [message(n) for n in range(1, 6)])
    a, b = connect(), connect()
    ok(a.command("SELECT INBOX"))
    ok(b.command("SELECT INBOX"))
    return a, b


def test_search_updates_from_another_session(pair):
    a, b = pair
    r = ok(a.command("UID SEARCH RETURN (ALL UPDATE) UNSEEN UNDELETED", tag="E01"))
    assert esearch_lines(r) == ['* ESEARCH (TAG "E01") UID ALL 1:5']
    ok(b.command("STORE 2 +FLAGS (\\Seen)"))
    ok(b.command("APPEND INBOX ", Lit(message(6).crlf())))
    r = ok(a.command("NOOP"))
    lines = [x.decode() for x in r.raw]
    assert lines.index("* 6 EXISTS") < lines.index('* ESEARCH (TAG "E01") UID ADDTO (0 6)')
    assert esearch_lines(r) == ['* ESEARCH (TAG "E01") UID REMOVEFROM (0 2)',
                                '* ESEARCH (TAG "E01") UID ADDTO (0 6)']
    ok(b.command("STORE 3:4 +FLAGS (\\Deleted)"))
    ok(b.command("EXPUNGE"))
    r = ok(a.command("NOOP"))
    assert r.numbered("EXPUNGE") == [4, 3]
    assert esearch_lines(r) == ['* ESEARCH (TAG "E01") UID REMOVEFROM (0 3:4)']
    ok(a.command('CANCELUPDATE "E01"'))
    ok(b.command("APPEND INBOX ", Lit(message(7).crlf())))
    r = ok(a.command("NOOP"))
    assert r.numbered("EXISTS") == [5] and esearch_lines(r) == []


@pytest.mark.mbox_only("one session's own changes: no driver in between")
def test_own_changes_and_count(pair):
    """This session's STORE and APPEND update its contexts too; COUNT
    alone is sent again when it changes, MIN and MAX likewise."""
    a, _ = pair
    esearch = esearch_lines(a.command("SEARCH RETURN (COUNT UPDATE) UNSEEN", tag="C1"))
    assert esearch == ['* ESEARCH (TAG "C1") COUNT 5']
    esearch = esearch_lines(a.command("SEARCH RETURN (MIN MAX UPDATE) UNSEEN", tag="M1"))
    assert esearch == ['* ESEARCH (TAG "M1") MIN 1 MAX 5']
    # SEARCH, not UID SEARCH: message numbers, no UID marker (RFC 5267 4.3.2)
    r = a.command("STORE 1 +FLAGS.SILENT (\\Seen)")
    assert sorted(esearch_lines(r)) == ['* ESEARCH (TAG "C1") COUNT 4',
                                        '* ESEARCH (TAG "M1") MIN 2 MAX 5']
    r = a.command("STORE 3 +FLAGS.SILENT (\\Seen)")
    assert esearch_lines(r) == ['* ESEARCH (TAG "C1") COUNT 3']
    r = a.command("APPEND INBOX ", Lit(message(6).crlf()))
    assert sorted(esearch_lines(r)) == ['* ESEARCH (TAG "C1") COUNT 4',
                                        '* ESEARCH (TAG "M1") MIN 2 MAX 6']
    ok(a.command("STORE 5:6 +FLAGS.SILENT (\\Deleted)"))
    r = a.command("EXPUNGE")
    assert sorted(esearch_lines(r)) == ['* ESEARCH (TAG "C1") COUNT 2',
                                        '* ESEARCH (TAG "M1") MIN 2 MAX 4']


@pytest.mark.mbox_only("SORT positions: the order, not the format, is tested")
def test_sort_positions(pair):
    """SORT's updates carry the place in the order: a new message lands
    between others, an expunged one leaves its place."""
    a, b = pair
    r = a.command("UID SORT RETURN (ALL UPDATE) (REVERSE SUBJECT) US-ASCII ALL", tag="S1")
    assert esearch_lines(r) == ['* ESEARCH (TAG "S1") UID ALL 5,4,3,2,1']
    ok(b.command("APPEND INBOX ", Lit(message(6, "message 35").crlf())))
    ok(b.command("STORE 4 +FLAGS (\\Deleted)"))
    ok(b.command("EXPUNGE"))
    # the client holds 5 4 3 2 1: 4 leaves place 2; 6 ("message 35")
    # takes place 2 of 5 6 3 2 1
    assert esearch_lines(a.command("NOOP")) == ['* ESEARCH (TAG "S1") UID REMOVEFROM (2 4)',
                                                '* ESEARCH (TAG "S1") UID ADDTO (2 6)']


@pytest.mark.mbox_only("the partial window over the same live result")
def test_partial_with_update(pair):
    """PARTIAL answers its page; the updates tell the whole order, so the
    client sees whether a change falls in its page."""
    a, b = pair
    r = a.command("UID SORT RETURN (PARTIAL 1:2 UPDATE) (SUBJECT) US-ASCII ALL", tag="P1")
    assert esearch_lines(r) == ['* ESEARCH (TAG "P1") UID PARTIAL (1:2 1:2)']
    ok(b.command("APPEND INBOX ", Lit(message(6, "message 0").crlf())))
    assert esearch_lines(a.command("NOOP")) == ['* ESEARCH (TAG "P1") UID ADDTO (1 6)']


@pytest.mark.mbox_only("IDLE's wake-up is tested per format in the IDLE tests")
def test_update_during_idle(pair):
    a, b = pair
    ok(a.command("UID SEARCH RETURN (UPDATE) ALL", tag="I1"))
    a.send(b"I2 IDLE\r\n")
    assert a.read_response().startswith(b"+")
    ok(b.command("APPEND INBOX ", Lit(message(6).crlf())))
    seen = []
    while b"ADDTO" not in (seen[-1] if seen else b""):
        seen.append(a.read_response())
    assert seen[-1] == b'* ESEARCH (TAG "I1") UID ADDTO (0 6)'
    a.send(b"DONE\r\n")
    assert ok(a.read_until("I2"))


@pytest.mark.mbox_only("session state only")
def test_noupdate_and_ends(pair):
    """A ninth context, or UPDATE with SAVE, is answered NOUPDATE (the
    search itself succeeds); contexts end when the mailbox is left."""
    a, _ = pair
    for i in range(8):
        r = ok(a.command("SEARCH RETURN (UPDATE) ALL", tag="N%d" % i))
        assert not r.named("NO"), r.raw
    r = ok(a.command("SEARCH RETURN (UPDATE) ALL", tag="N8"))
    assert r.codes().get("NOUPDATE") == '"N8"'
    assert esearch_lines(r) == ['* ESEARCH (TAG "N8") ALL 1:5']
    r = ok(a.command('CANCELUPDATE "N0" "N1"'))
    r = ok(a.command("SEARCH RETURN (SAVE UPDATE) ALL", tag="V1"))
    assert r.codes().get("NOUPDATE") == '"V1"'
    assert a.command('CANCELUPDATE "N0"').status == "NO"
    ok(a.command("SELECT INBOX"))
    assert a.command('CANCELUPDATE "N2"').status == "NO"


@pytest.mark.mbox_only("the numbering of updates, not the format, is tested")
def test_search_updates_in_message_numbers(pair):
    """RFC 5267 4.3.2: SEARCH (not UID SEARCH) with UPDATE hears message
    numbers, without the UID marker; 4.3.4: the REMOVEFROM of an expunged
    message comes before its EXPUNGE (after it, the number names another
    message), 4.3.3: an ADDTO after the EXISTS."""
    a, b = pair
    ok(b.command("STORE 1 +FLAGS (\\Deleted)"))
    ok(b.command("EXPUNGE"))
    ok(a.command("NOOP"))    # UIDs 2:5 are messages 1:4 now
    r = ok(a.command("SEARCH RETURN (UPDATE) UNSEEN", tag="Q1"))
    assert esearch_lines(r) == ['* ESEARCH (TAG "Q1") ALL 1:4']
    ok(b.command("STORE 2 +FLAGS (\\Seen)"))       # UID 3
    ok(b.command("APPEND INBOX ", Lit(message(6).crlf())))
    r = ok(a.command("NOOP"))
    lines = [x.decode() for x in r.raw]
    assert esearch_lines(r) == ['* ESEARCH (TAG "Q1") REMOVEFROM (0 2)',
                                '* ESEARCH (TAG "Q1") ADDTO (0 5)'], lines
    assert lines.index("* 5 EXISTS") < lines.index('* ESEARCH (TAG "Q1") ADDTO (0 5)')
    ok(b.command("STORE 3 +FLAGS (\\Deleted)"))      # UID 4, still in the result
    ok(b.command("EXPUNGE"))
    r = ok(a.command("NOOP"))
    lines = [x.decode() for x in r.raw]
    assert lines[:2] == ['* ESEARCH (TAG "Q1") REMOVEFROM (0 3)', "* 3 EXPUNGE"], lines
    assert esearch_lines(r) == ['* ESEARCH (TAG "Q1") REMOVEFROM (0 3)']
    r = ok(a.command("SORT RETURN (UPDATE) (SUBJECT) US-ASCII ALL", tag="Q2"))
    assert esearch_lines(r) == ['* ESEARCH (TAG "Q2") ALL 1:4']
    ok(b.command("STORE 1 +FLAGS (\\Deleted)"))
    ok(b.command("EXPUNGE"))
    lines = [x.decode() for x in ok(a.command("NOOP")).raw]
    assert lines[:3] == ['* ESEARCH (TAG "Q1") REMOVEFROM (0 1)',
                         '* ESEARCH (TAG "Q2") REMOVEFROM (1 1)', "* 1 EXPUNGE"] or \
        lines[:3] == ['* ESEARCH (TAG "Q2") REMOVEFROM (1 1)',
                      '* ESEARCH (TAG "Q1") REMOVEFROM (0 1)', "* 1 EXPUNGE"], lines


@pytest.mark.mbox_only("session state only")
def test_update_under_a_live_tag_is_bad(pair):
    """RFC 5267 4.3: UPDATE with the tag of a live UPDATE context is BAD;
    the context stays, and once cancelled the tag is free again."""
    a, b = pair
    ok(a.command("UID SEARCH RETURN (UPDATE) ALL", tag="T1"))
    for cmd in ("UID SEARCH RETURN (UPDATE) UNSEEN", "SORT RETURN (UPDATE) (DATE) UTF-8 ALL"):
        r = a.command(cmd, tag="T1")
        assert r.status == "BAD" and esearch_lines_of(r) == [], (cmd, r)
    # without UPDATE the tag may be used again
    assert ok(a.command("UID SEARCH RETURN (COUNT) ALL", tag="T1"))
    ok(b.command("APPEND INBOX ", Lit(message(6).crlf())))
    assert esearch_lines(a.command("NOOP")) == ['* ESEARCH (TAG "T1") UID ADDTO (0 6)']
    ok(a.command('CANCELUPDATE "T1"'))
    assert esearch_lines(a.command("UID SEARCH RETURN (UPDATE) ALL", tag="T1")) == \
        ['* ESEARCH (TAG "T1") UID ALL 1:6']


def esearch_lines_of(r):
    return [x for x in r.raw if x.startswith(b"* ESEARCH")]
