/* mbx_int.h: what the mbx driver's files share: mbx_file.c (a file on
 * disk: UW's locks, the walk over its messages, UID assignment, append,
 * create, status, the reclaiming rewrite) and driver_mbx.c (an open
 * mailbox). Not for front-ends. */
#ifndef CCLIENT_MBX_INT_H
#define CCLIENT_MBX_INT_H

#include <sys/stat.h>

#include "driver.h"
#include "fsafe.h"
#include "mbx.h"

/* Seconds we wait for UW's locks before answering NO (UW waits forever). */
extern int mbx_lock_secs;

/* UW's "parse/append permission": flock on /tmp/.<dev>.<ino> of the
 * mailbox file, held while messages are added, flags written or the file
 * read for news. Ours are made O_EXCL|O_NOFOLLOW, mode 0644; any is
 * opened read-only without following a link, and used only when it is a
 * plain file with one link. */
struct mbx_plock {
	int fd;
	char name[64];
};
int mbx_plock_take(int mfd, const char *box, struct mbx_plock *pl, struct mail_err *err);
void mbx_plock_release(struct mbx_plock *pl);
/* flock(fd, op) waiting at most mbx_lock_secs; 0 or -1 with err. */
int mbx_flock_wait(int fd, int op, const char *box, struct mail_err *err);

/* The mailbox file at path opened safely (a plain file, no link
 * followed), read-write when write is set, with UW's locks: the parse
 * lock in pl, and a shared flock on the file when shared is set; its
 * header checked. loc its directory, st its fstat. Release with
 * mbx_plock_release, close, fsafe_close. -1 with err. */
int mbx_file_lock(struct mail_session *s, const char *path, const char *box, int write,
		  int shared, struct fsafe_loc *loc, struct stat *st, struct mbx_plock *pl,
		  struct mail_err *err);
/* Read and parse the header of fd. -1 with err (MAIL_CORRUPT). */
int mbx_header_read(int fd, const char *box, struct mbx_header *h, struct mail_err *err);
/* Write h over the header of fd. */
int mbx_header_write(int fd, const struct mbx_header *h, struct mail_err *err);

/* A message line found by a walk, at file offset off. */
struct mbx_ent {
	uint64_t off;
	struct mbx_rec r;
	int uid_new;              /* r.uid was assigned by mbx_uids_fix */
};
struct mbx_ents {
	struct mbx_ent *v;
	size_t n;
};

/* Read the message lines of fd from offset from to size (under the
 * parse lock). A tail cut short (an append killed midway) is cut off when
 * repair is set, else left unread; *end says where the messages end. A
 * line that is no message line: -1 with err naming box (out freed). */
int mbx_walk_file(int fd, uint64_t from, uint64_t size, int repair, const char *box,
		  struct mbx_ents *out, uint64_t *end, struct mail_err *err);
void mbx_ents_free(struct mbx_ents *e);

/* Give UIDs to e's messages that have none (after prev, the last UID
 * before them) from h->last_uid on, as UW does. 0 done (uid_new marks
 * them), 1 the UIDs are out of order (UW rebuilds: the caller decides). */
int mbx_uids_fix(struct mbx_header *h, uint32_t prev, struct mbx_ents *e);
/* Write the UIDs uid_new marks (the header's last UID first, so a crash
 * leaves unused numbers, never a UID above it). */
int mbx_uids_write(int fd, const struct mbx_header *h, const struct mbx_ents *e,
		   struct mail_err *err);
/* Read a message's flags back from the file. */
int mbx_flags_read(int fd, const struct mbx_ent *e, uint32_t *kw, uint32_t *sys);
/* Write a message's keywords, flags and UID in place. */
int mbx_flags_write(int fd, uint64_t off, size_t linelen, uint32_t kw, uint32_t sys,
		    uint32_t uid, struct mail_err *err);
/* Slot of keyword name in h, added when absent and add is set; -1. */
int mbx_slot(struct mbx_header *h, const char *name, int add);

/* After a flag write: mtime at least a second past the old one, so UW's
 * sessions (which compare whole seconds) see the change. */
void mbx_touch(int fd, const struct stat *old);

/* MF_* of mbx system flags, and back. */
uint32_t mbx_mf(uint32_t sys);
uint32_t mbx_sys(uint32_t mf);

/* Copy the messages of fd (locked exclusively) that are not expunged into
 * a new file beside it and rename that over it: 1 done (*newfd the new
 * file, flock'ed shared), 0 nothing to reclaim, -1 with err. */
int mbx_reclaim(int fd, const struct fsafe_loc *loc, const char *box, int *newfd,
		struct mail_err *err);
/* Remove the new file of a rewrite a crash interrupted (under the parse
 * lock: no rewrite is under way). */
void mbx_tmp_clean(const struct fsafe_loc *loc);

int mbx_append(struct mail_session *sess, const char *path, const struct mail_new *msgs,
	       size_t n, uint32_t *validity_out, uint32_t *uids_out, struct mail_err *err);
/* Where a COPY's texts are: message i's stored bytes at off[i] of fd
 * (msgs[i].len of them), copied as they are. */
struct mbx_src {
	int fd;
	const uint64_t *off;
};
/* mbx_append, the texts read from src when it is given (COPY between mbx
 * files), with the same crash safety: UIDs taken in the header first. */
int mbx_append_from(struct mail_session *sess, const char *path, const struct mail_new *msgs,
		    size_t n, const struct mbx_src *src, uint32_t *validity_out,
		    uint32_t *uids_out, struct mail_err *err);
int mbx_create(struct mail_session *sess, const char *path, struct mail_err *err);
int mbx_status(struct mail_session *sess, const char *path, struct mail_status *st,
	       struct mail_err *err);
int mbx_valid(int dirfd, const char *leaf, const struct stat *st);

/* Test hook: called at the steps of an append and a reclaim; NULL in
 * production. */
extern void (*mbx_test_hook)(const char *step);

#endif
