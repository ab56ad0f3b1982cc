/* imap_cache.c: the session's memory of closed IMAP mailboxes (see
 * imap_cache.h): one entry per name, a copy of the plain message fields
 * and the keyword names their bits stand for. */
#include "imap_cache.h"

#include <stdlib.h>
#include <string.h>

/* One kept copy and all it holds. */
void imap_cache_free_one(struct imap_cached *c)
{
	if (!c)
		return;
	for (uint32_t i = 0; i < c->n; i++)
		kwset_free(&c->msgs[i].keywords);
	for (unsigned k = 0; k < c->nkeywords; k++)
		free(c->keywords[k]);
	free(c->keywords);
	free(c->msgs);
	free(c->path);
	free(c);
}

/* Unlink the copy kept for path. */
struct imap_cached *imap_cache_take(struct mail_session *s, const char *path)
{
	for (struct imap_cached **p = &s->imap_cache; *p; p = &(*p)->next)
		if (!strcmp((*p)->path, path)) {
			struct imap_cached *c = *p;
			*p = c->next;
			c->next = NULL;
			return c;
		}
	return NULL;
}

/* Copy the plain fields of box's messages, newest copy first in the list. */
void imap_cache_put(struct mail_session *s, const struct mailbox *box, uint64_t modseq)
{
	struct imap_cached *c = xcalloc(1, sizeof *c);

	imap_cache_free_one(imap_cache_take(s, box->path));
	c->path = xstrdup(box->path);
	c->uidvalidity = box->uidvalidity;
	c->modseq = modseq;
	c->n = box->nmsgs;
	c->msgs = xcalloc(box->nmsgs + 1, sizeof *c->msgs);
	for (uint32_t i = 0; i < box->nmsgs; i++) {
		const struct message *m = box->msgs[i];
		c->msgs[i].uid = m->uid;
		c->msgs[i].flags = m->flags & ~MF_RECENT;   /* \Recent was this session's */
		kwset_from_low(&c->msgs[i].keywords, kwset_low(&m->keywords));
		c->msgs[i].internal_date = m->internal_date;
		c->msgs[i].tz_minutes = m->tz_minutes;
		c->msgs[i].size = m->size;
	}
	c->nkeywords = box->nkeywords;
	c->keywords = xcalloc(box->nkeywords + 1, sizeof *c->keywords);
	for (unsigned k = 0; k < box->nkeywords; k++)
		c->keywords[k] = xstrdup(box->keywords[k]);
	c->next = s->imap_cache;
	s->imap_cache = c;
}

/* Every copy the session kept. */
void imap_cache_free(struct mail_session *s)
{
	while (s->imap_cache) {
		struct imap_cached *c = s->imap_cache;
		s->imap_cache = c->next;
		imap_cache_free_one(c);
	}
}
