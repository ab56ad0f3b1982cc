/* script_server.h: the hostile server of the client harnesses: each
 * connection the library makes through its connect hook gets a socketpair
 * whose far end a thread fills with the fuzz input (everything the server
 * says) and then drains, so the client never blocks on a full buffer. */
#ifndef FUZZ_SCRIPT_SERVER_H
#define FUZZ_SCRIPT_SERVER_H

#include <pthread.h>
#include <stdint.h>
#include <sys/socket.h>
#include <unistd.h>

#include "mail.h"
#include "net.h"

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

/* The connect hook: our end of a new scripted connection, on "loopback". */
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

/* Start a run on data; its connections are served by the script. */
static void script_begin(const uint8_t *data, size_t size)
{
	script = data;
	script_len = size;
	nservers = 0;
}

/* Wait for every server of the run (the client has closed its ends). */
static void script_end(void)
{
	for (int i = 0; i < nservers; i++)
		pthread_join(servers[i], NULL);
	nservers = 0;
}

/* A login hook that always gives "secret". */
static int fixed_login(void *ctx, const struct net_name *n, char *user, size_t ulen, char *pw,
		       size_t plen)
{
	str_copy(pw, "secret", plen);
	return 0;
}

#endif
