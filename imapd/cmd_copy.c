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

/* Mark the copied originals \Deleted and expunge just those UIDs. On
 * failure the \Deleted flags we added are taken back. */
static int move_expunge(struct cmd *cmd, const struct copy_req *req, struct mail_err *err)
{
	struct mailbox *box = cmd->c->box;
	uint8_t *added = pool_alloc(cmd->c->pool, req->n);
	size_t i;

	for (i = 0; i < req->n; i++) {
		struct message *m = box->msgs[req->msgnos[i] - 1];
		if (m->flags & MF_DELETED)
			continue;
		if (mail_store(box, req->msgnos[i], STORE_ADD, MF_DELETED, 0, err) < 0)
			break;
		added[i] = 1;
	}
	if (i == req->n && mail_expunge(box, req->src_uids, req->n, err) == 0)
		return 0;
	/* nothing was expunged, so message numbers are still those of req */
	struct mail_err ignore;
	for (size_t k = 0; k < i; k++)
		if (added[k])
			mail_store(box, req->msgnos[k], STORE_REMOVE, MF_DELETED, 0, &ignore);
	return -1;
}

/* The originals could not be removed: take the copies out of the target
 * again, so a failed MOVE leaves both mailboxes as they were. Copies that
 * cannot be taken back are logged (the client only learns MOVE failed). */
static void move_undo_copy(struct cmd *cmd, const struct copy_req *req)
{
	struct client *c = cmd->c;
	struct mailbox *dst;
	struct mail_err e;
	int rc = -1;

	for (size_t i = 0; i < req->n; i++)
		if (!req->dst_uids[i])
			goto out;   /* the target did not say where it put them */
	if (!req->uidvalidity || mail_open(&c->sess, req->dest, 0, NULL, NULL, &dst, &e) < 0)
		goto out;
	if (dst->uidvalidity == req->uidvalidity) {
		rc = 0;
		for (size_t i = 0; i < req->n && rc == 0; i++) {
			uint32_t msgno = mail_msgno(dst, req->dst_uids[i]);
			if (msgno)
				rc = mail_store(dst, msgno, STORE_ADD, MF_DELETED, 0, &e);
		}
		if (rc == 0)
			rc = mail_expunge(dst, req->dst_uids, req->n, &e);
	}
	if (mail_close(dst, 0, rc ? NULL : &e) < 0)
		rc = -1;
out:
	if (rc < 0)
		log_err("MOVE failed and left its copies in %s user=%s host=%s", req->dest,
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
	if (move_expunge(cmd, &req, &err) < 0) {
		move_undo_copy(cmd, &req);
		return resp_mail_error(cmd, &err);
	}
	resp_ok(cmd, NULL, "%sMOVE completed", cmd->uid ? "UID " : "");
}
