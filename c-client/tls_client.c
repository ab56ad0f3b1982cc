/* tls_client.c: TLS as a client. One session per struct io (a program may
 * hold several mailboxes open on several servers), verification on unless
 * the user said /novalidate-cert, and errors that say which host and why,
 * since "handshake failed" alone sends users to switch verification off. */
#include "tls_client.h"

#include <stdlib.h>

#ifdef SSLTYPE_NONE

int tls_client_start(struct io *io, const struct tls_client_opts *o, struct mail_err *err)
{
	mail_err_set(err, MAIL_FAIL, "%s: built without TLS (SSLTYPE=none)", o->host);
	return -1;
}

void tls_client_end(struct io *io)
{
}

int tls_client_active(const struct io *io)
{
	return 0;
}

#else

#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>

#define TLS_CLIENT_HANDSHAKE_SECONDS 60

struct tls_cli {
	SSL_CTX *ctx;
	SSL *ssl;
};

/* read(2)-like results from SSL_read/SSL_write. */
static ssize_t cli_result(struct tls_cli *t, int r)
{
	int e = SSL_get_error(t->ssl, r);

	ERR_clear_error();
	if (e == SSL_ERROR_ZERO_RETURN)
		return 0;
	if (!(e == SSL_ERROR_SYSCALL && (errno == EINTR || errno == EAGAIN)))
		errno = EIO;
	return -1;
}

static ssize_t cli_read(void *ctx, void *p, size_t n)
{
	struct tls_cli *t = ctx;
	int r = SSL_read(t->ssl, p, n > INT_MAX ? INT_MAX : (int)n);

	return r > 0 ? r : cli_result(t, r);
}

static ssize_t cli_write(void *ctx, const void *p, size_t n)
{
	struct tls_cli *t = ctx;
	int r = SSL_write(t->ssl, p, n > INT_MAX ? INT_MAX : (int)n);

	return r > 0 ? r : cli_result(t, r);
}

static int cli_pending(void *ctx)
{
	return SSL_pending(((struct tls_cli *)ctx)->ssl);
}

static const struct io_transport cli_transport = {cli_read, cli_write, cli_pending};

static int is_ip(const char *host)
{
	unsigned char a[16];

	return inet_pton(AF_INET, host, a) == 1 || inet_pton(AF_INET6, host, a) == 1;
}

/* OpenSSL's first queued reason, or a fallback. */
static const char *queued_reason(const char *fallback)
{
	unsigned long e = ERR_peek_error();
	const char *r = e ? ERR_reason_error_string(e) : NULL;

	return r ? r : fallback;
}

/* Context: TLS 1.2+, trust from cafile or the system (which honours
 * SSL_CERT_FILE/SSL_CERT_DIR), the server's name bound to the session. */
static SSL *cli_ssl(struct tls_cli *t, const struct tls_client_opts *o, struct mail_err *err)
{
	if (!(t->ctx = SSL_CTX_new(TLS_client_method())) ||
	    !SSL_CTX_set_min_proto_version(t->ctx, TLS1_2_VERSION)) {
		mail_err_set(err, MAIL_FAIL, "%s: TLS setup failed: %s", o->host,
			     queued_reason("no context"));
		return NULL;
	}
	int trust = o->cafile ? SSL_CTX_load_verify_locations(t->ctx, o->cafile, NULL) :
				SSL_CTX_set_default_verify_paths(t->ctx);
	if (trust != 1 && !o->novalidate) {
		mail_err_set(err, MAIL_FAIL, "%s: cannot load trusted certificates%s%s: %s",
			     o->host, o->cafile ? " from " : "", o->cafile ? o->cafile : "",
			     queued_reason("unknown reason"));
		return NULL;
	}
	if (!(t->ssl = SSL_new(t->ctx)))
		return NULL;
	if (!is_ip(o->host))
		SSL_set_tlsext_host_name(t->ssl, o->host);
	if (o->novalidate) {
		SSL_set_verify(t->ssl, SSL_VERIFY_NONE, NULL);
		return t->ssl;
	}
	X509_VERIFY_PARAM *vp = SSL_get0_param(t->ssl);
	X509_VERIFY_PARAM_set_hostflags(vp, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
	if ((is_ip(o->host) ? X509_VERIFY_PARAM_set1_ip_asc(vp, o->host) :
			      X509_VERIFY_PARAM_set1_host(vp, o->host, 0)) != 1) {
		mail_err_set(err, MAIL_FAIL, "%s: cannot verify this name", o->host);
		return NULL;
	}
	SSL_set_verify(t->ssl, SSL_VERIFY_PEER, NULL);
	return t->ssl;
}

static void cli_free(struct tls_cli *t)
{
	SSL_free(t->ssl);
	SSL_CTX_free(t->ctx);
	free(t);
}

/* Whether the server refused our TLS 1.2+ hello for its version: OpenSSL's
 * text for that alert does not say which side is too old. */
static int too_old(void)
{
	int r = ERR_GET_REASON(ERR_peek_error());

	return r == SSL_R_TLSV1_ALERT_PROTOCOL_VERSION || r == SSL_R_UNSUPPORTED_PROTOCOL;
}

/* Why the handshake failed, for a person. */
static void handshake_error(struct tls_cli *t, const struct tls_client_opts *o, int r,
			    struct mail_err *err)
{
	long v = SSL_get_verify_result(t->ssl);

	if (!o->novalidate && v != X509_V_OK)
		mail_err_set(err, MAIL_FAIL, "TLS certificate of %s not accepted: %s", o->host,
			     X509_verify_cert_error_string(v));
	else if (SSL_get_error(t->ssl, r) == SSL_ERROR_SSL && too_old())
		mail_err_set(err, MAIL_FAIL, "TLS handshake with %s failed: the server offers no "
			     "TLS 1.2 or newer (%s)", o->host, queued_reason("protocol version"));
	else if (SSL_get_error(t->ssl, r) == SSL_ERROR_SSL)
		mail_err_set(err, MAIL_FAIL, "TLS handshake with %s failed: %s", o->host,
			     queued_reason("protocol error"));
	else
		mail_err_set(err, MAIL_FAIL, "TLS handshake with %s failed: %s", o->host,
			     errno == EAGAIN ? "server too slow" : "connection closed");
}

int tls_client_start(struct io *io, const struct tls_client_opts *o, struct mail_err *err)
{
	struct tls_cli *t = calloc(1, sizeof *t);
	unsigned secs = io->timeout ? io->timeout : TLS_CLIENT_HANDSHAKE_SECONDS;
	struct timeval tv = {.tv_sec = secs, .tv_usec = 0};

	if (!t)
		fatal("out of memory");
	err->text[0] = '\0';
	io_discard_input(io);   /* nothing sent before the handshake counts */
	setsockopt(io->in_fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
	setsockopt(io->out_fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
	if (!cli_ssl(t, o, err) || SSL_set_rfd(t->ssl, io->in_fd) != 1 ||
	    SSL_set_wfd(t->ssl, io->out_fd) != 1) {
		if (!err->text[0])
			mail_err_set(err, MAIL_FAIL, "%s: TLS setup failed", o->host);
		ERR_clear_error();
		cli_free(t);
		return -1;
	}
	int r = SSL_connect(t->ssl);
	if (r != 1) {
		handshake_error(t, o, r, err);
		ERR_clear_error();
		cli_free(t);
		io->failed = 1;   /* neither plaintext nor TLS now */
		return -1;
	}
	io_set_transport(io, &cli_transport, t);
	return 0;
}

void tls_client_end(struct io *io)
{
	if (!tls_client_active(io))
		return;
	struct tls_cli *t = io->trctx;
	if (!io->failed)
		SSL_shutdown(t->ssl);
	ERR_clear_error();
	cli_free(t);
	io_set_transport(io, NULL, NULL);
}

int tls_client_active(const struct io *io)
{
	return io->tr == &cli_transport;
}

#endif
