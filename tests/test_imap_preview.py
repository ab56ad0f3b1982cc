# PREVIEW (RFC 8970): FETCH PREVIEW and PREVIEW (LAZY) give up to 200
# characters of a message's first text part as UTF-8: transfer encoding and
# charset undone, plain text preferred to HTML, HTML reduced to its text,
# white space collapsed; an empty string for a message without text.
import pytest

from helpers import mailstore
from helpers.mbox import Entry

MAIL_FORMATS = mailstore.FORMATS

HEAD = b"From: a@example.org\nTo: b@example.org\nDate: Thu, 19 Nov 2026 12:00:00 +0000\n"

PLAIN_QP_LATIN1 = HEAD + b"""Subject: latin-1
MIME-Version: 1.0
Content-Type: text/plain; charset=iso-8859-1
Content-Transfer-Encoding: quoted-printable

Caf=E9   au
   lait,=20
\tsoft=
 break.
"""

HTML_ONLY = HEAD + b"""Subject: html
MIME-Version: 1.0
Content-Type: text/html; charset=utf-8

<html><head><style>p { color: red }</style><script>var x = "<b>no</b>";</script>
<title>T</title></head><body><!-- hidden -->
<p>Hello&nbsp;<b>world</b> &amp; friends &lt;3 &#233;&#x20AC;</p>
</body></html>
"""

ALTERNATIVE = HEAD + b"""Subject: alternative
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary=out

--out
Content-Type: multipart/alternative; boundary=in

--in
Content-Type: text/html

<p>the html version</p>
--in
Content-Type: text/plain

the plain version
--in--
--out
Content-Type: text/plain
Content-Disposition: attachment; filename=a.txt

an attachment
--out--
"""

ATTACHMENT_ONLY = HEAD + b"""Subject: no text
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary=b

--b
Content-Type: application/pdf
Content-Transfer-Encoding: base64

JVBERi0=
--b
Content-Type: text/plain
Content-Disposition: attachment

not for the preview
--b--
"""

LONG = HEAD + b"Subject: long\nContent-Type: text/plain; charset=utf-8\n\n" + \
    ("\u00e9\u00e9 " * 120).encode() + b"\n"


@pytest.fixture
def box(mail_store, user, client):
    mail_store.write(user, [Entry(m) for m in (PLAIN_QP_LATIN1, HTML_ONLY, ALTERNATIVE,
                                                ATTACHMENT_ONLY, LONG)])
    r = client.command("SELECT INBOX")
    assert r.ok and r.numbered("EXISTS") == [5], r
    return client


def preview(c, n, item="PREVIEW"):
    r = c.command("FETCH %d %s" % (n, item))
    assert r.ok, r
    return r


def text(c, n, item="PREVIEW"):
    return preview(c, n, item).fetches()[n]["PREVIEW"].decode("utf-8")


def test_capability(client):
    assert "PREVIEW" in client.command("CAPABILITY").named("CAPABILITY")[0]


def test_plain_text_decoded_and_collapsed(box):
    r = preview(box, 1)
    assert r.raw == [b"* 1 FETCH (PREVIEW {26}\r\nCaf\xc3\xa9 au lait, soft break.)"]


def test_html_reduced_to_text(box):
    assert text(box, 2) == "T Hello world & friends <3 \u00e9\u20ac"


def test_plain_alternative_preferred_attachment_skipped(box):
    assert text(box, 3) == "the plain version"


def test_no_text_part_is_empty(box):
    assert preview(box, 4).raw == [b'* 4 FETCH (PREVIEW "")']


def test_at_most_200_characters(box):
    t = text(box, 5)
    # 200 characters (not octets: these are two each), cut inside the text
    assert len(t) == 200 and t == ("\u00e9\u00e9 " * 120)[:200]


def test_lazy_gives_the_same(box):
    assert text(box, 3, "(UID PREVIEW (LAZY))") == "the plain version"
    assert text(box, 1, "PREVIEW (lazy)") == text(box, 1)


def test_preview_does_not_set_seen(box):
    preview(box, 1)
    assert "\\Seen" not in preview(box, 1, "FLAGS").fetches()[1]["FLAGS"]


@pytest.mark.parametrize("item", ["PREVIEW (FUZZY)", "PREVIEW ()", "PREVIEW (LAZY",
                                  "PREVIEW[1]"])
def test_bad_modifiers(box, item):
    r = box.command("FETCH 1 %s" % item)
    assert r.status == "BAD", (item, r)
