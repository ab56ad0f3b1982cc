/* test-linescan.c: the line scans the parsers lean on (MIME boundaries, mbox
 * quoting) and the encoded-word probe, each against its one-line definition
 * on many generated buffers: memchr jumps, the vector scan and the switch
 * between them must all give the definition's answer. */
#include "linescan.h"
#include "rfc822_api.h"
#include "test.h"

#include <stdint.h>
#include <string.h>

/* A small deterministic generator (xorshift), so a failure reproduces. */
static uint32_t rnd_state = 2463534242u;

static uint32_t rnd(void)
{
	rnd_state ^= rnd_state << 13;
	rnd_state ^= rnd_state >> 17;
	rnd_state ^= rnd_state << 5;
	return rnd_state;
}

/* linescan_next's definition, byte by byte. */
static size_t slow_next(const char *p, size_t from, size_t len, char a, char b)
{
	for (size_t i = from + 1; i + 1 < len; i++)
		if (p[i - 1] == '\n' && p[i] == a && p[i + 1] == b)
			return i;
	return len;
}

/* linescan_first's definition, byte by byte. */
static size_t slow_first(const char *p, size_t from, size_t len, char a, char a2)
{
	for (size_t i = from + 1; i < len; i++)
		if (p[i - 1] == '\n' && (p[i] == a || p[i] == a2))
			return i;
	return len;
}

/* Fill p with n bytes drawn from alphabet (weighted by repetition). */
static void fill(char *p, size_t n, const char *alphabet)
{
	size_t k = strlen(alphabet);

	for (size_t i = 0; i < n; i++)
		p[i] = alphabet[rnd() % k];
}

/* Every start offset of buffers rich in '-' (the scan takes over), poor in
 * it (memchr jumps over long runs) and in between, at many lengths. */
static void test_next_and_first_match_definition(void)
{
	static const char *alphabets[] = {
		"--\n", "-\naaaaaaaa", "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnop\n",
		"abcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyz0123456789+/\n-",
		"F>\nFrom -", "word-word--\n\r",
	};
	char buf[4096];
	int bad = 0;

	for (int round = 0; round < 400; round++) {
		const char *alpha = alphabets[round % (sizeof alphabets / sizeof *alphabets)];
		size_t len = 1 + rnd() % sizeof buf;
		fill(buf, len, alpha);
		for (size_t from = 0; from < len; from += 1 + rnd() % 97) {
			if (linescan_next(buf, from, len, '-', '-') != slow_next(buf, from, len, '-', '-'))
				bad++;
			if (linescan_first(buf, from, len, 'F', '>') !=
			    slow_first(buf, from, len, 'F', '>'))
				bad++;
		}
	}
	CHECK(bad == 0);
}

/* Runs of thousands of bytes without the byte, then a boundary at the very
 * end, and one cut short by the end of the buffer. */
static void test_next_at_edges(void)
{
	char buf[9000];

	memset(buf, 'Q', sizeof buf);
	for (size_t i = 76; i < sizeof buf; i += 77)
		buf[i] = '\n';
	memcpy(buf + 77 * 100, "--b\n", 4);
	CHECK(linescan_next(buf, 0, sizeof buf, '-', '-') == 77 * 100);
	CHECK(linescan_next(buf, 77 * 100, sizeof buf, '-', '-') == sizeof buf);
	/* "-" alone on the last byte: no room for the second */
	CHECK(linescan_next(buf, 0, 77 * 100 + 1, '-', '-') == 77 * 100 + 1);
	/* many single hyphens after line ends: misses, then a real one far on */
	for (size_t i = 77; i < 77 * 90; i += 77)
		buf[i] = '-';
	CHECK(linescan_next(buf, 0, sizeof buf, '-', '-') == 77 * 100);
}

/* linescan_count against its definition, at every alignment the buffer's
 * start and end can take (the vector steps of 16 bytes, then the tail),
 * with the byte rare, common and absent; and a count past 255 steps of 16
 * (a lane's counter is one byte). */
static void test_count_matches_definition(void)
{
	static const char *alphabets[] = {
		"zZ", "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ \n",
		"abcdefghijklmnopqrstuvwxy \n", "\n", "\x80\xff\xc3\xa9z",
	};
	static char buf[12000];
	int bad = 0;

	for (int round = 0; round < 600; round++) {
		const char *alpha = alphabets[round % (sizeof alphabets / sizeof *alphabets)];
		size_t len = round < 200 ? (size_t)round : rnd() % sizeof buf;
		size_t start = rnd() % 17;
		if (start > len)
			start = len;
		fill(buf, len, alpha);
		const char *p = buf + start;
		size_t n = len - start, count = 0, zs = 0;
		for (size_t i = 0; i < n; i++) {
			count += p[i] == '\n';
			zs += p[i] == 'z';
		}
		bad += linescan_count(p, n, '\n') != count;
		bad += linescan_count(p, n, 'z') != zs;
	}
	CHECK(bad == 0);
	memset(buf, '\n', sizeof buf);
	CHECK(linescan_count(buf, sizeof buf, '\n') == sizeof buf);
	CHECK(linescan_count(buf, 16 * 255 + 15, '\n') == 16 * 255 + 15);
	buf[sizeof buf - 1] = 'Z';
	CHECK(linescan_count(buf, sizeof buf, '\n') == sizeof buf - 1);
	CHECK(linescan_count(buf, 0, '\n') == 0);
}

/* rfc2047_present is memmem(s, n, "=?", 2) != NULL. */
static void test_encoded_word_probe(void)
{
	char buf[512];
	int bad = 0;

	for (int round = 0; round < 2000; round++) {
		size_t len = rnd() % sizeof buf;
		fill(buf, len, "==??abc \n");
		if (rfc2047_present(buf, len) != (memmem(buf, len, "=?", 2) != NULL))
			bad++;
	}
	CHECK(bad == 0);
	CHECK(!rfc2047_present("a=", 2));
	CHECK(!rfc2047_present("=?", 1));
	CHECK(rfc2047_present("x =?utf-8?q?a?=", 15));
}

int main(void)
{
	RUN(test_next_and_first_match_definition);
	RUN(test_next_at_edges);
	RUN(test_encoded_word_probe);
	RUN(test_count_matches_definition);
	return test_summary("test-linescan");
}
