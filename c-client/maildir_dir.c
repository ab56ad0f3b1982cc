/* maildir_dir.c: one Maildir on disk, below the mailbox layer: its
 * directories held open (never through a link), Dovecot's lock files,
 * dovecot-uidlist and dovecot-keywords read and replaced under them, and
 * delivery (tmp/, fsync, rename) with UIDs assigned under the lock. */
#include "maildir_int.h"
#include "fsafe.h"
#include "log.h"
#include "msgfile.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#define DIR_FLAGS (O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
/* Dovecot overrides a uidlist lock nobody touched for two minutes; we wait
 * this long for a live one before answering "in use". */
#define LOCK_STALE_SECS 120
#define LOCK_WAIT_MS 10000
/* Largest uidlist / keywords file we read. */
#define UIDLIST_MAX (64u << 20)
#define KEYWORDS_MAX (64u << 10)

/* err for a failed system call e on what/name (a full disk: MAIL_TOOBIG). */
static void md_err_errno(struct mail_err *err, int e, const char *what, const char *name)
{
	mail_err_set(err, e == ENOSPC || e == EDQUOT ? MAIL_TOOBIG : e == EACCES ? MAIL_NOPERM :
		     e == ENOENT ? MAIL_NONEXISTENT : MAIL_FAIL, "%s %s: %s%s", what, name,
		     strerror(e), e == ENOSPC || e == EDQUOT ? " (nothing was stored)" : "");
}

int md_dir_open(struct mail_session *s, const char *path, struct mdir *d, struct mail_err *err)
{
	struct fsafe_loc loc;
	static const char *const sub[3] = { "cur", "new", "tmp" };
	int *fds[3] = { &d->cur, &d->new, &d->tmp };

	d->root = d->cur = d->new = d->tmp = -1;
	if (fsafe_locate(s, path, 0, &loc, err) < 0)
		return -1;
	d->root = openat(loc.dirfd, loc.leaf, DIR_FLAGS);
	int e = errno;
	fsafe_close(&loc);
	if (d->root < 0) {
		md_err_errno(err, e == ELOOP || e == ENOTDIR ? EACCES : e, "cannot open", path);
		return -1;
	}
	for (int i = 0; i < 3; i++) {
		*fds[i] = openat(d->root, sub[i], DIR_FLAGS);
		if (*fds[i] < 0 && i == 2 && errno == ENOENT) {
			/* an MTA's Maildir may lack tmp/ until its first delivery */
			mkdirat(d->root, "tmp", 0700);
			*fds[i] = openat(d->root, sub[i], DIR_FLAGS);
		}
		if (*fds[i] < 0) {
			md_err_errno(err, errno, "not a Maildir (no usable subdirectory):", sub[i]);
			md_dir_close(d);
			return -1;
		}
	}
	return 0;
}

DIR *md_opendir(int dirfd, const char *name)
{
	int fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	DIR *d = fd >= 0 ? fdopendir(fd) : NULL;

	if (!d && fd >= 0)
		close(fd);
	return d;
}

void md_dir_close(struct mdir *d)
{
	int *fds[4] = { &d->root, &d->cur, &d->new, &d->tmp };

	for (int i = 0; i < 4; i++) {
		if (*fds[i] >= 0)
			close(*fds[i]);
		*fds[i] = -1;
	}
}

/* ---------------------------------------------------------------------- */
/* Locks: Dovecot's dotlocks, made O_EXCL; the new contents are written    */
/* into the lock file, which is then renamed over the real one.           */

/* Remove a lock nobody has touched for LOCK_STALE_SECS (the holder died). */
static int lock_break_stale(int root, const char *name)
{
	struct stat st, again;

	if (fstatat(root, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return errno == ENOENT;
	if (time(NULL) - st.st_mtime < LOCK_STALE_SECS)
		return 0;
	/* the same file still (not a fresh lock someone just took) */
	if (fstatat(root, name, &again, AT_SYMLINK_NOFOLLOW) < 0 || again.st_ino != st.st_ino)
		return 1;
	log_notice("overriding a stale Maildir lock %s (untouched for %ld seconds)", name,
		   (long)(time(NULL) - st.st_mtime));
	return unlinkat(root, name, 0) == 0 || errno == ENOENT;
}

int md_lock(int root, const char *name, struct mail_err *err)
{
	for (int waited = 0;; waited += 10) {
		int fd = openat(root, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
				0600);
		if (fd >= 0)
			return fd;
		if (errno != EEXIST) {
			md_err_errno(err, errno, "cannot lock", name);
			return -1;
		}
		if (lock_break_stale(root, name))
			continue;
		if (waited >= LOCK_WAIT_MS) {
			mail_err_set(err, MAIL_INUSE, "the mailbox is locked by another process (%s)",
				     name);
			return -1;
		}
		struct timespec ts = { 0, 10 * 1000 * 1000 };
		nanosleep(&ts, NULL);
	}
}

void md_lock_drop(int root, int fd, const char *name)
{
	if (fd < 0)
		return;
	close(fd);
	unlinkat(root, name, 0);
}

int md_lock_commit(int root, int fd, const char *lockname, const char *target,
		   const struct buf *data, struct mail_err *err)
{
	if (write_full(fd, data->data ? data->data : "", data->len) < 0 || fsync(fd) < 0) {
		int e = errno;
		md_lock_drop(root, fd, lockname);
		md_err_errno(err, e, "cannot write", target);
		return -1;
	}
	close(fd);
	if (renameat(root, lockname, root, target) < 0) {
		int e = errno;
		unlinkat(root, lockname, 0);
		md_err_errno(err, e, "cannot replace", target);
		return -1;
	}
	fsafe_sync_dir(root);
	return 0;
}

/* ---------------------------------------------------------------------- */
/* dovecot-uidlist and dovecot-keywords                                    */

/* Read a small file of ours in root: 0 read, 1 absent, -1 refused. */
static int read_small(int root, const char *name, size_t max, char **data, size_t *len,
		      struct stat *st, struct mail_err *err)
{
	memset(st, 0, sizeof *st);
	if (fstatat(root, name, st, AT_SYMLINK_NOFOLLOW) < 0 && errno == ENOENT)
		return 1;
	return fsafe_read_own(root, name, max, data, len, err);
}

int md_ul_read(int root, struct md_ul *u, struct mail_err *err)
{
	size_t len;
	int r;

	md_ul_free(u);
	r = read_small(root, MD_UIDLIST, UIDLIST_MAX, &u->data, &len, &u->st, err);
	if (r != 0)
		return r < 0 ? -1 : 0;
	if (md_uidlist_parse(u->data, len, &u->ul) < 0) {
		/* unusable: as if absent; its files get new UIDs */
		log_warn("ignoring an unreadable %s", MD_UIDLIST);
		free(u->data);
		u->data = NULL;
		return 0;
	}
	u->have = 1;
	return 0;
}

void md_ul_free(struct md_ul *u)
{
	md_uidlist_free(&u->ul);
	free(u->data);
	memset(u, 0, sizeof *u);
}

int md_file_changed(int root, const char *name, const struct stat *was)
{
	struct stat st;

	if (fstatat(root, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return was->st_ino != 0;
	return st.st_ino != was->st_ino || st.st_size != was->st_size ||
	       st.st_mtim.tv_sec != was->st_mtim.tv_sec || st.st_mtim.tv_nsec != was->st_mtim.tv_nsec;
}

/* The INBOX Maildir, where Dovecot counts the UIDVALIDITYs it handed out
 * (dovecot-uidvalidity): -1 when INBOX is no Maildir. */
static int ns_open(struct mail_session *s)
{
	struct fsafe_loc loc;
	struct mail_err ignore;
	int fd;

	if (!s->ns_root || fsafe_locate(s, s->ns_root, 0, &loc, &ignore) < 0)
		return -1;
	fd = openat(loc.dirfd, loc.leaf, DIR_FLAGS);
	fsafe_close(&loc);
	return fd;
}

/* Dovecot's last UIDVALIDITY (8 hex digits in dovecot-uidvalidity), or 0. */
static uint32_t dovecot_last(int nsfd)
{
	struct mail_err ignore;
	char *data, *end;
	size_t len;

	if (nsfd < 0 || fsafe_read_own(nsfd, MD_UIDVALIDITY, 64, &data, &len, &ignore) != 0)
		return 0;
	unsigned long v = strtoul(data, &end, 16);
	int ok = end > data && end - data <= 8;
	free(data);
	return ok ? (uint32_t)v : 0;
}

/* Tell Dovecot we handed out v: its marker file "dovecot-uidvalidity.<hex>"
 * renamed from the last value (or made), then the counter file, so the
 * next folder Dovecot makes gets a greater one. */
static void dovecot_record(int nsfd, uint32_t last, uint32_t v)
{
	char from[64], to[64], hex[16];
	struct mail_err ignore;

	snprintf(from, sizeof from, "%s.%08x", MD_UIDVALIDITY, last);
	snprintf(to, sizeof to, "%s.%08x", MD_UIDVALIDITY, v);
	if (!last || renameat(nsfd, from, nsfd, to) < 0) {
		int fd = openat(nsfd, to, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0444);
		if (fd >= 0)
			close(fd);
	}
	snprintf(hex, sizeof hex, "%08x", v);
	fsafe_replace(nsfd, MD_UIDVALIDITY, hex, 8, &ignore);
}

/* The floor of a new UIDVALIDITY: the Maildir's ctime (so STATUS before
 * and SELECT after agree), above what Dovecot handed out. */
static uint32_t validity_floor(int root, int nsfd, uint32_t *last)
{
	struct stat st;
	uint32_t floor = fstat(root, &st) == 0 ? (uint32_t)st.st_ctime : (uint32_t)time(NULL);

	*last = dovecot_last(nsfd);
	return *last && *last < UINT32_MAX && *last + 1 > floor ? *last + 1 : floor;
}

/* A fresh header: validity from the user's policy, a random GUID. */
void md_ul_new(struct mail_session *s, int root, struct md_ul *u)
{
	unsigned char g[16];
	int nsfd = ns_open(s);
	uint32_t last;

	md_ul_free(u);
	u->ul.version = 3;
	u->ul.validity = mail_uidvalidity(s, validity_floor(root, nsfd, &last), 1);
	u->ul.next = 1;
	if (nsfd >= 0) {
		dovecot_record(nsfd, last, u->ul.validity);
		close(nsfd);
	}
	if (getrandom(g, sizeof g, 0) == (ssize_t)sizeof g)
		for (int i = 0; i < 16; i++)
			snprintf(u->ul.guid + 2 * i, 3, "%02x", g[i]);
}

uint32_t md_ul_validity_preview(struct mail_session *s, int root)
{
	int nsfd = ns_open(s);
	uint32_t last, v = mail_uidvalidity(s, validity_floor(root, nsfd, &last), 0);

	if (nsfd >= 0)
		close(nsfd);
	return v;
}

int md_kw_read(int root, char *names[MD_LETTERS], struct stat *st, struct mail_err *err)
{
	char *data;
	size_t len;
	int r = read_small(root, MD_KEYWORDS, KEYWORDS_MAX, &data, &len, st, err);

	memset(names, 0, MD_LETTERS * sizeof *names);
	if (r != 0)
		return r < 0 ? -1 : 0;
	md_keywords_parse(data, len, names);
	free(data);
	return 0;
}

void md_kw_free(char *names[MD_LETTERS])
{
	for (int i = 0; i < MD_LETTERS; i++) {
		free(names[i]);
		names[i] = NULL;
	}
}

/* The letter of keyword name, added to names[] (and *added set) when new;
 * -1 when all 26 are taken. */
int md_kw_letter(char *names[MD_LETTERS], const char *name, int *added)
{
	int free_at = -1;

	for (int i = 0; i < MD_LETTERS; i++) {
		if (names[i] && !strcasecmp(names[i], name))
			return i;
		if (!names[i] && free_at < 0)
			free_at = i;
	}
	if (free_at >= 0) {
		names[free_at] = xstrdup(name);
		*added = 1;
	}
	return free_at;
}

/* Dovecot rereads dovecot-keywords only when its mtime (in seconds) has
 * changed, and its own writes run that mtime ahead of the clock: a new
 * file gets max(now, old + 1) as Dovecot does, or Dovecot would name our
 * new keyword "unknown-N" and later write that name over it. */
static void kw_mtime_after(int root, const struct stat *old)
{
	struct timespec now, ts[2];

	clock_gettime(CLOCK_REALTIME, &now);
	ts[0] = ts[1] = now;
	if (old->st_mtime && old->st_mtime + 1 > now.tv_sec) {
		ts[1].tv_sec = old->st_mtime + 1;
		ts[1].tv_nsec = 0;
	}
	utimensat(root, MD_KEYWORDS, ts, AT_SYMLINK_NOFOLLOW);
}

int md_kw_write(int root, char *names[MD_LETTERS], struct mail_err *err)
{
	struct buf b;
	struct stat old = { 0 };
	int fd = md_lock(root, MD_KEYWORDS ".lock", err), rc;

	if (fd < 0)
		return -1;
	if (fstatat(root, MD_KEYWORDS, &old, AT_SYMLINK_NOFOLLOW) < 0)
		memset(&old, 0, sizeof old);
	buf_init(&b);
	md_keywords_format(&b, names);
	rc = md_lock_commit(root, fd, MD_KEYWORDS ".lock", MD_KEYWORDS, &b, err);
	if (rc == 0)
		kw_mtime_after(root, &old);
	buf_free(&b);
	return rc;
}

/* ---------------------------------------------------------------------- */
/* Delivery: tmp/, fsync, rename                                          */

/* This host's name as Maildir wants it in file names. */
static void host_name(char *out, size_t size)
{
	char h[256];
	size_t o = 0;

	if (gethostname(h, sizeof h) < 0)
		str_copy(h, "localhost", sizeof h);
	h[sizeof h - 1] = '\0';
	for (const char *p = h; *p && o + 5 < size; p++) {
		if (*p == '/' || *p == ':' || *p == ',')
			o += (size_t)snprintf(out + o, size - o, "\\%03o", (unsigned char)*p);
		else
			out[o++] = *p;
	}
	out[o] = '\0';
}

/* A new unique base name carrying the stored and the canonical size. */
static void unique_base(char *out, size_t size, uint64_t fsize, uint64_t vsize)
{
	static unsigned seq;
	char host[128];
	struct timeval tv;

	gettimeofday(&tv, NULL);
	host_name(host, sizeof host);
	snprintf(out, size, "%lld.M%06ldP%ldQ%u.%s,S=%llu,W=%llu", (long long)tv.tv_sec,
		 (long)tv.tv_usec, (long)getpid(), ++seq, host, (unsigned long long)fsize,
		 (unsigned long long)vsize);
}

/* Create tmp/<base> for writing; the base is made unique. */
static int tmp_create(struct mdir *d, struct md_put *p, uint64_t fsize, uint64_t vsize)
{
	for (int tries = 0; tries < 100; tries++) {
		unique_base(p->base, sizeof p->base, fsize, vsize);
		int fd = openat(d->tmp, p->base, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
				0600);
		if (fd >= 0 || errno != EEXIST)
			return fd;
	}
	errno = EEXIST;
	return -1;
}

/* Give the file its internal date and make it durable. */
static int tmp_finish(int fd, time_t date)
{
	struct timespec ts[2] = { { 0, UTIME_NOW }, { date ? date : time(NULL), 0 } };

	if (futimens(fd, ts) < 0 || fsync(fd) < 0)
		return -1;
	return close(fd);
}

int md_put_text(struct mdir *d, const struct mail_new *m, struct md_put *p, struct mail_err *err)
{
	struct buf b;
	int fd, e = 0;

	buf_init(&b);
	msgfile_store_form(&b, m->text, m->len);
	fd = tmp_create(d, p, b.len, msgfile_canon_size(b.data ? b.data : "", b.len));
	if (fd < 0 || write_full(fd, b.data ? b.data : "", b.len) < 0 ||
	    tmp_finish(fd, m->date) < 0)
		e = errno;
	if (e && fd >= 0) {
		close(fd);
		unlinkat(d->tmp, p->base, 0);
	}
	buf_free(&b);
	if (e) {
		p->base[0] = '\0';
		md_err_errno(err, e, "cannot store a message in", "tmp/");
		return -1;
	}
	p->in_tmp = 1;
	return 0;
}

/* Copy the bytes of the open file fd into a new tmp/ file. */
static int put_bytes(struct mdir *d, int fd, const struct stat *st, struct md_put *p, time_t date,
		     uint64_t vsize)
{
	char buf[65536];
	int out = tmp_create(d, p, (uint64_t)st->st_size, vsize);
	off_t at = 0;

	if (out < 0)
		return -1;
	for (;;) {
		ssize_t n = pread(fd, buf, sizeof buf, at);
		if (n < 0 || (n > 0 && write_full(out, buf, (size_t)n) < 0))
			break;
		if (n == 0)
			return tmp_finish(out, date);
		at += n;
	}
	int e = errno;
	close(out);
	unlinkat(d->tmp, p->base, 0);
	errno = e;
	return -1;
}

int md_put_file(struct mdir *d, int srcdir, const char *name, uint64_t vsize, time_t date,
		struct md_put *p, struct mail_err *err)
{
	struct stat st;
	int fd = msgfile_open(srcdir, name, &st), e;

	if (fd < 0) {
		md_err_errno(err, errno, "cannot read message file", name);
		return -1;
	}
	/* a hard link is the fast path; another file system (or a link
	 * limit) gets a copy of the bytes */
	unique_base(p->base, sizeof p->base, (uint64_t)st.st_size, vsize);
	char self[64];
	snprintf(self, sizeof self, "/proc/self/fd/%d", fd);
	/* through our descriptor: the very file checked above is linked */
	if (linkat(AT_FDCWD, self, d->tmp, p->base, AT_SYMLINK_FOLLOW) == 0) {
		close(fd);
		p->in_tmp = 1;
		return 0;
	}
	e = put_bytes(d, fd, &st, p, date, vsize) < 0 ? errno : 0;
	close(fd);
	if (e) {
		p->base[0] = '\0';
		md_err_errno(err, e, "cannot copy message file", name);
		return -1;
	}
	p->in_tmp = 1;
	return 0;
}

void md_put_discard(struct mdir *d, struct md_put *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (v[i].in_tmp) {
			unlinkat(d->tmp, v[i].base, 0);
			v[i].in_tmp = 0;
		}
}

/* The keyword letters of p's names in names[] (adding new ones). */
static int put_letters(char *names[MD_LETTERS], struct md_put *p, int *added,
		       struct mail_err *err)
{
	p->letters = 0;
	for (char **k = p->keywords; k && *k; k++) {
		int l = md_kw_letter(names, *k, added);
		if (l < 0) {
			mail_err_set(err, MAIL_LIMIT, "Cannot store keyword %s: a Maildir holds at "
				     "most %d keywords (one letter each in the file name)", *k,
				     MD_LETTERS);
			return -1;
		}
		p->letters |= 1U << l;
	}
	return 0;
}

/* Map every message's keywords to letters, writing dovecot-keywords if
 * some are new (under the uidlist lock the caller holds). */
static int commit_keywords(struct mdir *d, struct md_put *v, size_t n, struct mail_err *err)
{
	char *names[MD_LETTERS];
	struct stat st;
	int added = 0, rc = 0;

	if (md_kw_read(d->root, names, &st, err) < 0)
		return -1;
	for (size_t i = 0; i < n && rc == 0; i++)
		rc = put_letters(names, &v[i], &added, err);
	if (rc == 0 && added)
		rc = md_kw_write(d->root, names, err);
	md_kw_free(names);
	return rc;
}

/* Order of scanned files by name (deliveries are named by time). */
static int waiting_cmp(const void *a, const void *b)
{
	return strcmp((*(struct ment *const *)a)->name, (*(struct ment *const *)b)->name);
}

/* The files of the Maildir (ours, not links) that have no UID yet, by
 * name: mail waiting in new/ is numbered before what is appended, so an
 * APPEND ends the mailbox (RFC 3501 6.3.11), as with Dovecot. */
static struct ment **waiting(struct mdir *d, const struct md_ul *u, struct mscan *sc, size_t *n)
{
	struct ment **w;
	struct stat st;

	*n = 0;
	if (md_scan(d, sc) < 0)
		return NULL;
	w = xmalloc((sc->n + 1) * sizeof *w);
	for (size_t i = 0; i < sc->n; i++)
		if ((!u->have || !md_uidlist_find(&u->ul, sc->v[i].name, sc->v[i].pn.base_len)) &&
		    md_ment_ours(d, &sc->v[i], &st))
			w[(*n)++] = &sc->v[i];
	if (*n)
		qsort(w, *n, sizeof *w, waiting_cmp);
	return w;
}

/* The old records, the waiting files', then the new messages' ones. */
static void commit_list(struct buf *b, struct md_ul *u, struct ment *const *w, size_t nw,
			const struct md_put *v, size_t n)
{
	md_uidlist_header(b, &u->ul);
	for (size_t i = 0; i < u->ul.n; i++) {
		const struct md_rec *r = &u->ul.recs[i];
		md_uidlist_record(b, r->uid, r->ext, r->ext_len, r->base, r->base_len);
	}
	for (size_t i = 0; i < nw; i++)
		md_uidlist_record(b, w[i]->uid, NULL, 0, w[i]->name, w[i]->pn.base_len);
	for (size_t i = 0; i < n; i++)
		md_uidlist_record(b, v[i].uid, NULL, 0, v[i].base, strlen(v[i].base));
}

/* Move the tmp/ files into cur/ with their flags; all or none. */
static int commit_files(struct mdir *d, struct md_put *v, size_t n, struct mail_err *err)
{
	struct buf name;
	size_t i;

	buf_init(&name);
	for (i = 0; i < n; i++) {
		struct md_info in = md_info_with(&(struct md_info){ { 0, 0 } }, v[i].flags, v[i].letters);
		buf_reset(&name);
		md_name_format(&name, v[i].base, strlen(v[i].base), &in);
		if (renameat2(d->tmp, v[i].base, d->cur, name.data, RENAME_NOREPLACE) < 0)
			break;
		v[i].in_tmp = 0;
		free(v[i].final);
		v[i].final = buf_steal(&name);
	}
	if (i < n) {
		md_err_errno(err, errno, "cannot move a message into", "cur/");
		while (i-- > 0) {
			unlinkat(d->cur, v[i].final, 0);
		}
	}
	buf_free(&name);
	if (i == n)
		fsafe_sync_dir(d->cur);
	return i == n ? 0 : -1;
}

int md_commit(struct mail_session *s, struct mdir *d, struct md_put *v, size_t n,
	      uint32_t *validity_out, uint32_t *uids_out, struct mail_err *err)
{
	struct md_ul u = { 0 };
	struct mscan sc = { 0 };
	struct ment **w = NULL;
	size_t nw = 0;
	struct buf b;
	int fd = md_lock(d->root, MD_UIDLIST_LOCK, err), rc = -1;

	if (fd < 0)
		return -1;
	buf_init(&b);
	if (md_ul_read(d->root, &u, err) < 0 || commit_keywords(d, v, n, err) < 0)
		goto out;
	w = waiting(d, &u, &sc, &nw);
	if (!u.have)
		md_ul_new(s, d->root, &u);
	for (size_t i = 0; i < nw; i++)
		w[i]->uid = u.ul.next++;
	for (size_t i = 0; i < n; i++)
		v[i].uid = u.ul.next++;
	commit_list(&b, &u, w, nw, v, n);
	/* the list is written (a full disk fails here, before any message is
	 * visible), then the messages appear, then the list replaces the old */
	if (write_full(fd, b.data, b.len) < 0 || fsync(fd) < 0) {
		md_err_errno(err, errno, "cannot write", MD_UIDLIST);
		goto out;
	}
	if (commit_files(d, v, n, err) < 0)
		goto out;
	if (renameat(d->root, MD_UIDLIST_LOCK, d->root, MD_UIDLIST) < 0) {
		md_err_errno(err, errno, "cannot replace", MD_UIDLIST);
		goto out;   /* the messages stay; they get UIDs at the next scan */
	}
	close(fd);
	fd = -1;
	fsafe_sync_dir(d->root);
	for (size_t i = 0; uids_out && i < n; i++)
		uids_out[i] = v[i].uid;
	if (validity_out)
		*validity_out = u.ul.validity;
	rc = 0;
out:
	md_lock_drop(d->root, fd, MD_UIDLIST_LOCK);
	md_ul_free(&u);
	free(w);
	md_scan_free(&sc);
	buf_free(&b);
	return rc;
}
