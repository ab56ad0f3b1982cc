/* test-recfile.c: the per-user record files' module (recfile.c) and the
 * URLAUTH key file reader beside it: key files written by the earlier code
 * still read, the update only writes when asked, its lock is refused when
 * it is a link, and a failed change leaves the file as it was. */
#include <errno.h>
#include <sys/stat.h>
#include <unistd.h>

#include "imapurl.h"
#include "mbox_fixture.h"
#include "recfile.h"
#include "test.h"

#define KEY1 "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
#define KEY2 "fedcba9876543210fedcba9876543210fedcba9876543210fedcba9876543210"

static struct mail_session s;

/* Lines as the writer makes them ("validity key name"), a name with a
 * leading space, lines of other shapes passed over, the last line without
 * its newline never taken. */
static void key_lines_read(void)
{
	static const char file[] = "12 " KEY1 " INBOX\n"
				   "not a key line\n"
				   "13 " KEY1 "0 long\n"
				   "4294967296 " KEY1 " big\n"
				   "7 " KEY2 "  lead\n"
				   "9 " KEY2 " cut";
	char hex[URLAUTH_KEY_HEX];

	CHECK(urlauth_key_find(file, strlen(file), "INBOX", 12, hex) == 0);
	CHECK_STR(hex, KEY1);
	CHECK(urlauth_key_find(file, strlen(file), "INBOX", 13, hex) == 1);
	CHECK(urlauth_key_find(file, strlen(file), " lead", 7, hex) == 0);
	CHECK_STR(hex, KEY2);
	CHECK(urlauth_key_find(file, strlen(file), "lead", 7, hex) == 1);
	CHECK(urlauth_key_find(file, strlen(file), "long", 13, hex) == 1);
	CHECK(urlauth_key_find(file, strlen(file), "big", 0, hex) == 1);
	CHECK(urlauth_key_find(file, strlen(file), "cut", 9, hex) == 1);
	CHECK(urlauth_key_find(file, strlen(file), NULL, 7, hex) == 0);
	CHECK(urlauth_key_find(file, 10, "INBOX", 12, hex) == 1);   /* cut short */
}

/* Digits up to the stop, at most max, never overflowing. */
static void numbers_bounded(void)
{
	static const struct {
		const char *in;
		size_t max;
		int ok;
		size_t want;
	} cases[] = {{"12 ", 100, 0, 12}, {"100 ", 100, 0, 100}, {"101 ", 100, -1, 0},
		     {" 1 ", 100, -1, 0},  {"12", 100, -1, 0},    {"1x ", 100, -1, 0},
		     {"99999999999999999999999 ", (size_t)-1, -1, 0},
		     {"4294967295 ", UINT32_MAX, 0, UINT32_MAX}, {"0 ", 0, 0, 0}};

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		const char *p = cases[i].in;
		size_t n = 0;
		CHECK(recfile_number(&p, p + strlen(p), ' ', cases[i].max, &n) == cases[i].ok);
		CHECK(cases[i].ok < 0 || (n == cases[i].want && *p == '\0'));
	}
}

/* A file of text lines: set is a struct buf of its text. */
static int text_parse(const char *data, size_t len, void *set)
{
	if (len && data[0] == '!')
		return -1;
	buf_append(set, data, len);
	return 0;
}

/* The lines back as they are. */
static void text_format(const void *set, struct buf *out)
{
	const struct buf *b = set;

	buf_append(out, b->data, b->len);
}

/* recfile's free hook. */
static void text_free(void *set)
{
	buf_free(set);
}

static const struct recfile text_file = {".test-rec", "test records", 4096, text_parse,
					 text_format, text_free};

/* Adds the line ctx. */
static int add_line(void *set, void *ctx, struct mail_err *err)
{
	buf_puts(set, ctx);
	return 1;
}

/* Asks for no write. */
static int keep(void *set, void *ctx, struct mail_err *err)
{
	buf_puts(set, "never written\n");
	return 0;
}

/* Fails with MAIL_LIMIT. */
static int refuse(void *set, void *ctx, struct mail_err *err)
{
	buf_puts(set, "never written\n");
	mail_err_set(err, MAIL_LIMIT, "refused");
	return -1;
}

/* The file appears only when a change asks; its lock and it are 0600. */
static void updates_write_only_when_asked(void)
{
	struct buf set;
	struct mail_err err;
	struct stat st;
	size_t len;

	fixture_session(&s, "test-recfile");
	buf_init(&set);
	CHECK(!recfile_exists(&s, &text_file));
	CHECK(recfile_update(&s, &text_file, &set, keep, NULL, &err) == 0);
	CHECK(!recfile_exists(&s, &text_file));
	CHECK(stat(fixture_path(NULL, ".test-rec.lock"), &st) == 0 && (st.st_mode & 0777) == 0600);
	CHECK(recfile_update(&s, &text_file, &set, add_line, "one\n", &err) == 0);
	CHECK(recfile_update(&s, &text_file, &set, add_line, "two\n", &err) == 0);
	CHECK(recfile_update(&s, &text_file, &set, refuse, NULL, &err) < 0 && err.code == MAIL_LIMIT);
	char *text = read_file(fixture_path(NULL, ".test-rec"), &len);
	CHECK_STR(text, "one\ntwo\n");
	free(text);
	CHECK(stat(fixture_path(NULL, ".test-rec"), &st) == 0 && (st.st_mode & 0777) == 0600);
	CHECK(recfile_load(&s, &text_file, &set, &err) == 0 && set.len == 8);
	buf_free(&set);
}

/* A damaged file stays as it is; a lock that is a link is never used. */
static void damaged_and_linked_refused(void)
{
	struct buf set;
	struct mail_err err;
	size_t len;

	fixture_session(&s, "test-recfile");
	buf_init(&set);
	write_file(fixture_path(NULL, ".test-rec"), "!damaged\n");
	CHECK(recfile_load(&s, &text_file, &set, &err) < 0 && err.code == MAIL_CORRUPT);
	CHECK(recfile_update(&s, &text_file, &set, add_line, "x\n", &err) < 0);
	char *text = read_file(fixture_path(NULL, ".test-rec"), &len);
	CHECK_STR(text, "!damaged\n");
	free(text);
	/* the lock a link to a file the user may write: never opened through */
	unlink(fixture_path(NULL, ".test-rec"));
	unlink(fixture_path(NULL, ".test-rec.lock"));
	write_file(fixture_path(NULL, "elsewhere"), "");
	CHECK(symlink(fixture_path(NULL, "elsewhere"), fixture_path(NULL, ".test-rec.lock")) == 0);
	CHECK(recfile_update(&s, &text_file, &set, add_line, "x\n", &err) < 0);
	CHECK(strstr(err.text, "symbolic link") != NULL);
	CHECK(!recfile_exists(&s, &text_file));
	/* and a link where the lock would be made: nothing made at its target */
	unlink(fixture_path(NULL, ".test-rec.lock"));
	CHECK(symlink(fixture_path(NULL, "made"), fixture_path(NULL, ".test-rec.lock")) == 0);
	CHECK(recfile_update(&s, &text_file, &set, add_line, "x\n", &err) < 0);
	CHECK(access(fixture_path(NULL, "made"), F_OK) < 0 && errno == ENOENT);
	buf_free(&set);
}

int main(void)
{
	RUN(key_lines_read);
	RUN(numbers_bounded);
	RUN(updates_write_only_when_asked);
	RUN(damaged_and_linked_refused);
	fixture_remove_tmpdir();
	mail_session_free(&s);
	return test_summary("test-recfile");
}
