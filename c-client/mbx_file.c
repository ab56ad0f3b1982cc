/* mbx_file.c: an mbx file on disk, shared with UW's own programs: their
 * locks (a shared flock on the file while it is open, an exclusive flock
 * on /tmp/.<dev>.<ino> while it is read or written, an exclusive flock on
 * the file to reclaim space), the walk over its messages, UIDs, append,
 * create, STATUS and the crash-safe reclaiming rewrite. */
#include "mbx_int.h"
#include "log.h"
#include "msgfile.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/file.h>
#include <time.h>
#include <unistd.h>

int mbx_lock_secs = 30;
void (*mbx_test_hook)(const char *step);

#define HOOK(s)                                                                            \
	do {                                                                               \
		if (mbx_test_hook)                                                         \
			mbx_test_hook(s);                                                  \
	} while (0)

/* err for a failed system call on box (a full disk: MAIL_TOOBIG). */
static int sys_error(const char *what, const char *box, struct mail_err *err)
{
	int e = errno;

	mail_err_set(err, e == ENOSPC || e == EDQUOT ? MAIL_TOOBIG : e == EACCES ? MAIL_NOPERM :
			  MAIL_FAIL, "%s %s: %s", what, box, strerror(e));
	errno = e;
	return -1;
}

/* Sleep a little between tries of a lock. */
static void nap(void)
{
	struct timespec ts = { 0, 20 * 1000 * 1000 };

	nanosleep(&ts, NULL);
}

int mbx_flock_wait(int fd, int op, const char *box, struct mail_err *err)
{
	time_t until = time(NULL) + mbx_lock_secs;

	while (flock(fd, op | LOCK_NB) < 0) {
		if (errno != EWOULDBLOCK && errno != EINTR)
			return sys_error("cannot lock", box, err);
		if (time(NULL) > until) {
			mail_err_set(err, MAIL_INUSE, "mailbox %s is locked by another program", box);
			return -1;
		}
		nap();
	}
	return 0;
}

/* Open (or make) the lock file name to flock it, never following a link
 * and never reading or writing it: only a plain file with one link is
 * used, whoever owns it (UW leaves them behind, mode 0666, and a later
 * file may get the same device and inode numbers). -1 with err, or -2 to
 * try again. */
static int plock_open(const char *name, const char *box, struct mail_err *err)
{
	struct stat st;
	int fd = open(name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);

	if (fd < 0 && errno == ENOENT) {
		/* 0644: not writable by others; flock needs no write access */
		fd = open(name, O_RDONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC,
			  0644);
		if (fd < 0 && errno == EEXIST)
			return -2;
	}
	if (fd < 0) {
		if (errno == ELOOP)
			log_warn("mbx lock file %s is a symbolic link; refused", name);
		mail_err_set(err, MAIL_INUSE, "cannot lock mailbox %s: lock file %s: %s", box, name,
			     errno == ELOOP ? "a symbolic link was planted there" : strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_nlink != 1) {
		log_warn("mbx lock file %s is not a plain file with one link; refused", name);
		mail_err_set(err, MAIL_INUSE, "cannot lock mailbox %s: lock file %s is not a plain "
			     "file", box, name);
		close(fd);
		return -1;
	}
	return fd;
}

int mbx_plock_take(int mfd, const char *box, struct mbx_plock *pl, struct mail_err *err)
{
	struct stat st, ls, fs;

	pl->fd = -1;
	if (fstat(mfd, &st) < 0)
		return sys_error("cannot lock", box, err);
	snprintf(pl->name, sizeof pl->name, "/tmp/.%lx.%lx", (unsigned long)st.st_dev,
		 (unsigned long)st.st_ino);
	for (int tries = 0; tries < 1000; tries++) {
		int fd = plock_open(pl->name, box, err);
		if (fd == -2)
			continue;
		if (fd < 0)
			return -1;
		if (mbx_flock_wait(fd, LOCK_EX, box, err) < 0) {
			close(fd);
			return -1;
		}
		/* the holder before us may have removed the name meanwhile */
		if (lstat(pl->name, &ls) == 0 && !S_ISLNK(ls.st_mode) && fstat(fd, &fs) == 0 &&
		    ls.st_dev == fs.st_dev && ls.st_ino == fs.st_ino && fs.st_nlink == 1) {
			pl->fd = fd;
			return 0;
		}
		close(fd);
	}
	mail_err_set(err, MAIL_INUSE, "cannot lock mailbox %s", box);
	return -1;
}

void mbx_plock_release(struct mbx_plock *pl)
{
	struct stat ls, fs;

	if (pl->fd < 0)
		return;
	/* as UW does: the holder removes the name; one waiting on the old
	 * file notices (the check above) and makes a new one */
	if (lstat(pl->name, &ls) == 0 && fstat(pl->fd, &fs) == 0 && ls.st_dev == fs.st_dev &&
	    ls.st_ino == fs.st_ino)
		unlink(pl->name);
	close(pl->fd);
	pl->fd = -1;
}

int mbx_header_read(int fd, const char *box, struct mbx_header *h, struct mail_err *err)
{
	char b[MBX_HDRSIZE];
	ssize_t n = pread(fd, b, sizeof b, 0);

	if (n < 0)
		return sys_error("cannot read", box, err);
	if (mbx_header_parse(b, (size_t)n, h) < 0) {
		mail_err_set(err, MAIL_CORRUPT, "mailbox %s is not in mbx format (bad header)", box);
		return -1;
	}
	return 0;
}

int mbx_header_write(int fd, const struct mbx_header *h, struct mail_err *err)
{
	char b[MBX_HDRSIZE];

	if (mbx_header_format(b, h) < 0) {
		mail_err_set(err, MAIL_LIMIT, "the mbx header cannot hold these keywords");
		return -1;
	}
	if (pwrite(fd, b, sizeof b, 0) != (ssize_t)sizeof b)
		return sys_error("cannot write the header of", "mailbox", err);
	return 0;
}

/* Open the mailbox file at path safely: a plain file, not through a link,
 * never blocking (a FIFO). */
static int file_open(struct mail_session *s, const char *path, const char *box, int write,
		     struct fsafe_loc *loc, struct stat *st, struct mail_err *err)
{
	if (fsafe_locate(s, path, 0, loc, err) < 0) {
		if (errno == ENOENT)
			mail_err_set(err, MAIL_NONEXISTENT, "mailbox %s does not exist", box);
		return -1;
	}
	int fd = fsafe_open(loc, (write ? O_RDWR : O_RDONLY) | O_NONBLOCK, 0);
	if (fd < 0 || fstat(fd, st) < 0 || !S_ISREG(st->st_mode)) {
		if (fd >= 0)
			errno = EINVAL;
		mail_err_set(err, errno == ENOENT ? MAIL_NONEXISTENT : errno == EACCES ? MAIL_NOPERM :
			     MAIL_FAIL, "cannot open mailbox %s: %s", box, errno == ELOOP ?
			     "it is a symbolic link" : errno == EINVAL ? "not a plain file" :
			     strerror(errno));
		if (fd >= 0)
			close(fd);
		fsafe_close(loc);
		return -1;
	}
	return fd;
}

/* Undo file_open and the locks taken. */
static void file_close(int fd, struct fsafe_loc *loc, struct mbx_plock *pl)
{
	mbx_plock_release(pl);
	close(fd);
	fsafe_close(loc);
}

int mbx_file_lock(struct mail_session *s, const char *path, const char *box, int write,
		  int shared, struct fsafe_loc *loc, struct stat *st, struct mbx_plock *pl,
		  struct mail_err *err)
{
	struct mbx_header h;

	for (int tries = 0; tries < 5; tries++) {
		int fd = file_open(s, path, box, write, loc, st, err);
		if (fd < 0)
			return -1;
		if (mbx_plock_take(fd, box, pl, err) < 0 ||
		    (shared && mbx_flock_wait(fd, LOCK_SH, box, err) < 0)) {
			file_close(fd, loc, pl);
			return -1;
		}
		if (!fsafe_same(loc, st)) {   /* a rewrite put a new file there */
			file_close(fd, loc, pl);
			continue;
		}
		if (mbx_header_read(fd, box, &h, err) < 0) {
			file_close(fd, loc, pl);
			return -1;
		}
		mbx_header_free(&h);
		return fd;
	}
	mail_err_set(err, MAIL_INUSE, "mailbox %s keeps being replaced; try again", box);
	return -1;
}

void mbx_ents_free(struct mbx_ents *e)
{
	free(e->v);
	e->v = NULL;
	e->n = 0;
}

/* Cut a tail left by an append killed midway (only an appender, under
 * the parse lock we hold, writes past the end). */
static int cut_tail(int fd, uint64_t at, uint64_t size, const char *box, struct mail_err *err)
{
	log_warn("mbx mailbox %s: removing %llu bytes of an unfinished append at %llu", box,
		 (unsigned long long)(size - at), (unsigned long long)at);
	if (ftruncate(fd, (off_t)at) < 0 || fsync(fd) < 0)
		return sys_error("cannot repair", box, err);
	return 0;
}

int mbx_walk_file(int fd, uint64_t from, uint64_t size, int repair, const char *box,
		  struct mbx_ents *out, uint64_t *end, struct mail_err *err)
{
	char line[MBX_LINE_MAX];
	size_t cap = out->n;
	uint64_t off = from < MBX_HDRSIZE ? MBX_HDRSIZE : from;

	while (off < size) {
		struct mbx_rec r;
		ssize_t n = pread(fd, line, sizeof line, (off_t)off);
		if (n < 0) {
			mbx_ents_free(out);
			return sys_error("cannot read", box, err);
		}
		int st = mbx_rec_parse(line, (size_t)n, &r);
		if (st == MBX_REC_OK && r.size > size - off - r.linelen)
			st = MBX_REC_SHORT;
		if (st == MBX_REC_SHORT) {
			if (repair && cut_tail(fd, off, size, box, err) < 0) {
				mbx_ents_free(out);
				return -1;
			}
			break;
		}
		if (st == MBX_REC_BAD) {
			mail_err_set(err, MAIL_CORRUPT, "mailbox %s is damaged: no message line at "
				     "byte %llu", box, (unsigned long long)off);
			mbx_ents_free(out);
			return -1;
		}
		if (out->n == cap) {
			cap = cap ? cap * 2 : 64;
			out->v = xrealloc(out->v, cap * sizeof *out->v);
		}
		out->v[out->n++] = (struct mbx_ent){ off, r, 0 };
		off += r.linelen + r.size;
	}
	*end = off < size ? off : size;
	return 0;
}

int mbx_uids_fix(struct mbx_header *h, uint32_t prev, struct mbx_ents *e)
{
	for (size_t i = 0; i < e->n; i++) {
		uint32_t u = e->v[i].r.uid;
		if (u && (u <= prev || u > h->last_uid))
			return 1;
		if (u)
			prev = u;
	}
	for (size_t i = 0; i < e->n; i++)
		if (!e->v[i].r.uid) {
			if (h->last_uid == UINT32_MAX)
				return 1;
			e->v[i].r.uid = ++h->last_uid;
			e->v[i].uid_new = 1;
		}
	return 0;
}

int mbx_uids_write(int fd, const struct mbx_header *h, const struct mbx_ents *e,
		   struct mail_err *err)
{
	char last[9];

	snprintf(last, sizeof last, "%08x", h->last_uid);
	if (pwrite(fd, last, 8, 15) != 8 || fsync(fd) < 0)
		return sys_error("cannot write UIDs to", "mailbox", err);
	for (size_t i = 0; i < e->n; i++) {
		const struct mbx_ent *x = &e->v[i];
		if (x->uid_new && mbx_flags_write(fd, x->off, x->r.linelen, x->r.kw, x->r.sys,
						  x->r.uid, err) < 0)
			return -1;
	}
	return 0;
}

int mbx_flags_read(int fd, const struct mbx_ent *e, uint32_t *kw, uint32_t *sys)
{
	char b[MBX_FLAGS_BACK - 10];

	if (pread(fd, b, sizeof b, (off_t)(e->off + e->r.linelen - MBX_FLAGS_BACK)) !=
	    (ssize_t)sizeof b)
		return -1;
	return mbx_flags_parse(b, kw, sys);
}

int mbx_flags_write(int fd, uint64_t off, size_t linelen, uint32_t kw, uint32_t sys,
		    uint32_t uid, struct mail_err *err)
{
	char b[MBX_FLAGS_LEN + 1];

	mbx_flags_format(b, kw, sys, uid);
	if (pwrite(fd, b, MBX_FLAGS_LEN, (off_t)(off + linelen - MBX_FLAGS_BACK + 1)) !=
	    MBX_FLAGS_LEN)
		return sys_error("cannot write flags to", "mailbox", err);
	return 0;
}

int mbx_slot(struct mbx_header *h, const char *name, int add)
{
	for (unsigned i = 0; i < h->nnames; i++)
		if (!strcasecmp(h->names[i], name))
			return (int)i;
	if (!add || h->nnames >= MBX_NKEYWORDS || !mbx_keyword_ok(name))
		return -1;
	h->names[h->nnames] = xstrdup(name);
	return (int)h->nnames++;
}

void mbx_touch(int fd, const struct stat *old)
{
	struct timespec t[2];

	clock_gettime(CLOCK_REALTIME, &t[0]);
	t[1] = t[0];
	if (t[1].tv_sec <= old->st_mtim.tv_sec)
		t[1].tv_sec = old->st_mtim.tv_sec + 1;
	futimens(fd, t);
}

static const struct {
	uint32_t mf, sys;
} flagmap[] = {
	{ MF_SEEN, MBX_SEEN },       { MF_DELETED, MBX_DELETED }, { MF_FLAGGED, MBX_FLAGGED },
	{ MF_ANSWERED, MBX_ANSWERED }, { MF_DRAFT, MBX_DRAFT },
};

/* The bits of in mapped from one side of flagmap to the other. */
static uint32_t map_flags(uint32_t in, int to_sys)
{
	uint32_t out = 0;

	for (size_t i = 0; i < ARRAY_SIZE(flagmap); i++)
		if (in & (to_sys ? flagmap[i].mf : flagmap[i].sys))
			out |= to_sys ? flagmap[i].sys : flagmap[i].mf;
	return out;
}

uint32_t mbx_mf(uint32_t sys)
{
	return map_flags(sys, 0);
}

uint32_t mbx_sys(uint32_t mf)
{
	return map_flags(mf, 1);
}

/* Copy len bytes of fd at off to the end of out. */
static int copy_range(int fd, uint64_t off, uint64_t len, int out)
{
	char b[65536];

	while (len) {
		size_t k = len < sizeof b ? (size_t)len : sizeof b;
		ssize_t n = pread(fd, b, k, (off_t)off);
		if (n <= 0 || write_full(out, b, (size_t)n) < 0)
			return -1;
		off += (uint64_t)n;
		len -= (uint64_t)n;
	}
	return 0;
}

/* Write the header and the kept messages of fd into the new file out. */
static int reclaim_copy(int fd, int out, const struct mbx_ents *e)
{
	char hdr[MBX_HDRSIZE];

	if (pread(fd, hdr, sizeof hdr, 0) != (ssize_t)sizeof hdr ||
	    write_full(out, hdr, sizeof hdr) < 0)
		return -1;
	for (size_t i = 0; i < e->n; i++) {
		uint32_t kw, sys;
		if (mbx_flags_read(fd, &e->v[i], &kw, &sys) < 0)
			return -1;
		if (!(sys & MBX_EXPUNGED) &&
		    copy_range(fd, e->v[i].off, e->v[i].r.linelen + e->v[i].r.size, out) < 0)
			return -1;
	}
	return fsync(out);
}

/* Are there expunged messages or bytes past the last message in fd? */
static int has_holes(int fd, const struct mbx_ents *e, uint64_t end, uint64_t size)
{
	for (size_t i = 0; i < e->n; i++) {
		uint32_t kw, sys;
		if (mbx_flags_read(fd, &e->v[i], &kw, &sys) == 0 && (sys & MBX_EXPUNGED))
			return 1;
	}
	return end != size;
}

/* The name of the rewrite's new file beside the mailbox. */
static void tmp_name(const struct fsafe_loc *loc, char *tmp, size_t size)
{
	snprintf(tmp, size, ".%.*s.mbxtmp", (int)(size - 9), loc->leaf);
}

void mbx_tmp_clean(const struct fsafe_loc *loc)
{
	char tmp[NAME_MAX + 1];

	tmp_name(loc, tmp, sizeof tmp);
	unlinkat(loc->dirfd, tmp, 0);
}

int mbx_reclaim(int fd, const struct fsafe_loc *loc, const char *box, int *newfd,
		struct mail_err *err)
{
	struct mbx_ents e = { 0 };
	struct stat st;
	uint64_t end;
	char tmp[NAME_MAX + 1];
	int rc = -1, out = -1;

	if (fstat(fd, &st) < 0 || mbx_walk_file(fd, 0, (uint64_t)st.st_size, 0, box, &e, &end,
						err) < 0)
		return -1;
	/* a file of someone else's, or with other names, keeps its inode:
	 * the expunged messages stay hidden until UW reclaims them in place */
	if (!has_holes(fd, &e, end, (uint64_t)st.st_size) || st.st_uid != geteuid() ||
	    st.st_nlink != 1) {
		mbx_ents_free(&e);
		return 0;
	}
	tmp_name(loc, tmp, sizeof tmp);
	unlinkat(loc->dirfd, tmp, 0);   /* one a crash left */
	out = openat(loc->dirfd, tmp, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
		     st.st_mode & 07777);
	if (out < 0 || fchmod(out, st.st_mode & 07777) < 0 || reclaim_copy(fd, out, &e) < 0) {
		sys_error("cannot reclaim space in", box, err);
		goto out;
	}
	HOOK("reclaim-written");
	/* ours shared before anyone can open it by name */
	if (flock(out, LOCK_SH) < 0 || !fsafe_same(loc, &st) ||
	    renameat(loc->dirfd, tmp, loc->dirfd, loc->leaf) < 0) {
		sys_error("cannot reclaim space in", box, err);
		goto out;
	}
	fsafe_sync_dir(loc->dirfd);
	HOOK("reclaim-renamed");
	/* one of UW's that opened the old file and waits for its locks finds
	 * it empty and fails, rather than working on a file no one sees */
	if (ftruncate(fd, 0) < 0)
		log_warn("mbx mailbox %s: old file not emptied: %s", box, strerror(errno));
	*newfd = out;
	out = -1;
	rc = 1;
out:
	if (out >= 0) {
		close(out);
		unlinkat(loc->dirfd, tmp, 0);
	}
	mbx_ents_free(&e);
	return rc;
}

/* ---------------------------------------------------------------------- */
/* Mailboxes by path                                                       */

int mbx_valid(int dirfd, const char *leaf, const struct stat *st)
{
	char b[MBX_HDRSIZE];
	struct mbx_header h;
	int fd = mail_valid_open(dirfd, leaf, st);
	ssize_t n = fd < 0 ? -1 : pread(fd, b, sizeof b, 0);

	if (fd >= 0)
		close(fd);
	if (n < (ssize_t)sizeof b || mbx_header_parse(b, (size_t)n, &h) < 0)
		return 0;
	mbx_header_free(&h);
	return 1;
}

/* The bits of h's slots for the keyword names kw (NULL-terminated). */
static int kw_bits(struct mbx_header *h, char **kw, uint32_t *bits, struct mail_err *err)
{
	*bits = 0;
	for (; kw && *kw; kw++) {
		int s = mbx_slot(h, *kw, 1);
		if (s < 0) {
			mail_err_set(err, MAIL_LIMIT, "Cannot add keyword %s: an mbx mailbox holds at "
				     "most %d keywords of at most %d characters", *kw,
				     MBX_NKEYWORDS, MBX_KEYWORD_MAX);
			return -1;
		}
		*bits |= 1U << s;
	}
	return 0;
}

/* A COPY's message text: its bytes in the source file as they are. */
static int raw_text(const struct mbx_src *src, size_t i, size_t len, struct buf *text,
		    struct mail_err *err)
{
	buf_reserve(text, len);
	ssize_t got = pread(src->fd, text->data, len, (off_t)src->off[i]);
	if (got != (ssize_t)len)
		return sys_error("cannot read the source of a copy to", "an mbx mailbox", err);
	text->len = len;
	text->data[len] = '\0';
	return 0;
}

/* The new messages as mbx records, UIDs after h->last_uid (bumped); the
 * texts canonicalised, or read raw from src when given. */
static int format_new(struct mbx_header *h, const struct mail_new *msgs, size_t n,
		      const struct mbx_src *src, uint32_t *uids_out, struct buf *out,
		      struct mail_err *err)
{
	struct buf text;
	int rc = 0;

	buf_init(&text);
	for (size_t i = 0; rc == 0 && i < n; i++) {
		struct mbx_rec r = { 0 };
		buf_reset(&text);
		if (src && raw_text(src, i, msgs[i].len, &text, err) < 0) {
			rc = -1;
			break;
		}
		if (!src)
			msgfile_canon_append(&text, msgs[i].text, msgs[i].len, 0);
		if (!text.len) {
			mail_err_set(err, MAIL_FAIL, "an empty message cannot be stored in mbx");
			rc = -1;
			break;
		}
		rc = kw_bits(h, msgs[i].keywords, &r.kw, err);
		r.date = msgs[i].date ? msgs[i].date : time(NULL);
		r.tz_minutes = msgs[i].date ? msgs[i].tz_minutes : 0;
		r.size = text.len;
		r.sys = mbx_sys(msgs[i].flags);   /* no MBX_OLD: \Recent to the next session */
		r.uid = ++h->last_uid;
		if (uids_out)
			uids_out[i] = r.uid;
		mbx_rec_format(out, &r);
		buf_append(out, text.data, text.len);
	}
	buf_free(&text);
	return rc;
}

/* Under the locks: the file's UIDs current (messages without one get
 * theirs, as UW's append does first) and a cut-short tail removed. */
static int settle(int fd, const char *box, struct mbx_header *h, uint64_t *size,
		  struct mail_err *err)
{
	struct mbx_ents e = { 0 };
	struct stat st;
	int rc = -1;

	if (fstat(fd, &st) < 0)
		return sys_error("cannot read", box, err);
	if (mbx_walk_file(fd, 0, (uint64_t)st.st_size, 1, box, &e, size, err) < 0)
		return -1;
	if (mbx_uids_fix(h, 0, &e)) {
		mail_err_set(err, MAIL_CORRUPT, "mailbox %s has UIDs out of order; open it to "
			     "repair them first", box);
	} else {
		int any = 0;
		for (size_t i = 0; i < e.n; i++)
			any |= e.v[i].uid_new;
		rc = any ? mbx_uids_write(fd, h, &e, err) : 0;
	}
	mbx_ents_free(&e);
	return rc;
}

int mbx_append(struct mail_session *sess, const char *path, const struct mail_new *msgs,
	       size_t n, uint32_t *validity_out, uint32_t *uids_out, struct mail_err *err)
{
	return mbx_append_from(sess, path, msgs, n, NULL, validity_out, uids_out, err);
}

int mbx_append_from(struct mail_session *sess, const char *path, const struct mail_new *msgs,
		    size_t n, const struct mbx_src *src, uint32_t *validity_out,
		    uint32_t *uids_out, struct mail_err *err)
{
	struct fsafe_loc loc;
	struct mbx_plock pl = { -1, "" };
	struct mbx_header h = { 0 };
	struct stat st;
	struct buf out;
	uint64_t size;
	int rc = -1;
	int fd = mbx_file_lock(sess, path, path, 1, 1, &loc, &st, &pl, err);

	if (fd < 0)
		return -1;
	buf_init(&out);
	if (mbx_header_read(fd, path, &h, err) < 0 || settle(fd, path, &h, &size, err) < 0 ||
	    format_new(&h, msgs, n, src, uids_out, &out, err) < 0)
		goto done;
	/* the header first: a crash after it leaves unused UIDs, never
	 * messages whose UIDs lie above the header's last one */
	if (mbx_header_write(fd, &h, err) < 0 || fsync(fd) < 0) {
		sys_error("cannot append to", path, err);
		goto done;
	}
	HOOK("append-header");
	/* all of it, or the errno of what stopped it: a full disk first
	 * shows as a short write, which sets no errno of its own */
	if (pwrite_full(fd, out.data, out.len, (off_t)size) < 0 || fsync(fd) < 0) {
		sys_error("cannot append to", path, err);
		if (ftruncate(fd, (off_t)size) == 0)
			fsync(fd);
		goto done;
	}
	HOOK("append-done");
	mbx_touch(fd, &st);
	if (validity_out)
		*validity_out = h.validity;
	rc = 0;
done:
	buf_free(&out);
	mbx_header_free(&h);
	file_close(fd, &loc, &pl);
	return rc;
}

int mbx_create(struct mail_session *sess, const char *path, struct mail_err *err)
{
	struct fsafe_loc loc;
	struct mbx_header h = { 0 };
	char b[MBX_HDRSIZE], tmp[NAME_MAX + 1];
	int rc = -1;

	if (fsafe_locate(sess, path, 1, &loc, err) < 0)
		return -1;
	h.validity = mail_uidvalidity(sess, (uint32_t)time(NULL), 1);
	mbx_header_format(b, &h);
	/* made whole beside it, then linked in: never a half-made mailbox */
	snprintf(tmp, sizeof tmp, ".%.*s.mbxnew.%ld", (int)(sizeof tmp - 32), loc.leaf,
		 (long)getpid());
	unlinkat(loc.dirfd, tmp, 0);
	int fd = openat(loc.dirfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0 || write_full(fd, b, sizeof b) < 0 || fsync(fd) < 0) {
		sys_error("cannot create", path, err);
	} else if (linkat(loc.dirfd, tmp, loc.dirfd, loc.leaf, 0) < 0) {
		if (errno == EEXIST)
			mail_err_set(err, MAIL_EXISTS, "mailbox %s already exists", path);
		else
			sys_error("cannot create", path, err);
	} else {
		fsafe_sync_dir(loc.dirfd);
		rc = 0;
	}
	if (fd >= 0) {
		close(fd);
		unlinkat(loc.dirfd, tmp, 0);
	}
	fsafe_close(&loc);
	return rc;
}

int mbx_status(struct mail_session *sess, const char *path, struct mail_status *st,
	       struct mail_err *err)
{
	struct fsafe_loc loc;
	struct mbx_plock pl = { -1, "" };
	struct mbx_header h = { 0 };
	struct mbx_ents e = { 0 };
	struct stat fs;
	uint64_t end;
	int rc = -1;
	int fd = mbx_file_lock(sess, path, path, 0, 0, &loc, &fs, &pl, err);

	memset(st, 0, sizeof *st);
	if (fd < 0)
		return -1;
	if (mbx_header_read(fd, path, &h, err) == 0 &&
	    mbx_walk_file(fd, 0, (uint64_t)fs.st_size, 0, path, &e, &end, err) == 0) {
		/* what a SELECT would find: UIDs given to those without one */
		if (mbx_uids_fix(&h, 0, &e)) {   /* renumbered from 1 */
			h.validity = mail_uidvalidity(sess, (uint32_t)time(NULL), 0);
			h.last_uid = (uint32_t)e.n;
		}
		for (size_t i = 0; i < e.n; i++) {
			uint32_t s = e.v[i].r.sys;
			if (s & MBX_EXPUNGED)
				continue;
			st->messages++;
			st->size += e.v[i].r.size;   /* mbx keeps the CRLF text */
			st->recent += !(s & MBX_OLD) || e.v[i].uid_new;
			st->unseen += !(s & MBX_SEEN);
		}
		st->uidvalidity = h.validity;
		st->uidnext = h.last_uid + 1;
		rc = 0;
	}
	mbx_ents_free(&e);
	mbx_header_free(&h);
	file_close(fd, &loc, &pl);
	return rc;
}
