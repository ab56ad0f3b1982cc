# Where a user's INBOX lives for the integration tests, behind one interface:
# the mbox spool file (/var/mail/<user>), a Maildir (~/Maildir, Maildir++) or
# a mix mailbox (~/INBOX, as UW imap-2007f keeps one), an MH folder (nmh's
# ~/Mail/inbox).
# Each store delivers messages the way an MTA does, and reads the INBOX back
# from disk (message bytes, flags, internal date, UID) for assertions.
import calendar
import contextlib
import fcntl
import os
import re
import shutil
import socket
import subprocess
import time

from helpers import mbox

# the formats the parametrised suites run on (conftest.py MAIL_FORMATS)
FORMATS = ("mbox", "maildir", "mmdf", "mix", "mbx",
           "mh")

# Maildir info letters (the ":2," part of a file name) and IMAP flags
MAILDIR_FLAGS = {"D": "\\Draft", "F": "\\Flagged", "R": "\\Answered",
                 "S": "\\Seen", "T": "\\Deleted"}
# mbox: Status R is \Seen; X-Status letters as UW and Dovecot write them
STATUS_FLAGS = {"R": "\\Seen"}
XSTATUS_FLAGS = {"A": "\\Answered", "F": "\\Flagged", "T": "\\Draft", "D": "\\Deleted"}


def entry_time(e):
    """The From-line date of an Entry as seconds since the epoch (local time,
    as mbox From lines are written)."""
    return int(time.mktime(time.strptime(" ".join(e.date.split()),
                                         "%a %b %d %H:%M:%S %Y")))


class Stored:
    """One message as found on disk: bytes as delivered (LF line ends), IMAP
    flags (system flags as \\Seen..., keywords as named), internal date in
    seconds, UID when the store records one (else None)."""

    def __init__(self, data, flags, when, uid=None, name=None):
        self.data = data
        self.flags = set(flags)
        self.time = when
        self.uid = uid
        self.name = name

    def __repr__(self):
        return "<Stored uid=%s flags=%s %d bytes>" % (self.uid, sorted(self.flags),
                                                      len(self.data))


# ---------------------------------------------------------------- mbox

def _header_value(head, name):
    """The unfolded value of the first header called name (bytes), or None."""
    m = re.search(rb"(?mi)^" + re.escape(name) + rb":[ \t]*(.*(?:\n[ \t].*)*)", head)
    return m.group(1).replace(b"\n", b" ").strip().decode("latin-1") if m else None


def mbox_flags(data):
    """IMAP flags recorded in the Status, X-Status and X-Keywords headers."""
    head = data.split(b"\n\n", 1)[0]
    out = set()
    for name, table in ((b"Status", STATUS_FLAGS), (b"X-Status", XSTATUS_FLAGS)):
        for letter in _header_value(head, name) or "":
            if letter in table:
                out.add(table[letter])
    out.update((_header_value(head, b"X-Keywords") or "").replace(",", " ").split())
    return out


class MboxStore:
    """INBOX is the spool file; delivery takes the MTA's locks."""

    format = "mbox"
    parse = staticmethod(mbox.parse_mbox)   # the file's bytes into Entry objects

    def __init__(self, spool):
        self.spool = spool

    def init(self, user):
        """Nothing to make: the spool file comes with the first delivery."""

    def inbox_path(self, user):
        """/var/mail/<user>."""
        return self.spool.path(user)

    def write(self, user, entries):
        """Replace the spool file with the entries."""
        self.spool.write(user, entries)

    def deliver(self, user, entry, timeout=30):
        """Append one message under the MTA's locks."""
        self.spool.deliver(user, entry, timeout)

    def messages(self, user):
        """The INBOX's messages in order, without the server's metadata
        headers; [] when there is no spool file."""
        try:
            raw = self.spool.read(user)
        except FileNotFoundError:
            return []
        out = []
        for e in self.parse(raw):
            if re.search(rb"(?mi)^X-IMAP:", e.header()):
                continue
            uid = _header_value(e.header(), b"X-UID")
            out.append(Stored(mbox.strip_meta(e.data), mbox_flags(e.data), entry_time(e),
                              int(uid) if uid and uid.isdigit() else None))
        return out

    def folder_path(self, user, name):
        """Where a mailbox other than INBOX lives: a file under the home."""
        return os.path.join(user.home, name)

    def is_mailbox(self, user, name):
        """A mailbox file (no link) under the home."""
        p = self.folder_path(user, name)
        return os.path.isfile(p) and not os.path.islink(p)


class MmdfStore(MboxStore):
    """INBOX is the spool file in UW's MMDF frame (Ctrl-A lines around each
    message), delivered under the same locks."""

    format = "mmdf"
    parse = staticmethod(mbox.parse_mmdf)

    def write(self, user, entries):
        """Replace the spool file with the entries, MMDF-framed."""
        self.spool.write(user, entries, frame=mbox.mmdf_entry_bytes)

    def deliver(self, user, entry, timeout=30):
        """Append one MMDF-framed message under the MTA's locks."""
        self.spool.deliver(user, entry, timeout, frame=mbox.mmdf_entry_bytes)


# ---------------------------------------------------------------- Maildir

def maildir_info(name):
    """(base name, info letters) of a Maildir file name."""
    base, sep, info = name.partition(":2,")
    return (base, info) if sep else (name.partition(":")[0], "")


def read_keywords(maildir):
    """{index: keyword} from dovecot-keywords (empty when absent)."""
    try:
        with open(os.path.join(maildir, "dovecot-keywords"), "rb") as f:
            lines = f.read().decode().splitlines()
    except FileNotFoundError:
        return {}
    out = {}
    for line in lines:
        idx, _, kw = line.partition(" ")
        if idx.isdigit() and kw:
            out[int(idx)] = kw
    return out


def read_uidlist(maildir):
    """(header fields {letter: value}, {base name: uid}) of dovecot-uidlist,
    ({}, {}) when absent."""
    try:
        with open(os.path.join(maildir, "dovecot-uidlist"), "rb") as f:
            lines = f.read().decode().splitlines()
    except FileNotFoundError:
        return {}, {}
    head = lines[0].split()
    if head[0] != "3":
        raise AssertionError("dovecot-uidlist version %r, not 3" % head[0])
    fields = {h[0]: h[1:] for h in head[1:]}
    uids = {}
    for line in lines[1:]:
        meta, sep, base = line.partition(" :")
        if sep:
            uids[base] = int(meta.split()[0])
    return fields, uids


def info_flags(info, keywords):
    """IMAP flags of a Maildir info string ("FRSab")."""
    out = set()
    for ch in info:
        if ch in MAILDIR_FLAGS:
            out.add(MAILDIR_FLAGS[ch])
        elif "a" <= ch <= "z":
            out.add(keywords.get(ord(ch) - ord("a"), "<keyword %s>" % ch))
    return out


class MaildirStore:
    """INBOX is ~/Maildir (Maildir++: folders are ~/Maildir/.name); an MTA
    writes each message into tmp/ and renames it into new/."""

    format = "maildir"

    def __init__(self):
        self.clock = 0
        self.seq = 0
        self.host = re.sub(r"[^A-Za-z0-9-]", "_", socket.gethostname()) or "localhost"

    def inbox_path(self, user):
        """~/Maildir."""
        return os.path.join(user.home, "Maildir")

    def _mkdirs(self, user, path):
        """path with cur/ new/ tmp/, the user's, mode 0700."""
        for d in (path, os.path.join(path, "cur"), os.path.join(path, "new"),
                  os.path.join(path, "tmp")):
            os.makedirs(d, mode=0o700, exist_ok=True)
            os.chown(d, user.uid, user.gid)

    def init(self, user):
        """An empty ~/Maildir, as a Maildir user's account starts: its
        existence makes it INBOX."""
        self._mkdirs(user, self.inbox_path(user))

    def write(self, user, entries):
        """Replace INBOX's messages with the given entries."""
        md = self.inbox_path(user)
        self._mkdirs(user, md)
        for sub in ("cur", "new", "tmp"):
            for name in os.listdir(os.path.join(md, sub)):
                os.unlink(os.path.join(md, sub, name))
        for name in ("dovecot-uidlist", "dovecot-keywords"):
            try:
                os.unlink(os.path.join(md, name))
            except FileNotFoundError:
                pass
        for e in entries:
            self.deliver(user, e)

    def unique_name(self):
        """A new file name "<secs>.M<usecs>P<pid>Q<n>.<host>" whose seconds
        grow with every delivery, so delivery order is name order (Dovecot
        assigns UIDs to new files in that order)."""
        now = time.time()
        self.clock = max(int(now), self.clock + 1)
        self.seq += 1
        return "%d.M%06dP%dQ%d.%s" % (self.clock, int(now * 1e6) % 1000000, os.getpid(),
                                       self.seq, self.host)

    def deliver(self, user, entry, timeout=30, info=None):
        """Deliver as an MTA does: write tmp/<name> (the user's, 0600, mtime
        = the entry's date), fsync, rename it into new/; with info (flag
        letters), into cur/<name>:2,<info> as a sync tool does. Returns
        the file's path."""
        md = self.inbox_path(user)
        name = self.unique_name()
        tmp = os.path.join(md, "tmp", name)
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            os.write(fd, entry.data)
            os.fchown(fd, user.uid, user.gid)
            os.fchmod(fd, 0o600)
            os.fsync(fd)
        finally:
            os.close(fd)
        when = entry_time(entry)
        os.utime(tmp, (when, when))
        if info is None:
            final = os.path.join(md, "new", name)
        else:
            final = os.path.join(md, "cur", name + ":2," + info)
        os.rename(tmp, final)
        return final

    def messages(self, user, folder=None):
        """The messages of INBOX (or a folder) in UID order; files the
        uidlist does not know yet come last, in name order."""
        md = self.inbox_path(user) if folder is None else self.folder_path(user, folder)
        keywords = read_keywords(md)
        _, uids = read_uidlist(md)
        out = []
        for sub in ("cur", "new"):
            d = os.path.join(md, sub)
            for name in os.listdir(d):
                base, info = maildir_info(name)
                p = os.path.join(d, name)
                with open(p, "rb") as f:
                    data = f.read()
                out.append(Stored(data, info_flags(info, keywords),
                                  int(os.stat(p).st_mtime), uids.get(base),
                                  "%s/%s" % (sub, name)))
        big = float("inf")
        return sorted(out, key=lambda m: (big if m.uid is None else m.uid,
                                          m.name.split("/", 1)[1]))

    def folder_path(self, user, name):
        """Maildir++: "a/b" is ~/Maildir/.a.b."""
        return os.path.join(self.inbox_path(user), "." + name.replace("/", "."))

    def is_mailbox(self, user, name):
        """A Maildir++ folder: a directory with cur/ and the maildirfolder
        marker that delivery agents look for."""
        p = self.folder_path(user, name)
        return (os.path.isdir(p) and not os.path.islink(p) and
                os.path.isdir(os.path.join(p, "cur")) and
                os.path.isfile(os.path.join(p, "maildirfolder")))


# ---------------------------------------------------------------- mix

MIX_FLAGS = {0x1: "\\Seen", 0x2: "\\Deleted", 0x4: "\\Flagged", 0x8: "\\Answered",
             0x20: "\\Draft"}


def mix_lines(path):
    """The records of one of a mix mailbox's CRLF files, its sequence line
    and blank lines left out."""
    with open(path, "rb") as f:
        return [ln for ln in f.read().decode().split("\r\n")[1:] if ln]


def dir_mailbox(p, holds):
    """Is p a directory, not a link, for which holds(p) is true?"""
    return os.path.isdir(p) and not os.path.islink(p) and holds(p)


class MixStore:
    """INBOX is ~/INBOX, a mix mailbox as UW imap-2007f makes it (UW's
    library and ours both take ~/INBOX as INBOX when it is one); delivery
    is UW's own mailutil appending, under UW's locks."""

    format = "mix"

    def inbox_path(self, user):
        """~/INBOX."""
        return os.path.join(user.home, "INBOX")

    def init(self, user):
        """An empty mix INBOX, its files as UW's create writes them."""
        d = self.inbox_path(user)
        os.mkdir(d, 0o700)
        now = int(time.time())
        files = {".mixindex": "", ".mixstatus": "", ".mix%08x" % now: "",
                 ".mixmeta": "S%08x\r\nV%08x\r\nL00000000\r\nN%08x\r\n" % (now, now, now)}
        for name, text in files.items():
            with open(os.path.join(d, name), "w") as f:
                f.write(text)
        for name in [""] + list(files):
            os.chown(os.path.join(d, name), user.uid, user.gid)

    def write(self, user, entries):
        """Replace INBOX with one holding the entries."""
        shutil.rmtree(self.inbox_path(user), ignore_errors=True)
        self.init(user)
        if entries:
            self._append(user, entries)

    def deliver(self, user, entry, timeout=30):
        """Append one message as UW's mailutil does (its From-line date the
        internal date, Status lines its flags)."""
        self._append(user, [entry], timeout)

    def _append(self, user, entries, timeout=60):
        """UW's mailutil append of the entries, as an mbox file, to INBOX."""
        src = os.path.join(user.home, "mixstore-append")
        with open(src, "wb") as f:
            for e in entries:
                f.write(mbox.entry_bytes(e))
        os.chown(src, user.uid, user.gid)
        p = subprocess.run(["setpriv", "--reuid=%d" % user.uid, "--regid=%d" % user.gid,
                            "--init-groups", "/usr/bin/mailutil", "append", os.path.basename(src),
                            "INBOX"],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=timeout,
                           cwd=user.home, env={"PATH": "/usr/bin:/bin", "HOME": user.home,
                                               "USER": user.name})
        os.unlink(src)
        assert p.returncode == 0, (p.stdout, p.stderr)

    def messages(self, user, folder=None):
        """The messages in index (UID) order, LF line ends."""
        d = self.inbox_path(user) if folder is None else self.folder_path(user, folder)
        kw = []
        for ln in mix_lines(os.path.join(d, ".mixmeta")):
            if ln.startswith("K"):
                kw = ln[1:].split(" ")
        status = {}
        for ln in mix_lines(os.path.join(d, ".mixstatus")):
            f = ln.split(":")
            status[int(f[1], 16)] = (int(f[2], 16), int(f[3], 16))
        out = []
        for ln in mix_lines(os.path.join(d, ".mixindex")):
            f = ln.split(":")
            uid, date, size, fno, pos, hoff = (int(f[1], 16), f[2], int(f[3], 16), int(f[4], 16),
                                               int(f[5], 16), int(f[6], 16))
            with open(os.path.join(d, ".mix%08x" % fno if fno else ".mix"), "rb") as df:
                df.seek(pos + hoff)
                data = df.read(size).replace(b"\r\n", b"\n")
            k, sf = status.get(uid, (0, 0))
            flags = {v for bit, v in MIX_FLAGS.items() if sf & bit}
            flags |= {kw[i] for i in range(len(kw)) if k >> i & 1}
            zone = (1 if date[14] == "+" else -1) * (int(date[15:17]) * 60 + int(date[17:19]))
            when = calendar.timegm(time.strptime(date[:14], "%Y%m%d%H%M%S")) - zone * 60
            out.append(Stored(data, flags, when, uid))
        return out

    def folder_path(self, user, name):
        """A mailbox other than INBOX: a directory under the home."""
        return os.path.join(user.home, name)

    def is_mailbox(self, user, name):
        """A directory (no link) holding .mixmeta."""
        return dir_mailbox(self.folder_path(user, name),
                           lambda p: os.path.isfile(os.path.join(p, ".mixmeta")))


# ---------------------------------------------------------------- mbx

MBX_HDRSIZE = 2048
MBX_LINE = re.compile(rb"([ \d]\d-\w{3}-\d{4} \d\d:\d\d:\d\d [+-]\d{4}),(\d+);"
                      rb"([0-9a-f]{8})([0-9a-f]{4})-([0-9a-f]{8})\r\n")
MBX_FLAGS = {0x1: "\\Seen", 0x2: "\\Deleted", 0x4: "\\Flagged", 0x8: "\\Answered",
             0x20: "\\Draft"}


def mbx_records(data):
    """(date, size, keyword bits, flag bits, uid, offset of the text) of
    each message line of an mbx file."""
    out, off = [], MBX_HDRSIZE
    while off < len(data):
        m = MBX_LINE.match(data, off)
        assert m, data[off:off + 80]
        size = int(m.group(2))
        out.append((m.group(1), size, int(m.group(3), 16), int(m.group(4), 16),
                    int(m.group(5), 16), m.end()))
        off = m.end() + size
    return out


class MbxStore:
    """INBOX is ~/INBOX, an mbx file (UW's mbx INBOX); delivery appends a
    message line without UID under UW's locks, as UW's tmail does."""

    format = "mbx"

    def inbox_path(self, user):
        """~/INBOX."""
        return os.path.join(user.home, "INBOX")

    def init(self, user):
        """An empty mbx ~/INBOX (UW's header): its existence makes it INBOX."""
        names = b"\r\n" * 30
        head = b"*mbx*\r\n%08x00000000\r\n" % int(time.time()) + names
        head += b"\0" * (MBX_HDRSIZE - 10 - len(head)) + b"00000000\r\n"
        p = self.inbox_path(user)
        with open(p, "wb") as f:
            f.write(head)
        os.chown(p, user.uid, user.gid)
        os.chmod(p, 0o600)

    def write(self, user, entries):
        """Replace INBOX with the entries."""
        self.init(user)
        for e in entries:
            self.deliver(user, e)

    def deliver(self, user, entry, timeout=30):
        """Append under UW's locks: a shared flock on the file, an
        exclusive one on /tmp/.<dev>.<ino>."""
        import fcntl
        p = self.inbox_path(user)
        text = entry.data.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
        when = time.strftime("%d-%b-%Y %H:%M:%S +0000", time.gmtime(entry_time(entry)))
        line = b"%s,%d;000000000000-00000000\r\n" % (when.lstrip("0").rjust(26).encode(),
                                                    len(text))
        with open(p, "r+b") as f:
            st = os.fstat(f.fileno())
            fcntl.flock(f, fcntl.LOCK_SH)
            lk = "/tmp/.%x.%x" % (st.st_dev, st.st_ino)
            fd = os.open(lk, os.O_RDONLY | os.O_CREAT | os.O_NOFOLLOW, 0o644)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX)
                f.seek(0, os.SEEK_END)
                f.write(line + text)
                f.flush()
                os.fsync(f.fileno())
                # the holder removes the name, as UW does: no root-owned
                # file stays for UW's tools (as the user) to trip on
                if os.path.samestat(os.lstat(lk), os.fstat(fd)):
                    os.unlink(lk)
            finally:
                os.close(fd)

    def messages(self, user, folder=None):
        """The messages in file order (expunged ones left out)."""
        p = self.inbox_path(user) if folder is None else self.folder_path(user, folder)
        try:
            with open(p, "rb") as f:
                data = f.read()
        except FileNotFoundError:
            return []
        names = data[25:MBX_HDRSIZE - 10].split(b"\r\n")
        out = []
        for date, size, kw, sys, uid, at in mbx_records(data):
            if sys & 0x8000:
                continue
            flags = {v for k, v in MBX_FLAGS.items() if sys & k}
            flags |= {names[i].decode() for i in range(30) if kw >> i & 1}
            when = int(calendar.timegm(time.strptime(date.decode().strip()[:20],
                                                     "%d-%b-%Y %H:%M:%S")))
            tz = date.decode()[-5:]
            when -= (1 if tz[0] == "+" else -1) * (int(tz[1:3]) * 3600 + int(tz[3:]) * 60)
            out.append(Stored(data[at:at + size].replace(b"\r\n", b"\n"), flags, when,
                              uid or None))
        return out

    def folder_path(self, user, name):
        """A file under the home."""
        return os.path.join(user.home, name)

    def is_mailbox(self, user, name):
        """An mbx file: its first line says so."""
        p = self.folder_path(user, name)
        if not os.path.isfile(p) or os.path.islink(p):
            return False
        with open(p, "rb") as f:
            return f.read(7) == b"*mbx*\r\n"


# ---------------------------------------------------------------- MH

# .mh_sequences names of the system flags (nmh's and mutt's); \Seen is the
# absence from "unseen"; "cur" is nmh's own, no flag
MH_SEQUENCES = {"flagged": "\\Flagged", "replied": "\\Answered", "deleted": "\\Deleted",
                "draft": "\\Draft"}


def mh_sequences(folder, fd=None):
    """{sequence name: set of message numbers} of a folder's .mh_sequences,
    read through fd when given (closing another descriptor of the file
    would drop the process's fcntl lock on it)."""
    if fd is not None:
        text = os.pread(fd, os.fstat(fd).st_size, 0)
    else:
        try:
            with open(os.path.join(folder, ".mh_sequences"), "rb") as f:
                text = f.read()
        except FileNotFoundError:
            return {}
    out = {}
    for line in text.decode().splitlines():
        name, sep, ranges = line.partition(":")
        if not sep:
            continue
        nums = out.setdefault(name.strip(), set())
        for r in ranges.split():
            lo, _, hi = r.partition("-")
            nums.update(range(int(lo), int(hi or lo) + 1))
    return out


class MhStore:
    """INBOX is nmh's +inbox, ~/Mail/inbox, served as INBOX because the user
    has a ~/.mh_profile; delivery is rcvstore's: the next number, linked
    from a temporary file, added to "unseen" under a lock on .mh_sequences."""

    format = "mh"

    def inbox_path(self, user):
        """~/Mail/inbox."""
        return os.path.join(user.home, "Mail", "inbox")

    def init(self, user):
        """An nmh user's profile and an empty ~/Mail/inbox with an empty
        .mh_sequences, as CREATE makes one (an empty directory would be a
        \\Noselect container, and INBOX the spool file)."""
        d = self.inbox_path(user)
        os.makedirs(d, mode=0o700, exist_ok=True)
        for p in (os.path.join(user.home, ".mh_profile"), os.path.join(d, ".mh_sequences")):
            with open(p, "w") as f:
                f.write("Path: Mail\nUnseen-Sequence: unseen\n" if "profile" in p else "")
        for p in ("Mail", "Mail/inbox", ".mh_profile", "Mail/inbox/.mh_sequences"):
            os.chown(os.path.join(user.home, p), user.uid, user.gid)

    def write(self, user, entries):
        """Replace INBOX with the entries."""
        shutil.rmtree(self.inbox_path(user), ignore_errors=True)
        self.init(user)
        for e in entries:
            self.deliver(user, e)

    def deliver(self, user, entry, timeout=30):
        """rcvstore's delivery, the file's mtime the entry's date."""
        d = self.inbox_path(user)
        with self._locked(user, d) as fd:
            tmp = os.path.join(d, ",mhstore.%d" % os.getpid())
            with open(tmp, "wb") as f:
                f.write(entry.data.replace(b"\r\n", b"\n"))
            os.chown(tmp, user.uid, user.gid)
            when = entry_time(entry)
            os.utime(tmp, (when, when))
            num = max([int(n) for n in os.listdir(d) if n.isdigit()] or [0]) + 1
            while True:
                try:
                    os.link(tmp, os.path.join(d, str(num)))
                    break
                except FileExistsError:
                    num += 1
            os.unlink(tmp)
            self._seq_add(fd, d, "unseen", num)

    def mark(self, user, num, seq):
        """Add message num of INBOX to a sequence, as nmh's mark does."""
        d = self.inbox_path(user)
        with self._locked(user, d) as fd:
            self._seq_add(fd, d, seq, num)

    @staticmethod
    @contextlib.contextmanager
    def _locked(user, d):
        """d's .mh_sequences open (the user's), under nmh's fcntl lock."""
        fd = os.open(os.path.join(d, ".mh_sequences"), os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW,
                     0o600)
        try:
            os.fchown(fd, user.uid, user.gid)
            fcntl.lockf(fd, fcntl.LOCK_EX)
            yield fd
        finally:
            os.close(fd)

    @staticmethod
    def _seq_add(fd, d, name, num):
        """Rewrite .mh_sequences (open, locked, as fd) with num in name."""
        seqs = mh_sequences(d, fd)
        seqs.setdefault(name, set()).add(num)
        text = "".join("%s: %s\n" % (k, " ".join(str(n) for n in sorted(v)))
                       for k, v in seqs.items() if v)
        os.lseek(fd, 0, os.SEEK_SET)
        os.ftruncate(fd, 0)
        os.write(fd, text.encode())

    def messages(self, user, folder=None):
        """The messages in number (UID) order."""
        d = self.inbox_path(user) if folder is None else self.folder_path(user, folder)
        try:
            nums = sorted(int(n) for n in os.listdir(d) if n.isdigit())
        except FileNotFoundError:
            return []
        seqs = mh_sequences(d)
        out = []
        for n in nums:
            p = os.path.join(d, str(n))
            with open(p, "rb") as f:
                data = f.read()
            flags = {MH_SEQUENCES.get(k, k) for k, v in seqs.items()
                     if n in v and k not in ("unseen", "cur")}
            if n not in seqs.get("unseen", ()):
                flags.add("\\Seen")
            out.append(Stored(data, flags, int(os.stat(p).st_mtime), n))
        return out

    folder_path = MixStore.folder_path   # a directory under the home

    def is_mailbox(self, user, name):
        """A directory (no link) with .mh_sequences or numbered files."""
        return dir_mailbox(self.folder_path(user, name),
                           lambda p: (os.path.isfile(os.path.join(p, ".mh_sequences")) or
                                      any(n.isdigit() for n in os.listdir(p))))


def make(fmt, spool):
    """The store for a format name (one of FORMATS)."""
    if fmt == "mbox":
        return MboxStore(spool)
    if fmt == "mmdf":
        return MmdfStore(spool)
    if fmt == "maildir":
        return MaildirStore()
    if fmt == "mix":
        return MixStore()
    if fmt == "mbx":
        return MbxStore()
    if fmt == "mh":
        return MhStore()
    raise ValueError("no mail store for format %r" % fmt)
