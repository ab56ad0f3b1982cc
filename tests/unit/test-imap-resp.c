/* test-imap-resp.c: the client's response parser (status responses with
 * codes, FETCH with literals and sections, nesting and length limits) and
 * the network name syntax of net.c. */
#include <string.h>

#include "imap_resp.h"
#include "net.h"
#include "test.h"

static int parse(struct pool *p, const char *s, struct imap_resp *r)
{
	const char *why;

	return imap_resp_parse(p, s, strlen(s), r, &why);
}

static void test_status_with_code(void)
{
	struct pool *p = pool_new();
	struct imap_resp r;

	CHECK(parse(p, "* OK [PERMANENTFLAGS (\\Seen \\*)] Limited", &r) == 0);
	CHECK(r.kind == IR_UNTAGGED);
	CHECK_STR(r.name, "OK");
	CHECK_STR(r.code, "PERMANENTFLAGS");
	CHECK(r.code_args && r.code_args->type == II_LIST);
	CHECK_STR(r.code_args->child->next->s, "\\*");
	CHECK_STR(r.text, "Limited");
	CHECK(parse(p, "A0004 no [TRYCREATE] no such mailbox (really", &r) == 0);
	CHECK_STR(r.tag, "A0004");
	CHECK_STR(r.name, "NO");
	CHECK_STR(r.code, "TRYCREATE");
	CHECK_STR(r.text, "no such mailbox (really");
	CHECK(parse(p, "+ ", &r) == 0 && r.kind == IR_CONTINUE);
	pool_free(p);
}

static void test_fetch_with_literal(void)
{
	struct pool *p = pool_new();
	struct imap_resp r;
	const char *s = "* 12 FETCH (UID 34 FLAGS (\\Seen $Junk) BODY[HEADER.FIELDS (A B)] "
			"{5}\r\na\0b\r\n RFC822.SIZE 44)";
	const char *why;

	CHECK(imap_resp_parse(p, s, strlen(s) + 1 + strlen(s + strlen(s) + 1), &r, &why) == 0);
	CHECK(r.has_num && r.num == 12);
	CHECK_STR(r.name, "FETCH");
	const struct imap_item *it = r.args->child;
	CHECK_STR(it->s, "UID");
	CHECK(it->next->type == II_NUMBER && it->next->num == 34);
	it = it->next->next->next->next;
	CHECK_STR(it->s, "BODY[HEADER.FIELDS (A B)]");
	CHECK(it->next->type == II_STRING && it->next->len == 5);
	CHECK(memcmp(it->next->s, "a\0b\r\n", 5) == 0);
	CHECK(it->next->next->next->num == 44);
	pool_free(p);
}

static void test_refusals(void)
{
	struct pool *p = pool_new();
	struct imap_resp r;
	char deep[200];

	CHECK(parse(p, "* 1 FETCH (BODY[] {50}\r\nshort)", &r) < 0);
	CHECK(parse(p, "* LIST (\\Noselect \"/\" foo", &r) < 0);
	CHECK(parse(p, "* 99999999999 EXISTS", &r) < 0);
	CHECK(parse(p, "*", &r) < 0);
	memset(deep, '(', sizeof deep - 1);
	deep[0] = '*';
	deep[1] = ' ';
	memcpy(deep + 2, "X ", 2);
	deep[sizeof deep - 1] = '\0';
	CHECK(parse(p, deep, &r) < 0);
	pool_free(p);
}

static void test_literal_announcement(void)
{
	uint64_t n = 0;

	CHECK(imap_resp_literal("* 1 FETCH (BODY[] {123}", 23, &n) == 1 && n == 123);
	CHECK(imap_resp_literal("A1 APPEND x {7+}", 16, &n) == 1 && n == 7);
	CHECK(imap_resp_literal("* OK {x}", 8, &n) == 0);
	CHECK(imap_resp_literal("* {99999999999999999999}", 24, &n) == -1);
}

static void test_date_time(void)
{
	struct buf b;

	buf_init(&b);
	imap_date_time(&b, 837596665, -420);
	CHECK_STR(b.data, "17-Jul-1996 02:44:25 -0700");
	buf_free(&b);
}

static void test_net_names(void)
{
	struct net_name n;
	struct mail_err err;

	CHECK(net_name_parse("{imap.example.org:993/ssl/user=ann/novalidate-cert}a/b", &n,
			     &err) == 0);
	CHECK_STR(n.host, "imap.example.org");
	CHECK(n.port == 993 && n.ssl && n.novalidate && !n.notls);
	CHECK_STR(n.user, "ann");
	CHECK_STR(n.mailbox, "a/b");
	CHECK(n.prefix_len == strlen("{imap.example.org:993/ssl/user=ann/novalidate-cert}"));
	CHECK(net_name_parse("{[::1]:143/notls/norsh}INBOX", &n, &err) == 0);
	CHECK_STR(n.host, "::1");
	CHECK(n.port == 143 && n.notls && !n.rev2);
	/* IMAP4rev2 asked for: still the imap service and its port */
	CHECK(net_name_parse("{host/imap4rev2/ssl}INBOX", &n, &err) == 0 && n.rev2 && n.ssl);
	CHECK_STR(n.service, "imap");
	CHECK(net_port(&n) == 993);
	CHECK(net_name_parse("{host/bogus}INBOX", &n, &err) < 0 && err.code == MAIL_BADNAME);
	CHECK_STR(err.text, "unknown or bad flag /bogus in {host/bogus}");
	CHECK(net_name_parse("{host:70000}INBOX", &n, &err) < 0);
	CHECK(net_name_parse("{host/service=smtp}INBOX", &n, &err) < 0 && err.code == MAIL_BADNAME);
	CHECK_STR(err.text, "no network driver for the service smtp (imap, pop3, nntp)");
	/* the service picks the driver and the well-known port */
	CHECK(net_name_parse("{host/service=POP3}INBOX", &n, &err) == 0 && net_port(&n) == 110);
	CHECK_STR(n.service, "pop3");
	CHECK(net_name_parse("{host/pop3/ssl}INBOX", &n, &err) == 0 && net_port(&n) == 995);
	CHECK(net_name_parse("{host/nntp}#news.a.b", &n, &err) == 0 && net_port(&n) == 119);
	CHECK(net_name_parse("{host/nntp/ssl}a.b", &n, &err) == 0 && net_port(&n) == 563);
	CHECK(net_name_parse("{host:1119/imap4rev1}x", &n, &err) == 0 && net_port(&n) == 1119);
	CHECK_STR(n.service, "imap");
	CHECK(net_name_parse("{host", &n, &err) < 0);
}

int main(void)
{
	RUN(test_status_with_code);
	RUN(test_fetch_with_literal);
	RUN(test_refusals);
	RUN(test_literal_announcement);
	RUN(test_date_time);
	RUN(test_net_names);
	return test_summary("test-imap-resp");
}
