/* cmd_replace.c: REPLACE and UID REPLACE (RFC 8508). The new message is
 * appended first and the old one expunged only once that succeeded, so a
 * failure at any step leaves the old message where it was. */
#include <string.h>

#include "imapd.h"

/* seq-number (RFC 3501 9): a number, or "*" for the last one. */
static int p_seq_number(struct parser *p, uint32_t *n)
{
	if (!p_peek(p, '*'))
		return p_nz_number(p, n);
	p->p++;
	*n = NUMSET_STAR;
	return 0;
}

/* SP seq-number: one message number, a UID with the UID prefix, or "*".
 * Returns the message number, 0 after the tagged answer. */
static uint32_t replace_target(struct cmd *cmd)
{
	struct numrange one;
	struct numset set = {&one, 1, 0};
	uint32_t *msgnos;

	if (p_sp(&cmd->p) < 0 || p_seq_number(&cmd->p, &one.lo) < 0) {
		resp_parse_error(cmd);
		return 0;
	}
	one.hi = one.lo;
	ssize_t n = imap_resolve_set(cmd, &set, &msgnos);
	if (n == 0)
		resp_no(cmd, NULL, "No message with UID %u to replace", one.lo);
	return n > 0 ? msgnos[0] : 0;
}

/* REPLACE / UID REPLACE: append the new message, then expunge the old. */
void cmd_replace(struct cmd *cmd)
{
	struct client *c = cmd->c;
	struct mail_new *msg;
	struct mail_err err;
	uint32_t uidvalidity = 0, uid = 0, old_uid;
	char *dest;
	size_t n;

	uint32_t msgno = replace_target(cmd);
	if (!msgno || imap_append_args(cmd, &dest, &msg, &n, 1) < 0)
		return;
	/* refused before anything is stored: the old message could not go */
	if (c->box->readonly)
		return resp_no(cmd, NULL, "Mailbox is read-only");
	old_uid = c->box->msgs[msgno - 1]->uid;
	memset(&err, 0, sizeof err);
	if (mail_append(&c->sess, dest, msg, 1, &uidvalidity, &uid, &err) < 0)
		return resp_mail_error(cmd, &err);
	struct buf code;
	buf_init(&code);
	imap_put_appenduid(&code, uidvalidity, &uid, 1);
	if (code.len)
		resp_untagged(c, "OK [%s] Replacement stored", code.data);
	buf_free(&code);
	/* the message may have moved if the append reported news; find it again */
	msgno = mail_msgno(c->box, old_uid);
	if (!msgno || imap_expunge_exactly(cmd, &msgno, &old_uid, 1, &err) < 0) {
		imap_undo_stored(cmd, dest, uidvalidity, &uid, 1);
		if (!msgno)
			return resp_no(cmd, NULL, "The message was expunged meanwhile");
		return resp_mail_error(cmd, &err);
	}
	resp_ok(cmd, NULL, "%sREPLACE completed", cmd->uid ? "UID " : "");
}
