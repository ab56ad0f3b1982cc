/* fuzz-binary.c: libFuzzer harness for BINARY's decoding (mime_cte.c):
 * the input decoded as base64 and as quoted-printable (the output can
 * never be longer than RFC 2045 allows for that input), then parsed as a
 * message whose first parts and their children are fetched as BINARY[...]
 * would (decoded, or refused for an unknown encoding, never both), and
 * its PREVIEW made (preview.c: valid UTF-8, at most 200 characters, no
 * space at either end or twice in a row). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "rfc822_api.h"

static void decodes(const char *s, size_t n)
{
	struct buf out;

	buf_init(&out);
	if (mime_cte_decode(MIME_CTE_BASE64, s, n, &out) < 0 || out.len > n / 4 * 3 + 2)
		abort();
	buf_reset(&out);
	if (mime_cte_decode(MIME_CTE_QP, s, n, &out) < 0 || out.len > n)
		abort();
	buf_reset(&out);
	if (mime_cte_decode(MIME_CTE_UNKNOWN, s, n, &out) != -1 || out.len)
		abort();
	buf_free(&out);
}

/* BINARY[a] and BINARY[a.b] for the first few parts. */
static void sections(const char *s, size_t n, const struct body *root)
{
	struct buf scratch;
	struct section sec = {.kind = SECT_FULL};
	const char *p;
	size_t len;

	buf_init(&scratch);
	for (uint32_t a = 0; a <= 4; a++) {
		for (uint32_t b = 0; b <= 3; b++) {
			sec.nparts = a ? (b ? 2 : 1) : 0;
			sec.part[0] = a;
			sec.part[1] = b;
			int known = mime_binary_check(root, &sec) == 0;
			int rc = mime_binary_section(s, n, root, &sec, &p, &len, &scratch);
			if ((rc < 0) == known || (rc == 0 && len && !p))
				abort();
			if (!a)
				break;
		}
	}
	buf_free(&scratch);
}

/* The preview's promises, checked byte by byte. */
static void preview(const char *s, size_t n, const struct body *root)
{
	struct buf out;
	size_t chars = 0;

	buf_init(&out);
	mime_preview(s, n, root, &out);
	const unsigned char *p = (const unsigned char *)out.data;
	for (size_t i = 0; i < out.len; chars++) {
		size_t len = p[i] < 0x80 ? 1 : p[i] >= 0xf0 ? 4 : p[i] >= 0xe0 ? 3 : 2;
		if (p[i] >= 0x80 && p[i] < 0xc2)
			abort();
		for (size_t k = 1; k < len; k++)
			if (i + k >= out.len || (p[i + k] & 0xc0) != 0x80)
				abort();
		if (p[i] <= 0x20 && (p[i] != ' ' || i == 0 || i + 1 == out.len || p[i + 1] == ' '))
			abort();
		i += len;
	}
	if (chars > 200)
		abort();
	buf_free(&out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *s = (const char *)data;
	struct pool *pool = pool_new();
	struct envelope *env;
	struct body *root;

	decodes(s, size);
	rfc822_parse(pool, s, size, &env, &root);
	sections(s, size, root);
	preview(s, size, root);
	pool_free(pool);
	return 0;
}
