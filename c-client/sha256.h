/* sha256.h: SHA-256 (FIPS 180-4) and HMAC-SHA256 (RFC 2104), small and
 * self-contained, for the session's own uses (the mbox folder record's MAC,
 * object ids): calling OpenSSL for them brought its pages into every session
 * that never speaks TLS. */
#ifndef CCLIENT_SHA256_H
#define CCLIENT_SHA256_H

#include <stddef.h>
#include <stdint.h>

#define SHA256_LEN 32
#define SHA256_BLOCK 64

struct sha256 {
	uint32_t h[8];
	uint64_t bytes;                 /* message length so far */
	unsigned char buf[SHA256_BLOCK];
	size_t nbuf;                    /* bytes waiting in buf */
};

void sha256_init(struct sha256 *c);
void sha256_update(struct sha256 *c, const void *p, size_t n);
/* The digest; c is wiped. */
void sha256_final(struct sha256 *c, unsigned char out[SHA256_LEN]);
/* The digest of p[0..n) in one call. */
void sha256(const void *p, size_t n, unsigned char out[SHA256_LEN]);
/* HMAC-SHA256 of msg under key (any length). */
void hmac_sha256(const void *key, size_t klen, const void *msg, size_t n,
		 unsigned char out[SHA256_LEN]);

#endif
