/* pop3.h: ipop3d's session and its command interface. Each command is a
 * function with the same signature, registered in the table in pop3_cmd.c. */
#ifndef IPOPD_POP3_H
#define IPOPD_POP3_H

#include "pop.h"

enum pop3_state {
	P3_AUTH = 1 << 0,      /* AUTHORIZATION */
	P3_TRANS = 1 << 1,     /* TRANSACTION */
};

struct pop3 {
	struct pop p;
	enum pop3_state state;
	char *user;            /* from USER, waiting for PASS */
};

/* args: the text after "KEYWORD " (NULL when the line had no space). */
typedef void pop3_fn(struct pop3 *s, char *args);

struct pop3_command {
	const char *name;
	pop3_fn *fn;
	unsigned states;
};

const struct pop3_command *pop3_command_find(const char *name, size_t len);

void pop3_ok(struct pop3 *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void pop3_err(struct pop3 *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Read one more client line (SASL); exits when the client is gone. */
void pop3_read_line(struct pop3 *s, struct buf *line);

/* Log in and answer (+OK, or -ERR and possibly the end of the session). */
void pop3_login(struct pop3 *s, const char *user, const char *authname, char *password);
/* What a client told to use TLS first hears. */
void pop3_need_tls(struct pop3 *s);

pop3_fn pop3_capa, pop3_user, pop3_pass, pop3_auth, pop3_stls, pop3_quit;
pop3_fn pop3_stat, pop3_list, pop3_retr, pop3_dele, pop3_noop, pop3_rset, pop3_top,
	pop3_uidl;

#endif
