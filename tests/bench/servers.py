# Starting our imapd and Debian's Dovecot side by side for the benchmark and
# the differential test: each gets its own spool file and home, runs as an
# ordinary user in PREAUTH mode, and is driven over stdin/stdout pipes.
import os
import pwd
import shutil
import subprocess

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
DOVECOT = "/usr/lib/dovecot/imap"


def default_imapd():
    return os.environ.get("IMAPD") or os.path.join(REPO, "imapd", "imapd")


class Account:
    """Who the servers run as: a uid/gid pair and a name (the INBOX file
    is <spool>/<name> for our server)."""

    def __init__(self, name, uid, gid):
        self.name, self.uid, self.gid = name, uid, gid

    @classmethod
    def current(cls):
        pw = pwd.getpwuid(os.getuid())
        return cls(pw.pw_name, pw.pw_uid, pw.pw_gid)

    @classmethod
    def named(cls, name):
        pw = pwd.getpwnam(name)
        return cls(pw.pw_name, pw.pw_uid, pw.pw_gid)


class Server:
    """One server's private tree under root:
         spool/<user>   the INBOX mbox (spool dir owned by the user, so both
                        servers can take their dotlocks)
         home/          HOME (Dovecot keeps ~/mail and its index here)
         conf           the configuration file
         stderr.log     everything the server logs
    kind is "ours" or "dovecot"; binary is the program to run."""

    def __init__(self, kind, binary, root, account, extra_env=None, fmt="mbox"):
        self.kind, self.binary, self.root = kind, binary, root
        # "mbox" (the spool file), "maildir" (home/Maildir), or one of
        # UW_FORMATS (ours only: a converted copy in the home, named by `inbox`)
        self.fmt = fmt
        self.account = account
        self.extra_env = dict(extra_env or {})
        self.spool = os.path.join(root, "spool")
        self.home = os.path.join(root, "home")
        self.inbox = os.path.join(self.spool, account.name)
        self.conf = os.path.join(root, "conf")
        self.log = os.path.join(root, "stderr.log")

    def reset(self, mbox_path):
        """Fresh state: an empty home (no index or cache) and a new copy of
        mbox_path as the INBOX."""
        for d in (self.spool, self.home):
            shutil.rmtree(d, ignore_errors=True)
            os.makedirs(d)
            self._own(d, 0o700)
        os.makedirs(self.root, exist_ok=True)
        os.chmod(self.root, 0o755)
        if self.fmt == "maildir":
            shutil.rmtree(self.maildir(), ignore_errors=True)
            self._copy_maildir(maildir_of(mbox_path), self.maildir())
        elif self.fmt in UW_FORMATS:
            self._copy_converted(converted(mbox_path, self.fmt), self.uw_inbox())
        else:
            shutil.copyfile(mbox_path, self.inbox)
            self._own(self.inbox, 0o600)
        self._write_conf()

    def maildir(self):
        """Where INBOX is as a Maildir: our imapd keeps mailboxes inside
        the account's own home (passwd's, which must be a throwaway
        account's), Dovecot in the HOME it is given."""
        if self.kind == "ours":
            return os.path.join(pwd.getpwnam(self.account.name).pw_dir, "Maildir")
        return os.path.join(self.home, "Maildir")

    def uw_inbox(self):
        """Where INBOX is in one of UW_FORMATS: in the account's home."""
        return os.path.join(pwd.getpwnam(self.account.name).pw_dir, "bench." + self.fmt)

    def _copy_converted(self, src, dst):
        """A fresh copy of a converted corpus (a file or a directory)."""
        if os.path.isdir(dst):
            shutil.rmtree(dst)
        elif os.path.exists(dst):
            os.unlink(dst)
        if os.path.isdir(src):
            self._copy_maildir(src, dst)
        else:
            shutil.copyfile(src, dst)
            self._own(dst, 0o600)

    def _copy_maildir(self, src, dst):
        """A fresh copy of the converted corpus, owned by the account."""
        shutil.copytree(src, dst)
        for d, subs, files in os.walk(dst):
            self._own(d, 0o700)
            for f in files:
                self._own(os.path.join(d, f), 0o600)

    def _own(self, path, mode):
        if os.geteuid() == 0:
            os.chown(path, self.account.uid, self.account.gid)
        os.chmod(path, mode)

    def _write_conf(self):
        maildir = self.maildir()
        if self.kind == "ours":
            text = "# written by tests/bench/servers.py\nspool_dir = %s\n" % \
                self.spool
            if self.fmt == "maildir":
                text += "inbox = %s\n" % maildir
            elif self.fmt in UW_FORMATS:
                text += "inbox = %s\n" % self.uw_inbox()
        elif self.fmt == "maildir":
            text = ("protocols = imap\nssl = no\nlog_path = /dev/stderr\n"
                    "mail_location = maildir:%s\n" % maildir)
        else:
            # Enough for the imap binary alone: no master, no auth, no SSL.
            text = ("protocols = imap\n"
                    "ssl = no\n"
                    "log_path = /dev/stderr\n"
                    "mail_location = mbox:%s/mail:INBOX=%s\n" %
                    (self.home, self.inbox))
        with open(self.conf, "w") as f:
            f.write(text)
        os.chmod(self.conf, 0o644)

    def argv(self):
        if self.kind == "ours":
            cmd = [self.binary, "--config", self.conf]
        else:
            cmd = [self.binary, "-c", self.conf]
        if os.geteuid() == 0 and self.account.uid != 0:
            cmd = ["setpriv", "--reuid=%d" % self.account.uid,
                   "--regid=%d" % self.account.gid, "--init-groups"] + cmd
        return cmd

    def env(self):
        e = {"PATH": "/usr/bin:/bin", "HOME": self.home,
             "USER": self.account.name, "LOGNAME": self.account.name}
        e.update(self.extra_env)
        return e

    def spawn(self):
        """Start one session: a Popen with buffered binary pipes (flush
        stdin after writing). setpriv execs the server, so the Popen's pid
        is the server's pid."""
        log = open(self.log, "ab")
        try:
            return subprocess.Popen(self.argv(), stdin=subprocess.PIPE,
                                    stdout=subprocess.PIPE, stderr=log,
                                    env=self.env(), cwd=self.home)
        finally:
            log.close()

    def log_tail(self, n=4000):
        try:
            with open(self.log, "rb") as f:
                data = f.read()
        except OSError:
            return ""
        return data[-n:].decode("utf-8", "replace")


def maildir_of(mbox_path):
    """The corpus as a Maildir (new/ files, as an MTA delivers), made once
    beside the mbox: <mbox>.maildir."""
    out = mbox_path + ".maildir"
    if os.path.isdir(os.path.join(out, "new")):
        return out
    tmp = out + ".tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    for sub in ("cur", "new", "tmp"):
        os.makedirs(os.path.join(tmp, sub))
    n = 0
    with open(mbox_path, "rb") as f:
        msg = None
        prev_blank = True
        for line in f:
            if line.startswith(b"From ") and prev_blank:
                if msg is not None:
                    _write_msg(tmp, n, msg)
                    n += 1
                msg = []
            elif msg is not None:
                msg.append(line[1:] if line.startswith(b">From ") else line)
            prev_blank = line in (b"\n", b"\r\n")
        if msg is not None:
            _write_msg(tmp, n, msg)
    os.rename(tmp, out)
    return out


# The classic toolkit's formats our imapd serves beside mbox and Maildir.
UW_FORMATS = ("mix", "mbx", "mmdf", "mh")


def default_mailutil():
    return os.environ.get("MAILUTIL") or os.path.join(REPO, "src", "mailutil")


def converted(mbox_path, fmt, mailutil=None):
    """The corpus in fmt, made once beside the mbox (<mbox>.<fmt>) by our
    own mailutil, so the conversion is the one an administrator runs."""
    out = "%s.%s" % (mbox_path, fmt)
    if os.path.exists(out):
        return out
    tmp = out + ".tmp"
    if os.path.isdir(tmp):
        shutil.rmtree(tmp)
    elif os.path.exists(tmp):
        os.unlink(tmp)
    subprocess.run([mailutil or default_mailutil(), "copy", mbox_path,
                    "#driver.%s/%s" % (fmt, tmp)], check=True,
                   env={"PATH": "/usr/bin:/bin"})
    os.rename(tmp, out)
    return out


def _write_msg(root, n, lines):
    if lines and lines[-1] in (b"\n", b"\r\n"):
        lines = lines[:-1]     # the blank line before the next From line
    with open(os.path.join(root, "new", "%010d.bench%d.host" % (n, n)), "wb") as f:
        f.writelines(lines)


def proc_status_kb(pid, field):
    """A kB field of /proc/<pid>/status (VmHWM, RssAnon, ...), or None."""
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return None


def peak_rss_kb(pid):
    """Peak resident set (VmHWM): includes pages of mapped files."""
    return proc_status_kb(pid, "VmHWM")


def make_user(prefix="imbench"):
    """A throwaway system user (useradd -m); remove with remove_user()."""
    import secrets
    name = prefix + secrets.token_hex(3)
    subprocess.run(["useradd", "-m", "-s", "/bin/sh", "-c",
                    "imapd benchmark user", name], check=True)
    return Account.named(name)


def remove_user(account):
    subprocess.run(["userdel", "-r", "-f", account.name],
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
