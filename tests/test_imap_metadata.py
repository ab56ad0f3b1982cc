# METADATA (RFC 5464): server ("") and mailbox entries under /private and
# /shared, kept in ~/.imapd-metadata (0600, replaced through a temp file,
# never through a link); the RFC's examples byte for byte, the limits'
# response codes, entries following RENAME and going with DELETE.
import os
import stat

import pytest

from helpers import mailstore
from helpers.imapclient import Lit

META = ".imapd-metadata"


@pytest.fixture
def meta(client):
    """A logged-in session on a store with an empty INBOX."""
    assert client.command("SELECT INBOX").ok
    return client


def plant_link(target, link, owner):
    os.symlink(target, link)
    os.lchown(link, owner.uid, owner.gid)


def test_capability(meta):
    caps = meta.command("CAPABILITY").named("CAPABILITY")[0]
    assert "METADATA" in caps and "METADATA-SERVER" in caps


@pytest.mark.every_format
def test_rfc5464_set_and_get_examples(meta, user):
    # 4.3: a value with CRLF goes as a literal; NIL removes
    r = meta.command("SETMETADATA INBOX (/private/comment ",
                     Lit(b"My new comment across\r\ntwo lines."), ")")
    assert r.ok and r.raw == []
    r = meta.command("GETMETADATA INBOX /private/comment")
    assert r.raw == [b"* METADATA INBOX (/private/comment {33}\r\n"
                     b"My new comment across\r\ntwo lines.)"]
    assert meta.command("SETMETADATA INBOX (/private/comment NIL)").ok
    assert meta.command("GETMETADATA INBOX /private/comment").raw == \
        [b"* METADATA INBOX (/private/comment NIL)"]
    r = meta.command('SETMETADATA INBOX (/private/comment "My own comment" '
                     '/shared/comment "Shared comment")')
    assert r.ok
    # 4.2: one entry of the server, then two of a mailbox in the asked order
    assert meta.command('SETMETADATA "" (/private/comment "My own comment")').ok
    assert meta.command('GETMETADATA "" /private/comment').raw == \
        [b'* METADATA "" (/private/comment "My own comment")']
    assert meta.command("GETMETADATA INBOX (/shared/comment /private/comment)").raw == \
        [b'* METADATA INBOX (/shared/comment "Shared comment" /private/comment "My own comment")']
    st = os.lstat(os.path.join(user.home, META))
    assert stat.S_ISREG(st.st_mode) and stat.S_IMODE(st.st_mode) == 0o600
    assert st.st_uid == user.uid


def test_rfc5464_maxsize_and_depth(meta):
    big = b"x" * 2199
    assert meta.command("SETMETADATA INBOX (/private/comment ", Lit(big), ")").ok
    assert meta.command('SETMETADATA INBOX (/shared/comment "short" '
                        '/private/filters/values/small "1" '
                        '/private/filters/values/big "22" '
                        '/private/filters/values/big/deeper "333")').ok
    # 4.2.1: what MAXSIZE leaves out is told by LONGENTRIES
    r = meta.command("GETMETADATA (MAXSIZE 1024) INBOX (/private/comment /shared/comment)")
    assert r.ok and r.code == "METADATA LONGENTRIES 2199"
    assert r.raw == [b'* METADATA INBOX (/shared/comment "short")']
    # 4.2.2: DEPTH 1 adds the children, infinity every descendant
    r = meta.command("GETMETADATA (DEPTH 1) INBOX (/private/filters/values)")
    assert r.ok and r.code is None
    assert r.raw == [b'* METADATA INBOX (/private/filters/values/small "1" '
                     b'/private/filters/values/big "22")']
    r = meta.command("GETMETADATA (DEPTH infinity MAXSIZE 5) INBOX /private/filters")
    assert r.raw == [b'* METADATA INBOX (/private/filters/values/small "1" '
                     b'/private/filters/values/big "22" '
                     b'/private/filters/values/big/deeper "333")']


def test_bad_names_and_mailboxes(meta, conn):
    for name in ("/comment", "/private/", "/private//a", "/shared/a*", "/private/%",
                 "private/a"):
        assert meta.command('SETMETADATA INBOX (%s "v")' % name).status == "BAD", name
    assert meta.command('GETMETADATA (DEPTH 2) INBOX /private/a').status == "BAD"
    r = meta.command('SETMETADATA Nowhere (/private/a "v")')
    assert r.status == "NO" and r.code == "NONEXISTENT"
    r = meta.command("GETMETADATA Nowhere /private/a")
    assert r.status == "NO" and r.code == "NONEXISTENT"
    assert conn.command('GETMETADATA "" /private/a').status == "BAD"


def test_limits(meta):
    # TOOMANY: 256 entries per user; the command that passes it changes nothing
    for k in range(4):
        pairs = " ".join('/private/e%d/%d "v"' % (k, i) for i in range(64))
        assert meta.command("SETMETADATA INBOX (%s)" % pairs).ok
    r = meta.command('SETMETADATA INBOX (/private/e0/0 NIL /private/x "1" /private/y "2")')
    assert r.status == "NO" and r.code == "METADATA TOOMANY"
    assert meta.command("GETMETADATA INBOX (/private/e0/0 /private/x)").raw == \
        [b'* METADATA INBOX (/private/e0/0 "v" /private/x NIL)']


def test_maxsize_code(server_with, open_to, mail_store, user):
    srv = server_with("max_literal = 128k")
    c = open_to(srv, who=user)
    r = c.command('SETMETADATA "" (/shared/big ', Lit(b"y" * (64 * 1024 + 1)), ")")
    assert r.status == "NO" and r.code == "METADATA MAXSIZE 65536"
    assert c.command('GETMETADATA "" /shared/big').raw == [b'* METADATA "" (/shared/big NIL)']


def test_literal8_values_kept_exactly(meta):
    # RFC 5464 5.4: values may be binary; one with a NUL can only go back as
    # a literal8 (RFC 3516), one without as a plain string
    binary = b"a\x00b\r\n\x00\xff"
    r = meta.command("SETMETADATA INBOX (/private/bin ~", Lit(binary),
                     " /private/text ~", Lit(b"plain"), ")")
    assert r.ok
    assert meta.command("GETMETADATA INBOX (/private/bin /private/text)").raw == \
        [b"* METADATA INBOX (/private/bin ~{7}\r\n" + binary + b' /private/text "plain")']
    # a NUL outside literal8 stays refused, and changes nothing
    r = meta.command("SETMETADATA INBOX (/private/bin ", Lit(b"x\x00y"), ")")
    assert r.status == "BAD"
    assert meta.command("GETMETADATA INBOX /private/bin").raw == \
        [b"* METADATA INBOX (/private/bin ~{7}\r\n" + binary + b")"]


def test_maxsize_code_for_a_literal_over_the_limit(meta):
    # with the default max_literal (64k) the literal itself is refused before
    # it is sent: still RFC 5464's code, not a bare TOOBIG
    r = meta.command("SETMETADATA INBOX (/private/big ~", Lit(b"\x00" * (64 * 1024 + 1)), ")")
    assert r.status == "NO" and r.code == "METADATA MAXSIZE 65536"
    assert meta.command("SETMETADATA INBOX (/private/big ~", Lit(b"\x00" * 65536), ")").ok
    r = meta.command("GETMETADATA (MAXSIZE 65535) INBOX /private/big")
    assert r.code == "METADATA LONGENTRIES 65536"


# RENAME and DELETE take a different path in each format's driver
@pytest.mark.parametrize("mail_store", mailstore.FORMATS, indirect=True)
def test_entries_follow_rename_and_go_with_delete(meta, mail_store):
    for name in ("a", "ab"):
        assert meta.command("CREATE %s" % name).ok
        assert meta.command('SETMETADATA %s (/private/comment "%s")' % (name, name)).ok
    assert meta.command("RENAME a c").ok
    assert meta.command("GETMETADATA c /private/comment").raw == \
        [b'* METADATA c (/private/comment "a")']
    assert meta.command("GETMETADATA ab /private/comment").raw == \
        [b'* METADATA ab (/private/comment "ab")']
    assert meta.command("CREATE a").ok
    assert meta.command("GETMETADATA a /private/comment").raw == \
        [b"* METADATA a (/private/comment NIL)"]
    assert meta.command("DELETE c").ok
    assert meta.command("CREATE c").ok
    assert meta.command("GETMETADATA c /private/comment").raw == \
        [b"* METADATA c (/private/comment NIL)"]


@pytest.mark.parametrize("leaf", [META, META + ".lock"])
def test_planted_link_refused(meta, user, other_user, leaf):
    target = os.path.join(other_user.home, "victim")
    with open(target, "wb") as f:
        f.write(b"untouched")
    os.chown(target, other_user.uid, other_user.gid)
    plant_link(target, os.path.join(user.home, leaf), user)
    r = meta.command('SETMETADATA "" (/private/a "v")')
    assert r.status == "NO"
    with open(target, "rb") as f:
        assert f.read() == b"untouched"
    assert os.path.islink(os.path.join(user.home, leaf))


def test_planted_temp_link_replaced(meta, user, other_user):
    target = os.path.join(other_user.home, "victim")
    with open(target, "wb") as f:
        f.write(b"untouched")
    plant_link(target, os.path.join(user.home, META + ".tmp"), user)
    assert meta.command('SETMETADATA "" (/private/a "v")').ok
    with open(target, "rb") as f:
        assert f.read() == b"untouched"
    assert not os.path.islink(os.path.join(user.home, META))


def test_damaged_file_refused(meta, user):
    p = os.path.join(user.home, META)
    with open(p, "wb") as f:
        f.write(b"imapd-metadata 1\n5 9 99\nINBOX/private/ashort\n")
    os.chown(p, user.uid, user.gid)
    r = meta.command("GETMETADATA INBOX /private/a")
    assert r.status == "NO" and r.code == "CORRUPTION"
    assert meta.command('SETMETADATA INBOX (/private/a "v")').status == "NO"
