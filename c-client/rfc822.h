/* rfc822.h (classic): RFC 822 and MIME helpers of the classic interface. */
#ifndef CLASSIC_RFC822_H
#define CLASSIC_RFC822_H

/* Output in chunks: f(s, text) takes each filled buffer (NUL-ended). */
typedef long (*soutr_t)(void *stream, char *string);
typedef struct rfc822buffer {
	soutr_t f;
	void *s;
	char *beg, *cur, *end;
} RFC822BUFFER;
/* The message writers programs may replace (SET_RFC822OUTPUT...). */
typedef long (*rfc822out_t)(char *tmp, ENVELOPE *env, BODY *body, soutr_t f, void *s,
			    long ok8bit);
typedef long (*rfc822outfull_t)(RFC822BUFFER *buf, ENVELOPE *env, BODY *body, long ok8bit);

#define rfc822_parse_msg(en, bdy, s, i, bs, host, flags) \
	rfc822_parse_msg_full(en, bdy, s, i, bs, host, 0, flags)

void rfc822_parse_msg_full(ENVELOPE **en, BODY **bdy, char *s, unsigned long i, STRING *bs,
			   char *host, unsigned long depth, unsigned long flags);
void rfc822_parse_adrlist(ADDRESS **lst, char *string, char *host);
long rfc822_output_address_list(RFC822BUFFER *buf, ADDRESS *adr, long pretty,
				const char *specials);
long rfc822_output_flush(RFC822BUFFER *buf);
void rfc822_encode_body_7bit(ENVELOPE *env, BODY *body);
void *rfc822_base64(unsigned char *src, unsigned long srcl, unsigned long *len);
unsigned char *rfc822_binary(void *src, unsigned long srcl, unsigned long *len);
unsigned char *rfc822_qprint(unsigned char *src, unsigned long srcl, unsigned long *len);
unsigned char *rfc822_8bit(unsigned char *src, unsigned long srcl, unsigned long *len);
void rfc822_header(char *header, ENVELOPE *env, BODY *body);
void rfc822_write_body_header(char **header, BODY *body);
/* Append adr's address (mailbox@host, quoted where needed) to dest. */
void rfc822_address(char *dest, ADDRESS *adr);
#endif
