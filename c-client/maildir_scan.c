/* maildir_scan.c: reading a Maildir's cur/ and new/: which entries are
 * messages (regular files of the session's user, never links or FIFOs),
 * their names taken apart, and the canonical size of a file when its name
 * does not carry it. No mailbox state here; maildir_sync.c matches a scan
 * to an open mailbox. */
#include "maildir_int.h"
#include "fsafe.h"
#include "log.h"
#include "msgfile.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

/* Are two mtimes the same, to the nanosecond? */
int md_mt_same(const struct timespec *a, const struct timespec *b)
{
	return a->tv_sec == b->tv_sec && a->tv_nsec == b->tv_nsec;
}

/* The mtime of the directory fd (zero when it cannot be had). */
void md_dir_mtime(int fd, struct timespec *out)
{
	struct stat st;

	if (fstat(fd, &st) == 0)
		*out = st.st_mtim;
	else
		memset(out, 0, sizeof *out);
}

/* Free a scan and the names it still owns. */
void md_scan_free(struct mscan *sc)
{
	for (size_t i = 0; i < sc->n; i++)
		free(sc->v[i].name);
	free(sc->v);
	memset(sc, 0, sizeof *sc);
}

/* The message files of one directory. Links, FIFOs and directories are
 * never messages; what the type does not tell is checked without
 * following a link. */
static int scan_dir(int dfd, int in_new, struct mscan *sc, size_t *cap)
{
	DIR *d = md_opendir(dfd, ".");
	struct dirent *e;

	if (!d)
		return -1;
	while ((e = readdir(d)) != NULL) {
		struct stat st;
		struct md_name pn;
		if (md_name_parse(e->d_name, strlen(e->d_name), &pn) < 0)
			continue;
		if (e->d_type != DT_REG &&
		    (e->d_type != DT_UNKNOWN ||
		     fstatat(dirfd(d), e->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0 ||
		     !S_ISREG(st.st_mode)))
			continue;
		if (sc->n == *cap) {
			*cap = *cap ? *cap * 2 : 256;
			sc->v = xrealloc(sc->v, *cap * sizeof *sc->v);
		}
		sc->v[sc->n++] = (struct ment){ xstrdup(e->d_name), (uint8_t)in_new, pn, 0, NULL, 0 };
	}
	closedir(d);
	return 0;
}

/* Order of scanned files by base name. */
static int ment_base_cmp(const void *a, const void *b)
{
	const struct ment *x = a, *y = b;
	size_t n = x->pn.base_len < y->pn.base_len ? x->pn.base_len : y->pn.base_len;
	int c = memcmp(x->name, y->name, n);

	return c ? c : (x->pn.base_len > y->pn.base_len) - (x->pn.base_len < y->pn.base_len);
}

/* new/ before cur/: a file moving from one to the other meanwhile is seen
 * in cur/. Sorted by base; a base twice (a copy left by a crash) once. */
int md_scan(struct mdir *d, struct mscan *sc)
{
	struct timespec c0, n0;
	size_t cap = 0, k = 0;

	memset(sc, 0, sizeof *sc);
	md_dir_mtime(d->cur, &c0);
	md_dir_mtime(d->new, &n0);
	if (scan_dir(d->new, 1, sc, &cap) < 0 || scan_dir(d->cur, 0, sc, &cap) < 0) {
		md_scan_free(sc);
		return -1;
	}
	md_dir_mtime(d->cur, &sc->cur_mt);
	md_dir_mtime(d->new, &sc->new_mt);
	sc->stable = md_mt_same(&c0, &sc->cur_mt) && md_mt_same(&n0, &sc->new_mt);
	if (sc->n)
		qsort(sc->v, sc->n, sizeof *sc->v, ment_base_cmp);
	for (size_t i = 0; i < sc->n; i++) {
		if (k && !ment_base_cmp(&sc->v[k - 1], &sc->v[i])) {
			free(sc->v[i].name);
			continue;
		}
		sc->v[k++] = sc->v[i];
	}
	sc->n = k;
	return 0;
}

/* The scanned file whose base is that of name, or NULL. */
struct ment *md_scan_find(struct mscan *sc, const char *name)
{
	struct ment key;

	if (!sc->n || md_name_parse(name, strlen(name), &key.pn) < 0)
		return NULL;
	key.name = (char *)name;
	return bsearch(&key, sc->v, sc->n, sizeof *sc->v, ment_base_cmp);
}

/* Is the scanned file a regular file of the session's user? Another
 * user's file hard-linked into the Maildir is not ours to serve. */
int md_ment_ours(const struct mdir *d, const struct ment *e, struct stat *st)
{
	return fstatat(e->in_new ? d->new : d->cur, e->name, st, AT_SYMLINK_NOFOLLOW) == 0 &&
	       S_ISREG(st->st_mode) && st->st_uid == geteuid();
}

/* The W field of uidlist extensions, or 0. */
uint64_t md_ext_vsize(const char *ext, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if ((i && ext[i - 1] != ' ') || ext[i] != 'W')
			continue;
		uint64_t v = 0;
		size_t j = i + 1;
		while (j < n && ext[j] >= '0' && ext[j] <= '9' && v < UINT64_MAX / 10 - 10)
			v = v * 10 + (uint64_t)(ext[j++] - '0');
		if (j > i + 1 && (j == n || ext[j] == ' '))
			return v;
	}
	return 0;
}

/* RFC822.SIZE of a scanned file: from its name, its uidlist record, or
 * (neither says) by reading it. */
uint64_t md_ment_vsize(const struct mdir *d, const struct ment *e, const struct md_rec *r,
		       const struct stat *st)
{
	uint64_t v = e->pn.vsize ? e->pn.vsize : e->vsize ? e->vsize :
		     r ? md_ext_vsize(r->ext, r->ext_len) : 0;

	return v ? v : msgfile_vsize(e->in_new ? d->new : d->cur, e->name, st);
}
