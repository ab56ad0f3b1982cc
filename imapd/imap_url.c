/* imap_url.c: reading the message part an IMAP URL names, for CATENATE and
 * URLFETCH. The mailbox is opened read-only through the library as the
 * logged-in user, so a URL reaches exactly what SELECT would; URLAUTH's
 * token is checked against the mailbox's key before any byte is read. */
#include <string.h>
#include <strings.h>
#include <time.h>

#include <openssl/crypto.h>

#include "imap_url.h"

/* Is the URL's owner the logged-in user? A relative URL is always. */
static int own_url(const struct client *c, const struct imapurl *u)
{
	return !u->user || !strcmp(u->user, c->user.name);
}

/* RFC 4467 section 4: the access identifier admits this session? */
static int access_ok(const struct client *c, const struct imapurl *u, struct mail_err *err)
{
	switch (u->access) {
	case URLA_ANONYMOUS:
	case URLA_AUTHUSER:
		return 0;
	case URLA_USER:
		if (!strcmp(u->access_user, c->user.name))
			return 0;
		mail_err_set(err, MAIL_NOPERM, "The URL is for another user");
		return -1;
	case URLA_SUBMIT:
		mail_err_set(err, MAIL_NOPERM, "The URL is for a submission server");
		return -1;
	case URLA_NONE:
		break;
	}
	mail_err_set(err, MAIL_NOPERM, "The URL carries no authorization");
	return -1;
}

/* The URLAUTH verifier: mechanism, expiry, access, and the token made by
 * the mailbox's present key over the rump. 0, or -1 with err. */
static int token_ok(struct client *c, const struct imapurl *u, uint32_t uidvalidity,
		    struct mail_err *err)
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
	if (access_ok(c, u, err) < 0)
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

/* See imap_url.h: owner, authorization, then the bytes. */
int imap_url_read(struct client *c, const struct imapurl *u, enum url_use use,
		  const char **text, size_t *len, struct mail_err *err)
{
	struct mailbox *box = c->box;
	int rc;

	/* another user's files are out of this process's reach by design */
	if (!own_url(c, u)) {
		mail_err_set(err, MAIL_NOPERM, "The URL names another user's mailbox");
		return -1;
	}
	if ((use == URL_FETCH && (!u->absolute || !u->mech)) || (u->access && !u->mech)) {
		mail_err_set(err, MAIL_NOPERM, "The URL carries no authorization");
		return -1;
	}
	/* the selected mailbox is read in place: a second open of the same
	 * file in this process would drop its locks when closed */
	if (!box || strcmp(box->name, u->mailbox)) {
		if (mail_open(&c->sess, u->mailbox, 1, NULL, NULL, &box, err) < 0)
			return -1;
	}
	rc = u->mech ? token_ok(c, u, box->uidvalidity, err) : 0;
	if (rc == 0)
		rc = url_part(c, box, u, text, len, err);
	if (box != c->box) {
		struct mail_err ignore;
		mail_close(box, 0, &ignore);
	}
	return rc;
}
