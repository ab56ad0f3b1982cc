/* rfc822_int.h: helpers shared by the message parser's files (rfc822.c,
 * rfc822_addr.c, rfc822_date.c, mime.c, rfc2047.c). Not part of the library's
 * public contract; front-ends use rfc822_api.h only. */
#ifndef CCLIENT_RFC822_INT_H
#define CCLIENT_RFC822_INT_H

#include "rfc822_api.h"

/* One header field as found in a header block. name_len is 0 for a line
 * that is not a field (no colon, or a stray continuation line). raw covers
 * the field with its continuation lines and final line end. */
struct hdr_field {
	const char *name;
	size_t name_len;
	const char *value;     /* after the colon, folded, raw */
	size_t value_len;
	const char *raw;
	size_t raw_len;
};

struct hdr_iter {
	const char *p, *end;
};

void hdr_iter_init(struct hdr_iter *it, const char *hdr, size_t len);
/* Next field; 0 at the empty line that ends the header or at the end. */
int hdr_iter_next(struct hdr_iter *it, struct hdr_field *f);
/* After hdr_iter_next returned 0: where the body starts (past the empty
 * line, or the end). */
const char *hdr_iter_body(const struct hdr_iter *it);
int hdr_name_is(const struct hdr_field *f, const char *name);

/* Unfold a header value into the pool: line ends removed, leading white
 * space skipped, NUL bytes replaced by U+FFFD. */
char *hdr_unfold(struct pool *pool, const char *v, size_t n);

/* Envelope building, one field at a time, then defaults (RFC 3501: sender
 * and reply-to default to from). */
struct env_builder {
	struct envelope *env;
	struct address **from, **sender, **reply_to, **to, **cc, **bcc;   /* list tails */
};
void envelope_begin(struct env_builder *eb, struct envelope *env);
void envelope_add_field(struct pool *pool, struct env_builder *eb, const struct hdr_field *f);
void envelope_finish(struct envelope *env);

/* Transfer decodings, appending to out. */
void base64_decode(const char *s, size_t len, struct buf *out);
void qp_decode(const char *s, size_t len, int underscore_is_space, struct buf *out);

/* Strings produced for malformed addresses (Dovecot's spelling). */
#define ADDR_MISSING_MAILBOX "MISSING_MAILBOX"
#define ADDR_MISSING_DOMAIN "MISSING_DOMAIN"
#define ADDR_SYNTAX_ERROR "SYNTAX_ERROR"

#endif
