/* fuzz-smtp-client.c: libFuzzer harness for the SMTP client (smtp_client.c)
 * facing a hostile server: the input is everything the server says, told
 * through fuzz_server.h. The harness connects as "fuzz/notls/user=u" (so
 * the AUTH exchange runs too) and sends one 8-bit message to two
 * recipients; whatever the replies, the client must end cleanly. */
#include <stdint.h>
#include <string.h>

#include "fuzz_server.h"
#include "smtp_client.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mail_client cl = {0};
	static const char *const to[] = {"a@example.org", "b@example.org"};
	static const char msg[] = "Subject: x\n\n.dot\nmore \xc3\xa9\n";
	struct net_name nm;
	struct mail_err err;

	if (fuzz_server_begin(&cl, data, size) < 0)
		return 0;
	if (smtp_name_parse("fuzz/notls/user=u", &nm, &err) < 0)
		__builtin_trap();
	struct smtp_conn *c = smtp_connect(&nm, &cl, "u", &err);
	if (c)
		smtp_send(c, "s@example.org", to, 2, msg, sizeof msg - 1, &err);
	smtp_disconnect(c);   /* closes our end: the server thread ends */
	fuzz_server_end();
	return 0;
}
