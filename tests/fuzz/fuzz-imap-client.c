/* fuzz-imap-client.c: libFuzzer harness for the IMAP client as a whole
 * (imap_client.c, driver_imap.c) facing a hostile server: the input is
 * everything the server says, given to the library through the client's
 * connect hook as the far end of a socketpair, and the harness does what a
 * program would: open "{fuzz/notls}INBOX", fetch each message's text and
 * envelope, set a flag, ping, expunge, close; then STATUS, LIST and APPEND
 * on new connections that hear the same script. Whatever the server says,
 * the client must end cleanly, with memory bounded by what it was sent. */
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_server.h"

static void listed(void *ctx, const char *name, int attrs)
{
	if (strncmp(name, "{fuzz/notls}", 12))
		abort();   /* every answer is named as it can be opened */
	if (mail_name_climbs(name + 12) || name[12] == '/' || name[12] == '~' ||
	    strpbrk(name, "\r\n"))
		abort();   /* and none may lead a transfer out of its destination */
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct mail_client cl;
	struct mail_session s;
	struct mailbox *box;
	struct mail_err err;
	struct mail_status st;
	struct mail_new m = {.text = "Subject: x\n\nhi\n", .len = 15, .flags = MF_SEEN};
	uint32_t uid;

	if (fuzz_server_begin(&cl, data, size) < 0)
		return 0;
	mail_session_init(&s, "fuzz", "/nonexistent", "/nonexistent");
	s.client = &cl;
	if (mail_open(&s, "{fuzz/notls}INBOX", 0, NULL, NULL, &box, &err) == 0) {
		fuzz_use_box(box);
		mail_close(box, 0, &err);
	}
	mail_status(&s, "{fuzz/notls}INBOX", &st, &err);
	mail_list(&s, "{fuzz/notls}", "*", listed, NULL, &err);
	mail_append(&s, "{fuzz/notls}INBOX", &m, 1, NULL, &uid, &err);
	fuzz_server_end();
	mail_session_free(&s);
	return 0;
}
