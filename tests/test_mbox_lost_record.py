# A spool file's folder record that nothing vouches for (issue 12): the
# user's whole ~/.imapd-cache deleted, a file UW imapd wrote, a delivery of
# the record's exact form. A pseudo message of exactly our or UW's form stays
# hidden, as UW imapd and Dovecot hide it, and nothing in it is believed
# (a new, greater UIDVALIDITY; no flags or UIDs from it); anything that
# differs by a header or a byte is mail.
import os
import re
import shutil

from helpers import mbox
from test_mh import uw_mailutil

SUBJECT = b"DON'T DELETE THIS MESSAGE -- FOLDER INTERNAL DATA"
UW_TEXT = (b"This text is part of the internal format of your mail folder, and is not\n"
           b"a real message.  It is created automatically by the mail system software.\n"
           b"If deleted, important folder data will be lost, and it will be re-created\n"
           b"with the data reset to initial values.\n")
OUR_TEXT = (b"This message holds the IMAP state of this mail folder (UID numbers\n"
            b"and keywords). Mail programs hide it; deleting it resets that state.\n")
MSGS = [b"From: a@example.org\nSubject: one\n\nfirst\n>From here\n",
        b"From: b@example.org\nSubject: two\n\nsecond\n"]


def record(validity=b"0000000001", last=b"0000000099 $Forged", text=UW_TEXT, auth=b""):
    """A folder record's bytes as UW (or, with auth, we) write it."""
    return (b"From MAILER-DAEMON Sun Dec  6 18:57:15 2026\n"
            b"Date: 06 Dec 2026 18:57:15 +0000\n"
            b"From: Mail System Internal Data <MAILER-DAEMON@vm>\n"
            b"Subject: " + SUBJECT + b"\nMessage-ID: <1796583435@vm>\n" + auth +
            b"X-IMAP: " + validity + b" " + last + b"\nStatus: RO\n\n" + text + b"\n")


def put_spool(spool, user, raw):
    p = spool.path(user)
    with open(p, "wb") as f:
        f.write(raw)
    os.chown(p, user.uid, spool.mail_gid)
    os.chmod(p, 0o660)


def select(c):
    r = c.command("SELECT INBOX")
    assert r.ok, r
    return r.numbered("EXISTS")[-1], int(r.codes()["UIDVALIDITY"])


def contents(c, n):
    """(UID, flags, BODY[]) of messages 1..n."""
    r = c.command("FETCH 1:%d (UID FLAGS BODY.PEEK[])" % n)
    assert r.ok, r
    return [(int(f["UID"]), sorted(f["FLAGS"]), f["BODY[]"]) for _, f in sorted(r.fetches().items())]


def ours_now(spool, user, validity):
    """The file holds one record, ours, authenticated, with this UIDVALIDITY."""
    raw = spool.read(user)
    assert raw.count(SUBJECT) == 1 and raw.startswith(b"From MAILER-DAEMON "), raw[:300]
    assert re.search(rb"\nX-IMAP-Auth: \d{10} [0-9a-f]{64}\nX-IMAP: %010d " % validity, raw), raw[:600]
    assert UW_TEXT not in raw and OUR_TEXT in raw


def served_anew(c, spool, user, old_validity):
    """MSGS served byte for byte as new mail (no flags, UIDs from 1, no
    pseudo message) under a UIDVALIDITY above old_validity, and after the
    session the file holds our record; that UIDVALIDITY."""
    n, v = select(c)
    assert n == 2 and v > old_validity, (n, v, old_validity)
    assert contents(c, 2) == [(1, ["\\Recent"], mbox.crlf(MSGS[0])),
                              (2, ["\\Recent"], mbox.crlf(MSGS[1]))]
    c.command("LOGOUT")
    ours_now(spool, user, v)
    return v


def test_lost_cache(fresh, user, spool, connect):
    """~/.imapd-cache deleted, key and all: no pseudo message is seen, the
    UIDVALIDITY is new and greater, every message is intact byte for byte
    (its flags, written under the lost key, not believed), and the file
    gets an authenticated record at once, which the next session keeps."""
    spool.write(user, [mbox.Entry(m) for m in MSGS])
    c = connect()
    n, v1 = select(c)
    assert n == 2 and c.command("STORE 1 +FLAGS (\\Seen)").ok
    c.command("LOGOUT")
    assert b"\nX-IMAP-Auth: " in spool.read(user)
    shutil.rmtree(os.path.join(user.home, ".imapd-cache"))
    c = connect()
    v2 = served_anew(c, spool, user, v1)
    c = connect()
    assert select(c) == (2, v2)
    assert [u for u, _, _ in contents(c, 2)] == [1, 2]


def test_uw_written_spool(fresh, user, spool, connect):
    """A spool file UW imap-2007f's mailutil wrote (its pseudo message,
    X-UIDs, Status): its record is hidden, not believed (UIDVALIDITY above
    UW's, UW's flags dropped), its messages served byte for byte, and our
    record replaces UW's."""
    assert os.path.exists("/usr/bin/mailutil"), "uw-mailutils is not installed (src/deps.sh)"
    src = os.path.join(user.home, "src")
    with open(src, "wb") as f:
        f.write(b"From a@example.org Mon Jan  6 10:00:00 2025\n" + MSGS[0].replace(
            b"\n\n", b"\nStatus: RO\n\n", 1) + b"\n"
                b"From b@example.org Mon Jan  6 10:00:01 2025\n" + MSGS[1])
    os.chown(src, user.uid, user.gid)
    uw_mailutil(user, "copy", "src", "#driver.unix/uw")
    with open(os.path.join(user.home, "uw"), "rb") as f:
        raw = f.read()
    assert raw.startswith(b"From MAILER-DAEMON ") and UW_TEXT in raw, raw[:600]
    uw_validity = int(re.search(rb"\nX-IMAP: (\d{10}) ", raw).group(1))
    put_spool(spool, user, raw)
    c = connect()
    served_anew(c, spool, user, uw_validity)


def test_near_forms_are_mail(fresh, user, spool, connect):
    """A first message one header or one byte away from a record's form is
    mail: shown, and kept byte for byte."""
    exact = record()
    for near in (exact.replace(SUBJECT, SUBJECT + b"!"),
                 exact.replace(b"Status: RO\n", b"X-Mailer: x\nStatus: RO\n"),
                 exact.replace(b"initial values.", b"initial values!")):
        put_spool(spool, user, near + mbox.entry_bytes(mbox.Entry(MSGS[1])))
        c = connect()
        n, v = select(c)
        body = mbox.crlf(mbox.strip_meta(near[near.index(b"\n") + 1:-1]))
        assert n == 2 and v != 1, (n, v)
        assert contents(c, 2) == [(1, ["\\Recent"], body), (2, ["\\Recent"], mbox.crlf(MSGS[1]))]
        c.command("LOGOUT")


def test_delivered_exact_form_hidden_not_believed(fresh, user, spool, connect):
    """A delivery of our record's exact form (an auth line under no key of
    ours) into an empty spool is hidden; its UIDVALIDITY, uidlast and
    keywords are not believed, nor the X-UID and status headers of the next
    delivery; the next write replaces it with our record. Its claim that
    we quoted messages up to X-UID 99 cannot leave a "From " line of the
    sender's unquoted in the file (every reader still counts two messages),
    and every text reads as delivered."""
    forged = record(text=OUR_TEXT, auth=b"X-IMAP-Gen: 0000000007\nX-IMAP-Auth: 0000000099 " +
                    b"ab" * 32 + b"\n")
    spool.deliver(user, None, frame=lambda _: forged)
    # an MTA that quotes only after an empty line leaves this "From " as is
    body = MSGS[1] + b"From evil Thu Jan  2 10:00:00 2025\n>From quoted\n"
    raw = (b"From b@example.org Mon Jan  6 10:00:01 2025\n" + body.replace(
        b"\n\n", b"\nStatus: RO\nX-Status: FA\nX-Keywords: $Forged\nX-UID: 5\n\n", 1) + b"\n")
    spool.deliver(user, None, frame=lambda _: raw)
    c = connect()
    r = c.command("SELECT INBOX")
    assert r.ok and r.numbered("EXISTS") == [1], r
    assert r.codes()["UIDVALIDITY"] != "1" and r.codes()["UIDNEXT"] == "2", r
    assert b"$Forged" not in b"".join(r.raw), r
    assert contents(c, 1) == [(1, ["\\Recent"], mbox.crlf(body))]
    c.command("LOGOUT")
    ours_now(spool, user, int(r.codes()["UIDVALIDITY"]))
    after = spool.read(user)
    assert b"$Forged" not in after and b"0000000099" not in after
    assert len(re.findall(rb"(?m)^From ", after)) == 2, after
    c = connect()
    select(c)
    assert contents(c, 1) == [(1, [], mbox.crlf(body))]
