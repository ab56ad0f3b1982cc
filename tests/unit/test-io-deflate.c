/* test-io-deflate.c: the COMPRESS=DEFLATE transport under io. Lines come
 * out of raw deflate input (including bytes io had read before compression
 * started), output is raw deflate ending on a sync-flush boundary at each
 * io_flush, and a decompression bomb stops at the line limit. */
#include "io.h"
#include "io_deflate.h"
#include "io_fixture.h"
#include "test.h"

#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>
#include <zlib.h>

/* Raw deflate of p (what a client sends), sync-flushed or finished. */
static void deflate_into(struct buf *out, const void *p, size_t n, int finish)
{
	z_stream z;
	unsigned char chunk[4096];

	memset(&z, 0, sizeof z);
	CHECK(deflateInit2(&z, 9, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY) == Z_OK);
	z.next_in = (Bytef *)(uintptr_t)p;
	z.avail_in = (uInt)n;
	do {
		z.next_out = chunk;
		z.avail_out = sizeof chunk;
		deflate(&z, finish ? Z_FINISH : Z_SYNC_FLUSH);
		buf_append(out, (char *)chunk, sizeof chunk - z.avail_out);
	} while (z.avail_out == 0);
	deflateEnd(&z);
}

static void lines_come_out_of_the_inflater(void)
{
	struct io io;
	struct buf z, line;

	buf_init(&z);
	buf_init(&line);
	deflate_into(&z, "a1 NOOP\r\nb2 LOGOUT\r\n", 20, 1);
	io_over(&io, z.data, z.len);
	CHECK(io_deflate_start(&io) == 0 && io_deflate_active(&io));
	CHECK(io_readline(&io, &line, 100) == IO_OK);
	CHECK_MEM(line.data, line.len, "a1 NOOP");
	buf_reset(&line);
	CHECK(io_readline(&io, &line, 100) == IO_OK);
	CHECK_MEM(line.data, line.len, "b2 LOGOUT");
	buf_reset(&line);
	CHECK(io_readline(&io, &line, 100) == IO_EOF);   /* the client finished its stream */
	io_deflate_stop(&io);
	CHECK(!io_deflate_active(&io));
	close(io.in_fd);
	buf_free(&z);
	buf_free(&line);
}

/* The client's first compressed bytes may share a read with the COMPRESS
 * command itself: they are input for the inflater, not lost. */
static void bytes_read_before_the_switch_are_inflated(void)
{
	struct io io;
	struct buf wire, line;

	buf_init(&wire);
	buf_init(&line);
	buf_puts(&wire, "z COMPRESS DEFLATE\r\n");
	deflate_into(&wire, "a1 SELECT INBOX\r\n", 17, 0);
	io_over(&io, wire.data, wire.len);
	CHECK(io_readline(&io, &line, 100) == IO_OK);
	CHECK_MEM(line.data, line.len, "z COMPRESS DEFLATE");
	CHECK(io_deflate_start(&io) == 0);
	buf_reset(&line);
	CHECK(io_readline(&io, &line, 100) == IO_OK);
	CHECK_MEM(line.data, line.len, "a1 SELECT INBOX");
	io_deflate_stop(&io);
	close(io.in_fd);
	buf_free(&wire);
	buf_free(&line);
}

/* Inflate what the pipe holds now (the client's side of a burst). */
static void inflate_burst(z_stream *z, int fd, struct buf *out, struct buf *wire)
{
	unsigned char raw[8192], plain[65536];
	ssize_t n = read(fd, raw, sizeof raw);

	CHECK(n > 0);
	if (n <= 0)
		return;
	buf_reset(wire);
	buf_append(wire, (char *)raw, (size_t)n);
	z->next_in = raw;
	z->avail_in = (uInt)n;
	z->next_out = plain;
	z->avail_out = sizeof plain;
	CHECK(inflate(z, Z_SYNC_FLUSH) == Z_OK);
	buf_append(out, (char *)plain, sizeof plain - z->avail_out);
}

/* Each flush ends on a sync-flush marker (00 00 ff ff): the client can
 * inflate the whole response without waiting for more bytes. */
static void every_flush_is_a_whole_burst(void)
{
	struct io io;
	struct buf got, wire;
	z_stream z;
	int fds[2];

	buf_init(&got);
	buf_init(&wire);
	memset(&z, 0, sizeof z);
	CHECK(inflateInit2(&z, -15) == Z_OK);
	CHECK(pipe(fds) == 0);
	io_init(&io, -1, fds[1]);
	CHECK(io_deflate_start(&io) == 0);
	io_puts(&io, "* 1 EXISTS\r\n");
	io_puts(&io, "a1 OK SELECT completed\r\n");
	CHECK(io_flush(&io) == 0);
	inflate_burst(&z, fds[0], &got, &wire);
	CHECK_MEM(got.data, got.len, "* 1 EXISTS\r\na1 OK SELECT completed\r\n");
	CHECK(wire.len >= 4 && !memcmp(wire.data + wire.len - 4, "\0\0\xff\xff", 4));
	buf_reset(&got);
	io_puts(&io, "a2 OK NOOP completed\r\n");   /* the stream goes on */
	CHECK(io_flush(&io) == 0);
	inflate_burst(&z, fds[0], &got, &wire);
	CHECK_MEM(got.data, got.len, "a2 OK NOOP completed\r\n");
	io_deflate_stop(&io);
	buf_free(&io.wbuf);
	inflateEnd(&z);
	close(fds[0]);
	close(fds[1]);
	buf_free(&got);
	buf_free(&wire);
}

/* A child writes a line of 1 GiB of "a" as deflate (about 1 MiB). */
static pid_t bomb_writer(int fds[2])
{
	pid_t pid = fork();

	if (pid)
		return pid;
	close(fds[0]);   /* the reader's close must reach us as EPIPE */
	int fd = fds[1];
	signal(SIGPIPE, SIG_DFL);
	struct buf z;
	static char a[1 << 20];
	memset(a, 'a', sizeof a);
	buf_init(&z);
	deflate_into(&z, "a1 NOOP ", 8, 0);
	for (int i = 0; i < 1024; i++) {
		deflate_into(&z, a, sizeof a, 0);
		if (write(fd, z.data, z.len) != (ssize_t)z.len)
			_exit(0);
		buf_reset(&z);
	}
	_exit(0);
}

static long max_rss_kib(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return ru.ru_maxrss;
}

static void a_bomb_stops_at_the_line_limit(void)
{
	struct io io;
	struct buf line;
	int fds[2], status;

	buf_init(&line);
	CHECK(pipe(fds) == 0);
	pid_t pid = bomb_writer(fds);
	close(fds[1]);
	long before = max_rss_kib();
	io_init(&io, fds[0], -1);
	io.timeout = 10;
	CHECK(io_deflate_start(&io) == 0);
	CHECK(io_readline(&io, &line, 65536) == IO_TOOLONG);
	CHECK(line.len == 65536);
	/* inflated no further than the line limit and one read buffer */
	CHECK(io.bytes_in <= 65536 + sizeof io.rbuf);
	CHECK(max_rss_kib() - before < 8 * 1024);
	printf("bomb: %llu bytes inflated, max RSS grew %ld KiB\n", io.bytes_in,
	       max_rss_kib() - before);
	io_deflate_stop(&io);
	close(fds[0]);   /* the writer gets EPIPE and ends */
	waitpid(pid, &status, 0);
	buf_free(&line);
}

static void garbage_is_an_error_not_a_line(void)
{
	struct io io;
	struct buf line;
	char junk[64];

	buf_init(&line);
	memset(junk, 0xff, sizeof junk);
	io_over(&io, junk, sizeof junk);
	CHECK(io_deflate_start(&io) == 0);
	CHECK(io_readline(&io, &line, 100) == IO_ERROR);
	CHECK(line.len == 0);
	io_deflate_stop(&io);
	close(io.in_fd);
	buf_free(&line);
}

int main(void)
{
	signal(SIGPIPE, SIG_IGN);
	RUN(lines_come_out_of_the_inflater);
	RUN(bytes_read_before_the_switch_are_inflated);
	RUN(every_flush_is_a_whole_burst);
	RUN(a_bomb_stops_at_the_line_limit);
	RUN(garbage_is_an_error_not_a_line);
	return test_summary("test-io-deflate");
}
