/* fuzz-imap-resp.c: libFuzzer harness for the client's response parser
 * (imap_resp.c), as a hostile server would feed it: the input whole as one
 * response, then line by line with literals gathered the way imap_client.c
 * reads them (the "{n}" at a line's end announces n bytes). Aborts if a
 * string is not its length long, nesting passes IMAP_RESP_DEPTH, or the
 * parse holds more items than the input has bytes. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "imap_resp.h"

static size_t walk(const struct imap_item *it, int depth)
{
	size_t n = 0;

	if (depth > IMAP_RESP_DEPTH + 1)
		abort();
	for (; it; it = it->next, n++) {
		if (!it->s || strlen(it->s) > it->len || it->s[it->len] != '\0')
			abort();
		if (it->type == II_LIST)
			n += walk(it->child, depth + 1);
		else if (it->child)
			abort();
	}
	return n;
}

static void parse(struct pool *pool, const char *p, size_t len)
{
	struct imap_resp r;
	const char *why;

	if (imap_resp_parse(pool, p, len, &r, &why) < 0) {
		if (!why)
			abort();
		return;
	}
	if (r.kind == IR_TAGGED && !r.tag)
		abort();
	size_t n = walk(r.args, 1) + walk(r.code_args, 1);
	if (n > len + 1)
		abort();
	(void)imap_resp_is(&r, "OK");
	(void)imap_item_text(r.args);
}

/* The reader's framing: a line, and when it ends in {n}, CRLF, n bytes
 * and the line that follows them, up to the input's end. */
static size_t frame(const char *p, size_t len)
{
	size_t at = 0;
	uint64_t n;

	for (;;) {
		const char *nl = memchr(p + at, '\n', len - at);
		size_t end = nl ? (size_t)(nl - p) : len;
		size_t le = end > at && p[end - 1] == '\r' ? end - 1 : end;
		if (!nl || imap_resp_literal(p + at, le - at, &n) != 1 || n > len - end - 1)
			return nl ? le : len;
		at = end + 1 + (size_t)n;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct pool *pool = pool_new();
	const char *p = (const char *)data;

	parse(pool, p, size);
	for (size_t at = 0; at < size;) {
		pool_clear(pool);
		size_t end = at + frame(p + at, size - at);
		parse(pool, p + at, end - at);
		const char *nl = memchr(p + end, '\n', size - end);
		at = nl ? (size_t)(nl - p) + 1 : size;
	}
	pool_free(pool);
	return 0;
}
