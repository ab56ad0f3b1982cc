/* fuzz-objectid.c: libFuzzer harness for the mailbox id file reader
 * (objectid.c's mail_mboxid_parse) and the objectid grammar check. Aborts
 * when a parse keeps a record the writer could not have written. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "objectid.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mail_mboxid_set set;
	const char *s = (const char *)data;

	mail_objectid_valid(s, size);
	if (mail_mboxid_parse(s, size, &set) < 0) {
		if (set.n || set.v)
			abort();
		return 0;
	}
	if (set.n > MAIL_MBOXID_MAX)
		abort();
	for (size_t i = 0; i < set.n; i++)
		if (!mail_objectid_valid(set.v[i].id, strlen(set.v[i].id)) ||
		    strlen(set.v[i].id) != MAIL_OBJECTID_SIZE - 1 || !set.v[i].name[0])
			abort();
	mail_mboxid_free(&set);
	return 0;
}
