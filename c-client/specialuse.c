/* specialuse.c: SPECIAL-USE and CREATE-SPECIAL-USE (RFC 6154). The
 * configuration names folders (special_use_sent = Sent ...); a user's
 * CREATE name (USE (\Sent)) adds uses kept in ~/.mailbox-uses, one
 * "attribute TAB name" a line, beside "made TAB name" for the folders
 * special_use_create made once. Where both speak, the configuration wins. */
#include "specialuse.h"
#include "config.h"
#include "fsafe.h"
#include "log.h"
#include "mutf7.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define USES_FILE ".mailbox-uses"
#define USES_MAX (256 * 1024)
#define USE_MADE 0   /* the bit of a "made" line */

/* In the order of the LA_ bits, LA_ARCHIVE first. */
static const char *const use_attrs[MAIL_SPECIAL_N] = {
	"\\Archive", "\\Drafts", "\\Junk", "\\Sent", "\\Trash",
};

struct use_ent {
	char *name;
	int bit;
};

struct mail_uses {
	struct use_ent *v;
	size_t n;
};

int mail_special_bit(const char *attr)
{
	for (int i = 0; i < MAIL_SPECIAL_N; i++)
		if (!strcasecmp(attr, use_attrs[i]))
			return LA_ARCHIVE << i;
	return 0;
}

const char *mail_special_attr(int bit)
{
	for (int i = 0; i < MAIL_SPECIAL_N; i++)
		if (bit == LA_ARCHIVE << i)
			return use_attrs[i];
	return NULL;
}

void mail_special_setup(struct mail_session *s, const struct config *cfg)
{
	for (int i = 0; i < MAIL_SPECIAL_N; i++) {
		const char *v = cfg->special_use[i];
		size_t n = v ? strlen(v) : 0;
		/* an administrator writes "Entwürfe": kept as IMAP names are */
		char *u7 = n && !mutf7_valid(v, n) ? mutf7_from_utf8(v, n) : NULL;
		s->special_cfg[i] = u7 ? u7 : n ? xstrdup(v) : NULL;
	}
	s->special_create = cfg->special_use_create;
}

void mail_special_free(struct mail_session *s)
{
	for (int i = 0; i < MAIL_SPECIAL_N; i++) {
		free(s->special_cfg[i]);
		s->special_cfg[i] = NULL;
	}
}

/* Mailbox names compare exactly, but INBOX in any case. */
static int same_box(const char *a, const char *b)
{
	return !strcasecmp(a, "INBOX") ? !strcasecmp(b, "INBOX") : !strcmp(a, b);
}

/* The configured bits of name, 0 when the configuration says nothing. */
static int config_bits(const struct mail_session *s, const char *name)
{
	int bits = 0;

	for (int i = 0; i < MAIL_SPECIAL_N; i++)
		if (s->special_cfg[i] && same_box(s->special_cfg[i], name))
			bits |= LA_ARCHIVE << i;
	return bits;
}

/* Append one line's meaning: name (len bytes) with a use, or made. */
static void uses_add(struct mail_uses *u, const char *name, size_t len, int bit)
{
	u->v = xrealloc(u->v, (u->n + 1) * sizeof *u->v);
	u->v[u->n].name = xstrndup(name, len);
	u->v[u->n++].bit = bit;
}

/* Parse the file's lines; a line we cannot read is dropped. */
static void uses_parse(struct mail_uses *u, const char *data, size_t len)
{
	for (size_t at = 0; at < len;) {
		const char *nl = memchr(data + at, '\n', len - at);
		size_t end = nl ? (size_t)(nl - data) : len;
		const char *tab = memchr(data + at, '\t', end - at);
		if (tab && tab + 1 < data + end && !memchr(data + at, '\0', end - at)) {
			char *attr = xstrndup(data + at, (size_t)(tab - data - at));
			int bit = !strcmp(attr, "made") ? USE_MADE : mail_special_bit(attr);
			if (bit || !strcmp(attr, "made"))
				uses_add(u, tab + 1, (size_t)(data + end - tab - 1), bit);
			free(attr);
		}
		at = end + 1;
	}
}

/* The user's file: 0 (absent: empty), -1 refused (not a file of ours). */
static int uses_read(struct mail_session *s, struct mail_uses *u, struct mail_err *err)
{
	char *data;
	size_t len;

	memset(u, 0, sizeof *u);
	if (fsafe_home(s) < 0)
		return 0;
	int r = fsafe_read_own(s->home_fd, USES_FILE, USES_MAX, &data, &len, err);
	if (r != 0)
		return r < 0 ? -1 : 0;
	uses_parse(u, data, len);
	free(data);
	return 0;
}

/* Rewrite it whole (temp file, fsync, rename: never through a link). */
static int uses_write(struct mail_session *s, const struct mail_uses *u, struct mail_err *err)
{
	struct buf b;
	int rc;

	if (fsafe_home(s) < 0) {
		mail_err_set(err, MAIL_FAIL, "no home directory to keep special uses in");
		return -1;
	}
	buf_init(&b);
	for (size_t i = 0; i < u->n; i++)
		if (u->v[i].name)
			buf_printf(&b, "%s\t%s\n", u->v[i].bit ? mail_special_attr(u->v[i].bit) : "made",
				   u->v[i].name);
	rc = fsafe_replace(s->home_fd, USES_FILE, b.data ? b.data : "", b.len, err);
	buf_free(&b);
	return rc;
}

/* Free what uses_read loaded. */
static void uses_clear(struct mail_uses *u)
{
	for (size_t i = 0; i < u->n; i++)
		free(u->v[i].name);
	free(u->v);
	memset(u, 0, sizeof *u);
}

struct mail_uses *mail_uses_load(struct mail_session *s)
{
	struct mail_uses *u = xcalloc(1, sizeof *u);
	struct mail_err err;

	if (uses_read(s, u, &err) < 0)
		log_warn("special uses of user=%s ignored: %s", s->user, err.text);
	return u;
}

void mail_uses_free(struct mail_uses *u)
{
	if (!u)
		return;
	uses_clear(u);
	free(u);
}

/* Every configured use, as bits. */
static int config_all(const struct mail_session *s)
{
	int bits = 0;

	for (int i = 0; i < MAIL_SPECIAL_N; i++)
		if (s->special_cfg[i])
			bits |= LA_ARCHIVE << i;
	return bits;
}

int mail_uses_of(const struct mail_session *s, const struct mail_uses *u, const char *name)
{
	int bits = config_bits(s, name), taken = config_all(s);

	if (bits || !u)
		return bits;
	for (size_t i = 0; i < u->n; i++)
		if (u->v[i].bit && u->v[i].name && same_box(u->v[i].name, name))
			bits |= u->v[i].bit;
	return bits & ~taken;
}

/* Can name be given bits? The configuration decides what it names. */
static int uses_allowed(const struct mail_session *s, const char *name, int bits,
			struct mail_err *err)
{
	int mine = config_bits(s, name), taken = config_all(s);

	if (bits & ~LA_SPECIAL) {
		mail_err_set(err, MAIL_USEATTR, "unknown special use");
	} else if (mine && (bits & ~mine)) {
		mail_err_set(err, MAIL_USEATTR, "%s has its special use from the configuration", name);
	} else if (bits & taken & ~mine) {
		mail_err_set(err, MAIL_USEATTR, "that special use belongs to another folder here");
	} else if (strpbrk(name, "\t\r\n")) {
		mail_err_set(err, MAIL_USEATTR, "a special use cannot be kept for this name");
	} else {
		return 0;
	}
	return -1;
}

int mail_create_special(struct mail_session *s, const char *name, int bits,
			struct mail_err *err)
{
	struct mail_uses u;
	struct mail_err ignore;

	if (uses_allowed(s, name, bits, err) < 0 || uses_read(s, &u, err) < 0)
		return -1;
	int rc = mail_create(s, name, err);
	bits &= ~config_bits(s, name);
	if (rc == 0 && bits) {
		/* what an earlier mailbox of this name left is replaced */
		for (size_t i = 0; i < u.n; i++)
			if (u.v[i].bit && same_box(u.v[i].name, name)) {
				free(u.v[i].name);
				u.v[i].name = NULL;
			}
		for (int i = 0; i < MAIL_SPECIAL_N; i++)
			if (bits & (LA_ARCHIVE << i))
				uses_add(&u, name, strlen(name), LA_ARCHIVE << i);
		if ((rc = uses_write(s, &u, err)) < 0)
			mail_delete(s, name, &ignore);
	}
	uses_clear(&u);
	return rc;
}

/* Does name stand for from or one of its children? The tail after from. */
static const char *under(const char *name, const char *from)
{
	size_t n = strlen(from);

	if (same_box(name, from))
		return name + strlen(name);
	return !strncmp(name, from, n) && name[n] == '/' ? name + n : NULL;
}

void mail_special_forget(struct mail_session *s, const char *from, const char *to)
{
	struct mail_uses u;
	struct mail_err err;
	int changed = 0;

	if (!from || uses_read(s, &u, &err) < 0)
		return;
	for (size_t i = 0; i < u.n; i++) {
		const char *tail = u.v[i].bit ? under(u.v[i].name, from) : NULL;
		if (!tail)
			continue;
		char *moved = NULL;
		if (to) {
			moved = xmalloc(strlen(to) + strlen(tail) + 1);
			strcpy(moved, to);
			strcat(moved, tail);
		}
		free(u.v[i].name);
		u.v[i].name = moved;
		changed = 1;
	}
	if (changed && uses_write(s, &u, &err) < 0)
		log_warn("special uses of user=%s not updated: %s", s->user, err.text);
	uses_clear(&u);
}

/* Was name made at a login before? */
static int was_made(const struct mail_uses *u, const char *name)
{
	for (size_t i = 0; i < u->n; i++)
		if (u->v[i].bit == USE_MADE && u->v[i].name && same_box(u->v[i].name, name))
			return 1;
	return 0;
}

void mail_special_create(struct mail_session *s)
{
	struct mail_uses u;
	struct mail_err err;
	int changed = 0;

	if (!s->special_create || !config_all(s))
		return;
	if (uses_read(s, &u, &err) < 0) {
		log_warn("special-use folders of user=%s not made: %s", s->user, err.text);
		return;
	}
	for (int i = 0; i < MAIL_SPECIAL_N; i++) {
		const char *name = s->special_cfg[i];
		if (!name || was_made(&u, name))
			continue;
		if (mail_create(s, name, &err) < 0 && err.code != MAIL_EXISTS) {
			log_warn("special-use folder %s of user=%s not made: %s", name, s->user,
				 err.text);
			continue;
		}
		mail_subscribe(s, name, 1, &err);
		uses_add(&u, name, strlen(name), USE_MADE);
		changed = 1;
	}
	if (changed && uses_write(s, &u, &err) < 0)
		log_warn("special-use folders of user=%s: %s", s->user, err.text);
	uses_clear(&u);
}
