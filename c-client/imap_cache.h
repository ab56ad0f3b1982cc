/* imap_cache.h: what a program's session remembers of the IMAP mailboxes
 * it closed (their messages' UIDs, flags, dates and sizes, and the
 * server's HIGHESTMODSEQ), so that opening one again asks the server only
 * for what changed since (QRESYNC, RFC 7162). */
#ifndef CCLIENT_IMAP_CACHE_H
#define CCLIENT_IMAP_CACHE_H

#include "mail_api.h"

struct imap_cached {
	char *path;               /* the name as the program opened it */
	uint32_t uidvalidity;
	uint64_t modseq;          /* HIGHESTMODSEQ the messages are as of */
	struct message *msgs;     /* uid, flags, keywords (low bits), date, size */
	uint32_t n;
	char **keywords;          /* the names of the keyword bits */
	unsigned nkeywords;
	struct imap_cached *next;
};

/* Remember box's messages (all known, flags as the server has them) as of
 * modseq, replacing what was kept for its name. */
void imap_cache_put(struct mail_session *s, const struct mailbox *box, uint64_t modseq);
/* What was kept for path, or NULL; taken out of the session (the caller
 * frees it with imap_cache_free_one). */
struct imap_cached *imap_cache_take(struct mail_session *s, const char *path);
void imap_cache_free_one(struct imap_cached *c);
/* Everything kept, for mail_session_free. */
void imap_cache_free(struct mail_session *s);

#endif
