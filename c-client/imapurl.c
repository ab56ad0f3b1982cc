/* imapurl.c: the parser of IMAP URLs (RFC 5092) that name one message
 * part: "imap://user@host/mailbox;UIDVALIDITY=v/;UID=n/;SECTION=s/;PARTIAL=o.l"
 * and URLAUTH's ";EXPIRE=...;URLAUTH=access:mech:token" (RFC 4467). */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "imapurl.h"
#include "mutf7.h"

struct cur {
	const char *p, *end, *start;
};

/* Consume prefix (case-insensitive) when it is next. */
static int take(struct cur *c, const char *prefix)
{
	size_t n = strlen(prefix);

	if ((size_t)(c->end - c->p) < n || strncasecmp(c->p, prefix, n))
		return 0;
	c->p += n;
	return 1;
}

/* Percent-decode s[0..n) into the pool; NULL for a bad escape, a NUL, a
 * control or a space (RFC 5092 escapes those, never sends them bare). */
static char *decode(struct pool *pool, const char *s, size_t n)
{
	char *out = pool_alloc(pool, n + 1), *o = out;

	for (size_t i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)s[i];
		if (ch == '%') {
			int hi = i + 2 < n ? hex_value((unsigned char)s[i + 1]) : -1;
			int lo = i + 2 < n ? hex_value((unsigned char)s[i + 2]) : -1;
			if (hi < 0 || lo < 0 || (hi == 0 && lo == 0))
				return NULL;
			*o++ = (char)(hi << 4 | lo);
			i += 2;
		} else if (ch <= ' ' || ch == 0x7f) {
			return NULL;
		} else {
			*o++ = (char)ch;
		}
	}
	*o = '\0';
	return out;
}

/* 1*DIGIT as a 32-bit number; nz: zero refused. */
static int number(struct cur *c, int nz, uint32_t *out)
{
	uint64_t v = 0;
	const char *start = c->p;

	while (c->p < c->end && *c->p >= '0' && *c->p <= '9' && c->p - start < 11)
		v = v * 10 + (uint64_t)(*c->p++ - '0');
	if (c->p == start || v > UINT32_MAX || (nz && !v))
		return -1;
	*out = (uint32_t)v;
	return 0;
}

/* Characters up to the next ';' (or the end); a '/' right before that ';'
 * belongs to the next "/;NAME=", not to the value. */
static size_t value_len(const struct cur *c)
{
	const char *semi = memchr(c->p, ';', (size_t)(c->end - c->p));
	size_t n = (size_t)((semi ? semi : c->end) - c->p);

	return semi && n && c->p[n - 1] == '/' ? n - 1 : n;
}

/* The mailbox: UTF-8 in the URL, modified UTF-7 as we keep names. */
static int mailbox(struct cur *c, struct pool *pool, struct imapurl *u)
{
	size_t n = value_len(c);
	char *utf8 = n ? decode(pool, c->p, n) : NULL, *m;

	if (!utf8)
		return -1;
	if (!strcasecmp(utf8, "INBOX")) {
		u->mailbox = pool_strdup(pool, "INBOX");
	} else {
		if (!(m = mutf7_from_utf8(utf8, strlen(utf8))))
			return -1;
		u->mailbox = pool_strdup(pool, m);
		free(m);
	}
	c->p += n;
	return 0;
}

/* "imap://" [user [";AUTH=" ...] "@"] host [":" port], up to the path. */
static int server(struct cur *c, struct pool *pool, struct imapurl *u)
{
	const char *slash = memchr(c->p, '/', (size_t)(c->end - c->p)), *at, *auth;

	if (!slash || slash == c->p)
		return -1;
	at = NULL;
	for (const char *q = c->p; q < slash; q++)
		if (*q == '@')
			at = q;
	if (at) {
		auth = NULL;
		for (const char *q = c->p; q + 6 <= at && !auth; q++)
			if (!strncasecmp(q, ";AUTH=", 6))
				auth = q;
		if (!auth)
			auth = at;
		if (auth == c->p || !(u->user = decode(pool, c->p, (size_t)(auth - c->p))))
			return -1;
		if (at + 1 == slash)
			return -1;   /* a user and no host */
	}
	u->absolute = 1;
	c->p = slash;
	return 0;
}

/* A day count since 1970 for y-m-d (proleptic Gregorian). */
static int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
	y -= m <= 2;
	int64_t era = (y >= 0 ? y : y - 399) / 400;
	unsigned yoe = (unsigned)(y - era * 400);
	unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + (int64_t)doe - 719468;
}

/* n digits as a number, or -1. */
static int digits(struct cur *c, int n)
{
	int v = 0;

	for (int i = 0; i < n; i++, c->p++) {
		if (c->p >= c->end || *c->p < '0' || *c->p > '9')
			return -1;
		v = v * 10 + (*c->p - '0');
	}
	return v;
}

/* RFC 3339 date-time: YYYY-MM-DDTHH:MM:SS[.frac](Z|+hh:mm|-hh:mm). */
static int expire(struct cur *c, time_t *out)
{
	int y = digits(c, 4), mo, d, h, mi, s, off = 0;

	if (y < 0 || !take(c, "-") || (mo = digits(c, 2)) < 1 || mo > 12 || !take(c, "-") ||
	    (d = digits(c, 2)) < 1 || d > 31 || !take(c, "T") || (h = digits(c, 2)) < 0 ||
	    h > 23 || !take(c, ":") || (mi = digits(c, 2)) < 0 || mi > 59 || !take(c, ":") ||
	    (s = digits(c, 2)) < 0 || s > 60)
		return -1;
	if (take(c, ".")) {
		const char *f = c->p;
		while (c->p < c->end && *c->p >= '0' && *c->p <= '9')
			c->p++;
		if (c->p == f)
			return -1;
	}
	if (!take(c, "Z")) {
		int sign = take(c, "+") ? -1 : take(c, "-") ? 1 : 0, oh, om;
		if (!sign || (oh = digits(c, 2)) < 0 || oh > 23 || !take(c, ":") ||
		    (om = digits(c, 2)) < 0 || om > 59)
			return -1;
		off = sign * (oh * 60 + om) * 60;
	}
	*out = (time_t)(days_from_civil(y, (unsigned)mo, (unsigned)d) * 86400 + h * 3600 +
			mi * 60 + s + off);
	return *out > 0 ? 0 : -1;
}

/* access: "submit+" user / "user+" user / "authuser" / "anonymous". */
static int access_id(struct cur *c, struct pool *pool, struct imapurl *u)
{
	const char *colon = memchr(c->p, ':', (size_t)(c->end - c->p));
	const char *end = colon ? colon : c->end;
	int plus = 1;

	if (take(c, "submit+"))
		u->access = URLA_SUBMIT;
	else if (take(c, "user+"))
		u->access = URLA_USER;
	else if ((plus = 0), take(c, "authuser"))
		u->access = URLA_AUTHUSER;
	else if (take(c, "anonymous"))
		u->access = URLA_ANONYMOUS;
	else
		return -1;
	if (plus && (c->p >= end || !(u->access_user = decode(pool, c->p, (size_t)(end - c->p)))))
		return -1;
	if (plus)
		c->p = end;
	return c->p == end ? 0 : -1;
}

/* ":" mechanism ":" 32*HEXDIG, the rest of the URL. */
static int verifier(struct cur *c, struct pool *pool, struct imapurl *u)
{
	const char *m = c->p, *colon = memchr(c->p, ':', (size_t)(c->end - c->p));
	size_t n;

	if (!colon || colon == m)
		return -1;
	for (const char *q = m; q < colon; q++)
		if (!((*q >= 'a' && *q <= 'z') || (*q >= 'A' && *q <= 'Z') ||
		      (*q >= '0' && *q <= '9') || *q == '-' || *q == '.'))
			return -1;
	u->mech = pool_strndup(pool, m, (size_t)(colon - m));
	c->p = colon + 1;
	n = (size_t)(c->end - c->p);
	if (n < 32)
		return -1;
	u->token = pool_strndup(pool, c->p, n);
	for (size_t i = 0; i < n; i++) {
		if (hex_value((unsigned char)u->token[i]) < 0)
			return -1;
		if (u->token[i] >= 'A' && u->token[i] <= 'F')
			u->token[i] = (char)(u->token[i] - 'A' + 'a');
	}
	c->p = c->end;
	return 0;
}

/* ";PARTIAL=" number ["." nz-number]. */
static int partial(struct cur *c, struct imapurl *u)
{
	u->partial = 1;
	if (number(c, 0, &u->origin) < 0)
		return -1;
	return take(c, ".") ? number(c, 1, &u->length) : 0;
}

/* The part after the mailbox, in the grammar's order. */
static int rest(struct cur *c, struct pool *pool, struct imapurl *u)
{
	size_t n;

	if (take(c, ";UIDVALIDITY=") && number(c, 1, &u->uidvalidity) < 0)
		return -1;
	if (!take(c, "/;UID=") || number(c, 1, &u->uid) < 0)
		return -1;
	if (take(c, "/;SECTION=")) {
		if (!(n = value_len(c)) || !(u->section = decode(pool, c->p, n)))
			return -1;
		c->p += n;
	}
	if (take(c, "/;PARTIAL=") && partial(c, u) < 0)
		return -1;
	if (take(c, ";EXPIRE=") && expire(c, &u->expire) < 0)
		return -1;
	if (take(c, ";URLAUTH=")) {
		if (access_id(c, pool, u) < 0)
			return -1;
		u->rump_len = (size_t)(c->p - c->start);
		if (take(c, ":") && verifier(c, pool, u) < 0)
			return -1;
	} else if (u->expire) {
		return -1;   /* EXPIRE belongs to a URLAUTH URL */
	}
	return c->p == c->end ? 0 : -1;
}

/* See imapurl.h: the server part, the mailbox, then the rest in order. */
int imapurl_parse(const char *s, size_t len, struct pool *pool, struct imapurl *u,
		  const char **why)
{
	struct cur c = {s, s + len, s};

	memset(u, 0, sizeof *u);
	u->raw = s;
	u->raw_len = len;
	*why = "Not an IMAP URL of a message part";
	if (take(&c, "imap://") && server(&c, pool, u) < 0)
		return -1;
	if (!take(&c, "/"))
		return -1;
	if (mailbox(&c, pool, u) < 0) {
		*why = "Bad mailbox name in the URL";
		return -1;
	}
	return rest(&c, pool, u);
}
