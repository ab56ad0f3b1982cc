# The client SASL mechanisms against Debian's Dovecot on loopback: mtest
# logs in with SCRAM-SHA-256 (the strongest offered) whether Dovecot keeps
# SCRAM keys or a plain password, with PLAIN when the name asks, and with
# OAUTHBEARER/XOAUTH2 tokens that Dovecot checks at a small introspection
# server run here. A wrong password, a server that cannot prove it knows the
# password, and a refused token each fail with their exact error.
import base64
import grp
import hashlib
import hmac
import http.server
import json
import os
import re
import threading

import pytest

from helpers import launch
from helpers.tls import write
from test_imap_client import (DOVECOT, DOVECOT_TLS_CONF, dovecot_running, mtest,  # noqa: F401
                              pki, run_as)

PASSWORD = "correct horse, battery=staple"
# SASLprep (RFC 4013) drops the soft hyphen and makes the no-break space a
# space: the server holds the prepared form only
PREP_TYPED, PREP_STORED = "I\u00adX\u00a0pass", "IX pass"
TOKEN = "ya29.test-token-" + base64.b16encode(os.urandom(8)).decode()


def scram_entry(password, salt=b"0123456789abcdef", iters=4096, server_key=None):
    """Dovecot's {SCRAM-SHA-256} scheme: iterations, salt, StoredKey, ServerKey."""
    salted = hashlib.pbkdf2_hmac("sha256", password.encode(), salt, iters)
    stored = hashlib.sha256(hmac.new(salted, b"Client Key", "sha256").digest()).digest()
    skey = server_key or hmac.new(salted, b"Server Key", "sha256").digest()
    b64 = lambda b: base64.b64encode(b).decode()   # noqa: E731
    return "{SCRAM-SHA-256}%d,%s,%s,%s" % (iters, b64(salt), b64(stored), b64(skey))


class Introspection(http.server.ThreadingHTTPServer):
    """RFC 7662 token introspection: TOKEN is active for .owner; every
    token asked about is kept in .asked."""

    def __init__(self, owner):
        self.owner, self.asked = owner, []
        super().__init__(("127.0.0.1", 0), IntrospectionHandler)
        threading.Thread(target=self.serve_forever, daemon=True).start()


class IntrospectionHandler(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", 0))).decode()
        token = dict(p.split("=", 1) for p in body.split("&") if "=" in p).get("token", "")
        self.server.asked.append(token)
        answer = ({"active": True, "username": self.server.owner} if token == TOKEN
                  else {"active": False})
        data = json.dumps(answer).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):
        pass


SASL_CONF = """
auth_mechanisms = plain login scram-sha-256 oauthbearer xoauth2
# the 2 s delay after a refusal tells the tests nothing
auth_failure_delay = 0
passdb {{
  driver = passwd-file
  args = {root}/passwd
  mechanisms = plain login scram-sha-256
}}
passdb {{
  driver = oauth2
  args = {root}/oauth2.conf
  mechanisms = oauthbearer xoauth2
}}
"""

# Postfix's smtpd asks this Dovecot to check SMTP AUTH (test_smtp_client.py)
SASL_CONF += """service auth {{
  unix_listener auth-postfix {{
    mode = 0666
  }}
}}
"""

OAUTH2_CONF = """introspection_mode = post
introspection_url = http://127.0.0.1:{port}/introspect
username_attribute = username
active_attribute = active
active_value = true
"""


@pytest.fixture(scope="module")
def dovecot_sasl(workdir, pki, user):
    """One Dovecot for the module; the passwd-file names several logins that
    all map to the test user: scram-U (SCRAM keys), plain-U (a plain
    password), impostor-U (the right StoredKey, a wrong ServerKey),
    oauth-U (reached by token only) and prep-U (SCRAM keys of a password
    SASLprep changes)."""
    if not os.access(DOVECOT, os.X_OK):
        pytest.fail("Dovecot is not installed (apt-get install dovecot-imapd)")
    root = os.path.join(workdir, "dovecot-sasl")
    os.makedirs(root, exist_ok=True)
    pem = pki["good_pem"].decode()
    cut = pem.index("-----BEGIN CERTIFICATE-----")
    write(os.path.join(root, "key.pem"), pem[:cut].encode())
    write(os.path.join(root, "cert.pem"), pem[cut:].encode(), mode=0o644)
    names = {k: "%s-%s" % (k, user.name) for k in ("scram", "plain", "impostor", "oauth",
                                                 "prep")}
    secrets = {"scram": scram_entry(PASSWORD), "plain": "{PLAIN}" + PASSWORD,
               "impostor": scram_entry(PASSWORD, server_key=os.urandom(32)),
               "oauth": "{PLAIN}" + base64.b16encode(os.urandom(16)).decode(),
               "prep": scram_entry(PREP_STORED)}
    passwd = os.path.join(root, "passwd")
    write(passwd, "".join("%s:%s:%d:%d::%s\n" % (names[k], secrets[k], user.uid, user.gid,
                                                  user.home) for k in names).encode(),
          mode=0o640)
    os.chown(passwd, 0, grp.getgrnam("dovecot").gr_gid)   # its auth process reads it
    intro = Introspection(names["oauth"])
    write(os.path.join(root, "oauth2.conf"),
          OAUTH2_CONF.format(port=intro.server_address[1]).encode(), mode=0o644)

    class D:
        port, sport = launch.free_port(), launch.free_port()
        log = os.path.join(root, "log")
        auth_socket = os.path.join(root, "run", "auth-postfix")
    D.names, D.intro = names, intro
    conf = os.path.join(root, "dovecot.conf")
    base = DOVECOT_TLS_CONF.format(root=root, port=D.port, sport=D.sport)
    base = re.sub(r"auth_mechanisms = .*\npassdb \{\n[^}]*\}\n", "", base)
    with open(conf, "w") as f:
        f.write(base + SASL_CONF.format(root=root))
    try:
        with dovecot_running(conf, D.port):
            yield D
    finally:
        intro.shutdown()


def login_log(d, start):
    """The "Login:" lines Dovecot logged since offset start: (user, method).
    The log process writes a moment after the session: wait for the
    login's line or its failure's."""
    for _ in range(50):
        with open(d.log) as f:
            f.seek(start)
            text = f.read()
        if "imap-login: " in text:
            break
        threading.Event().wait(0.1)
    return re.findall(r"imap-login: Info: Login: user=<([^>]*)>, method=([A-Z0-9-]+)", text)


def log_size(d):
    return os.path.getsize(d.log) if os.path.exists(d.log) else 0


def open_as(mtest, d, who, flags="", **kw):
    """mtest opening INBOX on Dovecot (STARTTLS) as login who; its output."""
    name = "{localhost:%d/user=%s%s}INBOX" % (d.port, d.names[who], flags)
    r = mtest("open " + name, **kw)
    return name, r.stdout.decode(), r.stderr.decode()


@pytest.mark.parametrize("who", ["scram", "plain"])
def test_scram_is_chosen_and_logs_in(mtest, dovecot_sasl, who):
    """Dovecot offers PLAIN, LOGIN and SCRAM-SHA-256: SCRAM is used, and the
    server's signature checks, with SCRAM keys or a plain password stored."""
    start = log_size(dovecot_sasl)
    name, out, err = open_as(mtest, dovecot_sasl, who, password=PASSWORD)
    assert out.startswith("%s: 0 messages" % name), (out, err)
    assert login_log(dovecot_sasl, start) == [(dovecot_sasl.names[who], "SCRAM-SHA-256")]


def test_auth_flag_forces_plain(mtest, dovecot_sasl):
    start = log_size(dovecot_sasl)
    name, out, err = open_as(mtest, dovecot_sasl, "scram", "/auth=plain", password=PASSWORD)
    assert out.startswith("%s: 0 messages" % name), (out, err)
    assert login_log(dovecot_sasl, start) == [(dovecot_sasl.names["scram"], "PLAIN")]


@pytest.mark.parametrize("flags,mech", [("", "SCRAM-SHA-256"), ("/auth=plain", "PLAIN")])
def test_saslprep_password_logs_in(mtest, dovecot_sasl, flags, mech):
    """The password typed with a soft hyphen and a no-break space logs in
    where the server keeps its SASLprep form ("IX pass")."""
    start = log_size(dovecot_sasl)
    name, out, err = open_as(mtest, dovecot_sasl, "prep", flags, password=PREP_TYPED)
    assert out.startswith("%s: 0 messages" % name), (out, err)
    assert login_log(dovecot_sasl, start) == [(dovecot_sasl.names["prep"], mech)]


def test_saslprep_refuses_a_control_character(mtest, dovecot_sasl):
    """A BEL in the password is prohibited (RFC 4013 2.3): the client says
    so and never sends an AUTHENTICATE (Dovecot logs no attempt)."""
    start = log_size(dovecot_sasl)
    name, out, err = open_as(mtest, dovecot_sasl, "prep", password="ding\x07dong")
    assert out == ("NO %s: login to localhost as %s failed: the password is refused by "
                   "SASLprep (RFC 4013): Prohibited code points in input; nothing sent\n"
                   % (name, dovecot_sasl.names["prep"])), err
    assert login_log(dovecot_sasl, start) == []
    with open(dovecot_sasl.log) as f:
        f.seek(start)
        assert "(no auth attempts" in f.read()


def test_scram_wrong_password(mtest, dovecot_sasl):
    start = log_size(dovecot_sasl)
    name, out, err = open_as(mtest, dovecot_sasl, "scram", password=PASSWORD + "x")
    assert out == "NO %s: login to localhost as %s failed: Authentication failed.\n" % (
        name, dovecot_sasl.names["scram"]), err
    assert login_log(dovecot_sasl, start) == []


def test_scram_server_that_does_not_know_the_password(mtest, dovecot_sasl):
    """Dovecot holding the right StoredKey but a wrong ServerKey accepts our
    proof, then signs with the wrong key: we refuse to go on."""
    name, out, err = open_as(mtest, dovecot_sasl, "impostor", password=PASSWORD)
    assert out == ("NO %s: login to localhost as %s failed: localhost: the server's signature "
                   "is wrong: it does not know the password (not the server it claims to be?) "
                   "(SCRAM-SHA-256)\n" % (name, dovecot_sasl.names["impostor"])), err


@pytest.mark.parametrize("mech", ["oauthbearer", "xoauth2"])
def test_oauth_token_logs_in(mtest, dovecot_sasl, mech):
    start = log_size(dovecot_sasl)
    del dovecot_sasl.intro.asked[:]
    name, out, err = open_as(mtest, dovecot_sasl, "oauth", "/auth=" + mech,
                             env_extra={"MAIL_PASSWORD": None, "MAIL_OAUTH_TOKEN": TOKEN})
    assert out.startswith("%s: 0 messages" % name), (out, err)
    assert dovecot_sasl.intro.asked == [TOKEN]
    assert login_log(dovecot_sasl, start) == [(dovecot_sasl.names["oauth"], mech.upper())]


@pytest.mark.parametrize("mech,detail", [
    ("oauthbearer", '{"status":"invalid_token"}'),
    ("xoauth2", '{"status":"401","schemes":"bearer","scope":"mail"}'),
])
def test_oauth_bad_token(mtest, dovecot_sasl, mech, detail):
    """The server's JSON error (RFC 7628 3.2.2) is shown with its NO."""
    del dovecot_sasl.intro.asked[:]
    name, out, err = open_as(mtest, dovecot_sasl, "oauth", "/auth=" + mech,
                             env_extra={"MAIL_PASSWORD": None, "MAIL_OAUTH_TOKEN": "expired"})
    assert dovecot_sasl.intro.asked == ["expired"]
    assert out == ("NO %s: login to localhost as %s failed: Authentication failed. (%s)\n"
                   % (name, dovecot_sasl.names["oauth"], detail)), err


def test_mechanism_not_offered(mtest, dovecot_sasl):
    name, out, err = open_as(mtest, dovecot_sasl, "scram", "/auth=cram-md5", password=PASSWORD)
    assert out == ("NO %s: unknown SASL mechanism cram-md5 (we have LOGIN, PLAIN, "
                   "SCRAM-SHA-256, XOAUTH2, OAUTHBEARER)\n" % name), err
