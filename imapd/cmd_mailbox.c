/* cmd_mailbox.c: commands on mailboxes by name: CREATE, DELETE, RENAME,
 * SUBSCRIBE, UNSUBSCRIBE, LIST, LSUB, STATUS. */
#include <string.h>

#include "imapd.h"
#include "imap_fmt.h"

/* "CMD SP mailbox" with nothing after. */
static int one_mailbox(struct cmd *cmd, char **name)
{
	return p_sp(&cmd->p) < 0 || p_mailbox(&cmd->p, name) < 0 || p_end(&cmd->p) < 0 ? -1 : 0;
}

void cmd_create(struct cmd *cmd)
{
	struct mail_err err;
	char *name;

	if (one_mailbox(cmd, &name) < 0)
		return resp_parse_error(cmd);
	if (!strcmp(name, "INBOX"))
		return resp_no(cmd, "ALREADYEXISTS", "INBOX always exists");
	if (mail_create(&cmd->c->sess, name, &err) < 0)
		return resp_mail_error(cmd, &err);
	resp_ok(cmd, NULL, "CREATE completed");
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

struct list_ctx {
	struct client *c;
	const char *what;   /* "LIST" or "LSUB" */
};

static void list_one(void *ctx, const char *name, int attrs)
{
	static const struct {
		int bit;
		const char *name;
	} names[] = {
		{LA_NOINFERIORS, "\\Noinferiors"}, {LA_NOSELECT, "\\Noselect"},
		{LA_MARKED, "\\Marked"},           {LA_UNMARKED, "\\Unmarked"},
		{LA_HASCHILDREN, "\\HasChildren"}, {LA_HASNOCHILDREN, "\\HasNoChildren"},
	};
	struct list_ctx *lc = ctx;
	struct buf b;
	int first = 1;

	buf_init(&b);
	buf_printf(&b, "* %s (", lc->what);
	for (size_t i = 0; i < ARRAY_SIZE(names); i++)
		if (attrs & names[i].bit) {
			if (!first)
				buf_putc(&b, ' ');
			buf_puts(&b, names[i].name);
			first = 0;
		}
	buf_puts(&b, ") \"/\" ");
	imap_put_astring(&b, name);
	buf_puts(&b, "\r\n");
	resp_write(lc->c, b.data, b.len);
	buf_free(&b);
}

static void list_common(struct cmd *cmd, int lsub)
{
	struct list_ctx lc = {cmd->c, lsub ? "LSUB" : "LIST"};
	struct mail_err err;
	char *ref, *pattern;
	int r;

	if (p_sp(&cmd->p) < 0 || p_mailbox(&cmd->p, &ref) < 0 || p_sp(&cmd->p) < 0 ||
	    p_list_mailbox(&cmd->p, &pattern) < 0 || p_end(&cmd->p) < 0)
		return resp_parse_error(cmd);
	if (!lsub && !*pattern) {
		/* RFC 3501: an empty pattern asks for the delimiter and root */
		resp_untagged(cmd->c, "LIST (\\Noselect) \"/\" \"%s\"", *ref == '/' ? "/" : "");
		return resp_ok(cmd, NULL, "LIST completed");
	}
	if (lsub)
		r = mail_lsub(&cmd->c->sess, ref, pattern, list_one, &lc, &err);
	else
		r = mail_list(&cmd->c->sess, ref, pattern, list_one, &lc, &err);
	if (r < 0)
		return resp_mail_error(cmd, &err);
	resp_ok(cmd, NULL, "%s completed", lc.what);
}

void cmd_list(struct cmd *cmd)
{
	list_common(cmd, 0);
}

void cmd_lsub(struct cmd *cmd)
{
	list_common(cmd, 1);
}

enum {
	S_MESSAGES = 1, S_RECENT = 2, S_UIDNEXT = 4, S_UIDVALIDITY = 8, S_UNSEEN = 16,
	S_APPENDLIMIT = 32,
	S_HIGHESTMODSEQ = 64,   /* RFC 7162 3.1.2 */
};

static const struct {
	const char *name;
	int bit;
} status_items[] = {
	{"MESSAGES", S_MESSAGES},       {"RECENT", S_RECENT}, {"UIDNEXT", S_UIDNEXT},
	{"UIDVALIDITY", S_UIDVALIDITY}, {"UNSEEN", S_UNSEEN}, {"APPENDLIMIT", S_APPENDLIMIT},
	{"HIGHESTMODSEQ", S_HIGHESTMODSEQ},
};

void cmd_status(struct cmd *cmd)
{
	struct client *c = cmd->c;
	struct mail_status st;
	struct mail_err err;
	char *name, *item;
	int want = 0;

	if (p_sp(&cmd->p) < 0 || p_mailbox(&cmd->p, &name) < 0 || p_sp(&cmd->p) < 0 ||
	    p_char(&cmd->p, '(') < 0)
		return resp_parse_error(cmd);
	do {
		size_t i;
		if (want && p_sp(&cmd->p) < 0)
			return resp_parse_error(cmd);
		if (p_atom(&cmd->p, &item) < 0)
			return resp_parse_error(cmd);
		for (i = 0; i < ARRAY_SIZE(status_items); i++)
			if (!strcasecmp(item, status_items[i].name))
				break;
		if (i == ARRAY_SIZE(status_items))
			return resp_bad(cmd, "STATUS: unknown item %s", item);
		want |= status_items[i].bit;
	} while (!p_peek(&cmd->p, ')'));
	if (p_char(&cmd->p, ')') < 0 || p_end(&cmd->p) < 0)
		return resp_parse_error(cmd);

	if (c->box && !strcmp(c->box->name, name)) {
		/* the selected mailbox: answer from this session's view */
		struct mailbox *box = c->box;
		memset(&st, 0, sizeof st);
		st.messages = box->nmsgs;
		st.recent = box->recent;
		st.uidnext = box->uidnext;
		st.uidvalidity = box->uidvalidity;
		for (uint32_t i = 0; i < box->nmsgs; i++)
			st.unseen += !(box->msgs[i]->flags & MF_SEEN);
	} else if (mail_status(&c->sess, name, &st, &err) < 0) {
		return resp_mail_error(cmd, &err);
	}
	uint64_t hms = 0;
	if (want & S_HIGHESTMODSEQ) {
		imap_condstore_enable(c);
		if (c->box && !strcmp(c->box->name, name))
			hms = mail_highestmodseq(c->box);
		else if (mail_status_modseq(&c->sess, name, &hms, &err) < 0)
			return resp_mail_error(cmd, &err);
	}
	const uint64_t values[] = {st.messages, st.recent, st.uidnext, st.uidvalidity,
				   st.unseen, imap_append_limit(c), hms};
	struct buf b;
	buf_init(&b);
	buf_puts(&b, "STATUS ");
	imap_put_astring(&b, name);
	buf_puts(&b, " (");
	for (size_t i = 0, n = 0; i < ARRAY_SIZE(status_items); i++)
		if (want & status_items[i].bit)
			buf_printf(&b, "%s%s %llu", n++ ? " " : "", status_items[i].name,
				   (unsigned long long)values[i]);
	buf_putc(&b, ')');
	resp_untagged(c, "%s", b.data);
	buf_free(&b);
	resp_ok(cmd, NULL, "STATUS completed");
}
