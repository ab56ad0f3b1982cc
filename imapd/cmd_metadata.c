/* cmd_metadata.c: GETMETADATA and SETMETADATA (RFC 5464) for the server
 * ("") and for mailboxes; the entries live in the library (metadata.c).
 * Each user sees only their own, so /shared and /private are both kept. */
#include <string.h>
#include <strings.h>

#include "imap_fmt.h"
#include "imapd.h"
#include "metadata.h"

#define META_ENTRIES_MAX 64   /* names in one GETMETADATA */
#define DEPTH_INFINITY 2

struct meta_get {
	uint32_t maxsize;           /* 0: no MAXSIZE */
	int depth;                  /* 0, 1, DEPTH_INFINITY */
	char *names[META_ENTRIES_MAX];
	size_t n;
	size_t longest;             /* largest value MAXSIZE left out */
};

/* The mailbox must exist, except "" (the server). */
static int meta_box_ok(struct cmd *cmd, const char *box)
{
	struct mail_status st;
	struct mail_err err;

	if (!*box || mail_status(&cmd->c->sess, box, &st, &err) == 0)
		return 0;
	resp_mail_error(cmd, &err);
	return -1;
}

/* One entry name; -1 with p's error when RFC 5464 3.2 forbids it. */
static int meta_name(struct parser *p, char **name)
{
	size_t len;

	if (p_astring(p, name, &len) < 0)
		return -1;
	if (!mail_meta_name_valid(*name, len))
		return p_fail(p, "bad entry name");
	return 0;
}

/* GETMETADATA's "(MAXSIZE n DEPTH d)". */
static int meta_options(struct parser *p, struct meta_get *g)
{
	char *opt, *v;

	if (p_char(p, '(') < 0)
		return -1;
	for (int first = 1; !p_peek(p, ')'); first = 0) {
		if ((!first && p_sp(p) < 0) || p_atom(p, &opt) < 0 || p_sp(p) < 0)
			return -1;
		if (!strcasecmp(opt, "MAXSIZE")) {
			if (p_number(p, &g->maxsize) < 0)
				return -1;
		} else if (!strcasecmp(opt, "DEPTH")) {
			if (p_atom(p, &v) < 0)
				return -1;
			g->depth = !strcmp(v, "0") ? 0 : !strcmp(v, "1") ? 1 :
				   !strcasecmp(v, "infinity") ? DEPTH_INFINITY : -1;
			if (g->depth < 0)
				return p_fail(p, "DEPTH is 0, 1 or infinity");
		} else {
			return p_fail(p, "unknown GETMETADATA option");
		}
	}
	return p_char(p, ')');
}

/* The entry names: one, or a parenthesised list. */
static int meta_names(struct parser *p, struct meta_get *g)
{
	int list = p_peek(p, '(');

	if (list)
		p->p++;
	do {
		if (g->n == META_ENTRIES_MAX)
			return p_fail(p, "too many entry names");
		if ((g->n && p_sp(p) < 0) || meta_name(p, &g->names[g->n]) < 0)
			return -1;
		g->n++;
	} while (list && !p_peek(p, ')'));
	return list ? p_char(p, ')') : 0;
}

/* Does entry name fall under the requested req at the depth asked? */
static int meta_wanted(const char *name, const char *req, int depth)
{
	size_t rl = strlen(req);

	if (!strcasecmp(name, req))
		return 1;
	if (!depth || strncasecmp(name, req, rl) || name[rl] != '/')
		return 0;
	return depth == DEPTH_INFINITY || !strchr(name + rl + 1, '/');
}

/* Put entry m into the response unless MAXSIZE leaves it out. */
static void meta_put(struct buf *b, struct meta_get *g, const struct mail_meta *m)
{
	if (g->maxsize && m->len > g->maxsize) {
		if (m->len > g->longest)
			g->longest = m->len;
		return;
	}
	buf_printf(b, "%s%s ", b->data[b->len - 1] == '(' ? "" : " ", m->name);
	if (!memchr(m->value, '\0', m->len))
		return imap_put_string(b, m->value, m->len);
	/* RFC 5464 5.4 values are binary: a NUL needs RFC 3516's literal8 (an
	 * ENVELOPE's nstring has no such form, so imap_put_string sends none) */
	buf_printf(b, "~{%zu}\r\n", m->len);
	buf_append(b, m->value, m->len);
}

/* The entries of box that g asks for into b; NIL for a name asked that
 * has no value and, at a DEPTH, no descendant either. */
static void meta_collect(struct buf *b, struct meta_get *g, const struct mail_meta_set *set,
			 const char *box)
{
	for (size_t k = 0; k < g->n; k++) {
		int found = 0;
		for (size_t i = 0; i < set->n; i++) {
			if (strcmp(set->v[i].box, box) || !meta_wanted(set->v[i].name, g->names[k], g->depth))
				continue;
			found = 1;
			meta_put(b, g, &set->v[i]);
		}
		if (!found)
			buf_printf(b, "%s%s NIL", b->data[b->len - 1] == '(' ? "" : " ", g->names[k]);
	}
}

/* GETMETADATA [(options)] mailbox entries. */
void cmd_getmetadata(struct cmd *cmd)
{
	struct meta_get g = {0};
	struct mail_meta_set set;
	struct mail_err err;
	struct buf b;
	char *box;

	if (p_sp(&cmd->p) < 0 || (p_peek(&cmd->p, '(') &&
				  (meta_options(&cmd->p, &g) < 0 || p_sp(&cmd->p) < 0)) ||
	    p_mailbox(&cmd->p, &box) < 0 || p_sp(&cmd->p) < 0 || meta_names(&cmd->p, &g) < 0 ||
	    p_end(&cmd->p) < 0)
		return resp_parse_error(cmd);
	if (meta_box_ok(cmd, box) < 0)
		return;
	if (mail_meta_load(&cmd->c->sess, &set, &err) < 0)
		return resp_mail_error(cmd, &err);
	buf_init(&b);
	buf_puts(&b, "* METADATA ");
	imap_put_mailbox(cmd->c, &b, box);
	buf_puts(&b, " (");
	meta_collect(&b, &g, &set, box);
	buf_puts(&b, ")\r\n");
	resp_write(cmd->c, b.data, b.len);   /* by length: a literal8 may hold NUL */
	buf_free(&b);
	mail_meta_free(&set);
	if (g.longest)
		return resp_ok(cmd, pool_printf(cmd->c->pool, "METADATA LONGENTRIES %zu", g.longest),
			       "GETMETADATA completed");
	resp_ok(cmd, NULL, "GETMETADATA completed");
}

/* A value: nstring, or a literal8 (RFC 5464 5.4 allows binary values, NUL
 * included: the library keeps them by length). */
static int meta_value(struct parser *p, struct mail_meta *m)
{
	const char *v;

	if (!p_peek(p, '~'))
		return p_nstring(p, &m->value, &m->len);
	p->p++;
	if (p_message(p, &v, &m->len) < 0)
		return -1;
	m->value = pool_alloc(p->pool, m->len + 1);
	memcpy(m->value, v, m->len);   /* zeroed: NUL-terminated too */
	return 0;
}

/* "(" entry SP value *(SP entry SP value) ")" into a pool array. */
static ssize_t meta_values(struct parser *p, struct mail_meta **out)
{
	struct mail_meta *v = pool_alloc(p->pool, META_ENTRIES_MAX * sizeof *v);
	size_t n = 0;

	if (p_char(p, '(') < 0)
		return -1;
	do {
		if (n == META_ENTRIES_MAX)
			return p_fail(p, "too many entries");
		if ((n && p_sp(p) < 0) || meta_name(p, &v[n].name) < 0 || p_sp(p) < 0 ||
		    meta_value(p, &v[n]) < 0)
			return -1;
		n++;
	} while (!p_peek(p, ')'));
	if (p_char(p, ')') < 0)
		return -1;
	*out = v;
	return (ssize_t)n;
}

size_t imap_meta_maxsize(const struct client *c)
{
	return c->cfg.max_literal < MAIL_META_MAXSIZE ? c->cfg.max_literal : MAIL_META_MAXSIZE;
}

/* SETMETADATA mailbox (entry value ...): all or nothing. */
void cmd_setmetadata(struct cmd *cmd)
{
	struct mail_meta *chg = NULL;
	struct mail_err err;
	ssize_t n;
	char *box;

	if (p_sp(&cmd->p) < 0 || p_mailbox(&cmd->p, &box) < 0 || p_sp(&cmd->p) < 0 ||
	    (n = meta_values(&cmd->p, &chg)) < 0 || p_end(&cmd->p) < 0)
		return resp_parse_error(cmd);
	if (meta_box_ok(cmd, box) < 0)
		return;
	if (mail_meta_store(&cmd->c->sess, box, chg, (size_t)n, &err) == 0)
		return resp_ok(cmd, NULL, "SETMETADATA completed");
	/* RFC 5464 4.3: the limits have response codes of their own */
	if (err.code == MAIL_TOOBIG)
		return resp_no(cmd, pool_printf(cmd->c->pool, "METADATA MAXSIZE %zu",
						imap_meta_maxsize(cmd->c)), "%s", err.text);
	if (err.code == MAIL_LIMIT)
		return resp_no(cmd, "METADATA TOOMANY", "%s", err.text);
	resp_mail_error(cmd, &err);
}
