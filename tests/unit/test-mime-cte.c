/* test-mime-cte.c: BINARY's decoding (mime_cte.c): which encodings are
 * known, base64 and quoted-printable as RFC 2045 asks a reader to take
 * them (well formed and broken), and a section's decoded octets. */
#include "rfc822_api.h"
#include "test.h"

#include <string.h>

/* Decode s with cte; the result as a NUL-terminated string (static). */
static const char *decoded(enum mime_cte cte, const char *s)
{
	static struct buf out;

	buf_reset(&out);
	if (mime_cte_decode(cte, s, strlen(s), &out) < 0)
		return "<unknown>";
	buf_putc(&out, '\0');
	return out.data;
}

static void encodings_by_name(void)
{
	CHECK(mime_cte_of(NULL) == MIME_CTE_IDENTITY);
	CHECK(mime_cte_of("7BIT") == MIME_CTE_IDENTITY);
	CHECK(mime_cte_of("8BIT") == MIME_CTE_IDENTITY);
	CHECK(mime_cte_of("BINARY") == MIME_CTE_IDENTITY);
	CHECK(mime_cte_of("BASE64") == MIME_CTE_BASE64);
	CHECK(mime_cte_of("QUOTED-PRINTABLE") == MIME_CTE_QP);
	CHECK(mime_cte_of("X-UUENCODE") == MIME_CTE_UNKNOWN);
	CHECK(mime_cte_of("") == MIME_CTE_UNKNOWN);
	CHECK_STR(decoded(MIME_CTE_UNKNOWN, "abc"), "<unknown>");
}

static void base64_well_formed_and_broken(void)
{
	CHECK_STR(decoded(MIME_CTE_BASE64, "aGVsbG8gd29ybGQ="), "hello world");
	CHECK_STR(decoded(MIME_CTE_BASE64, "aGVs\r\nbG8=\r\n"), "hello");
	/* characters outside the alphabet are skipped (RFC 2045 6.8) */
	CHECK_STR(decoded(MIME_CTE_BASE64, "aG*Vs!b G8"), "hello");
	/* '=' ends the data; what follows is not decoded */
	CHECK_STR(decoded(MIME_CTE_BASE64, "aGk=aGVsbG8="), "hi");
	/* a final group cut short gives the whole octets it holds */
	CHECK_STR(decoded(MIME_CTE_BASE64, "aGVsbG"), "hell");
	CHECK_STR(decoded(MIME_CTE_BASE64, "a"), "");
	CHECK_STR(decoded(MIME_CTE_BASE64, ""), "");
}

static void quoted_printable_well_formed_and_broken(void)
{
	CHECK_STR(decoded(MIME_CTE_QP, "caf=C3=A9 au lait"), "caf\xc3\xa9 au lait");
	CHECK_STR(decoded(MIME_CTE_QP, "soft=\r\nbreak"), "softbreak");
	CHECK_STR(decoded(MIME_CTE_QP, "soft= \t\r\nbreak"), "softbreak");
	CHECK_STR(decoded(MIME_CTE_QP, "lower =c3=a9"), "lower \xc3\xa9");
	/* trailing white space of a line is dropped (RFC 2045 6.7 rule 3) */
	CHECK_STR(decoded(MIME_CTE_QP, "line   \r\nnext"), "line\r\nnext");
	/* broken escapes are kept as written */
	CHECK_STR(decoded(MIME_CTE_QP, "=ZZ and =4"), "=ZZ and =4");
	CHECK_STR(decoded(MIME_CTE_QP, "end="), "end");
	CHECK_STR(decoded(MIME_CTE_QP, "under_score"), "under_score");
}

static void sections_decoded(void)
{
	static const char text[] =
		"Subject: t\r\nMIME-Version: 1.0\r\n"
		"Content-Type: multipart/mixed; boundary=b\r\n\r\n"
		"--b\r\nContent-Transfer-Encoding: base64\r\n\r\nAGhp\r\n"
		"--b\r\nContent-Transfer-Encoding: x-gzip\r\n\r\nzzz\r\n"
		"--b\r\nContent-Type: message/rfc822\r\n\r\n"
		"Subject: inner\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\na=3Db\r\n"
		"--b--\r\n";
	struct pool *pool = pool_new();
	struct envelope *env;
	struct body *root;
	struct buf scratch;
	struct section sec = {.kind = SECT_FULL, .nparts = 1, .part = {1}};
	const char *p;
	size_t n;

	buf_init(&scratch);
	rfc822_parse(pool, text, sizeof text - 1, &env, &root);
	CHECK(mime_binary_section(text, sizeof text - 1, root, &sec, &p, &n, &scratch) == 0);
	CHECK(n == 3 && !memcmp(p, "\0hi", 3));
	sec.part[0] = 2;
	CHECK(mime_binary_check(root, &sec) < 0);
	CHECK(mime_binary_section(text, sizeof text - 1, root, &sec, &p, &n, &scratch) < 0);
	sec.part[0] = 3;   /* an encapsulated message goes as it is */
	CHECK(mime_binary_check(root, &sec) == 0);
	CHECK(mime_binary_section(text, sizeof text - 1, root, &sec, &p, &n, &scratch) == 0);
	CHECK(n > 20 && !memcmp(p, "Subject: inner", 14));
	sec.nparts = 2;    /* its body, decoded */
	sec.part[1] = 1;
	CHECK(mime_binary_section(text, sizeof text - 1, root, &sec, &p, &n, &scratch) == 0);
	CHECK_MEM(p, n, "a=b");
	sec.nparts = 1;
	sec.part[0] = 7;   /* no such part */
	CHECK(mime_binary_check(root, &sec) == 0);
	CHECK(mime_binary_section(text, sizeof text - 1, root, &sec, &p, &n, &scratch) == 1);
	CHECK(n == 0);
	sec.nparts = 0;    /* the whole message, as it is */
	CHECK(mime_binary_section(text, sizeof text - 1, root, &sec, &p, &n, &scratch) == 0);
	CHECK(n == sizeof text - 1 && p == text);
	buf_free(&scratch);
	pool_free(pool);
}

int main(void)
{
	RUN(encodings_by_name);
	RUN(base64_well_formed_and_broken);
	RUN(quoted_printable_well_formed_and_broken);
	RUN(sections_decoded);
	return test_summary("test-mime-cte");
}
