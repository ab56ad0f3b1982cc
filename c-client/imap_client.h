/* imap_client.h: one IMAP connection as a client (RFC 9051/3501): connect,
 * TLS (implicit or STARTTLS), login, and commands whose untagged responses
 * go to a handler. driver_imap.c maps mailboxes onto it. */
#ifndef CCLIENT_IMAP_CLIENT_H
#define CCLIENT_IMAP_CLIENT_H

#include "imap_resp.h"
#include "io.h"
#include "net.h"

/* Capabilities we act on. */
enum {
	IC_IMAP4REV1 = 1 << 0,
	IC_IMAP4REV2 = 1 << 1,
	IC_STARTTLS = 1 << 2,
	IC_LOGINDISABLED = 1 << 3,
	IC_AUTH_PLAIN = 1 << 4,
	IC_AUTH_LOGIN = 1 << 5,
	IC_SASL_IR = 1 << 6,
	IC_LITERALPLUS = 1 << 7,
	IC_LITERALMINUS = 1 << 8,
	IC_UIDPLUS = 1 << 9,
	IC_MULTIAPPEND = 1 << 10,
	IC_IDLE = 1 << 11,
	IC_AUTH_SCRAM256 = 1 << 12,
	IC_AUTH_XOAUTH2 = 1 << 13,
	IC_AUTH_OAUTHBEARER = 1 << 14,
	/* work the server may do for us (imap_push.c) */
	IC_SORT = 1 << 15,
	IC_SORT_DISPLAY = 1 << 16,
	IC_THREAD_ORDEREDSUBJECT = 1 << 17,
	IC_THREAD_REFERENCES = 1 << 18,
	IC_THREAD_REFS = 1 << 19,
	IC_WITHIN = 1 << 20,
	IC_QRESYNC = 1 << 21,     /* (with ENABLE: RFC 7162 asks for both) */
	IC_ENABLE = 1 << 22,
};

/* What RFC 9051 folds into IMAP4rev2: a server offering it has these
 * whether or not its CAPABILITY names them. */
#define IC_REV2_BASE (IC_ENABLE | IC_IDLE | IC_UIDPLUS | IC_LITERALMINUS | IC_SASL_IR)

/* Most one response may bring in literals (a message is one literal). */
#define IMAP_CLIENT_LITERAL_MAX (256u << 20)
/* Longest response line outside literals. */
#define IMAP_CLIENT_LINE_MAX (1u << 20)
#define IMAP_CLIENT_TIMEOUT 120

typedef void (*imap_untagged_fn)(void *ctx, const struct imap_resp *r);

struct imap_conn {
	struct io io;
	int fd;
	struct net_name nm;
	const struct mail_client *cl;
	unsigned caps;
	unsigned tagno;
	int bye;                  /* the server said BYE or the connection broke */
	int rev2;                 /* IMAP4rev2 rules: ENABLEd, or the server has no other */
	int secret;               /* the bytes being sent are credentials: not traced */
	struct pool *pool;        /* the response being handled */
	struct buf resp;          /* its bytes */
	struct buf tr;            /* /debug: the command line being sent */
	const char *resp_code;    /* the tagged response's [CODE] */
	const char *resp_text;    /* a continuation request's text */
	struct imap_item *resp_args;
	char delim;               /* hierarchy delimiter (LIST ""), 0: not asked */
	int idling;               /* IDLE is on: the next command sends DONE first */
	imap_untagged_fn idle_fn; /* where IDLE's responses go */
	void *idle_ctx;
};

/* Connect, secure, log in. NULL with err. */
struct imap_conn *imap_connect(const struct net_name *nm, const struct mail_client *cl,
			       const char *local_user, struct mail_err *err);
/* LOGOUT (when still possible) and free. */
void imap_disconnect(struct imap_conn *c);

/* Begin a command: the tag, then the text (printf, no CRLF). */
void imap_cmd_begin(struct imap_conn *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Append a string argument: quoted when it may be, else a literal. */
int imap_cmd_string(struct imap_conn *c, const char *s, size_t len, struct mail_err *err);
/* Append a literal (waits for the server's "+" unless LITERAL+/-). */
int imap_cmd_literal(struct imap_conn *c, const char *s, size_t len, struct mail_err *err);
/* Append more text. */
void imap_cmd_text(struct imap_conn *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* End the command, read to its tagged response; untagged ones go to fn.
 * 0 on OK, -1 with err (the server's text on NO/BAD). After it, c->resp_code
 * and c->resp_args hold the tagged response's code until the next command. */
int imap_cmd_end(struct imap_conn *c, imap_untagged_fn fn, void *ctx, struct mail_err *err);
/* A whole command of text alone. */
int imap_cmd(struct imap_conn *c, imap_untagged_fn fn, void *ctx, struct mail_err *err,
	     const char *fmt, ...) __attribute__((format(printf, 5, 6)));

/* IDLE (RFC 2177): 0 when on (the socket turns readable when the server
 * has news), 1 when the server has no IDLE or refused it, -1 with err.
 * Untagged responses, now and when it ends, go to fn. */
int imap_idle_begin(struct imap_conn *c, imap_untagged_fn fn, void *ctx, struct mail_err *err);
/* DONE and its tagged response, when IDLE is on; every command does this
 * first. */
int imap_idle_end(struct imap_conn *c, struct mail_err *err);
/* Have bytes of the server's already been read into our buffers (so the
 * socket will not turn readable for them)? */
int imap_input_pending(const struct imap_conn *c);

/* The tag of the command under way ("A0007"). */
void imap_cmd_tag(const struct imap_conn *c, char *out, size_t size);

/* The mailbox-name argument (astring) for a command: the name as the
 * library keeps it (modified UTF-7), sent in UTF-8 under IMAP4rev2. */
int imap_cmd_mailbox(struct imap_conn *c, const char *name, struct mail_err *err);
/* A mailbox name the server sent, as the library keeps it (malloc'd), or
 * NULL when it is not well-formed UTF-8 under IMAP4rev2. */
char *imap_name_local(const struct imap_conn *c, const char *name, size_t len);

#endif
