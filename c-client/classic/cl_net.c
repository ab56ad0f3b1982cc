/* cl_net.c: network mailboxes ("{host/ssl}INBOX") for classic programs:
 * the library's IMAP client driver asks for the user and password through
 * the program's mm_login, and shows a /debug trace through mm_dlog. */
#include <stdio.h>
#include <string.h>

#include "cl_int.h"

/* mm_login with a NETMBX made from the name; the program fills user and
 * password (MAILTMPLEN buffers, as the classic library gave it). */
static int cl_login(const struct clb_netname *n, char *user, size_t ulen, char *pw, size_t plen)
{
	NETMBX mb;
	char u[MAILTMPLEN] = "", p[MAILTMPLEN] = "";

	memset(&mb, 0, sizeof(mb));
	snprintf(mb.host, sizeof(mb.host), "%s", n->host);
	snprintf(mb.orighost, sizeof(mb.orighost), "%s", n->host);
	snprintf(mb.user, sizeof(mb.user), "%s", n->user);
	snprintf(mb.authuser, sizeof(mb.authuser), "%s", n->authuser);
	snprintf(mb.mailbox, sizeof(mb.mailbox), "%s", n->mailbox ? n->mailbox : "");
	snprintf(mb.service, sizeof(mb.service), "%s", n->service);
	mb.port = n->port;
	mb.sslflag = n->ssl != 0;
	mb.tlsflag = n->tls != 0;
	mb.notlsflag = n->notls != 0;
	mb.novalidate = n->novalidate != 0;
	mb.secflag = n->secure != 0;
	mb.dbgflag = n->debug != 0;
	mb.readonlyflag = n->readonly != 0;
	snprintf(u, sizeof(u), "%s", *n->user ? n->user : user);
	mm_login(&mb, u, p, 0);
	if (!*p)
		return -1;
	snprintf(user, ulen, "%s", u);
	snprintf(pw, plen, "%s", p);
	memset(p, 0, sizeof(p));
	return 0;
}

static void cl_trace(const char *line, size_t len, int out)
{
	char buf[MAILTMPLEN];

	snprintf(buf, sizeof(buf), "%s %.*s", out ? ">" : "<",
		 (int)(len < sizeof(buf) - 3 ? len : sizeof(buf) - 3), line);
	mm_dlog(buf);
}

/* Registered when the library is loaded, before the program's main. */
__attribute__((constructor)) static void cl_net_init(void)
{
	clb_set_client(cl_login, cl_trace);
}
