# System setup for the integration tests: throwaway real users (PAM logins go
# through pam_unix and /etc/shadow, as in production) and the PAM service
# file, each removed again by whoever created it.
import contextlib
import grp
import os
import pwd
import secrets
import shutil
import string
import subprocess

PAM_IMAP = """#%PAM-1.0
# Installed by the imapd integration tests; removed when they finish.
@include common-auth
@include common-account
@include common-session
"""


class User:
    def __init__(self, name, password):
        self.name = name
        self.password = password
        pw = pwd.getpwnam(name)
        self.uid = pw.pw_uid
        self.gid = pw.pw_gid
        self.home = pw.pw_dir

    def __repr__(self):
        return "<User %s uid=%d>" % (self.name, self.uid)


def random_name(prefix="imt"):
    alphabet = string.ascii_lowercase + string.digits
    return prefix + "".join(secrets.choice(alphabet) for _ in range(7))


def create_user(skel_dir):
    """useradd -m with an empty skeleton (so the home holds no dotfiles a
    LIST would show), then a random password set through chpasswd."""
    name = random_name()
    password = "pw-" + secrets.token_hex(8)
    subprocess.run(["useradd", "-m", "-k", skel_dir, "-s", "/bin/sh",
                    "-c", "imapd test user", name], check=True)
    subprocess.run(["chpasswd"], input=("%s:%s\n" % (name, password)).encode(),
                   check=True)
    return User(name, password)


def remove_user(user):
    subprocess.run(["userdel", "-r", "-f", user.name],
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


@contextlib.contextmanager
def temp_users(skel_dir, n):
    """n users made by create_user, removed (with their homes) at the end."""
    made = []
    try:
        for _ in range(n):
            made.append(create_user(skel_dir))
        yield made
    finally:
        for u in made:
            remove_user(u)


def reset_home(user):
    """Empty the user's home (mailboxes, subscriptions) between tests."""
    for entry in os.listdir(user.home):
        p = os.path.join(user.home, entry)
        if os.path.isdir(p) and not os.path.islink(p):
            shutil.rmtree(p)
        else:
            os.unlink(p)
    os.chown(user.home, user.uid, user.gid)
    os.chmod(user.home, 0o700)


def install_pam(service="imap"):
    """Install /etc/pam.d/<service> if absent; True when we created it."""
    path = "/etc/pam.d/" + service
    if os.path.exists(path):
        return False
    with open(path, "w") as f:
        f.write(PAM_IMAP)
    os.chmod(path, 0o644)
    return True


def remove_pam(service="imap"):
    os.unlink("/etc/pam.d/" + service)


def fill_filesystem(d):
    """Use up every byte left on the filesystem of directory d, with the
    files d/filler (page by page) and d/filler2 (byte by byte)."""
    for name, chunk in (("filler", 4096), ("filler2", 1)):
        fd = os.open(os.path.join(d, name), os.O_WRONLY | os.O_CREAT, 0o600)
        try:
            while True:
                os.write(fd, b"x" * chunk)
        except OSError as e:
            assert e.errno == 28, e
        finally:
            os.close(fd)
    assert os.statvfs(d).f_bavail == 0


def mail_gid():
    return grp.getgrnam("mail").gr_gid


def proc_status(pid):
    """/proc/<pid>/status as {field: [values]}."""
    out = {}
    with open("/proc/%s/status" % pid) as f:
        for line in f:
            k, _, v = line.partition(":")
            out[k] = v.split()
    return out


def daemon_processes(binary):
    """(pid, status) of running processes whose executable is binary."""
    want = os.path.realpath(binary)
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            if os.readlink("/proc/%s/exe" % pid) == want:
                yield pid, proc_status(pid)
        except OSError:
            continue


def peak_rss(pid):
    """Peak resident size in bytes (VmHWM), 0 if the process is gone."""
    try:
        return int(proc_status(pid).get("VmHWM", ["0"])[0]) * 1024
    except (OSError, ValueError):
        return 0
