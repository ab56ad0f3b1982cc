/* search_parse.h: the SEARCH criteria parser of cmd_search.c, exposed so a
 * unit test can drive it without a client session. */
#ifndef IMAPD_SEARCH_PARSE_H
#define IMAPD_SEARCH_PARSE_H

#include "mail.h"
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

#endif
