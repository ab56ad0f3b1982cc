/* imap_client.c: an IMAP connection from the client side. Responses are
 * gathered within bounds (IMAP_CLIENT_LINE_MAX per line, LITERAL_MAX of
 * literals) and parsed by imap_resp.c; a password leaves this process only
 * over TLS, or in clear to a server on this machine when /notls says so. */
#include "imap_client.h"
#include "mutf7.h"
#include "sasl_client.h"
#include "tls_client.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

/* /debug: one line of the protocol to the program's trace hook. */
static void trace(struct imap_conn *c, int out, const char *p, size_t n)
{
	if (c->nm.debug && c->cl && c->cl->trace)
		c->cl->trace(c->cl->ctx, &c->nm, out, p, n);
}

/* Send bytes of the current command; the trace gets each line whole,
 * credentials replaced. */
static void put(struct imap_conn *c, const char *p, size_t n)
{
	static const char hidden[] = "<credentials>";
	size_t hl = sizeof hidden - 1;

	io_write(&c->io, p, n);
	if (!c->nm.debug)
		return;
	if (!c->secret)
		buf_append(&c->tr, p, n);
	else if (c->tr.len < hl || memcmp(c->tr.data + c->tr.len - hl, hidden, hl))
		buf_append(&c->tr, hidden, hl);
	if (c->tr.len >= 2 && !memcmp(c->tr.data + c->tr.len - 2, "\r\n", 2)) {
		trace(c, 1, c->tr.data, c->tr.len - 2);
		buf_reset(&c->tr);
	}
}

/* put() of printf-formatted text. */
static void vput(struct imap_conn *c, const char *fmt, va_list ap)
{
	struct buf b;

	buf_init(&b);
	buf_vprintf(&b, fmt, ap);
	put(c, b.data, b.len);
	buf_free(&b);
}

void imap_cmd_text(struct imap_conn *c, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vput(c, fmt, ap);
	va_end(ap);
}

/* The tag of a new command; the last command's response code is gone. */
static void new_tag(struct imap_conn *c)
{
	char tag[16];
	struct mail_err ignore;

	if (c->idling && imap_idle_end(c, &ignore) < 0)
		c->bye = 1;   /* the command that follows fails for it */

	c->resp_code = NULL;
	c->resp_args = NULL;
	snprintf(tag, sizeof tag, "A%04u ", ++c->tagno);
	put(c, tag, strlen(tag));
}

void imap_cmd_begin(struct imap_conn *c, const char *fmt, ...)
{
	va_list ap;

	new_tag(c);
	va_start(ap, fmt);
	vput(c, fmt, ap);
	va_end(ap);
}

/* Bit of one capability word. */
static unsigned cap_bit(const char *w)
{
	static const struct {
		const char *name;
		unsigned bit;
	} caps[] = {
		{"IMAP4REV1", IC_IMAP4REV1}, {"IMAP4REV2", IC_IMAP4REV2},
		{"STARTTLS", IC_STARTTLS}, {"LOGINDISABLED", IC_LOGINDISABLED},
		{"AUTH=PLAIN", IC_AUTH_PLAIN}, {"AUTH=LOGIN", IC_AUTH_LOGIN},
		{"SASL-IR", IC_SASL_IR}, {"LITERAL+", IC_LITERALPLUS},
		{"LITERAL-", IC_LITERALMINUS}, {"UIDPLUS", IC_UIDPLUS},
		{"MULTIAPPEND", IC_MULTIAPPEND}, {"IDLE", IC_IDLE},
		{"AUTH=SCRAM-SHA-256", IC_AUTH_SCRAM256}, {"AUTH=XOAUTH2", IC_AUTH_XOAUTH2},
		{"AUTH=OAUTHBEARER", IC_AUTH_OAUTHBEARER},
		{"SORT", IC_SORT}, {"SORT=DISPLAY", IC_SORT_DISPLAY},
		{"THREAD=ORDEREDSUBJECT", IC_THREAD_ORDEREDSUBJECT},
		{"THREAD=REFERENCES", IC_THREAD_REFERENCES}, {"THREAD=REFS", IC_THREAD_REFS},
		{"WITHIN", IC_WITHIN}, {"QRESYNC", IC_QRESYNC}, {"ENABLE", IC_ENABLE},
	};

	for (size_t i = 0; i < ARRAY_SIZE(caps); i++)
		if (!strcasecmp(w, caps[i].name))
			return caps[i].bit;
	return 0;
}

static void caps_from(struct imap_conn *c, const struct imap_item *it)
{
	c->caps = 0;
	for (; it; it = it->next)
		if (it->type == II_ATOM)
			c->caps |= cap_bit(it->s);
	/* a server of both revisions may keep them for rev2 sessions */
	if (c->rev2 || (c->caps & (IC_IMAP4REV1 | IC_IMAP4REV2)) == IC_IMAP4REV2)
		c->caps |= IC_REV2_BASE;
}

/* What every response may carry, whoever asked. */
static void resp_common(struct imap_conn *c, const struct imap_resp *r)
{
	if (r->kind == IR_UNTAGGED && imap_resp_is(r, "CAPABILITY"))
		caps_from(c, r->args);
	else if (r->code && !strcmp(r->code, "CAPABILITY"))
		caps_from(c, r->code_args);
	if (r->kind == IR_UNTAGGED && imap_resp_is(r, "BYE"))
		c->bye = 1;
}

/* The connection is unusable: say why, once. */
static int broken(struct imap_conn *c, struct mail_err *err, const char *why)
{
	c->bye = 1;
	mail_err_set(err, MAIL_FAIL, "%s: %s", c->nm.host, why);
	return -1;
}

static const char *io_why(enum io_status st)
{
	return st == IO_TIMEOUT ? "server not answering (timeout)" :
	       st == IO_TOOLONG ? "response line too long" :
	       st == IO_EOF ? "connection closed by the server" : "connection broken";
}

/* Gather one response (its lines and literals) into c->resp. */
static int read_raw(struct imap_conn *c, struct mail_err *err)
{
	uint64_t lits = 0, n;

	buf_reset(&c->resp);
	for (;;) {
		size_t start = c->resp.len;
		/* lines between literals ("{0}" after "{0}") count too */
		if (start > IMAP_CLIENT_LITERAL_MAX + (size_t)IMAP_CLIENT_LINE_MAX)
			return broken(c, err, "response larger than we accept");
		enum io_status st = io_readline(&c->io, &c->resp, IMAP_CLIENT_LINE_MAX);
		if (st != IO_OK)
			return broken(c, err, io_why(st));
		trace(c, 0, c->resp.data + start, c->resp.len - start);
		int lit = imap_resp_literal(c->resp.data + start, c->resp.len - start, &n);
		if (lit == 0)
			return 0;
		if (lit < 0 || n > IMAP_CLIENT_LITERAL_MAX - lits)
			return broken(c, err, "literal larger than we accept");
		lits += n;
		buf_puts(&c->resp, "\r\n");
		if ((st = io_read_exact(&c->io, &c->resp, (size_t)n)) != IO_OK)
			return broken(c, err, io_why(st));
	}
}

/* Read and parse one response into *r (valid until the next read). */
static int read_resp(struct imap_conn *c, struct imap_resp *r, struct mail_err *err)
{
	const char *why;

	if (c->bye)
		return broken(c, err, "connection closed");
	pool_clear(c->pool);
	if (read_raw(c, err) < 0)
		return -1;
	if (imap_resp_parse(c->pool, c->resp.data, c->resp.len, r, &why) < 0) {
		char msg[128];
		snprintf(msg, sizeof msg, "bad response from the server (%s)", why);
		return broken(c, err, msg);
	}
	resp_common(c, r);
	return 0;
}

/* Read up to our tagged response: 0 on OK, -1 with err; with want_more, a
 * continuation request returns 1 (the command goes on). */
static int await(struct imap_conn *c, imap_untagged_fn fn, void *ctx, int want_more,
		 struct mail_err *err)
{
	struct imap_resp r;
	char tag[16];

	imap_cmd_tag(c, tag, sizeof tag);
	if (io_flush(&c->io) < 0)
		return broken(c, err, "connection broken while sending");
	for (;;) {
		if (read_resp(c, &r, err) < 0)
			return -1;
		if (r.kind == IR_CONTINUE) {
			c->resp_text = r.text;
			if (want_more)
				return 1;
			return broken(c, err, "unexpected continuation request");
		}
		if (r.kind == IR_UNTAGGED) {
			if (fn)
				fn(ctx, &r);
			continue;
		}
		if (strcmp(r.tag, tag))
			return broken(c, err, "response with a tag we did not send");
		c->resp_code = r.code;
		c->resp_args = r.code_args;
		if (imap_resp_is(&r, "OK"))
			return 0;
		mail_err_set(err, r.code && !strcmp(r.code, "TRYCREATE") ? MAIL_NONEXISTENT : MAIL_FAIL,
			     "%s", r.text && *r.text ? r.text : r.name);
		return -1;
	}
}

int imap_cmd_end(struct imap_conn *c, imap_untagged_fn fn, void *ctx, struct mail_err *err)
{
	put(c, "\r\n", 2);
	return await(c, fn, ctx, 0, err);
}

int imap_cmd(struct imap_conn *c, imap_untagged_fn fn, void *ctx, struct mail_err *err,
	     const char *fmt, ...)
{
	va_list ap;

	new_tag(c);
	va_start(ap, fmt);
	vput(c, fmt, ap);
	va_end(ap);
	return imap_cmd_end(c, fn, ctx, err);
}

/* IDLE, waiting for the server's "+" (imap_client.h). */
int imap_idle_begin(struct imap_conn *c, imap_untagged_fn fn, void *ctx, struct mail_err *err)
{
	if (c->idling)
		return 0;
	if (!(c->caps & IC_IDLE) || c->bye)
		return 1;
	new_tag(c);
	put(c, "IDLE\r\n", 6);
	int r = await(c, fn, ctx, 1, err);
	if (r != 1)
		return r < 0 && c->bye ? -1 : 1;
	c->idling = 1;
	c->idle_fn = fn;
	c->idle_ctx = ctx;
	return 0;
}

/* DONE, then IDLE's tagged response. */
int imap_idle_end(struct imap_conn *c, struct mail_err *err)
{
	if (!c->idling)
		return 0;
	c->idling = 0;
	put(c, "DONE\r\n", 6);
	return await(c, c->idle_fn, c->idle_ctx, 0, err);
}

/* Bytes in our buffer or the TLS layer's. */
int imap_input_pending(const struct imap_conn *c)
{
	const struct io *io = &c->io;

	return io->rpos < io->rlen || (io->tr && io->tr->pending && io->tr->pending(io->trctx) > 0);
}

int imap_cmd_literal(struct imap_conn *c, const char *s, size_t len, struct mail_err *err)
{
	int plus = (c->caps & IC_LITERALPLUS) || ((c->caps & IC_LITERALMINUS) && len <= 4096);
	char head[32];

	snprintf(head, sizeof head, "{%zu%s}\r\n", len, plus ? "+" : "");
	put(c, head, strlen(head));
	int r = plus ? 1 : await(c, NULL, NULL, 1, err);
	if (r == 0)
		broken(c, err, "the server ended the command before its literal");
	if (r != 1)
		return -1;
	io_write(&c->io, s, len);
	snprintf(head, sizeof head, "<%zu octets>", len);
	buf_puts(&c->tr, head);
	return 0;
}

int imap_cmd_string(struct imap_conn *c, const char *s, size_t len, struct mail_err *err)
{
	int quotable = len < 1000;

	for (size_t i = 0; quotable && i < len; i++)
		if (!s[i] || s[i] == '\r' || s[i] == '\n' || (unsigned char)s[i] >= 0x80)
			quotable = 0;
	if (!quotable)
		return imap_cmd_literal(c, s, len, err);
	put(c, "\"", 1);
	for (size_t i = 0; i < len; i++) {
		if (s[i] == '"' || s[i] == '\\')
			put(c, "\\", 1);
		put(c, s + i, 1);
	}
	put(c, "\"", 1);
	return 0;
}

void imap_cmd_tag(const struct imap_conn *c, char *out, size_t size)
{
	snprintf(out, size, "A%04u", c->tagno);
}

int imap_cmd_mailbox(struct imap_conn *c, const char *name, struct mail_err *err)
{
	/* a name that is not modified UTF-7 was never encoded: it goes as given */
	char *u8 = c->rev2 ? mutf7_to_utf8(name, strlen(name)) : NULL;
	int r = imap_cmd_string(c, u8 ? u8 : name, strlen(u8 ? u8 : name), err);

	free(u8);
	return r;
}

char *imap_name_local(const struct imap_conn *c, const char *name, size_t len)
{
	return c->rev2 ? mutf7_from_utf8(name, len) : xstrdup(name);
}

/* Send one SASL response (base64, "=" for an empty initial one), not traced. */
static void sasl_put(struct imap_conn *c, const struct buf *b64, int initial)
{
	c->secret = 1;
	if (initial && !b64->len)
		put(c, "=", 1);
	else
		put(c, b64->data ? b64->data : "", b64->len);
	c->secret = 0;
}

/* AUTHENTICATE with mechanism m (the initial response inline where the
 * server takes SASL-IR); each challenge answered until the tagged
 * response, one we cannot answer cancelled ("*") with our reason kept. */
static int authenticate(struct imap_conn *c, enum sasl_cmech m, const struct sasl_client_id *id,
			struct mail_err *err)
{
	struct sasl_client s;
	struct mail_err ours = {0};
	struct buf b64;
	int ir = (c->caps & IC_SASL_IR) && sasl_client_has_initial(m), r;

	if (sasl_client_begin(&s, m, id, err) < 0)
		return -1;
	buf_init(&b64);
	imap_cmd_begin(c, "AUTHENTICATE %s%s", sasl_client_name(m), ir ? " " : "");
	if (ir) {
		sasl_client_answer(&s, NULL, &b64, &ours);
		sasl_put(c, &b64, 1);
	}
	put(c, "\r\n", 2);
	while ((r = await(c, NULL, NULL, 1, err)) == 1) {
		if (sasl_client_answer(&s, c->resp_text ? c->resp_text : "", &b64, &ours) < 0)
			put(c, "*", 1);
		else
			sasl_put(c, &b64, 0);
		put(c, "\r\n", 2);
	}
	r = sasl_client_outcome(&s, r, &ours, err);
	if (r < 0 && sasl_client_server_error(&s)[0] && !c->bye) {
		char why[sizeof err->text];
		str_copy(why, err->text, sizeof why);
		mail_err_set(err, MAIL_FAIL, "%s (%s)", why, sasl_client_server_error(&s));
	}
	if (b64.data)
		explicit_bzero(b64.data, b64.len);
	buf_free(&b64);
	sasl_client_end(&s);
	return r;
}

/* The LOGIN command. */
static int cmd_login(struct imap_conn *c, const char *user, const char *pw, struct mail_err *err)
{
	imap_cmd_begin(c, "LOGIN ");
	c->secret = 1;
	int r = imap_cmd_string(c, user, strlen(user), err);
	put(c, " ", 1);
	if (r == 0)
		r = imap_cmd_string(c, pw, strlen(pw), err);
	c->secret = 0;
	return r < 0 ? -1 : imap_cmd_end(c, NULL, NULL, err);
}

/* The SASL mechanisms among the capabilities. */
static unsigned sasl_offered(const struct imap_conn *c)
{
	return (c->caps & IC_AUTH_PLAIN ? 1u << SASLC_PLAIN : 0) |
	       (c->caps & IC_AUTH_LOGIN ? 1u << SASLC_LOGIN : 0) |
	       (c->caps & IC_AUTH_SCRAM256 ? 1u << SASLC_SCRAM_SHA256 : 0) |
	       (c->caps & IC_AUTH_XOAUTH2 ? 1u << SASLC_XOAUTH2 : 0) |
	       (c->caps & IC_AUTH_OAUTHBEARER ? 1u << SASLC_OAUTHBEARER : 0);
}

/* Pick a method the server offers (the strongest, unless the name says)
 * and log in. */
static int login(struct imap_conn *c, const char *local_user, struct mail_err *err)
{
	char user[NET_USER_MAX], pw[4096];
	const char *authc = c->nm.authuser[0] ? c->nm.authuser : user;
	unsigned offered = sasl_offered(c);
	int r;

	if (net_password(&c->nm, c->cl, local_user, user, sizeof user, pw, sizeof pw, err) < 0)
		return -1;
	struct sasl_client_id id = {c->nm.authuser[0] ? user : "", authc, pw, c->nm.host,
				    c->nm.port ? c->nm.port : c->nm.ssl ? 993 : 143};
	if (c->nm.authuser[0] && !c->nm.auth[0])
		offered |= 1u << SASLC_PLAIN;   /* only PLAIN carries both names */
	/* the LOGIN command beats the LOGIN mechanism, not PLAIN or SCRAM */
	if (!c->nm.auth[0] && !c->nm.authuser[0] && !(c->caps & IC_LOGINDISABLED) &&
	    !(offered & (1u << SASLC_PLAIN | 1u << SASLC_SCRAM_SHA256)))
		r = cmd_login(c, user, pw, err);
	else if ((r = sasl_client_choose(offered, c->nm.auth, c->nm.authuser[0], c->nm.host,
					 err)) >= 0)
		r = authenticate(c, (enum sasl_cmech)r, &id, err);
	else
		c->bye = 1;
	explicit_bzero(pw, sizeof pw);
	if (r < 0 && !c->bye) {
		char why[sizeof err->text];
		str_copy(why, err->text, sizeof why);
		mail_err_set(err, MAIL_FAIL, "login to %s as %s failed: %s", c->nm.host, user, why);
	}
	return r;
}

/* Is it safe to send a password now? Start TLS where we should. */
static int secure(struct imap_conn *c, int loopback, struct mail_err *err)
{
	struct tls_client_opts o = {c->nm.host, c->nm.novalidate, c->cl ? c->cl->cafile : NULL};

	if (tls_client_active(&c->io))
		return 0;
	if (!c->nm.notls && (c->caps & IC_STARTTLS)) {
		if (imap_cmd(c, NULL, NULL, err, "STARTTLS") < 0 ||
		    tls_client_start(&c->io, &o, err) < 0) {
			c->bye = 1;
			return -1;
		}
		c->caps = 0;   /* what was said in clear may have been forged */
		return imap_cmd(c, NULL, NULL, err, "CAPABILITY");
	}
	return net_clear_ok(&c->nm, loopback, "STARTTLS", err);
}

/* ENABLE's answer: which of what we asked the server turned on. */
static void on_enabled(void *ctx, const struct imap_resp *r)
{
	struct imap_conn *c = ctx;

	if (r->kind != IR_UNTAGGED || !imap_resp_is(r, "ENABLED"))
		return;
	for (const struct imap_item *it = r->args; it; it = it->next)
		if (imap_item_text(it) && !strcasecmp(it->s, "IMAP4rev2"))
			c->rev2 = 1;
}

/* Once logged in: IMAP4rev2 where the server has nothing else, or where
 * the name asks for it (/imap4rev2). A server of both revisions is kept on
 * IMAP4rev1 otherwise: rev2 has no \Recent, so the classic programs'
 * recent counts (mailutil check, imap_num_recent) would all read 0. A
 * server of IMAP4rev2 alone speaks it whatever ENABLE answers. */
static int enable_rev2(struct imap_conn *c, struct mail_err *err)
{
	if (!(c->caps & IC_IMAP4REV2) || ((c->caps & IC_IMAP4REV1) && !c->nm.rev2))
		return 0;
	if (imap_cmd(c, on_enabled, c, err, "ENABLE IMAP4rev2") < 0 && c->bye)
		return -1;
	c->rev2 |= !(c->caps & IC_IMAP4REV1);
	if (c->rev2)
		c->caps |= IC_REV2_BASE;
	return 0;
}

/* The greeting: 1 PREAUTH, 0 OK, -1 BYE or garbage. */
static int greeting(struct imap_conn *c, struct mail_err *err)
{
	struct imap_resp r;

	if (read_resp(c, &r, err) < 0)
		return -1;
	if (r.kind == IR_UNTAGGED && imap_resp_is(&r, "OK"))
		return 0;
	if (r.kind == IR_UNTAGGED && imap_resp_is(&r, "PREAUTH"))
		return 1;
	mail_err_set(err, MAIL_FAIL, "%s refused the connection: %s", c->nm.host,
		     r.text ? r.text : "not an IMAP greeting");
	return -1;
}

static int start(struct imap_conn *c, const char *local_user, struct mail_err *err)
{
	int loopback = 0, pre;

	if ((c->fd = net_open(&c->nm, c->cl, IMAP_CLIENT_TIMEOUT, &c->io, &loopback, err)) < 0)
		return -1;
	if ((pre = greeting(c, err)) < 0)
		return -1;
	if (!c->caps && imap_cmd(c, NULL, NULL, err, "CAPABILITY") < 0)
		return -1;
	if (pre && !tls_client_active(&c->io) && (c->nm.tls || c->nm.secure)) {
		/* no STARTTLS once authenticated: the TLS asked for cannot be had */
		mail_err_set(err, MAIL_FAIL, "%s: PREAUTH in clear, but /tls or /secure asks for TLS",
			     c->nm.host);
		return -1;
	}
	if (pre)
		return enable_rev2(c, err);   /* no password will be sent */
	if (secure(c, loopback, err) < 0 || login(c, local_user, err) < 0)
		return -1;
	/* servers may change what they offer once logged in */
	if (!c->caps && imap_cmd(c, NULL, NULL, err, "CAPABILITY") < 0)
		return -1;
	return enable_rev2(c, err);
}

struct imap_conn *imap_connect(const struct net_name *nm, const struct mail_client *cl,
			       const char *local_user, struct mail_err *err)
{
	struct imap_conn *c = xcalloc(1, sizeof *c);

	c->fd = -1;
	c->nm = *nm;
	c->nm.mailbox = NULL;   /* points into the caller's name */
	c->cl = cl;
	c->nm.debug |= cl && cl->debug;
	c->pool = pool_new();
	buf_init(&c->resp);
	buf_init(&c->tr);
	if (start(c, local_user, err) < 0) {
		c->bye = 1;
		imap_disconnect(c);
		return NULL;
	}
	return c;
}

void imap_disconnect(struct imap_conn *c)
{
	struct mail_err ignore;

	if (!c)
		return;
	if (c->fd >= 0 && !c->bye && !c->io.failed)
		imap_cmd(c, NULL, NULL, &ignore, "LOGOUT");
	tls_client_end(&c->io);
	if (c->fd >= 0) {
		buf_free(&c->io.wbuf);
		close(c->fd);
	}
	pool_free(c->pool);
	buf_free(&c->resp);
	buf_free(&c->tr);
	free(c);
}
