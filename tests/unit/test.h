/* test.h: a tiny assertion helper for the unit tests. Each test program
 * defines test functions, calls them through RUN(), and ends with
 * test_summary(), which prints "N passed, N failed" and returns the exit code. */
#ifndef TEST_H
#define TEST_H

#include <stdio.h>
#include <string.h>

static int test_failures, test_checks, test_failed_tests, test_passed_tests;
static const char *test_current;

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

#define RUN(fn)                                                                            \
	do {                                                                               \
		int before_ = test_failures;                                               \
		test_current = #fn;                                                        \
		fn();                                                                      \
		if (test_failures == before_)                                              \
			test_passed_tests++;                                               \
		else                                                                       \
			test_failed_tests++;                                               \
	} while (0)

static inline int test_summary(const char *prog)
{
	printf("%s: %d passed, %d failed\n", prog, test_passed_tests, test_failed_tests);
	return test_failed_tests ? 1 : 0;
}

#endif
