/* maildir_list.c: Maildir's small formats as pure functions (maildir.h):
 * message file names and their flag info, dovecot-uidlist and
 * dovecot-keywords, read and written the way Dovecot lays them out. No
 * file is touched here; tests/fuzz/fuzz-maildir.c drives these directly. */
#include "maildir.h"
#include "mail_api.h"

#include <stdlib.h>
#include <string.h>

/* The system flags' letters in the info (Maildir's, as Dovecot reads them). */
static const struct {
	char c;
	uint32_t flag;
} flag_chars[] = {
	{ 'D', MF_DRAFT }, { 'F', MF_FLAGGED }, { 'R', MF_ANSWERED },
	{ 'S', MF_SEEN },  { 'T', MF_DELETED },
};

/* Is character c in the info? */
static int info_has(const struct md_info *in, unsigned c)
{
	return c < 128 && (in->set[c >> 6] >> (c & 63) & 1);
}

/* Put character c in the info, or take it out. */
static void info_put(struct md_info *in, unsigned c, int on)
{
	if (c >= 128)
		return;
	if (on)
		in->set[c >> 6] |= 1ULL << (c & 63);
	else
		in->set[c >> 6] &= ~(1ULL << (c & 63));
}

/* The number after "," + key + "=" in the base, as Dovecot appends
 * ",S=<size>" and ",W=<vsize>"; 0 when absent or malformed. */
static uint64_t base_field(const char *b, size_t n, char key)
{
	for (size_t i = 0; i + 3 <= n; i++) {
		if (b[i] != ',' || b[i + 1] != key || b[i + 2] != '=')
			continue;
		uint64_t v = 0;
		size_t j = i + 3;
		for (; j < n && b[j] >= '0' && b[j] <= '9' && v < UINT64_MAX / 10 - 10; j++)
			v = v * 10 + (uint64_t)(b[j] - '0');
		if (j > i + 3 && (j == n || b[j] == ','))
			return v;
	}
	return 0;
}

int md_name_parse(const char *name, size_t len, struct md_name *out)
{
	memset(out, 0, sizeof *out);
	if (!len || name[0] == '.' || memchr(name, '/', len) || memchr(name, '\0', len))
		return -1;
	const char *colon = memchr(name, ':', len);
	out->base_len = colon ? (size_t)(colon - name) : len;
	if (!out->base_len)
		return -1;
	out->size = base_field(name, out->base_len, 'S');
	out->vsize = base_field(name, out->base_len, 'W');
	if (colon && len - out->base_len >= 3 && colon[1] == '2' && colon[2] == ',') {
		out->has_info = 1;
		for (size_t i = out->base_len + 3; i < len; i++)
			if ((unsigned char)name[i] > ' ' && (unsigned char)name[i] < 127)
				info_put(&out->info, (unsigned char)name[i], 1);
	}
	return 0;
}

uint32_t md_info_flags(const struct md_info *in)
{
	uint32_t f = 0;

	for (size_t i = 0; i < ARRAY_SIZE(flag_chars); i++)
		if (info_has(in, (unsigned char)flag_chars[i].c))
			f |= flag_chars[i].flag;
	return f;
}

uint32_t md_info_letters(const struct md_info *in)
{
	uint32_t l = 0;

	for (unsigned i = 0; i < MD_LETTERS; i++)
		if (info_has(in, 'a' + i))
			l |= 1U << i;
	return l;
}

struct md_info md_info_with(const struct md_info *in, uint32_t flags, uint32_t letters)
{
	struct md_info out = *in;

	for (size_t i = 0; i < ARRAY_SIZE(flag_chars); i++)
		info_put(&out, (unsigned char)flag_chars[i].c, !!(flags & flag_chars[i].flag));
	for (unsigned i = 0; i < MD_LETTERS; i++)
		info_put(&out, 'a' + i, !!(letters & (1U << i)));
	return out;
}

void md_name_format(struct buf *b, const char *base, size_t base_len, const struct md_info *in)
{
	buf_append(b, base, base_len);
	buf_puts(b, ":2,");
	for (unsigned c = '!'; c < 127; c++)
		if (info_has(in, c))
			buf_putc(b, (char)c);
}

/* ---------------------------------------------------------------------- */
/* dovecot-uidlist                                                         */

/* A decimal uint32 at s[*i..n); advances *i. 0 when there is none. */
static int u32_at(const char *s, size_t *i, size_t n, uint32_t *v)
{
	uint64_t x = 0;
	size_t j = *i;

	while (j < n && s[j] >= '0' && s[j] <= '9' && x <= UINT32_MAX)
		x = x * 10 + (uint64_t)(s[j++] - '0');
	if (j == *i || x > UINT32_MAX)
		return 0;
	*v = (uint32_t)x;
	*i = j;
	return 1;
}

/* How many of the n bytes at s are in set (s need not end in a NUL). */
static size_t strspn_n(const char *s, size_t n, const char *set)
{
	size_t i = 0;

	while (i < n && s[i] && strchr(set, s[i]))
		i++;
	return i;
}

/* One header field (a key letter and its value) of version 3. */
static void header_field(struct md_uidlist *ul, const char *f, size_t n, const char **extra_at)
{
	size_t i = 1;
	uint32_t v;

	if (f[0] == 'V' && u32_at(f, &i, n, &v) && i == n) {
		ul->validity = v;
	} else if (f[0] == 'N' && u32_at(f, &i, n, &v) && i == n) {
		ul->next = v;
	} else if (f[0] == 'G' && n == 33 && strspn_n(f + 1, 32, "0123456789abcdefABCDEF") == 32) {
		memcpy(ul->guid, f + 1, 32);
		ul->guid[32] = '\0';
	} else if (!*extra_at) {
		*extra_at = f;   /* the first field we keep; the rest follow it */
	}
}

/* The header line [s, s+n): version 1 "1 V N" or version 3 fields. */
static int parse_header(const char *s, size_t n, struct md_uidlist *ul)
{
	size_t i = 0;
	uint32_t ver;
	const char *extra = NULL;

	if (!u32_at(s, &i, n, &ver) || (ver != 1 && ver != 3))
		return -1;
	ul->version = ver;
	if (ver == 1) {
		if (i >= n || s[i++] != ' ' || !u32_at(s, &i, n, &ul->validity) || i >= n ||
		    s[i++] != ' ' || !u32_at(s, &i, n, &ul->next))
			return -1;
		return ul->validity ? 0 : -1;
	}
	while (i < n) {
		while (i < n && s[i] == ' ')
			i++;
		size_t st = i;
		while (i < n && s[i] != ' ')
			i++;
		if (i > st)
			header_field(ul, s + st, i - st, &extra);
	}
	if (extra) {
		/* keep unknown fields in place; drop the known ones among them */
		ul->extra = extra;
		ul->extra_len = (size_t)(s + n - extra);
	}
	return ul->validity ? 0 : -1;
}

/* One record line; 0 and *r filled, or -1 for a line to drop. */
static int parse_record(const char *s, size_t n, unsigned ver, struct md_rec *r)
{
	size_t i = 0;

	if (!u32_at(s, &i, n, &r->uid) || !r->uid || i >= n || s[i] != ' ')
		return -1;
	i++;
	if (ver == 1) {
		r->ext = s + i;
		r->ext_len = 0;
	} else {
		const char *colon = memchr(s + i, ':', n - i);
		if (!colon)
			return -1;
		r->ext = s + i;
		r->ext_len = (size_t)(colon - (s + i));
		while (r->ext_len && r->ext[r->ext_len - 1] == ' ')
			r->ext_len--;
		i = (size_t)(colon - s) + 1;
	}
	/* the base: what precedes any info a version 1 list kept */
	const char *info = memchr(s + i, ':', n - i);
	r->base = s + i;
	r->base_len = info ? (size_t)(info - (s + i)) : n - i;
	if (!r->base_len || memchr(r->base, '/', r->base_len))
		return -1;
	for (size_t k = 0; k < r->base_len; k++)
		if ((unsigned char)r->base[k] < ' ' || r->base[k] == 0x7f)
			return -1;   /* no file of ours is named so */
	return 0;
}

/* Order of records by base name (memcmp, then length). */
static int base_cmp(const char *a, size_t al, const char *b, size_t bl)
{
	int c = memcmp(a, b, al < bl ? al : bl);

	return c ? c : (al > bl) - (al < bl);
}

/* qsort order of record pointers by base. */
static int rec_cmp(const void *x, const void *y)
{
	const struct md_rec *a = *(const struct md_rec *const *)x;
	const struct md_rec *b = *(const struct md_rec *const *)y;

	return base_cmp(a->base, a->base_len, b->base, b->base_len);
}

/* Sort the records by base once, so a scan of n files costs n log n. */
static void index_build(struct md_uidlist *ul)
{
	ul->by_base = xmalloc((ul->n + 1) * sizeof *ul->by_base);
	for (size_t i = 0; i < ul->n; i++)
		ul->by_base[i] = &ul->recs[i];
	if (ul->n)
		qsort(ul->by_base, ul->n, sizeof *ul->by_base, rec_cmp);
}

int md_uidlist_parse(const char *buf, size_t len, struct md_uidlist *ul)
{
	size_t at = 0, cap = 0;

	memset(ul, 0, sizeof *ul);
	while (at < len) {
		const char *nl = memchr(buf + at, '\n', len - at);
		size_t end = nl ? (size_t)(nl - buf) : len, e = end;
		if (e > at && buf[e - 1] == '\r')
			e--;
		if (!ul->version) {
			if (parse_header(buf + at, e - at, ul) < 0) {
				md_uidlist_free(ul);
				return -1;
			}
		} else {
			struct md_rec r;
			if (parse_record(buf + at, e - at, ul->version, &r) == 0 &&
			    (!ul->n || r.uid > ul->recs[ul->n - 1].uid)) {
				if (ul->n == cap) {
					cap = cap ? cap * 2 : 64;
					ul->recs = xrealloc(ul->recs, cap * sizeof *ul->recs);
				}
				ul->recs[ul->n++] = r;
			}
		}
		at = end + 1;
	}
	if (!ul->version)
		return -1;
	/* a next UID at or below one in use would hand it out again */
	if (ul->n && ul->next <= ul->recs[ul->n - 1].uid)
		ul->next = ul->recs[ul->n - 1].uid + 1;
	if (!ul->next)
		ul->next = 1;
	index_build(ul);
	return 0;
}

void md_uidlist_free(struct md_uidlist *ul)
{
	free(ul->recs);
	free(ul->by_base);
	memset(ul, 0, sizeof *ul);
}

void md_uidlist_header(struct buf *b, const struct md_uidlist *ul)
{
	buf_printf(b, "3 V%u N%u", ul->validity, ul->next);
	if (ul->guid[0])
		buf_printf(b, " G%s", ul->guid);
	/* unknown fields as they were (known ones among them are re-parsed
	 * last, so the values above win) */
	for (size_t i = 0; i < ul->extra_len;) {
		size_t st = i;
		while (i < ul->extra_len && ul->extra[i] != ' ')
			i++;
		char k = ul->extra[st];
		if (i > st && k != 'V' && k != 'N' && k != 'G') {
			buf_putc(b, ' ');
			buf_append(b, ul->extra + st, i - st);
		}
		while (i < ul->extra_len && ul->extra[i] == ' ')
			i++;
	}
	buf_putc(b, '\n');
}

void md_uidlist_record(struct buf *b, uint32_t uid, const char *ext, size_t ext_len,
		       const char *base, size_t base_len)
{
	buf_printf(b, "%u", uid);
	if (ext_len) {
		buf_putc(b, ' ');
		buf_append(b, ext, ext_len);
	}
	buf_puts(b, " :");
	buf_append(b, base, base_len);
	buf_putc(b, '\n');
}

const struct md_rec *md_uidlist_find(const struct md_uidlist *ul, const char *base, size_t len)
{
	size_t lo = 0, hi = ul->by_base ? ul->n : 0;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		const struct md_rec *r = ul->by_base[mid];
		int c = base_cmp(r->base, r->base_len, base, len);
		if (!c)
			return r;
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

/* ---------------------------------------------------------------------- */
/* dovecot-keywords                                                        */

/* An IMAP atom without the flag backslash: what a keyword may be. */
static int atom_ok(const char *s, size_t n)
{
	if (!n)
		return 0;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c <= ' ' || c >= 0x7f || strchr("(){%*\"\\]", c))
			return 0;
	}
	return 1;
}

unsigned md_keywords_parse(const char *buf, size_t len, char *names[MD_LETTERS])
{
	unsigned count = 0;

	memset(names, 0, MD_LETTERS * sizeof *names);
	for (size_t at = 0; at < len;) {
		const char *nl = memchr(buf + at, '\n', len - at);
		size_t end = nl ? (size_t)(nl - buf) : len, e = end, i = at;
		uint32_t idx;
		if (e > at && buf[e - 1] == '\r')
			e--;
		if (u32_at(buf, &i, e, &idx) && i < e && buf[i] == ' ' && idx < MD_LETTERS &&
		    !names[idx] && atom_ok(buf + i + 1, e - i - 1)) {
			names[idx] = xstrndup(buf + i + 1, e - i - 1);
			count++;
		}
		at = end + 1;
	}
	return count;
}

void md_keywords_format(struct buf *b, char *const names[MD_LETTERS])
{
	for (unsigned i = 0; i < MD_LETTERS; i++)
		if (names[i])
			buf_printf(b, "%u %s\n", i, names[i]);
}

/* ---------------------------------------------------------------------- */
/* subscriptions (Dovecot's, in the INBOX Maildir)                         */

size_t md_subs_parse(const char *buf, size_t len, char ***out)
{
	size_t n = 0;

	*out = NULL;
	for (size_t at = 0, line = 0; at < len; line++) {
		const char *nl = memchr(buf + at, '\n', len - at);
		size_t end = nl ? (size_t)(nl - buf) : len, e = end;
		if (e > at && buf[e - 1] == '\r')
			e--;
		/* the version line first; names hold no '/' or control
		 * character of their own (a tab is the separator) */
		int version = line == 0 && e - at >= 2 && buf[at] == 'V' && buf[at + 1] == '\t';
		int ok = e > at && !memchr(buf + at, '/', e - at);
		for (size_t k = at; ok && k < e; k++)
			ok = (unsigned char)buf[k] >= ' ' || buf[k] == '\t';
		if (!version && ok) {
			char *name = xstrndup(buf + at, e - at);
			for (char *p = name; *p; p++)
				if (*p == '\t')
					*p = '/';
			*out = xrealloc(*out, (n + 1) * sizeof **out);
			(*out)[n++] = name;
		}
		at = end + 1;
	}
	return n;
}

void md_subs_format(struct buf *b, char *const *names, size_t n)
{
	buf_puts(b, "V\t2\n\n");
	for (size_t i = 0; i < n; i++) {
		if (!names[i])
			continue;
		for (const char *p = names[i]; *p; p++)
			buf_putc(b, *p == '/' ? '\t' : *p);
		buf_putc(b, '\n');
	}
}
