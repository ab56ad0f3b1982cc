/* objectid.h: OBJECTID (RFC 8474). Mailbox ids are random and recorded per
 * user in ~/.imapd-mailboxids (they follow RENAME, go with DELETE); message
 * and thread ids are derived from the message itself, so they need no
 * storage and agree across mailboxes, formats and COPY. */
#ifndef CCLIENT_OBJECTID_H
#define CCLIENT_OBJECTID_H

#include <stddef.h>
#include <stdint.h>

#include "mail_api.h"

#define MAIL_MBOXID_FILE ".imapd-mailboxids"
/* One id and its NUL: a letter and 24 hex digits (96 bits). */
#define MAIL_OBJECTID_SIZE 26
/* Most mailboxes the file records (its size follows). */
#define MAIL_MBOXID_MAX 100000

struct mail_mboxid {
	char id[MAIL_OBJECTID_SIZE];
	char *name;
};

struct mail_mboxid_set {
	struct mail_mboxid *v;
	size_t n;
};

/* The file's text into set (strict: any damage is refused); 0 or -1. */
int mail_mboxid_parse(const char *data, size_t len, struct mail_mboxid_set *set);
void mail_mboxid_free(struct mail_mboxid_set *set);

/* The MAILBOXID of the existing mailbox name, recorded now when it has
 * none (mail_create drops any record left at its name). 0, or -1 with err. */
int mail_mailboxid(struct mail_session *s, const char *name, char id[MAIL_OBJECTID_SIZE],
		   struct mail_err *err);
/* Mailbox from was renamed to (children follow) or deleted (to NULL: its
 * own id goes). A failure is logged: the mailbox change stands. */
void mail_mailboxid_forget(struct mail_session *s, const char *from, const char *to);

/* Is s[0..len) an objectid by RFC 8474's grammar (1*255 letters, digits,
 * "_" and "-")? */
int mail_objectid_valid(const char *s, size_t len);

/* EMAILID: "M" and a digest of the message's canonical text. */
int mail_emailid(struct mailbox *box, uint32_t msgno, char id[MAIL_OBJECTID_SIZE],
		 struct mail_err *err);
/* THREADID: "T" and a digest of the thread root's Message-ID (the first of
 * References, else of In-Reply-To, else its own); 1 when the message has
 * none of them (THREADID NIL), 0, or -1 with err. */
int mail_threadid(struct mailbox *box, uint32_t msgno, char id[MAIL_OBJECTID_SIZE],
		  struct mail_err *err);

#endif
