/* mail_api.h: the mailbox API the front-ends use. A struct mailbox is an open
 * mailbox ("stream") with its message cache; a struct driver implements one
 * mailbox format behind the vtable below. Front-ends never see a format.
 * Errors are values: functions return 0 on success or -1 with *err filled. */
#ifndef CCLIENT_MAIL_API_H
#define CCLIENT_MAIL_API_H

#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <time.h>

#include "mail_flags.h"
#include "kwset.h"
#include "rfc822_api.h"
#include "util.h"

#define MF_STORABLE (MF_SEEN | MF_ANSWERED | MF_FLAGGED | MF_DELETED | MF_DRAFT)

/* Keywords one mailbox can name: a sane bound on what clients may create
 * (max_keywords in the configuration may set a lower one; formats may hold
 * fewer: mix and mbx 30, Maildir 26). */
#define MAIL_KEYWORDS_MAX 1000

/* Error codes; imapd turns them into response codes ([TRYCREATE] ...). */
enum mail_code {
	MAIL_OK = 0,
	MAIL_FAIL,          /* generic failure; text says why */
	MAIL_NONEXISTENT,   /* mailbox does not exist (APPEND/COPY: TRYCREATE) */
	MAIL_EXISTS,        /* CREATE/RENAME target exists */
	MAIL_NOPERM,        /* permission denied */
	MAIL_BADNAME,       /* name refused (escapes home, bad characters) */
	MAIL_INUSE,         /* locked by someone else for too long */
	MAIL_TOOBIG,
	MAIL_CORRUPT,       /* a mailbox whose data are damaged */
	MAIL_LIMIT,         /* e.g. more keywords than we can store */
	/* specialuse.c */
	MAIL_USEATTR,       /* a special use we do not know or cannot give */
	MAIL_UNKNOWN_CTE,   /* BINARY: an encoding not decoded, or content not storable */
	MAIL_OVERQUOTA,     /* quota.c: over the user's quota (RFC 9208) */
	/* a file in no format we know (or not in the one named): not a
	 * mailbox, and not a damaged one either (issue 11's dummy driver) */
	MAIL_NOTMAILBOX,
};

struct mail_err {
	enum mail_code code;
	char text[256];
};

void mail_err_set(struct mail_err *err, enum mail_code code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* The special uses a folder can have (RFC 6154) that we keep. */
#define MAIL_SPECIAL_N 5

/* Who is logged in and where their mail lives. */
struct mail_session {
	char *user;
	char *home;
	char *spool_dir;          /* INBOX is spool_dir/user */
	int allow_outside_home;   /* absolute names, "..", "~other" allowed */
	/* Directory descriptors every file is reached from (fsafe.h), opened
	 * on first use; anchors_open says they were tried. */
	int home_fd, spool_fd;
	int anchors_open;
	/* Configuration: "inbox" (a path, "~/" for the home, NULL: the spool
	 * file or ~/Maildir when that exists) and "mail_format" (the driver of
	 * new mailboxes, NULL: INBOX's). Set by mail_session_formats. */
	char *inbox_cfg, *format_cfg;
	/* Where INBOX is and which driver serves it, found on first use. When
	 * that driver keeps a namespace of its own (Maildir++: folders inside
	 * the INBOX directory), ns_root is the INBOX path and every other name
	 * lives there. */
	const struct driver *inbox_drv;
	char *inbox_path;
	const char *ns_root;
	/* "inbox_mbox = yes": INBOX is ~/mbox when it exists, and spool mail
	 * is moved into it at each open, ping and check (spool_pull). */
	int inbox_mbox, spool_pull;
	/* "max_keywords": names a client may make a mailbox hold (0: MAIL_KEYWORDS_MAX). */
	unsigned max_keywords;
	/* specialuse.c: the configured special-use folders (NULL: none) and
	 * whether they are made at login. */
	char *special_cfg[MAIL_SPECIAL_N];
	int special_create;
	/* quota.c: limits of the user's quota root, 0: none */
	uint64_t quota_storage, quota_messages;
	/* A client program's hooks for network mailboxes ("{host}name",
	 * net.h). NULL in the daemons: such names are then refused, so no
	 * user can make a server connect anywhere. */
	const struct mail_client *client;
	/* imap_cache.c: the IMAP mailboxes this program closed, for QRESYNC */
	struct imap_cached *imap_cache;
};

struct message {
	uint32_t uid;
	uint32_t flags;           /* MF_* */
	struct kwset keywords;    /* index i: box->keywords[i] */
	time_t internal_date;     /* UTC */
	int tz_minutes;           /* zone of the internal date, minutes east */
	uint64_t size;            /* RFC822.SIZE: octets of the canonical text */
	uint64_t modseq;          /* CONDSTORE (RFC 7162); 0 where a driver keeps none */
	time_t save_date;         /* SAVEDATE (RFC 8514); 0 where the format keeps none */
	/* Parsed structure, filled by mail_fetch_structure on first use. */
	struct pool *pool;
	struct envelope *env;
	struct body *body;
	void *drv;                /* driver's per-message data */
};

/* Events a mailbox reports to its front-end while pinging / expunging. */
struct mail_events {
	void (*exists)(void *ctx, uint32_t nmsgs);
	void (*recent)(void *ctx, uint32_t nrecent);
	void (*expunged)(void *ctx, uint32_t msgno);   /* numbering before removal */
	void (*flags)(void *ctx, uint32_t msgno);      /* changed by another session */
	void (*notice)(void *ctx, const char *text);
};

struct driver;
struct mail_client;

struct mailbox {
	struct mail_session *sess;
	const struct driver *drv;
	char *name;               /* as the client names it; "INBOX" normalized */
	char *path;
	int readonly;
	uint32_t nmsgs;
	struct message **msgs;    /* msgs[i] is message number i+1 */
	uint32_t recent;
	uint32_t uidvalidity, uidnext;
	char *keywords[MAIL_KEYWORDS_MAX];
	unsigned nkeywords;
	int keywords_creatable;   /* PERMANENTFLAGS includes \* */
	unsigned keywords_max;    /* what the format can name; 0: MAIL_KEYWORDS_MAX */
	const struct mail_events *ev;
	void *evctx;
	void *drvdata;
	/* UIDs of the messages whose parsed structure is cached (a ring), so a
	 * FETCH ENVELOPE of a huge mailbox does not hold every parse at once. */
	uint32_t *parsed_ring;
	unsigned parsed_next;
	struct mail_watch *watch; /* inotify state for IDLE (mail.c) */
	/* CONDSTORE (mail_modseq.c): the modseq file's state, and the UID an
	 * expunged event is about (for QRESYNC's VANISHED). */
	struct mseq *mseq;
	uint32_t ev_uid;
};

/* How many parsed message structures a mailbox keeps. */
#define MAIL_PARSED_CACHE 64

/* A message to append (APPEND, COPY). */
struct mail_new {
	const char *text;         /* canonical or LF text; drivers store natively */
	size_t len;
	uint32_t flags;
	char **keywords;          /* names, NULL-terminated, or NULL */
	time_t date;              /* internal date, 0: now */
	int tz_minutes;
	/* Envelope sender, for formats that record it (mbox's From line): one
	 * token, no blanks or controls; "" the null sender; NULL: none known. */
	const char *sender;
};

struct mail_status {
	uint32_t messages, recent, uidnext, uidvalidity, unseen;
	uint64_t size;            /* STATUS=SIZE (RFC 8438): sum of RFC822.SIZE */
};

typedef void (*mail_list_fn)(void *ctx, const char *name, int attrs);

/* Driver flags. */
enum {
	DRV_DIRECTORY = 1 << 0,   /* a mailbox is a directory (maildir, mh, mix) */
	DRV_NESTS = 1 << 1,       /* a mailbox's directory may hold mailboxes (mh) */
	DRV_SAVEDATE = 1 << 2,    /* the format itself records save dates (maildir, mh) */
};

struct search_key;
struct sort_crit;
struct thread_tree;

/* A message as its driver stores it (no From line; line ends and quoting
 * as kept; every line of the canonical text among its lines), given to
 * scan_raw's function. */
struct raw_msg {
	const char *p;
	size_t len;
	/* Optional: the bytes before p + upto need not stay in memory (read
	 * again, they come back from the file), so a message of many MB is
	 * never resident whole while it is scanned. */
	void (*release)(const struct raw_msg *m, size_t upto);
};

struct driver {
	const char *name;         /* as in "#driver.NAME/..." and mail_format */
	const char *alias;        /* another name for it, or NULL */
	unsigned flags;           /* DRV_* */
	/* Is leaf in the directory dirfd, which lstat found as *st (never a
	 * link), a mailbox of this format? Opens without following links. */
	int (*valid)(int dirfd, const char *leaf, const struct stat *st);
	int (*open)(struct mailbox *box, struct mail_err *err);
	void (*close)(struct mailbox *box);
	/* Notice new mail and other sessions' changes; report via box->ev. */
	int (*ping)(struct mailbox *box, struct mail_err *err);
	/* Make flag changes durable. */
	int (*check)(struct mailbox *box, struct mail_err *err);
	/* Optional: make this session's flag changes visible to other sessions
	 * now, without learning (or reporting) theirs. */
	int (*flush)(struct mailbox *box, struct mail_err *err);
	/* Remove \Deleted messages (only those with uids in uids[] when given). */
	int (*expunge)(struct mailbox *box, const uint32_t *uids, size_t nuids, struct mail_err *err);
	/* Canonical text of a message (CRLF, internal headers hidden); valid
	 * until the next call on this mailbox. */
	int (*fetch)(struct mailbox *box, uint32_t msgno, const char **text, size_t *len,
		     struct mail_err *err);
	/* Optional: the canonical header alone, through its blank line (for
	 * ENVELOPE without reading bodies); same lifetime as fetch's text. */
	int (*fetch_header)(struct mailbox *box, uint32_t msgno, const char **text, size_t *len,
			    struct mail_err *err);
	/* Optional: call fn on messages first..last in turn as stored, for
	 * search's pre-test, under one lock. A message it cannot give so is
	 * passed over. The bytes are valid only during fn (a mapped file may
	 * change after). Returns how many messages from first it covered (it
	 * may stop early, after a few MB, so a delivery never waits long for
	 * the lock), -1 on error. */
	int (*scan_raw)(struct mailbox *box, uint32_t first, uint32_t last,
			void (*fn)(void *ctx, uint32_t msgno, const struct raw_msg *m),
			void *ctx, struct mail_err *err);
	/* Append messages atomically (all or none). uids_out may be NULL. */
	int (*append)(struct mail_session *sess, const char *path, const struct mail_new *msgs,
		      size_t n, uint32_t *uidvalidity_out, uint32_t *uids_out, struct mail_err *err);
	int (*create)(struct mail_session *sess, const char *path, struct mail_err *err);
	int (*status)(struct mail_session *sess, const char *path, struct mail_status *st,
		      struct mail_err *err);
	/* Optional, where mail.c's default (for a file: unlink under its
	 * dotlock; rename(2)) is not right for the format. */
	int (*remove)(struct mail_session *sess, const char *path, struct mail_err *err);
	int (*rename)(struct mail_session *sess, const char *from, const char *to,
		      struct mail_err *err);
	/* Optional fast path for COPY into a mailbox (destpath) of the same
	 * format; mail.c otherwise fetches and appends. */
	int (*copy)(struct mailbox *box, const uint32_t *msgnos, size_t n, const char *destpath,
		    uint32_t *uidvalidity_out, uint32_t *uids_out, struct mail_err *err);
	/* Optional namespace of the driver's own, used when INBOX is of this
	 * format (Maildir++ keeps folders inside INBOX as ".a.b"): the path of
	 * a folder name under root (NULL with err if the name cannot be one),
	 * and LIST of the folders under root whose names match pattern. */
	/* Optional: add inotify watches (mail_watch_add in driver.h) on what
	 * changes when the mailbox does, so IDLE wakes without polling. */
	int (*watch)(struct mailbox *box, int ifd);
	char *(*ns_path)(const char *root, const char *name, struct mail_err *err);
	/* (A network driver has ns_list alone: root is "{host}reference".) */
	int (*ns_list)(struct mail_session *sess, const char *root, const char *pattern,
		       mail_list_fn fn, void *ctx, struct mail_err *err);
	/* Optional, with ns_path: the subscription list kept with that
	 * namespace (Dovecot keeps it in the Maildir) instead of
	 * ~/.mailboxlist. read: 0 (an absent list is empty), or -1 with err;
	 * write is given the names to keep, NULL entries skipped. */
	int (*subs_read)(struct mail_session *sess, const char *root, char ***names, size_t *n,
			 struct mail_err *err);
	int (*subs_write)(struct mail_session *sess, const char *root, char *const *names,
			  size_t n, struct mail_err *err);
	/* Optional, where a server can do the work (the imap driver): search,
	 * sort_run's and thread_run's jobs with their arguments; 1 when it
	 * cannot take this one, and the library does it itself. */
	int (*search)(struct mailbox *box, const struct search_key *key, uint8_t *match,
		      struct mail_err *err);
	int (*sort)(struct mailbox *box, const struct sort_crit *crit, size_t ncrit,
		    const uint8_t *match, uint32_t *out, size_t *nout, struct mail_err *err);
	int (*thread)(struct mailbox *box, int algo, const uint8_t *match,
		      struct thread_tree *out, struct mail_err *err);
	/* Optional, for a mailbox whose server tells of changes (IMAP IDLE):
	 * mail_watch_fd's and mail_watch_changed's jobs, instead of inotify. */
	int (*watch_fd)(struct mailbox *box);
	int (*watch_changed)(struct mailbox *box);
};

/* Session setup: copies the strings. */
void mail_session_init(struct mail_session *s, const char *user, const char *home,
		       const char *spool_dir);
void mail_session_free(struct mail_session *s);
struct config;
/* mail_session_init with what the configuration says about mailboxes. */
void mail_session_setup(struct mail_session *s, const char *user, const char *home,
			const struct config *cfg);
/* The configuration keys "inbox" and "mail_format" (either may be NULL). */
void mail_session_formats(struct mail_session *s, const char *inbox, const char *mail_format);
/* The names mail_format accepts, for messages. */
#define MAIL_FORMATS "unix (mbox), maildir, mh, mmdf, mix, mbx"
/* The driver called name (or by its alias), or NULL. */
const struct driver *mail_driver_named(const char *name);

/* Map a client mailbox name to a file path (INBOX -> spool). Refuses names
 * that leave the home directory unless allowed. Returns malloc'd path. */
char *mail_resolve(struct mail_session *s, const char *name, struct mail_err *err);

int mail_open(struct mail_session *s, const char *name, int readonly,
	      const struct mail_events *ev, void *evctx, struct mailbox **out,
	      struct mail_err *err);
/* Save the session's changes (with expunge set, silently remove \Deleted
 * messages first, as CLOSE does). -1 with err when they could not be
 * saved: the mailbox is still open, unchanged on disk. */
int mail_save(struct mailbox *box, int expunge, struct mail_err *err);
/* mail_save, then close: the mailbox is released either way, and -1 with
 * err (which may be NULL) says the changes were lost. */
int mail_close(struct mailbox *box, int expunge, struct mail_err *err);
int mail_ping(struct mailbox *box, struct mail_err *err);
int mail_check(struct mailbox *box, struct mail_err *err);
/* Save this session's flag changes where others see them, never reporting
 * an expunge: for the end of STORE and FETCH, where EXPUNGE may not be sent.
 * When others changed the mailbox, their flags and new messages may be
 * reported; when they expunged, saving waits for the next ping. */
int mail_flush(struct mailbox *box, struct mail_err *err);
int mail_expunge(struct mailbox *box, const uint32_t *uids, size_t nuids, struct mail_err *err);

int mail_fetch_text(struct mailbox *box, uint32_t msgno, const char **text, size_t *len,
		    struct mail_err *err);
/* Parsed envelope and body structure, cached in the message. */
int mail_fetch_structure(struct mailbox *box, uint32_t msgno, struct envelope **env,
			 struct body **body, struct mail_err *err);

/* The canonical header, through its blank line (the whole text where the
 * driver cannot give less); valid as mail_fetch_text's. */
int mail_fetch_header(struct mailbox *box, uint32_t msgno, const char **text, size_t *len,
		      struct mail_err *err);
/* fn on messages first..last as their driver stores them (see struct
 * driver's scan_raw): how many it covered, 0 when the driver keeps no
 * such form, -1 on error. */
int mail_scan_raw(struct mailbox *box, uint32_t first, uint32_t last,
		  void (*fn)(void *ctx, uint32_t msgno, const struct raw_msg *m), void *ctx,
		  struct mail_err *err);
/* The envelope alone: parsed from the header where the driver can give
 * it without the body, cached in the message. */
int mail_fetch_envelope(struct mailbox *box, uint32_t msgno, struct envelope **env,
			struct mail_err *err);

enum mail_store_op { STORE_SET, STORE_ADD, STORE_REMOVE };
/* Change flags/keywords of one message (mark for write-back at check/ping);
 * keywords NULL: none (a change of system flags alone). */
int mail_store(struct mailbox *box, uint32_t msgno, enum mail_store_op op, uint32_t flags,
	       const struct kwset *keywords, struct mail_err *err);
/* Index of keyword name, creating it when create is set; -1 if impossible. */
int mail_keyword(struct mailbox *box, const char *name, int create);
/* How many keyword names a client may make the mailbox hold: the least of
 * its format's limit, the configured max_keywords and MAIL_KEYWORDS_MAX. */
unsigned mail_keywords_max(const struct mailbox *box);
/* The names of m's keywords into out (room for box->nkeywords + 1),
 * NULL-terminated; how many. */
size_t mail_keyword_names(const struct mailbox *box, const struct message *m, char **out);
/* Is name fit to be a keyword (an IMAP atom, no flag backslash)? */
int mail_keyword_valid(const char *name);
/* Does name have a ".." component (a name that climbs out of where it is)? */
int mail_name_climbs(const char *name);
/* Take back the keywords created after the first keep that no message
 * carries (a STORE that could not be saved made them). */
void mail_keyword_forget(struct mailbox *box, unsigned keep);

int mail_copy(struct mailbox *box, const uint32_t *msgnos, size_t n, const char *dest,
	      uint32_t *uidvalidity_out, uint32_t *uids_out, struct mail_err *err);
int mail_append(struct mail_session *s, const char *name, const struct mail_new *msgs, size_t n,
		uint32_t *uidvalidity_out, uint32_t *uids_out, struct mail_err *err);

int mail_create(struct mail_session *s, const char *name, struct mail_err *err);
int mail_delete(struct mail_session *s, const char *name, struct mail_err *err);
int mail_rename(struct mail_session *s, const char *from, const char *to, struct mail_err *err);
int mail_status(struct mail_session *s, const char *name, struct mail_status *st,
		struct mail_err *err);
/* LIST: ref and pattern as in RFC 3501 (% and *). Hierarchy delimiter '/'. */
int mail_list(struct mail_session *s, const char *ref, const char *pattern, mail_list_fn fn,
	      void *ctx, struct mail_err *err);
int mail_subscribe(struct mail_session *s, const char *name, int on, struct mail_err *err);
int mail_lsub(struct mail_session *s, const char *ref, const char *pattern, mail_list_fn fn,
	      void *ctx, struct mail_err *err);
/* The subscribed names (LIST-EXTENDED, listext.c); free with the next. */
int mail_subscriptions(struct mail_session *s, char ***names, size_t *n, struct mail_err *err);
void mail_subscriptions_free(char **names, size_t n);
/* Does name match LIST's ref and pattern (INBOX in any case)? */
int mail_list_match(const char *ref, const char *pattern, const char *name);

/* A descriptor that becomes readable when the mailbox may have changed
 * (new mail, another session's changes), made on first call; -1 when the
 * format cannot say (then poll by pinging). */
int mail_watch_fd(struct mailbox *box);
/* Consume what woke the watch: 1 the mailbox may have changed (ping it),
 * 0 only unrelated activity (another user's spool file). */
int mail_watch_changed(struct mailbox *box);
/* NOTIFY: a watch on a mailbox that is not open (its descriptor polled
 * like mail_watch_fd's, -1 when the format has none); NULL with err when
 * the mailbox cannot be opened. */
struct mail_watch;
struct mail_watch *mail_watch_name(struct mail_session *s, const char *name, struct mail_err *err);
int mail_watch_name_fd(const struct mail_watch *w);
/* Read its events: did the mailbox change? A watch that is lost is
 * made again instead (1 when that worked). */
int mail_watch_name_changed(struct mail_session *s, const char *name, struct mail_watch *w);
/* The mailbox was replaced by one the session could not open (a spool file
 * root made and has not yet given to the user): its watches may no longer
 * see it; the caller retries through mail_watch_name_changed. */
int mail_watch_name_lost(const struct mail_watch *w);
void mail_watch_name_free(struct mail_watch *w);

/* CONDSTORE and QRESYNC (RFC 7162), for every format (mail_modseq.c). */
struct numset;
struct numrange;
/* Keep modseqs for this open mailbox (a client asked for them). They are
 * kept anyway where another session asked before (the modseq file
 * exists), so every session records the changes it sees; a mailbox no
 * one asked about costs nothing. 0, or -1 when none can be kept. */
int mail_modseq_enable(struct mailbox *box);
/* A client asks for save dates (RFC 8514): where the format records none,
 * start keeping them beside the modseqs (mail_modseq_enable), each UID
 * dated when a session first records it. */
void mail_savedate_want(struct mailbox *box);
/* HIGHESTMODSEQ of the open mailbox; 0 when none can be kept (NOMODSEQ). */
uint64_t mail_highestmodseq(struct mailbox *box);
/* Message msgno's modseq, or a later one another session recorded. */
uint64_t mail_modseq_of(struct mailbox *box, uint32_t msgno);
/* Keep other sessions from changing modseqs between a check and a STORE
 * (UNCHANGEDSINCE); release gives the changes made meanwhile modseqs.
 * -1: no modseqs are kept. */
int mail_modseq_hold(struct mailbox *box);
void mail_modseq_release(struct mailbox *box);
/* VANISHED (EARLIER): the UIDs below UIDNEXT, in set (sorted out or NULL:
 * all), that are not in the mailbox and were expunged after modseq, as
 * ascending ranges (*out malloc'd); returns how many ranges. */
size_t mail_vanished(struct mailbox *box, uint64_t modseq, const struct numset *set,
		     struct numrange **out);
/* HIGHESTMODSEQ for STATUS: the mailbox compared with its record first. */
int mail_status_modseq(struct mail_session *s, const char *name, uint64_t *highest,
		       struct mail_err *err);

/* Current message number of uid, or 0 if it is not (or no longer) there. */
uint32_t mail_msgno(const struct mailbox *box, uint32_t uid);
/* The index (0-based) of the first message whose UID is uid or more;
 * nmsgs when there is none. */
uint32_t mail_uid_lower(const struct mailbox *box, uint32_t uid);

/* RFC 3501 LIST wildcard match (% does not match '/'). */
int mail_match(const char *pattern, const char *name);

#endif
