"""Owning /dev/log for a test, the way a syslog daemon would.

The socket is drained by a thread: the kernel queues only a few datagrams
(net.unix.max_dgram_qlen), and a daemon (or PAM inside it) blocks in syslog()
when the queue is full, so reading only after a command could deadlock."""
import os
import re
import socket
import threading
import time

import pytest


class SyslogSink:
    def __init__(self, path="/dev/log"):
        self.path = path
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(path)
        os.chmod(path, 0o666)
        self.sock.settimeout(0.1)
        self.lines = []
        self.stop = False
        self.thread = threading.Thread(target=self.run, daemon=True)
        self.thread.start()

    def run(self):
        while not self.stop:
            try:
                self.lines.append(self.sock.recv(65536).decode("utf-8", "replace"))
            except socket.timeout:
                pass
            except OSError:
                return

    def close(self):
        self.stop = True
        self.thread.join()
        self.sock.close()
        os.unlink(self.path)


def collect(sink, pattern, timeout=10):
    """Wait until a line matching pattern arrived; return every line so far."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        lines = list(sink.lines)
        if any(re.search(pattern, l) for l in lines):
            return lines
        time.sleep(0.05)
    pytest.fail("no log line matching %r; got:\n%s" % (pattern, "\n".join(sink.lines)))
