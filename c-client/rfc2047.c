/* rfc2047.c: text decodings: RFC 2047 encoded words in header values,
 * charset conversion to UTF-8 through iconv, and the base64 and
 * quoted-printable transfer encodings they and MIME bodies share. */
#include "rfc822_int.h"

#include <errno.h>
#include <iconv.h>
#include <string.h>
#include <strings.h>

static int b64_value(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

/* Skips characters outside the alphabet (line ends, junk); stops at '='. */
void base64_decode(const char *s, size_t len, struct buf *out)
{
	unsigned acc = 0;
	int bits = 0;

	buf_reserve(out, len / 4 * 3 + 3);
	for (size_t i = 0; i < len && s[i] != '='; i++) {
		int v = b64_value((unsigned char)s[i]);
		if (v < 0)
			continue;
		acc = (acc << 6) | (unsigned)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			buf_putc(out, (char)((acc >> bits) & 0xff));
		}
	}
}

/* Quoted-printable (RFC 2045 6.7); underscore_is_space for RFC 2047 "Q".
 * Soft line breaks vanish, trailing white space before a line end is
 * dropped, broken escapes are kept as written. */
void qp_decode(const char *s, size_t len, int underscore_is_space, struct buf *out)
{
	size_t i = 0, ws = 0;

	buf_reserve(out, len);
	while (i < len) {
		char c = s[i];
		if (c == '=') {
			int hi = i + 1 < len ? hex_value((unsigned char)s[i + 1]) : -1;
			int lo = i + 2 < len ? hex_value((unsigned char)s[i + 2]) : -1;
			size_t j = i + 1;
			if (hi >= 0 && lo >= 0) {
				buf_putc(out, (char)(hi << 4 | lo));
				i += 3;
				ws = 0;
				continue;
			}
			while (j < len && (s[j] == ' ' || s[j] == '\t'))
				j++;
			if (j == len || s[j] == '\r' || s[j] == '\n') {
				if (j < len && s[j] == '\r')
					j++;
				if (j < len && s[j] == '\n')
					j++;
				i = j;
				ws = 0;
				continue;
			}
			buf_putc(out, c);
			i++;
		} else if (c == '\r' || c == '\n') {
			/* drop the white space that ended the line */
			out->len -= ws;
			buf_putc(out, c);
			i++;
		} else {
			buf_putc(out, underscore_is_space && c == '_' ? ' ' : c);
			i++;
		}
		ws = (c == ' ' || c == '\t') ? ws + 1 : 0;
	}
}

/* One converter kept open: a session mostly sees one or two charsets. */
static struct {
	char name[64];
	iconv_t cd;
} conv = { "", (iconv_t)-1 };

static iconv_t conv_get(const char *charset)
{
	if (conv.cd != (iconv_t)-1 && !strcasecmp(conv.name, charset)) {
		iconv(conv.cd, NULL, NULL, NULL, NULL);
		return conv.cd;
	}
	if (strlen(charset) >= sizeof conv.name)
		return (iconv_t)-1;
	if (conv.cd != (iconv_t)-1)
		iconv_close(conv.cd);
	conv.cd = iconv_open("UTF-8", charset);
	str_copy(conv.name, conv.cd == (iconv_t)-1 ? "" : charset, sizeof conv.name);
	return conv.cd;
}

static int is_utf8_alias(const char *cs)
{
	return !strcasecmp(cs, "utf-8") || !strcasecmp(cs, "utf8") || !strcasecmp(cs, "us-ascii") ||
	       !strcasecmp(cs, "ascii");
}

int charset_to_utf8(const char *charset, const char *s, size_t len, struct buf *out)
{
	iconv_t cd;
	char *in = (char *)s;
	size_t inleft = len;

	if (is_utf8_alias(charset)) {
		buf_append(out, s, len);
		return 0;
	}
	if ((cd = conv_get(charset)) == (iconv_t)-1)
		return -1;
	while (inleft) {
		size_t room = inleft * 4 + 16, outleft = room;
		char *o;

		buf_reserve(out, room);
		o = out->data + out->len;
		size_t r = iconv(cd, &in, &inleft, &o, &outleft);
		out->len += room - outleft;
		out->data[out->len] = '\0';
		if (r != (size_t)-1 || errno == E2BIG)
			continue;
		/* invalid or truncated input: one replacement character */
		buf_append(out, "\xef\xbf\xbd", 3);
		in++;
		inleft--;
		iconv(cd, NULL, NULL, NULL, NULL);
	}
	return 0;
}

/* An encoded word =?charset?B|Q?text?= at s; fills its parts, returns its
 * length or 0. The charset may carry an RFC 2231 "*language" suffix. */
struct eword {
	char charset[64];
	char enc;
	const char *text;
	size_t text_len;
};

static size_t eword_parse(const char *s, size_t len, struct eword *w)
{
	size_t i = 2, cs, ce;

	if (len < 8 || s[0] != '=' || s[1] != '?')
		return 0;
	cs = i;
	while (i < len && s[i] != '?' && s[i] != ' ' && s[i] != '\t' && s[i] != '\r' && s[i] != '\n')
		i++;
	if (i + 3 >= len || s[i] != '?' || s[i + 2] != '?')
		return 0;
	ce = i;
	for (size_t k = cs; k < ce; k++)
		if (s[k] == '*')
			ce = k;
	if (ce == cs || ce - cs >= sizeof w->charset)
		return 0;
	memcpy(w->charset, s + cs, ce - cs);
	w->charset[ce - cs] = '\0';
	w->enc = (char)(s[i + 1] | 0x20);
	if (w->enc != 'b' && w->enc != 'q')
		return 0;
	i += 3;
	w->text = s + i;
	while (i + 1 < len && !(s[i] == '?' && s[i + 1] == '=')) {
		if (s[i] == ' ' || s[i] == '\t' || s[i] == '\r' || s[i] == '\n')
			return 0;
		i++;
	}
	if (i + 1 >= len)
		return 0;
	w->text_len = (size_t)(s + i - w->text);
	return i + 2;
}

/* Pending decoded bytes of adjacent words in one charset: converted
 * together, since encoders split multi-byte characters across words. */
struct pending {
	char charset[64];
	struct buf bytes;
};

static void pending_flush(struct pending *pd, struct buf *out)
{
	if (pd->bytes.len && charset_to_utf8(pd->charset, pd->bytes.data, pd->bytes.len, out) < 0)
		buf_append(out, pd->bytes.data, pd->bytes.len);
	buf_reset(&pd->bytes);
	pd->charset[0] = '\0';
}

static int charset_known(const char *cs)
{
	return is_utf8_alias(cs) || conv_get(cs) != (iconv_t)-1;
}

void rfc2047_decode(const char *s, size_t len, struct buf *out)
{
	struct pending pd = { "", { 0 } };
	size_t i = 0, ws_start = 0;
	int after_word = 0;

	while (i < len) {
		struct eword w;
		size_t n = s[i] == '=' ? eword_parse(s + i, len - i, &w) : 0;

		if (n && charset_known(w.charset)) {
			/* white space between two encoded words is dropped */
			if (strcasecmp(pd.charset, w.charset))
				pending_flush(&pd, out);
			str_copy(pd.charset, w.charset, sizeof pd.charset);
			if (w.enc == 'b')
				base64_decode(w.text, w.text_len, &pd.bytes);
			else
				qp_decode(w.text, w.text_len, 1, &pd.bytes);
			i += n;
			after_word = 1;
			ws_start = i;
			continue;
		}
		if (s[i] == ' ' || s[i] == '\t' || s[i] == '\r' || s[i] == '\n') {
			if (!after_word && s[i] != '\r' && s[i] != '\n')
				buf_putc(out, s[i]);
			i++;
			continue;
		}
		if (after_word) {
			pending_flush(&pd, out);
			for (size_t k = ws_start; k < i; k++)
				if (s[k] != '\r' && s[k] != '\n')
					buf_putc(out, s[k]);
			after_word = 0;
		}
		if (n) {
			buf_append(out, s + i, n);   /* unknown charset: left as is */
			i += n;
		} else {
			buf_putc(out, s[i++]);
		}
	}
	pending_flush(&pd, out);
	if (after_word)
		for (size_t k = ws_start; k < len; k++)
			if (s[k] != '\r' && s[k] != '\n')
				buf_putc(out, s[k]);
	buf_free(&pd.bytes);
}

/* Is there a "=?" in s[0..len)? */
int rfc2047_present(const char *s, size_t len)
{
	const char *e = s + len, *q;

	for (; s < e && (q = memchr(s, '=', (size_t)(e - s))); s = q + 1)
		if (q + 1 < e && q[1] == '?')
			return 1;
	return 0;
}
