# Deployment helpers: the example launcher files exactly as `make install`
# ships them (placeholders filled in the way the Makefile's SUBST does), and
# launchers that run those files under the real super-servers on a loopback
# port, with only the per-test edits each one documents.
import os
import re
import shlex
import subprocess

from helpers import launch

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
EXAMPLES = os.path.join(REPO, "docs", "examples")


def makefile_default(name):
    """A `NAME ?= value` default from the top Makefile (VERSION uses :=)."""
    with open(os.path.join(REPO, "Makefile")) as f:
        for line in f:
            m = re.match(r"^%s\s*[?:]?=\s*(.*?)\s*$" % name, line)
            if m:
                return m.group(1)
    raise KeyError(name)


def substitute(text, values):
    """The Makefile's SUBST: @SBINDIR@ @CONFIG@ @SSLDIR@ @SPOOLDIR@ @DOCDIR@
    @VERSION@, nothing else. Fails if a placeholder is left over."""
    for key in ("SBINDIR", "CONFIG", "SSLDIR", "SPOOLDIR", "DOCDIR", "VERSION"):
        text = text.replace("@%s@" % key, values[key])
    left = re.findall(r"@[A-Z]+@", text)
    assert not left, "placeholders the Makefile does not fill: %s" % left
    return text


def shipped(rel, sbindir, config="/etc/imapd.conf"):
    """docs/examples/<rel> as installed with SBINDIR=sbindir."""
    values = {"SBINDIR": sbindir, "CONFIG": config,
              "SSLDIR": makefile_default("SSLDIR"),
              "SPOOLDIR": makefile_default("SPOOLDIR"),
              "DOCDIR": "/usr/local/share/doc/uw-imap",
              "VERSION": makefile_default("VERSION")}
    with open(os.path.join(EXAMPLES, rel)) as f:
        return substitute(f.read(), values)


def sbin_dir(root, imapd, ipop3d):
    """A stand-in for $(SBINDIR): imapd and ipop3d linked to the binaries
    under test (the sanitizer build), so the shipped paths resolve."""
    d = os.path.join(root, "sbin")
    os.makedirs(d, exist_ok=True)
    for name, target in (("imapd", imapd), ("ipop3d", ipop3d)):
        p = os.path.join(d, name)
        if not os.path.lexists(p):
            os.symlink(target, p)
    return d


# ---------------------------------------------------------------- xinetd

def xinetd_service(text):
    """(name, {attr: value}) of the single service block of an xinetd.d
    file, plus the raw text."""
    m = re.search(r"^service\s+(\S+)\s*\{(.*?)^\}", text, re.M | re.S)
    assert m, text
    attrs = {}
    for line in m.group(2).splitlines():
        line = line.split("#", 1)[0].strip()
        am = re.match(r"(\w+)\s*\+?=\s*(.*)", line)
        if am:
            attrs[am.group(1)] = am.group(2).strip()
    return m.group(1), attrs


def xinetd_for_test(text, host, port, config, env):
    """The shipped file with the test's edits, each added inside the
    service block and nothing else changed:
      type = UNLISTED   the port is not the one /etc/services gives the name
      port, bind        a free loopback port instead of the public one
      server_args       the shipped arguments plus --config <test config>
      env               the sanitizer settings (where reports go)
    """
    name, attrs = xinetd_service(text)
    args = (attrs.get("server_args", "") + " --config " + config).strip()
    extra = ["type = UNLISTED", "port = %d" % port, "bind = %s" % host,
             "server_args = %s" % args,
             "env = %s" % " ".join("%s=%s" % kv for kv in env.items())]
    out = re.sub(r"^\s*server_args\s*=.*\n", "", text, flags=re.M)
    out = re.sub(r"^\}", "\t" + "\n\t".join(extra) + "\n}", out, count=1, flags=re.M)
    return out


class ShippedXinetd(launch.Launcher):
    """xinetd -dontfork -f <conf> where conf includes the edited shipped
    service file (defaults only set where xinetd logs)."""

    name = "xinetd-shipped"

    def __init__(self, service_text, config, env, workdir, host="127.0.0.1", port=None):
        super().__init__(["(from the service file)"], env, workdir, host, port)
        self.service_text = xinetd_for_test(service_text, host, self.port, config, env)

    def command(self):
        conf = os.path.join(self.workdir, "xinetd.conf")
        with open(conf, "w") as f:
            f.write("defaults\n{\n\tlog_type = FILE %s.service\n}\n\n" % self.log)
            f.write(self.service_text)
        return ["xinetd", "-dontfork", "-f", conf,
                "-pidfile", os.path.join(self.workdir, "xinetd.pid")]


# ---------------------------------------------------------------- inetd

def inetd_lines(text):
    """{service name: fields} of the non-comment lines of inetd.conf."""
    out = {}
    for line in text.splitlines():
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        fields = line.split()
        out[fields[0]] = fields
    return out


def inetd_for_test(fields, host, port, config):
    """One shipped inetd.conf line with the test's edits: the service name
    becomes host:port (openbsd-inetd takes a numeric port there, so neither
    /etc/services nor a test copy of it is touched), and --config <test
    config> is appended to the arguments."""
    out = ["%s:%d" % (host, port)] + fields[1:] + ["--config", config]
    return " ".join(out) + "\n"


class ShippedInetd(launch.Launcher):
    """openbsd-inetd in the foreground (-i, with -d for its log) on a
    private inetd.conf holding one shipped line. -E keeps the environment
    (inetd otherwise launders it) so the sanitizer settings reach the
    daemon."""

    name = "openbsd-inetd"

    def __init__(self, binary, fields, config, env, workdir, host="127.0.0.1", port=None):
        super().__init__([fields[5]], env, workdir, host, port)
        self.binary = binary
        self.line = inetd_for_test(fields, host, self.port, config)

    def command(self):
        conf = os.path.join(self.workdir, "inetd.conf")
        with open(conf, "w") as f:
            f.write(self.line)
        return [self.binary, "-d", "-i", "-E", conf]

    def start(self, timeout=15):
        # the environment is inetd's own: pass the sanitizer settings to it
        saved = {k: os.environ.get(k) for k in self.env}
        os.environ.update(self.env)
        try:
            return super().start(timeout)
        finally:
            for k, v in saved.items():
                if v is None:
                    os.environ.pop(k, None)
                else:
                    os.environ[k] = v


# ---------------------------------------------------------------- TCP wrappers

TCPD = "/usr/sbin/tcpd"


def inetd_tcpd_lines(text):
    """{service: fields} of the commented-out TCP wrappers lines of the
    shipped inetd.conf (the classic guide's form: tcpd checks
    /etc/hosts.allow and /etc/hosts.deny, then execs the daemon path with
    argv[0] as given, so the rules name the daemon by that file's name)."""
    out = {}
    for line in text.splitlines():
        fields = line.lstrip("#").split()
        if line.startswith("#") and len(fields) == 7 and fields[5] == TCPD:
            out[fields[0]] = fields
    return out


class HostsRules:
    """Lines put first in /etc/hosts.allow and /etc/hosts.deny for the
    test's time and taken out again (a block left by a killed run is taken
    out first). Keep them narrow: every TCP-wrapped service on the machine
    reads these files."""

    MARK = "# uw-imap tests: begin\n"
    END = "# uw-imap tests: end\n"

    def __init__(self, allow, deny):
        self.lines = {"/etc/hosts.allow": allow, "/etc/hosts.deny": deny}

    def _strip(self, text):
        while self.MARK in text and self.END in text:
            a = text.index(self.MARK)
            text = text[:a] + text[text.index(self.END, a) + len(self.END):]
        return text

    def _rewrite(self, path, block):
        try:
            with open(path) as f:
                text = f.read()
        except FileNotFoundError:
            text = ""
        text = (self.MARK + block + self.END if block else "") + self._strip(text)
        with open(path + ".uw-imap-tests", "w") as f:
            f.write(text)
        os.chmod(path + ".uw-imap-tests", 0o644)
        os.rename(path + ".uw-imap-tests", path)

    def __enter__(self):
        for path, lines in self.lines.items():
            self._rewrite(path, "".join(line + "\n" for line in lines))
        return self

    def __exit__(self, *exc):
        for path in self.lines:
            self._rewrite(path, "")


# ---------------------------------------------------------------- systemd

def unit_values(text, key):
    """Every value of key= in a unit file."""
    return [m.group(1).strip() for m in re.finditer(r"^%s\s*=(.*)$" % key, text, re.M)]


def socket_activate_argv(socket_text, service_text, host, port, config, env):
    """systemd-socket-activate's command line for a shipped .socket/@.service
    pair: ListenStream becomes host:port, Accept=yes is -a, StandardInput=
    socket is --inetd, ExecStart is run as written plus --config."""
    assert unit_values(socket_text, "Accept") == ["yes"], socket_text
    assert unit_values(service_text, "StandardInput") == ["socket"], service_text
    assert unit_values(service_text, "StandardOutput") == ["socket"], service_text
    (execstart,) = unit_values(service_text, "ExecStart")
    cmd = ["systemd-socket-activate", "--inetd", "-a", "-l", "%s:%d" % (host, port)]
    for kv in env.items():
        cmd += ["-E", "%s=%s" % kv]
    return cmd + shlex.split(execstart) + ["--config", config]


class ShippedSocketActivate(launch.Launcher):
    name = "systemd-socket-activate-shipped"

    def __init__(self, socket_text, service_text, config, env, workdir,
                 host="127.0.0.1", port=None):
        super().__init__(["(from the unit)"], env, workdir, host, port)
        self.cmd = socket_activate_argv(socket_text, service_text, host,
                                        self.port, config, env)

    def command(self):
        return self.cmd


def run(cmd, **kw):
    kw.setdefault("stdout", subprocess.PIPE)
    kw.setdefault("stderr", subprocess.STDOUT)
    kw.setdefault("timeout", 120)
    return subprocess.run(cmd, **kw)
