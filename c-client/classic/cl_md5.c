/* cl_md5.c: the classic library's MD5 calls (programs such as mailsync
 * use them for message digests), on OpenSSL's MD5 kept inside the
 * classic context, which is larger and allocated by the program. */
#include <openssl/md5.h>

#include "cl_int.h"

/* The classic context's layout: 120 bytes the program allocates. */
typedef struct {
	unsigned long chigh, clow;
	unsigned long state[4];
	unsigned char buf[64];
	unsigned char *ptr;
} MD5CONTEXT;

_Static_assert(sizeof(MD5_CTX) <= sizeof(MD5CONTEXT), "MD5_CTX fits the classic context");

/* OpenSSL 3 marks the MD5_* calls deprecated; they are the ones that need
 * no allocation, which this caller-allocated context requires. */
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"

void md5_init(MD5CONTEXT *ctx);
void md5_update(MD5CONTEXT *ctx, unsigned char *data, unsigned long len);
void md5_final(unsigned char *digest, MD5CONTEXT *ctx);

void md5_init(MD5CONTEXT *ctx)
{
	MD5_Init((MD5_CTX *)ctx);
}

void md5_update(MD5CONTEXT *ctx, unsigned char *data, unsigned long len)
{
	MD5_Update((MD5_CTX *)ctx, data, len);
}

void md5_final(unsigned char *digest, MD5CONTEXT *ctx)
{
	MD5_Final(digest, (MD5_CTX *)ctx);
}
