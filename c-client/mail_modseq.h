/* mail_modseq.h: how mail.c keeps modseqs for every driver at once
 * (mail_modseq.c). Each mail.c entry point that learns the mailbox state
 * brackets its driver call with begin and end: begin locks and reads the
 * mailbox's modseq file, end compares what the session now sees with it,
 * gives every difference a new modseq and writes the file. */
#ifndef CCLIENT_MAIL_MODSEQ_H
#define CCLIENT_MAIL_MODSEQ_H

#include "mail_api.h"

/* Lock and (re)read the modseq file; nests. -1 when modseqs are not kept
 * for this mailbox (no client asked: mail_modseq_enable; or no usable
 * index directory): every other call is then a no-op. */
int mseq_begin(struct mailbox *box);
/* Record what changed; full: the session's view is fresh from the driver
 * (open, ping, check, expunge), so a message missing is expunged; else
 * only messages this session changed or has not seen are compared. The
 * outermost end writes the file and unlocks. */
void mseq_end(struct mailbox *box, int full);
/* The driver reports message msgno changed by someone else: give it its
 * modseq now, before the front-end hears of it. */
void mseq_event(struct mailbox *box, uint32_t msgno);
/* This session changed msgno's flags: it gets a modseq at the next end. */
void mseq_touch(struct mailbox *box, uint32_t msgno);
void mseq_free(struct mailbox *box);

#endif
