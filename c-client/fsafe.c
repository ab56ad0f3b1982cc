/* fsafe.c: link-safe access to files in a home or the spool (see fsafe.h).
 * Every path is walked one component at a time with openat(O_NOFOLLOW) from
 * a directory descriptor, so what we reach is what the walk checked, not
 * what a symlink swapped in later points to. */
#include "fsafe.h"
#include "lock.h"
#include "log.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define WALK_FLAGS (O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
#define MAX_LINKS 40

/* Open an anchor directory by its admin-controlled path; -1 if unusable. */
static int anchor_open(const char *path)
{
	if (!path || path[0] != '/' || !strcmp(path, "/")) {
		errno = ENOENT;
		return -1;
	}
	return open(path, O_PATH | O_DIRECTORY | O_CLOEXEC);
}

/* Open the anchors on first use, as the user the session runs as; one
 * missing then (a spool directory not made yet) is tried again later. */
static void anchors(struct mail_session *s)
{
	if (!s->anchors_open) {
		s->anchors_open = 1;
		s->home_fd = s->spool_fd = -1;
	}
	if (s->home_fd < 0)
		s->home_fd = anchor_open(s->home);
	if (s->spool_fd < 0)
		s->spool_fd = anchor_open(s->spool_dir);
}

int fsafe_home(struct mail_session *s)
{
	anchors(s);
	return s->home_fd;
}

int fsafe_spool(struct mail_session *s)
{
	anchors(s);
	return s->spool_fd;
}

void fsafe_close(struct fsafe_loc *loc)
{
	if (loc->dirfd >= 0)
		close(loc->dirfd);
	loc->dirfd = -1;
}

int fsafe_check_length(const char *path, struct mail_err *err)
{
	if (strlen(path) >= PATH_MAX - 16) {
		mail_err_set(err, MAIL_BADNAME, "mailbox name too long (the limit is %d characters "
			     "for the whole path)", PATH_MAX - 17);
		return -1;
	}
	for (const char *p = path; *p;) {
		size_t n = strcspn(p, "/");
		if (n > FSAFE_LEAF_MAX) {
			mail_err_set(err, MAIL_BADNAME, "mailbox name too long (the limit is %d "
				     "characters between slashes)", FSAFE_LEAF_MAX);
			return -1;
		}
		p += n;
		p += strspn(p, "/");
	}
	return 0;
}

/* Split path into its directory part (malloc'd, may be "") and leaf. */
static int split(const char *path, char **dir, struct fsafe_loc *loc, struct mail_err *err)
{
	size_t n = strlen(path);

	while (n > 1 && path[n - 1] == '/')
		n--;
	size_t start = n;
	while (start > 0 && path[start - 1] != '/')
		start--;
	size_t ll = n - start;
	if (!ll || ll > NAME_MAX || (ll == 1 && path[start] == '.') ||
	    (ll == 2 && !memcmp(path + start, "..", 2))) {
		mail_err_set(err, MAIL_BADNAME, "not a usable mailbox name: %s", path);
		errno = EINVAL;
		return -1;
	}
	memcpy(loc->leaf, path + start, ll);
	loc->leaf[ll] = '\0';
	*dir = xstrndup(path, start);
	return 0;
}

/* Is rest (relative) inside the home without ".." components? */
static const char *under(const char *dir, const char *path)
{
	size_t dl = strlen(dir);

	while (dl > 1 && dir[dl - 1] == '/')
		dl--;
	if (strncmp(path, dir, dl) || path[dl] != '/')
		return NULL;
	const char *rest = path + dl + 1;
	for (const char *p = rest; *p;) {
		size_t n = strcspn(p, "/");
		if (n == 2 && p[0] == '.' && p[1] == '.')
			return NULL;
		p += n;
		p += strspn(p, "/");
	}
	return rest;
}

/* May a link in dirfd be followed? Only root's, in a directory only root
 * can write: then only an administrator put it there. */
static int admin_link(int dirfd, const char *name)
{
	struct stat d, l;

	return fstat(dirfd, &d) == 0 && d.st_uid == 0 && !(d.st_mode & 022) &&
	       fstatat(dirfd, name, &l, AT_SYMLINK_NOFOLLOW) == 0 && S_ISLNK(l.st_mode) &&
	       l.st_uid == 0;
}

/* Why a component could not be entered, as the user should read it. */
static void walk_error(int dirfd, const char *comp, int e, struct mail_err *err)
{
	struct stat l;

	if (fstatat(dirfd, comp, &l, AT_SYMLINK_NOFOLLOW) == 0 && S_ISLNK(l.st_mode)) {
		mail_err_set(err, MAIL_NOPERM, "%s is a symbolic link: mailbox paths do not "
			     "follow links", comp);
		errno = ELOOP;
		return;
	}
	mail_err_set(err, e == ENOENT ? MAIL_NONEXISTENT : e == EACCES ? MAIL_NOPERM : MAIL_FAIL,
		     "cannot open directory %s: %s", comp, strerror(e));
	errno = e;
}

/* Enter one component from *fd (replaced on success). follow: admin links
 * may be crossed; *link then receives the target to walk instead. */
static int step(int *fd, const char *comp, int mkdirs, int follow, char **link,
		struct mail_err *err)
{
	int nfd = openat(*fd, comp, WALK_FLAGS);

	if (nfd < 0 && errno == ENOENT && mkdirs && mkdirat(*fd, comp, 0700) == 0)
		nfd = openat(*fd, comp, WALK_FLAGS);
	if (nfd < 0 && follow && (errno == ENOTDIR || errno == ELOOP) && admin_link(*fd, comp)) {
		char t[PATH_MAX];
		ssize_t n = readlinkat(*fd, comp, t, sizeof t - 1);
		if (n > 0) {
			t[n] = '\0';
			*link = xstrdup(t);
			return 0;
		}
	}
	if (nfd < 0) {
		walk_error(*fd, comp, errno, err);
		return -1;
	}
	close(*fd);
	*fd = nfd;
	return 0;
}

/* Walk rel from *fd; follow: cross admin links (restarting at "/" for an
 * absolute target). */
static int walk(int *fd, const char *rel, int mkdirs, int follow, struct mail_err *err)
{
	char *todo = xstrdup(rel);
	int links = 0, rc = 0;

	for (char *p = todo; *p && !rc;) {
		size_t n = strcspn(p, "/");
		char *next = p + n + strspn(p + n, "/");
		char *link = NULL;
		p[n] = '\0';
		if (!n || !strcmp(p, ".")) {
			p = next;
			continue;
		}
		rc = step(fd, p, mkdirs, follow, &link, err);
		if (rc || !link) {
			p = next;
			continue;
		}
		if (++links > MAX_LINKS) {
			mail_err_set(err, MAIL_FAIL, "too many symbolic links in a mailbox path");
			errno = ELOOP;
			free(link);
			rc = -1;
			break;
		}
		struct buf b;
		buf_init(&b);
		buf_printf(&b, "%s/%s", link, next);
		if (link[0] == '/') {
			close(*fd);
			*fd = open("/", WALK_FLAGS);
		}
		free(link);
		free(todo);
		todo = p = buf_steal(&b);
		if (*fd < 0)
			rc = -1;
	}
	free(todo);
	return rc;
}

/* Is dirfd the spool directory (or are we unable to tell)? */
static int is_spool(struct mail_session *s, int dirfd)
{
	struct stat a, b;
	int sfd = fsafe_spool(s);

	if (fstat(dirfd, &a) < 0)
		return 1;
	if (sfd >= 0 ? fstat(sfd, &b) < 0 : stat(s->spool_dir, &b) < 0)
		return 0;   /* no spool directory to protect */
	return a.st_dev == b.st_dev && a.st_ino == b.st_ino;
}

/* The user's own spool file: dir is the spool directory, leaf the user. */
static int is_inbox_path(struct mail_session *s, const char *dir, const char *leaf)
{
	size_t sl = strlen(s->spool_dir), dl = strlen(dir);

	while (sl > 1 && s->spool_dir[sl - 1] == '/')
		sl--;
	while (dl > 1 && dir[dl - 1] == '/')
		dl--;
	return sl == dl && !strncmp(dir, s->spool_dir, sl) && !strcmp(leaf, s->user);
}

/* The user's INBOX: its directory is the spool anchor itself. */
static int locate_inbox(struct mail_session *s, struct fsafe_loc *loc, struct mail_err *err)
{
	if (fsafe_spool(s) < 0) {
		/* no spool directory: no INBOX yet, as for a missing file */
		int e = errno;
		mail_err_set(err, MAIL_NONEXISTENT, "cannot open the spool directory %s: %s",
			     s->spool_dir, strerror(e));
		errno = e;
		return -1;
	}
	loc->dirfd = fcntl(s->spool_fd, F_DUPFD_CLOEXEC, 0);
	loc->spool = 1;
	return loc->dirfd < 0 ? -1 : 0;
}

/* Open directory dir (of path, for messages): from the home without links,
 * or (allowed outside the home) from "/" across admin links only; never the
 * spool directory. Returns the descriptor or -1. */
static int open_dir(struct mail_session *s, const char *dir, const char *path, int mkdirs,
		    struct mail_err *err)
{
	const char *rest = under(s->home, dir);
	int fd, rc;

	if (rest && fsafe_home(s) < 0) {
		mail_err_set(err, MAIL_FAIL, "cannot open your home directory %s", s->home);
		errno = EACCES;
		return -1;
	}
	if (!rest && (!s->allow_outside_home || dir[0] != '/')) {
		mail_err_set(err, MAIL_BADNAME, "mailbox %s is outside your home directory", path);
		errno = EACCES;
		return -1;
	}
	if (rest) {
		fd = fcntl(s->home_fd, F_DUPFD_CLOEXEC, 0);
		rc = fd < 0 ? -1 : walk(&fd, rest, mkdirs, 0, err);
	} else {
		fd = open("/", WALK_FLAGS);
		rc = fd < 0 ? -1 : walk(&fd, dir + 1, mkdirs, 1, err);
	}
	if (rc == 0 && fd >= 0 && is_spool(s, fd)) {
		mail_err_set(err, MAIL_NOPERM, "the mail spool is reachable only as INBOX: %s",
			     path);
		errno = EACCES;
		rc = -1;
	}
	if (rc < 0 && fd >= 0) {
		close(fd);
		fd = -1;
	}
	return fd;
}

int fsafe_locate(struct mail_session *s, const char *path, int mkdirs, struct fsafe_loc *loc,
		 struct mail_err *err)
{
	char *dir;

	loc->dirfd = -1;
	loc->spool = 0;
	if (fsafe_check_length(path, err) < 0) {
		errno = ENAMETOOLONG;
		return -1;
	}
	if (split(path, &dir, loc, err) < 0)
		return -1;
	if (is_inbox_path(s, dir, loc->leaf)) {
		free(dir);
		return locate_inbox(s, loc, err);
	}
	loc->dirfd = open_dir(s, dir, path, mkdirs, err);
	free(dir);
	return loc->dirfd < 0 ? -1 : 0;
}

int fsafe_open(const struct fsafe_loc *loc, int flags, mode_t mode)
{
	return openat(loc->dirfd, loc->leaf, flags | O_NOFOLLOW | O_CLOEXEC, mode);
}

int fsafe_lstat(const struct fsafe_loc *loc, struct stat *st)
{
	return fstatat(loc->dirfd, loc->leaf, st, AT_SYMLINK_NOFOLLOW);
}

int fsafe_same(const struct fsafe_loc *loc, const struct stat *st)
{
	struct stat now;

	return fsafe_lstat(loc, &now) == 0 && now.st_dev == st->st_dev && now.st_ino == st->st_ino;
}

int fsafe_dotlock(const struct fsafe_loc *loc, const char *path, char **held,
		  struct mail_err *err)
{
	char name[64 + NAME_MAX];
	int r;

	/* the spool's path is the administrator's (and the setgid lock helper
	 * liblockfile may run needs a real path): use it as it is */
	if (loc->spool || access("/proc/self/fd", X_OK) < 0)
		return lock_dot(path, held, err);
	snprintf(name, sizeof name, "/proc/self/fd/%d/%s", loc->dirfd, loc->leaf);
	r = lock_dot(name, held, err);
	if (r < 0 && err && err->code == MAIL_INUSE)
		mail_err_set(err, MAIL_INUSE, "mailbox %s is locked by another process", path);
	else if (r < 0 && err && err->code == MAIL_NOPERM) {
		/* lock_dot named the /proc path and gave the spool's fix; a
		 * mailbox outside the spool has its lock beside it, in a
		 * directory its owner must be able to write */
		const char *slash = strrchr(path, '/');
		int dlen = slash ? (int)(slash - path) : 1;

		mail_err_set(err, MAIL_NOPERM,
			     "cannot lock %s: cannot create %s.lock: permission denied. Fix: the "
			     "directory %.*s must be writable by the mailbox's owner (chown or chmod "
			     "u+w it)", path, path, dlen, slash ? path : ".");
	} else if (r < 0 && err) {
		char why[sizeof err->text];
		str_copy(why, err->text, sizeof why);
		mail_err_set(err, err->code, "cannot lock %s: %s", path, why);
	}
	return r;
}

int fsafe_sync_dir(int dirfd)
{
	/* an O_PATH descriptor cannot be fsynced: open the directory itself */
	int fd = openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC), r;

	if (fd < 0)
		return -1;
	r = fsync(fd);
	close(fd);
	return r;
}

int fsafe_read_own(int dirfd, const char *name, size_t max, char **data, size_t *len,
		   struct mail_err *err)
{
	struct stat st;
	int fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);

	*data = NULL;
	*len = 0;
	if (fd < 0 && errno == ENOENT)
		return 1;
	if (fd < 0 || fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_uid != geteuid() ||
	    (uint64_t)st.st_size > max) {
		int e = errno;
		const char *why = fd < 0 ? (e == ELOOP ? "it is a symbolic link" : strerror(e)) :
				  !S_ISREG(st.st_mode) ? "it is not a regular file" :
				  st.st_uid != geteuid() ? "it belongs to another user" :
				  "it is too large";
		mail_err_set(err, MAIL_NOPERM, "%s not read: %s (only a regular file of yours up "
			     "to %zu bytes is)", name, why, max);
		log_warn("refused to read %s: %s", name, why);
		if (fd >= 0)
			close(fd);
		return -1;
	}
	/* read what the fstat promised at most: a file growing now is cut */
	char *b = xmalloc((size_t)st.st_size + 1);
	ssize_t n = pread(fd, b, (size_t)st.st_size, 0);
	close(fd);
	if (n < 0) {
		mail_err_set(err, MAIL_FAIL, "cannot read %s: %s", name, strerror(errno));
		free(b);
		return -1;
	}
	b[n] = '\0';
	*data = b;
	*len = (size_t)n;
	return 0;
}

/* Create the temp file for fsafe_replace, clearing a stale one (or a link
 * someone planted: unlinkat removes the link, never its target). */
static int tmp_create(int dirfd, const char *tmp)
{
	int fd = openat(dirfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);

	if (fd < 0 && errno == EEXIST && unlinkat(dirfd, tmp, 0) == 0)
		fd = openat(dirfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	return fd;
}

int fsafe_replace(int dirfd, const char *name, const char *data, size_t len,
		  struct mail_err *err)
{
	char tmp[NAME_MAX + 1];
	int fd, rc = -1;

	if (snprintf(tmp, sizeof tmp, "%s.tmp", name) >= (int)sizeof tmp) {
		mail_err_set(err, MAIL_BADNAME, "file name too long: %s", name);
		return -1;
	}
	fd = tmp_create(dirfd, tmp);
	if (fd >= 0 && write_full(fd, data, len) == 0 && fsync(fd) == 0) {
		if (close(fd) == 0 && renameat(dirfd, tmp, dirfd, name) == 0)
			rc = 0;
		fd = -1;
	}
	if (rc < 0) {
		mail_err_set(err, MAIL_FAIL, "cannot update %s: %s", name, strerror(errno));
		if (fd >= 0)
			close(fd);
		unlinkat(dirfd, tmp, 0);
	}
	return rc;
}

int fsafe_open_dir(struct mail_session *s, const char *path, struct mail_err *err)
{
	struct fsafe_loc loc;

	if (fsafe_locate(s, path, 0, &loc, err) < 0)
		return -1;
	int fd = openat(loc.dirfd, loc.leaf, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	int e = errno;
	fsafe_close(&loc);
	/* a link or a file where the directory should be: not the user's to
	 * open as a mailbox (an attacker's planted link gets no more detail) */
	if (e == ELOOP || e == ENOTDIR)
		e = EACCES;
	if (fd < 0)
		mail_err_set(err, e == ENOENT ? MAIL_NONEXISTENT : e == EACCES ? MAIL_NOPERM :
			     MAIL_FAIL, "cannot open mailbox %s: %s", path, strerror(e));
	return fd;
}
