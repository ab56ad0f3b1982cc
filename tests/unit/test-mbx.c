/* test-mbx.c: the mbx driver on real files: UW's header and message lines
 * parsed and written byte for byte, append and reopen, flags and keywords
 * in place, two sessions sharing one file (flags, appends, expunges, the
 * space reclaimed only when alone), UIDs given to UW's UID-less messages,
 * a tail cut short by a crash, damaged files, a planted lock link,
 * kill -9 during appends and expunges, and COPY's raw fast path. */
#include "mail_api.h"
#include "mbx.h"
#include "mbx_int.h"
#include "mbox_fixture.h"
#include "test.h"

#include <errno.h>
#include <fcntl.h>
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

/* The header UW's mailutil create writes (validity 6b15af7b). */
static void uw_header(char *b, uint32_t validity, uint32_t last)
{
	memset(b, 0, MBX_HDRSIZE);
	int n = snprintf(b, MBX_HDRSIZE, "*mbx*\r\n%08x%08x\r\n", validity, last);
	for (int i = 0; i < 30; i++)
		n += snprintf(b + n, MBX_HDRSIZE - (size_t)n, "\r\n");
}

static void setup(void)
{
	fixture_session(&sess, "test-mbx");
	mbx_lock_secs = 5;
}

#define append_one(...) fixture_append(&sess, __VA_ARGS__)

/* Add one of UW's message records to rec (NUL-terminated): its line,
 * dated 6 Dec 2026 at when, with flags and UID bits "KKKKKKKKSSSS-UUUUUUUU",
 * then the text. */
static void uw_rec(char *rec, size_t size, const char *when, const char *bits, const char *text)
{
	size_t n = strlen(rec);
	snprintf(rec + n, size - n, " 6-Dec-2026 %s,%zu;%s\r\n%s", when, strlen(text), bits, text);
}

/* A file ~/name made of UW's header and the given message lines+texts. */
static void write_uw_box(const char *name, uint32_t last, const char *records)
{
	char h[MBX_HDRSIZE];
	uw_header(h, 0x6b15af7b, last);
	FILE *f = fopen(fixture_path(NULL, name), "w");
	fwrite(h, 1, sizeof h, f);
	fputs(records, f);
	fclose(f);
}

/* ---- the format ---- */

static void test_header_roundtrip(void)
{
	char uw[MBX_HDRSIZE], out[MBX_HDRSIZE];
	struct mbx_header h;

	uw_header(uw, 0x6b15af7b, 2);
	CHECK(mbx_header_parse(uw, sizeof uw, &h) == 0);
	CHECK(h.validity == 0x6b15af7b && h.last_uid == 2 && h.nnames == 0 && h.pid == 0);
	h.names[h.nnames++] = xstrdup("foo");
	h.names[h.nnames++] = xstrdup("$Junk");
	h.pid = 0x1234;
	CHECK(mbx_header_format(out, &h) == 0);
	CHECK(memcmp(out, "*mbx*\r\n6b15af7b00000002\r\nfoo\r\n$Junk\r\n\r\n", 38) == 0);
	CHECK(memcmp(out + MBX_HDRSIZE - 10, "00001234\r\n", 10) == 0);
	mbx_header_free(&h);
	CHECK(mbx_header_parse(out, sizeof out, &h) == 0);
	CHECK(h.nnames == 2 && !strcmp(h.names[1], "$Junk") && h.pid == 0x1234);
	mbx_header_free(&h);
	/* a name too long for UW to use keeps its slot when written back */
	uw_header(uw, 1, 0);
	memset(uw + 25, 'k', 100);
	memcpy(uw + 125, "\r\nok\r\n", 6);
	CHECK(mbx_header_parse(uw, sizeof uw, &h) == 0 && h.nnames == 2);
	CHECK(mbx_slot(&h, "new", 1) == 2 && mbx_slot(&h, "OK", 1) == 1);
	CHECK(mbx_header_format(out, &h) == 0 && !memcmp(out + 125, "\r\nok\r\nnew\r\n\r\n", 13));
	mbx_header_free(&h);
	memcpy(uw, "*mbx*\r\n6b15af7x", 15);
	CHECK(mbx_header_parse(uw, sizeof uw, &h) < 0);
	CHECK(mbx_header_parse(out, 100, &h) < 0);
}

static void test_record_lines(void)
{
	/* as UW's mailutil wrote them */
	const char *uw = " 6-Dec-2026 18:00:00 +0000,37;00000000001d-00000001\r\nFrom";
	struct mbx_rec r;
	struct buf b;

	CHECK(mbx_rec_parse(uw, strlen(uw), &r) == MBX_REC_OK);
	CHECK(r.size == 37 && r.sys == 0x1d && r.kw == 0 && r.uid == 1 && r.linelen == 53);
	CHECK(r.date == 1796580000 && r.tz_minutes == 0);
	buf_init(&b);
	mbx_rec_format(&b, &r);
	CHECK_MEM(b.data, b.len, " 6-Dec-2026 18:00:00 +0000,37;00000000001d-00000001\r\n");
	buf_reset(&b);
	r.tz_minutes = -330;
	r.date = 1796580000;
	r.kw = 0x3;
	r.uid = 0xabc;
	mbx_rec_format(&b, &r);
	CHECK_MEM(b.data, b.len, " 6-Dec-2026 12:30:00 -0530,37;00000003001d-00000abc\r\n");
	struct mbx_rec back;
	CHECK(mbx_rec_parse(b.data, b.len, &back) == MBX_REC_OK && back.date == r.date &&
	      back.tz_minutes == -330);
	buf_free(&b);
	CHECK(mbx_rec_parse(uw, 30, &r) == MBX_REC_SHORT);
	CHECK(mbx_rec_parse(" 6-Dec-2026 18:00:00 +0000,0;000000000001d-00000001\r\n", 53, &r) ==
	      MBX_REC_BAD);
	CHECK(mbx_rec_parse(" 6-Dec-2026 18:00:00 +0000,37;000000000001d+00000001\r\n", 54, &r) ==
	      MBX_REC_BAD);
	CHECK(mbx_rec_parse("garbage\r\n", 9, &r) == MBX_REC_BAD);
	char flags[22];
	mbx_flags_format(flags, 0x5, MBX_SEEN | MBX_OLD, 7);
	CHECK_STR(flags, "000000050011-00000007");
}

/* ---- the driver ---- */

static void test_append_and_reopen(void)
{
	struct mail_err err = { 0 };
	struct mailbox *box;
	uint32_t uid = 0, validity = 0;
	char *kw[] = { "foo", "$Label1", NULL };

	setup();
	CHECK(mail_create(&sess, "#driver.mbx/box", &err) == 0);
	CHECK(append_one("box", msg1, MF_SEEN | MF_FLAGGED, kw, &uid, &err) == 0 && uid == 1);
	struct mail_new m = { .text = "Subject: lf\n\nbody\n", .len = 18, .date = 1700000000 };
	CHECK(mail_append(&sess, "box", &m, 1, &validity, &uid, &err) == 0 && uid == 2);
	size_t n;
	char *f = read_file(fixture_path(NULL, "box"), &n);
	const char *lf = "Subject: lf\r\n\r\nbody\r\n";
	CHECK(f && n == MBX_HDRSIZE + 53 + strlen(msg1) + 53 + strlen(lf));
	CHECK(f && !memcmp(f + 23, "\r\nfoo\r\n$Label1\r\n\r\n", 18));
	char line[80];
	snprintf(line, sizeof line, "14-Nov-2023 22:13:20 +0000,%zu;000000030005-00000001\r\n",
		 strlen(msg1));
	CHECK(f && !memcmp(f + MBX_HDRSIZE, line, strlen(line)));
	free(f);
	CHECK(mail_open(&sess, "box", 0, NULL, NULL, &box, &err) == 0);
	if (!box)
		return;
	CHECK(box->nmsgs == 2 && box->uidvalidity == validity && box->uidnext == 3);
	CHECK(box->recent == 2);
	CHECK(box->msgs[0]->flags == (MF_SEEN | MF_FLAGGED | MF_RECENT));
	CHECK(box->nkeywords == 2 && kwset_low(&box->msgs[0]->keywords) == 3);
	CHECK_STR(text_of(box, 1), msg1);
	CHECK_STR(text_of(box, 2), lf);
	const char *h;
	size_t hl;
	CHECK(mail_fetch_header(box, 1, &h, &hl, &err) == 0);
	CHECK_MEM(h, hl, "From: a@example.com\r\nSubject: one\r\n\r\n");
	CHECK(mail_fetch_header(box, 2, &h, &hl, &err) == 0);
	CHECK_MEM(h, hl, "Subject: lf\r\n\r\n");
	CHECK_STR(text_of(box, 2), lf);
	CHECK(mail_fetch_header(box, 2, &h, &hl, &err) == 0);
	CHECK_MEM(h, hl, "Subject: lf\r\n\r\n");
	CHECK(box->msgs[1]->size == strlen(lf) && box->msgs[0]->internal_date == 1700000000);
	CHECK(mail_store(box, 2, STORE_ADD, MF_ANSWERED, KW(2), &err) == 0);
	CHECK(mail_close(box, 0, &err) == 0);
	CHECK(mail_open(&sess, "box", 1, NULL, NULL, &box, &err) == 0);
	if (!box)
		return;
	CHECK(box->recent == 0 && box->msgs[1]->flags == MF_ANSWERED && kwset_low(&box->msgs[1]->keywords) == 2);
	struct mail_status st;
	CHECK(mail_status(&sess, "box", &st, &err) == 0);
	CHECK(st.messages == 2 && st.unseen == 1 && st.uidnext == 3 && st.uidvalidity == validity &&
	      st.recent == 0);
	mail_close(box, 0, NULL);
}

/* Messages UW's mailutil copied in carry no UID: the first read-write
 * open gives them theirs in the file, and STATUS says so beforehand. */
static void test_uidless_messages(void)
{
	struct mail_err err = { 0 };
	struct mailbox *box;
	struct mail_status st;
	char rec[256];

	setup();
	rec[0] = '\0';
	uw_rec(rec, sizeof rec, "18:00:00 +0000", "000000000001-00000000", msg1);
	uw_rec(rec, sizeof rec, "18:01:00 +0000", "000000000000-00000000", msg2);
	write_uw_box("uw", 0, rec);
	/* read-only: numbered in the session alone, and on past its own */
	CHECK(mail_open(&sess, "uw", 1, NULL, NULL, &box, &err) == 0);
	if (!box)
		return;
	CHECK(box->nmsgs == 2 && box->msgs[0]->uid == 1 && box->msgs[1]->uid == 2);
	rec[0] = '\0';
	uw_rec(rec, sizeof rec, "18:02:00 +0000", "000000000000-00000000", msg1);
	append_file(fixture_path(NULL, "uw"), rec);
	CHECK(mail_ping(box, &err) == 0 && box->nmsgs == 3 && box->msgs[2]->uid == 3);
	CHECK(box->uidnext == 4);
	mail_close(box, 0, NULL);
	size_t n0;
	char *f0 = read_file(fixture_path(NULL, "uw"), &n0);
	CHECK(f0 && !memcmp(f0 + 15, "00000000", 8));   /* nothing written */
	free(f0);
	CHECK(mail_status(&sess, "uw", &st, &err) == 0);
	CHECK(st.messages == 3 && st.recent == 3 && st.uidnext == 4 && st.unseen == 2);
	CHECK(mail_open(&sess, "uw", 0, NULL, NULL, &box, &err) == 0);
	if (!box)
		return;
	CHECK(box->nmsgs == 3 && box->msgs[1]->uid == 2 && box->recent == 3);
	CHECK(box->uidvalidity == 0x6b15af7b);
	mail_close(box, 0, NULL);
	size_t n;
	char *f = read_file(fixture_path(NULL, "uw"), &n);
	CHECK(f && !memcmp(f + 15, "00000003", 8));
	CHECK(f && strstr(f + MBX_HDRSIZE, "000000000011-00000001\r\n"));
	CHECK(f && strstr(f + MBX_HDRSIZE, "000000000010-00000002\r\n"));
	free(f);
}

/* A header slot whose name cannot be an IMAP keyword: hidden from
 * clients, its bits kept when the message's flags are written. */
static void test_hidden_slot(void)
{
	struct mail_err err = { 0 };
	struct mailbox *box;
	char h[MBX_HDRSIZE], rec[256];

	setup();
	uw_header(h, 7, 1);
	memcpy(h + 25, "bad name\r\nok\r\n", 14);
	FILE *f = fopen(fixture_path(NULL, "kw"), "w");
	fwrite(h, 1, sizeof h, f);
	rec[0] = '\0';
	uw_rec(rec, sizeof rec, "18:00:00 +0000", "000000030010-00000001", msg1);
	fputs(rec, f);
	fclose(f);
	CHECK(mail_open(&sess, "kw", 0, NULL, NULL, &box, &err) == 0);
	if (!box)
		return;
	CHECK(box->nkeywords == 1 && !strcmp(box->keywords[0], "ok") && kwset_low(&box->msgs[0]->keywords) == 1);
	CHECK(mail_store(box, 1, STORE_ADD, MF_SEEN, KW(0), &err) == 0);
	CHECK(mail_store(box, 1, STORE_REMOVE, 0, KW(1), &err) == 0);
	CHECK(mail_close(box, 0, &err) == 0);
	size_t n;
	char *t = read_file(fixture_path(NULL, "kw"), &n);
	CHECK(t && strstr(t + MBX_HDRSIZE, ";000000010011-00000001\r\n"));
	CHECK(t && !memcmp(t + 25, "bad name\r\nok\r\n", 14));
	free(t);
}

/* UW's mbx INBOX: a ~/INBOX file in mbx format is INBOX; a ~/INBOX
 * directory, or an mbox file there, is not. */
static void test_inbox_file(void)
{
	struct mail_err err = { 0 };
	char *p;

	setup();
	write_file(fixture_path(NULL, "INBOX"), "From a@b Sun Dec  6 18:00:00 2026\n\nx\n");
	p = mail_resolve(&sess, "INBOX", &err);
	CHECK_STR(p, fixture_path("spool", "alice"));
	free(p);
	setup();
	CHECK(mail_create(&sess, "#driver.mbx/INBOX.new", &err) == 0);
	CHECK(rename(fixture_path(NULL, "INBOX.new"), fixture_path(NULL, "INBOX")) == 0);
	/* a new session: INBOX is found once per session */
	mail_session_free(&sess);
	mail_session_init(&sess, "alice", tmpdir, fixture_path(NULL, "spool"));
	p = mail_resolve(&sess, "INBOX", &err);
	CHECK_STR(p, fixture_path(NULL, "INBOX"));
	free(p);
	CHECK(append_one("INBOX", msg1, 0, NULL, NULL, &err) == 0);
	size_t n;
	char *f = read_file(fixture_path(NULL, "INBOX"), &n);
	CHECK(f && n > MBX_HDRSIZE && strstr(f + MBX_HDRSIZE, msg1));
	free(f);
	setup();
	mkdir(fixture_path(NULL, "INBOX"), 0700);
	write_file(fixture_path("INBOX", ".mh_sequences"), "");
	p = mail_resolve(&sess, "INBOX", &err);
	CHECK_STR(p, fixture_path("spool", "alice"));
	free(p);
}

/* Two sessions: flags, appends and expunges seen by the other; the space
 * of an expunged message stays (hidden) until the file is ours alone. */
static void test_two_sessions(void)
{
	struct mail_err err = { 0 };
	struct mailbox *a, *b;
	struct events eb = { 0 };
	struct stat s1, s2;

	setup();
	mail_create(&sess, "#driver.mbx/box", &err);
	append_one("box", msg1, 0, NULL, NULL, &err);
	append_one("box", msg2, 0, NULL, NULL, &err);
	CHECK(mail_open(&sess, "box", 0, NULL, NULL, &a, &err) == 0);
	CHECK(mail_open(&sess, "box", 0, &evs, &eb, &b, &err) == 0);
	if (!a || !b)
		return;
	CHECK(mail_store(a, 1, STORE_ADD, MF_FLAGGED, KW(0), &err) == 0);
	CHECK(mail_flush(a, &err) == 0);
	CHECK(mail_ping(b, &err) == 0);
	CHECK(eb.nflags == 1 && eb.flagged[0] == 1 && (b->msgs[0]->flags & MF_FLAGGED));
	append_one("box", msg1, 0, NULL, NULL, &err);
	CHECK(mail_ping(b, &err) == 0);
	CHECK(b->nmsgs == 3 && eb.last_exists == 3);
	stat(fixture_path(NULL, "box"), &s1);
	CHECK(mail_store(a, 1, STORE_ADD, MF_DELETED, KW(0), &err) == 0);
	CHECK(mail_expunge(a, NULL, 0, &err) == 0 && a->nmsgs == 2);
	stat(fixture_path(NULL, "box"), &s2);
	CHECK(s1.st_ino == s2.st_ino && s1.st_size == s2.st_size);   /* b holds it */
	CHECK(mail_ping(b, &err) == 0);
	CHECK(eb.nexp == 1 && eb.expunged[0] == 1 && b->nmsgs == 2);
	CHECK_STR(text_of(b, 1), msg2);
	/* an expunge and an append seen in one look: both told */
	CHECK(mail_store(a, 1, STORE_ADD, MF_DELETED, KW(0), &err) == 0);
	CHECK(mail_expunge(a, NULL, 0, &err) == 0);
	append_one("box", msg2, 0, NULL, NULL, &err);
	eb.exists = 0;
	CHECK(mail_ping(b, &err) == 0);
	CHECK(eb.nexp == 2 && eb.expunged[1] == 1 && eb.exists == 1 && eb.last_exists == 2);
	CHECK(b->nmsgs == 2 && b->msgs[1]->uid == 4 && (b->msgs[1]->flags & MF_RECENT));
	mail_close(b, 0, NULL);
	CHECK(mail_check(a, &err) == 0);
	stat(fixture_path(NULL, "box"), &s2);
	CHECK(s1.st_ino != s2.st_ino && s2.st_size == s1.st_size - 53 - (off_t)strlen(msg1) -
						       53 - (off_t)strlen(msg2) + 53 + (off_t)strlen(msg2));
	CHECK(a->nmsgs == 2);
	CHECK_STR(text_of(a, 1), msg1);
	CHECK_STR(text_of(a, 2), msg2);
	mail_close(a, 0, NULL);
	CHECK(mail_open(&sess, "box", 0, NULL, NULL, &a, &err) == 0);
	CHECK(a && a->nmsgs == 2 && a->msgs[0]->uid == 3 && a->msgs[1]->uid == 4);
	mail_close(a, 0, NULL);
}

/* An append killed midway leaves part of a message at the end: a
 * read-write open cuts it off, a read-only one reads around it. */
static void test_cut_tail(void)
{
	struct mail_err err = { 0 };
	struct mailbox *box;

	setup();
	mail_create(&sess, "#driver.mbx/box", &err);
	append_one("box", msg1, 0, NULL, NULL, &err);
	size_t n;
	char *f = read_file(fixture_path(NULL, "box"), &n);
	append_file(fixture_path(NULL, "box"), "14-Nov-2023 22:13:20 +0000,49;000000000000-00000002\r\nFrom: a");
	CHECK(mail_open(&sess, "box", 1, NULL, NULL, &box, &err) == 0);
	CHECK(box && box->nmsgs == 1);
	mail_close(box, 0, NULL);
	CHECK(mail_open(&sess, "box", 0, NULL, NULL, &box, &err) == 0);
	CHECK(box && box->nmsgs == 1);
	mail_close(box, 0, NULL);
	size_t m;
	char *g = read_file(fixture_path(NULL, "box"), &m);
	/* the same bytes but for the claim of \Recent (MBX_OLD) */
	CHECK(f && g && m == n && !memcmp(f + MBX_HDRSIZE + 53, g + MBX_HDRSIZE + 53,
					  n - MBX_HDRSIZE - 53));
	CHECK(g && !memcmp(g + MBX_HDRSIZE + 38, "0010-00000001", 13));
	free(f);
	free(g);
}

/* Damaged and hostile files: a clear error naming the mailbox. */
static void test_damaged(void)
{
	struct mail_err err = { 0 };
	struct mailbox *box = NULL;
	char rec[256];

	setup();
	rec[0] = '\0';
	uw_rec(rec, sizeof rec, "18:00:00 +0000", "000000000001-00000001", msg1);
	strcat(rec, "this is no message line\r\n");
	write_uw_box("bad", 1, rec);
	CHECK(mail_open(&sess, "bad", 0, NULL, NULL, &box, &err) < 0 && !box);
	CHECK(err.code == MAIL_CORRUPT && strstr(err.text, "bad") && strstr(err.text, "damaged"));
	struct mail_status st;
	CHECK(mail_status(&sess, "bad", &st, &err) < 0 && err.code == MAIL_CORRUPT);
	/* a FIFO under the name: refused at once, never waited on */
	mkfifo(fixture_path(NULL, "fifo"), 0600);
	CHECK(mail_open(&sess, "#driver.mbx/fifo", 0, NULL, NULL, &box, &err) < 0);
}

/* A link planted at UW's lock name in /tmp is never followed. */
static void test_planted_lock_link(void)
{
	struct mail_err err = { 0 };
	struct mailbox *box = NULL;
	struct stat st;
	char lk[64];

	setup();
	mail_create(&sess, "#driver.mbx/box", &err);
	append_one("box", msg1, 0, NULL, NULL, &err);
	stat(fixture_path(NULL, "box"), &st);
	snprintf(lk, sizeof lk, "/tmp/.%lx.%lx", (unsigned long)st.st_dev, (unsigned long)st.st_ino);
	write_file(fixture_path(NULL, "victim"), "precious");
	unlink(lk);
	CHECK(symlink(fixture_path(NULL, "victim"), lk) == 0);
	CHECK(mail_open(&sess, "box", 0, NULL, NULL, &box, &err) < 0 && !box);
	CHECK(err.code == MAIL_INUSE && strstr(err.text, "symbolic link"));
	CHECK(append_one("box", msg1, 0, NULL, NULL, &err) < 0);
	size_t n;
	char *v = read_file(fixture_path(NULL, "victim"), &n);
	CHECK_STR(v, "precious");
	free(v);
	unlink(lk);
	/* a hard link there (two names): refused, the file untouched */
	CHECK(link(fixture_path(NULL, "victim"), lk) == 0);
	CHECK(mail_open(&sess, "box", 0, NULL, NULL, &box, &err) < 0 && err.code == MAIL_INUSE);
	unlink(lk);
	/* another user's plain file (UW leaves them, mode 0666): only flocked */
	write_file(lk, "4242");
	CHECK(chown(lk, 12345, 12345) == 0 && chmod(lk, 0666) == 0);
	CHECK(mail_open(&sess, "box", 0, NULL, NULL, &box, &err) == 0 && box && box->nmsgs == 1);
	mail_close(box, 0, NULL);
	v = read_file(lk, &n);
	CHECK(!v || !strcmp(v, "4242"));   /* removed by the last holder, as UW does, or kept */
	free(v);
	v = read_file(fixture_path(NULL, "victim"), &n);
	CHECK_STR(v, "precious");
	free(v);
	unlink(lk);
	CHECK(mail_open(&sess, "box", 0, NULL, NULL, &box, &err) == 0 && box && box->nmsgs == 1);
	mail_close(box, 0, NULL);
}

/* The lock file UW's scheme names for ~/box as it is now. */
static void lock_name_of_box(char *lk, size_t size)
{
	struct stat st;

	lk[0] = '\0';
	if (stat(fixture_path(NULL, "box"), &st) == 0)
		snprintf(lk, size, "/tmp/.%lx.%lx", (unsigned long)st.st_dev,
			 (unsigned long)st.st_ino);
}

/* A killed child may leave its lock file in /tmp (as a crashed UW does):
 * remove it, so no later mailbox that gets the same numbers (another
 * test's, as another user) finds a root-owned one that UW cannot open. */
static void forget_lock(const char *lk)
{
	if (lk[0])
		unlink(lk);
}

static void kill_after(pid_t pid, int us)
{
	char before[64], after[64];

	lock_name_of_box(before, sizeof before);
	usleep((useconds_t)us);
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	lock_name_of_box(after, sizeof after);
	forget_lock(before);
	forget_lock(after);
}

/* After kill -9 anywhere in appends and expunges, every message is there
 * once, whole, and the file opens. */
static void test_crash(void)
{
	struct mail_err err = { 0 };
	struct mailbox *box;
	unsigned kept = 0, bad = 0;

	setup();
	mail_create(&sess, "#driver.mbx/box", &err);
	for (int i = 0; i < 30; i++)
		append_one("box", msg1, 0, NULL, NULL, &err);
	for (int round = 0; round < 16; round++) {
		pid_t pid = fork();
		if (pid == 0) {
			struct mailbox *b;
			for (;;) {
				append_one("box", msg2, 0, NULL, NULL, &err);
				if (mail_open(&sess, "box", 0, NULL, NULL, &b, &err) < 0)
					continue;
				if (b->nmsgs > 31) {
					mail_store(b, b->nmsgs, STORE_ADD, MF_DELETED, KW(0), &err);
					mail_expunge(b, NULL, 0, &err);
				}
				mail_close(b, 0, NULL);
			}
		}
		kill_after(pid, 500 + round * 900);
	}
	CHECK(mail_open(&sess, "box", 0, NULL, NULL, &box, &err) == 0);
	if (!box)
		return;
	for (uint32_t i = 1; i <= box->nmsgs; i++) {
		const char *t = text_of(box, i);
		kept += i <= 30;
		bad += i <= 30 ? strcmp(t, msg1) != 0 : strcmp(t, msg2) != 0;
		bad += i > 1 && box->msgs[i - 1]->uid <= box->msgs[i - 2]->uid;
	}
	CHECK(kept == 30 && bad == 0);
	mail_close(box, 0, NULL);
}

/* The step a forked child dies at (SIGKILL, as a crash). */
static const char *die_at;

static void die_hook(const char *step)
{
	if (die_at && !strcmp(step, die_at))
		raise(SIGKILL);
}

/* A child killed at each step of an append and of an expunge's rewrite:
 * every message is there once, whole; no temp file stays after the next
 * open. */
static void test_crash_points(void)
{
	static const char *const steps[] = { "append-header", "append-done", "reclaim-written",
					      "reclaim-renamed" };
	struct mail_err err = { 0 };

	for (size_t s = 0; s < ARRAY_SIZE(steps); s++) {
		struct mailbox *box;
		setup();
		mail_create(&sess, "#driver.mbx/box", &err);
		append_one("box", msg1, 0, NULL, NULL, &err);
		append_one("box", msg2, MF_DELETED, NULL, NULL, &err);
		char first[64];
		lock_name_of_box(first, sizeof first);
		pid_t pid = fork();
		if (pid == 0) {
			die_at = steps[s];
			mbx_test_hook = die_hook;
			if (mail_open(&sess, "box", 0, NULL, NULL, &box, &err) == 0)
				mail_expunge(box, NULL, 0, &err);
			append_one("box", msg1, 0, NULL, NULL, &err);
			_exit(0);
		}
		int status;
		char lk[64];
		waitpid(pid, &status, 0);
		lock_name_of_box(lk, sizeof lk);
		forget_lock(lk);
		forget_lock(first);
		CHECK(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
		CHECK(mail_open(&sess, "box", 0, NULL, NULL, &box, &err) == 0);
		if (!box)
			continue;
		/* the expunge comes first: its message is hidden once marked */
		static const uint32_t want[] = { 1, 2, 1, 1 };
		CHECK(box->nmsgs == want[s]);
		for (uint32_t i = 1; i <= box->nmsgs; i++)
			CHECK_STR(text_of(box, i), msg1);
		mail_close(box, 0, NULL);
		CHECK(access(fixture_path(NULL, ".box.mbxtmp"), F_OK) < 0);
	}
}

/* COPY between mbx files copies the stored bytes as they are (a text UW
 * stored with bare LFs stays so), flags, keywords by name and dates, and
 * answers the new UIDs; a COPY into the same file works too. */
static void test_copy_raw(void)
{
	struct mail_err err = { 0 };
	struct mailbox *box;
	const char *lf = "Subject: lf\n\nbare\n";
	char rec[256];

	setup();
	rec[0] = '\0';
	uw_rec(rec, sizeof rec, "18:00:00 +0100", "000000000011-00000001", msg1);
	uw_rec(rec, sizeof rec, "18:01:00 +0000", "000000000010-00000002", lf);
	write_uw_box("src", 2, rec);
	CHECK(mail_create(&sess, "#driver.mbx/dst", &err) == 0);
	CHECK(mail_open(&sess, "src", 0, NULL, NULL, &box, &err) == 0);
	if (!box)
		return;
	int k = mail_keyword(box, "$Work", 1);
	CHECK(k >= 0 && mail_store(box, 2, STORE_ADD, MF_FLAGGED, KW(1ULL << k), &err) == 0);
	CHECK(box->msgs[0]->tz_minutes == 60);
	box = fixture_copy_two(&sess, box, "dst");
	if (!box)
		return;
	CHECK_STR(text_of(box, 1), msg1);
	CHECK_STR(text_of(box, 2), "Subject: lf\r\n\r\nbare\r\n");
	mail_close(box, 0, &err);
	size_t n;
	char *f = read_file(fixture_path(NULL, "dst"), &n);
	CHECK(f && n > MBX_HDRSIZE && memmem(f + MBX_HDRSIZE, n - MBX_HDRSIZE, lf, strlen(lf)));
	free(f);
}

/* A child killed at each step of a COPY between mbx files: the target
 * holds every copied message whole, or none of them. */
static void test_copy_crash_points(void)
{
	static const char *const steps[] = { "append-header", "append-done" };
	static const uint32_t want[] = { 1, 3 }, msgnos[] = { 1, 2 };
	struct mail_err err = { 0 };

	for (size_t s = 0; s < ARRAY_SIZE(steps); s++) {
		struct mailbox *box;
		setup();
		mail_create(&sess, "#driver.mbx/src", &err);
		mail_create(&sess, "#driver.mbx/box", &err);
		append_one("src", msg1, 0, NULL, NULL, &err);
		append_one("src", msg2, MF_SEEN, NULL, NULL, &err);
		append_one("box", msg2, 0, NULL, NULL, &err);
		char lk[64];
		lock_name_of_box(lk, sizeof lk);
		pid_t pid = fork();
		if (pid == 0) {
			die_at = steps[s];
			mbx_test_hook = die_hook;
			if (mail_open(&sess, "src", 0, NULL, NULL, &box, &err) == 0)
				mail_copy(box, msgnos, 2, "box", NULL, NULL, &err);
			_exit(0);
		}
		int status;
		waitpid(pid, &status, 0);
		forget_lock(lk);
		CHECK(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
		CHECK(mail_open(&sess, "box", 0, NULL, NULL, &box, &err) == 0);
		if (!box)
			continue;
		CHECK(box->nmsgs == want[s]);
		for (uint32_t i = 1; i <= box->nmsgs; i++)
			CHECK_STR(text_of(box, i), i == 2 ? msg1 : msg2);
		mail_close(box, 0, NULL);
	}
}

int main(void)
{
	RUN(test_header_roundtrip);
	RUN(test_record_lines);
	RUN(test_append_and_reopen);
	RUN(test_uidless_messages);
	RUN(test_hidden_slot);
	RUN(test_inbox_file);
	RUN(test_two_sessions);
	RUN(test_cut_tail);
	RUN(test_damaged);
	RUN(test_planted_lock_link);
	RUN(test_crash);
	RUN(test_crash_points);
	RUN(test_copy_raw);
	RUN(test_copy_crash_points);
	fixture_remove_tmpdir();
	mail_session_free(&sess);
	return test_summary("test-mbx");
}
