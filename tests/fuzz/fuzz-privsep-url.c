/* fuzz-privsep-url.c: libFuzzer harness for the one message the root
 * parent reads from a user's session: a request for another user's URLAUTH
 * URL (privsep_url_request_ok). The input becomes the record (its magic
 * kept valid unless the first byte asks otherwise); a record the check
 * accepts must hold a non-empty owner name and a URL, each within its
 * limit, its length true, no NUL inside: all P passes to getpwnam and on. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "privsep.h"

/* Abort unless the field is exactly len bytes, within max. */
static void field_true(const char *f, uint16_t len, size_t max)
{
	if (len > max || strnlen(f, max + 1) != len)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct privsep_url_request q;

	if (size < 1)
		return 0;
	memset(&q, 0, sizeof q);
	memcpy(&q, data + 1, size - 1 < sizeof q ? size - 1 : sizeof q);
	if (!(data[0] & 1))
		q.magic = PRIVSEP_URL_MAGIC;
	/* a record of another size is never accepted, nor a login record */
	if (privsep_url_request_ok(&q, sizeof q - 1 - (data[0] >> 4)) ||
	    privsep_url_request_ok(&q, sizeof(struct privsep_request)))
		abort();
	if (!privsep_url_request_ok(&q, sizeof q))
		return 0;
	if (!q.owner_len)
		abort();
	field_true(q.owner, q.owner_len, PRIVSEP_NAME_MAX);
	field_true(q.url, q.url_len, PRIVSEP_URL_MAX);
	return 0;
}
