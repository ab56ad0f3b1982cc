# The classic sending calls (smtp_open_full, smtp_mail, smtp_close:
# c-client/classic/cl_smtp.c) as a program written for c-client 2007 uses
# them: tests/data/classic/smtpsend.c, built against our classic headers
# and run on our library, and built against Debian's libc-client for
# comparison, sends through Postfix's submission port (STARTTLS required,
# AUTH by Dovecot: test_smtp_client.py's fixture); what arrives is read
# back and its parts decoded.
import email
import email.policy
import glob
import os
import re
import subprocess
import tempfile
import time

import pytest

from test_classic_abi import ASAN_LIBDIR, LIBDIR, libasan
from test_imap_client import pki  # noqa: F401 (a fixture)
from test_postfix import postfix  # noqa: F401 (a fixture)
from test_sasl_client import PASSWORD, dovecot_sasl  # noqa: F401 (a fixture)
from test_smtp_client import submission  # noqa: F401 (a fixture)

HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE = os.path.join(HERE, "data/classic/smtpsend.c")
ATTACHMENT = bytes(range(256)) * 2


FLAGS = {"ours": ["-I%s" % os.path.join(os.path.dirname(HERE), "c-client"),
                  "-L%s" % LIBDIR, "-l:libc-client.so.1"],
         "debian": ["-I/usr/include/c-client", "-lc-client"]}


def build(source, lib, out):
    subprocess.run(["cc", "-Wall", "-Werror", "-Wno-unused-parameter", "-o", out, source]
                   + FLAGS[lib], check=True, timeout=120)


def test_sendstream_layout_is_debian_s(tmp_path):
    """The stream programs read reply and replycode from, field for field."""
    source = os.path.join(HERE, "data/classic/sendstream.c")
    out = {}
    for lib in ("ours", "debian"):
        build(source, lib, str(tmp_path / lib))
        out[lib] = subprocess.run([str(tmp_path / lib)], stdout=subprocess.PIPE, text=True,
                                  env={"LD_LIBRARY_PATH": LIBDIR} if lib == "ours" else {},
                                  check=True).stdout
    assert out["ours"] == out["debian"]
    assert out["ours"].startswith("SENDSTREAM 136: host 8 reply 16 replycode 24 protocol 40 ")


@pytest.fixture(scope="module")
def programs():
    """smtpsend built on our headers (linked to our library) and on
    Debian's, where the test users can run them."""
    for d in (LIBDIR, ASAN_LIBDIR):
        assert os.path.exists(os.path.join(d, "libc-client.so.1")), \
            "%s: `make shared shared-asan` builds it" % d
    d = tempfile.mkdtemp(prefix="classic-smtp-")
    os.chmod(d, 0o755)
    out = {}
    for lib in FLAGS:
        out[lib] = os.path.join(d, "smtpsend-" + lib)
        build(SOURCE, lib, out[lib])
    yield out
    for p in out.values():
        os.unlink(p)
    os.rmdir(d)


def send(programs, lib, user, port, login, to, kind, cafile):
    """smtpsend as user: its output and mm_log lines. Ours runs under the
    sanitizers, with the test CA."""
    env = {"PATH": "/usr/bin:/bin", "HOME": user.home, "USER": user.name,
           "SMTP_PASSWORD": PASSWORD}
    if lib == "ours":
        env.update(LD_LIBRARY_PATH=ASAN_LIBDIR, LD_PRELOAD=libasan(), MAIL_CAFILE=cafile,
                   ASAN_OPTIONS="detect_leaks=1:exitcode=99")
    host = "localhost:%d/user=%s" % (port, login)
    if lib == "debian":
        # its STARTTLS is TLS 1.0 unless told; it cannot be shown the test CA
        host += "/tls-sslv23/novalidate-cert"
    r = subprocess.run(["setpriv", "--reuid=%d" % user.uid, "--regid=%d" % user.gid,
                        "--init-groups", programs[lib], host, "%s@localhost" % user.name,
                        to, kind], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       timeout=60, cwd=user.home, env=env)
    assert r.returncode in (0, 1), (lib, kind, r.returncode, r.stderr.decode())
    return r.stdout.decode(), r.stderr.decode()


def arrived(user, before):
    """The one message that came into user's ~/Maildir/new after before."""
    new = os.path.join(user.home, "Maildir", "new", "*")
    end = time.monotonic() + 30
    while time.monotonic() < end:
        got = sorted(set(glob.glob(new)) - before)
        if got:
            assert len(got) == 1, got
            with open(got[0], "rb") as f:
                return got[0], email.message_from_binary_file(f, policy=email.policy.default)
        time.sleep(0.1)
    pytest.fail("nothing arrived in %s" % new)


def what_arrived(msg):
    """The fields the program set and every part: type, encoding, file name
    and the decoded bytes."""
    fields = [(k, msg[k]) for k in ("From", "To", "Subject", "Date", "Message-ID")]
    parts = [(p.get_content_type(), p["Content-Transfer-Encoding"], p.get_filename(),
              p.get_payload(decode=True)) for p in msg.walk() if not p.is_multipart()]
    return fields, parts


def test_text_and_multipart_arrive_as_from_debian_library(programs, submission, dovecot_sasl,
                                                          pki, user, other_user, fresh):
    to = "%s@localhost" % other_user.name
    got = {}
    seen = set()
    for lib in ("ours", "debian"):
        for kind in ("text", "multipart"):
            out, err = send(programs, lib, user, submission.submission,
                            dovecot_sasl.names["plain"], to, kind, pki["ca"])
            assert re.fullmatch(r"sent 250 250 2\.0\.0 Ok: queued as [0-9A-F]+\n", out), \
                (lib, kind, out, err)
            path, msg = arrived(other_user, seen)
            seen.add(path)
            got[lib, kind] = what_arrived(msg)
    fields = [("From", "%s@localhost" % user.name), ("To", to), ("Subject", "text"),
              ("Date", "Sun, 06 Dec 2026 10:00:00 +0000"),
              ("Message-ID", "<classic-smtp@example.org>")]
    # 8-bit text went out quoted-printable, the binary attachment base64
    assert got["ours", "text"] == (fields, [("text/plain", "QUOTED-PRINTABLE", None,
                                             "caf\u00e9\n.a line with a dot\n\n".encode())])
    fields[2] = ("Subject", "multipart")
    assert got["ours", "multipart"] == (fields, [
        ("text/plain", "QUOTED-PRINTABLE", None, b"The attachment follows.\n"),
        ("application/octet-stream", "BASE64", "bytes.bin", ATTACHMENT)])
    for kind in ("text", "multipart"):
        assert got["debian", kind] == got["ours", kind], kind


def test_a_refused_recipient_reaches_mm_log_and_the_reply(programs, submission, dovecot_sasl,
                                                          pki, user, fresh):
    """The server's refusal is the stream's reply and an mm_log error.
    UW's library logged nothing and left RSET's code with a reply of its
    own: the difference is on purpose (docs/classic-api.md)."""
    refusal = ("550 5.1.1 <nosuchuser@localhost>: Recipient address rejected: "
               "User unknown in local recipient table")
    got = {}
    for lib in ("ours", "debian"):
        got[lib] = send(programs, lib, user, submission.submission,
                        dovecot_sasl.names["plain"], "nosuchuser@localhost", "text", pki["ca"])
    assert got["ours"] == ("failed 550 %s\n" % refusal,
                           "error: localhost refused RCPT TO: %s\n" % refusal)
    assert got["debian"][0].startswith("failed 250 554 "), got["debian"]
