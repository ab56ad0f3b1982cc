/* casemap.c: simple Unicode case folding from a compact range table, with a
 * lookup table for the two-byte UTF-8 range where search spends its time
 * (Latin, Greek, Cyrillic, Armenian), a UTF-8 decoder for haystacks, and the
 * case-insensitive substring search built on them. */
#include "casemap.h"

#include <string.h>

/* A run of code points folding the same way: every one (+delta), or only the
 * even or only the odd ones (+1, the usual upper/lower pairing). */
enum { R_ALL, R_EVEN, R_ODD };

struct fold_range {
	uint32_t lo, hi;
	int kind;
	int32_t delta;
};

/* Sorted, non-overlapping. Derived from the Unicode case folding data
 * (status C and S), checked against Unicode 14. U+0130 (I with dot) folds
 * to plain i here: the full mapping "i + combining dot" would never match
 * what a user types. */
static const struct fold_range ranges[] = {
	{ 0x41, 0x5A, R_ALL, 32 },
	{ 0xB5, 0xB5, R_ALL, 0x3BC - 0xB5 },
	{ 0xC0, 0xD6, R_ALL, 32 },
	{ 0xD8, 0xDE, R_ALL, 32 },
	{ 0x100, 0x12F, R_EVEN, 1 },
	{ 0x130, 0x130, R_ALL, 'i' - 0x130 },
	{ 0x132, 0x137, R_EVEN, 1 },
	{ 0x139, 0x148, R_ODD, 1 },
	{ 0x14A, 0x177, R_EVEN, 1 },
	{ 0x178, 0x178, R_ALL, 0xFF - 0x178 },
	{ 0x179, 0x17E, R_ODD, 1 },
	{ 0x17F, 0x17F, R_ALL, 's' - 0x17F },
	{ 0x181, 0x181, R_ALL, 0x253 - 0x181 },
	{ 0x182, 0x185, R_EVEN, 1 },
	{ 0x186, 0x186, R_ALL, 0x254 - 0x186 },
	{ 0x187, 0x187, R_ALL, 1 },
	{ 0x189, 0x18A, R_ALL, 0x256 - 0x189 },
	{ 0x18B, 0x18B, R_ALL, 1 },
	{ 0x18E, 0x18E, R_ALL, 0x1DD - 0x18E },
	{ 0x18F, 0x18F, R_ALL, 0x259 - 0x18F },
	{ 0x190, 0x190, R_ALL, 0x25B - 0x190 },
	{ 0x191, 0x191, R_ALL, 1 },
	{ 0x193, 0x193, R_ALL, 0x260 - 0x193 },
	{ 0x194, 0x194, R_ALL, 0x263 - 0x194 },
	{ 0x196, 0x196, R_ALL, 0x269 - 0x196 },
	{ 0x197, 0x197, R_ALL, 0x268 - 0x197 },
	{ 0x198, 0x198, R_ALL, 1 },
	{ 0x19C, 0x19C, R_ALL, 0x26F - 0x19C },
	{ 0x19D, 0x19D, R_ALL, 0x272 - 0x19D },
	{ 0x19F, 0x19F, R_ALL, 0x275 - 0x19F },
	{ 0x1A0, 0x1A5, R_EVEN, 1 },
	{ 0x1A6, 0x1A6, R_ALL, 0x280 - 0x1A6 },
	{ 0x1A7, 0x1A7, R_ALL, 1 },
	{ 0x1A9, 0x1A9, R_ALL, 0x283 - 0x1A9 },
	{ 0x1AC, 0x1AC, R_ALL, 1 },
	{ 0x1AE, 0x1AE, R_ALL, 0x288 - 0x1AE },
	{ 0x1AF, 0x1AF, R_ALL, 1 },
	{ 0x1B1, 0x1B2, R_ALL, 0x28A - 0x1B1 },
	{ 0x1B3, 0x1B5, R_ODD, 1 },
	{ 0x1B7, 0x1B7, R_ALL, 0x292 - 0x1B7 },
	{ 0x1B8, 0x1B8, R_ALL, 1 },
	{ 0x1BC, 0x1BC, R_ALL, 1 },
	{ 0x1C4, 0x1C4, R_ALL, 2 },
	{ 0x1C5, 0x1C5, R_ALL, 1 },
	{ 0x1C7, 0x1C7, R_ALL, 2 },
	{ 0x1C8, 0x1C8, R_ALL, 1 },
	{ 0x1CA, 0x1CA, R_ALL, 2 },
	{ 0x1CB, 0x1DC, R_ODD, 1 },
	{ 0x1DE, 0x1EF, R_EVEN, 1 },
	{ 0x1F1, 0x1F1, R_ALL, 2 },
	{ 0x1F2, 0x1F4, R_EVEN, 1 },
	{ 0x1F6, 0x1F6, R_ALL, 0x195 - 0x1F6 },
	{ 0x1F7, 0x1F7, R_ALL, 0x1BF - 0x1F7 },
	{ 0x1F8, 0x21F, R_EVEN, 1 },
	{ 0x220, 0x220, R_ALL, 0x19E - 0x220 },
	{ 0x222, 0x233, R_EVEN, 1 },
	{ 0x23A, 0x23A, R_ALL, 0x2C65 - 0x23A },
	{ 0x23B, 0x23B, R_ALL, 1 },
	{ 0x23D, 0x23D, R_ALL, 0x19A - 0x23D },
	{ 0x23E, 0x23E, R_ALL, 0x2C66 - 0x23E },
	{ 0x241, 0x241, R_ALL, 1 },
	{ 0x243, 0x243, R_ALL, 0x180 - 0x243 },
	{ 0x244, 0x244, R_ALL, 0x289 - 0x244 },
	{ 0x245, 0x245, R_ALL, 0x28C - 0x245 },
	{ 0x246, 0x24F, R_EVEN, 1 },
	{ 0x345, 0x345, R_ALL, 0x3B9 - 0x345 },
	{ 0x370, 0x373, R_EVEN, 1 },
	{ 0x376, 0x376, R_ALL, 1 },
	{ 0x37F, 0x37F, R_ALL, 0x3F3 - 0x37F },
	{ 0x386, 0x386, R_ALL, 0x3AC - 0x386 },
	{ 0x388, 0x38A, R_ALL, 37 },
	{ 0x38C, 0x38C, R_ALL, 0x3CC - 0x38C },
	{ 0x38E, 0x38F, R_ALL, 0x3CD - 0x38E },
	{ 0x391, 0x3A1, R_ALL, 32 },
	{ 0x3A3, 0x3AB, R_ALL, 32 },
	{ 0x3C2, 0x3C2, R_ALL, 1 },
	{ 0x3CF, 0x3CF, R_ALL, 0x3D7 - 0x3CF },
	{ 0x3D0, 0x3D0, R_ALL, 0x3B2 - 0x3D0 },
	{ 0x3D1, 0x3D1, R_ALL, 0x3B8 - 0x3D1 },
	{ 0x3D5, 0x3D5, R_ALL, 0x3C6 - 0x3D5 },
	{ 0x3D6, 0x3D6, R_ALL, 0x3C0 - 0x3D6 },
	{ 0x3D8, 0x3EF, R_EVEN, 1 },
	{ 0x3F0, 0x3F0, R_ALL, 0x3BA - 0x3F0 },
	{ 0x3F1, 0x3F1, R_ALL, 0x3C1 - 0x3F1 },
	{ 0x3F4, 0x3F4, R_ALL, 0x3B8 - 0x3F4 },
	{ 0x3F5, 0x3F5, R_ALL, 0x3B5 - 0x3F5 },
	{ 0x3F7, 0x3F7, R_ALL, 1 },
	{ 0x3F9, 0x3F9, R_ALL, 0x3F2 - 0x3F9 },
	{ 0x3FA, 0x3FA, R_ALL, 1 },
	{ 0x3FD, 0x3FF, R_ALL, 0x37B - 0x3FD },
	{ 0x400, 0x40F, R_ALL, 80 },
	{ 0x410, 0x42F, R_ALL, 32 },
	{ 0x460, 0x481, R_EVEN, 1 },
	{ 0x48A, 0x4BF, R_EVEN, 1 },
	{ 0x4C0, 0x4C0, R_ALL, 15 },
	{ 0x4C1, 0x4CE, R_ODD, 1 },
	{ 0x4D0, 0x52F, R_EVEN, 1 },
	{ 0x531, 0x556, R_ALL, 48 },
	{ 0x10A0, 0x10C5, R_ALL, 0x2D00 - 0x10A0 },
	{ 0x10C7, 0x10C7, R_ALL, 0x2D27 - 0x10C7 },
	{ 0x10CD, 0x10CD, R_ALL, 0x2D2D - 0x10CD },
	{ 0x13F8, 0x13FD, R_ALL, -8 },
	{ 0x1C80, 0x1C80, R_ALL, 0x432 - 0x1C80 },
	{ 0x1C81, 0x1C81, R_ALL, 0x434 - 0x1C81 },
	{ 0x1C82, 0x1C82, R_ALL, 0x43E - 0x1C82 },
	{ 0x1C83, 0x1C83, R_ALL, 0x441 - 0x1C83 },
	{ 0x1C84, 0x1C84, R_ALL, 0x442 - 0x1C84 },
	{ 0x1C85, 0x1C85, R_ALL, 0x442 - 0x1C85 },
	{ 0x1C86, 0x1C86, R_ALL, 0x44A - 0x1C86 },
	{ 0x1C87, 0x1C87, R_ALL, 0x463 - 0x1C87 },
	{ 0x1C88, 0x1C88, R_ALL, 0xA64B - 0x1C88 },
	{ 0x1C90, 0x1CBA, R_ALL, 0x10D0 - 0x1C90 },
	{ 0x1CBD, 0x1CBF, R_ALL, 0x10FD - 0x1CBD },
	{ 0x1E00, 0x1E95, R_EVEN, 1 },
	{ 0x1E9B, 0x1E9B, R_ALL, 0x1E61 - 0x1E9B },
	{ 0x1E9E, 0x1E9E, R_ALL, 0xDF - 0x1E9E },
	{ 0x1EA0, 0x1EFF, R_EVEN, 1 },
	{ 0x1F08, 0x1F0F, R_ALL, -8 },
	{ 0x1F18, 0x1F1D, R_ALL, -8 },
	{ 0x1F28, 0x1F2F, R_ALL, -8 },
	{ 0x1F38, 0x1F3F, R_ALL, -8 },
	{ 0x1F48, 0x1F4D, R_ALL, -8 },
	{ 0x1F59, 0x1F5F, R_ODD, -8 },
	{ 0x1F68, 0x1F6F, R_ALL, -8 },
	{ 0x1F88, 0x1F8F, R_ALL, -8 },
	{ 0x1F98, 0x1F9F, R_ALL, -8 },
	{ 0x1FA8, 0x1FAF, R_ALL, -8 },
	{ 0x1FB8, 0x1FB9, R_ALL, -8 },
	{ 0x1FBA, 0x1FBB, R_ALL, 0x1F70 - 0x1FBA },
	{ 0x1FBC, 0x1FBC, R_ALL, 0x1FB3 - 0x1FBC },
	{ 0x1FBE, 0x1FBE, R_ALL, 0x3B9 - 0x1FBE },
	{ 0x1FC8, 0x1FCB, R_ALL, 0x1F72 - 0x1FC8 },
	{ 0x1FCC, 0x1FCC, R_ALL, 0x1FC3 - 0x1FCC },
	{ 0x1FD8, 0x1FD9, R_ALL, -8 },
	{ 0x1FDA, 0x1FDB, R_ALL, 0x1F76 - 0x1FDA },
	{ 0x1FE8, 0x1FE9, R_ALL, -8 },
	{ 0x1FEA, 0x1FEB, R_ALL, 0x1F7A - 0x1FEA },
	{ 0x1FEC, 0x1FEC, R_ALL, 0x1FE5 - 0x1FEC },
	{ 0x1FF8, 0x1FF9, R_ALL, 0x1F78 - 0x1FF8 },
	{ 0x1FFA, 0x1FFB, R_ALL, 0x1F7C - 0x1FFA },
	{ 0x1FFC, 0x1FFC, R_ALL, 0x1FF3 - 0x1FFC },
	{ 0x2126, 0x2126, R_ALL, 0x3C9 - 0x2126 },
	{ 0x212A, 0x212A, R_ALL, 'k' - 0x212A },
	{ 0x212B, 0x212B, R_ALL, 0xE5 - 0x212B },
	{ 0x2132, 0x2132, R_ALL, 0x214E - 0x2132 },
	{ 0x2160, 0x216F, R_ALL, 16 },
	{ 0x2183, 0x2183, R_ALL, 1 },
	{ 0x24B6, 0x24CF, R_ALL, 26 },
	{ 0x2C00, 0x2C2F, R_ALL, 48 },
	{ 0x2C60, 0x2C60, R_ALL, 1 },
	{ 0x2C62, 0x2C62, R_ALL, 0x26B - 0x2C62 },
	{ 0x2C63, 0x2C63, R_ALL, 0x1D7D - 0x2C63 },
	{ 0x2C64, 0x2C64, R_ALL, 0x27D - 0x2C64 },
	{ 0x2C67, 0x2C6C, R_ODD, 1 },
	{ 0x2C6D, 0x2C6D, R_ALL, 0x251 - 0x2C6D },
	{ 0x2C6E, 0x2C6E, R_ALL, 0x271 - 0x2C6E },
	{ 0x2C6F, 0x2C6F, R_ALL, 0x250 - 0x2C6F },
	{ 0x2C70, 0x2C70, R_ALL, 0x252 - 0x2C70 },
	{ 0x2C72, 0x2C72, R_ALL, 1 },
	{ 0x2C75, 0x2C75, R_ALL, 1 },
	{ 0x2C7E, 0x2C7F, R_ALL, 0x23F - 0x2C7E },
	{ 0x2C80, 0x2CE3, R_EVEN, 1 },
	{ 0x2CEB, 0x2CED, R_ODD, 1 },
	{ 0x2CF2, 0x2CF2, R_ALL, 1 },
	{ 0xA640, 0xA66D, R_EVEN, 1 },
	{ 0xA680, 0xA69B, R_EVEN, 1 },
	{ 0xA722, 0xA72F, R_EVEN, 1 },
	{ 0xA732, 0xA76F, R_EVEN, 1 },
	{ 0xA779, 0xA77C, R_ODD, 1 },
	{ 0xA77D, 0xA77D, R_ALL, 0x1D79 - 0xA77D },
	{ 0xA77E, 0xA787, R_EVEN, 1 },
	{ 0xA78B, 0xA78B, R_ALL, 1 },
	{ 0xA78D, 0xA78D, R_ALL, 0x265 - 0xA78D },
	{ 0xA790, 0xA793, R_EVEN, 1 },
	{ 0xA796, 0xA7A9, R_EVEN, 1 },
	{ 0xA7AA, 0xA7AA, R_ALL, 0x266 - 0xA7AA },
	{ 0xA7AB, 0xA7AB, R_ALL, 0x25C - 0xA7AB },
	{ 0xA7AC, 0xA7AC, R_ALL, 0x261 - 0xA7AC },
	{ 0xA7AD, 0xA7AD, R_ALL, 0x26C - 0xA7AD },
	{ 0xA7AE, 0xA7AE, R_ALL, 0x26A - 0xA7AE },
	{ 0xA7B0, 0xA7B0, R_ALL, 0x29E - 0xA7B0 },
	{ 0xA7B1, 0xA7B1, R_ALL, 0x287 - 0xA7B1 },
	{ 0xA7B2, 0xA7B2, R_ALL, 0x29D - 0xA7B2 },
	{ 0xA7B3, 0xA7B3, R_ALL, 0xAB53 - 0xA7B3 },
	{ 0xA7B4, 0xA7C3, R_EVEN, 1 },
	{ 0xA7C4, 0xA7C4, R_ALL, 0xA794 - 0xA7C4 },
	{ 0xA7C5, 0xA7C5, R_ALL, 0x282 - 0xA7C5 },
	{ 0xA7C6, 0xA7C6, R_ALL, 0x1D8E - 0xA7C6 },
	{ 0xA7C7, 0xA7C9, R_ODD, 1 },
	{ 0xA7D0, 0xA7D0, R_ALL, 1 },
	{ 0xA7D6, 0xA7D8, R_EVEN, 1 },
	{ 0xA7F5, 0xA7F5, R_ALL, 1 },
	{ 0xAB70, 0xABBF, R_ALL, 0x13A0 - 0xAB70 },
	{ 0xFF21, 0xFF3A, R_ALL, 32 },
	{ 0x10400, 0x10427, R_ALL, 40 },
	{ 0x104B0, 0x104D3, R_ALL, 40 },
	{ 0x10570, 0x1057A, R_ALL, 39 },
	{ 0x1057C, 0x1058A, R_ALL, 39 },
	{ 0x1058C, 0x10592, R_ALL, 39 },
	{ 0x10594, 0x10595, R_ALL, 39 },
	{ 0x10C80, 0x10CB2, R_ALL, 64 },
	{ 0x118A0, 0x118BF, R_ALL, 32 },
	{ 0x16E40, 0x16E5F, R_ALL, 32 },
	{ 0x1E900, 0x1E921, R_ALL, 34 },
};

static uint32_t fold_slow(uint32_t c)
{
	size_t lo = 0, hi = sizeof ranges / sizeof ranges[0];

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (c < ranges[mid].lo)
			hi = mid;
		else if (c > ranges[mid].hi)
			lo = mid + 1;
		else {
			const struct fold_range *r = &ranges[mid];
			if ((r->kind == R_EVEN && (c & 1)) || (r->kind == R_ODD && !(c & 1)))
				return c;
			return (uint32_t)((int32_t)c + r->delta);
		}
	}
	return c;
}

/* Folds of U+0000..U+07FF, filled on first use. */
static uint16_t fold_low[0x800];
static int fold_low_ready;

static void fold_low_init(void)
{
	for (uint32_t c = 0; c < 0x800; c++)
		fold_low[c] = (uint16_t)fold_slow(c);
	fold_low_ready = 1;
}

uint32_t casemap_fold(uint32_t c)
{
	if (c < 0x800) {
		if (!fold_low_ready)
			fold_low_init();
		return fold_low[c];
	}
	if (c > CASEMAP_MAX)
		return c;
	return fold_slow(c);
}

size_t casemap_preimages(uint32_t a, uint32_t *out, size_t max)
{
	size_t n = 0;

	if (casemap_fold(a) == a && n++ < max)
		out[n - 1] = a;
	for (size_t i = 0; i < sizeof ranges / sizeof ranges[0]; i++) {
		const struct fold_range *r = &ranges[i];
		int64_t c = (int64_t)a - r->delta;

		if (c < r->lo || c > r->hi || c == a)
			continue;
		if ((r->kind == R_EVEN && (c & 1)) || (r->kind == R_ODD && !(c & 1)))
			continue;
		if (n++ < max)
			out[n - 1] = (uint32_t)c;
	}
	return n;
}

uint32_t casemap_decode(const unsigned char *p, const unsigned char *end, size_t *adv)
{
	unsigned c = p[0];
	size_t n = (size_t)(end - p);
	uint32_t cp;

	*adv = 1;
	if (c < 0x80)
		return c;
	if (c >= 0xC2 && c <= 0xDF && n >= 2 && (p[1] & 0xC0) == 0x80) {
		*adv = 2;
		return ((c & 0x1Fu) << 6) | (p[1] & 0x3Fu);
	}
	if (c >= 0xE0 && c <= 0xEF && n >= 3 && (p[1] & 0xC0) == 0x80 && (p[2] & 0xC0) == 0x80) {
		cp = ((c & 0x0Fu) << 12) | ((p[1] & 0x3Fu) << 6) | (p[2] & 0x3Fu);
		/* overlong forms and surrogates are not characters */
		if (cp >= 0x800 && (cp < 0xD800 || cp > 0xDFFF)) {
			*adv = 3;
			return cp;
		}
	} else if (c >= 0xF0 && c <= 0xF4 && n >= 4 && (p[1] & 0xC0) == 0x80 &&
		   (p[2] & 0xC0) == 0x80 && (p[3] & 0xC0) == 0x80) {
		cp = ((c & 0x07u) << 18) | ((p[1] & 0x3Fu) << 12) | ((p[2] & 0x3Fu) << 6) |
		     (p[3] & 0x3Fu);
		if (cp >= 0x10000 && cp <= 0x10FFFF) {
			*adv = 4;
			return cp;
		}
	}
	return CASEMAP_BADBYTE + c;
}

/* ---------- case-insensitive substring search ---------- */

size_t casemap_encode(uint32_t c, unsigned char *o)
{
	if (c >= CASEMAP_BADBYTE + 0x80 && c <= CASEMAP_BADBYTE + 0xFF) {
		o[0] = (unsigned char)(c - CASEMAP_BADBYTE);
		return 1;
	}
	if (c < 0x80) {
		o[0] = (unsigned char)c;
		return 1;
	}
	if (c < 0x800) {
		o[0] = (unsigned char)(0xC0 | c >> 6);
		o[1] = (unsigned char)(0x80 | (c & 0x3F));
		return 2;
	}
	if (c < 0x10000) {
		o[0] = (unsigned char)(0xE0 | c >> 12);
		o[1] = (unsigned char)(0x80 | (c >> 6 & 0x3F));
		o[2] = (unsigned char)(0x80 | (c & 0x3F));
		return 3;
	}
	o[0] = (unsigned char)(0xF0 | c >> 18);
	o[1] = (unsigned char)(0x80 | (c >> 12 & 0x3F));
	o[2] = (unsigned char)(0x80 | (c >> 6 & 0x3F));
	o[3] = (unsigned char)(0x80 | (c & 0x3F));
	return 4;
}

/* A rough guess at how often byte b occurs in mail text (English letter
 * frequencies per mille, capitals rarer), used only to choose the anchor. */
static unsigned byte_cost(unsigned char b)
{
	static const unsigned char letters[26] = {
		82, 15, 28, 43, 127, 22, 20, 61, 70, 2, 8, 40, 24,
		67, 75, 19, 1, 60, 63, 91, 28, 10, 24, 2, 20, 1,
	};

	if (b >= 'a' && b <= 'z')
		return letters[b - 'a'] + 1u;
	if (b >= 'A' && b <= 'Z')
		return letters[b - 'A'] / 8u + 1u;
	if (b == ' ')
		return 180;
	if (b == '\r' || b == '\n')
		return 40;
	if (b >= 0x80)
		return 20;
	if (b >= '0' && b <= '9')
		return 8;
	if (b == '.' || b == ',' || b == '-' || b == '=')
		return 15;
	return 4;
}

/* Try cp[j] as anchor: fill its encodings; the cost, or UINT32_MAX if unusable. */
static unsigned anchor_try(struct casemap_needle *nd, size_t j)
{
	uint32_t pre[CASEMAP_STREAMS];
	size_t np = casemap_preimages(nd->cp[j], pre, CASEMAP_STREAMS);
	unsigned cost = 0;

	if (np == 0 || np > CASEMAP_STREAMS)
		return UINT32_MAX;
	nd->nenc = (int)np;
	nd->nlast = 0;
	for (size_t k = 0; k < np; k++) {
		size_t l = casemap_encode(pre[k], nd->enc[k]);
		unsigned char last = nd->enc[k][l - 1];
		int dup = 0;

		nd->enclen[k] = (unsigned char)l;
		for (int m = 0; m < nd->nlast; m++)
			dup |= nd->last[m] == last;
		if (!dup) {
			nd->last[nd->nlast++] = last;
			cost += byte_cost(last);
		}
	}
	return cost;
}

void casemap_needle_init(struct pool *pool, const char *s, struct casemap_needle *nd)
{
	const unsigned char *p = (const unsigned char *)s, *end = p + strlen(s);
	unsigned best = UINT32_MAX;

	nd->cp = pool_alloc(pool, (size_t)(end - p + 1) * sizeof *nd->cp);
	nd->n = 0;
	while (p < end) {
		size_t adv;

		nd->cp[nd->n++] = casemap_fold(casemap_decode(p, end, &adv));
		p += adv;
	}
	nd->anchor = nd->n;
	for (size_t j = 0; j < nd->n; j++) {
		unsigned c = anchor_try(nd, j);

		if (c < best) {
			best = c;
			nd->anchor = j;
		}
	}
	if (nd->anchor < nd->n)
		anchor_try(nd, nd->anchor);
}

/* Do the folded characters of p.. begin with cp[0..n)? */
static int match_fwd(const unsigned char *p, const unsigned char *end, const uint32_t *cp,
		     size_t n)
{
	for (size_t j = 0; j < n; j++) {
		size_t adv;

		if (p >= end)
			return 0;
		if (*p < 0x80) {
			if (casemap_fold(*p) != cp[j])
				return 0;
			p++;
			continue;
		}
		if (casemap_fold(casemap_decode(p, end, &adv)) != cp[j])
			return 0;
		p += adv;
	}
	return 1;
}

/* The character that ends just before p (p > start); *adv: its length. */
static uint32_t decode_back(const unsigned char *start, const unsigned char *p, size_t *adv)
{
	for (size_t l = 2; l <= 4 && (size_t)(p - start) >= l; l++) {
		const unsigned char *t = p - l;
		uint32_t c;

		if ((t[0] & 0xC0) == 0x80)
			continue;
		c = casemap_decode(t, p, adv);
		if (*adv == l)
			return c;
		break;
	}
	*adv = 1;
	return p[-1] < 0x80 ? p[-1] : CASEMAP_BADBYTE + p[-1];
}

/* Do the folded characters just before p end with cp[0..n)? */
static int match_back(const unsigned char *start, const unsigned char *p, const uint32_t *cp,
		      size_t n)
{
	while (n > 0) {
		size_t adv;

		if (p <= start)
			return 0;
		if (casemap_fold(decode_back(start, p, &adv)) != cp[n - 1])
			return 0;
		p -= adv;
		n--;
	}
	return 1;
}

/* Does the byte at s (>= 0x80) decode as an invalid byte on its own: not
 * the start of a character, nor inside one that starts before it? Only an
 * anchor on an invalid byte (a needle with bad UTF-8) needs this. */
static int bad_byte_at(const unsigned char *h, const unsigned char *end, const unsigned char *s)
{
	size_t adv;

	casemap_decode(s, end, &adv);
	if (adv != 1)
		return 0;
	for (size_t k = 1; k <= 3 && (size_t)(s - h) >= k; k++) {
		const unsigned char *t = s - k;

		if ((*t & 0xC0) == 0x80)
			continue;
		casemap_decode(t, end, &adv);
		return adv <= k;
	}
	return 1;
}

/* Is there a match whose anchor character ends at q? */
static int anchor_at(const struct casemap_needle *nd, const unsigned char *h,
		     const unsigned char *end, const unsigned char *q)
{
	for (int k = 0; k < nd->nenc; k++) {
		size_t l = nd->enclen[k];
		const unsigned char *s;

		if (nd->enc[k][l - 1] != *q || (size_t)(q - h) + 1 < l)
			continue;
		s = q + 1 - l;
		if (memcmp(s, nd->enc[k], l))
			continue;
		if (l == 1 && *s >= 0x80 && !bad_byte_at(h, end, s))
			continue;
		if (match_fwd(q + 1, end, nd->cp + nd->anchor + 1, nd->n - nd->anchor - 1) &&
		    match_back(h, s, nd->cp, nd->anchor))
			return 1;
	}
	return 0;
}

int casemap_find(const struct casemap_needle *nd, const char *hay, size_t len)
{
	const unsigned char *h = (const unsigned char *)hay, *end;
	const unsigned char *next[CASEMAP_STREAMS];

	if (nd->n == 0)
		return 1;
	if (len == 0)
		return 0;   /* hay may be NULL then: an empty buffer's data */
	end = h + len;
	if (nd->anchor == nd->n) {
		for (const unsigned char *p = h; p < end; p++)
			if (match_fwd(p, end, nd->cp, nd->n))
				return 1;
		return 0;
	}
	for (int k = 0; k < nd->nlast; k++)
		next[k] = memchr(h, nd->last[k], len);
	for (;;) {
		int k = -1;

		for (int m = 0; m < nd->nlast; m++)
			if (next[m] && (k < 0 || next[m] < next[k]))
				k = m;
		if (k < 0)
			return 0;
		if (anchor_at(nd, h, end, next[k]))
			return 1;
		next[k] = memchr(next[k] + 1, nd->last[k], (size_t)(end - next[k] - 1));
	}
}
