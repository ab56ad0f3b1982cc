/* mime.c: MIME structure of a message (RFC 2045-2049) in one pass over the
 * text: Content-* fields with RFC 2231 parameter continuations, multipart
 * boundaries (a stack, innermost first, as real parsers do), encapsulated
 * messages, sizes and line counts; IMAP section lookup; content decoding for
 * search. Malformed structure degrades the way Dovecot's parser does. */
#include "rfc822_int.h"
#include "linescan.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#define MIME_MAX_DEPTH 50

/* ---- RFC 2045 lexical tokens ---- */

struct mlex {
	const char *p, *end;
};

static void m_skip(struct mlex *m)
{
	int depth = 0;

	while (m->p < m->end) {
		char c = *m->p;
		if (c == '\\' && depth && m->p + 1 < m->end)
			m->p++;
		else if (c == '(')
			depth++;
		else if (c == ')' && depth)
			depth--;
		else if (!depth && c != ' ' && c != '\t' && c != '\r' && c != '\n')
			break;
		m->p++;
	}
}

static int is_tchar(unsigned char c)
{
	if (c <= 0x20 || c == 0x7f)
		return 0;
	/* a switch, not strchr: this runs for every byte of every MIME token */
	switch (c) {
	case '(': case ')': case '<': case '>': case '@': case ',': case ';': case ':':
	case '\\': case '"': case '/': case '[': case ']': case '?': case '=':
		return 0;
	default:
		return 1;
	}
}

static int m_at(const struct mlex *m, char c)
{
	return m->p < m->end && *m->p == c;
}

/* A token, upper-cased when asked; NULL if none. */
static char *m_token(struct pool *pool, struct mlex *m, int upper)
{
	const char *s = m->p;
	char *r;

	while (m->p < m->end && is_tchar((unsigned char)*m->p))
		m->p++;
	if (m->p == s)
		return NULL;
	r = pool_strndup(pool, s, (size_t)(m->p - s));
	if (upper)
		for (char *q = r; *q; q++)
			*q = (char)toupper((unsigned char)*q);
	return r;
}

/* Parameter value: quoted string or token, possibly empty. */
static char *m_value(struct pool *pool, struct mlex *m)
{
	struct buf b;
	char *r;

	if (!m_at(m, '"')) {
		r = m_token(pool, m, 0);
		return r ? r : pool_strdup(pool, "");
	}
	buf_init(&b);
	for (m->p++; m->p < m->end && *m->p != '"'; m->p++) {
		if (*m->p == '\\' && m->p + 1 < m->end)
			m->p++;
		else if (*m->p == '\r' || *m->p == '\n')
			continue;
		buf_putc(&b, *m->p);
	}
	if (m->p < m->end)
		m->p++;
	r = pool_strndup(pool, b.data ? b.data : "", b.len);
	buf_free(&b);
	return r;
}

/* ---- parameters, with RFC 2231 continuations merged ---- */

struct rparam {
	char *key;        /* attribute without the 2231 suffix */
	char *attr;       /* as written (upper case) */
	char *value;
	unsigned idx;
	int extended;
	size_t order;
};

struct plist {
	struct rparam *v;
	size_t n, cap;
};

static void plist_add(struct plist *l, const struct rparam *r)
{
	if (l->n == l->cap) {
		l->cap = l->cap ? 2 * l->cap : 8;
		l->v = xrealloc(l->v, l->cap * sizeof *l->v);
	}
	l->v[l->n] = *r;
	l->v[l->n].order = l->n;
	l->n++;
}

/* "KEY*", "KEY*3", "KEY*3*": a 2231 parameter? */
static int split_2231(struct pool *pool, struct rparam *r)
{
	char *star = strchr(r->attr, '*'), *q;
	unsigned long idx = 0;

	if (!star || star == r->attr)
		return 0;
	q = star + 1;
	if (isdigit((unsigned char)*q)) {
		idx = strtoul(q, &q, 10);
		if (idx > 10000)
			return 0;
		r->extended = *q == '*';
		if (r->extended)
			q++;
	} else {
		r->extended = 1;
	}
	if (*q)
		return 0;
	r->key = pool_strndup(pool, r->attr, (size_t)(star - r->attr));
	r->idx = (unsigned)idx;
	return 1;
}

static int rparam_cmp(const void *a, const void *b)
{
	const struct rparam *x = a, *y = b;
	int d = strcmp(x->key, y->key);

	if (d)
		return d;
	if (x->idx != y->idx)
		return x->idx < y->idx ? -1 : 1;
	return x->order < y->order ? -1 : x->order > y->order;
}

static struct param **param_push(struct pool *pool, struct param **tail, char *attr, char *value)
{
	struct param *p = pool_alloc(pool, sizeof *p);

	p->attr = attr;
	p->value = value;
	*tail = p;
	return &p->next;
}

/* Merge each run KEY*0, KEY*1, ... into KEY (or KEY* when the first piece
 * carries charset'language'); broken runs are kept piece by piece. */
static struct param **merge_2231(struct pool *pool, struct plist *l, struct param **tail)
{
	size_t i = 0, j;

	qsort(l->v, l->n, sizeof *l->v, rparam_cmp);
	for (; i < l->n; i = j) {
		int ok = 1;
		struct buf v;

		for (j = i; j < l->n && !strcmp(l->v[j].key, l->v[i].key); j++)
			if (l->v[j].idx != j - i)
				ok = 0;
		if (!ok) {
			for (size_t k = i; k < j; k++)
				tail = param_push(pool, tail, l->v[k].attr, l->v[k].value);
			continue;
		}
		buf_init(&v);
		for (size_t k = i; k < j; k++)
			buf_puts(&v, l->v[k].value);
		tail = param_push(pool, tail,
				  pool_printf(pool, "%s%s", l->v[i].key, l->v[i].extended ? "*" : ""),
				  pool_strndup(pool, v.data ? v.data : "", v.len));
		buf_free(&v);
	}
	return tail;
}

/* ;attr=value ... A malformed parameter is dropped together with whatever
 * follows up to the next ';' after it (Dovecot's recovery). */
static struct param *parse_params(struct pool *pool, struct mlex *m)
{
	struct param *head = NULL, **tail = &head;
	struct plist ext = { 0 };

	for (;;) {
		struct rparam r = { 0 };

		m_skip(m);
		if (m->p >= m->end)
			break;
		if (!m_at(m, ';'))
			goto bad;
		m->p++;
		m_skip(m);
		if (m->p >= m->end)
			break;
		if (!(r.attr = m_token(pool, m, 1)))
			goto bad;
		m_skip(m);
		if (!m_at(m, '='))
			goto bad;
		m->p++;
		m_skip(m);
		r.value = m_value(pool, m);
		if (split_2231(pool, &r))
			plist_add(&ext, &r);
		else
			tail = param_push(pool, tail, r.attr, r.value);
		continue;
bad:
		if (m->p < m->end)
			m->p++;
		while (m->p < m->end && *m->p != ';')
			m->p++;
	}
	if (ext.n)
		merge_2231(pool, &ext, tail);
	free(ext.v);
	return head;
}

static const char *param_get(const struct param *p, const char *attr)
{
	for (; p; p = p->next)
		if (!strcasecmp(p->attr, attr))
			return p->value;
	return NULL;
}

/* ---- Content-* fields ---- */

static void parse_content_type(struct pool *pool, struct body *b, const char *v, size_t n)
{
	struct mlex m = { v, v + n };

	m_skip(&m);
	b->type = m_token(pool, &m, 1);
	if (!b->type) {
		/* unusable: Dovecot answers "" "" without parameters */
		b->type = b->subtype = "";
		return;
	}
	m_skip(&m);
	if (m_at(&m, '/')) {
		m.p++;
		m_skip(&m);
		b->subtype = m_token(pool, &m, 1);
		if (!b->subtype) {
			/* "image/": as unusable as "/plain" */
			b->type = b->subtype = "";
			return;
		}
	}
	if (!b->subtype)
		b->subtype = "";
	b->params = parse_params(pool, &m);
}

static void parse_disposition(struct pool *pool, struct body *b, const char *v, size_t n)
{
	struct mlex m = { v, v + n };

	m_skip(&m);
	b->disposition = m_token(pool, &m, 1);
	if (b->disposition)
		b->disp_params = parse_params(pool, &m);
}

static void parse_language(struct pool *pool, struct body *b, const char *v, size_t n)
{
	struct mlex m = { v, v + n };
	char *tags[64];
	size_t nt = 0;

	for (;;) {
		char *t;
		m_skip(&m);
		if (m.p >= m.end)
			break;
		if ((t = m_token(pool, &m, 0)) && nt < ARRAY_SIZE(tags))
			tags[nt++] = t;
		m_skip(&m);
		if (!m_at(&m, ','))
			break;
		m.p++;
	}
	if (!nt)
		return;
	b->language = pool_alloc(pool, (nt + 1) * sizeof *b->language);
	memcpy(b->language, tags, nt * sizeof *tags);
}

static void mime_field(struct pool *pool, struct body *b, const struct hdr_field *f)
{
	const char *n, *v = f->value;
	size_t nl, vl = f->value_len;

	if (f->name_len <= 8 || str_casecmp_n(f->name, 8, "content-"))
		return;
	n = f->name + 8;
	nl = f->name_len - 8;
	if (!b->type && !str_casecmp_n(n, nl, "type")) {
		parse_content_type(pool, b, v, vl);
	} else if (!b->encoding && !str_casecmp_n(n, nl, "transfer-encoding")) {
		struct mlex m = { v, v + vl };
		m_skip(&m);
		b->encoding = m_token(pool, &m, 1);
	} else if (!b->id && !str_casecmp_n(n, nl, "id")) {
		b->id = hdr_unfold(pool, v, vl);
	} else if (!b->description && !str_casecmp_n(n, nl, "description")) {
		b->description = hdr_unfold(pool, v, vl);
	} else if (!b->md5 && !str_casecmp_n(n, nl, "md5")) {
		b->md5 = hdr_unfold(pool, v, vl);
	} else if (!b->disposition && !str_casecmp_n(n, nl, "disposition")) {
		parse_disposition(pool, b, v, vl);
	} else if (!b->language && !str_casecmp_n(n, nl, "language")) {
		parse_language(pool, b, v, vl);
	} else if (!b->location && !str_casecmp_n(n, nl, "location")) {
		b->location = hdr_unfold(pool, v, vl);
	}
}

/* ---- structure ---- */

struct mctx {
	struct pool *pool;
	const char *msg;
	size_t len;
	const char *bnd[MIME_MAX_DEPTH + 1];
	size_t blen[MIME_MAX_DEPTH + 1];
	int nb;
	/* the boundary line that ended the last scan (hit -1: end of text) */
	int hit, hit_close;
	size_t hit_line, hit_next;
	/* optional: told as the scan passes each mime_release_step bytes */
	void (*release)(void *ctx, size_t upto);
	void *rctx;
};

size_t mime_release_step = (size_t)512 << 10;

static size_t next_line(const struct mctx *c, size_t off)
{
	const char *nl = memchr(c->msg + off, '\n', c->len - off);

	return nl ? (size_t)(nl - c->msg) + 1 : c->len;
}

/* Is there a boundary line at off? Inner boundaries are tried first, and a
 * boundary matches as a prefix of the line, as in Dovecot. */
static int boundary_at(struct mctx *c, size_t off)
{
	const char *p = c->msg + off;
	size_t rem = c->len - off;

	if (rem < 2 || p[0] != '-' || p[1] != '-')
		return 0;
	for (int i = c->nb - 1; i >= 0; i--) {
		size_t e = 2 + c->blen[i];
		if (rem < e || memcmp(p + 2, c->bnd[i], c->blen[i]))
			continue;
		c->hit = i;
		c->hit_close = rem - e >= 2 && p[e] == '-' && p[e + 1] == '-';
		c->hit_line = off;
		c->hit_next = next_line(c, off);
		return 1;
	}
	return 0;
}

/* The next line start past off that begins "--", or c->len. With a
 * release, a step at a time: what a step passed is released, but for the
 * few bytes a boundary found next looks back at (its line end), and a "--"
 * may start on a step's last byte: the next step looks from just before. */
static size_t dashes_next(struct mctx *c, size_t off)
{
	size_t step = mime_release_step > 16 ? mime_release_step : 16;

	for (;;) {
		size_t lim = c->release && c->len - off > step ? off + step : c->len;
		size_t at = linescan_next(c->msg, off, lim, '-', '-');

		if (at < lim || lim == c->len)
			return at;
		c->release(c->rctx, lim - 8);
		off = lim - 2;
	}
}

/* Only lines starting "--" can be boundaries: jump from one to the next
 * rather than walk every line (an attachment's base64 has thousands). */
static void find_boundary(struct mctx *c, size_t off)
{
	if (c->nb)
		for (; off < c->len; off = dashes_next(c, off))
			if (boundary_at(c, off))
				return;
	c->hit = -1;
	c->hit_close = 0;
	c->hit_line = c->hit_next = c->len;
}

/* End of content starting at s: the line end before a boundary belongs to
 * the boundary (RFC 2046 5.1.1). */
static size_t content_end(const struct mctx *c, size_t s)
{
	size_t l = c->hit_line;

	if (c->hit < 0 || l <= s)
		return l < s ? s : l;
	if (c->msg[l - 1] == '\n' && --l > s && c->msg[l - 1] == '\r')
		l--;
	return l;
}

static int is_message(const struct body *b)
{
	return !strcmp(b->type, "MESSAGE") &&
	       (!strcmp(b->subtype, "RFC822") || !strcmp(b->subtype, "GLOBAL"));
}

static struct body *parse_entity(struct mctx *c, size_t s, int depth, int digest,
				 struct envelope *env);

/* Header fields of the entity at s; returns where its body starts. A
 * boundary line ends the header early (the body is then empty). */
static size_t parse_header(struct mctx *c, struct body *b, size_t s, struct envelope *env)
{
	struct hdr_iter it;
	struct hdr_field f;
	struct env_builder eb;
	size_t body;

	if (env)
		envelope_begin(&eb, env);
	hdr_iter_init(&it, c->msg + s, c->len - s);
	for (;;) {
		size_t off = (size_t)(it.p - c->msg);
		if (c->nb && boundary_at(c, off))
			return off;
		if (!hdr_iter_next(&it, &f))
			break;
		if (env)
			envelope_add_field(c->pool, &eb, &f);
		mime_field(c->pool, b, &f);
	}
	/* An empty line right before a boundary is the line end that belongs
	 * to the boundary, not the end of this header (Dovecot agrees). */
	body = (size_t)(hdr_iter_body(&it) - c->msg);
	if (c->nb && body > (size_t)(it.p - c->msg) && boundary_at(c, body))
		return (size_t)(it.p - c->msg);
	return body;
}

static void set_defaults(struct pool *pool, struct body *b, int digest)
{
	if (!b->type) {
		b->type = digest ? "MESSAGE" : "TEXT";
		b->subtype = digest ? "RFC822" : "PLAIN";
	}
	if (!strcmp(b->type, "TEXT") && !param_get(b->params, "CHARSET")) {
		struct param **tail = &b->params;
		while (*tail)
			tail = &(*tail)->next;
		param_push(pool, tail, "CHARSET", "US-ASCII");
	}
	if (!b->encoding)
		b->encoding = "7BIT";
}

/* Children of a multipart; returns the end of its content. */
static size_t parse_multipart(struct mctx *c, struct body *b, int depth, const char *bnd)
{
	int level = c->nb, digest = !strcmp(b->subtype, "DIGEST");
	struct body **tail = &b->parts;
	size_t e;

	c->bnd[level] = bnd;
	c->blen[level] = strlen(bnd);
	c->nb++;
	find_boundary(c, b->body_off);
	e = content_end(c, b->body_off);
	while (c->hit == level && !c->hit_close) {
		struct body *kid = parse_entity(c, c->hit_next, depth + 1, digest, NULL);
		*tail = kid;
		tail = &kid->next;
		b->nparts++;
		e = kid->body_off + kid->body_len;
	}
	c->nb--;
	if (c->hit == level) {
		/* closed: the epilogue runs to the next outer boundary */
		size_t ep = c->hit_next;
		find_boundary(c, ep);
		e = content_end(c, ep);
	}
	return e;
}

static struct body *parse_entity(struct mctx *c, size_t s, int depth, int digest,
				 struct envelope *env)
{
	struct body *b = pool_alloc(c->pool, sizeof *b);
	const char *bnd;
	size_t e;

	b->header_off = s;
	b->body_off = parse_header(c, b, s, env);
	b->header_len = b->body_off - s;
	set_defaults(c->pool, b, digest);
	bnd = !strcmp(b->type, "MULTIPART") ? param_get(b->params, "BOUNDARY") : NULL;
	if (bnd && *bnd && depth < MIME_MAX_DEPTH && c->nb < MIME_MAX_DEPTH) {
		e = parse_multipart(c, b, depth, bnd);
	} else if (is_message(b) && depth < MIME_MAX_DEPTH) {
		b->env = pool_alloc(c->pool, sizeof *b->env);
		b->msg_body = parse_entity(c, b->body_off, depth + 1, 0, b->env);
		envelope_finish(b->env);
		e = b->msg_body->body_off + b->msg_body->body_len;
	} else {
		find_boundary(c, b->body_off);
		e = content_end(c, b->body_off);
	}
	b->body_len = e - b->body_off;
	if (!strcmp(b->type, "TEXT") || is_message(b))
		b->lines = (uint32_t)linescan_count(c->msg + b->body_off, b->body_len, '\n');
	return b;
}

struct body *mime_parse_structure(struct pool *pool, const char *msg, size_t len)
{
	return mime_parse_structure_rel(pool, msg, len, NULL, NULL);
}

struct body *mime_parse_structure_rel(struct pool *pool, const char *msg, size_t len,
				      void (*release)(void *ctx, size_t upto), void *ctx)
{
	struct mctx c = { .pool = pool, .msg = msg, .len = len, .release = release, .rctx = ctx };

	return parse_entity(&c, 0, 0, 0, NULL);
}

void rfc822_parse(struct pool *pool, const char *msg, size_t len, struct envelope **env,
		  struct body **body)
{
	struct mctx c = { .pool = pool, .msg = msg, .len = len };

	*env = pool_alloc(pool, sizeof **env);
	*body = parse_entity(&c, 0, 0, 0, *env);
	envelope_finish(*env);
}

/* ---- sections (RFC 3501 6.4.5) ---- */

static const struct body *nth_part(const struct body *b, uint32_t n)
{
	const struct body *k = b->parts;

	for (; k && n > 1; n--)
		k = k->next;
	return n == 1 ? k : NULL;
}

/* Walk the part numbers. A message (the top level, or the inside of a
 * MESSAGE/RFC822 part) that is not multipart has exactly one part: its body,
 * whose MIME header is the message header. Like Dovecot, part 1 of any other
 * non-multipart part is the part itself. */
static const struct body *section_part(const struct body *root, const struct section *sec)
{
	const struct body *b = root;
	int in_msg = 1;

	for (int i = 0; i < sec->nparts && i < SECTION_MAX_DEPTH; i++) {
		uint32_t n = sec->part[i];
		if (!in_msg && is_message(b) && b->msg_body)
			b = b->msg_body;
		if (b->parts || !strcmp(b->type, "MULTIPART"))
			b = nth_part(b, n);
		else if (n != 1)
			b = NULL;
		if (!b)
			return NULL;
		in_msg = 0;
	}
	return b;
}

const struct body *mime_section_part(const struct body *root, const struct section *sec)
{
	return section_part(root, sec);
}

static int section_range(size_t off, size_t n, size_t len, const char *msg, const char **p,
			 size_t *np)
{
	if (off > len)
		off = len;
	if (n > len - off)
		n = len - off;
	*p = msg + off;
	*np = n;
	return 0;
}

int mime_section(const char *msg, size_t len, const struct body *root,
		 const struct section *sec, const char **p, size_t *n, struct buf *scratch)
{
	const struct body *b = section_part(root, sec), *m;

	*p = msg;
	*n = 0;
	if (!b)
		return 1;
	if (sec->kind == SECT_FULL)
		return sec->nparts ? section_range(b->body_off, b->body_len, len, msg, p, n)
				   : section_range(0, len, len, msg, p, n);
	if (sec->kind == SECT_MIME)
		return sec->nparts ? section_range(b->header_off, b->header_len, len, msg, p, n)
				   : 1;
	/* HEADER, HEADER.FIELDS(.NOT), TEXT: of a message */
	m = sec->nparts ? (is_message(b) ? b->msg_body : NULL) : root;
	if (!m)
		return 1;
	if (sec->kind == SECT_TEXT)
		return section_range(m->body_off, m->body_len, len, msg, p, n);
	if (sec->kind == SECT_HEADER)
		return section_range(m->header_off, m->header_len, len, msg, p, n);
	buf_reset(scratch);
	section_range(m->header_off, m->header_len, len, msg, p, n);
	rfc822_header_filter(*p, *n, sec->fields, sec->nfields, sec->kind == SECT_HEADER_FIELDS_NOT,
			     scratch);
	*p = scratch->data;
	*n = scratch->len;
	return 0;
}

/* ---- content decoding for search ---- */

void mime_decode_text(const char *msg, size_t len, const struct body *part, struct buf *out)
{
	const char *p, *charset;
	size_t n;
	struct buf raw;

	section_range(part->body_off, part->body_len, len, msg, &p, &n);
	buf_init(&raw);
	if (mime_cte_decode(mime_cte_of(part->encoding), p, n, &raw) < 0)
		buf_append(&raw, p, n);   /* an unknown encoding is searched as it is */
	charset = part->type && !strcmp(part->type, "TEXT") ? param_get(part->params, "CHARSET")
							    : NULL;
	if (!charset || charset_to_utf8(charset, raw.data, raw.len, out) < 0)
		buf_append(out, raw.data, raw.len);
	buf_free(&raw);
}
