/* casemap.h: Unicode simple case folding for case-insensitive search
 * (the folding half of i;unicode-casemap, RFC 5051, without decomposition),
 * a forgiving UTF-8 decoder that never fails on bad bytes, and a fast folded
 * substring search. */
#ifndef CCLIENT_CASEMAP_H
#define CCLIENT_CASEMAP_H

#include <stddef.h>
#include <stdint.h>

#include "util.h"

/* Code points above this never change under casemap_fold. */
#define CASEMAP_MAX 0x1E921

/* The case-folded form of code point c (c itself when it has none). */
uint32_t casemap_fold(uint32_t c);

/* The code points that fold to a (a itself included when fold(a) == a).
 * Writes at most max of them to out; returns how many there are. */
size_t casemap_preimages(uint32_t a, uint32_t *out, size_t max);

/* Invalid UTF-8 bytes decode to this plus the byte value: lone surrogates,
 * which valid UTF-8 can never produce, so a bad byte only equals itself. */
#define CASEMAP_BADBYTE 0xDC00u

/* Decode one code point from p (p < end). Sets *adv to the bytes used (>= 1). */
uint32_t casemap_decode(const unsigned char *p, const unsigned char *end, size_t *adv);

/* Encode c as UTF-8 into o (room for 4); a CASEMAP_BADBYTE code point
 * becomes its original byte again. Returns the bytes written. */
size_t casemap_encode(uint32_t c, unsigned char *o);

/* Case-insensitive substring search. */
#define CASEMAP_STREAMS 4

/* A folded search string. Matching anchors on one of its characters, the one
 * whose encodings' last bytes look rarest, and scans for those bytes with
 * memchr; the rest of the needle is then checked forwards and backwards. */
struct casemap_needle {
	uint32_t *cp;             /* folded code points */
	size_t n;
	size_t anchor;            /* index into cp; n: no anchor, brute force */
	int nenc;                 /* encodings of the characters folding to cp[anchor] */
	unsigned char enc[CASEMAP_STREAMS][4];
	unsigned char enclen[CASEMAP_STREAMS];
	unsigned char last[CASEMAP_STREAMS];  /* distinct last bytes to scan for */
	int nlast;
};

/* Fold s (UTF-8, NUL-terminated) into nd, allocating in pool. */
void casemap_needle_init(struct pool *pool, const char *s, struct casemap_needle *nd);
/* Does (hay, len), as folded UTF-8, contain the needle? An empty needle is
 * found everywhere; a match never starts or ends inside a character. */
int casemap_find(const struct casemap_needle *nd, const char *hay, size_t len);

#endif
