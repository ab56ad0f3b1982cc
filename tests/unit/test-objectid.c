/* test-objectid.c: the mailbox id file reader (objectid.c) takes what the
 * writer writes (names with spaces included) and refuses any damage whole,
 * and the objectid grammar check follows RFC 8474's ABNF. */
#include <string.h>

#include "objectid.h"
#include "test.h"

#define MAGIC "imapd-mailboxids 1\n"

/* Two records, one name with a space and a slash, read back exactly. */
static void test_parse_ok(void)
{
	static const char f[] = MAGIC "F0123456789abcdef01234567 5\nINBOX\n"
				"F00112233445566778899aabb 9\na b/c d e\n";
	struct mail_mboxid_set set;
	CHECK(mail_mboxid_parse(f, sizeof f - 1, &set) == 0 && set.n == 2);
	CHECK(!strcmp(set.v[0].id, "F0123456789abcdef01234567") && !strcmp(set.v[0].name, "INBOX"));
	CHECK(!strcmp(set.v[1].name, "a b/c d e"));
	mail_mboxid_free(&set);
	CHECK(mail_mboxid_parse(MAGIC, strlen(MAGIC), &set) == 0 && set.n == 0);
}

/* Each kind of damage refuses the whole file and leaves the set empty. */
static void test_parse_damage(void)
{
	static const char *const bad[] = {
		"imapd-mailboxids 2\n",
		MAGIC "F0123456789abcdef0123456 5\nINBOX\n",   /* short id */
		MAGIC "F0123456789abcdeF01234567 5\nINBOX\n",  /* upper case */
		MAGIC "M0123456789abcdef01234567 5\nINBOX\n",  /* not a mailbox id */
		MAGIC "F0123456789abcdef01234567 6\nINBOX\n",  /* length past the end */
		MAGIC "F0123456789abcdef01234567 4\nINBOX\n",  /* no newline after */
		MAGIC "F0123456789abcdef01234567 0\n\n",       /* empty name */
		MAGIC "F0123456789abcdef01234567 5\nINBOX",    /* cut */
		MAGIC "F0123456789abcdef01234567 99999999999999999999\n",
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		struct mail_mboxid_set set;
		CHECK(mail_mboxid_parse(bad[i], strlen(bad[i]), &set) < 0 && !set.n && !set.v);
	}
	static const char nul[] = MAGIC "F0123456789abcdef01234567 3\na\0b\n";
	struct mail_mboxid_set set;
	CHECK(mail_mboxid_parse(nul, sizeof nul - 1, &set) < 0);
}

/* RFC 8474's objectid: 1*255 of ALPHA, DIGIT, "_", "-". */
static void test_grammar(void)
{
	char longest[256];
	memset(longest, 'a', sizeof longest);
	CHECK(mail_objectid_valid("F2212ea87-6097-4256-9d51-71338625", 33));
	CHECK(mail_objectid_valid("M_x-1", 5) && mail_objectid_valid(longest, 255));
	CHECK(!mail_objectid_valid(longest, 256) && !mail_objectid_valid("", 0));
	CHECK(!mail_objectid_valid("a.b", 3) && !mail_objectid_valid("a b", 3) &&
	      !mail_objectid_valid("a\0b", 3));
}

int main(void)
{
	RUN(test_parse_ok);
	RUN(test_parse_damage);
	RUN(test_grammar);
	return test_summary("test-objectid");
}
