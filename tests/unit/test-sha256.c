/* test-sha256.c: SHA-256 and HMAC-SHA256 (sha256.c) give the published
 * answers: FIPS 180-4's examples, lengths around the padding boundary,
 * input fed in pieces, and RFC 4231's HMAC cases (a key longer than a
 * block included). */
#include "sha256.h"
#include "test.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The digest as lowercase hex. */
static const char *hex(const unsigned char d[SHA256_LEN])
{
	static char s[2 * SHA256_LEN + 1];

	for (int i = 0; i < SHA256_LEN; i++)
		snprintf(s + 2 * i, 3, "%02x", d[i]);
	return s;
}

static const char *digest(const char *p, size_t n)
{
	unsigned char d[SHA256_LEN];

	sha256(p, n, d);
	return hex(d);
}

/* FIPS 180-4's examples. */
static void test_known_digests(void)
{
	CHECK_STR(digest("abc", 3),
		  "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
	CHECK_STR(digest("", 0),
		  "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
	const char *two = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
	CHECK_STR(digest(two, strlen(two)),
		  "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
}

/* 55, 56 and 64 bytes: the length fits the last block, or needs another. */
static void test_padding_boundaries(void)
{
	char x[64];

	memset(x, 'x', sizeof x);
	CHECK_STR(digest(x, 55),
		  "d5e285683cd4efc02d021a5c62014694958901005d6f71e89e0989fac77e4072");
	CHECK_STR(digest(x, 56),
		  "04c26261370ee7541549d16dee320c723e3fd14671e66a099afe0a377c16888e");
	CHECK_STR(digest(x, 64),
		  "7ce100971f64e7001e8fe5a51973ecdfe1ced42befe7ee8d5fd6219506b5393c");
}

/* A million 'a' in uneven pieces equals the published digest. */
static void test_pieces(void)
{
	struct sha256 c;
	unsigned char d[SHA256_LEN];
	char *a = malloc(1000000);
	size_t at = 0, step = 1;

	memset(a, 'a', 1000000);
	sha256_init(&c);
	while (at < 1000000) {
		size_t n = step < 1000000 - at ? step : 1000000 - at;
		sha256_update(&c, a + at, n);
		at += n;
		step = step * 7 % 997 + 1;
	}
	sha256_final(&c, d);
	free(a);
	CHECK_STR(hex(d), "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

/* RFC 4231 test cases 1, 2 and 6. */
static void test_hmac(void)
{
	unsigned char k[131], d[SHA256_LEN];

	memset(k, 0x0b, 20);
	hmac_sha256(k, 20, "Hi There", 8, d);
	CHECK_STR(hex(d), "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7");
	hmac_sha256("Jefe", 4, "what do ya want for nothing?", 28, d);
	CHECK_STR(hex(d), "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
	const char *m = "Test Using Larger Than Block-Size Key - Hash Key First";
	memset(k, 0xaa, sizeof k);
	hmac_sha256(k, sizeof k, m, strlen(m), d);
	CHECK_STR(hex(d), "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54");
}

int main(void)
{
	RUN(test_known_digests);
	RUN(test_padding_boundaries);
	RUN(test_pieces);
	RUN(test_hmac);
	return test_summary("test-sha256");
}
