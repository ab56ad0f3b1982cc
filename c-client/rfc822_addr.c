/* rfc822_addr.c: RFC 5322 address lists to IMAP addresses: mailboxes,
 * name-addr with obsolete routes, groups (start/end markers), comments as
 * display names. Malformed input never fails; it yields the placeholder
 * mailbox/host strings Dovecot uses and stops where Dovecot stops, so that
 * ENVELOPE answers match. */
#include "rfc822_int.h"

#include <string.h>

struct alex {
	struct pool *pool;
	const char *p, *end;
	struct buf comment;   /* text of the last comment skipped */
	/* scratch for the parts of one address, reused by the next: one
	 * allocation each per list, not per address */
	struct buf ph, local, dom, rest;
	int skipped_ws;       /* the last skip passed white space or a comment */
	int open_quote;       /* a quoted string ran to the end of the text */
	struct address *head, **tail;
};

/* RFC 5322 atext, plus 8-bit bytes (RFC 6532). */
static int is_atext(unsigned char c)
{
	if (c >= 0x80 || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))
		return 1;
	/* a switch, not strchr: this runs for every byte of every address */
	switch (c) {
	case '!': case '#': case '$': case '%': case '&': case '\'': case '*': case '+':
	case '-': case '/': case '=': case '?': case '^': case '_': case '`': case '{':
	case '|': case '}': case '~':
		return 1;
	default:
		return 0;
	}
}

/* is_atext as a table, built once: lex_atom's loop is the hottest of an
 * ENVELOPE fetch, and a load beats the branches of the switch. */
static const unsigned char *atext_table(void)
{
	static unsigned char tab[256];
	static int ready;

	if (!ready) {
		for (int c = 0; c < 256; c++)
			tab[c] = (unsigned char)is_atext((unsigned char)c);
		ready = 1;
	}
	return tab;
}

/* Skip one comment starting at '('; keeps its text (nested parens too). */
static void skip_comment(struct alex *lx)
{
	int depth = 0;

	buf_reset(&lx->comment);
	for (; lx->p < lx->end; lx->p++) {
		char c = *lx->p;
		if (c == '\\' && lx->p + 1 < lx->end) {
			buf_putc(&lx->comment, *++lx->p);
			continue;
		}
		if (c == '(' && depth++ == 0)
			continue;
		if (c == ')' && --depth == 0) {
			lx->p++;
			return;
		}
		if (c != '\r' && c != '\n')
			buf_putc(&lx->comment, c);
	}
}

static void skip_cfws(struct alex *lx)
{
	lx->skipped_ws = 0;
	while (lx->p < lx->end) {
		char c = *lx->p;
		if (c == ' ' || c == '\t' || c == '\r' || c == '\n')
			lx->p++;
		else if (c == '(')
			skip_comment(lx);
		else
			break;
		lx->skipped_ws = 1;
	}
}

static int at(struct alex *lx, char c)
{
	return lx->p < lx->end && *lx->p == c;
}

/* Quoted string at '"': appends the content, quoted pairs undone. */
static void lex_quoted(struct alex *lx, struct buf *out)
{
	lx->p++;
	while (lx->p < lx->end && *lx->p != '"') {
		char c = *lx->p++;
		if (c == '\\' && lx->p < lx->end)
			c = *lx->p++;
		else if (c == '\r' || c == '\n')
			continue;
		buf_putc(out, c);
	}
	if (lx->p < lx->end)
		lx->p++;
	else
		lx->open_quote = 1;
}

static int lex_atom(struct alex *lx, struct buf *out)
{
	const unsigned char *atext = atext_table();
	const char *s = lx->p;

	while (lx->p < lx->end && atext[(unsigned char)*lx->p])
		lx->p++;
	buf_append(out, s, (size_t)(lx->p - s));
	return lx->p > s;
}

/* phrase = 1*word / obs-phrase (dots allowed). Words are joined by one
 * space; quoted strings keep their inner spacing. */
static void lex_phrase(struct alex *lx, struct buf *out)
{
	int last_word = 0;

	skip_cfws(lx);
	while (lx->p < lx->end) {
		char c = *lx->p;
		if (c == '.') {
			buf_putc(out, '.');
			lx->p++;
			last_word = 0;
		} else if (c == '"' || atext_table()[(unsigned char)c]) {
			if (out->len && (lx->skipped_ws || last_word))
				buf_putc(out, ' ');
			if (c == '"')
				lex_quoted(lx, out);
			else
				lex_atom(lx, out);
			last_word = 1;
		} else {
			break;
		}
		skip_cfws(lx);
	}
}

/* local-part = word *("." word); quoted words unquoted. */
static void lex_local(struct alex *lx, struct buf *out)
{
	for (;;) {
		if (at(lx, '"'))
			lex_quoted(lx, out);
		else if (!lex_atom(lx, out))
			break;
		skip_cfws(lx);
		if (!at(lx, '.'))
			break;
		buf_putc(out, '.');
		lx->p++;
		skip_cfws(lx);
	}
}

/* domain = dot-atom / domain-literal (kept with its brackets). */
static void lex_domain(struct alex *lx, struct buf *out)
{
	if (at(lx, '[')) {
		const char *s = lx->p;
		while (lx->p < lx->end && *lx->p != ']')
			lx->p++;
		if (lx->p < lx->end)
			lx->p++;
		for (; s < lx->p; s++)
			if (*s != '\r' && *s != '\n')
				buf_putc(out, *s);
		skip_cfws(lx);
		return;
	}
	for (;;) {
		if (!lex_atom(lx, out))
			break;
		skip_cfws(lx);
		if (!at(lx, '.'))
			break;
		buf_putc(out, '.');
		lx->p++;
		skip_cfws(lx);
	}
}

static char *pool_buf(struct alex *lx, const struct buf *b)
{
	return b->len ? pool_strndup(lx->pool, b->data, b->len) : NULL;
}

static void add_addr(struct alex *lx, char *personal, char *adl, char *mailbox, char *host)
{
	struct address *a = pool_alloc(lx->pool, sizeof *a);

	a->personal = personal;
	a->adl = adl;
	a->mailbox = mailbox;
	a->host = host;
	*lx->tail = a;
	lx->tail = &a->next;
}

/* obs-route = 1*("@" domain) ":" ; returns the route text or NULL. */
static char *lex_route(struct alex *lx)
{
	struct buf r;
	char *res;

	buf_init(&r);
	while (at(lx, '@') || at(lx, ',')) {
		if (*lx->p++ == '@') {
			if (r.len)
				buf_putc(&r, ',');
			buf_putc(&r, '@');
			skip_cfws(lx);
			lex_domain(lx, &r);
		}
		skip_cfws(lx);
	}
	if (at(lx, ':'))
		lx->p++;
	skip_cfws(lx);
	res = pool_buf(lx, &r);
	buf_free(&r);
	return res;
}

/* name-addr after the display name, at '<'. */
static void parse_angle(struct alex *lx, char *personal)
{
	struct buf *local = &lx->local, *dom = &lx->dom;
	char *adl = NULL, *mbox, *host;
	int ok = 0;

	buf_reset(local);
	buf_reset(dom);
	lx->p++;
	skip_cfws(lx);
	if (at(lx, '@'))
		adl = lex_route(lx);
	lex_local(lx, local);
	if (at(lx, '@')) {
		lx->p++;
		skip_cfws(lx);
		lex_domain(lx, dom);
	}
	if (at(lx, '>')) {
		lx->p++;
		ok = 1;
	}
	mbox = pool_buf(lx, local);
	host = pool_buf(lx, dom);
	if (!ok)
		host = ADDR_SYNTAX_ERROR;
	else if (!host && mbox)
		host = ADDR_MISSING_DOMAIN;
	add_addr(lx, personal, adl, mbox ? mbox : ADDR_MISSING_MAILBOX,
		 host ? host : ADDR_MISSING_DOMAIN);
}

/* addr-spec, or a bare word / phrase without '@'. */
static void parse_addr_spec(struct alex *lx)
{
	struct buf *local = &lx->local, *dom = &lx->dom, *rest = &lx->rest;
	char *personal = NULL, *mbox, *host = NULL;
	int quoted = at(lx, '"');

	buf_reset(local);
	buf_reset(dom);
	buf_reset(&lx->comment);
	lx->open_quote = 0;
	lex_local(lx, local);
	if (lx->open_quote) {
		/* an unterminated quoted string is no name and no address */
		mbox = NULL;
	} else if (at(lx, '@')) {
		lx->p++;
		skip_cfws(lx);
		lex_domain(lx, dom);
		host = pool_buf(lx, dom);
		mbox = pool_buf(lx, local);
	} else {
		/* "John Smith" or "quoted": a display name without an address */
		buf_reset(rest);
		lex_phrase(lx, rest);
		if (rest->len || quoted) {
			if (local->len && rest->len)
				buf_putc(local, ' ');
			buf_append(local, rest->data, rest->len);
			personal = pool_buf(lx, local);
			mbox = NULL;
		} else {
			mbox = pool_buf(lx, local);
		}
	}
	if (!personal && lx->comment.len)
		personal = pool_buf(lx, &lx->comment);
	add_addr(lx, personal, NULL, mbox ? mbox : ADDR_MISSING_MAILBOX,
		 host ? host : ADDR_MISSING_DOMAIN);
}

/* A mailbox whose leading phrase ph, lexed from start, is behind lx->p. */
static void parse_mailbox_after(struct alex *lx, const char *start, const struct buf *ph)
{
	if (at(lx, '<')) {
		parse_angle(lx, pool_buf(lx, ph));
	} else {
		lx->p = start;
		skip_cfws(lx);
		parse_addr_spec(lx);
	}
}

static void parse_mailbox(struct alex *lx)
{
	const char *start = lx->p;

	buf_reset(&lx->ph);
	lex_phrase(lx, &lx->ph);
	parse_mailbox_after(lx, start, &lx->ph);
}

/* group = display-name ":" [group-list] ";" ; the ';' may be missing. */
static void parse_group(struct alex *lx, char *name)
{
	add_addr(lx, NULL, NULL, name, NULL);
	lx->p++;
	skip_cfws(lx);
	while (lx->p < lx->end && !at(lx, ';')) {
		const char *before = lx->p;
		parse_mailbox(lx);
		skip_cfws(lx);
		if (!at(lx, ',') || lx->p == before)
			break;
		lx->p++;
		skip_cfws(lx);
	}
	if (at(lx, ';'))
		lx->p++;
	add_addr(lx, NULL, NULL, NULL, NULL);
}

static void parse_address(struct alex *lx)
{
	const char *start = lx->p;
	struct buf *ph = &lx->ph;

	buf_reset(ph);
	lex_phrase(lx, ph);
	/* not a group: the phrase is the mailbox's, lexed once for both (a
	 * group's name is copied before its members reuse ph) */
	if (at(lx, ':'))
		parse_group(lx, pool_strndup(lx->pool, ph->data ? ph->data : "", ph->len));
	else
		parse_mailbox_after(lx, start, ph);
}

struct address *rfc822_parse_addresses(struct pool *pool, const char *s, size_t len)
{
	struct alex lx = { .pool = pool, .p = s, .end = s + len };

	buf_init(&lx.comment);
	buf_init(&lx.ph);
	buf_init(&lx.local);
	buf_init(&lx.dom);
	buf_init(&lx.rest);
	lx.tail = &lx.head;
	skip_cfws(&lx);
	while (lx.p < lx.end) {
		parse_address(&lx);
		skip_cfws(&lx);
		/* anything but a comma ends the list, as in Dovecot */
		if (!at(&lx, ','))
			break;
		lx.p++;
		skip_cfws(&lx);
	}
	buf_free(&lx.comment);
	buf_free(&lx.ph);
	buf_free(&lx.local);
	buf_free(&lx.dom);
	buf_free(&lx.rest);
	return lx.head;
}
