/* rfc822_api.h: RFC 5322 headers and addresses, MIME structure (RFC 2045-2049),
 * RFC 2047/2231 decoding. Every parser takes (pointer, length) over a message
 * in canonical form (CRLF line ends, as served to clients) and never relies on
 * NUL termination. Results live in the caller's pool. */
#ifndef CCLIENT_RFC822_API_H
#define CCLIENT_RFC822_API_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "util.h"

/* One address, IMAP style. Groups: a start marker has mailbox = group name
 * and host = NULL; the end marker has mailbox = NULL and host = NULL. */
struct address {
	char *personal;   /* display name, raw (encoded words left encoded) */
	char *adl;        /* source route, or NULL */
	char *mailbox;
	char *host;
	struct address *next;
};

/* Header strings are unfolded but otherwise raw; NULL means absent (NIL). */
struct envelope {
	char *date;
	char *subject;
	struct address *from, *sender, *reply_to, *to, *cc, *bcc;
	char *in_reply_to;
	char *message_id;
	int subject_folded;   /* Subject: had continuation lines (Dovecot then
			       * sends the subject as a literal) */
};

struct param {
	char *attr;
	char *value;
	struct param *next;
};

/* A MIME body part. Offsets index the whole message buffer given to
 * rfc822_parse. For the top level, header_* covers the message header. */
struct body {
	char *type;          /* "TEXT", "MULTIPART", ... upper case */
	char *subtype;       /* upper case */
	struct param *params;
	char *id, *description;
	char *encoding;      /* upper case; "7BIT" when absent */
	char *md5;
	char *disposition;   /* NULL when absent */
	struct param *disp_params;
	char **language;     /* NULL-terminated list, or NULL */
	char *location;
	size_t header_off, header_len;  /* MIME header incl. the blank line */
	size_t body_off, body_len;      /* content octets */
	uint32_t lines;                 /* content lines (TEXT, MESSAGE/RFC822) */
	struct body *parts;             /* MULTIPART children */
	struct body *next;              /* next sibling */
	uint32_t nparts;
	struct envelope *env;           /* MESSAGE/RFC822 (and GLOBAL): inner */
	struct body *msg_body;
};

/* Parse a whole message. header_len is the size of the top-level header
 * including the blank line that ends it (or the whole text if none). */
void rfc822_parse(struct pool *pool, const char *msg, size_t len,
		  struct envelope **env, struct body **body);
/* The message's envelope alone, from its header: no MIME fields parsed
 * (FETCH ENVELOPE of every message is the common case, and needs none). */
struct envelope *rfc822_parse_envelope(struct pool *pool, const char *hdr, size_t len);
/* The body structure alone, without the message's own envelope (attached
 * messages still get theirs): for a look at the parts of a message. */
struct body *mime_parse_structure(struct pool *pool, const char *msg, size_t len);
/* The same, calling release(ctx, upto) as its scan for boundaries passes
 * each mime_release_step bytes (half a MB; tests make it small), so the
 * caller may drop msg's memory before upto while a huge message is parsed.
 * The parse may still read a text part's bytes again (to count its lines):
 * only memory that comes back when read again (a file's mapped pages) may
 * be dropped. */
struct body *mime_parse_structure_rel(struct pool *pool, const char *msg, size_t len,
				      void (*release)(void *ctx, size_t upto), void *ctx);
extern size_t mime_release_step;

/* Parse an address list (a header value) into IMAP addresses. */
struct address *rfc822_parse_addresses(struct pool *pool, const char *s, size_t len);

/* Length of the header block (through the empty line) of msg. */
size_t rfc822_header_len(const char *msg, size_t len);

/* Find header field `name` (no colon) in a header block; returns the unfolded
 * value in the pool or NULL. With several instances, the first. */
char *rfc822_header_get(struct pool *pool, const char *hdr, size_t len, const char *name);

/* Header lines whose field names are (or with not=1, are not) in names[].
 * Appends them verbatim to out, then the terminating CRLF (IMAP semantics of
 * BODY[HEADER.FIELDS (...)]). */
void rfc822_header_filter(const char *hdr, size_t len, char *const *names, int nnames,
			  int not, struct buf *out);

/* RFC 5322 date -> UTC time and zone in minutes east. 0 ok, -1 unparseable. */
int rfc822_parse_date(const char *s, size_t len, time_t *t, int *tz_minutes);

/* Decode RFC 2047 encoded words in an unstructured header value to UTF-8,
 * appending to out. Unknown charsets are passed through undecoded. */
void rfc2047_decode(const char *s, size_t len, struct buf *out);

/* Could s[0..len) hold an encoded word ("=?" somewhere)? A memchr for '='
 * per stop: glibc's memmem walks a two-byte needle a byte at a time. */
int rfc2047_present(const char *s, size_t len);

/* Convert text in charset to UTF-8 (appended). -1 if charset unknown. */
int charset_to_utf8(const char *charset, const char *s, size_t len, struct buf *out);

/* Decode a leaf part's content (base64 / quoted-printable, then its charset
 * for TEXT parts) to UTF-8, for searching. */
void mime_decode_text(const char *msg, size_t len, const struct body *part, struct buf *out);

/* IMAP section address: BODY[<part>.<kind> (fields)]. */
enum section_kind {
	SECT_FULL,           /* BODY[] or BODY[1.2]: whole message / part content */
	SECT_HEADER,
	SECT_HEADER_FIELDS,
	SECT_HEADER_FIELDS_NOT,
	SECT_TEXT,
	SECT_MIME,
};

#define SECTION_MAX_DEPTH 32

struct section {
	uint32_t part[SECTION_MAX_DEPTH];
	int nparts;                /* 0: the top-level message */
	enum section_kind kind;
	char **fields;             /* for HEADER.FIELDS(.NOT) */
	int nfields;
};

/* Resolve a section against a parsed message. On success sets *p and *n to the
 * octets (pointing into msg, or into scratch when filtering was needed) and
 * returns 0. A part number that does not exist yields an empty result
 * (RFC 3501 lets the server return NIL or empty), reported by returning 1. */
int mime_section(const char *msg, size_t len, const struct body *root,
		 const struct section *sec, const char **p, size_t *n, struct buf *scratch);
/* The part a section's part numbers name (NULL: none). */
const struct body *mime_section_part(const struct body *root, const struct section *sec);

/* PREVIEW (RFC 8970, preview.c): up to 200 characters of the message's
 * first text part as UTF-8, white space collapsed; nothing when it has
 * none. Appended to out. */
void mime_preview(const char *msg, size_t len, const struct body *root, struct buf *out);

/* Content transfer encodings (mime_cte.c), for BINARY (RFC 3516). */
enum mime_cte { MIME_CTE_IDENTITY, MIME_CTE_BASE64, MIME_CTE_QP, MIME_CTE_UNKNOWN };
/* The encoding named by a body's (upper case) encoding; NULL: 7BIT. */
enum mime_cte mime_cte_of(const char *encoding);
/* Append p decoded to out; -1 for MIME_CTE_UNKNOWN. */
int mime_cte_decode(enum mime_cte cte, const char *p, size_t n, struct buf *out);
/* -1 when the section names a part whose encoding is unknown, else 0. */
int mime_binary_check(const struct body *root, const struct section *sec);
/* A section (SECT_FULL, part numbers only) as BINARY[...] gives it: a leaf
 * part's content decoded (into scratch), anything else as it is. 0; 1 for
 * a part that does not exist (empty); -1 for an unknown encoding. */
int mime_binary_section(const char *msg, size_t len, const struct body *root,
			const struct section *sec, const char **p, size_t *n, struct buf *scratch);

#endif
