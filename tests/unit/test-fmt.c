/* test-fmt.c: IMAP syntax of library values: NIL/quoted/literal choices,
 * ENVELOPE and BODY/BODYSTRUCTURE exactly as a client reads them. The
 * expected strings were checked against Dovecot 2.3 (MIME tokens aside,
 * which we send upper case as UW imapd does). */
#include "imap_fmt.h"
#include "imap_resp.h"
#include "test.h"

#include <string.h>

static struct buf out;

static const char *fmt_nstring(const char *s)
{
	buf_reset(&out);
	imap_put_nstring(&out, s);
	return out.data;
}

static const char *fmt_astring(const char *s)
{
	buf_reset(&out);
	imap_put_astring(&out, s);
	return out.data;
}

/* Parse a message written with \n line ends (sent as CRLF) and format it. */
static const char *fmt_msg(const char *lf_text, int what)
{
	struct pool *pool = pool_new();
	struct buf msg;
	struct envelope *env;
	struct body *body;

	buf_init(&msg);
	for (const char *p = lf_text; *p; p++) {
		if (*p == '\n')
			buf_putc(&msg, '\r');
		buf_putc(&msg, *p);
	}
	rfc822_parse(pool, msg.data, msg.len, &env, &body);
	buf_reset(&out);
	if (what == 0)
		imap_put_envelope(&out, env);
	else
		imap_put_body(&out, body, what == 2);
	buf_free(&msg);
	pool_free(pool);
	return out.data;
}

#define ENVELOPE(m) fmt_msg(m, 0)
#define BODY(m) fmt_msg(m, 1)
#define BODYSTRUCTURE(m) fmt_msg(m, 2)

static void test_nstring_nil_and_quoted(void)
{
	CHECK_STR(fmt_nstring(NULL), "NIL");
	CHECK_STR(fmt_nstring(""), "\"\"");
	CHECK_STR(fmt_nstring("hello world"), "\"hello world\"");
	CHECK_STR(fmt_nstring("tab\there"), "\"tab\there\"");
	CHECK_STR(fmt_nstring("a \"b\" c\\"), "\"a \\\"b\\\" c\\\\\"");
}

static void test_nstring_literal(void)
{
	CHECK_STR(fmt_nstring("two\r\nlines"), "{10}\r\ntwo\r\nlines");
	CHECK_STR(fmt_nstring("caf\xc3\xa9"), "{5}\r\ncaf\xc3\xa9");
	/* four escapes still quoted, five make a literal */
	CHECK_STR(fmt_nstring("\"\"\"\""), "\"\\\"\\\"\\\"\\\"\"");
	CHECK_STR(fmt_nstring("\"\"\"\"\""), "{5}\r\n\"\"\"\"\"");
	buf_reset(&out);
	imap_put_nstring_n(&out, "a\0b", 3);
	CHECK(out.len == 8 && !memcmp(out.data, "{3}\r\na\0b", 8));
}

static void test_nstring_long_is_literal(void)
{
	char big[5000];

	memset(big, 'x', sizeof big - 1);
	big[sizeof big - 1] = '\0';
	fmt_nstring(big);
	CHECK(!strncmp(out.data, "{4999}\r\nxxx", 11));
	CHECK(out.len == 4999 + 8);
}

static void test_astring(void)
{
	CHECK_STR(fmt_astring("INBOX"), "INBOX");
	CHECK_STR(fmt_astring("Sent]Items"), "Sent]Items");
	CHECK_STR(fmt_astring("My Folder"), "\"My Folder\"");
	CHECK_STR(fmt_astring(""), "\"\"");
	CHECK_STR(fmt_astring("nil"), "\"nil\"");
	CHECK_STR(fmt_astring("a%b"), "\"a%b\"");
	CHECK_STR(fmt_astring("a{b"), "\"a{b\"");
	CHECK_STR(fmt_astring("\xc3\xa9t\xc3\xa9"), "{5}\r\n\xc3\xa9t\xc3\xa9");
}

static void test_envelope_basic(void)
{
	CHECK_STR(ENVELOPE("Date: Mon, 7 Feb 1994 21:52:25 -0800 (PST)\n"
			   "From: Fred Foobar <foobar@Blurdybloop.example>\n"
			   "Subject: afternoon meeting\n"
			   "To: mooch@owatagu.siam.edu.example\n"
			   "Message-Id: <B27397-0100000@Blurdybloop.example>\n"
			   "MIME-Version: 1.0\n"
			   "\n"
			   "Hello Joe, do you think we can meet at 3:30 tomorrow?\n"),
		  "(\"Mon, 7 Feb 1994 21:52:25 -0800 (PST)\" \"afternoon meeting\" "
		  "((\"Fred Foobar\" NIL \"foobar\" \"Blurdybloop.example\")) "
		  "((\"Fred Foobar\" NIL \"foobar\" \"Blurdybloop.example\")) "
		  "((\"Fred Foobar\" NIL \"foobar\" \"Blurdybloop.example\")) "
		  "((NIL NIL \"mooch\" \"owatagu.siam.edu.example\")) NIL NIL NIL "
		  "\"<B27397-0100000@Blurdybloop.example>\")");
}

static void test_envelope_empty(void)
{
	CHECK_STR(ENVELOPE("no header at all"),
		  "(NIL NIL NIL NIL NIL NIL NIL NIL NIL NIL)");
	buf_reset(&out);
	imap_put_envelope(&out, NULL);
	CHECK_STR(out.data, "(NIL NIL NIL NIL NIL NIL NIL NIL NIL NIL)");
}

static void test_envelope_sender_reply_to_given(void)
{
	CHECK_STR(ENVELOPE("From: a@example.com\nSender: s@example.com\n"
			   "Reply-To: r@example.com\n\n"),
		  "(NIL NIL ((NIL NIL \"a\" \"example.com\")) ((NIL NIL \"s\" \"example.com\")) "
		  "((NIL NIL \"r\" \"example.com\")) NIL NIL NIL NIL NIL)");
	/* an empty Reply-To: still defaults to From */
	CHECK_STR(ENVELOPE("From: a@example.com\nReply-To:\n\n"),
		  "(NIL NIL ((NIL NIL \"a\" \"example.com\")) ((NIL NIL \"a\" \"example.com\")) "
		  "((NIL NIL \"a\" \"example.com\")) NIL NIL NIL NIL NIL)");
}

static void test_envelope_groups(void)
{
	CHECK_STR(ENVELOPE("To: undisclosed-recipients:;\n"
			   "Cc: \"Team A\": ann@x.example, bob@x.example;, carol@y.example\n\n"),
		  "(NIL NIL NIL NIL NIL ((NIL NIL \"undisclosed-recipients\" NIL)"
		  "(NIL NIL NIL NIL)) ((NIL NIL \"Team A\" NIL)(NIL NIL \"ann\" \"x.example\")"
		  "(NIL NIL \"bob\" \"x.example\")(NIL NIL NIL NIL)"
		  "(NIL NIL \"carol\" \"y.example\")) NIL NIL NIL)");
}

static void test_envelope_subject_for_humans(void)
{
	/* folded and padded: collapsed and sent as a literal, like Dovecot */
	CHECK_STR(ENVELOPE("Subject: multi\n line\tsubject  \n\n"),
		  "(NIL {18}\r\nmulti line subject NIL NIL NIL NIL NIL NIL NIL NIL)");
	/* folding alone is enough for Dovecot to send a literal */
	CHECK_STR(ENVELOPE("Subject: long\n folded\n\n"),
		  "(NIL {11}\r\nlong folded NIL NIL NIL NIL NIL NIL NIL NIL)");
	CHECK_STR(ENVELOPE("Subject:    \n\n"), "(NIL \"\" NIL NIL NIL NIL NIL NIL NIL NIL)");
	CHECK_STR(ENVELOPE("Subject: say \"hi\"\n\n"),
		  "(NIL {8}\r\nsay \"hi\" NIL NIL NIL NIL NIL NIL NIL NIL)");
	CHECK_STR(ENVELOPE("Subject: =?UTF-8?Q?caf=C3=A9?=\n\n"),
		  "(NIL \"=?UTF-8?Q?caf=C3=A9?=\" NIL NIL NIL NIL NIL NIL NIL NIL)");
}

static void test_envelope_last_wins_and_unfold(void)
{
	CHECK_STR(ENVELOPE("Subject: first\nSubject: second\n"
			   "Date: Tue, 2 Jan 2024\n\t10:00:00 +0000  \n"
			   "In-Reply-To: <a@b>\n <c@d>\n"
			   "From: a@b\nFrom: c@d\n\n"),
		  "(\"Tue, 2 Jan 2024\t10:00:00 +0000  \" \"second\" "
		  "((NIL NIL \"a\" \"b\")(NIL NIL \"c\" \"d\")) "
		  "((NIL NIL \"a\" \"b\")(NIL NIL \"c\" \"d\")) "
		  "((NIL NIL \"a\" \"b\")(NIL NIL \"c\" \"d\")) NIL NIL NIL \"<a@b> <c@d>\" NIL)");
}

static void test_envelope_personal_names(void)
{
	CHECK_STR(ENVELOPE("From: \"Joe Q. Public\" <joe@example.com>, Mary    Ann Smith "
			   "<@r1,@r2:mary@x.test>, bob@example.com (Bob  Smith), "
			   "\"\" <e@x>, \"a\\\"b\" <q@x>\n\n"),
		  "(NIL NIL ((\"Joe Q. Public\" NIL \"joe\" \"example.com\")"
		  "(\"Mary Ann Smith\" \"@r1,@r2\" \"mary\" \"x.test\")"
		  "({9}\r\nBob Smith NIL \"bob\" \"example.com\")"
		  "(NIL NIL \"e\" \"x\")({3}\r\na\"b NIL \"q\" \"x\")) "
		  "((\"Joe Q. Public\" NIL \"joe\" \"example.com\")"
		  "(\"Mary Ann Smith\" \"@r1,@r2\" \"mary\" \"x.test\")"
		  "({9}\r\nBob Smith NIL \"bob\" \"example.com\")"
		  "(NIL NIL \"e\" \"x\")({3}\r\na\"b NIL \"q\" \"x\")) "
		  "((\"Joe Q. Public\" NIL \"joe\" \"example.com\")"
		  "(\"Mary Ann Smith\" \"@r1,@r2\" \"mary\" \"x.test\")"
		  "({9}\r\nBob Smith NIL \"bob\" \"example.com\")"
		  "(NIL NIL \"e\" \"x\")({3}\r\na\"b NIL \"q\" \"x\")) NIL NIL NIL NIL NIL)");
}

static void test_envelope_malformed_addresses(void)
{
	CHECK_STR(ENVELOPE("To: a@, @b, <g@h, i@j>, Name <k@l> junk, m@n\n"
			   "Cc: ,,q@r,,\nBcc: broken <<>>, x@y\n\n"),
		  "(NIL NIL NIL NIL NIL "
		  "((NIL NIL \"a\" \"MISSING_DOMAIN\")(NIL NIL \"MISSING_MAILBOX\" \"b\")"
		  "(NIL NIL \"g\" \"SYNTAX_ERROR\")(NIL NIL \"i\" \"j\")) "
		  "((NIL NIL \"MISSING_MAILBOX\" \"MISSING_DOMAIN\")"
		  "(NIL NIL \"MISSING_MAILBOX\" \"MISSING_DOMAIN\")(NIL NIL \"q\" \"r\")"
		  "(NIL NIL \"MISSING_MAILBOX\" \"MISSING_DOMAIN\")) "
		  "((\"broken\" NIL \"MISSING_MAILBOX\" \"SYNTAX_ERROR\")) NIL NIL)");
	CHECK_STR(ENVELOPE("To: plainuser, John Smith, \"quoted only\", \"d e\"@f.g\n\n"),
		  "(NIL NIL NIL NIL NIL ((NIL NIL \"plainuser\" \"MISSING_DOMAIN\")"
		  "(\"John Smith\" NIL \"MISSING_MAILBOX\" \"MISSING_DOMAIN\")"
		  "(\"quoted only\" NIL \"MISSING_MAILBOX\" \"MISSING_DOMAIN\")"
		  "(NIL NIL \"d e\" \"f.g\")) NIL NIL NIL NIL)");
}

static const char nested[] =
	"From: a@b\n"
	"Subject: multi\n"
	"Content-Type: multipart/mixed; boundary=\"xx\"\n"
	"\n"
	"preamble\n"
	"--xx\n"
	"Content-Type: text/plain; charset=UTF-8\n"
	"Content-Language: en, fr\n"
	"Content-Disposition: attachment; filename=\"a.txt\"\n"
	"Content-Location: http://x/y\n"
	"Content-ID: <cid@x>\n"
	"Content-Description: desc \"here\"\n"
	"Content-MD5: Q2hlY2sgSW50ZWdyaXR5IQ==\n"
	"\n"
	"hello\n"
	"world\n"
	"--xx\n"
	"Content-Type: message/rfc822\n"
	"\n"
	"From: inner@x\n"
	"Subject: inner\n"
	"Content-Type: multipart/alternative; boundary=yy\n"
	"\n"
	"--yy\n"
	"\n"
	"plain\n"
	"--yy\n"
	"Content-Type: text/html; name*0=\"a\"; name*1=\"b\"; q*0*=us-ascii'en'a%20; q*1*=b\n"
	"\n"
	"<p>\n"
	"--yy--\n"
	"--xx\n"
	"Content-Type: text\n"
	"\n"
	"last\n"
	"--xx--\n"
	"epilogue\n";

static void test_bodystructure_nested(void)
{
	CHECK_STR(BODYSTRUCTURE(nested),
		  "((\"TEXT\" \"PLAIN\" (\"CHARSET\" \"UTF-8\") \"<cid@x>\" \"desc \\\"here\\\"\" "
		  "\"7BIT\" 12 1 \"Q2hlY2sgSW50ZWdyaXR5IQ==\" (\"ATTACHMENT\" (\"FILENAME\" "
		  "\"a.txt\")) (\"en\" \"fr\") \"http://x/y\")"
		  "(\"MESSAGE\" \"RFC822\" NIL NIL NIL \"7BIT\" 199 (NIL \"inner\" "
		  "((NIL NIL \"inner\" \"x\")) ((NIL NIL \"inner\" \"x\")) ((NIL NIL \"inner\" \"x\")) "
		  "NIL NIL NIL NIL NIL) ((\"TEXT\" \"PLAIN\" (\"CHARSET\" \"US-ASCII\") NIL NIL "
		  "\"7BIT\" 5 0 NIL NIL NIL NIL)(\"TEXT\" \"HTML\" (\"NAME\" \"ab\" \"Q*\" "
		  "\"us-ascii'en'a%20b\" \"CHARSET\" \"US-ASCII\") NIL NIL \"7BIT\" 3 0 NIL NIL NIL "
		  "NIL) \"ALTERNATIVE\" (\"BOUNDARY\" \"yy\") NIL NIL NIL) 12 NIL NIL NIL NIL)"
		  "(\"TEXT\" \"\" (\"CHARSET\" \"US-ASCII\") NIL NIL \"7BIT\" 4 0 NIL NIL NIL NIL) "
		  "\"MIXED\" (\"BOUNDARY\" \"xx\") NIL NIL NIL)");
}

static void test_body_nested(void)
{
	CHECK_STR(BODY(nested),
		  "((\"TEXT\" \"PLAIN\" (\"CHARSET\" \"UTF-8\") \"<cid@x>\" \"desc \\\"here\\\"\" "
		  "\"7BIT\" 12 1)"
		  "(\"MESSAGE\" \"RFC822\" NIL NIL NIL \"7BIT\" 199 (NIL \"inner\" "
		  "((NIL NIL \"inner\" \"x\")) ((NIL NIL \"inner\" \"x\")) ((NIL NIL \"inner\" \"x\")) "
		  "NIL NIL NIL NIL NIL) ((\"TEXT\" \"PLAIN\" (\"CHARSET\" \"US-ASCII\") NIL NIL "
		  "\"7BIT\" 5 0)(\"TEXT\" \"HTML\" (\"NAME\" \"ab\" \"Q*\" "
		  "\"us-ascii'en'a%20b\" \"CHARSET\" \"US-ASCII\") NIL NIL \"7BIT\" 3 0) "
		  "\"ALTERNATIVE\") 12)"
		  "(\"TEXT\" \"\" (\"CHARSET\" \"US-ASCII\") NIL NIL \"7BIT\" 4 0) \"MIXED\")");
}

static void test_bodystructure_simple(void)
{
	CHECK_STR(BODYSTRUCTURE("From: a@b\nSubject: hi\n\nhello\n"),
		  "(\"TEXT\" \"PLAIN\" (\"CHARSET\" \"US-ASCII\") NIL NIL \"7BIT\" 7 1 NIL NIL NIL NIL)");
	CHECK_STR(BODY("Content-Type: application/octet-stream; name=x.bin\n"
		       "Content-Transfer-Encoding: Base64 \n\nAAAA\n"),
		  "(\"APPLICATION\" \"OCTET-STREAM\" (\"NAME\" \"x.bin\") NIL NIL \"BASE64\" 6)");
}

static void test_bodystructure_digest_and_empty_multipart(void)
{
	CHECK_STR(BODYSTRUCTURE("Content-Type: multipart/digest; boundary=d\n\n"
				"--d\n\nFrom: x@y\nSubject: digest part\n\ntext\n"
				"--d\nContent-Type: multipart/mixed\n\nno boundary\n--d--\n"),
		  "((\"MESSAGE\" \"RFC822\" NIL NIL NIL \"7BIT\" 39 (NIL \"digest part\" "
		  "((NIL NIL \"x\" \"y\")) ((NIL NIL \"x\" \"y\")) ((NIL NIL \"x\" \"y\")) NIL NIL NIL "
		  "NIL NIL) (\"TEXT\" \"PLAIN\" (\"CHARSET\" \"US-ASCII\") NIL NIL \"7BIT\" 4 0 NIL NIL "
		  "NIL NIL) 3 NIL NIL NIL NIL)((\"TEXT\" \"PLAIN\" (\"CHARSET\" \"US-ASCII\") NIL NIL "
		  "\"7BIT\" 0 0 NIL NIL NIL NIL) \"MIXED\" NIL NIL NIL NIL) \"DIGEST\" "
		  "(\"BOUNDARY\" \"d\") NIL NIL NIL)");
}

static void test_bodystructure_malformed_params(void)
{
	CHECK_STR(BODYSTRUCTURE("Content-Type: text/plain; a; b=1; c=2; bad=\n"
				"Content-Disposition: inline\nContent-Language: en\n\nx\n"),
		  "(\"TEXT\" \"PLAIN\" (\"C\" \"2\" \"BAD\" \"\" \"CHARSET\" \"US-ASCII\") NIL NIL "
		  "\"7BIT\" 3 1 NIL (\"INLINE\" NIL) (\"en\") NIL)");
	CHECK_STR(BODYSTRUCTURE("Content-Type: /plain\n\nx"),
		  "(\"\" \"\" NIL NIL NIL \"7BIT\" 1 NIL NIL NIL NIL)");
}

static void test_bodystructure_base64_message(void)
{
	/* Dovecot parses it anyway: the base64 line is read as a header */
	CHECK_STR(BODYSTRUCTURE("Content-Type: multipart/mixed; boundary=xx\n\n--xx\n"
				"Content-Type: message/rfc822\nContent-Transfer-Encoding: base64\n"
				"\nZm9v\n--xx--\n"),
		  "((\"MESSAGE\" \"RFC822\" NIL NIL NIL \"BASE64\" 6 (NIL NIL NIL NIL NIL NIL NIL NIL "
		  "NIL NIL) (\"TEXT\" \"PLAIN\" (\"CHARSET\" \"US-ASCII\") NIL NIL \"7BIT\" 0 0 NIL "
		  "NIL NIL NIL) 1 NIL NIL NIL NIL) \"MIXED\" (\"BOUNDARY\" \"xx\") NIL NIL NIL)");
}

static void test_body_null(void)
{
	buf_reset(&out);
	imap_put_body(&out, NULL, 0);
	CHECK_STR(out.data, "(\"TEXT\" \"PLAIN\" (\"CHARSET\" \"US-ASCII\") NIL NIL \"7BIT\" 0 0)");
}

/* INTERNALDATE and the numbers of a FETCH line, written without printf:
 * padding, zones both sides of UTC, the largest values. */
static void test_date_time_and_numbers(void)
{
	buf_reset(&out);
	imap_date_time(&out, 1736157600, 0);            /* 2025-01-06 10:00:00 UTC */
	CHECK_STR(out.data, "06-Jan-2025 10:00:00 +0000");
	buf_reset(&out);
	imap_date_time(&out, 1736157600, -(4 * 60 + 30));
	CHECK_STR(out.data, "06-Jan-2025 05:30:00 -0430");
	buf_reset(&out);
	imap_date_time(&out, 946684799, 13 * 60 + 45);  /* 1999-12-31 23:59:59 UTC */
	CHECK_STR(out.data, "01-Jan-2000 13:44:59 +1345");
	buf_reset(&out);
	buf_put_uint(&out, 0, 0);
	buf_putc(&out, ' ');
	buf_put_uint(&out, 7, 3);
	buf_putc(&out, ' ');
	buf_put_uint(&out, 12345, 2);
	buf_putc(&out, ' ');
	buf_put_uint(&out, UINT64_MAX, 0);
	CHECK_STR(out.data, "0 007 12345 18446744073709551615");
}

int main(void)
{
	buf_init(&out);
	RUN(test_nstring_nil_and_quoted);
	RUN(test_date_time_and_numbers);
	RUN(test_nstring_literal);
	RUN(test_nstring_long_is_literal);
	RUN(test_astring);
	RUN(test_envelope_basic);
	RUN(test_envelope_empty);
	RUN(test_envelope_sender_reply_to_given);
	RUN(test_envelope_groups);
	RUN(test_envelope_subject_for_humans);
	RUN(test_envelope_last_wins_and_unfold);
	RUN(test_envelope_personal_names);
	RUN(test_envelope_malformed_addresses);
	RUN(test_bodystructure_nested);
	RUN(test_body_nested);
	RUN(test_bodystructure_simple);
	RUN(test_bodystructure_digest_and_empty_multipart);
	RUN(test_bodystructure_malformed_params);
	RUN(test_bodystructure_base64_message);
	RUN(test_body_null);
	buf_free(&out);
	return test_summary("test-fmt");
}
