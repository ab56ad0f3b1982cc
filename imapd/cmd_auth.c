/* cmd_auth.c: getting from "not authenticated" to a user and back: STARTTLS
 * (RFC 3501 6.2.1), AUTHENTICATE with SASL-IR (RFC 4959), LOGIN, and
 * UNAUTHENTICATE (RFC 8437). Both
 * password paths end in login_finish, so they log, delay and drop privileges
 * the same way as ipop3d (daemon_login). */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "daemon.h"
#include "imapd.h"
#include "specialuse.h"
#include "io_deflate.h"
#include "log.h"
#include "privsep.h"
#include "sasl.h"
#include "tls.h"

#define TLS_REQUIRED "Plaintext passwords are refused until TLS is on: use STARTTLS or port 993"

/* Check the password and become the user; answers the command. authname
 * is the SASL authentication identity (for the log). */
static void login_finish(struct cmd *cmd, const char *user, const char *authname,
			 char *password, const char *what)
{
	struct client *c = cmd->c;

	switch (daemon_login(&c->cfg, &c->conn, "imap", user, authname, password, &c->user,
			     &c->login_failures)) {
	case DLOGIN_BAD:
		resp_no(cmd, "AUTHENTICATIONFAILED", "Invalid credentials");
		if (c->login_failures >= c->cfg.max_login_failures) {
			daemon_log_too_many_failures(c->login_failures, &c->conn);
			imap_exit(c, "Too many login failures", 0);
		}
		return;
	case DLOGIN_FATAL:
		imap_exit(c, "Server error: cannot switch to the user (details in the mail log)", 1);
	case DLOGIN_ENDED:
		/* the session answered this command and, later, UNAUTHENTICATE */
		cmd->answered = 1;
		c->tls_keys_gone = 1;
		c->io.timeout = c->cfg.timeout_login;
		io_set_deadline(&c->io, c->cfg.timeout_login);
		return;
	case DLOGIN_OK:
		break;
	}
	mail_session_setup(&c->sess, c->user.name, c->user.home, &c->cfg);
	mail_special_create(&c->sess);
	c->state = ST_AUTH;
	c->io.timeout = c->cfg.timeout_idle;

	struct buf caps;
	buf_init(&caps);
	imap_capabilities(c, &caps);
	resp_ok(cmd, NULL, "[CAPABILITY %s] %s completed", caps.data, what);
	buf_free(&caps);
}

void cmd_login(struct cmd *cmd)
{
	char *user, *pass;

	if (p_sp(&cmd->p) < 0 || p_astring(&cmd->p, &user, NULL) < 0 || p_sp(&cmd->p) < 0 ||
	    p_astring(&cmd->p, &pass, NULL) < 0 || p_end(&cmd->p) < 0)
		return resp_parse_error(cmd);
	if (!cmd->c->plaintext_ok) {
		memset(pass, 0, strlen(pass));
		return resp_no(cmd, "PRIVACYREQUIRED", TLS_REQUIRED);
	}
	login_finish(cmd, user, NULL, pass, "LOGIN");
}

void cmd_starttls(struct cmd *cmd)
{
	struct client *c = cmd->c;
	struct mail_err err;

	if (p_end(&cmd->p) < 0)
		return resp_parse_error(cmd);
	if (tls_active(&c->io))
		return resp_bad(cmd, "TLS is already active");
	if (!tls_available())
		return resp_no(cmd, NULL, "This server was built without TLS");
	if (c->tls_keys_gone)   /* dropped at the first login (privsep.c) */
		return resp_no(cmd, NULL, "STARTTLS is only possible before the first login");
	/* queued; tls_start sends it only once the certificate is loaded */
	resp_ok(cmd, NULL, "Begin TLS negotiation now");
	if (tls_start(&c->io, &c->cfg, "imapd", &c->conn, &err) < 0) {
		if (c->io.failed) {
			log_notice("STARTTLS failed host=%s [%s]: %s", c->conn.peer_host,
				   daemon_peer_addr(&c->conn), err.text);
			imap_exit(c, NULL, 0);
		}
		log_err("STARTTLS refused host=%s [%s]: %s", c->conn.peer_host,
			daemon_peer_addr(&c->conn), err.text);
		return resp_no(cmd, "UNAVAILABLE",
			       "TLS is unavailable: server certificate problem (details in "
			       "the mail log)");
	}
	c->tls_active = 1;
	c->plaintext_ok = 1;
}

/* One client line of the SASL exchange into line; 0, or -1 after ending
 * the command (connection gone, timeout); an over-long line ends the session. */
static int sasl_read(struct cmd *cmd, struct buf *line)
{
	struct client *c = cmd->c;

	buf_reset(line);
	switch (io_readline(&c->io, line, c->cfg.max_line)) {
	case IO_OK:
		return 0;
	case IO_TOOLONG:
		imap_line_too_long(c);
	case IO_TIMEOUT:
		io_puts(&c->io, "* BYE Autologout; idle for too long\r\n");
		/* fall through */
	default:
		c->state = ST_LOGOUT;
		resp_bad(cmd, "AUTHENTICATE: connection closed");
		return -1;
	}
}

/* Run the exchange; returns SASL_DONE with s filled, else the command has
 * been answered. */
static enum sasl_result sasl_exchange(struct cmd *cmd, struct sasl_state *s, const char *ir)
{
	struct client *c = cmd->c;
	struct buf chal, line;
	struct mail_err err;
	const char *resp = ir;
	size_t rlen = ir ? strlen(ir) : 0;
	enum sasl_result r;

	buf_init(&chal);
	buf_init(&line);
	while ((r = sasl_step(s, resp, rlen, &chal, &err)) == SASL_CONTINUE) {
		io_printf(&c->io, "+ %s\r\n", chal.data ? chal.data : "");
		io_flush(&c->io);
		if (sasl_read(cmd, &line) < 0) {
			r = SASL_FAIL;
			goto out;
		}
		resp = line.data ? line.data : "";
		rlen = line.len;
	}
	if (r == SASL_FAIL) {
		if (resp && rlen == 1 && resp[0] == '*')
			resp_bad(cmd, "AUTHENTICATE cancelled");
		else if (err.code == MAIL_NOPERM)
			resp_no(cmd, "AUTHORIZATIONFAILED", "Acting as another user is not allowed");
		else
			resp_bad(cmd, "AUTHENTICATE: %s", err.text);
	}
out:
	if (line.data)
		explicit_bzero(line.data, line.len);
	buf_free(&line);
	buf_free(&chal);
	return r;
}

void cmd_authenticate(struct cmd *cmd)
{
	struct client *c = cmd->c;
	struct sasl_state s;
	char *mech, *ir = NULL;
	int m;

	if (p_sp(&cmd->p) < 0 || p_atom(&cmd->p, &mech) < 0)
		return resp_parse_error(cmd);
	if (!p_at_end(&cmd->p) && (p_sp(&cmd->p) < 0 || p_atom(&cmd->p, &ir) < 0))
		return resp_parse_error(cmd);
	if (p_end(&cmd->p) < 0)
		return resp_parse_error(cmd);
	if ((m = sasl_mech_find(mech)) < 0)
		return resp_no(cmd, NULL, "Unsupported authentication mechanism");
	if (!c->plaintext_ok)
		return resp_no(cmd, "PRIVACYREQUIRED", TLS_REQUIRED);
	sasl_begin(&s, (enum sasl_mech)m);
	if (sasl_exchange(cmd, &s, ir) == SASL_DONE)
		login_finish(cmd, s.user, s.user, s.password, "AUTHENTICATE");
	sasl_end(&s);
	if (ir)
		explicit_bzero(ir, strlen(ir));
}

/* The tag at the start of a command line, or 0 when it has none. */
static size_t tag_len(const char *line, size_t len)
{
	size_t n = 0;

	while (n < len && n < 256 && p_is_tag_char((unsigned char)line[n]))
		n++;
	return n < len && line[n] == ' ' ? n : 0;
}

/* A tagged BAD for each command in rest, which the client sent behind
 * UNAUTHENTICATE: none is run, and the client must not wait for them. A
 * command still waiting for a "+" gets its BAD too; one not yet complete
 * (its literal or line still to come) none. */
static void answer_unrun(struct client *c, const struct buf *rest)
{
	const char *p = rest->data, *end = p + rest->len, *tag = NULL;
	size_t taglen = 0;

	while (p && p < end) {
		const char *line = p, *nl = memchr(p, '\n', (size_t)(end - p));
		size_t len;
		uint64_t n;
		int nonsync;

		if (!nl)
			break;
		len = (size_t)(nl - line);
		len -= len && line[len - 1] == '\r';
		if (!tag && (taglen = tag_len(line, len)))
			tag = line;
		p = nl + 1;
		if (p_literal_at_end(line, len, &n, &nonsync)) {
			size_t left = (size_t)(end - p);
			if (left && n <= left) {
				p += n;   /* the literal; the command goes on */
				continue;
			}
			if (nonsync || left)
				break;   /* not all of it is here */
		}
		if (tag)
			io_printf(&c->io, "%.*s BAD Sent before UNAUTHENTICATE completed; not run\r\n",
				  (int)taglen, tag);
		tag = NULL;
	}
}

/* UNAUTHENTICATE (RFC 8437). This process runs as the user and cannot go
 * back to the pre-login state: it saves the mailbox, answers, and ends with
 * PRIVSEP_EXIT_UNAUTH; the pre-login process then takes the connection
 * over again (privsep.c). */
void cmd_unauthenticate(struct cmd *cmd)
{
	struct client *c = cmd->c;

	if (p_end(&cmd->p) < 0)
		return resp_parse_error(cmd);
	if (privsep_role() != PRIVSEP_SESSION)
		return resp_bad(cmd, "UNAUTHENTICATE is not available in a pre-authenticated "
			       "session");
	/* the pre-login process would get a deflate stream it cannot read */
	if (io_deflate_active(&c->io))
		return resp_no(cmd, NULL, "UNAUTHENTICATE is not possible after COMPRESS");
	if (c->box) {
		struct mail_err err;
		if (mail_close(c->box, 0, &err) < 0)
			imap_report_lost(c, &err);
		c->box = NULL;
	}
	log_info("Logout user=%s host=%s (UNAUTHENTICATE)", c->user.name, c->conn.peer_host);
	struct buf rest;
	buf_init(&rest);
	privsep_session_stop_reading(&c->io, &rest);
	resp_ok(cmd, NULL, "UNAUTHENTICATE completed");
	answer_unrun(c, &rest);
	buf_free(&rest);
	imap_exit(c, NULL, PRIVSEP_EXIT_UNAUTH);
}
