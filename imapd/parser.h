/* parser.h: reading IMAP command arguments (RFC 3501 section 9) from one
 * assembled command. Literals arrive inline as "{n}\r\n" + n octets, already
 * read and size-checked by the command reader. Every function returns 0 on
 * success or -1 with p->error set to a reason fit for a tagged BAD. */
#ifndef IMAPD_PARSER_H
#define IMAPD_PARSER_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "search.h"
#include "util.h"

struct parser {
	const char *p, *end;
	struct pool *pool;
	const char *error;
	const struct numset *saved;   /* what "$" stands for (RFC 5182); NULL: empty */
	int utf8;                     /* UTF8=ACCEPT on: names in UTF-8 (mutf7.h), APPEND UTF8 */
	int uidonly;                  /* UIDONLY on: no message numbers in search keys */
	int rev2;                     /* IMAP4rev2 on: no RECENT, NEW, OLD (RFC 9051 9) */
};

void p_init(struct parser *p, const char *s, size_t len, struct pool *pool);
int p_fail(struct parser *p, const char *why);
int p_at_end(const struct parser *p);
int p_peek(const struct parser *p, char c);       /* next char is c (no consume) */
int p_char(struct parser *p, char c);             /* consume c or fail */
int p_sp(struct parser *p);                       /* exactly one space */
int p_end(struct parser *p);                      /* nothing left, else fail */
/* Atom: 1*ATOM-CHAR. */
int p_atom(struct parser *p, char **out);
/* Like an atom but also allows ']' (flag keywords, fetch-att names stop at
 * '[' anyway): used for tokens such as BODY.PEEK or \Seen. */
int p_token(struct parser *p, const char *stops, char **out);
/* Strings (quoted or literal) never hold NUL: they end up as C strings. */
int p_string(struct parser *p, char **out, size_t *len);   /* quoted / literal */
/* A literal of message text: the one string where NUL is allowed. *out
 * points into the input (no copy: a MULTIAPPEND may be large). */
int p_message(struct parser *p, const char **out, size_t *len);
int p_astring(struct parser *p, char **out, size_t *len);
int p_nstring(struct parser *p, char **out, size_t *len);  /* NIL gives NULL */
int p_number(struct parser *p, uint32_t *out);
int p_number64(struct parser *p, uint64_t *out);
int p_nz_number(struct parser *p, uint32_t *out);
/* Mailbox name: astring; "INBOX" in any case becomes "INBOX". With
 * utf8 the UTF-8 name is given in modified UTF-7, as stored. */
int p_mailbox(struct parser *p, char **out);
/* A LIST pattern: astring or list-wildcards atom (% and *); UTF-8 as
 * p_mailbox. */
int p_list_mailbox(struct parser *p, char **out);
/* A sequence set, or "$" alone: a copy of p->saved with out->saved set. */
int p_seqset(struct parser *p, struct numset *out);
/* "(" flag *(SP flag) ")": system flags to *flags, keywords collected in a
 * NULL-terminated array in the pool. \Recent and unknown \-flags rejected
 * when strict. */
int p_flag_list(struct parser *p, uint32_t *flags, char ***keywords, int strict);
/* Map one flag token (\Seen ...) to MF_*; 0 for a keyword; -1 invalid. */
int p_flag_bit(const char *tok, uint32_t *bit);
/* date = "dd-Mon-yyyy" possibly quoted. */
int p_date(struct parser *p, int *year, int *month, int *day);
/* date-time = "dd-Mon-yyyy hh:mm:ss +zzzz" (quoted). */
int p_date_time(struct parser *p, time_t *t, int *tz_minutes);

/* Is there a literal announcement "{n}" or "{n+}" at the end of the line
 * segment seg (len bytes, no CRLF)? Sets *n and *nonsync. */
int p_literal_at_end(const char *seg, size_t len, uint64_t *n, int *nonsync);
/* A character a tag may hold (RFC 3501: ASTRING-CHAR except "+"). */
int p_is_tag_char(unsigned char ch);

/* Seconds since the epoch for y-m-d 00:00 UTC. */
time_t p_days_to_time(int year, int month, int day);

#endif
