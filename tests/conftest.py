# Fixtures for the integration tests: real system users and PAM, the real
# /var/mail spool, the daemon under a real super-server on a loopback port, clients
# (imaplib, a strict raw client, curl), and a sanitizer-log check that fails
# the test (and the session) whenever the daemon reported an error.
# Needs root. IMAPD selects the binary (make check: the sanitizer build);
# IMAPD_LAUNCHER picks systemd-socket-activate (default) or xinetd;
# KEEP_TEST_DIR=1 keeps the session's temp dir for inspection.
import fcntl
import glob
import imaplib
import os
import shutil
import socket
import subprocess
import tempfile
import time

import pytest

from helpers import launch, mailstore, mbox, system
from helpers.imapclient import RawIMAP
from helpers.syslogsink import SyslogSink

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
HOST = "127.0.0.1"


def imapd_binary():
    return os.environ.get("IMAPD") or os.path.join(REPO, "imapd", "imapd")


def daemon_binary(env, rel):
    """The daemon to test: $env (make check: the sanitizer build) or rel."""
    path = os.environ.get(env) or os.path.join(REPO, rel)
    if not os.access(path, os.X_OK):
        pytest.fail("no daemon to test at %s (run make, or set %s)" % (path, env))
    return path


@pytest.fixture(scope="session")
def imapd():
    if os.geteuid() != 0:
        pytest.skip("integration tests need root (PAM users, super-servers)")
    return daemon_binary("IMAPD", "imapd/imapd")


@pytest.fixture(scope="session", autouse=True)
def prelogin_user():
    """The unprivileged user the daemons speak to clients as before login
    (make install creates it the same way). Left in place afterwards, as a
    system user is: other daemons on the machine may be using it."""
    if os.geteuid() != 0:
        return None
    if subprocess.run(["id", "uwimap"], stdout=subprocess.DEVNULL,
                      stderr=subprocess.DEVNULL).returncode != 0:
        subprocess.run(["useradd", "--system", "--no-create-home",
                        "--shell", "/usr/sbin/nologin", "uwimap"], check=True)
    return "uwimap"


@pytest.fixture(scope="session")
def ipop3d(imapd):
    return daemon_binary("IPOP3D", "ipopd/ipop3d")


@pytest.fixture(scope="session")
def ipop2d(imapd):
    return daemon_binary("IPOP2D", "ipopd/ipop2d")


@pytest.fixture(scope="session")
def pop_pam(imapd):
    """/etc/pam.d/pop, the service both POP daemons use by default."""
    created = system.install_pam("pop")
    yield "pop"
    if created:
        system.remove_pam("pop")


@pytest.fixture(scope="session")
def workdir(imapd):
    d = tempfile.mkdtemp(prefix="imapd-test-")
    os.chmod(d, 0o755)
    yield d
    if not os.environ.get("KEEP_TEST_DIR"):
        shutil.rmtree(d, ignore_errors=True)


# ---------------------------------------------------------------- sanitizers

@pytest.fixture(scope="session")
def san_dir(workdir):
    d = os.path.join(workdir, "sanitizer")
    os.mkdir(d)
    os.chmod(d, 0o1777)     # the daemon writes here after dropping to the user
    return d


@pytest.fixture(scope="session")
def san_env(san_dir):
    """Sanitizer settings for daemons: leaks off (they setuid, LSan cannot
    follow), every report to a file under san_dir."""
    return {
        "ASAN_OPTIONS": "log_path=%s/asan:detect_leaks=0:abort_on_error=0"
                        ":print_legend=0" % san_dir,
        "UBSAN_OPTIONS": "log_path=%s/ubsan:print_stacktrace=1" % san_dir,
    }


def sanitizer_reports(san_dir):
    """(path, text) of every report; an empty file is none (the pre-login
    process opens its report file before its chroot, in case)."""
    out = []
    for p in sorted(glob.glob(os.path.join(san_dir, "*"))):
        with open(p, "rb") as f:
            text = f.read().decode("utf-8", "replace")
        if text:
            out.append((p, text))
    return out


def format_reports(reports):
    return "\n".join("==== %s\n%s" % r for r in reports)


@pytest.fixture(autouse=True)
def sanitizer_watch(request, san_dir):
    """Fail the test during which the daemon wrote a sanitizer report."""
    before = set(glob.glob(os.path.join(san_dir, "*")))
    yield
    time.sleep(0.1)         # let a daemon that just saw EOF finish exiting
    new = [r for r in sanitizer_reports(san_dir) if r[0] not in before]
    if new:
        pytest.fail("sanitizer report(s) from the daemon:\n" +
                    format_reports(new), pytrace=False)


# ---------------------------------------------------------------- system

@pytest.fixture(scope="session")
def pam_service(imapd):
    created = system.install_pam("imap")
    yield "imap"
    if created:
        system.remove_pam("imap")


@pytest.fixture(scope="session")
def users(workdir, pam_service):
    skel = os.path.join(workdir, "skel")
    os.mkdir(skel)
    with system.temp_users(skel, 2) as made:
        yield made


@pytest.fixture(scope="session")
def user(users):
    return users[0]


@pytest.fixture(scope="session")
def other_user(users):
    return users[1]


@pytest.fixture(scope="session")
def spool(users):
    """Debian's /var/mail itself, as shipped (2775 root:mail): sessions run
    without group mail, and liblockfile's setgid dotlockfile makes their
    lock files only for the user's own file there. The test users' files
    and lock files are removed at the end."""
    gid = system.mail_gid()
    st = os.stat(mbox.SYSTEM_SPOOL)
    if st.st_gid != gid or (st.st_mode & 0o7777) != 0o2775:
        pytest.fail("%s must be 2775 root:mail, as Debian ships it" % mbox.SYSTEM_SPOOL)
    sp = mbox.Spool(mbox.SYSTEM_SPOOL, gid)
    yield sp
    sp.cleanup()


@pytest.fixture(scope="session")
def config_file(workdir, spool, pam_service):
    p = os.path.join(workdir, "imapd.conf")
    with open(p, "w") as f:
        f.write("# imapd integration test configuration\n"
                "spool_dir = %s\n"
                "allow_plaintext = yes\n"
                "pam_service = %s\n" % (spool.dir, pam_service))
    os.chmod(p, 0o644)
    return p


# ---------------------------------------------------------------- launchers

@pytest.fixture(scope="session")
def launch_daemon(imapd, workdir, san_env, san_dir, users):
    """Factory: start(kind=None, argv=None) -> a running Launcher. All are
    stopped at the end of the session, then the sanitizer logs are checked."""
    started = []

    def start(kind=None, argv=None, port=None):
        kind = kind or os.environ.get("IMAPD_LAUNCHER", "systemd-socket-activate")
        cls = launch.LAUNCHERS[kind]
        sub = tempfile.mkdtemp(prefix=kind + "-", dir=workdir)
        lnch = cls(argv, san_env, sub, HOST, port)
        started.append(lnch)
        return lnch.start()

    yield start
    for lnch in started:
        lnch.stop()
    reports = sanitizer_reports(san_dir)
    if reports:
        pytest.fail("sanitizer reports exist at the end of the session:\n" +
                    format_reports(reports), pytrace=False)


@pytest.fixture(scope="session")
def server(launch_daemon, imapd, config_file):
    """The daemon under the default launcher; .host and .port."""
    return launch_daemon(argv=[imapd, "--config", config_file])


@pytest.fixture(scope="session")
def server_with(launch_daemon, imapd, workdir, spool, pam_service):
    """server_with(extra_lines, tls=False) -> a launcher running imapd with
    the test configuration plus the given lines, with --tls if asked (one
    daemon per distinct setup)."""
    made = {}

    def make(extra, tls=False):
        if (extra, tls) not in made:
            fd, path = tempfile.mkstemp(prefix="imapd-", suffix=".conf", dir=workdir)
            with os.fdopen(fd, "w") as f:
                f.write("spool_dir = %s\nallow_plaintext = yes\npam_service = %s\n%s\n"
                        % (spool.dir, pam_service, extra))
            os.chmod(path, 0o644)
            made[extra, tls] = launch_daemon(argv=[imapd, "--config", path] +
                                             (["--tls"] if tls else []))
        return made[extra, tls]
    return make


@pytest.fixture
def open_to(fresh):
    """open_to(server, login=None|user) -> RawIMAP, closed afterwards."""
    conns = []

    def make(srv, who=None):
        c = RawIMAP(srv.host, srv.port)
        conns.append(c)
        if who:
            c.login(who.name, who.password)
        return c
    yield make
    for c in conns:
        c.close()


# ---------------------------------------------------------------- mail state

@pytest.fixture
def fresh(users, spool):
    """Every test starts with no spool files and empty home directories, and
    leaves no ~/Maildir, ~/INBOX file or ~/.mh_profile: a test that keeps
    the home (its INBOX a spool file) would otherwise be served from the
    INBOX an earlier test made."""
    for u in users:
        spool.remove(u)
        system.reset_home(u)
    yield users
    for u in users:
        shutil.rmtree(os.path.join(u.home, "Maildir"), ignore_errors=True)
        if os.path.isfile(os.path.join(u.home, "INBOX")):   # an mbx INBOX (mailstore)
            os.unlink(os.path.join(u.home, "INBOX"))
        if os.path.isfile(os.path.join(u.home, ".mh_profile")):   # an MH INBOX (mailstore)
            os.unlink(os.path.join(u.home, ".mh_profile"))


@pytest.fixture
def sample():
    """The messages of tests/data/sample.mbox (Entry objects)."""
    return mbox.load("sample.mbox")


# A test module that sets MAIL_FORMATS = mailstore.FORMATS runs each of its
# tests that uses the mail_store fixture (through inbox, client, connect,
# imap ...) once per format; a test marked mbox_only runs on the spool file
# alone. Elsewhere the store is the spool, as it always was.


def pytest_configure(config):
    """Register the mbox_only and format_bug markers."""
    config.addinivalue_line("markers", "mbox_only(reason): the test is about the mbox "
                            "spool file itself; it does not run on the other formats")
    config.addinivalue_line("markers", "format_bug(format, reason): a known bug of that "
                            "format's driver; the test must fail there (strict xfail)")
    config.addinivalue_line("markers", "every_format: this test runs on every format "
                            "(mailstore.FORMATS) in a module that does not set MAIL_FORMATS")


def pytest_generate_tests(metafunc):
    """Parametrise the store over the module's MAIL_FORMATS; a format with a
    known bug (format_bug) is a strict xfail, so its fix is noticed."""
    formats = getattr(metafunc.module, "MAIL_FORMATS", None)
    if metafunc.definition.get_closest_marker("every_format"):
        formats = mailstore.FORMATS
    if not formats or "mail_store" not in metafunc.fixturenames:
        return
    if metafunc.definition.get_closest_marker("mbox_only"):
        formats = ("mbox",)
    bugs = {m.args[0]: m.args[1] for m in metafunc.definition.iter_markers("format_bug")}
    metafunc.parametrize("mail_store", [
        pytest.param(f, id=f, marks=[pytest.mark.xfail(strict=True, reason=bugs[f])]
                     if f in bugs else []) for f in formats], indirect=True)


@pytest.fixture
def mail_store(request, fresh, users, spool):
    """The users' mail store (helpers/mailstore.py) in this test's format,
    INBOX empty: no spool file, or an empty ~/Maildir (fresh removes it
    afterwards)."""
    s = mailstore.make(getattr(request, "param", "mbox"), spool)
    for u in users:
        s.init(u)
    return s


@pytest.fixture
def inbox(mail_store, user, sample):
    """The user's INBOX holds sample.mbox as delivered by an MTA."""
    mail_store.write(user, sample)
    return sample


# ---------------------------------------------------------------- clients

@pytest.fixture
def connect(server, mail_store, user):
    """Factory: connect(login=True, who=user) -> RawIMAP; closed afterwards."""
    conns = []

    def make(login=True, who=None):
        c = RawIMAP(server.host, server.port)
        conns.append(c)
        if login:
            who = who or user
            c.login(who.name, who.password)
        return c

    yield make
    for c in conns:
        c.close()


@pytest.fixture
def conn(connect):
    """A raw connection, greeting read, not logged in."""
    return connect(login=False)


@pytest.fixture
def client(connect):
    """A raw connection logged in as the test user."""
    return connect()


@pytest.fixture
def imap(server, mail_store):
    """imaplib.IMAP4 connected, not logged in."""
    m = imaplib.IMAP4(server.host, server.port, timeout=20)
    yield m
    try:
        m.shutdown()
    except Exception:
        pass


@pytest.fixture
def imap_user(imap, user):
    """imaplib.IMAP4 logged in as the test user."""
    imap.login(user.name, user.password)
    return imap


@pytest.fixture
def curl(server, user):
    """curl(path, *args, who=user) -> CompletedProcess (stdout bytes)."""
    def run(path="INBOX", *args, who=None):
        who = who or user
        url = "imap://%s:%d/%s" % (server.host, server.port, path)
        return subprocess.run(["curl", "-sS", "--max-time", "30",
                               "--user", "%s:%s" % (who.name, who.password)]
                              + list(args) + [url],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              timeout=60)
    return run


@pytest.fixture
def imapd_as(imapd, config_file, san_env):
    """imapd_as(user, input_bytes) runs the daemon directly as that user
    (no super-server, stdin/stdout pipes) -> CompletedProcess."""
    def run(who, data, timeout=30):
        env = {"PATH": "/usr/bin:/bin", "HOME": who.home, "USER": who.name,
               "LOGNAME": who.name}
        env.update(san_env)
        return subprocess.run(["setpriv", "--reuid=%d" % who.uid,
                               "--regid=%d" % who.gid, "--init-groups",
                               imapd, "--config", config_file],
                              input=data, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, env=env, timeout=timeout,
                              cwd=who.home)
    return run


# ---------------------------------------------------------------- public ports

# Tests that must listen on the real imaps/pop3s ports (the daemon picks
# TLS by the port's /etc/services name) take this machine-wide lock, so two
# runs (other worktrees too) take turns instead of failing to bind.
PUBLIC_PORTS_LOCK = "/run/lock/uw-imap-tests-public-ports"


@pytest.fixture
def public_ports():
    """public_ports(993, 995): with the lock held (until the test ends),
    skip unless each port is free on the loopback address."""
    fd = os.open(PUBLIC_PORTS_LOCK, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        end = time.monotonic() + 300
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > end:
                    pytest.fail("%s held for 5 minutes" % PUBLIC_PORTS_LOCK)
                time.sleep(0.2)

        def check(*ports):
            for port in ports:
                s = socket.socket()
                try:
                    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                    s.bind((HOST, port))
                except OSError:
                    pytest.skip("port %d is taken by a program outside the tests" % port)
                finally:
                    s.close()
        yield check
    finally:
        os.close(fd)    # releases the lock


# ---------------------------------------------------------------- syslog

@pytest.fixture
def syslog():
    """Own /dev/log for the test (skipped where a syslog daemon has it)."""
    if os.path.exists("/dev/log"):
        pytest.skip("a syslog daemon owns /dev/log on this machine")
    sink = SyslogSink()
    try:
        yield sink
    finally:
        sink.close()


# ---------------------------------------------------------------- honest skips

# A skip hides a test that did not run, so a session with a skip fails unless
# its reason starts with one of these. Each is a conflict with something the
# machine already runs, which a test must not break to get its way.
EXPECTED_SKIPS = (
    # imaps/pop3s is taken by another server; binding beside it would steal
    # its clients
    "port 993 is taken",
    "port 995 is taken",
    # the machine's own syslog daemon has /dev/log; replacing it loses its logs
    "a syslog daemon owns /dev/log on this machine",
    # a real 'demo' account or its files; the demo test would delete them
    "a 'demo' user, /var/mail/demo or build/demo exists",
    # a shallow clone: the upgrade test builds the previous version from git
    "the previous version is not in this clone's history",
    # test_imap_client: /notls refusal needs an address that is not loopback
    "this machine has no address but loopback",
)


def skip_reason(report):
    """The reason a skipped test report gives, without pytest's prefix."""
    longrepr = report.longrepr
    text = longrepr[2] if isinstance(longrepr, tuple) else str(longrepr)
    return text[len("Skipped: "):] if text.startswith("Skipped: ") else text


def unexpected_skips(session):
    """(test id, reason) of each skip of this session not in EXPECTED_SKIPS."""
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    reports = reporter.stats.get("skipped", []) if reporter else []
    return [(r.nodeid, skip_reason(r)) for r in reports
            if not skip_reason(r).startswith(EXPECTED_SKIPS)]


def pytest_sessionfinish(session, exitstatus):
    """Fail a session that skipped a test for a reason not listed above."""
    bad = unexpected_skips(session)
    if not bad:
        return
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    reporter.write_line("")
    for nodeid, reason in bad:
        reporter.write_line("UNEXPECTED SKIP %s: %s" % (nodeid, reason), red=True)
    reporter.write_line("%d unexpected skip(s): the session fails (conftest.py "
                        "EXPECTED_SKIPS lists the allowed reasons)" % len(bad), red=True)
    session.exitstatus = pytest.ExitCode.TESTS_FAILED
