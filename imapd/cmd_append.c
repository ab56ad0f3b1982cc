/* cmd_append.c: APPEND mailbox [flags] [date-time] literal, answering with
 * APPENDUID (RFC 4315). The size limit was enforced before the literal was
 * accepted (main.c), so the bytes are here already. */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "imapd.h"

/* Do the distinct keywords (case-insensitive) of the list fit in a mailbox?
 * Stops at the first one too many, so a long list costs little. */
static int keywords_fit(char **kw)
{
	const char *seen[MAIL_KEYWORDS_MAX];
	size_t n = 0, j;

	for (; kw && *kw; kw++) {
		for (j = 0; j < n && strcasecmp(seen[j], *kw); j++)
			;
		if (j < n)
			continue;
		if (n == MAIL_KEYWORDS_MAX)
			return 0;
		seen[n++] = *kw;
	}
	return 1;
}

void cmd_append(struct cmd *cmd)
{
	struct mail_new msg;
	struct mail_err err;
	uint32_t uidvalidity = 0, uid = 0;
	char *name, *text;
	size_t len;

	memset(&msg, 0, sizeof msg);
	if (p_sp(&cmd->p) < 0 || p_mailbox(&cmd->p, &name) < 0 || p_sp(&cmd->p) < 0)
		return resp_parse_error(cmd);
	if (p_peek(&cmd->p, '(')) {
		if (p_flag_list(&cmd->p, &msg.flags, &msg.keywords, 1) < 0 || p_sp(&cmd->p) < 0)
			return resp_parse_error(cmd);
	}
	if (p_peek(&cmd->p, '"')) {
		if (p_date_time(&cmd->p, &msg.date, &msg.tz_minutes) < 0 || p_sp(&cmd->p) < 0)
			return resp_parse_error(cmd);
	}
	if (p_message(&cmd->p, &text, &len) < 0 || p_end(&cmd->p) < 0)
		return resp_parse_error(cmd);
	if (!keywords_fit(msg.keywords))
		return resp_no(cmd, "LIMIT", "Too many keywords: a mailbox holds at most %d",
			       MAIL_KEYWORDS_MAX);
	msg.text = text;
	msg.len = len;
	if (mail_append(&cmd->c->sess, name, &msg, 1, &uidvalidity, &uid, &err) < 0)
		return resp_mail_error(cmd, &err);
	if (uidvalidity && uid) {
		char code[64];
		snprintf(code, sizeof code, "APPENDUID %u %u", uidvalidity, uid);
		return resp_ok(cmd, code, "APPEND completed");
	}
	resp_ok(cmd, NULL, "APPEND completed");
}
