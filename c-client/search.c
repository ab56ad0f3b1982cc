/* search.c: evaluates a SEARCH key tree over a mailbox. The tree is first
 * compiled (sets resolved and merged, strings case-folded, AND/OR children
 * ordered cheapest first); then each message is tested, fetching and decoding
 * its text only when a key needs it, and at most once per message. */
#include "search.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "casemap.h"
#include "objectid.h"

/* ---------- sequence sets ---------- */

/* One seq-number ("*" or a non-zero number that fits in 32 bits). */
static int num_parse(const char *s, size_t len, size_t *i, uint32_t *out)
{
	size_t start = *i;
	uint64_t v = 0;

	if (*i < len && s[*i] == '*') {
		(*i)++;
		*out = NUMSET_STAR;
		return 0;
	}
	while (*i < len && s[*i] >= '0' && s[*i] <= '9') {
		v = v * 10 + (uint64_t)(s[*i] - '0');
		if (v > UINT32_MAX)
			return -1;
		(*i)++;
	}
	if (*i == start || v == 0)
		return -1;
	*out = (uint32_t)v;
	return 0;
}

int numset_parse(struct pool *pool, const char *s, size_t len, struct numset *out)
{
	size_t n = 1, i = 0, k = 0;
	struct numrange *r;

	out->r = NULL;
	out->n = 0;
	out->saved = 0;
	if (!s || len == 0)
		return -1;
	for (size_t j = 0; j < len; j++)
		n += s[j] == ',';
	r = pool_alloc(pool, n * sizeof *r);
	for (;;) {
		uint32_t a, b;

		if (num_parse(s, len, &i, &a))
			return -1;
		b = a;
		if (i < len && s[i] == ':') {
			i++;
			if (num_parse(s, len, &i, &b))
				return -1;
		}
		/* "*" goes to hi: it is the largest once resolved */
		if (a == NUMSET_STAR || (b != NUMSET_STAR && a > b)) {
			uint32_t t = a;
			a = b;
			b = t;
		}
		r[k].lo = a;
		r[k].hi = b;
		k++;
		if (i == len)
			break;
		if (s[i] != ',')
			return -1;
		i++;
	}
	out->r = r;
	out->n = k;
	return 0;
}

/* A range with "*" resolved to max; its two ends may come in either order. */
static void range_resolve(const struct numrange *r, uint32_t max, uint32_t *lo, uint32_t *hi)
{
	uint32_t a = r->lo == NUMSET_STAR ? max : r->lo;
	uint32_t b = r->hi == NUMSET_STAR ? max : r->hi;

	*lo = a < b ? a : b;
	*hi = a < b ? b : a;
}

int numset_contains(const struct numset *set, uint32_t n, uint32_t max)
{
	for (size_t i = 0; i < set->n; i++) {
		uint32_t lo, hi;

		range_resolve(&set->r[i], max, &lo, &hi);
		if (n >= lo && n <= hi)
			return 1;
	}
	return 0;
}

/* ---------- the compiled program ---------- */

/* The stored-bytes pre-test's answers for one TEXT/BODY key on a run of
 * messages, asked of the driver together (one lock for the run). The run
 * grows while the search asks for message after message, so a search
 * whose other keys rule out most messages pre-tests few extra ones. */
#define PRE_RUN_MAX 64
struct pre_run {
	const struct node *n;
	uint32_t first, count, want;
	unsigned char r[PRE_RUN_MAX];
};

struct node {
	enum search_op op;
	const struct search_key *key;
	struct node *kids;        /* array, cheapest first */
	size_t nkids;
	int cost;                 /* 0: flags and numbers ... 7: full text */
	struct numrange *set;     /* resolved, sorted, merged */
	size_t nset;
	struct casemap_needle *nd; /* NULL: HEADER presence test */
	int raw_ok;               /* TEXT, BODY: the stored-bytes pre-test serves */
	int field;                /* SK_HEADER: index into sctx.fields */
	int64_t day;              /* date keys: days since 1970-01-01 */
	time_t cutoff;            /* OLDER/YOUNGER: now less the interval */
};

/* A header field some key asks for, decoded once per message: every
 * instance's value, separated by NUL bytes (no needle contains one). */
struct field {
	const char *name;
	int address;              /* the addresses as the envelope has them */
	int state;                /* 0: not loaded, 1: absent, 2: present */
	struct buf val;
};

/* A piece of body text to search: a raw range of the message, or bytes
 * decoded into sctx.dec. Prepared lazily so an early match skips the rest. */
enum leaf_kind { L_TEXT, L_HDR, L_RAW };
struct leaf {
	enum leaf_kind kind;
	const struct body *b;
	size_t off, len;          /* in the message text, or (decoded) in dec */
	int ready, decoded;
};

struct sctx {
	struct mailbox *box;
	struct mail_err *err;
	uint32_t msgno;           /* current message, 1-based */
	const struct message *m;
	const char *text;
	size_t len, hdrlen;
	int have_text, have_head, have_hdr, have_leaves, sent_state;
	int64_t sent_day;
	struct buf hdr;           /* whole header, unfolded and decoded (TEXT) */
	struct buf dec;           /* decoded body leaves */
	struct buf tmp;
	struct field *fields;
	size_t nfields;
	struct leaf *leaves;
	size_t nleaves, capleaves;
	struct pool *rawpool;     /* structures parsed by the pre-test */
	struct pre_run *pre;      /* the pre-test's answers, per TEXT/BODY key */
	size_t npre;
};

static int64_t days_from_civil(int64_t y, int m, int d)
{
	int64_t era, yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400;
	doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

static int64_t floor_div(int64_t a, int64_t b)
{
	return a / b - (a % b != 0 && (a < 0) != (b < 0));
}

/* The calendar day of t as seen in the zone tz_minutes east of UTC. */
static int64_t local_day(time_t t, int tz_minutes)
{
	return floor_div((int64_t)t + (int64_t)tz_minutes * 60, 86400);
}

static int range_cmp(const void *a, const void *b)
{
	const struct numrange *x = a, *y = b;

	return x->lo < y->lo ? -1 : x->lo > y->lo;
}

/* Resolve "*" against max, then sort and merge so a lookup is a bisection. */
static void set_compile(struct pool *pool, const struct numset *in, uint32_t max,
			struct node *n)
{
	struct numrange *r = pool_alloc(pool, (in->n + 1) * sizeof *r);
	size_t k = 0;

	for (size_t i = 0; i < in->n; i++)
		range_resolve(&in->r[i], max, &r[i].lo, &r[i].hi);
	if (in->n)
		qsort(r, in->n, sizeof *r, range_cmp);
	for (size_t i = 0; i < in->n; i++) {
		if (k && (r[i].lo <= r[k - 1].hi || r[i].lo - 1 == r[k - 1].hi)) {
			if (r[i].hi > r[k - 1].hi)
				r[k - 1].hi = r[i].hi;
		} else {
			r[k++] = r[i];
		}
	}
	n->set = r;
	n->nset = k;
}

static int set_has(const struct node *n, uint32_t v)
{
	size_t lo = 0, hi = n->nset;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (v < n->set[mid].lo)
			hi = mid;
		else if (v > n->set[mid].hi)
			lo = mid + 1;
		else
			return 1;
	}
	return 0;
}

int search_raw_pretest = 1;

/* Can the stored-bytes pre-test serve this string? The searched text
 * differs from stored bytes by CRLF and by unfolding (a string across a
 * fold holds its SP or HTAB): visible ASCII avoids both. */
static int raw_usable(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s <= ' ' || (unsigned char)*s >= 0x7f)
			return 0;
	return 1;
}

static int field_index(struct sctx *c, const char *name, int address)
{
	size_t i;

	for (i = 0; i < c->nfields; i++)
		if (!strcasecmp(c->fields[i].name, name) && c->fields[i].address == address)
			return (int)i;
	c->fields = xrealloc(c->fields, (i + 1) * sizeof *c->fields);
	c->fields[i].name = name;
	c->fields[i].address = address;
	c->fields[i].state = 0;
	buf_init(&c->fields[i].val);
	c->nfields++;
	return (int)i;
}

static int64_t key_day(const struct search_key *k)
{
	if (k->year > 0 && k->month >= 1 && k->month <= 12 && k->day >= 1 && k->day <= 31)
		return days_from_civil(k->year, k->month, k->day);
	return floor_div((int64_t)k->date, 86400);
}

static void node_compile(struct sctx *c, struct pool *pool, const struct search_key *k,
			 struct node *n);

/* Compile a sibling list into an array ordered by cost (stable). */
static void kids_compile(struct sctx *c, struct pool *pool, const struct search_key *first,
			 struct node *n)
{
	size_t cnt = 0;

	for (const struct search_key *k = first; k; k = k->next)
		cnt++;
	n->kids = pool_alloc(pool, (cnt + 1) * sizeof *n->kids);
	for (const struct search_key *k = first; k; k = k->next) {
		struct node tmp;
		size_t i = n->nkids++;

		node_compile(c, pool, k, &tmp);
		while (i > 0 && n->kids[i - 1].cost > tmp.cost) {
			n->kids[i] = n->kids[i - 1];
			i--;
		}
		n->kids[i] = tmp;
		if (tmp.cost > n->cost)
			n->cost = tmp.cost;
	}
}

static void node_compile(struct sctx *c, struct pool *pool, const struct search_key *k,
			 struct node *n)
{
	const struct mailbox *box = c->box;

	memset(n, 0, sizeof *n);
	n->op = k->op;
	n->key = k;
	switch (k->op) {
	case SK_AND:
	case SK_OR:
	case SK_NOT:
		kids_compile(c, pool, k->kids, n);
		break;
	case SK_MSGNOS:
		set_compile(pool, &k->set, box->nmsgs, n);
		break;
	case SK_UIDS:
		set_compile(pool, &k->set, box->nmsgs ? box->msgs[box->nmsgs - 1]->uid : 0, n);
		break;
	case SK_SAVEDBEFORE:
	case SK_SAVEDON:
	case SK_SAVEDSINCE:
	case SK_SAVEDATESUPPORTED:
		/* before any message is judged, so each has its date */
		mail_savedate_want(c->box);
		if (k->op == SK_SAVEDATESUPPORTED)
			break;
		/* fall through */
	case SK_BEFORE:
	case SK_ON:
	case SK_SINCE:
		n->day = key_day(k);
		break;
	case SK_SENTBEFORE:
	case SK_SENTON:
	case SK_SENTSINCE:
		n->day = key_day(k);
		n->cost = 2;
		break;
	case SK_OLDER:
	case SK_YOUNGER:
		/* one "now" for the whole search, so every message is judged
		 * against the same instant */
		n->cutoff = time(NULL) - (time_t)k->seconds;
		break;
	case SK_EMAILID:
	case SK_THREADID:
		/* a digest of the whole text, or a few header fields */
		n->cost = k->op == SK_EMAILID ? 7 : 3;
		break;
	case SK_HEADER:
		n->field = field_index(c, k->field ? k->field : "", k->address);
		n->cost = 3;
		/* fall through */
	case SK_BODY:
	case SK_TEXT:
		if (k->str && *k->str) {
			n->nd = pool_alloc(pool, sizeof *n->nd);
			casemap_needle_init(pool, k->str, n->nd);
			if (k->op != SK_HEADER)
				n->cost = k->op == SK_BODY ? 6 : 7;
			n->raw_ok = k->op != SK_HEADER && raw_usable(k->str);
		}
		break;
	default:
		break;
	}
}

/* ---------- per-message text access ---------- */

/* The message's text (whole), or with head set its header at least: a
 * search of header fields reads no bodies. */
static int load_text(struct sctx *c, int head)
{
	if (c->have_text || (head && c->have_head))
		return 0;
	head = head && c->box->drv->fetch_header;   /* else one fetch serves all */
	if ((head ? mail_fetch_header : mail_fetch_text)(c->box, c->msgno, &c->text, &c->len,
							  c->err))
		return -1;
	if (!c->text) {
		c->text = "";
		c->len = 0;
	}
	c->hdrlen = rfc822_header_len(c->text, c->len);
	if (c->hdrlen > c->len)
		c->hdrlen = c->len;
	c->have_head = 1;
	c->have_text = !head;
	return 0;
}

static int need_text(struct sctx *c)
{
	return load_text(c, 0);
}

static int need_header(struct sctx *c)
{
	return load_text(c, 1);
}

/* Append s with its folding line breaks (CRLF or LF before SP/HTAB) removed. */
static void unfold(const char *s, size_t len, struct buf *out)
{
	size_t from = 0, i = 0;
	const char *nl;

	while (i < len && (nl = memchr(s + i, '\n', len - i))) {
		size_t k = (size_t)(nl - s);

		if (k + 1 < len && (s[k + 1] == ' ' || s[k + 1] == '\t')) {
			size_t cut = k > from && s[k - 1] == '\r' ? k - 1 : k;

			buf_append(out, s + from, cut - from);
			from = k + 1;
		}
		i = k + 1;
	}
	buf_append(out, s + from, len - from);
}

/* Decoded form of an unstructured text: RFC 2047 words only when present. */
static void decode_words(const char *s, size_t len, struct buf *out)
{
	if (rfc2047_present(s, len))
		rfc2047_decode(s, len, out);
	else
		buf_append(out, s, len);
}

static size_t line_end(const char *h, size_t hl, size_t i)
{
	const char *nl = memchr(h + i, '\n', hl - i);

	return nl ? (size_t)(nl - h) + 1 : hl;
}

/* Next instance of field `name` at or after *pos in header h: returns its raw
 * value (after the colon, through continuation lines) or NULL. */
static const char *field_next(const char *h, size_t hl, size_t *pos, const char *name,
			      size_t *vlen)
{
	size_t nlen = strlen(name);

	while (*pos < hl) {
		size_t i = *pos, eol = line_end(h, hl, i), v = i + nlen, vend;

		*pos = eol;
		if (eol - i <= nlen || h[i] == ' ' || h[i] == '\t' || strncasecmp(h + i, name, nlen))
			continue;
		while (v < eol && (h[v] == ' ' || h[v] == '\t'))
			v++;
		if (v >= eol || h[v] != ':')
			continue;
		vend = eol;
		while (vend < hl && (h[vend] == ' ' || h[vend] == '\t'))
			vend = line_end(h, hl, vend);
		*pos = vend;
		*vlen = vend - v - 1;
		return h + v + 1;
	}
	return NULL;
}

static int is_space(char ch)
{
	return ch == ' ' || ch == '\t' || ch == '\r' || ch == '\n';
}

/* Unfold a raw field value into c->tmp, trimming surrounding white space. */
static void value_unfold(struct sctx *c, const char *v, size_t vlen)
{
	size_t a = 0, b;

	buf_reset(&c->tmp);
	unfold(v, vlen, &c->tmp);
	b = c->tmp.len;
	while (a < b && is_space(c->tmp.data[a]))
		a++;
	while (b > a && is_space(c->tmp.data[b - 1]))
		b--;
	memmove(c->tmp.data, c->tmp.data + a, b - a);
	c->tmp.len = b - a;
	c->tmp.data[c->tmp.len] = '\0';
}

/* An address list as its envelope has it (RFC 3501: FROM matches "the
 * envelope structure's FROM field"), written out as Dovecot does:
 * "Name <mailbox@host>, group: member;". Comments and spaces between the
 * parts of an address are gone, so user@domain matches however the sender
 * wrote it; display names are decoded. */
static void addresses_put(const char *v, size_t len, struct buf *out)
{
	struct pool *pool = pool_new();
	const char *sep = "";

	for (struct address *a = rfc822_parse_addresses(pool, v, len); a; a = a->next) {
		if (!a->host) {
			/* group start ("name:") or end (";") */
			if (a->mailbox)
				buf_printf(out, "%s%s:", sep, a->mailbox);
			else
				buf_putc(out, ';');
			sep = a->mailbox ? " " : ", ";
			continue;
		}
		buf_puts(out, sep);
		if (a->personal && *a->personal) {
			decode_words(a->personal, strlen(a->personal), out);
			buf_puts(out, " <");
		}
		buf_printf(out, "%s@%s", a->mailbox ? a->mailbox : "", a->host);
		if (a->personal && *a->personal)
			buf_putc(out, '>');
		sep = ", ";
	}
	pool_free(pool);
}

static int field_load(struct sctx *c, struct field *f)
{
	const char *v;
	size_t pos = 0, vlen;

	if (f->state)
		return 0;
	if (need_header(c))
		return -1;
	buf_reset(&f->val);
	f->state = 1;
	while ((v = field_next(c->text, c->hdrlen, &pos, f->name, &vlen))) {
		if (f->state == 2)
			buf_putc(&f->val, '\0');
		value_unfold(c, v, vlen);
		if (f->address)
			addresses_put(c->tmp.data, c->tmp.len, &f->val);
		else
			decode_words(c->tmp.data, c->tmp.len, &f->val);
		f->state = 2;
	}
	return 0;
}

/* The whole header for TEXT: unfolded, each line's encoded words decoded. */
static int header_load(struct sctx *c)
{
	size_t i = 0;

	if (c->have_hdr)
		return 0;
	if (need_header(c))
		return -1;
	buf_reset(&c->tmp);
	unfold(c->text, c->hdrlen, &c->tmp);
	buf_reset(&c->hdr);
	while (i < c->tmp.len) {
		size_t eol = line_end(c->tmp.data, c->tmp.len, i);

		decode_words(c->tmp.data + i, eol - i, &c->hdr);
		i = eol;
	}
	c->have_hdr = 1;
	return 0;
}

/* The sent day of the message: 1 with *day set, -1 on error. A missing or
 * unparseable Date: counts as 1 January 1970, as Dovecot does, so such
 * mail is "sent before" any date a client asks about and never "since". */
static int sent_day(struct sctx *c, int64_t *day)
{
	if (!c->sent_state) {
		const char *v;
		size_t pos = 0, vlen;
		time_t t;
		int tz;

		if (need_header(c))
			return -1;
		c->sent_state = 2;
		c->sent_day = local_day(0, 0);
		v = field_next(c->text, c->hdrlen, &pos, "Date", &vlen);
		if (v) {
			value_unfold(c, v, vlen);
			if (rfc822_parse_date(c->tmp.data, c->tmp.len, &t, &tz) == 0)
				c->sent_day = local_day(t, tz);
		}
	}
	*day = c->sent_day;
	return 1;
}

/* ---------- body text ---------- */

#define BODY_MAX_DEPTH 64

static void leaf_add(struct sctx *c, enum leaf_kind kind, const struct body *b, size_t off,
		     size_t len)
{
	struct leaf *l;

	if (off > c->len)
		off = c->len;
	if (len > c->len - off)
		len = c->len - off;
	if (c->nleaves == c->capleaves) {
		c->capleaves = c->capleaves ? c->capleaves * 2 : 16;
		c->leaves = xrealloc(c->leaves, c->capleaves * sizeof *c->leaves);
	}
	l = &c->leaves[c->nleaves++];
	l->kind = kind;
	l->b = b;
	l->off = off;
	l->len = len;
	l->ready = l->decoded = 0;
}

static int type_is(const char *t, const char *want)
{
	return t && !strcasecmp(t, want);
}

/* Collect the searchable pieces: text leaves, and for an attached message its
 * header and then its own parts. Other media types are skipped, as RFC 3501
 * allows. */
static void leaves_walk(struct sctx *c, const struct body *b, int depth)
{
	if (!b || depth > BODY_MAX_DEPTH)
		return;
	if (type_is(b->type, "MULTIPART")) {
		for (const struct body *p = b->parts; p; p = p->next)
			leaves_walk(c, p, depth + 1);
	} else if (type_is(b->type, "MESSAGE") &&
		   (type_is(b->subtype, "RFC822") || type_is(b->subtype, "GLOBAL"))) {
		size_t off = b->body_off < c->len ? b->body_off : c->len;
		size_t blen = b->body_len < c->len - off ? b->body_len : c->len - off;
		size_t hl = rfc822_header_len(c->text + off, blen);

		leaf_add(c, L_HDR, NULL, off, hl < blen ? hl : blen);
		if (b->msg_body)
			leaves_walk(c, b->msg_body, depth + 1);
		else if (hl < blen)
			leaf_add(c, L_RAW, NULL, off + hl, blen - hl);
	} else if (!b->type || type_is(b->type, "TEXT")) {
		leaf_add(c, L_TEXT, b, b->body_off, b->body_len);
	}
}

static int need_leaves(struct sctx *c)
{
	struct envelope *env;
	struct body *body;

	int parsed = c->m->body && c->m->env;

	if (c->have_leaves)
		return 0;
	if (mail_fetch_structure(c->box, c->msgno, &env, &body, c->err))
		return -1;
	/* parsing fetched the text again, which may have reused the driver's
	 * buffer; a structure already cached needs no fetch */
	if (!parsed)
		c->have_text = 0;
	if (need_text(c))
		return -1;
	c->nleaves = 0;
	buf_reset(&c->dec);
	leaves_walk(c, body, 0);
	c->have_leaves = 1;
	return 0;
}

/* Can this part be searched as it is stored (no transfer or charset
 * decoding)? That skips a copy of most plain mail. */
static int leaf_is_raw(const struct body *b)
{
	const char *cs = NULL;

	if (b->encoding && !type_is(b->encoding, "7BIT") && !type_is(b->encoding, "8BIT") &&
	    !type_is(b->encoding, "BINARY"))
		return 0;
	for (const struct param *p = b->params; p; p = p->next)
		if (type_is(p->attr, "CHARSET"))
			cs = p->value;
	return !cs || type_is(cs, "US-ASCII") || type_is(cs, "UTF-8") || type_is(cs, "UTF8");
}

static void leaf_prepare(struct sctx *c, struct leaf *l)
{
	size_t start = c->dec.len;

	l->ready = 1;
	if (l->kind == L_RAW || (l->kind == L_TEXT && leaf_is_raw(l->b)))
		return;
	if (l->kind == L_TEXT) {
		mime_decode_text(c->text, c->len, l->b, &c->dec);
	} else {
		buf_reset(&c->tmp);
		unfold(c->text + l->off, l->len, &c->tmp);
		for (size_t i = 0; i < c->tmp.len;) {
			size_t eol = line_end(c->tmp.data, c->tmp.len, i);

			decode_words(c->tmp.data + i, eol - i, &c->dec);
			i = eol;
		}
	}
	l->decoded = 1;
	l->off = start;
	l->len = c->dec.len - start;
}

static int body_find(struct sctx *c, const struct casemap_needle *nd)
{
	if (need_leaves(c))
		return -1;
	for (size_t i = 0; i < c->nleaves; i++) {
		struct leaf *l = &c->leaves[i];

		if (!l->ready)
			leaf_prepare(c, l);
		/* an empty decoded leaf may have no buffer at all */
		if (l->len && casemap_find(nd, (l->decoded ? c->dec.data : c->text) + l->off,
					   l->len))
			return 1;
	}
	return 0;
}

/* ---------- evaluation ---------- */

static int eval(struct sctx *c, const struct node *n);

static int eval_and(struct sctx *c, const struct node *n)
{
	for (size_t i = 0; i < n->nkids; i++) {
		int r = eval(c, &n->kids[i]);

		if (r <= 0)
			return r;
	}
	return 1;
}

static int eval_or(struct sctx *c, const struct node *n)
{
	for (size_t i = 0; i < n->nkids; i++) {
		int r = eval(c, &n->kids[i]);

		if (r != 0)
			return r;
	}
	return 0;
}

static int keyword_set(const struct message *m, int kw)
{
	return kw >= 0 && kwset_test(&m->keywords, (unsigned)kw);
}

static int eval_flags(const struct message *m, const struct search_key *k, int want_set)
{
	if (k->keyword == -2)
		return 0;
	if (want_set)
		return (m->flags & k->flags) == k->flags && (k->keyword < 0 || keyword_set(m, k->keyword));
	return !(m->flags & k->flags) && (k->keyword < 0 || !keyword_set(m, k->keyword));
}

static int eval_date(int64_t day, enum search_op op, int64_t want)
{
	switch (op) {
	case SK_BEFORE:
	case SK_SENTBEFORE:
	case SK_SAVEDBEFORE:
		return day < want;
	case SK_ON:
	case SK_SENTON:
	case SK_SAVEDON:
		return day == want;
	default:
		return day >= want;
	}
}

/* Could the leaves found in the stored bytes c->text hold nd? Those the
 * full search would decode (transfer encoding, charset, encoded words)
 * may: only the others are looked at as stored. */
/* Does a line of t[0..n) after the first start with '>'? */
static int quoted_line(const char *t, size_t n)
{
	for (const char *e = t + n, *q = t + 1; q < e && (q = memchr(q, '>', (size_t)(e - q))); q++)
		if (q[-1] == '\n')
			return 1;
	return 0;
}

/* A stored leaf that must be decoded, tested here when its stored bytes
 * are its canonical text but for LF line ends: no CR, no line starting
 * with '>' (a driver may unquote those), and not the message's unended
 * last line (the canonical text ends it). Then the canonical bytes are
 * made from the leaf alone and decoded as body_find would, and a message
 * with large attachments costs no canonical copy of them. 1: may match. */
static int raw_leaf_may(struct sctx *c, const struct leaf *l, const struct casemap_needle *nd)
{
	const char *t = c->text + l->off;
	size_t n = l->len;

	if (!n || memchr(t, '\r', n) || t[0] == '>' || quoted_line(t, n) ||
	    (l->off + n == c->len && t[n - 1] != '\n'))
		return 1;
	buf_reset(&c->tmp);
	for (const char *e = t + n, *nl; t < e; t = nl + 1) {
		if (!(nl = memchr(t, '\n', (size_t)(e - t)))) {
			buf_append(&c->tmp, t, (size_t)(e - t));
			break;
		}
		buf_append(&c->tmp, t, (size_t)(nl - t));
		buf_append(&c->tmp, "\r\n", 2);
	}
	struct body b = *l->b;
	b.body_off = 0;
	b.body_len = c->tmp.len;
	buf_reset(&c->dec);
	mime_decode_text(c->tmp.data, c->tmp.len, &b, &c->dec);
	return c->dec.len && casemap_find(nd, c->dec.data, c->dec.len);
}

static int raw_leaves_may(struct sctx *c, const struct casemap_needle *nd)
{
	for (size_t i = 0; i < c->nleaves; i++) {
		const struct leaf *l = &c->leaves[i];
		const char *t = c->text + l->off;

		if (l->kind == L_TEXT && !leaf_is_raw(l->b)) {
			if (raw_leaf_may(c, l, nd))
				return 1;
			continue;
		}
		if (l->kind == L_HDR && rfc2047_present(t, l->len))
			return 1;
		if (casemap_find(nd, t, l->len))
			return 1;
	}
	return 0;
}

struct raw_job {
	struct sctx *c;
	const struct node *n;
	struct pre_run *run;
};

/* The pre-test's answer when only the header may hold a TEXT string: the
 * stored header differs from the canonical one (a driver's own fields),
 * so the header is searched as usual, but the body need not be. */
#define RAW_HEADER_ONLY 2

/* mime_parse_structure_rel's release, passed on to the driver's. */
static void raw_release(void *ctx, size_t upto)
{
	const struct raw_msg *m = ctx;

	m->release(m, upto);
}

/* The pre-test on message msgno's stored bytes (under the driver's lock),
 * its answer kept in the run. */
static void raw_check(void *ctx, uint32_t msgno, const struct raw_msg *m)
{
	struct raw_job *j = ctx;
	struct sctx *c = j->c;
	const char *p = m->p;
	size_t len = m->len;
	size_t hl = rfc822_header_len(p, len);
	int r, hdr = j->n->op == SK_TEXT &&
		     (rfc2047_present(p, hl) || casemap_find(j->n->nd, p, hl));

	pool_clear(c->rawpool);
	c->have_text = c->have_head = 0;   /* c->text is the pre-test's now */
	c->text = p;
	c->len = len;
	c->nleaves = 0;
	leaves_walk(c, mime_parse_structure_rel(c->rawpool, p, len,
						m->release ? raw_release : NULL, (void *)m), 0);
	r = raw_leaves_may(c, j->n->nd);
	c->text = NULL;
	c->nleaves = 0;
	j->run->r[msgno - j->run->first] = (unsigned char)(r ? r : hdr ? RAW_HEADER_ONLY : 0);
}

/* The run holding n's answers (a new one for a key not seen yet). */
static struct pre_run *pre_run_of(struct sctx *c, const struct node *n)
{
	for (size_t i = 0; i < c->npre; i++)
		if (c->pre[i].n == n)
			return &c->pre[i];
	c->pre = xrealloc(c->pre, (c->npre + 1) * sizeof *c->pre);
	memset(&c->pre[c->npre], 0, sizeof *c->pre);
	c->pre[c->npre].n = n;
	return &c->pre[c->npre++];
}

/* 0 when the message's stored bytes show n cannot match: its structure,
 * parsed from them (the same lines as the canonical text, so the same
 * parts), has no leaf to decode and no stored leaf holding the string. A
 * match then costs no canonical copy and no decoding. RAW_HEADER_ONLY when
 * only the header may match. -1 on error. */
static int raw_pretest(struct sctx *c, const struct node *n)
{
	if (!search_raw_pretest || c->have_leaves)
		return 1;
	struct pre_run *run = pre_run_of(c, n);
	uint32_t m = c->msgno;

	if (m >= run->first && m - run->first < run->count)
		return run->r[m - run->first];
	/* the message right after the last run: ask for twice as many */
	run->want = run->count && m == run->first + run->count ?
		    (run->want * 2 > PRE_RUN_MAX ? PRE_RUN_MAX : run->want * 2) : 1;
	uint32_t last = c->box->nmsgs - m + 1 < run->want ? c->box->nmsgs : m + run->want - 1;
	struct raw_job j = { c, n, run };

	run->first = m;
	run->count = 0;
	memset(run->r, 1, sizeof run->r);   /* passed over: it may match */
	int got = mail_scan_raw(c->box, m, last, raw_check, &j, c->err);
	if (got < 0)
		return -1;
	run->count = got ? (uint32_t)got : 1;
	return run->r[0];
}

static int eval_string(struct sctx *c, const struct node *n)
{
	int r = 1;

	if (n->op == SK_HEADER) {
		struct field *f = &c->fields[n->field];

		if (field_load(c, f))
			return -1;
		if (f->state != 2)
			return 0;
		return !n->nd || casemap_find(n->nd, f->val.data, f->val.len);
	}
	if (!n->nd)
		return 1;
	if (n->raw_ok && (r = raw_pretest(c, n)) <= 0)
		return r;
	if (n->op == SK_TEXT) {
		if (header_load(c))
			return -1;
		if (casemap_find(n->nd, c->hdr.data, c->hdr.len))
			return 1;
		if (r == RAW_HEADER_ONLY)
			return 0;
	}
	r = body_find(c, n->nd);
	return r;
}

/* EMAILID / THREADID (RFC 8474): is the message's id the one asked for? */
static int eval_objectid(struct sctx *c, const struct node *n)
{
	char id[MAIL_OBJECTID_SIZE];
	int r = n->op == SK_EMAILID ? mail_emailid(c->box, c->msgno, id, c->err)
				    : mail_threadid(c->box, c->msgno, id, c->err);

	c->have_text = c->have_head = 0;   /* their reads may have moved c->text */
	return r < 0 ? -1 : r == 0 && !strcmp(id, n->key->str);
}

static int eval(struct sctx *c, const struct node *n)
{
	const struct message *m = c->m;
	int64_t day;
	int r;

	switch (n->op) {
	case SK_ALL:
		return 1;
	case SK_AND:
		return eval_and(c, n);
	case SK_OR:
		return eval_or(c, n);
	case SK_NOT:
		r = eval_and(c, n);
		return r < 0 ? r : !r;
	case SK_MSGNOS:
		return set_has(n, c->msgno);
	case SK_UIDS:
		return set_has(n, m->uid);
	case SK_FLAGS:
		return eval_flags(m, n->key, 1);
	case SK_UNFLAGS:
		return eval_flags(m, n->key, 0);
	case SK_NEW:
		return (m->flags & (MF_RECENT | MF_SEEN)) == MF_RECENT;
	case SK_OLD:
		return !(m->flags & MF_RECENT);
	case SK_BEFORE:
	case SK_ON:
	case SK_SINCE:
		return eval_date(local_day(m->internal_date, m->tz_minutes), n->op, n->day);
	case SK_SENTBEFORE:
	case SK_SENTON:
	case SK_SENTSINCE:
		r = sent_day(c, &day);
		return r <= 0 ? r : eval_date(day, n->op, n->day);
	case SK_OLDER:
		return m->internal_date <= n->cutoff;
	case SK_YOUNGER:
		return m->internal_date >= n->cutoff;
	case SK_LARGER:
		return m->size > n->key->size;
	case SK_SMALLER:
		return m->size < n->key->size;
	case SK_MODSEQ:
		return m->modseq >= n->key->size;
	case SK_SAVEDBEFORE:
	case SK_SAVEDON:
	case SK_SAVEDSINCE:
		/* without a save date the internal date stands in, as Dovecot
		 * judges an mbox message it has no save date for */
		return eval_date(m->save_date ? local_day(m->save_date, 0) :
				 local_day(m->internal_date, m->tz_minutes), n->op, n->day);
	case SK_SAVEDATESUPPORTED:
		return m->save_date != 0;
	case SK_EMAILID:
	case SK_THREADID:
		return eval_objectid(c, n);
	case SK_HEADER:
	case SK_BODY:
	case SK_TEXT:
		return eval_string(c, n);
	}
	return 0;
}

static void message_reset(struct sctx *c, uint32_t msgno)
{
	c->msgno = msgno;
	c->m = c->box->msgs[msgno - 1];
	c->have_text = c->have_head = c->have_hdr = c->have_leaves = c->sent_state = 0;
	for (size_t i = 0; i < c->nfields; i++)
		c->fields[i].state = 0;
}

int search_run(struct mailbox *box, const struct search_key *key, uint8_t *match,
	       struct mail_err *err)
{
	/* a server may do it (the imap driver): 1 when it cannot */
	int pushed = box->drv && box->drv->search ? box->drv->search(box, key, match, err) : 1;
	if (pushed <= 0)
		return pushed;
	struct sctx c = { .box = box, .err = err, .rawpool = pool_new() };
	struct pool *pool = pool_new();
	struct node root;
	int rc = 0;

	buf_init(&c.hdr);
	buf_init(&c.dec);
	buf_init(&c.tmp);
	/* the top level is a list of keys, ANDed (usually just one) */
	memset(&root, 0, sizeof root);
	root.op = SK_AND;
	kids_compile(&c, pool, key, &root);
	for (uint32_t i = 0; i < box->nmsgs; i++) {
		int r;

		message_reset(&c, i + 1);
		r = eval(&c, &root);
		if (r < 0) {
			rc = -1;
			break;
		}
		match[i] = (uint8_t)r;
	}
	for (size_t i = 0; i < c.nfields; i++)
		buf_free(&c.fields[i].val);
	free(c.fields);
	free(c.leaves);
	free(c.pre);
	buf_free(&c.hdr);
	buf_free(&c.dec);
	buf_free(&c.tmp);
	pool_free(pool);
	pool_free(c.rawpool);
	return rc;
}
