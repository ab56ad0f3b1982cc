/* unix_int.h: what the files of the mbox driver share (driver_unix.c and
 * unix_*.c): the parse of a file, a session's state, the writer's items,
 * the locked file. Private to them; the rest of the library sees only
 * driver_unix. */
#ifndef CCLIENT_UNIX_INT_H
#define CCLIENT_UNIX_INT_H

#include <limits.h>
#include <stdint.h>
#include <sys/stat.h>
#include <time.h>

#include "fsafe.h"
#include "mail_api.h"
#include "unix_index.h"

#define SIGLEN UIDX_SIGLEN
#define UNIX_AHEAD 32          /* headers read ahead under one lock */
#define GEN_HDR "X-IMAP-Gen:"

/* Trust in a folder record: see the top of unix_record.c. */
enum { REC_NONE, REC_LEGACY, REC_MAC };
#define AUTH_HDR "X-IMAP-Auth:"
/* the pseudo message's fixed parts (UW's subject; our text) */
#define PSEUDO_SUBJECT "DON'T DELETE THIS MESSAGE -- FOLDER INTERNAL DATA"
#define PSEUDO_TEXT                                                           \
	"This message holds the IMAP state of this mail folder (UID numbers\n" \
	"and keywords). Mail programs hide it; deleting it resets that state.\n"
#define MAC_HEX 64
#define AUTH_LINE (sizeof AUTH_HDR + 10 + 1 + MAC_HEX + 1)
/* the auth line sits right before "X-IMAP: <validity> ", so its digits are
 * at a fixed distance before uidlast's, and one pwrite updates both */
#define AUTH_BACK ((off_t)(19 + AUTH_LINE - sizeof AUTH_HDR))

/* The frame of the file's messages: mbox From lines, or MMDF's Ctrl-A
 * lines around each message (unix_mmdf.c). The file's first bytes say
 * which, so every reader of a file agrees. */
enum { UF_MBOX, UF_MMDF };
#define MMDF_MARK "\1\1\1\1\n"
#define MMDF_MARK_LEN 5

enum { H_NONE, H_STATUS, H_XSTATUS, H_XKEYWORDS, H_XUID, H_XIMAP, H_XIMAPBASE, H_CLEN, H_XAUTH };

struct kwtab {
	char **names;   /* MAIL_KEYWORDS_MAX slots */
	unsigned *n;
};

/* What one message's header says. */
struct hinfo {
	uint32_t flags, xuid;
	struct kwset kw;     /* X-Keywords (owned until moved into a pmsg) */
	int old;
	int ximap, ximapbase;
	/* folder record from X-IMAP / X-IMAPbase */
	uint32_t validity, last;
	size_t last_off;     /* offset of a 10-digit uidlast in the buffer, or 0 */
	size_t rec_vo, rec_ve;  /* the X-IMAP value in the buffer */
	int auth;            /* a well-formed AUTH_HDR line was seen */
	uint32_t auth_ours;
	size_t auth_off;     /* offset of its digits in the buffer */
	const char *auth_mac;
	uint32_t nq;         /* lines of the form ">+From " */
	int unq;             /* a "From " line inside: we never write one */
};

struct pmsg {
	size_t off;          /* From line, relative to the parsed buffer */
	uint64_t from_len, hdr_len;
	uint64_t body_len, size;
	uint32_t xuid, uid, flags;
	uint32_t fp;         /* From line hash: identity check for unsaved UIDs */
	struct kwset kw;     /* owned: copies of a pmsg are moves */
	int old;
	time_t date;
	int tz;
	uint32_t nq;         /* ">+From " lines, header and body */
	int unq;             /* and "From " lines: then we did not write it */
	int rd;              /* ours and mboxrd: reading unquotes them */
	int plain;           /* the body has no line quoting changes (0: unknown) */
};

/* A message whose body runs on past the window being parsed (file offsets). */
struct pend {
	int active;
	struct pmsg m;       /* what its From line and header say */
	size_t fl, hend;     /* its header, and where the body starts */
	uint64_t hsize;      /* canonical size of the header, blank line included */
	uint32_t hnq;        /* ">+From " lines in the header */
	int hunq;            /* a "From " line in the header */
	uint64_t lf, crlf;   /* line ends in the body so far */
	int quotable;        /* a body line quoting changes was seen */
	size_t stop;         /* the body is scanned up to this line start */
};
/* A window on it starts this many bytes before the stop: an empty line
 * ending there ("\n\r\n" at most) decides whether a From line separates. */
#define PEND_BACK 3

struct parse {
	struct pmsg *m;
	size_t n, cap;
	int have_rec;        /* folder record found */
	uint32_t validity, last;
	size_t last_off;     /* in-place updatable uidlast (0: not possible) */
	int pseudo;          /* first message is the pseudo message */
	uint32_t top;        /* highest UID the file implies */
	const unsigned char *key;  /* the user's key, NULL if none */
	int believe;         /* no key possible: believe an auth line unchecked */
	int all_mine;        /* status headers of every message are believed */
	int trust;           /* REC_*, once rec_trust has decided */
	int rec_mac;         /* the record's MAC verified */
	uint32_t ours;       /* messages with X-UID up to this are ours */
	uint32_t rd_ours;    /* and up to this mboxrd-quoted by us */
	int auth_seen;       /* an auth line, verified or not, said rd_ours */
	size_t auth_off;     /* file offset of the auth digits (0: layout unknown) */
	char *recval;        /* the X-IMAP value, to recompute the MAC */
	size_t recval_len, recval_base;  /* and its length and file offset */
	struct pmsg pm;      /* the pseudo message, shown if the record is not ours */
	int pm_form;         /* and exactly of a record's form: hidden all the same */
	uint32_t lost_validity;  /* a hidden record's UIDVALIDITY, not believed */
	unsigned kw_before;  /* keyword names known before the parse */
	unsigned kw_rec;     /* and after the record's, if there is one */
	int fmt;             /* UF_*: the file's frame */
	struct pend pend;    /* while parsing in windows */
};

/* Bytes [off, off + n) of a file being parsed; *avail: how many there are
 * from off (at least n). NULL: an I/O error. */
typedef const char *(*mbox_get_fn)(void *ctx, off_t off, size_t n, size_t *avail);

struct umsg {
	struct message m;
	off_t off;
	uint64_t from_len, hdr_len;
	uint64_t body_len;
	struct kwset disk_kw;
	uint32_t disk_flags;    /* after disk_kw: no padding, 144 bytes, not 152 */
	uint32_t fp;
	uint32_t nq;
	uint8_t disk_old, disk_uid, rd;
	uint8_t plain;          /* pmsg's plain: a rewrite copies the body unscanned */
};

/* Records are made in blocks, one per batch of messages learnt at once
 * (a whole mailbox at open: one allocation), at least UMSG_BLOCK each. */
#define UMSG_BLOCK 64
#define UMSG_BLOCK_MAX (1u << 20)   /* and at most this many: no size overflows */
struct ublock {
	struct ublock *next;
	size_t used, cap;
	struct umsg u[];
};

struct ubox {
	int fd;                 /* mailbox file for fetch, -1 if none */
	int exists;             /* file existed at last sync */
	dev_t dev;
	ino_t ino;
	off_t size;
	struct timespec mtime;
	char sig[SIGLEN];       /* last bytes before size: detects rewrites */
	int moved;              /* offsets found again after an in-place rewrite, */
	off_t moved_size;       /* for the file as it was then */
	struct timespec moved_mtime;
	size_t siglen;
	int have_rec;           /* the file has our folder record */
	uint32_t rec_last;      /* its uidlast */
	off_t rec_off;          /* where uidlast's 10 digits are, 0: not fixed width */
	unsigned rec_nkw;       /* keywords it lists */
	off_t gen_off;          /* the record's change counter, 0: none */
	uint32_t gen;           /* its value */
	uint32_t counter;       /* highest UID handed out */
	int rec_trust;          /* REC_* of the record */
	uint32_t lost_validity; /* a hidden record's UIDVALIDITY (rec_validity_floor) */
	unsigned char key[UIDX_KEYLEN];
	int keystate;           /* unix_user_key's answer: 1 key, -1 none possible */
	int not_spool;          /* no MTA delivers to this file */
	int renumbered;         /* UIDs differ from what the file implies: write */
	int opening;            /* first sync of the session: the index may serve */
	int claim_known;        /* the \Recent claim (uidx_recent_get) was read */
	uint32_t claim_validity, claim_hw;
	struct win *rwin;       /* mapped window for scan_raw, or NULL */
	struct ublock *blocks;  /* where the message records live */
	uint32_t expect;        /* records about to be added (unix_box_expect) */
	struct buf text;        /* last fetched canonical text */
	struct buf hraw;        /* raw header being canonicalised */
	uint32_t text_uid;
	/* canonical headers of the messages after the last one a FETCH read
	 * in order, read under its lock (unix_ahead.c); keyed by UID */
	struct buf ahead;
	uint32_t ahead_uid[UNIX_AHEAD];
	size_t ahead_end[UNIX_AHEAD];
	unsigned ahead_n;
	uint32_t hdr_last;      /* msgno of the last header fetched, 0: none */
};

#define UB(box) ((struct ubox *)(box)->drvdata)
#define UM(box, i) ((struct umsg *)(box)->msgs[i])

/* A window on the file: sequential readers map a quarter megabyte at a
 * time (populated at once, so all of it is resident), never the whole
 * mailbox, so a session stays small however big the file. */
#define WIN_SIZE ((size_t)1 << 18)

struct win {
	int fd;
	off_t fsize;
	char *map;
	off_t base;
	size_t len;
	int lazy;               /* a mapping past WIN_SIZE is not read in at once */
};

struct wout {
	int fd;
	struct buf b;
	off_t pos;
	off_t kicked;           /* written back up to here (sync_file_range) */
	int failed;
	int fmt;                /* UF_*: the frame written */
};

/* One message to (re)write from a source buffer. */
struct witem {
	off_t src;              /* From line, in the source file */
	uint64_t from_len, hdr_len;
	uint64_t body_len;
	uint32_t flags, uid;
	const struct kwset *kw;  /* the message's (not owned) */
	int old;
	int rd;                 /* already mboxrd-quoted by us */
	int quote;              /* quote it now (not rd yet) */
	int plain;              /* its body has nothing to quote */
	uint32_t nq;            /* its ">+From " lines */
};

/* Where the writer put an item: kept apart from the items, which are made
 * one at a time (a 10,000-message rewrite holds 32 bytes a message, not an
 * array of every item's inputs as well). */
struct wplace {
	off_t off;              /* new From line offset */
	uint64_t hdr_len, body_len;
	uint32_t nq;            /* quoted lines now */
};

struct rewrite {
	int home;               /* home directory: an in-place rewrite's journal */
	uint32_t validity, last;
	char **names;
	unsigned nkw;
	/* item i (0 .. nitems-1, asked for in order) into *it */
	void (*item)(void *ctx, size_t i, struct witem *it);
	void *ctx;
	size_t nitems;
	struct wplace *placed;  /* out: nitems of them */
	struct win *in;         /* the file the items are read from */
	const char *extra;      /* already formatted new messages, or NULL */
	size_t extra_len;
	uint32_t ours;          /* UID of the last message written */
	const unsigned char *key;  /* the user's key, NULL if none */
	int fmt;                /* UF_*: the frame written */
};

struct locked {
	char *dot;
	int fd;
	struct stat st;
	struct fsafe_loc loc;   /* the file's directory: rewrites happen there */
};

/* SYNC_FLUSH writes this session's flag changes, merging others' changes
 * first only when that expunges nothing: legal at the end of FETCH, STORE
 * and SEARCH, where RFC 3501 7.4.1 forbids EXPUNGE responses. */
enum { SYNC_PING, SYNC_WRITE, SYNC_EXPUNGE, SYNC_FLUSH };

/* unix_parse.c: bytes into messages (functions of a buffer) */
int unix_from_line(const char *s, size_t n, time_t *t, int *tz);
int unix_from_depth(const char *s, size_t n);
int unix_internal_hdr(const char *s, size_t n);
int unix_kw_find(struct kwtab *kt, const char *s, size_t len, int add);
uint32_t unix_parse_u32(const char *s, size_t *i, size_t n, int *ok);
size_t hdr_scan(const char *buf, size_t pos, size_t len, struct hinfo *h,
		struct kwtab *kt, size_t *blank);
uint64_t canon_header(const char *h, size_t len, int rd, struct buf *out);
uint32_t unix_hash(const char *p, size_t n);
void unix_parse_free(struct parse *p);
size_t unix_line_end(const char *buf, size_t pos, size_t len);
size_t unix_trailing_blank(const char *buf, size_t start, size_t end);
int mbox_parse(const char *buf, size_t len, int first, int eof, off_t base,
	       struct kwtab *kt, struct parse *out, size_t *used);
void mbox_parse_more(const char *buf, size_t len, int eof, size_t base, struct parse *out,
		     size_t *used);
int mbox_parse_windows(mbox_get_fn get, void *ctx, off_t start, off_t end, size_t win,
		       struct kwtab *kt, struct parse *out);
int assign_uids(struct parse *p, uint32_t prev, uint32_t ulast, uint32_t *counter);
void unix_kw_trim(const struct parse *p, struct kwtab *kt);

/* unix_mmdf.c: the MMDF frame */
size_t unix_mmdf_lead(const char *b, size_t n);
int unix_fd_fmt(int fd);
int unix_frame_done(int fmt, const char *b, size_t n);
int unix_msg_start(const char *b, size_t n);
const char *unix_frame_end(int fmt, size_t *len);
void unix_frame_close(int fmt, const char *tail, size_t n, struct buf *out);
int mmdf_parse(const char *buf, size_t len, int first, int eof, off_t base,
	       struct kwtab *kt, struct parse *out, size_t *used);
void unix_parse_keep(struct parse *out, struct pmsg *m, const struct hinfo *h,
		     int first, const char *buf, off_t base, struct kwtab *kt);

/* unix_record.c: the folder record, its MAC and change counter */
/* Tests: compute record MACs without the kernel's AF_ALG (the fallback). */
extern int rec_hmac_no_kernel;
int rec_mac(const unsigned char *key, const char *val, size_t n, uint32_t ours,
	    char hex[MAC_HEX + 1]);
void rec_verify(struct parse *out, const char *buf, off_t base, const struct hinfo *h);
int unix_user_key(struct mail_session *s, unsigned char key[UIDX_KEYLEN]);
int unix_in_spool(const struct mail_session *s, const char *path);
int unix_record_form(const char *m, size_t n, int mmdf);
uint32_t rec_validity_floor(uint32_t floor, uint32_t hidden);
uint32_t rec_validity(struct mail_session *s, const struct parse *p, time_t ctime, int take);
void rec_trust(struct parse *p, struct mail_session *s, const char *path,
	       int keystate);
int unix_gen_find(int fd, off_t *off, uint32_t *val);
int unix_gen_moved(const struct ubox *ub, int fd);
int rec_reread(int fd, int ks, const unsigned char *key, uint32_t *ours, uint32_t *last);
int rec_bumpable(const struct parse *p);
int rec_bump(int fd, const struct parse *p, const unsigned char *key, uint32_t last);

/* unix_file.c: the file, locked and read in windows */
void win_init(struct win *w, int fd, off_t fsize);
void win_drop(struct win *w);
const char *win_get(struct win *w, off_t off, size_t n, size_t *avail);
int mbox_parse_fd(int fd, off_t start, off_t end, int ks, const unsigned char *key,
		  struct kwtab *kt, struct parse *out);
int lk_open(struct mail_session *sess, const char *path, int write, struct locked *lk,
	    struct mail_err *err);
void lk_close(struct locked *lk, int keep_fd);
int unix_path_stat(struct mail_session *sess, const char *path, struct stat *st,
	      struct mail_err *err);

/* unix_write.c: status lines, new messages, rewrites */
void unix_wflush(struct wout *w);
void unix_status_value(struct buf *o, int id, uint32_t flags, const struct kwset *kw, int old,
		  char **names, unsigned nkw);
off_t write_pseudo(struct wout *w, uint32_t validity, uint32_t last, char **names,
		   unsigned nkw, uint32_t ours, const unsigned char *key, uint32_t gen);
void format_new(struct buf *o, int fmt, const char *user, const struct mail_new *m,
		uint32_t uid, char **names, unsigned nkw, const struct kwset *kw);
int unix_tmp_name(const char *leaf, char tmp[NAME_MAX + 1]);
int unix_dir_writable(int dirfd);
int mbox_rewrite(int dirfd, const char *leaf, const char *path, const struct stat *st,
		 struct rewrite *rw, off_t *rec_last_off, struct mail_err *err);

/* driver_unix.c: the mapped window scan_raw reads through, dropped when
 * the session's file changes */
void unix_raw_drop(struct ubox *ub);
/* Forget the texts held for fetches (the file or the numbering changed). */
void unix_text_forget(struct ubox *ub);
/* Append u's canonical header, read from ub->fd, to t. -1 if the file
 * does not hold the message there (nothing appended). */
int unix_read_header(struct ubox *ub, const struct umsg *u, struct buf *t);
/* Under the fetch lock: read ahead the headers after message msgno. */
void unix_ahead_fill(struct mailbox *box, uint32_t msgno);
/* The header of uid if it was read ahead: 1 with text and len set. */
int unix_ahead_find(const struct ubox *ub, uint32_t uid, const char **text, size_t *len);

/* unix_inplace.c: flag changes over the status lines */
int inplace_update(struct mailbox *box, struct locked *lk, int mode);

/* unix_sync.c: a session and its file (SYNC_* modes) */
int unix_same_msg(const struct umsg *u, const struct pmsg *m);
int unix_flags_dirty(const struct umsg *u);
int unix_box_dirty(struct mailbox *box);
int unix_sync(struct mailbox *box, int mode, const uint32_t *uids, size_t nuids,
	      struct mail_err *err);

/* driver_unix.c: entry points driver_mmdf.c shares (the file tells its frame) */
int unix_open(struct mailbox *box, struct mail_err *err);
void unix_close(struct mailbox *box);
int unix_ping(struct mailbox *box, struct mail_err *err);
int unix_check(struct mailbox *box, struct mail_err *err);
int unix_flush(struct mailbox *box, struct mail_err *err);
int unix_expunge(struct mailbox *box, const uint32_t *uids, size_t nuids, struct mail_err *err);
int unix_fetch(struct mailbox *box, uint32_t msgno, const char **text, size_t *len,
	       struct mail_err *err);
int unix_fetch_header(struct mailbox *box, uint32_t msgno, const char **text, size_t *len,
		      struct mail_err *err);
int unix_append(struct mail_session *sess, const char *path, const struct mail_new *msgs,
		size_t n, uint32_t *validity_out, uint32_t *uids_out, struct mail_err *err);
int unix_create_fmt(struct mail_session *sess, const char *path, int fmt, struct mail_err *err);
int unix_status(struct mail_session *sess, const char *path, struct mail_status *st,
		struct mail_err *err);
int unix_watch(struct mailbox *box, int ifd);
int unix_scan_raw(struct mailbox *box, uint32_t first, uint32_t last,
		  void (*fn)(void *ctx, uint32_t msgno, const struct raw_msg *m), void *ctx,
		  struct mail_err *err);
/* The members of struct driver both tables share. */
#define UNIX_FILE_METHODS                                                                 \
	.open = unix_open, .close = unix_close, .ping = unix_ping, .check = unix_check,     \
	.flush = unix_flush, .expunge = unix_expunge, .fetch = unix_fetch,                  \
	.fetch_header = unix_fetch_header, .append = unix_append, .status = unix_status,    \
	.watch = unix_watch, .scan_raw = unix_scan_raw

/* driver_unix.c: the message array and its events */
void unix_box_remove(struct mailbox *box, uint32_t i);
void unix_recent_load(struct mailbox *box);
void unix_recent_claim(struct mailbox *box);
void unix_box_add(struct mailbox *box, const struct pmsg *p);
/* n records are about to be added: their memory is made at once. */
void unix_box_expect(struct mailbox *box, uint32_t n);

#endif
