/* unix_record.c: the mbox driver's folder record (the pseudo message with
 * X-IMAP, or X-IMAPbase): whether to believe it (an HMAC under the user's
 * key, the spool directory, the index), its change counter, and moving it
 * on in place after an append. */
#include "unix_int.h"
#include "driver.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>
#ifndef SSLTYPE_NONE
/* SHA256_Init and friends: deprecated in OpenSSL 3 for the EVP interface,
 * which is what costs the memory (see hmac_openssl) */
#define OPENSSL_SUPPRESS_DEPRECATED
#include <openssl/sha.h>
#endif
#include <linux/if_alg.h>
#include <sys/socket.h>

/* Trust in a folder record (X-IMAP pseudo message, X-IMAPbase).
 *
 * A sender can put any header in a message, and a message delivered into an
 * empty spool is the first one: X-IMAP there would hide it (and a rewrite
 * would drop it), and Status/X-Status/X-Keywords/X-UID would set its flags.
 * So only state this server wrote is believed. Our pseudo message carries
 * AUTH_HDR: the UID of the last message we wrote ("ours") and an
 * HMAC-SHA256, under a per-user key kept in ~/.imapd-cache/secret, of the
 * X-IMAP value (UIDVALIDITY, uidlast, keywords) and ours. A message is ours
 * when its X-UID is ascending and <= ours; any other message is a delivery
 * whose status headers are ignored (and replaced by ours at the next
 * rewrite). A record that does not verify is REC_LEGACY (believed as before)
 * when it cannot have been delivered: the file is not in the spool
 * directory (only the user writes their folders), or the index in
 * ~/.imapd-cache, written by the user's own earlier session, recorded this
 * very record (the upgrade from the version without keys: the pseudo
 * message stays hidden and the flags stay; the session that opens the
 * mailbox rewrites it with an authenticated record at once), or the user
 * has no home to keep a key in (then any well-formed auth line is believed,
 * and what we write carries one under an all-zero key, so the quoting
 * below still reads back exactly). Otherwise the record is ignored: its
 * UIDVALIDITY, uidlast and keywords, and the status headers of the messages
 * after it. That is the case of a spool file after the user's whole
 * ~/.imapd-cache (with its secret) was deleted, and of one last written by
 * UW imapd. Its pseudo message stays hidden when it has exactly the form
 * we or UW write (unix_form.c: fixed headers, one of two fixed texts), as
 * UW imapd and Dovecot hide it: a delivery forging that form carries no
 * content a person could want, so hiding it (and replacing it with our
 * authenticated record at the next rewrite) loses nothing, while nothing
 * in it is believed; the new UIDVALIDITY is above the hidden one when that
 * is plausible (rec_validity_floor). Any other first message with X-IMAP is
 * shown as a message.
 *
 * Quoting: messages we write are mboxrd: every line starting with ">*From "
 * gets one more '>', on every write, header and body, so no reader takes a
 * line for a separator. Reading removes one '>' from ">+From " lines only
 * for the messages an authenticated record vouches for (REC_MAC, X-UID <=
 * ours): we wrote those; and, so a lost ~/.imapd-cache changes no text, for
 * those a hidden record of our exact form says we quoted (its auth line
 * unverified: a sender can so change only how a message carrying its own
 * forged X-UID reads, one '>' less; a message with an unquoted "From "
 * line we never wrote, so it is quoted at the rewrite as any delivery,
 * and no reader finds a separator there). Anything else (an MTA's delivery, mboxo, where
 * ">From " may be literal; files of the version without keys) reads as it
 * is, and is re-quoted when we first rewrite it, so it reads the same. */

/* HMAC-SHA256 of msg under key by the kernel's crypto API (AF_ALG,
 * "hmac(sha256)"); 0 ok, -1 when the kernel offers none (its module not
 * loaded). Well kept, and no library pages: OpenSSL's first SHA-256 call
 * faults about 560 kB of libcrypto into a session that has no TLS. */
static int hmac_kernel(const unsigned char *key, const void *msg, size_t n, unsigned char out[32])
{
	struct sockaddr_alg sa = { .salg_family = AF_ALG, .salg_type = "hash",
				   .salg_name = "hmac(sha256)" };
	int t = socket(AF_ALG, SOCK_SEQPACKET | SOCK_CLOEXEC, 0), op = -1, rc = -1;

	if (t >= 0 && bind(t, (struct sockaddr *)&sa, sizeof sa) == 0 &&
	    setsockopt(t, SOL_ALG, ALG_SET_KEY, key, UIDX_KEYLEN) == 0 &&
	    (op = accept4(t, NULL, 0, SOCK_CLOEXEC)) >= 0 &&
	    send(op, msg, n, 0) == (ssize_t)n && read(op, out, 32) == 32)
		rc = 0;
	if (op >= 0)
		close(op);
	if (t >= 0)
		close(t);
	return rc;
}

#ifndef SSLTYPE_NONE
/* The same by RFC 2104 over OpenSSL's plain SHA-256 functions, for a
 * kernel without AF_ALG: OpenSSL 3's HMAC() goes through its provider
 * machinery, whose first use makes a session 2.3 MB bigger. */
static int hmac_openssl(const unsigned char *key, const void *msg, size_t n, unsigned char out[32])
{
	unsigned char pad[SHA256_CBLOCK], inner[SHA256_DIGEST_LENGTH];
	SHA256_CTX c;
	int ok;

	memset(pad, 0x36, sizeof pad);
	for (size_t i = 0; i < UIDX_KEYLEN; i++)
		pad[i] ^= key[i];
	ok = SHA256_Init(&c) && SHA256_Update(&c, pad, sizeof pad) &&
	     SHA256_Update(&c, msg, n) && SHA256_Final(inner, &c);
	for (size_t i = 0; i < sizeof pad; i++)
		pad[i] ^= 0x36 ^ 0x5c;   /* the inner pad becomes the outer one */
	ok = ok && SHA256_Init(&c) && SHA256_Update(&c, pad, sizeof pad) &&
	     SHA256_Update(&c, inner, sizeof inner) && SHA256_Final(out, &c);
	explicit_bzero(pad, sizeof pad);
	explicit_bzero(&c, sizeof c);
	return ok ? 0 : -1;
}
#endif

int rec_hmac_no_kernel;

/* HMAC-SHA256 of msg under key; 0 ok: the kernel's, else OpenSSL's. */
static int hmac256(const unsigned char *key, const void *msg, size_t n, unsigned char out[32])
{
	if (!rec_hmac_no_kernel && hmac_kernel(key, msg, n, out) == 0)
		return 0;
#ifndef SSLTYPE_NONE
	return hmac_openssl(key, msg, n, out);
#else
	return -1;
#endif
}

/* Can hmac256 work here? With OpenSSL, always; the kernel's AF_ALG may be
 * missing, so that is tried once. */
static int hmac_available(void)
{
#ifndef SSLTYPE_NONE
	return 1;
#else
	static int known = -1;

	if (known < 0) {
		unsigned char k[UIDX_KEYLEN] = { 0 }, t[32];
		known = hmac256(k, "x", 1, t) == 0;
	}
	return known;
#endif
}

/* The MAC of a record, as hex: over the X-IMAP value val[0..n) and ours. */
int rec_mac(const unsigned char *key, const char *val, size_t n, uint32_t ours,
	    char hex[MAC_HEX + 1])
{
	unsigned char mac[32];
	struct buf b;
	int rc;

	buf_init(&b);
	buf_puts(&b, "imapd mbox folder record 1\n");
	buf_append(&b, val, n);
	buf_printf(&b, "\n%010u", ours);
	rc = hmac256(key, b.data, b.len, mac);
	buf_free(&b);
	if (rc < 0)
		memset(mac, 0, sizeof mac);   /* still a well-formed line (see unix_user_key) */
	for (int i = 0; i < 32; i++)
		snprintf(hex + 2 * i, 3, "%02x", mac[i]);
	return rc;
}

/* Compare two MACs in hex without a data-dependent early exit. */
static int same_mac(const char *a, const char *b)
{
	unsigned char d = 0;

	for (int i = 0; i < MAC_HEX; i++)
		d |= (unsigned char)(a[i] ^ b[i]);
	return d == 0;
}

/* Check the first message's record against the key; remember what an
 * in-place update of it needs. */
void rec_verify(struct parse *out, const char *buf, off_t base, const struct hinfo *h)
{
	char hex[MAC_HEX + 1];

	free(out->recval);
	out->recval_len = h->rec_ve - h->rec_vo;
	out->recval = xstrndup(buf + h->rec_vo, out->recval_len);
	out->recval_base = (size_t)base + h->rec_vo;
	out->rec_mac = 0;
	out->auth_off = 0;
	out->auth_seen = 0;
	if (!h->auth || h->auth_ours > h->last)
		return;
	out->auth_seen = 1;
	out->rd_ours = h->auth_ours;
	if (!out->believe &&
	    (!out->key ||
	     rec_mac(out->key, buf + h->rec_vo, h->rec_ve - h->rec_vo, h->auth_ours, hex) < 0 ||
	     !same_mac(hex, h->auth_mac)))
		return;
	out->rec_mac = 1;
	out->ours = h->auth_ours;
	if (out->last_off && (off_t)((size_t)base + h->auth_off) + AUTH_BACK == (off_t)out->last_off)
		out->auth_off = (size_t)base + h->auth_off;
}

/* The user's key, created on first use; -1 and an all-zero key when the
 * user has no home that can hold one, or no HMAC can be computed (a kernel
 * without AF_ALG under SSLTYPE=none): see REC_NONE. */
int unix_user_key(struct mail_session *s, unsigned char key[UIDX_KEYLEN])
{
	if (uidx_secret(s ? fsafe_home(s) : -1, 1, key) > 0 && hmac_available())
		return 1;
	memset(key, 0, UIDX_KEYLEN);
	return -1;
}

/* Could an MTA have delivered path's first message? Spool files, yes. */
int unix_in_spool(const struct mail_session *s, const char *path)
{
	const char *slash = strrchr(path, '/');
	size_t n;

	if (!s || !s->spool_dir || !slash)
		return 1;
	n = strlen(s->spool_dir);
	while (n > 1 && s->spool_dir[n - 1] == '/')
		n--;
	return (size_t)(slash - path) == n && !strncmp(path, s->spool_dir, n);
}

/* Did the user's own index record this very folder record? */
static int index_vouches(struct mail_session *s, const char *path, const struct parse *p)
{
	struct uidx x;
	int ok = 0;

	if (s && uidx_load(fsafe_home(s), path, &x) == 0) {
		ok = x.h.have_rec && x.h.validity == p->validity && p->last_off &&
		     x.h.rec_off == (uint64_t)p->last_off && x.h.rec_last <= p->last;
		uidx_free(&x);
	}
	return ok;
}

/* Decide whether the parsed record is ours (see REC_NONE); a record that is
 * not is forgotten and its pseudo message becomes a message again.
 * keystate: what uidx_secret said. */
void rec_trust(struct parse *p, struct mail_session *s, const char *path,
	       int keystate)
{
	p->trust = REC_NONE;
	p->all_mine = !unix_in_spool(s, path);
	if (!p->have_rec) {
		p->ours = p->rd_ours = 0;
	} else if (p->rec_mac) {
		p->trust = REC_MAC;
	} else if (keystate < 0 || !unix_in_spool(s, path) || index_vouches(s, path, p)) {
		/* believed as a whole, including what its auth line (under
		 * another key, or none) says we quoted */
		p->trust = REC_LEGACY;
		p->ours = UINT32_MAX;
		p->rd_ours = p->auth_seen ? p->rd_ours : 0;
		p->all_mine = 1;
	} else {
		p->have_rec = 0;
		p->lost_validity = p->pseudo && p->pm_form ? p->validity : 0;
		p->validity = p->last = 0;
		p->last_off = p->auth_off = 0;
		p->ours = 0;
		/* the quoting it claims is kept for the messages' text alone: a
		 * sender reaches only messages carrying its own forged X-UID */
		p->rd_ours = p->pseudo && p->pm_form && p->auth_seen ? p->rd_ours : 0;
		if (p->pseudo && !p->pm_form) {
			p->pseudo = 0;
			if (p->n == p->cap) {
				p->cap = p->cap ? p->cap * 2 : 64;
				p->m = xrealloc(p->m, p->cap * sizeof *p->m);
			}
			memmove(p->m + 1, p->m, p->n * sizeof *p->m);
			p->m[0] = p->pm;
			p->pm.kw = KWSET_EMPTY;   /* moved */
			p->n++;
		}
	}
}

/* A hidden record nobody vouches for may still be the one clients cached
 * (the user's ~/.imapd-cache was deleted, or UW imapd wrote it): the new
 * UIDVALIDITY must be greater. Both writers take the time of day, so a
 * value far in the future was forged, and is not let near UINT32_MAX. */
#define VALIDITY_AHEAD ((uint32_t)1 << 24)

/* The floor for a new UIDVALIDITY: floor, raised above hidden when that is
 * a UIDVALIDITY someone may have seen. */
uint32_t rec_validity_floor(uint32_t floor, uint32_t hidden)
{
	uint64_t now = (uint64_t)time(NULL);

	if (hidden && (uint64_t)hidden <= now + VALIDITY_AHEAD && hidden < UINT32_MAX &&
	    hidden >= floor)
		return hidden + 1;
	return floor;
}

/* UIDVALIDITY of a parsed file: its record's, or a new one (taken: kept
 * in the user's counter) above the file's ctime and a hidden record's. */
uint32_t rec_validity(struct mail_session *s, const struct parse *p, time_t ctime, int take)
{
	if (p->have_rec)
		return p->validity;
	return mail_uidvalidity(s, rec_validity_floor((uint32_t)ctime, p->lost_validity), take);
}

/* Find our folder record's change counter: the first message must be the
 * pseudo message (X-IMAP) with a GEN_HDR line of ten digits. 1 found. */
int unix_gen_find(int fd, off_t *off, uint32_t *val)
{
	char b[8192];
	ssize_t r = pread(fd, b, sizeof b, 0);
	size_t n = r > 0 ? (size_t)r : 0, pos, glen = sizeof GEN_HDR - 1;
	int ximap = 0, found = 0;
	size_t lead = unix_mmdf_lead(b, n);

	if (n < lead + 5 || memcmp(b + lead, "From ", 5))
		return 0;
	for (pos = unix_line_end(b, lead, n); pos < n;) {
		size_t le = unix_line_end(b, pos, n);
		if (b[le - 1] != '\n' || le - pos <= 1 || (le - pos == 2 && b[pos] == '\r'))
			break;   /* end of header, or of what we read */
		if (unix_internal_hdr(b + pos, le - pos) == H_XIMAP)
			ximap = 1;
		if (le - pos >= glen + 12 && !strncasecmp(b + pos, GEN_HDR, glen) &&
		    b[pos + glen] == ' ') {
			size_t i = pos + glen + 1;
			int ok;
			uint32_t v = unix_parse_u32(b, &i, n, &ok);
			if (ok && i == pos + glen + 11) {
				*off = (off_t)(pos + glen + 1);
				*val = v;
				found = 1;
			}
		}
		pos = le;
	}
	return found && ximap;
}

/* Has the record's change counter moved since we remembered it? */
int unix_gen_moved(const struct ubox *ub, int fd)
{
	off_t off = 0;
	uint32_t v = 0;
	int found = unix_gen_find(fd, &off, &v);

	return found != (ub->gen_off != 0) || (found && (off != ub->gen_off || v != ub->gen));
}

/* Read and verify the authenticated record at the start of the file again
 * (an APPEND elsewhere may have moved it on in place). 1 valid: *ours and
 * *last are its values. */
int rec_reread(int fd, int ks, const unsigned char *key, uint32_t *ours, uint32_t *last)
{
	size_t cap = 65536, blank;
	char *b = xmalloc(cap);
	ssize_t r = pread(fd, b, cap, 0);
	size_t n = r > 0 ? (size_t)r : 0;
	struct hinfo h = { 0 };
	struct parse p = { .key = key, .believe = ks < 0 };
	int ok = 0;
	size_t lead = unix_mmdf_lead(b, n);

	if (n >= lead + 5 && !memcmp(b + lead, "From ", 5)) {
		hdr_scan(b, unix_line_end(b, lead, n), n, &h, NULL, &blank);
		if (blank && h.ximap && h.validity) {
			p.last_off = h.last_off;
			rec_verify(&p, b, 0, &h);
			ok = p.rec_mac;
			*ours = p.ours;
			*last = h.last;
		}
	}
	unix_parse_free(&p);
	free(b);
	return ok;
}

/* Can rec_bump update this record? Its auth line and X-IMAP value are
 * laid out as write_pseudo writes them. */
int rec_bumpable(const struct parse *p)
{
	return p->trust == REC_MAC && p->auth_off && p->last_off &&
	       p->last_off - p->recval_base == 11 && p->recval_len >= 21;
}

/* Move an authenticated record on in place after an append: uidlast and
 * ours become last, with a new MAC; one pwrite covers the auth line's
 * digits through uidlast's (see AUTH_BACK). 0 ok. */
int rec_bump(int fd, const struct parse *p, const unsigned char *key, uint32_t last)
{
	char digits[16], hex[MAC_HEX + 1], span[128];

	char *val = xstrndup(p->recval, p->recval_len);
	snprintf(digits, sizeof digits, "%010u", last);
	memcpy(val + 11, digits, 10);
	rec_mac(key, val, p->recval_len, last, hex);
	int n = snprintf(span, sizeof span, "%010u %s\nX-IMAP: %.21s", last, hex, val);
	free(val);
	if (n != (int)(AUTH_BACK + 10) ||
	    pwrite(fd, span, (size_t)n, (off_t)p->auth_off) != n)
		return -1;
	return 0;
}
