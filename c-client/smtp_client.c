/* smtp_client.c: an SMTP/submission client connection. Replies are read
 * whole (every "ddd-" line to the "ddd " one); EHLO's lines say what the
 * server offers; errors carry the step and the server's last reply line. */
#include "smtp_client.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "io.h"
#include "sasl_client.h"
#include "tls_client.h"

#define SMTP_TIMEOUT 300       /* RFC 5321 4.5.3.2 asks for minutes */
#define SMTP_LINE_MAX 4096

enum { SC_STARTTLS = 1, SC_8BITMIME = 2, SC_SMTPUTF8 = 4, SC_DSN = 8 };

struct smtp_conn {
	struct io io;
	int fd;
	struct net_name nm;
	const struct mail_client *cl;
	unsigned caps, sasl;       /* SC_* and 1 << enum sasl_cmech */
	int code;                  /* the last reply's code */
	int secret;                /* the line being sent is not traced */
	char last[512];            /* the last reply's last line */
	struct buf line;
	struct smtp_dsn dsn;       /* the DSNs asked for, when dsn_on */
	int dsn_on;
};

int smtp_name_parse(const char *spec, struct net_name *n, struct mail_err *err)
{
	struct buf b;
	int submit = 0;
	size_t hostlen = strcspn(spec, "/");

	buf_init(&b);
	buf_putc(&b, '{');
	buf_append(&b, spec, hostlen);
	for (const char *p = spec + hostlen; *p == '/';) {
		size_t len = strcspn(p + 1, "/");
		if (!str_casecmp_n(p + 1, len, "submit") ||
		    !str_casecmp_n(p + 1, len, "service=submission"))
			submit = 1;
		else if (str_casecmp_n(p + 1, len, "service=smtp"))
			buf_append(&b, p, len + 1);
		p += len + 1;
	}
	buf_putc(&b, '}');
	int r = net_name_parse(b.data, n, err);
	buf_free(&b);
	if (r == 0)
		str_copy(n->service, submit ? "submission" : "smtp", sizeof n->service);
	n->mailbox = NULL;
	return r;
}

/* Show a protocol line to the program's trace hook under /debug. */
static void trace(struct smtp_conn *c, int out, const char *p, size_t n)
{
	if (c->nm.debug && c->cl && c->cl->trace)
		c->cl->trace(c->cl->ctx, &c->nm, out, c->secret ? "<credentials>" : p,
			     c->secret ? 13 : n);
}

/* What one EHLO line offers. */
static void ehlo_line(struct smtp_conn *c, const char *kw)
{
	if (!strcasecmp(kw, "STARTTLS"))
		c->caps |= SC_STARTTLS;
	else if (!strcasecmp(kw, "8BITMIME"))
		c->caps |= SC_8BITMIME;
	else if (!strcasecmp(kw, "SMTPUTF8"))
		c->caps |= SC_SMTPUTF8;
	else if (!strcasecmp(kw, "DSN"))
		c->caps |= SC_DSN;
	else if (!strncasecmp(kw, "AUTH ", 5) || !strncasecmp(kw, "AUTH=", 5)) {
		for (const char *p = kw + 5; *p;) {
			size_t n = strcspn(p, " ");
			int m = sasl_client_find(p, n);
			if (m >= 0)
				c->sasl |= 1u << m;
			p += n + (p[n] == ' ');
		}
	}
}

/* Read one reply; its code in c->code, its last text in c->last. */
static int reply(struct smtp_conn *c, int ehlo, struct mail_err *err)
{
	c->code = 0;   /* no reply: no code a caller could loop on */
	for (;;) {
		buf_reset(&c->line);
		enum io_status st = io_readline(&c->io, &c->line, SMTP_LINE_MAX);
		if (st != IO_OK) {
			c->io.failed = 1;
			mail_err_set(err, MAIL_FAIL, "%s: %s", c->nm.host,
				     st == IO_TIMEOUT ? "server not answering (timeout)" :
				     "connection closed by the server");
			return -1;
		}
		const char *l = c->line.data;
		trace(c, 0, l, c->line.len);
		if (c->line.len < 3 || l[0] < '2' || l[0] > '5' || l[1] < '0' || l[1] > '9' ||
		    l[2] < '0' || l[2] > '9' || (l[3] && l[3] != ' ' && l[3] != '-')) {
			mail_err_set(err, MAIL_FAIL, "%s: not an SMTP reply: %.80s", c->nm.host, l);
			return -1;
		}
		c->code = (l[0] - '0') * 100 + (l[1] - '0') * 10 + (l[2] - '0');
		if (ehlo && l[3])
			ehlo_line(c, l + 4);
		str_copy(c->last, l, sizeof c->last);
		if (l[3] != '-')
			return 0;
	}
}

/* Send a command line; read the reply; -1 with err unless its code
 * starts with want. */
static int cmd(struct smtp_conn *c, int want, const char *step, struct mail_err *err,
	       const char *fmt, ...) __attribute__((format(printf, 5, 6)));
static int cmd(struct smtp_conn *c, int want, const char *step, struct mail_err *err,
	       const char *fmt, ...)
{
	struct buf b;
	va_list ap;

	buf_init(&b);
	va_start(ap, fmt);
	buf_vprintf(&b, fmt, ap);
	va_end(ap);
	trace(c, 1, b.data, b.len);
	buf_puts(&b, "\r\n");
	io_write(&c->io, b.data, b.len);
	explicit_bzero(b.data, b.len);
	buf_free(&b);
	if (io_flush(&c->io) < 0) {
		c->code = 0;
		mail_err_set(err, MAIL_FAIL, "%s: connection broken while sending", c->nm.host);
		return -1;
	}
	if (reply(c, !strcmp(step, "EHLO"), err) < 0)
		return -1;
	if (c->code / 100 == want)
		return 0;
	mail_err_set(err, MAIL_FAIL, "%s refused %s: %s", c->nm.host, step, c->last);
	return -1;
}

/* EHLO with this machine's name. */
static int ehlo(struct smtp_conn *c, struct mail_err *err)
{
	char host[256] = "localhost";

	gethostname(host, sizeof host - 1);
	c->caps = c->sasl = 0;
	return cmd(c, 2, "EHLO", err, "EHLO %s", host);
}

/* One AUTH exchange: 334 challenges answered until 235 or a refusal; one
 * we cannot answer is cancelled ("*") with our reason kept. */
static int auth_dialogue(struct smtp_conn *c, struct sasl_client *s, struct mail_err *err)
{
	struct mail_err ours = {0};
	struct buf b64;
	int ir = sasl_client_has_initial(s->mech);

	buf_init(&b64);
	if (ir)
		sasl_client_answer(s, NULL, &b64, &ours);
	c->secret = 1;
	int r = cmd(c, 2, "AUTH", err, "AUTH %s%s%s", sasl_client_name(s->mech), ir ? " " : "",
		    !ir ? "" : b64.len ? b64.data : "=");
	while (r < 0 && c->code == 334) {
		const char *t = strlen(c->last) > 4 ? c->last + 4 : "";
		if (sasl_client_answer(s, t, &b64, &ours) < 0)
			r = cmd(c, 2, "AUTH", err, "*");
		else
			r = cmd(c, 2, "AUTH", err, "%s", b64.data ? b64.data : "");
	}
	c->secret = 0;
	if (b64.data)
		explicit_bzero(b64.data, b64.len);
	buf_free(&b64);
	return sasl_client_outcome(s, r, &ours, err);
}

/* Log in with the strongest mechanism offered (or /auth=). */
static int login(struct smtp_conn *c, const char *local_user, struct mail_err *err)
{
	char user[NET_USER_MAX], pw[4096];
	struct sasl_client s;

	str_copy(user, c->nm.user[0] ? c->nm.user : local_user ? local_user : "", sizeof user);
	int m = sasl_client_choose(c->sasl, c->nm.auth, c->nm.authuser[0], c->nm.host, err);
	if (m < 0)
		return -1;
	if (!c->cl || !c->cl->login ||
	    c->cl->login(c->cl->ctx, &c->nm, user, sizeof user, pw, sizeof pw) < 0) {
		mail_err_set(err, MAIL_FAIL, "no password given for %s on %s", user, c->nm.host);
		return -1;
	}
	struct sasl_client_id id = {c->nm.authuser[0] ? user : "",
				    c->nm.authuser[0] ? c->nm.authuser : user, pw, c->nm.host,
				    c->nm.port};
	int r = sasl_client_begin(&s, (enum sasl_cmech)m, &id, err);
	if (r == 0) {
		r = auth_dialogue(c, &s, err);
		sasl_client_end(&s);
	}
	explicit_bzero(pw, sizeof pw);
	return r;
}

/* Does this connection send credentials? Submission does; port 25 only
 * when the name gives a user. */
static int wants_login(const struct smtp_conn *c)
{
	return c->nm.user[0] || c->nm.auth[0] || c->nm.port == 587 || c->nm.port == 465 ||
	       !strcmp(c->nm.service, "submission");
}

/* Greeting, EHLO, STARTTLS, EHLO again, AUTH. */
static int start(struct smtp_conn *c, const char *local_user, struct mail_err *err)
{
	struct tls_client_opts o = {c->nm.host, c->nm.novalidate, c->cl ? c->cl->cafile : NULL};
	int loopback = 0;

	c->fd = c->cl && c->cl->connect ? c->cl->connect(c->cl->ctx, &c->nm, c->nm.port, &loopback,
							 err) :
		net_connect(&c->nm, c->nm.port, SMTP_TIMEOUT, &loopback, err);
	if (c->fd < 0)
		return -1;
	io_init(&c->io, c->fd, c->fd);
	c->io.timeout = SMTP_TIMEOUT;
	if (c->nm.ssl && tls_client_start(&c->io, &o, err) < 0)
		return -1;
	if (reply(c, 0, err) < 0)
		return -1;
	if (c->code != 220) {
		mail_err_set(err, MAIL_FAIL, "%s refused the connection: %s", c->nm.host, c->last);
		return -1;
	}
	if (ehlo(c, err) < 0)
		return -1;
	if (!tls_client_active(&c->io) && !c->nm.notls && (c->caps & SC_STARTTLS)) {
		if (cmd(c, 2, "STARTTLS", err, "STARTTLS") < 0 || tls_client_start(&c->io, &o, err) < 0 ||
		    ehlo(c, err) < 0)   /* what was offered in clear may have been forged */
			return -1;
	}
	if (!tls_client_active(&c->io) && (c->nm.tls || c->nm.secure)) {
		mail_err_set(err, MAIL_FAIL, "%s offers no STARTTLS, and the name asks for TLS",
			     c->nm.host);
		return -1;
	}
	if (!wants_login(c))
		return 0;
	if (!tls_client_active(&c->io) && !(c->nm.notls && loopback)) {
		mail_err_set(err, MAIL_FAIL, "%s offers no STARTTLS: refusing to send a password "
			     "in clear (use /ssl for implicit TLS)", c->nm.host);
		return -1;
	}
	return login(c, local_user, err);
}

struct smtp_conn *smtp_connect(const struct net_name *nm, const struct mail_client *cl,
			       const char *local_user, struct mail_err *err)
{
	struct smtp_conn *c = xcalloc(1, sizeof *c);
	int submission = !strcmp(nm->service, "submission");

	c->fd = -1;
	c->nm = *nm;
	c->nm.mailbox = NULL;
	c->nm.debug |= cl && cl->debug;
	if (!c->nm.port)
		c->nm.port = c->nm.ssl ? 465 : submission ? 587 : 25;
	c->cl = cl;
	buf_init(&c->line);
	if (start(c, local_user, err) < 0) {
		c->code = 0;   /* no QUIT on a broken or refused connection */
		smtp_disconnect(c);
		return NULL;
	}
	return c;
}

/* Any byte above 0x7f in p? */
static int eight_bit(const char *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)p[i] >= 0x80)
			return 1;
	return 0;
}

/* The message with CRLF line ends and a dot doubled at each line's start,
 * then the lone dot. */
static void put_data(struct smtp_conn *c, const char *msg, size_t len)
{
	int bol = 1;

	for (size_t i = 0; i < len; i++) {
		if (bol && msg[i] == '.')
			io_write(&c->io, ".", 1);
		if (msg[i] == '\n' && (i == 0 || msg[i - 1] != '\r'))
			io_write(&c->io, "\r", 1);
		io_write(&c->io, msg + i, 1);
		bol = msg[i] == '\n';
	}
	io_write(&c->io, bol ? "" : "\r\n", bol ? 0 : 2);
}

/* MAIL FROM and each RCPT TO, with BODY=8BITMIME (kind & 1), SMTPUTF8
 * (kind & 2) and the DSN parameters where the server offers DSN: 0, -1
 * when MAIL was refused, -2 when a RCPT was. */
static int envelope(struct smtp_conn *c, const char *from, const char *const *to, size_t n,
		    int kind, struct mail_err *err)
{
	const struct smtp_dsn *dsn = c->caps & SC_DSN && c->dsn_on ? &c->dsn : NULL;
	struct buf par;
	int r;

	buf_init(&par);
	if (dsn)
		smtp_dsn_mail(&par, dsn);
	r = cmd(c, 2, "MAIL FROM", err, "MAIL FROM:<%s>%s%s%s", from,
		kind & 1 ? " BODY=8BITMIME" : "", kind & 2 ? " SMTPUTF8" : "",
		par.len ? par.data : "");
	for (size_t i = 0; r == 0 && i < n; i++) {
		buf_reset(&par);
		if (dsn)
			smtp_dsn_rcpt(&par, dsn, i);
		if (cmd(c, 2, "RCPT TO", err, "RCPT TO:<%s>%s", to[i], par.len ? par.data : "") < 0)
			r = -2;
	}
	buf_free(&par);
	return r;
}

int smtp_send(struct smtp_conn *c, const char *from, const char *const *to, size_t n,
	      const char *msg, size_t len, struct mail_err *err)
{
	int utf8 = eight_bit(from, strlen(from)), body8 = eight_bit(msg, len);

	for (size_t i = 0; i < n; i++)
		utf8 |= eight_bit(to[i], strlen(to[i]));
	if ((utf8 && !(c->caps & SC_SMTPUTF8)) || (body8 && !(c->caps & SC_8BITMIME))) {
		mail_err_set(err, MAIL_FAIL, "%s takes no %s: encode the message first", c->nm.host,
			     utf8 ? "UTF-8 addresses (SMTPUTF8)" : "8-bit message (8BITMIME)");
		return -1;
	}
	int r = envelope(c, from, to, n, (body8 ? 1 : 0) | (utf8 ? 2 : 0), err);
	if (r == -1)
		return -1;   /* MAIL refused: no transaction to reset */
	if (r < 0)
		goto reset;
	if (cmd(c, 3, "DATA", err, "DATA") < 0)
		goto reset;
	put_data(c, msg, len);
	return cmd(c, 2, "the message", err, ".");
reset:;
	struct mail_err ignore;
	int code = c->code;
	char refusal[sizeof c->last];

	/* the refusal stays the last reply the caller sees, not RSET's */
	memcpy(refusal, c->last, sizeof refusal);
	cmd(c, 2, "RSET", &ignore, "RSET");   /* the next message starts clean */
	c->code = code;
	memcpy(c->last, refusal, sizeof refusal);
	return -1;
}

void smtp_set_dsn(struct smtp_conn *c, const struct smtp_dsn *dsn)
{
	c->dsn_on = dsn != NULL;
	if (dsn)
		c->dsn = *dsn;
}

int smtp_offers_dsn(const struct smtp_conn *c)
{
	return (c->caps & SC_DSN) != 0;
}

int smtp_last_reply(const struct smtp_conn *c, const char **line)
{
	*line = c->last;
	return c->code;
}

void smtp_disconnect(struct smtp_conn *c)
{
	struct mail_err ignore;

	if (!c)
		return;
	if (c->fd >= 0 && c->code && !c->io.failed)
		cmd(c, 2, "QUIT", &ignore, "QUIT");
	tls_client_end(&c->io);
	if (c->fd >= 0) {
		buf_free(&c->io.wbuf);
		close(c->fd);
	}
	buf_free(&c->line);
	free(c);
}
