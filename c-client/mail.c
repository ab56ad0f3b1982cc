/* mail.c: the generic mailbox API. Maps client names to files, picks the
 * driver that understands a file, keeps the per-mailbox message cache, and
 * implements the namespace operations (create/delete/rename/list/subscribe)
 * that do not depend on a mailbox format. */
#include "mail.h"
#include "fsafe.h"
#include "lock.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

extern const struct driver driver_unix;

/* Formats we recognise, tried in order; the first is used for new mailboxes
 * and for an INBOX that does not exist yet. A new format is one line here. */
static const struct driver *const drivers[] = {
	&driver_unix,
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
	memset(s, 0, sizeof *s);
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

static int has_dotdot(const char *name)
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

/* Map name to a path, or NULL with err. */
static char *resolve(struct mail_session *s, const char *name, struct mail_err *err)
{
	if (!name || !*name) {
		mail_err_set(err, MAIL_BADNAME, "empty mailbox name");
		return NULL;
	}
	if (strpbrk(name, "\r\n")) {
		mail_err_set(err, MAIL_BADNAME, "line breaks are not allowed in mailbox names");
		return NULL;
	}
	if (is_inbox(name))
		return join(s->spool_dir, s->user);
	if (!s->allow_outside_home) {
		if (name[0] == '/' || name[0] == '~' || has_dotdot(name)) {
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

char *mail_resolve(struct mail_session *s, const char *name, struct mail_err *err)
{
	char *path = resolve(s, name, err);

	/* refused here, before any lock is tried on a name that cannot exist */
	if (path && fsafe_check_length(path, err) < 0) {
		free(path);
		return NULL;
	}
	return path;
}

/* The first driver that recognises the open file fd, or NULL. */
static const struct driver *driver_for(int fd)
{
	for (size_t i = 0; i < ARRAY_SIZE(drivers); i++)
		if (drivers[i]->valid(fd))
			return drivers[i];
	return NULL;
}

/* Does path's leaf exist? 0 yes (*st filled, not following a link), 1 no
 * (it or a directory above it is missing), -1 error in err. */
static int leaf_state(struct mail_session *s, const char *path, struct stat *st,
		      struct mail_err *err)
{
	struct fsafe_loc loc;
	int r;

	if (fsafe_locate(s, path, 0, &loc, err) < 0)
		return errno == ENOENT ? 1 : -1;
	r = fsafe_lstat(&loc, st) == 0 ? 0 : errno == ENOENT ? 1 : -1;
	if (r < 0)
		mail_err_set(err, MAIL_FAIL, "%s: %s", path, strerror(errno));
	fsafe_close(&loc);
	return r;
}

/* Error for a mailbox file that could not be opened (errno e). */
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

/* The driver of the regular file fd (opened as name), with a precise error. */
static const struct driver *driver_of_fd(const char *name, int fd, struct mail_err *err)
{
	struct stat st;
	const struct driver *d;

	if (fstat(fd, &st) < 0) {
		open_error(name, errno, err);
		return NULL;
	}
	if (S_ISDIR(st.st_mode)) {
		mail_err_set(err, MAIL_FAIL, "%s is a directory, not a mailbox", name);
		return NULL;
	}
	if (!S_ISREG(st.st_mode) || !(d = driver_for(fd))) {
		mail_err_set(err, MAIL_CORRUPT, "%s is not a mailbox in a format we know", name);
		return NULL;
	}
	return d;
}

/* Find the driver of an existing mailbox file, opened without following
 * links; *writable (if asked) says whether we may write it. */
static const struct driver *driver_of(struct mail_session *s, const char *name, const char *path,
				      int *writable, struct mail_err *err)
{
	struct fsafe_loc loc;
	const struct driver *d = NULL;
	int fd;

	if (fsafe_locate(s, path, 0, &loc, err) < 0) {
		if (errno == ENOENT)
			open_error(name, ENOENT, err);
		return NULL;
	}
	/* O_NONBLOCK: a FIFO planted under the name must not hang us */
	fd = fsafe_open(&loc, O_RDONLY | O_NONBLOCK, 0);
	if (fd < 0)
		open_error(name, errno, err);
	else
		d = driver_of_fd(name, fd, err);
	if (d && writable)
		*writable = faccessat(loc.dirfd, loc.leaf, W_OK, 0) == 0 || errno == ENOENT;
	if (fd >= 0)
		close(fd);
	fsafe_close(&loc);
	return d;
}

int mail_open(struct mail_session *s, const char *name, int readonly,
	      const struct mail_events *ev, void *evctx, struct mailbox **out,
	      struct mail_err *err)
{
	char *path = mail_resolve(s, name, err);
	const struct driver *d;
	struct mailbox *box;
	struct stat st;
	int writable = 1;

	*out = NULL;
	if (!path)
		return -1;
	if (is_inbox(name) && leaf_state(s, path, &st, err) == 1) {
		d = drivers[0];   /* no mail delivered yet: an empty INBOX */
	} else if (!(d = driver_of(s, name, path, &writable, err))) {
		free(path);
		return -1;
	}
	box = xcalloc(1, sizeof *box);
	box->sess = s;
	box->drv = d;
	box->name = xstrdup(is_inbox(name) ? "INBOX" : name);
	box->path = path;
	box->readonly = readonly || !writable;
	box->ev = ev;
	box->evctx = evctx;
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
	if (r < 0) {
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
	if (expunge)
		rc = box->drv->expunge(box, NULL, 0, err);
	if (rc == 0)
		rc = box->drv->check(box, err);
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
	return box->drv->flush ? box->drv->flush(box, err) : 0;
}

int mail_ping(struct mailbox *box, struct mail_err *err)
{
	return box->drv->ping(box, err);
}

int mail_check(struct mailbox *box, struct mail_err *err)
{
	return box->drv->check(box, err);
}

int mail_expunge(struct mailbox *box, const uint32_t *uids, size_t nuids, struct mail_err *err)
{
	if (box->readonly) {
		mail_err_set(err, MAIL_NOPERM, "mailbox %s is read-only", box->name);
		return -1;
	}
	return box->drv->expunge(box, uids, nuids, err);
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

uint32_t mail_msgno(const struct mailbox *box, uint32_t uid)
{
	uint32_t lo = 0, hi = box->nmsgs;

	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;
		if (box->msgs[mid]->uid < uid)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < box->nmsgs && box->msgs[lo]->uid == uid ? lo + 1 : 0;
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
			m->pool = pool_new();
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

int mail_store(struct mailbox *box, uint32_t msgno, enum mail_store_op op, uint32_t flags,
	       uint64_t keywords, struct mail_err *err)
{
	struct message *m;
	uint64_t known = box->nkeywords >= 64 ? ~0ULL : (1ULL << box->nkeywords) - 1;

	if (!msgno_ok(box, msgno, err))
		return -1;
	if (box->readonly) {
		mail_err_set(err, MAIL_NOPERM, "mailbox %s is read-only", box->name);
		return -1;
	}
	m = box->msgs[msgno - 1];
	flags &= MF_STORABLE;
	keywords &= known;
	switch (op) {
	case STORE_SET:
		m->flags = (m->flags & ~MF_STORABLE) | flags;
		m->keywords = keywords;
		break;
	case STORE_ADD:
		m->flags |= flags;
		m->keywords |= keywords;
		break;
	case STORE_REMOVE:
		m->flags &= ~flags;
		m->keywords &= ~keywords;
		break;
	}
	return 0;
}

/* IMAP atom characters, minus the flag-ish backslash. */
static int keyword_ok(const char *name)
{
	if (!*name)
		return 0;
	for (const unsigned char *p = (const unsigned char *)name; *p; p++)
		if (*p <= ' ' || *p >= 0x7f || strchr("(){%*\"\\]", *p))
			return 0;
	return 1;
}

int mail_keyword(struct mailbox *box, const char *name, int create)
{
	for (unsigned i = 0; i < box->nkeywords; i++)
		if (!strcasecmp(box->keywords[i], name))
			return (int)i;
	if (!create || !box->keywords_creatable || box->nkeywords >= MAIL_KEYWORDS_MAX ||
	    !keyword_ok(name))
		return -1;
	box->keywords[box->nkeywords] = xstrdup(name);
	return (int)box->nkeywords++;
}

void mail_keyword_forget(struct mailbox *box, unsigned keep)
{
	uint64_t used = 0;

	for (uint32_t i = 0; i < box->nmsgs; i++)
		used |= box->msgs[i]->keywords;
	while (box->nkeywords > keep && !(used >> (box->nkeywords - 1) & 1))
		free(box->keywords[--box->nkeywords]);
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
		struct message *m = box->msgs[msgnos[i] - 1];
		nm[i].text = xstrndup(text, len);
		nm[i].len = len;
		nm[i].flags = m->flags & MF_STORABLE;
		nm[i].date = m->internal_date;
		nm[i].tz_minutes = m->tz_minutes;
		nm[i].keywords = xcalloc(box->nkeywords + 1, sizeof(char *));
		for (unsigned k = 0, j = 0; k < box->nkeywords; k++)
			if (m->keywords & (1ULL << k))
				nm[i].keywords[j++] = box->keywords[k];
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

int mail_copy(struct mailbox *box, const uint32_t *msgnos, size_t n, const char *dest,
	      uint32_t *uidvalidity_out, uint32_t *uids_out, struct mail_err *err)
{
	struct mail_new *nm = gather(box, msgnos, n, err);
	int rc;

	if (!nm)
		return -1;
	rc = mail_append(box->sess, dest, nm, n, uidvalidity_out, uids_out, err);
	gather_free(nm, n);
	return rc;
}

int mail_append(struct mail_session *s, const char *name, const struct mail_new *msgs, size_t n,
		uint32_t *uidvalidity_out, uint32_t *uids_out, struct mail_err *err)
{
	char *path = mail_resolve(s, name, err);
	const struct driver *d;
	struct stat st;
	int rc = -1;

	if (!path)
		return -1;
	if (is_inbox(name) && leaf_state(s, path, &st, err) == 1 &&
	    drivers[0]->create(s, path, err) < 0 && err->code != MAIL_EXISTS)
		goto out;
	if (!(d = driver_of(s, name, path, NULL, err)))
		goto out;
	rc = d->append(s, path, msgs, n, uidvalidity_out, uids_out, err);
out:
	free(path);
	return rc;
}

int mail_create(struct mail_session *s, const char *name, struct mail_err *err)
{
	struct fsafe_loc loc;
	struct stat st;
	char *path;
	int rc = -1;
	size_t n;

	if (name && is_inbox(name)) {
		mail_err_set(err, MAIL_EXISTS, "INBOX always exists");
		return -1;
	}
	if (!(path = mail_resolve(s, name, err)))
		return -1;
	n = strlen(path);
	if (fsafe_locate(s, path, 1, &loc, err) < 0) {
		if (errno == ENOTDIR)
			mail_err_set(err, MAIL_FAIL, "cannot create %s: a parent is a mailbox", name);
		free(path);
		return -1;
	}
	if (fsafe_lstat(&loc, &st) == 0) {
		mail_err_set(err, MAIL_EXISTS, "mailbox %s already exists", name);
	} else if (n && path[n - 1] == '/') {
		/* "a/b/": a directory for mailboxes */
		if (mkdirat(loc.dirfd, loc.leaf, 0700) == 0)
			rc = 0;
		else
			mail_err_set(err, errno == EEXIST ? MAIL_EXISTS : errno == EACCES ?
					  MAIL_NOPERM : MAIL_FAIL, "cannot create %s: %s", name,
				     strerror(errno));
	} else {
		rc = drivers[0]->create(s, path, err);
	}
	fsafe_close(&loc);
	free(path);
	return rc;
}

/* Delete the mailbox file loc names, which lstat found as *st: only a file
 * in a format we know (never someone's .profile), under its dotlock, and
 * only if the name still refers to that file. */
static int delete_file(const char *name, const char *path, struct fsafe_loc *loc,
		       const struct stat *st, struct mail_err *err)
{
	struct stat fst;
	char *dot = NULL;
	int rc = -1, fd = fsafe_open(loc, O_RDONLY | O_NONBLOCK, 0);

	if (fd < 0) {
		open_error(name, errno, err);
		return -1;
	}
	int same = fstat(fd, &fst) == 0 && fst.st_dev == st->st_dev && fst.st_ino == st->st_ino;
	int ok = same && driver_of_fd(name, fd, err);
	close(fd);
	if (!same)
		mail_err_set(err, MAIL_FAIL, "mailbox %s was replaced meanwhile; not deleted", name);
	if (!ok || fsafe_dotlock(loc, path, &dot, err) < 0)
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

int mail_delete(struct mail_session *s, const char *name, struct mail_err *err)
{
	struct fsafe_loc loc;
	struct stat st;
	char *path;
	int rc = -1;

	if (name && is_inbox(name)) {
		mail_err_set(err, MAIL_FAIL, "INBOX cannot be deleted");
		return -1;
	}
	if (!(path = mail_resolve(s, name, err)))
		return -1;
	if (fsafe_locate(s, path, 0, &loc, err) < 0) {
		if (errno == ENOENT)
			open_error(name, ENOENT, err);
		free(path);
		return -1;
	}
	if (fsafe_lstat(&loc, &st) < 0) {
		open_error(name, errno, err);
	} else if (S_ISLNK(st.st_mode)) {
		open_error(name, ELOOP, err);
	} else if (S_ISDIR(st.st_mode)) {
		if (unlinkat(loc.dirfd, loc.leaf, AT_REMOVEDIR) == 0)
			rc = 0;
		else if (errno == ENOTEMPTY || errno == EEXIST)
			mail_err_set(err, MAIL_FAIL,
				     "%s has inferior hierarchical names; delete those first", name);
		else
			mail_err_set(err, MAIL_FAIL, "cannot delete %s: %s", name, strerror(errno));
	} else {
		rc = delete_file(name, path, &loc, &st, err);
	}
	fsafe_close(&loc);
	free(path);
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
		  mail_append(s, to, nm, n, NULL, NULL, err) < 0)) {
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

int mail_rename(struct mail_session *s, const char *from, const char *to, struct mail_err *err)
{
	struct stat st;
	char *pfrom = NULL, *pto = NULL;
	int rc = -1;

	if (to && is_inbox(to)) {
		mail_err_set(err, MAIL_EXISTS, "INBOX already exists");
		return -1;
	}
	if (!(pto = mail_resolve(s, to, err)))
		return -1;
	int there = leaf_state(s, pto, &st, err);
	if (there <= 0) {
		if (there == 0)
			mail_err_set(err, MAIL_EXISTS, "mailbox %s already exists", to);
		goto out;
	}
	if (from && is_inbox(from)) {
		rc = rename_inbox(s, to, err);
		goto out;
	}
	if (!(pfrom = mail_resolve(s, from, err)))
		goto out;
	rc = rename_file(s, from, pfrom, to, pto, err);
out:
	free(pfrom);
	free(pto);
	return rc;
}

int mail_status(struct mail_session *s, const char *name, struct mail_status *st,
		struct mail_err *err)
{
	char *path = mail_resolve(s, name, err);
	const struct driver *d;
	struct stat sb;
	int rc = -1;

	memset(st, 0, sizeof *st);
	if (!path)
		return -1;
	if (is_inbox(name) && leaf_state(s, path, &sb, err) == 1) {
		st->uidnext = 1;
		st->uidvalidity = (uint32_t)time(NULL);
		rc = 0;
	} else if ((d = driver_of(s, name, path, NULL, err))) {
		rc = d->status(s, path, st, err);
	}
	free(path);
	return rc;
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
};

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

/* One subdirectory: \Noselect, then its children if the pattern can
 * match below it. Entered by descriptor, never through a link. */
static void list_sub(struct lister *l, int dirfd, const char *ent, const char *name, int depth)
{
	int fd = openat(dirfd, ent, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	size_t nc = 0;

	if (fd < 0)
		return;
	char **kids = dir_entries(fd, &nc);
	for (size_t k = 0; k < nc; k++)
		free(kids[k]);
	free(kids);
	if (match_name(l->pattern, name))
		l->fn(l->ctx, name, LA_NOSELECT | (nc ? LA_HASCHILDREN : LA_HASNOCHILDREN));
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
		    !(depth == 0 && is_inbox(name))) {
			if (S_ISDIR(st.st_mode))
				list_sub(l, dirfd, ents[i], name, depth);
			else if (S_ISREG(st.st_mode) && match_name(l->pattern, name))
				l->fn(l->ctx, name, LA_NOINFERIORS);
		}
		free(name);
		free(ents[i]);
	}
	free(ents);
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

int mail_list(struct mail_session *s, const char *ref, const char *pattern, mail_list_fn fn,
	      void *ctx, struct mail_err *err)
{
	char *pat;

	if (!pattern || !*pattern) {
		fn(ctx, "", LA_NOSELECT);   /* the hierarchy delimiter query */
		return 0;
	}
	pat = full_pattern(ref, pattern);
	if (!s->allow_outside_home && (pat[0] == '/' || pat[0] == '~' || has_dotdot(pat))) {
		free(pat);
		return 0;   /* nothing outside home matches */
	}
	if (pat[0] != '/' && pat[0] != '~') {
		struct lister l = { pat, fn, ctx };
		if (match(pat, "INBOX", 0, 1))
			fn(ctx, "INBOX", LA_NOINFERIORS);
		if (fsafe_home(s) >= 0)
			list_dir(&l, s->home_fd, "", 0);
	}
	free(pat);
	return 0;
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

/* Rewrite the list crash-safely: temp file, fsync, rename. */
static int sub_write(struct mail_session *s, char **v, size_t n, struct mail_err *err)
{
	struct buf b;
	int rc;

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
