/* log.h: syslog (facility mail) with the session's peer in every line, in a
 * stable format that fail2ban filters can match. */
#ifndef CCLIENT_LOG_H
#define CCLIENT_LOG_H

#include <stddef.h>

/* Open syslog, and point stderr away from a client socket (inetd). */
void log_open(const char *ident);
/* Copy in to out (size bytes, NUL-terminated, cut if need be) with every
 * byte outside printable ASCII, and the backslash, as \xNN. Every line the
 * log_* functions send goes through it; returns the length written. */
size_t log_escape(char *out, size_t size, const char *in);
void log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_notice(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
