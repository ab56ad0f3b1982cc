# The LIST family (issue 12): LIST-EXTENDED (RFC 5258), LIST-STATUS (RFC
# 5819), SPECIAL-USE and CREATE-SPECIAL-USE (RFC 6154), STATUS=SIZE (RFC
# 8438), CHILDREN, mailbox names in modified UTF-7 and UTF8=ACCEPT (RFC
# 6855). The RFCs' mailbox trees are built through CREATE and SUBSCRIBE in
# each format, and the answers are checked response for response; then
# Dovecot answers the same requests on the same Maildir.
import os
import sys
import pytest

from helpers import mailstore
from helpers.imapclient import Lit, quote

sys.path.insert(0, os.path.dirname(__file__))
from test_dovecot_maildir import DOVECOT_CONF, HomeServer, session  # noqa: E402

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "bench"))
from servers import DOVECOT, Account  # noqa: E402

MAIL_FORMATS = mailstore.FORMATS

NOTE = (b"From: Fred Foobar <foobar@example.com>\r\n"
        b"Subject: afternoon meeting\r\n"
        b"\r\n"
        b"Hello Joe, do you think we can meet at 3:30 tomorrow?\r\n")

# RFC 5258 section 5's tree: Fruit/Peach is subscribed but does not exist.
RFC5258_BOXES = ("Fruit/Apple", "Fruit/Banana", "Tofu", "Vegetable", "Vegetable/Broccoli",
                 "Vegetable/Corn")
RFC5258_SUBSCRIBED = ("Fruit/Banana", "Fruit/Peach", "Vegetable", "Vegetable/Broccoli")


def ok(r):
    assert r.ok, r
    return r


# Formats whose mailboxes are files (none holds another mailbox), and the
# formats whose mailboxes are named from the home (not inside ~/Maildir).
FILE_FORMATS = ("mbox", "mmdf", "mbx")
HOME_FORMATS = FILE_FORMATS + ("mix", "mh")
# an MH user's INBOX is nmh's ~/Mail/inbox: ~/Mail, which holds it, is a
# \Noselect container in every "%" or "*" listing of the home
MAIL_LISTED = pytest.mark.format_bug("mh", "~/Mail, the directory of the MH INBOX "
                                     "(~/Mail/inbox), is listed as a \\Noselect container "
                                     "beside the test's own mailboxes")


def inbox_kids(fmt, children=True):
    """INBOX's children attribute: the spool file and UW's ~/INBOX (mbx,
    mix) hold no mailboxes; a Maildir++ INBOX holds the folders."""
    if fmt in HOME_FORMATS:
        return b"\\Noinferiors"
    return b"\\HasNoChildren" if children else b""


def lines(r, kind=b"LIST"):
    """The raw untagged responses of kind, in the order sent."""
    return [x for x in r.raw if x.startswith(b"* " + kind + b" ")]


def build(c, fmt, boxes=RFC5258_BOXES, subscribed=RFC5258_SUBSCRIBED):
    """The tree; in mbox a mailbox is a file, so Vegetable, which holds
    mailboxes, is a directory there."""
    for b in boxes:
        if fmt not in FILE_FORMATS or b != "Vegetable":
            ok(c.command("CREATE %s" % quote(b)))
    for b in subscribed:
        gone = b not in boxes
        if gone:    # Dovecot subscribes only to what exists
            ok(c.command("CREATE %s" % quote(b)))
        ok(c.command("SUBSCRIBE %s" % quote(b)))
        if gone:
            ok(c.command("DELETE %s" % quote(b)))


def attrs(*names):
    """An attribute list from the names given, empty ones left out."""
    return b"(" + b" ".join(a for a in names if a) + b")"


def leaf(fmt):
    """What the extended syntax says unasked of a mailbox without children:
    an mbox file cannot have any; a Maildir++ folder's children are told
    only on RETURN (CHILDREN)."""
    return b"\\Noinferiors" if fmt in FILE_FORMATS else b""


def vegetable(fmt):
    """Vegetable holds mailboxes: in mbox a directory, in Maildir++ a folder."""
    return b"\\Noselect" if fmt in FILE_FORMATS else b""


# ---------------------------------------------------------------- capabilities

def test_capabilities_after_login(client):
    caps = ok(client.command("CAPABILITY")).named("CAPABILITY")[0]
    for cap in ("LIST-EXTENDED", "LIST-STATUS", "SPECIAL-USE", "CREATE-SPECIAL-USE",
                "STATUS=SIZE", "CHILDREN"):
        assert cap in caps, caps


# ---------------------------------------------------------------- LIST-EXTENDED

def test_rfc5258_subscribed_selection(client, mail_store):
    """LIST (SUBSCRIBED): the subscribed names, Fruit/Peach \\NonExistent;
    the base LIST does not show it."""
    fmt = mail_store.format
    build(client, fmt)
    r = ok(client.command('LIST (SUBSCRIBED) "" "*"'))
    assert lines(r) == [
        b'* LIST ' + attrs(leaf(fmt), b"\\Subscribed") + b' "/" Fruit/Banana',
        b'* LIST (\\Subscribed \\NonExistent) "/" Fruit/Peach',
        b'* LIST ' + attrs(vegetable(fmt), b"\\Subscribed") + b' "/" Vegetable',
        b'* LIST ' + attrs(leaf(fmt), b"\\Subscribed") + b' "/" Vegetable/Broccoli',
    ], r.raw
    r = ok(client.command('LIST (SUBSCRIBED) "" "%" RETURN (CHILDREN)'))
    assert lines(r) == [b'* LIST ' + attrs(vegetable(fmt), b"\\HasChildren", b"\\Subscribed") +
                        b' "/" Vegetable'], r.raw
    assert b"Fruit/Peach" not in b"".join(ok(client.command('LIST "" "*"')).raw)


def test_rfc5258_recursivematch(client, mail_store):
    """RECURSIVEMATCH: with "%", Fruit is returned for its subscribed child
    (CHILDINFO, not \\Subscribed) and Vegetable is marked too; with "*"
    the child itself is listed, so Fruit is not (as Dovecot answers)."""
    fmt = mail_store.format
    build(client, fmt)
    r = ok(client.command('LIST (SUBSCRIBED RECURSIVEMATCH) "" "%"'))
    assert lines(r) == [
        b'* LIST (\\Noselect) "/" Fruit ("CHILDINFO" ("SUBSCRIBED"))',
        b'* LIST ' + attrs(vegetable(fmt), b"\\Subscribed") +
        b' "/" Vegetable ("CHILDINFO" ("SUBSCRIBED"))',
    ], r.raw
    r = ok(client.command('LIST (SUBSCRIBED RECURSIVEMATCH) "" "*"'))
    assert [x.split(b'"/" ')[1] for x in lines(r)] == [
        b"Fruit/Banana", b"Fruit/Peach", b'Vegetable ("CHILDINFO" ("SUBSCRIBED"))',
        b"Vegetable/Broccoli"], r.raw


def test_recursivematch_alone_and_unknown_options_are_bad(client):
    for cmd in ('LIST (RECURSIVEMATCH) "" "%"', 'LIST (REMOTE RECURSIVEMATCH) "" "%"',
                'LIST (FRUITY) "" "%"', 'LIST "" "%" RETURN (FRUITY)',
                'LIST "" "%" RETURN (STATUS ())', 'LIST "" "%" RETURN (STATUS (BOGUS))',
                'LIST "" ()', 'LIST "" "%" RETURN', 'LIST "" "%" RETURN (CHILDREN'):
        r = client.command(cmd)
        assert r.status == "BAD", (cmd, r)


@MAIL_LISTED
def test_return_children_and_subscribed(client, mail_store):
    """RETURN (CHILDREN SUBSCRIBED) on the base set; REMOTE changes nothing
    (there are no remote mailboxes); the plain syntax keeps telling the
    children unasked (CHILDREN, RFC 3348)."""
    fmt = mail_store.format
    build(client, fmt)
    kids = b"\\Noinferiors" if fmt in FILE_FORMATS else b"\\HasNoChildren"
    want = [
        b'* LIST ' + attrs(inbox_kids(fmt)) + b' "/" INBOX',
        b'* LIST (\\Noselect \\HasChildren) "/" Fruit',
        b'* LIST ' + attrs(kids) + b' "/" Tofu',
        b'* LIST ' + attrs(vegetable(fmt), b"\\HasChildren", b"\\Subscribed") + b' "/" Vegetable',
    ]
    assert lines(ok(client.command('LIST "" "%" RETURN (CHILDREN SUBSCRIBED)'))) == want
    assert lines(ok(client.command('LIST (REMOTE) "" "%" RETURN (CHILDREN SUBSCRIBED)'))) == want
    assert lines(ok(client.command('LIST "" "Tofu"'))) == [b'* LIST ' + attrs(kids) + b' "/" Tofu']


def test_multiple_patterns_list_each_mailbox_once(client, mail_store):
    build(client, mail_store.format)
    r = ok(client.command('LIST "" ("Fruit/%" "T*" "Fruit/B*" "nothing*")'))
    assert [x.rsplit(b" ", 1)[1] for x in lines(r)] == [b"Fruit/Apple", b"Fruit/Banana",
                                                         b"Tofu"], r.raw


# ---------------------------------------------------------------- LIST-STATUS, STATUS=SIZE

def sizes(c, box):
    """RFC822.SIZE of every message of box, through SELECT and FETCH."""
    ok(c.command("SELECT %s" % quote(box)))
    got = ok(c.command("FETCH 1:* RFC822.SIZE")).fetches()
    ok(c.command("UNSELECT"))
    return [int(v["RFC822.SIZE"]) for _, v in sorted(got.items())]


def test_list_status_follows_each_selectable_mailbox(client, mail_store):
    """RFC 5819: each LIST response of a selectable mailbox is followed by
    its STATUS; a \\Noselect one gets none."""
    fmt = mail_store.format
    build(client, fmt)
    ok(client.command("APPEND Tofu (\\Seen) ", Lit(NOTE)))
    ok(client.command("APPEND Tofu ", Lit(NOTE + b"PS: bring the slides.\r\n")))
    total = sum(sizes(client, "Tofu"))
    assert total == 2 * len(NOTE) + 23
    r = ok(client.command('LIST "" ("Tofu" "Fruit" "Fruit/Apple") '
                          'RETURN (STATUS (MESSAGES UNSEEN SIZE))'))
    assert r.raw == [
        b'* LIST ' + attrs(leaf(fmt)) + b' "/" Tofu',
        b'* STATUS Tofu (MESSAGES 2 UNSEEN 1 SIZE %d)' % total,
        b'* LIST (\\Noselect) "/" Fruit',
        b'* LIST ' + attrs(leaf(fmt)) + b' "/" Fruit/Apple',
        b'* STATUS Fruit/Apple (MESSAGES 0 UNSEEN 0 SIZE 0)',
    ], r.raw


def test_status_size_in_every_format(fresh, connect, user, sample, mail_store):
    """STATUS SIZE is the sum of RFC822.SIZE (CRLF text) in each driver, for
    a mailbox not selected and for the selected one; MH files written by
    nmh with LF line ends count as their CRLF form."""
    mail_store.write(user, sample)     # as an MTA delivers: LF on disk
    c = connect()
    boxes = ["INBOX"]
    for fmt in ("unix", "maildir", "mh"):
        box = "#driver.%s/sz-%s" % (fmt, fmt)
        ok(c.command("CREATE %s" % quote(box)))
        for e in sample[:3]:
            ok(c.command("APPEND %s " % quote(box), Lit(e.crlf())))
        boxes.append(box)
    with open(os.path.join(user.home, "sz-mh", "4"), "wb") as f:
        f.write(b"From: nmh@example.org\nSubject: written by nmh\n\nthree\nshort\nlines\n")
    for box in boxes:
        want = sum(sizes(c, box))
        assert want > 0
        r = ok(c.command("STATUS %s (SIZE MESSAGES)" % quote(box)))
        got = r.named("STATUS")[0][2]
        assert got == ["MESSAGES", str(len(sizes(c, box))), "SIZE", str(want)], (box, r.raw)
        ok(c.command("SELECT %s" % quote(box)))
        r = ok(c.command("STATUS %s (SIZE)" % quote(box)))
        assert r.named("STATUS")[0][2] == ["SIZE", str(want)], (box, r.raw)
        ok(c.command("UNSELECT"))


# ---------------------------------------------------------------- SPECIAL-USE

SPECIAL = {"Archive": "\\Archive", "Drafts": "\\Drafts", "Junk": "\\Junk", "Sent": "\\Sent",
           "Trash": "\\Trash"}
SPECIAL_CONF = "".join("special_use_%s = %s\n" % (k.lower(), k) for k in SPECIAL)


def box_on_disk(user, fmt, name):
    return os.path.exists(os.path.join(user.home, name) if fmt in HOME_FORMATS else
                          os.path.join(user.home, "Maildir", "." + name, "cur"))


def test_first_login_makes_and_subscribes_the_folders_once(server_with, open_to, user,
                                                           mail_store):
    """special_use_create: the first login makes and subscribes each
    configured folder; one the user deletes stays deleted."""
    fmt = mail_store.format
    srv = server_with(SPECIAL_CONF + "special_use_create = yes")
    assert not any(box_on_disk(user, fmt, n) for n in SPECIAL)
    c = open_to(srv, user)
    assert all(box_on_disk(user, fmt, n) for n in SPECIAL)
    r = ok(c.command('LIST (SPECIAL-USE) "" "*"'))
    assert lines(r) == [b'* LIST ' + attrs(leaf(fmt), a.encode()) + b' "/" ' + n.encode()
                        for n, a in sorted(SPECIAL.items())], r.raw
    r = ok(c.command('LSUB "" "*"'))
    assert sorted(u[3] for u in r.named("LSUB")) == sorted(SPECIAL)
    ok(c.command("DELETE Trash"))
    c.close()
    c = open_to(srv, user)
    assert not box_on_disk(user, fmt, "Trash")
    assert b"Trash" not in b"".join(ok(c.command('LIST "" "*"')).raw)


@MAIL_LISTED
def test_special_use_in_plain_list_and_return_option(server_with, open_to, user, mail_store):
    """RFC 6154 5.1's LIST: the attributes come with a plain LIST and with
    RETURN (SPECIAL-USE); the selection option keeps only those mailboxes.
    Without special_use_create nothing is made; a use the configuration
    gives to another folder is refused."""
    fmt = mail_store.format
    c = open_to(server_with(SPECIAL_CONF), user)
    assert not box_on_disk(user, fmt, "Sent")
    for b in ("ToDo", "Projects", "Sent", "Trash"):
        ok(c.command("CREATE %s" % b))
    want = [(b"INBOX", b""), (b"Projects", b""), (b"Sent", b"\\Sent"), (b"ToDo", b""),
            (b"Trash", b"\\Trash")]
    r = ok(c.command('LIST "" "%" RETURN (SPECIAL-USE)'))
    assert lines(r) == [b'* LIST ' + attrs(inbox_kids(fmt, False) if n == b"INBOX" else leaf(fmt),
                                           a) + b' "/" ' + n for n, a in want], r.raw
    kids = b"\\Noinferiors" if fmt in FILE_FORMATS else b"\\HasNoChildren"
    r = ok(c.command('LIST "" "%"'))
    assert lines(r) == [b'* LIST ' + attrs(inbox_kids(fmt) if n == b"INBOX" else kids, a) +
                        b' "/" ' + n for n, a in want], r.raw
    r = ok(c.command('LIST (SPECIAL-USE) "" "*"'))
    assert lines(r) == [b'* LIST ' + attrs(leaf(fmt), a) + b' "/" ' + n
                        for n, a in want if a], r.raw
    r = c.command("CREATE MyDrafts (USE (\\Drafts))")
    assert (r.status, r.code) == ("NO", "USEATTR"), r
    assert not box_on_disk(user, fmt, "MyDrafts")


def uses_file(user):
    return os.path.join(user.home, ".mailbox-uses")


def special_of(c, name):
    """The special-use attributes LIST gives name."""
    r = ok(c.command('LIST "" %s RETURN (SPECIAL-USE)' % quote(name)))
    return [set(u[1]) & set(SPECIAL.values()) for u in r.named("LIST")]


def test_create_special_use_follows_rename_and_delete(client, user, mail_store):
    """RFC 6154 5.2: CREATE with USE keeps the use; RENAME takes it along
    (children too), DELETE drops it; uses we do not keep get USEATTR and
    nothing is created."""
    fmt = mail_store.format
    r = ok(client.command("CREATE MyDrafts (USE (\\Drafts))"))
    assert special_of(client, "MyDrafts") == [{"\\Drafts"}]
    with open(uses_file(user), "rb") as f:
        assert f.read() == b"\\Drafts\tMyDrafts\n"
    if fmt not in FILE_FORMATS:
        ok(client.command("CREATE Work"))
    ok(client.command("CREATE Work/Sent (USE (\\Sent))"))
    ok(client.command("RENAME MyDrafts Drafts2"))
    ok(client.command("RENAME Work Job"))
    assert special_of(client, "Drafts2") == [{"\\Drafts"}]
    assert special_of(client, "Job/Sent") == [{"\\Sent"}]
    assert special_of(client, "MyDrafts") == []
    ok(client.command("DELETE Drafts2"))
    ok(client.command("CREATE Drafts2"))
    assert special_of(client, "Drafts2") == [set()]
    for use in ("\\Flagged", "\\All", "\\Important", "\\Sent \\Bogus"):
        r = client.command("CREATE Odd (USE (%s))" % use)
        assert (r.status, r.code) == ("NO", "USEATTR"), (use, r)
        assert not box_on_disk(user, fmt, "Odd")
    for bad in ("CREATE Odd (USE \\Sent)", "CREATE Odd (FOO (\\Sent))", "CREATE Odd ()"):
        assert client.command(bad).status == "BAD", bad


def test_planted_link_at_the_uses_file_is_never_followed(client, user, other_user,
                                                         mail_store):
    """~/.mailbox-uses as a link to another user's file: CREATE with USE is
    refused and creates nothing, their file is neither read for LIST nor
    written, and the link stays as it was."""
    theirs = uses_file(other_user)
    with open(theirs, "wb") as f:
        f.write(b"\\Sent\tTheirs\n")
    os.chown(theirs, other_user.uid, other_user.gid)
    os.chmod(theirs, 0o666)
    before = os.stat(theirs)
    os.symlink(theirs, uses_file(user))
    ok(client.command("CREATE Theirs"))
    assert special_of(client, "Theirs") == [set()]
    r = client.command("CREATE Mine (USE (\\Drafts))")
    assert r.status == "NO", r
    assert not box_on_disk(user, mail_store.format, "Mine")
    with open(theirs, "rb") as f:
        assert f.read() == b"\\Sent\tTheirs\n"
    after = os.stat(theirs)
    assert (after.st_mtime_ns, after.st_ino) == (before.st_mtime_ns, before.st_ino)
    assert os.readlink(uses_file(user)) == theirs


# ---------------------------------------------------------------- Dovecot, same Maildir

DOVECOT_SPECIAL_CONF = DOVECOT_CONF.replace("  separator = /\n", "  separator = /\n" + "".join(
    "  mailbox %s {\n    special_use = %s\n  }\n" % (n, a) for n, a in SPECIAL.items()))

# Requests both servers support, on the RFC 5258 tree plus the special folders.
DIFF_COMMANDS = (
    'LIST "" "*"', 'LIST "" "%"', 'LIST (SUBSCRIBED) "" "*"', 'LIST (SUBSCRIBED) "" "%"',
    'LIST (SUBSCRIBED RECURSIVEMATCH) "" "%"', 'LIST (SUBSCRIBED RECURSIVEMATCH) "" "*"',
    'LIST (SUBSCRIBED RECURSIVEMATCH) "" "Fruit"', 'LIST "" "%" RETURN (CHILDREN)',
    'LIST "" "*" RETURN (CHILDREN SUBSCRIBED)', 'LIST (REMOTE) "" "%"',
    'LIST "" ("Fruit/%" "T*" "Sent") RETURN (SUBSCRIBED STATUS (MESSAGES UNSEEN SIZE UIDNEXT))',
    'LIST "" ("Fruit" "Fruit/Peach")', 'LIST (SUBSCRIBED) "" ("Fruit" "Fruit/Peach")',
    'LIST (SPECIAL-USE) "" "*"', 'LIST "" "*" RETURN (SPECIAL-USE)',
    'LIST (SPECIAL-USE) "" "*" RETURN (STATUS (MESSAGES SIZE))',
    'LIST (SUBSCRIBED) "" "F*" RETURN (STATUS (MESSAGES))', 'LIST "" ""',
    'STATUS Tofu (MESSAGES UNSEEN SIZE)', 'STATUS Sent (SIZE)', 'STATUS INBOX (SIZE MESSAGES)',
)
# What the comparison keeps of an attribute list: \Noselect and
# \NonExistent both say "cannot be selected" (Dovecot says \NonExistent of
# a Maildir++ parent that has no folder of its own, where we say \Noselect).
KEPT = {"\\SUBSCRIBED", "\\HASCHILDREN", "\\HASNOCHILDREN"} | {a.upper() for a in SPECIAL.values()}


def text(x):
    """Extended data with strings and atoms alike (Dovecot sends CHILDINFO
    as an atom, we as RFC 5258's examples do, quoted)."""
    if isinstance(x, list):
        return tuple(text(y) for y in x)
    return (x.decode() if isinstance(x, bytes) else x).upper()


def answer(r):
    """{("LIST", name): (attributes kept, extended data), ("STATUS", name):
    {item: value}} of one response set, and the tagged status."""
    out = {}
    for u in r.untagged:
        kind = u[0].upper()
        if kind == "LIST":
            a = {x.upper() for x in u[1]}
            kept = frozenset(a & KEPT | ({"UNSELECTABLE"} & {"UNSELECTABLE" for x in a
                                          if x in ("\\NOSELECT", "\\NONEXISTENT")}))
            ext = text(u[4]) if len(u) > 4 else None
            out[kind, u[3]] = (kept, ext)
        elif kind == "STATUS":
            out[kind, u[1]] = {u[2][i].upper(): u[2][i + 1] for i in range(0, len(u[2]), 2)}
    return r.status, out


def test_same_answers_as_dovecot(imapd, user, workdir, san_env, fresh):
    """Dovecot builds the RFC 5258 tree, subscriptions and mail in a Maildir
    with its special-use folders; each request then gets the same mailboxes,
    subscription marks, special uses, CHILDINFO and STATUS values from both
    servers."""
    acct = Account.named(user.name)
    base = os.path.join(workdir, "listext-dovecot")
    os.makedirs(base, exist_ok=True)
    dove = HomeServer("dovecot", DOVECOT, os.path.join(base, "dovecot"), acct, user.home,
                      DOVECOT_SPECIAL_CONF)
    root = os.path.join(base, "ours")
    os.makedirs(root, exist_ok=True)
    ours = HomeServer("ours", imapd, root, acct, user.home,
                      "spool_dir = %s\ninbox = ~/Maildir\nmail_format = maildir\n%s"
                      % (os.path.join(root, "spool"), SPECIAL_CONF), san_env)
    with session(dove) as c:
        build(c, "maildir")
        for name in list(SPECIAL) + [CAFE7.decode()]:
            ok(c.command("CREATE %s" % name))
        for box, n in (("INBOX", 2), ("Tofu", 3), ("Sent", 1)):
            for i in range(n):
                ok(c.command("APPEND %s%s " % (box, " (\\Seen)" if i else ""),
                             Lit(NOTE + b"line %d\r\n" % i * (i + 1))))
    for cmd in DIFF_COMMANDS:
        got = {}
        for srv in (dove, ours):
            with session(srv) as c:
                got[srv.kind] = answer(c.command(cmd))
        assert got["ours"] == got["dovecot"], cmd
        assert got["ours"][0] == "OK" and got["ours"][1], (cmd, got)
    # the folder Dovecot named in modified UTF-7, read in UTF-8
    with session(ours) as c:
        ok(c.command("ENABLE UTF8=ACCEPT"))
        r = ok(c.command('LIST "" "Caf*"'))
        assert lines(r) == [b'* LIST (\\HasNoChildren) "/" "' + CAFE + b'"'], r.raw


# ---------------------------------------------------------------- mailbox names

@MAIL_LISTED
def test_names_are_modified_utf7(client):
    """RFC 3501 5.1.3: CREATE and RENAME take names in modified UTF-7 (the
    RFC's example folders are made and listed as sent); 8-bit bytes and
    broken base64 are refused, and nothing is made."""
    ok(client.command("CREATE &U,BTFw-/&ZeVnLIqe-"))
    r = ok(client.command('LIST "" "&U,BTFw-/*"'))
    assert [x.rsplit(b" ", 1)[1] for x in lines(r)] == [b"&U,BTFw-/&ZeVnLIqe-"]
    ok(client.command("CREATE Tom&-Jerry"))
    for bad in (b"Caf\xc3\xa9", b"&AGE-", b"&U,BTFw", b"&AOk-&AOk-", b"&2D0-"):
        r = client.command(b'CREATE "' + bad + b'"')
        assert (r.status, r.code) == ("NO", "CANNOT"), (bad, r)
        r = client.command(b'RENAME Tom&-Jerry "' + bad + b'"')
        assert (r.status, r.code) == ("NO", "CANNOT"), (bad, r)
    r = ok(client.command('LIST "" "*"'))
    assert sorted(x.rsplit(b" ", 1)[1] for x in lines(r)) == [
        b"&U,BTFw-", b"&U,BTFw-/&ZeVnLIqe-", b"INBOX", b"Tom&-Jerry"], r.raw


CAFE = "Caf\u00e9".encode()       # UTF-8
CAFE7 = b"Caf&AOk-"               # RFC 3501 modified UTF-7, as kept on disk
UTF8_NOTE = ("From: J\u00fcrgen <j@example.com>\r\nSubject: Gr\u00fc\u00dfe\r\n\r\n"
             "Sch\u00f6ne Gr\u00fc\u00dfe\r\n").encode()


@MAIL_LISTED
def test_utf8_accept_names_and_append(client, connect, user, mail_store):
    """RFC 6855: after ENABLE UTF8=ACCEPT names go both ways in UTF-8 (a
    quoted string), are kept on disk in modified UTF-7 (as Dovecot keeps
    Maildir++ names), and APPEND takes UTF8 (literal8); a session without
    it sees the modified UTF-7 form."""
    r = client.command("APPEND INBOX UTF8 (~", Lit(UTF8_NOTE), ")")
    assert r.status == "BAD", r            # not before ENABLE
    assert lines(ok(client.command("ENABLE UTF8=ACCEPT")), b"ENABLED") == [
        b"* ENABLED UTF8=ACCEPT"]
    ok(client.command(b'CREATE "' + CAFE + b'"'))
    ok(client.command("CREATE Tom&Jerry"))
    on_disk = os.path.join(user.home, *((CAFE7.decode(),) if mail_store.format in HOME_FORMATS else
                                        ("Maildir", "." + CAFE7.decode())))
    assert os.path.exists(on_disk)
    r = ok(client.command('LIST "" "*"'))
    assert sorted(x.split(b'"/" ')[1] for x in lines(r)) == [b'"' + CAFE + b'"', b"INBOX",
                                                            b"Tom&Jerry"], r.raw
    r = ok(client.command(b'LIST "" "Caf*" RETURN (STATUS (MESSAGES))'))
    assert r.raw[1] == b'* STATUS "' + CAFE + b'" (MESSAGES 0)', r.raw
    r = ok(client.command(b'APPEND "' + CAFE + b'" UTF8 (~', Lit(UTF8_NOTE), ")"))
    ok(client.command(b'SELECT "' + CAFE + b'"'))
    r = ok(client.command("FETCH 1 BODY.PEEK[]"))
    assert r.fetches()[1]["BODY[]"] == UTF8_NOTE
    r = client.command(b'CREATE "Caf\xc3"')
    assert r.status == "BAD", r            # not UTF-8
    other = connect()
    r = ok(other.command('LIST "" "*"'))
    assert sorted(x.split(b'"/" ')[1] for x in lines(r)) == [CAFE7, b"INBOX", b"Tom&-Jerry"]


def test_configured_names_in_utf8_are_kept_as_imap_names(server_with, open_to, user, mail_store):
    """special_use_drafts = Entwürfe (UTF-8, as an administrator writes it)
    names the folder IMAP4rev1 clients call Entw&APw-rfe, made at login."""
    c = open_to(server_with("special_use_drafts = Entw\u00fcrfe\nspecial_use_create = yes"), user)
    r = ok(c.command('LIST "" "Entw*"'))
    kids = b"\\Noinferiors" if mail_store.format in FILE_FORMATS else b"\\HasNoChildren"
    assert lines(r) == [b'* LIST ' + attrs(kids, b"\\Drafts") + b' "/" Entw&APw-rfe'], r.raw
    assert box_on_disk(user, mail_store.format, "Entw&APw-rfe")
