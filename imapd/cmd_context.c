/* cmd_context.c: RFC 5267's live results. A context keeps the command's
 * text and the UIDs last told, in the answer's order; after every command
 * (and in IDLE) the command is run again without output and the change is
 * told as ADDTO / REMOVEFROM with positions (0 for SEARCH, whose result
 * has no order), then MIN / MAX / COUNT when asked and changed; in UIDs
 * for UID SEARCH / UID SORT, else in message numbers (RFC 5267 4.3.2). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "context.h"
#include "imap_fmt.h"

struct imap_context {
	char *tag;
	char *args;               /* the command after its name */
	size_t len;
	int sort, uid;
	unsigned opts;            /* RET_* */
	uint32_t *uids;           /* the result last told, in its order */
	size_t n;
	struct imap_context *next;
};

/* Where a recomputation leaves its result (one at a time). */
static struct {
	uint32_t *uids;
	size_t n;
	int done;
} capture;

/* One context, with what it holds. */
static void context_free(struct imap_context *x)
{
	free(x->tag);
	free(x->args);
	free(x->uids);
	free(x);
}

/* See context.h. */
void imap_context_free_all(struct client *c)
{
	while (c->contexts) {
		struct imap_context *x = c->contexts;
		c->contexts = x->next;
		context_free(x);
	}
}

/* The UIDs of the messages, in their order, malloc'd. */
static uint32_t *uids_of(const struct mailbox *box, const uint32_t *msgnos, size_t n)
{
	uint32_t *u = xmalloc((n ? n : 1) * sizeof *u);

	for (size_t i = 0; i < n; i++)
		u[i] = box->msgs[msgnos[i] - 1]->uid;
	return u;
}

/* How many contexts the session holds. */
static size_t count_contexts(const struct client *c)
{
	size_t k = 0;

	for (const struct imap_context *x = c->contexts; x; x = x->next)
		k++;
	return k;
}

/* Keep a new context for the command; NOUPDATE when we cannot (RFC 5267
 * 4.3.1): too many, or SAVE, whose "$" a recomputation would change. */
static void context_new(struct cmd *cmd, const struct search_return *ret, const uint32_t *msgnos,
			size_t n)
{
	struct client *c = cmd->c;
	struct imap_context *x;
	struct buf code;

	if (count_contexts(c) >= IMAP_CONTEXTS_MAX || (ret->opts & RET_SAVE)) {
		buf_init(&code);
		imap_put_string(&code, cmd->tag, strlen(cmd->tag));
		resp_untagged(c, "NO [NOUPDATE %s] %s", code.data,
			      ret->opts & RET_SAVE ? "UPDATE is not kept with SAVE" :
			      "Too many contexts");
		buf_free(&code);
		return;
	}
	x = xcalloc(1, sizeof *x);
	x->tag = xstrdup(cmd->tag);
	x->len = (size_t)(cmd->p.end - cmd->args);
	x->args = xstrndup(cmd->args, x->len);
	x->sort = !strcmp(cmd->name, "SORT");
	x->uid = cmd->uid;
	x->opts = ret->opts;
	x->uids = uids_of(c->box, msgnos, n);
	x->n = n;
	x->next = c->contexts;
	c->contexts = x;
}

/* See context.h: RFC 5267 4.3's BAD for UPDATE under a live tag. */
int imap_context_busy(struct cmd *cmd, const struct search_return *ret)
{
	if (!(ret->opts & RET_UPDATE) || (cmd->flags & CMD_QUIET))
		return 0;
	for (const struct imap_context *x = cmd->c->contexts; x; x = x->next)
		if (!strcmp(x->tag, cmd->tag)) {
			resp_bad(cmd, "Tag %s already names a context with UPDATE", cmd->tag);
			return 1;
		}
	return 0;
}

/* See context.h: take a recomputed result, or make a context. */
int imap_context_reply(struct cmd *cmd, const struct search_return *ret, const uint32_t *msgnos,
		       size_t n)
{
	if (cmd->flags & CMD_QUIET) {
		capture.uids = uids_of(cmd->c->box, msgnos, n);
		capture.n = n;
		capture.done = 1;
		return 1;
	}
	if (ret->opts & RET_UPDATE)
		context_new(cmd, ret, msgnos, n);
	return 0;
}

/* Run the context's command again, quietly; its result in capture, or
 * -1 when it failed (then the context is left as it was). */
static int recompute(struct client *c, const struct imap_context *x)
{
	struct cmd cmd = {0};

	cmd.c = c;
	cmd.tag = x->tag;
	cmd.name = x->sort ? "SORT" : "SEARCH";
	cmd.uid = x->uid;
	cmd.flags = CMD_QUIET;
	p_init(&cmd.p, x->args, x->len, c->pool);
	cmd.p.utf8 = (c->enabled & CLIENT_EN_UTF8) != 0;
	cmd.p.rev2 = (c->enabled & CLIENT_EN_REV2) != 0;
	cmd.args = x->args;
	memset(&capture, 0, sizeof capture);
	(x->sort ? cmd_sort : cmd_search)(&cmd);
	return capture.done ? 0 : -1;
}

/* qsort and bsearch order of UIDs. */
static int uid_cmp(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

/* The two results, each also sorted by UID, so membership is a bsearch
 * (a sorted result of 10,000 messages is compared in n log n). */
struct diff {
	const uint32_t *old, *new;      /* in the answer's order */
	size_t nold, nnew;
	uint32_t *old_by_uid, *new_by_uid;
};

/* A copy of the n UIDs sorted ascending, malloc'd. */
static uint32_t *by_uid(const uint32_t *u, size_t n)
{
	uint32_t *s = xmalloc((n ? n : 1) * sizeof *s);

	if (n)
		memcpy(s, u, n * sizeof *s);
	qsort(s, n, sizeof *s, uid_cmp);
	return s;
}

/* Is uid among the sorted n? */
static int has_uid(const uint32_t *sorted, size_t n, uint32_t uid)
{
	return bsearch(&uid, sorted, n, sizeof uid, uid_cmp) != NULL;
}

/* "* ESEARCH (TAG "t") [UID]" opening a response into out. */
static void esearch_open(struct buf *out, const struct imap_context *x)
{
	buf_reset(out);
	buf_puts(out, "* ESEARCH (TAG ");
	imap_put_string(out, x->tag, strlen(x->tag));
	buf_puts(out, x->uid ? ") UID" : ")");
}

/* What the client calls the message of this UID in the context: the UID
 * itself, or its message number now. */
static uint32_t told_id(const struct client *c, const struct imap_context *x, uint32_t uid)
{
	return x->uid ? uid : mail_msgno(c->box, uid);
}

/* One ADDTO or REMOVEFROM "(pos set)" as a line of its own. */
static void tell(struct client *c, const struct imap_context *x, const char *what, size_t pos,
		 const uint32_t *uids, size_t n, struct buf *out)
{
	uint32_t *ids = xmalloc((n ? n : 1) * sizeof *ids);

	/* ascending UIDs are ascending message numbers: the set keeps its form */
	for (size_t i = 0; i < n; i++)
		ids[i] = told_id(c, x, uids[i]);
	esearch_open(out, x);
	buf_printf(out, " %s (%zu ", what, pos);
	imap_put_seqset(out, ids, n);
	buf_puts(out, ")\r\n");
	resp_write(c, out->data, out->len);
	free(ids);
}

/* The UIDs of a not in b (sorted), in a's order, into out; how many. */
static size_t missing(const uint32_t *a, size_t na, const uint32_t *b, size_t nb, uint32_t *out)
{
	size_t k = 0;

	for (size_t i = 0; i < na; i++)
		if (!has_uid(b, nb, a[i]))
			out[k++] = a[i];
	return k;
}

/* SEARCH's result has no order: one REMOVEFROM and one ADDTO at
 * position 0, each with all its UIDs (RFC 5267 4.3.3's form). */
static void tell_search(struct client *c, const struct imap_context *x, const struct diff *d,
			struct buf *out)
{
	size_t most = d->nold > d->nnew ? d->nold : d->nnew, k;
	uint32_t *set = xmalloc((most ? most : 1) * sizeof *set);

	if ((k = missing(d->old_by_uid, d->nold, d->new_by_uid, d->nnew, set)) > 0)
		tell(c, x, "REMOVEFROM", 0, set, k, out);
	if ((k = missing(d->new_by_uid, d->nnew, d->old_by_uid, d->nold, set)) > 0)
		tell(c, x, "ADDTO", 0, set, k, out);
	free(set);
}

/* A UID and its place in a result. */
struct placed {
	uint32_t uid, at;
};

/* qsort and bsearch order of placed UIDs. */
static int placed_cmp(const void *a, const void *b)
{
	return uid_cmp(&((const struct placed *)a)->uid, &((const struct placed *)b)->uid);
}

/* Of seq[0..m) (distinct numbers), mark in keep a longest increasing
 * subsequence (patience sorting: m log m). */
static void keep_longest_run(const uint32_t *seq, size_t m, uint8_t *keep)
{
	size_t *tail = xmalloc((m + 1) * sizeof *tail), *prev = xmalloc((m + 1) * sizeof *prev);
	size_t len = 0;

	for (size_t i = 0; i < m; i++) {
		size_t lo = 0, hi = len;
		while (lo < hi) {
			size_t mid = (lo + hi) / 2;
			if (seq[tail[mid]] < seq[i])
				lo = mid + 1;
			else
				hi = mid;
		}
		prev[i] = lo ? tail[lo - 1] : SIZE_MAX;
		tail[lo] = i;
		len += lo == len;
	}
	memset(keep, 0, m);
	for (size_t i = len ? tail[len - 1] : SIZE_MAX; i != SIZE_MAX; i = prev[i])
		keep[i] = 1;
	free(tail);
	free(prev);
}

/* The UIDs in both results whose order among the others changed (only a
 * key that changes, MODSEQ, moves them): all but a longest run that kept
 * its order. Sorted ascending, malloc'd; how many in *n. */
static uint32_t *moved_uids(const struct diff *d, size_t *n)
{
	struct placed *at = xmalloc((d->nnew + 1) * sizeof *at), *p, key;
	uint32_t *seq = xmalloc((d->nold + 1) * sizeof *seq);     /* new places, old order */
	uint32_t *uid = xmalloc((d->nold + 1) * sizeof *uid);
	uint8_t *keep = xmalloc(d->nold + 1);
	size_t m = 0;

	for (size_t i = 0; i < d->nnew; i++)
		at[i] = (struct placed){ d->new[i], (uint32_t)i };
	qsort(at, d->nnew, sizeof *at, placed_cmp);
	for (size_t i = 0; i < d->nold; i++) {
		key.uid = d->old[i];
		if ((p = bsearch(&key, at, d->nnew, sizeof *at, placed_cmp))) {
			seq[m] = p->at;
			uid[m++] = d->old[i];
		}
	}
	keep_longest_run(seq, m, keep);
	*n = 0;
	for (size_t i = 0; i < m; i++)
		if (!keep[i])
			uid[(*n)++] = uid[i];
	qsort(uid, *n, sizeof *uid, uid_cmp);
	free(at);
	free(seq);
	free(keep);
	return uid;
}

/* SORT's: REMOVEFROM for what left or moved, last first so each position
 * is where the UID stands in the list as the client holds it then; ADDTO
 * in the new order, each at the position it takes. A moved message is
 * removed and added again: the client holds positions, nothing else. */
static void tell_sort(struct client *c, const struct imap_context *x, const struct diff *d,
		      struct buf *out)
{
	size_t nm;
	uint32_t *mv = moved_uids(d, &nm);

	for (size_t i = d->nold; i-- > 0;)
		if (!has_uid(d->new_by_uid, d->nnew, d->old[i]) || has_uid(mv, nm, d->old[i]))
			tell(c, x, "REMOVEFROM", i + 1, &d->old[i], 1, out);
	for (size_t i = 0; i < d->nnew; i++)
		if (!has_uid(d->old_by_uid, d->nold, d->new[i]) || has_uid(mv, nm, d->new[i]))
			tell(c, x, "ADDTO", i + 1, &d->new[i], 1, out);
	free(mv);
}

/* MIN / MAX / COUNT asked for, sent again when one of them changed. */
static void tell_summary(struct client *c, const struct imap_context *x, struct buf *out)
{
	unsigned want = x->opts & (RET_MIN | RET_MAX | RET_COUNT);
	uint32_t omin = x->n ? x->uids[0] : 0, omax = x->n ? x->uids[x->n - 1] : 0;
	uint32_t nmin = capture.n ? capture.uids[0] : 0;
	uint32_t nmax = capture.n ? capture.uids[capture.n - 1] : 0;

	int changed = ((want & RET_MIN) && omin != nmin) || ((want & RET_MAX) && omax != nmax) ||
		      ((want & RET_COUNT) && x->n != capture.n);

	if (!changed)
		return;
	esearch_open(out, x);
	if (capture.n && (want & RET_MIN))
		buf_printf(out, " MIN %u", told_id(c, x, nmin));
	if (capture.n && (want & RET_MAX))
		buf_printf(out, " MAX %u", told_id(c, x, nmax));
	if (want & RET_COUNT)
		buf_printf(out, " COUNT %zu", capture.n);
	buf_puts(out, "\r\n");
	resp_write(c, out->data, out->len);
}

/* See context.h: a result in message numbers loses the message before
 * its EXPUNGE (RFC 5267 4.3.4: after it, the number names another). */
void imap_context_expunged(struct client *c, uint32_t msgno, uint32_t uid)
{
	struct buf out;

	buf_init(&out);
	for (struct imap_context *x = c->contexts; x; x = x->next) {
		size_t i = 0;
		while (i < x->n && x->uids[i] != uid)
			i++;
		if (x->uid || i == x->n || !(x->opts & (RET_ALL | RET_PARTIAL)))
			continue;
		esearch_open(&out, x);
		buf_printf(&out, " REMOVEFROM (%zu %u)\r\n", x->sort ? i + 1 : 0, msgno);
		resp_write(c, out.data, out.len);
		memmove(x->uids + i, x->uids + i + 1, (x->n - i - 1) * sizeof *x->uids);
		x->n--;
	}
	buf_free(&out);
}

/* See context.h: each context recomputed, its change told, kept. */
void imap_context_update(struct client *c)
{
	struct buf out;

	if (!c->box || !c->contexts)
		return;
	buf_init(&out);
	for (struct imap_context *x = c->contexts; x; x = x->next) {
		if (recompute(c, x) < 0)
			continue;
		if (x->opts & (RET_ALL | RET_PARTIAL)) {
			struct diff d = {x->uids, capture.uids, x->n, capture.n,
					 by_uid(x->uids, x->n), by_uid(capture.uids, capture.n)};
			(x->sort ? tell_sort : tell_search)(c, x, &d, &out);
			free(d.old_by_uid);
			free(d.new_by_uid);
		}
		tell_summary(c, x, &out);
		free(x->uids);
		x->uids = capture.uids;
		x->n = capture.n;
	}
	buf_free(&out);
}

/* CANCELUPDATE "tag" *(SP "tag") (RFC 5267 4.3.5). */
void cmd_cancelupdate(struct cmd *cmd)
{
	struct client *c = cmd->c;
	int unknown = 0;
	char *tag;

	do {
		struct imap_context **pp = &c->contexts;
		if (p_sp(&cmd->p) < 0 || p_string(&cmd->p, &tag, NULL) < 0)
			return resp_parse_error(cmd);
		while (*pp && strcmp((*pp)->tag, tag))
			pp = &(*pp)->next;
		if (*pp) {
			struct imap_context *x = *pp;
			*pp = x->next;
			context_free(x);
		} else {
			unknown = 1;
		}
	} while (!p_at_end(&cmd->p));
	if (unknown)
		return resp_no(cmd, NULL, "No such context");
	resp_ok(cmd, NULL, "CANCELUPDATE completed");
}
