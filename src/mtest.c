/* mtest.c: the classic toolkit's interactive testbed on this library: open
 * any mailbox, local or "{host/flags}name", and look at it and change it
 * one command a line, from a terminal or a script on stdin. */
#include <errno.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "imap_resp.h"
#include "mail_api.h"
#include "net.h"
#include "parser.h"
#include "search.h"
#include "search_parse.h"
#include "smtp_client.h"

#define ARGS_MAX 16

static struct mail_session sess;
static struct mailbox *box;
static struct net_login_cache logins;
static int failures;

/* A command's failure: one "NO" line a script can match. */
static int no(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int no(const char *fmt, ...)
{
	va_list ap;

	fputs("NO ", stdout);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	failures++;
	return -1;
}

static int no_err(const char *what, const struct mail_err *err)
{
	return no("%s: %s", what, err->text);
}

/* /debug: the protocol on stderr, as the classic mm_dlog did. */
static void trace(void *ctx, const struct net_name *n, int out, const char *line, size_t len)
{
	fprintf(stderr, "%s %.*s\n", out ? "C:" : "S:", (int)len, line);
}

static void ev_exists(void *ctx, uint32_t n)
{
	printf("* %u messages\n", n);
}

static void ev_expunged(void *ctx, uint32_t msgno)
{
	printf("* expunged %u\n", msgno);
}

static void ev_flags(void *ctx, uint32_t msgno)
{
	printf("* flags of %u changed\n", msgno);
}

static void ev_notice(void *ctx, const char *text)
{
	printf("* %s\n", text);
}

static const struct mail_events events = {ev_exists, NULL, ev_expunged, ev_flags, ev_notice};

static int need_box(void)
{
	return box ? 0 : no("no mailbox is open");
}

/* "N" or "N:M" or "*" (the last); 0 if bad. */
static int range(const char *s, uint32_t *lo, uint32_t *hi)
{
	char *end;

	if (!s || need_box() < 0)
		return 0;
	*lo = !strcmp(s, "*") ? box->nmsgs : (uint32_t)strtoul(s, &end, 10);
	*hi = *lo;
	if (strcmp(s, "*") && *end == ':')
		*hi = !strcmp(end + 1, "*") ? box->nmsgs : (uint32_t)strtoul(end + 1, NULL, 10);
	if (*lo < 1 || *hi < *lo || *hi > box->nmsgs) {
		no("no messages %s (%u in the mailbox)", s, box->nmsgs);
		return 0;
	}
	return 1;
}

static void print_flags(uint32_t n)
{
	struct message *m = box->msgs[n - 1];
	int first = 1;

	putchar('(');
	for (size_t i = 0; i < IMAP_SYSFLAGS; i++)
		if (m->flags & imap_sysflags[i].flag) {
			printf("%s%s", first ? "" : " ", imap_sysflags[i].name);
			first = 0;
		}
	for (int k = kwset_next(&m->keywords, 0); k >= 0 && (unsigned)k < box->nkeywords;
	     k = kwset_next(&m->keywords, (unsigned)k + 1)) {
		printf("%s%s", first ? "" : " ", box->keywords[k]);
		first = 0;
	}
	putchar(')');
}

static int cmd_open(char **a, int n)
{
	int ro = n == 3 && !strcmp(a[1], "-r");
	const char *name = a[n - 1];
	struct mail_err err;

	if (n < 2 || (n == 3 && !ro) || n > 3)
		return no("usage: open [-r] MAILBOX");
	if (box)
		mail_close(box, 0, NULL);
	box = NULL;
	if (mail_open(&sess, name, ro, &events, NULL, &box, &err) < 0)
		return no_err(name, &err);
	printf("%s: %u messages, %u recent, uidvalidity %u, uidnext %u%s\n", name, box->nmsgs,
	       box->recent, box->uidvalidity, box->uidnext, box->readonly ? ", read-only" : "");
	return 0;
}

static int cmd_status(char **a, int n)
{
	struct mail_status st;
	struct mail_err err;

	if (n != 2)
		return no("usage: status MAILBOX");
	if (mail_status(&sess, a[1], &st, &err) < 0)
		return no_err(a[1], &err);
	printf("%s: messages %u recent %u unseen %u uidnext %u uidvalidity %u\n", a[1],
	       st.messages, st.recent, st.unseen, st.uidnext, st.uidvalidity);
	return 0;
}

static void listed(void *ctx, const char *name, int attrs)
{
	printf("list: %s%s%s\n", name, attrs & LA_NOSELECT ? " \\Noselect" : "",
	       attrs & LA_NOINFERIORS ? " \\Noinferiors" : "");
}

static int cmd_list(char **a, int n)
{
	struct mail_err err;

	if (n != 3)
		return no("usage: list REFERENCE PATTERN (\"\" for an empty one)");
	const char *ref = strcmp(a[1], "\"\"") ? a[1] : "";
	return mail_list(&sess, ref, a[2], listed, NULL, &err) < 0 ? no_err("list", &err) : 0;
}

/* The internal date as IMAP writes it, in the message's own zone. */
static void print_date(const struct message *m)
{
	struct buf b;

	buf_init(&b);
	imap_date_time(&b, m->internal_date, m->tz_minutes);
	fputs(b.data, stdout);
	buf_free(&b);
}

/* One summary line per message: number, UID, flags, size, date, Subject. */
static int cmd_headers(char **a, int n)
{
	uint32_t lo, hi;
	struct mail_err err;

	if (!range(n == 2 ? a[1] : "1:*", &lo, &hi))
		return -1;
	for (uint32_t i = lo; i <= hi; i++) {
		struct envelope *env;
		if (mail_fetch_envelope(box, i, &env, &err) < 0)
			return no_err("headers", &err);
		printf("%u uid %u ", i, box->msgs[i - 1]->uid);
		print_flags(i);
		printf(" %llu octets ", (unsigned long long)box->msgs[i - 1]->size);
		print_date(box->msgs[i - 1]);
		printf(" subject: %s\n", env && env->subject ? env->subject : "");
	}
	return 0;
}

/* The exact octets of a message (or its header) between two marker lines. */
static int cmd_fetch(char **a, int n, int header)
{
	uint32_t lo, hi;
	const char *text;
	size_t len;
	struct mail_err err;

	if (n != 2 || !range(a[1], &lo, &hi) || lo != hi)
		return n != 2 ? no("usage: fetch N") : -1;
	if ((header ? mail_fetch_header(box, lo, &text, &len, &err) :
		      mail_fetch_text(box, lo, &text, &len, &err)) < 0)
		return no_err("fetch", &err);
	printf("-- message %u, %zu octets\n", lo, len);
	fwrite(text, 1, len, stdout);
	printf("\n-- end\n");
	return 0;
}

/* The exact octets into a file. */
static int cmd_save(char **a, int n)
{
	uint32_t lo, hi;
	const char *text;
	size_t len;
	struct mail_err err;

	if (n != 3 || !range(a[1], &lo, &hi) || lo != hi)
		return n != 3 ? no("usage: save N FILE") : -1;
	if (mail_fetch_text(box, lo, &text, &len, &err) < 0)
		return no_err("fetch", &err);
	FILE *f = fopen(a[2], "we");
	if (!f || fwrite(text, 1, len, f) != len || fclose(f) != 0)
		return no("%s: %s", a[2], strerror(errno));
	printf("saved %zu octets\n", len);
	return 0;
}

/* set/clear N[:M] FLAG...: system flags by name, anything else a keyword. */
static int cmd_flag(char **a, int n, enum mail_store_op op)
{
	uint32_t lo, hi, flags = 0;
	struct kwset kw = KWSET_EMPTY;
	struct mail_err err;
	int rc = 0;

	if (n < 3 || !range(a[1], &lo, &hi))
		return n < 3 ? no("usage: set|clear N FLAG...") : -1;
	for (int i = 2; i < n; i++) {
		size_t f = 0;
		while (f < IMAP_SYSFLAGS && strcasecmp(a[i], imap_sysflags[f].name))
			f++;
		int k = f < IMAP_SYSFLAGS ? -1 : mail_keyword(box, a[i], 1);
		if (f < IMAP_SYSFLAGS)
			flags |= imap_sysflags[f].flag;
		else if (k >= 0)
			kwset_set(&kw, (unsigned)k);
		else
			rc = rc ? rc : no("%s: not a flag this mailbox can keep", a[i]);
	}
	for (uint32_t i = lo; i <= hi && !rc; i++)
		if (mail_store(box, i, op, flags, &kw, &err) < 0)
			rc = no_err("store", &err);
	kwset_free(&kw);
	if (rc || mail_flush(box, &err) < 0)
		return rc ? rc : no_err("store", &err);
	for (uint32_t i = lo; i <= hi; i++) {
		printf("%u ", i);
		print_flags(i);
		putchar('\n');
	}
	return 0;
}

static int cmd_search(char **a, int n)
{
	struct search_key *key;
	struct parser p;
	struct mail_err err;
	struct buf b;
	int rc = 0;

	if (need_box() < 0)
		return -1;
	buf_init(&b);
	for (int i = 1; i < n; i++)
		buf_printf(&b, "%s%s", i > 1 ? " " : "", a[i]);
	struct pool *pool = pool_new();
	p_init(&p, b.data ? b.data : "ALL", b.data ? b.len : 3, pool);
	if (imap_search_parse(&p, box, &key) != SEARCH_PARSE_OK) {
		rc = no("search: %s", p.error ? p.error : "criteria not understood");
	} else {
		uint8_t *match = xcalloc(box->nmsgs + 1, 1);
		if (search_run(box, key, match, &err) < 0)
			rc = no_err("search", &err);
		fputs(rc ? "" : "search:", stdout);
		for (uint32_t i = 0; !rc && i < box->nmsgs; i++)
			if (match[i])
				printf(" %u", i + 1);
		fputs(rc ? "" : "\n", stdout);
		free(match);
	}
	pool_free(pool);
	buf_free(&b);
	return rc;
}

/* append MAILBOX FILE [FLAG...] */
/* A whole file into text (initialised here); -1 after saying why. */
static int read_file(const char *path, struct buf *text)
{
	char buf[8192];
	size_t got;
	FILE *f = fopen(path, "re");

	if (!f)
		return no("%s: %s", path, strerror(errno));
	buf_init(text);
	while ((got = fread(buf, 1, sizeof buf, f)) > 0)
		buf_append(text, buf, got);
	fclose(f);
	return 0;
}

static int cmd_append(char **a, int n)
{
	struct mail_new m = {0};
	struct mail_err err;
	struct buf text;
	uint32_t uid = 0, validity = 0;

	if (n < 3)
		return no("usage: append MAILBOX FILE [FLAG...]");
	if (read_file(a[2], &text) < 0)
		return -1;
	for (int i = 3; i < n; i++)
		for (size_t k = 0; k < IMAP_SYSFLAGS; k++)
			if (!strcasecmp(a[i], imap_sysflags[k].name))
				m.flags |= imap_sysflags[k].flag & MF_STORABLE;
	m.text = text.data ? text.data : "";
	m.len = text.len;
	int r = mail_append(&sess, a[1], &m, 1, &validity, &uid, &err);
	buf_free(&text);
	if (r < 0)
		return no_err(a[1], &err);
	printf("appended, uid %u uidvalidity %u\n", uid, validity);
	return 0;
}

/* send HOST[:PORT][/FLAGS] FROM FILE TO...: one message over SMTP. */
static int cmd_send(char **a, int n)
{
	struct net_name nm;
	struct mail_err err;
	struct buf text;

	if (n < 4)
		return no("usage: send HOST[:PORT][/FLAGS] FROM FILE TO...");
	if (smtp_name_parse(a[1], &nm, &err) < 0)
		return no_err(a[1], &err);
	if (read_file(a[3], &text) < 0)
		return -1;
	struct smtp_conn *c = smtp_connect(&nm, sess.client, sess.user, &err);
	int r = c ? smtp_send(c, a[2], (const char *const *)a + 4, (size_t)(n - 4),
			      text.data ? text.data : "", text.len, &err) : -1;
	smtp_disconnect(c);
	buf_free(&text);
	if (r < 0)
		return no_err(a[1], &err);
	printf("sent to %d recipients\n", n - 4);
	return 0;
}

static int cmd_names(char **a, int n)
{
	struct mail_err err;
	int r;

	if (!strcmp(a[0], "create") && n == 2)
		r = mail_create(&sess, a[1], &err);
	else if (!strcmp(a[0], "delete") && n == 2)
		r = mail_delete(&sess, a[1], &err);
	else if (!strcmp(a[0], "rename") && n == 3)
		r = mail_rename(&sess, a[1], a[2], &err);
	else
		return no("usage: create NAME | delete NAME | rename OLD NEW");
	return r < 0 ? no_err(a[1], &err) : (printf("%s done\n", a[0]), 0);
}

/* expunge [UID...] (only those of the \Deleted, as UID EXPUNGE), check
 * (new mail), close. */
static int cmd_box(char **a, int n)
{
	struct mail_err err;
	uint32_t uids[ARGS_MAX];

	if (need_box() < 0)
		return -1;
	for (int i = 1; i < n; i++)
		uids[i - 1] = (uint32_t)strtoul(a[i], NULL, 10);
	if (!strcmp(a[0], "expunge") &&
	    mail_expunge(box, n > 1 ? uids : NULL, (size_t)(n - 1), &err) < 0)
		return no_err("expunge", &err);
	if (!strcmp(a[0], "check") && mail_ping(box, &err) < 0)
		return no_err("check", &err);
	if (!strcmp(a[0], "close")) {
		int r = mail_close(box, 0, &err);
		box = NULL;
		if (r < 0)
			return no_err("close", &err);
	}
	printf("%s done, %u messages\n", a[0], box ? box->nmsgs : 0);
	return 0;
}

/* idle [SECONDS]: wait until the mailbox's message count changes (30 s at
 * most): woken by its watch (IMAP IDLE, inotify), or pinging every second
 * where it has none; says which. */
static int cmd_idle(char **a, int n)
{
	struct mail_err err;
	time_t end = time(NULL) + (n > 1 ? strtol(a[1], NULL, 10) : 30);
	uint32_t before;
	int woken = 0, polled = 0;

	if (need_box() < 0)
		return -1;
	before = box->nmsgs;
	while (box->nmsgs == before && time(NULL) < end) {
		int fd = mail_watch_fd(box);
		struct pollfd p = {fd, POLLIN, 0};
		if (fd < 0) {
			sleep(1);
			polled = 1;
		} else if (poll(&p, 1, 1000) > 0 && mail_watch_changed(box)) {
			woken = 1;
		} else {
			continue;
		}
		if (mail_ping(box, &err) < 0)
			return no_err("idle", &err);
	}
	printf("idle done, %u messages%s%s\n", box->nmsgs, woken ? ", woken" : "",
	       polled ? ", polled" : "");
	return 0;
}

static void help(void)
{
	puts("open [-r] MAILBOX | status MAILBOX | list REF PATTERN | headers [N:M]\n"
	     "fetch N | header N | save N FILE | set N[:M] FLAG... | clear N[:M] FLAG...\n"
	     "search CRITERIA | append MAILBOX FILE [FLAG...] | create NAME | delete NAME\n"
	     "rename OLD NEW | check | expunge [UID...] | close | idle [SECONDS] | quit\n"
	     "send HOST[:PORT][/FLAGS] FROM FILE TO... (SMTP; /submit: port 587)\n"
	     "MAILBOX: a local name, or {host[:port][/ssl|/notls][/novalidate-cert][/user=U]}NAME");
}

/* Split a line into words; "..." groups words (no escapes). */
static int split(char *line, char **a)
{
	int n = 0;

	for (char *p = line; *p && n < ARGS_MAX;) {
		while (*p == ' ' || *p == '\t')
			p++;
		if (!*p)
			break;
		char stop = *p == '"' && p[1] && strchr(p + 1, '"') ? '"' : ' ';
		if (stop == '"' && p[1] == '"') {
			a[n++] = p;   /* "" stays as written: list's empty reference */
			p += 2;
			if (*p)
				*p++ = '\0';
			continue;
		}
		a[n++] = p + (stop == '"');
		p = strchr(p + 1, stop) ? strchr(p + 1, stop) : p + strlen(p);
		if (*p)
			*p++ = '\0';
	}
	return n;
}

static int cmd_help(char **a, int n)
{
	help();
	return 0;
}

static int cmd_fetch_text(char **a, int n)
{
	return cmd_fetch(a, n, 0);
}

static int cmd_fetch_header(char **a, int n)
{
	return cmd_fetch(a, n, 1);
}

static int cmd_set(char **a, int n)
{
	return cmd_flag(a, n, STORE_ADD);
}

static int cmd_clear(char **a, int n)
{
	return cmd_flag(a, n, STORE_REMOVE);
}

static const struct {
	const char *name;
	int (*fn)(char **a, int n);
} commands[] = {
	{"open", cmd_open}, {"status", cmd_status}, {"list", cmd_list},
	{"headers", cmd_headers}, {"fetch", cmd_fetch_text}, {"header", cmd_fetch_header},
	{"save", cmd_save}, {"set", cmd_set}, {"clear", cmd_clear},
	{"send", cmd_send},
	{"search", cmd_search}, {"append", cmd_append}, {"create", cmd_names},
	{"delete", cmd_names}, {"rename", cmd_names}, {"expunge", cmd_box},
	{"check", cmd_box}, {"close", cmd_box}, {"help", cmd_help}, {"?", cmd_help},
	{"idle", cmd_idle},
};

static void run(char *line)
{
	char *a[ARGS_MAX];
	int n = split(line, a);
	size_t i = 0;

	if (!n)
		return;
	while (i < ARRAY_SIZE(commands) && strcmp(a[0], commands[i].name))
		i++;
	if (i < ARRAY_SIZE(commands))
		commands[i].fn(a, n);
	else
		no("unknown command %s (try help)", a[0]);
	fflush(stdout);
}

/* The invoking user's session, as mailutil makes it, able to go online. */
static int session_open(const char *config)
{
	static struct mail_client client = {.login = net_login_default, .trace = trace,
					    .ctx = &logins};
	struct passwd *pw = getpwuid(getuid());
	struct config cfg;
	struct buf errors;

	if (!pw) {
		fprintf(stderr, "mtest: uid %u is not in the password database\n", (unsigned)getuid());
		return -1;
	}
	config_defaults(&cfg);
	buf_init(&errors);
	int r = config_load(&cfg, config ? config : CONFIG_FILE, config != NULL, &errors);
	if (r < 0)
		fprintf(stderr, "%s", errors.data ? errors.data : "");
	cfg.allow_outside_home = 1;
	mail_session_setup(&sess, pw->pw_name, pw->pw_dir, &cfg);
	client.cafile = getenv("MAIL_CAFILE");
	sess.client = &client;
	buf_free(&errors);
	config_free(&cfg);
	return r;
}

int main(int argc, char **argv)
{
	const char *config = NULL;
	char *line = NULL;
	size_t cap = 0;
	int i = 1, tty = isatty(0);

	if (i + 1 < argc && !strcmp(argv[i], "--config")) {
		config = argv[i + 1];
		i += 2;
	}
	if (i < argc && argv[i][0] == '-') {
		fputs("usage: mtest [--config FILE] [MAILBOX]   (commands on stdin; help)\n", stderr);
		return 2;
	}
	signal(SIGPIPE, SIG_IGN);   /* a server that hangs up is an error, not our end */
	if (session_open(config) < 0)
		return 2;
	if (i < argc) {
		char *a[] = {"open", argv[i]};
		cmd_open(a, 2);
	}
	for (;;) {
		if (tty) {
			fputs("mtest> ", stdout);
			fflush(stdout);
		}
		if (getline(&line, &cap, stdin) < 0)
			break;
		line[strcspn(line, "\r\n")] = '\0';
		if (!strcmp(line, "quit"))
			break;
		run(line);
	}
	free(line);
	if (box)
		mail_close(box, 0, NULL);
	net_login_forget(&logins);
	mail_session_free(&sess);
	return failures ? 1 : 0;
}
