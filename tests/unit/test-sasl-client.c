/* test-sasl-client.c: the client SASL mechanisms: RFC 7677's SCRAM-SHA-256
 * exchange byte for byte, a wrong server signature, malformed server
 * messages, the OAuth messages of RFC 7628 and Google's XOAUTH2, and the
 * choice of mechanism. */
#include <string.h>

#include "sasl_client.h"
#include "test.h"

#define RFC7677_NONCE "rOprNGfwEbeRWgbNEkqO"
#define RFC7677_SERVER_FIRST                                                              \
	"r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==," \
	"i=4096"
#define RFC7677_CLIENT_FINAL                                                              \
	"c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,"                  \
	"p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ="
#define RFC7677_SERVER_FINAL "v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4="

static const struct sasl_client_id pencil = {"", "user", "pencil", "imap.example.com", 993};

/* One step with a string challenge (NULL: the initial response). */
static int step(struct sasl_client *s, const char *chal, struct buf *out, struct mail_err *err)
{
	buf_reset(out);
	return sasl_client_step(s, chal, chal ? strlen(chal) : 0, out, err);
}

/* A SCRAM exchange with RFC 7677's nonce, up to the client-final message. */
static void scram_to_final(struct sasl_client *s, struct buf *out, struct mail_err *err)
{
	CHECK(sasl_client_begin(s, SASLC_SCRAM_SHA256, &pencil, err) == 0);
	str_copy(s->nonce, RFC7677_NONCE, sizeof s->nonce);
	CHECK(step(s, NULL, out, err) == 0);
	CHECK_MEM(out->data, out->len, "n,,n=user,r=" RFC7677_NONCE);
	CHECK(step(s, RFC7677_SERVER_FIRST, out, err) == 0);
	CHECK_MEM(out->data, out->len, RFC7677_CLIENT_FINAL);
}

static void test_scram_rfc7677(void)
{
	struct sasl_client s;
	struct buf out;
	struct mail_err err;

	buf_init(&out);
	scram_to_final(&s, &out, &err);
	CHECK(sasl_client_finish(&s, &err) == -1);   /* not before v= */
	CHECK(step(&s, RFC7677_SERVER_FINAL, &out, &err) == 0);
	CHECK(out.len == 0);
	CHECK(sasl_client_finish(&s, &err) == 0);
	sasl_client_end(&s);
	buf_free(&out);
}

static void test_scram_wrong_server_signature(void)
{
	struct sasl_client s;
	struct buf out;
	struct mail_err err;

	buf_init(&out);
	scram_to_final(&s, &out, &err);
	CHECK(step(&s, "v=7rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=", &out, &err) == -1);
	CHECK_STR(err.text, "imap.example.com: the server's signature is wrong: it does not know "
			    "the password (not the server it claims to be?) (SCRAM-SHA-256)");
	CHECK(sasl_client_finish(&s, &err) == -1);
	sasl_client_end(&s);
	buf_free(&out);
}

static void test_scram_malformed_server_first(void)
{
	static const char *const bad[] = {
		"",
		"r=rOprNGfwEbeRWgbNEkqO,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096",  /* nonce not extended */
		"r=XXprNGfwEbeRWgbNEkqOabc,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096",
		"r=rOprNGfwEbeRWgbNEkqOabc,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=0",
		"r=rOprNGfwEbeRWgbNEkqOabc,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=99999999",
		"r=rOprNGfwEbeRWgbNEkqOabc,s=W22ZaJ0SNY7soEsUEjb6gQ=,i=4096",
		"r=rOprNGfwEbeRWgbNEkqOabc,s=,i=4096",
		"r=rOprNGfwEbeRWgbNEkqOabc,i=4096",
		"m=ext,r=rOprNGfwEbeRWgbNEkqOabc,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096",
		"e=unknown-user",
	};
	struct sasl_client s;
	struct buf out;
	struct mail_err err;

	buf_init(&out);
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		CHECK(sasl_client_begin(&s, SASLC_SCRAM_SHA256, &pencil, &err) == 0);
		str_copy(s.nonce, RFC7677_NONCE, sizeof s.nonce);
		CHECK(step(&s, NULL, &out, &err) == 0);
		CHECK(step(&s, bad[i], &out, &err) == -1);
		sasl_client_end(&s);
	}
	CHECK_STR(err.text, "imap.example.com: the server refused: unknown-user (SCRAM-SHA-256)");
	buf_free(&out);
}

static void test_scram_escapes_names(void)
{
	static const struct sasl_client_id odd = {"a=b,c", "x,y=z", "pw", "h", 1};
	struct sasl_client s;
	struct buf out;
	struct mail_err err;

	buf_init(&out);
	CHECK(sasl_client_begin(&s, SASLC_SCRAM_SHA256, &odd, &err) == 0);
	CHECK(strlen(s.nonce) == SASLC_NONCE_LEN && !strchr(s.nonce, ','));
	str_copy(s.nonce, "N", sizeof s.nonce);
	CHECK(step(&s, NULL, &out, &err) == 0);
	CHECK_MEM(out.data, out.len, "n,a=a=3Db=2Cc,n=x=2Cy=3Dz,r=N");
	sasl_client_end(&s);
	buf_free(&out);
}

static void test_oauth_messages(void)
{
	static const struct sasl_client_id tok = {"", "ann@example.com", "vF9dft4qmT", "mx.example",
						  587};
	struct sasl_client s;
	struct buf out;
	struct mail_err err;

	buf_init(&out);
	CHECK(sasl_client_begin(&s, SASLC_OAUTHBEARER, &tok, &err) == 0);
	CHECK(step(&s, NULL, &out, &err) == 0);
	CHECK_MEM(out.data, out.len, "n,a=ann@example.com,\1host=mx.example\1port=587\1auth=Bearer "
				     "vF9dft4qmT\1\1");
	CHECK(step(&s, "{\"status\":\"invalid_token\"}", &out, &err) == 0);
	CHECK_MEM(out.data, out.len, "\1");
	CHECK_STR(sasl_client_server_error(&s), "{\"status\":\"invalid_token\"}");
	CHECK(step(&s, "more", &out, &err) == -1);
	sasl_client_end(&s);
	CHECK(sasl_client_begin(&s, SASLC_XOAUTH2, &tok, &err) == 0);
	CHECK(step(&s, NULL, &out, &err) == 0);
	CHECK_MEM(out.data, out.len, "user=ann@example.com\1auth=Bearer vF9dft4qmT\1\1");
	CHECK(step(&s, "{}", &out, &err) == 0 && out.len == 0);
	sasl_client_end(&s);
	buf_free(&out);
}

static void test_plain_and_login(void)
{
	static const struct sasl_client_id id = {"boss", "tim", "tanstaaf", "h", 1};
	struct sasl_client s;
	struct buf out;
	struct mail_err err;

	buf_init(&out);
	CHECK(sasl_client_begin(&s, SASLC_PLAIN, &id, &err) == 0);
	CHECK(step(&s, "", &out, &err) == 0);   /* the empty challenge of no SASL-IR */
	CHECK(out.len == 17 && !memcmp(out.data, "boss\0tim\0tanstaaf", 17));
	CHECK(step(&s, "", &out, &err) == -1);
	CHECK_STR(err.text, "h: unexpected challenge from the server (PLAIN)");
	sasl_client_end(&s);
	CHECK(sasl_client_begin(&s, SASLC_LOGIN, &id, &err) == 0);
	CHECK(step(&s, NULL, &out, &err) == -1);
	CHECK(step(&s, "Username:", &out, &err) == 0);
	CHECK_MEM(out.data, out.len, "tim");
	CHECK(step(&s, "Password:", &out, &err) == 0);
	CHECK_MEM(out.data, out.len, "tanstaaf");
	sasl_client_end(&s);
	buf_free(&out);
}

static void test_choose(void)
{
	struct mail_err err;
	unsigned all = 1u << SASLC_LOGIN | 1u << SASLC_PLAIN | 1u << SASLC_SCRAM_SHA256 |
		       1u << SASLC_XOAUTH2 | 1u << SASLC_OAUTHBEARER;

	CHECK(sasl_client_choose(all, "", 0, "h", &err) == SASLC_SCRAM_SHA256);
	CHECK(sasl_client_choose(all, "", 1, "h", &err) == SASLC_PLAIN);
	CHECK(sasl_client_choose(all, "xoauth2", 0, "h", &err) == SASLC_XOAUTH2);
	CHECK(sasl_client_choose(1u << SASLC_LOGIN, "", 0, "h", &err) == SASLC_LOGIN);
	CHECK(sasl_client_choose(1u << SASLC_XOAUTH2, "", 0, "h", &err) == -1);
	CHECK_STR(err.text, "h: the server offers no login method we have");
	CHECK(sasl_client_choose(1u << SASLC_PLAIN, "oauthbearer", 0, "h", &err) == -1);
	CHECK_STR(err.text, "h does not offer the OAUTHBEARER mechanism asked for");
	CHECK(sasl_client_choose(all, "CRAM-MD5", 0, "h", &err) == -1);
	CHECK(err.code == MAIL_BADNAME);
}

static void test_answer_in_base64(void)
{
	static const struct sasl_client_id id = {"", "tim", "tanstaaf", "h", 1};
	struct sasl_client s;
	struct mail_err ours = {0}, err;
	struct buf b64;

	buf_init(&b64);
	CHECK(sasl_client_begin(&s, SASLC_LOGIN, &id, &err) == 0);
	CHECK(sasl_client_answer(&s, "VXNlcm5hbWU6", &b64, &ours) == 0);
	CHECK_STR(b64.data, "dGlt");
	CHECK(sasl_client_answer(&s, "not base64!", &b64, &ours) == -1);
	CHECK_STR(ours.text, "h: bad SASL challenge (not base64)");
	CHECK(sasl_client_answer(&s, "UGFzc3dvcmQ6", &b64, &ours) == -1);   /* cancelled for good */
	CHECK(b64.len == 0);
	CHECK(sasl_client_outcome(&s, 0, &ours, &err) == -1);   /* ours beats the server's OK */
	CHECK_STR(err.text, "h: bad SASL challenge (not base64)");
	sasl_client_end(&s);
	buf_free(&b64);
}

/* RFC 4013's examples: a soft hyphen goes, a no-break space is a space, a
 * BEL is refused before any byte exists to send; a SCRAM password with an
 * unassigned code point is refused (stored string), bytes that are not
 * UTF-8 pass as they are. */
static void test_saslprep(void)
{
	static const struct sasl_client_id mapped = {"", "I\xC2\xADX", "a\xC2\xA0" "b", "h", 1};
	static const struct sasl_client_id bel = {"", "user", "ding\x07", "h", 1};
	static const struct sasl_client_id unassigned = {"", "u", "\xF3\xA0\x80\x80x", "h", 1};
	static const struct sasl_client_id latin1 = {"", "u", "caf\xE9", "h", 1};
	struct sasl_client s;
	struct buf out;
	struct mail_err err = {0};

	buf_init(&out);
	CHECK(sasl_client_begin(&s, SASLC_PLAIN, &mapped, &err) == 0);
	CHECK(step(&s, NULL, &out, &err) == 0);
	CHECK(out.len == 7 && !memcmp(out.data, "\0IX\0a b", 7));
	sasl_client_end(&s);
	CHECK(sasl_client_begin(&s, SASLC_SCRAM_SHA256, &bel, &err) == -1);
	CHECK_STR(err.text, "the password is refused by SASLprep (RFC 4013): Prohibited code "
			    "points in input; nothing sent");
	CHECK(sasl_client_begin(&s, SASLC_PLAIN, &unassigned, &err) == 0);
	sasl_client_end(&s);
	CHECK(sasl_client_begin(&s, SASLC_SCRAM_SHA256, &unassigned, &err) == -1);
	CHECK_STR(err.text, "the password is refused by SASLprep (RFC 4013): Forbidden "
			    "unassigned code points in input; nothing sent");
	CHECK(sasl_client_begin(&s, SASLC_PLAIN, &latin1, &err) == 0);
	CHECK(step(&s, NULL, &out, &err) == 0);
	CHECK(out.len == 7 && !memcmp(out.data, "\0u\0caf\xE9", 7));
	sasl_client_end(&s);
	buf_free(&out);
}

int main(void)
{
	RUN(test_saslprep);
	RUN(test_scram_rfc7677);
	RUN(test_scram_wrong_server_signature);
	RUN(test_scram_malformed_server_first);
	RUN(test_scram_escapes_names);
	RUN(test_oauth_messages);
	RUN(test_plain_and_login);
	RUN(test_choose);
	RUN(test_answer_in_base64);
	return test_summary("test-sasl-client");
}
