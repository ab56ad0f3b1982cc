/* smtp_dsn.c: the DSN parameters of MAIL and RCPT (RFC 3461 4.1-4.4).
 * Values a program gives are never trusted to be xtext already: the
 * encoding keeps a space or '=' in an envelope id from ending the
 * parameter early. */
#include "smtp_dsn.h"

#include <string.h>

void smtp_xtext(struct buf *out, const char *s)
{
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if (*p < '!' || *p > '~' || *p == '+' || *p == '=')
			buf_printf(out, "+%02X", *p);
		else
			buf_putc(out, (char)*p);
	}
}

void smtp_dsn_mail(struct buf *out, const struct smtp_dsn *d)
{
	buf_puts(out, d->full ? " RET=FULL" : " RET=HDRS");
	if (d->envid && *d->envid) {
		buf_puts(out, " ENVID=");
		smtp_xtext(out, d->envid);
	}
}

void smtp_dsn_rcpt(struct buf *out, const struct smtp_dsn *d, size_t i)
{
	static const struct {
		unsigned bit;
		const char *name;
	} kinds[] = {{SMTP_NOTIFY_FAILURE, "FAILURE"}, {SMTP_NOTIFY_DELAY, "DELAY"},
		     {SMTP_NOTIFY_SUCCESS, "SUCCESS"}};
	const char *sep = " NOTIFY=";

	for (size_t k = 0; k < ARRAY_SIZE(kinds); k++)
		if (d->notify & kinds[k].bit) {
			buf_printf(out, "%s%s", sep, kinds[k].name);
			sep = ",";
		}
	if (!d->notify)
		buf_puts(out, " NOTIFY=NEVER");
	const char *o = d->orcpt ? d->orcpt[i] : NULL;
	const char *semi = o ? strchr(o, ';') : NULL;
	/* an ORCPT needs its address type, an atom (RFC 3461 4.2) */
	if (!semi || semi == o ||
	    strspn(o, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-") !=
		    (size_t)(semi - o))
		return;
	buf_printf(out, " ORCPT=%.*s;", (int)(semi - o), o);
	smtp_xtext(out, semi + 1);
}
