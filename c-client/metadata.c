/* metadata.c: the per-user METADATA file. Each record is a line of three
 * decimal lengths, then the mailbox, entry name and value octets and a
 * newline; values may hold any octet, so nothing is escaped. */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "log.h"
#include "metadata.h"
#include "recfile.h"

#define META_MAGIC "imapd-metadata 1\n"
/* the largest file we write: every entry at its largest */
#define META_FILE_MAX ((size_t)MAIL_META_MAXENTRIES * (MAIL_META_MAXSIZE + 2 * MAIL_META_NAME_MAX + 64))

int mail_meta_name_valid(const char *name, size_t len)
{
	if (len > MAIL_META_NAME_MAX || len < 2 || name[0] != '/' || name[len - 1] == '/')
		return 0;
	for (size_t i = 0; i < len; i++) {
		unsigned char ch = (unsigned char)name[i];
		if (ch <= 0x20 || ch >= 0x7f || ch == '*' || ch == '%' ||
		    (ch == '/' && i + 1 < len && name[i + 1] == '/'))
			return 0;
	}
	return (len > 8 && !strncasecmp(name, "/private/", 9)) ||
	       (len > 7 && !strncasecmp(name, "/shared/", 8));
}

void mail_meta_free(struct mail_meta_set *set)
{
	for (size_t i = 0; i < set->n; i++) {
		free(set->v[i].box);
		free(set->v[i].name);
		free(set->v[i].value);
	}
	free(set->v);
	set->v = NULL;
	set->n = 0;
}

/* Append a copy of the entry to set. */
static void meta_add(struct mail_meta_set *set, const char *box, size_t blen, const char *name,
		     size_t nlen, const char *value, size_t vlen)
{
	set->v = xrealloc(set->v, (set->n + 1) * sizeof *set->v);
	struct mail_meta *m = &set->v[set->n++];
	m->box = xstrndup(box, blen);
	m->name = xstrndup(name, nlen);
	m->value = xmalloc(vlen + 1);
	memcpy(m->value, value, vlen);
	m->value[vlen] = '\0';
	m->len = vlen;
}

/* One record at *p; -1 when damaged. */
static int meta_record(const char **p, const char *end, void *vset)
{
	size_t bl, nl, vl;

	if (recfile_number(p, end, ' ', MAIL_META_NAME_MAX, &bl) < 0 ||
	    recfile_number(p, end, ' ', MAIL_META_NAME_MAX, &nl) < 0 ||
	    recfile_number(p, end, '\n', MAIL_META_MAXSIZE, &vl) < 0 ||
	    (size_t)(end - *p) < bl + nl + vl + 1 || (*p)[bl + nl + vl] != '\n')
		return -1;
	const char *b = *p, *n = b + bl, *v = n + nl;
	if (memchr(b, '\0', bl) || !mail_meta_name_valid(n, nl))
		return -1;
	meta_add(vset, b, bl, n, nl, v, vl);
	*p = v + vl + 1;
	return 0;
}

int mail_meta_parse(const char *data, size_t len, struct mail_meta_set *set)
{
	set->v = NULL;
	set->n = 0;
	if (recfile_records(data, len, META_MAGIC, MAIL_META_MAXENTRIES, meta_record, set) < 0) {
		mail_meta_free(set);
		return -1;
	}
	return 0;
}

/* recfile's parse hook: mail_meta_parse. */
static int meta_parse_hook(const char *data, size_t len, void *set)
{
	return mail_meta_parse(data, len, set);
}

/* recfile's format hook: the set as the file's text. */
static void meta_format(const void *vset, struct buf *b)
{
	const struct mail_meta_set *set = vset;

	buf_puts(b, META_MAGIC);
	for (size_t i = 0; i < set->n; i++) {
		const struct mail_meta *m = &set->v[i];
		buf_printf(b, "%zu %zu %zu\n%s%s", strlen(m->box), strlen(m->name), m->len, m->box,
			   m->name);
		buf_append(b, m->value, m->len);
		buf_putc(b, '\n');
	}
}

/* recfile's free hook. */
static void meta_free_hook(void *set)
{
	mail_meta_free(set);
}

static const struct recfile meta_file = {
	MAIL_META_FILE, "METADATA", META_FILE_MAX, meta_parse_hook, meta_format, meta_free_hook,
};

int mail_meta_load(struct mail_session *s, struct mail_meta_set *set, struct mail_err *err)
{
	memset(set, 0, sizeof *set);
	return recfile_load(s, &meta_file, set, err);
}

/* The index of box's entry name in set, or set->n. */
static size_t meta_find(const struct mail_meta_set *set, const char *box, const char *name)
{
	size_t i;

	for (i = 0; i < set->n; i++)
		if (!strcmp(set->v[i].box, box) && !strcasecmp(set->v[i].name, name))
			break;
	return i;
}

/* Drop entry i of set. */
static void meta_drop(struct mail_meta_set *set, size_t i)
{
	free(set->v[i].box);
	free(set->v[i].name);
	free(set->v[i].value);
	set->v[i] = set->v[--set->n];
}

/* Apply the changes to set in memory; -1 with err when over a limit. */
static int meta_apply(struct mail_meta_set *set, const char *box, const struct mail_meta *chg,
		      size_t n, struct mail_err *err)
{
	for (size_t k = 0; k < n; k++) {
		size_t i = meta_find(set, box, chg[k].name);
		if (chg[k].value && chg[k].len > MAIL_META_MAXSIZE) {
			mail_err_set(err, MAIL_TOOBIG, "value larger than %d octets", MAIL_META_MAXSIZE);
			return -1;
		}
		if (i < set->n)
			meta_drop(set, i);
		if (!chg[k].value)
			continue;
		if (set->n == MAIL_META_MAXENTRIES) {
			mail_err_set(err, MAIL_LIMIT, "no more than %d entries", MAIL_META_MAXENTRIES);
			return -1;
		}
		meta_add(set, box, strlen(box), chg[k].name, strlen(chg[k].name), chg[k].value,
			 chg[k].len);
	}
	return 0;
}

/* What mail_meta_store changes. */
struct meta_store {
	const char *box;
	const struct mail_meta *chg;
	size_t n;
};

/* recfile_update's change for mail_meta_store. */
static int meta_store_change(void *set, void *ctx, struct mail_err *err)
{
	const struct meta_store *st = ctx;

	return meta_apply(set, st->box, st->chg, st->n, err) < 0 ? -1 : 1;
}

int mail_meta_store(struct mail_session *s, const char *box, const struct mail_meta *chg,
		    size_t n, struct mail_err *err)
{
	struct mail_meta_set set = {0};
	struct meta_store st = {box, chg, n};

	return recfile_update(s, &meta_file, &set, meta_store_change, &st, err);
}

/* Does box lie in from's subtree ("from" itself or "from/...")? The
 * length of from then, else 0. */
static size_t meta_under(const char *box, const char *from)
{
	size_t fl = strlen(from);

	return !strncmp(box, from, fl) && (box[fl] == '\0' || box[fl] == '/') ? fl : 0;
}

/* Move (to) or drop (to NULL: box itself only, as DELETE leaves
 * children) the entries of from in set; whether any changed. */
static int meta_move(struct mail_meta_set *set, const char *from, const char *to)
{
	int changed = 0;

	for (size_t i = set->n; i-- > 0; ) {
		size_t fl = meta_under(set->v[i].box, from);
		if (!fl || (!to && set->v[i].box[fl]))
			continue;
		changed = 1;
		if (!to) {
			meta_drop(set, i);
			continue;
		}
		struct buf nb;
		buf_init(&nb);
		buf_printf(&nb, "%s%s", to, set->v[i].box + fl);
		free(set->v[i].box);
		set->v[i].box = buf_steal(&nb);
	}
	return changed;
}

/* recfile_update's change for mail_meta_forget: ctx is {from, to}. */
static int meta_forget_change(void *set, void *ctx, struct mail_err *err)
{
	const char *const *ft = ctx;

	(void)err;
	return meta_move(set, ft[0], ft[1]);
}

void mail_meta_forget(struct mail_session *s, const char *from, const char *to)
{
	struct mail_meta_set set = {0};
	struct mail_err err;
	const char *ft[2] = {from, to};

	/* most users keep none: no lock file made for them */
	if (!*from || !recfile_exists(s, &meta_file))
		return;
	/* the mailbox change itself is done: only the log hears of this */
	if (recfile_update(s, &meta_file, &set, meta_forget_change, ft, &err) < 0)
		log_warn("METADATA of %s not %s: %s", from, to ? "renamed" : "removed", err.text);
}
