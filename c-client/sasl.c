/* sasl.c: server side of SASL PLAIN (RFC 4616) and LOGIN. The client's
 * lines are base64 (RFC 4648) and decoded strictly here: a SASL exchange
 * carries credentials, so anything malformed is refused, never guessed at. */
#include "sasl.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* base64 challenges of the LOGIN mechanism: "Username:" and "Password:" */
#define LOGIN_ASK_USER "VXNlcm5hbWU6"
#define LOGIN_ASK_PASS "UGFzc3dvcmQ6"

/* Longest decoded response we accept; PAM names and passwords are short. */
#define SASL_MAX_DECODED 4096

int sasl_mech_find(const char *name)
{
	if (!strcasecmp(name, "PLAIN"))
		return SASL_PLAIN;
	if (!strcasecmp(name, "LOGIN"))
		return SASL_LOGIN;
	return -1;
}

void sasl_begin(struct sasl_state *s, enum sasl_mech mech)
{
	memset(s, 0, sizeof *s);
	s->mech = mech;
}

static void wipe_free(char **p)
{
	if (*p) {
		explicit_bzero(*p, strlen(*p));
		free(*p);
		*p = NULL;
	}
}

void sasl_end(struct sasl_state *s)
{
	wipe_free(&s->authzid);
	wipe_free(&s->user);
	wipe_free(&s->password);
}

static int b64_digit(unsigned char ch)
{
	static const char alphabet[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	const char *hit = ch ? strchr(alphabet, ch) : NULL;

	return hit ? (int)(hit - alphabet) : -1;
}

int sasl_b64_decode(const char *in, size_t len, struct buf *out)
{
	if (len % 4)
		return -1;
	for (size_t i = 0; i < len; i += 4) {
		int last = i + 4 == len;
		int d[4];
		int pad = 0;

		for (int k = 0; k < 4; k++) {
			unsigned char ch = (unsigned char)in[i + k];
			if (ch == '=' && last && k >= 2) {
				pad++;
				d[k] = 0;
				continue;
			}
			if (pad)
				return -1;   /* data after padding */
			if ((d[k] = b64_digit(ch)) < 0)
				return -1;
		}
		unsigned v = (unsigned)d[0] << 18 | (unsigned)d[1] << 12 | (unsigned)d[2] << 6 |
			     (unsigned)d[3];
		char bytes[3] = {(char)(v >> 16), (char)(v >> 8), (char)v};
		buf_append(out, bytes, (size_t)(3 - pad));
	}
	return 0;
}

/* Decode one client response; "=" is the empty initial response (RFC 4959). */
static int decode_response(const char *resp, size_t len, struct buf *out, struct mail_err *err)
{
	if (len == 1 && resp[0] == '=')
		return 0;
	if (len > (SASL_MAX_DECODED / 3 + 1) * 4 || sasl_b64_decode(resp, len, out) < 0) {
		mail_err_set(err, MAIL_FAIL, "malformed SASL response (not base64)");
		return -1;
	}
	return 0;
}

/* PLAIN: [authzid] NUL authcid NUL passwd, exactly two NULs. */
static enum sasl_result plain_message(struct sasl_state *s, const struct buf *m,
				      struct mail_err *err)
{
	const char *p = m->data ? m->data : "";
	const char *nul1 = memchr(p, '\0', m->len);
	const char *nul2 = nul1 ? memchr(nul1 + 1, '\0', m->len - (size_t)(nul1 + 1 - p)) : NULL;

	if (!nul2 || memchr(nul2 + 1, '\0', m->len - (size_t)(nul2 + 1 - p))) {
		mail_err_set(err, MAIL_FAIL, "malformed PLAIN message");
		return SASL_FAIL;
	}
	size_t ulen = (size_t)(nul2 - nul1 - 1);
	size_t plen = m->len - (size_t)(nul2 + 1 - p);
	if (!ulen || !plen) {
		mail_err_set(err, MAIL_FAIL, "PLAIN message without %s", ulen ? "password" : "user");
		return SASL_FAIL;
	}
	s->authzid = xstrndup(p, (size_t)(nul1 - p));
	s->user = xstrndup(nul1 + 1, ulen);
	s->password = xstrndup(nul2 + 1, plen);
	/* Acting as someone else (proxy authorization) is not offered. */
	if (*s->authzid && strcmp(s->authzid, s->user)) {
		mail_err_set(err, MAIL_NOPERM, "authorization identity %s refused for %s",
			     s->authzid, s->user);
		return SASL_FAIL;
	}
	return SASL_DONE;
}

/* LOGIN: the user, then the password, each one prompt. A NUL inside either
 * cannot be passed to PAM, so it is malformed. */
static enum sasl_result login_answer(struct sasl_state *s, const struct buf *m,
				     struct buf *challenge, struct mail_err *err)
{
	const char *p = m->data ? m->data : "";

	if (!m->len || memchr(p, '\0', m->len)) {
		mail_err_set(err, MAIL_FAIL, "malformed LOGIN %s", s->user ? "password" : "user name");
		return SASL_FAIL;
	}
	if (!s->user) {
		s->user = xstrndup(p, m->len);
		buf_puts(challenge, LOGIN_ASK_PASS);
		return SASL_CONTINUE;
	}
	s->password = xstrndup(p, m->len);
	return SASL_DONE;
}

enum sasl_result sasl_step(struct sasl_state *s, const char *resp, size_t len,
			   struct buf *challenge, struct mail_err *err)
{
	enum sasl_result r;
	struct buf m;

	buf_reset(challenge);
	if (resp && len == 1 && resp[0] == '*') {
		mail_err_set(err, MAIL_FAIL, "authentication cancelled by the client");
		return SASL_FAIL;
	}
	if (s->step++ == 0 && !resp) {
		/* no initial response: PLAIN asks with an empty challenge */
		if (s->mech == SASL_LOGIN)
			buf_puts(challenge, LOGIN_ASK_USER);
		return SASL_CONTINUE;
	}
	if (!resp) {
		mail_err_set(err, MAIL_FAIL, "SASL response missing");
		return SASL_FAIL;
	}
	buf_init(&m);
	if (decode_response(resp, len, &m, err) < 0) {
		buf_free(&m);
		return SASL_FAIL;
	}
	if (s->mech == SASL_PLAIN)
		r = plain_message(s, &m, err);
	else
		r = login_answer(s, &m, challenge, err);
	if (m.data)
		explicit_bzero(m.data, m.len);
	buf_free(&m);
	return r;
}
