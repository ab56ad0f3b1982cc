/* driver_mh.c: the MH driver's entry points (folders as nmh writes them):
 * an open folder is a scan of its numbered files, the numbers being the
 * UIDs, with flags and keywords in .mh_sequences (mh_dir.c). Nothing is
 * locked for reading; the sequences are written under nmh's lock. */
#include "mh_int.h"
#include "fsafe.h"
#include "log.h"
#include "msgfile.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

/* Temp files of appends killed midway go after 36 hours (Maildir's rule). */
#define MH_TMP_KEEP_SECS (36 * 3600)

struct mhmsg {
	struct message m;
	uint64_t ino, stamp, ver; /* which file it is, and its bytes (mh_int.h) */
	uint32_t disk_flags;      /* what the sequences said when last read */
	struct kwset disk_kw;
};

struct mhbox {
	int dir;
	struct buf text;
	uint32_t text_uid;        /* whose whole text is in text (0: none) */
	struct stat seq_st;       /* .mh_sequences when last read */
	int opened;               /* the first look is done */
	struct mh_scan known;     /* the record's files, during the first look */
};

#define HB(box) ((struct mhbox *)(box)->drvdata)
#define HM(box, i) ((struct mhmsg *)(box)->msgs[i])

/* Release the session's messages and the folder's descriptor. */
static void mh_close(struct mailbox *box)
{
	struct mhbox *hb = HB(box);

	if (!hb)
		return;
	for (uint32_t i = 0; i < box->nmsgs; i++)
		kwset_free(&HM(box, i)->disk_kw);
	mail_msgs_free(box);
	if (hb->dir >= 0)
		close(hb->dir);
	mh_scan_free(&hb->known);
	buf_free(&hb->text);
	free(hb);
	box->drvdata = NULL;
}

/* Release a message taken out of the box. */
static void mh_msg_free(struct message *m)
{
	pool_free(m->pool);
	kwset_free(&m->keywords);
	kwset_free(&((struct mhmsg *)m)->disk_kw);
	free(m);
}

/* The box keywords whose sequences hold num into kw (sequences not yet
 * known as keywords become keywords). */
static void seq_keywords(struct mailbox *box, struct mh_seqs *q, uint32_t num, struct kwset *kw)
{
	kwset_free(kw);
	for (size_t i = 0; i < q->n; i++) {
		if (!mh_keyword_seq_ok(q->v[i].name) || !mh_seq_has(&q->v[i], num))
			continue;
		/* known on disk: a keyword even where clients may not make one */
		int was = box->keywords_creatable;
		box->keywords_creatable = 1;
		int k = mail_keyword(box, q->v[i].name, 1);
		box->keywords_creatable = was;
		if (k >= 0)
			kwset_set(kw, (unsigned)k);
	}
}

/* Has this session changed the message's flags or keywords unsaved? */
static int mh_dirty(const struct mhmsg *hm)
{
	return (hm->m.flags & MF_STORABLE) != hm->disk_flags ||
	       !kwset_equal(&hm->m.keywords, &hm->disk_kw);
}

/* Apply the sequences to every message this session has not changed. */
static void apply_seqs(struct mailbox *box, struct mh_seqs *q, uint32_t first_new)
{
	for (uint32_t i = 0; i < box->nmsgs; i++) {
		struct mhmsg *hm = HM(box, i);
		uint32_t f = mh_seq_flags(q, hm->m.uid);
		struct kwset kw = KWSET_EMPTY;
		seq_keywords(box, q, hm->m.uid, &kw);
		if (mh_dirty(hm) && i < first_new) {
			kwset_free(&kw);
			continue;
		}
		int changed = (hm->m.flags & MF_STORABLE) != f || !kwset_equal(&hm->m.keywords, &kw);
		hm->m.flags = (hm->m.flags & ~MF_STORABLE) | f;
		kwset_copy(&hm->m.keywords, &kw);
		hm->disk_flags = f;
		kwset_free(&hm->disk_kw);
		hm->disk_kw = kw;
		if (changed && i < first_new)
			mail_ev_flags(box, i + 1);
	}
}

/* RFC822.SIZE of the scanned file e (name, lstat as st): the record's
 * for the same file, so nothing is read at open or STATUS, else read. */
static uint64_t ent_vsize(int dirfd, const struct mh_scan *known, const struct mh_ent *e,
			  const char *name, const struct stat *st)
{
	const struct mh_ent *k = mh_known(known, e);

	return k && k->vsize && k->ver == e->ver ? k->vsize : msgfile_vsize(dirfd, name, st);
}

/* A message for the scanned file e. */
static struct mhmsg *msg_new(struct mailbox *box, const struct mh_ent *e)
{
	char name[16];
	struct stat st;
	struct mhmsg *hm = xcalloc(1, sizeof *hm);

	snprintf(name, sizeof name, "%u", e->num);
	hm->m.uid = e->num;
	hm->m.drv = hm;
	hm->ino = e->ino;
	hm->stamp = e->stamp;
	hm->ver = e->ver;
	if (fstatat(HB(box)->dir, name, &st, AT_SYMLINK_NOFOLLOW) == 0) {
		hm->m.internal_date = st.st_mtime;
		/* MH keeps flags outside the file: its ctime is when it was stored */
		hm->m.save_date = st.st_ctime;
		hm->m.size = ent_vsize(HB(box)->dir, &HB(box)->known, e, name, &st);
	}
	return hm;
}

/* Drop the messages whose files are gone (or are other files now). */
static void sync_gone(struct mailbox *box, const struct mh_scan *sc)
{
	size_t j = 0;

	for (uint32_t i = box->nmsgs; i-- > 0;) {
		struct mhmsg *hm = HM(box, i);
		while (j < sc->n && sc->v[sc->n - 1 - j].num > hm->m.uid)
			j++;
		const struct mh_ent *e = j < sc->n ? &sc->v[sc->n - 1 - j] : NULL;
		if (e && e->num == hm->m.uid && e->ino == hm->ino && e->stamp == hm->stamp)
			continue;
		if (HB(box)->text_uid == hm->m.uid)
			HB(box)->text_uid = 0;
		mh_msg_free(mail_msg_take(box, i));
	}
}

/* Claim \Recent for the new messages from first on (under the lock). */
static void claim_recent(struct mailbox *box, uint32_t first)
{
	uint32_t v = 0, hw = 0;

	if (mail_recent_get(box->sess, box->path, &v, &hw) < 0 || v != box->uidvalidity)
		hw = 0;
	for (uint32_t i = first; i < box->nmsgs; i++)
		if (box->msgs[i]->uid > hw) {
			box->msgs[i]->flags |= MF_RECENT;
			box->recent++;
		}
	if (box->nmsgs && box->msgs[box->nmsgs - 1]->uid > hw)
		mail_recent_put(box->sess, box->path, box->uidvalidity,
				box->msgs[box->nmsgs - 1]->uid);
}

/* Record the folder: the scanned files with the sizes the session knows. */
static void save_state(struct mailbox *box, struct mh_scan *sc)
{
	uint32_t j = 0;

	for (size_t i = 0; i < sc->n; i++) {
		while (j < box->nmsgs && box->msgs[j]->uid < sc->v[i].num)
			j++;
		struct mhmsg *hm = j < box->nmsgs ? HM(box, j) : NULL;
		if (hm && hm->m.uid == sc->v[i].num && hm->ino == sc->v[i].ino &&
		    hm->stamp == sc->v[i].stamp && hm->ver == sc->v[i].ver)
			sc->v[i].vsize = hm->m.size;
	}
	mh_state_save(box->sess, box->path, box->uidvalidity, box->uidnext, sc);
}

/* Does the record read at open already say the scan, sizes and all (so
 * an open of an unchanged folder writes nothing)? */
static int record_current(const struct mhbox *hb, const struct mh_scan *sc)
{
	if (hb->known.n != sc->n)
		return 0;
	for (size_t i = 0; i < sc->n; i++)
		if (hb->known.v[i].num != sc->v[i].num || !mh_known(&hb->known, &sc->v[i]) ||
		    !hb->known.v[i].vsize || hb->known.v[i].ver != sc->v[i].ver)
			return 0;
	return 1;
}

/* Has .mh_sequences changed since the session last read it? */
static int seq_changed(const struct mhbox *hb)
{
	struct stat st;

	if (fstatat(hb->dir, MH_SEQUENCES, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return hb->seq_st.st_ino != 0;
	return st.st_ino != hb->seq_st.st_ino || st.st_size != hb->seq_st.st_size ||
	       st.st_mtim.tv_sec != hb->seq_st.st_mtim.tv_sec ||
	       st.st_mtim.tv_nsec != hb->seq_st.st_mtim.tv_nsec;
}

/* Look at the folder: expunges, new messages, others' flag changes. */
static int mh_sync(struct mailbox *box, struct mail_err *err)
{
	struct mhbox *hb = HB(box);
	struct mh_scan sc;
	struct mh_seqs q;
	uint32_t first = box->nmsgs, had = box->nmsgs;

	if (mh_scan(hb->dir, &sc) < 0) {
		mail_err_set(err, MAIL_FAIL, "cannot read folder %s: %s", box->name, strerror(errno));
		return -1;
	}
	sync_gone(box, &sc);
	first = box->nmsgs;
	uint32_t last = box->nmsgs ? box->msgs[box->nmsgs - 1]->uid : 0;
	size_t below = 0;
	while (below < sc.n && sc.v[below].num <= last)
		below++;
	/* a number we handed out before that names a message we do not have
	 * (at open mh_validity has judged the folder against its record) */
	if (hb->opened && (below > box->nmsgs || (below < sc.n && sc.v[below].num < box->uidnext))) {
		mh_scan_free(&sc);
		mail_err_set(err, MAIL_FAIL, "folder %s was renumbered by another program; "
			     "select it again", box->name);
		return -1;
	}
	for (size_t i = below; i < sc.n; i++)
		mail_msg_add(box, &msg_new(box, &sc.v[i])->m);
	int lk = -1;
	if (box->nmsgs > first && !box->readonly) {
		lk = mh_seq_lock(hb->dir, err);   /* the claim is made under it */
		if (lk >= 0)
			claim_recent(box, first);
	}
	if (box->nmsgs > first || box->nmsgs != had || seq_changed(hb)) {
		/* through the locked descriptor when we hold it: closing another
		 * one of the same file would drop the process's fcntl lock */
		if (lk >= 0) {
			mh_seq_load(lk, &q);
			fstat(lk, &hb->seq_st);
		} else {
			mh_seq_read(hb->dir, &q, &hb->seq_st);
		}
		apply_seqs(box, &q, first);
		mh_seqs_free(&q);
	}
	if (lk >= 0)
		close(lk);
	if (box->nmsgs && box->msgs[box->nmsgs - 1]->uid >= box->uidnext)
		box->uidnext = box->msgs[box->nmsgs - 1]->uid + 1;
	if (!box->readonly && (box->nmsgs != had || first != had) &&
	    (hb->opened || !record_current(hb, &sc)))
		save_state(box, &sc);
	if (box->nmsgs > first) {
		mail_ev_exists(box);
		mail_ev_recent(box);
	}
	mh_scan_free(&sc);
	return 0;
}

/* Open: the folder held, its UIDVALIDITY judged against the record, the
 * first look, stale temp files cleaned. */
static int mh_open(struct mailbox *box, struct mail_err *err)
{
	struct mhbox *hb = xcalloc(1, sizeof *hb);
	const struct mail_events *ev = box->ev;
	struct mh_scan sc;


	box->drvdata = hb;
	buf_init(&hb->text);
	if ((hb->dir = fsafe_open_dir(box->sess, box->path, err)) < 0 || mh_scan(hb->dir, &sc) < 0) {
		if (hb->dir >= 0)
			mail_err_set(err, MAIL_FAIL, "cannot read %s: %s", box->name, strerror(errno));
		mh_close(box);
		return -1;
	}
	/* the record's UIDNEXT stays: numbers expunged at the end are not
	 * given out again as UIDs */
	box->uidvalidity = mh_validity(box->sess, box->path, hb->dir, &sc, &box->uidnext,
				       &hb->known);
	mh_scan_free(&sc);
	box->ev = NULL;   /* the caller learns the first state from box */
	int rc = mh_sync(box, err);
	box->ev = ev;
	if (rc < 0) {
		mh_close(box);
		return -1;
	}
	hb->opened = 1;
	mh_scan_free(&hb->known);
	box->keywords_creatable = !box->readonly;
	if (!box->readonly)
		msgfile_clean_stale(hb->dir, MH_TMP_PREFIX, MH_TMP_KEEP_SECS);
	return 0;
}

/* Write the session's flag changes into the sequences, bit by bit, so
 * what others changed on other messages (or other flags) stays. */
static int mh_write_flags(struct mailbox *box, struct mail_err *err)
{
	struct mh_seqs q;
	uint32_t i;
	int lk, rc;

	for (i = 0; i < box->nmsgs; i++)
		if (mh_dirty(HM(box, i)))
			break;
	if (box->readonly || i == box->nmsgs)
		return 0;
	struct kwset changed = KWSET_EMPTY, diff = KWSET_EMPTY;
	for (uint32_t j = i; j < box->nmsgs; j++) {
		kwset_xor(&diff, &HM(box, j)->m.keywords, &HM(box, j)->disk_kw);
		kwset_union(&changed, &diff);
	}
	for (int k = kwset_next(&changed, 0); k >= 0; k = kwset_next(&changed, (unsigned)k + 1))
		if ((unsigned)k < box->nkeywords && !mh_keyword_seq_ok(box->keywords[k])) {
			mail_err_set(err, MAIL_LIMIT, "Cannot store keyword %s in an MH folder: it "
				     "cannot be a sequence name", box->keywords[k]);
			kwset_free(&changed);
			kwset_free(&diff);
			return -1;
		}
	kwset_free(&changed);
	if ((lk = mh_seq_lock(HB(box)->dir, err)) < 0) {
		kwset_free(&diff);
		return -1;
	}
	/* another's change this session has not read yet is in what we
	 * write back: it must be learnt now, not taken for our own */
	int news = seq_changed(HB(box));
	mh_seq_load(lk, &q);
	for (; i < box->nmsgs; i++) {
		struct mhmsg *hm = HM(box, i);
		kwset_xor(&diff, &hm->m.keywords, &hm->disk_kw);
		mh_seq_put_flags(&q, hm->m.uid, hm->m.flags, (hm->m.flags & MF_STORABLE) ^ hm->disk_flags);
		for (int k = kwset_next(&diff, 0); k >= 0 && (unsigned)k < box->nkeywords;
		     k = kwset_next(&diff, (unsigned)k + 1))
			mh_keyword_put(&q, box->keywords[k], hm->m.uid,
				       kwset_test(&hm->m.keywords, (unsigned)k));
	}
	kwset_free(&diff);
	rc = mh_seq_store(lk, &q, err);
	if (rc == 0) {
		for (i = 0; i < box->nmsgs; i++) {
			HM(box, i)->disk_flags = HM(box, i)->m.flags & MF_STORABLE;
			kwset_copy(&HM(box, i)->disk_kw, &HM(box, i)->m.keywords);
		}
		if (news)
			apply_seqs(box, &q, box->nmsgs);
		fstat(lk, &HB(box)->seq_st);   /* our own write is no news */
	}
	mh_seqs_free(&q);
	close(lk);
	return rc;
}

/* NOOP, IDLE and the end of commands: learn what others did. */
static int mh_ping(struct mailbox *box, struct mail_err *err)
{
	return mh_sync(box, err);
}

/* Make this session's flag changes visible now. */
static int mh_flush(struct mailbox *box, struct mail_err *err)
{
	return mh_write_flags(box, err);
}

/* Learn others' changes, then save ours. */
static int mh_check(struct mailbox *box, struct mail_err *err)
{
	return mh_sync(box, err) < 0 ? -1 : mh_write_flags(box, err);
}

/* Unlink the \Deleted messages' files (each one at once: a crash leaves
 * every message there or gone, never half), then drop their numbers from
 * every sequence. */
static int mh_expunge(struct mailbox *box, const uint32_t *uids, size_t nuids,
		      struct mail_err *err)
{
	struct mh_seqs q;
	size_t n;
	int rc = 0;

	if (box->readonly) {
		mail_err_set(err, MAIL_NOPERM, "mailbox is read-only");
		return -1;
	}
	if (mh_sync(box, err) < 0)
		return -1;
	char *drop = mail_expunge_set(box, uids, nuids, &n);
	uint32_t *gone = xcalloc(n + 1, sizeof *gone);
	size_t ngone = 0;
	for (uint32_t i = box->nmsgs; n && i-- > 0;) {
		char name[16];
		if (!drop[i])
			continue;
		snprintf(name, sizeof name, "%u", box->msgs[i]->uid);
		if (unlinkat(HB(box)->dir, name, 0) < 0 && errno != ENOENT) {
			mail_err_set(err, MAIL_FAIL, "cannot expunge message %u: %s", i + 1,
				     strerror(errno));
			rc = -1;
			continue;
		}
		if (HB(box)->text_uid == box->msgs[i]->uid)
			HB(box)->text_uid = 0;
		gone[ngone++] = box->msgs[i]->uid;
		mh_msg_free(mail_msg_take(box, i));
	}
	free(drop);
	int lk = ngone ? mh_seq_lock(HB(box)->dir, err) : -1;
	if (lk >= 0) {
		mh_seq_load(lk, &q);
		for (size_t s = 0; s < q.n; s++)
			for (size_t g = 0; g < ngone; g++)
				mh_seq_set(&q.v[s], gone[g], 0);
		mh_seq_store(lk, &q, err);
		fstat(lk, &HB(box)->seq_st);
		mh_seqs_free(&q);
		close(lk);
	}
	free(gone);
	struct mh_scan sc;
	if (ngone && mh_scan(HB(box)->dir, &sc) == 0) {
		save_state(box, &sc);
		mh_scan_free(&sc);
	}
	if (rc == 0)
		rc = mh_write_flags(box, err);
	return rc;
}

/* Open message msgno's file to read. */
static int open_file(struct mailbox *box, uint32_t msgno, struct stat *st, struct mail_err *err)
{
	char name[16];

	snprintf(name, sizeof name, "%u", box->msgs[msgno - 1]->uid);
	int fd = msgfile_open(HB(box)->dir, name, st);
	if (fd < 0)
		mail_err_set(err, MAIL_FAIL, errno == ENOENT ?
			     "message %u has been expunged by another session" :
			     "message %u cannot be read: %s", msgno, strerror(errno));
	return fd;
}

/* A message's canonical text (the last one read is kept). */
static int mh_fetch(struct mailbox *box, uint32_t msgno, const char **text, size_t *len,
		    struct mail_err *err)
{
	struct mhbox *hb = HB(box);
	struct message *m = box->msgs[msgno - 1];
	struct stat st;

	if (hb->text_uid != m->uid) {
		int fd = open_file(box, msgno, &st, err);
		if (fd < 0)
			return -1;
		int rc = msgfile_read_canon(fd, &st, &hb->text);
		close(fd);
		if (rc < 0) {
			mail_err_set(err, MAIL_FAIL, "cannot read message %u: %s", msgno,
				     strerror(errno));
			return -1;
		}
		m->size = hb->text.len;   /* the size told must be the text given */
		hb->text_uid = m->uid;
	}
	*text = hb->text.data ? hb->text.data : "";
	*len = hb->text.len;
	return 0;
}

/* ENVELOPE and header searches: the header alone, read until its blank
 * line; kept in the text buffer as a partial. */
static int mh_fetch_header(struct mailbox *box, uint32_t msgno, const char **text, size_t *len,
			   struct mail_err *err)
{
	struct mhbox *hb = HB(box);
	struct stat st;

	if (hb->text_uid == box->msgs[msgno - 1]->uid) {
		size_t e = msgfile_header_end(hb->text.data ? hb->text.data : "", hb->text.len);
		*text = hb->text.data ? hb->text.data : "";
		*len = e ? e : hb->text.len;
		return 0;
	}
	int fd = open_file(box, msgno, &st, err);
	if (fd < 0)
		return -1;
	msgfile_read_header(fd, &hb->text);
	close(fd);
	hb->text_uid = 0;
	*text = hb->text.data ? hb->text.data : "";
	*len = hb->text.len;
	return 0;
}

/* STATUS from a scan and the sequences, writing nothing. */
static int mh_status(struct mail_session *sess, const char *path, struct mail_status *st,
		     struct mail_err *err)
{
	struct mh_scan sc, known = { 0 };
	struct mh_seqs q;
	struct stat qs, fs;
	uint32_t v = 0, hw = 0;
	char name[16];
	int dfd = fsafe_open_dir(sess, path, err);

	memset(st, 0, sizeof *st);
	if (dfd < 0)
		return -1;
	if (mh_scan(dfd, &sc) < 0) {
		mail_err_set(err, MAIL_FAIL, "cannot read %s: %s", path, strerror(errno));
		close(dfd);
		return -1;
	}
	st->uidvalidity = mh_validity(sess, path, dfd, &sc, &st->uidnext, &known);
	if (mail_recent_get(sess, path, &v, &hw) < 0 || v != st->uidvalidity)
		hw = 0;
	mh_seq_read(dfd, &q, &qs);
	for (size_t i = 0; i < sc.n; i++) {
		st->messages++;
		st->unseen += !(mh_seq_flags(&q, sc.v[i].num) & MF_SEEN);
		st->recent += sc.v[i].num > hw;
		snprintf(name, sizeof name, "%u", sc.v[i].num);
		if (fstatat(dfd, name, &fs, AT_SYMLINK_NOFOLLOW) == 0)
			st->size += ent_vsize(dfd, &known, &sc.v[i], name, &fs);
	}
	mh_seqs_free(&q);
	mh_scan_free(&known);
	mh_scan_free(&sc);
	close(dfd);
	return 0;
}

/* COPY between MH folders: hard links (or copies) numbered in the
 * destination as an APPEND is, with the messages' flags and keywords. */
static int mh_copy(struct mailbox *box, const uint32_t *msgnos, size_t n, const char *destpath,
		   uint32_t *validity_out, uint32_t *uids_out, struct mail_err *err)
{
	char (*tmp)[64] = xcalloc(n + 1, sizeof *tmp);
	struct mail_new *nm = xcalloc(n + 1, sizeof *nm);
	char **kw = xcalloc((n + 1) * (box->nkeywords + 1), sizeof *kw);
	int dfd = fsafe_open_dir(box->sess, destpath, err), rc = dfd < 0 ? -1 : 0;

	for (size_t i = 0; rc == 0 && i < n; i++) {
		struct message *m = box->msgs[msgnos[i] - 1];
		struct stat st;
		nm[i].keywords = kw + i * (box->nkeywords + 1);
		mail_keyword_names(box, m, nm[i].keywords);
		nm[i].flags = m->flags & MF_STORABLE;
		int fd = open_file(box, msgnos[i], &st, err);
		rc = fd < 0 ? -1 : mh_put_file(dfd, fd, tmp[i], err);
		if (fd >= 0)
			close(fd);
	}
	if (rc == 0)
		rc = mh_commit(box->sess, destpath, dfd, tmp, nm, n, validity_out, uids_out, err);
	if (dfd >= 0) {
		mh_tmp_discard(dfd, tmp, n);
		close(dfd);
	}
	free(tmp);
	free(nm);
	free(kw);
	return rc;
}

/* IDLE: any change in the folder (deliveries, expunges, the sequences). */
static int mh_watch(struct mailbox *box, int ifd)
{
	return mail_watch_add(box, ifd, HB(box)->dir, NULL);
}

const struct driver driver_mh = {
	.name = "mh",
	.flags = DRV_DIRECTORY | DRV_NESTS | DRV_SAVEDATE,
	.valid = mh_valid,
	.open = mh_open,
	.close = mh_close,
	.ping = mh_ping,
	.check = mh_check,
	.flush = mh_flush,
	.expunge = mh_expunge,
	.fetch = mh_fetch,
	.fetch_header = mh_fetch_header,
	.append = mh_append,
	.create = mh_create,
	.status = mh_status,
	.remove = mh_remove,
	.copy = mh_copy,
	.watch = mh_watch,
};
