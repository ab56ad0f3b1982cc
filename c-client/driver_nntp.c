/* driver_nntp.c: a newsgroup on an NNTP server (RFC 3977) as a mailbox,
 * "{host/nntp}group.name" or the classic "{host/nntp}#news.group.name":
 * STARTTLS (RFC 4642) where offered, AUTHINFO USER/PASS (RFC 4643) when
 * /user= is given or the server asks, OVER/XOVER for what is there, HEAD
 * and ARTICLE for texts. UIDs are article numbers; \Seen is kept in the
 * user's ~/.newsrc as newsreaders and the classic toolkit keep it. */
#include "driver.h"
#include "fsafe.h"
#include "net_line.h"
#include "newsrc.h"
#include "nntp_post.h"
#include "tls_client.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define NNTP_TEXT_MAX (64u << 20)
/* The newest articles a group shows (a group may hold millions). */
#define NNTP_MSGS_MAX 100000u
#define NEWSRC_FILE ".newsrc"
#define NEWSRC_MAX (16u << 20)
#define NEWS_PREFIX "#news."

enum { NC_STLS = 1, NC_OVER = 2, NC_READER = 4, NC_MODE_READER = 8, NC_POST = 16, NC_LISTED = 32 };

struct nmsg {
	struct message m;
	int seen0;                /* \Seen as the .newsrc said at open */
};

struct nbox {
	struct net_line c;
	unsigned caps;
	const char *local_user;
	char *group;
	uint32_t low, high;
	uint32_t first;           /* the first article number asked for */
	struct buf text;
	uint32_t text_num;
	int text_whole;
	int dirty;                /* an expunge changed what .newsrc must say */
};

#define NB(box) ((struct nbox *)(box)->drvdata)
#define NM(box, i) ((struct nmsg *)(box)->msgs[i])

/* Send a command and read its status line: the code, or -1 if broken. */
static int nntp_cmd(struct net_line *c, int secret, struct mail_err *err, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static int nntp_cmd(struct net_line *c, int secret, struct mail_err *err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	int r = net_line_vsend(c, secret, err, fmt, ap);
	va_end(ap);
	if (r < 0 || net_line_read(c, err) < 0)
		return -1;
	const char *l = c->line.data;
	if (c->line.len < 3 || l[0] < '1' || l[0] > '5' || l[1] < '0' || l[1] > '9' ||
	    l[2] < '0' || l[2] > '9' || (l[3] && l[3] != ' '))
		return net_line_fail(c, err, "not an NNTP answer");
	mail_err_set(err, MAIL_FAIL, "%s", l[3] ? l + 4 : l);   /* for a caller that refuses it */
	return (l[0] - '0') * 100 + (l[1] - '0') * 10 + (l[2] - '0');
}

/* One CAPABILITIES line: its first word. */
static void caps_line(void *ctx, char *l)
{
	static const struct {
		const char *name;
		unsigned bit;
	} known[] = {{"STARTTLS", NC_STLS}, {"OVER", NC_OVER}, {"READER", NC_READER},
		     {"MODE-READER", NC_MODE_READER}, {"POST", NC_POST}};
	unsigned *caps = ctx;
	size_t w = strcspn(l, " ");

	for (size_t i = 0; i < ARRAY_SIZE(known); i++)
		if (!str_casecmp_n(l, w, known[i].name))
			*caps |= known[i].bit;
}

/* CAPABILITIES (RFC 3977 5.2); an old server without it has none. */
static int nntp_caps(struct net_line *c, unsigned *caps, struct mail_err *err)
{
	*caps = 0;
	int code = nntp_cmd(c, 0, err, "CAPABILITIES");
	if (code != 101)
		return code < 0 ? -1 : 0;
	*caps = NC_LISTED;
	return net_line_each(c, NET_LINE_MAX, caps_line, caps, err);
}

/* MODE READER where the server wants it (or, as the classic library did,
 * where it lists no capabilities: its answer says whether posting is
 * allowed, *post), then STARTTLS where offered. */
static int nntp_prepare(struct net_line *c, unsigned *caps, int *post, struct mail_err *err)
{
	int code;

	if (!(*caps & NC_LISTED) && (code = nntp_cmd(c, 0, err, "MODE READER")) >= 0)
		*post = code == 200 ? 1 : code == 201 ? 0 : *post;
	else if ((*caps & NC_MODE_READER) && !(*caps & NC_READER)) {
		if ((code = nntp_cmd(c, 0, err, "MODE READER")) != 200 && code != 201)
			return -1;
		if (nntp_caps(c, caps, err) < 0)
			return -1;
	}
	if (c->broken)
		return -1;
	if (c->nm.ssl || c->nm.notls || !(*caps & NC_STLS))
		return 0;
	if (nntp_cmd(c, 0, err, "STARTTLS") != 382 || net_line_tls(c, err) < 0)
		return -1;
	return nntp_caps(c, caps, err);   /* what was said in clear may have been forged */
}

/* AUTHINFO USER and PASS, over TLS or /notls to this machine only. */
static int nntp_login(struct net_line *c, const char *local_user, struct mail_err *err)
{
	char user[NET_USER_MAX], pw[512];

	if (!c->nm.ssl && !tls_client_active(&c->io) &&
	    net_clear_ok(&c->nm, c->loopback, "STARTTLS", err) < 0)
		return -1;
	if (net_password(&c->nm, c->cl, local_user, user, sizeof user, pw, sizeof pw, err) < 0)
		return -1;
	int code = nntp_cmd(c, 2, err, "AUTHINFO USER %s", user);
	if (code == 381)
		code = nntp_cmd(c, 2, err, "AUTHINFO PASS %s", pw);
	explicit_bzero(pw, sizeof pw);
	if (code == 281)
		return 0;
	if (code >= 0) {
		char why[sizeof err->text];
		str_copy(why, err->text, sizeof why);
		mail_err_set(err, MAIL_FAIL, "login to %s as %s failed: %s", c->nm.host, user, why);
	}
	return -1;
}

/* A command that may need the login first (480, RFC 4643 2.2). */
static int nntp_authed(struct net_line *c, const char *local_user, int *tried,
		       struct mail_err *err, const char *cmd)
{
	int code = nntp_cmd(c, 0, err, "%s", cmd);

	if (code != 480 || *tried)
		return code;
	*tried = 1;
	return nntp_login(c, local_user, err) < 0 ? -1 : nntp_cmd(c, 0, err, "%s", cmd);
}

/* The group a mailbox name names ("#news." dropped). */
static const char *group_of(const char *mailbox)
{
	return strncasecmp(mailbox, NEWS_PREFIX, strlen(NEWS_PREFIX)) ? mailbox :
									mailbox + strlen(NEWS_PREFIX);
}

/* Connect to nm, prepare, log in when /user= says so; *tried tells the
 * 480 path, *post (when not NULL) whether the server lets us post. */
static int nntp_connect_to(struct mail_session *s, const struct net_name *nm,
			   struct net_line *c, unsigned *caps, int *tried, int *post,
			   struct mail_err *err)
{
	int greeted_post;

	*tried = 0;
	if (net_line_open(c, nm, s->client, err) < 0)
		return -1;
	if (net_line_read(c, err) < 0)
		goto fail;
	if (strncmp(c->line.data, "200", 3) && strncmp(c->line.data, "201", 3)) {
		mail_err_set(err, MAIL_FAIL, "%s refused the connection: %s", c->nm.host,
			     c->line.data);
		goto fail;
	}
	greeted_post = c->line.data[2] == '0';
	if (nntp_caps(c, caps, err) < 0 || nntp_prepare(c, caps, &greeted_post, err) < 0)
		goto fail;
	if (c->nm.user[0] && (*tried = 1) && nntp_login(c, s->user, err) < 0)
		goto fail;
	if (post)   /* RFC 3977 5.1.1: the POST capability says it once listed */
		*post = *caps & NC_LISTED ? !!(*caps & NC_POST) : greeted_post;
	return 0;
fail:
	net_line_close(c);
	return -1;
}

/* nntp_connect_to the server path names. */
static int nntp_connect(struct mail_session *s, const char *path, struct net_line *c,
			unsigned *caps, int *tried, int *post, struct mail_err *err)
{
	struct net_name nm;

	if (net_name_parse(path, &nm, err) < 0)
		return -1;
	return nntp_connect_to(s, &nm, c, caps, tried, post, err);
}

/* QUIT and close. */
static void nntp_quit(struct net_line *c)
{
	struct mail_err ignore;

	if (!c->broken)
		nntp_cmd(c, 0, &ignore, "QUIT");
	net_line_close(c);
}

/* GROUP: "211 count low high group"; MAIL_NONEXISTENT on 411. */
static int nntp_group(struct net_line *c, const char *local_user, int *tried, const char *group,
		      uint32_t *count, uint32_t *low, uint32_t *high, struct mail_err *err)
{
	char cmd[600];
	unsigned long n, lo, hi;

	if (strlen(group) > 500 || strpbrk(group, " \t\r\n") || !*group) {
		mail_err_set(err, MAIL_BADNAME, "%s: not a newsgroup name", group);
		return -1;
	}
	snprintf(cmd, sizeof cmd, "GROUP %s", group);
	int code = nntp_authed(c, local_user, tried, err, cmd);
	if (code == 411)
		err->code = MAIL_NONEXISTENT;
	if (code != 211)
		return -1;
	if (sscanf(c->line.data + 3, "%lu %lu %lu", &n, &lo, &hi) != 3 || n > UINT32_MAX ||
	    lo > UINT32_MAX || hi > UINT32_MAX)
		return net_line_fail(c, err, "bad GROUP answer");
	*count = (uint32_t)n;
	*low = (uint32_t)lo;
	*high = (uint32_t)hi;
	return 0;
}

/* One OVER line: "num\tsubject\tfrom\tdate\tmsgid\trefs\tbytes\tlines"
 * (or a LISTGROUP number alone). */
static void over_line(void *ctx, char *l)
{
	struct mailbox *box = ctx;
	char *f[8];
	int k = 0;

	while (k < 8 && l)
		f[k++] = strsep(&l, "\t");   /* empty fields count (no References) */
	char *end;
	unsigned long num = strtoul(f[0], &end, 10);
	if (*end || num < NB(box)->low || num > NB(box)->high || num > UINT32_MAX ||
	    (box->nmsgs && num <= box->msgs[box->nmsgs - 1]->uid))
		return;   /* out of the group, or out of order: not shown */
	struct nmsg *nm = xcalloc(1, sizeof *nm);
	nm->m.uid = (uint32_t)num;
	if (k >= 4)
		rfc822_parse_date(f[3], strlen(f[3]), &nm->m.internal_date, &nm->m.tz_minutes);
	if (k >= 7)
		nm->m.size = strtoull(f[6], NULL, 10);
	mail_msg_add(box, &nm->m);
}

/* OVER (or XOVER) of the newest articles; LISTGROUP when neither works. */
static int learn_articles(struct mailbox *box, struct mail_err *err)
{
	struct nbox *nb = NB(box);
	uint32_t from = nb->high - nb->low >= NNTP_MSGS_MAX ? nb->high - NNTP_MSGS_MAX + 1 : nb->low;

	nb->first = from;
	int code = nntp_cmd(&nb->c, 0, err, "%s %u-%u", nb->caps & NC_OVER ? "OVER" : "XOVER",
			    from, nb->high);
	int lines = code == 224;

	if (code < 0)
		return -1;
	if (!lines && (code = nntp_cmd(&nb->c, 0, err, "LISTGROUP %s %u-%u", nb->group, from,
				       nb->high)) != 211)
		return -1;
	return net_line_each(&nb->c, NNTP_TEXT_MAX, over_line, box, err);
}

/* ~/.newsrc, read as the user's own file (no link followed); NULL if none. */
static char *newsrc_read(struct mail_session *s, size_t *len)
{
	char *data = NULL;
	struct mail_err ignore;

	*len = 0;
	if (fsafe_home(s) < 0 || fsafe_read_own(s->home_fd, NEWSRC_FILE, NEWSRC_MAX, &data, len,
						&ignore) != 0)
		return NULL;
	return data;
}

static void seen_from_newsrc(struct mailbox *box)
{
	size_t len, n;
	char *data = newsrc_read(box->sess, &len);
	struct newsrc_range *r = newsrc_find(data, len, NB(box)->group, &n);

	for (uint32_t i = 0; i < box->nmsgs; i++)
		if (newsrc_has(r, n, box->msgs[i]->uid)) {
			box->msgs[i]->flags |= MF_SEEN;
			NM(box, i)->seen0 = 1;
		}
	free(r);
	free(data);
}

/* The read ranges to write: what the file said outside the articles
 * asked for, and inside them every number but the unseen articles' (an
 * expunged or missing one is read). */
static struct newsrc_range *ranges_now(struct mailbox *box, const struct newsrc_range *old,
				       size_t nold, size_t *n)
{
	uint32_t first = NB(box)->first, last = NB(box)->high;
	struct newsrc_range *r = xmalloc((2 * nold + box->nmsgs + 2) * sizeof *r);
	uint32_t start = first;

	*n = 0;
	for (size_t i = 0; i < nold && old[i].lo < first; i++)
		r[(*n)++] = (struct newsrc_range){old[i].lo, old[i].hi < first ? old[i].hi : first - 1};
	for (uint32_t i = 0; i < box->nmsgs; i++) {
		uint32_t u = box->msgs[i]->uid;
		if (box->msgs[i]->flags & MF_SEEN)
			continue;
		if (u > start)
			r[(*n)++] = (struct newsrc_range){start, u - 1};
		start = u + 1;
	}
	if (start <= last)
		r[(*n)++] = (struct newsrc_range){start, last};
	for (size_t i = 0; i < nold; i++)
		if (old[i].hi > last)
			r[(*n)++] = (struct newsrc_range){old[i].lo > last ? old[i].lo : last + 1,
							  old[i].hi};
	/* touching ranges from the three sources are written as one */
	size_t k = 0;
	for (size_t i = 1; i < *n; i++)
		if (r[k].hi != UINT32_MAX && r[i].lo <= r[k].hi + 1)
			r[k].hi = r[i].hi > r[k].hi ? r[i].hi : r[k].hi;
		else
			r[++k] = r[i];
	*n = *n ? k + 1 : 0;
	return r;
}

/* Write \Seen back to ~/.newsrc when it changed. */
static int newsrc_save(struct mailbox *box, struct mail_err *err)
{
	int changed = NB(box)->dirty;

	for (uint32_t i = 0; i < box->nmsgs && !changed; i++)
		changed = !!(box->msgs[i]->flags & MF_SEEN) != NM(box, i)->seen0;
	if (!changed || NB(box)->high < NB(box)->first || !NB(box)->first)
		return 0;
	size_t len, nold, n;
	char *data = newsrc_read(box->sess, &len);
	struct newsrc_range *old = newsrc_find(data, len, NB(box)->group, &nold);
	struct newsrc_range *r = ranges_now(box, old, nold, &n);
	struct buf out;

	buf_init(&out);
	newsrc_put(data, len, NB(box)->group, r, n, &out);
	int rc = fsafe_home(box->sess) < 0 ? -1 :
		 fsafe_replace(box->sess->home_fd, NEWSRC_FILE, out.data, out.len, err);
	if (rc < 0 && fsafe_home(box->sess) < 0)
		mail_err_set(err, MAIL_FAIL, "no home directory to keep ~/.newsrc in");
	for (uint32_t i = 0; rc == 0 && i < box->nmsgs; i++)
		NM(box, i)->seen0 = !!(box->msgs[i]->flags & MF_SEEN);
	NB(box)->dirty = rc < 0;
	buf_free(&out);
	free(r);
	free(old);
	free(data);
	return rc;
}

static void nntp_close(struct mailbox *box)
{
	struct nbox *nb = NB(box);
	struct mail_err ignore;

	if (!nb)
		return;
	newsrc_save(box, &ignore);
	nntp_quit(&nb->c);
	mail_msgs_free(box);
	buf_free(&nb->text);
	free(nb->group);
	free(nb);
	box->drvdata = NULL;
}

static int nntp_open(struct mailbox *box, struct mail_err *err)
{
	struct nbox *nb = xcalloc(1, sizeof *nb);
	struct net_name nm;
	uint32_t count;
	int tried;

	box->drvdata = nb;
	buf_init(&nb->text);
	if (net_name_parse(box->path, &nm, err) < 0 ||
	    nntp_connect(box->sess, box->path, &nb->c, &nb->caps, &tried, NULL, err) < 0) {
		free(nb);
		box->drvdata = NULL;
		return -1;
	}
	nb->group = xstrdup(group_of(nm.mailbox));
	if (nntp_group(&nb->c, box->sess->user, &tried, nb->group, &count, &nb->low, &nb->high,
		       err) < 0)
		goto fail;
	box->uidvalidity = 1;   /* article numbers are for good (RFC 3977 6.1.1.2) */
	box->uidnext = nb->high + 1;
	if (count && nb->high >= nb->low && learn_articles(box, err) < 0)
		goto fail;
	seen_from_newsrc(box);
	return 0;
fail:
	nntp_close(box);
	return -1;
}

static int nntp_ping(struct mailbox *box, struct mail_err *err)
{
	return nntp_cmd(&NB(box)->c, 0, err, "DATE") < 0 ? -1 : 0;
}

static int nntp_check(struct mailbox *box, struct mail_err *err)
{
	return newsrc_save(box, err);
}

/* Articles cannot be removed: an expunged one is marked read and hidden. */
static int nntp_expunge(struct mailbox *box, const uint32_t *uids, size_t nuids,
			struct mail_err *err)
{
	size_t n;
	char *set = mail_expunge_set(box, uids, nuids, &n);

	for (uint32_t i = box->nmsgs; i-- > 0;) {
		if (!set[i])
			continue;
		if (NB(box)->text_num == box->msgs[i]->uid)
			NB(box)->text_num = 0;
		struct message *m = mail_msg_take(box, i);
		pool_free(m->pool);
		free(m);
		NB(box)->dirty = 1;
	}
	free(set);
	return newsrc_save(box, err);
}

/* ARTICLE (whole) or HEAD of message msgno into nb->text. */
static int nntp_get(struct mailbox *box, uint32_t msgno, int whole, struct mail_err *err)
{
	struct nbox *nb = NB(box);
	uint32_t num = box->msgs[msgno - 1]->uid;

	if (nb->text_num == num && (nb->text_whole || !whole))
		return 0;
	nb->text_num = 0;
	buf_reset(&nb->text);
	int code = nntp_cmd(&nb->c, 0, err, "%s %u", whole ? "ARTICLE" : "HEAD", num);
	if (code != (whole ? 220 : 221)) {
		if (code >= 0)
			mail_err_set(err, MAIL_FAIL, "%s: article %u: %s", nb->c.nm.host, num,
				     nb->c.line.data);
		return -1;
	}
	if (net_line_block(&nb->c, &nb->text, NNTP_TEXT_MAX, err) < 0)
		return -1;
	if (!whole)
		buf_puts(&nb->text, "\r\n");   /* HEAD sends no blank line */
	nb->text_num = num;
	nb->text_whole = whole;
	return 0;
}

static int nntp_fetch(struct mailbox *box, uint32_t msgno, const char **text, size_t *len,
		      struct mail_err *err)
{
	return net_line_text(nntp_get(box, msgno, 1, err), &NB(box)->text, 0, text, len);
}

static int nntp_fetch_header(struct mailbox *box, uint32_t msgno, const char **text,
			     size_t *len, struct mail_err *err)
{
	return net_line_text(nntp_get(box, msgno, 0, err), &NB(box)->text, 1, text, len);
}

static int nntp_status(struct mail_session *s, const char *path, struct mail_status *st,
		       struct mail_err *err)
{
	struct net_line c;
	struct net_name nm;
	unsigned caps;
	uint32_t low, high;
	int tried;

	memset(st, 0, sizeof *st);
	if (net_name_parse(path, &nm, err) < 0 || nntp_connect(s, path, &c, &caps, &tried, NULL, err) < 0)
		return -1;
	int r = nntp_group(&c, s->user, &tried, group_of(nm.mailbox), &st->messages, &low, &high,
			   err);
	nntp_quit(&c);
	if (r < 0)
		return -1;
	size_t len, n;
	char *data = newsrc_read(s, &len);
	struct newsrc_range *rg = newsrc_find(data, len, group_of(nm.mailbox), &n);
	uint64_t seen = 0;
	for (size_t i = 0; i < n; i++)
		if (rg[i].hi >= low && rg[i].lo <= high)
			seen += (uint64_t)(rg[i].hi < high ? rg[i].hi : high) -
				(rg[i].lo > low ? rg[i].lo : low) + 1;
	free(rg);
	free(data);
	st->unseen = seen >= st->messages ? 0 : st->messages - (uint32_t)seen;
	st->uidnext = high + 1;
	st->uidvalidity = 1;
	return 0;
}

struct glister {
	const char *root, *ref, *pattern;
	size_t root_len;
	int news;                 /* names are "#news.group" */
	mail_list_fn fn;
	void *ctx;
};

/* One "group high low status" line of LIST ACTIVE. */
static void list_line(void *ctx, char *l)
{
	struct glister *g = ctx;
	char *sv, *name = strtok_r(l, " ", &sv);
	struct buf b;

	if (!name || strpbrk(name, "/{}\r\n") || mail_name_climbs(name))
		return;
	buf_init(&b);
	buf_printf(&b, "%s%s", g->news ? NEWS_PREFIX : "", name);
	if (mail_list_match(g->ref, g->pattern, b.data)) {
		char *full = xmalloc(g->root_len + b.len + 1);
		memcpy(full, g->root, g->root_len);
		memcpy(full + g->root_len, b.data, b.len + 1);
		g->fn(g->ctx, full, LA_NOINFERIORS);
		free(full);
	}
	buf_free(&b);
}

/* LIST ACTIVE, the groups that match (wildmat narrowed by the pattern). */
static int nntp_list(struct mail_session *s, const char *root, const char *pattern,
		     mail_list_fn fn, void *ctx, struct mail_err *err)
{
	struct net_name nm;
	struct net_line c;
	unsigned caps;
	int tried;

	if (net_name_parse(root, &nm, err) < 0)
		return -1;
	struct glister g = {root, nm.mailbox, pattern, nm.prefix_len, 0, fn, ctx};
	g.news = !strncasecmp(nm.mailbox, NEWS_PREFIX, strlen(NEWS_PREFIX)) ||
		 !strncasecmp(pattern, NEWS_PREFIX, strlen(NEWS_PREFIX));
	if (nntp_connect(s, root, &c, &caps, &tried, NULL, err) < 0)
		return -1;
	int code = nntp_authed(&c, s->user, &tried, err, "LIST ACTIVE");
	int r = code == 215 ? net_line_each(&c, NNTP_TEXT_MAX, list_line, &g, err) : -1;
	nntp_quit(&c);
	return r;
}

const struct driver driver_nntp = {
	.name = "nntp",
	.open = nntp_open,
	.close = nntp_close,
	.ping = nntp_ping,
	.check = nntp_check,
	.expunge = nntp_expunge,
	.fetch = nntp_fetch,
	.fetch_header = nntp_fetch_header,
	.append = net_ro_append,
	.create = net_ro_create,
	.status = nntp_status,
	.remove = net_ro_remove,
	.rename = net_ro_rename,
	.ns_list = nntp_list,
};

/* The article, dot-stuffed and ended by the lone dot (RFC 3977 3.1.1). */
static int post_text(struct net_line *c, const char *text, size_t len, struct mail_err *err)
{
	for (size_t i = 0; i < len;) {
		const char *nl = memchr(text + i, '\n', len - i);
		size_t n = nl ? (size_t)(nl - (text + i)) : len - i;
		size_t body = n && text[i + n - 1] == '\r' ? n - 1 : n;
		if (body && text[i] == '.')
			io_write(&c->io, ".", 1);
		io_write(&c->io, text + i, body);
		io_write(&c->io, "\r\n", 2);
		i += n + (nl != NULL);
	}
	return net_line_send(c, 0, err, ".");
}

struct nntp_poster {
	struct net_line c;
	unsigned caps;
	int tried;
	const char *local_user;
};

struct nntp_poster *nntp_poster_open(struct mail_session *s, const char *path, unsigned port,
				     int *post, struct mail_err *err)
{
	struct nntp_poster *p;
	struct net_name nm;

	if (net_name_parse(path, &nm, err) < 0)
		return NULL;
	if (!nm.port)
		nm.port = port;
	p = xcalloc(1, sizeof *p);
	if (nntp_connect_to(s, &nm, &p->c, &p->caps, &p->tried, post, err) < 0) {
		free(p);
		return NULL;
	}
	p->local_user = s->user;
	return p;
}

int nntp_poster_post(struct nntp_poster *p, const char *text, size_t len, struct mail_err *err)
{
	int code = nntp_authed(&p->c, p->local_user, &p->tried, err, "POST");

	if (code == 340 && post_text(&p->c, text, len, err) == 0 && net_line_read(&p->c, err) == 0)
		code = atoi(p->c.line.data);
	if (code != 240 && code >= 0 && !p->c.broken)
		mail_err_set(err, MAIL_FAIL, "%s", p->c.line.data);   /* "441 why" as the server said */
	return code == 240 ? 0 : -1;
}

void nntp_poster_close(struct nntp_poster *p)
{
	if (!p)
		return;
	nntp_quit(&p->c);
	free(p);
}
