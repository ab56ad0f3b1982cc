/* mail_names.h: watching the user's mailbox names and subscriptions for
 * NOTIFY's MailboxName and SubscriptionChange events (RFC 5465 5.4, 5.5),
 * whoever makes the change: another session, mailutil, a shell. */
#ifndef CCLIENT_MAIL_NAMES_H
#define CCLIENT_MAIL_NAMES_H

#include "mail_api.h"

enum mail_name_what {
	MAIL_NAME_CREATED,        /* a new name (attrs: its LIST attributes) */
	MAIL_NAME_DELETED,        /* gone */
	MAIL_NAME_RENAMED,        /* the same mailbox under a new name (oldname) */
	MAIL_NAME_ATTRS,          /* the same name with other LIST attributes */
	MAIL_NAME_SUBSCRIBED,
	MAIL_NAME_UNSUBSCRIBED,
};

struct mail_name_change {
	enum mail_name_what what;
	const char *name, *oldname;
	int attrs;                /* LA_*, LA_NONEXISTENT when the name is gone */
	int subscribed;           /* subscribed before or after the change */
};

typedef void (*mail_names_fn)(void *ctx, const struct mail_name_change *ch);

struct mail_names;

/* Take the names and subscriptions as they are now and watch the
 * directories holding them; NULL with err when inotify is unavailable. */
struct mail_names *mail_names_watch(struct mail_session *s, struct mail_err *err);
/* The descriptor to poll: readable when something may have changed. */
int mail_names_fd(const struct mail_names *w);
/* Read the watch (waiting briefly for a burst of events to end, so a
 * mailbox being made is seen whole); when names may have changed, list
 * them again and call fn once per difference, renames paired by inode.
 * Returns the number of differences. */
int mail_names_changed(struct mail_session *s, struct mail_names *w, mail_names_fn fn, void *ctx);
void mail_names_free(struct mail_names *w);

#endif
