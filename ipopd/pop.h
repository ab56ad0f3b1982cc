/* pop.h: what ipop3d and ipop2d share: the connection, the configuration,
 * the login, and the maildrop as a POP session sees it (a fixed list of
 * messages for the whole session; deletions applied only at QUIT). */
#ifndef IPOPD_POP_H
#define IPOPD_POP_H

#include <stdint.h>

#include "auth.h"
#include "config.h"
#include "io.h"
#include "mail_api.h"
#include "server.h"
#include "util.h"

/* RFC 1939 section 3: the idle timer after login is at least 10 minutes. */
#define POP_MIN_IDLE 600

/* One message as numbered at login. */
struct pop_msg {
	uint32_t uid;
	uint64_t size;        /* octets with CRLF line ends */
	int deleted;          /* DELE / ACKD in this session */
};

struct pop {
	const char *daemon;       /* "ipop3d", "ipop2d": logs, texts */
	struct io io;
	struct config cfg;
	struct server_conn conn;
	int plaintext_ok;         /* password commands allowed now */
	unsigned failures;        /* failed logins so far */
	int logged_in;
	struct auth_user user;
	struct mail_session sess;
	struct mailbox *box;
	int lockfd;
	struct pop_msg *msgs;     /* msgs[i] is message number i+1 */
	uint32_t nmsgs;
	uint32_t uidvalidity;
	char notice[300];         /* why the maildrop is read-only, if it is */
};

/* Command line, shared by both daemons. */
struct pop_args {
	const char *config_path;
	int explicit_config;
	int tls;                  /* --tls: TLS from the first byte */
	int check;                /* --check */
};

/* Parse argv; --help and --version are answered here (exit 0). usage is the
 * daemon's text after the usage lines. */
void pop_parse_args(int argc, char **argv, const char *daemon, const char *usage,
		    struct pop_args *a);

/* Root: split into P, C and S (privsep.h); returns the role in C and S (at
 * once, PRIVSEP_OFF, without root). certs: TLS may start on this
 * connection, so P reads the certificates first. A refused setup ends the
 * connection, with bye_prefix and a reason unless TLS was to come first. */
int pop_privsep(struct pop *p, int certs, int implicit_tls, const char *bye_prefix);

/* Set up p on stdin/stdout and load the configuration. On a configuration
 * problem, write bye_prefix + the problems and exit(1). */
void pop_init(struct pop *p, const char *daemon, const struct pop_args *a, const char *bye_prefix);

/* Read one command line into line (reset first). Before login one deadline
 * (timeout_login) covers the whole phase; after it each command line gets
 * the idle time, however slowly its bytes trickle in. On IO_TOOLONG the
 * rest of the line is gone, so the caller answers and goes on. */
enum io_status pop_read_line(struct pop *p, struct buf *line);

/* --check: print the report and exit (1 if something would break logins). */
void __attribute__((noreturn)) pop_check(struct pop *p, const char *const *services);

enum pop_login_result {
	POP_LOGIN_OK,        /* logged in, maildrop locked and open */
	POP_LOGIN_BAD,       /* wrong credentials; try again */
	POP_LOGIN_TOOMANY,   /* wrong, and the last allowed try: end the session */
	POP_LOGIN_INUSE,     /* another POP session holds the maildrop: end */
	POP_LOGIN_FAIL,      /* the maildrop cannot be opened (err says why): end */
	POP_LOGIN_FATAL,     /* could not become the user: end */
};

/* Log in with a password (wiped here) and open the maildrop. */
enum pop_login_result pop_login(struct pop *p, const char *user, const char *authname,
				char *password, struct mail_err *err);
/* Already running as the user (ipop3d started by a non-root user). */
enum pop_login_result pop_login_self(struct pop *p, struct mail_err *err);

/* Message n (1-based) exists and is not deleted? */
int pop_msg_ok(const struct pop *p, uint32_t n);
/* Number of live messages and their total size. */
void pop_stat(const struct pop *p, uint32_t *count, uint64_t *octets);
/* Canonical text of message n (valid until the next call). */
int pop_msg_text(struct pop *p, uint32_t n, const char **text, size_t *len,
		 struct mail_err *err);
/* Message n was retrieved: \Seen, as IMAP shows it. */
void pop_mark_seen(struct pop *p, uint32_t n);

/* UPDATE state: remove exactly the deleted messages, save flags, close,
 * unlock. Returns 0, or -1 with err when some deletions were not applied. */
int pop_update(struct pop *p, unsigned *removed, struct mail_err *err);
/* The session ends any other way: save \Seen, delete nothing, unlock. */
void pop_abandon(struct pop *p);

/* Start TLS on the connection (implicit TLS or STLS). The caller's queued
 * "go ahead" is sent only once the certificate is loaded. Returns 0; or -1
 * when the server's setup is broken (logged; nothing was sent, the session
 * may continue in the clear); a failed handshake ends the session. */
int pop_tls(struct pop *p);

/* Log the session's end and exit. */
void __attribute__((noreturn)) pop_exit(struct pop *p, int code);

#endif
