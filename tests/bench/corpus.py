# Mail corpora for the differential test and the benchmark: the hand-written
# tricky messages of tests/data/corpus/ assembled into an mbox as an MTA
# would write it, and a seeded generator of a large realistic mailbox.
# Run as a script to write either one to a file (see --help).
import argparse
import base64
import datetime
import os
import random
import re
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
TESTS = os.path.dirname(HERE)
CORPUS_DIR = os.path.join(TESTS, "data", "corpus")

# The brief's envelope line; every hand-written message gets the same one,
# so INTERNALDATE is the same for all of them (23-Nov-2026 10:00:00).
FROM_LINE = b"From x@y  Mon Nov 23 10:00:00 2026\n"


# ---------------------------------------------------------------- mbox

def quote_from(data):
    """mboxo quoting, as MTAs do it: a line starting "From " gets '>'."""
    return re.sub(rb"(?m)^From ", b">From ", data)


def mbox_entry(msg, from_line=FROM_LINE):
    """Bytes appended for one delivery: From line, the quoted message
    (given a final newline if it lacks one) and the blank separator."""
    if not msg.endswith(b"\n"):
        msg += b"\n"
    return from_line + quote_from(msg) + b"\n"


def handwritten():
    """[(name, bytes)] of tests/data/corpus/*.eml in file-name order; the
    message sequence number in the mbox is the list index + 1."""
    out = []
    for name in sorted(os.listdir(CORPUS_DIR)):
        if name.endswith(".eml"):
            with open(os.path.join(CORPUS_DIR, name), "rb") as f:
                out.append((name[:-4], f.read()))
    return out


def large_message():
    """A generated message bigger than any hand-written one (about 1 MB:
    a base64 attachment between two text parts), so the differential test
    also covers large bodies. Deterministic."""
    data = base64.encodebytes(random.Random(26).randbytes(760 * 1024))
    return (b"Date: Mon, 23 Nov 2026 14:00:00 +0100\n"
            b"From: big@example.com\n"
            b"To: test@example.net\n"
            b"Subject: A large attachment\n"
            b"Message-ID: <large-26@example.com>\n"
            b"MIME-Version: 1.0\n"
            b'Content-Type: multipart/mixed; boundary="big"\n\n'
            b"--big\nContent-Type: text/plain\n\nThe attachment follows.\n"
            b"--big\nContent-Type: application/octet-stream; name=big.bin\n"
            b"Content-Transfer-Encoding: base64\n\n" + data +
            b"--big\nContent-Type: text/plain\n\n"
            b"After the attachment: the word quagga.\n--big--\n")


def handwritten_mbox():
    return b"".join(mbox_entry(m) for _, m in handwritten())


# ---------------------------------------------------------------- generator
#
# Deterministic for a given (count, seed): the same mbox bytes every time,
# so cached copies can be reused and numbers compared between runs.

GEN_VERSION = 2
RARE_WORD = "zyzzogeton"        # appears in a handful of messages only

COMMON = ("the of and to a in is it you that he was for on are with as his "
          "they be at one have this from or had by hot but some what there we "
          "can out other were all your when up use word how said an each she "
          "which do their time if will way about many then them would write "
          "like so these her long make thing see him two has look more day "
          "could go come did my sound no most number who over know water than "
          "call first people may down side been now find any new work part "
          "take get place made live where after back little only round man "
          "year came show every good me give our under name very through just "
          "form much great think say help low line before turn cause same "
          "mean differ move right boy old too does tell sentence set three "
          "want air well also play small end put home read hand port large "
          "spell add even land here must big high such follow act why ask men "
          "change went light kind off need house picture try us again animal "
          "point mother world near build self earth father head stand own "
          "page should country found answer school grow study still learn "
          "plant cover food sun four thought let keep eye never last door "
          "between city tree cross since hard start might story saw far sea "
          "draw left late run while press close night real life few stop "
          "meeting report budget project release server deadline invoice "
          "schedule review customer quarterly attached please thanks regards "
          "update version issue question proposal draft contract").split()

FIRST = ("Alice Bob Carol Dave Erin Frank Grace Heidi Ivan Judy Mallory Niaj "
         "Olivia Peggy Rupert Sybil Trent Victor Walter Yasmin Zoe Andre "
         "Juergen Francoise Hiroshi Mei Lars Ingrid Pablo Lucia").split()
LAST = ("Smith Jones Miller Brown Garcia Martin Bernard Dubois Schmidt "
        "Schneider Rossi Russo Tanaka Suzuki Nielsen Hansen Kowalski Novak "
        "Silva Santos Murphy Kelly").split()
DOMAINS = ("example.com example.org example.net mail.example.com "
           "lists.example.org corp.example.com example.de example.fr").split()
MAILERS = ("Mutt/2.2.9 (2022-11-12)", "Thunderbird 115.5.0",
           "Microsoft Outlook 16.0", "Apple Mail (2.3731)", "Roundcube 1.6",
           None, None)
WEEKDAYS = "Mon Tue Wed Thu Fri Sat Sun".split()
MONTHS = "Jan Feb Mar Apr May Jun Jul Aug Sep Oct Nov Dec".split()
UTF8_SUBJECTS = ("Grüße aus München", "Réunion de l'équipe", "Año nuevo",
                 "Überprüfung des Berichts", "Café au lait à midi",
                 "Zürich, Genève, Köln")


class Generator:
    """Builds one message at a time from a seeded random.Random."""

    def __init__(self, seed, count, max_attach=None):
        self.r = random.Random(seed)
        self.count = count
        self.max_attach = max_attach
        self.vocab = self._vocabulary()
        # Zipf-like weights: a few words are very common, most are rare.
        self.weights = [1.0 / (i + 1) for i in range(len(self.vocab))]
        self.people = [self._person() for _ in range(300)]
        self.msgids = []
        self.start = datetime.datetime(2025, 1, 1, 8, 0, 0)
        # Which messages carry the rare word: about one in 1,500.
        n_rare = max(1, count // 1500)
        self.rare = set(self.r.sample(range(count), min(n_rare, count)))

    def _vocabulary(self):
        syl = ("ka ri to na me lo su vi de pa ne ro ti ma le go ba fi nu sa "
               "ter lin dor mer ast ven pol gra str ble").split()
        words = set(COMMON)
        while len(words) < 3000:
            w = "".join(self.r.choice(syl)
                        for _ in range(self.r.randint(2, 4)))
            words.add(w)
        words.discard(RARE_WORD)
        # Common words first so they get the heavy weights.
        rest = sorted(words - set(COMMON))
        self.r.shuffle(rest)
        return list(COMMON) + rest

    def _person(self):
        first, last = self.r.choice(FIRST), self.r.choice(LAST)
        addr = "%s.%s@%s" % (first.lower(), last.lower(),
                             self.r.choice(DOMAINS))
        return first + " " + last, addr

    def words(self, n):
        return self.r.choices(self.vocab, self.weights, k=n)

    def paragraph_text(self, nbytes):
        """Wrapped prose of about nbytes bytes."""
        words = self.words(max(4, nbytes // 5))
        lines, line = [], []
        width = 0
        for w in words:
            if width + len(w) + 1 > 72:
                lines.append(" ".join(line))
                line, width = [], 0
            line.append(w)
            width += len(w) + 1
            if self.r.random() < 0.012:
                lines.append(" ".join(line))
                lines.append("")
                line, width = [], 0
        lines.append(" ".join(line))
        if self.r.random() < 0.05:
            # An unquoted "From " line in the body: the mbox must quote it.
            lines.insert(self.r.randrange(len(lines)),
                         "From what I remember, " + " ".join(self.words(6)))
        return "\n".join(lines) + "\n"

    def subject(self):
        x = self.r.random()
        if x < 0.08:
            s = self.r.choice(UTF8_SUBJECTS)
            raw = s.encode()
            if self.r.random() < 0.5:
                return "=?UTF-8?B?%s?=" % base64.b64encode(raw).decode()
            q = "".join(chr(b) if 0x20 < b < 0x7f and chr(b) not in "=?_"
                        else "_" if b == 0x20 else "=%02X" % b for b in raw)
            return "=?UTF-8?Q?%s?=" % q
        s = " ".join(self.words(self.r.randint(2, 8))).capitalize()
        if x < 0.3:
            s = "Re: " + s
        elif x < 0.35:
            s = "Fwd: " + s
        return s

    def date(self, i):
        # Spread over about two years, in order, with jitter.
        t = self.start + datetime.timedelta(
            minutes=i * (1051200 // max(1, self.count)) +
            self.r.randint(0, 59))
        return t

    def message(self, i):
        """(from_line, message bytes) of message i (0-based)."""
        r = self.r
        t = self.date(i)
        name, addr = r.choice(self.people)
        to = r.sample(self.people, r.randint(1, 4))
        msgid = "<%d.%08x@%s>" % (i, r.getrandbits(32), addr.split("@")[1])
        zone = r.choice(("+0000", "+0100", "-0500", "+0900", "-0800"))
        h = ["Return-Path: <%s>" % addr]
        for hop in range(r.randint(1, 3)):
            h.append("Received: from mx%d.%s (mx%d.%s [192.0.2.%d])\n"
                     "\tby mail.example.net with ESMTPS id %08X\n"
                     "\tfor <%s>; %s" %
                     (hop, r.choice(DOMAINS), hop, r.choice(DOMAINS),
                      r.randint(1, 254), r.getrandbits(32), to[0][1],
                      self.rfc822_date(t, zone)))
        h.append("Date: " + self.rfc822_date(t, zone))
        h.append('From: "%s" <%s>' % (name, addr) if r.random() < 0.5
                 else "From: %s <%s>" % (name, addr))
        h.append("To: " + ", ".join("%s <%s>" % p for p in to))
        if r.random() < 0.3:
            h.append("Cc: " + ", ".join(p[1] for p in
                                        r.sample(self.people, r.randint(1, 3))))
        h.append("Subject: " + self.subject())
        h.append("Message-ID: " + msgid)
        if self.msgids and r.random() < 0.35:
            parent = r.choice(self.msgids[-50:])
            h.append("In-Reply-To: " + parent)
            h.append("References: " + parent)
        self.msgids.append(msgid)
        mailer = r.choice(MAILERS)
        if mailer:
            h.append("X-Mailer: " + mailer)
        if r.random() < 0.2:
            h.append("List-Id: <team.lists.example.org>")
        h.append("MIME-Version: 1.0")
        body_hdr, body = self.body(i)
        head = "\n".join(h + body_hdr) + "\n\n"
        from_line = "From %s  %s %s %2d %02d:%02d:%02d %d\n" % (
            addr, WEEKDAYS[t.weekday()], MONTHS[t.month - 1], t.day,
            t.hour, t.minute, t.second, t.year)
        return from_line.encode(), head.encode() + body

    @staticmethod
    def rfc822_date(t, zone):
        return "%s, %d %s %d %02d:%02d:%02d %s" % (
            WEEKDAYS[t.weekday()], t.day, MONTHS[t.month - 1], t.year,
            t.hour, t.minute, t.second, zone)

    def text(self, i):
        size = int(self.r.lognormvariate(7.83, 0.8))    # median ~2.5 KB
        t = self.paragraph_text(min(size, 60000))
        if i in self.rare:
            t += "Remember the %s when you reply.\n" % RARE_WORD
        return t

    def body(self, i):
        r = self.r
        x = r.random()
        text = self.text(i)
        if x < 0.6:
            return (["Content-Type: text/plain; charset=utf-8",
                     "Content-Transfer-Encoding: 8bit"], text.encode())
        bnd = "----=_Part_%d_%08x" % (i, r.getrandbits(32))
        alt = self.alternative(text, bnd + "_alt" if x >= 0.9925 else bnd)
        if x < 0.9925:
            return (['Content-Type: multipart/alternative; boundary="%s"' % bnd],
                    alt)
        # Attachment: log-uniform 50 KB .. 2 MB of random bytes, base64.
        size = int(2 ** r.uniform(15.6, 21.0))
        if self.max_attach:
            size = min(size, self.max_attach)
        data = base64.encodebytes(r.randbytes(size))
        fname = "%s-%d.%s" % (r.choice(("report", "scan", "photo", "data")),
                              i, r.choice(("pdf", "jpg", "zip", "xlsx")))
        ctype = {"pdf": "application/pdf", "jpg": "image/jpeg",
                 "zip": "application/zip",
                 "xlsx": "application/vnd.openxmlformats-officedocument."
                         "spreadsheetml.sheet"}[fname.rsplit(".", 1)[1]]
        body = (b"This is a multi-part message in MIME format.\n\n"
                b"--" + bnd.encode() + b"\n"
                b'Content-Type: multipart/alternative; boundary="' +
                bnd.encode() + b'_alt"\n\n' + alt +
                b"\n--" + bnd.encode() + b"\n"
                b'Content-Type: ' + ctype.encode() + b'; name="' +
                fname.encode() + b'"\n'
                b"Content-Transfer-Encoding: base64\n"
                b'Content-Disposition: attachment; filename="' +
                fname.encode() + b'"\n\n' + data +
                b"--" + bnd.encode() + b"--\n")
        return (['Content-Type: multipart/mixed; boundary="%s"' % bnd], body)

    def alternative(self, text, bnd):
        paras = "".join("<p>%s</p>\n" % p.replace("\n", " ")
                        for p in text.split("\n\n") if p.strip())
        html = ("<html><head><meta charset=\"utf-8\"></head><body>\n%s"
                "</body></html>\n" % paras)
        b = bnd.encode()
        return (b"--" + b + b"\nContent-Type: text/plain; charset=utf-8\n"
                b"Content-Transfer-Encoding: 8bit\n\n" + text.encode() +
                b"\n--" + b + b"\nContent-Type: text/html; charset=utf-8\n"
                b"Content-Transfer-Encoding: 8bit\n\n" + html.encode() +
                b"\n--" + b + b"--\n")


def generate(path, count=10000, seed=1, max_attach=None):
    """Write the generated mbox to path (via a temporary file, so an
    interrupted run never leaves a truncated cache). Returns its size.
    max_attach caps attachment sizes (bytes before base64)."""
    g = Generator(seed, count, max_attach)
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        for i in range(count):
            from_line, msg = g.message(i)
            f.write(mbox_entry(msg, from_line))
    os.replace(tmp, path)
    return os.path.getsize(path)


def cached(cache_dir, count=10000, seed=1, max_attach=None):
    """Path of the generated mbox for these settings, generating it once."""
    os.makedirs(cache_dir, exist_ok=True)
    path = os.path.join(cache_dir, "corpus-v%d-n%d-s%d%s.mbox" %
                        (GEN_VERSION, count, seed,
                         "-a%d" % max_attach if max_attach else ""))
    if not os.path.exists(path):
        generate(path, count, seed, max_attach)
    return path


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("output", help="mbox file to write")
    ap.add_argument("--handwritten", action="store_true",
                    help="assemble tests/data/corpus/*.eml instead")
    ap.add_argument("--messages", type=int, default=10000)
    ap.add_argument("--seed", type=int, default=1)
    a = ap.parse_args(argv)
    if a.handwritten:
        with open(a.output, "wb") as f:
            f.write(handwritten_mbox())
        n = len(handwritten())
    else:
        generate(a.output, a.messages, a.seed)
        n = a.messages
    print("%s: %d messages, %d bytes" % (a.output, n, os.path.getsize(a.output)))


if __name__ == "__main__":
    sys.exit(main())
