# The SEARCH family through the daemon: ESEARCH (RFC 4731), SEARCHRES
# (RFC 5182), WITHIN (RFC 5032), PARTIAL (RFC 9394) and ESORT (RFC 5267
# section 3). The RFCs' examples are rebuilt as mailboxes and their answers
# checked byte for byte; then the same ESEARCH requests go to Debian's
# Dovecot on the same mailboxes, answer for answer.
import os
import re
import sys
import time

import pytest

from helpers.imapclient import Lit
from helpers.mbox import Entry

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "bench"))
import corpus  # noqa: E402
from servers import DOVECOT  # noqa: E402
from test_differential import pairs_fixture  # noqa: E402

NEW = ("ESEARCH", "ESORT", "SEARCHRES", "WITHIN", "PARTIAL")


def message(n, frm="alice@example.com", date="Fri Jan  9 12:00:00 2026"):
    data = ("From: %s\nTo: you@example.org\nSubject: message %d\n"
            "Message-ID: <e%d@example.com>\n\nbody %d\n" % (frm, n, n, n)).encode()
    return Entry(data, date=date)


def rfc4731_mailbox():
    """20 messages shaped so RFC 4731's examples give the RFC's answers:
    flagged 2, 5 (from Smith), 10, 11 and 14 (delivered in 1993); 1-3 seen;
    6-20 (15 messages) deleted."""
    return [message(n, frm="Smith <smith@example.com>" if n == 5 else "alice@example.com",
                    date="Mon Jan 11 12:00:00 1993" if n == 14 else "Fri Jan  9 12:00:00 2026")
            for n in range(1, 21)]


def ok(r):
    assert r.ok, r
    return r


@pytest.fixture
def box(client, mail_store, user):
    """select(entries, stores=()) -> the client with INBOX holding entries,
    selected, after the given STOREs."""
    def select(entries, stores=()):
        mail_store.write(user, entries)
        ok(client.command("SELECT INBOX"))
        for s in stores:
            ok(client.command("STORE %s" % s))
        return client
    return select


@pytest.fixture
def rfc_box(box):
    return box(rfc4731_mailbox(), ["1:3 +FLAGS.SILENT (\\Seen)",
                                   "2,5,10,11,14 +FLAGS.SILENT (\\Flagged)",
                                   "6:20 +FLAGS.SILENT (\\Deleted)"])


def only(r, *lines):
    """The command succeeded with exactly these untagged lines."""
    assert r.ok, r
    assert r.raw == [x.encode() for x in lines], r.raw


def esearch(c, tag, command, answer):
    """command, sent with tag, is answered by exactly one ESEARCH response
    carrying answer after its tag, and OK."""
    only(c.command(command, tag=tag), '* ESEARCH (TAG "%s")%s' % (tag, answer))


def fetched(r):
    """{msgno: items} of the FETCH responses, checking nothing else came."""
    assert r.ok, r
    assert all(u[1] == "FETCH" for u in r.untagged), r.raw
    return r.fetches()


# ---------------------------------------------------------------- capability

def test_advertised_after_login_only(connect):
    c = connect(login=False)
    r = ok(c.command("CAPABILITY"))
    before = r.raw[0].decode().split()
    assert not set(NEW) & set(before), before
    c = connect()
    after = ok(c.command("CAPABILITY")).raw[0].decode().split()
    assert set(NEW) <= set(after), after
    # RFC 5267's contexts: tests/test_imap_context.py
    assert {"CONTEXT=SEARCH", "CONTEXT=SORT"} <= set(after), after


# ---------------------------------------------------------------- ESEARCH

@pytest.mark.every_format
def test_rfc4731_examples(rfc_box):
    c = rfc_box
    keys = 'FLAGGED SINCE 1-Feb-1994 NOT FROM "Smith"'
    esearch(c, "A282", "SEARCH RETURN (MIN COUNT) " + keys, " MIN 2 COUNT 3")
    esearch(c, "A283", "SEARCH RETURN () " + keys, " ALL 2,10:11")
    esearch(c, "A284", "SEARCH RETURN (MIN) UNSEEN", " MIN 4")
    # A285's mailbox has UIDs 7 and 3800; this one's run 1 to 20
    esearch(c, "A285", "UID SEARCH RETURN (MIN MAX) 7:5000", " UID MIN 7 MAX 20")
    esearch(c, "A286", "SEARCH RETURN (COUNT) DELETED", " COUNT 15")


def test_esearch_answer_forms(rfc_box):
    c = rfc_box
    # options in any order, answered MIN MAX ALL COUNT; case does not matter
    esearch(c, "B1", "uid search return (count all max min) deleted",
            " UID MIN 6 MAX 20 ALL 6:20 COUNT 15")
    esearch(c, "B2", "SEARCH RETURN (ALL) SEEN FLAGGED", " ALL 2")
    esearch(c, "B3", "SEARCH RETURN (ALL) 1,3,5:7,9:*", " ALL 1,3,5:7,9:20")
    # no match: MIN, MAX and ALL are left out, the response still comes
    esearch(c, "B4", "SEARCH RETURN (MIN MAX ALL) DRAFT", "")
    esearch(c, "B5", "UID SEARCH RETURN (MIN COUNT) DRAFT", " UID COUNT 0")
    # RETURN after CHARSET is no RETURN: and without RETURN, plain SEARCH
    only(c.command("SEARCH CHARSET UTF-8 FLAGGED", tag="B6"), "* SEARCH 2 5 10 11 14")
    esearch(c, "B7", "SEARCH RETURN (COUNT) CHARSET UTF-8 FLAGGED", " COUNT 5")


@pytest.mark.parametrize("command", [
    "SEARCH RETURN (FOO) ALL",            # unknown option (RFC 4466: BAD)
    "SEARCH RETURN (MIN FOO) ALL",
    "SEARCH RETURN MIN ALL",              # not a list
    "SEARCH RETURN (MIN) ",               # no search key
    "SEARCH RETURN (MIN)",
    "SEARCH RETURN (MIN ) ALL",
    "SEARCH CHARSET UTF-8 RETURN (MIN) ALL",
    "SEARCH RETURN (PARTIAL 1:5 ALL) ALL",  # RFC 9394 3.1: one ALL or one PARTIAL
    "SEARCH RETURN (PARTIAL 1:5 PARTIAL 6:9) ALL",
    "SEARCH RETURN (ALL ALL) ALL",
    "SEARCH RETURN (PARTIAL) ALL",
    "SEARCH RETURN (PARTIAL 0:5) ALL",
    "SEARCH RETURN (PARTIAL 1:*) ALL",
    "SEARCH RETURN (PARTIAL -1:5) ALL",
    "SEARCH RETURN (PARTIAL 5) ALL",
    "SEARCH RETURN (PARTIAL 1:4294967296) ALL",
    "SORT RETURN (FOO) (DATE) UTF-8 ALL",
    "SORT RETURN (MIN) UTF-8 ALL",
    "SEARCH OLDER 0",                     # nz-number
    "SEARCH YOUNGER",
    "SEARCH OLDER -1",
    "FETCH 1,$ FLAGS",                    # "$" is a whole sequence set
    "FETCH $,1 FLAGS",
    "FETCH $$ FLAGS",
    "SEARCH $:5",
])
def test_bad_syntax(rfc_box, command):
    r = rfc_box.command(command)
    assert r.status == "BAD", r
    assert r.raw == [], r.raw


# ---------------------------------------------------------------- SEARCHRES

@pytest.mark.every_format
def test_searchres_fetch_store_copy(rfc_box):
    """RFC 5182's flow: SAVE answers nothing, then "$" is the same messages
    in FETCH, UID FETCH, SEARCH, STORE and COPY."""
    c = rfc_box
    only(c.command('SEARCH RETURN (SAVE) FLAGGED SINCE 1-Feb-1994 NOT FROM "Smith"'))
    got = fetched(c.command("FETCH $ (UID)"))
    assert {n: f["UID"] for n, f in got.items()} == {2: "2", 10: "10", 11: "11"}
    assert sorted(fetched(c.command("UID FETCH $ (FLAGS)"))) == [2, 10, 11]
    only(c.command("SEARCH $ DELETED"), "* SEARCH 10 11")
    only(c.command("UID SEARCH UID $"), "* SEARCH 2 10 11")
    only(c.command("SEARCH NOT $ FLAGGED"), "* SEARCH 5 14")
    ok(c.command("STORE $ +FLAGS.SILENT (\\Answered)"))
    only(c.command("SEARCH ANSWERED"), "* SEARCH 2 10 11")
    ok(c.command("UID STORE $ -FLAGS.SILENT (\\Answered)"))
    only(c.command("SEARCH ANSWERED"), "* SEARCH")
    ok(c.command("CREATE Saved"))
    r = ok(c.command("COPY $ Saved"))
    code = r.code.split()
    assert code[0] == "COPYUID" and code[2:] == ["2,10:11", "1:3"], r
    r = ok(c.command("STATUS Saved (MESSAGES)"))
    assert r.raw == [b"* STATUS Saved (MESSAGES 3)"], r.raw


def test_searchres_min_max_and_in_same_command(rfc_box):
    c = rfc_box
    # with MIN/MAX and neither ALL nor COUNT only those are saved (RFC 5182 2.1)
    esearch(c, "C1", "SEARCH RETURN (SAVE MIN MAX) FLAGGED", " MIN 2 MAX 14")
    only(c.command("SEARCH $"), "* SEARCH 2 14")
    esearch(c, "C2", "SEARCH RETURN (SAVE MIN COUNT) FLAGGED", " MIN 2 COUNT 5")
    only(c.command("SEARCH $"), "* SEARCH 2 5 10 11 14")
    # "$" in the keys of a SAVE is the result before it
    esearch(c, "C3", "SEARCH RETURN (SAVE ALL) $ SINCE 1-Feb-1994", " ALL 2,5,10:11")
    only(c.command("SEARCH $"), "* SEARCH 2 5 10 11")


def test_searchres_empty_is_no_error(rfc_box, client):
    """Before any SAVE, and after every SELECT, "$" is the empty set: the
    commands succeed and touch nothing (RFC 5182 2.1)."""
    c = rfc_box
    only(c.command("FETCH $ (FLAGS)"))
    only(c.command("SEARCH $"), "* SEARCH")
    only(c.command("STORE $ +FLAGS (\\Answered)"))
    ok(c.command("CREATE Empty"))
    r = ok(c.command("COPY $ Empty"))
    assert r.raw == []
    only(c.command("SEARCH RETURN (SAVE) ALL"))
    assert len(fetched(c.command("FETCH $ (UID)"))) == 20
    ok(c.command("SELECT INBOX"))
    only(c.command("FETCH $ (UID)"))
    only(c.command("SEARCH RETURN (SAVE) ALL"))
    ok(c.command("UNSELECT"))
    ok(c.command("EXAMINE INBOX"))
    only(c.command("UID FETCH $ (UID)"))
    only(c.command("SEARCH ANSWERED"), "* SEARCH")


def test_searchres_failed_search_empties_it(rfc_box):
    c = rfc_box
    only(c.command("SEARCH RETURN (SAVE) FLAGGED"))
    r = c.command("SEARCH RETURN (SAVE) CHARSET BIG5 ALL")
    assert (r.status, r.code) == ("NO", "BADCHARSET (UTF-8 US-ASCII)"), r
    only(c.command("SEARCH $"), "* SEARCH")
    only(c.command("SEARCH RETURN (SAVE) FLAGGED"))
    assert c.command("SEARCH RETURN (SAVE) FLAGGED NOSUCHKEY").status == "BAD"
    only(c.command("SEARCH $"), "* SEARCH")


def test_searchres_follows_expunge(box):
    """The saved messages keep being those messages when others are
    expunged: their numbers change, the set does not."""
    c = box([message(n) for n in range(1, 7)])
    only(c.command("SEARCH RETURN (SAVE) 4:6"))
    ok(c.command("STORE 2,5 +FLAGS.SILENT (\\Deleted)"))
    r = ok(c.command("EXPUNGE"))
    assert r.raw == [b"* 5 EXPUNGE", b"* 2 EXPUNGE"], r.raw
    only(c.command("SEARCH $"), "* SEARCH 3 4")
    got = fetched(c.command("FETCH $ (UID)"))
    assert {n: f["UID"] for n, f in got.items()} == {3: "4", 4: "6"}
    # UID EXPUNGE (RFC 4315) of "$" leaves it empty
    ok(c.command("STORE $ +FLAGS.SILENT (\\Deleted)"))
    r = ok(c.command("UID EXPUNGE $"))
    assert r.raw == [b"* 4 EXPUNGE", b"* 3 EXPUNGE"], r.raw
    only(c.command("SEARCH $"), "* SEARCH")
    only(c.command("SEARCH ALL"), "* SEARCH 1 2")


def test_searchres_move(box):
    c = box([message(n) for n in range(1, 6)])
    ok(c.command("CREATE Target"))
    only(c.command("UID SEARCH RETURN (SAVE) UID 2,4"))
    r = ok(c.command("UID MOVE $ Target"))
    assert [x for x in r.raw if b"EXPUNGE" in x] == [b"* 4 EXPUNGE", b"* 2 EXPUNGE"], r.raw
    only(c.command("SEARCH $"), "* SEARCH")
    r = ok(c.command("STATUS Target (MESSAGES)"))
    assert r.raw == [b"* STATUS Target (MESSAGES 2)"], r.raw


# ---------------------------------------------------------------- WITHIN

@pytest.mark.every_format
def test_within(box, client):
    """RFC 5032: OLDER/YOUNGER compare the internal date with now less the
    interval, to the second."""
    c = box([message(1, date="Fri Jan  9 12:00:00 2026")])
    now = time.time()

    def append(seconds_ago):
        stamp = time.strftime("%d-%b-%Y %H:%M:%S +0000", time.gmtime(now - seconds_ago))
        ok(c.command('APPEND INBOX "%s" ' % stamp, Lit(b"Subject: x\r\n\r\nx\r\n")))
    append(2 * 86400)     # 2: two days ago
    append(3600)          # 3: an hour ago
    append(5)             # 4: just now
    ok(c.command("NOOP"))
    ok(c.command("STORE 3 +FLAGS.SILENT (\\Seen)"))
    only(c.command("SEARCH UNSEEN YOUNGER 259200"), "* SEARCH 2 4")   # RFC 5032's example
    only(c.command("SEARCH YOUNGER 600"), "* SEARCH 4")
    only(c.command("SEARCH OLDER 600"), "* SEARCH 1 2 3")
    only(c.command("SEARCH OLDER 7200"), "* SEARCH 1 2")
    only(c.command("SEARCH YOUNGER 7200 OLDER 60"), "* SEARCH 3")
    esearch(c, "W1", "UID SEARCH RETURN (COUNT) NOT OLDER 86400", " UID COUNT 2")


# ---------------------------------------------------------------- PARTIAL

@pytest.mark.every_format
def test_partial(rfc_box):
    c = rfc_box
    esearch(c, "P1", "UID SEARCH RETURN (PARTIAL 1:5) ALL", " UID PARTIAL (1:5 1:5)")
    esearch(c, "P2", "SEARCH RETURN (PARTIAL 2:3) FLAGGED", " PARTIAL (2:3 5,10)")
    # from the end: -1 is the last match (RFC 9394's example is -1:-100)
    esearch(c, "P3", "UID SEARCH RETURN (PARTIAL -1:-100) UNDELETED", " UID PARTIAL (-1:-100 1:5)")
    esearch(c, "P4", "SEARCH RETURN (PARTIAL -2:-3 COUNT) FLAGGED",
            " PARTIAL (-2:-3 10:11) COUNT 5")
    # beyond the results: NIL; MIN/MAX still over all of them
    esearch(c, "P5", "SEARCH RETURN (MIN PARTIAL 6:9 MAX) FLAGGED",
            " MIN 2 MAX 14 PARTIAL (6:9 NIL)")
    esearch(c, "P6", "SEARCH RETURN (PARTIAL 4:9) FLAGGED", " PARTIAL (4:9 11,14)")
    # with SAVE, the page is what is saved
    esearch(c, "P7", "SEARCH RETURN (SAVE PARTIAL 1:2) FLAGGED", " PARTIAL (1:2 2,5)")
    only(c.command("SEARCH $"), "* SEARCH 2 5")


# ---------------------------------------------------------------- ESORT

def test_esort(box):
    days = [5, 3, 9, 1, 7, 2]
    entries = [message(i + 1, date="Fri Jan  %d 12:00:00 2026" % d) for i, d in enumerate(days)]
    for e, d in zip(entries, days):
        e.data = e.data.replace(b"From:", b"Date: Mon, %d Jan 2024 10:00:00 +0000\nFrom:" % d)
    c = box(entries)
    only(c.command("SORT (DATE) UTF-8 ALL"), "* SORT 4 6 2 1 5 3")
    esearch(c, "S1", "SORT RETURN (ALL) (DATE) UTF-8 ALL", " ALL 4,6,2,1,5,3")
    esearch(c, "S2", "SORT RETURN (MIN MAX COUNT) (DATE) UTF-8 ALL", " MIN 4 MAX 3 COUNT 6")
    esearch(c, "S3", "UID SORT RETURN () (REVERSE DATE) UTF-8 1:3", " UID ALL 3,1:2")
    esearch(c, "S4", "SORT RETURN (PARTIAL 2:4) (DATE) UTF-8 ALL", " PARTIAL (2:4 6,2,1)")
    esearch(c, "S5", "SORT RETURN (PARTIAL -1:-2) (DATE) UTF-8 ALL", " PARTIAL (-1:-2 5,3)")
    esearch(c, "S6", "SORT RETURN (COUNT) (DATE) UTF-8 DRAFT", " COUNT 0")
    # SAVE keeps the set, not the order
    only(c.command("SORT RETURN (SAVE) (DATE) UTF-8 2:4"))
    only(c.command("SEARCH $"), "* SEARCH 2 3 4")


# ---------------------------------------------------------------- against Dovecot

needs_dovecot = pytest.mark.skipif(
    not os.access(DOVECOT, os.X_OK),
    reason="Dovecot's imap binary (%s) is not installed "
    "(apt-get install dovecot-imapd)" % DOVECOT)

KEYS = ["ALL", "SEEN", "UNSEEN", "LARGER 3000", "SMALLER 3000", "1:*", "2,4:9,20:*",
        "UID 5:40", "UID 20000:*", "FROM example", "NOT SUBJECT zzzzz-none",
        "BODY zzzzz-none", "OR SMALLER 1000 LARGER 20000", "SINCE 1-Jan-2025",
        "BEFORE 1-Jan-1990"]
RETURNS = ["(MIN MAX COUNT ALL)", "()", "(COUNT)", "(MIN)", "(MAX)", "(PARTIAL 1:5)",
           "(PARTIAL 3:10 COUNT)", "(PARTIAL 400:500)"]
COMMANDS = (["SEARCH RETURN %s %s" % (r, k) for r in RETURNS for k in KEYS] +
            ["UID SEARCH RETURN %s %s" % (r, k) for r in RETURNS[:4] for k in KEYS] +
            ["SORT RETURN (MIN MAX COUNT ALL) (%s) UTF-8 ALL" % s
             for s in ("DATE", "REVERSE ARRIVAL", "SUBJECT", "SIZE")] +
            ["UID SORT RETURN (ALL COUNT) (FROM) UTF-8 SMALLER 5000",
             "SORT RETURN (PARTIAL 2:6) (REVERSE DATE) UTF-8 ALL",
             "SORT RETURN (COUNT) (DATE) UTF-8 BODY zzzzz-none"])

# (mailbox, search key) -> why the two find different messages: not an
# ESEARCH matter, and the plain SEARCH test of test_differential.py holds
# the same difference with its exact answers.
FORGED = ("issue 10, defect 13: Status headers in the spool that this server "
          "did not write set no flags; Dovecot believes them (message 23)")
KNOWN = {("handwritten", "SEEN"): FORGED, ("handwritten", "UNSEEN"): FORGED}


def generated_mbox(path):
    corpus.generate(path, count=300, seed=11, max_attach=8 * 1024)


# None: test_differential's own corpus (tests/data/corpus/*.eml)
MAILBOXES = {"handwritten": None, "generated": generated_mbox}


# Both servers, each with its own copy of every mailbox, keyed by
# (mailbox name, "ours" | "dovecot").
sides = pairs_fixture("esearch", MAILBOXES)


def esearch_line(side, command):
    """The one ESEARCH response, its tag made "x" (the two sessions number
    their commands alike, but that is not the point)."""
    r = side.command(command)
    assert r.ok, (side.server.kind, command, r)
    lines = [x for x in r.raw if x.startswith(b"* ESEARCH")]
    assert len(lines) == 1 and len(r.raw) == 1, (side.server.kind, r.raw)
    return re.sub(rb'^\* ESEARCH \(TAG "[^"]*"\)', b'* ESEARCH (TAG "x")', lines[0]).decode()


def seqset(ids):
    """Ascending ids as a sequence set, runs as ranges."""
    out, i = [], 0
    while i < len(ids):
        j = i
        while j + 1 < len(ids) and ids[j + 1] == ids[j] + 1:
            j += 1
        out.append(str(ids[i]) if i == j else "%d:%d" % (ids[i], ids[j]))
        i = j + 1
    return ",".join(out)


def model(command, ids):
    """The ESEARCH line a SEARCH RETURN command must give when its search
    finds ids (ascending), from RFC 4731 3.1 and RFC 9394 3.1."""
    opts = command.split("(", 1)[1].split(")", 1)[0].split() or ["ALL"]
    line = '* ESEARCH (TAG "x")' + (" UID" if command.startswith("UID ") else "")
    if ids and "MIN" in opts:
        line += " MIN %d" % ids[0]
    if ids and "MAX" in opts:
        line += " MAX %d" % ids[-1]
    if ids and "ALL" in opts:
        line += " ALL " + seqset(ids)
    if "PARTIAL" in opts:
        rng = opts[opts.index("PARTIAL") + 1]
        a, b = (int(x) for x in rng.split(":"))
        line += " PARTIAL (%s %s)" % (rng, seqset(ids[a - 1:b]) or "NIL")
    if "COUNT" in opts:
        line += " COUNT %d" % len(ids)
    return line


@needs_dovecot
@pytest.mark.parametrize("mailbox", sorted(MAILBOXES))
@pytest.mark.parametrize("command", COMMANDS)
def test_same_answer_as_dovecot(sides, mailbox, command):
    ours = esearch_line(sides[mailbox, "ours"], command)
    dove = esearch_line(sides[mailbox, "dovecot"], command)
    key = command.split(") ", 1)[1]
    if (mailbox, key) in KNOWN:
        # each side's ESEARCH must still be its own SEARCH result, written
        # as RFC 4731 / 9394 say
        found = {}
        for kind in ("ours", "dovecot"):
            side = sides[mailbox, kind]
            plain = "%sSEARCH %s" % ("UID " if command.startswith("UID ") else "", key)
            found[kind] = sorted(side.command(plain).search())
        assert ours == model(command, found["ours"]), ours
        assert dove == model(command, found["dovecot"]), dove
        assert found["ours"] != found["dovecot"], "the known difference is gone"
        pytest.xfail(KNOWN[mailbox, key])
    assert ours == dove, "%s on %s:\nours    %s\ndovecot %s" % (command, mailbox, ours, dove)
