/* fuzz-imapurl.c: libFuzzer harness for IMAP URLs (imapurl.c), the text
 * CATENATE and URLFETCH take from the client. A parsed URL must be
 * consistent: a UID, a rump inside the input that ends before any
 * verifier, and a mailbox name that is valid modified UTF-7. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "imapurl.h"
#include "mutf7.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct pool *pool = pool_new();
	struct imapurl u;
	const char *why;

	if (imapurl_parse((const char *)data, size, pool, &u, &why) == 0) {
		if (!u.uid || !u.mailbox || !mutf7_valid(u.mailbox, strlen(u.mailbox)))
			abort();
		if (u.access != URLA_NONE && (u.rump_len == 0 || u.rump_len > size))
			abort();
		if (u.mech && (!u.token || strlen(u.token) < 32 || u.access == URLA_NONE))
			abort();
		if ((u.access == URLA_USER || u.access == URLA_SUBMIT) != (u.access_user != NULL))
			abort();
	} else if (!why) {
		abort();
	}
	pool_free(pool);
	return 0;
}
