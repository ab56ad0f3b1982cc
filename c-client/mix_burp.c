/* mix_burp.c: giving back expunged space (UW's "burp") while no other
 * session has the mailbox open, crash-safely: live messages copied into a
 * new data file, the index repointed in one write, the old files removed. */
#include "mix_int.h"
#include "fsafe.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

/* Burp when at least this much, or a quarter of the data, is dead. */
#define BURP_MIN_WASTE (256 * 1024)

/* Data files of the directory: their numbers, and their total size. */
struct datafiles {
	uint32_t *v;
	size_t n;
	uint64_t bytes;
};

/* Is name a data file's (".mix" and 8 hex digits, or ".mix")? Its number. */
static int data_number(const char *name, uint32_t *n)
{
	size_t p = strlen(MIX_PREFIX);

	if (strncmp(name, MIX_PREFIX, p))
		return 0;
	*n = 0;
	if (!name[p])
		return 1;
	if (strlen(name + p) != 8)
		return 0;
	for (const char *c = name + p; *c; c++) {
		const char *h = strchr("0123456789abcdef", *c);
		if (!h || !*c)
			return 0;
		*n = *n << 4 | (uint32_t)(h - "0123456789abcdef");
	}
	return 1;
}

/* List the data files in dir. */
static int list_data(int dir, struct datafiles *df)
{
	int fd = openat(dir, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
	struct dirent *e;
	struct stat st;
	uint32_t n;

	memset(df, 0, sizeof *df);
	if (!d) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	while ((e = readdir(d)) != NULL) {
		if (!data_number(e->d_name, &n) ||
		    fstatat(dir, e->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISREG(st.st_mode))
			continue;
		df->v = xrealloc(df->v, (df->n + 1) * sizeof *df->v);
		df->v[df->n++] = n;
		df->bytes += (uint64_t)st.st_size;
	}
	closedir(d);
	return 0;
}

/* Copy the live messages into a new data file numbered *no, their index
 * records pointed at it; -1 (and the new file gone) on any failure. */
static int copy_live(int dir, struct mix_index *ix, uint32_t *no, struct mail_err *err,
		     const char *mbox)
{
	char name[32];
	struct buf b;
	int fd = -1, src = -1, rc = -1;
	uint32_t src_no = 0;

	for (int tries = 0; fd < 0 && tries < 100; tries++) {
		*no = mix_next_seq(*no, time(NULL));
		mix_data_name(name, *no);
		fd = mix_open_in(dir, name, O_RDWR | O_CREAT | O_EXCL);
		if (fd < 0 && errno != EEXIST)
			break;
	}
	if (fd < 0)
		goto fail;
	buf_init(&b);
	uint64_t out = 0;
	for (size_t i = 0; i < ix->n; i++) {
		struct mix_ixrec *r = &ix->v[i];
		size_t len = (size_t)r->hoff + r->size;
		if (src < 0 || src_no != r->file) {
			if (src >= 0)
				close(src);
			char sname[32];
			mix_data_name(sname, src_no = r->file);
			if ((src = mix_open_in(dir, sname, O_RDONLY)) < 0)
				goto fail_buf;
		}
		buf_reset(&b);
		buf_reserve(&b, len + 1);
		if (pread(src, b.data, len, r->pos) != (ssize_t)len ||
		    mix_msgrec_check(b.data, len, r->uid) != r->hoff) {
			errno = EIO;
			goto fail_buf;
		}
		if (out + len > UINT32_MAX || pwrite_full(fd, b.data, len, (off_t)out) < 0)
			goto fail_buf;
		r->file = *no;
		r->pos = (uint32_t)out;
		out += len;
	}
	if (fsync(fd) < 0 || fsafe_sync_dir(dir) < 0)
		goto fail_buf;
	rc = 0;
fail_buf:
	buf_free(&b);
fail:
	if (rc < 0) {
		mail_err_set(err, errno == ENOSPC ? MAIL_TOOBIG : MAIL_FAIL, "mix mailbox %s: cannot "
			     "compact its data files: %s", mbox, strerror(errno));
		if (fd >= 0)
			unlinkat(dir, name, 0);
	}
	if (src >= 0)
		close(src);
	if (fd >= 0)
		close(fd);
	return rc;
}

/* With every lock held: copy, repoint the index (then the metadata's new
 * data file), remove the old files. */
static int burp_locked(int dir, int metafd, struct mix_view *v, const struct datafiles *df,
		       const char *mbox, struct mail_err *err)
{
	uint32_t no = v->meta.newfile;
	struct buf b;

	for (size_t i = 0; i < df->n; i++)
		if (df->v[i] > no)
			no = df->v[i];
	if (copy_live(dir, &v->ix, &no, err, mbox) < 0)
		return -1;
	v->ix.seq = mix_next_seq(v->ix.seq > v->meta.seq ? v->ix.seq : v->meta.seq, time(NULL));
	buf_init(&b);
	mix_index_format(&b, &v->ix);
	int rc = mix_file_put(v->fi.fd, v->fi.data.len, &b, mbox, MIX_INDEX, err);
	if (rc == 0) {
		v->meta.newfile = no;
		v->meta.seq = v->ix.seq;
		rc = mix_meta_put(metafd, &v->meta, mbox, err);
	}
	buf_free(&b);
	for (size_t i = 0; rc == 0 && i < df->n; i++) {
		char name[32];
		mix_data_name(name, df->v[i]);
		unlinkat(dir, name, 0);
	}
	return rc;
}

int mix_burp(int dir, int metafd, const char *mbox, struct mail_err *err)
{
	struct datafiles df;
	struct mix_view v;
	int rc = 0;

	/* another session has it open (UW's test, on the descriptor whose
	 * shared lock this session holds: converting it) */
	if (flock(metafd, LOCK_EX | LOCK_NB) < 0)
		return 0;
	if (mix_view_load(dir, metafd, mbox, MIX_ALL_EX, &v, err) < 0) {
		rc = -1;
	} else if (list_data(dir, &df) == 0) {
		uint64_t live = 0;
		for (size_t i = 0; i < v.ix.n; i++)
			live += (uint64_t)v.ix.v[i].hoff + v.ix.v[i].size;
		uint64_t waste = df.bytes > live ? df.bytes - live : 0;
		if (waste && (waste >= BURP_MIN_WASTE || waste * 4 >= df.bytes))
			rc = burp_locked(dir, metafd, &v, &df, mbox, err) < 0 ? -1 : 1;
		free(df.v);
	}
	mix_view_free(&v);
	mix_flock(metafd, LOCK_SH);
	return rc;
}
