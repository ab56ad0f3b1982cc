/* ipop3d.c: the POP3 server's entry point (RFC 1939, RFC 2449 CAPA, RFC
 * 2595 STLS, RFC 5034 AUTH). Like imapd it runs from inetd, xinetd or
 * systemd with the connection on stdin/stdout; the mail semantics live in
 * c-client and pop_session.c, this file only reads and dispatches lines. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "pop3.h"
#include "privsep.h"
#include "tls.h"

static const char usage[] =
	"A POP3 server for inetd, xinetd or systemd socket activation: the connection\n"
	"is stdin/stdout. Started as root it asks for a login (PAM service \"pop\",\n"
	"or the configuration's pam_service) and serves the user's INBOX; started\n"
	"as another user it serves that user's INBOX at once, without USER/PASS\n"
	"(for ssh tunnels; fetchmail: \"auth ssh\"). While a session lasts, the\n"
	"maildrop is locked against other POP sessions by an flock on ~/.pop.lock;\n"
	"mail delivery and IMAP are unaffected. TLS starts at once on the pop3s\n"
	"port or with --tls, otherwise on STLS.\n";

static void __attribute__((noreturn)) end_session(struct pop3 *s)
{
	free(s->user);
	s->user = NULL;
	pop_exit(&s->p, 0);
}

/* Read a line; leave only on a complete one. Timeouts and a vanished
 * client end the session without the UPDATE state (RFC 1939 3). */
static enum io_status read_line(struct pop3 *s, struct buf *line)
{
	enum io_status st = pop_read_line(&s->p, line);

	if (st == IO_TIMEOUT) {
		log_info("Autologout user=%s host=%s", s->p.logged_in ? s->p.user.name : "-",
			 s->p.conn.peer_host);
		end_session(s);
	}
	if (st == IO_EOF || st == IO_ERROR)
		end_session(s);
	return st;
}

void pop3_read_line(struct pop3 *s, struct buf *line)
{
	io_flush(&s->p.io);
	while (read_line(s, line) == IO_TOOLONG)
		pop3_err(s, "Line too long (the limit is %zu bytes)", s->p.cfg.max_line);
}

static void dispatch(struct pop3 *s, char *line, size_t len)
{
	size_t klen = strcspn(line, " ");
	const struct pop3_command *c;

	if (memchr(line, '\0', len))
		return pop3_err(s, "NUL in command line");
	if (!len)
		return pop3_err(s, "Empty command line");
	c = pop3_command_find(line, klen);
	if (!c)
		return pop3_err(s, "Unknown command \"%.*s\"", klen > 8 ? 8 : (int)klen, line);
	if (!(c->states & s->state))
		return pop3_err(s, "%s is not valid %s", c->name,
				s->state == P3_AUTH ? "before login" : "after login");
	c->fn(s, klen < len ? line + klen + 1 : NULL);
}

/* Started by a user rather than root: that user's maildrop, at once. */
static void preauth(struct pop3 *s)
{
	struct mail_err err;
	uint32_t count;
	uint64_t octets;

	switch (pop_login_self(&s->p, &err)) {
	case POP_LOGIN_OK:
		s->state = P3_TRANS;
		pop_stat(&s->p, &count, &octets);
		pop3_ok(s, "POP3 server ready, logged in as %s, %u message%s (%llu octets)",
			s->p.user.name, count, count == 1 ? "" : "s", (unsigned long long)octets);
		return;
	case POP_LOGIN_INUSE:
		pop3_err(s, "[IN-USE] The maildrop is in use by another POP session");
		break;
	default:
		pop3_err(s, "[SYS/TEMP] Cannot open the maildrop: %s", err.text);
		break;
	}
	end_session(s);
}

/* The command line being executed (it may hold a password). */
static struct buf line;

/* C, after P accepted the login: S needs only to know whether TLS is on
 * (it answers the login itself); then pump bytes for S. */
static void handoff(void *ctx)
{
	struct pop3 *s = ctx;
	unsigned idle = s->p.cfg.timeout_idle > POP_MIN_IDLE ? s->p.cfg.timeout_idle : POP_MIN_IDLE;
	char rec[8];

	snprintf(rec, sizeof rec, "%d", tls_active(&s->p.io));
	if (line.data)
		explicit_bzero(line.data, line.len);   /* the login's password */
	privsep_handoff(&s->p.io, rec, strlen(rec), idle);
}

/* S: answer the PASS or AUTH that C received, as the user. */
static void session_resume(struct pop3 *s)
{
	struct buf rec;

	io_init(&s->p.io, privsep_session_fd(), privsep_session_fd());
	s->p.io.timeout = s->p.cfg.timeout_login;
	buf_init(&rec);
	if (privsep_handoff_read(&s->p.io, &rec) < 0 || rec.len != 1 ||
	    (rec.data[0] != '0' && rec.data[0] != '1')) {
		log_err("session host=%s: no valid handoff from the pre-login process",
			s->p.conn.peer_host);
		exit(1);
	}
	buf_free(&rec);
	s->p.plaintext_ok = 1;
	s->state = P3_AUTH;
	pop3_login(s, "", NULL, (char[]){""});
}

/* Root: split into P, C and S (privsep.h). Returns in C and S; S has
 * answered the login. Without root (PREAUTH) nothing happens. */
static void privsep_setup(struct pop3 *s, int implicit_tls)
{
	switch (pop_privsep(&s->p, 1, implicit_tls, "-ERR")) {
	case PRIVSEP_SESSION:
		session_resume(s);
		break;
	case PRIVSEP_PRELOGIN:
		daemon_set_handoff(handoff, s);
		break;
	}
}

int main(int argc, char **argv)
{
	static const char *const services[] = {"pop3", "pop3s", NULL};
	static struct pop3 session;
	struct pop3 *s = &session;
	struct pop_args a;

	pop_parse_args(argc, argv, "ipop3d", usage, &a);
	pop_init(&s->p, "ipop3d", &a, "-ERR");
	if (a.check)
		pop_check(&s->p, services);
	int implicit_tls = a.tls || !strcmp(s->p.conn.service, "pop3s");
	privsep_setup(s, implicit_tls);
	if (privsep_role() != PRIVSEP_SESSION) {
		/* implicit TLS: nothing can be said in the clear on that port */
		if (implicit_tls && pop_tls(&s->p) < 0)
			end_session(s);
		s->state = P3_AUTH;
		if (privsep_role() == PRIVSEP_OFF && getuid() != 0)
			preauth(s);
		else
			pop3_ok(s, "POP3 server ready");   /* no APOP timestamp: no secrets */
	}
	io_flush(&s->p.io);
	buf_init(&line);
	for (;;) {
		if (read_line(s, &line) == IO_TOOLONG) {
			pop3_err(s, "Command line too long (the limit is %zu bytes)",
				 s->p.cfg.max_line);
		} else {
			privsep_test_hook(line.data ? line.data : "", line.len);
			dispatch(s, line.data ? line.data : "", line.len);
		}
		/* PIPELINING: answer a batch of commands with one write */
		if (s->p.io.rpos >= s->p.io.rlen && io_flush(&s->p.io) < 0)
			end_session(s);
		if (line.data)
			memset(line.data, 0, line.len);   /* PASS lines */
	}
}
