/* fuzz-sasl-client.c: libFuzzer harness for the client SASL mechanisms, the
 * SCRAM server-message parser above all: the first byte picks the mechanism,
 * the rest is the server's challenges (split on LF) fed to sasl_client_step
 * after the initial response. The nonce is fixed ("N") so the fuzzer can
 * extend it and reach the proof and the server-signature check. */
#include <stdint.h>
#include <string.h>

#include "sasl_client.h"

/* Inputs asking for more than 4 digits of PBKDF2 rounds only measure
 * PBKDF2; the cap itself is covered by the unit test. */
static int slow(const uint8_t *p, size_t n)
{
	for (size_t i = 0; i + 2 < n; i++)
		if (p[i] == 'i' && p[i + 1] == '=') {
			size_t d = 0;
			while (i + 2 + d < n && p[i + 2 + d] >= '0' && p[i + 2 + d] <= '9')
				d++;
			if (d > 4)
				return 1;
		}
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct sasl_client_id id = {"", "user", "pencil", "h", 1};
	struct sasl_client s;
	struct buf out;
	struct mail_err err;

	if (size < 1 || slow(data, size))
		return 0;
	if (sasl_client_begin(&s, (enum sasl_cmech)(data[0] % SASLC_COUNT), &id, &err) < 0)
		return 0;
	str_copy(s.nonce, "N", sizeof s.nonce);
	buf_init(&out);
	int r = sasl_client_step(&s, NULL, 0, &out, &err);
	const uint8_t *p = data + 1, *end = data + size;
	for (int steps = 0; p <= end && steps < 8; steps++) {
		const uint8_t *nl = memchr(p, '\n', (size_t)(end - p));
		size_t n = (size_t)((nl ? nl : end) - p);
		buf_reset(&out);
		r = sasl_client_step(&s, (const char *)p, n, &out, &err);
		p += n + 1;
	}
	if (r == 0 && sasl_client_finish(&s, &err) == 0 && s.mech == SASLC_SCRAM_SHA256 &&
	    !s.verified)
		__builtin_trap();   /* accepted a server that never proved itself */
	sasl_client_end(&s);
	buf_free(&out);
	return 0;
}
