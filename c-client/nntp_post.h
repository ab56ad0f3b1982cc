/* nntp_post.h: posting articles to an NNTP server (RFC 3977 6.3.1) over
 * one connection, for the classic nntp_open/nntp_mail/nntp_close; the
 * connection, TLS and login are the nntp driver's. */
#ifndef CCLIENT_NNTP_POST_H
#define CCLIENT_NNTP_POST_H

#include "mail_api.h"

struct nntp_poster;

/* Connect to the server path names ("{host[:port][/flags]/nntp}"), at
 * port when it names none (0: the service's): the greeting, CAPABILITIES,
 * MODE READER, STARTTLS where offered (not with /notls, /ssl), AUTHINFO
 * with /user=. *post: does the server let us post? NULL with err. */
struct nntp_poster *nntp_poster_open(struct mail_session *s, const char *path, unsigned port,
				     int *post, struct mail_err *err);
/* POST text (a whole article, CRLF lines), logging in if the server asks:
 * 0, or -1 with err (the server's refusal, its code in err->text). */
int nntp_poster_post(struct nntp_poster *p, const char *text, size_t len, struct mail_err *err);
/* QUIT and free. */
void nntp_poster_close(struct nntp_poster *p);

#endif
