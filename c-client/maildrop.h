/* maildrop.h: the exclusive lock a POP session holds on a user's maildrop
 * for its whole length (RFC 1939, RFC 937). It is an flock(2) on a small
 * file of its own (~/.pop.lock), never the mailbox's dotlock or an fcntl
 * lock on the mailbox, so MTAs keep delivering and IMAP sessions keep
 * working while a POP client is connected. */
#ifndef CCLIENT_MAILDROP_H
#define CCLIENT_MAILDROP_H

#include "mail_api.h"

/* Name of the lock file in the user's home directory. */
#define MAILDROP_LOCK_NAME ".pop.lock"

/* Take the session lock of s's maildrop without waiting, as the user (after
 * auth_become). Returns a descriptor to keep open for the session, or -1:
 * MAIL_INUSE when another session holds it, else why the file could not be
 * used. The lock file lives in s->home; when the home cannot hold it, in the
 * spool directory as .<user>.pop.lock. */
int maildrop_lock(struct mail_session *s, struct mail_err *err);
/* Release (close) the lock; -1 is ignored. */
void maildrop_unlock(int fd);

#endif
