/* fuzz-metadata.c: libFuzzer harness for the METADATA file reader
 * (metadata.c's mail_meta_parse) and the entry-name check. Aborts when a
 * parse keeps an entry the writer could not have written. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "metadata.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mail_meta_set set;
	const char *s = (const char *)data;

	mail_meta_name_valid(s, size);
	if (mail_meta_parse(s, size, &set) < 0) {
		if (set.n || set.v)
			abort();
		return 0;
	}
	if (set.n > MAIL_META_MAXENTRIES)
		abort();
	for (size_t i = 0; i < set.n; i++) {
		const struct mail_meta *m = &set.v[i];
		if (!mail_meta_name_valid(m->name, strlen(m->name)) || m->len > MAIL_META_MAXSIZE ||
		    m->value[m->len] != '\0')
			abort();
	}
	mail_meta_free(&set);
	return 0;
}
