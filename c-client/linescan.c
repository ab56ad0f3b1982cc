/* linescan.c: the next line starting with given bytes, found by comparing
 * 16 bytes at a time (GCC/Clang vector extensions, no intrinsics) where a
 * memchr per line, or memmem, would stop far more often. */
#include "linescan.h"

#include <stdint.h>
#include <string.h>

typedef unsigned char v16 __attribute__((vector_size(16)));

/* 16 bytes from p, unaligned. */
static v16 load16(const char *p)
{
	v16 v;

	memcpy(&v, p, sizeof v);
	return v;
}

/* c in every lane. */
static v16 splat(char c)
{
	v16 v;

	memset(&v, (unsigned char)c, sizeof v);
	return v;
}

/* Is any lane of a comparison's result set? */
static int any16(v16 m)
{
	uint64_t x, y;

	memcpy(&x, &m, 8);
	memcpy(&y, (const char *)&m + 8, 8);
	return (x | y) != 0;
}

/* A line start at k + 1 (within len) whose first byte is a or a2, and,
 * when pair is set, whose second byte is b. */
static int match_at(const char *p, size_t len, size_t k, char a, char a2, int pair, char b)
{
	if (k + 1 >= len || p[k] != '\n' || (p[k + 1] != a && p[k + 1] != a2))
		return 0;
	return !pair || (k + 2 < len && p[k + 2] == b);
}

/* The first line start past from that match_at accepts, or len. */
/* Lanes of p[k..k+16) that are a line end followed by a or a2. */
static v16 starts16(const char *p, size_t k, v16 nl, v16 va, v16 va2)
{
	v16 next = load16(p + k + 1);

	return (v16)((load16(p + k) == nl) & ((next == va) | (next == va2)));
}

static size_t scan(const char *p, size_t from, size_t len, char a, char a2, int pair, char b)
{
	const v16 nl = splat('\n'), va = splat(a), va2 = splat(a2);
	size_t k = from;

	for (; k + 65 <= len; k += 64) {
		/* 64 bytes a test: candidates are rare, the loop is the cost */
		v16 m = starts16(p, k, nl, va, va2) | starts16(p, k + 16, nl, va, va2) |
			starts16(p, k + 32, nl, va, va2) | starts16(p, k + 48, nl, va, va2);
		if (!any16(m))
			continue;
		for (size_t j = k; j < k + 64; j++)
			if (match_at(p, len, j, a, a2, pair, b))
				return j + 1;
	}
	for (; k + 17 <= len; k += 16) {
		if (!any16(starts16(p, k, nl, va, va2)))
			continue;
		for (size_t j = k; j < k + 16; j++)
			if (match_at(p, len, j, a, a2, pair, b))
				return j + 1;
	}
	for (; k < len; k++)
		if (match_at(p, len, k, a, a2, pair, b))
			return k + 1;
	return len;
}

/* Lines starting with the pair a, b (MIME boundaries: "--"). Where a is
 * rare (base64 has no '-') memchr jumps to each one far faster than the
 * 16-byte scan; where it is common (hyphens in prose) the scan takes over
 * once the jumps get short. */
size_t linescan_next(const char *p, size_t from, size_t len, char a, char b)
{
	size_t s = from + 1, misses = 0;
	const char *q;

	while (s < len && (q = memchr(p + s, a, len - s))) {
		size_t i = (size_t)(q - p);
		if (p[i - 1] == '\n' && i + 1 < len && p[i + 1] == b)
			return i;
		s = i + 1;
		/* a jump costs a call: below ~64 bytes a jump, scanning is cheaper */
		if (++misses >= 8 && misses * 64 > s - from)
			return scan(p, i, len, a, a, 1, b);
	}
	return len;
}

/* Lines starting with a or a2 (mboxrd quoting: 'F', '>'). */
size_t linescan_first(const char *p, size_t from, size_t len, char a, char a2)
{
	return scan(p, from, len, a, a2, 0, 0);
}

/* How many bytes of p[0..n) are c. */
size_t linescan_count(const char *p, size_t n, char c)
{
	const v16 vc = splat(c);
	size_t k = 0, total = 0;

	while (k + 16 <= n) {
		/* a lane's count is a byte: add up at most 255 steps at a time */
		size_t steps = (n - k) / 16 > 255 ? 255 : (n - k) / 16;
		v16 acc = splat(0);

		for (size_t s = 0; s < steps; s++, k += 16)
			acc -= (v16)(load16(p + k) == vc);   /* a match is -1 */
		for (unsigned i = 0; i < 16; i++)
			total += ((const unsigned char *)&acc)[i];
	}
	for (; k < n; k++)
		total += p[k] == c;
	return total;
}
