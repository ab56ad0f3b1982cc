/* rfc822.c: PLACEHOLDER until the parser lands; every function here is a
 * minimal stand-in so that the library links. Replace wholesale. */
#include "rfc822.h"

#include <string.h>

size_t rfc822_header_len(const char *msg, size_t len)
{
	for (size_t i = 0; i + 3 < len; i++)
		if (!memcmp(msg + i, "\r\n\r\n", 4))
			return i + 4;
	return len;
}

void rfc822_parse(struct pool *pool, const char *msg, size_t len, struct envelope **env,
		  struct body **body)
{
	struct body *b = pool_alloc(pool, sizeof *b);

	*env = pool_alloc(pool, sizeof **env);
	b->type = "TEXT";
	b->subtype = "PLAIN";
	b->encoding = "7BIT";
	b->header_len = rfc822_header_len(msg, len);
	b->body_off = b->header_len;
	b->body_len = len - b->header_len;
	*body = b;
}
