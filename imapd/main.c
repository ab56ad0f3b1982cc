/* main.c: imapd's entry point. inetd (or xinetd, or systemd with
 * Accept=yes) hands us the connection on stdin/stdout; we read commands,
 * dispatch them through the table in commands.c and write responses. */
#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <malloc.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "daemon.h"
#include "imapd.h"
#include "specialuse.h"
#include "log.h"
#include "privsep.h"
#include "imap_url.h"
#include "tls.h"

#ifndef CONFIG_FILE
#define CONFIG_FILE "/etc/imapd.conf"
#endif

static void usage(FILE *f)
{
	fprintf(f,
		"usage: imapd [--config FILE] [--tls]\n"
		"       imapd [--config FILE] --check\n"
		"       imapd --version | --help\n"
		"\n"
		"An IMAP4rev1 server for inetd, xinetd or systemd socket activation: the\n"
		"connection is stdin/stdout. Started as root it asks for a login (PAM\n"
		"service \"imap\"); started as another user it serves that user's mail\n"
		"pre-authenticated (for ssh tunnels).\n"
		"\n"
		"  --config FILE  configuration file (default " CONFIG_FILE ")\n"
		"  --tls          start TLS at once (implicit TLS, as on port 993 \"imaps\",\n"
		"                 which needs no option)\n"
		"  --check        report what is wrong with the setup (configuration,\n"
		"                 certificate, PAM, spool) with the fix for each; exit 1\n"
		"                 when something would break logins\n"
		"  --version      print the version and exit\n"
		"  --help         this text\n");
}

/* Say goodbye and end the process; the mailbox is saved first, so changes
 * that could not be are logged and, while the client listens, told. */
void imap_exit(struct client *c, const char *bye, int code)
{
	struct mail_err err;

	if (c->box && mail_close(c->box, 0, &err) < 0)
		imap_report_lost(c, &err);
	c->box = NULL;
	if (bye)
		io_printf(&c->io, "* BYE %s\r\n", bye);
	io_flush(&c->io);
	auth_logout(&c->user);
	exit(code);
}

/* fatal's goodbye: whatever half-built response is buffered is dropped
 * (the client could not parse it), then one BYE, written straight to the
 * transport because the buffer may be what failed. */
static void fatal_bye(const char *msg, void *ctx)
{
	static const char bye[] = "* BYE Internal server error; the session ends (details in "
				  "the mail log)\r\n";
	struct client *c = ctx;

	(void)msg;   /* already in syslog; the client needs no internals */
	c->io.wbuf.len = 0;
	if (!c->io.failed)
		(void)c->io.tr->write(c->io.trctx, bye, sizeof bye - 1);
}

/* Largest literal taken before login: room for LOGIN's or AUTHENTICATE's
 * strings, too little for a stranger to make the server buffer much. */
#define PRELOGIN_LITERAL_MAX 8192

/* The command named at the start of the text (after the tag, and after a
 * UID prefix) if it may run in the current state; NULL otherwise. */
static const struct imap_command *command_allowed(const struct client *c, const char *s,
						  size_t len)
{
	const struct imap_command *ic;
	char name[24];   /* longer than any command name: a cut name matches none */
	const char *end = s + len, *w = memchr(s, ' ', len);
	int uid = 0;

	for (int word = 0; w && word < 2; word++) {
		size_t n = 0;
		for (w++; w < end && *w != ' ' && n + 1 < sizeof name; w++)
			name[n++] = (char)toupper((unsigned char)*w);
		name[n] = '\0';
		if (word == 0 && !strcmp(name, "UID")) {
			uid = 1;
			continue;
		}
		ic = command_find(name);
		if (!ic || !(ic->states & c->state) || (uid && !(ic->flags & CMD_UID)))
			return NULL;
		return ic;
	}
	return NULL;
}

/* RFC 7888 LITERAL-: the largest non-synchronising literal taken. */
#define LITERAL_MINUS_MAX 4096

/* What a literal announced now may hold, decided before any of its bytes
 * are accepted: by the command and the session's state. */
struct literal_rule {
	const struct imap_command *ic;   /* NULL: unknown or not valid now */
	size_t limit;                     /* this literal */
	size_t total;                     /* the whole command with its literals */
	int minus;                        /* limit is LITERAL-'s: BAD, not NO */
};

/* The largest APPEND taken whole (its literals are held in memory until it
 * runs): two messages at max_message, or many smaller ones (MULTIAPPEND). */
static size_t append_total(const struct client *c)
{
	return c->cfg.max_message * 2 + c->cfg.max_line * 4;
}

/* The rule for a literal announced at the end of cmdbuf. */
static struct literal_rule literal_rule(const struct client *c, const struct buf *cmdbuf,
					int nonsync)
{
	struct literal_rule r;

	r.ic = command_allowed(c, cmdbuf->data, cmdbuf->len);
	if (c->state == ST_NOTAUTH || !r.ic) {
		/* a non-synchronising literal of a bad command is on its way:
		 * take a small one so the BAD keeps the session in step */
		size_t small = c->cfg.max_literal < PRELOGIN_LITERAL_MAX ? c->cfg.max_literal :
									   PRELOGIN_LITERAL_MAX;
		r.limit = r.ic || nonsync ? small : 0;
		r.total = small * 4 + c->cfg.max_line;
	} else if (r.ic->flags & CMD_MESSAGES) {
		r.limit = c->cfg.max_message;
		r.total = append_total(c);
	} else {
		r.limit = c->cfg.max_literal;
		r.total = c->cfg.max_literal * 4 + c->cfg.max_line;
	}
	r.minus = nonsync && c->cfg.literal_minus && r.limit > LITERAL_MINUS_MAX;
	if (r.minus)
		r.limit = LITERAL_MINUS_MAX;
	return r;
}

/* The line could not be read: the client left, went quiet or ran out of time. */
static void __attribute__((noreturn)) read_failed(struct client *c, enum io_status st)
{
	if (st != IO_TIMEOUT)
		imap_exit(c, NULL, 0);
	log_info("Autologout user=%s host=%s", c->user.name ? c->user.name : "-",
		 c->conn.peer_host);
	imap_exit(c, "Autologout; idle for too long", 0);
}

/* Read and drop n octets of a refused literal, then the rest of its
 * command: lines, and the non-synchronising literals they announce (a
 * synchronising one will not come: the client waits for a "+" and gets the
 * tagged answer). -1 when more than budget octets would have to go. */
static int literal_drain(struct client *c, uint64_t n, uint64_t budget)
{
	struct buf junk;
	int nonsync = 1, rc = 0;

	buf_init(&junk);
	while (nonsync) {
		enum io_status st = IO_OK;
		if (n > budget) {
			rc = -1;
			break;
		}
		budget -= n;
		io_extend_deadline(&c->io, (unsigned)(n / 1024));
		for (size_t chunk; n && st == IO_OK; n -= chunk) {
			chunk = n < 65536 ? (size_t)n : 65536;
			buf_reset(&junk);
			st = io_read_exact(&c->io, &junk, chunk);
		}
		buf_reset(&junk);
		if (st == IO_OK)
			st = io_readline(&c->io, &junk, c->cfg.max_line);
		if (st == IO_EOF || st == IO_ERROR || st == IO_TIMEOUT)
			read_failed(c, st);
		if (st != IO_OK || !p_literal_at_end(junk.data, junk.len, &n, &nonsync))
			break;
	}
	buf_free(&junk);
	return rc;
}

/* Answer a literal we will not take. A non-synchronising one is already on
 * its way: after login it is read and dropped with the rest of its command
 * (up to the largest command taken at all); otherwise the session ends. */
static void literal_refuse(struct client *c, const struct buf *cmdbuf, uint64_t n,
			   const struct literal_rule *r, int nonsync)
{
	const char *sp = memchr(cmdbuf->data, ' ', cmdbuf->len);
	int taglen = sp ? (int)(sp - cmdbuf->data) : 0;
	int append = r->ic && (r->ic->flags & CMD_MESSAGES);
	const char *before = c->state == ST_NOTAUTH ? " before login" : "";

	log_notice("Literal of %llu bytes refused (limit %zu%s) host=%s", (unsigned long long)n,
		   n > r->limit ? r->limit : r->total, before, c->conn.peer_host);
	if (nonsync && (c->state == ST_NOTAUTH || literal_drain(c, n, append_total(c)) < 0))
		imap_exit(c, "[TOOBIG] Literal too large", 0);
	if (!taglen)
		io_printf(&c->io, "* BAD Literal refused\r\n");
	else if (!r->ic)
		io_printf(&c->io, "%.*s BAD Unknown command, or not valid %s; literal refused\r\n",
			  taglen, cmdbuf->data, c->state == ST_NOTAUTH ? "before login" : "now");
	else if (n > r->limit && r->minus)
		io_printf(&c->io, "%.*s BAD [TOOBIG] Non-synchronizing literals hold at most %d "
			  "bytes (LITERAL-); send it synchronizing%s\r\n", taglen, cmdbuf->data,
			  LITERAL_MINUS_MAX, append ? "; nothing appended" : "");
	else if (n > r->limit && (r->ic->flags & CMD_META))   /* RFC 5464 4.3 */
		io_printf(&c->io, "%.*s NO [METADATA MAXSIZE %zu] Value too large\r\n", taglen,
			  cmdbuf->data, imap_meta_maxsize(c));
	else if (n > r->limit)
		io_printf(&c->io, "%.*s NO [TOOBIG] %s too large (the limit is %zu bytes%s)\r\n",
			  taglen, cmdbuf->data, append ? "Message" : "Literal", r->limit, before);
	else
		io_printf(&c->io, "%.*s NO [TOOBIG] Command too large (its literals may hold %zu "
			  "bytes together%s)%s\r\n", taglen, cmdbuf->data, r->total, before,
			  append ? "; nothing appended" : "");
}

/* Before login one deadline covers the whole phase from the greeting; after
 * it each command gets timeout_idle, however slowly its bytes come. */
static void command_deadline(struct client *c)
{
	if (c->state != ST_NOTAUTH)
		io_set_deadline(&c->io, c->cfg.timeout_idle);
	else if (!c->io.deadline_ms)
		io_set_deadline(&c->io, c->cfg.timeout_login);
}


/* BYE for a line over max_line, which cannot be framed (see imapd.h). */
void imap_line_too_long(struct client *c)
{
	char bye[96];

	log_notice("Command line too long user=%s host=%s", c->user.name ? c->user.name : "-",
		   c->conn.peer_host);
	snprintf(bye, sizeof bye, "Command line too long (the limit is %zu bytes)",
		 c->cfg.max_line);
	imap_exit(c, bye, 0);
}

/* Read one whole command, literals inline. Returns 1 with a command in cmdbuf,
 * 0 when the line was refused (already answered), or exits on EOF/timeout.
 * A literal is taken only once the command and the state allow its size. */
static int read_command(struct client *c, struct buf *cmdbuf)
{
	buf_reset(cmdbuf);
	command_deadline(c);
	/* cmd_notify.c: news while no command runs */
	imap_notify_wait(c);
	for (;;) {
		size_t seg = cmdbuf->len;
		enum io_status st = io_readline(&c->io, cmdbuf, c->cfg.max_line);
		struct literal_rule rule;
		uint64_t n;
		int nonsync;

		if (st == IO_EOF || st == IO_ERROR || st == IO_TIMEOUT)
			read_failed(c, st);
		if (st == IO_TOOLONG)
			imap_line_too_long(c);
		if (!p_literal_at_end(cmdbuf->data + seg, cmdbuf->len - seg, &n, &nonsync))
			return 1;
		rule = literal_rule(c, cmdbuf, nonsync);
		if (n > rule.limit || cmdbuf->len + n > rule.total) {
			literal_refuse(c, cmdbuf, n, &rule, nonsync);
			return 0;
		}
		if (!nonsync) {
			io_puts(&c->io, "+ Ready for literal data\r\n");
			io_flush(&c->io);
		}
		if (c->state != ST_NOTAUTH)   /* at least 1 KiB/s for a large message */
			io_extend_deadline(&c->io, (unsigned)(n / 1024));
		buf_append(cmdbuf, "\r\n", 2);
		st = io_read_exact(&c->io, cmdbuf, (size_t)n);
		if (st != IO_OK)
			read_failed(c, st);
	}
}

static void dispatch(struct client *c, const char *line, size_t len)
{
	struct cmd cmd;
	const struct imap_command *ic;
	char *name;

	memset(&cmd, 0, sizeof cmd);
	cmd.c = c;
	p_init(&cmd.p, line, len, c->pool);
	cmd.p.saved = &c->searchres;
	cmd.p.utf8 = (c->enabled & CLIENT_EN_UTF8) != 0;
	cmd.p.uidonly = (c->enabled & CLIENT_EN_UIDONLY) != 0;
	cmd.p.rev2 = (c->enabled & CLIENT_EN_REV2) != 0;
	const char *s = line;
	while (s < line + len && p_is_tag_char((unsigned char)*s))
		s++;
	if (s == line || (s < line + len && *s != ' ')) {
		io_puts(&c->io, len ? "* BAD Invalid tag\r\n" : "* BAD Empty command line\r\n");
		return;
	}
	cmd.tag = pool_strndup(c->pool, line, (size_t)(s - line));
	cmd.name = "command";
	cmd.p.p = s < line + len ? s + 1 : s;
	/* a tag alone still gets a tagged answer: the client can match it */
	if (s == line + len || p_atom(&cmd.p, &name) < 0) {
		resp_bad(&cmd, "Missing command");
		return;
	}
	for (char *q = name; *q; q++)
		*q = (char)toupper((unsigned char)*q);
	if (!strcmp(name, "UID")) {
		cmd.uid = 1;
		if (p_sp(&cmd.p) < 0 || p_atom(&cmd.p, &name) < 0) {
			resp_bad(&cmd, "UID needs a command");
			return;
		}
		for (char *q = name; *q; q++)
			*q = (char)toupper((unsigned char)*q);
	}
	cmd.name = name;
	ic = command_find(name);
	if (!ic || (cmd.uid && !(ic->flags & CMD_UID))) {
		resp_bad(&cmd, "Unknown command %s%s", cmd.uid ? "UID " : "", name);
		return;
	}
	if (!(ic->states & c->state)) {
		resp_bad(&cmd, "%s%s is not valid %s", cmd.uid ? "UID " : "", name,
			 c->state == ST_NOTAUTH ? "before login" :
			 ic->states == ST_NOTAUTH ? "after login" :
			 c->state == ST_AUTH ? "without a selected mailbox" : "now");
		return;
	}
	cmd.flags = ic->flags;
	if (cmd.uid)
		cmd.flags &= ~(unsigned)CMD_NO_EXPUNGE;   /* UID forms may report expunges */
	cmd.args = cmd.p.p;
	if (imap_uidonly_refuse(&cmd))
		return;
	ic->fn(&cmd);
	if (!cmd.answered)
		resp_no(&cmd, NULL, "%s failed", name);   /* a command forgot to answer */
}

/* Read the configuration or end the session. Before implicit TLS nothing
 * may be written in clear, so the goodbye is only for plaintext ports. */
static void load_config(struct client *c, const char *path, int explicit_path, int say_bye)
{
	struct buf errors;

	buf_init(&errors);
	if (daemon_config_load(&c->cfg, path, explicit_path, &errors) < 0) {
		if (say_bye) {
			/* one response line: the problems joined, no CR or LF inside */
			while (errors.len && errors.data[errors.len - 1] == '\n')
				errors.data[--errors.len] = '\0';
			for (size_t i = 0; i < errors.len; i++)
				if (errors.data[i] == '\n' || errors.data[i] == '\r')
					errors.data[i] = ';';
			io_printf(&c->io, "* BYE Server configuration problem (details in the "
					  "mail log): %s\r\n", errors.data);
		}
		imap_exit(c, NULL, 1);
	}
	buf_free(&errors);
}

/* --check: the configuration, then the setup (PAM, spool, services, TLS). */
static int run_check(const char *path, int explicit_path)
{
	static const char *const services[] = {"imap", "imaps", NULL};
	const struct daemon_check_spec spec = {"imapd", "imap", "imapd", services};
	struct config cfg;
	struct buf errors, report;
	int problems = 0;

	buf_init(&errors);
	buf_init(&report);
	config_defaults(&cfg);
	if (config_load(&cfg, path, explicit_path, &errors) < 0) {
		for (char *line = errors.data, *nl; line && *line; line = nl + 1) {
			if (!(nl = strchr(line, '\n')))
				break;
			*nl = '\0';
			buf_printf(&report, "problem: configuration: %s\n", line);
			problems++;
		}
	} else if (access(path, F_OK) < 0) {
		buf_printf(&report, "note: no configuration file %s: built-in defaults apply\n",
			   path);
	} else {
		buf_printf(&report, "ok: configuration %s\n", path);
	}
	problems += daemon_check(&cfg, &spec, &report);
	fputs(report.data ? report.data : "", stdout);
	if (problems)
		printf("imapd --check: %d problem%s found; logins may fail until %s fixed\n",
		       problems, problems == 1 ? "" : "s", problems == 1 ? "it is" : "they are");
	else
		printf("imapd --check: no problems found\n");
	buf_free(&errors);
	buf_free(&report);
	config_free(&cfg);
	return problems ? 1 : 0;
}

/* Implicit TLS: the handshake comes before the greeting. On failure the
 * client gets nothing more (a plaintext BYE would only be garbage to it). */
static void start_implicit_tls(struct client *c)
{
	struct mail_err err;

	if (tls_start(&c->io, &c->cfg, "imapd", &c->conn, &err) < 0) {
		if (c->io.failed)
			log_notice("TLS failed host=%s [%s]: %s", c->conn.peer_host,
				   daemon_peer_addr(&c->conn), err.text);
		else
			log_err("TLS refused host=%s [%s]: %s", c->conn.peer_host,
				daemon_peer_addr(&c->conn), err.text);
		imap_exit(c, NULL, 1);
	}
	c->tls_active = 1;
}

/* The command being executed (its tag goes into the handoff record). */
static struct buf cmdbuf;

/* C, after P accepted the login: tell S the tag and the command's name
 * (for its tagged OK) and whether TLS is on, then pump bytes for S. Returns
 * when S ended by UNAUTHENTICATE: C is the pre-login process again. */
static void handoff(void *ctx)
{
	struct client *c = ctx;
	const char *line = cmdbuf.data ? cmdbuf.data : "";
	size_t taglen = strcspn(line, " ");
	const char *what = line[taglen] ? line + taglen + 1 : "";
	struct buf rec;

	buf_init(&rec);
	buf_printf(&rec, "%d %.*s %s", c->tls_active, (int)taglen, line,
		   !strncasecmp(what, "AUTHENTICATE", 12) ? "AUTHENTICATE" : "LOGIN");
	explicit_bzero(cmdbuf.data, cmdbuf.len);   /* LOGIN's password */
	privsep_handoff(&c->io, rec.data, rec.len, c->cfg.timeout_idle);
}

/* S: answer the login command C received, as the user, on the data channel. */
static void session_resume(struct client *c)
{
	struct buf rec, caps;
	char tag[PRIVSEP_HANDOFF_MAX], what[16];
	int tls = 0, n = 0;

	io_init(&c->io, privsep_session_fd(), privsep_session_fd());
	c->io.timeout = c->cfg.timeout_login;
	buf_init(&rec);
	if (privsep_handoff_read(&c->io, &rec) < 0 || !rec.data ||
	    sscanf(rec.data, "%d %4095s %15s%n", &tls, tag, what, &n) != 3 || (size_t)n != rec.len) {
		log_err("session host=%s: no valid handoff from the pre-login process",
			c->conn.peer_host);
		imap_exit(c, NULL, 1);
	}
	buf_free(&rec);
	c->tls_active = tls != 0;
	c->plaintext_ok = 1;
	if (daemon_login(&c->cfg, &c->conn, "imap", "", NULL, (char[]){""}, &c->user,
			 &c->login_failures) != DLOGIN_OK) {
		imap_exit(c, "Server error: cannot switch to the user (details in the mail log)", 1);
	}
	mail_session_setup(&c->sess, c->user.name, c->user.home, &c->cfg);
	mail_special_create(&c->sess);
	c->state = ST_AUTH;
	c->io.timeout = c->cfg.timeout_idle;
	buf_init(&caps);
	imap_capabilities(c, &caps);
	io_printf(&c->io, "%s OK [CAPABILITY %s] %s completed\r\n", tag, caps.data, what);
	buf_free(&caps);
}

/* Root: split into P, C and S (privsep.h). Returns in C and S; S has
 * answered the login. Without root (PREAUTH) nothing happens. */
static void privsep_setup(struct client *c, int say_bye)
{
	if (getuid() != 0)
		return;
	if (tls_available())
		tls_preload(&c->cfg, "imapd", &c->conn);
	privsep_set_url_worker(imap_url_worker);
	switch (privsep_start(&c->cfg, &c->conn, "imap")) {
	case PRIVSEP_REFUSED:
		imap_exit(c, say_bye ? "Server configuration problem (details in the mail log)" : NULL,
			  1);
	case PRIVSEP_SESSION:
		session_resume(c);
		break;
	default:
		daemon_set_handoff(handoff, c);
		break;
	}
}

/* Implicit TLS if asked, then the greeting: PREAUTH when started by a user,
 * else OK and the wait for a login. */
static void greet(struct client *c, int want_tls)
{
	struct buf caps;

	if (want_tls)
		start_implicit_tls(c);
	/* over TLS a password is as safe as the certificate makes it */
	c->plaintext_ok = c->cfg.allow_plaintext || c->tls_active;
	buf_init(&caps);
	if (privsep_role() == PRIVSEP_OFF && getuid() != 0) {
		struct mail_err err;
		if (auth_self(&c->user, &err) < 0) {
			log_err("PREAUTH failed: %s", err.text);
			imap_exit(c, "Cannot identify the local user", 1);
		}
		mail_session_setup(&c->sess, c->user.name, c->user.home, &c->cfg);
		mail_special_create(&c->sess);
		c->state = ST_AUTH;
		c->io.timeout = c->cfg.timeout_idle;
		imap_capabilities(c, &caps);
		io_printf(&c->io, "* PREAUTH [CAPABILITY %s] IMAP4rev1 server ready, logged in as %s\r\n",
			  caps.data, c->user.name);
	} else {
		c->state = ST_NOTAUTH;
		imap_capabilities(c, &caps);
		io_printf(&c->io, "* OK [CAPABILITY %s] IMAP4rev1 server ready\r\n", caps.data);
	}
	buf_free(&caps);
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{"config", required_argument, NULL, 'c'},
		{"tls", no_argument, NULL, 't'},
		{"check", no_argument, NULL, 'k'},
		{"version", no_argument, NULL, 'V'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	const char *config_path = CONFIG_FILE;
	int explicit_config = 0, o, want_tls = 0, check = 0;
	static struct client client;
	struct client *c = &client;

	/* Big buffers (a message's text, a mailbox's parse) come from mmap
	 * and go back when freed. Left alone, glibc raises the threshold after
	 * the first such free and keeps later ones in the heap, resident for
	 * the rest of the session. */
	mallopt(M_MMAP_THRESHOLD, 128 * 1024);
	while ((o = getopt_long(argc, argv, "c:tVh", opts, NULL)) != -1) {
		switch (o) {
		case 'c':
			config_path = optarg;
			explicit_config = 1;
			break;
		case 't':
			want_tls = 1;
			break;
		case 'k':
			check = 1;
			break;
		case 'V':
			printf("imapd %s\n", VERSION);
			return 0;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind < argc) {
		usage(stderr);
		return 2;
	}
	if (check)
		return run_check(config_path, explicit_config);
	signal(SIGPIPE, SIG_IGN);
	log_open("imapd");
	io_init(&c->io, 0, 1);
	fatal_set_handler(fatal_bye, c);
	server_conn_init(&c->conn, 0);
	want_tls |= !strcmp(c->conn.service, "imaps");
	load_config(c, config_path, explicit_config, !want_tls);
	c->pool = pool_new();
	c->io.timeout = c->cfg.timeout_login;
	buf_init(&cmdbuf);
	privsep_setup(c, !want_tls);
	if (privsep_role() != PRIVSEP_SESSION)
		greet(c, want_tls);
	io_flush(&c->io);

	while (c->state != ST_LOGOUT) {
		if (read_command(c, &cmdbuf)) {
			privsep_test_hook(cmdbuf.data, cmdbuf.len);
			dispatch(c, cmdbuf.data, cmdbuf.len);
		}
		pool_clear(c->pool);
		/* a large APPEND's buffer is not kept for the rest of the session */
		if (cmdbuf.cap > 4 * c->cfg.max_line + c->cfg.max_literal * 4)
			buf_free(&cmdbuf);
		if (io_flush(&c->io) < 0)
			imap_exit(c, NULL, 0);
	}
	imap_exit(c, NULL, 0);
}
