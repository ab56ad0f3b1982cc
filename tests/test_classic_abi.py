# The classic programming interface (issue 13): Debian's own programs built
# for UW's libc-client.so.2007e run unchanged on this project's library put
# in its place (LD_LIBRARY_PATH names the directory holding our
# libc-client.so.2007e link), and answer as they do on Debian's library.
# The programs run as a real test user, on files in their home.
import os
import re
import shutil
import subprocess

import pytest

from helpers import mailstore
from test_imap_client import pki, tls_server  # noqa: F401 (fixtures)

HERE = os.path.dirname(os.path.abspath(__file__))
LIBDIR = os.environ.get("CLASSIC_LIBDIR",
                        os.path.join(os.path.dirname(HERE), "build/pic/c-client"))
# the sanitizer build of the same library (make shared-asan), which the
# programs load with libasan preloaded; PHP cannot (it opens extensions with
# RTLD_DEEPBIND, which ASan refuses), so it runs on the plain build
ASAN_LIBDIR = os.environ.get("CLASSIC_ASAN_LIBDIR",
                             os.path.join(os.path.dirname(HERE), "build/pic-asan/c-client"))
UW_MAILUTIL = "/usr/bin/mailutil"

MBOX = (b"From alice@example.com Sat Jan  1 10:00:00 2022\n"
        b"From: Alice <alice@example.com>\nSubject: first\nStatus: RO\n\nHello one.\n\n"
        b"From bob@example.com Sun Jan  2 11:00:00 2022\n"
        b"From: Bob <bob@example.com>\nSubject: spam offer\nX-Status: F\n\nBuy now.\n\n"
        b"From carol@example.com Mon Jan  3 12:00:00 2022\n"
        b"From: Carol <carol@example.com>\nSubject: third\n\nThird body.\n\n")
# each message as a mailbox of another format holds it: no From line, no
# Status headers (they became flags)
MESSAGES = [b"From: Alice <alice@example.com>\nSubject: first\n\nHello one.\n",
            b"From: Bob <bob@example.com>\nSubject: spam offer\n\nBuy now.\n",
            b"From: Carol <carol@example.com>\nSubject: third\n\nThird body.\n"]


@pytest.fixture(scope="module")
def libdir():
    for d, how in ((LIBDIR, "make shared"), (ASAN_LIBDIR, "make shared-asan")):
        lib = os.path.join(d, "libc-client.so.2007e")
        assert os.path.exists(lib), "%s is missing: `%s` builds it" % (lib, how)
    assert os.path.exists(UW_MAILUTIL), "uw-mailutils is not installed (src/deps.sh)"
    return LIBDIR


def libasan():
    out = subprocess.run(["gcc", "-print-file-name=libasan.so"], stdout=subprocess.PIPE,
                         text=True, check=True).stdout.strip()
    return os.path.realpath(out)


def run(user, argv, ours, libdir=None, check=True, sanitized=True, stdin=b"", env_extra=None):
    """argv as the user in their home, on our library (ours: its sanitizer
    build unless sanitized is false) or Debian's: its standard output, exit
    code and standard error (where mm_log errors and sanitizer reports
    go)."""
    env = {"PATH": "/usr/bin:/bin", "HOME": user.home, "USER": user.name}
    env.update(env_extra or {})
    if ours and sanitized:
        # the programs never free what they keep to their end: leaks are
        # theirs to report, not ours; any other report fails the run
        env.update(LD_LIBRARY_PATH=ASAN_LIBDIR, LD_PRELOAD=libasan(),
                   ASAN_OPTIONS="detect_leaks=0:abort_on_error=0:exitcode=99")
    elif ours:
        env["LD_LIBRARY_PATH"] = libdir
    p = subprocess.run(["setpriv", "--reuid=%d" % user.uid, "--regid=%d" % user.gid,
                        "--init-groups"] + argv, stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, timeout=60, cwd=user.home, env=env, input=stdin)
    if check:
        assert p.returncode == 0, (argv, p.stdout, p.stderr)
    return p.stdout.decode(), p.returncode, p.stderr.decode()


def put(user, name, data):
    """A file of the user's in their home, with its directories theirs."""
    p = os.path.join(user.home, name)
    d = os.path.dirname(p)
    while not os.path.isdir(d):
        os.makedirs(d)
        shutil.chown(d, user.uid, user.gid)
        d = os.path.dirname(p)
    with open(p, "wb") as f:
        f.write(data)
    shutil.chown(p, user.uid, user.gid)
    return p


def messages_of(path):
    """The messages of an mbox file as bytes, without the From lines, the
    folder's internal-data message and the state headers either library
    writes (X-IMAP, X-UID, Status, X-Status, X-Keywords)."""
    with open(path, "rb") as f:
        data = f.read()
    out = []
    for part in re.split(rb"(?m)^From [^\n]*\n", data)[1:]:
        if b"\nSubject: DON'T DELETE THIS MESSAGE -- FOLDER INTERNAL DATA" in part:
            continue
        head, _, body = part.partition(b"\n\n")
        keep = [h for h in head.split(b"\n")
                if not re.match(rb"(?i)(X-IMAPbase|X-IMAP|X-UID|Status|X-Status|X-Keywords):", h)]
        out.append(b"\n".join(keep) + b"\n\n" + body.rstrip(b"\n") + b"\n")
    return out


def flags_of(path):
    """The IMAP flags each message of an mbox file records (its folder's
    internal-data message left out)."""
    with open(path, "rb") as f:
        data = f.read()
    return [mailstore.mbox_flags(part) for part in re.split(rb"(?m)^From [^\n]*\n", data)[1:]
            if b"\nSubject: DON'T DELETE THIS MESSAGE -- FOLDER INTERNAL DATA" not in part]


def test_debian_mailutil_loads_our_library(libdir, user):
    """With the library's directory on LD_LIBRARY_PATH the dynamic linker
    gives Debian's mailutil our libc-client.so.2007e (the other tests would
    prove nothing if it still loaded Debian's)."""
    for d in (libdir, ASAN_LIBDIR):
        out = subprocess.run(["ldd", UW_MAILUTIL], env={"LD_LIBRARY_PATH": d},
                             stdout=subprocess.PIPE, check=True).stdout.decode()
        line = [ln for ln in out.splitlines() if "libc-client.so.2007e" in ln]
        assert line and os.path.join(d, "libc-client.so.2007e") in line[0], out


def test_check_answers_as_debian_library(fresh, libdir, user):
    """mailutil check: the same counts, word for word, on both libraries."""
    put(user, "ours", MBOX)
    put(user, "theirs", MBOX)
    ours, _, _ = run(user, [UW_MAILUTIL, "check", "ours"], True, libdir)
    theirs, _, _ = run(user, [UW_MAILUTIL, "check", "theirs"], False)
    assert ours == "2 new message(s) (2 unseen), 3 total in ours\n"
    assert theirs == ours.replace("ours", "theirs")


def test_prune_searches_flags_and_expunges(fresh, libdir, user):
    """mailutil prune (mail_search_full, mail_flag, mail_expunge): the same
    message goes, the same report, the same messages stay."""
    put(user, "ours", MBOX)
    put(user, "theirs", MBOX)
    ours, _, _ = run(user, [UW_MAILUTIL, "prune", "ours", "subject spam"], True, libdir,
                  check=False)
    theirs, _, _ = run(user, [UW_MAILUTIL, "prune", "theirs", "subject spam"], False, check=False)
    assert ours == theirs == "1 message(s) purged\n"
    kept = messages_of(os.path.join(user.home, "ours"))
    assert kept == messages_of(os.path.join(user.home, "theirs"))
    assert [m.split(b"\n")[1] for m in kept] == [b"Subject: first", b"Subject: third"]
    # criteria on dates and flags: nothing before 2022, then the unseen one
    ours, _, _ = run(user, [UW_MAILUTIL, "prune", "ours", "before 1-Jan-2022"], True, libdir,
                  check=False)
    assert ours == "No matching messages, so nothing purged\n"
    ours, _, _ = run(user, [UW_MAILUTIL, "prune", "ours", "unseen"], True, libdir, check=False)
    assert ours == "1 message(s) purged\n"
    assert [m.split(b"\n")[1] for m in messages_of(os.path.join(user.home, "ours"))] == \
        [b"Subject: first"]


def test_copy_into_maildir_and_back(fresh, libdir, user):
    """mailutil copy through our library into a Maildir (a format UW never
    had) keeps each message byte for byte with its flags, and back into an
    mbox that Debian's own library then reads with the same messages."""
    put(user, "src", MBOX)
    run(user, [UW_MAILUTIL, "copy", "src", "#driver.maildir/md"], True, libdir)
    cur = os.path.join(user.home, "md", "cur")
    files = sorted(os.listdir(cur))
    assert [f.split(":2,")[1] for f in files] == ["S", "F", ""]
    got = []
    for f in files:
        with open(os.path.join(cur, f), "rb") as fh:
            got.append(fh.read())
    assert got == MESSAGES
    run(user, [UW_MAILUTIL, "copy", "#driver.maildir/md", "back"], True, libdir)
    theirs, _, _ = run(user, [UW_MAILUTIL, "check", "back"], False)
    assert theirs == "3 new message(s) (2 unseen), 3 total in back\n"
    assert messages_of(os.path.join(user.home, "back")) == \
        [b"From: Alice <alice@example.com>\nSubject: first\n\nHello one.\n",
         b"From: Bob <bob@example.com>\nSubject: spam offer\n\nBuy now.\n",
         b"From: Carol <carol@example.com>\nSubject: third\n\nThird body.\n"]
    # the flags came back as the mbox headers both libraries read
    assert flags_of(os.path.join(user.home, "back")) == [{"\\Seen"}, {"\\Flagged"}, set()]


def test_transfer_a_hierarchy(fresh, libdir, user):
    """mailutil transfer lists a directory (mail_list) and copies each
    mailbox; the same names and messages as on Debian's library."""
    for name in ("old/x", "old/sub/y"):
        put(user, name, MBOX)
    ours, _, _ = run(user, [UW_MAILUTIL, "transfer", "old/", "new/"], True, libdir)
    theirs, _, _ = run(user, [UW_MAILUTIL, "transfer", "old/", "uwnew/"], False)
    assert ours == theirs == ""
    for name in ("old/x", "old/sub/y"):
        assert messages_of(os.path.join(user.home, "new", name)) == \
            messages_of(os.path.join(user.home, "uwnew", name)) == \
            messages_of(os.path.join(user.home, name))


def test_create_rename_delete_and_their_errors(fresh, libdir, user):
    """create, rename and delete work, and each failure exits 1 with the
    mailbox named (the texts are ours, not UW's)."""
    run(user, [UW_MAILUTIL, "create", "box"], True, libdir)
    assert os.path.isfile(os.path.join(user.home, "box"))
    out, rc, err = run(user, [UW_MAILUTIL, "create", "box"], True, libdir, check=False)
    assert (rc, out, err) == (1, "", "Can't create mailbox box: mailbox box already exists\n")
    run(user, [UW_MAILUTIL, "rename", "box", "renamed"], True, libdir)
    assert not os.path.exists(os.path.join(user.home, "box"))
    run(user, [UW_MAILUTIL, "delete", "renamed"], True, libdir)
    assert not os.path.exists(os.path.join(user.home, "renamed"))
    out, rc, err = run(user, [UW_MAILUTIL, "delete", "renamed"], True, libdir, check=False)
    assert (rc, out, err) == (1, "", "Can't delete mailbox renamed: mailbox renamed does "
                                   "not exist\n")


def test_a_directory_the_user_cannot_write_is_named_with_the_fix(fresh, libdir, user):
    """A mailbox in a directory root made (a common slip when setting a user
    up) cannot be locked for an append: the message names the mailbox, the
    lock file and the directory to fix, not a /proc path or the spool's
    remedy; nothing is written."""
    d = os.path.join(user.home, "rootdir")
    os.mkdir(d)
    box = os.path.join(d, "box")
    put(user, "rootdir/box", MBOX)
    put(user, "src", MBOX)
    out, rc, err = run(user, [UW_MAILUTIL, "append", "src", "rootdir/box"], True, libdir,
                       check=False)
    assert (rc, out) == (1, "")
    assert err == ("Can't append to rootdir/box: cannot lock %s: cannot create %s.lock: "
                   "permission denied. Fix: the directory %s must be writable by the "
                   "mailbox's owner (chown or chmod u+w it)\n" % (box, box, d))
    with open(box, "rb") as f:
        assert f.read() == MBOX


def test_an_unreachable_server_is_named_plainly(fresh, libdir, user):
    """Debian's mailutil on a network name whose server does not answer:
    exit 1 and one line naming the mailbox, the host, the port and why."""
    out, rc, err = run(user, [UW_MAILUTIL, "check", "{127.0.0.1:1/imap}INBOX"], True, libdir,
                       check=False)
    assert (rc, out, err) == (1, "", "Can't get the status of {127.0.0.1:1/imap}INBOX: cannot "
                                     "connect to 127.0.0.1 port 1: Connection refused\n")


def test_another_users_file_is_not_reached(fresh, libdir, user, other_user):
    """The library runs with the program's rights: another user's mailbox
    (mode 0600) cannot be read or changed through it, and a symlink the
    user planted to it is not followed for a write."""
    victim = put(other_user, "private", MBOX)
    os.chmod(victim, 0o600)
    out, rc, err = run(user, [UW_MAILUTIL, "copy", victim, "stolen"], True, libdir, check=False)
    assert rc == 1 and not os.path.exists(os.path.join(user.home, "stolen"))
    os.symlink(victim, os.path.join(user.home, "link"))
    put(user, "src", MBOX)
    out, rc, err = run(user, [UW_MAILUTIL, "append", "src", "link"], True, libdir, check=False)
    assert rc == 1
    with open(victim, "rb") as f:
        assert f.read() == MBOX


MAILSYNC = "/usr/bin/mailsync"
MAILSYNC_CONF = """store sa {
\tpat\t%(side)s/a/%%
\tprefix\t%(side)s/a/
}
store sb {
\tpat\t%(side)s/b/%%
\tprefix\t%(side)s/b/
}
channel ch sa sb {
\tmsinfo\t%(side)s.msinfo
}
"""


def test_mailsync_synchronises_as_on_debian_library(fresh, libdir, user):
    """Debian's mailsync (envelopes, LF internal texts, file STRINGs,
    msinfo bookkeeping) syncs two mbox stores on our library exactly as on
    Debian's: the same report, the same messages on both sides, and a
    message expunged on one side is expunged on the other at the next
    sync."""
    assert os.path.exists(MAILSYNC), "mailsync is not installed (src/deps.sh)"
    mid = [b"Message-ID: <%d@example.com>\n" % i for i in (1, 2, 3)]
    a = b"".join(b"From x@example.com Sat Jan  1 1%d:00:00 2022\nFrom: P%d <p%d@example.com>\n"
                 b"Subject: s%d\n%s\nbody %d\n\n" % (i, i, i, i, mid[i - 1], i) for i in (1, 2))
    b = (b"From z@example.com Sat Jan  1 13:00:00 2022\nFrom: P3 <p3@example.com>\n"
         b"Subject: s3\n" + mid[2] + b"\nbody 3\n\n")
    out = {}
    for side, ours in (("ours", True), ("theirs", False)):
        put(user, side + "/a/box", a)
        put(user, side + "/b/box", b)
        put(user, side + ".conf", (MAILSYNC_CONF % {"side": side}).encode())
        first, _, _ = run(user, [MAILSYNC, "-f", side + ".conf", "-m", "ch"], ours, libdir)
        pruner = [UW_MAILUTIL, "prune", side + "/a/box", "subject s1"]
        run(user, pruner, ours, libdir, check=False)
        second, _, _ = run(user, [MAILSYNC, "-f", side + ".conf", "-m", "ch"], ours, libdir)
        out[side] = (first, second)
    assert out["ours"] == out["theirs"]
    lines = [ln.rstrip() for ln in "".join(out["ours"]).splitlines() if ln.strip()]
    assert [ln for ln in lines if ln.startswith("  ")] == [
        "  copied     ->  Sat Jan  1 P1                     s1",
        "  copied     ->  Sat Jan  1 P2                     s2",
        "  copied     <-  Sat Jan  1 P3                     s3",
        "  deleted    >   Sat Jan  1 P1                     s1"]
    assert "Expunged 1 mail in store sb" in lines
    for side in ("ours", "theirs"):
        got = [messages_of(os.path.join(user.home, side, s, "box")) for s in "ab"]
        assert [[m.split(b"\n")[1] for m in box] for box in got] == \
            [[b"Subject: s2", b"Subject: s3"], [b"Subject: s3", b"Subject: s2"]], side


PHP = "/usr/bin/php"
DATA = os.path.join(HERE, "data", "classic")


def test_php_imap_answers_as_on_debian_library(fresh, libdir, user):
    """Debian's PHP imap extension on a local mbox (tests/data/classic/
    imap.php: open, check, search, sort, headers, structure and body parts,
    flags, overview, append, delete and expunge, threads, the RFC 822 and
    MIME helpers): line for line Debian's library's answers, but for two
    differences we choose (the mailbox is named by its own path, and
    imap_utf8 gives precomposed UTF-8 where UW decomposed accents)."""
    assert os.path.exists(PHP), "php8.2-cli is not installed (src/deps.sh)"
    with open(os.path.join(DATA, "php.mbox"), "rb") as f:
        box = f.read()
    out = {}
    for side, ours in (("ours", True), ("theirs", False)):
        put(user, side, box)
        env_box = ["env", "BOX=" + side, PHP, "-n", "-d", "extension=imap",
                   os.path.join(DATA, "imap.php")]
        text, _, err = run(user, env_box, ours, libdir, sanitized=False)
        assert err == "", err
        out[side] = text.replace(os.path.join(user.home, side), "BOX").splitlines()
    ours, theirs = out["ours"], out["theirs"]
    assert ours[17] == "mime2text: Andr\u00e9" and theirs[17] == "mime2text: Andre\u0301"
    del ours[17], theirs[17]
    assert ours == theirs
    assert ours[:5] == ["check: 3 unix BOX", "num: 3 recent 2", "search: [2]", "sort: [2,3,1]",
                        "header: apple | Bob <bob@example.com> |  F"]
    assert ours[6:8] == ['body 1: "part one"', 'body 2: "PGI+aGk8L2I+"']


def php_net(user, libdir, box, cafile, check=True, ours=True, write=False, uids=False):
    """imap-net.php on the network mailbox box, as the user, on our library
    or Debian's (the test CA trusted: Debian's reads OpenSSL's
    $SSL_CERT_FILE), with write its append and expunge, with uids the UIDs
    line: its output, exit code and standard error."""
    argv = ["env", "BOX=" + box, "IMAP_USER=" + user.name, "IMAP_PASSWORD=" + user.password,
            ("MAIL_CAFILE=" if ours else "SSL_CERT_FILE=") + cafile]
    argv += (["WRITE=1"] if write else []) + (["UIDS=1"] if uids else []) + [PHP, "-n", "-d", "extension=imap",
                                             os.path.join(DATA, "imap-net.php")]
    return run(user, argv, ours, libdir, sanitized=False, check=check)


def test_php_imap_on_our_imapd_over_tls(fresh, libdir, user, spool, sample, tls_server, pki):
    """PHP's imap extension on our library opens INBOX on our imapd over
    TLS, the certificate verified against the test CA ($MAIL_CAFILE): the
    library's IMAP client serves the classic calls (status, list, search,
    sort, headers, bodies, flags), and the password reaches it through
    PHP's mm_login."""
    spool.write(user, sample)
    srv = tls_server()
    out, _, err = php_net(user, libdir, "{localhost:%d/ssl}INBOX" % srv.port, pki["ca"])
    lines = out.splitlines()
    assert lines[0] == "check: %d imap" % len(sample), (out, err)
    assert lines[1] == "status: %d %d %d" % (len(sample), len(sample), len(sample) + 1)
    assert lines[2] == 'list: ["{localhost:%d\\/ssl}INBOX"]' % srv.port
    assert lines[3:6] == ["search: [2]", "sort: [4,3,2,1]", "header: Hello there"]
    assert lines[6].startswith('body: "This is a multi-part message in MIME format.')
    assert lines[6].endswith('--=-=-=boundary42--\\r\\n"')
    assert lines[7:] == ["flag: true", "flags: [[1,0],[2,1]]", "errors: false"], out
    # a server whose certificate names another host is refused, with the
    # host and OpenSSL's reason in the error PHP reports
    bad = tls_server("wrong-name")
    out, rc, err = php_net(user, libdir, "{localhost:%d/ssl}INBOX" % bad.port, pki["ca"],
                           check=False)
    assert rc == 1 and "check:" not in out, (out, err)
    assert ("open failed: Can't open mailbox {localhost:%d/ssl}INBOX: TLS certificate of "
            "localhost not accepted: hostname mismatch\n" % bad.port) in out, out
