/* ipop2d.c: the POP2 server (RFC 937) for the clients that still speak it.
 * Replies are "+" / "-" (status), "#n" (message count) and "=n" (message
 * length). A message is sent as exactly n octets after RETR and the client
 * answers ACKS (keep), ACKD (delete) or NACK (not received). Deletions are
 * applied when the client says QUIT, as in POP3. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "log.h"
#include "pop.h"
#include "privsep.h"
#include "tls.h"

static const char usage[] =
	"A POP2 server (RFC 937) for inetd, xinetd or systemd socket activation: the\n"
	"connection is stdin/stdout. It must be started as root; HELO logs in through\n"
	"PAM (service \"pop\", or the configuration's pam_service) and serves the\n"
	"user's INBOX, locked against other POP sessions (~/.pop.lock) while the\n"
	"session lasts. POP2 sends the password in the clear: unless allow_plaintext\n"
	"is set, run it with --tls (it has no STARTTLS).\n";

/* RFC 937's states: before HELO; a folder open; a message selected by
 * READ; a message sent by RETR and waiting for its acknowledgement. */
enum pop2_state { P2_AUTH, P2_MBOX, P2_ITEM, P2_NEXT };

struct pop2 {
	struct pop p;
	enum pop2_state state;
	uint32_t cur;   /* current message number; 0: none */
};

static void reply(struct pop2 *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void reply(struct pop2 *s, const char *fmt, ...)
{
	char text[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(text, sizeof text, fmt, ap);
	va_end(ap);
	io_printf(&s->p.io, "%s\r\n", text);
}

/* "=n": the length of the current message as it will be sent; 0 when there
 * is none (past the end, or deleted). */
static void reply_length(struct pop2 *s)
{
	struct mail_err err;
	const char *text;
	size_t len = 0;

	/* the text itself, not the cached size: the client counts these octets */
	if (!pop_msg_ok(&s->p, s->cur) || pop_msg_text(&s->p, s->cur, &text, &len, &err) < 0)
		len = 0;
	reply(s, "=%zu", len);
}

static void count_reply(struct pop2 *s)
{
	s->cur = s->p.nmsgs ? 1 : 0;
	s->state = P2_MBOX;
	reply(s, "#%u messages in INBOX", s->p.nmsgs);
}

static void __attribute__((noreturn)) bye(struct pop2 *s)
{
	pop_exit(&s->p, 0);
}

/* Log in (pop_login) and answer as HELO does. */
static void helo_login(struct pop2 *s, const char *user, char *pass)
{
	struct mail_err err;

	switch (pop_login(&s->p, user, NULL, pass, &err)) {
	case POP_LOGIN_OK:
		return count_reply(s);
	case POP_LOGIN_BAD:
		return reply(s, "- Authentication failed");
	case POP_LOGIN_TOOMANY:
		reply(s, "- Authentication failed; too many failures, closing");
		break;
	case POP_LOGIN_INUSE:
		reply(s, "- The maildrop is in use by another POP session");
		break;
	default:
		reply(s, "- Cannot open the maildrop (details in the mail log)");
		break;
	}
	bye(s);
}

static void cmd_helo(struct pop2 *s, char *args)
{
	char *user = args, *pass;

	if (!s->p.plaintext_ok)
		return reply(s, "- Plaintext passwords are refused without TLS");
	pass = user ? strchr(user, ' ') : NULL;
	if (!pass || pass == user || !pass[1])
		return reply(s, "- HELO needs a user name and a password");
	*pass++ = '\0';
	helo_login(s, user, pass);
}

static void cmd_fold(struct pop2 *s, char *args)
{
	if (!args || strcasecmp(args, "INBOX"))
		return reply(s, "- Only INBOX is served");
	count_reply(s);
}

static void cmd_read(struct pop2 *s, char *args)
{
	if (args && *args) {
		size_t n = strlen(args);
		if (n > 9 || strspn(args, "0123456789") != n)
			return reply(s, "- READ takes a message number");
		s->cur = (uint32_t)strtoul(args, NULL, 10);
	}
	s->state = P2_ITEM;
	reply_length(s);
}

static void cmd_retr(struct pop2 *s, char *args)
{
	struct mail_err err;
	const char *text;
	size_t len;

	if (!pop_msg_ok(&s->p, s->cur))
		return reply(s, "- No message selected");
	if (pop_msg_text(&s->p, s->cur, &text, &len, &err) < 0) {
		log_err("Cannot read message user=%s host=%s: %s", s->p.user.name,
			s->p.conn.peer_host, err.text);
		return reply(s, "- Cannot read message %u: %s", s->cur, err.text);
	}
	io_write(&s->p.io, text, len);
	s->state = P2_NEXT;
}

/* ACKS, ACKD, NACK: the client's word on the message just sent. */
static void cmd_ack(struct pop2 *s, int received, int delete)
{
	if (received) {
		pop_mark_seen(&s->p, s->cur);
		if (delete)
			s->p.msgs[s->cur - 1].deleted = 1;
		s->cur++;
	}
	s->state = P2_ITEM;
	reply_length(s);
}

static void cmd_quit(struct pop2 *s)
{
	struct mail_err err;
	unsigned removed;

	if (s->state == P2_AUTH) {
		reply(s, "+ Goodbye");
		bye(s);
	}
	if (pop_update(&s->p, &removed, &err) < 0)
		reply(s, "- Some deleted messages were not removed: %s", err.text);
	else
		reply(s, "+ Goodbye, %u message%s deleted", removed, removed == 1 ? "" : "s");
	bye(s);
}

static void dispatch(struct pop2 *s, char *line, size_t len)
{
	size_t klen = strcspn(line, " ");
	char *args = klen < len ? line + klen + 1 : NULL;
	int next = s->state == P2_NEXT;

	if (memchr(line, '\0', len))
		return reply(s, "- NUL in command line");
	line[klen] = '\0';
	if (!strcasecmp(line, "QUIT"))
		return cmd_quit(s);
	if (s->state == P2_AUTH) {
		if (!strcasecmp(line, "HELO"))
			return cmd_helo(s, args);
		return reply(s, "- Say HELO first");
	}
	if (next) {
		/* after RETR only the acknowledgement makes sense */
		if (!strcasecmp(line, "ACKS"))
			return cmd_ack(s, 1, 0);
		if (!strcasecmp(line, "ACKD"))
			return cmd_ack(s, 1, 1);
		if (!strcasecmp(line, "NACK"))
			return cmd_ack(s, 0, 0);
		return reply(s, "- Acknowledge the message first (ACKS, ACKD or NACK)");
	}
	if (!strcasecmp(line, "FOLD"))
		return cmd_fold(s, args);
	if (!strcasecmp(line, "READ"))
		return cmd_read(s, args);
	if (!strcasecmp(line, "RETR") && s->state == P2_ITEM)
		return cmd_retr(s, args);
	reply(s, "- Unknown or misplaced command");
}

/* The command line being executed (it may hold a password). */
static struct buf line;

/* C, after P accepted the login: S answers the HELO itself; pump for it. */
static void handoff(void *ctx)
{
	struct pop2 *s = ctx;
	unsigned idle = s->p.cfg.timeout_idle > POP_MIN_IDLE ? s->p.cfg.timeout_idle : POP_MIN_IDLE;

	if (line.data)
		explicit_bzero(line.data, line.len);   /* the login's password */
	privsep_handoff(&s->p.io, tls_active(&s->p.io) ? "1" : "0", 1, idle);
}

/* S: answer the HELO that C received, as the user. */
static void session_resume(struct pop2 *s)
{
	struct buf rec;

	io_init(&s->p.io, privsep_session_fd(), privsep_session_fd());
	s->p.io.timeout = s->p.cfg.timeout_login;
	buf_init(&rec);
	if (privsep_handoff_read(&s->p.io, &rec) < 0 || rec.len != 1) {
		log_err("session host=%s: no valid handoff from the pre-login process",
			s->p.conn.peer_host);
		exit(1);
	}
	buf_free(&rec);
	s->p.plaintext_ok = 1;
	helo_login(s, "", (char[]){""});
}

/* Split into P, C and S (privsep.h); returns in C and S. */
static void privsep_setup(struct pop2 *s, int tls)
{
	switch (pop_privsep(&s->p, tls, tls, "-")) {
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
	static const char *const services[] = {"pop2", NULL};
	static struct pop2 session;
	struct pop2 *s = &session;
	struct pop_args a;

	pop_parse_args(argc, argv, "ipop2d", usage, &a);
	pop_init(&s->p, "ipop2d", &a, "-");
	if (a.check)
		pop_check(&s->p, services);
	if (getuid() != 0) {
		/* HELO carries the login; without root we could check no password */
		log_err("ipop2d started as uid %u: it must run as root", (unsigned)getuid());
		io_puts(&s->p.io, "- ipop2d must be started as root (by inetd, xinetd or systemd)\r\n");
		io_flush(&s->p.io);
		return 1;
	}
	privsep_setup(s, a.tls);
	if (privsep_role() != PRIVSEP_SESSION) {
		if (a.tls && pop_tls(&s->p) < 0)
			bye(s);
		reply(s, "+ POP2 server ready");
	}
	io_flush(&s->p.io);
	buf_init(&line);
	for (;;) {
		enum io_status st = pop_read_line(&s->p, &line);
		if (st == IO_TIMEOUT)
			log_info("Autologout user=%s host=%s", s->p.logged_in ? s->p.user.name : "-",
				 s->p.conn.peer_host);
		if (st == IO_TIMEOUT || st == IO_EOF || st == IO_ERROR)
			bye(s);
		if (st == IO_TOOLONG) {
			reply(s, "- Command line too long");
		} else {
			privsep_test_hook(line.data ? line.data : "", line.len);
			dispatch(s, line.data ? line.data : "", line.len);
		}
		if (line.data)
			memset(line.data, 0, line.len);
		if (io_flush(&s->p.io) < 0)
			bye(s);
	}
}
