/* maildir_int.h: what the Maildir driver's files share (driver_maildir.c
 * for open mailboxes, maildir_dir.c for the directory, its lock files and
 * delivery, maildir_ns.c for folders). Not for front-ends. */
#ifndef CCLIENT_MAILDIR_INT_H
#define CCLIENT_MAILDIR_INT_H

#include <limits.h>
#include <sys/stat.h>

#include "driver.h"
#include "maildir.h"

#define MD_UIDLIST "dovecot-uidlist"
#define MD_UIDLIST_LOCK "dovecot-uidlist.lock"
#define MD_KEYWORDS "dovecot-keywords"
#define MD_FOLDER_MARK "maildirfolder"
/* Where a folder being deleted goes first (Dovecot's name), so a crash
 * midway leaves no half folder under its old name. */
#define MD_TRASH ".DOVECOT-TRASHED"

/* A Maildir's directories, held open as O_PATH descriptors. */
struct mdir {
	int root, cur, new, tmp;
};

/* Open the Maildir at path (its cur/ new/ tmp/), never through a link. */
int md_dir_open(struct mail_session *s, const char *path, struct mdir *d, struct mail_err *err);
void md_dir_close(struct mdir *d);

/* Take the lock file name in root (O_EXCL; a stale one is overridden as
 * Dovecot does): its descriptor, or -1 with err (MAIL_INUSE after a wait). */
int md_lock(int root, const char *name, struct mail_err *err);
/* Release a lock without using it. */
void md_lock_drop(int root, int fd, const char *name);
/* Write data into the lock, fsync, rename it over target; the lock is
 * gone either way. */
int md_lock_commit(int root, int fd, const char *lockname, const char *target,
		   const struct buf *data, struct mail_err *err);

/* dovecot-uidlist as read: the parse points into data. */
struct md_ul {
	int have;                 /* a usable list was read */
	char *data;
	struct md_uidlist ul;
	struct stat st;           /* of the file read (st_ino 0: none) */
};
/* Read it (an absent or unusable list: have 0); -1 refused with err. */
int md_ul_read(int root, struct md_ul *u, struct mail_err *err);
void md_ul_free(struct md_ul *u);
/* A new list's header, taking a UIDVALIDITY from the user's policy. */
void md_ul_new(struct mail_session *s, int root, struct md_ul *u);
/* What md_ul_new would take, for STATUS and read-only opens. */
uint32_t md_ul_validity_preview(struct mail_session *s, int root);
/* Has name in root changed since it was stat'ed as *was? */
int md_file_changed(int root, const char *name, const struct stat *was);

/* dovecot-keywords: names by letter index. */
int md_kw_read(int root, char *names[MD_LETTERS], struct stat *st, struct mail_err *err);
void md_kw_free(char *names[MD_LETTERS]);
int md_kw_letter(char *names[MD_LETTERS], const char *name, int *added);
int md_kw_write(int root, char *names[MD_LETTERS], struct mail_err *err);

/* Open a message file to read: a regular file of the session's user, not
 * through a link, never blocking (a FIFO); -1 with errno otherwise. */
int md_open_msg(int dirfd, const char *name, struct stat *st);
/* RFC822.SIZE of stored bytes: each bare LF counts as CRLF. */
uint64_t md_canon_size(const char *p, size_t n);

/* A message on its way in: written to tmp/, then committed. */
struct md_put {
	char base[NAME_MAX + 1];  /* its base name (in tmp/ under it) */
	int in_tmp;
	uint32_t flags;
	char **keywords;          /* names, NULL-terminated, or NULL */
	uint32_t letters;
	uint32_t uid;
	char *final;              /* its name in cur/ once committed (malloc'd) */
};
/* Store m's text (line ends as LF) in tmp/ with its internal date. */
int md_put_text(struct mdir *d, const struct mail_new *m, struct md_put *p, struct mail_err *err);
/* The file name in srcdir into tmp/: a hard link, or a copy. */
int md_put_file(struct mdir *d, int srcdir, const char *name, uint64_t vsize, time_t date,
		struct md_put *p, struct mail_err *err);
/* Remove what is still in tmp/. */
void md_put_discard(struct mdir *d, struct md_put *v, size_t n);
/* Under the uidlist lock: assign UIDs, map keywords to letters, write the
 * list, move the files into cur/. All or none; a full disk answers
 * MAIL_TOOBIG with nothing left behind but what the caller discards. */
int md_commit(struct mail_session *s, struct mdir *d, struct md_put *v, size_t n,
	      uint32_t *validity_out, uint32_t *uids_out, struct mail_err *err);

/* Folders (maildir_ns.c). */
int md_valid(int dirfd, const char *leaf, const struct stat *st);
int md_create(struct mail_session *s, const char *path, struct mail_err *err);
int md_remove(struct mail_session *s, const char *path, struct mail_err *err);
int md_rename(struct mail_session *s, const char *from, const char *to, struct mail_err *err);
char *md_ns_path(const char *root, const char *name, struct mail_err *err);
int md_ns_list(struct mail_session *s, const char *root, const char *pattern, mail_list_fn fn,
	       void *ctx, struct mail_err *err);

#endif
