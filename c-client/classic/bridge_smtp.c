/* bridge_smtp.c: the native SMTP client (../smtp_client.h) seen through
 * bridge.h, for the classic smtp_open/smtp_mail: the program's mm_login
 * gives the password, its mm_dlog sees the /debug trace. */
#include <stdio.h>
#include <string.h>

#include "bridge.h"
#include "../net.h"
#include "../smtp_client.h"
#include "../util.h"

const struct mail_client *clb_native_client(void);

struct smtp_conn *clb_smtp_open(const char *spec, int submit, unsigned port, int debug,
				int secure, char *err)
{
	struct net_name nm;
	struct mail_err e = {0};
	struct smtp_conn *c;

	if (clb_session(err) < 0)
		return NULL;
	if (smtp_name_parse(spec, &nm, &e) < 0) {
		snprintf(err, CLB_ERRLEN, "%s", e.text);
		return NULL;
	}
	if (submit)
		str_copy(nm.service, "submission", sizeof nm.service);
	if (!nm.port)
		nm.port = port;
	nm.debug |= debug != 0;
	nm.secure |= secure != 0;
	c = smtp_connect(&nm, clb_native_client(), clb_user(), &e);
	if (!c)
		snprintf(err, CLB_ERRLEN, "%s", e.text);
	return c;
}

int clb_smtp_send(struct smtp_conn *c, const char *from, const char *const *to, size_t n,
		  const char *msg, size_t len, char *err)
{
	struct mail_err e = {0};

	if (smtp_send(c, from, to, n, msg, len, &e) == 0)
		return 0;
	snprintf(err, CLB_ERRLEN, "%s", e.text);
	return -1;
}

void clb_smtp_dsn(struct smtp_conn *c, int want, int full, unsigned notify, const char *envid,
		  const char *const *orcpt)
{
	struct smtp_dsn d = {full, 0, envid, orcpt};

	d.notify = (notify & CLB_NOTIFY_FAILURE ? SMTP_NOTIFY_FAILURE : 0) |
		   (notify & CLB_NOTIFY_DELAY ? SMTP_NOTIFY_DELAY : 0) |
		   (notify & CLB_NOTIFY_SUCCESS ? SMTP_NOTIFY_SUCCESS : 0);
	smtp_set_dsn(c, want ? &d : NULL);
}

int clb_smtp_offers_dsn(const struct smtp_conn *c)
{
	return smtp_offers_dsn(c);
}

int clb_smtp_reply(const struct smtp_conn *c, const char **line)
{
	return smtp_last_reply(c, line);
}

void clb_smtp_close(struct smtp_conn *c)
{
	smtp_disconnect(c);
}
