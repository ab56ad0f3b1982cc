/* test-kwset.c: keyword sets (kwset.c): inline indices cost no allocation,
 * high indices spill into the overflow and fall back inline when cleared,
 * and equal/union/minus/xor/next agree across the boundary at 63. */
#include "kwset.h"
#include "test.h"

/* Indices below 63 stay in the word; set, test, clear. */
static void test_inline(void)
{
	struct kwset s = KWSET_EMPTY;
	CHECK(kwset_empty(&s));
	kwset_set(&s, 0);
	kwset_set(&s, 62);
	CHECK((s.w & 1) == 0);
	CHECK(kwset_test(&s, 0) && kwset_test(&s, 62) && !kwset_test(&s, 1));
	CHECK(!kwset_test(&s, 63) && !kwset_test(&s, 500));
	CHECK(kwset_low(&s) == (1ULL | 1ULL << 62));
	kwset_clear(&s, 0);
	kwset_clear(&s, 700);
	CHECK(kwset_count(&s) == 1 && kwset_next(&s, 0) == 62);
	kwset_clear(&s, 62);
	CHECK(kwset_empty(&s));
}

/* Index 63 and beyond spill; clearing them goes back inline. */
static void test_overflow(void)
{
	struct kwset s = KWSET_EMPTY;
	kwset_set(&s, 5);
	kwset_set(&s, 150);
	kwset_set(&s, 999);
	CHECK((s.w & 1) == 1);
	CHECK(kwset_test(&s, 5) && kwset_test(&s, 150) && kwset_test(&s, 999));
	CHECK(!kwset_test(&s, 149) && !kwset_test(&s, 1000) && !kwset_test(&s, 64000));
	CHECK(kwset_count(&s) == 3);
	CHECK(kwset_next(&s, 0) == 5 && kwset_next(&s, 6) == 150 && kwset_next(&s, 151) == 999);
	CHECK(kwset_next(&s, 1000) == -1);
	kwset_clear(&s, 150);
	kwset_clear(&s, 999);
	CHECK((s.w & 1) == 0 && kwset_test(&s, 5) && kwset_count(&s) == 1);
	kwset_free(&s);
}

/* Equality holds between sets built in different orders and sizes. */
static void test_equal(void)
{
	struct kwset a = KWSET_EMPTY, b = KWSET_EMPTY;
	CHECK(kwset_equal(&a, &b));
	kwset_set(&a, 3);
	kwset_set(&a, 200);
	kwset_set(&b, 70);
	kwset_set(&b, 3);
	CHECK(!kwset_equal(&a, &b));
	kwset_clear(&b, 70);
	kwset_set(&b, 200);
	CHECK(kwset_equal(&a, &b));
	kwset_clear(&a, 200);
	CHECK(!kwset_equal(&a, &b));
	kwset_clear(&b, 200);
	CHECK(kwset_equal(&a, &b) && a.w == b.w);
	kwset_free(&a);
	kwset_free(&b);
}

/* Union, minus and xor across the inline/overflow boundary. */
static void test_ops(void)
{
	struct kwset a = KWSET_EMPTY, b = KWSET_EMPTY, x = KWSET_EMPTY, c = KWSET_EMPTY;
	kwset_set(&a, 1);
	kwset_set(&a, 63);
	kwset_set(&b, 1);
	kwset_set(&b, 2);
	kwset_set(&b, 130);
	kwset_xor(&x, &a, &b);
	CHECK(kwset_count(&x) == 3 && kwset_test(&x, 2) && kwset_test(&x, 63) && kwset_test(&x, 130));
	kwset_copy(&c, &a);
	kwset_union(&c, &b);
	CHECK(kwset_count(&c) == 4);
	kwset_minus(&c, &b);
	CHECK(kwset_equal(&c, &(struct kwset){0}) == 0 && kwset_count(&c) == 1 && kwset_test(&c, 63));
	kwset_minus(&c, &a);
	CHECK(kwset_empty(&c) && (c.w & 1) == 0);
	struct kwset in = KWSET_EMPTY;
	kwset_set(&in, 1);
	kwset_set(&in, 2);
	kwset_minus(&in, &b);    /* inline minus overflow */
	CHECK(kwset_empty(&in));
	kwset_free(&a);
	kwset_free(&b);
	kwset_free(&x);
	kwset_free(&c);
}

/* The low mask round-trips, bit 63 included. */
static void test_low(void)
{
	struct kwset s = KWSET_EMPTY;
	uint64_t m = 1ULL << 63 | 1ULL << 40 | 1;
	kwset_from_low(&s, m);
	CHECK(kwset_low(&s) == m && kwset_count(&s) == 3 && kwset_test(&s, 63));
	kwset_from_low(&s, 6);
	CHECK(kwset_low(&s) == 6 && (s.w & 1) == 0);
	kwset_free(&s);
}

int main(void)
{
	RUN(test_inline);
	RUN(test_overflow);
	RUN(test_equal);
	RUN(test_ops);
	RUN(test_low);
	return test_summary("test-kwset");
}
