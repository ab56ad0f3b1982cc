/* imapd.h: the IMAP front-end's session state and the command interface.
 * Each command lives in a cmd_*.c file with the same entry signature and is
 * registered in the table in commands.c. */
#ifndef IMAPD_IMAPD_H
#define IMAPD_IMAPD_H

#include <stdint.h>
#include <sys/types.h>

#include "auth.h"
#include "config.h"
#include "io.h"
#include "mail_api.h"
#include "parser.h"
#include "server.h"
#include "util.h"

enum client_state {
	ST_NOTAUTH = 1 << 0,
	ST_AUTH = 1 << 1,
	ST_SELECTED = 1 << 2,
	ST_LOGOUT = 1 << 3,
};

struct client {
	struct io io;
	struct config cfg;
	struct server_conn conn;
	enum client_state state;
	struct auth_user user;
	struct mail_session sess;
	struct mailbox *box;        /* when ST_SELECTED */
	struct pool *pool;          /* freed after every command */
	unsigned login_failures;
	int tls_active;
	int plaintext_ok;           /* LOGIN allowed now */
	/* RFC 5182 "$": UIDs of the last saved search result in the selected
	 * mailbox, sorted and merged ranges (xmalloc'd). Kept as UIDs, so an
	 * expunged message simply drops out of it. */
	struct numset searchres;
	unsigned enabled;           /* CLIENT_EN_* turned on by ENABLE */
	int tls_keys_gone;          /* pre-login again after UNAUTHENTICATE */
	struct imap_context *contexts;   /* RFC 5267 updates (context.h) */
	struct notify *notify;      /* cmd_notify.c: NOTIFY SET, NULL: none */
};

/* Extensions a client turns on with ENABLE (RFC 5161), one bit each; the
 * names are registered in cmd_enable.c. */
enum {
	CLIENT_EN_NONE = 0,
	CLIENT_EN_CONDSTORE = 1 << 0,   /* also by any CONDSTORE-enabling command */
	CLIENT_EN_QRESYNC = 1 << 1,
	CLIENT_EN_UTF8 = 1 << 2,        /* UTF8=ACCEPT (RFC 6855): names in UTF-8 */
	CLIENT_EN_UIDONLY = 1 << 8,     /* RFC 9586, uidonly.c */
	/* RFC 9051 (docs/extensions.md "IMAP4rev2" lists where it differs) */
	CLIENT_EN_REV2 = 1 << 12,
};

/* One command being executed. */
struct cmd {
	struct client *c;
	const char *tag;
	const char *name;           /* upper case, without UID prefix */
	int uid;                    /* "UID FETCH" etc. */
	struct parser p;            /* positioned after the command name */
	const char *args;           /* where p started (a context's command, context.h) */
	unsigned flags;             /* CMD_* of the command */
	int answered;
};

typedef void cmd_fn(struct cmd *cmd);

enum {
	CMD_UID = 1 << 0,           /* may take the UID prefix */
	CMD_NO_EXPUNGE = 1 << 1,    /* RFC 3501 7.4.1: no EXPUNGE responses after */
	CMD_QUIET = 1 << 2,         /* a context recomputed: nothing is written */
	CMD_MESSAGES = 1 << 3,      /* its literals are messages: max_message applies */
	CMD_META = 1 << 4,          /* its literals are METADATA values: a refusal says MAXSIZE */
};

struct imap_command {
	const char *name;
	cmd_fn *fn;
	unsigned states;            /* ST_* in which it is valid */
	unsigned flags;
};

const struct imap_command *command_find(const char *name);

/* Responses. Tagged replies end the command; code may be NULL. */
void resp_ok(struct cmd *cmd, const char *code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
void resp_no(struct cmd *cmd, const char *code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
void resp_bad(struct cmd *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* BAD with the parser's reason. */
void resp_parse_error(struct cmd *cmd);
/* NO built from a library error (with [TRYCREATE] etc. as fits). */
void resp_mail_error(struct cmd *cmd, const struct mail_err *err);
void imap_report_lost(struct client *c, const struct mail_err *err);
/* The one way a connection's process ends: the mailbox saved (a loss
 * told and logged), a BYE if given, the output flushed. */
void imap_exit(struct client *c, const char *bye, int code) __attribute__((noreturn));
/* A client line over max_line: where its command ends is unknown (the
 * unread rest may hold a literal's bytes), so the session ends with a BYE. */
void imap_line_too_long(struct client *c) __attribute__((noreturn));
void resp_untagged(struct client *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Write raw bytes (for literals already formatted in a buf). */
void resp_write(struct client *c, const void *p, size_t n);

/* The flag list "(\Seen \Answered kw ...)" of a message of the selected
 * mailbox into out, as this client may see them. */
void imap_put_flags(struct buf *out, const struct client *c, const struct message *m);
/* Keyword bitmask for the names (creating them); -1 with err if impossible. */
int imap_keywords_mask(struct mailbox *box, char **names, struct kwset *mask, struct mail_err *err);

/* Events from the selected mailbox become untagged responses. */
extern const struct mail_events imap_events;

/* Make the message set concrete: msgnos of the set (by UID if uid) into
 * a pool array; returns the count, or -1 after a tagged BAD when a message
 * number does not exist. */
ssize_t imap_resolve_set(struct cmd *cmd, const struct numset *set, uint32_t **msgnos);

/* APPEND's arguments after its name: the mailbox, then 1 to max messages
 * (RFC 3502), their text pointing into the command. 0; 1 when there are
 * more than max; -1 with the parser's error. */
#define APPEND_MESSAGES_MAX 1000
/* APPENDLIMIT (RFC 7889): max_message, for every mailbox, at most what an
 * IMAP number holds. */
uint32_t imap_append_limit(const struct client *c);
/* A CATENATE message (RFC 4469) comes as its parts, (*cats)[i] for
 * message i (NULL for a plain literal), its text left empty. */
struct cat_part {
	int url;                  /* text is a URL, else bytes to take */
	const char *text;
	size_t len;
	struct cat_part *next;
};
int imap_append_parse(struct parser *p, char **mailbox, struct mail_new **msgs,
		      struct cat_part ***cats, size_t *n, size_t max);
/* imap_append_parse, then the checks APPEND makes before storing (an
 * empty literal, too many keywords); -1 after the tagged answer. */
int imap_append_args(struct cmd *cmd, char **name, struct mail_new **msgs, size_t *n,
		     size_t max);
/* "APPENDUID v uids" (RFC 4315) into out; nothing unless every UID is known. */
void imap_put_appenduid(struct buf *out, uint32_t uidvalidity, const uint32_t *uids, size_t n);
/* Mark exactly msgnos \Deleted and expunge just their uids (MOVE,
 * REPLACE); on failure nothing is expunged and the flags are taken back. */
int imap_expunge_exactly(struct cmd *cmd, const uint32_t *msgnos, const uint32_t *uids,
			 size_t n, struct mail_err *err);
/* Take messages just stored in dest (uids under uidvalidity) out again,
 * after the rest of a MOVE or REPLACE failed; logged where impossible. */
void imap_undo_stored(struct cmd *cmd, const char *dest, uint32_t uidvalidity,
		      const uint32_t *uids, size_t n);

/* Commands (one file each or per small group). */
cmd_fn cmd_capability, cmd_noop, cmd_logout, cmd_login, cmd_authenticate, cmd_starttls;
cmd_fn cmd_select, cmd_examine, cmd_create, cmd_delete, cmd_rename, cmd_subscribe,
	cmd_unsubscribe, cmd_list, cmd_lsub, cmd_status, cmd_append, cmd_check, cmd_close,
	cmd_unselect, cmd_expunge, cmd_search, cmd_fetch, cmd_store, cmd_copy, cmd_move, cmd_id,
	cmd_namespace, cmd_enable, cmd_idle, cmd_sort, cmd_thread, cmd_unauthenticate;
cmd_fn cmd_compress;
/* cmd_quota.c */
cmd_fn cmd_getquota, cmd_getquotaroot, cmd_setquota;
void imap_quota_capabilities(const struct client *c, struct buf *out);
/* cmd_metadata.c */
cmd_fn cmd_getmetadata, cmd_setmetadata;
/* The largest METADATA value taken (the library's, or a smaller max_literal). */
size_t imap_meta_maxsize(const struct client *c);
/* cmd_notify.c: NOTIFY, and the waits of IDLE and between commands */
cmd_fn cmd_notify;
void imap_notify_reset(struct client *c);
void imap_notify_wait(struct client *c);
/* Client bytes already read (our buffer, inside TLS) that poll cannot see. */
int imap_client_pending(struct client *c);
enum { IMAP_WAIT_TIMEOUT, IMAP_WAIT_CLIENT, IMAP_WAIT_MAILBOX, IMAP_WAIT_OTHER };
int imap_wait_events(struct client *c, int selfd, unsigned secs);
cmd_fn cmd_replace;

/* Answer a SEARCH or SORT that had RETURN (...): the ESEARCH response and
 * the SAVE. msgnos: the result in the order of the answer. */
struct search_return;
void imap_esearch_reply(struct cmd *cmd, const struct search_return *ret, const uint32_t *msgnos,
			size_t n);
/* Forget the saved search result (a mailbox selected or left). */
void imap_searchres_reset(struct client *c);

/* STATUS items (cmd_mailbox.c), for STATUS and LIST-STATUS (cmd_list.c). */
enum {
	S_MESSAGES = 1, S_RECENT = 2, S_UIDNEXT = 4, S_UIDVALIDITY = 8, S_UNSEEN = 16,
	S_APPENDLIMIT = 32, S_SIZE = 64,
	S_HIGHESTMODSEQ = 128,   /* RFC 7162 3.1.2 */
	S_DELETED = 256, S_DELETED_STORAGE = 512,   /* RFC 9208 4.3.1 (quota.c) */
	S_MAILBOXID = 1024,      /* RFC 8474 4.2 (objectid.c) */
};
/* "(" status-att *(SP status-att) ")" into S_* bits; -1 with p's error. */
int imap_status_items(struct parser *p, unsigned *want);
/* The untagged STATUS of name with the items in want; -1 with err. */
int imap_status_send(struct client *c, const char *name, unsigned want, struct mail_err *err);
/* RFC 8474 (cmd_objectid.c): the "MAILBOXID (id)" of name into code (for
 * SELECT and CREATE's response codes); 0, or -1 (logged) to leave it out. */
int imap_mailboxid_code(struct client *c, const char *name, struct buf *code);

/* LIST's arguments (cmd_list.c): RFC 5258's selection and return
 * options as listext.h's MAIL_LIST_* in opts, STATUS items (S_*) in
 * status; delimiter: the RFC 3501 question for the hierarchy delimiter. */
#define LIST_PATTERNS_MAX 64
struct list_args {
	char *ref, *pats[LIST_PATTERNS_MAX];
	size_t n;
	unsigned opts, status;
	int plain, delimiter;
};
/* 0, or -1 with the parser's error (a BAD). */
int imap_list_parse(struct parser *p, struct list_args *a);
/* CREATE mailbox [SP "(" create-param *(SP create-param) ")"] (RFC 4466,
 * USE of RFC 6154): the special uses as LA_ bits in *bits, -1 there for a
 * use we do not keep (cmd_mailbox.c). 0, or -1 with the parser's error. */
int imap_create_parse(struct parser *p, char **name, int *bits);

/* A mailbox name as the client reads it: as stored (modified UTF-7), or
 * in UTF-8 once it enabled UTF8=ACCEPT (cmd_list.c). */
void imap_put_mailbox(const struct client *c, struct buf *out, const char *name);
/* RFC 9051 6.3.2: the selected mailbox's own LIST response (cmd_list.c). */
void imap_list_selected(struct client *c);
/* "* what (attrs) "/" name" into b, extended data and CRLF left to the
 * caller (LIST's CHILDINFO, NOTIFY's OLDNAME). */
void imap_list_put(const struct client *c, struct buf *b, const char *what, const char *name,
		   int attrs);

/* CONDSTORE and QRESYNC (RFC 7162), cmd_condstore.c. */
/* A CONDSTORE-enabling command was given: MODSEQs from now on; in a
 * selected mailbox the client hears its HIGHESTMODSEQ first. */
void imap_condstore_enable(struct client *c);
/* "MODSEQ (n)" of message msgno. */
void imap_put_modseq(struct buf *out, struct mailbox *box, uint32_t msgno);
/* "* VANISHED (EARLIER) uids" for the UIDs in set (NULL: all) expunged
 * after modseq; nothing when there are none. */
void imap_vanished_earlier(struct client *c, uint64_t modseq, const struct numset *set);
/* SELECT/EXAMINE parameters (RFC 4466): CONDSTORE, QRESYNC (...). */
struct select_params {
	int condstore, qresync;
	uint32_t validity;
	uint64_t modseq;
	struct numset known;      /* known-uids; n == 0: not given */
};
/* Parse " (" select-param ... ")" after the mailbox name; -1 with p->error. */
int imap_select_params(struct cmd *cmd, struct select_params *sp);
/* After SELECT's untagged responses: HIGHESTMODSEQ (or NOMODSEQ) and the
 * QRESYNC resynchronisation (VANISHED (EARLIER) and the changed FLAGS). */
void imap_select_condstore(struct cmd *cmd, const struct select_params *sp);
/* FETCH modifiers "(CHANGEDSINCE n [VANISHED])" (RFC 7162 3.1.4, 3.2.6). */
struct fetch_mods {
	int changedsince, vanished;
	uint64_t since;
};
int imap_fetch_mods(struct cmd *cmd, struct fetch_mods *fm);
/* STORE's "(UNCHANGEDSINCE n)" when there; *given says it was. */
int imap_store_mods(struct cmd *cmd, int *given, uint64_t *since);

/* UIDONLY (RFC 9586), uidonly.c. The parser's error for message numbers
 * in a search key (resp_parse_error adds [UIDREQUIRED]). */
extern const char imap_uidrequired[];
/* A command given with message numbers once UIDONLY is on: 1 after the
 * tagged BAD [UIDREQUIRED], else 0. */
int imap_uidonly_refuse(struct cmd *cmd);
/* The start of a FETCH response, "* n FETCH (" with "UID u" when with_uid,
 * or "* u UIDFETCH (" under UIDONLY; returns the number of items written. */
int imap_put_fetch_head(const struct client *c, struct buf *out, uint32_t msgno, int with_uid);

/* Capabilities for the current state (CAPABILITY response and greeting). */
void imap_capabilities(struct client *c, struct buf *out);

#endif
