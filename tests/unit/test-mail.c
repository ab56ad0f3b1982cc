/* test-mail.c: the generic mailbox API on real files: name resolution and
 * refusals, create/delete/rename (INBOX included), LIST/LSUB patterns,
 * subscriptions, STATUS, wildcard matching. */
#include "mail_api.h"
#include "mbox_fixture.h"
#include "test.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static struct mail_session sess;

/* Home is tmpdir/home; the spool sits beside it, as in real life. */
static char *path_of(const char *name)
{
	return fixture_path("home", name);
}

static char *spool_of(const char *name)
{
	return fixture_path("spool", name);
}

static void setup(void)
{
	if (fixture_remove_tmpdir())
		mail_session_free(&sess);
	fixture_make_tmpdir("test-mail");
	char home[300], spool[300];
	snprintf(home, sizeof home, "%s/home", tmpdir);
	snprintf(spool, sizeof spool, "%s/spool", tmpdir);
	mkdir(home, 0700);
	mkdir(spool, 0775);
	mail_session_init(&sess, "bob", home, spool);
}

static const char one_msg[] = "From x@y Mon Jan  6 10:00:00 2025\nSubject: hi\n\nbody\n\n";

static void test_resolve(void)
{
	struct mail_err err = { 0 };
	char *p;

	setup();
	p = mail_resolve(&sess, "inBox", &err);
	CHECK_STR(p, spool_of("bob"));
	free(p);
	p = mail_resolve(&sess, "Mail/foo", &err);
	CHECK_STR(p, path_of("Mail/foo"));
	free(p);
	const char *bad[] = { "", "/etc/passwd", "~root/x", "~/x", "..", "a/../../x", "../x",
			      "a/..", "a\nb" };
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
		err.code = MAIL_OK;
		CHECK(mail_resolve(&sess, bad[i], &err) == NULL);
		CHECK(err.code == MAIL_BADNAME);
	}
	p = mail_resolve(&sess, "a..b/..c", &err);   /* only ".." components are bad */
	CHECK(p != NULL);
	free(p);
	sess.allow_outside_home = 1;
	p = mail_resolve(&sess, "/var/x", &err);
	CHECK_STR(p, "/var/x");
	free(p);
	p = mail_resolve(&sess, "~/x", &err);
	CHECK_STR(p, path_of("x"));
	free(p);
	sess.allow_outside_home = 0;
	struct mailbox *box;
	CHECK(mail_open(&sess, "/etc/passwd", 1, NULL, NULL, &box, &err) < 0);
	CHECK(err.code == MAIL_BADNAME);
	CHECK(mail_create(&sess, "../escape", &err) < 0 && err.code == MAIL_BADNAME);
	CHECK(mail_delete(&sess, "~/x", &err) < 0 && err.code == MAIL_BADNAME);
	CHECK(mail_rename(&sess, "a", "/tmp/x", &err) < 0 && err.code == MAIL_BADNAME);
	CHECK(mail_subscribe(&sess, "../x", 1, &err) < 0 && err.code == MAIL_BADNAME);
}

static void test_create_delete(void)
{
	struct mail_err err = { 0 };
	struct mail_status st;
	struct stat sb;

	setup();
	CHECK(mail_create(&sess, "INBOX", &err) < 0 && err.code == MAIL_EXISTS);
	CHECK(mail_create(&sess, "work/2025/jan", &err) == 0);
	CHECK(stat(path_of("work/2025"), &sb) == 0 && S_ISDIR(sb.st_mode));
	CHECK(mail_create(&sess, "work/2025/jan", &err) < 0 && err.code == MAIL_EXISTS);
	CHECK(mail_status(&sess, "work/2025/jan", &st, &err) == 0);
	CHECK(st.messages == 0 && st.uidnext == 1 && st.uidvalidity != 0);
	CHECK(mail_create(&sess, "folders/", &err) == 0);
	CHECK(stat(path_of("folders"), &sb) == 0 && S_ISDIR(sb.st_mode));
	CHECK(mail_create(&sess, "work/2025/jan/sub", &err) < 0);   /* jan is a mailbox */
	/* delete: INBOX refused, non-empty directory refused, file ok */
	CHECK(mail_delete(&sess, "INBOX", &err) < 0);
	CHECK(mail_delete(&sess, "work", &err) < 0 && strstr(err.text, "inferior"));
	CHECK(mail_delete(&sess, "work/2025/jan", &err) == 0);
	CHECK(mail_delete(&sess, "work/2025", &err) == 0);
	CHECK(mail_delete(&sess, "work/2025", &err) < 0 && err.code == MAIL_NONEXISTENT);
	CHECK(mail_delete(&sess, "folders/", &err) == 0);
	/* a file that is not a mailbox is never deleted */
	write_file(path_of(".profile"), "export X=1\n");
	write_file(path_of("notes"), "not mail\n");
	CHECK(mail_delete(&sess, "notes", &err) < 0 && access(path_of("notes"), F_OK) == 0);
	CHECK(mail_delete(&sess, ".profile", &err) < 0 && access(path_of(".profile"), F_OK) == 0);
	/* status of messages */
	write_file(path_of("m"), one_msg);
	CHECK(mail_status(&sess, "m", &st, &err) == 0);
	CHECK(st.messages == 1 && st.recent == 1 && st.unseen == 1 && st.uidnext == 2);
	CHECK(mail_status(&sess, "INBOX", &st, &err) == 0 && st.messages == 0);
	CHECK(mail_status(&sess, "nope", &st, &err) < 0 && err.code == MAIL_NONEXISTENT);
}

static void test_rename(void)
{
	struct mail_err err = { 0 };
	struct mailbox *box;

	setup();
	write_file(path_of("a"), one_msg);
	CHECK(mail_rename(&sess, "a", "x/y/b", &err) == 0);
	CHECK(access(path_of("x/y/b"), F_OK) == 0 && access(path_of("a"), F_OK) < 0);
	CHECK(mail_rename(&sess, "a", "c", &err) < 0 && err.code == MAIL_NONEXISTENT);
	write_file(path_of("c"), one_msg);
	CHECK(mail_rename(&sess, "c", "x/y/b", &err) < 0 && err.code == MAIL_EXISTS);
	CHECK(mail_rename(&sess, "c", "inbox", &err) < 0 && err.code == MAIL_EXISTS);
	/* INBOX: messages move, INBOX stays and is empty */
	write_file(spool_of("bob"), "From x@y Mon Jan  6 10:00:00 2025\nSubject: 1\n\none\n\n"
					 "From x@y Mon Jan  6 10:00:01 2025\nSubject: 2\n\ntwo\n\n");
	CHECK(mail_rename(&sess, "INBOX", "old-inbox", &err) == 0);
	CHECK(mail_open(&sess, "INBOX", 1, NULL, NULL, &box, &err) == 0);
	if (box) {
		CHECK(box->nmsgs == 0);
		mail_close(box, 0, NULL);
	}
	CHECK(mail_open(&sess, "old-inbox", 1, NULL, NULL, &box, &err) == 0);
	if (box) {
		const char *t;
		size_t n;
		CHECK(box->nmsgs == 2);
		CHECK(mail_fetch_text(box, 2, &t, &n, &err) == 0);
		CHECK_MEM(t, n, "Subject: 2\r\n\r\ntwo\r\n");
		mail_close(box, 0, NULL);
	}
	/* renaming a missing INBOX gives an empty mailbox */
	unlink(spool_of("bob"));
	CHECK(mail_rename(&sess, "INBOX", "empty-inbox", &err) == 0);
	CHECK(access(path_of("empty-inbox"), F_OK) == 0);
}

struct listed {
	char names[64][128];
	int attrs[64];
	int n;
};

static void on_list(void *ctx, const char *name, int attrs)
{
	struct listed *l = ctx;
	if (l->n < 64) {
		snprintf(l->names[l->n], sizeof l->names[0], "%s", name);
		l->attrs[l->n] = attrs;
	}
	l->n++;
}

static const char *joined(struct listed *l)
{
	static char b[2048];
	b[0] = '\0';
	for (int i = 0; i < l->n && i < 64; i++) {
		if (i)
			strcat(b, " ");
		strcat(b, l->names[i]);
	}
	return b;
}

static const char *list(const char *ref, const char *pat, int lsub)
{
	static struct listed l;
	struct mail_err err = { 0 };

	memset(&l, 0, sizeof l);
	if (lsub)
		mail_lsub(&sess, ref, pat, on_list, &l, &err);
	else
		mail_list(&sess, ref, pat, on_list, &l, &err);
	return joined(&l);
}

static void test_list(void)
{
	struct mail_err err = { 0 };
	static struct listed l;

	setup();
	CHECK(mail_create(&sess, "Mail/work", &err) == 0);
	CHECK(mail_create(&sess, "Mail/play", &err) == 0);
	CHECK(mail_create(&sess, "Mail/deep/er", &err) == 0);
	CHECK(mail_create(&sess, "empty/", &err) == 0);
	CHECK(mail_create(&sess, "sent", &err) == 0);
	write_file(path_of(".hidden"), one_msg);
	write_file(path_of("notes.txt"), "a file of no mailbox format is not offered\n");
	CHECK_STR(list("", "*", 0), "INBOX Mail Mail/deep Mail/deep/er Mail/play Mail/work empty sent");
	CHECK_STR(list("", "%", 0), "INBOX Mail empty sent");
	CHECK_STR(list("", "Mail/%", 0), "Mail/deep Mail/play Mail/work");
	CHECK_STR(list("Mail/", "%", 0), "Mail/deep Mail/play Mail/work");
	CHECK_STR(list("", "*er", 0), "Mail/deep/er");
	CHECK_STR(list("", "inbox", 0), "INBOX");
	CHECK_STR(list("", "In%", 0), "INBOX");
	CHECK_STR(list("", "/etc/%", 0), "");
	CHECK_STR(list("", "../%", 0), "");
	CHECK_STR(list("", "", 0), "");
	memset(&l, 0, sizeof l);
	mail_list(&sess, "", "*", on_list, &l, &err);
	CHECK(l.attrs[0] & LA_NOINFERIORS);                                   /* INBOX */
	CHECK(l.attrs[1] == (LA_NOSELECT | LA_HASCHILDREN));                  /* Mail */
	CHECK(l.attrs[5] & LA_NOINFERIORS);                                   /* Mail/work */
	CHECK(l.attrs[6] == (LA_NOSELECT | LA_HASNOCHILDREN));                /* empty */
	memset(&l, 0, sizeof l);
	mail_list(&sess, "", "", on_list, &l, &err);
	CHECK(l.n == 1 && l.attrs[0] == LA_NOSELECT);
}

static void test_subscriptions(void)
{
	struct mail_err err = { 0 };
	char buf[256] = "";

	setup();
	CHECK(mail_subscribe(&sess, "Mail/work", 1, &err) == 0);
	CHECK(mail_subscribe(&sess, "inbox", 1, &err) == 0);
	CHECK(mail_subscribe(&sess, "Mail/work", 1, &err) == 0);   /* no duplicate */
	CHECK(mail_subscribe(&sess, "gone", 1, &err) == 0);
	FILE *f = fopen(path_of(".mailboxlist"), "r");
	CHECK(f != NULL);
	if (f) {
		size_t n = fread(buf, 1, sizeof buf - 1, f);
		buf[n] = '\0';
		fclose(f);
	}
	CHECK_STR(buf, "Mail/work\nINBOX\ngone\n");
	CHECK_STR(list("", "*", 1), "Mail/work INBOX gone");
	CHECK_STR(list("Mail/", "%", 1), "Mail/work");
	CHECK(mail_subscribe(&sess, "gone", 0, &err) == 0);
	CHECK(mail_subscribe(&sess, "gone", 0, &err) < 0);
	CHECK_STR(list("", "*", 1), "Mail/work INBOX");
	CHECK(access(path_of(".mailboxlist.tmp"), F_OK) < 0);
}

/* RFC 3501 6.3.9: an unsubscribed parent of a subscribed child that %
 * does not reach is listed once, \Noselect; a subscribed parent as itself. */
static void test_lsub_parents(void)
{
	struct mail_err err = { 0 };
	static struct listed l;

	setup();
	CHECK_STR(list("", "%", 1), "");   /* no subscriptions at all */
	CHECK(mail_subscribe(&sess, "a/b/c", 1, &err) == 0);
	CHECK(mail_subscribe(&sess, "a/b/d", 1, &err) == 0);
	CHECK(mail_subscribe(&sess, "top/x", 1, &err) == 0);
	CHECK(mail_subscribe(&sess, "top", 1, &err) == 0);
	CHECK(mail_subscribe(&sess, "plain", 1, &err) == 0);
	memset(&l, 0, sizeof l);
	mail_lsub(&sess, "", "%", on_list, &l, &err);
	CHECK_STR(joined(&l), "a top plain");
	CHECK(l.attrs[0] == LA_NOSELECT && l.attrs[1] == 0 && l.attrs[2] == 0);
	memset(&l, 0, sizeof l);
	mail_lsub(&sess, "a/", "%", on_list, &l, &err);
	CHECK_STR(joined(&l), "a/b");
	CHECK(l.attrs[0] == LA_NOSELECT);
	CHECK_STR(list("", "%/%", 1), "a/b top/x");
	CHECK_STR(list("", "*", 1), "a/b/c a/b/d top/x top plain");   /* no parents */
	CHECK_STR(list("", "a/b/%", 1), "a/b/c a/b/d");
	CHECK_STR(list("", "zz%", 1), "");
}

static void test_match(void)
{
	CHECK(mail_match("*", "a/b/c"));
	CHECK(mail_match("%", "abc"));
	CHECK(!mail_match("%", "a/b"));
	CHECK(mail_match("a/%", "a/b"));
	CHECK(!mail_match("a/%", "a/b/c"));
	CHECK(mail_match("a/*", "a/b/c"));
	CHECK(mail_match("a*c", "abbbc"));
	CHECK(!mail_match("a*c", "abbb"));
	CHECK(mail_match("%/%", "x/y"));
	CHECK(mail_match("", ""));
	CHECK(!mail_match("", "a"));
	CHECK(!mail_match("Abc", "abc"));
	/* no exponential blowup */
	CHECK(!mail_match("*a*a*a*a*a*a*a*a*a*a*a*a*b",
			  "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"));
}

static void test_fetch_structure_and_store(void)
{
	struct mail_err err = { 0 };
	struct mailbox *box;
	struct envelope *env;
	struct body *body;

	setup();
	write_file(path_of("m"), one_msg);
	CHECK(mail_open(&sess, "m", 0, NULL, NULL, &box, &err) == 0);
	if (!box)
		return;
	CHECK(mail_fetch_structure(box, 1, &env, &body, &err) == 0);
	CHECK(env != NULL && body != NULL);
	struct envelope *env2;
	CHECK(mail_fetch_structure(box, 1, &env2, NULL, &err) == 0 && env2 == env);
	CHECK(mail_fetch_structure(box, 2, &env, &body, &err) < 0);
	CHECK(mail_store(box, 0, STORE_ADD, MF_SEEN, KW(0), &err) < 0);
	CHECK(mail_store(box, 1, STORE_ADD, MF_SEEN | MF_RECENT, KW(1), &err) == 0);
	CHECK(kwset_low(&box->msgs[0]->keywords) == 0);    /* no keyword 0 defined */
	CHECK(mail_keyword(box, "bad word", 1) < 0);
	CHECK(mail_keyword(box, "\\Seen", 1) < 0);
	CHECK(mail_keyword(box, "ok", 1) == 0 && mail_keyword(box, "OK", 0) == 0);
	CHECK(mail_store(box, 1, STORE_SET, MF_FLAGGED, KW(1), &err) == 0);
	CHECK(box->msgs[0]->flags == (MF_FLAGGED | MF_RECENT) && kwset_low(&box->msgs[0]->keywords) == 1);
	CHECK(mail_store(box, 1, STORE_REMOVE, MF_FLAGGED, KW(1), &err) == 0);
	CHECK(box->msgs[0]->flags == MF_RECENT && kwset_low(&box->msgs[0]->keywords) == 0);
	mail_close(box, 0, NULL);
	CHECK(mail_open(&sess, "m", 1, NULL, NULL, &box, &err) == 0);
	if (box) {
		CHECK(mail_store(box, 1, STORE_ADD, MF_SEEN, KW(0), &err) < 0 && err.code == MAIL_NOPERM);
		CHECK(mail_expunge(box, NULL, 0, &err) < 0);
		mail_close(box, 0, NULL);
	}
}

/* d/box opened with its message marked \Deleted, then d moved to d2 and a
 * file put in its place, so no save can replace d/box (root passes every
 * permission check). */
static struct mailbox *open_deleted_then_lose_dir(void)
{
	struct mail_err err = { 0 };
	struct mailbox *box;

	setup();   /* a new tmpdir: paths after it */
	mkdir(path_of("d"), 0700);
	write_file(path_of("d/box"), one_msg);
	CHECK(mail_open(&sess, "d/box", 0, NULL, NULL, &box, &err) == 0);
	if (!box)
		return NULL;
	CHECK(mail_store(box, 1, STORE_ADD, MF_DELETED, NULL, &err) == 0);
	CHECK(rename(path_of("d"), path_of("d2")) == 0);
	write_file(path_of("d"), "not a directory\n");
	return box;
}

/* Undo open_deleted_then_lose_dir's swap: d is the directory again. */
static int find_dir_again(void)
{
	return unlink(path_of("d")) == 0 && rename(path_of("d2"), path_of("d")) == 0;
}

/* A save that fails leaves the mailbox open and says why; mail_close
 * reports the same failure; once the cause is gone the save succeeds. */
static void test_save_failure_is_returned(void)
{
	struct mail_err err = { 0 };
	struct mailbox *box = open_deleted_then_lose_dir();

	if (!box)
		return;
	CHECK(mail_save(box, 1, &err) < 0 && err.text[0]);
	CHECK(box->nmsgs == 1 && (box->msgs[0]->flags & MF_DELETED));
	unsigned nkw = box->nkeywords;
	CHECK(mail_keyword(box, "fresh", 1) == (int)nkw);
	mail_keyword_forget(box, nkw);   /* no message carries it */
	CHECK(box->nkeywords == nkw && mail_keyword(box, "fresh", 0) < 0);
	CHECK(find_dir_again());
	CHECK(mail_save(box, 1, &err) == 0 && box->nmsgs == 0);
	CHECK(mail_close(box, 0, &err) == 0);
}

/* mail_close whose implied save (an expunge here) cannot be done returns
 * -1 with the reason, and the file keeps the message; the box is freed
 * either way, so a caller has nothing left to retry but the error. */
static void test_close_failure_is_returned(void)
{
	struct mail_err err = { 0 };
	struct mailbox *box = open_deleted_then_lose_dir();

	if (!box)
		return;
	CHECK(mail_close(box, 1, &err) == -1);
	CHECK(err.code != MAIL_OK && strstr(err.text, "Not a directory") != NULL);
	CHECK(find_dir_again());
	CHECK(mail_open(&sess, "d/box", 1, NULL, NULL, &box, &err) == 0);
	if (box) {
		CHECK(box->nmsgs == 1 && !(box->msgs[0]->flags & MF_DELETED));
		CHECK(mail_close(box, 0, &err) == 0);
	}
}

/* "#driver.FORMAT/name" picks the format by name, before the file is looked
 * at; a file of another format under that name is refused as such, and an
 * unknown format or a missing name is a bad name. */
static void test_forced_driver(void)
{
	struct mail_err err = { 0 };
	struct mailbox *box;
	char *p;

	setup();
	p = mail_resolve(&sess, "#driver.unix/Mail/foo", &err);
	CHECK_STR(p, path_of("Mail/foo"));
	free(p);
	p = mail_resolve(&sess, "#DRIVER.mbox/x", &err);
	CHECK_STR(p, path_of("x"));
	free(p);
	CHECK(mail_resolve(&sess, "#driver.nosuch/x", &err) == NULL && err.code == MAIL_BADNAME);
	CHECK(strstr(err.text, "no mailbox format is called nosuch") != NULL);
	CHECK(mail_resolve(&sess, "#driver.unix", &err) == NULL && err.code == MAIL_BADNAME);
	CHECK(mail_resolve(&sess, "#driver.unix/../x", &err) == NULL && err.code == MAIL_BADNAME);
	CHECK(mail_create(&sess, "#driver.unix/made", &err) == 0);
	CHECK(mail_open(&sess, "made", 1, NULL, NULL, &box, &err) == 0);
	CHECK_STR(box->drv->name, "unix");
	mail_close(box, 0, NULL);
	write_file(path_of("notes.txt"), "just some text\n");
	CHECK(mail_open(&sess, "#driver.unix/notes.txt", 1, NULL, NULL, &box, &err) < 0);
	CHECK(err.code == MAIL_NOTMAILBOX && strstr(err.text, "not a mailbox of format unix"));
	CHECK(mail_delete(&sess, "notes.txt", &err) < 0 && err.code == MAIL_NOTMAILBOX);
	CHECK(mail_create(&sess, "d/inner", &err) == 0);
	CHECK_STR(list("", "#driver.unix/*", 0), "#driver.unix/d #driver.unix/d/inner #driver.unix/made");
	CHECK_STR(list("", "#driver.unix/d/%", 0), "#driver.unix/d/inner");
	CHECK_STR(list("", "#driver.nosuch/*", 0), "");
	CHECK_STR(list("", "#driver.unix/../*", 0), "");
	struct stat st;
	CHECK(stat(path_of("notes.txt"), &st) == 0);
}

/* mail_format names the format of new mailboxes; without it they take
 * INBOX's (the spool's mbox here). */
static void test_new_mailbox_format(void)
{
	struct mail_err err = { 0 };
	struct mailbox *box;

	setup();
	mail_session_formats(&sess, NULL, "mbox");
	CHECK(mail_create(&sess, "a", &err) == 0);
	CHECK(mail_open(&sess, "a", 1, NULL, NULL, &box, &err) == 0);
	CHECK_STR(box->drv->name, "unix");
	mail_close(box, 0, NULL);
	mail_session_formats(&sess, NULL, NULL);
	CHECK(mail_create(&sess, "b", &err) == 0);
	CHECK(mail_open(&sess, "b", 1, NULL, NULL, &box, &err) == 0);
	CHECK(box->drv == mail_driver_named("unix"));
	mail_close(box, 0, NULL);
}

int main(void)
{
	RUN(test_resolve);
	RUN(test_create_delete);
	RUN(test_rename);
	RUN(test_list);
	RUN(test_subscriptions);
	RUN(test_lsub_parents);
	RUN(test_match);
	RUN(test_fetch_structure_and_store);
	RUN(test_save_failure_is_returned);
	RUN(test_close_failure_is_returned);
	RUN(test_forced_driver);
	RUN(test_new_mailbox_format);
	fixture_remove_tmpdir();
	mail_session_free(&sess);
	return test_summary("test-mail");
}
