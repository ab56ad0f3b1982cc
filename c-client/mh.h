/* mh.h: MH's .mh_sequences ("name: 1-3 7" lines) as pure functions on
 * buffers, apart from the driver's file handling so it can be fuzzed.
 * A sequence is a sorted list of disjoint, non-adjacent number ranges. */
#ifndef CCLIENT_MH_H
#define CCLIENT_MH_H

#include <stddef.h>
#include <stdint.h>

#include "util.h"

struct mh_range {
	uint32_t lo, hi;
};

struct mh_seq {
	char *name;
	struct mh_range *r;
	size_t n, cap;
};

struct mh_seqs {
	struct mh_seq *v;
	size_t n;
};

/* Parse a sequences file: "name: N N-M ..." lines, continued by lines
 * that start with a blank. Malformed lines and numbers are dropped, a
 * name given twice is one sequence, and empty sequences are left out
 * (nmh does not keep them either). Never fails; free with mh_seqs_free. */
void mh_seqs_parse(const char *buf, size_t len, struct mh_seqs *out);
void mh_seqs_free(struct mh_seqs *s);
/* Append the file for s (empty sequences skipped), one line a sequence. */
void mh_seqs_format(struct buf *b, const struct mh_seqs *s);
/* The text that replaces a file of old_len bytes in place: the format of
 * s, padded to old_len with a continuation line of blanks, so that a
 * crash before the file is cut to the returned length (the format's own)
 * leaves no tail of the older, longer text (nmh refuses blank lines;
 * blanks continuing a value mean nothing). */
size_t mh_seqs_image(struct buf *b, const struct mh_seqs *s, size_t old_len);
/* The sequence called name (exactly; nmh's names are case-sensitive),
 * made empty when create is set and there is none; else NULL. */
struct mh_seq *mh_seqs_get(struct mh_seqs *s, const char *name, int create);
/* Is n in q (q may be NULL)? */
int mh_seq_has(const struct mh_seq *q, uint32_t n);
/* Put n in q, or take it out. */
void mh_seq_set(struct mh_seq *q, uint32_t n, int on);
/* Is name usable as a sequence name (no blank, ':' or control, not empty)? */
int mh_seq_name_ok(const char *name, size_t len);

#endif
