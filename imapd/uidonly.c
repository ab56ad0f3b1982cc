/* uidonly.c: UIDONLY (RFC 9586). Once a client enabled it, messages are
 * named by UID alone: commands that take message numbers are refused with
 * [UIDREQUIRED], FETCH answers become UIDFETCH, expunges VANISHED. */
#include <string.h>

#include "imapd.h"

const char imap_uidrequired[] = "Message numbers cannot be used once UIDONLY is enabled";

/* BAD [UIDREQUIRED] for a command given with message numbers (imapd.h). */
int imap_uidonly_refuse(struct cmd *cmd)
{
	/* every command with a UID form takes message numbers without it,
	 * except EXPUNGE, which takes nothing */
	if (!(cmd->c->enabled & CLIENT_EN_UIDONLY) || cmd->uid || !(cmd->flags & CMD_UID) ||
	    !strcmp(cmd->name, "EXPUNGE"))
		return 0;
	resp_bad(cmd, "[UIDREQUIRED] %s: use UID %s", imap_uidrequired, cmd->name);
	return 1;
}

/* The start of every FETCH response, by message number or by UID. */
int imap_put_fetch_head(const struct client *c, struct buf *out, uint32_t msgno, int with_uid)
{
	uint32_t uid = c->box->msgs[msgno - 1]->uid;

	/* RFC 9586 3.3: the UID is the response's number; the UID item comes
	 * only when asked for by name */
	int uidonly = (c->enabled & CLIENT_EN_UIDONLY) != 0;

	/* written without printf: a FETCH 1:* writes this once a message */
	buf_puts(out, "* ");
	buf_put_uint(out, uidonly ? uid : msgno, 0);
	buf_puts(out, uidonly ? " UIDFETCH (" : " FETCH (");
	if (uidonly || !with_uid)
		return 0;
	buf_puts(out, "UID ");
	buf_put_uint(out, uid, 0);
	return 1;
}
