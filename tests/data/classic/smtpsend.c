/* smtpsend.c: a program written as classic c-client programs send mail
 * (an ENVELOPE and a BODY handed to smtp_mail), built by
 * tests/test_classic_smtp.py against our headers and against Debian's:
 * argv: host spec, sender, recipient, "text", "multipart" or "dsn". "dsn"
 * (tests/test_classic_dsn.py) sends a text to port 25 asking for a success
 * notice as Alpine asks (SOP_DSN options, the envelope id $DSN_ENVID and
 * an ORCPT set on the stream and the address), the /debug trace on stderr. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "c-client.h"
#define MM_QUIET_OWN_DLOG
#include "mm_quiet.h"

void mm_status(MAILSTREAM *stream, char *mailbox, MAILSTATUS *status) {}
void mm_fatal(char *string) { fprintf(stderr, "fatal: %s\n", string); }
void mm_dlog(char *string) { fprintf(stderr, "trace: %s\n", string); }
void mm_log(char *string, long errflg)
{
	fprintf(stderr, "%s: %s\n", errflg == ERROR ? "error" : "log", string);
}

/* The password from the environment, the user from the host's /user=. */
void mm_login(NETMBX *mb, char *user, char *pwd, long trial)
{
	const char *p = getenv("SMTP_PASSWORD");

	strcpy(user, mb->user);
	strcpy(pwd, trial == 0 && p ? p : "");
}

/* A text body of s, 8-bit where s is. */
static void text_body(BODY *b, const char *s)
{
	b->type = TYPETEXT;
	b->encoding = ENC8BIT;
	b->parameter = mail_newbody_parameter();
	b->parameter->attribute = cpystr("charset");
	b->parameter->value = cpystr("UTF-8");
	b->contents.text.data = (unsigned char *)cpystr(s);
	b->contents.text.size = strlen(s);
}

/* A text part and an attachment of every byte value, twice. */
static void multipart_body(BODY *b)
{
	PART *p;
	int i;

	b->type = TYPEMULTIPART;
	b->subtype = cpystr("MIXED");
	b->nested.part = p = mail_newbody_part();
	text_body(&p->body, "The attachment follows.\r\n");
	p->next = mail_newbody_part();
	p = p->next;
	p->body.type = TYPEAPPLICATION;
	p->body.encoding = ENCBINARY;
	p->body.subtype = cpystr("OCTET-STREAM");
	p->body.disposition.type = cpystr("attachment");
	p->body.disposition.parameter = mail_newbody_parameter();
	p->body.disposition.parameter->attribute = cpystr("filename");
	p->body.disposition.parameter->value = cpystr("bytes.bin");
	p->body.contents.text.data = fs_get(512);
	for (i = 0; i < 512; i++)
		p->body.contents.text.data[i] = (unsigned char)i;
	p->body.contents.text.size = 512;
}

int main(int argc, char *argv[])
{
	ENVELOPE *env;
	BODY *body;
	SENDSTREAM *out;
	char *hosts[2];
	long ok;
	int dsn;
#include "linkage.c"
	if (argc != 5)
		return 2;
	hosts[0] = argv[1];
	hosts[1] = NIL;
	env = mail_newenvelope();
	body = mail_newbody();
	rfc822_parse_adrlist(&env->from, argv[2], "localhost");
	rfc822_parse_adrlist(&env->to, argv[3], "localhost");
	env->date = (unsigned char *)cpystr("Sun, 6 Dec 2026 10:00:00 +0000");
	env->subject = cpystr(argv[4]);
	env->message_id = cpystr("<classic-smtp@example.org>");
	dsn = !strcmp(argv[4], "dsn");
	if (dsn) {
		text_body(body, "asking for a receipt\r\n");
		env->to->orcpt.type = cpystr("rfc822");
		env->to->orcpt.addr = cpystr(argv[3]);
	} else if (!strcmp(argv[4], "text"))
		text_body(body, "caf\xc3\xa9\r\n.a line with a dot\r\n");
	else
		multipart_body(body);
	if (!(out = dsn ? smtp_open_full(NIL, hosts, "smtp", 0,
					 SOP_DEBUG | SOP_DSN | SOP_DSN_NOTIFY_SUCCESS) :
			  smtp_open_full(NIL, hosts, "submit", 0, 0)))
		return 1;
	if (dsn)
		out->protocol.esmtp.dsn.envid = cpystr(getenv("DSN_ENVID"));
	ok = smtp_mail(out, "MAIL", env, body);
	printf("%s %ld %s\n", ok ? "sent" : "failed", out->replycode,
	       dsn ? (out->protocol.esmtp.dsn.ok ? "dsn offered" : "no dsn") :
	       out->reply ? out->reply : "");
	smtp_close(out);
	mail_free_envelope(&env);
	mail_free_body(&body);
	return ok ? 0 : 1;
}
