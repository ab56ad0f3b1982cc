/* cmd_sort.c: SORT and THREAD, with their UID forms (RFC 5256; the DISPLAY
 * keys of RFC 5957; MODSEQ of SORT=MODSEQ). This file reads the criteria or
 * the algorithm, then the charset and the search keys with the SEARCH
 * parser, and writes what the library's sort and thread answer. */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "imapd.h"
#include "context.h"
#include "search_parse.h"
#include "sort.h"
#include "thread.h"

/* Flush a response being built once it is this big. */
#define REPLY_CHUNK 8192

static const struct {
	const char *name;
	enum sort_key key;
} sort_keys[] = {
	{"ARRIVAL", SORT_ARRIVAL}, {"CC", SORT_CC},           {"DATE", SORT_DATE},
	{"FROM", SORT_FROM},       {"SIZE", SORT_SIZE},       {"SUBJECT", SORT_SUBJECT},
	{"TO", SORT_TO},           {"DISPLAYFROM", SORT_DISPLAYFROM},
	{"DISPLAYTO", SORT_DISPLAYTO},
	{"MODSEQ", SORT_MODSEQ},
};

static const struct {
	const char *name;
	enum thread_algo algo;
} algorithms[] = {
	{"ORDEREDSUBJECT", THREAD_ORDEREDSUBJECT},
	{"REFERENCES", THREAD_REFERENCES},
	{"REFS", THREAD_REFS},
};

/* One sort-criterion: ["REVERSE" SP] sort-key. */
static int parse_criterion(struct parser *p, struct sort_crit *crit)
{
	char *word;

	crit->reverse = 0;
	if (p_atom(p, &word) < 0)
		return p_fail(p, "Expected a sort key");
	if (!strcasecmp(word, "REVERSE")) {
		crit->reverse = 1;
		if (p_sp(p) < 0 || p_atom(p, &word) < 0)
			return p_fail(p, "REVERSE needs a sort key");
	}
	for (size_t i = 0; i < ARRAY_SIZE(sort_keys); i++)
		if (!strcasecmp(word, sort_keys[i].name)) {
			crit->key = sort_keys[i].key;
			return 0;
		}
	return p_fail(p, "Unknown sort key");
}

/* "(" sort-criterion *(SP sort-criterion) ")" */
static int parse_criteria(struct parser *p, struct sort_crit *crit, size_t *n)
{
	*n = 0;
	if (p_char(p, '(') < 0)
		return p_fail(p, "Expected a parenthesised list of sort keys");
	for (;;) {
		if (*n == SORT_MAX_CRITERIA)
			return p_fail(p, "Too many sort keys");
		if (parse_criterion(p, &crit[(*n)++]) < 0)
			return -1;
		if (p_peek(p, ')'))
			break;
		if (p_sp(p) < 0)
			return -1;
	}
	return p_char(p, ')');
}

/* SP charset SP search-keys, then the search itself into *match. Answers
 * the command itself (and returns -1) when that fails. With save, "$" is
 * emptied once the keys (which may name it) are read: RFC 5182 2.1 wants
 * it empty after a failure, and a success replaces it anyway. *modseq:
 * the keys held MODSEQ; that, or want_modseq (a MODSEQ sort key), turns
 * CONDSTORE on before the search, which may need the modseqs. */
static int select_messages(struct cmd *cmd, int save, int want_modseq, uint8_t **match,
			   int *modseq)
{
	struct mailbox *box = cmd->c->box;
	struct search_key *key;
	struct mail_err err;
	char *charset;
	int rc;

	if (p_sp(&cmd->p) < 0 || p_astring(&cmd->p, &charset, NULL) < 0 || p_sp(&cmd->p) < 0) {
		resp_parse_error(cmd);
		return -1;
	}
	if (!imap_charset_ok(charset)) {
		if (save)
			imap_searchres_reset(cmd->c);
		resp_no(cmd, "BADCHARSET (UTF-8 US-ASCII)", "%s: unsupported charset", cmd->name);
		return -1;
	}
	rc = imap_search_parse(&cmd->p, box, &key);
	if (save)
		imap_searchres_reset(cmd->c);
	if (rc == SEARCH_PARSE_BADCHARSET) {
		resp_no(cmd, "BADCHARSET (UTF-8 US-ASCII)", "%s: unsupported charset", cmd->name);
		return -1;
	}
	if (rc != SEARCH_PARSE_OK) {
		resp_parse_error(cmd);
		return -1;
	}
	*modseq = imap_search_has_modseq(key);
	if (*modseq || want_modseq)
		imap_condstore_enable(cmd->c);
	*match = pool_alloc(cmd->c->pool, box->nmsgs ? box->nmsgs : 1);
	memset(&err, 0, sizeof err);
	if (search_run(box, key, *match, &err) < 0) {
		resp_mail_error(cmd, &err);
		return -1;
	}
	return 0;
}

/* What the client calls message msgno: its number, or for UID forms its UID. */
static uint32_t reply_id(const struct cmd *cmd, uint32_t msgno)
{
	return cmd->uid ? cmd->c->box->msgs[msgno - 1]->uid : msgno;
}

/* Send what is built once it is big (or, last, whatever there is). */
static void reply_flush(struct cmd *cmd, struct buf *out, int last)
{
	if (!last && out->len < REPLY_CHUNK)
		return;
	resp_write(cmd->c, out->data, out->len);
	buf_reset(out);
}

/* SORT / UID SORT [RETURN (...)] (sort-criteria) charset search-keys; with
 * RETURN the answer is ESEARCH (RFC 5267 ESORT, RFC 9394 PARTIAL). */
void cmd_sort(struct cmd *cmd)
{
	struct mailbox *box = cmd->c->box;
	struct sort_crit crit[SORT_MAX_CRITERIA];
	struct search_return ret;
	struct mail_err err;
	uint8_t *match;
	uint32_t *order;
	size_t ncrit, n;
	int by_modseq = 0;
	struct buf out;

	if (p_sp(&cmd->p) < 0 || imap_search_return_parse(&cmd->p, &ret) < 0)
		return resp_parse_error(cmd);
	if (imap_context_busy(cmd, &ret))
		return;
	if (parse_criteria(&cmd->p, crit, &ncrit) < 0) {
		if (ret.opts & RET_SAVE)
			imap_searchres_reset(cmd->c);
		return resp_parse_error(cmd);
	}
	for (size_t i = 0; i < ncrit; i++)
		by_modseq |= crit[i].key == SORT_MODSEQ;
	if (select_messages(cmd, ret.opts & RET_SAVE, by_modseq, &match, &ret.modseq) < 0)
		return;
	order = pool_alloc(cmd->c->pool, (box->nmsgs + 1) * sizeof *order);
	memset(&err, 0, sizeof err);
	if (sort_run(box, crit, ncrit, match, order, &n, &err) < 0)
		return resp_mail_error(cmd, &err);
	if (ret.given) {
		imap_esearch_reply(cmd, &ret, order, n);
		return resp_ok(cmd, NULL, "%sSORT completed", cmd->uid ? "UID " : "");
	}
	buf_init(&out);
	buf_puts(&out, "* SORT");
	for (size_t i = 0; i < n; i++) {
		buf_printf(&out, " %u", reply_id(cmd, order[i]));
		reply_flush(cmd, &out, 0);
	}
	/* RFC 7162 3.1.6: MODSEQ in the keys adds the highest, to a result */
	uint64_t top = ret.modseq ? imap_top_modseq(box, order, n) : 0;
	if (top)
		buf_printf(&out, " (MODSEQ %llu)", (unsigned long long)top);
	buf_puts(&out, "\r\n");
	reply_flush(cmd, &out, 1);
	buf_free(&out);
	resp_ok(cmd, NULL, "%sSORT completed", cmd->uid ? "UID " : "");
}

/* Push the sibling list from k so that it pops in order, each node to be
 * opened and then closed. Returns the new stack depth. */
static size_t push_list(const struct thread_tree *t, int32_t k, int32_t *stack, size_t sp)
{
	size_t n = 0, i = 0;

	for (int32_t c = k; c >= 0; c = t->nodes[c].next)
		n++;
	sp += 2 * n;
	for (int32_t c = k; c >= 0; c = t->nodes[c].next, i++) {
		stack[sp - 2 * i - 1] = c;
		stack[sp - 2 * i - 2] = -1;
	}
	return sp;
}

/* The forest in RFC 5256's syntax: each thread in parentheses; a message's
 * only child follows it after a space, several children each get their
 * own parentheses. Iterative: a reply chain may be as long as the mailbox.
 * The stack holds nodes to open (>= 0) and closing parentheses (-1). */
static void put_threads(struct cmd *cmd, const struct thread_tree *t, struct buf *out)
{
	int32_t *stack = xcalloc(2 * t->n + 2, sizeof *stack);
	size_t sp = push_list(t, t->first, stack, 0);

	while (sp) {
		int32_t k = stack[--sp];

		if (k < 0) {
			buf_putc(out, ')');
			reply_flush(cmd, out, 0);
			continue;
		}
		buf_putc(out, '(');
		/* follow only children without parentheses */
		while (t->nodes[k].msgno) {
			buf_printf(out, "%u", reply_id(cmd, t->nodes[k].msgno));
			int32_t kid = t->nodes[k].child;
			if (kid < 0 || t->nodes[kid].next >= 0) {
				if (kid >= 0)
					buf_putc(out, ' ');
				break;
			}
			buf_putc(out, ' ');
			k = kid;
		}
		sp = push_list(t, t->nodes[k].child, stack, sp);
	}
	free(stack);
}

/* THREAD / UID THREAD algorithm charset search-keys. */
void cmd_thread(struct cmd *cmd)
{
	struct mailbox *box = cmd->c->box;
	struct thread_tree tree;
	struct mail_err err;
	enum thread_algo algo;
	uint8_t *match;
	char *name;
	size_t i;
	int modseq;
	struct buf out;

	if (p_sp(&cmd->p) < 0 || p_atom(&cmd->p, &name) < 0)
		return resp_parse_error(cmd);
	for (i = 0; i < ARRAY_SIZE(algorithms); i++)
		if (!strcasecmp(name, algorithms[i].name))
			break;
	if (i == ARRAY_SIZE(algorithms))
		return resp_bad(cmd, "THREAD: unknown threading algorithm %s", name);
	algo = algorithms[i].algo;
	if (select_messages(cmd, 0, 0, &match, &modseq) < 0)
		return;
	memset(&err, 0, sizeof err);
	if (thread_run(box, algo, match, &tree, &err) < 0)
		return resp_mail_error(cmd, &err);
	buf_init(&out);
	buf_puts(&out, tree.first >= 0 ? "* THREAD " : "* THREAD");
	put_threads(cmd, &tree, &out);
	buf_puts(&out, "\r\n");
	reply_flush(cmd, &out, 1);
	buf_free(&out);
	thread_tree_free(&tree);
	resp_ok(cmd, NULL, "%sTHREAD completed", cmd->uid ? "UID " : "");
}
