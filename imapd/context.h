/* context.h: CONTEXT=SEARCH and CONTEXT=SORT (RFC 5267 section 4): a
 * SEARCH or SORT with RETURN (UPDATE) stays live, and the client hears
 * ADDTO / REMOVEFROM (and new MIN / MAX / COUNT) as the mailbox changes,
 * until CANCELUPDATE or the mailbox is left (cmd_context.c). */
#ifndef IMAPD_CONTEXT_H
#define IMAPD_CONTEXT_H

#include "imapd.h"
#include "search_parse.h"

/* Contexts one session may hold; beyond, NOUPDATE. */
#define IMAP_CONTEXTS_MAX 8

/* Called first by imap_esearch_reply: 1 when the command only recomputes
 * a context (its result is taken, nothing written); 0 to answer as usual,
 * after a context was made for RETURN (UPDATE). */
int imap_context_reply(struct cmd *cmd, const struct search_return *ret, const uint32_t *msgnos,
		       size_t n);
/* 1 when RETURN (UPDATE) names a tag a live context has: answered BAD. */
int imap_context_busy(struct cmd *cmd, const struct search_return *ret);
/* The message msgno (uid) is about to be told expunged. */
void imap_context_expunged(struct client *c, uint32_t msgno, uint32_t uid);
/* Recompute every context of the session and write what changed. */
void imap_context_update(struct client *c);
/* The mailbox is left: every context ends. */
void imap_context_free_all(struct client *c);

cmd_fn cmd_cancelupdate;

#endif
