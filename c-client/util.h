/* util.h: the small idioms every module shares: checked allocation, bounded
 * string helpers, a growable byte buffer (struct buf) and an arena (struct
 * pool) for memory that lives exactly as long as one command or one message. */
#ifndef CCLIENT_UTIL_H
#define CCLIENT_UTIL_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/types.h>

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* Allocation failure is the one condition we treat as impossible: log and
 * abort rather than thread ENOMEM through every caller. */
void *xmalloc(size_t n);
void *xcalloc(size_t n, size_t size);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);
/* Log to syslog and abort; the handler, if set, may say goodbye first. */
void fatal(const char *fmt, ...) __attribute__((noreturn, format(printf, 1, 2)));
/* What fatal calls before ending the process (NULL: nothing). */
void fatal_set_handler(void (*fn)(const char *msg, void *ctx), void *ctx);

/* write(2) all n bytes, retrying short writes and EINTR; 0 or -1 (errno). */
int write_full(int fd, const void *p, size_t n);
/* pwrite(2) all n bytes at off, the same way (off < 0: write(2)). */
int pwrite_full(int fd, const void *p, size_t n, off_t off);

/* Copy at most size-1 bytes and always terminate; returns strlen(src). */
size_t str_copy(char *dst, const char *src, size_t size);
int str_casecmp_n(const char *a, size_t alen, const char *b);  /* b is NUL-terminated */
/* The value of a hex digit (either case), or -1. */
int hex_value(unsigned char c);

/* Growable byte buffer. data is always NUL-terminated after any append. */
struct buf {
	char *data;
	size_t len;
	size_t cap;
};

void buf_init(struct buf *b);
void buf_free(struct buf *b);
void buf_reset(struct buf *b);
void buf_reserve(struct buf *b, size_t extra);
void buf_puts(struct buf *b, const char *s);

/* Append n bytes. Inline: response formatting appends a few bytes at a
 * time, and the call cost as much as the copy. */
static inline void buf_append(struct buf *b, const void *p, size_t n)
{
	if (b->len + n + 1 > b->cap || b->len + n < b->len)
		buf_reserve(b, n);
	if (n)
		memcpy(b->data + b->len, p, n);
	b->len += n;
	b->data[b->len] = '\0';
}

/* Append one byte (inline for the same reason). */
static inline void buf_putc(struct buf *b, char c)
{
	if (b->len + 2 > b->cap)
		buf_reserve(b, 1);
	b->data[b->len++] = c;
	b->data[b->len] = '\0';
}
void buf_printf(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* v in decimal, zero-padded to width digits: the numbers of every FETCH
 * line, where printf's format parsing costs more than the rest. */
void buf_put_uint(struct buf *b, uint64_t v, int width);
void buf_vprintf(struct buf *b, const char *fmt, va_list ap);
/* Hand the bytes to the caller (who frees them) and leave b empty. */
char *buf_steal(struct buf *b);

/* Arena: many small allocations, freed together. */
struct pool;
struct pool *pool_new(void);
/* One that starts with a small block and doubles it: for the many pools a
 * session keeps at once that mostly stay small (cached message parses). */
struct pool *pool_new_small(void);
void *pool_alloc(struct pool *p, size_t n);   /* zeroed */
char *pool_strndup(struct pool *p, const char *s, size_t n);
char *pool_strdup(struct pool *p, const char *s);
char *pool_printf(struct pool *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void pool_clear(struct pool *p);             /* free everything, keep pool */
void pool_free(struct pool *p);

#endif
