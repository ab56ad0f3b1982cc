/* fuzz-deliver.c: libFuzzer harness for what tmail and dmail make of the
 * bytes an MTA hands them (deliver_prepare): the first byte picks the -f
 * sender (none, an address, the null sender), the rest is the input. What
 * is kept must be the input without its framing, behind at most one added
 * Return-Path line, and a From line token must stay one token. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>

#include "deliver.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *senders[] = { NULL, "a@b.example", "<>", "\"x y\"@z" };
	struct deliver_msg m;

	if (size < 1)
		return 0;
	const char *sender = senders[data[0] % 4];
	const char *in = (const char *)data + 1;
	size_t n = size - 1;
	int r = deliver_prepare(in, n, sender, "fuzz", &m);
	if (r != EX_OK) {
		if (r != EX_DATAERR && r != EX_USAGE)
			abort();
		return 0;
	}
	if (!m.text.len || m.text.len > n + 17 + (m.sender ? strlen(m.sender) : 0))
		abort();
	if (m.sender && strpbrk(m.sender, "\r\n"))
		abort();
	for (const char *p = m.from_token; p && *p; p++)
		if ((unsigned char)*p <= ' ' || *p == 0x7f)
			abort();
	/* the stored text is a run of the input, perhaps behind our line */
	const char *t = m.text.data;
	size_t tl = m.text.len;
	if (m.sender) {
		struct buf rp;
		buf_init(&rp);
		buf_printf(&rp, "Return-Path: <%s>", m.sender);
		if (tl >= rp.len && !memcmp(t, rp.data, rp.len)) {
			size_t k = rp.len + (rp.len < tl && t[rp.len] == '\r');
			if (k < tl && t[k] == '\n') {
				t += k + 1;
				tl -= k + 1;
			}
		}
		buf_free(&rp);
	}
	if (!memmem(in, n, t, tl))
		abort();
	deliver_msg_free(&m);
	return 0;
}
