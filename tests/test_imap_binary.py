# BINARY (RFC 3516): FETCH BINARY[part]<partial>, BINARY.PEEK and
# BINARY.SIZE give a part's content with its transfer encoding undone
# (base64, quoted-printable), as literal8 (~{n}) when it holds NUL; an
# encoding the server cannot decode fails the FETCH with [UNKNOWN-CTE].
# APPEND takes literal8; binary content with NUL octets, which no mailbox
# format here stores as binary, is refused with [UNKNOWN-CTE] as RFC 3516
# 4.4 asks.
import base64

import pytest

from helpers import mailstore
from helpers.imapclient import Lit
from helpers.mbox import Entry

MAIL_FORMATS = mailstore.FORMATS

BLOB = b"\x00\x01\x02hello\xff"
JUNK_B64 = b"AA*EC\n!!aGVs bG8=trailing"   # junk skipped, '=' ends it (RFC 2045 6.8)
MESSAGE = b"""From: a@example.org
To: b@example.org
Subject: binary parts
Date: Thu, 19 Nov 2026 12:00:00 +0000
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="XX"

--XX
Content-Type: text/plain; charset=utf-8
Content-Transfer-Encoding: quoted-printable

caf=C3=A9 au lait=
, soft break
--XX
Content-Type: application/octet-stream
Content-Transfer-Encoding: base64

""" + base64.b64encode(BLOB) + b"""
--XX
Content-Type: text/plain
Content-Transfer-Encoding: x-uuencode

begin 644 x
end
--XX
Content-Type: text/plain

plain seven bit
--XX
Content-Type: application/octet-stream
Content-Transfer-Encoding: BASE64

""" + JUNK_B64 + b"""
--XX--
"""
QP_DECODED = "café au lait, soft break".encode()


@pytest.fixture
def binbox(mail_store, user):
    mail_store.write(user, [Entry(MESSAGE)])


@pytest.fixture
def sel(client, binbox):
    r = client.command("SELECT INBOX")
    assert r.ok and r.numbered("EXISTS") == [1], r
    return client


def fetch(c, items):
    r = c.command("FETCH 1 %s" % items)
    assert r.ok, r
    return r


def test_capability(client):
    r = client.command("CAPABILITY")
    assert "BINARY" in r.named("CAPABILITY")[0], r


def test_quoted_printable_part_decoded(sel):
    r = fetch(sel, "BINARY.PEEK[1]")
    assert r.raw == [b"* 1 FETCH (BINARY[1] {%d}\r\n%s)" % (len(QP_DECODED), QP_DECODED)]


def test_base64_part_with_nul_is_literal8(sel):
    r = fetch(sel, "BINARY.PEEK[2]")
    assert r.raw == [b"* 1 FETCH (BINARY[2] ~{9}\r\n" + BLOB + b")"]
    assert r.fetches()[1]["BINARY[2]"] == BLOB


def test_binary_size_is_the_decoded_size(sel):
    r = fetch(sel, "(BINARY.SIZE[1] BINARY.SIZE[2] BINARY.SIZE[4])")
    assert r.raw == [b"* 1 FETCH (BINARY.SIZE[1] %d BINARY.SIZE[2] 9 BINARY.SIZE[4] 15)"
                     % len(QP_DECODED)]
    # sizes never set \Seen
    assert "\\Seen" not in fetch(sel, "FLAGS").fetches()[1]["FLAGS"]


def test_partial_counts_decoded_octets(sel):
    r = fetch(sel, "BINARY.PEEK[2]<3.5>")
    assert r.raw == [b"* 1 FETCH (BINARY[2]<3> {5}\r\nhello)"]
    r = fetch(sel, "BINARY.PEEK[2]<0.2>")
    assert r.raw == [b"* 1 FETCH (BINARY[2]<0> ~{2}\r\n\x00\x01)"]
    r = fetch(sel, "BINARY.PEEK[2]<100.5>")
    assert r.raw == [b'* 1 FETCH (BINARY[2]<100> "")']


def test_seven_bit_part_as_it_is(sel):
    r = fetch(sel, "BINARY.PEEK[4]")
    assert r.fetches()[1]["BINARY[4]"] == b"plain seven bit"


def test_malformed_base64_decoded_as_rfc2045_reader(sel):
    r = fetch(sel, "BINARY.PEEK[5]")
    assert r.fetches()[1]["BINARY[5]"] == b"\x00\x01\x02hello"


def test_whole_message_is_body(sel):
    body = fetch(sel, "BODY.PEEK[]").fetches()[1]["BODY[]"]
    assert fetch(sel, "BINARY.PEEK[]").fetches()[1]["BINARY[]"] == body


def test_unknown_encoding_fails_with_unknown_cte(sel):
    for item in ("BINARY[3]", "BINARY.PEEK[3]", "BINARY.SIZE[3]", "(FLAGS BINARY[3])"):
        r = sel.command("FETCH 1 %s" % item)
        assert r.status == "NO" and r.code == "UNKNOWN-CTE", (item, r)
        assert r.untagged == [], r
    # the failed non-PEEK fetches set no \Seen
    assert "\\Seen" not in fetch(sel, "FLAGS").fetches()[1]["FLAGS"]


def test_binary_without_peek_sets_seen(sel):
    r = fetch(sel, "BINARY[4]")
    got = r.fetches()[1]
    assert got["BINARY[4]"] == b"plain seven bit" and "\\Seen" in got["FLAGS"], r


def test_missing_part_is_empty(sel):
    r = fetch(sel, "BINARY.PEEK[9]")
    assert r.raw == [b'* 1 FETCH (BINARY[9] "")']


@pytest.mark.parametrize("item", ["BINARY[1.HEADER]", "BINARY[1.MIME]", "BINARY[0]",
                                  "BINARY.SIZE[1]<0.5>", "BINARY[1", "BINARY.PEEK"])
def test_bad_syntax(sel, item):
    r = sel.command("FETCH 1 %s" % item)
    assert r.status == "BAD", (item, r)


def messages(c):
    r = c.command("STATUS INBOX (MESSAGES)")
    assert r.ok, r
    return int(r.named("STATUS")[0][2][1])


def test_append_literal8_stored_as_it_came(client, binbox):
    msg = (b"From: a@example.org\r\nSubject: eight bit\r\n\r\n"
           b"caf\xc3\xa9 \xff\xfe raw octets\r\n")
    r = client.command("APPEND INBOX ~", Lit(msg))
    assert r.ok, r
    assert messages(client) == 2
    assert client.command("SELECT INBOX").ok
    assert fetch(client, "BODY.PEEK[]").fetches()[1]["BODY[]"] == MESSAGE.replace(b"\n", b"\r\n")
    r = client.command("FETCH 2 BINARY.PEEK[]")
    assert r.fetches()[2]["BINARY[]"] == msg


def test_append_literal8_with_nul_is_unknown_cte(client, binbox):
    msg = b"From: a@example.org\r\nSubject: nul\r\n\r\nzero \x00 byte\r\n"
    r = client.command("APPEND INBOX ~", Lit(msg))
    assert r.status == "NO" and r.code == "UNKNOWN-CTE", r
    assert "nothing appended" in r.text, r
    # in a MULTIAPPEND, none of the messages is stored
    r = client.command("APPEND INBOX ", Lit(b"Subject: fine\r\n\r\nok\r\n"), " ~", Lit(msg))
    assert r.status == "NO" and r.code == "UNKNOWN-CTE", r
    assert messages(client) == 1
