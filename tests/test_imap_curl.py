# A real client: curl's IMAP support lists mailboxes, searches, fetches a
# message byte for byte (with the CRLF line ends IMAP requires) and uploads
# with APPEND, logging in with the test user's password.
import os

from helpers import mbox


def run_ok(curl, *args, **kw):
    r = curl(*args, **kw)
    assert r.returncode == 0, "curl exit %d: %s" % (r.returncode, r.stderr.decode())
    return r.stdout


def test_curl_lists_mailboxes(fresh, curl):
    out = run_ok(curl, "")
    assert any(line.startswith(b"* LIST") and line.rstrip().endswith(b"INBOX")
               for line in out.splitlines()), out


def test_curl_searches_the_inbox(inbox, curl):
    out = run_ok(curl, "INBOX?ALL")
    assert out.strip() == b"* SEARCH 1 2 3 4", out


def test_curl_fetches_message_1_byte_for_byte(inbox, curl):
    out = run_ok(curl, "INBOX;MAILINDEX=1")
    assert out == inbox[0].crlf()


def test_curl_fetches_by_uid_and_section(inbox, curl, client):
    client.command("EXAMINE INBOX")
    uid = client.command("FETCH 2 UID").fetches()[2]["UID"]
    out = run_ok(curl, "INBOX/;UID=%s" % uid)
    assert out == inbox[1].crlf()
    out = run_ok(curl, "INBOX/;UID=%s/;SECTION=TEXT" % uid)
    assert out == mbox.crlf(inbox[1].text())


def test_curl_upload_appends(fresh, curl, client, workdir, spool, user):
    spool.write(user, [])   # INBOX as the first delivery leaves it
    msg = (b"From: curl@example.org\r\nSubject: uploaded by curl\r\n\r\n"
           b"Sent with curl -T.\r\n")
    path = os.path.join(workdir, "upload.eml")
    with open(path, "wb") as f:
        f.write(msg)
    run_ok(curl, "INBOX", "-T", path)
    assert client.command("SELECT INBOX").numbered("EXISTS") == [1]
    assert client.command("FETCH 1 BODY.PEEK[]").fetches()[1]["BODY[]"] == msg


def test_curl_wrong_password_fails(fresh, curl, user):
    class Wrong:
        name = user.name
        password = "not-" + user.password
    r = curl("INBOX", who=Wrong)
    assert r.returncode == 67, (r.returncode, r.stderr)   # CURLE_LOGIN_DENIED
