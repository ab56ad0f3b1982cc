/* unix_inplace.c: flag changes of an mbox session written over the status
 * lines of their messages, when they fit, instead of rewriting the file. */
#include "unix_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* A flag change that fits the room of a message's status lines is written
 * over them (same length, space padded) instead of rewriting the file. One
 * pwrite per message covers all three lines, so a crash leaves each
 * message with its old or its new flags. The record's change counter is
 * bumped first: a session that then sees only an append (size grown, last
 * bytes the same) knows the rest changed too and parses it all. */

/* Value bytes [vo, ve) of Status, X-Status and X-Keywords in a header. */
struct slots {
	size_t vo[3], ve[3];
};

static const int slot_ids[3] = { H_STATUS, H_XSTATUS, H_XKEYWORDS };

/* Find each of the three lines exactly once, unfolded. -1: not there. */
static int slots_find(const char *h, size_t n, struct slots *s)
{
	size_t pos = 0;
	int seen = 0;

	while (pos < n) {
		size_t le = unix_line_end(h, pos, n), ce = le;
		while (ce > pos && (h[ce - 1] == '\n' || h[ce - 1] == '\r'))
			ce--;
		int id = ce > pos ? unix_internal_hdr(h + pos, ce - pos) : H_NONE, k;
		for (k = 0; k < 3 && slot_ids[k] != id; k++)
			;
		if (k < 3) {
			if ((seen & (1 << k)) || h[le - 1] != '\n' ||
			    (le < n && (h[le] == ' ' || h[le] == '\t')))
				return -1;   /* twice, unterminated, or folded */
			seen |= 1 << k;
			s->vo[k] = (size_t)((const char *)memchr(h + pos, ':', ce - pos) - h) + 1;
			s->ve[k] = ce;
		}
		pos = le;
	}
	return seen == 7 ? 0 : -1;
}

struct ipw {
	off_t at;               /* file offset of the span */
	size_t len, boff;       /* its length, and where its bytes are */
	uint32_t msg;           /* index in box->msgs */
};

/* New bytes of message u's status span into bytes; 0 ok, -1 no room. */
static int inplace_span(struct mailbox *box, struct umsg *u, const char *h, const struct slots *sl,
			struct buf *bytes, struct ipw *w)
{
	size_t lo = sl->vo[0], hi = sl->ve[0];
	struct buf v;
	int rc = 0;

	for (int k = 1; k < 3; k++) {
		lo = sl->vo[k] < lo ? sl->vo[k] : lo;
		hi = sl->ve[k] > hi ? sl->ve[k] : hi;
	}
	w->at = u->off + (off_t)u->from_len + (off_t)lo;
	w->len = hi - lo;
	w->boff = bytes->len;
	buf_append(bytes, h + lo, hi - lo);
	buf_init(&v);
	for (int k = 0; k < 3 && !rc; k++) {
		size_t room = sl->ve[k] - sl->vo[k];
		buf_reset(&v);
		unix_status_value(&v, slot_ids[k], u->m.flags & MF_STORABLE, &u->m.keywords, 1,
			     box->keywords, box->nkeywords);
		if (v.len > room) {
			rc = -1;
			break;
		}
		char *d = bytes->data + w->boff + (sl->vo[k] - lo);
		memcpy(d, v.data, v.len);
		memset(d + v.len, ' ', room - v.len);
	}
	buf_free(&v);
	return rc;
}

/* Plan the writes for mode: the messages whose flags (or, for a full write,
 * "O") differ from the disk. 1 planned, 0 a rewrite is needed. */
static int inplace_plan(struct mailbox *box, int fd, int mode, struct buf *bytes,
			struct ipw **out, size_t *n)
{
	struct ubox *ub = UB(box);
	int full = mode == SYNC_WRITE || mode == SYNC_EXPUNGE, ok = 1;
	struct buf h;

	*n = 0;
	*out = NULL;
	if (ub->renumbered || !ub->have_rec || ub->rec_nkw != box->nkeywords ||
	    (full && (ub->rec_last != ub->counter ||
		      ub->rec_trust != REC_MAC)))
		return 0;   /* the record must change too */
	buf_init(&h);
	for (uint32_t i = 0; i < box->nmsgs && ok; i++) {
		struct umsg *u = UM(box, i);
		struct slots sl;
		if (full && !u->disk_uid)
			ok = 0;   /* an X-UID to write: no room for it */
		if (!ok || (!unix_flags_dirty(u) && (!full || u->disk_old)))
			continue;
		buf_reset(&h);
		buf_reserve(&h, u->hdr_len + 1);
		ok = u->disk_uid &&
		     pread(fd, h.data, u->hdr_len, u->off + (off_t)u->from_len) == (ssize_t)u->hdr_len &&
		     slots_find(h.data, u->hdr_len, &sl) == 0;
		if (ok) {
			*out = xrealloc(*out, (*n + 1) * sizeof **out);
			(*out)[*n].msg = i;
			ok = inplace_span(box, u, h.data, &sl, bytes, &(*out)[(*n)++]) == 0;
		}
	}
	buf_free(&h);
	return ok && *n;
}

static int ts_after(const struct timespec *a, const struct timespec *b)
{
	return a->tv_sec > b->tv_sec || (a->tv_sec == b->tv_sec && a->tv_nsec > b->tv_nsec);
}

/* Other sessions notice a same-size change by its mtime only, and the
 * kernel's clock may not have moved since the last change: make the mtime
 * later than it was (we own the file), or write again until it is. */
static void mtime_advance(int fd, const struct timespec *was, off_t off, const char *digits)
{
	struct stat st;

	if (fstat(fd, &st) < 0 || ts_after(&st.st_mtim, was))
		return;
	struct timespec t[2] = { { .tv_nsec = UTIME_OMIT }, *was };
	if (++t[1].tv_nsec >= 1000000000L) {
		t[1].tv_sec++;
		t[1].tv_nsec = 0;
	}
	if (futimens(fd, t) == 0)
		return;
	for (int i = 0; i < 200; i++) {
		usleep(1000);
		if (pwrite(fd, digits, 10, off) != 10 || fstat(fd, &st) < 0 ||
		    ts_after(&st.st_mtim, was))
			return;
	}
}

/* Write this session's flag changes over the status lines of the locked
 * file, which our state describes. 1 done, 0 not possible (nothing was
 * written), -1 I/O error part way (the file is sound: rewrite it). */
int inplace_update(struct mailbox *box, struct locked *lk, int mode)
{
	struct buf bytes;
	struct ipw *w;
	size_t n;
	off_t goff;
	uint32_t gen;
	char digits[16];
	int rc = 0;

	if (box->readonly || !unix_gen_find(lk->fd, &goff, &gen))
		return 0;
	buf_init(&bytes);
	if (!inplace_plan(box, lk->fd, mode, &bytes, &w, &n))
		goto out;
	rc = -1;
	snprintf(digits, sizeof digits, "%010u", gen == UINT32_MAX ? 1 : gen + 1);
	if (pwrite(lk->fd, digits, 10, goff) != 10)
		goto out;
	for (size_t i = 0; i < n; i++)
		if (pwrite(lk->fd, bytes.data + w[i].boff, w[i].len, w[i].at) != (ssize_t)w[i].len)
			goto out;
	if (fsync(lk->fd) < 0)
		goto out;
	mtime_advance(lk->fd, &lk->st.st_mtim, goff, digits);
	for (size_t i = 0; i < n; i++) {
		struct umsg *u = UM(box, w[i].msg);
		u->disk_flags = u->m.flags & MF_STORABLE;
		kwset_copy(&u->disk_kw, &u->m.keywords);
		u->disk_old = 1;
	}
	rc = 1;
out:
	free(w);
	buf_free(&bytes);
	return rc;
}
