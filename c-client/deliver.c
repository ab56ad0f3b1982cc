/* deliver.c: one local delivery, shared by tmail and dmail (see deliver.h).
 * Everything here runs as the recipient, except deliver_make_spool, which
 * root runs for exactly one file. The message bytes are parsed only here,
 * so never as root. */
#include "deliver.h"
#include "quota.h"
#include "config.h"
#include "daemon.h"
#include "fsafe.h"
#include "log.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <grp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sysexits.h>
#include <unistd.h>

#ifndef CONFIG_FILE
#define CONFIG_FILE "/etc/imapd.conf"
#endif

/* Failures go to stderr too once a program parsed its options: an MTA
 * quotes them, while the library alone (a test, a fuzzer) stays quiet. */
static int to_stderr;

int deliver_options(int argc, char **argv, const char *usage, int with_inbox,
		    struct deliver_opts *o)
{
	static const struct option longopts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	memset(o, 0, sizeof *o);
	to_stderr = 1;
	while ((c = getopt_long(argc, argv, with_inbox ? "+f:r:c:hI:" : "+f:r:c:h", longopts,
				NULL)) != -1) {
		if (c == 'f' || c == 'r') {
			o->sender = optarg;
		} else if (c == 'I') {
			o->inbox = optarg;
		} else if (c == 'c') {
			o->config = optarg;
		} else if (c == 'h' || c == 'V') {
			if (c == 'h')
				fputs(usage, stdout);
			else
				printf("%s (uw-imap) %s\n", program_invocation_short_name, VERSION);
			return EX_OK;
		} else {
			fputs(usage, stderr);
			return EX_USAGE;
		}
	}
	return -1;
}

void deliver_log(int failed, const char *fmt, ...)
{
	char line[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof line, fmt, ap);
	va_end(ap);
	if (failed) {
		log_err("%s", line);
		if (to_stderr)
			fprintf(stderr, "%s: %s\n", program_invocation_short_name, line);
	} else {
		log_info("%s", line);
	}
}

int deliver_read(int fd, struct buf *raw)
{
	for (;;) {
		buf_reserve(raw, 65536);
		ssize_t n = read(fd, raw->data + raw->len, raw->cap - raw->len - 1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			deliver_log(1, "cannot read the message from standard input: %s",
			    strerror(errno));
			return EX_TEMPFAIL;
		}
		if (n == 0)
			return EX_OK;
		raw->len += (size_t)n;
		raw->data[raw->len] = '\0';
	}
}

/* Length of the line at p (up to and including its LF). */
static size_t line_len(const char *p, size_t n)
{
	const char *nl = memchr(p, '\n', n);

	return nl ? (size_t)(nl - p) + 1 : n;
}

/* Control characters would let a sender forge header lines. */
static int has_controls(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			return 1;
	return 0;
}

/* The sender of an mbox From line ("From addr date"), NULL if unusable.
 * MTAs write MAILER-DAEMON there for the null sender. */
static char *from_line_sender(const char *l, size_t n)
{
	size_t i = 5, s;

	while (i < n && l[i] == ' ')
		i++;
	s = i;
	while (i < n && l[i] != ' ' && l[i] != '\t' && l[i] != '\n' && l[i] != '\r')
		i++;
	if (i == s || i - s > DELIVER_SENDER_MAX || has_controls(l + s, i - s))
		return NULL;
	if (i - s == 13 && !strncasecmp(l + s, "MAILER-DAEMON", 13))
		return xstrdup("");
	return xstrndup(l + s, i - s);
}

/* -f's value without the angle brackets SMTP puts around it. */
static char *strip_brackets(const char *s)
{
	size_t n = strlen(s);

	if (n >= 2 && s[0] == '<' && s[n - 1] == '>')
		return xstrndup(s + 1, n - 2);
	return xstrdup(s);
}

/* Does the header (up to the first empty line) have a Return-Path? */
static int has_return_path(const char *p, size_t n)
{
	for (size_t pos = 0, l; pos < n; pos += l) {
		l = line_len(p + pos, n - pos);
		if (p[pos] == '\n' || (p[pos] == '\r' && l == 2))
			return 0;
		if (l > 12 && !strncasecmp(p + pos, "Return-Path:", 12))
			return 1;
	}
	return 0;
}

static int only_space(const char *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i] != ' ' && p[i] != '\t' && p[i] != '\r' && p[i] != '\n')
			return 0;
	return 1;
}

int deliver_prepare(const char *raw, size_t len, const char *sender_opt, const char *user,
		    struct deliver_msg *m)
{
	char *from_sender = NULL;

	memset(m, 0, sizeof *m);
	buf_init(&m->text);
	if (len >= 5 && !memcmp(raw, "From ", 5)) {
		size_t l = line_len(raw, len);
		from_sender = from_line_sender(raw, l);
		raw += l;
		len -= l;
		/* mbox framing, as Postfix's local(8) sends it: the blank line
		 * after the message separates it from the next one */
		if (len >= 2 && raw[len - 1] == '\n' && raw[len - 2] == '\n')
			len--;
		else if (len >= 4 && !memcmp(raw + len - 4, "\r\n\r\n", 4))
			len -= 2;
	}
	if (only_space(raw, len)) {
		free(from_sender);
		deliver_log(1, "delivery refused user=%s: the input holds no message (only "
		    "%zu bytes of white space)", user, len);
		return EX_DATAERR;
	}
	if (sender_opt) {
		free(from_sender);
		m->sender = strip_brackets(sender_opt);
	} else {
		m->sender = from_sender;
	}
	if (m->sender && (strlen(m->sender) > DELIVER_SENDER_MAX ||
			  has_controls(m->sender, strlen(m->sender)))) {
		deliver_log(1, "delivery refused user=%s: the envelope sender has control "
		    "characters or more than %d bytes", user, DELIVER_SENDER_MAX);
		deliver_msg_free(m);
		return EX_USAGE;
	}
	if (m->sender && !has_return_path(raw, len)) {
		size_t first = line_len(raw, len);
		int crlf = first >= 2 && raw[first - 1] == '\n' && raw[first - 2] == '\r';
		buf_printf(&m->text, "Return-Path: <%s>%s", m->sender, crlf ? "\r\n" : "\n");
	}
	buf_append(&m->text, raw, len);
	if (m->sender) {
		/* a From line is split at blanks: keep the address one token */
		m->from_token = xstrdup(m->sender);
		for (char *p = m->from_token; *p; p++)
			if (*p == ' ' || *p == '\t')
				*p = '_';
	}
	return EX_OK;
}

void deliver_msg_free(struct deliver_msg *m)
{
	buf_free(&m->text);
	free(m->sender);
	free(m->from_token);
	memset(m, 0, sizeof *m);
}

int deliver_code(const struct mail_err *err)
{
	return err->code == MAIL_BADNAME ? EX_USAGE : EX_TEMPFAIL;
}

int deliver_folder_ok(const char *name)
{
	if (!*name || strlen(name) > 255 || name[0] == '/' || name[0] == '~' || name[0] == '#' ||
	    has_controls(name, strlen(name)))
		return 0;
	for (const char *p = name; p; p = strchr(p, '/')) {
		if (*p == '/')
			p++;
		if (*p == '.' || *p == '/' || !*p)
			return 0;
	}
	return 1;
}

int deliver_make_spool(const char *spool_dir, const char *user, uid_t uid,
		       struct mail_err *err)
{
	struct group *g = getgrnam("mail");
	int dirfd, fd;

	if (!*user || strchr(user, '/') || !strcmp(user, ".") || !strcmp(user, "..")) {
		mail_err_set(err, MAIL_BADNAME, "user name %s cannot be a spool file", user);
		return -1;
	}
	/* the spool directory's own path is the administrator's: its links
	 * (/var/spool/mail -> ../mail) are meant */
	dirfd = open(spool_dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (dirfd < 0) {
		mail_err_set(err, MAIL_FAIL, "cannot open the spool directory %s: %s", spool_dir,
			     strerror(errno));
		return -1;
	}
	fd = openat(dirfd, user, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_NONBLOCK |
		    O_CLOEXEC, 0600);
	if (fd < 0 && errno == EEXIST) {
		close(dirfd);
		return 0;
	}
	if (fd < 0 || fchown(fd, uid, g ? g->gr_gid : (gid_t)-1) < 0 ||
	    fchmod(fd, DELIVER_SPOOL_MODE) < 0) {
		int e = errno;
		if (fd >= 0) {
			unlinkat(dirfd, user, 0);
			close(fd);
		}
		close(dirfd);
		mail_err_set(err, MAIL_FAIL, "cannot create the spool file %s/%s: %s", spool_dir,
			     user, strerror(e));
		return -1;
	}
	close(fd);
	close(dirfd);
	deliver_log(0, "created spool file %s/%s for user=%s", spool_dir, user, user);
	return 0;
}

int deliver_start(const char *prog, const char *config_path, struct config *cfg,
		  struct buf *raw)
{
	struct buf errors;

	if (getuid() != geteuid() || getgid() != getegid()) {
		deliver_log(1, "%s refuses to run setuid or setgid: install it mode 0755", prog);
		return EX_USAGE;
	}
	buf_init(&errors);
	if (daemon_config_load(cfg, config_path ? config_path : CONFIG_FILE, config_path != NULL,
			       &errors) < 0) {
		fprintf(stderr, "%s: %s", prog, errors.data);
		buf_free(&errors);
		config_free(cfg);
		return EX_TEMPFAIL;
	}
	buf_free(&errors);
	buf_init(raw);
	int r = deliver_read(0, raw);
	if (r != EX_OK) {
		buf_free(raw);
		config_free(cfg);
	}
	return r;
}

/* Is INBOX the spool file, and missing? */
static int spool_missing(struct mail_session *s)
{
	struct mail_err ignore;
	struct fsafe_loc loc;
	struct stat st;
	struct buf want;
	char *path = mail_resolve(s, "INBOX", &ignore);
	int missing = 0;

	buf_init(&want);
	buf_printf(&want, "%s/%s", s->spool_dir, s->user);
	if (path && !strcmp(path, want.data) && fsafe_locate(s, path, 0, &loc, &ignore) == 0) {
		missing = fsafe_lstat(&loc, &st) < 0 && errno == ENOENT;
		fsafe_close(&loc);
	}
	buf_free(&want);
	free(path);
	return missing;
}

static int is_inbox(const char *name)
{
	return !strcasecmp(name, "INBOX");
}

/* mail_append of m to name, making the spool file first when INBOX is
 * missing there, and name itself when create is set. */
static int append_to(struct mail_session *s, const struct deliver_target *t, const char *name,
		     int create, const struct mail_new *m, struct mail_err *err)
{
	if (is_inbox(name) && t->make_spool && spool_missing(s) &&
	    t->make_spool(t->spool_ctx, err) < 0)
		return -1;
	if (mail_append(s, name, m, 1, NULL, NULL, err) == 0)
		return 0;
	if (err->code != MAIL_NONEXISTENT || is_inbox(name) || !create)
		return -1;
	if (mail_create(s, name, err) < 0 && err->code != MAIL_EXISTS)
		return -1;
	return mail_append(s, name, m, 1, NULL, NULL, err);
}

/* One syslog line for the outcome; returns its sysexits code. */
static int report(struct mail_session *s, const char *name, const struct deliver_msg *m,
		  int failed, const struct mail_err *err)
{
	struct mail_err ignore;
	char *path = mail_resolve(s, name, &ignore);
	const char *file = path ? path : "(none)";
	int code = failed ? deliver_code(err) : EX_OK;

	if (!failed)
		deliver_log(0, "delivered user=%s mailbox=%s file=%s size=%zu sender=<%s>",
		    s->user, name, file, m->text.len, m->sender ? m->sender : "");
	else
		deliver_log(1, "delivery failed user=%s mailbox=%s file=%s: %s (%s)", s->user,
		    name, file, err->text,
		    code == EX_TEMPFAIL ? "temporary: the MTA retries" : "permanent");
	free(path);
	return code;
}

int deliver_to(struct mail_session *s, const struct deliver_target *t,
	       const struct deliver_msg *m)
{
	struct mail_new nm = { .text = m->text.data, .len = m->text.len,
			       .sender = m->from_token };
	const char *inbox = t->inbox ? t->inbox : "INBOX", *name = inbox;
	struct mail_err err = { 0 };
	int r;

	/* the quota limits what clients store; mail from outside is not
	 * bounced for it (the user sees the usage over the limit instead) */
	mail_quota_clear(s);
	if (t->folder && deliver_folder_ok(t->folder))
		name = t->folder;
	else if (t->folder)
		deliver_log(0, "user=%s: folder %s refused (only a plain name in the home is taken "
		    "from an address), delivering to %s", s->user, t->folder, inbox);
	r = append_to(s, t, name, name == inbox && t->create_inbox, &nm, &err);
	if (r < 0 && err.code == MAIL_NONEXISTENT && name != inbox) {
		deliver_log(0, "user=%s: folder %s does not exist, delivering to %s", s->user, name,
		    inbox);
		name = inbox;
		r = append_to(s, t, name, t->create_inbox, &nm, &err);
	}
	return report(s, name, m, r < 0, &err);
}
