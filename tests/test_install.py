# `make install` with DESTDIR and PREFIX puts the daemons, the man pages and
# the example launcher and PAM files where a packager expects them, with the
# real paths filled in; `make uninstall` takes them away again.
import os
import re
import subprocess

from helpers import classic_params

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def make(*args):
    r = subprocess.run(["make", "-s", "-C", REPO] + list(args),
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=600)
    assert r.returncode == 0, r.stdout.decode(errors="replace")


def files_under(root):
    out = []
    for d, _, names in os.walk(root):
        out += [os.path.relpath(os.path.join(d, n), root) for n in names]
    return sorted(out)


CLASSIC_HEADERS = ("c-client.h", "mail.h", "rfc822.h", "misc.h", "smtp.h", "nntp.h", "utf8.h",
                   "linkage.h", "osdep.h", "env.h", "fs.h", "tcp.h", "linkage.c")


def test_install_and_uninstall(tmp_path):
    dest = tmp_path / "root"
    make("install", "DESTDIR=%s" % dest, "PREFIX=/opt/mail", "SSLDIR=/etc/mailssl")
    got = files_under(dest)
    for want in ["opt/mail/sbin/imapd",
                 "opt/mail/bin/mailutil",
                 "opt/mail/share/man/man1/mailutil.1",
                 "opt/mail/bin/tmail", "opt/mail/bin/dmail",
                 "opt/mail/share/man/man1/tmail.1", "opt/mail/share/man/man1/dmail.1",
                 "opt/mail/share/man/man8/imapd.8",
                 "opt/mail/share/man/man5/imapd.conf.5",
                 "opt/mail/share/doc/uw-imap/examples/inetd.conf",
                 "opt/mail/share/doc/uw-imap/examples/xinetd.d/imaps",
                 "opt/mail/share/doc/uw-imap/examples/systemd/imaps.socket",
                 "opt/mail/share/doc/uw-imap/examples/systemd/imaps@.service",
                 "opt/mail/share/doc/uw-imap/examples/pam.d/imap",
                 "opt/mail/lib/libc-client.a", "opt/mail/lib/libc-client.so.1",
                 "opt/mail/lib/libc-client.so.2007e", "opt/mail/lib/libc-client.so",
                 "opt/mail/lib/pkgconfig/c-client.pc"]:
        assert want in got, got
    # every classic header issue 13 names, and the linkage.c programs include
    for name in CLASSIC_HEADERS:
        assert "opt/mail/include/c-client/" + name in got, (name, got)
    assert os.access(dest / "opt/mail/sbin/imapd", os.X_OK)
    r = subprocess.run([str(dest / "opt/mail/sbin/imapd"), "--version"],
                       stdout=subprocess.PIPE, timeout=10)
    assert r.returncode == 0 and r.stdout.startswith(b"imapd ")
    for prog in ("tmail", "dmail"):
        r = subprocess.run([str(dest / "opt/mail/bin" / prog), "--version"],
                           stdout=subprocess.PIPE, timeout=10)
        assert r.returncode == 0 and r.stdout.startswith(prog.encode() + b" "), r

    # every placeholder in text files became a real path
    for rel in got:
        if "/sbin/" in rel or "/bin/" in rel or "/lib/libc-client." in rel:
            continue
        text = (dest / rel).read_text()
        assert not re.search(r"@[A-Z]+@", text), rel
    svc = (dest / "opt/mail/share/doc/uw-imap/examples/systemd/imaps@.service").read_text()
    assert "ExecStart=/opt/mail/sbin/imapd --tls" in svc
    xinetd = (dest / "opt/mail/share/doc/uw-imap/examples/xinetd.d/imap").read_text()
    assert re.search(r"server\s*=\s*/opt/mail/sbin/imapd", xinetd)
    assert re.search(r"per_source\s*=\s*\d+", xinetd)
    sock = (dest / "opt/mail/share/doc/uw-imap/examples/systemd/imaps.socket").read_text()
    assert "Accept=yes" in sock and "MaxConnectionsPerSource=" in sock
    man = (dest / "opt/mail/share/man/man8/imapd.8").read_text()
    assert "/etc/mailssl/certs/imapd.pem" in man
    man = (dest / "opt/mail/share/man/man1/tmail.1").read_text()
    assert 'mailbox_command = /opt/mail/bin/tmail \\-f "$SENDER" "$USER"' in man

    classic_program_builds_and_runs(dest, tmp_path)
    classic_params.parameters_and_tcp(dest / "opt/mail/include/c-client", dest / "opt/mail/lib",
                                      tmp_path)

    make("uninstall", "DESTDIR=%s" % dest, "PREFIX=/opt/mail", "SSLDIR=/etc/mailssl")
    assert files_under(dest) == []


def classic_box(tmp_path):
    """A two-message mbox for the classic status.c program."""
    box = tmp_path / "box"
    box.write_bytes(b"From a@example.com Sat Jan  1 10:00:00 2022\nSubject: one\n"
                    b"Status: RO\n\nfirst\n\n"
                    b"From b@example.com Sun Jan  2 11:30:00 2022\nSubject: two\n"
                    b"X-Status: F\n\nsecond\n")
    return box


def classic_listing(box):
    """What status.c prints for classic_box. The second message has no
    Status O: it is new (recent). Internal dates come from the From lines
    (local time, UTC on the test machines); sizes are of the CRLF text with
    the state headers hidden."""
    return ("%s: 2 messages, 1 recent, 1 unseen\n"
            "1: uid 1 seen  1-Jan-2022 10:00:00 +0000 23\n"
            "2: uid 2 flagged  2-Jan-2022 11:30:00 +0000 24\n" % box)


def classic_program_builds_and_runs(dest, tmp_path):
    """A program written for the classic headers (tests/data/classic/
    status.c) compiles against the installed ones with the flags pkg-config
    gives, links to the installed shared library, and reads a mailbox; linked
    to the installed libc-client.a with `pkg-config --static` (its
    Libs.private), it needs nothing more and reads the same."""
    pc = dest / "opt/mail/lib/pkgconfig"
    lib = dest / "opt/mail/lib"

    def pkg_flags(*extra):
        r = subprocess.run(["pkg-config", "--cflags", "--libs"] + list(extra) + ["c-client"],
                           text=True, env={"PKG_CONFIG_PATH": str(pc),
                                           "PKG_CONFIG_SYSROOT_DIR": str(dest),
                                           "PATH": "/usr/bin:/bin"},
                           stdout=subprocess.PIPE, check=True)
        return r.stdout.split()

    flags = pkg_flags()
    assert "-I%s/opt/mail/include/c-client" % dest in flags, flags
    static = [str(lib / "libc-client.a") if f == "-lc-client" else f
              for f in pkg_flags("--static")]
    assert "-lidn" in static and "-lpam" in static, static
    box = classic_box(tmp_path)
    for name, link in (("status", flags), ("status-static", static)):
        prog = tmp_path / name
        subprocess.run(["cc", "-Wall", "-Werror", "-Wno-unused-parameter", "-o", str(prog),
                        os.path.join(REPO, "tests/data/classic/status.c")] + link,
                       check=True, timeout=120)
        env = {"PATH": "/usr/bin"}
        if name == "status":
            env["LD_LIBRARY_PATH"] = str(lib)
        r = subprocess.run([str(prog), str(box)], stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, text=True, timeout=60, env=env)
        assert (r.returncode, r.stdout) == (0, classic_listing(box)), (name, r.stderr)


def test_classic_build_lines(tmp_path):
    """What the classic guides type still works: `make slx SSLTYPE=unix`
    (and the other port names) is this build with that SSLTYPE, said in one
    line; the library is also where the guides copy it from."""
    for port in ("slx", "lnp", "ldb"):
        r = subprocess.run(["make", "-n", "-C", REPO, "O=%s" % (tmp_path / port), port,
                            "SSLTYPE=unix"], stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, timeout=120, text=True)
        assert r.returncode == 0, r.stdout
        assert ("make %s: the classic port names all build the same thing now: "
                "make all SSLTYPE=unix" % port) in r.stdout, r.stdout
        # SSLTYPE=unix: plaintext passwords allowed by default, OpenSSL linked
        assert "-DALLOW_PLAINTEXT_DEFAULT=1" in r.stdout, r.stdout
        assert re.search(r"-o \S*/imapd/imapd .*-lssl", r.stdout), r.stdout
    make("all")
    lib = os.path.join(REPO, "c-client", "c-client.a")
    with open(lib, "rb") as f:
        assert f.read(8) == b"!<arch>\n"
    # the classic interface, as its headers declare it: the classic calls
    # and driver objects, and nothing of the native library or the bridge
    names = subprocess.run(["nm", "-g", "--defined-only", lib], stdout=subprocess.PIPE,
                           text=True, check=True).stdout.split()
    for sym in ("mail_open", "mail_fetch_structure", "mail_parameters", "mixdriver",
                "auth_link"):
        assert sym in names, sym
    assert not [n for n in names if n.startswith(("clb_", "cl_", "mail_session"))], names
    # as the guides build against the tree: -I c-client (the classic
    # headers are there), c-client.a, and the libraries c-client/LDFLAGS names
    with open(os.path.join(REPO, "c-client", "LDFLAGS")) as f:
        ldflags = f.read().split()
    prog, box = tmp_path / "status", classic_box(tmp_path)
    subprocess.run(["cc", "-Wall", "-Werror", "-Wno-unused-parameter", "-o", str(prog),
                    "-I%s" % os.path.join(REPO, "c-client"),
                    os.path.join(REPO, "tests/data/classic/status.c"), lib] + ldflags,
                   check=True, timeout=120)
    r = subprocess.run([str(prog), str(box)], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       text=True, timeout=60, env={"PATH": "/usr/bin"})
    assert (r.returncode, r.stdout) == (0, classic_listing(box)), r.stderr


def test_first_build_of_a_fresh_tree_uses_the_project_rules(tmp_path):
    """In a tree never built (no .build-flags yet), `make` compiles with the
    project's flags, not make's built-in %.o rule (which knows no
    -D_GNU_SOURCE, and so failed on O_PATH)."""
    files = subprocess.run(["git", "-C", REPO, "ls-files", "-z"], check=True,
                           stdout=subprocess.PIPE).stdout.split(b"\0")
    for rel in filter(None, files):
        src = os.path.join(REPO, rel.decode())
        if os.path.isfile(src):
            dst = tmp_path / rel.decode()
            dst.parent.mkdir(parents=True, exist_ok=True)
            dst.write_bytes(open(src, "rb").read())
    r = subprocess.run(["make", "-n", "-C", str(tmp_path), "c-client/fsafe.o"],
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=120, text=True)
    assert r.returncode == 0, r.stdout
    assert re.search(r"-D_GNU_SOURCE .*-c -o c-client/fsafe.o c-client/fsafe.c", r.stdout), r.stdout
