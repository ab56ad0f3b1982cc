/* imap_fmt.c: library values in IMAP response syntax (RFC 3501 section 9):
 * strings (NIL, quoted or literal), ENVELOPE and BODY/BODYSTRUCTURE. The
 * choices follow Dovecot's answers byte for byte where RFC 3501 leaves room,
 * except that MIME tokens are upper case as in UW imapd. */
#include "imap_fmt.h"

#include <string.h>
#include <strings.h>

/* Longest string we send quoted; longer ones go as literals so that
 * clients with line-length limits cope. */
#define QUOTED_MAX 4096
/* More quote/backslash escapes than this: a literal reads better. */
#define QUOTED_MAX_ESCAPES 4

static void put_literal(struct buf *out, const char *s, size_t n)
{
	buf_printf(out, "{%zu}\r\n", n);
	buf_append(out, s, n);
}

/* What a byte needs in a quoted string: 0 nothing, Q_ESC a backslash,
 * Q_LIT a literal instead. A table: this runs for every envelope byte. */
enum { Q_ESC = 1, Q_LIT = 2 };

static const unsigned char *quote_class(void)
{
	static unsigned char tab[256];
	static int ready;

	if (!ready) {
		for (int c = 0x80; c < 256; c++)
			tab[c] = Q_LIT;
		tab[0] = tab['\r'] = tab['\n'] = Q_LIT;
		tab['"'] = tab['\\'] = Q_ESC;
		ready = 1;
	}
	return tab;
}

/* s[0..n) between quotes, each '"' and '\\' escaped when esc (their count)
 * is not 0: written in place, this runs for every string of every envelope. */
static void put_quoted(struct buf *out, const char *s, size_t n, size_t esc)
{
	buf_reserve(out, n + esc + 2);
	char *d = out->data + out->len;
	*d++ = '"';
	if (!esc) {
		memcpy(d, s, n);
		d += n;
	} else {
		for (size_t i = 0; i < n; i++) {
			if (s[i] == '"' || s[i] == '\\')
				*d++ = '\\';
			*d++ = s[i];
		}
	}
	*d++ = '"';
	*d = '\0';
	out->len = (size_t)(d - out->data);
}

void imap_put_string(struct buf *out, const char *s, size_t n)
{
	const unsigned char *cls = quote_class();
	size_t esc = 0;
	unsigned any = 0;

	if (n > QUOTED_MAX)
		return put_literal(out, s, n);
	for (size_t i = 0; i < n; i++)
		any |= cls[(unsigned char)s[i]];
	if (any & Q_LIT)
		return put_literal(out, s, n);
	for (size_t i = 0; any && i < n; i++)
		esc += cls[(unsigned char)s[i]] == Q_ESC;
	if (esc > QUOTED_MAX_ESCAPES)
		return put_literal(out, s, n);
	put_quoted(out, s, n, esc);
}

void imap_put_nstring_n(struct buf *out, const char *s, size_t n)
{
	if (!s)
		buf_append(out, "NIL", 3);
	else
		imap_put_string(out, s, n);
}

void imap_put_nstring(struct buf *out, const char *s)
{
	imap_put_nstring_n(out, s, s ? strlen(s) : 0);
}

static int is_atom_char(unsigned char c)
{
	return c > 0x20 && c < 0x7f && !strchr("(){%*\"\\", c);
}

/* See imap_fmt.h. */
void imap_put_seqset(struct buf *out, const uint32_t *nums, size_t n)
{
	for (size_t i = 0; i < n;) {
		size_t j = i;

		while (j + 1 < n && nums[j + 1] == nums[j] + 1)
			j++;
		buf_printf(out, "%s%u", i ? "," : "", nums[i]);
		if (j > i)
			buf_printf(out, ":%u", nums[j]);
		i = j + 1;
	}
}

void imap_put_astring(struct buf *out, const char *s)
{
	size_t n = strlen(s);
	int atom = n > 0 && strcasecmp(s, "NIL") != 0;

	for (size_t i = 0; atom && i < n; i++)
		atom = is_atom_char((unsigned char)s[i]);
	if (atom)
		buf_append(out, s, n);
	else
		imap_put_string(out, s, n);
}

/* Subjects and display names, as Dovecot writes them: runs of white space
 * become one space and the ends are trimmed; a string that needed any
 * change (a folded header counts), or holds quotes, backslashes or 8-bit
 * bytes, goes as a literal. */
static void put_for_humans(struct buf *out, const char *s, int folded)
{
	size_t n, i;
	int lwsp = 1, modify = folded;
	struct buf t;

	if (!s) {
		buf_append(out, "NIL", 3);
		return;
	}
	n = strlen(s);
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c == ' ' || c == '\t' || c == '\r' || c == '\n') {
			if (c != ' ' || lwsp)
				modify = 1;
			lwsp = 1;
		} else {
			if (c == '"' || c == '\\' || c >= 0x80)
				modify = 1;
			lwsp = 0;
		}
	}
	if (lwsp && n)
		modify = 1;
	if (!modify) {
		/* it holds nothing a quoted string must escape or avoid */
		if (n <= QUOTED_MAX)
			put_quoted(out, s, n, 0);
		else
			put_literal(out, s, n);
		return;
	}
	buf_init(&t);
	lwsp = 1;
	for (i = 0; i < n; i++) {
		char c = s[i];
		if (c == ' ' || c == '\t' || c == '\r' || c == '\n') {
			if (!lwsp)
				buf_putc(&t, ' ');
			lwsp = 1;
		} else {
			buf_putc(&t, c);
			lwsp = 0;
		}
	}
	if (t.len && t.data[t.len - 1] == ' ')
		t.len--;
	if (!t.len)
		buf_append(out, "\"\"", 2);
	else
		put_literal(out, t.data, t.len);
	buf_free(&t);
}

static void put_addresses(struct buf *out, const struct address *a)
{
	if (!a) {
		buf_append(out, "NIL", 3);
		return;
	}
	buf_putc(out, '(');
	for (; a; a = a->next) {
		buf_putc(out, '(');
		put_for_humans(out, a->personal, 0);
		buf_putc(out, ' ');
		imap_put_nstring(out, a->adl);
		buf_putc(out, ' ');
		imap_put_nstring(out, a->mailbox);
		buf_putc(out, ' ');
		imap_put_nstring(out, a->host);
		buf_putc(out, ')');
	}
	buf_putc(out, ')');
}

void imap_put_envelope(struct buf *out, const struct envelope *env)
{
	static const struct envelope none;

	if (!env)
		env = &none;
	buf_putc(out, '(');
	imap_put_nstring(out, env->date);
	buf_putc(out, ' ');
	put_for_humans(out, env->subject, env->subject_folded);
	buf_putc(out, ' ');
	/* rfc822_parse already defaulted sender and reply-to to from */
	put_addresses(out, env->from);
	buf_putc(out, ' ');
	put_addresses(out, env->sender);
	buf_putc(out, ' ');
	put_addresses(out, env->reply_to);
	buf_putc(out, ' ');
	put_addresses(out, env->to);
	buf_putc(out, ' ');
	put_addresses(out, env->cc);
	buf_putc(out, ' ');
	put_addresses(out, env->bcc);
	buf_putc(out, ' ');
	imap_put_nstring(out, env->in_reply_to);
	buf_putc(out, ' ');
	imap_put_nstring(out, env->message_id);
	buf_putc(out, ')');
}

static void put_params(struct buf *out, const struct param *p)
{
	if (!p) {
		buf_append(out, "NIL", 3);
		return;
	}
	buf_putc(out, '(');
	for (const struct param *q = p; q; q = q->next) {
		if (q != p)
			buf_putc(out, ' ');
		imap_put_string(out, q->attr, strlen(q->attr));
		buf_putc(out, ' ');
		imap_put_string(out, q->value, strlen(q->value));
	}
	buf_putc(out, ')');
}

/* body-ext-1part / body-ext-mpart after md5 or params: dsp lang loc */
static void put_ext_tail(struct buf *out, const struct body *b)
{
	buf_putc(out, ' ');
	if (b->disposition) {
		buf_putc(out, '(');
		imap_put_nstring(out, b->disposition);
		buf_putc(out, ' ');
		put_params(out, b->disp_params);
		buf_putc(out, ')');
	} else {
		buf_append(out, "NIL", 3);
	}
	buf_putc(out, ' ');
	if (b->language) {
		buf_putc(out, '(');
		for (char **l = b->language; *l; l++) {
			if (l != b->language)
				buf_putc(out, ' ');
			imap_put_nstring(out, *l);
		}
		buf_putc(out, ')');
	} else {
		buf_append(out, "NIL", 3);
	}
	buf_putc(out, ' ');
	imap_put_nstring(out, b->location);
}

static int is_type(const struct body *b, const char *type)
{
	return b->type && !strcmp(b->type, type);
}

static int is_message(const struct body *b)
{
	return is_type(b, "MESSAGE") && b->subtype &&
	       (!strcmp(b->subtype, "RFC822") || !strcmp(b->subtype, "GLOBAL"));
}

static void put_part(struct buf *out, const struct body *b, int ext);

/* RFC 3501 needs at least one part; like Dovecot, an empty multipart gets
 * an empty text part. */
static void put_empty_part(struct buf *out, int ext)
{
	buf_puts(out, "(\"TEXT\" \"PLAIN\" (\"CHARSET\" \"US-ASCII\") NIL NIL \"7BIT\" 0 0");
	buf_puts(out, ext ? " NIL NIL NIL NIL)" : ")");
}

static void put_multipart(struct buf *out, const struct body *b, int ext)
{
	buf_putc(out, '(');
	if (!b->parts)
		put_empty_part(out, ext);
	for (const struct body *k = b->parts; k; k = k->next)
		put_part(out, k, ext);
	buf_putc(out, ' ');
	imap_put_nstring(out, b->subtype ? b->subtype : "");
	if (ext) {
		buf_putc(out, ' ');
		put_params(out, b->params);
		put_ext_tail(out, b);
	}
	buf_putc(out, ')');
}

static void put_part(struct buf *out, const struct body *b, int ext)
{
	if (is_type(b, "MULTIPART")) {
		put_multipart(out, b, ext);
		return;
	}
	buf_putc(out, '(');
	imap_put_nstring(out, b->type ? b->type : "");
	buf_putc(out, ' ');
	imap_put_nstring(out, b->subtype ? b->subtype : "");
	buf_putc(out, ' ');
	put_params(out, b->params);
	buf_putc(out, ' ');
	imap_put_nstring(out, b->id);
	buf_putc(out, ' ');
	imap_put_nstring(out, b->description);
	buf_putc(out, ' ');
	imap_put_nstring(out, b->encoding ? b->encoding : "7BIT");
	buf_printf(out, " %zu", b->body_len);
	if (is_message(b) && b->msg_body) {
		buf_putc(out, ' ');
		imap_put_envelope(out, b->env);
		buf_putc(out, ' ');
		put_part(out, b->msg_body, ext);
		buf_printf(out, " %u", b->lines);
	} else if (is_type(b, "TEXT")) {
		buf_printf(out, " %u", b->lines);
	}
	if (ext) {
		buf_putc(out, ' ');
		imap_put_nstring(out, b->md5);
		put_ext_tail(out, b);
	}
	buf_putc(out, ')');
}

void imap_put_body(struct buf *out, const struct body *b, int extensible)
{
	if (!b) {
		put_empty_part(out, extensible);
		return;
	}
	put_part(out, b, extensible);
}
