/* imap_push.c: the native search program written as IMAP search keys (RFC
 * 3501 6.4.4, OLDER/YOUNGER of RFC 5032), and SORT and THREAD (RFC 5256)
 * of the messages a search chose, answered by the server in UIDs that are
 * mapped back to our message numbers once the command has ended. An
 * IMAP4rev2 session's SEARCH is answered by ESEARCH (RFC 9051 7.3.4),
 * read here by the command's tag. */
#include "imap_push.h"

#include <stdlib.h>
#include <string.h>

/* A system flag's search keys, set and clear. */
static const struct {
	uint32_t flag;
	const char *on, *off;
} flag_keys[] = {
	{MF_SEEN, "SEEN", "UNSEEN"},         {MF_ANSWERED, "ANSWERED", "UNANSWERED"},
	{MF_FLAGGED, "FLAGGED", "UNFLAGGED"}, {MF_DELETED, "DELETED", "UNDELETED"},
	{MF_DRAFT, "DRAFT", "UNDRAFT"},       {MF_RECENT, "RECENT", "OLD"},
};

/* A UID list or THREAD tree heard, beyond which a server's repeats are
 * dropped: a hostile server cannot grow it without bound. */
#define ANSWER_MAX(box) (4 * (size_t)(box)->nmsgs + 64)

/* Longest message set we write for SORT and THREAD; a scattered one longer
 * than this is sorted here instead. */
#define SET_TEXT_MAX 8000

struct answer {
	struct mailbox *box;
	char tag[16];             /* ESEARCH: the command's tag */
	struct pool *pool;        /* the response being read (the connection's) */
	imap_untagged_fn fn;      /* the mailbox's other responses */
	const char *name;         /* SEARCH, SORT or THREAD */
	uint32_t *uids;           /* SEARCH, SORT: in the server's order */
	size_t n, cap;
	struct thread_tree *tree; /* THREAD: msgno holds a UID until mapped */
};

/* Is s (NULL: yes) plain ASCII? */
static int ascii(const char *s)
{
	for (; s && *s; s++)
		if ((unsigned char)*s >= 0x80)
			return 0;
	return 1;
}

/* Can the server take the keys k (siblings, children)? *utf8 is set when
 * a string needs CHARSET UTF-8. */
static int pushable(const struct imap_conn *c, const struct mailbox *box,
		    const struct search_key *k, int *utf8)
{
	for (; k; k = k->next) {
		switch (k->op) {
		case SK_MSGNOS:
		case SK_UIDS:
			if (k->set.saved || !k->set.n)
				return 0;
			break;
		case SK_OR:
			if (!k->kids || !k->kids->next || k->kids->next->next)
				return 0;
			break;
		case SK_NOT:
			if (!k->kids || k->kids->next)
				return 0;
			break;
		case SK_FLAGS:
		case SK_UNFLAGS:
			if (c->rev2 && (k->flags & MF_RECENT))
				return 0;
			if (k->keyword >= 0 && ((unsigned)k->keyword >= box->nkeywords ||
						!mail_keyword_valid(box->keywords[k->keyword])))
				return 0;
			break;
		case SK_BEFORE: case SK_ON: case SK_SINCE:
		case SK_SENTBEFORE: case SK_SENTON: case SK_SENTSINCE:
			if (k->year < 1 || k->year > 9999 || k->month < 1 || k->month > 12 ||
			    k->day < 1 || k->day > 31)
				return 0;
			break;
		case SK_LARGER:
		case SK_SMALLER:
			if (k->size > UINT32_MAX)
				return 0;
			break;
		case SK_OLDER:
		case SK_YOUNGER:
			if (!(c->caps & IC_WITHIN))
				return 0;
			break;
		case SK_HEADER:
			if (!k->field || !*k->field || !ascii(k->field))
				return 0;
			break;
		case SK_NEW:
		case SK_OLD:
			if (c->rev2)
				return 0;   /* no RECENT, NEW or OLD in RFC 9051 */
			break;
		case SK_MODSEQ: case SK_SAVEDBEFORE: case SK_SAVEDON: case SK_SAVEDSINCE:
		case SK_SAVEDATESUPPORTED: case SK_EMAILID: case SK_THREADID:
			return 0;
		default:
			break;
		}
		if (!ascii(k->str))
			*utf8 = 1;
		if (!pushable(c, box, k->kids, utf8))
			return 0;
	}
	return 1;
}

/* Do keys k select every message (no work worth a round trip)? */
static int all_only(const struct search_key *k)
{
	for (; k; k = k->next)
		if (k->op != SK_ALL && (k->op != SK_AND || !all_only(k->kids)))
			return 0;
	return 1;
}

/* A message set with "*" resolved to max. */
static void set_text(struct imap_conn *c, const struct numset *set, uint32_t max)
{
	for (size_t i = 0; i < set->n; i++) {
		uint32_t lo = set->r[i].lo == NUMSET_STAR ? max : set->r[i].lo;
		uint32_t hi = set->r[i].hi == NUMSET_STAR ? max : set->r[i].hi;
		imap_cmd_text(c, i ? "," : "");
		imap_cmd_text(c, lo == hi ? "%u" : "%u:%u", lo, hi);
	}
}

/* SK_FLAGS / SK_UNFLAGS as one parenthesised group of keys. */
static void flags_text(struct imap_conn *c, const struct mailbox *box, const struct search_key *k)
{
	int on = k->op == SK_FLAGS, n = 0;

	if (k->keyword == -2) {
		imap_cmd_text(c, "NOT ALL");   /* a keyword no message has */
		return;
	}
	imap_cmd_text(c, "(");
	for (size_t i = 0; i < ARRAY_SIZE(flag_keys); i++)
		if (k->flags & flag_keys[i].flag)
			imap_cmd_text(c, "%s%s", n++ ? " " : "", on ? flag_keys[i].on : flag_keys[i].off);
	if (k->keyword >= 0)
		imap_cmd_text(c, "%s%s %s", n++ ? " " : "", on ? "KEYWORD" : "UNKEYWORD",
			      box->keywords[k->keyword]);
	imap_cmd_text(c, "%s)", n ? "" : "ALL");
}

static int render(struct imap_conn *c, struct mailbox *box, const struct search_key *k,
		  struct mail_err *err);

/* Keys k and their siblings, ANDed. */
static int render_list(struct imap_conn *c, struct mailbox *box, const struct search_key *k,
		       struct mail_err *err)
{
	if (!k)
		imap_cmd_text(c, "ALL");
	for (int first = 1; k; k = k->next, first = 0) {
		imap_cmd_text(c, "%s", first ? "" : " ");
		if (render(c, box, k, err) < 0)
			return -1;
	}
	return 0;
}

/* A key with a string argument. */
static int render_string(struct imap_conn *c, const char *name, const char *s,
			 struct mail_err *err)
{
	imap_cmd_text(c, "%s ", name);
	return imap_cmd_string(c, s ? s : "", s ? strlen(s) : 0, err);
}

/* SK_HEADER: FROM/TO/CC/BCC for an address field, else HEADER field string. */
static int render_header(struct imap_conn *c, const struct search_key *k, struct mail_err *err)
{
	if (k->address)
		return render_string(c, k->field, k->str, err);   /* FROM, TO, CC, BCC */
	imap_cmd_text(c, "HEADER ");
	if (imap_cmd_string(c, k->field, strlen(k->field), err) < 0)
		return -1;
	return render_string(c, "", k->str, err);
}

/* One key (pushable said it can be written). */
static int render(struct imap_conn *c, struct mailbox *box, const struct search_key *k,
		  struct mail_err *err)
{
	static const char *const months[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
					     "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
	static const char *const names[] = {
		[SK_BEFORE] = "BEFORE", [SK_ON] = "ON", [SK_SINCE] = "SINCE",
		[SK_SENTBEFORE] = "SENTBEFORE", [SK_SENTON] = "SENTON",
		[SK_SENTSINCE] = "SENTSINCE", [SK_LARGER] = "LARGER", [SK_SMALLER] = "SMALLER",
		[SK_BODY] = "BODY", [SK_TEXT] = "TEXT", [SK_OLDER] = "OLDER",
		[SK_YOUNGER] = "YOUNGER",
	};

	switch (k->op) {
	case SK_AND:
		imap_cmd_text(c, "(");
		if (render_list(c, box, k->kids, err) < 0)
			return -1;
		imap_cmd_text(c, ")");
		return 0;
	case SK_OR:
		imap_cmd_text(c, "OR ");
		if (render(c, box, k->kids, err) < 0)
			return -1;
		imap_cmd_text(c, " ");
		return render(c, box, k->kids->next, err);
	case SK_NOT:
		imap_cmd_text(c, "NOT ");
		return render(c, box, k->kids, err);
	case SK_MSGNOS:
		set_text(c, &k->set, box->nmsgs);
		return 0;
	case SK_UIDS:
		imap_cmd_text(c, "UID ");
		set_text(c, &k->set, box->msgs[box->nmsgs - 1]->uid);
		return 0;
	case SK_FLAGS:
	case SK_UNFLAGS:
		flags_text(c, box, k);
		return 0;
	case SK_NEW:
	case SK_OLD:
		imap_cmd_text(c, k->op == SK_NEW ? "NEW" : "OLD");
		return 0;
	case SK_BEFORE: case SK_ON: case SK_SINCE:
	case SK_SENTBEFORE: case SK_SENTON: case SK_SENTSINCE:
		imap_cmd_text(c, "%s %d-%s-%d", names[k->op], k->day, months[k->month - 1], k->year);
		return 0;
	case SK_LARGER:
	case SK_SMALLER:
		imap_cmd_text(c, "%s %llu", names[k->op], (unsigned long long)k->size);
		return 0;
	case SK_OLDER:
	case SK_YOUNGER:
		imap_cmd_text(c, "%s %u", names[k->op], k->seconds);
		return 0;
	case SK_HEADER:
		return render_header(c, k, err);
	case SK_BODY:
	case SK_TEXT:
		return render_string(c, names[k->op], k->str, err);
	default:
		imap_cmd_text(c, "ALL");
		return 0;
	}
}

/* A UID heard, kept in the server's order. */
static void uid_heard(struct answer *a, uint64_t uid)
{
	if (!uid || uid > UINT32_MAX || a->n >= ANSWER_MAX(a->box))
		return;
	if (a->n == a->cap) {
		a->cap = a->cap ? 2 * a->cap : 64;
		a->uids = xrealloc(a->uids, a->cap * sizeof *a->uids);
	}
	a->uids[a->n++] = (uint32_t)uid;
}

/* A new node of the tree (msgno: the UID for now); its index. */
static int32_t node_new(struct thread_tree *t, uint32_t uid)
{
	t->nodes = xrealloc(t->nodes, (t->n + 1) * sizeof *t->nodes);
	t->nodes[t->n] = (struct thread_node){uid, -1, -1};
	return (int32_t)t->n++;
}

/* One thread-list's items (RFC 5256 4: members, then nested lists, which
 * are the last member's children); the index of its first node. A list
 * with no members is a dummy holding its children together. */
static int32_t thread_list(struct answer *a, const struct imap_item *it)
{
	struct thread_tree *t = a->tree;
	int32_t first = -1, last = -1, kids = -1, prev = -1;

	for (; it && it->type == II_NUMBER; it = it->next) {
		int32_t i = node_new(t, it->num && it->num <= UINT32_MAX ? (uint32_t)it->num : 0);
		if (last >= 0)
			t->nodes[last].child = i;
		else
			first = i;
		last = i;
	}
	if (first < 0)
		first = last = node_new(t, 0);
	for (; it; it = it->next) {
		int32_t k = it->type == II_LIST ? thread_list(a, it->child) : node_new(t, 0);
		if (prev >= 0)
			t->nodes[prev].next = k;
		else
			kids = k;
		prev = k;
	}
	t->nodes[last].child = kids;
	return first;
}

/* The messages an ESEARCH set names (UIDs, or message numbers when the
 * answer lacks "UID"), heard as UIDs; a set with more ranges than the
 * mailbox could need is not read. */
static void esearch_set(struct answer *a, struct pool *pool, const struct imap_item *v, int uid)
{
	const struct mailbox *box = a->box;
	struct numset set;

	/* (a hostile server's EXPUNGE may have emptied the mailbox meanwhile) */
	if (!box->nmsgs || !imap_item_text(v) || numset_parse(pool, v->s, v->len, &set) < 0 ||
	    set.n > ANSWER_MAX(box))
		return;
	/* "*" is the last message, as in a command's set */
	uint32_t max = uid ? box->msgs[box->nmsgs - 1]->uid : box->nmsgs;
	for (size_t i = 0; i < set.n; i++) {
		uint32_t lo = set.r[i].lo == NUMSET_STAR ? max : set.r[i].lo;
		uint32_t hi = set.r[i].hi == NUMSET_STAR ? max : set.r[i].hi;
		if (lo > hi) {
			uint32_t t = lo;
			lo = hi;
			hi = t;
		}
		uint32_t j = uid ? mail_uid_lower(box, lo) : lo ? lo - 1 : 0;
		for (; j < box->nmsgs && (uid ? box->msgs[j]->uid : j + 1) <= hi &&
		       a->n < ANSWER_MAX(box); j++)
			uid_heard(a, box->msgs[j]->uid);
	}
}

/* ESEARCH data: (TAG "A0004") [UID] then name-value pairs. Ours (by the
 * tag) is read: ALL's set, MIN and MAX (one message each); COUNT adds
 * nothing the set does not say. 0, or 1 when it answers another command. */
static int esearch(struct answer *a, struct pool *pool, const struct imap_item *it)
{
	const struct imap_item *t = it && it->type == II_LIST ? it->child : NULL;
	int uid = 0;

	if (!t || !imap_item_text(t) || strcasecmp(t->s, "TAG") || !imap_item_text(t->next) ||
	    strcmp(t->next->s, a->tag))
		return 1;
	it = it->next;
	if (imap_item_text(it) && !strcasecmp(it->s, "UID")) {
		uid = 1;
		it = it->next;
	}
	for (; it && it->next; it = it->next->next) {
		const char *k = imap_item_text(it);
		if (k && (!strcasecmp(k, "ALL") || !strcasecmp(k, "MIN") || !strcasecmp(k, "MAX")))
			esearch_set(a, pool, it->next, uid);
	}
	return 0;
}

/* The answer's responses; the rest go to the mailbox. */
static void on_answer(void *ctx, const struct imap_resp *r)
{
	struct answer *a = ctx;

	if (r->kind != IR_UNTAGGED || r->has_num || !imap_resp_is(r, a->name) ||
	    (a->tag[0] && esearch(a, a->pool, r->args))) {
		a->fn(a->box, r);
		return;
	}
	if (a->tag[0])
		return;
	if (!a->tree) {
		for (const struct imap_item *it = r->args; it; it = it->next)
			if (it->type == II_NUMBER)
				uid_heard(a, it->num);
		return;
	}
	thread_tree_free(a->tree);   /* a second THREAD response replaces the first */
	a->tree->first = -1;
	int32_t prev = -1;
	for (const struct imap_item *it = r->args; it; it = it->next) {
		if (it->type != II_LIST)
			continue;
		int32_t i = thread_list(a, it->child);
		if (prev >= 0)
			a->tree->nodes[prev].next = i;
		else
			a->tree->first = i;
		prev = i;
	}
}

/* End the command; 1 (work here) when the server refused it. */
static int answer_end(struct imap_conn *c, struct answer *a, struct mail_err *err)
{
	if (imap_cmd_end(c, on_answer, a, err) == 0)
		return 0;
	return c->bye ? -1 : 1;   /* a NO or BAD (BADCHARSET ...) says only "not here" */
}

/* UID SEARCH of key, its answer into match. */
int imap_push_search(struct imap_conn *c, struct mailbox *box, imap_untagged_fn fn,
		     const struct search_key *key, uint8_t *match, struct mail_err *err)
{
	struct answer a = {.box = box, .fn = fn, .name = c->rev2 ? "ESEARCH" : "SEARCH",
			   .pool = c->pool};
	int utf8 = 0, r;

	if (!box->nmsgs || all_only(key) || !pushable(c, box, key, &utf8))
		return 1;
	/* no RETURN: RFC 9051 answers ALL, the one answer a match set needs */
	imap_cmd_begin(c, "UID SEARCH %s", utf8 ? "CHARSET UTF-8 " : "");
	if (c->rev2)
		imap_cmd_tag(c, a.tag, sizeof a.tag);
	if (render_list(c, box, key, err) < 0)
		return -1;
	if ((r = answer_end(c, &a, err)) == 0) {
		memset(match, 0, box->nmsgs);
		for (size_t i = 0; i < a.n; i++) {
			uint32_t m = mail_msgno(box, a.uids[i]);
			if (m)
				match[m - 1] = 1;
		}
	}
	free(a.uids);
	return r;
}

/* "UID 3:5,9" for the matching messages, "ALL" for all; 0, or 1 when the
 * set would be too long to send. */
static int match_text(struct mailbox *box, const uint8_t *match, struct buf *out)
{
	size_t n = 0;

	for (uint32_t i = 0; i < box->nmsgs; i++) {
		if (!match[i])
			continue;
		uint32_t j = i;
		while (j + 1 < box->nmsgs && match[j + 1])
			j++;
		buf_puts(out, n++ ? "," : "UID ");
		buf_printf(out, i == j ? "%u" : "%u:%u", box->msgs[i]->uid, box->msgs[j]->uid);
		if (i == 0 && j + 1 == box->nmsgs) {
			buf_reset(out);
			buf_puts(out, "ALL");
		}
		i = j;
	}
	return out->len > SET_TEXT_MAX || !n;
}

/* Begin SORT or THREAD: "UID verb how US-ASCII set"; 1 when not worth it. */
static int begin_over(struct imap_conn *c, struct mailbox *box, const char *verb,
		      const char *how, const uint8_t *match)
{
	struct buf set;
	int r;

	buf_init(&set);
	if ((r = box->nmsgs ? match_text(box, match, &set) : 1) == 0)
		imap_cmd_begin(c, "UID %s %s US-ASCII %s", verb, how, set.data);
	buf_free(&set);
	return r;
}

/* UID SORT of the matching messages, their numbers in order into out. */
int imap_push_sort(struct imap_conn *c, struct mailbox *box, imap_untagged_fn fn,
		   const struct sort_crit *crit, size_t ncrit, const uint8_t *match,
		   uint32_t *out, size_t *nout, struct mail_err *err)
{
	static const char *const keys[] = {
		[SORT_ARRIVAL] = "ARRIVAL", [SORT_CC] = "CC", [SORT_DATE] = "DATE",
		[SORT_FROM] = "FROM", [SORT_SIZE] = "SIZE", [SORT_SUBJECT] = "SUBJECT",
		[SORT_TO] = "TO", [SORT_DISPLAYFROM] = "DISPLAYFROM", [SORT_DISPLAYTO] = "DISPLAYTO",
	};
	struct answer a = {.box = box, .fn = fn, .name = "SORT"};
	struct buf how;
	int r = !(c->caps & IC_SORT) || !ncrit;

	buf_init(&how);
	for (size_t i = 0; !r && i < ncrit; i++) {
		r = crit[i].key >= SORT_DISPLAYFROM && !(c->caps & IC_SORT_DISPLAY);
		buf_printf(&how, "%s%s%s", i ? " " : "(", crit[i].reverse ? "REVERSE " : "",
			   keys[crit[i].key]);
	}
	buf_putc(&how, ')');
	if (r || (r = begin_over(c, box, "SORT", how.data, match)) != 0 ||
	    (r = answer_end(c, &a, err)) != 0)
		goto out;
	uint8_t *seen = xcalloc(box->nmsgs + 1, 1);
	*nout = 0;
	for (size_t i = 0; i < a.n; i++) {
		uint32_t m = mail_msgno(box, a.uids[i]);
		if (m && match[m - 1] && !seen[m - 1]++)
			out[(*nout)++] = m;
	}
	free(seen);
out:
	buf_free(&how);
	free(a.uids);
	return r;
}

/* UID THREAD of the matching messages, the tree in our message numbers. */
int imap_push_thread(struct imap_conn *c, struct mailbox *box, imap_untagged_fn fn,
		     enum thread_algo algo, const uint8_t *match, struct thread_tree *out,
		     struct mail_err *err)
{
	static const struct {
		unsigned cap;
		const char *name;
	} algos[] = {
		[THREAD_ORDEREDSUBJECT] = {IC_THREAD_ORDEREDSUBJECT, "ORDEREDSUBJECT"},
		[THREAD_REFERENCES] = {IC_THREAD_REFERENCES, "REFERENCES"},
		[THREAD_REFS] = {IC_THREAD_REFS, "REFS"},
	};
	struct answer a = {.box = box, .fn = fn, .name = "THREAD", .tree = out};
	int r;

	memset(out, 0, sizeof *out);
	out->first = -1;
	if (!(c->caps & algos[algo].cap) ||
	    (r = begin_over(c, box, "THREAD", algos[algo].name, match)) != 0)
		return 1;
	if ((r = answer_end(c, &a, err)) == 0)
		for (size_t i = 0; r == 0 && i < out->n; i++) {
			uint32_t uid = out->nodes[i].msgno, m = uid ? mail_msgno(box, uid) : 0;
			out->nodes[i].msgno = m;
			r = uid && (!m || !match[m - 1]);   /* not one we asked about: do it here */
		}
	if (r) {
		thread_tree_free(out);
		out->first = -1;
	}
	return r;
}
