/* driver.h: what every mailbox driver shares, kept once in mail.c: the
 * events reported to the front-end, the message array, the expunge set,
 * the UIDVALIDITY policy and the \Recent claims. Drivers include this;
 * front-ends never do. */
#ifndef CCLIENT_DRIVER_H
#define CCLIENT_DRIVER_H

#include "mail_api.h"

/* Report to the front-end, if it listens (no-ops while box->ev is NULL,
 * as during open and a silent CLOSE). */
void mail_ev_exists(struct mailbox *box);
void mail_ev_recent(struct mailbox *box);
void mail_ev_expunged(struct mailbox *box, uint32_t msgno);
void mail_ev_flags(struct mailbox *box, uint32_t msgno);
void mail_ev_notice(struct mailbox *box, const char *text);

/* Add m as the last message; a message flagged MF_RECENT counts in
 * box->recent. The mailbox does not own m's memory (the driver does). */
void mail_msg_add(struct mailbox *box, struct message *m);
/* Free every message (and its parse) and the array, for a driver's close
 * (messages allocated one by one, struct message first). */
void mail_msgs_free(struct mailbox *box);
/* Take message i (0-based) out of the array, drop its parse and report
 * its expunge (msgno i+1); returns it for the driver to free. */
struct message *mail_msg_take(struct mailbox *box, uint32_t i);

/* Which messages an expunge removes: \Deleted ones, and of those only the
 * ones whose uid is in uids[] (sorted or not) when uids is given.
 * Returns a malloc'd array of nmsgs flags, *n of them set. */
char *mail_expunge_set(struct mailbox *box, const uint32_t *uids, size_t nuids, size_t *n);

/* The UIDVALIDITY policy of every format: a value at least floor (the
 * time, or when a mailbox was made) and strictly greater than any value
 * handed out to this user before, so a mailbox deleted and created again
 * gets a greater one (RFC 3501 2.3.1.1). take: hand it out; else only say
 * what it would be (STATUS and EXAMINE agree with the SELECT that takes it). */
uint32_t mail_uidvalidity(struct mail_session *s, uint32_t floor, int take);

/* The \Recent claim of the mailbox at path (RFC 3501 2.3.2): the highest
 * UID a read-write session was told about under validity. Get and put
 * only under the mailbox's write lock, so one session sees each message
 * \Recent. Get: 0, or -1 when there is none (claim nothing). */
int mail_recent_get(struct mail_session *s, const char *path, uint32_t *validity, uint32_t *hw);
void mail_recent_put(struct mail_session *s, const char *path, uint32_t validity, uint32_t hw);

/* What a COPY carries of m besides its text: flags, internal date and the
 * keyword names (a list the caller frees; the names stay box's). */
void mail_new_meta(struct mailbox *box, const struct message *m, struct mail_new *nm);

/* For a driver's watch(): watch the directory dirfd (through our own
 * descriptor, never a path someone could swap) for changes to the entry
 * leaf, or to any entry when leaf is NULL. */
int mail_watch_add(struct mailbox *box, int ifd, int dirfd, const char *leaf);
/* inotify_add_watch on what our descriptor fd holds (never a path that
 * could be swapped): the watch descriptor, or -1. */
int mail_inotify_fd(int ifd, int fd, uint32_t mask);

/* For a driver's valid(): open leaf in dirfd read-only without following
 * a link or blocking on a FIFO; -1 if it is not a regular file. */
int mail_valid_open(int dirfd, const char *leaf, const struct stat *st);

#endif
