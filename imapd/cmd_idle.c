/* cmd_idle.c: IDLE (RFC 2177). We poll the mailbox every few seconds and
 * send what changed until the client says DONE. */
#include <poll.h>
#include <string.h>

#include "imapd.h"

#define IDLE_PING_SECONDS 5

/* Wait up to IDLE_PING_SECONDS (never past the deadline) for client bytes,
 * which may already wait in our buffer or inside TLS where poll cannot see. */
static int idle_wait(struct client *c)
{
	if (c->io.rpos < c->io.rlen || (c->io.tr->pending && c->io.tr->pending(c->io.trctx) > 0))
		return 1;
	unsigned secs = io_wait_seconds(&c->io);
	struct pollfd pfd = {.fd = c->io.in_fd, .events = POLLIN};

	if (!secs || secs > IDLE_PING_SECONDS)
		secs = IDLE_PING_SECONDS;
	return poll(&pfd, 1, (int)secs * 1000) > 0;
}

/* The deadline passed: the session ends, however many bytes trickled in. */
static void idle_expired(struct cmd *cmd)
{
	io_puts(&cmd->c->io, "* BYE Autologout; idle for too long\r\n");
	cmd->c->state = ST_LOGOUT;
	resp_no(cmd, NULL, "IDLE timed out");
}

/* The whole IDLE lasts at most timeout_idle: the deadline, not the last
 * byte received, ends it (a byte every few seconds keeps nothing alive). */
void cmd_idle(struct cmd *cmd)
{
	struct client *c = cmd->c;
	struct mail_err err;
	struct buf line;

	if (p_end(&cmd->p) < 0)
		return resp_parse_error(cmd);
	io_puts(&c->io, "+ idling\r\n");
	io_flush(&c->io);
	io_set_deadline(&c->io, c->cfg.timeout_idle);
	buf_init(&line);
	for (;;) {
		if (io_deadline_passed(&c->io))
			break;
		if (idle_wait(c)) {
			unsigned saved = c->io.timeout;
			c->io.timeout = IDLE_PING_SECONDS;
			buf_reset(&line);
			enum io_status st = io_readline(&c->io, &line, c->cfg.max_line);
			c->io.timeout = saved;
			if (st == IO_OK && !strcasecmp(line.data ? line.data : "", "DONE")) {
				buf_free(&line);
				return resp_ok(cmd, NULL, "IDLE terminated");
			}
			if (st == IO_EOF || st == IO_ERROR) {
				buf_free(&line);
				c->state = ST_LOGOUT;
				return resp_bad(cmd, "IDLE: connection closed");
			}
			if (st == IO_TOOLONG) {
				buf_free(&line);
				imap_line_too_long(c);
			}
			if (st == IO_OK) {
				buf_free(&line);
				return resp_bad(cmd, "IDLE: expected DONE");
			}
			continue;
		}
		if (c->box && mail_ping(c->box, &err) < 0)
			resp_untagged(c, "NO %s", err.text);
		io_flush(&c->io);
	}
	buf_free(&line);
	idle_expired(cmd);
}
