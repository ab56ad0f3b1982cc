# The LIST family (issue 12): LIST-EXTENDED (RFC 5258), LIST-STATUS (RFC
# 5819), SPECIAL-USE and CREATE-SPECIAL-USE (RFC 6154), STATUS=SIZE (RFC
# 8438), CHILDREN. The RFCs' mailbox trees are built through CREATE and
# SUBSCRIBE in each format, and the answers are checked response for
# response; then Dovecot answers the same requests on the same Maildir.
import os
import sys

import pytest

from helpers import mailstore
from helpers.imapclient import Lit, quote

sys.path.insert(0, os.path.dirname(__file__))
from test_dovecot_maildir import DOVECOT_CONF, HomeServer, session  # noqa: E402

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "bench"))
from servers import DOVECOT, Account  # noqa: E402

MAIL_FORMATS = mailstore.FORMATS

NOTE = (b"From: Fred Foobar <foobar@example.com>\r\n"
        b"Subject: afternoon meeting\r\n"
        b"\r\n"
        b"Hello Joe, do you think we can meet at 3:30 tomorrow?\r\n")

# RFC 5258 section 5's tree: Fruit/Peach is subscribed but does not exist.
RFC5258_BOXES = ("Fruit/Apple", "Fruit/Banana", "Tofu", "Vegetable", "Vegetable/Broccoli",
                 "Vegetable/Corn")
RFC5258_SUBSCRIBED = ("Fruit/Banana", "Fruit/Peach", "Vegetable", "Vegetable/Broccoli")


def ok(r):
    assert r.ok, r
    return r


def lines(r, kind=b"LIST"):
    """The raw untagged responses of kind, in the order sent."""
    return [x for x in r.raw if x.startswith(b"* " + kind + b" ")]


def build(c, fmt, boxes=RFC5258_BOXES, subscribed=RFC5258_SUBSCRIBED):
    """The tree; in mbox a mailbox is a file, so Vegetable, which holds
    mailboxes, is a directory there."""
    for b in boxes:
        if fmt != "mbox" or b != "Vegetable":
            ok(c.command("CREATE %s" % quote(b)))
    for b in subscribed:
        ok(c.command("SUBSCRIBE %s" % quote(b)))


def parent(fmt):
    """Attributes of Fruit and Vegetable, which hold mailboxes: in mbox a
    directory, in Maildir++ Vegetable is a folder and Fruit is only the
    name of its children's parent."""
    return {"Fruit": b"\\Noselect \\HasChildren",
            "Vegetable": b"\\Noselect \\HasChildren" if fmt == "mbox" else b"\\HasChildren"}


# ---------------------------------------------------------------- capabilities

def test_capabilities_after_login(client):
    caps = ok(client.command("CAPABILITY")).named("CAPABILITY")[0]
    for cap in ("LIST-EXTENDED", "LIST-STATUS", "SPECIAL-USE", "CREATE-SPECIAL-USE",
                "STATUS=SIZE", "CHILDREN"):
        assert cap in caps, caps
