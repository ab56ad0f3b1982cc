/* cmd_enable.c: ENABLE (RFC 5161). An extension that changes what the
 * server sends only once the client asks registers its name and its
 * CLIENT_EN_* bit in the table below; every other name is ignored. */
#include <string.h>
#include <strings.h>

#include "imapd.h"

struct enableable {
	const char *name;
	unsigned bit;
};

/* QRESYNC implies CONDSTORE (RFC 7162 3.2.3). */
static const struct enableable enableables[] = {
	{"CONDSTORE", CLIENT_EN_CONDSTORE},
	{"QRESYNC", CLIENT_EN_QRESYNC | CLIENT_EN_CONDSTORE},
	/* cmd_list.c, parser.c (mailbox names) */
	{"UTF8=ACCEPT", CLIENT_EN_UTF8},
	/* uidonly.c */
	{"UIDONLY", CLIENT_EN_UIDONLY},
	/* RFC 9051 5.1: rev2 mailbox names are UTF-8, as UTF8=ACCEPT's */
	{"IMAP4rev2", CLIENT_EN_REV2 | CLIENT_EN_UTF8},
};

/* The extension an ENABLE argument names, NULL for a name we ignore. */
static const struct enableable *enable_find(const char *name)
{
	for (size_t i = 0; i < ARRAY_SIZE(enableables); i++)
		if (enableables[i].name && !strcasecmp(enableables[i].name, name))
			return &enableables[i];
	return NULL;
}

/* ENABLE cap...: turn on the known ones, answer * ENABLED with those. */
void cmd_enable(struct cmd *cmd)
{
	struct client *c = cmd->c;
	struct buf done;
	unsigned now = 0;
	char *name;

	if (p_at_end(&cmd->p))
		return resp_bad(cmd, "ENABLE needs at least one capability name");
	buf_init(&done);
	buf_puts(&done, "ENABLED");
	while (!p_at_end(&cmd->p)) {
		if (p_sp(&cmd->p) < 0 || p_atom(&cmd->p, &name) < 0) {
			buf_free(&done);
			return resp_parse_error(cmd);
		}
		const struct enableable *e = enable_find(name);
		/* each ENABLED lists what this command turned on, once */
		if (e && ((c->enabled | now) & e->bit) != e->bit) {
			now |= e->bit;
			buf_printf(&done, " %s", e->name);
		}
	}
	c->enabled |= now;
	resp_untagged(c, "%s", done.data);
	buf_free(&done);
	resp_ok(cmd, NULL, "ENABLE completed");
}
