/* quota.c: the user's quota root and its usage. Usage is counted from every
 * mailbox's STATUS when asked, not kept anywhere: nothing can drift from the
 * mail itself, and deliveries by other programs count at once. */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "config.h"
#include "mail_flags.h"
#include "quota.h"

void mail_quota_setup(struct mail_session *s, const struct config *cfg)
{
	s->quota_storage = cfg->quota_storage;
	s->quota_messages = cfg->quota_messages;
}

void mail_quota_clear(struct mail_session *s)
{
	s->quota_storage = s->quota_messages = 0;
}

int mail_quota_active(const struct mail_session *s)
{
	return s->quota_storage || s->quota_messages;
}

struct names {
	char **v;
	size_t n, cap;
	int inbox;
};

/* mail_list's callback: keep every selectable name. */
static void quota_collect(void *ctx, const char *name, int attrs)
{
	struct names *ns = ctx;

	if (attrs & LA_NOSELECT)
		return;
	if (!strcasecmp(name, "INBOX"))
		ns->inbox = 1;
	if (ns->n == ns->cap) {
		ns->cap = ns->cap ? 2 * ns->cap : 16;
		ns->v = xrealloc(ns->v, ns->cap * sizeof *ns->v);
	}
	ns->v[ns->n++] = xstrdup(name);
}

/* Sum the sizes and counts of the named mailboxes into q. */
static int quota_sum(struct mail_session *s, const struct names *ns, struct mail_quota *q,
		     struct mail_err *err)
{
	struct mail_status st;

	for (size_t i = 0; i < ns->n; i++) {
		if (mail_status(s, ns->v[i], &st, err) < 0) {
			/* removed by another session since the LIST */
			if (err->code == MAIL_NONEXISTENT)
				continue;
			return -1;
		}
		q->storage_used += st.size;
		q->messages_used += st.messages;
	}
	return 0;
}

int mail_quota_get(struct mail_session *s, struct mail_quota *q, struct mail_err *err)
{
	struct names ns = {0};
	int rc;

	memset(q, 0, sizeof *q);
	q->storage_limit = s->quota_storage;
	q->messages_limit = s->quota_messages;
	rc = mail_list(s, "", "*", quota_collect, &ns, err);
	if (rc == 0 && !ns.inbox)
		quota_collect(&ns, "INBOX", 0);
	if (rc == 0)
		rc = quota_sum(s, &ns, q, err);
	for (size_t i = 0; i < ns.n; i++)
		free(ns.v[i]);
	free(ns.v);
	return rc;
}

int mail_quota_admit(struct mail_session *s, uint64_t bytes, uint64_t msgs, struct mail_err *err)
{
	struct mail_quota q;

	if (!mail_quota_active(s))
		return 0;
	if (mail_quota_get(s, &q, err) < 0)
		return -1;
	if ((q.storage_limit && q.storage_used + bytes > q.storage_limit) ||
	    (q.messages_limit && q.messages_used + msgs > q.messages_limit)) {
		mail_err_set(err, MAIL_OVERQUOTA, "Quota exceeded; nothing stored");
		return -1;
	}
	return 0;
}

void mail_box_deleted(const struct mailbox *box, uint64_t *n, uint64_t *bytes)
{
	*n = *bytes = 0;
	for (uint32_t i = 0; i < box->nmsgs; i++)
		if (box->msgs[i]->flags & MF_DELETED) {
			(*n)++;
			*bytes += box->msgs[i]->size;
		}
}

int mail_status_deleted(struct mail_session *s, const char *name, uint64_t *n, uint64_t *bytes,
			struct mail_err *err)
{
	struct mailbox *box;

	*n = *bytes = 0;
	if (mail_open(s, name, 1, NULL, NULL, &box, err) < 0)
		return -1;
	mail_box_deleted(box, n, bytes);
	return mail_close(box, 0, err);
}
