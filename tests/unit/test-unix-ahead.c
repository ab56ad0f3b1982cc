/* test-unix-ahead.c: mbox headers read ahead for fetches in order
 * (unix_ahead.c): every header is its own message's, in order and out of
 * it, after this session's expunge and after another session's rewrite. */
#include "mail_api.h"
#include "mbox_fixture.h"
#include "test.h"

#include <stdio.h>
#include <string.h>

/* More than one read-ahead run (32) and a bit. */
#define NMSG 75

static struct mail_session sess;

/* Message i of the spool: its Subject names i. */
static const char *msg_i(int i)
{
	static char b[256];

	snprintf(b, sizeof b, "From mta@example.org Fri Feb  7 09:%02d:00 2025\n"
		 "Subject: m%d\nStatus: O\n\nbody %d\n\n", i % 60, i, i);
	return b;
}

/* Does message msgno's header say it is message i? */
static int header_is(struct mailbox *box, uint32_t msgno, int i)
{
	struct mail_err err = { 0 };
	const char *t;
	size_t n;
	char want[64];

	if (mail_fetch_header(box, msgno, &t, &n, &err) < 0)
		return 0;
	/* the Status line is the mailbox's, never part of the header shown */
	snprintf(want, sizeof want, "Subject: m%d\r\n\r\n", i);
	return n == strlen(want) && !memcmp(t, want, n);
}

/* The spool holds NMSG messages, 0 .. NMSG-1; box is opened on it. */
static struct mailbox *open_spool(struct events *ev)
{
	struct mailbox *box = NULL;
	struct mail_err err = { 0 };

	if (fixture_remove_tmpdir())
		mail_session_free(&sess);
	fixture_make_tmpdir("test-unix-ahead");
	mkdir(fixture_path(NULL, "spool"), 0775);
	mail_session_init(&sess, "alice", tmpdir, fixture_path(NULL, "spool"));
	write_file(fixture_path("spool", "alice"), "");
	for (int i = 0; i < NMSG; i++)
		append_file(fixture_path("spool", "alice"), msg_i(i));
	CHECK(mail_open(&sess, "INBOX", 0, &evs, ev, &box, &err) == 0);
	CHECK(box && box->nmsgs == NMSG);
	return box;
}

static void test_in_order_and_back(void)
{
	struct events ev = { 0 };
	struct mailbox *box = open_spool(&ev);
	int bad = 0;

	if (!box)
		return;
	for (uint32_t m = 1; m <= NMSG; m++)
		bad += !header_is(box, m, (int)m - 1);
	CHECK(bad == 0);
	/* backwards, and jumping about inside a run read ahead */
	for (uint32_t m = NMSG; m >= 1; m--)
		bad += !header_is(box, m, (int)m - 1);
	CHECK(bad == 0);
	CHECK(header_is(box, 3, 2) && header_is(box, 4, 3) && header_is(box, 40, 39) &&
	      header_is(box, 5, 4));
	/* a whole text between headers: the header is still the prefix */
	CHECK(!strcmp(text_of(box, 6), "Subject: m5\r\n\r\nbody 5\r\n"));
	CHECK(header_is(box, 6, 5) && header_is(box, 7, 6));
	mail_close(box, 0, NULL);
}

static void test_after_expunges(void)
{
	struct events ea = { 0 }, eb = { 0 };
	struct mailbox *a = open_spool(&ea), *b = NULL;
	struct mail_err err = { 0 };

	if (!a)
		return;
	CHECK(mail_open(&sess, "INBOX", 0, &evs, &eb, &b, &err) == 0);
	if (!b)
		return;
	/* a reads 1 and 2, so 3.. are held; a then expunges message 3 */
	CHECK(header_is(a, 1, 0) && header_is(a, 2, 1));
	CHECK(mail_store(a, 3, STORE_ADD, MF_DELETED, KW(0), &err) == 0);
	CHECK(mail_expunge(a, NULL, 0, &err) == 0);
	CHECK(a->nmsgs == NMSG - 1);
	CHECK(header_is(a, 3, 3) && header_is(a, 4, 4) && header_is(a, 34, 34));
	/* b rewrites the file without messages 10 and 11 (a's 9 and 10) */
	CHECK(header_is(b, 1, 0));
	CHECK(mail_store(b, 10, STORE_ADD, MF_DELETED, KW(0), &err) == 0);
	CHECK(mail_store(b, 11, STORE_ADD, MF_DELETED, KW(0), &err) == 0);
	CHECK(mail_expunge(b, NULL, 0, &err) == 0);
	ea.nexp = 0;   /* a's own expunge was reported too */
	CHECK(mail_ping(a, &err) == 0);
	CHECK(ea.nexp == 2 && a->nmsgs == NMSG - 3);
	int bad = 0;
	for (uint32_t m = 1; m <= a->nmsgs; m++) {
		int i = (int)m - 1 + (m >= 3) + 2 * (m >= 9);
		bad += !header_is(a, m, i);
	}
	CHECK(bad == 0);
	mail_close(b, 0, NULL);
	mail_close(a, 0, NULL);
}

int main(void)
{
	RUN(test_in_order_and_back);
	RUN(test_after_expunges);
	fixture_remove_tmpdir();
	mail_session_free(&sess);
	return test_summary("test-unix-ahead");
}
