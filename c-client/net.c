/* net.c: the classic network name syntax, the connection to a server and
 * the command-line programs' password hook, shared by the network drivers. */
#include "net.h"
#include "tls_client.h"
#include "sasl_client.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <termios.h>
#include <unistd.h>

int net_name_is(const char *name)
{
	return name && name[0] == '{';
}

/* Copy a /flag=value into out; -1 if it does not fit or is empty. */
static int flag_value(const char *v, size_t vlen, char *out, size_t size)
{
	if (!vlen || vlen >= size)
		return -1;
	memcpy(out, v, vlen);
	out[vlen] = '\0';
	return 0;
}

/* One "/flag" or "/flag=value" of the name (without the slash). */
static int parse_flag(const char *f, size_t len, struct net_name *n)
{
	static const struct {
		const char *name;
		size_t off;
	} onoff[] = {
		{"ssl", offsetof(struct net_name, ssl)},
		{"tls", offsetof(struct net_name, tls)},
		{"notls", offsetof(struct net_name, notls)},
		{"novalidate-cert", offsetof(struct net_name, novalidate)},
		{"secure", offsetof(struct net_name, secure)},
		{"debug", offsetof(struct net_name, debug)},
		{"readonly", offsetof(struct net_name, readonly)},
	};
	const char *eq = memchr(f, '=', len);
	size_t klen = eq ? (size_t)(eq - f) : len;
	size_t vlen = eq ? len - klen - 1 : 0;

	for (size_t i = 0; !eq && i < ARRAY_SIZE(onoff); i++)
		if (!str_casecmp_n(f, klen, onoff[i].name)) {
			*(int *)((char *)n + onoff[i].off) = 1;
			return 0;
		}
	if (!eq && !str_casecmp_n(f, klen, "validate-cert")) {
		n->novalidate = 0;
		return 0;
	}
	if (!eq && !str_casecmp_n(f, klen, "norsh"))
		return 0;   /* rsh/ssh are never tried */
	if (!eq && !str_casecmp_n(f, klen, "imap4rev2")) {
		n->rev2 = 1;
		return flag_value("imap", 4, n->service, sizeof n->service);
	}
	if (!eq && (!str_casecmp_n(f, klen, "imap") || !str_casecmp_n(f, klen, "imap4") ||
		    !str_casecmp_n(f, klen, "imap4rev1") || !str_casecmp_n(f, klen, "pop3") ||
		    !str_casecmp_n(f, klen, "nntp")))
		return flag_value(f, klen, n->service, sizeof n->service);
	if (eq && !str_casecmp_n(f, klen, "user"))
		return flag_value(eq + 1, vlen, n->user, sizeof n->user);
	if (eq && !str_casecmp_n(f, klen, "authuser"))
		return flag_value(eq + 1, vlen, n->authuser, sizeof n->authuser);
	if (eq && !str_casecmp_n(f, klen, "auth"))
		return flag_value(eq + 1, vlen, n->auth, sizeof n->auth);
	if (eq && !str_casecmp_n(f, klen, "service"))
		return flag_value(eq + 1, vlen, n->service, sizeof n->service);
	return -1;
}

/* "host", "host:port", "[v6]" or "[v6]:port". */
static int parse_host(const char *h, size_t len, struct net_name *n)
{
	const char *end = h + len, *colon;

	if (len && *h == '[') {
		const char *close = memchr(h, ']', len);
		if (!close || flag_value(h + 1, (size_t)(close - h - 1), n->host, sizeof n->host))
			return -1;
		colon = close + 1 < end ? close + 1 : NULL;
		if (colon && *colon != ':')
			return -1;
	} else {
		colon = memchr(h, ':', len);
		if (flag_value(h, colon ? (size_t)(colon - h) : len, n->host, sizeof n->host))
			return -1;
	}
	if (strpbrk(n->host, " \t/{}[]"))
		return -1;
	if (!colon)
		return 0;
	unsigned long port = 0;
	for (const char *p = colon + 1; p < end; p++) {
		if (*p < '0' || *p > '9' || (port = port * 10 + (unsigned)(*p - '0')) > 65535)
			return -1;
	}
	n->port = (unsigned)port;
	return port && colon + 1 < end ? 0 : -1;
}

int net_name_parse(const char *name, struct net_name *n, struct mail_err *err)
{
	memset(n, 0, sizeof *n);
	str_copy(n->service, "imap", sizeof n->service);
	const char *close = net_name_is(name) ? strchr(name, '}') : NULL;
	if (!close) {
		mail_err_set(err, MAIL_BADNAME, "%s: a network name is {host/flags}mailbox", name);
		return -1;
	}
	const char *p = name + 1, *slash = memchr(p, '/', (size_t)(close - p));
	if (parse_host(p, (size_t)((slash ? slash : close) - p), n) < 0) {
		mail_err_set(err, MAIL_BADNAME, "%.*s: not a host name or host:port",
			     (int)((slash ? slash : close) - p), p);
		return -1;
	}
	while (slash) {
		const char *f = slash + 1;
		slash = memchr(f, '/', (size_t)(close - f));
		size_t flen = (size_t)((slash ? slash : close) - f);
		if (parse_flag(f, flen, n) < 0) {
			mail_err_set(err, MAIL_BADNAME, "unknown or bad flag /%.*s in %.*s", (int)flen,
				     f, (int)(close + 1 - name), name);
			return -1;
		}
	}
	for (char *c = n->service; *c; c++)
		*c = (char)tolower((unsigned char)*c);
	if (!strcmp(n->service, "imap4") || !strcmp(n->service, "imap4rev1"))
		str_copy(n->service, "imap", sizeof n->service);
	if (strcmp(n->service, "imap") && strcmp(n->service, "pop3") &&
	    strcmp(n->service, "nntp")) {
		mail_err_set(err, MAIL_BADNAME, "no network driver for the service %s "
			     "(imap, pop3, nntp)", n->service);
		return -1;
	}
	n->mailbox = close + 1;
	n->prefix_len = (size_t)(close + 1 - name);
	return 0;
}

int net_same_server(const struct net_name *a, const struct net_name *b)
{
	return !strcasecmp(a->host, b->host) && a->port == b->port && a->ssl == b->ssl &&
	       !strcmp(a->user, b->user) && !strcmp(a->authuser, b->authuser);
}

static int is_loopback(const struct sockaddr *sa)
{
	if (sa->sa_family == AF_INET)
		return (ntohl(((const struct sockaddr_in *)sa)->sin_addr.s_addr) >> 24) == 127;
	if (sa->sa_family == AF_INET6) {
		const struct in6_addr *a = &((const struct sockaddr_in6 *)sa)->sin6_addr;
		if (IN6_IS_ADDR_V4MAPPED(a))
			return a->s6_addr[12] == 127;
		return IN6_IS_ADDR_LOOPBACK(a);
	}
	return 0;
}

/* connect(2) bounded by timeout seconds; the socket stays blocking after. */
static int connect_within(int fd, const struct sockaddr *sa, socklen_t len, unsigned timeout)
{
	int fl = fcntl(fd, F_GETFL);

	fcntl(fd, F_SETFL, fl | O_NONBLOCK);
	int r = connect(fd, sa, len);
	if (r < 0 && errno == EINPROGRESS) {
		struct pollfd pfd = {.fd = fd, .events = POLLOUT};
		int e = 0;
		socklen_t el = sizeof e;
		r = poll(&pfd, 1, (int)timeout * 1000);
		if (r == 0)
			errno = ETIMEDOUT;
		else if (r > 0 && getsockopt(fd, SOL_SOCKET, SO_ERROR, &e, &el) == 0 && e)
			errno = e;
		r = r > 0 && !e ? 0 : -1;
	}
	fcntl(fd, F_SETFL, fl);
	return r;
}

int net_connect(const struct net_name *n, unsigned port, unsigned timeout, int *loopback,
		struct mail_err *err)
{
	struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM}, *res, *ai;
	char ps[8];
	int fd = -1, e = 0;

	snprintf(ps, sizeof ps, "%u", port);
	int r = getaddrinfo(n->host, ps, &hints, &res);
	if (r) {
		mail_err_set(err, MAIL_FAIL, "%s: %s", n->host, gai_strerror(r));
		return -1;
	}
	for (ai = res; ai && fd < 0; ai = ai->ai_next) {
		fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
		if (fd >= 0 && connect_within(fd, ai->ai_addr, ai->ai_addrlen, timeout) < 0) {
			e = errno;
			close(fd);
			fd = -1;
		} else if (fd >= 0) {
			*loopback = is_loopback(ai->ai_addr);
		}
	}
	freeaddrinfo(res);
	if (fd < 0)
		mail_err_set(err, MAIL_FAIL, "cannot connect to %s port %u: %s", n->host, port,
			     strerror(e ? e : EADDRNOTAVAIL));
	return fd;
}

unsigned net_port(const struct net_name *n)
{
	static const struct {
		const char *service;
		unsigned plain, ssl;
	} ports[] = {{"imap", 143, 993}, {"pop3", 110, 995}, {"nntp", 119, 563}};

	if (n->port)
		return n->port;
	for (size_t i = 0; i < ARRAY_SIZE(ports); i++)
		if (!strcmp(n->service, ports[i].service))
			return n->ssl ? ports[i].ssl : ports[i].plain;
	return 0;
}

int net_open(const struct net_name *n, const struct mail_client *cl, unsigned timeout,
	     struct io *io, int *loopback, struct mail_err *err)
{
	struct tls_client_opts o = {n->host, n->novalidate, cl ? cl->cafile : NULL};
	unsigned port = net_port(n);
	int fd = cl && cl->connect ? cl->connect(cl->ctx, n, port, loopback, err) :
				     net_connect(n, port, timeout, loopback, err);

	if (fd < 0)
		return -1;
	io_init(io, fd, fd);
	io->timeout = timeout;
	if (n->ssl && tls_client_start(io, &o, err) < 0) {
		buf_free(&io->wbuf);
		close(fd);
		return -1;
	}
	return fd;
}

int net_clear_ok(const struct net_name *n, int loopback, const char *starttls,
		 struct mail_err *err)
{
	if (n->notls && !n->secure && loopback)
		return 0;   /* the user asked, and the bytes never leave this machine */
	/* MAIL_FAIL here and for a failed login, not MAIL_NOPERM: mail_open
	 * would try again read-only, a second connection and login */
	if (n->notls && n->secure && loopback)
		mail_err_set(err, MAIL_FAIL, "%s: /secure: refusing to send a password in clear",
			     n->host);
	else if (n->notls)
		mail_err_set(err, MAIL_FAIL, "%s: refusing to send a password in clear over the "
			     "network (/notls is for a server on this machine; use /ssl)", n->host);
	else
		mail_err_set(err, MAIL_FAIL, "%s offers no %s: refusing to send a password "
			     "in clear (use /ssl for implicit TLS)", n->host, starttls);
	return -1;
}

int net_password(const struct net_name *n, const struct mail_client *cl, const char *local_user,
		 char *user, size_t ulen, char *pw, size_t plen, struct mail_err *err)
{
	str_copy(user, n->user[0] ? n->user : local_user ? local_user : "", ulen);
	if (cl && cl->login && cl->login(cl->ctx, n, user, ulen, pw, plen) == 0)
		return 0;
	mail_err_set(err, MAIL_FAIL, "no password given for %s on %s", user, n->host);
	return -1;
}

void net_sasl_plain(struct buf *out, const struct net_name *n, const char *user, const char *pw)
{
	const char *authc = n->authuser[0] ? n->authuser : user;
	const char *authz = n->authuser[0] ? user : "";
	struct buf raw;

	buf_init(&raw);
	buf_append(&raw, authz, strlen(authz) + 1);
	buf_append(&raw, authc, strlen(authc) + 1);
	buf_puts(&raw, pw);
	sasl_b64_encode(out, raw.data, raw.len);
	explicit_bzero(raw.data, raw.len);
	buf_free(&raw);
}

/* First line of a file (without its line end) into out. */
static int read_first_line(const char *path, char *out, size_t size)
{
	FILE *f = fopen(path, "re");

	if (!f)
		return -1;
	int ok = fgets(out, (int)size, f) != NULL;
	fclose(f);
	out[ok ? strcspn(out, "\r\n") : 0] = '\0';
	return ok ? 0 : -1;
}

/* Ask on the terminal with echo off. */
static int ask_tty(const struct net_name *n, const char *user, char *pw, size_t plen)
{
	FILE *tty = fopen("/dev/tty", "r+e");
	struct termios old, quiet;

	if (!tty)
		return -1;
	fprintf(tty, "{%s} password for %s: ", n->host, user);
	fflush(tty);
	int saved = tcgetattr(fileno(tty), &old) == 0;
	if (saved) {
		quiet = old;
		quiet.c_lflag &= ~(tcflag_t)ECHO;
		tcsetattr(fileno(tty), TCSAFLUSH, &quiet);
	}
	int ok = fgets(pw, (int)plen, tty) != NULL;
	if (saved)
		tcsetattr(fileno(tty), TCSAFLUSH, &old);
	fputc('\n', tty);
	fclose(tty);
	pw[ok ? strcspn(pw, "\r\n") : 0] = '\0';
	return ok ? 0 : -1;
}

int net_login_default(void *ctx, const struct net_name *n, char *user, size_t ulen, char *pw,
		      size_t plen)
{
	struct net_login_cache *c = ctx;
	char key[sizeof c->key];
	int m = sasl_client_find(n->auth, strlen(n->auth));
	int token = m >= 0 && sasl_client_wants_token((enum sasl_cmech)m);
	/* a bearer token is not a password: it has variables of its own */
	const char *env = getenv(token ? "MAIL_OAUTH_TOKEN" : "MAIL_PASSWORD");
	const char *file = getenv(token ? "MAIL_OAUTH_TOKEN_FILE" : "MAIL_PASSWORD_FILE");

	snprintf(key, sizeof key, "%s %s", n->host, user);
	if (c && c->pw[0] && !strcmp(c->key, key)) {
		str_copy(pw, c->pw, plen);
		return 0;
	}
	if (env)
		str_copy(pw, env, plen);
	else if (file ? read_first_line(file, pw, plen) < 0 : ask_tty(n, user, pw, plen) < 0)
		return -1;
	if (c && str_copy(c->pw, pw, sizeof c->pw) < sizeof c->pw)
		str_copy(c->key, key, sizeof c->key);
	return 0;
}

void net_login_forget(struct net_login_cache *c)
{
	explicit_bzero(c, sizeof *c);
}
