/* cmd_condstore.c: the grammar and answers CONDSTORE and QRESYNC (RFC 7162)
 * add to SELECT, FETCH and STORE: select-params, fetch and store
 * modifiers, HIGHESTMODSEQ, VANISHED (EARLIER). The modseqs themselves are
 * the library's (c-client/mail_modseq.c). */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "imap_fmt.h"
#include "imapd.h"

void imap_condstore_enable(struct client *c)
{
	if (c->enabled & CLIENT_EN_CONDSTORE)
		return;
	c->enabled |= CLIENT_EN_CONDSTORE;
	/* RFC 7162 3.1: enabled in the selected state, the client learns
	 * where the mailbox stands before the command's answer */
	if (c->box) {
		mail_modseq_enable(c->box);
		uint64_t h = mail_highestmodseq(c->box);
		if (h)
			resp_untagged(c, "OK [HIGHESTMODSEQ %llu] Highest", (unsigned long long)h);
		else
			resp_untagged(c, "OK [NOMODSEQ] No modseqs are kept for this mailbox");
	}
}

void imap_put_modseq(struct buf *out, struct mailbox *box, uint32_t msgno)
{
	buf_printf(out, "MODSEQ (%llu)", (unsigned long long)mail_modseq_of(box, msgno));
}

void imap_vanished_earlier(struct client *c, uint64_t modseq, const struct numset *set)
{
	struct numrange *r;
	size_t n = mail_vanished(c->box, modseq, set, &r);
	struct buf b;

	if (!n)
		return;
	buf_init(&b);
	buf_puts(&b, "* VANISHED (EARLIER) ");
	for (size_t i = 0; i < n; i++) {
		buf_printf(&b, "%s%u", i ? "," : "", r[i].lo);
		if (r[i].hi != r[i].lo)
			buf_printf(&b, ":%u", r[i].hi);
	}
	buf_puts(&b, "\r\n");
	resp_write(c, b.data, b.len);
	buf_free(&b);
	free(r);
}

/* mod-sequence-value: 1 to 2^63-1 (zero too where valzer). */
static int p_modseq(struct parser *p, uint64_t *v, int zero_ok)
{
	if (p_number64(p, v) < 0)
		return -1;
	if ((*v == 0 && !zero_ok) || *v > INT64_MAX)
		return p_fail(p, "Bad mod-sequence value");
	return 0;
}

/* "(" known-sequence-set SP known-uid-set ")": only checked; the full
 * record of expunges makes it unnecessary (RFC 7162 3.2.5.2 lets us). */
static int p_seq_match(struct parser *p)
{
	struct numset a, b;

	if (p_char(p, '(') < 0 || p_seqset(p, &a) < 0 || p_sp(p) < 0 || p_seqset(p, &b) < 0 ||
	    p_char(p, ')') < 0)
		return -1;
	return 0;
}

/* "QRESYNC (" uidvalidity SP modseq [SP known-uids] [SP seq-match-data] ")" */
static int p_qresync(struct parser *p, struct select_params *sp)
{
	if (p_sp(p) < 0 || p_char(p, '(') < 0 || p_nz_number(p, &sp->validity) < 0 ||
	    p_sp(p) < 0 || p_modseq(p, &sp->modseq, 0) < 0)
		return -1;
	if (p_peek(p, ' ')) {
		p->p++;
		if (p_peek(p, '(')) {
			if (p_seq_match(p) < 0)
				return -1;
		} else if (p_seqset(p, &sp->known) < 0 ||
			   (p_peek(p, ' ') && (p_sp(p) < 0 || p_seq_match(p) < 0))) {
			return -1;
		}
	}
	sp->qresync = 1;
	return p_char(p, ')');
}

int imap_select_params(struct cmd *cmd, struct select_params *sp)
{
	struct parser *p = &cmd->p;
	char *name;

	if (p_sp(p) < 0 || p_char(p, '(') < 0)
		return -1;
	do {
		if ((sp->condstore || sp->qresync) && p_sp(p) < 0)
			return -1;
		if (p_atom(p, &name) < 0)
			return -1;
		if (!strcasecmp(name, "CONDSTORE"))
			sp->condstore = 1;
		else if (!strcasecmp(name, "QRESYNC") && !(cmd->c->enabled & CLIENT_EN_QRESYNC))
			return p_fail(p, "QRESYNC must be enabled (ENABLE QRESYNC) first");
		else if (strcasecmp(name, "QRESYNC") || p_qresync(p, sp) < 0)
			return p->error ? -1 : p_fail(p, "Unknown SELECT parameter");
	} while (!p_peek(p, ')'));
	return p_char(p, ')');
}

/* One "* n FETCH (UID u FLAGS (...) MODSEQ (m))" for QRESYNC and CHANGEDSINCE. */
static void put_changed(struct client *c, uint32_t msgno, struct buf *b)
{
	struct mailbox *box = c->box;

	buf_reset(b);
	if (imap_put_fetch_head(c, b, msgno, 1))
		buf_putc(b, ' ');
	buf_puts(b, "FLAGS ");
	imap_put_flags(b, c, box->msgs[msgno - 1]);
	buf_putc(b, ' ');
	imap_put_modseq(b, box, msgno);
	buf_puts(b, ")\r\n");
	resp_write(c, b->data, b->len);
}

void imap_select_condstore(struct cmd *cmd, const struct select_params *sp)
{
	struct client *c = cmd->c;
	struct mailbox *box = c->box;

	if (sp->condstore || sp->qresync)
		c->enabled |= CLIENT_EN_CONDSTORE;
	if (!(c->enabled & CLIENT_EN_CONDSTORE))
		return;
	mail_modseq_enable(box);
	uint64_t h = mail_highestmodseq(box);
	if (!h) {
		resp_untagged(c, "OK [NOMODSEQ] No modseqs are kept for this mailbox");
		return;
	}
	resp_untagged(c, "OK [HIGHESTMODSEQ %llu] Highest", (unsigned long long)h);
	/* a cache of another UIDVALIDITY is worthless: the client starts over */
	if (!sp->qresync || sp->validity != box->uidvalidity)
		return;
	const struct numset *known = sp->known.n ? &sp->known : NULL;
	imap_vanished_earlier(c, sp->modseq, known);
	uint32_t max = box->nmsgs ? box->msgs[box->nmsgs - 1]->uid : 0;
	struct buf b;
	buf_init(&b);
	for (uint32_t i = 0; i < box->nmsgs; i++)
		if (box->msgs[i]->modseq > sp->modseq &&
		    (!known || numset_contains(known, box->msgs[i]->uid, max)))
			put_changed(c, i + 1, &b);
	buf_free(&b);
}

int imap_fetch_mods(struct cmd *cmd, struct fetch_mods *fm)
{
	struct parser *p = &cmd->p;
	char *name;

	if (p_char(p, '(') < 0)
		return -1;
	do {
		if ((fm->changedsince || fm->vanished) && p_sp(p) < 0)
			return -1;
		if (p_atom(p, &name) < 0)
			return -1;
		if (!strcasecmp(name, "CHANGEDSINCE")) {
			if (p_sp(p) < 0 || p_modseq(p, &fm->since, 1) < 0)
				return -1;
			fm->changedsince = 1;
		} else if (!strcasecmp(name, "VANISHED")) {
			fm->vanished = 1;
		} else {
			return p_fail(p, "Unknown FETCH modifier");
		}
	} while (!p_peek(p, ')'));
	/* RFC 7162 3.2.6: VANISHED only in UID FETCH, with CHANGEDSINCE, once
	 * QRESYNC is enabled */
	if (fm->vanished && (!cmd->uid || !fm->changedsince ||
			     !(cmd->c->enabled & CLIENT_EN_QRESYNC)))
		return p_fail(p, "VANISHED needs UID FETCH, CHANGEDSINCE and ENABLE QRESYNC");
	return p_char(p, ')');
}

int imap_store_mods(struct cmd *cmd, int *given, uint64_t *since)
{
	struct parser *p = &cmd->p;
	char *name;

	*given = 0;
	if (!p_peek(p, '('))
		return 0;
	p->p++;
	if (p_atom(p, &name) < 0 || strcasecmp(name, "UNCHANGEDSINCE"))
		return p_fail(p, "Unknown STORE modifier");
	if (p_sp(p) < 0 || p_modseq(p, since, 1) < 0 || p_char(p, ')') < 0 || p_sp(p) < 0)
		return -1;
	*given = 1;
	return 0;
}
