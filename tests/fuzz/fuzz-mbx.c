/* fuzz-mbx.c: libFuzzer harness for the mbx format's parser (mbx.h): the
 * input is read as a whole mbx file. The header, written back from its
 * parse, parses to the same values; every message line the walk accepts,
 * written back, parses to the same date, size, flags and UID, and its
 * flags field reads back from where the driver looks for it. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mail_api.h"
#include "mbx.h"

/* The header written back must say what was read. */
static void check_header(const char *p, size_t n)
{
	struct mbx_header a, b;
	char out[MBX_HDRSIZE];

	if (mbx_header_parse(p, n, &a) < 0)
		return;
	if (mbx_header_format(out, &a) == 0) {
		if (mbx_header_parse(out, sizeof out, &b) < 0 || b.validity != a.validity ||
		    b.last_uid != a.last_uid || b.nnames != a.nnames || b.pid != a.pid)
			abort();
		for (unsigned i = 0; i < a.nnames; i++)
			if (strcmp(a.names[i], b.names[i]))
				abort();
		mbx_header_free(&b);
	}
	mbx_header_free(&a);
}

/* One message line: written back, it parses the same; the flags field
 * sits MBX_FLAGS_BACK bytes before the text. */
static void check_rec(void *ctx, size_t off, const struct mbx_rec *r)
{
	const char *file = ctx;
	struct mbx_rec back;
	struct buf b;
	uint32_t kw, sys;

	if (mbx_flags_parse(file + off + r->linelen - MBX_FLAGS_BACK, &kw, &sys) < 0 ||
	    kw != r->kw || sys != r->sys)
		abort();
	buf_init(&b);
	mbx_rec_format(&b, r);
	if (mbx_rec_parse(b.data, b.len, &back) != MBX_REC_OK || back.size != r->size ||
	    back.kw != r->kw || back.sys != r->sys || back.uid != r->uid || back.date != r->date)
		abort();
	buf_free(&b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *p = (const char *)data;
	int status;

	check_header(p, size);
	if (size > MBX_HDRSIZE) {
		size_t end = mbx_walk(p, size, &status, check_rec, (void *)p);
		if (end > size || (status == MBX_REC_OK && end != size))
			abort();
	}
	/* a line alone, without the header before it */
	struct mbx_rec r;
	if (mbx_rec_parse(p, size, &r) == MBX_REC_OK && r.linelen > size)
		abort();
	return 0;
}
