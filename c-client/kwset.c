/* kwset.c: keyword sets of one word inline, with an overflow array only for
 * messages that carry a keyword index of 63 or more (kwset.h). */
#include "kwset.h"
#include "util.h"

#include <stdlib.h>
#include <string.h>

/* The overflow: the whole set, index i at words[i / 64] bit i % 64. */
struct kwset_ext {
	unsigned nwords;
	uint64_t words[];
};

/* The overflow of s, or NULL while s is inline. */
static struct kwset_ext *ext_of(const struct kwset *s)
{
	return (s->w & 1) ? (struct kwset_ext *)(uintptr_t)(s->w - 1) : NULL;
}

/* Word k of s's whole-set layout (0 beyond its end). */
static uint64_t word_of(const struct kwset *s, unsigned k)
{
	const struct kwset_ext *x = ext_of(s);
	if (x)
		return k < x->nwords ? x->words[k] : 0;
	if (k > 0)
		return 0;
	return s->w >> 1;
}

/* Words s spans in the whole-set layout. */
static unsigned nwords_of(const struct kwset *s)
{
	const struct kwset_ext *x = ext_of(s);
	return x ? x->nwords : 1;
}

/* Back to one inline word when nothing at or above KWSET_INLINE is left. */
static void normalise(struct kwset *s)
{
	struct kwset_ext *x = ext_of(s);
	if (!x)
		return;
	if (x->words[0] >> KWSET_INLINE)
		return;
	for (unsigned k = 1; k < x->nwords; k++)
		if (x->words[k])
			return;
	s->w = x->words[0] << 1;
	free(x);
}

/* Make s an overflow of at least n words. */
static void widen(struct kwset *s, unsigned n)
{
	struct kwset_ext *x = ext_of(s);
	if (x && x->nwords >= n)
		return;
	struct kwset_ext *y = xcalloc(1, sizeof *y + (size_t)n * sizeof y->words[0]);
	y->nwords = n;
	for (unsigned k = 0; k < n && k < nwords_of(s); k++)
		y->words[k] = word_of(s, k);
	free(x);
	s->w = (uint64_t)(uintptr_t)y | 1;
}

int kwset_test(const struct kwset *s, unsigned i)
{
	return (int)(word_of(s, i / 64) >> (i % 64) & 1);
}

void kwset_set(struct kwset *s, unsigned i)
{
	if (!ext_of(s) && i < KWSET_INLINE) {
		s->w |= (uint64_t)1 << (i + 1);
		return;
	}
	widen(s, i / 64 + 1);
	ext_of(s)->words[i / 64] |= (uint64_t)1 << (i % 64);
}

void kwset_clear(struct kwset *s, unsigned i)
{
	struct kwset_ext *x = ext_of(s);
	if (!x) {
		if (i < KWSET_INLINE)
			s->w &= ~((uint64_t)1 << (i + 1));
		return;
	}
	if (i / 64 < x->nwords)
		x->words[i / 64] &= ~((uint64_t)1 << (i % 64));
	normalise(s);
}

int kwset_next(const struct kwset *s, unsigned from)
{
	unsigned n = nwords_of(s);
	for (unsigned k = from / 64; k < n; k++) {
		uint64_t w = word_of(s, k);
		if (k == from / 64)
			w &= ~(uint64_t)0 << (from % 64);
		if (w)
			return (int)(k * 64 + (unsigned)__builtin_ctzll(w));
	}
	return -1;
}

int kwset_equal_ext(const struct kwset *a, const struct kwset *b)
{
	unsigned n = nwords_of(a) > nwords_of(b) ? nwords_of(a) : nwords_of(b);
	for (unsigned k = 0; k < n; k++)
		if (word_of(a, k) != word_of(b, k))
			return 0;
	return 1;
}

/* dst = combine(dst, src) word by word: op 0 or, 1 and-not, 2 xor. */
static void combine(struct kwset *dst, const struct kwset *src, int op)
{
	if (!ext_of(dst) && !ext_of(src)) {
		dst->w = op == 0 ? dst->w | src->w : op == 1 ? dst->w & ~src->w : dst->w ^ src->w;
		return;
	}
	if (op == 1 && !ext_of(dst)) {
		dst->w &= ~(word_of(src, 0) << 1);
		return;
	}
	if (op != 1)
		widen(dst, nwords_of(src));
	struct kwset_ext *x = ext_of(dst);
	for (unsigned k = 0; k < x->nwords; k++) {
		uint64_t v = word_of(src, k);
		x->words[k] = op == 0 ? x->words[k] | v : op == 1 ? x->words[k] & ~v : x->words[k] ^ v;
	}
	normalise(dst);
}

void kwset_union(struct kwset *dst, const struct kwset *src)
{
	combine(dst, src, 0);
}

void kwset_minus(struct kwset *dst, const struct kwset *src)
{
	combine(dst, src, 1);
}

void kwset_xor(struct kwset *dst, const struct kwset *a, const struct kwset *b)
{
	struct kwset t = KWSET_EMPTY;
	kwset_copy(&t, a);
	combine(&t, b, 2);
	kwset_free(dst);
	*dst = t;
}

void kwset_copy_ext(struct kwset *dst, const struct kwset *src)
{
	if (dst == src)
		return;
	struct kwset t = KWSET_EMPTY;
	if (ext_of(src)) {
		widen(&t, nwords_of(src));
		memcpy(ext_of(&t)->words, ext_of(src)->words, nwords_of(src) * sizeof(uint64_t));
	} else {
		t.w = src->w;
	}
	kwset_free(dst);
	*dst = t;
}

void kwset_free_ext(struct kwset *s)
{
	free(ext_of(s));
	s->w = 0;
}

int kwset_empty(const struct kwset *s)
{
	return s->w == 0;   /* normalised: an overflow always holds a bit */
}

unsigned kwset_count(const struct kwset *s)
{
	unsigned n = 0;
	for (unsigned k = 0; k < nwords_of(s); k++)
		n += (unsigned)__builtin_popcountll(word_of(s, k));
	return n;
}

uint64_t kwset_low(const struct kwset *s)
{
	const struct kwset_ext *x = ext_of(s);
	return x ? x->words[0] : s->w >> 1;
}

void kwset_from_low(struct kwset *dst, uint64_t mask)
{
	struct kwset t = {mask << 1};
	if (mask >> KWSET_INLINE)
		kwset_set(&t, KWSET_INLINE);
	kwset_free(dst);
	*dst = t;
}
