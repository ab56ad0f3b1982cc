# An IMAP session with a server started on pipes (PREAUTH, as the user): the
# strict client of imapclient.py over the process's stdin/stdout, with a
# deadline on every command after which the server is killed.
import threading

from helpers.imapclient import RawIMAP

TIMEOUT = 30


class PipeIMAP(RawIMAP):
    """RawIMAP over a server's stdin/stdout (server.spawn() -> Popen); every
    command has a deadline after which the server is killed (the read then
    sees EOF)."""

    def __init__(self, server, timeout=TIMEOUT):
        self.server = server
        self.timeout = timeout
        self.proc = server.spawn()
        self.f = self.proc.stdout
        self.ntag = 0
        self.greeting_raw = self.deadline(self.read_response)

    def send(self, data):
        """Write bytes (or text) to the server at once."""
        if isinstance(data, str):
            data = data.encode()
        self.proc.stdin.write(data)
        self.proc.stdin.flush()

    def command(self, *parts, tag=None):
        """RawIMAP.command under the deadline."""
        return self.deadline(RawIMAP.command, self, *parts, tag=tag)

    def deadline(self, fn, *args, **kw):
        """fn(*args, **kw), the server killed if it takes too long (a read
        then ends in EOFError instead of hanging the test)."""
        t = threading.Timer(self.timeout, self.proc.kill)
        t.start()
        try:
            return fn(*args, **kw)
        finally:
            t.cancel()

    def close(self):
        """Close the pipes and reap the server."""
        for f in (self.proc.stdin, self.proc.stdout):
            try:
                f.close()
            except (OSError, ValueError):
                pass
        try:
            self.proc.wait(timeout=10)
        except Exception:
            self.proc.kill()
            self.proc.wait()
