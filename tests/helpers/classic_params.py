# The rest of the classic headers, checked inside test_install (which has
# just installed the library): a program using mail_parameters() (every
# GET_/SET_ number of c-client 2007) and the TCP calls of tcp.h, compiled
# against the installed headers and linked to the installed shared library
# as a classic program is, run against a small server on loopback.
import os
import pwd
import socket
import subprocess
import threading

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def line_server():
    """Accepts once, reads a line, answers "+OK hi there" and 8 bytes, closes."""
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(1)
    heard = []

    def run():
        conn, _ = srv.accept()
        with conn, conn.makefile("rb") as f:
            heard.append(f.readline())
            conn.sendall(b"+OK hi there\r\nabcdefgh")
        srv.close()
    t = threading.Thread(target=run, daemon=True)
    t.start()
    return srv.getsockname()[1], heard, t


def parameters_and_tcp(inc, libdir, tmp_path):
    """params.c built with -I inc -L libdir answers exactly as expected."""
    prog = tmp_path / "params"
    subprocess.run(["cc", "-Wall", "-Werror", "-Wno-unused-parameter", "-o", str(prog),
                    os.path.join(REPO, "tests/data/classic/params.c"), "-I%s" % inc,
                    "-L%s" % libdir, "-lc-client"], check=True, timeout=120)
    port, heard, t = line_server()
    closed = socket.socket()
    closed.bind(("127.0.0.1", 0))   # bound, never listening: refused
    cport = closed.getsockname()[1]
    r = subprocess.run([str(prog), "127.0.0.1", str(port), str(cport)], stdin=subprocess.DEVNULL,
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=60,
                       env={"LD_LIBRARY_PATH": str(libdir), "PATH": "/usr/bin:/bin"})
    t.join(10)
    closed.close()
    me = pwd.getpwuid(os.getuid())
    assert r.returncode == 0, r.stderr
    assert heard == [b"HELLO\r\n"]
    assert r.stdout == (
        "ports 143 993 110 25 119\n"
        "modes 600 700\n"
        "user %s home %s\n"
        "sysinbox /var/spool/mail/%s newsrc %s/.newsrc\n"
        "disableplaintext 2\n"
        "newsspool (nil)\n"
        "newsspool /srv/news\n"
        "readtimeout 7 7\n"
        "driver mbx\n"
        "answered 27 unknown (nil)\n"
        "client UNKNOWN UNKNOWN -1\n"
        "tcp 127.0.0.1 [127.0.0.1] %d [127.x]\n"
        "line <+OK hi there>\n"
        "buffer 1 <abcdefgh>\n"
        "after end (nil)\n"
        "silent (nil)\n"
        "log: cannot connect to 127.0.0.1 port %d: Connection refused\n"
        "loud (nil)\n" % (me.pw_name, me.pw_dir, me.pw_name, me.pw_dir, port, cport)
    ), r.stdout
