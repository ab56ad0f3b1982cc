/* smtp_dsn.h: Delivery Status Notifications (RFC 3461) asked of an SMTP
 * server: the RET and ENVID parameters of MAIL, NOTIFY and ORCPT of RCPT,
 * their values xtext-encoded. smtp_client.c adds them when the server
 * offers DSN. */
#ifndef CCLIENT_SMTP_DSN_H
#define CCLIENT_SMTP_DSN_H

#include "util.h"

enum { SMTP_NOTIFY_FAILURE = 1, SMTP_NOTIFY_DELAY = 2, SMTP_NOTIFY_SUCCESS = 4 };

struct smtp_dsn {
	int full;                  /* RET=FULL, else RET=HDRS */
	unsigned notify;           /* SMTP_NOTIFY_* bits; none: NOTIFY=NEVER */
	const char *envid;         /* NULL or "": no ENVID */
	const char *const *orcpt;  /* per recipient "type;address" or NULL; may be NULL */
};

/* RFC 3461 4's xtext of s appended to out: '+', '=', controls, spaces and
 * bytes above '~' as "+XX". */
void smtp_xtext(struct buf *out, const char *s);
/* " RET=... [ENVID=...]" for MAIL FROM. */
void smtp_dsn_mail(struct buf *out, const struct smtp_dsn *d);
/* " NOTIFY=...[ ORCPT=type;xtext]" for the RCPT TO of recipient i. */
void smtp_dsn_rcpt(struct buf *out, const struct smtp_dsn *d, size_t i);

#endif
