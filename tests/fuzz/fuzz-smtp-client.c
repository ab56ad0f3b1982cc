/* fuzz-smtp-client.c: libFuzzer harness for the SMTP client (smtp_client.c)
 * facing a hostile server: the input is everything the server says,
 * written by a thread into the far end of a socketpair that the connect
 * hook hands the library (the thread also hears the client out). The harness connects as "fuzz/notls/user=u" (so the
 * AUTH exchange runs too) and sends one 8-bit message to two recipients;
 * whatever the replies, the client must end cleanly. */
#include <pthread.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "smtp_client.h"

#define SCRIPT_MAX 65536

static const uint8_t *script;
static size_t script_len;
static pthread_t server;
static int serving;

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

	if (serving || socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0) {
		mail_err_set(err, MAIL_FAIL, "no socket");
		return -1;
	}
	if (pthread_create(&server, NULL, serve, (void *)(intptr_t)sv[0]) != 0) {
		close(sv[0]);
		close(sv[1]);
		mail_err_set(err, MAIL_FAIL, "no thread");
		return -1;
	}
	serving = 1;
	*loopback = 1;   /* so /notls may log in */
	return sv[1];
}

static int fixed_login(void *ctx, const struct net_name *n, char *user, size_t ulen, char *pw,
		       size_t plen)
{
	str_copy(pw, "secret", plen);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct mail_client cl = {.login = fixed_login, .connect = fake_connect};
	static const char *const to[] = {"a@example.org", "b@example.org"};
	static const char msg[] = "Subject: x\n\n.dot\nmore \xc3\xa9\n";
	struct net_name nm;
	struct mail_err err;

	if (size > SCRIPT_MAX)
		return 0;
	script = data;
	script_len = size;
	if (smtp_name_parse("fuzz/notls/user=u", &nm, &err) < 0)
		__builtin_trap();
	struct smtp_conn *c = smtp_connect(&nm, &cl, "u", &err);
	if (c)
		smtp_send(c, "s@example.org", to, 2, msg, sizeof msg - 1, &err);
	smtp_disconnect(c);   /* closes our end: the server thread ends */
	if (serving)
		pthread_join(server, NULL);
	serving = 0;
	return 0;
}
