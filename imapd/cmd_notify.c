/* cmd_notify.c: NOTIFY (RFC 5465). The client names mailboxes and message
 * events; between commands (and in IDLE) we wait on the selected mailbox's
 * watch and on one watch per named mailbox (the library's inotify, as IDLE
 * uses), and tell what changed: untagged EXISTS/EXPUNGE/FETCH for the
 * selected mailbox, STATUS for the others. Name events (LIST) are
 * notify_names.c's. Nothing is polled on a timer where the format has a
 * watch. */
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "notify.h"

#define NOTIFY_BOXES_MAX 32      /* each is an inotify instance */
#define NOTIFY_NAMES_MAX 64      /* names in one filter */
#define NOTIFY_PING_SECONDS 5    /* selected mailbox of a format with no watch */
#define NOTIFY_WATCHED_SECONDS 60

struct notify_box {
	char *name;
	unsigned events;
	struct mail_watch *w;
	struct mail_status last;
};

struct notify {
	unsigned selected;          /* EV_* for the selected mailbox, 0: none */
	int selected_given, delayed; /* SELECTED-DELAYED: expunges wait */
	int status;                 /* SET STATUS: tell every mailbox's state now */
	unsigned unsupported;       /* an event asked that we do not send */
	struct notify_box box[NOTIFY_BOXES_MAX];
	size_t n;
	int overflow;
	struct notify_names *names;   /* MailboxName, SubscriptionChange */
};

/* Free a NOTIFY SET's mailboxes and their watches. */
static void notify_free(struct notify *n)
{
	for (size_t i = 0; i < n->n; i++) {
		free(n->box[i].name);
		if (n->box[i].w)
			mail_watch_name_free(n->box[i].w);
	}
	notify_names_free(n->names);
	free(n);
}

void imap_notify_reset(struct client *c)
{
	if (c->notify)
		notify_free(c->notify);
	c->notify = NULL;
}

/* An event's bit; EV_UNSUPPORTED for one we know but do not send, 0 for
 * one RFC 5465 does not name. */
static unsigned notify_event_bit(const char *name)
{
	static const struct {
		const char *name;
		unsigned bit;
	} events[] = {
		{"MessageNew", EV_NEW},          {"MessageExpunge", EV_EXPUNGE},
		{"FlagChange", EV_FLAGS},        {"MailboxName", EV_NAME},
		{"SubscriptionChange", EV_SUBS}, {"MailboxMetadataChange", EV_BOXMETA},
		{"ServerMetadataChange", EV_SRVMETA},
		{"AnnotationChange", EV_UNSUPPORTED},   /* ANNOTATE is not offered */
	};

	for (size_t i = 0; i < ARRAY_SIZE(events); i++)
		if (!strcasecmp(name, events[i].name))
			return events[i].bit;
	return 0;
}

/* events: "NONE" or "(" event *(SP event) ")"; an event we do not send
 * sets EV_UNSUPPORTED (a NO [BADEVENT] once the command is read). */
static int notify_events(struct parser *p, unsigned *ev)
{
	char *name;

	*ev = 0;
	if (!p_peek(p, '('))
		return p_atom(p, &name) < 0 ? -1 :
		       strcasecmp(name, "NONE") ? p_fail(p, "events must be NONE or a list") : 0;
	p->p++;
	do {
		if ((*ev && p_sp(p) < 0) || p_atom(p, &name) < 0)
			return -1;
		unsigned bit = notify_event_bit(name);
		if (!bit)
			return p_fail(p, pool_printf(p->pool, "unknown event %s", name));
		/* MessageNew's fetch attributes are not offered */
		if (bit == EV_NEW && p_peek(p, ' ') && p->p + 1 < p->end && p->p[1] == '(')
			return p_fail(p, "MessageNew takes no fetch attributes here");
		*ev |= bit;
	} while (!p_peek(p, ')'));
	p->p++;
	/* RFC 5465 5: the two message counts go together, flags with them */
	if (!(*ev & EV_NEW) != !(*ev & EV_EXPUNGE) || ((*ev & EV_FLAGS) && !(*ev & EV_NEW)))
		return p_fail(p, "MessageNew and MessageExpunge go together, FlagChange needs both");
	return 0;
}

/* Add name with events to n (once; a name twice gets both filters' events). */
static void notify_add(struct notify *n, const char *name, unsigned ev)
{
	if (!(ev &= EV_MESSAGES))
		return;   /* name events only: notify_names.c's */
	for (size_t i = 0; i < n->n; i++)
		if (!strcmp(n->box[i].name, name)) {
			n->box[i].events |= ev;
			return;
		}
	if (n->n == NOTIFY_BOXES_MAX) {
		n->overflow = 1;
		return;
	}
	n->box[n->n].name = xstrdup(name);
	n->box[n->n++].events = ev;
}

struct notify_list {
	struct notify *n;
	unsigned ev;
};

/* mail_list's callback: every selectable mailbox listed joins. */
static void notify_listed(void *ctx, const char *name, int attrs)
{
	struct notify_list *nl = ctx;

	if (!(attrs & LA_NOSELECT))
		notify_add(nl->n, name, nl->ev);
}

/* The mailboxes of a filter that names none (PERSONAL, SUBSCRIBED) or
 * whose subtrees are asked for. */
static int notify_expand(struct client *c, struct notify *n, const char *pattern, unsigned ev)
{
	struct notify_list nl = {n, ev};
	struct mail_err err;

	return mail_list(&c->sess, "", pattern, notify_listed, &nl, &err);
}

/* one-or-more-mailbox into names[]; the count, or -1. */
static ssize_t notify_mailboxes(struct parser *p, char **names)
{
	int list = p_peek(p, '(');
	size_t k = 0;

	if (list)
		p->p++;
	do {
		if (k == NOTIFY_NAMES_MAX)
			return p_fail(p, "too many mailbox names");
		if ((k && p_sp(p) < 0) || p_mailbox(p, &names[k]) < 0)
			return -1;
		k++;
	} while (list && !p_peek(p, ')'));
	if (list && p_char(p, ')') < 0)
		return -1;
	return (ssize_t)k;
}

/* The subscribed names join n. */
static void notify_subscribed(struct client *c, struct notify *n, unsigned ev)
{
	struct mail_err err;
	char **names;
	size_t k;

	if (mail_subscriptions(&c->sess, &names, &k, &err) < 0)
		return;
	for (size_t i = 0; i < k; i++)
		notify_add(n, names[i], ev);
	mail_subscriptions_free(names, k);
}

/* The mailboxes a filter names (and their subtrees when asked) join n. */
static void notify_named(struct client *c, struct notify *n, char **names, size_t k,
			 int subtree, unsigned ev)
{
	for (size_t i = 0; i < k; i++) {
		notify_add(n, names[i], ev);
		notify_names_add(n->names, subtree ? NS_SUBTREE : NS_MAILBOXES, names[i], ev);
		if (subtree && (ev & EV_MESSAGES))
			notify_expand(c, n, pool_printf(c->pool, "%s/*", names[i]), ev);
	}
}

/* "(" filter SP events ")". */
static int notify_group(struct client *c, struct parser *p, struct notify *n)
{
	char *filter, *names[NOTIFY_NAMES_MAX];
	ssize_t k = 0;
	unsigned ev;

	if (p_char(p, '(') < 0 || p_atom(p, &filter) < 0 || p_sp(p) < 0)
		return -1;
	int subtree = !strcasecmp(filter, "SUBTREE");
	if ((subtree || !strcasecmp(filter, "MAILBOXES")) &&
	    ((k = notify_mailboxes(p, names)) < 0 || p_sp(p) < 0))
		return -1;
	if (notify_events(p, &ev) < 0 || p_char(p, ')') < 0)
		return -1;
	n->unsupported |= ev & EV_UNSUPPORTED;
	if (!strcasecmp(filter, "SELECTED") || !strcasecmp(filter, "SELECTED-DELAYED")) {
		if (n->selected_given)
			return p_fail(p, "the selected mailbox is named twice");
		n->selected_given = 1;
		n->selected = ev & EV_MESSAGES;
		n->delayed = filter[8] != '\0';
		notify_names_add(n->names, NS_SELECTED, NULL, ev);
	} else if (!strcasecmp(filter, "INBOXES")) {
		notify_add(n, "INBOX", ev);
		notify_names_add(n->names, NS_INBOXES, NULL, ev);
	} else if (!strcasecmp(filter, "PERSONAL")) {
		if (ev & EV_MESSAGES)
			notify_expand(c, n, "*", ev);
		notify_names_add(n->names, NS_PERSONAL, NULL, ev);
	} else if (!strcasecmp(filter, "SUBSCRIBED")) {
		notify_subscribed(c, n, ev);
		notify_names_add(n->names, NS_SUBSCRIBED, NULL, ev);
	} else if (k) {
		notify_named(c, n, names, (size_t)k, subtree, ev);
	} else {
		return p_fail(p, pool_printf(p->pool, "unknown filter %s", filter));
	}
	return 0;
}

/* "* STATUS name (...)" with what NOTIFY tells of a mailbox. */
static void notify_send_status(struct client *c, const struct notify_box *b)
{
	struct buf out;

	buf_init(&out);
	buf_puts(&out, "STATUS ");
	imap_put_mailbox(c, &out, b->name);
	buf_printf(&out, " (MESSAGES %u UIDNEXT %u UIDVALIDITY %u", b->last.messages,
		   b->last.uidnext, b->last.uidvalidity);
	if (b->events & EV_FLAGS)
		buf_printf(&out, " UNSEEN %u", b->last.unseen);
	buf_putc(&out, ')');
	resp_untagged(c, "%s", out.data);
	buf_free(&out);
}

/* Is b the mailbox the session has selected (told about as such)? */
static int notify_is_selected(const struct client *c, const struct notify_box *b)
{
	return c->box && !strcmp(c->box->name, b->name);
}

/* b changed on disk: STATUS when what the client hears of differs. */
static void notify_box_changed(struct client *c, struct notify_box *b)
{
	struct mail_status st;
	struct mail_err err;

	if (mail_status(&c->sess, b->name, &st, &err) < 0)
		return;
	int differs = st.messages != b->last.messages || st.uidnext != b->last.uidnext ||
		      st.uidvalidity != b->last.uidvalidity ||
		      ((b->events & EV_FLAGS) && st.unseen != b->last.unseen);
	b->last = st;
	if (differs && !notify_is_selected(c, b))
		notify_send_status(c, b);
}

/* Learn b's state and watch it; 0, or -1 when it cannot be read. */
static int notify_watch(struct client *c, struct notify_box *b)
{
	struct mail_err err;

	if (!b->events || b->w || mail_status(&c->sess, b->name, &b->last, &err) < 0)
		return -1;
	b->w = mail_watch_name(&c->sess, b->name, &err);
	return 0;
}

/* Watch the boxes of a new NOTIFY SET and learn their state. */
static void notify_start(struct client *c, struct notify *n)
{
	for (size_t i = 0; i < n->n; i++)
		if (notify_watch(c, &n->box[i]) == 0 && n->status &&
		    !notify_is_selected(c, &n->box[i]))
			notify_send_status(c, &n->box[i]);
	notify_names_start(c, n->names);
}

void notify_box_follow(struct client *c, const char *gone, const char *made, unsigned ev)
{
	struct notify *n = c->notify;

	for (size_t i = 0; gone && i < n->n; i++)
		if (!strcmp(n->box[i].name, gone)) {
			free(n->box[i].name);
			if (n->box[i].w)
				mail_watch_name_free(n->box[i].w);
			n->box[i] = n->box[--n->n];
			memset(&n->box[n->n], 0, sizeof n->box[n->n]);   /* notify_add reuses it */
			break;
		}
	if (made && ev) {
		notify_add(n, made, ev);
		for (size_t i = 0; i < n->n; i++)
			if (!strcmp(n->box[i].name, made))
				notify_watch(c, &n->box[i]);
	}
}

/* The parsed NOTIFY SET replaces the session's, unless it asks for
 * what we cannot give. */
static void notify_set(struct cmd *cmd, struct notify *n)
{
	if (n->unsupported) {
		notify_free(n);
		return resp_no(cmd, "BADEVENT (MessageNew MessageExpunge FlagChange MailboxName "
			       "SubscriptionChange MailboxMetadataChange ServerMetadataChange)",
			       "Annotation events are not sent (ANNOTATE is not offered)");
	}
	if (n->overflow) {
		notify_free(n);
		return resp_no(cmd, "LIMIT", "At most %d mailboxes are watched", NOTIFY_BOXES_MAX);
	}
	imap_notify_reset(cmd->c);
	cmd->c->notify = n;
	notify_start(cmd->c, n);
	resp_ok(cmd, NULL, "NOTIFY completed");
}

/* NOTIFY SET [STATUS] group... / NOTIFY NONE. */
void cmd_notify(struct cmd *cmd)
{
	struct client *c = cmd->c;
	struct parser *p = &cmd->p;
	struct notify *n;
	char *word;

	if (p_sp(p) < 0 || p_atom(p, &word) < 0)
		return resp_parse_error(cmd);
	if (!strcasecmp(word, "NONE")) {
		if (p_end(p) < 0)
			return resp_parse_error(cmd);
		imap_notify_reset(c);
		return resp_ok(cmd, NULL, "NOTIFY completed");
	}
	if (strcasecmp(word, "SET") || p_sp(p) < 0)
		return resp_parse_error(cmd);
	n = xcalloc(1, sizeof *n);
	n->names = notify_names_new();
	if (!p_peek(p, '(')) {
		if (p_atom(p, &word) < 0 || strcasecmp(word, "STATUS") || p_sp(p) < 0)
			goto bad;
		n->status = 1;
	}
	for (int first = 1; first || !p_at_end(p); first = 0)
		if ((!first && p_sp(p) < 0) || notify_group(c, p, n) < 0)
			goto bad;
	return notify_set(cmd, n);
bad:
	notify_free(n);
	resp_parse_error(cmd);
}

/* Wait (at most secs) for client bytes, the selected mailbox's watch
 * (selfd, -1: none) or a NOTIFY mailbox's; the latter are answered here. */
int imap_wait_events(struct client *c, int selfd, unsigned secs)
{
	struct notify *n = c->notify;
	struct pollfd pfd[NOTIFY_BOXES_MAX + 3] = {{.fd = c->io.in_fd, .events = POLLIN},
						    {.fd = selfd, .events = POLLIN},
						    {.fd = n ? notify_names_fd(n->names) : -1,
						     .events = POLLIN}};
	size_t k = 3;
	int lost = 0, ready;

	for (size_t i = 0; n && i < n->n; i++, k++) {
		pfd[k].fd = n->box[i].w ? mail_watch_name_fd(n->box[i].w) : -1;
		pfd[k].events = POLLIN;
		lost |= n->box[i].w && mail_watch_name_lost(n->box[i].w);
	}
	if (lost && secs > NOTIFY_PING_SECONDS)
		secs = NOTIFY_PING_SECONDS;
	ready = poll(pfd, k, (int)secs * 1000);
	for (size_t i = 0; n && i < n->n; i++)
		if (n->box[i].w && (pfd[i + 3].revents || mail_watch_name_lost(n->box[i].w)) &&
		    mail_watch_name_changed(&c->sess, n->box[i].name, n->box[i].w))
			notify_box_changed(c, &n->box[i]);
	/* last: it may add or drop boxes, and so move them in pfd */
	if (n && pfd[2].revents)
		notify_names_check(c, n->names);
	io_flush(&c->io);
	if (ready <= 0)
		return IMAP_WAIT_TIMEOUT;
	return pfd[0].revents ? IMAP_WAIT_CLIENT : pfd[1].revents ? IMAP_WAIT_MAILBOX :
	       IMAP_WAIT_OTHER;
}

int imap_client_pending(struct client *c)
{
	return c->io.rpos < c->io.rlen || (c->io.tr->pending && c->io.tr->pending(c->io.trctx) > 0);
}

/* Between commands: tell the client what its NOTIFY SET asks, until it
 * sends a command or the session's deadline passes. */
void imap_notify_wait(struct client *c)
{
	struct mail_err err;

	while (c->notify && !imap_client_pending(c) && !io_deadline_passed(&c->io)) {
		int selfd = c->box && c->notify->selected ? mail_watch_fd(c->box) : -1;
		unsigned secs = io_wait_seconds(&c->io),
			 most = selfd < 0 && c->box && c->notify->selected ? NOTIFY_PING_SECONDS :
									     NOTIFY_WATCHED_SECONDS;
		if (!secs || secs > most)
			secs = most;
		int why = imap_wait_events(c, selfd, secs);
		if (why == IMAP_WAIT_CLIENT)
			return;
		if (!c->box || !c->notify->selected ||
		    (why == IMAP_WAIT_MAILBOX && !mail_watch_changed(c->box)) || why == IMAP_WAIT_OTHER)
			continue;
		/* SELECTED-DELAYED: expunges wait for a command that may have them */
		if ((c->notify->delayed ? mail_flush(c->box, &err) : mail_ping(c->box, &err)) < 0)
			resp_untagged(c, "NO %s", err.text);
		io_flush(&c->io);
	}
}
