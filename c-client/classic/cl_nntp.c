/* cl_nntp.c: the classic nntp_open/nntp_mail/nntp_close. nntp_open
 * connects as UW's did (greeting, MODE READER, STARTTLS where offered,
 * whether posting is allowed in protocol.nntp.post); nntp_mail writes the
 * article from the program's ENVELOPE and BODY as smtp_mail writes a
 * message and POSTs it on that connection; nntp_close says QUIT. The
 * port, NOP_TRYSSL and NOP_READONLY are docs/classic-api.md's. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cl_int.h"
#include "fs.h"

/* What a SENDSTREAM's netstream holds: the connection, and whether the
 * program opened it never to post (NOP_READONLY). */
struct news_conn {
	struct nntp_poster *p;
	int readonly;
};

/* The plain port of a host without ":port": the program's port, else
 * GET_NNTPPORT (119 until the program sets another). */
static unsigned plain_port(unsigned long port)
{
	return (unsigned)(port ? port : (unsigned long)mail_parameters(NIL, GET_NNTPPORT, NIL));
}

/* The first host of hostlist that answers, each failure in mm_log. dv and
 * service are the classic ones: the library has one transport. A host's
 * own ":port" wins over port; NOP_TRYSSL tries implicit TLS first and
 * goes on in clear (STARTTLS where offered) only where no TCP connection
 * to the TLS port could be made: a certificate that fails is an error. */
SENDSTREAM *nntp_open_full(NETDRIVER *dv, char **hostlist, char *service, unsigned long port,
			   long options)
{
	unsigned sslport = options & NOP_TRYSSL ?
		(unsigned)(unsigned long)mail_parameters(NIL, GET_SSLNNTPPORT, NIL) : 0;
	int debug = (options & NOP_DEBUG) != 0;
	char err[CLB_ERRLEN];

	if (!hostlist || !*hostlist) {
		mm_log("Missing NNTP service host", ERROR);
		return NIL;
	}
	for (; *hostlist; hostlist++) {
		int post = 0;
		struct nntp_poster *p = clb_nntp_open(*hostlist, plain_port(port), sslport, debug,
						      &post, err);
		if (!p) {
			mm_log(err, ERROR);
			continue;
		}
		struct news_conn *c = fs_get(sizeof *c);
		c->p = p;
		c->readonly = (options & NOP_READONLY) != 0;
		SENDSTREAM *stream = cl_sendstream_new(c, *hostlist, debug);
		stream->protocol.nntp.post = post && !c->readonly;
		return stream;
	}
	return NIL;
}

/* QUIT and free; NIL, for "stream = nntp_close(stream)". */
SENDSTREAM *nntp_close(SENDSTREAM *stream)
{
	if (!stream)
		return NIL;
	struct news_conn *c = stream->netstream->stream;
	clb_nntp_close(c->p);
	fs_give((void **)&c);
	cl_sendstream_free(stream);
	return NIL;
}

/* The article: a Path line naming this host and the poster (as UW's
 * nntp_mail began it; the server adds its own in front), then the
 * message. */
static char *article(ENVELOPE *env, BODY *body, size_t *len)
{
	ADDRESS *who = env->sender ? env->sender : env->from;
	char host[256], *msg = cl_message_text(env, body, len), *out;
	size_t head;

	if (gethostname(host, sizeof host) < 0)
		strcpy(host, "localhost");
	host[sizeof host - 1] = '\0';
	head = strlen(host) + strlen(who && who->mailbox ? who->mailbox : "not-for-mail") + 10;
	out = fs_get(head + *len + 1);
	snprintf(out, head, "Path: %s!%s\r\n", host,
		 who && who->mailbox ? who->mailbox : "not-for-mail");
	head = strlen(out);
	memcpy(out + head, msg, *len + 1);
	*len += head;
	fs_give((void **)&msg);
	return out;
}

/* Post one article; T, or NIL with the server's refusal (or the reason)
 * in mm_log and the stream's reply. */
long nntp_mail(SENDSTREAM *stream, ENVELOPE *env, BODY *body)
{
	struct news_conn *c = stream->netstream->stream;
	char err[CLB_ERRLEN];
	size_t n;
	char *text;
	long ok = 0;

	if (!env->newsgroups) {
		mm_log("No newsgroups specified", ERROR);
		return NIL;
	}
	if (c->readonly)   /* refused here: the server never sees a POST */
		snprintf(err, sizeof err, "%s: NNTP stream opened read-only (NOP_READONLY), "
			 "not posting", stream->host);
	else {
		text = article(env, body, &n);
		ok = clb_nntp_post(c->p, text, n, err) == 0;
		fs_give((void **)&text);
	}
	if (stream->reply)
		fs_give((void **)&stream->reply);
	stream->reply = cpystr(ok ? "240 Article posted" : err);
	stream->replycode = ok ? 240 : atol(err) >= 400 ? atol(err) : 441;
	if (!ok)
		mm_log(err, ERROR);
	return ok ? LONGT : NIL;
}
