/* test-thread.c: the THREAD algorithms (thread.c) on small crafted sets of
 * headers: References chains, loops, missing parents (dummies kept or
 * promoted), duplicate Message-IDs, subject grouping, sibling and thread
 * order, and a reply chain far deeper than any stack would allow. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "thread.h"
#include "test.h"

/* One thread's body in RFC 5256 syntax (without its parentheses). */
static void fmt(const struct thread_tree *t, int32_t k, struct buf *o)
{
	for (;;) {
		const struct thread_node *n = &t->nodes[k];
		int32_t c = n->child;

		if (n->msgno)
			buf_printf(o, "%u", n->msgno);
		if (c < 0)
			return;
		if (n->msgno && t->nodes[c].next < 0) {
			buf_putc(o, ' ');
			k = c;
			continue;
		}
		if (n->msgno)
			buf_putc(o, ' ');
		for (; c >= 0; c = t->nodes[c].next) {
			buf_putc(o, '(');
			fmt(t, c, o);
			buf_putc(o, ')');
		}
		return;
	}
}

/* Thread msgs (their msgno fields numbered 1..n here) and render. */
static const char *thread(enum thread_algo algo, struct thread_msg *msgs, size_t n)
{
	static char out[512];
	struct thread_tree t;
	struct buf o;

	for (size_t i = 0; i < n; i++)
		msgs[i].msgno = (uint32_t)(i + 1);
	thread_build(algo, msgs, n, &t);
	buf_init(&o);
	for (int32_t k = t.first; k >= 0; k = t.nodes[k].next) {
		buf_putc(&o, '(');
		fmt(&t, k, &o);
		buf_putc(&o, ')');
	}
	snprintf(out, sizeof out, "%s", o.data ? o.data : "");
	buf_free(&o);
	thread_tree_free(&t);
	return out;
}

#define REFS(algo, ...)                                                                    \
	thread(algo, (struct thread_msg[]){ __VA_ARGS__ },                                 \
	       sizeof((struct thread_msg[]){ __VA_ARGS__ }) / sizeof(struct thread_msg))

/* A message: date, subject, Message-ID, References, In-Reply-To. */
#define M(d, s, id, refs, irt) { 0, (d), (s), (id), (refs), (irt) }

static void test_refs_chain(void)
{
	CHECK_STR(REFS(THREAD_REFERENCES, M(1, "a", "<a@x>", NULL, NULL),
		       M(2, "Re: a", "<b@x>", "<a@x>", NULL),
		       M(3, "Re: a", "<c@x>", "<a@x> <b@x>", NULL)),
		  "(1 2 3)");
}

static void test_refs_branches_sorted_by_date(void)
{
	/* 3 was sent before 2: siblings go by date, not mailbox order */
	CHECK_STR(REFS(THREAD_REFERENCES, M(1, "a", "<a@x>", NULL, NULL),
		       M(5, "Re: a", "<b@x>", "<a@x>", NULL),
		       M(4, "Re: a", "<c@x>", "<a@x>", NULL)),
		  "(1 (3)(2))");
}

static void test_refs_in_reply_to(void)
{
	/* no References: the first msg-id of In-Reply-To is the parent */
	CHECK_STR(REFS(THREAD_REFERENCES, M(1, "a", "<a@x>", NULL, NULL),
		       M(2, "b", "<b@x>", NULL, "<a@x> <zz@x>")),
		  "(1 2)");
	/* References wins over In-Reply-To */
	CHECK_STR(REFS(THREAD_REFERENCES, M(1, "a", "<a@x>", NULL, NULL),
		       M(2, "b", "<b@x>", NULL, NULL),
		       M(3, "c", "<c@x>", "<b@x>", "<a@x>")),
		  "(1)(2 3)");
}

static void test_refs_msgid_normalized(void)
{
	/* RFC 5256: <"01KF8JCEOCBS0045PS"@xxx.yyy.com> is <01KF8JCEOCBS0045PS@xxx.yyy.com> */
	CHECK_STR(REFS(THREAD_REFERENCES,
		       M(1, "a", "<\"01KF8JCEOCBS0045PS\"@xxx.yyy.com>", NULL, NULL),
		       M(2, "b", "<b@x>", "(a comment) <01KF8JCEOCBS0045PS@xxx.yyy.com>", NULL)),
		  "(1 2)");
}

static void test_refs_missing_parent_dummy(void)
{
	/* two replies to a message we do not have: a dummy holds them */
	CHECK_STR(REFS(THREAD_REFERENCES, M(1, "x", "<b@x>", "<gone@x>", NULL),
		       M(2, "y", "<c@x>", "<gone@x>", NULL)),
		  "((1)(2))");
	/* one reply alone: the dummy goes, the child takes its place */
	CHECK_STR(REFS(THREAD_REFERENCES, M(1, "x", "<b@x>", "<gone@x>", NULL)), "(1)");
	/* a missing message between two we have: the dummy is spliced out */
	CHECK_STR(REFS(THREAD_REFERENCES, M(1, "a", "<a@x>", NULL, NULL),
		       M(2, "Re: a", "<c@x>", "<a@x> <gone@x>", NULL)),
		  "(1 2)");
	/* below a message, a dummy's several children all move up */
	CHECK_STR(REFS(THREAD_REFERENCES, M(1, "a", "<a@x>", NULL, NULL),
		       M(2, "Re: a", "<c@x>", "<a@x> <gone@x>", NULL),
		       M(3, "Re: a", "<d@x>", "<a@x> <gone@x>", NULL)),
		  "(1 (2)(3))");
}

static void test_refs_loops(void)
{
	/* each claims the other as parent: the link that would close the
	 * loop is not made */
	CHECK_STR(REFS(THREAD_REFERENCES, M(1, "a", "<a@x>", "<b@x>", NULL),
		       M(2, "b", "<b@x>", "<a@x>", NULL)),
		  "(2 1)");
	/* a message referring to itself */
	CHECK_STR(REFS(THREAD_REFERENCES, M(1, "a", "<a@x>", "<a@x>", NULL)), "(1)");
	/* a loop inside one References header */
	CHECK_STR(REFS(THREAD_REFERENCES, M(1, "a", "<a@x>", NULL, NULL),
		       M(2, "b", "<b@x>", "<a@x> <q@x> <a@x> <q@x>", NULL)),
		  "(1 2)");
}

static void test_refs_truncated_references_relink(void)
{
	/* message 2's References guess that <b@x> (message 3) answers 1
	 * (step 1A); 3's own References put it under 4 instead (step 1B) */
	CHECK_STR(REFS(THREAD_REFERENCES, M(1, "p", "<a@x>", NULL, NULL),
		       M(3, "q", "<c@x>", "<a@x> <b@x>", NULL),
		       M(2, "r", "<b@x>", "<d@x>", NULL),
		       M(4, "s", "<d@x>", NULL, NULL)),
		  "(1)(4 3 2)");
}

static void test_refs_duplicate_message_id(void)
{
	/* only the first message keeps a Message-ID two share */
	CHECK_STR(REFS(THREAD_REFERENCES, M(1, "a", "<a@x>", NULL, NULL),
		       M(2, "b", "<a@x>", NULL, NULL),
		       M(3, "c", "<c@x>", "<a@x>", NULL)),
		  "(1 3)(2)");
}

static void test_refs_subject_grouping(void)
{
	/* a reply without references joins the thread of its subject */
	CHECK_STR(REFS(THREAD_REFERENCES, M(1, "hello", "<a@x>", NULL, NULL),
		       M(2, "other", "<b@x>", NULL, NULL),
		       M(3, "Re: hello", "<c@x>", NULL, NULL)),
		  "(1 3)(2)");
	/* two originals with one subject: a new dummy over both */
	CHECK_STR(REFS(THREAD_REFERENCES, M(1, "hello", "<a@x>", NULL, NULL),
		       M(2, "HELLO", "<b@x>", NULL, NULL)),
		  "((1)(2))");
	/* the reply came first: the original takes the table, the reply
	 * becomes its child */
	CHECK_STR(REFS(THREAD_REFERENCES, M(1, "Re: hello", "<a@x>", NULL, NULL),
		       M(2, "hello", "<b@x>", NULL, NULL)),
		  "(2 1)");
	/* a dummy thread of the subject takes the others as children */
	CHECK_STR(REFS(THREAD_REFERENCES, M(1, "topic", "<b@x>", "<gone@x>", NULL),
		       M(2, "Re: topic", "<c@x>", "<gone@x>", NULL),
		       M(3, "Re: topic", "<d@x>", NULL, NULL)),
		  "((1)(2)(3))");
	/* empty base subjects never group */
	CHECK_STR(REFS(THREAD_REFERENCES, M(1, "Re:", "<a@x>", NULL, NULL),
		       M(2, "", "<b@x>", NULL, NULL)),
		  "(1)(2)");
}

static void test_refs_threads_sorted_by_first_date(void)
{
	CHECK_STR(REFS(THREAD_REFERENCES, M(9, "a", "<a@x>", NULL, NULL),
		       M(1, "b", "<b@x>", NULL, NULL),
		       M(5, "c", "<c@x>", "<a@x>", NULL)),
		  "(2)(1 3)");
	/* equal dates: mailbox order */
	CHECK_STR(REFS(THREAD_REFERENCES, M(1, "a", "<a@x>", NULL, NULL),
		       M(1, "b", "<b@x>", NULL, NULL)),
		  "(1)(2)");
}

static void test_orderedsubject(void)
{
	/* threads by base subject, each headed by its oldest message with
	 * the rest as its children; threads by their first message's date */
	CHECK_STR(REFS(THREAD_ORDEREDSUBJECT, M(3, "b", NULL, NULL, NULL),
		       M(2, "a", NULL, NULL, NULL), M(1, "Re: a", NULL, NULL, NULL),
		       M(4, "[list] b", NULL, NULL, NULL), M(5, "A", NULL, NULL, NULL)),
		  "(3 (2)(5))(1 4)");
	/* references are ignored */
	CHECK_STR(REFS(THREAD_ORDEREDSUBJECT, M(1, "x", "<a@x>", NULL, NULL),
		       M(2, "y", "<b@x>", "<a@x>", NULL)),
		  "(1)(2)");
}

static void test_refs_algorithm(void)
{
	/* REFS: no subject grouping; threads ordered by their newest message */
	CHECK_STR(REFS(THREAD_REFS, M(1, "hello", "<a@x>", NULL, NULL),
		       M(2, "hello", "<b@x>", NULL, NULL),
		       M(3, "Re: hello", "<c@x>", NULL, NULL),
		       M(10, "Re: hello", "<d@x>", "<a@x>", NULL)),
		  "(2)(3)(1 4)");
	/* the same set by REFERENCES groups the subject */
	CHECK_STR(REFS(THREAD_REFERENCES, M(1, "hello", "<a@x>", NULL, NULL),
		       M(2, "hello", "<b@x>", NULL, NULL),
		       M(3, "Re: hello", "<c@x>", NULL, NULL),
		       M(10, "Re: hello", "<d@x>", "<a@x>", NULL)),
		  "((1 4)(2)(3))");
}

static void test_empty(void)
{
	struct thread_tree t;

	thread_build(THREAD_REFERENCES, NULL, 0, &t);
	CHECK(t.first == -1);
	thread_tree_free(&t);
	CHECK_STR(REFS(THREAD_REFS, M(1, NULL, NULL, NULL, NULL)), "(1)");
}

/* A reply chain 200,000 deep, each naming only its parent: built and
 * walked without recursion, and in time linear in its length. */
static void test_deep_chain(void)
{
	enum { N = 200000 };
	struct thread_msg *m = calloc(N, sizeof *m);
	char (*ids)[24] = calloc(N, sizeof *ids);
	struct thread_tree t;
	size_t depth = 0;
	int32_t k;

	for (int i = 0; i < N; i++) {
		snprintf(ids[i], sizeof ids[i], "<%d@x>", i);
		m[i] = (struct thread_msg){ (uint32_t)(i + 1), i, "deep", ids[i],
					    i ? ids[i - 1] : NULL, NULL };
	}
	thread_build(THREAD_REFERENCES, m, N, &t);
	CHECK(t.first >= 0 && t.nodes[t.first].next < 0);
	for (k = t.first; k >= 0; k = t.nodes[k].child) {
		if (t.nodes[k].msgno != depth + 1)
			break;
		depth++;
	}
	CHECK(depth == N);
	thread_tree_free(&t);
	free(m);
	free(ids);
}

int main(void)
{
	RUN(test_refs_chain);
	RUN(test_refs_branches_sorted_by_date);
	RUN(test_refs_in_reply_to);
	RUN(test_refs_msgid_normalized);
	RUN(test_refs_missing_parent_dummy);
	RUN(test_refs_loops);
	RUN(test_refs_truncated_references_relink);
	RUN(test_refs_duplicate_message_id);
	RUN(test_refs_subject_grouping);
	RUN(test_refs_threads_sorted_by_first_date);
	RUN(test_orderedsubject);
	RUN(test_refs_algorithm);
	RUN(test_empty);
	RUN(test_deep_chain);
	return test_summary("test-thread");
}
