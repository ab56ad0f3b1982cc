# Real clients against imapd with every extension advertised (QUOTA too),
# their exchanges recorded through a TLS-terminating logging proxy
# (helpers/recorder.py): fetchmail retrieving into an MDA, mbsync and
# offlineimap syncing; our answers to what they send are checked where the
# RFCs fix them (APPENDUID/COPYUID, UIDVALIDITY/UIDNEXT, FETCH lines).
import os
import re
import subprocess

import pytest

from helpers.imapclient import RawIMAP
from helpers.recorder import Recorder
from test_clients import client_ssl, mbsyncrc, need, new_message  # noqa: F401
from test_pop3 import fetchmail

# the quota keys make QUOTA advertised: no extension is missing
EVERYTHING = "quota_storage = 100m\nquota_messages = 10000"
EXTENSIONS = ("IMAP4rev1", "IMAP4rev2", "CONDSTORE", "QRESYNC", "UIDPLUS", "MOVE", "IDLE",
              "ENABLE", "ESEARCH", "SEARCHRES", "SORT", "THREAD=REFERENCES", "MULTIAPPEND",
              "CATENATE", "URLAUTH", "BINARY", "APPENDLIMIT=52428800", "LITERAL+",
              "SPECIAL-USE", "LIST-EXTENDED", "LIST-STATUS", "COMPRESS=DEFLATE", "NOTIFY",
              "QUOTA", "METADATA", "OBJECTID", "PREVIEW", "UIDONLY", "ID")


@pytest.fixture
def recorded(server_with, client_ssl, mail_store):   # noqa: F811
    """A Recorder in front of imapd with every extension on."""
    srv = server_with(EVERYTHING)
    rec = Recorder((srv.host, srv.port), os.path.join(client_ssl[0], "certs", "imapd.pem"))
    rec.server_ = srv
    yield rec
    rec.close()


def direct(rec, user):
    """A plain session straight to imapd (not recorded), logged in."""
    c = RawIMAP(rec.server_.host, rec.server_.port)
    c.login(user.name, user.password)
    return c


def commands(conv):
    """{tag: command line} of what the client sent."""
    out = {}
    for line in conv.commands():
        tag = line.split(b" ", 1)[0]
        if tag and line.count(b" "):
            out.setdefault(tag, line)
    return out


def tagged(conv):
    """{tag: whole tagged answer line} of what imapd answered."""
    out = {}
    for line in conv.responses():
        m = re.match(rb"^([^ *+]+) (OK|NO|BAD)\b", line)
        if m:
            out[m.group(1)] = line
    return out


def answered_ok(conv):
    """Every command the client sent was answered OK (BAD or NO is a
    failure the client may have hidden)."""
    sent, got = commands(conv), tagged(conv)
    for tag, line in got.items():
        assert line.split()[1] == b"OK", (sent.get(tag), line)
    return sent, got


def names_no_modseq(sent):
    """The client never asks for CONDSTORE (no ENABLE, SELECT parameter,
    MODSEQ item or CHANGEDSINCE): what shows isync 1.4 and offlineimap 8
    do not use it."""
    assert not [x for x in sent.values()
                if re.search(rb"CONDSTORE|MODSEQ|CHANGEDSINCE|QRESYNC", x, re.I)], sent


def capabilities(conv):
    """The last CAPABILITY list imapd gave (a response or a response code:
    the one after login)."""
    lists = [m.group(1) for m in (re.search(rb"^(?:\* CAPABILITY |\S+ OK \[CAPABILITY )([^]]*)", x)
                                  for x in conv.responses()) if m]
    assert lists, conv.responses()[:5]
    return lists[-1].decode().split()


def status(c, box):
    """(UIDVALIDITY, UIDNEXT) of box, asked directly."""
    r = c.command('STATUS "%s" (UIDVALIDITY UIDNEXT)' % box)
    assert r.ok, r
    items = r.named("STATUS")[0][2]
    d = dict(zip(items[::2], items[1::2]))
    return int(d["UIDVALIDITY"]), int(d["UIDNEXT"])


def uid_of(c, box, msgid):
    """The UID of the message with this Message-ID in box."""
    assert c.command('EXAMINE "%s"' % box).ok
    r = c.command('UID SEARCH HEADER Message-ID "%s"' % msgid)
    assert r.ok and len(r.search()) == 1, r
    return r.search()[0]


def answer_to(lines, tag):
    """The untagged lines imapd sent for the command tagged tag."""
    end = next(i for i, x in enumerate(lines) if x.startswith(tag + b" "))
    start = end
    while start > 0 and lines[start - 1][:2] in (b"* ", b"+ "):
        start -= 1
    return lines[start:end]


def check_selects(conv, c):
    """Each SELECT/EXAMINE the client sent was answered with the mailbox's
    UIDVALIDITY and a UIDNEXT no greater than a direct STATUS gives now
    (the client may have appended since), in RFC 3501 7.1's form."""
    lines = conv.responses()
    n = 0
    for tag, cmd in commands(conv).items():
        m = re.match(rb'^\S+ (SELECT|EXAMINE) "?([^"]*)"?', cmd)
        if not m:
            continue
        validity, uidnext = status(c, m.group(2).decode())
        part = answer_to(lines, tag)
        codes = [re.match(rb"^\* OK \[(UIDVALIDITY|UIDNEXT) (\d+)\] ", x) for x in part]
        codes = [(x.group(1), int(x.group(2))) for x in codes if x]
        assert [v for k, v in codes if k == b"UIDVALIDITY"] == [validity], part
        said = [v for k, v in codes if k == b"UIDNEXT"]
        assert len(said) == 1 and said[0] <= uidnext, (part, uidnext)
        n += 1
    return n


# ---------------------------------------------------------------- fetchmail

def test_fetchmail_over_imaps_into_an_mda(recorded, client_ssl, inbox, mail_store,   # noqa: F811
                                          user):
    """fetchmail (IMAP over TLS, the certificate verified) fetches the
    INBOX into an MDA and deletes it on the server."""
    need("fetchmail", "fetchmail")
    out = os.path.join(user.home, "fetched")
    os.mkdir(out)
    os.chown(out, user.uid, user.gid)
    # the certificate names localhost: fetchmail checks it against that
    got = fetchmail(recorded, user, out, False, "imap",
                    'ssl sslcertck sslcertfile "%s"' % client_ssl[1], "localhost")
    assert got == sorted(e.data for e in inbox)
    assert list(mail_store.messages(user)) == []
    conv = recorded.conversations[0]
    assert set(EXTENSIONS) <= set(capabilities(conv)), capabilities(conv)
    sent, _ = answered_ok(conv)
    verbs = [line.split()[1].upper() for line in sent.values()]
    assert b"LOGIN" in verbs and b"EXPUNGE" in verbs, verbs


# ---------------------------------------------------------------- mbsync

def test_mbsync_exchange(recorded, client_ssl, inbox, user, tmp_path):   # noqa: F811
    """Two syncs of mbsync through the recorder: the second APPENDs a new
    local message and moves a deleted one to Trash by UID MOVE. isync 1.4
    has no CONDSTORE (it never ENABLEs it nor asks for a MODSEQ)."""
    need("mbsync", "isync")
    c = direct(recorded, user)
    assert c.command("CREATE Trash").ok
    local = tmp_path / "Mail"
    local.mkdir()
    rc = str(tmp_path / "mbsyncrc")
    mbsyncrc(rc, recorded, user, client_ssl[1], str(local))
    with open(rc) as f:
        text = f.read()
    with open(rc, "w") as f:
        f.write(text.replace("IMAPStore remote\nAccount test\n",
                             "IMAPStore remote\nAccount test\nTrash Trash\n")
                .replace("Expunge None", "Expunge Far")
                # Trash itself is not synced: else mbsync moves Trash's deleted
                # message into Trash again
                .replace("Patterns *", "Patterns * !Trash"))

    def sync():
        """One mbsync run of the whole channel."""
        r = subprocess.run(["mbsync", "-c", rc, "all"], stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, timeout=120)
        assert r.returncode == 0, r.stdout.decode("utf-8", "replace")
    sync()
    added = new_message("written offline", "made in the local copy")
    cur = local / "INBOX" / "cur"
    cur.mkdir(parents=True, exist_ok=True)
    (cur / "1700000000.local1.host:2,S").write_bytes(added)
    # one pulled message marked deleted locally: mbsync copies it to Trash
    pulled = sorted(os.listdir(local / "INBOX" / "new")) + sorted(os.listdir(cur))
    victim = next(p for p in pulled if "local1" not in p)
    where = local / "INBOX" / ("new" if (local / "INBOX" / "new" / victim).exists() else "cur")
    os.rename(where / victim, cur / (victim.split(":2,")[0] + ":2,ST"))
    sync()

    convs = recorded.conversations
    assert len(convs) == 2, len(convs)
    for conv in convs:
        assert set(EXTENSIONS) <= set(capabilities(conv))
        sent, got = answered_ok(conv)
        names_no_modseq(sent)
    assert check_selects(convs[0], c) >= 1
    sent, got = answered_ok(convs[1])
    assert check_selects(convs[1], c) >= 1
    # APPEND: "OK [APPENDUID <UIDVALIDITY> <UID>]" naming the stored message
    appends = [t for t, x in sent.items() if x.split()[1].upper() == b"APPEND"]
    assert len(appends) == 1, sent
    validity, _ = status(c, "INBOX")
    uid = uid_of(c, "INBOX", "<written-offline@local.example>")
    assert got[appends[0]].startswith(b"%s OK [APPENDUID %d %d] " % (appends[0], validity, uid))
    # UID MOVE to Trash (RFC 6851 4.3): "* OK [COPYUID <UIDVALIDITY> <source>
    # <destination>]" before the expunge it makes
    moves = [t for t, x in sent.items() if x.split()[1:3] == [b"UID", b"MOVE"]]
    assert len(moves) == 1, sent
    src = int(sent[moves[0]].split()[3])
    tvalidity, _ = status(c, "Trash")
    assert c.command("EXAMINE Trash").ok
    tuid = c.command("UID SEARCH ALL").search()
    assert len(tuid) == 1
    part = answer_to(convs[1].responses(), moves[0])
    assert part[0].startswith(b"* OK [COPYUID %d %d %d] " % (tvalidity, src, tuid[0])), part
    assert re.match(rb"^\* \d+ EXPUNGE$", part[1]), part
    # its first UID FETCH (UID FLAGS), before any change: RFC 3501 7.4.2's
    # lines, one per message, its number and UID, flags still empty
    fetch = next(t for t, x in sent.items() if x.split()[1:3] == [b"UID", b"FETCH"])
    assert answer_to(convs[1].responses(), fetch) == [
        b"* %d FETCH (UID %d FLAGS ())" % (n, n) for n in range(1, len(inbox) + 1)]


# ---------------------------------------------------------------- offlineimap

def test_offlineimap_exchange(recorded, client_ssl, inbox, user, tmp_path):   # noqa: F811
    """Two runs of offlineimap through the recorder; the second uploads a
    new local message and reads its UID from APPENDUID."""
    need("offlineimap", "offlineimap3")
    c = direct(recorded, user)
    local = tmp_path / "Mail"
    rc = tmp_path / "offlineimaprc"
    rc.write_text("""\
[general]
accounts = test
metadata = %(meta)s

[Account test]
localrepository = local
remoterepository = remote

[Repository local]
type = Maildir
localfolders = %(local)s

[Repository remote]
type = IMAP
remotehost = localhost
remoteport = %(port)d
remoteuser = %(user)s
remotepass = %(pw)s
ssl = yes
sslcacertfile = %(trust)s
folderfilter = lambda f: f == "INBOX"
""" % {"meta": tmp_path / "meta", "local": local, "port": recorded.port, "user": user.name,
       "pw": user.password, "trust": client_ssl[1]})

    def run():
        """One offlineimap run, quiet and once."""
        r = subprocess.run(["offlineimap", "-c", str(rc), "-o", "-u", "basic"],
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=120)
        out = r.stdout.decode("utf-8", "replace")
        assert r.returncode == 0 and "ERROR" not in out, out
    run()
    new = local / "INBOX" / "new"
    pulled = [p for d in ("cur", "new") for p in (local / "INBOX" / d).iterdir()]
    assert len(pulled) == len(inbox), pulled
    added = new_message("from offlineimap", "made in the offlineimap copy")
    (new / "1700000000.local3.host").write_bytes(added)
    first = len(recorded.conversations)
    run()
    assert check_selects(recorded.conversations[0], c) >= 1
    appends = []
    for conv in recorded.conversations:
        assert set(EXTENSIONS) <= set(capabilities(conv))
        sent, got = answered_ok(conv)
        names_no_modseq(sent)
        appends += [(t, got[t], conv) for t, x in sent.items()
                    if x.split()[1].upper() == b"APPEND"]
    assert len(appends) == 1 and first < len(recorded.conversations), appends
    tag, line, conv = appends[0]
    validity, _ = status(c, "INBOX")
    uid = uid_of(c, "INBOX", "<from-offlineimap@local.example>")
    assert line.startswith(b"%s OK [APPENDUID %d %d] " % (tag, validity, uid)), line
