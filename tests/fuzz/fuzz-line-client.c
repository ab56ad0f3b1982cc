/* fuzz-line-client.c: libFuzzer harness for the line-protocol clients
 * (net_line.c, driver_pop3.c) facing a hostile server, scripted as in
 * fuzz-imap-client (fuzz_server.h): open "{fuzz/pop3/notls}INBOX", fetch
 * every text and envelope, flag, ping, expunge, close; then STATUS and LIST
 * on new connections hearing the same script. The client must end
 * cleanly, its memory bounded by what it was sent. */
#include <string.h>

#include "fuzz_server.h"

static void listed(void *ctx, const char *name, int attrs)
{
	if (strcmp(name, "{fuzz/pop3/notls}INBOX"))
		abort();   /* a POP3 server has INBOX alone, whatever it says */
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct mail_client cl;
	static const char *const names[] = {"{fuzz/pop3/notls}INBOX"};
	struct mail_session s;
	struct mailbox *box;
	struct mail_err err;
	struct mail_status st;

	if (fuzz_server_begin(&cl, data, size) < 0)
		return 0;
	mail_session_init(&s, "fuzz", "/nonexistent", "/nonexistent");
	s.client = &cl;
	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
		if (mail_open(&s, names[i], 0, NULL, NULL, &box, &err) == 0) {
			fuzz_use_box(box);
			mail_close(box, 0, &err);
		}
		mail_status(&s, names[i], &st, &err);
	}
	mail_list(&s, "{fuzz/pop3/notls}", "*", listed, NULL, &err);
	fuzz_server_end();
	mail_session_free(&s);
	return 0;
}
