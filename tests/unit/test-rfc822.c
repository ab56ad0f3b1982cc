/* test-rfc822.c: header blocks, address lists, envelopes, dates, RFC 2047
 * encoded words and charset conversion. */
#include "rfc822_api.h"
#include "test.h"

#include <string.h>

static struct pool *pool;

#define S(lit) lit, sizeof(lit) - 1

static void test_header_len(void)
{
	CHECK(rfc822_header_len(S("A: b\r\nC: d\r\n\r\nbody")) == 14);
	CHECK(rfc822_header_len(S("A: b\nC: d\n\nbody")) == 11);
	CHECK(rfc822_header_len(S("\r\nbody")) == 2);
	CHECK(rfc822_header_len(S("A: b\r\nno blank line")) == 19);
	CHECK(rfc822_header_len(S("")) == 0);
	/* a blank line must be at a line start, not inside a field */
	CHECK(rfc822_header_len(S("A: b\r\n \r\n\r\nx")) == 11);
}

static const char hdr[] = "Received: from a\r\n\tby b\r\n"
			  "Subject: first\r\n"
			  "X-Folded: one\r\n two\r\n"
			  "subject: second\r\n"
			  "Bogus line without colon\r\n"
			  "Empty:\r\n"
			  "\r\n";

static void test_header_get(void)
{
	CHECK_STR(rfc822_header_get(pool, S(hdr), "SUBJECT"), "first");
	CHECK_STR(rfc822_header_get(pool, S(hdr), "x-folded"), "one two");
	CHECK_STR(rfc822_header_get(pool, S(hdr), "received"), "from a\tby b");
	CHECK_STR(rfc822_header_get(pool, S(hdr), "empty"), "");
	CHECK_STR(rfc822_header_get(pool, S(hdr), "missing"), NULL);
	CHECK_STR(rfc822_header_get(pool, S(hdr), "Bogus line without colon"), NULL);
	/* counted, not NUL-terminated: nothing past len is read */
	CHECK_STR(rfc822_header_get(pool, hdr, 20, "subject"), NULL);
	CHECK_STR(rfc822_header_get(pool, S("Subject : spaced\n\n"), "subject"), "spaced");
}

static void test_header_filter(void)
{
	struct buf out;
	char *names[] = { "subject", "X-FOLDED" };

	buf_init(&out);
	rfc822_header_filter(S(hdr), names, 2, 0, &out);
	CHECK_STR(out.data, "Subject: first\r\nX-Folded: one\r\n two\r\nsubject: second\r\n\r\n");
	buf_reset(&out);
	rfc822_header_filter(S(hdr), names, 2, 1, &out);
	/* a line that is no field is "not in the list" (Dovecot) */
	CHECK_STR(out.data, "Received: from a\r\n\tby b\r\nBogus line without colon\r\n"
			    "Empty:\r\n\r\n");
	buf_reset(&out);
	rfc822_header_filter(S(hdr), names, 0, 0, &out);
	CHECK_STR(out.data, "\r\n");
	buf_reset(&out);
	rfc822_header_filter(S("Subject: no line end"), names, 1, 0, &out);
	CHECK_STR(out.data, "Subject: no line end\r\n\r\n");
	/* .NOT: no empty line in the block, none in the answer (Dovecot) */
	buf_reset(&out);
	rfc822_header_filter(S("Subject: x\nTo: y\n"), names, 1, 1, &out);
	CHECK_STR(out.data, "To: y\n");
	buf_free(&out);
}

/* Addresses as "personal|adl|mailbox|host" joined by ";" */
static const char *addrs(const char *s)
{
	struct buf b;
	struct address *a = rfc822_parse_addresses(pool, s, strlen(s));
	char *r;

	buf_init(&b);
	for (; a; a = a->next)
		buf_printf(&b, "%s%s|%s|%s|%s", b.len ? ";" : "", a->personal ? a->personal : "-",
			   a->adl ? a->adl : "-", a->mailbox ? a->mailbox : "-", a->host ? a->host : "-");
	r = pool_strdup(pool, b.data ? b.data : "");
	buf_free(&b);
	return r;
}

static void test_addr_simple(void)
{
	CHECK_STR(addrs("joe@example.com"), "-|-|joe|example.com");
	CHECK_STR(addrs("  Joe <joe@example.com>  "), "Joe|-|joe|example.com");
	CHECK_STR(addrs("\"Public, Joe Q.\" <joe@example.com>, mary@x.test"),
		  "Public, Joe Q.|-|joe|example.com;-|-|mary|x.test");
	CHECK_STR(addrs("Joe Q. Public <joe@example.com>"), "Joe Q. Public|-|joe|example.com");
	CHECK_STR(addrs(""), "");
	CHECK_STR(addrs("   "), "");
}

static void test_addr_comments(void)
{
	CHECK_STR(addrs("bob@example.com (Bob Smith)"), "Bob Smith|-|bob|example.com");
	CHECK_STR(addrs("Foo (comm) Bar <e@f>"), "Foo Bar|-|e|f");
	CHECK_STR(addrs("a(x)@(y)b.c (real (nested) name)"), "real (nested) name|-|a|b.c");
	CHECK_STR(addrs("Pete(A nice \\) chap) <pete(his account)@silly.test(his host)>"),
		  "Pete|-|pete|silly.test");
}

static void test_addr_quoted_and_literal(void)
{
	CHECK_STR(addrs("\"d e\"@f.g"), "-|-|d e|f.g");
	CHECK_STR(addrs("\"a\\\"b\" <x@[1.2.3.4]>"), "a\"b|-|x|[1.2.3.4]");
	CHECK_STR(addrs("\"\" <e@x>"), "-|-|e|x");
	CHECK_STR(addrs("=?UTF-8?Q?J=C3=B6rg?= <j@x>"), "=?UTF-8?Q?J=C3=B6rg?=|-|j|x");
	CHECK_STR(addrs("J\xc3\xb6rg <j@x>"), "J\xc3\xb6rg|-|j|x");
}

static void test_addr_route(void)
{
	CHECK_STR(addrs("Mary <@r1.test,@r2.test:mary@x.test>"), "Mary|@r1.test,@r2.test|mary|x.test");
	CHECK_STR(addrs("<@r1,,@r2:m@x>"), "-|@r1,@r2|m|x");
}

static void test_addr_groups(void)
{
	CHECK_STR(addrs("undisclosed-recipients:;"), "-|-|undisclosed-recipients|-;-|-|-|-");
	CHECK_STR(addrs("A Group:Ed Jones <c@a.test>,joe@where.test,John <jdoe@one.test>;, x@y"),
		  "-|-|A Group|-;Ed Jones|-|c|a.test;-|-|joe|where.test;John|-|jdoe|one.test;"
		  "-|-|-|-;-|-|x|y");
	CHECK_STR(addrs("group: a@b.c"), "-|-|group|-;-|-|a|b.c;-|-|-|-");
	CHECK_STR(addrs("\"Quoted G\": ;"), "-|-|Quoted G|-;-|-|-|-");
}

static void test_addr_missing_parts(void)
{
	CHECK_STR(addrs("plainuser"), "-|-|plainuser|MISSING_DOMAIN");
	CHECK_STR(addrs("a@"), "-|-|a|MISSING_DOMAIN");
	CHECK_STR(addrs("@b"), "-|-|MISSING_MAILBOX|b");
	CHECK_STR(addrs("John Smith, a@b"), "John Smith|-|MISSING_MAILBOX|MISSING_DOMAIN;-|-|a|b");
	CHECK_STR(addrs(",,q@r,,"), "-|-|MISSING_MAILBOX|MISSING_DOMAIN;"
				    "-|-|MISSING_MAILBOX|MISSING_DOMAIN;-|-|q|r;"
				    "-|-|MISSING_MAILBOX|MISSING_DOMAIN");
}

static void test_addr_syntax_errors(void)
{
	CHECK_STR(addrs("<g@h, i@j>, k@l"), "-|-|g|SYNTAX_ERROR;-|-|i|j");
	CHECK_STR(addrs("broken <<>>, x@y"), "broken|-|MISSING_MAILBOX|SYNTAX_ERROR");
	CHECK_STR(addrs("a@b c@d, e@f"), "-|-|a|b");
	CHECK_STR(addrs("Name <k@l> junk, m@n"), "Name|-|k|l");
	CHECK_STR(addrs("\"unterminated <a@b>"), "-|-|MISSING_MAILBOX|MISSING_DOMAIN");
	CHECK_STR(addrs("(unterminated comment a@b"), "");
	CHECK_STR(addrs("<>"), "-|-|MISSING_MAILBOX|MISSING_DOMAIN");
	CHECK_STR(addrs(">;:<@,"), "-|-|MISSING_MAILBOX|MISSING_DOMAIN");
	CHECK_STR(addrs("a:b:c;"), "-|-|a|-;-|-|b|MISSING_DOMAIN;-|-|-|-");
}

static void test_addr_counted_input(void)
{
	/* only len bytes are looked at */
	struct address *a = rfc822_parse_addresses(pool, "ab@cd.ef", 5);

	CHECK(a && !a->next);
	CHECK_STR(a->mailbox, "ab");
	CHECK_STR(a->host, "cd");
}

static void test_envelope_defaults(void)
{
	static const char m[] = "From: Alice <a@example.com>\r\nTo: b@example.com\r\n"
				"Subject: hi\r\n\r\nbody\r\n";
	struct envelope *env;
	struct body *body;

	rfc822_parse(pool, S(m), &env, &body);
	CHECK(env->from && env->sender == env->from && env->reply_to == env->from);
	CHECK_STR(env->from->personal, "Alice");
	CHECK_STR(env->subject, "hi");
	CHECK_STR(env->date, NULL);
	CHECK(env->cc == NULL && env->bcc == NULL);
	CHECK_STR(env->to->mailbox, "b");
}

static void test_envelope_fields(void)
{
	static const char m[] = "Date: Mon, 1 Jan 2024 10:00:00 +0100\r\n"
				"Subject: =?utf-8?q?x?=\r\n\tmore\r\n"
				"Sender: s@x\r\nReply-To: r@x, q@x\r\nCc: c@x\r\nBcc: d@x\r\n"
				"In-Reply-To: <p@x>\r\nMessage-ID:   <m@x>\r\n"
				"Subject: nul\0x\r\n\r\n";
	struct envelope *env;
	struct body *body;

	rfc822_parse(pool, S(m), &env, &body);
	CHECK_STR(env->date, "Mon, 1 Jan 2024 10:00:00 +0100");
	CHECK_STR(env->subject, "nul\xef\xbf\xbdx");
	CHECK(env->from == NULL);
	CHECK_STR(env->sender->mailbox, "s");
	CHECK_STR(env->reply_to->next->mailbox, "q");
	CHECK_STR(env->cc->host, "x");
	CHECK_STR(env->bcc->mailbox, "d");
	CHECK_STR(env->in_reply_to, "<p@x>");
	CHECK_STR(env->message_id, "<m@x>");
}

static void test_envelope_many_address_headers(void)
{
	struct buf m;
	struct envelope *env;
	struct body *body;
	int n = 0;

	buf_init(&m);
	for (int i = 0; i < 20000; i++)
		buf_printf(&m, "To: u%d@x\r\n", i);
	buf_puts(&m, "\r\n");
	rfc822_parse(pool, m.data, m.len, &env, &body);
	for (struct address *a = env->to; a; a = a->next)
		n++;
	CHECK(n == 20000);
	buf_free(&m);
}

static int date(const char *s, time_t *t, int *tz)
{
	return rfc822_parse_date(s, strlen(s), t, tz);
}

static void test_date_rfc5322(void)
{
	time_t t;
	int tz;

	CHECK(date("Mon, 1 Jan 2024 10:00:00 +0100", &t, &tz) == 0);
	CHECK(t == 1704099600 && tz == 60);
	CHECK(date("1 Jan 2024 10:00 -0530", &t, &tz) == 0);
	CHECK(t == 1704123000 && tz == -330);
	CHECK(date("  Tue,  2 Jan 2024 00:00:00 +0000 (UTC)  ", &t, &tz) == 0);
	CHECK(t == 1704153600 && tz == 0);
	CHECK(date("Sat, 29 Feb 2020 23:59:60 +0000", &t, &tz) == 0);
	CHECK(t == 1583020799);
}

static void test_date_obsolete(void)
{
	time_t t;
	int tz;

	CHECK(date("Fri, 21 Nov 97 09:55:06 GMT", &t, &tz) == 0);
	CHECK(t == 880106106 && tz == 0);
	CHECK(date("21 Nov 05 09:55:06 EST", &t, &tz) == 0);
	CHECK(t == 1132584906 && tz == -300);
	CHECK(date("Thu, 13 Feb 109 23:31:30 PDT", &t, &tz) == 0);
	CHECK(t == 1234593090 && tz == -420);
	CHECK(date("Thu,\r\n 13\r\n Feb\r\n 1969\r\n 23:32\r\n -0330 (Newfoundland Time)", &t,
		   &tz) == 0);
	CHECK(t == -27723480 && tz == -210);
	CHECK(date("13 Feb 2009 23:31:30 Z", &t, &tz) == 0 && t == 1234567890);
	CHECK(date("13 Feb 2009 23:31:30 q", &t, &tz) == 0 && t == 1234567890 && tz == 0);
	CHECK(date("13-Feb-2009 23:31:30 +0000", &t, &tz) == 0 && t == 1234567890);
	CHECK(date("Fri Feb 13 23:31:30 2009", &t, &tz) == 0 && t == 1234567890);
	CHECK(date("13 february 2009", &t, &tz) == 0 && t == 1234483200);
}

static void test_date_invalid(void)
{
	time_t t;
	int tz;

	CHECK(date("", &t, &tz) == -1);
	CHECK(date("yesterday", &t, &tz) == -1);
	CHECK(date("32 Jan 2024 10:00:00", &t, &tz) == -1);
	CHECK(date("1 Foo 2024 10:00:00", &t, &tz) == -1);
	CHECK(date("1 Jan 2024 25:00:00", &t, &tz) == -1);
	CHECK(date("Mon, 1 Jan", &t, &tz) == -1);
	CHECK(rfc822_parse_date("1 Jan 2024 10:00", 5, &t, &tz) == -1);
}

static const char *dec2047(const char *s)
{
	struct buf b;
	char *r;

	buf_init(&b);
	rfc2047_decode(s, strlen(s), &b);
	r = pool_strdup(pool, b.data ? b.data : "");
	buf_free(&b);
	return r;
}

static void test_rfc2047_words(void)
{
	CHECK_STR(dec2047("plain text"), "plain text");
	CHECK_STR(dec2047("=?UTF-8?Q?caf=C3=A9_au_lait?="), "caf\xc3\xa9 au lait");
	CHECK_STR(dec2047("=?utf-8?b?Y2Fmw6k=?="), "caf\xc3\xa9");
	CHECK_STR(dec2047("=?ISO-8859-1?Q?Andr=E9?= Pirard"), "Andr\xc3\xa9 Pirard");
	CHECK_STR(dec2047("Re: =?iso-8859-1?q?p=F6stal?= x"), "Re: p\xc3\xb6stal x");
	CHECK_STR(dec2047("=?UTF-8*en?Q?a?="), "a");
}

static void test_rfc2047_adjacent(void)
{
	CHECK_STR(dec2047("=?ISO-8859-1?Q?a?= =?ISO-8859-1?Q?b?="), "ab");
	CHECK_STR(dec2047("=?ISO-8859-1?Q?a?=\r\n   =?ISO-8859-1?Q?b?="), "ab");
	CHECK_STR(dec2047("=?ISO-8859-1?Q?a?= b"), "a b");
	CHECK_STR(dec2047("=?ISO-8859-1?Q?a?=  trailing  "), "a  trailing  ");
	CHECK_STR(dec2047("(=?ISO-8859-1?Q?a?=)"), "(a)");
	/* a UTF-8 character split across two words */
	CHECK_STR(dec2047("=?UTF-8?B?w6k=?= =?UTF-8?B?w6k=?="), "\xc3\xa9\xc3\xa9");
	CHECK_STR(dec2047("=?UTF-8?Q?=C3?= =?UTF-8?Q?=A9?="), "\xc3\xa9");
}

static void test_rfc2047_malformed(void)
{
	CHECK_STR(dec2047("=?x-unknown-cs?Q?abc?= tail"), "=?x-unknown-cs?Q?abc?= tail");
	CHECK_STR(dec2047("=?UTF-8?X?abc?="), "=?UTF-8?X?abc?=");
	CHECK_STR(dec2047("=?UTF-8?Q?no end"), "=?UTF-8?Q?no end");
	CHECK_STR(dec2047("=?UTF-8?Q?sp ace?="), "=?UTF-8?Q?sp ace?=");
	CHECK_STR(dec2047("=??Q?a?="), "=??Q?a?=");
	CHECK_STR(dec2047("=?"), "=?");
	CHECK_STR(dec2047("=?UTF-8?B?!!!?="), "");
	CHECK_STR(dec2047("=?UTF-8?Q?=ZZ?="), "=ZZ");
}

static void test_charset_to_utf8(void)
{
	struct buf b;

	buf_init(&b);
	CHECK(charset_to_utf8("iso-8859-1", S("caf\xe9"), &b) == 0);
	CHECK_STR(b.data, "caf\xc3\xa9");
	buf_reset(&b);
	CHECK(charset_to_utf8("windows-1252", S("\x80"), &b) == 0);
	CHECK_STR(b.data, "\xe2\x82\xac");
	buf_reset(&b);
	CHECK(charset_to_utf8("US-ASCII", S("abc"), &b) == 0);
	CHECK_STR(b.data, "abc");
	buf_reset(&b);
	CHECK(charset_to_utf8("no-such-charset", S("abc"), &b) == -1);
	CHECK(b.len == 0);
	/* invalid input: replacement characters, never a failure */
	CHECK(charset_to_utf8("ISO-2022-JP", S("\x1b$B\xff\xff"), &b) == 0);
	CHECK(b.len > 0);
	buf_reset(&b);
	CHECK(charset_to_utf8("UTF-16LE", S("a\0b"), &b) == 0);
	CHECK(!strncmp(b.data, "a", 1));
	buf_free(&b);
}

int main(void)
{
	pool = pool_new();
	RUN(test_header_len);
	RUN(test_header_get);
	RUN(test_header_filter);
	RUN(test_addr_simple);
	RUN(test_addr_comments);
	RUN(test_addr_quoted_and_literal);
	RUN(test_addr_route);
	RUN(test_addr_groups);
	RUN(test_addr_missing_parts);
	RUN(test_addr_syntax_errors);
	RUN(test_addr_counted_input);
	RUN(test_envelope_defaults);
	RUN(test_envelope_fields);
	RUN(test_envelope_many_address_headers);
	RUN(test_date_rfc5322);
	RUN(test_date_obsolete);
	RUN(test_date_invalid);
	RUN(test_rfc2047_words);
	RUN(test_rfc2047_adjacent);
	RUN(test_rfc2047_malformed);
	RUN(test_charset_to_utf8);
	pool_free(pool);
	return test_summary("test-rfc822");
}
