/* sort.c: SORT (RFC 5256 3, RFC 5957, SORT=MODSEQ). Each selected message
 * gets one compact key per criterion (a number, or a collation key string in
 * one pool), read from its header alone; then one qsort over the keys. Also
 * base subject extraction (RFC 5256 2.1), which THREAD shares. */
#include "sort.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "casemap.h"
#include "rfc822_int.h"

/* ---------- header fields ---------- */

static const char *const field_names[SF_COUNT] = {
	[SF_SUBJECT] = "Subject",         [SF_DATE] = "Date",
	[SF_FROM] = "From",               [SF_TO] = "To",
	[SF_CC] = "Cc",                   [SF_MESSAGE_ID] = "Message-ID",
	[SF_REFERENCES] = "References",   [SF_IN_REPLY_TO] = "In-Reply-To",
};

int sort_fields_get(struct mailbox *box, uint32_t msgno, unsigned mask, struct pool *pool,
		    char *v[SF_COUNT], struct mail_err *err)
{
	const char *hdr;
	size_t len;
	struct hdr_iter it;
	struct hdr_field f;

	memset(v, 0, SF_COUNT * sizeof *v);
	if (!mask)
		return 0;
	if (mail_fetch_header(box, msgno, &hdr, &len, err) < 0)
		return -1;
	hdr_iter_init(&it, hdr, len);
	while (mask && hdr_iter_next(&it, &f)) {
		for (int i = 0; i < SF_COUNT; i++) {
			if (!(mask & 1u << i) || !hdr_name_is(&f, field_names[i]))
				continue;
			v[i] = hdr_unfold(pool, f.value, f.value_len);
			mask &= ~(1u << i);   /* the first instance counts */
			break;
		}
	}
	return 0;
}

/* ---------- base subject (RFC 5256 2.1) ---------- */

/* Step 1: encoded words decoded, tabs and line breaks made spaces, runs of
 * spaces made one. */
static void subject_normalize(const char *s, size_t len, struct buf *out)
{
	struct buf dec;
	int space = 0;

	buf_init(&dec);
	if (rfc2047_present(s, len))
		rfc2047_decode(s, len, &dec);
	else
		buf_append(&dec, s, len);
	for (size_t i = 0; i < dec.len; i++) {
		char c = dec.data[i];

		if (c == '\t' || c == '\r' || c == '\n')
			c = ' ';
		if (c == ' ' && space)
			continue;
		space = c == ' ';
		buf_putc(out, c);
	}
	buf_free(&dec);
}

/* Step 2: strip subj-trailer ("(fwd)" / WSP) from the end [a, *b).
 * Returns 1 when a "(fwd)" went. */
static int strip_trailers(const char *s, size_t a, size_t *b)
{
	int fwd = 0;

	for (;;) {
		if (*b > a && s[*b - 1] == ' ') {
			(*b)--;
		} else if (*b - a >= 5 && !strncasecmp(s + *b - 5, "(fwd)", 5)) {
			*b -= 5;
			fwd = 1;
		} else {
			return fwd;
		}
	}
}

/* Length of the subj-blob ("[" *BLOBCHAR "]" *WSP) at s[i..b), or 0.
 * BLOBCHAR is a 7-bit CHAR other than the brackets, as the ABNF says. */
static size_t blob_len(const char *s, size_t i, size_t b)
{
	size_t j = i + 1;

	if (i >= b || s[i] != '[')
		return 0;
	while (j < b && s[j] != '[' && s[j] != ']' && (unsigned char)s[j] - 1u < 0x7f)
		j++;
	if (j >= b || s[j] != ']')
		return 0;
	for (j++; j < b && s[j] == ' '; j++)
		;
	return j - i;
}

/* Length of *subj-blob subj-refwd at s[a..b), or 0 when there is none:
 * refwd = ("re" / ("fw" ["d"])) *WSP [subj-blob] ":". */
static size_t leader_len(const char *s, size_t a, size_t b)
{
	size_t i = a, n;

	while ((n = blob_len(s, i, b)))
		i += n;
	if (b - i >= 2 && !strncasecmp(s + i, "re", 2))
		i += 2;
	else if (b - i >= 2 && !strncasecmp(s + i, "fw", 2))
		i += b - i >= 3 && (s[i + 2] == 'd' || s[i + 2] == 'D') ? 3 : 2;
	else
		return 0;
	while (i < b && s[i] == ' ')
		i++;
	i += blob_len(s, i, b);
	return i < b && s[i] == ':' ? i + 1 - a : 0;
}

/* Steps 3 to 5 on [*a, b): leaders, then a leading blob that leaves text
 * behind, until neither is left. Returns 1 when a subj-refwd went. */
static int strip_leaders(const char *s, size_t *a, size_t b)
{
	int fwd = 0;
	size_t n;

	for (;;) {
		if (*a < b && s[*a] == ' ') {
			(*a)++;
		} else if ((n = leader_len(s, *a, b))) {
			*a += n;
			fwd = 1;
		} else if ((n = blob_len(s, *a, b)) && *a + n < b) {
			*a += n;
		} else {
			return fwd;
		}
	}
}

int sort_base_subject(const char *s, size_t len, struct buf *out)
{
	struct buf t;
	size_t a = 0, b;
	int fwd = 0;

	buf_init(&t);
	subject_normalize(s, len, &t);
	b = t.len;
	for (;;) {
		fwd |= strip_trailers(t.data, a, &b);
		fwd |= strip_leaders(t.data, &a, b);
		/* step 6: "[fwd:" ... "]" around the whole, then again from 2 */
		if (b - a >= 6 && !strncasecmp(t.data + a, "[fwd:", 5) && t.data[b - 1] == ']') {
			a += 5;
			b--;
			fwd = 1;
			continue;
		}
		break;
	}
	buf_append(out, t.len ? t.data + a : "", b - a);
	buf_free(&t);
	return fwd;
}

/* ---------- collation ---------- */

#include "collate_table.h"

/* bsearch comparator: a code point against a table row. */
static int map_cmp(const void *key, const void *elem)
{
	uint32_t c = *(const uint32_t *)key, e = ((const struct collate_map *)elem)->cp;

	return c < e ? -1 : c > e;
}

void sort_collate_key(const char *s, size_t len, struct buf *out)
{
	const unsigned char *p = (const unsigned char *)s, *end = p + len;

	buf_reserve(out, len);
	while (p < end) {
		unsigned char enc[4];
		size_t adv;

		if (*p < 0x80) {
			buf_putc(out, *p >= 'a' && *p <= 'z' ? (char)(*p - 32) : (char)*p);
			p++;
			continue;
		}
		uint32_t c = casemap_decode(p, end, &adv);
		const struct collate_map *m = bsearch(&c, collate_maps, ARRAY_SIZE(collate_maps),
						      sizeof *m, map_cmp);
		p += adv;
		if (!m) {
			buf_append(out, enc, casemap_encode(c, enc));
			continue;
		}
		for (size_t i = 0; i < m->len; i++)
			buf_append(out, enc, casemap_encode(collate_seq[m->off + i], enc));
	}
}

time_t sort_sent_date(const struct message *m, const char *date)
{
	time_t t;
	int tz;

	if (date && rfc822_parse_date(date, strlen(date), &t, &tz) == 0)
		return t;
	return m->internal_date;
}

/* ---------- SORT ---------- */

struct sort_ctx {
	const struct sort_crit *crit;
	size_t ncrit;
	int64_t *num;              /* num[i * ncrit + c] for numeric keys */
	const char **str;          /* str[i * ncrit + c] for string keys */
	const uint32_t *msgno;     /* msgno[i] */
};

/* Does k sort by a collated string (else by a number)? */
static int key_is_string(enum sort_key k)
{
	return k != SORT_ARRIVAL && k != SORT_DATE && k != SORT_SIZE && k != SORT_MODSEQ;
}

/* The header fields (1 << SF_*) key k reads. */
static unsigned key_fields(enum sort_key k)
{
	switch (k) {
	case SORT_CC:
		return 1u << SF_CC;
	case SORT_DATE:
		return 1u << SF_DATE;
	case SORT_FROM:
	case SORT_DISPLAYFROM:
		return 1u << SF_FROM;
	case SORT_SUBJECT:
		return 1u << SF_SUBJECT;
	case SORT_TO:
	case SORT_DISPLAYTO:
		return 1u << SF_TO;
	default:
		return 0;
	}
}

/* The first address's mailbox (RFC 5256), or for DISPLAY its decoded
 * display name, else its addr-spec (RFC 5957), into out; "" when none. */
static void address_key(struct pool *pool, const char *v, int display, struct buf *out)
{
	struct address *a = v ? rfc822_parse_addresses(pool, v, strlen(v)) : NULL;

	if (!a)
		return;
	if (display && a->personal && *a->personal) {
		rfc2047_decode(a->personal, strlen(a->personal), out);
		if (out->len)
			return;
	}
	if (a->mailbox)
		buf_puts(out, a->mailbox);
	if (display && a->mailbox && a->host)
		buf_printf(out, "@%s", a->host);
}

/* The uncollated text of a string key of message with fields v. */
static void string_key(struct pool *pool, enum sort_key k, char **v, struct buf *out)
{
	switch (k) {
	case SORT_SUBJECT:
		if (v[SF_SUBJECT])
			sort_base_subject(v[SF_SUBJECT], strlen(v[SF_SUBJECT]), out);
		break;
	case SORT_CC:
		address_key(pool, v[SF_CC], 0, out);
		break;
	case SORT_FROM:
	case SORT_DISPLAYFROM:
		address_key(pool, v[SF_FROM], k == SORT_DISPLAYFROM, out);
		break;
	default:
		address_key(pool, v[SF_TO], k == SORT_DISPLAYTO, out);
		break;
	}
}

/* Fill entry i's keys (message msgno). */
static int keys_load(struct mailbox *box, struct sort_ctx *sc, size_t i, uint32_t msgno,
		     unsigned mask, struct pool *keys, struct pool *tmp, struct mail_err *err)
{
	const struct message *m = box->msgs[msgno - 1];
	struct buf raw, key;
	char *v[SF_COUNT];
	int rc = sort_fields_get(box, msgno, mask, tmp, v, err);

	buf_init(&raw);
	buf_init(&key);
	for (size_t c = 0; rc == 0 && c < sc->ncrit; c++) {
		enum sort_key k = sc->crit[c].key;
		size_t slot = i * sc->ncrit + c;

		if (k == SORT_ARRIVAL)
			sc->num[slot] = m->internal_date;
		else if (k == SORT_DATE)
			sc->num[slot] = sort_sent_date(m, v[SF_DATE]);
		else if (k == SORT_SIZE)
			sc->num[slot] = (int64_t)m->size;
		else if (k == SORT_MODSEQ)   /* the value FETCH MODSEQ tells */
			sc->num[slot] = (int64_t)mail_modseq_of(box, msgno);
		if (!key_is_string(k))
			continue;
		buf_reset(&raw);
		buf_reset(&key);
		string_key(tmp, k, v, &raw);
		sort_collate_key(raw.data ? raw.data : "", raw.len, &key);
		sc->str[slot] = pool_strndup(keys, key.data ? key.data : "", key.len);
	}
	buf_free(&raw);
	buf_free(&key);
	pool_clear(tmp);
	return rc;
}

/* qsort_r comparator over entry indices. */
static int entry_cmp(const void *pa, const void *pb, void *arg)
{
	const struct sort_ctx *sc = arg;
	size_t a = *(const uint32_t *)pa, b = *(const uint32_t *)pb;

	for (size_t c = 0; c < sc->ncrit; c++) {
		size_t sa = a * sc->ncrit + c, sb = b * sc->ncrit + c;
		int r;

		if (key_is_string(sc->crit[c].key))
			r = strcmp(sc->str[sa], sc->str[sb]);
		else
			r = sc->num[sa] < sc->num[sb] ? -1 : sc->num[sa] > sc->num[sb];
		if (r)
			return sc->crit[c].reverse ? -r : r;
	}
	/* ties: mailbox order, whatever REVERSE said */
	return sc->msgno[a] < sc->msgno[b] ? -1 : sc->msgno[a] > sc->msgno[b];
}

int sort_run(struct mailbox *box, const struct sort_crit *crit, size_t ncrit,
	     const uint8_t *match, uint32_t *out, size_t *nout, struct mail_err *err)
{
	int pushed = box->drv && box->drv->sort ?
		     box->drv->sort(box, crit, ncrit, match, out, nout, err) : 1;
	if (pushed <= 0)
		return pushed;
	struct sort_ctx sc = { .crit = crit, .ncrit = ncrit };
	struct pool *keys = pool_new(), *tmp = pool_new();
	uint32_t *msgno, *order;
	unsigned mask = 0;
	size_t n = 0;
	int rc = 0;

	*nout = 0;
	for (size_t c = 0; c < ncrit; c++)
		mask |= key_fields(crit[c].key);
	for (uint32_t i = 0; i < box->nmsgs; i++)
		n += match[i] != 0;
	msgno = xcalloc(n + 1, sizeof *msgno);
	order = xcalloc(n + 1, sizeof *order);
	sc.num = xcalloc(n * ncrit + 1, sizeof *sc.num);
	sc.str = xcalloc(n * ncrit + 1, sizeof *sc.str);
	sc.msgno = msgno;
	n = 0;
	for (uint32_t i = 0; i < box->nmsgs && rc == 0; i++) {
		if (!match[i])
			continue;
		msgno[n] = i + 1;
		order[n] = (uint32_t)n;
		rc = keys_load(box, &sc, n, i + 1, mask, keys, tmp, err);
		n++;
	}
	if (rc == 0) {
		qsort_r(order, n, sizeof *order, entry_cmp, &sc);
		for (size_t i = 0; i < n; i++)
			out[i] = msgno[order[i]];
		*nout = n;
	}
	free(msgno);
	free(order);
	free(sc.num);
	free(sc.str);
	pool_free(keys);
	pool_free(tmp);
	return rc;
}
