/* quota.h: QUOTA (RFC 9208) for one user: one quota root "" over all of the
 * user's mailboxes, its limits from the configuration (quota_storage,
 * quota_messages), its usage counted from the mailboxes themselves. */
#ifndef CCLIENT_QUOTA_H
#define CCLIENT_QUOTA_H

#include <stdint.h>

#include "mail_api.h"

struct config;

/* One root's resources; a limit of 0 means the resource is not limited. */
struct mail_quota {
	uint64_t storage_used, storage_limit;   /* octets */
	uint64_t messages_used, messages_limit;
};

/* Take the limits from the configuration into the session. */
void mail_quota_setup(struct mail_session *s, const struct config *cfg);
/* No limits for this session: delivery (deliver.c) is not held to them. */
void mail_quota_clear(struct mail_session *s);
/* Does the session have any limit (so QUOTA is worth offering)? */
int mail_quota_active(const struct mail_session *s);
/* Limits and usage now; -1 with err when a mailbox could not be counted. */
int mail_quota_get(struct mail_session *s, struct mail_quota *q, struct mail_err *err);
/* May bytes more in msgs more messages be stored? 0, or -1 with
 * MAIL_OVERQUOTA (or the error that kept us from counting). */
int mail_quota_admit(struct mail_session *s, uint64_t bytes, uint64_t msgs, struct mail_err *err);

/* STATUS DELETED and DELETED-STORAGE (RFC 9208 4.3.1): the messages marked
 * \Deleted and the octets an EXPUNGE would free, of an open mailbox or of
 * the one named (opened read-only for it). */
void mail_box_deleted(const struct mailbox *box, uint64_t *n, uint64_t *bytes);
int mail_status_deleted(struct mail_session *s, const char *name, uint64_t *n, uint64_t *bytes,
			struct mail_err *err);

#endif
