/* driver_unix.c: traditional Berkeley mbox, as MTAs append it to the spool.
 * Flags, keywords and UIDs live in Status/X-Status/X-Keywords/X-UID headers
 * and a folder record (UW-style pseudo message with X-IMAP, or Dovecot's
 * X-IMAPbase), so UW imapd, Dovecot and mutt keep working on the same files.
 * This file holds the driver's entry points; the rest is split by concern,
 * shared through unix_int.h: unix_parse.c (bytes into messages),
 * unix_record.c (trusting the folder record), unix_file.c (locked access,
 * windows), unix_sync.c (a session and its file, the index), unix_write.c
 * (rewrites), unix_inplace.c (flag changes in place). Messages are fetched
 * with pread, so a session's memory does not grow with the mailbox. */
#include "driver.h"
#include "unix_int.h"
#include "lock.h"
#include "rfc822_api.h"

#include <errno.h>
#include <malloc.h>
#include <fcntl.h>
#include <limits.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <stdint.h>
#include <unistd.h>

/* ---------------------------------------------------------------------- */
/* Driver state                                                            */

/* An mbox is a regular file that is empty or starts with a From line. */
static int unix_valid(int dirfd, const char *leaf, const struct stat *st)
{
	char b[1024];
	int fd = mail_valid_open(dirfd, leaf, st);
	ssize_t n = fd < 0 ? -1 : pread(fd, b, sizeof b, 0);

	if (fd >= 0)
		close(fd);
	if (n == 0)
		return 1;
	if (n < 5)
		return 0;
	return unix_from_line(b, unix_line_end(b, 0, (size_t)n), NULL, NULL);
}

/* Give back a record (its block stays until the mailbox closes). */
static void umsg_release(struct umsg *u)
{
	kwset_free(&u->m.keywords);
	kwset_free(&u->disk_kw);
}

static void umsg_free(struct umsg *u)
{
	pool_free(u->m.pool);
	umsg_release(u);
}

/* Make the whole pages of p[0..n) at once: faulting them in one by one
 * cost a reopen more than filling the records there. */
static void populate(void *p, size_t n)
{
#ifdef MADV_POPULATE_WRITE
	uintptr_t page = (uintptr_t)sysconf(_SC_PAGESIZE);
	uintptr_t s = ((uintptr_t)p + page - 1) / page * page, e = (uintptr_t)p + n;

	if (e > s)
		madvise((void *)s, (e - s) / page * page, MADV_POPULATE_WRITE);
#else
	(void)p;
	(void)n;
#endif
}

/* Room for a record, from a block sized for the messages announced by
 * unix_box_expect: an open of many messages makes one allocation, not one
 * per record or per fixed-size block (each a tenth of a reopen's time).
 * The caller fills every field. */
static struct umsg *umsg_new(struct ubox *ub)
{
	if (!ub->blocks || ub->blocks->used == ub->blocks->cap) {
		size_t n = ub->expect > UMSG_BLOCK_MAX ? UMSG_BLOCK_MAX :
			   ub->expect > UMSG_BLOCK ? ub->expect : UMSG_BLOCK;
		size_t len = offsetof(struct ublock, u) + n * sizeof(struct umsg);
		struct ublock *b = xmalloc(len);
		populate(b, len);
		b->next = ub->blocks;
		b->used = 0;
		b->cap = n;
		ub->blocks = b;
		ub->expect -= n < ub->expect ? (uint32_t)n : ub->expect;
	}
	return &ub->blocks->u[ub->blocks->used++];
}

void unix_box_expect(struct mailbox *box, uint32_t n)
{
	UB(box)->expect = n;
}

/* Remove message i (0-based) and report it. */
void unix_box_remove(struct mailbox *box, uint32_t i)
{
	struct umsg *u = (struct umsg *)mail_msg_take(box, i);

	unix_text_forget(UB(box));
	umsg_release(u);
}

/* Was uid already reported \Recent to another read-write session? Only
 * under a folder record we believe: without one (a new file, or a record
 * a sender forged) UIDs name nothing stable, and every message counts as
 * new, as before claims existed. */
static int recent_claimed(struct mailbox *box, uint32_t uid)
{
	const struct ubox *ub = UB(box);

	return ub->claim_known && box->uidvalidity && ub->claim_validity == box->uidvalidity &&
	       uid <= ub->claim_hw;
}

/* Under the mailbox's lock: read the \Recent claim before learning of new
 * messages ... */
void unix_recent_load(struct mailbox *box)
{
	struct ubox *ub = UB(box);

	ub->claim_known = mail_recent_get(box->sess, box->path, &ub->claim_validity,
					  &ub->claim_hw) == 0;
}

/* ... and claim every message this session now knows, still under it, so no
 * other read-write session sees them \Recent (RFC 3501 2.3.2). EXAMINE
 * claims nothing: it must not take \Recent from anyone (6.3.2). */
void unix_recent_claim(struct mailbox *box)
{
	struct ubox *ub = UB(box);
	uint32_t top = box->nmsgs ? box->msgs[box->nmsgs - 1]->uid : 0;

	if (box->readonly || !top || !box->uidvalidity ||
	    (ub->claim_known && ub->claim_validity == box->uidvalidity && ub->claim_hw >= top))
		return;
	mail_recent_put(box->sess, box->path, box->uidvalidity, top);
	ub->claim_known = 1;
	ub->claim_validity = box->uidvalidity;
	ub->claim_hw = top;
}

void unix_box_add(struct mailbox *box, const struct pmsg *p)
{
	struct umsg *u = umsg_new(UB(box));

	/* one store of the whole record: umsg_new leaves it unwritten */
	*u = (struct umsg){
		.m = { .uid = p->uid, .flags = p->flags, .internal_date = p->date,
		       .tz_minutes = p->tz, .size = p->size, .drv = u },
		.off = (off_t)p->off, .from_len = p->from_len, .hdr_len = p->hdr_len,
		.body_len = p->body_len, .disk_flags = p->flags, .fp = p->fp, .nq = p->nq,
		.disk_old = (uint8_t)p->old, .disk_uid = p->xuid == p->uid,
		.rd = (uint8_t)p->rd, .plain = (uint8_t)p->plain,
	};
	kwset_copy(&u->m.keywords, &p->kw);
	kwset_copy(&u->disk_kw, &p->kw);
	if (!p->old && !recent_claimed(box, p->uid))
		u->m.flags |= MF_RECENT;
	mail_msg_add(box, &u->m);
}

/* ---------------------------------------------------------------------- */
/* Driver entry points                                                     */

void unix_close(struct mailbox *box)
{
	struct ubox *ub = UB(box);

	if (!ub)
		return;
	for (uint32_t i = 0; i < box->nmsgs; i++)
		umsg_free(UM(box, i));
	while (ub->blocks) {
		struct ublock *b = ub->blocks;
		ub->blocks = b->next;
		free(b);
	}
	free(box->msgs);
	box->msgs = NULL;
	box->nmsgs = 0;
	if (ub->fd >= 0)
		close(ub->fd);
	buf_free(&ub->text);
	buf_free(&ub->hraw);
	buf_free(&ub->ahead);
	unix_raw_drop(ub);
	memset(ub->key, 0, sizeof ub->key);
	free(ub);
	box->drvdata = NULL;
}

/* Remove the temp file a killed rewrite may have left beside the mailbox
 * (in its directory, by name there: never through a link). */
static void remove_stale_tmp(struct mailbox *box, struct mail_err *err)
{
	struct fsafe_loc loc;
	struct stat st;
	char tmp[NAME_MAX + 1], *dot = NULL;

	if (fsafe_locate(box->sess, box->path, 0, &loc, err) < 0)
		return;
	if (unix_tmp_name(loc.leaf, tmp) == 0 && fstatat(loc.dirfd, tmp, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
	    fsafe_dotlock(&loc, box->path, &dot, err) == 0) {
		unlinkat(loc.dirfd, tmp, 0);
		lock_dot_release(&dot);
	}
	fsafe_close(&loc);
}

/* UIDVALIDITY of a mailbox without a folder record: the one its first
 * writer records (taken now when that is us, below), and STATUS says. */
static uint32_t recordless_validity(struct mailbox *box)
{
	struct mail_err ignore;
	struct stat st;

	uint32_t lost = UB(box)->lost_validity;

	if (!UB(box)->exists || !box->sess || unix_path_stat(box->sess, box->path, &st, &ignore) < 0)
		return mail_uidvalidity(box->sess, rec_validity_floor((uint32_t)time(NULL), lost), 0);
	return mail_uidvalidity(box->sess, rec_validity_floor((uint32_t)st.st_ctime, lost),
				!box->readonly);
}

int unix_open(struct mailbox *box, struct mail_err *err)
{
	struct ubox *ub = xcalloc(1, sizeof *ub);
	const struct mail_events *ev = box->ev;
	int rc = 0;

	ub->fd = -1;
	buf_init(&ub->text);
	buf_init(&ub->hraw);
	buf_init(&ub->ahead);
	box->drvdata = ub;
	box->uidvalidity = 0;
	box->ev = NULL;   /* the caller learns the initial state from box */
	ub->keystate = unix_user_key(box->sess, ub->key);
	ub->not_spool = !unix_in_spool(box->sess, box->path);
	ub->opening = 1;
	if (unix_sync(box, SYNC_PING, NULL, 0, err) < 0)
		rc = -1;
	ub->opening = 0;
	if (!rc && !box->uidvalidity)
		box->uidvalidity = recordless_validity(box);
	box->uidnext = ub->counter + 1;
	box->keywords_creatable = !box->readonly;
	/* Remove a temp file a killed rewrite may have left, and give a
	 * record-less mailbox its UIDVALIDITY on disk now, before another
	 * session could invent a different one. */
	if (!rc && !box->readonly && ub->exists) {
		remove_stale_tmp(box, err);
		/* a record not authenticated yet is authenticated now, while
		 * we still believe it (the upgrade; see REC_NONE) */
		if ((!ub->have_rec || ub->rec_trust != REC_MAC) &&
		    unix_sync(box, SYNC_WRITE, NULL, 0, err) < 0)
			rc = -1;
	}
	box->ev = ev;
	if (rc < 0)
		unix_close(box);
	/* the parse and a rewrite's buffers are free now, below what stays
	 * per message: give their pages back, or the heap keeps them */
	malloc_trim(0);
	return rc;
}

int unix_ping(struct mailbox *box, struct mail_err *err)
{
	return unix_sync(box, SYNC_PING, NULL, 0, err);
}

int unix_flush(struct mailbox *box, struct mail_err *err)
{
	if (box->readonly)
		return 0;
	return unix_sync(box, SYNC_FLUSH, NULL, 0, err);
}

int unix_check(struct mailbox *box, struct mail_err *err)
{
	return unix_sync(box, unix_box_dirty(box) ? SYNC_WRITE : SYNC_PING, NULL, 0, err);
}

int unix_expunge(struct mailbox *box, const uint32_t *uids, size_t nuids,
		 struct mail_err *err)
{
	if (box->readonly) {
		mail_err_set(err, MAIL_NOPERM, "mailbox is read-only");
		return -1;
	}
	return unix_sync(box, SYNC_EXPUNGE, uids, nuids, err);
}

/* Remove one '>' from each ">+From " line of out from start on (mboxrd),
 * moving the text forward in place. */
static void unquote(struct buf *out, size_t start)
{
	char *d = out->data, *w = d + start, *r = w, *end = d + out->len;

	while (r < end) {
		char *nl = memchr(r, '\n', (size_t)(end - r));
		size_t n = nl ? (size_t)(nl + 1 - r) : (size_t)(end - r);
		if (*r == '>' && unix_from_depth(r, n) > 0) {
			r++;
			n--;
		}
		memmove(w, r, n);
		w += n;
		r += n;
	}
	out->len = (size_t)(w - d);
}

/* Canonical body into out, converting in place: the raw body is read to
 * the end of the space its canonical form needs (size known from the
 * parse), then moved forward line by line, growing only by the CRs it
 * adds, so the writer never overtakes the reader. One buffer per message
 * instead of two. The space is bounded: a file changed under us yields a
 * wrong text, never an overrun. -1: read error. */
static int canon_body_read(int fd, off_t off, size_t blen, size_t clen, uint32_t nq,
			   struct buf *out)
{
	size_t start = out->len;

	clen += nq;    /* room for the quotes, removed below */
	if (clen < blen)
		clen = blen;   /* the parse disagrees with the file: still safe */
	buf_reserve(out, clen + 1);
	char *w = out->data + out->len, *end = w + clen, *r = end - blen;
	if (blen && pread(fd, r, blen, off) != (ssize_t)blen)
		return -1;
	while (r < end) {
		char *nl = memchr(r, '\n', (size_t)(end - r));
		size_t n = nl ? (size_t)(nl - r) : (size_t)(end - r);
		int cr = n && r[n - 1] == '\r';
		memmove(w, r, n);
		w += n;
		r += n + (nl != NULL);
		size_t room = (size_t)(r - w);
		if (!cr && room >= 2) {
			*w++ = '\r';
			*w++ = '\n';
		} else if (room >= 1) {
			*w++ = '\n';
		}
	}
	out->len = (size_t)(w - out->data);
	if (nq)
		unquote(out, start);
	out->data[out->len] = '\0';
	return 0;
}

static int snapshot(struct mail_session *sess, const char *path, int write,
		    struct locked *lk, struct parse *p, struct kwtab *kt, int ks,
		    const unsigned char *key, struct mail_err *err);
static void free_names(char **names, unsigned n);

/* Do our offsets still fit the file behind ub->fd: the file as we last
 * placed them, or that with mail appended? A rewrite by rename leaves our
 * inode alone; one in place (ours through the journal, or mutt's) does not. */
static int offsets_current(struct ubox *ub)
{
	struct stat st;
	off_t size = ub->moved ? ub->moved_size : ub->size;
	const struct timespec *mt = ub->moved ? &ub->moved_mtime : &ub->mtime;
	char sig[SIGLEN];

	if (fstat(ub->fd, &st) < 0)
		return 0;
	if (st.st_size == size && st.st_mtim.tv_sec == mt->tv_sec &&
	    st.st_mtim.tv_nsec == mt->tv_nsec)
		return 1;
	if (ub->moved || st.st_size <= size || !ub->siglen)
		return 0;
	return pread(ub->fd, sig, ub->siglen, size - (off_t)ub->siglen) == (ssize_t)ub->siglen &&
	       !memcmp(sig, ub->sig, ub->siglen) && !unix_gen_moved(ub, ub->fd);
}

/* The file was rewritten in place since our last sync: find each of our
 * messages again by UID, quietly (this runs inside FETCH, where expunges
 * may not be reported). One that is gone gets off -1 until the next sync
 * reports it. 0 done, 1 the name now leads to another file, -1 error. */
static int relocate(struct mailbox *box, struct mail_err *err)
{
	struct ubox *ub = UB(box);
	char *names[MAIL_KEYWORDS_MAX];
	unsigned nkw = 0;
	struct kwtab kt = { names, &nkw };
	struct locked lk;
	struct parse p;
	uint32_t counter = 0;
	size_t j = 0;

	if (snapshot(box->sess, box->path, 0, &lk, &p, &kt, ub->keystate, ub->key, err) < 0) {
		free_names(names, nkw);
		return -1;
	}
	uint32_t ulast = p.have_rec && p.last > ub->rec_last ? p.last : ub->rec_last;
	assign_uids(&p, 0, ulast, &counter);
	int same = lk.st.st_dev == ub->dev && lk.st.st_ino == ub->ino;
	for (uint32_t i = 0; same && i < box->nmsgs; i++) {
		struct umsg *u = UM(box, i);
		while (j < p.n && p.m[j].uid < u->m.uid)
			j++;
		if (j < p.n && unix_same_msg(u, &p.m[j])) {
			u->off = (off_t)p.m[j].off;
			u->from_len = p.m[j].from_len;
			u->hdr_len = p.m[j].hdr_len;
			u->body_len = p.m[j].body_len;
		} else {
			u->off = -1;
		}
	}
	if (same) {
		ub->moved = 1;
		ub->moved_size = lk.st.st_size;
		ub->moved_mtime = lk.st.st_mtim;
	}
	unix_text_forget(ub);
	lk_close(&lk, 0);
	unix_parse_free(&p);
	free_names(names, nkw);
	return same ? 0 : 1;
}

/* Hold a read lock on ub->fd with offsets that fit it, so a rewrite in
 * place cannot run under our reads. 0 locked, -1 error (unlocked). */
static int fetch_lock(struct mailbox *box, struct mail_err *err)
{
	struct ubox *ub = UB(box);

	for (int tries = 0; tries < 3; tries++) {
		if (lock_fd(ub->fd, 0, err) < 0)
			return -1;
		if (offsets_current(ub))
			return 0;
		lock_fd_release(ub->fd);
		if (relocate(box, err) != 0)
			break;
	}
	mail_err_set(err, MAIL_FAIL, "mailbox changed under us (another program rewrote it)");
	return -1;
}

/* A message is not where the session's offsets say: learn the file again. */
static int rewritten(struct mailbox *box, struct mail_err *err)
{
	mail_err_set(err, MAIL_FAIL, "mailbox changed under us (another program rewrote it)");
	unix_sync(box, SYNC_PING, NULL, 0, err);
	return -1;
}

int unix_read_header(struct ubox *ub, const struct umsg *u, struct buf *t)
{
	size_t hn = u->from_len + u->hdr_len;
	struct buf *h = &ub->hraw;

	buf_reset(h);
	buf_reserve(h, hn);
	ssize_t r = ub->fd >= 0 ? pread(ub->fd, h->data, hn, u->off) : -1;
	if (r != (ssize_t)hn || !unix_msg_start(h->data, hn))
		return -1;
	canon_header(h->data + u->from_len, u->hdr_len, u->rd, t);
	if (h->cap > 65536) {
		buf_free(h);   /* a huge header: do not keep its buffer */
		buf_init(h);
	}
	return 0;
}

/* Read message u's canonical header (with its blank line) into ub->text,
 * or with body set its whole canonical text. */
static int fetch_text(struct mailbox *box, struct umsg *u, int body, struct mail_err *err)
{
	struct ubox *ub = UB(box);

	if (u->off < 0) {
		mail_err_set(err, MAIL_NONEXISTENT, "message was expunged by another session");
		return -1;
	}
	size_t hn = u->from_len + u->hdr_len;
	struct buf *t = &ub->text;
	if (t->cap > ((size_t)1 << 20) && u->m.size < t->cap / 4) {
		buf_free(t);   /* after a huge message, give its memory back */
		buf_init(t);
	}
	buf_reset(t);
	if (unix_read_header(ub, u, t) < 0)
		return rewritten(box, err);
	if (!body) {
		ub->text_uid = 0;   /* not the whole text */
		return 0;
	}
	size_t clen = u->m.size > t->len ? (size_t)(u->m.size - t->len) : 0;
	if (canon_body_read(ub->fd, u->off + (off_t)hn, u->body_len, clen,
			    u->rd ? u->nq : 0, t) < 0) {
		mail_err_set(err, MAIL_FAIL, "cannot read mailbox: %s", strerror(errno));
		return -1;
	}
	ub->text_uid = u->m.uid;
	return 0;
}

/* The message's canonical text, or with body unset its header only
 * (read under the fetch lock; the whole text stays cached until another
 * message is read). */
static int fetch_locked(struct mailbox *box, uint32_t msgno, int body, const char **text,
			size_t *len, struct mail_err *err)
{
	struct ubox *ub = UB(box);
	struct umsg *u = UM(box, msgno - 1);
	/* headers in order (FETCH 1:* ENVELOPE, SORT): the next ones are read
	 * under this lock too, one lock and fstat for many messages */
	int in_order = !body && msgno == ub->hdr_last + 1;

	if (!body)
		ub->hdr_last = msgno;
	if (!body && ub->text_uid != u->m.uid && unix_ahead_find(ub, u->m.uid, text, len))
		return 0;
	if (ub->text_uid != u->m.uid) {
		if (ub->fd >= 0 && fetch_lock(box, err) < 0)
			return -1;
		int fd = ub->fd, r = fetch_text(box, u, body, err);
		if (fd >= 0 && fd == ub->fd) {
			if (r == 0 && in_order)
				unix_ahead_fill(box, msgno);
			lock_fd_release(fd);
		}
		if (r < 0)
			return -1;
	}
	*text = ub->text.data ? ub->text.data : "";
	*len = ub->text.len;
	if (!body && ub->text_uid == u->m.uid) {
		/* the whole text is cached: its header is a prefix of it */
		*len = rfc822_header_len(*text, *len);
	}
	return 0;
}

int unix_fetch(struct mailbox *box, uint32_t msgno, const char **text, size_t *len,
	       struct mail_err *err)
{
	return fetch_locked(box, msgno, 1, text, len, err);
}

int unix_fetch_header(struct mailbox *box, uint32_t msgno, const char **text,
		      size_t *len, struct mail_err *err)
{
	return fetch_locked(box, msgno, 0, text, len, err);
}

/* Unmap scan_raw's window (the file changed, or the mailbox closes). */
void unix_raw_drop(struct ubox *ub)
{
	if (ub->rwin)
		win_drop(ub->rwin);
	free(ub->rwin);
	ub->rwin = NULL;
}

/* How many bytes one scan_raw call reads under its lock at most (past its
 * first message): a delivery waiting for the lock waits a millisecond or
 * two, while a search takes the lock once per many messages, not once per
 * message (three system calls each). */
#define RAW_LOCK_BYTES ((size_t)4 << 20)

/* scan_raw's release for a message mapped whole (past WIN_SIZE): its pages
 * before upto leave this process's memory; touched again, they are read
 * again from the file (a private mapping never written to). */
static void raw_release(const struct raw_msg *m, size_t upto)
{
	static long page;

	if (!page)
		page = sysconf(_SC_PAGESIZE);
	uintptr_t mask = (uintptr_t)page - 1, a = ((uintptr_t)m->p + mask) & ~mask,
		  e = ((uintptr_t)m->p + upto) & ~mask;
	if (e > a)
		madvise((void *)a, e - a, MADV_DONTNEED);
}

/* fn on each message's bytes after its From line, as the file holds them:
 * read through a mapped window kept from message to message (a search
 * reads them all; no copy), for the file as the session knows it. fn runs
 * under the fetch lock: the file keeps that size meanwhile, so no page of
 * the mapping can go away under it (a truncation would be a SIGBUS). A
 * message expunged by another session is passed over: the full fetch
 * says what is wrong. */
int unix_scan_raw(struct mailbox *box, uint32_t first, uint32_t last,
		  void (*fn)(void *ctx, uint32_t msgno, const struct raw_msg *m), void *ctx,
		  struct mail_err *err)
{
	struct ubox *ub = UB(box);
	uint32_t msgno = first;
	size_t bytes = 0;

	if (ub->fd < 0)
		return (int)(last - first + 1);
	if (fetch_lock(box, err) < 0)
		return -1;
	off_t size = ub->moved ? ub->moved_size : ub->size;
	if (ub->rwin && ub->rwin->fsize != size)
		unix_raw_drop(ub);
	if (!ub->rwin) {
		ub->rwin = xmalloc(sizeof *ub->rwin);
		win_init(ub->rwin, ub->fd, size);
		ub->rwin->lazy = 1;
	}
	for (; msgno <= last && (msgno == first || bytes < RAW_LOCK_BYTES); msgno++) {
		struct umsg *u = UM(box, msgno - 1);
		size_t n = u->from_len + u->hdr_len + u->body_len;

		if (u->off < 0)
			continue;
		const char *p = win_get(ub->rwin, u->off, n, NULL);
		if (!p || !unix_msg_start(p, n)) {
			lock_fd_release(ub->fd);
			return rewritten(box, err);
		}
		struct raw_msg m = { p + u->from_len, n - u->from_len,
				     n > WIN_SIZE ? raw_release : NULL };
		fn(ctx, msgno, &m);
		bytes += n;
	}
	lock_fd_release(ub->fd);
	return (int)(msgno - first);
}

/* Read the whole file under the lock and parse it (append, status), and
 * judge its record with the user's key (ks: uidx_secret's answer). */
static int snapshot(struct mail_session *sess, const char *path, int write,
		    struct locked *lk, struct parse *p, struct kwtab *kt, int ks,
		    const unsigned char *key, struct mail_err *err)
{
	if (lk_open(sess, path, write, lk, err) < 0)
		return -1;
	if (lk->fd < 0) {
		lk_close(lk, 0);
		mail_err_set(err, MAIL_NONEXISTENT, "mailbox does not exist");
		return -1;
	}
	int r = mbox_parse_fd(lk->fd, 0, lk->st.st_size, ks, key, kt, p);
	if (r < 0) {
		if (r == -2)
			mail_err_set(err, MAIL_FAIL, "cannot read %s: %s", path, strerror(errno));
		else
			mail_err_set(err, MAIL_CORRUPT, "%s is not in %s format", path,
				     unix_fd_fmt(lk->fd) == UF_MMDF ? "MMDF" : "mbox");
		lk_close(lk, 0);
		return -1;
	}
	rec_trust(p, sess, path, ks);
	return 0;
}

static void free_names(char **names, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		free(names[i]);
}

/* The rewrite's item i: the parse's message i, as the file holds it. */
static void parsed_item(void *ctx, size_t i, struct witem *it)
{
	const struct pmsg *m = &((const struct parse *)ctx)->m[i];

	*it = (struct witem){ .src = (off_t)m->off, .from_len = m->from_len,
			      .hdr_len = m->hdr_len, .body_len = m->body_len, .flags = m->flags,
			      .uid = m->uid, .kw = &m->kw, .old = m->old, .rd = m->rd, .nq = m->nq,
			      .plain = m->plain };
}

int unix_append(struct mail_session *sess, const char *path, const struct mail_new *msgs,
		size_t n, uint32_t *validity_out, uint32_t *uids_out, struct mail_err *err)
{
	char *names[MAIL_KEYWORDS_MAX];
	unsigned nkw = 0;
	struct kwtab kt = { names, &nkw };
	struct locked lk;
	struct parse p;
	struct buf out;
	unsigned char key[UIDX_KEYLEN];
	int rc = -1, ks = unix_user_key(sess, key);
	struct kwset used = KWSET_EMPTY, kw = KWSET_EMPTY;

	if (snapshot(sess, path, 1, &lk, &p, &kt, ks, key, err) < 0)
		return -1;
	/* a record-less file gets its record now, so its UIDVALIDITY is taken */
	uint32_t counter = 0, validity = rec_validity(sess, &p, lk.st.st_ctime, 1);
	int clean = assign_uids(&p, 0, p.have_rec ? p.last : 0, &counter);
	unix_kw_trim(&p, &kt);
	buf_init(&out);
	/* a last message without its separator line (or trailer) gets one first */
	size_t flen = (size_t)lk.st.st_size;
	char tailb[MMDF_MARK_LEN] = { 0 };
	size_t tn = flen < sizeof tailb ? flen : sizeof tailb;
	if (tn && pread(lk.fd, tailb, tn, (off_t)(flen - tn)) != (ssize_t)tn) {
		mail_err_set(err, MAIL_FAIL, "cannot read %s: %s", path, strerror(errno));
		goto out;
	}
	unix_frame_close(p.fmt, tailb, tn, &out);
	size_t lead = out.len;
	for (size_t i = 0; i < n; i++) {
		kwset_free(&kw);
		for (char **k = msgs[i].keywords; k && *k; k++) {
			int x = unix_kw_find(&kt, *k, strlen(*k), 1);
			if (x < 0) {
				/* stored without it, the message would lie about its keywords */
				mail_err_set(err, MAIL_LIMIT,
					     "Cannot add keyword %s: the mailbox can hold only %d",
					     *k, MAIL_KEYWORDS_MAX);
				goto out;
			}
			kwset_set(&kw, (unsigned)x);
		}
		uint32_t uid = ++counter;
		if (uids_out)
			uids_out[i] = uid;
		format_new(&out, p.fmt, sess->user, &msgs[i], uid, names, nkw, &kw);
		kwset_union(&used, &kw);
	}
	/* a keyword the record does not list yet means a rewrite that lists
	 * it: UW's readers know a keyword only by the record's list */
	int listed = kwset_next(&used, p.kw_rec) < 0;
	if (rec_bumpable(&p) && clean && flen && listed) {
		/* common case: append, then bump uidlast in place (a crash in
		 * between is harmless: the X-UIDs above uidlast are reassigned
		 * the very same numbers, and as deliveries they read unquoted) */
		if (lseek(lk.fd, 0, SEEK_END) < 0 || write_full(lk.fd, out.data, out.len) < 0 ||
		    fsync(lk.fd) < 0) {
			int e = errno;
			if (ftruncate(lk.fd, (off_t)flen) == 0)
				fsync(lk.fd);
			mail_err_set(err, e == ENOSPC || e == EDQUOT ? MAIL_TOOBIG : MAIL_FAIL,
				     "append to %s failed: %s", path, strerror(e));
			goto out;
		}
		if (rec_bump(lk.fd, &p, key, counter) < 0 || fsync(lk.fd) < 0) {
			/* the new messages would read as deliveries: take them back */
			int e = errno;
			if (ftruncate(lk.fd, (off_t)flen) == 0)
				fsync(lk.fd);
			mail_err_set(err, MAIL_FAIL, "cannot update folder record of %s: %s", path,
				     strerror(e));
			goto out;
		}
	} else {
		struct wplace *placed = xcalloc(p.n + 1, sizeof *placed);
		struct win in;
		win_init(&in, lk.fd, lk.st.st_size);
		struct rewrite rw = { .home = fsafe_home(sess), .validity = validity, .last = counter,
				      .names = names,
				      .nkw = nkw, .item = parsed_item, .ctx = &p, .nitems = p.n,
				      .placed = placed, .in = &in,
				      .extra = out.data + lead, .extra_len = out.len - lead,
				      .ours = counter, .key = key, .fmt = p.fmt };
		off_t rlo;
		int nfd = mbox_rewrite(lk.loc.dirfd, lk.loc.leaf, path, &lk.st, &rw, &rlo, err);
		win_drop(&in);
		free(placed);
		if (nfd < 0)
			goto out;
		close(nfd);
	}
	if (validity_out)
		*validity_out = validity;
	rc = 0;
out:
	kwset_free(&kw);
	kwset_free(&used);
	lk_close(&lk, 0);
	buf_free(&out);
	unix_parse_free(&p);
	free_names(names, nkw);
	memset(key, 0, sizeof key);
	return rc;
}

/* Create under the dotlock: an MTA creating the same spool file waits for
 * it, so its first message cannot land under our folder record. */
int unix_create_fmt(struct mail_session *sess, const char *path, int fmt, struct mail_err *err)
{
	struct wout w = { .fd = -1, .fmt = fmt };
	struct fsafe_loc loc;
	char *dot = NULL;
	int rc = -1;

	if (fsafe_locate(sess, path, 0, &loc, err) < 0)
		return -1;
	/* Sessions hold no group mail: an INBOX in the spool is created by the
	 * mail system's first delivery, never by us. */
	if (!unix_dir_writable(loc.dirfd)) {
		struct stat st;
		mail_err_set(err, fsafe_lstat(&loc, &st) == 0 ? MAIL_EXISTS : MAIL_NOPERM,
			     "cannot create %s: only the mail system creates files in that "
			     "directory (an INBOX appears with its first delivery)", path);
		fsafe_close(&loc);
		return -1;
	}
	if (fsafe_dotlock(&loc, path, &dot, err) < 0) {
		fsafe_close(&loc);
		return -1;
	}
	w.fd = fsafe_open(&loc, O_RDWR | O_CREAT | O_EXCL, 0600);
	if (w.fd < 0) {
		mail_err_set(err, errno == EEXIST ? MAIL_EXISTS : errno == EACCES ? MAIL_NOPERM :
				  MAIL_FAIL, "cannot create %s: %s", path, strerror(errno));
		lock_dot_release(&dot);
		fsafe_close(&loc);
		return -1;
	}
	buf_init(&w.b);
	unsigned char key[UIDX_KEYLEN];
	unix_user_key(sess, key);
	write_pseudo(&w, mail_uidvalidity(sess, (uint32_t)time(NULL), 1), 0, NULL, 0, 0,
		     key, 0);
	memset(key, 0, sizeof key);
	unix_wflush(&w);
	buf_free(&w.b);
	if (w.failed || fsync(w.fd) < 0) {
		mail_err_set(err, MAIL_FAIL, "cannot write %s: %s", path,
			     strerror(w.failed ? w.failed : errno));
		unlinkat(loc.dirfd, loc.leaf, 0);
	} else {
		rc = 0;
	}
	close(w.fd);
	lock_dot_release(&dot);
	fsafe_close(&loc);
	return rc;
}

static int unix_create(struct mail_session *sess, const char *path, struct mail_err *err)
{
	return unix_create_fmt(sess, path, UF_MBOX, err);
}

int unix_status(struct mail_session *sess, const char *path, struct mail_status *st,
		struct mail_err *err)
{
	char *names[MAIL_KEYWORDS_MAX];
	unsigned nkw = 0;
	struct kwtab kt = { names, &nkw };
	struct locked lk;
	struct parse p;
	uint32_t counter = 0;

	unsigned char key[UIDX_KEYLEN];
	int ks = unix_user_key(sess, key);

	memset(st, 0, sizeof *st);
	if (snapshot(sess, path, 0, &lk, &p, &kt, ks, key, err) < 0) {
		free_names(names, nkw);
		return -1;
	}
	assign_uids(&p, 0, p.have_rec ? p.last : 0, &counter);
	unix_kw_trim(&p, &kt);
	uint32_t cv = 0, hw = 0, validity = p.have_rec ? p.validity : 0;
	if (!validity || mail_recent_get(sess, path, &cv, &hw) < 0 || cv != validity)
		hw = 0;
	st->messages = (uint32_t)p.n;
	for (size_t i = 0; i < p.n; i++) {
		/* \Recent as the next session to select would see it */
		st->recent += !p.m[i].old && p.m[i].uid > hw;
		st->unseen += !(p.m[i].flags & MF_SEEN);
		st->size += p.m[i].size;
	}
	st->uidnext = counter + 1;
	st->uidvalidity = rec_validity(sess, &p, lk.st.st_ctime, 0);
	memset(key, 0, sizeof key);
	lk_close(&lk, 0);
	unix_parse_free(&p);
	free_names(names, nkw);
	return 0;
}

/* Deliveries append to the file and rewrites rename over it: watching its
 * directory for its name sees both. */
int unix_watch(struct mailbox *box, int ifd)
{
	struct fsafe_loc loc;
	struct mail_err ignore;
	int rc;

	if (fsafe_locate(box->sess, box->path, 0, &loc, &ignore) < 0)
		return -1;
	rc = mail_watch_add(box, ifd, loc.dirfd, loc.leaf);
	fsafe_close(&loc);
	return rc;
}

const struct driver driver_unix = {
	.name = "unix",
	.alias = "mbox",
	.valid = unix_valid,
	.create = unix_create,
	UNIX_FILE_METHODS,
};
