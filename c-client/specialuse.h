/* specialuse.h: which folders are Archive, Drafts, Junk, Sent and Trash
 * (SPECIAL-USE and CREATE-SPECIAL-USE, RFC 6154): the configuration's
 * names, and the uses a user gave with CREATE, kept in the home. */
#ifndef CCLIENT_SPECIALUSE_H
#define CCLIENT_SPECIALUSE_H

#include "mail_api.h"

struct config;

/* The LA_* bit of a use attribute ("\Sent", any case), 0 for one we do
 * not keep; and the attribute of one bit. */
int mail_special_bit(const char *attr);
const char *mail_special_attr(int bit);

/* mail_session_setup's part: copy the configured names. */
void mail_special_setup(struct mail_session *s, const struct config *cfg);
void mail_special_free(struct mail_session *s);

/* The uses known for a session, loaded once for a LIST. An unreadable
 * file of uses (not ours, a link) leaves only the configured ones. */
struct mail_uses;
struct mail_uses *mail_uses_load(struct mail_session *s);
void mail_uses_free(struct mail_uses *u);
/* The LA_ special-use bits of the mailbox name. */
int mail_uses_of(const struct mail_session *s, const struct mail_uses *u, const char *name);

/* CREATE name (USE (...)): bits are LA_ special-use bits. Nothing is
 * created when a use cannot be given (MAIL_USEATTR) or kept. */
int mail_create_special(struct mail_session *s, const char *name, int bits,
			struct mail_err *err);
/* After DELETE (to NULL) or RENAME: the uses follow the mailbox and its
 * children. A failure to rewrite the file is logged. */
void mail_special_forget(struct mail_session *s, const char *from, const char *to);
/* special_use_create: make (and subscribe) each configured folder never
 * made for this user before; a user who deletes one keeps it deleted. */
void mail_special_create(struct mail_session *s);

#endif
