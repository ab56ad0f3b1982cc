/* cl_sort.c: classic sorting and threading (mail_sort, mail_thread) over
 * the native sort and thread (RFC 5256, the same answers imapd's SORT and
 * THREAD give), and the classic calls that only a network mailbox can
 * answer (ACL, QUOTA), which say so. */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cl_int.h"

SORTPGM *mail_newsortpgm(void)
{
	return memset(fs_get(sizeof(SORTPGM)), 0, sizeof(SORTPGM));
}

void mail_free_sortpgm(SORTPGM **pgm)
{
	while (*pgm) {
		SORTPGM *next = (*pgm)->next;

		fs_give((void **)pgm);
		*pgm = next;
	}
}

void mail_free_threadnode(THREADNODE **thr)
{
	if (!*thr)
		return;
	mail_free_threadnode(&(*thr)->branch);
	mail_free_threadnode(&(*thr)->next);
	fs_give((void **)thr);
}

/* Which messages spg matches (all when NIL), as a match array. */
static uint8_t *matching(MAILSTREAM *stream, char *charset, SEARCHPGM *spg)
{
	uint8_t *match = fs_get(stream->nmsgs ? stream->nmsgs : 1);

	if (!spg) {
		memset(match, 1, stream->nmsgs);
		return match;
	}
	/* the search marks elt->searched quietly */
	unsigned silent = stream->silent;

	stream->silent = 1;
	if (!mail_search_full(stream, charset, spg, NIL)) {
		stream->silent = silent;
		fs_give((void **)&match);
		return NIL;
	}
	stream->silent = silent;
	for (unsigned long i = 1; i <= stream->nmsgs; i++)
		match[i - 1] = mail_elt(stream, i)->searched;
	return match;
}

/* Message numbers (UIDs with SE_UID) in order, ending with 0; NIL when the
 * mailbox cannot be sorted. The program frees the array with fs_give. */
unsigned long *mail_sort(MAILSTREAM *stream, char *charset, SEARCHPGM *spg, SORTPGM *pgm,
			 long flags)
{
	static const enum clb_sort_key keys[] = {
		[SORTDATE] = CLB_SORT_DATE,       [SORTARRIVAL] = CLB_SORT_ARRIVAL,
		[SORTFROM] = CLB_SORT_FROM,       [SORTSUBJECT] = CLB_SORT_SUBJECT,
		[SORTTO] = CLB_SORT_TO,           [SORTCC] = CLB_SORT_CC,
		[SORTSIZE] = CLB_SORT_SIZE,
	};
	struct clb_box *box = cl_box(stream);
	enum clb_sort_key k[16];
	int rev[16];
	size_t nk = 0, n = 0;
	uint32_t *order = NIL;
	unsigned long *ret = NIL;
	uint8_t *match;
	char err[CLB_ERRLEN];

	for (SORTPGM *p = pgm; p && nk < 16; p = p->next, nk++) {
		if (p->function < SORTDATE || p->function > SORTSIZE) {
			mm_log("Unknown sort function", ERROR);
			return NIL;
		}
		k[nk] = keys[p->function];
		rev[nk] = p->reverse;
	}
	if (!box || !(match = matching(stream, charset, spg)))
		return NIL;
	order = fs_get((stream->nmsgs + 1) * sizeof(*order));
	if (clb_sort(box, k, rev, nk, match, order, &n, err) < 0) {
		cl_error("Can't sort", stream->mailbox, err);
	} else {
		ret = fs_get((n + 1) * sizeof(*ret));
		for (size_t i = 0; i < n; i++)
			ret[i] = (flags & SE_UID) ? mail_uid(stream, order[i]) : order[i];
		ret[n] = 0;
		if (pgm)
			pgm->nmsgs = pgm->progress.sorted = n;
	}
	fs_give((void **)&order);
	fs_give((void **)&match);
	if (flags & SE_FREE)
		mail_free_searchpgm(&spg);
	return ret;
}

/* The classic tree of node i and its siblings. In the classic shape a
 * node's `next` is its first child and `branch` its next sibling. */
static THREADNODE *tree_of(MAILSTREAM *stream, const struct clb_tnode *nodes, int32_t i,
			   long flags)
{
	THREADNODE *head = NIL, **tail = &head;

	for (; i >= 0; i = nodes[i].next) {
		THREADNODE *t = memset(fs_get(sizeof(*t)), 0, sizeof(*t));

		/* 0: a node without a message (REFERENCES' dummy parents) */
		t->num = nodes[i].msgno && (flags & SE_UID) ? mail_uid(stream, nodes[i].msgno)
							    : nodes[i].msgno;
		t->next = tree_of(stream, nodes, nodes[i].child, flags);
		*tail = t;
		tail = &t->branch;
	}
	return head;
}

THREADNODE *mail_thread(MAILSTREAM *stream, char *type, char *charset, SEARCHPGM *spg,
			long flags)
{
	struct clb_box *box = cl_box(stream);
	struct clb_tnode *nodes;
	THREADNODE *ret = NIL;
	size_t n;
	int32_t first;
	int algo;
	uint8_t *match;
	char err[CLB_ERRLEN];

	if (!type || (strcasecmp(type, "ORDEREDSUBJECT") && strcasecmp(type, "REFERENCES"))) {
		mm_log("No such thread type", ERROR);
		return NIL;
	}
	algo = !strcasecmp(type, "REFERENCES");
	if (!box || !(match = matching(stream, charset, spg)))
		return NIL;
	if (clb_thread(box, algo, match, &nodes, &n, &first, err) < 0) {
		cl_error("Can't thread", stream->mailbox, err);
	} else {
		ret = tree_of(stream, nodes, first, flags);
		free(nodes);
	}
	fs_give((void **)&match);
	if (flags & SE_FREE)
		mail_free_searchpgm(&spg);
	return ret;
}

/* ACL and QUOTA are IMAP server commands: no local mailbox has them, and
 * this library has no IMAP driver yet. */
static long server_only(const char *what)
{
	char msg[MAILTMPLEN];

	snprintf(msg, sizeof(msg), "%s is only available on an IMAP server's mailboxes", what);
	mm_log(msg, ERROR);
	return NIL;
}

long imap_setacl(MAILSTREAM *stream, char *mailbox, char *id, char *rights)
{
	return server_only("ACL");
}

long imap_getacl(MAILSTREAM *stream, char *mailbox)
{
	return server_only("ACL");
}

long imap_setquota(MAILSTREAM *stream, char *qroot, STRINGLIST *limits)
{
	return server_only("QUOTA");
}

long imap_getquota(MAILSTREAM *stream, char *qroot)
{
	return server_only("QUOTA");
}

long imap_getquotaroot(MAILSTREAM *stream, char *mailbox)
{
	return server_only("QUOTA");
}
