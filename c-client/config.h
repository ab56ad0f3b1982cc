/* config.h: the daemons' shared configuration file: `key = value` lines and
 * `#` comments. Unknown keys and bad values are reported by name. */
#ifndef CCLIENT_CONFIG_H
#define CCLIENT_CONFIG_H

#include <stddef.h>

#include "util.h"

struct config {
	char *ssl_dir;
	char *spool_dir;
	char *pam_service;        /* NULL: the daemon's default ("imap", "pop") */
	int allow_plaintext;
	int allow_outside_home;   /* mailbox names outside the home directory */
	size_t max_line;          /* one command line */
	size_t max_literal;       /* a literal outside APPEND */
	size_t max_message;       /* one message in APPEND */
	unsigned timeout_login;   /* seconds idle before login */
	unsigned timeout_idle;    /* seconds idle after login (RFC 3501: >= 30 min) */
	unsigned login_delay;     /* seconds to wait after a failed login */
	unsigned max_login_failures;
	char *tls_cert, *tls_key, *tls_min_version, *tls_ciphers;
	char *prelogin_user;      /* the unprivileged user before login */
	char *inbox;              /* INBOX's path ("~/Maildir"), NULL: the spool */
	char *mail_format;        /* format of new mailboxes, NULL: INBOX's */
	int inbox_mbox;           /* the classic ~/mbox mode */
	unsigned lock_timeout;    /* seconds to wait for another's mailbox lock */
	/* SPECIAL-USE (specialuse.c): folder names in the order of the LA_
	 * bits (archive, drafts, junk, sent, trash), made at login when asked */
	char *special_use[5];
	int special_use_create;
	int literal_minus;        /* imapd offers LITERAL- (RFC 7888), not LITERAL+ */
	unsigned max_keywords;    /* keyword names a mailbox may hold (0: MAIL_KEYWORDS_MAX) */
	size_t quota_storage, quota_messages;   /* quota.c: 0, no limit */
	/* URLAUTH: who may fetch submit+ URLs (names, comma or space apart) */
	char *urlauth_submit_users;
	unsigned urlauth_timeout;   /* seconds a URL worker may run */
};

void config_defaults(struct config *c);
/* Read path into c. Returns 0, or -1 with one line per problem in errors.
 * A missing file is an error only when must_exist. */
int config_load(struct config *c, const char *path, int must_exist, struct buf *errors);
void config_free(struct config *c);
/* The next name of a list value (names apart by commas or spaces, as in
 * urlauth_submit_users): 1 with it in (*name, *len), 0 at the end. */
int config_list_next(const char **p, const char **name, size_t *len);

#endif
