/* cmd_fetch.c: FETCH and UID FETCH (RFC 3501 6.4.5, 7.4.2). The attribute
 * list is parsed once into a list of fetch_att; then each message is
 * formatted into one reusable buffer and written before the next, so memory
 * stays bounded by the largest message, not by the mailbox. */
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "imap_fmt.h"
#include "imap_resp.h"
#include "imapd.h"
#include "objectid.h"
#include "imap_url.h"

enum fa_kind {
	FA_ENVELOPE,
	FA_FLAGS,
	FA_INTERNALDATE,
	FA_SIZE,
	FA_UID,
	FA_BODY,            /* BODY without a section: non-extensible structure */
	FA_BODYSTRUCTURE,
	FA_MODSEQ,          /* RFC 7162 */
	FA_SAVEDATE,        /* RFC 8514 */
	FA_EMAILID,         /* RFC 8474 */
	FA_THREADID,
	/* from here on the message text is needed */
	FA_SECTION,         /* BODY[...], BODY.PEEK[...], RFC822, RFC822.HEADER/TEXT */
	FA_BINARY,          /* BINARY[...], BINARY.PEEK[...] (RFC 3516): decoded */
	FA_BINARY_SIZE,     /* BINARY.SIZE[...]: the decoded size */
	FA_PREVIEW,         /* PREVIEW [(LAZY)] (RFC 8970) */
};

struct fetch_att {
	enum fa_kind kind;
	const char *label;   /* FA_SECTION: response item name, e.g. "BODY[1.TEXT]" */
	struct section sec;
	int peek;
	int partial;
	uint32_t origin, count;
	struct fetch_att *next;
};

struct fetch_req {
	struct fetch_att *atts, **tail;
	int has_flags, has_uid;
	int need_structure;
	int need_envelope;        /* alone, it is parsed from the header */
	int sets_seen;       /* some section is fetched without PEEK */
	int has_modseq;
	int has_savedate;
	struct fetch_mods mods;   /* (CHANGEDSINCE n VANISHED) */
};

static struct fetch_att *att_add(struct cmd *cmd, struct fetch_req *req, enum fa_kind kind)
{
	struct fetch_att *a = pool_alloc(cmd->c->pool, sizeof *a);

	a->kind = kind;
	*req->tail = a;
	req->tail = &a->next;
	if (kind == FA_FLAGS)
		req->has_flags = 1;
	if (kind == FA_UID)
		req->has_uid = 1;
	if (kind == FA_BODY || kind == FA_BODYSTRUCTURE)
		req->need_structure = 1;
	if (kind == FA_ENVELOPE)
		req->need_envelope = 1;
	if (kind == FA_MODSEQ)
		req->has_modseq = 1;
	if (kind == FA_SAVEDATE)
		req->has_savedate = 1;
	return a;
}

static void add_section(struct cmd *cmd, struct fetch_req *req, const char *label,
			enum section_kind kind, int peek)
{
	struct fetch_att *a = att_add(cmd, req, FA_SECTION);

	a->label = label;
	a->sec.kind = kind;
	a->peek = peek;
	if (!peek)
		req->sets_seen = 1;
}

/* header-list = "(" astring *(SP astring) ")", echoed into label. */
static int parse_header_list(struct parser *p, struct section *sec, struct buf *label)
{
	size_t cap = 8;
	char *name;

	if (p_sp(p) < 0 || p_char(p, '(') < 0)
		return p_fail(p, "HEADER.FIELDS needs a list of field names");
	sec->fields = pool_alloc(p->pool, cap * sizeof *sec->fields);
	buf_puts(label, " (");
	do {
		if (sec->nfields && p_sp(p) < 0)
			return -1;
		if (p_astring(p, &name, NULL) < 0)
			return -1;
		if ((size_t)sec->nfields + 1 >= cap) {
			char **n = pool_alloc(p->pool, cap * 2 * sizeof *n);
			memcpy(n, sec->fields, cap * sizeof *n);
			sec->fields = n;
			cap *= 2;
		}
		sec->fields[sec->nfields++] = name;
		if (sec->nfields > 1)
			buf_putc(label, ' ');
		imap_put_astring(label, name);
	} while (!p_peek(p, ')'));
	p->p++;
	buf_putc(label, ')');
	return 0;
}

static const struct {
	const char *name;
	enum section_kind kind;
} section_texts[] = {
	{"HEADER", SECT_HEADER},
	{"HEADER.FIELDS", SECT_HEADER_FIELDS},
	{"HEADER.FIELDS.NOT", SECT_HEADER_FIELDS_NOT},
	{"TEXT", SECT_TEXT},
	{"MIME", SECT_MIME},
};

/* The text after the part numbers: HEADER, HEADER.FIELDS[.NOT] (...), TEXT,
 * MIME (only after a part number). Echoed in upper case. */
static int parse_section_text(struct parser *p, struct section *sec, struct buf *label)
{
	char *word;
	size_t i;

	if (p_token(p, "[]", &word) < 0)
		return p_fail(p, "Bad section");
	for (i = 0; i < ARRAY_SIZE(section_texts); i++)
		if (!strcasecmp(word, section_texts[i].name))
			break;
	if (i == ARRAY_SIZE(section_texts) || (section_texts[i].kind == SECT_MIME && !sec->nparts))
		return p_fail(p, "Bad section");
	sec->kind = section_texts[i].kind;
	buf_puts(label, section_texts[i].name);
	if (sec->kind == SECT_HEADER_FIELDS || sec->kind == SECT_HEADER_FIELDS_NOT)
		return parse_header_list(p, sec, label);
	return 0;
}

static int is_digit_at(const struct parser *p)
{
	return p->p < p->end && *p->p >= '0' && *p->p <= '9';
}

/* "[" [section-spec] "]" after BODY or BODY.PEEK; label gets "BODY[...]". */
int imap_parse_section(struct parser *p, struct section *sec, struct buf *label)
{
	if (p_char(p, '[') < 0)
		return -1;
	buf_puts(label, "BODY[");
	if (!is_digit_at(p) && !p_peek(p, ']') && parse_section_text(p, sec, label) < 0)
		return -1;
	while (is_digit_at(p)) {
		uint32_t n;
		if (sec->nparts >= SECTION_MAX_DEPTH)
			return p_fail(p, "Section part numbers nested too deeply");
		if (p_nz_number(p, &n) < 0)
			return -1;
		sec->part[sec->nparts++] = n;
		buf_printf(label, "%s%u", sec->nparts > 1 ? "." : "", n);
		if (!p_peek(p, '.'))
			break;
		p->p++;
		if (!is_digit_at(p)) {
			buf_putc(label, '.');
			if (parse_section_text(p, sec, label) < 0)
				return -1;
			break;
		}
	}
	if (p_char(p, ']') < 0)
		return p_fail(p, "Bad section");
	buf_putc(label, ']');
	return 0;
}

/* An optional <origin.count> after a section. */
static int parse_partial(struct parser *p, struct fetch_att *a)
{
	if (!p_peek(p, '<'))
		return 0;
	p->p++;
	a->partial = 1;
	if (p_number(p, &a->origin) < 0 || p_char(p, '.') < 0 || p_nz_number(p, &a->count) < 0 ||
	    p_char(p, '>') < 0)
		return p_fail(p, "Bad partial specifier <origin.count>");
	return 0;
}

/* RFC 3516 section-binary: "[" [part *("." part)] "]", echoed after name. */
static int parse_binary_section(struct parser *p, struct fetch_att *a, const char *name)
{
	struct buf label;
	int rc = 0;

	buf_init(&label);
	buf_printf(&label, "%s[", name);
	if (p_char(p, '[') < 0)
		rc = -1;
	while (!rc && !p_peek(p, ']')) {
		uint32_t n;
		if (a->sec.nparts >= SECTION_MAX_DEPTH)
			rc = p_fail(p, "Section part numbers nested too deeply");
		else if ((a->sec.nparts && p_char(p, '.') < 0) || p_nz_number(p, &n) < 0)
			rc = p_fail(p, "BINARY takes part numbers only");
		else
			buf_printf(&label, "%s%u", a->sec.nparts ? "." : "", n);
		if (!rc)
			a->sec.part[a->sec.nparts++] = n;
	}
	if (!rc && p_char(p, ']') < 0)
		rc = -1;
	buf_putc(&label, ']');
	a->label = pool_strndup(p->pool, label.data, label.len);
	buf_free(&label);
	return rc;
}

/* BINARY[...]<partial>, BINARY.PEEK[...]<partial>, BINARY.SIZE[...]. */
static int parse_binary(struct cmd *cmd, struct fetch_req *req, const char *name)
{
	int size = !strcasecmp(name, "BINARY.SIZE");
	struct fetch_att *a = att_add(cmd, req, size ? FA_BINARY_SIZE : FA_BINARY);

	a->sec.kind = SECT_FULL;
	a->peek = size || !strcasecmp(name, "BINARY.PEEK");
	if (!a->peek)
		req->sets_seen = 1;
	if (parse_binary_section(&cmd->p, a, size ? "BINARY.SIZE" : "BINARY") < 0)
		return -1;
	return size ? 0 : parse_partial(&cmd->p, a);
}

/* PREVIEW [SP "(" "LAZY" ")"]: LAZY changes nothing here, the preview is
 * always made (it costs the text part the FETCH reads anyway). */
static int parse_preview(struct cmd *cmd, struct fetch_req *req)
{
	struct parser *p = &cmd->p;
	char *mod;

	att_add(cmd, req, FA_PREVIEW);
	if (p->end - p->p < 2 || p->p[0] != ' ' || p->p[1] != '(')
		return 0;
	p->p += 2;
	do {
		if (p_atom(p, &mod) < 0 || strcasecmp(mod, "LAZY"))
			return p_fail(p, "PREVIEW's only modifier is LAZY");
	} while (!p_peek(p, ')') && p_sp(p) == 0);
	return p_char(p, ')');
}

/* BODY[...]<origin.count> and BODY.PEEK[...]<origin.count>. */
static int parse_body_section(struct cmd *cmd, struct fetch_req *req, int peek)
{
	struct parser *p = &cmd->p;
	struct fetch_att *a = att_add(cmd, req, FA_SECTION);
	struct buf label;
	int rc;

	a->peek = peek;
	if (!peek)
		req->sets_seen = 1;
	buf_init(&label);
	rc = imap_parse_section(p, &a->sec, &label);
	a->label = pool_strndup(p->pool, label.data ? label.data : "", label.len);
	buf_free(&label);
	return rc < 0 ? rc : parse_partial(p, a);
}

static const struct {
	const char *name;
	enum fa_kind kind;
} simple_atts[] = {
	{"ENVELOPE", FA_ENVELOPE},    {"FLAGS", FA_FLAGS}, {"INTERNALDATE", FA_INTERNALDATE},
	{"RFC822.SIZE", FA_SIZE},     {"UID", FA_UID},     {"BODYSTRUCTURE", FA_BODYSTRUCTURE},
	{"MODSEQ", FA_MODSEQ},        {"SAVEDATE", FA_SAVEDATE},
	{"EMAILID", FA_EMAILID},      {"THREADID", FA_THREADID},
};

static int parse_att(struct cmd *cmd, struct fetch_req *req)
{
	struct parser *p = &cmd->p;
	char *name;

	if (p_token(p, "[]<", &name) < 0)
		return p_fail(p, "Expected a fetch attribute");
	for (size_t i = 0; i < ARRAY_SIZE(simple_atts); i++)
		if (!strcasecmp(name, simple_atts[i].name)) {
			att_add(cmd, req, simple_atts[i].kind);
			return 0;
		}
	if (!strcasecmp(name, "BODY") && !p_peek(p, '[')) {
		att_add(cmd, req, FA_BODY);
		return 0;
	}
	if (!strcasecmp(name, "BODY") || !strcasecmp(name, "BODY.PEEK"))
		return parse_body_section(cmd, req, name[4] == '.');
	if (!strcasecmp(name, "PREVIEW"))
		return parse_preview(cmd, req);
	if (!strcasecmp(name, "BINARY") || !strcasecmp(name, "BINARY.PEEK") ||
	    !strcasecmp(name, "BINARY.SIZE"))
		return parse_binary(cmd, req, name);
	if (!strcasecmp(name, "RFC822"))
		add_section(cmd, req, "RFC822", SECT_FULL, 0);
	else if (!strcasecmp(name, "RFC822.HEADER"))
		add_section(cmd, req, "RFC822.HEADER", SECT_HEADER, 1);
	else if (!strcasecmp(name, "RFC822.TEXT"))
		add_section(cmd, req, "RFC822.TEXT", SECT_TEXT, 0);
	else
		return p_fail(p, "Unknown fetch attribute");
	return 0;
}

/* The macros ALL, FAST, FULL stand alone, never inside a list. */
static int parse_macro(struct cmd *cmd, struct fetch_req *req)
{
	const char *s = cmd->p.p;
	size_t left = (size_t)(cmd->p.end - s);
	static const char *const names[] = {"ALL", "FAST", "FULL"};

	for (size_t i = 0; i < ARRAY_SIZE(names); i++) {
		size_t n = strlen(names[i]);
		if ((left != n && (left < n || s[n] != ' ')) || strncasecmp(s, names[i], n))
			continue;
		cmd->p.p += n;
		att_add(cmd, req, FA_FLAGS);
		att_add(cmd, req, FA_INTERNALDATE);
		att_add(cmd, req, FA_SIZE);
		if (i != 1)
			att_add(cmd, req, FA_ENVELOPE);
		if (i == 2)
			att_add(cmd, req, FA_BODY);
		return 1;
	}
	return 0;
}

/* The end of the command: nothing, or the modifiers of RFC 7162. */
static int parse_tail(struct cmd *cmd, struct fetch_req *req)
{
	if (p_peek(&cmd->p, ' ') && (p_sp(&cmd->p) < 0 || imap_fetch_mods(cmd, &req->mods) < 0))
		return -1;
	return p_end(&cmd->p);
}

static int parse_atts(struct cmd *cmd, struct fetch_req *req)
{
	struct parser *p = &cmd->p;

	if (parse_macro(cmd, req))
		return parse_tail(cmd, req);
	if (!p_peek(p, '('))
		return parse_att(cmd, req) < 0 ? -1 : parse_tail(cmd, req);
	p->p++;
	do {
		if (req->atts && p_sp(p) < 0)
			return -1;
		if (parse_att(cmd, req) < 0)
			return -1;
	} while (!p_peek(p, ')') && !p_at_end(p));
	if (p_char(p, ')') < 0)
		return -1;
	return parse_tail(cmd, req);
}

/* Non-UID sets must name existing messages only (RFC 3501 6.4.5: BAD). */
/* A date-time as a quoted string: INTERNALDATE, SAVEDATE (RFC 8514). */
static void put_date(struct buf *out, time_t t, int tz_minutes)
{
	buf_putc(out, '"');
	imap_date_time(out, t, tz_minutes);
	buf_putc(out, '"');
}

/* Message octets go out as a literal; large ones bypass the buffer. Bytes
 * with a NUL (BINARY's decoded content) need RFC 3516's literal8. */
static void put_literal(struct cmd *cmd, struct buf *out, const char *p, size_t n)
{
	if (n == 0) {
		buf_puts(out, "\"\"");
		return;
	}
	buf_printf(out, "%s{%zu}\r\n", memchr(p, '\0', n) ? "~" : "", n);
	if (n < 4096) {
		buf_append(out, p, n);
		return;
	}
	resp_write(cmd->c, out->data, out->len);
	buf_reset(out);
	resp_write(cmd->c, p, n);
}

/* One section item; a part that doesn't exist gives an empty string. */
static void put_section(struct cmd *cmd, struct buf *out, const struct fetch_att *a,
			const char *text, size_t len, const struct body *body, struct buf *scratch)
{
	const char *p = NULL;
	size_t n = 0;

	buf_reset(scratch);
	if (a->kind == FA_SECTION ? mime_section(text, len, body, &a->sec, &p, &n, scratch) < 0 :
				    mime_binary_section(text, len, body, &a->sec, &p, &n, scratch) < 0)
		n = 0;
	if (!p)
		n = 0;
	if (a->kind == FA_BINARY_SIZE) {
		buf_printf(out, "%s %zu", a->label, n);
		return;
	}
	buf_puts(out, a->label);
	if (a->partial) {
		buf_printf(out, "<%u>", a->origin);
		if (a->origin >= n) {
			n = 0;
		} else {
			p += a->origin;
			n -= a->origin;
			if (n > a->count)
				n = a->count;
		}
	}
	buf_putc(out, ' ');
	put_literal(cmd, out, p, n);
}

struct fetch_msg {
	uint32_t msgno;
	struct message *m;
	struct envelope *env;
	struct body *body;
	const char *text;
	size_t len;
	char emailid[MAIL_OBJECTID_SIZE], threadid[MAIL_OBJECTID_SIZE];
	int no_thread;       /* THREADID NIL */
};

static void put_att(struct cmd *cmd, struct buf *out, const struct fetch_att *a,
		    const struct fetch_msg *fm, struct buf *scratch)
{
	switch (a->kind) {
	case FA_ENVELOPE:
		buf_puts(out, "ENVELOPE ");
		imap_put_envelope(out, fm->env);
		break;
	case FA_FLAGS:
		buf_puts(out, "FLAGS ");
		imap_put_flags(out, cmd->c, fm->m);
		break;
	case FA_INTERNALDATE:
		buf_puts(out, "INTERNALDATE ");
		put_date(out, fm->m->internal_date, fm->m->tz_minutes);
		break;
	case FA_SAVEDATE:
		/* RFC 8514 3: NIL where the mailbox keeps no save date */
		buf_puts(out, "SAVEDATE ");
		if (fm->m->save_date)
			put_date(out, fm->m->save_date, 0);
		else
			buf_puts(out, "NIL");
		break;
	case FA_SIZE:
		buf_puts(out, "RFC822.SIZE ");
		buf_put_uint(out, fm->m->size, 0);
		break;
	case FA_UID:
		buf_puts(out, "UID ");
		buf_put_uint(out, fm->m->uid, 0);
		break;
	case FA_BODY:
	case FA_BODYSTRUCTURE:
		buf_puts(out, a->kind == FA_BODY ? "BODY " : "BODYSTRUCTURE ");
		imap_put_body(out, fm->body, a->kind == FA_BODYSTRUCTURE);
		break;
	case FA_PREVIEW:
		buf_reset(scratch);
		mime_preview(fm->text, fm->len, fm->body, scratch);
		buf_puts(out, "PREVIEW ");
		imap_put_string(out, scratch->data ? scratch->data : "", scratch->len);
		break;
	case FA_SECTION:
	case FA_BINARY:
	case FA_BINARY_SIZE:
		put_section(cmd, out, a, fm->text, fm->len, fm->body, scratch);
		break;
	case FA_MODSEQ:
		imap_put_modseq(out, cmd->c->box, fm->msgno);
		break;
	case FA_EMAILID:
		buf_printf(out, "EMAILID (%s)", fm->emailid);
		break;
	case FA_THREADID:
		/* RFC 8474 5.2: NIL for a message in no thread we can name */
		if (fm->no_thread)
			buf_puts(out, "THREADID NIL");
		else
			buf_printf(out, "THREADID (%s)", fm->threadid);
		break;
	}
}

/* The object ids the attributes ask for, before the text is fetched (their
 * reads would end its validity). 0, or -1 with err. */
static int fetch_ids(const struct fetch_req *req, struct mailbox *box, struct fetch_msg *fm,
		     struct mail_err *err)
{
	for (const struct fetch_att *a = req->atts; a; a = a->next) {
		if (a->kind == FA_EMAILID && mail_emailid(box, fm->msgno, fm->emailid, err) < 0)
			return -1;
		if (a->kind == FA_THREADID &&
		    (fm->no_thread = mail_threadid(box, fm->msgno, fm->threadid, err)) < 0)
			return -1;
	}
	return 0;
}

/* RFC 3516: a BINARY item whose part has an encoding we cannot decode
 * fails the FETCH, before any \Seen is set or byte written. 1 with err
 * (or a fetch error) then. */
static int binary_unknown_cte(const struct fetch_req *req, struct mailbox *box,
			      struct fetch_msg *fm, uint32_t msgno, struct mail_err *err)
{
	for (const struct fetch_att *a = req->atts; a; a = a->next) {
		if (a->kind != FA_BINARY && a->kind != FA_BINARY_SIZE)
			continue;
		if (!fm->body && mail_fetch_structure(box, msgno, &fm->env, &fm->body, err) < 0)
			return 1;
		if (mime_binary_check(fm->body, &a->sec) < 0) {
			mail_err_set(err, MAIL_UNKNOWN_CTE, "Cannot decode the encoding of %s", a->label);
			return 1;
		}
	}
	return 0;
}

/* Gather what the attributes need, set \Seen, and write one FETCH response. */
static int fetch_one(struct cmd *cmd, const struct fetch_req *req, uint32_t msgno,
		     struct buf *out, struct buf *scratch, struct mail_err *err)
{
	struct mailbox *box = cmd->c->box;
	struct fetch_msg fm = {.msgno = msgno, .m = box->msgs[msgno - 1]};
	int flags_changed = 0, first = 1;
	int need_text = req->sets_seen;

	for (const struct fetch_att *a = req->atts; a; a = a->next)
		need_text |= a->kind >= FA_SECTION;   /* sections, BINARY, PREVIEW */
	if (binary_unknown_cte(req, box, &fm, msgno, err) || fetch_ids(req, box, &fm, err) < 0)
		return -1;
	if (req->sets_seen && !box->readonly && !(fm.m->flags & MF_SEEN)) {
		if (mail_store(box, msgno, STORE_ADD, MF_SEEN, 0, err) < 0)
			return -1;
		flags_changed = 1;
	}
	/* structure before text: the text is only valid until the next call */
	if ((req->need_structure || need_text) &&
	    mail_fetch_structure(box, msgno, &fm.env, &fm.body, err) < 0)
		return -1;
	if (req->need_envelope && !fm.env && mail_fetch_envelope(box, msgno, &fm.env, err) < 0)
		return -1;
	if (need_text && mail_fetch_text(box, msgno, &fm.text, &fm.len, err) < 0)
		return -1;
	buf_reset(out);
	first = !imap_put_fetch_head(cmd->c, out, msgno, cmd->uid && !req->has_uid);
	for (const struct fetch_att *a = req->atts; a; a = a->next) {
		if (!first)
			buf_putc(out, ' ');
		first = 0;
		put_att(cmd, out, a, &fm, scratch);
	}
	if (flags_changed && !req->has_flags) {
		buf_puts(out, " FLAGS ");
		imap_put_flags(out, cmd->c, fm.m);
	}
	/* RFC 7162 3.1.4: CHANGEDSINCE answers with MODSEQ, asked or not */
	if (req->mods.changedsince && !req->has_modseq) {
		buf_putc(out, ' ');
		imap_put_modseq(out, box, msgno);
	}
	buf_puts(out, ")\r\n");
	resp_write(cmd->c, out->data, out->len);
	return 0;
}

void cmd_fetch(struct cmd *cmd)
{
	struct fetch_req req = {0};
	struct numset set;
	struct mail_err err;
	struct buf out, scratch;
	uint32_t *msgnos;
	size_t n, i;

	req.tail = &req.atts;
	if (p_sp(&cmd->p) < 0 || p_seqset(&cmd->p, &set) < 0 || p_sp(&cmd->p) < 0 ||
	    parse_atts(cmd, &req) < 0)
		return resp_parse_error(cmd);
	ssize_t got = imap_resolve_set(cmd, &set, &msgnos);
	if (got < 0)
		return;
	n = (size_t)got;
	if (req.has_modseq || req.mods.changedsince)
		imap_condstore_enable(cmd->c);
	if (req.has_savedate)
		mail_savedate_want(cmd->c->box);
	if (req.mods.vanished)
		imap_vanished_earlier(cmd->c, req.mods.since, &set);
	memset(&err, 0, sizeof err);
	buf_init(&out);
	buf_init(&scratch);
	for (i = 0; i < n; i++) {
		if (req.mods.changedsince && cmd->c->box->msgs[msgnos[i] - 1]->modseq <= req.mods.since)
			continue;
		if (fetch_one(cmd, &req, msgnos[i], &out, &scratch, &err) < 0)
			break;
	}
	buf_free(&out);
	buf_free(&scratch);
	if (i < n)
		return resp_mail_error(cmd, &err);
	resp_ok(cmd, NULL, "%sFETCH completed", cmd->uid ? "UID " : "");
}
