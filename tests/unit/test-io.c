/* test-io.c: io_readline's bound. A line past max stops the read at max
 * bytes (a line bomb costs no more than that); io_skip_line drops the rest
 * for a protocol that answers and goes on. */
#include "io.h"
#include "io_fixture.h"
#include "test.h"

#include <unistd.h>

static void lines_up_to_max_are_read_whole(void)
{
	struct io io;
	struct buf b;

	buf_init(&b);
	io_over(&io, "a1 NOOP\r\n0123456789\nlast", 24);
	CHECK(io_readline(&io, &b, 10) == IO_OK);
	CHECK_MEM(b.data, b.len, "a1 NOOP");
	buf_reset(&b);
	CHECK(io_readline(&io, &b, 10) == IO_OK);   /* exactly max, LF alone */
	CHECK_MEM(b.data, b.len, "0123456789");
	buf_reset(&b);
	CHECK(io_readline(&io, &b, 10) == IO_EOF);   /* no line end: not a line */
	close(io.in_fd);
	buf_free(&b);
}

static void longer_line_stops_at_max(void)
{
	struct io io;
	struct buf b;

	buf_init(&b);
	io_over(&io, "0123456789ABCDEF\r\nnext\r\n", 24);
	CHECK(io_readline(&io, &b, 10) == IO_TOOLONG);
	CHECK_MEM(b.data, b.len, "0123456789");
	buf_reset(&b);
	CHECK(io_read_exact(&io, &b, 6) == IO_OK);   /* the rest is still unread */
	CHECK_MEM(b.data, b.len, "ABCDEF");
	close(io.in_fd);
	buf_free(&b);
}

static void skip_line_drops_the_rest(void)
{
	struct io io;
	struct buf b;

	buf_init(&b);
	io_over(&io, "0123456789ABCDEF\r\nnext\r\nxyz", 27);
	CHECK(io_readline(&io, &b, 10) == IO_TOOLONG);
	CHECK(io_skip_line(&io) == IO_OK);
	buf_reset(&b);
	CHECK(io_readline(&io, &b, 10) == IO_OK);
	CHECK_MEM(b.data, b.len, "next");
	CHECK(io_skip_line(&io) == IO_EOF);   /* "xyz" never ends */
	close(io.in_fd);
	buf_free(&b);
}

int main(void)
{
	RUN(lines_up_to_max_are_read_whole);
	RUN(longer_line_stops_at_max);
	RUN(skip_line_drops_the_rest);
	return test_summary("test-io");
}
