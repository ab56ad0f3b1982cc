# COPY between two mailboxes of one format through that format's own fast
# path (mix and mbx copy their stored bytes; issue 11): what the client
# sees (COPYUID, flags, keywords, dates, bytes), and a full disk, which
# must answer NO and leave the target as it was.
import pytest

from helpers.imapclient import Lit
from test_security_formats import tree
from test_silent_failures import tmpfs_home  # noqa: F401 (a fixture)

MSG1 = b"From: a@example.com\r\nSubject: one\r\n\r\nHello there.\r\n"
# bigger than a page: a full tmpfs has no room for it in any file's last page
MSG2 = b"From: b@example.com\r\nSubject: two\r\n\r\n" + (b"x" * 70 + b"\r\n") * 120
WANT = "(UID FLAGS INTERNALDATE BODY.PEEK[])"


# The UIDs the copies get after one COPY failed: mbx takes them in its
# header before it writes a byte of the messages (so a crash can leave
# unused UIDs, never messages above the header's last one); mix takes them
# after the data, so a COPY that could not write took none.
NEXT_UIDS = {"mix": "2:3", "mbx": "4:5"}
MBX_HEADER = 2048


def messages_part(snapshot, fmt):
    """A tree() with mbx's header left out of dest: only its UID counter
    and keyword names may change (see NEXT_UIDS)."""
    if fmt != "mbx":
        return snapshot
    data, *rest = snapshot["dest"]
    return dict(snapshot, dest=(data[MBX_HEADER:], *rest))


def fetched(c, seqs):
    """{uid-less view}: flags (without \\Recent), date and bytes, in order."""
    f = c.command("FETCH %s %s" % (seqs, WANT)).fetches()
    return [(sorted(set(v["FLAGS"]) - {"\\Recent"}), v["INTERNALDATE"], v["BODY[]"])
            for _, v in sorted(f.items())]


@pytest.mark.parametrize("fmt", ["mix", "mbx"])
def test_copy_within_a_format_full_disk_then_copyuid(tmpfs_home, connect, user, fmt):
    """On a full disk COPY answers NO naming it (mbx named ENOENT, a stale
    errno, before), and neither mailbox changes a message byte; once there
    is room the same COPY answers COPYUID, and the copies have the
    originals' flags, keyword, internal dates and bytes."""
    c = connect()
    for box in ("src", "dest"):
        assert c.command("CREATE #driver.%s/%s" % (fmt, box)).ok
    assert c.command('APPEND src (\\Seen $Work) "01-Feb-2024 10:20:30 +0130" ', Lit(MSG1)).ok
    assert c.command("APPEND src (\\Flagged) ", Lit(MSG2)).ok
    assert c.command("APPEND dest ", Lit(MSG1)).ok
    r = c.command("SELECT src")
    assert r.ok, r
    want = fetched(c, "1:2")
    before = tree(user.home)
    tmpfs_home.fill()
    filled = tree(user.home)
    r = c.command("COPY 1:* dest")
    assert r.status == "NO" and "No space left on device" in r.text, r
    assert messages_part(tree(user.home), fmt) == messages_part(filled, fmt)
    tmpfs_home.free()
    assert messages_part(tree(user.home), fmt) == messages_part(before, fmt)
    r = c.command("COPY 1:* dest")
    assert r.ok and r.codes()["COPYUID"].split()[1:] == ["1:2", NEXT_UIDS[fmt]], r
    assert c.command("SELECT dest").ok
    assert fetched(c, "2:3") == want     # sequence numbers: the UIDs may have gaps
