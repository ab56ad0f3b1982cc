/* driver_maildir.c: the Maildir driver's entry points (Maildir++ as
 * Dovecot keeps it): an open mailbox is a scan of new/ and cur/ matched
 * against dovecot-uidlist (maildir_sync.c), fetched by reading the file,
 * appended and copied through tmp/ (maildir_dir.c); folders are in
 * maildir_ns.c. Nothing locks the Maildir for reading. */
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

/* Dovecot's rule: files left in tmp/ by a killed delivery go after 36 hours. */
#define TMP_KEEP_SECS (36 * 3600)

/* Release the session's messages and descriptors. */
static void md_close(struct mailbox *box)
{
	struct mdbox *mb = MB(box);

	if (!mb)
		return;
	for (uint32_t i = 0; i < box->nmsgs; i++)
		md_msg_free(MM(box, i));
	free(box->msgs);
	box->msgs = NULL;
	box->nmsgs = 0;
	md_dir_close(&mb->d);
	md_ul_free(&mb->ul);
	buf_free(&mb->text);
	free(mb);
	box->drvdata = NULL;
}

/* Open: the directories held, the first scan, tmp/ cleaned. */
static int md_open(struct mailbox *box, struct mail_err *err)
{
	struct mdbox *mb = xcalloc(1, sizeof *mb);
	const struct mail_events *ev = box->ev;

	/* its masks are 64 bits; the 26 letters are answered at write (NO
	 * [LIMIT]), so names another session adds are still learnt */
	box->keywords_max = KWSET_INLINE;

	box->drvdata = mb;
	md_kw_map_reset(mb);
	buf_init(&mb->text);
	if (md_dir_open(box->sess, box->path, &mb->d, err) < 0) {
		md_close(box);
		return -1;
	}
	box->ev = NULL;   /* the caller learns the first state from box */
	int rc = md_sync(box, err);
	box->ev = ev;
	if (rc < 0) {
		md_close(box);
		return -1;
	}
	box->keywords_creatable = !box->readonly;
	if (!box->readonly)
		msgfile_clean_stale(mb->d.tmp, NULL, TMP_KEEP_SECS);
	return 0;
}

/* NOOP, IDLE and the end of commands: learn what others did. */
static int md_ping(struct mailbox *box, struct mail_err *err)
{
	return md_sync(box, err);
}

/* Make this session's flag changes visible now. */
static int md_flush(struct mailbox *box, struct mail_err *err)
{
	return box->readonly ? 0 : md_write_flags(box, err);
}

/* Learn others' changes, then save ours. */
static int md_check(struct mailbox *box, struct mail_err *err)
{
	if (md_sync(box, err) < 0)
		return -1;
	return md_flush(box, err);
}

/* Unlink the \\Deleted messages' files (one already gone is just gone). */
static int md_expunge(struct mailbox *box, const uint32_t *uids, size_t nuids,
		      struct mail_err *err)
{
	size_t n;
	int rc = 0;

	if (box->readonly) {
		mail_err_set(err, MAIL_NOPERM, "mailbox is read-only");
		return -1;
	}
	if (md_sync(box, err) < 0)
		return -1;
	char *drop = mail_expunge_set(box, uids, nuids, &n);
	for (uint32_t i = box->nmsgs; n && i-- > 0;) {
		struct mdmsg *mm = MM(box, i);
		if (!drop[i])
			continue;
		int e = unlinkat(md_msg_dir(box, mm), mm->name, 0) < 0 ? errno : 0;
		if (e == ENOENT && md_relocate(box, mm) == 0)
			e = unlinkat(md_msg_dir(box, mm), mm->name, 0) < 0 ? errno : 0;
		/* a file already gone is simply gone */
		if (e && e != ENOENT) {
			mail_err_set(err, MAIL_FAIL, "cannot expunge message %u: %s", i + 1,
				     strerror(e));
			rc = -1;
			continue;
		}
		if (MB(box)->text_uid == mm->m.uid)
			MB(box)->text_uid = 0;
		md_msg_free((struct mdmsg *)mail_msg_take(box, i));
	}
	free(drop);
	if (rc == 0)
		rc = md_write_flags(box, err);
	return rc;
}

/* Open mm's file to read (found again if another session renamed it). */
static int open_file(struct mailbox *box, struct mdmsg *mm, struct stat *st, struct mail_err *err)
{
	int fd = msgfile_open(md_msg_dir(box, mm), mm->name, st);

	if (fd < 0 && errno == ENOENT && md_relocate(box, mm) == 0)
		fd = msgfile_open(md_msg_dir(box, mm), mm->name, st);
	if (fd < 0)
		mail_err_set(err, MAIL_FAIL, errno == ENOENT ?
			     "message %u has been expunged by another session" :
			     "message %u cannot be read: %s", mail_msgno(box, mm->m.uid),
			     strerror(errno));
	return fd;
}

/* The file of message mm as canonical text (LF to CRLF; CRLF kept). */
static int load_text(struct mailbox *box, struct mdmsg *mm, struct mail_err *err)
{
	struct mdbox *mb = MB(box);
	struct stat st;
	int fd = open_file(box, mm, &st, err);

	if (fd < 0)
		return -1;
	int rc = msgfile_read_canon(fd, &st, &mb->text);
	close(fd);
	if (rc < 0) {
		mail_err_set(err, MAIL_FAIL, "cannot read message %u: %s", mail_msgno(box, mm->m.uid),
			     strerror(errno));
		return -1;
	}
	/* the size a client was told must be the text it gets */
	mm->m.size = mb->text.len;
	mb->text_uid = mm->m.uid;
	return 0;
}

/* ENVELOPE and header searches: the header alone, read until its blank
 * line (not the whole file); kept in the text buffer as a partial. */
static int md_fetch_header(struct mailbox *box, uint32_t msgno, const char **text, size_t *len,
			   struct mail_err *err)
{
	struct mdbox *mb = MB(box);
	struct mdmsg *mm = MM(box, msgno - 1);
	struct stat st;

	if (mb->text_uid == mm->m.uid) {
		/* the whole text is at hand: its header */
		size_t e = msgfile_header_end(mb->text.data, mb->text.len);
		*text = mb->text.data ? mb->text.data : "";
		*len = e ? e : mb->text.len;
		return 0;
	}
	int fd = open_file(box, mm, &st, err);
	if (fd < 0)
		return -1;
	msgfile_read_header(fd, &mb->text);
	close(fd);
	mb->text_uid = 0;   /* not the whole text */
	*text = mb->text.data ? mb->text.data : "";
	*len = mb->text.len;
	return 0;
}

/* A message's canonical text (the last one read is kept). */
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

/* Discard what is left in tmp/ and the names of committed files. */
static void puts_free(struct mdir *d, struct md_put *v, size_t n)
{
	md_put_discard(d, v, n);
	for (size_t i = 0; i < n; i++)
		free(v[i].final);
	free(v);
}

/* APPEND: every message into tmp/, then all committed at once. */
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

/* COPY between Maildirs: hard links (or copies) through tmp/. */
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
		mail_keyword_names(box, &mm->m, kw[i]);
		v[i].flags = mm->m.flags & MF_STORABLE;
		v[i].keywords = kw[i];
		rc = md_put_file(&d, md_msg_dir(box, mm), mm->name, mm->m.size, mm->m.internal_date,
				 &v[i], err);
		if (rc < 0 && err->code == MAIL_NONEXISTENT && md_relocate(box, mm) == 0)
			rc = md_put_file(&d, md_msg_dir(box, mm), mm->name, mm->m.size,
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

/* IDLE: wake on any change in new/ (deliveries) or cur/ (other sessions'
 * flags and expunges). */
static int md_watch(struct mailbox *box, int ifd)
{
	int rc = mail_watch_add(box, ifd, MB(box)->d.new, NULL);

	return rc < 0 ? rc : mail_watch_add(box, ifd, MB(box)->d.cur, NULL);
}

/* STATUS from the uidlist and a scan, moving and writing nothing. */
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
	if (md_ul_read(d.root, &u, err) < 0 || md_scan(&d, &sc) < 0) {
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
		if (!md_ment_ours(&d, &sc.v[i], &fs))
			continue;
		st->messages++;
		st->unseen += !(md_info_flags(&sc.v[i].pn.info) & MF_SEEN);
		/* \Recent as the next session to select would see it */
		st->recent += !r || r->uid > hw;
		st->uidnext += !r;
		st->size += md_ment_vsize(&d, &sc.v[i], r, &fs);
	}
	md_scan_free(&sc);
	md_ul_free(&u);
	md_dir_close(&d);
	return 0;
}

const struct driver driver_maildir = {
	.name = "maildir",
	.flags = DRV_DIRECTORY | DRV_SAVEDATE,
	.valid = md_valid,
	.open = md_open,
	.close = md_close,
	.ping = md_ping,
	.check = md_check,
	.flush = md_flush,
	.expunge = md_expunge,
	.fetch = md_fetch,
	.fetch_header = md_fetch_header,
	.append = md_append,
	.create = md_create,
	.status = md_status,
	.remove = md_remove,
	.rename = md_rename,
	.copy = md_copy,
	.watch = md_watch,
	.ns_path = md_ns_path,
	.ns_list = md_ns_list,
	.subs_read = md_subs_read,
	.subs_write = md_subs_write,
};
