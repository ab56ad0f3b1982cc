/* params.c: a classic program asking mail_parameters() and using the TCP
 * calls of tcp.h, built against the installed headers by
 * tests/test_classic_params.py. Arguments: a host and port where a server
 * answers "HELLO" with a line and 8 more bytes, and a port nobody serves. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "c-client.h"
#include "tcp.h"
#include "mm_quiet.h"

void mm_status(MAILSTREAM *stream, char *mailbox, MAILSTATUS *status) {}
void mm_login(NETMBX *mb, char *user, char *pwd, long trial) {}
void mm_fatal(char *string) { printf("fatal: %s\n", string); }
void mm_log(char *string, long errflg) { printf("log: %s\n", string); }

static long num(long function)
{
	return (long)mail_parameters(NIL, function, NIL);
}

static const char *str(long function)
{
	const char *s = mail_parameters(NIL, function, NIL);
	return s ? s : "(nil)";
}

static void tcp(char *host, unsigned long port, unsigned long closed)
{
	char buf[16];
	TCPSTREAM *t = tcp_open(host, NIL, port);
	char *line;

	if (!t)
		return;
	printf("tcp %s %s %lu %s\n", tcp_host(t), tcp_remotehost(t), tcp_port(t),
	       strncmp(tcp_localhost(t), "[127.", 5) ? "?" : "[127.x]");
	tcp_soutr(t, "HELLO\r\n");
	line = tcp_getline(t);
	printf("line <%s>\n", line ? line : "(nil)");
	fs_give((void **)&line);
	printf("buffer %ld <%s>\n", tcp_getbuffer(t, 8, buf), buf);
	printf("after end %s\n", tcp_getline(t) ? "a line" : "(nil)");
	tcp_close(t);
	printf("silent %s\n", tcp_open(host, NIL, closed | NET_SILENT) ? "open" : "(nil)");
	printf("loud %s\n", tcp_open(host, NIL, closed) ? "open" : "(nil)");
}

int main(int argc, char *argv[])
{
	char spool[32] = "/srv/news";
	long f, answered = 0;
	DRIVER *d;
#include "linkage.c"
	printf("ports %ld %ld %ld %ld %ld\n", num(GET_IMAPPORT), num(GET_SSLIMAPPORT),
	       num(GET_POP3PORT), num(GET_SMTPPORT), num(GET_NNTPPORT));
	printf("modes %lo %lo\n", num(GET_MBXPROTECTION), num(GET_DIRPROTECTION));
	printf("user %s home %s\n", str(GET_USERNAME), str(GET_HOMEDIR));
	printf("sysinbox %s newsrc %s\n", str(GET_SYSINBOX), str(GET_NEWSRC));
	printf("disableplaintext %ld\n", num(GET_DISABLEPLAINTEXT));
	printf("newsspool %s\n", str(GET_NEWSSPOOL));
	mail_parameters(NIL, SET_NEWSSPOOL, spool);
	strcpy(spool, "overwritten");   /* the library kept its own copy */
	printf("newsspool %s\n", str(GET_NEWSSPOOL));
	mail_parameters(NIL, SET_READTIMEOUT, (void *)7);
	printf("readtimeout %ld %ld\n", num(GET_READTIMEOUT), (long)tcp_parameters(GET_READTIMEOUT, NIL));
	d = mail_parameters(NIL, GET_DRIVER, "mbx");
	printf("driver %s\n", d ? d->name : "(nil)");
	for (f = 0; f < 1000; f++)
		if (f != SET_DRIVERS && f != SET_READTIMEOUT && mail_parameters(NIL, f, NIL))
			answered++;
	printf("answered %ld unknown %s\n", answered, str(9999));
	printf("client %s %s %ld\n", tcp_clientaddr(), tcp_clienthost(), tcp_clientport());
	if (argc > 3)
		tcp(argv[1], strtoul(argv[2], NIL, 10), strtoul(argv[3], NIL, 10));
	return 0;
}
