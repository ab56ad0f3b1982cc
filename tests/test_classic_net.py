# Debian's mailutil (uw-mailutils) on network names, run on our library and
# on Debian's: check and copy against our imapd over TLS, the certificate
# verified against the test CA. Both libraries take trust from the system's
# default paths, which $SSL_CERT_FILE points at the test CA; the password
# reaches both through the program's own mm_login (getpass on stdin).
import imaplib
import ssl

from test_classic_abi import UW_MAILUTIL, libdir, messages_of, put, run  # noqa: F401
from test_imap_client import pki, tls_server  # noqa: F401 (fixtures)

LOCAL = (b"From a@example.com Sat Jan  1 10:00:00 2022\nFrom: A <a@example.com>\n"
         b"Subject: up one\n\nfirst body\n\n"
         b"From b@example.com Sun Jan  2 11:00:00 2022\nFrom: B <b@example.com>\n"
         b"Subject: up two\n\nsecond body\n\n")


def both(user, libdir, pki, argv):  # noqa: F811
    """argv on our library and on Debian's: {side: (stdout, rc, stderr)}."""
    env = {"SSL_CERT_FILE": pki["ca"]}
    stdin = (user.password + "\n").encode()
    return {side: run(user, ["setsid", "-w"] + [a.replace("SIDE", side) for a in argv], ours,
                      libdir, check=False, stdin=stdin, env_extra=env)
            for side, ours in (("ours", True), ("theirs", False))}


def test_check_and_copy_on_our_imapd_as_on_debian_library(fresh, libdir, user, spool,  # noqa: F811
                                                          sample, tls_server, pki):  # noqa: F811
    spool.write(user, sample)
    srv = tls_server()
    net = "{localhost:%d/ssl/user=%s}" % (srv.port, user.name)
    got = both(user, libdir, pki, [UW_MAILUTIL, "check", net + "INBOX"])
    # the one difference, as with local names: we name the mailbox as the
    # program gave it, where UW's driver rebuilt it from what it negotiated
    line = "%d new message(s) (%d unseen), %d total in %%sINBOX\n" % ((len(sample),) * 3)
    assert got["ours"][:2] == (line % net, 0), got
    assert got["theirs"][:2] == (line % ('{localhost:%d/imap/notls/ssl/user="%s"}'
                                         % (srv.port, user.name)), 0), got
    # down: the network INBOX into a local mbox, the same messages either way
    got = both(user, libdir, pki, [UW_MAILUTIL, "copy", net + "INBOX", "down-SIDE"])
    assert [g[1] for g in got.values()] == [0, 0], got
    ours, theirs = (messages_of("%s/down-%s" % (user.home, s)) for s in ("ours", "theirs"))
    assert ours == theirs and len(ours) == len(sample)
    # up: a local mbox into a new mailbox on the server
    put(user, "up", LOCAL)
    got = both(user, libdir, pki, [UW_MAILUTIL, "copy", "up", net + "up-SIDE"])
    assert [g[1] for g in got.values()] == [0, 0], got
    texts = {side: server_texts(srv, user, "up-" + side, pki["ca"]) for side in ("ours", "theirs")}
    assert texts["ours"] == texts["theirs"]
    assert [t.split(b"\r\n")[1] for t in texts["ours"]] == [b"Subject: up one",
                                                            b"Subject: up two"]


def server_texts(srv, user, box, ca):
    """The texts our imapd holds in box."""
    c = imaplib.IMAP4_SSL("localhost", srv.port, ssl_context=ssl.create_default_context(
        cafile=ca))
    try:
        c.login(user.name, user.password)
        c.select(box, readonly=True)
        return [item[1] for item in c.fetch("1:*", "(BODY.PEEK[])")[1] if isinstance(item, tuple)]
    finally:
        c.logout()


def test_an_address_name_verified_by_ours_refused_by_debian(fresh, libdir, user, spool,  # noqa
                                                            sample, tls_server, pki):  # noqa: F811
    """{127.0.0.1/ssl}: our library checks the certificate's IP address
    (RFC 6125); Debian's 2007 library knows no IP names and refuses it."""
    spool.write(user, sample)
    srv = tls_server()
    net = "{127.0.0.1:%d/ssl/user=%s}INBOX" % (srv.port, user.name)
    got = both(user, libdir, pki, [UW_MAILUTIL, "check", net])
    assert got["ours"][:2] == ("%d new message(s) (%d unseen), %d total in %s\n"
                               % (len(sample), len(sample), len(sample), net), 0), got
    assert got["theirs"][1] == 1 and got["theirs"][0] == "", got
    assert "Certificate failure for 127.0.0.1: hostname mismatch: /CN=localhost\n" in \
        got["theirs"][2], got


MAILSYNC_NET = """store local {
\tpat\t%(side)s/a/%%
\tprefix\t%(side)s/a/
}
store remote {
\tserver\t%(net)s
\tref\t%(net)s
\tpat\t%(side)s-srv/%%
\tprefix\t%(side)s-srv/
\tpasswd\t%(pw)s
}
channel ch local remote {
\tmsinfo\t%(side)s.msinfo
}
"""


def test_mailsync_with_our_imapd_as_on_debian_library(fresh, libdir, user, tls_server,  # noqa
                                                      pki):  # noqa: F811
    """Debian's mailsync syncing a local mbox store with one on our imapd
    over TLS: the same report and the same messages on both ends as on
    Debian's library."""
    srv = tls_server()
    net = "{localhost:%d/ssl/user=%s}" % (srv.port, user.name)
    a = (b"From x@example.com Sat Jan  1 11:00:00 2022\nFrom: P1 <p1@example.com>\n"
         b"Subject: s1\nMessage-ID: <1@example.com>\n\nbody 1\n\n")
    b = (b"From z@example.com Sat Jan  1 13:00:00 2022\nFrom: P3 <p3@example.com>\n"
         b"Subject: s3\nMessage-ID: <3@example.com>\n\nbody 3\n\n")
    out = {}
    for side in ("ours", "theirs"):
        put(user, side + "/a/box", a)
        put(user, side + "-srv/box", b)
        put(user, side + ".conf", (MAILSYNC_NET % {"side": side, "net": net,
                                                   "pw": user.password}).encode())
    got = both(user, libdir, pki, ["/usr/bin/mailsync", "-f", "SIDE.conf", "-m", "ch"])
    for side in ("ours", "theirs"):
        assert got[side][1] == 0, got
        out[side] = [ln.rstrip() for ln in got[side][0].splitlines() if ln.startswith("  ")]
    assert out["ours"] == out["theirs"]
    assert out["ours"] == ["  copied     ->  Sat Jan  1 P1                     s1",
                           "  copied     <-  Sat Jan  1 P3                     s3"], got
    for side in ("ours", "theirs"):
        local = messages_of("%s/%s/a/box" % (user.home, side))
        remote = messages_of("%s/%s-srv/box" % (user.home, side))
        assert [m.split(b"\n")[1] for m in local] == [b"Subject: s1", b"Subject: s3"], side
        assert [m.split(b"\n")[1] for m in remote] == [b"Subject: s3", b"Subject: s1"], side
