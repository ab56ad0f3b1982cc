/* test-fsafe.c: reaching files without following links (fsafe.c): links in
 * the home are never crossed, the spool directory is reached only as the
 * user's INBOX, admin links outside the home are, and the small-file
 * helpers refuse links, devices, FIFOs, other owners and oversized files. */
#include "fsafe.h"
#include "lock.h"
#include "mail_api.h"
#include "mbox_fixture.h"
#include "test.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static struct mail_session sess;

static char *at(const char *name)
{
	return fixture_path(NULL, name);
}

/* tmpdir (root's, 0700: only root can write it) holds home/ and spool/. */
static void setup(void)
{
	if (fixture_remove_tmpdir())
		mail_session_free(&sess);
	fixture_make_tmpdir("test-fsafe");
	mkdir(at("home"), 0700);
	mkdir(at("spool"), 0775);
	mail_session_init(&sess, "alice", at("home"), at("spool"));
}

/* Locate path; on success return the leaf's dirfd's inode, else -1. */
static long long locate_ino(const char *path, int mkdirs, struct mail_err *err)
{
	struct fsafe_loc loc;
	struct stat st;

	if (fsafe_locate(&sess, path, mkdirs, &loc, err) < 0)
		return -1;
	long long ino = fstat(loc.dirfd, &st) == 0 ? (long long)st.st_ino : -1;
	fsafe_close(&loc);
	return ino;
}

static long long ino_of(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 ? (long long)st.st_ino : -2;
}

static void test_home_links_not_crossed(void)
{
	struct mail_err err = { 0 };
	struct fsafe_loc loc;

	setup();
	mkdir(at("home/Mail"), 0700);
	CHECK(locate_ino(at("home/Mail/box"), 0, &err) == ino_of(at("home/Mail")));
	CHECK(symlink(at("spool"), at("home/sp")) == 0);
	CHECK(locate_ino(at("home/sp/alice"), 0, &err) == -1);
	CHECK(err.code == MAIL_NOPERM && strstr(err.text, "symbolic link"));
	CHECK(errno == ELOOP);
	/* a link as the leaf is found, but never opened through */
	write_file(at("spool/alice"), "");
	CHECK(symlink(at("spool/alice"), at("home/box")) == 0);
	CHECK(fsafe_locate(&sess, at("home/box"), 0, &loc, &err) == 0);
	CHECK(fsafe_open(&loc, O_RDONLY, 0) < 0 && errno == ELOOP);
	fsafe_close(&loc);
}

static void test_mkdirs(void)
{
	struct mail_err err = { 0 };
	struct stat st;

	setup();
	CHECK(locate_ino(at("home/a/b/c"), 1, &err) == ino_of(at("home/a/b")));
	CHECK(stat(at("home/a/b"), &st) == 0 && (st.st_mode & 07777) == 0700);
	write_file(at("home/f"), "x");
	CHECK(locate_ino(at("home/f/x"), 1, &err) == -1 && errno == ENOTDIR);
}

static void test_spool_only_as_inbox(void)
{
	struct mail_err err = { 0 };
	struct fsafe_loc loc;

	setup();
	CHECK(fsafe_locate(&sess, at("spool/alice"), 0, &loc, &err) == 0);
	CHECK(loc.spool == 1 && !strcmp(loc.leaf, "alice"));
	fsafe_close(&loc);
	sess.allow_outside_home = 1;
	CHECK(locate_ino(at("spool/bob"), 0, &err) == -1);
	CHECK(err.code == MAIL_NOPERM && strstr(err.text, "only as INBOX"));
	mkdir(at("spool/x"), 0700);
	CHECK(locate_ino(at("spool/x/../bob"), 0, &err) == -1 && err.code == MAIL_NOPERM);
	CHECK(locate_ino(at("home/../spool/bob"), 0, &err) == -1 && err.code == MAIL_NOPERM);
	sess.allow_outside_home = 0;
	CHECK(locate_ino(at("other/box"), 0, &err) == -1 && err.code == MAIL_BADNAME);
}

static void test_admin_links(void)
{
	struct mail_err err = { 0 };

	setup();
	sess.allow_outside_home = 1;
	mkdir(at("real"), 0755);
	/* root's link in a root-only directory: an administrator's, crossed */
	CHECK(symlink("real", at("rel")) == 0);
	CHECK(symlink(at("real"), at("abs")) == 0);
	CHECK(locate_ino(at("rel/box"), 0, &err) == ino_of(at("real")));
	CHECK(locate_ino(at("abs/box"), 0, &err) == ino_of(at("real")));
	/* ...but never into the spool directory */
	CHECK(symlink("spool", at("mail")) == 0);
	CHECK(locate_ino(at("mail/bob"), 0, &err) == -1 && err.code == MAIL_NOPERM);
	/* a link owned by someone else, or in a directory others can write */
	CHECK(symlink("real", at("theirs")) == 0 && lchown(at("theirs"), 1, 1) == 0);
	CHECK(locate_ino(at("theirs/box"), 0, &err) == -1 && errno == ELOOP);
	mkdir(at("open"), 0777);
	chmod(at("open"), 0777);
	CHECK(symlink(at("real"), at("open/l")) == 0);
	CHECK(locate_ino(at("open/l/box"), 0, &err) == -1 && errno == ELOOP);
	/* a loop ends */
	CHECK(symlink("loop", at("loop")) == 0);
	CHECK(locate_ino(at("loop/box"), 0, &err) == -1);
}

static void test_lengths(void)
{
	struct mail_err err = { 0 };
	char name[FSAFE_LEAF_MAX + 2], path[PATH_MAX + 10];

	memset(name, 'a', sizeof name);
	name[FSAFE_LEAF_MAX] = '\0';
	CHECK(fsafe_check_length(name, &err) == 0);
	name[FSAFE_LEAF_MAX] = 'a';
	name[FSAFE_LEAF_MAX + 1] = '\0';
	CHECK(fsafe_check_length(name, &err) < 0 && err.code == MAIL_BADNAME);
	CHECK(strstr(err.text, "too long") != NULL);
	for (size_t i = 0; i < sizeof path - 1; i++)
		path[i] = i % 100 == 99 ? '/' : 'b';
	path[sizeof path - 1] = '\0';
	CHECK(fsafe_check_length(path, &err) < 0);
	/* the rename's temp name and the lock name fit beside the longest */
	CHECK(strlen(".") + FSAFE_LEAF_MAX + strlen(".imaptmp") <= NAME_MAX);
	CHECK(FSAFE_LEAF_MAX + strlen(".lock") <= NAME_MAX);
}

static void test_read_own(void)
{
	struct mail_err err = { 0 };
	char *data;
	size_t len;
	int home;

	setup();
	home = fsafe_home(&sess);
	CHECK(home >= 0);
	CHECK(fsafe_read_own(home, "none", 100, &data, &len, &err) == 1);
	write_file(at("home/list"), "a\nb\n");
	CHECK(fsafe_read_own(home, "list", 100, &data, &len, &err) == 0);
	CHECK_MEM(data, len, "a\nb\n");
	free(data);
	CHECK(fsafe_read_own(home, "list", 3, &data, &len, &err) < 0);
	CHECK(strstr(err.text, "too large") != NULL);
	CHECK(symlink("/dev/zero", at("home/zero")) == 0);
	CHECK(fsafe_read_own(home, "zero", 100, &data, &len, &err) < 0);
	CHECK(symlink(at("home/list"), at("home/link")) == 0);
	CHECK(fsafe_read_own(home, "link", 100, &data, &len, &err) < 0);
	CHECK(mkfifo(at("home/fifo"), 0600) == 0);
	CHECK(fsafe_read_own(home, "fifo", 100, &data, &len, &err) < 0);   /* no hang */
	CHECK(chown(at("home/list"), 1, 1) == 0);
	CHECK(fsafe_read_own(home, "list", 100, &data, &len, &err) < 0);
	CHECK(strstr(err.text, "another user") != NULL);
}

static void test_replace_ignores_planted_tmp(void)
{
	struct mail_err err = { 0 };
	size_t len;

	setup();
	write_file(at("spool/bob"), "bob's mail");
	CHECK(symlink(at("spool/bob"), at("home/list.tmp")) == 0);
	CHECK(fsafe_replace(fsafe_home(&sess), "list", "INBOX\n", 6, &err) == 0);
	char *v = read_file(at("spool/bob"), &len);
	CHECK_MEM(v, len, "bob's mail");
	free(v);
	v = read_file(at("home/list"), &len);
	CHECK_MEM(v, len, "INBOX\n");
	free(v);
	CHECK(access(at("home/list.tmp"), F_OK) < 0);
}

/* The dotlock lands in the directory we hold, even when its name now leads
 * elsewhere (the directory was swapped for a link to the spool). */
static void test_dotlock_follows_descriptor(void)
{
	struct mail_err err = { 0 };
	struct fsafe_loc loc;
	char *held = NULL;

	setup();
	mkdir(at("home/d"), 0700);
	CHECK(fsafe_locate(&sess, at("home/d/bob"), 0, &loc, &err) == 0);
	CHECK(rename(at("home/d"), at("home/d.real")) == 0);
	CHECK(symlink(at("spool"), at("home/d")) == 0);
	CHECK(fsafe_dotlock(&loc, at("home/d/bob"), &held, &err) == 0);
	CHECK(access(at("home/d.real/bob.lock"), F_OK) == 0);
	CHECK(access(at("spool/bob.lock"), F_OK) < 0);
	lock_dot_release(&held);
	CHECK(access(at("home/d.real/bob.lock"), F_OK) < 0);
	fsafe_close(&loc);
}

int main(void)
{
	RUN(test_home_links_not_crossed);
	RUN(test_mkdirs);
	RUN(test_spool_only_as_inbox);
	RUN(test_admin_links);
	RUN(test_lengths);
	RUN(test_read_own);
	RUN(test_replace_ignores_planted_tmp);
	RUN(test_dotlock_follows_descriptor);
	fixture_remove_tmpdir();
	mail_session_free(&sess);
	return test_summary("test-fsafe");
}
