/* cmd_mailbox.c: commands on mailboxes by name: CREATE (with USE, RFC 6154),
 * DELETE, RENAME, SUBSCRIBE, UNSUBSCRIBE, STATUS; LIST and LSUB: cmd_list.c. */
#include <string.h>
#include <strings.h>

#include "imapd.h"
#include "quota.h"
#include "imap_fmt.h"
#include "mutf7.h"
#include "specialuse.h"
#include "objectid.h"

/* "CMD SP mailbox" with nothing after. */
static int one_mailbox(struct cmd *cmd, char **name)
{
	return p_sp(&cmd->p) < 0 || p_mailbox(&cmd->p, name) < 0 || p_end(&cmd->p) < 0 ? -1 : 0;
}

/* "USE (" [use-attr *(SP use-attr)] ")" (RFC 6154): the LA_ bits, and -1
 * in *bits for an attribute we do not keep. */
static int create_use(struct parser *p, int *bits)
{
	char *param, *attr;

	if (p_atom(p, &param) < 0)
		return -1;
	if (strcasecmp(param, "USE"))
		return p_fail(p, "unknown CREATE parameter");
	if (p_sp(p) < 0 || p_char(p, '(') < 0)
		return -1;
	for (int first = 1; !p_peek(p, ')'); first = 0) {
		if ((!first && p_sp(p) < 0) || p_token(p, "", &attr) < 0)
			return -1;
		int bit = mail_special_bit(attr);
		*bits = *bits < 0 || !bit ? -1 : *bits | bit;
	}
	return p_char(p, ')');
}

int imap_create_parse(struct parser *p, char **name, int *bits)
{
	*bits = 0;
	if (p_sp(p) < 0 || p_mailbox(p, name) < 0)
		return -1;
	if (p_at_end(p))
		return 0;
	if (p_sp(p) < 0 || p_char(p, '(') < 0)
		return -1;
	do {
		if (create_use(p, bits) < 0)
			return -1;
	} while (!p_peek(p, ')') && p_sp(p) == 0);
	return p_char(p, ')') < 0 ? -1 : p_end(p);
}

/* RFC 3501 5.1.3: a new name is modified UTF-7 (no 8-bit bytes, no broken
 * base64), so every client reads back the name it made. */
static int new_name_ok(struct cmd *cmd, const char *name)
{
	if (mutf7_valid(name, strlen(name)))
		return 1;
	resp_no(cmd, "CANNOT", "Mailbox name is not valid modified UTF-7 (RFC 3501 5.1.3)");
	return 0;
}

void cmd_create(struct cmd *cmd)
{
	struct mail_err err;
	char *name;
	int bits;

	if (imap_create_parse(&cmd->p, &name, &bits) < 0)
		return resp_parse_error(cmd);
	if (!strcmp(name, "INBOX"))
		return resp_no(cmd, "ALREADYEXISTS", "INBOX always exists");
	if (!new_name_ok(cmd, name))
		return;
	if (bits < 0)
		return resp_no(cmd, "USEATTR", "That special use is not supported here");
	if ((bits ? mail_create_special(&cmd->c->sess, name, bits, &err)
		  : mail_create(&cmd->c->sess, name, &err)) < 0)
		return resp_mail_error(cmd, &err);
	struct buf code;
	buf_init(&code);
	int have_id = imap_mailboxid_code(cmd->c, name, &code) == 0;
	resp_ok(cmd, have_id ? code.data : NULL, "CREATE completed");
	buf_free(&code);
}

void cmd_delete(struct cmd *cmd)
{
	struct mail_err err;
	char *name;

	if (one_mailbox(cmd, &name) < 0)
		return resp_parse_error(cmd);
	if (!strcmp(name, "INBOX"))
		return resp_no(cmd, "CANNOT", "INBOX cannot be deleted");
	if (cmd->c->box && !strcmp(cmd->c->box->name, name))
		return resp_no(cmd, "INUSE", "Close the mailbox before deleting it");
	if (mail_delete(&cmd->c->sess, name, &err) < 0)
		return resp_mail_error(cmd, &err);
	resp_ok(cmd, NULL, "DELETE completed");
}

void cmd_rename(struct cmd *cmd)
{
	struct mail_err err;
	char *from, *to;

	if (p_sp(&cmd->p) < 0 || p_mailbox(&cmd->p, &from) < 0 || p_sp(&cmd->p) < 0 ||
	    p_mailbox(&cmd->p, &to) < 0 || p_end(&cmd->p) < 0)
		return resp_parse_error(cmd);
	if (!strcmp(to, "INBOX"))
		return resp_no(cmd, "ALREADYEXISTS", "INBOX always exists");
	if (!new_name_ok(cmd, to))
		return;
	if (mail_rename(&cmd->c->sess, from, to, &err) < 0)
		return resp_mail_error(cmd, &err);
	resp_ok(cmd, NULL, "RENAME completed");
}

static void subscription(struct cmd *cmd, int on)
{
	struct mail_err err;
	char *name;

	if (one_mailbox(cmd, &name) < 0)
		return resp_parse_error(cmd);
	if (mail_subscribe(&cmd->c->sess, name, on, &err) < 0)
		return resp_mail_error(cmd, &err);
	resp_ok(cmd, NULL, "%s completed", cmd->name);
}

void cmd_subscribe(struct cmd *cmd)
{
	subscription(cmd, 1);
}

void cmd_unsubscribe(struct cmd *cmd)
{
	subscription(cmd, 0);
}

static const struct {
	const char *name;
	unsigned bit;
} status_items[] = {
	{"MESSAGES", S_MESSAGES},       {"RECENT", S_RECENT}, {"UIDNEXT", S_UIDNEXT},
	{"UIDVALIDITY", S_UIDVALIDITY}, {"UNSEEN", S_UNSEEN}, {"APPENDLIMIT", S_APPENDLIMIT},
	/* STATUS=SIZE (RFC 8438) */
	{"SIZE", S_SIZE},
	{"HIGHESTMODSEQ", S_HIGHESTMODSEQ},
	{"DELETED", S_DELETED}, {"DELETED-STORAGE", S_DELETED_STORAGE},
	/* OBJECTID (RFC 8474): a parenthesized id, not a number */
	{"MAILBOXID", S_MAILBOXID},
};

int imap_status_items(struct parser *p, unsigned *want)
{
	char *item;

	*want = 0;
	if (p_char(p, '(') < 0)
		return -1;
	do {
		size_t i;
		if (*want && p_sp(p) < 0)
			return -1;
		if (p_atom(p, &item) < 0)
			return -1;
		for (i = 0; i < ARRAY_SIZE(status_items); i++)
			if (!strcasecmp(item, status_items[i].name))
				break;
		if (i == ARRAY_SIZE(status_items) || (p->rev2 && status_items[i].bit == S_RECENT))
			return p_fail(p, pool_printf(p->pool, "unknown item %s", item));
		*want |= status_items[i].bit;
	} while (!p_peek(p, ')'));
	return p_char(p, ')');
}

/* The selected mailbox, from this session's view. */
static void status_of_box(const struct mailbox *box, struct mail_status *st)
{
	memset(st, 0, sizeof *st);
	st->messages = box->nmsgs;
	st->recent = box->recent;
	st->uidnext = box->uidnext;
	st->uidvalidity = box->uidvalidity;
	for (uint32_t i = 0; i < box->nmsgs; i++) {
		st->unseen += !(box->msgs[i]->flags & MF_SEEN);
		st->size += box->msgs[i]->size;
	}
}

int imap_status_send(struct client *c, const char *name, unsigned want, struct mail_err *err)
{
	struct mail_status st;
	uint64_t hms = 0;

	if (c->box && !strcmp(c->box->name, name))
		status_of_box(c->box, &st);
	else if (mail_status(&c->sess, name, &st, err) < 0)
		return -1;
	if (want & S_HIGHESTMODSEQ) {
		imap_condstore_enable(c);
		if (c->box && !strcmp(c->box->name, name))
			hms = mail_highestmodseq(c->box);
		else if (mail_status_modseq(&c->sess, name, &hms, err) < 0)
			return -1;
	}
	uint64_t del = 0, del_bytes = 0;
	if (want & (S_DELETED | S_DELETED_STORAGE)) {
		if (c->box && !strcmp(c->box->name, name))
			mail_box_deleted(c->box, &del, &del_bytes);
		else if (mail_status_deleted(&c->sess, name, &del, &del_bytes, err) < 0)
			return -1;
	}
	char id[MAIL_OBJECTID_SIZE];
	if ((want & S_MAILBOXID) && mail_mailboxid(&c->sess, name, id, err) < 0)
		return -1;
	const uint64_t values[] = {st.messages,    st.recent, st.uidnext,
				   st.uidvalidity, st.unseen, imap_append_limit(c),
				   st.size,        hms,       del, del_bytes, 0};
	struct buf b;
	buf_init(&b);
	buf_puts(&b, "STATUS ");
	imap_put_mailbox(c, &b, name);
	buf_puts(&b, " (");
	for (size_t i = 0, n = 0; i < ARRAY_SIZE(status_items); i++)
		if (want & status_items[i].bit & S_MAILBOXID)
			buf_printf(&b, "%sMAILBOXID (%s)", n++ ? " " : "", id);
		else if (want & status_items[i].bit)
			buf_printf(&b, "%s%s %llu", n++ ? " " : "", status_items[i].name,
				   (unsigned long long)values[i]);
	buf_putc(&b, ')');
	resp_untagged(c, "%s", b.data);
	buf_free(&b);
	return 0;
}

void cmd_status(struct cmd *cmd)
{
	struct mail_err err;
	unsigned want;
	char *name;

	if (p_sp(&cmd->p) < 0 || p_mailbox(&cmd->p, &name) < 0 || p_sp(&cmd->p) < 0 ||
	    imap_status_items(&cmd->p, &want) < 0 || p_end(&cmd->p) < 0)
		return resp_parse_error(cmd);
	if (imap_status_send(cmd->c, name, want, &err) < 0)
		return resp_mail_error(cmd, &err);
	resp_ok(cmd, NULL, "STATUS completed");
}
