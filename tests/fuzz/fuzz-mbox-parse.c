/* fuzz-mbox-parse.c: libFuzzer harness for the mbox parser alone
 * (unix_parse.c, and unix_mmdf.c for input that starts with MMDF's Ctrl-A
 * line): the input is framed into messages in one buffer, with no file and
 * no mailbox, then again window by window as mbox_parse_fd reads a file;
 * abort() wherever what the parser promises does not hold. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "unix_int.h"

/* The first input byte says how to parse the rest: bit 0, no key is
 * possible (an auth line is believed unchecked); bit 1, the fixed key below
 * (else none); bits 2-7, the window size minus one. */
enum { OPT_BELIEVE = 1, OPT_KEY = 2 };

#define CHECK(c)                  \
	do {                      \
		if (!(c))         \
			abort();  \
	} while (0)

static unsigned char key[UIDX_KEYLEN];

/* Bytes of body b[0..n) as a fetch returns them: CRLF line ends, the last
 * line terminated, one '>' less on ">+From " lines when rd. Worked out apart
 * from the driver's own conversion, which it checks. */
static uint64_t body_canon_len(const char *b, size_t n, int rd)
{
	uint64_t len = 0;
	size_t pos = 0;

	while (pos < n) {
		const char *nl = memchr(b + pos, '\n', n - pos);
		size_t end = nl ? (size_t)(nl - b) : n, q = 0;

		while (pos + q < end && b[pos + q] == '>')
			q++;
		len += end - pos;
		if (rd && q && end - pos - q >= 5 && !memcmp(b + pos + q, "From ", 5))
			len--;
		len += end > pos && b[end - 1] == '\r' ? 1 : 2;
		pos = nl ? end + 1 : n;
	}
	return len;
}

/* Is s[0..n) one empty line, "\n" or "\r\n"? */
static int empty_line(const char *s, size_t n)
{
	return (n == 1 && s[0] == '\n') || (n == 2 && s[0] == '\r' && s[1] == '\n');
}

/* Does a line starting at i follow an empty one ("\n" or "\r\n")? */
static int follows_blank(const char *buf, size_t i)
{
	return i >= 2 && buf[i - 1] == '\n' &&
	       (buf[i - 2] == '\n' || (i >= 3 && buf[i - 2] == '\r' && buf[i - 3] == '\n'));
}

/* Is the line at i, inside a message, one that would end it? */
static int ends_message(const char *buf, size_t len, size_t i, int fmt)
{
	if (fmt == UF_MMDF)
		return unix_mmdf_lead(buf + i, len - i) != 0;
	return follows_blank(buf, i) && unix_from_line(buf + i, unix_line_end(buf, i, len) - i,
						       NULL, NULL);
}

/* The frame's start of message m: its From line (in MMDF after the mark,
 * and there it may be missing: no date then). */
static void check_start(const char *buf, size_t len, const struct pmsg *m, int fmt)
{
	size_t lead = fmt == UF_MMDF ? MMDF_MARK_LEN : 0, fl = m->off + m->from_len;
	time_t t;
	int tz;

	CHECK(m->from_len >= lead && (!lead || unix_mmdf_lead(buf + m->off, len - m->off)));
	if (lead && m->from_len == lead) {
		CHECK(m->date == 0 && m->nq == 0);
		return;
	}
	CHECK(unix_line_end(buf, m->off + lead, len) == fl);
	CHECK(unix_from_line(buf + m->off + lead, m->from_len - lead, &t, &tz) && t == m->date &&
	      tz == m->tz);
	CHECK(!lead || m->nq == 0);
}

/* One message's bytes: a From line of its own, no separator inside, text
 * sizes that match a conversion of its bytes. */
static void check_msg(const char *buf, size_t len, const struct pmsg *m, int fmt)
{
	size_t fl = m->off + m->from_len, end = fl + m->hdr_len + m->body_len;
	struct buf text;

	CHECK(m->off < len && m->from_len && m->from_len <= len - m->off);
	CHECK(m->hdr_len <= len - fl && m->body_len <= len - fl - m->hdr_len);
	check_start(buf, len, m, fmt);
	CHECK(unix_hash(buf + m->off, m->from_len) == m->fp);
	for (size_t i = fl; i < end; i = unix_line_end(buf, i, len))
		CHECK(!ends_message(buf, len, i, fmt));
	buf_init(&text);
	uint64_t hn = canon_header(buf + fl, m->hdr_len, m->rd, &text);
	CHECK(hn == text.len && hn == canon_header(buf + fl, m->hdr_len, m->rd, NULL));
	for (size_t i = 0; i < text.len; i++)
		CHECK(text.data[i] != '\n' || (i && text.data[i - 1] == '\r'));
	buf_free(&text);
	CHECK(m->size == hn + body_canon_len(buf + fl + m->hdr_len, m->body_len, m->rd));
}

/* Does gap bytes at buf[at] separate two messages (or end the last)? */
static int separator(const char *buf, size_t at, size_t gap, int fmt)
{
	if (fmt == UF_MMDF)
		return gap == MMDF_MARK_LEN && unix_mmdf_lead(buf + at, gap);
	return gap <= 2 && (gap == 0 || empty_line(buf + at, gap));
}

/* The messages tile the buffer from its start, apart from the empty line
 * that separates two of them (and may end the last); in MMDF, the trailer
 * that ends each (the last may lack it). */
static void check_frame(const char *buf, size_t len, const struct parse *p)
{
	size_t at = 0, n = p->n + (p->pseudo != 0);

	CHECK(n || !len);
	CHECK(p->fmt == (unix_mmdf_lead(buf, len) ? UF_MMDF : UF_MBOX));
	for (size_t i = 0; i < n; i++) {
		const struct pmsg *m = p->pseudo ? (i ? &p->m[i - 1] : &p->pm) : &p->m[i];
		CHECK(m->off >= at && (i || !m->off));
		CHECK(!i || separator(buf, at, m->off - at, p->fmt));
		CHECK(p->fmt == UF_MMDF || !m->off || follows_blank(buf, m->off));
		check_msg(buf, len, m, p->fmt);
		at = m->off + m->from_len + m->hdr_len + m->body_len;
	}
	CHECK(len == at || separator(buf, at, len - at, p->fmt));
}

/* What the record says is where it says: ten digits of uidlast, and the
 * auth line's at its fixed distance before them. */
static void check_record(const char *buf, const struct parse *p)
{
	char d[11] = { 0 };

	CHECK(!p->pseudo || p->have_rec);
	CHECK(!p->have_rec || p->validity);
	if (p->last_off) {
		memcpy(d, buf + p->last_off, 10);
		CHECK(strspn(d, "0123456789") == 10 && strtoul(d, NULL, 10) == p->last);
	}
	if (p->auth_off) {
		CHECK(p->rec_mac && (off_t)p->auth_off + AUTH_BACK == (off_t)p->last_off);
		memcpy(d, buf + p->auth_off, 10);
		CHECK(strspn(d, "0123456789") == 10 && strtoul(d, NULL, 10) == p->ours);
	}
}

/* The input, handed out as exactly the bytes asked for: windows of w. */
struct slice {
	const char *buf;
	size_t len;
};

/* Exactly the bytes asked for (a window of the asked size). */
static const char *slice_get(void *ctx, off_t off, size_t n, size_t *avail)
{
	const struct slice *s = ctx;

	CHECK(off >= 0 && (size_t)off <= s->len && n <= s->len - (size_t)off);
	*avail = n;
	return s->buf + off;
}

/* Parse as mbox_parse_fd does, through windows of w bytes: a message
 * bigger than one is scanned across several. */
static int parse_windows(const char *buf, size_t len, size_t w, struct kwtab *kt,
			 struct parse *p)
{
	struct slice s = { buf, len };

	return mbox_parse_windows(slice_get, &s, 0, (off_t)len, w, kt, p);
}

static int same_pmsg(const struct pmsg *a, const struct pmsg *b)
{
	return a->off == b->off && a->from_len == b->from_len && a->hdr_len == b->hdr_len &&
	       a->body_len == b->body_len && a->size == b->size && a->xuid == b->xuid &&
	       a->flags == b->flags && a->fp == b->fp && kwset_equal(&a->kw, &b->kw) && a->old == b->old &&
	       a->date == b->date && a->tz == b->tz && a->nq == b->nq;
}

/* A file read in windows gives what the whole buffer gives. */
static void check_same(const struct parse *a, const struct kwtab *ka, const struct parse *b,
		       const struct kwtab *kb)
{
	CHECK(a->n == b->n && a->fmt == b->fmt && a->have_rec == b->have_rec && a->validity == b->validity &&
	      a->last == b->last && a->last_off == b->last_off && a->pseudo == b->pseudo &&
	      a->rec_mac == b->rec_mac && a->ours == b->ours && a->rd_ours == b->rd_ours &&
	      a->auth_off == b->auth_off && a->kw_rec == b->kw_rec && a->pm_form == b->pm_form);
	CHECK(!a->pseudo || same_pmsg(&a->pm, &b->pm));
	for (size_t i = 0; i < a->n; i++)
		CHECK(same_pmsg(&a->m[i], &b->m[i]));
	CHECK(*ka->n == *kb->n);
	for (unsigned i = 0; i < *ka->n; i++)
		CHECK(!strcmp(ka->names[i], kb->names[i]));
}

/* After the record is judged (as for a file outside the spool when no
 * session is given) and UIDs are handed out: ascending UIDs, flags of
 * unbelieved messages dropped, keywords within the table. */
static void check_uids(const char *buf, size_t len, struct parse *p, struct kwtab *kt, int ks)
{
	uint32_t counter = 0, prev = 0;

	rec_trust(p, NULL, "/fuzz/box", ks);
	/* a record not believed stays hidden only in its exact form, and
	 * gives a UIDVALIDITY floor only then */
	CHECK(!p->pseudo || p->have_rec || p->pm_form);
	CHECK(!p->lost_validity || (p->pseudo && p->pm_form && !p->have_rec));
	CHECK(!p->pseudo || !p->pm_form ||
	      unix_record_form(buf + p->pm.off, p->pm.from_len + p->pm.hdr_len + p->pm.body_len,
			       p->fmt == UF_MMDF));
	assign_uids(p, 0, p->have_rec ? p->last : 0, &counter);
	unix_kw_trim(p, kt);
	for (size_t i = 0; i < p->n; i++) {
		const struct pmsg *m = &p->m[i];
		CHECK(m->uid > prev && m->uid <= counter);
		/* read unquoted: a record believed vouches for it, or a hidden
		 * one of our form says we quoted it */
		CHECK(!m->rd || (m->xuid == m->uid && p->trust != REC_NONE) ||
		      (p->trust == REC_NONE && p->pm_form && !m->xuid && !m->unq));
		CHECK(m->xuid == m->uid || p->all_mine || (!m->flags && kwset_empty(&m->kw) && !m->old));
		CHECK(kwset_next(&m->kw, *kt->n) < 0);
		check_msg(buf, len, m, p->fmt);   /* sizes now without the quotes of ours */
		prev = m->uid;
	}
}

static void free_names(char **names, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		free(names[i]);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *na[MAIL_KEYWORDS_MAX], *nb[MAIL_KEYWORDS_MAX];
	unsigned nka = 0, nkb = 0;
	struct kwtab ka = { na, &nka }, kb = { nb, &nkb };
	struct parse a = { 0 }, b = { 0 };
	size_t used;

	if (!size)
		return 0;
	if (!key[0]) {
		memset(key, 0x2a, sizeof key);
		setenv("TZ", "UTC", 1);   /* one offset: dates do not hang on the order */
	}
	int opt = data[0], ks = opt & OPT_BELIEVE ? -1 : 1;
	const char *buf = (const char *)data + 1;
	size_t len = size - 1;

	a.key = b.key = opt & OPT_KEY ? key : NULL;
	a.believe = b.believe = ks < 0;
	int ra = mbox_parse(buf, len, 1, 1, 0, &ka, &a, &used);
	int rb = parse_windows(buf, len, (size_t)(opt >> 2) + 1, &kb, &b);
	CHECK((ra < 0) == (rb < 0));
	if (ra < 0) {
		CHECK(len && (unix_mmdf_lead(buf, len) ||
			      !unix_from_line(buf, unix_line_end(buf, 0, len), NULL, NULL)));
	} else {
		CHECK(used == len);
		check_frame(buf, len, &a);
		check_record(buf, &a);
		check_same(&a, &ka, &b, &kb);
		check_uids(buf, len, &a, &ka, ks);
	}
	unix_parse_free(&a);
	unix_parse_free(&b);
	free_names(na, nka);
	free_names(nb, nkb);
	return 0;
}
