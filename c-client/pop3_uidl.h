/* pop3_uidl.h: stable UIDs for a POP3 maildrop from the server's UIDL
 * strings, kept per "host:port user" in ~/.c-client-pop3 (a recfile.h
 * file), so a program reconnecting for each page sees the same UIDs. */
#ifndef CCLIENT_POP3_UIDL_H
#define CCLIENT_POP3_UIDL_H

#include <stddef.h>
#include <stdint.h>

#include "mail_api.h"

#define POP3_UIDL_MAX 70          /* RFC 1939 7: 1 to 70 characters 0x21-0x7E */
#define POP3_UIDL_ENTRIES 100000u /* the record's bound, all servers together */
#define POP3_UIDL_KEY_MAX 600   /* "host:port user", printable ASCII */

struct pop3_uidl_ent {
	uint32_t uid;
	char *uidl;
};

/* One server and user's map. */
struct pop3_uidl_srv {
	char *key;
	uint32_t validity, next;
	struct pop3_uidl_ent *v;
	size_t n;
};

struct pop3_uidl_set {
	struct pop3_uidl_srv *v;
	size_t n, total;          /* total: entries of all servers */
};

/* A UIDL answer line "msgno uidl" of len bytes: 0 with *no and the
 * string (inside l, *ulen bytes), -1 for anything RFC 1939 does not allow. */
int pop3_uidl_line(const char *l, size_t len, unsigned long *no, const char **uidl,
		   size_t *ulen);

/* The record file's reader (recfile.h's parse) and its free. */
int pop3_uidl_parse(const char *data, size_t len, void *set);
void pop3_uidl_free(void *set);

/* The UIDs of the n messages whose UIDL strings are uidls (maildrop
 * order, distinct), under key, recorded in the user's home: uids[],
 * *validity and *next. -1 with err when there is no usable record (the
 * caller keeps session numbers). */
int pop3_uidl_uids(struct mail_session *s, const char *key, char *const *uidls, uint32_t n,
		   uint32_t *uids, uint32_t *validity, uint32_t *next, struct mail_err *err);

#endif
