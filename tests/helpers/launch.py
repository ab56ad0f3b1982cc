# Launchers: run the daemon under test the way administrators do, one process
# per connection from a real super-server (systemd-socket-activate, xinetd;
# openbsd-inetd fits the same shape). Each launcher listens on a loopback
# port, passes the sanitizer settings to the daemon and is stopped at the end.
import os
import signal
import socket
import subprocess
import time


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def listening(port):
    """True once something listens on 127.0.0.1:port (read from /proc, so
    probing does not start a daemon)."""
    want = ":%04X" % port
    for name in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            with open(name) as f:
                next(f)
                for line in f:
                    fields = line.split()
                    if fields[1].endswith(want) and fields[3] == "0A":
                        return True
        except FileNotFoundError:
            pass
    return False


class Launcher:
    """Base: subclasses build the command line (and any config file)."""

    name = "base"

    def __init__(self, argv, env, workdir, host="127.0.0.1", port=None):
        self.argv = list(argv)      # daemon command line, argv[0] absolute
        self.env = dict(env)        # variables the daemon must see
        self.workdir = workdir
        self.host = host
        self.port = port or free_port()
        self.proc = None
        self.log = os.path.join(workdir, "%s.log" % self.name)

    def command(self):
        raise NotImplementedError

    def start(self, timeout=15):
        logf = open(self.log, "ab")
        self.proc = subprocess.Popen(self.command(), stdin=subprocess.DEVNULL,
                                     stdout=logf, stderr=subprocess.STDOUT,
                                     start_new_session=True)
        logf.close()
        end = time.monotonic() + timeout
        while not listening(self.port):
            if self.proc.poll() is not None:
                raise RuntimeError("%s exited with %s:\n%s" % (
                    self.name, self.proc.returncode, self.read_log()))
            if time.monotonic() > end:
                self.stop()
                raise RuntimeError("%s did not listen on port %d:\n%s" % (
                    self.name, self.port, self.read_log()))
            time.sleep(0.05)
        return self

    def stop(self):
        """Stop the launcher we started (its own process group)."""
        if self.proc is None or self.proc.poll() is not None:
            return
        try:
            os.killpg(self.proc.pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(10)

    def read_log(self):
        try:
            with open(self.log, "rb") as f:
                return f.read().decode("utf-8", "replace")
        except FileNotFoundError:
            return ""


class SocketActivate(Launcher):
    """systemd-socket-activate --inetd -a: accept, fork, socket on stdio."""

    name = "systemd-socket-activate"

    def command(self):
        cmd = ["systemd-socket-activate", "--inetd", "-a",
               "-l", "%s:%d" % (self.host, self.port)]
        for k, v in self.env.items():
            cmd += ["-E", "%s=%s" % (k, v)]
        return cmd + self.argv


class Xinetd(Launcher):
    """xinetd -dontfork with a private config holding one UNLISTED service."""

    name = "xinetd"
    flags = "REUSE"

    def command(self):
        conf = os.path.join(self.workdir, "xinetd.conf")
        with open(conf, "w") as f:
            f.write(self.config())
        return ["xinetd", "-dontfork", "-f", conf,
                "-pidfile", os.path.join(self.workdir, "xinetd.pid")]

    def config(self):
        env = " ".join("%s=%s" % kv for kv in self.env.items())
        return """defaults
{
	log_type = FILE %(log)s.service
	log_on_failure = HOST
}

service imaptest
{
	type = UNLISTED
	id = imaptest-%(port)d
	socket_type = stream
	protocol = tcp
	wait = no
	user = root
	bind = %(host)s
	port = %(port)d
	server = %(server)s
	server_args = %(args)s
	env = %(env)s
	instances = UNLIMITED
	per_source = UNLIMITED
	cps = 10000 1
	flags = %(flags)s
}
""" % {"log": self.log, "port": self.port, "host": self.host, "flags": self.flags,
       "server": self.argv[0], "args": " ".join(self.argv[1:]), "env": env}


class Xinetd6(Xinetd):
    """The same service with flags = IPv6: an AF_INET6 socket, bound to an
    IPv6 address (::1) or to an IPv4 one written v4-mapped
    (::ffff:127.0.0.1), where IPv4 clients arrive as v4-mapped addresses."""

    name = "xinetd-ipv6"
    flags = "REUSE IPv6"


LAUNCHERS = {"systemd-socket-activate": SocketActivate, "xinetd": Xinetd}
