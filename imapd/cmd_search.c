/* cmd_search.c: SEARCH and UID SEARCH (RFC 3501 6.4.4). The criteria become a
 * struct search_key tree for the library's search engine; this file only
 * knows the syntax, never how a message is matched. */
#include <string.h>
#include <strings.h>

#include "imapd.h"
#include "search_parse.h"

struct sctx {
	struct parser *p;
	struct mailbox *box;
	int depth;
};

static const struct {
	const char *name;
	enum search_op op;
	uint32_t flags;
} flag_keys[] = {
	{"ALL", SK_ALL, 0},
	{"ANSWERED", SK_FLAGS, MF_ANSWERED},
	{"DELETED", SK_FLAGS, MF_DELETED},
	{"DRAFT", SK_FLAGS, MF_DRAFT},
	{"FLAGGED", SK_FLAGS, MF_FLAGGED},
	{"NEW", SK_NEW, 0},
	{"OLD", SK_OLD, 0},
	{"RECENT", SK_FLAGS, MF_RECENT},
	{"SEEN", SK_FLAGS, MF_SEEN},
	{"UNANSWERED", SK_UNFLAGS, MF_ANSWERED},
	{"UNDELETED", SK_UNFLAGS, MF_DELETED},
	{"UNDRAFT", SK_UNFLAGS, MF_DRAFT},
	{"UNFLAGGED", SK_UNFLAGS, MF_FLAGGED},
	{"UNSEEN", SK_UNFLAGS, MF_SEEN},
};

static const struct {
	const char *name;
	enum search_op op;
} date_keys[] = {
	{"BEFORE", SK_BEFORE},         {"ON", SK_ON},         {"SINCE", SK_SINCE},
	{"SENTBEFORE", SK_SENTBEFORE}, {"SENTON", SK_SENTON}, {"SENTSINCE", SK_SENTSINCE},
};

/* Address and subject keys are header searches on a fixed field. */
static const struct {
	const char *name;
	const char *field;
} header_keys[] = {
	{"FROM", "From"}, {"TO", "To"}, {"CC", "Cc"}, {"BCC", "Bcc"}, {"SUBJECT", "Subject"},
};

static int parse_key(struct sctx *s, struct search_key **out);

static struct search_key *key_new(struct sctx *s, enum search_op op)
{
	struct search_key *k = pool_alloc(s->p->pool, sizeof *k);

	k->op = op;
	k->keyword = -1;
	return k;
}

/* SP astring, kept as a NUL-terminated copy in the pool. */
static int arg_string(struct sctx *s, char **out)
{
	if (p_sp(s->p) < 0)
		return -1;
	return p_astring(s->p, out, NULL);
}

/* Keys separated by single spaces until ')' (in a list) or the end. */
static int parse_keys(struct sctx *s, int in_paren, struct search_key **out)
{
	struct search_key *first = NULL, **tail = &first, *k;
	size_t n = 0;

	for (;;) {
		if (n && p_sp(s->p) < 0)
			return -1;
		if (parse_key(s, &k) < 0)
			return -1;
		*tail = k;
		tail = &k->next;
		n++;
		if (in_paren ? p_peek(s->p, ')') : p_at_end(s->p))
			break;
	}
	if (n == 1) {
		*out = first;
		return 0;
	}
	*out = key_new(s, SK_AND);
	(*out)->kids = first;
	return 0;
}

static int parse_keyword(struct sctx *s, int negate, struct search_key **out)
{
	char *name;
	int k;

	if (p_sp(s->p) < 0 || p_atom(s->p, &name) < 0)
		return -1;
	k = s->box ? mail_keyword(s->box, name, 0) : -1;
	if (k < 0 && negate) {
		/* no message can carry a keyword the mailbox has never seen */
		*out = key_new(s, SK_ALL);
		return 0;
	}
	*out = key_new(s, negate ? SK_UNFLAGS : SK_FLAGS);
	(*out)->keyword = k < 0 ? -2 : k;
	return 0;
}

static int parse_date_key(struct sctx *s, enum search_op op, struct search_key **out)
{
	struct search_key *k = key_new(s, op);

	if (p_sp(s->p) < 0 || p_date(s->p, &k->year, &k->month, &k->day) < 0)
		return -1;
	k->date = p_days_to_time(k->year, k->month, k->day);
	*out = k;
	return 0;
}

static int parse_set_key(struct sctx *s, enum search_op op, struct search_key **out)
{
	struct search_key *k = key_new(s, op);

	if (p_seqset(s->p, &k->set) < 0)
		return -1;
	*out = k;
	return 0;
}

/* Keys with arguments that fit no table: strings, sizes, NOT, OR, UID. */
static int parse_special(struct sctx *s, const char *name, struct search_key **out)
{
	struct search_key *k;

	if (!strcasecmp(name, "BODY") || !strcasecmp(name, "TEXT")) {
		k = key_new(s, !strcasecmp(name, "BODY") ? SK_BODY : SK_TEXT);
		*out = k;
		return arg_string(s, &k->str);
	}
	if (!strcasecmp(name, "HEADER")) {
		k = key_new(s, SK_HEADER);
		*out = k;
		if (arg_string(s, &k->field) < 0 || arg_string(s, &k->str) < 0)
			return -1;
		return 0;
	}
	if (!strcasecmp(name, "KEYWORD") || !strcasecmp(name, "UNKEYWORD"))
		return parse_keyword(s, name[0] == 'U' || name[0] == 'u', out);
	if (!strcasecmp(name, "LARGER") || !strcasecmp(name, "SMALLER")) {
		k = key_new(s, !strcasecmp(name, "LARGER") ? SK_LARGER : SK_SMALLER);
		*out = k;
		return p_sp(s->p) < 0 ? -1 : p_number64(s->p, &k->size);
	}
	if (!strcasecmp(name, "UID"))
		return p_sp(s->p) < 0 ? -1 : parse_set_key(s, SK_UIDS, out);
	if (!strcasecmp(name, "NOT")) {
		k = key_new(s, SK_NOT);
		*out = k;
		return p_sp(s->p) < 0 ? -1 : parse_key(s, &k->kids);
	}
	if (!strcasecmp(name, "OR")) {
		k = key_new(s, SK_OR);
		*out = k;
		if (p_sp(s->p) < 0 || parse_key(s, &k->kids) < 0)
			return p_fail(s->p, "OR needs two search keys");
		if (p_sp(s->p) < 0 || parse_key(s, &k->kids->next) < 0)
			return p_fail(s->p, "OR needs two search keys");
		return 0;
	}
	return p_fail(s->p, "Unknown search key");
}

static int parse_named(struct sctx *s, struct search_key **out)
{
	char *name;
	size_t i;

	if (p_atom(s->p, &name) < 0)
		return p_fail(s->p, "Expected a search key");
	for (i = 0; i < ARRAY_SIZE(flag_keys); i++)
		if (!strcasecmp(name, flag_keys[i].name)) {
			*out = key_new(s, flag_keys[i].op);
			(*out)->flags = flag_keys[i].flags;
			return 0;
		}
	for (i = 0; i < ARRAY_SIZE(date_keys); i++)
		if (!strcasecmp(name, date_keys[i].name))
			return parse_date_key(s, date_keys[i].op, out);
	for (i = 0; i < ARRAY_SIZE(header_keys); i++)
		if (!strcasecmp(name, header_keys[i].name)) {
			*out = key_new(s, SK_HEADER);
			(*out)->field = pool_strdup(s->p->pool, header_keys[i].field);
			(*out)->address = strcasecmp(name, "SUBJECT") != 0;
			return arg_string(s, &(*out)->str);
		}
	return parse_special(s, name, out);
}

static int parse_key(struct sctx *s, struct search_key **out)
{
	int rc;

	*out = NULL;
	if (++s->depth > SEARCH_MAX_DEPTH)
		return p_fail(s->p, "Search keys nested too deeply");
	if (p_peek(s->p, '(')) {
		s->p->p++;
		if (p_peek(s->p, ')'))
			rc = p_fail(s->p, "Empty parenthesised search key list");
		else
			rc = parse_keys(s, 1, out) < 0 ? -1 : p_char(s->p, ')');
	} else if (p_at_end(s->p)) {
		rc = p_fail(s->p, "Missing search key");
	} else if (p_peek(s->p, '*') || (*s->p->p >= '0' && *s->p->p <= '9')) {
		rc = parse_set_key(s, SK_MSGNOS, out);
	} else {
		rc = parse_named(s, out);
	}
	s->depth--;
	return rc;
}

int imap_charset_ok(const char *charset)
{
	return !strcasecmp(charset, "UTF-8") || !strcasecmp(charset, "US-ASCII");
}

/* "CHARSET" SP astring SP: only charsets whose text we search as is. */
static int parse_charset(struct parser *p)
{
	const char *save = p->p;
	char *word, *cs;

	if (p_atom(p, &word) < 0 || strcasecmp(word, "CHARSET")) {
		p->p = save;
		p->error = NULL;
		return SEARCH_PARSE_OK;
	}
	if (p_sp(p) < 0 || p_astring(p, &cs, NULL) < 0 || p_sp(p) < 0)
		return SEARCH_PARSE_BAD;
	if (!imap_charset_ok(cs))
		return SEARCH_PARSE_BADCHARSET;
	return SEARCH_PARSE_OK;
}

int imap_search_parse(struct parser *p, struct mailbox *box, struct search_key **out)
{
	struct sctx s = {p, box, 0};
	int rc;

	*out = NULL;
	if ((rc = parse_charset(p)) != SEARCH_PARSE_OK)
		return rc;
	if (p_at_end(p)) {
		p_fail(p, "Missing search key");
		return SEARCH_PARSE_BAD;
	}
	if (parse_keys(&s, 0, out) < 0) {
		*out = NULL;
		return SEARCH_PARSE_BAD;
	}
	return SEARCH_PARSE_OK;
}

/* "* SEARCH n n n" with message numbers or, for UID SEARCH, UIDs. */
static void search_reply(struct cmd *cmd, const uint8_t *match)
{
	struct mailbox *box = cmd->c->box;
	struct buf out;

	buf_init(&out);
	buf_puts(&out, "* SEARCH");
	for (uint32_t i = 0; i < box->nmsgs; i++) {
		if (!match[i])
			continue;
		buf_printf(&out, " %u", cmd->uid ? box->msgs[i]->uid : i + 1);
		if (out.len > 8192) {
			resp_write(cmd->c, out.data, out.len);
			buf_reset(&out);
		}
	}
	buf_puts(&out, "\r\n");
	resp_write(cmd->c, out.data, out.len);
	buf_free(&out);
}

void cmd_search(struct cmd *cmd)
{
	struct mailbox *box = cmd->c->box;
	struct search_key *key;
	struct mail_err err;
	uint8_t *match;
	int rc;

	if (p_sp(&cmd->p) < 0)
		return resp_parse_error(cmd);
	rc = imap_search_parse(&cmd->p, box, &key);
	if (rc == SEARCH_PARSE_BADCHARSET)
		return resp_no(cmd, "BADCHARSET (UTF-8 US-ASCII)", "SEARCH: unsupported charset");
	if (rc != SEARCH_PARSE_OK)
		return resp_parse_error(cmd);
	match = pool_alloc(cmd->c->pool, box->nmsgs ? box->nmsgs : 1);
	memset(&err, 0, sizeof err);
	if (search_run(box, key, match, &err) < 0)
		return resp_mail_error(cmd, &err);
	search_reply(cmd, match);
	resp_ok(cmd, NULL, "%sSEARCH completed", cmd->uid ? "UID " : "");
}
