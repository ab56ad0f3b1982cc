/* imap_push.h: SEARCH, SORT and THREAD of a selected IMAP mailbox done by
 * the server where its CAPABILITY says it can (driver_imap.c's hooks). Each
 * returns 0 with the answer in our message numbers, 1 when this server or
 * this request cannot be pushed (the library then works locally), -1 with
 * err when the connection failed. Other responses (EXISTS, FETCH ...) go to
 * fn with the mailbox. */
#ifndef CCLIENT_IMAP_PUSH_H
#define CCLIENT_IMAP_PUSH_H

#include "imap_client.h"
#include "search.h"
#include "sort.h"
#include "thread.h"

int imap_push_search(struct imap_conn *c, struct mailbox *box, imap_untagged_fn fn,
		     const struct search_key *key, uint8_t *match, struct mail_err *err);
int imap_push_sort(struct imap_conn *c, struct mailbox *box, imap_untagged_fn fn,
		   const struct sort_crit *crit, size_t ncrit, const uint8_t *match,
		   uint32_t *out, size_t *nout, struct mail_err *err);
int imap_push_thread(struct imap_conn *c, struct mailbox *box, imap_untagged_fn fn,
		     enum thread_algo algo, const uint8_t *match, struct thread_tree *out,
		     struct mail_err *err);

#endif
