# Delivery Status Notifications (RFC 3461) from the classic smtp_mail
# (c-client/smtp_dsn.c, classic/cl_smtp.c): tests/data/classic/smtpsend.c
# "dsn" opens with SOP_DSN|SOP_DSN_NOTIFY_SUCCESS, sets an envelope id and
# an ORCPT, and sends through a private Postfix (test_postfix.py's). Its /debug
# trace shows the MAIL and RCPT lines byte for byte, and Postfix's success
# notice reaches the sender carrying the envelope id. A listener told to
# hide DSN (smtpd_discard_ehlo_keywords) gets no DSN parameter at all.
import email
import email.policy
import glob
import os
import subprocess
import time

import pytest

from test_classic_abi import ASAN_LIBDIR, libasan
from test_classic_smtp import build
from test_postfix import postfix  # noqa: F401 (a fixture)
from test_smtp_client import smtpd_listener

HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE = os.path.join(HERE, "data/classic/smtpsend.c")
# a space, '+' and '=' must travel as xtext (RFC 3461 4)
ENVID = "classic dsn+1=ok"
ENVID_XTEXT = "classic+20dsn+2B1+3Dok"


@pytest.fixture(scope="module")
def program(tmp_path_factory):
    out = str(tmp_path_factory.mktemp("dsn") / "smtpsend")
    build(SOURCE, "ours", out)
    return out


def send(program, port, sender, rcpt):
    """smtpsend's "dsn" on our sanitizer library: (stdout, the MAIL and
    RCPT lines it sent, stderr)."""
    env = {"LD_LIBRARY_PATH": ASAN_LIBDIR, "LD_PRELOAD": libasan(), "DSN_ENVID": ENVID,
           "ASAN_OPTIONS": "detect_leaks=1:exitcode=99", "PATH": "/usr/bin:/bin"}
    r = subprocess.run([program, "127.0.0.1:%d" % port, sender, rcpt, "dsn"], env=env,
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=60)
    assert r.returncode in (0, 1), r.stderr
    sent = [line[len("trace: > "):] for line in r.stderr.splitlines()
            if line.startswith(("trace: > MAIL", "trace: > RCPT"))]
    return r.stdout, sent, r.stderr


def notice_in(user):
    """The delivery notice among the two messages (the one sent, and the
    notice about it) that come into user's ~/Maildir/new."""
    new = os.path.join(user.home, "Maildir", "new", "*")
    end = time.monotonic() + 30
    while time.monotonic() < end:
        got = glob.glob(new)
        if len(got) == 2:
            msgs = []
            for path in got:
                with open(path, "rb") as f:
                    msgs.append(email.message_from_binary_file(f, policy=email.policy.default))
            notices = [m for m in msgs if m.get_content_type() == "multipart/report"]
            assert len(notices) == 1, [m.get_content_type() for m in msgs]
            return notices[0]
        time.sleep(0.1)
    pytest.fail("no notice arrived in %s" % new)


def test_success_notice_reaches_the_sender_with_the_envid(program, postfix,  # noqa: F811
                                                          other_user, fresh):
    """other_user (delivered to ~/Maildir by Postfix itself) sends to
    itself: the message and the notice arrive side by side."""
    sender = rcpt = "%s@localhost" % other_user.name
    out, sent, err = send(program, postfix.port, sender, rcpt)
    assert out == "sent 250 dsn offered\n", err
    assert sent == ["MAIL FROM:<%s> RET=HDRS ENVID=%s" % (sender, ENVID_XTEXT),
                    "RCPT TO:<%s> NOTIFY=SUCCESS ORCPT=rfc822;%s" % (rcpt, rcpt)], err
    notice = notice_in(other_user)
    assert notice.get_param("report-type") == "delivery-status"
    parts = list(notice.iter_parts())
    status = parts[1].as_bytes().decode()
    assert "Original-Envelope-Id: %s\n" % ENVID in status, status
    assert "Original-Recipient: rfc822;%s\n" % rcpt in status, status
    assert "Action: delivered\n" in status, status
    # RET=HDRS: the headers come back, the body does not
    assert parts[2].get_content_type() == "text/rfc822-headers"
    returned = parts[2].get_payload()
    assert "Message-ID: <classic-smtp@example.org>" in returned
    assert "asking for a receipt" not in notice.as_string()


def test_no_dsn_parameters_to_a_server_without_dsn(program, postfix,  # noqa: F811
                                                   other_user, fresh):
    port = smtpd_listener(postfix, ["smtpd_discard_ehlo_keywords=dsn"])
    sender = rcpt = "%s@localhost" % other_user.name
    out, sent, err = send(program, port, sender, rcpt)
    assert out == "sent 250 no dsn\n", err
    assert sent == ["MAIL FROM:<%s>" % sender, "RCPT TO:<%s>" % rcpt], err
