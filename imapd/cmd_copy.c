/* cmd_copy.c: COPY / UID COPY (RFC 3501 6.4.7) with COPYUID (RFC 4315), and
 * MOVE / UID MOVE (RFC 6851): copy, then mark and expunge exactly the moved
 * messages, so other \Deleted messages are left alone. */
#include <string.h>

#include "imapd.h"
#include "imap_fmt.h"
#include "log.h"

struct copy_req {
	char *dest;
	uint32_t *msgnos;
	size_t n;
	uint32_t uidvalidity;
	uint32_t *src_uids, *dst_uids;
};

/* SP sequence-set SP mailbox, resolved to message numbers. 0 ok, -1 after
 * a tagged BAD. */
static int parse_args(struct cmd *cmd, struct copy_req *req)
{
	struct numset set;

	if (p_sp(&cmd->p) < 0 || p_seqset(&cmd->p, &set) < 0 || p_sp(&cmd->p) < 0 ||
	    p_mailbox(&cmd->p, &req->dest) < 0 || p_end(&cmd->p) < 0) {
		resp_parse_error(cmd);
		return -1;
	}
	ssize_t n = imap_resolve_set(cmd, &set, &req->msgnos);
	if (n < 0)
		return -1;
	req->n = (size_t)n;
	return 0;
}

/* "COPYUID v src dst" into out, or nothing when the target gave no UIDs. */
static void put_copyuid(struct buf *out, const struct copy_req *req)
{
	if (!req->uidvalidity || !req->n)
		return;
	for (size_t i = 0; i < req->n; i++)
		if (!req->dst_uids[i])
			return;
	buf_printf(out, "COPYUID %u ", req->uidvalidity);
	imap_put_seqset(out, req->src_uids, req->n);
	buf_putc(out, ' ');
	imap_put_seqset(out, req->dst_uids, req->n);
}

static int do_copy(struct cmd *cmd, struct copy_req *req, struct mail_err *err)
{
	struct mailbox *box = cmd->c->box;
	size_t slots = req->n ? req->n : 1;

	req->src_uids = pool_alloc(cmd->c->pool, slots * sizeof *req->src_uids);
	req->dst_uids = pool_alloc(cmd->c->pool, slots * sizeof *req->dst_uids);
	for (size_t i = 0; i < req->n; i++)
		req->src_uids[i] = box->msgs[req->msgnos[i] - 1]->uid;
	if (!req->n)
		return 0;
	return mail_copy(box, req->msgnos, req->n, req->dest, &req->uidvalidity, req->dst_uids,
			 err);
}

void cmd_copy(struct cmd *cmd)
{
	struct copy_req req = {0};
	struct mail_err err;
	struct buf code;

	if (parse_args(cmd, &req) < 0)
		return;
	memset(&err, 0, sizeof err);
	if (do_copy(cmd, &req, &err) < 0)
		return resp_mail_error(cmd, &err);
	buf_init(&code);
	put_copyuid(&code, &req);
	resp_ok(cmd, code.data, "%sCOPY completed", cmd->uid ? "UID " : "");
	buf_free(&code);
}

/* Mark the originals \Deleted and expunge just those UIDs. On failure the
 * \Deleted flags we added are taken back. */
int imap_expunge_exactly(struct cmd *cmd, const uint32_t *msgnos, const uint32_t *uids,
			 size_t n, struct mail_err *err)
{
	struct mailbox *box = cmd->c->box;
	uint8_t *added = pool_alloc(cmd->c->pool, n ? n : 1);
	size_t i;

	for (i = 0; i < n; i++) {
		added[i] = 0;
		if (box->msgs[msgnos[i] - 1]->flags & MF_DELETED)
			continue;
		if (mail_store(box, msgnos[i], STORE_ADD, MF_DELETED, 0, err) < 0)
			break;
		added[i] = 1;
	}
	if (i == n && mail_expunge(box, uids, n, err) == 0)
		return 0;
	/* nothing was expunged, so the message numbers still hold */
	struct mail_err ignore;
	for (size_t k = 0; k < i; k++)
		if (added[k])
			mail_store(box, msgnos[k], STORE_REMOVE, MF_DELETED, 0, &ignore);
	return -1;
}

/* The originals could not be removed: take the copies out of the target
 * again, so a failed MOVE or REPLACE leaves both mailboxes as they were.
 * Copies that cannot be taken back are logged (the client only learns the
 * command failed). */
void imap_undo_stored(struct cmd *cmd, const char *dest, uint32_t uidvalidity,
		      const uint32_t *uids, size_t n)
{
	struct client *c = cmd->c;
	struct mailbox *dst;
	struct mail_err e;
	int rc = -1;

	for (size_t i = 0; i < n; i++)
		if (!uids[i])
			goto out;   /* the target did not say where it put them */
	if (!uidvalidity || mail_open(&c->sess, dest, 0, NULL, NULL, &dst, &e) < 0)
		goto out;
	if (dst->uidvalidity == uidvalidity) {
		rc = 0;
		for (size_t i = 0; i < n && rc == 0; i++) {
			uint32_t msgno = mail_msgno(dst, uids[i]);
			if (msgno)
				rc = mail_store(dst, msgno, STORE_ADD, MF_DELETED, 0, &e);
		}
		if (rc == 0)
			rc = mail_expunge(dst, uids, n, &e);
	}
	if (mail_close(dst, 0, rc ? NULL : &e) < 0)
		rc = -1;
out:
	if (rc < 0)
		log_err("%s failed and left its copies in %s user=%s host=%s", cmd->name, dest,
			c->user.name, c->conn.peer_host);
}

void cmd_move(struct cmd *cmd)
{
	struct copy_req req = {0};
	struct mail_err err;
	struct buf code;

	if (parse_args(cmd, &req) < 0)
		return;
	if (cmd->c->box->readonly)
		return resp_no(cmd, NULL, "Mailbox is read-only");
	memset(&err, 0, sizeof err);
	if (do_copy(cmd, &req, &err) < 0)
		return resp_mail_error(cmd, &err);
	if (!req.n)
		return resp_ok(cmd, NULL, "%sMOVE completed (no messages)", cmd->uid ? "UID " : "");
	buf_init(&code);
	put_copyuid(&code, &req);
	if (code.len)
		resp_untagged(cmd->c, "OK [%s] Moved", code.data);
	buf_free(&code);
	/* the EXPUNGE responses come from the mailbox's expunged events */
	if (imap_expunge_exactly(cmd, req.msgnos, req.src_uids, req.n, &err) < 0) {
		imap_undo_stored(cmd, req.dest, req.uidvalidity, req.dst_uids, req.n);
		return resp_mail_error(cmd, &err);
	}
	resp_ok(cmd, NULL, "%sMOVE completed", cmd->uid ? "UID " : "");
}
