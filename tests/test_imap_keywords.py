# Keywords beyond the 64 a bit mask held (issue 11): an mbox or MMDF
# mailbox keeps hundreds of them, one message 100, 200 across messages;
# STORE, FETCH FLAGS, SEARCH KEYWORD, PERMANENTFLAGS, a reopen and an
# EXPUNGE rewrite see them all; COPY into a format with fewer slots
# answers NO [LIMIT] rather than dropping any; the mailbox cap answers
# NO [LIMIT] too.
import pytest

from helpers.imapclient import RawIMAP

MAIL_FORMATS = ("mbox", "mmdf")

FIRST = ["kw%03d" % i for i in range(100)]           # message 1
SECOND = ["kw%03d" % i for i in range(100, 200)]     # message 2
K150 = "kw150"


def names(lst):
    return [f for f in lst if not f.startswith("\\")]


def flag_lists(c):
    """{seq: FLAGS as the server lists them} (order kept)."""
    r = c.command("FETCH 1:* FLAGS")
    assert r.ok, r
    return {seq: [str(f) for f in v["FLAGS"] if str(f).upper() != "\\RECENT"]
            for seq, v in r.fetches().items()}


def select(c):
    r = c.command("SELECT INBOX")
    assert r.ok, r
    return r


@pytest.fixture
def tagged(inbox, connect):
    """INBOX (sample.mbox) with 100 keywords on message 1, 100 others on
    message 2, kw150 also on message 3; the session that stored them."""
    c = connect()
    select(c)
    for seq, kws in ((1, FIRST), (2, SECOND), (3, ["kw005", K150])):
        r = c.command("STORE %d +FLAGS (%s)" % (seq, " ".join(kws)))
        assert r.ok, r
        assert names(r.fetches()[seq]["FLAGS"]) == kws
    return c


def test_two_hundred_keywords_fetch_search_and_flags(tagged):
    lists = flag_lists(tagged)
    assert names(lists[1]) == FIRST
    assert names(lists[2]) == SECOND
    assert names(lists[3]) == ["kw005", K150]
    r = tagged.command("SEARCH KEYWORD " + K150)
    assert r.ok and r.search() == [2, 3], r
    r = tagged.command("SEARCH UNKEYWORD " + K150)
    assert r.ok and r.search() == [1, 4], r
    r = tagged.command("SEARCH KEYWORD kw005 KEYWORD kw199")
    assert r.ok and r.search() == [], r
    sel = select(tagged)
    listed = [str(f) for f in sel.named("FLAGS")[0][1]]
    assert names(listed) == FIRST + SECOND
    permanent = sel.codes()["PERMANENTFLAGS"]
    for k in FIRST + SECOND:
        assert " %s " % k in permanent.replace("(", " ").replace(")", " ")
    assert "\\*" in permanent


def keyword_lines(path):
    """The X-Keywords lines of the file, trailing padding removed."""
    with open(path, "rb") as f:
        return [l.rstrip() for l in f.read().split(b"\n") if l.startswith(b"X-Keywords:")]


def test_keywords_survive_reopen_and_expunge_rewrite(tagged, connect, mail_store, user):
    before = flag_lists(tagged)
    tagged.command("LOGOUT")
    c = connect()
    select(c)
    assert flag_lists(c) == before
    on_disk = keyword_lines(mail_store.inbox_path(user))
    assert on_disk[1] == b"X-Keywords: " + " ".join(SECOND).encode()
    # expunge the first message: every later one is moved in the file
    assert c.command("STORE 1 +FLAGS.SILENT (\\Deleted)").ok
    assert c.command("EXPUNGE").ok
    assert keyword_lines(mail_store.inbox_path(user)) == on_disk[1:]
    c.command("LOGOUT")
    c = connect()
    select(c)
    assert flag_lists(c) == {1: before[2], 2: before[3], 3: before[4]}
    r = c.command("SEARCH KEYWORD " + K150)
    assert r.ok and r.search() == [1, 2], r


def test_remove_a_high_keyword(tagged, connect):
    r = tagged.command("STORE 2 -FLAGS (%s kw199)" % K150)
    assert r.ok, r
    want = [k for k in SECOND if k not in (K150, "kw199")]
    assert names(r.fetches()[2]["FLAGS"]) == want
    tagged.command("LOGOUT")
    c = connect()
    select(c)
    assert names(flag_lists(c)[2]) == want


@pytest.mark.parametrize("target,room", [("mix", 30), ("maildir", 26)])
def test_copy_into_a_smaller_format(tagged, target, room):
    """Message 3 (two keywords) fits; message 1 (100) answers NO [LIMIT]
    and the target gets nothing of it."""
    name = "#driver.%s/kwcopy" % target
    assert tagged.command('CREATE "%s"' % name).ok
    r = tagged.command('COPY 3 "%s"' % name)
    assert r.ok, r
    r = tagged.command('COPY 1 "%s"' % name)
    assert r.status == "NO" and r.code == "LIMIT", r
    r = tagged.command('STATUS "%s" (MESSAGES)' % name)
    assert r.ok and "MESSAGES 1" in r.raw[0].decode(), r
    r = tagged.command('EXAMINE "%s"' % name)
    assert r.ok, r
    assert names(flag_lists(tagged)[1]) == ["kw005", K150]


def test_the_cap_answers_limit(inbox, connect):
    c = connect()
    select(c)
    many = ["k%04d" % i for i in range(1000)]
    r = c.command("STORE 1 +FLAGS (%s)" % " ".join(many))
    assert r.ok, r
    assert len(names(r.fetches()[1]["FLAGS"])) == 1000
    r = c.command("STORE 2 +FLAGS (one-more)")
    assert r.status == "NO" and r.code == "LIMIT", r
    assert names(flag_lists(c)[2]) == []
    c.command("LOGOUT")
    c = connect()
    select(c)
    assert names(flag_lists(c)[1]) == many


@pytest.mark.mbox_only("the MH folder is named explicitly; INBOX plays no part")
def test_mh_folder_keeps_a_hundred_keywords(fresh, connect):
    """MH keeps a keyword as a sequence of that name: 100 of them on one
    message, high ones too, are there after a reopen and can be searched."""
    c = connect()
    name = "#driver.mh/kwmh"
    assert c.command('CREATE "%s"' % name).ok
    msg = "Subject: kw\r\n\r\nbody text\r\n"
    for _ in range(2):
        r = c.command('APPEND "%s" {%d+}\r\n%s' % (name, len(msg), msg))
        assert r.ok, r
    assert c.command('SELECT "%s"' % name).ok
    r = c.command("STORE 1 +FLAGS (%s)" % " ".join(FIRST + [K150]))
    assert r.ok, r
    assert c.command("STORE 2 +FLAGS (%s)" % K150).ok
    c.command("LOGOUT")
    c = connect()
    assert c.command('SELECT "%s"' % name).ok
    assert names(flag_lists(c)[1]) == FIRST + [K150]
    r = c.command("SEARCH KEYWORD " + K150)
    assert r.ok and r.search() == [1, 2], r
    r = c.command("SEARCH UNKEYWORD kw099")
    assert r.ok and r.search() == [2], r


@pytest.mark.mbox_only("the configured cap is the shared layer's, not a format's")
def test_configured_cap_answers_limit(server_with, inbox, user):
    """max_keywords = 100: the hundredth keyword is taken, the next one is
    NO [LIMIT] and nothing of that STORE is kept."""
    srv = server_with("max_keywords = 100")
    c = RawIMAP(srv.host, srv.port)
    try:
        c.login(user.name, user.password)
        select(c)
        r = c.command("STORE 1 +FLAGS (%s)" % " ".join(FIRST))
        assert r.ok, r
        r = c.command("STORE 2 +FLAGS (%s extra)" % K150)
        assert r.status == "NO" and r.code == "LIMIT", r
        assert names(flag_lists(c)[2]) == []
        assert c.command("STORE 2 +FLAGS (kw000 kw099)").ok
    finally:
        c.close()


def test_two_sessions_change_high_keywords_of_one_message(tagged, connect):
    """Each session's change to a different high keyword of message 2 is
    kept: neither write undoes the other's, and each sees both."""
    b = connect()
    select(b)
    assert tagged.command("STORE 2 -FLAGS (kw120)").ok
    assert b.command("STORE 2 +FLAGS (kw001 late-one)").ok
    assert b.command("STORE 2 -FLAGS (kw180)").ok
    want = ["kw001"] + [k for k in SECOND if k not in ("kw120", "kw180")] + ["late-one"]
    for c in (tagged, b):
        assert c.command("NOOP").ok
        assert names(flag_lists(c)[2]) == want
