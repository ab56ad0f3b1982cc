/* test-mdrace.c: two sessions of one Maildir racing each other, each race
 * made exact. One opens while the other renames a file (a flag change):
 * readdir may then return neither name, so this program's readdir hides a
 * chosen file as the kernel does, or renames it just after listing it.
 * One reads a message the other renamed.
 * And the modseq file replaced by one while keeping what the other saw of
 * it (inode, size, mtime). Each made two IMAP sessions report one modseq
 * or one session's modseqs go back. */
#include "mail_api.h"
#include "mbox_fixture.h"
#include "test.h"
#include "unix_index.h"

#include <dirent.h>
#include <dlfcn.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static struct mail_session sess;
static char hide_base[256];   /* a file name up to its ':' */
static int hide_left;         /* listings that still miss it */
static int move_left;         /* listings after which it is renamed */

/* Is e the chosen file? */
static int chosen(const struct dirent *e)
{
	return hide_base[0] && !strncmp(e->d_name, hide_base, strlen(hide_base));
}

/* The C library's readdir, less the hidden file while hide_left lasts, the
 * file renamed (\Seen set) once listed while move_left lasts: the
 * library's scans call this one (the program's definition wins). */
struct dirent *readdir(DIR *d)
{
	static struct dirent *(*real)(DIR *);
	struct dirent *e;
	char seen[300];

	if (!real)
		*(void **)&real = dlsym(RTLD_NEXT, "readdir");
	while ((e = real(d)) != NULL && hide_left > 0 && chosen(e))
		hide_left--;
	if (e && move_left > 0 && chosen(e)) {
		move_left--;
		snprintf(seen, sizeof seen, "%s:2,S", hide_base);
		CHECK(renameat(dirfd(d), e->d_name, dirfd(d), seen) == 0);
	}
	return e;
}

/* Choose message n's file (1: the first delivered), hidden from the next
 * listings. */
static void hide_message(int n, int listings)
{
	DIR *d = opendir(fixture_path("Maildir", "cur"));
	char *names[8];
	int k = 0;
	struct dirent *e;

	while (d && (e = readdir(d)) != NULL && k < 8)
		if (e->d_name[0] != '.')
			names[k++] = strdup(e->d_name);
	if (d)
		closedir(d);
	/* names are delivery times first: their order is the UIDs' */
	for (int i = 0; i < k; i++)
		for (int j = i + 1; j < k; j++)
			if (strcmp(names[j], names[i]) < 0) {
				char *t = names[i];
				names[i] = names[j];
				names[j] = t;
			}
	CHECK(n <= k);
	snprintf(hide_base, sizeof hide_base, "%.*s", (int)strcspn(names[n - 1], ":"),
		 names[n - 1]);
	hide_left = listings;
	for (int i = 0; i < k; i++)
		free(names[i]);
}

/* A fresh home whose Maildir INBOX holds three messages, all in cur/. */
static void three_messages(void)
{
	struct mail_err err = {0};
	struct mailbox *box = NULL;

	fixture_session(&sess, "test-mdrace");
	mail_session_formats(&sess, "~/Maildir", NULL);
	CHECK(fixture_append(&sess, "INBOX", FIXTURE_MSG1, 0, NULL, NULL, &err) == 0);
	CHECK(fixture_append(&sess, "INBOX", FIXTURE_MSG2, 0, NULL, NULL, &err) == 0);
	CHECK(fixture_append(&sess, "INBOX", FIXTURE_MSG1, 0, NULL, NULL, &err) == 0);
	CHECK(mail_open(&sess, "INBOX", 0, NULL, NULL, &box, &err) == 0);
	mail_close(box, 0, NULL);
}

/* A session opened while message 2's file races its scan: hidden from
 * hide listings, or renamed once listed when move is set. NULL if it did
 * not open. */
static struct mailbox *open_racing(int hide, int move)
{
	struct mail_err err = {0};
	struct mailbox *b = NULL;

	three_messages();
	hide_message(2, hide);
	move_left = move;
	CHECK(mail_open(&sess, "INBOX", 0, NULL, NULL, &b, &err) == 0);
	CHECK(hide_left == 0 && move_left == 0);   /* the race did happen */
	return b;
}

/* A file hidden from one listing (a rename racing the opening scan) is
 * still one of the session's messages: taken for absent, the message was
 * lost to the session for good and the numbers of the rest shifted. */
static void test_rename_during_open(void)
{
	struct mail_err err = {0};
	struct mailbox *b = open_racing(1, 0);

	if (!b)
		return;
	CHECK(b->nmsgs == 3);
	CHECK(mail_ping(b, &err) == 0);
	CHECK(b->nmsgs == 3 && b->msgs[1]->uid == 2 && b->msgs[2]->uid == 3);
	mail_close(b, 0, NULL);
}

/* A file renamed between the opening scan's listing and its look at the
 * file is found again (it was dropped: the message lost to the session for
 * good), with the flags of its new name. */
static void test_rename_after_listing(void)
{
	struct mailbox *b = open_racing(0, 1);

	if (!b)
		return;
	CHECK(b->nmsgs == 3 && b->msgs[1]->uid == 2 && (b->msgs[1]->flags & MF_SEEN));
	CHECK_STR(text_of(b, 2), FIXTURE_MSG2);
	mail_close(b, 0, NULL);
}

/* A view read without the modseq lock that misses a message (here every
 * scan of the open misses it) may add records when modseqs are enabled,
 * never remove them: the other session's message 2 keeps its modseq and
 * nothing new is counted. It was recorded as expunged; the other session
 * then gave it a new modseq, or answered a STORE on it with the expunge's
 * value, one it or its peer had already reported. */
static void test_stale_view_removes_no_record(void)
{
	struct mail_err err = {0};
	struct mailbox *a = NULL, *b = NULL;

	three_messages();
	hide_message(2, 100);
	CHECK(mail_open(&sess, "INBOX", 0, NULL, NULL, &b, &err) == 0);
	hide_left = 0;
	CHECK(mail_open(&sess, "INBOX", 0, NULL, NULL, &a, &err) == 0);
	if (!a || !b)
		return;
	CHECK(b->nmsgs == 2);   /* the precondition: b's view lacks UID 2 */
	CHECK(mail_modseq_enable(a) == 0);
	uint64_t h = mail_highestmodseq(a), two = a->msgs[1]->modseq;
	CHECK(h > 0 && two > 0 && two < h);
	CHECK(mail_modseq_enable(b) == 0);
	CHECK(mail_ping(a, &err) == 0);
	CHECK(a->nmsgs == 3 && a->msgs[1]->modseq == two);
	CHECK(mail_highestmodseq(a) == h);
	mail_close(b, 0, NULL);
	mail_close(a, 0, NULL);
}

/* A message read after another session renamed its file (a flag change)
 * is found again without hiding the change: the next ping reports the
 * other's flags with the other's modseq, and the next check does not
 * write this session's older flags back over them. */
static void test_read_after_rename_keeps_change(void)
{
	struct mail_err err = {0};
	struct mailbox *a = NULL, *b = NULL;
	struct events ea = {0};

	three_messages();
	CHECK(mail_open(&sess, "INBOX", 0, &evs, &ea, &a, &err) == 0);
	CHECK(mail_open(&sess, "INBOX", 0, NULL, NULL, &b, &err) == 0);
	if (!a || !b)
		return;
	CHECK(mail_modseq_enable(a) == 0 && mail_modseq_enable(b) == 0);
	CHECK(mail_store(b, 2, STORE_ADD, MF_FLAGGED, NULL, &err) == 0);
	CHECK(mail_flush(b, &err) == 0);
	CHECK_STR(text_of(a, 2), FIXTURE_MSG2);
	CHECK(mail_ping(a, &err) == 0);
	CHECK(ea.nflags == 1 && ea.flagged[0] == 2 && (a->msgs[1]->flags & MF_FLAGGED));
	CHECK(a->msgs[1]->modseq == b->msgs[1]->modseq);
	CHECK(mail_check(a, &err) == 0);
	CHECK(mail_ping(b, &err) == 0);
	CHECK((b->msgs[1]->flags & MF_FLAGGED) && mail_highestmodseq(b) == b->msgs[1]->modseq);
	mail_close(b, 0, NULL);
	mail_close(a, 0, NULL);
}

/* The modseq file replaced by another session's save, yet back in the
 * inode this session read with the size and mtime it saw (a freed inode
 * reused, two saves in one clock tick): read again all the same, so the
 * other's recorded change is not counted a second time. */
static void test_replaced_modseq_file_read_again(void)
{
	struct mail_err err = {0};
	struct mailbox *a = NULL, *b = NULL;
	char name[40], msq[1024], keep[1040];
	struct stat seen;
	size_t n = 0;

	three_messages();
	CHECK(mail_open(&sess, "INBOX", 0, NULL, NULL, &a, &err) == 0);
	CHECK(mail_open(&sess, "INBOX", 0, NULL, NULL, &b, &err) == 0);
	if (!a || !b)
		return;
	CHECK(mail_modseq_enable(a) == 0 && mail_modseq_enable(b) == 0);
	CHECK(mail_ping(a, &err) == 0);
	uidx_cache_name(a->path, "msq", name);
	snprintf(msq, sizeof msq, "%s", fixture_path(".imapd-cache", name));
	snprintf(keep, sizeof keep, "%s.keep", msq);
	CHECK(stat(msq, &seen) == 0 && link(msq, keep) == 0);
	CHECK(mail_store(b, 2, STORE_ADD, MF_SEEN, NULL, &err) == 0);
	CHECK(mail_flush(b, &err) == 0);
	char *now = read_file(msq, &n);
	/* the size seen too (the checksum's digits vary): more changes */
	for (int k = 0; k < 64 && n != (size_t)seen.st_size; k++) {
		CHECK(mail_store(b, 3, k % 2 ? STORE_REMOVE : STORE_ADD, MF_DRAFT, NULL, &err) == 0);
		CHECK(mail_flush(b, &err) == 0);
		free(now);
		now = read_file(msq, &n);
	}
	CHECK(now && n == (size_t)seen.st_size);
	write_file(keep, now ? now : "");
	free(now);
	struct timespec times[2] = {seen.st_atim, seen.st_mtim};
	CHECK(rename(keep, msq) == 0 && utimensat(AT_FDCWD, msq, times, 0) == 0);
	CHECK(mail_ping(a, &err) == 0);
	CHECK((a->msgs[1]->flags & MF_SEEN) && a->msgs[1]->modseq == b->msgs[1]->modseq);
	CHECK(mail_highestmodseq(a) == mail_highestmodseq(b));
	mail_close(b, 0, NULL);
	mail_close(a, 0, NULL);
}

int main(void)
{
	RUN(test_rename_during_open);
	RUN(test_rename_after_listing);
	RUN(test_stale_view_removes_no_record);
	RUN(test_read_after_rename_keeps_change);
	RUN(test_replaced_modseq_file_read_again);
	fixture_remove_tmpdir();
	mail_session_free(&sess);
	return test_summary("test-mdrace");
}
