# Mail spool helpers for the integration tests: read sample mbox files and
# write or append to a user's spool the way an MTA (exim, postfix's local,
# procmail) does, including dotlock + fcntl locking, so the daemon under test
# sees exactly what a real delivery leaves behind.
import fcntl
import os
import re
import subprocess
import time

DATA_DIR = os.path.join(os.path.dirname(os.path.dirname(__file__)), "data")

# mbox metadata headers that a server may add to the spool file itself
# (UW-style flag storage); they are not part of the delivered message.
META_HEADERS = (b"status", b"x-status", b"x-keywords", b"x-uid", b"x-imap",
                b"x-imapbase")


class Entry:
    """One message of an mbox: the envelope sender, the From-line date and
    the message bytes with LF line ends (no From line, no separator)."""

    def __init__(self, data, sender="sender@x", date="Thu Nov 19 10:00:00 2026"):
        self.data = data
        self.sender = sender
        self.date = date

    def from_line(self):
        return ("From %s  %s\n" % (self.sender, self.date)).encode()

    def crlf(self):
        """The message as an IMAP server must present it (BODY[])."""
        return crlf(self.data)

    def header(self):
        return self.data.split(b"\n\n", 1)[0] + b"\n\n"

    def text(self):
        parts = self.data.split(b"\n\n", 1)
        return parts[1] if len(parts) > 1 else b""


def crlf(data):
    return re.sub(rb"\r?\n", b"\r\n", data)


def quote_from(data):
    """mboxo quoting as done by MTAs: body lines starting "From " get '>'."""
    return re.sub(rb"(?m)^From ", b">From ", data)


def entry_bytes(e):
    """Bytes an MTA writes for one delivery: From line, message, blank line."""
    data = e.data if e.data.endswith(b"\n") else e.data + b"\n"
    return e.from_line() + quote_from(data) + b"\n"


# The line of four Ctrl-A bytes before and after each MMDF message.
MMDF_MARK = b"\x01\x01\x01\x01\n"


def mmdf_entry_bytes(e):
    """The same delivery in an MMDF file, as UW writes it: the mark, the
    From line (the internal date), the message unquoted, the mark."""
    data = e.data if e.data.endswith(b"\n") else e.data + b"\n"
    return MMDF_MARK + e.from_line() + data + MMDF_MARK


def parse_mmdf(raw):
    """Split MMDF bytes into Entry objects (From line taken off; a message
    without one gets an empty sender and date)."""
    n = len(MMDF_MARK)
    body = raw[n:] if raw.startswith(MMDF_MARK) else raw
    body = body[:-n] if body.endswith(MMDF_MARK) else body
    entries = []
    for part in body.split(MMDF_MARK + MMDF_MARK) if body else []:
        first, _, rest = part.partition(b"\n")
        m = _FROM_RE.match(first)
        entries.append(Entry(rest, m.group(1).decode(), m.group(2).decode()) if m
                       else Entry(part, "", ""))
    return entries


_FROM_RE = re.compile(rb"^From (\S+)  ?(.+)$")


def parse_mbox(raw):
    """Split mbox bytes into Entry objects. A message starts at a "From "
    line that follows a blank line (or starts the file); the blank line
    before the next From line is the separator, not message content."""
    entries = []
    cur = None
    lines = raw.split(b"\n")
    if lines and lines[-1] == b"":
        lines.pop()
    prev_blank = True
    for line in lines:
        m = _FROM_RE.match(line) if prev_blank else None
        if m:
            if cur is not None:
                _finish(cur)
                entries.append(cur)
            cur = Entry(b"", m.group(1).decode(), m.group(2).decode())
            cur._lines = []
        elif cur is not None:
            cur._lines.append(line)
        prev_blank = (line == b"")
    if cur is not None:
        _finish(cur)
        entries.append(cur)
    return entries


def _finish(e):
    lines = e._lines
    if lines and lines[-1] == b"":
        lines = lines[:-1]
    e.data = b"\n".join(lines) + (b"\n" if lines else b"")
    del e._lines


def load(name):
    """Entries of tests/data/<name>."""
    with open(os.path.join(DATA_DIR, name), "rb") as f:
        return parse_mbox(f.read())


def strip_meta(data):
    """The message without server-added mbox metadata headers."""
    head, sep, body = data.partition(b"\n\n")
    out = []
    skip = False
    for line in head.split(b"\n"):
        if line[:1] in (b" ", b"\t") and out is not None:
            if not skip:
                out.append(line)
            continue
        name = line.split(b":", 1)[0].strip().lower()
        skip = name in META_HEADERS
        if not skip:
            out.append(line)
    return b"\n".join(out) + sep + body


def real_messages(raw):
    """Entries of a spool file a server has rewritten: drops the UW-style
    internal pseudo-message and the metadata headers."""
    out = []
    for e in parse_mbox(raw):
        if re.search(rb"(?mi)^X-IMAP:", e.header()):
            continue
        e.data = strip_meta(e.data)
        out.append(e)
    return out


SYSTEM_SPOOL = "/var/mail"


class Spool:
    """A spool directory like Debian's /var/mail (root:mail, 2775); the
    INBOX of user U is <dir>/U, owned U:mail, mode 0660. Remembers whose
    files it touched, so cleanup() leaves the shared directory as found."""

    def __init__(self, path, mail_gid):
        self.dir = path
        self.mail_gid = mail_gid
        self.touched = set()

    def path(self, user):
        self.touched.add(user.name)
        return os.path.join(self.dir, user.name)

    def cleanup(self):
        for name in sorted(self.touched):
            for p in (name, name + ".lock"):
                try:
                    os.unlink(os.path.join(self.dir, p))
                except FileNotFoundError:
                    pass

    def write(self, user, entries, frame=entry_bytes):
        """Replace the user's INBOX with the given entries (frame: the
        bytes of one, mbox's by default)."""
        p = self.path(user)
        with open(p, "wb") as f:
            for e in entries:
                f.write(frame(e))
        os.chown(p, user.uid, self.mail_gid)
        os.chmod(p, 0o660)

    def remove(self, user):
        for p in (self.path(user), self.path(user) + ".lock"):
            try:
                os.unlink(p)
            except FileNotFoundError:
                pass

    def read(self, user):
        with open(self.path(user), "rb") as f:
            return f.read()

    def deliver(self, user, entry, timeout=30, frame=entry_bytes):
        """Append one message the way an MTA does: take the dotlock with
        liblockfile's dotlockfile, then an fcntl lock, append, unlock. -p:
        our pid goes in the lock, and a lock whose pid is dead (a killed
        session's) is broken at once, as liblockfile's L_PID users do."""
        p = self.path(user)
        lock = p + ".lock"
        subprocess.run(["dotlockfile", "-p", "-l", "-r", str(timeout), lock],
                       check=True, timeout=timeout * 10)
        try:
            fd = os.open(p, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o660)
            try:
                _fcntl_lock(fd, timeout)
                st = os.fstat(fd)
                if st.st_uid != user.uid or st.st_gid != self.mail_gid:
                    os.fchown(fd, user.uid, self.mail_gid)
                os.write(fd, frame(entry))
                os.fsync(fd)
                fcntl.lockf(fd, fcntl.LOCK_UN)
            finally:
                os.close(fd)
        finally:
            subprocess.run(["dotlockfile", "-u", lock], check=True)


def _fcntl_lock(fd, timeout):
    end = time.monotonic() + timeout
    while True:
        try:
            fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return
        except OSError:
            if time.monotonic() > end:
                raise
            time.sleep(0.05)
