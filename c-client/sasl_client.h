/* sasl_client.h: the client side of SASL, for every network driver (IMAP
 * AUTHENTICATE, POP3 AUTH, SMTP AUTH): PLAIN, LOGIN, SCRAM-SHA-256 (RFC
 * 7677/5802, the server's signature checked), XOAUTH2 and OAUTHBEARER (RFC
 * 7628). The protocol moves base64 lines; this module sees raw bytes. */
#ifndef CCLIENT_SASL_CLIENT_H
#define CCLIENT_SASL_CLIENT_H

#include <stddef.h>

#include "mail_api.h"
#include "util.h"

/* In order of preference when the server offers several (weakest first). */
enum sasl_cmech {
	SASLC_LOGIN,
	SASLC_PLAIN,
	SASLC_SCRAM_SHA256,
	SASLC_XOAUTH2,
	SASLC_OAUTHBEARER,
	SASLC_COUNT
};

/* Who logs in, with what, to where. The strings must outlive the exchange. */
struct sasl_client_id {
	const char *authz;     /* act as this user ("" or NULL: as authc) */
	const char *authc;     /* authenticate as this user */
	const char *secret;    /* the password, or the OAuth bearer token */
	const char *host;      /* OAUTHBEARER's host= and port= */
	unsigned port;
};

#define SASLC_NONCE_LEN 24

struct sasl_client {
	enum sasl_cmech mech;
	struct sasl_client_id id;
	int step;
	int verified;                       /* SCRAM: the server proved itself */
	char nonce[SASLC_NONCE_LEN + 1];    /* SCRAM client nonce (printable) */
	struct buf auth_msg;                /* SCRAM AuthMessage as it grows */
	unsigned char server_sig[32];       /* SCRAM: what the server must send */
	char server_error[256];             /* OAuth: the server's JSON error */
	char *prep[3];                      /* PLAIN, SCRAM: the SASLprep'd authz, authc, secret */
};

/* The mechanism's SASL name ("SCRAM-SHA-256"). */
const char *sasl_client_name(enum sasl_cmech m);
/* Mechanism by SASL name (case-insensitive, len bytes); -1 if unknown. */
int sasl_client_find(const char *name, size_t len);
/* Does m take a bearer token rather than a password? */
int sasl_client_wants_token(enum sasl_cmech m);
/* The mechanism to use among offered (bits 1 << mech): forced (a name,
 * "" for none) if offered, else the strongest password mechanism; PLAIN
 * when an authorization identity is asked for (authz). -1 with err. */
int sasl_client_choose(unsigned offered, const char *forced, int authz, const char *host,
		       struct mail_err *err);

/* Start an exchange (a fresh random nonce for SCRAM); PLAIN's and SCRAM's
 * names and password are SASLprep'd here, so a string it refuses stops the
 * login before anything is sent: -1 with err (nothing to end then). */
int sasl_client_begin(struct sasl_client *s, enum sasl_cmech m, const struct sasl_client_id *id,
		      struct mail_err *err);
/* Does m send a response before any challenge? */
int sasl_client_has_initial(enum sasl_cmech m);
/* The next response (raw bytes) into out: chal == NULL asks for the
 * initial response. -1 with err when the challenge is malformed or the
 * server failed to prove itself: the caller cancels the exchange. */
int sasl_client_step(struct sasl_client *s, const char *chal, size_t len, struct buf *out,
		     struct mail_err *err);
/* The server said the login succeeded: is the exchange complete on our
 * side too (SCRAM: the server's signature seen and right)? 0, or -1 with err. */
int sasl_client_finish(struct sasl_client *s, struct mail_err *err);
/* The server refused: its OAuth error detail, "" if none. */
const char *sasl_client_server_error(const struct sasl_client *s);
/* Wipe the secrets derived during the exchange. */
void sasl_client_end(struct sasl_client *s);

/* What a protocol does with a challenge: the base64 challenge (NULL: the
 * initial response) in, the base64 response into b64 (reset first). -1
 * with *ours set when it must be cancelled; once *ours is set every later
 * challenge is refused too. */
int sasl_client_answer(struct sasl_client *s, const char *chal_b64, struct buf *b64,
		       struct mail_err *ours);
/* The exchange's end: r is the protocol's (0: the server said yes). Our
 * own reason (*ours), or a server that never proved itself, wins over the
 * server's answer. 0, or -1 with err. */
int sasl_client_outcome(struct sasl_client *s, int r, const struct mail_err *ours,
			struct mail_err *err);

/* RFC 4648 base64 of n bytes, appended to out. */
void sasl_b64_encode(struct buf *out, const void *p, size_t n);

#endif
