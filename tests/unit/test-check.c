/* test-check.c: the setup checker, each classic mistake made in a scratch
 * root and named in the report with its fix; a correct setup passes. */
#include <fcntl.h>
#include <grp.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "test.h"

static char root[256];

static void put(const char *rel, const char *text, mode_t mode)
{
	char path[512], dir[1024];

	snprintf(path, sizeof path, "%s%s", root, rel);
	snprintf(dir, sizeof dir, "mkdir -p \"$(dirname '%s')\"", path);
	CHECK(system(dir) == 0);
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, mode);
	CHECK(fd >= 0);
	if (fd >= 0) {
		CHECK(write(fd, text, strlen(text)) == (ssize_t)strlen(text));
		close(fd);
	}
	chmod(path, mode);
}

static void spool(mode_t mode, int group_mail)
{
	char path[512];
	struct group *g = getgrnam("mail");

	snprintf(path, sizeof path, "%s/var", root);
	mkdir(path, 0755);
	snprintf(path, sizeof path, "%s/var/mail", root);
	mkdir(path, 0755);
	chmod(path, mode);
	if (group_mail && g)
		CHECK(chown(path, 0, g->gr_gid) == 0 || geteuid() != 0);
}

/* Debian's setgid-mail lock helper in the scratch root, with this mode. */
static void helper(mode_t mode)
{
	char path[512];
	struct group *g = getgrnam("mail");

	put("/usr/bin/dotlockfile", "#!/bin/sh\n", 0755);
	snprintf(path, sizeof path, "%s/usr/bin/dotlockfile", root);
	if (g)
		CHECK(chown(path, 0, g->gr_gid) == 0 || geteuid() != 0);
	CHECK(chmod(path, mode) == 0);
}

/* A setup that works: PAM file, spool 2775 root:mail, services, launcher. */
static void good_root(void)
{
	char cmd[1024];

	snprintf(root, sizeof root, "/tmp/test-check-XXXXXX");
	CHECK(mkdtemp(root) != NULL);
	snprintf(cmd, sizeof cmd, "mkdir -p %s/etc/pam.d %s/etc/xinetd.d %s/usr/sbin", root, root,
		 root);
	CHECK(system(cmd) == 0);
	put("/etc/pam.d/imap", "@include common-auth\n@include common-account\n", 0644);
	put("/etc/services", "imap2\t\t143/tcp\t\timap\nimaps\t\t993/tcp\n", 0644);
	put("/usr/sbin/imapd", "#!/bin/sh\n", 0755);
	put("/etc/xinetd.d/imap", "service imap\n{\n\tserver\t= /usr/sbin/imapd\n"
				  "\tserver_args = --tls\n}\n", 0644);
	spool(02775, 1);
	helper(02755);
}

static void cleanup(void)
{
	char cmd[512];

	snprintf(cmd, sizeof cmd, "rm -rf %s", root);
	CHECK(system(cmd) == 0);
}

static int run(struct buf *report)
{
	struct config cfg;
	struct check_target t = {"imapd", "imap", {"imap", "imaps"}, root};

	config_defaults(&cfg);
	free(cfg.spool_dir);
	cfg.spool_dir = xstrdup("/var/mail");
	buf_reset(report);
	int n = check_setup(&cfg, &t, report);
	config_free(&cfg);
	return n;
}

static int has(struct buf *b, const char *s)
{
	int found = b->data && strstr(b->data, s) != NULL;
	if (!found)
		fprintf(stderr, "report lacks \"%s\":\n%s", s, b->data ? b->data : "");
	return found;
}

static void correct_setup_passes(void)
{
	struct buf r;

	buf_init(&r);
	good_root();
	CHECK(run(&r) == 0);
	CHECK(strstr(r.data, "problem") == NULL);
	CHECK(has(&r, "ok: PAM service \"imap\" (/etc/pam.d/imap)"));
	cleanup();
	buf_free(&r);
}

static void misnamed_pam_file(void)
{
	static const char *names[] = {"imapd", "imap4", "imap4rev1", "imaps"};
	struct buf r;
	char path[512];

	buf_init(&r);
	for (size_t i = 0; i < ARRAY_SIZE(names); i++) {
		good_root();
		snprintf(path, sizeof path, "%s/etc/pam.d/imap", root);
		unlink(path);
		snprintf(path, sizeof path, "/etc/pam.d/%s", names[i]);
		put(path, "@include common-auth\n", 0644);
		CHECK(run(&r) == 1);
		CHECK(has(&r, "problem: /etc/pam.d/imap is missing but"));
		CHECK(has(&r, path));
		CHECK(has(&r, "Fix: cp"));
		cleanup();
	}
	good_root();
	snprintf(path, sizeof path, "%s/etc/pam.d/imap", root);
	unlink(path);
	CHECK(run(&r) == 1);   /* no /etc/pam.d/other in the scratch root: refused */
	CHECK(has(&r, "problem: PAM service file /etc/pam.d/imap is missing"));
	put("/etc/pam.d/other", "@include common-auth\n", 0644);
	CHECK(run(&r) == 0);   /* Debian's other still lets people in */
	CHECK(has(&r, "note: PAM service file /etc/pam.d/imap is missing"));
	cleanup();
	buf_free(&r);
}

static void spool_modes(void)
{
	struct buf r;
	char path[512];

	buf_init(&r);
	good_root();
	spool(0755, 1);
	CHECK(run(&r) == 1);
	CHECK(has(&r, "is neither writable by group mail nor 1777 sticky"));
	CHECK(has(&r, "chmod 2775 /var/mail"));
	/* sessions run without group mail: the spool's lock files need the
	 * setgid helper */
	spool(02775, 1);
	CHECK(run(&r) == 0);
	CHECK(has(&r, "ok: spool directory /var/mail (mode 2775, group mail; each user's "
		      "lock file through the setgid helper /usr/bin/dotlockfile"));
	helper(0755);
	CHECK(run(&r) == 1);
	CHECK(has(&r, "/usr/bin/dotlockfile, which is not setgid mail"));
	snprintf(path, sizeof path, "%s/usr/bin/dotlockfile", root);
	unlink(path);
	CHECK(run(&r) == 1);
	CHECK(has(&r, "/usr/bin/dotlockfile, which is missing"));
	CHECK(has(&r, "apt-get install liblockfile-bin"));
	spool(0777, 0);
	CHECK(run(&r) == 1);
	CHECK(has(&r, "world-writable without the sticky bit"));
	spool(01777, 0);
	CHECK(run(&r) == 0);
	snprintf(path, sizeof path, "%s/var/mail", root);
	rmdir(path);
	CHECK(run(&r) == 1);
	CHECK(has(&r, "spool directory /var/mail does not exist"));
	cleanup();
	buf_free(&r);
}

static void services_missing(void)
{
	struct buf r;

	buf_init(&r);
	good_root();
	put("/etc/services", "imap2\t\t143/tcp\t\timap\n", 0644);
	CHECK(run(&r) == 0);   /* reported, but logins still work */
	CHECK(has(&r, "note: /etc/services has no tcp entry \"imaps\""));
	CHECK(has(&r, "\"imaps 993/tcp\""));
	cleanup();
	buf_free(&r);
}

static void launcher_points_nowhere(void)
{
	struct buf r;

	buf_init(&r);
	good_root();
	put("/etc/xinetd.d/imap", "service imap\n{\n\tserver = /usr/local/sbin/imapd\n}\n", 0644);
	put("/etc/inetd.conf", "imaps stream tcp nowait root /opt/imapd imapd --tls\n", 0644);
	CHECK(run(&r) == 2);
	CHECK(has(&r, "/etc/xinetd.d/imap starts /usr/local/sbin/imapd, which does not exist"));
	CHECK(has(&r, "/etc/inetd.conf starts /opt/imapd"));
	cleanup();
	buf_free(&r);
}

/* The classic TCP wrappers line: tcpd runs, the daemon is argv[0]. */
static void launcher_through_tcpd(void)
{
	struct buf r;

	buf_init(&r);
	good_root();
	put("/etc/inetd.conf", "imaps stream tcp nowait root /usr/sbin/tcpd /opt/imapd\n"
			       "imap stream tcp nowait root /usr/sbin/tcpd imapd\n", 0644);
	CHECK(run(&r) == 1);   /* the one problem: /opt/imapd */
	CHECK(has(&r, "/etc/inetd.conf starts /opt/imapd, which does not exist"));
	CHECK(has(&r, "/etc/inetd.conf starts /usr/sbin/imapd, which is there"));
	cleanup();
	buf_free(&r);
}

int main(void)
{
	RUN(correct_setup_passes);
	RUN(misnamed_pam_file);
	RUN(spool_modes);
	RUN(services_missing);
	RUN(launcher_points_nowhere);
	RUN(launcher_through_tcpd);
	return test_summary("test-check");
}
