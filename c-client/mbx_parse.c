/* mbx_parse.c: the bytes of UW's mbx format, parsed and written on
 * buffers (no file access): the 2048-byte file header and the line before
 * each message. The layout is UW imap-2007f's, byte for byte. */
#include "mbx.h"
#include "rfc822_api.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char magic[] = "*mbx*\r\n";
#define MAGIC_LEN 7
#define NAMES_AT 25               /* after magic, 16 hex digits and CRLF */
#define PID_AT (MBX_HDRSIZE - 10) /* "PPPPPPPP\r\n" ends the header */

/* n hex digits at p into *v: 0, or -1 when one is not a digit. */
static int hexn(const char *p, int n, uint32_t *v)
{
	uint32_t x = 0;

	for (int i = 0; i < n; i++) {
		int d = hex_value((unsigned char)p[i]);
		if (d < 0)
			return -1;
		x = x << 4 | (uint32_t)d;
	}
	*v = x;
	return 0;
}

int mbx_header_parse(const char *buf, size_t len, struct mbx_header *h)
{
	memset(h, 0, sizeof *h);
	if (len < MBX_HDRSIZE || memcmp(buf, magic, MAGIC_LEN) ||
	    hexn(buf + 7, 8, &h->validity) < 0 || hexn(buf + 15, 8, &h->last_uid) < 0 ||
	    buf[23] != '\r' || buf[24] != '\n')
		return -1;
	/* names, one a line, until an empty line (UW's reserved slots) or a
	 * NUL; the pid field is never a name */
	const char *s = buf + NAMES_AT, *end = buf + PID_AT;
	while (h->nnames < MBX_NKEYWORDS && s < end) {
		const char *t = s;
		while (t < end && *t != '\r' && *t)
			t++;
		if (t >= end || *t != '\r' || t == s)
			break;
		h->names[h->nnames++] = xstrndup(s, (size_t)(t - s));
		s = t + 2;
	}
	uint32_t pid;
	if (hexn(buf + PID_AT, 8, &pid) == 0 && buf[MBX_HDRSIZE - 2] == '\r' &&
	    buf[MBX_HDRSIZE - 1] == '\n')
		h->pid = pid;
	return 0;
}

void mbx_header_free(struct mbx_header *h)
{
	for (unsigned i = 0; i < h->nnames; i++)
		free(h->names[i]);
	memset(h, 0, sizeof *h);
}

int mbx_keyword_ok(const char *name)
{
	size_t n = strlen(name);

	return n >= 1 && n <= MBX_KEYWORD_MAX && !strpbrk(name, "\r\n");
}

int mbx_header_format(char *out, const struct mbx_header *h)
{
	size_t at;

	if (h->nnames > MBX_NKEYWORDS)
		return -1;
	memset(out, 0, MBX_HDRSIZE);
	at = (size_t)snprintf(out, MBX_HDRSIZE, "%s%08x%08x\r\n", magic, h->validity, h->last_uid);
	/* names as read back (even ones too long for UW to use: the slot
	 * stays), then UW's empty lines for the free slots, room allowing */
	for (unsigned i = 0; i < MBX_NKEYWORDS; i++) {
		const char *n = i < h->nnames ? h->names[i] : "";
		size_t l = strlen(n);
		if (i < h->nnames && (!l || strchr(n, '\r')))
			return -1;
		if (at + l + 2 > PID_AT) {
			if (i < h->nnames)
				return -1;
			break;
		}
		memcpy(out + at, n, l);
		memcpy(out + at + l, "\r\n", 2);
		at += l + 2;
	}
	char pid[11];
	snprintf(pid, sizeof pid, "%08x\r\n", h->pid);
	memcpy(out + PID_AT, pid, 10);
	return 0;
}

/* Decimal digits [p, e) into *v: 0, or -1 (none, a non-digit, too big). */
static int decimal(const char *p, const char *e, uint64_t *v)
{
	uint64_t x = 0;

	if (p == e)
		return -1;
	for (; p < e; p++) {
		if (*p < '0' || *p > '9' || x > (UINT64_MAX - 9) / 10)
			return -1;
		x = x * 10 + (uint64_t)(*p - '0');
	}
	*v = x;
	return 0;
}

int mbx_rec_parse(const char *p, size_t n, struct mbx_rec *r)
{
	size_t lim = n < MBX_LINE_MAX ? n : MBX_LINE_MAX;
	const char *cr = memchr(p, '\r', lim);

	memset(r, 0, sizeof *r);
	if (!cr)
		return n < MBX_LINE_MAX ? MBX_REC_SHORT : MBX_REC_BAD;
	if ((size_t)(cr - p) + 1 >= n)
		return MBX_REC_SHORT;   /* the LF is past what was read */
	if (cr[1] != '\n')
		return MBX_REC_BAD;
	const char *comma = memchr(p, ',', (size_t)(cr - p));
	const char *semi = comma ? memchr(comma, ';', (size_t)(cr - comma)) : NULL;
	/* ";" 8 keyword digits, 4 flag digits, "-", 8 uid digits, then CR */
	if (!semi || cr - semi != 22 || semi[13] != '-' || hexn(semi + 1, 8, &r->kw) < 0 ||
	    hexn(semi + 9, 4, &r->sys) < 0 || hexn(semi + 14, 8, &r->uid) < 0)
		return MBX_REC_BAD;
	if (decimal(comma + 1, semi, &r->size) < 0 || r->size == 0 || r->size > (1ULL << 53))
		return MBX_REC_BAD;
	/* years 1970 to 9999: what UW's dates can say, and we can write back */
	if (rfc822_parse_date(p, (size_t)(comma - p), &r->date, &r->tz_minutes) < 0 ||
	    r->date < 0 || r->date > 253402300799LL)
		return MBX_REC_BAD;
	r->linelen = (size_t)(cr - p) + 2;
	return MBX_REC_OK;
}

static const char *const months[] = { "Jan", "Feb", "Mar", "Apr", "May", "Jun",
				      "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };

void mbx_rec_format(struct buf *b, const struct mbx_rec *r)
{
	int tz = r->tz_minutes < -24 * 60 || r->tz_minutes > 24 * 60 ? 0 : r->tz_minutes;
	time_t local = r->date + (time_t)tz * 60;
	struct tm tm;
	char fl[MBX_FLAGS_LEN + 1];

	if (!gmtime_r(&local, &tm))
		memset(&tm, 0, sizeof tm);
	int a = tz < 0 ? -tz : tz;
	mbx_flags_format(fl, r->kw, r->sys, r->uid);
	/* UW's mail_date: the day padded with a blank to two places */
	buf_printf(b, "%2d-%s-%d %02d:%02d:%02d %c%02d%02d,%llu;%s\r\n", tm.tm_mday,
		   months[tm.tm_mon % 12], tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec,
		   tz < 0 ? '-' : '+', a / 60, a % 60, (unsigned long long)r->size, fl);
}

void mbx_flags_format(char *out, uint32_t kw, uint32_t sys, uint32_t uid)
{
	char t[MBX_FLAGS_LEN + 8];

	snprintf(t, sizeof t, "%08x%04x-%08x", kw, sys & 0xffff, uid);
	memcpy(out, t, MBX_FLAGS_LEN);
	out[MBX_FLAGS_LEN] = '\0';
}

int mbx_flags_parse(const char *p, uint32_t *kw, uint32_t *sys)
{
	if (p[0] != ';' || p[13] != '-' || hexn(p + 1, 8, kw) < 0 || hexn(p + 9, 4, sys) < 0)
		return -1;
	return 0;
}

size_t mbx_walk(const char *buf, size_t len, int *status,
		void (*fn)(void *ctx, size_t off, const struct mbx_rec *r), void *ctx)
{
	size_t off = MBX_HDRSIZE;
	struct mbx_rec r;

	*status = MBX_REC_OK;
	while (off < len) {
		*status = mbx_rec_parse(buf + off, len - off, &r);
		if (*status != MBX_REC_OK)
			return off;
		if (r.size > len - off - r.linelen) {
			*status = MBX_REC_SHORT;
			return off;
		}
		if (fn)
			fn(ctx, off, &r);
		off += r.linelen + (size_t)r.size;
	}
	return off;
}
