/* privsep.c: the three processes of a connection started as root (see
 * privsep.h): P, the root parent that checks passwords and never reads a
 * client byte; C, the unprivileged pre-login process that speaks the
 * protocol and later pumps bytes; S, the session forked by P as the user. */
#include "privsep.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <grp.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "privsep_int.h"
#include "tls.h"

static enum privsep_role ps_role = PRIVSEP_OFF;
static int ps_ctl = -1;       /* C: the login channel to P */
static int ps_data = -1;      /* C and S: the session channel */
static struct auth_user ps_user;
static int ps_user_ready;

enum privsep_role privsep_role(void)
{
	return ps_role;
}

/* ---------------------------------------------------------------------- */
/* C: dropping privileges                                                  */

/* The empty directory C is locked into: created if absent, and only used
 * when nobody but root can put anything in it. */
static int empty_dir_ready(const char *dir)
{
	struct stat st;

	if (mkdir(dir, 0755) < 0 && errno != EEXIST)
		return -1;
	if (lstat(dir, &st) < 0)
		return -1;
	if (!S_ISDIR(st.st_mode) || st.st_uid != 0 || (st.st_mode & 022)) {
		errno = EPERM;
		return -1;
	}
	return 0;
}

/* See privsep_int.h. */
void ps_drop_bounding_set(void)
{
	for (int cap = 0; cap < 64; cap++)
		if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0 && errno == EINVAL)
			break;
}

#ifdef __SANITIZE_ADDRESS__
#include <sanitizer/common_interface_defs.h>
/* Sanitizer builds (the tests): the runtime opens its log_path only when it
 * reports, which the chroot would hide; open this process's file now. An
 * empty file means no report. */
static void sanitizer_report_fd(void)
{
	const char *o = getenv("ASAN_OPTIONS"), *lp = o ? strstr(o, "log_path=") : NULL;
	char path[PATH_MAX];
	int fd;

	if (!lp)
		return;
	lp += 9;
	snprintf(path, sizeof path, "%.*s.prelogin.%ld", (int)strcspn(lp, ":"), lp,
		 (long)getpid());
	fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
	if (fd >= 0)
		__sanitizer_set_report_fd((void *)(intptr_t)fd);
}
#else
static void sanitizer_report_fd(void)
{
}
#endif

/* Become pw for good; chroot where the system allows it. */
static int drop_to(const struct passwd *pw)
{
	uid_t r, e, s;

	sanitizer_report_fd();
	tzset();   /* the log's time stamps need /etc/localtime, gone after chroot */
	if (empty_dir_ready(PRIVSEP_CHROOT) < 0 || chroot(PRIVSEP_CHROOT) < 0 || chdir("/") < 0)
		log_warn("pre-login process not confined to %s: %s", PRIVSEP_CHROOT,
			 strerror(errno));
	ps_drop_bounding_set();
	if (setgroups(0, NULL) < 0 || setresgid(pw->pw_gid, pw->pw_gid, pw->pw_gid) < 0 ||
	    setresuid(pw->pw_uid, pw->pw_uid, pw->pw_uid) < 0) {
		log_err("cannot switch to the pre-login user %s: %s", pw->pw_name, strerror(errno));
		return -1;
	}
	if (setuid(0) == 0 || getresuid(&r, &e, &s) < 0 || !r || !e || !s) {
		log_err("pre-login process could regain root");
		return -1;
	}
	prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
	prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);   /* no ptrace by other uwimap processes */
	/* C never starts a process: a compromised one cannot either */
	setrlimit(RLIMIT_NPROC, &(struct rlimit){0, 0});
	return 0;
}

/* ---------------------------------------------------------------------- */
/* P                                                                       */

/* What P knows of one connection. */
struct parent {
	const struct config *cfg;
	const struct server_conn *conn;
	const char *pam_default;
	pid_t c_pid, s_pid;
	int ctl, data;
	unsigned failures;
	int sctl;                               /* S's URL requests (privsep_url.c) */
	pid_t w_pid;                            /* the URL worker running, or 0 */
	time_t w_deadline;
	char user[PRIVSEP_NAME_MAX + 1];        /* whom S serves, as P logged them in */
	char w_owner[PRIVSEP_NAME_MAX + 1];
};

/* P's children (C, S, a URL worker), for the signal handler; P's own pid
 * (forked children that inherit the handler must not act on it). */
static volatile pid_t term_pids[3];
static pid_t term_owner;

/* A stop request (systemd, inetd, an administrator) reaches P: pass it on
 * to C and S, then P exits as usual once they are gone. */
static void parent_on_term(int sig)
{
	if (getpid() != term_owner)
		_exit(1);
	for (int i = 0; i < 3; i++)
		if (term_pids[i] > 0)
			kill(term_pids[i], sig);
}

/* Relay stop signals to the children (on), or leave them alone (in S). */
static void parent_catch_term(int on)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on ? parent_on_term : SIG_DFL;
	sigemptyset(&sa.sa_mask);
	term_owner = getpid();
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
}

/* Close *fd, if open, and mark it so. */
static void fd_drop(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

/* A child ended; say so when a signal ended it (a crash or a kill). */
static void child_report(struct parent *p, pid_t pid, int status)
{
	const char *who = pid == p->c_pid ? "pre-login" : pid == p->w_pid ? "URL worker" : "session";

	if (WIFSIGNALED(status))
		log_err("%s process %d killed by signal %d host=%s [%s]", who, (int)pid,
			WTERMSIG(status), p->conn->peer_host, daemon_peer_addr(p->conn));
	else if (pid == p->c_pid && WIFEXITED(status) && WEXITSTATUS(status) > 1)
		log_notice("pre-login process %d exited with status %d host=%s", (int)pid,
			   WEXITSTATUS(status), p->conn->peer_host);
}

/* Wait for every child (C, S), then end P. */
static void __attribute__((noreturn)) parent_finish(struct parent *p, int code)
{
	int status;
	pid_t pid;

	if (p->ctl >= 0)
		close(p->ctl);
	if (p->data >= 0)
		close(p->data);
	while ((pid = waitpid(-1, &status, 0)) > 0 || (pid < 0 && errno == EINTR))
		if (pid > 0)
			child_report(p, pid, status);
	exit(code);
}

/* C broke the protocol: it is no longer trusted to hold the connection. */
static void __attribute__((noreturn)) parent_abort(struct parent *p, const char *why)
{
	log_err("pre-login process %d: %s host=%s [%s]; connection ended", (int)p->c_pid, why,
		p->conn->peer_host, daemon_peer_addr(p->conn));
	kill(p->c_pid, SIGKILL);
	parent_finish(p, 1);
}

/* See privsep_int.h. */
int ps_field_ok(const char *f, uint16_t len, size_t max)
{
	return len <= max && !memchr(f, '\0', len) && f[len] == '\0';
}

int privsep_request_ok(const void *rec, size_t n)
{
	const struct privsep_request *q = rec;

	return n == sizeof *q && q->magic == PS_MAGIC && q->overlong <= 1 &&
	       ps_field_ok(q->user, q->user_len, PRIVSEP_NAME_MAX) &&
	       ps_field_ok(q->authname, q->authname_len, PRIVSEP_NAME_MAX) &&
	       ps_field_ok(q->pass, q->pass_len, PRIVSEP_PASS_MAX);
}

/* The verdict to C; if C is gone, the next recv says so. */
static void parent_reply(struct parent *p, enum daemon_login_result r)
{
	struct ps_reply a = {PS_MAGIC, (uint32_t)r, p->failures};

	send(p->ctl, &a, sizeof a, MSG_NOSIGNAL);
}

/* Fork S for u. Returns DLOGIN_OK once S runs as the user, DLOGIN_FATAL
 * when it could not switch (logged by S); in S itself, returns -1. */
static int parent_fork_session(struct parent *p, struct auth_user *u)
{
	int ready[2], sctl[2];
	char ok = 0;

	auth_groups(u);   /* here, so S loads no NSS module for it */
	/* The keys read ahead are for C's STARTTLS, never P's: freed here
	 * they stay out of S, and S touches no TLS code to free them (that
	 * brought a megabyte of libcrypto's pages into every session). */
	tls_preload_free();
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sctl) < 0)
		sctl[0] = sctl[1] = -1;   /* no URLs of other users, the session still runs */
	if (pipe2(ready, O_CLOEXEC) < 0 || (p->s_pid = fork()) < 0) {
		log_err("cannot start the session user=%s: %s", u->name, strerror(errno));
		fd_drop(&sctl[0]);
		fd_drop(&sctl[1]);
		return DLOGIN_FATAL;
	}
	if (p->s_pid == 0) {
		parent_catch_term(0);
		close(p->ctl);
		close(ready[0]);
		if (sctl[0] >= 0)
			close(sctl[0]);
		ps_url_set_channel(sctl[1]);
		ok = daemon_become(u, p->conn) == 0;
		if (write(ready[1], &ok, 1) != 1 || !ok)
			_exit(1);
		close(ready[1]);
		ps_role = PRIVSEP_SESSION;
		ps_data = p->data;
		ps_user = *u;
		ps_user_ready = 1;
		return -1;
	}
	term_pids[1] = p->s_pid;
	if (sctl[1] >= 0)
		close(sctl[1]);
	p->sctl = sctl[0];
	snprintf(p->user, sizeof p->user, "%s", u->name);
	free(u->groups);
	u->groups = NULL;
	close(ready[1]);
	while (read(ready[0], &ok, 1) < 0 && errno == EINTR)
		;
	close(ready[0]);
	return ok == 1 ? DLOGIN_OK : DLOGIN_FATAL;
}

/* Check one request. Returns 1 in S (the caller returns to the daemon),
 * 2 when S runs, 0 when C may ask again; else P is done with C's requests. */
static int parent_handle(struct parent *p, struct privsep_request *q)
{
	struct auth_user u;
	enum daemon_login_result r;

	memset(&u, 0, sizeof u);
	if (p->failures >= p->cfg->max_login_failures)
		parent_abort(p, "login attempt after the failure limit");
	r = daemon_check_password(p->cfg, p->conn, p->pam_default, q->user,
				  q->authname_len ? q->authname : NULL, q->pass,
				  q->overlong ? "name or password longer than the limit" : NULL,
				  &u, &p->failures);
	explicit_bzero(q, sizeof *q);
	if (r == DLOGIN_OK) {
		int s = parent_fork_session(p, &u);
		if (s < 0)
			return 1;
		r = (enum daemon_login_result)s;
		free(u.name);
		free(u.home);
	}
	parent_reply(p, r);
	return r == DLOGIN_BAD ? 0 : r == DLOGIN_OK ? 2 : -1;
}

/* See privsep_int.h. */
int ps_send_fd(int sock, const struct ps_reply *a, int fd)
{
	char cbuf[CMSG_SPACE(sizeof(int))];
	struct iovec iov = {(void *)a, sizeof *a};
	struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf,
			    .msg_controllen = sizeof cbuf};

	memset(cbuf, 0, sizeof cbuf);
	struct cmsghdr *cm = CMSG_FIRSTHDR(&mh);
	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(cm), &fd, sizeof(int));
	return sendmsg(sock, &mh, MSG_NOSIGNAL) == (ssize_t)sizeof *a ? 0 : -1;
}

/* C gets a new session channel, its end passed with the verdict RESUME. */
static int parent_resume(struct parent *p)
{
	struct ps_reply a = {PS_MAGIC, PRIVSEP_RESUME, p->failures};
	int data[2];

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, data) < 0)
		return -1;
	if (ps_send_fd(p->ctl, &a, data[1]) < 0) {
		close(data[0]);
		close(data[1]);
		return -1;
	}
	close(data[1]);
	p->data = data[0];
	return 0;
}

/* A pidfd for pid, which poll reports readable when it ends; -1 where the
 * kernel has none (P then looks for ended children every second). */
static int child_fd(pid_t pid)
{
	return pid > 0 ? (int)syscall(SYS_pidfd_open, pid, 0) : -1;
}

/* How long P may sleep: until the worker's deadline, and a second at most
 * without pidfds. */
static int session_wait_ms(const struct parent *p, int polled)
{
	int ms = polled ? -1 : 1000;

	if (p->w_pid > 0) {
		time_t left = p->w_deadline - time(NULL);
		int w = left > 0 ? (int)left * 1000 : 0;
		ms = ms < 0 || w < ms ? w : ms;
	}
	return ms;
}

/* P started a URL worker: it is stopped with P, and killed at its deadline. */
static void worker_started(struct parent *p, int *w_fd)
{
	term_pids[2] = p->w_pid;
	p->w_deadline = time(NULL) + p->cfg->urlauth_timeout;
	*w_fd = child_fd(p->w_pid);
}

/* One ended child of the session: 1 when it was S (*status is its end). */
static int session_reaped(struct parent *p, pid_t pid, int status, int *c_alive, int *w_fd)
{
	child_report(p, pid, status);
	if (pid == p->c_pid) {
		*c_alive = 0;
		term_pids[0] = 0;
	} else if (pid == p->w_pid) {
		ps_url_log(p->user, p->w_owner, status,
			   WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL &&
			   time(NULL) >= p->w_deadline);
		p->w_pid = 0;
		term_pids[2] = 0;
		fd_drop(w_fd);
	}
	return pid == p->s_pid;
}

/* While S runs C only pumps; P serves S's URL requests, one worker at a
 * time, each killed at its deadline. 0 when S ended by UNAUTHENTICATE and
 * C is back before login (P takes login requests again); otherwise P is
 * done. S's exit status is all P trusts from it: at worst a user's session
 * hands the connection back to the pre-login state. */
static int parent_session(struct parent *p)
{
	int status, c_alive = 1, s_end = -1;
	int fds[3] = {child_fd(p->s_pid), child_fd(p->c_pid), -1};   /* S, C, worker */
	int polled = fds[0] >= 0 && fds[1] >= 0;
	pid_t pid;

	close(p->data);   /* S holds it: its end reaches C as EOF when S ends */
	p->data = -1;
	while (s_end < 0) {
		struct pollfd pf[4] = {{p->w_pid ? -1 : p->sctl, POLLIN, 0}, {fds[0], POLLIN, 0},
				       {c_alive ? fds[1] : -1, POLLIN, 0}, {fds[2], POLLIN, 0}};
		if (poll(pf, 4, session_wait_ms(p, polled)) < 0 && errno != EINTR)
			break;
		if (p->w_pid > 0 && time(NULL) >= p->w_deadline)
			kill(p->w_pid, SIGKILL);
		if (pf[0].revents && !p->w_pid) {
			if (ps_url_serve(p->sctl, p->cfg, p->user, &p->w_pid, p->w_owner) < 0)
				fd_drop(&p->sctl);
			else if (p->w_pid > 0)
				worker_started(p, &fds[2]);
		}
		while ((pid = waitpid(-1, &status, WNOHANG)) > 0)
			if (session_reaped(p, pid, status, &c_alive, &fds[2]))
				s_end = status;
	}
	/* a worker outliving S serves nobody */
	if (p->w_pid > 0 && kill(p->w_pid, SIGKILL) == 0 && waitpid(p->w_pid, &status, 0) > 0)
		session_reaped(p, p->w_pid, status, &c_alive, &fds[2]);
	for (int i = 0; i < 3; i++)
		fd_drop(&fds[i]);
	fd_drop(&p->sctl);
	term_pids[1] = 0;
	if (s_end < 0 || !c_alive || !WIFEXITED(s_end) || WEXITSTATUS(s_end) != PRIVSEP_EXIT_UNAUTH)
		return -1;
	return parent_resume(p);
}

/* P's life: answer C's login requests until one succeeds or C is gone;
 * after a session that ended by UNAUTHENTICATE, again. */
static void parent_run(struct parent *p)
{
	struct privsep_request q;

	for (;;) {
		ssize_t n = recv(p->ctl, &q, sizeof q, MSG_TRUNC);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			parent_finish(p, 0);   /* C ended: its status is reported */
		if (!privsep_request_ok(&q, (size_t)n)) {
			explicit_bzero(&q, sizeof q);
			parent_abort(p, "malformed login request");
		}
		int r = parent_handle(p, &q);
		if (r == 1)
			return;
		if (r < 0 || (r == 2 && parent_session(p) < 0))
			parent_finish(p, 0);
	}
}

/* P holds nothing of the client: stdin, stdout and stderr (the socket
 * under inetd) become /dev/null. */
static void parent_release_client(void)
{
	int fd = open("/dev/null", O_RDWR);

	if (fd < 0)
		fatal("cannot open /dev/null: %s", strerror(errno));
	for (int i = 0; i <= 2; i++)
		if (fd != i)
			dup2(fd, i);
	if (fd > 2)
		close(fd);
}

enum privsep_role privsep_start(const struct config *cfg, const struct server_conn *conn,
				const char *pam_default)
{
	struct parent p = {cfg, conn, pam_default, -1, -1, -1, -1, 0, .sctl = -1};
	int ctl[2], data[2];
	struct passwd *pw;

	if (getuid() != 0 && geteuid() != 0)
		return ps_role = PRIVSEP_OFF;
	pw = getpwnam(cfg->prelogin_user);
	if (!pw || pw->pw_uid == 0) {
		log_err("the pre-login user %s %s: create it with useradd --system "
			"--no-create-home --shell /usr/sbin/nologin %s (make install does), or "
			"set prelogin_user; connection refused", cfg->prelogin_user,
			pw ? "is root" : "does not exist", cfg->prelogin_user);
		return ps_role = PRIVSEP_REFUSED;
	}
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, ctl) < 0 ||
	    socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, data) < 0 ||
	    (p.c_pid = fork()) < 0) {
		log_err("cannot start the pre-login process: %s", strerror(errno));
		return ps_role = PRIVSEP_REFUSED;
	}
	if (p.c_pid == 0) {
		close(ctl[0]);
		close(data[0]);
		ps_ctl = ctl[1];
		ps_data = data[1];
		if (drop_to(pw) < 0)
			_exit(2);
		return ps_role = PRIVSEP_PRELOGIN;
	}
	close(ctl[1]);
	close(data[1]);
	p.ctl = ctl[0];
	p.data = data[0];
	term_pids[0] = p.c_pid;
	parent_catch_term(1);
	parent_release_client();
	parent_run(&p);
	return ps_role;   /* in S */
}

/* ---------------------------------------------------------------------- */
/* C: asking P, then pumping                                               */

/* Copy s into a request field; sets *over when it did not fit. */
static uint16_t field_set(char *dst, const char *s, size_t max, uint16_t *over)
{
	size_t n = s ? strlen(s) : 0;

	if (n > max) {
		n = max;
		*over = 1;
	}
	memcpy(dst, s ? s : "", n);
	return (uint16_t)n;
}

enum daemon_login_result privsep_login(const char *user, const char *authname,
				       const char *password, unsigned *failures)
{
	struct privsep_request q;
	struct ps_reply a;
	ssize_t n;

	memset(&q, 0, sizeof q);
	q.magic = PS_MAGIC;
	q.user_len = field_set(q.user, user, PRIVSEP_NAME_MAX, &q.overlong);
	q.authname_len = field_set(q.authname, authname, PRIVSEP_NAME_MAX, &q.overlong);
	q.pass_len = field_set(q.pass, password, PRIVSEP_PASS_MAX, &q.overlong);
	n = send(ps_ctl, &q, sizeof q, MSG_NOSIGNAL);
	explicit_bzero(&q, sizeof q);
	if (n != (ssize_t)sizeof q)
		return DLOGIN_FATAL;
	do
		n = recv(ps_ctl, &a, sizeof a, 0);
	while (n < 0 && errno == EINTR);
	if (n != (ssize_t)sizeof a || a.magic != PS_MAGIC || a.status > DLOGIN_FATAL) {
		log_err("the privileged process did not answer a login request");
		return DLOGIN_FATAL;
	}
	*failures = a.failures;
	return (enum daemon_login_result)a.status;
}

/* Write all of (p, n) to the client through io's transport. */
static int client_write(struct io *io, const char *p, size_t n)
{
	return io_write_through(io, io->tr, io->trctx, p, n, 0);
}

/* Client bytes the session did not take before it ended (it shut its
 * reading side after UNAUTHENTICATE): the first commands of the next
 * pre-login phase. */
static char pump_in[16384];
static size_t pump_held;
_Static_assert(sizeof pump_in <= sizeof((struct io *)0)->rbuf, "held bytes fit io's buffer");

/* Move bytes both ways until either side closes. The session's side never
 * blocks the pump: a session busy writing a long response while the
 * client pipelines more commands would otherwise wait on a pump that waits
 * on the session. Only a client that stops reading stalls it. 1 when the
 * session ended (its every byte passed on), 0 when the client is gone. */
static int pump(struct io *io, int data)
{
	static char out[16384];
	char *in = pump_in;
	size_t inoff = 0, inlen = 0;
	int client_done = 0, refused = 0;

	fcntl(data, F_SETFL, fcntl(data, F_GETFL) | O_NONBLOCK);
	for (;;) {
		int want_in = !inlen && !client_done;
		int pending = want_in && io->tr->pending && io->tr->pending(io->trctx) > 0;
		struct pollfd pf[2] = {{want_in ? io->in_fd : -1, POLLIN, 0},
				       {data, (short)(POLLIN | (inlen && !refused ? POLLOUT : 0)), 0}};
		ssize_t n;

		if (poll(pf, 2, pending ? 0 : -1) < 0 && errno != EINTR)
			return 0;
		if (want_in && (pending || pf[0].revents)) {
			n = io->tr->read(io->trctx, in, sizeof pump_in);
			if (n < 0 && errno != EINTR)
				return 0;
			if (n == 0) {
				/* the client said all it will: the session still answers */
				client_done = 1;
				shutdown(data, SHUT_WR);
			}
			inoff = 0;
			inlen = n > 0 ? (size_t)n : 0;
		}
		if (pf[1].revents & (POLLIN | POLLHUP | POLLERR)) {
			/* the session's output first: its last words before it ends */
			n = read(data, out, sizeof out);
			if (n == 0 || (n < 0 && errno == ECONNRESET)) {
				memmove(in, in + inoff, inlen);
				pump_held = inlen;
				return !client_done;
			}
			if (n < 0 && errno != EINTR && errno != EAGAIN)
				return 0;
			if (n > 0 && client_write(io, out, (size_t)n) < 0) {
				io->failed = 1;
				return 0;
			}
		}
		if (inlen && !refused && (pf[1].revents & (POLLOUT | POLLERR | POLLHUP))) {
			n = write(data, in + inoff, inlen);
			/* the session stopped reading: keep the bytes, drain its output */
			refused = n < 0 && errno != EINTR && errno != EAGAIN;
			if (n > 0) {
				inoff += (size_t)n;
				inlen -= (size_t)n;
			}
		}
	}
}

/* See privsep_int.h. */
int ps_recv_fd(int sock, uint32_t want)
{
	struct ps_reply a;
	char cbuf[CMSG_SPACE(sizeof(int))];
	struct iovec iov = {&a, sizeof a};
	struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf,
			    .msg_controllen = sizeof cbuf};
	struct cmsghdr *cm;
	ssize_t n;
	int fd;

	do
		n = recvmsg(sock, &mh, MSG_CMSG_CLOEXEC);
	while (n < 0 && errno == EINTR);
	cm = n == (ssize_t)sizeof a ? CMSG_FIRSTHDR(&mh) : NULL;
	if (!cm || cm->cmsg_level != SOL_SOCKET || cm->cmsg_type != SCM_RIGHTS ||
	    cm->cmsg_len != CMSG_LEN(sizeof(int)))
		return -1;
	memcpy(&fd, CMSG_DATA(cm), sizeof fd);
	if (a.magic != PS_MAGIC || a.status != want || (mh.msg_flags & MSG_CTRUNC)) {
		close(fd);
		return -1;
	}
	return fd;
}

/* C, once S is gone: P's word. 0 with the new session channel in ps_data
 * when S ended by UNAUTHENTICATE; -1 when the connection is over. */
static int await_resume(void)
{
	int fd = ps_recv_fd(ps_ctl, PRIVSEP_RESUME);

	if (fd < 0)
		return -1;
	close(ps_data);
	ps_data = fd;
	return 0;
}

void privsep_handoff(struct io *io, const void *rec, size_t len, unsigned idle)
{
	unsigned char hdr[4] = {(unsigned char)(len >> 24), (unsigned char)(len >> 16),
				(unsigned char)(len >> 8), (unsigned char)len};
	struct timeval tv = {.tv_sec = idle, .tv_usec = 0};

	if (io_flush(io) < 0 || len > PRIVSEP_HANDOFF_MAX || write_full(ps_data, hdr, 4) < 0 ||
	    write_full(ps_data, rec, len) < 0 ||
	    write_full(ps_data, io->rbuf + io->rpos, io->rlen - io->rpos) < 0)
		exit(0);
	explicit_bzero(io->rbuf, sizeof io->rbuf);   /* the login line held the password */
	tls_preload_free();   /* no STARTTLS after login: the unused keys go */
	io_discard_input(io);
	/* a client that stops reading must not pin the pump forever */
	io->timeout = idle;
	setsockopt(io->out_fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
	if (!pump(io, ps_data) || await_resume() < 0)
		exit(0);
	/* what the client sent once the session stopped reading is its next input */
	io_discard_input(io);
	memcpy(io->rbuf, pump_in, pump_held);
	io->rlen = pump_held;
	pump_held = 0;
}

/* ---------------------------------------------------------------------- */
/* S                                                                       */

int privsep_session_fd(void)
{
	return ps_data;
}

int privsep_session_user(struct auth_user *u)
{
	if (!ps_user_ready)
		return -1;
	*u = ps_user;
	memset(&ps_user, 0, sizeof ps_user);
	ps_user_ready = 0;
	return 0;
}

void privsep_session_stop_reading(struct io *io, struct buf *rest)
{
	char chunk[4096];
	ssize_t n;

	/* from here C's writes fail, so it keeps what the client sends next */
	shutdown(ps_data, SHUT_RD);
	buf_append(rest, io->rbuf + io->rpos, io->rlen - io->rpos);
	io_discard_input(io);
	/* closing on unread bytes would reset C's end: read them all */
	while ((n = recv(ps_data, chunk, sizeof chunk, MSG_DONTWAIT)) > 0)
		buf_append(rest, chunk, (size_t)n);
}

int privsep_handoff_read(struct io *io, struct buf *rec)
{
	struct buf hdr;
	size_t len;
	int r = -1;

	buf_init(&hdr);
	if (io_read_exact(io, &hdr, 4) == IO_OK) {
		const unsigned char *h = (const unsigned char *)hdr.data;
		len = (size_t)h[0] << 24 | (size_t)h[1] << 16 | (size_t)h[2] << 8 | h[3];
		if (len <= PRIVSEP_HANDOFF_MAX && io_read_exact(io, rec, len) == IO_OK)
			r = 0;
	}
	buf_free(&hdr);
	return r;
}

#ifdef PRIVSEP_TEST_HOOKS
/* Is the line "WORD" or "<tag> WORD"? */
static int hook_is(const char *line, size_t len, const char *word)
{
	size_t n = strlen(word);

	return len >= n && !memcmp(line + len - n, word, n) && (len == n || line[len - n - 1] == ' ');
}
#endif

void privsep_test_hook(const char *line, size_t len)
{
#ifdef PRIVSEP_TEST_HOOKS
	if (hook_is(line, len, "XFATAL"))
		fatal("test hook XFATAL");   /* the path out-of-memory takes */
	if (ps_role == PRIVSEP_SESSION)
		ps_url_test_hook(line, len);
	if (ps_role != PRIVSEP_PRELOGIN || ps_ctl < 0)
		return;
	if (hook_is(line, len, "XCRASH"))
		abort();
	if (hook_is(line, len, "XBADCTL")) {
		/* what a compromised pre-login process could send: P must end it */
		send(ps_ctl, "junk", 4, MSG_NOSIGNAL);
		for (;;)
			pause();
	}
#endif
}
