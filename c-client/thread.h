/* thread.h: THREAD (RFC 5256 3): ORDEREDSUBJECT, REFERENCES, and REFS
 * (draft-ietf-morg-inthread: REFERENCES without subject grouping, threads
 * ordered by their newest message). The result is a forest of message
 * numbers; the front-end writes it in the protocol's nested parentheses. */
#ifndef CCLIENT_THREAD_H
#define CCLIENT_THREAD_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "mail_api.h"

enum thread_algo {
	THREAD_ORDEREDSUBJECT,
	THREAD_REFERENCES,
	THREAD_REFS,
};

/* One node of the forest; msgno 0 is a dummy (a top-level node that only
 * holds its children together). child/next: node indices, -1 for none. */
struct thread_node {
	uint32_t msgno;
	int32_t child, next;
};

struct thread_tree {
	struct thread_node *nodes;   /* malloc'd */
	size_t n;
	int32_t first;               /* first top-level node, -1 when empty */
};

/* What threading reads of one message (header values raw and unfolded;
 * NULL when absent). msgno is what the tree reports. */
struct thread_msg {
	uint32_t msgno;
	time_t date;                 /* sent date (sort_sent_date) */
	const char *subject, *message_id, *references, *in_reply_to;
};

/* The next msg-id of s[*pos..len) into out, normalized (quotes,
 * backslashes and white space dropped, so that <"a"@b> is <a@b> as RFC
 * 5256 asks; comments between msg-ids skipped); 1 found, 0 none left. */
int thread_msgid_next(const char *s, size_t len, size_t *pos, struct buf *out);

/* Thread msgs (in mailbox order) into out; free with thread_tree_free. */
void thread_build(enum thread_algo algo, const struct thread_msg *msgs, size_t n,
		  struct thread_tree *out);

/* Thread the messages whose match[i] is set. 0, or -1 with err. */
int thread_run(struct mailbox *box, enum thread_algo algo, const uint8_t *match,
	       struct thread_tree *out, struct mail_err *err);

void thread_tree_free(struct thread_tree *t);

#endif
