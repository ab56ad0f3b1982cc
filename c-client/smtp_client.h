/* smtp_client.h: sending mail as a client of an SMTP or submission server
 * (RFC 5321/6409): EHLO, STARTTLS whenever offered (a password never goes
 * in clear), AUTH through the SASL module, 8BITMIME and SMTPUTF8 when
 * offered, the message dot-stuffed. The classic smtp_open/smtp_mail sit
 * on this. */
#ifndef CCLIENT_SMTP_CLIENT_H
#define CCLIENT_SMTP_CLIENT_H

#include <stddef.h>

#include "net.h"
#include "smtp_dsn.h"

struct smtp_conn;

/* A server as classic smtp_open names it: "host[:port][/flag...]", no
 * braces; the flags of net.h plus /submit (submission, port 587). */
int smtp_name_parse(const char *spec, struct net_name *n, struct mail_err *err);

/* Connect to nm (port: given, else 465 with /ssl, 587 for /submit,
 * else 25), greet, secure, and log in when the name
 * has /user= or the server requires it. NULL with err. */
struct smtp_conn *smtp_connect(const struct net_name *nm, const struct mail_client *cl,
			       const char *local_user, struct mail_err *err);
/* One message (its bytes, LF or CRLF lines) from one sender to n
 * recipients. 0, or -1 with err naming the step and the server's reply. */
int smtp_send(struct smtp_conn *c, const char *from, const char *const *to, size_t n,
	      const char *msg, size_t len, struct mail_err *err);
/* Ask for DSNs (RFC 3461) on the messages sent from now on (NULL: stop
 * asking); the strings dsn points to must outlive those sends. A server that does
 * not offer DSN gets no DSN parameters. */
void smtp_set_dsn(struct smtp_conn *c, const struct smtp_dsn *dsn);
/* Did the server offer DSN in its EHLO? */
int smtp_offers_dsn(const struct smtp_conn *c);
/* The last reply's code (0: none came) and its last line in *line. */
int smtp_last_reply(const struct smtp_conn *c, const char **line);
/* QUIT (when still possible) and free. */
void smtp_disconnect(struct smtp_conn *c);

#endif
