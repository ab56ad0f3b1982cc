/* parser.c: IMAP argument syntax over one assembled command buffer. */
#include "parser.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "mail_api.h"
#include "mutf7.h"

void p_init(struct parser *p, const char *s, size_t len, struct pool *pool)
{
	p->p = s;
	p->end = s + len;
	p->pool = pool;
	p->error = NULL;
	p->saved = NULL;
	p->utf8 = 0;
	p->uidonly = 0;
	p->rev2 = 0;
}

int p_fail(struct parser *p, const char *why)
{
	if (!p->error)
		p->error = why;
	return -1;
}

int p_at_end(const struct parser *p)
{
	return p->p >= p->end;
}

int p_peek(const struct parser *p, char c)
{
	return p->p < p->end && *p->p == c;
}

int p_char(struct parser *p, char c)
{
	static char msg[] = "Expected 'x'";

	if (!p_peek(p, c)) {
		msg[10] = c;
		return p_fail(p, msg);
	}
	p->p++;
	return 0;
}

int p_sp(struct parser *p)
{
	if (!p_peek(p, ' '))
		return p_fail(p, p_at_end(p) ? "Missing argument" : "Expected a space");
	p->p++;
	return 0;
}

int p_end(struct parser *p)
{
	if (!p_at_end(p))   /* a NUL ends an atom early: name it, not what follows */
		return p_fail(p, *p->p ? "Unexpected extra arguments" : "NUL is not allowed here");
	return 0;
}

/* ATOM-CHAR: any CHAR except atom-specials (RFC 3501 section 9). */
static int is_atom_char(unsigned char c)
{
	if (c <= 0x20 || c >= 0x7f)
		return 0;
	return !strchr("(){%*\"\\]", c);
}

int p_atom(struct parser *p, char **out)
{
	const char *s = p->p;

	while (p->p < p->end && is_atom_char((unsigned char)*p->p))
		p->p++;
	if (p->p == s)
		return p_fail(p, "Expected an atom");
	*out = pool_strndup(p->pool, s, (size_t)(p->p - s));
	return 0;
}

int p_token(struct parser *p, const char *stops, char **out)
{
	const char *s = p->p;

	while (p->p < p->end) {
		unsigned char c = (unsigned char)*p->p;
		if (c <= 0x20 || c >= 0x7f || strchr("(){\"", c) || strchr(stops, c))
			break;
		p->p++;
	}
	if (p->p == s)
		return p_fail(p, "Expected a word");
	*out = pool_strndup(p->pool, s, (size_t)(p->p - s));
	return 0;
}

static int p_quoted(struct parser *p, char **out, size_t *len)
{
	struct buf b;

	buf_init(&b);
	p->p++;   /* opening quote */
	while (p->p < p->end && *p->p != '"') {
		char c = *p->p++;
		if (c == '\\') {
			if (p->p >= p->end || (*p->p != '"' && *p->p != '\\')) {
				buf_free(&b);
				return p_fail(p, "Bad escape in quoted string");
			}
			c = *p->p++;
		} else if (c == '\r' || c == '\n' || c == '\0') {
			buf_free(&b);
			return p_fail(p, "Quoted strings cannot hold CR, LF or NUL");
		}
		buf_putc(&b, c);
	}
	if (p->p >= p->end) {
		buf_free(&b);
		return p_fail(p, "Unterminated quoted string");
	}
	p->p++;
	*out = pool_strndup(p->pool, b.data ? b.data : "", b.len);
	if (len)
		*len = b.len;
	buf_free(&b);
	return 0;
}

/* A literal's announcement and bytes: *start and *n point into the input. */
static int p_literal_span(struct parser *p, const char **start, size_t *n)
{
	uint64_t len = 0;

	p->p++;   /* '{' */
	if (p->p >= p->end || !isdigit((unsigned char)*p->p))
		return p_fail(p, "Bad literal size");
	while (p->p < p->end && isdigit((unsigned char)*p->p)) {
		len = len * 10 + (uint64_t)(*p->p++ - '0');
		if (len > (uint64_t)1 << 40)
			return p_fail(p, "Literal too large");
	}
	if (p_peek(p, '+'))
		p->p++;
	if (p_char(p, '}') < 0 || p_char(p, '\r') < 0 || p_char(p, '\n') < 0)
		return p_fail(p, "Bad literal");
	if ((uint64_t)(p->end - p->p) < len)
		return p_fail(p, "Literal shorter than announced");
	*start = p->p;
	*n = (size_t)len;
	p->p += len;
	return 0;
}

/* A literal as a C string: a NUL would cut it short (LOGIN "user\0junk"
 * as "user"), so it is refused. */
static int p_literal(struct parser *p, char **out, size_t *len)
{
	const char *s;
	size_t n;

	if (p_literal_span(p, &s, &n) < 0)
		return -1;
	if (memchr(s, '\0', n))
		return p_fail(p, "NUL is not allowed in this string");
	*out = pool_strndup(p->pool, s, n);
	if (len)
		*len = n;
	return 0;
}

int p_string(struct parser *p, char **out, size_t *len)
{
	if (p_peek(p, '"'))
		return p_quoted(p, out, len);
	if (p_peek(p, '{'))
		return p_literal(p, out, len);
	return p_fail(p, p_at_end(p) ? "Missing argument" : "Expected a string");
}

int p_message(struct parser *p, const char **out, size_t *len)
{
	if (!p_peek(p, '{'))
		return p_fail(p, "The message must be sent as a literal");
	return p_literal_span(p, out, len);
}

int p_astring(struct parser *p, char **out, size_t *len)
{
	if (p_peek(p, '"') || p_peek(p, '{'))
		return p_string(p, out, len);
	/* ASTRING-CHAR adds ']' to the atom characters */
	const char *s = p->p;
	while (p->p < p->end && (is_atom_char((unsigned char)*p->p) || *p->p == ']'))
		p->p++;
	if (p->p == s)
		return p_fail(p, p_at_end(p) ? "Missing argument" : "Expected an atom or string");
	*out = pool_strndup(p->pool, s, (size_t)(p->p - s));
	if (len)
		*len = (size_t)(p->p - s);
	return 0;
}

int p_nstring(struct parser *p, char **out, size_t *len)
{
	if (p->end - p->p >= 3 && !strncasecmp(p->p, "NIL", 3) &&
	    (p->end - p->p == 3 || !is_atom_char((unsigned char)p->p[3]))) {
		p->p += 3;
		*out = NULL;
		if (len)
			*len = 0;
		return 0;
	}
	return p_string(p, out, len);
}

int p_number64(struct parser *p, uint64_t *out)
{
	uint64_t n = 0;
	const char *s = p->p;

	while (p->p < p->end && isdigit((unsigned char)*p->p)) {
		if (n > (UINT64_MAX - 9) / 10)
			return p_fail(p, "Number too large");
		n = n * 10 + (uint64_t)(*p->p++ - '0');
	}
	if (p->p == s)
		return p_fail(p, "Expected a number");
	*out = n;
	return 0;
}

int p_number(struct parser *p, uint32_t *out)
{
	uint64_t n;

	if (p_number64(p, &n) < 0)
		return -1;
	if (n > UINT32_MAX)
		return p_fail(p, "Number too large");
	*out = (uint32_t)n;
	return 0;
}

int p_nz_number(struct parser *p, uint32_t *out)
{
	if (p_number(p, out) < 0)
		return -1;
	if (*out == 0)
		return p_fail(p, "Zero is not allowed here");
	return 0;
}

/* With UTF8=ACCEPT: the UTF-8 name *out in its stored form. */
static int p_name_utf8(struct parser *p, char **out)
{
	char *u7;

	if (!p->utf8)
		return 0;
	if (!(u7 = mutf7_from_utf8(*out, strlen(*out))))
		return p_fail(p, "Mailbox name is not UTF-8");
	*out = pool_strndup(p->pool, u7, strlen(u7));
	free(u7);
	return 0;
}

int p_mailbox(struct parser *p, char **out)
{
	if (p_astring(p, out, NULL) < 0 || p_name_utf8(p, out) < 0)
		return -1;
	if (!strcasecmp(*out, "INBOX"))
		*out = pool_strdup(p->pool, "INBOX");
	return 0;
}

int p_list_mailbox(struct parser *p, char **out)
{
	if (p_peek(p, '"') || p_peek(p, '{'))
		return p_string(p, out, NULL) < 0 ? -1 : p_name_utf8(p, out);
	const char *s = p->p;
	while (p->p < p->end && (is_atom_char((unsigned char)*p->p) || *p->p == ']' ||
				 *p->p == '%' || *p->p == '*'))
		p->p++;
	if (p->p == s)
		return p_fail(p, "Expected a mailbox pattern");
	*out = pool_strndup(p->pool, s, (size_t)(p->p - s));
	return p_name_utf8(p, out);
}

/* "$": the saved result, copied so a SAVE later in the same command cannot
 * change what this command already refers to. */
static int p_saved_set(struct parser *p, struct numset *out)
{
	size_t n = p->saved ? p->saved->n : 0;

	p->p++;
	out->r = pool_alloc(p->pool, (n ? n : 1) * sizeof *out->r);
	if (n)
		memcpy(out->r, p->saved->r, n * sizeof *out->r);
	out->n = n;
	out->saved = 1;
	return 0;
}

int p_seqset(struct parser *p, struct numset *out)
{
	const char *s = p->p;

	if (p_peek(p, '$'))
		return p_saved_set(p, out);

	while (p->p < p->end && (isdigit((unsigned char)*p->p) || strchr(":,*", *p->p)))
		p->p++;
	if (p->p == s)
		return p_fail(p, "Expected a sequence set");
	if (numset_parse(p->pool, s, (size_t)(p->p - s), out) < 0)
		return p_fail(p, "Invalid sequence set");
	return 0;
}

static const struct {
	const char *name;
	uint32_t bit;
} sysflags[] = {
	{"\\Seen", MF_SEEN},       {"\\Answered", MF_ANSWERED}, {"\\Flagged", MF_FLAGGED},
	{"\\Deleted", MF_DELETED}, {"\\Draft", MF_DRAFT},       {"\\Recent", MF_RECENT},
};

int p_flag_bit(const char *tok, uint32_t *bit)
{
	*bit = 0;
	if (tok[0] != '\\')
		return 0;
	for (size_t i = 0; i < ARRAY_SIZE(sysflags); i++)
		if (!strcasecmp(tok, sysflags[i].name)) {
			*bit = sysflags[i].bit;
			return 0;
		}
	return -1;
}

/* One flag: "\" atom or a keyword atom. */
static int p_flag(struct parser *p, char **out)
{
	const char *s = p->p;

	if (p_peek(p, '\\'))
		p->p++;
	while (p->p < p->end && is_atom_char((unsigned char)*p->p))
		p->p++;
	if (p->p == s || (*s == '\\' && p->p == s + 1)) {
		p->p = s;
		return p_fail(p, "Expected a flag");
	}
	*out = pool_strndup(p->pool, s, (size_t)(p->p - s));
	return 0;
}

int p_flag_list(struct parser *p, uint32_t *flags, char ***keywords, int strict)
{
	char **kw = NULL;
	size_t nkw = 0, cap = 0, count = 0;
	int paren = p_peek(p, '(');

	*flags = 0;
	if (paren)
		p->p++;
	while (!(paren && p_peek(p, ')'))) {
		char *tok;
		uint32_t bit;

		if (count++ && p_sp(p) < 0)
			return -1;
		if (p_flag(p, &tok) < 0)
			return -1;
		if (p_flag_bit(tok, &bit) < 0 || (strict && bit == MF_RECENT))
			return p_fail(p, "Invalid flag (\\Recent and unknown \\flags cannot be set)");
		if (bit) {
			*flags |= bit;
		} else {
			if (nkw + 2 > cap) {
				cap = cap ? cap * 2 : 8;
				char **n = pool_alloc(p->pool, cap * sizeof *n);
				if (nkw)
					memcpy(n, kw, nkw * sizeof *n);
				kw = n;
			}
			kw[nkw++] = tok;
			kw[nkw] = NULL;
		}
		if (!paren)
			break;
	}
	if (paren && p_char(p, ')') < 0)
		return -1;
	if (keywords)
		*keywords = kw;
	return 0;
}

static const char *months[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
			       "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};

static int p_digits(struct parser *p, int min, int max, int *out)
{
	int n = 0, k = 0;

	while (k < max && p->p < p->end && isdigit((unsigned char)*p->p)) {
		n = n * 10 + (*p->p++ - '0');
		k++;
	}
	if (k < min)
		return p_fail(p, "Bad date");
	*out = n;
	return 0;
}

static int p_date_core(struct parser *p, int *year, int *month, int *day, int fixed)
{
	int m;

	if (fixed && p_peek(p, ' '))
		p->p++;   /* date-day-fixed: SP DIGIT */
	if (p_digits(p, 1, 2, day) < 0 || p_char(p, '-') < 0)
		return p_fail(p, "Bad date");
	if (p->end - p->p < 3)
		return p_fail(p, "Bad date");
	for (m = 0; m < 12; m++)
		if (!strncasecmp(p->p, months[m], 3))
			break;
	if (m == 12)
		return p_fail(p, "Bad month in date");
	p->p += 3;
	if (p_char(p, '-') < 0 || p_digits(p, 4, 4, year) < 0)
		return p_fail(p, "Bad date");
	*month = m + 1;
	if (*day < 1 || *day > 31)
		return p_fail(p, "Bad day in date");
	return 0;
}

int p_date(struct parser *p, int *year, int *month, int *day)
{
	int quoted = p_peek(p, '"');

	if (quoted)
		p->p++;
	if (p_date_core(p, year, month, day, 0) < 0)
		return -1;
	if (quoted && p_char(p, '"') < 0)
		return -1;
	return 0;
}

time_t p_days_to_time(int year, int month, int day)
{
	/* days from civil (proleptic Gregorian), avoiding timegm's TZ games */
	int y = year - (month <= 2);
	int era = (y >= 0 ? y : y - 399) / 400;
	int yoe = y - era * 400;
	int mp = (month + 9) % 12;
	int doy = (153 * mp + 2) / 5 + day - 1;
	int doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	long days = (long)era * 146097 + doe - 719468;

	return (time_t)days * 86400;
}

int p_date_time(struct parser *p, time_t *t, int *tz_minutes)
{
	int y, mo, d, h, mi, s, zh, zm, sign;

	if (p_char(p, '"') < 0)
		return p_fail(p, "Expected a quoted date-time");
	if (p_date_core(p, &y, &mo, &d, 1) < 0 || p_sp(p) < 0 || p_digits(p, 2, 2, &h) < 0 ||
	    p_char(p, ':') < 0 || p_digits(p, 2, 2, &mi) < 0 || p_char(p, ':') < 0 ||
	    p_digits(p, 2, 2, &s) < 0 || p_sp(p) < 0)
		return p_fail(p, "Bad date-time");
	if (p_peek(p, '+') || p_peek(p, '-'))
		sign = *p->p++ == '-' ? -1 : 1;
	else
		return p_fail(p, "Bad zone in date-time");
	if (p_digits(p, 2, 2, &zh) < 0 || p_digits(p, 2, 2, &zm) < 0 || p_char(p, '"') < 0)
		return p_fail(p, "Bad date-time");
	if (h > 23 || mi > 59 || s > 60 || zm > 59)
		return p_fail(p, "Bad time in date-time");
	*tz_minutes = sign * (zh * 60 + zm);
	*t = p_days_to_time(y, mo, d) + h * 3600 + mi * 60 + s - (time_t)*tz_minutes * 60;
	return 0;
}

/* Is there a literal announcement "{n}" or "{n+}" at the end of the line
 * segment starting at seg? Sets *n and *nonsync. */
int p_literal_at_end(const char *seg, size_t len, uint64_t *n, int *nonsync)
{
	size_t i;

	if (len < 3 || seg[len - 1] != '}')
		return 0;
	i = len - 2;
	*nonsync = seg[i] == '+';
	if (*nonsync)
		i--;
	size_t digits_end = i + 1;
	while (i > 0 && isdigit((unsigned char)seg[i]))
		i--;
	if (seg[i] != '{' || i + 1 == digits_end)
		return 0;
	*n = 0;
	for (size_t k = i + 1; k < digits_end; k++) {
		if (*n > ((uint64_t)1 << 40))
			return 0;
		*n = *n * 10 + (uint64_t)(seg[k] - '0');
	}
	return 1;
}

int p_is_tag_char(unsigned char ch)
{
	return ch > 0x20 && ch < 0x7f && !strchr("(){%*\"\\+", ch);
}
