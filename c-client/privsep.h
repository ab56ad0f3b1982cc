/* privsep.h: privilege separation for a daemon started as root. The root
 * process (P) never reads a client byte: a pre-login process (C) speaks the
 * protocol as an unprivileged system user and asks P to check a password
 * over a private channel with one fixed, length-checked message; after a
 * login P forks the session (S), which becomes the user and is served by C,
 * now a byte pump between the client (TLS or not) and S. */
#ifndef CCLIENT_PRIVSEP_H
#define CCLIENT_PRIVSEP_H

#include <stddef.h>
#include <stdint.h>

#include "auth.h"
#include "config.h"
#include "daemon.h"
#include "io.h"
#include "server.h"

/* What this process is after privsep_start. */
enum privsep_role {
	PRIVSEP_OFF,        /* not started as root: nothing to separate (PREAUTH) */
	PRIVSEP_PRELOGIN,   /* C: speak the protocol until a login succeeds */
	PRIVSEP_SESSION,    /* S: running as the user; resume after the login */
	PRIVSEP_REFUSED,    /* setup problem (logged): refuse the connection */
};

/* The login message's limits (PAM itself takes at most 512 bytes). */
#define PRIVSEP_NAME_MAX 255
#define PRIVSEP_PASS_MAX 511
/* C to P: one login attempt, the one message format there is. Sent as one
 * SOCK_SEQPACKET record of exactly this size; each field NUL-padded, its
 * length given. */
#define PRIVSEP_MAGIC 0x75774d31u   /* "uwM1" */
struct privsep_request {
	uint32_t magic;
	uint16_t user_len, authname_len, pass_len;
	uint16_t overlong;   /* C cut a field: refuse without asking PAM */
	char user[PRIVSEP_NAME_MAX + 1];
	char authname[PRIVSEP_NAME_MAX + 1];
	char pass[PRIVSEP_PASS_MAX + 1];
};

/* What C hands to S after a login (IMAP: the tag; the TLS state). */
#define PRIVSEP_HANDOFF_MAX 4096

#ifndef PRIVSEP_CHROOT
#define PRIVSEP_CHROOT "/run/uwimap"   /* empty, root-owned: C's root */
#endif

/* Split the process. Call as root after the configuration and the TLS
 * credentials are loaded (tls_preload); pam_default is the daemon's PAM
 * service ("imap", "pop"). Returns in C and S (and at once when not root);
 * P stays inside and exits when C and S are gone. */
enum privsep_role privsep_start(const struct config *cfg, const struct server_conn *conn,
				const char *pam_default);

/* The role privsep_start gave this process. */
enum privsep_role privsep_role(void);

/* C: ask P to check a password. DLOGIN_OK means P has started the session:
 * hand off (privsep_handoff) at once. *failures is P's count. */
enum daemon_login_result privsep_login(const char *user, const char *authname,
				       const char *password, unsigned *failures);

/* C after DLOGIN_OK: send what is still buffered in io, then the record
 * (opaque to P) to S, then pump bytes between the client and S as long as
 * both are there. idle bounds a blocked write to the client. Returns only
 * when S ended by UNAUTHENTICATE (PRIVSEP_EXIT_UNAUTH) and P gave C a new
 * session channel: C is the pre-login process again, io's input empty. */
void privsep_handoff(struct io *io, const void *rec, size_t len, unsigned idle);

/* S's exit status after UNAUTHENTICATE (RFC 8437): its tagged OK is sent,
 * the connection goes back to C before login. */
#define PRIVSEP_EXIT_UNAUTH 86
/* P to C, after such an end: the verdict, with the new channel's end. */
#define PRIVSEP_RESUME 0x55aa

/* S: the session's descriptor (the data channel to C). */
int privsep_session_fd(void);

/* S: the user P started it for (once). -1 when the switch failed. */
int privsep_session_user(struct auth_user *u);

/* S, ending by UNAUTHENTICATE before its last answer: take no more client
 * bytes (C keeps what comes next for the pre-login phase). What the client
 * sent S beyond the command, unread, goes to rest. */
void privsep_session_stop_reading(struct io *io, struct buf *rest);

/* S: the record C handed over, read from io (on the data channel). 0; -1
 * when C sent none or a malformed one. */
int privsep_handoff_read(struct io *io, struct buf *rec);

/* P's check of one login record of n bytes from C: the size, the magic,
 * every field within its limit, NUL-free and NUL-terminated. 1 when it is
 * exactly what privsep_login builds; anything else means C is not to be
 * trusted. (Public for the fuzz harness.) */
int privsep_request_ok(const void *rec, size_t n);

/* URLAUTH (RFC 4467) across users: S asks P for a URL of another user's
 * mailbox; P checks only this record and the owner's passwd entry, and
 * starts a worker as the owner that parses and verifies the URL and sends
 * the bytes to S over a channel P passes with its answer. One record,
 * exactly this size, each field NUL-padded with its length given. */
#define PRIVSEP_URL_MAGIC 0x75774d55u   /* "uwMU" */
#define PRIVSEP_URL_MAX 8192
struct privsep_url_request {
	uint32_t magic;
	uint16_t owner_len, url_len;
	char owner[PRIVSEP_NAME_MAX + 1];
	char url[PRIVSEP_URL_MAX + 1];
};

/* P's check of one URL record of n bytes from S: as privsep_request_ok.
 * (Public for the fuzz harness.) */
int privsep_url_request_ok(const void *rec, size_t n);

/* The worker's job, given by the daemon: as the owner (the process has
 * become them), the bytes url names for requester (the user P logged in)
 * into out, at most max of them. 0, or -1 for NIL. */
typedef int privsep_url_fn(const struct config *cfg, const struct auth_user *owner,
			   const char *requester, const char *url, size_t len, size_t max,
			   struct buf *out);
/* Before privsep_start: the daemon's worker job (none: every such URL NIL). */
void privsep_set_url_worker(privsep_url_fn *fn);

/* S: the bytes another user's url names for this session, at most max,
 * into out: 0, or -1 for NIL (whatever the reason: the client learns
 * nothing more). seconds is urlauth_timeout, after which P kills the
 * worker. Not in a session started by P: always -1. */
int privsep_url_fetch(const char *owner, const char *url, size_t len, size_t max,
		      unsigned seconds, struct buf *out);

/* Built with -DPRIVSEP_TEST_HOOKS: the pre-login process crashes on the
 * command XCRASH, and sends P a malformed request on XBADCTL (tests show
 * P survives, logs and ends); a session sends P eight URL requests at once
 * on "XURLFLOOD owner url" (P still runs one worker at a time). Otherwise
 * nothing. */
void privsep_test_hook(const char *line, size_t len);

#endif
