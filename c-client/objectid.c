/* objectid.c: OBJECTID (RFC 8474) ids. The mailbox id file is a magic line,
 * then one record per mailbox: its id, a space, the name's length, a
 * newline, the name's octets and a newline (names are taken as given). */
#include <errno.h>
#include <openssl/sha.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#include "log.h"
#include "objectid.h"
#include "recfile.h"
#include "sort.h"
#include "thread.h"

#define MBOXID_MAGIC "imapd-mailboxids 1\n"
#define MBOXID_NAME_MAX 4096
#define MBOXID_FILE_MAX ((size_t)MAIL_MBOXID_MAX * (MAIL_OBJECTID_SIZE + MBOXID_NAME_MAX + 8))

/* Write a letter and the first 12 octets of digest d in hex into id. */
static void id_format(char id[MAIL_OBJECTID_SIZE], char letter, const unsigned char *d)
{
	static const char hex[] = "0123456789abcdef";

	id[0] = letter;
	for (int i = 0; i < 12; i++) {
		id[1 + 2 * i] = hex[d[i] >> 4];
		id[2 + 2 * i] = hex[d[i] & 15];
	}
	id[MAIL_OBJECTID_SIZE - 1] = '\0';
}

/* Is p[0..len) an id we make: the letter and 24 lowercase hex digits? */
static int id_valid(const char *p, size_t len, char letter)
{
	if (len != MAIL_OBJECTID_SIZE - 1 || p[0] != letter)
		return 0;
	for (size_t i = 1; i < len; i++)
		if (!strchr("0123456789abcdef", p[i]) || !p[i])
			return 0;
	return 1;
}

int mail_objectid_valid(const char *s, size_t len)
{
	if (len == 0 || len > 255)
		return 0;
	for (size_t i = 0; i < len; i++) {
		unsigned char ch = (unsigned char)s[i];
		if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
		      (ch >= '0' && ch <= '9') || ch == '_' || ch == '-'))
			return 0;
	}
	return 1;
}

void mail_mboxid_free(struct mail_mboxid_set *set)
{
	for (size_t i = 0; i < set->n; i++)
		free(set->v[i].name);
	free(set->v);
	set->v = NULL;
	set->n = 0;
}

/* Append id and a copy of name to set. */
static void mboxid_add(struct mail_mboxid_set *set, const char *id, const char *name,
		       size_t len)
{
	set->v = xrealloc(set->v, (set->n + 1) * sizeof *set->v);
	memcpy(set->v[set->n].id, id, MAIL_OBJECTID_SIZE - 1);
	set->v[set->n].id[MAIL_OBJECTID_SIZE - 1] = '\0';
	set->v[set->n++].name = xstrndup(name, len);
}

/* One record at *p; -1 when damaged. */
static int mboxid_record(const char **p, const char *end, void *set)
{
	const char *s = *p, *id = s;
	size_t n;

	if ((size_t)(end - s) < MAIL_OBJECTID_SIZE || !id_valid(s, MAIL_OBJECTID_SIZE - 1, 'F') ||
	    s[MAIL_OBJECTID_SIZE - 1] != ' ')
		return -1;
	s += MAIL_OBJECTID_SIZE;
	if (recfile_number(&s, end, '\n', MBOXID_NAME_MAX, &n) < 0 || n == 0 ||
	    (size_t)(end - s) < n + 1 || s[n] != '\n' || memchr(s, '\0', n))
		return -1;
	mboxid_add(set, id, s, n);
	*p = s + n + 1;
	return 0;
}

int mail_mboxid_parse(const char *data, size_t len, struct mail_mboxid_set *set)
{
	set->v = NULL;
	set->n = 0;
	if (recfile_records(data, len, MBOXID_MAGIC, MAIL_MBOXID_MAX, mboxid_record, set) < 0) {
		mail_mboxid_free(set);
		return -1;
	}
	return 0;
}

/* recfile's parse hook: mail_mboxid_parse. */
static int mboxid_parse_hook(const char *data, size_t len, void *set)
{
	return mail_mboxid_parse(data, len, set);
}

/* recfile's format hook: the set as the file's text. */
static void mboxid_format(const void *vset, struct buf *b)
{
	const struct mail_mboxid_set *set = vset;

	buf_puts(b, MBOXID_MAGIC);
	for (size_t i = 0; i < set->n; i++)
		buf_printf(b, "%s %zu\n%s\n", set->v[i].id, strlen(set->v[i].name), set->v[i].name);
}

/* recfile's free hook. */
static void mboxid_free_hook(void *set)
{
	mail_mboxid_free(set);
}

static const struct recfile mboxid_file = {
	MAIL_MBOXID_FILE, "mailbox ids", MBOXID_FILE_MAX, mboxid_parse_hook, mboxid_format,
	mboxid_free_hook,
};

/* The index of name's record in set, or set->n. */
static size_t mboxid_find(const struct mail_mboxid_set *set, const char *name)
{
	size_t i;

	for (i = 0; i < set->n; i++)
		if (!strcmp(set->v[i].name, name))
			break;
	return i;
}

/* A new random mailbox id; -1 with err when the kernel gives no entropy. */
static int mboxid_new(char id[MAIL_OBJECTID_SIZE], struct mail_err *err)
{
	unsigned char r[12];

	if (getrandom(r, sizeof r, 0) != (ssize_t)sizeof r) {
		mail_err_set(err, MAIL_FAIL, "no random bytes for a mailbox id: %s", strerror(errno));
		return -1;
	}
	id_format(id, 'F', r);
	return 0;
}

/* What mail_mailboxid asks for, and where its answer goes. */
struct mboxid_get {
	const char *name;
	char *id;
};

/* recfile_update's change for mail_mailboxid: 0 when the mailbox has an
 * id, 1 when one was added. */
static int mboxid_get_change(void *vset, void *ctx, struct mail_err *err)
{
	struct mail_mboxid_set *set = vset;
	const char *name = ((struct mboxid_get *)ctx)->name;
	char *id = ((struct mboxid_get *)ctx)->id;
	size_t i = mboxid_find(set, name);

	if (i < set->n) {
		memcpy(id, set->v[i].id, MAIL_OBJECTID_SIZE);
		return 0;
	}
	if (set->n == MAIL_MBOXID_MAX) {
		mail_err_set(err, MAIL_LIMIT, "no more than %d mailbox ids", MAIL_MBOXID_MAX);
		return -1;
	}
	if (mboxid_new(id, err) < 0)
		return -1;
	mboxid_add(set, id, name, strlen(name));
	return 1;
}

int mail_mailboxid(struct mail_session *s, const char *name, char id[MAIL_OBJECTID_SIZE], struct mail_err *err)
{
	struct mail_mboxid_set set = {0};
	struct mboxid_get get = {name, id};

	if (strlen(name) > MBOXID_NAME_MAX || !*name) {
		mail_err_set(err, MAIL_BADNAME, "mailbox name too long for an id");
		return -1;
	}
	return recfile_update(s, &mboxid_file, &set, mboxid_get_change, &get, err);
}

/* The tail of name after from when name is from or inside it ("from/..."),
 * else NULL. */
static const char *mboxid_under(const char *name, const char *from)
{
	size_t n = strlen(from);

	return !strncmp(name, from, n) && (name[n] == '\0' || name[n] == '/') ? name + n : NULL;
}

/* Drop (to NULL: from itself only, as DELETE leaves children) or rename
 * the records of from; whether any changed. */
static int mboxid_move(struct mail_mboxid_set *set, const char *from, const char *to)
{
	int changed = 0;

	for (size_t i = set->n; i-- > 0; ) {
		const char *tail = mboxid_under(set->v[i].name, from);
		if (!tail || (!to && *tail))
			continue;
		changed = 1;
		if (!to) {
			free(set->v[i].name);
			set->v[i] = set->v[--set->n];
			continue;
		}
		struct buf nb;
		buf_init(&nb);
		buf_printf(&nb, "%s%s", to, tail);
		free(set->v[i].name);
		set->v[i].name = buf_steal(&nb);
	}
	return changed;
}

/* recfile_update's change for mail_mailboxid_forget: ctx is {from, to}. */
static int mboxid_forget_change(void *set, void *ctx, struct mail_err *err)
{
	const char *const *ft = ctx;

	(void)err;
	/* a record left at the new name (a mailbox removed behind our back)
	 * must not shadow the moved one */
	int changed = ft[1] && mboxid_move(set, ft[1], NULL);
	return changed | mboxid_move(set, ft[0], ft[1]);
}

void mail_mailboxid_forget(struct mail_session *s, const char *from, const char *to)
{
	struct mail_mboxid_set set = {0};
	struct mail_err err;
	const char *ft[2] = {from, to};

	/* a user who never asked for an id gets no file */
	if (!from || !*from || !recfile_exists(s, &mboxid_file))
		return;
	if (recfile_update(s, &mboxid_file, &set, mboxid_forget_change, ft, &err) < 0)
		log_warn("mailbox ids of %s not %s: %s", from, to ? "renamed" : "removed", err.text);
}

int mail_emailid(struct mailbox *box, uint32_t msgno, char id[MAIL_OBJECTID_SIZE],
		 struct mail_err *err)
{
	unsigned char d[SHA256_DIGEST_LENGTH];
	const char *text;
	size_t len;

	if (mail_fetch_text(box, msgno, &text, &len, err) < 0)
		return -1;
	SHA256((const unsigned char *)text, len, d);
	id_format(id, 'M', d);
	return 0;
}

int mail_threadid(struct mailbox *box, uint32_t msgno, char id[MAIL_OBJECTID_SIZE],
		  struct mail_err *err)
{
	static const int order[] = {SF_REFERENCES, SF_IN_REPLY_TO, SF_MESSAGE_ID};
	unsigned char d[SHA256_DIGEST_LENGTH];
	struct pool *pool = pool_new();
	char *v[SF_COUNT];
	struct buf root;
	int rc = 1;

	buf_init(&root);
	if (sort_fields_get(box, msgno, 1u << SF_REFERENCES | 1u << SF_IN_REPLY_TO |
				 1u << SF_MESSAGE_ID, pool, v, err) < 0)
		rc = -1;
	for (size_t k = 0; rc == 1 && k < sizeof order / sizeof order[0]; k++) {
		size_t pos = 0;
		if (v[order[k]] && thread_msgid_next(v[order[k]], strlen(v[order[k]]), &pos, &root)) {
			SHA256((const unsigned char *)root.data, root.len, d);
			id_format(id, 'T', d);
			rc = 0;
		}
	}
	buf_free(&root);
	pool_free(pool);
	return rc;
}
