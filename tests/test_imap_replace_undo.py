# REPLACE (RFC 8508) when the old message cannot be removed after the new
# one was stored: the new one is taken out of the target again, so both
# mailboxes are as they were. A Maildir whose cur/ the user cannot write
# is the one failure a test can cause there without being the server.
import os

from helpers.imapclient import Lit
from test_imap_replace import NEW, message, ok, subjects

MAIL_FORMATS = ("maildir",)


def test_failed_expunge_takes_the_new_message_back(mail_store, user, connect):
    mail_store.write(user, [message(n) for n in (1, 2)])
    c = connect()
    ok(c.command("CREATE Drafts"))
    ok(c.command("SELECT INBOX"))
    cur = os.path.join(user.home, "Maildir", "cur")
    os.chmod(cur, 0o500)
    try:
        r = c.command("UID REPLACE 2 Drafts ", Lit(NEW))
    finally:
        os.chmod(cur, 0o700)
    assert (r.status, r.text) == ("NO", "cannot expunge message 2: Permission denied"), r
    # the new message was stored first, then taken back
    assert r.raw[0].startswith(b"* OK [APPENDUID "), r.raw
    assert not any(x.endswith(b"EXPUNGE") or x.startswith(b"* VANISHED") for x in r.raw), r.raw
    assert sorted(subjects(c)) == [1, 2], r
    assert ok(c.command("STATUS Drafts (MESSAGES)")).named("STATUS")[0][2] == ["MESSAGES", "0"]
