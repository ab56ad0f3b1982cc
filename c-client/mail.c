/* mail.c: the generic mailbox API. Maps client names to a driver and a path
 * (by name first: "#driver.FORMAT/", INBOX, a Maildir++ namespace), keeps
 * the per-mailbox message cache and what all drivers share (driver.h), and
 * implements the namespace operations with defaults a driver may replace. */
#include "mail_api.h"
#include "driver.h"
#include "fsafe.h"
#include "lock.h"
#include "config.h"
#include "net.h"
#include "unix_index.h"
#include "specialuse.h"
#include "mail_modseq.h"
#include "quota.h"
#include "imap_cache.h"
#include "metadata.h"
#include "objectid.h"

#include <malloc.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

extern const struct driver driver_unix;
extern const struct driver driver_maildir;
extern const struct driver driver_mh;
extern const struct driver driver_mmdf;
extern const struct driver driver_mix;
extern const struct driver driver_mbx;
extern const struct driver driver_imap;   /* "{host}name", never by probing */
extern const struct driver driver_pop3;   /* "{host/pop3}INBOX" */
extern const struct driver driver_nntp;   /* "{host/nntp}group" */

/* Every format, tried in this order on an existing mailbox; the first is
 * the spool's. A new format is one line here. */
static const struct driver *const drivers[] = {
	&driver_unix,
	&driver_maildir,
	&driver_mix,  /* before mh: a directory with .mixmeta is mix */
	&driver_mh,   /* after maildir: a Maildir is no MH folder */
	&driver_mmdf, /* a file starting with a Ctrl-A line: never a From line */
	&driver_mbx,  /* a file starting "*mbx*\r\n": no mbox (From line) */
};

#define LIST_MAX_DEPTH 16

void mail_err_set(struct mail_err *err, enum mail_code code, const char *fmt, ...)
{
	va_list ap;

	if (!err)
		return;
	err->code = code;
	va_start(ap, fmt);
	vsnprintf(err->text, sizeof err->text, fmt, ap);
	va_end(ap);
}

void mail_session_init(struct mail_session *s, const char *user, const char *home,
		       const char *spool_dir)
{
	memset(s, 0, sizeof *s);
	s->user = xstrdup(user ? user : "");
	s->home = xstrdup(home ? home : "/");
	s->spool_dir = xstrdup(spool_dir ? spool_dir : SPOOLDIR);
}

void mail_session_free(struct mail_session *s)
{
	if (s->anchors_open) {
		if (s->home_fd >= 0)
			close(s->home_fd);
		if (s->spool_fd >= 0)
			close(s->spool_fd);
	}
	free(s->user);
	free(s->home);
	free(s->spool_dir);
	free(s->inbox_cfg);
	free(s->format_cfg);
	imap_cache_free(s);
	free(s->inbox_path);
	mail_special_free(s);
	memset(s, 0, sizeof *s);
}

void mail_session_setup(struct mail_session *s, const char *user, const char *home,
			const struct config *cfg)
{
	mail_session_init(s, user, home, cfg->spool_dir);
	s->allow_outside_home = cfg->allow_outside_home;
	s->inbox_mbox = cfg->inbox_mbox;
	s->max_keywords = cfg->max_keywords;
	mail_session_formats(s, cfg->inbox, cfg->mail_format);
	mail_special_setup(s, cfg);
	mail_quota_setup(s, cfg);
}

void mail_session_formats(struct mail_session *s, const char *inbox, const char *mail_format)
{
	free(s->inbox_cfg);
	free(s->format_cfg);
	s->inbox_cfg = inbox && *inbox ? xstrdup(inbox) : NULL;
	s->format_cfg = mail_format && *mail_format ? xstrdup(mail_format) : NULL;
	free(s->inbox_path);
	s->inbox_path = NULL;
	s->inbox_drv = NULL;
	s->ns_root = NULL;
	s->spool_pull = 0;
}

const struct driver *mail_driver_named(const char *name)
{
	for (size_t i = 0; i < ARRAY_SIZE(drivers); i++)
		if (!strcasecmp(drivers[i]->name, name) ||
		    (drivers[i]->alias && !strcasecmp(drivers[i]->alias, name)))
			return drivers[i];
	return NULL;
}

static int is_inbox(const char *name)
{
	return !strcasecmp(name, "INBOX");
}

static char *join(const char *dir, const char *name)
{
	size_t dl = strlen(dir);
	struct buf b;

	buf_init(&b);
	buf_puts(&b, dir);
	if (dl && dir[dl - 1] != '/')
		buf_putc(&b, '/');
	buf_puts(&b, name);
	return buf_steal(&b);
}

int mail_name_climbs(const char *name)
{
	for (const char *p = name; *p;) {
		const char *e = strchr(p, '/');
		size_t n = e ? (size_t)(e - p) : strlen(p);
		if (n == 2 && p[0] == '.' && p[1] == '.')
			return 1;
		p += n;
		while (*p == '/')
			p++;
	}
	return 0;
}

/* "~/x" and "~user/x" when names outside home are allowed. */
static char *tilde(struct mail_session *s, const char *name, struct mail_err *err)
{
	const char *slash = strchr(name, '/');
	size_t ul = slash ? (size_t)(slash - name - 1) : strlen(name + 1);
	const char *rest = slash ? slash + 1 : "";

	if (ul == 0)
		return join(s->home, rest);
	char *user = xstrndup(name + 1, ul);
	struct passwd *pw = getpwnam(user);
	free(user);
	if (!pw) {
		mail_err_set(err, MAIL_BADNAME, "no such user in mailbox name %s", name);
		return NULL;
	}
	return join(pw->pw_dir, rest);
}

/* A name in the home directory's namespace to a path, or NULL with err. */
static char *home_path(struct mail_session *s, const char *name, struct mail_err *err)
{
	if (!*name) {
		mail_err_set(err, MAIL_BADNAME, "empty mailbox name");
		return NULL;
	}
	if (!s->allow_outside_home) {
		if (name[0] == '/' || name[0] == '~' || mail_name_climbs(name)) {
			mail_err_set(err, MAIL_BADNAME,
				     "mailbox names must stay inside your home directory: %s", name);
			return NULL;
		}
		return join(s->home, name);
	}
	if (name[0] == '/')
		return xstrdup(name);
	if (name[0] == '~')
		return tilde(s, name, err);
	return join(s->home, name);
}

/* Error for a mailbox that could not be opened (errno e). */
static void open_error(const char *name, int e, struct mail_err *err)
{
	if (e == ENOENT)
		mail_err_set(err, MAIL_NONEXISTENT, "mailbox %s does not exist", name);
	else if (e == ELOOP)
		mail_err_set(err, MAIL_NOPERM, "%s is a symbolic link: mailboxes are not reached "
			     "through links", name);
	else
		mail_err_set(err, e == EACCES ? MAIL_NOPERM : MAIL_FAIL, "%s: %s", name,
			     strerror(e));
}

int mail_valid_open(int dirfd, const char *leaf, const struct stat *st)
{
	if (!S_ISREG(st->st_mode))
		return -1;
	/* O_NONBLOCK: a FIFO swapped in meanwhile must not hang us */
	return openat(dirfd, leaf, O_RDONLY | O_NONBLOCK | O_NOFOLLOW | O_CLOEXEC);
}

/* The format of leaf in dirfd (lstat'ed as *st): only, if given, the one
 * asked for, else the first driver that recognises it; NULL for none. */
static const struct driver *probe(int dirfd, const char *leaf, const struct stat *st,
				  const struct driver *only)
{
	if (only)
		return only->valid(dirfd, leaf, st) ? only : NULL;
	for (size_t i = 0; i < ARRAY_SIZE(drivers); i++)
		if (drivers[i]->valid(dirfd, leaf, st))
			return drivers[i];
	return NULL;
}

/* A mailbox's state on disk. */
enum { BOX_ERROR = -1, BOX_THERE, BOX_MISSING };

/* Does the mailbox at path exist, and in which format (only, if given,
 * else any)? BOX_THERE with *drv set (and *writable, if asked), or
 * BOX_MISSING (path or a directory above it is absent), or BOX_ERROR with
 * err: a link, a file of no format we know, or a failure. */
static int examine(struct mail_session *s, const char *name, const char *path,
		   const struct driver *only, const struct driver **drv, int *writable,
		   struct mail_err *err)
{
	struct fsafe_loc loc;
	struct stat st;
	int r = BOX_ERROR;

	*drv = NULL;
	if (fsafe_locate(s, path, 0, &loc, err) < 0)
		return errno == ENOENT ? BOX_MISSING : BOX_ERROR;
	if (fsafe_lstat(&loc, &st) < 0) {
		if (errno == ENOENT)
			r = BOX_MISSING;
		else
			open_error(name, errno, err);
	} else if (S_ISLNK(st.st_mode)) {
		open_error(name, ELOOP, err);
	} else if ((*drv = probe(loc.dirfd, loc.leaf, &st, only)) != NULL) {
		r = BOX_THERE;
		if (writable)
			*writable = faccessat(loc.dirfd, loc.leaf, W_OK, 0) == 0;
	} else if (S_ISDIR(st.st_mode) && !only) {
		mail_err_set(err, MAIL_FAIL, "%s is a directory, not a mailbox", name);
	} else {
		int fd = S_ISREG(st.st_mode) ? fsafe_open(&loc, O_RDONLY | O_NONBLOCK, 0) : 0;
		if (fd < 0)
			open_error(name, errno, err);
		else if (only)
			mail_err_set(err, MAIL_NOTMAILBOX, "%s is not a mailbox of format %s", name,
				     only->name);
		else
			mail_err_set(err, MAIL_NOTMAILBOX, "%s is not a mailbox in a format we know",
				     name);
		if (fd > 0)
			close(fd);
	}
	fsafe_close(&loc);
	return r;
}

/* "~/x" in the configuration: relative to the home directory. */
static char *config_path(struct mail_session *s, const char *v)
{
	if (v[0] == '~' && (v[1] == '/' || !v[1]))
		return join(s->home, v[1] ? v + 2 : "");
	if (v[0] == '/')
		return xstrdup(v);
	return join(s->home, v);
}

/* The driver of new mailboxes where nothing else decides: mail_format,
 * else INBOX's. */
static const struct driver *new_format(struct mail_session *s);
static void watch_free(struct mailbox *box);
static int open_at(struct mail_session *s, const char *name, char *path,
		   const struct driver *d, int readonly, const struct mail_events *ev,
		   void *evctx, struct mailbox **out, struct mail_err *err);
static int spool_pull(struct mail_session *s, struct mail_err *err);
static int is_pulled_inbox(const struct mailbox *box);

/* UW's ~/INBOX, when it is a mailbox file of a format other than the
 * spool's (UW's mbx driver keeps INBOX there; a directory there stays a
 * folder): its driver, inbox_path set. */
static const struct driver *inbox_home(struct mail_session *s)
{
	const struct driver *d = NULL;
	struct mail_err ignore;
	char *p = join(s->home, "INBOX");

	/* UW's ~/INBOX: a file of another format than mbox (mbx), or a mix
	 * mailbox (the directory formats UW had no INBOX for are not) */
	if (fsafe_home(s) >= 0 && examine(s, "INBOX", p, NULL, &d, NULL, &ignore) == BOX_THERE &&
	    d != drivers[0] && (!(d->flags & DRV_DIRECTORY) || d == &driver_mix)) {
		s->inbox_path = p;
		return d;
	}
	free(p);
	return NULL;
}

/* nmh's inbox, ~/Mail/inbox, when the user has a ~/.mh_profile (a plain
 * file, no link) and that folder is an MH mailbox: UW's #mhinbox at the
 * profile's default Path (another Path is set with the inbox key). */
static const struct driver *inbox_mh(struct mail_session *s)
{
	const struct driver *d = NULL;
	struct mail_err ignore;
	struct stat st;
	int home = fsafe_home(s);

	if (home < 0 || fstatat(home, ".mh_profile", &st, AT_SYMLINK_NOFOLLOW) < 0 ||
	    !S_ISREG(st.st_mode))
		return NULL;
	char *p = join(s->home, "Mail/inbox");
	if (examine(s, "INBOX", p, &driver_mh, &d, NULL, &ignore) == BOX_THERE && d == &driver_mh) {
		s->inbox_path = p;
		return d;
	}
	free(p);
	return NULL;
}

/* Find INBOX once per session: the configured path, else ~/Maildir when it
 * is a mailbox, else ~/INBOX when it is UW's (mbx, mix ...), else an nmh
 * user's ~/Mail/inbox, else the spool file. A Maildir++ INBOX brings its
 * namespace: every other name is a folder inside it. */
static void inbox_find(struct mail_session *s)
{
	const struct driver *d = NULL;
	struct mail_err ignore;

	if (s->inbox_drv)
		return;
	if (s->inbox_cfg) {
		s->inbox_path = config_path(s, s->inbox_cfg);
		if (examine(s, "INBOX", s->inbox_path, NULL, &d, NULL, &ignore) != BOX_THERE) {
			/* not made yet: the format mail_format names, else a
			 * directory format (a configured INBOX is a Maildir) */
			d = s->format_cfg ? mail_driver_named(s->format_cfg) : NULL;
			for (size_t i = 0; !d && i < ARRAY_SIZE(drivers); i++)
				if (drivers[i]->flags & DRV_DIRECTORY)
					d = drivers[i];
		}
	} else if (s->inbox_mbox && examine(s, "INBOX", (s->inbox_path = join(s->home, "mbox")),
					    drivers[0], &d, NULL, &ignore) == BOX_THERE) {
		s->spool_pull = 1;   /* the classic ~/mbox: spool mail moves in */
	} else {
		free(s->inbox_path);
		s->inbox_path = NULL;
		d = NULL;
		char *md = join(s->home, "Maildir");
		if (fsafe_home(s) >= 0 &&
		    examine(s, "INBOX", md, NULL, &d, NULL, &ignore) == BOX_THERE &&
		    (d->flags & DRV_DIRECTORY)) {
			s->inbox_path = md;
		} else {
			free(md);
			d = inbox_home(s);
			if (!d)
				d = inbox_mh(s);
		}
	}
	if (!d) {
		free(s->inbox_path);
		s->inbox_path = join(s->spool_dir, s->user);
		/* a spool file in another file format (UW's MMDF) is read as such */
		if (examine(s, "INBOX", s->inbox_path, NULL, &d, NULL, &ignore) != BOX_THERE ||
		    (d->flags & DRV_DIRECTORY))
			d = drivers[0];
	}
	s->inbox_drv = d;
	s->ns_root = d->ns_path ? s->inbox_path : NULL;
}

static const struct driver *new_format(struct mail_session *s)
{
	const struct driver *d = s->format_cfg ? mail_driver_named(s->format_cfg) : NULL;

	inbox_find(s);
	return d ? d : s->inbox_drv;
}

/* Where a client's mailbox name lives. */
struct where {
	char *path;
	const struct driver *drv;   /* the format the name implies, or NULL: any */
	int inbox;
	int ns;                     /* a folder in INBOX's namespace */
	int net;                    /* "{host}name": the network driver's */
};

#define FORCE_PREFIX "#driver."

/* A network name, for a client program only (the daemons refuse it). */
static int net_where(struct mail_session *s, const char *name, struct where *w,
		     struct mail_err *err)
{
	struct net_name nm;

	if (!s->client) {
		mail_err_set(err, MAIL_BADNAME, "%s: network mailbox names are not served here", name);
		return -1;
	}
	if (net_name_parse(name, &nm, err) < 0)
		return -1;
	w->drv = !strcmp(nm.service, "pop3") ? &driver_pop3 :
		 !strcmp(nm.service, "nntp") ? &driver_nntp : &driver_imap;
	w->net = 1;
	w->path = xstrdup(name);
	return 0;
}

/* Map name to a path and the driver it implies, before anything on disk
 * is looked at: "#driver.FORMAT/name" forces a format; INBOX is where
 * inbox_find put it; a Maildir++ INBOX's folders are inside it; anything
 * else is under the home directory, of any format. */
static int where_of(struct mail_session *s, const char *name, struct where *w,
		    struct mail_err *err)
{
	memset(w, 0, sizeof *w);
	if (!name || !*name) {
		mail_err_set(err, MAIL_BADNAME, "empty mailbox name");
		return -1;
	}
	if (strpbrk(name, "\r\n")) {
		mail_err_set(err, MAIL_BADNAME, "line breaks are not allowed in mailbox names");
		return -1;
	}
	if (net_name_is(name))
		return net_where(s, name, w, err);
	if (!strncasecmp(name, FORCE_PREFIX, strlen(FORCE_PREFIX))) {
		const char *fmt = name + strlen(FORCE_PREFIX), *slash = strchr(fmt, '/');
		char *f = xstrndup(fmt, slash ? (size_t)(slash - fmt) : strlen(fmt));
		w->drv = mail_driver_named(f);
		if (!w->drv || !slash)
			mail_err_set(err, MAIL_BADNAME, !w->drv ? "no mailbox format is called %s" :
				     "%s: a name must follow the format", f);
		free(f);
		if (!w->drv || !slash)
			return -1;
		w->path = home_path(s, slash + 1, err);
	} else if (is_inbox(name)) {
		inbox_find(s);
		w->inbox = 1;
		w->drv = s->inbox_drv;
		w->path = xstrdup(s->inbox_path);
	} else {
		inbox_find(s);
		if (s->ns_root && name[0] != '/' && name[0] != '~') {
			w->ns = 1;
			w->drv = s->inbox_drv;
			w->path = w->drv->ns_path(s->ns_root, name, err);
		} else {
			w->path = home_path(s, name, err);
		}
	}
	/* refused here, before any lock is tried on a name that cannot exist */
	if (w->path && fsafe_check_length(w->path, err) < 0) {
		free(w->path);
		w->path = NULL;
	}
	return w->path ? 0 : -1;
}

char *mail_resolve(struct mail_session *s, const char *name, struct mail_err *err)
{
	struct where w;

	return where_of(s, name, &w, err) < 0 ? NULL : w.path;
}

/* Locate name and the driver of the mailbox there: BOX_THERE, BOX_MISSING
 * (w->drv then says the format it would have), or BOX_ERROR with err. */
static int find_box(struct mail_session *s, const char *name, struct where *w, int *writable,
		    struct mail_err *err)
{
	const struct driver *d;
	int r;

	if (where_of(s, name, w, err) < 0)
		return BOX_ERROR;
	if (w->net)
		return BOX_THERE;   /* the server will say */
	r = examine(s, name, w->path, w->drv, &d, writable, err);
	if (r == BOX_THERE)
		w->drv = d;
	if (r == BOX_ERROR) {
		free(w->path);
		w->path = NULL;
	}
	return r;
}

int mail_open(struct mail_session *s, const char *name, int readonly,
	      const struct mail_events *ev, void *evctx, struct mailbox **out,
	      struct mail_err *err)
{
	struct where w;
	int writable = 1;

	*out = NULL;
	switch (find_box(s, name, &w, &writable, err)) {
	case BOX_ERROR:
		return -1;
	case BOX_MISSING:
		/* an INBOX not made yet is empty (a spool file comes with the
		 * first delivery; any other format makes it now) */
		if (!w.inbox) {
			open_error(name, ENOENT, err);
			free(w.path);
			return -1;
		}
		if (w.drv != drivers[0] && w.drv->create(s, w.path, err) < 0 &&
		    err->code != MAIL_EXISTS) {
			free(w.path);
			return -1;
		}
		break;
	}
	if (w.inbox && s->spool_pull && !readonly && spool_pull(s, err) < 0) {
		free(w.path);
		return -1;
	}
	return open_at(s, w.inbox ? "INBOX" : name, w.path, w.drv, readonly || !writable, ev,
		       evctx, out, err);
}

/* Open the mailbox at path with driver d (path becomes the box's). */
static int open_at(struct mail_session *s, const char *name, char *path,
		   const struct driver *d, int readonly, const struct mail_events *ev,
		   void *evctx, struct mailbox **out, struct mail_err *err)
{
	struct mailbox *box = xcalloc(1, sizeof *box);

	box->sess = s;
	box->drv = d;
	box->name = xstrdup(name);
	box->path = path;
	box->readonly = readonly;
	box->ev = ev;
	box->evctx = evctx;
	mseq_begin(box);   /* before the driver's lock: always in this order */
	int r = d->open(box, err);
	if (r < 0 && err->code == MAIL_NOPERM && !box->readonly) {
		/* We may read the mailbox but not lock or rewrite it (a Debian
		 * spool without group mail): serve it read-only and say why,
		 * rather than refusing the user their mail. */
		char why[sizeof err->text];
		str_copy(why, err->text, sizeof why);
		for (unsigned i = 0; i < box->nkeywords; i++)
			free(box->keywords[i]);
		box->nkeywords = 0;
		box->recent = box->nmsgs = 0;
		box->uidvalidity = box->uidnext = 0;
		box->readonly = 1;
		r = d->open(box, err);
		if (r == 0 && ev && ev->notice) {
			char msg[sizeof why + 64];
			snprintf(msg, sizeof msg, "Opened read-only, changes cannot be saved: %s", why);
			ev->notice(evctx, msg);
		}
	}
	mseq_end(box, r == 0);
	if (r < 0) {
		mseq_free(box);
		for (unsigned i = 0; i < box->nkeywords; i++)
			free(box->keywords[i]);
		free(box->name);
		free(box->path);
		free(box);
		return -1;
	}
	*out = box;
	return 0;
}

int mail_save(struct mailbox *box, int expunge, struct mail_err *err)
{
	const struct mail_events *ev = box->ev;
	int rc = 0;

	if (box->readonly)
		return 0;
	box->ev = NULL;   /* CLOSE is silent */
	mseq_begin(box);
	if (expunge)
		rc = box->drv->expunge(box, NULL, 0, err);
	if (rc == 0)
		rc = box->drv->check(box, err);
	mseq_end(box, 1);
	box->ev = ev;
	return rc;
}

int mail_close(struct mailbox *box, int expunge, struct mail_err *err)
{
	struct mail_err ignore;
	int rc;

	if (!box)
		return 0;
	rc = mail_save(box, expunge, err ? err : &ignore);
	box->drv->close(box);
	mseq_free(box);
	watch_free(box);
	free(box->parsed_ring);
	for (unsigned i = 0; i < box->nkeywords; i++)
		free(box->keywords[i]);
	free(box->name);
	free(box->path);
	free(box);
	return rc;
}

int mail_flush(struct mailbox *box, struct mail_err *err)
{
	mseq_begin(box);
	int rc = box->drv->flush ? box->drv->flush(box, err) : 0;
	mseq_end(box, 0);
	return rc;
}

/* Is box the ~/mbox INBOX that spool mail moves into? */
static int is_pulled_inbox(const struct mailbox *box)
{
	return box->sess && box->sess->spool_pull && !box->readonly && !strcmp(box->name, "INBOX") &&
	       box->sess->inbox_path && !strcmp(box->path, box->sess->inbox_path);
}

/* In the ~/mbox mode, move new spool mail into INBOX before looking. */
static int pull_first(struct mailbox *box, struct mail_err *err)
{
	return is_pulled_inbox(box) ? spool_pull(box->sess, err) : 0;
}

/* A driver call that learns the whole mailbox state, with its modseqs. */
static int synced(struct mailbox *box, int (*fn)(struct mailbox *, struct mail_err *),
		  struct mail_err *err)
{
	mseq_begin(box);
	int rc = fn(box, err);
	mseq_end(box, 1);
	return rc;
}

int mail_ping(struct mailbox *box, struct mail_err *err)
{
	if (pull_first(box, err) < 0)
		return -1;
	return synced(box, box->drv->ping, err);
}

int mail_check(struct mailbox *box, struct mail_err *err)
{
	if (pull_first(box, err) < 0)
		return -1;
	return synced(box, box->drv->check, err);
}


int mail_expunge(struct mailbox *box, const uint32_t *uids, size_t nuids, struct mail_err *err)
{
	if (box->readonly) {
		mail_err_set(err, MAIL_NOPERM, "mailbox %s is read-only", box->name);
		return -1;
	}
	mseq_begin(box);
	int rc = box->drv->expunge(box, uids, nuids, err);
	mseq_end(box, 1);
	return rc;
}

static int msgno_ok(struct mailbox *box, uint32_t msgno, struct mail_err *err)
{
	if (msgno < 1 || msgno > box->nmsgs) {
		mail_err_set(err, MAIL_FAIL, "no message %u in %s", msgno, box->name);
		return 0;
	}
	return 1;
}

int mail_fetch_text(struct mailbox *box, uint32_t msgno, const char **text, size_t *len,
		    struct mail_err *err)
{
	if (!msgno_ok(box, msgno, err))
		return -1;
	return box->drv->fetch(box, msgno, text, len, err);
}

uint32_t mail_uid_lower(const struct mailbox *box, uint32_t uid)
{
	uint32_t lo = 0, hi = box->nmsgs;

	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;
		if (box->msgs[mid]->uid < uid)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

uint32_t mail_msgno(const struct mailbox *box, uint32_t uid)
{
	uint32_t i = mail_uid_lower(box, uid);

	return i < box->nmsgs && box->msgs[i]->uid == uid ? i + 1 : 0;
}

/* Remember that m now holds a parse; drop the oldest one beyond the limit. */
static void parsed_remember(struct mailbox *box, struct message *m)
{
	if (!box->parsed_ring)
		box->parsed_ring = xcalloc(MAIL_PARSED_CACHE, sizeof *box->parsed_ring);
	uint32_t old = box->parsed_ring[box->parsed_next];
	uint32_t oldno = old ? mail_msgno(box, old) : 0;
	if (oldno && box->msgs[oldno - 1] != m) {
		struct message *o = box->msgs[oldno - 1];
		pool_free(o->pool);
		o->pool = NULL;
		o->env = NULL;
		o->body = NULL;
	}
	box->parsed_ring[box->parsed_next] = m->uid;
	box->parsed_next = (box->parsed_next + 1) % MAIL_PARSED_CACHE;
}

int mail_fetch_structure(struct mailbox *box, uint32_t msgno, struct envelope **env,
			 struct body **body, struct mail_err *err)
{
	struct message *m;
	const char *text;
	size_t len;

	if (!msgno_ok(box, msgno, err))
		return -1;
	m = box->msgs[msgno - 1];
	if (!m->env || !m->body) {
		if (box->drv->fetch(box, msgno, &text, &len, err) < 0)
			return -1;
		if (!m->pool)
			m->pool = pool_new_small();
		rfc822_parse(m->pool, text, len, &m->env, &m->body);
		if (m->uid)
			parsed_remember(box, m);
	}
	if (env)
		*env = m->env;
	if (body)
		*body = m->body;
	return 0;
}

int mail_fetch_header(struct mailbox *box, uint32_t msgno, const char **text, size_t *len,
		      struct mail_err *err)
{
	if (!msgno_ok(box, msgno, err))
		return -1;
	return (box->drv->fetch_header ? box->drv->fetch_header : box->drv->fetch)(box, msgno, text,
										   len, err);
}

int mail_scan_raw(struct mailbox *box, uint32_t first, uint32_t last,
		  void (*fn)(void *ctx, uint32_t msgno, const struct raw_msg *m), void *ctx,
		  struct mail_err *err)
{
	if (!box->drv->scan_raw)
		return 0;
	if (!msgno_ok(box, first, err) || !msgno_ok(box, last, err))
		return -1;
	if (last < first) {
		mail_err_set(err, MAIL_FAIL, "message range %u:%u is backwards", first, last);
		return -1;
	}
	return box->drv->scan_raw(box, first, last, fn, ctx, err);
}

int mail_fetch_envelope(struct mailbox *box, uint32_t msgno, struct envelope **env,
			struct mail_err *err)
{
	struct message *m;
	const char *text;
	size_t len;

	if (!msgno_ok(box, msgno, err))
		return -1;
	m = box->msgs[msgno - 1];
	if (!m->env && !box->drv->fetch_header)
		return mail_fetch_structure(box, msgno, env, NULL, err);
	if (!m->env) {
		if (box->drv->fetch_header(box, msgno, &text, &len, err) < 0)
			return -1;
		if (!m->pool)
			m->pool = pool_new_small();
		/* a header alone says nothing true of the structure: the envelope
		 * is all there is to keep (mail_fetch_structure parses all) */
		m->env = rfc822_parse_envelope(m->pool, text, len);
		if (m->uid)
			parsed_remember(box, m);
	}
	*env = m->env;
	return 0;
}

int mail_store(struct mailbox *box, uint32_t msgno, enum mail_store_op op, uint32_t flags,
	       const struct kwset *keywords, struct mail_err *err)
{
	struct message *m;
	struct kwset kw = KWSET_EMPTY, waskw = KWSET_EMPTY;

	if (!msgno_ok(box, msgno, err))
		return -1;
	if (box->readonly) {
		mail_err_set(err, MAIL_NOPERM, "mailbox %s is read-only", box->name);
		return -1;
	}
	m = box->msgs[msgno - 1];
	/* only names the mailbox knows; the old set for the change test */
	for (int k = keywords ? kwset_next(keywords, 0) : -1; k >= 0 && (unsigned)k < box->nkeywords;
	     k = kwset_next(keywords, (unsigned)k + 1))
		kwset_set(&kw, (unsigned)k);
	kwset_copy(&waskw, &m->keywords);
	uint32_t was = m->flags;
	flags &= MF_STORABLE;
	switch (op) {
	case STORE_SET:
		m->flags = (m->flags & ~MF_STORABLE) | flags;
		kwset_copy(&m->keywords, &kw);
		break;
	case STORE_ADD:
		m->flags |= flags;
		kwset_union(&m->keywords, &kw);
		break;
	case STORE_REMOVE:
		m->flags &= ~flags;
		kwset_minus(&m->keywords, &kw);
		break;
	}
	if (m->flags != was || !kwset_equal(&m->keywords, &waskw))
		mseq_touch(box, msgno);
	kwset_free(&kw);
	kwset_free(&waskw);
	return 0;
}

/* IMAP atom characters, minus the flag-ish backslash. */
int mail_keyword_valid(const char *name)
{
	if (!*name)
		return 0;
	for (const unsigned char *p = (const unsigned char *)name; *p; p++)
		if (*p <= ' ' || *p >= 0x7f || strchr("(){%*\"\\]", *p))
			return 0;
	return 1;
}

unsigned mail_keywords_max(const struct mailbox *box)
{
	unsigned max = MAIL_KEYWORDS_MAX, cfg = box->sess ? box->sess->max_keywords : 0;

	if (box->keywords_max && box->keywords_max < max)
		max = box->keywords_max;
	return cfg && cfg < max ? cfg : max;
}

size_t mail_keyword_names(const struct mailbox *box, const struct message *m, char **out)
{
	size_t j = 0;

	for (int k = kwset_next(&m->keywords, 0); k >= 0 && (unsigned)k < box->nkeywords;
	     k = kwset_next(&m->keywords, (unsigned)k + 1))
		out[j++] = box->keywords[k];
	out[j] = NULL;
	return j;
}

int mail_keyword(struct mailbox *box, const char *name, int create)
{
	for (unsigned i = 0; i < box->nkeywords; i++)
		if (!strcasecmp(box->keywords[i], name))
			return (int)i;
	if (!create || !box->keywords_creatable || box->nkeywords >= mail_keywords_max(box) ||
	    !mail_keyword_valid(name))
		return -1;
	box->keywords[box->nkeywords] = xstrdup(name);
	return (int)box->nkeywords++;
}

void mail_keyword_forget(struct mailbox *box, unsigned keep)
{
	while (box->nkeywords > keep) {
		for (uint32_t i = 0; i < box->nmsgs; i++)
			if (kwset_test(&box->msgs[i]->keywords, box->nkeywords - 1))
				return;
		free(box->keywords[--box->nkeywords]);
	}
}

/* Do two network names lead to the same server and user? */
static int net_same_names(const char *a, const char *b)
{
	struct net_name na, nb;
	struct mail_err ignore;

	return net_name_parse(a, &na, &ignore) == 0 && net_name_parse(b, &nb, &ignore) == 0 &&
	       net_same_server(&na, &nb);
}

void mail_new_meta(struct mailbox *box, const struct message *m, struct mail_new *nm)
{
	nm->flags = m->flags & MF_STORABLE;
	nm->date = m->internal_date;
	nm->tz_minutes = m->tz_minutes;
	nm->keywords = xcalloc(box->nkeywords + 1, sizeof(char *));
	mail_keyword_names(box, m, nm->keywords);
}

/* Collect messages as struct mail_new (owning copies of the texts). */
static struct mail_new *gather(struct mailbox *box, const uint32_t *msgnos, size_t n,
			       struct mail_err *err)
{
	struct mail_new *nm = xcalloc(n + 1, sizeof *nm);

	for (size_t i = 0; i < n; i++) {
		const char *text;
		size_t len;
		if (!msgno_ok(box, msgnos[i], err) ||
		    box->drv->fetch(box, msgnos[i], &text, &len, err) < 0) {
			for (size_t k = 0; k < i; k++) {
				free((char *)nm[k].text);
				free(nm[k].keywords);
			}
			free(nm);
			return NULL;
		}
		mail_new_meta(box, box->msgs[msgnos[i] - 1], &nm[i]);
		nm[i].text = xstrndup(text, len);
		nm[i].len = len;
	}
	return nm;
}

static void gather_free(struct mail_new *nm, size_t n)
{
	for (size_t i = 0; nm && i < n; i++) {
		free((char *)nm[i].text);
		free(nm[i].keywords);
	}
	free(nm);
}

static int append_at(struct mail_session *s, const char *name, const struct mail_new *msgs,
		     size_t n, uint32_t *uidvalidity_out, uint32_t *uids_out, struct mail_err *err);

/* The quota (quota.c) must hold the copies of msgnos. */
static int copy_admit(struct mailbox *box, const uint32_t *msgnos, size_t n,
		      struct mail_err *err)
{
	uint64_t bytes = 0;

	if (!mail_quota_active(box->sess))
		return 0;
	for (size_t i = 0; i < n; i++) {
		if (!msgno_ok(box, msgnos[i], err))
			return -1;
		bytes += box->msgs[msgnos[i] - 1]->size;
	}
	return mail_quota_admit(box->sess, bytes, n, err);
}

int mail_copy(struct mailbox *box, const uint32_t *msgnos, size_t n, const char *dest,
	      uint32_t *uidvalidity_out, uint32_t *uids_out, struct mail_err *err)
{
	struct mail_new *nm;
	struct where w;
	int rc;

	if (copy_admit(box, msgnos, n, err) < 0)
		return -1;
	/* the format's own fast path when both ends are of it */
	if (box->drv->copy && find_box(box->sess, dest, &w, NULL, err) == BOX_THERE &&
	    w.drv == box->drv && (!w.net || net_same_names(box->path, dest))) {
		for (size_t i = 0; i < n; i++)
			if (!msgno_ok(box, msgnos[i], err)) {
				free(w.path);
				return -1;
			}
		rc = box->drv->copy(box, msgnos, n, w.path, uidvalidity_out, uids_out, err);
		free(w.path);
		return rc;
	}
	if (box->drv->copy)
		free(w.path);
	if (!(nm = gather(box, msgnos, n, err)))
		return -1;
	rc = append_at(box->sess, dest, nm, n, uidvalidity_out, uids_out, err);
	gather_free(nm, n);
	return rc;
}

/* RFC822.SIZE of a message as given: a bare LF is stored as CRLF. */
static uint64_t new_size(const struct mail_new *m)
{
	uint64_t size = m->len;

	for (size_t i = 0; i < m->len; i++)
		size += m->text[i] == '\n' && (!i || m->text[i - 1] != '\r');
	return size;
}

int mail_append(struct mail_session *s, const char *name, const struct mail_new *msgs, size_t n,
		uint32_t *uidvalidity_out, uint32_t *uids_out, struct mail_err *err)
{
	uint64_t bytes = 0;

	if (mail_quota_active(s)) {
		for (size_t i = 0; i < n; i++)
			bytes += new_size(&msgs[i]);
		if (mail_quota_admit(s, bytes, n, err) < 0)
			return -1;
	}
	return append_at(s, name, msgs, n, uidvalidity_out, uids_out, err);
}

/* APPEND without the quota's check (a copy already checked, a rename that
 * moves what is already counted). */
static int append_at(struct mail_session *s, const char *name, const struct mail_new *msgs,
		     size_t n, uint32_t *uidvalidity_out, uint32_t *uids_out, struct mail_err *err)
{
	struct where w;
	int rc = -1;

	switch (find_box(s, name, &w, NULL, err)) {
	case BOX_ERROR:
		return -1;
	case BOX_MISSING:
		if (!w.inbox) {
			open_error(name, ENOENT, err);
			goto out;
		}
		if (w.drv->create(s, w.path, err) < 0 && err->code != MAIL_EXISTS)
			goto out;
		free(w.path);
		if (find_box(s, name, &w, NULL, err) != BOX_THERE) {
			if (w.path)
				open_error(name, ENOENT, err);
			goto out;
		}
		break;
	}
	rc = w.drv->append(s, w.path, msgs, n, uidvalidity_out, uids_out, err);
out:
	free(w.path);
	return rc;
}

int mail_create(struct mail_session *s, const char *name, struct mail_err *err)
{
	struct fsafe_loc loc;
	struct where w;
	struct stat st;
	char *trimmed;
	int rc = -1;
	size_t n = name ? strlen(name) : 0;

	if (name && is_inbox(name)) {
		mail_err_set(err, MAIL_EXISTS, "INBOX always exists");
		return -1;
	}
	/* "a/b/" asks for a directory for mailboxes; in a namespace whose
	 * folders hold both mail and folders, it is a folder like "a/b" */
	inbox_find(s);
	trimmed = xstrndup(name ? name : "", n);
	int dir = n > 1 && name[n - 1] == '/';
	if (dir && s->ns_root && strncasecmp(name, FORCE_PREFIX, strlen(FORCE_PREFIX)) &&
	    name[0] != '/' && name[0] != '~') {
		trimmed[n - 1] = '\0';
		dir = 0;
	}
	rc = where_of(s, trimmed, &w, err);
	free(trimmed);
	if (rc < 0 || w.net) {
		rc = rc < 0 ? -1 : w.drv->create(s, w.path, err);
		free(w.path);
		return rc;
	}
	rc = -1;
	if (fsafe_locate(s, w.path, 1, &loc, err) < 0) {
		if (errno == ENOTDIR)
			mail_err_set(err, MAIL_FAIL, "cannot create %s: a parent is a mailbox", name);
		free(w.path);
		return -1;
	}
	const struct driver *nd = w.drv ? w.drv : new_format(s);
	int there = fsafe_lstat(&loc, &st) == 0;
	/* a \Noselect directory may become a mailbox of a format whose
	 * mailboxes hold others (UW's "dual-use" mix) */
	int fill = there && !dir && S_ISDIR(st.st_mode) && (nd->flags & DRV_NESTS) &&
		   !probe(loc.dirfd, loc.leaf, &st, NULL);
	if (there && !fill) {
		mail_err_set(err, MAIL_EXISTS, "mailbox %s already exists", name);
	} else if (dir) {
		if (mkdirat(loc.dirfd, loc.leaf, 0700) == 0)
			rc = 0;
		else
			mail_err_set(err, errno == EEXIST ? MAIL_EXISTS : errno == EACCES ?
					  MAIL_NOPERM : MAIL_FAIL, "cannot create %s: %s", name,
				     strerror(errno));
	} else {
		rc = nd->create(s, w.path, err);
	}
	fsafe_close(&loc);
	free(w.path);
	/* OBJECTID: a new mailbox never inherits a removed one's id */
	if (rc == 0)
		mail_mailboxid_forget(s, name, NULL);
	return rc;
}

/* Delete the mailbox file loc names, which lstat found as *st: only a file
 * in a format we know (never someone's .profile), under its dotlock, and
 * only if the name still refers to that file. */
static int delete_file(const char *name, const char *path, struct fsafe_loc *loc,
		       const struct stat *st, struct mail_err *err)
{
	char *dot = NULL;
	int rc = -1;

	if (fsafe_dotlock(loc, path, &dot, err) < 0)
		return -1;
	if (!fsafe_same(loc, st))
		mail_err_set(err, MAIL_FAIL, "mailbox %s was replaced meanwhile; not deleted", name);
	else if (unlinkat(loc->dirfd, loc->leaf, 0) < 0)
		mail_err_set(err, MAIL_FAIL, "cannot delete %s: %s", name, strerror(errno));
	else
		rc = 0;
	lock_dot_release(&dot);
	return rc;
}

/* Delete a directory that is no mailbox: only when empty. */
static int delete_dir(const char *name, struct fsafe_loc *loc, struct mail_err *err)
{
	if (unlinkat(loc->dirfd, loc->leaf, AT_REMOVEDIR) == 0)
		return 0;
	if (errno == ENOTEMPTY || errno == EEXIST)
		mail_err_set(err, MAIL_FAIL, "%s has inferior hierarchical names; delete those first",
			     name);
	else
		mail_err_set(err, MAIL_FAIL, "cannot delete %s: %s", name, strerror(errno));
	return -1;
}

int mail_delete(struct mail_session *s, const char *name, struct mail_err *err)
{
	struct fsafe_loc loc;
	struct where w;
	struct stat st;
	int rc = -1;

	if (name && is_inbox(name)) {
		mail_err_set(err, MAIL_FAIL, "INBOX cannot be deleted");
		return -1;
	}
	if (where_of(s, name, &w, err) < 0)
		return -1;
	if (w.net) {
		rc = w.drv->remove(s, w.path, err);
		free(w.path);
		return rc;
	}
	if (fsafe_locate(s, w.path, 0, &loc, err) < 0) {
		if (errno == ENOENT)
			open_error(name, ENOENT, err);
		free(w.path);
		return -1;
	}
	const struct driver *d = NULL;
	if (fsafe_lstat(&loc, &st) < 0)
		open_error(name, errno, err);
	else if (S_ISLNK(st.st_mode))
		open_error(name, ELOOP, err);
	else if ((d = probe(loc.dirfd, loc.leaf, &st, w.drv)) && d->remove)
		rc = d->remove(s, w.path, err);
	else if (S_ISDIR(st.st_mode) && !w.ns)
		rc = delete_dir(name, &loc, err);
	else if (d && !S_ISDIR(st.st_mode))
		rc = delete_file(name, w.path, &loc, &st, err);
	else
		mail_err_set(err, MAIL_NOTMAILBOX, "%s is not a mailbox in a format we know; not deleted",
			     name);
	fsafe_close(&loc);
	free(w.path);
	if (rc == 0)
		mail_special_forget(s, name, NULL);
	if (rc == 0)
		mail_meta_forget(s, name, NULL);
	if (rc == 0)
		mail_mailboxid_forget(s, name, NULL);
	return rc;
}

/* RFC 3501: renaming INBOX moves its messages to a new mailbox and leaves
 * INBOX empty. Mail delivered meanwhile stays in INBOX. */
static int rename_inbox(struct mail_session *s, const char *to, struct mail_err *err)
{
	struct mailbox *box;
	struct mail_new *nm = NULL;
	uint32_t *msgnos, *uids;
	size_t n;
	int rc = -1;

	if (mail_create(s, to, err) < 0)
		return -1;
	if (mail_open(s, "INBOX", 0, NULL, NULL, &box, err) < 0) {
		struct mail_err e2;
		mail_delete(s, to, &e2);
		return -1;
	}
	n = box->nmsgs;
	msgnos = xcalloc(n + 1, sizeof *msgnos);
	uids = xcalloc(n + 1, sizeof *uids);
	for (size_t i = 0; i < n; i++) {
		msgnos[i] = (uint32_t)i + 1;
		uids[i] = box->msgs[i]->uid;
	}
	if (n && (!(nm = gather(box, msgnos, n, err)) ||
		  append_at(s, to, nm, n, NULL, NULL, err) < 0)) {
		struct mail_err e2;
		mail_delete(s, to, &e2);
	} else {
		for (size_t i = 0; i < n; i++)
			box->msgs[i]->flags |= MF_DELETED;
		rc = n ? mail_expunge(box, uids, n, err) : 0;
	}
	if (mail_close(box, 0, rc ? NULL : err) < 0)
		rc = -1;
	gather_free(nm, n);
	free(msgnos);
	free(uids);
	return rc;
}

/* Move the mailbox at pfrom to pto (which must not exist), each reached
 * through its own safely opened directory. */
static int rename_file(struct mail_session *s, const char *from, const char *pfrom,
		       const char *to, const char *pto, struct mail_err *err)
{
	struct fsafe_loc lf, lt;
	struct stat st;
	int rc = -1;

	if (fsafe_locate(s, pfrom, 0, &lf, err) < 0) {
		if (errno == ENOENT)
			open_error(from, ENOENT, err);
		return -1;
	}
	int e = fsafe_lstat(&lf, &st) < 0 ? errno : S_ISLNK(st.st_mode) ? ELOOP : 0;
	if (e) {
		open_error(from, e, err);
		fsafe_close(&lf);
		return -1;
	}
	if (fsafe_locate(s, pto, 1, &lt, err) < 0) {
		fsafe_close(&lf);
		return -1;
	}
	/* RENAME_NOREPLACE: a mailbox created meanwhile under the new name
	 * is not overwritten */
	int r = renameat2(lf.dirfd, lf.leaf, lt.dirfd, lt.leaf, RENAME_NOREPLACE);
	if (r < 0 && (errno == EINVAL || errno == ENOSYS))
		r = renameat(lf.dirfd, lf.leaf, lt.dirfd, lt.leaf);
	if (r < 0)
		mail_err_set(err, errno == EEXIST ? MAIL_EXISTS : MAIL_FAIL,
			     "cannot rename %s to %s: %s", from, to, strerror(errno));
	else
		rc = 0;
	fsafe_close(&lf);
	fsafe_close(&lt);
	return rc;
}

/* Is there anything at path (not following a link)? 1 yes, 0 no, -1 error
 * in err. */
static int anything_at(struct mail_session *s, const char *path, struct mail_err *err)
{
	struct fsafe_loc loc;
	struct stat st;
	int r;

	if (fsafe_locate(s, path, 0, &loc, err) < 0)
		return errno == ENOENT ? 0 : -1;
	r = fsafe_lstat(&loc, &st) == 0 ? 1 : errno == ENOENT ? 0 : -1;
	if (r < 0)
		mail_err_set(err, MAIL_FAIL, "%s: %s", path, strerror(errno));
	fsafe_close(&loc);
	return r;
}

/* The format of what is at path (only that one if given), or NULL: no
 * mailbox, or a plain directory. */
static const struct driver *driver_at(struct mail_session *s, const char *path,
				      const struct driver *only)
{
	struct fsafe_loc loc;
	struct mail_err ignore;
	struct stat st;
	const struct driver *d = NULL;

	if (fsafe_locate(s, path, 0, &loc, &ignore) < 0)
		return NULL;
	if (fsafe_lstat(&loc, &st) == 0 && !S_ISLNK(st.st_mode))
		d = probe(loc.dirfd, loc.leaf, &st, only);
	fsafe_close(&loc);
	return d;
}

/* RENAME on a server: both names on the same one. */
static int net_rename(struct mail_session *s, const char *from, const char *to,
		      const struct where *wt, struct mail_err *err)
{
	struct where wf;

	if (where_of(s, from, &wf, err) < 0)
		return -1;
	free(wf.path);
	if (!wt->net || !wf.net || !net_same_names(from, to)) {
		mail_err_set(err, MAIL_BADNAME, "cannot rename %s to %s: not on the same server",
			     from, to);
		return -1;
	}
	return wt->drv->rename(s, from, to, err);
}

int mail_rename(struct mail_session *s, const char *from, const char *to, struct mail_err *err)
{
	struct where wf = { 0 }, wt;
	const struct driver *d;
	int rc = -1;

	if (to && is_inbox(to)) {
		mail_err_set(err, MAIL_EXISTS, "INBOX already exists");
		return -1;
	}
	if (where_of(s, to, &wt, err) < 0)
		return -1;
	if (wt.net || net_name_is(from)) {
		rc = net_rename(s, from, to, &wt, err);
		free(wt.path);
		return rc;
	}
	int there = anything_at(s, wt.path, err);
	if (there != 0) {
		if (there > 0)
			mail_err_set(err, MAIL_EXISTS, "mailbox %s already exists", to);
		goto out;
	}
	if (from && is_inbox(from)) {
		rc = rename_inbox(s, to, err);
		goto out;
	}
	if (where_of(s, from, &wf, err) < 0)
		goto out;
	if ((d = driver_at(s, wf.path, wf.drv)) && d->rename)
		rc = d->rename(s, wf.path, wt.path, err);
	else
		rc = rename_file(s, from, wf.path, to, wt.path, err);
	if (rc == 0)
		mail_special_forget(s, from, to);
	if (rc == 0)
		mail_meta_forget(s, from, to);
	if (rc == 0)
		mail_mailboxid_forget(s, from, to);
out:
	free(wf.path);
	free(wt.path);
	return rc;
}

int mail_status(struct mail_session *s, const char *name, struct mail_status *st,
		struct mail_err *err)
{
	struct where w;
	int rc = -1;

	memset(st, 0, sizeof *st);
	switch (find_box(s, name, &w, NULL, err)) {
	case BOX_ERROR:
		return -1;
	case BOX_MISSING:
		if (w.inbox) {
			st->uidnext = 1;
			st->uidvalidity = mail_uidvalidity(s, (uint32_t)time(NULL), 0);
			rc = 0;
		} else {
			open_error(name, ENOENT, err);
		}
		break;
	case BOX_THERE:
		rc = w.drv->status(s, w.path, st, err);
		break;
	}
	free(w.path);
	return rc;
}

/* The classic toolkit's ~/mbox mode: every message of the spool file is
 * appended to ~/mbox (with its flags and date), then expunged from the
 * spool by UID, so mail delivered meanwhile stays for the next pull and a
 * crash between the two leaves a copy in both, never none. */
static int spool_pull(struct mail_session *s, struct mail_err *err)
{
	struct mailbox *sp;
	struct mail_new *nm;
	uint32_t *msgnos, *uids;
	char *path = join(s->spool_dir, s->user);
	int rc = 0;

	if (anything_at(s, path, err) <= 0) {
		free(path);
		return 0;
	}
	if (open_at(s, "INBOX", path, drivers[0], 0, NULL, NULL, &sp, err) < 0)
		return -1;
	uint32_t n = sp->nmsgs;
	msgnos = xcalloc(n + 1, sizeof *msgnos);
	uids = xcalloc(n + 1, sizeof *uids);
	for (uint32_t i = 0; i < n; i++) {
		msgnos[i] = i + 1;
		uids[i] = sp->msgs[i]->uid;
	}
	nm = n ? gather(sp, msgnos, n, err) : NULL;
	if (n && (!nm || s->inbox_drv->append(s, s->inbox_path, nm, n, NULL, NULL, err) < 0)) {
		rc = -1;
	} else if (n) {
		for (uint32_t i = 0; i < n; i++)
			sp->msgs[i]->flags |= MF_DELETED;
		rc = mail_expunge(sp, uids, n, err);
	}
	if (mail_close(sp, 0, rc ? NULL : err) < 0)
		rc = -1;
	gather_free(nm, n);
	free(msgnos);
	free(uids);
	return rc;
}

/* ---------------------------------------------------------------------- */
/* What every driver shares (driver.h)                                     */

void mail_ev_exists(struct mailbox *box)
{
	if (box->ev && box->ev->exists)
		box->ev->exists(box->evctx, box->nmsgs);
}

void mail_ev_recent(struct mailbox *box)
{
	if (box->ev && box->ev->recent)
		box->ev->recent(box->evctx, box->recent);
}

void mail_ev_expunged(struct mailbox *box, uint32_t msgno)
{
	if (box->ev && box->ev->expunged)
		box->ev->expunged(box->evctx, msgno);
}

void mail_ev_flags(struct mailbox *box, uint32_t msgno)
{
	mseq_event(box, msgno);
	if (box->ev && box->ev->flags)
		box->ev->flags(box->evctx, msgno);
}

void mail_ev_notice(struct mailbox *box, const char *text)
{
	if (box->ev && box->ev->notice)
		box->ev->notice(box->evctx, text);
}

void mail_msg_add(struct mailbox *box, struct message *m)
{
	if (m->flags & MF_RECENT)
		box->recent++;
	/* the array grows by doubling (drivers may size it themselves) */
	if (!box->msgs || malloc_usable_size(box->msgs) < (box->nmsgs + 1) * sizeof *box->msgs)
		box->msgs = xrealloc(box->msgs, 2 * (box->nmsgs + 8) * sizeof *box->msgs);
	box->msgs[box->nmsgs++] = m;
}

void mail_msgs_free(struct mailbox *box)
{
	for (uint32_t i = 0; i < box->nmsgs; i++) {
		pool_free(box->msgs[i]->pool);
		kwset_free(&box->msgs[i]->keywords);
		free(box->msgs[i]);
	}
	free(box->msgs);
	box->msgs = NULL;
	box->nmsgs = 0;
}

struct message *mail_msg_take(struct mailbox *box, uint32_t i)
{
	struct message *m = box->msgs[i];

	if (m->flags & MF_RECENT)
		box->recent--;
	pool_free(m->pool);
	m->pool = NULL;
	m->env = NULL;
	m->body = NULL;
	memmove(box->msgs + i, box->msgs + i + 1, (box->nmsgs - i - 1) * sizeof *box->msgs);
	box->nmsgs--;
	box->ev_uid = m->uid;
	mail_ev_expunged(box, i + 1);
	return m;
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

char *mail_expunge_set(struct mailbox *box, const uint32_t *uids, size_t nuids, size_t *n)
{
	char *drop = xcalloc(box->nmsgs + 1, 1);
	uint32_t *sorted = NULL;

	if (uids && nuids) {
		sorted = xmalloc(nuids * sizeof *sorted);
		memcpy(sorted, uids, nuids * sizeof *sorted);
		qsort(sorted, nuids, sizeof *sorted, cmp_u32);
	}
	*n = 0;
	for (uint32_t i = 0; i < box->nmsgs; i++) {
		struct message *m = box->msgs[i];
		if (!(m->flags & MF_DELETED) ||
		    (uids && !(sorted && bsearch(&m->uid, sorted, nuids, sizeof *sorted, cmp_u32))))
			continue;
		drop[i] = 1;
		(*n)++;
	}
	free(sorted);
	return drop;
}

uint32_t mail_uidvalidity(struct mail_session *s, uint32_t floor, int take)
{
	return uidx_validity(s ? fsafe_home(s) : -1, floor, take);
}

int mail_recent_get(struct mail_session *s, const char *path, uint32_t *validity, uint32_t *hw)
{
	return uidx_recent_get(s ? fsafe_home(s) : -1, path, validity, hw);
}

void mail_recent_put(struct mail_session *s, const char *path, uint32_t validity, uint32_t hw)
{
	uidx_recent_put(s ? fsafe_home(s) : -1, path, validity, hw);
}

/* ---------------------------------------------------------------------- */
/* Wildcards, LIST, LSUB, subscriptions                                    */

/* Dynamic programming over (pattern, name): linear memory, no exponential
 * backtracking on patterns like "*a*a*a*b". prefix: could some extension
 * of name match? fold: case-insensitive (for INBOX). */
static int match(const char *pat, const char *name, int prefix, int fold)
{
	size_t pl = strlen(pat);
	char *d = xcalloc(2 * (pl + 1), 1), *nd = d + pl + 1;
	int r = 0;

	d[0] = 1;
	for (size_t j = 1; j <= pl; j++)
		d[j] = d[j - 1] && (pat[j - 1] == '*' || pat[j - 1] == '%');
	for (const char *c = name; *c; c++) {
		nd[0] = 0;
		for (size_t j = 1; j <= pl; j++) {
			char pc = pat[j - 1];
			if (pc == '*')
				nd[j] = nd[j - 1] || d[j];
			else if (pc == '%')
				nd[j] = nd[j - 1] || (d[j] && *c != '/');
			else if (fold)
				nd[j] = d[j - 1] && ((*c | 0x20) == (pc | 0x20) &&
						     ((*c >= 'A' && *c <= 'Z') || (*c >= 'a' && *c <= 'z'))
						     ? 1 : *c == pc);
			else
				nd[j] = d[j - 1] && *c == pc;
		}
		char *t = d;
		d = nd;
		nd = t;
	}
	if (prefix) {
		for (size_t j = 0; j <= pl && !r; j++)
			r = d[j];
	} else {
		r = d[pl];
	}
	free(d < nd ? d : nd);
	return r;
}

int mail_match(const char *pattern, const char *name)
{
	return match(pattern, name, 0, 0);
}

static int match_name(const char *pattern, const char *name)
{
	/* INBOX (and only it) is case-insensitive */
	if (is_inbox(name))
		return match(pattern, "INBOX", 0, 1);
	return match(pattern, name, 0, 0);
}

struct lister {
	const char *pattern;
	mail_list_fn fn;
	void *ctx;
	const struct driver *only;  /* "#driver.FORMAT/...": that format alone */
	const char *shown;          /* and its prefix, put before each name */
	const char *inbox;          /* INBOX's path in the home: listed as INBOX alone */
};

/* Report name (relative to the walk) with the listing's prefix. */
static void list_report(struct lister *l, const char *name, int attrs)
{
	char *full;

	if (!l->shown) {
		l->fn(l->ctx, name, attrs);
		return;
	}
	full = xmalloc(strlen(l->shown) + strlen(name) + 1);
	strcpy(full, l->shown);
	strcat(full, name);
	l->fn(l->ctx, full, attrs);
	free(full);
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Sorted visible entries of the directory dirfd (dotfiles skipped). */
static char **dir_entries(int dirfd, size_t *n)
{
	int fd = openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
	struct dirent *e;
	char **v = NULL;
	size_t cap = 0;

	*n = 0;
	if (!d) {
		if (fd >= 0)
			close(fd);
		return NULL;
	}
	while ((e = readdir(d)) != NULL) {
		if (e->d_name[0] == '.')
			continue;
		if (*n == cap) {
			cap = cap ? cap * 2 : 16;
			v = xrealloc(v, cap * sizeof *v);
		}
		v[(*n)++] = xstrdup(e->d_name);
	}
	closedir(d);
	if (*n)
		qsort(v, *n, sizeof *v, cmp_str);
	return v;
}

static void list_dir(struct lister *l, int dirfd, const char *prefix, int depth);

/* Does the directory fd hold a subdirectory (a mailbox's inferiors)? */
static int has_subdir(int fd)
{
	size_t n;
	char **v = dir_entries(fd, &n);
	int found = 0;

	for (size_t i = 0; i < n; i++) {
		struct stat st;
		if (!found && fstatat(fd, v[i], &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR(st.st_mode))
			found = 1;
		free(v[i]);
	}
	free(v);
	return found;
}

/* One subdirectory: \Noselect (or, where d is a format whose mailboxes
 * hold mailboxes, that mailbox), then its children if the pattern can
 * match below it. Entered by descriptor, never through a link. */
static void list_sub(struct lister *l, int dirfd, const char *ent, const char *name, int depth,
		     const struct driver *d)
{
	int fd = openat(dirfd, ent, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	size_t nc = 0;

	if (fd < 0)
		return;
	if (d) {
		nc = (size_t)has_subdir(fd);
	} else {
		char **kids = dir_entries(fd, &nc);
		for (size_t k = 0; k < nc; k++)
			free(kids[k]);
		free(kids);
	}
	int attrs = (d ? 0 : LA_NOSELECT) | (nc ? LA_HASCHILDREN : LA_HASNOCHILDREN);
	if ((!d || !l->only || d == l->only) && match_name(l->pattern, name))
		list_report(l, name, attrs);
	char *sub = join(name, "");
	if (nc && depth < LIST_MAX_DEPTH && match(l->pattern, sub, 1, 0))
		list_dir(l, fd, name, depth + 1);
	free(sub);
	close(fd);
}

/* Mailboxes and directories under dirfd; links are not mailboxes (they
 * could lead anywhere), so they are not listed. */
static void list_dir(struct lister *l, int dirfd, const char *prefix, int depth)
{
	size_t n;
	char **ents = dir_entries(dirfd, &n);

	for (size_t i = 0; i < n; i++) {
		char *name = *prefix ? join(prefix, ents[i]) : xstrdup(ents[i]);
		struct stat st;
		if (fstatat(dirfd, ents[i], &st, AT_SYMLINK_NOFOLLOW) == 0 &&
		    !(depth == 0 && is_inbox(name)) && !(l->inbox && !strcmp(name, l->inbox))) {
			/* a file of no format we know is no mailbox (the
			 * dummy driver's rule): not offered, never "corrupt" */
			const struct driver *d = S_ISDIR(st.st_mode) || S_ISREG(st.st_mode) ?
						 probe(dirfd, ents[i], &st, NULL) : NULL;
			if (d && (d->flags & DRV_NESTS))
				list_sub(l, dirfd, ents[i], name, depth, d);
			else if (d && (!l->only || d == l->only) && match_name(l->pattern, name))
				list_report(l, name, LA_NOINFERIORS);
			else if (!d && S_ISDIR(st.st_mode))
				list_sub(l, dirfd, ents[i], name, depth, NULL);
		}
		free(name);
		free(ents[i]);
	}
	free(ents);
}

/* INBOX's path under the home (nmh's "Mail/inbox"), else NULL: a client
 * shown it under both names would fetch and keep its mail twice. */
static const char *inbox_in_home(const struct mail_session *s)
{
	size_t hl = strlen(s->home);

	if (!s->inbox_path || strncmp(s->inbox_path, s->home, hl) || s->inbox_path[hl] != '/')
		return NULL;
	return s->inbox_path + hl + 1;
}

/* RFC 3501: the reference is prefixed to the pattern (unless the pattern
 * is absolute). */
static char *full_pattern(const char *ref, const char *pattern)
{
	if (!ref || !*ref || pattern[0] == '/' || pattern[0] == '~')
		return xstrdup(pattern);
	size_t rl = strlen(ref), pl = strlen(pattern);
	char *p = xmalloc(rl + pl + 1);
	memcpy(p, ref, rl);
	memcpy(p + rl, pattern, pl + 1);
	return p;
}

/* "#driver.FORMAT/pattern": the mailboxes of that format under the home
 * directory (whatever namespace INBOX brings), named as they are opened. */
static int list_forced(struct mail_session *s, const char *pat, mail_list_fn fn, void *ctx,
		       struct mail_err *err)
{
	const char *fmt = pat + strlen(FORCE_PREFIX), *slash = strchr(fmt, '/');
	char *name = xstrndup(fmt, slash ? (size_t)(slash - fmt) : strlen(fmt));
	const struct driver *d = mail_driver_named(name);

	free(name);
	if (!d || !slash || slash[1] == '/' || slash[1] == '~' || mail_name_climbs(slash + 1))
		return 0;   /* nothing can match */
	char *shown = xstrndup(pat, (size_t)(slash + 1 - pat));
	struct lister l = { slash + 1, fn, ctx, d, shown, NULL };
	if (fsafe_home(s) >= 0)
		list_dir(&l, s->home_fd, "", 0);
	free(shown);
	return 0;
}

/* LIST on a server: "{host}ref" with a pattern, or "" with "{host}pattern". */
static int net_list(struct mail_session *s, const char *ref, const char *pattern,
		    mail_list_fn fn, void *ctx, struct mail_err *err)
{
	struct where w;
	const char *spec = net_name_is(ref) ? ref : pattern;

	if (ref && *ref && !net_name_is(ref)) {
		mail_err_set(err, MAIL_BADNAME, "%s: the server goes in the reference", pattern);
		return -1;
	}
	if (where_of(s, spec, &w, err) < 0)
		return -1;
	size_t plen = strchr(spec, '}') + 1 - spec;
	char *root = spec == ref ? xstrdup(ref) : xstrndup(pattern, plen);
	int rc = w.drv->ns_list(s, root, spec == ref ? pattern : pattern + plen, fn, ctx, err);
	free(root);
	free(w.path);
	return rc;
}

int mail_list(struct mail_session *s, const char *ref, const char *pattern, mail_list_fn fn,
	      void *ctx, struct mail_err *err)
{
	char *pat;

	if (!pattern || !*pattern) {
		fn(ctx, "", LA_NOSELECT);   /* the hierarchy delimiter query */
		return 0;
	}
	if (net_name_is(ref) || net_name_is(pattern))
		return net_list(s, ref, pattern, fn, ctx, err);
	pat = full_pattern(ref, pattern);
	if (!s->allow_outside_home && (pat[0] == '/' || pat[0] == '~' || mail_name_climbs(pat))) {
		free(pat);
		return 0;   /* nothing outside home matches */
	}
	int rc = 0;
	inbox_find(s);
	if (!strncasecmp(pat, FORCE_PREFIX, strlen(FORCE_PREFIX))) {
		rc = list_forced(s, pat, fn, ctx, err);
	} else if (pat[0] != '/' && pat[0] != '~') {
		struct lister l = { pat, fn, ctx, NULL, NULL, inbox_in_home(s) };
		if (match(pat, "INBOX", 0, 1))
			fn(ctx, "INBOX", s->ns_root ? 0 : LA_NOINFERIORS);
		if (s->ns_root)
			rc = s->inbox_drv->ns_list(s, s->ns_root, pat, fn, ctx, err);
		else if (fsafe_home(s) >= 0)
			list_dir(&l, s->home_fd, "", 0);
	}
	free(pat);
	return rc;
}

#define SUBS_FILE ".mailboxlist"

/* The subscription list, one name per line: only a regular file of ours,
 * of bounded size (a link to /dev/zero or to someone's mail is refused). */
static int sub_read(struct mail_session *s, char ***out, size_t *n, struct mail_err *err)
{
	char *data, **v = NULL;
	size_t len;
	int r;

	*n = 0;
	*out = NULL;
	inbox_find(s);
	if (s->ns_root && s->inbox_drv->subs_read)
		return s->inbox_drv->subs_read(s, s->ns_root, out, n, err);
	if (fsafe_home(s) < 0)
		return 0;
	r = fsafe_read_own(s->home_fd, SUBS_FILE, FSAFE_SUBS_MAX, &data, &len, err);
	if (r != 0)
		return r < 0 ? -1 : 0;
	for (size_t at = 0; at < len;) {
		const char *nl = memchr(data + at, '\n', len - at);
		size_t end = nl ? (size_t)(nl - data) : len, e = end;
		while (e > at && data[e - 1] == '\r')
			e--;
		if (e > at && !memchr(data + at, '\0', e - at)) {
			v = xrealloc(v, (*n + 1) * sizeof *v);
			v[(*n)++] = xstrndup(data + at, e - at);
		}
		at = end + 1;
	}
	free(data);
	*out = v;
	return 0;
}

static void sub_free(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

int mail_subscriptions(struct mail_session *s, char ***names, size_t *n, struct mail_err *err)
{
	return sub_read(s, names, n, err);
}

void mail_subscriptions_free(char **names, size_t n)
{
	sub_free(names, n);
}

int mail_list_match(const char *ref, const char *pattern, const char *name)
{
	char *pat = full_pattern(ref, pattern);
	int r = match_name(pat, name);

	free(pat);
	return r;
}

/* Rewrite the list crash-safely: temp file, fsync, rename. */
static int sub_write(struct mail_session *s, char **v, size_t n, struct mail_err *err)
{
	struct buf b;
	int rc;

	inbox_find(s);
	if (s->ns_root && s->inbox_drv->subs_write)
		return s->inbox_drv->subs_write(s, s->ns_root, v, n, err);
	if (fsafe_home(s) < 0) {
		mail_err_set(err, MAIL_FAIL, "no home directory to keep subscriptions in");
		return -1;
	}
	buf_init(&b);
	for (size_t i = 0; i < n; i++)
		if (v[i])
			buf_printf(&b, "%s\n", v[i]);
	rc = fsafe_replace(s->home_fd, SUBS_FILE, b.data ? b.data : "", b.len, err);
	buf_free(&b);
	return rc;
}

int mail_subscribe(struct mail_session *s, const char *name, int on, struct mail_err *err)
{
	char *path = mail_resolve(s, name, err);
	const char *norm;
	size_t n, i;
	char **v;
	int rc;

	if (!path)
		return -1;
	free(path);
	norm = is_inbox(name) ? "INBOX" : name;
	if (sub_read(s, &v, &n, err) < 0)
		return -1;
	for (i = 0; i < n && strcmp(v[i], norm); i++)
		;
	if (on && i < n) {
		rc = 0;
	} else if (on) {
		v = xrealloc(v, (n + 1) * sizeof *v);
		v[n++] = xstrdup(norm);
		rc = sub_write(s, v, n, err);
	} else if (i == n) {
		mail_err_set(err, MAIL_FAIL, "not subscribed to %s", name);
		rc = -1;
	} else {
		free(v[i]);
		v[i] = NULL;
		rc = sub_write(s, v, n, err);
	}
	sub_free(v, n);
	return rc;
}

/* The \Noselect parents LSUB has reported, and the subscriptions sorted
 * for bsearch, so a long list costs n log n, not n squared. */
struct lsub_state {
	const char *pat;
	char **sorted;
	size_t n;
	char **parents;
	size_t nparents;
	mail_list_fn fn;
	void *ctx;
};

/* strcmp for qsort/bsearch over arrays of strings. */
static int str_pcmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* RFC 3501 6.3.9: name is subscribed but does not match (as foo/bar does
 * not match %); each parent of it that matches and is not subscribed
 * itself is reported as \Noselect, once. */
static void lsub_parents(struct lsub_state *ls, const char *name)
{
	char *cut = xstrdup(name);

	for (size_t len = strlen(name); len-- > 1;) {
		if (name[len] != '/')
			continue;
		cut[len] = '\0';
		if (!match_name(ls->pat, cut) ||
		    bsearch(&cut, ls->sorted, ls->n, sizeof *ls->sorted, str_pcmp))
			continue;
		size_t k = 0;
		while (k < ls->nparents && strcmp(ls->parents[k], cut))
			k++;
		if (k < ls->nparents)
			continue;
		ls->parents = xrealloc(ls->parents, (ls->nparents + 1) * sizeof *ls->parents);
		ls->parents[ls->nparents++] = xstrdup(cut);
		ls->fn(ls->ctx, cut, LA_NOSELECT);
	}
	free(cut);
}

int mail_lsub(struct mail_session *s, const char *ref, const char *pattern, mail_list_fn fn,
	      void *ctx, struct mail_err *err)
{
	size_t n;
	char **v;

	if (sub_read(s, &v, &n, err) < 0)
		return -1;
	char *pat = full_pattern(ref, pattern ? pattern : "");
	struct lsub_state ls = { .pat = pat, .n = n, .fn = fn, .ctx = ctx };
	ls.sorted = xmalloc((n + 1) * sizeof *ls.sorted);
	if (n) {
		memcpy(ls.sorted, v, n * sizeof *v);
		qsort(ls.sorted, n, sizeof *ls.sorted, str_pcmp);
	}
	for (size_t i = 0; i < n; i++) {
		if (match_name(pat, v[i]))
			fn(ctx, v[i], 0);
		else
			lsub_parents(&ls, v[i]);
	}
	for (size_t k = 0; k < ls.nparents; k++)
		free(ls.parents[k]);
	free(ls.parents);
	free(ls.sorted);
	sub_free(v, n);
	free(pat);
	return 0;
}

/* ---------------------------------------------------------------------- */
/* Watching a mailbox for IDLE                                             */

struct mail_watch {
	int fd;                   /* inotify, or -1: the driver has no watch */
	int tried;
	int lost;                 /* a named watch that could not be made again */
	struct wd_leaf {
		int wd;
		char *leaf;       /* a directory watched for this entry to appear */
	} *wds;
	size_t n;
};

/* A file: its changes and its replacement (a rename over it drops its
 * link count: IN_ATTRIB). A directory: any entry, or one to appear. */
#define WATCH_FILE (IN_MODIFY | IN_ATTRIB | IN_CLOSE_WRITE | IN_DELETE_SELF | IN_MOVE_SELF)
#define WATCH_DIR (IN_MODIFY | IN_ATTRIB | IN_CREATE | IN_DELETE | IN_MOVED_FROM | IN_MOVED_TO | \
		   IN_DELETE_SELF | IN_MOVE_SELF | IN_ONLYDIR)
/* An entry to appear, or to become ours: an MDA running as root may make
 * the spool file, then give it to the user (IN_ATTRIB), then write. */
#define WATCH_APPEAR (IN_CREATE | IN_MOVED_TO | IN_ATTRIB | IN_CLOSE_WRITE | IN_ONLYDIR)

int mail_inotify_fd(int ifd, int fd, uint32_t mask)
{
	char proc[64];

	/* its /proc name leads to exactly what fd holds, never to a path
	 * someone could swap meanwhile */
	snprintf(proc, sizeof proc, "/proc/self/fd/%d", fd);
	return inotify_add_watch(ifd, proc, mask);
}

/* Watch what our descriptor fd holds, and remember the watch in w. */
static int watch_fd_add(struct mail_watch *w, int ifd, int fd, uint32_t mask, const char *leaf)
{
	int wd = mail_inotify_fd(ifd, fd, mask);

	if (wd < 0)
		return -1;
	w->wds = xrealloc(w->wds, (w->n + 1) * sizeof *w->wds);
	w->wds[w->n].wd = wd;
	w->wds[w->n].leaf = leaf ? xstrdup(leaf) : NULL;
	w->n++;
	return 0;
}

int mail_watch_add(struct mailbox *box, int ifd, int dirfd, const char *leaf)
{
	struct mail_watch *w = box->watch;
	int fd, rc;

	if (!leaf)
		return watch_fd_add(w, ifd, dirfd, WATCH_DIR, NULL);
	/* the file itself, so other users' files in its directory (a busy
	 * spool) never wake us; the directory only while it does not exist */
	fd = openat(dirfd, leaf, O_PATH | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return watch_fd_add(w, ifd, dirfd, WATCH_APPEAR, leaf);
	rc = watch_fd_add(w, ifd, fd, WATCH_FILE, NULL);
	close(fd);
	return rc;
}

/* Drop every watch and ask the driver again (the file was replaced). */
static void watch_rebuild(struct mailbox *box)
{
	struct mail_watch *w = box->watch;

	for (size_t i = 0; i < w->n; i++) {
		inotify_rm_watch(w->fd, w->wds[i].wd);
		free(w->wds[i].leaf);
	}
	w->n = 0;
	if (box->drv->watch(box, w->fd) == 0 && is_pulled_inbox(box)) {
		/* the ~/mbox mode: deliveries arrive in the spool file */
		struct fsafe_loc loc;
		struct mail_err ignore;
		char *sp = join(box->sess->spool_dir, box->sess->user);
		if (fsafe_locate(box->sess, sp, 0, &loc, &ignore) == 0) {
			mail_watch_add(box, w->fd, loc.dirfd, loc.leaf);
			fsafe_close(&loc);
		}
		free(sp);
	}
	if (!w->n) {
		close(w->fd);
		w->fd = -1;
	}
}

int mail_watch_fd(struct mailbox *box)
{
	struct mail_watch *w = box->watch;

	if (!w) {
		w = box->watch = xcalloc(1, sizeof *w);
		w->fd = -1;
	}
	if (box->drv->watch_fd)
		return box->drv->watch_fd(box);
	if (!w->tried && box->drv->watch) {
		w->tried = 1;
		w->fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
		if (w->fd >= 0)
			watch_rebuild(box);
	}
	return w->fd;
}

/* Does event ev concern the mailbox (1), and must the watches be made
 * again (2: the file was replaced or has appeared)? */
static int watch_relevant(const struct mail_watch *w, const struct inotify_event *ev)
{
	if (ev->mask & (IN_Q_OVERFLOW | IN_IGNORED | IN_DELETE_SELF | IN_MOVE_SELF))
		return 2;
	for (size_t i = 0; i < w->n; i++) {
		if (w->wds[i].wd != ev->wd)
			continue;
		if (w->wds[i].leaf)
			return ev->len && !strcmp(ev->name, w->wds[i].leaf) ? 2 : 0;
		return (ev->mask & IN_ATTRIB) && !ev->len ? 2 : 1;
	}
	return 0;
}

/* Read every pending event of w: 1 the mailbox changed, 2 (or'd) its
 * watches must be made again. */
static int watch_drain(struct mail_watch *w)
{
	char buf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));
	int changed = 0;
	ssize_t n;

	while ((n = read(w->fd, buf, sizeof buf)) > 0)
		for (char *p = buf; p < buf + n;) {
			const struct inotify_event *ev = (const struct inotify_event *)p;
			int r = watch_relevant(w, ev);
			changed |= r;
			p += sizeof *ev + ev->len;
		}
	return changed;
}

int mail_watch_changed(struct mailbox *box)
{
	struct mail_watch *w = box->watch;
	int changed;

	if (box->drv->watch_changed)
		return box->drv->watch_changed(box);
	if (!w || w->fd < 0)
		return 1;
	if ((changed = watch_drain(w)) & 2)
		watch_rebuild(box);
	return changed != 0;
}

/* Open name read-only just long enough to set (or, given *w, make again)
 * its watches, which outlive it. */
static int watch_detached(struct mail_session *s, const char *name, struct mail_watch **w,
			  struct mail_err *err)
{
	struct mailbox *box;

	if (mail_open(s, name, 1, NULL, NULL, &box, err) < 0) {
		if (*w)
			(*w)->lost = 1;
		return -1;
	}
	if (*w) {
		box->watch = *w;
		if (box->watch->fd < 0)
			box->watch->tried = 0;
		else
			watch_rebuild(box);
	}
	mail_watch_fd(box);
	*w = box->watch;
	(*w)->lost = 0;
	box->watch = NULL;
	return mail_close(box, 0, err);
}

struct mail_watch *mail_watch_name(struct mail_session *s, const char *name, struct mail_err *err)
{
	struct mail_watch *w = NULL;

	if (watch_detached(s, name, &w, err) < 0 && !w)
		return NULL;
	return w;
}

int mail_watch_name_fd(const struct mail_watch *w)
{
	return w->fd;
}

int mail_watch_name_changed(struct mail_session *s, const char *name, struct mail_watch *w)
{
	struct mail_err ignore;
	int changed = 0, was_lost = w->lost;

	if (w->fd >= 0)
		changed = watch_drain(w);   /* always: pending events would spin poll */
	if ((was_lost || (changed & 2)) && watch_detached(s, name, &w, &ignore) == 0 && was_lost)
		return 1;
	return changed != 0;
}

int mail_watch_name_lost(const struct mail_watch *w)
{
	return w->lost;
}

void mail_watch_name_free(struct mail_watch *w)
{
	struct mailbox box = {.watch = w};

	watch_free(&box);
}

/* Release the watch with the mailbox. */
static void watch_free(struct mailbox *box)
{
	struct mail_watch *w = box->watch;

	if (!w)
		return;
	if (w->fd >= 0)
		close(w->fd);
	for (size_t i = 0; i < w->n; i++)
		free(w->wds[i].leaf);
	free(w->wds);
	free(w);
	box->watch = NULL;
}
