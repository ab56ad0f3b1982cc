/* casemap.h: Unicode simple case folding for case-insensitive search
 * (the folding half of i;unicode-casemap, RFC 5051, without decomposition),
 * plus a forgiving UTF-8 decoder that never fails on bad bytes. */
#ifndef CCLIENT_CASEMAP_H
#define CCLIENT_CASEMAP_H

#include <stddef.h>
#include <stdint.h>

/* Code points above this never change under casemap_fold. */
#define CASEMAP_MAX 0x1E921

/* The case-folded form of code point c (c itself when it has none). */
uint32_t casemap_fold(uint32_t c);

/* Invalid UTF-8 bytes decode to this plus the byte value: lone surrogates,
 * which valid UTF-8 can never produce, so a bad byte only equals itself. */
#define CASEMAP_BADBYTE 0xDC00u

/* Decode one code point from p (p < end). Sets *adv to the bytes used (>= 1). */
uint32_t casemap_decode(const unsigned char *p, const unsigned char *end, size_t *adv);

#endif
