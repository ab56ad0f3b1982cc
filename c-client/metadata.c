/* metadata.c: the per-user METADATA file. Each record is a line of three
 * decimal lengths, then the mailbox, entry name and value octets and a
 * newline; values may hold any octet, so nothing is escaped. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fsafe.h"
#include "log.h"
#include "metadata.h"

#define META_MAGIC "imapd-metadata 1\n"
#define META_LOCK MAIL_META_FILE ".lock"
/* the largest file we write: every entry at its largest */
#define META_FILE_MAX ((size_t)MAIL_META_MAXENTRIES * (MAIL_META_MAXSIZE + 2 * MAIL_META_NAME_MAX + 64))

int mail_meta_name_valid(const char *name, size_t len)
{
	if (len > MAIL_META_NAME_MAX || len < 2 || name[0] != '/' || name[len - 1] == '/')
		return 0;
	for (size_t i = 0; i < len; i++) {
		unsigned char ch = (unsigned char)name[i];
		if (ch <= 0x20 || ch >= 0x7f || ch == '*' || ch == '%' ||
		    (ch == '/' && i + 1 < len && name[i + 1] == '/'))
			return 0;
	}
	return (len > 8 && !strncasecmp(name, "/private/", 9)) ||
	       (len > 7 && !strncasecmp(name, "/shared/", 8));
}

void mail_meta_free(struct mail_meta_set *set)
{
	for (size_t i = 0; i < set->n; i++) {
		free(set->v[i].box);
		free(set->v[i].name);
		free(set->v[i].value);
	}
	free(set->v);
	set->v = NULL;
	set->n = 0;
}

/* Append a copy of the entry to set. */
static void meta_add(struct mail_meta_set *set, const char *box, size_t blen, const char *name,
		     size_t nlen, const char *value, size_t vlen)
{
	set->v = xrealloc(set->v, (set->n + 1) * sizeof *set->v);
	struct mail_meta *m = &set->v[set->n++];
	m->box = xstrndup(box, blen);
	m->name = xstrndup(name, nlen);
	m->value = xmalloc(vlen + 1);
	memcpy(m->value, value, vlen);
	m->value[vlen] = '\0';
	m->len = vlen;
}

/* One decimal length ending in stop, at most max; -1 when not. */
static int meta_number(const char **p, const char *end, char stop, size_t max, size_t *out)
{
	size_t n = 0;
	const char *s = *p;

	while (s < end && *s >= '0' && *s <= '9' && n <= max)
		n = n * 10 + (size_t)(*s++ - '0');
	if (s == *p || s == end || *s != stop || n > max)
		return -1;
	*p = s + 1;
	*out = n;
	return 0;
}

/* One record at *p; -1 when damaged. */
static int meta_record(const char **p, const char *end, struct mail_meta_set *set)
{
	size_t bl, nl, vl;

	if (meta_number(p, end, ' ', MAIL_META_NAME_MAX, &bl) < 0 ||
	    meta_number(p, end, ' ', MAIL_META_NAME_MAX, &nl) < 0 ||
	    meta_number(p, end, '\n', MAIL_META_MAXSIZE, &vl) < 0 ||
	    (size_t)(end - *p) < bl + nl + vl + 1 || (*p)[bl + nl + vl] != '\n')
		return -1;
	const char *b = *p, *n = b + bl, *v = n + nl;
	if (memchr(b, '\0', bl) || !mail_meta_name_valid(n, nl))
		return -1;
	meta_add(set, b, bl, n, nl, v, vl);
	*p = v + vl + 1;
	return 0;
}

int mail_meta_parse(const char *data, size_t len, struct mail_meta_set *set)
{
	const char *p = data, *end = data + len;
	size_t ml = strlen(META_MAGIC);

	set->v = NULL;
	set->n = 0;
	if (len < ml || memcmp(data, META_MAGIC, ml))
		return -1;
	for (p += ml; p < end; )
		if (set->n == MAIL_META_MAXENTRIES || meta_record(&p, end, set) < 0) {
			mail_meta_free(set);
			return -1;
		}
	return 0;
}

/* Read the file from the home descriptor. */
static int meta_read(int home, struct mail_meta_set *set, struct mail_err *err)
{
	char *data;
	size_t len;
	int rc = fsafe_read_own(home, MAIL_META_FILE, META_FILE_MAX, &data, &len, err);

	set->v = NULL;
	set->n = 0;
	if (rc != 0)
		return rc < 0 ? -1 : 0;
	rc = mail_meta_parse(data, len, set);
	free(data);
	if (rc < 0)
		mail_err_set(err, MAIL_CORRUPT, "~/%s is damaged; entries not read", MAIL_META_FILE);
	return rc;
}

int mail_meta_load(struct mail_session *s, struct mail_meta_set *set, struct mail_err *err)
{
	int home = fsafe_home(s);

	if (home < 0) {
		mail_err_set(err, MAIL_NOPERM, "no home directory for METADATA");
		return -1;
	}
	return meta_read(home, set, err);
}

/* Write set whole. */
static int meta_write(int home, const struct mail_meta_set *set, struct mail_err *err)
{
	struct buf b;
	int rc;

	buf_init(&b);
	buf_puts(&b, META_MAGIC);
	for (size_t i = 0; i < set->n; i++) {
		const struct mail_meta *m = &set->v[i];
		buf_printf(&b, "%zu %zu %zu\n%s%s", strlen(m->box), strlen(m->name), m->len, m->box,
			   m->name);
		buf_append(&b, m->value, m->len);
		buf_putc(&b, '\n');
	}
	rc = fsafe_replace(home, MAIL_META_FILE, b.data, b.len, err);
	buf_free(&b);
	return rc;
}

/* Take the lock that orders one session's read-change-write after
 * another's; the descriptor, or -1 with err. */
static int meta_lock(struct mail_session *s, int *home, struct mail_err *err)
{
	int fd;

	if ((*home = fsafe_home(s)) < 0) {
		mail_err_set(err, MAIL_NOPERM, "no home directory for METADATA");
		return -1;
	}
	fd = openat(*home, META_LOCK, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0 || flock(fd, LOCK_EX) < 0) {
		mail_err_set(err, MAIL_FAIL, "cannot lock ~/%s: %s", META_LOCK, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	return fd;
}

/* The index of box's entry name in set, or set->n. */
static size_t meta_find(const struct mail_meta_set *set, const char *box, const char *name)
{
	size_t i;

	for (i = 0; i < set->n; i++)
		if (!strcmp(set->v[i].box, box) && !strcasecmp(set->v[i].name, name))
			break;
	return i;
}

/* Drop entry i of set. */
static void meta_drop(struct mail_meta_set *set, size_t i)
{
	free(set->v[i].box);
	free(set->v[i].name);
	free(set->v[i].value);
	set->v[i] = set->v[--set->n];
}

/* Apply the changes to set in memory; -1 with err when over a limit. */
static int meta_apply(struct mail_meta_set *set, const char *box, const struct mail_meta *chg,
		      size_t n, struct mail_err *err)
{
	for (size_t k = 0; k < n; k++) {
		size_t i = meta_find(set, box, chg[k].name);
		if (chg[k].value && chg[k].len > MAIL_META_MAXSIZE) {
			mail_err_set(err, MAIL_TOOBIG, "value larger than %d octets", MAIL_META_MAXSIZE);
			return -1;
		}
		if (i < set->n)
			meta_drop(set, i);
		if (!chg[k].value)
			continue;
		if (set->n == MAIL_META_MAXENTRIES) {
			mail_err_set(err, MAIL_LIMIT, "no more than %d entries", MAIL_META_MAXENTRIES);
			return -1;
		}
		meta_add(set, box, strlen(box), chg[k].name, strlen(chg[k].name), chg[k].value,
			 chg[k].len);
	}
	return 0;
}

int mail_meta_store(struct mail_session *s, const char *box, const struct mail_meta *chg,
		    size_t n, struct mail_err *err)
{
	struct mail_meta_set set;
	int home, lock = meta_lock(s, &home, err), rc = -1;

	if (lock < 0)
		return -1;
	if (meta_read(home, &set, err) == 0) {
		if (meta_apply(&set, box, chg, n, err) == 0)
			rc = meta_write(home, &set, err);
		mail_meta_free(&set);
	}
	close(lock);
	return rc;
}

/* Does box lie in from's subtree ("from" itself or "from/...")? The
 * length of from then, else 0. */
static size_t meta_under(const char *box, const char *from)
{
	size_t fl = strlen(from);

	return !strncmp(box, from, fl) && (box[fl] == '\0' || box[fl] == '/') ? fl : 0;
}

/* Move (to) or drop (to NULL: box itself only, as DELETE leaves
 * children) the entries of from in set; whether any changed. */
static int meta_move(struct mail_meta_set *set, const char *from, const char *to)
{
	int changed = 0;

	for (size_t i = set->n; i-- > 0; ) {
		size_t fl = meta_under(set->v[i].box, from);
		if (!fl || (!to && set->v[i].box[fl]))
			continue;
		changed = 1;
		if (!to) {
			meta_drop(set, i);
			continue;
		}
		struct buf nb;
		buf_init(&nb);
		buf_printf(&nb, "%s%s", to, set->v[i].box + fl);
		free(set->v[i].box);
		set->v[i].box = buf_steal(&nb);
	}
	return changed;
}

void mail_meta_forget(struct mail_session *s, const char *from, const char *to)
{
	struct mail_meta_set set;
	struct mail_err err;
	struct stat st;
	int home = fsafe_home(s), lock, rc = -1;

	/* most users keep none: no lock file made for them */
	if (!*from || home < 0 || fstatat(home, MAIL_META_FILE, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return;
	if ((lock = meta_lock(s, &home, &err)) < 0)
		goto out;
	if (meta_read(home, &set, &err) == 0) {
		rc = meta_move(&set, from, to) ? meta_write(home, &set, &err) : 0;
		mail_meta_free(&set);
	}
	close(lock);
out:
	/* the mailbox change itself is done: only the log hears of this */
	if (rc < 0)
		log_warn("METADATA of %s not %s: %s", from, to ? "renamed" : "removed", err.text);
}
