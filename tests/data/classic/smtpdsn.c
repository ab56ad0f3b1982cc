/* smtpdsn.c: a classic program asking for delivery status notifications
 * (smtp_open's SOP_DSN options, an envelope id and an ORCPT set on the
 * stream and the address as Alpine sets them), built by
 * tests/test_classic_dsn.py; the /debug trace goes to stderr.
 * argv: host spec, sender, recipient, envelope id. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "c-client.h"
#define MM_QUIET_OWN_DLOG
#include "mm_quiet.h"

void mm_status(MAILSTREAM *stream, char *mailbox, MAILSTATUS *status) {}
void mm_fatal(char *string) { fprintf(stderr, "fatal: %s\n", string); }
void mm_login(NETMBX *mb, char *user, char *pwd, long trial) { *pwd = '\0'; }
void mm_dlog(char *string) { fprintf(stderr, "trace: %s\n", string); }
void mm_log(char *string, long errflg)
{
	fprintf(stderr, "%s: %s\n", errflg == ERROR ? "error" : "log", string);
}

int main(int argc, char *argv[])
{
	ENVELOPE *env;
	BODY *body;
	SENDSTREAM *out;
	char *hosts[2];
	long ok;
#include "linkage.c"
	if (argc != 5)
		return 2;
	hosts[0] = argv[1];
	hosts[1] = NIL;
	env = mail_newenvelope();
	body = mail_newbody();
	rfc822_parse_adrlist(&env->from, argv[2], "localhost");
	rfc822_parse_adrlist(&env->to, argv[3], "localhost");
	env->to->orcpt.type = cpystr("rfc822");
	env->to->orcpt.addr = cpystr(argv[3]);
	env->date = (unsigned char *)cpystr("Sun, 6 Dec 2026 10:00:00 +0000");
	env->subject = cpystr("dsn");
	env->message_id = cpystr("<classic-dsn@example.org>");
	body->type = TYPETEXT;
	body->contents.text.data = (unsigned char *)cpystr("asking for a receipt\r\n");
	body->contents.text.size = strlen((char *)body->contents.text.data);
	if (!(out = smtp_open_full(NIL, hosts, "smtp", 0,
				   SOP_DEBUG | SOP_DSN | SOP_DSN_NOTIFY_SUCCESS)))
		return 1;
	out->protocol.esmtp.dsn.envid = cpystr(argv[4]);
	ok = smtp_mail(out, "MAIL", env, body);
	printf("%s %ld dsn.ok %d\n", ok ? "sent" : "failed", out->replycode,
	       (int)out->protocol.esmtp.dsn.ok);
	smtp_close(out);
	mail_free_envelope(&env);
	mail_free_body(&body);
	return ok ? 0 : 1;
}
