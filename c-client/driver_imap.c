/* driver_imap.c: a mailbox on an IMAP server, behind the same driver table
 * as the local formats: mail_open("{host/ssl}INBOX") selects it, the
 * message array mirrors the server's (UID, flags, date, size fetched at
 * open and on new mail), texts are fetched on demand, and flag changes are
 * stored back at check/flush. Namespace calls open a connection of their own. */
#include "driver.h"
#include "imap_cache.h"
#include "imap_client.h"
#include "imap_push.h"
#include "rfc822_api.h"
#include "search.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

struct imsg {
	struct message m;
	uint32_t srv_flags;       /* what the server last said */
	uint64_t srv_kw;
	int known;                /* its UID and attributes have arrived */
};

/* Reading messages in order (a copy, a search) fetches the next ones in
 * the same command, within these bounds: one round trip per window, not
 * per message. */
#define AHEAD_MSGS 16
#define AHEAD_BYTES (4u << 20)

struct ibox {
	struct imap_conn *c;
	char *remote;             /* the mailbox name on the server */
	struct buf text;          /* the last header fetched */
	uint32_t text_uid;
	int text_got;
	struct buf ahead[AHEAD_MSGS];   /* whole texts of the last window */
	uint32_t ahead_uid[AHEAD_MSGS];
	int ahead_got[AHEAD_MSGS];
	uint32_t last_msgno;      /* the text asked for last */
	/* The server's message count (EXISTS less EXPUNGEs); messages are
	 * added only as their FETCH data arrives, so a server claiming
	 * billions costs nothing until it sends them. */
	uint32_t exists;
	int learning;             /* in learn_new's FETCH: new messages may come */
	int quiet;                /* our own FETCH: flag news are not reported */
	int wake;                 /* eventfd: news already read, or -1 */
	/* QRESYNC (RFC 7162): enabled; the server's HIGHESTMODSEQ as last
	 * heard; the SELECT that resynchronises a cached copy is under way
	 * (its EXISTS may be below what the copy holds); opened. */
	int qresync;
	uint64_t modseq;
	int resyncing;
	int opened;
};

#define IB(box) ((struct ibox *)(box)->drvdata)
#define IM(box, i) ((struct imsg *)(box)->msgs[i])

/* Connect as the session's program allows, for the network name path. */
static struct imap_conn *connect_to(struct mail_session *s, const char *path,
				    struct net_name *nm, struct mail_err *err)
{
	if (net_name_parse(path, nm, err) < 0)
		return NULL;
	if (!s->client) {
		mail_err_set(err, MAIL_BADNAME, "network mailbox names are not served here");
		return NULL;
	}
	return imap_connect(nm, s->client, s->user, err);
}

/* Index of keyword name, added (within mail_keywords_max) when new. */
static int keyword_at(struct mailbox *box, const char *name)
{
	int k = mail_keyword(box, name, 0);

	if (k >= 0 || box->nkeywords >= mail_keywords_max(box) || !*name)
		return k;
	box->keywords[box->nkeywords] = xstrdup(name);
	return (int)box->nkeywords++;
}

/* A flag list into flags and keyword bits. */
static void flags_of(struct mailbox *box, const struct imap_item *it, uint32_t *flags,
		     uint64_t *kw)
{
	*flags = 0;
	*kw = 0;
	for (; it; it = it->next) {
		const char *f = imap_item_text(it);
		int k;
		if (!f)
			continue;
		size_t i = 0;
		while (i < IMAP_SYSFLAGS && strcasecmp(f, imap_sysflags[i].name))
			i++;
		if (i < IMAP_SYSFLAGS)
			*flags |= imap_sysflags[i].flag;
		else if (it->type == II_ATOM && mail_keyword_valid(f) &&
			 (k = keyword_at(box, f)) >= 0)
			*kw |= 1ULL << k;   /* only what a local mailbox may keep */
	}
}

/* "17-Jul-1996 02:44:25 -0700" through the RFC 5322 date parser. */
static void internal_date(struct message *m, const char *s)
{
	char d[64];

	str_copy(d, s, sizeof d);
	for (int i = 0, dashes = 0; d[i] && dashes < 2; i++)
		if (d[i] == '-' && ++dashes)
			d[i] = ' ';
	rfc822_parse_date(d, strlen(d), &m->internal_date, &m->tz_minutes);
}

/* Server's flags for m; reported when they change what the program saw
 * and it had nothing of its own waiting to be stored. */
static void flags_news(struct mailbox *box, uint32_t i, uint32_t flags, uint64_t kw)
{
	struct imsg *im = IM(box, i);
	int pending = (im->m.flags & MF_STORABLE) != (im->srv_flags & MF_STORABLE) ||
		      kwset_low(&im->m.keywords) != im->srv_kw;

	if (!pending || !im->known) {
		int changed = im->known &&
			      (im->m.flags != flags || kwset_low(&im->m.keywords) != kw);
		im->m.flags = flags;
		kwset_from_low(&im->m.keywords, kw);
		if (changed && !IB(box)->quiet)
			mail_ev_flags(box, i + 1);
	}
	im->srv_flags = flags;
	im->srv_kw = kw;
}

/* A text of the window being fetched, into its slot. */
static void ahead_store(struct ibox *ib, uint32_t uid, const struct imap_item *v)
{
	for (int i = 0; i < AHEAD_MSGS; i++)
		if (ib->ahead_uid[i] == uid && !ib->ahead_got[i]) {
			buf_reset(&ib->ahead[i]);
			buf_append(&ib->ahead[i], v->s, v->len);
			ib->ahead_got[i] = 1;
		}
}

/* The message a FETCH response is about: by its UID where it gives one
 * that is not the numbered message's (a copy being resynchronised may
 * hear of a change before it hears of the vanished messages before it). */
static uint32_t fetch_target(struct mailbox *box, uint32_t msgno, const struct imap_item *it)
{
	if (msgno < 1 || msgno > box->nmsgs || !IM(box, msgno - 1)->known)
		return msgno;
	for (it = it->child; it && it->next; it = it->next->next)
		if (imap_item_text(it) && !strcasecmp(it->s, "UID") && it->next->type == II_NUMBER)
			return it->next->num == box->msgs[msgno - 1]->uid ? msgno :
			       it->next->num <= UINT32_MAX ? mail_msgno(box, (uint32_t)it->next->num) : 0;
	return msgno;
}

/* One FETCH response's items. */
static void on_fetch(struct mailbox *box, uint32_t msgno, const struct imap_item *it)
{
	struct ibox *ib = IB(box);

	if (ib->learning && msgno == box->nmsgs + 1 && msgno <= ib->exists)
		mail_msg_add(box, xcalloc(1, sizeof(struct imsg)));
	if (!it || it->type != II_LIST || (msgno = fetch_target(box, msgno, it)) < 1 ||
	    msgno > box->nmsgs)
		return;
	struct imsg *im = IM(box, msgno - 1);
	for (it = it->child; it && it->next; it = it->next->next) {
		const struct imap_item *v = it->next;
		const char *k = imap_item_text(it);
		if (!k)
			continue;
		if (!strcasecmp(k, "UID") && v->type == II_NUMBER && v->num <= UINT32_MAX &&
		    !im->known)
			im->m.uid = (uint32_t)v->num;   /* a message's UID never changes */
		else if (!strcasecmp(k, "FLAGS") && v->type == II_LIST) {
			uint32_t f;
			uint64_t kw;
			flags_of(box, v->child, &f, &kw);
			flags_news(box, msgno - 1, f, kw);
		} else if (!strcasecmp(k, "INTERNALDATE") && imap_item_text(v))
			internal_date(&im->m, v->s);
		else if (!strcasecmp(k, "RFC822.SIZE") && v->type == II_NUMBER)
			im->m.size = v->num;
		else if (!strcasecmp(k, "BODY[HEADER]") && v->type == II_STRING &&
			 im->m.uid == ib->text_uid) {
			buf_reset(&ib->text);
			buf_append(&ib->text, v->s, v->len);
			ib->text_got = 1;
		} else if (!strcasecmp(k, "BODY[]") && v->type == II_STRING) {
			ahead_store(ib, im->m.uid, v);
		}
	}
	im->known = im->m.uid != 0;
}

static void on_code(struct mailbox *box, const char *code, const struct imap_item *a)
{
	if (!code)
		return;
	if (!strcmp(code, "UIDVALIDITY") && a && a->type == II_NUMBER)
		box->uidvalidity = (uint32_t)a->num;
	else if (!strcmp(code, "UIDNEXT") && a && a->type == II_NUMBER)
		box->uidnext = (uint32_t)a->num;
	else if (!strcmp(code, "PERMANENTFLAGS") && a && a->type == II_LIST) {
		for (const struct imap_item *f = a->child; f; f = f->next)
			if (imap_item_text(f) && !strcmp(f->s, "\\*"))
				box->keywords_creatable = 1;
	} else if (!strcmp(code, "READ-ONLY"))
		box->readonly = 1;
	else if (!strcmp(code, "HIGHESTMODSEQ") && a && a->type == II_NUMBER)
		IB(box)->modseq = a->num;
	else if (!strcmp(code, "NOMODSEQ"))
		IB(box)->modseq = 0;
}

static void on_exists(struct mailbox *box, uint32_t n)
{
	if (n >= box->nmsgs || IB(box)->resyncing)
		IB(box)->exists = n;
}

static void on_expunge(struct mailbox *box, uint32_t msgno)
{
	if (msgno < 1 || msgno > IB(box)->exists)
		return;
	IB(box)->exists--;
	if (msgno > box->nmsgs)
		return;
	struct message *m = mail_msg_take(box, msgno - 1);
	pool_free(m->pool);
	free(m);
}

/* VANISHED (RFC 7162 3.2.10): UIDs expunged, now (as EXPUNGE would say)
 * or, with EARLIER, before this session (never counted in EXISTS). */
static void on_vanished(struct mailbox *box, const struct imap_item *a)
{
	struct ibox *ib = IB(box);
	int earlier = a && a->type == II_LIST;
	struct numset set;

	if (earlier)
		a = a->next;
	if (!imap_item_text(a) || numset_parse(ib->c->pool, a->s, a->len, &set) < 0)
		return;
	if (set.n > 4096) {
		ib->c->bye = 1;   /* more ranges than a server needs: not worth the time */
		return;
	}
	const struct mail_events *ev = box->ev;
	if (earlier)
		box->ev = NULL;   /* gone while the program was away: no news to it */
	for (uint32_t i = box->nmsgs; i > 0; i--)
		if (numset_contains(&set, box->msgs[i - 1]->uid, UINT32_MAX)) {
			ib->exists += earlier;   /* on_expunge takes one off */
			on_expunge(box, i);
		}
	box->ev = ev;
}

/* Every untagged response while the mailbox is selected. */
static void on_untagged(void *ctx, const struct imap_resp *r)
{
	struct mailbox *box = ctx;
	uint32_t f;
	uint64_t kw;

	if (r->code && !strcmp(r->code, "ALERT") && r->text)
		mail_ev_notice(box, r->text);   /* RFC 3501 7.1: the user must see it */
	else if (r->code)
		on_code(box, r->code, r->code_args);
	else if (r->has_num && imap_resp_is(r, "EXISTS"))
		on_exists(box, r->num);
	else if (r->has_num && imap_resp_is(r, "EXPUNGE"))
		on_expunge(box, r->num);
	else if (r->has_num && imap_resp_is(r, "FETCH"))
		on_fetch(box, r->num, r->args);
	else if (imap_resp_is(r, "VANISHED"))
		on_vanished(box, r->args);
	else if (imap_resp_is(r, "FLAGS") && r->args && r->args->type == II_LIST)
		flags_of(box, r->args->child, &f, &kw);   /* learns the keyword names */
}

static void count_recent(struct mailbox *box)
{
	box->recent = 0;
	for (uint32_t i = 0; i < box->nmsgs; i++)
		box->recent += !!(box->msgs[i]->flags & MF_RECENT);
}

/* Take back the messages from first on, never reported (a failed learn_new
 * leaves none without its UID, or out of order, for the program to see). */
static void drop_from(struct mailbox *box, uint32_t first)
{
	const struct mail_events *ev = box->ev;

	box->ev = NULL;
	while (box->nmsgs >= first) {
		struct message *m = mail_msg_take(box, box->nmsgs - 1);
		pool_free(m->pool);
		free(m);
	}
	box->ev = ev;
}

/* Fetch what we keep of the messages the server announced, then report. */
static int learn_new(struct mailbox *box, uint32_t before, struct mail_err *err)
{
	struct ibox *ib = IB(box);

	if (ib->exists > box->nmsgs) {
		uint32_t first = box->nmsgs + 1;
		ib->quiet = ib->learning = 1;
		int r = imap_cmd(ib->c, on_untagged, box, err,
				 "FETCH %u:* (UID FLAGS INTERNALDATE RFC822.SIZE)", first);
		ib->quiet = ib->learning = 0;
		if (r < 0) {
			drop_from(box, first);   /* unchecked: learnt again next time */
			return -1;
		}
		for (uint32_t i = first - 1; i < ib->exists; i++)
			if (i >= box->nmsgs || !IM(box, i)->known ||
			    (i > 0 && IM(box, i)->m.uid <= IM(box, i - 1)->m.uid)) {
				ib->c->bye = 1;   /* we no longer agree on the numbers */
				mail_err_set(err, MAIL_FAIL, "%s sent no UID, or one out of "
					     "order, for message %u", ib->c->nm.host, i + 1);
				drop_from(box, first);
				return -1;
			}
	}
	count_recent(box);
	if (box->nmsgs && box->uidnext <= box->msgs[box->nmsgs - 1]->uid)
		box->uidnext = box->msgs[box->nmsgs - 1]->uid + 1;   /* no UIDNEXT said, or stale */
	if (box->nmsgs != before) {
		mail_ev_exists(box);
		mail_ev_recent(box);
	}
	return 0;
}

static int changed(struct mailbox *box, uint32_t i);

/* What the session keeps of the mailbox for its next open: all of it as
 * the server has it, or nothing. */
static void cache_keep(struct mailbox *box)
{
	struct ibox *ib = IB(box);

	if (!ib->qresync || !ib->modseq || ib->c->bye || ib->exists != box->nmsgs)
		return;
	for (uint32_t i = 0; i < box->nmsgs; i++)
		if (!IM(box, i)->known || changed(box, i))
			return;   /* (a read-only session's own flags) */
	imap_cache_put(box->sess, box, ib->modseq);
}

/* The messages of a copy kept before, as the mailbox's own until the
 * server says what changed. */
static void cache_load(struct mailbox *box, const struct imap_cached *c)
{
	for (uint32_t i = 0; i < c->n; i++) {
		struct imsg *im = xcalloc(1, sizeof *im);
		uint64_t kw = 0, was = kwset_low(&c->msgs[i].keywords);
		for (unsigned k = 0; k < c->nkeywords; k++) {
			int at = was >> k & 1 ? keyword_at(box, c->keywords[k]) : -1;
			if (at >= 0)
				kw |= 1ULL << at;
		}
		im->m.uid = c->msgs[i].uid;
		im->m.flags = im->srv_flags = c->msgs[i].flags;
		kwset_from_low(&im->m.keywords, kw);
		im->srv_kw = kw;
		im->m.internal_date = c->msgs[i].internal_date;
		im->m.tz_minutes = c->msgs[i].tz_minutes;
		im->m.size = c->msgs[i].size;
		im->known = 1;
		mail_msg_add(box, &im->m);
	}
	IB(box)->exists = c->n;
}

static void imap_close(struct mailbox *box)
{
	struct ibox *ib = IB(box);

	if (!ib)
		return;
	if (ib->opened)
		cache_keep(box);
	imap_disconnect(ib->c);
	mail_msgs_free(box);
	buf_free(&ib->text);
	for (int i = 0; i < AHEAD_MSGS; i++)
		buf_free(&ib->ahead[i]);
	free(ib->remote);
	if (ib->wake >= 0)
		close(ib->wake);
	free(ib);
	box->drvdata = NULL;
}

/* SELECT (EXAMINE), with QRESYNC where the server has it: a copy this
 * session kept is loaded first and the server says only what changed
 * since (VANISHED, FETCH); a copy the server cannot bring up to date
 * (another UIDVALIDITY, NOMODSEQ) is dropped and the messages learnt anew. */
static int select_box(struct mailbox *box, struct mail_err *err)
{
	struct ibox *ib = IB(box);
	struct imap_cached *c = NULL;
	struct mail_err ignore;

	if ((ib->c->caps & (IC_QRESYNC | IC_ENABLE)) == (IC_QRESYNC | IC_ENABLE) &&
	    imap_cmd(ib->c, NULL, NULL, &ignore, "ENABLE QRESYNC") == 0) {
		ib->qresync = 1;
		if ((c = imap_cache_take(box->sess, box->path)) && c->uidvalidity && c->modseq)
			cache_load(box, c);
	}
	imap_cmd_begin(ib->c, "%s ", box->readonly ? "EXAMINE" : "SELECT");
	int r = imap_cmd_mailbox(ib->c, ib->remote, err);
	if (r == 0 && box->nmsgs)
		imap_cmd_text(ib->c, " (QRESYNC (%u %llu))", c->uidvalidity,
			      (unsigned long long)c->modseq);
	ib->resyncing = ib->quiet = 1;   /* changes made while closed are no news */
	if (r == 0)
		r = imap_cmd_end(ib->c, on_untagged, box, err);
	ib->resyncing = ib->quiet = 0;
	if (r == 0)
		on_code(box, ib->c->resp_code, ib->c->resp_args);
	if (c && (box->uidvalidity != c->uidvalidity || !ib->modseq))
		mail_msgs_free(box);
	imap_cache_free_one(c);
	return r;
}

static int imap_open(struct mailbox *box, struct mail_err *err)
{
	struct net_name nm;
	struct ibox *ib = xcalloc(1, sizeof *ib);

	box->keywords_max = KWSET_INLINE;   /* the flag bookkeeping here is a 64-bit mask */

	box->drvdata = ib;
	ib->wake = -1;
	buf_init(&ib->text);
	for (int i = 0; i < AHEAD_MSGS; i++)
		buf_init(&ib->ahead[i]);
	if (!(ib->c = connect_to(box->sess, box->path, &nm, err)))
		goto fail;
	ib->remote = xstrdup(*nm.mailbox ? nm.mailbox : "INBOX");
	box->readonly |= nm.readonly;
	if (select_box(box, err) < 0)
		goto fail;
	const struct mail_events *ev = box->ev;
	box->ev = NULL;   /* what is there at open is no news */
	int r = learn_new(box, box->nmsgs, err);
	box->ev = ev;
	if (r < 0)
		goto fail;
	ib->opened = 1;
	return 0;
fail:
	imap_close(box);
	return -1;
}

/* The connection must be alive for the next command. */
static int alive(struct mailbox *box, struct mail_err *err)
{
	if (!IB(box)->c->bye)
		return 0;
	mail_err_set(err, MAIL_FAIL, "connection to %s lost", IB(box)->c->nm.host);
	return -1;
}

static int imap_ping(struct mailbox *box, struct mail_err *err)
{
	uint32_t before = box->nmsgs;

	if (alive(box, err) < 0 || imap_cmd(IB(box)->c, on_untagged, box, err, "NOOP") < 0)
		return -1;
	return learn_new(box, before, err);
}

/* "(\Seen kw1 ...)" for a flag set. */
static void flag_list(struct mailbox *box, uint32_t flags, uint64_t kw, struct buf *out)
{
	buf_putc(out, '(');
	for (size_t i = 0; i < IMAP_SYSFLAGS; i++)
		if (flags & imap_sysflags[i].flag & MF_STORABLE)
			buf_printf(out, "%s%s", out->len > 1 ? " " : "", imap_sysflags[i].name);
	for (unsigned k = 0; k < box->nkeywords; k++)
		if ((kw >> k & 1) && mail_keyword_valid(box->keywords[k]))   /* no injection */
			buf_printf(out, "%s%s", out->len > 1 ? " " : "", box->keywords[k]);
	buf_putc(out, ')');
}

static int changed(struct mailbox *box, uint32_t i)
{
	struct imsg *im = IM(box, i);

	return (im->m.flags & MF_STORABLE) != (im->srv_flags & MF_STORABLE) ||
	       kwset_low(&im->m.keywords) != im->srv_kw;
}

/* Store the messages whose flags now equal those of message i, as one
 * UID STORE (a set of bounded length); they are then in sync. */
static int store_like(struct mailbox *box, uint32_t i, struct mail_err *err)
{
	struct imsg *im = IM(box, i);
	uint32_t f = im->m.flags & MF_STORABLE;
	uint64_t kw = kwset_low(&im->m.keywords);
	struct buf set, fl;

	buf_init(&set);
	buf_init(&fl);
	for (uint32_t j = i; j < box->nmsgs && set.len < 4000; j++) {
		struct imsg *o = IM(box, j);
		if (changed(box, j) && (o->m.flags & MF_STORABLE) == f &&
		    kwset_low(&o->m.keywords) == kw) {
			buf_printf(&set, "%s%u", set.len ? "," : "", o->m.uid);
			o->srv_flags = (o->srv_flags & ~MF_STORABLE) | f;
			o->srv_kw = kw;
		}
	}
	flag_list(box, f, kw, &fl);
	int r = imap_cmd(IB(box)->c, on_untagged, box, err, "UID STORE %s FLAGS.SILENT %s",
			 set.data, fl.data);
	buf_free(&set);
	buf_free(&fl);
	return r;
}

/* Send this session's flag changes. */
static int imap_flush(struct mailbox *box, struct mail_err *err)
{
	if (box->readonly)
		return 0;
	if (alive(box, err) < 0)
		return -1;
	for (uint32_t i = 0; i < box->nmsgs; i++)
		if (changed(box, i) && store_like(box, i, err) < 0)
			return -1;
	return 0;
}

static int imap_check(struct mailbox *box, struct mail_err *err)
{
	return imap_flush(box, err);
}

static int imap_expunge(struct mailbox *box, const uint32_t *uids, size_t nuids,
			struct mail_err *err)
{
	size_t n;
	char *set = mail_expunge_set(box, uids, nuids, &n);
	struct buf b;
	int r = 0;

	buf_init(&b);
	for (uint32_t i = 0; uids && i < box->nmsgs; i++)
		if (set[i])
			buf_printf(&b, "%s%u", b.len ? "," : "", box->msgs[i]->uid);
	free(set);
	if (uids && n && !(IB(box)->c->caps & IC_UIDPLUS)) {
		mail_err_set(err, MAIL_FAIL, "%s has no UID EXPUNGE (UIDPLUS)", IB(box)->c->nm.host);
		r = -1;
	} else if (imap_flush(box, err) < 0) {
		r = -1;
	} else if (uids && n) {
		r = imap_cmd(IB(box)->c, on_untagged, box, err, "UID EXPUNGE %s", b.data);
	} else if (!uids) {
		r = imap_cmd(IB(box)->c, on_untagged, box, err, "EXPUNGE");
	}
	buf_free(&b);
	return r;
}

static int no_text(struct mailbox *box, uint32_t msgno, struct mail_err *err)
{
	mail_err_set(err, MAIL_FAIL, "%s sent no text for message %u", IB(box)->c->nm.host, msgno);
	return -1;
}

/* The slot holding uid's text, or -1. */
static int ahead_slot(const struct ibox *ib, uint32_t uid)
{
	for (int i = 0; i < AHEAD_MSGS; i++)
		if (ib->ahead_uid[i] == uid && ib->ahead_got[i])
			return i;
	return -1;
}

/* UID FETCH of message msgno's text and, when the reads go in order, the
 * next ones' (within AHEAD_MSGS and AHEAD_BYTES), into the slots. */
static int ahead_fetch(struct mailbox *box, uint32_t msgno, struct mail_err *err)
{
	struct ibox *ib = IB(box);
	int seq = msgno == ib->last_msgno + 1;
	uint64_t bytes = box->msgs[msgno - 1]->size;
	struct buf set;
	int k = 0;

	buf_init(&set);
	memset(ib->ahead_uid, 0, sizeof ib->ahead_uid);
	memset(ib->ahead_got, 0, sizeof ib->ahead_got);
	do {
		ib->ahead_uid[k] = box->msgs[msgno - 1 + k]->uid;
		buf_printf(&set, "%s%u", k ? "," : "", ib->ahead_uid[k]);
		k++;
	} while (seq && k < AHEAD_MSGS && msgno + k <= box->nmsgs &&
		 (bytes += box->msgs[msgno - 1 + k]->size) <= AHEAD_BYTES);
	ib->quiet = 1;
	int r = imap_cmd(ib->c, on_untagged, box, err, "UID FETCH %s (BODY.PEEK[])", set.data);
	ib->quiet = 0;
	buf_free(&set);
	return r;
}

static int imap_fetch(struct mailbox *box, uint32_t msgno, const char **text, size_t *len,
		      struct mail_err *err)
{
	struct ibox *ib = IB(box);
	uint32_t uid = box->msgs[msgno - 1]->uid;
	int i = ahead_slot(ib, uid);

	if (i < 0 && (alive(box, err) < 0 || ahead_fetch(box, msgno, err) < 0))
		return -1;
	ib->last_msgno = msgno;
	if (i < 0 && (i = ahead_slot(ib, uid)) < 0)
		return no_text(box, msgno, err);
	*text = ib->ahead[i].data ? ib->ahead[i].data : "";
	*len = ib->ahead[i].len;
	return 0;
}

static int imap_fetch_header(struct mailbox *box, uint32_t msgno, const char **text, size_t *len,
			     struct mail_err *err)
{
	struct ibox *ib = IB(box);

	if (alive(box, err) < 0)
		return -1;
	ib->text_uid = box->msgs[msgno - 1]->uid;
	ib->text_got = 0;
	ib->quiet = 1;
	int r = imap_cmd(ib->c, on_untagged, box, err, "UID FETCH %u (BODY.PEEK[HEADER])",
			 ib->text_uid);
	ib->quiet = 0;
	ib->text_uid = 0;
	if (r == 0 && !ib->text_got)
		return no_text(box, msgno, err);
	*text = ib->text.data ? ib->text.data : "";
	*len = ib->text.len;
	return r;
}

/* The text with every line ended by CRLF, as IMAP carries it. */
static void crlf(struct buf *out, const char *p, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (p[i] == '\n' && (i == 0 || p[i - 1] != '\r'))
			buf_putc(out, '\r');
		buf_putc(out, p[i]);
	}
}

/* APPEND's optional arguments and the message literal for one message. */
static int append_one(struct imap_conn *c, struct mailbox *kwbox, const struct mail_new *m,
		      struct mail_err *err)
{
	struct buf b;
	uint64_t kw = 0;

	buf_init(&b);
	for (char **k = m->keywords; k && *k; k++) {
		int i = keyword_at(kwbox, *k);
		if (i >= 0)
			kw |= 1ULL << i;
	}
	flag_list(kwbox, m->flags, kw, &b);
	imap_cmd_text(c, " %s", b.data);
	if (m->date) {
		buf_reset(&b);
		imap_date_time(&b, m->date, m->tz_minutes);
		imap_cmd_text(c, " \"%s\"", b.data);
	}
	imap_cmd_text(c, " ");
	buf_reset(&b);
	crlf(&b, m->text, m->len);
	int r = imap_cmd_literal(c, b.data ? b.data : "", b.len, err);
	buf_free(&b);
	return r;
}

/* A UID set "3,5:7" into uids[0..n) in its order. */
static void uid_set_fill(const char *p, uint32_t *uids, size_t n)
{
	for (size_t i = 0; p && i < n && *p;) {
		unsigned long lo = strtoul(p, (char **)&p, 10), hi = lo;
		if (*p == ':')
			hi = strtoul(p + 1, (char **)&p, 10);
		for (unsigned long u = lo; u <= hi && i < n; u++)
			uids[i++] = (uint32_t)u;
		if (*p != ',')
			break;
		p++;
	}
}

/* The tagged response's [APPENDUID validity set] or [COPYUID validity
 * from-set set]: the UIDs the new messages got, in our order. */
static void new_uids(struct imap_conn *c, size_t n, uint32_t *validity, uint32_t *uids)
{
	const struct imap_item *a = c->resp_args;
	int copy = c->resp_code && !strcmp(c->resp_code, "COPYUID");

	if (!c->resp_code || (!copy && strcmp(c->resp_code, "APPENDUID")) || !a || !a->next ||
	    (copy && !a->next->next))
		return;
	if (validity)
		*validity = (uint32_t)a->num;
	if (uids)
		uid_set_fill(imap_item_text(copy ? a->next->next : a->next), uids, n);
}

static int imap_append(struct mail_session *s, const char *path, const struct mail_new *msgs,
		       size_t n, uint32_t *uidvalidity_out, uint32_t *uids_out,
		       struct mail_err *err)
{
	struct net_name nm;
	struct imap_conn *c = connect_to(s, path, &nm, err);
	struct mailbox kwbox = {0};   /* keyword names, to write flag lists */
	int r = c ? 0 : -1;

	if (uids_out)
		memset(uids_out, 0, n * sizeof *uids_out);
	/* MULTIAPPEND makes the batch one command: all or none, as promised */
	size_t per = c && (c->caps & IC_MULTIAPPEND) ? n : 1;
	for (size_t i = 0; r == 0 && i < n; i += per) {
		imap_cmd_begin(c, "APPEND ");
		r = imap_cmd_mailbox(c, *nm.mailbox ? nm.mailbox : "INBOX", err);
		for (size_t k = i; r == 0 && k < i + per && k < n; k++)
			r = append_one(c, &kwbox, &msgs[k], err);
		if (r == 0 && (r = imap_cmd_end(c, NULL, NULL, err)) == 0)
			new_uids(c, per, uidvalidity_out, uids_out ? uids_out + i : NULL);
	}
	for (unsigned k = 0; k < kwbox.nkeywords; k++)
		free(kwbox.keywords[k]);
	imap_disconnect(c);
	return r;
}

/* One command on the named mailbox over a connection of its own; the
 * STATUS items are those of the revision the server speaks. */
static int mailbox_cmd(struct mail_session *s, const char *path, const char *verb,
		       const char *to, imap_untagged_fn fn, void *ctx, struct mail_err *err)
{
	struct net_name nm, nto;
	struct imap_conn *c = connect_to(s, path, &nm, err);
	int r = -1;

	if (!c)
		return -1;
	/* RFC 9051 has no RECENT item: a rev2 session reports none, as its
	 * mailboxes do (no \Recent flag) */
	const char *tail = strcmp(verb, "STATUS") ? "" :
			   c->rev2 ? " (MESSAGES UIDNEXT UIDVALIDITY UNSEEN)" :
				     " (MESSAGES RECENT UIDNEXT UIDVALIDITY UNSEEN)";
	imap_cmd_begin(c, "%s ", verb);
	if (imap_cmd_mailbox(c, nm.mailbox, err) < 0)
		goto out;
	if (to) {
		if (net_name_parse(to, &nto, err) < 0)
			goto out;
		imap_cmd_text(c, " ");
		if (imap_cmd_mailbox(c, nto.mailbox, err) < 0)
			goto out;
	}
	imap_cmd_text(c, "%s", tail);
	r = imap_cmd_end(c, fn, ctx, err);
out:
	imap_disconnect(c);
	return r;
}

static int imap_create(struct mail_session *s, const char *path, struct mail_err *err)
{
	return mailbox_cmd(s, path, "CREATE", NULL, NULL, NULL, err);
}

static int imap_remove(struct mail_session *s, const char *path, struct mail_err *err)
{
	return mailbox_cmd(s, path, "DELETE", NULL, NULL, NULL, err);
}

static int imap_rename(struct mail_session *s, const char *from, const char *to,
		       struct mail_err *err)
{
	return mailbox_cmd(s, from, "RENAME", to, NULL, NULL, err);
}

static void on_status(void *ctx, const struct imap_resp *r)
{
	struct mail_status *st = ctx;

	if (!imap_resp_is(r, "STATUS") || !r->args || !r->args->next ||
	    r->args->next->type != II_LIST)
		return;
	for (const struct imap_item *k = r->args->next->child; k && k->next; k = k->next->next) {
		uint32_t v = (uint32_t)k->next->num;
		const char *name = imap_item_text(k);
		if (!name)
			continue;
		if (!strcasecmp(name, "MESSAGES"))
			st->messages = v;
		else if (!strcasecmp(name, "RECENT"))
			st->recent = v;
		else if (!strcasecmp(name, "UIDNEXT"))
			st->uidnext = v;
		else if (!strcasecmp(name, "UIDVALIDITY"))
			st->uidvalidity = v;
		else if (!strcasecmp(name, "UNSEEN"))
			st->unseen = v;
	}
}

static int imap_status(struct mail_session *s, const char *path, struct mail_status *st,
		       struct mail_err *err)
{
	memset(st, 0, sizeof *st);
	return mailbox_cmd(s, path, "STATUS", NULL, on_status, st, err);
}

struct lister {
	const struct imap_conn *c;
	const char *prefix;       /* "{host...}" as the program typed it */
	size_t prefix_len;
	mail_list_fn fn;
	void *ctx;
};

static void on_list(void *ctx, const struct imap_resp *r)
{
	static const struct {
		const char *name;
		int attr;
	} attrs[] = {
		{"\\Noinferiors", LA_NOINFERIORS}, {"\\Noselect", LA_NOSELECT},
		{"\\NonExistent", LA_NOSELECT}, {"\\Marked", LA_MARKED},
		{"\\Unmarked", LA_UNMARKED}, {"\\HasChildren", LA_HASCHILDREN},
		{"\\HasNoChildren", LA_HASNOCHILDREN},
	};
	struct lister *l = ctx;
	const struct imap_item *a = r->args;

	if (!imap_resp_is(r, "LIST") || !a || a->type != II_LIST || !a->next || !a->next->next ||
	    !imap_item_text(a->next->next))
		return;
	const struct imap_item *nm = a->next->next;
	char *local = strlen(nm->s) == nm->len ? imap_name_local(l->c, nm->s, nm->len) : NULL;
	/* a name a program may turn into a local one (mailutil transfer):
	 * nothing that climbs out, starts at the root or home, or hides controls */
	if (!local || mail_name_climbs(local) || local[0] == '/' || local[0] == '~' ||
	    strpbrk(local, "\r\n")) {
		free(local);
		return;
	}
	int bits = 0;
	for (const struct imap_item *f = a->child; f; f = f->next)
		for (size_t i = 0; imap_item_text(f) && i < ARRAY_SIZE(attrs); i++)
			if (!strcasecmp(f->s, attrs[i].name))
				bits |= attrs[i].attr;
	size_t n = strlen(local);
	char *name = xmalloc(l->prefix_len + n + 1);
	memcpy(name, l->prefix, l->prefix_len);
	memcpy(name + l->prefix_len, local, n + 1);
	l->fn(l->ctx, name, bits);
	free(name);
	free(local);
}

/* LIST on the server named by root ("{host}reference"), answers named
 * with the same "{host}" prefix so they can be opened as they are. */
static int imap_list(struct mail_session *s, const char *root, const char *pattern,
		     mail_list_fn fn, void *ctx, struct mail_err *err)
{
	struct net_name nm;
	struct imap_conn *c = connect_to(s, root, &nm, err);
	struct lister l = {c, root, nm.prefix_len, fn, ctx};
	int r = -1;

	if (!c)
		return -1;
	imap_cmd_begin(c, "LIST ");
	if (imap_cmd_mailbox(c, nm.mailbox, err) == 0) {
		imap_cmd_text(c, " ");
		if (imap_cmd_mailbox(c, pattern, err) == 0)
			r = imap_cmd_end(c, on_list, &l, err);
	}
	imap_disconnect(c);
	return r;
}

/* COPY on the same server (mail.c checks that); COPYUID when offered. */
static int imap_copy(struct mailbox *box, const uint32_t *msgnos, size_t n, const char *destpath,
		     uint32_t *uidvalidity_out, uint32_t *uids_out, struct mail_err *err)
{
	struct net_name nm;
	struct buf set;
	int r;

	if (!n)
		return 0;
	if (net_name_parse(destpath, &nm, err) < 0 || imap_flush(box, err) < 0)
		return -1;
	buf_init(&set);
	for (size_t i = 0; i < n; i++)
		buf_printf(&set, "%s%u", i ? "," : "", box->msgs[msgnos[i] - 1]->uid);
	imap_cmd_begin(IB(box)->c, "UID COPY %s ", set.data);
	buf_free(&set);
	r = imap_cmd_mailbox(IB(box)->c, nm.mailbox, err);
	if (r == 0)
		r = imap_cmd_end(IB(box)->c, on_untagged, box, err);
	if (uids_out)
		memset(uids_out, 0, n * sizeof *uids_out);
	if (r == 0)
		new_uids(IB(box)->c, n, uidvalidity_out, uids_out);
	return r;
}

/* The connection for work the server can do, or NULL: only while our
 * message numbers are the server's (no news of it still to learn). */
static struct imap_conn *push_conn(struct mailbox *box)
{
	struct ibox *ib = IB(box);

	return !ib->c->bye && box->nmsgs && ib->exists == box->nmsgs ? ib->c : NULL;
}

/* SEARCH on the server, which must first hear our flag changes; a
 * read-only session's changes it can never hear, so those search here. */
static int imap_search(struct mailbox *box, const struct search_key *key, uint8_t *match,
		       struct mail_err *err)
{
	struct imap_conn *c = push_conn(box);

	for (uint32_t i = 0; c && box->readonly && i < box->nmsgs; i++)
		if (changed(box, i))
			return 1;
	if (!c || imap_flush(box, err) < 0)
		return c ? -1 : 1;
	return imap_push_search(c, box, on_untagged, key, match, err);
}

/* SORT on the server (its CAPABILITY says SORT), else 1. */
static int imap_sort(struct mailbox *box, const struct sort_crit *crit, size_t ncrit,
		     const uint8_t *match, uint32_t *out, size_t *nout, struct mail_err *err)
{
	struct imap_conn *c = push_conn(box);

	return c ? imap_push_sort(c, box, on_untagged, crit, ncrit, match, out, nout, err) : 1;
}

/* THREAD on the server (its CAPABILITY names the algorithm), else 1. */
static int imap_thread(struct mailbox *box, int algo, const uint8_t *match,
		       struct thread_tree *out, struct mail_err *err)
{
	struct imap_conn *c = push_conn(box);

	return c ? imap_push_thread(c, box, on_untagged, algo, match, out, err) : 1;
}

/* The mailbox's watch: the connection in IDLE, whose socket turns readable
 * when the server has news; -1 (the program polls by pinging, NOOP) where
 * the server has no IDLE. */
static int imap_watch_fd(struct mailbox *box)
{
	struct ibox *ib = IB(box);
	struct mail_err err;
	uint64_t one = 1;

	if (ib->c->bye || imap_flush(box, &err) < 0 ||
	    imap_idle_begin(ib->c, on_untagged, box, &err) != 0)
		return -1;
	if (!imap_input_pending(ib->c))
		return ib->c->fd;
	/* the news came with IDLE's "+": the socket will not wake for it */
	if (ib->wake < 0 && (ib->wake = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) < 0)
		return -1;
	if (write(ib->wake, &one, sizeof one) < 0)
		return -1;
	return ib->wake;
}

/* End IDLE, its news heard (the ping that follows learns the messages). */
static int imap_watch_changed(struct mailbox *box)
{
	struct ibox *ib = IB(box);
	struct mail_err err;
	uint64_t n;

	if (ib->wake >= 0 && read(ib->wake, &n, sizeof n) < 0)
		n = 0;   /* nothing was waiting there */
	imap_idle_end(ib->c, &err);   /* a failure leaves bye set: the ping says so */
	return 1;
}

const struct driver driver_imap = {
	.name = "imap",
	.open = imap_open,
	.close = imap_close,
	.ping = imap_ping,
	.check = imap_check,
	.flush = imap_flush,
	.expunge = imap_expunge,
	.fetch = imap_fetch,
	.fetch_header = imap_fetch_header,
	.append = imap_append,
	.create = imap_create,
	.status = imap_status,
	.remove = imap_remove,
	.rename = imap_rename,
	.copy = imap_copy,
	.ns_list = imap_list,
	.search = imap_search,
	.sort = imap_sort,
	.thread = imap_thread,
	.watch_fd = imap_watch_fd,
	.watch_changed = imap_watch_changed,
};
