/* fuzz-deflate.c: libFuzzer harness for the COMPRESS=DEFLATE reader
 * (io_deflate.c): the input is what a client sends after COMPRESS, read
 * through io as imapd reads commands (lines under a limit, the rest of a
 * long line skipped) until the stream ends or breaks. */
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include "io.h"
#include "io_deflate.h"

/* A pipe holds 64 KiB without a reader; stay under it. */
#define FUZZ_MAX 60000

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct io io;
	struct buf line;
	int fds[2];

	if (size > FUZZ_MAX || pipe(fds) < 0)
		return 0;
	if (size && write(fds[1], data, size) != (ssize_t)size) {
		close(fds[0]);
		close(fds[1]);
		return 0;
	}
	close(fds[1]);
	io_init(&io, fds[0], -1);
	io.timeout = 1;
	buf_init(&line);
	if (io_deflate_start(&io) == 0) {
		for (;;) {
			enum io_status st = io_readline(&io, &line, 4096);
			buf_reset(&line);
			if (st == IO_TOOLONG)
				st = io_skip_line(&io);
			if (st != IO_OK)
				break;
		}
		io_deflate_stop(&io);
	}
	buf_free(&line);
	close(fds[0]);
	return 0;
}
