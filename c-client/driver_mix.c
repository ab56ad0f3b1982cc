/* driver_mix.c: UW's mix format (a directory: .mixmeta, .mixindex,
 * .mixstatus and .mix<hex> data files), read and written so UW's own
 * sessions share a mailbox with ours: the metadata held open under a shared
 * flock while the mailbox is open, flags in the status file with UW's
 * "old" bit as the \Recent claim, and expunged data left where it is. */
#include "mix_int.h"
#include "fsafe.h"
#include "msgfile.h"

#include <dirent.h>
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

static const struct {
	uint32_t mf, mix;
} flag_map[] = {
	{MF_SEEN, MIX_SEEN}, {MF_DELETED, MIX_DELETED}, {MF_FLAGGED, MIX_FLAGGED},
	{MF_ANSWERED, MIX_ANSWERED}, {MF_DRAFT, MIX_DRAFT},
};

/* Status bits to MF_ flags. */
static uint32_t from_mix(uint32_t f)
{
	uint32_t r = 0;

	for (size_t i = 0; i < ARRAY_SIZE(flag_map); i++)
		if (f & flag_map[i].mix)
			r |= flag_map[i].mf;
	return r;
}

/* MF_ flags to status bits. */
static uint32_t to_mix(uint32_t f)
{
	uint32_t r = 0;

	for (size_t i = 0; i < ARRAY_SIZE(flag_map); i++)
		if (f & flag_map[i].mf)
			r |= flag_map[i].mix;
	return r;
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

/* The index of name in the metadata's keywords, added when add is set
 * and there is room; -1 otherwise. */
static int meta_keyword(struct mix_meta *md, const char *name, int add)
{
	for (unsigned i = 0; i < md->nkw; i++)
		if (!strcasecmp(md->kw[i], name))
			return (int)i;
	if (!add || md->nkw >= MIX_KEYWORDS || !mix_keyword_ok(name))
		return -1;
	md->kw[md->nkw] = xstrdup(name);
	return (int)md->nkw++;
}

/* Keyword names (NULL-terminated) as a disk mask, adding missing names to
 * md; -1 with err when one cannot be kept. */
static int names_to_disk(struct mix_meta *md, char *const *names, uint32_t *mask,
			 struct mail_err *err)
{
	*mask = 0;
	for (size_t i = 0; names && names[i]; i++) {
		int k = meta_keyword(md, names[i], 1);
		if (k < 0) {
			mail_err_set(err, MAIL_LIMIT, "keyword %s cannot be stored in a mix mailbox "
				     "(at most %d keywords, atoms)", names[i], MIX_KEYWORDS);
			return -1;
		}
		*mask |= 1u << k;
	}
	return 0;
}

/* Write the metadata in place through fd (its size when read: old). */
static int meta_put(int fd, struct mix_meta *md, size_t old, const char *mbox,
		    struct mail_err *err)
{
	struct buf b;

	buf_init(&b);
	mix_meta_format(&b, md);
	int rc = mix_file_put(fd, old, &b, mbox, MIX_META, err);
	buf_free(&b);
	return rc;
}

/* Size of the metadata file open at fd. */
static size_t fd_size(int fd)
{
	struct stat st;

	return fstat(fd, &st) == 0 ? (size_t)st.st_size : 0;
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
		uint32_t f = r ? from_mix(r->flags) : 0;
		uint64_t kw = r ? kw_from_disk(box, &v->meta, r->kw) : 0;
		int dirty = (xm->m.flags & MF_STORABLE) != xm->disk_flags || xm->m.keywords != xm->disk_kw;
		if (i < first && dirty)
			continue;   /* this session's change stands until it is saved */
		int changed = (xm->m.flags & MF_STORABLE) != f || xm->m.keywords != kw;
		xm->m.flags = (xm->m.flags & ~MF_STORABLE) | f;
		xm->m.keywords = kw;
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

	box->drvdata = xb;
	xb->meta = xb->datafd = -1;
	buf_init(&xb->text);
	if ((xb->dir = mix_dir_open(box->sess, box->path, err)) < 0) {
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
		if ((XM(box, i)->m.flags & MF_STORABLE) != XM(box, i)->disk_flags ||
		    XM(box, i)->m.keywords != XM(box, i)->disk_kw)
			return 1;
	return 0;
}

/* Merge this session's changes into record r, bit by bit, so what others
 * changed on other flags stays; kmap maps box keywords to disk bits. */
static void merge_record(struct mixmsg *xm, struct mix_strec *r, const int *kmap, unsigned nkw,
			 uint32_t seq)
{
	uint32_t fmask = to_mix((xm->m.flags & MF_STORABLE) ^ xm->disk_flags);
	uint64_t kdiff = xm->m.keywords ^ xm->disk_kw;

	r->flags = (r->flags & ~fmask) | (to_mix(xm->m.flags) & fmask);
	for (unsigned k = 0; k < nkw; k++)
		if ((kdiff >> k & 1) && kmap[k] >= 0)
			r->kw = (r->kw & ~(1u << kmap[k])) |
				((uint32_t)(xm->m.keywords >> k & 1) << kmap[k]);
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
		used |= XM(box, i)->m.keywords ^ XM(box, i)->disk_kw;
	for (unsigned k = 0; k < box->nkeywords; k++) {
		kmap[k] = meta_keyword(md, box->keywords[k], (int)(used >> k & 1));
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
		if (meta_put(xb->meta, &v.meta, fd_size(xb->meta), box->name, err) < 0)
			goto out;
	}
	uint32_t seq = status_seq(&v);
	for (uint32_t i = 0; i < box->nmsgs; i++) {
		struct mixmsg *xm = XM(box, i);
		struct mix_strec *r = mix_status_find(&v.st, xm->m.uid);
		if (r && ((xm->m.flags & MF_STORABLE) != xm->disk_flags || xm->m.keywords != xm->disk_kw))
			merge_record(xm, r, kmap, box->nkeywords, seq);
	}
	if ((rc = status_put(box, &v, seq, err)) == 0)
		for (uint32_t i = 0; i < box->nmsgs; i++) {
			XM(box, i)->disk_flags = XM(box, i)->m.flags & MF_STORABLE;
			XM(box, i)->disk_kw = XM(box, i)->m.keywords;
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

/* The whole message: its record checked (UW's test for a damaged data
 * file), then the text, stored as it is served (CRLF). */
static int mix_fetch(struct mailbox *box, uint32_t msgno, const char **text, size_t *len,
		     struct mail_err *err)
{
	struct mixbox *xb = XB(box);
	struct mixmsg *xm = XM(box, msgno - 1);

	if (xb->text_uid != xm->m.uid) {
		xb->text_uid = 0;
		if (read_data(box, xm, xm->r.pos, (size_t)xm->r.hoff + xm->r.size, err) < 0)
			return -1;
		if (mix_msgrec_check(xb->text.data, xb->text.len, xm->m.uid) != xm->r.hoff) {
			mail_err_set(err, MAIL_CORRUPT, "mix mailbox %s: the data of message UID %u "
				     "is damaged", box->name, xm->m.uid);
			return -1;
		}
		memmove(xb->text.data, xb->text.data + xm->r.hoff, xm->r.size);
		xb->text.len = xm->r.size;
		xb->text_uid = xm->m.uid;
	}
	*text = xb->text.data;
	*len = xb->text.len;
	return 0;
}

/* STATUS: counts from the files under their shared locks, nothing written. */
static int mix_status(struct mail_session *sess, const char *path, struct mail_status *st,
		      struct mail_err *err)
{
	struct mix_view v;
	int dir = mix_dir_open(sess, path, err), meta = -1, rc = -1;

	memset(st, 0, sizeof *st);
	memset(&v, 0, sizeof v);
	v.fi.fd = v.fs.fd = -1;
	if (dir < 0)
		return -1;
	if ((meta = mix_open_in(dir, MIX_META, O_RDONLY)) < 0) {
		mail_err_set(err, MAIL_FAIL, "mix mailbox %s: cannot open %s: %s", path, MIX_META,
			     strerror(errno));
	} else if (mix_view_load(dir, meta, path, MIX_READ, &v, err) == 0) {
		st->uidvalidity = v.meta.validity;
		st->uidnext = v.meta.last + 1;
		for (size_t i = 0; i < v.ix.n; i++) {
			struct mix_strec *r = mix_status_find(&v.st, v.ix.v[i].uid);
			st->messages++;
			st->unseen += !r || !(r->flags & MIX_SEEN);
			st->recent += !r || !(r->flags & MIX_OLD);
		}
		rc = 0;
	}
	mix_view_free(&v);
	if (meta >= 0)
		close(meta);
	close(dir);
	return rc;
}

/* Where the header of CRLF text ends: after its first empty line (UW
 * looks for the first CRLF CRLF), the whole text without one. */
static uint32_t header_size(const char *p, size_t n)
{
	for (size_t i = 0; i + 3 < n; i++)
		if (p[i] == '\r' && p[i + 1] == '\n' && p[i + 2] == '\r' && p[i + 3] == '\n')
			return (uint32_t)(i + 4);
	return (uint32_t)n;
}

/* The data file to append len bytes to: the metadata's current one, or a
 * new one (numbered by time, as UW does) when that would grow past the
 * roll size. Its size into *size; md->newfile follows. */
static int data_open(int dir, struct mix_meta *md, size_t len, off_t *size, int *made)
{
	char name[32];
	struct stat st;

	mix_data_name(name, md->newfile);
	int fd = mix_open_in(dir, name, O_RDWR | O_CREAT);
	*made = 0;
	if (fd >= 0 && fstat(fd, &st) == 0 && (!st.st_size || st.st_size + (off_t)len <= MIX_DATA_ROLL)) {
		*size = st.st_size;
		return fd;
	}
	if (fd >= 0)
		close(fd);
	for (int tries = 0; tries < 100; tries++) {
		md->newfile = mix_next_seq(md->newfile, time(NULL));
		mix_data_name(name, md->newfile);
		fd = mix_open_in(dir, name, O_RDWR | O_CREAT | O_EXCL);
		if (fd >= 0 || errno != EEXIST)
			break;
	}
	*size = 0;
	*made = fd >= 0;
	return fd;
}

/* The data-file bytes of msgs (records and CRLF texts from offset base)
 * with their index and status records; UIDs from md->last + 1. */
static int build_append(struct mix_meta *md, const struct mail_new *msgs, size_t n, off_t base,
			uint32_t seq, struct buf *data, struct buf *irecs, struct buf *srecs,
			uint32_t *uids, struct mail_err *err)
{
	time_t now = time(NULL);

	for (size_t i = 0; i < n; i++) {
		struct mix_ixrec r = {.uid = md->last + 1 + (uint32_t)i, .file = md->newfile};
		struct mix_strec s = {.uid = r.uid, .flags = to_mix(msgs[i].flags), .mod = seq};
		struct buf t;
		if (names_to_disk(md, msgs[i].keywords, &s.kw, err) < 0)
			return -1;
		buf_init(&t);
		msgfile_canon_append(&t, msgs[i].text, msgs[i].len, 0);
		if (t.len > UINT32_MAX / 2 || (uint64_t)base + data->len + t.len > UINT32_MAX / 2) {
			buf_free(&t);
			mail_err_set(err, MAIL_TOOBIG, "message too large for a mix data file");
			return -1;
		}
		r.date.t = msgs[i].date ? msgs[i].date : now;
		r.date.tz = msgs[i].date ? msgs[i].tz_minutes : 0;
		r.size = (uint32_t)t.len;
		r.pos = (uint32_t)(base + (off_t)data->len);
		r.hoff = (uint32_t)mix_msgrec_format(data, r.uid, &r.date, r.size);
		r.hsiz = header_size(t.data ? t.data : "", t.len);
		buf_append(data, t.data ? t.data : "", t.len);
		buf_free(&t);
		mix_ixrec_format(irecs, &r);
		mix_strec_format(srecs, &s);
		if (uids)
			uids[i] = r.uid;
	}
	return 0;
}

/* Add records to a file, or rewrite it whole when it is not in the form
 * an append can patch (UW's create leaves it empty). */
static int add_records(struct mix_file *f, const struct buf *recs, uint32_t seq,
		       const char *mbox, const char *what, struct mail_err *err)
{
	struct buf b;
	const char *p = f->data.data ? f->data.data : "";

	if (mix_file_appendable(f))
		return mix_file_add(f, recs, seq, mbox, what, err);
	buf_init(&b);
	mix_seq_format(&b, seq);
	/* the old records, if any, after its first line */
	const char *nl = memchr(p, '\n', f->data.len);
	if (nl && f->data.len)
		buf_append(&b, nl + 1, f->data.len - (size_t)(nl + 1 - p));
	buf_append(&b, recs->data, recs->len);
	int rc = mix_file_put(f->fd, f->data.len, &b, mbox, what, err);
	buf_free(&b);
	return rc;
}

/* Take an unfinished append's bytes off the end of a data file (a
 * failure leaves bytes no index record points at: harmless). */
static void cut_back(int fd, off_t size)
{
	if (ftruncate(fd, size) < 0)
		return;
}

/* The append itself, with the files open and locked in v: the data, then
 * the metadata (the UIDs taken), the status, and the index last: a crash
 * before the index leaves no message half there. */
static int append_locked(int dir, int metafd, struct mix_view *v, const char *mbox,
			 const struct mail_new *msgs, size_t n, uint32_t *uids,
			 struct mail_err *err)
{
	struct buf data, irecs, srecs;
	off_t size = 0;
	int made = 0, rc = -1;
	size_t total = 0;
	uint32_t seq = mix_next_seq(v->meta.seq > v->ix.seq ? v->meta.seq : v->ix.seq, time(NULL));
	size_t meta_len = fd_size(metafd);

	seq = mix_next_seq(seq > v->st.seq ? seq : v->st.seq, 0);
	for (size_t i = 0; i < n; i++)
		total += msgs[i].len + 64;
	buf_init(&data);
	buf_init(&irecs);
	buf_init(&srecs);
	int fd = data_open(dir, &v->meta, total, &size, &made);
	if (fd < 0) {
		mail_err_set(err, MAIL_FAIL, "mix mailbox %s: cannot open a data file: %s", mbox,
			     strerror(errno));
		goto out;
	}
	if (build_append(&v->meta, msgs, n, size, seq, &data, &irecs, &srecs, uids, err) < 0)
		goto out;
	if (fallocate(fd, FALLOC_FL_KEEP_SIZE, size, (off_t)data.len) < 0 &&
	    errno != EOPNOTSUPP && errno != ENOSYS) {
		mail_err_set(err, errno == ENOSPC ? MAIL_TOOBIG : MAIL_FAIL, "mix mailbox %s: "
			     "cannot write a data file: %s", mbox, strerror(errno));
		goto out;
	}
	if (pwrite_full(fd, data.data, data.len, size) < 0 || fdatasync(fd) < 0) {
		mail_err_set(err, errno == ENOSPC ? MAIL_TOOBIG : MAIL_FAIL, "mix mailbox %s: "
			     "cannot write a data file: %s", mbox, strerror(errno));
		cut_back(fd, size);
		goto out;
	}
	if (made)
		fsafe_sync_dir(dir);
	v->meta.last += (uint32_t)n;
	v->meta.seq = seq;
	if (meta_put(metafd, &v->meta, meta_len, mbox, err) < 0 ||
	    add_records(&v->fs, &srecs, seq, mbox, MIX_STATUS, err) < 0 ||
	    add_records(&v->fi, &irecs, seq, mbox, MIX_INDEX, err) < 0) {
		/* the UIDs stay taken; the data is no message's: cut it off */
		cut_back(fd, size);
		goto out;
	}
	rc = 0;
out:
	if (fd >= 0)
		close(fd);
	buf_free(&data);
	buf_free(&irecs);
	buf_free(&srecs);
	return rc;
}

/* APPEND and COPY's default: all the messages at once, under UW's locks
 * (the metadata shared, the index and status exclusive). */
static int mix_append(struct mail_session *sess, const char *path, const struct mail_new *msgs,
		      size_t n, uint32_t *validity_out, uint32_t *uids_out, struct mail_err *err)
{
	struct mix_view v;
	int dir = mix_dir_open(sess, path, err), meta = -1, rc = -1;

	memset(&v, 0, sizeof v);
	v.fi.fd = v.fs.fd = -1;
	if (dir < 0)
		return -1;
	meta = mix_open_in(dir, MIX_META, O_RDWR);
	if (meta < 0 || mix_flock(meta, LOCK_SH) < 0)
		mail_err_set(err, errno == ENOENT ? MAIL_NONEXISTENT : MAIL_FAIL,
			     "mix mailbox %s: cannot open %s: %s", path, MIX_META, strerror(errno));
	else if (mix_view_load(dir, meta, path, MIX_ALL_EX, &v, err) == 0 &&
		 append_locked(dir, meta, &v, path, msgs, n, uids_out, err) == 0) {
		if (validity_out)
			*validity_out = v.meta.validity;
		rc = 0;
	}
	mix_view_free(&v);
	if (meta >= 0)
		close(meta);
	close(dir);
	return rc;
}

/* Create one empty file of the new mailbox holding text. */
static int create_file(int dir, const char *name, const struct buf *b)
{
	int fd = mix_open_in(dir, name, O_RDWR | O_CREAT | O_EXCL);

	if (fd < 0)
		return -1;
	int rc = write_full(fd, b->data ? b->data : "", b->len) < 0 || fsync(fd) < 0 ? -1 : 0;
	close(fd);
	return rc;
}

/* CREATE: the directory, its index, status and first data file, and the
 * metadata last (it is what makes the directory a mix mailbox). */
static int mix_create(struct mail_session *s, const char *path, struct mail_err *err)
{
	struct fsafe_loc loc;
	struct mix_meta md = {0};
	struct buf b;
	char name[32];
	int dir = -1, rc = -1;

	if (fsafe_locate(s, path, 1, &loc, err) < 0)
		return -1;
	if (!strncmp(loc.leaf, MIX_PREFIX, strlen(MIX_PREFIX))) {
		/* inside a mix mailbox such a name is one of its own files */
		mail_err_set(err, MAIL_BADNAME, "%s cannot be a mix mailbox name", path);
		fsafe_close(&loc);
		return -1;
	}
	if (mkdirat(loc.dirfd, loc.leaf, 0700) < 0 && errno != EEXIST) {
		mail_err_set(err, errno == EACCES ? MAIL_NOPERM : MAIL_FAIL, "cannot create %s: %s",
			     path, strerror(errno));
		fsafe_close(&loc);
		return -1;
	}
	dir = openat(loc.dirfd, loc.leaf, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	struct stat st;
	if (dir >= 0 && fstatat(dir, MIX_META, &st, AT_SYMLINK_NOFOLLOW) == 0) {
		mail_err_set(err, MAIL_EXISTS, "mailbox %s already exists", path);
		goto out;
	}
	md.seq = md.newfile = (uint32_t)time(NULL);
	md.validity = mail_uidvalidity(s, md.seq, 1);
	mix_data_name(name, md.newfile);
	buf_init(&b);
	mix_seq_format(&b, md.seq);
	if (dir < 0 || create_file(dir, MIX_INDEX, &b) < 0 || create_file(dir, MIX_STATUS, &b) < 0) {
		buf_free(&b);
		goto fail;
	}
	buf_reset(&b);
	if (create_file(dir, name, &b) < 0) {
		buf_free(&b);
		goto fail;
	}
	mix_meta_format(&b, &md);
	rc = create_file(dir, MIX_META, &b);
	buf_free(&b);
	if (rc == 0) {
		fsafe_sync_dir(dir);
		goto out;
	}
fail:
	mail_err_set(err, errno == ENOSPC ? MAIL_TOOBIG : MAIL_FAIL, "cannot create %s: %s", path,
		     strerror(errno));
	if (dir >= 0) {
		unlinkat(dir, MIX_INDEX, 0);
		unlinkat(dir, MIX_STATUS, 0);
		unlinkat(dir, name, 0);
	}
	unlinkat(loc.dirfd, loc.leaf, AT_REMOVEDIR);
out:
	if (dir >= 0)
		close(dir);
	fsafe_close(&loc);
	return rc;
}

/* DELETE: refused while any session has it open (UW's test: the metadata
 * cannot be locked exclusively); the metadata goes first, so what a crash
 * leaves is no mailbox; the directory stays when it holds mailboxes. */
static int mix_remove(struct mail_session *s, const char *path, struct mail_err *err)
{
	int dir = mix_dir_open(s, path, err);

	if (dir < 0)
		return -1;
	int meta = mix_open_in(dir, MIX_META, O_RDWR);
	if (meta < 0 || flock(meta, LOCK_EX | LOCK_NB) < 0) {
		mail_err_set(err, meta < 0 ? MAIL_FAIL : MAIL_INUSE, "mix mailbox %s cannot be "
			     "deleted: %s", path, meta < 0 ? strerror(errno) : "it is open");
		if (meta >= 0)
			close(meta);
		close(dir);
		return -1;
	}
	int rc = unlinkat(dir, MIX_META, 0);
	close(meta);
	DIR *d = rc == 0 ? fdopendir(dup(dir)) : NULL;
	struct dirent *e;
	while (d && (e = readdir(d)) != NULL)
		if (!strncmp(e->d_name, MIX_PREFIX, strlen(MIX_PREFIX)))
			unlinkat(dir, e->d_name, 0);
	if (d)
		closedir(d);
	close(dir);
	if (rc < 0) {
		mail_err_set(err, MAIL_FAIL, "cannot delete %s: %s", path, strerror(errno));
		return -1;
	}
	struct fsafe_loc loc;
	if (fsafe_locate(s, path, 0, &loc, err) == 0) {
		unlinkat(loc.dirfd, loc.leaf, AT_REMOVEDIR);   /* stays with children */
		fsafe_close(&loc);
	}
	return 0;
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
	.append = mix_append,
	.create = mix_create,
	.status = mix_status,
	.remove = mix_remove,
	.watch = mix_watch,
};
