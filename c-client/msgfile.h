/* msgfile.h: what the formats with one file per message (Maildir, MH)
 * share: opening a message file safely, its stored bytes (LF line ends)
 * turned into canonical text and back, and the header's end. */
#ifndef CCLIENT_MSGFILE_H
#define CCLIENT_MSGFILE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>
#include <time.h>

#include "util.h"

/* Open a message file to read: a regular file of the session's user, not
 * through a link, never blocking (a FIFO); -1 with errno otherwise. */
int msgfile_open(int dirfd, const char *name, struct stat *st);
/* RFC822.SIZE of stored bytes: each bare LF counts as CRLF. */
uint64_t msgfile_canon_size(const char *p, size_t n);
/* The same for a file, read once (st: its size, the answer when unreadable). */
uint64_t msgfile_vsize(int dirfd, const char *name, const struct stat *st);
/* Append n stored bytes to b as canonical text: each bare LF as CRLF
 * (prev: the byte before them, 0 at the start). */
void msgfile_canon_append(struct buf *b, const char *raw, size_t n, char prev);
/* The text as stored: line ends as LF. */
void msgfile_store_form(struct buf *out, const char *t, size_t n);
/* Where the header of stored bytes ends (after its blank line), or 0
 * while no blank line is in them. */
size_t msgfile_header_end(const char *p, size_t n);
/* Read the whole file fd (st its stat) as canonical text into b. */
int msgfile_read_canon(int fd, const struct stat *st, struct buf *b);
/* Read fd up to its header's end (the whole file without one), canonical. */
void msgfile_read_header(int fd, struct buf *b);

/* Remove the files in dirfd that killed deliveries left long ago: those
 * whose names start with prefix (NULL: every name but dot files), untouched
 * (mtime and ctime both: an APPEND in progress has set its mtime to an
 * old date) for keep seconds. */
void msgfile_clean_stale(int dirfd, const char *prefix, time_t keep);

#endif
