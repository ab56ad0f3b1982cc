/* unix_form.c: is a mailbox's first message exactly a folder record as this
 * server or UW imapd writes it (fixed headers in a fixed order, one of two
 * fixed texts)? Such a message stays hidden even when its record is not
 * believed (see rec_trust). A function of bytes only (fuzz-mbox-parse). */
#include "unix_int.h"

#include <string.h>

/* The pseudo message's text as UW imap-2007f writes it, and as we do. */
static const char *const record_texts[] = {
	"This text is part of the internal format of your mail folder, and is not\n"
	"a real message.  It is created automatically by the mail system software.\n"
	"If deleted, important folder data will be lost, and it will be re-created\n"
	"with the data reset to initial values.\n",
	PSEUDO_TEXT,
};

/* Does s[0..n) fit the template? 'A' a letter, '9' a digit, '_' a digit
 * or a space, 'S' a sign; anything else stands for itself. */
static int fits(const char *s, size_t n, const char *tpl)
{
	size_t i = 0;

	for (; i < n && tpl[i]; i++) {
		char c = s[i], t = tpl[i];
		int ok = t == 'A'   ? (c | 0x20) >= 'a' && (c | 0x20) <= 'z'
			 : t == '9' ? c >= '0' && c <= '9'
			 : t == '_' ? c == ' ' || (c >= '0' && c <= '9')
			 : t == 'S' ? c == '+' || c == '-'
				    : c == t;
		if (!ok)
			return 0;
	}
	return i == n && !tpl[i];
}

/* How many bytes of s[0..n) from i a class accepts, at most max. */
static size_t span(const char *s, size_t i, size_t n, const char *set, size_t max)
{
	size_t k = 0;

	while (i + k < n && k < max && s[i + k] && strchr(set, s[i + k]))
		k++;
	return k;
}

#define DIGITS "0123456789"
#define HOSTCH "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ" DIGITS ".-_[]:"

/* "<digits>@host>" ending s[0..n), from i: what both writers put after
 * MAILER-DAEMON and in the Message-ID (UW cuts the host at 80 bytes). */
static int at_host(const char *s, size_t i, size_t n)
{
	if (i >= n || s[i++] != '@')
		return 0;
	size_t h = span(s, i, n, HOSTCH, 80);
	return h && i + h + 1 == n && s[n - 1] == '>';
}

static int v_date(const char *s, size_t n)
{
	return fits(s, n, "AAA, 99 AAA 9999 99:99:99 S9999") || fits(s, n, "99 AAA 9999 99:99:99 S9999");
}

static int v_from(const char *s, size_t n)
{
	static const char pre[] = "Mail System Internal Data <MAILER-DAEMON";

	return n > sizeof pre && !memcmp(s, pre, sizeof pre - 1) && at_host(s, sizeof pre - 1, n);
}

static int v_subject(const char *s, size_t n)
{
	return n == sizeof PSEUDO_SUBJECT - 1 && !memcmp(s, PSEUDO_SUBJECT, n);
}

static int v_msgid(const char *s, size_t n)
{
	size_t d = n ? span(s, 1, n, DIGITS, 20) : 0;

	return d && s[0] == '<' && at_host(s, 1 + d, n);
}

static int v_gen(const char *s, size_t n)
{
	return n == 10 && span(s, 0, n, DIGITS, 10) == 10;
}

static int v_auth(const char *s, size_t n)
{
	return n == 11 + MAC_HEX && span(s, 0, n, DIGITS, 10) == 10 && s[10] == ' ' &&
	       span(s, 11, n, "0123456789abcdef", MAC_HEX) == MAC_HEX;
}

/* UIDVALIDITY and uidlast of ten digits each, then keywords (atoms). */
static int v_ximap(const char *s, size_t n)
{
	size_t i = 21;

	if (n < 21 || span(s, 0, n, DIGITS, 10) != 10 || s[10] != ' ' ||
	    span(s, 11, n, DIGITS, 10) != 10)
		return 0;
	while (i < n) {
		if (s[i++] != ' ' || i == n)
			return 0;
		while (i < n && s[i] > ' ' && s[i] < 0x7f && !strchr("(){%*\"\\]", s[i]))
			i++;
		if (i < n && s[i] != ' ')
			return 0;
	}
	return 1;
}

static int v_status(const char *s, size_t n)
{
	return n == 2 && !memcmp(s, "RO", 2);
}

/* The header lines, in the order both writers use; UW writes no GEN_HDR
 * or AUTH_HDR, and a Message-ID only sometimes. */
static const struct field {
	const char *name;
	int optional;
	int (*value)(const char *s, size_t n);
} fields[] = {
	{ "Date:", 0, v_date },		{ "From:", 0, v_from },
	{ "Subject:", 0, v_subject },	{ "Message-ID:", 1, v_msgid },
	{ GEN_HDR, 1, v_gen },		{ AUTH_HDR, 1, v_auth },
	{ "X-IMAP:", 0, v_ximap },	{ "Status:", 0, v_status },
};

/* Is the line s[0..n) (no LF) the field f with a value it accepts? */
static int field_is(const struct field *f, const char *s, size_t n)
{
	size_t k = strlen(f->name);

	return n > k + 1 && !memcmp(s, f->name, k) && s[k] == ' ' && f->value(s + k + 1, n - k - 1);
}

/* The next line of s[0..n) from *pos, without its LF; NULL when none ends. */
static const char *next_line(const char *s, size_t n, size_t *pos, size_t *len)
{
	const char *nl = *pos < n ? memchr(s + *pos, '\n', n - *pos) : NULL;
	const char *line = s + *pos;

	if (!nl)
		return NULL;
	*len = (size_t)(nl - line);
	*pos += *len + 1;
	return line;
}

/* Is m[0..n) (From line, header, blank line, body; after an MMDF mark when
 * mmdf) exactly a folder record of ours or UW's? */
int unix_record_form(const char *m, size_t n, int mmdf)
{
	static const char from[] = "From MAILER-DAEMON ";
	size_t pos = mmdf ? MMDF_MARK_LEN : 0, len, f = 0;
	const char *l;

	if ((mmdf && (n < MMDF_MARK_LEN || memcmp(m, MMDF_MARK, MMDF_MARK_LEN))) ||
	    !(l = next_line(m, n, &pos, &len)) || len < sizeof from - 1 ||
	    memcmp(l, from, sizeof from - 1) ||
	    !fits(l + sizeof from - 1, len - (sizeof from - 1), "AAA AAA _9 99:99:99 9999"))
		return 0;
	while ((l = next_line(m, n, &pos, &len)) && len) {
		while (f < ARRAY_SIZE(fields) && !field_is(&fields[f], l, len) && fields[f].optional)
			f++;
		if (f == ARRAY_SIZE(fields) || !field_is(&fields[f], l, len))
			return 0;
		f++;
	}
	if (!l || f != ARRAY_SIZE(fields))
		return 0;
	/* an MMDF writer leaves the blank line before the trailer in the body */
	for (size_t t = 0; t < ARRAY_SIZE(record_texts); t++) {
		size_t tl = strlen(record_texts[t]), b = n - pos;
		if ((b == tl || (b == tl + 1 && m[n - 1] == '\n')) && !memcmp(m + pos, record_texts[t], tl))
			return 1;
	}
	return 0;
}
