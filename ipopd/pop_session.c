/* pop_session.c: the parts of a POP session that POP2 and POP3 share:
 * start-up (arguments, configuration, --check), login, the maildrop lock,
 * the message list fixed at login, and the two ways a session ends. */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "daemon.h"
#include "log.h"
#include "maildrop.h"
#include "pop.h"
#include "privsep.h"
#include "tls.h"

#ifndef CONFIG_FILE
#define CONFIG_FILE "/etc/imapd.conf"
#endif

/* Both daemons present the certificate of the POP3 service. */
#define POP_TLS_SERVICE "ipop3d"

void pop_parse_args(int argc, char **argv, const char *daemon, const char *usage,
		    struct pop_args *a)
{
	static const struct option opts[] = {
		{"config", required_argument, NULL, 'c'}, {"tls", no_argument, NULL, 't'},
		{"check", no_argument, NULL, 'C'},        {"version", no_argument, NULL, 'V'},
		{"help", no_argument, NULL, 'h'},         {NULL, 0, NULL, 0},
	};
	int o;

	memset(a, 0, sizeof *a);
	a->config_path = CONFIG_FILE;
	while ((o = getopt_long(argc, argv, "c:tCVh", opts, NULL)) != -1) {
		switch (o) {
		case 'c':
			a->config_path = optarg;
			a->explicit_config = 1;
			break;
		case 't':
			a->tls = 1;
			break;
		case 'C':
			a->check = 1;
			break;
		case 'V':
			printf("%s %s\n", daemon, VERSION);
			exit(0);
		case 'h':
		default:
			fprintf(o == 'h' ? stdout : stderr,
				"usage: %s [--config FILE] [--tls]\n"
				"       %s [--config FILE] --check\n"
				"       %s --version | --help\n\n%s"
				"\n"
				"  --config FILE  configuration file (default " CONFIG_FILE ")\n"
				"  --tls          start TLS at once (implicit TLS on any port)\n"
				"  --check        report on the setup (PAM, spool, certificate)\n"
				"  --version      print the version and exit\n"
				"  --help         this text\n",
				daemon, daemon, daemon, usage);
			exit(o == 'h' ? 0 : 2);
		}
	}
	if (optind < argc) {
		fprintf(stderr, "%s: unexpected argument \"%s\" (see --help)\n", daemon, argv[optind]);
		exit(2);
	}
}

int pop_privsep(struct pop *p, int certs, int implicit_tls, const char *bye_prefix)
{
	if (getuid() != 0)
		return PRIVSEP_OFF;
	if (certs && tls_available())
		tls_preload(&p->cfg, "ipop3d", &p->conn);
	enum privsep_role r = privsep_start(&p->cfg, &p->conn, "pop");
	if (r == PRIVSEP_REFUSED) {
		if (!implicit_tls) {
			io_printf(&p->io, "%s Server configuration problem (details in the mail "
					  "log)\r\n", bye_prefix);
			io_flush(&p->io);
		}
		exit(1);
	}
	return r;
}

void pop_init(struct pop *p, const char *daemon, const struct pop_args *a, const char *bye_prefix)
{
	struct buf errors;

	memset(p, 0, sizeof *p);
	p->daemon = daemon;
	p->lockfd = -1;
	signal(SIGPIPE, SIG_IGN);
	log_open(daemon);
	io_init(&p->io, 0, 1);
	buf_init(&errors);
	if (daemon_config_load(&p->cfg, a->config_path, a->explicit_config, &errors) < 0) {
		if (a->check) {
			printf("problem: configuration:\n%s", errors.data);
			exit(1);
		}
		/* the first problem, on one line; all of them are in the log */
		size_t n = strcspn(errors.data, "\n");
		io_printf(&p->io, "%s Server configuration problem (details in the mail log): %.*s\r\n",
			  bye_prefix, (int)n, errors.data);
		io_flush(&p->io);
		exit(1);
	}
	buf_free(&errors);
	server_conn_init(&p->conn, 0);
	p->plaintext_ok = p->cfg.allow_plaintext;
	p->io.timeout = p->cfg.timeout_login;
}

enum io_status pop_read_line(struct pop *p, struct buf *line)
{
	buf_reset(line);
	if (p->logged_in)
		io_set_deadline(&p->io, p->io.timeout);
	else if (!p->io.deadline_ms)
		io_set_deadline(&p->io, p->cfg.timeout_login);
	enum io_status st = io_readline(&p->io, line, p->cfg.max_line);
	if (st == IO_TOOLONG) {
		enum io_status rest = io_skip_line(&p->io);
		if (rest != IO_OK)
			st = rest;
	}
	return st;
}

void pop_check(struct pop *p, const char *const *services)
{
	struct daemon_check_spec spec = {
		.daemon = p->daemon,
		.pam_default = "pop",
		.tls_service = POP_TLS_SERVICE,
		.services = services,
	};
	struct buf report;

	buf_init(&report);
	int problems = daemon_check(&p->cfg, &spec, &report);
	fputs(report.data ? report.data : "", stdout);
	printf("%s: %d problem%s\n", p->daemon, problems, problems == 1 ? "" : "s");
	exit(problems ? 1 : 0);
}

int pop_tls(struct pop *p)
{
	struct mail_err err;

	if (tls_start(&p->io, &p->cfg, POP_TLS_SERVICE, &p->conn, &err) == 0) {
		p->plaintext_ok = 1;
		return 0;
	}
	if (p->io.failed) {
		/* mid-handshake: the stream is unusable */
		log_notice("TLS failed host=%s [%s]: %s", p->conn.peer_host,
			   daemon_peer_addr(&p->conn), err.text);
		pop_exit(p, 0);
	}
	log_err("TLS refused host=%s [%s]: %s", p->conn.peer_host, daemon_peer_addr(&p->conn),
		err.text);
	return -1;
}

/* ---------------------------------------------------------------------- */
/* Login and the maildrop                                                  */

static void box_notice(void *ctx, const char *text)
{
	struct pop *p = ctx;

	str_copy(p->notice, text, sizeof p->notice);
	log_notice("user=%s host=%s: %s", p->user.name, p->conn.peer_host, text);
}

static const struct mail_events pop_events = {.notice = box_notice};

static enum pop_login_result open_maildrop(struct pop *p, struct mail_err *err)
{
	mail_session_setup(&p->sess, p->user.name, p->user.home, &p->cfg);
	p->logged_in = 1;
	p->io.timeout = p->cfg.timeout_idle > POP_MIN_IDLE ? p->cfg.timeout_idle : POP_MIN_IDLE;
	p->lockfd = maildrop_lock(&p->sess, err);
	if (p->lockfd < 0) {
		log_notice("Maildrop %s user=%s host=%s: %s",
			   err->code == MAIL_INUSE ? "busy" : "unavailable", p->user.name,
			   p->conn.peer_host, err->text);
		return err->code == MAIL_INUSE ? POP_LOGIN_INUSE : POP_LOGIN_FAIL;
	}
	if (mail_open(&p->sess, "INBOX", 0, &pop_events, p, &p->box, err) < 0) {
		log_err("Cannot open INBOX user=%s host=%s: %s", p->user.name, p->conn.peer_host,
			err->text);
		return POP_LOGIN_FAIL;
	}
	/* The numbering is fixed now: we never ping during the session, and
	 * every later access goes by UID. */
	p->nmsgs = p->box->nmsgs;
	p->msgs = xcalloc(p->nmsgs + 1, sizeof *p->msgs);
	for (uint32_t i = 0; i < p->nmsgs; i++) {
		p->msgs[i].uid = p->box->msgs[i]->uid;
		p->msgs[i].size = p->box->msgs[i]->size;
	}
	p->uidvalidity = p->box->uidvalidity;
	return POP_LOGIN_OK;
}

enum pop_login_result pop_login(struct pop *p, const char *user, const char *authname,
				char *password, struct mail_err *err)
{
	switch (daemon_login(&p->cfg, &p->conn, "pop", user, authname, password, &p->user,
			     &p->failures)) {
	case DLOGIN_OK:
		return open_maildrop(p, err);
	case DLOGIN_BAD:
		mail_err_set(err, MAIL_NOPERM, "invalid credentials");
		if (p->failures < p->cfg.max_login_failures)
			return POP_LOGIN_BAD;
		daemon_log_too_many_failures(p->failures, &p->conn);
		return POP_LOGIN_TOOMANY;
	case DLOGIN_FATAL:
	default:
		mail_err_set(err, MAIL_FAIL, "cannot switch to the user");
		return POP_LOGIN_FATAL;
	}
}

enum pop_login_result pop_login_self(struct pop *p, struct mail_err *err)
{
	if (auth_self(&p->user, err) < 0) {
		log_err("Cannot identify the local user: %s", err->text);
		return POP_LOGIN_FATAL;
	}
	log_info("Login user=%s host=%s [%s] (started as the user)", p->user.name,
		 p->conn.peer_host, daemon_peer_addr(&p->conn));
	return open_maildrop(p, err);
}

/* ---------------------------------------------------------------------- */
/* Messages                                                                */

int pop_msg_ok(const struct pop *p, uint32_t n)
{
	return n >= 1 && n <= p->nmsgs && !p->msgs[n - 1].deleted;
}

void pop_stat(const struct pop *p, uint32_t *count, uint64_t *octets)
{
	*count = 0;
	*octets = 0;
	for (uint32_t i = 0; i < p->nmsgs; i++) {
		if (p->msgs[i].deleted)
			continue;
		(*count)++;
		*octets += p->msgs[i].size;
	}
}

int pop_msg_text(struct pop *p, uint32_t n, const char **text, size_t *len, struct mail_err *err)
{
	uint32_t msgno = mail_msgno(p->box, p->msgs[n - 1].uid);

	if (!msgno) {
		mail_err_set(err, MAIL_FAIL, "message %u was removed by another session", n);
		return -1;
	}
	return mail_fetch_text(p->box, msgno, text, len, err);
}

void pop_mark_seen(struct pop *p, uint32_t n)
{
	struct mail_err err;
	uint32_t msgno = mail_msgno(p->box, p->msgs[n - 1].uid);

	if (msgno && !p->box->readonly)
		mail_store(p->box, msgno, STORE_ADD, MF_SEEN, 0, &err);
}

/* ---------------------------------------------------------------------- */
/* The end                                                                 */

/* Close the maildrop; a read state (\Seen) that could not be saved is
 * logged, as POP has no way to tell the client. */
static void close_maildrop(struct pop *p)
{
	struct mail_err err;

	if (p->box && mail_close(p->box, 0, &err) < 0)
		log_err("Saving the maildrop failed user=%s host=%s: %s", p->user.name,
			p->conn.peer_host, err.text);
	p->box = NULL;
	maildrop_unlock(p->lockfd);
	p->lockfd = -1;
	free(p->msgs);
	p->msgs = NULL;
	p->nmsgs = 0;
}

int pop_update(struct pop *p, unsigned *removed, struct mail_err *err)
{
	uint32_t *uids = xcalloc(p->nmsgs + 1, sizeof *uids);
	uint32_t *ours = xcalloc(p->nmsgs + 1, sizeof *ours);
	size_t n = 0, nours = 0;
	int rc = 0;

	for (uint32_t i = 0; i < p->nmsgs; i++) {
		uint32_t msgno;
		if (!p->msgs[i].deleted || !(msgno = mail_msgno(p->box, p->msgs[i].uid)))
			continue;   /* kept, or already gone */
		if (!(p->box->msgs[msgno - 1]->flags & MF_DELETED))
			ours[nours++] = p->msgs[i].uid;
		if (mail_store(p->box, msgno, STORE_ADD, MF_DELETED, 0, err) == 0)
			uids[n++] = p->msgs[i].uid;
		else
			rc = -1;   /* read-only maildrop */
	}
	if (rc == 0 && n && mail_expunge(p->box, uids, n, err) < 0)
		rc = -1;
	if (rc < 0) {
		struct mail_err ignored;
		/* leave no \Deleted flag of ours behind for a later expunge */
		for (size_t k = 0; k < nours; k++) {
			uint32_t msgno = mail_msgno(p->box, ours[k]);
			if (msgno)
				mail_store(p->box, msgno, STORE_REMOVE, MF_DELETED, 0, &ignored);
		}
		log_err("Deletions failed user=%s host=%s: %s", p->user.name, p->conn.peer_host,
			err->text);
	}
	*removed = rc ? 0 : (unsigned)n;
	free(uids);
	free(ours);
	close_maildrop(p);
	return rc;
}

void pop_abandon(struct pop *p)
{
	close_maildrop(p);
}

void pop_exit(struct pop *p, int code)
{
	io_flush(&p->io);
	if (p->box || p->lockfd >= 0)
		pop_abandon(p);
	if (p->logged_in)
		daemon_log_logout(p->user.name, &p->conn);
	auth_logout(&p->user);
	exit(code);
}
