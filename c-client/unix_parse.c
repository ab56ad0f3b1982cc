/* unix_parse.c: the mbox driver's reading of bytes: From lines, the headers
 * we keep our state in, the canonical (CRLF) text, and a buffer framed into
 * messages with their UIDs. Functions of a buffer only (no file, no
 * session), so a fuzzer can drive the parser directly (fuzz-mbox-parse). */
#include "unix_int.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

/* ---------------------------------------------------------------------- */
/* From lines                                                              */

static int name3(const char *s, const char *tab, int n)
{
	for (int i = 0; i < n; i++)
		if (!strncasecmp(s, tab + 3 * i, 3))
			return i;
	return -1;
}

static int is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static size_t skip_sp(const char *s, size_t i, size_t n)
{
	while (i < n && s[i] == ' ')
		i++;
	return i;
}

/* Parse a 1-2 digit (or, for years, 4 digit) number at s[*i]. */
static int num(const char *s, size_t *i, size_t n, int maxdig)
{
	int v = 0, d = 0;

	while (*i < n && is_digit(s[*i]) && d < maxdig) {
		v = v * 10 + (s[*i] - '0');
		(*i)++;
		d++;
	}
	return d ? v : -1;
}

/* After "Www ": "Mmm dd hh:mm[:ss] [zone...] yyyy [zone]". */
static int parse_ctime_rest(const char *s, size_t n, struct tm *tm, int *zone, int *haszone)
{
	size_t i = 0;
	int mon, v;

	if (n < 3 || (mon = name3(s, "JanFebMarAprMayJunJulAugSepOctNovDec", 12)) < 0)
		return -1;
	memset(tm, 0, sizeof *tm);
	tm->tm_mon = mon;
	i = skip_sp(s, 3, n);
	if (i == 3 || (tm->tm_mday = num(s, &i, n, 2)) < 1 || tm->tm_mday > 31)
		return -1;
	size_t j = skip_sp(s, i, n);
	if (j == i)
		return -1;
	i = j;
	if ((tm->tm_hour = num(s, &i, n, 2)) < 0 || tm->tm_hour > 23 || i >= n || s[i++] != ':')
		return -1;
	if ((tm->tm_min = num(s, &i, n, 2)) < 0 || tm->tm_min > 59)
		return -1;
	if (i < n && s[i] == ':') {
		i++;
		if ((tm->tm_sec = num(s, &i, n, 2)) < 0 || tm->tm_sec > 60)
			return -1;
	}
	*haszone = 0;
	tm->tm_year = -1;
	while ((i = skip_sp(s, i, n)) < n) {
		size_t st = i;
		if (s[i] == '+' || s[i] == '-') {
			int sign = s[i++] == '-' ? -1 : 1;
			size_t k = i;
			if ((v = num(s, &i, n, 4)) < 0 || i - k != 4)
				return -1;
			*zone = sign * ((v / 100) * 60 + v % 100);
			*haszone = 1;
		} else if (is_digit(s[i])) {
			v = num(s, &i, n, 4);
			if (i - st == 4)
				tm->tm_year = v - 1900;
			else if (i - st == 2 && tm->tm_year < 0)
				tm->tm_year = v < 70 ? v + 100 : v;
			else
				return -1;
		} else {
			while (i < n && s[i] != ' ')
				if (!((s[i] >= 'A' && s[i] <= 'Z') || (s[i] >= 'a' && s[i] <= 'z')))
					return -1;
				else
					i++;
		}
		if (i < n && s[i] != ' ')
			return -1;
	}
	return tm->tm_year >= 0 ? 0 : -1;
}

/* Days since 1970-01-01 of a proleptic Gregorian date (month 0-11). */
static int64_t days_civil(int64_t y, int m, int d)
{
	m += 1;
	y -= m <= 2;
	int64_t era = (y >= 0 ? y : y - 399) / 400;
	int64_t yoe = y - era * 400;
	int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

/* Local-time interpretation, memoising the last UTC offset: consecutive
 * messages nearly always share it, and mktime per message is costly. */
static time_t local_to_utc(const struct tm *tm, int *tz)
{
	static int last_off;
	static int have_off;
	int64_t civil = days_civil(tm->tm_year + 1900, tm->tm_mon, tm->tm_mday) * 86400 +
			tm->tm_hour * 3600 + tm->tm_min * 60 + tm->tm_sec;
	struct tm chk;

	if (have_off) {
		time_t t = (time_t)(civil - last_off);
		if (localtime_r(&t, &chk) && chk.tm_gmtoff == last_off) {
			*tz = last_off / 60;
			return t;
		}
	}
	struct tm tmp = *tm;
	tmp.tm_isdst = -1;
	time_t t = mktime(&tmp);
	if (t == (time_t)-1)
		t = (time_t)civil;
	localtime_r(&t, &chk);
	last_off = (int)chk.tm_gmtoff;
	have_off = 1;
	*tz = last_off / 60;
	return t;
}

/* Is s[0..n) (one line, no LF) a valid "From sender date" line? Loose: the
 * date is found anywhere after the sender so odd senders still work. */
int unix_from_line(const char *s, size_t n, time_t *t, int *tz)
{
	struct tm tm;
	int zone = 0, haszone = 0;

	if (n && s[n - 1] == '\n')
		n--;
	if (n && s[n - 1] == '\r')
		n--;
	if (n < 5 || memcmp(s, "From ", 5))
		return 0;
	for (size_t i = 5; i + 14 <= n; i++) {
		if (s[i - 1] != ' ' || s[i + 3] != ' ')
			continue;
		if (name3(s + i, "SunMonTueWedThuFriSat", 7) < 0)
			continue;
		if (parse_ctime_rest(s + i + 4, n - i - 4, &tm, &zone, &haszone) < 0)
			continue;
		if (t) {
			if (haszone) {
				int64_t c = days_civil(tm.tm_year + 1900, tm.tm_mon, tm.tm_mday) * 86400 +
					    tm.tm_hour * 3600 + tm.tm_min * 60 + tm.tm_sec;
				*t = (time_t)(c - zone * 60);
				*tz = zone;
			} else {
				*t = local_to_utc(&tm, tz);
			}
		}
		return 1;
	}
	return 0;
}

/* How many '>' precede "From " at the start of line s[0..n), or -1 when
 * the line is not of that form: the lines mboxrd quotes. */
int unix_from_depth(const char *s, size_t n)
{
	size_t i = 0;

	if (!n || (s[0] != '>' && s[0] != 'F'))
		return -1;
	while (i < n && s[i] == '>')
		i++;
	return n - i >= 5 && !memcmp(s + i, "From ", 5) ? (int)i : -1;
}

/* ---------------------------------------------------------------------- */
/* Headers                                                                 */

/* Which of the headers we hide is the field starting at s? */
int unix_internal_hdr(const char *s, size_t n)
{
	static const struct { const char *name; size_t len; int id; } tab[] = {
		{ "status", 6, H_STATUS }, { "x-status", 8, H_XSTATUS },
		{ "x-keywords", 10, H_XKEYWORDS }, { "x-uid", 5, H_XUID },
		{ "x-imap", 6, H_XIMAP }, { "x-imapbase", 10, H_XIMAPBASE },
		{ "content-length", 14, H_CLEN }, { "x-imap-auth", 11, H_XAUTH },
	};
	char c;

	if (!n)
		return H_NONE;
	c = s[0] | 0x20;
	if (c != 's' && c != 'x' && c != 'c')
		return H_NONE;
	for (size_t i = 0; i < ARRAY_SIZE(tab); i++)
		if (n > tab[i].len && s[tab[i].len] == ':' && !strncasecmp(s, tab[i].name, tab[i].len))
			return tab[i].id;
	return H_NONE;
}

int unix_kw_find(struct kwtab *kt, const char *s, size_t len, int add)
{
	for (unsigned i = 0; i < *kt->n; i++)
		if (!str_casecmp_n(s, len, kt->names[i]))
			return (int)i;
	if (!add || *kt->n >= MAIL_KEYWORDS_MAX || !len)
		return -1;
	kt->names[*kt->n] = xstrndup(s, len);
	return (int)(*kt->n)++;
}

/* Forget the keyword names registered after the first n. */
static void kw_drop(struct kwtab *kt, unsigned n)
{
	while (*kt->n > n) {
		(*kt->n)--;
		free(kt->names[*kt->n]);
		kt->names[*kt->n] = NULL;
	}
}

uint32_t unix_parse_u32(const char *s, size_t *i, size_t n, int *ok)
{
	uint64_t v = 0;
	size_t st = *i;

	while (*i < n && is_digit(s[*i]) && v <= UINT32_MAX)
		v = v * 10 + (uint64_t)(s[(*i)++] - '0');
	*ok = *i > st && v <= UINT32_MAX;
	return (uint32_t)v;
}

static int is_ws(char c)
{
	return c == ' ' || c == '\t' || c == ',';
}

static void hdr_value(struct hinfo *h, int id, const char *base, size_t vo, size_t ve,
		      struct kwtab *kt)
{
	const char *v = base;
	size_t i = vo;
	int ok;

	switch (id) {
	case H_STATUS:
		for (; i < ve; i++)
			if (v[i] == 'R')
				h->flags |= MF_SEEN;
			else if (v[i] == 'O')
				h->old = 1;
		break;
	case H_XSTATUS:
		for (; i < ve; i++)
			if (v[i] == 'A')
				h->flags |= MF_ANSWERED;
			else if (v[i] == 'F')
				h->flags |= MF_FLAGGED;
			else if (v[i] == 'D')
				h->flags |= MF_DELETED;
			else if (v[i] == 'T')
				h->flags |= MF_DRAFT;
		break;
	case H_XUID:
		while (i < ve && is_ws(v[i]))
			i++;
		h->xuid = unix_parse_u32(v, &i, ve, &ok);
		if (!ok)
			h->xuid = 0;
		break;
	case H_XAUTH:
		h->auth = 0;
		if (ve - i < 12 + MAC_HEX || v[i] != ' ')
			break;
		i++;
		h->auth_off = i;
		h->auth_ours = unix_parse_u32(v, &i, ve, &ok);
		if (!ok || i - h->auth_off != 10 || v[i++] != ' ')
			break;
		h->auth_mac = v + i;
		for (size_t k = 0; k < MAC_HEX; k++)
			if (!strchr("0123456789abcdef", v[i + k]) || !v[i + k])
				return;
		for (i += MAC_HEX; i < ve && v[i] == ' '; i++)
			;
		h->auth = i == ve;
		break;
	case H_XKEYWORDS:
	case H_XIMAP:
	case H_XIMAPBASE:
		if (id != H_XKEYWORDS) {
			if (id == H_XIMAP)
				h->ximap = 1;
			else
				h->ximapbase = 1;
			while (i < ve && is_ws(v[i]))
				i++;
			h->rec_vo = i;
			h->rec_ve = ve;
			h->validity = unix_parse_u32(v, &i, ve, &ok);
			if (!ok)
				h->validity = 0;
			while (i < ve && is_ws(v[i]))
				i++;
			size_t st = i;
			h->last = unix_parse_u32(v, &i, ve, &ok);
			if (!ok)
				h->validity = 0;
			h->last_off = i - st == 10 ? st : 0;
		}
		while (i < ve) {
			while (i < ve && is_ws(v[i]))
				i++;
			size_t st = i;
			while (i < ve && !is_ws(v[i]))
				i++;
			if (i > st && kt) {
				int k = unix_kw_find(kt, v + st, i - st, 1);
				if (k >= 0 && id == H_XKEYWORDS)
					kwset_set(&h->kw, (unsigned)k);
			}
		}
		break;
	}
}

/* Scan a header from buf[pos]; returns the offset after it (after the blank
 * line when there is one; *blank is that line's length, 0 if none). */
size_t hdr_scan(const char *buf, size_t pos, size_t len, struct hinfo *h,
		struct kwtab *kt, size_t *blank)
{
	*blank = 0;
	while (pos < len) {
		const char *nl = memchr(buf + pos, '\n', len - pos);
		size_t le = nl ? (size_t)(nl - buf) : len;
		size_t next = nl ? le + 1 : len;
		size_t ce = le > pos && buf[le - 1] == '\r' ? le - 1 : le;

		if (ce == pos) {
			*blank = next - pos;
			return next;
		}
		int d = unix_from_depth(buf + pos, ce - pos);
		h->nq += d > 0;
		h->unq |= d == 0;
		int id = unix_internal_hdr(buf + pos, ce - pos);
		if (id && id != H_CLEN) {
			size_t vo = (size_t)((const char *)memchr(buf + pos, ':', ce - pos) - buf) + 1;
			hdr_value(h, id, buf, vo, ce, kt);
		}
		pos = next;
	}
	return len;
}

/* ---------------------------------------------------------------------- */
/* Canonical text: LF -> CRLF, internal headers hidden.                    */

static void emit(struct buf *out, uint64_t *n, const char *p, size_t len)
{
	if (out)
		buf_append(out, p, len);
	*n += len;
}

uint64_t canon_header(const char *h, size_t len, int rd, struct buf *out)
{
	uint64_t n = 0;
	size_t pos = 0;
	int skip = 0;

	while (pos < len) {
		const char *nl = memchr(h + pos, '\n', len - pos);
		size_t le = nl ? (size_t)(nl - h) : len;
		size_t ce = le > pos && h[le - 1] == '\r' ? le - 1 : le;

		if (ce > pos && (h[pos] == ' ' || h[pos] == '\t'))
			; /* continuation keeps the previous decision */
		else
			skip = ce > pos && unix_internal_hdr(h + pos, ce - pos) != H_NONE;
		if (!skip) {
			/* an unterminated last line is terminated too: a rewrite
			 * must add its LF, and the text must not change */
			size_t q = rd && unix_from_depth(h + pos, ce - pos) > 0;
			emit(out, &n, h + pos + q, ce - pos - q);
			emit(out, &n, "\r\n", 2);
		}
		pos = nl ? le + 1 : len;
	}
	return n;
}

/* ---------------------------------------------------------------------- */
/* Parsing a mailbox buffer                                                */

uint32_t unix_hash(const char *p, size_t n)
{
	uint32_t h = 2166136261u;

	while (n--)
		h = (h ^ (unsigned char)*p++) * 16777619u;
	return h;
}

void unix_parse_free(struct parse *p)
{
	free(p->recval);
	for (size_t i = 0; i < p->n; i++)
		kwset_free(&p->m[i].kw);
	kwset_free(&p->pm.kw);
	kwset_free(&p->pend.m.kw);
	free(p->m);
	memset(p, 0, sizeof *p);
}

size_t unix_line_end(const char *buf, size_t pos, size_t len)
{
	const char *nl = memchr(buf + pos, '\n', len - pos);
	return nl ? (size_t)(nl - buf) + 1 : len;
}

/* What scanning a message body found: where the next message starts (or
 * len), and the line ends on the way, for the canonical size. */
struct bscan {
	size_t next;
	size_t lf, crlf;     /* in [pos, next) */
	uint32_t nq;         /* lines of the form ">+From " */
	int unq;             /* a "From " line that separates nothing */
	int quotable;        /* a line mboxrd quoting changes (">*From ") */
	int complete;        /* next is certain: a From line, or the end of file */
	size_t stop;         /* when not: the first line not scanned whole */
};

/* Is buf[i] the start of a line that follows an empty line? */
static int after_blank(const char *buf, size_t i)
{
	return i >= 2 && buf[i - 1] == '\n' &&
	       (buf[i - 2] == '\n' || (i >= 3 && buf[i - 2] == '\r' && buf[i - 3] == '\n'));
}

/* From pos (a line start), find the next message: a valid From line whose
 * previous line is empty. One pass of memchr per line, which also counts
 * the line ends (a separate pass, or memmem, costs twice as much) and
 * notes lines that mboxrd quoting changes, so a rewrite can copy a body
 * with none unscanned. Without eof, a line running into len is left whole
 * for the next window (the buffer is a window): the scan can go on from
 * r->stop. */
static void scan_body(const char *buf, size_t pos, size_t len, int eof, struct bscan *r)
{
	size_t lf = 0, crlf = 0, i = pos;
	uint32_t nq = 0;
	int quotable = 0, unq = 0;

	r->next = len;
	while (i < len) {
		const char *nl = memchr(buf + i, '\n', len - i);
		if (!nl && !eof)
			break;
		size_t le = nl ? (size_t)(nl - buf) + 1 : len;
		/* most lines start otherwise: no call for them */
		int d = buf[i] == 'F' || buf[i] == '>' ? unix_from_depth(buf + i, le - i) : -1;
		if (d == 0 && after_blank(buf, i) && unix_from_line(buf + i, le - i, NULL, NULL)) {
			r->next = i;
			break;
		}
		nq += d > 0;
		unq |= d == 0;
		quotable |= d >= 0;
		if (!nl)
			break;
		lf++;
		if (nl > buf + pos && nl[-1] == '\r')
			crlf++;
		i = le;
	}
	r->lf = lf;
	r->crlf = crlf;
	r->nq = nq;
	r->unq = unq;
	r->quotable = quotable;
	r->stop = i;
	r->complete = eof || r->next < len;
}

/* Length of the empty line ending at end (the separator), or 0. */
size_t unix_trailing_blank(const char *buf, size_t start, size_t end)
{
	if (end >= start + 2 && buf[end - 1] == '\n' && buf[end - 2] == '\n')
		return 1;
	if (end >= start + 3 && buf[end - 1] == '\n' && buf[end - 2] == '\r' &&
	    buf[end - 3] == '\n')
		return 2;
	return 0;
}

/* Start framing the message whose From line is buf[pos], header [fl, hend),
 * in out->pend (file offsets from base): what its From line and header say. */
static void msg_start(struct parse *out, const char *buf, size_t pos, size_t fl, size_t hend,
		      off_t base, const struct hinfo *h)
{
	struct pend *p = &out->pend;

	memset(p, 0, sizeof *p);
	p->m.off = (size_t)base + pos;
	unix_from_line(buf + pos, fl - pos, &p->m.date, &p->m.tz);
	p->m.from_len = fl - pos;
	p->m.fp = unix_hash(buf + pos, fl - pos);
	p->m.xuid = h->xuid;
	p->m.flags = h->flags;
	p->m.kw = h->kw;
	p->m.old = h->old;
	p->m.nq = h->nq;
	p->m.unq = h->unq;
	p->fl = (size_t)base + fl;
	p->hend = (size_t)base + hend;
	p->hsize = canon_header(buf + fl, hend - fl, 0, NULL);
}

/* Add a body scan's counts to the message being framed. */
static void msg_scanned(struct pend *p, const struct bscan *bs)
{
	p->lf += bs->lf;
	p->crlf += bs->crlf;
	p->m.nq += bs->nq;
	p->m.unq |= bs->unq;
	p->quotable |= bs->quotable;
}

/* The framed message, now that the next one starts at buf[next] (buf holds
 * the file from base, and at least 3 bytes before next that are the
 * message's: the separator's look-back). */
static struct pmsg msg_end(struct pend *p, const char *buf, size_t base, size_t next)
{
	size_t lo = p->fl > base ? p->fl - base : 0;
	size_t tb = unix_trailing_blank(buf, lo, next), end = base + next - tb;
	size_t hend = p->hend;
	uint64_t hsize = p->hsize;
	struct pmsg m = p->m;

	p->m.kw = KWSET_EMPTY;   /* moved into the message */
	if (tb) {
		p->lf--;
		p->crlf -= tb == 2;
	}
	if (end < hend) {
		/* the header's blank line was the separator: it leaves the
		 * header, and its CRLF the size */
		hend = end;
		hsize -= 2;
		p->lf = p->crlf = 0;
		p->quotable = 0;
		m.nq = p->hnq;
		m.unq = p->hunq;
	}
	m.plain = !p->quotable;
	m.hdr_len = hend - p->fl;
	m.body_len = end - hend;
	m.size = hsize + m.body_len + p->lf - p->crlf;
	if (m.body_len && buf[end - base - 1] != '\n')
		m.size += buf[end - base - 1] == '\r' ? 1 : 2;
	p->active = 0;
	return m;
}

/* Append a framed message to the parse. */
static void msg_push(struct parse *out, const struct pmsg *m)
{
	if (out->n == out->cap) {
		out->cap = out->cap ? out->cap * 2 : 64;
		out->m = xrealloc(out->m, out->cap * sizeof *out->m);
	}
	out->m[out->n++] = *m;
}

/* Parse buf[0..len), which must start with a From line (or be empty),
 * appending to out; base: file offset of buf. first: buf starts at the
 * file start (folder record possible). Without eof, the last message may
 * go on past len: *used says where it starts, and when its header is
 * whole it is left in out->pend for mbox_parse_more (else the next window
 * reads it again). -1: not an mbox. */
int mbox_parse(const char *buf, size_t len, int first, int eof, off_t base,
	       struct kwtab *kt, struct parse *out, size_t *used)
{
	size_t pos = 0;

	if (first)
		out->fmt = unix_mmdf_lead(buf, len) ? UF_MMDF : UF_MBOX;
	if (out->fmt == UF_MMDF)
		return mmdf_parse(buf, len, first, eof, base, kt, out, used);
	*used = 0;
	if (len && !unix_from_line(buf, unix_line_end(buf, 0, len), NULL, NULL))
		return (!eof && !memchr(buf, '\n', len)) ? 0 : -1;
	while (pos < len) {
		struct hinfo h = { 0 };
		struct bscan bs;
		size_t fl = unix_line_end(buf, pos, len), blank;

		unsigned nkw = *kt->n;
		size_t hend = hdr_scan(buf, fl, len, &h, kt, &blank);
		int rec = first && out->n == 0 && !out->pseudo && (h.ximap || h.ximapbase);
		scan_body(buf, hend, len, eof, &bs);
		if (!bs.complete && (!blank || buf[hend - 1] != '\n' || rec)) {
			/* the window may end inside its header (a lone CR may be
			 * the start of its blank line), and a name it registered
			 * be cut short: the next window reads it whole */
			kwset_free(&h.kw);
			kw_drop(kt, nkw);
			break;
		}
		msg_start(out, buf, pos, fl, hend, base, &h);
		out->pend.hnq = h.nq;
		out->pend.hunq = h.unq;
		msg_scanned(&out->pend, &bs);
		if (!bs.complete) {
			out->pend.stop = (size_t)base + bs.stop;
			out->pend.active = 1;
			break;
		}
		struct pmsg m = msg_end(&out->pend, buf, (size_t)base, bs.next);
		pos = bs.next;
		*used = pos;
		unix_parse_keep(out, &m, &h, first, buf, base, kt);
	}
	if (eof)
		*used = len;
	return 0;
}

/* A message framed (m) with what its header says (h): the folder record
 * if it is the file's first, else one more message of out. */
void unix_parse_keep(struct parse *out, struct pmsg *m, const struct hinfo *h,
		     int first, const char *buf, off_t base, struct kwtab *kt)
{
	m->xuid = h->xuid;
	m->flags = h->flags;
	m->kw = h->kw;
	m->old = h->old;
	if (first && out->n == 0 && !out->pseudo && (h->ximap || h->ximapbase) && h->validity) {
		out->have_rec = 1;
		out->validity = h->validity;
		out->last = h->last;
		out->last_off = h->last_off ? (size_t)base + h->last_off : 0;
		out->kw_rec = *kt->n;
		if (h->ximap) {
			rec_verify(out, buf, base, h);
			out->pseudo = 1;
			out->pm = *m;
			out->pm_form = unix_record_form(buf + (m->off - (size_t)base),
							m->from_len + m->hdr_len + m->body_len,
							out->fmt == UF_MMDF);
			return;
		}
	}
	msg_push(out, m);
}

/* Go on with out->pend, the message whose body ran past the last window:
 * buf[0..len) holds the file from base = its scan's stop - PEND_BACK.
 * *used: where the next message starts in buf once this one is framed,
 * else 0 (the scan moved on, or with no progress needs a bigger window). */
void mbox_parse_more(const char *buf, size_t len, int eof, size_t base, struct parse *out,
		     size_t *used)
{
	struct pend *p = &out->pend;
	struct bscan bs;

	*used = 0;
	scan_body(buf, p->stop - base, len, eof, &bs);
	msg_scanned(p, &bs);
	if (!bs.complete) {
		p->stop = base + bs.stop;
		return;
	}
	struct pmsg m = msg_end(p, buf, base, bs.next);
	msg_push(out, &m);
	*used = bs.next;
}

/* Parse the range [start, end) of a file (start at a From line) through
 * windows of about win bytes that get gives, a message bigger than one
 * window scanned across several. -1 not an mbox, -2 I/O error. */
int mbox_parse_windows(mbox_get_fn get, void *ctx, off_t start, off_t end, size_t win,
		       struct kwtab *kt, struct parse *out)
{
	size_t want = win;

	while (start < end) {
		struct pend *p = &out->pend;
		off_t from = p->active ? (off_t)(p->stop - PEND_BACK) : start;
		size_t avail, used, was = p->stop;
		int more = p->active;
		const char *b = get(ctx, from, want < (size_t)(end - from) ? want :
					   (size_t)(end - from), &avail);
		if (!b)
			return -2;
		int eof = from + (off_t)avail >= end;
		if (p->active)
			mbox_parse_more(b, avail, eof, (size_t)from, out, &used);
		else if (mbox_parse(b, avail, start == 0, eof, start, kt, out, &used) < 0)
			return -1;
		if (p->active) {
			/* no line ended in the window: one line bigger than it */
			want = more && p->stop == was ? avail * 2 : win;
			continue;
		}
		if (!used) {
			want = avail * 2;   /* one header bigger than the window */
			continue;
		}
		start = from + (off_t)used;
		want = win;
	}
	return 0;
}

/* Give every message a UID: keep X-UID when it is ascending and not above
 * the record's uidlast (nor, in the spool, what the record says is ours);
 * else hand out the next one, and in the spool forget the status headers:
 * a sender wrote them (see REC_NONE). Deterministic, so every session
 * computes the same UIDs for the same file. *counter: highest UID handed
 * out so far (in/out); prev: UID of the message before the first. */
int assign_uids(struct parse *p, uint32_t prev, uint32_t ulast, uint32_t *counter)
{
	int all_kept = 1;
	uint32_t xprev = 0;   /* the X-UID of the last message a lost record quoted */

	for (size_t i = 0; i < p->n; i++) {
		struct pmsg *m = &p->m[i];
		uint32_t lim = p->all_mine || p->ours > ulast ? ulast : p->ours;
		if (m->xuid && m->xuid > prev && m->xuid <= lim) {
			m->uid = m->xuid;
			m->rd = p->fmt == UF_MBOX && m->xuid <= p->rd_ours;   /* MMDF quotes nothing */
		} else {
			if (*counter < prev)
				*counter = prev;
			if (*counter < ulast)
				*counter = ulast;
			m->uid = ++*counter;
			/* what a hidden record of our form says we quoted (see
			 * rec_trust): read as we wrote it, nothing else believed */
			m->rd = p->trust == REC_NONE && p->fmt == UF_MBOX && m->xuid > xprev &&
				m->xuid <= p->rd_ours && !m->unq;
			if (m->rd)
				xprev = m->xuid;
			m->xuid = 0;
			if (!p->all_mine) {
				m->flags = 0;
				kwset_free(&m->kw);
				m->old = 0;
			}
			all_kept = 0;
		}
		if (m->rd)
			m->size -= m->nq;
		prev = m->uid;
	}
	if (*counter < prev)
		*counter = prev;
	/* uidlast counts an expunged last message: its UID is never reused */
	if (*counter < ulast)
		*counter = ulast;
	return all_kept;
}

/* Forget keyword names that only messages we do not believe brought in
 * (they are the last registered: deliveries follow our messages), so a
 * sender cannot fill the table and keep the user from adding keywords. */
void unix_kw_trim(const struct parse *p, struct kwtab *kt)
{
	unsigned keep = p->trust != REC_NONE ? p->kw_rec : p->kw_before;
	while (keep < *kt->n) {
		for (size_t i = 0; i < p->n; i++)
			if (kwset_test(&p->m[i].kw, *kt->n - 1))
				return;
		kw_drop(kt, *kt->n - 1);
	}
}
