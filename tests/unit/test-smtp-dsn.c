/* test-smtp-dsn.c: the DSN parameters of MAIL and RCPT (RFC 3461): xtext
 * of every byte that needs it, NOTIFY's list or NEVER, an ORCPT only with
 * an address type that is an atom. */
#include <string.h>

#include "smtp_dsn.h"
#include "test.h"

static void test_xtext(void)
{
	struct buf b;

	buf_init(&b);
	smtp_xtext(&b, "a b+c=d\r\x7f\xc3\xa9~!");
	CHECK_STR(b.data, "a+20b+2Bc+3Dd+0D+7F+C3+A9~!");
	buf_free(&b);
}

static void test_parameters(void)
{
	static const char *const orcpt[] = {"rfc822;a b@x", "bad type;c@x", NULL, ";d@x"};
	struct smtp_dsn d = {1, SMTP_NOTIFY_SUCCESS | SMTP_NOTIFY_FAILURE, "id=1", orcpt};
	struct buf b;

	buf_init(&b);
	smtp_dsn_mail(&b, &d);
	CHECK_STR(b.data, " RET=FULL ENVID=id+3D1");
	buf_reset(&b);
	smtp_dsn_rcpt(&b, &d, 0);
	CHECK_STR(b.data, " NOTIFY=FAILURE,SUCCESS ORCPT=rfc822;a+20b@x");
	for (size_t i = 1; i < 4; i++) {
		buf_reset(&b);
		smtp_dsn_rcpt(&b, &d, i);
		CHECK_STR(b.data, " NOTIFY=FAILURE,SUCCESS");
	}
	d = (struct smtp_dsn){0, 0, "", NULL};
	buf_reset(&b);
	smtp_dsn_mail(&b, &d);
	smtp_dsn_rcpt(&b, &d, 0);
	CHECK_STR(b.data, " RET=HDRS NOTIFY=NEVER");
	buf_free(&b);
}

int main(void)
{
	RUN(test_xtext);
	RUN(test_parameters);
	return test_summary("test-smtp-dsn");
}
