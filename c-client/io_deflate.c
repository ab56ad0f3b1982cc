/* io_deflate.c: the COMPRESS=DEFLATE transport. It sits between io's
 * buffers and the transport that was there (fd or TLS), so compression
 * happens before encryption. Inflated bytes go straight into io's read
 * buffer, at most one buffer per read: the line and literal limits see
 * inflated bytes, and a decompression bomb costs no more memory than any
 * other client. */
#include "io_deflate.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

struct deflate_conn {
	struct io *io;
	const struct io_transport *lower;
	void *lctx;
	z_stream zin, zout;
	int more;    /* the last inflate filled its output: more may be inside */
	int ended;   /* the client closed its deflate stream: nothing follows */
	unsigned char in[sizeof ((struct io *)0)->rbuf];
	unsigned char out[16384];
};

/* Fill the compressed input from below; the first read of a call follows
 * io's own wait, later ones wait here (the same timeout and deadline). */
static ssize_t deflate_refill(struct deflate_conn *dc, int waited)
{
	ssize_t r;

	if (!waited) {
		enum io_status st = io_wait_input(dc->io, dc->lower, dc->lctx);
		if (st != IO_OK) {
			errno = st == IO_TIMEOUT ? EAGAIN : EIO;
			return -1;
		}
	}
	do
		r = dc->lower->read(dc->lctx, dc->in, sizeof dc->in);
	while (r < 0 && errno == EINTR);
	if (r > 0) {
		dc->zin.next_in = dc->in;
		dc->zin.avail_in = (uInt)r;
	}
	return r;
}

/* Inflate into p: blocks (within io's limits) until at least one byte. */
static ssize_t deflate_read(void *ctx, void *p, size_t n)
{
	struct deflate_conn *dc = ctx;

	if (n > sizeof dc->in)
		n = sizeof dc->in;
	for (int waited = 1;; waited = 0) {
		if (dc->ended)
			return 0;
		if (!dc->zin.avail_in && !dc->more) {
			ssize_t r = deflate_refill(dc, waited);
			if (r <= 0)
				return r;
		}
		dc->zin.next_out = p;
		dc->zin.avail_out = (uInt)n;
		int rc = inflate(&dc->zin, Z_SYNC_FLUSH);
		size_t got = n - dc->zin.avail_out;

		dc->more = dc->zin.avail_out == 0;
		dc->ended = rc == Z_STREAM_END;
		if (rc != Z_OK && rc != Z_STREAM_END && !(rc == Z_BUF_ERROR && !dc->zin.avail_in)) {
			errno = EPROTO;   /* not deflate data: the session cannot go on */
			return -1;
		}
		if (got)
			return (ssize_t)got;
	}
}

/* Compress p and flush to a byte boundary: io calls this once per
 * io_flush, so every response burst reaches the client whole. */
static ssize_t deflate_write(void *ctx, const void *p, size_t n)
{
	struct deflate_conn *dc = ctx;

	dc->zout.next_in = (Bytef *)(uintptr_t)p;
	dc->zout.avail_in = (uInt)n;
	do {
		dc->zout.next_out = dc->out;
		dc->zout.avail_out = sizeof dc->out;
		if (deflate(&dc->zout, Z_SYNC_FLUSH) == Z_STREAM_ERROR) {
			errno = EIO;
			return -1;
		}
		if (io_write_through(dc->io, dc->lower, dc->lctx, dc->out,
				     sizeof dc->out - dc->zout.avail_out, 1) < 0)
			return -1;
	} while (dc->zout.avail_out == 0);
	return (ssize_t)n;
}

/* Bytes a read returns without waiting: in zlib, or in the layer below. */
static int deflate_pending(void *ctx)
{
	struct deflate_conn *dc = ctx;

	if (dc->zin.avail_in || dc->more || dc->ended)
		return 1;
	return dc->lower->pending ? dc->lower->pending(dc->lctx) : 0;
}

static const struct io_transport deflate_transport = {deflate_read, deflate_write,
						      deflate_pending};

int io_deflate_start(struct io *io)
{
	struct deflate_conn *dc = xcalloc(1, sizeof *dc);

	/* raw deflate (no zlib header), RFC 4978 section 4 */
	if (inflateInit2(&dc->zin, -15) != Z_OK) {
		free(dc);
		return -1;
	}
	if (deflateInit2(&dc->zout, Z_DEFAULT_COMPRESSION, Z_DEFLATED, -15, 8,
			 Z_DEFAULT_STRATEGY) != Z_OK) {
		inflateEnd(&dc->zin);
		free(dc);
		return -1;
	}
	dc->io = io;
	dc->lower = io->tr;
	dc->lctx = io->trctx;
	/* what the client sent after the command is already compressed */
	size_t left = io->rlen - io->rpos;
	memcpy(dc->in, io->rbuf + io->rpos, left);
	dc->zin.next_in = dc->in;
	dc->zin.avail_in = (uInt)left;
	io->rpos = io->rlen = 0;
	io_set_transport(io, &deflate_transport, dc);
	return 0;
}

int io_deflate_active(const struct io *io)
{
	return io->tr == &deflate_transport;
}

void io_deflate_stop(struct io *io)
{
	struct deflate_conn *dc = io->trctx;

	if (!io_deflate_active(io))
		return;
	inflateEnd(&dc->zin);
	deflateEnd(&dc->zout);
	io_set_transport(io, dc->lower, dc->lctx);
	free(dc);
}
