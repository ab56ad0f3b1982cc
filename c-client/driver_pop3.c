/* driver_pop3.c: a POP3 maildrop (RFC 1939) as a read-mostly mailbox,
 * "{host/pop3}INBOX": STLS (RFC 2595) before any password, USER/PASS or
 * AUTH PLAIN (RFC 5034), headers by TOP, texts by RETR, DELE at expunge,
 * final at QUIT. Flags live only in the session (\Deleted, \Seen). UIDs
 * last across connections by UIDL where the server and the user's home
 * allow (pop3_uidl.c), else they are the server's message numbers under a
 * new UIDVALIDITY each time, as the classic driver's: docs/network.md. */
#include "driver.h"
#include "net_line.h"
#include "pop3_uidl.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

/* The most one message may bring (as the IMAP client's literal bound). */
#define POP3_TEXT_MAX (256u << 20)
/* The most a STAT may claim: LIST answers are read into memory. */
#define POP3_MSGS_MAX 1000000u

enum { PC_STLS = 1, PC_TOP = 2, PC_PLAIN = 4, PC_UIDL = 8 };

struct pmsg {
	struct message m;
	uint32_t srv;             /* the server's number (DELE does not renumber) */
};

struct pbox {
	struct mailbox *box;
	struct pbox *next;        /* open_boxes */
	struct net_line c;
	unsigned caps;
	struct buf text;          /* the last text or header fetched */
	uint32_t text_srv;        /* whose, 0: none */
	int text_whole;           /* RETR (not TOP n 0) */
};

#define PB(box) ((struct pbox *)(box)->drvdata)

/* The maildrops open in this process: a server locks a maildrop for its
 * session, so STATUS of an open one must answer from it, not log in again
 * (one process, one thread: the library's model). */
static struct pbox *open_boxes;
#define PM(box, i) ((struct pmsg *)(box)->msgs[i])

/* Read the status line: 0 on +OK, -1 with err (the server's text on -ERR). */
static int pop3_ok(struct net_line *c, struct mail_err *err)
{
	if (net_line_read(c, err) < 0)
		return -1;
	const char *l = c->line.data;
	if (!strncmp(l, "+OK", 3) && (!l[3] || l[3] == ' '))
		return 0;
	if (!strncmp(l, "-ERR", 4) && (!l[4] || l[4] == ' ')) {
		mail_err_set(err, MAIL_FAIL, "%s", l[4] ? l + 5 : "-ERR");
		return -1;
	}
	return net_line_fail(c, err, "not a POP3 answer");
}

/* One command and its status line. */
static int pop3_cmd(struct net_line *c, int secret, struct mail_err *err, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static int pop3_cmd(struct net_line *c, int secret, struct mail_err *err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	int r = net_line_vsend(c, secret, err, fmt, ap);
	va_end(ap);
	return r < 0 ? -1 : pop3_ok(c, err);
}

/* One CAPA line. */
static void capa_line(void *ctx, char *l)
{
	unsigned *caps = ctx;

	if (!strcasecmp(l, "STLS"))
		*caps |= PC_STLS;
	else if (!strcasecmp(l, "TOP"))
		*caps |= PC_TOP;
	else if (!strcasecmp(l, "UIDL"))
		*caps |= PC_UIDL;
	else if (!strncasecmp(l, "SASL ", 5))
		for (char *sv, *w = strtok_r(l + 5, " ", &sv); w; w = strtok_r(NULL, " ", &sv))
			*caps |= strcasecmp(w, "PLAIN") ? 0 : PC_PLAIN;
}

/* CAPA (RFC 2449): what we act on; none when the server has no CAPA. */
static int pop3_capa(struct net_line *c, unsigned *caps, struct mail_err *err)
{
	struct mail_err ignore;

	*caps = 0;
	if (pop3_cmd(c, 0, &ignore, "CAPA") < 0)
		return c->broken ? net_line_fail(c, err, "connection lost at CAPA") : 0;
	return net_line_each(c, NET_LINE_MAX, capa_line, caps, err);
}

/* A password goes only over TLS: STLS where offered, else only /notls
 * to this machine. */
static int pop3_secure(struct net_line *c, unsigned *caps, struct mail_err *err)
{
	if (c->nm.ssl)
		return 0;
	if (c->nm.notls || !(*caps & PC_STLS))
		return net_clear_ok(&c->nm, c->loopback, "STLS", err);
	if (pop3_cmd(c, 0, err, "STLS") < 0 || net_line_tls(c, err) < 0)
		return -1;
	return pop3_capa(c, caps, err);   /* what was said in clear may have been forged */
}

/* AUTH PLAIN with its initial response, or USER and PASS. */
static int pop3_login(struct net_line *c, unsigned caps, const char *local_user,
		      struct mail_err *err)
{
	char user[NET_USER_MAX], pw[512];
	struct buf b;
	int r;

	if (net_password(&c->nm, c->cl, local_user, user, sizeof user, pw, sizeof pw, err) < 0)
		return -1;
	buf_init(&b);
	if ((caps & PC_PLAIN) || c->nm.authuser[0]) {
		net_sasl_plain(&b, &c->nm, user, pw);
		r = pop3_cmd(c, 2, err, "AUTH PLAIN %s", b.data);
	} else {
		r = pop3_cmd(c, 1, err, "USER %s", user);
		if (r == 0)
			r = pop3_cmd(c, 1, err, "PASS %s", pw);
	}
	explicit_bzero(pw, sizeof pw);
	if (b.data)
		explicit_bzero(b.data, b.len);
	buf_free(&b);
	if (r < 0 && !c->broken) {
		char why[sizeof err->text];
		str_copy(why, err->text, sizeof why);
		mail_err_set(err, MAIL_FAIL, "login to %s as %s failed: %s", c->nm.host, user, why);
	}
	return r;
}

/* Connect, secure and log in for the network name path; INBOX alone. */
static int pop3_connect(struct mail_session *s, const char *path, struct net_line *c,
			unsigned *caps, struct mail_err *err)
{
	struct net_name nm;

	if (net_name_parse(path, &nm, err) < 0)
		return -1;
	if (*nm.mailbox && strcasecmp(nm.mailbox, "INBOX")) {
		mail_err_set(err, MAIL_NONEXISTENT, "%s: a POP3 server has INBOX alone", nm.mailbox);
		return -1;
	}
	if (net_line_open(c, &nm, s->client, err) < 0)
		return -1;
	if (pop3_ok(c, err) < 0 || pop3_capa(c, caps, err) < 0 || pop3_secure(c, caps, err) < 0 ||
	    pop3_login(c, *caps, s->user, err) < 0) {
		net_line_close(c);
		return -1;
	}
	return 0;
}

/* QUIT (which makes the DELEs final) and close. */
static void pop3_quit(struct net_line *c)
{
	struct mail_err ignore;

	if (!c->broken)
		pop3_cmd(c, 0, &ignore, "QUIT");
	net_line_close(c);
}

/* "+OK n size": the message count. */
static int stat_count(struct net_line *c, uint32_t *n, struct mail_err *err)
{
	unsigned long v;
	char *end;

	if (pop3_cmd(c, 0, err, "STAT") < 0)
		return -1;
	v = strtoul(c->line.data + 3, &end, 10);
	if (end == c->line.data + 3 || v > POP3_MSGS_MAX)
		return net_line_fail(c, err, "bad STAT answer");
	*n = (uint32_t)v;
	return 0;
}

struct lister {
	struct mailbox *box;
	uint32_t count;           /* STAT's */
};

/* One LIST line, "msgno size": a message, in order, within STAT's count
 * (each costs the server a line: a claimed count costs us nothing). */
static void list_line(void *ctx, char *l)
{
	struct lister *ls = ctx;
	struct mailbox *box = ls->box;
	char *end;
	unsigned long no = strtoul(l, &end, 10);

	if (end == l || no < 1 || no > ls->count ||
	    (box->nmsgs && no <= PM(box, box->nmsgs - 1)->srv))
		return;
	struct pmsg *pm = xcalloc(1, sizeof *pm);
	pm->srv = pm->m.uid = (uint32_t)no;
	pm->m.size = strtoull(end, NULL, 10);
	mail_msg_add(box, &pm->m);
}

/* STAT, then LIST for the messages and their sizes. */
static int learn_messages(struct mailbox *box, struct mail_err *err)
{
	struct net_line *c = &PB(box)->c;
	struct lister ls = {box, 0};

	if (stat_count(c, &ls.count, err) < 0)
		return -1;
	if (!ls.count)
		return 0;
	if (pop3_cmd(c, 0, err, "LIST") < 0)
		return -1;
	return net_line_each(c, (size_t)ls.count * 32 + 64, list_line, &ls, err);
}

struct uidl_list {
	struct mailbox *box;
	char **uidls;             /* per message, NULL until its line came */
	uint32_t at;              /* the next message a line may name */
	int bad;
};

/* One UIDL line: the next message's (or a later one's) string, checked. */
static void uidl_line(void *ctx, char *l)
{
	struct uidl_list *ul = ctx;
	unsigned long no;
	const char *u;
	size_t ulen;

	if (ul->bad || pop3_uidl_line(l, strlen(l), &no, &u, &ulen) < 0) {
		ul->bad = 1;
		return;
	}
	while (ul->at < ul->box->nmsgs && PM(ul->box, ul->at)->srv < no)
		ul->at++;
	if (ul->at == ul->box->nmsgs || PM(ul->box, ul->at)->srv != no)
		ul->bad = 1;
	else
		ul->uidls[ul->at++] = xstrndup(u, ulen);
}

/* qsort order of UIDL strings, to find a repeated one. */
static int str_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Every message has its own string: 0, else -1 with the why in err. */
static int uidls_usable(struct uidl_list *ul, struct mail_err *err)
{
	uint32_t n = ul->box->nmsgs, i;
	char **sorted = xmalloc((n ? n : 1) * sizeof *sorted);

	for (i = 0; i < n && ul->uidls[i]; i++)
		sorted[i] = ul->uidls[i];
	if (!ul->bad && i == n) {
		qsort(sorted, n, sizeof *sorted, str_cmp);
		for (i = 1; i < n && strcmp(sorted[i - 1], sorted[i]); i++)
			;
	}
	free(sorted);
	if (ul->bad || (n && i < n))
		mail_err_set(err, MAIL_FAIL, "the server's UIDL answer is unusable");
	return ul->bad || (n && i < n) ? -1 : 0;
}

/* UIDs from the record of UIDL strings: 0 done, 1 when the classic
 * numbers stay (why in err), -1 when the connection failed. */
static int uidl_uids(struct mailbox *box, struct mail_err *err)
{
	struct pbox *pb = PB(box);
	struct uidl_list ul = {box, xcalloc(box->nmsgs + 1, sizeof(char *)), 0, 0};
	uint32_t *uids = xcalloc(box->nmsgs + 1, sizeof *uids), next;
	char key[NET_HOST_MAX + NET_USER_MAX + 16];
	int r = 0;

	const char *user = pb->c.nm.user[0] ? pb->c.nm.user : box->sess->user;
	unsigned port = pb->c.nm.port ? pb->c.nm.port : pb->c.nm.ssl ? 995 : 110;

	snprintf(key, sizeof key, "%s:%u %s", pb->c.nm.host, port, user ? user : "");
	if (!(pb->caps & PC_UIDL)) {
		mail_err_set(err, MAIL_FAIL, "the server offers no UIDL");
		r = 1;
	} else if (box->nmsgs && (pop3_cmd(&pb->c, 0, err, "UIDL") < 0 ||
				net_line_each(&pb->c, (size_t)box->nmsgs * 84 + 64, uidl_line,
					      &ul, err) < 0))
		r = pb->c.broken ? -1 : 1;
	else if (uidls_usable(&ul, err) < 0 ||
		 pop3_uidl_uids(box->sess, key, ul.uidls, box->nmsgs, uids, &box->uidvalidity,
				&next, err) < 0)
		r = 1;
	for (uint32_t i = 0; r == 0 && i < box->nmsgs; i++)
		box->msgs[i]->uid = uids[i];
	if (r == 0)
		box->uidnext = next;
	for (uint32_t i = 0; i < box->nmsgs; i++)
		free(ul.uidls[i]);
	free(ul.uidls);
	free(uids);
	return r;
}

/* Stable UIDs where they can be had, else the classic ones: the session's
 * numbers under a new UIDVALIDITY, said in the /debug trace. */
static int learn_uids(struct mailbox *box, struct mail_err *err)
{
	struct mail_err why;
	int r = uidl_uids(box, &why);

	if (r < 0) {
		*err = why;
		return -1;
	}
	if (r == 1) {
		char note[sizeof why.text + 32];
		snprintf(note, sizeof note, "classic UIDs: %s", why.text);
		net_line_note(&PB(box)->c, note);
		box->uidvalidity = (uint32_t)time(NULL);
		box->uidnext = box->nmsgs ? box->msgs[box->nmsgs - 1]->uid + 1 : 1;
	}
	return 0;
}

static void pop3_close(struct mailbox *box)
{
	struct pbox *pb = PB(box);

	if (!pb)
		return;
	for (struct pbox **p = &open_boxes; *p; p = &(*p)->next)
		if (*p == pb) {
			*p = pb->next;
			break;
		}
	pop3_quit(&pb->c);
	mail_msgs_free(box);
	buf_free(&pb->text);
	free(pb);
	box->drvdata = NULL;
}

static int pop3_open(struct mailbox *box, struct mail_err *err)
{
	struct pbox *pb = xcalloc(1, sizeof *pb);

	box->drvdata = pb;
	buf_init(&pb->text);
	if (pop3_connect(box->sess, box->path, &pb->c, &pb->caps, err) < 0) {
		free(pb);
		box->drvdata = NULL;
		return -1;
	}
	box->readonly |= pb->c.nm.readonly;
	if (learn_messages(box, err) < 0 || learn_uids(box, err) < 0) {
		pop3_close(box);
		return -1;
	}
	pb->box = box;
	pb->next = open_boxes;
	open_boxes = pb;
	return 0;
}

/* A POP3 session sees the maildrop as it was at login: NOOP keeps it. */
static int pop3_ping(struct mailbox *box, struct mail_err *err)
{
	return pop3_cmd(&PB(box)->c, 0, err, "NOOP");
}

/* Flags are the session's own: nothing to store. */
static int pop3_check(struct mailbox *box, struct mail_err *err)
{
	return PB(box)->c.broken ? net_line_fail(&PB(box)->c, err, "connection lost") : 0;
}

static int pop3_expunge(struct mailbox *box, const uint32_t *uids, size_t nuids,
			struct mail_err *err)
{
	size_t n;
	char *set = mail_expunge_set(box, uids, nuids, &n);
	int r = 0;

	for (uint32_t i = box->nmsgs; r == 0 && i-- > 0;) {
		if (!set[i] || (r = pop3_cmd(&PB(box)->c, 0, err, "DELE %u", PM(box, i)->srv)) < 0)
			continue;
		if (PB(box)->text_srv == PM(box, i)->srv)
			PB(box)->text_srv = 0;
		struct message *m = mail_msg_take(box, i);
		pool_free(m->pool);
		free(m);
	}
	free(set);
	return r;
}

/* The internal date: the Date: header's, as POP3 keeps none. */
static void date_from(struct message *m, const char *text, size_t len)
{
	struct pool *p = pool_new();
	const char *d = rfc822_header_get(p, text, rfc822_header_len(text, len), "Date");

	if (d && !m->internal_date)
		rfc822_parse_date(d, strlen(d), &m->internal_date, &m->tz_minutes);
	pool_free(p);
}

/* RETR (whole) or TOP n 0 (header) of message msgno into pb->text. */
static int pop3_get(struct mailbox *box, uint32_t msgno, int whole, struct mail_err *err)
{
	struct pbox *pb = PB(box);
	struct pmsg *pm = PM(box, msgno - 1);

	if (pb->text_srv == pm->srv && (pb->text_whole || !whole))
		return 0;
	pb->text_srv = 0;
	buf_reset(&pb->text);
	if (whole || !(pb->caps & PC_TOP) ?
		    pop3_cmd(&pb->c, 0, err, "RETR %u", pm->srv) < 0 :
		    pop3_cmd(&pb->c, 0, err, "TOP %u 0", pm->srv) < 0)
		return -1;
	if (net_line_block(&pb->c, &pb->text, POP3_TEXT_MAX, err) < 0)
		return -1;
	pb->text_srv = pm->srv;
	pb->text_whole = whole || !(pb->caps & PC_TOP);
	date_from(&pm->m, pb->text.data ? pb->text.data : "", pb->text.len);
	return 0;
}

static int pop3_fetch(struct mailbox *box, uint32_t msgno, const char **text, size_t *len,
		      struct mail_err *err)
{
	return net_line_text(pop3_get(box, msgno, 1, err), &PB(box)->text, 0, text, len);
}

static int pop3_fetch_header(struct mailbox *box, uint32_t msgno, const char **text,
			     size_t *len, struct mail_err *err)
{
	return net_line_text(pop3_get(box, msgno, 0, err), &PB(box)->text, 1, text, len);
}

/* STATUS from the session's open mailbox on that maildrop: 1 if there is
 * one, 0 if a new session must ask, -1 for a bad name (err set). */
static int open_status(struct mail_session *s, const char *path, struct mail_status *st,
		       struct mail_err *err)
{
	struct net_name nm;

	if (net_name_parse(path, &nm, err) < 0)
		return -1;
	for (struct pbox *pb = open_boxes; pb; pb = pb->next)
		if (pb->box->sess == s && net_same_server(&pb->c.nm, &nm)) {
			struct mailbox *box = pb->box;
			st->messages = box->nmsgs;
			for (uint32_t i = 0; i < box->nmsgs; i++)
				st->unseen += !(box->msgs[i]->flags & MF_SEEN);
			st->uidnext = box->uidnext;
			st->uidvalidity = box->uidvalidity;
			return 1;
		}
	return 0;
}

/* STATUS on a new connection opens the maildrop as a session would, so
 * UIDNEXT and UIDVALIDITY are those the next open shows (from the UIDL
 * record where there is one). */
static int pop3_status(struct mail_session *s, const char *path, struct mail_status *st,
		       struct mail_err *err)
{
	struct mailbox box = {.sess = s, .path = xstrdup(path)};

	memset(st, 0, sizeof *st);
	int r = open_status(s, path, st, err);
	if (r == 0 && (r = pop3_open(&box, err)) == 0) {
		st->messages = st->unseen = box.nmsgs;   /* POP3 keeps no \Seen */
		st->uidnext = box.uidnext;
		st->uidvalidity = box.uidvalidity;
		pop3_close(&box);
	}
	free(box.path);
	return r < 0 ? -1 : 0;
}

/* LIST: INBOX is the one mailbox, when the pattern matches it. */
static int pop3_list(struct mail_session *s, const char *root, const char *pattern,
		     mail_list_fn fn, void *ctx, struct mail_err *err)
{
	struct net_name nm;

	if (net_name_parse(root, &nm, err) < 0)
		return -1;
	if (mail_list_match(nm.mailbox, pattern, "INBOX")) {
		char *name = xmalloc(nm.prefix_len + 6);
		memcpy(name, root, nm.prefix_len);
		memcpy(name + nm.prefix_len, "INBOX", 6);
		fn(ctx, name, LA_NOINFERIORS);
		free(name);
	}
	return 0;
}

const struct driver driver_pop3 = {
	.name = "pop3",
	.open = pop3_open,
	.close = pop3_close,
	.ping = pop3_ping,
	.check = pop3_check,
	.expunge = pop3_expunge,
	.fetch = pop3_fetch,
	.fetch_header = pop3_fetch_header,
	.append = net_ro_append,
	.create = net_ro_create,
	.status = pop3_status,
	.remove = net_ro_remove,
	.rename = net_ro_rename,
	.ns_list = pop3_list,
};
