/* test-journal.c: in-place rewrites through the redo journal, killed with
 * SIGKILL at every step of the copy; after recovery the file holds exactly
 * the new content (or the old, if the kill came before the commit point),
 * followed by what an "MTA" appended after the kill. */
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "unix_journal.h"
#include "test.h"

static char home[64], target[128];
static int homefd = -1;     /* home, as the session holds it */
static int kill_at, calls, report_fd;

/* The hook: at the kill_at-th step, tell the parent which step it was and
 * die the hard way. */
static void killer(int step)
{
	unsigned char s = (unsigned char)step;

	if (++calls != kill_at)
		return;
	if (write(report_fd, &s, 1) != 1)
		_exit(3);
	raise(SIGKILL);
}

static void put_file(const char *path, const char *data, size_t n)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);

	CHECK(fd >= 0 && write(fd, data, n) == (ssize_t)n);
	close(fd);
}

static char *get_file(const char *path, size_t *n)
{
	struct stat st;
	int fd = open(path, O_RDONLY);
	char *b;

	if (fd < 0 || fstat(fd, &st) < 0)
		return NULL;
	b = malloc((size_t)st.st_size + 1);
	*n = (size_t)read(fd, b, (size_t)st.st_size);
	close(fd);
	return b;
}

/* An "MTA" delivery after the crash: the locks died with the process. */
static void mta_append(const char *text)
{
	int fd = open(target, O_WRONLY | O_APPEND);

	CHECK(fd >= 0 && write(fd, text, strlen(text)) == (ssize_t)strlen(text));
	close(fd);
}

static void setup(const char *old)
{
	snprintf(home, sizeof home, "/tmp/test-journal-XXXXXX");
	CHECK(mkdtemp(home) != NULL);
	snprintf(target, sizeof target, "%s/mbox", home);
	put_file(target, old, strlen(old));
	homefd = open(home, O_PATH | O_DIRECTORY | O_CLOEXEC);
	CHECK(homefd >= 0);
}

static void teardown(void)
{
	char cmd[160];

	close(homefd);
	homefd = -1;
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", home);
	CHECK(system(cmd) == 0);
}

/* In a child: rewrite target to content, killed at step k (0: never).
 * Returns the step it died at, or -1 if it finished. */
static int child_rewrite(const char *content, int k, int recover_only)
{
	int p[2];
	unsigned char s;

	CHECK(pipe(p) == 0);
	pid_t pid = fork();
	if (pid == 0) {
		struct mail_err err = { 0 };
		struct unix_journal j;
		struct stat st;
		int fd = open(target, O_RDWR);
		close(p[0]);
		report_fd = p[1];
		kill_at = k;
		unix_journal_hook = killer;
		if (fd < 0 || fstat(fd, &st) < 0)
			_exit(2);
		if (recover_only)
			_exit(unix_journal_recover(homefd, fd, &err) < 0 ? 2 : 0);
		if (unix_journal_begin(homefd, &st, &j, &err) < 0 ||
		    write(j.fd, content, strlen(content)) != (ssize_t)strlen(content) ||
		    unix_journal_commit(&j, fd, strlen(content), &err) < 0)
			_exit(2);
		_exit(0);
	}
	close(p[1]);
	int status, died = read(p[0], &s, 1) == 1 ? s : -1;
	close(p[0]);
	CHECK(waitpid(pid, &status, 0) == pid);
	if (died >= 0)
		CHECK(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
	else
		CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	return died;
}

static int recover_now(void)
{
	struct mail_err err = { 0 };
	int fd = open(target, O_RDWR), r;

	r = unix_journal_recover(homefd, fd, &err);
	if (r < 0)
		fprintf(stderr, "recover: %s\n", err.text);
	close(fd);
	return r;
}

static int file_is(const char *a, const char *b, const char *c)
{
	size_t n;
	char *got = get_file(target, &n);
	char want[4096];
	int ok;

	snprintf(want, sizeof want, "%s%s%s", a, b, c);
	ok = got && n == strlen(want) && !memcmp(got, want, n);
	if (!ok)
		fprintf(stderr, "file is \"%.*s\"\nwant    \"%s\"\n", got ? (int)n : 0,
			got ? got : "", want);
	free(got);
	return ok;
}

static int journal_left(void)
{
	struct stat st;
	int fd = open(target, O_RDONLY), r;

	r = fd >= 0 && fstat(fd, &st) == 0 && unix_journal_pending(homefd, &st);
	close(fd);
	return r;
}

static const char *mta = "From mta@example.org Thu Jan  2 10:00:00 2025\n"
			 "Subject: delivered after the crash\n\nkeep me\n\n";
static const char *mta2 = "From mta2@example.org Thu Jan  2 10:00:01 2025\n"
			  "Subject: delivered after the second crash\n\nkeep me too\n\n";

/* Kill the rewrite old -> new at each of its steps in turn (bounded: the
 * loop ends when a run finishes without being killed). */
static void kill_everywhere(const char *old, const char *new)
{
	int k, ran = 0;

	for (k = 1; k < 200; k++) {
		setup(old);
		int died = child_rewrite(new, k, 0);
		mta_append(mta);
		CHECK(recover_now() >= 0);
		CHECK(!journal_left());
		CHECK(file_is(died == 0 ? old : new, mta, ""));
		teardown();
		ran++;
		if (died < 0)
			break;
	}
	CHECK(k < 200 && ran > 10);
}

/* Crash the rewrite, deliver, crash the recovery too, deliver again. */
static void kill_recovery_too(const char *old, const char *new)
{
	for (int k = 2; k < 40; k += 3) {
		for (int m = 1; m < 40; m += 4) {
			setup(old);
			int died = child_rewrite(new, k, 0);
			mta_append(mta);
			int rdied = child_rewrite(NULL, m, 1);
			mta_append(mta2);
			CHECK(recover_now() >= 0);
			CHECK(!journal_left());
			CHECK(file_is(died == 0 ? old : new, mta, mta2));
			teardown();
			if (rdied < 0)
				break;
		}
	}
}

static const char *small = "From a@x Thu Jan  2 10:00:00 2025\nSubject: one\n\nshort\n\n";
static const char *large =
	"From MAILER-DAEMON Thu Jan  2 10:00:00 2025\nSubject: FOLDER INTERNAL DATA\n"
	"X-IMAP: 0000000001 0000000003\n\n"
	"From a@x Thu Jan  2 10:00:00 2025\nSubject: one\nStatus: RO\n\nfirst body\n\n"
	"From b@x Thu Jan  2 10:00:00 2025\nSubject: two\nStatus: RO\n\nsecond body\n\n"
	"From c@x Thu Jan  2 10:00:00 2025\nSubject: three\nStatus: O\n\nthird body\n\n";

static void expunge_shrinks(void)
{
	unix_journal_chunk = 16;
	kill_everywhere(large, small);
}

static void rewrite_grows(void)
{
	unix_journal_chunk = 16;
	kill_everywhere(small, large);
}

static void same_length(void)
{
	unix_journal_chunk = 16;
	char other[512];
	snprintf(other, sizeof other, "%s", large);
	other[strlen(other) - 4] = 'X';
	kill_everywhere(large, other);
}

static void crash_during_recovery(void)
{
	unix_journal_chunk = 32;
	kill_recovery_too(large, small);
	kill_recovery_too(small, large);
}

/* ~/.imapd-cache a symlink (to a directory someone else reads): the
 * journal, which holds mail, is not written through it. */
static void cache_symlink_refused(void)
{
	char elsewhere[128], link[128];
	struct mail_err err = { 0 };
	struct unix_journal j;
	struct stat st;

	setup(small);
	snprintf(elsewhere, sizeof elsewhere, "%s/elsewhere", home);
	snprintf(link, sizeof link, "%s/.imapd-cache", home);
	CHECK(mkdir(elsewhere, 0700) == 0 && symlink(elsewhere, link) == 0);
	CHECK(stat(target, &st) == 0);
	CHECK(unix_journal_begin(homefd, &st, &j, &err) < 0);
	/* NOPERM, naming the directory and the fix: the mailbox opens read-only */
	CHECK(err.code == MAIL_NOPERM && strstr(err.text, "~/.imapd-cache") != NULL);
	CHECK(rmdir(elsewhere) == 0);   /* nothing was written there */
	teardown();
}

int main(void)
{
	RUN(expunge_shrinks);
	RUN(rewrite_grows);
	RUN(same_length);
	RUN(crash_during_recovery);
	RUN(cache_symlink_refused);
	return test_summary("test-journal");
}
