/* sort.h: SORT (RFC 5256; DISPLAYFROM/DISPLAYTO of RFC 5957; MODSEQ of
 * SORT=MODSEQ) and the pieces THREAD shares with it: base subject
 * extraction, the sent date, the collation key, the header fields both read. */
#ifndef CCLIENT_SORT_H
#define CCLIENT_SORT_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "mail_api.h"

enum sort_key {
	SORT_ARRIVAL,
	SORT_CC,
	SORT_DATE,
	SORT_FROM,
	SORT_SIZE,
	SORT_SUBJECT,
	SORT_TO,
	SORT_DISPLAYFROM,
	SORT_DISPLAYTO,
	SORT_MODSEQ,
};

/* One sort criterion; reverse is the REVERSE prefix. */
struct sort_crit {
	enum sort_key key;
	int reverse;
};

/* More criteria than keys exist (each with REVERSE) is never useful. */
#define SORT_MAX_CRITERIA 32

/* The header fields SORT and THREAD read. */
enum sort_field {
	SF_SUBJECT,
	SF_DATE,
	SF_FROM,
	SF_TO,
	SF_CC,
	SF_MESSAGE_ID,
	SF_REFERENCES,
	SF_IN_REPLY_TO,
	SF_COUNT,
};

/* The first instance of each field in mask (bits 1 << SF_*) of message
 * msgno, unfolded, into v[SF_*] (pool strings; NULL when absent). */
int sort_fields_get(struct mailbox *box, uint32_t msgno, unsigned mask, struct pool *pool,
		    char *v[SF_COUNT], struct mail_err *err);

/* RFC 5256 2.1: the base subject of a raw Subject value (encoded words are
 * decoded here) appended to out as UTF-8. Returns 1 when the extraction
 * removed a reply or forward marker (Re:, Fwd:, "(fwd)", "[fwd: ...]"). */
int sort_base_subject(const char *s, size_t len, struct buf *out);

/* RFC 5256 2.2: the Date header's time (NULL or unparsable: the internal
 * date instead). */
time_t sort_sent_date(const struct message *m, const char *date);

/* The collation key of UTF-8 text, i;unicode-casemap's "titlecased
 * canonicalized UTF-8" (RFC 5051 2: titlecase, then every decomposition):
 * keys compare with strcmp. Invalid bytes stay as they are. Appended to out. */
void sort_collate_key(const char *s, size_t len, struct buf *out);

/* Sort the messages whose match[i] is set by the criteria, ties by message
 * number (RFC 5256 3). Writes their message numbers to out (room for
 * box->nmsgs) and the count to *nout. 0, or -1 with err. */
int sort_run(struct mailbox *box, const struct sort_crit *crit, size_t ncrit,
	     const uint8_t *match, uint32_t *out, size_t *nout, struct mail_err *err);

#endif
