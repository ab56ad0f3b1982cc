# CATENATE (RFC 4469) on every mailbox format: a message joined from text
# literals and IMAP URLs (RFC 5092) of the user's own messages, sections
# and partials included, in a MULTIAPPEND; a bad URL stores nothing.
import re

import pytest

from helpers.imapclient import Lit
from helpers.mailstore import FORMATS

MAIL_FORMATS = FORMATS

BOUNDARY = b"--------------030308070208000400050907"
# a draft as RFC 4469's example forwards it: a header, a text part and the
# message being forwarded in the second part
DRAFT = (b"From: Fred <fred@example.com>\r\n"
         b"To: Joe <joe@example.com>\r\n"
         b"Subject: Fwd: the plan\r\n"
         b"MIME-Version: 1.0\r\n"
         b"Content-Type: multipart/mixed; boundary=\"" + BOUNDARY[2:] + b"\"\r\n"
         b"\r\n" + BOUNDARY + b"\r\n"
         b"Content-Type: text/plain; charset=us-ascii\r\n"
         b"\r\n"
         b"Joe, see the plan below.\r\n" + BOUNDARY + b"\r\n"
         b"Content-Type: message/rfc822\r\n"
         b"\r\n"
         b"Subject: old\r\n\r\nold body\r\n" + BOUNDARY + b"--\r\n")
OTHER = (b"From: Ann <ann@example.com>\r\nSubject: the plan\r\n\r\n"
         b"Step one: write the tests.\r\n")


def ok(r):
    assert r.ok, r
    return r


@pytest.fixture
def box(client, mail_store, user):
    """A logged-in client; the user's INBOX exists, empty."""
    mail_store.write(user, [])
    return client


def drafts(c):
    """INBOX holds DRAFT (UID 1) and OTHER (UID 2); its UIDVALIDITY."""
    r = ok(c.command("APPEND INBOX ", Lit(DRAFT), " ", Lit(OTHER)))
    return int(re.match(r"APPENDUID (\d+) 1:2$", r.code).group(1))


def body(c, uid, section=""):
    ok(c.command("EXAMINE INBOX"))
    f = ok(c.command("UID FETCH %d BODY.PEEK[%s]" % (uid, section))).fetches()
    return bytes(list(f.values())[0]["BODY[%s]" % section])


def count(c):
    r = ok(c.command("STATUS INBOX (MESSAGES)"))
    return int(r.named("STATUS")[0][2][1])


def test_rfc4469_example(box):
    """RFC 4469 section 5's forward: the draft's header, new text, its
    first part with its MIME header, and a whole message, in one APPEND."""
    v = drafts(box)
    url = '"/INBOX;UIDVALIDITY=%d/;UID=%%s/;section=%%s"' % v
    t1 = b"\r\n" + BOUNDARY + b"\r\n"
    t3 = b"\r\n" + BOUNDARY + b"--\r\n"
    r = box.command("APPEND INBOX (\\Seen \\Draft $MDNSent) CATENATE (URL ",
                       url % (1, "HEADER"), " TEXT ", Lit(t1), " URL ", url % (1, "1.MIME"),
                       " URL ", url % (1, "1"), " TEXT ", Lit(t1),
                       ' URL "/INBOX;UIDVALIDITY=%d/;UID=2" TEXT ' % v, Lit(t3), ")")
    assert r.ok and r.code == "APPENDUID %d 3" % v, r
    header = DRAFT[:DRAFT.index(b"\r\n\r\n") + 4]
    part1 = b"Joe, see the plan below."
    mime1 = b"Content-Type: text/plain; charset=us-ascii\r\n\r\n"
    assert body(box, 3) == header + t1 + mime1 + part1 + t1 + OTHER + t3
    f = ok(box.command("UID FETCH 3 FLAGS")).fetches()
    flags = set(list(f.values())[0]["FLAGS"]) - {"\\Recent"}
    assert flags == {"$MDNSent", "\\Draft", "\\Seen"}


def test_partial_selected_or_not(box):
    """;PARTIAL= cuts the part; the same URL reads the same bytes whether
    its mailbox is the selected one or not; an origin alone runs to the
    end."""
    v = drafts(box)
    url = '"/INBOX;UIDVALIDITY=%d/;UID=2/;SECTION=TEXT/;PARTIAL=5.3"' % v
    ok(box.command("APPEND INBOX CATENATE (TEXT ", Lit(b"Subject: x\r\n\r\n"),
                   " URL ", url, " TEXT ", Lit(b"\r\n"), ")"))
    ok(box.command("SELECT INBOX"))
    r = ok(box.command("APPEND INBOX CATENATE (TEXT ", Lit(b"Subject: y\r\n\r\n"),
                       " URL ", url, " URL ", url.replace("5.3", "18"), ")"))
    assert r.code == "APPENDUID %d 4" % v
    assert body(box, 3) == b"Subject: x\r\n\r\none\r\n"
    assert body(box, 4) == b"Subject: y\r\n\r\nonee tests.\r\n"


def test_multiappend_bad_url_stores_nothing(box):
    """A URL naming no message fails the whole MULTIAPPEND with BADURL,
    quoted as RFC 4469's example gives it."""
    v = drafts(box)
    bad = "/INBOX;UIDVALIDITY=%d/;UID=9" % v
    r = box.command("APPEND INBOX ", Lit(OTHER), " CATENATE (URL \"/INBOX/;UID=1\") "
                    "CATENATE (TEXT ", Lit(b"Subject: z\r\n\r\n"), ' URL "%s")' % bad)
    assert r.status == "NO" and r.code == 'BADURL "%s"' % bad, r
    assert count(box) == 2
    r = ok(box.command("APPEND INBOX ", Lit(OTHER), " CATENATE (URL \"/INBOX/;UID=1\")"))
    assert r.code == "APPENDUID %d 3:4" % v
    assert body(box, 4) == DRAFT
