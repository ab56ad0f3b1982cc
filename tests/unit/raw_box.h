/* raw_box.h: messages in memory behind a driver that also gives their
 * stored form (CRLF made LF, as an mbox keeps them; the mbox driver's
 * canonical text is that again with one CR before each LF), to check search's
 * stored-bytes pre-test against the full search: test-search-raw.c and
 * fuzz-search-raw.c. */
#ifndef RAW_BOX_H
#define RAW_BOX_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mail_api.h"
#include "search.h"

struct rb_text {
	const char *p;
	size_t n;
	int crlf;       /* stored with CRLF line ends, as given */
};

static struct buf rb_stored;
static uint64_t rb_fetched;   /* bit i: message i+1 had a full fetch */

/* The canonical text, as given. */
static int rb_fetch(struct mailbox *box, uint32_t msgno, const char **text, size_t *len,
		    struct mail_err *err)
{
	const struct rb_text *t = box->msgs[msgno - 1]->drv;

	if (msgno <= 64)
		rb_fetched |= 1ULL << (msgno - 1);
	*text = t->p;
	*len = t->n;
	return 0;
}

static unsigned rb_runs;       /* scan_raw calls */
static uint32_t rb_cap;        /* nonzero: a call covers at most this many */
static uint32_t rb_skip;       /* nonzero: this message is passed over */
static uint64_t rb_scanned;    /* bit i: message i+1 was offered to fn */

/* fn on the stored form of first..last: see the top of this file. */
static int rb_scan_raw(struct mailbox *box, uint32_t first, uint32_t last,
		       void (*fn)(void *ctx, uint32_t msgno, const struct raw_msg *m),
		       void *ctx, struct mail_err *err)
{
	rb_runs++;
	if (rb_cap && last - first + 1 > rb_cap)
		last = first + rb_cap - 1;
	for (uint32_t msgno = first; msgno <= last; msgno++) {
		const struct rb_text *t = box->msgs[msgno - 1]->drv;

		if (msgno == rb_skip)
			continue;
		if (msgno <= 64)
			rb_scanned |= 1ULL << (msgno - 1);

		/* a CRLF becomes LF, unless the line ends in another CR: the
		 * driver adds back one CR per line, so that one must stay */
		buf_reset(&rb_stored);
		for (size_t i = 0; i < t->n; i++)
			if (t->crlf || t->p[i] != '\r' || i + 1 >= t->n || t->p[i + 1] != '\n' ||
			    (i && t->p[i - 1] == '\r'))
				buf_append(&rb_stored, t->p + i, 1);
		struct raw_msg m = { rb_stored.data ? rb_stored.data : "", rb_stored.len, NULL };
		fn(ctx, msgno, &m);
	}
	return (int)(last - first + 1);
}

static const struct driver rb_driver = { .name = "rawtest", .fetch = rb_fetch,
					 .scan_raw = rb_scan_raw };

/* Search texts t[0..n) for key, the pre-test on or off; match[i]: 1/0. */
static int rb_search(const struct rb_text *t, size_t n, const struct search_key *key,
		     int pretest, uint8_t *match)
{
	struct mailbox box;
	struct message *m = calloc(n, sizeof *m), **mp = calloc(n, sizeof *mp);
	struct mail_err err = { 0 };

	memset(&box, 0, sizeof box);
	box.drv = &rb_driver;
	box.nmsgs = (uint32_t)n;
	box.msgs = mp;
	for (size_t i = 0; i < n; i++) {
		m[i].drv = (void *)&t[i];
		m[i].size = t[i].n;
		mp[i] = &m[i];
	}
	search_raw_pretest = pretest;
	int r = search_run(&box, key, match, &err);
	search_raw_pretest = 1;
	for (size_t i = 0; i < n; i++)
		pool_free(m[i].pool);
	free(m);
	free(mp);
	return r;
}

#endif
