/* mix_append.c: APPEND (data, the metadata's UIDs, status, and the index
 * last, under UW's locks), CREATE (the metadata last: it makes the
 * directory a mix mailbox), DELETE and RENAME (refused while it is open). */
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

/* Keyword names (NULL-terminated) as a disk mask, adding missing names to
 * md; -1 with err when one cannot be kept. */
static int names_to_disk(struct mix_meta *md, char *const *names, uint32_t *mask,
			 struct mail_err *err)
{
	*mask = 0;
	for (size_t i = 0; names && names[i]; i++) {
		int k = mix_meta_keyword(md, names[i], 1);
		if (k < 0) {
			mail_err_set(err, MAIL_LIMIT, "keyword %s cannot be stored in a mix mailbox "
				     "(at most %d keywords, atoms)", names[i], MIX_KEYWORDS);
			return -1;
		}
		*mask |= 1u << k;
	}
	return 0;
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
 * with their index and status records; UIDs from md->last + 1. The texts
 * are read from src as stored when it is given (COPY between mix). */
static int build_append(struct mix_meta *md, const struct mail_new *msgs, size_t n,
			const struct mix_src *src, off_t base, uint32_t seq, struct buf *data,
			struct buf *irecs, struct buf *srecs, uint32_t *uids, struct mail_err *err)
{
	time_t now = time(NULL);

	for (size_t i = 0; i < n; i++) {
		struct mix_ixrec r = {.uid = md->last + 1 + (uint32_t)i, .file = md->newfile};
		struct mix_strec s = {.uid = r.uid, .flags = mix_flags_from_mf(msgs[i].flags), .mod = seq};
		struct buf t;
		if (names_to_disk(md, msgs[i].keywords, &s.kw, err) < 0)
			return -1;
		buf_init(&t);
		if (src && src->read(src->ctx, msgs[i].len, i, &t, err) < 0) {
			buf_free(&t);
			return -1;
		}
		if (!src)
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
			 const struct mail_new *msgs, size_t n, const struct mix_src *src,
			 uint32_t *uids, struct mail_err *err)
{
	struct buf data, irecs, srecs;
	off_t size = 0;
	int made = 0, rc = -1;
	size_t total = 0;
	uint32_t seq = mix_next_seq(v->meta.seq > v->ix.seq ? v->meta.seq : v->ix.seq, time(NULL));

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
	if (build_append(&v->meta, msgs, n, src, size, seq, &data, &irecs, &srecs, uids, err) < 0)
		goto out;
	if (mix_file_extend(fd, (size_t)size, &data, mbox, "a data file", err) < 0)
		goto out;
	if (made)
		fsafe_sync_dir(dir);
	v->meta.last += (uint32_t)n;
	v->meta.seq = seq;
	if (mix_meta_put(metafd, &v->meta, mbox, err) < 0 ||
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
int mix_append(struct mail_session *sess, const char *path, const struct mail_new *msgs,
	       size_t n, uint32_t *validity_out, uint32_t *uids_out, struct mail_err *err)
{
	return mix_append_from(sess, path, msgs, n, NULL, validity_out, uids_out, err);
}

int mix_append_from(struct mail_session *sess, const char *path, const struct mail_new *msgs,
		    size_t n, const struct mix_src *src, uint32_t *validity_out,
		    uint32_t *uids_out, struct mail_err *err)
{
	struct mix_oneoff o;
	int rc = mix_oneoff_open(sess, path, MIX_ALL_EX, &o, err);

	if (rc == 0)
		rc = append_locked(o.dir, o.meta, &o.v, path, msgs, n, src, uids_out, err);
	if (rc == 0 && validity_out)
		*validity_out = o.v.meta.validity;
	mix_oneoff_close(&o);
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
int mix_create(struct mail_session *s, const char *path, struct mail_err *err)
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
int mix_remove(struct mail_session *s, const char *path, struct mail_err *err)
{
	int dir = fsafe_open_dir(s, path, err);

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

/* RENAME: refused while any session, UW's or ours, has the mailbox open
 * (UW's test: the metadata cannot be locked exclusively), which is held
 * while the directory moves whole, UIDVALIDITY and children with it. */
int mix_rename(struct mail_session *s, const char *from, const char *to, struct mail_err *err)
{
	struct fsafe_loc lf, lt;
	int dir = fsafe_open_dir(s, from, err), rc = -1;

	if (dir < 0)
		return -1;
	int meta = mix_open_in(dir, MIX_META, O_RDONLY);
	close(dir);
	if (meta < 0 || flock(meta, LOCK_EX | LOCK_NB) < 0) {
		mail_err_set(err, meta < 0 ? MAIL_FAIL : MAIL_INUSE, "mix mailbox %s cannot be "
			     "renamed: %s", from, meta < 0 ? strerror(errno) : "it is open");
		if (meta >= 0)
			close(meta);
		return -1;
	}
	if (fsafe_locate(s, from, 0, &lf, err) == 0) {
		if (fsafe_locate(s, to, 1, &lt, err) == 0) {
			if (renameat2(lf.dirfd, lf.leaf, lt.dirfd, lt.leaf, RENAME_NOREPLACE) == 0)
				rc = 0;
			else
				mail_err_set(err, errno == EEXIST ? MAIL_EXISTS : MAIL_FAIL,
					     "cannot rename %s to %s: %s", from, to, strerror(errno));
			fsafe_close(&lt);
		}
		fsafe_close(&lf);
	}
	close(meta);
	return rc;
}
