/* preview.c: the PREVIEW text of a message (RFC 8970): the first text
 * part that is not an attachment (plain text preferred over HTML),
 * transfer encoding and charset undone, HTML reduced to its text, white
 * space collapsed, at most 200 characters of valid UTF-8. */
#include "rfc822_int.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define PREVIEW_CHARS 200
#define PREVIEW_DEPTH 32

/* The first leaf TEXT/subtype part under b, not an attachment, not inside
 * an attached message. */
static const struct body *find_text(const struct body *b, const char *subtype, int depth)
{
	if (depth > PREVIEW_DEPTH || b->msg_body)
		return NULL;
	if (b->parts) {
		for (const struct body *k = b->parts; k; k = k->next) {
			const struct body *r = find_text(k, subtype, depth + 1);
			if (r)
				return r;
		}
		return NULL;
	}
	if (!b->type || strcmp(b->type, "TEXT") || !b->subtype || strcmp(b->subtype, subtype))
		return NULL;
	if (b->disposition && !strcasecmp(b->disposition, "ATTACHMENT"))
		return NULL;
	return b;
}

/* Append code point cp as UTF-8. */
static void put_utf8(struct buf *out, unsigned long cp)
{
	if (cp == 0 || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		cp = 0xfffd;
	if (cp < 0x80) {
		buf_putc(out, (char)cp);
	} else if (cp < 0x800) {
		buf_putc(out, (char)(0xc0 | cp >> 6));
		buf_putc(out, (char)(0x80 | (cp & 0x3f)));
	} else if (cp < 0x10000) {
		buf_putc(out, (char)(0xe0 | cp >> 12));
		buf_putc(out, (char)(0x80 | (cp >> 6 & 0x3f)));
		buf_putc(out, (char)(0x80 | (cp & 0x3f)));
	} else {
		buf_putc(out, (char)(0xf0 | cp >> 18));
		buf_putc(out, (char)(0x80 | (cp >> 12 & 0x3f)));
		buf_putc(out, (char)(0x80 | (cp >> 6 & 0x3f)));
		buf_putc(out, (char)(0x80 | (cp & 0x3f)));
	}
}

/* An HTML character reference at s (after '&'); its length through ';',
 * 0 when it is none we know (the '&' then stays as text). */
static size_t html_entity(const char *s, size_t n, struct buf *out)
{
	static const struct {
		const char *name;
		unsigned long cp;
	} named[] = {{"amp", '&'}, {"lt", '<'}, {"gt", '>'}, {"quot", '"'}, {"apos", '\''},
		     {"nbsp", ' '}};
	const char *semi = memchr(s, ';', n < 12 ? n : 12);

	if (!semi)
		return 0;
	size_t len = (size_t)(semi - s);
	if (len > 1 && s[0] == '#') {
		char num[12], *end;
		int hex = s[1] == 'x' || s[1] == 'X';
		memcpy(num, s + 1 + hex, len - 1 - hex);
		num[len - 1 - hex] = '\0';
		unsigned long cp = strtoul(num, &end, hex ? 16 : 10);
		if (!*num || *end)
			return 0;
		put_utf8(out, cp);
		return len + 1;
	}
	for (size_t i = 0; i < ARRAY_SIZE(named); i++)
		if (strlen(named[i].name) == len && !strncmp(s, named[i].name, len)) {
			put_utf8(out, named[i].cp);
			return len + 1;
		}
	return 0;
}

/* Where the markup at s[i] ('<') ends: a comment, a script or style
 * element with its content, or one tag. */
static size_t html_skip(const char *s, size_t n, size_t i)
{
	static const char *const hidden[] = {"script", "style"};
	const char *end = NULL;

	if (n - i >= 4 && !memcmp(s + i, "<!--", 4))
		end = memmem(s + i + 4, n - i - 4, "-->", 3);
	for (size_t k = 0; !end && k < ARRAY_SIZE(hidden); k++) {
		size_t len = strlen(hidden[k]);
		if (n - i > len + 1 && !strncasecmp(s + i + 1, hidden[k], len) &&
		    !isalnum((unsigned char)s[i + 1 + len])) {
			char close[10];
			snprintf(close, sizeof close, "</%s", hidden[k]);
			for (size_t j = i + 1; j + len + 2 <= n && !end; j++)
				if (!strncasecmp(s + j, close, len + 2))
					end = s + j;
		}
	}
	const char *gt = memchr(end ? end : s + i, '>', n - (size_t)((end ? end : s + i) - s));
	return gt ? (size_t)(gt - s) + 1 : n;
}

/* HTML to the text a reader sees (tags become spaces). */
static void html_text(const char *s, size_t n, struct buf *out)
{
	for (size_t i = 0; i < n;) {
		size_t used;
		if (s[i] == '<') {
			i = html_skip(s, n, i);
			buf_putc(out, ' ');
		} else if (s[i] == '&' && (used = html_entity(s + i + 1, n - i - 1, out))) {
			i += used + 1;
		} else {
			buf_putc(out, s[i++]);
		}
	}
}

/* Length of the valid UTF-8 sequence at s, 0 if it is not one. */
static size_t utf8_len(const unsigned char *s, size_t n)
{
	size_t len = s[0] < 0x80 ? 1 : s[0] >= 0xc2 && s[0] <= 0xdf ? 2 :
		     s[0] >= 0xe0 && s[0] <= 0xef ? 3 : s[0] >= 0xf0 && s[0] <= 0xf4 ? 4 : 0;

	if (len > n)
		return 0;
	for (size_t k = 1; k < len; k++)
		if ((s[k] & 0xc0) != 0x80)
			return 0;
	return len;
}

/* White space (and controls, and no-break space) collapsed to one space,
 * none at either end, cut at PREVIEW_CHARS characters. */
static void collapse(const char *text, size_t n, struct buf *out)
{
	const unsigned char *s = (const unsigned char *)text;
	size_t chars = 0, i = 0;
	int space = 0;

	while (i < n && chars < PREVIEW_CHARS) {
		size_t len = utf8_len(s + i, n - i);
		if (s[i] <= 0x20 || s[i] == 0x7f || (len == 2 && s[i] == 0xc2 && s[i + 1] == 0xa0)) {
			space = out->len > 0;
			i += len ? len : 1;
			continue;
		}
		if (space && ++chars < PREVIEW_CHARS)
			buf_putc(out, ' ');
		space = 0;
		if (chars == PREVIEW_CHARS)
			break;
		if (len)
			buf_append(out, text + i, len);
		else
			buf_append(out, "\xef\xbf\xbd", 3);   /* not UTF-8: a replacement */
		i += len ? len : 1;
		chars++;
	}
}

void mime_preview(const char *msg, size_t len, const struct body *root, struct buf *out)
{
	const struct body *b = find_text(root, "PLAIN", 0);
	int html = !b;
	struct buf text, plain;

	if (!b && !(b = find_text(root, "HTML", 0)))
		return;
	buf_init(&text);
	buf_init(&plain);
	mime_decode_text(msg, len, b, &text);
	if (html)
		html_text(text.data ? text.data : "", text.len, &plain);
	collapse(html ? plain.data : text.data, html ? plain.len : text.len, out);
	buf_free(&text);
	buf_free(&plain);
}
