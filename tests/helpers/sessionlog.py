# The log lines of one daemon session, told apart from those of everything
# else on the machine that logs to the same /dev/log: the session's pids
# (the root process and the one it forked), and a marker that shows every
# line the ended session sent has arrived.
import re
import socket
import time

from helpers import system
from helpers.syslogsink import collect


def session_pids(launcher, binary, timeout=10):
    """[root, child]: the daemon (binary) the launcher (a pid) started and
    the unprivileged process it forked to face the network, once both are
    there."""
    end = time.monotonic() + timeout
    while True:
        procs = {int(pid): int(st["PPid"][0]) for pid, st in system.daemon_processes(binary)}
        root = [pid for pid, ppid in procs.items() if ppid == launcher]
        kids = [pid for pid, ppid in procs.items() if root and ppid == root[0]]
        if kids:
            return root + kids[:1]
        assert time.monotonic() < end, "no session process under %d: %r" % (launcher, procs)
        time.sleep(0.02)


def wait_gone(pids, timeout=10):
    """Until every process in pids has exited (a zombie counts: its parent
    reaps it when it gets to it)."""
    end = time.monotonic() + timeout
    for pid in pids:
        while True:
            try:
                if system.proc_status(pid)["State"][0] == "Z":
                    break
            except OSError:
                break
            assert time.monotonic() < end, "session process %d still running" % pid
            time.sleep(0.05)


def lines_of(syslog, ident, pids):
    """What the processes pids (of program ident) logged, in order (other tests on this machine
    log here too). Called once they are gone: a marker sent to the log after
    that arrives after all of their lines (a datagram socket keeps the
    order), so none comes late."""
    marker = "sessionlog-marker-%d" % time.monotonic_ns()
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as s:
        s.sendto(marker.encode(), syslog.path)
    mine = re.compile(r"%s\[(%s)\]: " % (ident, "|".join(map(str, pids))))
    return [x.split("]: ", 1)[1] for x in collect(syslog, marker) if mine.search(x)]
