/* driver_mbx.c: the mbx driver's entry points (UW's mbx files, shared
 * with UW's programs while open): the file held with a shared flock, news
 * read and flags written in place under UW's parse lock, expunge marking
 * messages in place and reclaiming their space by a rewrite and rename
 * when no one else has the file open (mbx_file.c). */
#include "mbx_int.h"
#include "log.h"
#include "msgfile.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

struct mbxmsg {
	struct message m;
	uint64_t off;             /* its line in the file */
	uint32_t linelen;
	uint64_t rawsize;         /* its bytes in the file */
	uint32_t disk_sys;        /* the file's flags and keyword bits when */
	uint32_t disk_kw;         /* last read or written */
};

struct mbxbox {
	int fd;
	struct fsafe_loc loc;
	struct stat st;           /* the file after our last look or write */
	uint64_t end;             /* where the messages we know end */
	struct mbx_header h;      /* the header when last read */
	int kw_of_slot[MBX_NKEYWORDS];   /* box keyword of a slot; -1 none, -2 not yet */
	int holes;                /* expunged messages may still take space */
	int unreported;           /* another's expunge seen, not yet told */
	struct mbx_plock pl;
	struct buf text;
	uint32_t text_uid;        /* whose text is in text (0: none) */
};

#define XB(box) ((struct mbxbox *)(box)->drvdata)
#define XM(box, i) ((struct mbxmsg *)(box)->msgs[i])
/* Largest message read whole into memory (a file can claim any size). */
#define MBX_FETCH_MAX (1ULL << 30)
#define SYS_FLAGS (MBX_SEEN | MBX_DELETED | MBX_FLAGGED | MBX_ANSWERED | MBX_DRAFT)

/* Release the session's messages, the file (and its shared flock). */
static void mbx_close(struct mailbox *box)
{
	struct mbxbox *xb = XB(box);

	if (!xb)
		return;
	mail_msgs_free(box);
	mbx_plock_release(&xb->pl);
	if (xb->fd >= 0)
		close(xb->fd);   /* drops our shared flock */
	fsafe_close(&xb->loc);
	mbx_header_free(&xb->h);
	buf_free(&xb->text);
	free(xb);
	box->drvdata = NULL;
}

/* Learn the keyword names of slots not seen before (a name that cannot
 * be an IMAP keyword stays hidden, its bits kept as they are). */
static void map_slots(struct mailbox *box)
{
	struct mbxbox *xb = XB(box);

	for (unsigned i = 0; i < xb->h.nnames; i++) {
		if (xb->kw_of_slot[i] != -2)
			continue;
		int was = box->keywords_creatable;
		box->keywords_creatable = 1;
		xb->kw_of_slot[i] = mail_keyword(box, xb->h.names[i], 1);
		box->keywords_creatable = was;
	}
}

/* Box keyword bits of the file's slot bits. */
static uint64_t kw_of_raw(const struct mbxbox *xb, uint32_t raw)
{
	uint64_t kw = 0;

	for (unsigned i = 0; i < MBX_NKEYWORDS; i++)
		if ((raw >> i & 1) && i < xb->h.nnames && xb->kw_of_slot[i] >= 0)
			kw |= 1ULL << xb->kw_of_slot[i];
	return kw;
}

/* The file's slot bits for box keyword bits kw, slots added to the header
 * for keywords it lacks; -1 with err when it has no room. */
static int raw_of_kw(struct mailbox *box, uint64_t kw, uint32_t *raw, struct mail_err *err)
{
	struct mbxbox *xb = XB(box);

	*raw = 0;
	for (unsigned k = 0; k < box->nkeywords; k++) {
		if (!(kw >> k & 1))
			continue;
		int s = -1;
		for (unsigned i = 0; i < xb->h.nnames && s < 0; i++)
			if (xb->kw_of_slot[i] == (int)k)
				s = (int)i;
		if (s < 0 && (s = mbx_slot(&xb->h, box->keywords[k], 1)) >= 0)
			xb->kw_of_slot[s] = (int)k;
		if (s < 0) {
			mail_err_set(err, MAIL_LIMIT, "Cannot store keyword %s: an mbx mailbox holds "
				     "at most %d keywords", box->keywords[k], MBX_NKEYWORDS);
			return -1;
		}
		*raw |= 1U << s;
	}
	return 0;
}

/* Slot bits that no keyword of ours stands for (kept as the file has them). */
static uint32_t hidden_slots(const struct mbxbox *xb)
{
	uint32_t m = 0;

	for (unsigned i = 0; i < MBX_NKEYWORDS; i++)
		if (i >= xb->h.nnames || xb->kw_of_slot[i] < 0)
			m |= 1U << i;
	return m;
}

/* Has the session changed this message's flags since it last read them? */
static int dirty(const struct mbxbox *xb, const struct mbxmsg *x)
{
	return (x->m.flags & MF_STORABLE) != mbx_mf(x->disk_sys) ||
	       kwset_low(&x->m.keywords) != kw_of_raw(xb, x->disk_kw);
}

/* Drop message i (0-based), reporting its expunge. */
static void drop(struct mailbox *box, uint32_t i)
{
	if (XB(box)->text_uid == box->msgs[i]->uid)
		XB(box)->text_uid = 0;
	struct message *m = mail_msg_take(box, i);
	pool_free(m->pool);
	free(m);
}

/* Read every known message's flags back: others' changes to messages we
 * have not changed are taken (and told), expunged ones dropped when
 * expunges may be told. */
static int reread_flags(struct mailbox *box, int expunges, struct mail_err *err)
{
	struct mbxbox *xb = XB(box);

	for (uint32_t i = box->nmsgs; i-- > 0;) {
		struct mbxmsg *x = XM(box, i);
		struct mbx_ent e = { x->off, { .linelen = x->linelen }, 0 };
		uint32_t kw, sys;
		if (mbx_flags_read(xb->fd, &e, &kw, &sys) < 0) {
			mail_err_set(err, MAIL_CORRUPT, "mailbox %s is damaged: the flags of message "
				     "%u are unreadable", box->name, i + 1);
			return -1;
		}
		if (sys & MBX_EXPUNGED) {
			xb->holes = 1;
			if (expunges)
				drop(box, i);
			else
				xb->unreported = 1;
			continue;
		}
		/* a message this session changed keeps what it last read, so
		 * write_flags knows which bits are its own changes */
		if ((sys == x->disk_sys && kw == x->disk_kw) || dirty(xb, x))
			continue;
		x->disk_sys = sys;
		x->disk_kw = kw;
		x->m.flags = (x->m.flags & ~MF_STORABLE) | mbx_mf(sys);
		kwset_from_low(&x->m.keywords, kw_of_raw(xb, kw));
		mail_ev_flags(box, i + 1);
	}
	return 0;
}

/* At the first look, UIDs out of order are given again from 1 under a
 * new UIDVALIDITY (as UW does); later, the session cannot go on. */
static int renumber(struct mailbox *box, struct mbx_ents *e, struct mail_err *err)
{
	struct mbxbox *xb = XB(box);

	if (box->nmsgs) {
		mail_err_set(err, MAIL_CORRUPT, "another program gave mailbox %s UIDs out of order; "
			     "select it again", box->name);
		return -1;
	}
	log_warn("mbx mailbox %s: UIDs out of order, renumbered", box->path);
	for (size_t i = 0; i < e->n; i++)
		e->v[i].r.uid = 0;
	xb->h.last_uid = 0;
	xb->h.validity = mail_uidvalidity(box->sess, (uint32_t)time(NULL), !box->readonly);
	mbx_uids_fix(&xb->h, 0, e);
	return box->readonly ? 0 : mbx_header_write(xb->fd, &xb->h, err);
}

/* A message of the session for entry e. */
static void add_msg(struct mailbox *box, const struct mbx_ent *e, int recent)
{
	struct mbxmsg *x = xcalloc(1, sizeof *x);

	x->m.uid = e->r.uid;
	x->m.drv = x;
	x->m.internal_date = e->r.date;
	x->m.tz_minutes = e->r.tz_minutes;
	x->m.size = e->r.size;
	x->m.flags = mbx_mf(e->r.sys) | (recent ? MF_RECENT : 0);
	kwset_from_low(&x->m.keywords, kw_of_raw(XB(box), e->r.kw));
	x->off = e->off;
	x->linelen = (uint32_t)e->r.linelen;
	x->rawsize = e->r.size;
	x->disk_sys = e->r.sys;
	x->disk_kw = e->r.kw;
	mail_msg_add(box, &x->m);
}

/* Messages added to the file since we looked: UIDs given where missing,
 * \Recent claimed (MBX_OLD set, as UW does) by a read-write session. */
static int read_new(struct mailbox *box, uint64_t size, struct mail_err *err)
{
	struct mbxbox *xb = XB(box);
	struct mbx_ents e = { 0 };
	uint32_t before = box->nmsgs;
	uint32_t prev = before ? box->msgs[before - 1]->uid : 0;
	int rc = -1;

	if (mbx_walk_file(xb->fd, xb->end, size, !box->readonly, box->name, &e, &xb->end, err) < 0)
		return -1;
	/* a read-only session numbers UID-less messages itself, after what
	 * it numbered before (the file's last UID stays behind) */
	if (box->uidnext && xb->h.last_uid < box->uidnext - 1)
		xb->h.last_uid = box->uidnext - 1;
	if (mbx_uids_fix(&xb->h, prev, &e) && renumber(box, &e, err) < 0)
		goto out;
	if (!box->readonly && mbx_uids_write(xb->fd, &xb->h, &e, err) < 0)
		goto out;
	for (size_t i = 0; i < e.n; i++) {
		struct mbx_rec *r = &e.v[i].r;
		if (r->sys & MBX_EXPUNGED) {
			xb->holes = 1;
			continue;
		}
		int recent = !(r->sys & MBX_OLD) || e.v[i].uid_new;
		if (recent && !box->readonly) {
			r->sys |= MBX_OLD;
			if (mbx_flags_write(xb->fd, e.v[i].off, r->linelen, r->kw, r->sys, r->uid,
					    err) < 0)
				goto out;
		}
		add_msg(box, &e.v[i], recent);
	}
	if (box->nmsgs > before && !box->readonly)
		fsync(xb->fd);
	rc = 0;
out:
	mbx_ents_free(&e);
	return rc;
}

/* Has the file been written since st0 was taken (in place: same size)? */
static int same_times(const struct stat *st, const struct stat *st0)
{
	return st->st_mtim.tv_sec == st0->st_mtim.tv_sec &&
	       st->st_mtim.tv_nsec == st0->st_mtim.tv_nsec &&
	       st->st_ctim.tv_sec == st0->st_ctim.tv_sec &&
	       st->st_ctim.tv_nsec == st0->st_ctim.tv_nsec;
}

/* Under the parse lock: the header, new messages, others' flag changes. */
static int sync_locked(struct mailbox *box, int expunges, struct mail_err *err)
{
	struct mbxbox *xb = XB(box);
	struct mbx_header h;
	struct stat st;
	uint32_t before = box->nmsgs;

	if (fstat(xb->fd, &st) < 0 || mbx_header_read(xb->fd, box->name, &h, err) < 0)
		return -1;
	if ((uint64_t)st.st_size < xb->end) {
		mail_err_set(err, MAIL_CORRUPT, "mailbox %s shrank while open; select it again",
			     box->name);
		mbx_header_free(&h);
		return -1;
	}
	int changed = !same_times(&st, &xb->st) || h.pid != xb->h.pid ||
		      (xb->unreported && expunges);
	if (expunges)
		xb->unreported = 0;
	mbx_header_free(&xb->h);
	xb->h = h;
	/* a slot we meant to add but could not write is free again */
	for (unsigned i = h.nnames; i < MBX_NKEYWORDS; i++)
		xb->kw_of_slot[i] = -2;
	map_slots(box);
	if (changed && before && reread_flags(box, expunges, err) < 0)
		return -1;
	before = box->nmsgs;   /* less the expunged */
	if ((uint64_t)st.st_size > xb->end && read_new(box, (uint64_t)st.st_size, err) < 0)
		return -1;
	box->uidvalidity = xb->h.validity;
	if (xb->h.last_uid + 1 > box->uidnext)
		box->uidnext = xb->h.last_uid + 1;
	box->keywords_creatable = !box->readonly && xb->h.nnames < MBX_NKEYWORDS;
	fstat(xb->fd, &xb->st);
	if (box->nmsgs > before) {
		mail_ev_exists(box);
		mail_ev_recent(box);
	}
	return 0;
}

/* Write the session's flag changes in place, bit by bit over what the
 * file has now, so others' changes to other flags stay (under the lock,
 * after sync_locked). */
static int write_flags(struct mailbox *box, struct mail_err *err)
{
	struct mbxbox *xb = XB(box);
	int wrote = 0, names = xb->h.nnames;

	for (uint32_t i = 0; i < box->nmsgs; i++) {
		struct mbxmsg *x = XM(box, i);
		struct mbx_ent e = { x->off, { .linelen = x->linelen }, 0 };
		uint32_t raw, kw, sys;
		if (!dirty(xb, x))
			continue;
		if (raw_of_kw(box, kwset_low(&x->m.keywords), &raw, err) < 0 ||
		    mbx_flags_read(xb->fd, &e, &kw, &sys) < 0)
			return -1;
		uint32_t mine = mbx_sys(x->m.flags), chs = (mine ^ x->disk_sys) & SYS_FLAGS;
		uint32_t chk = (raw ^ x->disk_kw) & ~hidden_slots(xb);
		sys = ((sys & ~chs) | (mine & chs)) | MBX_OLD;
		kw = (kw & ~chk) | (raw & chk);
		if (mbx_flags_write(xb->fd, x->off, x->linelen, kw, sys, x->m.uid, err) < 0)
			return -1;
		x->disk_sys = sys;
		x->disk_kw = kw;
		if (dirty(xb, x)) {   /* another session's change to another flag */
			x->m.flags = (x->m.flags & ~MF_STORABLE) | mbx_mf(sys);
			kwset_from_low(&x->m.keywords, kw_of_raw(xb, kw));
			mail_ev_flags(box, i + 1);
		}
		wrote = 1;
	}
	if (!wrote)
		return 0;
	/* UW's sessions look at every message's flags again when the last
	 * writer's pid in the header changes */
	if ((xb->h.pid != (uint32_t)getpid() || (int)xb->h.nnames != names) &&
	    (xb->h.pid = (uint32_t)getpid(), mbx_header_write(xb->fd, &xb->h, err) < 0))
		return -1;
	if (fsync(xb->fd) < 0) {
		mail_err_set(err, MAIL_FAIL, "cannot save flags in %s: %s", box->name,
			     strerror(errno));
		return -1;
	}
	mbx_touch(xb->fd, &xb->st);
	fstat(xb->fd, &xb->st);
	return 0;
}

/* Replace the file by one without the expunged messages when no one else
 * has it open (we get the exclusive flock); else they stay hidden. */
static int reclaim(struct mailbox *box, struct mail_err *err)
{
	struct mbxbox *xb = XB(box);
	struct mbx_ents e = { 0 };
	uint64_t end;
	int nfd = -1, r = 0;

	if (!xb->holes || box->readonly)
		return 0;
	if (flock(xb->fd, LOCK_EX | LOCK_NB) == 0)
		r = mbx_reclaim(xb->fd, &xb->loc, box->name, &nfd, err);
	if (r < 0)   /* (a full disk) the messages stay hidden, for a later try */
		log_warn("mbx mailbox %s: space not reclaimed: %s", box->path, err->text);
	if (r <= 0)   /* flock drops the shared lock when it cannot convert */
		return mbx_flock_wait(xb->fd, LOCK_SH, box->name, err);
	close(xb->fd);
	xb->fd = nfd;
	xb->holes = 0;
	fstat(nfd, &xb->st);
	if (mbx_walk_file(nfd, 0, (uint64_t)xb->st.st_size, 0, box->name, &e, &end, err) < 0)
		return -1;
	if (e.n != box->nmsgs) {
		mbx_ents_free(&e);
		mail_err_set(err, MAIL_FAIL, "mailbox %s changed during a rewrite; select it again",
			     box->name);
		return -1;
	}
	for (uint32_t i = 0; i < box->nmsgs; i++)
		XM(box, i)->off = e.v[i].off;
	xb->end = end;
	mbx_ents_free(&e);
	return 0;
}

/* Take the parse lock, run fn, release it. */
static int locked(struct mailbox *box, int (*fn)(struct mailbox *, struct mail_err *),
		  struct mail_err *err)
{
	struct mbxbox *xb = XB(box);

	if (mbx_plock_take(xb->fd, box->name, &xb->pl, err) < 0)
		return -1;
	int rc = fn(box, err);
	mbx_plock_release(&xb->pl);
	return rc;
}

/* Under the lock: learn what others did, telling expunges. */
static int do_ping(struct mailbox *box, struct mail_err *err)
{
	return sync_locked(box, 1, err);
}

/* Under the lock: write our flags, expunges left for the next ping. */
static int do_flush(struct mailbox *box, struct mail_err *err)
{
	return sync_locked(box, 0, err) < 0 ? -1 : write_flags(box, err);
}

/* Under the lock: learn, write, and reclaim space if alone. */
static int do_check(struct mailbox *box, struct mail_err *err)
{
	if (sync_locked(box, 1, err) < 0 || write_flags(box, err) < 0)
		return -1;
	return reclaim(box, err);
}

/* Open: the file held shared as UW holds it, the first look, a rewrite's
 * leftover removed and expunged space reclaimed when we are alone. */
static int mbx_open(struct mailbox *box, struct mail_err *err)
{
	struct mbxbox *xb = xcalloc(1, sizeof *xb);
	const struct mail_events *ev = box->ev;
	struct stat st;

	box->keywords_max = MBX_NKEYWORDS;   /* the header's slots */

	box->drvdata = xb;
	xb->pl.fd = -1;
	xb->end = MBX_HDRSIZE;
	buf_init(&xb->text);
	for (unsigned i = 0; i < MBX_NKEYWORDS; i++)
		xb->kw_of_slot[i] = -2;
	xb->fd = mbx_file_lock(box->sess, box->path, box->name, !box->readonly, 1, &xb->loc, &st,
			       &xb->pl, err);
	if (xb->fd < 0) {
		mbx_close(box);
		return -1;
	}
	box->ev = NULL;   /* the caller learns the first state from box */
	int rc = sync_locked(box, 1, err);
	if (rc == 0 && !box->readonly) {
		mbx_tmp_clean(&xb->loc);
		rc = reclaim(box, err);
	}
	mbx_plock_release(&xb->pl);
	box->ev = ev;
	if (rc < 0) {
		mbx_close(box);
		return -1;
	}
	box->keywords_creatable = !box->readonly && xb->h.nnames < MBX_NKEYWORDS;
	return 0;
}

/* NOOP and IDLE: nothing to do while the file is as we left it. */
static int mbx_ping(struct mailbox *box, struct mail_err *err)
{
	struct stat st;
	struct mbxbox *xb = XB(box);

	if (fstat(xb->fd, &st) == 0 && st.st_size == xb->st.st_size && same_times(&st, &xb->st) &&
	    !xb->unreported)
		return 0;
	return locked(box, do_ping, err);
}

/* Make this session's flag changes visible now. */
static int mbx_flush(struct mailbox *box, struct mail_err *err)
{
	return box->readonly ? 0 : locked(box, do_flush, err);
}

/* CHECK and CLOSE: others' changes learnt, ours saved. */
static int mbx_check(struct mailbox *box, struct mail_err *err)
{
	return locked(box, box->readonly ? do_ping : do_check, err);
}

/* Mark the \Deleted messages expunged in place (each a single small
 * write: a crash leaves it there or gone), then reclaim their space if
 * the file is ours alone. */
static int mbx_expunge(struct mailbox *box, const uint32_t *uids, size_t nuids,
		       struct mail_err *err)
{
	struct mbxbox *xb = XB(box);
	size_t n;
	int rc = -1;

	if (box->readonly) {
		mail_err_set(err, MAIL_NOPERM, "mailbox %s is read-only", box->name);
		return -1;
	}
	if (mbx_plock_take(xb->fd, box->name, &xb->pl, err) < 0)
		return -1;
	if (sync_locked(box, 1, err) < 0 || write_flags(box, err) < 0)
		goto out;
	char *set = mail_expunge_set(box, uids, nuids, &n);
	for (uint32_t i = box->nmsgs; n && i-- > 0;) {
		struct mbxmsg *x = XM(box, i);
		if (!set[i])
			continue;
		if (mbx_flags_write(xb->fd, x->off, x->linelen, x->disk_kw,
				    x->disk_sys | MBX_EXPUNGED | MBX_OLD, x->m.uid, err) < 0) {
			free(set);
			goto out;
		}
		xb->holes = 1;
		drop(box, i);
	}
	free(set);
	if (n && fsync(xb->fd) < 0) {
		mail_err_set(err, MAIL_FAIL, "cannot expunge %s: %s", box->name, strerror(errno));
		goto out;
	}
	if (n) {
		mbx_touch(xb->fd, &xb->st);
		fstat(xb->fd, &xb->st);
	}
	rc = reclaim(box, err);
out:
	mbx_plock_release(&xb->pl);
	return rc;
}

/* A message's canonical text (the last one read is kept). */
static int mbx_fetch(struct mailbox *box, uint32_t msgno, const char **text, size_t *len,
		     struct mail_err *err)
{
	struct mbxbox *xb = XB(box);
	struct mbxmsg *x = XM(box, msgno - 1);

	if (xb->text_uid != x->m.uid) {
		uint64_t size = x->rawsize;
		if (size > MBX_FETCH_MAX) {
			mail_err_set(err, MAIL_TOOBIG, "message %u of %s is too large to read (%llu "
				     "bytes)", msgno, box->name, (unsigned long long)size);
			return -1;
		}
		char *raw = xmalloc(size + 1);
		ssize_t n = pread(xb->fd, raw, size, (off_t)(x->off + x->linelen));
		if (n != (ssize_t)size) {
			free(raw);
			mail_err_set(err, MAIL_FAIL, "cannot read message %u of %s: %s", msgno,
				     box->name, n < 0 ? strerror(errno) : "file cut short");
			return -1;
		}
		buf_reset(&xb->text);
		/* UW stores what it is given: bare LFs become CRLF here */
		msgfile_canon_append(&xb->text, raw, size, 0);
		free(raw);
		x->m.size = xb->text.len;
		xb->text_uid = x->m.uid;
	}
	*text = xb->text.data ? xb->text.data : "";
	*len = xb->text.len;
	return 0;
}

/* ENVELOPE and header searches: the first 64k of the message, as far as
 * its blank line, when that holds it (the whole text otherwise). */
static int mbx_fetch_header(struct mailbox *box, uint32_t msgno, const char **text,
			    size_t *len, struct mail_err *err)
{
	struct mbxbox *xb = XB(box);
	struct mbxmsg *x = XM(box, msgno - 1);
	size_t want = x->rawsize < 65536 ? (size_t)x->rawsize : 65536, end = 0;

	if (xb->text_uid != x->m.uid) {
		char *raw = xmalloc(want + 1);
		ssize_t n = pread(xb->fd, raw, want, (off_t)(x->off + x->linelen));
		if (n > 0) {
			buf_reset(&xb->text);
			msgfile_canon_append(&xb->text, raw, (size_t)n, 0);
			end = msgfile_header_end(xb->text.data, xb->text.len);
		}
		free(raw);
		if (!end)
			return mbx_fetch(box, msgno, text, len, err);
		xb->text_uid = 0;   /* a part only: fetch reads the whole again */
	} else {
		end = msgfile_header_end(xb->text.data ? xb->text.data : "", xb->text.len);
		if (!end)
			end = xb->text.len;
	}
	*text = xb->text.data ? xb->text.data : "";
	*len = end;
	return 0;
}

/* DELETE as UW does it: refused while another session has the file open. */
static int mbx_remove(struct mail_session *sess, const char *path, struct mail_err *err)
{
	struct fsafe_loc loc;
	struct mbx_plock pl = { -1, "" };
	struct stat st;
	int rc = -1;
	int fd = mbx_file_lock(sess, path, path, 0, 0, &loc, &st, &pl, err);

	if (fd < 0)
		return -1;
	if (flock(fd, LOCK_EX | LOCK_NB) < 0)
		mail_err_set(err, MAIL_INUSE, "mailbox %s is in use by another process", path);
	else if (unlinkat(loc.dirfd, loc.leaf, 0) < 0)
		mail_err_set(err, MAIL_FAIL, "cannot delete %s: %s", path, strerror(errno));
	else
		rc = 0;
	mbx_plock_release(&pl);
	close(fd);
	fsafe_close(&loc);
	return rc;
}

/* COPY between mbx files: each message's stored bytes copied as they
 * are, with its flags, keywords (by name) and internal date, through the
 * append's crash-safe write. */
static int mbx_copy(struct mailbox *box, const uint32_t *msgnos, size_t n, const char *destpath,
		    uint32_t *validity_out, uint32_t *uids_out, struct mail_err *err)
{
	struct mail_new *nm = xcalloc(n + 1, sizeof *nm);
	uint64_t *off = xcalloc(n + 1, sizeof *off);
	struct mbx_src src = {.fd = XB(box)->fd, .off = off};
	int rc;

	for (size_t i = 0; i < n; i++) {
		struct mbxmsg *x = XM(box, msgnos[i] - 1);
		mail_new_meta(box, &x->m, &nm[i]);
		nm[i].len = (size_t)x->rawsize;
		off[i] = x->off + x->linelen;
	}
	rc = mbx_append_from(box->sess, destpath, nm, n, &src, validity_out, uids_out, err);
	for (size_t i = 0; i < n; i++)
		free(nm[i].keywords);
	free(nm);
	free(off);
	return rc;
}

/* IDLE: the file's own entry changes with every append and flag write. */
static int mbx_watch(struct mailbox *box, int ifd)
{
	return mail_watch_add(box, ifd, XB(box)->loc.dirfd, XB(box)->loc.leaf);
}

const struct driver driver_mbx = {
	.name = "mbx",
	.valid = mbx_valid,
	.open = mbx_open,
	.close = mbx_close,
	.ping = mbx_ping,
	.check = mbx_check,
	.flush = mbx_flush,
	.expunge = mbx_expunge,
	.fetch = mbx_fetch,
	.fetch_header = mbx_fetch_header,
	.append = mbx_append,
	.copy = mbx_copy,
	.create = mbx_create,
	.status = mbx_status,
	.remove = mbx_remove,
	.watch = mbx_watch,
};
