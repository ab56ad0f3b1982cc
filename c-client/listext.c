/* listext.c: LIST-EXTENDED (RFC 5258) and the SPECIAL-USE selection (RFC
 * 6154) over mail_list and the subscription list: the mailboxes matching
 * any pattern are gathered once, then the selection picks from them or
 * from the subscriptions, and the attributes are completed. */
#include "listext.h"
#include "specialuse.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

struct item {
	char *name;
	int attrs;
	size_t order;             /* output order after INBOX; then by name */
};

struct items {
	struct item *v;
	size_t n;
};

/* Append a copy of name with its attributes. */
static void items_add(struct items *it, const char *name, int attrs, size_t order)
{
	it->v = xrealloc(it->v, (it->n + 1) * sizeof *it->v);
	it->v[it->n++] = (struct item){ xstrdup(name), attrs, order };
}

/* Free the names and the array; it is empty after. */
static void items_free(struct items *it)
{
	for (size_t i = 0; i < it->n; i++)
		free(it->v[i].name);
	free(it->v);
	memset(it, 0, sizeof *it);
}

/* mail_list's callback: in the order the walk reports them. */
static void collect(void *ctx, const char *name, int attrs)
{
	struct items *it = ctx;

	items_add(it, name, attrs, it->n);
}

/* qsort order for lookups: by name, then as found. */
static int by_name(const void *a, const void *b)
{
	const struct item *x = a, *y = b;
	int c = strcmp(x->name, y->name);

	return c ? c : (x->order > y->order) - (x->order < y->order);
}

/* INBOX first, then the order given, then by name. */
static int by_output(const void *a, const void *b)
{
	const struct item *x = a, *y = b;
	int xi = !strcmp(x->name, "INBOX"), yi = !strcmp(y->name, "INBOX");

	if (xi != yi)
		return yi - xi;
	if (x->order != y->order)
		return x->order < y->order ? -1 : 1;
	return strcmp(x->name, y->name);
}

/* Sort by name and merge each name's entries into its first one (the
 * attributes together), so lookups can bsearch. */
static void items_unique(struct items *it)
{
	size_t k = 0;

	if (it->n)
		qsort(it->v, it->n, sizeof *it->v, by_name);
	for (size_t i = 0; i < it->n; i++) {
		if (k && !strcmp(it->v[k - 1].name, it->v[i].name)) {
			it->v[k - 1].attrs |= it->v[i].attrs;
			free(it->v[i].name);
		} else {
			it->v[k++] = it->v[i];
		}
	}
	it->n = k;
}

/* The entry called name in an items_unique'd array, or NULL. */
static const struct item *items_find(const struct items *it, const char *name)
{
	size_t lo = 0, hi = it->n;

	/* by_name's order; names are unique here */
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		int c = strcmp(it->v[mid].name, name);
		if (!c)
			return &it->v[mid];
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

struct want {
	const char *ref;
	char *const *pats;
	size_t npat;
};

/* Does some pattern of the request match name? */
static int wanted(const struct want *w, const char *name)
{
	for (size_t i = 0; i < w->npat; i++)
		if (*w->pats[i] && mail_list_match(w->ref, w->pats[i], name))
			return 1;
	return 0;
}

/* name as found by the listing, or \NonExistent, with more attributes. */
static void add_known(struct items *out, const struct items *found, const char *name, int more)
{
	const struct item *f = items_find(found, name);

	items_add(out, name, (f ? f->attrs : LA_NONEXISTENT) | more, 0);
}

/* The parents of name that a pattern matches: added to out, or (when
 * name itself is listed) only marked there, as Dovecot does. */
static void recursive_parents(const struct want *w, const struct items *found, const char *name,
			      struct items *out, struct items *mark)
{
	char *parent = xstrdup(name);
	int listed = wanted(w, name);

	for (size_t k = strlen(parent); k-- > 1;) {
		if (parent[k] != '/')
			continue;
		parent[k] = '\0';
		if (!wanted(w, parent))
			continue;
		if (listed)
			items_add(mark, parent, 0, 0);
		else
			add_known(out, found, parent, LA_CHILD_SUBSCRIBED);
	}
	free(parent);
}

/* SUBSCRIBED selection: the subscribed names that match; with RECURSIVE
 * also the matching parents of subscribed names that do not (CHILDINFO,
 * RFC 5258 3.5). */
static void select_subscribed(const struct want *w, const struct items *found, char **subs,
			      size_t nsubs, unsigned opts, struct items *out)
{
	struct items mark = { 0 };

	for (size_t i = 0; i < nsubs; i++) {
		if (wanted(w, subs[i]))
			add_known(out, found, subs[i], LA_SUBSCRIBED);
		if (opts & MAIL_LIST_RECURSIVE)
			recursive_parents(w, found, subs[i], out, &mark);
	}
	items_unique(out);
	for (size_t i = 0; i < mark.n; i++) {
		struct item *it = (struct item *)items_find(out, mark.v[i].name);
		if (it)
			it->attrs |= LA_CHILD_SUBSCRIBED;
	}
	items_free(&mark);
}

/* mail_list's callback for has_children: count what is listed. */
static void count_one(void *ctx, const char *name, int attrs)
{
	(void)name;
	(void)attrs;
	(*(size_t *)ctx)++;
}

/* Does name have a mailbox (or directory of them) below it? */
static int has_children(struct mail_session *s, const char *name)
{
	size_t n = 0, len = strlen(name);
	char *pat = xmalloc(len + 3);
	struct mail_err err;

	memcpy(pat, name, len);
	memcpy(pat + len, "/%", 3);
	if (mail_list(s, "", pat, count_one, &n, &err) < 0)
		n = 0;
	free(pat);
	return n > 0;
}

/* Complete the attributes, apply the SPECIAL-USE selection, report. */
static void report(struct mail_session *s, struct items *out, unsigned opts, mail_list_fn fn,
		   void *ctx)
{
	/* CHILDREN (RFC 3348) and SPECIAL-USE on every plain LIST; the
	 * extended one on request */
	int plain = !(opts & MAIL_LIST_EXTENDED);
	int tell = plain || (opts & MAIL_LIST_RET_CHILDREN);
	struct mail_uses *uses = plain || (opts & (MAIL_LIST_SPECIAL | MAIL_LIST_RET_SPECIAL)) ?
				 mail_uses_load(s) : NULL;

	if (out->n)
		qsort(out->v, out->n, sizeof *out->v, by_output);
	for (size_t i = 0; i < out->n; i++) {
		struct item *it = &out->v[i];
		if (!(it->attrs & LA_NONEXISTENT) && uses)
			it->attrs |= mail_uses_of(s, uses, it->name);
		if ((opts & MAIL_LIST_SPECIAL) && !(it->attrs & LA_SPECIAL))
			continue;
		if (!tell)
			it->attrs &= ~(LA_HASCHILDREN | LA_HASNOCHILDREN);
		else if (!(it->attrs & (LA_HASCHILDREN | LA_HASNOCHILDREN | LA_NOINFERIORS)))
			it->attrs |= has_children(s, it->name) ? LA_HASCHILDREN : LA_HASNOCHILDREN;
		fn(ctx, it->name, it->attrs);
	}
	mail_uses_free(uses);
}

/* \Subscribed on the listed mailboxes that are subscribed. */
static void mark_subscribed(struct items *found, char **subs, size_t nsubs)
{
	struct items sorted = { 0 };

	for (size_t i = 0; i < nsubs; i++)
		items_add(&sorted, subs[i], 0, 0);
	items_unique(&sorted);
	for (size_t i = 0; i < found->n; i++)
		if (items_find(&sorted, found->v[i].name))
			found->v[i].attrs |= LA_SUBSCRIBED;
	items_free(&sorted);
}

int mail_list_ext(struct mail_session *s, const char *ref, char *const *patterns, size_t npat,
		  unsigned opts, mail_list_fn fn, void *ctx, struct mail_err *err)
{
	const struct want w = { ref, patterns, npat };
	struct items found = { 0 }, out = { 0 };
	char **subs = NULL;
	size_t nsubs = 0;
	int rc = 0;

	for (size_t i = 0; i < npat && rc == 0; i++)
		if (*patterns[i])
			rc = mail_list(s, ref, patterns[i], collect, &found, err);
	if (rc == 0 && (opts & (MAIL_LIST_SUBSCRIBED | MAIL_LIST_RET_SUBSCRIBED)))
		rc = mail_subscriptions(s, &subs, &nsubs, err);
	if (rc == 0) {
		items_unique(&found);
		if (opts & MAIL_LIST_SUBSCRIBED) {
			select_subscribed(&w, &found, subs, nsubs, opts, &out);
		} else {
			if (opts & MAIL_LIST_RET_SUBSCRIBED)
				mark_subscribed(&found, subs, nsubs);
			out = found;
			memset(&found, 0, sizeof found);
		}
		report(s, &out, opts, fn, ctx);
	}
	mail_subscriptions_free(subs, nsubs);
	items_free(&found);
	items_free(&out);
	return rc;
}
