/* test-search.c: the search program (search.c, casemap.c) over a mailbox
 * built by hand, served by a tiny in-test driver, so the mbox driver is not
 * needed. Covers every key, nesting, sets, decoding and case folding. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "casemap.h"
#include "mail_api.h"
#include "search.h"
#include "test.h"

/* ---------- the in-test driver ---------- */

static int fetches;

static int t_fetch(struct mailbox *box, uint32_t msgno, const char **text, size_t *len,
		   struct mail_err *err)
{
	const char *t = box->msgs[msgno - 1]->drv;

	fetches++;
	*text = t;
	*len = strlen(t);
	return 0;
}

static int header_fetches;

/* A driver that can give the header alone, as the mbox driver does. */
static int t_fetch_header(struct mailbox *box, uint32_t msgno, const char **text, size_t *len,
			  struct mail_err *err)
{
	const char *t = box->msgs[msgno - 1]->drv, *e = strstr(t, "\r\n\r\n");

	header_fetches++;
	*text = t;
	*len = e ? (size_t)(e - t) + 4 : strlen(t);
	return 0;
}

static const struct driver t_driver = { .name = "test", .fetch = t_fetch };
static const struct driver t_driver_hdr = { .name = "test", .fetch = t_fetch,
					    .fetch_header = t_fetch_header };

/* ---------- building messages ---------- */

static struct pool *P;

/* A MIME part whose content is the text between markers a and b in msg. */
static struct body *part(const char *msg, const char *type, const char *subtype,
			 const char *enc, const char *charset, const char *a, const char *b)
{
	struct body *p = pool_alloc(P, sizeof *p);
	const char *s = strstr(msg, a), *e = b ? strstr(s, b) : msg + strlen(msg);

	p->type = pool_strdup(P, type);
	p->subtype = pool_strdup(P, subtype);
	p->encoding = pool_strdup(P, enc);
	if (charset) {
		p->params = pool_alloc(P, sizeof *p->params);
		p->params->attr = "CHARSET";
		p->params->value = pool_strdup(P, charset);
	}
	p->body_off = (size_t)(s - msg);
	p->body_len = (size_t)(e - s);
	return p;
}

static const char M1[] =
	"Received: from a by b; Mon, 7 Feb 1994 21:52:25 -0800\r\n"
	"Received: from relay.example by c; Mon, 7 Feb 1994 21:52:20 -0800\r\n"
	"Date: Mon, 7 Feb 1994 21:52:25 -0800\r\n"
	"From: \"Alice Smith\" <alice@example.com>\r\n"
	"To: bob@example.org\r\n"
	"Cc: carol@example.net\r\n"
	"Bcc: dave@example.edu\r\n"
	"Subject: Hello World,\r\n"
	" folded tail\r\n"
	"X-Empty:\r\n"
	"\r\n"
	"The quick brown fox jumps over the lazy dog.\r\n";

static const char M2[] =
	"Date: Tue, 1 Mar 2022 00:30:00 +0100\r\n"
	"From: =?ISO-8859-1?Q?Fran=E7ois?= <f@example.fr>\r\n"
	"To: x@example.com\r\n"
	"Subject: =?UTF-8?Q?Gr=C3=BC=C3=9Fe_aus_?=\r\n"
	" =?UTF-8?B?S8O2bG4=?=\r\n"
	"MIME-Version: 1.0\r\n"
	"Content-Type: text/plain; charset=utf-8\r\n"
	"Content-Transfer-Encoding: base64\r\n"
	"\r\n"
	"0J/RgNC40LLQtdGCINC80LjRgCEgY2Fwc2xvY2s=\r\n";   /* "Привет мир! capslock" */

static const char M3[] =
	"Date: Wed, 2 Mar 2022 23:59:59 -0500\r\n"
	"From: zed@example.com\r\n"
	"Subject: menu\r\n"
	"MIME-Version: 1.0\r\n"
	"Content-Type: text/plain; charset=iso-8859-1\r\n"
	"Content-Transfer-Encoding: quoted-printable\r\n"
	"\r\n"
	"Caf=E9 cr=E8me br=FBl=E9e, a very long=\r\n"
	"word and =C6SIR.\r\n";

static const char M4[] =
	"Date: Thu, 3 Mar 2022 10:00:00 +0000\r\n"
	"From: multi@example.com\r\n"
	"Subject: parts\r\n"
	"Content-Type: multipart/mixed; boundary=BB\r\n"
	"\r\n"
	"--BB\r\n"
	"Content-Type: text/plain\r\n"
	"\r\n"
	"first part text\r\n"
	"--BB\r\n"
	"Content-Type: application/octet-stream\r\n"
	"Content-Transfer-Encoding: base64\r\n"
	"\r\n"
	"c2VjcmV0d29yZA==\r\n"   /* "secretword" */
	"--BB\r\n"
	"Content-Type: message/rfc822\r\n"
	"\r\n"
	"Subject: =?utf-8?q?Inner_t=C3=B3pic?=\r\n"
	"From: inner@example.com\r\n"
	"\r\n"
	"nested needle\r\n"
	"--BB--\r\n";

static const char M5[] =
	"From: greek (Ellada) @ example . gr\r\n"
	"To: undisclosed: ;, \"Two\" < two @ example.gr >\r\n"
	"Subject: \xce\x9a\xce\x91\xce\x9b\xce\x97\xce\x9c\xce\x95\xce\xa1\xce\x91 "
	"\xce\x9f\xce\x94\xce\x9f\xce\xa3\r\n"                  /* ΚΑΛΗΜΕΡΑ ΟΔΟΣ */
	"\r\n"
	"\xc5\x81\xc3\xb3\x64\xc5\xba and Stra\xc3\x9f" "e \xff\xfe junk\r\n"; /* Łódź, Straße */

static struct body *m4_body(void)
{
	struct body *mp = part(M4, "MULTIPART", "MIXED", "7BIT", NULL, "--BB", NULL);
	struct body *p1 = part(M4, "TEXT", "PLAIN", "7BIT", NULL, "first part", "\r\n--BB");
	struct body *p2 = part(M4, "APPLICATION", "OCTET-STREAM", "BASE64", NULL, "c2VjcmV0", "\r\n--BB");
	struct body *p3 = part(M4, "MESSAGE", "RFC822", "7BIT", NULL, "Subject: =?utf-8?q?Inner",
			       "\r\n--BB--");
	struct body *in = part(M4, "TEXT", "PLAIN", "7BIT", NULL, "nested", "\r\n--BB--");

	mp->parts = p1;
	p1->next = p2;
	p2->next = p3;
	p3->msg_body = in;
	mp->nparts = 3;
	return mp;
}

static struct mailbox box;
static struct message msgs[5];
static struct message *msgp[5];

/* Internal dates: seconds since the epoch for a y/m/d h:m in zone tz. */
static time_t when(int y, int mo, int d, int h, int mi, int tz)
{
	struct tm tm = { .tm_year = y - 1900, .tm_mon = mo - 1, .tm_mday = d, .tm_hour = h,
			 .tm_min = mi };

	return timegm(&tm) - tz * 60;
}

static void box_setup(void)
{
	static const char *texts[5] = { M1, M2, M3, M4, M5 };

	P = pool_new();
	memset(&box, 0, sizeof box);
	box.drv = &t_driver;
	box.nmsgs = 5;
	box.msgs = msgp;
	box.keywords[0] = "$Important";
	box.keywords[1] = "Junk";
	box.nkeywords = 2;
	for (int i = 0; i < 5; i++) {
		memset(&msgs[i], 0, sizeof msgs[i]);
		msgs[i].uid = (uint32_t)(10 * (i + 1));
		msgs[i].drv = (void *)texts[i];
		msgs[i].size = strlen(texts[i]);
		msgs[i].pool = pool_new();
		msgp[i] = &msgs[i];
	}
	msgs[0].flags = MF_SEEN | MF_ANSWERED;
	msgs[1].flags = MF_FLAGGED | MF_RECENT;
	kwset_from_low(&msgs[1].keywords, 1);
	msgs[2].flags = MF_DELETED | MF_DRAFT | MF_RECENT | MF_SEEN;
	kwset_from_low(&msgs[3].keywords, 3);
	/* 23:30 on 7 Feb in -0800 is already 8 Feb in UTC */
	msgs[0].internal_date = when(1994, 2, 7, 23, 30, -480);
	msgs[0].tz_minutes = -480;
	msgs[1].internal_date = when(2022, 3, 1, 0, 0, 0);
	msgs[2].internal_date = when(2022, 3, 2, 23, 59, 0);
	msgs[3].internal_date = when(2022, 3, 3, 0, 30, 120);   /* 2 Mar in UTC */
	msgs[3].tz_minutes = 120;
	msgs[4].internal_date = when(2022, 3, 4, 12, 0, 0);
	/* hand-built structures, cached as mail_fetch_structure would leave them */
	for (int i = 0; i < 5; i++)
		msgs[i].env = pool_alloc(msgs[i].pool, sizeof *msgs[i].env);
	msgs[1].body = part(M2, "TEXT", "PLAIN", "BASE64", "utf-8", "0J/R", NULL);
	msgs[2].body = part(M3, "TEXT", "PLAIN", "QUOTED-PRINTABLE", "iso-8859-1", "Caf=", NULL);
	msgs[3].body = m4_body();
	msgs[4].body = part(M5, "TEXT", "PLAIN", "8BIT", "utf-8", "\xc5\x81", NULL);
}

static void box_teardown(void)
{
	for (int i = 0; i < 5; i++)
		pool_free(msgs[i].pool);
	pool_free(P);
}

/* ---------- building keys ---------- */

static struct search_key *K(enum search_op op)
{
	struct search_key *k = pool_alloc(P, sizeof *k);

	k->op = op;
	k->keyword = -1;
	return k;
}

static struct search_key *KF(enum search_op op, uint32_t flags)
{
	struct search_key *k = K(op);

	k->flags = flags;
	return k;
}

static struct search_key *KS(enum search_op op, const char *field, const char *str)
{
	struct search_key *k = K(op);

	k->field = field ? pool_strdup(P, field) : NULL;
	k->str = pool_strdup(P, str);
	return k;
}

static struct search_key *KD(enum search_op op, int y, int m, int d)
{
	struct search_key *k = K(op);

	k->year = y;
	k->month = m;
	k->day = d;
	k->date = when(y, m, d, 0, 0, 0);
	return k;
}

static struct search_key *KN(enum search_op op, uint64_t n)
{
	struct search_key *k = K(op);

	k->size = n;
	return k;
}

static struct search_key *KSET(enum search_op op, const char *set)
{
	struct search_key *k = K(op);

	if (numset_parse(P, set, strlen(set), &k->set))
		abort();
	return k;
}

/* AND/OR/NOT over a list of kids ended by END. */
#define END ((struct search_key *)NULL)

static struct search_key *KL(enum search_op op, ...)
{
	struct search_key *k = K(op), **tail = &k->kids, *kid;
	va_list ap;

	va_start(ap, op);
	while ((kid = va_arg(ap, struct search_key *))) {
		*tail = kid;
		tail = &kid->next;
	}
	va_end(ap);
	return k;
}

/* Run a search and render the matches as "1,3" for easy checking. */
static const char *run(const struct search_key *k)
{
	static char out[64];
	uint8_t match[5];
	struct mail_err err = { 0 };
	size_t n = 0;

	memset(match, 0xAA, sizeof match);
	if (search_run(&box, k, match, &err))
		return "error";
	out[0] = '\0';
	for (int i = 0; i < 5; i++) {
		if (match[i] > 1)
			return "unset";
		if (match[i])
			n += (size_t)snprintf(out + n, sizeof out - n, "%s%d", n ? "," : "", i + 1);
	}
	return out;
}

/* ---------- tests ---------- */

static int set_ok(const char *s)
{
	struct numset set;

	return numset_parse(P, s, strlen(s), &set) == 0;
}

static void test_numset_parse(void)
{
	struct numset set;

	CHECK(set_ok("1"));
	CHECK(set_ok("2:4"));
	CHECK(set_ok("*"));
	CHECK(set_ok("3:*"));
	CHECK(set_ok("*:3"));
	CHECK(set_ok("1,3:5,7:*,9"));
	CHECK(set_ok("4294967295"));
	CHECK(!set_ok(""));
	CHECK(!set_ok("0"));
	CHECK(!set_ok("0:3"));
	CHECK(!set_ok("1,"));
	CHECK(!set_ok(",1"));
	CHECK(!set_ok("1,,2"));
	CHECK(!set_ok("1:"));
	CHECK(!set_ok(":1"));
	CHECK(!set_ok("1:2:3"));
	CHECK(!set_ok("a"));
	CHECK(!set_ok("1 "));
	CHECK(!set_ok("-1"));
	CHECK(!set_ok("**"));
	CHECK(!set_ok("4294967296"));
	CHECK(!set_ok("99999999999999999999999"));
	/* counted, not NUL-terminated: only the first 3 bytes are the set */
	CHECK(numset_parse(P, "2:5junk", 3, &set) == 0 && set.n == 1 && set.r[0].lo == 2 &&
	      set.r[0].hi == 5);
	CHECK(numset_parse(P, "4:2", 3, &set) == 0 && set.r[0].lo == 2 && set.r[0].hi == 4);
	CHECK(numset_parse(P, "*:7", 3, &set) == 0 && set.r[0].lo == 7 &&
	      set.r[0].hi == NUMSET_STAR);
}

static void test_numset_contains(void)
{
	struct numset set;

	numset_parse(P, "2:4,9", 5, &set);
	CHECK(!numset_contains(&set, 1, 10));
	CHECK(numset_contains(&set, 2, 10) && numset_contains(&set, 4, 10));
	CHECK(!numset_contains(&set, 5, 10) && numset_contains(&set, 9, 10));
	numset_parse(P, "*", 1, &set);
	CHECK(numset_contains(&set, 7, 7) && !numset_contains(&set, 6, 7));
	numset_parse(P, "5:*", 3, &set);
	CHECK(numset_contains(&set, 3, 3));     /* "5:*" with max 3 is 3:5 */
	CHECK(!numset_contains(&set, 2, 3));
	CHECK(numset_contains(&set, 5, 9) && numset_contains(&set, 9, 9));
	CHECK(!numset_contains(&set, 4, 9));
	numset_parse(P, "*:2", 3, &set);
	CHECK(numset_contains(&set, 2, 4) && numset_contains(&set, 4, 4) &&
	      !numset_contains(&set, 1, 4));
	set.n = 0;
	CHECK(!numset_contains(&set, 1, 1));
}

static void test_flags(void)
{
	CHECK_STR(run(K(SK_ALL)), "1,2,3,4,5");
	CHECK_STR(run(KF(SK_FLAGS, MF_SEEN)), "1,3");
	CHECK_STR(run(KF(SK_FLAGS, MF_ANSWERED)), "1");
	CHECK_STR(run(KF(SK_FLAGS, MF_FLAGGED)), "2");
	CHECK_STR(run(KF(SK_FLAGS, MF_DELETED)), "3");
	CHECK_STR(run(KF(SK_FLAGS, MF_DRAFT)), "3");
	CHECK_STR(run(KF(SK_FLAGS, MF_RECENT)), "2,3");
	CHECK_STR(run(KF(SK_FLAGS, MF_SEEN | MF_DELETED)), "3");
	CHECK_STR(run(KF(SK_UNFLAGS, MF_SEEN)), "2,4,5");
	CHECK_STR(run(KF(SK_UNFLAGS, MF_ANSWERED)), "2,3,4,5");
	CHECK_STR(run(KF(SK_UNFLAGS, MF_FLAGGED)), "1,3,4,5");
	CHECK_STR(run(KF(SK_UNFLAGS, MF_DELETED)), "1,2,4,5");
	CHECK_STR(run(KF(SK_UNFLAGS, MF_DRAFT)), "1,2,4,5");
	CHECK_STR(run(K(SK_NEW)), "2");
	CHECK_STR(run(K(SK_OLD)), "1,4,5");
}

static void test_keywords(void)
{
	struct search_key *k = K(SK_FLAGS);

	k->keyword = 0;
	CHECK_STR(run(k), "2,4");
	k->keyword = 1;
	CHECK_STR(run(k), "4");
	k->keyword = -2;
	CHECK_STR(run(k), "");
	k = K(SK_UNFLAGS);
	k->keyword = 0;
	CHECK_STR(run(k), "1,3,5");
	k->keyword = 1;
	CHECK_STR(run(k), "1,2,3,5");
	k->keyword = 63;
	CHECK_STR(run(k), "1,2,3,4,5");
	k->keyword = 200;   /* out of range: never set */
	CHECK_STR(run(k), "1,2,3,4,5");
	k = KF(SK_FLAGS, MF_RECENT);
	k->keyword = 0;
	CHECK_STR(run(k), "2");
}

static void test_sets(void)
{
	CHECK_STR(run(KSET(SK_MSGNOS, "2:*")), "2,3,4,5");
	CHECK_STR(run(KSET(SK_MSGNOS, "*")), "5");
	CHECK_STR(run(KSET(SK_MSGNOS, "4:2")), "2,3,4");
	CHECK_STR(run(KSET(SK_MSGNOS, "1,3,1,3")), "1,3");
	CHECK_STR(run(KSET(SK_MSGNOS, "9:*")), "5");        /* 5:9 */
	CHECK_STR(run(KSET(SK_MSGNOS, "6,7")), "");
	CHECK_STR(run(KSET(SK_UIDS, "20:30")), "2,3");
	CHECK_STR(run(KSET(SK_UIDS, "*")), "5");
	CHECK_STR(run(KSET(SK_UIDS, "45:*")), "5");
	CHECK_STR(run(KSET(SK_UIDS, "60:*")), "5");         /* 50:60 */
	CHECK_STR(run(KSET(SK_UIDS, "1:9,11:19,31:39")), "");
	CHECK_STR(run(KSET(SK_UIDS, "40,10,25:35,11:20")), "1,2,3,4");
}

/* The matches for "size OP n", worked out independently. */
static const char *size_expect(int larger, uint64_t n)
{
	static char out[64];
	size_t len = 0;

	out[0] = '\0';
	for (int i = 0; i < 5; i++)
		if (larger ? msgs[i].size > n : msgs[i].size < n)
			len += (size_t)snprintf(out + len, sizeof out - len, "%s%d", len ? "," : "", i + 1);
	return out;
}

static void test_sizes(void)
{
	uint64_t s3 = msgs[2].size;
	char want[64];

	/* the boundary message itself is neither larger nor smaller */
	CHECK(strchr(size_expect(1, s3 - 1), '3') && !strchr(size_expect(1, s3), '3'));
	CHECK(strchr(size_expect(0, s3 + 1), '3') && !strchr(size_expect(0, s3), '3'));
	for (int d = -1; d <= 1; d++) {
		str_copy(want, size_expect(1, s3 + (uint64_t)d), sizeof want);
		CHECK_STR(run(KN(SK_LARGER, s3 + (uint64_t)d)), want);
		str_copy(want, size_expect(0, s3 + (uint64_t)d), sizeof want);
		CHECK_STR(run(KN(SK_SMALLER, s3 + (uint64_t)d)), want);
	}
	CHECK_STR(run(KN(SK_SMALLER, 0)), "");
	CHECK_STR(run(KN(SK_LARGER, 0)), "1,2,3,4,5");
	CHECK_STR(run(KN(SK_LARGER, UINT64_MAX)), "");
}

/* Internal dates compare the calendar day in the message's own zone. */
static void test_internal_dates(void)
{
	CHECK_STR(run(KD(SK_ON, 1994, 2, 7)), "1");
	CHECK_STR(run(KD(SK_ON, 1994, 2, 8)), "");
	CHECK_STR(run(KD(SK_BEFORE, 1994, 2, 8)), "1");
	CHECK_STR(run(KD(SK_BEFORE, 1994, 2, 7)), "");
	CHECK_STR(run(KD(SK_SINCE, 1994, 2, 7)), "1,2,3,4,5");
	CHECK_STR(run(KD(SK_SINCE, 2022, 3, 2)), "3,4,5");
	CHECK_STR(run(KD(SK_ON, 2022, 3, 2)), "3");
	CHECK_STR(run(KD(SK_ON, 2022, 3, 3)), "4");   /* 2 Mar 22:30 UTC, 3 Mar at +0200 */
	CHECK_STR(run(KD(SK_BEFORE, 2022, 3, 3)), "1,2,3");
	CHECK_STR(run(KD(SK_SINCE, 2022, 3, 5)), "");
	CHECK_STR(run(KD(SK_BEFORE, 1970, 1, 1)), "");
	CHECK_STR(run(KD(SK_SINCE, 1900, 1, 1)), "1,2,3,4,5");
	CHECK_STR(run(KD(SK_ON, 2022, 3, 1)), "2");
}

/* OLDER n / YOUNGER n (RFC 5032): the internal date against now less n
 * seconds, to the second; OLDER includes the instant itself, which stays
 * true however much later the search runs. */
static void test_within(void)
{
	static const time_t ago[5] = {10, 100, 1000, 10000, 100000};
	static const struct {
		enum search_op op;
		uint32_t seconds;
		const char *want;
	} cases[] = {
		{SK_OLDER, 1000, "3,4,5"}, {SK_OLDER, 1, "1,2,3,4,5"}, {SK_OLDER, 200000, ""},
		{SK_YOUNGER, 1500, "1,2,3"}, {SK_YOUNGER, 50, "1"}, {SK_YOUNGER, 5, ""},
	};
	time_t saved[5], now = time(NULL);

	for (int i = 0; i < 5; i++) {
		saved[i] = msgs[i].internal_date;
		msgs[i].internal_date = now - ago[i];
	}
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		struct search_key *k = K(cases[i].op);

		k->seconds = cases[i].seconds;
		CHECK_STR(run(k), cases[i].want);
	}
	for (int i = 0; i < 5; i++)
		msgs[i].internal_date = saved[i];
}

/* Sent dates use the Date: header's own calendar day; message 5 has no
 * Date: and counts as sent on 1 January 1970 (Dovecot does the same). */
static void test_sent_dates(void)
{
	CHECK_STR(run(KD(SK_SENTON, 1994, 2, 7)), "1");       /* 8 Feb in UTC */
	CHECK_STR(run(KD(SK_SENTON, 2022, 3, 1)), "2");       /* 28 Feb in UTC */
	CHECK_STR(run(KD(SK_SENTON, 2022, 3, 2)), "3");       /* 3 Mar in UTC */
	CHECK_STR(run(KD(SK_SENTBEFORE, 2022, 3, 2)), "1,2,5");
	CHECK_STR(run(KD(SK_SENTSINCE, 2022, 3, 2)), "3,4");
	CHECK_STR(run(KD(SK_SENTSINCE, 2022, 3, 4)), "");
	CHECK_STR(run(KD(SK_SENTBEFORE, 2100, 1, 1)), "1,2,3,4,5");
	CHECK_STR(run(KD(SK_SENTON, 1970, 1, 1)), "5");
	CHECK_STR(run(KL(SK_NOT, KD(SK_SENTSINCE, 1971, 1, 1), END)), "5");
}

static void test_header(void)
{
	CHECK_STR(run(KS(SK_HEADER, "Subject", "hello")), "1");
	CHECK_STR(run(KS(SK_HEADER, "subject", "WORLD, folded")), "1");   /* unfolded */
	CHECK_STR(run(KS(SK_HEADER, "From", "alice smith")), "1");
	CHECK_STR(run(KS(SK_HEADER, "From", "@EXAMPLE.COM")), "1,3,4");
	CHECK_STR(run(KS(SK_HEADER, "To", "bob@")), "1");
	CHECK_STR(run(KS(SK_HEADER, "Cc", "carol")), "1");
	CHECK_STR(run(KS(SK_HEADER, "Bcc", "dave")), "1");
	CHECK_STR(run(KS(SK_HEADER, "Bcc", "carol")), "");
	/* the string is matched in the value only, never in the field name */
	CHECK_STR(run(KS(SK_HEADER, "To", "to")), "");
	/* every instance of a repeated field is searched */
	CHECK_STR(run(KS(SK_HEADER, "Received", "relay.example")), "1");
	/* empty string: the field is present */
	CHECK_STR(run(KS(SK_HEADER, "X-Empty", "")), "1");
	CHECK_STR(run(KS(SK_HEADER, "Date", "")), "1,2,3,4");
	CHECK_STR(run(KS(SK_HEADER, "X-Missing", "")), "");
	CHECK_STR(run(KS(SK_HEADER, "X-Missing", "x")), "");
	/* a field name that is a prefix of another is not that field */
	CHECK_STR(run(KS(SK_HEADER, "Sub", "")), "");
	CHECK_STR(run(KS(SK_HEADER, "Content-Type", "CHARSET=ISO")), "3");
	/* the header search never reads bodies */
	CHECK_STR(run(KS(SK_HEADER, "Subject", "quick")), "");
}

/* FROM/TO/CC/BCC: the address as a user writes it matches through comments
 * and spaces between its parts; HEADER From keeps to the raw text. */
static void test_address_keys(void)
{
	struct search_key *k = KS(SK_HEADER, "From", "greek@example.gr");

	CHECK_STR(run(k), "");
	k->address = 1;
	CHECK_STR(run(k), "5");
	k = KS(SK_HEADER, "From", "Ellada");
	k->address = 1;
	CHECK_STR(run(k), "5");   /* the written text still matches */
	k = KS(SK_HEADER, "To", "two@example.gr");
	k->address = 1;
	CHECK_STR(run(k), "5");   /* after an empty group */
	k = KS(SK_HEADER, "To", "undisclosed@");
	k->address = 1;
	CHECK_STR(run(k), "");    /* a group name is no address */
	k = KS(SK_HEADER, "From", "alice@example.com");
	k->address = 1;
	CHECK_STR(run(k), "1");
	/* HEADER From and FROM in one program keep their own semantics */
	struct search_key *raw = KS(SK_HEADER, "From", "greek@example.gr");
	struct search_key *addr = KS(SK_HEADER, "From", "greek@example.gr");
	addr->address = 1;
	CHECK_STR(run(KL(SK_OR, raw, addr, NULL)), "5");
	raw = KS(SK_HEADER, "From", "greek@example.gr");
	addr = KS(SK_HEADER, "From", "greek@example.gr");
	addr->address = 1;
	CHECK_STR(run(KL(SK_AND, raw, addr, NULL)), "");
}

static void test_encoded_words(void)
{
	CHECK_STR(run(KS(SK_HEADER, "Subject", "grüße aus köln")), "2");
	CHECK_STR(run(KS(SK_HEADER, "Subject", "GRÜSSE")), "");     /* no full folding */
	CHECK_STR(run(KS(SK_HEADER, "Subject", "GRÜẞE")), "2");     /* capital sharp s */
	CHECK_STR(run(KS(SK_HEADER, "Subject", "=?UTF-8")), "");
	CHECK_STR(run(KS(SK_HEADER, "From", "FRANÇOIS")), "2");
	CHECK_STR(run(KS(SK_HEADER, "From", "<f@example.fr>")), "2");
	CHECK_STR(run(KS(SK_TEXT, NULL, "aus Köln")), "2");
	/* raw UTF-8 in a header, Greek with final sigma */
	CHECK_STR(run(KS(SK_HEADER, "Subject", "καλημερα")), "5");
	CHECK_STR(run(KS(SK_HEADER, "Subject", "οδος")), "5");
	CHECK_STR(run(KS(SK_HEADER, "Subject", "ΟΔΟς")), "5");
}

static void test_body(void)
{
	CHECK_STR(run(KS(SK_BODY, NULL, "LAZY DOG")), "1");
	CHECK_STR(run(KS(SK_BODY, NULL, "hello")), "");             /* header only */
	/* base64, UTF-8, Cyrillic case folding */
	CHECK_STR(run(KS(SK_BODY, NULL, "ПРИВЕТ МИР")), "2");
	CHECK_STR(run(KS(SK_BODY, NULL, "CAPSLOCK")), "2");
	CHECK_STR(run(KS(SK_BODY, NULL, "0J/R")), "");              /* not the encoded form */
	/* quoted-printable ISO-8859-1 with a soft line break */
	CHECK_STR(run(KS(SK_BODY, NULL, "CAFÉ CRÈME BRÛLÉE")), "3");
	CHECK_STR(run(KS(SK_BODY, NULL, "longword")), "3");
	CHECK_STR(run(KS(SK_BODY, NULL, "æsir")), "3");
	CHECK_STR(run(KS(SK_BODY, NULL, "caf=e9")), "");
	/* multipart: text parts yes, attachments no, attached messages yes */
	CHECK_STR(run(KS(SK_BODY, NULL, "first part")), "4");
	CHECK_STR(run(KS(SK_BODY, NULL, "secretword")), "");
	CHECK_STR(run(KS(SK_BODY, NULL, "NESTED needle")), "4");
	CHECK_STR(run(KS(SK_BODY, NULL, "inner TÓPIC")), "4");
	CHECK_STR(run(KS(SK_BODY, NULL, "inner@example")), "4");
	/* a match never spans two parts */
	CHECK_STR(run(KS(SK_BODY, NULL, "text\r\nSubject")), "");
	/* Latin Extended, invalid bytes tolerated */
	CHECK_STR(run(KS(SK_BODY, NULL, "łÓdŹ")), "5");
	CHECK_STR(run(KS(SK_BODY, NULL, "STRAßE")), "5");
	CHECK_STR(run(KS(SK_BODY, NULL, "\xff\xfe junk")), "5");
	CHECK_STR(run(KS(SK_BODY, NULL, "junk\r\n")), "5");
	CHECK_STR(run(KS(SK_BODY, NULL, "")), "1,2,3,4,5");
}

static void test_text(void)
{
	CHECK_STR(run(KS(SK_TEXT, NULL, "hello world")), "1");      /* header */
	CHECK_STR(run(KS(SK_TEXT, NULL, "quick brown")), "1");      /* body */
	CHECK_STR(run(KS(SK_TEXT, NULL, "subject:")), "1,2,3,4,5"); /* field names too */
	CHECK_STR(run(KS(SK_TEXT, NULL, "привет")), "2");
	CHECK_STR(run(KS(SK_TEXT, NULL, "NEEDLE")), "4");
	CHECK_STR(run(KS(SK_TEXT, NULL, "secretword")), "");
	CHECK_STR(run(KS(SK_TEXT, NULL, "no such text anywhere")), "");
	CHECK_STR(run(KS(SK_TEXT, NULL, "")), "1,2,3,4,5");
}

static void test_nesting(void)
{
	/* top-level siblings are ANDed */
	struct search_key *a = KF(SK_FLAGS, MF_RECENT);

	a->next = KF(SK_UNFLAGS, MF_SEEN);
	CHECK_STR(run(a), "2");
	CHECK_STR(run(KL(SK_AND, KF(SK_FLAGS, MF_SEEN), KS(SK_BODY, NULL, "e"), END)), "1,3");
	CHECK_STR(run(KL(SK_OR, KF(SK_FLAGS, MF_ANSWERED), KS(SK_BODY, NULL, "needle"), END)),
		  "1,4");
	CHECK_STR(run(KL(SK_NOT, KF(SK_FLAGS, MF_RECENT), END)), "1,4,5");
	CHECK_STR(run(KL(SK_NOT, KL(SK_NOT, KSET(SK_MSGNOS, "2"), END), END)), "2");
	CHECK_STR(run(KL(SK_OR,
			 KL(SK_AND, KSET(SK_UIDS, "10:30"), KL(SK_NOT, KF(SK_FLAGS, MF_SEEN), END),
			    END),
			 KL(SK_OR, KS(SK_HEADER, "Subject", "parts"), KD(SK_SINCE, 2022, 3, 4), END),
			 END)),
		  "2,4,5");
	CHECK_STR(run(KL(SK_NOT, KL(SK_OR, KS(SK_TEXT, NULL, "fox"), KS(SK_TEXT, NULL, "menu"),
				    END), END)),
		  "2,4,5");
	CHECK_STR(run(KL(SK_AND, END)), "1,2,3,4,5");
	CHECK_STR(run(KL(SK_OR, END)), "");
	CHECK_STR(run(KL(SK_AND, KS(SK_BODY, NULL, "x"), KSET(SK_MSGNOS, "1"), KN(SK_LARGER, 1),
			 KF(SK_FLAGS, MF_SEEN), END)),
		  "1");
}

/* Keys on flags, sets, sizes and internal dates never touch message text,
 * and a message's text is fetched once however many keys read it. */
static void test_fetch_avoided(void)
{
	fetches = 0;
	run(KL(SK_OR, KF(SK_FLAGS, MF_SEEN),
	       KL(SK_AND, KSET(SK_UIDS, "1:*"), KN(SK_LARGER, 10), KD(SK_SINCE, 2000, 1, 1),
		  K(SK_NEW), END),
	       END));
	CHECK(fetches == 0);
	/* the cheap key decides first, so only message 1 is read */
	fetches = 0;
	CHECK_STR(run(KL(SK_AND, KS(SK_TEXT, NULL, "zzz"), KF(SK_FLAGS, MF_ANSWERED), END)), "");
	CHECK(fetches == 1);
	fetches = 0;
	run(KL(SK_AND, KS(SK_HEADER, "From", "a"), KS(SK_HEADER, "from", "e"),
	       KD(SK_SENTSINCE, 1990, 1, 1), END));
	CHECK(fetches == 5);
	/* where the driver gives headers alone, header keys read no body */
	box.drv = &t_driver_hdr;
	fetches = header_fetches = 0;
	char *want = xstrdup(run(KS(SK_HEADER, "From", "a")));
	CHECK(fetches == 0 && header_fetches == 5);
	box.drv = &t_driver;
	CHECK_STR(run(KS(SK_HEADER, "From", "a")), want);
	free(want);
}

static void test_casemap(void)
{
	uint32_t pre[8];
	size_t n;
	int bad = 0;

	CHECK(casemap_fold('A') == 'a' && casemap_fold('z') == 'z');
	CHECK(casemap_fold(0xC9) == 0xE9);       /* É */
	CHECK(casemap_fold(0x178) == 0xFF);      /* Ÿ */
	CHECK(casemap_fold(0x3A3) == 0x3C3 && casemap_fold(0x3C2) == 0x3C3);
	CHECK(casemap_fold(0x416) == 0x436);     /* Ж */
	CHECK(casemap_fold(0x401) == 0x451);     /* Ё */
	CHECK(casemap_fold(0x1E9E) == 0xDF);
	CHECK(casemap_fold(0x212A) == 'k');
	CHECK(casemap_fold(0xFF21) == 0xFF41);
	CHECK(casemap_fold(0x10400) == 0x10428);
	CHECK(casemap_fold(0x4E00) == 0x4E00);
	/* folding is idempotent */
	for (uint32_t c = 0; c <= CASEMAP_MAX + 16; c++)
		bad += casemap_fold(casemap_fold(c)) != casemap_fold(c);
	CHECK(bad == 0);
	n = casemap_preimages('k', pre, 8);
	CHECK(n == 3);
	n = casemap_preimages(0x3C3, pre, 8);    /* σ Σ ς */
	CHECK(n == 3);
	n = casemap_preimages('A', pre, 8);      /* not a folded form */
	CHECK(n == 0);
	n = casemap_preimages(0x4E00, pre, 8);
	CHECK(n == 1 && pre[0] == 0x4E00);
}

static void test_decode(void)
{
	const unsigned char s[] = "a\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\xc3\x28\xed\xa0\x80\xc0\xaf";
	const unsigned char *p = s, *end = s + sizeof s - 1;
	uint32_t want[] = { 'a', 0xE9, 0x20AC, 0x1F600, 0xDCC3, '(', 0xDCED, 0xDCA0, 0xDC80,
			    0xDCC0, 0xDCAF };
	size_t i = 0, adv;

	while (p < end && i < ARRAY_SIZE(want)) {
		CHECK(casemap_decode(p, end, &adv) == want[i]);
		p += adv;
		i++;
	}
	CHECK(p == end && i == ARRAY_SIZE(want));
	/* truncated sequence at the end of the buffer */
	CHECK(casemap_decode(s + 1, s + 2, &adv) == 0xDCC3 && adv == 1);
}

static int find(const char *hay, const char *needle)
{
	struct casemap_needle nd;

	casemap_needle_init(P, needle, &nd);
	return casemap_find(&nd, hay, strlen(hay));
}

static void test_find(void)
{
	CHECK(find("", ""));
	CHECK(find("abc", ""));
	CHECK(!find("", "a"));
	CHECK(find("Hello", "hELLO"));
	CHECK(find("xxHELLO", "llo"));
	CHECK(!find("HELL", "hello"));
	CHECK(find("a\xe2\x84\xaaz", "AKZ"));                        /* Kelvin sign */
	/* Ёлка / ёЛКА, ΣΟΦΙΑ / σοφ */
	CHECK(find("\xd0\x81\xd0\xbb\xd0\xba\xd0\xb0", "\xd1\x91\xd0\x9b\xd0\x9a\xd0\x90"));
	CHECK(find("\xce\xa3\xce\x9f\xce\xa6\xce\x99\xce\x91", "\xcf\x83\xce\xbf\xcf\x86"));
	CHECK(find("x\xff\xfey", "\xff\xfeY"));
	CHECK(!find("x\xff\xfey", "\xfe\xff"));
	/* the anchor may be anywhere in the needle: try them all near the edges */
	CHECK(find("qzj", "QZJ") && find("qzjqzj", "JQZ") && !find("qzjqz", "zjqzj"));
	CHECK(find("ab\xc3\xa9", "B\xc3\x89") && !find("ab\xc3", "B\xc3\xa9"));
}

/* Matching edge cases through a message whose body is the haystack. */
static const char *body_run(const char *body, const char *needle)
{
	static char text[512];

	snprintf(text, sizeof text, "Subject: x\r\n\r\n%s", body);
	msgs[0].drv = text;
	msgs[0].body = NULL;
	return run(KL(SK_AND, KSET(SK_MSGNOS, "1"), KS(SK_BODY, NULL, needle), END));
}

static void test_matching(void)
{
	struct body *saved = msgs[0].body;
	const void *saved_text = msgs[0].drv;

	CHECK_STR(body_run("abc", "abc"), "1");
	CHECK_STR(body_run("abc", "ABCD"), "");
	CHECK_STR(body_run("xxabc", "c"), "1");
	CHECK_STR(body_run("cxx", "C"), "1");
	CHECK_STR(body_run("aaab", "aab"), "1");
	CHECK_STR(body_run("", "a"), "");
	CHECK_STR(body_run("\xe2\x84\xaa\xc5\xbf", "ks"), "1");      /* Kelvin sign, long s */
	CHECK_STR(body_run("KISS", "\xe2\x84\xaaiss"), "1");
	CHECK_STR(body_run("\xc3\x89t\xc3\xa9", "\xc3\xa9T\xc3\x89"), "1");
	CHECK_STR(body_run("\xc3\x89t\xc3", "\xc3\xa9t\xc3\xa9"), "");  /* truncated */
	CHECK_STR(body_run("x\xc3", "\xc3"), "1");                       /* bad bytes match */
	CHECK_STR(body_run("\xc3\xa9", "\xc3"), "");                     /* not inside a char */
	CHECK_STR(body_run("\xce\x98\xcf\x91", "\xce\xb8\xce\xb8"), "1"); /* Θ ϑ = θ θ */
	CHECK_STR(body_run("Straße", "STRASSE"), "");
	CHECK_STR(body_run("日本語のテキスト", "のテ"), "1");
	CHECK_STR(body_run("𐐀𐐁", "𐐨𐐩"), "1");                         /* Deseret */
	CHECK_STR(body_run("ﬃ", "ffi"), "");                             /* no decomposition */
	msgs[0].body = saved;
	msgs[0].drv = (void *)saved_text;
}

int main(void)
{
	box_setup();
	RUN(test_numset_parse);
	RUN(test_numset_contains);
	RUN(test_flags);
	RUN(test_keywords);
	RUN(test_sets);
	RUN(test_sizes);
	RUN(test_internal_dates);
	RUN(test_within);
	RUN(test_sent_dates);
	RUN(test_header);
	RUN(test_address_keys);
	RUN(test_encoded_words);
	RUN(test_body);
	RUN(test_text);
	/* again, with the structures from the real MIME parser */
	for (int i = 0; i < 5; i++) {
		msgs[i].body = NULL;
		msgs[i].env = NULL;
	}
	RUN(test_body);
	RUN(test_text);
	RUN(test_nesting);
	RUN(test_fetch_avoided);
	RUN(test_casemap);
	RUN(test_decode);
	RUN(test_find);
	RUN(test_matching);
	box_teardown();
	return test_summary("test-search");
}
