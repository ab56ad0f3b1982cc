/* fuzz-privsep.c: libFuzzer harness for the two messages the root monitor
 * reads from less trusted processes: the pre-login process's login record
 * (privsep_request_ok) and a session's request for another user's URLAUTH
 * URL (privsep_url_request_ok). The input becomes each record (its magic
 * kept valid unless the first byte asks otherwise, so the checks behind it
 * are reached), and any record a check accepts must be one that cannot
 * mislead PAM or getpwnam: each field within its limit, its length true,
 * no NUL inside. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "privsep.h"

static void field_true(const char *f, uint16_t len, size_t max)
{
	if (len > max || strnlen(f, max + 1) != len)
		abort();
}

/* The record (size bytes at rec) from the input after its first byte; a
 * valid magic unless that byte's low bit is set. */
static void record_from(void *rec, size_t size, uint32_t magic, const uint8_t *data, size_t n)
{
	memset(rec, 0, size);
	memcpy(rec, data + 1, n - 1 < size ? n - 1 : size);
	if (!(data[0] & 1))
		memcpy(rec, &magic, sizeof magic);
}

/* The login record's checks. */
static void login_record(const uint8_t *data, size_t size)
{
	struct privsep_request q;

	record_from(&q, sizeof q, PRIVSEP_MAGIC, data, size);
	/* a record of the wrong size is never accepted */
	if (privsep_request_ok(&q, sizeof q - 1 - (data[0] >> 4)))
		abort();
	if (!privsep_request_ok(&q, sizeof q))
		return;
	field_true(q.user, q.user_len, PRIVSEP_NAME_MAX);
	field_true(q.authname, q.authname_len, PRIVSEP_NAME_MAX);
	field_true(q.pass, q.pass_len, PRIVSEP_PASS_MAX);
	if (q.overlong > 1)
		abort();
}

/* The URL request's checks: a non-empty owner name and a URL. */
static void url_record(const uint8_t *data, size_t size)
{
	static struct privsep_url_request q;

	record_from(&q, sizeof q, PRIVSEP_URL_MAGIC, data, size);
	if (privsep_url_request_ok(&q, sizeof q - 1 - (data[0] >> 4)) ||
	    privsep_url_request_ok(&q, sizeof(struct privsep_request)))
		abort();
	if (!privsep_url_request_ok(&q, sizeof q))
		return;
	if (!q.owner_len)
		abort();
	field_true(q.owner, q.owner_len, PRIVSEP_NAME_MAX);
	field_true(q.url, q.url_len, PRIVSEP_URL_MAX);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	login_record(data, size);
	url_record(data, size);
	return 0;
}
