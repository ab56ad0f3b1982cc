/* cmd_idle.c: IDLE (RFC 2177). We wait for the client's DONE and for the
 * mailbox's watch (inotify, from its driver) and send what changed; a
 * format without a watch is pinged every few seconds. */
#include <string.h>

#include "imapd.h"
#include "context.h"

#define IDLE_PING_SECONDS 5
/* With a watch, a ping this often anyway: a change made where inotify does
 * not see it (another machine over NFS) still shows within a minute. */
#define IDLE_WATCHED_SECONDS 60

/* Wait (never past the deadline) for client bytes, which may already wait
 * in our buffer or inside TLS where poll cannot see, or for the mailbox's
 * watch to fire; NOTIFY's mailboxes are told of meanwhile. */
static int idle_wait(struct client *c, int watch)
{
	if (imap_client_pending(c))
		return IMAP_WAIT_CLIENT;
	unsigned secs = io_wait_seconds(&c->io), most = watch >= 0 ? IDLE_WATCHED_SECONDS :
								IDLE_PING_SECONDS;

	if (!secs || secs > most)
		secs = most;
	return imap_wait_events(c, watch, secs);
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
	int watch = c->box ? mail_watch_fd(c->box) : -1;

	if (p_end(&cmd->p) < 0)
		return resp_parse_error(cmd);
	io_puts(&c->io, "+ idling\r\n");
	io_flush(&c->io);
	io_set_deadline(&c->io, c->cfg.timeout_idle);
	buf_init(&line);
	for (;;) {
		if (io_deadline_passed(&c->io))
			break;
		int why = idle_wait(c, watch);
		if (why == IMAP_WAIT_CLIENT) {
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
		if ((why == IMAP_WAIT_MAILBOX && !mail_watch_changed(c->box)) ||
		    why == IMAP_WAIT_OTHER)
			continue;
		if (c->box && mail_ping(c->box, &err) < 0)
			resp_untagged(c, "NO %s", err.text);
		imap_context_update(c);
		io_flush(&c->io);
	}
	buf_free(&line);
	idle_expired(cmd);
}
