# The SMTP/submission client (c-client/smtp_client.c) through mtest's
# "send": a private Postfix (test_postfix.py's) given a submission
# listener with STARTTLS required and SMTP AUTH checked by a private
# Dovecot (test_sasl_client.py's); the message arrives in the recipient's
# Maildir byte for byte below the headers Postfix adds.
import glob
import os
import re
import subprocess
import time

import pytest

from helpers import launch
from test_imap_client import mtest, pki, run_as  # noqa: F401 (fixtures)
from test_postfix import postfix  # noqa: F401 (a fixture)
from test_sasl_client import PASSWORD, dovecot_sasl  # noqa: F401 (a fixture)

MESSAGE = ("From: Sender <s@example.org>\nTo: you@localhost\nSubject: =?UTF-8?Q?caf=C3=A9?=\n"
           "Date: Sun, 6 Dec 2026 10:00:00 +0000\nMessage-ID: <smtp-1@example.org>\n"
           "MIME-Version: 1.0\nContent-Type: text/plain; charset=UTF-8\n"
           "Content-Transfer-Encoding: 8bit\n\n"
           ".a line that starts with a dot\n..and two\n.\nnot the end: café\n").encode()


def smtpd_listener(postfix, options, *entries):
    """One more smtpd for postfix on a free loopback port, with these -o
    options (and further master.cf entries), reloaded and listening: its
    port."""
    etc = os.path.join(postfix.dir, "etc")
    port = launch.free_port()
    subprocess.run(["postconf", "-c", etc, "-M", "127.0.0.1:%d/inet=127.0.0.1:%d inet n - n - - "
                    "smtpd %s" % (port, port, " ".join("-o " + o for o in options))],
                   check=True, timeout=30)
    for e in entries:
        subprocess.run(["postconf", "-c", etc, "-M", e], check=True, timeout=30)
    subprocess.run(["postfix", "-c", etc, "reload"], check=True, capture_output=True,
                   timeout=30)
    for _ in range(100):
        if launch.listening(port):
            break
        time.sleep(0.1)
    return port


@pytest.fixture
def submission(postfix, dovecot_sasl, pki, workdir):  # noqa: F811
    """Postfix's submission port: STARTTLS required, AUTH by Dovecot."""
    etc = os.path.join(postfix.dir, "etc")
    pem = os.path.join(postfix.dir, "etc", "smtpd.pem")
    with open(pem, "wb") as f:
        f.write(pki["good_pem"])
    os.chmod(pem, 0o600)
    subprocess.run(["postconf", "-c", etc, "-e", "smtpd_tls_chain_files=%s" % pem,
                    "smtpd_sasl_type=dovecot", "smtpd_sasl_path=%s" % dovecot_sasl.auth_socket],
                   check=True, timeout=30)
    # TLS needs Postfix's tlsmgr (its random source), absent from the base one
    port = smtpd_listener(postfix, ["smtpd_tls_security_level=encrypt",
                                    "smtpd_sasl_auth_enable=yes", "smtpd_tls_auth_only=yes",
                                    "smtpd_client_restrictions=permit_sasl_authenticated,reject"],
                          "tlsmgr/unix=tlsmgr unix - - n 1000? 1 tlsmgr")
    postfix.submission = port
    return postfix


def send(mtest, user, port, who, password, *to):
    path = os.path.join(user.home, "msg.eml")
    with open(path, "wb") as f:
        f.write(MESSAGE)
    os.chown(path, user.uid, user.gid)
    name = "localhost:%d/submit/user=%s" % (port, who)
    r = mtest("send %s s@example.org %s %s" % (name, path, " ".join(to)), password=password)
    return name, r.stdout.decode(), r.stderr.decode()


def test_submission_with_starttls_and_scram(mtest, submission, dovecot_sasl, user, other_user,
                                            fresh):
    name, out, err = send(mtest, user, submission.submission, dovecot_sasl.names["scram"],
                          PASSWORD, "%s@localhost" % other_user.name)
    assert out == "sent to 1 recipients\n", (out, err, submission.log()[-2000:])
    log = submission.wait_log(r"to=<%s@localhost>, relay=local, .*status=sent" % other_user.name)
    assert re.search(r"sasl_method=SCRAM-SHA-256, sasl_username=%s"
                     % dovecot_sasl.names["scram"], log), log
    got = glob.glob(os.path.join(other_user.home, "Maildir", "new", "*"))
    assert len(got) == 1, (sorted(os.listdir(other_user.home)), log[-1500:])
    with open(got[0], "rb") as f:
        data = f.read()
    head, sep, rest = data.partition(MESSAGE[:MESSAGE.index(b"\n") + 1])
    assert rest and sep + rest == MESSAGE, data
    added = re.findall(rb"(?m)^([A-Za-z-]+):", head)
    assert added == [b"Return-Path", b"X-Original-To", b"Delivered-To", b"Received"], head
    assert b"(Postfix) with ESMTPSA id" in head


def test_submission_wrong_password(mtest, submission, dovecot_sasl, user, other_user, fresh):
    name, out, err = send(mtest, user, submission.submission, dovecot_sasl.names["scram"],
                          PASSWORD + "x", "%s@localhost" % other_user.name)
    assert out == ("NO %s: localhost refused AUTH: 535 5.7.8 Error: authentication failed: "
                   "(reason unavailable)\n" % name), err
