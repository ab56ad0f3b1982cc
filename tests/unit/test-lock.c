/* test-lock.c: dotlock + fcntl locking: stale locks of dead processes are
 * broken, live ones make us wait (then MAIL_INUSE), and an unwritable spool
 * directory gives an error that names the directory and the fix. */
#include "lock.h"
#include "test.h"

#include <fcntl.h>
#include <lockfile.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static char dir[64], mbox[128], lockname[140];

static void test_basic(void)
{
	struct mail_err err = { 0 };
	char *held = NULL;

	CHECK(lock_dot(mbox, &held, &err) == 0);
	CHECK(held && access(lockname, F_OK) == 0);
	lock_dot_release(&held);
	CHECK(held == NULL && access(lockname, F_OK) < 0);
}

static void test_stale_lock_broken(void)
{
	struct mail_err err = { 0 };
	char *held = NULL;
	pid_t pid = fork();

	if (pid == 0)
		_exit(0);
	waitpid(pid, NULL, 0);
	FILE *f = fopen(lockname, "w");   /* a lock left by a dead process */
	fprintf(f, "%d\n", (int)pid);
	fclose(f);
	CHECK(lock_dot(mbox, &held, &err) == 0);
	lock_dot_release(&held);
}

static void test_live_lock_waits(void)
{
	struct mail_err err = { 0 };
	char *held = NULL, c;
	int up[2], down[2];   /* child->parent: "locked"; parent->child: "release" */

	if (pipe(up) < 0 || pipe(down) < 0)
		return;
	pid_t pid = fork();
	if (pid == 0) {
		alarm(20);
		if (lockfile_create(lockname, 0, L_PID) != L_SUCCESS || write(up[1], "x", 1) != 1 ||
		    read(down[0], &c, 1) != 1)
			_exit(1);
		usleep(300000);
		lockfile_remove(lockname);
		_exit(0);
	}
	CHECK(read(up[0], &c, 1) == 1);
	lock_dot_timeout = 0;
	CHECK(lock_dot(mbox, &held, &err) < 0 && err.code == MAIL_INUSE);
	lock_dot_timeout = 10;
	CHECK(write(down[1], "y", 1) == 1);
	time_t t0 = time(NULL);
	CHECK(lock_dot(mbox, &held, &err) == 0);   /* waits for the release */
	CHECK(time(NULL) - t0 < 5);
	lock_dot_release(&held);
	waitpid(pid, NULL, 0);
	close(up[0]);
	close(up[1]);
	close(down[0]);
	close(down[1]);
}

static void test_fcntl(void)
{
	struct mail_err err = { 0 };
	int fd = open(mbox, O_RDWR | O_CREAT, 0600);
	int p[2];

	CHECK(lock_fd(fd, 1, &err) == 0);
	if (pipe(p) < 0)
		return;
	pid_t pid = fork();
	if (pid == 0) {
		int f2 = open(mbox, O_RDWR);
		struct flock fl = { .l_type = F_WRLCK, .l_whence = SEEK_SET };
		_exit(fcntl(f2, F_SETLK, &fl) == 0 ? 1 : 0);  /* must be refused */
	}
	int st;
	waitpid(pid, &st, 0);
	CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	lock_fd_release(fd);
	close(fd);
	close(p[0]);
	close(p[1]);
}

static void test_permission_text(void)
{
	char ro[128];
	int p[2];

	snprintf(ro, sizeof ro, "%s/ro", dir);
	mkdir(ro, 0755);
	/* The directory is ours, so only root can become someone who cannot
	 * write it; make check runs as root, so this runs there. */
	if (geteuid() != 0)
		SKIP("needs root to drop to nobody");
	CHECK(pipe(p) == 0);
	pid_t pid = fork();
	if (pid == 0) {
		alarm(20);
		struct mail_err err = { 0 };
		char *held = NULL, path[200];
		snprintf(path, sizeof path, "%s/user", ro);
		if (setgid(65534) < 0 || setuid(65534) < 0)
			_exit(2);
		int r = lock_dot(path, &held, &err);
		if (write(p[1], err.text, strlen(err.text) + 1) < 0)
			_exit(3);
		_exit(r < 0 && err.code == MAIL_NOPERM ? 0 : 1);
	}
	char text[300] = "";
	int st;
	waitpid(pid, &st, 0);
	if (read(p[0], text, sizeof text - 1) < 0)
		text[0] = '\0';
	CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	CHECK(strstr(text, ro) != NULL);
	CHECK(strstr(text, "chmod 2775") != NULL);
	if (!strstr(text, "chmod 2775"))
		fprintf(stderr, "got: %s (status %d)\n", text, st);
	close(p[0]);
	close(p[1]);
	rmdir(ro);
}

int main(void)
{
	strcpy(dir, "/tmp/test-lock-XXXXXX");
	if (!mkdtemp(dir))
		return 1;
	chmod(dir, 0755);
	snprintf(mbox, sizeof mbox, "%s/mbox", dir);
	snprintf(lockname, sizeof lockname, "%s.lock", mbox);
	RUN(test_basic);
	RUN(test_stale_lock_broken);
	RUN(test_live_lock_waits);
	RUN(test_fcntl);
	RUN(test_permission_text);
	unlink(lockname);
	unlink(mbox);
	rmdir(dir);
	return test_summary("test-lock");
}
