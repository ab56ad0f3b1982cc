/* cmd_auth.c: getting from "not authenticated" to a user: STARTTLS
 * (RFC 3501 6.2.1), AUTHENTICATE with SASL-IR (RFC 4959) and LOGIN. Both
 * password paths end in login_finish, so they log, delay and drop privileges
 * the same way as ipop3d (daemon_login). */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "daemon.h"
#include "imapd.h"
#include "log.h"
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
			imap_exit(c, "Too many login failures", 0);
		}
		return;
	case DLOGIN_FATAL:
		imap_exit(c, "Server error: cannot switch to the user (details in the mail log)", 1);
	case DLOGIN_OK:
		break;
	}
	mail_session_setup(&c->sess, c->user.name, c->user.home, &c->cfg);
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
