/* notify.h: what cmd_notify.c (message events) and notify_names.c
 * (MailboxName, SubscriptionChange, the METADATA ones: RFC 5465 5.4, 5.5,
 * 5.7, 5.8) share: the event
 * bits of a NOTIFY SET and the filters the name events are matched by. */
#ifndef IMAPD_NOTIFY_H
#define IMAPD_NOTIFY_H

#include "imapd.h"

enum {
	EV_NEW = 1, EV_EXPUNGE = 2, EV_FLAGS = 4, EV_UNSUPPORTED = 8,
	EV_NAME = 16,             /* MailboxName */
	EV_SUBS = 32,             /* SubscriptionChange */
	EV_BOXMETA = 64,          /* MailboxMetadataChange */
	EV_SRVMETA = 128,         /* ServerMetadataChange */
};
#define EV_MESSAGES (EV_NEW | EV_EXPUNGE | EV_FLAGS)
#define EV_META (EV_BOXMETA | EV_SRVMETA)
/* what notify_names.c tells: names, subscriptions, METADATA entries */
#define EV_NAMES (EV_NAME | EV_SUBS | EV_META)

/* A filter's reach over names (RFC 5465 6.1). */
enum notify_scope {
	NS_SELECTED, NS_INBOXES, NS_PERSONAL, NS_SUBSCRIBED, NS_SUBTREE, NS_MAILBOXES,
};

struct notify_names;

struct notify_names *notify_names_new(void);
/* One filter's name events; name for SUBTREE and MAILBOXES, else NULL. */
void notify_names_add(struct notify_names *nn, enum notify_scope scope, const char *name,
		      unsigned events);
/* Start watching the names when any filter asked for name events. */
void notify_names_start(struct client *c, struct notify_names *nn);
/* The descriptor to poll, -1 when nothing is watched. */
int notify_names_fd(const struct notify_names *nn);
/* The watch woke: send the LIST responses the filters ask for. */
void notify_names_check(struct client *c, struct notify_names *nn);
void notify_names_free(struct notify_names *nn);
/* cmd_notify.c: a mailbox the message filters reach was deleted or renamed
 * away (gone) or made or renamed into them (made, with their events ev):
 * its watch goes or comes. */
void notify_box_follow(struct client *c, const char *gone, const char *made, unsigned ev);

#endif
