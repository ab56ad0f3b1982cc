/* fuzz-search-raw.c: libFuzzer harness for search's stored-bytes pre-test
 * (search.c's raw_pretest, over mime.c's structure): a message and a search string, searched with TEXT and
 * BODY by the full search and with the pre-test first; abort() when the
 * answers differ (a pre-test that says "cannot match" wrongly). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../unit/raw_box.h"

/* Input: one flag byte (bit 0: stored with CRLF), the search string up to
 * the first LF, then the message; its bare LFs become CRLF, as the
 * canonical text has them. */
/* One input: TEXT and BODY, full search against pre-tested. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *in = (const char *)data + 1, *nl;
	char needle[33];
	struct buf msg;
	struct rb_text t;

	if (size < 2 || !(nl = memchr(in, '\n', size - 1)) || nl - in > 32 || nl == in)
		return 0;
	memcpy(needle, in, (size_t)(nl - in));
	needle[nl - in] = '\0';
	if (strlen(needle) != (size_t)(nl - in))
		return 0;   /* a string has no NUL */
	buf_init(&msg);
	for (const char *p = nl + 1; p < (const char *)data + size; p++) {
		if (*p == '\n' && (p == nl + 1 || p[-1] != '\r'))
			buf_append(&msg, "\r", 1);
		buf_append(&msg, p, 1);
	}
	t.p = msg.data ? msg.data : "";
	t.n = msg.len;
	t.crlf = data[0] & 1;
	for (int op = 0; op < 2; op++) {
		struct search_key k = { .op = op ? SK_BODY : SK_TEXT, .str = needle };
		uint8_t full = 2, pre = 2;
		if (rb_search(&t, 1, &k, 0, &full) || rb_search(&t, 1, &k, 1, &pre) || full != pre)
			abort();
	}
	buf_free(&msg);
	return 0;
}
