/* test-mime.c: MIME structure (offsets, sizes, lines, defaults, malformed
 * multiparts, hostile nesting), every RFC 3501 BODY[section] form, and the
 * content decoding used by SEARCH. */
#include "rfc822_api.h"
#include "test.h"

#include <stdlib.h>
#include <string.h>

static struct pool *pool;
static struct buf msg, scratch;
static struct envelope *env;
static struct body *root;

/* Parse text written with \n line ends, as CRLF. */
static void parse(const char *lf_text)
{
	buf_reset(&msg);
	for (const char *p = lf_text; *p; p++) {
		if (*p == '\n')
			buf_putc(&msg, '\r');
		buf_putc(&msg, *p);
	}
	pool_clear(pool);
	rfc822_parse(pool, msg.data, msg.len, &env, &root);
}

/* Section text like "2.1.MIME" or "HEADER.FIELDS (A B)"; returns the bytes
 * with CRLF shown as \n, or "<none>" when the part does not exist. */
static const char *section(const char *spec)
{
	struct section sec = { .kind = SECT_FULL };
	const char *p = spec, *r;
	char *fields[8];
	size_t n;
	struct buf shown;

	while (*p >= '0' && *p <= '9') {
		sec.part[sec.nparts++] = (uint32_t)strtoul(p, (char **)&p, 10);
		if (*p == '.')
			p++;
	}
	if (!strncmp(p, "HEADER.FIELDS", 13)) {
		sec.kind = strncmp(p, "HEADER.FIELDS.NOT", 17) ? SECT_HEADER_FIELDS
							       : SECT_HEADER_FIELDS_NOT;
		p = strchr(p, '(') + 1;
		while (*p && *p != ')') {
			size_t l = strcspn(p, " )");
			fields[sec.nfields++] = pool_strndup(pool, p, l);
			p += l + (p[l] == ' ');
		}
		sec.fields = fields;
	} else if (!strcmp(p, "HEADER")) {
		sec.kind = SECT_HEADER;
	} else if (!strcmp(p, "TEXT")) {
		sec.kind = SECT_TEXT;
	} else if (!strcmp(p, "MIME")) {
		sec.kind = SECT_MIME;
	}
	if (mime_section(msg.data, msg.len, root, &sec, &r, &n, &scratch) != 0)
		return n == 0 ? "<none>" : "<bad: data with failure>";
	buf_init(&shown);
	for (size_t i = 0; i < n; i++)
		if (r[i] != '\r')
			buf_putc(&shown, r[i]);
	r = pool_strndup(pool, shown.data ? shown.data : "", shown.len);
	buf_free(&shown);
	return r;
}

static const char nested[] =
	"From: Alice <alice@example.com>\n"
	"Subject: nested\n"
	"Content-Type: multipart/mixed; boundary=\"outer\"\n"
	"\n"
	"preamble\n"
	"--outer\n"
	"Content-Type: text/plain; charset=utf-8\n"
	"\n"
	"Hello\n"
	"--outer\n"
	"Content-Type: message/rfc822\n"
	"\n"
	"From: Bob <bob@example.com>\n"
	"Subject: inner\n"
	"Content-Type: multipart/alternative; boundary=inner\n"
	"\n"
	"--inner\n"
	"Content-Type: text/plain\n"
	"\n"
	"plain\n"
	"--inner\n"
	"Content-Type: text/html\n"
	"\n"
	"<b>html</b>\n"
	"--inner--\n"
	"--outer\n"
	"Content-Type: message/rfc822\n"
	"\n"
	"Subject: flat\n"
	"\n"
	"flat body\n"
	"--outer--\n"
	"epilogue\n";

static void test_structure_nested(void)
{
	const struct body *p1, *p2, *p3, *in;

	parse(nested);
	CHECK_STR(root->type, "MULTIPART");
	CHECK_STR(root->subtype, "MIXED");
	CHECK(root->nparts == 3);
	CHECK(root->header_off == 0 && root->header_len == 101);
	CHECK(root->body_off == 101 && root->body_len == msg.len - 101);
	p1 = root->parts;
	p2 = p1->next;
	p3 = p2->next;
	CHECK(p3 && !p3->next);
	CHECK_STR(p1->type, "TEXT");
	CHECK_STR(p1->params->attr, "CHARSET");
	CHECK_STR(p1->params->value, "utf-8");
	CHECK(p1->body_len == 5 && p1->lines == 0);
	CHECK_STR(p2->type, "MESSAGE");
	CHECK(p2->env && p2->msg_body);
	CHECK_STR(p2->env->subject, "inner");
	CHECK_STR(p2->env->from->mailbox, "bob");
	CHECK(p2->env->sender == p2->env->from);
	in = p2->msg_body;
	CHECK_STR(in->subtype, "ALTERNATIVE");
	CHECK(in->nparts == 2);
	CHECK_STR(in->parts->next->subtype, "HTML");
	CHECK(p2->lines == 13);
	CHECK(p2->body_off + p2->body_len == in->body_off + in->body_len);
	CHECK_STR(p3->msg_body->type, "TEXT");
	CHECK(p3->msg_body->body_len == 9);
	CHECK_STR(env->subject, "nested");
}

static void test_section_top(void)
{
	parse(nested);
	CHECK(!strncmp(section(""), "From: Alice", 11));
	CHECK(strlen(section("")) == strlen(nested));
	CHECK_STR(section("HEADER"), "From: Alice <alice@example.com>\nSubject: nested\n"
				     "Content-Type: multipart/mixed; boundary=\"outer\"\n\n");
	CHECK(!strncmp(section("TEXT"), "preamble\n--outer\n", 17));
	CHECK_STR(section("HEADER.FIELDS (SUBJECT from)"),
		  "From: Alice <alice@example.com>\nSubject: nested\n\n");
	CHECK_STR(section("HEADER.FIELDS.NOT (SUBJECT FROM)"),
		  "Content-Type: multipart/mixed; boundary=\"outer\"\n\n");
	CHECK_STR(section("HEADER.FIELDS (X-NONE)"), "\n");
	CHECK_STR(section("MIME"), "<none>");
}

static void test_section_parts(void)
{
	parse(nested);
	CHECK_STR(section("1"), "Hello");
	CHECK_STR(section("1.MIME"), "Content-Type: text/plain; charset=utf-8\n\n");
	CHECK_STR(section("1.HEADER"), "<none>");
	CHECK_STR(section("1.TEXT"), "<none>");
	/* Dovecot: part 1 of a leaf is the leaf */
	CHECK_STR(section("1.1"), "Hello");
	CHECK_STR(section("1.2"), "<none>");
	CHECK_STR(section("4"), "<none>");
	CHECK_STR(section("0"), "<none>");
}

static void test_section_message_rfc822(void)
{
	parse(nested);
	CHECK(!strncmp(section("2"), "From: Bob", 9));
	CHECK(strlen(section("2")) == root->parts->next->body_len - 13);
	CHECK_STR(section("2.MIME"), "Content-Type: message/rfc822\n\n");
	CHECK_STR(section("2.HEADER"), "From: Bob <bob@example.com>\nSubject: inner\n"
				       "Content-Type: multipart/alternative; boundary=inner\n\n");
	CHECK_STR(section("2.HEADER.FIELDS (Subject)"), "Subject: inner\n\n");
	CHECK_STR(section("2.TEXT"), "--inner\nContent-Type: text/plain\n\nplain\n--inner\n"
				     "Content-Type: text/html\n\n<b>html</b>\n--inner--\n");
	CHECK_STR(section("2.1"), "plain");
	CHECK_STR(section("2.2"), "<b>html</b>");
	CHECK_STR(section("2.2.MIME"), "Content-Type: text/html\n\n");
	CHECK_STR(section("2.3"), "<none>");
	CHECK_STR(section("2.1.HEADER"), "<none>");
}

static void test_section_nonmultipart_message(void)
{
	parse(nested);
	/* part 3 holds a message whose body is not multipart: 3.1 is that body */
	CHECK_STR(section("3"), "Subject: flat\n\nflat body");
	CHECK_STR(section("3.1"), "flat body");
	CHECK_STR(section("3.1.MIME"), "Subject: flat\n\n");
	CHECK_STR(section("3.HEADER"), "Subject: flat\n\n");
	CHECK_STR(section("3.TEXT"), "flat body");
	CHECK_STR(section("3.2"), "<none>");

	parse("Subject: single\n\nonly body\n");
	CHECK_STR(section("1"), "only body\n");
	CHECK_STR(section("1.MIME"), "Subject: single\n\n");
	CHECK_STR(section("TEXT"), "only body\n");
	CHECK_STR(section("2"), "<none>");
	CHECK_STR(section("1.1"), "only body\n");
}

static void test_section_top_level_message_rfc822(void)
{
	parse("Content-Type: message/rfc822\n\nSubject: in\n\nbody\n");
	CHECK_STR(section("1"), "Subject: in\n\nbody\n");
	CHECK_STR(section("1.HEADER"), "Subject: in\n\n");
	CHECK_STR(section("1.TEXT"), "body\n");
	CHECK_STR(section("1.1"), "body\n");
	CHECK(root->lines == 3);
}

static void test_defaults(void)
{
	parse("Subject: no mime\n\nbody\n");
	CHECK_STR(root->type, "TEXT");
	CHECK_STR(root->subtype, "PLAIN");
	CHECK_STR(root->encoding, "7BIT");
	CHECK_STR(root->params->attr, "CHARSET");
	CHECK_STR(root->params->value, "US-ASCII");
	CHECK(root->body_len == 6 && root->lines == 1);

	parse("Content-Type: multipart/digest; boundary=d\n\n--d\n\nSubject: a\n\nx\n--d--\n");
	CHECK_STR(root->parts->type, "MESSAGE");
	CHECK_STR(root->parts->subtype, "RFC822");
	CHECK(root->parts->params == NULL);
	CHECK_STR(root->parts->env->subject, "a");
}

static void test_content_fields(void)
{
	parse("Content-Type: Text/HTML; CharSet=\"ISO-8859-1\" (comment); format=flowed\n"
	      "Content-Transfer-Encoding: quoted-printable\n"
	      "Content-ID: <id@x>\n"
	      "Content-Description: a\n description\n"
	      "Content-MD5: abc=\n"
	      "Content-Disposition: attachment; filename*=utf-8''%E2%82%AC.txt;\n"
	      " size=12\n"
	      "Content-Language: en-US , (c) de\n"
	      "Content-Location: http://example.com/x\n"
	      "\n"
	      "body\n");
	CHECK_STR(root->type, "TEXT");
	CHECK_STR(root->subtype, "HTML");
	CHECK_STR(root->params->attr, "CHARSET");
	CHECK_STR(root->params->value, "ISO-8859-1");
	CHECK_STR(root->params->next->attr, "FORMAT");
	CHECK(root->params->next->next == NULL);
	CHECK_STR(root->encoding, "QUOTED-PRINTABLE");
	CHECK_STR(root->id, "<id@x>");
	CHECK_STR(root->description, "a description");
	CHECK_STR(root->md5, "abc=");
	CHECK_STR(root->disposition, "ATTACHMENT");
	CHECK_STR(root->disp_params->attr, "SIZE");
	CHECK_STR(root->disp_params->next->attr, "FILENAME*");
	CHECK_STR(root->disp_params->next->value, "utf-8''%E2%82%AC.txt");
	CHECK(root->language && !strcmp(root->language[0], "en-US") &&
	      !strcmp(root->language[1], "de") && !root->language[2]);
	CHECK_STR(root->location, "http://example.com/x");
}

static void test_unusable_content_type(void)
{
	parse("Content-Type: image/\n\nx");
	CHECK_STR(root->type, "");
	CHECK_STR(root->subtype, "");
	CHECK(root->params == NULL);
	parse("Content-Type: text; format=flowed\n\nx");
	CHECK_STR(root->type, "TEXT");
	CHECK_STR(root->subtype, "");
	CHECK_STR(root->params->attr, "FORMAT");
	CHECK_STR(root->params->next->attr, "CHARSET");
}

static void test_rfc2231_continuations(void)
{
	parse("Content-Type: application/x; name*1=\"b\"; name*0=\"a\"; x*0*=us-ascii''a%20;"
	      " x*1*=b; gap*0=1; gap*2=3\n\n");
	/* merged parameters come sorted, after the plain ones */
	CHECK_STR(root->params->attr, "GAP*0");
	CHECK_STR(root->params->next->attr, "GAP*2");
	CHECK_STR(root->params->next->next->attr, "NAME");
	CHECK_STR(root->params->next->next->value, "ab");
	CHECK_STR(root->params->next->next->next->attr, "X*");
	CHECK_STR(root->params->next->next->next->value, "us-ascii''a%20b");
}

static void test_malformed_multiparts(void)
{
	/* no closing boundary: the last part runs to the end */
	parse("Content-Type: multipart/mixed; boundary=zz\n\n--zz\n\nunterminated\n");
	CHECK(root->nparts == 1);
	CHECK(root->parts->body_len == 14 && root->parts->lines == 1);

	/* no boundary parameter: no parts at all */
	parse("Content-Type: multipart/mixed\n\n--zz\n\nx\n--zz--\n");
	CHECK(root->nparts == 0 && root->parts == NULL);
	CHECK(root->body_len == 19);

	/* boundary never appears */
	parse("Content-Type: multipart/mixed; boundary=q\n\nnothing here\n");
	CHECK(root->nparts == 0);
	CHECK_STR(section("1"), "<none>");

	/* a part whose header is cut short by the next boundary */
	parse("Content-Type: multipart/mixed; boundary=q\n\n--q\nX: y\n--q\n\nb\n--q--\n");
	CHECK(root->nparts == 2);
	CHECK(root->parts->header_len == 6 && root->parts->body_len == 0);
	CHECK_STR(section("2"), "b");

	/* boundaries match as prefixes; inner ones are tried first */
	parse("Content-Type: multipart/mixed; boundary=a\n\n--a\n"
	      "Content-Type: multipart/mixed; boundary=ab\n\n--ab\n\nin\n--ab--\n--a--\n");
	CHECK(root->nparts == 1 && root->parts->nparts == 1);
	CHECK_STR(section("1.1"), "in");
	parse("Content-Type: multipart/mixed; boundary=a\n\n--a junk\n\nx\n--a--\n");
	CHECK(root->nparts == 1);
	CHECK_STR(section("1"), "x");

	/* an empty line just before a boundary belongs to the boundary */
	parse("Content-Type: multipart/mixed; boundary=q\n\n--q\nX-A: 1\n\n--q\n\n\n--q--\n");
	CHECK_STR(section("1.MIME"), "X-A: 1\n");
	CHECK_STR(section("1"), "");
	CHECK_STR(section("2.MIME"), "\n");
	CHECK_STR(section("2"), "");

	/* empty boundary parameter is no boundary */
	parse("Content-Type: multipart/mixed; boundary=\"\"\n\n--\n\nx\n");
	CHECK(root->nparts == 0);
}

static void test_bare_lf(void)
{
	static const char m[] = "Subject: lf\nContent-Type: multipart/mixed; boundary=b\n\n"
				"--b\n\none\ntwo\n--b--\n";
	struct section sec = { .nparts = 1, .part = { 1 }, .kind = SECT_FULL };
	const char *p;
	size_t n;

	rfc822_parse(pool, m, sizeof m - 1, &env, &root);
	CHECK_STR(env->subject, "lf");
	CHECK(root->nparts == 1);
	CHECK(root->parts->body_len == 7 && root->parts->lines == 1);
	CHECK(mime_section(m, sizeof m - 1, root, &sec, &p, &n, &scratch) == 0);
	CHECK_MEM(p, n, "one\ntwo");
}

static void test_hostile_nesting(void)
{
	struct buf m;
	int depth = 0;

	buf_init(&m);
	for (int i = 0; i < 2000; i++)
		buf_printf(&m, "Content-Type: multipart/mixed; boundary=b%d\r\n\r\n--b%d\r\n", i, i);
	buf_puts(&m, "\r\nleaf\r\n");
	rfc822_parse(pool, m.data, m.len, &env, &root);
	for (const struct body *b = root; b; b = b->parts)
		depth++;
	CHECK(depth > 10 && depth <= 52);

	buf_reset(&m);
	for (int i = 0; i < 100000; i++)
		buf_puts(&m, "Content-Type: message/rfc822\r\n\r\n");
	rfc822_parse(pool, m.data, m.len, &env, &root);
	depth = 0;
	for (const struct body *b = root; b; b = b->msg_body)
		depth++;
	CHECK(depth > 10 && depth <= 52);
	buf_free(&m);
}

static void test_many_parts(void)
{
	struct buf m;

	buf_init(&m);
	buf_puts(&m, "Content-Type: multipart/mixed; boundary=x\r\n\r\n");
	for (int i = 0; i < 20000; i++)
		buf_puts(&m, "--x\r\n\r\np\r\n");
	buf_puts(&m, "--x--\r\n");
	rfc822_parse(pool, m.data, m.len, &env, &root);
	CHECK(root->nparts == 20000);
	buf_free(&m);
}

/* The structure as text: every part's type, offsets, sizes and lines. */
static void shape(const struct body *b, struct buf *o, int depth)
{
	for (; b && depth < 60; b = b->next) {
		buf_printf(o, "(%s/%s h%zu+%zu b%zu+%zu l%u", b->type, b->subtype,
			   (size_t)b->header_off, (size_t)b->header_len, (size_t)b->body_off,
			   (size_t)b->body_len, (unsigned)b->lines);
		shape(b->parts, o, depth + 1);
		if (b->msg_body)
			shape(b->msg_body, o, depth + 1);
		buf_putc(o, ')');
	}
}

struct released {
	size_t last, calls, len;
	int backwards;
};

static void note_release(void *ctx, size_t upto)
{
	struct released *r = ctx;

	if (upto < r->last || upto >= r->len)
		r->backwards = 1;
	r->last = upto;
	r->calls++;
}

/* A scan that releases what it passed, a step at a time, finds the same
 * parts as one that does not, whatever the step: boundaries on a step's
 * last bytes, prefixes of boundaries, "--" lines that are not boundaries,
 * nested parts and an attached message; release points only go forward
 * and stay inside the message. */
static void test_release_steps(void)
{
	static const char *const texts[] = {
		"Content-Type: multipart/mixed; boundary=zz\n\n"
		"preamble\n--zz\nContent-Type: text/plain\n\nline one\nline two\n"
		"--zz\nContent-Type: application/pdf\nContent-Transfer-Encoding: base64\n\n"
		"QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVo=\nQUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVo=\n"
		"QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVo=\n-- not a boundary\n----\n--z\n"
		"--zz junk after it\nContent-Type: multipart/alternative; boundary=in\n\n"
		"--in\n\ninner text\n--in\nContent-Type: text/html\n\n<p>x</p>\n--in--\n"
		"--zz\nContent-Type: message/rfc822\n\nSubject: attached\n"
		"Content-Type: multipart/mixed; boundary=deep\n\n--deep\n\ndeep text\n--deep--\n"
		"--zz--\nepilogue\n",
		"Content-Type: multipart/mixed; boundary=b\n\n--b\n\n\n--b\n--b\n\nx\n--b--",
		"Content-Type: multipart/mixed; boundary=q\n\nno boundary at all in here\n",
		"Subject: plain\n\njust text\n--not multipart\n",
	};
	struct buf a, b;
	size_t saved = mime_release_step;
	int differ = 0, bad = 0, released = 0;

	buf_init(&a);
	buf_init(&b);
	for (size_t t = 0; t < sizeof texts / sizeof *texts; t++) {
		parse(texts[t]);
		buf_reset(&a);
		shape(mime_parse_structure(pool, msg.data, msg.len), &a, 0);
		for (size_t step = 16; step < 90; step++) {
			struct released r = { 0, 0, msg.len, 0 };

			mime_release_step = step;
			buf_reset(&b);
			shape(mime_parse_structure_rel(pool, msg.data, msg.len, note_release, &r), &b,
			      0);
			if (a.len != b.len || memcmp(a.data, b.data, a.len)) {
				fprintf(stderr, "text %zu step %zu:\n  %.*s\n  %.*s\n", t, step,
					(int)a.len, a.data, (int)b.len, b.data);
				differ++;
			}
			bad += r.backwards;
			released += r.calls > 0;
		}
	}
	mime_release_step = saved;
	CHECK(differ == 0);
	CHECK(bad == 0);
	CHECK(released > 0);
	buf_free(&a);
	buf_free(&b);
}

static const char *decoded(const struct body *b)
{
	struct buf out;
	const char *r;

	buf_init(&out);
	mime_decode_text(msg.data, msg.len, b, &out);
	r = pool_strndup(pool, out.data ? out.data : "", out.len);
	buf_free(&out);
	return r;
}

static void test_decode_text(void)
{
	parse("Content-Type: multipart/mixed; boundary=b\n\n"
	      "--b\nContent-Type: text/plain; charset=iso-8859-1\n"
	      "Content-Transfer-Encoding: quoted-printable\n\ncaf=E9 =\nsoft  \nx=3D1\n"
	      "--b\nContent-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: base64\n\n"
	      "Y2Fmw6kK\n"
	      "--b\nContent-Type: text/plain; charset=x-bogus\n\nraw\xe9\n"
	      "--b\nContent-Type: application/octet-stream\nContent-Transfer-Encoding: base64\n\n"
	      "AAEC\n--b--\n");
	CHECK_STR(decoded(root->parts), "caf\xc3\xa9 soft\r\nx=1");
	CHECK_STR(decoded(root->parts->next), "caf\xc3\xa9\n");
	CHECK_STR(decoded(root->parts->next->next), "raw\xe9");
	CHECK(!memcmp(decoded(root->parts->next->next->next), "\0\1\2", 3));
}

int main(void)
{
	pool = pool_new();
	buf_init(&msg);
	buf_init(&scratch);
	RUN(test_structure_nested);
	RUN(test_section_top);
	RUN(test_section_parts);
	RUN(test_section_message_rfc822);
	RUN(test_section_nonmultipart_message);
	RUN(test_section_top_level_message_rfc822);
	RUN(test_defaults);
	RUN(test_content_fields);
	RUN(test_unusable_content_type);
	RUN(test_rfc2231_continuations);
	RUN(test_malformed_multiparts);
	RUN(test_bare_lf);
	RUN(test_hostile_nesting);
	RUN(test_many_parts);
	RUN(test_release_steps);
	RUN(test_decode_text);
	buf_free(&msg);
	buf_free(&scratch);
	pool_free(pool);
	return test_summary("test-mime");
}
