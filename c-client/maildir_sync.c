/* maildir_sync.c: an open Maildir kept in step with its directories: a
 * scan matched against dovecot-uidlist (new files numbered under its lock,
 * \Recent claimed), the session's messages updated, expunged and added,
 * keywords mapped to the letters of dovecot-keywords, and the session's
 * flag changes written back by renaming each file to its new info. */
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

/* A directory changed this recently may change again within the same
 * timestamp: its mtime alone cannot prove a later scan unnecessary. */
#define MD_RECENT_SECS 2
/* Scans of one sync at most, when a file seems hidden by a rename. */
#define MD_SCAN_TRIES 4

/* No keyword has a letter yet. */
void md_kw_map_reset(struct mdbox *mb)
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
			/* files that already carried the letter have the keyword */
			for (uint32_t i = 0; i < box->nmsgs; i++)
				if (MM(box, i)->disk_letters >> l & 1)
					kwset_set(&MM(box, i)->m.keywords, k);
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
	for (unsigned k = 0; k < 64; k++) {
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

/* Free a message the mailbox no longer holds. */
void md_msg_free(struct mdmsg *mm)
{
	pool_free(mm->m.pool);
	free(mm->name);
	free(mm->ext);
	free(mm);
}

/* The directory descriptor mm's file is in. */
int md_msg_dir(struct mailbox *box, const struct mdmsg *mm)
{
	return mm->in_new ? MB(box)->d.new : MB(box)->d.cur;
}

/* Does the session have flag changes for mm not on disk yet? */
static int msg_dirty(struct mailbox *box, const struct mdmsg *mm)
{
	int64_t l = letters_of(MB(box), kwset_low(&mm->m.keywords), mm->disk_letters);

	return (mm->m.flags & MF_STORABLE) != mm->disk_flags || l != (int64_t)mm->disk_letters;
}

/* When the file came into this folder: the seconds that begin a Maildir
 * name ("1700000000.M1P2.host"), set by whoever delivered or copied it and
 * kept through flag renames; the inode change time for any other name. */
static time_t md_save_date(const char *name, const struct stat *st)
{
	time_t t = 0;
	const char *p = name;

	for (; *p >= '0' && *p <= '9' && t < (time_t)1 << 40; p++)
		t = t * 10 + (*p - '0');
	return p > name && *p == '.' && t > 0 ? t : st->st_ctime;
}

/* The file now holding the base of name (renamed by another session since
 * it was seen) into *out, which then owns its name; 0, or -1 when gone. */
static int find_again(struct mailbox *box, const char *name, struct ment *out)
{
	struct mscan sc;
	struct ment *e;

	if (md_scan(&MB(box)->d, &sc) < 0)
		return -1;
	if ((e = md_scan_find(&sc, name)) != NULL) {
		*out = *e;
		e->name = NULL;
	}
	md_scan_free(&sc);
	return e ? 0 : -1;
}

/* Is the scanned file e a regular file of the user (st: its stat)? One
 * renamed since the scan (another session's flag change) is found again,
 * e updated: taken for absent, its message was lost to this session for
 * good (a UID below one it knows is never added). */
static int ment_usable(struct mailbox *box, struct ment *e, struct stat *st)
{
	struct ment f;

	for (int tries = 0;; tries++) {
		errno = 0;
		if (md_ment_ours(&MB(box)->d, e, st))
			return 1;
		if (errno != ENOENT || tries + 1 >= MD_SCAN_TRIES || find_again(box, e->name, &f) < 0)
			return 0;
		free(e->name);
		e->name = f.name;
		e->in_new = f.in_new;
		e->pn = f.pn;
	}
}

/* A message for the scanned file e: only a regular file of the user. */
static struct mdmsg *msg_new(struct mailbox *box, struct ment *e)
{
	struct stat st;

	if (!ment_usable(box, e, &st)) {
		log_warn("Maildir %s: skipped %s/%s: not a regular file of this user", box->name,
			 e->in_new ? "new" : "cur", e->name);
		return NULL;
	}
	int dirfd = e->in_new ? MB(box)->d.new : MB(box)->d.cur;
	struct mdmsg *mm = xcalloc(1, sizeof *mm);
	mm->m.uid = e->uid;
	mm->m.internal_date = st.st_mtime;
	mm->m.save_date = md_save_date(e->name, &st);
	mm->m.drv = mm;
	mm->name = e->name;
	e->name = NULL;
	mm->in_new = e->in_new;
	mm->disk_flags = md_info_flags(&e->pn.info);
	mm->disk_letters = md_info_letters(&e->pn.info);
	mm->m.flags = mm->disk_flags;
	kwset_from_low(&mm->m.keywords, kw_of_letters(MB(box), mm->disk_letters));
	if (e->rec && e->rec->ext_len) {
		mm->ext = xstrndup(e->rec->ext, e->rec->ext_len);
		mm->ext_len = e->rec->ext_len;
	}
	mm->m.size = e->pn.vsize ? e->pn.vsize : e->vsize ? e->vsize :
		     md_ext_vsize(mm->ext, mm->ext_len);
	if (!mm->m.size) {
		mm->m.size = msgfile_vsize(dirfd, mm->name, &st);
		mm->size_read = 1;
		MB(box)->sizes_read++;
	}
	return mm;
}

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

/* Order of scanned files by UID (then name). */
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

/* Order of scanned files by name (deliveries: by time). */
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
		if (!md_ment_ours(&mb->d, e, &st))
			continue;
		e->uid = mb->ul.ul.next++;
		numbered++;
		if (!e->pn.vsize)
			e->vsize = msgfile_vsize(e->in_new ? mb->d.new : mb->d.cur, e->name, &st);
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

/* Could the directories hold anything the session does not know? */
static int md_changed(struct mailbox *box)
{
	struct mdbox *mb = MB(box);
	struct timespec c, n;
	time_t now = time(NULL);

	if (!mb->scanned)
		return 1;
	md_dir_mtime(mb->d.cur, &c);
	md_dir_mtime(mb->d.new, &n);
	return !md_mt_same(&c, &mb->cur_mt) || !md_mt_same(&n, &mb->new_mt) ||
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
	kwset_from_low(&mm->m.keywords, kw_of_letters(MB(box), letters));
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
		md_msg_free((struct mdmsg *)mail_msg_take(box, i));
	}
}

/* Match the scan to the session: known messages updated, gone ones
 * expunged, new ones (UIDs above every known one) added; returns how many
 * were added. hw: UIDs above it are \Recent. */
static uint32_t reconcile(struct mailbox *box, struct mscan *sc, uint32_t hw)
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

/* The \Recent claim (driver.h): messages above it are new to every
 * session. Read (and raised by the caller) under the uidlist lock. */
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
		int add = mm && mm->size_read && !md_ext_vsize(r->ext, r->ext_len) &&
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

/* Does the uidlist name a file the scan should have found: a UID above the
 * session's last and below the scan's highest? A rename by another session
 * during the readdir can hide a file; taken for absent, its message would
 * be lost to this session for good (a UID below one it knows is never
 * added: sequence numbers only grow at the end). Only while the
 * directories change: a record of a long gone file costs no rescan. */
static int scan_missed(struct mailbox *box, const struct mscan *sc)
{
	const struct md_uidlist *ul = &MB(box)->ul.ul;
	uint32_t top = box->nmsgs ? box->msgs[box->nmsgs - 1]->uid : 0, hi = scan_top(sc);
	size_t listed = 0, seen = 0;
	time_t now = time(NULL);

	if (now - sc->cur_mt.tv_sec >= MD_RECENT_SECS && now - sc->new_mt.tv_sec >= MD_RECENT_SECS)
		return 0;
	for (size_t i = 0; i < ul->n; i++)
		listed += ul->recs[i].uid > top && ul->recs[i].uid < hi;
	for (size_t i = 0; i < sc->n; i++)
		seen += sc->v[i].rec && sc->v[i].uid > top && sc->v[i].uid < hi;
	return seen < listed;
}

/* Look at the directories; report what changed. The scan is repeated when
 * a known message seems gone or a listed one unseen, so a file renamed by
 * another session during the readdir is neither taken for an expunge nor
 * left out. */
int md_sync(struct mailbox *box, struct mail_err *err)
{
	struct mdbox *mb = MB(box);
	struct mscan sc;
	uint32_t recent = box->recent, hw = 0;

	if (!md_changed(box))
		return 0;
	if (md_file_changed(mb->d.root, MD_KEYWORDS, &mb->kw_st) && kw_load(box, err) < 0)
		return -1;
	for (int pass = 0;; pass++) {
		if (md_scan(&mb->d, &sc) < 0) {
			mail_err_set(err, MAIL_FAIL, "cannot read the Maildir %s: %s", box->name,
				     strerror(errno));
			return -1;
		}
		if (sync_uids(box, &sc, &hw, err) < 0) {
			md_scan_free(&sc);
			return -1;
		}
		size_t found = 0;
		for (size_t i = 0; i < sc.n; i++)
			found += sc.v[i].uid && mail_msgno(box, sc.v[i].uid);
		/* a known message really gone costs one more scan, no more */
		int again = found != box->nmsgs ? pass == 0 :
			    pass + 1 < MD_SCAN_TRIES && scan_missed(box, &sc);
		if (!again)
			break;
		md_scan_free(&sc);
	}
	uint32_t added = reconcile(box, &sc, hw);
	mb->cur_mt = sc.cur_mt;
	mb->new_mt = sc.new_mt;
	mb->scanned = 1;
	box->uidnext = mb->ul.ul.next;
	md_scan_free(&sc);
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
 * nothing is reported, and what the session knows of the flags on disk
 * stays as it was, so the next sync still sees the other's change (else
 * it went unreported, and the session's older flags, now different from
 * the disk's, were written back over it at the next flush, with a new
 * modseq). 0 found, -1 gone. */
int md_relocate(struct mailbox *box, struct mdmsg *mm)
{
	struct ment e;

	if (find_again(box, mm->name, &e) < 0)
		return -1;
	free(mm->name);
	mm->name = e.name;
	mm->in_new = e.in_new;
	return 0;
}

/* Another session renamed mm's file: its flags now are disk's with this
 * session's own changes (add, del: against what it last saw) on top, so
 * neither side's change is lost; the client hears of the merged flags. */
static void merge_changes(struct mailbox *box, uint32_t i, struct mdmsg *mm, uint32_t add,
			  uint32_t del, uint32_t ladd, uint32_t ldel, uint32_t *flags,
			  uint32_t *letters)
{
	*flags = (mm->disk_flags | add) & ~del;
	*letters = (mm->disk_letters | ladd) & ~ldel;
	uint64_t kw = kw_of_letters(MB(box), *letters);
	if (*flags != (mm->m.flags & MF_STORABLE) || kw != kwset_low(&mm->m.keywords)) {
		mm->m.flags = (mm->m.flags & ~MF_STORABLE) | *flags;
		kwset_from_low(&mm->m.keywords, kw);
		mail_ev_flags(box, i + 1);
	}
}

/* Rename message i's file to the info of its flags (found again if another
 * session renamed it meanwhile, its change kept). 0, or -1 with errno. */
static int write_one(struct mailbox *box, uint32_t i, struct mdmsg *mm, struct buf *nm)
{
	struct mdbox *mb = MB(box);
	uint32_t flags = mm->m.flags & MF_STORABLE;
	uint32_t letters = (uint32_t)letters_of(mb, kwset_low(&mm->m.keywords), mm->disk_letters);
	uint32_t add = flags & ~mm->disk_flags, del = mm->disk_flags & ~flags;
	uint32_t ladd = letters & ~mm->disk_letters, ldel = mm->disk_letters & ~letters;

	for (int tries = 0; tries < 2; tries++) {
		struct md_name pn;
		md_name_parse(mm->name, strlen(mm->name), &pn);
		if (md_info_flags(&pn.info) != mm->disk_flags ||
		    md_info_letters(&pn.info) != mm->disk_letters) {
			/* found again (md_relocate): another session's flags */
			mm->disk_flags = md_info_flags(&pn.info);
			mm->disk_letters = md_info_letters(&pn.info);
			merge_changes(box, i, mm, add, del, ladd, ldel, &flags, &letters);
			if (flags == mm->disk_flags && letters == mm->disk_letters)
				return 0;
		}
		struct md_info in = md_info_with(&pn.info, flags, letters);
		buf_reset(nm);
		md_name_format(nm, mm->name, pn.base_len, &in);
		int from = md_msg_dir(box, mm);
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
		if (md_relocate(box, mm) < 0)
			return 0;   /* expunged by another session: reported at the next ping */
	}
	return -1;
}

/* Give letters to new keywords, then rename every changed message. */
int md_write_flags(struct mailbox *box, struct mail_err *err)
{
	uint64_t unlettered = 0;
	struct buf nm;
	int rc = 0;

	for (uint32_t i = 0; i < box->nmsgs; i++)
		if (letters_of(MB(box), kwset_low(&MM(box, i)->m.keywords), 0) < 0)
			unlettered |= kwset_low(&MM(box, i)->m.keywords);
	if (unlettered && kw_assign(box, unlettered, err) < 0)
		return -1;
	buf_init(&nm);
	for (uint32_t i = 0; i < box->nmsgs && rc == 0; i++)
		if (msg_dirty(box, MM(box, i)) && write_one(box, i, MM(box, i), &nm) < 0) {
			mail_err_set(err, MAIL_FAIL, "cannot save the flags of message %u: %s", i + 1,
				     strerror(errno));
			rc = -1;
		}
	buf_free(&nm);
	return rc;
}
