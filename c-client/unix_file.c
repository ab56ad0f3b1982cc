/* unix_file.c: reaching an mbox file: locked (dotlock, then fcntl) and
 * opened by descriptor from its directory, never through a link; and read
 * in small mapped windows, so a session's memory does not grow with the
 * mailbox. */
#include "unix_int.h"
#include "lock.h"
#include "unix_journal.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

/* ---------------------------------------------------------------------- */
/* Reading the file in windows                                            */

void win_init(struct win *w, int fd, off_t fsize)
{
	memset(w, 0, sizeof *w);
	w->fd = fd;
	w->fsize = fsize;
}

void win_drop(struct win *w)
{
	if (w->map)
		munmap(w->map, w->len);
	w->map = NULL;
	w->len = 0;
}

/* Bytes [off, off+n) of the file, valid until the next call; *avail: how
 * many bytes from off are mapped (at least n). NULL: past the end or error. */
const char *win_get(struct win *w, off_t off, size_t n, size_t *avail)
{
	static long page;

	if (off < 0 || off > w->fsize || n > (size_t)(w->fsize - off))
		return NULL;
	if (!w->map || off < w->base || off + (off_t)n > w->base + (off_t)w->len) {
		if (!page)
			page = sysconf(_SC_PAGESIZE);
		win_drop(w);
		w->base = off - off % page;
		size_t want = (size_t)(off - w->base) + (n > WIN_SIZE ? n : WIN_SIZE);
		w->len = want < (size_t)(w->fsize - w->base) ? want : (size_t)(w->fsize - w->base);
		if (!w->len)
			return avail ? (*avail = 0, "") : "";
		int pop = w->lazy && w->len > WIN_SIZE ? 0 : MAP_POPULATE;
		w->map = mmap(NULL, w->len, PROT_READ, MAP_PRIVATE | pop, w->fd, w->base);
		if (w->map == MAP_FAILED) {
			w->map = NULL;
			w->len = 0;
			return NULL;
		}
	}
	if (avail)
		*avail = (size_t)(w->base + (off_t)w->len - off);
	return w->map + (off - w->base);
}

/* win_get as the parser's reader (mbox_get_fn). */
static const char *win_getter(void *ctx, off_t off, size_t n, size_t *avail)
{
	return win_get(ctx, off, n, avail);
}

/* Parse the file range [start, end) (start at a message) window by
 * window; offsets in out are file offsets. -1 not an mbox, -2 I/O error. */
int mbox_parse_fd(int fd, off_t start, off_t end, int ks, const unsigned char *key,
		  struct kwtab *kt, struct parse *out)
{
	struct win w;

	memset(out, 0, sizeof *out);
	out->key = key;
	out->believe = ks < 0;
	out->kw_before = out->kw_rec = *kt->n;
	if (start > 0)
		out->fmt = unix_fd_fmt(fd);   /* else the first window tells */
	win_init(&w, fd, end);
	int rc = mbox_parse_windows(win_getter, &w, start, end, WIN_SIZE, kt, out);
	win_drop(&w);
	if (rc)
		unix_parse_free(out);
	return rc;
}

/* ---------------------------------------------------------------------- */
/* Locked access                                                           */

/* A session runs without group mail, so the kernel already keeps other
 * users' spool files (0660 user:mail) closed. Checked again on the open
 * descriptor, so that a spool file of someone else that was left readable
 * or writable by mistake is still not reached through a symlink in the home
 * or allow_outside_home: a file in group mail is served only to its owner. */
static int foreign_spool_file(int fd)
{
	static gid_t mail_gid = (gid_t)-1;
	struct stat st;

	if (getuid() == 0 || fstat(fd, &st) < 0 || st.st_uid == getuid())
		return 0;
	if (mail_gid == (gid_t)-1) {
		struct group *g = getgrnam("mail");
		mail_gid = g ? g->gr_gid : (gid_t)-2;
	}
	return st.st_gid == mail_gid;
}

/* Under the locks: finish a rewrite a crash left in the journal before
 * anyone reads the file. A read lock is not enough to write, so a reader
 * that finds a journal takes the write locks instead. 0 ok, -1 error,
 * 1: retry with write locks. */
static int lk_recover(int home, int write, struct locked *lk, struct mail_err *err)
{
	if (home < 0 || !unix_journal_pending(home, &lk->st))
		return 0;
	if (!write)
		return 1;
	if (unix_journal_recover(home, lk->fd, err) < 0 || fstat(lk->fd, &lk->st) < 0)
		return -1;
	return 0;
}

/* Open the locked file by descriptor from its directory: never a link,
 * never anything but a regular file (a FIFO must not hang us). */
static int lk_open_file(struct locked *lk, const char *path, int write, struct mail_err *err)
{
	struct stat st;

	lk->fd = fsafe_open(&lk->loc, (write ? O_RDWR : O_RDONLY) | O_NONBLOCK, 0);
	if (lk->fd < 0) {
		if (errno == ENOENT)
			return 0;
		mail_err_set(err, errno == EACCES ? MAIL_NOPERM : MAIL_FAIL, "cannot open %s: %s",
			     path, errno == ELOOP ? "a symbolic link is not followed" :
			     strerror(errno));
		return -1;
	}
	if (fstat(lk->fd, &st) < 0 || !S_ISREG(st.st_mode) ||
	    fcntl(lk->fd, F_SETFL, 0) < 0) {
		mail_err_set(err, MAIL_CORRUPT, "%s is not a regular file", path);
	} else if (foreign_spool_file(lk->fd)) {
		mail_err_set(err, MAIL_NOPERM, "%s belongs to another user", path);
	} else {
		return 0;
	}
	close(lk->fd);
	lk->fd = -1;
	return -1;
}

/* Lock path (dotlock, then fcntl) and open it, all from its directory
 * opened link-safely (kept in lk->loc for the rewrite). ENOENT leaves
 * fd = -1. A read-only snapshot may go without a dotlock we are not allowed
 * to make: the fcntl read lock alone keeps MTAs out while we read. */
int lk_open(struct mail_session *sess, const char *path, int write, struct locked *lk,
	    struct mail_err *err)
{
	memset(lk, 0, sizeof *lk);
	lk->fd = -1;
	if (fsafe_locate(sess, path, 0, &lk->loc, err) < 0) {
		if (errno != ENOENT)
			return -1;
		return 0;   /* a directory above it is gone: so is the file */
	}
	if (fsafe_dotlock(&lk->loc, path, &lk->dot, err) < 0 && (write || err->code != MAIL_NOPERM))
		goto fail;
	if (lk_open_file(lk, path, write, err) < 0)
		goto fail;
	if (lk->fd < 0)
		return 0;
	if (lock_fd(lk->fd, write, err) < 0 || fstat(lk->fd, &lk->st) < 0) {
		close(lk->fd);
		lk->fd = -1;
		goto fail;
	}
	int r = lk_recover(fsafe_home(sess), write, lk, err);
	if (r != 0) {
		lk_close(lk, 0);
		return r < 0 ? -1 : lk_open(sess, path, 1, lk, err);
	}
	return 0;
fail:
	lock_dot_release(&lk->dot);
	fsafe_close(&lk->loc);
	return -1;
}

/* Unlock; keep_fd: the fd now belongs to the caller (still open). */
void lk_close(struct locked *lk, int keep_fd)
{
	if (lk->fd >= 0) {
		lock_fd_release(lk->fd);
		if (!keep_fd)
			close(lk->fd);
	}
	lock_dot_release(&lk->dot);
	fsafe_close(&lk->loc);
}

/* lstat of path reached through fsafe; -1 with errno (ENOENT: it or a
 * directory above it is missing) and err. */
int unix_path_stat(struct mail_session *sess, const char *path, struct stat *st,
	      struct mail_err *err)
{
	struct fsafe_loc loc;
	int r, e;

	if (fsafe_locate(sess, path, 0, &loc, err) < 0)
		return -1;
	r = fsafe_lstat(&loc, st);
	e = errno;
	fsafe_close(&loc);
	if (r < 0 && e != ENOENT)
		mail_err_set(err, MAIL_FAIL, "cannot stat %s: %s", path, strerror(e));
	errno = e;
	return r;
}
