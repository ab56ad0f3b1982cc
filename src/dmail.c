/* dmail.c: delivery as the user who runs it, for procmail and the like
 * (`| dmail +folder`): one message on stdin to the named folder (made when
 * missing) or INBOX, with that user's rights only; never as root. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include "auth.h"
#include "config.h"
#include "deliver.h"
#include "log.h"

static const char usage[] =
	"usage: dmail [-f sender] [-c config] [+folder | folder]\n"
	"  reads one message on stdin and delivers it, as you, to the folder\n"
	"  (made when missing) or to INBOX; exit codes as in sysexits.h\n";

/* Store the message read into raw for the invoking user u. */
static int dmail_deliver(const struct config *cfg, const struct auth_user *u,
			 const char *sender, const char *folder, const struct buf *raw)
{
	struct deliver_target t = { .inbox = folder, .create_inbox = folder != NULL };
	struct mail_session s;
	struct deliver_msg m;
	int code = deliver_prepare(raw->data, raw->len, sender, u->name, &m);

	if (code != EX_OK)
		return code;
	mail_session_setup(&s, u->name, u->home, cfg);
	code = deliver_to(&s, &t, &m);
	mail_session_free(&s);
	deliver_msg_free(&m);
	return code;
}

int main(int argc, char **argv)
{
	const char *folder = NULL;
	struct deliver_opts o;
	struct auth_user u;
	struct mail_err err;
	struct config cfg;
	struct buf raw;
	int code;

	log_open("dmail");
	if ((code = deliver_options(argc, argv, usage, 0, &o)) >= 0)
		return code;
	if (argc - optind > 1 || (optind < argc && !strcmp(argv[optind], "+"))) {
		fputs(usage, stderr);
		return EX_USAGE;
	}
	if (optind < argc)
		folder = argv[optind][0] == '+' ? argv[optind] + 1 : argv[optind];
	/* root has no mailbox of its own here, and a root process would store
	 * with rights no user has: tmail is the tool that switches to a user */
	if (getuid() == 0 || geteuid() == 0) {
		deliver_log(1, "refusing to run as root: dmail delivers as the user who runs it "
		    "(as root, use tmail USER)");
		return EX_USAGE;
	}
	if ((code = deliver_start("dmail", o.config, &cfg, &raw)) != EX_OK)
		return code;
	if (auth_self(&u, &err) < 0) {
		deliver_log(1, "delivery failed: %s", err.text);
		code = EX_TEMPFAIL;
	} else {
		code = dmail_deliver(&cfg, &u, o.sender, folder, &raw);
		free(u.name);
		free(u.home);
	}
	buf_free(&raw);
	config_free(&cfg);
	return code;
}
