/* mix_file.c: a mix mailbox's files as UW's library shares them: reached
 * without following links, flock'd (the index, then the status), changed
 * in place, since UW's sessions hold and lock the files they read. */
#include "mix_int.h"
#include "fsafe.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#define DIR_FLAGS (O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
/* The largest index or status file we read: a few million messages. */
#define MIX_FILE_MAX (512u * 1024 * 1024)

int mix_open_in(int dir, const char *name, int flags)
{
	struct stat st;
	int fd = openat(dir, name, flags | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC, 0600);

	if (fd < 0)
		return -1;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		errno = EINVAL;
		return -1;
	}
	/* regular: O_NONBLOCK (against a FIFO) means nothing to it, but
	 * take it off as UW never has it */
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
	return fd;
}

int mix_flock(int fd, int op)
{
	int r;

	while ((r = flock(fd, op)) < 0 && errno == EINTR)
		;
	return r;
}

/* Read the whole of fd (from 0) into b. */
static int read_all(int fd, size_t max, struct buf *b, struct stat *st)
{
	buf_reset(b);
	if (fstat(fd, st) < 0)
		return -1;
	if ((uint64_t)st->st_size > max) {
		errno = EFBIG;
		return -1;
	}
	buf_reserve(b, (size_t)st->st_size + 1);
	for (;;) {
		buf_reserve(b, 4096);
		ssize_t r = pread(fd, b->data + b->len, b->cap - b->len, (off_t)b->len);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -1;
		if (r == 0)
			return 0;
		b->len += (size_t)r;
		if (b->len > max) {
			errno = EFBIG;
			return -1;
		}
	}
}

/* The error for a file that could not be read or parsed. */
static void file_err(struct mail_err *err, const char *mbox, const char *what, const char *why)
{
	mail_err_set(err, why ? MAIL_CORRUPT : MAIL_FAIL, "mix mailbox %s: %s %s: %s", mbox, what,
		     why ? "is damaged" : "cannot be read", why ? why : strerror(errno));
}

int mix_meta_read(int fd, const char *mbox, struct mix_meta *m, struct mail_err *err)
{
	struct buf b;
	struct stat st;
	const char *why = NULL;

	buf_init(&b);
	int rc = read_all(fd, MIX_META_MAX, &b, &st);
	if (rc == 0 && mix_meta_parse(b.data ? b.data : "", b.len, m, &why) < 0)
		rc = -1;
	if (rc < 0)
		file_err(err, mbox, MIX_META, why);
	buf_free(&b);
	return rc;
}

/* Open, lock and read one file into f. */
static int file_load(int dir, const char *name, int excl, struct mix_file *f, const char *mbox,
		     struct mail_err *err)
{
	f->fd = mix_open_in(dir, name, excl ? O_RDWR : O_RDONLY);
	if (f->fd < 0 || mix_flock(f->fd, excl ? LOCK_EX : LOCK_SH) < 0 ||
	    read_all(f->fd, MIX_FILE_MAX, &f->data, &f->st) < 0) {
		file_err(err, mbox, name, NULL);
		return -1;
	}
	return 0;
}

int mix_view_load(int dir, int metafd, const char *mbox, int lock, struct mix_view *v,
		  struct mail_err *err)
{
	const char *why = NULL;

	memset(v, 0, sizeof *v);
	v->fi.fd = v->fs.fd = -1;
	buf_init(&v->fi.data);
	buf_init(&v->fs.data);
	if (file_load(dir, MIX_INDEX, lock == MIX_ALL_EX, &v->fi, mbox, err) < 0)
		return -1;
	if (mix_meta_read(metafd, mbox, &v->meta, err) < 0)
		return -1;
	if (mix_index_parse(v->fi.data.data ? v->fi.data.data : "", v->fi.data.len, &v->ix,
			    &why) < 0) {
		file_err(err, mbox, MIX_INDEX, why);
		return -1;
	}
	if (v->ix.n && v->ix.v[v->ix.n - 1].uid > v->meta.last) {
		file_err(err, mbox, MIX_INDEX, "a UID above the last one given out");
		return -1;
	}
	if (file_load(dir, MIX_STATUS, lock != MIX_READ, &v->fs, mbox, err) < 0)
		return -1;
	if (mix_status_parse(v->fs.data.data ? v->fs.data.data : "", v->fs.data.len, &v->st,
			     &why) < 0) {
		file_err(err, mbox, MIX_STATUS, why);
		return -1;
	}
	return 0;
}

/* Close one file (its lock goes with it). */
static void file_close(struct mix_file *f)
{
	if (f->fd >= 0)
		close(f->fd);
	f->fd = -1;
	buf_free(&f->data);
}

void mix_view_free(struct mix_view *v)
{
	file_close(&v->fs);
	file_close(&v->fi);
	mix_meta_free(&v->meta);
	mix_index_free(&v->ix);
	mix_status_free(&v->st);
}

int mix_oneoff_open(struct mail_session *s, const char *path, int lock, struct mix_oneoff *o,
		    struct mail_err *err)
{
	memset(&o->v, 0, sizeof o->v);
	o->v.fi.fd = o->v.fs.fd = -1;
	o->meta = -1;
	if ((o->dir = fsafe_open_dir(s, path, err)) < 0)
		return -1;
	o->meta = mix_open_in(o->dir, MIX_META, lock == MIX_READ ? O_RDONLY : O_RDWR);
	if (o->meta < 0 || (lock != MIX_READ && mix_flock(o->meta, LOCK_SH) < 0)) {
		mail_err_set(err, errno == ENOENT ? MAIL_NONEXISTENT : MAIL_FAIL,
			     "mix mailbox %s: cannot open %s: %s", path, MIX_META, strerror(errno));
		return -1;
	}
	return mix_view_load(o->dir, o->meta, path, lock, &o->v, err);
}

void mix_oneoff_close(struct mix_oneoff *o)
{
	mix_view_free(&o->v);
	if (o->meta >= 0)
		close(o->meta);
	if (o->dir >= 0)
		close(o->dir);
}

/* Make sure len bytes of fd have blocks, without changing its size, so a
 * full disk fails here rather than midway through a write. */
static int reserve(int fd, size_t len)
{
	if (!len || fallocate(fd, FALLOC_FL_KEEP_SIZE, 0, (off_t)len) == 0)
		return 0;
	return errno == EOPNOTSUPP || errno == ENOSYS ? 0 : -1;
}

/* The error of a write that changed nothing. */
static void write_err(struct mail_err *err, const char *mbox, const char *what)
{
	mail_err_set(err, errno == ENOSPC || errno == EDQUOT ? MAIL_TOOBIG : MAIL_FAIL,
		     "mix mailbox %s: cannot write %s: %s", mbox, what, strerror(errno));
}

int mix_file_put(int fd, size_t old_len, struct buf *b, const char *mbox, const char *what,
		 struct mail_err *err)
{
	size_t len = b->len;

	mix_pad(b, old_len);
	if (reserve(fd, b->len) < 0 || pwrite_full(fd, b->data, b->len, 0) < 0) {
		write_err(err, mbox, what);
		return -1;
	}
	if (fdatasync(fd) < 0 || (len < b->len && ftruncate(fd, (off_t)len) < 0)) {
		write_err(err, mbox, what);
		return -1;
	}
	b->len = len;
	return 0;
}

int mix_meta_put(int fd, const struct mix_meta *m, const char *mbox, struct mail_err *err)
{
	struct stat st;
	struct buf b;

	if (fstat(fd, &st) < 0) {
		write_err(err, mbox, MIX_META);
		return -1;
	}
	buf_init(&b);
	mix_meta_format(&b, m);
	int rc = mix_file_put(fd, (size_t)st.st_size, &b, mbox, MIX_META, err);
	buf_free(&b);
	return rc;
}

int mix_file_appendable(const struct mix_file *f)
{
	const char *p = f->data.data;

	if (f->data.len < 11 || p[0] != 'S' || p[9] != '\r' || p[10] != '\n')
		return 0;
	for (int i = 1; i < 9; i++)
		if (!strchr("0123456789abcdefABCDEF", p[i]))
			return 0;
	return 1;
}

int mix_file_extend(int fd, size_t old, const struct buf *b, const char *mbox, const char *what,
		    struct mail_err *err)
{
	if (reserve(fd, old + b->len) < 0 ||
	    pwrite_full(fd, b->data ? b->data : "", b->len, (off_t)old) < 0 || fdatasync(fd) < 0) {
		int e = errno;
		if (ftruncate(fd, (off_t)old) == 0)
			errno = e;
		write_err(err, mbox, what);
		return -1;
	}
	return 0;
}

int mix_file_add(struct mix_file *f, const struct buf *recs, uint32_t seq, const char *mbox,
		 const char *what, struct mail_err *err)
{
	char line[16];

	snprintf(line, sizeof line, "S%08x\r\n", seq);
	if (mix_file_extend(f->fd, f->data.len, recs, mbox, what, err) < 0)
		return -1;
	if (pwrite_full(f->fd, line, 11, 0) < 0 || fdatasync(f->fd) < 0) {
		write_err(err, mbox, what);
		return -1;
	}
	return 0;
}

void mix_data_name(char name[32], uint32_t n)
{
	if (n)
		snprintf(name, 32, MIX_PREFIX "%08x", n);
	else
		snprintf(name, 32, MIX_PREFIX);
}
