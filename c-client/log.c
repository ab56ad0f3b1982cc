/* log.c: thin syslog wrapper; every daemon logs through here. Each line is
 * escaped here, in one place, so no field a client or its DNS chose (a user
 * name, a mailbox, a SASL identity, a reverse-DNS host name) can start a
 * line of its own or hide the peer address fail2ban looks for. */
#include "log.h"

#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <syslog.h>
#include <sys/stat.h>
#include <unistd.h>

/* Under inetd and xinetd stderr is the client's socket: what a library
 * would print there (PAM, OpenSSL, a sanitizer) goes to /dev/null rather
 * than into the protocol stream. */
static void stderr_detach(void)
{
	struct stat st;
	int fd;

	if (fstat(2, &st) < 0 || !S_ISSOCK(st.st_mode))
		return;
	fd = open("/dev/null", O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return;
	dup2(fd, 2);   /* dup2 clears close-on-exec on the copy */
	close(fd);
}

void log_open(const char *ident)
{
	openlog(ident, LOG_PID | LOG_NDELAY, LOG_MAIL);
	stderr_detach();
}

size_t log_escape(char *out, size_t size, const char *in)
{
	static const char hex[] = "0123456789abcdef";
	size_t o = 0;

	if (!size)
		return 0;
	for (; *in && o + 1 < size; in++) {
		unsigned char c = (unsigned char)*in;

		/* control bytes, DEL and 8-bit bytes (C1 controls, NEL, U+2028 in
		 * UTF-8) may break lines in some log reader; a backslash is escaped
		 * too, so an escape in the log always means one we wrote */
		if (c >= 0x20 && c < 0x7f && c != '\\') {
			out[o++] = (char)c;
			continue;
		}
		if (o + 4 >= size)
			break;
		out[o++] = '\\';
		out[o++] = 'x';
		out[o++] = hex[c >> 4];
		out[o++] = hex[c & 15];
	}
	out[o] = '\0';
	return o;
}

static void log_v(int prio, const char *fmt, va_list ap)
{
	char msg[1024], safe[1024];

	vsnprintf(msg, sizeof msg, fmt, ap);
	log_escape(safe, sizeof safe, msg);
	syslog(LOG_MAIL | prio, "%s", safe);
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
