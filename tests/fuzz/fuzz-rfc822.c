/* fuzz-rfc822.c: libFuzzer harness for the message parser and its IMAP
 * formatting: rfc822_parse (and rfc822_parse_envelope), ENVELOPE/BODY/
 * BODYSTRUCTURE output, every section form over the parsed tree, decoding,
 * dates and encoded words; the structure parse that releases memory as it
 * goes finds the same structure.
 * Build line in tests/fuzz/README. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "imap_fmt.h"
#include "rfc822_api.h"

static volatile int sink;

/* Walk the tree, asking for each part's sections and decoded text. */
static void walk(const char *msg, size_t len, const struct body *root, const struct body *b,
		 struct section *sec, struct buf *scratch, int depth)
{
	static const enum section_kind kinds[] = { SECT_FULL, SECT_HEADER, SECT_HEADER_FIELDS,
						   SECT_HEADER_FIELDS_NOT, SECT_TEXT, SECT_MIME };
	static char *fields[] = { "subject", "from", "content-type" };
	const char *p;
	size_t n;
	struct buf out;

	buf_init(&out);
	for (size_t k = 0; k < sizeof kinds / sizeof kinds[0]; k++) {
		sec->kind = kinds[k];
		sec->fields = fields;
		sec->nfields = 3;
		if (mime_section(msg, len, root, sec, &p, &n, scratch) == 0 && n)
			sink += p[0] + p[n - 1];   /* ASan checks both ends */
	}
	mime_decode_text(msg, len, b, &out);
	buf_free(&out);
	if (depth >= SECTION_MAX_DEPTH - 1)
		return;
	uint32_t i = 1;
	const struct body *kid = b->parts;
	if (!kid && b->msg_body)
		kid = b->msg_body->parts ? b->msg_body->parts : b->msg_body;
	for (; kid; kid = kid->next, i++) {
		sec->part[sec->nparts++] = i;
		walk(msg, len, root, kid, sec, scratch, depth + 1);
		sec->nparts--;
		if (i > 64)
			break;
	}
}

/* The parse that releases what its scan passed, a few bytes a step: its
 * release points only go forward, and it finds the same structure. */
static size_t released;

static void note_release(void *ctx, size_t upto)
{
	if (upto < released || upto >= *(const size_t *)ctx)
		abort();
	released = upto;
}

static void same_with_release(struct pool *pool, const char *msg, size_t size)
{
	struct buf a, b;

	buf_init(&a);
	buf_init(&b);
	imap_put_body(&a, mime_parse_structure(pool, msg, size), 1);
	mime_release_step = 16 + size % 48;
	released = 0;
	imap_put_body(&b, mime_parse_structure_rel(pool, msg, size, note_release, &size), 1);
	if (a.len != b.len || (a.len && memcmp(a.data, b.data, a.len)))
		abort();
	buf_free(&a);
	buf_free(&b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct pool *pool = pool_new();
	const char *msg = (const char *)data;
	struct envelope *env;
	struct body *body;
	struct buf out, scratch;
	struct section sec;
	time_t t;
	int tz;

	buf_init(&out);
	buf_init(&scratch);
	rfc822_parse(pool, msg, size, &env, &body);
	imap_put_envelope(&out, env);
	imap_put_body(&out, body, 0);
	imap_put_body(&out, body, 1);
	/* the envelope alone, as FETCH ENVELOPE reads it from a header */
	imap_put_envelope(&out, rfc822_parse_envelope(pool, msg, size));
	memset(&sec, 0, sizeof sec);
	walk(msg, size, body, body, &sec, &scratch, 0);
	same_with_release(pool, msg, size);
	rfc822_parse_date(msg, size < 200 ? size : 200, &t, &tz);
	buf_reset(&out);
	rfc2047_decode(msg, size < 4096 ? size : 4096, &out);
	buf_free(&out);
	buf_free(&scratch);
	pool_free(pool);
	return 0;
}
