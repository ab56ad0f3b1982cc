/* response.c: writing IMAP responses, and turning mailbox events into the
 * untagged EXISTS / RECENT / EXPUNGE / FETCH FLAGS a client expects. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "imapd.h"
#include "imap_fmt.h"
#include "context.h"
#include "log.h"

static void resp_tagged(struct cmd *cmd, const char *status, const char *code,
			const char *fmt, va_list ap)
{
	struct client *c = cmd->c;

	if (cmd->flags & CMD_QUIET) {
		cmd->answered = 1;
		return;
	}
	/* news from the mailbox (new mail, other sessions' changes) goes out
	 * before the tagged reply; where RFC 3501 7.4.1 forbids EXPUNGE we only
	 * save our own flag changes, so other sessions see them at once */
	if (c->box) {
		struct mail_err err;
		int r = cmd->flags & CMD_NO_EXPUNGE ? mail_flush(c->box, &err) : mail_ping(c->box, &err);
		if (r < 0)
			resp_untagged(c, "NO %s", err.text);
		imap_context_update(c);
	}
	io_printf(&c->io, "%s %s ", cmd->tag, status);
	if (code && *code)
		io_printf(&c->io, "[%s] ", code);
	struct buf b;
	buf_init(&b);
	buf_vprintf(&b, fmt, ap);
	/* a reason must never break the line structure */
	for (size_t i = 0; i < b.len; i++)
		if (b.data[i] == '\r' || b.data[i] == '\n')
			b.data[i] = ' ';
	io_write(&c->io, b.data, b.len);
	buf_free(&b);
	io_puts(&c->io, "\r\n");
	cmd->answered = 1;
}

void resp_ok(struct cmd *cmd, const char *code, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	resp_tagged(cmd, "OK", code, fmt, ap);
	va_end(ap);
}

void resp_no(struct cmd *cmd, const char *code, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	resp_tagged(cmd, "NO", code, fmt, ap);
	va_end(ap);
}

void resp_bad(struct cmd *cmd, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	resp_tagged(cmd, "BAD", NULL, fmt, ap);
	va_end(ap);
}

void resp_parse_error(struct cmd *cmd)
{
	if (cmd->p.error == imap_uidrequired)
		return resp_bad(cmd, "[UIDREQUIRED] %s: %s", cmd->name, imap_uidrequired);
	resp_bad(cmd, "%s: %s", cmd->name, cmd->p.error ? cmd->p.error : "Invalid arguments");
}

void resp_mail_error(struct cmd *cmd, const struct mail_err *err)
{
	static const char *codes[] = {
		[MAIL_NONEXISTENT] = "NONEXISTENT", [MAIL_EXISTS] = "ALREADYEXISTS",
		[MAIL_NOPERM] = "NOPERM",           [MAIL_BADNAME] = "CANNOT",
		[MAIL_INUSE] = "INUSE",             [MAIL_TOOBIG] = "TOOBIG",
		[MAIL_CORRUPT] = "CORRUPTION",      [MAIL_LIMIT] = "LIMIT",
		[MAIL_USEATTR] = "USEATTR",
		[MAIL_UNKNOWN_CTE] = "UNKNOWN-CTE",
		[MAIL_OVERQUOTA] = "OVERQUOTA",
	};
	const char *code = NULL;

	/* APPEND and COPY into a missing mailbox: the client may create it */
	if (err->code == MAIL_NONEXISTENT &&
	    (!strcmp(cmd->name, "APPEND") || !strcmp(cmd->name, "COPY") || !strcmp(cmd->name, "MOVE") ||
	     !strcmp(cmd->name, "REPLACE")))
		code = "TRYCREATE";
	else if ((size_t)err->code < ARRAY_SIZE(codes))
		code = codes[err->code];
	resp_no(cmd, code, "%s", err->text[0] ? err->text : "Operation failed");
}

/* The mailbox was closed without its changes (SELECT of another, LOGOUT,
 * the end of the session): the log and the client both learn why. */
void imap_report_lost(struct client *c, const struct mail_err *err)
{
	log_err("Closing the mailbox lost changes user=%s host=%s: %s",
		c->user.name ? c->user.name : "?", c->conn.peer_host, err->text);
	resp_untagged(c, "NO [ALERT] Changes to the mailbox were not saved: %s", err->text);
}

void resp_untagged(struct client *c, const char *fmt, ...)
{
	va_list ap;

	io_puts(&c->io, "* ");
	va_start(ap, fmt);
	struct buf b;
	buf_init(&b);
	buf_vprintf(&b, fmt, ap);
	va_end(ap);
	io_write(&c->io, b.data, b.len);
	buf_free(&b);
	io_puts(&c->io, "\r\n");
}

void resp_write(struct client *c, const void *p, size_t n)
{
	io_write(&c->io, p, n);
}

void imap_put_flags(struct buf *out, const struct client *c, const struct message *m)
{
	const struct mailbox *box = c->box;
	/* RFC 9051 2.3.2: \Recent is not a rev2 flag */
	uint32_t flags = c->enabled & CLIENT_EN_REV2 ? m->flags & ~MF_RECENT : m->flags;
	static const struct {
		uint32_t bit;
		const char *name;
	} names[] = {
		{MF_SEEN, "\\Seen"},       {MF_ANSWERED, "\\Answered"}, {MF_FLAGGED, "\\Flagged"},
		{MF_DELETED, "\\Deleted"}, {MF_DRAFT, "\\Draft"},       {MF_RECENT, "\\Recent"},
	};
	int first = 1;

	buf_putc(out, '(');
	for (size_t i = 0; i < ARRAY_SIZE(names); i++)
		if (flags & names[i].bit) {
			if (!first)
				buf_putc(out, ' ');
			buf_puts(out, names[i].name);
			first = 0;
		}
	for (int k = kwset_next(&m->keywords, 0); k >= 0 && (unsigned)k < box->nkeywords;
	     k = kwset_next(&m->keywords, (unsigned)k + 1)) {
		if (!first)
			buf_putc(out, ' ');
		buf_puts(out, box->keywords[k]);
		first = 0;
	}
	buf_putc(out, ')');
}

int imap_keywords_mask(struct mailbox *box, char **names, struct kwset *mask, struct mail_err *err)
{
	kwset_free(mask);
	for (; names && *names; names++) {
		int k = mail_keyword(box, *names, 1);
		if (k < 0) {
			mail_err_set(err, MAIL_LIMIT,
				     "Cannot add keyword %s: this mailbox already has %u keywords",
				     *names, mail_keywords_max(box));
			return -1;
		}
		kwset_set(mask, (unsigned)k);
	}
	return 0;
}

ssize_t imap_resolve_set(struct cmd *cmd, const struct numset *set, uint32_t **msgnos)
{
	struct mailbox *box = cmd->c->box;
	uint32_t n = box->nmsgs, count = 0;

	/* message numbers must exist (RFC 3501 9: seq-number); UIDs need not,
	 * and "$" holds UIDs for FETCH as for UID FETCH */
	int by_uid = cmd->uid || set->saved;

	for (size_t i = 0; !by_uid && i < set->n; i++) {
		uint32_t lo = set->r[i].lo, hi = set->r[i].hi;
		if (!n || lo > n || hi > n) {   /* "*" (NUMSET_STAR, 0) is always there */
			resp_bad(cmd, "Invalid message sequence number (the mailbox has %u messages)", n);
			return -1;
		}
	}
	uint32_t max = by_uid ? (n ? box->msgs[n - 1]->uid : 0) : n;
	uint32_t *out = pool_alloc(cmd->c->pool, (n ? n : 1) * sizeof *out);

	for (uint32_t i = 0; i < n; i++) {
		uint32_t key = by_uid ? box->msgs[i]->uid : i + 1;
		if (numset_contains(set, key, max))
			out[count++] = i + 1;
	}
	*msgnos = out;
	return count;
}

static void ev_exists(void *ctx, uint32_t n)
{
	resp_untagged(ctx, "%u EXISTS", n);
}

static void ev_recent(void *ctx, uint32_t n)
{
	struct client *c = ctx;

	if (!(c->enabled & CLIENT_EN_REV2))   /* RFC 9051 has no RECENT */
		resp_untagged(c, "%u RECENT", n);
}

/* Once QRESYNC or UIDONLY is on, expunges are told by UID (RFC 7162
 * 3.2.10, RFC 9586 3.2). */
static void ev_expunged(void *ctx, uint32_t msgno)
{
	struct client *c = ctx;

	imap_context_expunged(c, msgno, c->box->ev_uid);
	if (c->enabled & (CLIENT_EN_QRESYNC | CLIENT_EN_UIDONLY))
		resp_untagged(c, "VANISHED %u", c->box->ev_uid);
	else
		resp_untagged(c, "%u EXPUNGE", msgno);
}

static void ev_flags(void *ctx, uint32_t msgno)
{
	struct client *c = ctx;
	struct buf b;

	buf_init(&b);
	if (imap_put_fetch_head(c, &b, msgno, 1))
		buf_putc(&b, ' ');
	buf_puts(&b, "FLAGS ");
	imap_put_flags(&b, c, c->box->msgs[msgno - 1]);
	if (c->enabled & CLIENT_EN_CONDSTORE) {
		buf_putc(&b, ' ');
		imap_put_modseq(&b, c->box, msgno);
	}
	buf_puts(&b, ")\r\n");
	resp_write(c, b.data, b.len);
	buf_free(&b);
}

/* Something the user should know about their mailbox; the administrator
 * too, since the fix is usually theirs. */
static void ev_notice(void *ctx, const char *text)
{
	struct client *c = ctx;

	log_warn("user=%s host=%s: %s", c->user.name ? c->user.name : "-", c->conn.peer_host, text);
	resp_untagged(c, "OK [ALERT] %s", text);
}

const struct mail_events imap_events = {ev_exists, ev_recent, ev_expunged, ev_flags, ev_notice};
