/* urlauth.c: URLAUTH's mailbox access keys (RFC 4467 section 7) and the
 * INTERNAL mechanism's tokens. The keys live in ~/.imapd-urlauth (0600,
 * reached through fsafe.h), one line per mailbox: "uidvalidity key name".
 * A key is bound to the UIDVALIDITY it was made under, so a mailbox
 * deleted and made again under the same name does not honour old URLs.
 * The file is read and rewritten through recfile.h. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include "imapurl.h"
#include "recfile.h"

#define KEYS_FILE ".imapd-urlauth"
#define KEYS_MAX (4 * 1024 * 1024)
#define KEY_BYTES (URLAUTH_KEY_HEX / 2)

/* One parsed line: where it is in the file and what it says. */
struct keyline {
	const char *line;
	size_t len;               /* with its newline */
	size_t validity;
	char hex[URLAUTH_KEY_HEX];
	const char *name;
	size_t name_len;
};

/* Parse the line at p (up to end); 0, or -1 for a line we do not know
 * (kept as it is, never matched). *next gets the following line. */
static int key_line(const char *p, const char *end, struct keyline *k, const char **next)
{
	const char *nl = memchr(p, '\n', (size_t)(end - p)), *s = p, *h;
	size_t v;

	*next = nl ? nl + 1 : end;
	k->line = p;
	k->len = (size_t)(*next - p);
	if (!nl || recfile_number(&s, nl, ' ', UINT32_MAX, &v) < 0)
		return -1;
	for (h = s; h < nl && h - s < 2 * KEY_BYTES && strchr("0123456789abcdef", *h) && *h; h++)
		;
	/* exactly one space before the name: a name may start with one */
	if (h - s != 2 * KEY_BYTES || h == nl || *h != ' ')
		return -1;
	memcpy(k->hex, s, 2 * KEY_BYTES);
	k->hex[2 * KEY_BYTES] = '\0';
	k->validity = v;
	k->name = h + 1;
	k->name_len = (size_t)(nl - k->name);
	return 0;
}

/* Is the line mailbox's (NULL: any mailbox's)? */
static int key_matches(const struct keyline *k, const char *mailbox)
{
	return !mailbox || (k->name_len == strlen(mailbox) && !memcmp(k->name, mailbox, k->name_len));
}

/* The file without the lines of mailbox (NULL: all), plus extra. */
static void keys_drop(struct buf *keys, const char *mailbox, const char *extra)
{
	struct buf b;
	struct keyline k;
	const char *p = keys->data, *end = keys->data + keys->len, *next;

	buf_init(&b);
	for (; p && p < end; p = next)
		if (key_line(p, end, &k, &next) < 0 || !key_matches(&k, mailbox))
			buf_append(&b, k.line, k.len);
	if (extra)
		buf_puts(&b, extra);
	buf_free(keys);
	*keys = b;
}

int urlauth_key_find(const char *data, size_t len, const char *mailbox, uint32_t uidvalidity,
		     char hex[URLAUTH_KEY_HEX])
{
	struct keyline k;
	const char *p = data, *end = data + len, *next;

	for (; p && p < end; p = next)
		if (key_line(p, end, &k, &next) == 0 && key_matches(&k, mailbox) &&
		    (!uidvalidity || k.validity == uidvalidity)) {
			memcpy(hex, k.hex, sizeof k.hex);
			return 0;
		}
	return 1;
}

/* A new random key for mailbox into hex, its line replacing the
 * mailbox's old ones in keys; 0, or -1 with err. */
static int key_create(struct buf *keys, const char *mailbox, uint32_t uidvalidity,
		      char hex[URLAUTH_KEY_HEX], struct mail_err *err)
{
	unsigned char raw[KEY_BYTES];
	char line[64 + 2 * KEY_BYTES];
	struct buf extra;

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
	keys_drop(keys, mailbox, extra.data);
	buf_free(&extra);
	return 0;
}

/* recfile's parse hook: the file is kept as its text (lines we do not
 * know stay as they are). */
static int keys_parse(const char *data, size_t len, void *keys)
{
	buf_append(keys, data, len);
	return 0;
}

/* recfile's format hook: the text back as it is. */
static void keys_format(const void *keys, struct buf *out)
{
	const struct buf *b = keys;

	if (b->len)
		buf_append(out, b->data, b->len);
}

/* recfile's free hook. */
static void keys_free(void *keys)
{
	buf_free(keys);
}

static const struct recfile keys_file = {
	KEYS_FILE, "URLAUTH keys", KEYS_MAX, keys_parse, keys_format, keys_free,
};

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

/* What urlauth_token looks for, and where the key goes. */
struct key_want {
	const char *mailbox;
	uint32_t uidvalidity;
	char *hex;
};

/* recfile_update's change for urlauth_token: 0 found, 1 made. */
static int key_get_change(void *keys, void *ctx, struct mail_err *err)
{
	const struct key_want *w = ctx;
	const struct buf *b = keys;

	if (urlauth_key_find(b->data, b->len, w->mailbox, w->uidvalidity, w->hex) == 0)
		return 0;
	return key_create(keys, w->mailbox, w->uidvalidity, w->hex, err) < 0 ? -1 : 1;
}

/* See imapurl.h: found, or made under the lock when create. */
int urlauth_token(struct mail_session *s, const char *mailbox, uint32_t uidvalidity,
		  const char *rump, size_t len, int create, char hex[URLAUTH_TOKEN_HEX],
		  struct mail_err *err)
{
	char key[URLAUTH_KEY_HEX];
	struct key_want w = {mailbox, uidvalidity, key};
	struct buf keys;
	int r;

	buf_init(&keys);
	if (create) {
		r = recfile_update(s, &keys_file, &keys, key_get_change, &w, err);
	} else {
		r = recfile_load(s, &keys_file, &keys, err);
		if (r == 0)
			r = urlauth_key_find(keys.data, keys.len, mailbox, uidvalidity, key);
		buf_free(&keys);
	}
	if (r == 0)
		token_of(key, rump, len, hex);
	return r;
}

/* recfile_update's change for urlauth_reset: ctx is the mailbox. */
static int key_reset_change(void *keys, void *ctx, struct mail_err *err)
{
	(void)err;
	keys_drop(keys, ctx, NULL);
	return 1;
}

/* See imapurl.h: the file rewritten without those lines. */
int urlauth_reset(struct mail_session *s, const char *mailbox, struct mail_err *err)
{
	struct buf keys;

	buf_init(&keys);
	return recfile_update(s, &keys_file, &keys, key_reset_change, (void *)mailbox, err);
}
