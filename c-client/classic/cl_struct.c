/* cl_struct.c: envelopes and body structures in the classic shapes
 * (ENVELOPE, BODY, ADDRESS), made from the native parse and kept in the
 * message's elt until it goes; the classic calls that build on them. This
 * file alone sees the native structure types (../rfc822.h: their tags do
 * not meet the classic ones); it calls no native function. */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cl_int.h"
#include "../rfc822_api.h"

/* Type and encoding names by their classic numbers (TYPEOTHER and
 * ENCOTHER stand for any other name, which the subtype keeps). */
char *body_types[TYPEMAX + 1] = {"TEXT",  "MULTIPART", "MESSAGE", "APPLICATION", "AUDIO",
				 "IMAGE", "VIDEO",     "MODEL",   "X-UNKNOWN"};
char *body_encodings[ENCMAX + 1] = {"7BIT", "8BIT", "BINARY", "BASE64", "QUOTED-PRINTABLE",
				    "X-UNKNOWN"};

static unsigned short code_of(char *const *names, unsigned short other, const char *name)
{
	for (unsigned short i = 0; i < other; i++)
		if (name && !strcasecmp(names[i], name))
			return i;
	return other;
}

/* The native parser's stand-ins for a missing domain and a syntax error,
 * and the classic library's (a missing domain takes the caller's default
 * host where it gives one). */
#define NATIVE_NO_HOST "MISSING_DOMAIN"
#define NATIVE_BAD_HOST "SYNTAX_ERROR"
#define CLASSIC_NO_HOST ".MISSING-HOST-NAME."
#define CLASSIC_BAD_HOST ".SYNTAX-ERROR."

static ADDRESS *addresses_in(const struct address *a, const char *defhost)
{
	ADDRESS *head = NIL, **tail = &head;

	for (; a; a = a->next) {
		ADDRESS *c = mail_newaddr();
		const char *host = a->host;

		if (host && !strcmp(host, NATIVE_NO_HOST))
			host = defhost ? defhost : CLASSIC_NO_HOST;
		else if (host && !strcmp(host, NATIVE_BAD_HOST))
			host = CLASSIC_BAD_HOST;
		c->personal = cpystr(a->personal);
		c->adl = cpystr(a->adl);
		c->mailbox = cpystr(a->mailbox);
		c->host = cpystr(host);
		*tail = c;
		tail = &c->next;
	}
	return head;
}

static ENVELOPE *envelope_in(const struct envelope *e, const char *defhost)
{
	ENVELOPE *c = mail_newenvelope();

	c->date = (unsigned char *)cpystr(e->date);
	c->subject = cpystr(e->subject);
	c->from = addresses_in(e->from, defhost);
	c->sender = addresses_in(e->sender, defhost);
	c->reply_to = addresses_in(e->reply_to, defhost);
	c->to = addresses_in(e->to, defhost);
	c->cc = addresses_in(e->cc, defhost);
	c->bcc = addresses_in(e->bcc, defhost);
	c->in_reply_to = cpystr(e->in_reply_to);
	c->message_id = cpystr(e->message_id);
	return c;
}

static PARAMETER *parameters(const struct param *p)
{
	PARAMETER *head = NIL, **tail = &head;

	for (; p; p = p->next) {
		PARAMETER *c = mail_newbody_parameter();

		c->attribute = cpystr(p->attr);
		c->value = cpystr(p->value);
		*tail = c;
		tail = &c->next;
	}
	return head;
}

/* Fill c (zeroed) from the native part b. */
static void body_fill(BODY *c, const struct body *b)
{
	c->type = code_of(body_types, TYPEOTHER, b->type);
	c->subtype = cpystr(b->subtype);
	c->encoding = code_of(body_encodings, ENCOTHER, b->encoding);
	c->parameter = parameters(b->params);
	c->id = cpystr(b->id);
	c->description = cpystr(b->description);
	c->disposition.type = cpystr(b->disposition);
	c->disposition.parameter = parameters(b->disp_params);
	for (char **l = b->language; l && *l; l++) {
		STRINGLIST **tail = &c->language;

		while (*tail)
			tail = &(*tail)->next;
		*tail = mail_newstringlist();
		(*tail)->text.data = (unsigned char *)cpystr(*l);
		(*tail)->text.size = strlen(*l);
	}
	c->location = cpystr(b->location);
	c->md5 = cpystr(b->md5);
	c->mime.offset = b->header_off;
	c->mime.text.size = b->header_len;
	c->contents.offset = b->body_off;
	c->contents.text.size = b->body_len;
	c->size.bytes = b->body_len;
	c->size.lines = b->lines;
	if (b->parts) {
		PART **tail = &c->nested.part;

		for (const struct body *p = b->parts; p; p = p->next) {
			*tail = mail_newbody_part();
			body_fill(&(*tail)->body, p);
			tail = &(*tail)->next;
		}
	} else if (b->env || b->msg_body) {
		c->nested.msg = mail_newmsg();
		if (b->env)
			c->nested.msg->env = envelope_in(b->env, NIL);
		if (b->msg_body) {
			c->nested.msg->body = mail_newbody();
			body_fill(c->nested.msg->body, b->msg_body);
		}
	}
}

ENVELOPE *mail_fetch_structure(MAILSTREAM *stream, unsigned long msgno, BODY **body, long flags)
{
	struct clb_box *box = cl_box(stream);
	struct envelope *e;
	struct body *b;
	MESSAGECACHE *elt;
	char err[CLB_ERRLEN];

	if (body)
		*body = NIL;
	if (box && (flags & FT_UID))
		msgno = mail_msgno(stream, msgno);
	if (!box || msgno < 1 || msgno > stream->nmsgs)
		return NIL;
	elt = mail_elt(stream, msgno);
	if (!elt->private.msg.env) {
		if (clb_structure(box, (uint32_t)msgno, &e, &b, err) < 0) {
			cl_error("Can't parse a message of", stream->mailbox, err);
			return NIL;
		}
		elt->private.msg.env = envelope_in(e, NIL);
		elt->private.msg.body = mail_newbody();
		body_fill(elt->private.msg.body, b);
	}
	if (body)
		*body = elt->private.msg.body;
	return elt->private.msg.env;
}

void cl_elt_free(MESSAGECACHE *elt)
{
	mail_free_envelope(&elt->private.msg.env);
	mail_free_body(&elt->private.msg.body);
}

ADDRESS *mail_newaddr(void)
{
	return memset(fs_get(sizeof(ADDRESS)), 0, sizeof(ADDRESS));
}

ENVELOPE *mail_newenvelope(void)
{
	return memset(fs_get(sizeof(ENVELOPE)), 0, sizeof(ENVELOPE));
}

BODY *mail_newbody(void)
{
	BODY *b = memset(fs_get(sizeof(BODY)), 0, sizeof(BODY));

	b->type = TYPETEXT;
	b->encoding = ENC7BIT;
	return b;
}

PARAMETER *mail_newbody_parameter(void)
{
	return memset(fs_get(sizeof(PARAMETER)), 0, sizeof(PARAMETER));
}

PART *mail_newbody_part(void)
{
	PART *p = memset(fs_get(sizeof(PART)), 0, sizeof(PART));

	p->body.type = TYPETEXT;
	return p;
}

MESSAGE *mail_newmsg(void)
{
	return memset(fs_get(sizeof(MESSAGE)), 0, sizeof(MESSAGE));
}

/* fs_give where the pointer may be NIL. */
static void give(void *p)
{
	if (*(void **)p)
		fs_give(p);
}

void mail_free_address(ADDRESS **a)
{
	while (*a) {
		ADDRESS *next = (*a)->next;

		give(&(*a)->personal);
		give(&(*a)->adl);
		give(&(*a)->mailbox);
		give(&(*a)->host);
		give(&(*a)->error);
		give(&(*a)->orcpt.type);
		give(&(*a)->orcpt.addr);
		fs_give((void **)a);
		*a = next;
	}
}

void mail_free_envelope(ENVELOPE **e)
{
	if (!*e)
		return;
	give(&(*e)->remail);
	mail_free_address(&(*e)->return_path);
	give(&(*e)->date);
	mail_free_address(&(*e)->from);
	mail_free_address(&(*e)->sender);
	mail_free_address(&(*e)->reply_to);
	give(&(*e)->subject);
	mail_free_address(&(*e)->to);
	mail_free_address(&(*e)->cc);
	mail_free_address(&(*e)->bcc);
	give(&(*e)->in_reply_to);
	give(&(*e)->message_id);
	give(&(*e)->newsgroups);
	give(&(*e)->followup_to);
	give(&(*e)->references);
	fs_give((void **)e);
}

void mail_free_body_parameter(PARAMETER **p)
{
	while (*p) {
		PARAMETER *next = (*p)->next;

		give(&(*p)->attribute);
		give(&(*p)->value);
		fs_give((void **)p);
		*p = next;
	}
}

/* What a BODY holds, not the BODY itself (a PART holds one by value). */
static void body_data_free(BODY *b)
{
	give(&b->subtype);
	mail_free_body_parameter(&b->parameter);
	give(&b->id);
	give(&b->description);
	give(&b->disposition.type);
	mail_free_body_parameter(&b->disposition.parameter);
	mail_free_stringlist(&b->language);
	give(&b->location);
	give(&b->md5);
	/* a program's text to send (smtp_mail) is the body's, as in UW's */
	give(&b->mime.text.data);
	give(&b->contents.text.data);
	if (b->type == TYPEMULTIPART) {
		while (b->nested.part) {
			PART *next = b->nested.part->next;

			body_data_free(&b->nested.part->body);
			fs_give((void **)&b->nested.part);
			b->nested.part = next;
		}
	} else if (b->type == TYPEMESSAGE && b->nested.msg) {
		mail_free_envelope(&b->nested.msg->env);
		mail_free_body(&b->nested.msg->body);
		fs_give((void **)&b->nested.msg);
	}
}

void mail_free_body(BODY **b)
{
	if (!*b)
		return;
	body_data_free(*b);
	fs_give((void **)b);
}

/* The first From address with a host, as a person reads it (its display
 * name, else mailbox@host), cut or blank-padded to length. */
void mail_fetchfrom(char *s, MAILSTREAM *stream, unsigned long msgno, long length)
{
	ENVELOPE *env = mail_fetch_structure(stream, msgno, NIL, NIL);
	ADDRESS *a = env ? env->from : NIL;
	char buf[MAILTMPLEN];
	const char *t;
	size_t n;

	memset(s, ' ', (size_t)length);
	s[length] = '\0';
	while (a && !a->host)
		a = a->next;
	if (!a)
		return;
	t = a->personal;
	if (!t) {
		snprintf(buf, sizeof(buf), "%.256s@%.256s", a->mailbox ? a->mailbox : "", a->host);
		t = buf;
	}
	n = strlen(t);
	memcpy(s, t, n < (size_t)length ? n : (size_t)length);
}

/* The subject cut to length (NUL-filled, not padded); " " when none. */
void mail_fetchsubject(char *s, MAILSTREAM *stream, unsigned long msgno, long length)
{
	ENVELOPE *env = mail_fetch_structure(stream, msgno, NIL, NIL);

	memset(s, '\0', (size_t)length + 1);
	if (env && env->subject)
		strncpy(s, env->subject, (size_t)length);
	else
		*s = ' ';
}

/* A local part that is not a dot-atom goes in quotes. */
static int needs_quotes(const char *s)
{
	if (!*s || *s == '.')
		return 1;
	for (; *s; s++)
		if (strchr("()<>@,;:\\\"[] \t", *s) || (*s == '.' && (s[1] == '.' || !s[1])) ||
		    (unsigned char)*s < 0x20)
			return 1;
	return 0;
}

/* Append adr's mailbox@host (its source route first) to dest. */
void rfc822_address(char *dest, ADDRESS *adr)
{
	char *p = dest + strlen(dest);

	if (!adr || !adr->host || !adr->mailbox)
		return;   /* a group marker has no address */
	if (adr->adl)
		p += sprintf(p, "%s:", adr->adl);
	if (needs_quotes(adr->mailbox)) {
		*p++ = '"';
		for (const char *m = adr->mailbox; *m; m++) {
			if (*m == '"' || *m == '\\')
				*p++ = '\\';
			*p++ = *m;
		}
		*p++ = '"';
		*p = '\0';
	} else {
		p = stpcpy(p, adr->mailbox);
	}
	/* UW writes a host of "@" (no host known) as the bare mailbox */
	if (*adr->host != '@')
		sprintf(p, "@%s", adr->host);
}

/* Text with bare LF line ends made CRLF (the native parser reads the
 * canonical form), fs_get'd; extra: bytes of room kept at the end. */
static char *crlf(const char *s, size_t len, size_t *out, size_t extra)
{
	char *p = fs_get(2 * len + extra + 1);
	size_t n = 0;

	for (size_t i = 0; i < len; i++) {
		if (s[i] == '\n' && (!i || s[i - 1] != '\r'))
			p[n++] = '\r';
		p[n++] = s[i];
	}
	*out = n;
	return p;
}

void rfc822_parse_msg_full(ENVELOPE **en, BODY **bdy, char *s, unsigned long i, STRING *bs,
			   char *host, unsigned long depth, unsigned long flags)
{
	struct clb_pool *pool;
	struct envelope *e;
	struct body *b;
	size_t n, blen = bs ? SIZE(bs) : 0;
	char *text = crlf(s, i, &n, 4 + 2 * blen);

	/* the header, the blank line that ends it, then the body */
	if (n < 2 || memcmp(text + n - 2, "\r\n", 2))
		n += (size_t)sprintf(text + n, "\r\n");
	if (n < 4 || memcmp(text + n - 4, "\r\n\r\n", 4))
		n += (size_t)sprintf(text + n, "\r\n");
	if (bs) {
		size_t m;
		char *body = fs_get(blen + 1), *b2;

		for (size_t k = 0; k < blen; k++)
			body[k] = SNX(bs);
		b2 = crlf(body, blen, &m, 0);
		memcpy(text + n, b2, m);
		n += m;
		fs_give((void **)&b2);
		fs_give((void **)&body);
	}
	clb_parse_message(text, n, &e, &b, &pool);
	if (en)
		*en = envelope_in(e, host);
	if (bdy) {
		*bdy = mail_newbody();
		body_fill(*bdy, b);
	}
	clb_pool_free(pool);
	fs_give((void **)&text);
}

void rfc822_parse_adrlist(ADDRESS **lst, char *string, char *host)
{
	struct clb_pool *pool;
	struct address *a = clb_parse_addresses(string, &pool);
	ADDRESS **tail = lst;

	while (*tail)
		tail = &(*tail)->next;
	*tail = addresses_in(a, host);
	clb_pool_free(pool);
}
