/* io.h: buffered reads and writes over a pair of descriptors (inetd's stdin
 * and stdout) or, after STARTTLS, over a TLS session on the same socket: the
 * transport is swapped underneath and the buffered state stays consistent.
 * Reads time out; lines and reads are bounded by the caller. */
#ifndef CCLIENT_IO_H
#define CCLIENT_IO_H

#include <stddef.h>
#include <sys/types.h>

#include "util.h"

/* A transport moves bytes; the default one uses read(2)/write(2). */
struct io_transport {
	ssize_t (*read)(void *ctx, void *p, size_t n);
	ssize_t (*write)(void *ctx, const void *p, size_t n);
	int (*pending)(void *ctx);   /* bytes buffered inside the transport */
};

enum io_status {
	IO_OK = 1,
	IO_EOF = 0,
	IO_ERROR = -1,
	IO_TIMEOUT = -2,
	IO_TOOLONG = -3,   /* longer than max: the first max bytes kept, the rest unread */
};

struct io {
	int in_fd, out_fd;
	unsigned timeout;        /* seconds of silence allowed per read; 0: none */
	long long deadline_ms;   /* CLOCK_MONOTONIC ms after which reads fail; 0: none */
	const struct io_transport *tr;
	void *trctx;
	char rbuf[16384];
	size_t rpos, rlen;
	struct buf wbuf;
	int failed;              /* write side broken: stop writing */
	unsigned long long bytes_in, bytes_out;
};

void io_init(struct io *io, int in_fd, int out_fd);
void io_set_transport(struct io *io, const struct io_transport *tr, void *ctx);
/* Drop anything already read but not consumed (STARTTLS: no injection). */
void io_discard_input(struct io *io);

/* Reads fail with IO_TIMEOUT once secs have passed from now, however the
 * bytes trickle in (0: no deadline). The front-end sets it per state: once
 * for the whole login phase, once per command after it. */
void io_set_deadline(struct io *io, unsigned secs);
/* Push an existing deadline secs further (a large literal needs time). */
void io_extend_deadline(struct io *io, unsigned secs);
/* Has the deadline passed? */
int io_deadline_passed(const struct io *io);
/* Seconds a read may wait now: the timeout, shortened by the deadline
 * (at least 1 while the deadline is ahead; 0: no limit). */
unsigned io_wait_seconds(const struct io *io);

/* Read one line ending in LF (CRLF or LF accepted). The line without the
 * line end is appended to out. Past max bytes it stops with IO_TOOLONG and
 * reads no further: a line that never ends costs no more than max. */
enum io_status io_readline(struct io *io, struct buf *out, size_t max);
/* Drop input up to and including the next LF (the rest of an IO_TOOLONG
 * line, for a protocol that answers it and goes on). */
enum io_status io_skip_line(struct io *io);
/* Read exactly n bytes, appended to out. */
enum io_status io_read_exact(struct io *io, struct buf *out, size_t n);

/* Wait until the transport tr (ctx) below io has input, within io's
 * timeout and deadline: for a transport layered over another one. */
enum io_status io_wait_input(struct io *io, const struct io_transport *tr, void *ctx);
/* Wait until the peer takes output, within io->timeout; -1 if it does not. */
int io_wait_output(struct io *io);

/* Write all of (p, n) through tr (ctx), below io's buffer; with wait, each
 * write first waits (io_wait_output) for the peer. -1 if it fails. */
int io_write_through(struct io *io, const struct io_transport *tr, void *ctx, const void *p,
		     size_t n, int wait);

void io_write(struct io *io, const void *p, size_t n);
void io_puts(struct io *io, const char *s);
void io_printf(struct io *io, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Send buffered output; -1 if the peer is gone. */
int io_flush(struct io *io);

#endif
