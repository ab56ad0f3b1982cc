/* imapurl.h: IMAP URLs (RFC 5092) naming one message part, as CATENATE
 * (RFC 4469) and URLAUTH (RFC 4467) take them, and URLAUTH's keys and
 * tokens. Parsing is pure: (pointer, length) in, pool strings out. */
#ifndef CCLIENT_IMAPURL_H
#define CCLIENT_IMAPURL_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "mail_api.h"
#include "util.h"

enum imapurl_access {
	URLA_NONE,          /* no ;URLAUTH= */
	URLA_SUBMIT,        /* submit+user */
	URLA_USER,          /* user+user */
	URLA_AUTHUSER,
	URLA_ANONYMOUS,
};

struct imapurl {
	const char *raw;           /* the URL as given (the caller keeps it) */
	size_t raw_len;
	int absolute;             /* imap://server/...; else "/mailbox..." */
	char *user;               /* iuserinfo's user, decoded; NULL: none */
	char *mailbox;            /* as stored (modified UTF-7) */
	uint32_t uidvalidity;     /* 0: not given */
	uint32_t uid;
	char *section;            /* decoded section-spec; NULL: whole message */
	int partial;
	uint32_t origin, length;  /* length 0: to the end */
	time_t expire;            /* 0: none */
	enum imapurl_access access;
	char *access_user;        /* submit+/user+ */
	char *mech;               /* NULL: a rump URL (no verifier) */
	char *token;              /* lower-case hex */
	size_t rump_len;          /* bytes through the access identifier */
};

/* Parse a URL naming a message part: 0, or -1 with a reason in *why. */
int imapurl_parse(const char *s, size_t len, struct pool *pool, struct imapurl *u,
		  const char **why);

/* Bytes of an INTERNAL token, and its hex form with the NUL. */
#define URLAUTH_TOKEN_BYTES 20
#define URLAUTH_TOKEN_HEX (2 * URLAUTH_TOKEN_BYTES + 1)

/* The INTERNAL token of rump for the user's mailbox: HMAC-SHA1 under the
 * mailbox's access key, kept in ~/.imapd-urlauth with the UIDVALIDITY it
 * was made for. create: make the key when there is none (or it belongs to
 * an older mailbox of the same name). 0 with hex; 1 no key; -1 with err. */
int urlauth_token(struct mail_session *s, const char *mailbox, uint32_t uidvalidity,
		  const char *rump, size_t len, int create, char hex[URLAUTH_TOKEN_HEX],
		  struct mail_err *err);
/* A mailbox access key in hex, with the NUL. */
#define URLAUTH_KEY_HEX 65
/* The key line of mailbox for uidvalidity (0: whichever it has) in the
 * keys file's text into hex; 0 found, 1 not (lines of another shape are
 * passed over). */
int urlauth_key_find(const char *data, size_t len, const char *mailbox, uint32_t uidvalidity,
		     char hex[URLAUTH_KEY_HEX]);
/* RESETKEY: forget the key of mailbox (NULL: of every mailbox), so every
 * URL made with it stops working. 0, or -1 with err. */
int urlauth_reset(struct mail_session *s, const char *mailbox, struct mail_err *err);

#endif
