/* metadata.h: METADATA (RFC 5464) entries of one user, for the server ("")
 * and for each mailbox, kept in one file in the home (~/.imapd-metadata),
 * rewritten whole through a temp file and a rename under a lock. */
#ifndef CCLIENT_METADATA_H
#define CCLIENT_METADATA_H

#include <stddef.h>

#include "mail_api.h"

#define MAIL_META_FILE ".imapd-metadata"
/* One value, and all entries of a user (the file's size follows). */
#define MAIL_META_MAXSIZE (64 * 1024)
#define MAIL_META_MAXENTRIES 256
#define MAIL_META_NAME_MAX 1024

/* One entry: mailbox ("" the server), entry name, value (any octets). */
struct mail_meta {
	char *box, *name;
	char *value;
	size_t len;
};

struct mail_meta_set {
	struct mail_meta *v;
	size_t n;
};

/* Is name an entry name RFC 5464 3.2 allows (under /private or /shared,
 * no empty component, no "*" "%", no trailing "/", printable ASCII)? */
int mail_meta_name_valid(const char *name, size_t len);
/* The file's text into set (strict: any damage is refused); 0 or -1. */
int mail_meta_parse(const char *data, size_t len, struct mail_meta_set *set);
void mail_meta_free(struct mail_meta_set *set);
/* The user's entries (none when there is no file); -1 with err. */
int mail_meta_load(struct mail_session *s, struct mail_meta_set *set, struct mail_err *err);
/* Set (value) or remove (value NULL) entries of box in one update. A value
 * over MAIL_META_MAXSIZE: MAIL_TOOBIG; more entries than allowed:
 * MAIL_LIMIT; nothing changed then. */
int mail_meta_store(struct mail_session *s, const char *box, const struct mail_meta *chg,
		    size_t n, struct mail_err *err);
/* Mailbox from was renamed to (its children's entries follow), or deleted
 * (to NULL: its own go). A failure is logged: the mailbox change stands. */
void mail_meta_forget(struct mail_session *s, const char *from, const char *to);

#endif
