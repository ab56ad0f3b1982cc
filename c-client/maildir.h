/* maildir.h: the Maildir formats as pure functions on buffers (file names
 * with their ":2," info, dovecot-uidlist version 3, dovecot-keywords), kept
 * apart from the driver's file handling so they can be fuzzed directly.
 * Every parser takes (pointer, length) and never needs a NUL. */
#ifndef CCLIENT_MAILDIR_H
#define CCLIENT_MAILDIR_H

#include <stddef.h>
#include <stdint.h>

#include "util.h"

/* Keywords a file name can carry: the letters a..z, each an index of
 * dovecot-keywords (Dovecot's limit too). */
#define MD_LETTERS 26

/* The info of a file name ("<base>:2,<chars>") as a set of characters,
 * so that what we do not understand survives a rename untouched and the
 * characters come out sorted, as Maildir wants them. */
struct md_info {
	uint64_t set[2];          /* bit c: ASCII character c (0..127) */
};

/* A message file name taken apart. */
struct md_name {
	size_t base_len;          /* the unique part: up to the first ':' */
	int has_info;             /* ":2," follows the base */
	struct md_info info;
	uint64_t size, vsize;     /* ",S=" and ",W=" of the base; 0: absent */
};

/* Split a file name; -1 for names that are no message (empty, dot files). */
int md_name_parse(const char *name, size_t len, struct md_name *out);
/* MF_* flags and keyword letters (bit i: 'a' + i) the info says. */
uint32_t md_info_flags(const struct md_info *in);
uint32_t md_info_letters(const struct md_info *in);
/* The info with flags and letters replaced, other characters kept. */
struct md_info md_info_with(const struct md_info *in, uint32_t flags, uint32_t letters);
/* Append "<base>:2,<sorted chars>" to b. */
void md_name_format(struct buf *b, const char *base, size_t base_len, const struct md_info *in);

/* One record of dovecot-uidlist: the UID, the extension fields between
 * it and the name (kept as they are when we rewrite) and the base name. */
struct md_rec {
	uint32_t uid;
	const char *ext;
	size_t ext_len;
	const char *base;
	size_t base_len;
};

/* dovecot-uidlist. Pointers refer into the parsed buffer. */
struct md_uidlist {
	unsigned version;
	uint32_t validity, next;
	char guid[33];            /* 32 hex digits, or "" */
	const char *extra;        /* header fields we do not know, kept */
	size_t extra_len;
	struct md_rec *recs;      /* by increasing uid (malloc'd) */
	size_t n;
	struct md_rec **by_base;  /* the same, sorted by base name */
};

/* Parse a uidlist (versions 1 and 3); -1 when the header is unusable.
 * Records out of order or malformed are dropped (their files get new
 * UIDs, as after a lost uidlist). */
int md_uidlist_parse(const char *buf, size_t len, struct md_uidlist *ul);
void md_uidlist_free(struct md_uidlist *ul);
/* Append the version 3 header line of ul to b. */
void md_uidlist_header(struct buf *b, const struct md_uidlist *ul);
/* Append one record line. */
void md_uidlist_record(struct buf *b, uint32_t uid, const char *ext, size_t ext_len,
		       const char *base, size_t base_len);
/* The record of base in ul (a binary search), or NULL. */
const struct md_rec *md_uidlist_find(const struct md_uidlist *ul, const char *base, size_t len);

/* Parse dovecot-keywords ("<index> <name>" lines) into names[] (malloc'd,
 * NULL where no keyword has that index); indexes past the letters, and
 * names that are no IMAP atom, are ignored. Returns how many were set. */
unsigned md_keywords_parse(const char *buf, size_t len, char *names[MD_LETTERS]);
/* Append the file for names[] (NULL entries skipped). */
void md_keywords_format(struct buf *b, char *const names[MD_LETTERS]);

/* Dovecot's subscriptions file: "V\t2", a blank line, then a name a line
 * with a tab where IMAP has the separator '/'. Parse: how many names in
 * *out (malloc'd, each malloc'd). Format skips NULL entries. */
size_t md_subs_parse(const char *buf, size_t len, char ***out);
void md_subs_format(struct buf *b, char *const *names, size_t n);

#endif
