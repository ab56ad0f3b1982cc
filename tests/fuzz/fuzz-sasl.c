/* fuzz-sasl.c: libFuzzer harness for the SASL server side (PLAIN, LOGIN):
 * the input is a sequence of client lines fed to sasl_step until the
 * exchange ends. Half the time each line is base64-encoded here first, so
 * the decoded-message parsers see arbitrary bytes, not just bad base64. */
#include <stdint.h>
#include <string.h>

#include "sasl.h"

static void b64(const uint8_t *p, size_t n, struct buf *out)
{
	static const char tab[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

	buf_reset(out);
	for (size_t i = 0; i < n; i += 3) {
		uint32_t v = (uint32_t)p[i] << 16;
		if (i + 1 < n)
			v |= (uint32_t)p[i + 1] << 8;
		if (i + 2 < n)
			v |= p[i + 2];
		buf_putc(out, tab[v >> 18 & 63]);
		buf_putc(out, tab[v >> 12 & 63]);
		buf_putc(out, i + 1 < n ? tab[v >> 6 & 63] : '=');
		buf_putc(out, i + 2 < n ? tab[v & 63] : '=');
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sasl_state st;
	struct buf chal, enc;
	struct mail_err err;
	enum sasl_result r = SASL_CONTINUE;
	const uint8_t *p, *end;
	int encode;

	if (size < 1)
		return 0;
	encode = data[0] & 2;
	sasl_begin(&st, data[0] & 1 ? SASL_LOGIN : SASL_PLAIN);
	buf_init(&chal);
	buf_init(&enc);
	p = data + 1;
	end = data + size;
	if (data[0] & 4)   /* no initial response */
		r = sasl_step(&st, NULL, 0, &chal, &err);
	sasl_mech_find("PLAIN");
	for (int lines = 0; r == SASL_CONTINUE && p <= end && lines < 16; lines++) {
		const uint8_t *nl = memchr(p, '\n', (size_t)(end - p));
		size_t n = (size_t)((nl ? nl : end) - p);
		if (encode) {
			b64(p, n, &enc);
			r = sasl_step(&st, enc.data ? enc.data : "", enc.len, &chal, &err);
		} else {
			r = sasl_step(&st, (const char *)p, n, &chal, &err);
		}
		p += n + 1;
	}
	if (r == SASL_DONE && (!st.user || !st.password))
		__builtin_trap();   /* DONE must yield both */
	sasl_end(&st);
	buf_free(&chal);
	buf_free(&enc);
	return 0;
}
