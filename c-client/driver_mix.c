/* driver_mix.c: UW's mix format, an open mailbox shared with UW's own
 * sessions (the metadata flock'd shared while open, UW's "old" bit as the
 * \Recent claim). mix_append.c: APPEND, CREATE, DELETE; mix_file.c: files. */
#include "fsafe.h"
#include "mix_int.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

struct mixmsg {
	struct message m;
	struct mix_ixrec r;
	uint32_t disk_flags;      /* what the status said when last read */
	uint64_t disk_kw;
};

struct mixbox {
	int dir, meta;            /* meta: flock'd shared while open */
	struct stat ist, sst;     /* index and status when last applied */
	uint32_t data_no;         /* the data file datafd is */
	int datafd;
	struct buf text;
	uint32_t text_uid;
};

#define XB(box) ((struct mixbox *)(box)->drvdata)
#define XM(box, i) ((struct mixmsg *)(box)->msgs[i])

/* Has this session changed the message's flags or keywords unsaved? */
static int mix_dirty(const struct mixmsg *xm)
{
	return (xm->m.flags & MF_STORABLE) != xm->disk_flags ||
	       kwset_low(&xm->m.keywords) != xm->disk_kw;
}

/* The box keywords of a disk keyword mask (names from the metadata). */
static uint64_t kw_from_disk(struct mailbox *box, const struct mix_meta *md, uint32_t kw)
{
	uint64_t r = 0;

	for (unsigned i = 0; i < md->nkw; i++) {
		if (!(kw >> i & 1))
			continue;
		int was = box->keywords_creatable;
		box->keywords_creatable = 1;   /* known on disk: a keyword */
		int k = mail_keyword(box, md->kw[i], 1);
		box->keywords_creatable = was;
		if (k >= 0)
			r |= 1ULL << k;
	}
	return r;
}

/* Release everything the open mailbox holds. */
static void mix_close(struct mailbox *box)
{
	struct mixbox *xb = XB(box);

	if (!xb)
		return;
	for (uint32_t i = 0; i < box->nmsgs; i++) {
		pool_free(box->msgs[i]->pool);
		free(box->msgs[i]);
	}
	free(box->msgs);
	box->msgs = NULL;
	box->nmsgs = 0;
	if (xb->datafd >= 0)
		close(xb->datafd);
	if (xb->meta >= 0 && !box->readonly) {
		struct mail_err ignore;
		mix_burp(xb->dir, xb->meta, box->name, &ignore);   /* as UW does at close */
	}
	if (xb->meta >= 0)
		close(xb->meta);
	if (xb->dir >= 0)
		close(xb->dir);
	buf_free(&xb->text);
	free(xb);
	box->drvdata = NULL;
}

/* Drop the messages the index no longer has; the others' places follow
 * the index (a burp moves them). */
static void sync_gone(struct mailbox *box, const struct mix_index *ix)
{
	size_t j = ix->n;

	for (uint32_t i = box->nmsgs; i-- > 0;) {
		uint32_t uid = box->msgs[i]->uid;
		while (j > 0 && ix->v[j - 1].uid > uid)
			j--;
		if (j > 0 && ix->v[j - 1].uid == uid) {
			XM(box, i)->r = ix->v[j - 1];
			continue;
		}
		if (XB(box)->text_uid == uid)
			XB(box)->text_uid = 0;
		struct message *m = mail_msg_take(box, i);
		pool_free(m->pool);
		free(m);
	}
}

/* Add the index's messages above the session's last; returns how many. */
static uint32_t sync_new(struct mailbox *box, const struct mix_index *ix)
{
	uint32_t last = box->nmsgs ? box->msgs[box->nmsgs - 1]->uid : 0, added = 0;

	for (size_t i = 0; i < ix->n; i++) {
		if (ix->v[i].uid <= last)
			continue;
		struct mixmsg *xm = xcalloc(1, sizeof *xm);
		xm->r = ix->v[i];
		xm->m.uid = xm->r.uid;
		xm->m.internal_date = xm->r.date.t;
		xm->m.tz_minutes = xm->r.date.tz;
		xm->m.size = xm->r.size;
		xm->m.drv = xm;
		mail_msg_add(box, &xm->m);
		added++;
	}
	return added;
}

/* Apply the status to the messages (those from first on are new), claim
 * \Recent for the new ones no session has seen (their records get modseq
 * seq); 1 when a claim changed the status records. */
static int sync_flags(struct mailbox *box, struct mix_view *v, uint32_t first, uint32_t seq)
{
	int claimed = 0;

	for (uint32_t i = 0; i < box->nmsgs; i++) {
		struct mixmsg *xm = XM(box, i);
		struct mix_strec *r = mix_status_find(&v->st, xm->m.uid);
		uint32_t f = r ? mix_flags_to_mf(r->flags) : 0;
		uint64_t kw = r ? kw_from_disk(box, &v->meta, r->kw) : 0;
		int dirty = mix_dirty(xm);
		if (i < first && dirty)
			continue;   /* this session's change stands until it is saved */
		int changed = (xm->m.flags & MF_STORABLE) != f || kwset_low(&xm->m.keywords) != kw;
		xm->m.flags = (xm->m.flags & ~MF_STORABLE) | f;
		kwset_from_low(&xm->m.keywords, kw);
		xm->disk_flags = f;
		xm->disk_kw = kw;
		if (i < first && changed)
			mail_ev_flags(box, i + 1);
		if (i >= first && !box->readonly && r && !(r->flags & MIX_OLD)) {
			xm->m.flags |= MF_RECENT;
			box->recent++;
			r->flags |= MIX_OLD;
			r->mod = seq;
			claimed = 1;
		} else if (i >= first && box->readonly && (!r || !(r->flags & MIX_OLD))) {
			xm->m.flags |= MF_RECENT;
			box->recent++;
		}
	}
	return claimed;
}

/* The status file's next sequence (the modseq of the records it changes). */
static uint32_t status_seq(const struct mix_view *v)
{
	return mix_next_seq(v->st.seq, time(NULL));
}

/* Write the status records of v back in place under sequence seq. */
static int status_put(struct mailbox *box, struct mix_view *v, uint32_t seq,
		      struct mail_err *err)
{
	struct buf b;

	v->st.seq = seq;
	buf_init(&b);
	mix_status_format(&b, &v->st);
	int rc = mix_file_put(v->fs.fd, v->fs.data.len, &b, box->name, MIX_STATUS, err);
	buf_free(&b);
	return rc;
}

/* Have the index or the status changed since they were applied? */
static int files_changed(struct mixbox *xb)
{
	struct stat a, b;

	if (fstatat(xb->dir, MIX_INDEX, &a, AT_SYMLINK_NOFOLLOW) < 0 ||
	    fstatat(xb->dir, MIX_STATUS, &b, AT_SYMLINK_NOFOLLOW) < 0)
		return 1;
	return a.st_ino != xb->ist.st_ino || a.st_size != xb->ist.st_size ||
	       a.st_mtim.tv_sec != xb->ist.st_mtim.tv_sec ||
	       a.st_mtim.tv_nsec != xb->ist.st_mtim.tv_nsec || b.st_ino != xb->sst.st_ino ||
	       b.st_size != xb->sst.st_size || b.st_mtim.tv_sec != xb->sst.st_mtim.tv_sec ||
	       b.st_mtim.tv_nsec != xb->sst.st_mtim.tv_nsec;
}

/* Learn the mailbox: expunges, new messages, others' flag changes. */
static int mix_sync(struct mailbox *box, struct mail_err *err)
{
	struct mixbox *xb = XB(box);
	struct mix_view v;

	if (xb->ist.st_ino && !files_changed(xb))
		return 0;
	if (mix_view_load(xb->dir, xb->meta, box->name,
			  box->readonly ? MIX_READ : MIX_STATUS_EX, &v, err) < 0) {
		mix_view_free(&v);
		return -1;
	}
	if (box->uidvalidity && v.meta.validity != box->uidvalidity) {
		mix_view_free(&v);
		mail_err_set(err, MAIL_FAIL, "mix mailbox %s: its UIDVALIDITY changed; select it "
			     "again", box->name);
		return -1;
	}
	box->uidvalidity = v.meta.validity;
	box->uidnext = v.meta.last + 1;
	sync_gone(box, &v.ix);
	uint32_t first = box->nmsgs, added = sync_new(box, &v.ix);
	int rc = 0;
	uint32_t seq = status_seq(&v);
	if (sync_flags(box, &v, first, seq))
		rc = status_put(box, &v, seq, err);
	if (rc == 0) {
		fstat(v.fi.fd, &xb->ist);
		fstat(v.fs.fd, &xb->sst);
	}
	mix_view_free(&v);
	if (added) {
		mail_ev_exists(box);
		mail_ev_recent(box);
	}
	return rc;
}

/* Open: the directory and the metadata held (shared lock, as UW's
 * sessions hold it, so no one burps data under us), the first look. */
static int mix_open(struct mailbox *box, struct mail_err *err)
{
	struct mixbox *xb = xcalloc(1, sizeof *xb);
	const struct mail_events *ev = box->ev;

	/* its masks are 64 bits; the file's 30 names are answered at write
	 * (NO [LIMIT]), so names another session adds are still learnt */
	box->keywords_max = KWSET_INLINE;

	box->drvdata = xb;
	xb->meta = xb->datafd = -1;
	buf_init(&xb->text);
	if ((xb->dir = fsafe_open_dir(box->sess, box->path, err)) < 0) {
		mix_close(box);
		return -1;
	}
	xb->meta = mix_open_in(xb->dir, MIX_META, box->readonly ? O_RDONLY : O_RDWR);
	if (xb->meta < 0 && !box->readonly && errno == EACCES) {
		box->readonly = 1;
		xb->meta = mix_open_in(xb->dir, MIX_META, O_RDONLY);
	}
	if (xb->meta < 0 || mix_flock(xb->meta, LOCK_SH) < 0) {
		mail_err_set(err, MAIL_FAIL, "mix mailbox %s: cannot open %s: %s", box->name,
			     MIX_META, strerror(errno));
		mix_close(box);
		return -1;
	}
	box->ev = NULL;   /* the caller learns the first state from box */
	int rc = mix_sync(box, err);
	box->ev = ev;
	if (rc < 0) {
		mix_close(box);
		return -1;
	}
	box->keywords_creatable = !box->readonly;
	return 0;
}

/* Is any message's flag or keyword changed by this session unsaved? */
static int any_dirty(struct mailbox *box)
{
	for (uint32_t i = 0; i < box->nmsgs; i++)
		if (mix_dirty(XM(box, i)))
			return 1;
	return 0;
}

/* Merge this session's changes into record r, bit by bit, so what others
 * changed on other flags stays; kmap maps box keywords to disk bits. */
static void merge_record(struct mixmsg *xm, struct mix_strec *r, const int *kmap, unsigned nkw,
			 uint32_t seq)
{
	uint32_t fmask = mix_flags_from_mf((xm->m.flags & MF_STORABLE) ^ xm->disk_flags);
	uint64_t kdiff = kwset_low(&xm->m.keywords) ^ xm->disk_kw;

	r->flags = (r->flags & ~fmask) | (mix_flags_from_mf(xm->m.flags) & fmask);
	for (unsigned k = 0; k < nkw; k++)
		if ((kdiff >> k & 1) && kmap[k] >= 0)
			r->kw = (r->kw & ~(1u << kmap[k])) |
				((uint32_t)(kwset_low(&xm->m.keywords) >> k & 1) << kmap[k]);
	r->mod = seq;
}

/* The disk bit of every box keyword a dirty message changes, adding names
 * to md; -1 with err when one cannot be kept. *added: names were added. */
static int keyword_map(struct mailbox *box, struct mix_meta *md, int *kmap, int *added,
		       struct mail_err *err)
{
	uint64_t used = 0;
	unsigned had = md->nkw;

	for (uint32_t i = 0; i < box->nmsgs; i++)
		used |= kwset_low(&XM(box, i)->m.keywords) ^ XM(box, i)->disk_kw;
	for (unsigned k = 0; k < box->nkeywords; k++) {
		kmap[k] = mix_meta_keyword(md, box->keywords[k], (int)(used >> k & 1));
		if (kmap[k] < 0 && (used >> k & 1)) {
			mail_err_set(err, MAIL_LIMIT, "keyword %s cannot be stored in mix mailbox %s "
				     "(at most %d keywords)", box->keywords[k], box->name,
				     MIX_KEYWORDS);
			return -1;
		}
	}
	*added = md->nkw != had;
	return 0;
}

/* Save this session's flag changes: under the index lock (the metadata
 * may gain keywords) and the status lock, merged into the records. */
static int mix_write_flags(struct mailbox *box, struct mail_err *err)
{
	struct mixbox *xb = XB(box);
	struct mix_view v;
	int kmap[MAIL_KEYWORDS_MAX], added = 0, rc = -1;

	if (box->readonly || !any_dirty(box))
		return 0;
	if (mix_view_load(xb->dir, xb->meta, box->name, MIX_ALL_EX, &v, err) < 0 ||
	    keyword_map(box, &v.meta, kmap, &added, err) < 0)
		goto out;
	if (added) {
		v.meta.seq = mix_next_seq(v.meta.seq, time(NULL));
		if (mix_meta_put(xb->meta, &v.meta, box->name, err) < 0)
			goto out;
	}
	uint32_t seq = status_seq(&v);
	for (uint32_t i = 0; i < box->nmsgs; i++) {
		struct mixmsg *xm = XM(box, i);
		/* a message another session expunged meanwhile keeps no flags; one
		 * whose record a crash lost gets one */
		if (mix_dirty(xm) &&
		    mix_index_has(&v.ix, xm->m.uid))
			merge_record(xm, mix_status_get(&v.st, xm->m.uid), kmap, box->nkeywords, seq);
	}
	if ((rc = status_put(box, &v, seq, err)) == 0)
		for (uint32_t i = 0; i < box->nmsgs; i++) {
			XM(box, i)->disk_flags = XM(box, i)->m.flags & MF_STORABLE;
			XM(box, i)->disk_kw = kwset_low(&XM(box, i)->m.keywords);
		}
out:
	mix_view_free(&v);
	return rc;
}

/* Learn others' changes, then save ours. */
static int mix_check(struct mailbox *box, struct mail_err *err)
{
	return mix_sync(box, err) < 0 ? -1 : mix_write_flags(box, err);
}

/* Drop the records of the uids marked in drop from the index and status
 * of v (records of messages this session does not know yet stay). */
static void drop_records(struct mailbox *box, struct mix_view *v, const char *drop)
{
	size_t o = 0, s = 0;
	uint32_t j = 0;

	for (size_t i = 0; i < v->ix.n; i++) {
		while (j < box->nmsgs && box->msgs[j]->uid < v->ix.v[i].uid)
			j++;
		if (!(j < box->nmsgs && box->msgs[j]->uid == v->ix.v[i].uid && drop[j]))
			v->ix.v[o++] = v->ix.v[i];
	}
	v->ix.n = o;
	j = 0;
	for (size_t i = 0; i < v->st.n; i++) {
		while (j < box->nmsgs && box->msgs[j]->uid < v->st.v[i].uid)
			j++;
		if (!(j < box->nmsgs && box->msgs[j]->uid == v->st.v[i].uid && drop[j]))
			v->st.v[s++] = v->st.v[i];
	}
	v->st.n = s;
}

/* Burp if this session has the mailbox alone, and learn the new places
 * (a failed burp changed nothing and is tried again at the next chance). */
static void compact(struct mailbox *box)
{
	struct mixbox *xb = XB(box);
	struct mail_err ignore;

	if (box->readonly || mix_burp(xb->dir, xb->meta, box->name, &ignore) <= 0)
		return;
	if (xb->datafd >= 0)
		close(xb->datafd);
	xb->datafd = -1;
	xb->text_uid = 0;
	xb->ist.st_ino = 0;
	mix_sync(box, &ignore);
}

/* Remove the expunge set's records: the index rewritten in place first (a
 * crash after it leaves only status records of no message, which every
 * reader ignores), then the status. The data stays until a session that
 * has the mailbox alone compacts it (UW's "burp"). */
static int mix_expunge(struct mailbox *box, const uint32_t *uids, size_t nuids,
		       struct mail_err *err)
{
	struct mixbox *xb = XB(box);
	struct mix_view v;
	struct buf b;
	size_t n;

	if (box->readonly) {
		mail_err_set(err, MAIL_NOPERM, "mailbox is read-only");
		return -1;
	}
	if (mix_check(box, err) < 0)
		return -1;
	char *drop = mail_expunge_set(box, uids, nuids, &n);
	int rc = 0;
	if (n) {
		rc = mix_view_load(xb->dir, xb->meta, box->name, MIX_ALL_EX, &v, err);
		if (rc == 0) {
			drop_records(box, &v, drop);
			v.ix.seq = mix_next_seq(v.ix.seq > v.st.seq ? v.ix.seq : v.st.seq, time(NULL));
			buf_init(&b);
			mix_index_format(&b, &v.ix);
			rc = mix_file_put(v.fi.fd, v.fi.data.len, &b, box->name, MIX_INDEX, err);
			buf_free(&b);
			if (rc == 0)
				rc = status_put(box, &v, status_seq(&v), err);
		}
		mix_view_free(&v);
	}
	for (uint32_t i = box->nmsgs; rc == 0 && n && i-- > 0;) {
		if (!drop[i])
			continue;
		if (xb->text_uid == box->msgs[i]->uid)
			xb->text_uid = 0;
		struct message *m = mail_msg_take(box, i);
		pool_free(m->pool);
		free(m);
	}
	free(drop);
	if (rc == 0 && n)
		compact(box);
	xb->ist.st_ino = 0;   /* look again at the next ping */
	return rc;
}

/* Read len bytes at off of the message's data file into xb->text. */
static int read_data(struct mailbox *box, const struct mixmsg *xm, size_t off, size_t len,
		     struct mail_err *err)
{
	struct mixbox *xb = XB(box);
	char name[32];

	if (xb->datafd < 0 || xb->data_no != xm->r.file) {
		if (xb->datafd >= 0)
			close(xb->datafd);
		mix_data_name(name, xm->r.file);
		xb->data_no = xm->r.file;
		xb->datafd = mix_open_in(xb->dir, name, O_RDONLY);
		if (xb->datafd < 0) {
			mail_err_set(err, MAIL_CORRUPT, "mix mailbox %s: data file %s of message "
				     "UID %u cannot be opened: %s", box->name, name, xm->m.uid,
				     strerror(errno));
			return -1;
		}
	}
	buf_reset(&xb->text);
	buf_reserve(&xb->text, len + 1);
	ssize_t r = pread(xb->datafd, xb->text.data, len, (off_t)off);
	if (r < 0 || (size_t)r != len) {
		mail_err_set(err, MAIL_CORRUPT, "mix mailbox %s: message UID %u is cut short in "
			     "its data file", box->name, xm->m.uid);
		return -1;
	}
	xb->text.len = len;
	xb->text.data[len] = '\0';
	return 0;
}

/* The first len bytes of a message's text into xb->text, after its
 * record is checked (UW's test for a damaged data file). */
static int read_text(struct mailbox *box, const struct mixmsg *xm, size_t len,
		     struct mail_err *err)
{
	struct mixbox *xb = XB(box);

	xb->text_uid = 0;
	if (read_data(box, xm, xm->r.pos, (size_t)xm->r.hoff + len, err) < 0)
		return -1;
	if (mix_msgrec_check(xb->text.data, xb->text.len, xm->m.uid) != xm->r.hoff) {
		mail_err_set(err, MAIL_CORRUPT, "mix mailbox %s: the data of message UID %u is "
			     "damaged", box->name, xm->m.uid);
		return -1;
	}
	memmove(xb->text.data, xb->text.data + xm->r.hoff, len);
	xb->text.len = len;
	xb->text.data[len] = '\0';
	return 0;
}

/* What mix_copy's reads need: the source mailbox and the messages. */
struct copy_src {
	struct mailbox *box;
	const uint32_t *msgnos;
};

/* A COPY's text i as stored, appended to out. */
static int copy_read(void *ctx, size_t len, size_t i, struct buf *out, struct mail_err *err)
{
	struct copy_src *c = ctx;

	if (read_text(c->box, XM(c->box, c->msgnos[i] - 1), len, err) < 0)
		return -1;
	buf_append(out, XB(c->box)->text.data, len);
	return 0;
}

/* COPY between mix mailboxes: the stored texts read once and written as
 * they are (no copy of every text held at once, no canonical pass), with
 * flags, keywords by name and dates, through the append's write order. */
static int mix_copy(struct mailbox *box, const uint32_t *msgnos, size_t n, const char *destpath,
		    uint32_t *validity_out, uint32_t *uids_out, struct mail_err *err)
{
	struct mail_new *nm = xcalloc(n + 1, sizeof *nm);
	struct copy_src c = {box, msgnos};
	struct mix_src src = {copy_read, &c};
	int rc;

	for (size_t i = 0; i < n; i++) {
		mail_new_meta(box, box->msgs[msgnos[i] - 1], &nm[i]);
		nm[i].len = XM(box, msgnos[i] - 1)->r.size;
	}
	rc = mix_append_from(box->sess, destpath, nm, n, &src, validity_out, uids_out, err);
	for (size_t i = 0; i < n; i++)
		free(nm[i].keywords);
	free(nm);
	return rc;
}

/* The whole message, stored as it is served (CRLF); the last is kept. */
static int mix_fetch(struct mailbox *box, uint32_t msgno, const char **text, size_t *len,
		     struct mail_err *err)
{
	struct mixbox *xb = XB(box);
	struct mixmsg *xm = XM(box, msgno - 1);

	if (xb->text_uid != xm->m.uid) {
		if (read_text(box, xm, xm->r.size, err) < 0)
			return -1;
		xb->text_uid = xm->m.uid;
	}
	*text = xb->text.data;
	*len = xb->text.len;
	return 0;
}

/* ENVELOPE and header searches: the header alone (its size is in the
 * index), not the body. */
static int mix_fetch_header(struct mailbox *box, uint32_t msgno, const char **text, size_t *len,
			    struct mail_err *err)
{
	struct mixbox *xb = XB(box);
	struct mixmsg *xm = XM(box, msgno - 1);
	uint32_t h = xm->r.hsiz < xm->r.size ? xm->r.hsiz : xm->r.size;

	if (xb->text_uid != xm->m.uid && read_text(box, xm, h, err) < 0)
		return -1;
	*text = xb->text.data;
	*len = h;
	return 0;
}

/* STATUS: counts from the files under their shared locks, nothing written. */
static int mix_status(struct mail_session *sess, const char *path, struct mail_status *st,
		      struct mail_err *err)
{
	struct mix_oneoff o;

	memset(st, 0, sizeof *st);
	int rc = mix_oneoff_open(sess, path, MIX_READ, &o, err);
	if (rc == 0) {
		st->uidvalidity = o.v.meta.validity;
		st->uidnext = o.v.meta.last + 1;
		for (size_t i = 0; i < o.v.ix.n; i++) {
			struct mix_strec *r = mix_status_find(&o.v.st, o.v.ix.v[i].uid);
			st->messages++;
			st->size += o.v.ix.v[i].size;   /* the CRLF text mix stores */
			st->unseen += !r || !(r->flags & MIX_SEEN);
			st->recent += !r || !(r->flags & MIX_OLD);
		}
	}
	mix_oneoff_close(&o);
	return rc;
}

/* Is leaf a directory holding a .mixmeta file? */
static int mix_valid(int dirfd, const char *leaf, const struct stat *st)
{
	struct stat m;

	if (!S_ISDIR(st->st_mode))
		return 0;
	int fd = openat(dirfd, leaf, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return 0;
	int ok = fstatat(fd, MIX_META, &m, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(m.st_mode);
	close(fd);
	return ok;
}

/* IDLE: any change in the directory (the index and status are rewritten
 * in place, which inotify reports as a change of the entry). */
static int mix_watch(struct mailbox *box, int ifd)
{
	return mail_watch_add(box, ifd, XB(box)->dir, NULL);
}

const struct driver driver_mix = {
	.name = "mix",
	.flags = DRV_DIRECTORY | DRV_NESTS,
	.valid = mix_valid,
	.open = mix_open,
	.close = mix_close,
	.ping = mix_sync,
	.check = mix_check,
	.flush = mix_write_flags,
	.expunge = mix_expunge,
	.fetch = mix_fetch,
	.fetch_header = mix_fetch_header,
	.append = mix_append,
	.copy = mix_copy,
	.create = mix_create,
	.status = mix_status,
	.remove = mix_remove,
	.rename = mix_rename,
	.watch = mix_watch,
};
