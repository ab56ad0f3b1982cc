/* dmail.c: delivery as the user who runs it, for procmail and the like
 * (`| dmail +folder`): one message on stdin to the named folder (made when
 * missing) or INBOX, with that user's rights only; never as root. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <sysexits.h>
#include <unistd.h>

#include "auth.h"
#include "config.h"
#include "deliver.h"
#include "log.h"

static void usage(FILE *f)
{
	fprintf(f, "usage: dmail [-f sender] [-c config] [+folder | folder]\n"
		   "  reads one message on stdin and delivers it, as you, to the folder\n"
		   "  (made when missing) or to INBOX; exit codes as in sysexits.h\n");
}

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
	static const struct option longopts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	const char *sender = NULL, *config = NULL, *folder = NULL;
	struct auth_user u;
	struct mail_err err;
	struct config cfg;
	struct buf raw;
	int c, code;

	log_open("dmail");
	while ((c = getopt_long(argc, argv, "+f:r:c:h", longopts, NULL)) != -1) {
		switch (c) {
		case 'f':
		case 'r':
			sender = optarg;
			break;
		case 'c':
			config = optarg;
			break;
		case 'h':
			usage(stdout);
			return EX_OK;
		case 'V':
			printf("dmail (uw-imap) %s\n", VERSION);
			return EX_OK;
		default:
			usage(stderr);
			return EX_USAGE;
		}
	}
	if (argc - optind > 1) {
		usage(stderr);
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
	if (folder && !*folder) {
		usage(stderr);
		return EX_USAGE;
	}
	if ((code = deliver_start("dmail", config, &cfg, &raw)) != EX_OK)
		return code;
	if (auth_self(&u, &err) < 0) {
		deliver_log(1, "delivery failed: %s", err.text);
		code = EX_TEMPFAIL;
	} else {
		code = dmail_deliver(&cfg, &u, sender, folder, &raw);
		free(u.name);
		free(u.home);
	}
	buf_free(&raw);
	config_free(&cfg);
	return code;
}
