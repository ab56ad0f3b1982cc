/* cmd_list.c: LIST and LSUB, with LIST-EXTENDED (RFC 5258): selection and
 * return options, several patterns, CHILDINFO; SPECIAL-USE (RFC 6154) and
 * LIST-STATUS (RFC 5819). What is listed is decided in listext.c. */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "imapd.h"
#include "imap_fmt.h"
#include "listext.h"
#include "log.h"
#include "mutf7.h"

struct list_ctx {
	struct client *c;
	const char *what;         /* "LIST" or "LSUB" */
	unsigned status;          /* S_* items of RETURN (STATUS (...)), 0: none */
};

/* Attributes in the order they are written. */
static const struct {
	int bit;
	const char *name;
} list_attrs[] = {
	{LA_NOINFERIORS, "\\Noinferiors"}, {LA_NOSELECT, "\\Noselect"},
	{LA_MARKED, "\\Marked"},           {LA_UNMARKED, "\\Unmarked"},
	{LA_HASCHILDREN, "\\HasChildren"}, {LA_HASNOCHILDREN, "\\HasNoChildren"},
	/* LIST-EXTENDED */
	{LA_SUBSCRIBED, "\\Subscribed"},   {LA_NONEXISTENT, "\\NonExistent"},
	/* SPECIAL-USE */
	{LA_ARCHIVE, "\\Archive"},         {LA_DRAFTS, "\\Drafts"},
	{LA_JUNK, "\\Junk"},               {LA_SENT, "\\Sent"},
	{LA_TRASH, "\\Trash"},
};

void imap_put_mailbox(const struct client *c, struct buf *out, const char *name)
{
	char *u8 = c->enabled & CLIENT_EN_UTF8 ? mutf7_to_utf8(name, strlen(name)) : NULL;
	int wide = 0, line = 0;

	for (const char *s = u8; s && *s; s++) {
		wide |= (unsigned char)*s >= 0x80;
		line |= *s == '\r' || *s == '\n';
	}
	if (!wide || line) {
		/* ASCII, a name holding a line end (a literal), or one stored
		 * in no valid modified UTF-7 (sent as it is) */
		imap_put_astring(out, u8 ? u8 : name);
	} else {
		/* RFC 6855 3: UTF-8 in a quoted string */
		buf_putc(out, '"');
		for (const char *s = u8; *s; s++) {
			if (*s == '"' || *s == '\\')
				buf_putc(out, '\\');
			buf_putc(out, *s);
		}
		buf_putc(out, '"');
	}
	free(u8);
}

void imap_list_put(const struct client *c, struct buf *b, const char *what, const char *name,
		   int attrs)
{
	int first = 1;

	buf_printf(b, "* %s (", what);
	for (size_t i = 0; i < ARRAY_SIZE(list_attrs); i++)
		if (attrs & list_attrs[i].bit) {
			if (!first)
				buf_putc(b, ' ');
			buf_puts(b, list_attrs[i].name);
			first = 0;
		}
	buf_puts(b, ") \"/\" ");
	imap_put_mailbox(c, b, name);
}

/* One LIST/LSUB response, and with LIST-STATUS the mailbox's STATUS. */
static void list_one(void *ctx, const char *name, int attrs)
{
	struct list_ctx *lc = ctx;
	struct buf b;

	buf_init(&b);
	imap_list_put(lc->c, &b, lc->what, name, attrs);
	if (attrs & LA_CHILD_SUBSCRIBED)
		buf_puts(&b, " (\"CHILDINFO\" (\"SUBSCRIBED\"))");
	buf_puts(&b, "\r\n");
	resp_write(lc->c, b.data, b.len);
	buf_free(&b);
	/* RFC 5819: a STATUS failure drops only that STATUS */
	struct mail_err err;
	if (lc->status && !(attrs & (LA_NOSELECT | LA_NONEXISTENT)))
		(void)imap_status_send(lc->c, name, lc->status, &err);
}

/* One option word out of the table; -1 (with p's error) if unknown. */
static int option(struct parser *p, const char *const *names, size_t n, unsigned *bits)
{
	char *word;

	if (p_token(p, "", &word) < 0)
		return -1;
	for (size_t i = 0; i < n; i++)
		if (!strcasecmp(word, names[i])) {
			*bits |= 1u << i;
			return 0;
		}
	return p_fail(p, "unknown LIST option");
}

enum { SEL_SUBSCRIBED = 1, SEL_REMOTE = 2, SEL_RECURSIVEMATCH = 4, SEL_SPECIAL = 8 };
enum { RET_SUBSCRIBED = 1, RET_CHILDREN = 2, RET_SPECIAL = 4, RET_STATUS = 8 };

/* "(" [option *(SP option)] ")" of selection options. */
static int select_opts(struct parser *p, unsigned *sel)
{
	static const char *const names[] = {"SUBSCRIBED", "REMOTE", "RECURSIVEMATCH",
					    "SPECIAL-USE"};

	if (p_char(p, '(') < 0)
		return -1;
	for (int first = 1; !p_peek(p, ')'); first = 0)
		if ((!first && p_sp(p) < 0) || option(p, names, ARRAY_SIZE(names), sel) < 0)
			return -1;
	return p_char(p, ')');
}

/* "RETURN (" [option *(SP option)] ")"; STATUS takes its items. */
static int return_opts(struct parser *p, unsigned *ret, unsigned *status)
{
	static const char *const names[] = {"SUBSCRIBED", "CHILDREN", "SPECIAL-USE", "STATUS"};
	char *word;

	if (p_atom(p, &word) < 0 || strcasecmp(word, "RETURN"))
		return p_fail(p, "expected RETURN");
	if (p_sp(p) < 0 || p_char(p, '(') < 0)
		return -1;
	for (int first = 1; !p_peek(p, ')'); first = 0) {
		unsigned had = *ret;
		if ((!first && p_sp(p) < 0) || option(p, names, ARRAY_SIZE(names), ret) < 0)
			return -1;
		if ((*ret & ~had & RET_STATUS) &&
		    (p_sp(p) < 0 || imap_status_items(p, status) < 0))
			return -1;
	}
	return p_char(p, ')');
}

/* One pattern, or "(" pattern *(SP pattern) ")" (then *several is set). */
static int patterns(struct parser *p, char **pats, size_t *n, int *several)
{
	*n = 0;
	*several = p_peek(p, '(');
	if (!*several)
		return p_list_mailbox(p, &pats[(*n)++]);
	p->p++;
	do {
		if (*n == LIST_PATTERNS_MAX)
			return p_fail(p, "too many patterns");
		if (p_list_mailbox(p, &pats[(*n)++]) < 0)
			return -1;
	} while (!p_peek(p, ')') && p_sp(p) == 0);
	return p_char(p, ')');
}

int imap_list_parse(struct parser *p, struct list_args *a)
{
	unsigned sel = 0, ret = 0;
	int opts = 0, several, rets = 0;

	memset(a, 0, sizeof *a);
	if (p_sp(p) < 0 || ((opts = p_peek(p, '(')) && (select_opts(p, &sel) < 0 || p_sp(p) < 0)) ||
	    p_mailbox(p, &a->ref) < 0 || p_sp(p) < 0 || patterns(p, a->pats, &a->n, &several) < 0 ||
	    ((rets = !p_at_end(p)) && (p_sp(p) < 0 || return_opts(p, &ret, &a->status) < 0)) ||
	    p_end(p) < 0)
		return -1;
	/* RFC 5258 3: RECURSIVEMATCH refines another selection; here SUBSCRIBED */
	if ((sel & SEL_RECURSIVEMATCH) && !(sel & SEL_SUBSCRIBED))
		return p_fail(p, "RECURSIVEMATCH needs the SUBSCRIBED selection option");
	a->plain = !opts && !several && !rets;
	a->delimiter = a->n == 1 && !*a->pats[0] && !(sel & ~SEL_REMOTE);
	a->opts = a->plain ? 0 : MAIL_LIST_EXTENDED;
	a->opts |= sel & SEL_SUBSCRIBED ? MAIL_LIST_SUBSCRIBED | MAIL_LIST_RET_SUBSCRIBED : 0;
	a->opts |= sel & SEL_RECURSIVEMATCH ? MAIL_LIST_RECURSIVE : 0;
	a->opts |= sel & SEL_SPECIAL ? MAIL_LIST_SPECIAL : 0;
	a->opts |= ret & RET_SUBSCRIBED ? MAIL_LIST_RET_SUBSCRIBED : 0;
	a->opts |= ret & RET_CHILDREN ? MAIL_LIST_RET_CHILDREN : 0;
	a->opts |= ret & RET_SPECIAL ? MAIL_LIST_RET_SPECIAL : 0;
	return 0;
}

void cmd_list(struct cmd *cmd)
{
	struct list_args a;
	struct mail_err err;

	if (imap_list_parse(&cmd->p, &a) < 0)
		return resp_parse_error(cmd);
	struct list_ctx lc = {cmd->c, "LIST", a.status};
	if (a.delimiter) {
		/* RFC 3501: an empty pattern asks for the delimiter and root */
		resp_untagged(cmd->c, "LIST (\\Noselect) \"/\" \"%s\"", *a.ref == '/' ? "/" : "");
		return resp_ok(cmd, NULL, "LIST completed");
	}
	if (mail_list_ext(&cmd->c->sess, a.ref, a.pats, a.n, a.opts, list_one, &lc, &err) < 0)
		return resp_mail_error(cmd, &err);
	resp_ok(cmd, NULL, "LIST completed");
}

/* The selected mailbox's name, for imap_list_selected. */
struct list_exact {
	struct list_ctx lc;
	const char *name;
	int found;
};

/* list_one for the one name asked: a name made outside IMAP may hold '*'
 * or '%', which the pattern reads as wildcards. */
static void list_exact_one(void *ctx, const char *name, int attrs)
{
	struct list_exact *x = ctx;

	if (!strcmp(name, x->name) && !x->found++)
		list_one(&x->lc, name, attrs);
}

/* See imapd.h: the attributes of the extended LIST syntax, which RFC 9051
 * is (children and special uses only when asked: its example is "()"). */
void imap_list_selected(struct client *c)
{
	struct list_exact x = {{c, "LIST", 0}, c->box->name, 0};
	char *pat = c->box->name;
	struct mail_err err;

	if (mail_list_ext(&c->sess, "", &pat, 1, MAIL_LIST_EXTENDED, list_exact_one, &x, &err) < 0)
		log_warn("user=%s: LIST of the selected %s: %s", c->user.name, c->box->name,
			 err.text);
	/* a name no LIST shows (a #driver. path) still gets its response */
	if (!x.found)
		list_one(&x.lc, c->box->name, 0);
}

void cmd_lsub(struct cmd *cmd)
{
	struct list_ctx lc = {cmd->c, "LSUB", 0};
	struct mail_err err;
	char *ref, *pattern;

	if (p_sp(&cmd->p) < 0 || p_mailbox(&cmd->p, &ref) < 0 || p_sp(&cmd->p) < 0 ||
	    p_list_mailbox(&cmd->p, &pattern) < 0 || p_end(&cmd->p) < 0)
		return resp_parse_error(cmd);
	if (mail_lsub(&cmd->c->sess, ref, pattern, list_one, &lc, &err) < 0)
		return resp_mail_error(cmd, &err);
	resp_ok(cmd, NULL, "LSUB completed");
}
