/* daemon.h: the steps every inetd-style daemon (imapd, ipop3d, ipop2d) takes
 * the same way, so their logs and behaviour agree: loading the configuration
 * with each problem logged by name, the password login with its failure delay
 * and log lines, the switch to the user, and the --check setup report. */
#ifndef CCLIENT_DAEMON_H
#define CCLIENT_DAEMON_H

#include "auth.h"
#include "config.h"
#include "server.h"
#include "util.h"

/* Defaults, then the file at path (which must exist when explicit_path).
 * Returns 0; or -1 with every problem logged (one syslog line each) and
 * also appended to errors, one per line, for the daemon's goodbye. */
int daemon_config_load(struct config *cfg, const char *path, int explicit_path,
		       struct buf *errors);

/* The bracketed part of the log lines: the peer's address, or "local". */
const char *daemon_peer_addr(const struct server_conn *conn);

enum daemon_login_result {
	DLOGIN_OK,       /* checked, switched to the user, "Login" logged */
	DLOGIN_BAD,      /* wrong credentials: logged, delayed, *failures counted */
	DLOGIN_FATAL,    /* the switch to the user failed: logged; end the session */
	DLOGIN_ENDED,    /* pre-login process: the session it handed off to ended by
			  * UNAUTHENTICATE and answered the command; not logged in */
};

/* The password login: PAM service cfg->pam_service (else default_service),
 * then the switch to the user. user is the login name; authname the
 * authentication identity for the log (SASL's authcid; NULL: user). The
 * password is wiped. On DLOGIN_BAD the caller ends the session once
 * *failures reaches cfg->max_login_failures. Under privilege separation
 * (privsep.h) the pre-login process asks the privileged one, and on success
 * calls the handoff function and never returns; the session process gets
 * the user it was started for. */
enum daemon_login_result daemon_login(const struct config *cfg, const struct server_conn *conn,
				      const char *default_service, const char *user,
				      const char *authname, char *password, struct auth_user *u,
				      unsigned *failures);

/* What the pre-login process does once a login succeeded: pass the session
 * on (privsep_handoff). It returns only when that session ended by
 * UNAUTHENTICATE (daemon_login then gives DLOGIN_ENDED). */
typedef void daemon_handoff_fn(void *ctx);
void daemon_set_handoff(daemon_handoff_fn *fn, void *ctx);

/* The privileged half of a login: PAM in a short-lived worker process (the
 * password's traces die with it), the failure log lines, the delay and the
 * count. refused (not NULL) fails the login with that reason, unasked. */
enum daemon_login_result daemon_check_password(const struct config *cfg,
					       const struct server_conn *conn,
					       const char *default_service, const char *user,
					       const char *authname, const char *password,
					       const char *refused, struct auth_user *u,
					       unsigned *failures);

/* Become u (auth_become) and log the login; -1 when the switch failed. */
int daemon_become(const struct auth_user *u, const struct server_conn *conn);

/* "Logout user=%s host=%s", the line that ends a logged-in session. */
void daemon_log_logout(const char *user, const struct server_conn *conn);

/* The line that ends a session after max_login_failures failed logins. */
void daemon_log_too_many_failures(unsigned failures, const struct server_conn *conn);

/* What the daemon needs from the system, for --check. */
struct daemon_check_spec {
	const char *daemon;         /* "ipop3d": names the daemon in the text */
	const char *pam_default;    /* "pop": used unless cfg->pam_service */
	const char *tls_service;    /* certificate name ("ipop3d"); NULL: no TLS */
	const char *const *services; /* /etc/services names it is reached by */
};

/* Plain-language report of the setup into report, one finding per line with
 * its fix. Returns the number of problems that would break logins. */
int daemon_check(const struct config *cfg, const struct daemon_check_spec *spec,
		 struct buf *report);

#endif
