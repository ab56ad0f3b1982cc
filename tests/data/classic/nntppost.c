/* nntppost.c: a program written as classic c-client programs post news
 * (an ENVELOPE with Newsgroups and a BODY handed to nntp_mail), built by
 * tests/test_classic_nntp.py against our headers and against Debian's:
 * argv: [-p port] [-S nntps port] [-t] [-r] host spec, newsgroups[, how
 * many articles on the one stream[, a Message-ID prefix]]; -p is
 * nntp_open_full's port, -S sets SET_SSLNNTPPORT, -t and -r are NOP_TRYSSL
 * and NOP_READONLY. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "c-client.h"
#include "mm_quiet.h"

void mm_status(MAILSTREAM *stream, char *mailbox, MAILSTATUS *status) {}
void mm_fatal(char *string) { fprintf(stderr, "fatal: %s\n", string); }
void mm_log(char *string, long errflg)
{
	fprintf(stderr, "%s: %s\n", errflg == ERROR ? "error" : "log", string);
}
void mm_login(NETMBX *mb, char *user, char *pwd, long trial)
{
	*user = *pwd = '\0';
}

int main(int argc, char *argv[])
{
	ENVELOPE *env;
	BODY *body;
	SENDSTREAM *out;
	char *hosts[2], from[] = "Poster <poster@example.org>";   /* parsed in place */
	char id[200];
	long ok = T, options = 0;
	unsigned long port = 0;
	int i, n;
#include "linkage.c"
	while (argc > 2 && argv[1][0] == '-') {
		char *opt = argv[1], *val = argc > 3 ? argv[2] : "";
		int used = 1;

		if (!strcmp(opt, "-t"))
			options |= NOP_TRYSSL;
		else if (!strcmp(opt, "-r"))
			options |= NOP_READONLY;
		else if (!strcmp(opt, "-p") && (used = 2))
			port = strtoul(val, NULL, 10);
		else if (!strcmp(opt, "-S") && (used = 2))
			mail_parameters(NIL, SET_SSLNNTPPORT, (void *)strtoul(val, NULL, 10));
		else
			return 2;
		argc -= used;
		argv += used;
	}
	if (argc < 3 || argc > 5)
		return 2;
	n = argc > 3 ? atoi(argv[3]) : 1;
	hosts[0] = argv[1];
	hosts[1] = NIL;
	env = mail_newenvelope();
	body = mail_newbody();
	rfc822_parse_adrlist(&env->from, from, "localhost");
	env->newsgroups = cpystr(argv[2]);
	env->date = (unsigned char *)cpystr("Sun, 6 Dec 2026 10:00:00 +0000");
	env->subject = cpystr("classic post");
	body->type = TYPETEXT;
	body->contents.text.data = (unsigned char *)cpystr("first line\r\n.a line with a dot\r\n");
	body->contents.text.size = strlen((char *)body->contents.text.data);
	out = port || options ? nntp_open_full(NIL, hosts, "nntp", port, options) :
				nntp_open(hosts, 0);
	if (out)
		printf("open post=%d\n", (int)out->protocol.nntp.post);
	for (i = 1; out && ok && i <= n; i++) {
		sprintf(id, "<%.100s.%d@example.org>", argc > 4 ? argv[4] : "classic-nntp", i);
		if (env->message_id)
			fs_give((void **)&env->message_id);
		env->message_id = cpystr(id);
		ok = nntp_mail(out, env, body);
		printf("%s %ld\n", ok ? "posted" : "failed", out->replycode);
	}
	nntp_close(out);
	mail_free_envelope(&env);
	mail_free_body(&body);
	return out && ok ? 0 : 1;
}
