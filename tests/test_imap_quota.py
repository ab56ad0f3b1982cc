# QUOTA (RFC 9208): one quota root "" over all of a user's mailboxes, limits
# from the configuration (quota_storage, quota_messages), usage counted from
# the mailboxes. APPEND, COPY and MOVE that would pass a limit are refused
# with NO [OVERQUOTA] and leave every mailbox as it was.
import os
import subprocess

import pytest

from helpers import mailstore
from helpers.imapclient import Lit
from helpers.mbox import Entry

MAIL_FORMATS = mailstore.FORMATS

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
LIMITS = "quota_storage = 6k\nquota_messages = 4"


def message(size, n):
    """A message of exactly size octets with CRLF line ends."""
    head = b"From: a@example.org\r\nSubject: quota %d\r\n\r\n" % n
    body = b"x" * (size - len(head) - 2) + b"\r\n"
    return head + body


@pytest.fixture(scope="module")
def quota_server(server_with):
    return server_with(LIMITS)


@pytest.fixture
def filled(quota_server, open_to, mail_store, user):
    """A session over an INBOX of 3 x 1500 + 100 octets: 4600 of 6144, 4
    messages of 4, and an empty folder Other."""
    mail_store.write(user, [Entry(message(size, i).replace(b"\r\n", b"\n"))
                            for i, size in enumerate((1500, 1500, 1500, 100))])
    c = open_to(quota_server, who=user)
    assert c.command("CREATE Other").ok
    assert c.command("SELECT INBOX").ok
    return c


def test_capability_only_with_a_limit(server, quota_server, open_to, user):
    caps = {}
    for name, srv in (("plain", server), ("quota", quota_server)):
        r = open_to(srv, who=user).command("CAPABILITY")
        caps[name] = r.named("CAPABILITY")[0][1:]
    assert "QUOTA" not in caps["plain"]
    assert [x for x in caps["quota"] if x.startswith("QUOTA")] == \
        ["QUOTA", "QUOTA=RES-STORAGE", "QUOTA=RES-MESSAGE"]


def test_getquotaroot_and_getquota(filled):
    # RFC 9208 4.3.1/4.3.2: STORAGE in units of 1024 octets (4600 -> 5)
    r = filled.command("GETQUOTAROOT INBOX")
    assert r.ok
    assert r.raw == [b'* QUOTAROOT INBOX ""', b'* QUOTA "" (STORAGE 5 6 MESSAGE 4 4)']
    r = filled.command('GETQUOTA ""')
    assert r.ok and r.raw == [b'* QUOTA "" (STORAGE 5 6 MESSAGE 4 4)']
    r = filled.command('GETQUOTA "user.other"')
    assert r.status == "NO" and r.code == "NONEXISTENT" and r.raw == []
    r = filled.command("GETQUOTAROOT Nowhere")
    assert r.status == "NO" and r.raw == []


def test_setquota_refused(filled):
    r = filled.command('SETQUOTA "" (STORAGE 512)')
    assert r.status == "NO" and r.code == "NOPERM"
    assert filled.command('SETQUOTA "" (STORAGE x)').status == "BAD"


def test_append_over_storage_refused(filled, mail_store, user):
    before = [m.data for m in mail_store.messages(user)]
    # 4600 + 1600 > 6144 octets, while 5 messages would also be over 4
    r = filled.command("APPEND INBOX ", Lit(message(1600, 9)))
    assert r.status == "NO" and r.code == "OVERQUOTA"
    assert [m.data for m in mail_store.messages(user)] == before
    r = filled.command("STATUS INBOX (MESSAGES SIZE)")
    assert r.raw == [b"* STATUS INBOX (MESSAGES 4 SIZE 4600)"]


@pytest.mark.parametrize("verb", ["COPY", "MOVE"])
def test_copy_and_move_over_messages_refused(filled, mail_store, user, verb):
    # 100 octets fit the storage, but a fifth message is one too many
    before = [m.data for m in mail_store.messages(user)]
    r = filled.command("UID %s 4 Other" % verb)
    assert r.status == "NO" and r.code == "OVERQUOTA"
    assert filled.command("STATUS Other (MESSAGES)").raw == [b"* STATUS Other (MESSAGES 0)"]
    assert [m.data for m in mail_store.messages(user)] == before
    r = filled.command("NOOP")
    assert r.numbered("EXPUNGE") == [] and r.numbered("EXISTS") == []


def test_room_made_by_expunge_is_usable(filled):
    assert filled.command("STORE 4 +FLAGS (\\Deleted)").ok
    assert filled.command("EXPUNGE").ok
    assert filled.command("COPY 1 Other").ok
    # 3 x 1500 + 1500 = 6000 octets, 5.9 KiB shown as 6
    r = filled.command('GETQUOTA ""')
    assert r.raw == [b'* QUOTA "" (STORAGE 6 6 MESSAGE 4 4)']


def test_status_deleted_and_deleted_storage(filled):
    # RFC 9208 4.3.1: what an EXPUNGE would free, in the selected mailbox
    # and in one that is not
    assert filled.command("STORE 1,4 +FLAGS.SILENT (\\Deleted)").ok
    r = filled.command("STATUS INBOX (DELETED DELETED-STORAGE)")
    assert r.raw == [b"* STATUS INBOX (DELETED 2 DELETED-STORAGE 1600)"]
    assert filled.command("SELECT Other").ok
    r = filled.command("STATUS INBOX (MESSAGES DELETED DELETED-STORAGE)")
    assert r.raw == [b"* STATUS INBOX (MESSAGES 4 DELETED 2 DELETED-STORAGE 1600)"]


@pytest.mark.mbox_only("tmail delivers to the spool file")
def test_delivery_is_not_held_to_the_quota(quota_server, open_to, mail_store, user, workdir,
                                           spool, san_env):
    """An MTA's delivery through tmail goes in even over the limit (mail
    is never bounced for the quota); the client then sees the usage above
    the limit, and its own APPEND is refused."""
    tmail = os.environ.get("TMAIL") or os.path.join(REPO, "src", "tmail")
    conf = os.path.join(workdir, "quota-tmail.conf")
    with open(conf, "w") as f:
        f.write("spool_dir = %s\n%s\n" % (spool.dir, LIMITS))
    r = subprocess.run([tmail, "-c", conf, user.name], input=message(7000, 1),
                       env=dict(san_env, PATH="/usr/bin:/bin"), capture_output=True, timeout=60)
    assert r.returncode == 0, r.stderr
    c = open_to(quota_server, who=user)
    assert c.command('GETQUOTA ""').raw == [b'* QUOTA "" (STORAGE 7 6 MESSAGE 1 4)']
    r = c.command("APPEND INBOX ", Lit(message(100, 2)))
    assert r.status == "NO" and r.code == "OVERQUOTA"
