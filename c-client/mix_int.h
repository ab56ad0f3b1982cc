/* mix_int.h: what the mix driver's files share (driver_mix.c, the entry
 * points; mix_file.c, the mailbox's files under UW's locks). */
#ifndef CCLIENT_MIX_INT_H
#define CCLIENT_MIX_INT_H

#include "driver.h"
#include "mix.h"

#include <sys/stat.h>

/* One of a mailbox's three files, read under its lock. */
struct mix_file {
	int fd;                   /* -1: not open */
	struct buf data;
	struct stat st;
};

/* The metadata, index and status read together, as UW's readers do: the
 * index locked (shared, or exclusive to change it), then the status. */
struct mix_view {
	struct mix_file fi, fs;
	struct mix_meta meta;
	struct mix_index ix;
	struct mix_status st;
};

/* Open name in dir (a regular file, never through a link, never blocking
 * on a FIFO); -1 with errno. */
int mix_open_in(int dir, const char *name, int flags);
/* flock, waiting (UW waits too), restarting on a signal. */
int mix_flock(int fd, int op);
/* Read the metadata through fd (held open by the caller). */
int mix_meta_read(int fd, const char *mbox, struct mix_meta *m, struct mail_err *err);
/* How mix_view_load locks: each file shared, or exclusive to change it. */
enum { MIX_READ = 0, MIX_STATUS_EX = 1, MIX_ALL_EX = 3 };
/* Open and lock the index and status (lock: MIX_*), read and parse them
 * with the metadata from metafd. */
int mix_view_load(int dir, int metafd, const char *mbox, int lock, struct mix_view *v,
		  struct mail_err *err);
/* Unlock and close what mix_view_load opened, free the parses. */
void mix_view_free(struct mix_view *v);

/* A mailbox reached for one STATUS or APPEND, not opened as a session:
 * its directory, its metadata (flock'd shared to change it, as UW's
 * append holds it) and the view under lock. */
struct mix_oneoff {
	int dir, meta;
	struct mix_view v;
};
int mix_oneoff_open(struct mail_session *s, const char *path, int lock, struct mix_oneoff *o,
		    struct mail_err *err);
void mix_oneoff_close(struct mix_oneoff *o);
/* Replace f's text in place (UW reads these files through descriptors it
 * holds, and locks them: a renamed new file would not be seen): room made
 * first (a full disk fails before anything changes), one write, then cut
 * to length. */
int mix_file_put(int fd, size_t old_len, struct buf *b, const char *mbox, const char *what,
		 struct mail_err *err);
/* Write the metadata m in place through fd. */
int mix_meta_put(int fd, const struct mix_meta *m, const char *mbox, struct mail_err *err);
/* Add b at offset old, the end of fd (room made first); on a failure the
 * file is cut back to old. */
int mix_file_extend(int fd, size_t old, const struct buf *b, const char *mbox, const char *what,
		    struct mail_err *err);
/* Does f start with a sequence line that can be rewritten in place (the
 * form we and UW write)? Else a change rewrites it whole. */
int mix_file_appendable(const struct mix_file *f);
/* Add records to the end of an appendable file, then its new sequence in
 * place (a crash between leaves the records under the old sequence). */
int mix_file_add(struct mix_file *f, const struct buf *recs, uint32_t seq, const char *mbox,
		 const char *what, struct mail_err *err);
/* Give back the space of expunged messages when no other session has the
 * mailbox open (metafd: this session's, held shared, and shared again
 * after). 1 done, 0 not now (shared, or little to gain), -1 with err; the
 * index then names new places: the caller reads it again. */
int mix_burp(int dir, int metafd, const char *mbox, struct mail_err *err);
/* APPEND, CREATE, DELETE and RENAME (mix_append.c). */
int mix_append(struct mail_session *sess, const char *path, const struct mail_new *msgs,
	       size_t n, uint32_t *validity_out, uint32_t *uids_out, struct mail_err *err);
/* Where a COPY's texts are: read(ctx, len, i, out) appends the first len
 * bytes of message i's stored CRLF text to out. */
struct mix_src {
	int (*read)(void *ctx, size_t len, size_t i, struct buf *out, struct mail_err *err);
	void *ctx;
};
/* mix_append, the texts read from src when it is given (COPY between mix
 * mailboxes), with the same order of writes: the index last. */
int mix_append_from(struct mail_session *sess, const char *path, const struct mail_new *msgs,
		    size_t n, const struct mix_src *src, uint32_t *validity_out,
		    uint32_t *uids_out, struct mail_err *err);
int mix_create(struct mail_session *s, const char *path, struct mail_err *err);
int mix_remove(struct mail_session *s, const char *path, struct mail_err *err);
int mix_rename(struct mail_session *s, const char *from, const char *to, struct mail_err *err);
/* The name of data file number n. */
void mix_data_name(char name[32], uint32_t n);

#endif
