/* recfile.c: the per-user record files' one reader, lock and writer (see
 * recfile.h). Each file's format lives with its feature; this file owns
 * how the bytes are reached, so the link and ownership rules hold once. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fsafe.h"
#include "recfile.h"

/* The home descriptor, or -1 with err. */
static int rec_home(struct mail_session *s, const struct recfile *rf, struct mail_err *err)
{
	int home = fsafe_home(s);

	if (home < 0)
		mail_err_set(err, MAIL_NOPERM, "no home directory for %s", rf->what);
	return home;
}

/* See recfile.h: read and parse, absent an empty set. */
int recfile_load(struct mail_session *s, const struct recfile *rf, void *set,
		 struct mail_err *err)
{
	char *data;
	size_t len;
	int home = rec_home(s, rf, err), rc;

	if (home < 0)
		return -1;
	rc = fsafe_read_own(home, rf->name, rf->max, &data, &len, err);
	if (rc != 0)
		return rc < 0 ? -1 : 0;
	rc = rf->parse(data, len, set);
	free(data);
	if (rc < 0)
		mail_err_set(err, MAIL_CORRUPT, "~/%s is damaged; %s not read", rf->name, rf->what);
	return rc < 0 ? -1 : 0;
}

/* Take the lock that orders one session's read-change-write after
 * another's: an flock on <name>.lock, a regular file of the user's (a
 * link there is refused, never followed). Its descriptor, or -1 with err. */
static int rec_lock(struct mail_session *s, const struct recfile *rf, int *home,
		    struct mail_err *err)
{
	char name[NAME_MAX + 1];
	struct stat st;
	int fd = -1;

	if ((*home = rec_home(s, rf, err)) < 0)
		return -1;
	snprintf(name, sizeof name, "%s.lock", rf->name);
	fd = openat(*home, name, O_RDWR | O_CREAT | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC, 0600);
	if (fd >= 0 && (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_uid != geteuid())) {
		close(fd);
		fd = -1;
		errno = EPERM;
	}
	while (fd >= 0 && flock(fd, LOCK_EX) < 0)
		if (errno != EINTR) {
			close(fd);
			fd = -1;
		}
	if (fd < 0)
		mail_err_set(err, MAIL_FAIL, "cannot lock ~/%s: %s", name,
			     errno == ELOOP ? "it is a symbolic link" : strerror(errno));
	return fd;
}

/* See recfile.h: lock, load, change, write when asked. */
int recfile_update(struct mail_session *s, const struct recfile *rf, void *set,
		   int (*change)(void *set, void *ctx, struct mail_err *err), void *ctx,
		   struct mail_err *err)
{
	int home, lock = rec_lock(s, rf, &home, err), rc;

	if (lock < 0)
		return -1;
	rc = recfile_load(s, rf, set, err);
	if (rc == 0)
		rc = change(set, ctx, err);
	if (rc == 1) {
		struct buf b;
		buf_init(&b);
		rf->format(set, &b);
		rc = fsafe_replace(home, rf->name, b.data ? b.data : "", b.len, err);
		buf_free(&b);
	}
	rf->free(set);
	close(lock);
	return rc < 0 ? -1 : 0;
}

/* See recfile.h. */
int recfile_exists(struct mail_session *s, const struct recfile *rf)
{
	struct stat st;
	int home = fsafe_home(s);

	return home >= 0 && fstatat(home, rf->name, &st, AT_SYMLINK_NOFOLLOW) == 0;
}

/* See recfile.h: the magic line, then records up to max_records. */
int recfile_records(const char *data, size_t len, const char *magic, size_t max_records,
		    int (*record)(const char **p, const char *end, void *set), void *set)
{
	const char *p = data, *end = data + len;
	size_t ml = strlen(magic);

	if (len < ml || memcmp(data, magic, ml))
		return -1;
	p += ml;
	for (size_t n = 0; p < end; n++)
		if (n == max_records || record(&p, end, set) < 0)
			return -1;
	return 0;
}

/* See recfile.h. */
int recfile_number(const char **p, const char *end, char stop, size_t max, size_t *out)
{
	size_t n = 0;
	const char *s = *p;

	while (s < end && *s >= '0' && *s <= '9') {
		size_t d = (size_t)(*s++ - '0');
		/* checked before it is computed: any max, no overflow */
		if (n > max / 10 || d > max - n * 10)
			return -1;
		n = n * 10 + d;
	}
	if (s == *p || s == end || *s != stop)
		return -1;
	*p = s + 1;
	*out = n;
	return 0;
}
