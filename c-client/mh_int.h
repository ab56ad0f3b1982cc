/* mh_int.h: what the MH driver's files share: mh_dir.c (a folder on disk:
 * its numbered files, .mh_sequences under nmh's lock, the UIDVALIDITY
 * record, delivery) and driver_mh.c (an open folder). Not for front-ends. */
#ifndef CCLIENT_MH_INT_H
#define CCLIENT_MH_INT_H

#include <sys/stat.h>

#include "driver.h"
#include "mh.h"

#define MH_SEQUENCES ".mh_sequences"
/* Our temp files in a folder: dot files, never a message number. */
#define MH_TMP_PREFIX ".imapd-append."

/* A message file found by a scan: its number, and what tells this file
 * from another under the same number later: its inode and birth time (a
 * new file may get a freed inode number, not the same birth; where the
 * file system has no birth time, the change time, which also changes when
 * nmh's anno edits the file in place). */
struct mh_ent {
	uint32_t num;
	uint64_t ino, stamp;
	uint64_t ver;             /* size and mtime: a change of its bytes */
	uint64_t vsize;           /* canonical size when known (the record), or 0 */
};

/* The message files of a folder, by number: regular files of the user. */
struct mh_scan {
	struct mh_ent *v;
	size_t n;
};

/* Is name a message number (decimal, no leading zero)? Sets *num. */
int mh_num_name(const char *name, uint32_t *num);
int mh_scan(int dirfd, struct mh_scan *sc);
void mh_scan_free(struct mh_scan *sc);
/* The UIDVALIDITY of the folder as it is now: the one recorded for it in
 * ~/.imapd-cache, unless a number below the recorded UIDNEXT names a file
 * the record does not know (folder -pack renumbered, or a number was
 * reused after an expunge): then a new, greater one, recorded at once
 * (also for STATUS, so a later look agrees). *uidnext: the UIDNEXT that
 * goes with it; known (if not NULL): the files the record knows, with
 * their sizes, when it still holds. */
uint32_t mh_validity(struct mail_session *s, const char *path, int dirfd,
		     const struct mh_scan *sc, uint32_t *uidnext, struct mh_scan *known);
/* The record's entry for e (the same file), or NULL. */
const struct mh_ent *mh_known(const struct mh_scan *known, const struct mh_ent *e);
/* Record validity, uidnext and the files of sc (with their sizes where
 * known) for the folder at path. */
void mh_state_save(struct mail_session *s, const char *path, uint32_t validity,
		   uint32_t uidnext, const struct mh_scan *sc);

/* .mh_sequences under nmh's default data lock (an fcntl write lock on the
 * file itself; nmh rewrites it in place, so we do too): the locked
 * descriptor, made when absent; -1 with err. Closing it unlocks. */
int mh_seq_lock(int dirfd, struct mail_err *err);
/* Read the locked file. */
void mh_seq_load(int fd, struct mh_seqs *q);
/* Replace the locked file's contents and make them durable. */
int mh_seq_store(int fd, const struct mh_seqs *q, struct mail_err *err);
/* Read it without writing (under a read lock); absent: empty. */
void mh_seq_read(int dirfd, struct mh_seqs *q, struct stat *st);

/* MF_* flags of message num by the sequences. */
uint32_t mh_seq_flags(const struct mh_seqs *q, uint32_t num);
/* Set the flags in mask of message num to those of flags. */
void mh_seq_put_flags(struct mh_seqs *q, uint32_t num, uint32_t flags, uint32_t mask);
/* May a keyword be kept as the sequence of its name? (Not one of the
 * names that stand for flags or that nmh reserves.) */
int mh_keyword_seq_ok(const char *name);
/* Put num in the sequence of keyword name (this spelling's, else one whose
 * name matches but for case, else a new one), or take it out of every one
 * matching but for case: keywords are case-insensitive, nmh's names not. */
void mh_keyword_put(struct mh_seqs *q, const char *name, uint32_t num, int on);

/* Folders. */
int mh_valid(int dirfd, const char *leaf, const struct stat *st);
int mh_create(struct mail_session *s, const char *path, struct mail_err *err);
int mh_remove(struct mail_session *s, const char *path, struct mail_err *err);
int mh_append(struct mail_session *s, const char *path, const struct mail_new *msgs, size_t n,
	      uint32_t *validity_out, uint32_t *uids_out, struct mail_err *err);
/* Delivery in two steps, for COPY: the open message file srcfd into a new
 * temp file of the folder dirfd (a hard link, or a copy of its bytes),
 * its name into tmp; then mh_commit numbers the n temp files (their flags
 * and keywords from msgs, whose text is not used) under the sequences
 * lock, all or none. The caller removes what is left (mh_tmp_discard). */
int mh_put_file(int dirfd, int srcfd, char tmp[64], struct mail_err *err);
int mh_commit(struct mail_session *s, const char *path, int dfd, char (*tmp)[64],
	      const struct mail_new *msgs, size_t n, uint32_t *validity_out, uint32_t *uids_out,
	      struct mail_err *err);
void mh_tmp_discard(int dfd, char (*tmp)[64], size_t n);

#endif
