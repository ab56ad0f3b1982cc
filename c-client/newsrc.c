/* newsrc.c: reading and rewriting one group's line of a .newsrc file.
 * Bad ranges are skipped, never trusted: the rest of the line still counts. */
#include "newsrc.h"

#include <stdlib.h>
#include <string.h>

/* The line of group in data: its start and end (without LF), and where
 * its ranges begin; 0 if there is none. */
static int find_line(const char *data, size_t len, const char *group, size_t *start,
		     size_t *end, size_t *ranges)
{
	size_t gl = strlen(group);

	for (size_t p = 0; p < len;) {
		const char *nl = memchr(data + p, '\n', len - p);
		size_t e = nl ? (size_t)(nl - data) : len;
		if (e - p > gl && !memcmp(data + p, group, gl) &&
		    (data[p + gl] == ':' || data[p + gl] == '!')) {
			*start = p;
			*end = e;
			*ranges = p + gl + 1;
			return 1;
		}
		p = e + 1;
	}
	return 0;
}

/* A decimal number at *p (below end), at most 32 bits; -1 if none. */
static int number(const char **p, const char *end, uint32_t *v)
{
	uint64_t x = 0;
	const char *s = *p;

	while (s < end && *s >= '0' && *s <= '9' && x <= UINT32_MAX)
		x = x * 10 + (uint64_t)(*s++ - '0');
	if (s == *p || x > UINT32_MAX)
		return -1;
	*p = s;
	*v = (uint32_t)x;
	return 0;
}

static int by_lo(const void *a, const void *b)
{
	const struct newsrc_range *x = a, *y = b;

	return x->lo < y->lo ? -1 : x->lo > y->lo;
}

struct newsrc_range *newsrc_find(const char *data, size_t len, const char *group, size_t *n)
{
	size_t start, end, at;
	struct newsrc_range *r = NULL;
	size_t cap = 0;

	*n = 0;
	if (!data || !find_line(data, len, group, &start, &end, &at))
		return NULL;
	for (const char *p = data + at, *e = data + end; p < e && *n < NEWSRC_RANGES_MAX;) {
		struct newsrc_range one;
		while (p < e && (*p == ' ' || *p == ','))
			p++;
		if (number(&p, e, &one.lo) < 0) {
			while (p < e && *p != ',')
				p++;   /* not a range: skip to the next */
			continue;
		}
		one.hi = one.lo;
		if (p < e && *p == '-' && (++p, number(&p, e, &one.hi) < 0 || one.hi < one.lo))
			continue;
		if (*n == cap)
			r = xrealloc(r, (cap = cap ? cap * 2 : 16) * sizeof *r);
		r[(*n)++] = one;
	}
	if (*n)
		qsort(r, *n, sizeof *r, by_lo);
	size_t k = 0;   /* merge overlapping or touching ranges: apart, sorted */
	for (size_t i = 1; i < *n; i++) {
		if (r[i].lo <= r[k].hi || r[i].lo - 1 == r[k].hi)
			r[k].hi = r[i].hi > r[k].hi ? r[i].hi : r[k].hi;
		else
			r[++k] = r[i];
	}
	*n = *n ? k + 1 : 0;
	return r;
}

int newsrc_has(const struct newsrc_range *r, size_t n, uint32_t num)
{
	size_t lo = 0, hi = n;

	while (lo < hi) {   /* the last range starting at or below num */
		size_t mid = lo + (hi - lo) / 2;
		if (r[mid].lo <= num)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo > 0 && r[lo - 1].hi >= num;
}

/* "group: 1-5,7" */
static void put_line(struct buf *out, const char *group, char mark,
		     const struct newsrc_range *r, size_t n)
{
	buf_printf(out, "%s%c", group, mark);
	for (size_t i = 0; i < n; i++) {
		buf_printf(out, "%s%u", i ? "," : " ", r[i].lo);
		if (r[i].hi != r[i].lo)
			buf_printf(out, "-%u", r[i].hi);
	}
}

void newsrc_put(const char *data, size_t len, const char *group, const struct newsrc_range *r,
		size_t n, struct buf *out)
{
	size_t start, end, at;

	if (data && find_line(data, len, group, &start, &end, &at)) {
		buf_append(out, data, start);
		put_line(out, group, data[at - 1], r, n);
		buf_append(out, data + end, len - end);
		if (end == len)
			buf_putc(out, '\n');
		return;
	}
	if (data && len) {
		buf_append(out, data, len);
		if (data[len - 1] != '\n')
			buf_putc(out, '\n');
	}
	put_line(out, group, ':', r, n);
	buf_putc(out, '\n');
}
