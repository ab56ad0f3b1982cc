/* imap_resp.h: the client's parser of IMAP server responses (RFC 9051/3501
 * syntax), pure: bytes in, a tree out, nothing read or written. The reader
 * in imap_client.c gathers one response (its line and the literals inside
 * it, each within bounds) and hands the bytes here. */
#ifndef CCLIENT_IMAP_RESP_H
#define CCLIENT_IMAP_RESP_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "util.h"

/* Deepest parenthesis nesting accepted (BODYSTRUCTURE needs a few). */
#define IMAP_RESP_DEPTH 32

enum imap_item_type { II_ATOM, II_NUMBER, II_STRING, II_NIL, II_LIST };

/* One token of response data; strings are NUL-terminated copies in the
 * pool (len says how many bytes, a literal may hold NULs). */
struct imap_item {
	enum imap_item_type type;
	const char *s;
	size_t len;
	uint64_t num;
	struct imap_item *child;   /* II_LIST: its first item */
	struct imap_item *next;
};

enum imap_resp_kind { IR_TAGGED, IR_UNTAGGED, IR_CONTINUE };

struct imap_resp {
	enum imap_resp_kind kind;
	const char *tag;           /* IR_TAGGED */
	int has_num;               /* "* 3 EXISTS" */
	uint32_t num;
	const char *name;          /* OK NO BAD BYE PREAUTH CAPABILITY EXISTS FETCH ..., upper case */
	const char *code;          /* status responses: the [CODE ...] atom, upper case, or NULL */
	struct imap_item *code_args;
	const char *text;          /* status and continuation responses: the human text */
	struct imap_item *args;    /* data after the name (FETCH: one list) */
};

/* Parse one whole response, p[0..len) without its final CRLF (literals
 * inline as "{n}\r\n" and n bytes). 0, or -1 with *why (a constant). */
int imap_resp_parse(struct pool *pool, const char *p, size_t len, struct imap_resp *out,
		    const char **why);

/* Does this line end in a literal's announcement "{n}" (or "{n+}")? 1 with
 * *n, 0 if not, -1 if it does but n is not a number we accept. */
int imap_resp_literal(const char *line, size_t len, uint64_t *n);

/* Is it a status response of this name ("OK", "NO" ...)? */
int imap_resp_is(const struct imap_resp *r, const char *name);

/* The system flags by their IMAP names (\\Seen ... \\Recent) and MF_ bits. */
struct imap_flag_name {
	const char *name;
	uint32_t flag;
};
#define IMAP_SYSFLAGS 6
extern const struct imap_flag_name imap_sysflags[IMAP_SYSFLAGS];

/* IMAP's date-time "dd-Mon-yyyy hh:mm:ss +zzzz" (unquoted) of t, written
 * in the zone tz_minutes east of UTC (the C locale's month names). */
void imap_date_time(struct buf *out, time_t t, int tz_minutes);

/* Items of a list as text (atoms and strings), or NULL for others. */
const char *imap_item_text(const struct imap_item *it);

#endif
