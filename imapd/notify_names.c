/* notify_names.c: NOTIFY's MailboxName and SubscriptionChange events
 * (RFC 5465 5.4, 5.5). The library watches the names (mail_names.h) and
 * says what differs; here each difference is matched against the filters
 * that asked for it and sent as an untagged LIST: \NonExistent for a
 * deleted name, OLDNAME for a renamed one, \Subscribed or not for a
 * subscription change. The same changes keep the message filters that
 * reach many names (PERSONAL, SUBTREE, SUBSCRIBED, MAILBOXES) watching
 * the mailboxes made, renamed or subscribed after the NOTIFY SET. The
 * METADATA file lies in the watched home: when it changes, the entries
 * that differ are told as unsolicited METADATA responses (RFC 5464 4.4.2). */
#include <stdlib.h>
#include <string.h>

#include "imap_fmt.h"
#include "log.h"
#include "mail_names.h"
#include "metadata.h"
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
	struct mail_meta_set meta;    /* the entries last told about */
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

/* Does some filter ask for one of events? */
static int names_wanted_any(const struct notify_names *nn, unsigned events)
{
	for (size_t i = 0; i < nn->n; i++)
		if (nn->f[i].events & events)
			return 1;
	return 0;
}

void notify_names_start(struct client *c, struct notify_names *nn)
{
	struct mail_err err;

	/* the message filters of PERSONAL & co. need it too, to follow names */
	if (nn->n && !nn->w && !(nn->w = mail_names_watch(&c->sess, &err)))
		log_warn("NOTIFY: names not watched: %s", err.text);
	if (nn->w && names_wanted_any(nn, EV_META) && mail_meta_load(&c->sess, &nn->meta, &err) < 0)
		log_warn("NOTIFY: METADATA not read: %s", err.text);
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

/* set's entry of m's mailbox and name, or NULL. */
static const struct mail_meta *meta_find(const struct mail_meta_set *set, const struct mail_meta *m)
{
	for (size_t i = 0; i < set->n; i++)
		if (!strcmp(set->v[i].box, m->box) && !strcmp(set->v[i].name, m->name))
			return &set->v[i];
	return NULL;
}

/* Does set hold m with the same value? */
static int meta_has(const struct mail_meta_set *set, const struct mail_meta *m)
{
	const struct mail_meta *o = meta_find(set, m);

	return o && o->len == m->len && !memcmp(o->value, m->value, m->len);
}

/* "* METADATA box entry" for an entry of from that to has not the same. */
static void meta_tell_diff(struct client *c, const struct notify_names *nn,
			   const struct mail_meta_set *from, const struct mail_meta_set *to,
			   const struct mail_meta_set *other)
{
	for (size_t i = 0; i < from->n; i++) {
		const struct mail_meta *m = &from->v[i];
		unsigned want = *m->box ? names_wanted(c, nn, m->box, 0) & EV_BOXMETA :
				(unsigned)names_wanted_any(nn, EV_SRVMETA);
		/* told once: a changed value is in both sets, said from the new */
		if (!want || meta_has(to, m) || (other && meta_find(other, m)))
			continue;
		struct buf b;
		buf_init(&b);
		buf_puts(&b, "* METADATA ");
		imap_put_mailbox(c, &b, m->box);
		buf_printf(&b, " %s\r\n", m->name);
		resp_write(c, b.data, b.len);
		buf_free(&b);
	}
}

/* The METADATA file may have changed: tell the entries that did. */
static void meta_check(struct client *c, struct notify_names *nn)
{
	struct mail_meta_set now;
	struct mail_err err;

	if (!names_wanted_any(nn, EV_META) || mail_meta_load(&c->sess, &now, &err) < 0)
		return;
	meta_tell_diff(c, nn, &now, &nn->meta, NULL);
	meta_tell_diff(c, nn, &nn->meta, &now, &now);
	mail_meta_free(&nn->meta);
	nn->meta = now;
}

void notify_names_check(struct client *c, struct notify_names *nn)
{
	struct names_ctx nc = {c, nn};

	if (!nn->w)
		return;
	mail_names_changed(&c->sess, nn->w, names_changed, &nc);
	meta_check(c, nn);
}

void notify_names_free(struct notify_names *nn)
{
	for (size_t i = 0; i < nn->n; i++)
		free(nn->f[i].name);
	free(nn->f);
	mail_names_free(nn->w);
	mail_meta_free(&nn->meta);
	free(nn);
}
