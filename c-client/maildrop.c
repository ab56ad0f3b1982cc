/* maildrop.c: the POP session lock (see maildrop.h for why it is a separate
 * file). flock locks belong to the open file, so they vanish with the
 * process however it ends: a killed session never leaves a stale lock, and
 * the file itself is left in place (removing it would race with the next
 * session opening it). */
#include "maildrop.h"
#include "fsafe.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

/* Open name in dirfd as our own regular file, never through a link; -1
 * leaves errno, -2 a file of someone else (err filled). */
static int lock_file_open(int dirfd, const char *name, const char *path, struct mail_err *err)
{
	struct stat st;
	int fd;

	if (dirfd < 0) {
		errno = ENOENT;
		return -1;
	}
	fd = openat(dirfd, name, O_RDWR | O_CREAT | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC, 0600);
	if (fd < 0)
		return -1;
	/* a file someone else planted (a shared spool directory) must not
	 * let them lock us out */
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_uid != geteuid()) {
		mail_err_set(err, MAIL_NOPERM, "POP lock file %s is not a file of this user; "
			     "remove it", path);
		close(fd);
		errno = EPERM;
		return -2;
	}
	return fd;
}

static int take(int fd, const char *path, struct mail_err *err)
{
	while (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		if (errno == EINTR)
			continue;
		if (errno == EWOULDBLOCK)
			mail_err_set(err, MAIL_INUSE, "maildrop is in use by another POP session");
		else
			mail_err_set(err, MAIL_FAIL, "cannot lock %s: %s", path, strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

int maildrop_lock(struct mail_session *s, struct mail_err *err)
{
	char home[4096], spool[4096], name[NAME_MAX + 1];
	int fd, home_errno;

	snprintf(home, sizeof home, "%s/%s", s->home ? s->home : "/", MAILDROP_LOCK_NAME);
	fd = lock_file_open(fsafe_home(s), MAILDROP_LOCK_NAME, home, err);
	if (fd >= 0)
		return take(fd, home, err);
	if (fd == -2)
		return -1;
	home_errno = errno;
	/* no usable home (none, read-only, another user's): next to the spool */
	snprintf(spool, sizeof spool, "%s/.%s.pop.lock", s->spool_dir, s->user);
	if (snprintf(name, sizeof name, ".%s.pop.lock", s->user) >= (int)sizeof name) {
		mail_err_set(err, MAIL_BADNAME, "user name too long for a POP lock file");
		return -1;
	}
	fd = lock_file_open(fsafe_spool(s), name, spool, err);
	if (fd >= 0)
		return take(fd, spool, err);
	if (fd == -2)
		return -1;
	mail_err_set(err, MAIL_NOPERM, "cannot create the POP lock file %s (%s) nor %s (%s)", home,
		     strerror(home_errno), spool, strerror(errno));
	return -1;
}

void maildrop_unlock(int fd)
{
	if (fd >= 0)
		close(fd);
}
