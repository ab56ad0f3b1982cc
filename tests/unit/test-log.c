/* test-log.c: log_escape, the one place where every mail-log line is made
 * safe: no client byte may end a line, start an escape sequence or pass for
 * an escape we wrote. */
#include "log.h"
#include "test.h"

#include <string.h>

static const char *esc(const char *in, size_t size)
{
	static char out[256];

	memset(out, 'Z', sizeof out);
	log_escape(out, size, in);
	return out;
}

static void printable_ascii_unchanged(void)
{
	CHECK_STR(esc("Login failed user=bob auth=bob host=h [192.0.2.1]", 256),
		  "Login failed user=bob auth=bob host=h [192.0.2.1]");
	CHECK_STR(esc("", 256), "");
}

static void line_breaks_and_controls_escaped(void)
{
	CHECK_STR(esc("a\r\nimapd[1]: Login failed", 256), "a\\x0d\\x0aimapd[1]: Login failed");
	CHECK_STR(esc("\x1b[2J\x7f\t", 256), "\\x1b[2J\\x7f\\x09");
	/* C1 controls and U+2028 (some viewers break lines there) */
	CHECK_STR(esc("\xc2\x85 \xe2\x80\xa8", 256), "\\xc2\\x85 \\xe2\\x80\\xa8");
	/* a backslash the client sent cannot pose as one of our escapes */
	CHECK_STR(esc("\\x0a", 256), "\\x5cx0a");
}

static void cut_short_never_splits_an_escape(void)
{
	size_t n;
	char out[8];

	CHECK_STR(esc("abc\ndef", 6), "abc");      /* "\x0a" does not fit: cut before */
	CHECK_STR(esc("abcdefgh", 4), "abc");
	CHECK_STR(esc("\n", 4), "");
	CHECK_STR(esc("\n", 5), "\\x0a");
	n = log_escape(out, sizeof out, "\n\n\n");
	CHECK(n == 4 && !strcmp(out, "\\x0a"));
	CHECK(log_escape(out, 0, "x") == 0);
}

int main(void)
{
	RUN(printable_ascii_unchanged);
	RUN(line_breaks_and_controls_escaped);
	RUN(cut_short_never_splits_an_escape);
	return test_summary("test-log");
}
