/* unix_journal.c: in-place mailbox rewrites that survive a crash at any
 * point. The journal holds the whole new file; the target is only touched
 * after the journal is durable, and every state the target can be left in
 * tells recovery where mail appended after the crash begins. */
#include "unix_journal.h"
#include "fsafe.h"
#include "unix_index.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define JMAGIC "UWJRNL1\n"
/* The content starts one sector in: the header is rewritten in place and
 * a one-sector write does not tear. */
#define JDATA 512
/* Written over [new, W) before the final truncate. No delivery starts with
 * it (they start with "From " or a line break), nor does a fresh extent. */
#define FILL '\0'

/* Where the target may be, recorded before each move:
 * WRITING  journal incomplete, target untouched
 * READY    journal complete; target's size is old or W (extended with
 *          zeros), its content not touched yet in this apply
 * COPYING  target is W bytes, being overwritten with the content
 * FILLED   target holds the content, then FILL up to W; the truncate to
 *          new may have happened */
enum { J_WRITING, J_READY, J_COPYING, J_FILLED };

struct jhead {
	char magic[8];
	uint64_t dev, ino;
	uint64_t old_size, new_len;
	uint32_t phase, pad;
	uint64_t check;
};

size_t unix_journal_chunk = (size_t)1 << 20;
void (*unix_journal_hook)(int step);

/* Steps the hook sees (the unit test kills the process at each). */
static void step(int n)
{
	if (unix_journal_hook)
		unix_journal_hook(n);
}

/* FNV-1a over the header's fields: a damaged header is never obeyed. */
static uint64_t head_sum(const struct jhead *h)
{
	const unsigned char *p = (const unsigned char *)h;
	uint64_t x = 1469598103934665603ULL;

	for (size_t i = 0; i < offsetof(struct jhead, check); i++)
		x = (x ^ p[i]) * 1099511628211ULL;
	return x;
}

static void jname(char *out, size_t size, uint64_t dev, uint64_t ino)
{
	snprintf(out, size, "rewrite-%" PRIx64 "-%" PRIu64 ".journal", dev, ino);
}

static int head_write(int fd, struct jhead *h, int phase)
{
	h->phase = (uint32_t)phase;
	h->check = head_sum(h);
	if (pwrite(fd, h, sizeof *h, 0) != (ssize_t)sizeof *h)
		return -1;
	return fsync(fd);
}

/* Copy n bytes from (in, ioff) to (out, ooff) in chunks, calling the hook
 * after each; with fill set, write FILL bytes instead of reading. */
static int copy_range(int in, off_t ioff, int out, off_t ooff, uint64_t n, int fill)
{
	size_t cs = unix_journal_chunk ? unix_journal_chunk : 1;
	char *b = xmalloc(cs);
	int rc = 0;

	if (fill)
		memset(b, FILL, cs);
	while (n && !rc) {
		size_t k = n < cs ? (size_t)n : cs;
		ssize_t r = fill ? (ssize_t)k : pread(in, b, k, ioff);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0 || pwrite_full(out, b, (size_t)r, ooff) < 0) {
			if (r == 0)
				errno = EIO;   /* the source is shorter than it said */
			rc = -1;
			break;
		}
		ioff += r;
		ooff += r;
		n -= (uint64_t)r;
		step(10);
	}
	free(b);
	return rc;
}

/* Make the target W bytes, zeros past its end, with the blocks reserved
 * where the filesystem can (so a full disk fails here, not mid-copy). */
static int extend(int target, uint64_t w)
{
	struct stat st;

	if (fstat(target, &st) < 0)
		return -1;
	if ((uint64_t)st.st_size >= w)
		return 0;
	if (fallocate(target, 0, st.st_size, (off_t)(w - (uint64_t)st.st_size)) == 0)
		return fsync(target);
	if (errno != EOPNOTSUPP && errno != ENOSYS)
		return -1;
	if (ftruncate(target, (off_t)w) < 0)
		return -1;
	return fsync(target);
}

/* From READY on: put the journal's content over the target. */
static int apply(int dirfd, const char *name, int jfd, struct jhead *h, int target)
{
	uint64_t nl = h->new_len, w = h->old_size > nl ? h->old_size : nl;

	if (extend(target, w) < 0)
		return -1;
	step(2);
	if (head_write(jfd, h, J_COPYING) < 0)
		return -1;
	step(3);
	if (copy_range(jfd, JDATA, target, 0, nl, 0) < 0 ||
	    copy_range(-1, 0, target, (off_t)nl, w - nl, 1) < 0 || fsync(target) < 0)
		return -1;
	step(4);
	if (head_write(jfd, h, J_FILLED) < 0)
		return -1;
	step(5);
	if (ftruncate(target, (off_t)nl) < 0 || fsync(target) < 0)
		return -1;
	step(6);
	if (unlinkat(dirfd, name, 0) < 0)
		return -1;
	fsafe_sync_dir(dirfd);
	return 0;
}

int unix_journal_begin(int home, const struct stat *target, struct unix_journal *j,
		       struct mail_err *err)
{
	struct jhead h = { .magic = JMAGIC };

	memset(j, 0, sizeof *j);
	j->fd = -1;
	j->dev = (uint64_t)target->st_dev;
	j->ino = (uint64_t)target->st_ino;
	j->old_size = (uint64_t)target->st_size;
	jname(j->name, sizeof j->name, j->dev, j->ino);
	j->dirfd = uidx_cache_dir(home, 1);
	if (j->dirfd < 0) {
		/* NOPERM: the mailbox can still be served read-only (mail_open) */
		mail_err_set(err, MAIL_NOPERM, "cannot rewrite the mailbox in place: its journal "
			     "needs the directory ~/.imapd-cache in your home (it is missing and "
			     "cannot be made, or it is a link, or not yours; remove it to fix)");
		return -1;
	}
	j->fd = openat(j->dirfd, j->name, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (j->fd < 0) {
		mail_err_set(err, errno == ENOSPC || errno == EDQUOT ? MAIL_TOOBIG : MAIL_FAIL,
			     "cannot create the rewrite journal ~/.imapd-cache/%s: %s",
			     j->name, strerror(errno));
		close(j->dirfd);
		j->dirfd = -1;
		return -1;
	}
	h.dev = j->dev;
	h.ino = j->ino;
	h.old_size = j->old_size;
	h.phase = J_WRITING;
	h.check = head_sum(&h);
	if (pwrite(j->fd, &h, sizeof h, 0) != (ssize_t)sizeof h ||
	    lseek(j->fd, JDATA, SEEK_SET) != JDATA) {
		mail_err_set(err, MAIL_FAIL, "cannot write the rewrite journal: %s",
			     strerror(errno));
		unix_journal_abort(j);
		return -1;
	}
	return 0;
}

void unix_journal_abort(struct unix_journal *j)
{
	if (j->fd >= 0) {
		close(j->fd);
		unlinkat(j->dirfd, j->name, 0);
	}
	if (j->dirfd >= 0)
		close(j->dirfd);
	j->fd = j->dirfd = -1;
}

int unix_journal_commit(struct unix_journal *j, int target, uint64_t new_len,
			struct mail_err *err)
{
	struct jhead h = { .magic = JMAGIC, .dev = j->dev, .ino = j->ino,
			   .old_size = j->old_size, .new_len = new_len };
	int e;

	step(0);
	/* the commit point: content durable, then READY durable, then the
	 * journal's name durable; only then is the target touched */
	if (fsync(j->fd) < 0 || head_write(j->fd, &h, J_READY) < 0 || fsafe_sync_dir(j->dirfd) < 0) {
		e = errno;
		unix_journal_abort(j);
		mail_err_set(err, e == ENOSPC || e == EDQUOT ? MAIL_TOOBIG : MAIL_FAIL,
			     "cannot write the rewrite journal: %s (mailbox unchanged)", strerror(e));
		return -1;
	}
	step(1);
	if (h.new_len > h.old_size && extend(target, h.new_len) < 0) {
		/* nothing copied yet: undo the growth and forget the journal */
		e = errno;
		if (ftruncate(target, (off_t)h.old_size) == 0)
			fsync(target);
		unix_journal_abort(j);
		mail_err_set(err, e == ENOSPC || e == EDQUOT ? MAIL_TOOBIG : MAIL_FAIL,
			     "cannot grow the mailbox: %s (mailbox unchanged)", strerror(e));
		return -1;
	}
	int rc = apply(j->dirfd, j->name, j->fd, &h, target);
	e = errno;
	close(j->fd);
	close(j->dirfd);
	j->fd = j->dirfd = -1;
	if (rc < 0)
		mail_err_set(err, MAIL_FAIL, "mailbox rewrite interrupted: %s (it is completed "
			     "from the journal when the mailbox is next opened)", strerror(e));
	return rc;
}

int unix_journal_pending(int home, const struct stat *target)
{
	char name[64];
	struct stat st;
	int d = uidx_cache_dir(home, 0), r;

	if (d < 0)
		return 0;
	jname(name, sizeof name, (uint64_t)target->st_dev, (uint64_t)target->st_ino);
	r = fstatat(d, name, &st, AT_SYMLINK_NOFOLLOW) == 0;
	close(d);
	return r;
}

/* Is the byte at off the FILL byte (or a zero of an extension)? */
static int fill_at(int fd, uint64_t off)
{
	char c;

	return pread(fd, &c, 1, (off_t)off) == 1 && c == FILL;
}

/* Where mail appended after the crash begins in a target of size s. */
static uint64_t tail_start(int target, const struct jhead *h, uint64_t s)
{
	uint64_t nl = h->new_len, w = h->old_size > nl ? h->old_size : nl, a;

	switch (h->phase) {
	case J_READY:
		a = w > h->old_size && s >= w && fill_at(target, h->old_size) ? w : h->old_size;
		break;
	case J_COPYING:
		a = w;
		break;
	default:   /* J_FILLED */
		a = w > nl && s > nl && fill_at(target, nl) ? w : nl;
		break;
	}
	return a < s ? a : s;
}

/* Check a journal's header against the target. 1 usable, 0 discard, -1 bad. */
static int head_read(int jfd, const struct stat *st, struct jhead *h)
{
	struct stat js;

	if (pread(jfd, h, sizeof *h, 0) != (ssize_t)sizeof *h || fstat(jfd, &js) < 0)
		return -1;
	if (memcmp(h->magic, JMAGIC, 8) || h->check != head_sum(h) || h->phase > J_FILLED ||
	    h->dev != (uint64_t)st->st_dev || h->ino != (uint64_t)st->st_ino)
		return h->phase == J_WRITING && !memcmp(h->magic, JMAGIC, 8) ? 0 : -1;
	if (h->phase == J_WRITING)
		return 0;
	if ((uint64_t)js.st_size < JDATA + h->new_len)
		return -1;
	return 1;
}

int unix_journal_recover(int home, int target, struct mail_err *err)
{
	char name[64];
	struct stat st;
	struct jhead h;
	int d = uidx_cache_dir(home, 0), jfd = -1, r;

	if (d < 0 || fstat(target, &st) < 0) {
		if (d >= 0)
			close(d);
		return 0;
	}
	jname(name, sizeof name, (uint64_t)st.st_dev, (uint64_t)st.st_ino);
	jfd = openat(d, name, O_RDWR | O_NOFOLLOW | O_CLOEXEC);
	if (jfd < 0) {
		close(d);
		return 0;
	}
	r = head_read(jfd, &st, &h);
	if (r == 0) {
		/* it never reached the commit point: the target is untouched */
		unlinkat(d, name, 0);
		close(jfd);
		close(d);
		return 0;
	}
	if (r > 0) {
		/* mail delivered after the crash becomes part of the content,
		 * so the apply below puts it after the new messages */
		uint64_t s = (uint64_t)st.st_size, a = tail_start(target, &h, s);
		r = copy_range(target, (off_t)a, jfd, (off_t)(JDATA + h.new_len), s - a, 0);
		if (r == 0 && fsync(jfd) == 0) {
			h.new_len += s - a;
			h.old_size = s;
			r = head_write(jfd, &h, J_READY);
		}
		if (r == 0) {
			step(7);
			r = apply(d, name, jfd, &h, target);
		}
		if (r < 0)
			mail_err_set(err, MAIL_FAIL, "cannot complete an interrupted rewrite from "
				     "~/.imapd-cache/%s: %s", name, strerror(errno));
	} else {
		mail_err_set(err, MAIL_CORRUPT, "rewrite journal ~/.imapd-cache/%s is damaged; "
			     "the mailbox may need checking by hand", name);
	}
	close(jfd);
	close(d);
	return r < 0 ? -1 : 1;
}
