/* log.c: thin syslog wrapper; every daemon logs through here. */
#include "log.h"

#include <stdarg.h>
#include <stdio.h>
#include <syslog.h>

void log_open(const char *ident)
{
	openlog(ident, LOG_PID | LOG_NDELAY, LOG_MAIL);
}

static void log_v(int prio, const char *fmt, va_list ap)
{
	char msg[1024];

	vsnprintf(msg, sizeof msg, fmt, ap);
	syslog(LOG_MAIL | prio, "%s", msg);
}

#define LOG_FN(name, prio)                        \
	void name(const char *fmt, ...)           \
	{                                         \
		va_list ap;                       \
		va_start(ap, fmt);                \
		log_v(prio, fmt, ap);             \
		va_end(ap);                       \
	}

LOG_FN(log_info, LOG_INFO)
LOG_FN(log_notice, LOG_NOTICE)
LOG_FN(log_warn, LOG_WARNING)
LOG_FN(log_err, LOG_ERR)
