/* tmail.c: the local delivery agent an MTA runs (Postfix's mailbox_command,
 * an /etc/aliases pipe, any MTA as root): one message on stdin to each
 * recipient's INBOX (or user+folder), stored by that recipient's own process.
 * As root, the only right used beyond the user's is making a missing spool
 * file, which each recipient's process asks its root parent for. */
#include <errno.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <sysexits.h>
#include <unistd.h>

#include "auth.h"
#include "config.h"
#include "deliver.h"
#include "log.h"

static const char usage[] =
	"usage: tmail [-f sender] [-I inbox] [-c config] user[+folder] ...\n"
	"  reads one message on stdin and delivers it to each user's INBOX\n"
	"  (or the folder, when it exists); exit codes as in sysexits.h\n";

/* A recipient: its passwd entry and the folder of user+folder. */
struct rcpt {
	char *name, *home, *folder;
	uid_t uid;
	gid_t gid;
};

static void rcpt_free(struct rcpt *r)
{
	free(r->name);
	free(r->home);
	free(r->folder);
}

/* Find the user of "user[+folder]": EX_OK, EX_NOUSER, or EX_TEMPFAIL when
 * the user database could not be asked (an LDAP server down). */
static int rcpt_lookup(const char *arg, struct rcpt *r)
{
	const char *plus = strchr(arg, '+');
	char *user = plus ? strndup(arg, (size_t)(plus - arg)) : strdup(arg);
	struct passwd *pw;

	memset(r, 0, sizeof *r);
	errno = 0;
	pw = user && *user ? getpwnam(user) : NULL;
	if (!pw) {
		int temp = errno && errno != ENOENT && errno != ESRCH && errno != EBADF &&
			   errno != EPERM;
		deliver_log(1, "delivery failed user=%s: %s", arg,
		    temp ? strerror(errno) : "no such user");
		free(user);
		return temp ? EX_TEMPFAIL : EX_NOUSER;
	}
	free(user);
	r->name = xstrdup(pw->pw_name);
	r->home = xstrdup(pw->pw_dir && *pw->pw_dir ? pw->pw_dir : "/");
	r->uid = pw->pw_uid;
	r->gid = pw->pw_gid;
	r->folder = plus && plus[1] ? xstrdup(plus + 1) : NULL;
	return EX_OK;
}

static int read_all(int fd, void *p, size_t n)
{
	size_t got = 0;

	while (got < n) {
		ssize_t k = read(fd, (char *)p + got, n - got);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			return -1;
		got += (size_t)k;
	}
	return 0;
}

/* In the recipient's process: ask the root parent to make the spool file. */
static int ask_spool(void *ctx, struct mail_err *err)
{
	int sock = *(int *)ctx;

	if (write_full(sock, "C", 1) < 0 || read_all(sock, err, sizeof *err) < 0) {
		mail_err_set(err, MAIL_FAIL, "the root process did not make the spool file");
		return -1;
	}
	err->text[sizeof err->text - 1] = '\0';
	return err->code == MAIL_OK ? 0 : -1;
}

/* The recipient's process, running as the recipient: parse, then store. */
static int rcpt_deliver(const struct config *cfg, const struct deliver_opts *o, const struct buf *raw,
			const struct rcpt *r, int sock)
{
	struct deliver_target t = { .folder = r->folder, .inbox = o->inbox,
				    .create_inbox = o->inbox != NULL, .spool_ctx = &sock };
	struct mail_session s;
	struct deliver_msg m;
	int code = deliver_prepare(raw->data, raw->len, o->sender, r->name, &m);

	if (code != EX_OK)
		return code;
	if (sock >= 0)
		t.make_spool = ask_spool;
	mail_session_setup(&s, r->name, r->home, cfg);
	code = deliver_to(&s, &t, &m);
	mail_session_free(&s);
	deliver_msg_free(&m);
	return code;
}

/* Root's side: make the spool file when the child asks, then its exit code. */
static int parent_serve(const struct config *cfg, const struct rcpt *r, int sock, pid_t pid)
{
	struct mail_err err;
	int status;
	char req;

	while (sock >= 0 && read_all(sock, &req, 1) == 0) {
		/* the child reports a failure, with its own log line */
		memset(&err, 0, sizeof err);
		if (req != 'C')
			break;
		deliver_make_spool(cfg->spool_dir, r->name, r->uid, &err);
		if (write_full(sock, &err, sizeof err) < 0)
			break;
	}
	if (sock >= 0)
		close(sock);
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return EX_TEMPFAIL;
	if (WIFEXITED(status))
		return WEXITSTATUS(status);
	deliver_log(1, "delivery failed user=%s: its process ended by signal %d", r->name,
	    WIFSIGNALED(status) ? WTERMSIG(status) : 0);
	return EX_TEMPFAIL;
}

/* The child for one recipient: become the user (as root), deliver, exit. */
static void __attribute__((noreturn)) child(const struct config *cfg, const struct deliver_opts *o,
					    const struct buf *raw, const struct rcpt *r, int sock)
{
	struct auth_user u = { .name = r->name, .home = r->home, .uid = r->uid, .gid = r->gid };
	struct mail_err err;

	if (sock >= 0 && auth_become(&u, &err) < 0) {
		deliver_log(1, "delivery failed user=%s: %s", r->name, err.text);
		_exit(EX_TEMPFAIL);
	}
	_exit(rcpt_deliver(cfg, o, raw, r, sock));
}

/* Run the recipient's process and (as root) serve it; its exit code. */
static int run_child(const struct config *cfg, const struct deliver_opts *o, const struct buf *raw,
		     const struct rcpt *r)
{
	int sv[2] = { -1, -1 };
	pid_t pid = -1;

	if ((geteuid() != 0 || socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == 0) &&
	    (pid = fork()) == 0) {
		if (sv[0] >= 0)
			close(sv[0]);
		child(cfg, o, raw, r, sv[1]);
	}
	if (pid < 0) {
		deliver_log(1, "delivery failed user=%s: cannot start its process: %s", r->name,
		    strerror(errno));
		if (sv[0] >= 0)
			close(sv[0]);
	}
	if (sv[1] >= 0)
		close(sv[1]);
	return pid < 0 ? EX_TEMPFAIL : parent_serve(cfg, r, sv[0], pid);
}

/* Deliver to one "user[+folder]"; its sysexits code. */
static int deliver_one(const struct config *cfg, const struct deliver_opts *o, const struct buf *raw,
		       const char *arg)
{
	struct rcpt r;
	int code = rcpt_lookup(arg, &r);

	if (code != EX_OK)
		return code;
	if (r.uid == 0) {
		deliver_log(1, "delivery refused user=%s: mail is never stored as root; alias "
		    "root to a user in /etc/aliases", r.name);
		code = EX_NOPERM;
	} else if (geteuid() != 0 && r.uid != getuid()) {
		deliver_log(1, "delivery failed user=%s: tmail runs as uid %u, and only root "
		    "may deliver to another user", r.name, (unsigned)getuid());
		code = EX_TEMPFAIL;
	} else {
		code = run_child(cfg, o, raw, &r);
	}
	rcpt_free(&r);
	return code;
}

/* The exit code for all recipients: a temporary failure wins (the MTA
 * retries), then the first permanent one. */
static int worst(int a, int b)
{
	if (a == EX_TEMPFAIL || b == EX_TEMPFAIL)
		return EX_TEMPFAIL;
	return a != EX_OK ? a : b;
}

int main(int argc, char **argv)
{
	struct deliver_opts o;
	struct config cfg;
	struct buf raw;
	int code;

	log_open("tmail");
	if ((code = deliver_options(argc, argv, usage, 1, &o)) >= 0)
		return code;
	if (optind >= argc) {
		fputs(usage, stderr);
		deliver_log(1, "delivery refused: no recipient given");
		return EX_USAGE;
	}
	if ((code = deliver_start("tmail", o.config, &cfg, &raw)) != EX_OK)
		return code;
	for (int i = optind; i < argc; i++)
		code = worst(code, deliver_one(&cfg, &o, &raw, argv[i]));
	buf_free(&raw);
	config_free(&cfg);
	return code;
}
