/* test-unix.c: the Berkeley mbox driver against real files: MTA-written
 * spools, flags/UID persistence in the UW/Dovecot header convention, new
 * mail, two sessions at once, crash safety under kill -9, and deliveries
 * racing expunges under liblockfile + fcntl locking. */
#include "lock.h"
#include "mail_api.h"
#include "mbox_fixture.h"
#include "search.h"
#include "test.h"
#include "unix_int.h"

#define MMDF_MARK "\1\1\1\1\n"

#include <errno.h>
#include <fcntl.h>
#include <lockfile.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static struct mail_session sess;

/* ---- helpers ---- */

static char *path_of(const char *name)
{
	return fixture_path(NULL, name);
}

static void setup(void)
{
	if (fixture_remove_tmpdir())
		mail_session_free(&sess);
	fixture_make_tmpdir("test-unix");
	mkdir(path_of("spool"), 0775);
	mail_session_init(&sess, "alice", tmpdir, path_of("spool"));
}

/* A spool as Postfix local writes it, including quirks. */
static const char mta_mbox[] =
	FIXTURE_MBOX_FIRST_FROM "Return-Path: <bob@example.com>\n" FIXTURE_MBOX_REST "\n\n";

static void test_open_mta_mbox(void)
{
	struct mailbox *box;
	struct mail_err err = { 0 };

	setup();
	write_file(path_of("spool/alice"), mta_mbox);
	CHECK(mail_open(&sess, "inbox", 1, NULL, NULL, &box, &err) == 0);
	if (!box)
		return;
	CHECK_STR(box->name, "INBOX");
	CHECK(box->nmsgs == 3);
	CHECK_STR(text_of(box, 1), "Return-Path: <bob@example.com>\r\nSubject: one\r\n\r\n"
				   "Hello\r\n>From the quoted line\r\n\r\n"
				   "From here on it is body text, not a separator\r\n");
	CHECK_STR(text_of(box, 2), "Subject: two\r\n\r\nline\r\n");
	CHECK_STR(text_of(box, 3), "Subject: three\r\n folded\r\n\r\nlast\r\n");
	for (uint32_t i = 1; i <= box->nmsgs; i++)
		CHECK(box->msgs[i - 1]->size == strlen(text_of(box, i)));
	CHECK(box->msgs[0]->flags == MF_RECENT);
	/* a sender's Status, X-Status, X-Keywords in the spool count for nothing */
	CHECK(box->msgs[1]->flags == MF_RECENT);
	CHECK(kwset_low(&box->msgs[1]->keywords) == 0);
	CHECK(box->recent == 3);
	/* From line dates: local time, or the zone given */
	struct tm tm = { .tm_year = 125, .tm_mon = 0, .tm_mday = 6, .tm_hour = 10, .tm_isdst = -1 };
	CHECK(box->msgs[0]->internal_date == mktime(&tm));
	CHECK(box->msgs[2]->internal_date == 1736330400);
	CHECK(box->msgs[2]->tz_minutes == 120);
	CHECK(box->msgs[0]->uid == 1 && box->msgs[2]->uid == 3);
	mail_close(box, 0, NULL);
	/* read-only: nothing written */
	size_t n;
	char *s = read_file(path_of("spool/alice"), &n);
	CHECK(n == strlen(mta_mbox) && !memcmp(s, mta_mbox, n));
	free(s);
}

static void test_flags_roundtrip(void)
{
	struct mailbox *box;
	struct mail_err err = { 0 };
	uint32_t uids[3], validity;

	setup();
	write_file(path_of("spool/alice"), mta_mbox);
	CHECK(mail_open(&sess, "INBOX", 0, NULL, NULL, &box, &err) == 0);
	if (!box)
		return;
	validity = box->uidvalidity;
	for (int i = 0; i < 3; i++)
		uids[i] = box->msgs[i]->uid;
	/* the delivered X-Keywords names are not the user's: Todo comes first */
	int k = mail_keyword(box, "Todo", 1);
	CHECK(k == 0);
	CHECK(mail_store(box, 1, STORE_ADD, MF_SEEN | MF_DELETED | MF_DRAFT, KW(1ULL << k), &err) == 0);
	CHECK(mail_store(box, 2, STORE_SET, 0, KW(0), &err) == 0);
	mail_close(box, 0, NULL);
	const char *p = path_of("spool/alice");
	CHECK(contains(p, "Subject: " "DON'T DELETE THIS MESSAGE -- FOLDER INTERNAL DATA"));
	CHECK(contains(p, "X-IMAP: "));
	/* status lines always there, padded for in-place updates */
	CHECK(contains(p, "Status: RO\nX-Status: DT  \nX-Keywords: Todo      "));
	CHECK(contains(p, "Subject: two\nStatus: O \nX-Status:     \nX-Keywords:    "));
	CHECK(contains(p, "                 \nX-UID: 2\n\nline\r\n"));
	CHECK(!contains(p, "$Forwarded  Junk"));
	CHECK(contains(p, "Content-Length: 999\n"));

	CHECK(mail_open(&sess, "INBOX", 0, NULL, NULL, &box, &err) == 0);
	if (!box)
		return;
	CHECK(box->uidvalidity == validity);
	CHECK(box->nmsgs == 3);
	CHECK(box->recent == 0);
	for (int i = 0; i < 3; i++)
		CHECK(box->msgs[i]->uid == uids[i]);
	CHECK(box->msgs[0]->flags == (MF_SEEN | MF_DELETED | MF_DRAFT));
	CHECK(kwset_low(&box->msgs[0]->keywords) == 1ULL << mail_keyword(box, "todo", 0));
	CHECK(box->msgs[1]->flags == 0);
	CHECK_STR(text_of(box, 1), "Return-Path: <bob@example.com>\r\nSubject: one\r\n\r\n"
				   "Hello\r\n>From the quoted line\r\n\r\n"
				   "From here on it is body text, not a separator\r\n");
	CHECK_STR(text_of(box, 3), "Subject: three\r\n folded\r\n\r\nlast\r\n");
	mail_close(box, 0, NULL);
}

/* The frame msg_n writes: the suites below that work on files they write
 * run once on mbox files and once on MMDF files (UW's Ctrl-A frame). */
static int mmdf;

/* The spool file by name: INBOX, which is always mbox, or (MMDF) the
 * same file by its path. */
static const char *spool_name(void)
{
	return mmdf ? "spool/alice" : "INBOX";
}

static const char *msg_n(int i, const char *tag)
{
	static char b[512];
	snprintf(b, sizeof b,
		 "%sFrom mta@example.org Fri Feb  7 09:%02d:00 2025\n"
		 "Subject: %s %d\n\nbody of %s %d\n\nFrom inside body\n%s", mmdf ? MMDF_MARK : "",
		 i % 60, tag, i, tag, i, mmdf ? MMDF_MARK : "\n");
	return b;
}

static void test_uids_stable_and_new_mail(void)
{
	struct mailbox *box, *again;
	struct mail_err err = { 0 };
	struct events ev = { 0 };

	setup();
	write_file(path_of("spool/alice"), "");
	for (int i = 0; i < 3; i++)
		append_file(path_of("spool/alice"), msg_n(i, "m"));
	CHECK(mail_open(&sess, spool_name(), 0, &evs, &ev, &box, &err) == 0);
	if (!box)
		return;
	CHECK(box->nmsgs == 3);
	uint32_t v = box->uidvalidity;
	/* new delivery noticed by ping, parsing only the tail */
	append_file(path_of("spool/alice"), msg_n(3, "m"));
	CHECK(mail_ping(box, &err) == 0);
	CHECK(ev.exists == 1 && ev.last_exists == 4);
	CHECK(box->nmsgs == 4 && box->msgs[3]->uid == 4);
	CHECK(box->msgs[3]->flags & MF_RECENT);
	CHECK_STR(text_of(box, 4), "Subject: m 3\r\n\r\nbody of m 3\r\n\r\nFrom inside body\r\n");
	CHECK(mail_ping(box, &err) == 0);
	CHECK(ev.exists == 1);
	/* another session (read-only) sees the same UIDs before anything is written */
	CHECK(mail_open(&sess, spool_name(), 1, NULL, NULL, &again, &err) == 0);
	if (again) {
		CHECK(again->nmsgs == 4 && again->msgs[3]->uid == 4 && again->uidvalidity == v);
		mail_close(again, 0, NULL);
	}
	mail_close(box, 0, NULL);
	CHECK(contains(path_of("spool/alice"), "X-UID: 4\n"));
	append_file(path_of("spool/alice"), msg_n(4, "m"));
	CHECK(mail_open(&sess, spool_name(), 0, NULL, NULL, &box, &err) == 0);
	if (!box)
		return;
	CHECK(box->uidvalidity == v && box->nmsgs == 5);
	CHECK(box->msgs[3]->uid == 4 && box->msgs[4]->uid == 5 && box->uidnext == 6);
	CHECK(box->recent == 1);
	/* expunge the last one, the UID is never reused */
	box->msgs[4]->flags |= MF_DELETED;
	CHECK(mail_expunge(box, NULL, 0, &err) == 0);
	mail_close(box, 0, NULL);
	append_file(path_of("spool/alice"), msg_n(5, "m"));
	CHECK(mail_open(&sess, spool_name(), 1, NULL, NULL, &box, &err) == 0);
	if (!box)
		return;
	CHECK(box->nmsgs == 5 && box->msgs[4]->uid == 6);
	mail_close(box, 0, NULL);
}

static void test_two_sessions(void)
{
	struct mailbox *a, *b;
	struct mail_err err = { 0 };
	struct events ea = { 0 }, eb = { 0 };

	setup();
	write_file(path_of("spool/alice"), "");
	for (int i = 0; i < 4; i++)
		append_file(path_of("spool/alice"), msg_n(i, "s"));
	CHECK(mail_open(&sess, spool_name(), 0, &evs, &ea, &a, &err) == 0);
	CHECK(mail_open(&sess, spool_name(), 0, &evs, &eb, &b, &err) == 0);
	if (!a || !b)
		return;
	CHECK(a->uidvalidity == b->uidvalidity);
	CHECK(a->recent == 4 && b->recent == 0);
	CHECK(mail_store(a, 2, STORE_ADD, MF_FLAGGED, KW(0), &err) == 0);
	CHECK(mail_ping(a, &err) == 0);   /* dirty flags are written at ping */
	CHECK(mail_ping(b, &err) == 0);
	CHECK(eb.nflags == 1 && eb.flagged[0] == 2);
	CHECK(b->msgs[1]->flags & MF_FLAGGED);
	/* b expunges message 1; a sees it */
	CHECK(mail_store(b, 1, STORE_ADD, MF_DELETED, KW(0), &err) == 0);
	CHECK(mail_expunge(b, NULL, 0, &err) == 0);
	CHECK(eb.nexp == 1 && eb.expunged[0] == 1);
	CHECK(mail_ping(a, &err) == 0);
	CHECK(ea.nexp == 1 && ea.expunged[0] == 1);
	CHECK(a->nmsgs == 3 && a->msgs[0]->uid == 2 && (a->msgs[0]->flags & MF_FLAGGED));
	CHECK_STR(text_of(a, 3), "Subject: s 3\r\n\r\nbody of s 3\r\n\r\nFrom inside body\r\n");
	/* both change different messages without pinging in between */
	CHECK(mail_store(a, 1, STORE_ADD, MF_SEEN, KW(0), &err) == 0);
	CHECK(mail_store(b, 3, STORE_ADD, MF_ANSWERED, KW(0), &err) == 0);
	CHECK(mail_check(a, &err) == 0);
	CHECK(mail_check(b, &err) == 0);
	CHECK(mail_ping(a, &err) == 0);
	CHECK(a->msgs[2]->flags & MF_ANSWERED);
	CHECK(b->msgs[0]->flags & MF_SEEN);
	/* new mail seen by both */
	append_file(path_of("spool/alice"), msg_n(9, "s"));
	CHECK(mail_ping(a, &err) == 0 && mail_ping(b, &err) == 0);
	CHECK(a->nmsgs == 4 && b->nmsgs == 4 && a->msgs[3]->uid == b->msgs[3]->uid);
	mail_close(a, 0, NULL);
	mail_close(b, 0, NULL);
}

static void test_expunge_keeps_bytes(void)
{
	struct mailbox *box;
	struct mail_err err = { 0 };
	char *before[3];

	setup();
	/* CRLF bodies, trailing spaces, binary-ish bytes must survive */
	write_file(path_of("box"),
		   "From a Mon Jan  6 10:00:00 2025\nSubject: a\n\nx \r\ny\t\n\n\n"
		   "From b Mon Jan  6 10:00:01 2025\nSubject: b\n\nzzz\n\n"
		   "From c Mon Jan  6 10:00:02 2025\nSubject: c\n\n\xff\x01 end\n>From x\n");
	CHECK(mail_open(&sess, "box", 0, NULL, NULL, &box, &err) == 0);
	if (!box)
		return;
	CHECK(box->nmsgs == 3);
	for (int i = 0; i < 3; i++)
		before[i] = xstrdup(text_of(box, (uint32_t)i + 1));
	CHECK_STR(before[0], "Subject: a\r\n\r\nx \r\ny\t\r\n\r\n");
	CHECK_STR(before[2], "Subject: c\r\n\r\n\xff\x01 end\r\n>From x\r\n");
	box->msgs[1]->flags |= MF_DELETED;
	CHECK(mail_expunge(box, NULL, 0, &err) == 0);
	CHECK(box->nmsgs == 2);
	CHECK_STR(text_of(box, 1), before[0]);
	CHECK_STR(text_of(box, 2), before[2]);
	mail_close(box, 0, NULL);
	CHECK(mail_open(&sess, "box", 1, NULL, NULL, &box, &err) == 0);
	if (box) {
		CHECK(box->nmsgs == 2);
		CHECK_STR(text_of(box, 1), before[0]);
		CHECK_STR(text_of(box, 2), before[2]);
		mail_close(box, 0, NULL);
	}
	for (int i = 0; i < 3; i++)
		free(before[i]);
	/* uid-restricted expunge (UID EXPUNGE) */
	CHECK(mail_open(&sess, "box", 0, NULL, NULL, &box, &err) == 0);
	if (box) {
		uint32_t keep = box->msgs[0]->uid, gone = box->msgs[1]->uid;
		box->msgs[0]->flags |= MF_DELETED;
		box->msgs[1]->flags |= MF_DELETED;
		CHECK(mail_expunge(box, &gone, 1, &err) == 0);
		CHECK(box->nmsgs == 1 && box->msgs[0]->uid == keep);
		mail_close(box, 0, NULL);
	}
}

static void test_missing_inbox(void)
{
	struct mailbox *box;
	struct mail_err err = { 0 };
	struct events ev = { 0 };

	setup();
	CHECK(mail_open(&sess, "INBOX", 0, &evs, &ev, &box, &err) == 0);
	if (!box)
		return;
	CHECK(box->nmsgs == 0);
	CHECK(mail_ping(box, &err) == 0);
	write_file(path_of("spool/alice"), msg_n(1, "late"));
	CHECK(mail_ping(box, &err) == 0);
	CHECK(box->nmsgs == 1 && ev.last_exists == 1);
	CHECK_STR(text_of(box, 1), "Subject: late 1\r\n\r\nbody of late 1\r\n\r\nFrom inside body\r\n");
	mail_store(box, 1, STORE_ADD, MF_SEEN, KW(0), &err);
	mail_close(box, 0, NULL);
	CHECK(contains(path_of("spool/alice"), "Status: RO\n"));
	/* missing non-INBOX is an error */
	CHECK(mail_open(&sess, "nosuch", 0, NULL, NULL, &box, &err) < 0);
	CHECK(err.code == MAIL_NONEXISTENT);
	/* empty file: a valid, empty mailbox */
	write_file(path_of("empty"), "");
	CHECK(mail_open(&sess, "empty", 0, NULL, NULL, &box, &err) == 0);
	if (box) {
		CHECK(box->nmsgs == 0);
		mail_close(box, 0, NULL);
	}
	/* a file in no format we know: not a mailbox (and not called damaged) */
	write_file(path_of("notes.txt"), "hello\n");
	CHECK(mail_open(&sess, "notes.txt", 0, NULL, NULL, &box, &err) < 0);
	CHECK(err.code == MAIL_NOTMAILBOX);
}

static void test_dovecot_base(void)
{
	struct mailbox *box;
	struct mail_err err = { 0 };

	setup();
	write_file(path_of("dove"),
		   "From x Mon Jan  6 10:00:00 2025\n"
		   "X-IMAPbase: 1234567 0000000042 Work\n"
		   "Subject: d1\nStatus: RO\nX-Keywords: Work\nX-UID: 40\n\nb1\n\n"
		   "From x Mon Jan  6 10:00:00 2025\n"
		   "Subject: d2\nX-UID: 42\n\nb2\n\n"
		   "From x Mon Jan  6 10:00:00 2025\n"
		   "Subject: d3\nX-UID: 99\n\nb3\n\n");
	CHECK(mail_open(&sess, "dove", 0, NULL, NULL, &box, &err) == 0);
	if (!box)
		return;
	CHECK(box->uidvalidity == 1234567);
	CHECK(box->nmsgs == 3);
	CHECK(box->msgs[0]->uid == 40 && box->msgs[1]->uid == 42 && box->msgs[2]->uid == 43);
	CHECK(kwset_low(&box->msgs[0]->keywords) == 1 && !strcmp(box->keywords[0], "Work"));
	CHECK_STR(text_of(box, 1), "Subject: d1\r\n\r\nb1\r\n");
	mail_close(box, 0, NULL);
	CHECK(mail_open(&sess, "dove", 1, NULL, NULL, &box, &err) == 0);
	if (box) {
		CHECK(box->uidvalidity == 1234567 && box->msgs[2]->uid == 43 && box->uidnext == 44);
		mail_close(box, 0, NULL);
	}
}

static void test_append_and_copy(void)
{
	struct mailbox *box;
	struct mail_err err = { 0 };
	char *kw[] = { "Work", NULL };
	struct mail_new m[2] = {
		{ .text = "Subject: hi\r\nX-UID: 77\r\nStatus: R\r\n\r\nFrom me\r\n"
			  "From a@b Mon Jan  6 10:00:02 2025\r\n>From q\r\nbye\r\n",
		  .len = 0, .flags = MF_SEEN | MF_FLAGGED | MF_RECENT, .keywords = kw,
		  .date = 1700000000 },
		{ .text = "Subject: two\n\nlf only\n", .len = 0 },
	};
	uint32_t uids[2], v = 0, v2 = 0;

	setup();
	m[0].len = strlen(m[0].text);
	m[1].len = strlen(m[1].text);
	CHECK(mail_append(&sess, "box", m, 2, &v, uids, &err) < 0);
	CHECK(err.code == MAIL_NONEXISTENT);
	CHECK(mail_create(&sess, "box", &err) == 0);
	CHECK(mail_append(&sess, "box", m, 2, &v, uids, &err) == 0);
	CHECK(uids[0] == 1 && uids[1] == 2);
	/* every "From " line is quoted, mboxrd style */
	CHECK(contains(path_of("box"), "\n>From me\n>From a@b Mon Jan  6 10:00:02 2025\n"
			   ">>From q\n"));
	CHECK(mail_append(&sess, "box", m + 1, 1, &v2, uids, &err) == 0);
	CHECK(v2 == v && uids[0] == 3);
	CHECK(mail_open(&sess, "box", 0, NULL, NULL, &box, &err) == 0);
	if (!box)
		return;
	CHECK(box->uidvalidity == v && box->nmsgs == 3);
	CHECK(box->msgs[0]->uid == 1 && box->msgs[2]->uid == 3);
	CHECK(box->msgs[0]->flags == (MF_SEEN | MF_FLAGGED | MF_RECENT));
	CHECK(kwset_low(&box->msgs[0]->keywords) == 1ULL << mail_keyword(box, "work", 0));
	CHECK(box->msgs[0]->internal_date == 1700000000);
	/* and read back exactly */
	CHECK_STR(text_of(box, 1), "Subject: hi\r\n\r\nFrom me\r\n"
				   "From a@b Mon Jan  6 10:00:02 2025\r\n>From q\r\nbye\r\n");
	CHECK(box->msgs[0]->size == strlen(text_of(box, 1)));
	CHECK_STR(text_of(box, 2), "Subject: two\r\n\r\nlf only\r\n");
	/* copy 1 and 3 to INBOX (missing: INBOX always exists) */
	uint32_t msgnos[2] = { 1, 3 };
	CHECK(mail_copy(box, msgnos, 2, "INBOX", &v, uids, &err) == 0);
	CHECK(mail_copy(box, msgnos, 2, "nosuch", &v, uids, &err) < 0 && err.code == MAIL_NONEXISTENT);
	mail_close(box, 0, NULL);
	CHECK(mail_open(&sess, "INBOX", 1, NULL, NULL, &box, &err) == 0);
	if (box) {
		CHECK(box->nmsgs == 2 && box->msgs[1]->uid == uids[1]);
		CHECK(box->msgs[0]->flags == (MF_SEEN | MF_FLAGGED | MF_RECENT));
		CHECK_STR(text_of(box, 2), "Subject: two\r\n\r\nlf only\r\n");
		mail_close(box, 0, NULL);
	}
	/* appending to a mailbox with new, UID-less MTA mail still gives the
	 * UIDs a later open sees */
	append_file(path_of("box"), msg_n(1, "mta"));
	CHECK(mail_append(&sess, "box", m + 1, 1, NULL, uids, &err) == 0);
	CHECK(mail_open(&sess, "box", 1, NULL, NULL, &box, &err) == 0);
	if (box) {
		CHECK(box->nmsgs == 5 && box->msgs[4]->uid == uids[0]);
		CHECK(box->msgs[3]->uid < uids[0]);
		mail_close(box, 0, NULL);
	}
}

/* ---- crash safety: kill -9 a rewriter at random moments ---- */

static void rewriter(void)
{
	struct mail_err err = { 0 };
	struct mailbox *box;

	alarm(20);
	for (int round = 0;; round++) {
		if (mail_open(&sess, "crash", 0, NULL, NULL, &box, &err) < 0)
			_exit(2);
		for (uint32_t i = 1; i <= box->nmsgs; i++)
			mail_store(box, i, round & 1 ? STORE_ADD : STORE_REMOVE,
				   MF_SEEN | (i % 3 ? MF_FLAGGED : 0), KW(0), &err);
		mail_check(box, &err);
		mail_close(box, 0, NULL);
	}
}

static void test_crash_safety(void)
{
	struct mail_err err = { 0 };
	struct mailbox *box;
	char *expect[40];
	int bad = 0, mid_write = 0;

	setup();
	write_file(path_of("crash"), "");
	for (int i = 0; i < 40; i++) {
		append_file(path_of("crash"), msg_n(i, "crash"));
		char b[128];
		snprintf(b, sizeof b, "Subject: crash %d\r\n\r\nbody of crash %d\r\n\r\n"
			 "From inside body\r\n", i, i);
		expect[i] = xstrdup(b);
	}
	srand((unsigned)getpid());
	for (int round = 0; round < 40; round++) {
		pid_t pid = fork();
		if (pid == 0)
			rewriter();
		usleep((useconds_t)(rand() % 30000));
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		char tmpf[600];
		snprintf(tmpf, sizeof tmpf, "%s/.crash.imaptmp", tmpdir);
		mid_write += access(tmpf, F_OK) == 0;
		if (mail_open(&sess, "crash", 1, NULL, NULL, &box, &err) < 0) {
			bad++;
			continue;
		}
		if (box->nmsgs != 40)
			bad++;
		for (uint32_t i = 0; i < box->nmsgs && i < 40; i++)
			if (strcmp(text_of(box, i + 1), expect[i]) || box->msgs[i]->uid != i + 1)
				bad++;
		mail_close(box, 0, NULL);
	}
	CHECK(bad == 0);
	/* the rewrites kept the file's frame */
	CHECK(contains(path_of("crash"), MMDF_MARK "From MAILER-DAEMON") == mmdf);
	if (getenv("VERBOSE"))
		printf("crash test: %d of 40 kills hit a rewrite in progress\n", mid_write);
	/* our temp file may remain; the next read-write open removes it */
	char tmp[600];
	snprintf(tmp, sizeof tmp, "%s/.crash.imaptmp", tmpdir);
	write_file(tmp, "junk");
	CHECK(mail_open(&sess, "crash", 0, NULL, NULL, &box, &err) == 0);
	if (box)
		mail_close(box, 0, NULL);
	CHECK(access(tmp, F_OK) < 0);
	for (int i = 0; i < 40; i++)
		free(expect[i]);
}


/* ---- in-place flag updates ---- */

static struct stat stat_of(const char *path)
{
	struct stat st;
	memset(&st, 0, sizeof st);
	stat(path, &st);
	return st;
}

/* Do a and b (same length) differ only inside our status lines? */
static int only_status_changed(const char *a, const char *b, size_t n)
{
	static const char *ok[] = { "Status:", "X-Status:", "X-Keywords:", "X-IMAP-Gen:" };

	for (size_t i = 0; i < n; i++) {
		if (a[i] == b[i])
			continue;
		size_t ls = i;
		while (ls && b[ls - 1] != '\n')
			ls--;
		int good = 0;
		for (size_t k = 0; k < 4; k++)
			good |= !strncmp(b + ls, ok[k], strlen(ok[k]));
		if (!good)
			return 0;
	}
	return 1;
}

/* A mailbox of n messages already written by us (record, padded lines). */
static void make_ours(const char *name, int n)
{
	struct mailbox *box;
	struct mail_err err = { 0 };

	write_file(path_of(name), "");
	for (int i = 0; i < n; i++)
		append_file(path_of(name), msg_n(i, "ip"));
	if (mail_open(&sess, name, 0, NULL, NULL, &box, &err) == 0)
		mail_close(box, 0, NULL);
}

static void test_inplace_flags(void)
{
	struct mailbox *a, *b;
	struct mail_err err = { 0 };
	struct events ea = { 0 }, eb = { 0 };
	size_t n0, n1;

	setup();
	make_ours("ip", 6);
	const char *p = path_of("ip");
	struct stat s0 = stat_of(p);
	char *before = read_file(p, &n0);
	CHECK(contains(p, "X-IMAP-Gen: 0000000000\n"));
	CHECK(mail_open(&sess, "ip", 0, &evs, &ea, &a, &err) == 0);
	CHECK(mail_open(&sess, "ip", 0, &evs, &eb, &b, &err) == 0);
	if (!a || !b)
		return;
	CHECK(mail_store(a, 2, STORE_ADD, MF_SEEN | MF_FLAGGED, KW(0), &err) == 0);
	CHECK(mail_flush(a, &err) == 0);
	struct stat s1 = stat_of(p);
	char *after = read_file(p, &n1);
	CHECK(s1.st_ino == s0.st_ino && s1.st_size == s0.st_size && n1 == n0);
	CHECK(n1 == n0 && only_status_changed(before, after, n0));
	CHECK(contains(p, "Subject: ip 1\nStatus: RO\nX-Status: F   \n"));
	CHECK(contains(p, "X-IMAP-Gen: 0000000001\n"));
	free(before);
	free(after);
	/* the other session sees it at once, even within one clock tick */
	CHECK(mail_ping(b, &err) == 0);
	CHECK(eb.nflags == 1 && eb.flagged[0] == 2);
	CHECK((b->msgs[1]->flags & (MF_SEEN | MF_FLAGGED)) == (MF_SEEN | MF_FLAGGED));
	int missed = 0;
	for (int r = 0; r < 30; r++) {
		mail_store(a, 3, r & 1 ? STORE_REMOVE : STORE_ADD, MF_ANSWERED, KW(0), &err);
		mail_flush(a, &err);
		mail_ping(b, &err);
		missed += !!(b->msgs[2]->flags & MF_ANSWERED) != !(r & 1);
	}
	CHECK(missed == 0);
	CHECK(stat_of(p).st_ino == s0.st_ino && stat_of(p).st_size == s0.st_size);
	/* in-place change, then new mail: the other session must not take
	 * it for a pure append */
	CHECK(mail_store(a, 1, STORE_ADD, MF_DELETED, KW(0), &err) == 0);
	CHECK(mail_flush(a, &err) == 0);
	append_file(p, msg_n(40, "new"));
	CHECK(mail_ping(b, &err) == 0);
	CHECK(b->nmsgs == 7 && (b->msgs[0]->flags & MF_DELETED));
	/* the new message has no padded lines: its first change rewrites */
	CHECK(mail_ping(a, &err) == 0 && a->nmsgs == 7);
	CHECK(mail_store(a, 7, STORE_ADD, MF_SEEN, KW(0), &err) == 0);
	CHECK(mail_flush(a, &err) == 0);
	struct stat s2 = stat_of(p);
	CHECK(s2.st_ino != s0.st_ino);
	CHECK(mail_store(a, 7, STORE_ADD, MF_FLAGGED, KW(0), &err) == 0);
	CHECK(mail_flush(a, &err) == 0);
	CHECK(stat_of(p).st_ino == s2.st_ino && stat_of(p).st_size == s2.st_size);
	CHECK(mail_ping(b, &err) == 0);
	CHECK((b->msgs[6]->flags & (MF_SEEN | MF_FLAGGED)) == (MF_SEEN | MF_FLAGGED));
	mail_close(a, 0, NULL);
	mail_close(b, 0, NULL);
	/* a fresh session (from the index) agrees, bodies intact */
	CHECK(mail_open(&sess, "ip", 1, NULL, NULL, &a, &err) == 0);
	if (!a)
		return;
	CHECK(a->nmsgs == 7 && a->msgs[0]->flags == MF_DELETED);
	CHECK(a->msgs[1]->flags == (MF_SEEN | MF_FLAGGED) && a->msgs[2]->flags == 0);
	CHECK(a->msgs[6]->flags == (MF_SEEN | MF_FLAGGED));
	CHECK_STR(text_of(a, 2), "Subject: ip 1\r\n\r\nbody of ip 1\r\n\r\nFrom inside body\r\n");
	mail_close(a, 0, NULL);
}

static void test_inplace_keywords(void)
{
	struct mailbox *a, *b;
	struct mail_err err = { 0 };

	setup();
	make_ours("kw", 3);
	const char *p = path_of("kw");
	CHECK(mail_open(&sess, "kw", 0, NULL, NULL, &a, &err) == 0);
	CHECK(mail_open(&sess, "kw", 0, NULL, NULL, &b, &err) == 0);
	if (!a || !b)
		return;
	/* a new keyword name must go into the folder record: rewrite */
	ino_t ino = stat_of(p).st_ino;
	int w = mail_keyword(a, "$Work", 1);
	CHECK(mail_store(a, 1, STORE_ADD, 0, KW(1ULL << w), &err) == 0);
	CHECK(mail_flush(a, &err) == 0);
	CHECK(stat_of(p).st_ino != ino);
	/* a known one fits the room: in place */
	ino = stat_of(p).st_ino;
	off_t size = stat_of(p).st_size;
	CHECK(mail_store(a, 2, STORE_ADD, 0, KW(1ULL << w), &err) == 0);
	CHECK(mail_flush(a, &err) == 0);
	CHECK(stat_of(p).st_ino == ino && stat_of(p).st_size == size);
	CHECK(mail_ping(b, &err) == 0);
	int wb = mail_keyword(b, "$work", 0);
	CHECK(wb >= 0 && kwset_low(&b->msgs[1]->keywords) == 1ULL << wb);
	/* more than the room: rewrite, and the result is right */
	uint64_t all = 1ULL << w;
	char name[64];
	for (int i = 0; i < 4; i++) {
		snprintf(name, sizeof name, "a-rather-long-keyword-%d", i);
		all |= 1ULL << mail_keyword(a, name, 1);
	}
	CHECK(mail_store(a, 1, STORE_ADD, 0, KW(all), &err) == 0);
	CHECK(mail_flush(a, &err) == 0);
	ino = stat_of(p).st_ino;
	CHECK(mail_store(a, 3, STORE_ADD, 0, KW(all), &err) == 0);
	CHECK(mail_flush(a, &err) == 0);
	CHECK(stat_of(p).st_ino != ino);
	CHECK(mail_ping(b, &err) == 0);
	CHECK(b->nkeywords == 5 && __builtin_popcountll(kwset_low(&b->msgs[2]->keywords)) == 5);
	CHECK(__builtin_popcountll(kwset_low(&b->msgs[0]->keywords)) == 5);
	mail_close(a, 0, NULL);
	mail_close(b, 0, NULL);
}

/* Padded lines as UW/Dovecot write them parse without the padding. */
static void test_padded_foreign(void)
{
	struct mailbox *box;
	struct mail_err err = { 0 };

	setup();
	write_file(path_of("pad"), "From x Mon Jan  6 10:00:00 2025\nSubject: a\n"
		   "Status: RO   \nX-Status: F  \nX-Keywords: $Work    \n\nbody\n\n");
	CHECK(mail_open(&sess, "pad", 1, NULL, NULL, &box, &err) == 0);
	if (!box)
		return;
	CHECK(box->nmsgs == 1 && box->msgs[0]->flags == (MF_SEEN | MF_FLAGGED));
	CHECK(box->nkeywords == 1 && !strcmp(box->keywords[0], "$Work"));
	CHECK(kwset_low(&box->msgs[0]->keywords) == 1);
	CHECK_STR(text_of(box, 1), "Subject: a\r\n\r\nbody\r\n");
	mail_close(box, 0, NULL);
}

/* kill -9 during a loop of in-place changes: each message keeps its old or
 * its new flags, never a mix, and the file never needs a rewrite. */
#define IP_ALL (MF_SEEN | MF_FLAGGED | MF_ANSWERED | MF_DRAFT)

static void inplace_flipper(void)
{
	struct mail_err err = { 0 };
	struct mailbox *box;

	alarm(20);
	if (mail_open(&sess, "ipc", 0, NULL, NULL, &box, &err) < 0)
		_exit(2);
	int k = mail_keyword(box, "Later", 0);
	for (int round = 0;; round++) {
		for (uint32_t i = 1; i <= box->nmsgs; i++)
			mail_store(box, i, STORE_SET, round & 1 ? IP_ALL : 0, KW(round & 1 ? 1ULL << k : 0), &err);
		mail_flush(box, &err);
	}
}

static void test_inplace_crash(void)
{
	struct mail_err err = { 0 };
	struct mailbox *box;
	int bad = 0;

	setup();
	make_ours("ipc", 40);
	CHECK(mail_open(&sess, "ipc", 0, NULL, NULL, &box, &err) == 0);
	if (!box)
		return;
	int k = mail_keyword(box, "Later", 1);
	mail_store(box, 1, STORE_ADD, 0, KW(1ULL << k), &err);
	mail_store(box, 1, STORE_REMOVE, 0, KW(1ULL << k), &err);
	mail_close(box, 0, NULL);   /* the record now lists the keyword */
	struct stat s0 = stat_of(path_of("ipc"));
	srand((unsigned)getpid());
	for (int round = 0; round < 40; round++) {
		pid_t pid = fork();
		if (pid == 0)
			inplace_flipper();
		usleep((useconds_t)(rand() % 30000));
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		if (mail_open(&sess, "ipc", 1, NULL, NULL, &box, &err) < 0) {
			bad++;
			continue;
		}
		bad += box->nmsgs != 40 || box->nkeywords != 1;
		for (uint32_t i = 0; i < box->nmsgs && i < 40; i++) {
			struct message *m = box->msgs[i];
			uint32_t f = m->flags & IP_ALL;
			char want[128];
			snprintf(want, sizeof want, "Subject: ip %u\r\n\r\nbody of ip %u\r\n\r\n"
				 "From inside body\r\n", i, i);
			if (!((f == 0 && !kwset_low(&m->keywords)) || (f == IP_ALL && kwset_low(&m->keywords) == 1)) ||
			    strcmp(text_of(box, i + 1), want) || m->uid != i + 1)
				bad++;
		}
		mail_close(box, 0, NULL);
	}
	CHECK(bad == 0);
	struct stat s1 = stat_of(path_of("ipc"));
	CHECK(s1.st_ino == s0.st_ino && s1.st_size == s0.st_size);
	CHECK(!contains(path_of("ipc"), "X-IMAP-Gen: 0000000000\n"));   /* it did run */
}

/* ---- deliveries racing expunges ---- */

static void deliver(const char *path, const char *text)
{
	char lock[600];
	int fd;
	struct flock fl = { .l_type = F_WRLCK, .l_whence = SEEK_SET };

	snprintf(lock, sizeof lock, "%s.lock", path);
	for (int r; (r = lockfile_create(lock, 0, L_PID)) != L_SUCCESS; usleep(1000))
		if (r != L_MAXTRYS)
			_exit(4);
	fd = open(path, O_WRONLY | O_APPEND | O_CREAT, 0600);
	while (fcntl(fd, F_SETLKW, &fl) < 0)
		;
	if (write(fd, text, strlen(text)) != (ssize_t)strlen(text))
		_exit(3);
	fsync(fd);
	close(fd);
	lockfile_remove(lock);
}

static void test_concurrent_delivery(void)
{
	struct mail_err err = { 0 };
	struct mailbox *box;
	const int N = 60;

	setup();
	write_file(path_of("spool/alice"), "");
	for (int i = 0; i < 30; i++)
		append_file(path_of("spool/alice"), msg_n(i, "junk"));
	pid_t pid = fork();
	if (pid == 0) {
		alarm(60);
		for (int i = 0; i < N; i++) {
			deliver(path_of("spool/alice"), msg_n(i, "keep"));
			usleep(2000);
		}
		_exit(0);
	}
	int status, done = 0, rounds = 0;
	while (!done) {
		done = waitpid(pid, &status, WNOHANG) == pid;
		if (mail_open(&sess, spool_name(), 0, NULL, NULL, &box, &err) < 0) {
			fprintf(stderr, "open: %s\n", err.text);
			kill(pid, SIGKILL);
			waitpid(pid, &status, 0);
			break;
		}
		for (uint32_t i = 1; i <= box->nmsgs; i++)
			if (strstr(text_of(box, i), "Subject: junk")) {
				box->msgs[i - 1]->flags |= MF_DELETED;
				break;
			}
		mail_expunge(box, NULL, 0, &err);
		mail_close(box, 0, NULL);
		rounds++;
	}
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	CHECK(mail_open(&sess, spool_name(), 1, NULL, NULL, &box, &err) == 0);
	if (!box)
		return;
	int kept = 0, junk = 0;
	for (uint32_t i = 1; i <= box->nmsgs; i++) {
		const char *t = text_of(box, i);
		if (strstr(t, "Subject: junk"))
			junk++;
		else {
			char b[128];
			snprintf(b, sizeof b, "Subject: keep %d\r\n\r\nbody of keep %d\r\n\r\n"
				 "From inside body\r\n", kept, kept);
			CHECK_STR(t, b);
			kept++;
		}
	}
	CHECK(kept == N);
	CHECK(junk == 30 - rounds || (junk == 0 && rounds >= 30));
	CHECK(contains(path_of("spool/alice"), MMDF_MARK MMDF_MARK "From mta") == mmdf);
	mail_close(box, 0, NULL);
}

/* Keeps the last notice the library gave, for the read-only fallback's why. */
static void on_notice(void *c, const char *msg)
{
	snprintf(c, 512, "%s", msg);
}

/* As the current user, open INBOX in an unwritable spool and try to expunge:
 * 0 when it opens read-only with a notice naming the spool and the fix, the
 * expunge answers NOPERM, and the file is unchanged; else which step broke. */
static int expunge_unwritable_spool(void)
{
	static const struct mail_events nev = { NULL, NULL, NULL, NULL, on_notice };
	struct mail_err err = { 0 };
	struct mailbox *box;
	char note[512] = "";
	size_t n0, n1;
	char *before = read_file(path_of("spool/alice"), &n0), *after;

	if (mail_open(&sess, "INBOX", 0, &nev, note, &box, &err) < 0) {
		fprintf(stderr, "open: %s\n", err.text);
		return 4;
	}
	int r = !strstr(note, path_of("spool")) || !strstr(note, "chmod 2775") ? 2 :
		mail_store(box, 1, STORE_ADD, MF_DELETED, KW(0), &err) == 0 &&
		mail_expunge(box, NULL, 0, &err) == 0 ? 1 : err.code != MAIL_NOPERM ? 3 : 0;
	mail_close(box, 0, NULL);
	after = read_file(path_of("spool/alice"), &n1);
	if (r == 0 && (!after || n0 != n1 || memcmp(before, after, n0) != 0))
		r = 5;
	if (r)
		fprintf(stderr, "step %d: notice \"%s\", error \"%s\"\n", r, note, err.text);
	free(before);
	free(after);
	return r;
}

/* Root may write anywhere, so as root the open runs in a child that has
 * become nobody (65534), owning the mailbox but not the spool directory. */
static void test_lock_permission_error(void)
{
	int st = -1;

	setup();
	write_file(path_of("spool/alice"), msg_n(1, "x"));
	chmod(path_of("spool"), 0555);
	if (geteuid() != 0) {
		CHECK(expunge_unwritable_spool() == 0);
		chmod(path_of("spool"), 0775);
		return;
	}
	chmod(tmpdir, 0755);
	CHECK(chown(path_of("spool/alice"), 65534, 65534) == 0);
	pid_t pid = fork();
	if (pid == 0) {
		alarm(20);
		if (setresgid(65534, 65534, 65534) < 0 || setresuid(65534, 65534, 65534) < 0)
			_exit(3);
		_exit(expunge_unwritable_spool());
	}
	CHECK(pid > 0 && waitpid(pid, &st, 0) == pid);
	CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
		fprintf(stderr, "child status %#x\n", (unsigned)st);
	chmod(path_of("spool"), 0775);
}

/* Random junk built from the tokens the parser cares about: no crash, and
 * RFC822.SIZE always equals the length of the text served. */
static void test_garbage(void)
{
	static const char *tok[] = { "\n", "\r\n", "\n\n", "From ", "From a Mon Jan  6 10:00:00 2025\n",
				     "X-UID: 7\n", "Status: RO\n", "X-Keywords: a b\n", "X-IMAP: 5 9\n",
				     " folded\n", "Subject: x\n", ":", "\r", "\xff", "word" };
	struct mail_err err = { 0 };
	struct mailbox *box;
	unsigned seed = 12345;
	int bad = 0;

	setup();
	for (int round = 0; round < (getenv("MAIL_FUZZ") ? 5000 : 150); round++) {
		struct buf b;
		buf_init(&b);
		buf_puts(&b, "From x Mon Jan  6 10:00:00 2025\n");
		int n = (int)(rand_r(&seed) % 60);
		for (int i = 0; i < n; i++)
			buf_puts(&b, tok[rand_r(&seed) % (sizeof tok / sizeof *tok)]);
		write_file(path_of("junk"), b.data);
		buf_free(&b);
		for (int pass = 0; pass < 2; pass++) {
			if (mail_open(&sess, "junk", 0, NULL, NULL, &box, &err) < 0) {
				if (getenv("VERBOSE"))
					fprintf(stderr, "round %d pass %d: %s\n", round, pass, err.text);
				bad++;
				break;
			}
			for (uint32_t i = 1; i <= box->nmsgs; i++) {
				if (box->msgs[i - 1]->size != strlen(text_of(box, i))) {
					if (getenv("VERBOSE"))
						fprintf(stderr, "round %d pass %d: size msg %u: %llu vs %zu\n",
							round, pass, i,
							(unsigned long long)box->msgs[i - 1]->size,
							strlen(text_of(box, i)));
					bad++;
				}
				mail_store(box, i, STORE_ADD, i % 2 ? MF_DELETED : MF_SEEN, KW(0), &err);
			}
			if (pass == 0)
				mail_expunge(box, NULL, 0, &err);
			mail_close(box, 0, NULL);
		}
	}
	CHECK(bad == 0);
}

static double now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/* 10,000 messages of ~11 KB (113 MB) with MAIL_BENCH=1, else 2,000 small. */
static void test_big_mailbox(void)
{
	struct mail_err err = { 0 };
	struct mailbox *box;
	int big = getenv("MAIL_BENCH") != NULL;
	int n = big ? 10000 : 2000, bodylines = big ? 140 : 5;
	FILE *f;

	setup();
	f = fopen(path_of("big"), "w");
	for (int i = 0; i < n; i++) {
		fprintf(f, "From sender%d@example.com Mon Jan  6 10:%02d:%02d 2025\n"
			   "Received: from x by y; Mon, 6 Jan 2025 10:00:00 +0000\n"
			   "Subject: message %d\nStatus: O\nX-UID: %d\n\n", i, i % 60, i % 60, i, i + 1);
		for (int l = 0; l < bodylines; l++)
			fprintf(f, "%05d body line with some text to make it realistic xxxxxxxxxxxx\n", l);
		fputc('\n', f);
	}
	fclose(f);
	double t0 = now_ms();
	CHECK(mail_open(&sess, "big", 1, NULL, NULL, &box, &err) == 0);
	double t1 = now_ms();
	if (!box)
		return;
	CHECK((int)box->nmsgs == n);
	if (big)
		printf("open of %d messages: %.1f ms\n", n, t1 - t0);
	mail_close(box, 0, NULL);
	t0 = now_ms();
	CHECK(mail_open(&sess, "big", 0, NULL, NULL, &box, &err) == 0);
	if (box) {
		box->msgs[5]->flags |= MF_DELETED;
		CHECK(mail_expunge(box, NULL, 0, &err) == 0);
		t1 = now_ms();
		if (big)
			printf("open + expunge (rewrite): %.1f ms\n", t1 - t0);
		CHECK((int)box->nmsgs == n - 1);
		mail_close(box, 0, NULL);
	}
}

/* A keyword name cut by the end of a read window (WIN_SIZE) is taken once,
 * whole, not also as the piece before the cut. */
static void test_window_cut_keyword(void)
{
	const char *hdr1 = "From a@example.org Mon Jan  6 10:00:00 2025\nSubject: big\n\n";
	const char *head2 = "From b@example.org Mon Jan  6 10:00:01 2025\nSubject: two\n"
			    "X-Keywords: Work Lat";
	size_t body = WIN_SIZE - strlen(hdr1) - 1 - strlen(head2);
	struct mail_err err = { 0 };
	struct mailbox *box;
	FILE *f;

	setup();
	f = fopen(path_of("cut"), "w");
	fputs(hdr1, f);
	for (size_t i = 0; i + 1 < body; i++)
		fputc(i % 64 == 63 ? '\n' : 'x', f);
	fputs("\n\n", f);   /* the body's last line end, then the separator */
	fprintf(f, "%ser\n\nhello\n", head2);
	fclose(f);
	CHECK(mail_open(&sess, "cut", 1, NULL, NULL, &box, &err) == 0);
	if (!box)
		return;
	CHECK(box->nmsgs == 2 && box->nkeywords == 2);
	CHECK_STR(box->keywords[0], "Work");
	CHECK_STR(box->nkeywords > 1 ? box->keywords[1] : NULL, "Later");
	CHECK(box->nmsgs == 2 && kwset_low(&box->msgs[1]->keywords) == 3);
	mail_close(box, 0, NULL);
}

/* The folder record's MAC is HMAC-SHA256 (RFC 2104) of its text under the
 * user's key: the value Python's hmac module gives for the same input. */
static void test_record_mac_vector(void)
{
	unsigned char key[UIDX_KEYLEN];
	const char *val = "1234567890 0000000042 work";
	char hex[MAC_HEX + 1];

	for (int i = 0; i < UIDX_KEYLEN; i++)
		key[i] = (unsigned char)i;
	CHECK(rec_mac(key, val, strlen(val), 7, hex) == 0);
	CHECK_STR(hex, "6c36dbfb3b31dcbb82d9d881e892e23634681e62a176b8708d385def3d1be38e");
#ifndef SSLTYPE_NONE
	/* the kernel's HMAC and OpenSSL's (a kernel without AF_ALG) agree */
	rec_hmac_no_kernel = 1;
	memset(hex, 0, sizeof hex);
	CHECK(rec_mac(key, val, strlen(val), 7, hex) == 0);
	CHECK_STR(hex, "6c36dbfb3b31dcbb82d9d881e892e23634681e62a176b8708d385def3d1be38e");
	rec_hmac_no_kernel = 0;
#endif
}

/* This process's peak resident set so far, kB. */
static long vm_hwm_kb(void)
{
	char line[256];
	long kb = -1;
	FILE *f = fopen("/proc/self/status", "r");

	while (f && fgets(line, sizeof line, f))
		if (!strncmp(line, "VmHWM:", 6))
			kb = atol(line + 6);
	if (f)
		fclose(f);
	return kb;
}

/* A 3 MB message between two small ones: its body is scanned across read
 * windows (LF and CRLF lines, ">From " lines, a line over a window) and
 * framed as a whole-file read would, without a window that holds it all:
 * opening the mailbox raises the peak RSS by less than the message (not
 * measured under ASan, whose own memory would dominate). */
static void test_big_message_streamed(void)
{
	const char *from2 = "From b@example.org Mon Jan  6 10:00:01 2025\n";
	const char *hdr2 = "Subject: big\n\n";
	uint64_t size = strlen(hdr2) + 2;   /* each header line gets its CR */
	FILE *f;

	setup();
	f = fopen(path_of("big"), "w");
	fputs("From a@example.org Mon Jan  6 10:00:00 2025\nSubject: one\n\nhi\n\n", f);
	fputs(from2, f);
	fputs(hdr2, f);
	for (int i = 0; i < 48000; i++) {
		if (i == 30000) {
			for (int k = 0; k < 1200000; k++)
				fputc('L', f);
			fputc('\n', f);
			size += 1200002;
		} else if (i % 997 == 0) {
			fputs(">From here\n", f);
			size += 12;
		} else if (i % 3 == 0) {
			fprintf(f, "%062d\r\n", i);
			size += 64;
		} else {
			fprintf(f, "%063d\n", i);
			size += 65;
		}
	}
	fputs("\nFrom c@example.org Mon Jan  6 10:00:02 2025\nSubject: three\n\nbye\n", f);
	fclose(f);

	pid_t pid = fork();
	if (pid == 0) {
		struct mail_err err = { 0 };
		struct mailbox *box;
		long before = vm_hwm_kb();
		int ok = mail_open(&sess, "big", 1, NULL, NULL, &box, &err) == 0 &&
			 box->nmsgs == 3 && box->msgs[1]->size == size &&
			 !strcmp(text_of(box, 3), "Subject: three\r\n\r\nbye\r\n");
		long grew = vm_hwm_kb() - before;
#ifdef __SANITIZE_ADDRESS__
		grew = 0;   /* ASan's shadow and quarantine: no measure of ours */
#endif
		if (!ok || grew >= 3072)
			fprintf(stderr, "big message: framed %s, peak RSS grew %ld kB\n",
				ok ? "right" : "wrong", grew);
		_exit(ok && grew < 3072 ? 0 : 1);
	}
	int status = -1;
	CHECK(pid > 0 && waitpid(pid, &status, 0) == pid);
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

/* Remove the index files in the session's cache, keeping the key. */
static void drop_indexes(void)
{
	char cmd[1200];

	snprintf(cmd, sizeof cmd, "rm -f %s/.imapd-cache/*.idx", tmpdir);
	CHECK(system(cmd) == 0);
}

/* The folder record is ours only with a valid MAC under the user's key: a
 * changed MAC (no index to vouch) turns its flags into nothing and its
 * UIDVALIDITY into a greater one; the pseudo message, of the exact form,
 * stays hidden. The untouched record keeps all. */
static void test_record_authenticated(void)
{
	struct mailbox *box;
	struct mail_err err = { 0 };
	char p[600];
	struct stat st;

	setup();
	snprintf(p, sizeof p, "%s", path_of("spool/alice"));
	write_file(p, "From a Mon Jan  6 10:00:00 2025\nSubject: a\n\nx\n\n"
		      "From b Mon Jan  6 10:00:01 2025\nSubject: b\n\ny\n\n");
	CHECK(mail_open(&sess, "INBOX", 0, NULL, NULL, &box, &err) == 0);
	if (!box)
		return;
	CHECK(mail_store(box, 1, STORE_ADD, MF_FLAGGED, KW(0), &err) == 0);
	mail_close(box, 0, NULL);
	CHECK(contains(p, "\nX-IMAP-Auth: 0000000002 "));
	CHECK(stat(path_of(".imapd-cache/secret"), &st) == 0 && (st.st_mode & 0777) == 0600);
	drop_indexes();
	CHECK(mail_open(&sess, "INBOX", 1, NULL, NULL, &box, &err) == 0);
	if (!box)
		return;
	CHECK(box->nmsgs == 2 && box->msgs[0]->flags == MF_FLAGGED);
	uint32_t validity = box->uidvalidity;
	mail_close(box, 0, NULL);

	size_t n;
	char *d = read_file(p, &n), *a = strstr(d, "X-IMAP-Auth: ");
	CHECK(a != NULL);
	if (!a)
		return;
	a[30] = a[30] == '0' ? '1' : '0';   /* one hex digit of the MAC */
	write_file(p, d);
	free(d);
	drop_indexes();
	CHECK(mail_open(&sess, "INBOX", 1, NULL, NULL, &box, &err) == 0);
	if (!box)
		return;
	CHECK(box->nmsgs == 2 && box->uidvalidity > validity);
	CHECK(box->msgs[0]->flags == MF_RECENT && box->msgs[1]->flags == MF_RECENT);
	CHECK_STR(text_of(box, 1), "Subject: a\r\n\r\nx\r\n");
	mail_close(box, 0, NULL);
}

/* A body with no ">*From " line is copied unscanned by the first rewrite
 * (the parse says so); one with such lines still gets them quoted, and both
 * read back as delivered. */
static void test_rewrite_quotes_what_needs_it(void)
{
	struct mailbox *box;
	struct mail_err err = { 0 };
	static const char file[] =
		"From a Mon Jan  6 10:00:00 2025\nSubject: a\n\nFrom-less\n>quoted\nFine\n\n"
		"From b Mon Jan  6 10:00:01 2025\nSubject: b\n\nx\n>From q\nFrom me\n\n"
		"From c Mon Jan  6 10:00:02 2025\nSubject: c\n\nFrom ";
	char *names[4];
	unsigned nkw = 0;
	struct kwtab kt = { names, &nkw };
	struct parse p = { 0 };
	size_t used;

	CHECK(mbox_parse(file, sizeof file - 1, 1, 1, 0, &kt, &p, &used) == 0);
	CHECK(p.n == 3);
	if (p.n == 3)
		CHECK(p.m[0].plain && !p.m[1].plain && !p.m[2].plain);
	unix_parse_free(&p);
	setup();
	write_file(path_of("box"), file);
	CHECK(mail_open(&sess, "box", 0, NULL, NULL, &box, &err) == 0);
	if (!box)
		return;
	CHECK(box->nmsgs == 3);
	CHECK(contains(path_of("box"), "\n\nFrom-less\n>quoted\nFine\n\nFrom b"));
	CHECK(contains(path_of("box"), "\n\nx\n>>From q\n>From me\n\nFrom c"));
	CHECK_STR(text_of(box, 1), "Subject: a\r\n\r\nFrom-less\r\n>quoted\r\nFine\r\n");
	CHECK_STR(text_of(box, 2), "Subject: b\r\n\r\nx\r\n>From q\r\nFrom me\r\n");
	CHECK_STR(text_of(box, 3), "Subject: c\r\n\r\nFrom \r\n");
	mail_close(box, 0, NULL);
}

/* scan_raw's record of the messages it was offered: bit i for message i+1,
 * and each one's first bytes. */
struct raw_seen {
	unsigned bits, released;
	int starts_ok;
};

static void raw_note(void *ctx, uint32_t msgno, const struct raw_msg *m)
{
	struct raw_seen *s = ctx;
	const char *p = m->p;
	size_t len = m->len;
	char want[32];

	s->bits |= 1u << (msgno - 1);
	/* a message mapped whole (3 MB) may give its first half's memory
	 * back; read again, those bytes are the file's */
	if (m->release) {
		m->release(m, len / 2);
		s->released++;
	}
	/* the bytes after the From line: the message's own header */
	snprintf(want, sizeof want, "Subject: part %u\n", msgno);
	if (len < strlen(want) || memcmp(p, want, strlen(want)))
		s->starts_ok = 0;
}

/* One scan_raw call reads a run of messages under one lock, but stops once
 * it has read 4 MB (past its first message) so a delivery never waits
 * long; a message another session expunged is passed over; a message
 * mapped whole may drop its pages and read them again. The search on top
 * gives the exact answer across those short runs. */
static void test_scan_raw_runs(void)
{
	struct mail_err err = { 0 };
	struct mailbox *box;
	struct raw_seen seen = { 0, 0, 1 };
	FILE *f;

	setup();
	f = fopen(path_of("runs"), "w");
	for (int i = 1; i <= 7; i++) {
		fprintf(f, "From a@example.org Mon Jan  6 10:00:0%d 2025\nSubject: part %d\n\n", i, i);
		/* 3 MB of lines, and a word in messages 5 and 7 only */
		for (int l = 0; l < 3 * 1024 * 16; l++)
			fprintf(f, "%s%059d\n", l == 99 && i % 2 && i > 4 ? "qwzxj " : "plain ", l);
		fputc('\n', f);
	}
	fclose(f);
	CHECK(mail_open(&sess, "runs", 1, NULL, NULL, &box, &err) == 0);
	if (!box)
		return;
	CHECK(box->nmsgs == 7);
	CHECK(mail_scan_raw(box, 1, 7, raw_note, &seen, &err) == 2);
	CHECK(seen.bits == 0x3 && seen.starts_ok && seen.released == 2);
	seen.bits = 0;
	CHECK(mail_scan_raw(box, 3, 3, raw_note, &seen, &err) == 1);
	CHECK(seen.bits == 0x4 && seen.starts_ok);
	off_t was = UM(box, 2)->off;
	UM(box, 2)->off = -1;   /* as when another session expunged it */
	seen.bits = 0;
	CHECK(mail_scan_raw(box, 3, 4, raw_note, &seen, &err) == 2);
	CHECK(seen.bits == 0x8 && seen.starts_ok);
	UM(box, 2)->off = was;
	CHECK(mail_scan_raw(box, 4, 8, raw_note, &seen, &err) < 0);   /* past the end */

	struct search_key k = { .op = SK_TEXT, .str = "QWZXJ" };
	uint8_t match[7];
	CHECK(search_run(box, &k, match, &err) == 0);
	CHECK(!match[0] && !match[1] && !match[2] && !match[3] && match[4] && !match[5] &&
	      match[6]);
	mail_close(box, 0, NULL);
}

/* SEARCH TEXT over messages of many MB, whose pages the pre-test gives
 * back as its boundary scan passes them: a word in a text part before a
 * 2 MB attachment (its pages released, then read again), after one, in a
 * base64 text part after one, and only inside an attachment (not text:
 * no match). */
static void test_search_big_parts(void)
{
	struct mail_err err = { 0 };
	struct mailbox *box;
	FILE *f;

	setup();
	f = fopen(path_of("bigparts"), "w");
	static const char plain[] = "QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVphYmNkZWZnaGlqa2xtbm9wcXJzdHV2\n",
			  word[] = "cXd6eGogcXd6eGogcXd6eGogcXd6eGogcXd6eGogcXd6eGogcXd6eGogcXd6eGog\n";
	for (int i = 1; i <= 4; i++) {
		fprintf(f, "From a@example.org Mon Jan  6 10:00:0%d 2025\nSubject: big %d\n"
			   "MIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=\"b%d\"\n\n"
			   "--b%d\nContent-Type: text/plain\n\n%s\n",
			i, i, i, i, i == 1 ? "the word qwzxj is here" : "nothing to see");
		fprintf(f, "--b%d\nContent-Type: application/octet-stream\n"
			   "Content-Transfer-Encoding: base64\n\n", i);
		for (int l = 0; l < 28000; l++)
			/* "qwzxj" in base64 ("cXd6eGog") only in message 4's attachment */
			fputs(i == 4 && l == 14000 ? word : plain, f);
		if (i == 2)
			fprintf(f, "--b2\nContent-Type: text/plain\n\nafter it: QWZXJ\n");
		if (i == 3)
			fprintf(f, "--b3\nContent-Type: text/plain\nContent-Transfer-Encoding: base64\n\n"
				   "YWZ0ZXIgaXQsIGVuY29kZWQ6IHF3enhqCg==\n");
		fprintf(f, "--b%d--\n\n", i);
	}
	fclose(f);
	CHECK(mail_open(&sess, "bigparts", 1, NULL, NULL, &box, &err) == 0);
	if (!box)
		return;
	struct search_key k = { .op = SK_TEXT, .str = "qwzxj" };
	uint8_t match[4];
	CHECK(box->nmsgs == 4);
	CHECK(search_run(box, &k, match, &err) == 0);
	CHECK(match[0] && match[1] && match[2] && !match[3]);
	mail_close(box, 0, NULL);
}

int main(void)
{
	RUN(test_open_mta_mbox);
	RUN(test_flags_roundtrip);
	RUN(test_uids_stable_and_new_mail);
	RUN(test_two_sessions);
	RUN(test_expunge_keeps_bytes);
	RUN(test_missing_inbox);
	RUN(test_dovecot_base);
	RUN(test_append_and_copy);
	RUN(test_record_authenticated);
	RUN(test_crash_safety);
	RUN(test_inplace_flags);
	RUN(test_inplace_keywords);
	RUN(test_padded_foreign);
	RUN(test_inplace_crash);
	RUN(test_concurrent_delivery);
	RUN(test_lock_permission_error);
	RUN(test_garbage);
	RUN(test_big_mailbox);
	RUN(test_window_cut_keyword);
	RUN(test_record_mac_vector);
	RUN(test_big_message_streamed);
	RUN(test_rewrite_quotes_what_needs_it);
	RUN(test_scan_raw_runs);
	RUN(test_search_big_parts);
	mmdf = 1;
	RUN(test_uids_stable_and_new_mail);
	RUN(test_two_sessions);
	RUN(test_crash_safety);
	RUN(test_inplace_crash);
	RUN(test_concurrent_delivery);
	setup();   /* leaves an empty dir; remove it */
	rmdir(path_of("spool"));
	rmdir(tmpdir);
	mail_session_free(&sess);
	return test_summary("test-unix");
}
