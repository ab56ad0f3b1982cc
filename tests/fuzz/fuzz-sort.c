/* fuzz-sort.c: libFuzzer harness for base subject extraction, the collation
 * key, and the three THREAD algorithms over arbitrary header sets. The input
 * is lines; each five make one message: Subject, Message-ID, References,
 * In-Reply-To, Date. Every forest must hold each message exactly once, with
 * dummies only at the top holding two or more children. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sort.h"
#include "thread.h"

#define MAX_MSGS 64

static volatile int sink;

/* Abort (a crash libFuzzer reports) unless the forest is well formed. */
static void tree_check(const struct thread_tree *t, size_t nmsgs, enum thread_algo algo)
{
	uint8_t *seen = calloc(nmsgs + 1, 1), *visited = calloc(t->n + 1, 1);
	int32_t *stack = calloc(t->n + 1, sizeof *stack);
	size_t sp = 0, found = 0;

	for (int32_t k = t->first; k >= 0; k = t->nodes[k].next)
		stack[sp++] = k;
	while (sp) {
		int32_t k = stack[--sp], kids = 0;
		const struct thread_node *n = &t->nodes[k];

		if (visited[k]++)
			abort();                     /* reached twice: not a forest */
		if (n->msgno) {
			if (n->msgno > nmsgs || seen[n->msgno]++)
				abort();
			found++;
		}
		for (int32_t c = n->child; c >= 0; c = t->nodes[c].next, kids++) {
			if (!t->nodes[c].msgno)
				abort();             /* a dummy below the top */
			if (algo == THREAD_ORDEREDSUBJECT && t->nodes[c].child >= 0)
				abort();             /* ORDEREDSUBJECT has no grandchildren */
			stack[sp++] = c;
		}
		if (!n->msgno && kids < 2)
			abort();                     /* a dummy that should be gone */
	}
	if (found != nmsgs)
		abort();
	free(seen);
	free(visited);
	free(stack);
}

/* Split data into NUL-terminated lines (in lines[], into copy). */
static size_t split_lines(const uint8_t *data, size_t size, char *copy, char **lines,
			  size_t max)
{
	size_t n = 0, start = 0;

	memcpy(copy, data, size);
	copy[size] = '\0';
	for (size_t i = 0; i <= size && n < max; i++) {
		if (i < size && copy[i] != '\n')
			continue;
		copy[i] = '\0';
		lines[n++] = copy + start;
		start = i + 1;
	}
	return n;
}

static void subject_check(const char *s)
{
	struct buf out, key;

	buf_init(&out);
	buf_init(&key);
	sink += sort_base_subject(s, strlen(s), &out);
	sort_collate_key(out.data ? out.data : "", out.len, &key);
	if (out.len && (out.data[0] == ' ' || out.data[out.len - 1] == ' '))
		abort();                             /* steps 2 and 3 trim */
	buf_free(&out);
	buf_free(&key);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *copy = malloc(size + 1), *lines[MAX_MSGS * 5];
	struct thread_msg msgs[MAX_MSGS];
	struct message m = { 0 };
	size_t nl = split_lines(data, size, copy, lines, MAX_MSGS * 5), n = nl / 5;

	for (size_t i = 0; i < nl; i++)
		subject_check(lines[i]);
	for (size_t i = 0; i < n; i++) {
		char **f = lines + 5 * i;

		m.internal_date = (time_t)i * 60;
		msgs[i] = (struct thread_msg){ (uint32_t)(i + 1), sort_sent_date(&m, f[4]),
					       f[0], *f[1] ? f[1] : NULL, *f[2] ? f[2] : NULL,
					       *f[3] ? f[3] : NULL };
	}
	for (int a = THREAD_ORDEREDSUBJECT; a <= THREAD_REFS; a++) {
		struct thread_tree t;

		thread_build((enum thread_algo)a, msgs, n, &t);
		tree_check(&t, n, (enum thread_algo)a);
		thread_tree_free(&t);
	}
	free(copy);
	return 0;
}
