/* unix_mmdf.c: the MMDF frame of the mbox driver's files. An MMDF message
 * sits between two lines of four Ctrl-A bytes, starts (as UW writes it)
 * with a From line giving its internal date, and is never quoted; the
 * headers, status lines and folder record are those of an mbox file. */
#include "unix_int.h"

#include <string.h>
#include <unistd.h>

/* Length of the MMDF mark at b (a file or message start), 0 if none. */
size_t unix_mmdf_lead(const char *b, size_t n)
{
	return n >= MMDF_MARK_LEN && !memcmp(b, MMDF_MARK, MMDF_MARK_LEN) ? MMDF_MARK_LEN : 0;
}

/* The frame of the file open on fd, from its first bytes (UF_MBOX if it
 * is empty or unreadable: an empty file is an mbox for UW too). */
int unix_fd_fmt(int fd)
{
	char b[MMDF_MARK_LEN];

	return pread(fd, b, sizeof b, 0) == (ssize_t)sizeof b && unix_mmdf_lead(b, sizeof b) ?
	       UF_MMDF : UF_MBOX;
}

/* Do the bytes b[0..n) (a file's last ones) end where a message of
 * format fmt may follow: after an mbox separator line, or a trailer? */
int unix_frame_done(int fmt, const char *b, size_t n)
{
	if (fmt == UF_MMDF)
		return n >= MMDF_MARK_LEN && unix_mmdf_lead(b + n - MMDF_MARK_LEN, MMDF_MARK_LEN);
	return unix_trailing_blank(b, 0, n) != 0;
}

/* Does a message start at b: its From line, or the MMDF mark? */
int unix_msg_start(const char *b, size_t n)
{
	return (n >= 5 && !memcmp(b, "From ", 5)) || unix_mmdf_lead(b, n);
}

/* What follows a message's body (which ends with a line end) in format
 * fmt: the mbox separator line or the MMDF trailer. */
const char *unix_frame_end(int fmt, size_t *len)
{
	*len = fmt == UF_MMDF ? MMDF_MARK_LEN : 1;
	return fmt == UF_MMDF ? MMDF_MARK : "\n";
}

/* Put into out what a file of format fmt ending in tail[0..n) (its last
 * bytes, n >= 5 unless the file is shorter) needs before a new message. */
void unix_frame_close(int fmt, const char *tail, size_t n, struct buf *out)
{
	size_t len;
	const char *end = unix_frame_end(fmt, &len);

	if (!n || unix_frame_done(fmt, tail, n))
		return;
	if (tail[n - 1] != '\n')
		buf_putc(out, '\n');
	buf_append(out, end, len);
}

/* Where the MMDF trailer of a message whose text starts at pos is: the
 * first line of buf[pos..len) that is the mark; len if none. */
static size_t find_trailer(const char *buf, size_t pos, size_t len)
{
	size_t i = pos;
	const char *f;

	while (i < len && (f = memmem(buf + i, len - i, MMDF_MARK, MMDF_MARK_LEN))) {
		size_t at = (size_t)(f - buf);
		if (at == pos || buf[at - 1] == '\n')
			return at;
		i = at + 1;
	}
	return len;
}

/* Line ends in buf[pos..end): LF count and CRLF count, for the size. */
static void count_lines(const char *buf, size_t pos, size_t end, size_t *lf, size_t *crlf)
{
	const char *nl;

	*lf = *crlf = 0;
	while (pos < end && (nl = memchr(buf + pos, '\n', end - pos))) {
		(*lf)++;
		if (nl > buf + pos && nl[-1] == '\r')
			(*crlf)++;
		pos = (size_t)(nl - buf) + 1;
	}
}

/* Frame one message at pos (on its mark) whose trailer is at t: the From
 * line, if there is one, is part of the frame (from_len) and gives the
 * internal date, as UW reads it. */
static void mmdf_frame(const char *buf, size_t pos, size_t t, off_t base, struct pmsg *m,
		       struct hinfo *h, struct kwtab *kt)
{
	size_t fl = pos + MMDF_MARK_LEN, le = unix_line_end(buf, fl, t), blank, lf, crlf;

	*m = (struct pmsg){ .off = (size_t)base + pos };
	if (le > fl && unix_from_line(buf + fl, le - fl, &m->date, &m->tz))
		fl = le;
	m->from_len = fl - pos;
	m->fp = unix_hash(buf + pos, fl - pos);
	size_t hend = hdr_scan(buf, fl, t, h, kt, &blank);
	count_lines(buf, hend, t, &lf, &crlf);
	m->hdr_len = hend - fl;
	m->body_len = t - hend;
	m->size = canon_header(buf + fl, m->hdr_len, 0, NULL) + m->body_len + lf - crlf;
	if (m->body_len && buf[t - 1] != '\n')
		m->size += buf[t - 1] == '\r' ? 1 : 2;
	h->nq = 0;   /* nothing is quoted in MMDF */
}

/* mbox_parse for an MMDF buffer: buf starts on a message's mark (or is
 * empty). A last message without its trailer ends at the end of the file,
 * as UW reads it. -1: not MMDF. */
int mmdf_parse(const char *buf, size_t len, int first, int eof, off_t base,
	       struct kwtab *kt, struct parse *out, size_t *used)
{
	size_t pos = 0;

	*used = 0;
	while (pos < len) {
		if (!unix_mmdf_lead(buf + pos, len - pos)) {
			if (!eof && len - pos < MMDF_MARK_LEN &&
			    !memcmp(buf + pos, MMDF_MARK, len - pos))
				break;
			return -1;
		}
		size_t t = find_trailer(buf, pos + MMDF_MARK_LEN, len);
		if (t == len && !eof)
			break;
		struct pmsg m;
		struct hinfo h = { 0 };
		mmdf_frame(buf, pos, t, base, &m, &h, kt);
		pos = t < len ? t + MMDF_MARK_LEN : len;
		*used = pos;
		unix_parse_keep(out, &m, &h, first, buf, base, kt);
	}
	if (eof)
		*used = len;
	return 0;
}
