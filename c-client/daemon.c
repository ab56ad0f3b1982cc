/* daemon.c: what imapd, ipop3d and ipop2d do alike around the protocol:
 * configuration errors by name, the login sequence (PAM, delay after a
 * failure, the switch to the user, the log lines fail2ban matches) and
 * the --check report of PAM, spool and TLS setup. */
#include "daemon.h"
#include "check.h"

#include <arpa/inet.h>
#include <errno.h>
#include <grp.h>
#include <limits.h>
#include <netdb.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lock.h"
#include "log.h"
#include "privsep.h"
#include "tls.h"

int daemon_config_load(struct config *cfg, const char *path, int explicit_path,
		       struct buf *errors)
{
	size_t start = errors->len;

	config_defaults(cfg);
	int r = config_load(cfg, path, explicit_path, errors);
	lock_dot_timeout = cfg->lock_timeout > INT_MAX ? INT_MAX : (int)cfg->lock_timeout;
	if (r == 0)
		return 0;
	/* one syslog line per problem: the log is where admins look first */
	const char *line = errors->data + start, *end = errors->data + errors->len;
	while (line < end) {
		const char *nl = memchr(line, '\n', (size_t)(end - line));
		size_t n = nl ? (size_t)(nl - line) : (size_t)(end - line);
		if (n)
			log_err("configuration: %.*s", (int)n, line);
		line += n + 1;
	}
	return -1;
}

const char *daemon_peer_addr(const struct server_conn *conn)
{
	return conn->peer_addr[0] ? conn->peer_addr : "local";
}

enum daemon_login_result daemon_check_password(const struct config *cfg,
					       const struct server_conn *conn,
					       const char *default_service, const char *user,
					       const char *authname, const char *password,
					       const char *refused, struct auth_user *u,
					       unsigned *failures)
{
	const char *service = cfg->pam_service ? cfg->pam_service : default_service;
	struct mail_err err;
	int r;

	if (refused) {
		mail_err_set(&err, MAIL_NOPERM, "%s", refused);
		r = -1;
	} else {
		r = auth_pam_check(service, user, password, conn->peer_addr, u, &err);
	}
	if (r == 0)
		return DLOGIN_OK;
	(*failures)++;
	/* user and authname came from the client: log.c escapes every line, so
	 * they cannot start a line of their own. The reason first, on its own
	 * line: fail2ban's uwimap-auth filter wants the failure line to end
	 * with the bracketed address */
	log_info("Authentication rejected user=%s: %s", user, err.text);
	log_notice("Login failed user=%s auth=%s host=%s [%s]", user, authname ? authname : user,
		   conn->peer_host, daemon_peer_addr(conn));
	/* slows down guessing; the connection stays busy meanwhile */
	sleep(cfg->login_delay);
	return DLOGIN_BAD;
}

int daemon_become(const struct auth_user *u, const struct server_conn *conn)
{
	struct mail_err err;

	if (auth_become(u, &err) < 0) {
		log_err("Login user=%s host=%s: cannot switch user: %s", u->name, conn->peer_host,
			err.text);
		return -1;
	}
	log_info("Login user=%s host=%s [%s]", u->name, conn->peer_host, daemon_peer_addr(conn));
	return 0;
}

static daemon_handoff_fn *handoff_fn;
static void *handoff_ctx;

void daemon_set_handoff(daemon_handoff_fn *fn, void *ctx)
{
	handoff_fn = fn;
	handoff_ctx = ctx;
}

enum daemon_login_result daemon_login(const struct config *cfg, const struct server_conn *conn,
				      const char *default_service, const char *user,
				      const char *authname, char *password, struct auth_user *u,
				      unsigned *failures)
{
	enum daemon_login_result r;

	switch (privsep_role()) {
	case PRIVSEP_PRELOGIN:
		r = privsep_login(user, authname, password, failures);
		explicit_bzero(password, strlen(password));
		if (r == DLOGIN_OK) {
			if (!handoff_fn)
				exit(1);   /* a daemon without a handoff cannot serve the session */
			handoff_fn(handoff_ctx);
			return DLOGIN_ENDED;
		}
		return r;
	case PRIVSEP_SESSION:
		/* S was started for the user P checked: the login is done */
		explicit_bzero(password, strlen(password));
		return privsep_session_user(u) == 0 ? DLOGIN_OK : DLOGIN_FATAL;
	default:
		r = daemon_check_password(cfg, conn, default_service, user, authname, password,
					  NULL, u, failures);
		explicit_bzero(password, strlen(password));
		if (r != DLOGIN_OK)
			return r;
		return daemon_become(u, conn) == 0 ? DLOGIN_OK : DLOGIN_FATAL;
	}
}

void daemon_log_logout(const char *user, const struct server_conn *conn)
{
	log_info("Logout user=%s host=%s", user, conn->peer_host);
}

void daemon_log_too_many_failures(unsigned failures, const struct server_conn *conn)
{
	log_notice("Too many login failures (%u) host=%s [%s]", failures, conn->peer_host,
		   daemon_peer_addr(conn));
}

/* ---------------------------------------------------------------------- */
/* --check                                                                 */

/* The user the pre-login process runs as (privsep.c) must exist and not
 * be root: without it every connection is refused. */
static int check_prelogin_user(const struct config *cfg, struct buf *report)
{
	struct passwd *pw = getpwnam(cfg->prelogin_user);

	if (pw && pw->pw_uid != 0) {
		buf_printf(report, "ok: pre-login user %s (uid %u)\n", cfg->prelogin_user,
			   (unsigned)pw->pw_uid);
		return 0;
	}
	if (pw)
		buf_printf(report, "problem: prelogin_user = %s is root; clients would be served "
				   "as root before login: use an unprivileged system user (uwimap)\n",
			   cfg->prelogin_user);
	else
		buf_printf(report, "problem: the pre-login user %s does not exist, so every "
				   "connection is refused: useradd --system --no-create-home "
				   "--shell /usr/sbin/nologin %s\n", cfg->prelogin_user,
			   cfg->prelogin_user);
	return 1;
}

/* urlauth_submit_users: say who may fetch submit+ URLs, and which names
 * are nobody (a note: logins work either way). */
static void check_submit_users(const struct config *cfg, struct buf *report)
{
	const char *p = cfg->urlauth_submit_users, *w;
	size_t n;

	while (config_list_next(&p, &w, &n)) {
		char name[256];
		snprintf(name, sizeof name, "%.*s", (int)n, w);
		if (getpwnam(name))
			buf_printf(report, "ok: URLAUTH submit+ URLs may be fetched by %s\n", name);
		else
			buf_printf(report, "note: urlauth_submit_users names %s, which is not a "
					   "user: nobody fetches submit+ URLs under that name\n", name);
	}
}

int daemon_check(const struct config *cfg, const struct daemon_check_spec *spec,
		 struct buf *report)
{
	struct check_target t = {spec->daemon, spec->pam_default, {NULL, NULL}, ""};

	for (int i = 0; i < 2 && spec->services && spec->services[i]; i++)
		t.services[i] = spec->services[i];
	int problems = check_setup(cfg, &t, report) + check_prelogin_user(cfg, report);
	check_submit_users(cfg, report);
	if (!spec->tls_service)
		return problems;
	if (!tls_available()) {
		buf_printf(report, "note: built without TLS (SSLTYPE=none)%s\n",
			   cfg->allow_plaintext ? "" :
			   "; allow_plaintext = no then refuses every password login");
		return problems + !cfg->allow_plaintext;
	}
	int tls = tls_check(cfg, spec->tls_service, report);
	if (tls && !cfg->allow_plaintext)
		buf_printf(report, "problem: without a working certificate and with "
				   "allow_plaintext = no, nobody can log in\n");
	if (!tls)
		buf_printf(report, "ok: TLS certificate for %s\n", spec->tls_service);
	return problems + tls;
}
