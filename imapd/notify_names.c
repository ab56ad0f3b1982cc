/* notify_names.c: NOTIFY's MailboxName and SubscriptionChange events
 * (RFC 5465 5.4, 5.5). The library watches the names (mail_names.h) and
 * says what differs; here each difference is matched against the filters
 * that asked for it and sent as an untagged LIST: \NonExistent for a
 * deleted name, OLDNAME for a renamed one, \Subscribed or not for a
 * subscription change. The same changes keep the message filters that
 * reach many names (PERSONAL, SUBTREE, SUBSCRIBED, MAILBOXES) watching
 * the mailboxes made, renamed or subscribed after the NOTIFY SET. */
#include <stdlib.h>
#include <string.h>

#include "imap_fmt.h"
#include "log.h"
#include "mail_names.h"
#include "notify.h"

struct name_filter {
	enum notify_scope scope;
	char *name;
	unsigned events;
};

struct notify_names {
	struct name_filter *f;
	size_t n;
	struct mail_names *w;
};

struct notify_names *notify_names_new(void)
{
	return xcalloc(1, sizeof(struct notify_names));
}

void notify_names_add(struct notify_names *nn, enum notify_scope scope, const char *name,
		      unsigned events)
{
	/* SELECTED and INBOXES name one mailbox each, there from the start */
	if (scope == NS_SELECTED || scope == NS_INBOXES)
		events &= EV_NAMES;
	if (!events)
		return;
	nn->f = xrealloc(nn->f, (nn->n + 1) * sizeof *nn->f);
	nn->f[nn->n++] = (struct name_filter){scope, name ? xstrdup(name) : NULL, events};
}

void notify_names_start(struct client *c, struct notify_names *nn)
{
	struct mail_err err;

	/* the message filters of PERSONAL & co. need it too, to follow names */
	if (nn->n && !nn->w && !(nn->w = mail_names_watch(&c->sess, &err)))
		log_warn("NOTIFY: names not watched: %s", err.text);
}

int notify_names_fd(const struct notify_names *nn)
{
	return nn->w ? mail_names_fd(nn->w) : -1;
}

/* Does filter f reach name? */
static int filter_reaches(const struct client *c, const struct name_filter *f,
			  const char *name, int subscribed)
{
	size_t l;

	switch (f->scope) {
	case NS_SELECTED:
		return c->box && !strcmp(c->box->name, name);
	case NS_INBOXES:
		return !strcmp(name, "INBOX");
	case NS_PERSONAL:
		return 1;
	case NS_SUBSCRIBED:
		return subscribed;
	case NS_SUBTREE:
		l = strlen(f->name);
		return !strncmp(name, f->name, l) && (!name[l] || name[l] == '/');
	case NS_MAILBOXES:
		return !strcmp(name, f->name);
	}
	return 0;
}

/* The events the filters ask for about name (NULL: none). */
static unsigned names_wanted(const struct client *c, const struct notify_names *nn,
			     const char *name, int subscribed)
{
	unsigned ev = 0;

	for (size_t i = 0; name && i < nn->n; i++)
		if (filter_reaches(c, &nn->f[i], name, subscribed))
			ev |= nn->f[i].events;
	return ev;
}

/* The message filters follow ch: the watch of a name gone goes, a new
 * selectable name in their reach gets one. */
static void names_follow(struct client *c, const struct mail_name_change *ch, unsigned wanted)
{
	int usable = ch->what != MAIL_NAME_UNSUBSCRIBED &&
		     !(ch->attrs & (LA_NOSELECT | LA_NONEXISTENT));
	/* deleted; or left as the \Noselect parent of its children */
	const char *gone = ch->what == MAIL_NAME_RENAMED ? ch->oldname :
			   ch->what == MAIL_NAME_DELETED || (ch->what == MAIL_NAME_ATTRS && !usable) ?
			   ch->name : NULL;

	if (gone || (usable && (wanted & EV_MESSAGES)))
		notify_box_follow(c, gone, usable ? ch->name : NULL, wanted & EV_MESSAGES);
}

struct names_ctx {
	struct client *c;
	struct notify_names *nn;
};

/* mail_names_changed's callback: one LIST when a filter asked for it. */
static void names_changed(void *ctx, const struct mail_name_change *ch)
{
	struct names_ctx *nc = ctx;
	int subs = ch->what == MAIL_NAME_SUBSCRIBED || ch->what == MAIL_NAME_UNSUBSCRIBED;
	unsigned need = subs ? EV_SUBS : EV_NAME;
	struct buf b;

	unsigned now = names_wanted(nc->c, nc->nn, ch->name, ch->subscribed);

	names_follow(nc->c, ch, now);
	if (!((now | names_wanted(nc->c, nc->nn, ch->oldname, ch->subscribed)) & need))
		return;
	buf_init(&b);
	imap_list_put(nc->c, &b, "LIST", ch->name,
		      ch->attrs | (ch->what == MAIL_NAME_SUBSCRIBED ? LA_SUBSCRIBED : 0));
	if (ch->oldname) {
		buf_puts(&b, " (\"OLDNAME\" (");
		imap_put_mailbox(nc->c, &b, ch->oldname);
		buf_puts(&b, "))");
	}
	buf_puts(&b, "\r\n");
	resp_write(nc->c, b.data, b.len);
	buf_free(&b);
}

void notify_names_check(struct client *c, struct notify_names *nn)
{
	struct names_ctx nc = {c, nn};

	if (nn->w)
		mail_names_changed(&c->sess, nn->w, names_changed, &nc);
}

void notify_names_free(struct notify_names *nn)
{
	for (size_t i = 0; i < nn->n; i++)
		free(nn->f[i].name);
	free(nn->f);
	mail_names_free(nn->w);
	free(nn);
}
