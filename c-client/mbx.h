/* mbx.h: UW's mbx file format as pure functions on buffers, apart from the
 * driver's file handling so it can be fuzzed: the fixed 2048-byte file
 * header (UIDVALIDITY, last UID, keyword names, last flag writer's pid)
 * and the line before each message ("date,size;KKKKKKKKSSSS-UUUUUUUU"). */
#ifndef CCLIENT_MBX_H
#define CCLIENT_MBX_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "util.h"

#define MBX_HDRSIZE 2048
#define MBX_NKEYWORDS 30          /* keyword slots in the header (UW's NUSERFLAGS) */
#define MBX_KEYWORD_MAX 64        /* longest keyword name UW keeps */
#define MBX_LINE_MAX 128          /* longest message line we accept */
/* The message line ends ";KKKKKKKKSSSS-UUUUUUUU\r\n": the flags field
 * starts this many bytes before the message text, the part rewritten in
 * place (keywords, system flags, UID) one byte later. */
#define MBX_FLAGS_BACK 24
#define MBX_FLAGS_LEN 21

/* System flag bits of the SSSS field. */
enum {
	MBX_SEEN = 0x1,
	MBX_DELETED = 0x2,
	MBX_FLAGGED = 0x4,
	MBX_ANSWERED = 0x8,
	MBX_OLD = 0x10,            /* a session has seen it: no longer \Recent */
	MBX_DRAFT = 0x20,
	MBX_EXPUNGED = 0x8000,     /* expunged, its space not yet reclaimed */
};

struct mbx_header {
	uint32_t validity, last_uid;
	char *names[MBX_NKEYWORDS];   /* slot i is keyword bit i */
	unsigned nnames;
	uint32_t pid;                 /* last flag writer, 0 when not recorded */
};

/* Parse the first MBX_HDRSIZE bytes of buf (len bytes available): 0, or
 * -1 when they are no mbx header. Free with mbx_header_free. */
int mbx_header_parse(const char *buf, size_t len, struct mbx_header *h);
void mbx_header_free(struct mbx_header *h);
/* The MBX_HDRSIZE bytes of h, as UW writes them (NUL padded). -1 when the
 * names do not fit (more than 30, too long together, or one not a line). */
int mbx_header_format(char *out, const struct mbx_header *h);
/* Is name storable as a keyword slot (1..64 bytes, no CR, LF or NUL)? */
int mbx_keyword_ok(const char *name);

/* One message line. */
struct mbx_rec {
	time_t date;
	int tz_minutes;
	uint64_t size;     /* bytes of message text after the line */
	uint32_t kw;       /* keyword bits */
	uint32_t sys;      /* MBX_* */
	uint32_t uid;      /* 0: none assigned yet */
	size_t linelen;    /* the line with its CRLF */
};

enum { MBX_REC_BAD = -1, MBX_REC_SHORT = 0, MBX_REC_OK = 1 };
/* Parse the message line at p (n bytes there): MBX_REC_OK, MBX_REC_SHORT
 * when the n bytes end before the line does (a tail cut short), or
 * MBX_REC_BAD. */
int mbx_rec_parse(const char *p, size_t n, struct mbx_rec *r);
/* Append r's line (size, flags and uid as given). */
void mbx_rec_format(struct buf *b, const struct mbx_rec *r);
/* The MBX_FLAGS_LEN bytes written in place: "KKKKKKKKSSSS-UUUUUUUU". */
void mbx_flags_format(char *out, uint32_t kw, uint32_t sys, uint32_t uid);
/* Parse the MBX_FLAGS_BACK - 10 bytes ";KKKKKKKKSSSS-" read back at a
 * message: 0, or -1 when they are not there. */
int mbx_flags_parse(const char *p, uint32_t *kw, uint32_t *sys);

/* Walk buf (len bytes, a whole file) from its first message on, calling
 * fn for each message line with its offset; stops at the first bad or
 * short line. Returns the offset where the walk stopped (len when every
 * message parsed); *status the last mbx_rec_parse result, MBX_REC_SHORT
 * too when a message's text runs past len. For the fuzzer and tests. */
size_t mbx_walk(const char *buf, size_t len, int *status,
		void (*fn)(void *ctx, size_t off, const struct mbx_rec *r), void *ctx);

#endif
