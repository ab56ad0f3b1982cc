/* net_line.c: the line-based client connection POP3 and NNTP share:
 * connect, commands out, status lines and dot-terminated blocks in, the
 * /debug trace with credentials hidden, and TLS upgrades. */
#include "net_line.h"
#include "tls_client.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

/* /debug: one line to the program's trace hook. */
static void trace(struct net_line *c, int out, const char *p, size_t n)
{
	if (c->nm.debug && c->cl && c->cl->trace)
		c->cl->trace(c->cl->ctx, &c->nm, out, p, n);
}

int net_line_fail(struct net_line *c, struct mail_err *err, const char *why)
{
	c->broken = 1;
	mail_err_set(err, MAIL_FAIL, "%s: %s", c->nm.host, why);
	return -1;
}

int net_line_open(struct net_line *c, const struct net_name *nm, const struct mail_client *cl,
		  struct mail_err *err)
{
	memset(c, 0, sizeof *c);
	c->nm = *nm;
	c->nm.mailbox = NULL;   /* points into the caller's name */
	c->nm.debug |= cl && cl->debug;
	c->cl = cl;
	buf_init(&c->line);
	c->fd = net_open(&c->nm, cl, NET_LINE_TIMEOUT, &c->io, &c->loopback, err);
	c->broken = c->fd < 0;
	return c->fd < 0 ? -1 : 0;
}

void net_line_close(struct net_line *c)
{
	tls_client_end(&c->io);
	if (c->fd >= 0) {
		buf_free(&c->io.wbuf);
		close(c->fd);
	}
	c->fd = -1;
	c->broken = 1;
	buf_free(&c->line);
}

int net_line_send(struct net_line *c, int secret, struct mail_err *err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	int r = net_line_vsend(c, secret, err, fmt, ap);
	va_end(ap);
	return r;
}

int net_line_vsend(struct net_line *c, int secret, struct mail_err *err, const char *fmt,
		   va_list ap)
{
	struct buf b;

	if (c->broken)
		return net_line_fail(c, err, "connection lost");
	buf_init(&b);
	buf_vprintf(&b, fmt, ap);
	if (memchr(b.data, '\r', b.len) || memchr(b.data, '\n', b.len) || strlen(b.data) != b.len) {
		/* a user name or group from the program must not add a command */
		explicit_bzero(b.data, b.len);
		buf_free(&b);
		mail_err_set(err, MAIL_BADNAME, "%s: a line break or NUL in a command", c->nm.host);
		return -1;
	}
	if (secret) {
		size_t end = 0;
		for (int w = 0; w < secret && end < b.len; w++)
			end += (end > 0) + strcspn(b.data + end + (end > 0), " ");
		char shown[64];
		snprintf(shown, sizeof shown, "%.*s <credentials>", (int)(end < 32 ? end : 32),
			 b.data);
		trace(c, 1, shown, strlen(shown));
	} else {
		trace(c, 1, b.data, b.len);
	}
	buf_puts(&b, "\r\n");
	io_write(&c->io, b.data, b.len);
	explicit_bzero(b.data, b.len);
	buf_free(&b);
	if (io_flush(&c->io) < 0)
		return net_line_fail(c, err, "connection broken while sending");
	return 0;
}

static const char *io_why(enum io_status st)
{
	return st == IO_TIMEOUT ? "server not answering (timeout)" :
	       st == IO_TOOLONG ? "response line too long" :
	       st == IO_EOF ? "connection closed by the server" : "connection broken";
}

int net_line_read(struct net_line *c, struct mail_err *err)
{
	if (c->broken)
		return net_line_fail(c, err, "connection lost");
	buf_reset(&c->line);
	enum io_status st = io_readline(&c->io, &c->line, NET_LINE_MAX);
	if (st != IO_OK)
		return net_line_fail(c, err, io_why(st));
	buf_putc(&c->line, '\0');
	c->line.len--;
	trace(c, 0, c->line.data, c->line.len);
	return 0;
}

int net_line_block(struct net_line *c, struct buf *out, size_t max, struct mail_err *err)
{
	struct buf l;
	size_t start = out->len;
	int r = -1;

	buf_init(&l);
	for (;;) {
		buf_reset(&l);
		enum io_status st = io_readline(&c->io, &l, NET_LINE_MAX);
		if (st != IO_OK) {
			net_line_fail(c, err, io_why(st));
			break;
		}
		if (l.len == 1 && l.data[0] == '.') {
			r = 0;
			break;
		}
		size_t skip = l.len && l.data[0] == '.';   /* "..x" was ".x" */
		if (out->len - start + l.len + 2 > max) {
			net_line_fail(c, err, "answer larger than we accept");
			break;
		}
		if (l.len > skip)
			buf_append(out, l.data + skip, l.len - skip);
		buf_puts(out, "\r\n");
	}
	buf_free(&l);
	if (r == 0 && c->nm.debug) {
		char note[64];
		snprintf(note, sizeof note, "<%zu octets>", out->len - start);
		trace(c, 0, note, strlen(note));
	}
	return r;
}

/* See net_line.h. */
void net_line_note(struct net_line *c, const char *note)
{
	char l[256];

	snprintf(l, sizeof l, "<%s>", note);
	trace(c, 0, l, strlen(l));
}

int net_line_each(struct net_line *c, size_t max, void (*fn)(void *ctx, char *line), void *ctx,
		  struct mail_err *err)
{
	struct buf b;

	buf_init(&b);
	int r = net_line_block(c, &b, max, err);
	for (char *l = b.data, *e; r == 0 && l && l < b.data + b.len; l = e + 2) {
		e = memmem(l, (size_t)(b.data + b.len - l), "\r\n", 2);   /* every line has one */
		*e = '\0';
		fn(ctx, l);
	}
	buf_free(&b);
	return r;
}

int net_line_tls(struct net_line *c, struct mail_err *err)
{
	struct tls_client_opts o = {c->nm.host, c->nm.novalidate, c->cl ? c->cl->cafile : NULL};

	if (tls_client_start(&c->io, &o, err) < 0) {
		c->broken = 1;
		return -1;
	}
	return 0;
}

int net_line_text(int r, const struct buf *b, int header, const char **text, size_t *len)
{
	if (r < 0)
		return -1;
	*text = b->data ? b->data : "";
	*len = header ? rfc822_header_len(*text, b->len) : b->len;
	return 0;
}

/* "path: a POP3 server cannot what". */
static int refuse(const char *path, const char *what, struct mail_err *err)
{
	struct net_name nm;
	char svc[sizeof nm.service];

	if (net_name_parse(path, &nm, err) < 0)
		return -1;
	for (size_t i = 0; i < sizeof svc; i++)
		svc[i] = (char)toupper((unsigned char)nm.service[i]);
	mail_err_set(err, MAIL_FAIL, "%s: a%s %s server cannot %s", path, svc[0] == 'N' ? "n" : "",
		     svc, what);
	return -1;
}

int net_ro_append(struct mail_session *s, const char *path, const struct mail_new *msgs,
		  size_t n, uint32_t *uidvalidity_out, uint32_t *uids_out, struct mail_err *err)
{
	return refuse(path, "take new messages", err);
}

int net_ro_create(struct mail_session *s, const char *path, struct mail_err *err)
{
	return refuse(path, "create mailboxes", err);
}

int net_ro_remove(struct mail_session *s, const char *path, struct mail_err *err)
{
	return refuse(path, "delete mailboxes", err);
}

int net_ro_rename(struct mail_session *s, const char *from, const char *to,
		  struct mail_err *err)
{
	return refuse(from, "rename mailboxes", err);
}
