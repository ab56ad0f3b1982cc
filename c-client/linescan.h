/* linescan.h: finding the next line that starts with given bytes, 16 bytes
 * a step, for scans that would otherwise walk every line of a long body
 * (MIME boundaries past a base64 attachment). */
#ifndef CCLIENT_LINESCAN_H
#define CCLIENT_LINESCAN_H

#include <stddef.h>

/* The first line start i, from < i < len, where p[i] == a and p[i + 1] == b
 * (both within len); len when there is none. */
size_t linescan_next(const char *p, size_t from, size_t len, char a, char b);

/* The first line start i, from < i < len, whose first byte is a or a2. */
size_t linescan_first(const char *p, size_t from, size_t len, char a, char a2);

/* How many bytes of p[0..n) are c (a part's lines: one memchr call per
 * line costs several times more). */
size_t linescan_count(const char *p, size_t n, char c);

#endif
