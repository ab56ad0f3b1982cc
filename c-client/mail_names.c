/* mail_names.c: NOTIFY's name events (mail_names.h). A snapshot of the
 * names LIST shows (each with its inode, so a rename is told apart from a
 * delete and a create) and of the subscriptions, and one inotify instance
 * on the directories holding them; when it wakes, everything is listed
 * again and the snapshots are compared. Nothing is read on a timer. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <unistd.h>

#include "driver.h"
#include "fsafe.h"
#include "mail_names.h"

/* Entries made, removed or renamed, and files closed after writing: a
 * mailbox file is made empty and becomes one once its first bytes are in
 * (an fsync may take longer than any wait for quiet). */
#define NAMES_MASK (IN_CREATE | IN_DELETE | IN_MOVED_FROM | IN_MOVED_TO | IN_CLOSE_WRITE | \
		    IN_ONLYDIR)
/* A burst of events (a mailbox made file by file) ends with this much quiet. */
#define NAMES_SETTLE_MS 40
#define NAMES_SETTLE_ROUNDS 25
/* Listing again after a new directory got its watch: at most this often. */
#define NAMES_RELIST_MAX 4
/* The attributes a change of is told (\Marked and the like are not names). */
#define NAMES_ATTRS (LA_NOINFERIORS | LA_NOSELECT | LA_HASCHILDREN | LA_HASNOCHILDREN)

struct name_ent {
	char *name;
	int attrs;
	dev_t dev;
	ino_t ino;                /* 0: not known (INBOX, a name not reached) */
};

struct names_snap {
	struct name_ent *v;
	size_t n;
	char **subs;
	size_t nsubs;
};

struct mail_names {
	int fd;
	int top_wd;               /* the highest watch made: a new one means a new directory */
	struct names_snap cur;
};

/* Free a snapshot's contents. */
static void snap_free(struct names_snap *sn)
{
	for (size_t i = 0; i < sn->n; i++)
		free(sn->v[i].name);
	free(sn->v);
	mail_subscriptions_free(sn->subs, sn->nsubs);
	memset(sn, 0, sizeof *sn);
}

/* mail_list's callback: one name into the snapshot. */
static void snap_listed(void *ctx, const char *name, int attrs)
{
	struct names_snap *sn = ctx;

	sn->v = xrealloc(sn->v, (sn->n + 1) * sizeof *sn->v);
	sn->v[sn->n++] = (struct name_ent){xstrdup(name), attrs & NAMES_ATTRS, 0, 0};
}

/* Watch the directory fd holds; a watch new to w says so. */
static void names_add_watch(struct mail_names *w, int fd)
{
	int wd = mail_inotify_fd(w->fd, fd, NAMES_MASK);

	if (wd > w->top_wd)
		w->top_wd = wd;
}

/* e's inode, and watches on the directory holding it and, when it may
 * hold other mailboxes, on itself. Reached by descriptor, never through a
 * link: a link named like a mailbox is no mailbox (mail_list skips it). */
static void names_locate(struct mail_session *s, struct mail_names *w, struct name_ent *e)
{
	struct mail_err err;
	struct fsafe_loc loc;
	struct stat st;
	char *path;

	if (!strcmp(e->name, "INBOX") || !(path = mail_resolve(s, e->name, &err)))
		return;   /* INBOX is always there; its spool directory is everyone's */
	if (fsafe_locate(s, path, 0, &loc, &err) == 0) {
		if (!loc.spool && fsafe_lstat(&loc, &st) == 0 && !S_ISLNK(st.st_mode)) {
			e->dev = st.st_dev;
			e->ino = st.st_ino;
			names_add_watch(w, loc.dirfd);
			int fd = S_ISDIR(st.st_mode) && !(e->attrs & LA_NOINFERIORS) ?
				 fsafe_open(&loc, O_PATH | O_DIRECTORY, 0) : -1;
			if (fd >= 0) {
				names_add_watch(w, fd);
				close(fd);
			}
		}
		fsafe_close(&loc);
	}
	free(path);
}

/* qsort/bsearch order of entries: by name. */
static int cmp_ent(const void *a, const void *b)
{
	return strcmp(((const struct name_ent *)a)->name, ((const struct name_ent *)b)->name);
}

/* qsort/bsearch order of subscriptions. */
static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The names and subscriptions now, with the watches they need. */
static void names_take(struct mail_session *s, struct mail_names *w, struct names_snap *sn)
{
	struct mail_err err;

	memset(sn, 0, sizeof *sn);
	mail_list(s, "", "*", snap_listed, sn, &err);
	/* the home holds ~/.mailboxlist and the top names; with a Maildir++
	 * INBOX its directory holds the folders and their subscriptions */
	if (fsafe_home(s) >= 0)
		names_add_watch(w, s->home_fd);
	if (s->ns_root) {
		int fd = fsafe_open_dir(s, s->ns_root, &err);
		if (fd >= 0) {
			names_add_watch(w, fd);
			close(fd);
		}
	}
	size_t kept = 0;
	for (size_t i = 0; i < sn->n; i++) {
		names_locate(s, w, &sn->v[i]);
		/* an empty directory is a mailbox being made (mix, MH: the
		 * directory first, its files next): watched, told once it holds
		 * something, so a client never sees it \Noselect first */
		if (sn->v[i].attrs == (LA_NOSELECT | LA_HASNOCHILDREN))
			free(sn->v[i].name);
		else
			sn->v[kept++] = sn->v[i];
	}
	sn->n = kept;
	if (sn->n)
		qsort(sn->v, sn->n, sizeof *sn->v, cmp_ent);
	if (mail_subscriptions(s, &sn->subs, &sn->nsubs, &err) < 0)
		sn->subs = NULL, sn->nsubs = 0;
	if (sn->nsubs)
		qsort(sn->subs, sn->nsubs, sizeof *sn->subs, cmp_str);
}

/* Take the names until no new directory turns up while they are read (a
 * mailbox made in a directory not yet watched would go unheard). */
static void names_take_settled(struct mail_session *s, struct mail_names *w,
			       struct names_snap *sn)
{
	for (int round = 0;; round++) {
		int top = w->top_wd;
		names_take(s, w, sn);
		if (w->top_wd == top || round == NAMES_RELIST_MAX)
			return;
		snap_free(sn);
	}
}

struct mail_names *mail_names_watch(struct mail_session *s, struct mail_err *err)
{
	struct mail_names *w = xcalloc(1, sizeof *w);

	w->fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	if (w->fd < 0) {
		mail_err_set(err, MAIL_FAIL, "no inotify: %s", strerror(errno));
		free(w);
		return NULL;
	}
	names_take_settled(s, w, &w->cur);
	return w;
}

int mail_names_fd(const struct mail_names *w)
{
	return w->fd;
}

/* Read every pending event; 1 when there was one. */
static int names_drain(struct mail_names *w)
{
	char buf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));
	int any = 0;

	while (read(w->fd, buf, sizeof buf) > 0)
		any = 1;
	return any;
}

/* Is name in the sorted subscription list of sn? */
static int snap_subscribed(const struct names_snap *sn, const char *name)
{
	return sn->nsubs && bsearch(&name, sn->subs, sn->nsubs, sizeof *sn->subs, cmp_str);
}

/* The entry of sn named name, or NULL. */
static const struct name_ent *snap_find(const struct names_snap *sn, const char *name)
{
	struct name_ent key = {.name = (char *)name};

	return sn->n ? bsearch(&key, sn->v, sn->n, sizeof *sn->v, cmp_ent) : NULL;
}

/* The entry of old with e's inode that new no longer has: e's old name. */
static const struct name_ent *names_renamed_from(const struct names_snap *old,
						 const struct names_snap *new,
						 const struct name_ent *e)
{
	for (size_t i = 0; e->ino && i < old->n; i++)
		if (old->v[i].ino == e->ino && old->v[i].dev == e->dev &&
		    !snap_find(new, old->v[i].name))
			return &old->v[i];
	return NULL;
}

/* Tell one change of name through fn. */
static void names_tell(mail_names_fn fn, void *ctx, const struct names_snap *old,
		       const struct names_snap *new, enum mail_name_what what, const char *name,
		       const char *oldname, int attrs)
{
	struct mail_name_change ch = {what, name, oldname, attrs,
				      snap_subscribed(old, name) || snap_subscribed(new, name)};

	fn(ctx, &ch);
}

/* The names new has that old had not (made or renamed to), and those
 * whose attributes differ. */
static int names_diff_new(const struct names_snap *old, const struct names_snap *new,
			  mail_names_fn fn, void *ctx, char *renamed)
{
	int told = 0;

	for (size_t i = 0; i < new->n; i++) {
		const struct name_ent *e = &new->v[i], *o = snap_find(old, e->name);
		if (o && o->attrs == e->attrs)
			continue;
		const struct name_ent *from = o ? NULL : names_renamed_from(old, new, e);
		if (from)
			renamed[from - old->v] = 1;
		names_tell(fn, ctx, old, new,
			   o ? MAIL_NAME_ATTRS : from ? MAIL_NAME_RENAMED : MAIL_NAME_CREATED,
			   e->name, from ? from->name : NULL, e->attrs);
		told++;
	}
	return told;
}

/* Every difference between old and new through fn; how many. */
static int names_diff(const struct names_snap *old, const struct names_snap *new,
		      mail_names_fn fn, void *ctx)
{
	char *renamed = xcalloc(old->n + 1, 1);
	int told = names_diff_new(old, new, fn, ctx, renamed);

	for (size_t i = 0; i < old->n; i++)
		if (!renamed[i] && !snap_find(new, old->v[i].name)) {
			names_tell(fn, ctx, old, new, MAIL_NAME_DELETED, old->v[i].name, NULL,
				   LA_NONEXISTENT);
			told++;
		}
	free(renamed);
	for (int on = 0; on < 2; on++) {
		const struct names_snap *from = on ? old : new, *to = on ? new : old;
		for (size_t i = 0; i < from->nsubs; i++) {
			if (snap_subscribed(to, from->subs[i]))
				continue;
			const struct name_ent *e = snap_find(new, from->subs[i]);
			names_tell(fn, ctx, old, new, on ? MAIL_NAME_UNSUBSCRIBED : MAIL_NAME_SUBSCRIBED,
				   from->subs[i], NULL, e ? e->attrs : LA_NONEXISTENT);
			told++;
		}
	}
	return told;
}

int mail_names_changed(struct mail_session *s, struct mail_names *w, mail_names_fn fn, void *ctx)
{
	struct pollfd pfd = {.fd = w->fd, .events = POLLIN};
	struct names_snap now;

	if (!names_drain(w))
		return 0;
	/* a burst (a mailbox made entry by entry, a rename of a tree) is
	 * listed once it is over, not half made */
	for (int i = 0; i < NAMES_SETTLE_ROUNDS && poll(&pfd, 1, NAMES_SETTLE_MS) > 0; i++)
		names_drain(w);
	names_take_settled(s, w, &now);
	int told = names_diff(&w->cur, &now, fn, ctx);
	snap_free(&w->cur);
	w->cur = now;
	return told;
}

void mail_names_free(struct mail_names *w)
{
	if (!w)
		return;
	close(w->fd);
	snap_free(&w->cur);
	free(w);
}
