/* io_fixture.h: an io reading fixed bytes, for the io unit tests. */
#ifndef IO_FIXTURE_H
#define IO_FIXTURE_H

#include <unistd.h>

#include "io.h"
#include "test.h"

/* An io reading what was written into a pipe (the writer closed). */
static inline void io_over(struct io *io, const char *data, size_t n)
{
	int fds[2];

	CHECK(pipe(fds) == 0);
	CHECK(write(fds[1], data, n) == (ssize_t)n);
	close(fds[1]);
	io_init(io, fds[0], -1);
	io->timeout = 5;
}

#endif
