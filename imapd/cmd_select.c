/* cmd_select.c: opening and leaving a mailbox: SELECT, EXAMINE, CLOSE,
 * UNSELECT, CHECK, EXPUNGE (and UID EXPUNGE, RFC 4315). */
#include <string.h>

#include "imapd.h"
#include "context.h"
#include "imap_fmt.h"
#include "log.h"

static void put_flag_names(struct buf *b, const struct mailbox *box, int permanent)
{
	buf_puts(b, "(\\Answered \\Flagged \\Deleted \\Seen \\Draft");
	for (unsigned k = 0; k < box->nkeywords; k++) {
		buf_putc(b, ' ');
		buf_puts(b, box->keywords[k]);
	}
	if (permanent && box->keywords_creatable)
		buf_puts(b, " \\*");
	buf_putc(b, ')');
}

static void select_common(struct cmd *cmd, int readonly)
{
	struct client *c = cmd->c;
	struct mail_err err;
	struct mailbox *box;
	struct select_params sp = {0};
	struct buf b;
	char *name;

	if (p_sp(&cmd->p) < 0 || p_mailbox(&cmd->p, &name) < 0 ||
	    (p_peek(&cmd->p, ' ') && imap_select_params(cmd, &sp) < 0) || p_end(&cmd->p) < 0)
		return resp_parse_error(cmd);
	imap_searchres_reset(c);   /* RFC 5182: "$" starts empty in every mailbox */
	imap_context_free_all(c);
	if (c->box) {
		/* RFC 3501: a failed SELECT still leaves no mailbox selected, so
		 * the old one is closed whatever happens; a loss is said aloud */
		struct mail_err lost;
		if (mail_close(c->box, 0, &lost) < 0)
			imap_report_lost(c, &lost);
		c->box = NULL;
		c->state = ST_AUTH;
		/* RFC 7162 3.2.11, RFC 9051 7.1: the client must know where
		 * the old mailbox's responses end */
		if (c->enabled & (CLIENT_EN_QRESYNC | CLIENT_EN_REV2))
			resp_untagged(c, "OK [CLOSED] Previous mailbox closed");
	}
	if (mail_open(&c->sess, name, readonly, &imap_events, c, &box, &err) < 0)
		return resp_mail_error(cmd, &err);
	c->box = box;
	c->state = ST_SELECTED;

	buf_init(&b);
	put_flag_names(&b, box, 0);
	resp_untagged(c, "FLAGS %s", b.data);
	buf_reset(&b);
	if (box->readonly)
		buf_puts(&b, "()");
	else
		put_flag_names(&b, box, 1);
	resp_untagged(c, "OK [PERMANENTFLAGS %s] Flags the client can change permanently", b.data);
	buf_free(&b);
	resp_untagged(c, "%u EXISTS", box->nmsgs);
	/* rev2 has neither (RFC 9051 6.3.2); UNSEEN names a message number,
	 * which a UIDONLY client never sees */
	unsigned rev2 = c->enabled & CLIENT_EN_REV2;
	if (!rev2)
		resp_untagged(c, "%u RECENT", box->recent);
	for (uint32_t i = 0; !(c->enabled & (CLIENT_EN_UIDONLY | CLIENT_EN_REV2)) && i < box->nmsgs;
	     i++)
		if (!(box->msgs[i]->flags & MF_SEEN)) {
			resp_untagged(c, "OK [UNSEEN %u] First unseen message", i + 1);
			break;
		}
	resp_untagged(c, "OK [UIDVALIDITY %u] UIDs valid", box->uidvalidity);
	resp_untagged(c, "OK [UIDNEXT %u] Predicted next UID", box->uidnext);
	buf_init(&b);
	if (imap_mailboxid_code(c, box->name, &b) == 0)
		resp_untagged(c, "OK [%s] Mailbox id", b.data);
	buf_free(&b);
	if (rev2)
		imap_list_selected(c);
	imap_select_condstore(cmd, &sp);
	resp_ok(cmd, box->readonly ? "READ-ONLY" : "READ-WRITE", "%s completed",
		readonly ? "EXAMINE" : "SELECT");
}

void cmd_select(struct cmd *cmd)
{
	select_common(cmd, 0);
}

void cmd_examine(struct cmd *cmd)
{
	select_common(cmd, 1);
}

/* CLOSE and UNSELECT: what cannot be saved (the expunge CLOSE implies, a
 * flag change) makes the command fail with the mailbox still selected, so
 * nothing is lost and the client may try again. */
static void leave_mailbox(struct cmd *cmd, int expunge)
{
	struct client *c = cmd->c;
	struct mail_err err;

	if (p_end(&cmd->p) < 0)
		return resp_parse_error(cmd);
	if (mail_save(c->box, expunge && !c->box->readonly, &err) < 0) {
		log_err("%s failed user=%s host=%s: %s", cmd->name, c->user.name,
			c->conn.peer_host, err.text);
		return resp_mail_error(cmd, &err);
	}
	mail_close(c->box, 0, NULL);   /* saved just now: nothing is left to lose */
	c->box = NULL;
	c->state = ST_AUTH;
	imap_searchres_reset(c);
	imap_context_free_all(c);
	resp_ok(cmd, NULL, "%s completed", cmd->name);
}

void cmd_close(struct cmd *cmd)
{
	leave_mailbox(cmd, 1);
}

void cmd_unselect(struct cmd *cmd)
{
	leave_mailbox(cmd, 0);
}

void cmd_check(struct cmd *cmd)
{
	struct mail_err err;

	if (p_end(&cmd->p) < 0)
		return resp_parse_error(cmd);
	if (mail_check(cmd->c->box, &err) < 0)
		return resp_mail_error(cmd, &err);
	resp_ok(cmd, NULL, "CHECK completed");
}

void cmd_expunge(struct cmd *cmd)
{
	struct mailbox *box = cmd->c->box;
	struct mail_err err;
	uint32_t *uids = NULL;
	size_t nuids = 0;

	if (cmd->uid) {
		struct numset set;
		uint32_t *msgnos;
		if (p_sp(&cmd->p) < 0 || p_seqset(&cmd->p, &set) < 0 || p_end(&cmd->p) < 0)
			return resp_parse_error(cmd);
		ssize_t got = imap_resolve_set(cmd, &set, &msgnos);
		if (got < 0)
			return;
		nuids = (size_t)got;
		uids = msgnos;   /* reuse the array: msgno -> uid in place */
		for (size_t i = 0; i < nuids; i++)
			uids[i] = box->msgs[msgnos[i] - 1]->uid;
		if (nuids == 0)
			return resp_ok(cmd, NULL, "UID EXPUNGE completed (nothing matched)");
	} else if (p_end(&cmd->p) < 0) {
		return resp_parse_error(cmd);
	}
	if (box->readonly)
		return resp_no(cmd, "READ-ONLY", "The mailbox is open read-only (EXAMINE)");
	if (mail_expunge(box, uids, nuids, &err) < 0)
		return resp_mail_error(cmd, &err);
	resp_ok(cmd, NULL, "%sEXPUNGE completed", cmd->uid ? "UID " : "");
}
