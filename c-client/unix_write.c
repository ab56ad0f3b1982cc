/* unix_write.c: writing mbox files: status lines, the folder record, new
 * messages, whole rewrites. Every rewrite goes to a temp file that is
 * renamed over the original while the dotlock is held, or, where we may not
 * create files (Debian's /var/mail), through a redo journal in place
 * (unix_journal.c): a crash leaves the old or the new mailbox, never half.
 * The mailbox, its temp file and the rename all happen in one directory
 * descriptor (fsafe.h), never through a link. */
#include "unix_int.h"
#include "linescan.h"
#include "lock.h"
#include "unix_journal.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static void wraw(struct wout *w, const char *p, size_t n)
{
	if (!w->failed && write_full(w->fd, p, n) < 0)
		w->failed = errno ? errno : EIO;
}

/* Every few megabytes, start writing back what we wrote so far: the disk
 * works while we go on, and the fsync before the rename waits for little. */
#define WOUT_KICK ((off_t)8 << 20)

void unix_wflush(struct wout *w)
{
	wraw(w, w->b.data, w->b.len);
	buf_reset(&w->b);
	if (!w->failed && w->pos - w->kicked >= WOUT_KICK) {
		sync_file_range(w->fd, w->kicked, w->pos - w->kicked, SYNC_FILE_RANGE_WRITE);
		w->kicked = w->pos;
	}
}

static void wput(struct wout *w, const void *p, size_t n)
{
	/* big bodies go straight from the source mapping, after what is
	 * buffered: the order of the bytes is the order of the calls */
	if (w->b.len + n > (1 << 18) || n >= (1 << 17))
		unix_wflush(w);
	if (n >= (1 << 17))
		wraw(w, p, n);
	else
		buf_append(&w->b, p, n);
	w->pos += (off_t)n;
}

/* Room reserved in each status line (value bytes after the colon), so a
 * later flag change can overwrite the line in place: " RO", " DFAT", and
 * keywords with some slack. Readers skip the trailing spaces. */
#define STATUS_ROOM 3
#define XSTATUS_ROOM 5
#define KW_ROOM 48
#define KW_SLACK 16

/* The value of a status line (id H_STATUS, H_XSTATUS or H_XKEYWORDS) as it
 * goes after the colon, unpadded; empty when there is nothing to say. */
void unix_status_value(struct buf *o, int id, uint32_t flags, const struct kwset *kw, int old,
		  char **names, unsigned nkw)
{
	/* letters put by hand, not printf: a rewrite writes these lines for
	 * every message, and formatting them was a tenth of a first SELECT */
	static const struct { int id; uint32_t flag; char c; } letters[] = {
		{ H_STATUS, MF_SEEN, 'R' },      { H_XSTATUS, MF_DELETED, 'D' },
		{ H_XSTATUS, MF_FLAGGED, 'F' },  { H_XSTATUS, MF_ANSWERED, 'A' },
		{ H_XSTATUS, MF_DRAFT, 'T' },
	};
	char v[ARRAY_SIZE(letters) + 1];
	size_t n = 0;

	for (size_t i = 0; i < ARRAY_SIZE(letters); i++)
		if (letters[i].id == id && (flags & letters[i].flag))
			v[n++] = letters[i].c;
	if (id == H_STATUS && old)
		v[n++] = 'O';
	if (n) {
		buf_putc(o, ' ');
		buf_append(o, v, n);
	}
	for (int i = id == H_XKEYWORDS ? kwset_next(kw, 0) : -1; i >= 0 && (unsigned)i < nkw;
	     i = kwset_next(kw, (unsigned)i + 1)) {
		buf_putc(o, ' ');
		buf_puts(o, names[i]);
	}
}

static void pad_to(struct buf *o, size_t from, size_t width)
{
	while (o->len - from < width)
		buf_putc(o, ' ');
}

/* Status, X-Status and X-Keywords always, padded (see STATUS_ROOM). */
static void status_lines(struct buf *o, uint32_t flags, const struct kwset *kw, char **names,
			 unsigned nkw, uint32_t uid, int old)
{
	static const struct { const char *name; int id; size_t room; } tab[] = {
		{ "Status:", H_STATUS, STATUS_ROOM }, { "X-Status:", H_XSTATUS, XSTATUS_ROOM },
		{ "X-Keywords:", H_XKEYWORDS, KW_ROOM },
	};

	for (size_t i = 0; i < ARRAY_SIZE(tab); i++) {
		buf_puts(o, tab[i].name);
		size_t at = o->len;
		unix_status_value(o, tab[i].id, flags, kw, old, names, nkw);
		size_t used = o->len - at, room = tab[i].room;
		if (tab[i].id == H_XKEYWORDS && used + KW_SLACK > room)
			room = used + KW_SLACK;
		pad_to(o, at, room);
		buf_putc(o, '\n');
	}
	buf_puts(o, "X-UID: ");
	buf_put_uint(o, uid, 0);
	buf_putc(o, '\n');
}

/* After a message's last line: the separator line, or the MMDF trailer. */
static void frame_end(struct buf *o, int fmt)
{
	size_t n;
	const char *e = unix_frame_end(fmt, &n);

	buf_append(o, e, n);
}

/* Write the folder record; returns the file offset of uidlast's digits.
 * With a key, it is authenticated, vouching for messages up to UID ours.
 * gen: the change counter, so other sessions see every rewrite as one. */
off_t write_pseudo(struct wout *w, uint32_t validity, uint32_t last, char **names,
		   unsigned nkw, uint32_t ours, const unsigned char *key, uint32_t gen)
{
	off_t at;
	char host[256] = "localhost", fl[64], dh[64], hex[MAC_HEX + 1];
	time_t now = time(NULL);
	struct tm tm;
	struct buf b, val;

	gethostname(host, sizeof host - 1);
	host[sizeof host - 1] = '\0';
	localtime_r(&now, &tm);
	strftime(fl, sizeof fl, "%a %b %e %H:%M:%S %Y", &tm);
	strftime(dh, sizeof dh, "%a, %d %b %Y %H:%M:%S %z", &tm);
	buf_init(&b);
	if (w->fmt == UF_MMDF)
		buf_puts(&b, MMDF_MARK);
	buf_printf(&b, "From MAILER-DAEMON %s\nDate: %s\n", fl, dh);
	buf_printf(&b, "From: Mail System Internal Data <MAILER-DAEMON@%s>\n", host);
	buf_printf(&b, "Subject: %s\nMessage-ID: <%lld@%s>\n", PSEUDO_SUBJECT, (long long)now,
		   host);
	/* a change counter for in-place flag updates (see inplace_update) */
	buf_printf(&b, GEN_HDR " %010u\n", gen);
	buf_init(&val);
	buf_printf(&val, "%010u %010u", validity, last);
	for (unsigned i = 0; i < nkw; i++)
		buf_printf(&val, " %s", names[i]);
	if (key) {
		rec_mac(key, val.data, val.len, ours, hex);
		buf_printf(&b, AUTH_HDR " %010u %s\n", ours, hex);
	}
	at = w->pos + (off_t)b.len + 19;
	buf_printf(&b, "X-IMAP: %s", val.data);
	buf_free(&val);
	buf_puts(&b, "\nStatus: RO\n\n" PSEUDO_TEXT);
	frame_end(&b, w->fmt);
	wput(w, b.data, b.len);
	buf_free(&b);
	return at;
}

/* Write a body not quoted by us yet: every ">*From " line gets one more
 * '>'. Only lines starting with 'F' or '>' can be such lines: linescan
 * jumps between them (memmem for "From " stops at every one in the text);
 * runs between quoted lines go out in one piece. b starts at a line start.
 * Returns the lines quoted. */
static uint32_t write_quoted(struct wout *w, const char *b, size_t n)
{
	size_t run = 0, ls = 0;
	uint32_t q = 0;

	while (ls < n) {
		if (unix_from_depth(b + ls, n - ls) >= 0) {
			wput(w, b + run, ls - run);
			wput(w, ">", 1);
			run = ls;
			q++;
		}
		ls = linescan_first(b, ls, n, 'F', '>');
	}
	wput(w, b + run, n - run);
	return q;
}

/* Copy the body of it (at file offset off) through windows of the input,
 * never holding a big message whole; quoting goes line by line, so a
 * window's piece ends at a line end. Returns the last byte copied. */
static char copy_body(struct wout *w, struct win *in, const struct witem *it, off_t off,
		      uint32_t *nq)
{
	uint64_t left = it->body_len;
	char last = '\n';

	while (left) {
		size_t avail, n;
		const char *b = win_get(in, off, 1, &avail);
		if (!b) {
			w->failed = EIO;
			return '\n';
		}
		n = avail < left ? avail : (size_t)left;
		if (it->quote && !it->plain && n < left) {
			const char *nl = memrchr(b, '\n', n);
			if (!nl) {   /* a line longer than a window: map it whole */
				const char *e = memchr(b, '\n', avail);
				b = win_get(in, off, e ? (size_t)(e - b) + 1 : (size_t)left, &avail);
				if (!b) {
					w->failed = EIO;
					return '\n';
				}
				nl = memchr(b, '\n', avail < left ? avail : (size_t)left);
			}
			n = nl ? (size_t)(nl - b) + 1 : (avail < left ? avail : (size_t)left);
		}
		if (it->quote && !it->plain)
			*nq += write_quoted(w, b, n);
		else
			wput(w, b, n);
		last = b[n - 1];
		off += (off_t)n;
		left -= n;
	}
	return last;
}

static void write_item(struct wout *w, struct win *in, const struct witem *it,
		       struct wplace *pl, char **names, unsigned nkw)
{
	const char *src = win_get(in, it->src, it->from_len + it->hdr_len, NULL);
	size_t pos = 0, len = it->hdr_len, term = 0;
	struct buf o;
	int skip = 0;
	uint32_t nq = 0;

	if (!src) {
		w->failed = EIO;
		return;
	}
	const char *h = src + it->from_len;
	buf_init(&o);
	/* room for the header and our status lines at once: grown by doubling
	 * from nothing, it was five reallocs a message */
	buf_reserve(&o, len + 256);
	/* the header's own blank line, if any, goes after our status lines */
	if (len >= 1 && h[len - 1] == '\n') {
		if (len == 1 || h[len - 2] == '\n')
			term = 1;
		else if (h[len - 2] == '\r' && (len == 2 || h[len - 3] == '\n'))
			term = 2;
	}
	while (pos < len - term) {
		size_t le = unix_line_end(h, pos, len - term);
		size_t ce = le;
		while (ce > pos && (h[ce - 1] == '\n' || h[ce - 1] == '\r'))
			ce--;
		if (!(ce > pos && (h[pos] == ' ' || h[pos] == '\t')))
			skip = ce > pos && unix_internal_hdr(h + pos, ce - pos) != H_NONE &&
			       unix_internal_hdr(h + pos, ce - pos) != H_CLEN;
		if (!skip) {
			if (it->quote && unix_from_depth(h + pos, ce - pos) >= 0) {
				buf_putc(&o, '>');
				nq++;
			}
			buf_append(&o, h + pos, le - pos);
			if (h[le - 1] != '\n')
				buf_putc(&o, '\n');
		}
		pos = le;
	}
	status_lines(&o, it->flags, it->kw, names, nkw, it->uid, it->old);
	buf_append(&o, h + len - term, term);
	pl->off = w->pos;
	pl->hdr_len = o.len;
	wput(w, src, it->from_len);
	wput(w, o.data, o.len);
	buf_free(&o);
	off_t bstart = w->pos;
	char last = copy_body(w, in, it, it->src + (off_t)(it->from_len + it->hdr_len), &nq);
	pl->body_len = (uint64_t)(w->pos - bstart);
	pl->nq = it->quote ? nq : it->nq;
	if (it->body_len && last != '\n')
		wput(w, "\n", 1);
	size_t en;
	const char *e = unix_frame_end(w->fmt, &en);
	wput(w, e, en);
}

/* Append l[0..n) without its Ctrl-A bytes. */
static void put_no_ctla(struct buf *o, const char *l, size_t n)
{
	const char *a;

	while (n && (a = memchr(l, '\1', n))) {
		buf_append(o, l, (size_t)(a - l));
		n -= (size_t)(a - l) + 1;
		l = a + 1;
	}
	buf_append(o, l, n);
}

/* A new message (APPEND): From line, header without our internal fields,
 * status lines, body. Text may be CRLF or LF. In mbox, every ">*From " line
 * gets one more '>' (mboxrd): readers differ on what a separator is (mutt
 * takes any "From " line that looks like one, Python's mailbox any "From "
 * at all), and our reader removes the '>' again (see REC_NONE). MMDF
 * quotes nothing, but drops Ctrl-A bytes as UW does: a line ending in four
 * of them ends the message for UW's reader. */
void format_new(struct buf *o, int fmt, const char *user, const struct mail_new *m,
		uint32_t uid, char **names, unsigned nkw, const struct kwset *kw)
{
	time_t t = m->date ? m->date : time(NULL);
	struct tm tm;
	char date[64];
	size_t pos = 0, len = m->len;
	int in_hdr = 1, skip = 0, had_blank = 0;

	localtime_r(&t, &tm);
	strftime(date, sizeof date, "%a %b %e %H:%M:%S %Y", &tm);
	if (fmt == UF_MMDF)
		buf_puts(o, MMDF_MARK);
	buf_printf(o, "From %s %s\n", m->sender ? (*m->sender ? m->sender : "MAILER-DAEMON") :
		   user && *user ? user : "MAILER-DAEMON", date);
	while (pos < len) {
		size_t le = unix_line_end(m->text, pos, len), ce = le;
		if (ce > pos && m->text[ce - 1] == '\n')
			ce--;
		/* CRLF becomes LF; "\r\r\n" keeps its CRs, as the reader takes
		 * a CR before LF for the CRLF and must find the other one */
		if (ce > pos && m->text[ce - 1] == '\r' && !(ce - 1 > pos && m->text[ce - 2] == '\r'))
			ce--;
		const char *l = m->text + pos;
		size_t n = ce - pos;
		if (in_hdr && n == 0) {
			status_lines(o, m->flags & MF_STORABLE, kw, names, nkw, uid, 0);
			in_hdr = 0;
			had_blank = 1;
		} else if (in_hdr) {
			if (!(l[0] == ' ' || l[0] == '\t'))
				skip = unix_internal_hdr(l, n) != H_NONE;
			if (skip) {
				pos = le;
				continue;
			}
		}
		if (fmt == UF_MMDF) {
			put_no_ctla(o, l, n);
		} else {
			if (unix_from_depth(l, n) >= 0)
				buf_putc(o, '>');
			buf_append(o, l, n);
		}
		buf_putc(o, '\n');
		pos = le;
	}
	if (!had_blank)
		status_lines(o, m->flags & MF_STORABLE, kw, names, nkw, uid, 0);
	frame_end(o, fmt);
}

/* The rewrite's temp file name beside leaf; -1 if it cannot fit (names
 * are limited to FSAFE_LEAF_MAX so that it does). */
int unix_tmp_name(const char *leaf, char tmp[NAME_MAX + 1])
{
	int n = snprintf(tmp, NAME_MAX + 1, ".%s.imaptmp", leaf);

	return n < 0 || n > NAME_MAX ? -1 : 0;
}

/* Does leaf in dirfd (not followed) still name the file st describes? */
static int same_leaf(int dirfd, const char *leaf, const struct stat *st)
{
	struct stat now;

	return fstatat(dirfd, leaf, &now, AT_SYMLINK_NOFOLLOW) == 0 && now.st_dev == st->st_dev &&
	       now.st_ino == st->st_ino;
}

/* The new mailbox, all of it, to w; returns the offset of uidlast's digits.
 * A file that had a change counter gets it bumped: a rewrite in place
 * keeps the inode, and the counter is how other sessions tell. Messages
 * not quoted by us yet are quoted now (mboxrd; MMDF quotes nothing). */
static off_t write_content(struct wout *w, struct rewrite *rw)
{
	off_t goff, rec;
	uint32_t gen = 0;

	if (rw->in && unix_gen_find(rw->in->fd, &goff, &gen))
		gen = gen == UINT32_MAX ? 1 : gen + 1;
	buf_init(&w->b);
	w->fmt = rw->fmt;
	rec = write_pseudo(w, rw->validity, rw->last, rw->names, rw->nkw, rw->ours, rw->key, gen);
	for (size_t i = 0; i < rw->nitems; i++) {
		struct witem it;

		rw->item(rw->ctx, i, &it);
		it.quote = rw->fmt == UF_MBOX && !it.rd;
		write_item(w, rw->in, &it, &rw->placed[i], rw->names, rw->nkw);
	}
	if (rw->extra_len)
		wput(w, rw->extra, rw->extra_len);
	unix_wflush(w);
	buf_free(&w->b);
	return rec;
}

/* May we create files in dirfd (a temp file to rename over the mailbox)? */
int unix_dir_writable(int dirfd)
{
	return faccessat(dirfd, ".", W_OK | X_OK, AT_EACCESS) == 0;
}

/* The rewrite for a directory we may not write: through the journal, over
 * the locked file itself (rw->in's fd, open read-write). Returns a new fd
 * of that file, or -1. */
static int rewrite_in_place(const char *path, const struct stat *st, struct rewrite *rw,
			    off_t *rec_last_off, struct mail_err *err)
{
	struct unix_journal j;
	struct wout w = { .fd = -1 };

	if (unix_journal_begin(rw->home, st, &j, err) < 0)
		return -1;
	w.fd = j.fd;
	*rec_last_off = write_content(&w, rw);
	if (w.failed) {
		unix_journal_abort(&j);
		mail_err_set(err, w.failed == ENOSPC || w.failed == EDQUOT ? MAIL_TOOBIG : MAIL_FAIL,
			     "cannot rewrite mailbox %s: %s (mailbox unchanged)", path,
			     strerror(w.failed));
		return -1;
	}
	if (unix_journal_commit(&j, rw->in->fd, (uint64_t)w.pos, err) < 0)
		return -1;
	int fd = fcntl(rw->in->fd, F_DUPFD_CLOEXEC, 0);
	if (fd < 0)
		mail_err_set(err, MAIL_FAIL, "cannot rewrite mailbox %s: %s", path, strerror(errno));
	return fd;
}

/* Write a whole new mailbox beside leaf in dirfd (path: the same file, for
 * messages) and rename it over leaf in that same directory, if leaf is
 * still the file st describes; or in place where the directory is closed
 * to us. The caller holds the locks. Returns the new file's fd (read-write)
 * or -1. */
int mbox_rewrite(int dirfd, const char *leaf, const char *path, const struct stat *st,
		 struct rewrite *rw, off_t *rec_last_off, struct mail_err *err)
{
	if (st && rw->in && !unix_dir_writable(dirfd))
		return rewrite_in_place(path, st, rw, rec_last_off, err);

	char tmp[NAME_MAX + 1];
	struct wout w = { .fd = -1 };

	if (unix_tmp_name(leaf, tmp) < 0) {
		mail_err_set(err, MAIL_BADNAME, "mailbox file name too long to rewrite: %s", path);
		return -1;
	}
	unlinkat(dirfd, tmp, 0);
	w.fd = openat(dirfd, tmp, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (w.fd < 0) {
		if (errno == EACCES || errno == EPERM || errno == EROFS)
			lock_dir_error(path, errno, err);
		else
			mail_err_set(err, MAIL_FAIL, "cannot create the temp file beside %s: %s",
				     path, strerror(errno));
		return -1;
	}
	if (st) {
		/* same owner/group/mode as the original, as far as we may; the
		 * group may stay ours if we are not a member of the old one */
		if (fchown(w.fd, st->st_uid, st->st_gid) < 0)
			(void)!fchown(w.fd, (uid_t)-1, st->st_gid);
		fchmod(w.fd, st->st_mode & 07777);
	}
	*rec_last_off = write_content(&w, rw);
	if (!w.failed && fsync(w.fd) < 0)
		w.failed = errno;
	/* the name must still be the file we locked and read */
	if (!w.failed && st && !same_leaf(dirfd, leaf, st))
		w.failed = ESTALE;
	if (!w.failed && renameat(dirfd, tmp, dirfd, leaf) < 0)
		w.failed = errno;
	if (w.failed) {
		mail_err_set(err, w.failed == ENOSPC || w.failed == EDQUOT ? MAIL_TOOBIG : MAIL_FAIL,
			     "cannot rewrite mailbox %s: %s (mailbox unchanged)", path,
			     strerror(w.failed));
		close(w.fd);
		unlinkat(dirfd, tmp, 0);
		return -1;
	}
	fsafe_sync_dir(dirfd);
	return w.fd;
}
