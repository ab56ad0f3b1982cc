/* mutf7.c: modified UTF-7 (RFC 3501 5.1.3) to and from UTF-8. Both
 * directions refuse what the other could not give back unchanged (stray
 * bits, two runs in a row), so a name has one spelling in each form. */
#include "mutf7.h"
#include "util.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+,";

/* The 6-bit value of a modified base64 character, -1 for another. */
static int b64_value(char c)
{
	const char *p = c ? strchr(b64, c) : NULL;

	return p ? (int)(p - b64) : -1;
}

/* The text of b as a malloc'd string (terminated even when empty). */
static char *finish(struct buf *b)
{
	buf_putc(b, '\0');
	return buf_steal(b);
}

/* Printable US-ASCII: what stands for itself in modified UTF-7. */
static int printable(uint32_t c)
{
	return c >= 0x20 && c <= 0x7e;
}

/* Append code point c as UTF-8. */
static void put_utf8(struct buf *out, uint32_t c)
{
	if (c < 0x80) {
		buf_putc(out, (char)c);
	} else if (c < 0x800) {
		buf_putc(out, (char)(0xc0 | c >> 6));
		buf_putc(out, (char)(0x80 | (c & 0x3f)));
	} else if (c < 0x10000) {
		buf_putc(out, (char)(0xe0 | c >> 12));
		buf_putc(out, (char)(0x80 | (c >> 6 & 0x3f)));
		buf_putc(out, (char)(0x80 | (c & 0x3f)));
	} else {
		buf_putc(out, (char)(0xf0 | c >> 18));
		buf_putc(out, (char)(0x80 | (c >> 12 & 0x3f)));
		buf_putc(out, (char)(0x80 | (c >> 6 & 0x3f)));
		buf_putc(out, (char)(0x80 | (c & 0x3f)));
	}
}

/* One base64 run s[0..n) (between "&" and "-") as UTF-8; -1 if it is not
 * well-formed UTF-16 of non-printable characters with no stray bits. */
static int run_decode(const char *s, size_t n, struct buf *out)
{
	uint32_t bits = 0, high = 0;
	int nbits = 0;

	for (size_t i = 0; i < n; i++) {
		int v = b64_value(s[i]);
		if (v < 0)
			return -1;
		bits = (bits << 6 | (uint32_t)v) & 0xffffff;
		if ((nbits += 6) < 16)
			continue;
		nbits -= 16;
		uint32_t u = bits >> nbits & 0xffff;
		if (high) {
			if (u < 0xdc00 || u > 0xdfff)
				return -1;
			put_utf8(out, 0x10000 + ((high - 0xd800) << 10) + (u - 0xdc00));
			high = 0;
		} else if (u >= 0xd800 && u <= 0xdbff) {
			high = u;
		} else if ((u >= 0xdc00 && u <= 0xdfff) || printable(u) || u == 0) {
			return -1;
		} else {
			put_utf8(out, u);
		}
	}
	/* what is left is padding: fewer than 6 bits, all zero */
	return high || nbits >= 6 || (bits & ((1u << nbits) - 1)) ? -1 : 0;
}

/* Decode into out; 0, or -1 if invalid. */
static int decode(const char *s, size_t len, struct buf *out)
{
	size_t run_end = 0;   /* index after the last run's "-" */

	for (size_t i = 0; i < len; i++) {
		if (!printable((unsigned char)s[i]))
			return -1;
		if (s[i] != '&') {
			buf_putc(out, s[i]);
			continue;
		}
		const char *end = memchr(s + i + 1, '-', len - i - 1);
		if (!end)
			return -1;
		size_t n = (size_t)(end - s - i - 1);
		if (n == 0) {
			buf_putc(out, '&');
		} else {
			/* two runs in a row would be a second spelling of one */
			if ((i && run_end == i) || run_decode(s + i + 1, n, out) < 0)
				return -1;
			run_end = i + n + 2;
		}
		i += n + 1;
	}
	return 0;
}

int mutf7_valid(const char *s, size_t len)
{
	char *u = mutf7_to_utf8(s, len);

	free(u);
	return u != NULL;
}

char *mutf7_to_utf8(const char *s, size_t len)
{
	struct buf b;

	buf_init(&b);
	if (decode(s, len, &b) < 0) {
		buf_free(&b);
		return NULL;
	}
	return finish(&b);
}

/* The next code point of UTF-8 s[*i..len), strictly; -1 if malformed. */
static int64_t next_utf8(const unsigned char *s, size_t len, size_t *i)
{
	static const uint32_t min[] = {0, 0, 0x80, 0x800, 0x10000};
	unsigned char c = s[(*i)++];
	int n = c < 0x80 ? 1 : (c & 0xe0) == 0xc0 ? 2 : (c & 0xf0) == 0xe0 ? 3 :
		(c & 0xf8) == 0xf0 ? 4 : 0;
	uint32_t cp = n == 1 ? c : n == 2 ? c & 0x1f : n == 3 ? c & 0x0f : c & 0x07;

	if (!n || *i + (size_t)n - 1 > len)
		return -1;
	for (int k = 1; k < n; k++) {
		if ((s[*i] & 0xc0) != 0x80)
			return -1;
		cp = cp << 6 | (s[(*i)++] & 0x3f);
	}
	if (cp < min[n] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff) || cp == 0)
		return -1;
	return cp;
}

/* Close a base64 run: the bits left, padded with zeros, and "-". */
static void run_end(struct buf *out, uint32_t bits, int nbits)
{
	if (nbits)
		buf_putc(out, b64[bits << (6 - nbits) & 0x3f]);
	buf_putc(out, '-');
}

/* Add a 16-bit unit to the run. */
static void run_unit(struct buf *out, uint32_t *bits, int *nbits, uint32_t u)
{
	*bits = (*bits << 16 | u) & 0xffffff;
	for (*nbits += 16; *nbits >= 6; *nbits -= 6)
		buf_putc(out, b64[*bits >> (*nbits - 6) & 0x3f]);
}

char *mutf7_from_utf8(const char *s, size_t len)
{
	const unsigned char *u = (const unsigned char *)s;
	struct buf b;
	uint32_t bits = 0;
	int nbits = 0, in_run = 0;

	buf_init(&b);
	for (size_t i = 0; i < len;) {
		int64_t cp = next_utf8(u, len, &i);
		if (cp < 0) {
			buf_free(&b);
			return NULL;
		}
		if (printable((uint32_t)cp)) {
			if (in_run)
				run_end(&b, bits, nbits);
			in_run = nbits = 0;
			bits = 0;
			buf_puts(&b, cp == '&' ? "&-" : (char[]){(char)cp, 0});
			continue;
		}
		if (!in_run)
			buf_putc(&b, '&');
		in_run = 1;
		if (cp >= 0x10000) {
			run_unit(&b, &bits, &nbits, 0xd800 + (uint32_t)((cp - 0x10000) >> 10));
			run_unit(&b, &bits, &nbits, 0xdc00 + (uint32_t)((cp - 0x10000) & 0x3ff));
		} else {
			run_unit(&b, &bits, &nbits, (uint32_t)cp);
		}
	}
	if (in_run)
		run_end(&b, bits, nbits);
	return finish(&b);
}
