/* test.h: a tiny assertion helper for the unit tests. Each test program
 * defines test functions, calls them through RUN(), and ends with
 * test_summary(), which prints "N passed, N failed, N skipped" and returns
 * the exit code. A test that makes no CHECK must say why with SKIP(reason);
 * one that neither checks nor says why fails, and a skip whose reason is not
 * in $UNIT_EXPECTED_SKIPS ('|'-separated reasons) fails the program. */
#ifndef TEST_H
#define TEST_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kwset.h"

static int test_failures, test_checks, test_failed_tests, test_passed_tests;
static int test_skipped_tests, test_unexpected_skips;
static const char *test_current, *test_skip_reason;

/* Leave the current test without checking anything, saying why. */
#define SKIP(why)                                                                          \
	do {                                                                               \
		test_skip_reason = (why);                                                  \
		return;                                                                    \
	} while (0)

#define CHECK(cond)                                                                        \
	do {                                                                               \
		test_checks++;                                                             \
		if (!(cond)) {                                                             \
			test_failures++;                                                   \
			fprintf(stderr, "%s:%d: %s: CHECK(%s) failed\n", __FILE__, __LINE__,  \
				test_current, #cond);                                      \
		}                                                                          \
	} while (0)

#define CHECK_STR(a, b)                                                                    \
	do {                                                                               \
		const char *a_ = (a), *b_ = (b);                                           \
		test_checks++;                                                             \
		if (!a_ || !b_ ? a_ != b_ : strcmp(a_, b_) != 0) {                         \
			test_failures++;                                                   \
			fprintf(stderr, "%s:%d: %s: \"%s\" != \"%s\"\n", __FILE__, __LINE__,  \
				test_current, a_ ? a_ : "(null)", b_ ? b_ : "(null)");     \
		}                                                                          \
	} while (0)

#define CHECK_MEM(p, n, s)                                                                 \
	do {                                                                               \
		const char *s_ = (s);                                                      \
		size_t n_ = (n);                                                           \
		test_checks++;                                                             \
		if (n_ != strlen(s_) || memcmp((p), s_, n_) != 0) {                        \
			test_failures++;                                                   \
			fprintf(stderr, "%s:%d: %s: \"%.*s\" != \"%s\"\n", __FILE__, __LINE__, \
				test_current, (int)n_, (const char *)(p), s_);             \
		}                                                                          \
	} while (0)

/* Whether reason is one of the '|'-separated reasons in $UNIT_EXPECTED_SKIPS. */
static inline int test_skip_expected(const char *reason)
{
	const char *list = getenv("UNIT_EXPECTED_SKIPS");
	size_t n = strlen(reason);

	for (const char *p = list; p && *p; p = strchr(p, '|') ? strchr(p, '|') + 1 : NULL)
		if (strncmp(p, reason, n) == 0 && (p[n] == '|' || p[n] == '\0'))
			return 1;
	return 0;
}

/* Account for a test that made no check: a skip with a reason, or a failure. */
static inline void test_no_checks(void)
{
	if (!test_skip_reason) {
		test_failed_tests++;
		fprintf(stderr, "%s: made no check and gave no SKIP reason\n", test_current);
		return;
	}
	test_skipped_tests++;
	if (test_skip_expected(test_skip_reason)) {
		printf("%s: SKIPPED (expected): %s\n", test_current, test_skip_reason);
		return;
	}
	test_unexpected_skips++;
	fprintf(stderr, "%s: SKIPPED (unexpected): %s\n", test_current, test_skip_reason);
}

/* Checks made before a SKIP still count: the test ran, and its failures fail it. */
#define RUN(fn)                                                                            \
	do {                                                                               \
		int before_ = test_failures, checks_ = test_checks;                        \
		test_current = #fn;                                                        \
		test_skip_reason = NULL;                                                   \
		fn();                                                                      \
		if (test_failures != before_)                                              \
			test_failed_tests++;                                               \
		else if (test_checks == checks_)                                           \
			test_no_checks();                                                  \
		else                                                                       \
			test_passed_tests++;                                               \
	} while (0)

/* Print the tally; non-zero when a test failed or skipped unexpectedly. */
static inline int test_summary(const char *prog)
{
	printf("%s: %d passed, %d failed, %d skipped (%d unexpected)\n", prog, test_passed_tests,
	       test_failed_tests, test_skipped_tests, test_unexpected_skips);
	return test_failed_tests || test_unexpected_skips ? 1 : 0;
}

/* A keyword set of the indices in mask (below 63: no overflow to free),
 * as the pointer mail_store takes: KW(1ULL << k). */
static inline struct kwset test_kw(uint64_t mask)
{
	struct kwset s = KWSET_EMPTY;
	kwset_from_low(&s, mask & ~(1ULL << 63));
	return s;
}
#define KW(mask) (&(struct kwset){test_kw(mask).w})

#endif
