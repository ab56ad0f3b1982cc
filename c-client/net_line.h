/* net_line.h: a connection to a line-based server (POP3, NNTP) from the
 * client side: one command line out, one status line in, and the
 * dot-terminated blocks both protocols use for multi-line answers, read
 * within bounds so a hostile server costs no more than we allow. */
#ifndef CCLIENT_NET_LINE_H
#define CCLIENT_NET_LINE_H

#include <stdarg.h>
#include "io.h"
#include "net.h"

/* Longest status or block line we take (the RFCs say 512; servers and
 * long headers go past it). */
#define NET_LINE_MAX 65536
#define NET_LINE_TIMEOUT 120

struct net_line {
	struct io io;
	int fd;
	int loopback;
	int broken;               /* the connection is gone or unusable */
	struct net_name nm;
	const struct mail_client *cl;
	struct buf line;          /* the last status line, NUL-terminated */
};

/* Connect (TLS at once for /ssl); the caller reads the greeting. */
int net_line_open(struct net_line *c, const struct net_name *nm, const struct mail_client *cl,
		  struct mail_err *err);
/* Close (TLS shut down) without a word to the server. */
void net_line_close(struct net_line *c);
/* Send one command line (printf, no CRLF). secret: the line holds
 * credentials, and the trace shows only its first secret words and
 * "<credentials>". -1 with err if the link is broken. */
int net_line_send(struct net_line *c, int secret, struct mail_err *err, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
/* net_line_send with the arguments as a va_list. */
int net_line_vsend(struct net_line *c, int secret, struct mail_err *err, const char *fmt,
		   va_list ap);
/* Read one line into c->line. */
int net_line_read(struct net_line *c, struct mail_err *err);
/* Read a dot-terminated block (RFC 1939 3, RFC 3977 3.1.1): each line
 * un-stuffed and ended by CRLF, appended to out, at most max bytes. */
int net_line_block(struct net_line *c, struct buf *out, size_t max, struct mail_err *err);
/* Read a block as net_line_block and call fn on each line (NUL-ended,
 * without CRLF; fn may change it). */
int net_line_each(struct net_line *c, size_t max, void (*fn)(void *ctx, char *line), void *ctx,
		  struct mail_err *err);
/* A note of the client's in the /debug trace, shown as "<note>". */
void net_line_note(struct net_line *c, const char *note);
/* Start TLS on the connection (after the server agreed to STLS/STARTTLS). */
int net_line_tls(struct net_line *c, struct mail_err *err);
/* For a driver's fetch: r (the fetch's result) and, when 0, the text in b
 * (header: only through its blank line), valid while b is. */
int net_line_text(int r, const struct buf *b, int header, const char **text, size_t *len);
/* The driver calls a read-mostly server has no command for: the error
 * names the server's service ("{host/pop3}x: a POP3 server cannot ..."). */
int net_ro_append(struct mail_session *s, const char *path, const struct mail_new *msgs,
		  size_t n, uint32_t *uidvalidity_out, uint32_t *uids_out, struct mail_err *err);
int net_ro_create(struct mail_session *s, const char *path, struct mail_err *err);
int net_ro_remove(struct mail_session *s, const char *path, struct mail_err *err);
int net_ro_rename(struct mail_session *s, const char *from, const char *to,
		  struct mail_err *err);
/* Mark the connection unusable; -1 with err "host: why". */
int net_line_fail(struct net_line *c, struct mail_err *err, const char *why);

#endif
