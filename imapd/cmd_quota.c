/* cmd_quota.c: QUOTA (RFC 9208). One quota root, "", holds all of a user's
 * mailboxes; its limits come from the configuration (quota.c), so SETQUOTA
 * is refused. Offered only when a limit is configured. */
#include <string.h>
#include <strings.h>

#include "imapd.h"
#include "quota.h"

/* The capabilities: QUOTA and one RES- per limited resource. */
void imap_quota_capabilities(const struct client *c, struct buf *out)
{
	if (!mail_quota_active(&c->sess))
		return;
	buf_puts(out, " QUOTA");
	if (c->sess.quota_storage)
		buf_puts(out, " QUOTA=RES-STORAGE");
	if (c->sess.quota_messages)
		buf_puts(out, " QUOTA=RES-MESSAGE");
}

/* "* QUOTA "" (...)" with each limited resource; STORAGE in KiB, rounded
 * up so a byte over a limit shows. */
static int quota_send(struct cmd *cmd)
{
	struct mail_quota q;
	struct mail_err err;
	struct buf b;

	if (mail_quota_get(&cmd->c->sess, &q, &err) < 0) {
		resp_mail_error(cmd, &err);
		return -1;
	}
	buf_init(&b);
	buf_puts(&b, "QUOTA \"\" (");
	if (q.storage_limit)
		buf_printf(&b, "STORAGE %llu %llu", (unsigned long long)(q.storage_used + 1023) / 1024,
			   (unsigned long long)q.storage_limit / 1024);
	if (q.messages_limit)
		buf_printf(&b, "%sMESSAGE %llu %llu", q.storage_limit ? " " : "",
			   (unsigned long long)q.messages_used, (unsigned long long)q.messages_limit);
	buf_putc(&b, ')');
	resp_untagged(cmd->c, "%s", b.data);
	buf_free(&b);
	return 0;
}

/* GETQUOTA root: only "" exists. */
void cmd_getquota(struct cmd *cmd)
{
	char *root;

	if (p_sp(&cmd->p) < 0 || p_astring(&cmd->p, &root, NULL) < 0 || p_end(&cmd->p) < 0)
		return resp_parse_error(cmd);
	if (*root || !mail_quota_active(&cmd->c->sess))
		return resp_no(cmd, "NONEXISTENT", "No such quota root");
	if (quota_send(cmd) == 0)
		resp_ok(cmd, NULL, "GETQUOTA completed");
}

/* GETQUOTAROOT mailbox: the mailbox must exist; its root is "". */
void cmd_getquotaroot(struct cmd *cmd)
{
	struct client *c = cmd->c;
	struct mail_status st;
	struct mail_err err;
	struct buf b;
	char *name;

	if (p_sp(&cmd->p) < 0 || p_mailbox(&cmd->p, &name) < 0 || p_end(&cmd->p) < 0)
		return resp_parse_error(cmd);
	if (mail_status(&c->sess, name, &st, &err) < 0)
		return resp_mail_error(cmd, &err);
	buf_init(&b);
	buf_puts(&b, "QUOTAROOT ");
	imap_put_mailbox(c, &b, name);
	if (mail_quota_active(&c->sess))
		buf_puts(&b, " \"\"");
	resp_untagged(c, "%s", b.data);
	buf_free(&b);
	if (!mail_quota_active(&c->sess) || quota_send(cmd) == 0)
		resp_ok(cmd, NULL, "GETQUOTAROOT completed");
}

/* SETQUOTA root (resource limit ...): read whole, then refused: the
 * administrator sets limits in the configuration. */
void cmd_setquota(struct cmd *cmd)
{
	struct parser *p = &cmd->p;
	uint64_t limit;
	char *root, *res;

	if (p_sp(p) < 0 || p_astring(p, &root, NULL) < 0 || p_sp(p) < 0 || p_char(p, '(') < 0)
		return resp_parse_error(cmd);
	for (int first = 1; !p_peek(p, ')'); first = 0)
		if ((!first && p_sp(p) < 0) || p_atom(p, &res) < 0 || p_sp(p) < 0 ||
		    p_number64(p, &limit) < 0)
			return resp_parse_error(cmd);
	if (p_char(p, ')') < 0 || p_end(p) < 0)
		return resp_parse_error(cmd);
	resp_no(cmd, "NOPERM", "Quotas are set by the administrator");
}
