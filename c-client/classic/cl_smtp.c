/* cl_smtp.c: the classic smtp_open/smtp_mail/smtp_close. smtp_mail writes
 * the message from the program's ENVELOPE and BODY as c-client 2007 did
 * (the header, then the body, multiparts between their boundaries, the
 * parts encoded for 7-bit transport) and sends it through the library's
 * SMTP client; failures reach the program through mm_log and the
 * stream's reply and replycode. */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "cl_int.h"
#include "fs.h"

/* A growing text: the message being written. */
struct text {
	char *p;
	size_t n, cap;
};

/* Append n bytes of s. */
static void put_n(struct text *t, const char *s, size_t n)
{
	if (t->n + n + 1 > t->cap) {
		t->cap = (t->n + n + 1) * 2;
		fs_resize((void **)&t->p, t->cap);
	}
	memcpy(t->p + t->n, s, n);
	t->n += n;
	t->p[t->n] = '\0';
}

/* Append a string. */
static void put(struct text *t, const char *s)
{
	put_n(t, s, strlen(s));
}

/* strlen, 0 for a field the program left NIL. */
static size_t len0(const char *s)
{
	return s ? strlen(s) : 0;
}

/* Room an address list may take written out (each character quoted at
 * worst, plus the punctuation). */
static size_t addresses_room(ADDRESS *a)
{
	size_t n = 0;

	for (; a; a = a->next)
		n += 2 * (len0(a->personal) + len0(a->mailbox)) + len0(a->adl) + len0(a->host) + 16;
	return n;
}

/* Room a parameter list may take, each value quoted at worst. */
static size_t parameters_room(PARAMETER *p)
{
	size_t n = 0;

	for (; p; p = p->next)
		n += len0(p->attribute) + 2 * len0(p->value) + 8;
	return n;
}

/* Room rfc822_write_body_header may take for body (its fields' names and
 * line ends are within the constant). */
static size_t body_header_room(BODY *b)
{
	size_t n = 512 + len0(b->subtype) + parameters_room(b->parameter) + len0(b->id) +
		   len0(b->description) + len0(b->md5) + len0(b->disposition.type) +
		   parameters_room(b->disposition.parameter) + len0(b->location);

	for (STRINGLIST *l = b->language; l; l = l->next)
		n += l->text.size + 2;
	return n;
}

/* Room rfc822_header may take for env and body: its writers trust the
 * caller's buffer, so it is made big enough first. */
static size_t header_room(ENVELOPE *env, BODY *body)
{
	return 512 + len0(env->remail) + len0(env->newsgroups) + len0((char *)env->date) +
	       len0(env->subject) + len0(env->in_reply_to) + len0(env->message_id) +
	       len0(env->followup_to) + len0(env->references) + addresses_room(env->from) +
	       addresses_room(env->sender) + addresses_room(env->reply_to) +
	       addresses_room(env->to) + addresses_room(env->cc) +
	       (body ? body_header_room(body) : 0);
}

/* A multipart's boundary (rfc822_encode_body_7bit made one if needed). */
static const char *boundary(BODY *b)
{
	for (PARAMETER *p = b->parameter; p; p = p->next)
		if (!strcasecmp(p->attribute, "BOUNDARY"))
			return p->value;
	return "";
}

/* A body's content: a multipart's parts each after its boundary line and
 * MIME header, the closing boundary last (its line end is the caller's);
 * other types as they are (the encoding already applied). */
static void body_out(struct text *t, BODY *b)
{
	if (b->type != TYPEMULTIPART) {
		if (b->contents.text.data)
			put_n(t, (char *)b->contents.text.data, b->contents.text.size);
		return;
	}
	for (PART *part = b->nested.part; part; part = part->next) {
		char *h = fs_get(body_header_room(&part->body)), *hp = h;

		*h = '\0';
		put(t, "--");
		put(t, boundary(b));
		put(t, "\r\n");
		rfc822_write_body_header(&hp, &part->body);
		put(t, h);
		put(t, "\r\n");
		fs_give((void **)&h);
		body_out(t, &part->body);
		put(t, "\r\n");
	}
	put(t, "--");
	put(t, boundary(b));
	put(t, "--");
}

/* The address as SMTP's MAIL and RCPT take it: local@host. */
static char *smtp_address(ADDRESS *a)
{
	size_t n = len0(a->mailbox) + len0(a->host) + 2;
	char *s = fs_get(n);

	snprintf(s, n, "%s%s%s", a->mailbox ? a->mailbox : "",
		 a->host && strcmp(a->host, "@") ? "@" : "",
		 a->host && strcmp(a->host, "@") ? a->host : "");
	return s;
}

/* The recipients of to, cc and bcc (group names and ends left out), and
 * beside each its ORCPT as "type;address" (NULL: the program set none). */
struct rcpts {
	char **to, **orcpt;
	size_t n;
};

/* An address's ORCPT, the type rfc822 unless the program named one. */
static char *orcpt_of(ADDRESS *a)
{
	const char *type = a->orcpt.type ? a->orcpt.type : "rfc822";
	char *s;

	if (!a->orcpt.addr)
		return NIL;
	s = fs_get(strlen(type) + strlen(a->orcpt.addr) + 2);
	sprintf(s, "%s;%s", type, a->orcpt.addr);
	return s;
}

static void recipients(ENVELOPE *env, struct rcpts *r)
{
	ADDRESS *lists[] = {env->to, env->cc, env->bcc};

	memset(r, 0, sizeof *r);
	for (size_t i = 0; i < 3; i++)
		for (ADDRESS *a = lists[i]; a; a = a->next)
			if (a->host) {
				fs_resize((void **)&r->to, (r->n + 1) * sizeof *r->to);
				fs_resize((void **)&r->orcpt, (r->n + 1) * sizeof *r->orcpt);
				r->orcpt[r->n] = orcpt_of(a);
				r->to[r->n++] = smtp_address(a);
			}
}

static void rcpts_free(struct rcpts *r)
{
	for (size_t i = 0; i < r->n; i++) {
		fs_give((void **)&r->to[i]);
		if (r->orcpt[i])
			fs_give((void **)&r->orcpt[i]);
	}
	if (r->n) {
		fs_give((void **)&r->to);
		fs_give((void **)&r->orcpt);
	}
}

/* The library's connection behind a stream. */
static struct smtp_conn *conn(SENDSTREAM *stream)
{
	return stream->netstream->stream;
}

/* The stream's reply: the server's reply that decided the last step. */
static void set_reply(SENDSTREAM *stream)
{
	const char *line = "";

	stream->replycode = clb_smtp_reply(conn(stream), &line);
	if (stream->reply)
		fs_give((void **)&stream->reply);
	stream->reply = cpystr(line);
}

/* The host part of a hostlist entry ("host[:port][/flags]"). */
static char *host_of(const char *spec)
{
	size_t n = strcspn(spec, ":/");
	char *h = fs_get(n + 1);

	memcpy(h, spec, n);
	h[n] = '\0';
	return h;
}

/* The SMTP parameters are mail_parameters' (GET_/SET_SMTPPORT ...). */
void *smtp_parameters(long function, void *value)
{
	return cl_params(function, value);
}

/* What smtp_open's options ask of DSN, as UW's smtp_open_full read them. */
static void dsn_options(SENDSTREAM *stream, long options, int offered)
{
	stream->protocol.esmtp.dsn.ok = offered != 0;
	stream->protocol.esmtp.dsn.want = (options & SOP_DSN) != 0;
	if (!(options & SOP_DSN))
		return;
	stream->protocol.esmtp.dsn.notify.failure = (options & SOP_DSN_NOTIFY_FAILURE) != 0;
	stream->protocol.esmtp.dsn.notify.delay = (options & SOP_DSN_NOTIFY_DELAY) != 0;
	stream->protocol.esmtp.dsn.notify.success = (options & SOP_DSN_NOTIFY_SUCCESS) != 0;
	stream->protocol.esmtp.dsn.full = (options & SOP_DSN_RETURN_FULL) != 0;
}

/* The first host of hostlist that answers and lets us in; each failure
 * is reported through mm_log. dv is ignored: the library has one
 * transport, with TLS, for every host. */
SENDSTREAM *smtp_open_full(NETDRIVER *dv, char **hostlist, char *service, unsigned long port,
			   long options)
{
	int submit = service && (!strcasecmp(service, "submit") ||
				 !strcasecmp(service, "submission"));
	char err[CLB_ERRLEN];

	if (!hostlist || !*hostlist) {
		mm_log("Missing SMTP service host", ERROR);
		return NIL;
	}
	for (; *hostlist; hostlist++) {
		struct smtp_conn *c = clb_smtp_open(*hostlist, submit, (unsigned)port,
						    (options & SOP_DEBUG) != 0,
						    (options & SOP_SECURE) != 0, err);
		if (!c) {
			mm_log(err, ERROR);
			continue;
		}
		SENDSTREAM *stream = cl_sendstream_new(c, *hostlist, (options & SOP_DEBUG) != 0);

		stream->protocol.esmtp.ok = 1;
		stream->protocol.esmtp.eightbit.want = (options & SOP_8BITMIME) != 0;
		dsn_options(stream, options, clb_smtp_offers_dsn(c));
		set_reply(stream);
		return stream;
	}
	return NIL;
}

SENDSTREAM *cl_sendstream_new(void *conn, const char *spec, int debug)
{
	SENDSTREAM *stream = memset(fs_get(sizeof *stream), 0, sizeof *stream);

	stream->netstream = fs_get(sizeof *stream->netstream);
	stream->netstream->stream = conn;
	stream->netstream->dtb = NIL;
	stream->host = host_of(spec);
	stream->debug = debug != 0;
	return stream;
}

void cl_sendstream_free(SENDSTREAM *stream)
{
	fs_give((void **)&stream->netstream);
	fs_give((void **)&stream->host);
	if (stream->reply)
		fs_give((void **)&stream->reply);
	fs_give((void **)&stream);
}

/* QUIT and free; NIL, for the classic "stream = smtp_close(stream)". */
SENDSTREAM *smtp_close(SENDSTREAM *stream)
{
	if (!stream)
		return NIL;
	clb_smtp_close(conn(stream));
	if (stream->protocol.esmtp.dsn.envid)   /* the program's cpystr, freed here as UW did */
		fs_give((void **)&stream->protocol.esmtp.dsn.envid);
	cl_sendstream_free(stream);
	return NIL;
}

/* Report a failure: an mm_log error with the reason, and as the stream's
 * reply the server's refusal or, when the server refused nothing (no
 * recipients, a broken connection), code with the reason. */
static long fail(SENDSTREAM *stream, long code, const char *why)
{
	set_reply(stream);
	if (stream->replycode < 400) {
		fs_give((void **)&stream->reply);
		stream->reply = fs_get(strlen(why) + 24);
		sprintf(stream->reply, "%ld %s", code, why);
		stream->replycode = code;
	}
	mm_log((char *)why, ERROR);
	return NIL;
}

/* The whole message: header from env (Bcc never written), then body. */
static void message_out(struct text *t, ENVELOPE *env, BODY *body)
{
	char *h = fs_get(header_room(env, body));

	rfc822_header(h, env, body);
	put(t, h);
	fs_give((void **)&h);
	if (body)
		body_out(t, body);
	put(t, "\r\n");   /* UW's library ended every message so */
}

char *cl_message_text(ENVELOPE *env, BODY *body, size_t *len)
{
	struct text t = {0};

	/* 8-bit and binary parts go out as quoted-printable and base64, as
	 * the classic library sent them to a server not asked for 8BITMIME */
	rfc822_encode_body_7bit(env, body);
	message_out(&t, env, body);
	*len = t.n;
	return t.p;
}

/* The DSNs the stream asks for (smtp_open's SOP_DSN options, or what
 * the program set in protocol.esmtp.dsn since) to the library. */
static void ask_dsn(SENDSTREAM *stream, struct rcpts *r)
{
	unsigned notify = (stream->protocol.esmtp.dsn.notify.failure ? CLB_NOTIFY_FAILURE : 0) |
			  (stream->protocol.esmtp.dsn.notify.delay ? CLB_NOTIFY_DELAY : 0) |
			  (stream->protocol.esmtp.dsn.notify.success ? CLB_NOTIFY_SUCCESS : 0);

	clb_smtp_dsn(conn(stream), stream->protocol.esmtp.dsn.want, stream->protocol.esmtp.dsn.full,
		     notify, stream->protocol.esmtp.dsn.envid, (const char *const *)r->orcpt);
}

/* Send one message; T, or NIL with the reason in mm_log and the reply. */
long smtp_mail(SENDSTREAM *stream, char *type, ENVELOPE *env, BODY *body)
{
	ADDRESS *from = env->return_path ? env->return_path : env->from;
	char err[CLB_ERRLEN], *sender;
	struct text t = {0};
	struct rcpts r;
	long ok;

	if (!type || strcasecmp(type, "MAIL"))   /* SEND/SOML/SAML: gone from SMTP (RFC 5321) */
		return fail(stream, SMTPHARDERROR, "only MAIL is supported");
	if (!from)
		return fail(stream, SMTPHARDERROR, "No return path specified");
	recipients(env, &r);
	if (!r.n)
		return fail(stream, SMTPHARDERROR, "No recipients specified");
	t.p = cl_message_text(env, body, &t.n);
	sender = smtp_address(from);
	ask_dsn(stream, &r);
	ok = clb_smtp_send(conn(stream), sender, (const char *const *)r.to, r.n, t.p, t.n,
			   err) == 0;
	clb_smtp_dsn(conn(stream), 0, 0, 0, NIL, NIL);   /* r's strings go now */
	if (ok)
		set_reply(stream);
	else
		fail(stream, SMTPHARDERROR, err);
	fs_give((void **)&sender);
	rcpts_free(&r);
	fs_give((void **)&t.p);
	return ok;
}

/* VERB asked old sendmails for a transcript; servers today ignore or
 * refuse it, so there is nothing to ask. */
long smtp_verbose(SENDSTREAM *stream)
{
	return LONGT;
}
