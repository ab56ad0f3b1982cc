/* privsep_url.c: another user's URLAUTH URL (RFC 4467). S runs as its user
 * and cannot read the owner's files, by design; so for each such URL P
 * (root) starts a short-lived worker as the owner. P reads one fixed record
 * and never parses the URL: the worker does, with the owner's rights only. */
#include "privsep.h"
#include "privsep_int.h"

#include <errno.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "log.h"

/* P's answer to S: the result channel is attached, or not (NIL). */
#define PS_URL_CHANNEL 0x55ab
#define PS_URL_REFUSED 0x55ac

static privsep_url_fn *url_fn;
static int url_ctl = -1;   /* S: the request channel to P */

void privsep_set_url_worker(privsep_url_fn *fn)
{
	url_fn = fn;
}

/* S, at its start: the channel privsep.c made for it. */
void ps_url_set_channel(int fd)
{
	url_ctl = fd;
}

int privsep_url_request_ok(const void *rec, size_t n)
{
	const struct privsep_url_request *q = rec;

	return n == sizeof *q && q->magic == PRIVSEP_URL_MAGIC && q->owner_len > 0 &&
	       ps_field_ok(q->owner, q->owner_len, PRIVSEP_NAME_MAX) &&
	       ps_field_ok(q->url, q->url_len, PRIVSEP_URL_MAX);
}

/* ---------------------------------------------------------------------- */
/* P                                                                       */

/* The passwd entry of an owner P may start a worker for: an ordinary user
 * with a home, named exactly so (NSS may match names loosely), never root
 * nor the pre-login user. */
static struct passwd *url_owner(const struct config *cfg, const char *name)
{
	struct passwd *pw = getpwnam(name);

	if (!pw || pw->pw_uid == 0 || strcmp(pw->pw_name, name) || !pw->pw_dir ||
	    pw->pw_dir[0] != '/' || !pw->pw_dir[1] || !strcmp(name, cfg->prelogin_user))
		return NULL;
	return pw;
}

/* The worker, as the owner: nothing of P's is left open but syslog's
 * reconnection, and the result goes to stdout (the channel to S): "Y" and
 * the bytes, or nothing for NIL. Exit status 0 served, 1 NIL. */
static void __attribute__((noreturn)) url_worker(const struct config *cfg,
						   const struct passwd *pw, const char *requester,
						   const struct privsep_url_request *q, int out)
{
	struct auth_user u = {.name = pw->pw_name, .home = pw->pw_dir, .uid = pw->pw_uid,
			      .gid = pw->pw_gid};
	struct mail_err err;
	struct buf res;

	signal(SIGTERM, SIG_DFL);
	if (dup2(out, STDOUT_FILENO) < 0)
		_exit(1);
	closelog();
	closefrom(STDERR_FILENO + 1);
	ps_drop_bounding_set();
	if (auth_become(&u, &err) < 0) {
		log_err("URL worker for %s: %s", pw->pw_name, err.text);
		_exit(1);
	}
	prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
	prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
	buf_init(&res);
	if (url_fn(cfg, &u, requester, q->url, q->url_len, cfg->max_message, &res) == 0 &&
	    res.len <= cfg->max_message && write_full(STDOUT_FILENO, "Y", 1) == 0 &&
	    write_full(STDOUT_FILENO, res.data, res.len) == 0)
		_exit(0);
	_exit(1);
}

/* The verdict to S, with the result channel or without. */
static void url_answer(int sctl, int fd)
{
	struct ps_reply a = {PS_MAGIC, fd >= 0 ? PS_URL_CHANNEL : PS_URL_REFUSED, 0};

	if (fd >= 0)
		ps_send_fd(sctl, &a, fd);
	else
		send(sctl, &a, sizeof a, MSG_NOSIGNAL);
}

int ps_url_serve(int sctl, const struct config *cfg, const char *requester, pid_t *worker,
		 char owner[])
{
	struct privsep_url_request q;
	struct passwd *pw;
	int res[2];
	ssize_t n = recv(sctl, &q, sizeof q, MSG_TRUNC | MSG_DONTWAIT);

	if (n < 0 && (errno == EINTR || errno == EAGAIN))
		return 0;
	if (n <= 0)
		return -1;
	if (!privsep_url_request_ok(&q, (size_t)n)) {
		log_err("session user=%s: malformed URL request; it may send no more", requester);
		return -1;
	}
	memcpy(owner, q.owner, q.owner_len + 1u);
	pw = url_fn ? url_owner(cfg, q.owner) : NULL;
	if (!pw || socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, res) < 0) {
		ps_url_log(requester, owner, -1, 0);
		url_answer(sctl, -1);
		return 0;
	}
	if ((*worker = fork()) == 0)
		url_worker(cfg, pw, requester, &q, res[1]);
	close(res[1]);
	if (*worker < 0) {
		log_err("cannot start a URL worker: %s", strerror(errno));
		ps_url_log(requester, owner, -1, 0);
		close(res[0]);
		url_answer(sctl, -1);
		return 0;
	}
	url_answer(sctl, res[0]);
	close(res[0]);
	return 0;
}

void ps_url_log(const char *requester, const char *owner, int status, int timed_out)
{
	const char *verdict = timed_out ? "NIL (timed out)" :
			      status >= 0 && WIFEXITED(status) && !WEXITSTATUS(status) ? "served" :
			      "NIL";

	log_info("URLFETCH user=%s owner=%s: %s", requester, owner, verdict);
}

/* ---------------------------------------------------------------------- */
/* S                                                                       */

/* The worker's answer on fd, within the worker's time (P kills it then):
 * 0 with the bytes in out, -1 for NIL. */
static int url_result_read(int fd, size_t max, unsigned seconds, struct buf *out)
{
	time_t end = time(NULL) + (time_t)seconds + 2;
	struct pollfd pf = {fd, POLLIN, 0};
	char chunk[16384];
	ssize_t n;

	for (;;) {
		time_t left = end - time(NULL);
		if (left <= 0)
			return -1;
		if (poll(&pf, 1, (int)left * 1000) < 0 && errno != EINTR)
			return -1;
		n = read(fd, chunk, sizeof chunk);
		if (n == 0)
			break;
		if (n < 0 && errno != EINTR && errno != EAGAIN)
			return -1;
		if (n > 0)
			buf_append(out, chunk, (size_t)n);
		if (out->len > max + 1)
			return -1;
	}
	if (!out->len || out->data[0] != 'Y')
		return -1;
	memmove(out->data, out->data + 1, --out->len);
	return 0;
}

/* S: send P the request for owner's url; 0, or -1 when it cannot be one. */
static int url_request_send(const char *owner, size_t olen, const char *url, size_t len)
{
	struct privsep_url_request q;

	if (url_ctl < 0 || !olen || olen > PRIVSEP_NAME_MAX || len > PRIVSEP_URL_MAX ||
	    memchr(owner, '\0', olen) || memchr(url, '\0', len))
		return -1;
	memset(&q, 0, sizeof q);
	q.magic = PRIVSEP_URL_MAGIC;
	q.owner_len = (uint16_t)olen;
	q.url_len = (uint16_t)len;
	memcpy(q.owner, owner, olen);
	memcpy(q.url, url, len);
	return send(url_ctl, &q, sizeof q, MSG_NOSIGNAL) == (ssize_t)sizeof q ? 0 : -1;
}

int privsep_url_fetch(const char *owner, const char *url, size_t len, size_t max,
		      unsigned seconds, struct buf *out)
{
	int fd, rc;

	if (url_request_send(owner, strlen(owner), url, len) < 0)
		return -1;
	fd = ps_recv_fd(url_ctl, PS_URL_CHANNEL);
	if (fd < 0)
		return -1;
	rc = url_result_read(fd, max, seconds, out);
	close(fd);
	return rc;
}

#ifdef PRIVSEP_TEST_HOOKS
/* S on "<tag> XURLFLOOD owner url": what a compromised session could do,
 * many requests sent at once; the answers are read and dropped (P must
 * still run one worker at a time). */
void ps_url_test_hook(const char *line, size_t len)
{
	const char *p = memmem(line, len, " XURLFLOOD ", 11), *end = line + len, *sp;
	struct buf scratch;
	int sent = 0;

	if (!p || !(sp = memchr(p + 11, ' ', (size_t)(end - p - 11))))
		return;
	for (; sent < 8; sent++)
		if (url_request_send(p + 11, (size_t)(sp - p - 11), sp + 1, (size_t)(end - sp - 1)) < 0)
			break;
	while (sent-- > 0) {
		int fd = ps_recv_fd(url_ctl, PS_URL_CHANNEL);
		buf_init(&scratch);
		if (fd >= 0) {
			url_result_read(fd, 1 << 20, 60, &scratch);
			close(fd);
		}
		buf_free(&scratch);
	}
}
#endif
