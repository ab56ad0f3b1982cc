/* thread.c: the THREAD algorithms of RFC 5256 3 over a node array: a
 * Message-ID table links References chains (loops refused), dummies are
 * pruned, REFERENCES then joins threads by base subject; every walk is
 * iterative, so a reply chain as long as the mailbox cannot overflow the
 * stack. REFS is REFERENCES without the subject step, threads ordered by
 * their newest message. */
#include "thread.h"

#include <malloc.h>
#include <stdlib.h>
#include <string.h>

#include "sort.h"

struct tn {
	uint32_t msgno;            /* 0: dummy */
	int32_t parent, child, next;
	time_t date;
	const char *subject;       /* raw Subject of a message */
	/* the sort key: a dummy sorts as its first child (RFC 5256 step 4) */
	time_t kdate;
	uint32_t kmsgno;
	int gone;                  /* merged away in the subject step */
};

/* String -> node index, open addressing; keys live in the pool. */
struct strtab {
	const char **key;
	int32_t *val;
	size_t cap, used;
};

struct tctx {
	struct tn *n;
	size_t nn, cap;
	struct strtab ids;
	struct pool *pool;
	struct buf tmp;
};

/* ---------- string table ---------- */

/* FNV-1a. */
static uint64_t str_hash(const char *s)
{
	uint64_t h = 1469598103934665603ULL;

	while (*s) {
		h ^= (unsigned char)*s++;
		h *= 1099511628211ULL;
	}
	return h;
}

/* s's slot: where it is, or the empty one where it would go. */
static size_t tab_slot(const struct strtab *t, const char *s)
{
	size_t i = str_hash(s) & (t->cap - 1);

	while (t->key[i] && strcmp(t->key[i], s))
		i = (i + 1) & (t->cap - 1);
	return i;
}

static void tab_put(struct strtab *t, const char *s, int32_t v);

/* Double the table (64 slots at first), rehashing every key. */
static void tab_grow(struct strtab *t)
{
	struct strtab old = *t;

	t->cap = old.cap ? old.cap * 2 : 64;
	t->used = 0;
	t->key = xcalloc(t->cap, sizeof *t->key);
	t->val = xcalloc(t->cap, sizeof *t->val);
	for (size_t i = 0; i < old.cap; i++)
		if (old.key[i])
			tab_put(t, old.key[i], old.val[i]);
	free(old.key);
	free(old.val);
}

/* The node of s, or -1. */
static int32_t tab_get(const struct strtab *t, const char *s)
{
	size_t i;

	if (!t->cap)
		return -1;
	i = tab_slot(t, s);
	return t->key[i] ? t->val[i] : -1;
}

/* Map s (kept, not copied) to v. */
static void tab_put(struct strtab *t, const char *s, int32_t v)
{
	size_t i;

	if ((t->used + 1) * 2 > t->cap)
		tab_grow(t);
	i = tab_slot(t, s);
	if (!t->key[i]) {
		t->key[i] = s;
		t->used++;
	}
	t->val[i] = v;
}

/* Release the table (the keys belong to the pool). */
static void tab_free(struct strtab *t)
{
	free(t->key);
	free(t->val);
	memset(t, 0, sizeof *t);
}

/* ---------- nodes ---------- */

/* A new parentless, childless node (msgno 0: a dummy); its index. */
static int32_t node_new(struct tctx *c, uint32_t msgno, time_t date, const char *subject)
{
	if (c->nn == c->cap) {
		c->cap = c->cap ? c->cap * 2 : 64;
		c->n = xrealloc(c->n, c->cap * sizeof *c->n);
	}
	c->n[c->nn] = (struct tn){ .msgno = msgno, .parent = -1, .child = -1, .next = -1,
				   .date = date, .subject = subject };
	return (int32_t)c->nn++;
}

/* Would making p the parent of k close a loop (k is p or above it)? A k
 * without children is above nothing: the usual case costs no walk. */
static int would_loop(const struct tctx *c, int32_t p, int32_t k)
{
	if (p != k && c->n[k].child < 0)
		return 0;
	for (int32_t x = p; x >= 0; x = c->n[x].parent)
		if (x == k)
			return 1;
	return 0;
}

/* Make k (parentless) a child of p. */
static void link_child(struct tctx *c, int32_t p, int32_t k)
{
	c->n[k].parent = p;
	c->n[k].next = c->n[p].child;
	c->n[p].child = k;
}

/* Take k out of its parent's children. */
static void unlink_child(struct tctx *c, int32_t k)
{
	int32_t *pp = &c->n[c->n[k].parent].child;

	while (*pp != k)
		pp = &c->n[*pp].next;
	*pp = c->n[k].next;
	c->n[k].next = c->n[k].parent = -1;
}

/* ---------- step 1: Message-IDs and references ---------- */

int thread_msgid_next(const char *s, size_t len, size_t *pos, struct buf *out)
{
	size_t i = *pos, j;
	int depth = 0;

	while (i < len) {
		if (s[i] != '<' || depth) {
			depth += s[i] == '(' ? 1 : s[i] == ')' && depth ? -1 : 0;
			i += s[i] == '\\' && depth ? 2 : 1;
			continue;
		}
		buf_reset(out);
		for (j = i + 1; j < len && s[j] != '>' && s[j] != '<'; j++) {
			if (s[j] == '\\' && j + 1 < len)
				buf_putc(out, s[++j]);
			else if (!strchr("\" \t\r\n", s[j]))
				buf_putc(out, s[j]);
		}
		if (j >= len)
			break;
		i = s[j] == '<' ? j : j + 1;   /* "<a <b>": the second one starts */
		if (s[j] == '>' && out->len) {
			*pos = i;
			return 1;
		}
	}
	*pos = len;
	return 0;
}

/* The next msg-id of s[*pos..len) (thread_msgid_next), in the pool, or NULL. */
static const char *msgid_next(struct tctx *c, const char *s, size_t len, size_t *pos)
{
	if (!thread_msgid_next(s, len, pos, &c->tmp))
		return NULL;
	return pool_strndup(c->pool, c->tmp.data, c->tmp.len);
}

/* The container of id, a new dummy when unseen. */
static int32_t id_node(struct tctx *c, const char *id)
{
	int32_t k = tab_get(&c->ids, id);

	if (k < 0) {
		k = node_new(c, 0, 0, NULL);
		tab_put(&c->ids, id, k);
	}
	return k;
}

/* The message's own container: its Message-ID's (a dummy so far), or a
 * new one when it has none or an earlier message had it. */
static int32_t self_node(struct tctx *c, const struct thread_msg *m)
{
	size_t pos = 0;
	const char *id = m->message_id ? msgid_next(c, m->message_id, strlen(m->message_id), &pos)
				       : NULL;
	int32_t k = id ? tab_get(&c->ids, id) : -1;

	if (k >= 0 && c->n[k].msgno == 0) {
		c->n[k].msgno = m->msgno;
		c->n[k].date = m->date;
		c->n[k].subject = m->subject;
		return k;
	}
	int32_t self = node_new(c, m->msgno, m->date, m->subject);
	if (id && k < 0)
		tab_put(&c->ids, id, self);
	return self;
}

/* RFC 5256 REFERENCES step 1 for one message. */
static void add_message(struct tctx *c, const struct thread_msg *m)
{
	int32_t self = self_node(c, m), prev = -1;
	const char *src = m->references;
	const char *id;
	size_t pos = 0, len;

	for (int pass = 0; pass < 2 && prev < 0; pass++) {
		/* References, else the first msg-id of In-Reply-To */
		if (pass == 1)
			src = m->in_reply_to;
		len = src ? strlen(src) : 0;
		pos = 0;
		while (src && (id = msgid_next(c, src, len, &pos))) {
			int32_t k = id_node(c, id);

			/* (A) keep existing links; refuse loops */
			if (prev >= 0 && c->n[k].parent < 0 && !would_loop(c, prev, k))
				link_child(c, prev, k);
			prev = k;
			if (pass == 1)
				break;
		}
	}
	/* (B) the last reference is the parent, replacing a guessed one */
	if (c->n[self].parent >= 0)
		unlink_child(c, self);
	if (prev >= 0 && !would_loop(c, prev, self))
		link_child(c, prev, self);
}

/* ---------- walks ---------- */

/* Nodes under root in preorder (root first); ord needs room for every
 * node, as does the scratch stack. Returns the count. */
static size_t tree_order(const struct tctx *c, int32_t root, int32_t *ord, int32_t *stack)
{
	size_t n = 0, sp = 0;

	stack[sp++] = root;
	while (sp) {
		int32_t x = stack[--sp];

		ord[n++] = x;
		for (int32_t k = c->n[x].child; k >= 0; k = c->n[k].next)
			stack[sp++] = k;
	}
	return n;
}

/* Step 3 for x's children (theirs already done): dummies go, their
 * children taking their place, except a dummy with several children
 * under the root, which stays. */
static void prune_children(struct tctx *c, int32_t x, int is_root)
{
	int32_t head = -1, *tail = &head;

	for (int32_t k = c->n[x].child, next; k >= 0; k = next) {
		struct tn *t = &c->n[k];

		next = t->next;
		if (t->msgno == 0 && (!is_root || t->child < 0 || c->n[t->child].next < 0)) {
			for (int32_t g = t->child; g >= 0; g = c->n[g].next) {
				c->n[g].parent = x;
				*tail = g;
				tail = &c->n[g].next;
			}
			t->child = -1;
			continue;
		}
		*tail = k;
		tail = &t->next;
	}
	*tail = -1;
	c->n[x].child = head;
}

struct sort_arg {
	const struct tctx *c;
	const time_t *newest;      /* REFS top level: per node, else NULL */
};

/* qsort_r comparator: sent date (for REFS roots, the newest), then
 * mailbox order. */
static int node_cmp(const void *pa, const void *pb, void *arg)
{
	const struct sort_arg *sa = arg;
	int32_t a = *(const int32_t *)pa, b = *(const int32_t *)pb;
	const struct tn *x = &sa->c->n[a], *y = &sa->c->n[b];
	time_t dx = sa->newest ? sa->newest[a] : x->kdate;
	time_t dy = sa->newest ? sa->newest[b] : y->kdate;

	if (dx != dy)
		return dx < dy ? -1 : 1;
	return x->kmsgno < y->kmsgno ? -1 : x->kmsgno > y->kmsgno;
}

/* Order x's children by sent date (ties: mailbox order), then give x its
 * own sort key. */
static void sort_children(struct tctx *c, int32_t x, const time_t *newest, int32_t *buf)
{
	struct sort_arg sa = { c, newest };
	size_t n = 0;

	for (int32_t k = c->n[x].child; k >= 0; k = c->n[k].next)
		buf[n++] = k;
	if (n > 1)
		qsort_r(buf, n, sizeof *buf, node_cmp, &sa);
	for (size_t i = 0; i < n; i++)
		c->n[buf[i]].next = i + 1 < n ? buf[i + 1] : -1;
	c->n[x].child = n ? buf[0] : -1;
	if (c->n[x].msgno) {
		c->n[x].kdate = c->n[x].date;
		c->n[x].kmsgno = c->n[x].msgno;
	} else if (n) {
		c->n[x].kdate = c->n[buf[0]].kdate;
		c->n[x].kmsgno = c->n[buf[0]].kmsgno;
	}
}

/* Steps 4 and 6: every sibling set sorted, the deepest first. For REFS the
 * top level goes by each thread's newest message instead. */
static void sort_all(struct tctx *c, int32_t root, int refs)
{
	int32_t *ord = xcalloc(c->nn, sizeof *ord), *scratch = xcalloc(c->nn, sizeof *scratch);
	time_t *newest = refs ? xcalloc(c->nn, sizeof *newest) : NULL;
	size_t n = tree_order(c, root, ord, scratch);

	for (size_t i = n; i-- > 1;) {
		int32_t x = ord[i];

		sort_children(c, x, NULL, scratch);
		if (!refs)
			continue;
		if (c->n[x].msgno && c->n[x].date > newest[x])
			newest[x] = c->n[x].date;
		if (c->n[x].parent >= 0 && c->n[x].parent != root &&
		    newest[x] > newest[c->n[x].parent])
			newest[c->n[x].parent] = newest[x];
	}
	sort_children(c, root, newest, scratch);
	free(ord);
	free(scratch);
	free(newest);
}

/* Steps 2 and 3: every parentless node under a new root, dummies pruned.
 * Returns the root. */
static int32_t gather_and_prune(struct tctx *c)
{
	size_t nn = c->nn;
	int32_t root = node_new(c, 0, 0, NULL);
	int32_t *ord = xcalloc(c->nn, sizeof *ord), *stack = xcalloc(c->nn, sizeof *stack);

	for (size_t i = nn; i-- > 0;)
		if (c->n[i].parent < 0)
			link_child(c, root, (int32_t)i);
	size_t n = tree_order(c, root, ord, stack);
	for (size_t i = n; i-- > 0;)
		prune_children(c, ord[i], ord[i] == root);
	free(ord);
	free(stack);
	return root;
}

/* ---------- step 5: subjects ---------- */

struct top {
	int32_t node;
	const char *subject;       /* collated base subject; "" skips */
	int fwd;
};

/* The collated base subject of a raw Subject into the pool; *fwd says
 * whether the extraction removed a reply or forward marker. */
static const char *subject_key(struct tctx *c, const char *raw, int *fwd)
{
	struct buf base;

	buf_init(&base);
	*fwd = raw ? sort_base_subject(raw, strlen(raw), &base) : 0;
	buf_reset(&c->tmp);
	sort_collate_key(base.data ? base.data : "", base.len, &c->tmp);
	buf_free(&base);
	return pool_strndup(c->pool, c->tmp.data ? c->tmp.data : "", c->tmp.len);
}

/* Move top-level thread k under parent (step 5 D). */
static void adopt(struct tctx *c, int32_t parent, int32_t k)
{
	c->n[k].gone = 1;
	link_child(c, parent, k);
}

/* (D) merge top-level thread t into h, the table's thread of its subject;
 * returns what the table holds for the subject afterwards. */
static int32_t merge(struct tctx *c, int32_t h, const struct top *t, int h_fwd)
{
	int32_t k = t->node;

	if (!c->n[k].msgno && !c->n[h].msgno) {
		while (c->n[k].child >= 0) {
			int32_t g = c->n[k].child;

			c->n[k].child = c->n[g].next;
			link_child(c, h, g);
		}
		c->n[k].gone = 1;
		return h;
	}
	if (!c->n[h].msgno || (t->fwd && !h_fwd)) {
		adopt(c, h, k);
		return h;
	}
	int32_t d = node_new(c, 0, 0, NULL);
	adopt(c, d, h);
	adopt(c, d, k);
	return d;
}

/* Step 5: threads whose first messages share a base subject are joined. */
static void group_subjects(struct tctx *c, int32_t root)
{
	struct strtab tab = { 0 };
	struct top *tops;
	size_t n = 0;
	int *fwd_of = NULL;

	for (int32_t k = c->n[root].child; k >= 0; k = c->n[k].next)
		n++;
	tops = xcalloc(n + 1, sizeof *tops);
	fwd_of = xcalloc(c->nn + n + 1, sizeof *fwd_of);
	n = 0;
	for (int32_t k = c->n[root].child; k >= 0; k = c->n[k].next) {
		int32_t m = c->n[k].msgno ? k : c->n[k].child;

		tops[n].node = k;
		tops[n].subject = subject_key(c, c->n[m].subject, &tops[n].fwd);
		fwd_of[k] = tops[n].fwd;
		n++;
	}
	/* (C) one thread per subject: a dummy first, else a non-reply */
	for (size_t i = 0; i < n; i++) {
		int32_t h;

		if (!*tops[i].subject)
			continue;
		h = tab_get(&tab, tops[i].subject);
		if (h < 0 || (c->n[h].msgno && (!c->n[tops[i].node].msgno ||
						 (fwd_of[h] && !tops[i].fwd))))
			tab_put(&tab, tops[i].subject, tops[i].node);
	}
	/* (D) the others join it */
	size_t dummies_from = c->nn;
	for (size_t i = 0; i < n; i++) {
		int32_t h;

		if (!*tops[i].subject || (h = tab_get(&tab, tops[i].subject)) == tops[i].node)
			continue;
		tab_put(&tab, tops[i].subject, merge(c, h, &tops[i], fwd_of[h]));
	}
	/* the top level again: what stayed, then the new dummies */
	int32_t head = -1, *tail = &head;
	for (size_t i = 0; i < n; i++) {
		if (c->n[tops[i].node].gone)
			continue;
		*tail = tops[i].node;
		tail = &c->n[tops[i].node].next;
	}
	for (size_t k = dummies_from; k < c->nn; k++) {
		if (c->n[k].gone)
			continue;
		c->n[k].parent = root;
		*tail = (int32_t)k;
		tail = &c->n[k].next;
	}
	*tail = -1;
	c->n[root].child = head;
	free(tops);
	free(fwd_of);
	tab_free(&tab);
}

/* ---------- ORDEREDSUBJECT ---------- */

struct os_arg {
	const char **key;
	const struct thread_msg *msgs;
};

/* qsort_r comparator: base subject, sent date, mailbox order. */
static int os_cmp(const void *pa, const void *pb, void *arg)
{
	const struct os_arg *o = arg;
	int32_t a = *(const int32_t *)pa, b = *(const int32_t *)pb;
	int r = strcmp(o->key[a], o->key[b]);

	if (r)
		return r;
	if (o->msgs[a].date != o->msgs[b].date)
		return o->msgs[a].date < o->msgs[b].date ? -1 : 1;
	return o->msgs[a].msgno < o->msgs[b].msgno ? -1 : o->msgs[a].msgno > o->msgs[b].msgno;
}

/* Sorted by base subject then date; each subject's first message heads
 * a thread with the rest as its children (RFC 5256: no grandchildren). */
static int32_t ordered_subject(struct tctx *c, const struct thread_msg *msgs, size_t n)
{
	const char **key = xcalloc(n + 1, sizeof *key);
	int32_t *ord = xcalloc(n + 1, sizeof *ord), root, head = -1, *tail = NULL;
	struct os_arg o = { key, msgs };
	int fwd;

	for (size_t i = 0; i < n; i++) {
		node_new(c, msgs[i].msgno, msgs[i].date, msgs[i].subject);
		key[i] = subject_key(c, msgs[i].subject, &fwd);
		ord[i] = (int32_t)i;
	}
	root = node_new(c, 0, 0, NULL);
	qsort_r(ord, n, sizeof *ord, os_cmp, &o);
	for (size_t i = 0; i < n; i++) {
		int32_t k = ord[i];

		if (i && !strcmp(key[k], key[ord[i - 1]])) {
			c->n[k].parent = head;
			*tail = k;
			tail = &c->n[k].next;
			continue;
		}
		head = k;
		tail = &c->n[k].child;
		link_child(c, root, k);
	}
	free(key);
	free(ord);
	return root;
}

/* ---------- entry points ---------- */

void thread_build(enum thread_algo algo, const struct thread_msg *msgs, size_t n,
		  struct thread_tree *out)
{
	struct tctx c = { .pool = pool_new() };
	int32_t root;

	buf_init(&c.tmp);
	if (algo == THREAD_ORDEREDSUBJECT) {
		root = ordered_subject(&c, msgs, n);
	} else {
		for (size_t i = 0; i < n; i++)
			add_message(&c, &msgs[i]);
		root = gather_and_prune(&c);
		if (algo == THREAD_REFERENCES) {
			sort_all(&c, root, 0);
			group_subjects(&c, root);
		}
	}
	sort_all(&c, root, algo == THREAD_REFS);
	out->n = c.nn;
	out->nodes = xcalloc(c.nn + 1, sizeof *out->nodes);
	for (size_t i = 0; i < c.nn; i++)
		out->nodes[i] = (struct thread_node){ c.n[i].msgno, c.n[i].child, c.n[i].next };
	out->first = c.n[root].child;
	free(c.n);
	tab_free(&c.ids);
	buf_free(&c.tmp);
	pool_free(c.pool);
}

int thread_run(struct mailbox *box, enum thread_algo algo, const uint8_t *match,
	       struct thread_tree *out, struct mail_err *err)
{
	int pushed = box->drv && box->drv->thread ?
		     box->drv->thread(box, (int)algo, match, out, err) : 1;
	if (pushed <= 0)
		return pushed;
	unsigned mask = 1u << SF_SUBJECT | 1u << SF_DATE;
	struct thread_msg *msgs = xcalloc(box->nmsgs + 1, sizeof *msgs);
	struct pool *pool = pool_new();
	size_t n = 0;
	int rc = 0;

	memset(out, 0, sizeof *out);
	out->first = -1;
	if (algo != THREAD_ORDEREDSUBJECT)
		mask |= 1u << SF_MESSAGE_ID | 1u << SF_REFERENCES | 1u << SF_IN_REPLY_TO;
	for (uint32_t i = 0; i < box->nmsgs && rc == 0; i++) {
		char *v[SF_COUNT];

		if (!match[i])
			continue;
		rc = sort_fields_get(box, i + 1, mask, pool, v, err);
		msgs[n++] = (struct thread_msg){ i + 1, sort_sent_date(box->msgs[i], v[SF_DATE]),
						 v[SF_SUBJECT], v[SF_MESSAGE_ID],
						 v[SF_REFERENCES], v[SF_IN_REPLY_TO] };
	}
	if (rc == 0)
		thread_build(algo, msgs, n, out);
	free(msgs);
	pool_free(pool);
	/* the header fields of every message were held at once: give those
	 * pages back rather than keep them for the rest of the session */
	malloc_trim(0);
	return rc;
}

void thread_tree_free(struct thread_tree *t)
{
	free(t->nodes);
	memset(t, 0, sizeof *t);
	t->first = -1;
}
