/* tls_client.h: the client side of TLS, for the network drivers. The
 * server's chain is verified against the system trust store (or a CA file
 * given by the program), its name against the host the user typed (a DNS
 * name or an IP address), TLS 1.2 at least, SNI sent. */
#ifndef CCLIENT_TLS_CLIENT_H
#define CCLIENT_TLS_CLIENT_H

#include "io.h"
#include "mail_api.h"

struct tls_client_opts {
	const char *host;      /* what the user asked for: verified and sent as SNI */
	int novalidate;        /* /novalidate-cert: encrypt, verify nothing */
	const char *cafile;    /* trust these CAs instead of the system's (NULL: system) */
};

/* Run the handshake on io's descriptors and switch io to TLS. -1 with err
 * naming the host and OpenSSL's reason (verification or handshake). */
int tls_client_start(struct io *io, const struct tls_client_opts *o, struct mail_err *err);
/* Send close_notify and free the session (io returns to plain fds). */
void tls_client_end(struct io *io);
/* Is io a client TLS session? */
int tls_client_active(const struct io *io);

#endif
