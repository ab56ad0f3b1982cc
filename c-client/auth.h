/* auth.h: password checks through Linux-PAM and the switch to the user.
 * The front-end asks; the library answers with a status and a reason. */
#ifndef CCLIENT_AUTH_H
#define CCLIENT_AUTH_H

#include <sys/types.h>

#include "mail_api.h"

struct auth_user {
	char *name;     /* canonical name from the passwd entry */
	char *home;
	uid_t uid;
	gid_t gid;
	void *pamh;     /* open PAM handle, ended by auth_logout */
	gid_t *groups;  /* supplementary groups from auth_groups, or NULL */
	int ngroups;
};

/* Check user/password with PAM service `service`; rhost is the peer for
 * PAM_RHOST (pam_access, pam_tally). Fills u on success. The reason given
 * on failure is for the log only; clients get a generic answer. */
int auth_pam_login(const char *service, const char *user, const char *password,
		   const char *rhost, struct auth_user *u, struct mail_err *err);

/* auth_pam_login in a short-lived child process that ends PAM (pam_end)
 * before it exits: the password, PAM's buffers and the hash it computed
 * never enter the caller's memory. Fills u (no PAM handle) on success. */
int auth_pam_check(const char *service, const char *user, const char *password,
		   const char *rhost, struct auth_user *u, struct mail_err *err);

/* Identify the user running this process (PREAUTH mode). */
int auth_self(struct auth_user *u, struct mail_err *err);

/* Become u for good: supplementary groups (plus group "mail", so the spool's
 * dotlocks work on Debian), gid, uid; verifies that root cannot be regained. */
int auth_become(const struct auth_user *u, struct mail_err *err);

/* Look up u's supplementary groups for auth_become, so the process that
 * becomes u need not: the lookup loads every NSS module of the group
 * database (libnss_systemd and its libraries, 700 KB of a session's
 * memory). 0 done, -1 not found (auth_become then looks them up). */
int auth_groups(struct auth_user *u);

/* Close the PAM session (pam_setcred delete, pam_end). */
void auth_logout(struct auth_user *u);

#endif
