/* test-parser.c: imapd's argument parser and the configuration reader. */
#include <stdlib.h>
#include <fcntl.h>
#include <unistd.h>

#include "config.h"
#include "mail_api.h"
#include "parser.h"
#include "test.h"

static struct pool *pool;

static void init(struct parser *p, const char *s)
{
	p_init(p, s, strlen(s), pool);
}

static void astring_forms(void)
{
	struct parser p;
	char *s;
	size_t n;

	init(&p, "atom \"quo\\\"ted\" {5}\r\nab)cd rest");
	p.end = p.p + 31;
	CHECK(p_astring(&p, &s, NULL) == 0);
	CHECK_STR(s, "atom");
	CHECK(p_sp(&p) == 0);
	CHECK(p_astring(&p, &s, NULL) == 0);
	CHECK_STR(s, "quo\"ted");
	CHECK(p_sp(&p) == 0);
	CHECK(p_astring(&p, &s, &n) == 0);
	CHECK(n == 5 && memcmp(s, "ab)cd", 5) == 0);
	CHECK(p_sp(&p) == 0);
	CHECK(p_astring(&p, &s, NULL) == 0);
	CHECK_STR(s, "rest");
	CHECK(p_end(&p) == 0);
}

static void bad_strings(void)
{
	struct parser p;
	char *s;

	init(&p, "\"unterminated");
	CHECK(p_astring(&p, &s, NULL) < 0 && p.error);
	init(&p, "{10}\r\nshort");
	CHECK(p_astring(&p, &s, NULL) < 0);
	init(&p, "{x}\r\n");
	CHECK(p_astring(&p, &s, NULL) < 0);
	init(&p, "\"bad\\escape\"");
	CHECK(p_astring(&p, &s, NULL) < 0);
	init(&p, "");
	CHECK(p_astring(&p, &s, NULL) < 0);
}

/* A NUL would cut a C string short ("user\0junk" logs in as "user"): every
 * string refuses it; only message text (APPEND's literal) may hold one. */
static void nul_in_strings(void)
{
	static const char lit[] = "{9}\r\nuser\0junk";
	static const char quoted[] = "\"user\0junk\"";
	struct parser p;
	char *s;
	const char *msg;
	size_t n;

	p_init(&p, lit, sizeof lit - 1, pool);
	CHECK(p_astring(&p, &s, NULL) < 0 && p.error && strstr(p.error, "NUL"));
	p_init(&p, lit, sizeof lit - 1, pool);
	CHECK(p_string(&p, &s, &n) < 0);
	p_init(&p, lit, sizeof lit - 1, pool);
	CHECK(p_nstring(&p, &s, &n) < 0);
	p_init(&p, lit, sizeof lit - 1, pool);
	CHECK(p_mailbox(&p, &s) < 0);
	p_init(&p, lit, sizeof lit - 1, pool);
	CHECK(p_list_mailbox(&p, &s) < 0);
	p_init(&p, quoted, sizeof quoted - 1, pool);
	CHECK(p_astring(&p, &s, NULL) < 0);
	p_init(&p, lit, sizeof lit - 1, pool);
	CHECK(p_message(&p, &msg, &n) == 0 && n == 9 && !memcmp(msg, "user\0junk", 9));
	CHECK(p_end(&p) == 0);
	init(&p, "\"quoted message\"");
	CHECK(p_message(&p, &msg, &n) < 0);
}

/* Sequence sets: a number is a number; only "*" means the largest in use. */
static void sequence_sets(void)
{
	struct parser p;
	struct numset set;

	init(&p, "4294967295");
	CHECK(p_seqset(&p, &set) == 0 && set.n == 1);
	CHECK(set.r[0].lo == 4294967295u && set.r[0].hi == 4294967295u);
	CHECK(!numset_contains(&set, 5, 5));    /* UID 4294967295 is not "*" */
	CHECK(numset_contains(&set, 4294967295u, 4294967295u));
	init(&p, "7:4294967295");
	CHECK(p_seqset(&p, &set) == 0 && set.r[0].lo == 7 && set.r[0].hi == 4294967295u);
	CHECK(numset_contains(&set, 9, 9) && !numset_contains(&set, 6, 9));
	init(&p, "4294967295:7");
	CHECK(p_seqset(&p, &set) == 0 && set.r[0].lo == 7 && set.r[0].hi == 4294967295u);
	init(&p, "*");
	CHECK(p_seqset(&p, &set) == 0 && set.r[0].hi == NUMSET_STAR);
	CHECK(numset_contains(&set, 5, 5) && !numset_contains(&set, 4, 5));
	init(&p, "*:4");
	CHECK(p_seqset(&p, &set) == 0 && set.r[0].lo == 4 && set.r[0].hi == NUMSET_STAR);
	CHECK(numset_contains(&set, 2, 2) && !numset_contains(&set, 1, 2));   /* 2:4 */
	init(&p, "5:2");
	CHECK(p_seqset(&p, &set) == 0 && set.r[0].lo == 2 && set.r[0].hi == 5);
	init(&p, "0");
	CHECK(p_seqset(&p, &set) < 0);
	init(&p, "1:0");
	CHECK(p_seqset(&p, &set) < 0);
	init(&p, "4294967296");
	CHECK(p_seqset(&p, &set) < 0);
	init(&p, "1:4294967296");
	CHECK(p_seqset(&p, &set) < 0);
	init(&p, "18446744073709551617");   /* 2^64 + 1: no wrap to 1 */
	CHECK(p_seqset(&p, &set) < 0);
}

/* "$" (RFC 5182) is the saved result as it was when read: a copy. */
static void saved_set(void)
{
	struct numrange r[2] = {{3, 5}, {9, 9}};
	struct numset saved = {r, 2, 0}, set;
	struct parser p;

	init(&p, "$");
	CHECK(p_seqset(&p, &set) == 0 && set.saved && set.n == 0 && p_at_end(&p));
	init(&p, "$ FLAGS");
	p.saved = &saved;
	CHECK(p_seqset(&p, &set) == 0 && set.saved && set.n == 2 && set.r != r);
	r[0].lo = 1;
	CHECK(set.r[0].lo == 3 && set.r[1].hi == 9 && p_peek(&p, ' '));
	CHECK(numset_contains(&set, 4, 9) && !numset_contains(&set, 6, 9));
	init(&p, "1,$");
	CHECK(p_seqset(&p, &set) < 0);
}

static void mailbox_inbox_case(void)
{
	struct parser p;
	char *s;

	init(&p, "iNbOx");
	CHECK(p_mailbox(&p, &s) == 0);
	CHECK_STR(s, "INBOX");
	init(&p, "\"INBOX.sub\"");
	CHECK(p_mailbox(&p, &s) == 0);
	CHECK_STR(s, "INBOX.sub");
}

static void flag_lists(void)
{
	struct parser p;
	uint32_t f;
	char **kw;

	init(&p, "(\\Seen \\flagged $Junk Work)");
	CHECK(p_flag_list(&p, &f, &kw, 1) == 0);
	CHECK(f == (MF_SEEN | MF_FLAGGED));
	CHECK(kw && !strcmp(kw[0], "$Junk") && !strcmp(kw[1], "Work") && !kw[2]);
	init(&p, "()");
	CHECK(p_flag_list(&p, &f, &kw, 1) == 0 && f == 0 && !kw);
	init(&p, "(\\Recent)");
	CHECK(p_flag_list(&p, &f, &kw, 1) < 0);
	init(&p, "(\\Bogus)");
	CHECK(p_flag_list(&p, &f, &kw, 1) < 0);
	init(&p, "\\Deleted");
	CHECK(p_flag_list(&p, &f, &kw, 1) == 0 && f == MF_DELETED);
	init(&p, "(\\Seen");
	CHECK(p_flag_list(&p, &f, &kw, 1) < 0);
}

static void dates(void)
{
	struct parser p;
	int y, m, d, tz;
	time_t t;

	init(&p, "1-Feb-2024");
	CHECK(p_date(&p, &y, &m, &d) == 0 && y == 2024 && m == 2 && d == 1);
	init(&p, "\"31-dec-1999\"");
	CHECK(p_date(&p, &y, &m, &d) == 0 && y == 1999 && m == 12 && d == 31);
	init(&p, "31-Foo-1999");
	CHECK(p_date(&p, &y, &m, &d) < 0);
	init(&p, "\"17-Jul-1996 02:44:25 -0700\"");
	CHECK(p_date_time(&p, &t, &tz) == 0);
	CHECK(t == 837596665 && tz == -420);
	init(&p, "\" 7-Jul-1996 02:44:25 +0000\"");
	CHECK(p_date_time(&p, &t, &tz) == 0 && tz == 0);
	init(&p, "\"17-Jul-1996 25:44:25 -0700\"");
	CHECK(p_date_time(&p, &t, &tz) < 0);
	CHECK(p_days_to_time(1970, 1, 1) == 0);
	CHECK(p_days_to_time(2000, 3, 1) == 951868800);
}

static void numbers(void)
{
	struct parser p;
	uint32_t n;

	init(&p, "4294967295");
	CHECK(p_number(&p, &n) == 0 && n == 4294967295u);
	init(&p, "4294967296");
	CHECK(p_number(&p, &n) < 0);
	init(&p, "0");
	CHECK(p_nz_number(&p, &n) < 0);
}

static void config_file(void)
{
	char path[] = "/tmp/test-config-XXXXXX";
	int fd = mkstemp(path);
	const char *text = "# comment\n spool_dir = /srv/mail \nallow_plaintext=no\n"
			   "max_message = 10m\ntimeout_idle = 31m\nmail_format = MBOX\n"
			   "inbox = ~/Maildir\n";
	struct config c;
	struct buf errors;

	CHECK(write(fd, text, strlen(text)) == (ssize_t)strlen(text));
	close(fd);
	buf_init(&errors);
	config_defaults(&c);
	CHECK(config_load(&c, path, 1, &errors) == 0);
	CHECK_STR(c.spool_dir, "/srv/mail");
	CHECK(c.allow_plaintext == 0);
	CHECK(c.max_message == 10 * 1024 * 1024);
	CHECK(c.timeout_idle == 31 * 60);
	CHECK_STR(c.mail_format, "MBOX");
	CHECK(mail_driver_named(c.mail_format) == mail_driver_named("unix"));
	CHECK_STR(c.inbox, "~/Maildir");
	config_free(&c);

	fd = open(path, O_WRONLY | O_TRUNC);
	text = "spool_dri = /x\nallow_plaintext = maybe\nmax_line = 10\nnonsense\n"
	       "mail_format = mbx5\n";
	CHECK(write(fd, text, strlen(text)) == (ssize_t)strlen(text));
	close(fd);
	config_defaults(&c);
	CHECK(config_load(&c, path, 1, &errors) < 0);
	CHECK(strstr(errors.data, "unknown key \"spool_dri\"") != NULL);
	CHECK(strstr(errors.data, "allow_plaintext must be yes or no") != NULL);
	CHECK(strstr(errors.data, "max_line needs a number") != NULL);
	CHECK(strstr(errors.data, ":4: expected \"key = value\"") != NULL);
	CHECK(strstr(errors.data, ":5: mail_format: no mailbox format is called \"mbx5\" (known: "
			     MAIL_FORMATS ")") != NULL);
	CHECK(c.mail_format == NULL);
	config_free(&c);
	buf_free(&errors);
	unlink(path);

	buf_init(&errors);
	config_defaults(&c);
	CHECK(config_load(&c, "/nonexistent/imapd.conf", 0, &errors) == 0);
	CHECK(config_load(&c, "/nonexistent/imapd.conf", 1, &errors) < 0);
	config_free(&c);
	buf_free(&errors);
}

int main(void)
{
	pool = pool_new();
	RUN(astring_forms);
	RUN(bad_strings);
	RUN(nul_in_strings);
	RUN(sequence_sets);
	RUN(saved_set);
	RUN(mailbox_inbox_case);
	RUN(flag_lists);
	RUN(dates);
	RUN(numbers);
	RUN(config_file);
	pool_free(pool);
	return test_summary("test-parser");
}
