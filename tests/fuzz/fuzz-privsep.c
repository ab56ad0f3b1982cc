/* fuzz-privsep.c: libFuzzer harness for the one message the root monitor
 * reads from the unprivileged pre-login process (privsep_request_ok). The
 * input becomes a login record (its magic kept valid unless the first byte
 * asks otherwise, so the checks behind it are reached), and any record the
 * check accepts must be one that cannot mislead PAM: each field within its
 * limit, its length true, no NUL inside. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "privsep.h"

static void field_true(const char *f, uint16_t len, size_t max)
{
	if (len > max || strlen(f) != len)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct privsep_request q;

	if (size < 1)
		return 0;
	memset(&q, 0, sizeof q);
	memcpy(&q, data + 1, size - 1 < sizeof q ? size - 1 : sizeof q);
	if (!(data[0] & 1))
		q.magic = PRIVSEP_MAGIC;
	/* a record of the wrong size is never accepted */
	if (privsep_request_ok(&q, sizeof q - 1 - (data[0] >> 4)) )
		abort();
	if (!privsep_request_ok(&q, sizeof q))
		return 0;
	field_true(q.user, q.user_len, PRIVSEP_NAME_MAX);
	field_true(q.authname, q.authname_len, PRIVSEP_NAME_MAX);
	field_true(q.pass, q.pass_len, PRIVSEP_PASS_MAX);
	if (q.overlong > 1)
		abort();
	return 0;
}
