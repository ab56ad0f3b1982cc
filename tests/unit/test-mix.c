/* test-mix.c: UW's mix format: files as UW imap-2007f writes them parsed
 * and written back byte for byte, damaged ones refused; the driver on real
 * mailboxes (append and reopen, flags, two sessions, expunge), and kill -9
 * during appends, flag writes, expunges and COPYs (the mix-to-mix path). */
#include "mail_api.h"
#include "mix.h"
#include "mbox_fixture.h"
#include "test.h"

#include <dirent.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static struct mail_session sess;

static const char msg1[] = FIXTURE_MSG1;
static const char msg2[] = FIXTURE_MSG2;

/* Files as UW's mailutil wrote them (create, then append of two). */
static const char uw_meta[] = "S6b15aefc\r\nV6b15aefa\r\nL00000002\r\nN6b15aefa\r\n";
static const char uw_index[] =
	"S6b15aefb\r\n"
	":00000001:20240101000000+0000:00000017:6b15aefa:00000000:0000002d:00000010:\r\n"
	":00000002:20240102000000+0000:00000017:6b15aefa:00000044:0000002d:00000010:\r\n";
static const char uw_status[] =
	"S6b15aefb\r\n:00000001:00000000:0000:6b15aefb:\r\n:00000002:00000000:0000:6b15aefb:\r\n";

/* A path in the mailbox ~/box. */
static char *bx(const char *name)
{
	return fixture_path("box", name);
}

/* A fresh home; new mailboxes of the default format. */
static void setup(void)
{
	fixture_session(&sess, "test-mix");
}

#define append_one(...) fixture_append(&sess, __VA_ARGS__)

/* ---- the file formats ---- */

static void test_uw_files_round_trip(void)
{
	struct mix_meta m;
	struct mix_index ix;
	struct mix_status st;
	struct buf b;
	const char *why = NULL;

	buf_init(&b);
	CHECK(mix_meta_parse(uw_meta, strlen(uw_meta), &m, &why) == 0);
	CHECK(m.validity == 0x6b15aefa && m.last == 2 && m.newfile == 0x6b15aefa && !m.nkw);
	mix_meta_format(&b, &m);
	CHECK_STR(b.data, uw_meta);
	mix_meta_free(&m);
	buf_reset(&b);
	CHECK(mix_index_parse(uw_index, strlen(uw_index), &ix, &why) == 0);
	CHECK(ix.n == 2 && ix.v[1].uid == 2 && ix.v[1].pos == 0x44 && ix.v[1].hoff == 0x2d &&
	      ix.v[1].hsiz == 0x10 && ix.v[0].date.t == 1704067200 && ix.v[0].date.tz == 0);
	mix_index_format(&b, &ix);
	CHECK_STR(b.data, uw_index);
	mix_index_free(&ix);
	buf_reset(&b);
	CHECK(mix_status_parse(uw_status, strlen(uw_status), &st, &why) == 0);
	CHECK(st.n == 2 && mix_status_find(&st, 2) && !mix_status_find(&st, 3));
	mix_status_format(&b, &st);
	CHECK_STR(b.data, uw_status);
	mix_status_free(&st);
	buf_free(&b);
}

static void test_keywords_dates_and_damage(void)
{
	struct mix_meta m;
	struct mix_index ix;
	struct mix_status st;
	const char *why = NULL;
	struct buf b;
	const char kw[] = "S1\r\nV2\r\nL3\r\nN4\r\nKJunk $Work\r\nXfuture\r\n";

	CHECK(mix_meta_parse(kw, strlen(kw), &m, &why) == 0);
	CHECK(m.nkw == 2 && !strcmp(m.kw[1], "$Work"));
	mix_meta_free(&m);
	/* a zone west of UTC, read and written back */
	const char west[] = "S1\r\n:00000007:20231114221320-0500:00000001:00000000:00000000:"
			    "00000001:00000001:extra\r\n";
	CHECK(mix_index_parse(west, strlen(west), &ix, &why) == 0);
	CHECK(ix.n == 1 && ix.v[0].date.t == 1700018000 && ix.v[0].date.tz == -300);
	buf_init(&b);
	mix_ixrec_format(&b, &ix.v[0]);
	CHECK_STR(b.data, ":00000007:20231114221320-0500:00000001:00000000:00000000:00000001:"
		  "00000001:\r\n");
	mix_index_free(&ix);
	/* what UW refuses is refused: no UIDVALIDITY, a bad date, UIDs out of
	 * order, a record cut short, a sequence line that is not one */
	const char *bad_meta[] = {"S1\r\nL3\r\nN4\r\n", "S1\r\nV0\r\nL3\r\nN4\r\n",
				  "S1\r\nVxyz\r\nL1\r\nN1\r\n", "Q1\r\nV1\r\nL1\r\nN1\r\n"};
	for (size_t i = 0; i < ARRAY_SIZE(bad_meta); i++)
		CHECK(mix_meta_parse(bad_meta[i], strlen(bad_meta[i]), &m, &why) < 0 && why);
	const char *bad_ix[] = {
		"S1\r\n:00000001:20241301000000+0000:1:0:0:1:1:\r\n",
		"S1\r\n:2:20240101000000+0000:1:0:0:1:1:\r\n:1:20240101000000+0000:1:0:0:1:1:\r\n",
		"S1\r\n:1:20240101000000+0000:1:0:0:1",
		"S1\r\n:0:20240101000000+0000:1:0:0:1:1:\r\n",
		"S1\r\n:123456789:20240101000000+0000:1:0:0:1:1:\r\n",
	};
	for (size_t i = 0; i < ARRAY_SIZE(bad_ix); i++)
		CHECK(mix_index_parse(bad_ix[i], strlen(bad_ix[i]), &ix, &why) < 0);
	const char bad_st[] = "S1\r\n:1:0:0:\r\n";
	CHECK(mix_status_parse(bad_st, strlen(bad_st), &st, &why) < 0);
	/* an empty file (UW's create) is sequence 0, no records */
	CHECK(mix_status_parse("", 0, &st, &why) == 0 && st.seq == 0 && st.n == 0);
	/* the padding of an in-place rewrite reads as nothing */
	buf_reset(&b);
	buf_puts(&b, uw_status);
	mix_pad(&b, b.len + 7);
	CHECK(b.len == strlen(uw_status) + 7);
	CHECK(mix_status_parse(b.data, b.len, &st, &why) == 0 && st.n == 2);
	mix_status_free(&st);
	buf_free(&b);
	CHECK(mix_next_seq(5, 3) == 6 && mix_next_seq(5, 9) == 9);
}

/* ---- the driver ---- */

static void test_append_reopen_flags(void)
{
	struct mail_err err = { 0 };
	struct mailbox *box;
	char *kw[] = {"$Work", NULL};
	uint32_t uid = 0;

	setup();
	CHECK(mail_create(&sess, "#driver.mix/box", &err) == 0);
	CHECK(append_one("box", msg1, MF_SEEN, kw, &uid, &err) == 0 && uid == 1);
	CHECK(append_one("box", msg2, 0, NULL, &uid, &err) == 0 && uid == 2);
	CHECK(mail_open(&sess, "box", 0, NULL, NULL, &box, &err) == 0);
	if (!box)
		return;
	CHECK(box->nmsgs == 2 && box->recent == 2 && box->uidnext == 3);
	CHECK_STR(text_of(box, 1), msg1);
	CHECK_STR(text_of(box, 2), msg2);
	CHECK(box->msgs[0]->flags == (MF_SEEN | MF_RECENT) && kwset_low(&box->msgs[0]->keywords) == 1);
	CHECK(box->msgs[1]->internal_date == 1700000000 && box->msgs[1]->size == strlen(msg2));
	const char *h;
	size_t hn;
	CHECK(mail_fetch_header(box, 2, &h, &hn, &err) == 0);
	CHECK(hn == strlen("From: b@example.com\r\nSubject: two\r\n\r\n") && !memcmp(h, msg2, hn));
	CHECK(mail_store(box, 2, STORE_ADD, MF_FLAGGED | MF_DELETED, KW(0), &err) == 0);
	uint32_t v = box->uidvalidity;
	CHECK(mail_close(box, 1, &err) == 0);
	CHECK(mail_open(&sess, "box", 1, NULL, NULL, &box, &err) == 0);
	if (!box)
		return;
	CHECK(box->uidvalidity == v && box->nmsgs == 1 && box->recent == 0 && box->uidnext == 3);
	CHECK_STR(text_of(box, 1), msg1);
	mail_close(box, 0, NULL);
	size_t n;
	char *ix = read_file(bx(".mixindex"), &n);
	CHECK(ix && strstr(ix, ":00000001:20231114221320+0000:") && !strstr(ix, ":00000002:"));
	free(ix);
}

static void test_two_sessions(void)
{
	struct mail_err err = { 0 };
	struct mailbox *a, *b;
	struct events ea = { 0 };

	setup();
	mail_create(&sess, "#driver.mix/box", &err);
	append_one("box", msg1, 0, NULL, NULL, &err);
	CHECK(mail_open(&sess, "box", 0, &evs, &ea, &a, &err) == 0);
	CHECK(mail_open(&sess, "box", 0, NULL, NULL, &b, &err) == 0);
	if (!a || !b)
		return;
	CHECK(a->recent == 1 && b->recent == 0);   /* one session claims each */
	append_one("box", msg2, 0, NULL, NULL, &err);
	CHECK(mail_ping(a, &err) == 0 && a->nmsgs == 2 && ea.last_exists == 2);
	CHECK(mail_store(b, 1, STORE_ADD, MF_ANSWERED | MF_DELETED, KW(0), &err) == 0);
	CHECK(mail_flush(b, &err) == 0);
	CHECK(mail_ping(a, &err) == 0 && ea.nflags == 1 && (a->msgs[0]->flags & MF_ANSWERED));
	CHECK(mail_expunge(b, NULL, 0, &err) == 0 && b->nmsgs == 1);
	CHECK(mail_ping(a, &err) == 0 && ea.nexp == 1 && ea.expunged[0] == 1 && a->nmsgs == 1);
	CHECK_STR(text_of(a, 1), msg2);
	mail_close(a, 0, NULL);
	mail_close(b, 0, NULL);
	/* DELETE refused while open, then done */
	CHECK(mail_open(&sess, "box", 0, NULL, NULL, &a, &err) == 0);
	CHECK(mail_delete(&sess, "box", &err) < 0);
	if (a)
		mail_close(a, 0, NULL);
	CHECK(mail_delete(&sess, "box", &err) == 0 && access(bx(""), F_OK) < 0);
}

/* Every message of box whole (msg1 or msg2), UIDs rising; how many are
 * the text count. */
static uint32_t all_whole(const char *count)
{
	struct mail_err err = { 0 };
	struct mailbox *box;
	uint32_t n = 0;

	CHECK(mail_open(&sess, "box", 1, NULL, NULL, &box, &err) == 0);
	if (!box) {
		printf("open after kills: %s\n", err.text);
		return 0;
	}
	for (uint32_t i = 1; i <= box->nmsgs; i++) {
		const char *t = text_of(box, i);
		CHECK(!strcmp(t, msg1) || !strcmp(t, msg2));
		n += !strcmp(t, count);
		CHECK(i == 1 || box->msgs[i - 1]->uid > box->msgs[i - 2]->uid);
	}
	mail_close(box, 0, NULL);
	return n;
}

/* The data files of ~/box and their total size. */
static size_t data_files(off_t *bytes)
{
	DIR *d = opendir(bx(""));
	struct dirent *e;
	struct stat st;
	size_t n = 0;

	*bytes = 0;
	while (d && (e = readdir(d)) != NULL)
		if (!strncmp(e->d_name, ".mix", 4) && strlen(e->d_name) == 12 &&
		    stat(bx(e->d_name), &st) == 0) {
			n++;
			*bytes += st.st_size;
		}
	if (d)
		closedir(d);
	return n;
}

/* An expunge by the only session gives the space back (UW's burp): one
 * data file of the live messages; with another session open, none. */
static void test_burp(void)
{
	struct mail_err err = { 0 };
	struct mailbox *a, *b;
	off_t bytes;

	setup();
	mail_create(&sess, "#driver.mix/box", &err);
	for (int i = 0; i < 40; i++)
		append_one("box", i & 1 ? msg2 : msg1, i & 1 ? MF_DELETED : 0, NULL, NULL, &err);
	data_files(&bytes);
	off_t full = bytes;
	CHECK(mail_open(&sess, "box", 0, NULL, NULL, &a, &err) == 0);
	CHECK(mail_open(&sess, "box", 1, NULL, NULL, &b, &err) == 0);
	if (!a || !b)
		return;
	CHECK(mail_expunge(a, NULL, 0, &err) == 0 && a->nmsgs == 20);
	CHECK(data_files(&bytes) == 1 && bytes == full);   /* b holds it open */
	mail_close(b, 0, NULL);
	CHECK(mail_store(a, 1, STORE_ADD, MF_DELETED, KW(0), &err) == 0);
	CHECK(mail_expunge(a, NULL, 0, &err) == 0 && a->nmsgs == 19);
	CHECK(data_files(&bytes) == 1 && bytes < full / 2);
	CHECK_STR(text_of(a, 1), msg1);
	CHECK_STR(text_of(a, 19), msg1);
	CHECK(a->msgs[0]->uid == 3 && a->msgs[18]->uid == 39);
	mail_close(a, 0, NULL);
	CHECK(all_whole(msg1) == 19);
}

/* A status record lost (as a crash between the status and the index of
 * an append can leave it): the message has no flags, and a STORE makes
 * its record again, in UID order. */
static void test_lost_status_record(void)
{
	struct mail_err err = { 0 };
	struct mailbox *box;

	setup();
	mail_create(&sess, "#driver.mix/box", &err);
	for (int i = 0; i < 3; i++)
		append_one("box", msg1, MF_SEEN, NULL, NULL, &err);
	size_t n;
	char *st = read_file(bx(".mixstatus"), &n);
	char *two = st ? strstr(st, ":00000002:") : NULL;
	CHECK(two != NULL);
	if (!two)
		return;
	char *three = strstr(two, ":00000003:");
	memmove(two, three, strlen(three) + 1);
	write_file(bx(".mixstatus"), st);
	free(st);
	CHECK(mail_open(&sess, "box", 0, NULL, NULL, &box, &err) == 0);
	if (!box)
		return;
	CHECK(box->nmsgs == 3 && !(box->msgs[1]->flags & MF_SEEN) && (box->msgs[2]->flags & MF_SEEN));
	CHECK(mail_store(box, 2, STORE_ADD, MF_FLAGGED, KW(0), &err) == 0);
	mail_close(box, 0, NULL);
	st = read_file(bx(".mixstatus"), &n);
	char *r1 = st ? strstr(st, ":00000001:") : NULL, *r2 = st ? strstr(st, ":00000002:") : NULL;
	char *r3 = st ? strstr(st, ":00000003:") : NULL;
	CHECK(r1 && r2 && r3 && r1 < r2 && r2 < r3 && !strncmp(r2 + 18, ":0004:", 6));
	free(st);
}

/* ---- kill -9 ---- */


static void test_crash_append(void)
{
	struct mail_err err = { 0 };

	setup();
	mail_create(&sess, "#driver.mix/box", &err);
	append_one("box", msg1, 0, NULL, NULL, &err);
	for (int round = 0; round < 12; round++) {
		pid_t pid = fork();
		if (pid == 0)
			for (;;)
				append_one("box", msg1, MF_SEEN, NULL, NULL, &err);
		fixture_kill_after(pid, round == 11 ? 300000 : 300 + round * 700);
	}
	CHECK(all_whole(msg1) > 1);
}

/* Flag writes killed: each message's \Seen and \Flagged change together,
 * so any record that has one without the other was torn. */
static void test_crash_flags(void)
{
	struct mail_err err = { 0 };

	setup();
	mail_create(&sess, "#driver.mix/box", &err);
	for (int i = 0; i < 20; i++)
		append_one("box", msg1, 0, NULL, NULL, &err);
	fixture_killed_flag_writes(&sess, "box", fixture_kill_after);
	struct mailbox *box;
	CHECK(mail_open(&sess, "box", 1, NULL, NULL, &box, &err) == 0);
	if (!box)
		return;
	CHECK(box->nmsgs == 20);
	for (uint32_t i = 0; i < box->nmsgs; i++)
		CHECK(!(box->msgs[i]->flags & MF_SEEN) == !(box->msgs[i]->flags & MF_FLAGGED));
	mail_close(box, 0, NULL);
}

/* Append n messages, every other one gone (\Deleted), the rest keep; then
 * a child expunges and is killed after us microseconds. */
static void killed_expunge(const char *keep, const char *gone, int n, int us)
{
	struct mail_err err = { 0 };

	for (int i = 0; i < n; i++)
		append_one("box", i & 1 ? gone : keep, i & 1 ? MF_DELETED : 0, NULL, NULL, &err);
	pid_t pid = fork();
	if (pid == 0) {
		struct mailbox *b;
		if (mail_open(&sess, "box", 0, NULL, NULL, &b, &err) < 0)
			_exit(1);
		mail_expunge(b, NULL, 0, &err);
		_exit(0);
	}
	fixture_kill_after(pid, us);
}

/* Expunges killed: what is left is whole, never a message twice. */
static void test_crash_expunge(void)
{
	struct mail_err err = { 0 };

	setup();
	mail_create(&sess, "#driver.mix/box", &err);
	for (int round = 0; round < 10; round++)
		killed_expunge(msg1, msg2, 40, 200 + round * 900);
	/* every kept message is there exactly once */
	CHECK(all_whole(msg1) == 200);
}

/* A burp killed at any moment: the live messages are all there, whole,
 * once, whichever data file the index names (the big ones are expunged,
 * so there is space to give back). */
static void test_crash_burp(void)
{
	struct mail_err err = { 0 };
	static char big[8192];
	struct mailbox *box;

	snprintf(big, sizeof big, "Subject: big\r\n\r\n");
	memset(big + strlen(big), 'x', sizeof big - strlen(big) - 3);
	memcpy(big + sizeof big - 3, "\r\n", 3);
	setup();
	mail_create(&sess, "#driver.mix/box", &err);
	/* early rounds die inside the burp (a new file left over), later ones
	 * finish it; the next burp removes what a killed one left */
	for (int round = 0; round < 10; round++)
		killed_expunge(msg2, big, 30, 2000 + round * round * 1200);
	CHECK(mail_open(&sess, "box", 1, NULL, NULL, &box, &err) == 0);
	if (!box)
		return;
	uint32_t smalls = 0, bad = 0;
	for (uint32_t i = 1; i <= box->nmsgs; i++) {
		const char *t = text_of(box, i);
		smalls += !strcmp(t, msg2);
		bad += strcmp(t, big) && strcmp(t, msg2);
	}
	CHECK(smalls == 150 && bad == 0);
	mail_close(box, 0, NULL);
}

/* ---- COPY between mix mailboxes ---- */

/* The stored texts as they are, flags, keywords by name and dates, the
 * new UIDs answered; into the same mailbox too. */
static void test_copy(void)
{
	struct mail_err err = { 0 };
	struct mailbox *box;
	char *kw[] = { "$Work", NULL };

	setup();
	mail_create(&sess, "#driver.mix/src", &err);
	mail_create(&sess, "#driver.mix/box", &err);
	append_one("src", msg1, MF_SEEN, NULL, NULL, &err);
	append_one("src", msg2, MF_FLAGGED, kw, NULL, &err);
	CHECK(mail_open(&sess, "src", 0, NULL, NULL, &box, &err) == 0);
	if (!box || !(box = fixture_copy_two(&sess, box, "box")))
		return;
	CHECK_STR(text_of(box, 1), msg1);
	CHECK_STR(text_of(box, 2), msg2);
	mail_close(box, 0, NULL);
	CHECK(mail_open(&sess, "src", 1, NULL, NULL, &box, &err) == 0);
	CHECK(box && box->nmsgs == 3 && !strcmp(text_of(box, 3), msg2));
	if (box)
		mail_close(box, 0, NULL);
}

/* COPYs of two messages killed at any moment: the target holds each
 * copy whole, both messages or neither. */
static void test_crash_copy(void)
{
	struct mail_err err = { 0 };
	static const uint32_t msgnos[] = { 1, 2 };

	setup();
	mail_create(&sess, "#driver.mix/src", &err);
	mail_create(&sess, "#driver.mix/box", &err);
	append_one("src", msg1, 0, NULL, NULL, &err);
	append_one("src", msg2, 0, NULL, NULL, &err);
	for (int round = 0; round < 12; round++) {
		pid_t pid = fork();
		if (pid == 0) {
			struct mailbox *b;
			if (mail_open(&sess, "src", 1, NULL, NULL, &b, &err) < 0)
				_exit(1);
			for (;;)
				mail_copy(b, msgnos, 2, "box", NULL, NULL, &err);
		}
		fixture_kill_after(pid, round == 11 ? 300000 : 300 + round * 700);
	}
	uint32_t ones = all_whole(msg1), twos = all_whole(msg2);
	CHECK(ones > 1 && ones == twos);
}

int main(void)
{
	RUN(test_uw_files_round_trip);
	RUN(test_keywords_dates_and_damage);
	RUN(test_append_reopen_flags);
	RUN(test_two_sessions);
	RUN(test_burp);
	RUN(test_lost_status_record);
	RUN(test_crash_append);
	RUN(test_crash_flags);
	RUN(test_crash_expunge);
	RUN(test_crash_burp);
	RUN(test_copy);
	RUN(test_crash_copy);
	if (fixture_remove_tmpdir())
		mail_session_free(&sess);
	return test_summary("test-mix");
}
