/* newsrc.h: the ~/.newsrc file newsreaders share ("group: 1-5,7" read,
 * "group! ..." unsubscribed), where the nntp driver keeps \Seen as the
 * classic toolkit did. Parsing takes (pointer, length): the file is the
 * user's, but never trusted. */
#ifndef CCLIENT_NEWSRC_H
#define CCLIENT_NEWSRC_H

#include <stddef.h>
#include <stdint.h>

#include "util.h"

/* At most this many ranges are taken from one group's line. */
#define NEWSRC_RANGES_MAX 100000

struct newsrc_range {
	uint32_t lo, hi;
};

/* The read ranges of group in the file data, sorted and merged so they
 * lie apart (*n of them, malloc'd, NULL when none). */
struct newsrc_range *newsrc_find(const char *data, size_t len, const char *group, size_t *n);
/* Is article num inside one of the ranges? */
int newsrc_has(const struct newsrc_range *r, size_t n, uint32_t num);
/* The file again with group's line replaced (or added, subscribed) by
 * the ranges r[0..n), which must be sorted and apart; other lines kept
 * byte for byte. */
void newsrc_put(const char *data, size_t len, const char *group, const struct newsrc_range *r,
		size_t n, struct buf *out);

#endif
