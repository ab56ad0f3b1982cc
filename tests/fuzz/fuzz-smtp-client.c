/* fuzz-smtp-client.c: libFuzzer harness for the SMTP client (smtp_client.c)
 * facing a hostile server: the input is everything the server says, told
 * through script_server.h. The harness connects as "fuzz/notls/user=u" (so
 * the AUTH exchange runs too) and sends one 8-bit message to two
 * recipients; whatever the replies, the client must end cleanly. */
#include <signal.h>
#include <stdint.h>
#include <string.h>

#include "script_server.h"
#include "smtp_client.h"

#define SCRIPT_MAX 65536

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct mail_client cl = {.login = fixed_login, .connect = fake_connect};
	static const char *const to[] = {"a@example.org", "b@example.org"};
	static const char msg[] = "Subject: x\n\n.dot\nmore \xc3\xa9\n";
	struct net_name nm;
	struct mail_err err;

	if (size > SCRIPT_MAX)
		return 0;
	signal(SIGPIPE, SIG_IGN);
	script_begin(data, size);
	if (smtp_name_parse("fuzz/notls/user=u", &nm, &err) < 0)
		__builtin_trap();
	struct smtp_conn *c = smtp_connect(&nm, &cl, "u", &err);
	if (c)
		smtp_send(c, "s@example.org", to, 2, msg, sizeof msg - 1, &err);
	smtp_disconnect(c);   /* closes our end: the server thread ends */
	script_end();
	return 0;
}
