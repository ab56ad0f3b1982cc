/* tls.c: the server side of TLS for every daemon. Certificates are read per
 * connection (so a renewed file is used by the next client), checked with
 * messages an administrator can act on, and the handshake swaps the
 * struct io transport so the session simply continues over TLS. */
#include "tls.h"
#include "log.h"
#include "util.h"

#ifdef SSLTYPE_NONE

int tls_start(struct io *io, const struct config *cfg, const char *service,
	      const struct server_conn *conn, struct mail_err *err)
{
	io_discard_input(io);
	buf_reset(&io->wbuf);
	mail_err_set(err, MAIL_FAIL, "this server was built without TLS (SSLTYPE=none); "
				     "rebuild with SSLTYPE=nopwd to offer TLS");
	return -1;
}

int tls_preload(const struct config *cfg, const char *service, const struct server_conn *conn)
{
	return -1;
}

void tls_preload_free(void)
{
}

int tls_active(const struct io *io)
{
	return 0;
}

int tls_check(const struct config *cfg, const char *service, struct buf *report)
{
	buf_puts(report, "note: built without TLS (SSLTYPE=none): no certificate is used, "
			 "passwords cross the network in the clear\n");
	return 0;
}

int tls_available(void)
{
	return 0;
}

#else

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

/* Mozilla's "intermediate" TLS 1.2 list (TLS 1.3 suites are OpenSSL's
 * defaults, which match it). */
#define TLS_CIPHERS_INTERMEDIATE                                                   \
	"ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"               \
	"ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"               \
	"ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305:"               \
	"DHE-RSA-AES128-GCM-SHA256:DHE-RSA-AES256-GCM-SHA384:"                     \
	"DHE-RSA-CHACHA20-POLY1305"

#define TLS_FILE_MAX (1024 * 1024)     /* a PEM file larger than this is not ours */
#define TLS_HANDSHAKE_SECONDS 60
#define TLS_EXPIRY_WARN_DAYS 14

/* Problems found while loading: tls_start keeps the first for the log,
 * tls_check lists them all. */
struct findings {
	struct mail_err *err;
	struct buf *report;
	int count;
};

static void finding(struct findings *f, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void finding(struct findings *f, const char *fmt, ...)
{
	va_list ap;
	char msg[1024];

	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	if (f->err && !f->count)
		mail_err_set(f->err, MAIL_FAIL, "%s", msg);
	if (f->report)
		buf_printf(f->report, "problem: %s\n", msg);
	f->count++;
}

/* Format a file name; -1 when it does not fit (treated as absent). */
static int path_fmt(char *out, size_t size, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int path_fmt(char *out, size_t size, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(out, size, fmt, ap);
	va_end(ap);
	return n < 0 || (size_t)n >= size ? -1 : 0;
}

/* A certificate, its chain and its key, loaded from one or two files. */
struct creds {
	X509 *cert;
	STACK_OF(X509) *chain;
	EVP_PKEY *key;
	char certfile[PATH_MAX];
	char keyfile[PATH_MAX];
};

static void creds_free(struct creds *cr)
{
	X509_free(cr->cert);
	sk_X509_pop_free(cr->chain, X509_free);
	EVP_PKEY_free(cr->key);
	memset(cr, 0, sizeof *cr);
}

/* The text of OpenSSL's most recent error, for messages. */
static const char *ssl_reason(void)
{
	unsigned long e = ERR_peek_last_error();
	const char *r = e ? ERR_reason_error_string(e) : NULL;

	return r ? r : "unknown OpenSSL error";
}

/* Read a whole (small, regular) file. Returns 0; -1 with *missing set when
 * it does not exist (the caller tries the next name); -1 after a finding
 * otherwise. */
static int file_read(const char *path, struct buf *out, struct stat *st, int *missing,
		     struct findings *f)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);

	*missing = 0;
	if (fd < 0) {
		if (errno == ENOENT || errno == ENOTDIR) {
			*missing = 1;
			return -1;
		}
		finding(f, "cannot read %s: %s (the daemon reads it as root; check the "
			   "file and its directories)", path, strerror(errno));
		return -1;
	}
	if (fstat(fd, st) < 0 || !S_ISREG(st->st_mode) || st->st_size > TLS_FILE_MAX) {
		finding(f, "%s is not a regular PEM file of at most 1 MB; replace it with "
			   "the PEM certificate file", path);
		close(fd);
		return -1;
	}
	buf_reserve(out, (size_t)st->st_size + 1);
	for (;;) {
		char chunk[8192];
		ssize_t n = read(fd, chunk, sizeof chunk);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			finding(f, "cannot read %s: %s", path, strerror(errno));
			close(fd);
			return -1;
		}
		if (n == 0 || out->len + (size_t)n > TLS_FILE_MAX)
			break;
		buf_append(out, chunk, (size_t)n);
	}
	close(fd);
	return 0;
}

/* The PEM block of the private key in (p, len), if any: its start and
 * length; *encrypted when a passphrase protects it. */
static const char *pem_find_key(const char *p, size_t len, size_t *blen, int *encrypted)
{
	const char *s = p, *end = p + len;

	while ((s = memmem(s, (size_t)(end - s), "-----BEGIN ", 11))) {
		const char *label = s + 11;
		const char *dash = memmem(label, (size_t)(end - label), "-----", 5);
		if (!dash)
			return NULL;
		size_t ll = (size_t)(dash - label);
		if (ll >= 11 && !memcmp(dash - 11, "PRIVATE KEY", 11)) {
			const char *e = memmem(dash, (size_t)(end - dash), "-----END ", 9);
			const char *stop = e ? memmem(e + 9, (size_t)(end - e - 9), "-----", 5) : NULL;
			size_t b = stop ? (size_t)(stop + 5 - s) : (size_t)(end - s);
			*blen = b;
			*encrypted = (ll >= 9 && !memcmp(label, "ENCRYPTED", 9)) ||
				     memmem(s, b, "ENCRYPTED", 9) != NULL;
			return s;
		}
		s = dash;
	}
	return NULL;
}

static size_t count_certs(const char *p, size_t len)
{
	static const char tag[] = "-----BEGIN CERTIFICATE-----";
	const char *s = p, *end = p + len;
	size_t n = 0;

	while ((s = memmem(s, (size_t)(end - s), tag, sizeof tag - 1))) {
		n++;
		s += sizeof tag - 1;
	}
	return n;
}

/* The certificate and the chain after it. */
static int parse_certs(const struct buf *data, struct creds *cr, struct findings *f)
{
	BIO *bio = BIO_new_mem_buf(data->data, (int)data->len);
	size_t want = count_certs(data->data, data->len), got = 0;
	X509 *x;

	cr->chain = sk_X509_new_null();
	while (bio && (x = PEM_read_bio_X509(bio, NULL, NULL, NULL))) {
		if (got++ == 0)
			cr->cert = x;
		else
			sk_X509_push(cr->chain, x);
	}
	BIO_free(bio);
	ERR_clear_error();
	if (!cr->cert) {
		finding(f, "%s holds no certificate (no \"BEGIN CERTIFICATE\" block); put the "
			   "certificate and its chain in it", cr->certfile);
		return -1;
	}
	if (got != want) {
		finding(f, "%s: certificate %zu of %zu cannot be parsed; the file is damaged, "
			   "copy it again", cr->certfile, got + 1, want);
		return -1;
	}
	return 0;
}

static int no_passphrase(char *buf, int size, int rwflag, void *u)
{
	return 0;
}

static int parse_key(const char *block, size_t len, const struct stat *st, struct creds *cr,
		     int encrypted, struct findings *f)
{
	int ok = 1;

	if (st->st_mode & S_IROTH) {
		finding(f, "%s holds the private key and every user may read it (mode %04o): "
			   "chmod 600 %s", cr->keyfile, (unsigned)(st->st_mode & 07777), cr->keyfile);
		ok = 0;
	}
	if (encrypted) {
		finding(f, "the private key in %s is encrypted and a daemon cannot type the "
			   "passphrase: decrypt it (openssl pkey -in %s -out key.pem) and put "
			   "the decrypted key in place of the encrypted one", cr->keyfile,
			cr->keyfile);
		return -1;
	}
	BIO *bio = BIO_new_mem_buf(block, (int)len);
	cr->key = bio ? PEM_read_bio_PrivateKey(bio, NULL, no_passphrase, NULL) : NULL;
	BIO_free(bio);
	if (!cr->key) {
		finding(f, "the private key in %s cannot be read (%s); replace it with the "
			   "key made with the certificate", cr->keyfile, ssl_reason());
		ERR_clear_error();
		return -1;
	}
	return ok ? 0 : -1;
}

/* The key: in the certificate file, else keyfile (tls_key), else
 * ssl_dir/private/<the certificate file's name>. */
static int load_key(const struct buf *certdata, const struct stat *certst, const char *keyfile,
		    const char *ssl_dir, struct creds *cr, struct findings *f)
{
	size_t blen;
	int enc, missing, r;
	const char *block = pem_find_key(certdata->data, certdata->len, &blen, &enc);
	struct buf kd;
	struct stat kst;

	if (block && !keyfile) {
		str_copy(cr->keyfile, cr->certfile, sizeof cr->keyfile);
		return parse_key(block, blen, certst, cr, enc, f);
	}
	if (keyfile) {
		str_copy(cr->keyfile, keyfile, sizeof cr->keyfile);
	} else {
		const char *base = strrchr(cr->certfile, '/');
		path_fmt(cr->keyfile, sizeof cr->keyfile, "%s/private/%s", ssl_dir,
			 base ? base + 1 : cr->certfile);
	}
	buf_init(&kd);
	if (file_read(cr->keyfile, &kd, &kst, &missing, f) < 0) {
		if (missing && keyfile)
			finding(f, "the key file %s (tls_key) does not exist; set tls_key to "
				   "the private key's file (certbot: privkey.pem)", keyfile);
		else if (missing)
			finding(f, "%s holds no private key and %s does not exist: append the "
				   "key to the certificate file or put it in %s", cr->certfile,
				cr->keyfile, cr->keyfile);
		buf_free(&kd);
		return -1;
	}
	block = pem_find_key(kd.data, kd.len, &blen, &enc);
	if (!block) {
		finding(f, "%s holds no private key (no \"BEGIN PRIVATE KEY\" block); put "
			   "the certificate's key in it", cr->keyfile);
		r = -1;
	} else {
		r = parse_key(block, blen, &kst, cr, enc, f);
	}
	explicit_bzero(kd.data, kd.len);
	buf_free(&kd);
	return r;
}

static void asn1_time_text(const ASN1_TIME *t, char *out, size_t len)
{
	struct tm tm;

	if (ASN1_TIME_to_tm(t, &tm) == 1)
		strftime(out, len, "%Y-%m-%d %H:%M UTC", &tm);
	else
		str_copy(out, "an unreadable date", len);
}

/* Dates and the key's fit: what makes clients refuse or the handshake fail. */
static void check_creds(struct creds *cr, struct findings *f)
{
	char when[64];

	if (X509_cmp_current_time(X509_get0_notBefore(cr->cert)) > 0) {
		asn1_time_text(X509_get0_notBefore(cr->cert), when, sizeof when);
		finding(f, "the certificate in %s is not valid before %s: check the clock "
			   "(date) or issue the certificate again", cr->certfile, when);
	}
	if (X509_cmp_current_time(X509_get0_notAfter(cr->cert)) < 0) {
		asn1_time_text(X509_get0_notAfter(cr->cert), when, sizeof when);
		finding(f, "the certificate in %s expired on %s: renew it (certbot renew); "
			   "the next connection reads the new file", cr->certfile, when);
	}
	if (cr->key && X509_check_private_key(cr->cert, cr->key) != 1) {
		if (!strcmp(cr->keyfile, cr->certfile))
			finding(f, "the key in %s does not belong to the certificate in it: put "
				   "the key made with this certificate there", cr->certfile);
		else
			finding(f, "the key in %s does not belong to the certificate in %s: use "
				   "the key made with this certificate (certbot: privkey.pem next "
				   "to fullchain.pem)", cr->keyfile, cr->certfile);
		ERR_clear_error();
	}
}

/* Load certfile (and its key). *missing when certfile does not exist. */
static int creds_load(const char *certfile, const char *keyfile, const char *ssl_dir,
		      struct creds *cr, int *missing, struct findings *f)
{
	struct buf data;
	struct stat st;
	int before = f->count;

	memset(cr, 0, sizeof *cr);
	str_copy(cr->certfile, certfile, sizeof cr->certfile);
	buf_init(&data);
	if (file_read(certfile, &data, &st, missing, f) < 0) {
		buf_free(&data);
		return -1;
	}
	if (parse_certs(&data, cr, f) == 0) {
		load_key(&data, &st, keyfile, ssl_dir, cr, f);
		check_creds(cr, f);   /* dates even when the key is unusable */
	}
	explicit_bzero(data.data, data.len);
	buf_free(&data);
	return f->count == before ? 0 : -1;
}

/* SNI names become file names: only plain host names pass. */
static int sni_name_ok(const char *name, char *out, size_t outlen)
{
	size_t n = strlen(name);

	if (n && name[n - 1] == '.')
		n--;
	if (!n || n >= outlen || n > 253 || name[0] == '.' || name[0] == '-')
		return 0;
	for (size_t i = 0; i < n; i++) {
		char ch = name[i];
		if (ch >= 'A' && ch <= 'Z')
			ch = (char)(ch - 'A' + 'a');
		if (!((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '-' ||
		      ch == '.') || (ch == '.' && name[i + 1] == '.'))
			return 0;
		out[i] = ch;
	}
	out[n] = '\0';
	return 1;
}

/* What the SNI callback needs to find and report. */
struct tls_setup {
	const struct config *cfg;
	const char *service;
	struct mail_err *err;
	int failed;
};

static int creds_use(SSL *ssl, struct creds *cr, struct findings *f)
{
	if (SSL_use_certificate(ssl, cr->cert) != 1 || SSL_use_PrivateKey(ssl, cr->key) != 1 ||
	    SSL_set1_chain(ssl, cr->chain) != 1 || SSL_check_private_key(ssl) != 1) {
		finding(f, "OpenSSL refuses the certificate in %s: %s; issue a new one "
			   "(RSA of 2048 bits or more, or ECDSA)", cr->certfile, ssl_reason());
		ERR_clear_error();
		return -1;
	}
	return 0;
}

/* One SNI certificate read ahead (tls_preload); why says what is wrong
 * with a file that did not load. */
struct sni_creds {
	char host[256];
	struct creds cr;
	int bad;
	char why[sizeof ((struct mail_err *)0)->text];
};

#define TLS_SNI_MAX 256   /* SNI files read ahead; more are ignored */

/* Everything tls_preload read, for tls_start. */
static struct {
	int loaded;
	char service[32];
	SSL_CTX *ctx;
	struct creds def;
	struct mail_err err;   /* the setup's first problem, when failed */
	int failed;
	struct sni_creds *sni;
	size_t nsni;
} pre;

/* The preloaded certificate for host, as sni_cb would have read it. */
static int sni_preloaded(SSL *ssl, struct tls_setup *t, const char *host, int *alert)
{
	struct findings f = {t->err, NULL, 0};

	for (size_t i = 0; i < pre.nsni; i++) {
		struct sni_creds *e = &pre.sni[i];
		if (strcmp(e->host, host))
			continue;
		if (e->bad)
			mail_err_set(t->err, MAIL_FAIL, "%s", e->why);
		if (e->bad || creds_use(ssl, &e->cr, &f) < 0) {
			t->failed = 1;
			*alert = SSL_AD_INTERNAL_ERROR;
			return SSL_TLSEXT_ERR_ALERT_FATAL;
		}
		break;
	}
	return SSL_TLSEXT_ERR_OK;   /* no file for that name: the default */
}

static int sni_cb(SSL *ssl, int *alert, void *arg)
{
	struct tls_setup *t = arg;
	const char *name = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name);
	char host[256], path[PATH_MAX];
	struct findings f = {NULL, NULL, 0};
	struct creds cr;
	int missing;

	if (!t || !name || !sni_name_ok(name, host, sizeof host))
		return SSL_TLSEXT_ERR_OK;
	if (pre.loaded)
		return sni_preloaded(ssl, t, host, alert);
	if (path_fmt(path, sizeof path, "%s/certs/%s-%s.pem", t->cfg->ssl_dir, t->service,
		     host) < 0)
		return SSL_TLSEXT_ERR_OK;
	f.err = t->err;
	if (creds_load(path, NULL, t->cfg->ssl_dir, &cr, &missing, &f) < 0) {
		creds_free(&cr);
		if (missing && !f.count)
			return SSL_TLSEXT_ERR_OK;   /* no file for that name: the default */
		t->failed = 1;
		*alert = SSL_AD_INTERNAL_ERROR;
		return SSL_TLSEXT_ERR_ALERT_FATAL;
	}
	int r = creds_use(ssl, &cr, &f);
	creds_free(&cr);
	if (r < 0) {
		t->failed = 1;
		*alert = SSL_AD_INTERNAL_ERROR;
		return SSL_TLSEXT_ERR_ALERT_FATAL;
	}
	return SSL_TLSEXT_ERR_OK;
}

static int min_version(const char *v)
{
	if (!v || !strcmp(v, "1.2") || !strcasecmp(v, "TLSv1.2"))
		return TLS1_2_VERSION;
	if (!strcmp(v, "1.3") || !strcasecmp(v, "TLSv1.3"))
		return TLS1_3_VERSION;
	return 0;
}

/* TLS 1.2 suites differ in strength, so there our order decides; TLS 1.3
 * suites are all strong, so there the client's does (a phone without AES
 * hardware asks for ChaCha20 first). */
static int hello_cb(SSL *ssl, int *alert, void *arg)
{
	const unsigned char *v;
	size_t len;
	int tls13 = 0;

	if (SSL_client_hello_get0_ext(ssl, TLSEXT_TYPE_supported_versions, &v, &len) == 1 &&
	    len >= 1 && v[0] + 1u <= len) {
		for (size_t i = 1; i + 1 < (size_t)v[0] + 1; i += 2)
			tls13 |= v[i] == 0x03 && v[i + 1] == 0x04;
	}
	if (tls13)
		SSL_clear_options(ssl, SSL_OP_CIPHER_SERVER_PREFERENCE);
	else
		SSL_set_options(ssl, SSL_OP_CIPHER_SERVER_PREFERENCE);
	return SSL_CLIENT_HELLO_SUCCESS;
}

/* Finite-field DHE with the RFC 7919 group (ffdhe2048), as Mozilla advises. */
static void set_dh_group(SSL_CTX *ctx)
{
	EVP_PKEY_CTX *pc = EVP_PKEY_CTX_new_from_name(NULL, "DH", NULL);
	OSSL_PARAM params[] = {
		OSSL_PARAM_utf8_string("group", (char *)"ffdhe2048", 0),
		OSSL_PARAM_END,
	};
	EVP_PKEY *dh = NULL;

	if (pc && EVP_PKEY_paramgen_init(pc) == 1 && EVP_PKEY_CTX_set_params(pc, params) == 1 &&
	    EVP_PKEY_paramgen(pc, &dh) == 1 && SSL_CTX_set0_tmp_dh_pkey(ctx, dh) == 1)
		dh = NULL;
	else
		SSL_CTX_set_dh_auto(ctx, 1);
	EVP_PKEY_free(dh);
	EVP_PKEY_CTX_free(pc);
	ERR_clear_error();
}

/* ---- Session tickets shared by every process.
 *
 * Each connection is its own process, so OpenSSL's per-process random
 * ticket key could never decrypt a ticket issued by an earlier process.
 * The key lives in ssl_dir/private/tls-ticket-keys (mode 0600, made by the
 * first daemon that needs it, while still root): the current key, which
 * encrypts, and the previous one, which still decrypts, so a ticket issued
 * just before a rotation stays usable. A daemon that finds the file older
 * than TICKET_ROTATE_SECONDS writes a new one under an flock of the
 * directory (temporary file + rename: never a half-written file). Tickets
 * live shorter than one rotation period, so the two keys always cover
 * every live ticket, and a key leaves the disk two rotations after it was
 * made (forward secrecy: a day, or the first connection after that). */

#define TICKET_FILE "tls-ticket-keys"
#define TICKET_MAGIC "TLSTKT1\n"
#define TICKET_ROTATE_SECONDS (12 * 3600)
/* below one rotation period, with room for a slow handshake */
#define TICKET_LIFETIME_SECONDS (11 * 3600)
#define TICKET_CLOCK_SKEW 300

struct ticket_key {
	unsigned char name[16];
	unsigned char aes[32];
	unsigned char hmac[32];
};

struct ticket_keys {
	struct ticket_key key[2];   /* [0] current, [1] previous */
};

#define TICKET_FILE_SIZE (sizeof TICKET_MAGIC - 1 + 2 * sizeof(struct ticket_key))

/* What reading the key file found. */
enum ticket_state { TK_OK, TK_STALE, TK_MISSING, TK_BAD };

static struct ticket_keys tls_tickets;   /* one session per process */
static int tls_tickets_loaded;

/* Decode (p, len) into k; -1 when it is not our format. */
static int ticket_parse(const unsigned char *p, size_t len, struct ticket_keys *k)
{
	size_t m = sizeof TICKET_MAGIC - 1;

	if (len != TICKET_FILE_SIZE || memcmp(p, TICKET_MAGIC, m))
		return -1;
	for (int i = 0; i < 2; i++) {
		struct ticket_key *tk = &k->key[i];
		const unsigned char *q = p + m + i * sizeof *tk;
		memcpy(tk->name, q, sizeof tk->name);
		memcpy(tk->aes, q + sizeof tk->name, sizeof tk->aes);
		memcpy(tk->hmac, q + sizeof tk->name + sizeof tk->aes, sizeof tk->hmac);
	}
	return 0;
}

/* Read path into k. TK_BAD fills why with the reason and the fix. */
static enum ticket_state ticket_read(const char *path, struct ticket_keys *k, char *why,
				     size_t wlen)
{
	unsigned char data[TICKET_FILE_SIZE + 1];
	struct stat st;
	ssize_t n;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NOFOLLOW | O_NONBLOCK);

	if (fd < 0 && errno == ENOENT)
		return TK_MISSING;
	if (fd < 0) {
		snprintf(why, wlen, "cannot read %s: %s (the daemon must start as root; "
			 "or delete the file and a new one is made)", path, strerror(errno));
		return TK_BAD;
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		snprintf(why, wlen, "%s is not a regular file: remove it (rm -r %s) and the "
			 "next connection makes a new one", path, path);
		close(fd);
		return TK_BAD;
	}
	if (st.st_uid != geteuid() || (st.st_mode & 077)) {
		snprintf(why, wlen, "%s may be read by others (owner uid %u, mode %04o): its "
			 "keys decrypt recorded sessions; delete it (a new one is made) or "
			 "chown root and chmod 600 it", path, (unsigned)st.st_uid,
			 (unsigned)(st.st_mode & 07777));
		close(fd);
		return TK_BAD;
	}
	do
		n = read(fd, data, sizeof data);
	while (n < 0 && errno == EINTR);
	close(fd);
	if (n < 0 || ticket_parse(data, (size_t)n, k) < 0) {
		snprintf(why, wlen, "%s is damaged (not a ticket key file of this server): "
			 "delete it and the next connection makes a new one", path);
		explicit_bzero(data, sizeof data);
		return TK_BAD;
	}
	explicit_bzero(data, sizeof data);
	time_t age = time(NULL) - st.st_mtime;
	return age >= TICKET_ROTATE_SECONDS || age < -TICKET_CLOCK_SKEW ? TK_STALE : TK_OK;
}

/* Replace path with k: a temporary file, synced, renamed over it. */
static int ticket_write(int dirfd, const char *path, const struct ticket_keys *k, char *why,
			size_t wlen)
{
	unsigned char data[TICKET_FILE_SIZE];
	char tmp[PATH_MAX];
	size_t m = sizeof TICKET_MAGIC - 1;
	int fd, r = -1;

	memcpy(data, TICKET_MAGIC, m);
	memcpy(data + m, k->key, sizeof k->key);
	if (path_fmt(tmp, sizeof tmp, "%s.tmp", path) < 0) {
		snprintf(why, wlen, "cannot create %s: name too long", path);
		return -1;
	}
	unlink(tmp);   /* left by a crash; we hold the lock */
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd >= 0 && fchmod(fd, 0600) == 0 && write_full(fd, data, sizeof data) == 0 &&
	    fsync(fd) == 0 && close(fd) == 0) {
		fd = -1;
		if (rename(tmp, path) == 0) {
			fsync(dirfd);
			r = 0;
		}
	}
	if (r < 0) {
		snprintf(why, wlen, "cannot create %s: %s (the daemon must start as root and "
			 "the directory be writable)", path, strerror(errno));
		if (fd >= 0)
			close(fd);
		unlink(tmp);
	}
	explicit_bzero(data, sizeof data);
	return r;
}

static int ticket_random(struct ticket_key *tk)
{
	return RAND_priv_bytes(tk->name, sizeof tk->name) == 1 &&
	       RAND_priv_bytes(tk->aes, sizeof tk->aes) == 1 &&
	       RAND_priv_bytes(tk->hmac, sizeof tk->hmac) == 1 ? 0 : -1;
}

/* Under the directory's lock: read again (another daemon may have just
 * rotated), then write a new current key with the old one as previous. */
static int ticket_rotate(const char *dir, const char *path, struct ticket_keys *k, char *why,
			 size_t wlen)
{
	int dirfd, r = -1;
	enum ticket_state s;

	if (mkdir(dir, 0700) < 0 && errno != EEXIST) {
		snprintf(why, wlen, "cannot create %s: %s", dir, strerror(errno));
		return -1;
	}
	dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dirfd < 0 || flock(dirfd, LOCK_EX) < 0) {
		snprintf(why, wlen, "cannot lock %s to create %s: %s", dir, path, strerror(errno));
		if (dirfd >= 0)
			close(dirfd);
		return -1;
	}
	s = ticket_read(path, k, why, wlen);
	if (s == TK_OK) {
		r = 0;
	} else if (s == TK_STALE || s == TK_MISSING) {
		if (s == TK_STALE)
			k->key[1] = k->key[0];
		else if (ticket_random(&k->key[1]) < 0)
			goto out;
		if (ticket_random(&k->key[0]) == 0)
			r = ticket_write(dirfd, path, k, why, wlen);
		else
			snprintf(why, wlen, "cannot create %s: no random numbers", path);
	}
out:
	close(dirfd);   /* releases the lock */
	return r;
}

/* Load the shared keys for this connection; on trouble log once and go on
 * without resumption. Returns 0 when tickets can be issued. */
static int ticket_load(const struct config *cfg)
{
	static int warned;
	char dir[PATH_MAX], path[PATH_MAX], why[PATH_MAX * 2 + 256] = "";
	enum ticket_state s = TK_BAD;
	int r = -1;

	if (tls_tickets_loaded)
		return 0;
	if (path_fmt(dir, sizeof dir, "%s/private", cfg->ssl_dir) < 0 ||
	    path_fmt(path, sizeof path, "%s/%s", dir, TICKET_FILE) < 0) {
		snprintf(why, sizeof why, "the ticket key file name under %s is too long",
			 cfg->ssl_dir);
	} else {
		s = ticket_read(path, &tls_tickets, why, sizeof why);
		if (s == TK_OK)
			r = 0;
		else if (s != TK_BAD)
			r = ticket_rotate(dir, path, &tls_tickets, why, sizeof why);
	}
	if (r < 0) {
		explicit_bzero(&tls_tickets, sizeof tls_tickets);
		if (!warned++)
			log_warn("TLS session resumption off: %s", why);
		return -1;
	}
	tls_tickets_loaded = 1;
	return 0;
}

/* The keys leave memory once the handshake (which sends the tickets) is
 * over: the process lives on as the user. */
static void ticket_forget(void)
{
	explicit_bzero(&tls_tickets, sizeof tls_tickets);
	tls_tickets_loaded = 0;
}

static int ticket_mac_init(EVP_MAC_CTX *hctx, const struct ticket_key *tk)
{
	OSSL_PARAM params[] = {
		OSSL_PARAM_octet_string(OSSL_MAC_PARAM_KEY, (void *)tk->hmac, sizeof tk->hmac),
		OSSL_PARAM_utf8_string(OSSL_MAC_PARAM_DIGEST, (char *)"SHA256", 0),
		OSSL_PARAM_END,
	};

	return EVP_MAC_CTX_set_params(hctx, params) == 1 ? 0 : -1;
}

/* OpenSSL's ticket callback: enc, fill name and iv and set up encryption
 * with the current key; else find the key by name. Returns 1, 2 (decrypted
 * with the previous key: issue a fresh ticket), 0 (unknown key: full
 * handshake) or -1 (error). */
static int ticket_cb(SSL *ssl, unsigned char name[16], unsigned char *iv, EVP_CIPHER_CTX *cctx,
		     EVP_MAC_CTX *hctx, int enc)
{
	const struct ticket_key *tk = &tls_tickets.key[0];
	int ivlen = EVP_CIPHER_get_iv_length(EVP_aes_256_cbc());

	if (!tls_tickets_loaded)
		return 0;
	if (enc) {
		if (RAND_bytes(iv, ivlen) != 1)
			return -1;
		memcpy(name, tk->name, sizeof tk->name);
		if (EVP_EncryptInit_ex(cctx, EVP_aes_256_cbc(), NULL, tk->aes, iv) != 1 ||
		    ticket_mac_init(hctx, tk) < 0)
			return -1;
		return 1;
	}
	for (int i = 0; i < 2; i++) {
		tk = &tls_tickets.key[i];
		if (CRYPTO_memcmp(name, tk->name, sizeof tk->name))
			continue;
		if (ticket_mac_init(hctx, tk) < 0 ||
		    EVP_DecryptInit_ex(cctx, EVP_aes_256_cbc(), NULL, tk->aes, iv) != 1)
			return -1;
		return i == 0 ? 1 : 2;
	}
	return 0;
}

/* Tickets on when the shared key is at hand; otherwise none (a ticket no
 * other process could decrypt would only cost the client a round trip). */
static void ctx_tickets(SSL_CTX *ctx, const struct config *cfg, const char *service)
{
	SSL_CTX_set_session_id_context(ctx, (const unsigned char *)service,
				       (unsigned)strnlen(service, SSL_MAX_SID_CTX_LENGTH));
	if (ticket_load(cfg) < 0)
		return;
	SSL_CTX_clear_options(ctx, SSL_OP_NO_TICKET);
	SSL_CTX_set_num_tickets(ctx, 1);
	SSL_CTX_set_timeout(ctx, TICKET_LIFETIME_SECONDS);
	SSL_CTX_set_tlsext_ticket_key_evp_cb(ctx, ticket_cb);
}

/* tls_check's line on the ticket keys: never a problem (logins work
 * without resumption), but a reason to act when they cannot be used. */
static void report_tickets(const struct config *cfg, struct buf *report)
{
	char dir[PATH_MAX], path[PATH_MAX], why[PATH_MAX * 2 + 256] = "";
	struct ticket_keys k;

	if (path_fmt(dir, sizeof dir, "%s/private", cfg->ssl_dir) < 0 ||
	    path_fmt(path, sizeof path, "%s/%s", dir, TICKET_FILE) < 0)
		return;
	switch (ticket_read(path, &k, why, sizeof why)) {
	case TK_OK:
		buf_printf(report, "ok: TLS session resumption: ticket keys in %s\n", path);
		break;
	case TK_STALE:
		buf_printf(report, "ok: TLS session resumption: ticket keys in %s (rotated at "
				   "the next connection)\n", path);
		break;
	case TK_MISSING:
		if (access(dir, W_OK) == 0 || (errno == ENOENT && access(cfg->ssl_dir, W_OK) == 0))
			buf_printf(report, "ok: TLS session resumption: %s will be created at "
					   "the first TLS connection\n", path);
		else
			buf_printf(report, "warning: TLS session resumption off: %s cannot be "
					   "created (%s): start the daemon as root or create it "
					   "as root by one TLS connection\n", path, strerror(errno));
		break;
	case TK_BAD:
		buf_printf(report, "warning: TLS session resumption off: %s\n", why);
		break;
	}
	explicit_bzero(&k, sizeof k);
}

/* A context with our protocol policy; NULL after a finding. */
static SSL_CTX *ctx_new(const struct config *cfg, struct findings *f)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
	int minv = min_version(cfg->tls_min_version);
	char list[2048];

	if (!ctx) {
		finding(f, "OpenSSL cannot start: %s", ssl_reason());
		return NULL;
	}
	if (!minv) {
		finding(f, "tls_min_version = %s is not allowed: use 1.2 or 1.3 (older TLS "
			   "versions are broken)", cfg->tls_min_version);
		minv = TLS1_2_VERSION;
	}
	SSL_CTX_set_min_proto_version(ctx, minv);
	/* Each connection is its own process: a cached session could never be
	 * resumed by the next one. Tickets stay off unless ctx_tickets finds the
	 * shared key. */
	SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_COMPRESSION |
					 SSL_OP_NO_TICKET | SSL_OP_IGNORE_UNEXPECTED_EOF);
	SSL_CTX_clear_options(ctx, SSL_OP_CIPHER_SERVER_PREFERENCE);
	SSL_CTX_set_num_tickets(ctx, 0);
	SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
	SSL_CTX_set_client_hello_cb(ctx, hello_cb, NULL);
	set_dh_group(ctx);
	SSL_CTX_set1_groups_list(ctx, "X25519:prime256v1:secp384r1");
	if (path_fmt(list, sizeof list, "%s:!aNULL:!eNULL:!EXPORT",
		     cfg->tls_ciphers ? cfg->tls_ciphers : TLS_CIPHERS_INTERMEDIATE) < 0 ||
	    SSL_CTX_set_cipher_list(ctx, list) != 1) {
		finding(f, "tls_ciphers = %s selects no cipher OpenSSL knows: remove the line "
			   "to use the recommended list", cfg->tls_ciphers ? cfg->tls_ciphers : "");
		ERR_clear_error();
	}
	return ctx;
}

/* The certificate for a client without SNI (or with an unknown name):
 * tls_cert, else the file for the local address, else the service's. */
static int creds_default(const struct config *cfg, const char *service,
			 const struct server_conn *conn, struct creds *cr, struct findings *f)
{
	char path[PATH_MAX], svc[PATH_MAX];
	int missing = 1;   /* a per-IP path too long to build counts as absent */

	if (cfg->tls_cert) {
		if (creds_load(cfg->tls_cert, cfg->tls_key, cfg->ssl_dir, cr, &missing, f) == 0)
			return 0;
		if (missing)
			finding(f, "the certificate file %s (tls_cert) does not exist; set tls_cert "
				   "to the certificate chain (certbot: fullchain.pem)", cfg->tls_cert);
		return -1;
	}
	if (conn && conn->local_addr[0] && !strchr(conn->local_addr, '/')) {
		if (path_fmt(path, sizeof path, "%s/certs/%s-%s.pem", cfg->ssl_dir, service,
			     conn->local_addr) == 0 &&
		    creds_load(path, NULL, cfg->ssl_dir, cr, &missing, f) == 0)
			return 0;
		creds_free(cr);
		if (!missing)
			return -1;
	}
	path_fmt(svc, sizeof svc, "%s/certs/%s.pem", cfg->ssl_dir, service);
	if (creds_load(svc, NULL, cfg->ssl_dir, cr, &missing, f) == 0)
		return 0;
	if (missing)
		finding(f, "no certificate: %s does not exist; create it (make certs makes a "
			   "test one) or set tls_cert and tls_key", svc);
	return -1;
}

/* Read every ssl_dir/certs/<service>-<host>.pem whose <host> an SNI name
 * could select; a file that fails is kept with its reason. */
static void sni_preload(const struct config *cfg, const char *service)
{
	char dir[PATH_MAX], path[PATH_MAX * 2], host[256];
	size_t sl = strlen(service);
	struct dirent *de;
	DIR *d;

	if (path_fmt(dir, sizeof dir, "%s/certs", cfg->ssl_dir) < 0 || !(d = opendir(dir)))
		return;
	while ((de = readdir(d)) && pre.nsni < TLS_SNI_MAX) {
		size_t nl = strlen(de->d_name);
		if (nl <= sl + 5 || strncmp(de->d_name, service, sl) || de->d_name[sl] != '-' ||
		    strcmp(de->d_name + nl - 4, ".pem") || nl - sl - 5 >= sizeof host)
			continue;
		char name[256];
		memcpy(name, de->d_name + sl + 1, nl - sl - 5);
		name[nl - sl - 5] = '\0';
		if (!sni_name_ok(name, host, sizeof host) || strcmp(host, name) ||
		    path_fmt(path, sizeof path, "%s/%s", dir, de->d_name) < 0)
			continue;
		pre.sni = xrealloc(pre.sni, (pre.nsni + 1) * sizeof *pre.sni);
		struct sni_creds *e = &pre.sni[pre.nsni++];
		struct mail_err err;
		struct findings f = {&err, NULL, 0};
		int missing;
		memset(e, 0, sizeof *e);
		str_copy(e->host, host, sizeof e->host);
		if (creds_load(path, NULL, cfg->ssl_dir, &e->cr, &missing, &f) < 0) {
			creds_free(&e->cr);
			if (missing && !f.count) {
				pre.nsni--;   /* vanished meanwhile: as if never there */
				continue;
			}
			e->bad = 1;
			str_copy(e->why, err.text, sizeof e->why);
		}
	}
	closedir(d);
}

int tls_preload(const struct config *cfg, const char *service, const struct server_conn *conn)
{
	struct findings f = {&pre.err, NULL, 0};

	tls_preload_free();
	pre.loaded = 1;
	str_copy(pre.service, service, sizeof pre.service);
	pre.ctx = ctx_new(cfg, &f);
	if (pre.ctx && !f.count && creds_default(cfg, service, conn, &pre.def, &f) == 0) {
		ctx_tickets(pre.ctx, cfg, service);
		sni_preload(cfg, service);
		return 0;
	}
	if (!f.count)
		mail_err_set(&pre.err, MAIL_FAIL, "TLS setup failed: %s", ssl_reason());
	ERR_clear_error();
	creds_free(&pre.def);
	pre.failed = 1;
	return -1;
}

void tls_preload_free(void)
{
	for (size_t i = 0; i < pre.nsni; i++)
		creds_free(&pre.sni[i].cr);
	free(pre.sni);
	creds_free(&pre.def);
	SSL_CTX_free(pre.ctx);
	memset(&pre, 0, sizeof pre);
	ticket_forget();
}

/* A connection object for service with the preloaded credentials; NULL
 * with err filled when the setup was broken. */
static SSL *ssl_from_preload(struct findings *f)
{
	SSL *ssl;

	if (pre.failed) {
		*f->err = pre.err;
		f->count++;
		return NULL;
	}
	ssl = SSL_new(pre.ctx);
	if (ssl && creds_use(ssl, &pre.def, f) < 0) {
		SSL_free(ssl);
		ssl = NULL;
	}
	if (ssl)
		SSL_CTX_up_ref(pre.ctx);   /* the caller drops one reference, as for its own */
	return ssl;
}

/* A connection object with the files read now (no preload). */
static SSL *ssl_from_files(const struct config *cfg, const char *service,
			   const struct server_conn *conn, struct findings *f)
{
	struct creds cr;
	SSL_CTX *ctx;
	SSL *ssl = NULL;

	memset(&cr, 0, sizeof cr);
	ctx = ctx_new(cfg, f);
	if (ctx && !f->count && creds_default(cfg, service, conn, &cr, f) == 0) {
		ctx_tickets(ctx, cfg, service);   /* before SSL_new, which copies it */
		ssl = SSL_new(ctx);
		if (!ssl || creds_use(ssl, &cr, f) < 0) {
			SSL_free(ssl);
			ssl = NULL;
		}
	}
	creds_free(&cr);
	if (!ssl)
		SSL_CTX_free(ctx);
	return ssl;
}

/* The session behind a struct io. */
struct tls_conn {
	SSL *ssl;
	struct io *io;
	unsigned timeout;   /* the one last set on the socket */
};

static struct tls_conn *tls_current;   /* one session per process */

/* io's timeouts also bound the waits inside a TLS record (a client that
 * sends half a record must not hold the process forever). */
static void sock_timeouts(struct tls_conn *t, unsigned secs)
{
	struct timeval tv = {.tv_sec = secs, .tv_usec = 0};

	setsockopt(t->io->in_fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
	setsockopt(t->io->out_fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
	t->timeout = secs;
}

/* Called by OpenSSL before each read from the socket, inside a handshake
 * or a record too: the wait is capped by io's deadline and, once that has
 * passed, the read fails (as a timeout), so a client sending its bytes one
 * at a time gains nothing from SO_RCVTIMEO restarting at each of them. */
static long deadline_cb(BIO *b, int oper, const char *argp, size_t len, int argi, long argl,
			int ret, size_t *processed)
{
	struct tls_conn *t = (struct tls_conn *)BIO_get_callback_arg(b);

	if (oper != BIO_CB_READ || !t || !t->io->deadline_ms)
		return ret;
	if (io_deadline_passed(t->io)) {
		errno = EAGAIN;
		return -1;
	}
	unsigned secs = io_wait_seconds(t->io);
	if (t->timeout != secs)
		sock_timeouts(t, secs);
	return ret;
}

/* SSL_read/SSL_write results as read(2)/write(2) would give them. */
static ssize_t ssl_result(struct tls_conn *t, int r)
{
	int saved = errno;
	int e = SSL_get_error(t->ssl, r);

	ERR_clear_error();
	if (e == SSL_ERROR_ZERO_RETURN)
		return 0;
	if (e == SSL_ERROR_SYSCALL && (saved == EINTR || saved == EAGAIN))
		errno = saved;
	else
		errno = EIO;
	return -1;
}

static ssize_t tls_read(void *ctx, void *p, size_t n)
{
	struct tls_conn *t = ctx;
	unsigned secs = io_wait_seconds(t->io);   /* the deadline bounds this wait too */
	int r;

	if (t->timeout != secs)
		sock_timeouts(t, secs);
	r = SSL_read(t->ssl, p, n > INT_MAX ? INT_MAX : (int)n);
	return r > 0 ? r : ssl_result(t, r);
}

static ssize_t tls_write(void *ctx, const void *p, size_t n)
{
	struct tls_conn *t = ctx;
	int r;

	if (t->timeout != t->io->timeout)
		sock_timeouts(t, t->io->timeout);
	r = SSL_write(t->ssl, p, n > INT_MAX ? INT_MAX : (int)n);
	return r > 0 ? r : ssl_result(t, r);
}

static int tls_pending(void *ctx)
{
	struct tls_conn *t = ctx;

	return SSL_pending(t->ssl);
}

static const struct io_transport tls_transport = {tls_read, tls_write, tls_pending};

/* At exit: tell the client the stream ended on purpose (close_notify). */
static void tls_atexit(void)
{
	struct tls_conn *t = tls_current;

	if (!t)
		return;
	tls_current = NULL;
	if (t->io->failed)
		SSL_set_quiet_shutdown(t->ssl, 1);
	sock_timeouts(t, 5);
	SSL_shutdown(t->ssl);
	SSL_free(t->ssl);
	free(t);
}

/* The handshake, then the switch of transport. */
static int tls_handshake(struct io *io, SSL *ssl, struct tls_setup *setup, struct mail_err *err)
{
	struct tls_conn *t = xcalloc(1, sizeof *t);
	int r;

	t->ssl = ssl;
	t->io = io;
	sock_timeouts(t, io->timeout ? io->timeout : TLS_HANDSHAKE_SECONDS);
	/* a handshake outside the login deadline (implicit TLS) gets its own */
	long long saved_deadline = io->deadline_ms;
	if (!saved_deadline)
		io_set_deadline(io, io->timeout ? io->timeout : TLS_HANDSHAKE_SECONDS);
	if (SSL_set_rfd(ssl, io->in_fd) != 1 || SSL_set_wfd(ssl, io->out_fd) != 1) {
		r = -1;
	} else {
		BIO_set_callback_ex(SSL_get_rbio(ssl), deadline_cb);
		BIO_set_callback_arg(SSL_get_rbio(ssl), (char *)t);
		r = SSL_accept(ssl);
	}
	if (!saved_deadline)
		io->deadline_ms = 0;
	SSL_CTX_set_tlsext_servername_arg(SSL_get_SSL_CTX(ssl), NULL);
	ticket_forget();
	if (r != 1) {
		if (!setup->failed) {
			int e = SSL_get_error(ssl, r);
			mail_err_set(err, MAIL_FAIL, "TLS handshake failed: %s",
				     e == SSL_ERROR_SSL ? ssl_reason() :
				     e == SSL_ERROR_SYSCALL && errno == EAGAIN ? "client too slow" :
				     "client went away");
		}
		ERR_clear_error();
		io->failed = 1;   /* the stream is neither plaintext nor TLS now */
		SSL_free(ssl);
		free(t);
		return -1;
	}
	io_set_transport(io, &tls_transport, t);
	if (!tls_current)
		atexit(tls_atexit);
	tls_current = t;
	return 0;
}

int tls_start(struct io *io, const struct config *cfg, const char *service,
	      const struct server_conn *conn, struct mail_err *err)
{
	struct findings f = {err, NULL, 0};
	struct tls_setup setup = {cfg, service, err, 0};
	int preloaded = pre.loaded && !strcmp(pre.service, service);
	SSL_CTX *ctx;
	SSL *ssl;

	io_discard_input(io);
	if (tls_active(io)) {
		mail_err_set(err, MAIL_FAIL, "TLS is already active");
		return -1;
	}
	ssl = preloaded ? ssl_from_preload(&f) : ssl_from_files(cfg, service, conn, &f);
	if (!ssl) {
		if (!f.count)
			mail_err_set(err, MAIL_FAIL, "TLS setup failed: %s", ssl_reason());
		ERR_clear_error();
		buf_reset(&io->wbuf);   /* the caller's "go ahead" is not sent */
		return -1;
	}
	ctx = SSL_get_SSL_CTX(ssl);
	SSL_CTX_set_tlsext_servername_callback(ctx, sni_cb);
	SSL_CTX_set_tlsext_servername_arg(ctx, &setup);
	SSL_CTX_free(ctx);   /* ssl holds its own reference */
	/* the setup is sound: the caller's queued "go ahead" goes out in clear */
	if (io_flush(io) < 0) {
		SSL_free(ssl);
		mail_err_set(err, MAIL_FAIL, "client went away before the TLS handshake");
		return -1;
	}
	int r = tls_handshake(io, ssl, &setup, err);
	if (preloaded)
		tls_preload_free();   /* the other certificates' keys are not needed now */
	return r;
}

int tls_active(const struct io *io)
{
	return io->tr == &tls_transport;
}

int tls_available(void)
{
	return 1;
}

/* ---- tls_check: the same loading, every finding reported. */

static void report_ok(struct creds *cr, struct buf *report)
{
	char when[64], cn[256] = "";
	X509_NAME *subj = X509_get_subject_name(cr->cert);
	double days;
	int pday, psec;

	X509_NAME_get_text_by_NID(subj, NID_commonName, cn, sizeof cn);
	asn1_time_text(X509_get0_notAfter(cr->cert), when, sizeof when);
	buf_printf(report, "ok: %s: certificate for \"%s\", key %s, valid until %s\n",
		   cr->certfile, cn, cr->keyfile, when);
	if (ASN1_TIME_diff(&pday, &psec, NULL, X509_get0_notAfter(cr->cert))) {
		days = pday + psec / 86400.0;
		if (days >= 0 && days < TLS_EXPIRY_WARN_DAYS)
			buf_printf(report, "warning: %s expires in %d days: renew it soon\n",
				   cr->certfile, pday);
	}
}

/* Chain: can a client with the system's CA list verify it? Self-signed
 * (test) certificates and private CAs are only noted. */
static void report_chain(struct creds *cr, struct buf *report)
{
	X509_STORE *store = X509_STORE_new();
	X509_STORE_CTX *sc = X509_STORE_CTX_new();

	if (store && sc && X509_STORE_set_default_paths(store) == 1 &&
	    X509_STORE_CTX_init(sc, store, cr->cert, cr->chain) == 1) {
		if (X509_verify_cert(sc) != 1) {
			int e = X509_STORE_CTX_get_error(sc);
			if (X509_check_issued(cr->cert, cr->cert) == X509_V_OK)
				buf_printf(report, "note: %s is self-signed: fine for testing, mail "
						   "clients will warn; use a certificate from a CA "
						   "(e.g. certbot) in production\n", cr->certfile);
			else if (e == X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY &&
				 !sk_X509_num(cr->chain))
				buf_printf(report, "warning: %s holds no intermediate certificate "
						   "and clients may not verify it: use the full chain "
						   "(certbot: fullchain.pem, not cert.pem)\n",
					   cr->certfile);
			else
				buf_printf(report, "warning: %s does not verify against the system's "
						   "CA list: %s (fine if your clients trust a private "
						   "CA)\n", cr->certfile, X509_verify_cert_error_string(e));
		}
	}
	X509_STORE_CTX_free(sc);
	X509_STORE_free(store);
	ERR_clear_error();
}

/* One certificate file: every finding, or "ok" with its facts. */
static void check_file(const struct config *cfg, const char *certfile, const char *keyfile,
		       const char *if_missing, struct findings *f)
{
	struct creds cr;
	int missing;

	if (creds_load(certfile, keyfile, cfg->ssl_dir, &cr, &missing, f) == 0) {
		report_ok(&cr, f->report);
		report_chain(&cr, f->report);
	} else if (missing) {
		finding(f, "%s", if_missing);
	}
	creds_free(&cr);
}

/* Every S-<name>.pem beside S.pem: SNI and per-address certificates. */
static void check_extra_files(const struct config *cfg, const char *service, struct findings *f)
{
	char dir[PATH_MAX], path[PATH_MAX * 2];
	size_t sl = strlen(service);
	DIR *d;
	struct dirent *de;

	if (path_fmt(dir, sizeof dir, "%s/certs", cfg->ssl_dir) < 0 || !(d = opendir(dir)))
		return;
	while ((de = readdir(d))) {
		size_t nl = strlen(de->d_name);
		if (nl > sl + 5 && !strncmp(de->d_name, service, sl) && de->d_name[sl] == '-' &&
		    !strcmp(de->d_name + nl - 4, ".pem")) {
			if (path_fmt(path, sizeof path, "%s/%s", dir, de->d_name) == 0)
				check_file(cfg, path, NULL, "vanished while checked", f);
		}
	}
	closedir(d);
}

int tls_check(const struct config *cfg, const char *service, struct buf *report)
{
	struct findings f = {NULL, report, 0};
	char path[PATH_MAX], msg[PATH_MAX * 2];
	SSL_CTX *ctx = ctx_new(cfg, &f);

	SSL_CTX_free(ctx);
	if (cfg->tls_key && !cfg->tls_cert)
		finding(&f, "tls_key is set without tls_cert: set tls_cert to the certificate "
			    "chain too (certbot: fullchain.pem)");
	if (cfg->tls_cert) {
		snprintf(msg, sizeof msg, "the certificate file %s (tls_cert) does not exist; "
			 "set tls_cert to the certificate chain (certbot: fullchain.pem)",
			 cfg->tls_cert);
		check_file(cfg, cfg->tls_cert, cfg->tls_key, msg, &f);
	} else {
		path_fmt(path, sizeof path, "%s/certs/%s.pem", cfg->ssl_dir, service);
		snprintf(msg, sizeof msg, "no certificate for %s: %s does not exist; create it "
			 "(make certs makes a test one) or set tls_cert and tls_key in the "
			 "configuration", service, path);
		check_file(cfg, path, NULL, msg, &f);
	}
	check_extra_files(cfg, service, &f);
	report_tickets(cfg, report);
	return f.count;
}

#endif
