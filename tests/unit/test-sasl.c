/* test-sasl.c: the SASL PLAIN and LOGIN state machines: initial responses,
 * challenges, strict base64, cancelling and every malformed message. */
#include <stdlib.h>
#include <string.h>

#include "sasl.h"
#include "test.h"

static enum sasl_result step(struct sasl_state *s, const char *resp, struct buf *chal)
{
	struct mail_err err;

	return sasl_step(s, resp, resp ? strlen(resp) : 0, chal, &err);
}

static void test_mech_find(void)
{
	CHECK(sasl_mech_find("PLAIN") == SASL_PLAIN);
	CHECK(sasl_mech_find("plain") == SASL_PLAIN);
	CHECK(sasl_mech_find("Login") == SASL_LOGIN);
	CHECK(sasl_mech_find("CRAM-MD5") == -1);
	CHECK(sasl_mech_find("") == -1);
}

/* "\0tim\0tanstaaftanstaaf" from RFC 4616's example */
#define PLAIN_TIM "AHRpbQB0YW5zdGFhZnRhbnN0YWFm"

static void test_plain_initial_response(void)
{
	struct sasl_state s;
	struct buf chal;

	buf_init(&chal);
	sasl_begin(&s, SASL_PLAIN);
	CHECK(step(&s, PLAIN_TIM, &chal) == SASL_DONE);
	CHECK_STR(s.user, "tim");
	CHECK_STR(s.password, "tanstaaftanstaaf");
	CHECK_STR(s.authzid, "");
	sasl_end(&s);
	CHECK(s.user == NULL && s.password == NULL);
	buf_free(&chal);
}

static void test_plain_empty_challenge_first(void)
{
	struct sasl_state s;
	struct buf chal;

	buf_init(&chal);
	sasl_begin(&s, SASL_PLAIN);
	CHECK(step(&s, NULL, &chal) == SASL_CONTINUE);
	CHECK(chal.len == 0);
	CHECK(step(&s, PLAIN_TIM, &chal) == SASL_DONE);
	CHECK_STR(s.user, "tim");
	sasl_end(&s);
	buf_free(&chal);
}

static void test_plain_authzid(void)
{
	struct sasl_state s;
	struct buf chal;
	struct mail_err err;

	buf_init(&chal);
	sasl_begin(&s, SASL_PLAIN);   /* "tim\0tim\0pw": acting as oneself is fine */
	CHECK(step(&s, "dGltAHRpbQBwdw==", &chal) == SASL_DONE);
	sasl_end(&s);
	sasl_begin(&s, SASL_PLAIN);   /* "bob\0tim\0pw": acting as bob is not */
	CHECK(sasl_step(&s, "Ym9iAHRpbQBwdw==", 16, &chal, &err) == SASL_FAIL);
	CHECK(err.code == MAIL_NOPERM);
	sasl_end(&s);
	buf_free(&chal);
}

static void test_plain_malformed(void)
{
	static const char *bad[] = {
		"=",                 /* empty message */
		"dXNlcgBwYXNz",      /* "user\0pass": one NUL */
		"AABwYXNz",          /* "\0\0pass": no user */
		"AHVzZXIA",          /* "\0user\0": no password */
		"YQBiAGMAZA==",      /* "a\0b\0c\0d": three NULs */
		"AHRpbQB0YW5zdGFhZnRhbnN0YWFm=",   /* bad length */
		"AHRp bQB0YW5zdGFhZnRhbnN0YWFm",   /* space inside */
		"AH==bQB0",          /* data after padding */
		"A===",              /* too much padding */
		"",                  /* empty line after the challenge */
	};
	struct sasl_state s;
	struct buf chal;

	buf_init(&chal);
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		sasl_begin(&s, SASL_PLAIN);
		if (!*bad[i])
			step(&s, NULL, &chal);
		CHECK(step(&s, bad[i], &chal) == SASL_FAIL);
		sasl_end(&s);
	}
	buf_free(&chal);
}

static void test_plain_nul_in_base64_input(void)
{
	struct sasl_state s;
	struct buf chal;
	struct mail_err err;
	const char in[] = "AHRp\0QB0";

	buf_init(&chal);
	sasl_begin(&s, SASL_PLAIN);
	CHECK(sasl_step(&s, in, sizeof in - 1, &chal, &err) == SASL_FAIL);
	sasl_end(&s);
	buf_free(&chal);
}

static void test_cancel(void)
{
	struct sasl_state s;
	struct buf chal;

	buf_init(&chal);
	sasl_begin(&s, SASL_PLAIN);
	CHECK(step(&s, NULL, &chal) == SASL_CONTINUE);
	CHECK(step(&s, "*", &chal) == SASL_FAIL);
	sasl_end(&s);
	sasl_begin(&s, SASL_LOGIN);
	CHECK(step(&s, NULL, &chal) == SASL_CONTINUE);
	CHECK(step(&s, "dGlt", &chal) == SASL_CONTINUE);
	CHECK(step(&s, "*", &chal) == SASL_FAIL);
	sasl_end(&s);
	buf_free(&chal);
}

static void test_login(void)
{
	struct sasl_state s;
	struct buf chal;

	buf_init(&chal);
	sasl_begin(&s, SASL_LOGIN);
	CHECK(step(&s, NULL, &chal) == SASL_CONTINUE);
	CHECK_STR(chal.data, "VXNlcm5hbWU6");          /* "Username:" */
	CHECK(step(&s, "dGlt", &chal) == SASL_CONTINUE);
	CHECK_STR(chal.data, "UGFzc3dvcmQ6");          /* "Password:" */
	CHECK(step(&s, "c2VjcmV0", &chal) == SASL_DONE);
	CHECK_STR(s.user, "tim");
	CHECK_STR(s.password, "secret");
	sasl_end(&s);
	buf_free(&chal);
}

static void test_login_initial_response_and_bad_input(void)
{
	struct sasl_state s;
	struct buf chal;

	buf_init(&chal);
	sasl_begin(&s, SASL_LOGIN);
	CHECK(step(&s, "dGlt", &chal) == SASL_CONTINUE);
	CHECK_STR(chal.data, "UGFzc3dvcmQ6");
	CHECK(step(&s, "", &chal) == SASL_FAIL);       /* empty password */
	sasl_end(&s);
	sasl_begin(&s, SASL_LOGIN);
	CHECK(step(&s, "dAB4", &chal) == SASL_FAIL);   /* "t\0x": NUL in the name */
	sasl_end(&s);
	sasl_begin(&s, SASL_LOGIN);
	CHECK(step(&s, "!!!!", &chal) == SASL_FAIL);
	sasl_end(&s);
	buf_free(&chal);
}

static void test_long_response_refused(void)
{
	struct sasl_state s;
	struct buf chal;
	size_t n = 64 * 1024;
	char *big = malloc(n + 1);

	memset(big, 'A', n);
	big[n] = '\0';
	buf_init(&chal);
	sasl_begin(&s, SASL_PLAIN);
	CHECK(step(&s, big, &chal) == SASL_FAIL);
	sasl_end(&s);
	buf_free(&chal);
	free(big);
}

int main(void)
{
	RUN(test_mech_find);
	RUN(test_plain_initial_response);
	RUN(test_plain_empty_challenge_first);
	RUN(test_plain_authzid);
	RUN(test_plain_malformed);
	RUN(test_plain_nul_in_base64_input);
	RUN(test_cancel);
	RUN(test_login);
	RUN(test_login_initial_response_and_bad_input);
	RUN(test_long_response_refused);
	return test_summary("test-sasl");
}
