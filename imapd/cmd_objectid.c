/* cmd_objectid.c: OBJECTID (RFC 8474) on the mailbox commands: the
 * MAILBOXID response code of SELECT, EXAMINE and CREATE. FETCH's EMAILID
 * and THREADID live in cmd_fetch.c, the SEARCH keys in cmd_search.c. */
#include "imapd.h"
#include "log.h"
#include "objectid.h"

int imap_mailboxid_code(struct client *c, const char *name, struct buf *code)
{
	char id[MAIL_OBJECTID_SIZE];
	struct mail_err err;

	/* the id is a convenience: its loss must not fail the command */
	if (mail_mailboxid(&c->sess, name, id, &err) < 0) {
		log_warn("no MAILBOXID for %s user=%s: %s", name, c->user.name, err.text);
		return -1;
	}
	buf_printf(code, "MAILBOXID (%s)", id);
	return 0;
}
