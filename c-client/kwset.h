/* kwset.h: the set of keywords one message carries, as indices into its
 * mailbox's keyword names. One 64-bit word holds indices 0..62 inline; a
 * message with a higher index gets an overflow array, so the common case
 * costs no memory beyond the word and no allocation. */
#ifndef KWSET_H
#define KWSET_H

#include <stdint.h>

/* Low bit clear: bit i+1 is keyword i (i < KWSET_INLINE). Low bit set: the
 * word minus one points at a struct kwset_ext holding the whole set. Kept
 * normalised: the overflow exists only while an index >= KWSET_INLINE is
 * set, so two equal sets of inline indices are equal words. */
struct kwset {
	uint64_t w;
};

#define KWSET_INLINE 63

/* An empty set (no release needed while it stays inline). */
#define KWSET_EMPTY ((struct kwset){0})

/* Is keyword i in the set? */
int kwset_test(const struct kwset *s, unsigned i);
/* Add keyword i. (Memory for an overflow comes from xcalloc: running out
 * is fatal, as for every other allocation of the library.) */
void kwset_set(struct kwset *s, unsigned i);
/* Remove keyword i. */
void kwset_clear(struct kwset *s, unsigned i);
/* The lowest index >= from in the set, or -1. */
int kwset_next(const struct kwset *s, unsigned from);
/* dst |= src. */
void kwset_union(struct kwset *dst, const struct kwset *src);
/* dst &= ~src. */
void kwset_minus(struct kwset *dst, const struct kwset *src);
/* dst = a ^ b (the indices that differ). */
void kwset_xor(struct kwset *dst, const struct kwset *a, const struct kwset *b);
/* Is the set empty? */
int kwset_empty(const struct kwset *s);
/* How many indices the set holds. */
unsigned kwset_count(const struct kwset *s);
/* Indices 0..63 as a mask (formats whose names fit in 64 bits). */
uint64_t kwset_low(const struct kwset *s);
/* dst = the set of mask's bits (dst's old contents released). */
void kwset_from_low(struct kwset *dst, uint64_t mask);

/* The overflow cases of the three below (kwset.c). */
int kwset_equal_ext(const struct kwset *a, const struct kwset *b);
void kwset_copy_ext(struct kwset *dst, const struct kwset *src);
void kwset_free_ext(struct kwset *s);

/* Inline because opening a mailbox calls them a few times per message and
 * nearly every set is one word: a call each cost a fifth of a reopen. */

/* Do a and b hold the same indices? */
static inline int kwset_equal(const struct kwset *a, const struct kwset *b)
{
	if (!(a->w & b->w & 1))
		return a->w == b->w;    /* normalised: inline only equals inline */
	return kwset_equal_ext(a, b);
}

/* dst = src (dst's old contents released). */
static inline void kwset_copy(struct kwset *dst, const struct kwset *src)
{
	if ((dst->w | src->w) & 1)
		kwset_copy_ext(dst, src);
	else
		dst->w = src->w;
}

/* Release the overflow; the set is empty afterwards. */
static inline void kwset_free(struct kwset *s)
{
	if (s->w & 1)
		kwset_free_ext(s);
	s->w = 0;
}

#endif
