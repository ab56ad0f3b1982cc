/* fsafe.h: reaching files in a home or the spool without following links a
 * user could plant. A path is opened directory by directory from an anchor
 * (the home, the spool directory) with O_NOFOLLOW; the caller then works on
 * the leaf with *at() calls relative to that directory descriptor, so a link
 * swapped in later (a race) changes nothing we already hold. */
#ifndef CCLIENT_FSAFE_H
#define CCLIENT_FSAFE_H

#include <limits.h>
#include <sys/stat.h>

#include "mail_api.h"

/* Longest mailbox file name: room for the ".lock" and the rewrite's
 * ".<name>.imaptmp" beside it. */
#define FSAFE_LEAF_MAX (NAME_MAX - 9)

/* Largest subscription list we read (~/.mailboxlist). */
#define FSAFE_SUBS_MAX (1024 * 1024)

/* A file's directory, held open, and its name in it. */
struct fsafe_loc {
	int dirfd;
	int spool;                /* reached from the spool anchor (INBOX) */
	char leaf[NAME_MAX + 1];
};

/* The session's anchors, opened on first use by their admin-set paths;
 * -1 when unusable (no home, home "/"). */
int fsafe_home(struct mail_session *s);
int fsafe_spool(struct mail_session *s);

/* Open the directory of path. Inside the home no link is crossed; the
 * user's INBOX is reached from the spool anchor; elsewhere (only with
 * allow_outside_home) only root's links in root-only directories are, and
 * the spool directory is never reached. mkdirs: create missing directories
 * (0700). 0 ok (close with fsafe_close), -1 with err and errno set. */
int fsafe_locate(struct mail_session *s, const char *path, int mkdirs, struct fsafe_loc *loc,
		 struct mail_err *err);
void fsafe_close(struct fsafe_loc *loc);
/* The mailbox directory at path, opened from its parent without following
 * a link (a directory format's mailbox); -1 with err. */
int fsafe_open_dir(struct mail_session *s, const char *path, struct mail_err *err);

/* openat on the leaf, never following a link, close-on-exec. */
int fsafe_open(const struct fsafe_loc *loc, int flags, mode_t mode);
/* fstatat on the leaf, not following a link. */
int fsafe_lstat(const struct fsafe_loc *loc, struct stat *st);
/* Does the leaf still name the file st describes? */
int fsafe_same(const struct fsafe_loc *loc, const struct stat *st);
/* Take the dotlock (lock.h) of the file loc names (path: its name for
 * messages). Outside the spool the lock is named through our descriptor of
 * the directory (/proc/self/fd/N/leaf.lock), so a directory swapped for a
 * link meanwhile cannot move the lock (or its removal) anywhere else. */
int fsafe_dotlock(const struct fsafe_loc *loc, const char *path, char **held,
		  struct mail_err *err);

/* fsync the directory itself (after a rename in it). */
int fsafe_sync_dir(int dirfd);

/* Read name in dirfd whole when it is a regular file of ours no larger
 * than max. 0 read (*data malloc'd), 1 absent, -1 refused with err. */
int fsafe_read_own(int dirfd, const char *name, size_t max, char **data, size_t *len,
		   struct mail_err *err);
/* Replace name in dirfd with data: a temp file made O_EXCL|O_NOFOLLOW,
 * fsync, renameat in the same directory. */
int fsafe_replace(int dirfd, const char *name, const char *data, size_t len,
		  struct mail_err *err);

/* Refuse (MAIL_BADNAME) a path whose components or total length cannot be
 * a mailbox: NAME_MAX per component less our suffixes, PATH_MAX overall. */
int fsafe_check_length(const char *path, struct mail_err *err);

#endif
