# The session's groups after LOGIN: the root monitor looks the user's
# supplementary groups up before it forks the session (so the session loads
# no NSS module of the group database), and the session sets exactly those:
# a group the user belongs to besides the primary one is held, group mail
# and root's groups are not.
import os
import subprocess
import uuid

import pytest

from helpers import system
from helpers.session import server_pid


@pytest.fixture(scope="module")
def extra_group(user):
    """A group with the test user as a member, removed afterwards."""
    name = "imt" + uuid.uuid4().hex[:8]
    subprocess.run(["groupadd", name], check=True)
    try:
        subprocess.run(["gpasswd", "-a", user.name, name], check=True,
                       stdout=subprocess.DEVNULL)
        yield int(subprocess.run(["getent", "group", name], check=True,
                                 capture_output=True, text=True).stdout.split(":")[2])
    finally:
        subprocess.run(["groupdel", name], check=True)


def test_session_holds_exactly_the_users_groups(extra_group, connect, user):
    c = connect()
    assert c.command("NOOP").ok
    status = system.proc_status(server_pid(c))
    assert int(status["Uid"][1]) == user.uid
    groups = sorted(int(g) for g in status["Groups"])
    assert groups == sorted({user.gid, extra_group}), groups
    assert system.mail_gid() not in groups
