/* fuzz_server.h: the scripted hostile server the client harnesses share:
 * the input is everything the server says, handed to the library through
 * the client's connect hook as the far end of a socketpair, where a thread
 * says the script and then hears the client out. Included by one harness
 * each (static definitions). */
#ifndef FUZZ_SERVER_H
#define FUZZ_SERVER_H

#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include "mail_api.h"
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

/* The connect hook: a new server thread for each connection. */
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

/* Start a run on data: the script set, the client hooks ready. */
static int fuzz_server_begin(struct mail_client *cl, const uint8_t *data, size_t size)
{
	if (size > SCRIPT_MAX)
		return -1;
	signal(SIGPIPE, SIG_IGN);
	cl->login = fixed_login;
	cl->connect = fake_connect;
	if (getenv("FUZZ_IMAP_TRACE")) {
		cl->trace = trace;
		cl->debug = 1;
	}
	script = data;
	script_len = size;
	nservers = 0;
	return 0;
}

/* Wait for every server thread of the run. */
static void fuzz_server_end(void)
{
	for (int i = 0; i < nservers; i++)
		pthread_join(servers[i], NULL);
}

/* What a program does with an open mailbox (inline: the SMTP harness has
 * none, and clang warns of an unused static function). */
static inline void fuzz_use_box(struct mailbox *box)
{
	struct mail_err err;
	struct envelope *env;
	const char *text;
	size_t len;

	for (uint32_t i = 1; i <= box->nmsgs && i <= 20; i++) {
		if (mail_fetch_text(box, i, &text, &len, &err) == 0 && len && !text)
			abort();
		mail_fetch_envelope(box, i, &env, &err);
		mail_store(box, i, STORE_ADD, MF_SEEN, NULL, &err);
	}
	mail_flush(box, &err);
	mail_ping(box, &err);
	if (box->nmsgs)
		mail_store(box, 1, STORE_ADD, MF_DELETED, NULL, &err);
	mail_expunge(box, NULL, 0, &err);
	for (uint32_t i = 1; i < box->nmsgs; i++)
		if (box->msgs[i]->uid <= box->msgs[i - 1]->uid)
			abort();   /* mail_msgno's binary search relies on this */
}

#endif
