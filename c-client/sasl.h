/* sasl.h: the server side of the SASL mechanisms PLAIN (RFC 4616) and LOGIN,
 * shared by imapd's AUTHENTICATE (with SASL-IR, RFC 4959) and ipop3d's AUTH
 * (RFC 5034). The front-end moves base64 lines; this decodes and checks
 * them and yields a user name and password for the PAM login. */
#ifndef CCLIENT_SASL_H
#define CCLIENT_SASL_H

#include <stddef.h>

#include "mail_api.h"
#include "util.h"

enum sasl_mech { SASL_PLAIN, SASL_LOGIN };

enum sasl_result {
	SASL_CONTINUE,   /* send *challenge (base64, may be empty) and read a line */
	SASL_DONE,       /* user and password are ready */
	SASL_FAIL,       /* err says why (malformed, cancelled, authzid refused) */
};

struct sasl_state {
	enum sasl_mech mech;
	int step;
	char *authzid, *user, *password;
};

/* Mechanism by name (case-insensitive); -1 if we do not offer it. */
int sasl_mech_find(const char *name);
void sasl_begin(struct sasl_state *s, enum sasl_mech mech);
/* Feed the client's base64 response (resp == NULL: no initial response;
 * "*" cancels; "=" is an empty initial response). */
enum sasl_result sasl_step(struct sasl_state *s, const char *resp, size_t len,
			   struct buf *challenge, struct mail_err *err);
/* Wipe and free the secrets. */
void sasl_end(struct sasl_state *s);
/* Strict base64: length a multiple of 4, padding only at the end, no other
 * bytes (not even line breaks). 0 with the bytes appended to out, else -1. */
int sasl_b64_decode(const char *in, size_t len, struct buf *out);

#endif
