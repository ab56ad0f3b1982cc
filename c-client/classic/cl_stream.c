/* cl_stream.c: classic streams over native mailboxes: open, close, the
 * message cache (elts kept in step with the native messages through the
 * events), fetching texts, flags, expunge and copy. */
#include <stdlib.h>
#include <string.h>

#include "cl_int.h"

struct clb_box *cl_box(MAILSTREAM *stream)
{
	struct cl_local *l = stream ? stream->local : NULL;

	return l ? l->box : NULL;
}

/* Make room for n elts in the cache (zeroed slots, filled on demand). */
static void cache_size(MAILSTREAM *stream, unsigned long n)
{
	if (n <= stream->cachesize)
		return;
	fs_resize((void **)&stream->cache, n * sizeof(*stream->cache));
	memset(stream->cache + stream->cachesize, 0,
	       (n - stream->cachesize) * sizeof(*stream->cache));
	stream->cachesize = n;
}

static void ev_exists(void *ctx, uint32_t n)
{
	MAILSTREAM *stream = ctx;
	struct clb_box *box = cl_box(stream);

	cache_size(stream, n);
	stream->nmsgs = n;
	stream->recent = clb_recent(box);
	stream->uid_last = clb_uidnext(box) - 1;
	if (!stream->silent)
		mm_exists(stream, n);
}

static void ev_expunged(void *ctx, uint32_t msgno)
{
	MAILSTREAM *stream = ctx;

	if (msgno < 1 || msgno > stream->nmsgs)
		return;
	if (stream->cache[msgno - 1]) {
		cl_elt_free(stream->cache[msgno - 1]);
		fs_give((void **)&stream->cache[msgno - 1]);
	}
	memmove(stream->cache + msgno - 1, stream->cache + msgno,
		(stream->nmsgs - msgno) * sizeof(*stream->cache));
	stream->cache[--stream->nmsgs] = NULL;
	for (unsigned long i = msgno - 1; i < stream->nmsgs; i++)
		if (stream->cache[i])
			stream->cache[i]->msgno = i + 1;
	if (!stream->silent)
		mm_expunged(stream, msgno);
}

static void ev_flags(void *ctx, uint32_t msgno)
{
	MAILSTREAM *stream = ctx;

	if (!stream->silent)
		mm_flags(stream, msgno);
}

static void ev_notice(void *ctx, const char *text)
{
	MAILSTREAM *stream = ctx;

	if (!stream->silent)
		mm_notify(stream, (char *)text, WARN);
}

static const struct clb_events events = {ev_exists, ev_expunged, ev_flags, ev_notice};

/* The stream's keyword names (the first NUSERFLAGS the mailbox has). */
static void keywords_load(MAILSTREAM *stream)
{
	struct clb_box *box = cl_box(stream);
	unsigned n = clb_nkeywords(box);

	for (unsigned i = 0; i < NUSERFLAGS; i++) {
		if (stream->user_flags[i])
			fs_give((void **)&stream->user_flags[i]);
		if (i < n)
			stream->user_flags[i] = cpystr(clb_keyword(box, i));
	}
	stream->kwd_create = clb_keywords_creatable(box) && n < NUSERFLAGS;
}

/* Let go of what the open mailbox left in the stream. */
static void stream_clear(MAILSTREAM *stream)
{
	struct cl_local *l = stream->local;

	for (unsigned long i = 0; i < stream->cachesize; i++)
		if (stream->cache[i]) {
			cl_elt_free(stream->cache[i]);
			fs_give((void **)&stream->cache[i]);
		}
	if (stream->cache)
		fs_give((void **)&stream->cache);
	stream->cachesize = stream->nmsgs = stream->recent = 0;
	for (unsigned i = 0; i < NUSERFLAGS; i++)
		if (stream->user_flags[i])
			fs_give((void **)&stream->user_flags[i]);
	if (l) {
		free(l->header);
		free(l->text);
		fs_give(&stream->local);
	}
	if (stream->mailbox)
		fs_give((void **)&stream->mailbox);
	if (stream->original_mailbox)
		fs_give((void **)&stream->original_mailbox);
}

MAILSTREAM *mail_open(MAILSTREAM *stream, char *name, long options)
{
	struct cl_local *l;
	char err[CLB_ERRLEN];

	if (stream && cl_box(stream)) {
		char cerr[CLB_ERRLEN];

		if (clb_close(cl_box(stream), 0, cerr) < 0)
			cl_error("Can't save the changes to", stream->mailbox, cerr);
		((struct cl_local *)stream->local)->box = NULL;
	}
	if (stream)
		stream_clear(stream);
	if (!name || ((options & OP_HALFOPEN) && *name != '{')) {
		/* a local mailbox has no half-open state */
		if (stream)
			fs_give((void **)&stream);
		return NIL;
	}
	if (!stream) {
		stream = fs_get(sizeof(*stream));
		memset(stream, 0, sizeof(*stream));
	}
	if (options & OP_HALFOPEN) {
		/* a server named, no mailbox selected: the calls that take a name
		 * (status, list, create, append ...) reach the server by it */
		stream->dtb = &imapdriver;
		stream->mailbox = cpystr(name);
		stream->original_mailbox = cpystr(name);
		stream->halfopen = 1;
		return stream;
	}
	l = fs_get(sizeof(*l));
	memset(l, 0, sizeof(*l));
	stream->local = l;
	stream->debug = (options & OP_DEBUG) != 0;
	stream->silent = 1;   /* the open reports once, below */
	if (clb_open(name, (options & OP_READONLY) != 0, &events, stream, &l->box, err) < 0) {
		cl_error("Can't open mailbox", name, err);
		stream_clear(stream);
		fs_give((void **)&stream);
		return NIL;
	}
	stream->dtb = cl_driver_for(clb_driver(l->box));
	/* as the classic library named them: INBOX and #-names as given, any
	 * other local mailbox by its full path */
	stream->mailbox = cpystr(clb_inbox(l->box) || *name == '#' ? clb_name(l->box)
								    : clb_path(l->box));
	stream->original_mailbox = cpystr(name);
	stream->inbox = clb_inbox(l->box);
	stream->rdonly = clb_readonly(l->box);
	stream->perm_seen = stream->perm_deleted = stream->perm_flagged = !stream->rdonly;
	stream->perm_answered = stream->perm_draft = !stream->rdonly;
	stream->uid_validity = clb_uidvalidity(l->box);
	stream->silent = (options & OP_SILENT) != 0;
	keywords_load(stream);
	stream->perm_user_flags = stream->rdonly ? 0 : 0xffffffffUL >> (32 - NUSERFLAGS);
	ev_exists(stream, clb_nmsgs(l->box));
	return stream;
}

MAILSTREAM *mail_close_full(MAILSTREAM *stream, long options)
{
	char err[CLB_ERRLEN];

	if (!stream)
		return NIL;
	if (cl_box(stream)) {
		stream->silent = 1;
		if (clb_close(cl_box(stream), (options & CL_EXPUNGE) != 0, err) < 0)
			cl_error("Can't save the changes to", stream->mailbox, err);
		((struct cl_local *)stream->local)->box = NULL;
	}
	stream_clear(stream);
	fs_give((void **)&stream);
	return NIL;
}

MESSAGECACHE *mail_elt(MAILSTREAM *stream, unsigned long msgno)
{
	struct clb_box *box = cl_box(stream);
	MESSAGECACHE *elt;
	struct clb_msg m;

	if (!box || msgno < 1 || msgno > stream->nmsgs) {
		mm_fatal("mail_elt: message number out of range");
		abort();
	}
	elt = stream->cache[msgno - 1];
	if (!elt) {
		elt = stream->cache[msgno - 1] = fs_get(sizeof(*elt));
		memset(elt, 0, sizeof(*elt));
	}
	/* the native message is the truth: refresh what it knows */
	clb_msg(box, msgno, &m);
	elt->msgno = msgno;
	elt->private.uid = m.uid;
	elt->rfc822_size = m.size;
	cl_elt_set_time(elt, m.date, m.tz_minutes);
	elt->seen = (m.flags & MF_SEEN) != 0;
	elt->deleted = (m.flags & MF_DELETED) != 0;
	elt->flagged = (m.flags & MF_FLAGGED) != 0;
	elt->answered = (m.flags & MF_ANSWERED) != 0;
	elt->draft = (m.flags & MF_DRAFT) != 0;
	elt->recent = (m.flags & MF_RECENT) != 0;
	elt->user_flags = (unsigned long)(m.keywords & (0xffffffffUL >> (32 - NUSERFLAGS)));
	elt->valid = 1;
	return elt;
}

/* Every elt of the sequence is current after mail_elt; nothing to load. */
void mail_fetch_fast(MAILSTREAM *stream, char *sequence, long flags)
{
	if (cl_box(stream) && cl_sequence(stream, sequence, (flags & FT_UID) != 0))
		for (unsigned long i = 1; i <= stream->nmsgs; i++)
			(void)mail_elt(stream, i);
}

void mail_fetch_flags(MAILSTREAM *stream, char *sequence, long flags)
{
	mail_fetch_fast(stream, sequence, flags);
}

unsigned long mail_uid(MAILSTREAM *stream, unsigned long msgno)
{
	return mail_elt(stream, msgno)->private.uid;
}

unsigned long mail_msgno(MAILSTREAM *stream, unsigned long uid)
{
	struct clb_box *box = cl_box(stream);

	return box ? clb_msgno(box, (uint32_t)uid) : 0;
}

/* The message number a fetch names (a UID with FT_UID), or 0. */
static unsigned long fetch_msgno(MAILSTREAM *stream, unsigned long n, long flags)
{
	if (flags & FT_UID)
		return mail_msgno(stream, n);
	return n >= 1 && n <= stream->nmsgs ? n : 0;
}

/* Keep a copy of (text, len) in *slot for the program; lf: with bare LF
 * line ends (the form a file driver of the classic library kept). */
static char *keep(char **slot, unsigned long *slot_len, const char *text, size_t len, int lf)
{
	size_t n = 0;

	free(*slot);
	*slot = malloc(len + 1);
	if (!*slot) {
		mm_fatal("out of memory");
		abort();
	}
	for (size_t i = 0; i < len; i++)
		if (!lf || text[i] != '\r' || i + 1 == len || text[i + 1] != '\n')
			(*slot)[n++] = text[i];
	(*slot)[n] = '\0';
	*slot_len = n;
	return *slot;
}

/* The section spec of a part (NIL or "" the message) and a kind
 * ("HEADER", "TEXT", "MIME" or "" its content), into buf. */
static const char *spec_of(char *buf, size_t size, const char *section, const char *kind)
{
	if (!section || !*section)
		snprintf(buf, size, "%s", kind);
	else
		snprintf(buf, size, "%s%s%s", section, *kind ? "." : "", kind);
	return buf;
}

/* A section of a message, kept in the header or text slot for the
 * program; \Seen set unless FT_PEEK when body is set (as reading a body
 * part marks a message read). fields: HEADER lines to keep (or drop). */
static char *fetch_section(MAILSTREAM *stream, unsigned long n, const char *spec, int body,
			   STRINGLIST *lines, unsigned long *len, long flags)
{
	struct cl_local *l = stream ? stream->local : NULL;
	unsigned long msgno = l && l->box ? fetch_msgno(stream, n, flags) : 0;
	char **fields = NULL, err[CLB_ERRLEN];
	const char *text;
	size_t tlen;
	int nfields = 0, lf, rc;

	if (len)
		*len = 0;
	if (!msgno)
		return "";
	for (STRINGLIST *s = lines; s; s = s->next)
		nfields++;
	if (nfields) {
		fields = fs_get(nfields * sizeof(*fields));
		nfields = 0;
		for (STRINGLIST *s = lines; s; s = s->next)
			fields[nfields++] = (char *)s->text.data;
	}
	rc = clb_section(l->box, (uint32_t)msgno, spec, fields, nfields, (flags & FT_NOT) != 0,
			 &text, &tlen, err);
	if (fields)
		fs_give((void **)&fields);
	if (rc < 0) {
		cl_error("Can't read a message of", stream->mailbox, err);
		return "";
	}
	if (body && !(flags & FT_PEEK) && !stream->rdonly && !(mail_elt(stream, msgno)->seen) &&
	    clb_store(l->box, (uint32_t)msgno, 1, MF_SEEN, 0, err) == 0 && !stream->silent)
		mm_flags(stream, msgno);
	/* FT_INTERNAL: the driver's own form, which for the classic file
	 * formats (all but the CRLF ones, mbx and mix) had LF line ends;
	 * programs such as mailsync split such text on LF alone */
	lf = (flags & FT_INTERNAL) && !(stream->dtb->flags & DR_CRLF);
	text = body ? keep(&l->text, &l->text_len, text, tlen, lf)
		    : keep(&l->header, &l->header_len, text, tlen, lf);
	if (len)
		*len = body ? l->text_len : l->header_len;
	return (char *)text;
}

char *mail_fetch_header(MAILSTREAM *stream, unsigned long msgno, char *section,
			STRINGLIST *lines, unsigned long *len, long flags)
{
	char spec[MAILTMPLEN];

	return fetch_section(stream, msgno, spec_of(spec, sizeof(spec), section, "HEADER"), 0,
			     lines, len, flags);
}

char *mail_fetch_text(MAILSTREAM *stream, unsigned long msgno, char *section,
		      unsigned long *len, long flags)
{
	char spec[MAILTMPLEN];

	return fetch_section(stream, msgno, spec_of(spec, sizeof(spec), section, "TEXT"), 1, NIL,
			     len, flags);
}

char *mail_fetch_mime(MAILSTREAM *stream, unsigned long msgno, char *section,
		      unsigned long *len, long flags)
{
	char spec[MAILTMPLEN];

	if (!section || !*section)
		return mail_fetch_header(stream, msgno, NIL, NIL, len, flags);
	return fetch_section(stream, msgno, spec_of(spec, sizeof(spec), section, "MIME"), 0, NIL,
			     len, flags);
}

char *mail_fetch_body(MAILSTREAM *stream, unsigned long msgno, char *section,
		      unsigned long *len, long flags)
{
	char spec[MAILTMPLEN];

	/* "0" is the message's header in the classic calls */
	if (section && !strcmp(section, "0"))
		return mail_fetch_header(stream, msgno, NIL, NIL, len, flags);
	return fetch_section(stream, msgno, spec_of(spec, sizeof(spec), section, ""), 1, NIL, len,
			     flags);
}

char *mail_fetch_message(MAILSTREAM *stream, unsigned long msgno, unsigned long *len,
			 long flags)
{
	return mail_fetch_body(stream, msgno, NIL, len, flags);
}

void mail_gc(MAILSTREAM *stream, long gcflags)
{
	struct cl_local *l = stream ? stream->local : NULL;

	if (l && (gcflags & GC_ENV))
		for (unsigned long i = 0; i < stream->nmsgs; i++)
			if (stream->cache[i])
				cl_elt_free(stream->cache[i]);
	if (l && (gcflags & GC_TEXTS)) {
		free(l->header);
		free(l->text);
		l->header = l->text = NULL;
		l->header_len = l->text_len = 0;
	}
}

void mail_flag(MAILSTREAM *stream, char *sequence, char *flag, long flags)
{
	struct clb_box *box = cl_box(stream);
	uint32_t sys;
	uint64_t kw = 0;
	char **names, err[CLB_ERRLEN];
	int set = (flags & ST_SET) != 0;

	if (!box || !cl_sequence(stream, sequence, (flags & ST_UID) != 0))
		return;
	if (!cl_flag_list(flag, &sys, &names)) {
		mm_log("Unknown system flag in a flag list", ERROR);
		return;
	}
	for (char **n = names; *n; n++) {
		int i = clb_keyword_index(box, *n, set);

		if (i >= 0)
			kw |= (uint64_t)1 << i;
		else if (set)
			cl_error("Can't add the keyword", *n, "the mailbox can take no more keywords");
	}
	cl_free_names(names);
	for (unsigned long i = 1; i <= stream->nmsgs; i++) {
		MESSAGECACHE *elt = mail_elt(stream, i);
		unsigned long before_flags = elt->user_flags;
		unsigned before = elt->seen | elt->deleted << 1 | elt->flagged << 2 |
				  elt->answered << 3 | elt->draft << 4;

		if (!elt->sequence)
			continue;
		if (clb_store(box, (uint32_t)i, set, sys, kw, err) < 0) {
			cl_error("Can't change flags in", stream->mailbox, err);
			return;
		}
		elt = mail_elt(stream, i);
		if (!(flags & ST_SILENT) && !stream->silent &&
		    (before != (unsigned)(elt->seen | elt->deleted << 1 | elt->flagged << 2 |
					  elt->answered << 3 | elt->draft << 4) ||
		     before_flags != elt->user_flags))
			mm_flags(stream, i);
	}
	keywords_load(stream);
}

long mail_ping(MAILSTREAM *stream)
{
	char err[CLB_ERRLEN];

	if (!cl_box(stream))
		return NIL;
	if (clb_ping(cl_box(stream), err) < 0) {
		cl_error("Can't check", stream->mailbox, err);
		return NIL;
	}
	keywords_load(stream);
	return T;
}

void mail_check(MAILSTREAM *stream)
{
	char err[CLB_ERRLEN];

	if (!cl_box(stream))
		return;
	if (clb_check(cl_box(stream), err) < 0)
		cl_error("Can't save", stream->mailbox, err);
	else
		mm_log("Check completed", NIL);
}

/* The UIDs of the messages elt->sequence marks, malloc'd. */
static uint32_t *marked_uids(MAILSTREAM *stream, size_t *n)
{
	uint32_t *uids = malloc((stream->nmsgs ? stream->nmsgs : 1) * sizeof(*uids));

	*n = 0;
	if (!uids) {
		mm_fatal("out of memory");
		abort();
	}
	for (unsigned long i = 1; i <= stream->nmsgs; i++)
		if (mail_elt(stream, i)->sequence)
			uids[(*n)++] = (uint32_t)mail_elt(stream, i)->private.uid;
	return uids;
}

long mail_expunge_full(MAILSTREAM *stream, char *sequence, long options)
{
	struct clb_box *box = cl_box(stream);
	uint32_t *uids = NULL;
	size_t n = 0;
	char err[CLB_ERRLEN];
	int rc;

	if (!box)
		return NIL;
	if (stream->rdonly) {
		mm_log("Expunge ignored on readonly mailbox", WARN);
		return NIL;
	}
	if (sequence) {
		if (!cl_sequence(stream, sequence, (options & EX_UID) != 0))
			return NIL;
		uids = marked_uids(stream, &n);
	}
	rc = clb_expunge(box, uids, n, err);
	free(uids);
	if (rc < 0) {
		cl_error("Can't expunge", stream->mailbox, err);
		return NIL;
	}
	return T;
}

long mail_copy_full(MAILSTREAM *stream, char *sequence, char *mailbox, long options)
{
	struct clb_box *box = cl_box(stream);
	uint32_t *msgnos;
	size_t n = 0;
	char err[CLB_ERRLEN];
	long ok = T;

	if (!box || !cl_sequence(stream, sequence, (options & CP_UID) != 0))
		return NIL;
	msgnos = malloc((stream->nmsgs ? stream->nmsgs : 1) * sizeof(*msgnos));
	if (!msgnos) {
		mm_fatal("out of memory");
		abort();
	}
	for (unsigned long i = 1; i <= stream->nmsgs; i++)
		if (mail_elt(stream, i)->sequence)
			msgnos[n++] = (uint32_t)i;
	if (n && clb_copy(box, msgnos, n, mailbox, err) < 0) {
		cl_error("Can't copy to", mailbox, err);
		ok = NIL;
	} else if (n && (options & CP_MOVE)) {
		for (size_t i = 0; i < n && ok; i++)
			if (clb_store(box, msgnos[i], 1, MF_DELETED, 0, err) < 0)
				ok = NIL;
		if (!ok)
			cl_error("Can't mark the moved messages in", stream->mailbox, err);
	}
	free(msgnos);
	return ok;
}

/* The driver of an existing local mailbox, found by opening it read-only;
 * NIL (and, with a purpose, the reason through mm_log) when there is none. */
DRIVER *mail_valid(MAILSTREAM *stream, char *mailbox, char *purpose)
{
	struct clb_box *box;
	DRIVER *d;
	char err[CLB_ERRLEN] = "network mailboxes are not supported";

	if (!mailbox || *mailbox == '{' || clb_open(mailbox, 1, NULL, NULL, &box, err) < 0) {
		if (purpose) {
			char what[MAILTMPLEN];

			snprintf(what, sizeof(what), "Can't %s", purpose);
			cl_error(what, mailbox, err);
		}
		return NIL;
	}
	d = cl_driver_for(clb_driver(box));
	(void)clb_close(box, 0, err);
	return d;
}

long mail_sequence(MAILSTREAM *stream, unsigned char *sequence)
{
	return cl_sequence(stream, (char *)sequence, 0);
}

long mail_uid_sequence(MAILSTREAM *stream, unsigned char *sequence)
{
	return cl_sequence(stream, (char *)sequence, 1);
}

unsigned long mail_longdate(MESSAGECACHE *elt)
{
	return (unsigned long)cl_elt_time(elt, NULL);
}

/* The body part a section names ("1", "2.3"), or NIL. */
BODY *mail_body(MAILSTREAM *stream, unsigned long msgno, unsigned char *section)
{
	BODY *b;
	const char *p = (const char *)section;

	if (!section || !*section || !mail_fetch_structure(stream, msgno, &b, NIL))
		return NIL;
	while (b && *p) {
		char *end;
		unsigned long n = strtoul(p, &end, 10);
		PART *part;

		if (!n || (*end && *end != '.'))
			return NIL;
		/* a message/rfc822 part's parts are its message's */
		if (b->type == TYPEMESSAGE && b->nested.msg && b->nested.msg->body)
			b = b->nested.msg->body;
		if (b->type == TYPEMULTIPART) {
			for (part = b->nested.part; part && --n; part = part->next)
				;
			b = part ? &part->body : NIL;
		} else if (n != 1) {
			b = NIL;   /* a single part is only part 1 */
		}
		p = *end ? end + 1 : end;
	}
	return b;
}
