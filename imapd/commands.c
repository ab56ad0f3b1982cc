/* commands.c: the command table, and the commands valid in any state. */
#include <stdlib.h>
#include <string.h>

#include "imapd.h"
#include "imap_fmt.h"
#include "imap_url.h"
#include "context.h"
#include "log.h"
#include "privsep.h"
#include "tls.h"

#define ANY (ST_NOTAUTH | ST_AUTH | ST_SELECTED)
#define AUTHED (ST_AUTH | ST_SELECTED)

static const struct imap_command commands[] = {
	{"CAPABILITY", cmd_capability, ANY, 0},
	{"NOOP", cmd_noop, ANY, 0},
	{"LOGOUT", cmd_logout, ANY, 0},
	{"ID", cmd_id, ANY, 0},
	{"LOGIN", cmd_login, ST_NOTAUTH, 0},
	{"AUTHENTICATE", cmd_authenticate, ST_NOTAUTH, 0},
	{"STARTTLS", cmd_starttls, ST_NOTAUTH, 0},
	{"SELECT", cmd_select, AUTHED, 0},
	{"EXAMINE", cmd_examine, AUTHED, 0},
	{"CREATE", cmd_create, AUTHED, 0},
	{"DELETE", cmd_delete, AUTHED, 0},
	{"RENAME", cmd_rename, AUTHED, 0},
	{"SUBSCRIBE", cmd_subscribe, AUTHED, 0},
	{"UNSUBSCRIBE", cmd_unsubscribe, AUTHED, 0},
	{"LIST", cmd_list, AUTHED, 0},
	{"LSUB", cmd_lsub, AUTHED, 0},
	{"STATUS", cmd_status, AUTHED, 0},
	{"APPEND", cmd_append, AUTHED, CMD_MESSAGES},
	{"NAMESPACE", cmd_namespace, AUTHED, 0},
	{"ENABLE", cmd_enable, ST_AUTH, 0},
	{"UNAUTHENTICATE", cmd_unauthenticate, AUTHED, 0},
	{"IDLE", cmd_idle, AUTHED, 0},
	{"CHECK", cmd_check, ST_SELECTED, 0},
	{"CLOSE", cmd_close, ST_SELECTED, 0},
	{"UNSELECT", cmd_unselect, ST_SELECTED, 0},
	{"EXPUNGE", cmd_expunge, ST_SELECTED, CMD_UID},
	{"SEARCH", cmd_search, ST_SELECTED, CMD_UID | CMD_NO_EXPUNGE},
	{"SORT", cmd_sort, ST_SELECTED, CMD_UID | CMD_NO_EXPUNGE},
	{"THREAD", cmd_thread, ST_SELECTED, CMD_UID | CMD_NO_EXPUNGE},
	{"FETCH", cmd_fetch, ST_SELECTED, CMD_UID | CMD_NO_EXPUNGE},
	{"STORE", cmd_store, ST_SELECTED, CMD_UID | CMD_NO_EXPUNGE},
	{"COPY", cmd_copy, ST_SELECTED, CMD_UID},
	{"MOVE", cmd_move, ST_SELECTED, CMD_UID},
	/* cmd_compress.c */
	{"COMPRESS", cmd_compress, AUTHED, 0},
	/* cmd_urlauth.c */
	{"GENURLAUTH", cmd_genurlauth, AUTHED, 0},
	{"RESETKEY", cmd_resetkey, AUTHED, 0},
	{"URLFETCH", cmd_urlfetch, AUTHED, 0},
	/* cmd_context.c */
	{"CANCELUPDATE", cmd_cancelupdate, ST_SELECTED, 0},
	/* cmd_quota.c */
	{"GETQUOTA", cmd_getquota, AUTHED, 0},
	{"GETQUOTAROOT", cmd_getquotaroot, AUTHED, 0},
	{"SETQUOTA", cmd_setquota, AUTHED, 0},
	/* cmd_metadata.c */
	{"GETMETADATA", cmd_getmetadata, AUTHED, 0},
	{"SETMETADATA", cmd_setmetadata, AUTHED, CMD_META},
	/* cmd_notify.c */
	{"NOTIFY", cmd_notify, AUTHED, 0},
	/* cmd_replace.c */
	{"REPLACE", cmd_replace, ST_SELECTED, CMD_UID | CMD_MESSAGES},
};

const struct imap_command *command_find(const char *name)
{
	for (size_t i = 0; i < ARRAY_SIZE(commands); i++)
		if (!strcmp(commands[i].name, name))
			return &commands[i];
	return NULL;
}

void imap_capabilities(struct client *c, struct buf *out)
{
	/* RFC 7888: one of the two (main.c applies LITERAL-'s 4096 octets) */
	buf_printf(out, "IMAP4rev1 IMAP4rev2 %s ID IDLE NAMESPACE UIDPLUS UNSELECT CHILDREN MOVE SASL-IR",
		   c->cfg.literal_minus ? "LITERAL-" : "LITERAL+");
	if (c->state != ST_NOTAUTH) {
		/* cmd_sort.c */
		buf_puts(out, " SORT SORT=DISPLAY THREAD=ORDEREDSUBJECT THREAD=REFERENCES THREAD=REFS");
		/* cmd_search.c (ESORT: its answer, from cmd_sort.c) */
		buf_puts(out, " ESEARCH ESORT SEARCHRES WITHIN PARTIAL");
		/* cmd_condstore.c */
		buf_puts(out, " CONDSTORE QRESYNC");
		/* cmd_sort.c, sort.c: the MODSEQ sort key */
		buf_puts(out, " SORT=MODSEQ");
		/* cmd_append.c; cmd_enable.c */
		buf_printf(out, " MULTIAPPEND APPENDLIMIT=%u ENABLE", imap_append_limit(c));
		/* cmd_list.c, listext.c; specialuse.c; cmd_mailbox.c */
		buf_puts(out, " LIST-EXTENDED LIST-STATUS SPECIAL-USE CREATE-SPECIAL-USE STATUS=SIZE");
		/* cmd_enable.c, parser.c, cmd_list.c, cmd_append.c */
		buf_puts(out, " UTF8=ACCEPT");
		/* cmd_compress.c */
		buf_puts(out, " COMPRESS=DEFLATE");
		/* cmd_fetch.c, cmd_append.c (RFC 3516) */
		buf_puts(out, " BINARY");
		/* cmd_fetch.c (RFC 8970) */
		buf_puts(out, " PREVIEW");
		/* cmd_append.c, cmd_urlauth.c, imap_url.c */
		buf_puts(out, " CATENATE URLAUTH URL-PARTIAL");
		/* cmd_context.c */
		buf_puts(out, " CONTEXT=SEARCH CONTEXT=SORT");
		/* cmd_quota.c */
		imap_quota_capabilities(c, out);
		/* cmd_metadata.c */
		buf_puts(out, " METADATA METADATA-SERVER");
		/* cmd_notify.c */
		buf_puts(out, " NOTIFY");
		/* cmd_replace.c (RFC 8508) */
		buf_puts(out, " REPLACE");
		/* cmd_fetch.c, search.c (RFC 8514): dates from Maildir and MH */
		buf_puts(out, " SAVEDATE");
		/* cmd_objectid.c, cmd_fetch.c, cmd_search.c (RFC 8474) */
		buf_puts(out, " OBJECTID");
		/* uidonly.c (RFC 9586) */
		buf_puts(out, " UIDONLY");
		/* cmd_auth.c: only a session the pre-login process can take back */
		if (privsep_role() == PRIVSEP_SESSION)
			buf_puts(out, " UNAUTHENTICATE");
		return;
	}
	if (tls_available() && !tls_active(&c->io) && !c->tls_keys_gone)
		buf_puts(out, " STARTTLS");
	/* password mechanisms only where passwords may be sent (RFC 3501 6.2.3) */
	buf_puts(out, c->plaintext_ok ? " AUTH=PLAIN AUTH=LOGIN" : " LOGINDISABLED");
}

void cmd_capability(struct cmd *cmd)
{
	struct buf caps;

	if (p_end(&cmd->p) < 0)
		return resp_parse_error(cmd);
	buf_init(&caps);
	imap_capabilities(cmd->c, &caps);
	resp_untagged(cmd->c, "CAPABILITY %s", caps.data);
	buf_free(&caps);
	resp_ok(cmd, NULL, "CAPABILITY completed");
}

void cmd_noop(struct cmd *cmd)
{
	if (p_end(&cmd->p) < 0)
		return resp_parse_error(cmd);
	resp_ok(cmd, NULL, "NOOP completed");
}

void cmd_logout(struct cmd *cmd)
{
	struct client *c = cmd->c;

	if (p_end(&cmd->p) < 0)
		return resp_parse_error(cmd);
	struct mail_err err;
	int saved = c->box ? mail_close(c->box, 0, &err) : 0;
	c->box = NULL;
	resp_untagged(c, "BYE Logging out");
	if (saved < 0) {
		imap_report_lost(c, &err);
		resp_mail_error(cmd, &err);
	} else {
		resp_ok(cmd, NULL, "LOGOUT completed");
	}
	if (c->user.name && c->state != ST_NOTAUTH)
		log_info("Logout user=%s host=%s", c->user.name, c->conn.peer_host);
	c->state = ST_LOGOUT;
}

/* RFC 2971's id_params_list: NIL, or "(" of string SP nstring pairs ")". */
static int id_params(struct parser *p)
{
	char *field, *value;

	if (!p_peek(p, '(')) {
		if (p_atom(p, &field) < 0 || strcasecmp(field, "NIL"))
			return p_fail(p, "needs a parameter list or NIL");
		return 0;
	}
	p->p++;
	for (int first = 1; !p_peek(p, ')'); first = 0) {
		if ((!first && p_sp(p) < 0) || p_string(p, &field, NULL) < 0)
			return -1;
		if (p_peek(p, ')'))
			return p_fail(p, "a field without a value");
		if (p_sp(p) < 0 || p_nstring(p, &value, NULL) < 0)
			return -1;
	}
	return p_char(p, ')');
}

/* RFC 2971: we say who we are (no OS or host details: the RFC warns they
 * help an attacker); what the client says is checked, then dropped. */
void cmd_id(struct cmd *cmd)
{
	if (p_sp(&cmd->p) < 0 || id_params(&cmd->p) < 0 || p_end(&cmd->p) < 0)
		return resp_parse_error(cmd);
	resp_untagged(cmd->c, "ID (\"name\" \"imapd\" \"version\" \"%s\" \"vendor\" \"%s\")",
		      VERSION, "uw-imap, rebuilt");
	resp_ok(cmd, NULL, "ID completed");
}

void cmd_namespace(struct cmd *cmd)
{
	if (p_end(&cmd->p) < 0)
		return resp_parse_error(cmd);
	resp_untagged(cmd->c, "NAMESPACE ((\"\" \"/\")) NIL NIL");
	resp_ok(cmd, NULL, "NAMESPACE completed");
}
