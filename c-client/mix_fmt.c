/* mix_fmt.c: parsing and writing the lines of UW's mix files (mix.h),
 * strict where UW's reader is strict (so we never take a file UW cannot
 * read back) and bounded: every number is at most 8 hex digits. */
#include "mix.h"
#include "mail_api.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* A line cursor over a buffer. */
struct lines {
	const char *p, *end;
};

/* The next line without its CRLF (or LF) in *s, *len; 0 at the end. A
 * last line without its line end counts (a record cut by a crash is then
 * refused by its own parser). */
static int next_line(struct lines *l, const char **s, size_t *len)
{
	if (l->p >= l->end)
		return 0;
	const char *nl = memchr(l->p, '\n', (size_t)(l->end - l->p));
	const char *e = nl ? nl : l->end;
	*s = l->p;
	*len = (size_t)(e - l->p);
	if (*len && (*s)[*len - 1] == '\r')
		(*len)--;
	l->p = nl ? nl + 1 : l->end;
	return 1;
}

/* Read 1-8 hex digits at *p (within end) into *v; advance. */
static int hex(const char **p, const char *end, uint32_t *v)
{
	uint32_t x = 0;
	int n = 0;

	for (; *p < end && n < 9; (*p)++, n++) {
		char c = **p;
		int d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 :
			c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
		if (d < 0)
			break;
		x = x << 4 | (uint32_t)d;
	}
	*v = x;
	return n >= 1 && n <= 8;
}

/* Expect c at *p; advance. */
static int lit(const char **p, const char *end, char c)
{
	if (*p >= end || **p != c)
		return 0;
	(*p)++;
	return 1;
}

/* n decimal digits at p as a number, -1 if any is not a digit. */
static int digits(const char *p, int n)
{
	int v = 0;

	for (int i = 0; i < n; i++) {
		if (p[i] < '0' || p[i] > '9')
			return -1;
		v = v * 10 + (p[i] - '0');
	}
	return v;
}

/* yyyymmddhhmmss+zzzz at *p; advance. */
static int parse_date(const char **p, const char *end, struct mix_date *d)
{
	const char *s = *p;

	if (end - s < 19 || (s[14] != '+' && s[14] != '-'))
		return 0;
	int y = digits(s, 4), mo = digits(s + 4, 2), da = digits(s + 6, 2), h = digits(s + 8, 2),
	    mi = digits(s + 10, 2), se = digits(s + 12, 2), zh = digits(s + 15, 2),
	    zm = digits(s + 17, 2);
	if (y < 1970 || mo < 1 || mo > 12 || da < 1 || da > 31 || h < 0 || h > 23 || mi < 0 ||
	    mi > 59 || se < 0 || se > 60 || zh < 0 || zh > 23 || zm < 0 || zm > 59)
		return 0;
	struct tm tm = {
		.tm_year = y - 1900, .tm_mon = mo - 1, .tm_mday = da,
		.tm_hour = h, .tm_min = mi, .tm_sec = se,
	};
	d->tz = (s[14] == '-' ? -1 : 1) * (zh * 60 + zm);
	d->t = timegm(&tm) - (time_t)d->tz * 60;
	*p = s + 19;
	return 1;
}

/* Append d as yyyymmddhhmmss+zzzz. */
static void format_date(struct buf *b, const struct mix_date *d)
{
	time_t local = d->t + (time_t)d->tz * 60;
	struct tm tm;
	int z = d->tz < 0 ? -d->tz : d->tz;

	gmtime_r(&local, &tm);
	buf_printf(b, "%04d%02d%02d%02d%02d%02d%c%02d%02d", tm.tm_year + 1900, tm.tm_mon + 1,
		   tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, d->tz < 0 ? '-' : '+', z / 60,
		   z % 60);
}

/* The first line: "S<hex>"; an empty file is sequence 0. */
static int parse_seq(struct lines *l, uint32_t *seq, const char **why)
{
	const char *s;
	size_t len;

	*seq = 0;
	while (next_line(l, &s, &len))
		if (len) {
			const char *p = s + 1, *e = s + len;
			if (s[0] != 'S' || !hex(&p, e, seq) || p != e) {
				*why = "bad sequence record";
				return -1;
			}
			return 0;
		}
	return 0;
}

int mix_meta_parse(const char *p, size_t n, struct mix_meta *m, const char **why)
{
	struct lines l = {p, p + n};
	const char *s;
	size_t len;
	int seen = 0;

	memset(m, 0, sizeof *m);
	if (parse_seq(&l, &m->seq, why) < 0)
		return -1;
	while (next_line(&l, &s, &len)) {
		const char *q = s + 1, *e = s + len;
		uint32_t *v = NULL;
		if (!len)
			continue;
		switch (s[0]) {
		case 'V': v = &m->validity; seen |= 1; break;
		case 'L': v = &m->last; seen |= 2; break;
		case 'N': v = &m->newfile; seen |= 4; break;
		case 'K':
			while (q < e && m->nkw < MIX_KEYWORDS) {
				const char *sp = memchr(q, ' ', (size_t)(e - q));
				const char *ke = sp ? sp : e;
				char *k = xstrndup(q, (size_t)(ke - q));
				if (!mix_keyword_ok(k)) {
					free(k);
					*why = "bad keyword name";
					goto bad;
				}
				m->kw[m->nkw++] = k;
				q = sp ? sp + 1 : e;
			}
			if (q < e) {
				*why = "too many keywords";
				goto bad;
			}
			continue;
		default:
			continue;   /* UW: other keys are for later use */
		}
		if (!hex(&q, e, v) || q != e) {
			*why = "bad metadata record";
			goto bad;
		}
	}
	if (seen != 7 || !m->validity) {
		*why = "metadata lacks UIDVALIDITY, last UID or data file";
		goto bad;
	}
	return 0;
bad:
	mix_meta_free(m);
	return -1;
}

void mix_meta_free(struct mix_meta *m)
{
	for (unsigned i = 0; i < m->nkw; i++)
		free(m->kw[i]);
	memset(m, 0, sizeof *m);
}

void mix_index_add(struct mix_index *ix, const struct mix_ixrec *r)
{
	if (ix->n == ix->cap) {
		ix->cap = ix->cap ? ix->cap * 2 : 64;
		ix->v = xrealloc(ix->v, ix->cap * sizeof *ix->v);
	}
	ix->v[ix->n++] = *r;
}

void mix_status_add(struct mix_status *st, const struct mix_strec *r)
{
	if (st->n == st->cap) {
		st->cap = st->cap ? st->cap * 2 : 64;
		st->v = xrealloc(st->v, st->cap * sizeof *st->v);
	}
	st->v[st->n++] = *r;
}

/* Fields after ':' separated by ':', each hex; the record ends with ':'
 * and anything after it is for later use (UW ignores it). */
static int hex_fields(const char **p, const char *e, uint32_t **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!hex(p, e, v[i]) || !lit(p, e, ':'))
			return 0;
	return 1;
}

int mix_index_parse(const char *p, size_t n, struct mix_index *ix, const char **why)
{
	struct lines l = {p, p + n};
	const char *s;
	size_t len;

	memset(ix, 0, sizeof *ix);
	if (parse_seq(&l, &ix->seq, why) < 0)
		return -1;
	while (next_line(&l, &s, &len)) {
		const char *q = s, *e = s + len;
		struct mix_ixrec r;
		uint32_t *a[] = {&r.uid}, *b[] = {&r.size, &r.file, &r.pos, &r.hoff, &r.hsiz};
		if (!len)
			continue;
		if (!lit(&q, e, ':') || !hex_fields(&q, e, a, 1) || !r.uid ||
		    !parse_date(&q, e, &r.date) || !lit(&q, e, ':') || !hex_fields(&q, e, b, 5)) {
			*why = "bad index record";
			goto bad;
		}
		if (ix->n && ix->v[ix->n - 1].uid >= r.uid) {
			*why = "index records out of UID order";
			goto bad;
		}
		mix_index_add(ix, &r);
	}
	return 0;
bad:
	mix_index_free(ix);
	return -1;
}

void mix_index_free(struct mix_index *ix)
{
	free(ix->v);
	memset(ix, 0, sizeof *ix);
}

int mix_status_parse(const char *p, size_t n, struct mix_status *st, const char **why)
{
	struct lines l = {p, p + n};
	const char *s;
	size_t len;

	memset(st, 0, sizeof *st);
	if (parse_seq(&l, &st->seq, why) < 0)
		return -1;
	while (next_line(&l, &s, &len)) {
		const char *q = s, *e = s + len;
		struct mix_strec r;
		uint32_t *a[] = {&r.uid, &r.kw, &r.flags, &r.mod};
		if (!len)
			continue;
		if (!lit(&q, e, ':') || !hex_fields(&q, e, a, 4) || !r.uid) {
			*why = "bad status record";
			goto bad;
		}
		/* UW matches the records to the index in UID order */
		if (st->n && st->v[st->n - 1].uid >= r.uid) {
			*why = "status records out of UID order";
			goto bad;
		}
		mix_status_add(st, &r);
	}
	return 0;
bad:
	mix_status_free(st);
	return -1;
}

void mix_status_free(struct mix_status *st)
{
	free(st->v);
	memset(st, 0, sizeof *st);
}

struct mix_strec *mix_status_find(struct mix_status *st, uint32_t uid)
{
	size_t lo = 0, hi = st->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (st->v[mid].uid == uid)
			return &st->v[mid];
		if (st->v[mid].uid < uid)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

struct mix_strec *mix_status_get(struct mix_status *st, uint32_t uid)
{
	struct mix_strec *r = mix_status_find(st, uid);
	size_t at = st->n;

	if (r)
		return r;
	while (at > 0 && st->v[at - 1].uid > uid)
		at--;
	mix_status_add(st, &(struct mix_strec){0});
	memmove(&st->v[at + 1], &st->v[at], (st->n - 1 - at) * sizeof *st->v);
	st->v[at] = (struct mix_strec){.uid = uid};
	return &st->v[at];
}

int mix_index_has(const struct mix_index *ix, uint32_t uid)
{
	size_t lo = 0, hi = ix->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (ix->v[mid].uid == uid)
			return 1;
		if (ix->v[mid].uid < uid)
			lo = mid + 1;
		else
			hi = mid;
	}
	return 0;
}

void mix_seq_format(struct buf *b, uint32_t seq)
{
	buf_printf(b, "S%08x\r\n", seq);
}

void mix_meta_format(struct buf *b, const struct mix_meta *m)
{
	mix_seq_format(b, m->seq);
	buf_printf(b, "V%08x\r\nL%08x\r\nN%08x\r\n", m->validity, m->last, m->newfile);
	for (unsigned i = 0; i < m->nkw; i++) {
		buf_putc(b, i ? ' ' : 'K');
		buf_puts(b, m->kw[i]);
	}
	if (m->nkw)
		buf_puts(b, "\r\n");
}

void mix_ixrec_format(struct buf *b, const struct mix_ixrec *r)
{
	buf_printf(b, ":%08x:", r->uid);
	format_date(b, &r->date);
	buf_printf(b, ":%08x:%08x:%08x:%08x:%08x:\r\n", r->size, r->file, r->pos, r->hoff, r->hsiz);
}

void mix_index_format(struct buf *b, const struct mix_index *ix)
{
	mix_seq_format(b, ix->seq);
	for (size_t i = 0; i < ix->n; i++)
		mix_ixrec_format(b, &ix->v[i]);
}

void mix_strec_format(struct buf *b, const struct mix_strec *r)
{
	buf_printf(b, ":%08x:%08x:%04x:%08x:\r\n", r->uid, r->kw, r->flags & 0xffff, r->mod);
}

void mix_status_format(struct buf *b, const struct mix_status *st)
{
	mix_seq_format(b, st->seq);
	for (size_t i = 0; i < st->n; i++)
		mix_strec_format(b, &st->v[i]);
}

size_t mix_msgrec_format(struct buf *b, uint32_t uid, const struct mix_date *d, uint32_t size)
{
	size_t was = b->len;

	buf_printf(b, ":msg:%08x:", uid);
	format_date(b, d);
	buf_printf(b, ":%08x:\r\n", size);
	return b->len - was;
}

size_t mix_msgrec_check(const char *p, size_t n, uint32_t uid)
{
	const char *q = p, *e = p + n;
	const char *nl = memchr(p, '\n', n);
	uint32_t u, size;
	struct mix_date d;

	if (!nl || n < 5 || memcmp(p, ":msg:", 5))
		return 0;
	q = p + 5;
	e = nl;
	if (!hex(&q, e, &u) || !lit(&q, e, ':') || u != uid || !parse_date(&q, e, &d) ||
	    !lit(&q, e, ':') || !hex(&q, e, &size) || !lit(&q, e, ':'))
		return 0;
	return (size_t)(nl - p) + 1;
}

uint32_t mix_next_seq(uint32_t old, time_t now)
{
	uint32_t t = (uint32_t)now;

	return t > old ? t : old + 1;
}

void mix_pad(struct buf *b, size_t old_len)
{
	while (b->len + 2 <= old_len)
		buf_puts(b, "\r\n");
	if (b->len < old_len)
		buf_putc(b, '\n');
}

int mix_keyword_ok(const char *name)
{
	/* an atom (RFC 3501), as UW writes them space-separated */
	if (!*name || strlen(name) > 64)
		return 0;
	for (const unsigned char *p = (const unsigned char *)name; *p; p++)
		if (*p <= ' ' || *p >= 0x7f || strchr("(){%*\"\\]", *p))
			return 0;
	return 1;
}

static const struct {
	uint32_t mf, mix;
} flag_map[] = {
	{MF_SEEN, MIX_SEEN}, {MF_DELETED, MIX_DELETED}, {MF_FLAGGED, MIX_FLAGGED},
	{MF_ANSWERED, MIX_ANSWERED}, {MF_DRAFT, MIX_DRAFT},
};

uint32_t mix_flags_to_mf(uint32_t f)
{
	uint32_t r = 0;

	for (size_t i = 0; i < ARRAY_SIZE(flag_map); i++)
		if (f & flag_map[i].mix)
			r |= flag_map[i].mf;
	return r;
}

uint32_t mix_flags_from_mf(uint32_t f)
{
	uint32_t r = 0;

	for (size_t i = 0; i < ARRAY_SIZE(flag_map); i++)
		if (f & flag_map[i].mf)
			r |= flag_map[i].mix;
	return r;
}

int mix_meta_keyword(struct mix_meta *m, const char *name, int add)
{
	for (unsigned i = 0; i < m->nkw; i++)
		if (!strcasecmp(m->kw[i], name))
			return (int)i;
	if (!add || m->nkw >= MIX_KEYWORDS || !mix_keyword_ok(name))
		return -1;
	m->kw[m->nkw] = xstrdup(name);
	return (int)m->nkw++;
}
