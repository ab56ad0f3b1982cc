# A real post: INN's innd (not nnrpd alone) on a private tree, with one
# group, takes articles from the classic nntp_open/nntp_mail/nntp_close
# (tests/data/classic/nntppost.c on our sanitizer library, STARTTLS
# verified against the test CA); each article is read back through our
# nntp driver (mtest) and through a raw socket, and the headers the program
# wrote and the body are compared byte for byte.
import os
import re
import socket
import ssl
import subprocess
import threading

import pytest

from helpers import launch
from test_classic_abi import ASAN_LIBDIR, libasan
from test_classic_smtp import build
from test_imap_client import mtest, pki, run_as  # noqa: F401 (fixtures)
from test_nntp_client import NEWSBIN, inn_root

INND = NEWSBIN + "/innd"
MAKEDBZ = NEWSBIN + "/makedbz"
CTLINND = NEWSBIN + "/ctlinnd"
SOURCE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "data/classic/nntppost.c")

# anyone on loopback reads and posts (RPA: read, post, no authentication)
READERS_CONF = """auth "loopback" {
    hosts: "127.0.0.1, localhost"
    default: "<local>"
}
access "loopback" {
    users: "<local>"
    newsgroups: "*"
    access: RPA
}
"""
# the articles innd gets from its own nnrpd are for it alone: no feeds
INCOMING_CONF = 'peer ME {\n    hostname: "localhost, 127.0.0.1"\n}\n'
NEWSFEEDS = "ME:*::\n"
ACTIVE = ("local.test 0000000000 0000000001 y\njunk 0000000000 0000000001 n\n"
          "control 0000000000 0000000001 n\ncontrol.cancel 0000000000 0000000001 n\n")

# What nntppost.c writes (Path aside: the server writes its own), as it
# must come back; its body's line with a dot went dot-stuffed.
HEADERS = [b"Newsgroups: local.test", b"Date: Sun, 6 Dec 2026 10:00:00 +0000",
           b"From: Poster <poster@example.org>", b"Subject: classic post",
           b"Message-ID: <{id}>", b"MIME-Version: 1.0",
           b"Content-Type: TEXT/PLAIN; CHARSET=US-ASCII"]
BODY = b"first line\r\n.a line with a dot\r\n\r\n"   # UW's library ended it so


@pytest.fixture(scope="module")
def innd(workdir, pki):
    """The port of a private innd (readers handed to its nnrpd) that holds
    local.test, empty."""
    if not os.access(INND, os.X_OK):
        pytest.fail("INN is not installed (apt-get install inn2)")
    root = os.path.join(workdir, "innd")
    port = launch.free_port()
    env = inn_root(root, port, pki, "good", READERS_CONF)
    with open(env["INNCONF"]) as f:
        conf = re.sub(r"(?m)^(bindaddress|mta):.*$", "", f.read())
    with open(env["INNCONF"], "w") as f:   # loopback only; no mail from INN
        f.write(conf + "bindaddress: 127.0.0.1\nmta: /bin/true\n")
    for name, text in (("etc/incoming.conf", INCOMING_CONF), ("etc/newsfeeds", NEWSFEEDS),
                       ("db/active", ACTIVE), ("db/history", "")):
        with open(os.path.join(root, name), "w") as f:
            f.write(text)
    subprocess.run(["chown", "-R", "news:news", root], check=True)
    news = ["setpriv", "--reuid=news", "--regid=news", "--init-groups"]
    subprocess.run(news + [MAKEDBZ, "-i", "-o"], env=env, cwd=os.path.join(root, "db"),
                   capture_output=True, timeout=60, check=True)
    p = subprocess.Popen(news + [INND, "-f"], env=env, cwd=root, stdout=subprocess.DEVNULL,
                         stderr=subprocess.DEVNULL)
    try:
        for _ in range(200):
            if launch.listening(port) or p.poll() is not None:
                break
            threading.Event().wait(0.05)
        assert p.poll() is None, "innd exited: see %s/log" % root
        yield port
    finally:
        subprocess.run(news + [CTLINND, "-t", "10", "shutdown", "test over"], env=env,
                       capture_output=True, timeout=30)
        try:
            p.wait(10)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait(10)


def raw_article(port, msgid):
    """ARTICLE <msgid> over a plain socket (MODE READER first): the
    article's bytes, dot-stuffing undone, CRLF lines."""
    with socket.create_connection(("127.0.0.1", port), 10) as s, s.makefile("rb") as f:
        assert f.readline().startswith(b"200 ")
        s.sendall(b"MODE READER\r\n")
        assert f.readline().startswith(b"200 ")
        s.sendall(b"ARTICLE <%s>\r\n" % msgid.encode())
        status = f.readline()
        assert status.startswith(b"220 "), status
        text = b""
        for line in f:
            if line == b".\r\n":
                break
            text += line[1:] if line.startswith(b"..") else line
        s.sendall(b"QUIT\r\n")
    return text


def check_article(text, msgid):
    """Every header line the program wrote, byte for byte (nnrpd writes
    the known ones in its own order), and the body as it was; the server's
    own lines (Path, Xref, ...) besides."""
    head, sep, body = text.partition(b"\r\n\r\n")
    assert sep and body == BODY, text
    lines = head.split(b"\r\n")
    ours = [h.replace(b"{id}", msgid.encode()) for h in HEADERS]
    assert sorted(line for line in lines if line in ours) == sorted(ours), text
    # the server put its names in front of the Path nntp_mail wrote
    assert re.fullmatch(rb"Path: \S+!%s!poster" % re.escape(socket.gethostname().encode()),
                        lines[0]), text


def post(prog, port, cafile, n, tag, opts=()):
    """nntppost run on our library: n articles to localhost (at :port, or
    with port None no port of its own), opts before the host."""
    env = {"LD_LIBRARY_PATH": ASAN_LIBDIR, "LD_PRELOAD": libasan(),
           "ASAN_OPTIONS": "detect_leaks=1:exitcode=99", "PATH": "/usr/bin:/bin"}
    if cafile:
        env["MAIL_CAFILE"] = cafile
    host = "localhost" if port is None else "localhost:%d" % port
    return subprocess.run([prog, *opts, host, "local.test", str(n), tag], env=env,
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                          timeout=60)


@pytest.fixture(scope="module")
def nntppost(tmp_path_factory):
    """nntppost.c built on our classic headers."""
    prog = str(tmp_path_factory.mktemp("nntppost") / "nntppost")
    build(SOURCE, "ours", prog)
    return prog


def test_classic_post_to_innd_reads_back(innd, pki, mtest, nntppost):
    prog = nntppost
    # nntp_open's STARTTLS checks the certificate: not one the system trusts
    r = post(prog, innd, None, 1, "untrusted")
    assert (r.stdout, r.returncode, r.stderr) == (
        "", 1, "error: TLS certificate of localhost not accepted: unable to get local issuer "
        "certificate\n")
    r = post(prog, innd, pki["ca"], 2, "real-post")
    assert (r.stdout, r.returncode) == ("open post=1\nposted 240\nposted 240\n", 0), r.stderr
    ids = ["real-post.%d@example.org" % i for i in (1, 2)]
    for msgid in ids:
        check_article(raw_article(innd, msgid), msgid)
    name = "{localhost:%d/nntp}local.test" % innd
    got = mtest("open -r " + name, "fetch 1", "fetch 2")
    assert got.returncode == 0, got.stderr
    out = got.stdout
    assert out.startswith(b"%s: 2 messages" % name.encode()), out
    texts = re.findall(rb"(?s)-- message \d+, (\d+) octets\n(.*?)\n-- end\n", out)
    assert len(texts) == 2, out
    for (size, text), msgid in zip(texts, ids):
        assert int(size) == len(text)
        check_article(text, msgid)
        assert text == raw_article(innd, msgid)   # the two readers agree


# ---------------------------------------------- nntp_open_full's arguments

def closed_port():
    """A port bound here and never listening (a connection is refused)."""
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    return s


def test_port_argument_unless_host_names_one(innd, pki, nntppost):
    with closed_port() as nobody:
        r = post(nntppost, None, pki["ca"], 1, "port-arg", ["-p", str(innd)])
        assert (r.stdout, r.returncode) == ("open post=1\nposted 240\n", 0), r.stderr
        # the host's own :port wins over the argument
        r = post(nntppost, innd, pki["ca"], 1, "host-port",
                 ["-p", str(nobody.getsockname()[1])])
        assert (r.stdout, r.returncode) == ("open post=1\nposted 240\n", 0), r.stderr
    for tag in ("port-arg", "host-port"):
        check_article(raw_article(innd, tag + ".1@example.org"), tag + ".1@example.org")


def test_tryssl_without_nntps_goes_on_with_starttls(innd, pki, nntppost):
    """No TLS listener at the nntps port: the plain port, STARTTLS verified
    (without the test CA the certificate is refused there)."""
    with closed_port() as nobody:
        opts = ["-t", "-S", str(nobody.getsockname()[1]), "-p", str(innd)]
        r = post(nntppost, None, pki["ca"], 1, "tryssl", opts)
        assert (r.stdout, r.returncode) == ("open post=1\nposted 240\n", 0), r.stderr
        r = post(nntppost, None, None, 1, "tryssl-untrusted", opts)
        assert (r.stdout, r.returncode, r.stderr) == (
            "", 1, "error: TLS certificate of localhost not accepted: unable to get local "
            "issuer certificate\n")
    check_article(raw_article(innd, "tryssl.1@example.org"), "tryssl.1@example.org")


def test_tryssl_bad_certificate_never_goes_on_in_clear(pki, nntppost):
    """An nntps listener whose certificate names another host: the error,
    one TLS connection made, and none to the plain port."""
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(os.path.join(pki["dirs"]["wrong-name"], "certs", "imapd.pem"))
    accepted = []
    with socket.socket() as nntps, socket.socket() as plain:
        for s in (nntps, plain):
            s.bind(("127.0.0.1", 0))
            s.listen(4)

        def serve():
            conn, _ = nntps.accept()
            accepted.append(conn)
            try:
                ctx.wrap_socket(conn, server_side=True).sendall(b"200 ready\r\n")
            except (ssl.SSLError, OSError):
                pass   # the client refused the certificate
        t = threading.Thread(target=serve, daemon=True)
        t.start()
        r = post(nntppost, None, pki["ca"], 1, "badcert",
                 ["-t", "-S", str(nntps.getsockname()[1]), "-p", str(plain.getsockname()[1])])
        t.join(10)
        plain.setblocking(False)
        with pytest.raises(BlockingIOError):   # nothing waits in its backlog
            plain.accept()
    assert (r.stdout, r.returncode, r.stderr) == (
        "", 1, "error: TLS certificate of localhost not accepted: hostname mismatch\n")
    assert len(accepted) == 1


def test_readonly_never_posts(innd, pki, nntppost):
    r = post(nntppost, innd, pki["ca"], 1, "readonly", ["-r"])
    assert (r.stdout, r.returncode, r.stderr) == (
        "open post=0\nfailed 441\n", 1, "error: localhost: NNTP stream opened read-only "
        "(NOP_READONLY), not posting\n")
    # innd hands the connection to nnrpd on MODE READER: one command at a time
    with socket.create_connection(("127.0.0.1", innd), 10) as s, s.makefile("rb") as f:
        for cmd, code in ((None, b"200 "), (b"MODE READER", b"200 "),
                          (b"STAT <readonly.1@example.org>", b"430 ")):
            if cmd:
                s.sendall(cmd + b"\r\n")
            line = f.readline()
            assert line.startswith(code), (cmd, line)   # 430: no such article there
        s.sendall(b"QUIT\r\n")
