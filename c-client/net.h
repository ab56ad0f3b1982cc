/* net.h: what every network driver shares: the classic name syntax
 * "{host[:port][/flag...]}mailbox", the program's login and trace hooks,
 * and the connection (IPv6 and IPv4, loopback known). Only a session whose
 * program set sess->client may name a network mailbox: the daemons never
 * do, so no user can make a server connect anywhere. */
#ifndef CCLIENT_NET_H
#define CCLIENT_NET_H

#include <stddef.h>

#include "mail_api.h"

#define NET_HOST_MAX 256
#define NET_USER_MAX 256

struct net_name {
	char host[NET_HOST_MAX];      /* without the [] of an IPv6 address */
	unsigned port;                /* 0: the service's (imap 143, /ssl 993) */
	char service[16];             /* "imap", "pop3" or "nntp" (/pop3, /service=) */
	int ssl, tls, notls, novalidate, secure, debug, readonly;
	int rev2;                     /* /imap4rev2: IMAP4rev2 even where rev1 is offered */
	char user[NET_USER_MAX];      /* /user=, "" for the program's default */
	char authuser[NET_USER_MAX];  /* /authuser= (SASL authentication identity) */
	char auth[32];                /* /auth=MECH: this SASL mechanism and no other */
	const char *mailbox;          /* after the '}' (inside the name parsed) */
	size_t prefix_len;            /* of "{...}", to name LIST answers as typed */
};

/* Hooks of a client program; see struct mail_session's client. */
struct mail_client {
	/* Fill the password (and may change the user, preset from /user= or
	 * the session's user) for n; 0, or -1 when the user gave none. */
	int (*login)(void *ctx, const struct net_name *n, char *user, size_t ulen, char *pw,
		     size_t plen);
	/* /debug: one protocol line sent (out set) or received; credentials
	 * are never passed here. NULL: no trace. */
	void (*trace)(void *ctx, const struct net_name *n, int out, const char *line, size_t len);
	/* Optional: the connected socket for n (a tunnel, a proxy; the fuzz
	 * harness's scripted server), as net_connect; NULL: net_connect. */
	int (*connect)(void *ctx, const struct net_name *n, unsigned port, int *loopback,
		       struct mail_err *err);
	const char *cafile;           /* trusted CAs (NULL: the system store) */
	int debug;                    /* trace every connection, as if each name said /debug */
	void *ctx;
};

/* Is this a network name? */
int net_name_is(const char *name);
/* Parse a network name; -1 with err (MAIL_BADNAME) naming what is wrong. */
int net_name_parse(const char *name, struct net_name *n, struct mail_err *err);
/* Two names on the same server as the same user (COPY stays there)? */
int net_same_server(const struct net_name *a, const struct net_name *b);

/* Connect to n's host and port (every address getaddrinfo gives, in its
 * order, each bounded by timeout seconds). The socket, or -1 with err;
 * *loopback says the peer is this machine (127/8 or ::1). */
int net_connect(const struct net_name *n, unsigned port, unsigned timeout, int *loopback,
		struct mail_err *err);

/* The service's port: the name's, else its well-known one (993 with /ssl). */
unsigned net_port(const struct net_name *n);

struct io;
/* Connect for n (the program's connect hook, else net_connect), set up io
 * on the socket with timeout, and run TLS at once for /ssl. The socket, or
 * -1 with err (the socket, if any, closed). */
int net_open(const struct net_name *n, const struct mail_client *cl, unsigned timeout,
	     struct io *io, int *loopback, struct mail_err *err);
/* May a password go in clear on this connection (no TLS, and the server
 * offers no upgrade, whose command is called starttls)? 0, or -1 with
 * err saying why not: only /notls to this machine allows it. */
int net_clear_ok(const struct net_name *n, int loopback, const char *starttls,
		 struct mail_err *err);
/* Ask the program's login hook for user (from /user=, else local_user)
 * and password; -1 with err when it gives none. */
int net_password(const struct net_name *n, const struct mail_client *cl, const char *local_user,
		 char *user, size_t ulen, char *pw, size_t plen, struct mail_err *err);
/* The SASL PLAIN response (RFC 4616) in base64: as user, authenticated as
 * n's /authuser when given. */
void net_sasl_plain(struct buf *out, const struct net_name *n, const char *user, const char *pw);

/* A login hook for command-line programs: the password from
 * $MAIL_PASSWORD, else the first line of the file $MAIL_PASSWORD_FILE,
 * else asked on the terminal without echo; remembered per host and user
 * for the next connection. ctx: a struct net_login_cache, zeroed. */
struct net_login_cache {
	char key[NET_HOST_MAX + NET_USER_MAX + 2];
	char pw[256];
};
int net_login_default(void *ctx, const struct net_name *n, char *user, size_t ulen, char *pw,
		      size_t plen);
/* Wipe a remembered password. */
void net_login_forget(struct net_login_cache *c);

#endif
