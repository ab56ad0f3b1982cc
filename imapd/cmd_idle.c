/* cmd_idle.c: IDLE (RFC 2177). We poll the mailbox every few seconds and
 * send what changed until the client says DONE. */
#include <poll.h>
#include <string.h>

#include "imapd.h"

#define IDLE_PING_SECONDS 5

void cmd_idle(struct cmd *cmd)
{
	struct client *c = cmd->c;
	struct mail_err err;
	struct buf line;
	unsigned waited = 0;

	if (p_end(&cmd->p) < 0)
		return resp_parse_error(cmd);
	io_puts(&c->io, "+ idling\r\n");
	io_flush(&c->io);
	buf_init(&line);
	for (;;) {
		/* bytes may wait in our buffer or inside TLS, where poll cannot see */
		int have_input = c->io.rpos < c->io.rlen ||
				 (c->io.tr->pending && c->io.tr->pending(c->io.trctx) > 0);
		if (!have_input) {
			struct pollfd pfd = {.fd = c->io.in_fd, .events = POLLIN};
			have_input = poll(&pfd, 1, IDLE_PING_SECONDS * 1000) > 0;
		}
		if (have_input) {
			unsigned saved = c->io.timeout;
			c->io.timeout = IDLE_PING_SECONDS;
			buf_reset(&line);
			enum io_status st = io_readline(&c->io, &line, c->cfg.max_line);
			c->io.timeout = saved;
			if (st == IO_OK && !strcasecmp(line.data ? line.data : "", "DONE"))
				break;
			if (st == IO_EOF || st == IO_ERROR) {
				buf_free(&line);
				c->state = ST_LOGOUT;
				return resp_bad(cmd, "IDLE: connection closed");
			}
			if (st == IO_OK || st == IO_TOOLONG) {
				buf_free(&line);
				return resp_bad(cmd, "IDLE: expected DONE");
			}
			continue;
		}
		waited += IDLE_PING_SECONDS;
		if (c->cfg.timeout_idle && waited >= c->cfg.timeout_idle) {
			buf_free(&line);
			io_puts(&c->io, "* BYE Autologout; idle for too long\r\n");
			c->state = ST_LOGOUT;
			return resp_no(cmd, NULL, "IDLE timed out");
		}
		if (c->box && mail_ping(c->box, &err) < 0)
			resp_untagged(c, "NO %s", err.text);
		io_flush(&c->io);
	}
	buf_free(&line);
	resp_ok(cmd, NULL, "IDLE terminated");
}
