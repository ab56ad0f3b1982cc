/* unix_index.c: reading and writing the mbox driver's index file. The file
 * is native-endian binary: a preamble (magic, sizes, checksum), the head,
 * the records, the keyword names and the mailbox path. Anything unexpected
 * makes it unusable and the driver parses the mailbox as if it were absent. */
#include "unix_index.h"
#include "log.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/file.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define UIDX_DIR ".imapd-cache"
#define UIDX_MAX_MSGS 50000000u

struct preamble {
	char magic[8];
	uint32_t endian, headsize, recsize, path_len;
	uint32_t names_len, pad;
	uint64_t check;           /* over everything after this field */
};

/* Written as version 2; version 1 (its checksum in one lane) is still
 * read: the upgrade from the version without keys trusts the folder
 * record its index vouches for. */
static const char magic[8] = { 'm', 'b', 'x', 'i', 'd', 'x', '0', '2' };
static const char magic1[8] = { 'm', 'b', 'x', 'i', 'd', 'x', '0', '1' };

static uint64_t fnv64(const char *p, size_t n)
{
	uint64_t h = 1469598103934665603ULL;

	while (n--)
		h = (h ^ (unsigned char)*p++) * 1099511628211ULL;
	return h;
}

/* One lane of check_sum takes the eight bytes at p. */
static inline uint64_t sum_mix(uint64_t h, const char *p)
{
	uint64_t w;

	memcpy(&w, p, 8);
	h = (h ^ w) * 0xff51afd7ed558ccdULL;
	return h ^ (h >> 29);
}

/* Two lanes into one, order mattering. */
static inline uint64_t sum_fold(uint64_t h, uint64_t l)
{
	return (h * 0xc4ceb9fe1a85ec53ULL) ^ l ^ (l >> 31);
}

/* Checksum eight bytes at a time, in four independent lanes: the records
 * are most of a big index, and one chain of multiplies waits on each
 * product (a reopen of 10,000 messages spent more here than anywhere).
 * lanes 1: the one chain of a version 1 index. */
static uint64_t check_sum(const char *p, size_t n, int lanes)
{
	uint64_t a = 0x9e3779b97f4a7c15ULL ^ n, b = 1, c = 2, d = 3;
	size_t i = 0;

	for (; lanes == 4 && i + 32 <= n; i += 32) {
		a = sum_mix(a, p + i);
		b = sum_mix(b, p + i + 8);
		c = sum_mix(c, p + i + 16);
		d = sum_mix(d, p + i + 24);
	}
	for (; i + 8 <= n; i += 8)
		a = sum_mix(a, p + i);
	if (lanes == 4)
		a = sum_fold(sum_fold(sum_fold(a, b), c), d);
	return a ^ fnv64(p + i, n - i);
}

/* The index file's name in the cache directory. */
static void index_name(const char *mbox, char name[40])
{
	snprintf(name, 40, "%016llx.idx", (unsigned long long)fnv64(mbox, strlen(mbox)));
}

char *uidx_path(const char *home, const char *mbox)
{
	char name[40];

	if (!home || !*home || !strcmp(home, "/") || home[0] != '/')
		return NULL;
	index_name(mbox, name);
	size_t n = strlen(home) + sizeof UIDX_DIR + strlen(name) + 3;
	char *p = xmalloc(n);
	snprintf(p, n, "%s%s" UIDX_DIR "/%s", home, home[strlen(home) - 1] == '/' ? "" : "/",
		 name);
	return p;
}

/* Open ~/.imapd-cache (creating it when asked) by descriptor from the home:
 * a link there (say to the spool directory), a directory of someone else or
 * one others may write is not used, and said once in the log. -1: none. */
int uidx_cache_dir(int homefd, int create)
{
	static int warned;
	struct stat st;
	int fd;

	if (homefd < 0)
		return -1;
	fd = openat(homefd, UIDX_DIR, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	/* two sessions of a fresh home may make it at once: EEXIST is the
	 * other's directory, checked below as any other */
	if (fd < 0 && errno == ENOENT && create &&
	    (mkdirat(homefd, UIDX_DIR, 0700) == 0 || errno == EEXIST))
		fd = openat(homefd, UIDX_DIR, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	/* ours and writable by nobody else: the key file lives here too */
	if (fd >= 0 && fstat(fd, &st) == 0 && st.st_uid == geteuid() && !(st.st_mode & 022))
		return fd;
	if ((fd >= 0 || errno == ELOOP || errno == ENOTDIR) && !warned++)
		log_warn("index directory ~/" UIDX_DIR " not used: it is a link, not a directory, "
			 "or not owned by the user");
	if (fd >= 0)
		close(fd);
	return -1;
}

void uidx_free(struct uidx *x)
{
	if (x->mem)
		munmap(x->mem, x->memlen);
	memset(x, 0, sizeof *x);
}


/* Replace name in the cache directory dfd with data: a temp file of ours
 * (never through a link), then rename. No fsync: everything here is a
 * cache, checked when read. 0, or -1 with nothing replaced. */
static int cache_replace(int dfd, const char *name, const char *data, size_t len)
{
	char tmp[NAME_MAX + 1];
	int fd, w;

	snprintf(tmp, sizeof tmp, ".tmp.%ld.%s", (long)getpid(), name);
	unlinkat(dfd, tmp, 0);
	fd = openat(dfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		return -1;
	w = write_full(fd, data, len);
	if (close(fd) < 0 || w < 0 || renameat(dfd, tmp, dfd, name) < 0) {
		unlinkat(dfd, tmp, 0);
		return -1;
	}
	return 0;
}
/* Records must describe a possible mailbox: ascending, inside the file,
 * UIDs ascending and within the counter, keywords known. */
static int recs_ok(const struct uidx_head *h, const struct uidx_rec *r)
{
	uint64_t pos = 0;
	uint32_t prev = 0;
	uint64_t known = h->nkw >= 64 ? ~0ULL : (1ULL << h->nkw) - 1;

	for (uint32_t i = 0; i < h->nmsgs; i++) {
		uint64_t len = (uint64_t)r[i].from_len + r[i].hdr_len;
		if (r[i].off < pos || r[i].from_len < 5 || len > h->size ||
		    r[i].body_len > h->size - len || r[i].off > h->size - len - r[i].body_len)
			return 0;
		if (r[i].uid <= prev || r[i].uid > h->counter || (r[i].kw & ~known) ||
		    (r[i].flags & 0xe0u))
			return 0;
		pos = r[i].off + len + r[i].body_len;
		prev = r[i].uid;
	}
	return 1;
}

static int head_ok(const struct uidx_head *h)
{
	return h->siglen <= UIDX_SIGLEN && h->siglen <= h->size && h->nkw <= 64 &&
	       h->nmsgs <= UIDX_MAX_MSGS && h->rec_off < h->size + 1 && h->have_rec <= 1 &&
	       (h->have_rec || (!h->rec_off && !h->validity));
}

int uidx_load(int homefd, const char *mbox, struct uidx *x)
{
	struct stat st;
	struct preamble pre;
	char name[40];
	int dfd = uidx_cache_dir(homefd, 0), fd;

	memset(x, 0, sizeof *x);
	if (dfd < 0)
		return -1;
	index_name(mbox, name);
	fd = openat(dfd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
	close(dfd);
	if (fd < 0)
		return -1;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_uid != geteuid() ||
	    st.st_size < (off_t)sizeof pre ||
	    st.st_size > (off_t)UIDX_MAX_MSGS * (off_t)sizeof(struct uidx_rec)) {
		close(fd);
		return -1;
	}
	/* mapped, not read: no copy, and the kernel maps pages in batches */
	size_t n = (size_t)st.st_size;
	char *mem = mmap(NULL, n, PROT_READ, MAP_PRIVATE | MAP_POPULATE, fd, 0);
	close(fd);
	if (mem == MAP_FAILED)
		return -1;
	memcpy(&pre, mem, sizeof pre);
	size_t plen = strlen(mbox);
	size_t body = sizeof pre + sizeof x->h;
	int lanes = !memcmp(pre.magic, magic, 8) ? 4 : !memcmp(pre.magic, magic1, 8) ? 1 : 0;
	if (!lanes || pre.endian != 0x01020304 ||
	    pre.headsize != sizeof x->h || pre.recsize != sizeof *x->recs ||
	    pre.path_len != plen || n < body)
		goto bad;
	memcpy(&x->h, mem + sizeof pre, sizeof x->h);
	if (!head_ok(&x->h) ||
	    n != body + (size_t)x->h.nmsgs * sizeof *x->recs + pre.names_len + plen ||
	    check_sum(mem + sizeof pre, n - sizeof pre, lanes) != pre.check)
		goto bad;
	char *names = mem + body + (size_t)x->h.nmsgs * sizeof *x->recs;
	if (memcmp(names + pre.names_len, mbox, plen))
		goto bad;   /* another mailbox whose path hashes alike */
	/* names: nkw strings, each NUL-terminated */
	size_t at = 0;
	for (uint32_t i = 0; i < x->h.nkw; i++) {
		char *z = memchr(names + at, '\0', pre.names_len - at);
		if (at >= pre.names_len || !z || z == names + at)
			goto bad;
		x->names[i] = names + at;
		at = (size_t)(z - names) + 1;
	}
	if (at != pre.names_len)
		goto bad;
	/* records are 8-byte aligned in the file; mem is page-aligned */
	x->recs = (struct uidx_rec *)(void *)(mem + body);
	if (!recs_ok(&x->h, x->recs))
		goto bad;
	x->mem = mem;
	x->memlen = n;
	return 0;
bad:
	munmap(mem, n);
	memset(x, 0, sizeof *x);
	return -1;
}

char *uidx_recs_room(struct buf *b, uint32_t n)
{
	size_t at = sizeof(struct preamble) + sizeof(struct uidx_head);

	buf_init(b);
	buf_reserve(b, at + (size_t)n * sizeof(struct uidx_rec) + 4096);
	b->len = at + (size_t)n * sizeof(struct uidx_rec);
	return b->data + at;
}

int uidx_save_buf(int homefd, const char *mbox, const struct uidx_head *h, struct buf *b,
		  char *const *names)
{
	struct preamble pre = { .endian = 0x01020304, .headsize = sizeof *h,
				.recsize = sizeof(struct uidx_rec) };
	char name[40];
	int rc = -1, dfd;

	if (h->nmsgs > UIDX_MAX_MSGS || (dfd = uidx_cache_dir(homefd, 1)) < 0) {
		buf_free(b);
		return -1;
	}
	memcpy(pre.magic, magic, 8);
	pre.path_len = (uint32_t)strlen(mbox);
	memcpy(b->data + sizeof pre, h, sizeof *h);
	size_t nstart = b->len;
	for (uint32_t i = 0; i < h->nkw && i < 64; i++)
		buf_append(b, names[i], strlen(names[i]) + 1);
	pre.names_len = (uint32_t)(b->len - nstart);
	buf_append(b, mbox, pre.path_len);
	pre.check = check_sum(b->data + sizeof pre, b->len - sizeof pre, 4);
	memcpy(b->data, &pre, sizeof pre);

	index_name(mbox, name);
	/* no fsync: after a crash a torn index fails its checksum, and the
	 * mailbox is parsed as if there were none */
	rc = cache_replace(dfd, name, b->data, b->len);
	close(dfd);
	buf_free(b);
	return rc;
}

int uidx_save(int homefd, const char *mbox, const struct uidx_head *h,
	      const struct uidx_rec *recs, char *const *names)
{
	struct buf b;

	if (h->nmsgs > UIDX_MAX_MSGS)
		return -1;
	memcpy(uidx_recs_room(&b, h->nmsgs), recs, (size_t)h->nmsgs * sizeof *recs);
	return uidx_save_buf(homefd, mbox, h, &b, names);
}

/* Read the key file if it is ours, private and the right size. 1, 0 absent,
 * -1 present but unusable (never replaced: that would reset trust). */
static int secret_read(int dfd, unsigned char *key)
{
	struct stat st;
	int fd = openat(dfd, "secret", O_RDONLY | O_NOFOLLOW | O_CLOEXEC), rc = -1;

	if (fd < 0)
		return errno == ENOENT ? 0 : -1;
	if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_uid == geteuid() &&
	    !(st.st_mode & 077) && st.st_size == UIDX_KEYLEN &&
	    read(fd, key, UIDX_KEYLEN) == UIDX_KEYLEN)
		rc = 1;
	close(fd);
	return rc;
}

/* The key is written whole to a private temp file, then linked to its name:
 * a concurrent session sees no key or the full key, and the first link
 * wins (link never follows or replaces what is there). */
int uidx_secret(int homefd, int create, unsigned char key[UIDX_KEYLEN])
{
	unsigned char k[UIDX_KEYLEN];
	char tmp[64];
	int dfd = uidx_cache_dir(homefd, create), rc;

	if (dfd < 0)
		return -1;
	rc = secret_read(dfd, key);
	if (rc == 0 && create) {
		snprintf(tmp, sizeof tmp, ".secret.%ld", (long)getpid());
		unlinkat(dfd, tmp, 0);
		int fd = openat(dfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
		int ok = fd >= 0 && getrandom(k, sizeof k, 0) == (ssize_t)sizeof k &&
			 write_full(fd, (const char *)k, sizeof k) == 0 && fsync(fd) == 0;
		if (fd >= 0)
			close(fd);
		if (ok && linkat(dfd, tmp, dfd, "secret", 0) < 0 && errno != EEXIST)
			ok = 0;
		if (fd >= 0)
			unlinkat(dfd, tmp, 0);
		rc = ok ? secret_read(dfd, key) : -1;
		memset(k, 0, sizeof k);
	}
	close(dfd);
	return rc;
}

/* The last UIDVALIDITY in the open counter file fd, 0 when empty or unreadable. */
static uint32_t validity_read(int fd)
{
	char b[16];
	ssize_t n = pread(fd, b, sizeof b - 1, 0);
	unsigned long v;

	if (n <= 0)
		return 0;
	b[n] = '\0';
	v = strtoul(b, NULL, 10);
	return v > UINT32_MAX ? 0 : (uint32_t)v;
}

uint32_t uidx_validity(int homefd, uint32_t floor, int take)
{
	uint32_t v = floor, last;
	int dfd = uidx_cache_dir(homefd, take), fd = -1;
	struct stat st;
	char b[16];

	if (dfd >= 0)
		fd = openat(dfd, "uidvalidity", (take ? O_RDWR | O_CREAT : O_RDONLY) | O_NOFOLLOW |
			    O_CLOEXEC, 0600);
	if (dfd >= 0)
		close(dfd);
	if (fd < 0)
		return v;
	/* one writer at a time: two CREATEs must not both take last + 1 */
	if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_uid == geteuid() &&
	    st.st_nlink == 1 && flock(fd, take ? LOCK_EX : LOCK_SH) == 0) {
		last = validity_read(fd);
		if (last >= v && last < UINT32_MAX)
			v = last + 1;
		int n = snprintf(b, sizeof b, "%010u\n", v);
		if (take && (pwrite(fd, b, (size_t)n, 0) != n || fsync(fd) < 0))
			log_warn("cannot record the last UIDVALIDITY: %s", strerror(errno));
	}
	close(fd);
	return v;
}

void uidx_cache_name(const char *mbox, const char *ext, char name[40])
{
	snprintf(name, 40, "%016llx.%.8s", (unsigned long long)fnv64(mbox, strlen(mbox)), ext);
}

/* The claim file's name in the cache directory. */
static void recent_name(const char *mbox, char name[40])
{
	uidx_cache_name(mbox, "rct", name);
}

int uidx_recent_get(int homefd, const char *mbox, uint32_t *validity, uint32_t *hw)
{
	char name[40], b[64 + PATH_MAX];
	unsigned long v, h;
	int dfd = uidx_cache_dir(homefd, 0), fd, n = -1, at = 0;
	struct stat st;

	if (dfd < 0)
		return -1;
	recent_name(mbox, name);
	fd = openat(dfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	close(dfd);
	if (fd < 0)
		return -1;
	if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_uid == geteuid())
		n = (int)read(fd, b, sizeof b - 1);
	close(fd);
	if (n <= 0)
		return -1;
	b[n] = '\0';
	/* "validity hw path\n": the path tells mailboxes whose names hash alike */
	if (sscanf(b, "%lu %lu %n", &v, &h, &at) != 2 || !at || v > UINT32_MAX ||
	    h > UINT32_MAX || strncmp(b + at, mbox, strlen(mbox)) ||
	    b[at + strlen(mbox)] != '\n')
		return -1;
	*validity = (uint32_t)v;
	*hw = (uint32_t)h;
	return 0;
}

void uidx_recent_put(int homefd, const char *mbox, uint32_t validity, uint32_t hw)
{
	char name[40];
	int dfd = uidx_cache_dir(homefd, 1);
	struct buf b;

	if (dfd < 0)
		return;
	recent_name(mbox, name);
	buf_init(&b);
	buf_printf(&b, "%u %u %s\n", validity, hw, mbox);
	cache_replace(dfd, name, b.data, b.len);
	close(dfd);
	buf_free(&b);
}
