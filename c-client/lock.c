/* lock.c: dotlock (liblockfile) + fcntl locking of mailbox files. The
 * dotlock is what every MTA on Debian honours; the fcntl lock covers
 * programs that only use kernel locks. */
#include "lock.h"

#include <errno.h>
#include <fcntl.h>
#include <lockfile.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>
#include <time.h>
#include <unistd.h>

int lock_dot_timeout = 60;

static void nap(long usec)
{
	struct timespec ts = { usec / 1000000, (usec % 1000000) * 1000 };

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

static char *dir_of(const char *path)
{
	const char *slash = strrchr(path, '/');

	if (!slash)
		return xstrdup(".");
	if (slash == path)
		return xstrdup("/");
	return xstrndup(path, (size_t)(slash - path));
}

/* Is the filesystem of dir out of blocks or inodes (for a user)? A lock
 * the helper could not make there failed for that, not for a mode. */
static int dir_full(const char *dir)
{
	struct statvfs sv;

	return statvfs(dir, &sv) == 0 && (sv.f_bavail == 0 || (sv.f_files && sv.f_favail == 0));
}

void lock_dir_error(const char *file, int e, struct mail_err *err)
{
	char *dir = dir_of(file);

	/* Sessions never hold group mail: in a spool directory only the setgid
	 * helper makes lock files, and only the user's own. */
	mail_err_set(err, MAIL_NOPERM,
		     "cannot create %s: %s. Spool fix: chgrp mail %s; chmod 2775 %s (then the "
		     "setgid " LOCK_HELPER " makes only the user's own lock), or chmod 1777",
		     file, strerror(e), dir, dir);
	free(dir);
}

int lock_dot(const char *path, char **held, struct mail_err *err)
{
	size_t n = strlen(path);
	char *name = xmalloc(n + 6);
	long wait = 1000, waited = 0;

	memcpy(name, path, n);
	memcpy(name + n, ".lock", 6);
	*held = NULL;
	for (;;) {
		/* retries=0: one attempt, no multi-second sleeps inside the
		 * library; we poll with short naps instead. */
		int r = lockfile_create(name, 0, L_PID);
		int e = errno;

		if (r == L_SUCCESS) {
			*held = name;
			return 0;
		}
		if (r == L_TMPLOCK || r == L_TMPWRITE || r == L_ERROR) {
			/* liblockfile ran the setgid helper for a directory we may
			 * not write, and the helper said no (not our own spool
			 * file's lock): errno is meaningless, so ask directly. */
			char *dir = dir_of(path);
			int denied = access(dir, W_OK) < 0 && (errno == EACCES || errno == EPERM ||
							      errno == EROFS);
			int de = errno, full = dir_full(dir);
			free(dir);
			if (full)
				mail_err_set(err, MAIL_TOOBIG, "cannot create lock file %s: %s",
					     name, strerror(ENOSPC));
			else if (denied || e == EACCES || e == EPERM || e == EROFS)
				lock_dir_error(name, denied ? de : e, err);
			else
				mail_err_set(err, MAIL_FAIL, "cannot create lock file %s: %s",
					     name, strerror(e));
			free(name);
			return -1;
		}
		if (r != L_MAXTRYS && r != L_RMSTALE) {
			mail_err_set(err, MAIL_FAIL, "cannot create lock file %s (error %d: %s)",
				     name, r, strerror(e));
			free(name);
			return -1;
		}
		if (waited / 1000000 >= lock_dot_timeout) {
			mail_err_set(err, MAIL_INUSE,
				     "mailbox %s is locked by another process (%s)", path, name);
			free(name);
			return -1;
		}
		nap(wait);
		waited += wait;
		if (wait < 100000)
			wait *= 2;
	}
}

void lock_dot_release(char **held)
{
	if (!*held)
		return;
	lockfile_remove(*held);
	free(*held);
	*held = NULL;
}

int lock_fd(int fd, int exclusive, struct mail_err *err)
{
	struct flock fl = { .l_type = exclusive ? F_WRLCK : F_RDLCK, .l_whence = SEEK_SET };

	while (fcntl(fd, F_SETLKW, &fl) < 0) {
		if (errno == EINTR)
			continue;
		mail_err_set(err, MAIL_FAIL, "cannot lock mailbox file: %s", strerror(errno));
		return -1;
	}
	return 0;
}

void lock_fd_release(int fd)
{
	struct flock fl = { .l_type = F_UNLCK, .l_whence = SEEK_SET };

	if (fd >= 0)
		fcntl(fd, F_SETLK, &fl);
}
