# Postfix delivers through tmail (issue 11): a private Postfix instance (its
# own configuration, queue and data directories, smtpd on a free loopback
# port, nothing shared with a system Postfix) that runs our tmail for one
# test user (mailbox_command_maps) and delivers itself to ~/Maildir/ for
# the other (home_mailbox = Maildir/); mail sent with smtplib is then read
# through imapd.
import os
import re
import shutil
import smtplib
import socket
import subprocess
import time

import pytest

from helpers import mbox
from test_tmail import config_with, from_lines, messages, tool

MASTER_CF = """\
127.0.0.1:{port} inet n - n - - smtpd
pickup     unix  n - n 60 1 pickup
cleanup    unix  n - n -  0 cleanup
qmgr       unix  n - n 300 1 qmgr
rewrite    unix  - - n -  - trivial-rewrite
bounce     unix  - - n -  0 bounce
defer      unix  - - n -  0 bounce
trace      unix  - - n -  0 bounce
verify     unix  - - n -  1 verify
flush      unix  n - n 1000? 0 flush
proxymap   unix  - - n -  - proxymap
proxywrite unix  - - n -  1 proxymap
smtp       unix  - - n -  - smtp
relay      unix  - - n -  - smtp
showq      unix  n - n -  - showq
error      unix  - - n -  - error
retry      unix  - - n -  - error
discard    unix  - - n -  - discard
local      unix  - n n -  - local
anvil      unix  - - n -  1 anvil
scache     unix  - - n -  1 scache
postlog    unix-dgram n - n - 1 postlogd
"""

MAIN_CF = """\
compatibility_level = 3.6
queue_directory = {d}/queue
data_directory = {d}/data
command_directory = /usr/sbin
daemon_directory = /usr/lib/postfix/sbin
meta_directory = /etc/postfix
shlib_directory = /usr/lib/postfix
mail_owner = postfix
setgid_group = postdrop
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
myhostname = localhost.localdomain
mydestination = localhost
mynetworks = 127.0.0.0/8
alias_maps =
alias_database =
biff = no
maillog_file_prefixes = {d}
maillog_file = {d}/maillog
import_environment = MAIL_CONFIG MAIL_DEBUG MAIL_LOGTAG TZ LANG=C {san}
export_environment = TZ MAIL_CONFIG LANG {san_names}
mailbox_command_maps = texthash:{d}/etc/commands
home_mailbox = Maildir/
"""

# The first test user's mail goes through tmail; the second has no entry,
# so Postfix's local writes it to ~/Maildir/ itself.
COMMANDS = """{user} {tmail} -c {config} -f "$SENDER" "$USER"
"""


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def gone(pid):
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().split(") ", 1)[1].startswith("Z")
    except FileNotFoundError:
        return True


@pytest.fixture
def postfix(imapd, workdir, san_env, users):
    """A private Postfix; stopped (and its master waited for) afterwards,
    whatever the test did."""
    if not shutil.which("postfix"):
        pytest.fail("postfix is not installed (src/deps.sh check installs it)")
    d = os.path.join(workdir, "postfix")
    for sub in ("etc", "queue", "data"):
        os.makedirs(os.path.join(d, sub), exist_ok=True)
    shutil.chown(os.path.join(d, "data"), "postfix")
    port = free_port()
    san = " ".join("%s=%s" % kv for kv in sorted(san_env.items()))
    with open(os.path.join(d, "etc", "main.cf"), "w") as f:
        f.write(MAIN_CF.format(d=d, san=san, san_names=" ".join(sorted(san_env))))
    with open(os.path.join(d, "etc", "commands"), "w") as f:
        f.write(COMMANDS.format(user=users[0].name, tmail=tool("TMAIL", "tmail"),
                                config=config_with(workdir, "lock_timeout = 2")))
    with open(os.path.join(d, "etc", "master.cf"), "w") as f:
        f.write(MASTER_CF.format(port=port))
    etc = os.path.join(d, "etc")
    r = subprocess.run(["postfix", "-c", etc, "start"], capture_output=True, timeout=60)
    log = os.path.join(d, "maillog")
    pidfile = os.path.join(d, "queue", "pid", "master.pid")
    # the directory (and its log) outlive the test: only what this
    # instance logs counts, or a wait matches an earlier test's delivery
    start = os.path.getsize(log) if os.path.exists(log) else 0

    class Instance:
        host, dir = "127.0.0.1", d

        def __init__(self):
            self.port = port

        @staticmethod
        def log():
            with open(log, "rb") as f:
                f.seek(start)
                return f.read().decode(errors="replace")

        def wait_log(self, pattern, timeout=30):
            end = time.monotonic() + timeout
            while time.monotonic() < end:
                if os.path.exists(log) and re.search(pattern, self.log()):
                    return self.log()
                time.sleep(0.1)
            pytest.fail("no Postfix log line matching %r:\n%s"
                        % (pattern, self.log() if os.path.exists(log) else "(no log)"))
    try:
        assert r.returncode == 0, r.stderr
        yield Instance()
    finally:
        pid = None
        if os.path.exists(pidfile):
            with open(pidfile) as f:
                pid = int(f.read().split()[0])
        subprocess.run(["postfix", "-c", etc, "stop"], capture_output=True, timeout=60)
        end = time.monotonic() + 30
        while pid and not gone(pid) and time.monotonic() < end:
            time.sleep(0.1)
        if pid and not gone(pid):
            subprocess.run(["postfix", "-c", etc, "abort"], capture_output=True, timeout=60)


def test_postfix_delivers_through_tmail_and_imapd_serves_it(postfix, fresh, user, spool,
                                                            connect):
    """Postfix runs mailbox_command as the recipient: the spool file exists
    (a user cannot create one in Debian's 2775 root:mail spool). The
    message reaches INBOX once, with Postfix's Return-Path and the
    envelope sender on the From line, its body byte for byte."""
    spool.write(user, [])
    body = b"Hello through Postfix.\nFrom the start of a line.\n\nBye.\n"
    msg = (b"From: Sender <sender@example.org>\nTo: %s@localhost\n"
           b"Subject: via postfix\nMessage-ID: <postfix-1@example.org>\n\n" % user.name.encode()
           + body)
    with smtplib.SMTP(postfix.host, postfix.port, timeout=30) as s:
        s.sendmail("sender@example.org", ["%s@localhost" % user.name], msg)
    postfix.wait_log(r"to=<%s@localhost>, relay=local, .*status=sent \(delivered to command"
                     % user.name)
    got = list(messages(connect()).values())
    assert len(got) == 1
    head, _, text = got[0][1].partition(b"\r\n\r\n")
    assert text == mbox.crlf(body)
    assert head.startswith(b"Return-Path: <sender@example.org>\r\n")
    assert head.count(b"Return-Path:") == 1
    assert b"\r\nDelivered-To: %s@localhost\r\n" % user.name.encode() in head
    assert b"\r\nMessage-ID: <postfix-1@example.org>" in head
    assert from_lines(spool.read(user)) == [b"MAILER-DAEMON", b"sender@example.org"]

def test_postfix_defers_while_the_mailbox_is_locked(postfix, fresh, user, spool):
    """tmail's 75 is a deferral for Postfix: the message stays queued (not
    bounced) while the mailbox is locked (lock_timeout = 2 for tmail), and
    nothing is stored."""
    spool.write(user, [])
    lock = spool.path(user) + ".lock"
    fd = os.open(lock, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    os.write(fd, b"%d\n" % os.getpid())
    os.close(fd)
    try:
        with smtplib.SMTP(postfix.host, postfix.port, timeout=30) as s:
            s.sendmail("sender@example.org", ["%s@localhost" % user.name],
                       b"Subject: locked\n\nwait\n")
        postfix.wait_log(r"to=<%s@localhost>, relay=local, .*status=deferred" % user.name,
                         timeout=120)
    finally:
        os.unlink(lock)
    assert spool.read(user) == b""
    assert "status=bounced" not in postfix.log()


def test_postfix_maildir_delivery_served_by_imapd(postfix, fresh, other_user, connect):
    """home_mailbox = Maildir/: Postfix's local itself writes the message
    into ~/Maildir/new as the user; imapd serves that Maildir as INBOX with
    the body byte for byte, and a flag one session stores is what a second
    session sees and what the file name says."""
    body = b"Hello in a Maildir.\nFrom the start of a line.\n\nBye.\n"
    msg = (b"From: Sender <sender@example.org>\nTo: %s@localhost\n"
           b"Subject: to maildir\nMessage-ID: <postfix-md@example.org>\n\n"
           % other_user.name.encode() + body)
    with smtplib.SMTP(postfix.host, postfix.port, timeout=30) as s:
        s.sendmail("sender@example.org", ["%s@localhost" % other_user.name], msg)
    postfix.wait_log(r"to=<%s@localhost>, relay=local, .*status=sent \(delivered to maildir\)"
                     % other_user.name)
    new = os.path.join(other_user.home, "Maildir", "new")
    files = os.listdir(new)
    assert len(files) == 1 and os.stat(os.path.join(new, files[0])).st_uid == other_user.uid
    with open(os.path.join(new, files[0]), "rb") as f:
        on_disk = f.read()
    a = connect(who=other_user)
    r = a.command("SELECT INBOX")
    assert r.ok and r.numbered("EXISTS") == [1] and r.numbered("RECENT") == [1], r
    r = a.command("FETCH 1 (RFC822.SIZE BODY.PEEK[] BODY.PEEK[TEXT])")
    f = r.fetches()[1]
    assert f["BODY[]"] == mbox.crlf(on_disk)
    # the text as Postfix wrote it (it ends the file with an empty line)
    text = on_disk.split(b"\n\n", 1)[1]
    assert text.startswith(body) and f["BODY[TEXT]"] == mbox.crlf(text)
    assert f["RFC822.SIZE"] == str(len(mbox.crlf(on_disk)))
    assert f["BODY[]"].startswith(b"Return-Path: <sender@example.org>\r\n")
    assert b"\r\nMessage-ID: <postfix-md@example.org>\r\n" in f["BODY[]"]
    assert a.command("STORE 1 +FLAGS (\\Flagged \\Seen)").ok
    b = connect(who=other_user)
    r = b.command("SELECT INBOX")
    assert r.ok and r.numbered("EXISTS") == [1], r
    r = b.command("FETCH 1 FLAGS")
    assert set(r.fetches()[1]["FLAGS"]) == {"\\Flagged", "\\Seen"}, r
    cur = os.listdir(os.path.join(other_user.home, "Maildir", "cur"))
    assert len(cur) == 1 and cur[0].endswith(":2,FS"), cur
    assert a.command("STORE 1 -FLAGS (\\Flagged)").ok
    r = b.command("NOOP")
    assert set(r.fetches()[1]["FLAGS"]) == {"\\Seen"}, r
