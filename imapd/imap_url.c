/* imap_url.c: reading the message part an IMAP URL names, for CATENATE and
 * URLFETCH. The mailbox is opened read-only through the library as its
 * owner: the logged-in user for their own URLs, a worker started by the
 * root process as the owner for another user's (privsep_url.c). URLAUTH's
 * token is checked against the mailbox's key before the mailbox is opened
 * and again before any byte is read. */
#include <string.h>
#include <strings.h>
#include <time.h>

#include <openssl/crypto.h>

#include "imap_url.h"
#include "privsep.h"

/* Is the URL's owner the logged-in user? A relative URL is always. */
static int own_url(const struct client *c, const struct imapurl *u)
{
	return !u->user || !strcmp(u->user, c->user.name);
}

/* Is name in the configured list? */
static int name_listed(const char *list, const char *name)
{
	const char *p = list, *w;
	size_t n;

	while (config_list_next(&p, &w, &n))
		if (n == strlen(name) && !strncmp(w, name, n))
			return 1;
	return 0;
}

/* RFC 4467 section 4: the access identifier admits requester? authuser
 * and anonymous admit anyone logged in (no anonymous login exists). */
static int access_ok(const struct client *c, const struct imapurl *u, const char *requester,
		     struct mail_err *err)
{
	switch (u->access) {
	case URLA_ANONYMOUS:
	case URLA_AUTHUSER:
		return 0;
	case URLA_USER:
		if (!strcmp(u->access_user, requester))
			return 0;
		mail_err_set(err, MAIL_NOPERM, "The URL is for another user");
		return -1;
	case URLA_SUBMIT:
		if (name_listed(c->cfg.urlauth_submit_users, requester))
			return 0;
		mail_err_set(err, MAIL_NOPERM, "The URL is for a submission server");
		return -1;
	case URLA_NONE:
		break;
	}
	mail_err_set(err, MAIL_NOPERM, "The URL carries no authorization");
	return -1;
}

/* The URLAUTH verifier: mechanism, expiry, access, and the token made by
 * the mailbox's present key (for uidvalidity; 0: before the mailbox is
 * open, its one key) over the rump. 0, or -1 with err. */
static int token_ok(struct client *c, const struct imapurl *u, const char *requester,
		    uint32_t uidvalidity, struct mail_err *err)
{
	char hex[URLAUTH_TOKEN_HEX];

	if (!u->mech || strcasecmp(u->mech, "INTERNAL")) {
		mail_err_set(err, MAIL_NOPERM, "Unknown URLAUTH mechanism");
		return -1;
	}
	if (u->expire && u->expire <= time(NULL)) {
		mail_err_set(err, MAIL_NOPERM, "The URL has expired");
		return -1;
	}
	if (access_ok(c, u, requester, err) < 0)
		return -1;
	if (urlauth_token(&c->sess, u->mailbox, uidvalidity, u->raw, u->rump_len, 0, hex, err) ||
	    strlen(u->token) != URLAUTH_TOKEN_HEX - 1 ||
	    CRYPTO_memcmp(hex, u->token, URLAUTH_TOKEN_HEX - 1)) {
		mail_err_set(err, MAIL_NOPERM, "The URL's authorization is not valid");
		return -1;
	}
	return 0;
}

/* The section the URL names, resolved in the message text. */
static int url_section(struct client *c, const struct imapurl *u, const char *msg, size_t len,
		       const struct body *body, const char **p, size_t *n, struct buf *scratch)
{
	struct section sec = {0};
	struct parser sp;
	struct buf label;
	char *spec;
	int rc;

	if (!u->section) {
		*p = msg;
		*n = len;
		return 0;
	}
	spec = pool_printf(c->pool, "[%s]", u->section);
	p_init(&sp, spec, strlen(spec), c->pool);
	buf_init(&label);
	rc = imap_parse_section(&sp, &sec, &label) < 0 || p_end(&sp) < 0 ? -1 :
	     mime_section(msg, len, body, &sec, p, n, scratch);
	buf_free(&label);
	return rc == 0 && *p ? 0 : -1;
}

/* The part of message uid in box, copied to the pool with the partial. */
static int url_part(struct client *c, struct mailbox *box, const struct imapurl *u,
		    const char **text, size_t *len, struct mail_err *err)
{
	uint32_t msgno = mail_msgno(box, u->uid);
	struct envelope *env;
	struct body *body;
	const char *msg, *p = NULL;
	size_t n = 0;
	struct buf scratch;
	int rc;

	if (!msgno || (u->uidvalidity && u->uidvalidity != box->uidvalidity)) {
		mail_err_set(err, MAIL_NONEXISTENT, "No such message");
		return -1;
	}
	if (mail_fetch_structure(box, msgno, &env, &body, err) < 0 ||
	    mail_fetch_text(box, msgno, &msg, &n, err) < 0)
		return -1;
	buf_init(&scratch);
	rc = url_section(c, u, msg, n, body, &p, &n, &scratch);
	if (rc < 0) {
		mail_err_set(err, MAIL_NONEXISTENT, "No such part");
	} else {
		size_t from = u->partial && u->origin < n ? u->origin : u->partial ? n : 0;
		n -= from;
		if (u->partial && u->length && n > u->length)
			n = u->length;
		*text = pool_strndup(c->pool, p + from, n);
		*len = n;
	}
	buf_free(&scratch);
	return rc;
}

/* The bytes u names in a mailbox of this process's user, for requester:
 * the authorization (if any) checked before the open and after. */
static int url_read_as(struct client *c, const struct imapurl *u, const char *requester,
		       enum url_use use, const char **text, size_t *len, struct mail_err *err)
{
	struct mailbox *box = c->box;
	int rc;

	if ((use == URL_FETCH && (!u->absolute || !u->mech)) || (u->access && !u->mech)) {
		mail_err_set(err, MAIL_NOPERM, "The URL carries no authorization");
		return -1;
	}
	/* a forged URL does not get the mailbox opened (no index touched) */
	if (u->mech && token_ok(c, u, requester, u->uidvalidity, err) < 0)
		return -1;
	/* the selected mailbox is read in place: a second open of the same
	 * file in this process would drop its locks when closed */
	if (!box || strcmp(box->name, u->mailbox)) {
		if (mail_open(&c->sess, u->mailbox, 1, NULL, NULL, &box, err) < 0)
			return -1;
	}
	rc = u->mech ? token_ok(c, u, requester, box->uidvalidity, err) : 0;
	if (rc == 0)
		rc = url_part(c, box, u, text, len, err);
	if (box != c->box) {
		struct mail_err ignore;
		mail_close(box, 0, &ignore);
	}
	return rc;
}

/* Another user's authorized URL: their worker's answer, through P. */
static int url_read_other(struct client *c, const struct imapurl *u, const char **text,
			  size_t *len, struct mail_err *err)
{
	struct buf b;
	int rc;

	buf_init(&b);
	rc = privsep_url_fetch(u->user, u->raw, u->raw_len, c->cfg.max_message,
			       c->cfg.urlauth_timeout, &b);
	if (rc == 0) {
		*text = pool_strndup(c->pool, b.data ? b.data : "", b.len);
		*len = b.len;
	} else {
		mail_err_set(err, MAIL_NOPERM, "The URL names nothing this user may read");
	}
	buf_free(&b);
	return rc;
}

/* See imap_url.h: another user's URL needs URLAUTH and their worker. */
int imap_url_read(struct client *c, const struct imapurl *u, enum url_use use,
		  const char **text, size_t *len, struct mail_err *err)
{
	if (own_url(c, u))
		return url_read_as(c, u, c->user.name, use, text, len, err);
	if (!u->mech) {
		mail_err_set(err, MAIL_NOPERM, "The URL names another user's mailbox");
		return -1;
	}
	return url_read_other(c, u, text, len, err);
}

/* See imap_url.h: the worker's client is the owner's, with no mailbox
 * selected; the URL must name that owner. */
int imap_url_worker(const struct config *cfg, const struct auth_user *owner,
		    const char *requester, const char *url, size_t len, size_t max,
		    struct buf *out)
{
	static struct client w;   /* its buffers are too big for the stack */
	struct imapurl u;
	struct mail_err err;
	const char *why, *text = NULL;
	size_t n = 0;

	w.cfg = *cfg;
	w.user = *owner;
	w.pool = pool_new();
	w.state = ST_AUTH;
	mail_session_setup(&w.sess, owner->name, owner->home, &w.cfg);
	if (imapurl_parse(url, len, w.pool, &u, &why) < 0 || !u.absolute || !u.mech || !u.user ||
	    strcmp(u.user, owner->name) ||
	    url_read_as(&w, &u, requester, URL_FETCH, &text, &n, &err) < 0 || n > max)
		return -1;
	buf_append(out, text, n);
	return 0;
}
