# Every advertised extension does what its RFC says, checked as a client
# would use it: LITERAL+ (RFC 7888), IDLE (2177), NAMESPACE (2342), ID
# (2971), UNSELECT (3691), UIDPLUS (4315), MOVE (6851), CHILDREN (3348).
import time

import pytest

from helpers import mbox, system
from helpers.imapclient import Lit, parse, quote
from helpers.session import (View, make_message, message_id, server_pid, uid_set,
                             upper, wait_response)

NEW_MAIL = mbox.load("late.mbox")[0]


def caps(c):
    r = c.command("CAPABILITY")
    assert r.ok, r
    return {x.upper() for x in r.named("CAPABILITY")[0][1:]}


@pytest.mark.parametrize("ext", ["LITERAL+", "IDLE", "NAMESPACE", "ID", "UNSELECT",
                                 "UIDPLUS", "MOVE", "CHILDREN"])
def test_extension_is_advertised(client, ext):
    assert ext in caps(client)


@pytest.fixture
def box(inbox, client):
    r = client.command("SELECT INBOX")
    assert r.ok and r.numbered("EXISTS") == [4], r
    return client


def uidvalidity(r):
    return int(r.codes()["UIDVALIDITY"])


def uids(c):
    f = c.command("FETCH 1:* UID").fetches()
    return [int(f[i]["UID"]) for i in sorted(f)]


def body_by_uid(c, uid):
    r = c.command("UID FETCH %d BODY.PEEK[]" % uid)
    assert r.ok, r
    f = list(r.fetches().values())
    assert len(f) == 1, r.raw
    return bytes(f[0]["BODY[]"])


# ------------------------------------------------------------ LITERAL+

def test_literal_plus_in_append(box):
    msg = make_message(1, 700, tag="litplus").crlf()
    # command() raises on an unexpected "+" continuation
    r = box.command("APPEND INBOX (\\Seen) ", Lit(msg, nonsync=True))
    assert r.ok, r
    assert 5 in r.numbered("EXISTS") + box.command("NOOP").numbered("EXISTS")
    f = box.command("FETCH 5 (BODY.PEEK[] FLAGS)").fetches()
    assert f[5]["BODY[]"] == msg
    assert "\\SEEN" in upper(f[5]["FLAGS"])


def test_literal_plus_in_login(conn, user):
    r = conn.command("LOGIN ", Lit(user.name.encode(), nonsync=True), " ",
                     Lit(user.password.encode(), nonsync=True))
    assert r.ok, r
    assert conn.command("SELECT INBOX").ok


def test_literal_plus_whole_command_in_one_write(box):
    # a client may send the literal without waiting at all, in one packet
    msg = make_message(2, 300, tag="litplus").crlf()
    box.send(b"P1 APPEND INBOX {%d+}\r\n%s\r\nP2 NOOP\r\n" % (len(msg), msg))
    r1 = box.read_until("P1")
    assert r1.ok, r1
    r2 = box.read_until("P2")
    assert r2.ok, r2
    assert 5 in r1.numbered("EXISTS") + r2.numbered("EXISTS")


# ------------------------------------------------------------ IDLE

def idle_until(c, pred, timeout=10):
    """In IDLE, collect untagged responses until pred(list) or timeout;
    then DONE. Returns (responses, tagged Result)."""
    tag = c.next_tag()
    c.send("%s IDLE\r\n" % tag)
    first = c.read_response()
    assert first.startswith(b"+"), first
    got = []
    end = time.monotonic() + timeout
    while not pred(got) and time.monotonic() < end:
        resp = wait_response(c, max(0.1, end - time.monotonic()))
        if resp is None:
            raise AssertionError("IDLE: nothing wanted within %ss; got %r"
                                 % (timeout, got))
        assert resp.startswith(b"* "), resp
        got.append(parse(resp[2:]))
    c.send("DONE\r\n")
    done = c.read_until(tag)
    return got, done


def numbered(resps, name):
    return [int(u[0]) for u in resps
            if len(u) >= 2 and str(u[0]).isdigit() and str(u[1]).upper() == name]


def test_idle_reports_new_mail(box, spool, user):
    t0 = time.monotonic()
    holder = {}

    def arrived(got):
        if "t" not in holder:           # deliver once IDLE is running
            spool.deliver(user, NEW_MAIL)
            holder["t"] = time.monotonic()
        return 5 in numbered(got, "EXISTS")

    got, done = idle_until(box, arrived, timeout=12)
    assert 5 in numbered(got, "EXISTS"), got
    assert done.ok, done
    assert time.monotonic() - t0 < 12
    f = box.command("FETCH 5 BODY.PEEK[]").fetches()
    assert f[5]["BODY[]"] == NEW_MAIL.crlf()


def test_idle_wakes_on_delivery_without_polling(box, spool, user):
    """IDLE waits on the mailbox's inotify watch: a delivery reaches the
    idling client at once (under a second, where a 5-second poll would
    take up to 5), and while nothing happens the session process sleeps
    (no wake-ups to re-read the mailbox: its context switches stay put)."""
    pid = server_pid(box)
    assert pid, "no session process found"
    tag = box.next_tag()
    box.send("%s IDLE\r\n" % tag)
    assert box.read_response().startswith(b"+")
    time.sleep(0.3)

    def switches():
        return int(system.proc_status(pid)["voluntary_ctxt_switches"][0])
    before = switches()
    time.sleep(6)
    assert switches() == before, "the idle session woke up with nothing to do"
    spool.deliver(user, NEW_MAIL)
    t0 = time.monotonic()
    resp = wait_response(box, 3)
    waited = time.monotonic() - t0
    assert resp == b"* 5 EXISTS", resp
    assert waited < 1.0, "new mail took %.2f s to reach the idling client" % waited
    box.send("DONE\r\n")
    assert box.read_until(tag).ok


def test_idle_reports_expunge_by_another_session(box, connect):
    other = connect()
    assert other.command("SELECT INBOX").ok
    before = uids(box)
    holder = {}

    def gone(got):
        if "x" not in holder:
            holder["x"] = 1
            assert other.command("STORE 3 +FLAGS.SILENT (\\Deleted)").ok
            assert other.command("EXPUNGE").ok
        return 3 in numbered(got, "EXPUNGE")

    got, done = idle_until(box, gone, timeout=12)
    assert done.ok, done
    assert uids(box) == before[:2] + before[3:]


def test_idle_sees_a_folder_rewritten_by_another_session(client, connect):
    """A folder in the home is rewritten by rename over it: the watch
    follows the new file, so the second change is seen at once too."""
    assert client.command("CREATE idlebox").ok
    for i in range(3):
        assert client.command("APPEND idlebox ", Lit(make_message(i, 300).crlf())).ok
    assert client.command("SELECT idlebox").ok
    other = connect()
    assert other.command("SELECT idlebox").ok
    tag = client.next_tag()
    client.send("%s IDLE\r\n" % tag)
    assert client.read_response().startswith(b"+")
    for _ in range(2):
        time.sleep(0.3)
        assert other.command("STORE 1 +FLAGS.SILENT (\\Deleted)").ok
        assert other.command("EXPUNGE").ok
        t0 = time.monotonic()
        # the flag change may be seen first (its write wakes us too)
        resp = wait_response(client, 3)
        if resp.startswith(b"* 1 FETCH "):
            assert b"\\Deleted" in resp, resp
            resp = wait_response(client, 3)
        assert resp == b"* 1 EXPUNGE", resp
        assert time.monotonic() - t0 < 1.0
    client.send("DONE\r\n")
    assert client.read_until(tag).ok
    assert client.command("FETCH 1:* UID").numbered("FETCH") == [1]


def test_idle_done_at_once(box):
    got, done = idle_until(box, lambda g: True)
    assert done.ok, done
    assert box.command("NOOP").ok


def test_idle_in_authenticated_state(client):
    got, done = idle_until(client, lambda g: True)
    assert done.ok, done


# ------------------------------------------------------------ NAMESPACE

def test_namespace(client):
    r = client.command("NAMESPACE")
    assert r.ok, r
    ns = r.named("NAMESPACE")
    assert len(ns) == 1, r.raw
    personal, other, shared = ns[0][1:4]
    assert isinstance(personal, list) and personal, ns
    for group in (personal, other, shared):
        assert group is None or all(isinstance(d, list) and len(d) >= 2 for d in group), ns
    prefix, delim = personal[0][0], personal[0][1]
    prefix = prefix.decode() if isinstance(prefix, bytes) else prefix
    delim = delim.decode() if isinstance(delim, bytes) else delim
    # the delimiter agrees with LIST, and the personal prefix is usable
    lst = client.command('LIST "" ""')
    assert lst.named("LIST")[0][2] in (delim, delim.encode()), (lst.raw, ns)
    name = prefix + "ns-test"
    assert client.command("CREATE %s" % quote(name)).ok
    r = client.command('LIST "" %s' % quote(name))
    assert len(r.named("LIST")) == 1, r.raw


# ------------------------------------------------------------ ID

def check_id_response(r):
    """OK with our own name and version, whatever the client sent."""
    assert (r.status, r.text) == ("OK", "ID completed"), r
    assert r.named("ID") == [["ID", [b"name", b"imapd", b"version", b"0.1.0"]]], r.raw


def test_id_nil_before_login(conn):
    check_id_response(conn.command("ID NIL"))


def test_id_with_parameters(client):
    r = client.command('ID ("name" "pytest" "version" "1.0" "os" NIL)')
    check_id_response(r)
    assert client.command("NOOP").ok


def test_id_with_literal_value(client):
    r = client.command('ID ("name" ', Lit(b"odd ) name"), ")")
    check_id_response(r)


def test_id_empty_list(conn):
    # RFC 2971's #(...) allows none
    check_id_response(conn.command("ID ()"))


@pytest.mark.parametrize("args,text", [
    ('("name")', "a field without a value"),
    ('("name" "x" "os")', "a field without a value"),
    ('("name" "x" )', "Expected a string"),
    ('(name "x")', "Expected a string"),
    ('("name" "x"', "Missing argument"),
    ("foo", "needs a parameter list or NIL"),
    ("", "Missing argument"),
])
def test_id_malformed_is_bad(conn, args, text):
    r = conn.command(("ID " + args).rstrip())
    assert (r.status, r.text, r.untagged) == ("BAD", "ID: " + text, []), r
    assert conn.command("NOOP").ok


# ------------------------------------------------------------ UNSELECT

def test_unselect_does_not_expunge(box, connect):
    assert box.command("STORE 2 +FLAGS (\\Deleted)").ok
    r = box.command("UNSELECT")
    assert r.ok, r
    assert r.numbered("EXPUNGE") == [], r.raw
    r = box.command("FETCH 1 FLAGS")
    assert (r.status, r.text) == ("BAD", "FETCH is not valid without a selected mailbox"), r
    r = box.command("SELECT INBOX")
    assert r.numbered("EXISTS") == [4], r.raw
    f = box.command("FETCH 2 FLAGS").fetches()
    assert "\\DELETED" in upper(f[2]["FLAGS"])
    c = connect()
    assert c.command("SELECT INBOX").numbered("EXISTS") == [4]


def test_unselect_after_examine(box):
    assert box.command("EXAMINE INBOX").ok
    assert box.command("UNSELECT").ok
    r = box.command("UNSELECT")
    assert (r.status, r.text) == ("BAD", "UNSELECT is not valid without a selected mailbox"), r


# ------------------------------------------------------------ UIDPLUS

def test_appenduid_matches_uid_fetch(box):
    r0 = box.command("SELECT INBOX")
    validity = uidvalidity(r0)
    msg = make_message(3, 500, tag="uidplus").crlf()
    r = box.command("APPEND INBOX ", Lit(msg))
    assert r.ok, r
    assert (r.code or "").upper().startswith("APPENDUID "), r
    v, uid = r.code.split()[1:3]
    assert int(v) == validity
    assert body_by_uid(box, int(uid)) == msg
    assert int(uid) == uids(box)[-1]


def test_appenduid_into_another_mailbox(box):
    assert box.command("CREATE Archive").ok
    msg = make_message(4, 500, tag="uidplus").crlf()
    r = box.command("APPEND Archive ", Lit(msg))
    assert r.ok and r.code and r.code.upper().startswith("APPENDUID "), r
    v, uid = (int(x) for x in r.code.split()[1:3])
    st = box.command("STATUS Archive (UIDVALIDITY UIDNEXT)")
    fields = st.named("STATUS")[0][2]
    d = {fields[i].upper(): int(fields[i + 1]) for i in range(0, len(fields), 2)}
    assert d["UIDVALIDITY"] == v and d["UIDNEXT"] > uid, (d, r)
    sel = box.command("SELECT Archive")
    assert uidvalidity(sel) == v
    assert body_by_uid(box, uid) == msg


def test_copyuid_matches(box, inbox):
    assert box.command("CREATE Archive").ok
    src = uids(box)
    r = box.command("COPY 2:3 Archive")
    assert r.ok, r
    assert r.code and r.code.upper().startswith("COPYUID "), r
    v, sset, dset = r.code.split()[1:4]
    assert uid_set(sset) == src[1:3], r.code
    dst = uid_set(dset)
    assert len(dst) == 2
    sel = box.command("SELECT Archive")
    assert uidvalidity(sel) == int(v)
    # the i-th source UID went to the i-th destination UID
    assert body_by_uid(box, dst[0]) == inbox[1].crlf()
    assert body_by_uid(box, dst[1]) == inbox[2].crlf()


def test_uid_copy_copyuid(box, inbox):
    assert box.command("CREATE Archive").ok
    src = uids(box)
    r = box.command("UID COPY %d,%d Archive" % (src[3], src[0]))
    assert r.ok and r.code and r.code.upper().startswith("COPYUID "), r
    _, sset, dset = r.code.split()[1:4]
    pairs = dict(zip(uid_set(sset), uid_set(dset)))
    assert set(pairs) == {src[0], src[3]}
    box.command("SELECT Archive")
    assert body_by_uid(box, pairs[src[0]]) == inbox[0].crlf()
    assert body_by_uid(box, pairs[src[3]]) == inbox[3].crlf()


def test_uid_expunge_removes_only_given_uids(box, inbox):
    src = uids(box)
    assert box.command("STORE 1:3 +FLAGS.SILENT (\\Deleted)").ok
    r = box.command("UID EXPUNGE %d" % src[1])
    assert r.ok, r
    assert r.numbered("EXPUNGE") == [2], r.raw
    assert uids(box) == [src[0], src[2], src[3]]
    f = box.command("FETCH 1:2 FLAGS").fetches()
    assert all("\\DELETED" in upper(f[i]["FLAGS"]) for i in (1, 2)), f
    # a UID that is not \Deleted is not expunged
    r = box.command("UID EXPUNGE %d" % src[3])
    assert r.ok and r.numbered("EXPUNGE") == [], r.raw
    assert uids(box) == [src[0], src[2], src[3]]
    # a range covering several
    r = box.command("UID EXPUNGE %d:%d" % (src[0], src[3]))
    assert r.ok and len(r.numbered("EXPUNGE")) == 2, r.raw
    assert uids(box) == [src[3]]


# ------------------------------------------------------------ MOVE

def test_move_copyuid_and_expunge(box, inbox):
    assert box.command("CREATE Archive").ok
    v = View.of(box)
    src = list(v.uids)
    r = box.command("MOVE 2 Archive")
    assert r.ok, r
    codes = r.codes()
    assert "COPYUID" in codes, r.raw
    _, sset, dset = codes["COPYUID"].split()
    assert uid_set(sset) == [src[1]]
    assert r.numbered("EXPUNGE") == [2], r.raw
    # RFC 6851 4.3: COPYUID goes in an untagged OK before the EXPUNGEs
    raw = [x.upper() for x in r.raw]
    ok_at = [i for i, x in enumerate(raw) if x.startswith(b"* OK [COPYUID")]
    ex_at = [i for i, x in enumerate(raw) if x.endswith(b" EXPUNGE")]
    assert ok_at and ok_at[0] < ex_at[0], r.raw
    v.apply(r)
    assert v.uids == [src[0], src[2], src[3]] == uids(box)
    box.command("SELECT Archive")
    assert body_by_uid(box, uid_set(dset)[0]) == inbox[1].crlf()


def test_uid_move_several(box, inbox, connect):
    assert box.command("CREATE Archive").ok
    src = uids(box)
    r = box.command("UID MOVE %d,%d Archive" % (src[0], src[2]))
    assert r.ok, r
    assert len(r.numbered("EXPUNGE")) == 2, r.raw
    assert uids(box) == [src[1], src[3]]
    f = box.command("FETCH 1:* BODY.PEEK[]").fetches()
    assert [f[i]["BODY[]"] for i in sorted(f)] == [inbox[1].crlf(), inbox[3].crlf()]
    c = connect()
    sel = c.command("SELECT Archive")
    assert sel.numbered("EXISTS") == [2], sel.raw
    got = c.command("FETCH 1:* BODY.PEEK[]").fetches()
    assert sorted(message_id(bytes(d["BODY[]"])) for d in got.values()) == \
        sorted(message_id(inbox[i].data) for i in (0, 2))


def test_move_to_missing_mailbox_moves_nothing(box):
    before = uids(box)
    r = box.command("MOVE 1 NoSuchBox")
    assert r.status == "NO", r
    assert (r.code or "").upper() == "TRYCREATE", r
    assert r.numbered("EXPUNGE") == []
    assert uids(box) == before


def test_move_keeps_flags(box):
    assert box.command("CREATE Archive").ok
    assert box.command("STORE 1 +FLAGS (\\Flagged $Label1)").ok
    r = box.command("MOVE 1 Archive")
    assert r.ok, r
    box.command("SELECT Archive")
    f = box.command("FETCH 1 FLAGS").fetches()
    assert {"\\FLAGGED", "$LABEL1"} <= upper(f[1]["FLAGS"]), f


# ------------------------------------------------------------ CHILDREN

def listed(c, pattern="*"):
    r = c.command('LIST "" %s' % quote(pattern))
    assert r.ok, r
    out = {}
    for u in r.named("LIST"):
        name = u[3].decode() if isinstance(u[3], bytes) else u[3]
        out[name] = {a.upper() for a in u[1]}
    return out


def no_children(attrs):
    # RFC 3348 3: with \Noinferiors, \HasNoChildren is redundant and omitted
    return "\\HASNOCHILDREN" in attrs or "\\NOINFERIORS" in attrs


def check_children_rules(got):
    for name, attrs in got.items():
        assert not {"\\HASCHILDREN", "\\HASNOCHILDREN"} <= attrs, (name, attrs)
        assert not {"\\HASCHILDREN", "\\NOINFERIORS"} <= attrs, (name, attrs)


def test_children_attributes(client):
    # in mbox files a mailbox holding messages cannot hold mailboxes too:
    # parents are directories (made by CREATE of a child, or "name/")
    for name in ("parent/child", "parent/sub/", "parent/sub/grand", "leaf", "empty/"):
        r = client.command("CREATE %s" % quote(name))
        assert r.ok, r
    got = listed(client)
    check_children_rules(got)
    assert "\\HASCHILDREN" in got["parent"], got
    assert "\\HASCHILDREN" in got["parent/sub"], got
    for name in ("parent/child", "parent/sub/grand", "leaf", "INBOX", "empty"):
        assert no_children(got[name]), (name, got)


def test_children_with_percent(client):
    assert client.command("CREATE top/inner").ok
    assert client.command("CREATE alone").ok
    got = listed(client, "%")
    check_children_rules(got)
    assert "top/inner" not in got
    assert "\\HASCHILDREN" in got["top"], got
    assert no_children(got["alone"]), got


def test_children_after_delete(client):
    assert client.command("CREATE fam/kid").ok
    assert "\\HASCHILDREN" in listed(client)["fam"]
    assert client.command("DELETE fam/kid").ok
    got = listed(client)
    check_children_rules(got)
    # the now empty directory: listed without children, or gone
    assert "fam" not in got or no_children(got["fam"]), got
