/* test-imap-search-parse.c: the SEARCH criteria parser of imapd (syntax to
 * key tree, charsets, nesting limits) and cmd_search's reply over a small
 * in-memory mailbox, through the real search engine. The response layer is
 * replaced by a recorder. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "imapd.h"
#include "search_parse.h"
#include "test.h"

/* ---- stand-ins for response.c and the mailbox layer ---- */

static struct buf written;
static const char *tagged_status;
static char tagged_code[128];

static void record(struct cmd *cmd, const char *status, const char *code)
{
	tagged_status = status;
	str_copy(tagged_code, code ? code : "", sizeof tagged_code);
	cmd->answered = 1;
}

void resp_ok(struct cmd *cmd, const char *code, const char *fmt, ...)
{
	record(cmd, "OK", code);
}

void resp_no(struct cmd *cmd, const char *code, const char *fmt, ...)
{
	record(cmd, "NO", code);
}

void resp_bad(struct cmd *cmd, const char *fmt, ...)
{
	record(cmd, "BAD", NULL);
}

void resp_parse_error(struct cmd *cmd)
{
	record(cmd, "BAD", NULL);
}

void resp_mail_error(struct cmd *cmd, const struct mail_err *err)
{
	record(cmd, "NO", NULL);
}

void resp_write(struct client *c, const void *p, size_t n)
{
	buf_append(&written, p, n);
}

/* SEARCH MODSEQ turns CONDSTORE on; the session state is not under test. */
void imap_condstore_enable(struct client *c)
{
}

/* RFC 5267 contexts (cmd_context.c) are not under test: answer as usual. */
int imap_context_reply(struct cmd *cmd, const struct search_return *ret, const uint32_t *msgnos,
		       size_t n)
{
	return 0;
}

int imap_context_busy(struct cmd *cmd, const struct search_return *ret)
{
	return 0;
}

/* The library's own definitions win over these weak ones when linked in;
 * the in-memory mailbox has no message text anyway. */
__attribute__((weak)) int mail_keyword(struct mailbox *box, const char *name, int create)
{
	for (unsigned i = 0; i < box->nkeywords; i++)
		if (!strcasecmp(box->keywords[i], name))
			return (int)i;
	return -1;
}

__attribute__((weak)) int mail_fetch_text(struct mailbox *box, uint32_t msgno, const char **text,
					  size_t *len, struct mail_err *err)
{
	*text = "";
	*len = 0;
	return 0;
}

__attribute__((weak)) int mail_fetch_structure(struct mailbox *box, uint32_t msgno,
					       struct envelope **env, struct body **body,
					       struct mail_err *err)
{
	*env = NULL;
	*body = NULL;
	return 0;
}

__attribute__((weak)) void rfc2047_decode(const char *s, size_t len, struct buf *out)
{
	buf_append(out, s, len);
}

__attribute__((weak)) void mime_decode_text(const char *msg, size_t len, const struct body *part,
					    struct buf *out)
{
}

/* ---- helpers ---- */

static struct pool *pool;
static struct mailbox box;
static struct message msgs[5], *msgp[5];

static void setup_box(void)
{
	static const uint32_t flags[5] = {MF_SEEN, MF_SEEN | MF_FLAGGED, MF_RECENT, MF_DELETED,
					  MF_SEEN | MF_ANSWERED};

	memset(&box, 0, sizeof box);
	for (int i = 0; i < 5; i++) {
		memset(&msgs[i], 0, sizeof msgs[i]);
		msgs[i].uid = 10 + (uint32_t)i * 2;
		msgs[i].flags = flags[i];
		msgs[i].size = 100 * (uint64_t)(i + 1);
		msgp[i] = &msgs[i];
	}
	kwset_set(&msgs[1].keywords, 0);   /* $Work */
	box.msgs = msgp;
	box.nmsgs = 5;
	box.keywords[0] = "$Work";
	box.nkeywords = 1;
}

static int parse(const char *s, struct search_key **k)
{
	struct parser p;

	p_init(&p, s, strlen(s), pool);
	return imap_search_parse(&p, &box, k);
}

/* One session for the commands below: "$" lives from one to the next. */
static struct client session;

/* Run fn on args (after the command name) in the session; returns the
 * untagged output. */
static const char *run_cmd(cmd_fn *fn, const char *name, const char *args, int uid)
{
	struct cmd cmd;

	memset(&cmd, 0, sizeof cmd);
	session.box = &box;
	session.pool = pool;
	cmd.c = &session;
	cmd.tag = "a";
	cmd.name = name;
	cmd.uid = uid;
	p_init(&cmd.p, args, strlen(args), pool);
	cmd.p.saved = &session.searchres;
	cmd.p.rev2 = (session.enabled & CLIENT_EN_REV2) != 0;
	buf_reset(&written);
	tagged_status = NULL;
	fn(&cmd);
	return written.data ? written.data : "";
}

static const char *run_search(const char *args, int uid)
{
	return run_cmd(cmd_search, "SEARCH", args, uid);
}

/* ---- tests ---- */

static void test_simple_keys(void)
{
	struct search_key *k;

	CHECK(parse("ALL", &k) == 0 && k->op == SK_ALL && !k->next);
	CHECK(parse("seen", &k) == 0 && k->op == SK_FLAGS && k->flags == MF_SEEN);
	CHECK(parse("UNANSWERED", &k) == 0 && k->op == SK_UNFLAGS && k->flags == MF_ANSWERED);
	CHECK(parse("RECENT", &k) == 0 && k->op == SK_FLAGS && k->flags == MF_RECENT);
	CHECK(parse("NEW", &k) == 0 && k->op == SK_NEW);
	CHECK(parse("Old", &k) == 0 && k->op == SK_OLD);
	CHECK(parse("LARGER 4096", &k) == 0 && k->op == SK_LARGER && k->size == 4096);
	CHECK(parse("SMALLER 10", &k) == 0 && k->op == SK_SMALLER && k->size == 10);
}

static void test_strings(void)
{
	struct search_key *k;

	CHECK(parse("FROM alice", &k) == 0 && k->op == SK_HEADER);
	CHECK_STR(k->field, "From");
	CHECK_STR(k->str, "alice");
	CHECK(parse("subject \"hello world\"", &k) == 0 && k->op == SK_HEADER);
	CHECK_STR(k->field, "Subject");
	CHECK_STR(k->str, "hello world");
	CHECK(parse("HEADER X-Spam {3}\r\nyes", &k) == 0 && k->op == SK_HEADER);
	CHECK_STR(k->field, "X-Spam");
	CHECK_STR(k->str, "yes");
	CHECK(parse("HEADER List-Id \"\"", &k) == 0);
	CHECK_STR(k->str, "");
	CHECK(parse("BODY x", &k) == 0 && k->op == SK_BODY);
	CHECK(parse("TEXT {5+}\r\nab cd", &k) == 0 && k->op == SK_TEXT);
	CHECK_STR(k->str, "ab cd");
}

static void test_dates(void)
{
	struct search_key *k;

	CHECK(parse("SINCE 1-Feb-2024", &k) == 0 && k->op == SK_SINCE);
	CHECK(k->year == 2024 && k->month == 2 && k->day == 1);
	CHECK(k->date == 1706745600);
	CHECK(parse("SENTBEFORE \"25-Dec-1999\"", &k) == 0 && k->op == SK_SENTBEFORE);
	CHECK(k->year == 1999 && k->month == 12 && k->day == 25);
	CHECK(parse("ON 31-Foo-2020", &k) == -1);
	CHECK(parse("BEFORE", &k) == -1);
}

static void test_sets(void)
{
	struct search_key *k;

	CHECK(parse("1:3,5", &k) == 0 && k->op == SK_MSGNOS && k->set.n == 2);
	CHECK(parse("*", &k) == 0 && k->op == SK_MSGNOS && k->set.r[0].hi == NUMSET_STAR);
	CHECK(parse("UID 7:*", &k) == 0 && k->op == SK_UIDS && k->set.r[0].lo == 7);
	/* the largest UID is a number, not "*" */
	CHECK(parse("UID 4294967295", &k) == 0 && k->op == SK_UIDS);
	CHECK(k->set.r[0].lo == 4294967295u && k->set.r[0].hi == 4294967295u);
	CHECK(parse("UID 1:4294967295", &k) == 0 && k->set.r[0].hi == 4294967295u);
	CHECK(parse("4294967295:*", &k) == 0 && k->set.r[0].lo == 4294967295u &&
	      k->set.r[0].hi == NUMSET_STAR);
	CHECK(parse("0", &k) == -1);
	CHECK(parse("UID 4294967296", &k) == -1);
	CHECK(parse("UID 0:5", &k) == -1);
	CHECK(parse("UID", &k) == -1);
	CHECK(parse("UID x", &k) == -1);
}

static void test_structure(void)
{
	struct search_key *k;

	CHECK(parse("SEEN FLAGGED", &k) == 0 && k->op == SK_AND);
	CHECK(k->kids && k->kids->op == SK_FLAGS && k->kids->next && !k->kids->next->next);
	CHECK(parse("NOT DELETED", &k) == 0 && k->op == SK_NOT && k->kids->op == SK_FLAGS);
	CHECK(parse("OR SEEN (FLAGGED DRAFT)", &k) == 0 && k->op == SK_OR);
	CHECK(k->kids->op == SK_FLAGS && k->kids->next->op == SK_AND && !k->kids->next->next);
	CHECK(parse("(SEEN)", &k) == 0 && k->op == SK_FLAGS);
	CHECK(parse("OR SEEN", &k) == -1);
	CHECK(parse("NOT", &k) == -1);
	CHECK(parse("()", &k) == -1);
	CHECK(parse("(SEEN", &k) == -1);
	CHECK(parse("SEEN)", &k) == -1);
	CHECK(parse("SEEN  FLAGGED", &k) == -1);
	CHECK(parse("BOGUS", &k) == -1);
	CHECK(parse("", &k) == -1);
}

static void test_keywords(void)
{
	struct search_key *k;

	CHECK(parse("KEYWORD $work", &k) == 0 && k->op == SK_FLAGS && k->keyword == 0);
	CHECK(parse("KEYWORD $Nope", &k) == 0 && k->op == SK_FLAGS && k->keyword == -2);
	CHECK(parse("UNKEYWORD $Work", &k) == 0 && k->op == SK_UNFLAGS && k->keyword == 0);
	CHECK(parse("UNKEYWORD $Nope", &k) == 0 && k->op == SK_ALL);
	CHECK(parse("KEYWORD \\Seen", &k) == -1);
}

static void test_charset(void)
{
	struct search_key *k;

	CHECK(parse("CHARSET UTF-8 SEEN", &k) == 0 && k->op == SK_FLAGS);
	CHECK(parse("charset \"us-ascii\" ALL", &k) == 0 && k->op == SK_ALL);
	CHECK(parse("CHARSET KOI8-R ALL", &k) == SEARCH_PARSE_BADCHARSET);
	CHECK(parse("CHARSET UTF-8", &k) == SEARCH_PARSE_BAD);
}

static void test_depth(void)
{
	struct buf b;
	struct search_key *k;

	buf_init(&b);
	for (int i = 0; i < 99; i++)
		buf_puts(&b, "NOT ");
	buf_puts(&b, "SEEN");
	CHECK(parse(b.data, &k) == 0);
	buf_reset(&b);
	for (int i = 0; i < 5000; i++)
		buf_puts(&b, "(NOT ");
	CHECK(parse(b.data, &k) == -1);
	buf_reset(&b);
	for (int i = 0; i < 5000; i++)
		buf_puts(&b, "OR SEEN ");
	buf_puts(&b, "SEEN");
	CHECK(parse(b.data, &k) == -1);
	buf_free(&b);
}

static void test_garbage(void)
{
	/* every prefix of a valid command, in an exact-size heap copy without a
	 * NUL (so the sanitizer catches an over-read), fails cleanly */
	const char *full = "CHARSET UTF-8 OR (FROM \"a b\" SINCE 1-Jan-2020) NOT UID 1:* "
			   "HEADER X {2}\r\nab";
	size_t len = strlen(full);
	struct search_key *k;
	struct parser p;
	int bad = 0;

	for (size_t n = 0; n <= len; n++) {
		char *copy = xmalloc(n ? n : 1);
		memcpy(copy, full, n);
		p_init(&p, copy, n, pool);
		int rc = imap_search_parse(&p, &box, &k);
		/* "... UID 1" and "... UID 1:*" are complete commands too */
		if (n < len && rc == 0 && n != 56 && n != 58)
			bad++;
		if (n == len && rc != 0)
			bad++;
		free(copy);
	}
	CHECK(bad == 0);
}

static void test_cmd_search(void)
{
	CHECK_STR(run_search(" SEEN", 0), "* SEARCH 1 2 5\r\n");
	CHECK_STR(tagged_status, "OK");
	CHECK_STR(run_search(" SEEN", 1), "* SEARCH 10 12 18\r\n");
	CHECK_STR(run_search(" UNSEEN NOT DELETED", 0), "* SEARCH 3\r\n");
	CHECK_STR(run_search(" OR FLAGGED ANSWERED", 0), "* SEARCH 2 5\r\n");
	CHECK_STR(run_search(" KEYWORD $Work", 0), "* SEARCH 2\r\n");
	CHECK_STR(run_search(" UID 12:16", 0), "* SEARCH 2 3 4\r\n");
	CHECK_STR(run_search(" 2:*", 1), "* SEARCH 12 14 16 18\r\n");
	CHECK_STR(run_search(" LARGER 250 SMALLER 450", 0), "* SEARCH 3 4\r\n");
	CHECK_STR(run_search(" NEW", 0), "* SEARCH 3\r\n");
	CHECK_STR(run_search(" DRAFT", 0), "* SEARCH\r\n");
	CHECK_STR(run_search(" CHARSET BIG5 ALL", 0), "");
	CHECK_STR(tagged_status, "NO");
	CHECK_STR(tagged_code, "BADCHARSET (UTF-8 US-ASCII)");
	CHECK_STR(run_search(" FOO", 0), "");
	CHECK_STR(tagged_status, "BAD");
	CHECK_STR(run_search("", 0), "");
	CHECK_STR(tagged_status, "BAD");
}

/* An ESEARCH answer as what follows "(TAG "a")" on its line; "not one
 * ESEARCH line" for anything else. */
static const char *esearch_rest(const char *out)
{
	static char rest[256];
	const char *head = "* ESEARCH (TAG \"a\")";
	size_t n = strlen(out), h = strlen(head);

	if (n < h + 2 || strncmp(out, head, h) || strcmp(out + n - 2, "\r\n") ||
	    memchr(out, '\n', n - 1) || n - h - 2 >= sizeof rest)
		return "not one ESEARCH line";
	memcpy(rest, out + h, n - h - 2);
	rest[n - h - 2] = '\0';
	return rest;
}

static const char *run_esearch(const char *args, int uid)
{
	return esearch_rest(run_search(args, uid));
}

/* imap_esearch_reply alone, on a result made up by the test. */
static const struct search_return *reply_ret;
static const uint32_t *reply_msgnos;
static size_t reply_n;

static void reply_cmd(struct cmd *cmd)
{
	imap_esearch_reply(cmd, reply_ret, reply_msgnos, reply_n);
}

static const char *run_reply(unsigned opts, size_t n)
{
	static const uint32_t msgnos[] = {1, 2, 3, 4, 5};
	struct search_return ret = {.given = 1, .opts = opts, .first = 3, .last = 4, .modseq = 1};

	reply_ret = &ret;
	reply_msgnos = msgnos;
	reply_n = n;
	return esearch_rest(run_cmd(reply_cmd, "SEARCH", "", 0));
}

static int parse_return(const char *s, struct search_return *ret)
{
	struct parser p;

	p_init(&p, s, strlen(s), pool);
	if (imap_search_return_parse(&p, ret) < 0)
		return -1;
	return (int)(p.p - s);   /* how much was read */
}

static void test_return_options(void)
{
	struct search_return r;

	CHECK(parse_return("SEEN", &r) == 0 && !r.given && !r.opts);
	CHECK(parse_return("(SEEN)", &r) == 0 && !r.given);
	CHECK(parse_return("RETURN (MIN max Count) SEEN", &r) == 23 && r.given);
	CHECK(r.opts == (RET_MIN | RET_MAX | RET_COUNT));
	CHECK(parse_return("RETURN () ALL", &r) == 10 && r.opts == RET_ALL);
	CHECK(parse_return("RETURN (SAVE) ALL", &r) == 14 && r.opts == RET_SAVE);
	CHECK(parse_return("RETURN (PARTIAL 1:100) ALL", &r) > 0 && r.opts == RET_PARTIAL);
	CHECK(r.first == 1 && r.last == 100 && !r.from_end);
	CHECK(parse_return("RETURN (PARTIAL -1:-100 COUNT) ALL", &r) > 0);
	CHECK(r.opts == (RET_PARTIAL | RET_COUNT) && r.first == 1 && r.last == 100 && r.from_end);
	CHECK(parse_return("RETURN (PARTIAL 4294967295:1) ALL", &r) > 0 && r.first == 4294967295u);
	/* bad: unknown options, ALL with PARTIAL, ranges of the wrong form */
	CHECK(parse_return("RETURN (FOO) ALL", &r) == -1);
	CHECK(parse_return("RETURN (ALL PARTIAL 1:5) ALL", &r) == -1);
	CHECK(parse_return("RETURN (PARTIAL 1:5 PARTIAL 6:9) ALL", &r) == -1);
	CHECK(parse_return("RETURN (ALL ALL) ALL", &r) == -1);
	CHECK(parse_return("RETURN (PARTIAL) ALL", &r) == -1);
	CHECK(parse_return("RETURN (PARTIAL 0:5) ALL", &r) == -1);
	CHECK(parse_return("RETURN (PARTIAL 1:*) ALL", &r) == -1);
	CHECK(parse_return("RETURN (PARTIAL -1:5) ALL", &r) == -1);
	CHECK(parse_return("RETURN (PARTIAL 1:-5) ALL", &r) == -1);
	CHECK(parse_return("RETURN (PARTIAL 5) ALL", &r) == -1);
	CHECK(parse_return("RETURN (PARTIAL 1:4294967296) ALL", &r) == -1);
	CHECK(parse_return("RETURN (MIN ) ALL", &r) == -1);
	CHECK(parse_return("RETURN ( MIN) ALL", &r) == -1);
	CHECK(parse_return("RETURN MIN ALL", &r) == -1);
	CHECK(parse_return("RETURN (MIN", &r) == -1);
	CHECK(parse_return("RETURN (MIN)", &r) == -1);
}

static void test_within_and_saved_keys(void)
{
	struct search_key *k;

	CHECK(parse("OLDER 3600", &k) == 0 && k->op == SK_OLDER && k->seconds == 3600);
	CHECK(parse("younger 1", &k) == 0 && k->op == SK_YOUNGER && k->seconds == 1);
	CHECK(parse("OLDER 0", &k) == -1);
	CHECK(parse("YOUNGER", &k) == -1);
	CHECK(parse("YOUNGER -5", &k) == -1);
	/* "$" with nothing saved is the empty set of UIDs, not an error */
	CHECK(parse("$", &k) == 0 && k->op == SK_UIDS && k->set.saved && k->set.n == 0);
	CHECK(parse("UID $", &k) == 0 && k->op == SK_UIDS && k->set.saved);
	CHECK(parse("NOT $", &k) == 0 && k->op == SK_NOT && k->kids->set.saved);
	CHECK(parse("$,1", &k) == -1);
	CHECK(parse("1,$", &k) == -1);
}

/* RFC 4731 answers over the five messages (UIDs 10 12 14 16 18). */
static void test_esearch(void)
{
	CHECK_STR(run_esearch(" RETURN (MIN COUNT) SEEN", 0), " MIN 1 COUNT 3");
	CHECK_STR(tagged_status, "OK");
	CHECK_STR(run_esearch(" RETURN () SEEN", 0), " ALL 1:2,5");
	CHECK_STR(run_esearch(" RETURN (MIN MAX) SEEN", 1), " UID MIN 10 MAX 18");
	CHECK_STR(run_esearch(" RETURN (ALL) ALL", 1), " UID ALL 10,12,14,16,18");
	CHECK_STR(run_esearch(" RETURN (COUNT MAX ALL MIN) ALL", 0), " MIN 1 MAX 5 ALL 1:5 COUNT 5");
	/* no match: MIN, MAX and ALL are left out, COUNT stays */
	CHECK_STR(run_esearch(" RETURN (MIN MAX ALL COUNT) DRAFT", 0), " COUNT 0");
	CHECK_STR(run_esearch(" RETURN (MIN) DRAFT", 1), " UID");
	CHECK_STR(run_esearch(" RETURN (PARTIAL 2:3) ALL", 0), " PARTIAL (2:3 2:3)");
	CHECK_STR(run_esearch(" RETURN (PARTIAL -1:-2 COUNT) ALL", 1),
		  " UID PARTIAL (-1:-2 16,18) COUNT 5");
	CHECK_STR(run_esearch(" RETURN (PARTIAL 4:9) ALL", 1), " UID PARTIAL (4:9 16,18)");
	CHECK_STR(run_esearch(" RETURN (PARTIAL 6:9) ALL", 0), " PARTIAL (6:9 NIL)");
	CHECK_STR(run_search(" RETURN (BOGUS) ALL", 0), "");
	CHECK_STR(tagged_status, "BAD");
}

/* RFC 4731 3.2 (for RFC 7162's MODSEQ key): the MODSEQ of the one message
 * MIN or MAX names, the higher of the two, or the highest of all returned. */
static void test_esearch_modseq(void)
{
	static const uint64_t modseqs[5] = {10, 50, 40, 20, 30};

	for (int i = 0; i < 5; i++)
		msgs[i].modseq = modseqs[i];
	CHECK_STR(run_reply(RET_MIN, 5), " MIN 1 MODSEQ 10");
	CHECK_STR(run_reply(RET_MAX, 5), " MAX 5 MODSEQ 30");
	CHECK_STR(run_reply(RET_MIN | RET_MAX, 5), " MIN 1 MAX 5 MODSEQ 30");
	CHECK_STR(run_reply(RET_MIN | RET_COUNT, 5), " MIN 1 COUNT 5 MODSEQ 50");
	CHECK_STR(run_reply(RET_ALL, 5), " ALL 1:5 MODSEQ 50");
	CHECK_STR(run_reply(RET_PARTIAL, 5), " PARTIAL (3:4 3:4) MODSEQ 40");
	CHECK_STR(run_reply(RET_MIN | RET_COUNT, 0), " COUNT 0");   /* nothing found */
	for (int i = 0; i < 5; i++)
		msgs[i].modseq = 0;
}

/* RFC 5182: SAVE, "$" in later commands, the empty "$". */
static void test_searchres(void)
{
	imap_searchres_reset(&session);
	CHECK_STR(run_search(" $", 0), "* SEARCH\r\n");
	CHECK_STR(tagged_status, "OK");
	CHECK_STR(run_search(" RETURN (SAVE) SEEN", 0), "");
	CHECK_STR(tagged_status, "OK");
	CHECK_STR(run_search(" $", 0), "* SEARCH 1 2 5\r\n");
	CHECK_STR(run_search(" UID $", 1), "* SEARCH 10 12 18\r\n");
	CHECK(session.searchres.n == 3 && session.searchres.r[0].lo == 10 &&
	      session.searchres.r[0].hi == 10 && session.searchres.r[2].lo == 18);
	/* "$" in the keys is the old result, even as SAVE replaces it */
	CHECK_STR(run_esearch(" RETURN (SAVE ALL) NOT $", 0), " ALL 3:4");
	CHECK_STR(run_search(" $", 0), "* SEARCH 3 4\r\n");
	/* MIN and MAX alone save just those */
	CHECK_STR(run_esearch(" RETURN (SAVE MIN MAX) ALL", 0), " MIN 1 MAX 5");
	CHECK_STR(run_search(" $", 0), "* SEARCH 1 5\r\n");
	CHECK_STR(run_esearch(" RETURN (SAVE MAX COUNT) SEEN", 0), " MAX 5 COUNT 3");
	CHECK_STR(run_search(" $", 0), "* SEARCH 1 2 5\r\n");
	/* a SEARCH that was to save but failed leaves "$" empty */
	CHECK_STR(run_search(" RETURN (SAVE) CHARSET BIG5 ALL", 0), "");
	CHECK_STR(tagged_status, "NO");
	CHECK_STR(run_search(" $", 0), "* SEARCH\r\n");
	imap_searchres_reset(&session);
}

/* IMAP4rev2 (RFC 9051): no keys about \Recent; SEARCH answers ESEARCH. */
static void test_rev2(void)
{
	static const char *const gone[] = {"RECENT", "new", "Old", "NOT OLD", "(SEEN NEW)"};
	struct search_key *k;
	struct parser p;

	for (size_t i = 0; i < ARRAY_SIZE(gone); i++) {
		p_init(&p, gone[i], strlen(gone[i]), pool);
		p.rev2 = 1;
		CHECK(imap_search_parse(&p, &box, &k) == SEARCH_PARSE_BAD);
		CHECK(parse(gone[i], &k) == 0);   /* IMAP4rev1 keeps them */
	}
	session.enabled = CLIENT_EN_REV2;
	CHECK_STR(run_search(" SEEN", 0), "* ESEARCH (TAG \"a\") ALL 1:2,5\r\n");
	CHECK_STR(run_search(" DRAFT", 1), "* ESEARCH (TAG \"a\") UID\r\n");
	CHECK_STR(run_search(" RECENT", 0), "");
	CHECK_STR(tagged_status, "BAD");
	session.enabled = 0;
	CHECK_STR(run_search(" SEEN", 0), "* SEARCH 1 2 5\r\n");
}

int main(void)
{
	pool = pool_new();
	buf_init(&written);
	setup_box();
	RUN(test_simple_keys);
	RUN(test_strings);
	RUN(test_dates);
	RUN(test_sets);
	RUN(test_structure);
	RUN(test_keywords);
	RUN(test_charset);
	RUN(test_depth);
	RUN(test_garbage);
	RUN(test_cmd_search);
	RUN(test_return_options);
	RUN(test_within_and_saved_keys);
	RUN(test_esearch);
	RUN(test_esearch_modseq);
	RUN(test_searchres);
	RUN(test_rev2);
	buf_free(&written);
	pool_free(pool);
	return test_summary("test-imap-search-parse");
}
