/* search_parse.h: the SEARCH criteria parser of cmd_search.c, exposed so a
 * unit test can drive it without a client session. */
#ifndef IMAPD_SEARCH_PARSE_H
#define IMAPD_SEARCH_PARSE_H

#include "mail_api.h"
#include "parser.h"
#include "search.h"

/* Deepest nesting of parentheses, NOT and OR we accept from a client. */
#define SEARCH_MAX_DEPTH 100

enum search_parse_status {
	SEARCH_PARSE_OK = 0,
	SEARCH_PARSE_BAD = -1,        /* syntax: p->error says why (tagged BAD) */
	SEARCH_PARSE_BADCHARSET = -2, /* NO [BADCHARSET (UTF-8 US-ASCII)] */
};

/* Is charset one whose search strings we take as they are (UTF-8, and
 * US-ASCII, its subset)? SORT and THREAD name it without "CHARSET". */
int imap_charset_ok(const char *charset);

/* Parse "[CHARSET x SP] key *(SP key)" up to the end of the command into a
 * key tree in p->pool. box resolves KEYWORD names (never creating them). */
int imap_search_parse(struct parser *p, struct mailbox *box, struct search_key **out);

/* Does the key tree hold MODSEQ (RFC 7162 3.1.5: the command turns
 * CONDSTORE on, and its answer tells the highest modseq)? */
int imap_search_has_modseq(const struct search_key *k);
/* The highest modseq of the messages set[0..n) (0: none). */
uint64_t imap_top_modseq(const struct mailbox *box, const uint32_t *set, size_t n);

/* Result options of "SEARCH RETURN (...)" (RFC 4731, 5182, 9394) and of
 * "SORT RETURN (...)" (RFC 5267 ESORT). */
enum {
	RET_MIN = 1 << 0,
	RET_MAX = 1 << 1,
	RET_ALL = 1 << 2,
	RET_COUNT = 1 << 3,
	RET_SAVE = 1 << 4,
	RET_PARTIAL = 1 << 5,
	RET_UPDATE = 1 << 6,        /* RFC 5267: keep the result live (context.h) */
	RET_CONTEXT = 1 << 7,       /* RFC 5267 4.2: a hint, nothing to do */
};

struct search_return {
	int given;                  /* RETURN was there: answer with ESEARCH */
	unsigned opts;              /* RET_*; "RETURN ()" means RET_ALL */
	uint32_t first, last;       /* PARTIAL first:last as sent, 1-based */
	int from_end;               /* PARTIAL -first:-last: counted from the end */
	int modseq;                 /* the keys held MODSEQ (RFC 7162 3.1.5): the
				     * answer adds MODSEQ as RFC 4731 3.2 says;
				     * set by whoever parses that key */
};

/* Optional "RETURN" SP "(" [option *(SP option)] ")" SP. Without RETURN
 * nothing is consumed and ret->given is 0. -1 with p->error on bad syntax,
 * an unknown option, or more than one of ALL and PARTIAL. */
int imap_search_return_parse(struct parser *p, struct search_return *ret);

#endif
