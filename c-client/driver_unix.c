/* driver_unix.c: traditional Berkeley mbox, as MTAs append it to the spool.
 * Flags, keywords and UIDs live in Status/X-Status/X-Keywords/X-UID headers
 * and a folder record (UW-style pseudo message with X-IMAP, or Dovecot's
 * X-IMAPbase), so UW imapd, Dovecot and mutt keep working on the same files.
 * Every rewrite goes to a temp file that is renamed over the original while
 * the dotlock is held, or, where we may not create files (Debian's
 * /var/mail), through a redo journal in place (unix_journal.c): a crash
 * leaves the old or the new mailbox, never half. Files are reached through
 * fsafe.h: the mailbox, its temp file and the rename all happen in one
 * directory descriptor, never through a link.
 * The file is read in small mapped windows and messages are fetched with
 * pread, so a session's memory does not grow with the mailbox; the first
 * sync of a session may take its state from the index (unix_index.c). */
#include "driver.h"
#include "fsafe.h"
#include "lock.h"
#include "mail.h"
#include "unix_index.h"
#include "unix_journal.h"

#include <errno.h>
#include <grp.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#ifndef SSLTYPE_NONE
#include <openssl/evp.h>
#include <openssl/hmac.h>
#else
#include <linux/if_alg.h>
#include <sys/socket.h>
#endif

#define PSEUDO_SUBJECT "DON'T DELETE THIS MESSAGE -- FOLDER INTERNAL DATA"
#define SIGLEN UIDX_SIGLEN
#define GEN_HDR "X-IMAP-Gen:"

/* Trust in a folder record (X-IMAP pseudo message, X-IMAPbase).
 *
 * A sender can put any header in a message, and a message delivered into an
 * empty spool is the first one: X-IMAP there would hide it (and a rewrite
 * would drop it), and Status/X-Status/X-Keywords/X-UID would set its flags.
 * So only state this server wrote is believed. Our pseudo message carries
 * AUTH_HDR: the UID of the last message we wrote ("ours") and an
 * HMAC-SHA256, under a per-user key kept in ~/.imapd-cache/secret, of the
 * X-IMAP value (UIDVALIDITY, uidlast, keywords) and ours. A message is ours
 * when its X-UID is ascending and <= ours; any other message is a delivery
 * whose status headers are ignored (and replaced by ours at the next
 * rewrite). A record that does not verify is REC_LEGACY (believed as before)
 * when it cannot have been delivered: the file is not in the spool
 * directory (only the user writes their folders), or the index in
 * ~/.imapd-cache, written by the user's own earlier session, recorded this
 * very record (the upgrade from the version without keys: the pseudo
 * message stays hidden and the flags stay; the session that opens the
 * mailbox rewrites it with an authenticated record at once), or the user
 * has no home to keep a key in (then any well-formed auth line is believed,
 * and what we write carries one under an all-zero key, so the quoting
 * below still reads back exactly). Otherwise the pseudo message is shown as a
 * message and its record ignored. Mailboxes last written by UW imapd (no
 * index of ours) show their pseudo message once in the spool.
 *
 * Quoting: messages we write are mboxrd: every line starting with ">*From "
 * gets one more '>', on every write, header and body, so no reader takes a
 * line for a separator. Reading removes one '>' from ">+From " lines only
 * for the messages an authenticated record vouches for (REC_MAC, X-UID <=
 * ours): we wrote those. Anything else (an MTA's delivery, mboxo, where
 * ">From " may be literal; files of the version without keys) reads as it
 * is, and is re-quoted when we first rewrite it, so it reads the same. */
enum { REC_NONE, REC_LEGACY, REC_MAC };
#define AUTH_HDR "X-IMAP-Auth:"
#define MAC_HEX 64
#define AUTH_LINE (sizeof AUTH_HDR + 10 + 1 + MAC_HEX + 1)
/* the auth line sits right before "X-IMAP: <validity> ", so its digits are
 * at a fixed distance before uidlast's, and one pwrite updates both */
#define AUTH_BACK ((off_t)(19 + AUTH_LINE - sizeof AUTH_HDR))

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
static int from_line(const char *s, size_t n, time_t *t, int *tz)
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
static int from_depth(const char *s, size_t n)
{
	size_t i = 0;

	if (!n || (s[0] != '>' && s[0] != 'F'))
		return -1;
	while (i < n && s[i] == '>')
		i++;
	return n - i >= 5 && !memcmp(s + i, "From ", 5) ? (int)i : -1;
}

/* ---------------------------------------------------------------------- */
/* Authenticating the folder record                                        */

/* HMAC-SHA256 of msg under key; 0 ok. Without OpenSSL (SSLTYPE=none) the
 * kernel's crypto API computes it (AF_ALG, "hmac(sha256)"): no library to
 * add, and the kernel's implementation is well kept. */
static int hmac256(const unsigned char *key, const void *msg, size_t n, unsigned char out[32])
{
#ifndef SSLTYPE_NONE
	unsigned int len = 32;

	return HMAC(EVP_sha256(), key, UIDX_KEYLEN, msg, n, out, &len) && len == 32 ? 0 : -1;
#else
	struct sockaddr_alg sa = { .salg_family = AF_ALG, .salg_type = "hash",
				   .salg_name = "hmac(sha256)" };
	int t = socket(AF_ALG, SOCK_SEQPACKET | SOCK_CLOEXEC, 0), op = -1, rc = -1;

	if (t >= 0 && bind(t, (struct sockaddr *)&sa, sizeof sa) == 0 &&
	    setsockopt(t, SOL_ALG, ALG_SET_KEY, key, UIDX_KEYLEN) == 0 &&
	    (op = accept4(t, NULL, 0, SOCK_CLOEXEC)) >= 0 &&
	    send(op, msg, n, 0) == (ssize_t)n && read(op, out, 32) == 32)
		rc = 0;
	if (op >= 0)
		close(op);
	if (t >= 0)
		close(t);
	return rc;
#endif
}

/* Can hmac256 work here? With OpenSSL, always; the kernel's AF_ALG may be
 * missing (its module not loaded), so that is tried once. Cheap: OpenSSL's
 * first HMAC costs about a millisecond of set-up, paid only when a record
 * really has to be checked or written, not by every open. */
static int hmac_available(void)
{
#ifndef SSLTYPE_NONE
	return 1;
#else
	static int known = -1;

	if (known < 0) {
		unsigned char k[UIDX_KEYLEN] = { 0 }, t[32];
		known = hmac256(k, "x", 1, t) == 0;
	}
	return known;
#endif
}

/* The MAC of a record, as hex: over the X-IMAP value val[0..n) and ours. */
static int rec_mac(const unsigned char *key, const char *val, size_t n, uint32_t ours,
		   char hex[MAC_HEX + 1])
{
	unsigned char mac[32];
	struct buf b;
	int rc;

	buf_init(&b);
	buf_puts(&b, "imapd mbox folder record 1\n");
	buf_append(&b, val, n);
	buf_printf(&b, "\n%010u", ours);
	rc = hmac256(key, b.data, b.len, mac);
	buf_free(&b);
	if (rc < 0)
		memset(mac, 0, sizeof mac);   /* still a well-formed line (see user_key) */
	for (int i = 0; i < 32; i++)
		snprintf(hex + 2 * i, 3, "%02x", mac[i]);
	return rc;
}

/* ---------------------------------------------------------------------- */
/* Headers                                                                 */

enum { H_NONE, H_STATUS, H_XSTATUS, H_XKEYWORDS, H_XUID, H_XIMAP, H_XIMAPBASE, H_CLEN, H_XAUTH };

/* Which of the headers we hide is the field starting at s? */
static int internal_hdr(const char *s, size_t n)
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

struct kwtab {
	char **names;   /* MAIL_KEYWORDS_MAX slots */
	unsigned *n;
};

static int kw_find(struct kwtab *kt, const char *s, size_t len, int add)
{
	for (unsigned i = 0; i < *kt->n; i++)
		if (!str_casecmp_n(s, len, kt->names[i]))
			return (int)i;
	if (!add || *kt->n >= MAIL_KEYWORDS_MAX || !len)
		return -1;
	kt->names[*kt->n] = xstrndup(s, len);
	return (int)(*kt->n)++;
}

/* What one message's header says. */
struct hinfo {
	uint32_t flags, xuid;
	uint64_t kw;
	int old;
	int ximap, ximapbase;
	/* folder record from X-IMAP / X-IMAPbase */
	uint32_t validity, last;
	size_t last_off;     /* offset of a 10-digit uidlast in the buffer, or 0 */
	size_t rec_vo, rec_ve;  /* the X-IMAP value in the buffer */
	int auth;            /* a well-formed AUTH_HDR line was seen */
	uint32_t auth_ours;
	size_t auth_off;     /* offset of its digits in the buffer */
	const char *auth_mac;
	uint32_t nq;         /* lines of the form ">+From " */
};

static uint32_t parse_u32(const char *s, size_t *i, size_t n, int *ok)
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
		h->xuid = parse_u32(v, &i, ve, &ok);
		if (!ok)
			h->xuid = 0;
		break;
	case H_XAUTH:
		h->auth = 0;
		if (ve - i < 12 + MAC_HEX || v[i] != ' ')
			break;
		i++;
		h->auth_off = i;
		h->auth_ours = parse_u32(v, &i, ve, &ok);
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
			h->validity = parse_u32(v, &i, ve, &ok);
			if (!ok)
				h->validity = 0;
			while (i < ve && is_ws(v[i]))
				i++;
			size_t st = i;
			h->last = parse_u32(v, &i, ve, &ok);
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
				int k = kw_find(kt, v + st, i - st, 1);
				if (k >= 0 && id == H_XKEYWORDS)
					h->kw |= 1ULL << k;
			}
		}
		break;
	}
}

/* Scan a header from buf[pos]; returns the offset after it (after the blank
 * line when there is one; *blank is that line's length, 0 if none). */
static size_t hdr_scan(const char *buf, size_t pos, size_t len, struct hinfo *h,
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
		h->nq += from_depth(buf + pos, ce - pos) > 0;
		int id = internal_hdr(buf + pos, ce - pos);
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

static uint64_t canon_header(const char *h, size_t len, int rd, struct buf *out)
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
			skip = ce > pos && internal_hdr(h + pos, ce - pos) != H_NONE;
		if (!skip) {
			/* an unterminated last line is terminated too: a rewrite
			 * must add its LF, and the text must not change */
			size_t q = rd && from_depth(h + pos, ce - pos) > 0;
			emit(out, &n, h + pos + q, ce - pos - q);
			emit(out, &n, "\r\n", 2);
		}
		pos = nl ? le + 1 : len;
	}
	return n;
}

/* ---------------------------------------------------------------------- */
/* Parsing a mailbox buffer                                                */

struct pmsg {
	size_t off;          /* From line, relative to the parsed buffer */
	uint64_t from_len, hdr_len;
	uint64_t body_len, size;
	uint32_t xuid, uid, flags;
	uint32_t fp;         /* From line hash: identity check for unsaved UIDs */
	uint64_t kw;
	int old;
	time_t date;
	int tz;
	uint32_t nq;         /* ">+From " lines, header and body */
	int rd;              /* ours and mboxrd: reading unquotes them */
};

static uint32_t hash(const char *p, size_t n)
{
	uint32_t h = 2166136261u;

	while (n--)
		h = (h ^ (unsigned char)*p++) * 16777619u;
	return h;
}

struct parse {
	struct pmsg *m;
	size_t n, cap;
	int have_rec;        /* folder record found */
	uint32_t validity, last;
	size_t last_off;     /* in-place updatable uidlast (0: not possible) */
	int pseudo;          /* first message is the pseudo message */
	uint32_t top;        /* highest UID the file implies */
	const unsigned char *key;  /* the user's key, NULL if none */
	int believe;         /* no key possible: believe an auth line unchecked */
	int all_mine;        /* status headers of every message are believed */
	int trust;           /* REC_*, once rec_trust has decided */
	int rec_mac;         /* the record's MAC verified */
	uint32_t ours;       /* messages with X-UID up to this are ours */
	uint32_t rd_ours;    /* and up to this mboxrd-quoted by us */
	int auth_seen;       /* an auth line, verified or not, said rd_ours */
	size_t auth_off;     /* file offset of the auth digits (0: layout unknown) */
	char *recval;        /* the X-IMAP value, to recompute the MAC */
	size_t recval_len, recval_base;  /* and its length and file offset */
	struct pmsg pm;      /* the pseudo message, shown if the record is not ours */
	unsigned kw_before;  /* keyword names known before the parse */
	unsigned kw_rec;     /* and after the record's, if there is one */
};

static void parse_free(struct parse *p)
{
	free(p->recval);
	free(p->m);
	memset(p, 0, sizeof *p);
}

static size_t line_end(const char *buf, size_t pos, size_t len)
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
	int complete;        /* next is certain: a From line, or the end of file */
};

/* Is buf[i] the start of a line that follows an empty line? */
static int after_blank(const char *buf, size_t i)
{
	return i >= 2 && buf[i - 1] == '\n' &&
	       (buf[i - 2] == '\n' || (i >= 3 && buf[i - 2] == '\r' && buf[i - 3] == '\n'));
}

/* From pos (a line start), find the next message: a valid From line whose
 * previous line is empty. One pass of memchr per line, which also counts
 * the line ends (a separate pass, or memmem, costs twice as much). Without
 * eof, running into len leaves the answer open (the buffer is a window). */
static void scan_body(const char *buf, size_t pos, size_t len, int eof, struct bscan *r)
{
	size_t lf = 0, crlf = 0, i = pos;
	uint32_t nq = 0;

	r->next = len;
	while (i < len) {
		if (buf[i] == '>' && from_depth(buf + i, len - i) > 0)
			nq++;
		if (buf[i] == 'F' && len - i >= 5 && !memcmp(buf + i, "From ", 5) &&
		    after_blank(buf, i)) {
			const char *nl = memchr(buf + i, '\n', len - i);
			if (!nl && !eof)
				break;
			if (from_line(buf + i, nl ? (size_t)(nl - buf) + 1 - i : len - i, NULL, NULL)) {
				r->next = i;
				break;
			}
		}
		const char *nl = memchr(buf + i, '\n', len - i);
		if (!nl)
			break;
		lf++;
		if (nl > buf + pos && nl[-1] == '\r')
			crlf++;
		i = (size_t)(nl - buf) + 1;
	}
	r->lf = lf;
	r->crlf = crlf;
	r->nq = nq;
	r->complete = eof || r->next < len;
}

/* Length of the empty line ending at end (the separator), or 0. */
static size_t trailing_blank(const char *buf, size_t start, size_t end)
{
	if (end >= start + 2 && buf[end - 1] == '\n' && buf[end - 2] == '\n')
		return 1;
	if (end >= start + 3 && buf[end - 1] == '\n' && buf[end - 2] == '\r' &&
	    buf[end - 3] == '\n')
		return 2;
	return 0;
}

/* Compare two MACs in hex without a data-dependent early exit. */
static int same_mac(const char *a, const char *b)
{
	unsigned char d = 0;

	for (int i = 0; i < MAC_HEX; i++)
		d |= (unsigned char)(a[i] ^ b[i]);
	return d == 0;
}

/* Check the first message's record against the key; remember what an
 * in-place update of it needs. */
static void rec_verify(struct parse *out, const char *buf, off_t base, const struct hinfo *h)
{
	char hex[MAC_HEX + 1];

	free(out->recval);
	out->recval_len = h->rec_ve - h->rec_vo;
	out->recval = xstrndup(buf + h->rec_vo, out->recval_len);
	out->recval_base = (size_t)base + h->rec_vo;
	out->rec_mac = 0;
	out->auth_off = 0;
	out->auth_seen = 0;
	if (!h->auth || h->auth_ours > h->last)
		return;
	out->auth_seen = 1;
	out->rd_ours = h->auth_ours;
	if (!out->believe &&
	    (!out->key ||
	     rec_mac(out->key, buf + h->rec_vo, h->rec_ve - h->rec_vo, h->auth_ours, hex) < 0 ||
	     !same_mac(hex, h->auth_mac)))
		return;
	out->rec_mac = 1;
	out->ours = h->auth_ours;
	if (out->last_off && (off_t)((size_t)base + h->auth_off) + AUTH_BACK == (off_t)out->last_off)
		out->auth_off = (size_t)base + h->auth_off;
}

/* Parse buf[0..len), which must start with a From line (or be empty),
 * appending to out; base: file offset of buf. first: buf starts at the
 * file start (folder record possible). Without eof, the last message may
 * go on past len: it is left for the next window and *used says where it
 * starts. -1: not an mbox. */
static int mbox_parse(const char *buf, size_t len, int first, int eof, off_t base,
		      struct kwtab *kt, struct parse *out, size_t *used)
{
	size_t pos = 0;

	*used = 0;
	if (len && !from_line(buf, line_end(buf, 0, len), NULL, NULL))
		return (!eof && !memchr(buf, '\n', len)) ? 0 : -1;
	while (pos < len) {
		struct pmsg m = { .off = (size_t)base + pos };
		struct hinfo h = { 0 };
		struct bscan bs;
		size_t fl = line_end(buf, pos, len), blank;

		size_t hend = hdr_scan(buf, fl, len, &h, kt, &blank);
		scan_body(buf, hend, len, eof, &bs);
		if (!bs.complete)
			break;
		from_line(buf + pos, fl - pos, &m.date, &m.tz);
		m.from_len = fl - pos;
		m.fp = hash(buf + pos, fl - pos);
		size_t next = bs.next, tb = trailing_blank(buf, fl, next);
		size_t end = next - tb;
		if (tb) {
			bs.lf--;
			bs.crlf -= tb == 2;
		}
		if (end < hend) {
			hend = end;          /* the header's blank line was the separator */
			bs.lf = bs.crlf = bs.nq = 0;
		}
		m.hdr_len = hend - fl;
		m.body_len = end - hend;
		m.nq = h.nq + bs.nq;
		m.size = canon_header(buf + fl, m.hdr_len, 0, NULL) + m.body_len + bs.lf - bs.crlf;
		if (m.body_len && buf[end - 1] != '\n')
			m.size += buf[end - 1] == '\r' ? 1 : 2;
		m.xuid = h.xuid;
		m.flags = h.flags;
		m.kw = h.kw;
		m.old = h.old;
		pos = next;
		*used = pos;
		if (first && out->n == 0 && !out->pseudo && (h.ximap || h.ximapbase) && h.validity) {
			out->have_rec = 1;
			out->validity = h.validity;
			out->last = h.last;
			out->last_off = h.last_off ? (size_t)base + h.last_off : 0;
			out->kw_rec = *kt->n;
			if (h.ximap) {
				rec_verify(out, buf, base, &h);
				out->pseudo = 1;
				out->pm = m;
				continue;
			}
		}
		if (out->n == out->cap) {
			out->cap = out->cap ? out->cap * 2 : 64;
			out->m = xrealloc(out->m, out->cap * sizeof *out->m);
		}
		out->m[out->n++] = m;
	}
	if (eof)
		*used = len;
	return 0;
}

/* Give every message a UID: keep X-UID when it is ascending and not above
 * the record's uidlast (nor, in the spool, what the record says is ours);
 * else hand out the next one, and in the spool forget the status headers:
 * a sender wrote them (see REC_NONE). Deterministic, so every session
 * computes the same UIDs for the same file. *counter: highest UID handed
 * out so far (in/out); prev: UID of the message before the first. */
static int assign_uids(struct parse *p, uint32_t prev, uint32_t ulast, uint32_t *counter)
{
	int all_kept = 1;

	for (size_t i = 0; i < p->n; i++) {
		struct pmsg *m = &p->m[i];
		uint32_t lim = p->all_mine || p->ours > ulast ? ulast : p->ours;
		if (m->xuid && m->xuid > prev && m->xuid <= lim) {
			m->uid = m->xuid;
			m->rd = m->xuid <= p->rd_ours;
			if (m->rd)
				m->size -= m->nq;
		} else if (p->all_mine) {
			if (*counter < prev)
				*counter = prev;
			if (*counter < ulast)
				*counter = ulast;
			m->uid = ++*counter;
			m->xuid = 0;
			m->rd = 0;
			all_kept = 0;
		} else {
			if (*counter < prev)
				*counter = prev;
			if (*counter < ulast)
				*counter = ulast;
			m->uid = ++*counter;
			m->xuid = 0;
			m->flags = 0;
			m->kw = 0;
			m->old = 0;
			m->rd = 0;
			all_kept = 0;
		}
		prev = m->uid;
	}
	if (*counter < prev)
		*counter = prev;
	return all_kept;
}

/* The user's key, created on first use; -1 and an all-zero key when the
 * user has no home that can hold one, or no HMAC can be computed (a kernel
 * without AF_ALG under SSLTYPE=none): see REC_NONE. */
static int user_key(struct mail_session *s, unsigned char key[UIDX_KEYLEN])
{
	if (uidx_secret(s ? fsafe_home(s) : -1, 1, key) > 0 && hmac_available())
		return 1;
	memset(key, 0, UIDX_KEYLEN);
	return -1;
}

/* Could an MTA have delivered path's first message? Spool files, yes. */
static int in_spool(const struct mail_session *s, const char *path)
{
	const char *slash = strrchr(path, '/');
	size_t n;

	if (!s || !s->spool_dir || !slash)
		return 1;
	n = strlen(s->spool_dir);
	while (n > 1 && s->spool_dir[n - 1] == '/')
		n--;
	return (size_t)(slash - path) == n && !strncmp(path, s->spool_dir, n);
}

/* Did the user's own index record this very folder record? */
static int index_vouches(struct mail_session *s, const char *path, const struct parse *p)
{
	struct uidx x;
	int ok = 0;

	if (s && uidx_load(fsafe_home(s), path, &x) == 0) {
		ok = x.h.have_rec && x.h.validity == p->validity && p->last_off &&
		     x.h.rec_off == (uint64_t)p->last_off && x.h.rec_last <= p->last;
		uidx_free(&x);
	}
	return ok;
}

/* Decide whether the parsed record is ours (see REC_NONE); a record that is
 * not is forgotten and its pseudo message becomes a message again.
 * keystate: what uidx_secret said. */
static void rec_trust(struct parse *p, struct mail_session *s, const char *path,
		      int keystate)
{
	p->trust = REC_NONE;
	p->all_mine = !in_spool(s, path);
	if (!p->have_rec) {
		p->ours = p->rd_ours = 0;
	} else if (p->rec_mac) {
		p->trust = REC_MAC;
	} else if (keystate < 0 || !in_spool(s, path) || index_vouches(s, path, p)) {
		/* believed as a whole, including what its auth line (under
		 * another key, or none) says we quoted */
		p->trust = REC_LEGACY;
		p->ours = UINT32_MAX;
		p->rd_ours = p->auth_seen ? p->rd_ours : 0;
		p->all_mine = 1;
	} else {
		p->have_rec = 0;
		p->validity = p->last = 0;
		p->last_off = p->auth_off = 0;
		p->ours = p->rd_ours = 0;
		if (p->pseudo) {
			p->pseudo = 0;
			if (p->n == p->cap) {
				p->cap = p->cap ? p->cap * 2 : 64;
				p->m = xrealloc(p->m, p->cap * sizeof *p->m);
			}
			memmove(p->m + 1, p->m, p->n * sizeof *p->m);
			p->m[0] = p->pm;
			p->n++;
		}
	}
}

/* Forget keyword names that only messages we do not believe brought in
 * (they are the last registered: deliveries follow our messages), so a
 * sender cannot fill the table and keep the user from adding keywords. */
static void kw_trim(const struct parse *p, struct kwtab *kt)
{
	unsigned keep = p->trust != REC_NONE ? p->kw_rec : p->kw_before;
	uint64_t used = 0;

	for (size_t i = 0; i < p->n; i++)
		used |= p->m[i].kw;
	while (*kt->n > keep && !(used & (1ULL << (*kt->n - 1)))) {
		(*kt->n)--;
		free(kt->names[*kt->n]);
		kt->names[*kt->n] = NULL;
	}
}

/* ---------------------------------------------------------------------- */
/* Driver state                                                            */

struct umsg {
	struct message m;
	off_t off;
	uint64_t from_len, hdr_len;
	uint64_t body_len;
	uint32_t disk_flags;
	uint64_t disk_kw;
	uint32_t fp;
	uint32_t nq;
	uint8_t disk_old, disk_uid, rd;
};

struct ubox {
	int fd;                 /* mailbox file for fetch, -1 if none */
	int exists;             /* file existed at last sync */
	dev_t dev;
	ino_t ino;
	off_t size;
	struct timespec mtime;
	char sig[SIGLEN];       /* last bytes before size: detects rewrites */
	int moved;              /* offsets found again after an in-place rewrite, */
	off_t moved_size;       /* for the file as it was then */
	struct timespec moved_mtime;
	size_t siglen;
	int have_rec;           /* the file has our folder record */
	uint32_t rec_last;      /* its uidlast */
	off_t rec_off;          /* where uidlast's 10 digits are, 0: not fixed width */
	unsigned rec_nkw;       /* keywords it lists */
	off_t gen_off;          /* the record's change counter, 0: none */
	uint32_t gen;           /* its value */
	uint32_t counter;       /* highest UID handed out */
	int rec_trust;          /* REC_* of the record */
	unsigned char key[UIDX_KEYLEN];
	int keystate;           /* user_key's answer: 1 key, -1 none possible */
	int not_spool;          /* no MTA delivers to this file */
	int renumbered;         /* UIDs differ from what the file implies: write */
	int opening;            /* first sync of the session: the index may serve */
	int claim_known;        /* the \Recent claim (uidx_recent_get) was read */
	uint32_t claim_validity, claim_hw;
	struct buf text;        /* last fetched canonical text */
	struct buf hraw;        /* raw header being canonicalised */
	uint32_t text_uid;
};

#define UB(box) ((struct ubox *)(box)->drvdata)
#define UM(box, i) ((struct umsg *)(box)->msgs[i])

/* An mbox is a regular file that is empty or starts with a From line. */
static int unix_valid(int dirfd, const char *leaf, const struct stat *st)
{
	char b[1024];
	int fd = mail_valid_open(dirfd, leaf, st);
	ssize_t n = fd < 0 ? -1 : pread(fd, b, sizeof b, 0);

	if (fd >= 0)
		close(fd);
	if (n == 0)
		return 1;
	if (n < 5)
		return 0;
	return from_line(b, line_end(b, 0, (size_t)n), NULL, NULL);
}

static void ev_exists(struct mailbox *box)
{
	if (box->ev && box->ev->exists)
		box->ev->exists(box->evctx, box->nmsgs);
}

static void ev_recent(struct mailbox *box)
{
	if (box->ev && box->ev->recent)
		box->ev->recent(box->evctx, box->recent);
}

static void ev_expunged(struct mailbox *box, uint32_t msgno)
{
	if (box->ev && box->ev->expunged)
		box->ev->expunged(box->evctx, msgno);
}

static void ev_flags(struct mailbox *box, uint32_t msgno)
{
	if (box->ev && box->ev->flags)
		box->ev->flags(box->evctx, msgno);
}

static void ev_notice(struct mailbox *box, const char *text)
{
	if (box->ev && box->ev->notice)
		box->ev->notice(box->evctx, text);
}

static void umsg_free(struct umsg *u)
{
	pool_free(u->m.pool);
	free(u);
}

/* Remove message i (0-based) and report it. */
static void box_remove(struct mailbox *box, uint32_t i)
{
	struct umsg *u = UM(box, i);

	if (u->m.flags & MF_RECENT)
		box->recent--;
	if (UB(box)->text_uid == u->m.uid)
		UB(box)->text_uid = 0;
	umsg_free(u);
	memmove(box->msgs + i, box->msgs + i + 1, (box->nmsgs - i - 1) * sizeof *box->msgs);
	box->nmsgs--;
	ev_expunged(box, i + 1);
}

/* Was uid already reported \Recent to another read-write session? Only
 * under a folder record we believe: without one (a new file, or a record
 * a sender forged) UIDs name nothing stable, and every message counts as
 * new, as before claims existed. */
static int recent_claimed(struct mailbox *box, uint32_t uid)
{
	const struct ubox *ub = UB(box);

	return ub->claim_known && box->uidvalidity && ub->claim_validity == box->uidvalidity &&
	       uid <= ub->claim_hw;
}

/* Under the mailbox's lock: read the \Recent claim before learning of new
 * messages ... */
static void recent_load(struct mailbox *box)
{
	struct ubox *ub = UB(box);
	int home = box->sess ? fsafe_home(box->sess) : -1;

	ub->claim_known = uidx_recent_get(home, box->path, &ub->claim_validity, &ub->claim_hw) == 0;
}

/* ... and claim every message this session now knows, still under it, so no
 * other read-write session sees them \Recent (RFC 3501 2.3.2). EXAMINE
 * claims nothing: it must not take \Recent from anyone (6.3.2). */
static void recent_claim(struct mailbox *box)
{
	struct ubox *ub = UB(box);
	uint32_t top = box->nmsgs ? box->msgs[box->nmsgs - 1]->uid : 0;

	if (box->readonly || !top || !box->uidvalidity ||
	    (ub->claim_known && ub->claim_validity == box->uidvalidity && ub->claim_hw >= top))
		return;
	uidx_recent_put(box->sess ? fsafe_home(box->sess) : -1, box->path, box->uidvalidity, top);
	ub->claim_known = 1;
	ub->claim_validity = box->uidvalidity;
	ub->claim_hw = top;
}

static void box_add(struct mailbox *box, const struct pmsg *p)
{
	struct umsg *u = xcalloc(1, sizeof *u);

	u->m.uid = p->uid;
	u->m.flags = p->flags;
	u->m.keywords = p->kw;
	u->m.internal_date = p->date;
	u->m.tz_minutes = p->tz;
	u->m.size = p->size;
	u->m.drv = u;
	u->off = (off_t)p->off;
	u->from_len = p->from_len;
	u->hdr_len = p->hdr_len;
	u->body_len = p->body_len;
	u->disk_flags = p->flags;
	u->disk_kw = p->kw;
	u->disk_old = (uint8_t)p->old;
	u->disk_uid = p->xuid == p->uid;
	u->fp = p->fp;
	u->nq = p->nq;
	u->rd = (uint8_t)p->rd;
	if (!p->old && !recent_claimed(box, p->uid)) {
		u->m.flags |= MF_RECENT;
		box->recent++;
	}
	box->msgs = xrealloc(box->msgs, (box->nmsgs + 1) * sizeof *box->msgs);
	box->msgs[box->nmsgs++] = &u->m;
}

static void box_place(struct umsg *u, const struct pmsg *p)
{
	u->off = (off_t)p->off;
	u->from_len = p->from_len;
	u->hdr_len = p->hdr_len;
	u->body_len = p->body_len;
	u->m.size = p->size;
	u->fp = p->fp;
	u->nq = p->nq;
	u->rd = (uint8_t)p->rd;
}

/* Flags or keywords changed by this session and not yet on disk. */
static int flags_dirty(const struct umsg *u)
{
	return (u->m.flags & MF_STORABLE) != u->disk_flags || u->m.keywords != u->disk_kw;
}

static int box_flags_dirty(struct mailbox *box)
{
	if (box->readonly || !UB(box)->exists)
		return 0;
	for (uint32_t i = 0; i < box->nmsgs; i++)
		if (flags_dirty(UM(box, i)))
			return 1;
	return 0;
}

/* Anything at all to write: flags, "O" for messages we reported \Recent,
 * UIDs not yet in X-UID, the folder record. */
static int box_dirty(struct mailbox *box)
{
	struct ubox *ub = UB(box);

	if (box->readonly || !ub->exists)
		return 0;
	if (!ub->have_rec || ub->rec_last != ub->counter || ub->rec_nkw != box->nkeywords ||
	    ub->rec_trust != REC_MAC)
		return 1;
	for (uint32_t i = 0; i < box->nmsgs; i++) {
		struct umsg *u = UM(box, i);
		if (flags_dirty(u) || !u->disk_old || !u->disk_uid)
			return 1;
	}
	return 0;
}

/* ---------------------------------------------------------------------- */
/* Reading the file in windows                                            */

/* A window on the file: sequential readers map a few megabytes at a time,
 * never the whole mailbox, so a session stays small however big the file. */
#define WIN_SIZE ((size_t)1 << 20)

struct win {
	int fd;
	off_t fsize;
	char *map;
	off_t base;
	size_t len;
};

static void win_init(struct win *w, int fd, off_t fsize)
{
	memset(w, 0, sizeof *w);
	w->fd = fd;
	w->fsize = fsize;
}

static void win_drop(struct win *w)
{
	if (w->map)
		munmap(w->map, w->len);
	w->map = NULL;
	w->len = 0;
}

/* Bytes [off, off+n) of the file, valid until the next call; *avail: how
 * many bytes from off are mapped (at least n). NULL: past the end or error. */
static const char *win_get(struct win *w, off_t off, size_t n, size_t *avail)
{
	static long page;

	if (off < 0 || off > w->fsize || n > (size_t)(w->fsize - off))
		return NULL;
	if (!w->map || off < w->base || off + (off_t)n > w->base + (off_t)w->len) {
		if (!page)
			page = sysconf(_SC_PAGESIZE);
		win_drop(w);
		w->base = off - off % page;
		size_t want = (size_t)(off - w->base) + (n > WIN_SIZE ? n : WIN_SIZE);
		w->len = want < (size_t)(w->fsize - w->base) ? want : (size_t)(w->fsize - w->base);
		if (!w->len)
			return avail ? (*avail = 0, "") : "";
		w->map = mmap(NULL, w->len, PROT_READ, MAP_PRIVATE | MAP_POPULATE, w->fd, w->base);
		if (w->map == MAP_FAILED) {
			w->map = NULL;
			w->len = 0;
			return NULL;
		}
	}
	if (avail)
		*avail = (size_t)(w->base + (off_t)w->len - off);
	return w->map + (off - w->base);
}

/* Parse the file range [start, end) (start at a From line) window by
 * window; offsets in out are file offsets. -1 not an mbox, -2 I/O error. */
static int mbox_parse_fd(int fd, off_t start, off_t end, int ks, const unsigned char *key,
			 struct kwtab *kt, struct parse *out)
{
	struct win w;
	size_t want = WIN_SIZE;
	int rc = 0;

	memset(out, 0, sizeof *out);
	out->key = key;
	out->believe = ks < 0;
	out->kw_before = out->kw_rec = *kt->n;
	win_init(&w, fd, end);
	while (start < end) {
		size_t avail, used;
		const char *b = win_get(&w, start, want < (size_t)(end - start) ? want :
						   (size_t)(end - start), &avail);
		if (!b) {
			rc = -2;
			break;
		}
		int eof = start + (off_t)avail >= end;
		if (mbox_parse(b, avail, start == 0, eof, start, kt, out, &used) < 0) {
			rc = -1;
			break;
		}
		if (!used) {
			want = avail * 2;   /* one message bigger than the window */
			continue;
		}
		start += (off_t)used;
		want = WIN_SIZE;
	}
	win_drop(&w);
	if (rc)
		parse_free(out);
	return rc;
}

/* ---------------------------------------------------------------------- */
/* Writing                                                                 */

struct wout {
	int fd;
	struct buf b;
	off_t pos;
	off_t kicked;           /* written back up to here (sync_file_range) */
	int failed;
};

static void wraw(struct wout *w, const char *p, size_t n)
{
	if (!w->failed && write_full(w->fd, p, n) < 0)
		w->failed = errno ? errno : EIO;
}

/* Every few megabytes, start writing back what we wrote so far: the disk
 * works while we go on, and the fsync before the rename waits for little. */
#define WOUT_KICK ((off_t)8 << 20)

static void wflush(struct wout *w)
{
	wraw(w, w->b.data, w->b.len);
	buf_reset(&w->b);
	if (!w->failed && w->pos - w->kicked >= WOUT_KICK) {
		sync_file_range(w->fd, w->kicked, w->pos - w->kicked, SYNC_FILE_RANGE_WRITE);
		w->kicked = w->pos;
	}
}

static void wput(struct wout *w, const void *p, size_t n)
{
	/* big bodies go straight from the source mapping, after what is
	 * buffered: the order of the bytes is the order of the calls */
	if (w->b.len + n > (1 << 20) || n >= (1 << 19))
		wflush(w);
	if (n >= (1 << 19))
		wraw(w, p, n);
	else
		buf_append(&w->b, p, n);
	w->pos += (off_t)n;
}

/* Room reserved in each status line (value bytes after the colon), so a
 * later flag change can overwrite the line in place: " RO", " DFAT", and
 * keywords with some slack. Readers skip the trailing spaces. */
#define STATUS_ROOM 3
#define XSTATUS_ROOM 5
#define KW_ROOM 48
#define KW_SLACK 16

/* The value of a status line (id H_STATUS, H_XSTATUS or H_XKEYWORDS) as it
 * goes after the colon, unpadded; empty when there is nothing to say. */
static void status_value(struct buf *o, int id, uint32_t flags, uint64_t kw, int old,
			 char **names, unsigned nkw)
{
	if (id == H_STATUS && ((flags & MF_SEEN) || old))
		buf_printf(o, " %s%s", flags & MF_SEEN ? "R" : "", old ? "O" : "");
	if (id == H_XSTATUS && (flags & (MF_DELETED | MF_FLAGGED | MF_ANSWERED | MF_DRAFT)))
		buf_printf(o, " %s%s%s%s", flags & MF_DELETED ? "D" : "",
			   flags & MF_FLAGGED ? "F" : "", flags & MF_ANSWERED ? "A" : "",
			   flags & MF_DRAFT ? "T" : "");
	for (unsigned i = 0; id == H_XKEYWORDS && i < nkw && i < 64; i++)
		if (kw & (1ULL << i))
			buf_printf(o, " %s", names[i]);
}

static void pad_to(struct buf *o, size_t from, size_t width)
{
	while (o->len - from < width)
		buf_putc(o, ' ');
}

/* Status, X-Status and X-Keywords always, padded (see STATUS_ROOM). */
static void status_lines(struct buf *o, uint32_t flags, uint64_t kw, char **names,
			 unsigned nkw, uint32_t uid, int old)
{
	static const struct { const char *name; int id; size_t room; } tab[] = {
		{ "Status:", H_STATUS, STATUS_ROOM }, { "X-Status:", H_XSTATUS, XSTATUS_ROOM },
		{ "X-Keywords:", H_XKEYWORDS, KW_ROOM },
	};

	for (size_t i = 0; i < ARRAY_SIZE(tab); i++) {
		buf_puts(o, tab[i].name);
		size_t at = o->len;
		status_value(o, tab[i].id, flags, kw, old, names, nkw);
		size_t used = o->len - at, room = tab[i].room;
		if (tab[i].id == H_XKEYWORDS && used + KW_SLACK > room)
			room = used + KW_SLACK;
		pad_to(o, at, room);
		buf_putc(o, '\n');
	}
	buf_printf(o, "X-UID: %u\n", uid);
}

/* Write the folder record; returns the file offset of uidlast's digits.
 * With a key, it is authenticated, vouching for messages up to UID ours.
 * gen: the change counter, so other sessions see every rewrite as one. */
static off_t write_pseudo(struct wout *w, uint32_t validity, uint32_t last, char **names,
			  unsigned nkw, uint32_t ours, const unsigned char *key, uint32_t gen)
{
	off_t at;
	char host[256] = "localhost", fl[64], dh[64], hex[MAC_HEX + 1];
	time_t now = time(NULL);
	struct tm tm;
	struct buf b, val;

	gethostname(host, sizeof host - 1);
	host[sizeof host - 1] = '\0';
	localtime_r(&now, &tm);
	strftime(fl, sizeof fl, "%a %b %e %H:%M:%S %Y", &tm);
	strftime(dh, sizeof dh, "%a, %d %b %Y %H:%M:%S %z", &tm);
	buf_init(&b);
	buf_printf(&b, "From MAILER-DAEMON %s\nDate: %s\n", fl, dh);
	buf_printf(&b, "From: Mail System Internal Data <MAILER-DAEMON@%s>\n", host);
	buf_printf(&b, "Subject: %s\nMessage-ID: <%lld@%s>\n", PSEUDO_SUBJECT, (long long)now,
		   host);
	/* a change counter for in-place flag updates (see inplace_update) */
	buf_printf(&b, GEN_HDR " %010u\n", gen);
	buf_init(&val);
	buf_printf(&val, "%010u %010u", validity, last);
	for (unsigned i = 0; i < nkw; i++)
		buf_printf(&val, " %s", names[i]);
	if (key) {
		rec_mac(key, val.data, val.len, ours, hex);
		buf_printf(&b, AUTH_HDR " %010u %s\n", ours, hex);
	}
	at = w->pos + (off_t)b.len + 19;
	buf_printf(&b, "X-IMAP: %s", val.data);
	buf_free(&val);
	buf_puts(&b, "\nStatus: RO\n\n"
		     "This message holds the IMAP state of this mail folder (UID numbers\n"
		     "and keywords). Mail programs hide it; deleting it resets that state.\n\n");
	wput(w, b.data, b.len);
	buf_free(&b);
	return at;
}

/* One message to (re)write from a source buffer. */
struct witem {
	off_t src;              /* From line, in the source file */
	uint64_t from_len, hdr_len;
	uint64_t body_len;
	uint32_t flags, uid;
	uint64_t kw;
	int old;
	int rd;                 /* already mboxrd-quoted by us */
	int quote;              /* quote it now (not rd yet) */
	uint32_t nq;            /* its ">+From " lines */
	off_t noff;             /* out: new From line offset */
	uint64_t nhdr_len, nbody_len;  /* out */
	uint32_t nnq;           /* out: quoted lines now */
};

/* Write a body not quoted by us yet: every ">*From " line gets one more
 * '>'. memmem finds the candidates (far fewer than lines, and faster than
 * a memchr per line); runs between them go out in one piece. Returns the
 * lines quoted. */
static uint32_t write_quoted(struct wout *w, const char *b, size_t n)
{
	size_t run = 0, i = 0;
	uint32_t q = 0;
	const char *f;

	while (i < n && (f = memmem(b + i, n - i, "From ", 5))) {
		size_t at = (size_t)(f - b), ls = at;
		while (ls > i && b[ls - 1] == '>')
			ls--;
		if (ls == 0 || b[ls - 1] == '\n') {
			wput(w, b + run, ls - run);
			wput(w, ">", 1);
			run = ls;
			q++;
		}
		i = at + 5;
	}
	wput(w, b + run, n - run);
	return q;
}

static void write_item(struct wout *w, struct win *in, struct witem *it, char **names,
		       unsigned nkw)
{
	const char *src = win_get(in, it->src, it->from_len + it->hdr_len + it->body_len, NULL);
	size_t pos = 0, len = it->hdr_len, term = 0;
	struct buf o;
	int skip = 0;
	uint32_t nq = 0;

	if (!src) {
		w->failed = EIO;
		return;
	}
	const char *h = src + it->from_len, *body = h + it->hdr_len;
	buf_init(&o);
	/* the header's own blank line, if any, goes after our status lines */
	if (len >= 1 && h[len - 1] == '\n') {
		if (len == 1 || h[len - 2] == '\n')
			term = 1;
		else if (h[len - 2] == '\r' && (len == 2 || h[len - 3] == '\n'))
			term = 2;
	}
	while (pos < len - term) {
		size_t le = line_end(h, pos, len - term);
		size_t ce = le;
		while (ce > pos && (h[ce - 1] == '\n' || h[ce - 1] == '\r'))
			ce--;
		if (!(ce > pos && (h[pos] == ' ' || h[pos] == '\t')))
			skip = ce > pos && internal_hdr(h + pos, ce - pos) != H_NONE &&
			       internal_hdr(h + pos, ce - pos) != H_CLEN;
		if (!skip) {
			if (it->quote && from_depth(h + pos, ce - pos) >= 0) {
				buf_putc(&o, '>');
				nq++;
			}
			buf_append(&o, h + pos, le - pos);
			if (h[le - 1] != '\n')
				buf_putc(&o, '\n');
		}
		pos = le;
	}
	status_lines(&o, it->flags, it->kw, names, nkw, it->uid, it->old);
	buf_append(&o, h + len - term, term);
	it->noff = w->pos;
	it->nhdr_len = o.len;
	wput(w, src, it->from_len);
	wput(w, o.data, o.len);
	buf_free(&o);
	off_t bstart = w->pos;
	if (it->quote)
		nq += write_quoted(w, body, it->body_len);
	else
		wput(w, body, it->body_len);
	it->nbody_len = (uint64_t)(w->pos - bstart);
	it->nnq = it->quote ? nq : it->nq;
	if (it->body_len && body[it->body_len - 1] != '\n')
		wput(w, "\n", 1);
	wput(w, "\n", 1);
}

/* A new message (APPEND): From line, header without our internal fields,
 * status lines, body. Text may be CRLF or LF. Every ">*From " line gets one
 * more '>' (mboxrd): readers differ on what a separator is (mutt takes any
 * "From " line that looks like one, Python's mailbox any "From " at all),
 * and our reader removes the '>' again (see REC_NONE). */
static void format_new(struct buf *o, const char *user, const struct mail_new *m, uint32_t uid,
		       char **names, unsigned nkw, uint64_t kw)
{
	time_t t = m->date ? m->date : time(NULL);
	struct tm tm;
	char date[64];
	size_t pos = 0, len = m->len;
	int in_hdr = 1, skip = 0, had_blank = 0;

	localtime_r(&t, &tm);
	strftime(date, sizeof date, "%a %b %e %H:%M:%S %Y", &tm);
	buf_printf(o, "From %s %s\n", m->sender ? (*m->sender ? m->sender : "MAILER-DAEMON") :
		   user && *user ? user : "MAILER-DAEMON", date);
	while (pos < len) {
		size_t le = line_end(m->text, pos, len), ce = le;
		if (ce > pos && m->text[ce - 1] == '\n')
			ce--;
		/* CRLF becomes LF; "\r\r\n" keeps its CRs, as the reader takes
		 * a CR before LF for the CRLF and must find the other one */
		if (ce > pos && m->text[ce - 1] == '\r' && !(ce - 1 > pos && m->text[ce - 2] == '\r'))
			ce--;
		const char *l = m->text + pos;
		size_t n = ce - pos;
		if (in_hdr && n == 0) {
			status_lines(o, m->flags & MF_STORABLE, kw, names, nkw, uid, 0);
			in_hdr = 0;
			had_blank = 1;
		} else if (in_hdr) {
			if (!(l[0] == ' ' || l[0] == '\t'))
				skip = internal_hdr(l, n) != H_NONE;
			if (skip) {
				pos = le;
				continue;
			}
			if (from_depth(l, n) >= 0)
				buf_putc(o, '>');
		} else if (from_depth(l, n) >= 0) {
			buf_putc(o, '>');
		}
		buf_append(o, l, n);
		buf_putc(o, '\n');
		pos = le;
	}
	if (!had_blank)
		status_lines(o, m->flags & MF_STORABLE, kw, names, nkw, uid, 0);
	buf_putc(o, '\n');
}

/* The rewrite's temp file name beside leaf; -1 if it cannot fit (names
 * are limited to FSAFE_LEAF_MAX so that it does). */
static int tmp_name(const char *leaf, char tmp[NAME_MAX + 1])
{
	int n = snprintf(tmp, NAME_MAX + 1, ".%s.imaptmp", leaf);

	return n < 0 || n > NAME_MAX ? -1 : 0;
}

struct rewrite {
	int home;               /* home directory: an in-place rewrite's journal */
	uint32_t validity, last;
	char **names;
	unsigned nkw;
	struct witem *items;
	size_t nitems;
	struct win *in;         /* the file the items are read from */
	const char *extra;      /* already formatted new messages, or NULL */
	size_t extra_len;
	uint32_t ours;          /* UID of the last message written */
	const unsigned char *key;  /* the user's key, NULL if none */
};

/* Does leaf in dirfd (not followed) still name the file st describes? */
static int same_leaf(int dirfd, const char *leaf, const struct stat *st)
{
	struct stat now;

	return fstatat(dirfd, leaf, &now, AT_SYMLINK_NOFOLLOW) == 0 && now.st_dev == st->st_dev &&
	       now.st_ino == st->st_ino;
}

static int gen_find(int fd, off_t *off, uint32_t *val);

/* The new mailbox, all of it, to w; returns the offset of uidlast's digits.
 * A file that had a change counter gets it bumped: a rewrite in place
 * keeps the inode, and the counter is how other sessions tell. Messages
 * not quoted by us yet are quoted now (mboxrd). */
static off_t write_content(struct wout *w, struct rewrite *rw)
{
	off_t goff, rec;
	uint32_t gen = 0;

	if (rw->in && gen_find(rw->in->fd, &goff, &gen))
		gen = gen == UINT32_MAX ? 1 : gen + 1;
	buf_init(&w->b);
	rec = write_pseudo(w, rw->validity, rw->last, rw->names, rw->nkw, rw->ours, rw->key, gen);
	for (size_t i = 0; i < rw->nitems; i++) {
		rw->items[i].quote = !rw->items[i].rd;
		write_item(w, rw->in, &rw->items[i], rw->names, rw->nkw);
	}
	if (rw->extra_len)
		wput(w, rw->extra, rw->extra_len);
	wflush(w);
	buf_free(&w->b);
	return rec;
}

/* May we create files in dirfd (a temp file to rename over the mailbox)? */
static int dir_writable(int dirfd)
{
	return faccessat(dirfd, ".", W_OK | X_OK, AT_EACCESS) == 0;
}

/* The rewrite for a directory we may not write: through the journal, over
 * the locked file itself (rw->in's fd, open read-write). Returns a new fd
 * of that file, or -1. */
static int rewrite_in_place(const char *path, const struct stat *st, struct rewrite *rw,
			    off_t *rec_last_off, struct mail_err *err)
{
	struct unix_journal j;
	struct wout w = { .fd = -1 };

	if (unix_journal_begin(rw->home, st, &j, err) < 0)
		return -1;
	w.fd = j.fd;
	*rec_last_off = write_content(&w, rw);
	if (w.failed) {
		unix_journal_abort(&j);
		mail_err_set(err, w.failed == ENOSPC || w.failed == EDQUOT ? MAIL_TOOBIG : MAIL_FAIL,
			     "cannot rewrite mailbox %s: %s (mailbox unchanged)", path,
			     strerror(w.failed));
		return -1;
	}
	if (unix_journal_commit(&j, rw->in->fd, (uint64_t)w.pos, err) < 0)
		return -1;
	int fd = fcntl(rw->in->fd, F_DUPFD_CLOEXEC, 0);
	if (fd < 0)
		mail_err_set(err, MAIL_FAIL, "cannot rewrite mailbox %s: %s", path, strerror(errno));
	return fd;
}

/* Write a whole new mailbox beside leaf in dirfd (path: the same file, for
 * messages) and rename it over leaf in that same directory, if leaf is
 * still the file st describes; or in place where the directory is closed
 * to us. The caller holds the locks. Returns the new file's fd (read-write)
 * or -1. */
static int mbox_rewrite(int dirfd, const char *leaf, const char *path, const struct stat *st,
			struct rewrite *rw, off_t *rec_last_off, struct mail_err *err)
{
	if (st && rw->in && !dir_writable(dirfd))
		return rewrite_in_place(path, st, rw, rec_last_off, err);

	char tmp[NAME_MAX + 1];
	struct wout w = { .fd = -1 };

	if (tmp_name(leaf, tmp) < 0) {
		mail_err_set(err, MAIL_BADNAME, "mailbox file name too long to rewrite: %s", path);
		return -1;
	}
	unlinkat(dirfd, tmp, 0);
	w.fd = openat(dirfd, tmp, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (w.fd < 0) {
		if (errno == EACCES || errno == EPERM || errno == EROFS)
			lock_dir_error(path, errno, err);
		else
			mail_err_set(err, MAIL_FAIL, "cannot create the temp file beside %s: %s",
				     path, strerror(errno));
		return -1;
	}
	if (st) {
		/* same owner/group/mode as the original, as far as we may; the
		 * group may stay ours if we are not a member of the old one */
		if (fchown(w.fd, st->st_uid, st->st_gid) < 0)
			(void)!fchown(w.fd, (uid_t)-1, st->st_gid);
		fchmod(w.fd, st->st_mode & 07777);
	}
	*rec_last_off = write_content(&w, rw);
	if (!w.failed && fsync(w.fd) < 0)
		w.failed = errno;
	/* the name must still be the file we locked and read */
	if (!w.failed && st && !same_leaf(dirfd, leaf, st))
		w.failed = ESTALE;
	if (!w.failed && renameat(dirfd, tmp, dirfd, leaf) < 0)
		w.failed = errno;
	if (w.failed) {
		mail_err_set(err, w.failed == ENOSPC || w.failed == EDQUOT ? MAIL_TOOBIG : MAIL_FAIL,
			     "cannot rewrite mailbox %s: %s (mailbox unchanged)", path,
			     strerror(w.failed));
		close(w.fd);
		unlinkat(dirfd, tmp, 0);
		return -1;
	}
	fsafe_sync_dir(dirfd);
	return w.fd;
}

/* ---------------------------------------------------------------------- */
/* Locked access                                                           */

struct locked {
	char *dot;
	int fd;
	struct stat st;
	struct fsafe_loc loc;   /* the file's directory: rewrites happen there */
};

/* A session runs without group mail, so the kernel already keeps other
 * users' spool files (0660 user:mail) closed. Checked again on the open
 * descriptor, so that a spool file of someone else that was left readable
 * or writable by mistake is still not reached through a symlink in the home
 * or allow_outside_home: a file in group mail is served only to its owner. */
static int foreign_spool_file(int fd)
{
	static gid_t mail_gid = (gid_t)-1;
	struct stat st;

	if (getuid() == 0 || fstat(fd, &st) < 0 || st.st_uid == getuid())
		return 0;
	if (mail_gid == (gid_t)-1) {
		struct group *g = getgrnam("mail");
		mail_gid = g ? g->gr_gid : (gid_t)-2;
	}
	return st.st_gid == mail_gid;
}

/* Under the locks: finish a rewrite a crash left in the journal before
 * anyone reads the file. A read lock is not enough to write, so a reader
 * that finds a journal takes the write locks instead. 0 ok, -1 error,
 * 1: retry with write locks. */
static int lk_recover(int home, int write, struct locked *lk, struct mail_err *err)
{
	if (home < 0 || !unix_journal_pending(home, &lk->st))
		return 0;
	if (!write)
		return 1;
	if (unix_journal_recover(home, lk->fd, err) < 0 || fstat(lk->fd, &lk->st) < 0)
		return -1;
	return 0;
}

static void lk_close(struct locked *lk, int keep_fd);

/* Open the locked file by descriptor from its directory: never a link,
 * never anything but a regular file (a FIFO must not hang us). */
static int lk_open_file(struct locked *lk, const char *path, int write, struct mail_err *err)
{
	struct stat st;

	lk->fd = fsafe_open(&lk->loc, (write ? O_RDWR : O_RDONLY) | O_NONBLOCK, 0);
	if (lk->fd < 0) {
		if (errno == ENOENT)
			return 0;
		mail_err_set(err, errno == EACCES ? MAIL_NOPERM : MAIL_FAIL, "cannot open %s: %s",
			     path, errno == ELOOP ? "a symbolic link is not followed" :
			     strerror(errno));
		return -1;
	}
	if (fstat(lk->fd, &st) < 0 || !S_ISREG(st.st_mode) ||
	    fcntl(lk->fd, F_SETFL, 0) < 0) {
		mail_err_set(err, MAIL_CORRUPT, "%s is not a regular file", path);
	} else if (foreign_spool_file(lk->fd)) {
		mail_err_set(err, MAIL_NOPERM, "%s belongs to another user", path);
	} else {
		return 0;
	}
	close(lk->fd);
	lk->fd = -1;
	return -1;
}

/* Lock path (dotlock, then fcntl) and open it, all from its directory
 * opened link-safely (kept in lk->loc for the rewrite). ENOENT leaves
 * fd = -1. A read-only snapshot may go without a dotlock we are not allowed
 * to make: the fcntl read lock alone keeps MTAs out while we read. */
static int lk_open(struct mail_session *sess, const char *path, int write, struct locked *lk,
		   struct mail_err *err)
{
	memset(lk, 0, sizeof *lk);
	lk->fd = -1;
	if (fsafe_locate(sess, path, 0, &lk->loc, err) < 0) {
		if (errno != ENOENT)
			return -1;
		return 0;   /* a directory above it is gone: so is the file */
	}
	if (fsafe_dotlock(&lk->loc, path, &lk->dot, err) < 0 && (write || err->code != MAIL_NOPERM))
		goto fail;
	if (lk_open_file(lk, path, write, err) < 0)
		goto fail;
	if (lk->fd < 0)
		return 0;
	if (lock_fd(lk->fd, write, err) < 0 || fstat(lk->fd, &lk->st) < 0) {
		close(lk->fd);
		lk->fd = -1;
		goto fail;
	}
	int r = lk_recover(fsafe_home(sess), write, lk, err);
	if (r != 0) {
		lk_close(lk, 0);
		return r < 0 ? -1 : lk_open(sess, path, 1, lk, err);
	}
	return 0;
fail:
	lock_dot_release(&lk->dot);
	fsafe_close(&lk->loc);
	return -1;
}

/* Unlock; keep_fd: the fd now belongs to the caller (still open). */
static void lk_close(struct locked *lk, int keep_fd)
{
	if (lk->fd >= 0) {
		lock_fd_release(lk->fd);
		if (!keep_fd)
			close(lk->fd);
	}
	lock_dot_release(&lk->dot);
	fsafe_close(&lk->loc);
}

/* ---------------------------------------------------------------------- */
/* Synchronising a session with the file                                   */

/* Find our folder record's change counter: the first message must be the
 * pseudo message (X-IMAP) with a GEN_HDR line of ten digits. 1 found. */
static int gen_find(int fd, off_t *off, uint32_t *val)
{
	char b[8192];
	ssize_t r = pread(fd, b, sizeof b, 0);
	size_t n = r > 0 ? (size_t)r : 0, pos, glen = sizeof GEN_HDR - 1;
	int ximap = 0, found = 0;

	if (n < 5 || memcmp(b, "From ", 5))
		return 0;
	for (pos = line_end(b, 0, n); pos < n;) {
		size_t le = line_end(b, pos, n);
		if (b[le - 1] != '\n' || le - pos <= 1 || (le - pos == 2 && b[pos] == '\r'))
			break;   /* end of header, or of what we read */
		if (internal_hdr(b + pos, le - pos) == H_XIMAP)
			ximap = 1;
		if (le - pos >= glen + 12 && !strncasecmp(b + pos, GEN_HDR, glen) &&
		    b[pos + glen] == ' ') {
			size_t i = pos + glen + 1;
			int ok;
			uint32_t v = parse_u32(b, &i, n, &ok);
			if (ok && i == pos + glen + 11) {
				*off = (off_t)(pos + glen + 1);
				*val = v;
				found = 1;
			}
		}
		pos = le;
	}
	return found && ximap;
}

/* Has the record's change counter moved since we remembered it? */
static int gen_moved(const struct ubox *ub, int fd)
{
	off_t off = 0;
	uint32_t v = 0;
	int found = gen_find(fd, &off, &v);

	return found != (ub->gen_off != 0) || (found && (off != ub->gen_off || v != ub->gen));
}

/* Remember the file as we last saw it: identity, size, mtime and its last
 * bytes, so a pure append can be told from a rewrite; and the change
 * counter, so an append can be told from in-place changes plus append. */
static void remember_file(struct ubox *ub, int fd)
{
	struct stat st;
	size_t len;

	ub->exists = 0;
	ub->moved = 0;
	if (fd < 0 || fstat(fd, &st) < 0)
		return;
	ub->gen_off = 0;
	ub->gen = 0;
	gen_find(fd, &ub->gen_off, &ub->gen);
	ub->dev = st.st_dev;
	ub->ino = st.st_ino;
	ub->size = st.st_size;
	ub->mtime = st.st_mtim;
	ub->exists = 1;
	len = (size_t)st.st_size;
	ub->siglen = len < SIGLEN ? len : SIGLEN;
	if (ub->siglen &&
		 pread(fd, ub->sig, ub->siglen, (off_t)(len - ub->siglen)) != (ssize_t)ub->siglen)
		ub->exists = 0;
}

static void set_fd(struct ubox *ub, int fd)
{
	if (ub->fd >= 0 && ub->fd != fd)
		close(ub->fd);
	ub->fd = fd;
	ub->text_uid = 0;
}

/* Same message? UIDs on disk are proof; a UID only we know of (not yet
 * written) must also have the same From line. */
static int same_msg(const struct umsg *u, const struct pmsg *m)
{
	return u->m.uid == m->uid && ((u->disk_uid && m->xuid == m->uid) || u->fp == m->fp);
}

/* Merge a fresh parse of the whole file into the session, matching by UID:
 * report messages others expunged, new ones, and flags others changed.
 * Flags this session changed and has not written yet win. */
static void reconcile(struct mailbox *box, struct parse *p)
{
	struct ubox *ub = UB(box);
	uint32_t i = 0, nold = box->nmsgs;
	size_t j = 0, ngone = 0, added = 0;
	uint32_t *gone = xmalloc((nold + 1) * sizeof *gone);
	char *matched = xcalloc(p->n + 1, 1);

	while (i < nold && j < p->n) {
		struct umsg *u = UM(box, i);
		struct pmsg *m = &p->m[j];
		if (u->m.uid < m->uid || (u->m.uid == m->uid && !same_msg(u, m))) {
			gone[ngone++] = i++;
			continue;
		}
		if (u->m.uid > m->uid) {
			j++;  /* unknown lower UID: added as new below */
			continue;
		}
		/* Our unsaved changes (against the disk state we last saw) go on
		 * top of what is on disk now, so another session's changes to
		 * other flags of the same message survive. */
		uint32_t mine = (u->m.flags & MF_STORABLE) ^ u->disk_flags;
		uint64_t mine_kw = u->m.keywords ^ u->disk_kw;
		uint32_t flags = (m->flags & ~mine) | (u->m.flags & mine);
		uint64_t kw = (m->kw & ~mine_kw) | (u->m.keywords & mine_kw);
		box_place(u, m);
		if ((u->m.flags & MF_STORABLE) != flags || u->m.keywords != kw) {
			u->m.flags = (u->m.flags & MF_RECENT) | flags;
			u->m.keywords = kw;
			ev_flags(box, i + 1);
		}
		u->disk_flags = m->flags;
		u->disk_kw = m->kw;
		u->disk_old = (uint8_t)m->old;
		u->disk_uid = m->xuid == m->uid;
		matched[j] = 1;
		i++;
		j++;
	}
	while (i < nold)
		gone[ngone++] = i++;
	for (size_t k = ngone; k-- > 0;)
		box_remove(box, gone[k]);
	free(gone);
	for (j = 0; j < p->n; j++) {
		if (matched[j])
			continue;
		struct pmsg m = p->m[j];
		uint32_t top = box->nmsgs ? box->msgs[box->nmsgs - 1]->uid : 0;
		/* keep UIDs ascending, and never hand out again a UID this
		 * session already used for a message that has gone since */
		if (m.uid <= top || (m.xuid != m.uid && m.uid <= ub->counter)) {
			if (ub->counter < top)
				ub->counter = top;
			m.uid = ++ub->counter;
			m.xuid = 0;
			ub->renumbered = 1;
		}
		if (ub->counter < m.uid)
			ub->counter = m.uid;
		box_add(box, &m);
		added++;
	}
	free(matched);
	if (ub->counter < p->top)
		ub->counter = p->top;
	box->uidnext = ub->counter + 1;
	if (added) {
		ev_exists(box);
		ev_recent(box);
	}
}

/* Read and verify the authenticated record at the start of the file again
 * (an APPEND elsewhere may have moved it on in place). 1 valid: *ours and
 * *last are its values. */
static int rec_reread(int fd, int ks, const unsigned char *key, uint32_t *ours, uint32_t *last)
{
	size_t cap = 65536, blank;
	char *b = xmalloc(cap);
	ssize_t r = pread(fd, b, cap, 0);
	size_t n = r > 0 ? (size_t)r : 0;
	struct hinfo h = { 0 };
	struct parse p = { .key = key, .believe = ks < 0 };
	int ok = 0;

	if (n >= 5 && !memcmp(b, "From ", 5)) {
		hdr_scan(b, line_end(b, 0, n), n, &h, NULL, &blank);
		if (blank && h.ximap && h.validity) {
			p.last_off = h.last_off;
			rec_verify(&p, b, 0, &h);
			ok = p.rec_mac;
			*ours = p.ours;
			*last = h.last;
		}
	}
	parse_free(&p);
	free(b);
	return ok;
}

/* Only new messages were appended: parse just the tail. 1 done, 0 no. */
static int sync_tail(struct mailbox *box, struct locked *lk)
{
	struct ubox *ub = UB(box);
	size_t old = (size_t)ub->size, back = ub->siglen;
	struct kwtab kt = { box->keywords, &box->nkeywords };
	struct parse p;

	if (!ub->exists || ub->fd < 0 || lk->st.st_ino != ub->ino || lk->st.st_dev != ub->dev ||
	    lk->st.st_size <= ub->size || back != (old < SIGLEN ? old : SIGLEN))
		return 0;
	/* the old end must be a message separator for new mail to follow */
	if (old && !trailing_blank(ub->sig, 0, back))
		return 0;
	char sig[SIGLEN];
	if (pread(lk->fd, sig, back, (off_t)(old - back)) != (ssize_t)back ||
	    memcmp(sig, ub->sig, back) || gen_moved(ub, lk->fd) ||
	    mbox_parse_fd(lk->fd, (off_t)old, lk->st.st_size, 0, NULL, &kt, &p) < 0)
		return 0;
	uint32_t ulast = ub->rec_last, dlast = 0;
	char digits[11] = { 0 };
	/* an APPEND elsewhere may have raised uidlast in place */
	if (ub->have_rec && ub->rec_off && pread(lk->fd, digits, 10, ub->rec_off) == 10) {
		uint32_t v = (uint32_t)strtoul(digits, NULL, 10);
		if (v > ulast)
			ulast = v;
	}
	/* a record at the start is a new file's: the full parse judges it */
	if (p.have_rec || (ub->rec_trust == REC_MAC &&
			   !rec_reread(lk->fd, ub->keystate, ub->key, &p.ours, &dlast))) {
		parse_free(&p);
		return 0;
	}
	p.trust = ub->rec_trust;
	p.rd_ours = p.ours;
	p.all_mine = ub->not_spool || ub->rec_trust == REC_LEGACY;
	if (ub->rec_trust == REC_LEGACY) {
		p.ours = UINT32_MAX;
		if (!rec_reread(lk->fd, -1, NULL, &p.rd_ours, &dlast))
			p.rd_ours = 0;
	}
	ub->rec_last = ulast;
	uint32_t prev = box->nmsgs ? box->msgs[box->nmsgs - 1]->uid : 0;
	assign_uids(&p, prev, ulast, &ub->counter);
	kw_trim(&p, &kt);
	for (size_t j = 0; j < p.n; j++)
		box_add(box, &p.m[j]);
	box->uidnext = ub->counter + 1;
	remember_file(ub, lk->fd);
	if (p.n) {
		ev_exists(box);
		ev_recent(box);
	}
	parse_free(&p);
	return 1;
}

/* ---------------------------------------------------------------------- */
/* The index: a session's view of the file, saved for the next session     */

/* Save the file as this session last synced with it. Only called when that
 * view is exactly what a fresh parse of the file would give. */
static void index_save(struct mailbox *box)
{
	struct ubox *ub = UB(box);
	int home = box->sess ? fsafe_home(box->sess) : -1;

	if (home < 0 || !ub->exists || ub->renumbered)
		return;
	struct uidx_head h = {
		.dev = (uint64_t)ub->dev, .ino = (uint64_t)ub->ino, .size = (uint64_t)ub->size,
		.mtime_sec = ub->mtime.tv_sec, .mtime_nsec = ub->mtime.tv_nsec,
		.siglen = (uint32_t)ub->siglen, .nmsgs = box->nmsgs,
		.validity = ub->have_rec ? box->uidvalidity : 0, .counter = ub->counter,
		.rec_last = ub->rec_last, .rec_nkw = ub->rec_nkw, .rec_off = (uint64_t)ub->rec_off,
		.have_rec = (uint32_t)ub->have_rec, .nkw = box->nkeywords,
		.gen_off = (uint64_t)ub->gen_off, .gen = ub->gen, .trust = (uint32_t)ub->rec_trust,
	};
	memcpy(h.sig, ub->sig, ub->siglen);
	struct uidx_rec *r = xmalloc((box->nmsgs + 1) * sizeof *r);
	int ok = 1;
	for (uint32_t i = 0; i < box->nmsgs && ok; i++) {
		struct umsg *u = UM(box, i);
		ok = u->from_len <= UINT32_MAX && u->hdr_len <= UINT32_MAX && u->nq <= UIDX_NQ_MAX;
		r[i] = (struct uidx_rec){
			.off = (uint64_t)u->off, .body_len = u->body_len, .size = u->m.size,
			.kw = u->disk_kw, .date = u->m.internal_date,
			.from_len = (uint32_t)u->from_len, .hdr_len = (uint32_t)u->hdr_len,
			.uid = u->m.uid, .fp = u->fp,
			.flags = u->disk_flags | (u->disk_old ? UIDX_OLD : 0) |
				 (u->disk_uid ? UIDX_XUID : 0) | (u->rd ? UIDX_RD : 0) |
				 (u->nq << UIDX_NQ_SHIFT),
			.tz = u->m.tz_minutes,
		};
	}
	if (ok)
		uidx_save(home, box->path, &h, r, box->keywords);
	free(r);
}

/* Does the index still describe the file (or a prefix of it that new mail
 * was appended to)? Identity, size and mtime, then the bytes: the file's
 * last bytes, the last message's From line and the folder record. */
static int index_fits(const struct uidx *x, struct locked *lk, int *exact)
{
	const struct uidx_head *h = &x->h;
	uint64_t size = (uint64_t)lk->st.st_size;
	char b[UIDX_SIGLEN > 16 ? UIDX_SIGLEN : 16];

	*exact = h->size == size && h->mtime_sec == lk->st.st_mtim.tv_sec &&
		 h->mtime_nsec == lk->st.st_mtim.tv_nsec;
	if (h->dev != (uint64_t)lk->st.st_dev || h->ino != (uint64_t)lk->st.st_ino ||
	    h->size > size || (h->size == size && !*exact) ||
	    h->siglen != (h->size < UIDX_SIGLEN ? h->size : UIDX_SIGLEN))
		return 0;
	if (h->siglen && (pread(lk->fd, b, h->siglen, (off_t)(h->size - h->siglen)) !=
			  (ssize_t)h->siglen || memcmp(b, h->sig, h->siglen)))
		return 0;
	if (h->nmsgs) {
		const struct uidx_rec *r = &x->recs[h->nmsgs - 1];
		char *fl = xmalloc(r->from_len);
		int same = pread(lk->fd, fl, r->from_len, (off_t)r->off) == (ssize_t)r->from_len &&
			   !memcmp(fl, "From ", 5) && hash(fl, r->from_len) == r->fp;
		free(fl);
		if (!same)
			return 0;
	}
	if (*exact && h->have_rec && h->rec_off) {
		char d[11] = { 0 };
		if (pread(lk->fd, d, 10, (off_t)h->rec_off) != 10 ||
		    strtoul(d, NULL, 10) != h->rec_last)
			return 0;
	}
	return 1;
}

/* Forget a state taken from an index that turned out not to fit. */
static void index_undo(struct mailbox *box)
{
	struct ubox *ub = UB(box);

	while (box->nmsgs)
		box_remove(box, box->nmsgs - 1);
	for (unsigned i = 0; i < box->nkeywords; i++)
		free(box->keywords[i]);
	box->nkeywords = 0;
	box->recent = 0;
	box->uidvalidity = 0;
	ub->exists = ub->have_rec = 0;
	ub->rec_last = ub->counter = 0;
	ub->rec_off = 0;
	ub->rec_nkw = 0;
	ub->gen_off = 0;
	ub->gen = 0;
	ub->rec_trust = REC_NONE;
}

/* First sync of a session: take the state from the index when it fits the
 * locked file, parsing only mail appended since. 1 done, 0 parse. */
static int index_try(struct mailbox *box, struct locked *lk)
{
	struct ubox *ub = UB(box);
	int home = box->sess ? fsafe_home(box->sess) : -1;
	struct uidx x;
	int exact;

	if (home < 0 || box->nmsgs || box->nkeywords || uidx_load(home, box->path, &x) < 0)
		return 0;
	if (x.h.trust > REC_MAC || !index_fits(&x, lk, &exact)) {
		uidx_free(&x);
		return 0;
	}
	const struct uidx_head *h = &x.h;
	for (uint32_t i = 0; i < h->nkw; i++)
		box->keywords[i] = xstrdup(x.names[i]);
	box->nkeywords = h->nkw;
	box->uidvalidity = h->have_rec ? h->validity : 0;   /* recent_claimed needs it */
	box->msgs = xrealloc(box->msgs, (h->nmsgs + 1) * sizeof *box->msgs);
	for (uint32_t i = 0; i < h->nmsgs; i++) {
		const struct uidx_rec *r = &x.recs[i];
		struct pmsg m = {
			.off = (size_t)r->off, .from_len = r->from_len, .hdr_len = r->hdr_len,
			.body_len = r->body_len, .size = r->size, .uid = r->uid,
			.xuid = (r->flags & UIDX_XUID) ? r->uid : 0, .flags = r->flags & MF_STORABLE,
			.fp = r->fp, .kw = r->kw, .old = !!(r->flags & UIDX_OLD),
			.date = (time_t)r->date, .tz = r->tz, .rd = !!(r->flags & UIDX_RD),
			.nq = r->flags >> UIDX_NQ_SHIFT,
		};
		box_add(box, &m);
	}
	ub->have_rec = (int)h->have_rec;
	/* an index of the version without keys: it vouches for its record */
	ub->rec_trust = h->trust ? (int)h->trust : h->have_rec ? REC_LEGACY : REC_NONE;
	ub->rec_last = h->rec_last;
	ub->rec_off = (off_t)h->rec_off;
	ub->rec_nkw = h->rec_nkw;
	ub->gen_off = (off_t)h->gen_off;
	ub->gen = h->gen;
	ub->counter = h->counter;
	box->uidvalidity = h->have_rec ? h->validity : 0;
	box->uidnext = ub->counter + 1;
	ub->dev = (dev_t)h->dev;
	ub->ino = (ino_t)h->ino;
	ub->size = (off_t)h->size;
	ub->mtime.tv_sec = (time_t)h->mtime_sec;
	ub->mtime.tv_nsec = (long)h->mtime_nsec;
	ub->siglen = h->siglen;
	memcpy(ub->sig, h->sig, h->siglen);
	ub->exists = 1;
	uidx_free(&x);
	if (exact)
		return 1;
	/* new mail since: parse just that, as a running session would */
	ub->fd = lk->fd;
	int tail = sync_tail(box, lk);
	ub->fd = -1;
	if (!tail)
		index_undo(box);
	return tail;
}

/* Parse the file and give its messages UIDs. */
static int parse_whole(struct mailbox *box, struct locked *lk, struct parse *p,
		       struct mail_err *err)
{
	struct ubox *ub = UB(box);
	struct kwtab kt = { box->keywords, &box->nkeywords };
	uint32_t ulast = ub->rec_last, counter = 0;

	int r = mbox_parse_fd(lk->fd, 0, lk->st.st_size, ub->keystate, ub->key, &kt, p);
	if (r == -2) {
		mail_err_set(err, MAIL_FAIL, "cannot read %s: %s", box->path, strerror(errno));
		return -1;
	}
	if (r < 0) {
		mail_err_set(err, MAIL_CORRUPT, "%s is not in mbox format (left untouched)",
			     box->path);
		return -1;
	}
	rec_trust(p, box->sess, box->path, ub->keystate);
	ub->rec_trust = p->trust;
	if (p->have_rec && box->uidvalidity && p->validity != box->uidvalidity && box->nmsgs) {
		/* a different folder now: every message we knew is gone */
		while (box->nmsgs)
			box_remove(box, box->nmsgs - 1);
		ev_notice(box, "mailbox was replaced by another program; UIDVALIDITY changed");
		ub->counter = 0;
		ulast = p->last;
	} else if (p->have_rec && p->last > ulast) {
		ulast = p->last;
	} else if (!p->have_rec && !ub->have_rec) {
		ulast = 0;
	}
	if (p->have_rec)
		box->uidvalidity = p->validity;
	ub->have_rec = p->have_rec;
	ub->rec_last = p->have_rec ? p->last : 0;
	ub->rec_off = (off_t)p->last_off;
	ub->rec_nkw = p->have_rec ? box->nkeywords : 0;
	/* ub->counter moves in reconcile, which must know the old value */
	assign_uids(p, 0, ulast, &counter);
	kw_trim(p, &kt);
	p->top = counter;
	return 0;
}

/* Would merging the locked file take a message from this session (expunged
 * elsewhere, or a new UIDVALIDITY)? Parsed aside with a scratch keyword
 * table, so the session is untouched. 1 yes or unknown, 0 no. */
static int merge_drops(struct mailbox *box, struct locked *lk)
{
	struct ubox *ub = UB(box);
	char *names[MAIL_KEYWORDS_MAX];
	unsigned nkw = box->nkeywords;
	struct kwtab kt = { names, &nkw };
	struct parse p = { 0 };
	uint32_t counter = 0, ulast = ub->rec_last;
	int drops = 1;
	size_t j = 0;

	memcpy(names, box->keywords, nkw * sizeof *names);
	if (mbox_parse_fd(lk->fd, 0, lk->st.st_size, ub->keystate, ub->key, &kt, &p) < 0)
		goto out;
	rec_trust(&p, box->sess, box->path, ub->keystate);
	if (p.have_rec && box->uidvalidity && p.validity != box->uidvalidity && box->nmsgs)
		goto out;
	/* the UIDs parse_whole would give, then reconcile's matching */
	if (p.have_rec && p.last > ulast)
		ulast = p.last;
	else if (!p.have_rec && !ub->have_rec)
		ulast = 0;
	assign_uids(&p, 0, ulast, &counter);
	drops = 0;
	for (uint32_t i = 0; i < box->nmsgs && !drops; i++, j++) {
		const struct umsg *u = UM(box, i);
		while (j < p.n && p.m[j].uid < u->m.uid)
			j++;
		drops = j == p.n || !same_msg(u, &p.m[j]);
	}
out:
	parse_free(&p);
	for (unsigned k = box->nkeywords; k < nkw; k++)
		free(names[k]);
	return drops;
}

static int unchanged(const struct ubox *ub, const struct stat *st)
{
	return ub->exists && st->st_dev == ub->dev && st->st_ino == ub->ino &&
	       st->st_size == ub->size && st->st_mtim.tv_sec == ub->mtime.tv_sec &&
	       st->st_mtim.tv_nsec == ub->mtime.tv_nsec;
}

/* SYNC_FLUSH writes this session's flag changes, merging others' changes
 * first only when that expunges nothing: legal at the end of FETCH, STORE
 * and SEARCH, where RFC 3501 7.4.1 forbids EXPUNGE responses. */
enum { SYNC_PING, SYNC_WRITE, SYNC_EXPUNGE, SYNC_FLUSH };

/* Which messages an expunge removes: \Deleted, and in uids[] if given. */
static char *expunge_set(struct mailbox *box, const uint32_t *uids, size_t nuids, size_t *n)
{
	char *drop = xcalloc(box->nmsgs + 1, 1);

	*n = 0;
	for (uint32_t i = 0; i < box->nmsgs; i++) {
		struct message *m = box->msgs[i];
		int want = (m->flags & MF_DELETED) && !uids;
		for (size_t k = 0; uids && k < nuids && !want && (m->flags & MF_DELETED); k++)
			want = uids[k] == m->uid;
		if (want) {
			drop[i] = 1;
			(*n)++;
		}
	}
	return drop;
}

static int want_write(struct mailbox *box, int mode)
{
	if (box->readonly)
		return 0;
	if (mode == SYNC_PING || mode == SYNC_FLUSH)
		return box_flags_dirty(box) || (UB(box)->renumbered && UB(box)->exists);
	return box_dirty(box);
}

/* Write the session's view of the mailbox (minus drop[]) over the file
 * mapped in lk, and switch the session to the new file. */
static int write_back(struct mailbox *box, struct locked *lk, const char *drop,
		      struct mail_err *err)
{
	struct ubox *ub = UB(box);
	struct witem *it = xcalloc(box->nmsgs + 1, sizeof *it);
	size_t n = 0;
	off_t rec_off;

	for (uint32_t i = 0; i < box->nmsgs; i++) {
		struct umsg *u = UM(box, i);
		if (drop && drop[i])
			continue;
		it[n++] = (struct witem){ .src = u->off, .from_len = u->from_len,
					  .hdr_len = u->hdr_len, .body_len = u->body_len,
					  .flags = u->m.flags & MF_STORABLE, .uid = u->m.uid,
					  .kw = u->m.keywords, .old = 1, .rd = u->rd, .nq = u->nq };
	}
	struct win in;
	win_init(&in, lk->fd, lk->st.st_size);
	struct rewrite rw = { .home = box->sess ? fsafe_home(box->sess) : -1,
			      .validity = box->uidvalidity, .last = ub->counter,
			      .names = box->keywords, .nkw = box->nkeywords, .items = it,
			      .nitems = n, .in = &in, .ours = n ? it[n - 1].uid : 0,
			      .key = ub->key };
	int nfd = mbox_rewrite(lk->loc.dirfd, lk->loc.leaf, box->path, &lk->st, &rw, &rec_off,
			       err);
	win_drop(&in);
	if (nfd < 0) {
		free(it);
		return -1;
	}
	n = 0;
	for (uint32_t i = 0; i < box->nmsgs; i++) {
		struct umsg *u = UM(box, i);
		if (drop && drop[i])
			continue;
		u->off = it[n].noff;
		u->hdr_len = it[n].nhdr_len;
		u->body_len = it[n].nbody_len;
		u->nq = it[n].nnq;
		u->rd = 1;
		u->disk_flags = u->m.flags & MF_STORABLE;
		u->disk_kw = u->m.keywords;
		u->disk_old = 1;
		u->disk_uid = 1;
		n++;
	}
	free(it);
	ub->have_rec = 1;
	ub->rec_trust = REC_MAC;
	ub->rec_last = ub->counter;
	ub->rec_off = rec_off;
	ub->rec_nkw = box->nkeywords;
	ub->renumbered = 0;
	remember_file(ub, nfd);
	set_fd(ub, nfd);
	return 0;
}

/* ---------------------------------------------------------------------- */
/* In-place flag updates                                                   */

/* A flag change that fits the room of a message's status lines is written
 * over them (same length, space padded) instead of rewriting the file. One
 * pwrite per message covers all three lines, so a crash leaves each
 * message with its old or its new flags. The record's change counter is
 * bumped first: a session that then sees only an append (size grown, last
 * bytes the same) knows the rest changed too and parses it all. */

/* Value bytes [vo, ve) of Status, X-Status and X-Keywords in a header. */
struct slots {
	size_t vo[3], ve[3];
};

static const int slot_ids[3] = { H_STATUS, H_XSTATUS, H_XKEYWORDS };

/* Find each of the three lines exactly once, unfolded. -1: not there. */
static int slots_find(const char *h, size_t n, struct slots *s)
{
	size_t pos = 0;
	int seen = 0;

	while (pos < n) {
		size_t le = line_end(h, pos, n), ce = le;
		while (ce > pos && (h[ce - 1] == '\n' || h[ce - 1] == '\r'))
			ce--;
		int id = ce > pos ? internal_hdr(h + pos, ce - pos) : H_NONE, k;
		for (k = 0; k < 3 && slot_ids[k] != id; k++)
			;
		if (k < 3) {
			if ((seen & (1 << k)) || h[le - 1] != '\n' ||
			    (le < n && (h[le] == ' ' || h[le] == '\t')))
				return -1;   /* twice, unterminated, or folded */
			seen |= 1 << k;
			s->vo[k] = (size_t)((const char *)memchr(h + pos, ':', ce - pos) - h) + 1;
			s->ve[k] = ce;
		}
		pos = le;
	}
	return seen == 7 ? 0 : -1;
}

struct ipw {
	off_t at;               /* file offset of the span */
	size_t len, boff;       /* its length, and where its bytes are */
	uint32_t msg;           /* index in box->msgs */
};

/* New bytes of message u's status span into bytes; 0 ok, -1 no room. */
static int inplace_span(struct mailbox *box, struct umsg *u, const char *h, const struct slots *sl,
			struct buf *bytes, struct ipw *w)
{
	size_t lo = sl->vo[0], hi = sl->ve[0];
	struct buf v;
	int rc = 0;

	for (int k = 1; k < 3; k++) {
		lo = sl->vo[k] < lo ? sl->vo[k] : lo;
		hi = sl->ve[k] > hi ? sl->ve[k] : hi;
	}
	w->at = u->off + (off_t)u->from_len + (off_t)lo;
	w->len = hi - lo;
	w->boff = bytes->len;
	buf_append(bytes, h + lo, hi - lo);
	buf_init(&v);
	for (int k = 0; k < 3 && !rc; k++) {
		size_t room = sl->ve[k] - sl->vo[k];
		buf_reset(&v);
		status_value(&v, slot_ids[k], u->m.flags & MF_STORABLE, u->m.keywords, 1,
			     box->keywords, box->nkeywords);
		if (v.len > room) {
			rc = -1;
			break;
		}
		char *d = bytes->data + w->boff + (sl->vo[k] - lo);
		memcpy(d, v.data, v.len);
		memset(d + v.len, ' ', room - v.len);
	}
	buf_free(&v);
	return rc;
}

/* Plan the writes for mode: the messages whose flags (or, for a full write,
 * "O") differ from the disk. 1 planned, 0 a rewrite is needed. */
static int inplace_plan(struct mailbox *box, int fd, int mode, struct buf *bytes,
			struct ipw **out, size_t *n)
{
	struct ubox *ub = UB(box);
	int full = mode == SYNC_WRITE || mode == SYNC_EXPUNGE, ok = 1;
	struct buf h;

	*n = 0;
	*out = NULL;
	if (ub->renumbered || !ub->have_rec || ub->rec_nkw != box->nkeywords ||
	    (full && (ub->rec_last != ub->counter ||
		      ub->rec_trust != REC_MAC)))
		return 0;   /* the record must change too */
	buf_init(&h);
	for (uint32_t i = 0; i < box->nmsgs && ok; i++) {
		struct umsg *u = UM(box, i);
		struct slots sl;
		if (full && !u->disk_uid)
			ok = 0;   /* an X-UID to write: no room for it */
		if (!ok || (!flags_dirty(u) && (!full || u->disk_old)))
			continue;
		buf_reset(&h);
		buf_reserve(&h, u->hdr_len + 1);
		ok = u->disk_uid &&
		     pread(fd, h.data, u->hdr_len, u->off + (off_t)u->from_len) == (ssize_t)u->hdr_len &&
		     slots_find(h.data, u->hdr_len, &sl) == 0;
		if (ok) {
			*out = xrealloc(*out, (*n + 1) * sizeof **out);
			(*out)[*n].msg = i;
			ok = inplace_span(box, u, h.data, &sl, bytes, &(*out)[(*n)++]) == 0;
		}
	}
	buf_free(&h);
	return ok && *n;
}

static int ts_after(const struct timespec *a, const struct timespec *b)
{
	return a->tv_sec > b->tv_sec || (a->tv_sec == b->tv_sec && a->tv_nsec > b->tv_nsec);
}

/* Other sessions notice a same-size change by its mtime only, and the
 * kernel's clock may not have moved since the last change: make the mtime
 * later than it was (we own the file), or write again until it is. */
static void mtime_advance(int fd, const struct timespec *was, off_t off, const char *digits)
{
	struct stat st;

	if (fstat(fd, &st) < 0 || ts_after(&st.st_mtim, was))
		return;
	struct timespec t[2] = { { .tv_nsec = UTIME_OMIT }, *was };
	if (++t[1].tv_nsec >= 1000000000L) {
		t[1].tv_sec++;
		t[1].tv_nsec = 0;
	}
	if (futimens(fd, t) == 0)
		return;
	for (int i = 0; i < 200; i++) {
		usleep(1000);
		if (pwrite(fd, digits, 10, off) != 10 || fstat(fd, &st) < 0 ||
		    ts_after(&st.st_mtim, was))
			return;
	}
}

/* Write this session's flag changes over the status lines of the locked
 * file, which our state describes. 1 done, 0 not possible (nothing was
 * written), -1 I/O error part way (the file is sound: rewrite it). */
static int inplace_update(struct mailbox *box, struct locked *lk, int mode)
{
	struct buf bytes;
	struct ipw *w;
	size_t n;
	off_t goff;
	uint32_t gen;
	char digits[16];
	int rc = 0;

	if (box->readonly || !gen_find(lk->fd, &goff, &gen))
		return 0;
	buf_init(&bytes);
	if (!inplace_plan(box, lk->fd, mode, &bytes, &w, &n))
		goto out;
	rc = -1;
	snprintf(digits, sizeof digits, "%010u", gen == UINT32_MAX ? 1 : gen + 1);
	if (pwrite(lk->fd, digits, 10, goff) != 10)
		goto out;
	for (size_t i = 0; i < n; i++)
		if (pwrite(lk->fd, bytes.data + w[i].boff, w[i].len, w[i].at) != (ssize_t)w[i].len)
			goto out;
	if (fsync(lk->fd) < 0)
		goto out;
	mtime_advance(lk->fd, &lk->st.st_mtim, goff, digits);
	for (size_t i = 0; i < n; i++) {
		struct umsg *u = UM(box, w[i].msg);
		u->disk_flags = u->m.flags & MF_STORABLE;
		u->disk_kw = u->m.keywords;
		u->disk_old = 1;
	}
	rc = 1;
out:
	free(w);
	buf_free(&bytes);
	return rc;
}

/* lstat of path reached through fsafe; -1 with errno (ENOENT: it or a
 * directory above it is missing) and err. */
static int path_stat(struct mail_session *sess, const char *path, struct stat *st,
		     struct mail_err *err)
{
	struct fsafe_loc loc;
	int r, e;

	if (fsafe_locate(sess, path, 0, &loc, err) < 0)
		return -1;
	r = fsafe_lstat(&loc, st);
	e = errno;
	fsafe_close(&loc);
	if (r < 0 && e != ENOENT)
		mail_err_set(err, MAIL_FAIL, "cannot stat %s: %s", path, strerror(e));
	errno = e;
	return r;
}

/* The one place that reads and writes the file of an open session. */
static int unix_sync(struct mailbox *box, int mode, const uint32_t *uids, size_t nuids,
		     struct mail_err *err)
{
	struct ubox *ub = UB(box);
	struct stat st;
	struct locked lk;
	struct parse p = { 0 };
	int rc = -1;

	if (path_stat(box->sess, box->path, &st, err) < 0) {
		if (errno != ENOENT)
			return -1;
		/* gone: an INBOX not delivered to yet, or removed by someone */
		while (box->nmsgs)
			box_remove(box, box->nmsgs - 1);
		set_fd(ub, -1);
		ub->exists = 0;
		return 0;
	}
	if (mode == SYNC_FLUSH && !want_write(box, mode))
		return 0;
	if (unchanged(ub, &st) && !want_write(box, mode)) {
		size_t n = 0;
		if (mode == SYNC_EXPUNGE)
			free(expunge_set(box, uids, nuids, &n));
		if (!n)
			return 0;
	}
	if (lk_open(box->sess, box->path, !box->readonly, &lk, err) < 0)
		return -1;
	if (lk.fd < 0) {
		lk_close(&lk, 0);
		return unix_sync(box, mode, uids, nuids, err);
	}
	/* Changed by others: merge now (their flags and new mail may be
	 * reported, RFC 3501 7.4.1 forbids only EXPUNGE) so our changes reach
	 * the file before the tagged reply and other sessions' next NOOP sees
	 * them; when the merge would expunge, the next ping does it all. */
	if (mode == SYNC_FLUSH && !unchanged(ub, &lk.st) && merge_drops(box, &lk)) {
		lk_close(&lk, 0);
		return 0;
	}
	if (!unchanged(ub, &lk.st))
		recent_load(box);
	int from_index = ub->opening && !ub->exists && index_try(box, &lk), parsed = 0;
	if (!from_index && !unchanged(ub, &lk.st) && mode == SYNC_PING && !want_write(box, mode) &&
	    sync_tail(box, &lk)) {
		recent_claim(box);
		lk_close(&lk, 0);
		return 0;
	}
	/* Under the lock and still as we last parsed it: our state is the
	 * file's, and a second parse would only cost time. */
	if (!unchanged(ub, &lk.st)) {
		if (parse_whole(box, &lk, &p, err) < 0)
			goto out;
		reconcile(box, &p);
		parsed = 1;
	}
	if (parsed || from_index)
		recent_claim(box);
	size_t ndrop = 0;
	char *drop = mode == SYNC_EXPUNGE ? expunge_set(box, uids, nuids, &ndrop) : NULL;
	if (!ndrop && !want_write(box, mode)) {
		/* nothing to write: keep this fd for fetching */
		free(drop);
		remember_file(ub, lk.fd);
		set_fd(ub, lk.fd);
		lk_close(&lk, 1);
		parse_free(&p);
		if (parsed && ub->opening)
			index_save(box);   /* a fresh parse: what the next session needs */
		return 0;
	}
	if (!ndrop && inplace_update(box, &lk, mode) > 0) {
		free(drop);
		remember_file(ub, lk.fd);
		set_fd(ub, lk.fd);
		lk_close(&lk, 1);
		parse_free(&p);
		index_save(box);
		return 0;
	}
	if (write_back(box, &lk, drop, err) < 0) {
		free(drop);
		remember_file(ub, lk.fd);
		set_fd(ub, lk.fd);
		lk_close(&lk, 1);
		parse_free(&p);
		return -1;
	}
	/* Closing the old file drops our fcntl lock on an inode nobody can
	 * reach by name any more; the dotlock goes last. */
	lk_close(&lk, 0);
	for (uint32_t i = box->nmsgs; drop && i-- > 0;)
		if (drop[i])
			box_remove(box, i);
	free(drop);
	index_save(box);   /* we wrote the file: our view is the file */
	rc = 0;
	goto done;
out:
	lk_close(&lk, 0);
done:
	parse_free(&p);
	return rc;
}

/* ---------------------------------------------------------------------- */
/* Driver entry points                                                     */

static void unix_close(struct mailbox *box)
{
	struct ubox *ub = UB(box);

	if (!ub)
		return;
	for (uint32_t i = 0; i < box->nmsgs; i++)
		umsg_free(UM(box, i));
	free(box->msgs);
	box->msgs = NULL;
	box->nmsgs = 0;
	if (ub->fd >= 0)
		close(ub->fd);
	buf_free(&ub->text);
	buf_free(&ub->hraw);
	memset(ub->key, 0, sizeof ub->key);
	free(ub);
	box->drvdata = NULL;
}

/* Remove the temp file a killed rewrite may have left beside the mailbox
 * (in its directory, by name there: never through a link). */
static void remove_stale_tmp(struct mailbox *box, struct mail_err *err)
{
	struct fsafe_loc loc;
	struct stat st;
	char tmp[NAME_MAX + 1], *dot = NULL;

	if (fsafe_locate(box->sess, box->path, 0, &loc, err) < 0)
		return;
	if (tmp_name(loc.leaf, tmp) == 0 && fstatat(loc.dirfd, tmp, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
	    fsafe_dotlock(&loc, box->path, &dot, err) == 0) {
		unlinkat(loc.dirfd, tmp, 0);
		lock_dot_release(&dot);
	}
	fsafe_close(&loc);
}

/* UIDVALIDITY of a mailbox without a folder record: the one its first
 * writer records (taken now when that is us, below), and STATUS says. */
static uint32_t recordless_validity(struct mailbox *box)
{
	struct mail_err ignore;
	struct stat st;
	int home = box->sess ? fsafe_home(box->sess) : -1;

	if (!UB(box)->exists || !box->sess || path_stat(box->sess, box->path, &st, &ignore) < 0)
		return uidx_validity(home, (uint32_t)time(NULL), 0);
	return uidx_validity(home, (uint32_t)st.st_ctime, !box->readonly);
}

static int unix_open(struct mailbox *box, struct mail_err *err)
{
	struct ubox *ub = xcalloc(1, sizeof *ub);
	const struct mail_events *ev = box->ev;
	int rc = 0;

	ub->fd = -1;
	buf_init(&ub->text);
	buf_init(&ub->hraw);
	box->drvdata = ub;
	box->uidvalidity = 0;
	box->ev = NULL;   /* the caller learns the initial state from box */
	ub->keystate = user_key(box->sess, ub->key);
	ub->not_spool = !in_spool(box->sess, box->path);
	ub->opening = 1;
	if (unix_sync(box, SYNC_PING, NULL, 0, err) < 0)
		rc = -1;
	ub->opening = 0;
	if (!rc && !box->uidvalidity)
		box->uidvalidity = recordless_validity(box);
	box->uidnext = ub->counter + 1;
	box->keywords_creatable = !box->readonly;
	/* Remove a temp file a killed rewrite may have left, and give a
	 * record-less mailbox its UIDVALIDITY on disk now, before another
	 * session could invent a different one. */
	if (!rc && !box->readonly && ub->exists) {
		remove_stale_tmp(box, err);
		/* a record not authenticated yet is authenticated now, while
		 * we still believe it (the upgrade; see REC_NONE) */
		if ((!ub->have_rec || ub->rec_trust != REC_MAC) &&
		    unix_sync(box, SYNC_WRITE, NULL, 0, err) < 0)
			rc = -1;
	}
	box->ev = ev;
	if (rc < 0)
		unix_close(box);
	return rc;
}

static int unix_ping(struct mailbox *box, struct mail_err *err)
{
	return unix_sync(box, SYNC_PING, NULL, 0, err);
}

static int unix_flush(struct mailbox *box, struct mail_err *err)
{
	if (box->readonly)
		return 0;
	return unix_sync(box, SYNC_FLUSH, NULL, 0, err);
}

static int unix_check(struct mailbox *box, struct mail_err *err)
{
	return unix_sync(box, box_dirty(box) ? SYNC_WRITE : SYNC_PING, NULL, 0, err);
}

static int unix_expunge(struct mailbox *box, const uint32_t *uids, size_t nuids,
			struct mail_err *err)
{
	if (box->readonly) {
		mail_err_set(err, MAIL_NOPERM, "mailbox is read-only");
		return -1;
	}
	return unix_sync(box, SYNC_EXPUNGE, uids, nuids, err);
}

/* Remove one '>' from each ">+From " line of out from start on (mboxrd),
 * moving the text forward in place. */
static void unquote(struct buf *out, size_t start)
{
	char *d = out->data, *w = d + start, *r = w, *end = d + out->len;

	while (r < end) {
		char *nl = memchr(r, '\n', (size_t)(end - r));
		size_t n = nl ? (size_t)(nl + 1 - r) : (size_t)(end - r);
		if (*r == '>' && from_depth(r, n) > 0) {
			r++;
			n--;
		}
		memmove(w, r, n);
		w += n;
		r += n;
	}
	out->len = (size_t)(w - d);
}

/* Canonical body into out, converting in place: the raw body is read to
 * the end of the space its canonical form needs (size known from the
 * parse), then moved forward line by line, growing only by the CRs it
 * adds, so the writer never overtakes the reader. One buffer per message
 * instead of two. The space is bounded: a file changed under us yields a
 * wrong text, never an overrun. -1: read error. */
static int canon_body_read(int fd, off_t off, size_t blen, size_t clen, uint32_t nq,
			   struct buf *out)
{
	size_t start = out->len;

	clen += nq;    /* room for the quotes, removed below */
	if (clen < blen)
		clen = blen;   /* the parse disagrees with the file: still safe */
	buf_reserve(out, clen + 1);
	char *w = out->data + out->len, *end = w + clen, *r = end - blen;
	if (blen && pread(fd, r, blen, off) != (ssize_t)blen)
		return -1;
	while (r < end) {
		char *nl = memchr(r, '\n', (size_t)(end - r));
		size_t n = nl ? (size_t)(nl - r) : (size_t)(end - r);
		int cr = n && r[n - 1] == '\r';
		memmove(w, r, n);
		w += n;
		r += n + (nl != NULL);
		size_t room = (size_t)(r - w);
		if (!cr && room >= 2) {
			*w++ = '\r';
			*w++ = '\n';
		} else if (room >= 1) {
			*w++ = '\n';
		}
	}
	out->len = (size_t)(w - out->data);
	if (nq)
		unquote(out, start);
	out->data[out->len] = '\0';
	return 0;
}

static int snapshot(struct mail_session *sess, const char *path, int write,
		    struct locked *lk, struct parse *p, struct kwtab *kt, int ks,
		    const unsigned char *key, struct mail_err *err);
static void free_names(char **names, unsigned n);

/* Do our offsets still fit the file behind ub->fd: the file as we last
 * placed them, or that with mail appended? A rewrite by rename leaves our
 * inode alone; one in place (ours through the journal, or mutt's) does not. */
static int offsets_current(struct ubox *ub)
{
	struct stat st;
	off_t size = ub->moved ? ub->moved_size : ub->size;
	const struct timespec *mt = ub->moved ? &ub->moved_mtime : &ub->mtime;
	char sig[SIGLEN];

	if (fstat(ub->fd, &st) < 0)
		return 0;
	if (st.st_size == size && st.st_mtim.tv_sec == mt->tv_sec &&
	    st.st_mtim.tv_nsec == mt->tv_nsec)
		return 1;
	if (ub->moved || st.st_size <= size || !ub->siglen)
		return 0;
	return pread(ub->fd, sig, ub->siglen, size - (off_t)ub->siglen) == (ssize_t)ub->siglen &&
	       !memcmp(sig, ub->sig, ub->siglen) && !gen_moved(ub, ub->fd);
}

/* The file was rewritten in place since our last sync: find each of our
 * messages again by UID, quietly (this runs inside FETCH, where expunges
 * may not be reported). One that is gone gets off -1 until the next sync
 * reports it. 0 done, 1 the name now leads to another file, -1 error. */
static int relocate(struct mailbox *box, struct mail_err *err)
{
	struct ubox *ub = UB(box);
	char *names[MAIL_KEYWORDS_MAX];
	unsigned nkw = 0;
	struct kwtab kt = { names, &nkw };
	struct locked lk;
	struct parse p;
	uint32_t counter = 0;
	size_t j = 0;

	if (snapshot(box->sess, box->path, 0, &lk, &p, &kt, ub->keystate, ub->key, err) < 0) {
		free_names(names, nkw);
		return -1;
	}
	uint32_t ulast = p.have_rec && p.last > ub->rec_last ? p.last : ub->rec_last;
	assign_uids(&p, 0, ulast, &counter);
	int same = lk.st.st_dev == ub->dev && lk.st.st_ino == ub->ino;
	for (uint32_t i = 0; same && i < box->nmsgs; i++) {
		struct umsg *u = UM(box, i);
		while (j < p.n && p.m[j].uid < u->m.uid)
			j++;
		if (j < p.n && same_msg(u, &p.m[j])) {
			u->off = (off_t)p.m[j].off;
			u->from_len = p.m[j].from_len;
			u->hdr_len = p.m[j].hdr_len;
			u->body_len = p.m[j].body_len;
		} else {
			u->off = -1;
		}
	}
	if (same) {
		ub->moved = 1;
		ub->moved_size = lk.st.st_size;
		ub->moved_mtime = lk.st.st_mtim;
	}
	ub->text_uid = 0;
	lk_close(&lk, 0);
	parse_free(&p);
	free_names(names, nkw);
	return same ? 0 : 1;
}

/* Hold a read lock on ub->fd with offsets that fit it, so a rewrite in
 * place cannot run under our reads. 0 locked, -1 error (unlocked). */
static int fetch_lock(struct mailbox *box, struct mail_err *err)
{
	struct ubox *ub = UB(box);

	for (int tries = 0; tries < 3; tries++) {
		if (lock_fd(ub->fd, 0, err) < 0)
			return -1;
		if (offsets_current(ub))
			return 0;
		lock_fd_release(ub->fd);
		if (relocate(box, err) != 0)
			break;
	}
	mail_err_set(err, MAIL_FAIL, "mailbox changed under us (another program rewrote it)");
	return -1;
}

/* Read message u's canonical text into ub->text. */
static int fetch_text(struct mailbox *box, struct umsg *u, struct mail_err *err)
{
	struct ubox *ub = UB(box);

	if (u->off < 0) {
		mail_err_set(err, MAIL_NONEXISTENT, "message was expunged by another session");
		return -1;
	}
	size_t hn = u->from_len + u->hdr_len;
	struct buf *t = &ub->text, *h = &ub->hraw;
	if (t->cap > ((size_t)1 << 20) && u->m.size < t->cap / 4) {
		buf_free(t);   /* after a huge message, give its memory back */
		buf_init(t);
	}
	buf_reset(h);
	buf_reserve(h, hn);
	ssize_t r = ub->fd >= 0 ? pread(ub->fd, h->data, hn, u->off) : -1;
	if (r != (ssize_t)hn || hn < 5 || memcmp(h->data, "From ", 5)) {
		mail_err_set(err, MAIL_FAIL,
			     "mailbox changed under us (another program rewrote it)");
		unix_sync(box, SYNC_PING, NULL, 0, err);
		return -1;
	}
	buf_reset(t);
	canon_header(h->data + u->from_len, u->hdr_len, u->rd, t);
	if (h->cap > 65536) {
		buf_free(h);   /* a huge header: do not keep its buffer */
		buf_init(h);
	}
	size_t clen = u->m.size > t->len ? (size_t)(u->m.size - t->len) : 0;
	if (canon_body_read(ub->fd, u->off + (off_t)hn, u->body_len, clen,
			    u->rd ? u->nq : 0, t) < 0) {
		mail_err_set(err, MAIL_FAIL, "cannot read mailbox: %s", strerror(errno));
		return -1;
	}
	ub->text_uid = u->m.uid;
	return 0;
}

static int unix_fetch(struct mailbox *box, uint32_t msgno, const char **text, size_t *len,
		      struct mail_err *err)
{
	struct ubox *ub = UB(box);
	struct umsg *u = UM(box, msgno - 1);

	if (ub->text_uid != u->m.uid) {
		if (ub->fd >= 0 && fetch_lock(box, err) < 0)
			return -1;
		int fd = ub->fd, r = fetch_text(box, u, err);
		if (fd >= 0 && fd == ub->fd)
			lock_fd_release(fd);
		if (r < 0)
			return -1;
	}
	*text = ub->text.data ? ub->text.data : "";
	*len = ub->text.len;
	return 0;
}

/* Read the whole file under the lock and parse it (append, status), and
 * judge its record with the user's key (ks: uidx_secret's answer). */
static int snapshot(struct mail_session *sess, const char *path, int write,
		    struct locked *lk, struct parse *p, struct kwtab *kt, int ks,
		    const unsigned char *key, struct mail_err *err)
{
	if (lk_open(sess, path, write, lk, err) < 0)
		return -1;
	if (lk->fd < 0) {
		lk_close(lk, 0);
		mail_err_set(err, MAIL_NONEXISTENT, "mailbox does not exist");
		return -1;
	}
	int r = mbox_parse_fd(lk->fd, 0, lk->st.st_size, ks, key, kt, p);
	if (r < 0) {
		if (r == -2)
			mail_err_set(err, MAIL_FAIL, "cannot read %s: %s", path, strerror(errno));
		else
			mail_err_set(err, MAIL_CORRUPT, "%s is not in mbox format", path);
		lk_close(lk, 0);
		return -1;
	}
	rec_trust(p, sess, path, ks);
	return 0;
}

/* Can rec_bump update this record? Its auth line and X-IMAP value are
 * laid out as write_pseudo writes them. */
static int rec_bumpable(const struct parse *p)
{
	return p->trust == REC_MAC && p->auth_off && p->last_off &&
	       p->last_off - p->recval_base == 11 && p->recval_len >= 21;
}

/* Move an authenticated record on in place after an append: uidlast and
 * ours become last, with a new MAC; one pwrite covers the auth line's
 * digits through uidlast's (see AUTH_BACK). 0 ok. */
static int rec_bump(int fd, const struct parse *p, const unsigned char *key, uint32_t last)
{
	char digits[16], hex[MAC_HEX + 1], span[128];

	char *val = xstrndup(p->recval, p->recval_len);
	snprintf(digits, sizeof digits, "%010u", last);
	memcpy(val + 11, digits, 10);
	rec_mac(key, val, p->recval_len, last, hex);
	int n = snprintf(span, sizeof span, "%010u %s\nX-IMAP: %.21s", last, hex, val);
	free(val);
	if (n != (int)(AUTH_BACK + 10) ||
	    pwrite(fd, span, (size_t)n, (off_t)p->auth_off) != n)
		return -1;
	return 0;
}

static void free_names(char **names, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		free(names[i]);
}

static int unix_append(struct mail_session *sess, const char *path, const struct mail_new *msgs,
		       size_t n, uint32_t *validity_out, uint32_t *uids_out, struct mail_err *err)
{
	char *names[MAIL_KEYWORDS_MAX];
	unsigned nkw = 0;
	struct kwtab kt = { names, &nkw };
	struct locked lk;
	struct parse p;
	struct buf out;
	unsigned char key[UIDX_KEYLEN];
	int rc = -1, ks = user_key(sess, key);

	if (snapshot(sess, path, 1, &lk, &p, &kt, ks, key, err) < 0)
		return -1;
	/* a record-less file gets its record now, so its UIDVALIDITY is taken */
	uint32_t counter = 0, validity = p.have_rec ? p.validity :
		uidx_validity(fsafe_home(sess), (uint32_t)lk.st.st_ctime, 1);
	int clean = assign_uids(&p, 0, p.have_rec ? p.last : 0, &counter);
	kw_trim(&p, &kt);
	buf_init(&out);
	/* a last message without its separator line gets one first */
	size_t flen = (size_t)lk.st.st_size;
	char tailb[3] = { 0 };
	size_t tn = flen < 3 ? flen : 3;
	if (tn && pread(lk.fd, tailb, tn, (off_t)(flen - tn)) != (ssize_t)tn) {
		mail_err_set(err, MAIL_FAIL, "cannot read %s: %s", path, strerror(errno));
		goto out;
	}
	if (flen && !trailing_blank(tailb, 0, tn))
		buf_puts(&out, tailb[tn - 1] == '\n' ? "\n" : "\n\n");
	size_t lead = out.len;
	for (size_t i = 0; i < n; i++) {
		uint64_t kw = 0;
		for (char **k = msgs[i].keywords; k && *k; k++) {
			int x = kw_find(&kt, *k, strlen(*k), 1);
			if (x < 0) {
				/* stored without it, the message would lie about its keywords */
				mail_err_set(err, MAIL_LIMIT,
					     "Cannot add keyword %s: the mailbox can hold only %d",
					     *k, MAIL_KEYWORDS_MAX);
				goto out;
			}
			kw |= 1ULL << x;
		}
		uint32_t uid = ++counter;
		if (uids_out)
			uids_out[i] = uid;
		format_new(&out, sess->user, &msgs[i], uid, names, nkw, kw);
	}
	if (rec_bumpable(&p) && clean && flen) {
		/* common case: append, then bump uidlast in place (a crash in
		 * between is harmless: the X-UIDs above uidlast are reassigned
		 * the very same numbers, and as deliveries they read unquoted) */
		if (lseek(lk.fd, 0, SEEK_END) < 0 || write_full(lk.fd, out.data, out.len) < 0 ||
		    fsync(lk.fd) < 0) {
			int e = errno;
			if (ftruncate(lk.fd, (off_t)flen) == 0)
				fsync(lk.fd);
			mail_err_set(err, e == ENOSPC || e == EDQUOT ? MAIL_TOOBIG : MAIL_FAIL,
				     "append to %s failed: %s", path, strerror(e));
			goto out;
		}
		if (rec_bump(lk.fd, &p, key, counter) < 0 || fsync(lk.fd) < 0) {
			/* the new messages would read as deliveries: take them back */
			int e = errno;
			if (ftruncate(lk.fd, (off_t)flen) == 0)
				fsync(lk.fd);
			mail_err_set(err, MAIL_FAIL, "cannot update folder record of %s: %s", path,
				     strerror(e));
			goto out;
		}
	} else {
		struct witem *it = xcalloc(p.n + 1, sizeof *it);
		for (size_t i = 0; i < p.n; i++) {
			struct pmsg *m = &p.m[i];
			it[i] = (struct witem){ .src = (off_t)m->off, .from_len = m->from_len,
						.hdr_len = m->hdr_len, .body_len = m->body_len,
						.flags = m->flags, .uid = m->uid, .kw = m->kw,
						.old = m->old, .rd = m->rd, .nq = m->nq };
		}
		struct win in;
		win_init(&in, lk.fd, lk.st.st_size);
		struct rewrite rw = { .home = fsafe_home(sess), .validity = validity, .last = counter,
				      .names = names,
				      .nkw = nkw, .items = it, .nitems = p.n, .in = &in,
				      .extra = out.data + lead, .extra_len = out.len - lead,
				      .ours = counter, .key = key };
		off_t rlo;
		int nfd = mbox_rewrite(lk.loc.dirfd, lk.loc.leaf, path, &lk.st, &rw, &rlo, err);
		win_drop(&in);
		free(it);
		if (nfd < 0)
			goto out;
		close(nfd);
	}
	if (validity_out)
		*validity_out = validity;
	rc = 0;
out:
	lk_close(&lk, 0);
	buf_free(&out);
	parse_free(&p);
	free_names(names, nkw);
	memset(key, 0, sizeof key);
	return rc;
}

/* Create under the dotlock: an MTA creating the same spool file waits for
 * it, so its first message cannot land under our folder record. */
static int unix_create(struct mail_session *sess, const char *path, struct mail_err *err)
{
	struct wout w = { .fd = -1 };
	struct fsafe_loc loc;
	char *dot = NULL;
	int rc = -1;

	if (fsafe_locate(sess, path, 0, &loc, err) < 0)
		return -1;
	/* Sessions hold no group mail: an INBOX in the spool is created by the
	 * mail system's first delivery, never by us. */
	if (!dir_writable(loc.dirfd)) {
		struct stat st;
		mail_err_set(err, fsafe_lstat(&loc, &st) == 0 ? MAIL_EXISTS : MAIL_NOPERM,
			     "cannot create %s: only the mail system creates files in that "
			     "directory (an INBOX appears with its first delivery)", path);
		fsafe_close(&loc);
		return -1;
	}
	if (fsafe_dotlock(&loc, path, &dot, err) < 0) {
		fsafe_close(&loc);
		return -1;
	}
	w.fd = fsafe_open(&loc, O_RDWR | O_CREAT | O_EXCL, 0600);
	if (w.fd < 0) {
		mail_err_set(err, errno == EEXIST ? MAIL_EXISTS : errno == EACCES ? MAIL_NOPERM :
				  MAIL_FAIL, "cannot create %s: %s", path, strerror(errno));
		lock_dot_release(&dot);
		fsafe_close(&loc);
		return -1;
	}
	buf_init(&w.b);
	unsigned char key[UIDX_KEYLEN];
	user_key(sess, key);
	write_pseudo(&w, uidx_validity(fsafe_home(sess), (uint32_t)time(NULL), 1), 0, NULL, 0, 0,
		     key, 0);
	memset(key, 0, sizeof key);
	wflush(&w);
	buf_free(&w.b);
	if (w.failed || fsync(w.fd) < 0) {
		mail_err_set(err, MAIL_FAIL, "cannot write %s: %s", path,
			     strerror(w.failed ? w.failed : errno));
		unlinkat(loc.dirfd, loc.leaf, 0);
	} else {
		rc = 0;
	}
	close(w.fd);
	lock_dot_release(&dot);
	fsafe_close(&loc);
	return rc;
}

static int unix_status(struct mail_session *sess, const char *path, struct mail_status *st,
		       struct mail_err *err)
{
	char *names[MAIL_KEYWORDS_MAX];
	unsigned nkw = 0;
	struct kwtab kt = { names, &nkw };
	struct locked lk;
	struct parse p;
	uint32_t counter = 0;

	unsigned char key[UIDX_KEYLEN];
	int ks = user_key(sess, key);

	memset(st, 0, sizeof *st);
	if (snapshot(sess, path, 0, &lk, &p, &kt, ks, key, err) < 0) {
		free_names(names, nkw);
		return -1;
	}
	assign_uids(&p, 0, p.have_rec ? p.last : 0, &counter);
	kw_trim(&p, &kt);
	uint32_t cv = 0, hw = 0, validity = p.have_rec ? p.validity : 0;
	if (!validity || uidx_recent_get(fsafe_home(sess), path, &cv, &hw) < 0 || cv != validity)
		hw = 0;
	st->messages = (uint32_t)p.n;
	for (size_t i = 0; i < p.n; i++) {
		/* \Recent as the next session to select would see it */
		st->recent += !p.m[i].old && p.m[i].uid > hw;
		st->unseen += !(p.m[i].flags & MF_SEEN);
	}
	st->uidnext = counter + 1;
	st->uidvalidity = p.have_rec ? p.validity :
				       uidx_validity(fsafe_home(sess), (uint32_t)lk.st.st_ctime, 0);
	memset(key, 0, sizeof key);
	lk_close(&lk, 0);
	parse_free(&p);
	free_names(names, nkw);
	return 0;
}

/* Deliveries append to the file and rewrites rename over it: watching its
 * directory for its name sees both. */
static int unix_watch(struct mailbox *box, int ifd)
{
	struct fsafe_loc loc;
	struct mail_err ignore;
	int rc;

	if (fsafe_locate(box->sess, box->path, 0, &loc, &ignore) < 0)
		return -1;
	rc = mail_watch_add(box, ifd, loc.dirfd, loc.leaf);
	fsafe_close(&loc);
	return rc;
}

const struct driver driver_unix = {
	.name = "unix",
	.alias = "mbox",
	.valid = unix_valid,
	.open = unix_open,
	.close = unix_close,
	.ping = unix_ping,
	.check = unix_check,
	.flush = unix_flush,
	.expunge = unix_expunge,
	.fetch = unix_fetch,
	.append = unix_append,
	.create = unix_create,
	.status = unix_status,
	.watch = unix_watch,
};
