# The library as an NNTP client: mtest and mailutil open "{host/nntp}group"
# on Debian's INN (its nnrpd on a private spool, started here on loopback,
# STARTTLS with the test CA of test_imap_client.py, AUTHINFO checked by its
# ckpasswd), keep \Seen in ~/.newsrc as newsreaders do (never through a
# link), and refuse a certificate for another name with its exact text.
import os
import re
import shutil
import subprocess
import threading

import pytest

from helpers import launch
from helpers.tls import write
from test_classic_abi import libdir, php_net  # noqa: F401
from test_imap_client import ScriptServer, mtest, pki, run_as, shown  # noqa: F401

NEWSBIN = "/usr/lib/news/bin"
NNRPD = NEWSBIN + "/nnrpd"
MAKEHISTORY = NEWSBIN + "/makehistory"
CKPASSWD = NEWSBIN + "/auth/passwd/ckpasswd"

READERS_CONF = """auth "all" {{
    hosts: "*"
    auth: "ckpasswd -f {root}/etc/nntp.passwd"
    default: "<anon>"
}}
access "users" {{
    users: "*"
    newsgroups: "*"
}}
access "anon" {{
    users: "<anon>"
    newsgroups: "local.*"
}}
"""

ARTICLE = ("Path: localhost!not-for-mail\nFrom: poster{i}@example.org\nNewsgroups: {g}\n"
           "Subject: {g} article {i}\nDate: Mon, 0{i} Nov 2026 10:00:00 +0000\n"
           "Message-ID: <{g}.{i}@example.org>\nXref: localhost {g}:{i}\n\n"
           "body of {i}\n.leading dot\n")
GROUPS = {"local.test": 3, "local.empty": 0, "private.test": 2}


def articles(group):
    return [ARTICLE.format(g=group, i=i).encode() for i in range(1, GROUPS[group] + 1)]


def crlf(b):
    return b.replace(b"\n", b"\r\n")


def inn_root(root, port, pki, kind, readers):
    """A private INN tree at root (Debian's inn.conf with every path moved
    under it, port and the test certificate of kind, tradspool, readers as
    readers.conf, empty newsgroups and active.times): the environment that
    points INN's programs at it."""
    shutil.rmtree(root, ignore_errors=True)
    for d in ("etc", "db", "run", "log", "tmp", "spool/overview", "spool/incoming/tmp",
              "spool/outgoing", "spool/archive", "spool/articles"):
        os.makedirs(os.path.join(root, d))
    with open("/etc/news/inn.conf") as f:
        conf = f.read()
    over = dict(pathetc="etc", pathfilter="etc", pathdb="db", pathrun="run",
                pathlog="log", pathhttp="tmp", pathspool="spool",
                patharticles="spool/articles", pathoverview="spool/overview",
                pathincoming="spool/incoming", pathtmp="spool/incoming/tmp",
                pathoutgoing="spool/outgoing", patharchive="spool/archive")
    for k, v in over.items():
        conf = re.sub(r"(?m)^%s:.*$" % k, "%s: %s/%s" % (k, root, v), conf)
    conf = re.sub(r"(?m)^(port|readerswhenstopped|domain|nnrpdloadlimit):.*$", "", conf)
    pem = open(os.path.join(pki["dirs"][kind], "certs", "imapd.pem"), "rb").read()
    cut = pem.index(b"-----BEGIN CERTIFICATE-----")
    write(os.path.join(root, "etc", "key.pem"), pem[:cut])
    write(os.path.join(root, "etc", "cert.pem"), pem[cut:], mode=0o644)
    # no load limit: a busy test machine must not be told "try later"
    conf += ("port: %d\nreaderswhenstopped: true\ndomain: localdomain\nnnrpdloadlimit: 0\n"
             "tlscertfile: %s/etc/cert.pem\ntlskeyfile: %s/etc/key.pem\n"
             % (port, root, root))
    write(os.path.join(root, "etc", "inn.conf"), conf.encode(), mode=0o644)
    write(os.path.join(root, "etc", "storage.conf"),
          b"method tradspool {\n    newsgroups: *\n    class: 0\n}\n", mode=0o644)
    write(os.path.join(root, "etc", "readers.conf"), readers.encode(), mode=0o644)
    for f in ("newsgroups", "active.times"):
        write(os.path.join(root, "db", f), b"", mode=0o644)
    return dict(os.environ, INNCONF=os.path.join(root, "etc", "inn.conf"))


@pytest.fixture(scope="module")
def inn(workdir, pki, user):
    """inn(kind="good") -> port of a private nnrpd (INN 2) serving GROUPS,
    its tradspool written here, with the certificate of that kind."""
    if not os.access(NNRPD, os.X_OK):
        pytest.fail("INN is not installed (apt-get install inn2)")
    made, pids = {}, []

    def make(kind="good"):
        if kind in made:
            return made[kind]
        root = os.path.join(workdir, "inn-%s" % kind)
        port = launch.free_port()
        env = inn_root(root, port, pki, kind, READERS_CONF.format(root=root))
        hashed = subprocess.run(["openssl", "passwd", "-6", user.password], check=True,
                                capture_output=True, text=True).stdout.strip()
        write(os.path.join(root, "etc", "nntp.passwd"),
              ("%s:%s\n" % (user.name, hashed)).encode(), mode=0o600)
        active = ""
        for g, n in GROUPS.items():
            d = os.path.join(root, "spool", "articles", *g.split("."))
            os.makedirs(d)
            for i, a in enumerate(articles(g), 1):
                write(os.path.join(d, str(i)), a, mode=0o644)
            active += "%s %010d %010d y\n" % (g, n, 1)
        write(os.path.join(root, "db", "active"), active.encode(), mode=0o644)
        subprocess.run(["chown", "-R", "news:news", root], check=True)
        news = ["setpriv", "--reuid=news", "--regid=news", "--init-groups"]
        # the overview, as innd would have written it for these articles
        subprocess.run(news + [MAKEHISTORY, "-O", "-x", "-F"], env=env, cwd=root,
                       capture_output=True, timeout=60, check=True)
        p = subprocess.Popen(news + [NNRPD, "-f", "-D", "-p", str(port), "-b", "127.0.0.1"],
                             env=env, cwd=root, stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL)
        pids.append(p)
        for _ in range(100):
            if launch.listening(port):
                break
            threading.Event().wait(0.05)
        made[kind] = port
        return port
    yield make
    for p in pids:
        p.terminate()
        p.wait(10)


def owned_file(user, name, text):
    path = os.path.join(user.home, name)
    with open(path, "w") as f:
        f.write(text)
    os.chown(path, user.uid, user.gid)
    return path


def newsrc(user):
    path = os.path.join(user.home, ".newsrc")
    with open(path) as f:
        return f.read()


def test_group_over_article_starttls(mtest, inn, user):
    port = inn()
    name = "{localhost:%d/nntp/debug}local.test" % port
    r = mtest("open -r " + name, "headers", "fetch 2", "header 3")
    out = r.stdout.decode()
    assert r.returncode == 0, (out, r.stderr)
    trace = r.stderr.decode()
    assert "C: STARTTLS\nS: 382 " in trace
    assert re.search(r"^C: OVER 1-3\nS: 224 ", trace, re.M), trace
    assert "AUTHINFO" not in trace    # anonymous reading of local.*
    assert out.startswith("%s: 3 messages, 0 recent, uidvalidity 1, uidnext 4" % name)
    for i in (1, 2, 3):
        assert re.search(r"^%d uid %d \(\) \d+ octets 0%d-Nov-2026 10:00:00 \+0000 subject: "
                         r"local.test article %d$" % (i, i, i, i), out, re.M), out
    text = crlf(articles("local.test")[1])
    assert ("-- message 2, %d octets\n" % len(text)).encode() + text + b"\n-- end\n" in r.stdout
    head = crlf(articles("local.test")[2].split(b"\n\n")[0] + b"\n\n")
    assert head in r.stdout


def test_seen_kept_in_newsrc(mtest, inn, user, fresh):
    port = inn()
    owned_file(user, ".newsrc", "comp.lang.c! 1-5,9\nlocal.test: 2\n")
    name = "{localhost:%d/nntp}local.test" % port
    r = mtest("open " + name, "headers 2", "set 3 \\Seen", "close", "status " + name)
    out = r.stdout.decode()
    assert r.returncode == 0, (out, r.stderr)
    assert re.search(r"^2 uid 2 \(\\Seen\) ", out, re.M), out
    assert newsrc(user) == "comp.lang.c! 1-5,9\nlocal.test: 2-3\n"
    assert "%s: messages 3 recent 0 unseen 1 uidnext 4 uidvalidity 1\n" % name in out
    # an expunged article is one read, and gone from view
    r = mtest("open " + name, "set 1 \\Deleted", "expunge", "headers")
    assert "* expunged 1\nexpunge done, 2 messages\n" in r.stdout.decode()
    assert newsrc(user) == "comp.lang.c! 1-5,9\nlocal.test: 1-3\n"


def test_newsrc_link_not_followed(mtest, inn, user, fresh):
    port = inn()
    target = owned_file(user, "elsewhere", "local.test: 1-3\n")
    os.symlink(target, os.path.join(user.home, ".newsrc"))
    r = mtest("open {localhost:%d/nntp}#news.local.test" % port, "headers 1", "set 1 \\Seen")
    assert re.search(r"^1 uid 1 \(\) ", r.stdout.decode(), re.M), r.stdout   # not read through it
    with open(target) as f:
        assert f.read() == "local.test: 1-3\n"
    assert not os.path.islink(os.path.join(user.home, ".newsrc"))
    assert newsrc(user) == "local.test: 1\n"


def test_authinfo_when_the_server_asks_and_with_user(mtest, inn, user):
    port = inn()
    for flags in ("", "/user=%s" % user.name):
        name = "{localhost:%d/nntp/debug%s}private.test" % (port, flags)
        r = mtest("open -r " + name, "fetch 2")
        assert r.returncode == 0, (r.stdout, r.stderr)
        trace = r.stderr.decode()
        if not flags:
            assert "C: GROUP private.test\nS: 480 " in trace
        assert "C: AUTHINFO USER <credentials>\nS: 381 " in trace
        assert "C: AUTHINFO PASS <credentials>\nS: 281 " in trace
        assert user.password not in trace
        assert crlf(articles("private.test")[1]) in r.stdout


def test_list_active_and_news_names(mtest, inn, user):
    port = inn()
    net = "{localhost:%d/nntp}" % port
    auth = "{localhost:%d/nntp/user=%s}" % (port, user.name)
    r = mtest("list %s *" % auth, "list %s#news. *" % net, "open %snone.such" % net,
              "create %sx.y" % net)
    lines = r.stdout.decode().splitlines()
    assert lines[:3] == ["list: %s%s \\Noinferiors" % (auth, g) for g in GROUPS]
    # anonymous readers see local.* alone
    assert lines[3:5] == ["list: %s#news.%s \\Noinferiors" % (net, g)
                          for g in ("local.test", "local.empty")]
    assert lines[5].startswith("NO %snone.such: " % net)
    assert lines[6] == "NO %sx.y: %sx.y: an NNTP server cannot create mailboxes" % (net, net)


def test_certificate_for_another_name_refused(mtest, inn, user):
    port = inn("wrong-name")
    name = "{localhost:%d/nntp}local.test" % port
    r = mtest("open " + name)
    assert r.stdout.decode() == ("NO %s: TLS certificate of localhost not accepted: "
                                 "hostname mismatch\n" % name)


def test_mailutil_transfer_is_byte_exact(run_as, mtest, inn, user, fresh):
    port = inn()
    src = "{localhost:%d/nntp}local.test" % port
    r = run_as("mailutil", ["transfer", src, "#driver.maildir/news"])
    assert r.returncode == 0, (r.stdout, r.stderr[-2000:])
    local = shown(mtest, "#driver.maildir/news", 3)
    assert local == shown(mtest, src, 3)
    for a in articles("local.test"):
        assert crlf(a).decode() in local


@pytest.mark.parametrize("caps,overview", [
    # an old server: no CAPABILITIES, so MODE READER as the classic library
    # sent it (this one knows it not either), no XOVER: LISTGROUP's numbers
    ([(b"CAPABILITIES", b"500 what?\r\n"), (b"MODE READER", b"500 what?\r\n")],
     [(b"XOVER 3-7", b"500 what?\r\n"),
      (b"LISTGROUP a.b 3-7", b"211 2 3 7 a.b\r\n3\r\n7\r\n.\r\n")]),
    # MODE READER asked for, then OVER (an empty References field kept)
    ([(b"CAPABILITIES", b"101 caps\r\nVERSION 2\r\nMODE-READER\r\n.\r\n"),
      (b"MODE READER", b"200 reading\r\n"),
      (b"CAPABILITIES", b"101 caps\r\nVERSION 2\r\nREADER\r\nOVER\r\n.\r\n")],
     [(b"OVER 3-7", b"224 ov\r\n3\ts\tf\tMon, 02 Nov 2026 10:00:00 +0000\t<m3>\t\t99\t1\r\n"
                    b"7\ts\tf\tbad date\t<m7>\t\t12\t1\r\n.\r\n")]),
    # a reader without OVER in CAPABILITIES that answers XOVER: its overview
    # is taken (no LISTGROUP follows)
    ([(b"CAPABILITIES", b"101 caps\r\nVERSION 2\r\nREADER\r\n.\r\n")],
     [(b"XOVER 3-7", b"224 ov\r\n3\ts\tf\tMon, 02 Nov 2026 10:00:00 +0000\t<m3>\t\t99\t1\r\n"
                     b"7\ts\tf\tMon, 02 Nov 2026 11:00:00 +0000\t<m7>\t\t12\t1\r\n.\r\n")]),
])
def test_older_servers(mtest, user, caps, overview):
    srv = ScriptServer(b"201 no posting\r\n", caps + [(b"GROUP a.b", b"211 5 3 7 a.b\r\n")] +
                       overview + [(b"QUIT", b"205 bye\r\n")])
    name = "{127.0.0.1:%d/nntp}a.b" % srv.port
    r = mtest("open -r " + name)
    srv.join(30)
    assert srv.done, srv.heard
    assert r.stdout.decode() == ("%s: 2 messages, 0 recent, uidvalidity 1, uidnext 8, read-only\n"
                                 % name)


def test_php_imap_on_a_newsgroup_through_the_classic_library(fresh, libdir, inn, user, pki):
    """PHP's imap extension on our libc-client.so.2007e reads a newsgroup
    of INN's: the classic nntpdriver behind the same calls as for IMAP."""
    port = inn()
    box = "{localhost:%d/nntp}local.test" % port
    out, _, err = php_net(user, libdir, box, pki["ca"])
    net = "{localhost:%d\\/nntp}" % port
    assert out.splitlines() == [
        "check: 3 nntp", "status: 3 3 4",
        'list: ["%slocal.test","%slocal.empty"]' % (net, net),
        "search: false", "sort: [3,2,1]", "header: local.test article 1",
        'body: "body of 2\\r\\n.leading dot\\r\\n"', "flag: true",
        "flags: [[1,0],[2,1]]", "errors: false"], (out, err)
