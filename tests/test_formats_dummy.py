# Issue 11's dummy driver: a file in no mailbox format we know is neither
# offered as a mailbox nor called corrupt (RFC 5530's CORRUPTION is for
# damaged data), and nothing the client asks of it changes it.
import os

NOTES = b"Shopping: eggs, bread.\nNot mail at all.\n"


def test_a_plain_text_file_is_not_a_mailbox_and_not_corrupt(fresh, connect, user):
    """LIST leaves ~/notes out; SELECT, EXAMINE, STATUS and DELETE answer
    NO saying it is in no format we know, with no [CORRUPTION] code; the
    file keeps its bytes."""
    p = os.path.join(user.home, "notes")
    with open(p, "wb") as f:
        f.write(NOTES)
    os.chown(p, user.uid, user.gid)
    c = connect()
    r = c.command('LIST "" "*"')
    assert r.ok and b"notes" not in b"\n".join(r.raw), r.raw
    for cmd in ("SELECT notes", "EXAMINE notes", "STATUS notes (MESSAGES)", "DELETE notes"):
        r = c.command(cmd)
        assert r.status == "NO" and r.code is None, (cmd, r)
        assert "notes is not a mailbox in a format we know" in r.text, (cmd, r)
    with open(p, "rb") as f:
        assert f.read() == NOTES
