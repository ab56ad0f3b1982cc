/* maildir_int.h: what the Maildir driver's files share: driver_maildir.c
 * (entry points), maildir_sync.c and maildir_scan.c (an open mailbox and
 * its directories), maildir_dir.c (lock files, uidlist, keywords,
 * delivery), maildir_ns.c (folders). Not for front-ends. */
#ifndef CCLIENT_MAILDIR_INT_H
#define CCLIENT_MAILDIR_INT_H

#include <dirent.h>
#include <limits.h>
#include <sys/stat.h>

#include "driver.h"
#include "maildir.h"

#define MD_UIDLIST "dovecot-uidlist"
#define MD_UIDLIST_LOCK "dovecot-uidlist.lock"
#define MD_KEYWORDS "dovecot-keywords"
#define MD_FOLDER_MARK "maildirfolder"
#define MD_UIDVALIDITY "dovecot-uidvalidity"
#define MD_SUBSCRIPTIONS "subscriptions"
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
/* Read the directory name in dirfd ("." for itself), not through a link. */
DIR *md_opendir(int dirfd, const char *name);

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

/* An open Maildir (driver_maildir.c, maildir_sync.c, maildir_scan.c). */

/* A message: the generic record first, then where its file is. */
struct mdmsg {
	struct message m;
	char *name;               /* its file name in cur/ or new/ */
	uint8_t in_new;
	uint32_t disk_flags;      /* what the name says now */
	uint32_t disk_letters;
	char *ext;                /* uidlist extension fields, kept */
	size_t ext_len;
	uint8_t size_read;        /* size found by reading: not in the list yet */
};

/* The driver's state of an open mailbox (box->drvdata). */
struct mdbox {
	struct mdir d;
	struct timespec cur_mt, new_mt;   /* at the last full scan */
	struct md_ul ul;
	struct stat kw_st;
	int8_t letter_of[MAIL_KEYWORDS_MAX];   /* box keyword -> letter, -1 */
	int8_t kw_of[MD_LETTERS];             /* letter -> box keyword, -1 */
	struct buf text;
	uint32_t text_uid;
	int scanned;
	uint32_t sizes_read;      /* messages with size_read set */
};

/* A file found by a scan. */
struct ment {
	char *name;
	uint8_t in_new;
	struct md_name pn;
	uint32_t uid;
	const struct md_rec *rec;
	uint64_t vsize;           /* computed for a new file without ",W=" */
};

/* The message files of new/ and cur/ at one moment. */
struct mscan {
	struct ment *v;
	size_t n;
	struct timespec cur_mt, new_mt;
	int stable;               /* neither directory changed during it */
};

#define MB(box) ((struct mdbox *)(box)->drvdata)
#define MM(box, i) ((struct mdmsg *)(box)->msgs[i])

/* Scanning. */
int md_mt_same(const struct timespec *a, const struct timespec *b);
void md_dir_mtime(int fd, struct timespec *out);
/* The message files of new/ then cur/ (a file moving between them meanwhile
 * is seen in cur/), sorted by base, each base once. */
int md_scan(struct mdir *d, struct mscan *sc);
void md_scan_free(struct mscan *sc);
/* The scanned file whose base is that of name, or NULL. */
struct ment *md_scan_find(struct mscan *sc, const char *name);
/* Is the scanned file a regular file of the session's user? */
int md_ment_ours(const struct mdir *d, const struct ment *e, struct stat *st);
/* Canonical size of a uidlist W field (0: none). */
uint64_t md_ext_vsize(const char *ext, size_t n);
/* RFC822.SIZE of the scanned file e (r: its uidlist record, or NULL);
 * st: what md_ment_ours found. */
uint64_t md_ment_vsize(const struct mdir *d, const struct ment *e, const struct md_rec *r,
		       const struct stat *st);

/* Keeping the session in step: */
void md_kw_map_reset(struct mdbox *mb);
/* Look at the directories (cheaply when they did not change) and report
 * new messages, expunges and others' flag changes through driver.h. */
int md_sync(struct mailbox *box, struct mail_err *err);
/* Find mm's file again by its base, reporting nothing. 0 found, -1 gone. */
int md_relocate(struct mailbox *box, struct mdmsg *mm);
/* Rename the files of messages whose flags the session changed. */
int md_write_flags(struct mailbox *box, struct mail_err *err);
void md_msg_free(struct mdmsg *mm);
/* The directory (cur/ or new/) mm's file is in. */
int md_msg_dir(struct mailbox *box, const struct mdmsg *mm);

/* Folders (maildir_ns.c). */
int md_valid(int dirfd, const char *leaf, const struct stat *st);
int md_create(struct mail_session *s, const char *path, struct mail_err *err);
int md_remove(struct mail_session *s, const char *path, struct mail_err *err);
int md_rename(struct mail_session *s, const char *from, const char *to, struct mail_err *err);
char *md_ns_path(const char *root, const char *name, struct mail_err *err);
int md_ns_list(struct mail_session *s, const char *root, const char *pattern, mail_list_fn fn,
	       void *ctx, struct mail_err *err);
/* Subscriptions in Dovecot's file in the INBOX Maildir. */
int md_subs_read(struct mail_session *s, const char *root, char ***names, size_t *n,
		 struct mail_err *err);
int md_subs_write(struct mail_session *s, const char *root, char *const *names, size_t n,
		  struct mail_err *err);

#endif
