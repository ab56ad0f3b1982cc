/* recfile.h: small per-user record files in the home (~/.imapd-metadata,
 * ~/.imapd-mailboxids, ~/.imapd-urlauth): read whole through fsafe.h (a
 * regular file of the user's, no link followed), changed under an flock on
 * "<name>.lock" and rewritten whole through a temp file and a rename. */
#ifndef CCLIENT_RECFILE_H
#define CCLIENT_RECFILE_H

#include <stddef.h>

#include "mail_api.h"

/* One kind of file; set is the caller's in-memory form of its records. */
struct recfile {
	const char *name;         /* in the home */
	const char *what;         /* for messages: "METADATA", "mailbox ids" */
	size_t max;               /* largest file read */
	/* the whole text into set (set starts zeroed); -1 damaged (set freed) */
	int (*parse)(const char *data, size_t len, void *set);
	/* set as the file's text, appended to out */
	void (*format)(const void *set, struct buf *out);
	void (*free)(void *set);
};

/* The user's records into set (zeroed by the caller; left empty when there
 * is no file). A damaged file: MAIL_CORRUPT. 0, or -1 with err. */
int recfile_load(struct mail_session *s, const struct recfile *rf, void *set,
		 struct mail_err *err);

/* Load set under the file's lock, let change edit it (it returns 1 to
 * write set back, 0 to leave the file, -1 with err to give up), write,
 * free set, unlock. The lock file is made on first use, 0600. */
int recfile_update(struct mail_session *s, const struct recfile *rf, void *set,
		   int (*change)(void *set, void *ctx, struct mail_err *err), void *ctx,
		   struct mail_err *err);

/* Does the user have the file (not followed if a link)? Lets a RENAME or
 * DELETE skip the lock for the many users who never made one. */
int recfile_exists(struct mail_session *s, const struct recfile *rf);

/* The reader's common frame: the magic line, then records read one by one
 * by record (it advances *p; -1 when damaged), at most max_records. */
int recfile_records(const char *data, size_t len, const char *magic, size_t max_records,
		    int (*record)(const char **p, const char *end, void *set), void *set);
/* A decimal number at *p ending in stop, at most max; *p moves past stop.
 * -1 when there is none. */
int recfile_number(const char **p, const char *end, char stop, size_t max, size_t *out);

#endif
