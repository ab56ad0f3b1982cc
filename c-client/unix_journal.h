/* unix_journal.h: crash-safe in-place rewrite of a mailbox file whose
 * directory we may not write (Debian's /var/mail without group mail): the
 * new content goes to a redo journal in the user's ~/.imapd-cache first,
 * then over the locked file; a crash is finished on the next open. */
#ifndef CCLIENT_UNIX_JOURNAL_H
#define CCLIENT_UNIX_JOURNAL_H

#include "mail_api.h"

#include <stdint.h>
#include <sys/stat.h>

/* A journal being written. fd is positioned where the content starts:
 * write exactly the new mailbox there, sequentially. */
struct unix_journal {
	int dirfd;              /* the cache directory */
	int fd;                 /* the journal file */
	char name[64];          /* its name in dirfd */
	uint64_t dev, ino;      /* the target file */
	uint64_t old_size;
};

/* Bytes the copy moves per step (tests make it small). */
extern size_t unix_journal_chunk;
/* Test hook, called at every step of an apply; NULL in production. */
extern void (*unix_journal_hook)(int step);

/* Create the journal for target (fstat of the locked file) in the cache
 * directory under home (a directory descriptor, see uidx_cache_dir).
 * The caller holds the mailbox locks. */
int unix_journal_begin(int home, const struct stat *target, struct unix_journal *j,
		       struct mail_err *err);
/* The new_len bytes of content are written: make them durable, copy them
 * over target (open read-write, locked), truncate, remove the journal.
 * On failure after the commit point the journal stays, and the next
 * unix_journal_recover finishes the job. */
int unix_journal_commit(struct unix_journal *j, int target, uint64_t new_len,
			struct mail_err *err);
/* Give up before the commit: remove the journal, the target is untouched. */
void unix_journal_abort(struct unix_journal *j);

/* Is there a journal for this file? (cheap: one fstatat) */
int unix_journal_pending(int home, const struct stat *target);
/* Under the mailbox locks: finish a rewrite that a crash interrupted,
 * keeping mail appended to the file since. 0: nothing to do, 1: replayed,
 * -1: error (the journal stays). */
int unix_journal_recover(int home, int target, struct mail_err *err);

#endif
