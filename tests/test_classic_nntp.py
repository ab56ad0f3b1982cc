# The classic posting calls (nntp_open, nntp_mail, nntp_close:
# c-client/classic/cl_nntp.c, header nntp.h) as a program written for
# c-client 2007 uses them: tests/data/classic/nntppost.c, built against our
# classic headers and run on our library (its sanitizer build), and built against Debian's
# libc-client, posts to a small NNTP server the test plays; the articles
# both send are compared, two articles go on the one connection nntp_open
# made, and a refusal reaches the program as 441. (A real post, to INN's
# innd, is test_nntp_post.py's.)
import os
import socket
import subprocess
import threading

from test_classic_abi import ASAN_LIBDIR, libasan
from test_classic_smtp import build

HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE = os.path.join(HERE, "data/classic/nntppost.c")


class NewsServer(threading.Thread):
    """Answers as a reader server that lets anyone POST (or, with refuse,
    refuses the article); .articles holds the articles received, as sent
    (dot-stuffed lines, CRLF)."""

    def __init__(self, refuse=False):
        super().__init__(daemon=True)
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(4)
        self.port = self.sock.getsockname()[1]
        self.refuse, self.articles, self.commands = refuse, [], []
        self.start()

    def run(self):
        self.sock.settimeout(30)
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            with conn, conn.makefile("rb") as f:
                self.session(conn, f)

    def session(self, conn, f):
        conn.sendall(b"200 news ready, posting allowed\r\n")
        for line in f:
            cmd = line.rstrip(b"\r\n").upper()
            self.commands.append(cmd)
            if cmd == b"CAPABILITIES":
                conn.sendall(b"101 caps\r\nVERSION 2\r\nREADER\r\nPOST\r\n.\r\n")
            elif cmd == b"MODE READER":
                conn.sendall(b"200 reader\r\n")
            elif cmd == b"POST":
                conn.sendall(b"340 send it\r\n")
                art = b""
                for body in f:
                    if body == b".\r\n":
                        break
                    art += body
                self.articles.append(art)
                conn.sendall(b"441 posting failed: no such group\r\n" if self.refuse
                             else b"240 article received\r\n")
            elif cmd == b"QUIT":
                conn.sendall(b"205 bye\r\n")
                return
            else:
                conn.sendall(b"500 what?\r\n")


def post(prog, srv, lib, n=1):
    env = {"LD_LIBRARY_PATH": ASAN_LIBDIR, "LD_PRELOAD": libasan(),
           "ASAN_OPTIONS": "detect_leaks=1:exitcode=99"} if lib == "ours" else {}
    p = subprocess.run([prog, "127.0.0.1:%d/notls" % srv.port, "local.test", str(n)], env=env,
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=60)
    return p.stdout, p.stderr, p.returncode


def test_nntp_mail_posts_as_debian_library_does(tmp_path):
    progs = {}
    for lib in ("ours", "debian"):
        progs[lib] = str(tmp_path / ("nntppost-" + lib))
        build(SOURCE, lib, progs[lib])
    got = {}
    for lib, prog in progs.items():
        srv = NewsServer()
        out, err, rc = post(prog, srv, lib, 2)
        assert (out, rc) == ("open post=1\nposted 240\nposted 240\n", 0), \
            (lib, out, err, srv.commands)
        got[lib] = srv.articles
        if lib == "ours":   # one connection, made by nntp_open, ended by nntp_close
            assert srv.commands == [b"CAPABILITIES", b"POST", b"POST", b"QUIT"]
    assert got["ours"] == got["debian"], got
    art = got["ours"][0]
    assert art.startswith(b"Path: %s!poster\r\nNewsgroups: local.test\r\nDate: Sun, 6 Dec"
                          % socket.gethostname().encode())
    assert b"\r\nContent-Type: TEXT/PLAIN; CHARSET=US-ASCII\r\n" in art
    assert art.endswith(b"\r\n\r\nfirst line\r\n..a line with a dot\r\n\r\n")   # dot-stuffed
    refused = NewsServer(refuse=True)
    out, err, rc = post(progs["ours"], refused, "ours")
    assert (out, rc) == ("open post=1\nfailed 441\n", 1)
    assert "error: 441 posting failed: no such group\n" in err


def test_nntp_open_connects(tmp_path):
    """nntp_open itself connects: with no server there, it returns NIL
    after an mm_log error, before any article is written."""
    prog = str(tmp_path / "nntppost-ours")
    build(SOURCE, "ours", prog)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))   # bound, never listening: refused
        nobody = type("Nobody", (), {"port": s.getsockname()[1]})
        out, err, rc = post(prog, nobody, "ours")
    assert (out, rc) == ("", 1), err
    assert err == "error: cannot connect to 127.0.0.1 port %d: Connection refused\n" % \
        nobody.port
