# URLAUTH (RFC 4467) across users: user A signs a URL of A's message, and a
# different user's session fetches it through a worker the root process
# starts as A (privsep_url.c). Written as an attacker with a shell would
# try it: other identities, forged and altered URLs, owners that are not
# ordinary users, links swapped into A's files, and a flood of requests.
import fcntl
import os
import re
import subprocess
import threading
import time

import pytest

from helpers import system
from helpers.imapclient import Lit
from helpers.syslogsink import collect
from test_imap_catenate import ok
from test_imap_urlauth import MSG, PART1, fetch, gen, rump

SECRET = b"Subject: mine\r\n\r\nB-SECRET-TEXT\r\n"


@pytest.fixture(scope="module")
def extra_users(workdir, pam_service):
    """(C, S): a third user, and the one this server lets fetch submit+
    URLs (urlauth_submit_users)."""
    skel = os.path.join(workdir, "skel-cross")
    os.makedirs(skel, exist_ok=True)
    with system.temp_users(skel, 2) as made:
        yield made


@pytest.fixture(scope="module")
def srv(server_with, extra_users):
    return server_with("urlauth_submit_users = nobody-here, %s" % extra_users[1].name)


@pytest.fixture
def urls(srv, open_to, mail_store, user, other_user):
    """A's URLs of MSG's first part: user+B, authuser, anonymous, submit+A."""
    mail_store.write(user, [])
    a = open_to(srv, who=user)
    ok(a.command("APPEND INBOX ", Lit(MSG)))
    out = {"user": gen(a, rump(user, access="user+" + other_user.name))}
    for acc in ("authuser", "anonymous"):
        out[acc] = gen(a, rump(user, access=acc))
    out["submit"] = gen(a, rump(user, access="submit+" + user.name))
    a.command("LOGOUT")
    a.close()
    return out


def owner_files(user, spool):
    """(inode, size, mtime_ns) of every file of A's: home and spool file."""
    out = {}
    for d, _, files in os.walk(user.home):
        for f in files:
            p = os.path.join(d, f)
            st = os.lstat(p)
            out[p] = (st.st_ino, st.st_size, st.st_mtime_ns)
    p = os.path.join(spool.dir, user.name)
    st = os.lstat(p)
    out[p] = (st.st_ino, st.st_size, st.st_mtime_ns)
    return out


def test_access_identifiers_across_users(srv, open_to, urls, other_user, extra_users):
    """user+B: B gets the bytes, C NIL; authuser and anonymous: B and C get
    them; submit+A: the configured submission identity gets them, B NIL."""
    carol, submitter = extra_users
    b, c, s = (open_to(srv, who=w) for w in (other_user, carol, submitter))
    every = [urls["user"], urls["authuser"], urls["anonymous"], urls["submit"]]
    assert fetch(b, *every) == {urls["user"]: PART1, urls["authuser"]: PART1,
                                urls["anonymous"]: PART1, urls["submit"]: None}
    assert fetch(c, *every) == {urls["user"]: None, urls["authuser"]: PART1,
                                urls["anonymous"]: PART1, urls["submit"]: None}
    assert fetch(s, *every) == {urls["user"]: None, urls["authuser"]: PART1,
                                urls["anonymous"]: PART1, urls["submit"]: PART1}


def test_whole_message_and_partial(srv, open_to, mail_store, user, other_user):
    """The exact bytes: the whole message as A stored it, and a ;PARTIAL=."""
    mail_store.write(user, [])
    a = open_to(srv, who=user)
    ok(a.command("APPEND INBOX ", Lit(MSG)))
    whole = gen(a, rump(user, "/INBOX/;uid=1", access="authuser"))
    part = gen(a, rump(user, "/INBOX/;uid=1/;section=1/;partial=3.9", access="authuser"))
    a.command("LOGOUT")
    b = open_to(srv, who=other_user)
    assert fetch(b, whole, part) == {whole: MSG, part: b"vis pacem"}


def test_forged_urls_and_owners(srv, open_to, urls, user, other_user, spool):
    """Altered and forged URLs, owners that are root, nobody, a path or an
    overlong name: NIL beside the good URL, and none of A's files changed
    (no index written, nothing opened for writing)."""
    good = urls["authuser"]
    token = good[-40:]
    me = "imap://%s@" % user.name
    forged = [
        good[:-1] + ("0" if good[-1] != "0" else "1"),          # token altered
        good.replace("section=1", "section=2"),                  # rump altered
        good.replace("uid=1", "uid=2"),
        good.replace("authuser", "user+" + other_user.name),
        good.replace(me, "imap://root@"),
        good.replace(me, "imap://nosuchuser0@"),
        good.replace(me, "imap://..%2Fx@"),
        good.replace(me, "imap://" + "a" * 300 + "@"),
        good.replace(me, "imap://%s@" % other_user.name),        # B's own, A's token
        good.replace("/INBOX/", "/%2Fetc%2Fshadow/"),            # outside A's mail
        good.replace("/INBOX/", "/~%s%%2FINBOX/" % other_user.name),
        me + "example.com/INBOX/;uid=1;urlauth=authuser:internal:" + "0" * 40,
        me + "example.com/INBOX/;uid=1;urlauth=authuser:internal:" + token + "0",
    ]
    before = owner_files(user, spool)
    b = open_to(srv, who=other_user)
    assert fetch(b, *forged) == dict((f, None) for f in forged)
    assert owner_files(user, spool) == before
    assert fetch(b, good) == {good: PART1}


def test_owners_mail_untouched_by_a_fetch(srv, open_to, urls, user, other_user, spool):
    """A served fetch opens A's mailbox read-only: the mailbox (no \\Seen,
    no rewrite) and the key file as they were. Only the mbox driver's
    index cache may be written, as A's own read-only opens write it."""
    def mail(files):
        return {p: v for p, v in files.items() if "/.imapd-cache/" not in p}
    before = owner_files(user, spool)
    b = open_to(srv, who=other_user)
    assert fetch(b, urls["user"]) == {urls["user"]: PART1}
    assert mail(owner_files(user, spool)) == mail(before)
    a = open_to(srv, who=user)
    ok(a.command("EXAMINE INBOX"))
    f = ok(a.command("FETCH 1 FLAGS")).fetches()
    assert "\\Seen" not in f[1]["FLAGS"], f


@pytest.fixture
def b_secret(srv, open_to, mail_store, other_user):
    """B's INBOX holds SECRET; B's key file exists (B signed a URL)."""
    mail_store.write(other_user, [])
    b = open_to(srv, who=other_user)
    ok(b.command("APPEND INBOX ", Lit(SECRET)))
    gen(b, rump(other_user, "/INBOX/;uid=1", access="authuser"))
    return b


def swap_loop(path, targets, stop):
    """Replace path by each of targets (a link to it, or the saved file
    moved back) in turn until stop is set; the original is back at the end."""
    saved = path + ".saved-by-test"
    os.rename(path, saved)
    try:
        while not stop.is_set():
            for t in targets:
                tmp = path + ".swap"
                os.symlink(t, tmp)
                os.rename(tmp, path)
                time.sleep(0.001)
                os.link(saved, tmp)
                os.rename(tmp, path)
                time.sleep(0.001)
    finally:
        if os.path.lexists(path):
            os.unlink(path)
        os.rename(saved, path)


@pytest.mark.parametrize("which", ["key file", "mailbox"])
def test_links_swapped_into_owner_files(srv, open_to, urls, b_secret, user, other_user,
                                        spool, extra_users, which):
    """A's key file or A's INBOX swapped, over and over while C fetches, for
    links to B's file and to /etc/shadow: each answer is A's bytes or NIL,
    never the target's; with the link left in place, NIL."""
    path = (os.path.join(user.home, ".imapd-urlauth") if which == "key file"
            else os.path.join(spool.dir, user.name))
    theirs = (os.path.join(other_user.home, ".imapd-urlauth") if which == "key file"
              else os.path.join(spool.dir, other_user.name))
    c = open_to(srv, who=extra_users[0])
    url = urls["authuser"]
    stop = threading.Event()
    t = threading.Thread(target=swap_loop, args=(path, [theirs, "/etc/shadow"], stop))
    t.start()
    seen = set()
    try:
        for _ in range(15):
            got = fetch(c, url, url, url)[url]
            seen.add(got)
    finally:
        stop.set()
        t.join(10)
    assert seen <= {PART1, None}, seen
    for target in (theirs, "/etc/shadow"):
        saved = path + ".saved-by-test"
        os.rename(path, saved)
        os.symlink(target, path)
        try:
            assert fetch(c, url) == {url: None}
        finally:
            os.unlink(path)
            os.rename(saved, path)
    assert fetch(c, url) == {url: PART1}


def url_workers(imapd, uid):
    """imapd processes running as uid started by root (with no session of
    A's: URL workers; liblockfile's helper, forked by a worker, is not)."""
    out = []
    for pid, st in system.daemon_processes(imapd):
        try:
            if int(st["Uid"][0]) == uid and system.proc_status(st["PPid"][0])["Uid"][0] == "0":
                out.append(pid)
        except (OSError, KeyError):
            pass
    return out


@pytest.fixture
def worker_peak(imapd, user):
    """Watch A's URL workers: yields a list whose [0] becomes the most seen
    alive at once; at the end none may be left."""
    end = time.monotonic() + 10   # A's sessions (the fixtures') to end
    while url_workers(imapd, user.uid) and time.monotonic() < end:
        time.sleep(0.05)
    assert url_workers(imapd, user.uid) == []
    peak, stop = [0], threading.Event()

    def watch():
        while not stop.is_set():
            # seen in the scan and still there after it: alive together
            w = [p for p in url_workers(imapd, user.uid) if os.path.exists("/proc/" + p)]
            peak[0] = max(peak[0], len(w))
            time.sleep(0.002)
    t = threading.Thread(target=watch)
    t.start()
    yield peak
    stop.set()
    t.join(10)
    end = time.monotonic() + 10
    while url_workers(imapd, user.uid) and time.monotonic() < end:
        time.sleep(0.05)
    assert url_workers(imapd, user.uid) == []


def test_pipelined_fetches_answered_in_order(srv, open_to, urls, other_user, worker_peak):
    """One session pipelining commands of many URLs: every answer right,
    one worker at a time."""
    b = open_to(srv, who=other_user)
    good = urls["user"]
    bad = good[:-1] + ("0" if good[-1] != "0" else "1")
    line = "URLFETCH " + " ".join('"%s"' % u for u in [good, bad] * 10)
    b.send("".join("F%d %s\r\n" % (i, line) for i in range(5)))
    for i in range(5):
        r = b.read_until("F%d" % i)
        assert r.status == "OK" and len(r.untagged) == 1, r
        items = r.untagged[0][1:]
        assert [None if v is None else bytes(v) for v in items[1::2]] == [PART1, None] * 10
    assert worker_peak[0] <= 1, worker_peak


def test_request_flood_does_not_stack_workers(srv, open_to, urls, user, other_user,
                                              worker_peak):
    """A session sending P many requests at once (the XURLFLOOD test hook,
    what a compromised session could do) gets one worker at a time, and
    is served as before afterwards."""
    b = open_to(srv, who=other_user)
    for _ in range(3):
        r = b.command("XURLFLOOD %s %s" % (user.name, urls["user"]))
        if r.status == "BAD" and worker_peak[0] == 0:
            pytest.skip("built without -DPRIVSEP_TEST_HOOKS (make asan has them)")
    assert worker_peak[0] == 1, worker_peak
    assert fetch(b, urls["user"]) == {urls["user"]: PART1}


def test_one_log_line_per_request(syslog, srv, open_to, urls, user, other_user, extra_users):
    """P logs who asked, whose URL it was and the verdict, once each."""
    c = open_to(srv, who=extra_users[0])
    assert fetch(c, urls["user"], urls["authuser"]) == {urls["user"]: None,
                                                         urls["authuser"]: PART1}
    pat = r"URLFETCH user=%s owner=%s: (\S+)" % (re.escape(extra_users[0].name),
                                                 re.escape(user.name))
    lines = collect(syslog, pat.replace(r"(\S+)", "served"))
    verdicts = [m.group(1) for m in (re.search(pat, ln) for ln in lines) if m]
    assert verdicts == ["NIL", "served"], lines


def test_own_urls_still_served(srv, open_to, urls, user):
    """The owner's own URLs are still read by the session itself."""
    a = open_to(srv, who=user)
    assert fetch(a, urls["authuser"]) == {urls["authuser"]: PART1}


def test_check_names_the_submit_users(imapd, workdir, extra_users):
    """imapd --check says who may fetch submit+ URLs, and which listed
    name is nobody."""
    conf = os.path.join(workdir, "urlauth-check.conf")
    with open(conf, "w") as f:
        f.write("urlauth_submit_users = %s,nosuchuser0\n" % extra_users[1].name)
    p = subprocess.run([imapd, "--check", "--config", conf], capture_output=True,
                       text=True, timeout=30)
    lines = [ln for ln in p.stdout.splitlines() if "submit+" in ln]
    assert lines == ["ok: URLAUTH submit+ URLs may be fetched by %s" % extra_users[1].name,
                     "note: urlauth_submit_users names nosuchuser0, which is not a user: "
                     "nobody fetches submit+ URLs under that name"], p.stdout


def test_stuck_worker_is_killed(server_with, open_to, imapd, mail_store, user, other_user,
                                spool):
    """A worker that cannot finish (another process holds a write lock on
    A's INBOX, which a read-only open waits for) is killed after
    urlauth_timeout: NIL in that time, and the next URL is served."""
    srv2 = server_with("urlauth_timeout = 2s")
    mail_store.write(user, [])
    a = open_to(srv2, who=user)
    ok(a.command("APPEND INBOX ", Lit(MSG)))
    url = gen(a, rump(user, access="authuser"))
    a.command("LOGOUT")
    b = open_to(srv2, who=other_user)
    fd = os.open(os.path.join(spool.dir, user.name), os.O_RDWR)
    try:
        fcntl.lockf(fd, fcntl.LOCK_EX)
        start = time.monotonic()
        assert fetch(b, url) == {url: None}
        took = time.monotonic() - start
        # killed, not left waiting for the lock
        end = time.monotonic() + 2
        while url_workers(imapd, user.uid) and time.monotonic() < end:
            time.sleep(0.05)
        assert url_workers(imapd, user.uid) == []
    finally:
        os.close(fd)
    assert 1.5 < took < 6, took
    assert fetch(b, url) == {url: PART1}
