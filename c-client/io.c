/* io.c: the buffered connection. Output is gathered in wbuf and sent on
 * io_flush (or when it grows large), so one response is one write. */
#include "io.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* Sent once this much is gathered: more buys no fewer system calls worth
 * having, and the buffer stays resident for the whole session. */
#define IO_WBUF_HIGH (64 * 1024)

static ssize_t fd_read(void *ctx, void *p, size_t n)
{
	struct io *io = ctx;

	return read(io->in_fd, p, n);
}

static ssize_t fd_write(void *ctx, const void *p, size_t n)
{
	struct io *io = ctx;

	return write(io->out_fd, p, n);
}

static const struct io_transport fd_transport = {fd_read, fd_write, NULL};

void io_init(struct io *io, int in_fd, int out_fd)
{
	memset(io, 0, sizeof *io);
	io->in_fd = in_fd;
	io->out_fd = out_fd;
	io->tr = &fd_transport;
	io->trctx = io;
	buf_init(&io->wbuf);
}

void io_set_transport(struct io *io, const struct io_transport *tr, void *ctx)
{
	io->tr = tr ? tr : &fd_transport;
	io->trctx = tr ? ctx : io;
}

void io_discard_input(struct io *io)
{
	io->rpos = io->rlen = 0;
}

/* Milliseconds on a clock that jumps neither with settimeofday nor NTP. */
static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void io_set_deadline(struct io *io, unsigned secs)
{
	io->deadline_ms = secs ? now_ms() + (long long)secs * 1000 : 0;
}

void io_extend_deadline(struct io *io, unsigned secs)
{
	if (io->deadline_ms)
		io->deadline_ms += (long long)secs * 1000;
}

int io_deadline_passed(const struct io *io)
{
	return io->deadline_ms && now_ms() >= io->deadline_ms;
}

/* Milliseconds a poll may wait: the per-read timeout capped by the
 * deadline; -1 for no limit, 0 when the deadline has passed. */
static int wait_ms(const struct io *io)
{
	long long ms = io->timeout ? (long long)io->timeout * 1000 : -1;

	if (io->deadline_ms) {
		long long left = io->deadline_ms - now_ms();
		if (left < 0)
			left = 0;
		if (ms < 0 || left < ms)
			ms = left;
	}
	return (int)ms;
}

unsigned io_wait_seconds(const struct io *io)
{
	int ms = wait_ms(io);

	return ms < 0 ? 0 : (unsigned)(ms + 999) / 1000 + (ms == 0);
}

enum io_status io_wait_input(struct io *io, const struct io_transport *tr, void *ctx)
{
	if (io_deadline_passed(io))
		return IO_TIMEOUT;
	int ms = wait_ms(io);
	if (ms >= 0 && !(tr->pending && tr->pending(ctx) > 0)) {
		struct pollfd pfd = {.fd = io->in_fd, .events = POLLIN};
		int r;

		do
			r = poll(&pfd, 1, ms);
		while (r < 0 && errno == EINTR);
		if (r == 0)
			return IO_TIMEOUT;
		if (r < 0)
			return IO_ERROR;
	}
	return IO_OK;
}

int io_wait_output(struct io *io)
{
	int r;

	if (!io->timeout)
		return 0;
	/* a client that stops reading must not pin us forever */
	struct pollfd pfd = {.fd = io->out_fd, .events = POLLOUT};
	do
		r = poll(&pfd, 1, (int)io->timeout * 1000);
	while (r < 0 && errno == EINTR);
	return r > 0 ? 0 : -1;
}

int io_write_through(struct io *io, const struct io_transport *tr, void *ctx, const void *p,
		     size_t n, int wait)
{
	const char *s = p;

	while (n) {
		if (wait && io_wait_output(io) < 0) {
			errno = ETIMEDOUT;
			return -1;
		}
		ssize_t w = tr->write(ctx, s, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		s += w;
		n -= (size_t)w;
	}
	return 0;
}

/* Refill rbuf, waiting at most io->timeout seconds for the peer and never
 * past the deadline: a byte now and then does not keep a reader waiting. */
static enum io_status io_fill(struct io *io)
{
	ssize_t n;

	if (io->rpos < io->rlen)
		return IO_OK;
	io->rpos = io->rlen = 0;
	enum io_status st = io_wait_input(io, io->tr, io->trctx);
	if (st != IO_OK)
		return st;
	do
		n = io->tr->read(io->trctx, io->rbuf, sizeof io->rbuf);
	while (n < 0 && errno == EINTR);
	if (n < 0)   /* EAGAIN: a transport's own wait (TLS) ran out */
		return errno == EAGAIN || io_deadline_passed(io) ? IO_TIMEOUT : IO_ERROR;
	if (n == 0)
		return IO_EOF;
	io->rlen = (size_t)n;
	io->bytes_in += (unsigned long long)n;
	return IO_OK;
}

enum io_status io_readline(struct io *io, struct buf *out, size_t max)
{
	size_t got = 0;

	for (;;) {
		enum io_status st = io_fill(io);
		if (st != IO_OK)
			return st;
		char *start = io->rbuf + io->rpos;
		size_t avail = io->rlen - io->rpos;
		char *nl = memchr(start, '\n', avail);
		size_t take = nl ? (size_t)(nl - start) : avail;

		if (got + take > max) {
			buf_append(out, start, max - got);
			io->rpos += max - got;
			return IO_TOOLONG;
		}
		buf_append(out, start, take);
		got += take;
		io->rpos += take + (nl ? 1 : 0);
		if (nl)
			break;
	}
	if (got && out->data[out->len - 1] == '\r')
		out->data[--out->len] = '\0';
	return IO_OK;
}

enum io_status io_skip_line(struct io *io)
{
	for (;;) {
		enum io_status st = io_fill(io);
		if (st != IO_OK)
			return st;
		char *start = io->rbuf + io->rpos;
		char *nl = memchr(start, '\n', io->rlen - io->rpos);

		io->rpos = nl ? (size_t)(nl + 1 - io->rbuf) : io->rlen;
		if (nl)
			return IO_OK;
	}
}

enum io_status io_read_exact(struct io *io, struct buf *out, size_t n)
{
	while (n) {
		enum io_status st = io_fill(io);
		if (st != IO_OK)
			return st;
		size_t avail = io->rlen - io->rpos;
		size_t take = avail < n ? avail : n;
		buf_append(out, io->rbuf + io->rpos, take);
		io->rpos += take;
		n -= take;
	}
	return IO_OK;
}

/* Write p[0..n) to the connection now (after what wbuf holds). */
static void io_send(struct io *io, const char *p, size_t n)
{
	size_t off = 0;

	while (!io->failed && off < n) {
		if (io_wait_output(io) < 0) {
			io->failed = 1;
			break;
		}
		ssize_t w = io->tr->write(io->trctx, p + off, n - off);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			io->failed = 1;
			break;
		}
		off += (size_t)w;
		io->bytes_out += (unsigned long long)w;
	}
}

void io_write(struct io *io, const void *p, size_t n)
{
	if (io->failed)
		return;
	if (n >= IO_WBUF_HIGH) {
		/* a big literal goes out from where it is, not through a copy
		 * that would keep a buffer its size */
		io_flush(io);
		io_send(io, p, n);
		return;
	}
	buf_append(&io->wbuf, p, n);
	if (io->wbuf.len >= IO_WBUF_HIGH)
		io_flush(io);
}

void io_puts(struct io *io, const char *s)
{
	io_write(io, s, strlen(s));
}

void io_printf(struct io *io, const char *fmt, ...)
{
	va_list ap;

	if (io->failed)
		return;
	va_start(ap, fmt);
	buf_vprintf(&io->wbuf, fmt, ap);
	va_end(ap);
	if (io->wbuf.len >= IO_WBUF_HIGH)
		io_flush(io);
}

int io_flush(struct io *io)
{
	io_send(io, io->wbuf.data, io->wbuf.len);
	buf_reset(&io->wbuf);
	return io->failed ? -1 : 0;
}
