/* fuzz-line-client.c: libFuzzer harness for the line-protocol clients
 * (net_line.c, driver_pop3.c, driver_nntp.c) facing a hostile server,
 * scripted as in fuzz-imap-client (fuzz_server.h). The first byte picks
 * the protocol (even: POP3 "{fuzz/pop3/notls}INBOX", odd: NNTP
 * "{fuzz/nntp/notls}a.b"); the harness opens, fetches every text and
 * envelope, flags, pings, expunges and closes, then runs STATUS and LIST
 * on new connections hearing the same script. The same bytes are also
 * read as a .newsrc file (newsrc.c) and its line rewritten. The client
 * must end cleanly, its memory bounded by what it was sent. */
#include <string.h>

#include "fuzz_server.h"
#include "newsrc.h"

static const char *root;

static void listed(void *ctx, const char *name, int attrs)
{
	if (strncmp(name, root, strlen(root)) || strpbrk(name, "\r\n") ||
	    mail_name_climbs(name + strlen(root)) || strchr(name + strlen(root), '/'))
		abort();   /* every answer named as it can be opened, and never a path */
}

/* The bytes as a .newsrc: ranges sorted and apart, the rewrite keeps them. */
static void newsrc(const uint8_t *data, size_t size)
{
	size_t n, n2;
	struct newsrc_range *r = newsrc_find((const char *)data, size, "a.b", &n);
	struct buf out;

	for (size_t i = 0; i < n; i++)
		if (r[i].lo > r[i].hi || (i && r[i].lo <= r[i - 1].hi + 1))
			abort();
	buf_init(&out);
	newsrc_put((const char *)data, size, "a.b", r, n, &out);
	struct newsrc_range *again = newsrc_find(out.data, out.len, "a.b", &n2);
	if (n2 != n || (n && memcmp(r, again, n * sizeof *r)))
		abort();
	free(again);
	free(r);
	buf_free(&out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct mail_client cl;
	struct mail_session s;
	struct mailbox *box;
	struct mail_err err;
	struct mail_status st;

	if (!size || fuzz_server_begin(&cl, data + 1, size - 1) < 0)
		return 0;
	newsrc(data, size);
	int nntp = data[0] & 1;
	const char *name = nntp ? "{fuzz/nntp/notls}a.b" : "{fuzz/pop3/notls}INBOX";
	root = nntp ? "{fuzz/nntp/notls}" : "{fuzz/pop3/notls}";
	mail_session_init(&s, "fuzz", "/nonexistent", "/nonexistent");
	s.client = &cl;
	if (mail_open(&s, name, 0, NULL, NULL, &box, &err) == 0) {
		fuzz_use_box(box);
		mail_close(box, 0, &err);
	}
	mail_status(&s, name, &st, &err);
	mail_list(&s, root, "*", listed, NULL, &err);
	fuzz_server_end();
	mail_session_free(&s);
	return 0;
}
