/* modseq.c: reading and writing the modseq file's bytes. A text file, one
 * record a line, ending in a checksum line so a torn or edited file is
 * refused as a whole (the caller then starts afresh with a greater base):
 *   imapd-modseq 2 / v VALIDITY UIDNEXT HIGHEST BASE / k KEYWORD ... /
 *   m UID FLAGS KWHEX MODSEQ SAVED ... / g LO HI MODSEQ ... / p PATH / s SUM
 * Version 1 (no SAVED) still reads, its save dates unknown; a version 1
 * reader refuses a version 2 file and starts afresh, as from a torn one. */
#include "modseq.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MODSEQ_MAGIC "imapd-modseq 2\n"
#define MODSEQ_MAGIC_V1 "imapd-modseq 1\n"
/* Beyond this many expunge ranges, neighbours are merged. */
#define MODSEQ_GONE_MAX 512
/* MF_STORABLE in mail_api.h: the only flags a record may hold. */
#define MODSEQ_FLAGS 0x1fu

uint64_t modseq_sum(const char *p, size_t n)
{
	uint64_t h = 0x243f6a8885a308d3ULL ^ n, w;
	size_t i = 0;

	/* a word at a time: a byte-wise hash would cost more than the parse */
	for (; i + 8 <= n; i += 8) {
		memcpy(&w, p + i, 8);
		h = (h + w) * 0x9e3779b97f4a7c15ULL;
		h ^= h >> 32;
	}
	for (; i < n; i++)
		h = (h ^ (unsigned char)p[i]) * 0x100000001b3ULL;
	return (h ^ (h >> 29)) & INT64_MAX;
}

/* A cursor over one line of the file. */
struct msq_line {
	const char *p, *end;
};

/* The next line (without its LF) from *at in (p, len); -1 at the end or
 * on a last line with no LF (a torn file). */
static int next_line(const char *p, size_t len, size_t *at, struct msq_line *l)
{
	const char *nl;

	if (*at >= len)
		return -1;
	nl = memchr(p + *at, '\n', len - *at);
	if (!nl)
		return -1;
	l->p = p + *at;
	l->end = nl;
	*at = (size_t)(nl - p) + 1;
	return 0;
}

/* " N" in base 10 or 16 into *v; -1 when absent or above max. */
static int take_num(struct msq_line *l, int base, uint64_t max, uint64_t *v)
{
	uint64_t n = 0;
	int digits = 0;

	if (l->p >= l->end || *l->p != ' ')
		return -1;
	l->p++;
	for (; l->p < l->end && *l->p != ' '; l->p++, digits++) {
		char c = *l->p;
		unsigned d = c >= '0' && c <= '9' ? (unsigned)(c - '0') :
			     base == 16 && c >= 'a' && c <= 'f' ? (unsigned)(c - 'a' + 10) : 99;
		/* no division per digit: overflow is caught as it happens */
		if (d >= (unsigned)base || __builtin_mul_overflow(n, (unsigned)base, &n) ||
		    __builtin_add_overflow(n, d, &n))
			return -1;
	}
	*v = n;
	return digits && n <= max ? 0 : -1;
}

/* A line "<tag> N N ...": count numbers (base 10, the third of an "m"
 * line in hex) into v, nothing after. */
static int take_nums(struct msq_line *l, char tag, size_t count, uint64_t *v)
{
	if (l->p >= l->end || *l->p++ != tag)
		return -1;
	for (size_t i = 0; i < count; i++)
		if (take_num(l, tag == 'm' && i == 2 ? 16 : 10,
			     tag == 'm' && i == 2 ? UINT64_MAX :
			     i < 2 && tag != 's' ? UINT32_MAX : INT64_MAX,
			     &v[i]) < 0)
			return -1;
	return l->p == l->end ? 0 : -1;
}

/* Is the line "<tag> <text>" with text non-empty, no NUL? Sets *text. */
static int take_text(const struct msq_line *l, char tag, const char **text, size_t *n)
{
	if (l->end - l->p < 3 || l->p[0] != tag || l->p[1] != ' ')
		return -1;
	*text = l->p + 2;
	*n = (size_t)(l->end - l->p - 2);
	return memchr(*text, '\0', *n) ? -1 : 0;
}

/* The head ("v"): validity, uidnext, highest, base; base <= highest. */
static int parse_head(struct msq_line *l, struct modseq_state *st)
{
	uint64_t v[4];

	if (take_nums(l, 'v', 4, v) < 0 || v[3] > v[2])
		return -1;
	st->uidvalidity = (uint32_t)v[0];
	st->uidnext = (uint32_t)v[1];
	st->highest = v[2];
	st->base = v[3];
	return 0;
}

/* One "m" line, after the previous record: ascending, flags and keywords
 * known, modseq within highest; fields: 4 in version 1, 5 since. */
static int parse_msg(struct msq_line *l, struct modseq_state *st, size_t fields)
{
	uint64_t v[5] = {0}, known = st->nkw >= 64 ? ~0ULL : (1ULL << st->nkw) - 1;

	if (take_nums(l, 'm', fields, v) < 0 || !v[0] || (v[1] & ~(uint64_t)MODSEQ_FLAGS) ||
	    (v[2] & ~known) || !v[3] || v[3] > st->highest ||
	    (st->nmsgs && v[0] <= st->msgs[st->nmsgs - 1].uid))
		return -1;
	/* ascending: appended, no search */
	if (st->nmsgs == st->capmsgs) {
		st->capmsgs = st->capmsgs ? st->capmsgs * 2 : 64;
		st->msgs = xrealloc(st->msgs, st->capmsgs * sizeof *st->msgs);
	}
	st->msgs[st->nmsgs++] =
		(struct modseq_msg){(uint32_t)v[0], (uint32_t)v[1], v[2], v[3], v[4]};
	return 0;
}

/* One "g" line: lo <= hi, after the previous range, modseq within highest. */
static int parse_gone(struct msq_line *l, struct modseq_state *st)
{
	uint64_t v[3];

	if (take_nums(l, 'g', 3, v) < 0 || !v[0] || v[0] > v[1] || !v[2] || v[2] > st->highest ||
	    (st->ngone && v[0] <= st->gone[st->ngone - 1].hi))
		return -1;
	if (st->ngone == st->capgone) {
		st->capgone = st->capgone ? st->capgone * 2 : 16;
		st->gone = xrealloc(st->gone, st->capgone * sizeof *st->gone);
	}
	st->gone[st->ngone++] = (struct modseq_gone){(uint32_t)v[0], (uint32_t)v[1], v[2]};
	return 0;
}

/* The lines after the head, in order: k*, m*, g*, p; then the sum. */
static int parse_body(const char *p, size_t len, size_t at, const char *mbox,
		      size_t fields, struct modseq_state *st)
{
	struct msq_line l;
	const char *text;
	size_t n;
	uint64_t sum;
	int r = next_line(p, len, &at, &l);

	for (; r == 0 && l.p < l.end && l.p[0] == 'k'; r = next_line(p, len, &at, &l)) {
		if (take_text(&l, 'k', &text, &n) < 0 || st->nkw >= MODSEQ_KW_MAX ||
		    memchr(text, ' ', n))
			return -1;
		st->kw[st->nkw++] = xstrndup(text, n);
	}
	for (; r == 0 && l.p < l.end && l.p[0] == 'm'; r = next_line(p, len, &at, &l))
		if (parse_msg(&l, st, fields) < 0)
			return -1;
	for (; r == 0 && l.p < l.end && l.p[0] == 'g'; r = next_line(p, len, &at, &l))
		if (parse_gone(&l, st) < 0)
			return -1;
	if (r < 0 || take_text(&l, 'p', &text, &n) < 0 || n != strlen(mbox) ||
	    memcmp(text, mbox, n))
		return -1;
	size_t summed = at;
	if (next_line(p, len, &at, &l) < 0 || take_nums(&l, 's', 1, &sum) < 0 || at != len)
		return -1;
	return sum == modseq_sum(p, summed) ? 0 : -1;
}

int modseq_parse(const char *p, size_t len, const char *mbox, struct modseq_state *st)
{
	struct msq_line l;
	size_t at = sizeof MODSEQ_MAGIC - 1;
	int v1 = len >= at && !memcmp(p, MODSEQ_MAGIC_V1, at);

	memset(st, 0, sizeof *st);
	if (len < at || (!v1 && memcmp(p, MODSEQ_MAGIC, at)) || next_line(p, len, &at, &l) < 0 ||
	    parse_head(&l, st) < 0 || parse_body(p, len, at, mbox, v1 ? 4 : 5, st) < 0) {
		modseq_free(st);
		return -1;
	}
	return 0;
}

/* " N" in base 10 or 16 at e; returns the new end. printf costs more than
 * everything else when a big mailbox's file is written. */
static char *put_num(char *e, uint64_t v, unsigned base)
{
	char tmp[24];
	size_t n = 0;

	do {
		tmp[n++] = "0123456789abcdef"[v % base];
		v /= base;
	} while (v);
	*e++ = ' ';
	while (n)
		*e++ = tmp[--n];
	return e;
}

void modseq_write(const struct modseq_state *st, const char *mbox, struct buf *out)
{
	size_t start = out->len;

	buf_reserve(out, 64 + st->nmsgs * 52 + st->ngone * 40);
	buf_puts(out, MODSEQ_MAGIC);
	buf_printf(out, "v %u %u %llu %llu\n", st->uidvalidity, st->uidnext,
		   (unsigned long long)st->highest, (unsigned long long)st->base);
	for (unsigned i = 0; i < st->nkw; i++)
		buf_printf(out, "k %s\n", st->kw[i]);
	for (size_t i = 0; i < st->nmsgs; i++) {
		const struct modseq_msg *m = &st->msgs[i];
		char line[96], *e = line;
		*e++ = 'm';
		e = put_num(e, m->uid, 10);
		e = put_num(e, m->flags, 10);
		e = put_num(e, m->kw, 16);
		e = put_num(e, m->modseq, 10);
		e = put_num(e, m->saved, 10);
		*e++ = '\n';
		buf_append(out, line, (size_t)(e - line));
	}
	for (size_t i = 0; i < st->ngone; i++)
		buf_printf(out, "g %u %u %llu\n", st->gone[i].lo, st->gone[i].hi,
			   (unsigned long long)st->gone[i].modseq);
	buf_printf(out, "p %s\n", mbox);
	buf_printf(out, "s %llu\n", (unsigned long long)modseq_sum(out->data + start,
								      out->len - start));
}

void modseq_free(struct modseq_state *st)
{
	for (unsigned i = 0; i < st->nkw; i++)
		free(st->kw[i]);
	free(st->msgs);
	free(st->gone);
	memset(st, 0, sizeof *st);
}

/* Index of the first of n elements of size bytes at base (ascending by
 * the 32-bit key at offset in each) whose key is >= key; n when none. */
static size_t lower_bound(const void *base, size_t n, size_t size, size_t offset, uint32_t key)
{
	size_t lo = 0, hi = n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		uint32_t k;
		memcpy(&k, (const char *)base + mid * size + offset, sizeof k);
		if (k < key)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* Index of the first record with a UID >= uid. */
static size_t msg_pos(const struct modseq_state *st, uint32_t uid)
{
	return lower_bound(st->msgs, st->nmsgs, sizeof *st->msgs,
			   offsetof(struct modseq_msg, uid), uid);
}

/* Index of the first expunge range ending at or after uid. */
static size_t gone_pos(const struct modseq_state *st, uint32_t uid)
{
	return lower_bound(st->gone, st->ngone, sizeof *st->gone,
			   offsetof(struct modseq_gone, hi), uid);
}

struct modseq_msg *modseq_find(const struct modseq_state *st, uint32_t uid)
{
	size_t i = msg_pos(st, uid);

	return i < st->nmsgs && st->msgs[i].uid == uid ? &st->msgs[i] : NULL;
}

struct modseq_msg *modseq_insert(struct modseq_state *st, uint32_t uid)
{
	size_t i = msg_pos(st, uid);

	if (st->nmsgs == st->capmsgs) {
		st->capmsgs = st->capmsgs ? st->capmsgs * 2 : 64;
		st->msgs = xrealloc(st->msgs, st->capmsgs * sizeof *st->msgs);
	}
	memmove(st->msgs + i + 1, st->msgs + i, (st->nmsgs - i) * sizeof *st->msgs);
	st->nmsgs++;
	st->msgs[i] = (struct modseq_msg){.uid = uid};
	return &st->msgs[i];
}

/* The range holding uid, or NULL. */
static const struct modseq_gone *gone_range(const struct modseq_state *st, uint32_t uid)
{
	size_t i = gone_pos(st, uid);

	return i < st->ngone && st->gone[i].lo <= uid ? &st->gone[i] : NULL;
}

uint64_t modseq_gone_at(const struct modseq_state *st, uint32_t uid)
{
	const struct modseq_gone *g = gone_range(st, uid);

	return g ? g->modseq : st->base;
}

int modseq_is_gone(const struct modseq_state *st, uint32_t uid)
{
	return gone_range(st, uid) != NULL;
}

/* Halve the ranges by merging neighbours: a merged range holds live UIDs
 * between them (never asked about) and the later modseq of the two. */
static void gone_compact(struct modseq_state *st)
{
	size_t k = 0;

	for (size_t i = 0; i < st->ngone; i += 2, k++) {
		struct modseq_gone g = st->gone[i];
		if (i + 1 < st->ngone) {
			g.hi = st->gone[i + 1].hi;
			if (st->gone[i + 1].modseq > g.modseq)
				g.modseq = st->gone[i + 1].modseq;
		}
		st->gone[k] = g;
	}
	st->ngone = k;
}

void modseq_gone_add(struct modseq_state *st, uint32_t uid, uint64_t modseq)
{
	size_t i = gone_pos(st, uid);

	if (i < st->ngone && st->gone[i].lo <= uid) {
		/* inside a merged range (which spans live UIDs): the range now
		 * answers with this later expunge */
		if (st->gone[i].modseq < modseq)
			st->gone[i].modseq = modseq;
		return;
	}
	/* the neighbour below with the same modseq grows (one expunge of many) */
	if (i > 0 && st->gone[i - 1].hi + 1 == uid && st->gone[i - 1].modseq == modseq) {
		st->gone[i - 1].hi = uid;
		return;
	}
	if (st->ngone == st->capgone) {
		st->capgone = st->capgone ? st->capgone * 2 : 16;
		st->gone = xrealloc(st->gone, st->capgone * sizeof *st->gone);
	}
	memmove(st->gone + i + 1, st->gone + i, (st->ngone - i) * sizeof *st->gone);
	st->gone[i] = (struct modseq_gone){uid, uid, modseq};
	st->ngone++;
	if (st->ngone > MODSEQ_GONE_MAX)
		gone_compact(st);
}

int modseq_kw_index(struct modseq_state *st, const char *name)
{
	for (unsigned i = 0; i < st->nkw; i++)
		if (!strcmp(st->kw[i], name))
			return (int)i;
	if (st->nkw >= MODSEQ_KW_MAX || !*name || strpbrk(name, " \n"))
		return -1;
	st->kw[st->nkw] = xstrdup(name);
	return (int)st->nkw++;
}
