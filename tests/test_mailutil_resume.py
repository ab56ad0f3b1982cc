# mailutil transfer of a whole Dovecot account over TLS into a local Maildir,
# killed half way and run again with -m resume: every message arrives once,
# byte for byte, with its flags and internal date; a target that is not the
# source's beginning is refused, naming both.
import hashlib
import os
import re
import shutil
import signal
import subprocess
import time

from test_imap_client import dovecot, pki, run_as  # noqa: F401 (fixtures)

N = 10000
FOLDERS = {"Sent": 40, "a/b": 25}
LETTERS = ["", "S", "RS", "F", "D", "FS"]   # Maildir info letters, cycled
T0 = 1790000000
BATCH = 256   # mailutil's messages per append


def message(box, i):
    """A CRLF message of some hundreds of bytes, unique to box and i."""
    body = b"".join(b"line %d of message %d in %s\r\n" % (j, i, box.encode())
                    for j in range(3 + i % 40))
    return (b"From: sender%d@example.org\r\nTo: user@example.net\r\n"
            b"Subject: %s %d\r\nMessage-ID: <%s-%d@resume.test>\r\n\r\n"
            % (i, box.encode(), i, box.replace("/", ".").encode(), i)) + body


def populate(user, boxes):
    """Dovecot's Maildir written directly (fast), with a dovecot-uidlist so
    Dovecot numbers the messages in our order; boxes: {name: count}
    -> {name: [(sha, flags, mtime)]}."""
    root = os.path.join(user.home, "dcmail")
    want = {}
    for box, n in boxes.items():
        d = root if box == "INBOX" else os.path.join(root, "." + box.replace("/", "."))
        for sub in ("cur", "new", "tmp"):
            os.makedirs(os.path.join(d, sub), exist_ok=True)
        lines, want[box] = ["3 V1700000000 N%d" % (n + 1)], []
        for i in range(n):
            base = "%d.M%dP1.resume" % (T0 + i, i)
            path = os.path.join(d, "cur", base + ":2," + LETTERS[i % len(LETTERS)])
            text = message(box, i)
            with open(path, "wb") as f:
                f.write(text)
            os.utime(path, (T0 + 60 * i, T0 + 60 * i))
            lines.append("%d :%s" % (i + 1, base))
            want[box].append((hashlib.sha256(text).hexdigest(), LETTERS[i % len(LETTERS)],
                              T0 + 60 * i))
        with open(os.path.join(d, "dovecot-uidlist"), "w") as f:
            f.write("\n".join(lines) + "\n")
    subprocess.run(["chown", "-R", "%d:%d" % (user.uid, user.gid), root], check=True)
    return want


def target_dir(user, box):
    return os.path.join(user.home, "dc", box)


def held(user, box):
    """What our Maildir holds, in its UID order: [(sha, letters, mtime)]."""
    d = target_dir(user, box)
    names = {}
    for sub in ("cur", "new"):
        for e in os.scandir(os.path.join(d, sub)):
            names[e.name.split(":")[0]] = e
    out = []
    with open(os.path.join(d, "dovecot-uidlist")) as f:
        order = [re.search(r":(\S+)$", line).group(1) for line in list(f)[1:] if line.strip()]
    for base in order:
        e = names.pop(base)
        with open(e.path, "rb") as f:
            # stored with LF line ends; IMAP serves the CRLF form
            text = f.read().replace(b"\n", b"\r\n")
        letters = e.name.split(":2,")[1] if ":2," in e.name else ""
        out.append((hashlib.sha256(text).hexdigest(),
                    "".join(c for c in letters if c in "DFRS"), int(e.stat().st_mtime)))
    assert not names, "files outside the uid list: %r" % sorted(names)[:5]
    return out


def count_files(user, box):
    try:
        return len(os.listdir(os.path.join(target_dir(user, box), "cur")))
    except FileNotFoundError:
        return 0


def test_transfer_killed_at_half_resumes(run_as, dovecot, pki, user):  # noqa: F811
    t = time.monotonic()
    want = populate(user, dict(INBOX=N, **FOLDERS))
    print("populated in %.1f s" % (time.monotonic() - t))
    src = "{localhost:%d/ssl/user=%s}" % (dovecot.sport, user.name)
    args = ["transfer", "-m", "resume", src, "#driver.maildir/dc"]
    t = time.monotonic()
    p = subprocess.Popen(**run_as.command("mailutil", args))
    # past half, stopped (setsid and setpriv exec: p is mailutil) until it
    # is caught inside a batch's commit, the hardest moment, then killed
    while p.poll() is None:
        if count_files(user, "INBOX") >= N // 2:
            p.send_signal(signal.SIGSTOP)
            n = count_files(user, "INBOX")
            if n % BATCH or n > N * 0.7:
                break
            p.send_signal(signal.SIGCONT)
        time.sleep(0.001)
    p.send_signal(signal.SIGKILL)
    p.wait()
    half = count_files(user, "INBOX")
    print("killed at %d after %.1f s" % (half, time.monotonic() - t))
    assert N // 2 <= half < N
    # Killed inside a batch's commit, the Maildir's lock stays; like
    # Dovecot's, it is broken once two minutes old: age it as waiting would.
    lock = os.path.join(target_dir(user, "INBOX"), "dovecot-uidlist.lock")
    if os.path.exists(lock):
        os.utime(lock, (time.time() - 121, time.time() - 121))
        print("killed inside a commit: %d files of a partial batch" % (half % BATCH))
    r = run_as("mailutil", args)
    assert r.returncode == 0, r.stderr[-2000:]
    took = time.monotonic() - t
    for box, msgs in want.items():
        assert held(user, box) == msgs, box
    print("transfer of %d messages, killed at %d, resumed: %.1f s" % (N, half, took))
    # run again: every mailbox complete, nothing added
    r = run_as("mailutil", args)
    assert r.returncode == 0, r.stderr[-2000:]
    assert count_files(user, "INBOX") == N
    t = time.monotonic()
    for tree in ("dc", "dcmail"):   # 20,000 files: not left to the next test
        shutil.rmtree(os.path.join(user.home, tree))
        print("removed %s in %.1f s" % (tree, time.monotonic() - t))


def test_resume_refuses_a_target_that_is_not_the_source(run_as, dovecot, pki, user):  # noqa: F811
    populate(user, {"INBOX": 5, "a/b": 3})
    src = "{localhost:%d/ssl/user=%s}" % (dovecot.sport, user.name)
    # the target's INBOX holds a/b's messages: three, but not INBOX's first three
    r = run_as("mailutil", ["copy", src + "a/b", "#driver.maildir/dc/INBOX"])
    assert r.returncode == 0, r.stderr
    r = run_as("mailutil", ["transfer", "-m", "resume", src, "#driver.maildir/dc"])
    assert r.returncode == 1
    assert r.stderr.decode() == (
        "mailutil: cannot resume %sINBOX into #driver.maildir/dc/INBOX: message 3 of "
        "#driver.maildir/dc/INBOX (%d octets, 2026-09-21 14:15:20 UTC) is not message 3 of "
        "%sINBOX (%d octets, 2026-09-21 14:15:20 UTC)\n"
        % (src, len(message("a/b", 2)), src, len(message("INBOX", 2))))
    assert count_files(user, "INBOX") == 3
