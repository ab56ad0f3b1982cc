/* test-newsrc.c: a group's line of ~/.newsrc read (bad ranges skipped,
 * overlapping ones merged) and rewritten with every other line kept. */
#include "newsrc.h"
#include "test.h"

static const char file[] = "comp.lang.c! 1-5,9\n"
			   "local.test: 7, 1-3,x,9-8,2-4,6 ,12-\n"
			   "local.test.more: 1-100\n";

/* The ranges of group in text as "lo-hi lo-hi". */
static const char *ranges(const char *text, const char *group)
{
	static char out[256];
	size_t n, used = 0;
	struct newsrc_range *r = newsrc_find(text, strlen(text), group, &n);

	out[0] = '\0';
	for (size_t i = 0; i < n; i++)
		used += (size_t)snprintf(out + used, sizeof out - used, "%s%u-%u", i ? " " : "",
					 r[i].lo, r[i].hi);
	free(r);
	return out;
}

static void test_bad_ranges_skipped_and_merged(void)
{
	/* "x", "9-8" and "12-" are no ranges; 1-3, 2-4 and 6, 7 merge */
	CHECK_STR(ranges(file, "local.test"), "1-4 6-7");
	CHECK_STR(ranges(file, "comp.lang.c"), "1-5 9-9");
	CHECK_STR(ranges(file, "local"), "");          /* a prefix is not the group */
	CHECK_STR(ranges("local.test:", "local.test"), "");
}

static void test_has(void)
{
	size_t n;
	struct newsrc_range *r = newsrc_find(file, sizeof file - 1, "local.test", &n);

	CHECK(newsrc_has(r, n, 1) && newsrc_has(r, n, 4) && newsrc_has(r, n, 7));
	CHECK(!newsrc_has(r, n, 5) && !newsrc_has(r, n, 8) && !newsrc_has(r, n, 0));
	free(r);
	CHECK(!newsrc_has(NULL, 0, 1));
}

static void test_rewrite_keeps_other_lines(void)
{
	struct newsrc_range r[] = {{1, 9}, {11, 11}};
	struct buf out;

	buf_init(&out);
	newsrc_put(file, sizeof file - 1, "local.test", r, 2, &out);
	CHECK_STR(out.data, "comp.lang.c! 1-5,9\nlocal.test: 1-9,11\nlocal.test.more: 1-100\n");
	buf_reset(&out);
	newsrc_put(file, sizeof file - 1, "comp.lang.c", r, 1, &out);   /* '!' kept */
	CHECK(!strncmp(out.data, "comp.lang.c! 1-9\nlocal.test: 7,", 31));
	buf_reset(&out);
	newsrc_put("a: 1", 4, "new.group", r + 1, 1, &out);   /* added, line end mended */
	CHECK_STR(out.data, "a: 1\nnew.group: 11\n");
	buf_reset(&out);
	newsrc_put(NULL, 0, "g", NULL, 0, &out);
	CHECK_STR(out.data, "g:\n");
	buf_free(&out);
}

int main(void)
{
	RUN(test_bad_ranges_skipped_and_merged);
	RUN(test_has);
	RUN(test_rewrite_keeps_other_lines);
	return test_summary("test-newsrc");
}
