/* cl_rfc822.c: the classic RFC 822 and MIME helpers programs call for
 * composing and decoding (PHP's imap_* functions above all): base64 and
 * quoted-printable both ways, dates, header writing into a buffer or
 * through an RFC822BUFFER, encoded-word decoding. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "cl_int.h"

static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/* base64 to bytes; characters outside the alphabet (line breaks) are
 * skipped and "=" ends the data. */
void *rfc822_base64(unsigned char *src, unsigned long srcl, unsigned long *len)
{
	unsigned char *out = fs_get(srcl / 4 * 3 + 4);
	unsigned long n = 0, bits = 0;
	int have = 0;

	for (unsigned long i = 0; i < srcl && src[i] != '='; i++) {
		const char *p = src[i] ? strchr(b64, src[i]) : NULL;

		if (!p)
			continue;
		bits = bits << 6 | (unsigned long)(p - b64);
		if ((have += 6) >= 8) {
			have -= 8;
			out[n++] = (unsigned char)(bits >> have);
		}
	}
	out[n] = '\0';
	*len = n;
	return out;
}

/* Bytes to base64, lines of 76 characters ending in CRLF. */
unsigned char *rfc822_binary(void *src, unsigned long srcl, unsigned long *len)
{
	const unsigned char *s = src;
	unsigned char *out = fs_get((srcl + 2) / 3 * 4 + (srcl / 57 + 1) * 2 + 1), *p = out;

	for (unsigned long i = 0; i < srcl; i += 3) {
		unsigned long v = (unsigned long)s[i] << 16 | (i + 1 < srcl ? s[i + 1] << 8 : 0) |
				  (i + 2 < srcl ? s[i + 2] : 0);

		*p++ = b64[v >> 18 & 63];
		*p++ = b64[v >> 12 & 63];
		*p++ = i + 1 < srcl ? b64[v >> 6 & 63] : '=';
		*p++ = i + 2 < srcl ? b64[v & 63] : '=';
		if ((i + 3) % 57 == 0 || i + 3 >= srcl) {
			*p++ = '\r';
			*p++ = '\n';
		}
	}
	*p = '\0';
	*len = (unsigned long)(p - out);
	return out;
}

static int hexval(unsigned char c)
{
	return c >= '0' && c <= '9' ? c - '0' : c >= 'A' && c <= 'F' ? c - 'A' + 10 :
	       c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* Quoted-printable to bytes: =XX, soft line breaks, and the blanks before
 * a line end dropped (RFC 2045 6.7); a bad escape is kept as it is. */
unsigned char *rfc822_qprint(unsigned char *src, unsigned long srcl, unsigned long *len)
{
	unsigned char *out = fs_get(srcl + 1);
	unsigned long n = 0, keep = 0;   /* output up to keep has no trailing blanks */

	for (unsigned long i = 0; i < srcl; i++) {
		unsigned char c = src[i];

		if (c == '=' && i + 1 < srcl) {
			unsigned long j = i + 1;

			while (j < srcl && (src[j] == ' ' || src[j] == '\t'))
				j++;
			if (j < srcl && (src[j] == '\r' || src[j] == '\n')) {
				/* soft break */
				i = j + (src[j] == '\r' && j + 1 < srcl && src[j + 1] == '\n');
				keep = n;
				continue;
			}
			if (i + 2 < srcl && hexval(src[i + 1]) >= 0 && hexval(src[i + 2]) >= 0) {
				out[n++] = (unsigned char)(hexval(src[i + 1]) << 4 | hexval(src[i + 2]));
				keep = n;
				i += 2;
				continue;
			}
		}
		if (c == '\r' || c == '\n')
			n = keep;   /* drop blanks that end a line */
		out[n++] = c;
		if (c != ' ' && c != '\t')
			keep = n;
	}
	out[n] = '\0';
	*len = n;
	return out;
}

/* Bytes to quoted-printable: lines of at most 76 characters with soft
 * breaks; CRLF kept; 8-bit bytes, controls, "=" and a blank before a
 * line end encoded. */
unsigned char *rfc822_8bit(unsigned char *src, unsigned long srcl, unsigned long *len)
{
	unsigned char *out = fs_get(3 * srcl + 3 * (srcl / 24 + 1) + 1), *p = out;
	static const char hex[] = "0123456789ABCDEF";
	unsigned long col = 0;

	for (unsigned long i = 0; i < srcl; i++) {
		unsigned char c = src[i];
		int eol = i + 1 < srcl && c == '\r' && src[i + 1] == '\n';
		int blank_at_eol = (c == ' ' || c == '\t') &&
				   (i + 1 == srcl || src[i + 1] == '\r' || src[i + 1] == '\n');
		int enc = !eol && (c >= 0x7f || c == '=' || (c < 0x20 && c != '\t') || blank_at_eol);

		if (eol) {
			*p++ = '\r';
			*p++ = '\n';
			i++;
			col = 0;
			continue;
		}
		if (col + (enc ? 3 : 1) > 75) {
			p += sprintf((char *)p, "=\r\n");
			col = 0;
		}
		if (enc) {
			*p++ = '=';
			*p++ = (unsigned char)hex[c >> 4];
			*p++ = (unsigned char)hex[c & 15];
			col += 3;
		} else {
			*p++ = c;
			col++;
		}
	}
	*p = '\0';
	*len = (unsigned long)(p - out);
	return out;
}

/* The current time as an RFC 5322 date with the local zone,
 * "Sun, 6 Dec 2026 19:09:04 +0000 (UTC)". */
void rfc822_date(char *date)
{
	time_t now = time(NULL);
	struct tm tm;
	long off;

	localtime_r(&now, &tm);
	off = tm.tm_gmtoff / 60;
	sprintf(date, "%s, %d %s %d %02d:%02d:%02d %c%02ld%02ld (%s)", days[tm.tm_wday], tm.tm_mday,
		months[tm.tm_mon], tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec,
		off < 0 ? '-' : '+', labs(off) / 60, labs(off) % 60, tm.tm_zone);
}

/* Encoded words (RFC 2047) of src decoded to UTF-8 in dst; dst is src
 * itself when there is nothing to decode (the classic contract: the
 * program frees dst->data only when it differs from src->data). */
long utf8_mime2text(SIZEDTEXT *src, SIZEDTEXT *dst, long flags)
{
	size_t n;
	char *out;

	if (!src->data || !memmem(src->data, src->size, "=?", 2)) {
		*dst = *src;
		return T;
	}
	out = clb_decode_words((const char *)src->data, src->size, &n);
	dst->data = fs_get(n + 1);
	memcpy(dst->data, out, n + 1);
	dst->size = n;
	free(out);
	return T;
}

/* Append s to buf, flushing it through buf->f whenever it fills. */
static long out_str(RFC822BUFFER *buf, const char *s)
{
	for (; *s; s++) {
		if (buf->cur == buf->end && !rfc822_output_flush(buf))
			return NIL;
		*buf->cur++ = *s;
	}
	return T;
}

long rfc822_output_flush(RFC822BUFFER *buf)
{
	long ok;

	*buf->cur = '\0';
	ok = buf->f ? (*buf->f)(buf->s, buf->beg) : NIL;
	buf->cur = buf->beg;
	return ok;
}

/* s as a word or, when it holds any of specials, a quoted string. */
static long out_word(RFC822BUFFER *buf, const char *s, const char *specials)
{
	char one[3] = "";

	if (!strpbrk(s, specials) && *s)
		return out_str(buf, s);
	if (!out_str(buf, "\""))
		return NIL;
	for (; *s; s++) {
		one[0] = *s == '"' || *s == '\\' ? '\\' : *s;
		one[1] = *s == '"' || *s == '\\' ? *s : '\0';
		if (!out_str(buf, one))
			return NIL;
	}
	return out_str(buf, "\"");
}

/* The specials of a display name and of a local part. */
#define PHRASE_SPECIALS "()<>@,;:\\\"[].\t"
#define LOCAL_SPECIALS "()<>@,;:\\\"[] \t"

/* One address: "mailbox@host", or with a display name
 * "Name <[adl:]mailbox@host>". */
static long out_address(RFC822BUFFER *buf, ADDRESS *a, const char *specials)
{
	long ok = T;
	int angle = a->personal || a->adl;

	if (a->personal)
		ok = out_word(buf, a->personal, specials) && out_str(buf, " ");
	if (ok && angle)
		ok = out_str(buf, "<");
	if (ok && a->adl)
		ok = out_str(buf, a->adl) && out_str(buf, ":");
	if (ok)
		ok = out_word(buf, a->mailbox, LOCAL_SPECIALS);
	/* UW's host "@" marks an address with no host */
	if (ok && a->host && strcmp(a->host, "@"))
		ok = out_str(buf, "@") && out_str(buf, a->host);
	if (ok && angle)
		ok = out_str(buf, ">");
	return ok;
}

long rfc822_output_address_list(RFC822BUFFER *buf, ADDRESS *adr, long pretty,
				const char *specials)
{
	const char *sp = specials ? specials : PHRASE_SPECIALS;
	int first = 1;

	for (; adr; adr = adr->next) {
		long ok;

		if (!adr->host) {
			/* a group's start (its name) or end (no mailbox) */
			ok = adr->mailbox ? (first || out_str(buf, ", ")) &&
					    out_word(buf, adr->mailbox, sp) && out_str(buf, ": ")
					  : out_str(buf, ";");
			first = adr->mailbox != NIL;
		} else {
			ok = (first || out_str(buf, ", ")) && out_address(buf, adr, sp);
			first = 0;
		}
		if (!ok)
			return NIL;
	}
	return T;
}

/* An RFC822BUFFER that appends into a caller's string (the legacy
 * header writers): it never flushes, the caller's buffer is big. */
static void string_buffer(RFC822BUFFER *buf, char *dest)
{
	buf->f = NIL;
	buf->s = NIL;
	buf->beg = buf->cur = dest + strlen(dest);
	buf->end = buf->cur + 0x7fffffff;   /* the legacy calls trust the size */
}

static void header_line(char *dst, const char *name, const char *value)
{
	if (value)
		sprintf(dst + strlen(dst), "%s: %s\r\n", name, value);
}

static void address_line(char *dst, const char *name, ADDRESS *a)
{
	RFC822BUFFER buf;

	if (!a)
		return;
	sprintf(dst + strlen(dst), "%s: ", name);
	string_buffer(&buf, dst);
	rfc822_output_address_list(&buf, a, 0, NIL);
	*buf.cur = '\0';
	strcat(dst, "\r\n");
}

/* The default subtype of a type, as the classic library supplied it. */
static const char *default_subtype(unsigned short type)
{
	static const char *const subtypes[] = {"PLAIN", "MIXED", "RFC822", "OCTET-STREAM",
					       "BASIC", "JPEG", "MPEG", "UNKNOWN"};

	return type < sizeof(subtypes) / sizeof(subtypes[0]) ? subtypes[type] : "UNKNOWN";
}

static void parameters_out(char *dst, PARAMETER *p)
{
	for (; p; p = p->next) {
		RFC822BUFFER buf;

		sprintf(dst + strlen(dst), "; %s=", p->attribute);
		string_buffer(&buf, dst);
		out_word(&buf, p->value ? p->value : "", "()<>@,;:\\\"/[]?= \t");
		*buf.cur = '\0';
	}
}

void rfc822_write_body_header(char **dst, BODY *body)
{
	char *d = *dst;

	sprintf(d + strlen(d), "Content-Type: %s/%s",
		body->type <= TYPEMAX && body_types[body->type] ? body_types[body->type] : "X-UNKNOWN",
		body->subtype ? body->subtype : default_subtype(body->type));
	parameters_out(d, body->parameter);
	if (body->type == TYPETEXT && !body->parameter)
		strcat(d, "; CHARSET=US-ASCII");   /* as UW's writer said it */
	strcat(d, "\r\n");
	if (body->encoding != ENC7BIT && body->encoding <= ENCMAX && body_encodings[body->encoding])
		header_line(d, "Content-Transfer-Encoding", body_encodings[body->encoding]);
	header_line(d, "Content-ID", body->id);
	header_line(d, "Content-Description", body->description);
	header_line(d, "Content-MD5", body->md5);
	if (body->disposition.type) {
		sprintf(d + strlen(d), "Content-Disposition: %s", body->disposition.type);
		parameters_out(d, body->disposition.parameter);
		strcat(d, "\r\n");
	}
	if (body->language) {
		strcat(d, "Content-Language: ");
		for (STRINGLIST *l = body->language; l; l = l->next)
			sprintf(d + strlen(d), "%s%s", (char *)l->text.data, l->next ? ", " : "");
		strcat(d, "\r\n");
	}
	header_line(d, "Content-Location", body->location);
}

/* The header of a message to send, ending with its blank line: the
 * envelope's fields (Bcc never), then the MIME fields of body. */
void rfc822_header(char *header, ENVELOPE *env, BODY *body)
{
	*header = '\0';
	if (env->remail)
		strcpy(header, env->remail);
	header_line(header, "Newsgroups", env->newsgroups);
	header_line(header, "Date", (char *)env->date);
	address_line(header, "From", env->from);
	address_line(header, "Sender", env->sender);
	address_line(header, "Reply-To", env->reply_to);
	header_line(header, "Subject", env->subject);
	if (env->bcc && !env->to && !env->cc)
		strcat(header, "To: undisclosed recipients: ;\r\n");
	address_line(header, "To", env->to);
	address_line(header, "cc", env->cc);
	header_line(header, "In-Reply-To", env->in_reply_to);
	header_line(header, "Message-ID", env->message_id);
	header_line(header, "Followup-to", env->followup_to);
	header_line(header, "References", env->references);
	if (body && !env->remail) {
		strcat(header, "MIME-Version: 1.0\r\n");
		rfc822_write_body_header(&header, body);
	}
	strcat(header, "\r\n");
}

/* Make a body fit 7-bit transport: 8-bit text parts become
 * quoted-printable, binary ones base64; multiparts get a boundary. */
void rfc822_encode_body_7bit(ENVELOPE *env, BODY *body)
{
	unsigned long len;
	void *old;

	if (!body)
		return;
	if (body->type == TYPEMULTIPART) {
		PARAMETER **p = &body->parameter;

		while (*p && strcasecmp((*p)->attribute, "BOUNDARY"))
			p = &(*p)->next;
		if (!*p) {
			char b[64];

			snprintf(b, sizeof(b), "%ld-%ld-%ld=:%ld", (long)time(NULL), random(),
				 (long)getpid(), random());
			*p = mail_newbody_parameter();
			(*p)->attribute = cpystr("BOUNDARY");
			(*p)->value = cpystr(b);
		}
		for (PART *part = body->nested.part; part; part = part->next)
			rfc822_encode_body_7bit(env, &part->body);
		return;
	}
	if (body->type == TYPEMESSAGE)
		return;   /* an encapsulated message keeps its own encodings */
	if (body->encoding != ENC8BIT && body->encoding != ENCBINARY)
		return;
	old = body->contents.text.data;
	body->contents.text.data = body->encoding == ENC8BIT ?
		rfc822_8bit(old, body->contents.text.size, &len) :
		rfc822_binary(old, body->contents.text.size, &len);
	body->contents.text.size = len;
	body->encoding = body->encoding == ENC8BIT ? ENCQUOTEDPRINTABLE : ENCBASE64;
	fs_give(&old);
}
