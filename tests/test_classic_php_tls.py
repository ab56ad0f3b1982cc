# Debian's PHP imap extension over TLS on our imapd (issue 13), writing too:
# the same script (tests/data/classic/imap-net.php with its append and
# expunge) run on our library and on Debian's libc-client.so.2007e, each on
# a fresh INBOX, says the same things line for line.
from test_classic_abi import libdir, php_net  # noqa: F401 (a fixture)
from test_imap_client import pki, tls_server  # noqa: F401 (fixtures)


def test_php_appends_and_expunges_over_tls_as_on_debian_library(fresh, libdir, user, spool,
                                                                sample, tls_server, pki):
    srv = tls_server()
    box = "{localhost:%d/ssl}INBOX" % srv.port
    out = {}
    for ours in (True, False):
        spool.write(user, sample)
        text, _, err = php_net(user, libdir, box, pki["ca"], ours=ours, write=True)
        assert err == "", err
        out[ours] = text.splitlines()
    assert out[True] == out[False]
    # the appended message is seen at once on the open stream (Debian's
    # library appended on the stream's connection), and stays after the
    # expunge of message 1
    assert out[True][0] == "check: %d imap" % len(sample)
    assert out[True][7:] == [
        "flag: true", "flags: [[1,0],[2,1]]", "append: true", "after append: 5 appended",
        "expunge: true",
        'after expunge: [[2,"Report with attachment"],[3,"=?UTF-8?Q?Gr=C3=BC=C3=9Fe_aus_'
        'M=C3=BCnchen?="],[4,"Meeting notes"],[5,"appended"]]', "errors: false"]
