# ipop2d (RFC 937) under a real super-server with real PAM users: HELO and
# the message count, READ/RETR with exact octet counts, ACKS/ACKD/NACK,
# deletions applied only at QUIT, nothing lost on a dropped connection, the
# shared POP maildrop lock, and the plaintext-password policy.
# IPOP2D selects the binary (make check: the sanitizer build).
import os
import socket
import subprocess
import time

import pytest

from helpers import mbox

TIMEOUT = 20


def config(workdir, name, spool, plaintext):
    p = os.path.join(workdir, name)
    with open(p, "w") as f:
        f.write("spool_dir = %s\nallow_plaintext = %s\n"
                % (spool.dir, "yes" if plaintext else "no"))
    os.chmod(p, 0o644)
    return p


@pytest.fixture(scope="session")
def pop2_server(launch_daemon, ipop2d, workdir, spool, pop_pam):
    return launch_daemon(argv=[ipop2d, "--config",
                               config(workdir, "pop2.conf", spool, True)])


@pytest.fixture(scope="session")
def pop2_strict(launch_daemon, ipop2d, workdir, spool, pop_pam):
    return launch_daemon(argv=[ipop2d, "--config",
                               config(workdir, "pop2-strict.conf", spool, False)])


class RawPOP2:
    def __init__(self, server):
        self.sock = socket.create_connection((server.host, server.port), TIMEOUT)
        self.f = self.sock.makefile("rb")
        self.greeting = self.line()

    def line(self):
        data = self.f.readline(1 << 20)
        if not data.endswith(b"\r\n"):
            raise EOFError("connection closed: %r" % data)
        return data[:-2].decode()

    def cmd(self, text):
        self.sock.sendall(text.encode() + b"\r\n")
        return self.line()

    def length(self, text):
        r = self.cmd(text)
        assert r.startswith("="), r
        return int(r[1:].split()[0])

    def retr(self, n):
        self.sock.sendall(b"RETR\r\n")
        return self.f.read(n)

    def close(self):
        self.f.close()
        self.sock.close()


@pytest.fixture
def pop2(pop2_server, fresh):
    conns = []

    def make(server=None):
        c = RawPOP2(server or pop2_server)
        conns.append(c)
        return c

    yield make
    for c in conns:
        c.close()
    # let the sessions notice their clients left before the next test
    time.sleep(0.3)


def spool_messages(spool, user):
    try:
        return [e.data for e in mbox.real_messages(spool.read(user))]
    except FileNotFoundError:
        return []


def helo(c, who):
    r = c.cmd("HELO %s %s" % (who.name, who.password))
    assert r.startswith("#"), r
    return int(r[1:].split()[0])


def test_greeting_and_helo_count(pop2, inbox, user):
    c = pop2()
    assert c.greeting.startswith("+")
    assert helo(c, user) == len(inbox)
    assert c.cmd("QUIT").startswith("+")


def test_wrong_password(pop2, user):
    c = pop2()
    assert c.cmd("HELO %s wrong" % user.name).startswith("-")
    assert c.cmd("READ").startswith("-"), "nothing before HELO"
    assert helo(c, user) == 0


def test_read_retr_acks_walks_the_mailbox(pop2, inbox, spool, user):
    c = pop2()
    helo(c, user)
    n = c.length("READ")
    for i, e in enumerate(inbox):
        assert n == len(e.crlf())
        assert c.retr(n) == e.crlf()
        n = c.length("ACKS")
    assert n == 0, "past the last message"
    assert c.cmd("QUIT").startswith("+")
    assert spool_messages(spool, user) == [e.data for e in inbox]


def test_ackd_deletes_at_quit_and_nack_keeps(pop2, inbox, spool, user):
    c = pop2()
    helo(c, user)
    n = c.length("READ 2")
    assert c.retr(n) == inbox[1].crlf()
    assert c.length("NACK") == n, "NACK: the same message again"
    assert c.retr(n) == inbox[1].crlf()
    assert c.length("ACKD") == len(inbox[2].crlf())
    assert c.length("READ 2") == 0, "a deleted message has no length"
    assert len(spool_messages(spool, user)) == len(inbox)
    assert c.cmd("QUIT").startswith("+")
    assert spool_messages(spool, user) == [e.data for i, e in enumerate(inbox) if i != 1]


def test_dropped_connection_deletes_nothing(pop2, inbox, spool, user):
    c = pop2()
    helo(c, user)
    n = c.length("READ 1")
    c.retr(n)
    c.length("ACKD")
    c.close()
    d = pop2()                  # waits for the maildrop lock to be free
    for _ in range(50):
        r = d.cmd("HELO %s %s" % (user.name, user.password))
        if r.startswith("#"):
            break
        d.close()
        time.sleep(0.2)
        d = pop2()
    assert r.startswith("#"), r
    d.cmd("QUIT")
    assert spool_messages(spool, user) == [e.data for e in inbox]


def test_fold_and_commands_out_of_order(pop2, inbox, user):
    c = pop2()
    helo(c, user)
    assert c.cmd("FOLD INBOX").startswith("#%d" % len(inbox))
    assert c.cmd("FOLD other").startswith("-")
    assert c.cmd("ACKS").startswith("-"), "nothing was sent"
    assert c.cmd("READ x").startswith("-")
    assert c.length("READ 99") == 0
    assert c.cmd("RETR").startswith("-")
    assert c.cmd("BOGUS").startswith("-")


def test_second_session_is_refused(pop2, inbox, user):
    a = pop2()
    helo(a, user)
    b = pop2()
    r = b.cmd("HELO %s %s" % (user.name, user.password))
    assert r.startswith("-") and "in use" in r, r
    assert a.cmd("QUIT").startswith("+")


def test_plaintext_refused_without_tls(pop2, pop2_strict, user):
    c = pop2(pop2_strict)
    r = c.cmd("HELO %s %s" % (user.name, user.password))
    assert r.startswith("-") and "TLS" in r, r


def test_refuses_to_start_as_a_user(ipop2d, user, san_env):
    env = {"PATH": "/usr/bin:/bin", "HOME": user.home}
    env.update(san_env)
    r = subprocess.run(["setpriv", "--reuid=%d" % user.uid, "--regid=%d" % user.gid,
                        "--init-groups", ipop2d], input=b"", stdout=subprocess.PIPE,
                       env=env, timeout=30)
    assert r.returncode == 1
    assert r.stdout.startswith(b"-") and b"root" in r.stdout
