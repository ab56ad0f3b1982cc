# Real mail clients against the daemon over implicit TLS: mutt reads the
# INBOX (driven through a pseudo-terminal, copying every message to a local
# mbox), and mbsync syncs a mailbox tree both ways: after the second sync
# the messages, flags and folders on the server equal the local Maildir copy.
import fcntl
import imaplib
import os
import pty
import re
import select
import shutil
import ssl
import struct
import subprocess
import termios
import time

import pytest

from helpers import mailstore

# both tests run on an mbox spool INBOX and on a Maildir INBOX
MAIL_FORMATS = mailstore.FORMATS
HOST = "127.0.0.1"
REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


# ---------------------------------------------------------------- fixtures

@pytest.fixture(scope="session")
def client_ssl(workdir):
    """A certificate from src/mkcert.sh (CN = this host, SAN 127.0.0.1) and
    its certificate part alone, which the clients are told to trust."""
    d = os.path.join(workdir, "clients-ssl")
    r = subprocess.run(["sh", os.path.join(REPO, "src", "mkcert.sh"), d, "imapd"],
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=120)
    assert r.returncode == 0, r.stdout
    with open(os.path.join(d, "certs", "imapd.pem"), "rb") as f:
        pem = f.read()
    cert = re.search(rb"-----BEGIN CERTIFICATE-----.*?-----END CERTIFICATE-----\n",
                     pem, re.S).group(0)
    trust = os.path.join(workdir, "clients-trust.pem")
    with open(trust, "wb") as f:
        f.write(cert)
    return d, trust


@pytest.fixture(scope="session")
def clients_config(workdir, spool, pam_service, client_ssl):
    """Production policy: passwords only over TLS."""
    p = os.path.join(workdir, "imapd-clients.conf")
    with open(p, "w") as f:
        f.write("spool_dir = %s\npam_service = %s\nssl_dir = %s\n"
                "allow_plaintext = no\n" % (spool.dir, pam_service, client_ssl[0]))
    os.chmod(p, 0o644)
    return p


@pytest.fixture(scope="session")
def imaps_server(launch_daemon, imapd, clients_config):
    return launch_daemon(argv=[imapd, "--tls", "--config", clients_config])


def need(tool, package):
    if not shutil.which(tool):
        pytest.fail("%s is not installed (apt-get install %s)" % (tool, package))


def imaps(server, user):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    m = imaplib.IMAP4_SSL(server.host, server.port, ssl_context=ctx, timeout=20)
    assert m.login(user.name, user.password)[0] == "OK"
    return m


def lf(data):
    return data.replace(b"\r\n", b"\n")


def message_ids(data):
    return re.findall(rb"(?mi)^Message-ID:\s*(<[^>]*>)", data)


# ---------------------------------------------------------------- mutt

def run_in_pty(argv, env, cwd, timeout=60):
    """Run a full-screen program on a pseudo-terminal (80x24) until it
    exits; returns (status, screen bytes)."""
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 80, 0, 0))
    p = subprocess.Popen(argv, stdin=slave, stdout=slave, stderr=slave, env=env,
                         cwd=cwd, start_new_session=True)
    os.close(slave)
    out = b""
    end = time.monotonic() + timeout
    try:
        while time.monotonic() < end:
            r, _, _ = select.select([master], [], [], 0.2)
            if r:
                try:
                    chunk = os.read(master, 65536)
                except OSError:
                    chunk = b""
                if not chunk and p.poll() is not None:
                    break
                out += chunk
            elif p.poll() is not None:
                break
        else:
            p.kill()
    finally:
        os.close(master)
        p.wait(10)
    return p.returncode, out


def test_mutt_reads_the_inbox_over_imaps(imaps_server, client_ssl, inbox, user,
                                         tmp_path):
    need("mutt", "mutt")
    home = tmp_path / "home"
    home.mkdir()
    (home / "Mail").mkdir()     # else mutt first asks whether to create it
    out_box = tmp_path / "copied.mbox"
    rc = tmp_path / "muttrc"
    rc.write_text("""\
set imap_user = "%(user)s"
set imap_pass = "%(pw)s"
set certificate_file = "%(trust)s"
set ssl_verify_host = no
set ssl_force_tls = yes
set header_cache = ""
set message_cachedir = ""
set mbox_type = mbox
set confirmcreate = no
set confirmappend = no
set quit = yes
set move = no
set wait_key = no
set mail_check = 0
set timeout = 0
set sort = mailbox-order
set pipe_decode = no
set pipe_split = no
""" % {"user": user.name, "pw": user.password, "trust": client_ssl[1]})
    url = "imaps://%s@%s:%d/INBOX" % (user.name, HOST, imaps_server.port)
    # the index lists every message; message 1 is piped to a file (one
    # prompt only, so no stray key can land in the index)
    keys = "<pipe-message>cat > %s<enter><quit>" % out_box
    env = {"PATH": "/usr/bin:/bin", "HOME": str(home), "TERM": "xterm",
           "LANG": "C.UTF-8"}
    status, screen = run_in_pty(["mutt", "-n", "-F", str(rc), "-f", url,
                                 "-e", "push '%s'" % keys], env, str(home))
    assert status == 0, screen.decode("utf-8", "replace")
    assert out_box.exists(), screen.decode("utf-8", "replace")
    assert b"Copying" in screen or b"copied" in screen or out_box.stat().st_size
    text = screen.decode("utf-8", "replace")
    for e in inbox:
        subject = re.search(rb"(?m)^Subject: (.*)$", e.data).group(1).decode()
        if subject.isascii() and "=?" not in subject:   # mutt shows it decoded
            assert subject[:30] in text, (subject, text)
    assert "Msgs:%d" % len(inbox) in text, text
    assert lf(out_box.read_bytes()).rstrip(b"\n") == inbox[0].data.rstrip(b"\n")
    # mutt only read: the server's INBOX is unchanged and nothing is \Seen
    m = imaps(imaps_server, user)
    try:
        typ, data = m.select("INBOX", readonly=True)
        assert int(data[0]) == len(inbox)
        typ, data = m.search(None, "SEEN")
        assert data == [b""], data
    finally:
        m.logout()


# ---------------------------------------------------------------- mbsync

MAILDIR_FLAGS = {"D": "\\Draft", "F": "\\Flagged", "R": "\\Answered",
                 "S": "\\Seen", "T": "\\Deleted"}


def mbsyncrc(path, server, user, trust, local):
    """isync checks the certificate's DNS names only (not its IP address
    names), so the server is reached as localhost, which mkcert.sh's
    certificate names."""
    with open(path, "w") as f:
        f.write("""\
IMAPAccount test
Host localhost
Port %(port)d
User %(user)s
Pass %(pw)s
SSLType IMAPS
CertificateFile %(trust)s
AuthMechs LOGIN

IMAPStore remote
Account test

MaildirStore local
Path %(local)s/
Inbox %(local)s/INBOX
SubFolders Verbatim

Channel all
Far :remote:
Near :local:
Patterns *
Create Both
Remove None
Expunge None
SyncState *
""" % {"port": server.port, "user": user.name,
           "pw": user.password, "trust": trust, "local": local})


def mbsync(rc, *args):
    r = subprocess.run(["mbsync", "-c", rc] + list(args) + ["all"],
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=120)
    assert r.returncode == 0, r.stdout.decode("utf-8", "replace")
    return r


def no_tuid(data):
    """mbsync writes an X-TUID header into each message it copies (its own
    bookkeeping, on both sides); the rest must be byte-identical."""
    return re.sub(rb"(?m)^X-TUID: [^\n]*\n", b"", data, count=1)


def local_state(root):
    """{folder: sorted [(message bytes LF, flags)]} of a Maildir tree."""
    out = {}
    for dirpath, dirs, files in os.walk(root):
        if not {"cur", "new", "tmp"} <= set(dirs):
            continue
        name = os.path.relpath(dirpath, root)
        msgs = []
        for sub in ("cur", "new"):
            for fn in os.listdir(os.path.join(dirpath, sub)):
                flags = fn.split(":2,", 1)[1] if ":2," in fn else ""
                with open(os.path.join(dirpath, sub, fn), "rb") as f:
                    data = no_tuid(lf(f.read()))
                msgs.append((data, tuple(sorted(MAILDIR_FLAGS[c] for c in flags
                                                if c in MAILDIR_FLAGS))))
        out[name] = sorted(msgs)
    return out


def server_state(m):
    """The same view of every mailbox on the server."""
    typ, listing = m.list()
    assert typ == "OK", listing
    out = {}
    for line in listing:
        name = re.search(rb'"[^"]*" (.*)$', line).group(1).strip(b'"').decode()
        if b"\\Noselect" in line:
            continue
        typ, data = m.select('"%s"' % name, readonly=True)
        assert typ == "OK", (name, data)
        msgs = []
        if int(data[0]):
            typ, data = m.fetch("1:*", "(FLAGS BODY.PEEK[])")
            for part in data:
                if not isinstance(part, tuple):
                    continue
                flags = tuple(sorted(f.decode() for f in imaplib.ParseFlags(part[0])
                                     if f != b"\\Recent"))
                msgs.append((no_tuid(lf(part[1])), flags))
        out[name] = sorted(msgs)
    return out


def maildir_add(folder, name, data, flags=""):
    for sub in ("cur", "new", "tmp"):
        os.makedirs(os.path.join(folder, sub), exist_ok=True)
    where = "cur" if flags else "new"
    fn = name + (":2," + flags if flags else "")
    with open(os.path.join(folder, where, fn), "wb") as f:
        f.write(data)


def new_message(subject, body):
    return ("From: Local Writer <local@example.org>\nTo: someone@example.org\n"
            "Subject: %s\nDate: Thu, 19 Nov 2026 12:00:00 +0000\n"
            "Message-ID: <%s@local.example>\n\n%s\n" % (
                subject, subject.replace(" ", "-"), body)).encode()


def test_mbsync_round_trip(imaps_server, client_ssl, inbox, user, tmp_path):
    need("mbsync", "isync")
    m = imaps(imaps_server, user)
    try:
        assert m.create("Archive")[0] == "OK"
        archived = new_message("kept on the server", "archived body")
        typ, _ = m.append("Archive", "(\\Seen)", None, archived.replace(b"\n", b"\r\n"))
        assert typ == "OK"
    finally:
        m.logout()

    local = tmp_path / "Mail"
    local.mkdir()
    rc = str(tmp_path / "mbsyncrc")
    mbsyncrc(rc, imaps_server, user, client_ssl[1], str(local))

    # 1. server -> local: everything arrives, bytes and flags intact
    mbsync(rc, "-V")
    got = local_state(str(local))
    assert set(got) == {"INBOX", "Archive"}, got.keys()
    assert sorted(d for d, _ in got["INBOX"]) == sorted(e.data for e in inbox)
    assert got["Archive"] == [(archived, ("\\Seen",))]

    # 2. local changes: flags on two messages, one new message in INBOX,
    #    a new folder with a message, then local -> server
    cur = local / "INBOX" / "cur"
    new = local / "INBOX" / "new"
    files = sorted(os.listdir(new)) + sorted(os.listdir(cur))
    changed = {}
    for fn, flags in zip(files[:2], ("FS", "RS")):
        src = (new if (new / fn).exists() else cur) / fn
        changed[no_tuid(lf(src.read_bytes()))] = flags
        os.rename(src, cur / ("%s:2,%s" % (fn.split(":2,", 1)[0], flags)))
    added = new_message("written offline", "a message made in the local copy")
    maildir_add(str(local / "INBOX"), "1700000000.local1.host", added)
    made = new_message("in a new folder", "this folder was made locally")
    maildir_add(str(local / "Projects"), "1700000000.local2.host", made, "S")
    mbsync(rc, "-V")

    # 3. the server now equals the local copy, seen over IMAP
    m = imaps(imaps_server, user)
    try:
        on_server = server_state(m)
    finally:
        m.logout()
    here = local_state(str(local))
    assert set(on_server) == set(here) == {"INBOX", "Archive", "Projects"}, \
        (on_server.keys(), here.keys())
    assert on_server == here
    assert (added, ()) in on_server["INBOX"]
    assert (made, ("\\Seen",)) in on_server["Projects"]
    flagged = [f for d, f in on_server["INBOX"] if d in changed]
    assert sorted(flagged) == [("\\Answered", "\\Seen"), ("\\Flagged", "\\Seen")]

    # 4. a change on the server comes back down; a sync with nothing to do
    #    leaves both sides equal
    m = imaps(imaps_server, user)
    try:
        m.select("INBOX")
        assert m.store("1", "+FLAGS", "(\\Draft)")[0] == "OK"
    finally:
        m.logout()
    mbsync(rc, "-V")
    mbsync(rc)
    m = imaps(imaps_server, user)
    try:
        assert server_state(m) == local_state(str(local))
    finally:
        m.logout()
