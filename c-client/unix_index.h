/* unix_index.h: the mbox driver's private on-disk index, a cache of what a
 * full parse of a mailbox file found (offsets, sizes, UIDs, flags as last
 * seen), kept in the user's home so reopening an unchanged mailbox reads
 * a few hundred bytes per message instead of the whole file. Front-ends
 * never see it; the mbox always wins over it. */
#ifndef CCLIENT_UNIX_INDEX_H
#define CCLIENT_UNIX_INDEX_H

#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>

#define UIDX_SIGLEN 64

/* What the index says about the file as a whole. */
struct uidx_head {
	uint64_t dev, ino, size;
	int64_t mtime_sec, mtime_nsec;
	uint32_t siglen, nmsgs;
	char sig[UIDX_SIGLEN];      /* the file's last bytes */
	uint32_t validity;          /* 0: the file has no folder record */
	uint32_t counter;           /* highest UID handed out */
	uint32_t rec_last, rec_nkw;
	uint64_t rec_off;
	uint32_t have_rec, nkw;
	uint64_t gen_off;           /* the record's change counter (0: none) */
	uint32_t gen;               /* and its value */
	uint32_t trust;             /* how the folder record was trusted (driver) */
};

/* One message, as on disk. flags: MF_* as stored, plus the two bits below. */
/* Keyword names an index holds (a record's mask is 64 bits). */
#define UIDX_KEYWORDS 64

struct uidx_rec {
	uint64_t off, body_len, size, kw;
	int64_t date;
	uint32_t from_len, hdr_len, uid, fp, flags;
	int32_t tz;
};

#define UIDX_OLD (1u << 8)      /* Status has O */
#define UIDX_XUID (1u << 9)     /* X-UID on disk equals uid */
#define UIDX_RD (1u << 10)      /* body is mboxrd-quoted by us */
#define UIDX_NQ_SHIFT 11        /* above: how many body lines are quoted */
#define UIDX_NQ_MAX ((1u << 21) - 1)

struct uidx {
	struct uidx_head h;
	struct uidx_rec *recs;      /* h.nmsgs of them */
	char *names[UIDX_KEYWORDS]; /* h.nkw keyword names */
	void *mem;                  /* the mapped file recs and names point into */
	size_t memlen;
};

/* Where the index of mailbox file mbox lives for a user with this home
 * (for tests and diagnostics: the library reaches it by descriptor);
 * malloc'd, or NULL when there is no usable home. */
char *uidx_path(const char *home, const char *mbox);

/* Read and check the index of mailbox mbox in ~/.imapd-cache, reached from
 * the home directory descriptor homefd without following links. Checks
 * the format, the checksum and the records' consistency, not the mailbox
 * itself. 0 ok (free with uidx_free), -1 none or unusable. */
int uidx_load(int homefd, const char *mbox, struct uidx *x);
void uidx_free(struct uidx *x);

/* ~/.imapd-cache by descriptor from the home directory homefd, created 0700
 * when asked: never a link, only the user's own and writable by nobody
 * else (the index, the key and rewrite journals live there). -1: none. */
int uidx_cache_dir(int homefd, int create);
/* The name in that directory of a file about mailbox mbox with extension
 * ext (at most 8 characters): a hash of the path. */
void uidx_cache_name(const char *mbox, const char *ext, char name[40]);

/* Write the index crash-safely (temp file, rename), creating its
 * directory. Failure is silent by design: it is only a cache. */
int uidx_save(int homefd, const char *mbox, const struct uidx_head *h,
	      const struct uidx_rec *recs, char *const *names);

/* The same in two steps, without a second copy of the records (640 KB for
 * 10,000 messages): uidx_recs_room makes b the file's image up to its n
 * records and returns where record 0 goes (unaligned: store with memcpy);
 * uidx_save_buf completes and writes it, and frees b. */
struct buf;
char *uidx_recs_room(struct buf *b, uint32_t n);
int uidx_save_buf(int homefd, const char *mbox, const struct uidx_head *h, struct buf *b,
		  char *const *names);

/* The UIDVALIDITY for a mailbox being created or given its folder record:
 * floor (the time, or a record-less file's ctime), but always above the
 * last value handed out to this user, which is kept in the cache directory
 * under a lock, so a mailbox deleted and created again within one second
 * still gets a greater one (RFC 3501 2.3.1.1). take: hand it out (record
 * it); else only say what it would be (STATUS, EXAMINE of a record-less
 * file, so they agree with the SELECT that writes it). Without a usable
 * home, floor. */
uint32_t uidx_validity(int homefd, uint32_t floor, int take);

/* The \Recent claim of mailbox mbox (RFC 3501 2.3.2): the highest UID a
 * read-write session has been told about, under UIDVALIDITY validity.
 * Read and written only under the mailbox's write lock, so exactly one
 * session sees each message \Recent. 0 read, -1 none (claim nothing). */
int uidx_recent_get(int homefd, const char *mbox, uint32_t *validity, uint32_t *hw);
/* Record the claim (temp file and rename; no fsync: after a crash a
 * message may show \Recent once more, never lose mail). */
void uidx_recent_put(int homefd, const char *mbox, uint32_t validity, uint32_t hw);

#define UIDX_KEYLEN 32

/* The user's secret key for authenticating the mbox folder record, in the
 * index directory under the home directory homefd. create: make it when absent. 1 key read,
 * 0 none exists (and create was 0), -1 no usable home or an error. */
int uidx_secret(int homefd, int create, unsigned char key[UIDX_KEYLEN]);

#endif
