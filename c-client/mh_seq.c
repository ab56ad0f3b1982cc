/* mh_seq.c: parsing and writing MH's .mh_sequences (mh.h). Every parser
 * takes (pointer, length) and never needs a NUL: the file is written by
 * other programs, and this is what the fuzz harness drives. */
#include "mh.h"

#include <stdlib.h>
#include <string.h>

/* Largest message number taken (nmh's numbers are ints). */
#define MH_NUM_MAX 0x7fffffffu

int mh_seq_name_ok(const char *name, size_t len)
{
	if (!len || len > 255)
		return 0;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)name[i];
		if (c <= ' ' || c == ':' || c >= 0x7f)
			return 0;
	}
	return 1;
}

/* Index of the first range of q whose hi is >= n (q->n when none). */
static size_t seq_find(const struct mh_seq *q, uint32_t n)
{
	size_t lo = 0, hi = q->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (q->r[mid].hi < n)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

int mh_seq_has(const struct mh_seq *q, uint32_t n)
{
	size_t i = q ? seq_find(q, n) : 0;

	return q && i < q->n && q->r[i].lo <= n;
}

/* Open a gap of one range at index i. */
static void seq_insert(struct mh_seq *q, size_t i, uint32_t lo, uint32_t hi)
{
	if (q->n == q->cap) {
		q->cap = q->cap ? q->cap * 2 : 8;
		q->r = xrealloc(q->r, q->cap * sizeof *q->r);
	}
	memmove(q->r + i + 1, q->r + i, (q->n - i) * sizeof *q->r);
	q->r[i] = (struct mh_range){ lo, hi };
	q->n++;
}

/* Remove the range at index i. */
static void seq_drop(struct mh_seq *q, size_t i)
{
	memmove(q->r + i, q->r + i + 1, (q->n - i - 1) * sizeof *q->r);
	q->n--;
}

/* Put lo..hi in q, joining the ranges it overlaps or touches (ranges
 * from a file may come in any order). */
static void seq_add_range(struct mh_seq *q, uint32_t lo, uint32_t hi)
{
	size_t i = seq_find(q, lo > 1 ? lo - 1 : 1), j = i;

	while (j < q->n && q->r[j].lo <= (uint64_t)hi + 1) {
		if (q->r[j].lo < lo)
			lo = q->r[j].lo;
		if (q->r[j].hi > hi)
			hi = q->r[j].hi;
		j++;
	}
	if (j == i) {
		seq_insert(q, i, lo, hi);
		return;
	}
	q->r[i] = (struct mh_range){ lo, hi };
	memmove(q->r + i + 1, q->r + j, (q->n - j) * sizeof *q->r);
	q->n -= j - i - 1;
}

/* Take n out of q, splitting its range. */
static void seq_remove(struct mh_seq *q, uint32_t n)
{
	size_t i = seq_find(q, n);

	if (i >= q->n || q->r[i].lo > n)
		return;
	struct mh_range r = q->r[i];
	if (r.lo == r.hi)
		seq_drop(q, i);
	else if (r.lo == n)
		q->r[i].lo = n + 1;
	else if (r.hi == n)
		q->r[i].hi = n - 1;
	else {
		q->r[i].hi = n - 1;
		seq_insert(q, i + 1, n + 1, r.hi);
	}
}

void mh_seq_set(struct mh_seq *q, uint32_t n, int on)
{
	if (on)
		seq_add_range(q, n, n);
	else
		seq_remove(q, n);
}

struct mh_seq *mh_seqs_get(struct mh_seqs *s, const char *name, int create)
{
	for (size_t i = 0; i < s->n; i++)
		if (!strcmp(s->v[i].name, name))
			return &s->v[i];
	if (!create)
		return NULL;
	s->v = xrealloc(s->v, (s->n + 1) * sizeof *s->v);
	s->v[s->n] = (struct mh_seq){ xstrdup(name), NULL, 0, 0 };
	return &s->v[s->n++];
}

/* A decimal number 1..MH_NUM_MAX at p[0..n), or 0. */
static uint32_t num_parse(const char *p, size_t n)
{
	uint64_t v = 0;

	if (!n || n > 10)
		return 0;
	for (size_t i = 0; i < n; i++) {
		if (p[i] < '0' || p[i] > '9')
			return 0;
		v = v * 10 + (uint64_t)(p[i] - '0');
	}
	return v <= MH_NUM_MAX ? (uint32_t)v : 0;
}

/* One token "N" or "N-M" into q; a malformed one is dropped. */
static void token_add(struct mh_seq *q, const char *p, size_t n)
{
	const char *dash = memchr(p, '-', n);
	uint32_t lo = num_parse(p, dash ? (size_t)(dash - p) : n);
	uint32_t hi = dash ? num_parse(dash + 1, n - (size_t)(dash - p) - 1) : lo;

	if (lo && hi && lo <= hi)
		seq_add_range(q, lo, hi);
}

/* The numbers of one logical line's value into q. */
static void values_add(struct mh_seq *q, const char *p, size_t n)
{
	size_t i = 0;

	while (i < n) {
		while (i < n && (p[i] == ' ' || p[i] == '\t' || p[i] == '\n' || p[i] == '\r'))
			i++;
		size_t at = i;
		while (i < n && !(p[i] == ' ' || p[i] == '\t' || p[i] == '\n' || p[i] == '\r'))
			i++;
		if (i > at)
			token_add(q, p + at, i - at);
	}
}

/* Where the logical line starting at p[at] ends (continuations included). */
static size_t line_end(const char *p, size_t n, size_t at)
{
	for (;;) {
		const char *nl = memchr(p + at, '\n', n - at);
		if (!nl)
			return n;
		at = (size_t)(nl - p) + 1;
		if (at >= n || (p[at] != ' ' && p[at] != '\t'))
			return at;
	}
}

void mh_seqs_parse(const char *buf, size_t len, struct mh_seqs *out)
{
	memset(out, 0, sizeof *out);
	for (size_t at = 0; at < len;) {
		size_t end = line_end(buf, len, at);
		const char *colon = memchr(buf + at, ':', end - at);
		if (colon && mh_seq_name_ok(buf + at, (size_t)(colon - buf - at))) {
			char *name = xstrndup(buf + at, (size_t)(colon - buf - at));
			struct mh_seq *q = mh_seqs_get(out, name, 1);
			free(name);
			values_add(q, colon + 1, (size_t)(buf + end - colon - 1));
		}
		at = end;
	}
	/* empty sequences are not kept */
	size_t k = 0;
	for (size_t i = 0; i < out->n; i++) {
		if (out->v[i].n) {
			out->v[k++] = out->v[i];
		} else {
			free(out->v[i].name);
			free(out->v[i].r);
		}
	}
	out->n = k;
}

void mh_seqs_free(struct mh_seqs *s)
{
	for (size_t i = 0; i < s->n; i++) {
		free(s->v[i].name);
		free(s->v[i].r);
	}
	free(s->v);
	memset(s, 0, sizeof *s);
}

void mh_seqs_format(struct buf *b, const struct mh_seqs *s)
{
	for (size_t i = 0; i < s->n; i++) {
		const struct mh_seq *q = &s->v[i];
		if (!q->n)
			continue;
		buf_printf(b, "%s:", q->name);
		for (size_t j = 0; j < q->n; j++) {
			if (q->r[j].lo == q->r[j].hi)
				buf_printf(b, " %u", q->r[j].lo);
			else
				buf_printf(b, " %u-%u", q->r[j].lo, q->r[j].hi);
		}
		buf_putc(b, '\n');
	}
}

size_t mh_seqs_image(struct buf *b, const struct mh_seqs *s, size_t old_len)
{
	size_t len;

	mh_seqs_format(b, s);
	len = b->len;
	if (len && old_len > len) {
		for (size_t i = len + 1; i < old_len; i++)
			buf_putc(b, ' ');
		buf_putc(b, old_len - len > 1 ? '\n' : ' ');
	}
	return len;
}
