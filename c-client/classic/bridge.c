/* bridge.c: the native library seen through bridge.h, for the classic
 * interface. The process's session is the invoking user's, with the
 * configuration file's mailbox keys, as src/mailutil.c sets it up. */
#include <errno.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "bridge.h"
/* the native headers, not the classic ones beside this file */
#include "../nntp_post.h"
#include "../config.h"
#include "../mail_api.h"
#include "../net.h"
#include "../net_line.h"
#include "../rfc822_api.h"
#include "../search.h"
#include "../sort.h"
#include "../thread.h"
#include "../util.h"

struct clb_box {
	struct mailbox *box;
	struct buf scratch;       /* a filtered section's bytes */
	struct mail_events ev;
	const struct clb_events *cev;
	void *ctx;
};

static struct mail_session sess;
static int sess_ready;

static int (*classic_login)(const struct clb_netname *n, char *user, size_t ulen, char *pw,
			    size_t plen);
static void (*classic_trace)(const char *line, size_t len, int out);

/* The password the program gave for a host and user, for the library's
 * next connection there: the classic library asked once per server, as it
 * kept one connection where we may open a second (status, then open). */
static struct net_login_cache given;

/* The native login hook, as the classic program's mm_login. */
static int net_login(void *ctx, const struct net_name *n, char *user, size_t ulen, char *pw,
		     size_t plen)
{
	struct clb_netname c = {n->host, n->user, n->authuser, n->mailbox, n->service, n->port,
				n->ssl, n->tls, n->notls, n->novalidate, n->secure, n->debug,
				n->readonly};
	char key[sizeof given.key];

	snprintf(key, sizeof key, "%s %s", n->host, user);
	if (given.pw[0] && !strcmp(given.key, key))
		return snprintf(pw, plen, "%s", given.pw) < (int)plen ? 0 : -1;
	if (!classic_login || classic_login(&c, user, ulen, pw, plen) < 0)
		return -1;
	/* keyed by the user the program chose (it may change the one asked) */
	if (strlen(pw) < sizeof given.pw) {
		snprintf(given.key, sizeof given.key, "%s %s", n->host, user);
		snprintf(given.pw, sizeof given.pw, "%s", pw);
	}
	return 0;
}

static void net_trace(void *ctx, const struct net_name *n, int out, const char *line, size_t len)
{
	if (classic_trace)
		classic_trace(line, len, out);
}

/* Network names reach their drivers only for a program that said how to
 * log in (the classic interface always does, through mm_login). */
static struct mail_client client = {.login = net_login, .trace = net_trace};

void clb_set_client(int (*login)(const struct clb_netname *n, char *user, size_t ulen,
				 char *pw, size_t plen),
		    void (*trace)(const char *line, size_t len, int out))
{
	classic_login = login;
	classic_trace = trace;
}

/* The native error's text into err. */
static int fail(char *err, const struct mail_err *e)
{
	snprintf(err, CLB_ERRLEN, "%s", e->text[0] ? e->text : "failed");
	return -1;
}

int clb_tcp_connect(const char *host, unsigned port, unsigned timeout, char *err)
{
	struct net_name n;
	struct mail_err e = {0};
	int loopback;

	memset(&n, 0, sizeof n);
	if (str_copy(n.host, host, sizeof n.host) >= sizeof n.host) {
		snprintf(err, CLB_ERRLEN, "host name too long");
		return -1;
	}
	int fd = net_connect(&n, port, timeout, &loopback, &e);
	return fd < 0 ? fail(err, &e) : fd;
}

/* The invoking user's session, made once. */
int clb_session(char *err)
{
	struct passwd *pw;
	struct config cfg;
	struct buf errors;

	if (sess_ready)
		return 0;
	pw = getpwuid(geteuid());
	if (!pw) {
		snprintf(err, CLB_ERRLEN, "uid %u is not in the password database",
			 (unsigned)geteuid());
		return -1;
	}
	config_defaults(&cfg);
	buf_init(&errors);
	/* a broken configuration is the administrator's to fix; the defaults
	 * still give the user their own mail */
	(void)config_load(&cfg, CONFIG_FILE, 0, &errors);
	cfg.allow_outside_home = 1;   /* a library in the user's own process */
	mail_session_setup(&sess, pw->pw_name, pw->pw_dir, &cfg);
	/* trusted CAs for the network mailboxes: the system's, or these */
	client.cafile = getenv("MAIL_CAFILE");
	sess.client = &client;
	buf_free(&errors);
	config_free(&cfg);
	sess_ready = 1;
	return 0;
}

/* The native client hooks (mm_login, mm_dlog, the CAs), for bridge_smtp.c. */
const struct mail_client *clb_native_client(void)
{
	return &client;
}

/* The TLS attempt's connect hook: notes (in ctx) that the TCP connection
 * was made, so that whatever fails after it is never taken for a server
 * without TLS. */
static int reach_noted(void *ctx, const struct net_name *n, unsigned port, int *loopback,
		       struct mail_err *err)
{
	int fd = net_connect(n, port, NET_LINE_TIMEOUT, loopback, err);

	*(int *)ctx = fd >= 0;
	return fd;
}

/* nntp_poster_open on the process's session, spec made a "{spec/nntp}"
 * name (/debug, /ssl added when asked), through cl. */
static struct nntp_poster *poster_open(const char *spec, unsigned port, int debug, int ssl,
				       const struct mail_client *cl, int *post, struct mail_err *e)
{
	struct nntp_poster *p;
	struct buf path;

	buf_init(&path);
	buf_printf(&path, "{%s/nntp%s%s}", spec, debug ? "/debug" : "", ssl ? "/ssl" : "");
	sess.client = cl;
	p = nntp_poster_open(&sess, path.data, port, post, e);
	sess.client = &client;
	buf_free(&path);
	return p;
}

struct nntp_poster *clb_nntp_open(const char *spec, unsigned port, unsigned sslport, int debug,
				  int *post, char *err)
{
	/* static: the poster keeps its client for the login and the trace */
	static struct mail_client tls_try;
	static int reached;
	struct mail_err e = {0};
	struct nntp_poster *p = NULL;

	if (clb_session(err) < 0)
		return NULL;
	reached = 0;
	if (sslport) {
		tls_try = client;
		tls_try.connect = reach_noted;
		tls_try.ctx = &reached;
		p = poster_open(spec, sslport, debug, 1, &tls_try, post, &e);
	}
	/* a refused or unreachable TLS port is a server without nntps; a
	 * handshake or certificate that fails there is an error, never a
	 * reason to go on in clear */
	if (!p && !reached)
		p = poster_open(spec, port, debug, 0, &client, post, &e);
	if (!p)
		fail(err, &e);
	return p;
}

int clb_nntp_post(struct nntp_poster *p, const char *text, size_t len, char *err)
{
	struct mail_err e = {0};

	return nntp_poster_post(p, text, len, &e) < 0 ? fail(err, &e) : 0;
}

void clb_nntp_close(struct nntp_poster *p)
{
	nntp_poster_close(p);
}

const char *clb_user(void)
{
	return sess_ready ? sess.user : NULL;
}

const char *clb_home(void)
{
	return sess_ready ? sess.home : NULL;
}

static void ev_exists(void *ctx, uint32_t n)
{
	struct clb_box *b = ctx;

	if (b->cev && b->cev->exists)
		b->cev->exists(b->ctx, n);
}

static void ev_expunged(void *ctx, uint32_t msgno)
{
	struct clb_box *b = ctx;

	if (b->cev && b->cev->expunged)
		b->cev->expunged(b->ctx, msgno);
}

static void ev_flags(void *ctx, uint32_t msgno)
{
	struct clb_box *b = ctx;

	if (b->cev && b->cev->flags)
		b->cev->flags(b->ctx, msgno);
}

static void ev_notice(void *ctx, const char *text)
{
	struct clb_box *b = ctx;

	if (b->cev && b->cev->notice)
		b->cev->notice(b->ctx, text);
}

int clb_open(const char *name, int readonly, const struct clb_events *cev, void *ctx,
	     struct clb_box **out, char *err)
{
	struct clb_box *b;
	struct mail_err e;

	if (clb_session(err) < 0)
		return -1;
	b = xcalloc(1, sizeof(*b));
	buf_init(&b->scratch);
	b->ev.exists = ev_exists;
	b->ev.expunged = ev_expunged;
	b->ev.flags = ev_flags;
	b->ev.notice = ev_notice;
	b->cev = cev;
	b->ctx = ctx;
	if (mail_open(&sess, name, readonly, &b->ev, b, &b->box, &e) < 0) {
		buf_free(&b->scratch);
		free(b);
		return fail(err, &e);
	}
	*out = b;
	return 0;
}

int clb_close(struct clb_box *b, int expunge, char *err)
{
	struct mail_err e;
	int rc = mail_close(b->box, expunge, &e);

	buf_free(&b->scratch);
	free(b);
	return rc < 0 ? fail(err, &e) : 0;
}

const char *clb_driver(const struct clb_box *b)
{
	return b->box->drv->name;
}

const char *clb_name(const struct clb_box *b)
{
	return b->box->name;
}

const char *clb_path(const struct clb_box *b)
{
	return b->box->path;
}

int clb_readonly(const struct clb_box *b)
{
	return b->box->readonly;
}

int clb_inbox(const struct clb_box *b)
{
	return !strcmp(b->box->name, "INBOX");
}

uint32_t clb_nmsgs(const struct clb_box *b)
{
	return b->box->nmsgs;
}

uint32_t clb_recent(const struct clb_box *b)
{
	return b->box->recent;
}

uint32_t clb_uidvalidity(const struct clb_box *b)
{
	return b->box->uidvalidity;
}

uint32_t clb_uidnext(const struct clb_box *b)
{
	return b->box->uidnext;
}

unsigned clb_nkeywords(const struct clb_box *b)
{
	return b->box->nkeywords;
}

const char *clb_keyword(const struct clb_box *b, unsigned i)
{
	return i < b->box->nkeywords ? b->box->keywords[i] : NULL;
}

int clb_keyword_index(struct clb_box *b, const char *name, int create)
{
	return mail_keyword(b->box, name, create);
}

int clb_keywords_creatable(const struct clb_box *b)
{
	return b->box->keywords_creatable;
}

void clb_msg(const struct clb_box *b, uint32_t msgno, struct clb_msg *out)
{
	const struct message *m = b->box->msgs[msgno - 1];

	out->uid = m->uid;
	out->flags = m->flags;
	out->keywords = kwset_low(&m->keywords);   /* the classic side keeps NUSERFLAGS */
	out->date = m->internal_date;
	out->tz_minutes = m->tz_minutes;
	out->size = m->size;
}

uint32_t clb_msgno(const struct clb_box *b, uint32_t uid)
{
	return mail_msgno(b->box, uid);
}

int clb_ping(struct clb_box *b, char *err)
{
	struct mail_err e;

	return mail_ping(b->box, &e) < 0 ? fail(err, &e) : 0;
}

int clb_check(struct clb_box *b, char *err)
{
	struct mail_err e;

	return mail_check(b->box, &e) < 0 ? fail(err, &e) : 0;
}

int clb_expunge(struct clb_box *b, const uint32_t *uids, size_t n, char *err)
{
	struct mail_err e;

	return mail_expunge(b->box, uids, n, &e) < 0 ? fail(err, &e) : 0;
}

int clb_fetch(struct clb_box *b, uint32_t msgno, int header_only, const char **text,
	      size_t *len, char *err)
{
	struct mail_err e;
	int rc = header_only ? mail_fetch_header(b->box, msgno, text, len, &e)
			     : mail_fetch_text(b->box, msgno, text, len, &e);

	return rc < 0 ? fail(err, &e) : 0;
}

int clb_structure(struct clb_box *b, uint32_t msgno, struct envelope **env, struct body **body,
		  char *err)
{
	struct mail_err e;

	return mail_fetch_structure(b->box, msgno, env, body, &e) < 0 ? fail(err, &e) : 0;
}

int clb_store(struct clb_box *b, uint32_t msgno, int set, uint32_t flags, uint64_t keywords,
	      char *err)
{
	struct mail_err e;
	struct kwset kw = KWSET_EMPTY;

	kwset_from_low(&kw, keywords);
	int rc = mail_store(b->box, msgno, set ? STORE_ADD : STORE_REMOVE, flags, &kw, &e);
	kwset_free(&kw);
	return rc < 0 ? fail(err, &e) : 0;
}

int clb_copy(struct clb_box *b, const uint32_t *msgnos, size_t n, const char *dest, char *err)
{
	struct mail_err e;

	return mail_copy(b->box, msgnos, n, dest, NULL, NULL, &e) < 0 ? fail(err, &e) : 0;
}

int clb_status(const char *name, struct clb_status *st, char *err)
{
	struct mail_status s;
	struct mail_err e;

	if (clb_session(err) < 0)
		return -1;
	if (mail_status(&sess, name, &s, &e) < 0)
		return fail(err, &e);
	st->messages = s.messages;
	st->recent = s.recent;
	st->unseen = s.unseen;
	st->uidnext = s.uidnext;
	st->uidvalidity = s.uidvalidity;
	return 0;
}

int clb_create(const char *name, char *err)
{
	struct mail_err e;

	if (clb_session(err) < 0)
		return -1;
	return mail_create(&sess, name, &e) < 0 ? fail(err, &e) : 0;
}

int clb_delete(const char *name, char *err)
{
	struct mail_err e;

	if (clb_session(err) < 0)
		return -1;
	return mail_delete(&sess, name, &e) < 0 ? fail(err, &e) : 0;
}

int clb_rename(const char *from, const char *to, char *err)
{
	struct mail_err e;

	if (clb_session(err) < 0)
		return -1;
	return mail_rename(&sess, from, to, &e) < 0 ? fail(err, &e) : 0;
}

int clb_append(const char *name, const struct clb_new *msgs, size_t n, char *err)
{
	struct mail_new *nm;
	struct mail_err e;
	int rc;

	if (clb_session(err) < 0)
		return -1;
	nm = xcalloc(n ? n : 1, sizeof(*nm));
	for (size_t i = 0; i < n; i++) {
		nm[i].text = msgs[i].text;
		nm[i].len = msgs[i].len;
		nm[i].flags = msgs[i].flags;
		nm[i].keywords = msgs[i].keywords;
		nm[i].date = msgs[i].date;
		nm[i].tz_minutes = msgs[i].tz_minutes;
	}
	rc = mail_append(&sess, name, nm, n, NULL, NULL, &e);
	free(nm);
	return rc < 0 ? fail(err, &e) : 0;
}

int clb_list(const char *ref, const char *pat, int lsub,
	     void (*fn)(void *ctx, const char *name, int attrs), void *ctx, char *err)
{
	struct mail_err e;
	int rc;

	if (clb_session(err) < 0)
		return -1;
	rc = lsub ? mail_lsub(&sess, ref, pat, fn, ctx, &e) : mail_list(&sess, ref, pat, fn, ctx, &e);
	return rc < 0 ? fail(err, &e) : 0;
}

int clb_subscribe(const char *name, int on, char *err)
{
	struct mail_err e;

	if (clb_session(err) < 0)
		return -1;
	return mail_subscribe(&sess, name, on, &e) < 0 ? fail(err, &e) : 0;
}

/* The native search key for k and its children, in pool. */
static struct search_key *key_of(struct pool *pool, struct mailbox *box, const struct clb_key *k)
{
	static const enum search_op ops[] = {
		[CLB_ALL] = SK_ALL, [CLB_AND] = SK_AND, [CLB_OR] = SK_OR, [CLB_NOT] = SK_NOT,
		[CLB_MSGNOS] = SK_MSGNOS, [CLB_UIDS] = SK_UIDS, [CLB_FLAGS] = SK_FLAGS,
		[CLB_UNFLAGS] = SK_UNFLAGS, [CLB_NEW] = SK_NEW, [CLB_OLD] = SK_OLD,
		[CLB_BEFORE] = SK_BEFORE, [CLB_ON] = SK_ON, [CLB_SINCE] = SK_SINCE,
		[CLB_SENTBEFORE] = SK_SENTBEFORE, [CLB_SENTON] = SK_SENTON,
		[CLB_SENTSINCE] = SK_SENTSINCE, [CLB_LARGER] = SK_LARGER,
		[CLB_SMALLER] = SK_SMALLER, [CLB_HEADER] = SK_HEADER, [CLB_BODY] = SK_BODY,
		[CLB_TEXT] = SK_TEXT, [CLB_OLDER] = SK_OLDER, [CLB_YOUNGER] = SK_YOUNGER,
	};
	struct search_key *out = pool_alloc(pool, sizeof(*out)), **tail = &out->kids;

	out->op = ops[k->op];
	out->keyword = -1;
	if (k->keyword) {
		int i = mail_keyword(box, k->keyword, 0);

		/* a keyword no message has ever carried matches nothing */
		out->keyword = i < 0 ? -2 : i;
	}
	out->flags = k->flags;
	out->year = k->year;
	out->month = k->month;
	out->day = k->day;
	out->size = k->n;
	out->seconds = (uint32_t)k->n;
	if (k->field) {
		out->field = pool_strdup(pool, k->field);
		/* FROM, TO, CC and BCC match addresses, as IMAP's keys do */
		out->address = !strcasecmp(k->field, "From") || !strcasecmp(k->field, "To") ||
			       !strcasecmp(k->field, "Cc") || !strcasecmp(k->field, "Bcc");
	}
	if (k->str)
		out->str = pool_strdup(pool, k->str);
	if (k->nranges) {
		out->set.n = k->nranges;
		out->set.r = pool_alloc(pool, k->nranges * sizeof(*out->set.r));
		for (size_t i = 0; i < k->nranges; i++) {
			out->set.r[i].lo = k->ranges[2 * i];
			out->set.r[i].hi = k->ranges[2 * i + 1];
		}
	}
	for (const struct clb_key *c = k->kids; c; c = c->next) {
		*tail = key_of(pool, box, c);
		tail = &(*tail)->next;
	}
	return out;
}

int clb_search(struct clb_box *b, const struct clb_key *key, uint8_t *match, char *err)
{
	struct pool *pool = pool_new();
	struct mail_err e;
	int rc = search_run(b->box, key_of(pool, b->box, key), match, &e);

	pool_free(pool);
	return rc < 0 ? fail(err, &e) : 0;
}

/* Parse a classic section name into sec: numbers, then HEADER, TEXT or
 * MIME (MIME only after a number). 0, or -1 when it is not one. */
static int section_of(const char *spec, struct section *sec)
{
	const char *p = spec;

	memset(sec, 0, sizeof(*sec));
	sec->kind = SECT_FULL;
	while (*p >= '1' && *p <= '9') {
		char *end;
		unsigned long v = strtoul(p, &end, 10);

		if (sec->nparts == SECTION_MAX_DEPTH || v > UINT32_MAX)
			return -1;
		sec->part[sec->nparts++] = (uint32_t)v;
		p = end;
		if (*p != '.')
			return *p ? -1 : 0;
		p++;
	}
	if (!strcasecmp(p, "HEADER"))
		sec->kind = SECT_HEADER;
	else if (!strcasecmp(p, "TEXT"))
		sec->kind = SECT_TEXT;
	else if (!strcasecmp(p, "MIME") && sec->nparts)
		sec->kind = SECT_MIME;
	else if (*p || p != spec)
		return -1;
	return 0;
}

int clb_section(struct clb_box *b, uint32_t msgno, const char *spec, char *const *fields,
		int nfields, int not, const char **p, size_t *n, char *err)
{
	struct section sec;
	struct body *body;
	struct mail_err e;
	const char *text;
	size_t len;
	int rc;

	if (section_of(spec, &sec) < 0) {
		snprintf(err, CLB_ERRLEN, "no section is called %s", spec);
		return -1;
	}
	if (fields && sec.kind == SECT_HEADER) {
		sec.kind = not ? SECT_HEADER_FIELDS_NOT : SECT_HEADER_FIELDS;
		sec.fields = (char **)fields;
		sec.nfields = nfields;
	}
	if (mail_fetch_structure(b->box, msgno, NULL, &body, &e) < 0 ||
	    mail_fetch_text(b->box, msgno, &text, &len, &e) < 0)
		return fail(err, &e);
	buf_reset(&b->scratch);
	rc = mime_section(text, len, body, &sec, p, n, &b->scratch);
	if (rc < 0 || !*p) {
		*p = "";
		*n = 0;
		return 1;
	}
	return rc;
}

int clb_sort(struct clb_box *b, const enum clb_sort_key *keys, const int *reverse, size_t nkeys,
	     const uint8_t *match, uint32_t *out, size_t *nout, char *err)
{
	static const enum sort_key map[] = {
		[CLB_SORT_ARRIVAL] = SORT_ARRIVAL, [CLB_SORT_CC] = SORT_CC,
		[CLB_SORT_DATE] = SORT_DATE,       [CLB_SORT_FROM] = SORT_FROM,
		[CLB_SORT_SIZE] = SORT_SIZE,       [CLB_SORT_SUBJECT] = SORT_SUBJECT,
		[CLB_SORT_TO] = SORT_TO,
	};
	struct sort_crit *crit = xcalloc(nkeys ? nkeys : 1, sizeof(*crit));
	struct mail_err e;
	int rc;

	for (size_t i = 0; i < nkeys; i++) {
		crit[i].key = map[keys[i]];
		crit[i].reverse = reverse[i];
	}
	rc = sort_run(b->box, crit, nkeys, match, out, nout, &e);
	free(crit);
	return rc < 0 ? fail(err, &e) : 0;
}

int clb_thread(struct clb_box *b, int algo, const uint8_t *match, struct clb_tnode **nodes,
	       size_t *n, int32_t *first, char *err)
{
	struct thread_tree t;
	struct mail_err e;

	if (thread_run(b->box, algo ? THREAD_REFERENCES : THREAD_ORDEREDSUBJECT, match, &t, &e) < 0)
		return fail(err, &e);
	*nodes = xcalloc(t.n ? t.n : 1, sizeof(**nodes));
	for (size_t i = 0; i < t.n; i++) {
		(*nodes)[i].msgno = t.nodes[i].msgno;
		(*nodes)[i].child = t.nodes[i].child;
		(*nodes)[i].next = t.nodes[i].next;
	}
	*n = t.n;
	*first = t.first;
	thread_tree_free(&t);
	return 0;
}

void clb_parse_message(const char *text, size_t len, struct envelope **env, struct body **body,
		       struct clb_pool **pool)
{
	struct pool *p = pool_new();

	rfc822_parse(p, text, len, env, body);
	*pool = (struct clb_pool *)p;
}

struct address *clb_parse_addresses(const char *s, struct clb_pool **pool)
{
	struct pool *p = pool_new();

	*pool = (struct clb_pool *)p;
	return rfc822_parse_addresses(p, s, strlen(s));
}

void clb_pool_free(struct clb_pool *pool)
{
	pool_free((struct pool *)pool);
}

char *clb_decode_words(const char *s, size_t len, size_t *outlen)
{
	struct buf out;

	buf_init(&out);
	rfc2047_decode(s, len, &out);
	buf_putc(&out, '\0');
	*outlen = out.len - 1;
	return buf_steal(&out);
}
