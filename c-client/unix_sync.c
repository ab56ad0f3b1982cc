/* unix_sync.c: keeping an open mbox session and its file in step: a fresh
 * parse merged into the session, or only the mail appended since, or the
 * first sync's state taken from the index (unix_index.c); and the session's
 * changes written back, in place or by a rewrite (unix_sync). */
#include "driver.h"
#include "unix_int.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ---------------------------------------------------------------------- */
/* Synchronising a session with the file                                   */

/* Remember the file as we last saw it: identity, size, mtime and its last
 * bytes, so a pure append can be told from a rewrite; and the change
 * counter, so an append can be told from in-place changes plus append. */
static void remember_file(struct ubox *ub, int fd)
{
	struct stat st;
	size_t len;

	ub->exists = 0;
	ub->moved = 0;
	if (fd < 0 || fstat(fd, &st) < 0)
		return;
	ub->gen_off = 0;
	ub->gen = 0;
	unix_gen_find(fd, &ub->gen_off, &ub->gen);
	ub->dev = st.st_dev;
	ub->ino = st.st_ino;
	ub->size = st.st_size;
	ub->mtime = st.st_mtim;
	ub->exists = 1;
	len = (size_t)st.st_size;
	ub->siglen = len < SIGLEN ? len : SIGLEN;
	if (ub->siglen &&
		 pread(fd, ub->sig, ub->siglen, (off_t)(len - ub->siglen)) != (ssize_t)ub->siglen)
		ub->exists = 0;
}

static void set_fd(struct ubox *ub, int fd)
{
	if (ub->fd >= 0 && ub->fd != fd)
		close(ub->fd);
	ub->fd = fd;
	unix_text_forget(ub);
	unix_raw_drop(ub);
}

/* Same message? UIDs on disk are proof; a UID only we know of (not yet
 * written) must also have the same From line. */
int unix_same_msg(const struct umsg *u, const struct pmsg *m)
{
	return u->m.uid == m->uid && ((u->disk_uid && m->xuid == m->uid) || u->fp == m->fp);
}

static void box_place(struct umsg *u, const struct pmsg *p)
{
	u->off = (off_t)p->off;
	u->from_len = p->from_len;
	u->hdr_len = p->hdr_len;
	u->body_len = p->body_len;
	u->m.size = p->size;
	u->fp = p->fp;
	u->nq = p->nq;
	u->rd = (uint8_t)p->rd;
	u->plain = (uint8_t)p->plain;
}

/* out = the keywords on disk now with this session's unsaved changes (mine
 * against was, the disk state it last saw) on top, so another session's
 * changes to other keywords survive: (disk & ~(mine ^ was)) | (mine & ~was). */
static void kw_merge(struct kwset *out, const struct kwset *disk, const struct kwset *mine,
		     const struct kwset *was)
{
	struct kwset changed = KWSET_EMPTY, added = KWSET_EMPTY;
	kwset_xor(&changed, mine, was);
	kwset_copy(out, disk);
	kwset_minus(out, &changed);
	kwset_copy(&added, mine);
	kwset_minus(&added, was);
	kwset_union(out, &added);
	kwset_free(&changed);
	kwset_free(&added);
}

/* Merge a fresh parse of the whole file into the session, matching by UID:
 * report messages others expunged, new ones, and flags others changed.
 * Flags this session changed and has not written yet win. */
static void reconcile(struct mailbox *box, struct parse *p)
{
	struct ubox *ub = UB(box);
	uint32_t i = 0, nold = box->nmsgs;
	size_t j = 0, ngone = 0, added = 0;
	uint32_t *gone = xmalloc((nold + 1) * sizeof *gone);
	char *matched = xcalloc(p->n + 1, 1);

	while (i < nold && j < p->n) {
		struct umsg *u = UM(box, i);
		struct pmsg *m = &p->m[j];
		if (u->m.uid < m->uid || (u->m.uid == m->uid && !unix_same_msg(u, m))) {
			gone[ngone++] = i++;
			continue;
		}
		if (u->m.uid > m->uid) {
			j++;  /* unknown lower UID: added as new below */
			continue;
		}
		/* Our unsaved changes (against the disk state we last saw) go on
		 * top of what is on disk now, so another session's changes to
		 * other flags of the same message survive. */
		uint32_t mine = (u->m.flags & MF_STORABLE) ^ u->disk_flags;
		uint32_t flags = (m->flags & ~mine) | (u->m.flags & mine);
		struct kwset kw = KWSET_EMPTY;
		kw_merge(&kw, &m->kw, &u->m.keywords, &u->disk_kw);
		box_place(u, m);
		if ((u->m.flags & MF_STORABLE) != flags || !kwset_equal(&u->m.keywords, &kw)) {
			u->m.flags = (u->m.flags & MF_RECENT) | flags;
			kwset_copy(&u->m.keywords, &kw);
			mail_ev_flags(box, i + 1);
		}
		kwset_free(&kw);
		u->disk_flags = m->flags;
		kwset_copy(&u->disk_kw, &m->kw);
		u->disk_old = (uint8_t)m->old;
		u->disk_uid = m->xuid == m->uid;
		matched[j] = 1;
		i++;
		j++;
	}
	while (i < nold)
		gone[ngone++] = i++;
	for (size_t k = ngone; k-- > 0;)
		unix_box_remove(box, gone[k]);
	free(gone);
	size_t nnew = 0;
	for (j = 0; j < p->n; j++)
		nnew += !matched[j];
	unix_box_expect(box, (uint32_t)nnew);
	for (j = 0; j < p->n; j++) {
		if (matched[j])
			continue;
		struct pmsg m = p->m[j];
		uint32_t top = box->nmsgs ? box->msgs[box->nmsgs - 1]->uid : 0;
		/* keep UIDs ascending, and never hand out again a UID this
		 * session already used for a message that has gone since */
		if (m.uid <= top || (m.xuid != m.uid && m.uid <= ub->counter)) {
			if (ub->counter < top)
				ub->counter = top;
			m.uid = ++ub->counter;
			m.xuid = 0;
			ub->renumbered = 1;
		}
		if (ub->counter < m.uid)
			ub->counter = m.uid;
		unix_box_add(box, &m);
		added++;
	}
	free(matched);
	if (ub->counter < p->top)
		ub->counter = p->top;
	box->uidnext = ub->counter + 1;
	if (added) {
		mail_ev_exists(box);
		mail_ev_recent(box);
	}
}

/* Only new messages were appended: parse just the tail. 1 done, 0 no. */
static int sync_tail(struct mailbox *box, struct locked *lk)
{
	struct ubox *ub = UB(box);
	size_t old = (size_t)ub->size, back = ub->siglen;
	struct kwtab kt = { box->keywords, &box->nkeywords };
	struct parse p;

	if (!ub->exists || ub->fd < 0 || lk->st.st_ino != ub->ino || lk->st.st_dev != ub->dev ||
	    lk->st.st_size <= ub->size || back != (old < SIGLEN ? old : SIGLEN))
		return 0;
	/* the old end must be a message separator for new mail to follow */
	if (old && !unix_frame_done(unix_fd_fmt(lk->fd), ub->sig, back))
		return 0;
	char sig[SIGLEN];
	if (pread(lk->fd, sig, back, (off_t)(old - back)) != (ssize_t)back ||
	    memcmp(sig, ub->sig, back) || unix_gen_moved(ub, lk->fd) ||
	    mbox_parse_fd(lk->fd, (off_t)old, lk->st.st_size, 0, NULL, &kt, &p) < 0)
		return 0;
	uint32_t ulast = ub->rec_last, dlast = 0;
	char digits[11] = { 0 };
	/* an APPEND elsewhere may have raised uidlast in place */
	if (ub->have_rec && ub->rec_off && pread(lk->fd, digits, 10, ub->rec_off) == 10) {
		uint32_t v = (uint32_t)strtoul(digits, NULL, 10);
		if (v > ulast)
			ulast = v;
	}
	/* a record at the start is a new file's: the full parse judges it */
	if (p.have_rec || (ub->rec_trust == REC_MAC &&
			   !rec_reread(lk->fd, ub->keystate, ub->key, &p.ours, &dlast))) {
		unix_parse_free(&p);
		return 0;
	}
	p.trust = ub->rec_trust;
	p.rd_ours = p.ours;
	p.all_mine = ub->not_spool || ub->rec_trust == REC_LEGACY;
	if (ub->rec_trust == REC_LEGACY) {
		p.ours = UINT32_MAX;
		if (!rec_reread(lk->fd, -1, NULL, &p.rd_ours, &dlast))
			p.rd_ours = 0;
	}
	ub->rec_last = ulast;
	uint32_t prev = box->nmsgs ? box->msgs[box->nmsgs - 1]->uid : 0;
	assign_uids(&p, prev, ulast, &ub->counter);
	unix_kw_trim(&p, &kt);
	unix_box_expect(box, (uint32_t)p.n);
	for (size_t j = 0; j < p.n; j++)
		unix_box_add(box, &p.m[j]);
	box->uidnext = ub->counter + 1;
	remember_file(ub, lk->fd);
	if (p.n) {
		mail_ev_exists(box);
		mail_ev_recent(box);
	}
	unix_parse_free(&p);
	return 1;
}

/* ---------------------------------------------------------------------- */
/* The index: a session's view of the file, saved for the next session     */

/* Save the file as this session last synced with it. Only called when that
 * view is exactly what a fresh parse of the file would give. */
static void index_save(struct mailbox *box)
{
	struct ubox *ub = UB(box);
	int home = box->sess ? fsafe_home(box->sess) : -1;

	if (home < 0 || !ub->exists || ub->renumbered)
		return;
	struct uidx_head h = {
		.dev = (uint64_t)ub->dev, .ino = (uint64_t)ub->ino, .size = (uint64_t)ub->size,
		.mtime_sec = ub->mtime.tv_sec, .mtime_nsec = ub->mtime.tv_nsec,
		.siglen = (uint32_t)ub->siglen, .nmsgs = box->nmsgs,
		.validity = ub->have_rec ? box->uidvalidity : 0, .counter = ub->counter,
		.rec_last = ub->rec_last, .rec_nkw = ub->rec_nkw, .rec_off = (uint64_t)ub->rec_off,
		.have_rec = (uint32_t)ub->have_rec, .nkw = box->nkeywords,
		.gen_off = (uint64_t)ub->gen_off, .gen = ub->gen, .trust = (uint32_t)ub->rec_trust,
	};
	memcpy(h.sig, ub->sig, ub->siglen);
	struct buf b;
	char *r = uidx_recs_room(&b, box->nmsgs);
	int ok = 1;
	for (uint32_t i = 0; i < box->nmsgs && ok; i++) {
		struct umsg *u = UM(box, i);
		/* the index holds 64 keyword names: a mailbox with more is
		 * parsed at each open instead */
		ok = u->from_len <= UINT32_MAX && u->hdr_len <= UINT32_MAX && u->nq <= UIDX_NQ_MAX &&
		     box->nkeywords <= UIDX_KEYWORDS;
		struct uidx_rec rec = {
			.off = (uint64_t)u->off, .body_len = u->body_len, .size = u->m.size,
			.kw = kwset_low(&u->disk_kw), .date = u->m.internal_date,
			.from_len = (uint32_t)u->from_len, .hdr_len = (uint32_t)u->hdr_len,
			.uid = u->m.uid, .fp = u->fp,
			.flags = u->disk_flags | (u->disk_old ? UIDX_OLD : 0) |
				 (u->disk_uid ? UIDX_XUID : 0) | (u->rd ? UIDX_RD : 0) |
				 (u->nq << UIDX_NQ_SHIFT),
			.tz = u->m.tz_minutes,
		};
		memcpy(r + (size_t)i * sizeof rec, &rec, sizeof rec);
	}
	if (ok)
		uidx_save_buf(home, box->path, &h, &b, box->keywords);
	else
		buf_free(&b);
}

/* Does the index still describe the file (or a prefix of it that new mail
 * was appended to)? Identity, size and mtime, then the bytes: the file's
 * last bytes, the last message's From line and the folder record. */
static int index_fits(const struct uidx *x, struct locked *lk, int *exact)
{
	const struct uidx_head *h = &x->h;
	uint64_t size = (uint64_t)lk->st.st_size;
	char b[UIDX_SIGLEN > 16 ? UIDX_SIGLEN : 16];

	*exact = h->size == size && h->mtime_sec == lk->st.st_mtim.tv_sec &&
		 h->mtime_nsec == lk->st.st_mtim.tv_nsec;
	if (h->dev != (uint64_t)lk->st.st_dev || h->ino != (uint64_t)lk->st.st_ino ||
	    h->size > size || (h->size == size && !*exact) ||
	    h->siglen != (h->size < UIDX_SIGLEN ? h->size : UIDX_SIGLEN))
		return 0;
	if (h->siglen && (pread(lk->fd, b, h->siglen, (off_t)(h->size - h->siglen)) !=
			  (ssize_t)h->siglen || memcmp(b, h->sig, h->siglen)))
		return 0;
	if (h->nmsgs) {
		const struct uidx_rec *r = &x->recs[h->nmsgs - 1];
		char *fl = xmalloc(r->from_len);
		int same = pread(lk->fd, fl, r->from_len, (off_t)r->off) == (ssize_t)r->from_len &&
			   unix_msg_start(fl, r->from_len) && unix_hash(fl, r->from_len) == r->fp;
		free(fl);
		if (!same)
			return 0;
	}
	if (*exact && h->have_rec && h->rec_off) {
		char d[11] = { 0 };
		if (pread(lk->fd, d, 10, (off_t)h->rec_off) != 10 ||
		    strtoul(d, NULL, 10) != h->rec_last)
			return 0;
	}
	return 1;
}

/* Forget a state taken from an index that turned out not to fit. */
static void index_undo(struct mailbox *box)
{
	struct ubox *ub = UB(box);

	while (box->nmsgs)
		unix_box_remove(box, box->nmsgs - 1);
	for (unsigned i = 0; i < box->nkeywords; i++)
		free(box->keywords[i]);
	box->nkeywords = 0;
	box->recent = 0;
	box->uidvalidity = 0;
	ub->exists = ub->have_rec = 0;
	ub->rec_last = ub->counter = 0;
	ub->rec_off = 0;
	ub->rec_nkw = 0;
	ub->gen_off = 0;
	ub->gen = 0;
	ub->rec_trust = REC_NONE;
}

/* First sync of a session: take the state from the index when it fits the
 * locked file, parsing only mail appended since. 1 done, 0 parse. */
static int index_try(struct mailbox *box, struct locked *lk)
{
	struct ubox *ub = UB(box);
	int home = box->sess ? fsafe_home(box->sess) : -1;
	struct uidx x;
	int exact;

	if (home < 0 || box->nmsgs || box->nkeywords || uidx_load(home, box->path, &x) < 0)
		return 0;
	if (x.h.trust > REC_MAC || !index_fits(&x, lk, &exact)) {
		uidx_free(&x);
		return 0;
	}
	const struct uidx_head *h = &x.h;
	for (uint32_t i = 0; i < h->nkw; i++)
		box->keywords[i] = xstrdup(x.names[i]);
	box->nkeywords = h->nkw;
	box->uidvalidity = h->have_rec ? h->validity : 0;   /* recent_claimed needs it */
	box->msgs = xrealloc(box->msgs, (h->nmsgs + 1) * sizeof *box->msgs);
	unix_box_expect(box, h->nmsgs);
	for (uint32_t i = 0; i < h->nmsgs; i++) {
		const struct uidx_rec *r = &x.recs[i];
		struct pmsg m = {
			.off = (size_t)r->off, .from_len = r->from_len, .hdr_len = r->hdr_len,
			.body_len = r->body_len, .size = r->size, .uid = r->uid,
			.xuid = (r->flags & UIDX_XUID) ? r->uid : 0, .flags = r->flags & MF_STORABLE,
			.fp = r->fp, .old = !!(r->flags & UIDX_OLD),
			.date = (time_t)r->date, .tz = r->tz, .rd = !!(r->flags & UIDX_RD),
			.nq = r->flags >> UIDX_NQ_SHIFT,
		};
		kwset_from_low(&m.kw, r->kw);
		unix_box_add(box, &m);
		kwset_free(&m.kw);
	}
	ub->have_rec = (int)h->have_rec;
	/* an index of the version without keys: it vouches for its record */
	ub->rec_trust = h->trust ? (int)h->trust : h->have_rec ? REC_LEGACY : REC_NONE;
	ub->rec_last = h->rec_last;
	ub->rec_off = (off_t)h->rec_off;
	ub->rec_nkw = h->rec_nkw;
	ub->gen_off = (off_t)h->gen_off;
	ub->gen = h->gen;
	ub->counter = h->counter;
	box->uidvalidity = h->have_rec ? h->validity : 0;
	box->uidnext = ub->counter + 1;
	ub->dev = (dev_t)h->dev;
	ub->ino = (ino_t)h->ino;
	ub->size = (off_t)h->size;
	ub->mtime.tv_sec = (time_t)h->mtime_sec;
	ub->mtime.tv_nsec = (long)h->mtime_nsec;
	ub->siglen = h->siglen;
	memcpy(ub->sig, h->sig, h->siglen);
	ub->exists = 1;
	uidx_free(&x);
	if (exact)
		return 1;
	/* new mail since: parse just that, as a running session would */
	ub->fd = lk->fd;
	int tail = sync_tail(box, lk);
	ub->fd = -1;
	if (!tail)
		index_undo(box);
	return tail;
}

/* Parse the file and give its messages UIDs. */
static int parse_whole(struct mailbox *box, struct locked *lk, struct parse *p,
		       struct mail_err *err)
{
	struct ubox *ub = UB(box);
	struct kwtab kt = { box->keywords, &box->nkeywords };
	uint32_t ulast = ub->rec_last, counter = 0;

	int r = mbox_parse_fd(lk->fd, 0, lk->st.st_size, ub->keystate, ub->key, &kt, p);
	if (r == -2) {
		mail_err_set(err, MAIL_FAIL, "cannot read %s: %s", box->path, strerror(errno));
		return -1;
	}
	if (r < 0) {
		mail_err_set(err, MAIL_CORRUPT, "%s is not in %s format (left untouched)",
			     box->path, unix_fd_fmt(lk->fd) == UF_MMDF ? "MMDF" : "mbox");
		return -1;
	}
	rec_trust(p, box->sess, box->path, ub->keystate);
	ub->rec_trust = p->trust;
	ub->lost_validity = p->lost_validity;
	if (p->have_rec && box->uidvalidity && p->validity != box->uidvalidity && box->nmsgs) {
		/* a different folder now: every message we knew is gone */
		while (box->nmsgs)
			unix_box_remove(box, box->nmsgs - 1);
		mail_ev_notice(box, "mailbox was replaced by another program; UIDVALIDITY changed");
		ub->counter = 0;
		ulast = p->last;
	} else if (p->have_rec && p->last > ulast) {
		ulast = p->last;
	} else if (!p->have_rec && !ub->have_rec) {
		ulast = 0;
	}
	if (p->have_rec)
		box->uidvalidity = p->validity;
	ub->have_rec = p->have_rec;
	ub->rec_last = p->have_rec ? p->last : 0;
	ub->rec_off = (off_t)p->last_off;
	ub->rec_nkw = p->have_rec ? box->nkeywords : 0;
	/* ub->counter moves in reconcile, which must know the old value */
	assign_uids(p, 0, ulast, &counter);
	unix_kw_trim(p, &kt);
	p->top = counter;
	return 0;
}

/* Would merging the locked file take a message from this session (expunged
 * elsewhere, or a new UIDVALIDITY)? Parsed aside with a scratch keyword
 * table, so the session is untouched. 1 yes or unknown, 0 no. */
static int merge_drops(struct mailbox *box, struct locked *lk)
{
	struct ubox *ub = UB(box);
	char *names[MAIL_KEYWORDS_MAX];
	unsigned nkw = box->nkeywords;
	struct kwtab kt = { names, &nkw };
	struct parse p = { 0 };
	uint32_t counter = 0, ulast = ub->rec_last;
	int drops = 1;
	size_t j = 0;

	memcpy(names, box->keywords, nkw * sizeof *names);
	if (mbox_parse_fd(lk->fd, 0, lk->st.st_size, ub->keystate, ub->key, &kt, &p) < 0)
		goto out;
	rec_trust(&p, box->sess, box->path, ub->keystate);
	if (p.have_rec && box->uidvalidity && p.validity != box->uidvalidity && box->nmsgs)
		goto out;
	/* the UIDs parse_whole would give, then reconcile's matching */
	if (p.have_rec && p.last > ulast)
		ulast = p.last;
	else if (!p.have_rec && !ub->have_rec)
		ulast = 0;
	assign_uids(&p, 0, ulast, &counter);
	drops = 0;
	for (uint32_t i = 0; i < box->nmsgs && !drops; i++, j++) {
		const struct umsg *u = UM(box, i);
		while (j < p.n && p.m[j].uid < u->m.uid)
			j++;
		drops = j == p.n || !unix_same_msg(u, &p.m[j]);
	}
out:
	unix_parse_free(&p);
	for (unsigned k = box->nkeywords; k < nkw; k++)
		free(names[k]);
	return drops;
}

static int unchanged(const struct ubox *ub, const struct stat *st)
{
	return ub->exists && st->st_dev == ub->dev && st->st_ino == ub->ino &&
	       st->st_size == ub->size && st->st_mtim.tv_sec == ub->mtime.tv_sec &&
	       st->st_mtim.tv_nsec == ub->mtime.tv_nsec;
}

/* ---------------------------------------------------------------------- */
/* Writing the session's changes back                                      */

/* Flags or keywords changed by this session and not yet on disk. */
int unix_flags_dirty(const struct umsg *u)
{
	return (u->m.flags & MF_STORABLE) != u->disk_flags ||
	       !kwset_equal(&u->m.keywords, &u->disk_kw);
}

static int box_flags_dirty(struct mailbox *box)
{
	if (box->readonly || !UB(box)->exists)
		return 0;
	for (uint32_t i = 0; i < box->nmsgs; i++)
		if (unix_flags_dirty(UM(box, i)))
			return 1;
	return 0;
}

/* Anything at all to write: flags, "O" for messages we reported \Recent,
 * UIDs not yet in X-UID, the folder record. */
int unix_box_dirty(struct mailbox *box)
{
	struct ubox *ub = UB(box);

	if (box->readonly || !ub->exists)
		return 0;
	if (!ub->have_rec || ub->rec_last != ub->counter || ub->rec_nkw != box->nkeywords ||
	    ub->rec_trust != REC_MAC)
		return 1;
	for (uint32_t i = 0; i < box->nmsgs; i++) {
		struct umsg *u = UM(box, i);
		if (unix_flags_dirty(u) || !u->disk_old || !u->disk_uid)
			return 1;
	}
	return 0;
}

/* fresh: the messages were just taken from the index, each with its
 * flags as on disk, so no scan of them (1.5 MB for 10,000) can find a
 * change: a reopen skips it. */
static int want_write(struct mailbox *box, int mode, int fresh)
{
	if (box->readonly)
		return 0;
	if (mode == SYNC_PING || mode == SYNC_FLUSH)
		return (!fresh && box_flags_dirty(box)) || (UB(box)->renumbered && UB(box)->exists);
	return unix_box_dirty(box);
}

/* Write the session's view of the mailbox (minus drop[]) over the file
 * mapped in lk, and switch the session to the new file. */
/* The messages a write-back keeps, handed to the writer one at a time. */
struct kept {
	struct mailbox *box;
	const char *drop;
	uint32_t next;          /* the message after the last one handed over */
};

static void kept_item(void *ctx, size_t i, struct witem *it)
{
	struct kept *k = ctx;

	if (i == 0)
		k->next = 0;   /* a writer that starts again gets the same items */
	while (k->drop && k->drop[k->next])
		k->next++;
	const struct umsg *u = UM(k->box, k->next++);
	*it = (struct witem){ .src = u->off, .from_len = u->from_len, .hdr_len = u->hdr_len,
			      .body_len = u->body_len, .flags = u->m.flags & MF_STORABLE,
			      .uid = u->m.uid, .kw = &u->m.keywords, .old = 1, .rd = u->rd,
			      .nq = u->nq, .plain = u->plain };
}

static int write_back(struct mailbox *box, struct locked *lk, const char *drop,
		      struct mail_err *err)
{
	struct ubox *ub = UB(box);
	struct kept k = { box, drop, 0 };
	size_t n = 0;
	uint32_t ours = 0;
	off_t rec_off;

	for (uint32_t i = 0; i < box->nmsgs; i++)
		if (!drop || !drop[i]) {
			n++;
			ours = UM(box, i)->m.uid;
		}
	struct wplace *placed = xcalloc(n + 1, sizeof *placed);
	struct win in;
	win_init(&in, lk->fd, lk->st.st_size);
	struct rewrite rw = { .home = box->sess ? fsafe_home(box->sess) : -1,
			      .validity = box->uidvalidity, .last = ub->counter,
			      .names = box->keywords, .nkw = box->nkeywords, .item = kept_item,
			      .ctx = &k, .nitems = n, .placed = placed, .in = &in, .ours = ours,
			      .key = ub->key, .fmt = unix_fd_fmt(lk->fd) };
	int nfd = mbox_rewrite(lk->loc.dirfd, lk->loc.leaf, box->path, &lk->st, &rw, &rec_off,
			       err);
	win_drop(&in);
	if (nfd < 0) {
		free(placed);
		return -1;
	}
	n = 0;
	for (uint32_t i = 0; i < box->nmsgs; i++) {
		struct umsg *u = UM(box, i);
		if (drop && drop[i])
			continue;
		u->off = placed[n].off;
		u->hdr_len = placed[n].hdr_len;
		u->body_len = placed[n].body_len;
		u->nq = placed[n].nq;
		u->rd = rw.fmt == UF_MBOX;
		u->disk_flags = u->m.flags & MF_STORABLE;
		kwset_copy(&u->disk_kw, &u->m.keywords);
		u->disk_old = 1;
		u->disk_uid = 1;
		n++;
	}
	free(placed);
	ub->have_rec = 1;
	ub->rec_trust = REC_MAC;
	ub->rec_last = ub->counter;
	ub->rec_off = rec_off;
	ub->rec_nkw = box->nkeywords;
	ub->renumbered = 0;
	remember_file(ub, nfd);
	set_fd(ub, nfd);
	return 0;
}

/* The one place that reads and writes the file of an open session. */
int unix_sync(struct mailbox *box, int mode, const uint32_t *uids, size_t nuids,
	      struct mail_err *err)
{
	struct ubox *ub = UB(box);
	struct stat st;
	struct locked lk;
	struct parse p = { 0 };
	int rc = -1;

	if (unix_path_stat(box->sess, box->path, &st, err) < 0) {
		if (errno != ENOENT)
			return -1;
		/* gone: an INBOX not delivered to yet, or removed by someone */
		while (box->nmsgs)
			unix_box_remove(box, box->nmsgs - 1);
		set_fd(ub, -1);
		ub->exists = 0;
		return 0;
	}
	if (mode == SYNC_FLUSH && !want_write(box, mode, 0))
		return 0;
	if (unchanged(ub, &st) && !want_write(box, mode, 0)) {
		size_t n = 0;
		if (mode == SYNC_EXPUNGE)
			free(mail_expunge_set(box, uids, nuids, &n));
		if (!n)
			return 0;
	}
	if (lk_open(box->sess, box->path, !box->readonly, &lk, err) < 0)
		return -1;
	if (lk.fd < 0) {
		lk_close(&lk, 0);
		return unix_sync(box, mode, uids, nuids, err);
	}
	/* Changed by others: merge now (their flags and new mail may be
	 * reported, RFC 3501 7.4.1 forbids only EXPUNGE) so our changes reach
	 * the file before the tagged reply and other sessions' next NOOP sees
	 * them; when the merge would expunge, the next ping does it all. */
	if (mode == SYNC_FLUSH && !unchanged(ub, &lk.st) && merge_drops(box, &lk)) {
		lk_close(&lk, 0);
		return 0;
	}
	if (!unchanged(ub, &lk.st))
		unix_recent_load(box);
	int from_index = ub->opening && !ub->exists && index_try(box, &lk), parsed = 0;
	if (!from_index && !unchanged(ub, &lk.st) && mode == SYNC_PING && !want_write(box, mode, 0) &&
	    sync_tail(box, &lk)) {
		unix_recent_claim(box);
		lk_close(&lk, 0);
		return 0;
	}
	/* Under the lock and still as we last parsed it: our state is the
	 * file's, and a second parse would only cost time. */
	if (!unchanged(ub, &lk.st)) {
		if (parse_whole(box, &lk, &p, err) < 0)
			goto out;
		reconcile(box, &p);
		/* the session holds it all now: a rewrite below needs the
		 * memory more (a 10,000-message parse is 1 MB) */
		unix_parse_free(&p);
		parsed = 1;
	}
	if (parsed || from_index)
		unix_recent_claim(box);
	size_t ndrop = 0;
	char *drop = mode == SYNC_EXPUNGE ? mail_expunge_set(box, uids, nuids, &ndrop) : NULL;
	if (!ndrop && !want_write(box, mode, from_index)) {
		/* nothing to write: keep this fd for fetching */
		free(drop);
		remember_file(ub, lk.fd);
		set_fd(ub, lk.fd);
		lk_close(&lk, 1);
		unix_parse_free(&p);
		if (parsed && ub->opening)
			index_save(box);   /* a fresh parse: what the next session needs */
		return 0;
	}
	if (!ndrop && inplace_update(box, &lk, mode) > 0) {
		free(drop);
		remember_file(ub, lk.fd);
		set_fd(ub, lk.fd);
		lk_close(&lk, 1);
		unix_parse_free(&p);
		index_save(box);
		return 0;
	}
	if (write_back(box, &lk, drop, err) < 0) {
		free(drop);
		remember_file(ub, lk.fd);
		set_fd(ub, lk.fd);
		lk_close(&lk, 1);
		unix_parse_free(&p);
		return -1;
	}
	/* Still under the lock, claim what we know: the record just written
	 * gives a first open's UIDs their validity, and unclaimed the next
	 * session would write the claim in the middle of its SELECT. */
	unix_recent_claim(box);
	/* Closing the old file drops our fcntl lock on an inode nobody can
	 * reach by name any more; the dotlock goes last. */
	lk_close(&lk, 0);
	for (uint32_t i = box->nmsgs; drop && i-- > 0;)
		if (drop[i])
			unix_box_remove(box, i);
	free(drop);
	index_save(box);   /* we wrote the file: our view is the file */
	rc = 0;
	goto done;
out:
	lk_close(&lk, 0);
done:
	unix_parse_free(&p);
	return rc;
}
