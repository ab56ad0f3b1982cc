# What imapd tells the mail log (facility mail): logins, logouts and failed
# logins with the peer's address, the lines an administrator (and fail2ban)
# reads. The syslog fixture (conftest.py) owns /dev/log for the test, so it
# needs a machine without a running syslog daemon (CI is one).
import os
import re

import pytest

from helpers.imapclient import quote
from helpers.syslogsink import collect

LOG_MAIL = 2 << 3


def facility(line):
    m = re.match(r"<(\d+)>", line)
    assert m, line
    return int(m.group(1)) & ~7


def test_failed_login_is_logged_with_peer_address(syslog, conn, user):
    r = conn.command("LOGIN %s %s" % (quote(user.name), quote("wrong")))
    assert r.status == "NO"
    lines = collect(syslog, r"Login failed user=%s " % re.escape(user.name))
    line = [l for l in lines if "Login failed" in l][-1]
    assert "[127.0.0.1]" in line, line
    assert "imapd[" in line, line
    assert facility(line) == LOG_MAIL, line
    # the password itself never reaches the log
    assert "wrong" not in line.split("user=")[1].split()[0]


def test_login_and_logout_are_logged(syslog, conn, user):
    r = conn.command("LOGIN %s %s" % (quote(user.name), quote(user.password)))
    assert r.ok, r
    collect(syslog, r"Login user=%s host=\S+ \[127\.0\.0\.1\]" % re.escape(user.name))
    assert conn.command("LOGOUT").ok
    lines = collect(syslog, r"Logout user=%s" % re.escape(user.name))
    # the sink owns /dev/log: another process's line (useradd's chpasswd
    # under auth, when a fixture makes a user meanwhile) is not imapd's
    ours = [l for l in lines if re.search(r"\bimapd\[\d+\]:", l)]
    assert len(ours) >= 2 and all(facility(l) == LOG_MAIL for l in ours), lines


def test_fail2ban_uwimap_filter_matches_failed_login(syslog, conn, user, tmp_path):
    """fail2ban's shipped uwimap-auth filter bans on our failed-login lines."""
    import shutil
    import subprocess
    regex = shutil.which("fail2ban-regex")
    filt = "/etc/fail2ban/filter.d/uwimap-auth.conf"
    if not regex or not os.path.exists(filt):
        pytest.skip("fail2ban is not installed")
    r = conn.command("LOGIN %s %s" % (quote(user.name), quote("wrong")))
    assert r.status == "NO"
    lines = collect(syslog, r"Login failed user=")
    line = [l for l in lines if "Login failed" in l][-1]
    # what rsyslog would write: drop <PRI>, add the host name after the stamp
    m = re.match(r"<\d+>(\w{3} [ \d]\d \d\d:\d\d:\d\d) (.*)$", line.rstrip("\n\0"))
    assert m, line
    log = tmp_path / "mail.log"
    log.write_text("%s mailhost %s\n" % (m.group(1), m.group(2)))
    out = subprocess.run([regex, "-v", str(log), filt], stdout=subprocess.PIPE,
                         stderr=subprocess.STDOUT, timeout=60).stdout.decode()
    assert re.search(r"Lines: 1 lines, 0 ignored, 1 matched, 0 missed", out), out
    assert "127.0.0.1" in out, out   # the address fail2ban would ban
