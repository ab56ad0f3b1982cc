# SELECT / EXAMINE / CLOSE on an MTA-written spool (RFC 3501 6.3.1, 6.3.2,
# 6.4.2, 7.3): the untagged data a client needs, read-only rules, \Recent,
# UID stability, and new mail arriving while the mailbox is selected. Every
# test runs on an mbox spool INBOX and on a Maildir INBOX.
from helpers import mailstore, mbox

MAIL_FORMATS = mailstore.FORMATS

SYSTEM_FLAGS = {"\\ANSWERED", "\\FLAGGED", "\\DELETED", "\\SEEN", "\\DRAFT"}

# one more message, delivered by the tests while a session is open
NEW_MAIL = mbox.load("late.mbox")[0]


def upper_flags(lst):
    return {f.upper() for f in lst}


def test_select_mta_spool(inbox, client):
    r = client.command("SELECT INBOX")
    assert r.ok, r
    assert r.numbered("EXISTS") == [4]
    assert r.numbered("RECENT") == [4]
    flags = r.named("FLAGS")
    assert len(flags) == 1, r.raw
    assert SYSTEM_FLAGS <= upper_flags(flags[0][1])
    codes = r.codes()
    assert codes.get("READ-WRITE") == "", r
    assert 0 < int(codes["UIDVALIDITY"]) < 2 ** 32
    assert int(codes["UIDNEXT"]) >= 5
    assert codes["UNSEEN"] == "1"
    perm = codes["PERMANENTFLAGS"].strip("()").upper().split()
    assert SYSTEM_FLAGS - {"\\RECENT"} <= set(perm), perm
    assert "\\*" in perm, "keywords cannot be created: %s" % perm


def test_select_with_imaplib(inbox, imap_user):
    typ, data = imap_user.select("INBOX")
    assert typ == "OK" and data == [b"4"]
    assert imap_user.response("UIDVALIDITY")[1][0] is not None


def test_uidnext_is_above_every_uid(inbox, client):
    r = client.command("SELECT INBOX")
    uids = [int(f["UID"]) for _, f in sorted(client.command("FETCH 1:* UID").fetches().items())]
    assert len(uids) == 4
    assert uids == sorted(uids) and len(set(uids)) == 4
    assert int(r.codes()["UIDNEXT"]) > uids[-1]


def test_uids_and_uidvalidity_stable_across_sessions(inbox, connect):
    seen = []
    for _ in range(2):
        c = connect()
        r = c.command("SELECT INBOX")
        f = c.command("FETCH 1:* UID").fetches()
        seen.append((r.codes()["UIDVALIDITY"], [f[i]["UID"] for i in sorted(f)]))
        c.command("LOGOUT")
    assert seen[0] == seen[1]


def test_recent_only_for_the_first_session(inbox, connect):
    c = connect()
    assert c.command("SELECT INBOX").numbered("RECENT") == [4]
    c.command("LOGOUT")
    c = connect()
    assert c.command("SELECT INBOX").numbered("RECENT") == [0]


def test_examine_is_read_only(inbox, client, connect):
    r = client.command("EXAMINE INBOX")
    assert r.ok, r
    assert "READ-ONLY" in r.codes()
    assert r.numbered("EXISTS") == [4]
    # STORE may be refused (NO) or ignored, but nothing may change
    client.command("STORE 1 +FLAGS (\\Deleted)")
    client.command("LOGOUT")
    c = connect()
    c.command("EXAMINE INBOX")
    f = c.command("FETCH 1 FLAGS").fetches()
    assert "\\DELETED" not in upper_flags(f[1]["FLAGS"])


def test_examine_changes_nothing(inbox, client, mail_store, user, connect):
    client.command("EXAMINE INBOX")
    assert client.command("FETCH 1:* (BODY[] FLAGS)").ok
    f = client.command("FETCH 1 FLAGS").fetches()
    assert "\\SEEN" not in upper_flags(f[1]["FLAGS"])
    client.command("LOGOUT")
    msgs = mail_store.messages(user)
    assert [m.data for m in msgs] == [e.data for e in inbox]
    assert [m.flags for m in msgs] == [set()] * 4
    # no \Seen stored, and EXAMINE must not take \Recent away (RFC 3501 6.3.2)
    c = connect()
    assert c.command("SELECT INBOX").numbered("RECENT") == [4]
    f = c.command("FETCH 1:* FLAGS").fetches()
    assert not any("\\SEEN" in upper_flags(v["FLAGS"]) for v in f.values())


def test_missing_spool_file_is_an_empty_inbox(fresh, client):
    r = client.command("SELECT INBOX")
    assert r.ok, r
    assert r.numbered("EXISTS") == [0]
    assert r.numbered("RECENT") == [0]


def test_inbox_name_is_case_insensitive(inbox, client):
    r = client.command("SELECT inbox")
    assert r.ok and r.numbered("EXISTS") == [4]


def test_users_see_only_their_own_inbox(inbox, connect, other_user):
    c = connect(who=other_user)
    r = c.command("SELECT INBOX")
    assert r.ok and r.numbered("EXISTS") == [0]


def test_select_missing_mailbox_is_no_and_deselects(inbox, client):
    assert client.command("SELECT INBOX").ok
    assert client.command("SELECT no-such-box").status == "NO"
    # RFC 3501 6.3.1: a failed SELECT leaves no mailbox selected
    r = client.command("FETCH 1 FLAGS")
    assert (r.status, r.text) == ("BAD", "FETCH is not valid without a selected mailbox"), r


def test_close_returns_to_authenticated(inbox, client):
    client.command("SELECT INBOX")
    r = client.command("CLOSE")
    assert r.ok, r
    r = client.command("FETCH 1 FLAGS")
    assert (r.status, r.text) == ("BAD", "FETCH is not valid without a selected mailbox"), r
    assert client.command("SELECT INBOX").ok


def test_new_delivery_shows_on_noop(inbox, client, mail_store, user):
    assert client.command("SELECT INBOX").numbered("EXISTS") == [4]
    mail_store.deliver(user, NEW_MAIL)
    r = client.command("NOOP")
    assert r.ok
    assert r.numbered("EXISTS") == [5], r.raw
    f = client.command("FETCH 5 (BODY.PEEK[] FLAGS)").fetches()
    assert f[5]["BODY[]"] == NEW_MAIL.crlf()
    assert "\\RECENT" in upper_flags(f[5]["FLAGS"])


def test_delivery_after_flag_change_keeps_both(inbox, client, mail_store, user):
    client.command("SELECT INBOX")
    assert client.command("STORE 1 +FLAGS (\\Flagged)").ok
    client.command("NOOP")
    mail_store.deliver(user, NEW_MAIL)
    assert client.command("NOOP").numbered("EXISTS") == [5]
    assert client.command("CHECK").ok
    client.command("LOGOUT")
    msgs = mail_store.messages(user)
    assert [m.data for m in msgs] == [e.data for e in inbox] + [NEW_MAIL.data]
    assert [m.flags for m in msgs] == [{"\\Flagged"}] + [set()] * 4
