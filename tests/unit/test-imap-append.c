/* test-imap-append.c: APPEND's argument parser (imap_append_parse): one
 * message or several (MULTIAPPEND, RFC 3502), each with its own flags and
 * date, the inputs a client gets BAD for, and literal announcements. */
#include "imapd.h"
#include "test.h"

static struct pool *pool;

/* Parse s (with its embedded NULs: len given) as the text after "APPEND". */
static int parse(const char *s, size_t len, char **name, struct mail_new **msgs, size_t *n,
		 const char **error)
{
	struct parser p;
	struct cat_part **cats;
	int r;

	p_init(&p, s, len, pool);
	r = imap_append_parse(&p, name, msgs, &cats, n, 4);
	*error = p.error;
	return r;
}

#define PARSE(lit, name, msgs, n, err) parse(lit, sizeof lit - 1, name, msgs, n, err)

/* One message, no flags or date: the text points into the command. */
static void single_message(void)
{
	static const char in[] = " INBOX {5}\r\nhe\0lo";
	struct mail_new *m;
	const char *err;
	char *name;
	size_t n;

	CHECK(PARSE(in, &name, &m, &n, &err) == 0);
	CHECK_STR(name, "INBOX");
	CHECK(n == 1 && m[0].len == 5 && m[0].text == in + 12);
	CHECK(m[0].flags == 0 && m[0].keywords == NULL && m[0].date == 0);
}

/* RFC 3502's example: the second message has its own flags and date. */
static void rfc3502_example(void)
{
	static const char in[] = " saved-messages (\\Seen) {3}\r\nabc"
				 " (\\Seen $Work) \" 7-Feb-1994 22:43:04 -0800\" {2+}\r\nde";
	struct mail_new *m;
	const char *err;
	char *name;
	size_t n;

	CHECK(PARSE(in, &name, &m, &n, &err) == 0);
	CHECK_STR(name, "saved-messages");
	CHECK(n == 2);
	CHECK(m[0].flags == MF_SEEN && m[0].date == 0 && m[0].len == 3 && !memcmp(m[0].text, "abc", 3));
	CHECK(m[1].flags == MF_SEEN && m[1].keywords && m[1].keywords[1] == NULL);
	CHECK_STR(m[1].keywords[0], "$Work");
	CHECK(m[1].date == 760689784 && m[1].tz_minutes == -480);
	CHECK(m[1].len == 2 && !memcmp(m[1].text, "de", 2));
}

/* More messages than the limit: 1, the caller answers NO [LIMIT]. */
static void too_many(void)
{
	static const char in[] = " INBOX {1}\r\na {1}\r\nb {1}\r\nc {1}\r\nd {1}\r\ne";
	static const char four[] = " INBOX {1}\r\na {1}\r\nb {1}\r\nc {1}\r\nd";
	struct mail_new *m;
	const char *err;
	char *name;
	size_t n;

	CHECK(PARSE(in, &name, &m, &n, &err) == 1);
	CHECK(PARSE(four, &name, &m, &n, &err) == 0 && n == 4);
	CHECK(m[3].len == 1 && m[3].text[0] == 'd');
}

/* Inputs a client is told BAD for, with the reason it is given. */
static void bad_input(void)
{
	static const struct {
		const char *in, *why;
	} cases[] = {
		{" INBOX", "Missing argument"},
		{"", "Missing argument"},
		{" INBOX (\\Seen)", "Missing argument"},
		{" INBOX \"quoted text\"", "Bad date"},
		{" INBOX hello", "The message must be sent as a literal"},
		{" INBOX {1}\r\na ", "The message must be sent as a literal"},
		{" INBOX {1}\r\na  {1}\r\nb", "The message must be sent as a literal"},
		{" INBOX {1}\r\na (\\Recent) {1}\r\nb", "Invalid flag"},
		{" INBOX {1}\r\na \"31-Feb-2024 25:00:00 +0000\" {1}\r\nb", "Bad time in date-time"},
		{" INBOX {1}\r\na \"1-Jan-2024 10:00:00 +0000\"", "Missing argument"},
		{" INBOX {1}\r\na {5}\r\nb", "Literal shorter than announced"},
	};
	struct mail_new *m;
	const char *err;
	char *name;
	size_t n;

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		CHECK(parse(cases[i].in, strlen(cases[i].in), &name, &m, &n, &err) == -1);
		CHECK(err && !strncmp(err, cases[i].why, strlen(cases[i].why)));
		if (!err || strncmp(err, cases[i].why, strlen(cases[i].why)))
			fprintf(stderr, "  case %zu: %s\n", i, err ? err : "(no reason)");
	}
}

/* The literal announcement at the end of a line (the command reader and
 * UNAUTHENTICATE's answer to what was sent behind it). */
static void literal_announcements(void)
{
	static const struct {
		const char *line;
		int found;
		uint64_t n;
		int nonsync;
	} cases[] = {
		{"a APPEND INBOX {5}", 1, 5, 0},   {"{12+}", 1, 12, 1},
		{"x {0}", 1, 0, 0},                {"x {}", 0, 0, 0},
		{"x {+}", 0, 0, 0},                {"x {5}y", 0, 0, 0},
		{"x 5}", 0, 0, 0},                 {"x {99999999999999}", 0, 0, 0},
		{"}", 0, 0, 0},
	};
	uint64_t n;
	int nonsync;

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		int r = p_literal_at_end(cases[i].line, strlen(cases[i].line), &n, &nonsync);
		CHECK(r == cases[i].found);
		if (r)
			CHECK(n == cases[i].n && nonsync == cases[i].nonsync);
	}
}

int main(void)
{
	pool = pool_new();
	RUN(single_message);
	RUN(rfc3502_example);
	RUN(too_many);
	RUN(bad_input);
	RUN(literal_announcements);
	pool_free(pool);
	return test_summary("test-imap-append");
}
