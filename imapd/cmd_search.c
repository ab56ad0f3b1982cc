/* cmd_search.c: SEARCH and UID SEARCH (RFC 3501 6.4.4) with WITHIN's keys,
 * the ESEARCH answer (RFC 4731, PARTIAL of RFC 9394, also written for ESORT)
 * and the saved result "$" (RFC 5182). The criteria become a struct
 * search_key tree for the library; this file only knows the syntax. */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "imap_fmt.h"
#include "imapd.h"
#include "context.h"
#include "search_parse.h"
#include "objectid.h"

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
	{"SAVEDATESUPPORTED", SK_SAVEDATESUPPORTED, 0},   /* RFC 8514 */
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
	{"SAVEDBEFORE", SK_SAVEDBEFORE}, {"SAVEDON", SK_SAVEDON}, {"SAVEDSINCE", SK_SAVEDSINCE},
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
	if (op == SK_MSGNOS && !k->set.saved && s->p->uidonly)
		return p_fail(s->p, imap_uidrequired);   /* RFC 9586 3 */
	if (k->set.saved)
		k->op = SK_UIDS;   /* "$" is kept as UIDs, in SEARCH as in UID SEARCH */
	*out = k;
	return 0;
}

/* MODSEQ [entry-name entry-type-req] mod-sequence-valzer (RFC 7162
 * 3.1.5): the entry names one flag's modseq, which is the message's here. */
static int parse_modseq(struct sctx *s, struct search_key **out)
{
	struct search_key *k = key_new(s, SK_MODSEQ);
	char *entry, *type;

	*out = k;
	if (p_sp(s->p) < 0)
		return -1;
	if (p_peek(s->p, '"')) {
		if (p_string(s->p, &entry, NULL) < 0 || p_sp(s->p) < 0 || p_atom(s->p, &type) < 0 ||
		    p_sp(s->p) < 0)
			return -1;
		if (strncasecmp(entry, "/flags/", 7) ||
		    (strcasecmp(type, "priv") && strcasecmp(type, "shared") && strcasecmp(type, "all")))
			return p_fail(s->p, "MODSEQ: bad entry name or type");
	}
	if (p_number64(s->p, &k->size) < 0)
		return -1;
	return k->size > INT64_MAX ? p_fail(s->p, "MODSEQ: value too large") : 0;
}

/* EMAILID / THREADID objectid (RFC 8474 6). */
static int parse_objectid(struct sctx *s, const char *name, struct search_key **out)
{
	struct search_key *k = key_new(s, strcasecmp(name, "EMAILID") ? SK_THREADID : SK_EMAILID);

	*out = k;
	if (p_sp(s->p) < 0 || p_atom(s->p, &k->str) < 0)
		return -1;
	return mail_objectid_valid(k->str, strlen(k->str)) ? 0 : p_fail(s->p, "Not an objectid");
}

/* Keys with arguments that fit no table: strings, sizes, intervals, NOT,
 * OR, UID, MODSEQ. */
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
	if (!strcasecmp(name, "OLDER") || !strcasecmp(name, "YOUNGER")) {
		k = key_new(s, !strcasecmp(name, "OLDER") ? SK_OLDER : SK_YOUNGER);
		*out = k;
		return p_sp(s->p) < 0 ? -1 : p_nz_number(s->p, &k->seconds);
	}
	if (!strcasecmp(name, "UID"))
		return p_sp(s->p) < 0 ? -1 : parse_set_key(s, SK_UIDS, out);
	if (!strcasecmp(name, "MODSEQ"))
		return parse_modseq(s, out);
	if (!strcasecmp(name, "EMAILID") || !strcasecmp(name, "THREADID"))
		return parse_objectid(s, name, out);
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

/* RFC 9051 9 (search-key) drops the keys about \Recent. */
static int rev1_only_key(enum search_op op, uint32_t flags)
{
	return op == SK_NEW || op == SK_OLD || (op == SK_FLAGS && flags == MF_RECENT);
}

static int parse_named(struct sctx *s, struct search_key **out)
{
	char *name;
	size_t i;

	if (p_atom(s->p, &name) < 0)
		return p_fail(s->p, "Expected a search key");
	for (i = 0; i < ARRAY_SIZE(flag_keys); i++)
		if (!strcasecmp(name, flag_keys[i].name)) {
			if (s->p->rev2 && rev1_only_key(flag_keys[i].op, flag_keys[i].flags))
				return p_fail(s->p, "IMAP4rev2 has no RECENT, NEW or OLD search key");
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
	} else if (p_peek(s->p, '*') || p_peek(s->p, '$') || (*s->p->p >= '0' && *s->p->p <= '9')) {
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

/* ---------- RETURN options (RFC 4731, 5182, 9394) ---------- */

static const struct {
	const char *name;
	unsigned bit;
} return_opts[] = {
	{"MIN", RET_MIN},   {"MAX", RET_MAX},   {"ALL", RET_ALL},
	{"COUNT", RET_COUNT}, {"SAVE", RET_SAVE}, {"PARTIAL", RET_PARTIAL},
	{"UPDATE", RET_UPDATE}, {"CONTEXT", RET_CONTEXT},
};

/* SP partial-range: "a:b", or "-a:-b" counted from the last result. */
static int parse_partial(struct parser *p, struct search_return *ret)
{
	if (p_sp(p) < 0)
		return -1;
	ret->from_end = p_peek(p, '-');
	if ((ret->from_end && p_char(p, '-') < 0) || p_nz_number(p, &ret->first) < 0 ||
	    p_char(p, ':') < 0 || (ret->from_end && p_char(p, '-') < 0) ||
	    p_nz_number(p, &ret->last) < 0)
		return p_fail(p, "PARTIAL range must be first:last or -first:-last");
	return 0;
}

/* One search-return-opt (with PARTIAL's range) into ret. */
static int parse_return_opt(struct parser *p, struct search_return *ret)
{
	char *name;
	size_t i;

	if (p_atom(p, &name) < 0)
		return p_fail(p, "Expected a RETURN option");
	for (i = 0; i < ARRAY_SIZE(return_opts); i++)
		if (!strcasecmp(name, return_opts[i].name))
			break;
	if (i == ARRAY_SIZE(return_opts))
		return p_fail(p, "Unknown RETURN option");
	/* RFC 9394 3.1: one ALL, one PARTIAL, or neither */
	if ((return_opts[i].bit & (RET_ALL | RET_PARTIAL)) && (ret->opts & (RET_ALL | RET_PARTIAL)))
		return p_fail(p, "RETURN takes one ALL or one PARTIAL");
	ret->opts |= return_opts[i].bit;
	return return_opts[i].bit == RET_PARTIAL ? parse_partial(p, ret) : 0;
}

/* See search_parse.h. */
int imap_search_return_parse(struct parser *p, struct search_return *ret)
{
	const char *save = p->p;
	char *word;

	memset(ret, 0, sizeof *ret);
	if (p_atom(p, &word) < 0 || strcasecmp(word, "RETURN")) {
		p->p = save;
		p->error = NULL;
		return 0;
	}
	ret->given = 1;
	if (p_sp(p) < 0 || p_char(p, '(') < 0)
		return -1;
	for (size_t n = 0; !p_peek(p, ')'); n++)
		if ((n && p_sp(p) < 0) || parse_return_opt(p, ret) < 0)
			return -1;
	p->p++;
	/* RFC 4731 3.1: "RETURN ()" is "(ALL)"; so, here, are the RFC 5267
	 * options alone: a live result is one the client sees */
	if (!(ret->opts & ~(unsigned)(RET_UPDATE | RET_CONTEXT)))
		ret->opts |= RET_ALL;
	return p_sp(p);
}

/* ---------- the saved result (RFC 5182) ---------- */

/* See imapd.h. */
void imap_searchres_reset(struct client *c)
{
	free(c->searchres.r);
	memset(&c->searchres, 0, sizeof c->searchres);
}

/* qsort order of UIDs. */
static int uid_cmp(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

/* Replace "$" with the UIDs of these messages, as merged ranges. */
static void searchres_store(struct client *c, const uint32_t *msgnos, size_t n)
{
	uint32_t *uids = pool_alloc(c->pool, (n ? n : 1) * sizeof *uids);
	struct numrange *r = xcalloc(n ? n : 1, sizeof *r);
	size_t k = 0;

	for (size_t i = 0; i < n; i++)
		uids[i] = c->box->msgs[msgnos[i] - 1]->uid;
	qsort(uids, n, sizeof *uids, uid_cmp);   /* SORT hands them in its order */
	for (size_t i = 0; i < n; i++) {
		if (k && uids[i] == r[k - 1].hi + 1) {
			r[k - 1].hi = uids[i];
		} else {
			r[k].lo = r[k].hi = uids[i];
			k++;
		}
	}
	imap_searchres_reset(c);
	c->searchres.r = r;
	c->searchres.n = k;
}

/* Which slice [*from, *to) of n ordered results PARTIAL names. */
static void partial_slice(const struct search_return *ret, size_t n, size_t *from, size_t *to)
{
	uint64_t lo = ret->first < ret->last ? ret->first : ret->last;
	uint64_t hi = ret->first < ret->last ? ret->last : ret->first;

	*from = *to = 0;
	if (lo > n)
		return;
	if (hi > n)
		hi = n;
	*from = ret->from_end ? n - hi : lo - 1;
	*to = ret->from_end ? n - lo + 1 : hi;
}

/* The messages an answer stands for, as RFC 5182 2.1 (what SAVE keeps) and
 * RFC 4731 3.2 (whose MODSEQ is given) both count them: with MIN and/or MAX
 * but neither ALL nor COUNT only those, with PARTIAL its page, otherwise
 * all. Sets *set (msgnos, or ends) and returns how many. */
static size_t answer_set(const struct search_return *ret, const uint32_t *msgnos, size_t n,
			 uint32_t ends[2], const uint32_t **set)
{
	size_t from = 0, to = n, k = 0;

	if (ret->opts & RET_PARTIAL) {
		partial_slice(ret, n, &from, &to);
	} else if ((ret->opts & (RET_MIN | RET_MAX)) && !(ret->opts & (RET_ALL | RET_COUNT))) {
		if (n && (ret->opts & RET_MIN))
			ends[k++] = msgnos[0];
		if (n && (ret->opts & RET_MAX) && (!k || n > 1))
			ends[k++] = msgnos[n - 1];
		*set = ends;
		return k;
	}
	*set = msgnos + from;
	return to - from;
}

/* See search_parse.h. */
uint64_t imap_top_modseq(const struct mailbox *box, const uint32_t *set, size_t n)
{
	uint64_t max = 0;

	for (size_t i = 0; i < n; i++)
		if (box->msgs[set[i] - 1]->modseq > max)
			max = box->msgs[set[i] - 1]->modseq;
	return max;
}

/* ---------- answers ---------- */

/* " PARTIAL (range set)": the range as the client wrote it, then the page
 * of ids it names, or NIL (RFC 9394 3.1). */
static void put_partial(struct buf *out, const struct search_return *ret, const uint32_t *ids,
			size_t n)
{
	const char *sign = ret->from_end ? "-" : "";
	size_t from, to;

	partial_slice(ret, n, &from, &to);
	buf_printf(out, " PARTIAL (%s%u:%s%u ", sign, ret->first, sign, ret->last);
	if (from < to)
		imap_put_seqset(out, ids + from, to - from);
	else
		buf_puts(out, "NIL");
	buf_putc(out, ')');
}

/* See imapd.h: MIN MAX ALL PARTIAL COUNT MODSEQ, in that order, as Dovecot
 * writes them (RFC 4731's examples agree). */
void imap_esearch_reply(struct cmd *cmd, const struct search_return *ret, const uint32_t *msgnos,
			size_t n)
{
	struct mailbox *box = cmd->c->box;
	uint32_t *ids = pool_alloc(cmd->c->pool, (n ? n : 1) * sizeof *ids);
	struct buf out;

	uint32_t ends[2];
	const uint32_t *set;

	if (imap_context_reply(cmd, ret, msgnos, n))
		return;
	size_t nset = answer_set(ret, msgnos, n, ends, &set);
	uint64_t modseq = ret->modseq ? imap_top_modseq(box, set, nset) : 0;

	if (ret->opts & RET_SAVE)
		searchres_store(cmd->c, set, nset);
	if (ret->opts == RET_SAVE)
		return;   /* RFC 5182 2.1: SAVE alone answers nothing */
	for (size_t i = 0; i < n; i++)
		ids[i] = cmd->uid ? box->msgs[msgnos[i] - 1]->uid : msgnos[i];
	buf_init(&out);
	buf_puts(&out, "* ESEARCH (TAG ");
	imap_put_string(&out, cmd->tag, strlen(cmd->tag));
	buf_puts(&out, cmd->uid ? ") UID" : ")");
	if (n && (ret->opts & RET_MIN))
		buf_printf(&out, " MIN %u", ids[0]);
	if (n && (ret->opts & RET_MAX))
		buf_printf(&out, " MAX %u", ids[n - 1]);
	if (n && (ret->opts & RET_ALL)) {
		buf_puts(&out, " ALL ");
		imap_put_seqset(&out, ids, n);
	}
	if (ret->opts & RET_PARTIAL)
		put_partial(&out, ret, ids, n);
	if (ret->opts & RET_COUNT)
		buf_printf(&out, " COUNT %zu", n);
	if (modseq)
		buf_printf(&out, " MODSEQ %llu", (unsigned long long)modseq);
	buf_puts(&out, "\r\n");
	resp_write(cmd->c, out.data, out.len);
	buf_free(&out);
}

/* See search_parse.h. */
int imap_search_has_modseq(const struct search_key *k)
{
	for (; k; k = k->next)
		if (k->op == SK_MODSEQ || imap_search_has_modseq(k->kids))
			return 1;
	return 0;
}

/* "* SEARCH n n n" with message numbers or, for UID SEARCH, UIDs; with
 * MODSEQ in the keys, "(MODSEQ m)" the highest of them (RFC 7162 3.1.5). */
static void search_reply(struct cmd *cmd, const uint8_t *match, int modseq)
{
	struct mailbox *box = cmd->c->box;
	uint64_t top = 0;
	struct buf out;

	buf_init(&out);
	buf_puts(&out, "* SEARCH");
	for (uint32_t i = 0; i < box->nmsgs; i++) {
		if (!match[i])
			continue;
		buf_printf(&out, " %u", cmd->uid ? box->msgs[i]->uid : i + 1);
		if (box->msgs[i]->modseq > top)
			top = box->msgs[i]->modseq;
		if (out.len > 8192) {
			resp_write(cmd->c, out.data, out.len);
			buf_reset(&out);
		}
	}
	if (modseq && top)
		buf_printf(&out, " (MODSEQ %llu)", (unsigned long long)top);
	buf_puts(&out, "\r\n");
	resp_write(cmd->c, out.data, out.len);
	buf_free(&out);
}

/* The message numbers that matched, ascending. */
static size_t matched(struct cmd *cmd, const uint8_t *match, uint32_t **msgnos)
{
	uint32_t nmsgs = cmd->c->box->nmsgs;
	size_t n = 0;

	*msgnos = pool_alloc(cmd->c->pool, (nmsgs ? nmsgs : 1) * sizeof **msgnos);
	for (uint32_t i = 0; i < nmsgs; i++)
		if (match[i])
			(*msgnos)[n++] = i + 1;
	return n;
}

/* SEARCH / UID SEARCH [RETURN (...)] [CHARSET x] search-keys. */
void cmd_search(struct cmd *cmd)
{
	struct mailbox *box = cmd->c->box;
	struct search_return ret;
	struct search_key *key;
	struct mail_err err;
	uint8_t *match;
	uint32_t *msgnos;
	int rc;

	if (p_sp(&cmd->p) < 0 || imap_search_return_parse(&cmd->p, &ret) < 0)
		return resp_parse_error(cmd);
	if (imap_context_busy(cmd, &ret))
		return;
	rc = imap_search_parse(&cmd->p, box, &key);
	/* "$" in the keys is already copied; a failure from here on leaves it
	 * empty (RFC 5182 2.1), a success replaces it */
	if (ret.opts & RET_SAVE)
		imap_searchres_reset(cmd->c);
	if (rc == SEARCH_PARSE_BADCHARSET)
		return resp_no(cmd, "BADCHARSET (UTF-8 US-ASCII)", "SEARCH: unsupported charset");
	if (rc != SEARCH_PARSE_OK)
		return resp_parse_error(cmd);
	ret.modseq = imap_search_has_modseq(key);
	if (ret.modseq)
		imap_condstore_enable(cmd->c);
	match = pool_alloc(cmd->c->pool, box->nmsgs ? box->nmsgs : 1);
	memset(&err, 0, sizeof err);
	if (search_run(box, key, match, &err) < 0)
		return resp_mail_error(cmd, &err);
	if (!ret.given && cmd->p.rev2) {
		/* RFC 9051 6.4.4: rev2 has no SEARCH response; no RETURN is ALL */
		ret.given = 1;
		ret.opts = RET_ALL;
	}
	if (ret.given) {
		size_t n = matched(cmd, match, &msgnos);

		imap_esearch_reply(cmd, &ret, msgnos, n);
	} else {
		search_reply(cmd, match, ret.modseq);
	}
	resp_ok(cmd, NULL, "%sSEARCH completed", cmd->uid ? "UID " : "");
}
