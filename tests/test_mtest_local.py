# mtest (issue 13) on local mailboxes, as the classic testbed was used
# before any network: an mbox file and a Maildir in the user's home, opened
# by name, listed, fetched, flagged and expunged, each answer exactly. What
# mtest changed is then read back from the files themselves.
import os
import re
import shutil

import pytest

from test_classic_abi import MBOX, MESSAGES, messages_of, put
from test_imap_client import mtest, pki, run_as  # noqa: F401 (fixtures)

DATES = ["01-Jan-2022 10:00:00 +0000", "02-Jan-2022 11:00:00 +0000",
         "03-Jan-2022 12:00:00 +0000"]


def mkdirs(user, rel):
    """rel under the user's home, each directory made theirs."""
    d = user.home
    for part in rel.split("/"):
        d = os.path.join(d, part)
        if not os.path.isdir(d):
            os.mkdir(d, 0o700)
            shutil.chown(d, user.uid, user.gid)


def maildir(user, name):
    """A Maildir of the three messages, delivered (new/) at the times of
    the mbox's From lines, so both formats show the same dates."""
    for sub in ("cur", "new", "tmp"):
        mkdirs(user, "%s/%s" % (name, sub))
    for i, (msg, when) in enumerate(zip(MESSAGES, (1641031200, 1641121200, 1641211200))):
        p = put(user, "%s/new/%d.M%dP1.host" % (name, when, i), msg)
        os.utime(p, (when, when))


# each format's flags of the three messages before mtest changes them (the
# mbox's Status/X-Status headers; Maildir's new/ is all recent) and after
# "set 2 \Deleted" and "set 3 \Flagged"
FLAGS = {"mbox": ("2 recent", [r"\Seen", r"\Flagged \Recent", r"\Recent"],
                  [r"\Seen", r"\Flagged \Deleted \Recent", r"\Flagged \Recent"]),
         "maildir": ("3 recent", [r"\Recent"] * 3,
                     [r"\Recent", r"\Deleted \Recent", r"\Flagged \Recent"])}
CRLF = [m.replace(b"\n", b"\r\n") for m in MESSAGES]
SUBJECTS = ["first", "spam offer", "third"]


def headers(flags, keep=(1, 2, 3)):
    """mtest's headers lines of the messages keep (by UID), numbered anew."""
    return "".join("%d uid %d (%s) %d octets %s subject: %s\n"
                   % (n, uid, flags[uid - 1], len(CRLF[uid - 1]), DATES[uid - 1],
                      SUBJECTS[uid - 1]) for n, uid in enumerate(keep, 1))


@pytest.mark.parametrize("fmt", ["mbox", "maildir"])
def test_open_list_fetch_flag_expunge(mtest, user, fresh, fmt):
    mkdirs(user, "mail")
    if fmt == "mbox":
        put(user, "mail/box", MBOX)
        name, listed = "mail/box", "mail/box"
    else:
        maildir(user, "mail/md")
        name, listed = "#driver.maildir/mail/md", "mail/md"
    r = mtest("open " + name, "headers", "fetch 2", "set 2 \\Deleted", "set 3 \\Flagged",
              "headers", "expunge", "headers", "list \"\" mail/*", "close")
    assert r.returncode == 0 and r.stderr == b"", r
    recent, flags, after = FLAGS[fmt]
    first, out = r.stdout.decode().split("\n", 1)
    assert re.fullmatch(r"%s: 3 messages, %s, uidvalidity \d+, uidnext 4" % (re.escape(name),
                                                                            recent), first)
    assert out == (headers(flags)
                   + "-- message 2, %d octets\n%s\n-- end\n" % (len(CRLF[1]), CRLF[1].decode())
                   + "2 (%s)\n3 (%s)\n" % (after[1], after[2])
                   + headers(after)
                   + "* expunged 2\nexpunge done, 2 messages\n"
                   + headers(after, keep=(1, 3))
                   + "list: %s \\Noinferiors\nclose done, 0 messages\n" % listed)
    # and the files say so: message 2 gone, 3 flagged
    if fmt == "mbox":
        with open(os.path.join(user.home, "mail/box"), "rb") as f:
            data = f.read()
        assert messages_of(os.path.join(user.home, "mail/box")) == [MESSAGES[0], MESSAGES[2]]
        third = data[data.index(b"Subject: third"):]
        assert re.search(rb"^X-Status: F *\n", third, re.M), data
    else:
        names = sorted(os.listdir(os.path.join(user.home, "mail/md/cur")))
        assert len(names) == 2 and os.listdir(os.path.join(user.home, "mail/md/new")) == []
        assert names[0].startswith("1641031200.") and names[1].startswith("1641211200.")
        assert names[1].endswith(":2,F") and names[0].endswith(":2,"), names
