/* lock.h: mailbox locking that interoperates with MTAs and mail readers:
 * a dotlock (path.lock, created with liblockfile, same rules as procmail,
 * Postfix, Exim, mutt) and an fcntl lock on the open file. Both are held only
 * for the short span of one consistent read or one write, never across
 * client commands. Always take the dotlock first, then the fcntl lock. */
#ifndef CCLIENT_LOCK_H
#define CCLIENT_LOCK_H

#include "mail_api.h"

/* Debian's setgid-mail helper that liblockfile runs for lock files in a
 * directory the session may not write (the spool). */
#define LOCK_HELPER "/usr/bin/dotlockfile"

/* Seconds lock_dot waits for a dotlock held by a live process. */
extern int lock_dot_timeout;

/* Create path.lock, waiting (short sleeps) while someone else holds it;
 * stale locks are broken by liblockfile's rules (dead pid, or > 5 minutes
 * old without one). On success *held is the malloc'd lock name. A directory
 * we may not write into yields MAIL_NOPERM with the fix in the text. */
int lock_dot(const char *path, char **held, struct mail_err *err);
/* Remove a dotlock we hold (NULL is fine) and free the name. */
void lock_dot_release(char **held);

/* fcntl lock on the whole file, waiting (F_SETLKW). exclusive=0: F_RDLCK. */
int lock_fd(int fd, int exclusive, struct mail_err *err);
/* NOPERM error for a file we could not create, naming its directory and
 * what the spool needs (the helper; its rule: the user's own lock only). */
void lock_dir_error(const char *file, int e, struct mail_err *err);
void lock_fd_release(int fd);

#endif
