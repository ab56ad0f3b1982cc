# OBJECTID (RFC 8474): MAILBOXID on SELECT/EXAMINE, CREATE and STATUS, kept
# in ~/.imapd-mailboxids (0600, replaced through a temp file, never through
# a link), following RENAME and going with DELETE; EMAILID and THREADID as
# FETCH items and SEARCH keys, derived from the message so that sessions,
# COPY and the formats agree.
import hashlib
import os
import re
import stat

import pytest

from helpers import mailstore
from helpers.imapclient import Lit

IDS = ".imapd-mailboxids"
MBOXID = re.compile(r"^MAILBOXID \((F[0-9a-f]{24})\)$")

ROOT = (b"From: a@example.org\r\nSubject: root\r\nMessage-ID: <root@example.org>\r\n"
        b"\r\nfirst\r\n")
REPLY = (b"From: b@example.org\r\nSubject: Re: root\r\nMessage-ID: <reply@example.org>\r\n"
         b"In-Reply-To: <root@example.org>\r\nReferences: <root@example.org>\r\n\r\nsecond\r\n")
LONE = b"From: c@example.org\r\nSubject: no ids\r\n\r\nthird\r\n"


def digest_id(letter, data):
    """The id we promise: a letter and 24 hex digits of SHA-256."""
    return letter + hashlib.sha256(data).hexdigest()[:24]


def status_id(c, name):
    r = c.command("STATUS %s (MAILBOXID)" % name)
    assert r.ok, r
    m = re.match(rb"^\* STATUS \S+ \(MAILBOXID \((F[0-9a-f]{24})\)\)$", r.raw[0])
    assert m and len(r.raw) == 1, r.raw
    return m.group(1).decode()


def test_capability(client):
    assert "OBJECTID" in client.command("CAPABILITY").named("CAPABILITY")[0]


# CREATE, RENAME and DELETE take a different path in each format's driver
@pytest.mark.parametrize("mail_store", mailstore.FORMATS, indirect=True)
def test_mailboxid_lifecycle(client, connect, user, mail_store):
    # RFC 8474 4.1: CREATE's OK carries the new id
    r = client.command("CREATE foo")
    m = MBOXID.match(r.code or "")
    assert r.ok and m, r
    fid = m.group(1)
    # 4.2 (SELECT/EXAMINE) and 4.3 (STATUS), byte for byte
    for verb in ("SELECT", "EXAMINE"):
        r = client.command("%s foo" % verb)
        assert r.ok and r.codes()["MAILBOXID"] == "(%s)" % fid
    assert client.command("STATUS foo (MESSAGES MAILBOXID)").raw == \
        [b"* STATUS foo (MESSAGES 0 MAILBOXID (%s))" % fid.encode()]
    assert client.command("CLOSE").ok
    # stable across sessions and RENAME; a new mailbox of the old name is new
    other = connect()
    assert status_id(other, "foo") == fid
    assert other.command("RENAME foo bar").ok
    assert status_id(client, "bar") == fid
    r = client.command("CREATE foo")
    assert MBOXID.match(r.code).group(1) not in (fid, None)
    assert client.command("DELETE bar").ok
    r = client.command("CREATE bar")
    assert r.ok and MBOXID.match(r.code).group(1) != fid
    # a child's id follows its parent's RENAME; LIST-STATUS (RFC 5819) asks too
    assert client.command("CREATE dir/").ok
    kid = MBOXID.match(client.command("CREATE dir/kid").code).group(1)
    assert client.command("RENAME dir moved").ok
    r = client.command('LIST "" moved/kid RETURN (STATUS (MAILBOXID))')
    assert r.raw[1] == b"* STATUS moved/kid (MAILBOXID (%s))" % kid.encode()
    # INBOX keeps its id when RENAME moves its messages out
    inbox = status_id(client, "INBOX")
    assert client.command("RENAME INBOX old").ok
    assert status_id(client, "INBOX") == inbox
    assert status_id(client, "old") != inbox
    st = os.lstat(os.path.join(user.home, IDS))
    assert stat.S_ISREG(st.st_mode) and stat.S_IMODE(st.st_mode) == 0o600
    assert st.st_uid == user.uid


def fetch_ids(c, seq):
    """{uid: (emailid, threadid)} of UID FETCH seq."""
    r = c.command("UID FETCH %s (EMAILID THREADID)" % seq)
    assert r.ok, r
    out = {}
    for line in r.raw:
        m = re.match(rb"^\* \d+ FETCH \(UID (\d+) EMAILID \((M[0-9a-f]{24})\) "
                     rb"THREADID (NIL|\((T[0-9a-f]{24})\))\)$", line)
        assert m, line
        out[int(m.group(1))] = (m.group(2).decode(), m.group(4) and m.group(4).decode())
    return out


# the canonical text each format gives back, and its COPY, make the ids
@pytest.mark.parametrize("mail_store", mailstore.FORMATS, indirect=True)
def test_emailid_threadid(client, connect, mail_store):
    assert client.command("CREATE box").ok
    for msg in (ROOT, REPLY, LONE):
        assert client.command("APPEND box ", Lit(msg)).ok
    assert client.command("SELECT box").ok
    ids = fetch_ids(client, "1:*")
    uids = sorted(ids)
    root, reply, lone = (ids[u] for u in uids)
    # 5.1: EMAILID from the message's bytes; 5.2: THREADID from the root's
    # Message-ID, NIL for a message that names none
    assert root[0] == digest_id("M", ROOT) and reply[0] == digest_id("M", REPLY)
    assert lone == (digest_id("M", LONE), None)
    assert root[1] == reply[1] == digest_id("T", b"root@example.org")
    # 7: the RFC's SEARCH keys
    r = client.command("UID SEARCH THREADID %s" % root[1])
    assert r.raw == [b"* SEARCH %d %d" % (uids[0], uids[1])]
    r = client.command("SEARCH EMAILID %s" % lone[0])
    assert r.raw == [b"* SEARCH 3"]
    assert client.command("SEARCH EMAILID Mnone").raw == [b"* SEARCH"]
    assert client.command("SEARCH EMAILID M.bad").status == "BAD"
    # the same in another session, and for the copy in another mailbox
    assert client.command("CREATE other").ok
    assert client.command("COPY 1:2 other").ok
    c2 = connect()
    assert c2.command("SELECT other").ok
    assert sorted(fetch_ids(c2, "1:*").values()) == sorted([root, reply])


@pytest.mark.parametrize("leaf", [IDS, IDS + ".lock"])
def test_planted_link_refused(client, user, other_user, leaf):
    target = os.path.join(other_user.home, "victim")
    with open(target, "wb") as f:
        f.write(b"untouched")
    os.chown(target, other_user.uid, other_user.gid)
    link = os.path.join(user.home, leaf)
    os.symlink(target, link)
    os.lchown(link, user.uid, user.gid)
    assert client.command("STATUS INBOX (MAILBOXID)").status == "NO"
    # SELECT goes on without the code
    r = client.command("SELECT INBOX")
    assert r.ok and "MAILBOXID" not in r.codes()
    with open(target, "rb") as f:
        assert f.read() == b"untouched"
    assert os.path.islink(link)


def test_damaged_file_refused(client, user):
    p = os.path.join(user.home, IDS)
    with open(p, "wb") as f:
        f.write(b"imapd-mailboxids 1\nF0123 5\nINBOX\n")
    os.chown(p, user.uid, user.gid)
    r = client.command("STATUS INBOX (MAILBOXID)")
    assert r.status == "NO" and r.code == "CORRUPTION"
    with open(p, "rb") as f:
        assert f.read() == b"imapd-mailboxids 1\nF0123 5\nINBOX\n"
