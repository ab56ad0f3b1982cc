/* fuzz-imap-client.c: libFuzzer harness for the IMAP client as a whole
 * (imap_client.c, driver_imap.c) facing a hostile server: the input is
 * everything the server says, given to the library through the client's
 * connect hook as the far end of a socketpair, and the harness does what a
 * program would: open "{fuzz/notls}INBOX", fetch each message's text and
 * envelope, set a flag, ping, expunge, close; then STATUS, LIST and APPEND
 * on new connections that hear the same script. Whatever the server says,
 * the client must end cleanly, with memory bounded by what it was sent. */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "mail.h"
#include "net.h"
#include "script_server.h"

#define SCRIPT_MAX 65536

/* FUZZ_IMAP_TRACE=1: the conversation on stderr, to replay a crash. */
static void trace(void *ctx, const struct net_name *n, int out, const char *line, size_t len)
{
	fprintf(stderr, "%s %.*s\n", out ? "C:" : "S:", (int)len, line);
}

static void listed(void *ctx, const char *name, int attrs)
{
	if (strncmp(name, "{fuzz/notls}", 12))
		abort();   /* every answer is named as it can be opened */
	if (mail_name_climbs(name + 12) || name[12] == '/' || name[12] == '~' ||
	    strpbrk(name, "\r\n"))
		abort();   /* and none may lead a transfer out of its destination */
}

/* What a program does with an open mailbox. */
static void use(struct mailbox *box)
{
	struct mail_err err;
	struct envelope *env;
	const char *text;
	size_t len;

	for (uint32_t i = 1; i <= box->nmsgs && i <= 20; i++) {
		if (mail_fetch_text(box, i, &text, &len, &err) == 0 && len && !text)
			abort();
		mail_fetch_envelope(box, i, &env, &err);
		mail_store(box, i, STORE_ADD, MF_SEEN, 0, &err);
	}
	mail_flush(box, &err);
	mail_ping(box, &err);
	if (box->nmsgs)
		mail_store(box, 1, STORE_ADD, MF_DELETED, 0, &err);
	mail_expunge(box, NULL, 0, &err);
	for (uint32_t i = 1; i < box->nmsgs; i++)
		if (box->msgs[i]->uid <= box->msgs[i - 1]->uid)
			abort();   /* mail_msgno's binary search relies on this */
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct mail_client cl = {.login = fixed_login, .connect = fake_connect};
	struct mail_session s;
	struct mailbox *box;
	struct mail_err err;
	struct mail_status st;
	struct mail_new m = {.text = "Subject: x\n\nhi\n", .len = 15, .flags = MF_SEEN};
	uint32_t uid;

	if (size > SCRIPT_MAX)
		return 0;
	signal(SIGPIPE, SIG_IGN);
	if (getenv("FUZZ_IMAP_TRACE")) {
		cl.trace = trace;
		cl.debug = 1;
	}
	script_begin(data, size);
	mail_session_init(&s, "fuzz", "/nonexistent", "/nonexistent");
	s.client = &cl;
	if (mail_open(&s, "{fuzz/notls}INBOX", 0, NULL, NULL, &box, &err) == 0) {
		use(box);
		mail_close(box, 0, &err);
	}
	mail_status(&s, "{fuzz/notls}INBOX", &st, &err);
	mail_list(&s, "{fuzz/notls}", "*", listed, NULL, &err);
	mail_append(&s, "{fuzz/notls}INBOX", &m, 1, NULL, &uid, &err);
	script_end();
	mail_session_free(&s);
	return 0;
}
