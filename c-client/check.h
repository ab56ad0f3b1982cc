/* check.h: the setup checker behind `imapd --check` and `ipop3d --check`.
 * It looks at what a sysadmin can get wrong outside the daemon (PAM service
 * file, spool directory, /etc/services, launcher files) and writes one plain
 * line per finding, each problem with the exact fix. */
#ifndef CCLIENT_CHECK_H
#define CCLIENT_CHECK_H

#include "config.h"
#include "util.h"

struct check_target {
	const char *daemon;        /* "imapd" or "ipop3d" */
	const char *pam_service;   /* "imap" or "pop" (config may override) */
	const char *services[2];   /* /etc/services names: "imap", "imaps" */
	const char *root;          /* prefix for every system path ("" normally;
				    * a scratch directory in the tests) */
};

/* Append findings to report; returns the number of problems that would
 * break logins or delivery (warnings are reported but not counted). */
int check_setup(const struct config *cfg, const struct check_target *t, struct buf *report);

#endif
