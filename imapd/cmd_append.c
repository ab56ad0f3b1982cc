/* cmd_append.c: APPEND mailbox, then one message or several (MULTIAPPEND,
 * RFC 3502), each [flags] [date-time] literal, stored all or none and
 * answered with APPENDUID and the new UIDs as a set (RFC 4315); a message
 * may be joined from text and URL parts (CATENATE, RFC 4469). The size
 * limits were enforced before each literal was accepted (main.c). */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "imapd.h"
#include "imap_fmt.h"
#include "imap_url.h"

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

/* RFC 4469: "CATENATE (" cat-part *(SP cat-part) ")", a cat-part being
 * TEXT SP literal (or literal8) or URL SP astring; parts kept in order. */
static int catenate(struct parser *p, struct cat_part **out)
{
	struct cat_part **tail = out;
	char *word;

	if (p_atom(p, &word) < 0 || strcasecmp(word, "CATENATE") || p_sp(p) < 0 ||
	    p_char(p, '(') < 0)
		return p_fail(p, "The message must be sent as a literal or CATENATE");
	do {
		struct cat_part *c = pool_alloc(p->pool, sizeof *c);
		if ((*out && p_sp(p) < 0) || p_atom(p, &word) < 0 || p_sp(p) < 0)
			return -1;
		if (!strcasecmp(word, "URL")) {
			char *url;
			if (p_astring(p, &url, &c->len) < 0)
				return -1;
			c->text = url;
			c->url = 1;
		} else if (!strcasecmp(word, "TEXT")) {
			int literal8 = p_peek(p, '~');
			p->p += literal8;
			if (p_message(p, &c->text, &c->len) < 0)
				return -1;
			if (literal8 && memchr(c->text, '\0', c->len))
				return p_fail(p, literal8_nul);
		} else {
			return p_fail(p, "CATENATE takes TEXT and URL parts");
		}
		*tail = c;
		tail = &c->next;
	} while (!p_peek(p, ')'));
	return p_char(p, ')');
}

/* One append-message: SP [flag-list SP] [date-time SP] literal, literal8,
 * UTF8 (literal8) or CATENATE (...) (its parts to *cat). */
static int parse_message(struct parser *p, struct mail_new *m, struct cat_part **cat)
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
	if (p_peek(p, 'C') || p_peek(p, 'c'))
		return catenate(p, cat);
	literal8 = p_peek(p, '~');
	if (literal8)
		p->p++;
	if (p_message(p, &m->text, &m->len) < 0)
		return -1;
	if (literal8 && memchr(m->text, '\0', m->len))
		return p_fail(p, literal8_nul);
	return 0;
}

int imap_append_parse(struct parser *p, char **mailbox, struct mail_new **msgs,
		      struct cat_part ***cats, size_t *n, size_t max)
{
	struct mail_new *v = NULL;
	struct cat_part **cv = NULL;
	size_t cap = 0;

	*n = 0;
	if (p_sp(p) < 0 || p_mailbox(p, mailbox) < 0)
		return -1;
	do {
		if (*n == max)
			return 1;
		if (*n == cap) {
			struct mail_new *w = pool_alloc(p->pool, (cap = cap ? cap * 2 : 4) * sizeof *w);
			struct cat_part **cw = pool_alloc(p->pool, cap * sizeof *cw);
			if (*n) {
				memcpy(w, v, *n * sizeof *w);
				memcpy(cw, cv, *n * sizeof *cw);
			}
			v = w;
			cv = cw;
		}
		*msgs = v;
		*cats = cv;
		if (parse_message(p, &v[*n], &cv[*n]) < 0)
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


/* RFC 4469's [BADURL "url"], the URL quoted as in the RFC's example; what
 * a resp-text-code or a quoted string cannot hold is replaced by '?'. */
static char *badurl_code(struct pool *pool, const struct cat_part *c)
{
	char *code = pool_printf(pool, "BADURL \"%.*s\"", (int)(c->len > 900 ? 900 : c->len),
				 c->text);

	for (char *q = code + 8; q[1]; q++)
		if (*q == ']' || *q == '"' || *q == '\\' || (unsigned char)*q < ' ' || *q == 0x7f)
			*q = '?';
	return code;
}

/* The bytes of a URL part; 0, or -1 with why (into err's text). */
static int cat_url(struct client *c, const struct cat_part *part, const char **p, size_t *n,
		   struct mail_err *err)
{
	struct imapurl u;
	const char *why;

	if (imapurl_parse(part->text, part->len, c->pool, &u, &why) < 0) {
		mail_err_set(err, MAIL_FAIL, "%s", why);
		return -1;
	}
	return imap_url_read(c, &u, URL_CATENATE, p, n, err);
}

/* One CATENATE message joined from its parts into m; 0, or -1 after the
 * tagged NO (BADURL for a URL that names nothing readable, TOOBIG). The
 * joined messages of one APPEND are held in memory together: *joined
 * counts them against the budget of its literals, two messages at
 * max_message, so URLs cannot multiply what one command holds. */
static int catenate_join(struct cmd *cmd, const struct cat_part *parts, struct mail_new *m,
			 size_t *joined)
{
	struct client *c = cmd->c;
	struct buf text;
	int rc = 0;

	buf_init(&text);
	for (const struct cat_part *part = parts; part && !rc; part = part->next) {
		struct mail_err err;
		const char *p = part->text;
		size_t n = part->len;
		if (part->url && cat_url(c, part, &p, &n, &err) < 0) {
			resp_no(cmd, badurl_code(c->pool, part), "%s", err.text);
			rc = -1;
		} else if (text.len + n > c->cfg.max_message) {
			resp_no(cmd, "TOOBIG", "The joined message is larger than %zu octets",
				c->cfg.max_message);
			rc = -1;
		} else if (*joined + text.len + n > 2 * c->cfg.max_message) {
			resp_no(cmd, "TOOBIG", "The joined messages together are larger than "
				"%zu octets; nothing appended", 2 * c->cfg.max_message);
			rc = -1;
		} else {
			buf_append(&text, p, n);
		}
	}
	if (!rc) {
		*joined += text.len;
		m->text = pool_strndup(c->pool, text.data ? text.data : "", text.len);
		m->len = text.len;
	}
	buf_free(&text);
	return rc;
}

/* APPEND's and REPLACE's arguments, parsed and checked, CATENATE parts
 * joined; see imapd.h. */
int imap_append_args(struct cmd *cmd, char **name, struct mail_new **msgs, size_t *n,
		     size_t max)
{
	struct cat_part **cats = NULL;
	size_t joined = 0;
	int r = imap_append_parse(&cmd->p, name, msgs, &cats, n, max);

	if (r < 0 && cmd->p.error == literal8_nul)
		resp_no(cmd, "UNKNOWN-CTE", "%s: nothing appended", literal8_nul);
	else if (r < 0)
		resp_parse_error(cmd);
	else if (r > 0)
		resp_no(cmd, "LIMIT", "Too many messages: one %s takes at most %zu", cmd->name, max);
	if (r)
		return -1;
	for (size_t i = 0; i < *n; i++) {
		if (cats[i] && catenate_join(cmd, cats[i], &(*msgs)[i], &joined) < 0)
			return -1;
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
