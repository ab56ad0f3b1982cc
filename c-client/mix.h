/* mix.h: UW's mix format as pure functions on buffers: the metadata,
 * index and status files ("S<hex8>" sequence line, then records) and the
 * record before each message in a data file; fuzzed by fuzz-mix.c. */
#ifndef CCLIENT_MIX_H
#define CCLIENT_MIX_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "util.h"

#define MIX_META ".mixmeta"
#define MIX_INDEX ".mixindex"
#define MIX_STATUS ".mixstatus"
#define MIX_PREFIX ".mix"

/* UW keeps 30 keyword names (NUSERFLAGS) in a 32-bit mask. */
#define MIX_KEYWORDS 30
/* UW refuses a metadata file of a megabyte or more. */
#define MIX_META_MAX (1024 * 1024 - 1)
/* A data file is not grown past this by an append (UW's MIXDATAROLL). */
#define MIX_DATA_ROLL (1024 * 1024)

/* System flags in a status record (UW's fSEEN ... fDRAFT); MIX_OLD is
 * set once a session has seen the message (it is no longer \Recent). */
enum {
	MIX_SEEN = 0x1,
	MIX_DELETED = 0x2,
	MIX_FLAGGED = 0x4,
	MIX_ANSWERED = 0x8,
	MIX_OLD = 0x10,
	MIX_DRAFT = 0x20,
};

struct mix_meta {
	uint32_t seq, validity, last, newfile;
	char *kw[MIX_KEYWORDS];   /* names, NULL past the last */
	unsigned nkw;
};

/* An internal date as the format writes it: yyyymmddhhmmss+zzzz. */
struct mix_date {
	time_t t;                 /* UTC */
	int tz;                   /* minutes east */
};

struct mix_ixrec {
	uint32_t uid;
	struct mix_date date;
	uint32_t size;            /* RFC822.SIZE */
	uint32_t file;            /* data file number (.mix<hex8>, 0: ".mix") */
	uint32_t pos;             /* where the message's record starts */
	uint32_t hoff;            /* from pos to the message text */
	uint32_t hsiz;            /* the message's header, blank line included */
};

struct mix_index {
	uint32_t seq;
	struct mix_ixrec *v;
	size_t n, cap;
};

struct mix_strec {
	uint32_t uid, kw, flags, mod;
};

struct mix_status {
	uint32_t seq;
	struct mix_strec *v;
	size_t n, cap;
};

/* Parse each file. 0, or -1 with a reason in why (static text) when the
 * file is not one UW would accept. Blank lines are skipped (what a crash
 * leaves of an in-place rewrite's padding). An empty file is sequence 0
 * with no records, as UW's create leaves the index and status. */
int mix_meta_parse(const char *p, size_t n, struct mix_meta *m, const char **why);
void mix_meta_free(struct mix_meta *m);
int mix_index_parse(const char *p, size_t n, struct mix_index *ix, const char **why);
void mix_index_free(struct mix_index *ix);
int mix_status_parse(const char *p, size_t n, struct mix_status *st, const char **why);
void mix_status_free(struct mix_status *st);

void mix_meta_format(struct buf *b, const struct mix_meta *m);
void mix_index_format(struct buf *b, const struct mix_index *ix);
void mix_status_format(struct buf *b, const struct mix_status *st);
void mix_seq_format(struct buf *b, uint32_t seq);
void mix_ixrec_format(struct buf *b, const struct mix_ixrec *r);
void mix_strec_format(struct buf *b, const struct mix_strec *r);

void mix_index_add(struct mix_index *ix, const struct mix_ixrec *r);
void mix_status_add(struct mix_status *st, const struct mix_strec *r);
/* The record of uid (the records are in UID order), or NULL. */
struct mix_strec *mix_status_find(struct mix_status *st, uint32_t uid);
/* The record of uid, made (no flags, in UID order) when there is none. */
struct mix_strec *mix_status_get(struct mix_status *st, uint32_t uid);
/* Does the index hold uid? */
int mix_index_has(const struct mix_index *ix, uint32_t uid);

/* The record that precedes a message in a data file; its length. */
size_t mix_msgrec_format(struct buf *b, uint32_t uid, const struct mix_date *d, uint32_t size);
/* Check the record at p (n bytes available) names uid: its length, or 0. */
size_t mix_msgrec_check(const char *p, size_t n, uint32_t uid);

/* An update sequence (and modseq) after old: the time, never going back. */
uint32_t mix_next_seq(uint32_t old, time_t now);

/* The image that replaces, in place, a file of old_len bytes whose new
 * text is b: padded with blank lines to old_len, so a crash before the
 * file is cut leaves no tail of the older text as records. */
void mix_pad(struct buf *b, size_t old_len);

/* Is name a keyword the metadata can hold (an atom, no blank)? */
int mix_keyword_ok(const char *name);
/* The index of keyword name in m (case-insensitive, as IMAP's), added
 * when add is set and there is room; -1 otherwise. */
int mix_meta_keyword(struct mix_meta *m, const char *name, int add);

/* Status bits to mail_api.h's MF_ flags, and back. */
uint32_t mix_flags_to_mf(uint32_t f);
uint32_t mix_flags_from_mf(uint32_t f);

#endif
