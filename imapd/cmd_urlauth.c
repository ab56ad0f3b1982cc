/* cmd_urlauth.c: URLAUTH (RFC 4467): GENURLAUTH signs a URL of the user's
 * own message with the mailbox's access key, RESETKEY replaces keys (old
 * URLs stop working), URLFETCH reads authorized URLs; ;PARTIAL= in them
 * (URL-PARTIAL, RFC 5550) included. */
#include <string.h>
#include <strings.h>

#include "imap_fmt.h"
#include "imap_url.h"

/* One "url-rump SP mechanism" of GENURLAUTH, its signed form into out.
 * 0, or -1 with err (a NO). */
static int gen_one(struct client *c, const char *url, const char *mech, struct buf *out,
		   struct mail_err *err)
{
	struct imapurl u;
	struct mail_status st;
	char hex[URLAUTH_TOKEN_HEX];
	const char *why;

	if (imapurl_parse(url, strlen(url), c->pool, &u, &why) < 0 || !u.absolute ||
	    !u.access || u.mech) {
		mail_err_set(err, MAIL_FAIL, "Not a URL rump with ;URLAUTH=: %s", url);
		return -1;
	}
	if (strcasecmp(mech, "INTERNAL")) {
		mail_err_set(err, MAIL_FAIL, "Unknown mechanism %s", mech);
		return -1;
	}
	if (!u.user || strcmp(u.user, c->user.name)) {
		mail_err_set(err, MAIL_NOPERM, "Only URLs of your own mailboxes can be authorized");
		return -1;
	}
	if (mail_status(&c->sess, u.mailbox, &st, err) < 0)
		return -1;
	if (u.uidvalidity && u.uidvalidity != st.uidvalidity) {
		mail_err_set(err, MAIL_FAIL, "UIDVALIDITY of the URL is not the mailbox's");
		return -1;
	}
	if (urlauth_token(&c->sess, u.mailbox, st.uidvalidity, url, u.rump_len, 1, hex, err))
		return -1;
	buf_putc(out, ' ');
	imap_put_string(out, pool_printf(c->pool, "%s:internal:%s", url, hex),
			u.rump_len + strlen(":internal:") + strlen(hex));
	return 0;
}

/* GENURLAUTH 1*(SP url-rump SP mechanism): all signed, or none. */
void cmd_genurlauth(struct cmd *cmd)
{
	struct buf out;
	struct mail_err err;
	char *url, *mech;
	int rc = 0;

	buf_init(&out);
	buf_puts(&out, "GENURLAUTH");
	do {
		if (p_sp(&cmd->p) < 0 || p_astring(&cmd->p, &url, NULL) < 0 || p_sp(&cmd->p) < 0 ||
		    p_atom(&cmd->p, &mech) < 0) {
			buf_free(&out);
			return resp_parse_error(cmd);
		}
		if (!rc)
			rc = gen_one(cmd->c, url, mech, &out, &err);
	} while (!p_at_end(&cmd->p));
	if (rc == 0)
		resp_untagged(cmd->c, "%s", out.data);
	buf_free(&out);
	if (rc < 0)
		return resp_mail_error(cmd, &err);
	resp_ok(cmd, NULL, "GENURLAUTH completed");
}

/* RESETKEY [SP mailbox *(SP mechanism)]: with no mailbox, every key. */
void cmd_resetkey(struct cmd *cmd)
{
	struct mail_err err;
	struct mail_status st;
	char *name = NULL, *mech;

	if (!p_at_end(&cmd->p) && (p_sp(&cmd->p) < 0 || p_mailbox(&cmd->p, &name) < 0))
		return resp_parse_error(cmd);
	while (!p_at_end(&cmd->p)) {
		if (p_sp(&cmd->p) < 0 || p_atom(&cmd->p, &mech) < 0)
			return resp_parse_error(cmd);
		if (strcasecmp(mech, "INTERNAL"))
			return resp_no(cmd, NULL, "Unknown mechanism %s", mech);
	}
	if (name && mail_status(&cmd->c->sess, name, &st, &err) < 0)
		return resp_mail_error(cmd, &err);
	if (urlauth_reset(&cmd->c->sess, name, &err) < 0)
		return resp_mail_error(cmd, &err);
	/* RFC 4467 6.1: the mechanisms the mailbox's new key serves */
	resp_ok(cmd, "URLMECH INTERNAL", "RESETKEY completed");
}

/* URLFETCH 1*(SP url): one URLFETCH response, NIL for each URL that
 * names nothing this session may read. */
void cmd_urlfetch(struct cmd *cmd)
{
	struct buf out;
	char *url;
	size_t ulen;

	buf_init(&out);
	buf_puts(&out, "* URLFETCH");
	do {
		struct imapurl u;
		struct mail_err err;
		const char *why, *text = NULL;
		size_t len = 0;
		if (p_sp(&cmd->p) < 0 || p_astring(&cmd->p, &url, &ulen) < 0) {
			buf_free(&out);
			return resp_parse_error(cmd);
		}
		if (imapurl_parse(url, ulen, cmd->c->pool, &u, &why) < 0 ||
		    imap_url_read(cmd->c, &u, URL_FETCH, &text, &len, &err) < 0)
			text = NULL;
		buf_putc(&out, ' ');
		imap_put_string(&out, url, ulen);
		/* message data as a literal, as RFC 4467's example and FETCH send it */
		if (text)
			buf_printf(&out, " {%zu}\r\n", len);
		buf_append(&out, text ? text : " NIL", text ? len : 4);
	} while (!p_at_end(&cmd->p));
	buf_puts(&out, "\r\n");
	resp_write(cmd->c, out.data, out.len);
	buf_free(&out);
	resp_ok(cmd, NULL, "URLFETCH completed");
}
