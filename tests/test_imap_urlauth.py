# URLAUTH (RFC 4467) with URL-PARTIAL, and CATENATE's refusals (RFC 4469):
# GENURLAUTH signs a URL of the user's own message, URLFETCH reads it back
# byte for byte, and every altered, expired, reset or foreign URL is
# refused, as is a URL that leaves the user's mailboxes. INBOX is the
# spool file here; the format-dependent reading is test_imap_catenate.py's.
import os
import re
import stat
import threading

import pytest

from helpers.imapclient import Lit
from test_imap_catenate import ok

MSG = (b"From: Fred <fred@example.com>\r\nSubject: parts\r\nMIME-Version: 1.0\r\n"
       b"Content-Type: multipart/mixed; boundary=xx\r\n\r\n"
       b"--xx\r\nContent-Type: text/plain\r\n\r\nSi vis pacem, para bellum.\r\n"
       b"--xx\r\nContent-Type: text/plain\r\n\r\nsecond\r\n--xx--\r\n")
PART1 = b"Si vis pacem, para bellum."


@pytest.fixture
def box(client, mail_store, user):
    """A logged-in client; INBOX holds MSG as UID 1."""
    mail_store.write(user, [])
    return ok(client.command("APPEND INBOX ", Lit(MSG))) and client


def rump(user, tail="/INBOX/;uid=1/;section=1", access=None):
    return "imap://%s@example.com%s;urlauth=%s" % (user.name, tail, access or
                                                   "user+" + user.name)


def gen(c, url):
    """GENURLAUTH url INTERNAL: the one signed URL, checked to be the rump
    with ":internal:" and a hex token, as RFC 4467's example shows."""
    r = ok(c.command('GENURLAUTH "%s" INTERNAL' % url))
    m = re.match(rb'^\* GENURLAUTH "(.*)"$', r.raw[0])
    assert m and len(r.raw) == 1, r.raw
    full = m.group(1).decode()
    assert re.match(re.escape(url) + ":internal:[0-9a-f]{40}$", full), full
    return full


def fetch(c, *urls):
    """URLFETCH urls: {url: bytes or None}, from its one URLFETCH response."""
    r = ok(c.command("URLFETCH " + " ".join('"%s"' % u for u in urls)))
    assert len(r.untagged) == 1 and r.untagged[0][0] == "URLFETCH", r.raw
    items = r.untagged[0][1:]
    assert [bytes(x).decode() for x in items[::2]] == list(urls), items
    return {u: (None if v is None else bytes(v)) for u, v in zip(urls, items[1::2])}


def test_advertised(client):
    caps = ok(client.command("CAPABILITY")).raw[0].decode().split()
    assert {"CATENATE", "URLAUTH", "URL-PARTIAL"} <= set(caps), caps


@pytest.mark.every_format
def test_rfc4467_exchange(box, user, connect):
    """GENURLAUTH then URLFETCH (RFC 4467 section 8's exchange), the answer
    byte for byte; a second session of the user reads the same URL."""
    url = gen(box, rump(user))
    r = ok(box.command('URLFETCH "%s"' % url))
    assert r.raw == [b'* URLFETCH "%s" {%d}\r\n%s' % (url.encode(), len(PART1), PART1)]
    assert fetch(connect(), url) == {url: PART1}


def test_partial(box, user):
    url = gen(box, rump(user, "/INBOX/;uid=1/;section=1/;partial=3.9"))
    assert fetch(box, url) == {url: b"vis pacem"}


def test_altered_urls_are_refused(box, user):
    """Any change to a signed URL (its message, section, access, token,
    user) gives NIL, beside the untouched URL in the same command."""
    url = gen(box, rump(user))
    token = url[-40:]
    flipped = url[:-1] + ("0" if url[-1] != "0" else "1")
    ok(box.command("APPEND INBOX ", Lit(MSG)))
    altered = [url.replace("uid=1", "uid=2"), url.replace("section=1", "section=2"),
               url.replace("user+" + user.name, "authuser"), flipped,
               url.replace(":internal:", ":other:"), url[:-40] + token[:32],
               url.replace("imap://%s@" % user.name, "imap://root@")]
    got = fetch(box, url, *altered)
    assert got == dict([(url, PART1)] + [(a, None) for a in altered])


def test_resetkey(box, user):
    """RESETKEY INBOX ends INBOX's URLs, not another mailbox's; RESETKEY
    alone ends them all; a new GENURLAUTH works again."""
    ok(box.command("CREATE other"))
    ok(box.command("APPEND other ", Lit(MSG)))
    a = gen(box, rump(user))
    b = gen(box, rump(user, "/other/;uid=1/;section=1"))
    assert ok(box.command("RESETKEY INBOX")).code == "URLMECH INTERNAL"
    assert fetch(box, a, b) == {a: None, b: PART1}
    ok(box.command("RESETKEY"))
    assert fetch(box, b) == {b: None}
    c = gen(box, rump(user))
    assert c != a and fetch(box, a, c) == {a: None, c: PART1}


def test_access_identifiers(box, user, other_user):
    """user+ names who may fetch; authuser and anonymous any session;
    submit+ only a submission server, which this server has none of."""
    mine = gen(box, rump(user))
    theirs = gen(box, rump(user, access="user+" + other_user.name))
    anyone = gen(box, rump(user, access="authuser"))
    anon = gen(box, rump(user, access="anonymous"))
    submit = gen(box, rump(user, access="submit+" + user.name))
    assert fetch(box, mine, theirs, anyone, anon, submit) == {
        mine: PART1, theirs: None, anyone: PART1, anon: PART1, submit: None}


def test_expire(box, user):
    past = gen(box, rump(user, "/INBOX/;uid=1/;section=1;expire=2020-01-01T00:00:00Z"))
    future = gen(box, rump(user, "/INBOX/;uid=1/;section=1;expire=2099-12-31T23:59:59+01:00"))
    assert fetch(box, past, future) == {past: None, future: PART1}


def test_unsigned_urls_are_not_fetched(box, user):
    """URLFETCH takes only signed URLs: a plain one or a rump is NIL, even
    for the owner."""
    plain = "imap://%s@example.com/INBOX/;uid=1/;section=1" % user.name
    assert fetch(box, plain, rump(user)) == {plain: None, rump(user): None}


@pytest.mark.parametrize("url", [
    "/INBOX/;uid=1;urlauth=anonymous",                       # relative
    "imap://%(other)s@example.com/INBOX/;uid=1;urlauth=anonymous",   # not ours
    "imap://%(me)s@example.com/INBOX/;uid=1",                # no URLAUTH
    "imap://%(me)s@example.com/nosuch/;uid=1;urlauth=anonymous",
    "imap://%(me)s@example.com/INBOX/;uid=1;urlauth=anonymous:internal:" + "0" * 40,
])
def test_genurlauth_refusals(box, user, other_user, url):
    r = box.command('GENURLAUTH "%s" INTERNAL' % (url % {"me": user.name,
                                                          "other": other_user.name}))
    assert r.status == "NO" and not r.untagged, r


def test_key_file(box, user):
    """The keys live in ~/.imapd-urlauth, the user's, mode 0600."""
    gen(box, rump(user))
    st = os.lstat(os.path.join(user.home, ".imapd-urlauth"))
    assert stat.S_ISREG(st.st_mode) and stat.S_IMODE(st.st_mode) == 0o600
    assert st.st_uid == user.uid


def test_key_file_link_not_followed(box, user, tmp_path):
    """A link planted as the key file is neither read nor written through."""
    target = tmp_path / "target"
    target.write_bytes(b"1 " + b"ab" * 32 + b" INBOX\n")
    os.chmod(tmp_path, 0o755)
    os.chown(target, user.uid, user.gid)
    os.symlink(target, os.path.join(user.home, ".imapd-urlauth"))
    r = box.command('GENURLAUTH "%s" INTERNAL' % rump(user))
    assert r.status == "NO" and not r.untagged, r
    assert target.read_bytes() == b"1 " + b"ab" * 32 + b" INBOX\n"


def test_sessions_making_a_key_agree(box, user, connect):
    """Sessions signing URLs of a mailbox that has no key yet, all at once,
    make one key between them (under the key file's lock): every URL
    signed fetches. Without the lock each made its own and the last
    written won, so the others' URLs fetched NIL."""
    sessions = [box] + [connect() for _ in range(5)]
    for s in sessions[1:]:
        ok(s.command("SELECT INBOX"))
    for rnd in range(6):
        ok(box.command("RESETKEY INBOX"))
        start = threading.Barrier(len(sessions))
        urls = [None] * len(sessions)

        def sign(k):
            start.wait(10)
            urls[k] = gen(sessions[k], rump(user))
        threads = [threading.Thread(target=sign, args=(k,)) for k in range(len(sessions))]
        for t in threads:
            t.start()
        for t in threads:
            t.join(30)
        assert len(set(urls)) == 1, (rnd, urls)      # one key: one token
        assert fetch(box, urls[0]) == {urls[0]: PART1}


# ---------------------------------------------------------------- CATENATE

def badurl(box, url):
    r = box.command("APPEND INBOX CATENATE (TEXT ", Lit(b"Subject: x\r\n\r\n"),
                    ' URL "%s")' % url)
    assert r.status == "NO" and r.code == 'BADURL "%s"' % url, r


@pytest.mark.parametrize("url", [
    "/INBOX/;UID=7",                                 # no such message
    "/INBOX;UIDVALIDITY=1/;UID=1",                   # another UIDVALIDITY
    "/INBOX/;UID=1/;SECTION=9",                      # no such part
    "/nosuch/;UID=1",
    "/..%2F..%2Fetc%2Fpasswd/;UID=1",                # out of the user's names
    "/%2Fetc%2Fpasswd/;UID=1",
    "imap://%(other)s@example.com/INBOX/;UID=1",     # another user's mailbox
    "/INBOX/;UID=1;URLAUTH=anonymous",               # a rump, unsigned
    "INBOX/;UID=1",                                  # not a URL
    "/INBOX/;UID=1/;SECTION=1/;PARTIAL=x",
])
def test_catenate_bad_urls(box, other_user, url):
    """Each URL that names nothing the user may read is answered with
    BADURL and nothing is appended."""
    badurl(box, url % {"other": other_user.name} if "%(" in url else url)
    r = ok(box.command("STATUS INBOX (MESSAGES)"))
    assert r.named("STATUS")[0][2] == ["MESSAGES", "1"]


def test_catenate_other_users_mailbox_unreadable(box, other_user, mail_store):
    """Even with the other user's INBOX present, a URL naming it is refused."""
    mail_store.write(other_user, [])
    badurl(box, "imap://%s@example.com/INBOX/;UID=1" % other_user.name)


def test_catenate_signed_url(box, user):
    """An URLAUTH-signed URL is taken by CATENATE; an altered one is not."""
    url = gen(box, rump(user))
    r = ok(box.command("APPEND INBOX CATENATE (TEXT ", Lit(b"Subject: y\r\n\r\n"),
                       ' URL "%s" TEXT ' % url, Lit(b"\r\n"), ")"))
    assert r.code.endswith(" 2")
    ok(box.command("EXAMINE INBOX"))
    f = ok(box.command("UID FETCH 2 BODY.PEEK[]")).fetches()
    assert bytes(f[2]["BODY[]"]) == b"Subject: y\r\n\r\n" + PART1 + b"\r\n"
    badurl(box, url.replace("section=1", "section=2"))


def test_catenate_toobig(server_with, open_to, user, mail_store):
    """Parts joined beyond max_message: NO [TOOBIG], nothing appended."""
    mail_store.write(user, [])
    c = open_to(server_with("max_message = 1k"), who=user)
    ok(c.command("APPEND INBOX ", Lit(b"Subject: a\r\n\r\n" + b"x" * 900 + b"\r\n")))
    r = c.command('APPEND INBOX CATENATE (URL "/INBOX/;UID=1" URL "/INBOX/;UID=1")')
    assert r.status == "NO" and r.code == "TOOBIG", r
    # each under the limit, together over the two messages' budget
    r = c.command("APPEND INBOX" + ' CATENATE (URL "/INBOX/;UID=1")' * 3)
    assert r.status == "NO" and r.code == "TOOBIG" and "together" in r.text, r
    r = ok(c.command("STATUS INBOX (MESSAGES)"))
    assert r.named("STATUS")[0][2] == ["MESSAGES", "1"]


def test_mailbox_names_with_spaces(box, user):
    """A name with spaces, one leading, is percent-encoded in the URL; its
    key is found again (the key file keeps the name as it is)."""
    ok(box.command('CREATE " two  spaces"'))
    ok(box.command('APPEND " two  spaces" ', Lit(MSG)))
    url = gen(box, rump(user, "/%20two%20%20spaces/;uid=1/;section=1"))
    again = gen(box, rump(user, "/%20two%20%20spaces/;uid=1/;section=1"))
    assert url == again
    assert fetch(box, url) == {url: PART1}
