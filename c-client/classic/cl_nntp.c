/* cl_nntp.c: the classic nntp_open/nntp_mail/nntp_close. The article is
 * written from the program's ENVELOPE and BODY as smtp_mail writes a
 * message and posted through the library's NNTP client (STARTTLS where
 * offered, AUTHINFO when the server asks). The connection is made by
 * nntp_mail, one per article, to the first host of the list. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cl_int.h"
#include "fs.h"

/* A stream naming the first host; nothing is checked until nntp_mail. */
SENDSTREAM *nntp_open_full(NETDRIVER *dv, char **hostlist, char *service, unsigned long port,
			   long options)
{
	SENDSTREAM *stream;

	if (!hostlist || !*hostlist) {
		mm_log("Missing NNTP service host", ERROR);
		return NIL;
	}
	stream = memset(fs_get(sizeof *stream), 0, sizeof *stream);
	stream->netstream = fs_get(sizeof *stream->netstream);
	stream->netstream->stream = cpystr(*hostlist);   /* "host[:port][/flags]" */
	stream->netstream->dtb = NIL;
	stream->host = cpystr(*hostlist);
	stream->host[strcspn(stream->host, ":/")] = '\0';
	stream->debug = (options & NOP_DEBUG) != 0;
	stream->protocol.nntp.post = 1;
	return stream;
}

/* Free the stream; NIL, for "stream = nntp_close(stream)". */
SENDSTREAM *nntp_close(SENDSTREAM *stream)
{
	if (!stream)
		return NIL;
	fs_give(&stream->netstream->stream);
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
	char err[CLB_ERRLEN];
	size_t n;
	char *text;
	long ok;

	if (!env->newsgroups) {
		mm_log("No newsgroups specified", ERROR);
		return NIL;
	}
	text = article(env, body, &n);
	ok = clb_nntp_post(stream->netstream->stream, stream->debug, text, n, err) == 0;
	fs_give((void **)&text);
	if (stream->reply)
		fs_give((void **)&stream->reply);
	stream->reply = cpystr(ok ? "240 Article posted" : err);
	stream->replycode = ok ? 240 : atol(err) >= 400 ? atol(err) : 441;
	if (!ok)
		mm_log(err, ERROR);
	return ok ? LONGT : NIL;
}
