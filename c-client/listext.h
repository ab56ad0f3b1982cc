/* listext.h: LIST with the options of LIST-EXTENDED (RFC 5258) and
 * SPECIAL-USE (RFC 6154): several patterns, the subscribed set as the
 * base, \Subscribed, \NonExistent, CHILDINFO and special-use attributes. */
#ifndef CCLIENT_LISTEXT_H
#define CCLIENT_LISTEXT_H

#include "mail_api.h"

enum {
	/* selection options */
	MAIL_LIST_SUBSCRIBED = 1 << 0,      /* the subscribed names, existing or not */
	MAIL_LIST_RECURSIVE = 1 << 1,       /* and parents of subscribed names: CHILDINFO */
	MAIL_LIST_SPECIAL = 1 << 2,         /* only mailboxes with a special use */
	/* return options */
	MAIL_LIST_RET_SUBSCRIBED = 1 << 3,  /* mark \Subscribed */
	MAIL_LIST_RET_CHILDREN = 1 << 4,    /* \HasChildren or \HasNoChildren on each */
	MAIL_LIST_RET_SPECIAL = 1 << 5,     /* the special-use attributes */
	/* the extended syntax: child and special-use attributes only when
	 * asked (RFC 5258 3, RFC 6154 2), as Dovecot answers */
	MAIL_LIST_EXTENDED = 1 << 6,
};

/* Report each mailbox matching one of the patterns (after ref, as LIST)
 * once with its LA_ attributes, INBOX first, special uses included. */
int mail_list_ext(struct mail_session *s, const char *ref, char *const *patterns, size_t npat,
		  unsigned opts, mail_list_fn fn, void *ctx, struct mail_err *err);

#endif
