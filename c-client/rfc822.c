/* rfc822.c: RFC 5322 header blocks (finding the end, walking fields with
 * their continuation lines, unfolding, IMAP HEADER.FIELDS filtering) and the
 * envelope built from them. Addresses live in rfc822_addr.c, dates in
 * rfc822_date.c, MIME structure in mime.c. */
#include "rfc822_int.h"

#include <string.h>

/* Offset just past the line starting at p (or end). */
static const char *line_next(const char *p, const char *end)
{
	const char *nl = memchr(p, '\n', (size_t)(end - p));

	return nl ? nl + 1 : end;
}

/* Is the line at p empty (CRLF, LF, or a lone CR ending the text)? Returns
 * its length including the line end, or 0. */
static size_t blank_line_len(const char *p, const char *end)
{
	if (p >= end)
		return 0;
	if (*p == '\n')
		return 1;
	if (*p == '\r' && (p + 1 == end || p[1] == '\n'))
		return p + 1 == end ? 1 : 2;
	return 0;
}

size_t rfc822_header_len(const char *msg, size_t len)
{
	const char *p = msg, *end = msg + len;

	while (p < end) {
		size_t b = blank_line_len(p, end);
		if (b)
			return (size_t)(p - msg) + b;
		p = line_next(p, end);
	}
	return len;
}

void hdr_iter_init(struct hdr_iter *it, const char *hdr, size_t len)
{
	it->p = hdr;
	it->end = hdr + len;
}

int hdr_iter_next(struct hdr_iter *it, struct hdr_field *f)
{
	const char *p = it->p, *end = it->end, *q, *colon;

	if (p >= end || blank_line_len(p, end))
		return 0;
	q = line_next(p, end);
	while (q < end && (*q == ' ' || *q == '\t'))
		q = line_next(q, end);
	f->raw = p;
	f->raw_len = (size_t)(q - p);
	it->p = q;

	/* The name ends at the first colon of the first line; obsolete syntax
	 * allows white space before the colon. */
	colon = NULL;
	if (*p != ' ' && *p != '\t') {
		const char *le = memchr(p, '\n', f->raw_len);
		colon = memchr(p, ':', (size_t)((le ? le : q) - p));
	}
	if (!colon) {
		f->name = NULL;
		f->name_len = 0;
		f->value = p;
		f->value_len = f->raw_len;
	} else {
		const char *ne = colon;
		while (ne > p && (ne[-1] == ' ' || ne[-1] == '\t'))
			ne--;
		f->name = p;
		f->name_len = (size_t)(ne - p);
		f->value = colon + 1;
		f->value_len = (size_t)(q - f->value);
	}
	/* the value excludes the final line end */
	while (f->value_len && (f->value[f->value_len - 1] == '\n' ||
				f->value[f->value_len - 1] == '\r'))
		f->value_len--;
	return 1;
}

const char *hdr_iter_body(const struct hdr_iter *it)
{
	return it->p + blank_line_len(it->p, it->end);
}

int hdr_name_is(const struct hdr_field *f, const char *name)
{
	return f->name_len && str_casecmp_n(f->name, f->name_len, name) == 0;
}

char *hdr_unfold(struct pool *pool, const char *v, size_t n)
{
	size_t i = 0, extra = 0;
	char *r, *w;

	while (i < n && (v[i] == ' ' || v[i] == '\t' || v[i] == '\r' || v[i] == '\n'))
		i++;
	/* most values are one line without NULs: one copy (memchr is fast) */
	if (!memchr(v + i, '\n', n - i) && !memchr(v + i, '\r', n - i) &&
	    !memchr(v + i, '\0', n - i))
		return pool_strndup(pool, v + i, n - i);
	for (size_t j = i; j < n; j++)
		if (!v[j])
			extra += 2;
	r = w = pool_alloc(pool, n - i + extra + 1);
	for (; i < n; i++) {
		if (v[i] == '\r' || v[i] == '\n')
			continue;
		if (!v[i]) {
			memcpy(w, "\xef\xbf\xbd", 3);
			w += 3;
		} else {
			*w++ = v[i];
		}
	}
	*w = '\0';
	return r;
}

char *rfc822_header_get(struct pool *pool, const char *hdr, size_t len, const char *name)
{
	struct hdr_iter it;
	struct hdr_field f;

	hdr_iter_init(&it, hdr, len);
	while (hdr_iter_next(&it, &f))
		if (hdr_name_is(&f, name))
			return hdr_unfold(pool, f.value, f.value_len);
	return NULL;
}

static int name_listed(const struct hdr_field *f, char *const *names, int nnames)
{
	for (int i = 0; i < nnames; i++)
		if (hdr_name_is(f, names[i]))
			return 1;
	return 0;
}

/* Lines that are not fields match no name, so only HEADER.FIELDS.NOT shows
 * them. The empty line always ends HEADER.FIELDS; HEADER.FIELDS.NOT copies
 * it only if the block has one (both as Dovecot answers). */
void rfc822_header_filter(const char *hdr, size_t len, char *const *names, int nnames,
			  int not, struct buf *out)
{
	struct hdr_iter it;
	struct hdr_field f;

	hdr_iter_init(&it, hdr, len);
	while (hdr_iter_next(&it, &f)) {
		int listed = f.name_len && name_listed(&f, names, nnames);
		if (listed == !!not)
			continue;
		buf_append(out, f.raw, f.raw_len);
		if (f.raw[f.raw_len - 1] != '\n')
			buf_append(out, "\r\n", 2);
	}
	if (!not || blank_line_len(it.p, it.end))
		buf_append(out, "\r\n", 2);
}

/* Dovecot keeps the last Date/Subject/Message-ID/In-Reply-To and
 * concatenates repeated address fields; we answer the same. The builder
 * keeps list tails so that a hostile run of To: lines stays linear. */
void envelope_add_field(struct pool *pool, struct env_builder *eb, const struct hdr_field *f)
{
	struct envelope *env = eb->env;
	struct address ***tail = NULL;
	char **s = NULL;

	if (f->name_len < 2)
		return;
	switch (f->name[0] | 0x20) {
	case 'd': if (hdr_name_is(f, "date")) s = &env->date; break;
	case 's':
		if (hdr_name_is(f, "subject"))
			s = &env->subject;
		else if (hdr_name_is(f, "sender"))
			tail = &eb->sender;
		break;
	case 'f': if (hdr_name_is(f, "from")) tail = &eb->from; break;
	case 'r': if (hdr_name_is(f, "reply-to")) tail = &eb->reply_to; break;
	case 't': if (hdr_name_is(f, "to")) tail = &eb->to; break;
	case 'c': if (hdr_name_is(f, "cc")) tail = &eb->cc; break;
	case 'b': if (hdr_name_is(f, "bcc")) tail = &eb->bcc; break;
	case 'i': if (hdr_name_is(f, "in-reply-to")) s = &env->in_reply_to; break;
	case 'm': if (hdr_name_is(f, "message-id")) s = &env->message_id; break;
	}
	if (s) {
		*s = hdr_unfold(pool, f->value, f->value_len);
		if (s == &env->subject)
			env->subject_folded = memchr(f->value, '\n', f->value_len) != NULL;
	} else if (tail) {
		struct address *a = rfc822_parse_addresses(pool, f->value, f->value_len);
		**tail = a;
		for (; a; a = a->next)
			*tail = &a->next;
	}
}

void envelope_begin(struct env_builder *eb, struct envelope *env)
{
	eb->env = env;
	eb->from = &env->from;
	eb->sender = &env->sender;
	eb->reply_to = &env->reply_to;
	eb->to = &env->to;
	eb->cc = &env->cc;
	eb->bcc = &env->bcc;
}

void envelope_finish(struct envelope *env)
{
	if (!env->sender)
		env->sender = env->from;
	if (!env->reply_to)
		env->reply_to = env->from;
}

struct envelope *rfc822_parse_envelope(struct pool *pool, const char *hdr, size_t len)
{
	struct envelope *env = pool_alloc(pool, sizeof *env);
	struct env_builder eb;
	struct hdr_iter it;
	struct hdr_field f;

	envelope_begin(&eb, env);
	hdr_iter_init(&it, hdr, len);
	while (hdr_iter_next(&it, &f))
		envelope_add_field(pool, &eb, &f);
	envelope_finish(env);
	return env;
}
