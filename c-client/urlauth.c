/* urlauth.c: URLAUTH's mailbox access keys (RFC 4467 section 7) and the
 * INTERNAL mechanism's tokens. The keys live in ~/.imapd-urlauth (0600,
 * reached through fsafe.h), one line per mailbox: "uidvalidity key name".
 * A key is bound to the UIDVALIDITY it was made under, so a mailbox
 * deleted and made again under the same name does not honour old URLs. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include "fsafe.h"
#include "imapurl.h"

#define KEYS_FILE ".imapd-urlauth"
#define KEYS_MAX (4 * 1024 * 1024)
#define KEY_BYTES 32

/* One parsed line: where it is in the file and what it says. */
struct keyline {
	const char *line;
	size_t len;               /* with its newline */
	unsigned long validity;
	char hex[2 * KEY_BYTES + 1];
	const char *name;
	size_t name_len;
};

/* Parse the line at p (up to end); 0, or -1 for a line we do not know
 * (kept as it is, never matched). *next gets the following line. */
static int key_line(const char *p, const char *end, struct keyline *k, const char **next)
{
	const char *nl = memchr(p, '\n', (size_t)(end - p));
	int used = 0;

	*next = nl ? nl + 1 : end;
	k->line = p;
	k->len = (size_t)(*next - p);
	/* exactly one space before the name: a name may start with one */
	if (!nl || sscanf(p, "%lu %64[0-9a-f]%n", &k->validity, k->hex, &used) != 2 || !used ||
	    strlen(k->hex) != 2 * KEY_BYTES || p + used >= nl || p[used] != ' ')
		return -1;
	k->name = p + used + 1;
	k->name_len = (size_t)(nl - k->name);
	return 0;
}

/* Is the line mailbox's (NULL: any mailbox's)? */
static int key_matches(const struct keyline *k, const char *mailbox)
{
	return !mailbox || (k->name_len == strlen(mailbox) && !memcmp(k->name, mailbox, k->name_len));
}

/* The file whole ("" when absent); -1 with err. */
static int keys_read(struct mail_session *s, struct buf *b, struct mail_err *err)
{
	char *data = NULL;
	size_t len = 0;
	int fd = fsafe_home(s), r;

	if (fd < 0) {
		mail_err_set(err, MAIL_FAIL, "No home directory for URLAUTH keys");
		return -1;
	}
	r = fsafe_read_own(fd, KEYS_FILE, KEYS_MAX, &data, &len, err);
	if (r < 0)
		return -1;
	if (r == 0)
		buf_append(b, data, len);
	free(data);
	return 0;
}

/* The file without the lines of mailbox (NULL: all), plus extra. */
static int keys_rewrite(struct mail_session *s, const struct buf *old, const char *mailbox,
			const char *extra, struct mail_err *err)
{
	struct buf b;
	struct keyline k;
	const char *p = old->data, *end = old->data + old->len, *next;
	int rc;

	buf_init(&b);
	for (; p && p < end; p = next)
		if (key_line(p, end, &k, &next) < 0 || !key_matches(&k, mailbox))
			buf_append(&b, k.line, k.len);
	if (extra)
		buf_puts(&b, extra);
	rc = fsafe_replace(fsafe_home(s), KEYS_FILE, b.data ? b.data : "", b.len, err);
	buf_free(&b);
	return rc;
}

/* The key of mailbox for uidvalidity in old into hex; 0 found, 1 not. */
static int key_find(const struct buf *old, const char *mailbox, uint32_t uidvalidity,
		    char hex[2 * KEY_BYTES + 1])
{
	struct keyline k;
	const char *p = old->data, *end = old->data + old->len, *next;

	for (; p && p < end; p = next)
		if (key_line(p, end, &k, &next) == 0 && key_matches(&k, mailbox) &&
		    k.validity == uidvalidity) {
			memcpy(hex, k.hex, sizeof k.hex);
			return 0;
		}
	return 1;
}

/* A new random key for mailbox, written to the file; 0 with hex, -1. */
static int key_create(struct mail_session *s, const struct buf *old, const char *mailbox,
		      uint32_t uidvalidity, char hex[2 * KEY_BYTES + 1], struct mail_err *err)
{
	unsigned char raw[KEY_BYTES];
	char line[64 + 2 * KEY_BYTES];
	struct buf extra;
	int rc;

	if (strchr(mailbox, '\n') || RAND_bytes(raw, sizeof raw) != 1) {
		mail_err_set(err, MAIL_FAIL, "Cannot make a URLAUTH key");
		return -1;
	}
	for (size_t i = 0; i < KEY_BYTES; i++)
		snprintf(hex + 2 * i, 3, "%02x", raw[i]);
	buf_init(&extra);
	snprintf(line, sizeof line, "%u %s ", uidvalidity, hex);
	buf_puts(&extra, line);
	buf_puts(&extra, mailbox);
	buf_putc(&extra, '\n');
	rc = keys_rewrite(s, old, mailbox, extra.data, err);
	buf_free(&extra);
	return rc;
}

/* HMAC-SHA1 of rump under the key (given in hex), in hex. */
static void token_of(const char *keyhex, const char *rump, size_t len, char out[URLAUTH_TOKEN_HEX])
{
	unsigned char key[KEY_BYTES], mac[EVP_MAX_MD_SIZE];
	unsigned maclen = 0;

	for (size_t i = 0; i < KEY_BYTES; i++) {
		unsigned v;
		sscanf(keyhex + 2 * i, "%2x", &v);
		key[i] = (unsigned char)v;
	}
	HMAC(EVP_sha1(), key, sizeof key, (const unsigned char *)rump, len, mac, &maclen);
	for (unsigned i = 0; i < URLAUTH_TOKEN_BYTES && i < maclen; i++)
		snprintf(out + 2 * i, 3, "%02x", mac[i]);
}

/* Take (on) or drop the keys file's lock, an flock on the home directory
 * around a read-modify-write, so two sessions making a key agree on one. */
static int keys_locked(struct mail_session *s, int on)
{
	int fd = fsafe_home(s);

	return fd < 0 ? -1 : flock(fd, on ? LOCK_EX : LOCK_UN);
}

/* See imapurl.h: found, or made under the lock when create. */
int urlauth_token(struct mail_session *s, const char *mailbox, uint32_t uidvalidity,
		  const char *rump, size_t len, int create, char hex[URLAUTH_TOKEN_HEX],
		  struct mail_err *err)
{
	char key[2 * KEY_BYTES + 1];
	struct buf old;
	int r;

	buf_init(&old);
	if (create)
		keys_locked(s, 1);
	r = keys_read(s, &old, err);
	if (r == 0)
		r = key_find(&old, mailbox, uidvalidity, key);
	if (r == 1 && create)
		r = key_create(s, &old, mailbox, uidvalidity, key, err);
	if (create)
		keys_locked(s, 0);
	buf_free(&old);
	if (r == 0)
		token_of(key, rump, len, hex);
	return r;
}

/* See imapurl.h: the file rewritten without those lines. */
int urlauth_reset(struct mail_session *s, const char *mailbox, struct mail_err *err)
{
	struct buf old;
	int r;

	buf_init(&old);
	keys_locked(s, 1);
	r = keys_read(s, &old, err);
	if (r == 0)
		r = keys_rewrite(s, &old, mailbox, NULL, err);
	keys_locked(s, 0);
	buf_free(&old);
	return r;
}
