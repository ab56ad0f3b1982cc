/* maildir_ns.c: Maildir folders. Maildir++ as Dovecot lays it out when
 * INBOX is ~/Maildir: folder "a/b" is the directory ".a.b" beside cur/ new/
 * tmp/, marked by a maildirfolder file; and the create, delete and rename
 * of a Maildir anywhere. Every directory is entered without following links. */
#include "maildir_int.h"
#include "fsafe.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#define DIR_FLAGS (O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
#define RM_DEPTH 3

int md_valid(int dirfd, const char *leaf, const struct stat *st)
{
	struct stat cur;
	int fd, ok;

	if (!S_ISDIR(st->st_mode))
		return 0;
	fd = openat(dirfd, leaf, DIR_FLAGS);
	if (fd < 0)
		return 0;
	ok = fstatat(fd, "cur", &cur, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR(cur.st_mode);
	close(fd);
	return ok;
}

/* Is path a Maildir++ folder of the session's INBOX namespace? */
static int is_folder(const struct mail_session *s, const char *path)
{
	size_t rl = s->ns_root ? strlen(s->ns_root) : 0;

	return rl && !strncmp(path, s->ns_root, rl) && path[rl] == '/' && path[rl + 1] == '.' &&
	       !strchr(path + rl + 1, '/');
}

/* cur/ new/ tmp/ (and the folder mark) inside the new directory fd. */
static int make_inside(struct mail_session *s, int fd, int folder, struct mail_err *err)
{
	static const char *const sub[3] = { "cur", "new", "tmp" };
	struct md_ul u = { 0 };
	struct buf b;
	int rc = 0;

	for (int i = 0; i < 3 && rc == 0; i++)
		if (mkdirat(fd, sub[i], 0700) < 0 && errno != EEXIST)
			rc = -1;
	if (rc == 0 && folder) {
		int m = openat(fd, MD_FOLDER_MARK, O_WRONLY | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
		rc = m < 0 ? -1 : close(m);
	}
	if (rc < 0) {
		mail_err_set(err, errno == ENOSPC ? MAIL_TOOBIG : MAIL_FAIL,
			     "cannot create the Maildir: %s", strerror(errno));
		return -1;
	}
	/* its UIDVALIDITY now, so a folder made again later gets a greater one */
	int lk = md_lock(fd, MD_UIDLIST_LOCK, err);
	if (lk < 0)
		return -1;
	md_ul_new(s, fd, &u);
	buf_init(&b);
	md_uidlist_header(&b, &u.ul);
	rc = md_lock_commit(fd, lk, MD_UIDLIST_LOCK, MD_UIDLIST, &b, err);
	buf_free(&b);
	md_ul_free(&u);
	return rc;
}

/* A folder's parent is the INBOX Maildir: make it one first if the folder
 * is the first thing created (else INBOX would be a bare directory). */
static int root_ready(struct mail_session *s, int rootfd, struct mail_err *err)
{
	struct stat st;

	if (fstatat(rootfd, "cur", &st, AT_SYMLINK_NOFOLLOW) == 0 || errno != ENOENT)
		return 0;
	return make_inside(s, rootfd, 0, err);
}

int md_create(struct mail_session *s, const char *path, struct mail_err *err)
{
	struct fsafe_loc loc;
	int fd, rc;

	if (fsafe_locate(s, path, 1, &loc, err) < 0)
		return -1;
	if (is_folder(s, path) && root_ready(s, loc.dirfd, err) < 0) {
		fsafe_close(&loc);
		return -1;
	}
	if (mkdirat(loc.dirfd, loc.leaf, 0700) < 0) {
		mail_err_set(err, errno == EEXIST ? MAIL_EXISTS : errno == EACCES ? MAIL_NOPERM :
			     MAIL_FAIL, "cannot create %s: %s", path, strerror(errno));
		fsafe_close(&loc);
		return -1;
	}
	fd = openat(loc.dirfd, loc.leaf, DIR_FLAGS);
	rc = fd < 0 ? -1 : make_inside(s, fd, is_folder(s, path), err);
	if (fd < 0)
		mail_err_set(err, MAIL_FAIL, "cannot open %s: %s", path, strerror(errno));
	if (fd >= 0)
		close(fd);
	fsafe_close(&loc);
	return rc;
}

/* Remove name in dirfd and what it holds, depth levels down at most;
 * links are removed, never followed. */
static int rm_tree(int pfd, const char *name, int depth)
{
	DIR *d = md_opendir(pfd, name);
	struct dirent *e;

	if (!d)
		return unlinkat(pfd, name, 0) == 0 || errno == ENOENT ? 0 : -1;
	while ((e = readdir(d)) != NULL) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		if (unlinkat(dirfd(d), e->d_name, 0) < 0 && (errno == EISDIR || errno == EPERM) &&
		    depth > 0)
			rm_tree(dirfd(d), e->d_name, depth - 1);
	}
	closedir(d);
	return unlinkat(pfd, name, AT_REMOVEDIR) == 0 || errno == ENOENT ? 0 : -1;
}

int md_remove(struct mail_session *s, const char *path, struct mail_err *err)
{
	struct fsafe_loc loc;
	int rc = -1;

	if (fsafe_locate(s, path, 0, &loc, err) < 0)
		return -1;
	/* out of sight first: a crash midway leaves only the trash behind */
	rm_tree(loc.dirfd, MD_TRASH, RM_DEPTH);
	if (renameat2(loc.dirfd, loc.leaf, loc.dirfd, MD_TRASH, RENAME_NOREPLACE) < 0)
		mail_err_set(err, errno == ENOENT ? MAIL_NONEXISTENT : MAIL_FAIL,
			     "cannot delete %s: %s", path, strerror(errno));
	else if (rm_tree(loc.dirfd, MD_TRASH, RM_DEPTH) < 0)
		mail_err_set(err, MAIL_FAIL, "%s was deleted, but files of another kind stayed in "
			     "%s", path, MD_TRASH);
	else
		rc = 0;
	fsafe_close(&loc);
	return rc;
}

/* Rename the folder's children too: ".a.b" follows ".a" to ".x.b". */
static void rename_children(int pfd, const char *from, const char *to)
{
	DIR *d = md_opendir(pfd, ".");
	size_t fl = strlen(from);
	struct dirent *e;
	char **kids = NULL;
	size_t n = 0;

	if (!d)
		return;
	while ((e = readdir(d)) != NULL)
		if (!strncmp(e->d_name, from, fl) && e->d_name[fl] == '.') {
			kids = xrealloc(kids, (n + 1) * sizeof *kids);
			kids[n++] = xstrdup(e->d_name);
		}
	closedir(d);
	for (size_t i = 0; i < n; i++) {
		struct buf b;
		buf_init(&b);
		buf_printf(&b, "%s%s", to, kids[i] + fl);
		renameat2(pfd, kids[i], pfd, b.data, RENAME_NOREPLACE);
		buf_free(&b);
		free(kids[i]);
	}
	free(kids);
}

int md_rename(struct mail_session *s, const char *from, const char *to, struct mail_err *err)
{
	struct fsafe_loc lf, lt;
	int rc = -1;

	size_t fl = strlen(from);
	if (!strncmp(to, from, fl) && (to[fl] == '.' || to[fl] == '/')) {
		mail_err_set(err, MAIL_BADNAME, "a mailbox cannot be moved under itself");
		return -1;
	}
	if (fsafe_locate(s, from, 0, &lf, err) < 0)
		return -1;
	if (fsafe_locate(s, to, 1, &lt, err) < 0) {
		fsafe_close(&lf);
		return -1;
	}
	if (renameat2(lf.dirfd, lf.leaf, lt.dirfd, lt.leaf, RENAME_NOREPLACE) < 0) {
		mail_err_set(err, errno == EEXIST ? MAIL_EXISTS : MAIL_FAIL,
			     "cannot rename %s: %s", from, strerror(errno));
	} else {
		rc = 0;
		if (is_folder(s, from) && is_folder(s, to))
			rename_children(lf.dirfd, lf.leaf, lt.leaf);
	}
	fsafe_close(&lf);
	fsafe_close(&lt);
	return rc;
}

/* ---------------------------------------------------------------------- */
/* The namespace                                                          */

char *md_ns_path(const char *root, const char *name, struct mail_err *err)
{
	const char *why = NULL;
	struct buf b;

	if (name[0] == '~')
		why = "begins with '~'";
	else if (strchr(name, '.'))
		why = "'.' is the folder separator on disk and cannot be in a name";
	else if (name[0] == '/' || strstr(name, "//"))
		why = "a level of the name is empty";
	for (const unsigned char *p = (const unsigned char *)name; !why && *p; p++)
		if (*p < ' ' || *p == 0x7f)
			why = "control characters are not allowed";
	if (why) {
		mail_err_set(err, MAIL_BADNAME, "invalid mailbox name %s: %s", name, why);
		return NULL;
	}
	size_t n = strlen(name), i = 0;
	buf_init(&b);
	buf_printf(&b, "%s/.", root);
	/* "inbox/sub" is INBOX's child, in any case (as Dovecot names it) */
	if (!strncasecmp(name, "INBOX/", 6)) {
		buf_puts(&b, "INBOX.");
		i = 6;
	}
	/* a trailing '/' asks for a folder that can hold folders: all can */
	for (; i < n - (name[n - 1] == '/'); i++)
		buf_putc(&b, name[i] == '/' ? '.' : name[i]);
	return buf_steal(&b);
}

/* A folder found on disk (or implied by a child). */
struct md_folder {
	char *name;
	int real, selectable;
};

/* qsort/bsearch order of folders by name. */
static int folder_cmp(const void *a, const void *b)
{
	return strcmp(((const struct md_folder *)a)->name, ((const struct md_folder *)b)->name);
}

/* Append a folder (taking name) to *v. */
static void folder_add(struct md_folder **v, size_t *n, char *name, int real, int selectable)
{
	*v = xrealloc(*v, (*n + 1) * sizeof **v);
	(*v)[(*n)++] = (struct md_folder){ name, real, selectable };
}

/* The ".name" directories of root as folder names ('.' to '/'). */
static size_t folders_read(int root, struct md_folder **v)
{
	DIR *d = md_opendir(root, ".");
	struct dirent *e;
	size_t n = 0;

	*v = NULL;
	if (!d)
		return 0;
	while ((e = readdir(d)) != NULL) {
		struct stat st;
		const char *nm = e->d_name;
		if (nm[0] != '.' || !nm[1] || !strcmp(nm, "..") || !strcmp(nm, MD_TRASH) ||
		    fstatat(dirfd(d), nm, &st, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISDIR(st.st_mode))
			continue;
		char *name = xstrdup(nm + 1);
		for (char *p = name; *p; p++)
			if (*p == '.')
				*p = '/';
		folder_add(v, &n, name, 1, md_valid(dirfd(d), nm, &st));
	}
	closedir(d);
	return n;
}

/* Add the parents no directory stands for ("a" of ".a.b"), sorted after. */
static void folders_parents(struct md_folder **v, size_t *n)
{
	size_t real = *n;

	if (!real)
		return;
	qsort(*v, *n, sizeof **v, folder_cmp);
	for (size_t i = 0; i < real; i++)
		for (char *p = strchr((*v)[i].name, '/'); p; p = strchr(p + 1, '/')) {
			char *par = xstrndup((*v)[i].name, (size_t)(p - (*v)[i].name));
			struct md_folder key = { par, 0, 0 };
			int known = bsearch(&key, *v, real, sizeof **v, folder_cmp) != NULL;
			for (size_t k = real; !known && k < *n; k++)
				known = !strcmp((*v)[k].name, par);
			if (known)
				free(par);
			else
				folder_add(v, n, par, 0, 0);
		}
	qsort(*v, *n, sizeof **v, folder_cmp);
}

int md_ns_list(struct mail_session *s, const char *root, const char *pattern, mail_list_fn fn,
	       void *ctx, struct mail_err *err)
{
	struct fsafe_loc loc;
	struct md_folder *v;
	size_t n;

	if (fsafe_locate(s, root, 0, &loc, err) < 0)
		return errno == ENOENT ? 0 : -1;
	int fd = openat(loc.dirfd, loc.leaf, DIR_FLAGS);
	fsafe_close(&loc);
	if (fd < 0)
		return 0;
	n = folders_read(fd, &v);
	close(fd);
	folders_parents(&v, &n);
	for (size_t i = 0; i < n; i++) {
		size_t l = strlen(v[i].name);
		/* sorted: a child ("a/b") follows its parent closely */
		int kids = i + 1 < n && !strncmp(v[i + 1].name, v[i].name, l) &&
			   v[i + 1].name[l] == '/';
		for (size_t k = i + 1; !kids && k < n && !strncmp(v[k].name, v[i].name, l); k++)
			kids = v[k].name[l] == '/';
		/* INBOX is the Maildir itself, listed once by mail.c */
		if (mail_match(pattern, v[i].name) && strcasecmp(v[i].name, "INBOX"))
			fn(ctx, v[i].name, (v[i].selectable ? 0 : LA_NOSELECT) |
			   (kids ? LA_HASCHILDREN : LA_HASNOCHILDREN));
	}
	for (size_t i = 0; i < n; i++)
		free(v[i].name);
	free(v);
	return 0;
}

/* The INBOX Maildir (root) held open, or -1 with err. */
static int root_open(struct mail_session *s, const char *root, struct mail_err *err)
{
	struct fsafe_loc loc;
	int fd;

	if (fsafe_locate(s, root, 0, &loc, err) < 0)
		return -1;
	fd = openat(loc.dirfd, loc.leaf, DIR_FLAGS);
	if (fd < 0)
		mail_err_set(err, errno == ENOENT ? MAIL_NONEXISTENT : MAIL_FAIL,
			     "cannot open %s: %s", root, strerror(errno));
	fsafe_close(&loc);
	return fd;
}

int md_subs_read(struct mail_session *s, const char *root, char ***names, size_t *n,
		 struct mail_err *err)
{
	char *data;
	size_t len;
	int fd = root_open(s, root, err), r;

	*names = NULL;
	*n = 0;
	if (fd < 0)
		return err->code == MAIL_NONEXISTENT ? 0 : -1;
	r = fsafe_read_own(fd, MD_SUBSCRIPTIONS, FSAFE_SUBS_MAX, &data, &len, err);
	close(fd);
	if (r != 0)
		return r < 0 ? -1 : 0;
	*n = md_subs_parse(data, len, names);
	free(data);
	return 0;
}

int md_subs_write(struct mail_session *s, const char *root, char *const *names, size_t n,
		  struct mail_err *err)
{
	struct buf b;
	int fd = root_open(s, root, err), rc;

	if (fd < 0)
		return -1;
	buf_init(&b);
	md_subs_format(&b, names, n);
	rc = fsafe_replace(fd, MD_SUBSCRIPTIONS, b.data, b.len, err);
	buf_free(&b);
	close(fd);
	return rc;
}
