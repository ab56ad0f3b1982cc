/* modseq.h: the bytes of a mailbox's modseq file (RFC 7162 CONDSTORE and
 * QRESYNC state, kept in the user's index directory for every format): a
 * pure parser and writer, no I/O. mail_modseq.c decides what goes in it. */
#ifndef CCLIENT_MODSEQ_H
#define CCLIENT_MODSEQ_H

#include <stddef.h>
#include <stdint.h>

#include "util.h"

/* Largest modseq file we read; far above what a 10 million message box needs. */
#define MODSEQ_FILE_MAX (512u * 1024 * 1024)
#define MODSEQ_KW_MAX 1000

/* A live message as last seen: its flags (MF_STORABLE bits), keywords
 * (bits of modseq_state.kw while all are below 63; else bit 63 and a hash
 * of them: only compared, never read back), the modseq of its last change
 * and its save date (RFC 8514; seconds, 0: not known, as in a version 1
 * file, or kept by the format itself). */
struct modseq_msg {
	uint32_t uid, flags;
	uint64_t kw, modseq;
	uint64_t saved;
};

/* Expunged UIDs lo..hi, the last of them at modseq. A range may span live
 * UIDs: it is only asked about UIDs that are gone. */
struct modseq_gone {
	uint32_t lo, hi;
	uint64_t modseq;
};

struct modseq_state {
	uint32_t uidvalidity;
	uint32_t uidnext;           /* a UID below it that is not live was expunged */
	uint64_t highest;           /* HIGHESTMODSEQ */
	uint64_t base;              /* when this state began: the expunge modseq of
				     * UIDs no range covers (expunged before it) */
	unsigned nkw;
	char *kw[MODSEQ_KW_MAX];
	struct modseq_msg *msgs;    /* ascending UIDs */
	size_t nmsgs, capmsgs;
	struct modseq_gone *gone;   /* ascending, disjoint */
	size_t ngone, capgone;
};

/* Parse (p, len), the file of mailbox mbox, into a zeroed st. 0, or -1
 * (st left empty) when anything is off: torn, for another mailbox,
 * inconsistent. */
int modseq_parse(const char *p, size_t len, const char *mbox, struct modseq_state *st);
/* The checksum the "s" line holds: of every byte before it, 63 bits.
 * For the tests and the fuzz harness too. */
uint64_t modseq_sum(const char *p, size_t n);
/* The file's bytes for st into out. */
void modseq_write(const struct modseq_state *st, const char *mbox, struct buf *out);
void modseq_free(struct modseq_state *st);

/* The record of uid, or NULL. */
struct modseq_msg *modseq_find(const struct modseq_state *st, uint32_t uid);
/* Add uid (not recorded yet) in its place; returns its record. */
struct modseq_msg *modseq_insert(struct modseq_state *st, uint32_t uid);
/* When uid, not live, was expunged: its range's modseq, else base. */
uint64_t modseq_gone_at(const struct modseq_state *st, uint32_t uid);
/* Is uid in a recorded expunge range? */
int modseq_is_gone(const struct modseq_state *st, uint32_t uid);
/* Record uid's expunge at modseq (above every earlier one); the ranges are
 * merged (max modseq) beyond a bound, which can only say more is gone. */
void modseq_gone_add(struct modseq_state *st, uint32_t uid, uint64_t modseq);
/* The index of keyword name in st, adding it; -1 when st is full. */
int modseq_kw_index(struct modseq_state *st, const char *name);

#endif
