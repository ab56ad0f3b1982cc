/* log.h: syslog (facility mail) with the session's peer in every line, in a
 * stable format that fail2ban filters can match. */
#ifndef CCLIENT_LOG_H
#define CCLIENT_LOG_H

void log_open(const char *ident);
void log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_notice(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
