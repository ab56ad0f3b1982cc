/* imap_resp.c: IMAP response syntax for the client side. Every length comes
 * from the bytes given; a literal must lie inside them, nesting stops at
 * IMAP_RESP_DEPTH, and nothing but the pool is allocated, so a hostile
 * server costs at most a multiple of the bytes it sent. */
#include "imap_resp.h"
#include "mail_api.h"

#include <ctype.h>
#include <string.h>
#include <strings.h>

struct lex {
	const char *p, *end;
	struct pool *pool;
	const char *why;
	int in_code;   /* inside "[CODE ...]": ']' ends the data */
};

/* Record the first error; returns NULL for the callers' convenience. */
static void *lex_fail(struct lex *l, const char *why)
{
	if (!l->why)
		l->why = why;
	return NULL;
}

static void skip_sp(struct lex *l)
{
	while (l->p < l->end && *l->p == ' ')
		l->p++;
}

static struct imap_item *item_new(struct lex *l, enum imap_item_type t, const char *s, size_t n)
{
	struct imap_item *it = pool_alloc(l->pool, sizeof *it);

	it->type = t;
	it->s = pool_strndup(l->pool, s, n);
	it->len = n;
	return it;
}

/* A bracketed section inside an atom ("BODY[HEADER.FIELDS (A B)]"):
 * returns just past its ']'. */
static const char *section_end(struct lex *l, const char *q)
{
	while (q < l->end && *q != ']' && *q != '\r' && *q != '\n')
		q++;
	return q < l->end && *q == ']' ? q + 1 : lex_fail(l, "unterminated [ in an atom");
}

static int atom_char(const struct lex *l, unsigned char c)
{
	return c > ' ' && c != 0x7f && c != '(' && c != ')' && c != '"' && c != '{' &&
	       !(c == ']' && l->in_code);
}

static struct imap_item *lex_atom(struct lex *l)
{
	const char *q = l->p;

	while (q && q < l->end && (atom_char(l, (unsigned char)*q) || *q == '{')) {
		if (*q == '[' && !l->in_code)
			q = section_end(l, q + 1);
		else if (*q == '{' && q == l->p)
			break;
		else
			q++;
	}
	if (!q || q == l->p)
		return lex_fail(l, "expected a token");
	struct imap_item *it = item_new(l, II_ATOM, l->p, (size_t)(q - l->p));
	l->p = q;
	if (it->len == 3 && !strcasecmp(it->s, "NIL")) {
		it->type = II_NIL;
	} else if (it->len <= 19 && strspn(it->s, "0123456789") == it->len) {
		it->type = II_NUMBER;
		for (size_t i = 0; i < it->len; i++)
			it->num = it->num * 10 + (uint64_t)(it->s[i] - '0');
	}
	return it;
}

static struct imap_item *lex_quoted(struct lex *l)
{
	struct buf b;
	const char *q = l->p + 1;

	buf_init(&b);
	for (; q < l->end && *q != '"'; q++) {
		if (*q == '\r' || *q == '\n')
			break;
		if (*q == '\\' && q + 1 < l->end)
			q++;
		buf_putc(&b, *q);
	}
	if (q >= l->end || *q != '"') {
		buf_free(&b);
		return lex_fail(l, "unterminated quoted string");
	}
	struct imap_item *it = item_new(l, II_STRING, b.data ? b.data : "", b.len);
	buf_free(&b);
	l->p = q + 1;
	return it;
}

int imap_resp_literal(const char *line, size_t len, uint64_t *n)
{
	size_t i;

	if (len < 3 || line[len - 1] != '}')
		return 0;
	i = len - 2;
	if (line[i] == '+')
		i--;
	size_t last = i;
	while (i > 0 && isdigit((unsigned char)line[i]))
		i--;
	if (line[i] != '{')
		return 0;
	if (i == last || last - i > 18)
		return -1;
	*n = 0;
	for (size_t k = i + 1; k <= last; k++)
		*n = *n * 10 + (uint64_t)(line[k] - '0');
	return 1;
}

static struct imap_item *lex_literal(struct lex *l)
{
	const char *close = memchr(l->p, '}', (size_t)(l->end - l->p));
	uint64_t n;

	if (!close || imap_resp_literal(l->p, (size_t)(close - l->p + 1), &n) != 1)
		return lex_fail(l, "bad literal");
	const char *data = close + 1;
	if (data + 2 > l->end || data[0] != '\r' || data[1] != '\n')
		return lex_fail(l, "literal not followed by CRLF");
	data += 2;
	if (n > (uint64_t)(l->end - data))
		return lex_fail(l, "literal longer than the response");
	struct imap_item *it = item_new(l, II_STRING, data, (size_t)n);
	l->p = data + n;
	return it;
}

static struct imap_item *lex_items(struct lex *l, int depth, char close);

static struct imap_item *lex_item(struct lex *l, int depth)
{
	char c = *l->p;

	if (c == '(') {
		if (depth >= IMAP_RESP_DEPTH)
			return lex_fail(l, "lists nested too deeply");
		l->p++;
		struct imap_item *it = item_new(l, II_LIST, "", 0);
		it->child = lex_items(l, depth + 1, ')');
		if (l->why)
			return NULL;
		l->p++;   /* the ')' lex_items stopped at */
		return it;
	}
	if (c == '"')
		return lex_quoted(l);
	if (c == '{' || (c == '~' && l->p + 1 < l->end && l->p[1] == '{')) {
		l->p += c == '~';
		return lex_literal(l);
	}
	return lex_atom(l);
}

/* Items up to close (')' or ']', left unconsumed) or, for 0, the end. */
static struct imap_item *lex_items(struct lex *l, int depth, char close)
{
	struct imap_item *first = NULL, **tail = &first;

	for (;;) {
		skip_sp(l);
		if (l->p >= l->end)
			return close ? lex_fail(l, "unbalanced parentheses") : first;
		if (close && *l->p == close)
			return first;
		if (*l->p == ')' || *l->p == ']')
			return lex_fail(l, "unexpected closing bracket");
		struct imap_item *it = lex_item(l, depth);
		if (!it)
			return NULL;
		*tail = it;
		tail = &it->next;
	}
}

/* A token up to the next space, upper-cased: tag, response name, code. */
static const char *word(struct lex *l, const char *stops)
{
	const char *q = l->p;

	while (q < l->end && *q != ' ' && !strchr(stops, *q))
		q++;
	if (q == l->p)
		return lex_fail(l, "expected a word");
	char *w = pool_strndup(l->pool, l->p, (size_t)(q - l->p));
	l->p = q;
	return w;
}

static void upcase(const char *s)
{
	for (char *p = (char *)s; *p; p++)
		*p = (char)toupper((unsigned char)*p);
}

static const char *rest_text(struct lex *l)
{
	skip_sp(l);
	const char *t = pool_strndup(l->pool, l->p, (size_t)(l->end - l->p));
	l->p = l->end;
	return t;
}

/* "[CODE args] text" of a status response. */
static void status_tail(struct lex *l, struct imap_resp *r)
{
	skip_sp(l);
	if (l->p < l->end && *l->p == '[') {
		l->p++;
		if (!(r->code = word(l, "]")))
			return;
		upcase(r->code);
		l->in_code = 1;
		r->code_args = lex_items(l, 1, ']');
		l->in_code = 0;
		if (l->why)
			return;
		l->p++;
	}
	r->text = rest_text(l);
}

static int is_status(const char *name)
{
	static const char *const names[] = {"OK", "NO", "BAD", "BYE", "PREAUTH"};

	for (size_t i = 0; i < ARRAY_SIZE(names); i++)
		if (!strcmp(name, names[i]))
			return 1;
	return 0;
}

/* After "* " or "tag ": an optional number, the name, then its data. */
static void resp_body(struct lex *l, struct imap_resp *r)
{
	if (r->kind == IR_UNTAGGED && l->p < l->end && isdigit((unsigned char)*l->p)) {
		struct imap_item *n = lex_atom(l);
		if (!n || n->type != II_NUMBER || n->num > UINT32_MAX) {
			lex_fail(l, "bad message number");
			return;
		}
		r->has_num = 1;
		r->num = (uint32_t)n->num;
		skip_sp(l);
	}
	if (!(r->name = word(l, "(")))
		return;
	upcase(r->name);
	if (is_status(r->name))
		status_tail(l, r);
	else
		r->args = lex_items(l, 0, 0);
}

int imap_resp_parse(struct pool *pool, const char *p, size_t len, struct imap_resp *out,
		    const char **why)
{
	struct lex l = {p, p + len, pool, NULL, 0};

	memset(out, 0, sizeof *out);
	if (len && *p == '+') {
		out->kind = IR_CONTINUE;
		l.p++;
		out->text = rest_text(&l);
		return 0;
	}
	if (len && *p == '*') {
		out->kind = IR_UNTAGGED;
		l.p++;
	} else {
		out->kind = IR_TAGGED;
		out->tag = word(&l, "");
	}
	if (!l.why && (l.p >= l.end || *l.p != ' '))
		lex_fail(&l, "response too short");
	if (!l.why) {
		skip_sp(&l);
		resp_body(&l, out);
	}
	*why = l.why;
	return l.why ? -1 : 0;
}

int imap_resp_is(const struct imap_resp *r, const char *name)
{
	return r->name && !strcmp(r->name, name);
}

const char *imap_item_text(const struct imap_item *it)
{
	return it && (it->type == II_ATOM || it->type == II_STRING || it->type == II_NUMBER) ?
		       it->s : NULL;
}

const struct imap_flag_name imap_sysflags[IMAP_SYSFLAGS] = {
	{"\\Seen", MF_SEEN}, {"\\Answered", MF_ANSWERED}, {"\\Flagged", MF_FLAGGED},
	{"\\Deleted", MF_DELETED}, {"\\Draft", MF_DRAFT}, {"\\Recent", MF_RECENT},
};

void imap_date_time(struct buf *out, time_t t, int tz_minutes)
{
	static const char *const mon[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
					  "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
	int tz = tz_minutes < 0 ? -tz_minutes : tz_minutes;
	struct tm tm;

	t += (time_t)tz_minutes * 60;
	if (!gmtime_r(&t, &tm)) {
		t = 0;
		gmtime_r(&t, &tm);
	}
	/* "dd-Mon-yyyy hh:mm:ss +zzzz" piece by piece: once per message in
	 * FETCH INTERNALDATE, where one printf cost ten times this */
	buf_put_uint(out, (uint64_t)tm.tm_mday, 2);
	buf_putc(out, '-');
	buf_puts(out, mon[tm.tm_mon]);
	buf_putc(out, '-');
	buf_put_uint(out, (uint64_t)(tm.tm_year + 1900), 4);
	buf_putc(out, ' ');
	buf_put_uint(out, (uint64_t)tm.tm_hour, 2);
	buf_putc(out, ':');
	buf_put_uint(out, (uint64_t)tm.tm_min, 2);
	buf_putc(out, ':');
	buf_put_uint(out, (uint64_t)tm.tm_sec, 2);
	buf_puts(out, tz_minutes < 0 ? " -" : " +");
	buf_put_uint(out, (uint64_t)(tz / 60 % 100), 2);
	buf_put_uint(out, (uint64_t)(tz % 60), 2);
}
