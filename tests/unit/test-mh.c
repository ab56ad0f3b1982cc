/* test-mh.c: the MH driver on real folders: .mh_sequences parsed and
 * written back, append and reopen, flags and keywords as sequences, two
 * sessions, what counts as a folder, LIST of nested folders, links, FIFOs
 * and others' files among the numbers, renumbering, and kill -9 during
 * an append. */
#include "mail_api.h"
#include "mh.h"
#include "mbox_fixture.h"
#include "test.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static struct mail_session sess;

static const char msg1[] = FIXTURE_MSG1;
static const char msg2[] = FIXTURE_MSG2;
static const char stored1[] = "From: a@example.com\nSubject: one\n\nbody one\n";

/* A path in the folder ~/box. */
static char *bx(const char *name)
{
	return fixture_path("box", name);
}

/* A fresh home; INBOX in the spool, new mailboxes of the default format. */
static void setup(void)
{
	fixture_session(&sess, "test-mh");
}

/* APPEND to a mailbox of the test's session. */
#define append_one(...) fixture_append(&sess, __VA_ARGS__)

/* The sequences file of ~/box, "" when absent. */
static char *seqs(void)
{
	size_t n;
	char *s = read_file(bx(".mh_sequences"), &n);
	return s ? s : xstrdup("");
}

/* ---- the sequences format ---- */

static char *reformat(const char *in)
{
	struct mh_seqs q;
	struct buf b;

	mh_seqs_parse(in, strlen(in), &q);
	buf_init(&b);
	mh_seqs_format(&b, &q);
	mh_seqs_free(&q);
	return b.data ? buf_steal(&b) : xstrdup("");
}

static void test_seq_parse(void)
{
	/* ranges joined and sorted, a continuation line read, junk dropped,
	 * a name given twice merged, empty sequences left out */
	char *s = reformat("unseen: 7 1-3 4\nflagged:\ncur: 5\nfoo:\tbad 0 9-8 4\n 12 11\n"
			   "no colon here\nunseen: 9\n:5\n");
	CHECK_STR(s, "unseen: 1-4 7 9\ncur: 5\nfoo: 4 11-12\n");
	free(s);
	s = reformat("a: 2147483647 2147483648 1-2147483647\n");
	CHECK_STR(s, "a: 1-2147483647\n");
	free(s);
	/* what we write parses to itself */
	s = reformat("unseen: 1-4 7 9\ncur: 5\n");
	char *t = reformat(s);
	CHECK_STR(t, s);
	free(s);
	free(t);
}

static void test_seq_set(void)
{
	struct mh_seqs q = { 0 };
	struct mh_seq *u = mh_seqs_get(&q, "unseen", 1);
	struct buf b;

	for (uint32_t n = 1; n <= 5; n++)
		mh_seq_set(u, n, 1);
	mh_seq_set(u, 3, 0);
	mh_seq_set(u, 9, 1);
	mh_seq_set(u, 8, 1);
	mh_seq_set(u, 1, 0);
	mh_seq_set(u, 3, 1);
	CHECK(mh_seq_has(u, 2) && !mh_seq_has(u, 1) && !mh_seq_has(u, 6) && mh_seq_has(u, 9));
	buf_init(&b);
	mh_seqs_format(&b, &q);
	CHECK_STR(b.data, "unseen: 2-5 8-9\n");
	buf_free(&b);
	mh_seqs_free(&q);
}

/* The in-place rewrite's image: as long as the old file, reading as the
 * new text alone, which is its first part. */
static void test_seq_image(void)
{
	struct mh_seqs q;
	struct buf b, want;
	const char *old = "unseen: 1-9 11 13 15\nflagged: 2 4 6 8\nWork: 3\n";
	const char *now = "unseen: 1\n";

	for (size_t extra = 0; extra < 3; extra++) {
		size_t old_len = strlen(now) + extra;
		mh_seqs_parse(now, strlen(now), &q);
		buf_init(&b);
		CHECK(mh_seqs_image(&b, &q, extra ? old_len : strlen(old)) == strlen(now));
		CHECK(b.len == (extra ? old_len : strlen(old)) && !memcmp(b.data, now, strlen(now)));
		mh_seqs_free(&q);
		/* what a crash before the cut leaves reads as the new text */
		mh_seqs_parse(b.data, b.len, &q);
		buf_init(&want);
		mh_seqs_format(&want, &q);
		CHECK_STR(want.data, now);
		/* and has no blank line, which nmh refuses */
		int blank = 0;
		for (size_t i = 1; i < b.len; i++)
			blank |= b.data[i] == '\n' && b.data[i - 1] == '\n';
		CHECK(!blank);
		buf_free(&want);
		buf_free(&b);
		mh_seqs_free(&q);
	}
}

/* ---- folders ---- */

static void list_cb(void *ctx, const char *name, int attrs)
{
	buf_printf(ctx, "%s:%d\n", name, attrs);
}

/* What is an MH folder: sequences file, or numbers (and subfolders) only;
 * an empty directory is a \Noselect container; a Maildir is not MH. */
static void test_valid_and_list(void)
{
	struct mail_err err = { 0 };
	struct buf b;

	setup();
	mkdir(fixture_path(NULL, "empty"), 0700);
	mkdir(fixture_path(NULL, "nums"), 0700);
	write_file(fixture_path("nums", "1"), stored1);
	write_file(fixture_path("nums", ",2"), stored1);   /* nmh's removed message */
	mkdir(fixture_path(NULL, "notes"), 0700);
	write_file(fixture_path("notes", "1"), stored1);
	write_file(fixture_path("notes", "todo.txt"), "x\n");
	mkdir(fixture_path(NULL, "md"), 0700);
	mkdir(fixture_path("md", "cur"), 0700);
	mkdir(fixture_path("md", "new"), 0700);
	mkdir(fixture_path("md", "tmp"), 0700);
	CHECK(mail_create(&sess, "#driver.mh/a", &err) == 0);
	CHECK(mail_create(&sess, "#driver.mh/a/b", &err) == 0);
	struct stat st;
	CHECK(stat(fixture_path("a", ".mh_sequences"), &st) == 0 && S_ISREG(st.st_mode));
	buf_init(&b);
	CHECK(mail_list(&sess, "", "*", list_cb, &b, &err) == 0);
	char want[512];
	snprintf(want, sizeof want,
		 "INBOX:%d\na:%d\na/b:%d\nempty:%d\nmd:%d\nnotes:%d\nnums:%d\nspool:%d\n",
		 LA_NOINFERIORS, LA_HASCHILDREN, LA_HASNOCHILDREN, LA_NOSELECT | LA_HASNOCHILDREN,
		 LA_NOINFERIORS, LA_NOSELECT | LA_HASCHILDREN, LA_HASNOCHILDREN,
		 LA_NOSELECT | LA_HASNOCHILDREN);
	CHECK_STR(b.data, want);
	/* "%" stops at the first level; a forced format lists its own and the
	 * directories (as \Noselect), not the Maildir */
	buf_reset(&b);
	CHECK(mail_list(&sess, "", "#driver.mh/%", list_cb, &b, &err) == 0);
	snprintf(want, sizeof want, "#driver.mh/a:%d\n#driver.mh/empty:%d\n#driver.mh/notes:%d\n"
		 "#driver.mh/nums:%d\n#driver.mh/spool:%d\n", LA_HASCHILDREN,
		 LA_NOSELECT | LA_HASNOCHILDREN, LA_NOSELECT | LA_HASCHILDREN, LA_HASNOCHILDREN,
		 LA_NOSELECT | LA_HASNOCHILDREN);
	CHECK_STR(b.data, want);
	buf_free(&b);
	/* an MH folder with messages and no sequences file opens */
	struct mailbox *box;
	CHECK(mail_open(&sess, "nums", 1, NULL, NULL, &box, &err) == 0);
	if (box) {
		CHECK(box->nmsgs == 1 && box->msgs[0]->uid == 1);
		CHECK_STR(text_of(box, 1), msg1);
		mail_close(box, 0, NULL);
	}
	/* DELETE of a folder with a subfolder keeps it as their parent */
	CHECK(mail_delete(&sess, "a", &err) == 0);
	CHECK(stat(fixture_path("a", ".mh_sequences"), &st) < 0 && errno == ENOENT);
	CHECK(stat(fixture_path("a", "b"), &st) == 0);
	CHECK(mail_delete(&sess, "a/b", &err) == 0);
	CHECK(stat(fixture_path("a", "b"), &st) < 0);
	/* a subfolder named by a number is no message of its parent */
	CHECK(mail_create(&sess, "#driver.mh/y", &err) == 0);
	CHECK(mail_create(&sess, "#driver.mh/y/2025", &err) == 0);
	CHECK(append_one("y", msg1, 0, NULL, NULL, &err) == 0);
	CHECK(mail_delete(&sess, "y", &err) == 0);
	CHECK(stat(fixture_path("y", "1"), &st) < 0 && stat(fixture_path("y", "2025"), &st) == 0);
}

/* mail_format = mh: CREATE makes MH folders. */
static void test_mail_format(void)
{
	struct mail_err err = { 0 };
	struct stat st;
	uint32_t uid = 0;

	setup();
	mail_session_formats(&sess, NULL, "mh");
	CHECK(mail_create(&sess, "box", &err) == 0);
	CHECK(stat(bx(".mh_sequences"), &st) == 0);
	CHECK(append_one("box", msg1, MF_SEEN, NULL, &uid, &err) == 0 && uid == 1);
	CHECK(stat(bx("1"), &st) == 0 && S_ISREG(st.st_mode));
}

/* ---- an open folder ---- */

static void test_append_reopen(void)
{
	struct mailbox *box;
	struct mail_err err = { 0 };
	char *kw[] = { "Junk", NULL };
	uint32_t uid = 0;

	setup();
	CHECK(mail_create(&sess, "#driver.mh/box", &err) == 0);
	CHECK(mail_open(&sess, "box", 0, NULL, NULL, &box, &err) == 0);
	if (!box)
		return;
	CHECK(box->nmsgs == 0 && box->uidnext == 1 && box->uidvalidity);
	uint32_t validity = box->uidvalidity;
	mail_close(box, 0, NULL);
	CHECK(append_one("box", msg1, 0, NULL, &uid, &err) == 0 && uid == 1);
	CHECK(append_one("box", msg2, MF_SEEN | MF_FLAGGED, kw, &uid, &err) == 0 && uid == 2);
	size_t n;
	char *f = read_file(bx("1"), &n);
	CHECK_STR(f, stored1);
	free(f);
	char *s = seqs();
	CHECK_STR(s, "unseen: 1\nflagged: 2\nJunk: 2\n");
	free(s);
	CHECK(mail_open(&sess, "box", 0, NULL, NULL, &box, &err) == 0);
	if (!box)
		return;
	CHECK(box->nmsgs == 2 && box->uidvalidity == validity && box->uidnext == 3);
	CHECK_STR(text_of(box, 1), msg1);
	CHECK_STR(text_of(box, 2), msg2);
	CHECK(box->msgs[0]->size == strlen(msg1));
	CHECK(box->msgs[1]->internal_date == 1700000000);
	CHECK((box->msgs[0]->flags & MF_STORABLE) == 0);
	CHECK((box->msgs[1]->flags & MF_STORABLE) == (MF_SEEN | MF_FLAGGED));
	int j = mail_keyword(box, "junk", 0);
	CHECK(j >= 0 && kwset_low(&box->msgs[1]->keywords) == 1ULL << j && kwset_low(&box->msgs[0]->keywords) == 0);
	/* \Recent once: this session claimed both */
	CHECK(box->recent == 2);
	mail_close(box, 0, NULL);
	struct mail_status ss;
	CHECK(mail_status(&sess, "box", &ss, &err) == 0);
	CHECK(ss.messages == 2 && ss.unseen == 1 && ss.recent == 0 && ss.uidnext == 3 &&
	      ss.uidvalidity == validity);
}

/* STORE becomes sequences, and what nmh's mark writes becomes flags. */
static void test_flags_through_sequences(void)
{
	struct mailbox *box;
	struct mail_err err = { 0 };
	struct events ev = { 0 };

	setup();
	mail_create(&sess, "#driver.mh/box", &err);
	for (int i = 0; i < 3; i++)
		append_one("box", msg1, 0, NULL, NULL, &err);
	write_file(bx(".mh_sequences"), "unseen: 1-3\ncur: 2\npseq: 1 3\n");
	CHECK(mail_open(&sess, "box", 0, &evs, &ev, &box, &err) == 0);
	if (!box)
		return;
	CHECK(mail_store(box, 2, STORE_ADD, MF_SEEN | MF_ANSWERED | MF_DRAFT, KW(0), &err) == 0);
	int k = mail_keyword(box, "Work", 1);
	CHECK(k >= 0 && mail_store(box, 3, STORE_ADD, MF_DELETED, KW(1ULL << k), &err) == 0);
	CHECK(mail_check(box, &err) == 0);
	char *s = seqs();
	CHECK_STR(s, "unseen: 1 3\ncur: 2\npseq: 1 3\nreplied: 2\ndraft: 2\ndeleted: 3\nWork: 3\n");
	free(s);
	/* another program marks 1 seen and flagged, and drops pseq */
	usleep(20000);
	write_file(bx(".mh_sequences"), "unseen: 3\ncur: 2\nflagged: 1\nreplied: 2\ndraft: 2\n"
					"deleted: 3\nWork: 3\n");
	CHECK(mail_ping(box, &err) == 0);
	/* 1 changed, and pseq (a keyword of 1 and 3) is gone */
	CHECK(ev.nflags == 2 && ev.flagged[0] == 1 && ev.flagged[1] == 3);
	CHECK(kwset_low(&box->msgs[2]->keywords) == 1ULL << k);
	CHECK((box->msgs[0]->flags & MF_STORABLE) == (MF_SEEN | MF_FLAGGED));
	/* a keyword that cannot be a sequence name is refused, not lost */
	int bad = mail_keyword(box, "flagged", 1);
	if (bad >= 0) {
		CHECK(mail_store(box, 1, STORE_ADD, 0, KW(1ULL << bad), &err) == 0);
		CHECK(mail_check(box, &err) < 0 && err.code == MAIL_LIMIT);
		mail_store(box, 1, STORE_REMOVE, 0, KW(1ULL << bad), &err);
	}
	/* a keyword is one whatever the case of its sequence's name */
	write_file(bx(".mh_sequences"), "unseen: 3\ncur: 2\nflagged: 1\nreplied: 2\ndraft: 2\n"
					"deleted: 3\nWork: 3\nwork: 1\n");
	CHECK(mail_ping(box, &err) == 0 && kwset_low(&box->msgs[0]->keywords) == 1ULL << k);
	CHECK(mail_store(box, 1, STORE_REMOVE, 0, KW(1ULL << k), &err) == 0);
	CHECK(mail_store(box, 2, STORE_ADD, 0, KW(1ULL << k), &err) == 0);
	CHECK(mail_check(box, &err) == 0);
	s = seqs();
	CHECK_STR(s, "unseen: 3\ncur: 2\nflagged: 1\nreplied: 2\ndraft: 2\ndeleted: 3\nWork: 2-3\n");
	free(s);
	/* a sequences file too large to read whole is never rewritten */
	char *keep = seqs();
	FILE *big = fopen(bx(".mh_sequences"), "a");
	for (int i = 0; big && i < (17 << 20) / 32; i++)
		fputs("pad: 1 3 5 7 9 11 13 15 17 19 2\n", big);
	if (big)
		fclose(big);
	CHECK(mail_store(box, 1, STORE_ADD, MF_ANSWERED, KW(0), &err) == 0);
	CHECK(mail_check(box, &err) < 0 && err.code == MAIL_LIMIT);
	struct stat bst;
	CHECK(stat(bx(".mh_sequences"), &bst) == 0 && bst.st_size > (16 << 20));
	write_file(bx(".mh_sequences"), keep);
	free(keep);
	mail_store(box, 1, STORE_REMOVE, MF_ANSWERED, KW(0), &err);
	/* EXPUNGE unlinks 3 and takes it out of every sequence */
	CHECK(mail_expunge(box, NULL, 0, &err) == 0);
	struct stat st;
	CHECK(stat(bx("3"), &st) < 0 && errno == ENOENT);
	s = seqs();
	CHECK_STR(s, "cur: 2\nflagged: 1\nreplied: 2\ndraft: 2\nWork: 2\n");
	free(s);
	mail_close(box, 0, NULL);
}

static void test_two_sessions(void)
{
	struct mailbox *a, *b;
	struct mail_err err = { 0 };
	struct events ea = { 0 }, eb = { 0 };

	setup();
	mail_create(&sess, "#driver.mh/box", &err);
	append_one("box", msg1, 0, NULL, NULL, &err);
	append_one("box", msg2, 0, NULL, NULL, &err);
	CHECK(mail_open(&sess, "box", 0, &evs, &ea, &a, &err) == 0);
	CHECK(mail_open(&sess, "box", 0, &evs, &eb, &b, &err) == 0);
	if (!a || !b)
		return;
	CHECK(a->recent == 2 && b->recent == 0);
	CHECK(mail_store(b, 1, STORE_ADD, MF_SEEN, KW(0), &err) == 0);
	CHECK(mail_store(b, 2, STORE_ADD, MF_DELETED, KW(0), &err) == 0);
	CHECK(mail_expunge(b, NULL, 0, &err) == 0);
	CHECK(eb.nexp == 1 && eb.expunged[0] == 2 && b->nmsgs == 1);
	CHECK(mail_ping(a, &err) == 0);
	CHECK(ea.nexp == 1 && ea.expunged[0] == 2 && a->nmsgs == 1);
	CHECK(ea.nflags == 1 && ea.flagged[0] == 1 && (a->msgs[0]->flags & MF_SEEN));
	/* a's change reaches b; b's new message reaches a with the next UID */
	CHECK(mail_store(a, 1, STORE_ADD, MF_FLAGGED, KW(0), &err) == 0);
	CHECK(mail_check(a, &err) == 0);
	uint32_t uid = 0;
	CHECK(append_one("box", msg2, 0, NULL, &uid, &err) == 0 && uid == 3);
	CHECK(mail_ping(b, &err) == 0);
	CHECK((b->msgs[0]->flags & MF_STORABLE) == (MF_SEEN | MF_FLAGGED));
	CHECK(b->nmsgs == 2 && b->msgs[1]->uid == 3);
	CHECK(mail_ping(a, &err) == 0 && a->nmsgs == 2 && ea.last_exists == 2);
	mail_close(a, 0, NULL);
	mail_close(b, 0, NULL);
}

/* COPY between MH folders: hard links numbered in the destination, with
 * flags and keywords in its sequences; into a folder where nmh delivered
 * meanwhile, the next free numbers. */
static void test_copy_links(void)
{
	struct mailbox *box;
	struct mail_err err = { 0 };
	char *kw[] = { "Work", NULL };
	uint32_t uids[2] = { 0, 0 }, validity = 0;
	struct stat st;

	setup();
	mail_create(&sess, "#driver.mh/box", &err);
	mail_create(&sess, "#driver.mh/dest", &err);
	append_one("box", msg1, MF_SEEN, kw, NULL, &err);
	append_one("box", msg2, MF_FLAGGED, NULL, NULL, &err);
	write_file(fixture_path("dest", "1"), stored1);   /* delivered by nmh */
	CHECK(mail_open(&sess, "box", 0, NULL, NULL, &box, &err) == 0);
	if (!box)
		return;
	uint32_t msgnos[2] = { 1, 2 };
	CHECK(mail_copy(box, msgnos, 2, "dest", &validity, uids, &err) == 0);
	CHECK(uids[0] == 2 && uids[1] == 3 && validity);
	CHECK(stat(fixture_path("dest", "2"), &st) == 0 && st.st_nlink == 2);
	size_t n;
	char *d = read_file(fixture_path("dest", ".mh_sequences"), &n);
	CHECK_STR(d, "unseen: 3\nflagged: 3\nWork: 2\n");
	free(d);
	mail_close(box, 0, NULL);
	struct mail_status ss;
	CHECK(mail_status(&sess, "dest", &ss, &err) == 0 && ss.messages == 3 &&
	      ss.uidvalidity == validity && ss.uidnext == 4);
	CHECK(mail_open(&sess, "dest", 1, NULL, NULL, &box, &err) == 0);
	if (box) {
		CHECK_STR(text_of(box, 3), msg2);
		CHECK(box->msgs[1]->internal_date == 1700000000);
		mail_close(box, 0, NULL);
	}
}

/* A link, a FIFO or another user's file under a number is never served. */
static void test_planted_files(void)
{
	struct mailbox *box;
	struct mail_err err = { 0 };

	setup();
	mail_create(&sess, "#driver.mh/box", &err);
	append_one("box", msg1, 0, NULL, NULL, &err);
	write_file(fixture_path(NULL, "secret"), "Subject: someone else's\n\nsecret\n");
	CHECK(chown(fixture_path(NULL, "secret"), 65534, 65534) == 0);
	CHECK(symlink(fixture_path(NULL, "secret"), bx("5")) == 0);
	CHECK(link(fixture_path(NULL, "secret"), bx("6")) == 0);
	CHECK(mkfifo(bx("7"), 0600) == 0);
	CHECK(mail_open(&sess, "box", 0, NULL, NULL, &box, &err) == 0);
	if (!box)
		return;
	CHECK(box->nmsgs == 1);
	CHECK_STR(text_of(box, 1), msg1);
	mail_close(box, 0, NULL);
	struct mail_status ss;
	CHECK(mail_status(&sess, "box", &ss, &err) == 0 && ss.messages == 1);
	/* a link in place of the folder itself is refused */
	CHECK(symlink(bx(""), fixture_path(NULL, "linked")) == 0);
	CHECK(mail_open(&sess, "#driver.mh/linked", 0, NULL, NULL, &box, &err) < 0);
}

/* "folder -pack" renumbers, and a number reused after an expunge names
 * another message: either way a new, greater UIDVALIDITY. */
static void test_renumber(void)
{
	struct mailbox *box;
	struct mail_err err = { 0 };

	setup();
	mail_create(&sess, "#driver.mh/box", &err);
	for (int i = 0; i < 3; i++)
		append_one("box", msg1, 0, NULL, NULL, &err);
	struct mail_status s1, s2, s3;
	CHECK(mail_status(&sess, "box", &s1, &err) == 0);
	CHECK(unlink(bx("2")) == 0 && rename(bx("3"), bx("2")) == 0);
	CHECK(mail_open(&sess, "box", 0, NULL, NULL, &box, &err) == 0);
	if (!box)
		return;
	CHECK(box->uidvalidity > s1.uidvalidity && box->nmsgs == 2 && box->uidnext == 3);
	/* renumbered under an open session: it says so instead of lying */
	CHECK(unlink(bx("1")) == 0 && rename(bx("2"), bx("1")) == 0);
	CHECK(mail_ping(box, &err) < 0 && strstr(err.text, "renumbered"));
	CHECK(mail_ping(box, &err) < 0 && box->nmsgs == 0);   /* and keeps saying so */
	uint32_t v1 = box->uidvalidity;
	mail_close(box, 0, NULL);
	CHECK(mail_status(&sess, "box", &s2, &err) == 0 && s2.uidvalidity > s1.uidvalidity);
	CHECK(mail_open(&sess, "box", 0, NULL, NULL, &box, &err) == 0);
	if (!box)
		return;
	uint32_t v = box->uidvalidity;
	CHECK(v > v1 && v == s2.uidvalidity && box->nmsgs == 1);
	mail_close(box, 0, NULL);
	/* expunged at the end through a session, the record keeps UIDNEXT */
	append_one("box", msg1, 0, NULL, NULL, &err);   /* 2 */
	append_one("box", msg1, 0, NULL, NULL, &err);   /* 3 */
	CHECK(mail_open(&sess, "box", 0, NULL, NULL, &box, &err) == 0);
	if (!box)
		return;
	CHECK(box->nmsgs == 3 && box->msgs[2]->uid == 3);
	mail_store(box, 3, STORE_ADD, MF_DELETED, KW(0), &err);
	mail_store(box, 2, STORE_ADD, MF_DELETED, KW(0), &err);
	CHECK(mail_expunge(box, NULL, 0, &err) == 0 && box->nmsgs == 1);
	mail_close(box, 0, NULL);
	CHECK(mail_open(&sess, "box", 0, NULL, NULL, &box, &err) == 0);
	if (!box)
		return;
	CHECK(box->uidvalidity == v && box->uidnext == 4);
	mail_close(box, 0, NULL);
	CHECK(mail_status(&sess, "box", &s3, &err) == 0 && s3.uidnext == 4 && s3.uidvalidity == v);
	/* nmh numbers the next delivery 2 again: that is another message */
	write_file(bx("2"), stored1);
	CHECK(mail_status(&sess, "box", &s3, &err) == 0 && s3.uidvalidity > v);
	CHECK(mail_open(&sess, "box", 0, NULL, NULL, &box, &err) == 0);
	if (!box)
		return;
	v = box->uidvalidity;
	CHECK(v > s2.uidvalidity && box->nmsgs == 2 && box->uidnext == 3);
	mail_close(box, 0, NULL);
	CHECK(unlink(bx("2")) == 0);
	/* our APPEND never reuses a number once handed out */
	uint32_t uid = 0;
	CHECK(append_one("box", msg2, 0, NULL, &uid, &err) == 0 && uid == 3);
	CHECK(mail_status(&sess, "box", &s3, &err) == 0 && s3.uidvalidity == v && s3.uidnext == 4);
	/* the highest message removed by another program, then a new one
	 * under its number */
	CHECK(unlink(bx("3")) == 0);
	write_file(bx("3"), stored1);
	CHECK(mail_status(&sess, "box", &s3, &err) == 0 && s3.uidvalidity > v);
}

/* nmh's anno edits a message in place: still the same message (no new
 * UIDVALIDITY, the session keeps it), and its size follows the file. */
static void test_annotated_in_place(void)
{
	struct mailbox *box;
	struct mail_err err = { 0 };
	struct events ev = { 0 };

	setup();
	mail_create(&sess, "#driver.mh/box", &err);
	append_one("box", msg1, 0, NULL, NULL, &err);
	append_one("box", msg2, 0, NULL, NULL, &err);
	CHECK(mail_open(&sess, "box", 0, &evs, &ev, &box, &err) == 0);
	if (!box)
		return;
	uint32_t v = box->uidvalidity;
	mail_close(box, 0, NULL);
	CHECK(mail_open(&sess, "box", 0, &evs, &ev, &box, &err) == 0);   /* sizes recorded */
	if (!box)
		return;
	append_file(bx("1"), "Replied: Mon, 06 Jan 2025 10:00:00 +0000\n");
	CHECK(mail_ping(box, &err) == 0 && box->nmsgs == 2 && ev.nexp == 0);
	mail_close(box, 0, NULL);
	CHECK(mail_open(&sess, "box", 0, NULL, NULL, &box, &err) == 0);
	if (!box)
		return;
	CHECK(box->uidvalidity == v && box->nmsgs == 2);
	CHECK(box->msgs[0]->size == strlen(msg1) + strlen("Replied: Mon, 06 Jan 2025 10:00:00 +0000\r\n"));
	CHECK(box->msgs[1]->size == strlen(msg2));
	mail_close(box, 0, NULL);
}


/* kill -9 during appends: every numbered file is a whole message. */
static void test_crash_append(void)
{
	struct mail_err err = { 0 };
	struct mailbox *box;

	setup();
	mail_create(&sess, "#driver.mh/box", &err);
	append_one("box", msg1, 0, NULL, NULL, &err);
	for (int round = 0; round < 12; round++) {
		pid_t pid = fork();
		if (pid == 0) {
			for (;;)
				append_one("box", msg1, MF_SEEN, NULL, NULL, &err);
		}
		fixture_kill_after(pid, round == 11 ? 300000 : 300 + round * 700);
	}
	DIR *d = opendir(bx(""));
	struct dirent *e;
	size_t nums = 0, bad = 0;
	while (d && (e = readdir(d)) != NULL) {
		if (e->d_name[0] < '1' || e->d_name[0] > '9')
			continue;
		size_t n;
		char num[16];
		snprintf(num, sizeof num, "%lu", strtoul(e->d_name, NULL, 10));
		char *t = read_file(bx(num), &n);
		nums++;
		bad += !t || strcmp(t, stored1);
		free(t);
	}
	if (d)
		closedir(d);
	CHECK(nums > 1 && bad == 0);
	CHECK(mail_open(&sess, "box", 0, NULL, NULL, &box, &err) == 0);
	if (!box)
		return;
	CHECK(box->nmsgs == nums);
	for (uint32_t i = 1; i < box->nmsgs; i++)
		CHECK(box->msgs[i]->uid > box->msgs[i - 1]->uid);
	mail_close(box, 0, NULL);
}

/* kill -9 during flag writes: the sequences always say one whole state
 * of each message (here \Seen and \Flagged always change together), never
 * a tail of an older, longer text. */
static void test_crash_flags(void)
{
	struct mail_err err = { 0 };

	setup();
	mail_create(&sess, "#driver.mh/box", &err);
	for (int i = 0; i < 20; i++)
		append_one("box", msg1, 0, NULL, NULL, &err);
	fixture_killed_flag_writes(&sess, "box", fixture_kill_after);
	size_t n;
	char *t = read_file(bx(".mh_sequences"), &n);
	struct mh_seqs q;
	mh_seqs_parse(t ? t : "", t ? n : 0, &q);
	int names_ok = 1, consistent = 1;
	for (size_t i = 0; i < q.n; i++)
		names_ok &= !strcmp(q.v[i].name, "unseen") || !strcmp(q.v[i].name, "flagged");
	for (uint32_t m = 1; m <= 30; m++) {
		int unseen = mh_seq_has(mh_seqs_get(&q, "unseen", 0), m);
		int flagged = mh_seq_has(mh_seqs_get(&q, "flagged", 0), m);
		consistent &= m > 20 ? !unseen && !flagged : unseen != flagged;
	}
	CHECK(names_ok && consistent);
	if (!names_ok || !consistent)
		printf("sequences after the kills:\n%s", t ? t : "(none)");
	mh_seqs_free(&q);
	free(t);
	struct mailbox *box;
	CHECK(mail_open(&sess, "box", 0, NULL, NULL, &box, &err) == 0);
	if (box) {
		CHECK(box->nmsgs == 20);
		mail_close(box, 0, NULL);
	}
}

/* What a killed append left behind goes after 36 hours, not before. */
static void test_stale_temp_files(void)
{
	struct mail_err err = { 0 };
	struct mailbox *box;
	struct stat st;

	setup();
	mail_create(&sess, "#driver.mh/box", &err);
	write_file(bx(".imapd-append.1.1.1"), stored1);
	write_file(bx(".imapd-append.2.2.2"), stored1);
	write_file(bx(".notes"), "mine\n");
	struct timespec old[2] = { { time(NULL) - 40 * 3600, 0 }, { time(NULL) - 40 * 3600, 0 } };
	CHECK(utimensat(AT_FDCWD, bx(".imapd-append.1.1.1"), old, 0) == 0);
	CHECK(utimensat(AT_FDCWD, bx(".notes"), old, 0) == 0);
	/* ctime cannot be set back: a fresh file only looks old by mtime */
	CHECK(mail_open(&sess, "box", 0, NULL, NULL, &box, &err) == 0);
	if (box)
		mail_close(box, 0, NULL);
	CHECK(stat(bx(".imapd-append.1.1.1"), &st) == 0);
	CHECK(stat(bx(".imapd-append.2.2.2"), &st) == 0 && stat(bx(".notes"), &st) == 0);
}

int main(void)
{
	RUN(test_seq_parse);
	RUN(test_seq_set);
	RUN(test_seq_image);
	RUN(test_valid_and_list);
	RUN(test_mail_format);
	RUN(test_append_reopen);
	RUN(test_flags_through_sequences);
	RUN(test_two_sessions);
	RUN(test_copy_links);
	RUN(test_planted_files);
	RUN(test_renumber);
	RUN(test_annotated_in_place);
	RUN(test_crash_append);
	RUN(test_crash_flags);
	RUN(test_stale_temp_files);
	if (fixture_remove_tmpdir())
		mail_session_free(&sess);
	return test_summary("test-mh");
}
