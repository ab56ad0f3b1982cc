/* test-imapurl.c: the IMAP URL parser (imapurl.c): RFC 4469's relative
 * URLs, RFC 4467's authorized URLs and their rump, RFC 5092's escapes,
 * and what must be refused. */
#include "imapurl.h"
#include "test.h"

static struct pool *pool;

static int parse(const char *s, struct imapurl *u)
{
	const char *why;

	return imapurl_parse(s, strlen(s), pool, u, &why);
}

static void test_rfc4469_relative(void)
{
	struct imapurl u;

	CHECK(parse("/Drafts;UIDVALIDITY=385759045/;UID=20/;section=1.MIME", &u) == 0);
	CHECK(!u.absolute && !u.user && u.access == URLA_NONE && !u.partial);
	CHECK_STR(u.mailbox, "Drafts");
	CHECK(u.uidvalidity == 385759045 && u.uid == 20);
	CHECK_STR(u.section, "1.MIME");
}

static void test_rfc4467_urlauth(void)
{
	static const char s[] = "imap://joe@example.com/INBOX/;uid=20/;section=1.2;"
				"urlauth=submit+fred:internal:91354a473744909de610943775f92038";
	struct imapurl u;

	CHECK(parse(s, &u) == 0);
	CHECK(u.absolute && u.uid == 20 && !u.uidvalidity && u.access == URLA_SUBMIT);
	CHECK_STR(u.user, "joe");
	CHECK_STR(u.access_user, "fred");
	CHECK_STR(u.mech, "internal");
	CHECK_STR(u.token, "91354a473744909de610943775f92038");
	CHECK(u.rump_len == strlen(s) - strlen(":internal:91354a473744909de610943775f92038"));
}

static void test_escapes_partial_expire(void)
{
	struct imapurl u;

	CHECK(parse("imap://fr%65d;AUTH=*@h:143/a%20b/c/;UID=2/;SECTION=HEADER.FIELDS%20(FROM)"
		    "/;PARTIAL=5;EXPIRE=1970-01-02T00:00:00Z;URLAUTH=anonymous", &u) == 0);
	CHECK_STR(u.user, "fred");
	CHECK_STR(u.mailbox, "a b/c");
	CHECK_STR(u.section, "HEADER.FIELDS (FROM)");
	CHECK(u.partial && u.origin == 5 && u.length == 0);
	CHECK(u.expire == 86400 && u.access == URLA_ANONYMOUS && !u.mech);
	CHECK(parse("/inbox/;UID=1/;PARTIAL=0.7", &u) == 0);
	CHECK_STR(u.mailbox, "INBOX");
	CHECK(u.partial && u.origin == 0 && u.length == 7);
	/* UTF-8 in the URL, modified UTF-7 as we keep the name */
	CHECK(parse("/%C3%A9t%C3%A9/;UID=1", &u) == 0);
	CHECK_STR(u.mailbox, "&AOk-t&AOk-");
}

static void test_refused(void)
{
	static const char *const bad[] = {
		"INBOX/;UID=1", "/INBOX", "/INBOX/;UID=0", "/INBOX/;UID=4294967296",
		"/;UID=1", "/INBOX/;UID=1/;SECTION=", "/a%00b/;UID=1", "/a%4/;UID=1",
		"/a b/;UID=1", "/INBOX/;UID=1;EXPIRE=2020-01-01T00:00:00Z",
		"/INBOX/;UID=1;URLAUTH=nobody", "/INBOX/;UID=1;URLAUTH=user+",
		"/INBOX/;UID=1;URLAUTH=anonymous:internal:abc",
		"/INBOX/;UID=1;URLAUTH=anonymous:in ternal:" "91354a473744909de610943775f92038",
		"/INBOX/;UID=1/;PARTIAL=1.0", "/INBOX/;UID=1 trailing", "imap://@/INBOX/;UID=1",
		"imap://joe@/INBOX/;UID=1", "/%FF/;UID=1",
	};
	struct imapurl u;

	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
		if (parse(bad[i], &u) == 0) {
			fprintf(stderr, "accepted: %s\n", bad[i]);
			CHECK(0);
		}
	CHECK(1);
}

int main(void)
{
	pool = pool_new();
	RUN(test_rfc4469_relative);
	RUN(test_rfc4467_urlauth);
	RUN(test_escapes_partial_expire);
	RUN(test_refused);
	pool_free(pool);
	return test_summary("test-imapurl");
}
