/* auth_pam.c: LOGIN through Linux-PAM and the privilege drop after it. */
#include "auth.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <pwd.h>
#include <security/pam_appl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

struct pam_creds {
	const char *user, *password;
};

/* PAM asks; we answer with the user name for echoed prompts and the
 * password for hidden ones. Anything else (info, errors) needs no reply. */
static int pam_conv_fn(int n, const struct pam_message **msg, struct pam_response **resp,
		       void *appdata)
{
	const struct pam_creds *c = appdata;
	struct pam_response *r;

	if (n <= 0 || n > PAM_MAX_NUM_MSG)
		return PAM_CONV_ERR;
	r = calloc((size_t)n, sizeof *r);
	if (!r)
		return PAM_BUF_ERR;
	for (int i = 0; i < n; i++) {
		switch (msg[i]->msg_style) {
		case PAM_PROMPT_ECHO_ON:
			r[i].resp = strdup(c->user);
			break;
		case PAM_PROMPT_ECHO_OFF:
			r[i].resp = strdup(c->password);
			break;
		default:
			r[i].resp = NULL;
			break;
		}
	}
	*resp = r;
	return PAM_SUCCESS;
}

static int fill_user(const struct passwd *pw, struct auth_user *u, struct mail_err *err)
{
	memset(u, 0, sizeof *u);
	u->name = xstrdup(pw->pw_name);
	u->home = xstrdup(pw->pw_dir && *pw->pw_dir ? pw->pw_dir : "/");
	u->uid = pw->pw_uid;
	u->gid = pw->pw_gid;
	return 0;
}

int auth_pam_login(const char *service, const char *user, const char *password,
		   const char *rhost, struct auth_user *u, struct mail_err *err)
{
	struct pam_creds creds = {user, password};
	struct pam_conv conv = {pam_conv_fn, &creds};
	pam_handle_t *h = NULL;
	const char *step = "start";
	struct passwd *pw;
	int r;

	pw = getpwnam(user);
	r = pam_start(service, user, &conv, &h);
	if (r == PAM_SUCCESS && rhost && *rhost)
		pam_set_item(h, PAM_RHOST, rhost);
	if (r == PAM_SUCCESS) {
		step = "authenticate";
		r = pam_authenticate(h, PAM_DISALLOW_NULL_AUTHTOK);
	}
	if (r == PAM_SUCCESS) {
		step = "account";
		r = pam_acct_mgmt(h, 0);
	}
	if (r == PAM_SUCCESS && !pw) {
		step = "passwd lookup";
		r = PAM_USER_UNKNOWN;
	}
	if (r == PAM_SUCCESS) {
		step = "setcred";
		r = pam_setcred(h, PAM_ESTABLISH_CRED);
	}
	if (r != PAM_SUCCESS) {
		mail_err_set(err, MAIL_NOPERM, "PAM %s (service %s): %s", step, service,
			     h ? pam_strerror(h, r) : "cannot start PAM");
		if (h)
			pam_end(h, r);
		return -1;
	}
	/* PAM may map the login name; the passwd entry is what we become. */
	fill_user(pw, u, err);
	u->pamh = h;
	return 0;
}

/* What the PAM worker tells its parent. */
struct pam_verdict {
	int ok;
	uid_t uid;
	gid_t gid;
	char name[256];
	char home[PATH_MAX];
	char reason[sizeof ((struct mail_err *)0)->text];
};

/* The worker: PAM, then its verdict on fd, then _exit. */
static void __attribute__((noreturn)) pam_worker(int fd, const char *service, const char *user,
						 const char *password, const char *rhost)
{
	struct pam_verdict v;
	struct auth_user u;
	struct mail_err err;

	memset(&v, 0, sizeof v);
	if (auth_pam_login(service, user, password, rhost, &u, &err) == 0) {
		auth_logout(&u);
		v.ok = strlen(u.name) < sizeof v.name && strlen(u.home) < sizeof v.home;
		v.uid = u.uid;
		v.gid = u.gid;
		str_copy(v.name, u.name, sizeof v.name);
		str_copy(v.home, u.home, sizeof v.home);
		str_copy(v.reason, "user name or home directory too long", sizeof v.reason);
	} else {
		str_copy(v.reason, err.text, sizeof v.reason);
	}
	_exit(write_full(fd, &v, sizeof v) == 0 ? 0 : 1);
}

int auth_pam_check(const char *service, const char *user, const char *password,
		   const char *rhost, struct auth_user *u, struct mail_err *err)
{
	struct pam_verdict v;
	size_t got = 0;
	int fds[2], status;
	pid_t pid;

	memset(&v, 0, sizeof v);
	if (pipe2(fds, O_CLOEXEC) < 0 || (pid = fork()) < 0) {
		mail_err_set(err, MAIL_FAIL, "cannot start the PAM worker: %s", strerror(errno));
		return -1;
	}
	if (pid == 0) {
		close(fds[0]);
		pam_worker(fds[1], service, user, password, rhost);
	}
	close(fds[1]);
	while (got < sizeof v) {
		ssize_t n = read(fds[0], (char *)&v + got, sizeof v - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	close(fds[0]);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (got != sizeof v || !v.ok) {
		v.reason[sizeof v.reason - 1] = '\0';
		mail_err_set(err, MAIL_NOPERM, "%s", got == sizeof v ? v.reason :
			     "the PAM worker ended without an answer");
		return -1;
	}
	memset(u, 0, sizeof *u);
	u->name = xstrdup(v.name);
	u->home = xstrdup(v.home);
	u->uid = v.uid;
	u->gid = v.gid;
	return 0;
}

int auth_self(struct auth_user *u, struct mail_err *err)
{
	struct passwd *pw = getpwuid(getuid());

	if (!pw) {
		mail_err_set(err, MAIL_FAIL, "uid %u has no passwd entry", (unsigned)getuid());
		return -1;
	}
	return fill_user(pw, u, err);
}

int auth_groups(struct auth_user *u)
{
	int n = 64;

	while (n <= 65536) {
		gid_t *g = xmalloc((size_t)n * sizeof *g);
		int want = n;
		if (getgrouplist(u->name, u->gid, g, &want) >= 0) {
			u->groups = g;
			u->ngroups = want;
			return 0;
		}
		free(g);
		if (want <= n)
			return -1;
		n = want;
	}
	return -1;
}

int auth_become(const struct auth_user *u, struct mail_err *err)
{
	if (getuid() == u->uid && geteuid() == u->uid && u->uid != 0)
		return 0;   /* already that user (PREAUTH) */
	if (u->uid == 0) {
		mail_err_set(err, MAIL_NOPERM, "refusing to serve mail as root");
		return -1;
	}
	if (u->groups ? setgroups((size_t)u->ngroups, u->groups) < 0 :
			initgroups(u->name, u->gid) < 0) {
		mail_err_set(err, MAIL_FAIL, "cannot set the groups of %s: %s", u->name,
			     strerror(errno));
		return -1;
	}
	/* Exactly the user's own groups: never group mail for the spool. The
	 * lock file of the user's own spool file comes from liblockfile's
	 * setgid helper, and rewrites there go in place (unix_journal.c). */
	if (setgid(u->gid) < 0 || setuid(u->uid) < 0) {
		mail_err_set(err, MAIL_FAIL, "cannot switch to user %s: %s", u->name,
			     strerror(errno));
		return -1;
	}
	if (setuid(0) == 0 || seteuid(0) == 0) {
		mail_err_set(err, MAIL_FAIL, "could regain root after switching to %s", u->name);
		return -1;
	}
	return 0;
}

void auth_logout(struct auth_user *u)
{
	if (u->pamh) {
		pam_setcred(u->pamh, PAM_DELETE_CRED);
		pam_end(u->pamh, PAM_SUCCESS);
		u->pamh = NULL;
	}
}

