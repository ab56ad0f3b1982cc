/* cl_search.c: classic search programs: built by the program (or from a
 * criteria string by mail_criteria), turned into the native search's keys
 * and run by it, so both interfaces match messages alike. */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cl_int.h"

/* Keys are made in an arena freed after the search. */
struct arena {
	void **blocks;
	size_t n, cap;
};

static void *arena_get(struct arena *a, size_t size)
{
	void *p = calloc(1, size);

	if (!p || (a->n == a->cap &&
		   !(a->blocks = realloc(a->blocks, (a->cap = a->cap ? 2 * a->cap : 32) *
							   sizeof(*a->blocks))))) {
		mm_fatal("out of memory");
		abort();
	}
	a->blocks[a->n++] = p;
	return p;
}

static void arena_free(struct arena *a)
{
	for (size_t i = 0; i < a->n; i++)
		free(a->blocks[i]);
	free(a->blocks);
}

/* A new key of op, added to the children of parent. */
static struct clb_key *kid(struct arena *a, struct clb_key *parent, enum clb_op op)
{
	struct clb_key *k = arena_get(a, sizeof(*k)), **tail = &parent->kids;

	k->op = op;
	while (*tail)
		tail = &(*tail)->next;
	*tail = k;
	return k;
}

/* A SEARCHSET as lo,hi pairs (a single number when last is 0). */
static void add_set(struct arena *a, struct clb_key *parent, enum clb_op op, SEARCHSET *set)
{
	struct clb_key *k;
	size_t n = 0;

	if (!set)
		return;
	k = kid(a, parent, op);
	for (SEARCHSET *s = set; s; s = s->next)
		n++;
	k->ranges = arena_get(a, 2 * n * sizeof(*k->ranges));
	for (SEARCHSET *s = set; s; s = s->next, k->nranges++) {
		unsigned long lo = s->first, hi = s->last ? s->last : s->first;

		k->ranges[2 * k->nranges] = (uint32_t)(lo < hi ? lo : hi);
		k->ranges[2 * k->nranges + 1] = (uint32_t)(lo < hi ? hi : lo);
	}
}

/* A string key per entry of list (all must match). */
static void add_strings(struct arena *a, struct clb_key *parent, enum clb_op op,
			const char *field, STRINGLIST *list)
{
	for (STRINGLIST *s = list; s; s = s->next) {
		struct clb_key *k = kid(a, parent, op);
		char *str = arena_get(a, s->text.size + 1);

		memcpy(str, s->text.data, s->text.size);
		k->str = str;
		k->field = field;
	}
}

static void add_flag(struct arena *a, struct clb_key *parent, int on, int off, uint32_t flag)
{
	if (on)
		kid(a, parent, CLB_FLAGS)->flags = flag;
	if (off)
		kid(a, parent, CLB_UNFLAGS)->flags = flag;
}

/* A packed classic date ((year - BASEYEAR) << 9 | month << 5 | day). */
static void add_date(struct arena *a, struct clb_key *parent, enum clb_op op, unsigned short d)
{
	struct clb_key *k;

	if (!d)
		return;
	k = kid(a, parent, op);
	k->year = BASEYEAR + (d >> 9);
	k->month = (d >> 5) & 0xf;
	k->day = d & 0x1f;
}

static void add_keywords(struct arena *a, struct clb_key *parent, enum clb_op op,
			 STRINGLIST *list)
{
	for (STRINGLIST *s = list; s; s = s->next) {
		char *name = arena_get(a, s->text.size + 1);

		memcpy(name, s->text.data, s->text.size);
		kid(a, parent, op)->keyword = name;
	}
}

/* The native keys of pgm, as the children of an AND. */
static void convert(struct arena *a, struct clb_key *and, SEARCHPGM *pgm)
{
	static const struct {
		size_t off;
		const char *field;
	} headers[] = {
		{offsetof(SEARCHPGM, bcc), "Bcc"},           {offsetof(SEARCHPGM, cc), "Cc"},
		{offsetof(SEARCHPGM, from), "From"},         {offsetof(SEARCHPGM, to), "To"},
		{offsetof(SEARCHPGM, subject), "Subject"},   {offsetof(SEARCHPGM, sender), "Sender"},
		{offsetof(SEARCHPGM, return_path), "Return-Path"},
		{offsetof(SEARCHPGM, reply_to), "Reply-To"},
		{offsetof(SEARCHPGM, in_reply_to), "In-Reply-To"},
		{offsetof(SEARCHPGM, message_id), "Message-ID"},
		{offsetof(SEARCHPGM, newsgroups), "Newsgroups"},
		{offsetof(SEARCHPGM, followup_to), "Followup-To"},
		{offsetof(SEARCHPGM, references), "References"},
	};

	add_set(a, and, CLB_MSGNOS, pgm->msgno);
	add_set(a, and, CLB_UIDS, pgm->uid);
	for (SEARCHOR *o = pgm->or; o; o = o->next) {
		struct clb_key *or = kid(a, and, CLB_OR);

		convert(a, kid(a, or, CLB_AND), o->first);
		convert(a, kid(a, or, CLB_AND), o->second);
	}
	for (SEARCHPGMLIST *n = pgm->not; n; n = n->next)
		convert(a, kid(a, kid(a, and, CLB_NOT), CLB_AND), n->pgm);
	for (SEARCHHEADER *h = pgm->header; h; h = h->next) {
		struct clb_key *k = kid(a, and, CLB_HEADER);
		char *field = arena_get(a, h->line.size + 1), *str = arena_get(a, h->text.size + 1);

		memcpy(field, h->line.data, h->line.size);
		memcpy(str, h->text.data, h->text.size);
		k->field = field;
		k->str = str;
	}
	for (size_t i = 0; i < sizeof(headers) / sizeof(headers[0]); i++)
		add_strings(a, and, CLB_HEADER, headers[i].field,
			    *(STRINGLIST **)((char *)pgm + headers[i].off));
	add_strings(a, and, CLB_BODY, NULL, pgm->body);
	add_strings(a, and, CLB_TEXT, NULL, pgm->text);
	add_keywords(a, and, CLB_FLAGS, pgm->keyword);
	add_keywords(a, and, CLB_UNFLAGS, pgm->unkeyword);
	if (pgm->larger)
		kid(a, and, CLB_LARGER)->n = pgm->larger;
	if (pgm->smaller)
		kid(a, and, CLB_SMALLER)->n = pgm->smaller;
	if (pgm->older)
		kid(a, and, CLB_OLDER)->n = pgm->older;
	if (pgm->younger)
		kid(a, and, CLB_YOUNGER)->n = pgm->younger;
	add_date(a, and, CLB_SENTBEFORE, pgm->sentbefore);
	add_date(a, and, CLB_SENTON, pgm->senton);
	add_date(a, and, CLB_SENTSINCE, pgm->sentsince);
	add_date(a, and, CLB_BEFORE, pgm->before);
	add_date(a, and, CLB_ON, pgm->on);
	add_date(a, and, CLB_SINCE, pgm->since);
	add_flag(a, and, pgm->answered, pgm->unanswered, MF_ANSWERED);
	add_flag(a, and, pgm->deleted, pgm->undeleted, MF_DELETED);
	add_flag(a, and, pgm->draft, pgm->undraft, MF_DRAFT);
	add_flag(a, and, pgm->flagged, pgm->unflagged, MF_FLAGGED);
	add_flag(a, and, pgm->seen, pgm->unseen, MF_SEEN);
	add_flag(a, and, pgm->recent, 0, MF_RECENT);
	if (pgm->old)
		kid(a, and, CLB_OLD);
}

long mail_search_full(MAILSTREAM *stream, char *charset, SEARCHPGM *pgm, long flags)
{
	struct clb_box *box = cl_box(stream);
	struct arena a = {0};
	struct clb_key *root;
	uint8_t *match;
	char err[CLB_ERRLEN];
	long ok = T;

	if (!box || !pgm)
		return NIL;
	root = arena_get(&a, sizeof(*root));
	root->op = CLB_AND;
	convert(&a, root, pgm);
	kid(&a, root, CLB_ALL);   /* an empty program matches everything */
	match = calloc(stream->nmsgs ? stream->nmsgs : 1, 1);
	if (!match) {
		mm_fatal("out of memory");
		abort();
	}
	if (clb_search(box, root, match, err) < 0) {
		cl_error("Can't search", stream->mailbox, err);
		ok = NIL;
	}
	for (unsigned long i = 1; ok && i <= stream->nmsgs; i++) {
		MESSAGECACHE *elt = mail_elt(stream, i);

		if (!(flags & SE_RETAIN))
			elt->searched = 0;
		if (!match[i - 1])
			continue;
		elt->searched = 1;
		if (!stream->silent)
			mm_searched(stream, (flags & SE_UID) ? elt->private.uid : i);
	}
	free(match);
	arena_free(&a);
	if (flags & SE_FREE)
		mail_free_searchpgm(&pgm);
	return ok;
}

SEARCHPGM *mail_newsearchpgm(void)
{
	return memset(fs_get(sizeof(SEARCHPGM)), 0, sizeof(SEARCHPGM));
}

SEARCHSET *mail_newsearchset(void)
{
	return memset(fs_get(sizeof(SEARCHSET)), 0, sizeof(SEARCHSET));
}

STRINGLIST *mail_newstringlist(void)
{
	return memset(fs_get(sizeof(STRINGLIST)), 0, sizeof(STRINGLIST));
}

void mail_free_stringlist(STRINGLIST **string)
{
	while (*string) {
		STRINGLIST *next = (*string)->next;

		if ((*string)->text.data)
			fs_give((void **)&(*string)->text.data);
		fs_give((void **)string);
		*string = next;
	}
}

void mail_free_searchset(SEARCHSET **set)
{
	while (*set) {
		SEARCHSET *next = (*set)->next;

		fs_give((void **)set);
		*set = next;
	}
}

void mail_free_searchpgm(SEARCHPGM **pgm)
{
	SEARCHPGM *p = *pgm;
	STRINGLIST **lists[] = {&p->bcc, &p->body, &p->cc, &p->from, &p->keyword, &p->unkeyword,
				&p->subject, &p->text, &p->to, &p->return_path, &p->sender,
				&p->reply_to, &p->in_reply_to, &p->message_id, &p->newsgroups,
				&p->followup_to, &p->references};

	if (!p)
		return;
	mail_free_searchset(&p->msgno);
	mail_free_searchset(&p->uid);
	while (p->or) {
		SEARCHOR *next = p->or->next;

		mail_free_searchpgm(&p->or->first);
		mail_free_searchpgm(&p->or->second);
		fs_give((void **)&p->or);
		p->or = next;
	}
	while (p->not) {
		SEARCHPGMLIST *next = p->not->next;

		mail_free_searchpgm(&p->not->pgm);
		fs_give((void **)&p->not);
		p->not = next;
	}
	while (p->header) {
		SEARCHHEADER *next = p->header->next;

		if (p->header->line.data)
			fs_give((void **)&p->header->line.data);
		if (p->header->text.data)
			fs_give((void **)&p->header->text.data);
		fs_give((void **)&p->header);
		p->header = next;
	}
	for (size_t i = 0; i < sizeof(lists) / sizeof(lists[0]); i++)
		mail_free_stringlist(lists[i]);
	fs_give((void **)pgm);
}

/* The next word of a criteria string (strtok_r state in *r). */
static char *next_word(char **r)
{
	return strtok_r(NULL, " ", r);
}

int mail_criteria_date(unsigned short *date, char **r)
{
	MESSAGECACHE elt;
	char buf[64], *w = next_word(r);

	if (!w || strlen(w) > 40)
		return NIL;
	/* a date alone parses as a date-time at midnight */
	snprintf(buf, sizeof(buf), "%s 00:00:00 +0000", w);
	memset(&elt, 0, sizeof(elt));
	if (!mail_parse_date(&elt, (unsigned char *)buf) || *date)
		return NIL;
	*date = (unsigned short)(elt.year << 9 | elt.month << 5 | elt.day);
	return T;
}

int mail_criteria_string(STRINGLIST **s, char **r)
{
	char *w, *end;
	STRINGLIST **tail = s;

	if (!*r || !**r)
		return NIL;
	w = *r + strspn(*r, " ");
	if (*w == '"') {
		/* a quoted string runs to its closing quote */
		end = strchr(++w, '"');
		if (!end)
			return NIL;
		*end = '\0';
		*r = end + 1;
	} else {
		w = next_word(r);
		if (!w)
			return NIL;
	}
	while (*tail)
		tail = &(*tail)->next;
	*tail = mail_newstringlist();
	(*tail)->text.data = (unsigned char *)cpystr(w);
	(*tail)->text.size = strlen(w);
	return T;
}

/* A classic criteria string ("UNSEEN FROM fred SINCE 1-Jan-2020") as a
 * search program, or NIL when it does not parse. */
SEARCHPGM *mail_criteria(char *criteria)
{
	static const struct {
		const char *name;
		size_t off;    /* a STRINGLIST * in SEARCHPGM */
	} strs[] = {
		{"BCC", offsetof(SEARCHPGM, bcc)},         {"BODY", offsetof(SEARCHPGM, body)},
		{"CC", offsetof(SEARCHPGM, cc)},           {"FROM", offsetof(SEARCHPGM, from)},
		{"KEYWORD", offsetof(SEARCHPGM, keyword)}, {"SUBJECT", offsetof(SEARCHPGM, subject)},
		{"TEXT", offsetof(SEARCHPGM, text)},       {"TO", offsetof(SEARCHPGM, to)},
		{"UNKEYWORD", offsetof(SEARCHPGM, unkeyword)},
	};
	static const struct {
		const char *name;
		size_t off;    /* an unsigned short in SEARCHPGM */
	} dates[] = {
		{"BEFORE", offsetof(SEARCHPGM, before)}, {"ON", offsetof(SEARCHPGM, on)},
		{"SINCE", offsetof(SEARCHPGM, since)},
	};
	SEARCHPGM *pgm;
	char *copy, *w, *r = NULL;
	int ok = 1;

	if (!criteria)
		return NIL;
	pgm = mail_newsearchpgm();
	copy = cpystr(criteria);
	for (w = strtok_r(copy, " ", &r); ok && w; w = strtok_r(NULL, " ", &r)) {
		size_t i;

		ok = 0;
		for (i = 0; !ok && i < sizeof(strs) / sizeof(strs[0]); i++)
			if (!strcasecmp(w, strs[i].name))
				ok = mail_criteria_string((STRINGLIST **)((char *)pgm + strs[i].off),
							  &r) ? 1 : -1;
		for (i = 0; !ok && i < sizeof(dates) / sizeof(dates[0]); i++)
			if (!strcasecmp(w, dates[i].name))
				ok = mail_criteria_date((unsigned short *)((char *)pgm + dates[i].off),
							&r) ? 1 : -1;
		if (ok)
			ok = ok > 0;
		else if (!strcasecmp(w, "ALL"))
			ok = 1;
		else if (!strcasecmp(w, "ANSWERED"))
			ok = pgm->answered = 1;
		else if (!strcasecmp(w, "DELETED"))
			ok = pgm->deleted = 1;
		else if (!strcasecmp(w, "FLAGGED"))
			ok = pgm->flagged = 1;
		else if (!strcasecmp(w, "NEW"))
			ok = pgm->recent = pgm->unseen = 1;
		else if (!strcasecmp(w, "OLD"))
			ok = pgm->old = 1;
		else if (!strcasecmp(w, "RECENT"))
			ok = pgm->recent = 1;
		else if (!strcasecmp(w, "SEEN"))
			ok = pgm->seen = 1;
		else if (!strcasecmp(w, "UNANSWERED"))
			ok = pgm->unanswered = 1;
		else if (!strcasecmp(w, "UNDELETED"))
			ok = pgm->undeleted = 1;
		else if (!strcasecmp(w, "UNFLAGGED"))
			ok = pgm->unflagged = 1;
		else if (!strcasecmp(w, "UNSEEN"))
			ok = pgm->unseen = 1;
	}
	fs_give((void **)&copy);
	if (!ok) {
		mm_log("Unknown search criterion", ERROR);
		mail_free_searchpgm(&pgm);
		return NIL;
	}
	return pgm;
}
