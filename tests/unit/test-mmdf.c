/* test-mmdf.c: MMDF files (UW's Ctrl-A frame) through the mbox driver: a
 * file UW imap-2007f wrote, create/append/store/expunge keeping the frame,
 * the framing of odd buffers (no From line, no trailer, a window cut in a
 * mark, junk between messages), and which driver a file belongs to. The
 * mbox suites that work on files (crash, concurrency) also run on MMDF
 * files, in test-unix.c. */
#include "mail_api.h"
#include "unix_int.h"
#include "mbox_fixture.h"
#include "test.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static struct mail_session sess;

#define M MMDF_MARK

static void setup(void)
{
	fixture_session(&sess, "test-mmdf");
}

/* As UW's mailutil wrote it (copy of an mbox into #driver.mmdf/...). */
static const char uw_file[] =
	M "From MAILER-DAEMON Sun Dec  6 18:57:15 2026\n"
	"Date: 06 Dec 2026 18:57:15 +0000\n"
	"From: Mail System Internal Data <MAILER-DAEMON@vm>\n"
	"Subject: DON'T DELETE THIS MESSAGE -- FOLDER INTERNAL DATA\n"
	"Message-ID: <1796583435@vm>\n"
	"X-IMAP: 1796583435 0000000002 Work\n"
	"Status: RO\n\n"
	"This text is part of the internal format of your mail folder, and is not\n"
	"a real message.  It is created automatically by the mail system software.\n"
	"If deleted, important folder data will be lost, and it will be re-created\n"
	"with the data reset to initial values.\n" M
	M "From mmdftest@vm Mon Jan  6 10:00:00 2025 +0000\n"
	"From: alice@example.com\nSubject: one\nStatus: R\nX-Status: FA\n"
	"X-Keywords: Work               \nX-UID: 1\n\n"
	"first body\nFrom the middle\n>From quoted\n\n" M
	M "From mmdftest@vm Tue Jan  7 11:30:05 2025 -0500\n"
	"From: bob@example.com\nSubject: two\nStatus: \nX-Status: \n"
	"X-Keywords:                   \nX-UID: 2\n\nsecond body\nno final blank\n\n" M;

static void test_uw_file(void)
{
	struct mailbox *box;
	struct mail_err err = { 0 };
	struct mail_status st;

	setup();
	write_file(fixture_path(NULL, "uw"), uw_file);
	CHECK(mail_status(&sess, "uw", &st, &err) == 0);
	CHECK(st.messages == 2 && st.uidvalidity == 1796583435u && st.uidnext == 3);
	CHECK(mail_open(&sess, "uw", 0, NULL, NULL, &box, &err) == 0);
	if (!box)
		return;
	CHECK(box->nmsgs == 2 && box->uidvalidity == 1796583435u);
	CHECK(box->msgs[0]->uid == 1 && box->msgs[1]->uid == 2);
	CHECK((box->msgs[0]->flags & MF_STORABLE) == (MF_SEEN | MF_FLAGGED | MF_ANSWERED));
	CHECK(kwset_low(&box->msgs[0]->keywords) == 1 && box->nkeywords == 1 &&
	      !strcmp(box->keywords[0], "Work"));
	CHECK(box->msgs[0]->internal_date == 1736157600);
	CHECK(box->msgs[1]->internal_date == 1736267405 && box->msgs[1]->tz_minutes == -300);
	CHECK_STR(text_of(box, 1), "From: alice@example.com\r\nSubject: one\r\n\r\n"
		  "first body\r\nFrom the middle\r\n>From quoted\r\n\r\n");
	CHECK(box->msgs[0]->size == strlen(text_of(box, 1)));
	CHECK_STR(text_of(box, 2), "From: bob@example.com\r\nSubject: two\r\n\r\n"
		  "second body\r\nno final blank\r\n\r\n");
	/* a flag change rewrites nothing but the status lines, in the frame */
	CHECK(mail_store(box, 2, STORE_ADD, MF_DELETED, KW(0), &err) == 0);
	CHECK(mail_expunge(box, NULL, 0, &err) == 0 && box->nmsgs == 1);
	mail_close(box, 0, NULL);
	size_t n;
	char *d = read_file(fixture_path(NULL, "uw"), &n);
	CHECK(n > 10 && !memcmp(d, M "From MAILER-DAEMON ", 24) && !memcmp(d + n - 5, M, 5));
	CHECK(strstr(d, M M "From mmdftest@vm Mon Jan  6 10:00:00 2025 +0000\n") != NULL);
	CHECK(strstr(d, "X-IMAP: 1796583435 0000000002 Work\n") != NULL);
	CHECK(strstr(d, "\nfirst body\nFrom the middle\n>From quoted\n\n" M) != NULL);
	CHECK(strstr(d, "second body") == NULL);
	free(d);
}

static void test_create_append_store(void)
{
	struct mailbox *box;
	struct mail_err err = { 0 };
	uint32_t uid = 0;
	char *kw[] = { "Later", NULL };

	setup();
	CHECK(mail_create(&sess, "#driver.mmdf/new", &err) == 0);
	size_t n;
	char *d = read_file(fixture_path(NULL, "new"), &n);
	CHECK(d && n > 10 && !memcmp(d, M "From MAILER-DAEMON ", 24) && !memcmp(d + n - 5, M, 5));
	free(d);
	/* Ctrl-A bytes are dropped as UW drops them; nothing is quoted */
	CHECK(fixture_append(&sess, "new", "Subject: a\r\n\r\nx\001\001\001\001\r\nFrom y\r\nend",
			     MF_FLAGGED, kw, &uid, &err) == 0 && uid == 1);
	CHECK(fixture_append(&sess, "new", FIXTURE_MSG1, 0, NULL, &uid, &err) == 0 && uid == 2);
	d = read_file(fixture_path(NULL, "new"), &n);
	CHECK(strstr(d, "X-Keywords: Later ") != NULL);
	CHECK(strstr(d, "X-IMAP: ") && strstr(strstr(d, "X-IMAP: "), " Later\n"));
	CHECK(strstr(d, "X-UID: 1\n\nx\nFrom y\nend\n" M M "From alice ") != NULL);
	CHECK(!memcmp(d + n - 14, "body one\n" M, 14));
	free(d);
	CHECK(mail_open(&sess, "new", 0, NULL, NULL, &box, &err) == 0);
	if (!box)
		return;
	CHECK(box->nmsgs == 2 && box->msgs[0]->flags == (MF_FLAGGED | MF_RECENT));
	CHECK_STR(text_of(box, 1), "Subject: a\r\n\r\nx\r\nFrom y\r\nend\r\n");
	CHECK_STR(text_of(box, 2), FIXTURE_MSG1);
	CHECK(box->msgs[1]->internal_date == 1700000000);
	CHECK(mail_store(box, 2, STORE_ADD, MF_SEEN | MF_ANSWERED, KW(0), &err) == 0);
	CHECK(mail_check(box, &err) == 0);
	mail_close(box, 0, NULL);
	CHECK(contains(fixture_path(NULL, "new"), "Status: RO\nX-Status: A"));
	CHECK(contains(fixture_path(NULL, "new"), "\n\nbody one\n" M));
}

/* Frame buf whole: the messages' count, -1 if refused. */
static long frame(const char *buf, size_t len, struct parse *p)
{
	char *names[MAIL_KEYWORDS_MAX];
	unsigned nkw = 0;
	struct kwtab kt = { names, &nkw };
	size_t used;

	memset(p, 0, sizeof *p);
	int r = mbox_parse(buf, len, 1, 1, 0, &kt, p, &used);
	for (unsigned i = 0; i < nkw; i++)
		free(names[i]);
	return r < 0 ? -1 : (long)p->n;
}

static void test_frames(void)
{
	struct parse p;
	/* no From line: the header starts after the mark, no date; the last
	 * message may lack its trailer (a crash in UW's append) */
	static const char a[] = M "Subject: bare\n\nb\001\001\001\001\n" M M
				"From x Mon Jan  6 10:00:00 2025\nSubject: t\n\ntail";
	CHECK(frame(a, sizeof a - 1, &p) == 2);
	if (p.n == 2) {
		CHECK(p.fmt == UF_MMDF && p.m[0].from_len == 5 && p.m[0].date == 0);
		CHECK(p.m[0].hdr_len == 15 && p.m[0].body_len == 6);   /* ends in ^A^A^A^A */
		CHECK(p.m[1].date == 1736157600 && p.m[1].body_len == 4);
		CHECK(p.m[1].size == strlen("Subject: t\r\n\r\ntail\r\n"));
	}
	unix_parse_free(&p);
	/* what is neither a message nor a trailer is refused */
	static const char b[] = M "Subject: a\n\nb\n" M "junk\n" M "Subject: c\n\n" M;
	CHECK(frame(b, sizeof b - 1, &p) == -1);
	unix_parse_free(&p);
	/* a window that ends inside a mark leaves that message for the next */
	static const char c[] = M "Subject: a\n\nb\n" M M "Subject: c\n\nd\n\001\001";
	size_t used = 99;
	char *names[4];
	unsigned nkw = 0;
	struct kwtab kt = { names, &nkw };
	memset(&p, 0, sizeof p);
	CHECK(mbox_parse(c, sizeof c - 1, 1, 0, 0, &kt, &p, &used) == 0);
	CHECK(p.n == 1 && used == 5 + 14 + 5);
	unix_parse_free(&p);
	/* an mbox stays an mbox: a Ctrl-A line inside it is text */
	static const char d[] = "From x Mon Jan  6 10:00:00 2025\nSubject: m\n\n" M "x\n";
	CHECK(frame(d, sizeof d - 1, &p) == 1 && p.fmt == UF_MBOX && p.m[0].body_len == 7);
	unix_parse_free(&p);
}

static void test_which_driver(void)
{
	struct mail_err err = { 0 };
	struct mailbox *box;
	struct mail_status st;

	setup();
	write_file(fixture_path(NULL, "m"), "From x Mon Jan  6 10:00:00 2025\nSubject: m\n\nx\n");
	write_file(fixture_path(NULL, "d"), M "From x Mon Jan  6 10:00:00 2025\nSubject: d\n\nx\n" M);
	CHECK(mail_open(&sess, "#driver.mmdf/m", 1, NULL, NULL, &box, &err) < 0);
	CHECK(strstr(err.text, "not a mailbox of format mmdf") != NULL);
	CHECK(mail_open(&sess, "#driver.unix/d", 1, NULL, NULL, &box, &err) < 0);
	CHECK(mail_status(&sess, "d", &st, &err) == 0 && st.messages == 1);
	CHECK(mail_status(&sess, "#driver.mmdf/d", &st, &err) == 0 && st.messages == 1);
	/* a corrupt MMDF file is named and left alone */
	write_file(fixture_path(NULL, "bad"), M "Subject: a\n\n" M "oops\n");
	CHECK(mail_open(&sess, "bad", 0, NULL, NULL, &box, &err) < 0);
	CHECK(strstr(err.text, "bad is not in MMDF format") != NULL);
	CHECK(contains(fixture_path(NULL, "bad"), M "oops\n"));
}

int main(void)
{
	RUN(test_uw_file);
	RUN(test_create_append_store);
	RUN(test_frames);
	RUN(test_which_driver);
	fixture_remove_tmpdir();
	mail_session_free(&sess);
	return test_summary("test-mmdf");
}
