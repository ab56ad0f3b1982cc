/* util.c: allocation, bounded strings, struct buf and struct pool. */
#include "util.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <errno.h>
#include <unistd.h>

static void (*fatal_fn)(const char *msg, void *ctx);
static void *fatal_ctx;

void fatal_set_handler(void (*fn)(const char *msg, void *ctx), void *ctx)
{
	fatal_fn = fn;
	fatal_ctx = ctx;
}

/* Never stderr: under inetd it is the client's socket. The handler (a
 * BYE to the client) runs once, so a failure inside it cannot loop. */
void fatal(const char *fmt, ...)
{
	void (*fn)(const char *, void *) = fatal_fn;
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	syslog(LOG_MAIL | LOG_CRIT, "fatal: %s", msg);
	fatal_fn = NULL;
	if (fn)
		fn(msg, fatal_ctx);
	abort();
}

void *xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);

	if (!p)
		fatal("out of memory (%zu bytes)", n);
	return p;
}

void *xcalloc(size_t n, size_t size)
{
	void *p = calloc(n ? n : 1, size ? size : 1);

	if (!p)
		fatal("out of memory (%zu x %zu bytes)", n, size);
	return p;
}

void *xrealloc(void *p, size_t n)
{
	void *q = realloc(p, n ? n : 1);

	if (!q)
		fatal("out of memory (%zu bytes)", n);
	return q;
}

char *xstrndup(const char *s, size_t n)
{
	char *p = xmalloc(n + 1);

	memcpy(p, s, n);
	p[n] = '\0';
	return p;
}

char *xstrdup(const char *s)
{
	return xstrndup(s, strlen(s));
}

int write_full(int fd, const void *p, size_t n)
{
	return pwrite_full(fd, p, n, (off_t)-1);
}

int pwrite_full(int fd, const void *p, size_t n, off_t off)
{
	const char *s = p;

	while (n) {
		ssize_t r = off < 0 ? write(fd, s, n) : pwrite(fd, s, n, off);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			if (r == 0)
				errno = EIO;
			return -1;
		}
		s += r;
		n -= (size_t)r;
		if (off >= 0)
			off += r;
	}
	return 0;
}

int hex_value(unsigned char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c |= 0x20;
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

size_t str_copy(char *dst, const char *src, size_t size)
{
	size_t n = strlen(src);

	if (size) {
		size_t c = n < size - 1 ? n : size - 1;
		memcpy(dst, src, c);
		dst[c] = '\0';
	}
	return n;
}

int str_casecmp_n(const char *a, size_t alen, const char *b)
{
	size_t i;

	for (i = 0; i < alen && b[i]; i++) {
		int d = tolower((unsigned char)a[i]) - tolower((unsigned char)b[i]);
		if (d)
			return d;
	}
	if (i < alen)
		return 1;
	return b[i] ? -1 : 0;
}

void buf_init(struct buf *b)
{
	b->data = NULL;
	b->len = b->cap = 0;
}

void buf_free(struct buf *b)
{
	free(b->data);
	buf_init(b);
}

void buf_reset(struct buf *b)
{
	b->len = 0;
	if (b->data)
		b->data[0] = '\0';
}

void buf_reserve(struct buf *b, size_t extra)
{
	size_t need = b->len + extra + 1;

	if (need < b->len)
		fatal("buffer size overflow");
	if (need <= b->cap)
		return;
	size_t cap = b->cap ? b->cap : 64;
	while (cap < need)
		cap *= 2;
	b->data = xrealloc(b->data, cap);
	b->cap = cap;
}

void buf_puts(struct buf *b, const char *s)
{
	buf_append(b, s, strlen(s));
}

void buf_put_uint(struct buf *b, uint64_t v, int width)
{
	char d[24];
	int n = 0;

	do {
		d[sizeof d - 1 - n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	while (n < width && n < (int)sizeof d)
		d[sizeof d - 1 - n++] = '0';
	buf_append(b, d + sizeof d - n, (size_t)n);
}

/* Formats straight into the room the buffer has, and again only when the
 * text did not fit: response lines are mostly short. */
void buf_vprintf(struct buf *b, const char *fmt, va_list ap)
{
	va_list ap2;
	int n;

	buf_reserve(b, 64);
	va_copy(ap2, ap);
	n = vsnprintf(b->data + b->len, b->cap - b->len, fmt, ap2);
	va_end(ap2);
	if (n < 0) {
		b->data[b->len] = '\0';
		return;
	}
	if ((size_t)n >= b->cap - b->len) {
		buf_reserve(b, (size_t)n);
		vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
	}
	b->len += (size_t)n;
}

void buf_printf(struct buf *b, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	buf_vprintf(b, fmt, ap);
	va_end(ap);
}

char *buf_steal(struct buf *b)
{
	char *p;

	buf_reserve(b, 0);
	p = b->data;
	buf_init(b);
	return p;
}

/* The pool is a chain of blocks; big requests get a block of their own. */
struct pool_block {
	struct pool_block *next;
	size_t used, size;
	max_align_t data[];
};

struct pool {
	struct pool_block *head;
	size_t grow;     /* the next ordinary block's size */
};

#define POOL_BLOCK 8192
#define POOL_SMALL 1024

struct pool *pool_new(void)
{
	struct pool *p = xcalloc(1, sizeof(struct pool));

	p->grow = POOL_BLOCK;
	return p;
}

struct pool *pool_new_small(void)
{
	struct pool *p = pool_new();

	p->grow = POOL_SMALL;
	return p;
}

void *pool_alloc(struct pool *p, size_t n)
{
	struct pool_block *b = p->head;
	size_t align = sizeof(max_align_t);

	n = (n + align - 1) / align * align;
	if (n == 0)
		n = align;
	if (!b || b->size - b->used < n) {
		size_t size = n > p->grow ? n : p->grow;
		if (p->grow < POOL_BLOCK)
			p->grow *= 2;
		b = xmalloc(sizeof(*b) + size);
		b->used = 0;
		b->size = size;
		if (n > POOL_BLOCK && p->head) {
			/* keep the partly used head block current */
			b->next = p->head->next;
			p->head->next = b;
		} else {
			b->next = p->head;
			p->head = b;
		}
	}
	void *r = (char *)b->data + b->used;
	b->used += n;
	memset(r, 0, n);
	return r;
}

char *pool_strndup(struct pool *p, const char *s, size_t n)
{
	char *r = pool_alloc(p, n + 1);

	memcpy(r, s, n);
	r[n] = '\0';
	return r;
}

char *pool_strdup(struct pool *p, const char *s)
{
	return pool_strndup(p, s, strlen(s));
}

char *pool_printf(struct pool *p, const char *fmt, ...)
{
	va_list ap;
	int n;
	char *r;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0)
		return pool_strdup(p, "");
	r = pool_alloc(p, (size_t)n + 1);
	va_start(ap, fmt);
	vsnprintf(r, (size_t)n + 1, fmt, ap);
	va_end(ap);
	return r;
}

void pool_clear(struct pool *p)
{
	struct pool_block *b = p->head, *next;

	for (; b; b = next) {
		next = b->next;
		free(b);
	}
	p->head = NULL;
}

void pool_free(struct pool *p)
{
	if (!p)
		return;
	pool_clear(p);
	free(p);
}
