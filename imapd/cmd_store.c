/* cmd_store.c: STORE and UID STORE (RFC 3501 6.4.6): set, add or remove
 * flags and keywords, answering with the new flags unless .SILENT. */
#include <string.h>
#include <strings.h>

#include "imap_fmt.h"
#include "imapd.h"
#include "log.h"

struct store_req {
	enum mail_store_op op;
	int silent;
	uint32_t flags;
	char **keywords;      /* NULL-terminated, in the command pool */
	int conditional;      /* UNCHANGEDSINCE (RFC 7162 3.1.3) */
	uint64_t since;
};

/* ["+" / "-"] "FLAGS" [".SILENT"] */
static int parse_item(struct parser *p, struct store_req *req)
{
	char *item, *s;

	if (p_atom(p, &item) < 0)
		return p_fail(p, "Expected FLAGS, +FLAGS or -FLAGS");
	s = item;
	req->op = *s == '+' ? STORE_ADD : *s == '-' ? STORE_REMOVE : STORE_SET;
	if (*s == '+' || *s == '-')
		s++;
	if (!strncasecmp(s, "FLAGS", 5) && (!s[5] || !strcasecmp(s + 5, ".SILENT"))) {
		req->silent = s[5] != 0;
		return 0;
	}
	return p_fail(p, "Expected FLAGS, +FLAGS or -FLAGS");
}

/* Append src's keywords to the NULL-terminated array *dst (pool). */
static void merge_keywords(struct pool *pool, char ***dst, char **src)
{
	size_t a = 0, b = 0;
	char **n;

	while (*dst && (*dst)[a])
		a++;
	while (src && src[b])
		b++;
	if (!b)
		return;
	n = pool_alloc(pool, (a + b + 1) * sizeof *n);
	if (a)
		memcpy(n, *dst, a * sizeof *n);
	memcpy(n + a, src, b * sizeof *n);
	*dst = n;
}

/* A flag-list, or (RFC 3501 grammar) flags separated by spaces. */
static int parse_flags(struct parser *p, struct store_req *req)
{
	uint32_t f;
	char **kw;
	int count = 0;

	if (p_peek(p, '('))
		return p_flag_list(p, &req->flags, &req->keywords, 1);
	do {
		if (count++ && p_sp(p) < 0)
			return -1;
		if (p_flag_list(p, &f, &kw, 1) < 0)
			return -1;
		req->flags |= f;
		merge_keywords(p->pool, &req->keywords, kw);
	} while (!p_at_end(p));
	return 0;
}

/* How many of the keywords (distinct, case-insensitive) the mailbox does
 * not know yet; stops counting past what it could still take. */
static size_t new_keywords(struct mailbox *box, char **kw)
{
	const char *seen[MAIL_KEYWORDS_MAX + 1];
	size_t n = 0, j;

	for (; kw && *kw && n <= mail_keywords_max(box); kw++) {
		if (mail_keyword(box, *kw, 0) >= 0)
			continue;
		for (j = 0; j < n && strcasecmp(seen[j], *kw); j++)
			;
		if (j == n)
			seen[n++] = *kw;
	}
	return n;
}

/* Removing a keyword nobody has is a no-op: don't create it for that.
 * Adding more than the mailbox can hold is refused before any is created,
 * so a refused STORE leaves the keyword table as it was. */
static int keyword_mask(struct mailbox *box, const struct store_req *req, struct kwset *mask,
			struct mail_err *err)
{
	if (req->op != STORE_REMOVE) {
		size_t more = new_keywords(box, req->keywords);
		unsigned max = mail_keywords_max(box);
		if (box->nkeywords + more > max) {
			mail_err_set(err, MAIL_LIMIT,
				     "Too many keywords: the mailbox has %u of at most %u, and "
				     "this adds %zu%s new ones", box->nkeywords, max,
				     more, more > max ? " or more" : "");
			return -1;
		}
		return imap_keywords_mask(box, req->keywords, mask, err);
	}
	for (char **k = req->keywords; k && *k; k++) {
		int i = mail_keyword(box, *k, 0);
		if (i >= 0)
			kwset_set(mask, (unsigned)i);
	}
	return 0;
}

/* The new flags (not when silent) and, once CONDSTORE is on, the modseq:
 * RFC 7162 3.1.3 sends that even for .SILENT. */
static void store_reply(struct cmd *cmd, const struct store_req *req, uint32_t msgno,
			struct buf *out)
{
	struct mailbox *box = cmd->c->box;
	const struct message *m = box->msgs[msgno - 1];
	int modseq = (cmd->c->enabled & CLIENT_EN_CONDSTORE) != 0;

	if (req->silent && !modseq)
		return;
	buf_reset(out);
	int items = imap_put_fetch_head(cmd->c, out, msgno, cmd->uid);
	if (!req->silent) {
		buf_puts(out, items++ ? " FLAGS " : "FLAGS ");
		imap_put_flags(out, cmd->c, m);
	}
	if (modseq) {
		if (items)
			buf_putc(out, ' ');
		imap_put_modseq(out, box, msgno);
	}
	buf_puts(out, ")\r\n");
	resp_write(cmd->c, out->data, out->len);
}

/* A message's flags and keywords before STORE (its own copy of the set). */
struct store_was {
	uint32_t flags;
	struct kwset keywords;
};

/* Put back the flags of the first n messages as they were before STORE
 * (restore set) and release the saved sets. */
static void store_undo(struct mailbox *box, const uint32_t *msgnos, struct store_was *was,
		       size_t n, int restore)
{
	struct mail_err ignore;

	for (size_t i = 0; i < n; i++) {
		if (restore)
			mail_store(box, msgnos[i], STORE_SET, was[i].flags, &was[i].keywords,
				   &ignore);
		kwset_free(&was[i].keywords);
	}
}

/* Change the flags and save them at once: a change that cannot be saved is
 * taken back and the STORE fails, rather than an OK for flags that would
 * vanish with the session. 0, or -1 with err. */
static int store_apply(struct cmd *cmd, const struct store_req *req, const struct kwset *mask,
		       const uint32_t *msgnos, size_t n, struct mail_err *err)
{
	struct mailbox *box = cmd->c->box;
	struct store_was *was = pool_alloc(cmd->c->pool, (n ? n : 1) * sizeof *was);
	size_t i;

	for (i = 0; i < n; i++) {
		const struct message *m = box->msgs[msgnos[i] - 1];
		was[i] = (struct store_was){m->flags, KWSET_EMPTY};
		kwset_copy(&was[i].keywords, &m->keywords);
		if (mail_store(box, msgnos[i], req->op, req->flags, mask, err) < 0) {
			i++;
			break;
		}
	}
	int ok = i == n && mail_flush(box, err) == 0;
	store_undo(box, msgnos, was, i, !ok);
	return ok ? 0 : -1;
}

/* UNCHANGEDSINCE: keep in msgnos (*n shrinks) the messages whose modseq
 * is at most the given one; return the others (numbers as the command
 * names them) for [MODIFIED], *nmod of them. */
static uint32_t *conditional_split(struct cmd *cmd, const struct store_req *req,
				   uint32_t *msgnos, size_t *n, size_t *nmod)
{
	struct mailbox *box = cmd->c->box;
	uint32_t *mod = pool_alloc(cmd->c->pool, (*n ? *n : 1) * sizeof *mod);
	size_t keep = 0;

	*nmod = 0;
	for (size_t i = 0; i < *n; i++) {
		if (mail_modseq_of(box, msgnos[i]) <= req->since)
			msgnos[keep++] = msgnos[i];
		else
			mod[(*nmod)++] = cmd->uid ? box->msgs[msgnos[i] - 1]->uid : msgnos[i];
	}
	*n = keep;
	return mod;
}

void cmd_store(struct cmd *cmd)
{
	struct mailbox *box = cmd->c->box;
	struct store_req req = {0};
	struct numset set;
	struct mail_err err;
	struct buf out;
	struct kwset mask = KWSET_EMPTY;
	uint32_t *msgnos;
	size_t n;

	if (p_sp(&cmd->p) < 0 || p_seqset(&cmd->p, &set) < 0 || p_sp(&cmd->p) < 0 ||
	    imap_store_mods(cmd, &req.conditional, &req.since) < 0 ||
	    parse_item(&cmd->p, &req) < 0 || p_sp(&cmd->p) < 0 || parse_flags(&cmd->p, &req) < 0 ||
	    p_end(&cmd->p) < 0)
		return resp_parse_error(cmd);
	if (box->readonly)
		return resp_no(cmd, NULL, "Mailbox is read-only");
	memset(&err, 0, sizeof err);
	unsigned nkw = box->nkeywords;
	if (keyword_mask(box, &req, &mask, &err) < 0) {
		kwset_free(&mask);
		return resp_mail_error(cmd, &err);
	}
	ssize_t got = imap_resolve_set(cmd, &set, &msgnos);
	if (got < 0) {
		kwset_free(&mask);
		return mail_keyword_forget(box, nkw);
	}
	n = (size_t)got;
	uint32_t *modified = NULL;
	size_t nmod = 0;
	if (req.conditional) {
		imap_condstore_enable(cmd->c);
		mail_modseq_hold(box);
		modified = conditional_split(cmd, &req, msgnos, &n, &nmod);
	}
	int rc = store_apply(cmd, &req, &mask, msgnos, n, &err);
	kwset_free(&mask);
	if (req.conditional)
		mail_modseq_release(box);
	if (rc < 0) {
		mail_keyword_forget(box, nkw);
		log_err("%sSTORE not saved user=%s host=%s: %s", cmd->uid ? "UID " : "",
			cmd->c->user.name, cmd->c->conn.peer_host, err.text);
		return resp_mail_error(cmd, &err);
	}
	buf_init(&out);
	for (size_t i = 0; i < n; i++)
		store_reply(cmd, &req, msgnos[i], &out);
	if (nmod) {
		buf_reset(&out);
		buf_puts(&out, "MODIFIED ");
		imap_put_seqset(&out, modified, nmod);
		resp_ok(cmd, out.data, "Conditional %sSTORE failed for some messages",
			cmd->uid ? "UID " : "");
	} else {
		resp_ok(cmd, NULL, "%sSTORE completed", cmd->uid ? "UID " : "");
	}
	buf_free(&out);
}
