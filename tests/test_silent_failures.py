# No silent failures (issue 14, part 2): a command whose work cannot be
# saved answers NO with the reason, never OK, and leaves the mailbox as it
# was. The failures are real: a directory made unwritable after SELECT, a
# journal directory made unwritable, a file the session may no longer
# write, and a full disk (a 1 MB tmpfs mounted as the user's home).
import base64
import os
import socket
import subprocess

import pytest

from helpers import mbox, sessionlog, system
from helpers.syslogsink import collect

MESSAGES = [mbox.Entry(b"Subject: silent %d\nMessage-ID: <silent-%d@x>\n\nbody %d\n"
                       % (i, i, i)) for i in range(1, 4)]


# The tests below that write their own mailbox file run on an mbox file
# and on an MMDF one (UW's Ctrl-A frame, the same driver's other format).
FRAMES = {"mbox": mbox.entry_bytes, "mmdf": mbox.mmdf_entry_bytes}
on_both_frames = pytest.mark.parametrize("frame", sorted(FRAMES))


def make_box(user, name="box", entries=MESSAGES, frame="mbox"):
    """A mailbox in the user's home, written as a delivery would."""
    p = os.path.join(user.home, name)
    with open(p, "wb") as f:
        for e in entries:
            f.write(FRAMES[frame](e))
    os.chown(p, user.uid, user.gid)
    os.chmod(p, 0o600)
    return p


def read(path):
    with open(path, "rb") as f:
        return f.read()


def flags(c, name):
    """{message-id number: set of flags} of mailbox name, from a session."""
    r = c.command("EXAMINE %s" % name)
    assert r.ok, r
    r = c.command("FETCH 1:* (FLAGS BODY.PEEK[HEADER.FIELDS (SUBJECT)])")
    assert r.ok, r
    out = {}
    for seq, v in r.fetches().items():
        subj = [x for x in v.values() if isinstance(x, bytes)][0]
        n = int(subj.split()[-1])
        out[n] = {f.upper() for f in v["FLAGS"]} - {"\\RECENT"}
    return out


def untagged_no(r):
    return [x for x in r.raw if x.startswith(b"* NO")]


@pytest.fixture
def chmod_back():
    """chmod_back(path, mode): change a mode now, restore it afterwards."""
    saved = []

    def change(path, mode):
        saved.append((path, os.stat(path).st_mode & 0o7777))
        os.chmod(path, mode)
    yield change
    for path, mode in reversed(saved):
        os.chmod(path, mode)


@pytest.fixture
def tmpfs_home(fresh, user):
    """The user's home is a 1 MB tmpfs (owned by the user) for the test;
    fill() uses up what is left of it."""
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m,mode=0700", "tmpfs", user.home],
                   check=True)
    os.chown(user.home, user.uid, user.gid)
    filler = os.path.join(user.home, "filler")

    class Home:
        @staticmethod
        def fill():
            """Write until ENOSPC, in pages and then byte by byte."""
            system.fill_filesystem(user.home)

        @staticmethod
        def free():
            for p in (filler, filler + "2"):
                if os.path.exists(p):
                    os.unlink(p)
    try:
        yield Home
    finally:
        subprocess.run(["umount", "-l", user.home], check=True)


# ---------------------------------------------------------------- CLOSE

@on_both_frames
def test_close_answers_no_when_its_expunge_cannot_be_saved(connect, user, chmod_back, frame):
    """The home directory (where ~/box is replaced by rename) made
    unwritable after SELECT: EXPUNGE and CLOSE both answer NO, ~/box keeps
    every message byte for byte, and the \\Deleted flag is still set."""
    path = make_box(user, frame=frame)
    c = connect()
    assert c.command("SELECT box").ok
    assert c.command("STORE 2 +FLAGS.SILENT (\\Deleted)").ok
    before = read(path)
    chmod_back(user.home, 0o500)
    r = c.command("EXPUNGE")
    assert r.status == "NO" and "ermission denied" in r.text, r
    r = c.command("CLOSE")
    assert r.status == "NO", r
    assert "ermission denied" in r.text, r
    assert read(path) == before
    assert os.stat(path).st_uid == user.uid
    # still selected: nothing was lost, and a retry once fixed succeeds
    os.chmod(user.home, 0o700)
    assert c.command("NOOP").ok
    other = connect()
    assert flags(other, "box") == {1: set(), 2: {"\\DELETED"}, 3: set()}


def test_close_answers_no_when_the_inbox_journal_cannot_be_written(
        connect, user, spool, chmod_back):
    """The spool INBOX is rewritten in place through a journal in
    ~/.imapd-cache: that directory made unwritable after SELECT makes CLOSE
    answer NO, and the spool file is byte-identical."""
    spool.write(user, MESSAGES)
    c = connect()
    assert c.command("SELECT INBOX").ok
    assert c.command("STORE 1 +FLAGS.SILENT (\\Deleted)").ok
    cache = os.path.join(user.home, ".imapd-cache")
    assert os.path.isdir(cache)
    before = spool.read(user)
    chmod_back(cache, 0o500)
    r = c.command("CLOSE")
    assert r.status == "NO", r
    assert "ermission denied" in r.text, r
    assert spool.read(user) == before
    os.chmod(cache, 0o700)
    other = connect()
    assert flags(other, "INBOX") == {1: {"\\DELETED"}, 2: set(), 3: set()}


@pytest.fixture(scope="module")
def own_spool(launch_daemon, imapd, workdir, pam_service):
    """(spool, server): a spool directory of this module's own, made like
    /var/mail (2775 root:mail), and imapd serving INBOX from it, so making
    it unwritable disturbs no other test on the machine."""
    d = os.path.join(workdir, "spool-silent")
    os.makedirs(d, exist_ok=True)
    os.chown(d, 0, system.mail_gid())
    os.chmod(d, 0o2775)
    sp = mbox.Spool(d, system.mail_gid())
    conf = write_conf(workdir, "imapd-own-spool.conf", d, pam_service)
    yield sp, launch_daemon(argv=[imapd, "--config", conf])
    sp.cleanup()


def test_close_answers_no_when_the_spool_directory_is_unwritable(
        own_spool, open_to, fresh, user, chmod_back):
    """The issue's case: the spool directory made unwritable after SELECT.
    The spool INBOX is rewritten in place, but not without the dot-lock the
    MTAs honour, which cannot be made there now: CLOSE answers NO naming
    the lock, the file is byte-identical and the mailbox still selected;
    once the directory is writable again, CLOSE saves the expunge."""
    sp, srv = own_spool
    sp.write(user, MESSAGES)
    c = open_to(srv, who=user)
    assert c.command("SELECT INBOX").ok
    assert c.command("STORE 2 +FLAGS.SILENT (\\Deleted)").ok
    before = sp.read(user)
    chmod_back(sp.dir, 0o555)
    r = c.command("CLOSE")
    assert r.status == "NO" and r.code == "NOPERM", r
    assert "cannot create %s.lock: Permission denied" % sp.path(user) in r.text, r
    assert sp.read(user) == before
    os.chmod(sp.dir, 0o2775)
    r = c.command("CLOSE")
    assert r.ok and not untagged_no(r), r
    left = [e.data for e in mbox.real_messages(sp.read(user))]
    assert left == [MESSAGES[0].data, MESSAGES[2].data], left


# ---------------------------------------------------------------- LOGOUT

def test_logout_answers_no_when_the_seen_flag_cannot_be_saved(connect, user, chmod_back):
    """FETCH BODY[] sets \\Seen; with ~/box no longer writable by its owner
    that flag cannot be saved, and LOGOUT (which would save it) says so with
    a NO after its BYE. The file is untouched."""
    path = make_box(user)
    c = connect()
    assert c.command("SELECT box").ok
    before = read(path)
    chmod_back(path, 0o400)
    r = c.command("FETCH 1 BODY[]")
    assert r.ok and b"body 1" in b"".join(r.raw), r
    r = c.command("LOGOUT")
    assert r.named("BYE"), r
    assert r.status == "NO", r
    assert "ermission denied" in r.text, r
    assert read(path) == before


def test_unselect_answers_no_when_the_seen_flag_cannot_be_saved(connect, user, chmod_back):
    """UNSELECT saves flag changes without expunging: with ~/box no longer
    writable, NO naming the problem, the mailbox still selected, the file
    untouched; once writable again UNSELECT saves \\Seen and answers OK."""
    path = make_box(user)
    c = connect()
    assert c.command("SELECT box").ok
    before = read(path)
    chmod_back(path, 0o400)
    assert c.command("FETCH 2 BODY[]").ok
    r = c.command("UNSELECT")
    assert r.status == "NO" and "ermission denied" in r.text, r
    assert read(path) == before
    os.chmod(path, 0o600)
    assert c.command("FETCH 1 FLAGS").ok, "UNSELECT that failed left no mailbox selected"
    assert c.command("UNSELECT").ok
    assert flags(c, "box") == {1: set(), 2: {"\\SEEN"}, 3: set()}


def test_select_of_another_mailbox_reports_the_changes_it_could_not_save(
        connect, user, spool, chmod_back, syslog):
    """SELECT closes the mailbox selected before (RFC 3501), whatever
    happens; changes that could not be saved there are reported with an
    untagged NO [ALERT] and logged, not dropped in silence."""
    spool.write(user, MESSAGES[:1])
    path = make_box(user)
    c = connect()
    assert c.command("SELECT box").ok
    before = read(path)
    chmod_back(path, 0o400)
    assert c.command("FETCH 3 BODY[]").ok
    r = c.command("SELECT INBOX")
    assert r.ok, r
    alerts = [x for x in r.raw if x.startswith(b"* NO [ALERT]")]
    assert len(alerts) == 1 and b"ermission denied" in alerts[0], r.raw
    assert read(path) == before
    collect(syslog, r"Closing the mailbox lost changes user=%s .*ermission denied" % user.name)


# ---------------------------------------------------------------- STORE

@on_both_frames
@pytest.mark.parametrize("cmd", ["STORE 1", "UID STORE 1"])
def test_store_answers_no_on_a_full_disk(tmpfs_home, connect, user, cmd, frame):
    """A keyword the record must list means a rewrite; on a full disk that
    cannot be written: STORE answers NO naming the full disk (not OK beside
    an untagged NO), the file is byte-identical, and the flags the session
    shows are the ones on disk."""
    path = make_box(user, frame=frame)
    c = connect()
    r = c.command("SELECT box")
    assert r.ok, r
    uid1 = c.command("FETCH 1 UID").fetches()[1]["UID"]
    before = read(path)
    tmpfs_home.fill()
    target = cmd.replace("1", str(uid1)) if cmd.startswith("UID") else cmd
    r = c.command("%s +FLAGS (Junk \\Flagged)" % target)
    assert r.status == "NO", r
    assert "No space left on device" in r.text, r
    assert not r.fetches(), "FETCH responses for flags that were not stored: %r" % r
    assert read(path) == before
    r = c.command("FETCH 1:* FLAGS")
    assert r.ok, r
    for seq, v in r.fetches().items():
        assert {f.upper() for f in v["FLAGS"]} - {"\\RECENT"} == set(), (seq, v)
    # nothing of the failed STORE is left to save (not even its keyword)
    r = c.command("CHECK")
    assert r.ok and not untagged_no(r), r
    assert read(path) == before
    tmpfs_home.free()
    assert c.command("%s +FLAGS (Junk)" % target).ok


# ---------------------------------------------------------------- COPY, MOVE

@on_both_frames
def test_copy_answers_no_on_a_full_disk(tmpfs_home, connect, user, frame):
    """COPY into a mailbox on a full disk: NO naming the full disk, the
    target byte-identical, the source untouched."""
    path = make_box(user, frame=frame)
    dest = make_box(user, "dest", MESSAGES[:1], frame=frame)
    c = connect()
    assert c.command("SELECT box").ok
    before, dbefore = read(path), read(dest)
    tmpfs_home.fill()
    r = c.command("COPY 1:* dest")
    assert r.status == "NO", r
    assert "No space left on device" in r.text, r
    assert read(dest) == dbefore
    assert read(path) == before


@on_both_frames
def test_move_answers_no_when_the_source_cannot_be_expunged(connect, user, chmod_back, frame):
    """MOVE out of ~/box with the home directory unwritable: the copy can be
    made (in ~/sub/dest) but the originals cannot be removed, so MOVE says
    NO, ~/box keeps every message without a \\Deleted flag, and the copies
    are taken out of ~/sub/dest again (no message ends up in both)."""
    path = make_box(user, frame=frame)
    sub = os.path.join(user.home, "sub")
    os.mkdir(sub, 0o700)
    os.chown(sub, user.uid, user.gid)
    make_box(user, "sub/dest", MESSAGES[:1], frame=frame)
    c = connect()
    assert c.command("SELECT box").ok
    before = read(path)
    chmod_back(user.home, 0o500)
    r = c.command("MOVE 1:2 sub/dest")
    assert r.status == "NO", r
    assert "ermission denied" in r.text, r
    assert not r.numbered("EXPUNGE"), r
    assert read(path) == before
    os.chmod(user.home, 0o700)
    assert flags(c, "box") == {1: set(), 2: set(), 3: set()}
    r = c.command("STATUS sub/dest (MESSAGES)")
    assert r.ok and r.named("STATUS")[0][2] == ["MESSAGES", "1"], r
    assert flags(c, "sub/dest") == {1: set()}


# ---------------------------------------------------------------- fatal

@pytest.fixture
def xinetd_server(launch_daemon, imapd, config_file):
    """imapd under xinetd, where stderr is the client's socket."""
    return launch_daemon(kind="xinetd", argv=[imapd, "--config", config_file])


FATAL_BYE = b"* BYE Internal server error; the session ends (details in the mail log)\r\n"


@pytest.mark.parametrize("logged_in", [False, True])
def test_fatal_logs_and_ends_with_bye(xinetd_server, fresh, user, syslog, logged_in):
    """fatal() (out of memory, here through the test build's XFATAL hook),
    before login and in the logged-in session: the client gets exactly one
    BYE and then EOF, never the log text that stderr (its socket under
    xinetd) would carry; the reason is in syslog."""
    sock = socket.create_connection((xinetd_server.host, xinetd_server.port), timeout=15)
    try:
        f = sock.makefile("rb")
        assert f.readline().startswith(b"* OK")
        if logged_in:
            sock.sendall(b"a0 LOGIN %s %s\r\n" % (user.name.encode(), user.password.encode()))
            line = f.readline()
            assert line.startswith(b"a0 OK"), line
        sock.sendall(b"a1 XFATAL\r\n")
        rest = f.read()
    finally:
        sock.close()
    assert rest == FATAL_BYE
    collect(syslog, r"fatal: test hook XFATAL")


# ---------------------------------------------------------------- one exit

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def write_conf(workdir, name, spool_dir, pam_service, extra=""):
    """A configuration file for imapd in workdir; its path."""
    conf = os.path.join(workdir, name)
    with open(conf, "w") as f:
        f.write("spool_dir = %s\nallow_plaintext = yes\npam_service = %s\n%s"
                % (spool_dir, pam_service, extra))
    os.chmod(conf, 0o644)
    return conf


@pytest.fixture(scope="module")
def exit_servers(launch_daemon, imapd, workdir, spool, pam_service):
    """(plain, implicit TLS) imapd under xinetd, where stderr is the
    client's socket; one failed login is the limit, with no delay."""
    ssl = os.path.join(workdir, "ssl-exit")
    subprocess.run(["sh", os.path.join(REPO, "src", "mkcert.sh"), ssl, "imapd"], check=True,
                   stdout=subprocess.DEVNULL)
    argv = [imapd, "--config", write_conf(workdir, "imapd-exit.conf", spool.dir, pam_service,
                                          "ssl_dir = %s\nmax_login_failures = 1\n"
                                          "login_delay = 0\n" % ssl)]
    return (launch_daemon(kind="xinetd", argv=argv),
            launch_daemon(kind="xinetd", argv=argv + ["--tls"]))


def talk(srv, imapd, data, greeting=True):
    """Connect, read the greeting if asked, send data, and return the pids
    of the session (the root process and the unprivileged one it forked to
    face the network) and every byte the server sends until it closes the
    connection (a reset counts as the close: the server need not read what
    it no longer wants). Only this test connects to srv."""
    sock = socket.create_connection((srv.host, srv.port), timeout=15)
    try:
        f = sock.makefile("rb")
        if greeting:
            assert f.readline().startswith(b"* OK")
        pids = sessionlog.session_pids(srv.proc.pid, imapd)
        sock.sendall(data)
        try:
            return pids, f.read()
        except ConnectionResetError:
            return pids, b""
    finally:
        sock.close()


def test_failed_authenticate_ends_through_the_common_exit(exit_servers, imapd, fresh, user,
                                                          syslog):
    """AUTHENTICATE PLAIN with a wrong password, the one failure allowed:
    the client gets the NO and one BYE and then EOF (no log text on its
    socket), the session process is gone, and it logged the failed login
    and one line saying why the session ended, nothing else."""
    plain, _ = exit_servers
    ir = base64.b64encode(b"\0%s\0wrong" % user.name.encode())
    pids, rest = talk(plain, imapd, b"a1 AUTHENTICATE PLAIN %s\r\n" % ir)
    assert rest == (b"a1 NO [AUTHENTICATIONFAILED] Invalid credentials\r\n"
                    b"* BYE Too many login failures\r\n"), rest
    sessionlog.wait_gone(pids)
    host = "host=127.0.0.1 [127.0.0.1]"
    assert sessionlog.lines_of(syslog, "imapd", pids) == [
        "Authentication rejected user=%s: PAM authenticate (service imap): "
        "Authentication failure" % user.name,
        "Login failed user=%s auth=%s %s" % (user.name, user.name, host),
        "Too many login failures (1) %s" % host]


def test_failed_tls_handshake_ends_through_the_common_exit(exit_servers, imapd, fresh,
                                                           syslog):
    """A client that sends a record of garbage instead of a ClientHello on
    the implicit-TLS port: no byte of text reaches it (at most a TLS alert
    record), the process is gone, and it logged one line with the reason."""
    _, implicit = exit_servers
    garbage = b"\x16\x03\x01\x00\x10" + b"not a hello, no."   # a 16-byte record
    pids, rest = talk(implicit, imapd, garbage, greeting=False)
    assert rest == b"" or (rest[:1] == b"\x15" and len(rest) == 7), rest
    sessionlog.wait_gone(pids)
    lines = sessionlog.lines_of(syslog, "imapd", pids)
    assert len(lines) == 1 and lines[0].startswith(
        "TLS failed host=127.0.0.1 [127.0.0.1]: "), lines


# ---------------------------------------------------------------- autologout

def test_autologout_reports_the_changes_it_could_not_save(server_with, open_to, fresh, user,
                                                          chmod_back, syslog):
    """The session ends by autologout with a \\Seen flag it cannot save
    (~/box no longer writable): the client hears it (* NO [ALERT] before
    the BYE), the mail log has the reason, and the file is untouched."""
    path = make_box(user)
    c = open_to(server_with("timeout_idle = 3"), who=user)
    assert c.command("SELECT box").ok
    before = read(path)
    chmod_back(path, 0o400)
    assert c.command("FETCH 1 BODY[]").ok
    c.sock.settimeout(20)
    first, second = c.read_response(), c.read_response()
    assert first.startswith(b"* NO [ALERT]") and b"ermission denied" in first, first
    assert second.startswith(b"* BYE") and b"utologout" in second, second
    with pytest.raises(EOFError):
        c.read_response()
    assert read(path) == before
    collect(syslog, r"Closing the mailbox lost changes user=%s .*ermission denied" % user.name)
