/* fuzz-imap-client.c: libFuzzer harness for the IMAP client as a whole
 * (imap_client.c, driver_imap.c) facing a hostile server: the input is
 * everything the server says, given to the library through the client's
 * connect hook as the far end of a socketpair, and the harness does what a
 * program would: open "{fuzz/notls}INBOX", fetch each message's text and
 * envelope, set a flag, ping, expunge, close; then STATUS, LIST and APPEND
 * on new connections that hear the same script; SEARCH, SORT and THREAD
 * are asked of the server first (imap_push.c reads their answers), and
 * the mailbox is opened a second time (QRESYNC from what the first kept).
 * Whatever the server says,
 * the client must end cleanly, with memory bounded by what it was sent. */
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_server.h"
#include "search.h"
#include "sort.h"
#include "thread.h"

/* Search, sort and thread as a program would; the answers must name
 * messages that exist, and the tree must hold together. */
static void fuzz_push(struct mailbox *box)
{
	struct search_key utf8 = {.op = SK_TEXT, .str = "caf\xc3\xa9", .keyword = -1};
	struct search_key seen = {.op = SK_FLAGS, .flags = MF_SEEN, .keyword = -1, .next = &utf8};
	struct search_key or = {.op = SK_OR, .kids = &seen, .keyword = -1};
	struct sort_crit crit = {SORT_DATE, 1};
	struct thread_tree t;
	struct mail_err err;
	uint8_t *match = xcalloc(box->nmsgs + 1, 1);
	uint32_t *order = xcalloc(box->nmsgs + 1, sizeof *order);
	size_t n = 0;

	search_run(box, &or, match, &err);
	memset(match, 1, box->nmsgs);
	if (sort_run(box, &crit, 1, match, order, &n, &err) == 0)
		for (size_t i = 0; i < n; i++)
			if (order[i] < 1 || order[i] > box->nmsgs)
				abort();
	if (thread_run(box, THREAD_REFERENCES, match, &t, &err) == 0) {
		for (size_t i = 0; i < t.n; i++)
			if (t.nodes[i].msgno > box->nmsgs || t.nodes[i].child >= (int32_t)t.n ||
			    t.nodes[i].next >= (int32_t)t.n)
				abort();
		thread_tree_free(&t);
	}
	free(order);
	free(match);
}

static void listed(void *ctx, const char *name, int attrs)
{
	if (strncmp(name, "{fuzz/notls}", 12))
		abort();   /* every answer is named as it can be opened */
	if (mail_name_climbs(name + 12) || name[12] == '/' || name[12] == '~' ||
	    strpbrk(name, "\r\n"))
		abort();   /* and none may lead a transfer out of its destination */
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct mail_client cl;
	struct mail_session s;
	struct mailbox *box;
	struct mail_err err;
	struct mail_status st;
	struct mail_new m = {.text = "Subject: x\n\nhi\n", .len = 15, .flags = MF_SEEN};
	uint32_t uid;

	if (fuzz_server_begin(&cl, data, size) < 0)
		return 0;
	mail_session_init(&s, "fuzz", "/nonexistent", "/nonexistent");
	s.client = &cl;
	if (mail_open(&s, "{fuzz/notls}INBOX", 0, NULL, NULL, &box, &err) == 0) {
		fuzz_push(box);
		fuzz_use_box(box);
		mail_close(box, 0, &err);
	}
	/* again: what the session kept is resynchronised (QRESYNC) */
	if (mail_open(&s, "{fuzz/notls}INBOX", 0, NULL, NULL, &box, &err) == 0) {
		fuzz_use_box(box);
		mail_close(box, 0, &err);
	}
	mail_status(&s, "{fuzz/notls}INBOX", &st, &err);
	mail_list(&s, "{fuzz/notls}", "*", listed, NULL, &err);
	mail_append(&s, "{fuzz/notls}INBOX", &m, 1, NULL, &uid, &err);
	fuzz_server_end();
	mail_session_free(&s);
	return 0;
}
