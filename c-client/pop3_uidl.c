/* pop3_uidl.c: the map from a POP3 server's UIDL strings to UIDs that
 * last across connections (see pop3_uidl.h, docs/network.md "UIDs"). The
 * record is the user's own file, reached only through recfile.c. */
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "fsafe.h"
#include "pop3_uidl.h"
#include "recfile.h"
#include "util.h"

#define UIDL_MAGIC "c-client-pop3 1\n"

/* Length of a UIDL string at p (up to stop or end), 0 if not one. */
static size_t uidl_len(const char *p, const char *end)
{
	size_t n = 0;

	while (p + n < end && p[n] >= 0x21 && p[n] <= 0x7e)
		n++;
	return n <= POP3_UIDL_MAX ? n : 0;
}

/* Length of the printable ASCII (space included) at p: a section's key. */
static size_t key_len(const char *p, const char *end)
{
	size_t n = 0;

	while (p + n < end && p[n] >= 0x20 && p[n] <= 0x7e)
		n++;
	return n;
}

/* See pop3_uidl.h. */
int pop3_uidl_line(const char *l, size_t len, unsigned long *no, const char **uidl,
		   size_t *ulen)
{
	const char *p = l, *end = l + len;
	size_t v, n;

	if (recfile_number(&p, end, ' ', UINT32_MAX, &v) < 0 || v == 0)
		return -1;
	n = uidl_len(p, end);
	/* RFC 1939 allows nothing after the string: a trailing space is odd too */
	if (!n || p + n != end)
		return -1;
	*no = v;
	*uidl = p;
	*ulen = n;
	return 0;
}

/* A server's section, "S validity next key\n". */
static int srv_record(const char **p, const char *end, struct pop3_uidl_set *set)
{
	size_t val, next, k = 0;

	if (recfile_number(p, end, ' ', UINT32_MAX, &val) < 0 || val == 0 ||
	    recfile_number(p, end, ' ', UINT32_MAX, &next) < 0 || next == 0)
		return -1;
	k = key_len(*p, end);
	if (!k || k > POP3_UIDL_KEY_MAX || *p + k == end || (*p)[k] != '\n')
		return -1;
	set->v = xrealloc(set->v, (set->n + 1) * sizeof *set->v);
	set->v[set->n++] = (struct pop3_uidl_srv){xstrndup(*p, k), (uint32_t)val,
						  (uint32_t)next, NULL, 0};
	*p += k + 1;
	return 0;
}

/* One record: a section, or "uid uidl\n" in the last one, UIDs rising
 * and below its next. */
static int uidl_record(const char **p, const char *end, void *vset)
{
	struct pop3_uidl_set *set = vset;
	size_t uid, n;

	if (**p == 'S' && *p + 1 < end && (*p)[1] == ' ') {
		*p += 2;
		return srv_record(p, end, set);
	}
	if (!set->n || recfile_number(p, end, ' ', UINT32_MAX, &uid) < 0)
		return -1;
	struct pop3_uidl_srv *sv = &set->v[set->n - 1];
	n = uidl_len(*p, end);
	if (!n || *p + n == end || (*p)[n] != '\n' || uid == 0 || uid >= sv->next ||
	    (sv->n && uid <= sv->v[sv->n - 1].uid))
		return -1;
	sv->v = xrealloc(sv->v, (sv->n + 1) * sizeof *sv->v);
	sv->v[sv->n++] = (struct pop3_uidl_ent){(uint32_t)uid, xstrndup(*p, n)};
	set->total++;
	*p += n + 1;
	return 0;
}

/* One server's entries freed (the section stays). */
static void srv_clear(struct pop3_uidl_srv *sv)
{
	for (size_t i = 0; i < sv->n; i++)
		free(sv->v[i].uidl);
	free(sv->v);
	sv->v = NULL;
	sv->n = 0;
}

/* See pop3_uidl.h. */
void pop3_uidl_free(void *vset)
{
	struct pop3_uidl_set *set = vset;

	for (size_t i = 0; i < set->n; i++) {
		srv_clear(&set->v[i]);
		free(set->v[i].key);
	}
	free(set->v);
	memset(set, 0, sizeof *set);
}

/* See pop3_uidl.h. */
int pop3_uidl_parse(const char *data, size_t len, void *set)
{
	/* every record counts: a file of empty sections is bounded too */
	if (recfile_records(data, len, UIDL_MAGIC, 2 * POP3_UIDL_ENTRIES, uidl_record, set) < 0 ||
	    ((struct pop3_uidl_set *)set)->total > POP3_UIDL_ENTRIES) {
		pop3_uidl_free(set);
		return -1;
	}
	return 0;
}

/* The record file's text. */
static void uidl_format(const void *vset, struct buf *out)
{
	const struct pop3_uidl_set *set = vset;

	buf_puts(out, UIDL_MAGIC);
	for (size_t i = 0; i < set->n; i++) {
		const struct pop3_uidl_srv *sv = &set->v[i];
		buf_printf(out, "S %u %u %s\n", sv->validity, sv->next, sv->key);
		for (size_t j = 0; j < sv->n; j++)
			buf_printf(out, "%u %s\n", sv->v[j].uid, sv->v[j].uidl);
	}
}

static const struct recfile uidl_file = {
	.name = ".c-client-pop3",
	.what = "POP3 UIDs",
	.max = POP3_UIDL_ENTRIES * (POP3_UIDL_MAX + 12) + 4096,
	.parse = pop3_uidl_parse,
	.format = uidl_format,
	.free = pop3_uidl_free,
};

struct uidl_req {
	const char *key;
	char *const *uidls;
	uint32_t n;
	uint32_t *uids, validity, next;
};

/* qsort/bsearch order of entries by UIDL string. */
static int ent_cmp(const void *a, const void *b)
{
	return strcmp(((const struct pop3_uidl_ent *)a)->uidl,
		      ((const struct pop3_uidl_ent *)b)->uidl);
}

/* The known UIDs of the request's messages into r->uids (0: new); 0 when
 * they rise in maildrop order with the new ones after them, -1 when the
 * server renumbered (UIDs would not rise with message numbers). */
static int known_uids(const struct pop3_uidl_srv *sv, struct uidl_req *r)
{
	struct pop3_uidl_ent *sorted = xmalloc((sv->n ? sv->n : 1) * sizeof *sorted);
	uint32_t last = 0;
	int rc = 0;

	if (sv->n)
		memcpy(sorted, sv->v, sv->n * sizeof *sorted);
	qsort(sorted, sv->n, sizeof *sorted, ent_cmp);
	for (uint32_t i = 0; i < r->n; i++) {
		struct pop3_uidl_ent key = {0, r->uidls[i]}, *e;
		e = bsearch(&key, sorted, sv->n, sizeof *sorted, ent_cmp);
		r->uids[i] = e ? e->uid : 0;
		if (e && (e->uid <= last || (i && !r->uids[i - 1])))
			rc = -1;
		last = e ? e->uid : last;
	}
	free(sorted);
	return rc;
}

/* The server's section in set, made (validity 0) when missing. */
static struct pop3_uidl_srv *srv_find(struct pop3_uidl_set *set, const char *key)
{
	for (size_t i = 0; i < set->n; i++)
		if (!strcmp(set->v[i].key, key))
			return &set->v[i];
	set->v = xrealloc(set->v, (set->n + 1) * sizeof *set->v);
	set->v[set->n] = (struct pop3_uidl_srv){xstrdup(key), 0, 1, NULL, 0};
	return &set->v[set->n++];
}

/* recfile_update's change: known messages keep their UIDs, new ones get
 * the next, gone ones leave the map; a renumbering server, a first visit
 * or exhausted UIDs start a new UIDVALIDITY. */
static int uidl_change(void *vset, void *ctx, struct mail_err *err)
{
	struct pop3_uidl_set *set = vset;
	struct uidl_req *r = ctx;
	struct pop3_uidl_srv *sv = srv_find(set, r->key);

	if (known_uids(sv, r) < 0 || !sv->validity || sv->next > UINT32_MAX - r->n) {
		uint32_t now = (uint32_t)time(NULL);
		sv->validity = now > sv->validity ? now : sv->validity + 1;
		sv->next = 1;
		for (uint32_t i = 0; i < r->n; i++)
			r->uids[i] = 0;
	}
	set->total -= sv->n;
	srv_clear(sv);
	if (set->total + r->n > POP3_UIDL_ENTRIES) {
		mail_err_set(err, MAIL_FAIL, "more than %u POP3 UIDs to keep", POP3_UIDL_ENTRIES);
		return -1;
	}
	sv->v = xmalloc((r->n ? r->n : 1) * sizeof *sv->v);
	for (uint32_t i = 0; i < r->n; i++) {
		if (!r->uids[i])
			r->uids[i] = sv->next++;
		sv->v[sv->n++] = (struct pop3_uidl_ent){r->uids[i], xstrdup(r->uidls[i])};
	}
	set->total += r->n;
	r->validity = sv->validity;
	r->next = sv->next;
	return 1;
}

/* See pop3_uidl.h: only in a home the user owns (PHP's www-data under a
 * root-owned /var/www keeps session numbers). */
int pop3_uidl_uids(struct mail_session *s, const char *key, char *const *uidls, uint32_t n,
		   uint32_t *uids, uint32_t *validity, uint32_t *next, struct mail_err *err)
{
	struct pop3_uidl_set set = {0};
	struct uidl_req r = {key, uidls, n, uids, 0, 0};
	struct stat st;
	int home = fsafe_home(s);
	size_t kl = strlen(key);

	if (!kl || kl > POP3_UIDL_KEY_MAX || key_len(key, key + kl) != kl) {
		mail_err_set(err, MAIL_BADNAME, "a server or user name the record cannot hold");
		return -1;
	}
	if (home < 0 || fstat(home, &st) < 0 || st.st_uid != geteuid()) {
		mail_err_set(err, MAIL_NOPERM, "no home of the user's own for ~/%s", uidl_file.name);
		return -1;
	}
	if (recfile_update(s, &uidl_file, &set, uidl_change, &r, err) < 0)
		return -1;
	*validity = r.validity;
	*next = r.next;
	return 0;
}
