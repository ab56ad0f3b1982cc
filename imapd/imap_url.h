/* imap_url.h: reading the message part an IMAP URL names (RFC 5092), for
 * APPEND's CATENATE (RFC 4469) and URLAUTH's URLFETCH (RFC 4467), and the
 * URLAUTH commands (cmd_urlauth.c). */
#ifndef IMAPD_IMAP_URL_H
#define IMAPD_IMAP_URL_H

#include "imapd.h"
#include "imapurl.h"

/* How a URL is being used: CATENATE takes the user's own mailboxes (and
 * an authorized URL); URLFETCH only an authorized URL. */
enum url_use { URL_CATENATE, URL_FETCH };

/* The bytes the URL names, copied into the command's pool; 0, or -1 with
 * err saying why the URL names nothing this user may read. */
int imap_url_read(struct client *c, const struct imapurl *u, enum url_use use,
		  const char **text, size_t *len, struct mail_err *err);

/* privsep_url_fn for another user's URL: runs in the worker, as the owner
 * (privsep_url.c); 0 with the bytes in out, -1 for NIL. */
int imap_url_worker(const struct config *cfg, const struct auth_user *owner,
		    const char *requester, const char *url, size_t len, size_t max,
		    struct buf *out);

/* FETCH's "[" section "]" parser (cmd_fetch.c); label gets "BODY[...]". */
int imap_parse_section(struct parser *p, struct section *sec, struct buf *label);

cmd_fn cmd_genurlauth, cmd_resetkey, cmd_urlfetch;

#endif
