/* sasl_client.c: client SASL mechanisms as small state machines over raw
 * bytes. SCRAM-SHA-256 is the one with real work: the salted password by
 * PBKDF2, the proof, and the check that the server knew the password too. */
#include "sasl_client.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <openssl/sha.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "sasl.h"
#include "saslprep.h"

/* A server asking for more PBKDF2 rounds than this is refused: a hostile
 * server must not keep the client busy for minutes (real ones use 4096 to
 * some 600,000). */
#define SCRAM_MAX_ITER 5000000u
#define SCRAM_MAX_SALT 1024

static const char *const names[SASLC_COUNT] = {
	[SASLC_LOGIN] = "LOGIN",
	[SASLC_PLAIN] = "PLAIN",
	[SASLC_SCRAM_SHA256] = "SCRAM-SHA-256",
	[SASLC_XOAUTH2] = "XOAUTH2",
	[SASLC_OAUTHBEARER] = "OAUTHBEARER",
};

const char *sasl_client_name(enum sasl_cmech m)
{
	return names[m];
}

int sasl_client_find(const char *name, size_t len)
{
	for (int m = 0; m < SASLC_COUNT; m++)
		if (!str_casecmp_n(name, len, names[m]))
			return m;
	return -1;
}

int sasl_client_wants_token(enum sasl_cmech m)
{
	return m == SASLC_XOAUTH2 || m == SASLC_OAUTHBEARER;
}

int sasl_client_has_initial(enum sasl_cmech m)
{
	return m != SASLC_LOGIN;
}

int sasl_client_choose(unsigned offered, const char *forced, int authz, const char *host,
		       struct mail_err *err)
{
	if (forced && *forced) {
		int m = sasl_client_find(forced, strlen(forced));
		if (m < 0) {
			mail_err_set(err, MAIL_BADNAME, "unknown SASL mechanism %s (we have LOGIN, "
				     "PLAIN, SCRAM-SHA-256, XOAUTH2, OAUTHBEARER)", forced);
			return -1;
		}
		if (!(offered & 1u << m)) {
			mail_err_set(err, MAIL_FAIL, "%s does not offer the %s mechanism asked for",
				     host, names[m]);
			return -1;
		}
		return m;
	}
	/* SCRAM has no authorization identity that servers agree on */
	if (authz)
		return SASLC_PLAIN;
	for (int m = SASLC_SCRAM_SHA256; m >= 0; m--)
		if (offered & 1u << m)
			return m;
	mail_err_set(err, MAIL_FAIL, "%s: the server offers no login method we have", host);
	return -1;
}

void sasl_b64_encode(struct buf *out, const void *src, size_t n)
{
	static const char d[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	const unsigned char *p = src;

	for (size_t i = 0; i < n; i += 3) {
		unsigned v = (unsigned)p[i] << 16 | (i + 1 < n ? (unsigned)p[i + 1] << 8 : 0) |
			     (i + 2 < n ? p[i + 2] : 0);
		buf_putc(out, d[v >> 18 & 63]);
		buf_putc(out, d[v >> 12 & 63]);
		buf_putc(out, i + 1 < n ? d[v >> 6 & 63] : '=');
		buf_putc(out, i + 2 < n ? d[v & 63] : '=');
	}
}

/* SASLprep the identities and the password into s->prep, s->id pointing
 * at them: names as queries, SCRAM's password as a stored string (RFC
 * 5802 2.2), PLAIN's as a query (the server prepares it again). */
static int prepare(struct sasl_client *s, struct mail_err *err)
{
	const char **field[3] = {&s->id.authz, &s->id.authc, &s->id.secret};
	static const char *const what[3] = {"authorization name", "user name", "password"};

	for (int i = 0; i < 3; i++) {
		if (saslprep(*field[i], i == 2 && s->mech == SASLC_SCRAM_SHA256, what[i], &s->prep[i],
			     err) < 0)
			return -1;
		*field[i] = s->prep[i];
	}
	return 0;
}

int sasl_client_begin(struct sasl_client *s, enum sasl_cmech m, const struct sasl_client_id *id,
		      struct mail_err *err)
{
	unsigned char raw[SASLC_NONCE_LEN * 3 / 4];
	struct buf b64;

	memset(s, 0, sizeof *s);
	s->mech = m;
	s->id = *id;
	if (!s->id.authz)
		s->id.authz = "";
	buf_init(&s->auth_msg);
	if ((m == SASLC_PLAIN || m == SASLC_SCRAM_SHA256) && prepare(s, err) < 0) {
		sasl_client_end(s);
		return -1;
	}
	if (m != SASLC_SCRAM_SHA256)
		return 0;
	if (RAND_bytes(raw, sizeof raw) != 1)
		fatal("no random bytes for a SCRAM nonce");
	buf_init(&b64);
	sasl_b64_encode(&b64, raw, sizeof raw);   /* base64 never holds a ',' */
	str_copy(s->nonce, b64.data, sizeof s->nonce);
	buf_free(&b64);
	return 0;
}

void sasl_client_end(struct sasl_client *s)
{
	if (s->auth_msg.data)
		explicit_bzero(s->auth_msg.data, s->auth_msg.len);
	buf_free(&s->auth_msg);
	explicit_bzero(s->server_sig, sizeof s->server_sig);
	for (int i = 0; i < 3; i++) {
		if (s->prep[i])
			explicit_bzero(s->prep[i], strlen(s->prep[i]));
		free(s->prep[i]);
		s->prep[i] = NULL;
	}
}

const char *sasl_client_server_error(const struct sasl_client *s)
{
	return s->server_error;
}

/* A user name in SCRAM and GS2 syntax: ',' and '=' escaped (RFC 5802 5.1). */
static void put_saslname(struct buf *out, const char *name)
{
	for (; *name; name++) {
		if (*name == ',')
			buf_puts(out, "=2C");
		else if (*name == '=')
			buf_puts(out, "=3D");
		else
			buf_putc(out, *name);
	}
}

/* The GS2 header: no channel binding, and the authorization identity. */
static void put_gs2_header(struct buf *out, const char *authz)
{
	buf_puts(out, "n,");
	if (*authz) {
		buf_puts(out, "a=");
		put_saslname(out, authz);
	}
	buf_putc(out, ',');
}

/* The first message of each mechanism that has one. */
static void initial(struct sasl_client *s, struct buf *out)
{
	const struct sasl_client_id *id = &s->id;

	switch (s->mech) {
	case SASLC_PLAIN:
		buf_append(out, id->authz, strlen(id->authz) + 1);
		buf_append(out, id->authc, strlen(id->authc) + 1);
		buf_puts(out, id->secret);
		break;
	case SASLC_SCRAM_SHA256:
		put_gs2_header(out, id->authz);
		size_t bare = out->len;
		buf_puts(out, "n=");
		put_saslname(out, id->authc);
		buf_printf(out, ",r=%s", s->nonce);
		buf_append(&s->auth_msg, out->data + bare, out->len - bare);
		break;
	case SASLC_XOAUTH2:
		buf_printf(out, "user=%s\1auth=Bearer %s\1\1", *id->authz ? id->authz : id->authc,
			   id->secret);
		break;
	case SASLC_OAUTHBEARER:
		put_gs2_header(out, *id->authz ? id->authz : id->authc);
		buf_printf(out, "\1host=%s\1port=%u\1auth=Bearer %s\1\1", id->host, id->port,
			   id->secret);
		break;
	default:
		break;
	}
}

/* Refuse what the server sent at this step. */
static int bad(struct sasl_client *s, struct mail_err *err, const char *why)
{
	mail_err_set(err, MAIL_FAIL, "%s: %s (%s)", s->id.host, why, names[s->mech]);
	return -1;
}

/* The value of "k=..." at *p in a SCRAM message, up to the next ','. */
static int scram_attr(const char **p, const char *end, char k, const char **v, size_t *vlen)
{
	const char *q = *p;

	if (end - q < 2 || q[0] != k || q[1] != '=')
		return -1;
	q += 2;
	const char *comma = memchr(q, ',', (size_t)(end - q));
	*v = q;
	*vlen = (size_t)((comma ? comma : end) - q);
	*p = comma ? comma + 1 : end;
	return 0;
}

/* The server's "e=..." as the reason, for messages that may carry one. */
static int scram_server_error(struct sasl_client *s, const char *m, size_t len,
			      struct mail_err *err)
{
	char why[160];

	snprintf(why, sizeof why, "the server refused: %.*s", (int)(len > 100 ? 100 : len), m + 2);
	for (char *c = why; *c; c++)
		if ((unsigned char)*c < 0x20 || (unsigned char)*c >= 0x7f)
			*c = '?';
	return bad(s, err, why);
}

/* HMAC-SHA-256 of n bytes under a 32-byte key. */
static void hmac256(const unsigned char *key, const void *data, size_t n, unsigned char *out)
{
	unsigned int len = 32;

	HMAC(EVP_sha256(), key, 32, data, n, out, &len);
}

/* ClientProof into proof and the ServerSignature we expect into s. */
static int scram_keys(struct sasl_client *s, const struct buf *salt, unsigned iter,
		      unsigned char *proof)
{
	unsigned char salted[32], ckey[32], stored[32], sig[32], skey[32];

	if (!PKCS5_PBKDF2_HMAC(s->id.secret, (int)strlen(s->id.secret),
			       (const unsigned char *)salt->data, (int)salt->len, (int)iter,
			       EVP_sha256(), sizeof salted, salted))
		return -1;
	hmac256(salted, "Client Key", 10, ckey);
	SHA256(ckey, sizeof ckey, stored);
	hmac256(stored, s->auth_msg.data, s->auth_msg.len, sig);
	for (int i = 0; i < 32; i++)
		proof[i] = ckey[i] ^ sig[i];
	hmac256(salted, "Server Key", 10, skey);
	hmac256(skey, s->auth_msg.data, s->auth_msg.len, s->server_sig);
	explicit_bzero(salted, sizeof salted);
	explicit_bzero(ckey, sizeof ckey);
	explicit_bzero(skey, sizeof skey);
	return 0;
}

/* "r=nonce,s=salt,i=iterations[,ext]": the client-final message. */
static int scram_first(struct sasl_client *s, const char *m, size_t len, struct buf *out,
		       struct mail_err *err)
{
	const char *p = m, *end = m + len, *r, *salt64, *it;
	size_t rlen, slen, ilen, nlen = strlen(s->nonce);
	unsigned long iter = 0;
	unsigned char proof[32];
	struct buf salt;

	if (len >= 2 && !memcmp(m, "e=", 2))
		return scram_server_error(s, m, len, err);
	if (scram_attr(&p, end, 'r', &r, &rlen) < 0 || scram_attr(&p, end, 's', &salt64, &slen) < 0 ||
	    scram_attr(&p, end, 'i', &it, &ilen) < 0)
		return bad(s, err, "malformed server-first message");
	if (rlen <= nlen || memcmp(r, s->nonce, nlen))
		return bad(s, err, "the server's nonce does not extend ours");
	for (size_t i = 0; i < rlen; i++)
		if (r[i] < 0x21 || r[i] > 0x7e)
			return bad(s, err, "the server's nonce is not printable");
	for (size_t i = 0; i < ilen; i++)
		if (it[i] < '0' || it[i] > '9' || (iter = iter * 10 + (unsigned)(it[i] - '0')) >
							   SCRAM_MAX_ITER)
			return bad(s, err, "iteration count missing or too large");
	buf_init(&salt);
	if (!ilen || !iter || !slen || slen > SCRAM_MAX_SALT * 4 / 3 + 4 ||
	    sasl_b64_decode(salt64, slen, &salt) < 0 || !salt.len) {
		buf_free(&salt);
		return bad(s, err, "malformed salt or iteration count");
	}
	struct buf gs2;
	buf_init(&gs2);
	put_gs2_header(&gs2, s->id.authz);
	size_t start = out->len;
	buf_puts(out, "c=");
	sasl_b64_encode(out, gs2.data, gs2.len);
	buf_printf(out, ",r=%.*s", (int)rlen, r);
	buf_free(&gs2);
	buf_putc(&s->auth_msg, ',');
	buf_append(&s->auth_msg, m, len);
	buf_putc(&s->auth_msg, ',');
	buf_append(&s->auth_msg, out->data + start, out->len - start);
	int rc = scram_keys(s, &salt, (unsigned)iter, proof);
	buf_free(&salt);
	if (rc < 0)
		return bad(s, err, "PBKDF2 failed");
	buf_puts(out, ",p=");
	sasl_b64_encode(out, proof, sizeof proof);
	return 0;
}

/* "v=signature" or "e=error": check the server knew the password. */
static int scram_final(struct sasl_client *s, const char *m, size_t len, struct mail_err *err)
{
	const char *p = m, *v;
	size_t vlen;
	struct buf sig;

	if (len >= 2 && !memcmp(m, "e=", 2))
		return scram_server_error(s, m, len, err);
	if (scram_attr(&p, m + len, 'v', &v, &vlen) < 0)
		return bad(s, err, "malformed server-final message");
	buf_init(&sig);
	int ok = vlen <= 64 && sasl_b64_decode(v, vlen, &sig) == 0 && sig.len == 32 &&
		 !CRYPTO_memcmp(sig.data, s->server_sig, 32);
	buf_free(&sig);
	if (!ok)
		return bad(s, err, "the server's signature is wrong: it does not know the "
				   "password (not the server it claims to be?)");
	s->verified = 1;
	return 0;
}

/* Keep an OAuth server's error (JSON) for the report, printable only. */
static void keep_error(struct sasl_client *s, const char *chal, size_t len)
{
	size_t n = 0;

	for (size_t i = 0; i < len && n + 1 < sizeof s->server_error; i++)
		if ((unsigned char)chal[i] >= 0x20 && (unsigned char)chal[i] < 0x7f)
			s->server_error[n++] = chal[i];
	s->server_error[n] = 0;
}

/* A challenge after the initial response, by mechanism. */
static int next(struct sasl_client *s, const char *chal, size_t len, struct buf *out,
		struct mail_err *err)
{
	switch (s->mech) {
	case SASLC_LOGIN:
		if (s->step > 1)
			break;
		buf_puts(out, s->step == 0 ? s->id.authc : s->id.secret);
		return 0;
	case SASLC_SCRAM_SHA256:
		if (s->step == 1)
			return scram_first(s, chal, len, out, err);
		if (s->step == 2)
			return scram_final(s, chal, len, err);
		break;
	case SASLC_XOAUTH2:
	case SASLC_OAUTHBEARER:
		if (s->step > 1)
			break;
		/* the token was refused; the answer lets the server say NO */
		keep_error(s, chal, len);
		if (s->mech == SASLC_OAUTHBEARER)
			buf_putc(out, '\1');
		return 0;
	default:
		break;
	}
	return bad(s, err, "unexpected challenge from the server");
}

int sasl_client_step(struct sasl_client *s, const char *chal, size_t len, struct buf *out,
		     struct mail_err *err)
{
	int r = 0;

	if (s->step == 0 && sasl_client_has_initial(s->mech))
		initial(s, out);   /* a challenge before it (no SASL-IR) is empty */
	else if (!chal && s->step == 0)
		return bad(s, err, "no initial response in this mechanism");
	else
		r = next(s, chal ? chal : "", chal ? len : 0, out, err);
	s->step++;
	return r;
}

int sasl_client_finish(struct sasl_client *s, struct mail_err *err)
{
	if (s->mech == SASLC_SCRAM_SHA256 && !s->verified)
		return bad(s, err, "the server accepted us without proving it knows the password");
	if (s->step == 0)
		return bad(s, err, "the server accepted us before we said who we are");
	return 0;
}

int sasl_client_answer(struct sasl_client *s, const char *chal_b64, struct buf *b64,
		       struct mail_err *ours)
{
	struct buf chal, raw;
	int r = -1;

	buf_reset(b64);
	if (ours->text[0])
		return -1;
	buf_init(&chal);
	buf_init(&raw);
	if (chal_b64 && sasl_b64_decode(chal_b64, strlen(chal_b64), &chal) < 0)
		mail_err_set(ours, MAIL_FAIL, "%s: bad SASL challenge (not base64)", s->id.host);
	else if ((r = sasl_client_step(s, chal_b64 ? chal.data : NULL, chal.len, &raw, ours)) == 0)
		sasl_b64_encode(b64, raw.data, raw.len);
	if (raw.data)
		explicit_bzero(raw.data, raw.len);
	buf_free(&raw);
	buf_free(&chal);
	return r;
}

int sasl_client_outcome(struct sasl_client *s, int r, const struct mail_err *ours,
			struct mail_err *err)
{
	struct mail_err mine = *ours;

	if (r == 0 && !mine.text[0])
		sasl_client_finish(s, &mine);
	if (!mine.text[0])
		return r;
	*err = mine;
	return -1;
}
