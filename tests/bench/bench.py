#!/usr/bin/python3
"""Benchmark: the same IMAP workload against our imapd and Debian's Dovecot.

A seeded, realistic mbox (default 10,000 messages, about 115 MB) is built
once under build/bench/. For each server and each repetition the mbox is
copied fresh (no index, no cache), then two PREAUTH sessions run over
stdin/stdout pipes:
  session 1: greeting, SELECT INBOX (first open), FETCH 1:* (FLAGS
             ENVELOPE), FETCH 1:* BODY.PEEK[] (every byte read),
             SEARCH TEXT <rare word>, SORT (ARRIVAL), SORT (DATE),
             SORT (SUBJECT), THREAD REFERENCES, VmHWM read, LOGOUT
  session 2: greeting, SELECT INBOX (reopen, mailbox unchanged),
             FETCH 1:* (FLAGS ENVELOPE) again, VmHWM read, LOGOUT
  then, on another fresh copy: a QRESYNC client's first SELECT, another
  session's 50 flag changes and 50 expunges, and the client's return,
  SELECT INBOX (QRESYNC (validity modseq 1:n)), timed with its bytes
Each time is wall clock from sending the command to reading its tagged
reply; the table shows the best of the repetitions. Memory: VmHWM (peak
resident set, which counts pages of a memory-mapped mailbox) read just
before LOGOUT, and RssAnon (heap and other anonymous memory) at that point. Run as root, the
servers run as a throwaway user (created, then removed); otherwise as the
invoking user. A last table runs the same sessions with INBOX in each of
mix, mbx, MMDF and MH (the corpus converted once by our own mailutil,
cached beside the mbox) next to the mbox and Maildir columns, and adds a
row: COPY 1:* into a new mailbox of the same format (its fast path).
"""
import argparse
import hashlib
import io
import os
import re
import shutil
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import corpus  # noqa: E402
import servers  # noqa: E402
import tcp  # noqa: E402

LITERAL = re.compile(rb"\{(\d+)\+?\}\r\n$")
COMMAND_TIMEOUT = 900


class Failed(Exception):
    pass


class Session:
    """A minimal IMAP client for timing: reads responses and literals
    without parsing them, keeping only the untagged lines asked for."""

    def __init__(self, server):
        self.server = server
        t0 = time.perf_counter()
        self.proc = server.spawn()
        # A large read buffer: BODY[] of the whole mailbox passes through.
        self.r = io.BufferedReader(self.proc.stdout.detach(), 1 << 20)
        self.w = self.proc.stdin
        self.ntag = 0
        self.rx_bytes = 0       # bytes of responses read by the last command
        greeting = self._guard(self.r.readline)
        self.greeting_ms = (time.perf_counter() - t0) * 1000
        if not greeting.startswith(b"* PREAUTH"):
            raise Failed("greeting was %r; stderr: %s" %
                         (greeting[:200], server.log_tail(600)))

    def _guard(self, fn, *args):
        t = threading.Timer(COMMAND_TIMEOUT, self.proc.kill)
        t.start()
        try:
            return fn(*args)
        finally:
            t.cancel()

    def command(self, text, keep=()):
        """Run one command -> (ms, untagged count, literal bytes, kept
        lines). keep: untagged response names whose lines are returned."""
        self.ntag += 1
        tag = b"B%04d" % self.ntag
        t0 = time.perf_counter()
        self.w.write(tag + b" " + text.encode() + b"\r\n")
        self.w.flush()
        res = self._guard(self._read_until, tag, keep)
        ms = (time.perf_counter() - t0) * 1000
        return (ms,) + res

    def _read_until(self, tag, keep):
        untagged, lit_bytes, kept = 0, 0, []
        keep = tuple(k.encode() for k in keep)
        self.rx_bytes = 0
        while True:
            line = self.r.readline()
            self.rx_bytes += len(line)
            if not line:
                try:
                    code = self.proc.wait(timeout=5)
                except Exception:
                    code = "unknown"
                raise Failed("server closed the connection (exit status %s)"
                             "; stderr: %s" % (code, self.server.log_tail(600)))
            first = line
            m = LITERAL.search(line)
            while m:
                n = int(m.group(1))
                if len(self.r.read(n)) != n:
                    raise Failed("connection closed inside a literal")
                lit_bytes += n
                line = self.r.readline()
                self.rx_bytes += n + len(line)
                m = LITERAL.search(line)
            if first.startswith(b"* "):
                untagged += 1
                # "* 12 EXISTS" and "* SEARCH 1 2" alike
                if keep and first[2:].lstrip(b"0123456789 ").startswith(keep):
                    kept.append(first.rstrip(b"\r\n"))
            elif first.startswith(tag + b" "):
                status = first.split(b" ", 2)[1].upper()
                if status != b"OK":
                    raise Failed("%s" % first.decode("latin-1").strip())
                return untagged, lit_bytes, kept

    def peak_rss_kb(self):
        return servers.peak_rss_kb(self.proc.pid)

    def anon_rss_kb(self):
        return servers.proc_status_kb(self.proc.pid, "RssAnon")

    def logout(self):
        try:
            if self.proc.poll() is None:
                self.command("LOGOUT")
        except (Failed, OSError):
            pass
        try:
            self.w.close()
        except OSError:
            pass
        try:
            self.proc.wait(timeout=60)
        except Exception:
            self.proc.kill()
            self.proc.wait()


OPS = [
    ("greeting", "connect + greeting"),
    ("select_first", "SELECT INBOX (first, no index)"),
    ("select_reopen", "SELECT INBOX (reopen, 2nd session)"),
    ("fetch_env", "FETCH 1:* (FLAGS ENVELOPE)"),
    ("fetch_env_warm", "FETCH 1:* (FLAGS ENVELOPE), 2nd session"),
    ("fetch_body", "FETCH 1:* BODY.PEEK[]"),
    ("search", "SEARCH TEXT \"%s\"" % corpus.RARE_WORD),
    ("sort_arrival", "SORT (ARRIVAL) UTF-8 ALL"),
    ("sort_date", "SORT (DATE) UTF-8 ALL"),
    ("sort_subject", "SORT (SUBJECT) UTF-8 ALL"),
    ("thread_refs", "THREAD REFERENCES UTF-8 ALL"),
    ("qresync", "SELECT (QRESYNC) after 50 STOREs + 50 expunges"),
    ("tcp_login", "login over TCP: connect+LOGIN+LOGOUT (PAM)"),
    ("tcp_select", "SELECT INBOX first, TCP session after PAM login"),
    ("tcp_fetch", "FETCH 1:* (FLAGS ENVELOPE INTERNALDATE RFC822.SIZE), TCP"),
    ("tcp_search", "SEARCH TEXT, TCP session"),
]

# The scaling table: how the first open, reopen, FETCH and SEARCH grow.
SCALE_OPS = ("select_first", "select_reopen", "fetch_env", "search")
SCALES = (1000, 10000, 100000)

# The SORT and THREAD rows: (op key, command, untagged response kept).
ORDERING = [(key, label, label.split()[0]) for key, label in OPS
            if key.startswith(("sort_", "thread_"))]


def one_round(server, mbox_path):
    """Both sessions on a fresh copy -> ({op: ms}, facts)."""
    server.reset(mbox_path)
    t, facts = {}, {}
    s = Session(server)
    try:
        t["greeting"] = s.greeting_ms
        ms, _, _, kept = s.command("SELECT INBOX", keep=("EXISTS",))
        t["select_first"] = ms
        facts["exists"] = [int(k.split()[1]) for k in kept]
        ms, n, _, _ = s.command("FETCH 1:* (FLAGS ENVELOPE)")
        t["fetch_env"], facts["envelopes"] = ms, n
        ms, n, nbytes, _ = s.command("FETCH 1:* BODY.PEEK[]")
        t["fetch_body"], facts["body_bytes"] = ms, nbytes
        ms, _, _, kept = s.command('SEARCH TEXT "%s"' % corpus.RARE_WORD,
                                   keep=("SEARCH",))
        t["search"] = ms
        facts["search_hits"] = sum(len(k.split()) - 2 for k in kept)
        for key, command, name in ORDERING:
            ms, _, _, kept = s.command(command, keep=(name,))
            t[key] = ms
            # the whole answer, so the servers' orders can be compared
            facts[key] = hashlib.sha1(b"".join(kept)).hexdigest()[:12]
        facts["rss_kb"] = s.peak_rss_kb()
        facts["anon_kb"] = s.anon_rss_kb()
    finally:
        s.logout()
    s = Session(server)
    try:
        t["greeting"] = min(t["greeting"], s.greeting_ms)
        t["select_reopen"] = s.command("SELECT INBOX")[0]
        t["fetch_env_warm"] = s.command("FETCH 1:* (FLAGS ENVELOPE)")[0]
        facts["rss2_kb"] = s.peak_rss_kb()
    finally:
        s.logout()
    return t, facts


# The QRESYNC row: a client that knows every UID and the HIGHESTMODSEQ of
# its last visit comes back after another session flagged and expunged
# this many messages each, spread over the mailbox.
QRESYNC_CHANGES = 50


def qresync_round(server, mbox_path):
    """Fresh copy; a QRESYNC client's first visit, another session's
    changes, then the timed resync -> ({"qresync": ms}, facts)."""
    server.reset(mbox_path)
    s = Session(server)
    try:
        s.command("ENABLE QRESYNC")
        _, _, _, kept = s.command("SELECT INBOX", keep=("OK [UIDVALIDITY", "OK [HIGHESTMODSEQ",
                                                        "OK [UIDNEXT"))
        codes = dict(re.match(rb"\* OK \[(\w+) (\d+)\]", k).groups() for k in kept)
        validity, highest = int(codes[b"UIDVALIDITY"]), int(codes[b"HIGHESTMODSEQ"])
        top = int(codes[b"UIDNEXT"]) - 1
    finally:
        s.logout()
    step = max(1, top // (2 * QRESYNC_CHANGES))
    picked = list(range(1, top + 1, step))[:2 * QRESYNC_CHANGES]
    s = Session(server)
    try:
        s.command("SELECT INBOX")
        s.command("UID STORE %s +FLAGS.SILENT (\\Flagged)" %
                  ",".join(map(str, picked[0::2])))
        s.command("UID STORE %s +FLAGS.SILENT (\\Deleted)" %
                  ",".join(map(str, picked[1::2])))
        s.command("EXPUNGE")
    finally:
        s.logout()
    s = Session(server)
    try:
        s.command("ENABLE QRESYNC")
        ms, _, _, kept = s.command("SELECT INBOX (QRESYNC (%d %d 1:%d))" % (validity, highest, top),
                                   keep=("VANISHED", "FETCH"))
        facts = {"qresync_bytes": s.rx_bytes,
                 "qresync_fetches": sum(b" FETCH " in k for k in kept),
                 "qresync_vanished": b" ".join(k for k in kept if b"VANISHED" in k)}
    finally:
        s.logout()
    return {"qresync": ms}, facts


def reset_home(account):
    """The user's real home, emptied: a PAM login session keeps its index
    and Dovecot its mbox index there, and every round starts with none."""
    import pwd
    home = pwd.getpwnam(account.name).pw_dir
    for name in os.listdir(home):
        p = os.path.join(home, name)
        if os.path.isdir(p) and not os.path.islink(p):
            shutil.rmtree(p, ignore_errors=True)
        else:
            os.unlink(p)


def bench_server(server, mbox_path, reps, with_tcp=True, qresync=True):
    best, facts = {}, {}
    for i in range(reps):
        t, f = one_round(server, mbox_path)
        if qresync:
            t2, f2 = qresync_round(server, mbox_path)
            t.update(t2)
            f.update(f2)
        if with_tcp and tcp.available(server.kind):
            reset_home(server.account)
            t2, f2 = tcp.tcp_round(server, mbox_path, Failed)
            t.update(t2)
            f.update(f2)
        for k, v in f.items():
            # CPU times: the best round's, as for the wall times
            if k.endswith("_cpu") and v is not None and facts.get(k) is not None:
                f[k] = min(v, facts[k])
        facts = f
        for k, v in t.items():
            best[k] = min(best.get(k, v), v)
        sys.stderr.write("  %s round %d: %s\n" % (
            server.kind, i + 1, ", ".join("%s %.0f" % kv for kv in t.items())))
    return best, facts


def fmt_ms(v):
    if v is None:
        return "-"
    return "%.1f" % v if v < 100 else "%.0f" % v


def ratio(a, b):
    if a is None or b is None or b == 0:
        return "-"
    return "%.2f" % (a / b)


def print_table(results, errors, ops=None):
    ops = ops or OPS
    ours, dove = results.get("ours", {}), results.get("dovecot", {})
    w = max(len(label) for _, label in ops) + 2
    print("%-*s %12s %12s %14s" % (w, "operation (best, ms)", "ours",
                                   "dovecot", "ours/dovecot"))
    print("-" * (w + 41))
    for key, label in ops:
        a, b = ours.get("t", {}).get(key), dove.get("t", {}).get(key)
        print("%-*s %12s %12s %14s" % (w, label, fmt_ms(a), fmt_ms(b),
                                       ratio(a, b)))
    for key, label in (("tcp_select_cpu", "  server CPU of that SELECT, ms"),
                       ("tcp_fetch_cpu", "  server CPU of that FETCH, ms"),
                       ("tcp_search_cpu", "  server CPU of that SEARCH, ms")):
        a = ours.get("f", {}).get(key)
        b = dove.get("f", {}).get(key)
        if a is not None or b is not None:
            print("%-*s %12s %12s %14s" % (w, label, fmt_ms(a), fmt_ms(b), ratio(a, b)))
    a = ours.get("f", {}).get("qresync_bytes")
    b = dove.get("f", {}).get("qresync_bytes")
    if a is not None or b is not None:
        print("%-*s %12s %12s %14s" % (w, "  bytes received by that SELECT", a or "-", b or "-",
                                       ratio(a, b)))
    for key, label in (("rss_kb", "peak RSS (VmHWM), session 1, MB"),
                       ("rss2_kb", "peak RSS (VmHWM), session 2, MB"),
                       ("tcp_rss_kb", "peak RSS (VmHWM), TCP session after PAM login, MB"),
                       ("anon_kb", "RssAnon before LOGOUT, session 1, MB")):
        a = ours.get("f", {}).get(key)
        b = dove.get("f", {}).get(key)
        a = a / 1024.0 if a else None
        b = b / 1024.0 if b else None
        print("%-*s %12s %12s %14s" % (w, label, fmt_ms(a), fmt_ms(b),
                                       ratio(a, b)))
    print()
    for kind in ("ours", "dovecot"):
        if kind in errors:
            print("%s: FAILED: %s" % (kind, errors[kind]))
        elif kind in results:
            f = results[kind]["f"]
            print("%s: EXISTS %s, %d FETCH responses, %d bytes of BODY[], "
                  "%d SEARCH hits" % (kind, f.get("exists"),
                                      f.get("envelopes", 0),
                                      f.get("body_bytes", 0),
                                      f.get("search_hits", 0)))
    if "ours" in results and "dovecot" in results:
        fo, fd = results["ours"]["f"], results["dovecot"]["f"]
        for k in ("exists", "envelopes", "body_bytes", "search_hits", "qresync_fetches",
                  "qresync_vanished") + \
                tuple(key for key, _, _ in ORDERING):
            if fo.get(k) != fd.get(k):
                print("WARNING: the servers disagree on %s: ours %s, "
                      "dovecot %s" % (k, fo.get(k), fd.get(k)))


def print_scaling(scaled):
    """One row per operation, a column pair (ours, dovecot) per size."""
    sizes = sorted(scaled)
    print("scaling (one round each, ms)")
    head = "%-34s" % "operation"
    for n in sizes:
        head += " %9s %9s" % ("ours/%dk" % (n // 1000), "dove/%dk" % (n // 1000))
    print(head)
    print("-" * len(head))
    labels = dict(OPS)
    for key in SCALE_OPS:
        row = "%-34s" % labels[key][:34]
        for n in sizes:
            r = scaled[n]
            row += " %9s %9s" % (fmt_ms(r.get("ours", {}).get(key)),
                                 fmt_ms(r.get("dovecot", {}).get(key)))
        print(row)


def print_formats(cols):
    """One column per mailbox format: [(heading, {op: ms})]."""
    labels = dict(OPS)
    head = "%-34s" % "operation (best, ms)" + "".join(" %9s" % h for h, _ in cols)
    print(head)
    print("-" * len(head))
    labels["copy"] = "COPY 1:* to a new box, same format"
    for key in SCALE_OPS + ("copy",):
        print("%-34s" % labels[key][:34] +
              "".join(" %9s" % fmt_ms(t.get(key)) for _, t in cols))


def copy_round(server, mbox_path):
    """COPY 1:* of INBOX into a new mailbox of INBOX's format: the
    format's own fast path where it has one -> ms."""
    server.reset(mbox_path)
    s = Session(server)
    try:
        name = '"#driver.%s/copied"' % server.fmt
        s.command("SELECT INBOX")
        s.command("CREATE " + name)
        return s.command("COPY 1:* " + name)[0]
    finally:
        s.logout()
        reset_home(server.account)


def run_formats(a, account, work, mbox_path, done):
    """Our imapd with INBOX in each of the classic formats (converted by
    our mailutil), beside the mbox and Maildir runs already in done; the
    COPY row for every column of ours."""
    cols = list(done)
    for fmt in [f for f in a.formats.split(",") if f]:
        cols.append((fmt, {}))
    for fmt, t in cols:
        srv = servers.Server("ours", a.imapd, os.path.join(work, "fmt-" + fmt),
                             account, fmt=fmt)
        try:
            if not t:
                srv.reset(mbox_path)    # converts the corpus once, outside the timing
                best, f = bench_server(srv, mbox_path, a.reps, False, qresync=False)
                t.update(best)
                print("%s: EXISTS %s, %d FETCH responses, %d SEARCH hits" % (
                    fmt, f.get("exists"), f.get("envelopes", 0), f.get("search_hits", 0)))
            t["copy"] = min(copy_round(srv, mbox_path) for _ in range(a.reps))
        except (Failed, OSError, servers.subprocess.CalledProcessError) as e:
            sys.stderr.write("format %s: %s\n" % (fmt, e))
    reset_home(account)
    return cols


def run_scaling(a, kinds, binaries, account, work):
    """PREAUTH rounds at every size of SCALES (the main size's numbers
    are measured again, so each column is one kind of run)."""
    scaled = {}
    for n in SCALES:
        path = corpus.cached(a.cache_dir, n, a.seed,
                             a.max_attachment * 1024 if a.max_attachment else None)
        scaled[n] = {}
        for k in kinds:
            srv = servers.Server(k, binaries[k], os.path.join(work, "scale-%s" % k), account)
            try:
                scaled[n][k] = one_round(srv, path)[0]
            except (Failed, OSError) as e:
                sys.stderr.write("scaling %d %s: %s\n" % (n, k, e))
    return scaled


def main(argv=None):
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--messages", type=int, default=10000,
                    help="messages in the generated mbox (default 10000)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--max-attachment", type=int, metavar="KB",
                    help="cap attachment sizes (default: up to 2 MB)")
    ap.add_argument("--reps", type=int, default=3,
                    help="repetitions; the best time is shown (default 3)")
    ap.add_argument("--imapd", default=servers.default_imapd(),
                    help="our daemon (default $IMAPD or imapd/imapd)")
    ap.add_argument("--dovecot", default=servers.DOVECOT)
    ap.add_argument("--only", choices=("ours", "dovecot"),
                    help="benchmark one server only")
    ap.add_argument("--cache-dir", default=os.path.join(servers.REPO,
                                                        "build", "bench"))
    ap.add_argument("--user", help="run the servers as this existing user "
                    "(default when root: a throwaway user)")
    ap.add_argument("--keep", action="store_true",
                    help="keep the work directory (mailboxes, logs)")
    ap.add_argument("--no-tcp", action="store_true",
                    help="skip the TCP sessions with a PAM login")
    ap.add_argument("--no-maildir", action="store_true",
                    help="skip the table with INBOX a Maildir")
    ap.add_argument("--formats", default=",".join(servers.UW_FORMATS),
                    help="INBOX formats of the per-format table beside mbox and "
                    "maildir (default %(default)s; \"\" for none)")
    ap.add_argument("--no-scaling", action="store_true",
                    help="skip the 1,000 / 10,000 / 100,000 message table")
    a = ap.parse_args(argv)

    t0 = time.time()
    mbox_path = corpus.cached(a.cache_dir, a.messages, a.seed,
                              a.max_attachment * 1024
                              if a.max_attachment else None)
    print("corpus: %s (%d messages, %.1f MB%s)" % (
        mbox_path, a.messages, os.path.getsize(mbox_path) / 1e6,
        ", generated in %.1fs" % (time.time() - t0)
        if time.time() - t0 > 0.5 else ""))

    kinds = [a.only] if a.only else ["ours", "dovecot"]
    binaries = {"ours": a.imapd, "dovecot": a.dovecot}
    errors = {}
    for k in list(kinds):
        if not os.access(binaries[k], os.X_OK):
            errors[k] = "%s is not an executable" % binaries[k]
            kinds.remove(k)

    made = None
    if a.user:
        account = servers.Account.named(a.user)
    elif os.geteuid() == 0:
        account = made = servers.make_user()
    else:
        account = servers.Account.current()
    made_pam = False
    if made is not None and not a.no_tcp:
        tcp.set_password(account)
        made_pam = tcp.ensure_pam()
    work = tempfile.mkdtemp(prefix="imapd-bench-")
    os.chmod(work, 0o755)
    results = {}
    try:
        for k in kinds:
            srv = servers.Server(k, binaries[k], os.path.join(work, k),
                                 account)
            sys.stderr.write("%s: %s\n" % (k, binaries[k]))
            try:
                t, f = bench_server(srv, mbox_path, a.reps, not a.no_tcp and made is not None)
                results[k] = {"t": t, "f": f}
            except (Failed, OSError) as e:
                errors[k] = str(e)
        print()
        print_table(results, errors)
        if not a.no_maildir and made is not None:   # ours uses the account's home
            print()
            print("The same, with INBOX a Maildir (Dovecot: mail_location = maildir:)")
            mres, merr = {}, {}
            for k in kinds:
                srv = servers.Server(k, binaries[k], os.path.join(work, "md-" + k), account,
                                     fmt="maildir")
                try:
                    t, f = bench_server(srv, mbox_path, a.reps, False)
                    mres[k] = {"t": t, "f": f}
                except (Failed, OSError) as e:
                    merr[k] = str(e)
            print_table(mres, merr, [o for o in OPS if not o[0].startswith("tcp_")])
            # its ~/Maildir would be INBOX for every later run of ours
            reset_home(account)
        if a.formats and "ours" in kinds and made is not None:
            done = [("mbox", results.get("ours", {}).get("t", {}))]
            if not a.no_maildir:
                done.append(("maildir", mres.get("ours", {}).get("t", {})))
            cols = run_formats(a, account, work, mbox_path, done)
            if not a.no_maildir and "dovecot" in mres:
                cols.append(("dove-md", mres["dovecot"]["t"]))
            print()
            print("Per format, ours (INBOX converted by mailutil copy), Dovecot's Maildir last")
            print_formats(cols)
        if not a.no_scaling:
            print()
            print_scaling(run_scaling(a, kinds, binaries, account, work))
    finally:
        if a.keep:
            print("work directory kept: %s" % work)
        else:
            shutil.rmtree(work, ignore_errors=True)
        if made is not None:
            servers.remove_user(made)
        if made_pam:
            os.unlink("/etc/pam.d/" + tcp.PAM_SERVICE)
    return 0 if results and not errors else 1


if __name__ == "__main__":
    sys.exit(main())
