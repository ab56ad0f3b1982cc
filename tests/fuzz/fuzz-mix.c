/* fuzz-mix.c: libFuzzer harness for the mix file parsers (mix.h). The
 * first byte picks the file (metadata, index, status, a data file's
 * message record), the rest is its text. What parses must be written back
 * by our formatter into text that parses to the same values and formats to
 * the same bytes again, and stay the same once padded for an in-place
 * rewrite. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mail_api.h"
#include "mix.h"

/* Abort unless a and b hold the same bytes. */
static void same(const struct buf *a, const struct buf *b)
{
	if (a->len != b->len || (a->len && memcmp(a->data, b->data, a->len)))
		abort();
}

/* The metadata: parse, format, parse the padded text, format again. */
static void meta(const char *p, size_t n)
{
	struct mix_meta a, b;
	struct buf fa, fb;
	const char *why = NULL;

	if (mix_meta_parse(p, n, &a, &why) < 0) {
		if (!why)
			abort();
		return;
	}
	buf_init(&fa);
	buf_init(&fb);
	mix_meta_format(&fa, &a);
	size_t len = fa.len;
	mix_pad(&fa, len + (unsigned char)(n ? p[0] : 0) % 7);
	if (mix_meta_parse(fa.data, fa.len, &b, &why) < 0)
		abort();
	fa.len = len;
	mix_meta_format(&fb, &b);
	same(&fa, &fb);
	if (a.validity != b.validity || a.last != b.last || a.nkw != b.nkw)
		abort();
	mix_meta_free(&a);
	mix_meta_free(&b);
	buf_free(&fa);
	buf_free(&fb);
}

/* The index: the same round trip, UIDs strictly rising. */
static void index_file(const char *p, size_t n)
{
	struct mix_index a, b;
	struct buf fa, fb;
	const char *why = NULL;

	if (mix_index_parse(p, n, &a, &why) < 0)
		return;
	for (size_t i = 1; i < a.n; i++)
		if (a.v[i].uid <= a.v[i - 1].uid)
			abort();
	buf_init(&fa);
	buf_init(&fb);
	mix_index_format(&fa, &a);
	if (mix_index_parse(fa.data, fa.len, &b, &why) < 0 || b.n != a.n)
		abort();
	mix_index_format(&fb, &b);
	same(&fa, &fb);
	for (size_t i = 0; i < a.n; i++)
		if (a.v[i].date.t != b.v[i].date.t || a.v[i].date.tz != b.v[i].date.tz)
			abort();
	mix_index_free(&a);
	mix_index_free(&b);
	buf_free(&fa);
	buf_free(&fb);
}

/* The status: the same round trip; every record found by its UID. */
static void status_file(const char *p, size_t n)
{
	struct mix_status a, b;
	struct buf fa, fb;
	const char *why = NULL;

	if (mix_status_parse(p, n, &a, &why) < 0)
		return;
	for (size_t i = 0; i < a.n; i++)
		if (mix_status_find(&a, a.v[i].uid) != &a.v[i])
			abort();
	buf_init(&fa);
	buf_init(&fb);
	mix_status_format(&fa, &a);
	if (mix_status_parse(fa.data, fa.len, &b, &why) < 0 || b.n != a.n)
		abort();
	mix_status_format(&fb, &b);
	/* flags are 16 bits on disk: compare after one pass */
	same(&fa, &fb);
	mix_status_free(&a);
	mix_status_free(&b);
	buf_free(&fa);
	buf_free(&fb);
}

/* A message record: its length lies within the input. */
static void msgrec(const char *p, size_t n)
{
	uint32_t uid = n > 13 ? (uint32_t)strtoul((char[9]){p[5], p[6], p[7], p[8], p[9], p[10],
							     p[11], p[12], 0}, NULL, 16) : 1;
	size_t len = mix_msgrec_check(p, n, uid);

	if (len > n)
		abort();
}

/* One input: the first byte says which file the rest is. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!size)
		return 0;
	const char *p = (const char *)data + 1;
	size_t n = size - 1;
	switch (data[0] & 3) {
	case 0: meta(p, n); break;
	case 1: index_file(p, n); break;
	case 2: status_file(p, n); break;
	default: msgrec(p, n); break;
	}
	return 0;
}
