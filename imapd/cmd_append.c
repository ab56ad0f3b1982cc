/* cmd_append.c: APPEND mailbox, then one message or several (MULTIAPPEND,
 * RFC 3502), each [flags] [date-time] literal, stored all or none and
 * answered with APPENDUID and the new UIDs as a set (RFC 4315). The size
 * limits were enforced before each literal was accepted (main.c). */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "imapd.h"
#include "imap_fmt.h"

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

/* RFC 3516 4.4: binary content the mailbox cannot store is refused with
 * UNKNOWN-CTE. Our formats keep text lines, where a NUL has no place; a
 * NUL in an ordinary literal is the client's mistake and stored as ever. */
static const char literal8_nul[] = "Binary content with NUL octets cannot be stored here";

/* RFC 6855 4: "UTF8 (" literal8 ")", a message whose header may hold
 * UTF-8, once the client enabled UTF8=ACCEPT. */
static int utf8_message(struct parser *p, struct mail_new *m)
{
	char *word;

	if (p_atom(p, &word) < 0 || strcasecmp(word, "UTF8"))
		return p_fail(p, "The message must be sent as a literal");
	if (!p->utf8)
		return p_fail(p, "APPEND UTF8 needs ENABLE UTF8=ACCEPT first");
	if (p_sp(p) < 0 || p_char(p, '(') < 0 || p_char(p, '~') < 0 ||
	    p_message(p, &m->text, &m->len) < 0)
		return -1;
	if (memchr(m->text, '\0', m->len))
		return p_fail(p, literal8_nul);   /* a literal8 like any other */
	return p_char(p, ')');
}

/* One append-message: SP [flag-list SP] [date-time SP] literal, literal8
 * or UTF8 (literal8). */
static int parse_message(struct parser *p, struct mail_new *m)
{
	int literal8;

	memset(m, 0, sizeof *m);
	if (p_sp(p) < 0)
		return -1;
	if (p_peek(p, '(') && (p_flag_list(p, &m->flags, &m->keywords, 1) < 0 || p_sp(p) < 0))
		return -1;
	if (p_peek(p, '"') && (p_date_time(p, &m->date, &m->tz_minutes) < 0 || p_sp(p) < 0))
		return -1;
	if (p_peek(p, 'U') || p_peek(p, 'u'))
		return utf8_message(p, m);
	literal8 = p_peek(p, '~');
	if (literal8)
		p->p++;
	if (p_message(p, &m->text, &m->len) < 0)
		return -1;
	if (literal8 && memchr(m->text, '\0', m->len))
		return p_fail(p, literal8_nul);
	return 0;
}

int imap_append_parse(struct parser *p, char **mailbox, struct mail_new **msgs, size_t *n,
		      size_t max)
{
	struct mail_new *v = NULL;
	size_t cap = 0;

	*n = 0;
	if (p_sp(p) < 0 || p_mailbox(p, mailbox) < 0)
		return -1;
	do {
		if (*n == max)
			return 1;
		if (*n == cap) {
			struct mail_new *w = pool_alloc(p->pool, (cap = cap ? cap * 2 : 4) * sizeof *w);
			if (*n)
				memcpy(w, v, *n * sizeof *w);
			v = w;
		}
		*msgs = v;
		if (parse_message(p, &v[*n]) < 0)
			return -1;
		++*n;
	} while (!p_at_end(p));
	return 0;
}

uint32_t imap_append_limit(const struct client *c)
{
	return c->cfg.max_message < UINT32_MAX ? (uint32_t)c->cfg.max_message : UINT32_MAX;
}

/* RFC 4315 APPENDUID, shared by APPEND and REPLACE (RFC 8508 4.3). */
void imap_put_appenduid(struct buf *out, uint32_t uidvalidity, const uint32_t *uids, size_t n)
{
	for (size_t i = 0; i < n && uidvalidity; i++)
		if (!uids[i])
			return;
	if (!uidvalidity)
		return;
	buf_printf(out, "APPENDUID %u ", uidvalidity);
	imap_put_seqset(out, uids, n);
}

/* APPEND's and REPLACE's arguments, parsed and checked; see imapd.h. */
int imap_append_args(struct cmd *cmd, char **name, struct mail_new **msgs, size_t *n,
		     size_t max)
{
	int r = imap_append_parse(&cmd->p, name, msgs, n, max);

	if (r < 0 && cmd->p.error == literal8_nul)
		resp_no(cmd, "UNKNOWN-CTE", "%s: nothing appended", literal8_nul);
	else if (r < 0)
		resp_parse_error(cmd);
	else if (r > 0)
		resp_no(cmd, "LIMIT", "Too many messages: one %s takes at most %zu", cmd->name, max);
	if (r)
		return -1;
	for (size_t i = 0; i < *n; i++) {
		/* RFC 3502: an empty literal is how a client cancels the APPEND */
		if (!(*msgs)[i].len) {
			resp_no(cmd, NULL, "Message %zu is empty: %s cancelled, nothing appended",
				i + 1, cmd->name);
			return -1;
		}
		if (!keywords_fit((*msgs)[i].keywords)) {
			resp_no(cmd, "LIMIT", "Too many keywords: a mailbox holds at most %d",
				MAIL_KEYWORDS_MAX);
			return -1;
		}
	}
	return 0;
}

/* APPEND: parse every message, check what the mailbox cannot take, store
 * them all in one mail_append. */
void cmd_append(struct cmd *cmd)
{
	struct mail_new *msgs = NULL;
	struct mail_err err;
	uint32_t uidvalidity = 0, *uids;
	struct buf code;
	char *name;
	size_t n;

	if (imap_append_args(cmd, &name, &msgs, &n, APPEND_MESSAGES_MAX) < 0)
		return;
	uids = pool_alloc(cmd->c->pool, n * sizeof *uids);
	memset(uids, 0, n * sizeof *uids);
	if (mail_append(&cmd->c->sess, name, msgs, n, &uidvalidity, uids, &err) < 0)
		return resp_mail_error(cmd, &err);
	buf_init(&code);
	imap_put_appenduid(&code, uidvalidity, uids, n);
	resp_ok(cmd, code.data, "APPEND completed");
	buf_free(&code);
}
