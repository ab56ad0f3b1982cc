/* fuzz-mh.c: libFuzzer harness for MH's .mh_sequences parser (mh.h): the
 * input is read as a sequences file; what we write back from the parse
 * must parse to the same text again, and every number the parse holds
 * must survive a remove and re-add unchanged; the padded image for an
 * in-place rewrite reads as the text itself. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mail_api.h"
#include "mh.h"

/* The sequences as our writer puts them. */
static void format(const struct mh_seqs *q, struct buf *b)
{
	buf_init(b);
	mh_seqs_format(b, q);
}

/* One input: parse, write back, parse again, compare. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mh_seqs a, b;
	struct buf fa, fb;

	mh_seqs_parse((const char *)data, size, &a);
	format(&a, &fa);
	mh_seqs_parse(fa.data ? fa.data : "", fa.len, &b);
	format(&b, &fb);
	if (fa.len != fb.len || (fa.len && memcmp(fa.data, fb.data, fa.len)))
		abort();
	/* ranges sorted, disjoint and apart; set/clear keeps the text */
	for (size_t i = 0; i < a.n; i++) {
		struct mh_seq *q = &a.v[i];
		for (size_t j = 0; j < q->n; j++)
			if (q->r[j].lo > q->r[j].hi || (j && q->r[j - 1].hi + 1 >= q->r[j].lo) ||
			    !mh_seq_has(q, q->r[j].lo) || !mh_seq_has(q, q->r[j].hi))
				abort();
		if (q->n) {
			uint32_t n = q->r[0].hi;
			mh_seq_set(q, n, 0);
			if (mh_seq_has(q, n))
				abort();
			mh_seq_set(q, n, 1);
		}
	}
	struct buf fc;
	format(&a, &fc);
	if (fc.len != fa.len || (fa.len && memcmp(fa.data, fc.data, fa.len)))
		abort();
	/* the in-place image over a file as long as the input reads the same */
	struct buf img;
	buf_init(&img);
	size_t len = mh_seqs_image(&img, &a, size);
	mh_seqs_free(&b);
	mh_seqs_parse(img.data ? img.data : "", img.len, &b);
	buf_reset(&fb);
	mh_seqs_format(&fb, &b);
	if (len != fa.len || fb.len != fa.len || (fa.len && memcmp(fa.data, fb.data, fa.len)))
		abort();
	buf_free(&img);
	buf_free(&fa);
	buf_free(&fb);
	buf_free(&fc);
	mh_seqs_free(&a);
	mh_seqs_free(&b);
	return 0;
}
