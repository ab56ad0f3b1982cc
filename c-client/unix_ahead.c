/* unix_ahead.c: mbox headers read ahead for a fetch of many messages in
 * order. One read lock and one check of the file then serve a run of
 * headers instead of each taking its own (three system calls apiece). */
#include "unix_int.h"

/* Bytes of headers held at most: a run of huge headers stops early. */
#define AHEAD_BYTES (64 * 1024)

void unix_text_forget(struct ubox *ub)
{
	ub->text_uid = 0;
	ub->ahead_n = 0;
	ub->hdr_last = 0;
}

void unix_ahead_fill(struct mailbox *box, uint32_t msgno)
{
	struct ubox *ub = UB(box);

	ub->ahead_n = 0;
	if (ub->ahead.cap > 4 * AHEAD_BYTES) {
		buf_free(&ub->ahead);   /* after a huge header: give it back */
		buf_init(&ub->ahead);
	}
	buf_reset(&ub->ahead);
	/* msgno is 1-based: index msgno is the message after it */
	for (uint32_t i = msgno; i < box->nmsgs && ub->ahead_n < UNIX_AHEAD; i++) {
		const struct umsg *u = UM(box, i);
		/* a message that cannot be read here is fetched alone, where its
		 * error is reported */
		if (ub->ahead.len >= AHEAD_BYTES || u->off < 0 ||
		    unix_read_header(ub, u, &ub->ahead) < 0)
			break;
		ub->ahead_uid[ub->ahead_n] = u->m.uid;
		ub->ahead_end[ub->ahead_n++] = ub->ahead.len;
	}
}

int unix_ahead_find(const struct ubox *ub, uint32_t uid, const char **text, size_t *len)
{
	for (unsigned k = 0; k < ub->ahead_n; k++) {
		if (ub->ahead_uid[k] != uid)
			continue;
		size_t start = k ? ub->ahead_end[k - 1] : 0;
		/* empty headers only: nothing was appended, no buffer yet */
		*text = ub->ahead.data ? ub->ahead.data + start : "";
		*len = ub->ahead_end[k] - start;
		return 1;
	}
	return 0;
}
