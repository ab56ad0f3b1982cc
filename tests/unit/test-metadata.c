/* test-metadata.c: the METADATA store (metadata.c): entry names as RFC 5464
 * 3.2 allows them, the file read back as written (any octet in a value),
 * damaged files refused, the limits, and RENAME / DELETE following. */
#include "metadata.h"
#include "mbox_fixture.h"
#include "test.h"

static struct mail_session s;

static void names_checked(void)
{
	static const char *const good[] = {"/private/comment", "/shared/vendor/x/y", "/PRIVATE/a"};
	static const char *const bad[] = {"/comment", "/private", "/private/", "/private//a",
					  "/shared/a*", "/shared/a%", "private/a", "/shared/a b",
					  "/shared/\x7f"};

	for (size_t i = 0; i < ARRAY_SIZE(good); i++)
		CHECK(mail_meta_name_valid(good[i], strlen(good[i])));
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++)
		CHECK(!mail_meta_name_valid(bad[i], strlen(bad[i])));
}

static void damaged_files_refused(void)
{
	static const char *const bad[] = {"", "imapd-metadata 2\n",
		"imapd-metadata 1\n5 9 99\nINBOX/shared/ashort\n",
		"imapd-metadata 1\n0 9 1\n/shared/ax",          /* no final newline */
		"imapd-metadata 1\n0 4 1\n/foox\n",             /* not an entry name */
		"imapd-metadata 1\n0 9 70000\n/shared/a"};       /* over the value limit */
	struct mail_meta_set set;

	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		CHECK(mail_meta_parse(bad[i], strlen(bad[i]), &set) < 0);
		CHECK(set.n == 0 && set.v == NULL);
	}
}

/* The value of box's entry name in the user's file, NULL when none. */
static const char *value_of(const char *box, const char *name, size_t *len)
{
	static char out[256];
	struct mail_meta_set set;
	struct mail_err err;
	const char *r = NULL;

	CHECK(mail_meta_load(&s, &set, &err) == 0);
	for (size_t i = 0; i < set.n; i++)
		if (!strcmp(set.v[i].box, box) && !strcmp(set.v[i].name, name) &&
		    set.v[i].len < sizeof out) {
			memcpy(out, set.v[i].value, set.v[i].len);
			*len = set.v[i].len;
			r = out;
		}
	mail_meta_free(&set);
	return r;
}

static void values_kept_whole(void)
{
	struct mail_meta chg[] = {{.name = "/private/bin", .value = "a\0b\r\nc", .len = 6},
				  {.name = "/shared/empty", .value = "", .len = 0}};
	struct mail_err err;
	struct stat st;
	size_t len;

	fixture_session(&s, "test-metadata");
	CHECK(mail_meta_store(&s, "INBOX", chg, 2, &err) == 0);
	const char *v = value_of("INBOX", "/private/bin", &len);
	CHECK(v && len == 6 && !memcmp(v, "a\0b\r\nc", 6));
	CHECK((v = value_of("INBOX", "/shared/empty", &len)) && len == 0);
	CHECK(stat(fixture_path(NULL, MAIL_META_FILE), &st) == 0 && (st.st_mode & 0777) == 0600);
	chg[0].value = NULL;
	CHECK(mail_meta_store(&s, "INBOX", chg, 1, &err) == 0);
	CHECK(!value_of("INBOX", "/private/bin", &len));
}

static void limits_change_nothing(void)
{
	static char big[MAIL_META_MAXSIZE + 1];
	struct mail_meta m = {.name = "/shared/big", .value = big, .len = sizeof big};
	struct mail_err err;
	size_t len;

	fixture_session(&s, "test-metadata");
	CHECK(mail_meta_store(&s, "", &m, 1, &err) < 0 && err.code == MAIL_TOOBIG);
	CHECK(!value_of("", "/shared/big", &len));
	for (int i = 0; i < MAIL_META_MAXENTRIES; i++) {
		char name[32];
		snprintf(name, sizeof name, "/private/n%d", i);
		struct mail_meta one = {.name = name, .value = "v", .len = 1};
		CHECK(mail_meta_store(&s, "", &one, 1, &err) == 0);
	}
	struct mail_meta more = {.name = "/private/more", .value = "v", .len = 1};
	CHECK(mail_meta_store(&s, "", &more, 1, &err) < 0 && err.code == MAIL_LIMIT);
	CHECK(!value_of("", "/private/more", &len));
}

static void rename_takes_children_delete_only_itself(void)
{
	static const char *const boxes[] = {"a", "a/b", "ab"};
	struct mail_meta m = {.name = "/private/c", .value = "v", .len = 1};
	struct mail_err err;
	size_t len;

	fixture_session(&s, "test-metadata");
	for (size_t i = 0; i < ARRAY_SIZE(boxes); i++)
		CHECK(mail_meta_store(&s, boxes[i], &m, 1, &err) == 0);
	mail_meta_forget(&s, "a", "z");
	CHECK(value_of("z", "/private/c", &len) && value_of("z/b", "/private/c", &len));
	CHECK(!value_of("a", "/private/c", &len) && value_of("ab", "/private/c", &len));
	mail_meta_forget(&s, "z", NULL);
	CHECK(!value_of("z", "/private/c", &len) && value_of("z/b", "/private/c", &len));
}

int main(void)
{
	RUN(names_checked);
	RUN(damaged_files_refused);
	RUN(values_kept_whole);
	RUN(limits_change_nothing);
	RUN(rename_takes_children_delete_only_itself);
	fixture_remove_tmpdir();
	mail_session_free(&s);
	return test_summary("test-metadata");
}
