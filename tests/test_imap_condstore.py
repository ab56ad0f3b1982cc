# CONDSTORE and QRESYNC (RFC 7162) through the daemon, on every mailbox
# format: modseqs that survive the session, the process and the loss of the
# modseq file (~/.imapd-cache/*.msq), changes made behind the server's back,
# conditional STORE, VANISHED, and the byte forms the RFC's examples fix.
import glob
import os
import re
import threading

import pytest

from helpers import mailstore
from helpers.mbox import Entry
from test_imap_extensions import idle_until

MAIL_FORMATS = mailstore.FORMATS


def message(n):
    data = ("From: a%d@example.com\nTo: you@example.org\nSubject: m%d\n"
            "Message-ID: <c%d@example.com>\n\nbody %d\n" % (n, n, n, n)).encode()
    return Entry(data, date="Fri Jan  9 12:00:00 2026")


def ok(r):
    assert r.ok, r
    return r


def highest(r):
    """HIGHESTMODSEQ from the responses of r."""
    return int(r.codes()["HIGHESTMODSEQ"])


def lines(r, kind):
    """The raw untagged lines of r that are VANISHED or FETCH responses."""
    pat = {"VANISHED": rb"^\* VANISHED ", "FETCH": rb"^\* \d+ FETCH "}[kind]
    return [x.decode() for x in r.raw if re.match(pat, x)]


def modseqs(r):
    """{msgno: MODSEQ} of the FETCH responses of r."""
    return {n: int(a["MODSEQ"][0]) for n, a in r.fetches().items() if "MODSEQ" in a}


@pytest.fixture
def six(mail_store, user, connect):
    """INBOX holds six messages (UIDs 1-6), seen once (no longer \\Recent)."""
    mail_store.write(user, [message(n) for n in range(1, 7)])
    c = connect()
    ok(c.command("SELECT INBOX"))
    ok(c.command("LOGOUT"))


def msq_files(user):
    return glob.glob(os.path.join(user.home, ".imapd-cache", "*.msq"))


def qresync_client(connect):
    c = connect()
    ok(c.command("ENABLE QRESYNC"))
    return c


def test_capabilities_and_enable(six, client):
    caps = ok(client.command("CAPABILITY")).named("CAPABILITY")[0]
    assert "CONDSTORE" in caps and "QRESYNC" in caps
    r = ok(client.command("ENABLE CONDSTORE"))
    assert r.raw == [b"* ENABLED CONDSTORE"]
    # QRESYNC implies CONDSTORE, yet it is what this ENABLE turned on
    r = ok(client.command("ENABLE QRESYNC CONDSTORE"))
    assert r.raw == [b"* ENABLED QRESYNC"]


def test_plain_select_has_no_modseq(six, client):
    r = ok(client.command("SELECT INBOX"))
    assert "HIGHESTMODSEQ" not in r.codes()
    r = ok(client.command("STORE 1 +FLAGS (\\Seen)"))
    assert r.raw == [b"* 1 FETCH (FLAGS (\\Seen))"]


def test_select_condstore_and_fetch_modseq(six, client):
    r = ok(client.command("SELECT INBOX (CONDSTORE)"))
    top = highest(r)
    ms = modseqs(ok(client.command("FETCH 1:* (MODSEQ)")))
    assert sorted(ms) == [1, 2, 3, 4, 5, 6]
    # each message got its own modseq, the last one is HIGHESTMODSEQ
    assert len(set(ms.values())) == 6 and max(ms.values()) == top
    # the same numbers in the next session: they are kept, not made up
    client.command("LOGOUT")


def test_modseqs_persist_across_sessions(six, connect):
    a = connect()
    top = highest(ok(a.command("SELECT INBOX (CONDSTORE)")))
    first = modseqs(ok(a.command("FETCH 1:* (MODSEQ)")))
    ok(a.command("LOGOUT"))
    b = connect()
    assert highest(ok(b.command("EXAMINE INBOX (CONDSTORE)"))) == top
    assert modseqs(ok(b.command("FETCH 1:* (MODSEQ)"))) == first


def test_store_gives_a_new_modseq_and_changedsince(six, client):
    top = highest(ok(client.command("SELECT INBOX (CONDSTORE)")))
    r = ok(client.command("STORE 2 +FLAGS (\\Flagged)"))
    m = re.match(rb"^\* 2 FETCH \(FLAGS \(\\Flagged\) MODSEQ \((\d+)\)\)$", r.raw[0])
    assert m and len(r.raw) == 1, r.raw
    new = int(m.group(1))
    assert new > top
    r = ok(client.command("FETCH 1:* (FLAGS) (CHANGEDSINCE %d)" % top))
    assert lines(r, "FETCH") == ["* 2 FETCH (FLAGS (\\Flagged) MODSEQ (%d))" % new]
    r = ok(client.command("STATUS INBOX (HIGHESTMODSEQ)"))
    assert r.raw == [b"* STATUS INBOX (HIGHESTMODSEQ %d)" % new]
    # .SILENT still tells the modseq once CONDSTORE is on (RFC 7162 3.1.3)
    r = ok(client.command("UID STORE 3 +FLAGS.SILENT (\\Seen)"))
    assert re.match(rb"^\* 3 FETCH \(UID 3 MODSEQ \(\d+\)\)$", r.raw[0]), r.raw


def test_unchangedsince_conflict_gives_modified(six, connect):
    a, b = connect(), connect()
    ok(a.command("SELECT INBOX (CONDSTORE)"))
    ms = modseqs(ok(a.command("FETCH 1:3 (MODSEQ)")))
    ok(b.command("SELECT INBOX"))
    ok(b.command("STORE 1 +FLAGS (\\Answered)"))
    # 1 changed after a looked: refused; 2 and 3 are stored
    since = max(ms.values())
    r = a.command("STORE 1:3 (UNCHANGEDSINCE %d) +FLAGS.SILENT (\\Deleted)" % since)
    assert r.ok and r.code == "MODIFIED 1", r
    stored = [x for x in lines(r, "FETCH") if "MODSEQ" in x and "FLAGS" not in x]
    assert [x.split()[1] for x in stored] == ["2", "3"], r.raw
    ok(a.command("NOOP"))
    flags = ok(a.command("FETCH 1:3 (FLAGS)")).fetches()
    assert "\\Deleted" not in flags[1]["FLAGS"] and "\\Answered" in flags[1]["FLAGS"]
    assert "\\Deleted" in flags[2]["FLAGS"] and "\\Deleted" in flags[3]["FLAGS"]
    # UNCHANGEDSINCE 0 can never hold (RFC 7162 3.1.3), by UID too
    r = a.command("UID STORE 4,6 (UNCHANGEDSINCE 0) +FLAGS (\\Seen)")
    assert r.ok and r.code == "MODIFIED 4,6", r
    assert lines(r, "FETCH") == []


def test_search_modseq(six, client):
    ok(client.command("SELECT INBOX (CONDSTORE)"))
    ok(client.command("STORE 4 +FLAGS (\\Draft)"))
    ms = modseqs(ok(client.command("FETCH 1:* (MODSEQ)")))
    r = ok(client.command("SEARCH MODSEQ %d" % ms[4]))
    assert r.raw == [b"* SEARCH 4 (MODSEQ %d)" % ms[4]]
    r = ok(client.command('SEARCH MODSEQ "/flags/\\\\draft" all %d' % ms[4]))
    assert r.raw == [b"* SEARCH 4 (MODSEQ %d)" % ms[4]]
    r = ok(client.command("SEARCH RETURN (MIN) MODSEQ 1", tag="A1"))
    assert r.raw == [b'* ESEARCH (TAG "A1") MIN 1 MODSEQ %d' % ms[1]]
    r = ok(client.command("SEARCH MODSEQ %d" % (max(ms.values()) + 1)))
    assert r.raw == [b"* SEARCH"]


def test_status_highestmodseq_follows_append(six, client):
    ok(client.command("CREATE other"))
    r = ok(client.command("STATUS other (HIGHESTMODSEQ MESSAGES)"))
    before = int(re.search(rb"HIGHESTMODSEQ (\d+)", r.raw[0]).group(1))
    ok(client.command("APPEND other {%d+}\r\n" % len(message(9).data), message(9).data))
    r = ok(client.command("STATUS other (HIGHESTMODSEQ)"))
    after = int(re.search(rb"HIGHESTMODSEQ (\d+)", r.raw[0]).group(1))
    assert after > before
    # SELECT agrees with STATUS
    assert highest(ok(client.command("SELECT other (CONDSTORE)"))) == after


def change_and_expunge(connect):
    """Another session flags message 3 and expunges UIDs 5 and 6."""
    b = connect()
    ok(b.command("SELECT INBOX"))
    ok(b.command("STORE 3 +FLAGS (\\Flagged)"))
    ok(b.command("STORE 5:6 +FLAGS (\\Deleted)"))
    ok(b.command("EXPUNGE"))
    ok(b.command("LOGOUT"))


def cached_then_changed(connect):
    """A QRESYNC client selects INBOX and leaves with its UIDVALIDITY and
    HIGHESTMODSEQ; then another session changes and expunges. -> (v, m)"""
    a = qresync_client(connect)
    r = ok(a.command("SELECT INBOX"))
    v, m = int(r.codes()["UIDVALIDITY"]), highest(r)
    ok(a.command("LOGOUT"))
    change_and_expunge(connect)
    return v, m


def test_qresync_reconnect_gets_exactly_the_changes(six, connect):
    v, m = cached_then_changed(connect)
    # a new connection is a new imapd process: nothing survives but the file
    c = qresync_client(connect)
    r = ok(c.command("SELECT INBOX (QRESYNC (%d %d))" % (v, m)))
    assert lines(r, "VANISHED") == ["* VANISHED (EARLIER) 5:6"]
    fetch = lines(r, "FETCH")
    assert len(fetch) == 1 and re.match(
        r"^\* 3 FETCH \(UID 3 FLAGS \(\\Flagged\) MODSEQ \((\d+)\)\)$", fetch[0]), r.raw
    assert m < int(re.search(r"MODSEQ \((\d+)", fetch[0]).group(1)) < highest(r)
    # known-uids limits both answers
    c2 = qresync_client(connect)
    r = ok(c2.command("EXAMINE INBOX (QRESYNC (%d %d 1:2,6))" % (v, m)))
    assert lines(r, "VANISHED") == ["* VANISHED (EARLIER) 6"]
    assert lines(r, "FETCH") == []
    # a stale UIDVALIDITY: no resync data at all
    c3 = qresync_client(connect)
    r = ok(c3.command("SELECT INBOX (QRESYNC (%d %d))" % (v + 1, m)))
    assert lines(r, "VANISHED") == [] and lines(r, "FETCH") == []


def test_qresync_after_the_modseq_file_is_lost(six, connect, user):
    v, m = cached_then_changed(connect)
    b = qresync_client(connect)
    top = highest(ok(b.command("EXAMINE INBOX")))
    ok(b.command("LOGOUT"))
    files = msq_files(user)
    assert len(files) == 1
    os.unlink(files[0])
    # the rebuilt file starts above everything handed out: the client's
    # cache is not trusted, every message is resent, the expunges too
    c = qresync_client(connect)
    r = ok(c.command("SELECT INBOX (QRESYNC (%d %d))" % (v, m)))
    assert highest(r) > top
    assert lines(r, "VANISHED") == ["* VANISHED (EARLIER) 5:6"]
    assert sorted(r.fetches()) == [1, 2, 3, 4]
    assert all(int(a["MODSEQ"][0]) > top for a in r.fetches().values())


def test_vanished_replaces_expunge_once_qresync_is_on(six, connect):
    c = qresync_client(connect)
    m = highest(ok(c.command("SELECT INBOX")))
    ok(c.command("STORE 2,4 +FLAGS.SILENT (\\Deleted)"))
    r = ok(c.command("EXPUNGE"))
    assert sorted(x for x in r.raw if b"VANISHED" in x or b"EXPUNGE" in x) == \
        [b"* VANISHED 2", b"* VANISHED 4"]
    ok(c.command("STORE 1 +FLAGS.SILENT (\\Seen)"))
    r = ok(c.command("UID FETCH 1:* (FLAGS) (CHANGEDSINCE %d VANISHED)" % m))
    assert lines(r, "VANISHED") == ["* VANISHED (EARLIER) 2,4"]
    assert [x.split()[1] for x in lines(r, "FETCH")] == ["1"]
    # VANISHED needs UID FETCH
    assert c.command("FETCH 1:* (FLAGS) (CHANGEDSINCE 1 VANISHED)").status == "BAD"
    # another session's expunge reaches this one as VANISHED too
    b = connect()
    ok(b.command("SELECT INBOX"))
    ok(b.command("UID STORE 5 +FLAGS.SILENT (\\Deleted)"))
    ok(b.command("UID EXPUNGE 5"))
    r = ok(c.command("NOOP"))
    assert b"* VANISHED 5" in r.raw and not any(b"EXPUNGE" in x for x in r.raw)
    # a new SELECT says the old mailbox ended
    r = ok(c.command("EXAMINE INBOX"))
    assert r.raw[0] == b"* OK [CLOSED] Previous mailbox closed"


def test_qresync_param_needs_enable(six, client):
    r = client.command("SELECT INBOX (QRESYNC (1 1))")
    assert r.status == "BAD"


def flag_behind_the_back(store, user, index):
    """Set \\Flagged on the index-th message (0-based) the way another
    program would: the Maildir file's info, mix's status record, the MH
    "flagged" sequence, mbx's flag field, or the mbox (and MMDF) X-Status
    header."""
    if store.format == "maildir":
        cur = os.path.join(store.inbox_path(user), "cur")
        names = sorted(os.listdir(cur), key=lambda n: int(n.split(".")[0]))
        old = names[index]
        base, _, info = old.partition(":2,")
        os.rename(os.path.join(cur, old),
                  os.path.join(cur, base + ":2," + "".join(sorted(info + "F"))))
        return
    if store.format == "mh":
        store.mark(user, store.messages(user)[index].uid, "flagged")
        return
    if store.format == "mix":
        # .mixstatus: ":uid:keywords:flags:..." records in hex, fixed width
        path = os.path.join(store.inbox_path(user), ".mixstatus")
        with open(path, "rb") as f:
            lines = f.read().split(b"\r\n")
        recs = [i for i, ln in enumerate(lines[1:], 1) if ln.startswith(b":")]
        f = lines[recs[index]].split(b":")
        f[3] = b"%0*x" % (len(f[3]), int(f[3], 16) | 0x4)
        lines[recs[index]] = b":".join(f)
        with open(path, "r+b") as out:
            out.write(b"\r\n".join(lines))
        return
    path = store.inbox_path(user)
    with open(path, "rb") as f:
        data = f.read()
    if store.format == "mbx":
        # the SSSS flag field of the message's line, written in place
        rec = mailstore.mbx_records(data)[index]
        at = rec[5] - 2 - 8 - 1 - 4
        data = data[:at] + b"%04x" % (rec[3] | 0x4) + data[at + 4:]
        with open(path, "r+b") as f:
            f.write(data)
        return
    starts = [m.start() for m in re.finditer(rb"(?m)^From ", data)]
    # the first From line may be the folder record's
    if b"X-IMAP" in data[starts[0]:starts[1]]:
        starts = starts[1:]
    at = data.index(b"\n", starts[index]) + 1
    data = data[:at] + b"X-Status: F\n" + data[at:]
    with open(path, "wb") as f:
        f.write(data)


def test_change_by_another_program_gets_a_modseq(six, connect, mail_store, user):
    a = connect()
    ok(a.command("SELECT INBOX (CONDSTORE)"))
    before = modseqs(ok(a.command("UID FETCH 1:* (MODSEQ)")))
    top = max(before.values())
    ok(a.command("LOGOUT"))
    flag_behind_the_back(mail_store, user, 2)
    b = connect()
    r = ok(b.command("SELECT INBOX (CONDSTORE)"))
    assert highest(r) > top
    r = ok(b.command("UID FETCH 1:* (FLAGS) (CHANGEDSINCE %d)" % top))
    assert list(r.fetches()) == [3], r.raw
    assert "\\Flagged" in r.fetches()[3]["FLAGS"]


def test_late_enable_does_not_record_a_stale_view(six, connect):
    # a opened INBOX before anyone kept modseqs; b then changes message 3.
    # When a turns CONDSTORE on without having looked again, its stale
    # view of message 3 must not be recorded as a change: that took b's
    # next change for "no change" and gave two changes one modseq.
    a, b = connect(), connect()
    ok(a.command("SELECT INBOX"))
    ok(b.command("SELECT INBOX (CONDSTORE)"))
    first = modseqs(ok(b.command("STORE 3 +FLAGS (\\Seen)")))[3]
    seen_by_a = modseqs(ok(a.command("FETCH 3 (MODSEQ)")))[3]
    assert seen_by_a == first
    second = modseqs(ok(b.command("STORE 3 -FLAGS (\\Seen)")))[3]
    assert second > first
    ok(a.command("NOOP"))
    assert modseqs(ok(a.command("FETCH 3 (MODSEQ)")))[3] == second


def test_concurrent_stores_never_share_a_modseq(six, connect):
    seen = {}

    def worker(name, msgs):
        c = connect()
        ok(c.command("SELECT INBOX (CONDSTORE)"))
        got = []
        for i in range(8):
            for n in msgs:
                flag = "+FLAGS" if i % 2 == 0 else "-FLAGS"
                r = ok(c.command("STORE %d %s (\\Seen)" % (n, flag)))
                got.append(modseqs(r)[n])
        seen[name] = got
        ok(c.command("LOGOUT"))

    ts = [threading.Thread(target=worker, args=("a", (1, 2))),
          threading.Thread(target=worker, args=("b", (3, 4)))]
    for t in ts:
        t.start()
    for t in ts:
        t.join(120)
    assert len(seen) == 2
    every = seen["a"] + seen["b"]
    assert len(every) == 32 and len(set(every)) == 32
    assert seen["a"] == sorted(seen["a"]) and seen["b"] == sorted(seen["b"])


def test_planted_link_is_not_written(six, connect, user, other_user):
    a = connect()
    ok(a.command("SELECT INBOX (CONDSTORE)"))
    ok(a.command("LOGOUT"))
    [msq] = msq_files(user)
    victim = os.path.join(other_user.home, "precious")
    with open(victim, "w") as f:
        f.write("do not touch\n")
    os.chown(victim, other_user.uid, other_user.gid)
    os.unlink(msq)
    os.symlink(victim, msq)
    b = connect()
    ok(b.command("SELECT INBOX (CONDSTORE)"))
    ok(b.command("STORE 1 +FLAGS (\\Flagged)"))
    ok(b.command("LOGOUT"))
    with open(victim) as f:
        assert f.read() == "do not touch\n"
    assert os.stat(victim).st_uid == other_user.uid
    # the link was replaced by the user's own file, not followed
    assert not os.path.islink(msq) and os.stat(msq).st_uid == user.uid


def test_other_sessions_flags_come_with_their_modseq(six, connect):
    a, b = connect(), connect()
    top = highest(ok(a.command("SELECT INBOX (CONDSTORE)")))
    ok(b.command("SELECT INBOX"))
    r = ok(b.command("STORE 2 +FLAGS (\\Answered)"))
    # b never asked for modseqs: its answer has none
    assert r.raw == [b"* 2 FETCH (FLAGS (\\Answered))"]
    r = ok(a.command("NOOP"))
    m = [x for x in r.raw if b"FETCH" in x]
    assert len(m) == 1 and re.match(
        rb"^\* 2 FETCH \(UID 2 FLAGS \(\\Answered\) MODSEQ \((\d+)\)\)$", m[0]), r.raw
    new = int(re.search(rb"MODSEQ \((\d+)", m[0]).group(1))
    assert new > top
    assert modseqs(ok(a.command("FETCH 2 (MODSEQ)"))) == {2: new}


def test_idle_reports_vanished_and_modseq(six, connect):
    c = qresync_client(connect)
    top = highest(ok(c.command("SELECT INBOX")))
    b = connect()
    ok(b.command("SELECT INBOX"))
    done = {}

    def changed(got):
        if not done:     # once IDLE runs: a flag change and an expunge
            ok(b.command("STORE 1 +FLAGS (\\Flagged)"))
            ok(b.command("UID STORE 2 +FLAGS.SILENT (\\Deleted)"))
            ok(b.command("UID EXPUNGE 2"))
            done["b"] = 1
        names = [str(u[0]).upper() if u[0] == "VANISHED" or str(u[0]).isdigit() and
                 str(u[1]).upper() == "FETCH" else "" for u in got]
        return "VANISHED" in names and any(n.isdigit() for n in names)

    got, r = idle_until(c, changed, timeout=15)
    assert r.ok, r
    assert ["VANISHED", 2] in got or ["VANISHED", "2"] in got, got
    # message 2's \\Deleted may be told before it vanishes; 1's change is told
    fetch = [u for u in got if len(u) > 1 and str(u[1]).upper() == "FETCH"
             and int(u[0]) == 1]
    assert len(fetch) == 1, got
    items = dict(zip(fetch[0][2][::2], fetch[0][2][1::2]))
    assert items["FLAGS"] == ["\\Flagged"] and int(items["MODSEQ"][0]) > top, got
    assert not any(len(u) > 1 and str(u[1]).upper() == "EXPUNGE" for u in got), got
