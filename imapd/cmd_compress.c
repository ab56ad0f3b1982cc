/* cmd_compress.c: COMPRESS (RFC 4978). The tagged OK is the last thing
 * sent in clear; from the byte after it both directions are raw deflate,
 * stacked on whatever carries the session (the socket, TLS, or the
 * pre-login process's channel, which passes the bytes on unread). */
#include <strings.h>

#include "imapd.h"
#include "io_deflate.h"
#include "log.h"

/* COMPRESS mechanism: only DEFLATE, only once per session. */
void cmd_compress(struct cmd *cmd)
{
	struct client *c = cmd->c;
	char *mech;

	if (p_sp(&cmd->p) < 0 || p_atom(&cmd->p, &mech) < 0 || p_end(&cmd->p) < 0)
		return resp_parse_error(cmd);
	if (io_deflate_active(&c->io))
		return resp_no(cmd, "COMPRESSIONACTIVE", "DEFLATE is already active");
	if (strcasecmp(mech, "DEFLATE"))
		return resp_bad(cmd, "Unknown compression mechanism %s (DEFLATE is offered)", mech);
	resp_ok(cmd, NULL, "DEFLATE active");
	if (io_flush(&c->io) < 0)
		imap_exit(c, NULL, 0);
	if (io_deflate_start(&c->io) < 0) {
		/* the client already compresses: a clear BYE is all it can get */
		log_err("COMPRESS: zlib could not start user=%s host=%s", c->user.name,
			c->conn.peer_host);
		imap_exit(c, "Server error: compression could not start", 1);
	}
}
