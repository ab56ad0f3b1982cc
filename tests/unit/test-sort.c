/* test-sort.c: SORT (sort.c): base subject extraction, one case per rule of
 * RFC 5256 2.1, the i;unicode-casemap keys of RFC 5051, and every sort key
 * with REVERSE and ties over a hand-built mailbox served by an in-test
 * driver (whole texts only, so mail_fetch_header's fallback is used). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mail_api.h"
#include "sort.h"
#include "test.h"

/* ---------- base subject ---------- */

/* The base subject of s; *fwd (may be NULL) gets the reply/forward verdict. */
static const char *base(const char *s, int *fwd)
{
	static char out[256];
	struct buf b;
	int f;

	buf_init(&b);
	f = sort_base_subject(s, strlen(s), &b);
	snprintf(out, sizeof out, "%s", b.data ? b.data : "");
	buf_free(&b);
	if (fwd)
		*fwd = f;
	return out;
}

static void test_subject_plain(void)
{
	int fwd;

	CHECK_STR(base("Meeting notes", &fwd), "Meeting notes");
	CHECK(fwd == 0);
	CHECK_STR(base("", &fwd), "");
	CHECK(fwd == 0);
}

/* (1) encoded words become UTF-8 */
static void test_subject_step1_decoding(void)
{
	CHECK_STR(base("=?UTF-8?Q?Gr=C3=BC=C3=9Fe?= aus =?ISO-8859-1?Q?K=F6ln?=", NULL),
		  "Gr\xc3\xbc\xc3\x9f" "e aus K\xc3\xb6ln");
	/* a marker inside an encoded word is a marker all the same */
	CHECK_STR(base("=?UTF-8?B?UmU6IGhpZXI=?=", NULL), "hier");
}

/* (1) tabs and continuations become spaces, runs of spaces one */
static void test_subject_step1_whitespace(void)
{
	CHECK_STR(base("a\t\tb   c\r\n d", NULL), "a b c d");
}

/* (2) "(fwd)" and white space at the end, as often as they come */
static void test_subject_step2_trailer(void)
{
	int fwd;

	CHECK_STR(base("Report (fwd)", &fwd), "Report");
	CHECK(fwd == 1);
	CHECK_STR(base("Report (FWD)  (fwd) ", &fwd), "Report");
	CHECK(fwd == 1);
	CHECK_STR(base("Report   ", &fwd), "Report");
	CHECK(fwd == 0);
	/* only at the end */
	CHECK_STR(base("(fwd) Report", NULL), "(fwd) Report");
}

/* (3) subj-leader: re / fw / fwd, *WSP, [blob], ":" */
static void test_subject_step3_refwd(void)
{
	int fwd;

	CHECK_STR(base("Re: lunch", &fwd), "lunch");
	CHECK(fwd == 1);
	CHECK_STR(base("RE:lunch", NULL), "lunch");
	CHECK_STR(base("re  : lunch", NULL), "lunch");
	CHECK_STR(base("Fw: lunch", NULL), "lunch");
	CHECK_STR(base("FWD: lunch", NULL), "lunch");
	CHECK_STR(base("Re[2]: lunch", NULL), "lunch");
	CHECK_STR(base("Re [list]: lunch", NULL), "lunch");
	CHECK_STR(base("Re: Fwd: re: lunch", NULL), "lunch");
	/* not markers: no colon, a letter after the word */
	CHECK_STR(base("Fwd lunch", &fwd), "Fwd lunch");
	CHECK(fwd == 0);
	CHECK_STR(base("Review: lunch", &fwd), "Review: lunch");
	CHECK(fwd == 0);
	CHECK_STR(base("Re2: lunch", NULL), "Re2: lunch");
	/* leading white space is a leader too */
	CHECK_STR(base("   lunch", NULL), "lunch");
}

/* (3) blobs before a subj-refwd go with it */
static void test_subject_step3_blob_before_refwd(void)
{
	int fwd;

	CHECK_STR(base("[dev] [ann] Re: release", &fwd), "release");
	CHECK(fwd == 1);
}

/* (4) a leading blob goes when text is left behind it */
static void test_subject_step4_blob(void)
{
	int fwd;

	CHECK_STR(base("[dev] release", &fwd), "release");
	CHECK(fwd == 0);
	CHECK_STR(base("[dev]", &fwd), "[dev]");
	CHECK_STR(base("[dev] [ann]", NULL), "[ann]");
	CHECK_STR(base("[dev] (fwd)", NULL), "[dev]");
	/* BLOBCHAR is a 7-bit CHAR: a bracketed 8-bit word is no blob */
	CHECK_STR(base("[\xc3\x9c" "bung] Plan", NULL), "[\xc3\x9c" "bung] Plan");
	/* nor is a bracket that never closes */
	CHECK_STR(base("[dev release", NULL), "[dev release");
}

/* (5) steps 3 and 4 repeat until nothing changes */
static void test_subject_step5_repeat(void)
{
	CHECK_STR(base("Re: [dev] Fwd: [ann] RE: release", NULL), "release");
	CHECK_STR(base("[a] [b] [c] text", NULL), "text");
}

/* (6) "[fwd:" ... "]" around the rest, then again from step 2 */
static void test_subject_step6_fwd_wrapper(void)
{
	int fwd;

	CHECK_STR(base("[Fwd: budget]", &fwd), "budget");
	CHECK(fwd == 1);
	CHECK_STR(base("[fwd: Re: [dev] budget (fwd)]", NULL), "budget");
	CHECK_STR(base("Re: [Fwd: [Fwd: budget]]", NULL), "budget");
	/* only when it encloses everything */
	CHECK_STR(base("[fwd: budget] later", NULL), "later");
}

/* ---------- collation ---------- */

static char *key(const char *s)
{
	static char out[4][64];
	static int k;
	struct buf b;

	buf_init(&b);
	sort_collate_key(s, strlen(s), &b);
	k = (k + 1) % 4;
	snprintf(out[k], sizeof out[k], "%s", b.data ? b.data : "");
	buf_free(&b);
	return out[k];
}

static void test_collate_titlecase(void)
{
	CHECK_STR(key("hello World"), "HELLO WORLD");
	CHECK(strcmp(key("apple"), key("Banana")) < 0);
	/* titlecase, not lower case: letters sort before '_' (0x5F) */
	CHECK(strcmp(key("zebra"), key("_under")) < 0);
	CHECK_STR(key("\xcf\x82"), "\xce\xa3");        /* final sigma -> SIGMA */
	CHECK_STR(key("\xc3\x9f"), "\xc3\x9f");        /* sharp s has no simple titlecase */
}

static void test_collate_decomposition(void)
{
	/* e acute -> E + COMBINING ACUTE: it sorts after every plain E word
	 * (the mark's bytes are high) but before F, not after Z */
	CHECK_STR(key("\xc3\xa9t\xc3\xa9"), "E\xcc\x81TE\xcc\x81");
	CHECK(strcmp(key("\xc3\x89t\xc3\xa9"), key("Ezra")) > 0);
	CHECK(strcmp(key("\xc3\x89t\xc3\xa9"), key("fig")) < 0);
	/* RFC 5051's own example: U+01C4 -> U+0044 U+007A U+030C */
	CHECK_STR(key("\xc7\x84"), "Dz\xcc\x8c");
	/* compatibility decompositions count too: the fi ligature */
	CHECK_STR(key("\xef\xac\x81"), "fi");
	/* bytes that are not UTF-8 stay as they are */
	CHECK_STR(key("a\xff"), "A\xff");
}

/* ---------- SORT over a mailbox ---------- */

static int t_fetch(struct mailbox *box, uint32_t msgno, const char **text, size_t *len,
		   struct mail_err *err)
{
	*text = box->msgs[msgno - 1]->drv;
	*len = strlen(*text);
	return 0;
}

static const struct driver t_driver = { .name = "test", .fetch = t_fetch };

/* Five messages; which one wins each key is noted by its number. */
static const char *const texts[] = {
	/* 1 */
	"Date: Tue, 3 Jan 2023 10:00:00 +0000\r\n"
	"From: \"Zoe Q\" <mike@example.com>\r\n"
	"To: \"Yann\" <zed@example.org>\r\n"
	"Cc: carl@example.net\r\n"
	"Subject: Re: beta\r\n\r\nbody\r\n",
	/* 2: no Date (DATE uses the internal date), plain addresses */
	"From: alice@example.com\r\n"
	"To: bob@example.org\r\n"
	"Subject: alpha\r\n\r\nbody\r\n",
	/* 3: a Date that does not parse; encoded display name */
	"Date: sometime last week\r\n"
	"From: =?UTF-8?Q?=C3=89mile?= <zack@example.com>\r\n"
	"To: amy@example.org\r\n"
	"Cc: Dora <abe@example.net>\r\n"
	"Subject: [list] Gamma\r\n\r\nbody\r\n",
	/* 4: the same sent date as 1 in another zone; no To */
	"Date: Tue, 3 Jan 2023 11:00:00 +0100\r\n"
	"From: \"\" <bert@example.com>\r\n"
	"Subject: Fwd: BETA\r\n\r\nbody\r\n",
	/* 5: no Subject, empty From */
	"Date: Mon, 2 Jan 2023 09:00:00 +0000\r\n"
	"To: undisclosed-recipients:;\r\n\r\nbody\r\n",
};

#define NMSG 5
static struct mailbox box;
static struct message msgs[NMSG];
static struct message *msgp[NMSG];

static void box_setup(void)
{
	static const time_t internal[NMSG] = { 1700000500, 1700000100, 1700000300,
					       1700000200, 1700000200 };
	static const uint64_t sizes[NMSG] = { 500, 100, 300, 100, 200 };

	memset(&box, 0, sizeof box);
	box.drv = &t_driver;
	box.nmsgs = NMSG;
	box.msgs = msgp;
	for (int i = 0; i < NMSG; i++) {
		memset(&msgs[i], 0, sizeof msgs[i]);
		msgs[i].uid = (uint32_t)(10 * (i + 1));
		msgs[i].drv = (void *)texts[i];
		msgs[i].size = sizes[i];
		msgs[i].internal_date = internal[i];
		msgp[i] = &msgs[i];
	}
}

/* The order SORT gives for crit (one key, reverse or not) over match
 * (NULL: all), as "a b c". */
static const char *order(enum sort_key k, int reverse, const uint8_t *match)
{
	static char out[64];
	static const uint8_t all[NMSG] = { 1, 1, 1, 1, 1 };
	struct sort_crit crit = { k, reverse };
	struct mail_err err;
	uint32_t got[NMSG];
	size_t n, o = 0;

	out[0] = '\0';
	if (sort_run(&box, &crit, 1, match ? match : all, got, &n, &err) < 0)
		return "error";
	for (size_t i = 0; i < n; i++)
		o += (size_t)snprintf(out + o, sizeof out - o, "%s%u", i ? " " : "", got[i]);
	return out;
}

static void test_sort_arrival(void)
{
	box_setup();
	/* 4 and 5 arrived in the same second: mailbox order */
	CHECK_STR(order(SORT_ARRIVAL, 0, NULL), "2 4 5 3 1");
	/* REVERSE turns the key around; the tie stays in mailbox order */
	CHECK_STR(order(SORT_ARRIVAL, 1, NULL), "1 3 4 5 2");
}

static void test_sort_date(void)
{
	box_setup();
	/* 2 (no Date) and 3 (unparsable) sort by internal date (Nov 2023);
	 * 1 and 4 were sent at the same instant */
	CHECK_STR(order(SORT_DATE, 0, NULL), "5 1 4 2 3");
	CHECK_STR(order(SORT_DATE, 1, NULL), "3 2 1 4 5");
}

static void test_sort_size(void)
{
	box_setup();
	CHECK_STR(order(SORT_SIZE, 0, NULL), "2 4 5 3 1");
	CHECK_STR(order(SORT_SIZE, 1, NULL), "1 3 5 2 4");
}

static void test_sort_subject(void)
{
	box_setup();
	/* "" (5) < alpha < beta = BETA (1, 4: case and markers ignored) < Gamma */
	CHECK_STR(order(SORT_SUBJECT, 0, NULL), "5 2 1 4 3");
	CHECK_STR(order(SORT_SUBJECT, 1, NULL), "3 1 4 2 5");
}

static void test_sort_addresses(void)
{
	box_setup();
	/* the first address's mailbox: "" (5) alice bert mike zack */
	CHECK_STR(order(SORT_FROM, 0, NULL), "5 2 4 1 3");
	/* To: 4 has none (""), 5's group name, then amy bob zed */
	CHECK_STR(order(SORT_TO, 0, NULL), "4 3 2 5 1");
	/* Cc: 2, 4, 5 have none; then abe (3), carl (1) */
	CHECK_STR(order(SORT_CC, 0, NULL), "2 4 5 3 1");
	CHECK_STR(order(SORT_CC, 1, NULL), "1 3 2 4 5");
}

static void test_sort_display(void)
{
	box_setup();
	/* display names, decoded (Emile from =?UTF-8?Q?=C3=89mile?=), else the
	 * address: "" (5), alice@, bert@ (empty name), Emile, Zoe Q */
	CHECK_STR(order(SORT_DISPLAYFROM, 0, NULL), "5 2 4 3 1");
	/* "" (4), amy@, bob@, undisclosed-recipients (group), Yann */
	CHECK_STR(order(SORT_DISPLAYTO, 0, NULL), "4 3 2 5 1");
}

static void test_sort_several_keys_and_match(void)
{
	static const uint8_t some[NMSG] = { 1, 0, 1, 1, 0 };
	struct sort_crit crit[2] = { { SORT_SUBJECT, 0 }, { SORT_ARRIVAL, 0 } };
	uint32_t got[NMSG];
	size_t n;
	struct mail_err err;

	box_setup();
	/* equal subjects (1, 4) fall to the second key: 4 arrived first */
	CHECK(sort_run(&box, crit, 2, (const uint8_t[NMSG]){ 1, 1, 1, 1, 1 }, got, &n, &err) == 0);
	CHECK(n == 5 && got[0] == 5 && got[1] == 2 && got[2] == 4 && got[3] == 1 && got[4] == 3);
	/* only the selected messages */
	CHECK_STR(order(SORT_SIZE, 0, some), "4 3 1");
}

int main(void)
{
	RUN(test_subject_plain);
	RUN(test_subject_step1_decoding);
	RUN(test_subject_step1_whitespace);
	RUN(test_subject_step2_trailer);
	RUN(test_subject_step3_refwd);
	RUN(test_subject_step3_blob_before_refwd);
	RUN(test_subject_step4_blob);
	RUN(test_subject_step5_repeat);
	RUN(test_subject_step6_fwd_wrapper);
	RUN(test_collate_titlecase);
	RUN(test_collate_decomposition);
	RUN(test_sort_arrival);
	RUN(test_sort_date);
	RUN(test_sort_size);
	RUN(test_sort_subject);
	RUN(test_sort_addresses);
	RUN(test_sort_display);
	RUN(test_sort_several_keys_and_match);
	return test_summary("test-sort");
}
