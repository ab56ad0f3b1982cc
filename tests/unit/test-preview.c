/* test-preview.c: PREVIEW text (preview.c): which part it comes from,
 * HTML reduced to text (markup, script, style, comments, references),
 * white space collapsed, 200 characters of valid UTF-8. */
#include "rfc822_api.h"
#include "test.h"

#include <string.h>

/* The preview of a message written with \n line ends (sent as CRLF). */
static const char *preview_of(const char *lf_text)
{
	static struct buf out;
	struct buf msg;
	struct pool *pool = pool_new();
	struct envelope *env;
	struct body *root;

	buf_init(&msg);
	for (const char *p = lf_text; *p; p++) {
		if (*p == '\n')
			buf_putc(&msg, '\r');
		buf_putc(&msg, *p);
	}
	rfc822_parse(pool, msg.data, msg.len, &env, &root);
	buf_reset(&out);
	mime_preview(msg.data, msg.len, root, &out);
	buf_putc(&out, '\0');
	buf_free(&msg);
	pool_free(pool);
	return out.data;
}

static void plain_text_collapsed(void)
{
	CHECK_STR(preview_of("Subject: a\n\n  Hello,\n\n\tworld!  \n"), "Hello, world!");
	CHECK_STR(preview_of("Subject: a\nContent-Type: text/plain; charset=iso-8859-1\n"
			     "Content-Transfer-Encoding: quoted-printable\n\nd=E9j=E0 vu\n"),
		  "d\xc3\xa9j\xc3\xa0 vu");
	CHECK_STR(preview_of("Subject: a\n\n"), "");
}

static void html_reduced_to_text(void)
{
	CHECK_STR(preview_of("Content-Type: text/html\n\n<html><head><title>T</title>"
			     "<style>b{}</style><SCRIPT>if (a<b) x();</SCRIPT></head>"
			     "<body><!-- <p>no</p> --><p>one&amp;two</p><p>&lt;&#65;&#x42;"
			     "&unknown; &nbsp;end</p></body></html>\n"),
		  "T one&two <AB&unknown; end");
	/* markup that never ends hides the rest, never more */
	CHECK_STR(preview_of("Content-Type: text/html\n\nvisible <b unclosed\n"), "visible");
}

static void part_choice(void)
{
	CHECK_STR(preview_of("Content-Type: multipart/alternative; boundary=b\n\n"
			     "--b\nContent-Type: text/html\n\n<p>html</p>\n"
			     "--b\nContent-Type: text/plain\n\nplain\n--b--\n"),
		  "plain");
	CHECK_STR(preview_of("Content-Type: multipart/mixed; boundary=b\n\n"
			     "--b\nContent-Type: text/plain\nContent-Disposition: attachment\n\n"
			     "attached\n--b\nContent-Type: message/rfc822\n\nSubject: in\n\ninner\n"
			     "--b--\n"),
		  "");
}

static void at_most_200_characters_of_utf8(void)
{
	struct buf text;

	buf_init(&text);
	buf_puts(&text, "Content-Type: text/plain; charset=utf-8\n\n");
	for (int i = 0; i < 150; i++)
		buf_puts(&text, "\xc3\xa9\xe2\x82\xac");   /* two characters, five octets */
	buf_puts(&text, "\n");
	const char *p = preview_of(text.data);
	CHECK(strlen(p) == 100 * 5);
	buf_free(&text);
	/* bytes that are not UTF-8 become U+FFFD, one each */
	CHECK_STR(preview_of("Content-Type: text/plain; charset=utf-8\n\na\xff\xc3z\n"),
		  "a\xef\xbf\xbd\xef\xbf\xbdz");
}

int main(void)
{
	RUN(plain_text_collapsed);
	RUN(html_reduced_to_text);
	RUN(part_choice);
	RUN(at_most_200_characters_of_utf8);
	return test_summary("test-preview");
}
