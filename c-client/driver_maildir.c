/* driver_maildir.c: the Maildir driver (Maildir++ as Dovecot keeps it):
 * an open mailbox is a scan of new/ and cur/ matched against
 * dovecot-uidlist; flags live in the file names' ":2," info and are
 * written by rename; nothing locks the Maildir for reading. The directory,
 * its lock files and delivery are in maildir_dir.c, folders in maildir_ns.c. */
#include "maildir_int.h"
#include "fsafe.h"
#include "log.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

/* A directory changed this recently may change again within the same
 * timestamp: its mtime alone cannot prove a later scan unnecessary. */
#define MD_RECENT_SECS 2

/* A message: the generic record first, then where its file is. */
struct mdmsg {
	struct message m;
	char *name;               /* its file name in cur/ or new/ */
	uint8_t in_new;
	uint32_t disk_flags;      /* what the name says now */
	uint32_t disk_letters;
	char *ext;                /* uidlist extension fields, kept */
	size_t ext_len;
	uint8_t size_read;        /* size found by reading: not in the list yet */
};

struct mdbox {
	struct mdir d;
	struct timespec cur_mt, new_mt;   /* at the last full scan */
	struct md_ul ul;
	struct stat kw_st;
	int8_t letter_of[MAIL_KEYWORDS_MAX];   /* box keyword -> letter, -1 */
	int8_t kw_of[MD_LETTERS];             /* letter -> box keyword, -1 */
	struct buf text;
	uint32_t text_uid;
	int scanned;
	uint32_t sizes_read;      /* messages with size_read set */
};

/* A file found by a scan. */
struct ment {
	char *name;
	uint8_t in_new;
	struct md_name pn;
	uint32_t uid;
	const struct md_rec *rec;
	uint64_t vsize;           /* computed for a new file without ",W=" */
};

struct mscan {
	struct ment *v;
	size_t n;
	struct timespec cur_mt, new_mt;
	int stable;               /* neither directory changed during it */
};

#define MB(box) ((struct mdbox *)(box)->drvdata)
#define MM(box, i) ((struct mdmsg *)(box)->msgs[i])

static int mt_same(const struct timespec *a, const struct timespec *b)
{
	return a->tv_sec == b->tv_sec && a->tv_nsec == b->tv_nsec;
}

static void dir_mtime(int fd, struct timespec *out)
{
	struct stat st;

	if (fstat(fd, &st) == 0)
		*out = st.st_mtim;
	else
		memset(out, 0, sizeof *out);
}

/* ---------------------------------------------------------------------- */
/* Scanning                                                               */

static void scan_free(struct mscan *sc)
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
	int fd = openat(dfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
	struct dirent *e;

	if (!d) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
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

static int ment_base_cmp(const void *a, const void *b)
{
	const struct ment *x = a, *y = b;
	size_t n = x->pn.base_len < y->pn.base_len ? x->pn.base_len : y->pn.base_len;
	int c = memcmp(x->name, y->name, n);

	return c ? c : (x->pn.base_len > y->pn.base_len) - (x->pn.base_len < y->pn.base_len);
}

/* new/ before cur/: a file moving from one to the other meanwhile is seen
 * in cur/. Sorted by base; a base twice (a copy left by a crash) once. */
static int scan(struct mdir *d, struct mscan *sc)
{
	struct timespec c0, n0;
	size_t cap = 0, k = 0;

	memset(sc, 0, sizeof *sc);
	dir_mtime(d->cur, &c0);
	dir_mtime(d->new, &n0);
	if (scan_dir(d->new, 1, sc, &cap) < 0 || scan_dir(d->cur, 0, sc, &cap) < 0) {
		scan_free(sc);
		return -1;
	}
	dir_mtime(d->cur, &sc->cur_mt);
	dir_mtime(d->new, &sc->new_mt);
	sc->stable = mt_same(&c0, &sc->cur_mt) && mt_same(&n0, &sc->new_mt);
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
static struct ment *scan_find(struct mscan *sc, const char *name)
{
	struct ment key;

	if (md_name_parse(name, strlen(name), &key.pn) < 0)
		return NULL;
	key.name = (char *)name;
	return bsearch(&key, sc->v, sc->n, sizeof *sc->v, ment_base_cmp);
}

/* ---------------------------------------------------------------------- */
/* Keywords: box->keywords[k] <-> letter of dovecot-keywords               */

static void kw_map_reset(struct mdbox *mb)
{
	memset(mb->letter_of, -1, sizeof mb->letter_of);
	memset(mb->kw_of, -1, sizeof mb->kw_of);
}

/* Learn dovecot-keywords: every name gets a box keyword and its letter. */
static int kw_load(struct mailbox *box, struct mail_err *err)
{
	struct mdbox *mb = MB(box);
	char *names[MD_LETTERS];

	if (md_kw_read(mb->d.root, names, &mb->kw_st, err) < 0)
		return -1;
	for (int l = 0; l < MD_LETTERS; l++) {
		if (!names[l] || mb->kw_of[l] >= 0)
			continue;
		unsigned k = 0;
		while (k < box->nkeywords && strcasecmp(box->keywords[k], names[l]))
			k++;
		if (k == box->nkeywords) {
			if (k >= MAIL_KEYWORDS_MAX)
				continue;
			box->keywords[box->nkeywords++] = xstrdup(names[l]);
		}
		if (mb->letter_of[k] < 0) {
			mb->letter_of[k] = (int8_t)l;
			mb->kw_of[l] = (int8_t)k;
		}
	}
	md_kw_free(names);
	return 0;
}

/* Box keywords of the letters that have names. */
static uint64_t kw_of_letters(const struct mdbox *mb, uint32_t letters)
{
	uint64_t kw = 0;

	for (int l = 0; l < MD_LETTERS; l++)
		if ((letters >> l & 1) && mb->kw_of[l] >= 0)
			kw |= 1ULL << mb->kw_of[l];
	return kw;
}

/* Letters of box keywords, keeping letters of old that no keyword names;
 * -1 when a keyword has no letter yet. */
static int64_t letters_of(const struct mdbox *mb, uint64_t kw, uint32_t old)
{
	uint32_t l = 0;

	for (int i = 0; i < MD_LETTERS; i++)
		if ((old >> i & 1) && mb->kw_of[i] < 0)
			l |= 1U << i;
	for (unsigned k = 0; k < MAIL_KEYWORDS_MAX; k++) {
		if (!(kw >> k & 1))
			continue;
		if (mb->letter_of[k] < 0)
			return -1;
		l |= 1U << mb->letter_of[k];
	}
	return l;
}

/* Give letters to the keywords messages carry that have none, writing
 * dovecot-keywords (merged with what others added) under the uidlist lock.
 * On failure the mapping is as it was. */
static int kw_assign(struct mailbox *box, uint64_t used, struct mail_err *err)
{
	struct mdbox *mb = MB(box);
	char *names[MD_LETTERS];
	int8_t letter_was[MAIL_KEYWORDS_MAX], kw_was[MD_LETTERS];
	int added = 0, rc = 0, lk;

	if ((lk = md_lock(mb->d.root, MD_UIDLIST_LOCK, err)) < 0)
		return -1;
	if (md_kw_read(mb->d.root, names, &mb->kw_st, err) < 0) {
		md_lock_drop(mb->d.root, lk, MD_UIDLIST_LOCK);
		return -1;
	}
	memcpy(letter_was, mb->letter_of, sizeof letter_was);
	memcpy(kw_was, mb->kw_of, sizeof kw_was);
	for (unsigned k = 0; k < box->nkeywords && rc == 0; k++) {
		if (!(used >> k & 1) || mb->letter_of[k] >= 0)
			continue;
		int l = md_kw_letter(names, box->keywords[k], &added);
		if (l < 0 || mb->kw_of[l] >= 0) {
			mail_err_set(err, MAIL_LIMIT, "Cannot store keyword %s: a Maildir holds at most "
				     "%d keywords (one letter each in the file name)",
				     box->keywords[k], MD_LETTERS);
			rc = -1;
			break;
		}
		mb->letter_of[k] = (int8_t)l;
		mb->kw_of[l] = (int8_t)k;
	}
	if (rc == 0 && added)
		rc = md_kw_write(mb->d.root, names, err);
	md_kw_free(names);
	md_lock_drop(mb->d.root, lk, MD_UIDLIST_LOCK);
	if (rc < 0) {
		memcpy(mb->letter_of, letter_was, sizeof letter_was);
		memcpy(mb->kw_of, kw_was, sizeof kw_was);
	} else {
		/* our own write: not news at the next ping */
		struct stat st;
		if (fstatat(mb->d.root, MD_KEYWORDS, &st, AT_SYMLINK_NOFOLLOW) == 0)
			mb->kw_st = st;
	}
	return rc;
}

/* ---------------------------------------------------------------------- */
/* Messages                                                               */

static void msg_free(struct mdmsg *mm)
{
	pool_free(mm->m.pool);
	free(mm->name);
	free(mm->ext);
	free(mm);
}

static int msg_dir(struct mailbox *box, const struct mdmsg *mm)
{
	return mm->in_new ? MB(box)->d.new : MB(box)->d.cur;
}

/* Does the session have flag changes for mm not on disk yet? */
static int msg_dirty(struct mailbox *box, const struct mdmsg *mm)
{
	int64_t l = letters_of(MB(box), mm->m.keywords, mm->disk_letters);

	return (mm->m.flags & MF_STORABLE) != mm->disk_flags || l != (int64_t)mm->disk_letters;
}

/* Canonical size of a file without ",W=": read it once (the uidlist keeps
 * the answer as Dovecot does, in a W field). */
static uint64_t file_vsize(int dirfd, const char *name, const struct stat *st)
{
	char buf[65536];
	uint64_t v = 0;
	off_t at = 0;
	char prev = 0;
	int fd = md_open_msg(dirfd, name, &(struct stat){ 0 });

	if (fd < 0)
		return (uint64_t)st->st_size;
	for (ssize_t n; (n = pread(fd, buf, sizeof buf, at)) > 0; at += n) {
		for (ssize_t i = 0; i < n; i++) {
			v += 1 + (buf[i] == '\n' && prev != '\r');
			prev = buf[i];
		}
	}
	close(fd);
	return v;
}

/* Is the scanned file a regular file of the session's user? Another
 * user's file hard-linked into the Maildir is not ours to serve. */
static int ment_ours(const struct mdir *d, const struct ment *e, struct stat *st)
{
	return fstatat(e->in_new ? d->new : d->cur, e->name, st, AT_SYMLINK_NOFOLLOW) == 0 &&
	       S_ISREG(st->st_mode) && st->st_uid == geteuid();
}

/* The W field of uidlist extensions, or 0. */
static uint64_t ext_vsize(const char *ext, size_t n)
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

/* A message for the scanned file e: only a regular file of the user. */
static struct mdmsg *msg_new(struct mailbox *box, struct ment *e)
{
	struct stat st;
	int dirfd = e->in_new ? MB(box)->d.new : MB(box)->d.cur;

	if (!ment_ours(&MB(box)->d, e, &st)) {
		log_warn("Maildir %s: skipped %s/%s: not a regular file of this user", box->name,
			 e->in_new ? "new" : "cur", e->name);
		return NULL;
	}
	struct mdmsg *mm = xcalloc(1, sizeof *mm);
	mm->m.uid = e->uid;
	mm->m.internal_date = st.st_mtime;
	mm->m.drv = mm;
	mm->name = e->name;
	e->name = NULL;
	mm->in_new = e->in_new;
	mm->disk_flags = md_info_flags(&e->pn.info);
	mm->disk_letters = md_info_letters(&e->pn.info);
	mm->m.flags = mm->disk_flags;
	mm->m.keywords = kw_of_letters(MB(box), mm->disk_letters);
	if (e->rec && e->rec->ext_len) {
		mm->ext = xstrndup(e->rec->ext, e->rec->ext_len);
		mm->ext_len = e->rec->ext_len;
	}
	mm->m.size = e->pn.vsize ? e->pn.vsize : e->vsize ? e->vsize :
		     ext_vsize(mm->ext, mm->ext_len);
	if (!mm->m.size) {
		mm->m.size = file_vsize(dirfd, mm->name, &st);
		mm->size_read = 1;
		MB(box)->sizes_read++;
	}
	return mm;
}

/* ---------------------------------------------------------------------- */
/* UIDs                                                                   */

/* UIDs of the scanned files from the uidlist read (0 where none). */
static size_t uids_match(struct mdbox *mb, struct mscan *sc)
{
	size_t missing = 0;

	for (size_t i = 0; i < sc->n; i++) {
		struct ment *e = &sc->v[i];
		e->rec = mb->ul.have ? md_uidlist_find(&mb->ul.ul, e->name, e->pn.base_len) : NULL;
		e->uid = e->rec ? e->rec->uid : 0;
		missing += !e->uid;
	}
	return missing;
}

static int ment_uid_cmp(const void *a, const void *b)
{
	const struct ment *x = *(const struct ment *const *)a, *y = *(const struct ment *const *)b;

	if (x->uid != y->uid)
		return x->uid < y->uid ? -1 : 1;
	return strcmp(x->name ? x->name : "", y->name ? y->name : "");
}

/* The uidlist for the scan: every file with its UID and extensions (a
 * vsize we computed as W), and, when the scan may have missed a file
 * being renamed, the records of files not seen too. */
static void uids_list(struct mailbox *box, struct mscan *sc, struct buf *b)
{
	struct mdbox *mb = MB(box);
	struct ment **v = xmalloc((sc->n + 1) * sizeof *v);

	md_uidlist_header(b, &mb->ul.ul);
	for (size_t i = 0; i < sc->n; i++)
		v[i] = &sc->v[i];
	if (sc->n)
		qsort(v, sc->n, sizeof *v, ment_uid_cmp);
	size_t r = 0;
	for (size_t i = 0; i < sc->n; i++) {
		const struct md_rec *rec = v[i]->rec;
		while (!sc->stable && r < mb->ul.ul.n && mb->ul.ul.recs[r].uid < v[i]->uid) {
			const struct md_rec *o = &mb->ul.ul.recs[r++];
			md_uidlist_record(b, o->uid, o->ext, o->ext_len, o->base, o->base_len);
		}
		if (rec && rec->uid == v[i]->uid)
			r += r < mb->ul.ul.n && mb->ul.ul.recs[r].uid == rec->uid;
		if (!v[i]->uid)
			continue;   /* not ours to number */
		char w[32];
		int wl = v[i]->vsize ? snprintf(w, sizeof w, "W%llu",
						(unsigned long long)v[i]->vsize) : 0;
		md_uidlist_record(b, v[i]->uid, rec ? rec->ext : w, rec ? rec->ext_len : (size_t)wl,
				  v[i]->name, v[i]->pn.base_len);
	}
	while (!sc->stable && r < mb->ul.ul.n) {
		const struct md_rec *o = &mb->ul.ul.recs[r++];
		if (!o->uid || o->uid >= mb->ul.ul.next)
			continue;
		md_uidlist_record(b, o->uid, o->ext, o->ext_len, o->base, o->base_len);
	}
	free(v);
}

static int ment_name_cmp(const void *a, const void *b)
{
	return strcmp((*(const struct ment *const *)a)->name, (*(const struct ment *const *)b)->name);
}

/* Under the uidlist lock, with the list just reread: give the files
 * without a UID the next ones (in name order: deliveries are named by
 * time). Returns how many were numbered. */
static size_t uids_number(struct mailbox *box, struct mscan *sc)
{
	struct mdbox *mb = MB(box);
	struct ment **fresh = xmalloc((sc->n + 1) * sizeof *fresh);
	size_t nf = 0, numbered = 0;

	for (size_t i = 0; i < sc->n; i++)
		if (!sc->v[i].uid)
			fresh[nf++] = &sc->v[i];
	if (nf)
		qsort(fresh, nf, sizeof *fresh, ment_name_cmp);
	for (size_t i = 0; i < nf; i++) {
		struct ment *e = fresh[i];
		struct stat st;
		/* a foreign or vanished file gets no UID */
		if (!ment_ours(&mb->d, e, &st))
			continue;
		e->uid = mb->ul.ul.next++;
		numbered++;
		if (!e->pn.vsize)
			e->vsize = file_vsize(e->in_new ? mb->d.new : mb->d.cur, e->name, &st);
	}
	free(fresh);
	return numbered;
}

/* Write the list for the scan in place of the old one (the lock goes). */
static int uids_commit(struct mailbox *box, struct mscan *sc, int lk, struct mail_err *err)
{
	struct mdbox *mb = MB(box);
	struct buf b;
	size_t unnumbered = 0;
	int rc;

	buf_init(&b);
	uids_list(box, sc, &b);
	rc = md_lock_commit(mb->d.root, lk, MD_UIDLIST_LOCK, MD_UIDLIST, &b, err);
	buf_free(&b);
	/* our list is the one on disk now: remember it, not the old parse */
	if (rc < 0 || md_ul_read(mb->d.root, &mb->ul, err) < 0)
		return -1;
	for (size_t i = 0; i < sc->n; i++)
		unnumbered += !sc->v[i].uid;
	if (uids_match(mb, sc) > unnumbered) {
		/* replaced meanwhile by someone ignoring our lock */
		mail_err_set(err, MAIL_FAIL, "%s changed under its lock; try again", MD_UIDLIST);
		return -1;
	}
	return 0;
}

/* UIDs for a read-only session that cannot write the list: above every
 * UID known, for this session only. */
static void uids_private(struct mailbox *box, struct mscan *sc)
{
	struct mdbox *mb = MB(box);
	uint32_t next = mb->ul.have ? mb->ul.ul.next : 1;

	if (!mb->ul.have)
		mb->ul.ul.validity = md_ul_validity_preview(box->sess, mb->d.root);
	if (box->nmsgs && box->msgs[box->nmsgs - 1]->uid >= next)
		next = box->msgs[box->nmsgs - 1]->uid + 1;
	for (size_t i = 0; i < sc->n; i++)
		if (!sc->v[i].uid)
			sc->v[i].uid = next++;
	mb->ul.ul.next = next;
}

/* ---------------------------------------------------------------------- */
/* Synchronising the session with the directories                         */

/* Could the directories hold anything the session does not know? */
static int md_changed(struct mailbox *box)
{
	struct mdbox *mb = MB(box);
	struct timespec c, n;
	time_t now = time(NULL);

	if (!mb->scanned)
		return 1;
	dir_mtime(mb->d.cur, &c);
	dir_mtime(mb->d.new, &n);
	return !mt_same(&c, &mb->cur_mt) || !mt_same(&n, &mb->new_mt) ||
	       now - c.tv_sec < MD_RECENT_SECS || now - n.tv_sec < MD_RECENT_SECS ||
	       md_file_changed(mb->d.root, MD_UIDLIST, &mb->ul.st) ||
	       md_file_changed(mb->d.root, MD_KEYWORDS, &mb->kw_st);
}

/* A known message's file as the scan found it: take the disk's flags
 * unless the session changed them, and report a change to the client. */
static void msg_update(struct mailbox *box, uint32_t i, struct ment *e)
{
	struct mdmsg *mm = MM(box, i);
	uint32_t flags = md_info_flags(&e->pn.info), letters = md_info_letters(&e->pn.info);
	int pending = msg_dirty(box, mm);

	if (strcmp(mm->name, e->name)) {
		free(mm->name);
		mm->name = e->name;
		e->name = NULL;
	}
	mm->in_new = e->in_new;
	if (flags == mm->disk_flags && letters == mm->disk_letters)
		return;
	mm->disk_flags = flags;
	mm->disk_letters = letters;
	if (pending)
		return;   /* ours wins: written at the next check */
	mm->m.flags = (mm->m.flags & ~MF_STORABLE) | flags;
	mm->m.keywords = kw_of_letters(MB(box), letters);
	mail_ev_flags(box, i + 1);
}

/* Drop the session's messages whose files are gone (walking back, so the
 * numbers reported are right at each step). */
static void reconcile_gone(struct mailbox *box, const char *seen)
{
	for (uint32_t i = box->nmsgs; i-- > 0;) {
		if (seen[i])
			continue;
		if (MB(box)->text_uid == box->msgs[i]->uid)
			MB(box)->text_uid = 0;
		msg_free((struct mdmsg *)mail_msg_take(box, i));
	}
}

/* Match the scan to the session: known messages updated, gone ones
 * expunged (report: only when the scan is to be believed), new ones (UIDs
 * above every known one) added. hw: UIDs above it are \Recent. */
static uint32_t reconcile(struct mailbox *box, struct mscan *sc, uint32_t hw, int report)
{
	char *seen = xcalloc(box->nmsgs + 1, 1);
	struct ment **add = xmalloc((sc->n + 1) * sizeof *add);
	uint32_t top = box->nmsgs ? box->msgs[box->nmsgs - 1]->uid : 0, nadd = 0;

	for (size_t k = 0; k < sc->n; k++) {
		struct ment *e = &sc->v[k];
		uint32_t no = e->uid ? mail_msgno(box, e->uid) : 0;
		if (no) {
			seen[no - 1] = 1;
			msg_update(box, no - 1, e);
		} else if (e->uid > top) {
			add[nadd++] = e;
		}
	}
	if (report)
		reconcile_gone(box, seen);
	free(seen);
	if (nadd)
		qsort(add, nadd, sizeof *add, ment_uid_cmp);
	uint32_t added = 0;
	for (uint32_t k = 0; k < nadd; k++) {
		struct mdmsg *mm = msg_new(box, add[k]);
		if (!mm)
			continue;
		if (mm->m.uid > hw)
			mm->m.flags |= MF_RECENT;
		mail_msg_add(box, &mm->m);
		added++;
	}
	free(add);
	return added;
}

/* Move what arrived in new/ to cur/ (a read-write session's duty). */
static void move_new(struct mailbox *box)
{
	struct mdbox *mb = MB(box);
	struct buf nm;

	buf_init(&nm);
	for (uint32_t i = 0; i < box->nmsgs; i++) {
		struct mdmsg *mm = MM(box, i);
		if (!mm->in_new)
			continue;
		struct md_name pn;
		md_name_parse(mm->name, strlen(mm->name), &pn);
		buf_reset(&nm);
		md_name_format(&nm, mm->name, pn.base_len, &pn.info);
		/* gone (another session moved it): found in cur/ next time */
		if (renameat2(mb->d.new, mm->name, mb->d.cur, nm.data, RENAME_NOREPLACE) < 0)
			continue;
		free(mm->name);
		mm->name = buf_steal(&nm);
		mm->in_new = 0;
	}
	buf_free(&nm);
}

/* The \Recent claim (driver.h): read under the lock, new messages above
 * it are ours, then raise it. lk < 0: look only (EXAMINE). */
static uint32_t recent_hw(struct mailbox *box)
{
	uint32_t v = 0, hw = 0;

	if (mail_recent_get(box->sess, box->path, &v, &hw) < 0 || v != box->uidvalidity)
		return 0;
	return hw;
}

/* Do new files need UIDs or \Recent claims, so the lock must be taken? */
static int needs_lock(struct mailbox *box, struct mscan *sc, size_t missing)
{
	uint32_t top = box->nmsgs ? box->msgs[box->nmsgs - 1]->uid : 0;

	if (missing || !MB(box)->ul.have)
		return 1;
	if (box->readonly)
		return 0;
	for (size_t i = 0; i < sc->n; i++)
		if (sc->v[i].uid > top)
			return 1;
	return 0;
}

/* Highest UID of the scan. */
static uint32_t scan_top(const struct mscan *sc)
{
	uint32_t top = 0;

	for (size_t i = 0; i < sc->n; i++)
		top = sc->v[i].uid > top ? sc->v[i].uid : top;
	return top;
}

/* Learn the UIDs of the scan. New files are numbered, and new messages
 * claimed \Recent, under the uidlist lock; the list is rewritten only when
 * a file got a UID. */
static int sync_uids(struct mailbox *box, struct mscan *sc, uint32_t *hw, struct mail_err *err)
{
	struct mdbox *mb = MB(box);
	int lk;

	if (md_file_changed(mb->d.root, MD_UIDLIST, &mb->ul.st) || !mb->ul.have)
		if (md_ul_read(mb->d.root, &mb->ul, err) < 0)
			return -1;
	size_t missing = uids_match(mb, sc);
	if (!needs_lock(box, sc, missing)) {
		box->uidvalidity = mb->ul.ul.validity;
		*hw = recent_hw(box);
		return 0;
	}
	lk = md_lock(mb->d.root, MD_UIDLIST_LOCK, err);
	if (lk < 0 && box->readonly && err->code != MAIL_INUSE) {
		uids_private(box, sc);
		box->uidvalidity = mb->ul.ul.validity;
		*hw = recent_hw(box);
		return 0;
	}
	if (lk < 0 || md_ul_read(mb->d.root, &mb->ul, err) < 0) {
		md_lock_drop(mb->d.root, lk, MD_UIDLIST_LOCK);
		return -1;
	}
	int fresh = !mb->ul.have;
	if (fresh)
		md_ul_new(box->sess, mb->d.root, &mb->ul);
	uids_match(mb, sc);
	size_t numbered = uids_number(box, sc);
	box->uidvalidity = mb->ul.ul.validity;
	*hw = recent_hw(box);
	uint32_t top = scan_top(sc);
	if (!box->readonly && top > *hw)
		mail_recent_put(box->sess, box->path, box->uidvalidity, top);
	if (numbered || fresh)
		return uids_commit(box, sc, lk, err);
	md_lock_drop(mb->d.root, lk, MD_UIDLIST_LOCK);
	return 0;
}

/* Sizes we had to read the files for go into the uidlist as W fields (as
 * Dovecot keeps them), so the next session need not read them again. Only
 * adds to records; a busy lock just means another try next time. */
static void keep_sizes(struct mailbox *box)
{
	struct mdbox *mb = MB(box);
	struct mail_err ignore;
	struct buf b;
	int lk = md_lock(mb->d.root, MD_UIDLIST_LOCK, &ignore);

	if (lk < 0)
		return;
	if (md_ul_read(mb->d.root, &mb->ul, &ignore) < 0 || !mb->ul.have) {
		md_lock_drop(mb->d.root, lk, MD_UIDLIST_LOCK);
		return;
	}
	buf_init(&b);
	md_uidlist_header(&b, &mb->ul.ul);
	for (size_t i = 0; i < mb->ul.ul.n; i++) {
		const struct md_rec *r = &mb->ul.ul.recs[i];
		uint32_t no = mail_msgno(box, r->uid);
		struct mdmsg *mm = no ? MM(box, no - 1) : NULL;
		char ext[256];
		int n = snprintf(ext, sizeof ext, "%.*s%sW%llu", (int)r->ext_len, r->ext,
				 r->ext_len ? " " : "", mm ? (unsigned long long)mm->m.size : 0ULL);
		int add = mm && mm->size_read && !ext_vsize(r->ext, r->ext_len) &&
			  n < (int)sizeof ext;
		md_uidlist_record(&b, r->uid, add ? ext : r->ext, add ? (size_t)n : r->ext_len,
				  r->base, r->base_len);
	}
	if (md_lock_commit(mb->d.root, lk, MD_UIDLIST_LOCK, MD_UIDLIST, &b, &ignore) == 0)
		md_ul_read(mb->d.root, &mb->ul, &ignore);
	buf_free(&b);
	for (uint32_t i = 0; i < box->nmsgs; i++)
		MM(box, i)->size_read = 0;
	mb->sizes_read = 0;
}

/* Look at the directories; report what changed. The scan is repeated once
 * when a known message seems gone, so a file renamed by another session
 * during the readdir is not taken for an expunge. */
static int md_sync(struct mailbox *box, int report, struct mail_err *err)
{
	struct mdbox *mb = MB(box);
	struct mscan sc;
	uint32_t recent = box->recent, hw = 0;

	if (!md_changed(box))
		return 0;
	if (md_file_changed(mb->d.root, MD_KEYWORDS, &mb->kw_st) && kw_load(box, err) < 0)
		return -1;
	for (int pass = 0;; pass++) {
		if (scan(&mb->d, &sc) < 0) {
			mail_err_set(err, MAIL_FAIL, "cannot read the Maildir %s: %s", box->name,
				     strerror(errno));
			return -1;
		}
		if (sync_uids(box, &sc, &hw, err) < 0) {
			scan_free(&sc);
			return -1;
		}
		size_t found = 0;
		for (size_t i = 0; i < sc.n; i++)
			found += sc.v[i].uid && mail_msgno(box, sc.v[i].uid);
		if (found == box->nmsgs || pass)
			break;
		scan_free(&sc);
	}
	uint32_t added = reconcile(box, &sc, hw, report);
	mb->cur_mt = sc.cur_mt;
	mb->new_mt = sc.new_mt;
	mb->scanned = 1;
	box->uidnext = mb->ul.ul.next;
	scan_free(&sc);
	if (!box->readonly)
		move_new(box);
	if (!box->readonly && mb->sizes_read)
		keep_sizes(box);
	if (added)
		mail_ev_exists(box);
	if (box->recent != recent || added)
		mail_ev_recent(box);
	return 0;
}

/* Find mm's file again by its base (renamed by another session); quiet:
 * nothing is reported. 0 found, -1 gone. */
static int relocate(struct mailbox *box, struct mdmsg *mm)
{
	struct mscan sc;
	struct ment *e;
	int rc = -1;

	if (scan(&MB(box)->d, &sc) < 0)
		return -1;
	if ((e = scan_find(&sc, mm->name)) != NULL) {
		free(mm->name);
		mm->name = e->name;
		e->name = NULL;
		mm->in_new = e->in_new;
		mm->disk_flags = md_info_flags(&e->pn.info);
		mm->disk_letters = md_info_letters(&e->pn.info);
		rc = 0;
	}
	scan_free(&sc);
	return rc;
}

/* ---------------------------------------------------------------------- */
/* Writing flags: one rename per changed message                          */

static int write_one(struct mailbox *box, struct mdmsg *mm, struct buf *nm)
{
	struct mdbox *mb = MB(box);
	uint32_t flags = mm->m.flags & MF_STORABLE;
	uint32_t letters = (uint32_t)letters_of(mb, mm->m.keywords, mm->disk_letters);

	for (int tries = 0; tries < 2; tries++) {
		struct md_name pn;
		md_name_parse(mm->name, strlen(mm->name), &pn);
		struct md_info in = md_info_with(&pn.info, flags, letters);
		buf_reset(nm);
		md_name_format(nm, mm->name, pn.base_len, &in);
		int from = msg_dir(box, mm);
		if (renameat2(from, mm->name, mb->d.cur, nm->data, RENAME_NOREPLACE) == 0 ||
		    (errno == EEXIST && from == mb->d.cur && !strcmp(mm->name, nm->data))) {
			free(mm->name);
			mm->name = buf_steal(nm);
			mm->in_new = 0;
			mm->disk_flags = flags;
			mm->disk_letters = letters;
			return 0;
		}
		if (errno != ENOENT)
			return -1;
		if (relocate(box, mm) < 0)
			return 0;   /* expunged by another session: reported at the next ping */
	}
	return -1;
}

static int md_write_flags(struct mailbox *box, struct mail_err *err)
{
	uint64_t unlettered = 0;
	struct buf nm;
	int rc = 0;

	for (uint32_t i = 0; i < box->nmsgs; i++)
		if (letters_of(MB(box), MM(box, i)->m.keywords, 0) < 0)
			unlettered |= MM(box, i)->m.keywords;
	if (unlettered && kw_assign(box, unlettered, err) < 0)
		return -1;
	buf_init(&nm);
	for (uint32_t i = 0; i < box->nmsgs && rc == 0; i++)
		if (msg_dirty(box, MM(box, i)) && write_one(box, MM(box, i), &nm) < 0) {
			mail_err_set(err, MAIL_FAIL, "cannot save the flags of message %u: %s", i + 1,
				     strerror(errno));
			rc = -1;
		}
	buf_free(&nm);
	return rc;
}

/* ---------------------------------------------------------------------- */
/* Entry points                                                           */

static void md_close(struct mailbox *box)
{
	struct mdbox *mb = MB(box);

	if (!mb)
		return;
	for (uint32_t i = 0; i < box->nmsgs; i++)
		msg_free(MM(box, i));
	free(box->msgs);
	box->msgs = NULL;
	box->nmsgs = 0;
	md_dir_close(&mb->d);
	md_ul_free(&mb->ul);
	buf_free(&mb->text);
	free(mb);
	box->drvdata = NULL;
}

/* Dovecot's rule: files left in tmp/ by a killed delivery go after 36 hours. */
#define TMP_KEEP_SECS (36 * 3600)

static void clean_tmp(struct mdir *d)
{
	int fd = openat(d->tmp, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	DIR *dir = fd >= 0 ? fdopendir(fd) : NULL;
	struct dirent *e;
	time_t now = time(NULL);

	if (!dir) {
		if (fd >= 0)
			close(fd);
		return;
	}
	while ((e = readdir(dir)) != NULL) {
		struct stat st;
		if (e->d_name[0] != '.' &&
		    fstatat(dirfd(dir), e->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
		    !S_ISDIR(st.st_mode) && now - st.st_mtime > TMP_KEEP_SECS &&
		    now - st.st_ctime > TMP_KEEP_SECS)
			unlinkat(dirfd(dir), e->d_name, 0);
	}
	closedir(dir);
}

static int md_open(struct mailbox *box, struct mail_err *err)
{
	struct mdbox *mb = xcalloc(1, sizeof *mb);
	const struct mail_events *ev = box->ev;

	box->drvdata = mb;
	kw_map_reset(mb);
	buf_init(&mb->text);
	if (md_dir_open(box->sess, box->path, &mb->d, err) < 0) {
		md_close(box);
		return -1;
	}
	box->ev = NULL;   /* the caller learns the first state from box */
	int rc = md_sync(box, 0, err);
	box->ev = ev;
	if (rc < 0) {
		md_close(box);
		return -1;
	}
	box->keywords_creatable = !box->readonly;
	if (!box->readonly)
		clean_tmp(&mb->d);
	return 0;
}

static int md_ping(struct mailbox *box, struct mail_err *err)
{
	return md_sync(box, 1, err);
}

static int md_flush(struct mailbox *box, struct mail_err *err)
{
	return box->readonly ? 0 : md_write_flags(box, err);
}

static int md_check(struct mailbox *box, struct mail_err *err)
{
	if (md_sync(box, 1, err) < 0)
		return -1;
	return md_flush(box, err);
}

static int md_expunge(struct mailbox *box, const uint32_t *uids, size_t nuids,
		      struct mail_err *err)
{
	size_t n;
	int rc = 0;

	if (box->readonly) {
		mail_err_set(err, MAIL_NOPERM, "mailbox is read-only");
		return -1;
	}
	if (md_sync(box, 1, err) < 0)
		return -1;
	char *drop = mail_expunge_set(box, uids, nuids, &n);
	for (uint32_t i = box->nmsgs; n && i-- > 0;) {
		struct mdmsg *mm = MM(box, i);
		if (!drop[i])
			continue;
		int e = unlinkat(msg_dir(box, mm), mm->name, 0) < 0 ? errno : 0;
		if (e == ENOENT && relocate(box, mm) == 0)
			e = unlinkat(msg_dir(box, mm), mm->name, 0) < 0 ? errno : 0;
		/* a file already gone is simply gone */
		if (e && e != ENOENT) {
			mail_err_set(err, MAIL_FAIL, "cannot expunge message %u: %s", i + 1,
				     strerror(e));
			rc = -1;
			continue;
		}
		if (MB(box)->text_uid == mm->m.uid)
			MB(box)->text_uid = 0;
		msg_free((struct mdmsg *)mail_msg_take(box, i));
	}
	free(drop);
	if (rc == 0)
		rc = md_write_flags(box, err);
	return rc;
}

/* The file of message mm as canonical text (LF to CRLF; CRLF kept). */
static int load_text(struct mailbox *box, struct mdmsg *mm, struct mail_err *err)
{
	struct mdbox *mb = MB(box);
	struct stat st;
	int fd = md_open_msg(msg_dir(box, mm), mm->name, &st);

	if (fd < 0 && errno == ENOENT && relocate(box, mm) == 0)
		fd = md_open_msg(msg_dir(box, mm), mm->name, &st);
	if (fd < 0) {
		mail_err_set(err, MAIL_FAIL, errno == ENOENT ?
			     "message %u has been expunged by another session" :
			     "message %u cannot be read: %s", mail_msgno(box, mm->m.uid),
			     strerror(errno));
		return -1;
	}
	char *raw = xmalloc((size_t)st.st_size + 1);
	ssize_t n = pread(fd, raw, (size_t)st.st_size, 0);
	close(fd);
	if (n < 0) {
		free(raw);
		mail_err_set(err, MAIL_FAIL, "cannot read message %u: %s", mail_msgno(box, mm->m.uid),
			     strerror(errno));
		return -1;
	}
	buf_reset(&mb->text);
	buf_reserve(&mb->text, (size_t)n + (size_t)n / 16 + 16);
	for (ssize_t i = 0; i < n; i++) {
		if (raw[i] == '\n' && (i == 0 || raw[i - 1] != '\r'))
			buf_putc(&mb->text, '\r');
		buf_putc(&mb->text, raw[i]);
	}
	free(raw);
	/* the size a client was told must be the text it gets */
	mm->m.size = mb->text.len;
	mb->text_uid = mm->m.uid;
	return 0;
}

static int md_fetch(struct mailbox *box, uint32_t msgno, const char **text, size_t *len,
		    struct mail_err *err)
{
	struct mdbox *mb = MB(box);
	struct mdmsg *mm = MM(box, msgno - 1);

	if (mb->text_uid != mm->m.uid && load_text(box, mm, err) < 0)
		return -1;
	*text = mb->text.data ? mb->text.data : "";
	*len = mb->text.len;
	return 0;
}

static void puts_free(struct mdir *d, struct md_put *v, size_t n)
{
	md_put_discard(d, v, n);
	for (size_t i = 0; i < n; i++)
		free(v[i].final);
	free(v);
}

static int md_append(struct mail_session *sess, const char *path, const struct mail_new *msgs,
		     size_t n, uint32_t *validity_out, uint32_t *uids_out, struct mail_err *err)
{
	struct mdir d;
	struct md_put *v = xcalloc(n + 1, sizeof *v);
	int rc = 0;

	if (md_dir_open(sess, path, &d, err) < 0) {
		free(v);
		return -1;
	}
	for (size_t i = 0; i < n && rc == 0; i++) {
		v[i].flags = msgs[i].flags & MF_STORABLE;
		v[i].keywords = msgs[i].keywords;
		rc = md_put_text(&d, &msgs[i], &v[i], err);
	}
	if (rc == 0)
		rc = md_commit(sess, &d, v, n, validity_out, uids_out, err);
	puts_free(&d, v, n);
	md_dir_close(&d);
	return rc;
}

static int md_copy(struct mailbox *box, const uint32_t *msgnos, size_t n, const char *destpath,
		   uint32_t *validity_out, uint32_t *uids_out, struct mail_err *err)
{
	struct mdir d;
	struct md_put *v = xcalloc(n + 1, sizeof *v);
	char ***kw = xcalloc(n + 1, sizeof *kw);
	int rc = 0;

	if (md_dir_open(box->sess, destpath, &d, err) < 0) {
		free(v);
		free(kw);
		return -1;
	}
	for (size_t i = 0; i < n && rc == 0; i++) {
		struct mdmsg *mm = MM(box, msgnos[i] - 1);
		kw[i] = xcalloc(box->nkeywords + 1, sizeof **kw);
		for (unsigned k = 0, j = 0; k < box->nkeywords; k++)
			if (mm->m.keywords >> k & 1)
				kw[i][j++] = box->keywords[k];
		v[i].flags = mm->m.flags & MF_STORABLE;
		v[i].keywords = kw[i];
		rc = md_put_file(&d, msg_dir(box, mm), mm->name, mm->m.size, mm->m.internal_date,
				 &v[i], err);
		if (rc < 0 && err->code == MAIL_NONEXISTENT && relocate(box, mm) == 0)
			rc = md_put_file(&d, msg_dir(box, mm), mm->name, mm->m.size,
					 mm->m.internal_date, &v[i], err);
	}
	if (rc == 0)
		rc = md_commit(box->sess, &d, v, n, validity_out, uids_out, err);
	puts_free(&d, v, n);
	for (size_t i = 0; i < n; i++)
		free(kw[i]);
	free(kw);
	md_dir_close(&d);
	return rc;
}

static int md_status(struct mail_session *sess, const char *path, struct mail_status *st,
		     struct mail_err *err)
{
	struct mdir d;
	struct mscan sc;
	struct md_ul u = { 0 };
	uint32_t v = 0, hw = 0;

	memset(st, 0, sizeof *st);
	if (md_dir_open(sess, path, &d, err) < 0)
		return -1;
	if (md_ul_read(d.root, &u, err) < 0 || scan(&d, &sc) < 0) {
		if (u.have)
			mail_err_set(err, MAIL_FAIL, "cannot read %s: %s", path, strerror(errno));
		md_ul_free(&u);
		md_dir_close(&d);
		return -1;
	}
	st->uidvalidity = u.have ? u.ul.validity : md_ul_validity_preview(sess, d.root);
	st->uidnext = u.have ? u.ul.next : 1;
	if (mail_recent_get(sess, path, &v, &hw) < 0 || v != st->uidvalidity)
		hw = 0;
	for (size_t i = 0; i < sc.n; i++) {
		const struct md_rec *r = u.have ? md_uidlist_find(&u.ul, sc.v[i].name,
								  sc.v[i].pn.base_len) : NULL;
		struct stat fs;
		if (!ment_ours(&d, &sc.v[i], &fs))
			continue;
		st->messages++;
		st->unseen += !(md_info_flags(&sc.v[i].pn.info) & MF_SEEN);
		/* \Recent as the next session to select would see it */
		st->recent += !r || r->uid > hw;
		st->uidnext += !r;
	}
	scan_free(&sc);
	md_ul_free(&u);
	md_dir_close(&d);
	return 0;
}

const struct driver driver_maildir = {
	.name = "maildir",
	.flags = DRV_DIRECTORY,
	.valid = md_valid,
	.open = md_open,
	.close = md_close,
	.ping = md_ping,
	.check = md_check,
	.flush = md_flush,
	.expunge = md_expunge,
	.fetch = md_fetch,
	.append = md_append,
	.create = md_create,
	.status = md_status,
	.remove = md_remove,
	.rename = md_rename,
	.copy = md_copy,
	.ns_path = md_ns_path,
	.ns_list = md_ns_list,
};
