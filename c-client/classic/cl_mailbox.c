/* cl_mailbox.c: classic calls on mailboxes by name: status, create,
 * delete, rename, list, subscriptions, append. Failures reach the program
 * through mm_log, as the classic library reported them. */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cl_int.h"

long mail_status(MAILSTREAM *stream, char *mbx, long flags)
{
	struct clb_status st;
	MAILSTATUS out;
	char err[CLB_ERRLEN];

	if (!mbx || clb_status(mbx, &st, err) < 0) {
		cl_error("Can't get the status of", mbx ? mbx : "", err);
		return NIL;
	}
	memset(&out, 0, sizeof(out));
	out.flags = flags & (SA_MESSAGES | SA_RECENT | SA_UNSEEN | SA_UIDNEXT | SA_UIDVALIDITY);
	out.messages = st.messages;
	out.recent = st.recent;
	out.unseen = st.unseen;
	out.uidnext = st.uidnext;
	out.uidvalidity = st.uidvalidity;
	mm_status(stream, mbx, &out);
	return T;
}

/* Run op on a local name; mm_log says why when it fails. */
static long by_name(const char *what, const char *name, int rc, const char *err)
{
	if (rc < 0) {
		cl_error(what, name, err);
		return NIL;
	}
	return T;
}

long mail_create(MAILSTREAM *stream, char *mailbox)
{
	char err[CLB_ERRLEN] = "";

	return by_name("Can't create mailbox", mailbox, clb_create(mailbox, err), err);
}

long mail_delete(MAILSTREAM *stream, char *mailbox)
{
	char err[CLB_ERRLEN] = "";

	return by_name("Can't delete mailbox", mailbox, clb_delete(mailbox, err), err);
}

long mail_rename(MAILSTREAM *stream, char *old, char *newname)
{
	char err[CLB_ERRLEN] = "";

	return by_name("Can't rename mailbox", old, clb_rename(old, newname, err), err);
}

long mail_subscribe(MAILSTREAM *stream, char *mailbox)
{
	char err[CLB_ERRLEN] = "";

	return by_name("Can't subscribe to", mailbox, clb_subscribe(mailbox, 1, err), err);
}

long mail_unsubscribe(MAILSTREAM *stream, char *mailbox)
{
	char err[CLB_ERRLEN] = "";

	return by_name("Can't unsubscribe from", mailbox, clb_subscribe(mailbox, 0, err), err);
}

struct list_ctx {
	MAILSTREAM *stream;
	int lsub;
};

/* One native LIST answer as the program's mm_list/mm_lsub. */
static void list_one(void *ctx, const char *name, int attrs)
{
	static const struct {
		int native;
		long classic;
	} map[] = {
		{LA_NOINFERIORS, LATT_NOINFERIORS}, {LA_NOSELECT, LATT_NOSELECT},
		{LA_MARKED, LATT_MARKED},           {LA_UNMARKED, LATT_UNMARKED},
		{LA_HASCHILDREN, LATT_HASCHILDREN}, {LA_HASNOCHILDREN, LATT_HASNOCHILDREN},
	};
	struct list_ctx *c = ctx;
	long a = 0;

	for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
		if (attrs & map[i].native)
			a |= map[i].classic;
	if (c->lsub)
		mm_lsub(c->stream, '/', (char *)name, a);
	else
		mm_list(c->stream, '/', (char *)name, a);
}

static void list_any(MAILSTREAM *stream, char *ref, char *pat, int lsub)
{
	struct list_ctx c = {stream, lsub};
	char err[CLB_ERRLEN] = "";

	if (clb_list(ref ? ref : "", pat ? pat : "", lsub, list_one, &c, err) < 0)
		cl_error("Can't list", pat ? pat : "", err);
}

void mail_list(MAILSTREAM *stream, char *ref, char *pat)
{
	list_any(stream, ref, pat, 0);
}

void mail_lsub(MAILSTREAM *stream, char *ref, char *pat)
{
	list_any(stream, ref, pat, 1);
}

/* The bytes of a STRING from where it stands, malloc'd. */
static char *string_bytes(STRING *s, size_t *len)
{
	unsigned long n = SIZE(s);
	char *p = malloc(n ? n : 1);

	if (!p) {
		mm_fatal("out of memory");
		abort();
	}
	for (unsigned long i = 0; i < n; i++)
		p[i] = SNX(s);
	*len = n;
	return p;
}

struct one_message {
	char *flags, *date;
	STRING *message;
	int given;
};

/* An append_t that hands out one message, then the end. */
static long one_message(MAILSTREAM *stream, void *data, char **flags, char **date,
			STRING **message)
{
	struct one_message *m = data;

	*flags = m->given ? NIL : m->flags;
	*date = m->given ? NIL : m->date;
	*message = m->given ? NIL : m->message;
	m->given = 1;
	return T;
}

long mail_append_full(MAILSTREAM *stream, char *mailbox, char *flags, char *date,
		      STRING *message)
{
	struct one_message m = {flags, date, message, 0};

	return mail_append_multiple(stream, mailbox, one_message, &m);
}

/* Free what append gathered. */
static void news_free(struct clb_new *msgs, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free((char *)msgs[i].text);
		cl_free_names(msgs[i].keywords);
	}
	free(msgs);
}

/* Whether name is on the server (the same {host...} part) of the network
 * stream: UW appended on that stream's own connection, whose answer told
 * the program of the new message at once; ours goes on a connection of its
 * own, so the stream pings to hear the same news. */
static int on_stream_server(MAILSTREAM *stream, const char *name)
{
	const char *a = stream && stream->mailbox && *stream->mailbox == '{' ?
				strchr(stream->mailbox, '}') : NULL;
	const char *b = *name == '{' ? strchr(name, '}') : NULL;

	return a && b && a - stream->mailbox == b - name &&
	       !strncasecmp(stream->mailbox, name, (size_t)(b - name));
}

/* Gather every message the program hands out, then append them all at
 * once (all or none, as MULTIAPPEND). */
long mail_append_multiple(MAILSTREAM *stream, char *mailbox, append_t af, void *data)
{
	struct clb_new *msgs = NULL;
	size_t n = 0, cap = 0;
	char *flags, *date, err[CLB_ERRLEN] = "";
	STRING *message;
	long ok = T;

	while (ok && (ok = af(stream, data, &flags, &date, &message)) && message) {
		struct clb_new *m;
		MESSAGECACHE elt;

		if (n == cap) {
			cap = cap ? 2 * cap : 16;
			msgs = realloc(msgs, cap * sizeof(*msgs));
			if (!msgs) {
				mm_fatal("out of memory");
				abort();
			}
		}
		m = &msgs[n++];
		memset(m, 0, sizeof(*m));
		m->text = string_bytes(message, &m->len);
		if (flags && !cl_flag_list(flags, &m->flags, &m->keywords)) {
			cl_error("Can't append to", mailbox, "unknown system flag");
			ok = NIL;
		}
		if (ok && date && *date) {
			memset(&elt, 0, sizeof(elt));
			if (!mail_parse_date(&elt, (unsigned char *)date)) {
				cl_error("Can't append to", mailbox, "bad date");
				ok = NIL;
			} else {
				m->date = cl_elt_time(&elt, &m->tz_minutes);
			}
		}
	}
	if (ok && n && clb_append(mailbox, msgs, n, err) < 0) {
		cl_error("Can't append to", mailbox, err);
		ok = NIL;
	} else if (ok && n && on_stream_server(stream, mailbox)) {
		mail_ping(stream);
	}
	news_free(msgs, n);
	return ok;
}

struct scan_ctx {
	MAILSTREAM *stream;
	char *contents;
	char **names;
	size_t n, cap;
};

static void scan_collect(void *ctx, const char *name, int attrs)
{
	struct scan_ctx *c = ctx;

	if (attrs & LA_NOSELECT)
		return;
	if (c->n == c->cap) {
		c->cap = c->cap ? 2 * c->cap : 16;
		fs_resize((void **)&c->names, c->cap * sizeof(*c->names));
	}
	c->names[c->n++] = cpystr(name);
}

/* LIST, keeping the mailboxes whose messages hold contents somewhere in
 * their text (all of them when contents is NIL). */
void mail_scan(MAILSTREAM *stream, char *ref, char *pat, char *contents)
{
	struct scan_ctx c = {stream, contents, NIL, 0, 0};
	char err[CLB_ERRLEN] = "";

	if (clb_list(ref ? ref : "", pat ? pat : "", 0, scan_collect, &c, err) < 0)
		cl_error("Can't scan", pat ? pat : "", err);
	for (size_t i = 0; i < c.n; i++) {
		MAILSTREAM *s = contents ? mail_open(NIL, c.names[i], OP_READONLY | OP_SILENT) : NIL;
		int found = !contents;

		if (s) {
			SEARCHPGM *pgm = mail_newsearchpgm();

			pgm->text = mail_newstringlist();
			pgm->text->text.data = (unsigned char *)cpystr(contents);
			pgm->text->text.size = strlen(contents);
			if (mail_search_full(s, NIL, pgm, SE_FREE))
				for (unsigned long m = 1; m <= s->nmsgs && !found; m++)
					found = mail_elt(s, m)->searched;
			mail_close(s);
		}
		if (found)
			mm_list(stream, '/', c.names[i], 0);
		fs_give((void **)&c.names[i]);
	}
	if (c.names)
		fs_give((void **)&c.names);
}
