/* mh_dir.c: one MH folder on disk, below the mailbox layer: its numbered
 * message files (only regular files of the user), .mh_sequences read and
 * rewritten under nmh's lock, the UIDVALIDITY record kept for it in
 * ~/.imapd-cache, delivery (temp file, fsync, link(2) to the next free
 * number) and the folder's creation and removal. */
#include "mh_int.h"
#include "fsafe.h"
#include "log.h"
#include "maildir_int.h"
#include "msgfile.h"
#include "unix_index.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#define DIR_FLAGS (O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
#define SEQ_MAX (16u << 20)
#define STATE_MAX (64u << 20)

/* The sequences that stand for flags (the names mutt and others use;
 * \Seen is the absence from "unseen", nmh's unseen sequence). */
static const struct {
	uint32_t flag;
	const char *seq;
} flag_seqs[] = {
	{ MF_FLAGGED, "flagged" },
	{ MF_ANSWERED, "replied" },
	{ MF_DELETED, "deleted" },
	{ MF_DRAFT, "draft" },
};
#define SEQ_UNSEEN "unseen"

/* err for a failed system call e (a full disk: MAIL_TOOBIG). */
static void mh_err_errno(struct mail_err *err, int e, const char *what, const char *name)
{
	mail_err_set(err, e == ENOSPC || e == EDQUOT ? MAIL_TOOBIG : e == EACCES ? MAIL_NOPERM :
		     e == ENOENT ? MAIL_NONEXISTENT : MAIL_FAIL, "%s %s: %s", what, name,
		     strerror(e));
}

int mh_num_name(const char *name, uint32_t *num)
{
	size_t n = strlen(name);
	uint64_t v = 0;

	if (!n || n > 10 || name[0] == '0')
		return 0;
	for (size_t i = 0; i < n; i++) {
		if (name[i] < '0' || name[i] > '9')
			return 0;
		v = v * 10 + (uint64_t)(name[i] - '0');
	}
	if (v > 0x7fffffff)
		return 0;
	*num = (uint32_t)v;
	return 1;
}

/* Order of scanned files by number. */
static int ent_cmp(const void *a, const void *b)
{
	const struct mh_ent *x = a, *y = b;

	return (x->num > y->num) - (x->num < y->num);
}

int mh_scan(int dirfd, struct mh_scan *sc)
{
	DIR *d = md_opendir(dirfd, ".");
	struct dirent *e;
	size_t cap = 0;

	memset(sc, 0, sizeof *sc);
	if (!d)
		return -1;
	while ((e = readdir(d)) != NULL) {
		struct statx st;
		uint32_t num;
		if (!mh_num_name(e->d_name, &num))
			continue;
		/* a link, a FIFO or another user's file is never a message */
		if (statx(dirfd, e->d_name, AT_SYMLINK_NOFOLLOW, STATX_BASIC_STATS | STATX_BTIME,
			  &st) < 0 || !S_ISREG(st.stx_mode) || st.stx_uid != geteuid()) {
			log_warn("MH folder: skipped %s: not a regular file of this user", e->d_name);
			continue;
		}
		if (sc->n == cap) {
			cap = cap ? cap * 2 : 256;
			sc->v = xrealloc(sc->v, cap * sizeof *sc->v);
		}
		const struct statx_timestamp *t = st.stx_mask & STATX_BTIME ? &st.stx_btime :
						  &st.stx_ctime;
		sc->v[sc->n++] = (struct mh_ent){
			num, st.stx_ino, (uint64_t)t->tv_sec * 1000000000u + t->tv_nsec,
			st.stx_size << 32 ^ ((uint64_t)st.stx_mtime.tv_sec * 1000000000u +
					     st.stx_mtime.tv_nsec), 0 };
	}
	closedir(d);
	if (sc->n)
		qsort(sc->v, sc->n, sizeof *sc->v, ent_cmp);
	return 0;
}

void mh_scan_free(struct mh_scan *sc)
{
	free(sc->v);
	memset(sc, 0, sizeof *sc);
}

/* ---------------------------------------------------------------------- */
/* The UIDVALIDITY record: "mh1 validity uidnext path\n", then a line     */
/* "num inode birth version size" per message file known (mh_int.h), in  */
/* ~/.imapd-cache/<hash>.mh (size: canonical, 0 unknown).                 */

struct mh_state {
	uint32_t validity, uidnext;
	struct mh_scan known;
};

/* Read the record of path; -1 when there is none usable. */
static int state_load(struct mail_session *s, const char *path, struct mh_state *st)
{
	char name[40], *data, *p, *end;
	struct mail_err ignore;
	size_t len, cap = 0;
	int dfd = uidx_cache_dir(fsafe_home(s), 0), at = 0;
	unsigned long v, u;

	memset(st, 0, sizeof *st);
	if (dfd < 0)
		return -1;
	uidx_cache_name(path, "mh", name);
	int r = fsafe_read_own(dfd, name, STATE_MAX, &data, &len, &ignore);
	close(dfd);
	if (r != 0)
		return -1;
	end = data + len;
	p = memchr(data, '\n', len);
	if (!p || sscanf(data, "mh1 %lu %lu %n", &v, &u, &at) != 2 || !at || !v ||
	    v > UINT32_MAX || u > UINT32_MAX || (size_t)(p - data - at) != strlen(path) ||
	    memcmp(data + at, path, strlen(path))) {
		free(data);
		return -1;
	}
	st->validity = (uint32_t)v;
	st->uidnext = (uint32_t)u;
	for (p++; p < end;) {
		char *nl = memchr(p, '\n', (size_t)(end - p));
		unsigned long long n, ino, stamp, ver = 0, vsize = 0;
		if (!nl || sscanf(p, "%llu %llu %llu %llu %llu", &n, &ino, &stamp, &ver, &vsize) < 3 ||
		    n > UINT32_MAX)
			break;
		if (st->known.n == cap) {
			cap = cap ? cap * 2 : 256;
			st->known.v = xrealloc(st->known.v, cap * sizeof *st->known.v);
		}
		st->known.v[st->known.n++] = (struct mh_ent){ (uint32_t)n, ino, stamp, ver, vsize };
		p = nl + 1;
	}
	free(data);
	if (st->known.n)
		qsort(st->known.v, st->known.n, sizeof *st->known.v, ent_cmp);
	return 0;
}

void mh_state_save(struct mail_session *s, const char *path, uint32_t validity,
		   uint32_t uidnext, const struct mh_scan *sc)
{
	char name[40];
	struct mail_err ignore;
	struct buf b;
	int dfd = uidx_cache_dir(fsafe_home(s), 1);

	if (dfd < 0)
		return;
	uidx_cache_name(path, "mh", name);
	buf_init(&b);
	buf_printf(&b, "mh1 %u %u %s\n", validity, uidnext, path);
	for (size_t i = 0; i < sc->n; i++)
		buf_printf(&b, "%u %llu %llu %llu %llu\n", sc->v[i].num,
			   (unsigned long long)sc->v[i].ino, (unsigned long long)sc->v[i].stamp,
			   (unsigned long long)sc->v[i].ver, (unsigned long long)sc->v[i].vsize);
	/* only a cache of what we told clients: a failure is not fatal,
	 * the next open just takes a new UIDVALIDITY */
	if (fsafe_replace(dfd, name, b.data, b.len, &ignore) < 0)
		log_warn("cannot record the UIDVALIDITY of %s: %s", path, ignore.text);
	close(dfd);
	buf_free(&b);
}

const struct mh_ent *mh_known(const struct mh_scan *known, const struct mh_ent *e)
{
	const struct mh_ent *k = known->n ? bsearch(e, known->v, known->n, sizeof *known->v,
						    ent_cmp) : NULL;

	return k && k->ino == e->ino && k->stamp == e->stamp ? k : NULL;
}

/* Does the record know every file below its UIDNEXT, as the same file? */
static int state_matches(const struct mh_state *st, const struct mh_scan *sc)
{
	for (size_t i = 0; i < sc->n && sc->v[i].num < st->uidnext; i++)
		if (!mh_known(&st->known, &sc->v[i]))
			return 0;
	return 1;
}

uint32_t mh_validity(struct mail_session *s, const char *path, int dirfd,
		     const struct mh_scan *sc, uint32_t *uidnext, struct mh_scan *known)
{
	struct mh_state st;
	struct stat ds;
	uint32_t last = sc->n ? sc->v[sc->n - 1].num : 0, v;

	if (known)
		memset(known, 0, sizeof *known);
	if (state_load(s, path, &st) == 0 && state_matches(&st, sc)) {
		*uidnext = st.uidnext > last ? st.uidnext : last + 1;
		if (known)
			*known = st.known;
		else
			mh_scan_free(&st.known);
		return st.validity;
	}
	if (st.validity)
		log_notice("MH folder %s was renumbered: new UIDVALIDITY", path);
	mh_scan_free(&st.known);
	/* Recorded even for a STATUS or a read-only open: a value derived
	 * again later (from the folder's ctime, which every delivery moves)
	 * would differ, and STATUS before and SELECT after must agree. */
	v = mail_uidvalidity(s, fstat(dirfd, &ds) == 0 ? (uint32_t)ds.st_ctime :
			     (uint32_t)time(NULL), 1);
	*uidnext = last + 1;
	mh_state_save(s, path, v, *uidnext, sc);
	return v;
}

/* ---------------------------------------------------------------------- */
/* .mh_sequences                                                          */

/* Open it without following a link or blocking: a regular file of ours. */
static int seq_open(int dirfd, int flags)
{
	struct stat st;
	int fd = openat(dirfd, MH_SEQUENCES, flags | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC, 0600);

	if (fd >= 0 && (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_uid != geteuid())) {
		close(fd);
		errno = EACCES;
		return -1;
	}
	return fd;
}

/* Wait for an fcntl lock of type on the whole of fd. */
static int seq_fcntl(int fd, short type)
{
	struct flock fl = { .l_type = type, .l_whence = SEEK_SET };
	int r;

	while ((r = fcntl(fd, F_SETLKW, &fl)) < 0 && errno == EINTR)
		;
	return r;
}

int mh_seq_lock(int dirfd, struct mail_err *err)
{
	int fd = seq_open(dirfd, O_RDWR | O_CREAT);
	struct stat st;

	if (fd < 0 || seq_fcntl(fd, F_WRLCK) < 0) {
		mh_err_errno(err, errno, "cannot lock", MH_SEQUENCES);
		if (fd >= 0)
			close(fd);
		return -1;
	}
	/* one we would not read whole is never rewritten (its sequences lost) */
	if (fstat(fd, &st) < 0 || (uint64_t)st.st_size > SEQ_MAX) {
		mail_err_set(err, MAIL_LIMIT, "%s is too large to rewrite (over %u bytes)",
			     MH_SEQUENCES, SEQ_MAX);
		close(fd);
		return -1;
	}
	return fd;
}

void mh_seq_load(int fd, struct mh_seqs *q)
{
	struct stat st;
	char *data = NULL;
	ssize_t n = 0;

	if (fstat(fd, &st) == 0 && st.st_size > 0 && (uint64_t)st.st_size <= SEQ_MAX) {
		data = xmalloc((size_t)st.st_size);
		n = pread(fd, data, (size_t)st.st_size, 0);
	}
	mh_seqs_parse(data ? data : "", n > 0 ? (size_t)n : 0, q);
	free(data);
}

int mh_seq_store(int fd, const struct mh_seqs *q, struct mail_err *err)
{
	struct buf b;
	struct stat st;
	int rc = 0;

	buf_init(&b);
	/* in place, as nmh does: a rename would leave nmh's lock holders on
	 * the old file (only flags live here, never mail); padded to the old
	 * length until the truncation (mh.h) */
	size_t len = mh_seqs_image(&b, q, fstat(fd, &st) == 0 ? (size_t)st.st_size : 0);
	if (pwrite(fd, b.data ? b.data : "", b.len, 0) != (ssize_t)b.len ||
	    ftruncate(fd, (off_t)len) < 0 || fsync(fd) < 0) {
		mh_err_errno(err, errno, "cannot write", MH_SEQUENCES);
		rc = -1;
	}
	buf_free(&b);
	return rc;
}

void mh_seq_read(int dirfd, struct mh_seqs *q, struct stat *st)
{
	int fd = seq_open(dirfd, O_RDONLY);

	memset(st, 0, sizeof *st);
	if (fd < 0 || seq_fcntl(fd, F_RDLCK) < 0) {
		mh_seqs_parse("", 0, q);
	} else {
		fstat(fd, st);
		mh_seq_load(fd, q);
	}
	if (fd >= 0)
		close(fd);
}

uint32_t mh_seq_flags(const struct mh_seqs *q, uint32_t num)
{
	struct mh_seqs *m = (struct mh_seqs *)q;
	uint32_t f = mh_seq_has(mh_seqs_get(m, SEQ_UNSEEN, 0), num) ? 0 : MF_SEEN;

	for (size_t i = 0; i < ARRAY_SIZE(flag_seqs); i++)
		if (mh_seq_has(mh_seqs_get(m, flag_seqs[i].seq, 0), num))
			f |= flag_seqs[i].flag;
	return f;
}

void mh_seq_put_flags(struct mh_seqs *q, uint32_t num, uint32_t flags, uint32_t mask)
{
	if (mask & MF_SEEN)
		mh_seq_set(mh_seqs_get(q, SEQ_UNSEEN, 1), num, !(flags & MF_SEEN));
	for (size_t i = 0; i < ARRAY_SIZE(flag_seqs); i++)
		if (mask & flag_seqs[i].flag)
			mh_seq_set(mh_seqs_get(q, flag_seqs[i].seq, 1), num,
				   !!(flags & flag_seqs[i].flag));
}

int mh_keyword_seq_ok(const char *name)
{
	/* flag sequences, nmh's current message and its reserved names */
	static const char *const reserved[] = { SEQ_UNSEEN, "cur", "all", "first", "last",
						"prev", "next", "new" };

	if (!mh_seq_name_ok(name, strlen(name)))
		return 0;
	for (size_t i = 0; i < ARRAY_SIZE(flag_seqs); i++)
		if (!strcasecmp(name, flag_seqs[i].seq))
			return 0;
	for (size_t i = 0; i < ARRAY_SIZE(reserved); i++)
		if (!strcasecmp(name, reserved[i]))
			return 0;
	return 1;
}

void mh_keyword_put(struct mh_seqs *q, const char *name, uint32_t num, int on)
{
	struct mh_seq *to = mh_seqs_get(q, name, 0);

	for (size_t i = 0; i < q->n; i++) {
		if (strcasecmp(q->v[i].name, name))
			continue;
		if (!on)
			mh_seq_set(&q->v[i], num, 0);
		else if (!to)
			to = &q->v[i];
	}
	if (on)
		mh_seq_set(to ? to : mh_seqs_get(q, name, 1), num, 1);
}

/* ---------------------------------------------------------------------- */
/* Folders                                                                */

/* A folder: a directory (not a link) with .mh_sequences, or whose entries
 * are only message numbers, dot files and subfolders with at least one
 * message. An empty directory stays a \Noselect container (nmh's
 * "folder -create" makes one: it becomes a mailbox with its first message
 * or its sequences file); a Maildir (cur/) is not MH. */
int mh_valid(int dirfd, const char *leaf, const struct stat *st)
{
	struct stat s;
	uint32_t num;
	int fd, msgs = 0, other = 0;

	if (!S_ISDIR(st->st_mode) || (fd = openat(dirfd, leaf, DIR_FLAGS)) < 0)
		return 0;
	if (fstatat(fd, "cur", &s, AT_SYMLINK_NOFOLLOW) == 0) {
		close(fd);
		return 0;
	}
	int seq = fstatat(fd, MH_SEQUENCES, &s, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(s.st_mode);
	DIR *d = seq ? NULL : md_opendir(fd, ".");
	struct dirent *e;
	while (d && !other && (e = readdir(d)) != NULL) {
		if (e->d_name[0] == '.' || e->d_name[0] == ',')
			continue;   /* dot files, and nmh's ",N" backups of removed mail */
		int dir = e->d_type == DT_DIR ||
			  (e->d_type == DT_UNKNOWN &&
			   fstatat(fd, e->d_name, &s, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR(s.st_mode));
		if (dir)
			continue;   /* a subfolder (even one named by a number, "2025") */
		if (mh_num_name(e->d_name, &num))
			msgs = 1;
		else
			other = 1;
	}
	if (d)
		closedir(d);
	close(fd);
	return seq || (msgs && !other);
}

int mh_create(struct mail_session *s, const char *path, struct mail_err *err)
{
	struct fsafe_loc loc;
	int fd = -1, rc = -1;

	if (fsafe_locate(s, path, 1, &loc, err) < 0)
		return -1;
	if (mkdirat(loc.dirfd, loc.leaf, 0700) < 0) {
		mail_err_set(err, errno == EEXIST ? MAIL_EXISTS : errno == EACCES ? MAIL_NOPERM :
			     MAIL_FAIL, "cannot create %s: %s", path, strerror(errno));
	} else if ((fd = openat(loc.dirfd, loc.leaf, DIR_FLAGS)) >= 0) {
		/* the sequences file marks it MH while it has no message yet */
		int q = seq_open(fd, O_RDWR | O_CREAT | O_EXCL);
		rc = q < 0 ? -1 : close(q);
		if (rc < 0)
			mh_err_errno(err, errno, "cannot create", MH_SEQUENCES);
		fsafe_sync_dir(fd);
		close(fd);
		if (rc < 0)
			unlinkat(loc.dirfd, loc.leaf, AT_REMOVEDIR);
	}
	fsafe_close(&loc);
	return rc;
}

/* Is name one of ours to remove with the folder? */
static int folder_file(const char *name)
{
	uint32_t num;

	return mh_num_name(name, &num) || name[0] == ',' || !strcmp(name, MH_SEQUENCES) ||
	       !strncmp(name, MH_TMP_PREFIX, strlen(MH_TMP_PREFIX));
}

/* DELETE: the messages and sequences go; a folder with subfolders stays
 * as their \Noselect parent (RFC 3501 6.3.4). */
int mh_remove(struct mail_session *s, const char *path, struct mail_err *err)
{
	int fd = fsafe_open_dir(s, path, err);
	DIR *d = fd >= 0 ? md_opendir(fd, ".") : NULL;
	struct dirent *e;
	int rc = 0;

	if (!d) {
		if (fd >= 0)
			close(fd);
		return fd < 0 ? -1 : (mh_err_errno(err, errno, "cannot read", path), -1);
	}
	while ((e = readdir(d)) != NULL)
		/* a subfolder named by a number ("2025") stays, with its parent */
		if (folder_file(e->d_name) && unlinkat(fd, e->d_name, 0) < 0 && errno != ENOENT &&
		    errno != EISDIR) {
			mh_err_errno(err, errno, "cannot delete in", path);
			rc = -1;
			break;
		}
	closedir(d);
	close(fd);
	if (rc == 0) {
		struct fsafe_loc loc;
		if (fsafe_locate(s, path, 0, &loc, err) < 0)
			return -1;
		if (unlinkat(loc.dirfd, loc.leaf, AT_REMOVEDIR) < 0 && errno != ENOTEMPTY &&
		    errno != EEXIST) {
			mh_err_errno(err, errno, "cannot delete", path);
			rc = -1;
		}
		fsafe_close(&loc);
	}
	return rc;
}

/* ---------------------------------------------------------------------- */
/* Delivery                                                               */

/* A new temp file name of the folder (a dot file, never a number). */
static void tmp_name(char tmp[64])
{
	static unsigned seq;

	snprintf(tmp, 64, MH_TMP_PREFIX "%ld.%u.%ld", (long)getpid(), ++seq, (long)time(NULL));
}

/* Create a new temp file for writing; its name into tmp. */
static int tmp_create(int dirfd, char tmp[64])
{
	int fd = -1;

	for (int tries = 0; fd < 0 && tries < 100; tries++) {
		tmp_name(tmp);
		fd = openat(dirfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
		if (fd < 0 && errno != EEXIST)
			break;
	}
	return fd;
}

/* Write m into a new temp file of the folder, dated, fsync'ed. */
static int put_tmp(int dirfd, const struct mail_new *m, char tmp[64], struct mail_err *err)
{
	struct buf b;
	int fd, e = 0;

	buf_init(&b);
	msgfile_store_form(&b, m->text, m->len);
	fd = tmp_create(dirfd, tmp);
	struct timespec ts[2] = { { 0, UTIME_NOW }, { m->date ? m->date : time(NULL), 0 } };
	if (fd < 0 || write_full(fd, b.data ? b.data : "", b.len) < 0 || futimens(fd, ts) < 0 ||
	    fsync(fd) < 0)
		e = errno;
	if (fd >= 0 && close(fd) < 0 && !e)
		e = errno;
	buf_free(&b);
	if (e) {
		if (fd >= 0)
			unlinkat(dirfd, tmp, 0);
		tmp[0] = '\0';
		mh_err_errno(err, e, "cannot store a message in", "the folder");
		return -1;
	}
	return 0;
}

/* Link every temp file to the next free number from *next on (EEXIST: a
 * delivery by nmh or another session took it; try the next). */
static int put_numbers(int dirfd, char (*tmp)[64], size_t n, uint32_t next, uint32_t *uids,
		       struct mail_err *err)
{
	char name[16];
	size_t i;

	for (i = 0; i < n; i++) {
		int r;
		do {
			snprintf(name, sizeof name, "%u", next);
			r = linkat(dirfd, tmp[i], dirfd, name, 0);
		} while (r < 0 && errno == EEXIST && next++ < 0x7fffffff);
		if (r < 0)
			break;
		uids[i] = next++;
		unlinkat(dirfd, tmp[i], 0);
		tmp[i][0] = '\0';
	}
	if (i == n)
		return fsafe_sync_dir(dirfd), 0;
	mh_err_errno(err, errno, "cannot number a message in", "the folder");
	while (i-- > 0) {
		snprintf(name, sizeof name, "%u", uids[i]);
		unlinkat(dirfd, name, 0);
	}
	return -1;
}

/* The new messages' flags and keywords into the sequences. */
static int put_flags(struct mh_seqs *q, const struct mail_new *msgs, size_t n,
		     const uint32_t *uids, struct mail_err *err)
{
	for (size_t i = 0; i < n; i++) {
		mh_seq_put_flags(q, uids[i], msgs[i].flags, MF_STORABLE);
		for (char **k = msgs[i].keywords; k && *k; k++) {
			if (!mh_keyword_seq_ok(*k)) {
				mail_err_set(err, MAIL_LIMIT, "Cannot store keyword %s in an MH "
					     "folder: it cannot be a sequence name", *k);
				return -1;
			}
			mh_keyword_put(q, *k, uids[i], 1);
		}
	}
	return 0;
}

int mh_put_file(int dirfd, int srcfd, char tmp[64], struct mail_err *err)
{
	char self[64], buf[65536];
	struct stat st;
	off_t at = 0;
	ssize_t r;
	int fd, e = 0;

	/* a hard link through our descriptor (the very file checked); another
	 * file system gets a copy of the bytes */
	snprintf(self, sizeof self, "/proc/self/fd/%d", srcfd);
	for (int tries = 0; tries < 100; tries++) {
		tmp_name(tmp);
		if (linkat(AT_FDCWD, self, dirfd, tmp, AT_SYMLINK_FOLLOW) == 0)
			return 0;
		if (errno != EEXIST)
			break;
	}
	if (fstat(srcfd, &st) < 0 || (fd = tmp_create(dirfd, tmp)) < 0) {
		tmp[0] = '\0';
		mh_err_errno(err, errno, "cannot copy a message into", "the folder");
		return -1;
	}
	while ((r = pread(srcfd, buf, sizeof buf, at)) > 0 && write_full(fd, buf, (size_t)r) == 0)
		at += r;
	struct timespec ts[2] = { { 0, UTIME_NOW }, st.st_mtim };
	if (r != 0 || futimens(fd, ts) < 0 || fsync(fd) < 0)
		e = errno ? errno : EIO;
	if (close(fd) < 0 && !e)
		e = errno;
	if (e) {
		unlinkat(dirfd, tmp, 0);
		tmp[0] = '\0';
		mh_err_errno(err, e, "cannot copy a message into", "the folder");
		return -1;
	}
	return 0;
}

int mh_commit(struct mail_session *s, const char *path, int dfd, char (*tmp)[64],
	      const struct mail_new *msgs, size_t n, uint32_t *validity_out, uint32_t *uids_out,
	      struct mail_err *err)
{
	uint32_t *uids = xcalloc(n + 1, sizeof *uids), next, v;
	struct mh_seqs q = { 0 };
	struct mh_scan sc;
	int lk, rc = -1;

	if ((lk = mh_seq_lock(dfd, err)) < 0 || mh_scan(dfd, &sc) < 0)
		goto out;
	v = mh_validity(s, path, dfd, &sc, &next, NULL);
	mh_scan_free(&sc);
	mh_seq_load(lk, &q);
	if (put_flags(&q, msgs, n, uids, err) < 0)   /* refused before any number */
		goto out;
	mh_seqs_free(&q);
	if (put_numbers(dfd, tmp, n, next, uids, err) < 0)
		goto out;
	mh_seq_load(lk, &q);
	put_flags(&q, msgs, n, uids, err);
	/* the mail is in; sequences lost to a full disk cost flags only */
	if (mh_seq_store(lk, &q, err) < 0)
		log_warn("%s: %s", path, err->text);
	if (mh_scan(dfd, &sc) == 0) {
		mh_state_save(s, path, v, n && uids[n - 1] + 1 > next ? uids[n - 1] + 1 : next, &sc);
		mh_scan_free(&sc);
	}
	for (size_t i = 0; uids_out && i < n; i++)
		uids_out[i] = uids[i];
	if (validity_out)
		*validity_out = v;
	rc = 0;
out:
	mh_seqs_free(&q);
	if (lk >= 0)
		close(lk);
	free(uids);
	return rc;
}

/* Remove the temp files a failed APPEND or COPY left. */
void mh_tmp_discard(int dfd, char (*tmp)[64], size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (tmp[i][0])
			unlinkat(dfd, tmp[i], 0);
}

int mh_append(struct mail_session *s, const char *path, const struct mail_new *msgs, size_t n,
	      uint32_t *validity_out, uint32_t *uids_out, struct mail_err *err)
{
	char (*tmp)[64] = xcalloc(n + 1, sizeof *tmp);
	int dfd = fsafe_open_dir(s, path, err), rc = dfd < 0 ? -1 : 0;

	for (size_t i = 0; rc == 0 && i < n; i++)
		rc = put_tmp(dfd, &msgs[i], tmp[i], err);
	if (rc == 0)
		rc = mh_commit(s, path, dfd, tmp, msgs, n, validity_out, uids_out, err);
	if (dfd >= 0) {
		mh_tmp_discard(dfd, tmp, n);
		close(dfd);
	}
	free(tmp);
	return rc;
}
