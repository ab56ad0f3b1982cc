/* mail_modseq.c: modseqs (RFC 7162) for every mailbox format, kept by
 * mail.c rather than by each driver: the flags each session sees are
 * compared with those recorded in the mailbox's modseq file (modseq.h) in
 * ~/.imapd-cache, so changes by programs that know nothing of modseqs
 * (mutt, procmail, Dovecot on a Maildir) still get one. A new modseq is
 * never below the clock in microseconds: a lost, torn or reverted file is
 * rebuilt above every value handed out before, so clients resync. */
#include "mail_modseq.h"
#include "fsafe.h"
#include "log.h"
#include "modseq.h"
#include "search.h"
#include "unix_index.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

struct mseq {
	struct modseq_state st;
	int dirfd, lockfd;            /* the index directory, our lock; -1: none */
	char name[40], lockname[40];
	struct stat seen;             /* the file st was read from or written as */
	int have_seen;
	uint64_t gen;                 /* the lock file's save count then */
	unsigned depth;
	int dirty;
	int view_stale;               /* the view may predate the records */
	uint64_t now;                 /* the clock floor of this pass */
	int kwmap[MAIL_KEYWORDS_MAX]; /* box keyword index -> st's, -1: none */
};

/* The clock in microseconds: no modseq handed out earlier can be above it
 * unless a million changes a second were made (or the clock went back). */
static uint64_t clock_floor(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

/* The next modseq: above the last and never below the clock. */
static uint64_t next_modseq(struct mseq *ms)
{
	uint64_t v = ms->st.highest + 1;

	if (v < ms->now)
		v = ms->now;
	ms->st.highest = v;
	ms->dirty = 1;
	return v;
}

/* Start afresh for validity above floor (the highest value known). */
static void state_fresh(struct mseq *ms, uint32_t validity, uint64_t floor)
{
	modseq_free(&ms->st);
	ms->st.uidvalidity = validity;
	ms->st.base = ms->st.highest = floor + 1 > ms->now ? floor + 1 : ms->now;
	ms->dirty = 1;
}

/* The index directory and our lock file there for the mailbox at path:
 * both reached by descriptor, never through a link, only the user's own.
 * Unless create is set, only where the modseq file exists: a mailbox no
 * client has asked modseqs of costs nothing (its first asker records
 * everything as new, and whatever changed is new to it anyway). */
static int files_open(struct mseq *ms, struct mail_session *s, const char *path, int create)
{
	struct stat st;

	ms->dirfd = ms->lockfd = -1;
	uidx_cache_name(path, "msq", ms->name);
	uidx_cache_name(path, "msl", ms->lockname);
	if ((ms->dirfd = uidx_cache_dir(fsafe_home(s), create)) < 0)
		return -1;
	if (!create && fstatat(ms->dirfd, ms->name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
		close(ms->dirfd);
		ms->dirfd = -1;
		return -1;
	}
	ms->lockfd = openat(ms->dirfd, ms->lockname, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC,
			    0600);
	if (ms->lockfd >= 0 && fstat(ms->lockfd, &st) == 0 && S_ISREG(st.st_mode) &&
	    st.st_uid == geteuid())
		return 0;
	log_warn("modseqs not kept for %s: cannot use ~/.imapd-cache/%s", path, ms->lockname);
	if (ms->lockfd >= 0)
		close(ms->lockfd);
	close(ms->dirfd);
	ms->dirfd = ms->lockfd = -1;
	return -1;
}

/* Release the descriptors and the state. */
static void files_close(struct mseq *ms)
{
	if (ms->lockfd >= 0)
		close(ms->lockfd);
	if (ms->dirfd >= 0)
		close(ms->dirfd);
	modseq_free(&ms->st);
}

/* The count of saves the lock file holds (0: none yet, or an older
 * version's empty file). The file's inode, size and mtime alone cannot
 * tell it was replaced: a freed inode goes to the next file made and the
 * mtime is kept only to the kernel's tick, so two saves by another session
 * in one tick could bring back what we saw. */
static uint64_t gen_read(const struct mseq *ms)
{
	uint64_t g;

	return pread(ms->lockfd, &g, sizeof g, 0) == (ssize_t)sizeof g ? g : 0;
}

/* Count a save about to be made; -1 when the count cannot be kept. */
static int gen_bump(struct mseq *ms)
{
	ms->gen = gen_read(ms) + 1;
	return pwrite(ms->lockfd, &ms->gen, sizeof ms->gen, 0) == (ssize_t)sizeof ms->gen ? 0 : -1;
}

/* Is the file still the one st came from (we hold the lock: nobody else
 * writes it meanwhile)? *gen: the save count now. */
static int file_unchanged(struct mseq *ms, struct stat *now, uint64_t *gen)
{
	*gen = gen_read(ms);
	if (fstatat(ms->dirfd, ms->name, now, AT_SYMLINK_NOFOLLOW) < 0)
		return 0;
	return ms->have_seen && *gen == ms->gen && now->st_ino == ms->seen.st_ino &&
	       now->st_dev == ms->seen.st_dev &&
	       now->st_size == ms->seen.st_size &&
	       now->st_mtim.tv_sec == ms->seen.st_mtim.tv_sec &&
	       now->st_mtim.tv_nsec == ms->seen.st_mtim.tv_nsec;
}

/* Read the file under the lock, unless it is what we hold. Absent, torn,
 * someone else's or smaller than what we knew: afresh, above it all. */
static void state_load(struct mseq *ms, const char *path)
{
	struct modseq_state fresh;
	struct mail_err ignore;
	struct stat now;
	uint64_t gen;
	char *data;
	size_t len;

	if (file_unchanged(ms, &now, &gen))
		return;
	uint64_t known = ms->st.highest;
	int r = fsafe_read_own(ms->dirfd, ms->name, MODSEQ_FILE_MAX, &data, &len, &ignore);
	int parsed = r == 0 && modseq_parse(data, len, path, &fresh) == 0;
	if (parsed && fresh.highest >= known) {
		modseq_free(&ms->st);
		ms->st = fresh;
		ms->seen = now;
		ms->have_seen = 1;
		ms->gen = gen;
	} else {
		/* torn, edited, a link, or older than what this process saw */
		if (parsed)
			modseq_free(&fresh);
		if (r != 1)
			log_warn("modseq file of %s unusable: rebuilt with a greater HIGHESTMODSEQ",
				 path);
		state_fresh(ms, ms->st.uidvalidity, known);
		ms->have_seen = 0;
	}
	free(data);
}

/* Write the file if something changed; a failure is logged once. */
static void state_save(struct mseq *ms, const char *path)
{
	static int warned;
	struct mail_err err;
	struct buf b;

	if (!ms->dirty)
		return;
	buf_init(&b);
	modseq_write(&ms->st, path, &b);
	int counted = gen_bump(ms) == 0;
	if (fsafe_replace(ms->dirfd, ms->name, b.data, b.len, &err) == 0)
		ms->have_seen = counted &&
				fstatat(ms->dirfd, ms->name, &ms->seen, AT_SYMLINK_NOFOLLOW) == 0;
	else if (!warned++)
		log_warn("cannot record modseqs of %s: %s", path, err.text);
	buf_free(&b);
	ms->dirty = 0;
}

/* Lock and read: the start of every pass. */
static int pass_begin(struct mseq *ms, const char *path)
{
	if (ms->dirfd < 0)
		return -1;
	if (ms->depth++)
		return 0;
	while (flock(ms->lockfd, LOCK_EX) < 0)
		if (errno != EINTR) {
			ms->depth--;
			return -1;
		}
	ms->now = clock_floor();
	state_load(ms, path);
	return 0;
}

/* Save and unlock at the end of the outermost pass. */
static void pass_end(struct mseq *ms, const char *path)
{
	if (ms->depth == 0 || --ms->depth)
		return;
	state_save(ms, path);
	flock(ms->lockfd, LOCK_UN);
}

int mseq_begin(struct mailbox *box)
{
	if (!box->mseq) {
		box->mseq = xcalloc(1, sizeof *box->mseq);
		files_open(box->mseq, box->sess, box->path, 0);
	}
	return pass_begin(box->mseq, box->path);
}

int mail_modseq_enable(struct mailbox *box)
{
	struct mseq *ms = box->mseq;

	if (!ms)
		ms = box->mseq = xcalloc(1, sizeof *box->mseq);
	if (ms->dirfd >= 0)
		return 0;
	if (files_open(ms, box->sess, box->path, 1) < 0)
		return -1;
	/* From now on as if it had been on since the open. The view was read
	 * without our lock, maybe before another session's change was
	 * recorded, maybe missing a file another session renamed meanwhile:
	 * it may add records, not overwrite or remove them (the next ping
	 * reads the mailbox afresh and compares again). */
	if (mseq_begin(box) < 0)
		return -1;
	ms->view_stale = 1;
	mseq_end(box, 1);
	ms->view_stale = 0;
	return 0;
}

void mail_savedate_want(struct mailbox *box)
{
	if (!(box->drv->flags & DRV_SAVEDATE))
		mail_modseq_enable(box);
}

/* The box's keywords as st's indices (new names are added to st). */
static void kw_map(struct mseq *ms, const struct mailbox *box)
{
	for (unsigned k = 0; k < box->nkeywords; k++) {
		unsigned had = ms->st.nkw;
		ms->kwmap[k] = modseq_kw_index(&ms->st, box->keywords[k]);
		if (ms->st.nkw != had)
			ms->dirty = 1;
	}
}

/* m's keywords as a mask of st's keywords; a set reaching index 63 or
 * beyond as bit 63 and a hash of the set (the file keeps one number). */
static uint64_t kw_translate(const struct mseq *ms, const struct mailbox *box,
			     const struct message *m)
{
	uint64_t out = 0, hash = 14695981039346656037ULL;
	int high = 0;

	for (int k = kwset_next(&m->keywords, 0); k >= 0 && (unsigned)k < box->nkeywords;
	     k = kwset_next(&m->keywords, (unsigned)k + 1)) {
		int j = ms->kwmap[k];
		if (j < 0)
			continue;
		high |= j >= 63;
		out |= j < 63 ? 1ULL << j : 0;
		hash = (hash ^ (uint64_t)j) * 1099511628211ULL;
	}
	return high ? (hash | 1ULL << 63) : out;
}

/* m's save date from its record, where the format keeps none: a record
 * without one (new, or from a version 1 file) is dated now, so a message
 * is dated when a session first records it and keeps that date. */
static void msg_date(struct mseq *ms, const struct mailbox *box, struct message *m,
		     struct modseq_msg *rec)
{
	if (box->drv->flags & DRV_SAVEDATE)
		return;
	if (!rec->saved) {
		rec->saved = ms->now / 1000000u;
		ms->dirty = 1;
	}
	m->save_date = (time_t)rec->saved;
}

/* Compare m with rec (NULL: not recorded yet); a difference or a new
 * message gets the next modseq. */
static void msg_compare(struct mseq *ms, const struct mailbox *box, struct message *m,
			struct modseq_msg *rec)
{
	uint32_t flags = m->flags & MF_STORABLE;
	uint64_t kw = kw_translate(ms, box, m);

	if (rec && ((rec->flags == flags && rec->kw == kw) || ms->view_stale)) {
		m->modseq = rec->modseq;
		msg_date(ms, box, m, rec);
		return;
	}
	if (!rec)
		rec = modseq_insert(&ms->st, m->uid);
	rec->flags = flags;
	rec->kw = kw;
	rec->modseq = m->modseq = next_modseq(ms);
	msg_date(ms, box, m, rec);
}

/* msg_compare with m's record. live: the view of m is fresh (else a
 * message another session has expunged meanwhile is not recorded again). */
static void sync_msg(struct mseq *ms, const struct mailbox *box, struct message *m, int live)
{
	struct modseq_msg *rec = modseq_find(&ms->st, m->uid);

	if (!rec && !live && modseq_is_gone(&ms->st, m->uid))
		m->modseq = modseq_gone_at(&ms->st, m->uid);
	else
		msg_compare(ms, box, m, rec);
}

/* Record j, of a message the view lacks: an expunge, unless the view may
 * predate it (appended since this view, or a view read without our lock,
 * which may have missed a file: only a fresh view proves a message gone).
 * A record kept moves to *w. */
static void record_absent(struct mseq *ms, const struct mailbox *box, size_t j, size_t *w)
{
	struct modseq_state *st = &ms->st;

	if (st->msgs[j].uid < box->uidnext && !ms->view_stale)
		modseq_gone_add(st, st->msgs[j].uid, next_modseq(ms));
	else
		st->msgs[(*w)++] = st->msgs[j];
}

/* The full comparison: records of messages no longer there become
 * expunges (record_absent), the rest is compared. */
static void sync_full(struct mseq *ms, const struct mailbox *box)
{
	struct modseq_state *st = &ms->st;
	uint32_t *fresh = NULL;
	size_t w = 0, j = 0, nfresh = 0;

	for (uint32_t i = 0; i < box->nmsgs; i++) {
		struct message *m = box->msgs[i];
		for (; j < st->nmsgs && st->msgs[j].uid < m->uid; j++)
			record_absent(ms, box, j, &w);
		if (j < st->nmsgs && st->msgs[j].uid == m->uid) {
			st->msgs[w] = st->msgs[j++];
			msg_compare(ms, box, m, &st->msgs[w++]);
		} else {
			fresh = xrealloc(fresh, (nfresh + 1) * sizeof *fresh);
			fresh[nfresh++] = i;
		}
	}
	for (; j < st->nmsgs; j++)
		record_absent(ms, box, j, &w);
	if (w != st->nmsgs)
		ms->dirty = 1;
	st->nmsgs = w;
	for (size_t k = 0; k < nfresh; k++)
		sync_msg(ms, box, box->msgs[fresh[k]], !ms->view_stale);
	free(fresh);
	if (box->uidnext > st->uidnext) {
		st->uidnext = box->uidnext;
		ms->dirty = 1;
	}
}

void mseq_end(struct mailbox *box, int full)
{
	struct mseq *ms = box->mseq;

	if (!ms || ms->dirfd < 0 || !ms->depth)
		return;
	if (box->uidvalidity && ms->st.uidvalidity != box->uidvalidity) {
		if (ms->st.uidvalidity || ms->st.nmsgs || ms->st.ngone)
			state_fresh(ms, box->uidvalidity, ms->st.highest);
		ms->st.uidvalidity = box->uidvalidity;
		ms->dirty = 1;
		full = 1;
	}
	kw_map(ms, box);
	if (full)
		sync_full(ms, box);
	else
		for (uint32_t i = 0; i < box->nmsgs; i++)
			if (!box->msgs[i]->modseq)
				sync_msg(ms, box, box->msgs[i], 0);
	pass_end(ms, box->path);
}

void mseq_event(struct mailbox *box, uint32_t msgno)
{
	struct mseq *ms = box->mseq;

	if (!ms || ms->dirfd < 0 || !ms->depth || ms->st.uidvalidity != box->uidvalidity ||
	    msgno < 1 || msgno > box->nmsgs)
		return;
	kw_map(ms, box);
	sync_msg(ms, box, box->msgs[msgno - 1], 1);
}

void mseq_touch(struct mailbox *box, uint32_t msgno)
{
	if (box->mseq && box->mseq->dirfd >= 0)
		box->msgs[msgno - 1]->modseq = 0;
}

void mseq_free(struct mailbox *box)
{
	if (!box->mseq)
		return;
	files_close(box->mseq);
	free(box->mseq);
	box->mseq = NULL;
}

/* ---------------------------------------------------------------------- */
/* What the front-end asks                                                 */

uint64_t mail_highestmodseq(struct mailbox *box)
{
	struct mseq *ms = box->mseq;

	return ms && ms->dirfd >= 0 && ms->st.uidvalidity == box->uidvalidity ? ms->st.highest : 0;
}

uint64_t mail_modseq_of(struct mailbox *box, uint32_t msgno)
{
	struct mseq *ms = box->mseq;
	struct message *m = box->msgs[msgno - 1];

	if (!ms || ms->dirfd < 0)
		return 0;
	const struct modseq_msg *rec = modseq_find(&ms->st, m->uid);
	uint64_t v = m->modseq;
	/* another session's change recorded since this view was synced */
	if (rec && rec->modseq > v)
		v = rec->modseq;
	return v ? v : ms->st.highest;
}

int mail_modseq_hold(struct mailbox *box)
{
	return mseq_begin(box);
}

void mail_modseq_release(struct mailbox *box)
{
	mseq_end(box, 0);
}

/* Append lo..hi to the ranges *out (merging with the last). */
static void range_add(struct numrange **out, size_t *n, uint32_t lo, uint32_t hi)
{
	if (*n && (*out)[*n - 1].hi + 1 >= lo) {
		if (hi > (*out)[*n - 1].hi)
			(*out)[*n - 1].hi = hi;
		return;
	}
	*out = xrealloc(*out, (*n + 1) * sizeof **out);
	(*out)[(*n)++] = (struct numrange){lo, hi};
}

/* The gap lo..hi (no live message) where expunged after modseq and, with
 * a set (sorted, resolved), in it. */
static void gap_add(const struct modseq_state *st, uint64_t modseq, const struct numrange *set,
		    size_t nset, uint32_t lo, uint32_t hi, struct numrange **out, size_t *n)
{
	for (uint64_t a = lo; a <= hi;) {
		/* the stretch from a with one answer: a recorded range or base */
		uint64_t b = hi;
		int in = modseq_is_gone(st, (uint32_t)a);
		for (size_t g = 0; g < st->ngone; g++) {
			if (in && st->gone[g].lo <= a && st->gone[g].hi >= a && st->gone[g].hi < b)
				b = st->gone[g].hi;
			if (!in && st->gone[g].lo > a && st->gone[g].lo - 1 < b)
				b = st->gone[g].lo - 1;
		}
		if (modseq_gone_at(st, (uint32_t)a) > modseq) {
			if (!set)
				range_add(out, n, (uint32_t)a, (uint32_t)b);
			for (size_t k = 0; set && k < nset; k++) {
				uint64_t x = set[k].lo > a ? set[k].lo : a, y = set[k].hi < b ? set[k].hi : b;
				if (x <= y)
					range_add(out, n, (uint32_t)x, (uint32_t)y);
			}
		}
		a = b + 1;
	}
}

/* qsort order of ranges: by their first number. */
static int range_cmp(const void *a, const void *b)
{
	const struct numrange *x = a, *y = b;

	return x->lo < y->lo ? -1 : x->lo > y->lo;
}

size_t mail_vanished(struct mailbox *box, uint64_t modseq, const struct numset *set,
		     struct numrange **out)
{
	struct mseq *ms = box->mseq;
	struct numrange *sorted = NULL;
	size_t n = 0;

	*out = NULL;
	if (!ms || ms->dirfd < 0 || ms->st.uidvalidity != box->uidvalidity)
		return 0;
	/* this session's view: a UID another session saw arrive since is not
	 * one this session may call gone */
	uint32_t top = box->uidnext;
	if (set) {
		sorted = xcalloc(set->n + 1, sizeof *sorted);
		for (size_t k = 0; k < set->n; k++) {
			uint32_t lo = set->r[k].lo ? set->r[k].lo : top - 1;
			uint32_t hi = set->r[k].hi ? set->r[k].hi : top - 1;
			sorted[k] = (struct numrange){lo < hi ? lo : hi, lo < hi ? hi : lo};
		}
		qsort(sorted, set->n, sizeof *sorted, range_cmp);
	}
	/* the gaps between live UIDs below UIDNEXT */
	uint32_t from = 1;
	for (uint32_t i = 0; i <= box->nmsgs && top > 1; i++) {
		uint32_t to = i < box->nmsgs ? box->msgs[i]->uid : top;
		if (to > from)
			gap_add(&ms->st, modseq, sorted, set ? set->n : 0, from, to - 1, out, &n);
		if (to == UINT32_MAX)
			break;
		from = to + 1;
	}
	free(sorted);
	return n;
}

int mail_status_modseq(struct mail_session *s, const char *name, uint64_t *highest,
		       struct mail_err *err)
{
	struct mailbox *box;

	/* opened to compare what is there with the file, as a SELECT would */
	if (mail_open(s, name, 1, NULL, NULL, &box, err) < 0)
		return -1;
	mail_modseq_enable(box);
	*highest = mail_highestmodseq(box);
	mail_close(box, 0, NULL);
	return 0;
}
