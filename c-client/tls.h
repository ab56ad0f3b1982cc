/* tls.h: the server side of TLS (OpenSSL), shared by every daemon. The
 * certificate is looked up per connection (SNI name, local IP, service; see
 * DESIGN.md), the handshake runs on the connection's descriptors, and the
 * struct io switches its transport so the session continues over TLS
 * (implicit TLS and STARTTLS/STLS alike). Built with SSLTYPE=none, every
 * function fails with a message saying so. */
#ifndef CCLIENT_TLS_H
#define CCLIENT_TLS_H

#include "config.h"
#include "io.h"
#include "mail_api.h"
#include "server.h"

/* Start TLS as the server on io. service names the certificate files
 * ("imapd", "ipop3d"). Returns 0 with io now encrypted; -1 with err->text
 * fit for the log (naming the file and the fix) when the setup is broken
 * or the handshake failed. Anything the client sent before the handshake
 * and we had buffered is discarded first (no plaintext injection).
 * STARTTLS/STLS: queue the "go ahead" reply in io without flushing; it is
 * sent (in clear) only once the certificate has loaded. On -1 with
 * io->failed == 0 the setup was broken, the queued reply was dropped and
 * the session can go on in plaintext (answer NO / -ERR); with io->failed
 * set the handshake itself failed and the connection must end. */
int tls_start(struct io *io, const struct config *cfg, const char *service,
	      const struct server_conn *conn, struct mail_err *err);

/* Privilege separation: read everything TLS may need for service now
 * (while root, before the pre-login process drops privileges): the context,
 * the default certificate (tls_cert, the local address's, the service's),
 * every SNI certificate ssl_dir/certs/<service>-<host>.pem, and the shared
 * ticket keys (rotated here when due). tls_start for that service then uses
 * only these. A broken setup is kept and reported by tls_start, as the
 * files would have been. Returns 0, or -1 (logged later by tls_start). */
int tls_preload(const struct config *cfg, const char *service, const struct server_conn *conn);

/* Forget what tls_preload read (keys wiped where OpenSSL allows): in the
 * session process, and in the pre-login one after its handshake. */
void tls_preload_free(void);

/* Is io running over TLS? */
int tls_active(const struct io *io);

/* Examine the certificate setup for service without a client: files
 * present and readable, key private and unencrypted, key matches the
 * certificate, dates valid, chain. Appends one plain-language line per
 * finding (with the fix) to report; returns the number of problems. */
int tls_check(const struct config *cfg, const char *service, struct buf *report);

/* Was the library built with TLS? */
int tls_available(void);

#endif
