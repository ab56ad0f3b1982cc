/* test-mutf7.c: modified UTF-7 mailbox names (RFC 3501 5.1.3) checked and
 * turned into UTF-8 and back, with the RFC's own example. */
#include "mutf7.h"
#include "test.h"

#include <stdlib.h>

static char got[256];

/* to_utf8 of s as a string to compare ("(null)" when refused). */
static const char *to8(const char *s)
{
	char *u = mutf7_to_utf8(s, strlen(s));

	snprintf(got, sizeof got, "%s", u ? u : "(null)");
	free(u);
	return got;
}

/* from_utf8 of s, the same way. */
static const char *to7(const char *s)
{
	char *u = mutf7_from_utf8(s, strlen(s));

	snprintf(got, sizeof got, "%s", u ? u : "(null)");
	free(u);
	return got;
}

static void test_rfc3501_example(void)
{
	CHECK_STR(to8("~peter/mail/&U,BTFw-/&ZeVnLIqe-"),
		  "~peter/mail/\xe5\x8f\xb0\xe5\x8c\x97/\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e");
	CHECK_STR(to7("~peter/mail/\xe5\x8f\xb0\xe5\x8c\x97/\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e"),
		  "~peter/mail/&U,BTFw-/&ZeVnLIqe-");
}

static void test_ampersand_and_ascii(void)
{
	CHECK_STR(to8("Tom &- Jerry"), "Tom & Jerry");
	CHECK_STR(to7("Tom & Jerry"), "Tom &- Jerry");
	CHECK_STR(to7("Caf\xc3\xa9"), "Caf&AOk-");
	CHECK_STR(to8("Caf&AOk-"), "Caf\xc3\xa9");
	CHECK_STR(to7("plain"), "plain");
}

static void test_astral_plane_as_surrogates(void)
{
	CHECK_STR(to7("\xf0\x9f\x98\x80"), "&2D3eAA-");
	CHECK_STR(to8("&2D3eAA-"), "\xf0\x9f\x98\x80");
}

static void test_malformed_refused(void)
{
	static const char *const bad[] = {
		"&AGE-",         /* "a" must stand for itself */
		"&U,BTFw",       /* no closing "-" */
		"&&-",           /* "&" is not base64 */
		"&AOkA-",        /* a superfluous base64 character */
		"&AOl-",         /* padding bits not zero */
		"&2D0-",         /* a lone high surrogate */
		"&3gA-",         /* a lone low surrogate */
		"&AAA-",         /* NUL */
		"caf\xc3\xa9",   /* 8-bit: UTF-8 is not modified UTF-7 */
		"tab\there",
		"&U/BTFw-",      /* "/" is not modified base64 */
		"&AOk-&AOk-",    /* one run spelled as two */
	};
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
		CHECK(!mutf7_valid(bad[i], strlen(bad[i])));
		CHECK_STR(to8(bad[i]), "(null)");
	}
	CHECK(mutf7_valid("INBOX/&U,BTFw-", 14));
}

static void test_bad_utf8_refused(void)
{
	static const char *const bad[] = {"\xc3", "\xc0\xaf", "\xed\xa0\x80", "\xf4\x90\x80\x80",
					  "\xe5\x8f", "\x80"};
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
		CHECK_STR(to7(bad[i]), "(null)");
}

int main(void)
{
	RUN(test_rfc3501_example);
	RUN(test_ampersand_and_ascii);
	RUN(test_astral_plane_as_surrogates);
	RUN(test_malformed_refused);
	RUN(test_bad_utf8_refused);
	return test_summary("test-mutf7");
}
