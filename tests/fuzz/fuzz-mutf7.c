/* fuzz-mutf7.c: libFuzzer harness for mailbox names in modified UTF-7
 * (mutf7.c). Whatever decodes must encode back to the same bytes, and
 * whatever encodes must decode back, so each name has one spelling. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mutf7.h"

/* Abort unless back is exactly the n bytes of s. */
static void same(const char *back, const uint8_t *s, size_t n)
{
	if (!back || strlen(back) != n || memcmp(back, s, n))
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *s = (const char *)data;
	char *u8 = mutf7_to_utf8(s, size);

	if ((u8 != NULL) != mutf7_valid(s, size))
		abort();
	if (u8) {
		char *back = mutf7_from_utf8(u8, strlen(u8));
		same(back, data, size);
		free(back);
		free(u8);
	}
	char *u7 = mutf7_from_utf8(s, size);
	if (u7) {
		char *back = mutf7_to_utf8(u7, strlen(u7));
		same(back, data, size);
		free(back);
		free(u7);
	}
	return 0;
}
