/* msgfile.c: message files of the one-file-per-message formats (Maildir,
 * MH): opened only as regular files of the user, never through a link or
 * into a FIFO; stored with LF line ends and served as CRLF text. */
#include "msgfile.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int msgfile_open(int dirfd, const char *name, struct stat *st)
{
	/* O_NONBLOCK: a FIFO planted under a message's name must not hang us */
	int fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);

	if (fd < 0)
		return -1;
	if (fstat(fd, st) < 0 || !S_ISREG(st->st_mode) || st->st_uid != geteuid()) {
		/* a hard link to someone else's file is not served */
		close(fd);
		errno = EACCES;
		return -1;
	}
	return fd;
}

uint64_t msgfile_canon_size(const char *p, size_t n)
{
	uint64_t v = n;

	for (size_t i = 0; i < n; i++)
		if (p[i] == '\n' && (i == 0 || p[i - 1] != '\r'))
			v++;
	return v;
}

uint64_t msgfile_vsize(int dirfd, const char *name, const struct stat *st)
{
	char buf[65536];
	uint64_t v = 0;
	off_t at = 0;
	char prev = 0;
	int fd = msgfile_open(dirfd, name, &(struct stat){ 0 });

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

void msgfile_canon_append(struct buf *b, const char *raw, size_t n, char prev)
{
	size_t i = 0;

	buf_reserve(b, n + n / 16 + 16);
	/* line by line with memchr: a byte at a time made COPY of a large
	 * mailbox spend most of its time here */
	while (i < n) {
		const char *nl = memchr(raw + i, '\n', n - i);
		size_t end = nl ? (size_t)(nl - raw) : n;
		buf_append(b, raw + i, end - i);
		if (!nl)
			break;
		if ((end ? raw[end - 1] : prev) != '\r')
			buf_putc(b, '\r');
		buf_putc(b, '\n');
		i = end + 1;
	}
}

void msgfile_store_form(struct buf *out, const char *t, size_t n)
{
	buf_reserve(out, n);
	for (size_t i = 0; i < n; i++)
		if (!(t[i] == '\r' && i + 1 < n && t[i + 1] == '\n'))
			buf_putc(out, t[i]);
}

size_t msgfile_header_end(const char *p, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (p[i] != '\n')
			continue;
		if (i == 0 || (i == 1 && p[0] == '\r'))
			return i + 1;   /* no header at all: the blank line alone */
		if (i + 1 < n && p[i + 1] == '\n')
			return i + 2;
		if (i + 2 < n && p[i + 1] == '\r' && p[i + 2] == '\n')
			return i + 3;
	}
	return 0;
}

int msgfile_read_canon(int fd, const struct stat *st, struct buf *b)
{
	char *raw = xmalloc((size_t)st->st_size + 1);
	ssize_t n = pread(fd, raw, (size_t)st->st_size, 0);
	int e = errno;

	if (n >= 0) {
		buf_reset(b);
		msgfile_canon_append(b, raw, (size_t)n, 0);
	}
	free(raw);
	errno = e;
	return n < 0 ? -1 : 0;
}

void msgfile_read_header(int fd, struct buf *b)
{
	char raw[8192];
	struct buf got;
	size_t end = 0;
	ssize_t n;

	buf_init(&got);
	while (!end && (n = pread(fd, raw, sizeof raw, (off_t)got.len)) > 0) {
		buf_append(&got, raw, (size_t)n);
		end = msgfile_header_end(got.data, got.len);
	}
	buf_reset(b);
	msgfile_canon_append(b, got.data ? got.data : "", end ? end : got.len, 0);
	buf_free(&got);
}

void msgfile_clean_stale(int dirfd, const char *prefix, time_t keep)
{
	int fd = openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
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
		if (prefix ? strncmp(e->d_name, prefix, strlen(prefix)) != 0 : e->d_name[0] == '.')
			continue;
		if (fstatat(dirfd, e->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
		    !S_ISDIR(st.st_mode) && now - st.st_mtime > keep && now - st.st_ctime > keep)
			unlinkat(dirfd, e->d_name, 0);
	}
	closedir(dir);
}
