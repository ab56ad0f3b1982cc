# Helpers for tests that follow a mailbox the way a mail client does: a model
# of one session's message numbers and UIDs kept up to date from untagged
# EXISTS/EXPUNGE/FETCH responses, generated messages with unique ids, UID
# sets, waiting for unsolicited responses, and finding the daemon process
# that serves one connection.
import fcntl
import os
import pwd
import re
import socket
import threading
import time

from helpers import mbox, system
from helpers.imapclient import parse


def make_message(n, size=400, tag="msg"):
    """An Entry with a unique Message-ID <tag-n@test> and about size bytes;
    no body line starts with "From " so mbox quoting cannot change it."""
    head = ("Date: Mon, 1 Mar 2027 10:%02d:%02d +0000\n"
            "From: Sender %d <sender%d@example.org>\n"
            "To: user@example.net\n"
            "Subject: %s number %d\n"
            "Message-ID: <%s-%d@test>\n"
            "\n" % (n // 60 % 60, n % 60, n, n, tag, n, tag, n)).encode()
    line = ("%s %d: the quick brown fox jumps over the lazy dog %08d\n"
            % (tag, n, n)).encode()
    body = bytearray()
    i = 0
    while len(head) + len(body) < size:
        body += line.replace(b"%08d" % n, b"%08d" % i)
        i += 1
    if not body:
        body = line
    return mbox.Entry(head + bytes(body), sender="sender%d@example.org" % n)


def tagged_message(who, i):
    """A small CRLF message naming its writer and its number."""
    w = who.encode()
    return b"From: %s@example.com\r\nSubject: %s %d\r\n\r\nbody %s %d\r\n" % (w, w, i, w, i)


def appends_beside(connect, box, n, other, selected=False):
    """Sessions "a" and "b" each APPEND n tagged messages to box while
    other() runs (another program delivering to it); with selected, "b"
    has box selected and marks it all \\Seen after each append, so flag
    writes race the appends too."""
    from helpers.imapclient import Lit

    def appends(who):
        s = connect()
        if selected and who == "b":
            assert s.command("SELECT %s" % box).ok
        for i in range(n):
            r = s.command("APPEND %s " % box, Lit(tagged_message(who, i)))
            assert r.ok, r
            if selected and who == "b":
                assert s.command("STORE 1:* +FLAGS.SILENT (\\Seen)").ok
    threads = [threading.Thread(target=appends, args=(w,)) for w in ("a", "b")]
    for t in threads:
        t.start()
    other()
    for t in threads:
        t.join()


def message_id(data):
    """The Message-ID of message bytes (LF or CRLF), or None."""
    m = re.search(rb"(?mi)^Message-ID:\s*(<[^>]*>)", data)
    return m.group(1).decode() if m else None


def uid_set(s):
    """'1:3,7' -> [1, 2, 3, 7] (UIDPLUS sets; a:b in either order)."""
    out = []
    for part in str(s).split(","):
        if ":" in part:
            a, b = (int(x) for x in part.split(":"))
            lo, hi = min(a, b), max(a, b)
            out.extend(range(lo, hi + 1))
        else:
            out.append(int(part))
    return out


def upper(flags):
    return {f.upper() for f in flags}


class View:
    """One session's idea of the selected mailbox: uids[i] is the UID of
    message i+1 (None until a FETCH told us). apply() follows the server's
    untagged responses and checks they are consistent as it goes."""

    def __init__(self, uids):
        self.uids = list(uids)
        self.flags = {}

    @classmethod
    def of(cls, c):
        r = c.command("UID FETCH 1:* (UID FLAGS)")
        assert r.ok, r
        f = r.fetches()
        n = max(f) if f else 0
        v = cls([None] * n)
        v.apply(r)
        return v

    def apply(self, r):
        """Follow the untagged responses of one result in order."""
        for u in r.untagged:
            if len(u) < 2 or not isinstance(u[0], str) or not u[0].isdigit():
                continue
            n, what = int(u[0]), str(u[1]).upper()
            if what == "EXPUNGE":
                assert 1 <= n <= len(self.uids), \
                    "EXPUNGE %d with %d messages" % (n, len(self.uids))
                uid = self.uids.pop(n - 1)
                self.flags.pop(uid, None)
            elif what == "EXISTS":
                assert n >= len(self.uids), \
                    "EXISTS went down from %d to %d without EXPUNGE" % (
                        len(self.uids), n)
                self.uids.extend([None] * (n - len(self.uids)))
            elif what == "FETCH":
                assert 1 <= n <= len(self.uids), \
                    "FETCH %d with %d messages" % (n, len(self.uids))
                d = _pairs(u[2])
                if "UID" in d:
                    uid = int(d["UID"])
                    assert self.uids[n - 1] in (None, uid), \
                        "message %d changed UID %s -> %s" % (
                            n, self.uids[n - 1], uid)
                    self.uids[n - 1] = uid
                if "FLAGS" in d and self.uids[n - 1] is not None:
                    self.flags[self.uids[n - 1]] = upper(d["FLAGS"])
        return r

    def fill(self, c):
        """Ask for the UIDs we do not know yet."""
        if None in self.uids:
            first = self.uids.index(None) + 1
            self.apply(c.command("FETCH %d:* (UID FLAGS)" % first))
        assert None not in self.uids, self.uids


def _pairs(lst):
    d = {}
    for k in range(0, len(lst) - 1, 2):
        d[lst[k].upper() if isinstance(lst[k], str) else lst[k]] = lst[k + 1]
    return d


def bodies_by_id(c):
    """{Message-ID: [BODY[] bytes, ...]} of every message in the selected
    mailbox (a list so duplicates show)."""
    r = c.command("FETCH 1:* (UID BODY.PEEK[])")
    assert r.ok, r
    out = {}
    for seq, d in sorted(r.fetches().items()):
        data = bytes(d["BODY[]"])
        out.setdefault(message_id(data), []).append(data)
    return out


def wait_response(c, timeout):
    """The next response (raw bytes) within timeout seconds, None on
    timeout. After a timeout the connection must not be used again (the
    socket file object refuses further reads), so call this only where a
    timeout ends the test."""
    old = c.sock.gettimeout()
    c.sock.settimeout(timeout)
    try:
        return c.read_response()
    except (socket.timeout, TimeoutError):
        return None
    finally:
        try:
            c.sock.settimeout(old)
        except OSError:
            pass


def idle_sees_delivery_and_flags(c, other, mailbox, deliver):
    """c idles on mailbox (selected); deliver() puts one message in: the
    client must hear "* 1 EXISTS" within a second, and within a second of
    other's STORE of \\Flagged on it, the FETCH (no poll is that fast)."""
    tag = c.next_tag()
    c.send("%s IDLE\r\n" % tag)
    assert c.read_response().startswith(b"+")
    time.sleep(0.3)
    deliver()
    t0 = time.monotonic()
    resp = wait_response(c, 3)
    assert resp == b"* 1 EXISTS", resp
    assert time.monotonic() - t0 < 1.0, "new mail took too long to reach the idling client"
    while not resp.endswith(b"RECENT"):
        resp = wait_response(c, 3)
    assert other.command("SELECT %s" % mailbox).ok
    assert other.command("STORE 1 +FLAGS.SILENT (\\Flagged)").ok
    t0 = time.monotonic()
    resp = wait_response(c, 3)
    assert resp is not None and b"FETCH" in resp and b"\\Flagged" in resp, resp
    assert time.monotonic() - t0 < 1.0
    c.send("DONE\r\n")
    assert c.read_until(tag).ok


def parse_untagged(raw):
    return parse(raw[2:]) if raw.startswith(b"* ") else None


# ------------------------------------------------------------ processes

def _socket_inodes_for_peer(local_port, remote_port):
    """Inodes of TCP sockets on 127.0.0.1 whose local port is local_port and
    whose peer port is remote_port (the server side of one connection)."""
    out = set()
    for name in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            with open(name) as f:
                next(f)
                for line in f:
                    fields = line.split()
                    lp = int(fields[1].rsplit(":", 1)[1], 16)
                    rp = int(fields[2].rsplit(":", 1)[1], 16)
                    if lp == local_port and rp == remote_port:
                        out.add(fields[9])
        except FileNotFoundError:
            pass
    return out


def server_pid(c):
    """Pid of the daemon process that serves connection c: after login the
    session process (see _session_beside), else the process that holds the
    server end of the socket (the super-server hands it to one process)."""
    holder = _socket_holder(c)
    return _session_beside(holder) or holder if holder else holder


def _session_beside(holder):
    """Under privilege separation the process holding the socket is the
    pre-login process, running as the prelogin user; once a login succeeds
    the root monitor forks the session beside it, as the user. That
    sibling, if there is one (a PAM worker, also beside it, runs as root)."""
    try:
        pre_uid = pwd.getpwnam("uwimap").pw_uid
        st = system.proc_status(holder)
        exe = os.readlink("/proc/%d/exe" % holder)
    except (KeyError, OSError):
        return None
    if st["Uid"][0] != str(pre_uid):
        return None
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            sib = system.proc_status(pid)
            if (int(pid) != holder and sib["PPid"] == st["PPid"] and
                    sib["Uid"][0] not in ("0", str(pre_uid)) and
                    os.readlink("/proc/%s/exe" % pid) == exe):
                return int(pid)
        except OSError:
            continue
    return None


def _socket_holder(c):
    """Pid of the daemon process that holds the server end of connection c."""
    my_port = c.sock.getsockname()[1]
    srv_port = c.sock.getpeername()[1]
    want = {"socket:[%s]" % i for i in _socket_inodes_for_peer(srv_port, my_port)}
    found = set()
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            fds = os.listdir("/proc/%s/fd" % pid)
        except OSError:
            continue
        for fd in fds:
            try:
                if os.readlink("/proc/%s/fd/%s" % (pid, fd)) in want:
                    found.add(int(pid))
                    break
            except OSError:
                continue
    # the super-server may still hold the socket for a moment after fork;
    # the daemon is the process whose executable is not the launcher
    daemons = [p for p in found if not _is_launcher(p)]
    return daemons[0] if len(daemons) == 1 else None


def _is_launcher(pid):
    try:
        exe = os.path.basename(os.readlink("/proc/%d/exe" % pid))
    except OSError:
        return True
    return exe in ("systemd-socket-activate", "xinetd")


# ------------------------------------------------------------ delivery

def deliver_quick(spool, user, entry, timeout=30):
    """Deliver like Spool.deliver (dotlock, then fcntl, append, unlock) but
    retry the dotlock every 10 ms instead of dotlockfile's 5 s back-off, so
    a busy test makes many more lock collisions in less time. The dotlock
    is taken the liblockfile way: link() of a private file holding our pid."""
    p = spool.path(user)
    lock = p + ".lock"
    mine = "%s.%d.%d" % (lock, os.getpid(), threading.get_ident())
    with open(mine, "w") as f:
        f.write("%d\n" % os.getpid())
    end = time.monotonic() + timeout
    try:
        while True:
            try:
                os.link(mine, lock)
                break
            except FileExistsError:
                if time.monotonic() > end:
                    raise TimeoutError("dotlock %s held for %ds" % (lock, timeout))
                time.sleep(0.01)
    finally:
        os.unlink(mine)
    try:
        fd = os.open(p, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o660)
        try:
            while True:
                try:
                    fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except OSError:
                    if time.monotonic() > end:
                        raise
                    time.sleep(0.01)
            os.fchown(fd, user.uid, spool.mail_gid)
            os.write(fd, mbox.entry_bytes(entry))
            os.fsync(fd)
            fcntl.lockf(fd, fcntl.LOCK_UN)
        finally:
            os.close(fd)
    finally:
        os.unlink(lock)
