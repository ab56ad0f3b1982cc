/* test-pop3-text.c: the POP3 multi-line body of a message (dot-stuffing,
 * CRLF line ends, the terminator) and TOP's cut after n body lines. The
 * code under test is ipopd's, compiled in here (the unit-test rule links
 * only the libraries). */
#include "test.h"
#include "util.h"

#include "../../ipopd/pop3_text.c"

static void sink_buf(void *ctx, const char *p, size_t n)
{
	buf_append(ctx, p, n);
}

/* Send s (NUL-terminated for convenience; the code takes a length) and
 * compare with want. */
static void check_send(const char *s, long long lines, const char *want)
{
	struct buf out;

	buf_init(&out);
	pop3_send_text(sink_buf, &out, s, strlen(s), lines);
	CHECK_MEM(out.data, out.len, want);
	buf_free(&out);
}

static void test_whole_message_is_stuffed(void)
{
	check_send("Subject: x\r\n\r\n.\r\n..a\r\nb.\r\n.", -1,
		   "Subject: x\r\n\r\n..\r\n...a\r\nb.\r\n..\r\n.\r\n");
}

static void test_line_ends_become_crlf(void)
{
	check_send("a\nb\r\nc", -1, "a\r\nb\r\nc\r\n.\r\n");
	check_send("", -1, ".\r\n");
	check_send("\r\n", -1, "\r\n.\r\n");
}

static void test_top_cuts_the_body(void)
{
	const char *m = "A: 1\r\nB: 2\r\n\r\nl1\r\n.l2\r\nl3\r\n";

	check_send(m, 0, "A: 1\r\nB: 2\r\n\r\n.\r\n");
	check_send(m, 2, "A: 1\r\nB: 2\r\n\r\nl1\r\n..l2\r\n.\r\n");
	check_send(m, 99, "A: 1\r\nB: 2\r\n\r\nl1\r\n..l2\r\nl3\r\n.\r\n");
	/* a message that is all header */
	check_send("A: 1\r\nB: 2", 0, "A: 1\r\nB: 2\r\n.\r\n");
	/* an empty header: the body starts at once */
	check_send("\r\nbody\r\nmore\r\n", 1, "\r\nbody\r\n.\r\n");
}

static void test_embedded_nul_is_data(void)
{
	struct buf out;
	const char m[] = "a\0b\r\n.\0\r\n";

	buf_init(&out);
	pop3_send_text(sink_buf, &out, m, sizeof m - 1, -1);
	CHECK(out.len == sizeof "a\0b\r\n..\0\r\n.\r\n" - 1);
	CHECK(memcmp(out.data, "a\0b\r\n..\0\r\n.\r\n", out.len) == 0);
	buf_free(&out);
}

int main(void)
{
	RUN(test_whole_message_is_stuffed);
	RUN(test_line_ends_become_crlf);
	RUN(test_top_cuts_the_body);
	RUN(test_embedded_nul_is_data);
	return test_summary("test-pop3-text");
}
