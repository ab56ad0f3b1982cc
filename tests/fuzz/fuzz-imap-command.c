/* fuzz-imap-command.c: libFuzzer harness for imapd's argument parsing: the
 * parser.h primitives one by one and chained, APPEND's arguments (one
 * message or several, RFC 3502; UTF8, RFC 6855), LIST's and CREATE's
 * arguments (RFC 5258, 6154), the SEARCH criteria parser, and ENABLE,
 * ID, FETCH / SEARCH / SORT / THREAD run whole (cmd_fetch's attribute parser
 * is static, so it is reached through the command on a small read-only
 * mailbox), RETURN options and "$" included; RFC 7162's SELECT parameters
 * and FETCH / STORE modifiers; REPLACE's arguments (RFC 8508, on the
 * read-only mailbox, so nothing is stored); UIDONLY's refusal of message
 * numbers in search keys and its UIDFETCH answers (RFC 9586). */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "imapd.h"
#include "search_parse.h"

static const char sample[] =
	"From alice@example.org Mon Jan  1 10:00:00 2024\n"
	"From: Alice <alice@example.org>\nTo: bob@example.org\nSubject: one\n"
	"Date: Mon, 1 Jan 2024 10:00:00 +0100\nMessage-ID: <1@x>\n\nfirst body\n\n"
	"From bob@example.org Tue Jan  2 11:00:00 2024\n"
	"From: bob@example.org\nSubject: =?utf-8?q?two?=\nMIME-Version: 1.0\n"
	"Content-Type: multipart/mixed; boundary=b\n\n--b\nContent-Type: text/plain\n\n"
	"part one\n--b\nContent-Type: message/rfc822\n\nSubject: inner\n\ninner body\n"
	"--b--\n\n";

static struct mail_session sess;
static struct client cl;
static char box_path[] = "/tmp/fuzz-imap-box-XXXXXX";

static void cleanup(void)
{
	unlink(box_path);
}

/* A mailbox for FETCH and SEARCH to run over, opened once. */
static void setup(void)
{
	int fd = mkstemp(box_path);
	struct mail_err err;

	if (fd < 0 || write(fd, sample, sizeof sample - 1) != (ssize_t)(sizeof sample - 1))
		abort();
	close(fd);
	atexit(cleanup);
	mail_session_init(&sess, "fuzz", "/", "/nonexistent");
	sess.allow_outside_home = 1;
	/* the session commands see (METADATA, QUOTA): home "/" gives no file */
	mail_session_init(&cl.sess, "fuzz", "/", "/nonexistent");
	io_init(&cl.io, -1, open("/dev/null", O_WRONLY));
	cl.state = ST_SELECTED;
	if (mail_open(&sess, box_path, 1, &imap_events, &cl, &cl.box, &err) < 0) {
		fprintf(stderr, "fuzz-imap-command: %s\n", err.text);
		abort();
	}
}

/* Each primitive from the start of the input. */
static void primitives(const char *s, size_t n, struct pool *pool)
{
	struct parser p;
	char *str, **kw;
	const char *msg;
	size_t len;
	uint32_t u, flags;
	uint64_t u64;
	struct numset set;
	time_t t;
	int a, b, c;

#define TRY(call) do { p_init(&p, s, n, pool); (void)(call); } while (0)
	TRY(p_atom(&p, &str));
	TRY(p_token(&p, "[]<", &str));
	TRY(p_string(&p, &str, &len));
	TRY(p_astring(&p, &str, &len));
	TRY(p_nstring(&p, &str, &len));
	TRY(p_message(&p, &msg, &len));
	TRY(p_number(&p, &u));
	TRY(p_number64(&p, &u64));
	TRY(p_nz_number(&p, &u));
	TRY(p_mailbox(&p, &str));
	TRY(p_list_mailbox(&p, &str));
	TRY(p_seqset(&p, &set));
	TRY(p_flag_list(&p, &flags, &kw, 1));
	TRY(p_flag_list(&p, &flags, &kw, 0));
	TRY(p_date(&p, &a, &b, &c));
	TRY(p_date_time(&p, &t, &a));
#undef TRY
}

/* APPEND/STORE-like sequences: mailbox SP (flags) SP date-time SP literal. */
static void chained(const char *s, size_t n, struct pool *pool)
{
	struct parser p;
	char *str, **kw;
	size_t len;
	uint32_t flags;
	time_t t;
	int tz;
	struct numset set;

	p_init(&p, s, n, pool);
	if (p_mailbox(&p, &str) < 0 || p_sp(&p) < 0)
		return;
	if (p_peek(&p, '(') && (p_flag_list(&p, &flags, &kw, 1) < 0 || p_sp(&p) < 0))
		return;
	if (p_peek(&p, '"') && (p_date_time(&p, &t, &tz) < 0 || p_sp(&p) < 0))
		return;
	if (p_astring(&p, &str, &len) < 0 || p_sp(&p) < 0 || p_seqset(&p, &set) < 0)
		return;
	p_end(&p);
}

/* The text after "APPEND": its messages must lie inside the input (utf8:
 * after ENABLE UTF8=ACCEPT, names in UTF-8 and APPEND UTF8). */
static void append_args(const char *s, size_t n, struct pool *pool, int utf8)
{
	struct parser p;
	struct mail_new *msgs;
	struct cat_part **cats;
	char *name;
	size_t count;

	p_init(&p, s, n, pool);
	p.utf8 = utf8;
	if (imap_append_parse(&p, &name, &msgs, &cats, &count, 8) != 0)
		return;
	if (count < 1 || count > 8)
		abort();
	for (size_t i = 0; i < count; i++) {
		if (msgs[i].len && (msgs[i].text < s || msgs[i].text + msgs[i].len > s + n))
			abort();
		/* CATENATE: a TEXT part lies inside the input, a URL is a copy */
		for (const struct cat_part *c = cats[i]; c; c = c->next)
			if (!c->url && (c->text < s || c->len > n || c->text + c->len > s + n))
				abort();
	}
}

/* The text after "LIST" (RFC 5258's options, patterns, RETURN) and after
 * "CREATE" (USE, RFC 6154), names in UTF-8 when utf8 is set. */
static void list_create_args(const char *s, size_t n, struct pool *pool, int utf8)
{
	struct parser p;
	struct list_args a;
	char *name;
	int bits;

	p_init(&p, s, n, pool);
	p.utf8 = utf8;
	if (imap_list_parse(&p, &a) == 0 && (a.n < 1 || a.n > LIST_PATTERNS_MAX || !a.ref))
		abort();
	p_init(&p, s, n, pool);
	p.utf8 = utf8;
	if (imap_create_parse(&p, &name, &bits) == 0 && bits > 0 && (bits & ~LA_SPECIAL))
		abort();
}

/* cmd_id brings in commands.c's table and with it the login commands,
 * which end a session through main.c's imap_exit; none of the commands run
 * here may, so reaching it (or the next stub) is a bug. */
void imap_exit(struct client *c, const char *bye, int code)
{
	(void)c;
	(void)bye;
	(void)code;
	abort();
}

/* main.c's BYE for an over-long line, reached from AUTHENTICATE and IDLE's
 * readers, which do not run here either. */
void imap_line_too_long(struct client *c)
{
	(void)c;
	abort();
}

/* RFC 7162's grammar (cmd_condstore.c): SELECT parameters, FETCH and
 * STORE modifiers, with QRESYNC enabled or not. */
static void condstore_args(const char *s, size_t n, int qresync)
{
	struct cmd cmd = {.c = &cl, .tag = "A1", .name = "SELECT", .uid = 1};
	struct select_params sp = {0};
	struct fetch_mods fm = {0};
	unsigned was = cl.enabled;
	uint64_t since;
	int given;

	cl.pool = pool_new();
	if (qresync)
		cl.enabled |= CLIENT_EN_QRESYNC;
	p_init(&cmd.p, s, n, cl.pool);
	imap_select_params(&cmd, &sp);
	p_init(&cmd.p, s, n, cl.pool);
	imap_fetch_mods(&cmd, &fm);
	p_init(&cmd.p, s, n, cl.pool);
	imap_store_mods(&cmd, &given, &since);
	cl.enabled = was;
	pool_free(cl.pool);
	cl.pool = NULL;
}

/* One command through its real entry point; output goes to /dev/null. */
static void run_cmd(cmd_fn *fn, const char *name, int uid, const char *s, size_t n)
{
	/* args as the dispatcher sets it: a RETURN (UPDATE) context keeps it */
	struct cmd cmd = {.c = &cl, .tag = "A1", .name = name, .uid = uid, .args = s};

	cl.pool = pool_new();
	p_init(&cmd.p, s, n, cl.pool);
	cmd.p.saved = &cl.searchres;   /* "$" as one SAVE left it, across inputs */
	cmd.p.rev2 = (cl.enabled & CLIENT_EN_REV2) != 0;
	fn(&cmd);
	io_flush(&cl.io);
	pool_free(cl.pool);
	cl.pool = NULL;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int ready;
	const char *s = (const char *)data + 1;
	struct pool *pool;
	struct parser p;
	struct search_key *key;

	if (!ready) {
		setup();
		ready = 1;
	}
	if (size < 1)
		return 0;
	size--;
	pool = pool_new();
	switch (data[0] & 3) {
	case 0:
		primitives(s, size, pool);
		chained(s, size, pool);
		append_args(s, size, pool, data[0] >> 7);
		list_create_args(s, size, pool, data[0] >> 7);
		run_cmd(cmd_enable, "ENABLE", 0, s, size);
		run_cmd(cmd_id, "ID", 0, s, size);
		/* cmd_metadata.c, cmd_quota.c: home "/" keeps them from any file */
		run_cmd(cmd_getmetadata, "GETMETADATA", 0, s, size);
		run_cmd(cmd_setmetadata, "SETMETADATA", 0, s, size);
		run_cmd(cmd_getquota, "GETQUOTA", 0, s, size);
		run_cmd(cmd_setquota, "SETQUOTA", 0, s, size);
		run_cmd(cmd_replace, "REPLACE", data[0] >> 6 & 1, s, size);
		condstore_args(s, size, data[0] >> 2 & 1);
		break;
	case 1:
		p_init(&p, s, size, pool);
		p.rev2 = data[0] >> 6 & 1;   /* IMAP4rev2: no RECENT, NEW, OLD */
		imap_search_parse(&p, cl.box, &key);
		p_init(&p, s, size, pool);
		p.uidonly = data[0] >> 7;
		imap_search_parse(&p, NULL, &key);
		break;
	case 2:   /* the text after "FETCH", e.g. " 1:* (FLAGS BODY.PEEK[1.MIME])" */
		cl.enabled ^= data[0] >> 6 & 1 ? CLIENT_EN_UIDONLY : 0;
		run_cmd(cmd_fetch, "FETCH", data[0] >> 7, s, size);
		cl.enabled &= ~(unsigned)CLIENT_EN_UIDONLY;
		break;
	case 3:   /* bits 2-3 pick SEARCH, SORT or THREAD (cmd_sort.c); 4: rev2 */
		cl.enabled ^= data[0] >> 4 & 1 ? CLIENT_EN_REV2 : 0;
		if ((data[0] >> 2 & 3) == 1)
			run_cmd(cmd_sort, "SORT", data[0] >> 7, s, size);
		else if ((data[0] >> 2 & 3) == 2)
			run_cmd(cmd_thread, "THREAD", data[0] >> 7, s, size);
		else
			run_cmd(cmd_search, "SEARCH", data[0] >> 7, s, size);
		cl.enabled &= ~(unsigned)CLIENT_EN_REV2;
		break;
	}
	pool_free(pool);
	return 0;
}
