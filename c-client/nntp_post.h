/* nntp_post.h: posting an article to an NNTP server (RFC 3977 6.3.1),
 * for the classic nntp_mail; the connection, TLS and login are the nntp
 * driver's. */
#ifndef CCLIENT_NNTP_POST_H
#define CCLIENT_NNTP_POST_H

#include "mail.h"

/* POST text (a whole article, CRLF lines) to the server that path names
 * ("{host[:port][/flags]/nntp}"): 0, or -1 with err (the server's
 * refusal, its code in err->text). */
int nntp_post(struct mail_session *s, const char *path, const char *text, size_t len,
	      struct mail_err *err);

#endif
