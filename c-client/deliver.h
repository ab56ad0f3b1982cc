/* deliver.h: local delivery of one message, what tmail and dmail share: the
 * message as an MTA or procmail hands it over (perhaps behind an mbox From
 * line), its envelope sender, the append, and the outcome as a sysexits(3)
 * code with one syslog line naming the user, the file and the reason. */
#ifndef CCLIENT_DELIVER_H
#define CCLIENT_DELIVER_H

#include <stddef.h>

#include "mail_api.h"
#include "util.h"

/* The options tmail and dmail share (-I is tmail's alone). */
struct deliver_opts {
	const char *sender;   /* -f or -r */
	const char *inbox;    /* -I */
	const char *config;   /* -c or --config */
};

/* Parse the options into o; -h/--help and --version are answered here.
 * -1: go on with the operands from optind; else the code to exit with. */
int deliver_options(int argc, char **argv, const char *usage, int with_inbox,
		    struct deliver_opts *o);

/* A log line (syslog, facility mail); a failure (failed set) also goes to
 * stderr, which MTAs quote in their logs and bounces, in a program that
 * called deliver_options. */
void deliver_log(int failed, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Read all of fd into raw. EX_OK, or EX_TEMPFAIL (logged) on a read error. */
int deliver_read(int fd, struct buf *raw);

/* A message ready to store: text without the mbox From line, with a
 * Return-Path added when it had none and the sender is known. */
struct deliver_msg {
	struct buf text;
	char *sender;         /* as given: "" is the null sender, NULL unknown */
	char *from_token;     /* sender for a From line: no blanks or controls */
};

/* Longest envelope sender taken (RFC 5321 allows 256 octets for a path);
 * a From line must stay short enough for mbox readers to recognise. */
#define DELIVER_SENDER_MAX 512

/* Build m from raw input; sender_opt is -f's value (NULL: the From line's,
 * if any; "<>" or "": the null sender). EX_OK, EX_DATAERR for input that
 * holds no message, EX_USAGE for a sender with control characters or
 * longer than DELIVER_SENDER_MAX (both logged with user's name). */
int deliver_prepare(const char *raw, size_t len, const char *sender_opt, const char *user,
		    struct deliver_msg *m);
void deliver_msg_free(struct deliver_msg *m);

/* Called (in the user's process) when INBOX is the spool file and it does
 * not exist: someone with the right to (root) makes it. 0 or -1 with err. */
typedef int deliver_spool_fn(void *ctx, struct mail_err *err);

/* Where to deliver: folder (from user+folder, a stranger's choice: checked
 * with deliver_folder_ok), else when it is refused or missing, inbox. */
struct deliver_target {
	const char *folder;         /* NULL: none */
	const char *inbox;          /* NULL: "INBOX" */
	int create_inbox;           /* make inbox when missing (not INBOX) */
	deliver_spool_fn *make_spool; /* NULL: the user's rights only */
	void *spool_ctx;
};

/* Append m to the target in session s (already running as its user). Logs
 * one line (delivered, or why not) and returns the sysexits code. */
int deliver_to(struct mail_session *s, const struct deliver_target *t,
	       const struct deliver_msg *m);

/* The sysexits code for a library error: EX_USAGE for a name that cannot
 * be a mailbox, else EX_TEMPFAIL (the MTA retries; nothing was stored). */
int deliver_code(const struct mail_err *err);

/* A folder name from an address extension (user+folder), which a stranger
 * chose: a plain name in the home's hierarchy, no component starting with
 * '.', nothing absolute, no "#driver." or "~". */
int deliver_folder_ok(const char *name);

/* Create exactly spool_dir/user for uid (as root): O_EXCL|O_NOFOLLOW,
 * group mail, mode DELIVER_SPOOL_MODE (as Debian's exim; Postfix's local
 * uses 0600). An existing entry, even a link, is left alone: the delivery
 * then judges it with the user's rights only. 0, or -1 with err. */
#define DELIVER_SPOOL_MODE 0660
int deliver_make_spool(const char *spool_dir, const char *user, uid_t uid,
		       struct mail_err *err);

struct config;
/* What tmail and dmail do first: refuse a setuid or setgid start (the
 * caller would choose the configuration), load the configuration (path
 * NULL: the compiled-in file), read the message from stdin. EX_OK or the
 * code to exit with, the reason logged and on stderr. */
int deliver_start(const char *prog, const char *config_path, struct config *cfg,
		  struct buf *raw);

#endif
