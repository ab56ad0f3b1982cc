/* check.c: find the classic setup mistakes and say how to fix each one.
 * Lines start with "ok:", "note:" or "problem:" so that scripts (and the
 * tests) can pick them out; only problems are counted. */
#include "check.h"
#include "lock.h"

#include <dirent.h>
#include <errno.h>
#include <grp.h>
#include <stdarg.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

struct ck {
	struct buf *out;
	const char *root;
	int problems;
};

static void say(struct ck *ck, const char *kind, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void say(struct ck *ck, const char *kind, const char *fmt, ...)
{
	va_list ap;

	buf_printf(ck->out, "%s: ", kind);
	va_start(ap, fmt);
	buf_vprintf(ck->out, fmt, ap);
	va_end(ap);
	buf_putc(ck->out, '\n');
	if (!strcmp(kind, "problem"))
		ck->problems++;
}

/* root + path, in a static buffer per call site's needs */
static const char *at(struct ck *ck, const char *path, char *buf, size_t size)
{
	snprintf(buf, size, "%s%s", ck->root, path);
	return buf;
}

static int file_exists(struct ck *ck, const char *path)
{
	char full[4096];

	return access(at(ck, path, full, sizeof full), F_OK) == 0;
}

/* Does a non-comment line of the file mention word? */
static int file_mentions(struct ck *ck, const char *path, const char *word)
{
	char full[4096], line[1024];
	FILE *f = fopen(at(ck, path, full, sizeof full), "r");
	int found = 0;

	if (!f)
		return 0;
	while (!found && fgets(line, sizeof line, f))
		found = line[0] != '#' && strstr(line, word) != NULL;
	fclose(f);
	return found;
}

/* Names people give the PAM file instead of "imap" / "pop". */
static const char *const pam_misnames[] = {
	"imapd", "imap4", "imap4rev1", "imaps", "ipop3d", "pop3d", "popd", "pop3", "pop3s",
	"ipop2d", "pop2",
};

static void check_pam(struct ck *ck, const char *service)
{
	char path[4096], other[4096];
	struct stat st;

	snprintf(path, sizeof path, "/etc/pam.d/%s", service);
	if (stat(at(ck, path, other, sizeof other), &st) == 0) {
		if ((st.st_mode & 0444) == 0 || access(other, R_OK) < 0)
			say(ck, "problem", "%s exists but cannot be read. Fix: chmod 644 %s", path, path);
		else
			say(ck, "ok", "PAM service \"%s\" (%s)", service, path);
		return;
	}
	if (file_mentions(ck, "/etc/pam.conf", service)) {
		say(ck, "ok", "PAM service \"%s\" (in /etc/pam.conf)", service);
		return;
	}
	int found = 0;
	for (size_t i = 0; i < ARRAY_SIZE(pam_misnames); i++) {
		char wrong[4096], full[4096];
		snprintf(wrong, sizeof wrong, "/etc/pam.d/%s", pam_misnames[i]);
		if (stat(at(ck, wrong, full, sizeof full), &st) == 0) {
			say(ck, "problem",
			    "%s is missing but %s exists: PAM looks only for the service "
			    "name \"%s\". Fix: cp %s %s (or mv it if nothing else uses it)",
			    path, wrong, service, wrong, path);
			found = 1;
		}
	}
	if (found)
		return;
	/* Debian's "other" includes common-auth, so logins still work there;
	 * elsewhere it usually denies everyone */
	int denies = !file_exists(ck, "/etc/pam.d/other") ||
		     file_mentions(ck, "/etc/pam.d/other", "pam_deny");
	say(ck, denies ? "problem" : "note",
	    "PAM service file %s is missing, so PAM uses /etc/pam.d/other%s. Fix: create %s "
	    "containing the two lines \"@include common-auth\" and \"@include common-account\"",
	    path, denies ? ", which refuses everyone" : "", path);
}

/* The setgid helper liblockfile runs for the spool's lock files: present,
 * setgid, group mail. NULL if fine, else what is wrong. */
static const char *helper_problem(struct ck *ck, gid_t mail_gid)
{
	char full[4096];
	struct stat st;

	if (stat(at(ck, LOCK_HELPER, full, sizeof full), &st) < 0)
		return "is missing";
	if (!S_ISREG(st.st_mode) || !(st.st_mode & 0111))
		return "is not an executable file";
	if (!(st.st_mode & S_ISGID) || st.st_gid != mail_gid)
		return "is not setgid mail";
	return NULL;
}

/* Sessions run as the user without group mail. In a 2775 root:mail spool
 * (Debian's /var/mail) the helper makes each user's own lock file and
 * rewrites go in place; a spool elsewhere must be 1777 sticky. */
static void check_spool(struct ck *ck, const char *spool)
{
	char full[4096];
	struct stat st;
	struct group *mail = getgrnam("mail");
	gid_t mail_gid = mail ? mail->gr_gid : (gid_t)-1;

	if (stat(at(ck, spool, full, sizeof full), &st) < 0) {
		say(ck, "problem",
		    "spool directory %s does not exist (%s). Fix: mkdir -p %s; chgrp mail %s; "
		    "chmod 2775 %s (or set spool_dir to where your MTA delivers)",
		    spool, strerror(errno), spool, spool, spool);
		return;
	}
	if (!S_ISDIR(st.st_mode)) {
		say(ck, "problem", "spool directory %s is not a directory. Fix: set spool_dir in the "
		    "configuration to the directory your MTA delivers to", spool);
		return;
	}
	mode_t m = st.st_mode & 07777;
	if ((m & 0002) && !(m & 01000)) {
		say(ck, "problem",
		    "spool directory %s is world-writable without the sticky bit (mode %04o): any "
		    "user can delete anyone's mail. Fix: chgrp mail %s; chmod 2775 %s",
		    spool, (unsigned)m, spool, spool);
		return;
	}
	if ((m & 0002) && (m & 01000)) {
		say(ck, "ok", "spool directory %s (mode %04o, sticky: users make their own lock "
		    "files)", spool, (unsigned)m);
		return;
	}
	if (!mail || st.st_gid != mail_gid || !(m & 0020)) {
		say(ck, "problem",
		    "spool directory %s (mode %04o) is neither writable by group mail nor "
		    "1777 sticky, so neither the delivery agent nor the server (which runs "
		    "without group mail) can create lock files there (mailboxes open read-only, "
		    "deletions fail). Fix: chgrp mail %s; chmod 2775 %s (as Debian ships "
		    "/var/mail), or chmod 1777 %s",
		    spool, (unsigned)m, spool, spool, spool);
		return;
	}
	const char *why = helper_problem(ck, mail_gid);
	if (why) {
		say(ck, "problem",
		    "spool directory %s is writable only by group mail, and sessions run without "
		    "that group: the lock file of a user's own spool file is made by the setgid "
		    "helper %s, which %s (mailboxes open read-only). Fix: apt-get install "
		    "liblockfile-bin; chgrp mail %s; chmod 2755 %s",
		    spool, LOCK_HELPER, why, LOCK_HELPER, LOCK_HELPER);
		return;
	}
	say(ck, "ok", "spool directory %s (mode %04o, group mail; each user's lock file through "
	    "the setgid helper %s, rewrites in place with a journal in ~/.imapd-cache)",
	    spool, (unsigned)m, LOCK_HELPER);
}

/* Is name (e.g. "imaps") in /etc/services for tcp? */
static int service_known(struct ck *ck, const char *name, int *port)
{
	char path[4096], line[1024];
	FILE *f = fopen(at(ck, "/etc/services", path, sizeof path), "r");
	int found = 0;

	if (!f)
		return 0;
	while (!found && fgets(line, sizeof line, f)) {
		char *hash = strchr(line, '#'), *save = NULL;
		if (hash)
			*hash = '\0';
		char *svc = strtok_r(line, " \t\n", &save);
		char *pp = strtok_r(NULL, " \t\n", &save);
		if (!svc || !pp || !strstr(pp, "/tcp"))
			continue;
		int match = !strcmp(svc, name);
		for (char *alias; !match && (alias = strtok_r(NULL, " \t\n", &save));)
			match = !strcmp(alias, name);
		if (match) {
			found = 1;
			*port = atoi(pp);
		}
	}
	fclose(f);
	return found;
}

static int standard_port(const char *name)
{
	static const struct {
		const char *name;
		int port;
	} ports[] = {{"imap", 143}, {"imaps", 993}, {"pop3", 110}, {"pop3s", 995}, {"pop2", 109}};

	for (size_t i = 0; i < ARRAY_SIZE(ports); i++)
		if (!strcmp(ports[i].name, name))
			return ports[i].port;
	return 0;
}

static void check_services(struct ck *ck, const char *const names[2])
{
	for (int i = 0; i < 2 && names[i]; i++) {
		int port = 0, want = standard_port(names[i]);
		if (service_known(ck, names[i], &port)) {
			say(ck, "ok", "/etc/services knows %s (port %d)", names[i], port);
			continue;
		}
		say(ck, "note",
		    "/etc/services has no tcp entry \"%s\": launchers cannot use the name and "
		    "implicit TLS is not recognised on its port (pass --tls there). Fix: "
		    "apt-get install netbase, or add the line \"%s %d/tcp\" to /etc/services",
		    names[i], names[i], want);
	}
}

/* The file name of a program path. */
static const char *prog_base(const char *prog)
{
	const char *slash = strrchr(prog, '/');

	return slash ? slash + 1 : prog;
}

/* Does a launcher line name a program for our daemon that is not there? */
static void check_program(struct ck *ck, const char *file, const char *daemon, const char *prog)
{
	char full[4096];

	if (strcmp(prog_base(prog), daemon))
		return;
	if (access(at(ck, prog, full, sizeof full), X_OK) == 0)
		say(ck, "ok", "%s starts %s, which is there", file, prog);
	else
		say(ck, "problem",
		    "%s starts %s, which does not exist or is not executable. Fix: correct the "
		    "path in %s to where %s is installed (make install puts it in $PREFIX/sbin)",
		    file, prog, file, daemon);
}

/* An inetd.conf line: service socktype proto wait user program argv0 args.
 * Through TCP wrappers the program is tcpd and the daemon is argv0, a
 * path, or a bare name tcpd finds in /usr/sbin (Debian's REAL_DAEMON_DIR). */
static void inetd_line(struct ck *ck, const char *file, const char *daemon, char *s)
{
	char *save = NULL, *tok = strtok_r(s, " \t\n", &save);
	char wrapped[4096];

	for (int i = 0; tok && i < 5; i++)
		tok = strtok_r(NULL, " \t\n", &save);
	if (tok && !strcmp(prog_base(tok), "tcpd")) {
		tok = strtok_r(NULL, " \t\n", &save);
		if (tok && !strchr(tok, '/')) {
			snprintf(wrapped, sizeof wrapped, "/usr/sbin/%s", tok);
			tok = wrapped;
		}
	}
	if (tok)
		check_program(ck, file, daemon, tok);
}

static void scan_file(struct ck *ck, const char *file, const char *daemon)
{
	char full[4096], line[2048];
	FILE *f = fopen(at(ck, file, full, sizeof full), "r");

	if (!f)
		return;
	while (fgets(line, sizeof line, f)) {
		char *s = line;
		while (*s == ' ' || *s == '\t')
			s++;
		if (*s == '#')
			continue;
		char *key = NULL;
		if (!strncmp(s, "server", 6) && strncmp(s, "server_args", 11) && (key = strchr(s, '=')))
			key++;
		else if (!strncmp(s, "ExecStart=", 10))
			key = s + 10;
		else if (strstr(file, "inetd.conf")) {
			inetd_line(ck, file, daemon, s);
			continue;
		}
		if (!key)
			continue;
		while (*key == ' ' || *key == '\t' || *key == '-' || *key == '@')
			key++;
		key[strcspn(key, " \t\n")] = '\0';
		check_program(ck, file, daemon, key);
	}
	fclose(f);
}

static void check_launchers(struct ck *ck, const char *daemon)
{
	static const char *const dirs[] = {"/etc/xinetd.d", "/etc/systemd/system",
					   "/lib/systemd/system"};
	char full[4096];

	scan_file(ck, "/etc/inetd.conf", daemon);
	for (size_t i = 0; i < ARRAY_SIZE(dirs); i++) {
		DIR *d = opendir(at(ck, dirs[i], full, sizeof full));
		struct dirent *e;
		if (!d)
			continue;
		while ((e = readdir(d))) {
			char file[4096];
			if (e->d_name[0] == '.')
				continue;
			if (i > 0 && !strstr(e->d_name, ".service"))
				continue;
			snprintf(file, sizeof file, "%s/%s", dirs[i], e->d_name);
			scan_file(ck, file, daemon);
		}
		closedir(d);
	}
}

int check_setup(const struct config *cfg, const struct check_target *t, struct buf *report)
{
	struct ck ck = {report, t->root ? t->root : "", 0};

	check_pam(&ck, cfg->pam_service ? cfg->pam_service : t->pam_service);
	check_spool(&ck, cfg->spool_dir);
	check_services(&ck, t->services);
	check_launchers(&ck, t->daemon);
	return ck.problems;
}
