/* search.h: the search program. imapd (or any front-end) builds a tree of
 * struct search_key from the client's criteria; search.c evaluates it over a
 * mailbox. Strings are matched as i;unicode-casemap-style case-insensitive
 * substrings after RFC 2047 / MIME / charset decoding to UTF-8. */
#ifndef CCLIENT_SEARCH_H
#define CCLIENT_SEARCH_H

#include <stdint.h>
#include <time.h>

#include "mail_api.h"

/* "*" in a range, still to be resolved against the mailbox (the largest
 * number in use). Numbers are never 0 (nz-number), so 0 is free for it,
 * and 4294967295 stays an ordinary number. */
#define NUMSET_STAR 0u

/* A set of numbers (message numbers or UIDs); a range holding "*" has it
 * in hi, otherwise lo <= hi. */
struct numset {
	struct numrange {
		uint32_t lo, hi;
	} *r;
	size_t n;
	int saved;     /* "$" (RFC 5182): the saved search result, always UIDs
			* whatever the command, possibly empty (n == 0) */
};

enum search_op {
	SK_ALL,
	SK_AND,        /* kids */
	SK_OR,         /* kids (exactly two) */
	SK_NOT,        /* kids (one) */
	SK_MSGNOS,     /* set */
	SK_UIDS,       /* set */
	SK_FLAGS,      /* all of flags set (and keyword bit if kw >= 0) */
	SK_UNFLAGS,    /* none of flags set (and keyword bit clear if kw >= 0) */
	SK_NEW,        /* RECENT and not SEEN */
	SK_OLD,        /* not RECENT */
	SK_BEFORE, SK_ON, SK_SINCE,                 /* internal date, day granularity */
	SK_SENTBEFORE, SK_SENTON, SK_SENTSINCE,     /* Date: header */
	SK_LARGER, SK_SMALLER,                      /* RFC822.SIZE */
	SK_HEADER,     /* field contains str ("" str: field present) */
	SK_BODY,       /* body text contains str */
	SK_TEXT,       /* header or body contains str */
	SK_OLDER,      /* internal date at least `seconds` ago (RFC 5032) */
	SK_YOUNGER,    /* internal date at most `seconds` ago (RFC 5032) */
	SK_MODSEQ,     /* modseq at least `size` (RFC 7162 MODSEQ) */
	/* RFC 8514: save date (UTC days; the internal date where none is kept) */
	SK_SAVEDBEFORE, SK_SAVEDON, SK_SAVEDSINCE,
	SK_SAVEDATESUPPORTED,   /* the message has a save date */
	/* RFC 8474: the message's EMAILID / THREADID is str */
	SK_EMAILID, SK_THREADID,
};

struct search_key {
	enum search_op op;
	struct search_key *kids;   /* AND/OR/NOT children, linked via next */
	struct search_key *next;
	struct numset set;
	uint32_t flags;
	int keyword;               /* index in box->keywords, or -1 (none); -2: never matches */
	time_t date;               /* BEFORE/ON/SINCE: start of the day, as y/m/d below */
	int year, month, day;      /* the calendar date the client gave */
	uint64_t size;
	uint32_t seconds;          /* OLDER / YOUNGER: the interval */
	char *field;               /* SK_HEADER: field name */
	int address;               /* SK_HEADER on From/To/Cc/Bcc: match the
				    * envelope's addresses (FROM, TO ...) */
	char *str;                 /* search string, UTF-8 */
};

/* Parse an IMAP sequence set ("1:3,5,7:*") from (s, len). 0 ok, -1 bad. */
int numset_parse(struct pool *pool, const char *s, size_t len, struct numset *out);
/* Is n in the set, given the largest number in use (for '*')? */
int numset_contains(const struct numset *set, uint32_t n, uint32_t max);

/* TEXT and BODY first look at a message's stored bytes, where the driver
 * gives them, and parse and decode only messages that may match. 1 by
 * default; the differential tests clear it to get the full search alone. */
extern int search_raw_pretest;

/* Evaluate: fills match[i] (1/0) for message i+1 of box. match has nmsgs
 * entries. Returns 0, or -1 with err filled (e.g. unknown charset). */
int search_run(struct mailbox *box, const struct search_key *key, uint8_t *match,
	       struct mail_err *err);

#endif
