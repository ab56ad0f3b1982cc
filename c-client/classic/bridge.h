/* bridge.h: the seam between the classic interface (the cl_ files, which see
 * only the classic headers) and the native library (../mail.h and friends,
 * which bridge.c alone includes). The two define types of the same names
 * (struct driver above all), so nothing here uses either: plain C types
 * and an opaque mailbox. In the shared library every native symbol but
 * these is made local, so the classic names are free for the classic API. */
#ifndef CLASSIC_BRIDGE_H
#define CLASSIC_BRIDGE_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

/* MF_* flags and LA_* list attributes, the native numbers */
#include "../mail_flags.h"

struct clb_box;

/* What the native side reports while a mailbox is open. */
struct clb_events {
	void (*exists)(void *ctx, uint32_t nmsgs);
	void (*expunged)(void *ctx, uint32_t msgno);
	void (*flags)(void *ctx, uint32_t msgno);
	void (*notice)(void *ctx, const char *text);
};

struct clb_msg {
	uint32_t uid, flags;
	uint64_t keywords;        /* bit i: clb_keyword(box, i) */
	time_t date;
	int tz_minutes;           /* east of UTC */
	uint64_t size;
};

struct clb_status {
	uint32_t messages, recent, unseen, uidnext, uidvalidity;
};

struct clb_new {
	const char *text;
	size_t len;
	uint32_t flags;
	char **keywords;          /* NULL-terminated, or NULL */
	time_t date;              /* 0: now */
	int tz_minutes;
};

/* Errors come back as text in err[CLB_ERRLEN]; calls return 0 or -1. */
#define CLB_ERRLEN 256

/* The process's own session (its user, home and the configuration file),
 * set up on first use; also names the user and home for mail_parameters. */
int clb_session(char *err);
const char *clb_user(void);
const char *clb_home(void);

/* A network name as the native library took it apart, for the program's
 * login callback. */
struct clb_netname {
	const char *host, *user, *authuser, *mailbox, *service;
	unsigned port;
	int ssl, tls, notls, novalidate, secure, debug, readonly;
};
/* The classic side's hooks for network mailboxes: login fills the user
 * and password (0, or -1 when there is none); trace shows a protocol line
 * (never one with credentials). Set once, before any network name. */
void clb_set_client(int (*login)(const struct clb_netname *n, char *user, size_t ulen,
				 char *pw, size_t plen),
		    void (*trace)(const char *line, size_t len, int out));

/* For nntp_open/nntp_mail/nntp_close: a connection to the NNTP server
 * spec names (the classic "host[:port][/flags]"), at port when spec names
 * none; with sslport, implicit TLS first (at spec's port or sslport), the
 * plain port only when no TCP connection to that one could be made. *post
 * set to whether it allows posting; NULL with err. */
struct nntp_poster;
struct nntp_poster *clb_nntp_open(const char *spec, unsigned port, unsigned sslport, int debug,
				  int *post, char *err);
/* POST an article (CRLF lines); the server's refusal in err. */
int clb_nntp_post(struct nntp_poster *p, const char *text, size_t len, char *err);
/* QUIT and free. */
void clb_nntp_close(struct nntp_poster *p);

/* A TCP connection to host:port (tcp_open), each address tried within
 * timeout seconds; the socket, or -1 with err. */
int clb_tcp_connect(const char *host, unsigned port, unsigned timeout, char *err);

int clb_open(const char *name, int readonly, const struct clb_events *ev, void *ctx,
	     struct clb_box **out, char *err);
/* Save and close; -1 when the changes could not be saved (closed anyway). */
int clb_close(struct clb_box *box, int expunge, char *err);
const char *clb_driver(const struct clb_box *box);
const char *clb_name(const struct clb_box *box);
const char *clb_path(const struct clb_box *box);
int clb_readonly(const struct clb_box *box);
int clb_inbox(const struct clb_box *box);
uint32_t clb_nmsgs(const struct clb_box *box);
uint32_t clb_recent(const struct clb_box *box);
uint32_t clb_uidvalidity(const struct clb_box *box);
uint32_t clb_uidnext(const struct clb_box *box);
unsigned clb_nkeywords(const struct clb_box *box);
const char *clb_keyword(const struct clb_box *box, unsigned i);
int clb_keyword_index(struct clb_box *box, const char *name, int create);
int clb_keywords_creatable(const struct clb_box *box);
void clb_msg(const struct clb_box *box, uint32_t msgno, struct clb_msg *out);
uint32_t clb_msgno(const struct clb_box *box, uint32_t uid);

int clb_ping(struct clb_box *box, char *err);
int clb_check(struct clb_box *box, char *err);
/* Expunge the \Deleted messages among uids (all of them when uids is NULL). */
int clb_expunge(struct clb_box *box, const uint32_t *uids, size_t n, char *err);
/* The canonical (CRLF) text of a message, or its header alone; valid until
 * the next call on the box. */
int clb_fetch(struct clb_box *box, uint32_t msgno, int header_only, const char **text,
	      size_t *len, char *err);
/* set: 1 add, 0 remove. */
/* The native parse of a message (../rfc822.h's types), valid until the
 * next call on the box. */
struct envelope;
struct body;
int clb_structure(struct clb_box *box, uint32_t msgno, struct envelope **env,
		  struct body **body, char *err);
int clb_store(struct clb_box *box, uint32_t msgno, int set, uint32_t flags,
	      uint64_t keywords, char *err);
int clb_copy(struct clb_box *box, const uint32_t *msgnos, size_t n, const char *dest,
	     char *err);

int clb_status(const char *name, struct clb_status *st, char *err);
int clb_create(const char *name, char *err);
int clb_delete(const char *name, char *err);
int clb_rename(const char *from, const char *to, char *err);
int clb_append(const char *name, const struct clb_new *msgs, size_t n, char *err);
/* LIST and LSUB (lsub set); the hierarchy delimiter is '/'. */
int clb_list(const char *ref, const char *pat, int lsub,
	     void (*fn)(void *ctx, const char *name, int attrs), void *ctx, char *err);
int clb_subscribe(const char *name, int on, char *err);

/* A section of a message as the classic calls name it: "" the whole
 * message, "1.2" a part's content, "HEADER", "TEXT", "1.2.MIME",
 * "2.HEADER" ...; with fields (a HEADER section), only those header lines
 * (not: all but those). Valid until the next call on the box; 1 when the
 * part does not exist (empty result). */
int clb_section(struct clb_box *box, uint32_t msgno, const char *spec, char *const *fields,
		int nfields, int not, const char **p, size_t *n, char *err);

/* Sorting (keys in this order, as the native sort numbers them). */
enum clb_sort_key {
	CLB_SORT_ARRIVAL, CLB_SORT_CC, CLB_SORT_DATE, CLB_SORT_FROM, CLB_SORT_SIZE,
	CLB_SORT_SUBJECT, CLB_SORT_TO,
};
/* The message numbers of the matching messages in order, into out (room
 * for every message), their count in *nout. */
int clb_sort(struct clb_box *box, const enum clb_sort_key *keys, const int *reverse, size_t nkeys,
	     const uint8_t *match, uint32_t *out, size_t *nout, char *err);

/* Threads as a node array: children and siblings by index (-1: none). */
struct clb_tnode {
	uint32_t msgno;
	int32_t child, next;
};
/* algo 0: ORDEREDSUBJECT, 1: REFERENCES. *nodes malloc'd (free()). */
int clb_thread(struct clb_box *box, int algo, const uint8_t *match, struct clb_tnode **nodes,
	       size_t *n, int32_t *first, char *err);

/* Parsing text that is not in a mailbox (the results live in *pool until
 * clb_pool_free): a whole message, an address list, encoded words. */
struct clb_pool;
struct address;
void clb_parse_message(const char *text, size_t len, struct envelope **env, struct body **body,
		       struct clb_pool **pool);
struct address *clb_parse_addresses(const char *s, struct clb_pool **pool);
void clb_pool_free(struct clb_pool *pool);
/* RFC 2047 words decoded to UTF-8, malloc'd (NUL-terminated). */
char *clb_decode_words(const char *s, size_t len, size_t *outlen);

/* Searching: a program of these keys, evaluated by the native search. */
enum clb_op {
	CLB_ALL, CLB_AND, CLB_OR, CLB_NOT, CLB_MSGNOS, CLB_UIDS,
	CLB_FLAGS, CLB_UNFLAGS, CLB_NEW, CLB_OLD,
	CLB_BEFORE, CLB_ON, CLB_SINCE, CLB_SENTBEFORE, CLB_SENTON, CLB_SENTSINCE,
	CLB_LARGER, CLB_SMALLER, CLB_HEADER, CLB_BODY, CLB_TEXT, CLB_OLDER, CLB_YOUNGER,
};
struct clb_key {
	enum clb_op op;
	struct clb_key *kids, *next;   /* AND/OR/NOT children */
	uint32_t *ranges;              /* MSGNOS/UIDS: lo,hi pairs */
	size_t nranges;
	uint32_t flags;
	const char *keyword;           /* FLAGS/UNFLAGS: a keyword by name, or NULL */
	int year, month, day;          /* date keys */
	uint64_t n;                    /* LARGER/SMALLER size, OLDER/YOUNGER seconds */
	const char *field, *str;       /* HEADER field; string keys */
};
/* match[i] for message i+1. */
int clb_search(struct clb_box *box, const struct clb_key *key, uint8_t *match, char *err);

/* Sending for the classic smtp_open/smtp_mail (bridge_smtp.c, over
 * ../smtp_client.h): spec is "host[:port][/flag...]"; submit picks the
 * submission service, port (0: the service's) applies when spec has none. */
struct smtp_conn;
struct smtp_conn *clb_smtp_open(const char *spec, int submit, unsigned port, int debug,
				int secure, char *err);
int clb_smtp_send(struct smtp_conn *c, const char *from, const char *const *to, size_t n,
		  const char *msg, size_t len, char *err);
/* DSNs (RFC 3461) asked for the next sends: RET=FULL when full, else
 * HDRS; notify of CLB_NOTIFY_* (none: NEVER); envid NULL for none;
 * orcpt NULL or per recipient "type;address" (NULL: none). want 0 asks
 * for none. The strings must outlive the sends. */
enum { CLB_NOTIFY_FAILURE = 1, CLB_NOTIFY_DELAY = 2, CLB_NOTIFY_SUCCESS = 4 };
void clb_smtp_dsn(struct smtp_conn *c, int want, int full, unsigned notify, const char *envid,
		  const char *const *orcpt);
/* Did the server offer DSN? */
int clb_smtp_offers_dsn(const struct smtp_conn *c);
/* The last reply's code (0: none came) and its line in *line. */
int clb_smtp_reply(const struct smtp_conn *c, const char **line);
void clb_smtp_close(struct smtp_conn *c);

#endif
