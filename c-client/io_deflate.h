/* io_deflate.h: COMPRESS=DEFLATE (RFC 4978) as a transport stacked on the
 * connection's current one (plain or TLS): raw deflate both ways, output
 * flushed to a byte boundary at every io_flush. */
#ifndef CCLIENT_IO_DEFLATE_H
#define CCLIENT_IO_DEFLATE_H

#include "io.h"

/* Compress from now on. Bytes already read past the command that asked
 * for it are compressed input and are kept as such. -1 when zlib cannot
 * start (no memory): nothing changed. */
int io_deflate_start(struct io *io);
/* Is compression on for io? */
int io_deflate_active(const struct io *io);
/* Put the transport below back and free the compressor (unit tests). */
void io_deflate_stop(struct io *io);

#endif
