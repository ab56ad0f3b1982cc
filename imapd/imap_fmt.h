/* imap_fmt.h: turning library values into IMAP response syntax
 * (RFC 3501 section 9: nstring, astring, envelope, body structure). */
#ifndef IMAPD_IMAP_FMT_H
#define IMAPD_IMAP_FMT_H

#include <stdint.h>

#include "rfc822_api.h"
#include "util.h"

/* NIL for NULL; a quoted string when every byte allows it; otherwise a
 * literal {n}\r\n<bytes>. */
void imap_put_nstring(struct buf *out, const char *s);
void imap_put_nstring_n(struct buf *out, const char *s, size_t n);
/* Always a string (never NIL): quoted or literal. */
void imap_put_string(struct buf *out, const char *s, size_t n);
/* An atom when the name is a valid atom, else a string (mailbox names). */
void imap_put_astring(struct buf *out, const char *s);
/* A sequence set of the numbers in their order, ascending runs as ranges
 * ("4:7,9,2"): COPYUID pairs two such sets element by element, and an
 * ESORT answer keeps the sort order. Nothing for n == 0. */
void imap_put_seqset(struct buf *out, const uint32_t *nums, size_t n);
void imap_put_envelope(struct buf *out, const struct envelope *env);
/* BODY (extensible = 0) or BODYSTRUCTURE (extensible = 1). */
void imap_put_body(struct buf *out, const struct body *b, int extensible);

#endif
