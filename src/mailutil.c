/* mailutil.c: the classic toolkit's mailbox utility, on the library: check,
 * create, delete, rename, copy, move, append, appenddelete, prune and
 * transfer (a whole hierarchy, from one format to another), run as the
 * invoking user with the names imapd would give them. */
#include <errno.h>
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
#include "mail_api.h"
#include "net.h"
#include "parser.h"
#include "search_parse.h"

/* Messages copied per append: bounds the memory a transfer holds. */
#define BATCH 256

enum merge { MERGE_NONE, MERGE_APPEND, MERGE_SUFFIX, MERGE_PROMPT, MERGE_RESUME };

struct opts {
	int verbose, debug, rw, ignore;
	enum merge merge;
	const char *suffix;
	const char *config;
};

static struct opts opt;
static struct mail_session sess;
static struct net_login_cache logins;

/* One line on stderr, as every classic tool did. */
static void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void say(const char *fmt, ...)
{
	va_list ap;

	fputs("mailutil: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

static void usage(void)
{
	fputs("usage: mailutil command [switches] arguments\n"
	      "  check [MAILBOX]                  how many messages, new and unseen\n"
	      "  create MAILBOX                   an empty mailbox (format: mail_format)\n"
	      "  delete MAILBOX\n"
	      "  rename SOURCE DESTINATION\n"
	      "  copy SOURCE DESTINATION          into a new DESTINATION\n"
	      "  move SOURCE DESTINATION          copy, then delete SOURCE's messages\n"
	      "  append SOURCE DESTINATION        onto an existing DESTINATION\n"
	      "  appenddelete SOURCE DESTINATION  append, then delete SOURCE's messages\n"
	      "  prune MAILBOX CRITERIA           delete the messages IMAP SEARCH CRITERIA finds\n"
	      "  transfer SOURCE DESTINATION      every mailbox named SOURCE... into\n"
	      "                                   DESTINATION... (e.g. \"\" \"#driver.maildir/md/\")\n"
	      "switches: -v(erbose) -d(ebug) -rw(copy: open sources read-write)\n"
	      "          -ig(nore: go on after a failed mailbox in transfer)\n"
	      "          -m(erge) append|suffix=XX|prompt (transfer onto existing mailboxes)\n"
	      "          -m resume (transfer again after an interruption: finish each\n"
	      "                     mailbox after the last message it holds)\n"
	      "          -kw(copy: accepted; keywords are always copied)\n"
	      "          --config FILE (default " CONFIG_FILE ")\n"
	      "MAILBOX may be on an IMAP server: {host[:port][/ssl][/user=NAME]}name; the\n"
	      "password comes from $MAIL_PASSWORD, the file $MAIL_PASSWORD_FILE or the\n"
	      "terminal, trusted CAs from $MAIL_CAFILE (default: the system's)\n", stderr);
	exit(2);
}

/* -d: the IMAP conversation on stderr (credentials left out). */
static void trace(void *ctx, const struct net_name *n, int out, const char *line, size_t len)
{
	fprintf(stderr, "mailutil: %s %s %.*s\n", n->host, out ? "C:" : "S:", (int)len, line);
}

/* The invoking user's session, with the configuration's mailbox keys,
 * able to reach network mailboxes. */
static int session_open(void)
{
	static struct mail_client client = {.login = net_login_default, .trace = trace,
					    .ctx = &logins};
	struct passwd *pw = getpwuid(getuid());
	struct config cfg;
	struct buf errors;
	int rc = 0;

	if (!pw) {
		say("you (uid %u) are not in the password database", (unsigned)getuid());
		return -1;
	}
	config_defaults(&cfg);
	buf_init(&errors);
	if (config_load(&cfg, opt.config ? opt.config : CONFIG_FILE, opt.config != NULL,
			&errors) < 0) {
		fprintf(stderr, "%s", errors.data ? errors.data : "");
		rc = -1;
	}
	/* a local tool, run with the user's own rights: any path they name */
	cfg.allow_outside_home = 1;
	mail_session_setup(&sess, pw->pw_name, pw->pw_dir, &cfg);
	client.cafile = getenv("MAIL_CAFILE");
	client.debug = opt.debug;
	sess.client = &client;
	buf_free(&errors);
	config_free(&cfg);
	return rc;
}

static int fail(const char *what, const char *name, const struct mail_err *err)
{
	say("%s %s: %s", what, name, err->text);
	return 1;
}

static int cmd_check(const char *name)
{
	struct mail_status st;
	struct mail_err err;

	if (mail_status(&sess, name, &st, &err) < 0)
		return fail("cannot check", name, &err);
	printf("%u new message%s (%u unseen), %u total in %s\n", st.recent,
	       st.recent == 1 ? "" : "s", st.unseen, st.messages, name);
	return 0;
}

/* "copying 1200/10000" on a terminal, rewritten in place. */
static void progress(const char *src, uint32_t done, uint32_t total)
{
	if (!opt.verbose && !isatty(2))
		return;
	fprintf(stderr, "\rmailutil: %s: %u/%u messages", src, done, total);
	if (done == total)
		fputc('\n', stderr);
}

/* Copy the open box's messages after the first skip to dest, in batches:
 * each batch is one append, durable (or absent) before the next starts. */
static int copy_all(struct mailbox *box, uint32_t skip, const char *src, const char *dest)
{
	uint32_t msgnos[BATCH];
	struct mail_err err;

	if (skip)
		progress(src, skip, box->nmsgs);
	for (uint32_t at = skip; at < box->nmsgs;) {
		size_t n = 0;
		while (n < BATCH && at < box->nmsgs)
			msgnos[n++] = ++at;
		if (mail_copy(box, msgnos, n, dest, NULL, NULL, &err) < 0) {
			say("cannot copy %s to %s: %s", src, dest, err.text);
			return -1;
		}
		progress(src, at, box->nmsgs);
	}
	return 0;
}

/* Mark every message deleted and expunge them: move's second half. */
static int delete_all(struct mailbox *box, const char *src)
{
	struct mail_err err;

	for (uint32_t i = 1; i <= box->nmsgs; i++)
		if (mail_store(box, i, STORE_ADD, MF_DELETED, 0, &err) < 0)
			return fail("cannot delete the messages of", src, &err);
	if (mail_expunge(box, NULL, 0, &err) < 0)
		return fail("cannot delete the messages of", src, &err);
	return 0;
}

/* A message as a sysadmin tells it apart: size and internal date. */
static void describe(char *out, size_t cap, const struct message *m)
{
	struct tm tm;
	char when[32];

	gmtime_r(&m->internal_date, &tm);
	strftime(when, sizeof when, "%Y-%m-%d %H:%M:%S UTC", &tm);
	snprintf(out, cap, "%llu octets, %s", (unsigned long long)m->size, when);
}

/* How many of box's messages dest already holds, after an interrupted
 * transfer: its count, once its last message is seen to be box's message
 * at that position; -1 (said why) when dest is not box's beginning. */
static int64_t resume_point(struct mailbox *box, const char *src, const char *dest)
{
	struct mailbox *t;
	struct mail_err err;
	int64_t k;

	if (mail_open(&sess, dest, 1, NULL, NULL, &t, &err) < 0) {
		fail("cannot open", dest, &err);
		return -1;
	}
	k = t->nmsgs;
	if (k > box->nmsgs) {
		say("cannot resume %s into %s: %s holds %u messages, %s only %u", src, dest, dest,
		    t->nmsgs, src, box->nmsgs);
		k = -1;
	} else if (k) {
		const struct message *a = box->msgs[k - 1], *b = t->msgs[k - 1];
		if (a->size != b->size || a->internal_date != b->internal_date) {
			char da[64], db[64];
			describe(da, sizeof da, a);
			describe(db, sizeof db, b);
			say("cannot resume %s into %s: message %lld of %s (%s) is not message %lld "
			    "of %s (%s)", src, dest, (long long)k, dest, db, (long long)k, src, da);
			k = -1;
		}
	}
	mail_close(t, 0, &err);
	return k;
}

/* copy, move, append, appenddelete; resume: append what dest lacks. */
static int copy_box(const char *src, const char *dest, int create, int remove, int resume)
{
	struct mailbox *box;
	struct mail_err err;
	int64_t skip = 0;
	int rc = 0;

	if (mail_open(&sess, src, !remove && !opt.rw, NULL, NULL, &box, &err) < 0)
		return fail("cannot open", src, &err);
	if (create && mail_create(&sess, dest, &err) < 0)
		rc = fail("cannot create", dest, &err);
	if (!rc && resume && (skip = resume_point(box, src, dest)) < 0)
		rc = 1;
	if (!rc && opt.verbose && skip)
		say("%s: %lld of %u messages already in %s", src, (long long)skip, box->nmsgs, dest);
	if (!rc && copy_all(box, (uint32_t)skip, src, dest) < 0)
		rc = 1;
	if (!rc && remove)
		rc = delete_all(box, src);
	uint32_t n = box->nmsgs;
	if (mail_close(box, 0, &err) < 0 && !rc)
		rc = fail("cannot save", src, &err);
	if (!rc && opt.verbose)
		say("%s: %u message%s %s %s", src, n, n == 1 ? "" : "s",
		    remove ? "moved to" : "copied to", dest);
	return rc;
}

static int cmd_copy(const char *src, const char *dest, int create, int remove)
{
	return copy_box(src, dest, create, remove, 0);
}

/* prune MAILBOX CRITERIA: the criteria are IMAP SEARCH's, as one string. */
static int cmd_prune(const char *name, char **crit, int ncrit)
{
	struct mailbox *box;
	struct mail_err err;
	struct search_key *key;
	struct parser p;
	struct buf b;
	int rc = 0;

	if (mail_open(&sess, name, 0, NULL, NULL, &box, &err) < 0)
		return fail("cannot open", name, &err);
	buf_init(&b);
	for (int i = 0; i < ncrit; i++)
		buf_printf(&b, "%s%s", i ? " " : "", crit[i]);
	struct pool *pool = pool_new();
	p_init(&p, b.data ? b.data : "", b.len, pool);
	if (imap_search_parse(&p, box, &key) != SEARCH_PARSE_OK) {
		say("prune: bad criteria \"%s\": %s", b.data ? b.data : "",
		    p.error ? p.error : "not understood");
		rc = 2;
	} else {
		uint8_t *match = xcalloc(box->nmsgs + 1, 1);
		uint32_t n = 0;
		if (search_run(box, key, match, &err) < 0)
			rc = fail("cannot search", name, &err);
		for (uint32_t i = 0; !rc && i < box->nmsgs; i++)
			if (match[i]) {
				n++;
				if (mail_store(box, i + 1, STORE_ADD, MF_DELETED, 0, &err) < 0)
					rc = fail("cannot mark messages in", name, &err);
			}
		if (!rc && n && mail_expunge(box, NULL, 0, &err) < 0)
			rc = fail("cannot expunge", name, &err);
		if (!rc)
			printf("%u message%s deleted from %s\n", n, n == 1 ? "" : "s", name);
		free(match);
	}
	pool_free(pool);
	buf_free(&b);
	if (mail_close(box, 0, &err) < 0 && !rc)
		rc = fail("cannot save", name, &err);
	return rc;
}

struct found {
	char **names;
	int *attrs;
	size_t n;
};

static void collect(void *ctx, const char *name, int attrs)
{
	struct found *f = ctx;

	f->names = xrealloc(f->names, (f->n + 1) * sizeof *f->names);
	f->attrs = xrealloc(f->attrs, (f->n + 1) * sizeof *f->attrs);
	f->names[f->n] = xstrdup(name);
	f->attrs[f->n++] = attrs;
}

/* Does the mailbox exist (STATUS answers)? */
static int exists(const char *name)
{
	struct mail_status st;
	struct mail_err err;

	return mail_status(&sess, name, &st, &err) == 0;
}

/* The merge mode's answer for an existing target: 1 append, 3 append what
 * it lacks, 0 skip, and the name to use in *target (a new one for suffix). */
static int merge_into(char **target)
{
	char line[16];

	switch (opt.merge) {
	case MERGE_APPEND:
		return 1;
	case MERGE_RESUME:
		return 3;
	case MERGE_SUFFIX: {
		char *t = xmalloc(strlen(*target) + strlen(opt.suffix) + 1);
		strcpy(t, *target);
		strcat(t, opt.suffix);
		free(*target);
		*target = t;
		return !exists(t) ? 2 : (say("%s exists too", t), 0);
	}
	case MERGE_PROMPT:
		fprintf(stderr, "mailutil: %s exists; append to it? (y/n) ", *target);
		return fgets(line, sizeof line, stdin) && (line[0] == 'y' || line[0] == 'Y');
	case MERGE_NONE:
		break;
	}
	say("%s already exists (use -m resume, -m append, -m suffix=XX or -m prompt)", *target);
	return 0;
}

/* One mailbox of a transfer: name under src becomes the same under dest. */
static int transfer_one(const char *name, const char *src, const char *dest)
{
	char *target = xmalloc(strlen(dest) + strlen(name) + 2);
	size_t dl = strlen(dest), sl = strlen(src);
	int create = 1, resume = 0, rc;

	strcpy(target, dest);
	/* a whole server ("{host}") goes under dest as a folder tree */
	if (sl && src[sl - 1] == '}' && dl && dest[dl - 1] != '/')
		strcat(target, "/");
	strcat(target, name + sl);
	if (exists(target)) {
		int m = merge_into(&target);
		if (!m) {
			free(target);
			return 1;
		}
		create = m == 2;
		resume = m == 3;
	}
	if (opt.verbose)
		say("%s -> %s", name, target);
	rc = copy_box(name, target, create, 0, resume);
	free(target);
	return rc;
}

/* transfer SOURCE DEST: every selectable mailbox LIST "" SOURCE* finds. */
static int cmd_transfer(const char *src, const char *dest)
{
	struct found f = { 0 };
	struct mail_err err;
	char *pat = xmalloc(strlen(src) + 2);
	int rc = 0, failed = 0;

	strcpy(pat, src);
	strcat(pat, "*");
	if (mail_list(&sess, "", pat, collect, &f, &err) < 0)
		rc = fail("cannot list", pat, &err);
	if (!rc && !f.n)
		say("no mailbox matches %s", pat), rc = 1;
	for (size_t i = 0; i < f.n; i++) {
		if (!rc && !(f.attrs[i] & LA_NOSELECT) && transfer_one(f.names[i], src, dest)) {
			failed++;
			if (!opt.ignore)
				rc = 1;
		}
		free(f.names[i]);
	}
	if (failed && opt.ignore)
		say("%d mailbox%s could not be transferred", failed, failed == 1 ? "" : "es");
	free(f.names);
	free(f.attrs);
	free(pat);
	return rc || failed;
}

/* Switches before and after the command, as the classic tool took them. */
static int parse_switch(char **argv, int i, int argc)
{
	const char *a = argv[i];

	if (!strcmp(a, "-v") || !strcmp(a, "-verbose"))
		opt.verbose = 1;
	else if (!strcmp(a, "-d") || !strcmp(a, "-debug"))
		opt.debug = opt.verbose = 1;
	else if (!strcmp(a, "-rw") || !strcmp(a, "-rwcopy"))
		opt.rw = 1;
	else if (!strcmp(a, "-kw") || !strcmp(a, "-kwcopy"))
		;
	else if (!strcmp(a, "-ig") || !strcmp(a, "-ignore"))
		opt.ignore = 1;
	else if ((!strcmp(a, "-m") || !strcmp(a, "-merge")) && i + 1 < argc) {
		const char *m = argv[i + 1];
		if (!strcmp(m, "append"))
			opt.merge = MERGE_APPEND;
		else if (!strcmp(m, "resume"))
			opt.merge = MERGE_RESUME;
		else if (!strcmp(m, "prompt"))
			opt.merge = MERGE_PROMPT;
		else if (!strncmp(m, "suffix=", 7) && m[7])
			opt.merge = MERGE_SUFFIX, opt.suffix = m + 7;
		else
			usage();
		return 2;
	} else if (!strcmp(a, "--config") && i + 1 < argc) {
		opt.config = argv[i + 1];
		return 2;
	} else {
		return 0;
	}
	return 1;
}

int main(int argc, char **argv)
{
	char *args[argc + 1];
	int n = 0, rc;

	for (int i = 1; i < argc;) {
		int used = argv[i][0] == '-' && (n == 0 || strcmp(args[0], "prune"))
				   ? parse_switch(argv, i, argc) : 0;
		if (!used && argv[i][0] == '-' && argv[i][1] && (n == 0 || strcmp(args[0], "prune"))) {
			say("unknown switch %s", argv[i]);
			usage();
		}
		if (used) {
			i += used;
			continue;
		}
		args[n++] = argv[i++];
	}
	if (!n)
		usage();
	signal(SIGPIPE, SIG_IGN);   /* a server that hangs up is an error, not our end */
	if (session_open() < 0)
		return 2;
	const char *c = args[0];
	struct mail_err err = { 0 };
	if (!strcasecmp(c, "check") && n <= 2)
		rc = cmd_check(n == 2 ? args[1] : "INBOX");
	else if (!strcasecmp(c, "create") && n == 2)
		rc = mail_create(&sess, args[1], &err) < 0 ? fail("cannot create", args[1], &err) : 0;
	else if (!strcasecmp(c, "copy") && n == 3)
		rc = cmd_copy(args[1], args[2], 1, 0);
	else if (!strcasecmp(c, "move") && n == 3)
		rc = cmd_copy(args[1], args[2], 1, 1);
	else if (!strcasecmp(c, "append") && n == 3)
		rc = cmd_copy(args[1], args[2], 0, 0);
	else if (!strcasecmp(c, "appenddelete") && n == 3)
		rc = cmd_copy(args[1], args[2], 0, 1);
	else if (!strcasecmp(c, "prune") && n >= 3)
		rc = cmd_prune(args[1], args + 2, n - 2);
	else if (!strcasecmp(c, "transfer") && n == 3)
		rc = cmd_transfer(args[1], args[2]);
	else if (!strcasecmp(c, "delete") && n == 2)
		rc = mail_delete(&sess, args[1], &err) < 0 ? fail("cannot delete", args[1], &err) : 0;
	else if (!strcasecmp(c, "rename") && n == 3)
		rc = mail_rename(&sess, args[1], args[2], &err) < 0 ?
			     fail("cannot rename", args[1], &err) : 0;
	else
		usage();
	net_login_forget(&logins);
	mail_session_free(&sess);
	return rc;
}
