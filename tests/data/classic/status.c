/* status.c: a program written as classic c-client programs are (the mm_
 * callbacks, linkage.c in main), built against the installed headers by
 * tests/test_install.py: it prints each named mailbox's status, then
 * opens it and prints each message's flags, internal date and size. */
#include <stdio.h>
#include "c-client.h"
#include "mm_quiet.h"

void mm_login(NETMBX *mb, char *user, char *pwd, long trial) {}
void mm_fatal(char *string) { fprintf(stderr, "fatal: %s\n", string); }
void mm_log(char *string, long errflg) { fprintf(stderr, "log: %s\n", string); }

void mm_status(MAILSTREAM *stream, char *mailbox, MAILSTATUS *status)
{
	printf("%s: %lu messages, %lu recent, %lu unseen\n", mailbox, status->messages,
	       status->recent, status->unseen);
}

int main(int argc, char *argv[])
{
	char date[MAILTMPLEN];
	int i;
#include "linkage.c"
	for (i = 1; i < argc; i++) {
		MAILSTREAM *stream;
		unsigned long n;

		if (!mail_status(NIL, argv[i], SA_MESSAGES | SA_RECENT | SA_UNSEEN))
			return 1;
		if (!(stream = mail_open(NIL, argv[i], OP_READONLY)))
			return 1;
		for (n = 1; n <= stream->nmsgs; n++) {
			MESSAGECACHE *elt = mail_elt(stream, n);

			printf("%lu: uid %lu%s%s %s %lu\n", n, elt->private.uid,
			       elt->seen ? " seen" : "", elt->flagged ? " flagged" : "",
			       mail_date(date, elt), elt->rfc822_size);
		}
		mail_close(stream);
	}
	return 0;
}
