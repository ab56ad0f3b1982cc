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

#define SCRIPT_MAX 65536

static const uint8_t *script;
static size_t script_len;
static pthread_t servers[8];
static int nservers;

/* The server: say the script, then hear the client out. */
static void *serve(void *arg)
{
	int fd = (int)(intptr_t)arg;
	char sink[4096];

	write_full(fd, script, script_len);
	shutdown(fd, SHUT_WR);
	while (read(fd, sink, sizeof sink) > 0)
		;
	close(fd);
	return NULL;
}

static int fake_connect(void *ctx, const struct net_name *n, unsigned port, int *loopback,
			struct mail_err *err)
{
	int sv[2];

	if (nservers == (int)(sizeof servers / sizeof servers[0]) ||
	    socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0) {
		mail_err_set(err, MAIL_FAIL, "no socket");
		return -1;
	}
	if (pthread_create(&servers[nservers], NULL, serve, (void *)(intptr_t)sv[0]) != 0) {
		close(sv[0]);
		close(sv[1]);
		mail_err_set(err, MAIL_FAIL, "no thread");
		return -1;
	}
	nservers++;
	*loopback = 1;   /* so /notls may log in: the script sees the password */
	return sv[1];
}

static int fixed_login(void *ctx, const struct net_name *n, char *user, size_t ulen, char *pw,
		       size_t plen)
{
	str_copy(pw, "secret", plen);
	return 0;
}

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
		mail_store(box, i, STORE_ADD, MF_SEEN, &KWSET_EMPTY, &err);
	}
	mail_flush(box, &err);
	mail_ping(box, &err);
	if (box->nmsgs)
		mail_store(box, 1, STORE_ADD, MF_DELETED, &KWSET_EMPTY, &err);
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
	script = data;
	script_len = size;
	nservers = 0;
	mail_session_init(&s, "fuzz", "/nonexistent", "/nonexistent");
	s.client = &cl;
	if (mail_open(&s, "{fuzz/notls}INBOX", 0, NULL, NULL, &box, &err) == 0) {
		use(box);
		mail_close(box, 0, &err);
	}
	mail_status(&s, "{fuzz/notls}INBOX", &st, &err);
	mail_list(&s, "{fuzz/notls}", "*", listed, NULL, &err);
	mail_append(&s, "{fuzz/notls}INBOX", &m, 1, NULL, &uid, &err);
	for (int i = 0; i < nservers; i++)
		pthread_join(servers[i], NULL);
	mail_session_free(&s);
	return 0;
}
