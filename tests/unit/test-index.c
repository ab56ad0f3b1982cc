/* test-index.c: the mbox driver's index in the user's home. A session that
 * opens through the index must see exactly what a full parse sees; an
 * index that no longer fits the mailbox (rewritten by another program,
 * mail appended, index truncated or corrupt, home unwritable) must never
 * change what the user sees. */
#include "fsafe.h"
#include "mail_api.h"
#include "mbox_fixture.h"
#include "test.h"
#include "unix_index.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static char mb[512], spool_mb[512];
static struct mail_session sess, bare;   /* bare: a home where no index can be */

static char *path_of(const char *name)
{
	return fixture_path(NULL, name);
}

static void setup(void)
{
	if (fixture_remove_tmpdir()) {
		mail_session_free(&sess);
		mail_session_free(&bare);
	}
	fixture_make_tmpdir("test-index");
	mkdir(path_of("spool"), 0775);
	mkdir(path_of("home"), 0700);
	write_file(path_of("notadir"), "x");
	mail_session_init(&sess, "alice", path_of("home"), path_of("spool"));
	/* a "home" that is a file: the index directory cannot be made */
	mail_session_init(&bare, "alice", path_of("notadir"), path_of("spool"));
	sess.allow_outside_home = bare.allow_outside_home = 1;
	snprintf(mb, sizeof mb, "%s/box", tmpdir);
	snprintf(spool_mb, sizeof spool_mb, "%s/spool/alice", tmpdir);
}

static char *index_file(const char *mbox)
{
	return uidx_path(sess.home, mbox);
}

static int index_exists(const char *mbox)
{
	char *p = index_file(mbox);
	int r = access(p, F_OK) == 0;
	free(p);
	return r;
}

static const char sample[] = FIXTURE_MBOX_FIRST_FROM FIXTURE_MBOX_REST;

static const char *more =
	"From dave Thu Jan  9 08:00:00 2025\n"
	"Subject: four\n"
	"X-Keywords: Work\n"
	"\n"
	"appended by an MTA\n"
	"\n";

/* Everything a client can see of a mailbox, as one string. */
static char *view(struct mail_session *s, const char *name, int readonly)
{
	struct mailbox *box;
	struct mail_err err = { 0 };
	struct buf b;

	buf_init(&b);
	if (mail_open(s, name, readonly, NULL, NULL, &box, &err) < 0) {
		buf_printf(&b, "open failed: %s", err.text);
		return buf_steal(&b);
	}
	buf_printf(&b, "n=%u recent=%u uv=%u next=%u kw=", box->nmsgs, box->recent,
		   box->uidvalidity, box->uidnext);
	for (unsigned i = 0; i < box->nkeywords; i++)
		buf_printf(&b, "%s,", box->keywords[i]);
	for (uint32_t i = 1; i <= box->nmsgs; i++) {
		struct message *m = box->msgs[i - 1];
		const char *t;
		size_t n;
		buf_printf(&b, "\n#%u uid=%u fl=%x kw=%llx date=%lld tz=%d size=%llu ", i, m->uid,
			   m->flags, (unsigned long long)kwset_low(&m->keywords), (long long)m->internal_date,
			   m->tz_minutes, (unsigned long long)m->size);
		if (mail_fetch_text(box, i, &t, &n, &err) < 0)
			buf_puts(&b, "(fetch failed)");
		else
			buf_append(&b, t, n);
	}
	mail_close(box, 0, NULL);
	return buf_steal(&b);
}

/* Flag message 1 in the index only: shows whether a reopen used it.
 * Returns the messages the index held. */
static uint32_t mark_in_index(const char *path)
{
	struct uidx x;
	uint32_t n = 0;

	CHECK(uidx_load(fsafe_home(&sess), path, &x) == 0);
	if (x.mem) {
		/* the loaded index is a read-only mapping: change a copy */
		n = x.h.nmsgs;
		struct uidx_rec *recs = xmalloc(n * sizeof *recs);
		memcpy(recs, x.recs, n * sizeof *recs);
		recs[0].flags |= MF_FLAGGED;
		CHECK(uidx_save(fsafe_home(&sess), path, &x.h, recs, x.names) == 0);
		free(recs);
		uidx_free(&x);
	}
	return n;
}

/* The same mailbox seen through the index and through a plain parse. */
static void check_same(const char *path, int readonly)
{
	char *a = view(&sess, path, readonly);
	char *b = view(&bare, path, readonly);
	CHECK_STR(a, b);
	free(a);
	free(b);
}

static void test_reopen_uses_index(void)
{
	setup();
	write_file(mb, sample);
	char *first = view(&sess, mb, 0);      /* writes the record, then the index */
	CHECK(index_exists(mb));
	char *second = view(&sess, mb, 0);
	CHECK(strstr(first, "n=3 recent=2") != NULL);
	CHECK(strstr(second, "n=3 recent=0") != NULL);
	check_same(mb, 0);
	check_same(mb, 1);
	/* The index is what served the reopen: a flag only it records shows
	 * (the file's identity and bytes still match it). */
	char *ip = index_file(mb);
	uint32_t n = mark_in_index(mb);
	CHECK(n == 3);
	if (n == 3) {
		char *v = view(&sess, mb, 1);
		CHECK(strstr(v, "#1 uid=1 fl=4 ") != NULL);
		free(v);
	}
	free(ip);
	free(first);
	free(second);
}

static void test_stale_after_rewrite(void)
{
	struct stat st;
	struct timespec ts[2];

	setup();
	write_file(mb, sample);
	free(view(&sess, mb, 0));
	CHECK(index_exists(mb));
	mark_in_index(mb);
	/* another program rewrites the mailbox (new file renamed over it) */
	write_file(path_of("new"), "From x Mon Jan  6 10:00:00 2025\nSubject: replaced\n\nnew\n\n");
	rename(path_of("new"), mb);
	char *v = view(&sess, mb, 1);
	CHECK(strstr(v, "n=1 ") && strstr(v, "Subject: replaced"));
	free(v);
	free(view(&sess, mb, 0));   /* gives it a record: UIDVALIDITY fixed */
	check_same(mb, 1);
	/* an in-place rewrite of the same length, mtime put back: the bytes
	 * give it away */
	free(view(&sess, mb, 0));
	stat(mb, &st);
	FILE *f = fopen(mb, "r+");
	fseek(f, -3, SEEK_END);
	fputs("NEW", f);
	fclose(f);
	ts[0] = st.st_atim;
	ts[1] = st.st_mtim;
	utimensat(AT_FDCWD, mb, ts, 0);
	check_same(mb, 1);
	/* same size, another mtime: not trusted either */
	write_file(mb, sample);
	free(view(&sess, mb, 0));
	stat(mb, &st);
	f = fopen(mb, "r+");
	fputs("From", f);
	fclose(f);
	check_same(mb, 1);
}

static void test_appended_mail(void)
{

	setup();
	write_file(spool_mb, sample);
	char *before = view(&sess, "INBOX", 0);
	mark_in_index(spool_mb);
	append_file(spool_mb, more);   /* an MTA delivers */
	char *after = view(&sess, "INBOX", 1);
	CHECK(strstr(after, "#1 uid=1 fl=4 ") != NULL);   /* index used, tail parsed */
	mark_in_index(spool_mb);   /* the read-only session saved nothing new: undo */
	{
		char *ip = index_file(spool_mb);
		unlink(ip);
		free(ip);
	}
	free(after);
	after = view(&sess, "INBOX", 1);
	CHECK(strstr(after, "n=4 ") != NULL);
	CHECK(strstr(after, "Subject: four") != NULL);
	/* the first three keep their UIDs; the new one gets the next */
	CHECK(strstr(before, "n=3 ") != NULL);
	CHECK(strstr(after, "#1 uid=1 ") && strstr(after, "#3 uid=3 ") &&
	      strstr(after, "#4 uid=4 "));
	check_same("INBOX", 1);
	/* a read-write session takes \Recent and saves the index */
	free(view(&sess, "INBOX", 0));
	check_same("INBOX", 1);
	/* appended without the separating blank line: still no mixup */
	write_file(spool_mb, sample);
	free(view(&sess, "INBOX", 0));
	append_file(spool_mb, "From eve Fri Jan 10 08:00:00 2025\nSubject: glued\n\nx\n");
	check_same("INBOX", 1);
	free(before);
	free(after);
}

/* Replace the first occurrence of from by to (same length) in the file. */
static int patch_file(const char *path, const char *from, const char *to)
{
	FILE *f = fopen(path, "r+");
	char b[65536];
	size_t n = f ? fread(b, 1, sizeof b, f) : 0;
	char *at = n ? memmem(b, n, from, strlen(from)) : NULL;
	int ok = at && fseek(f, at - b, SEEK_SET) == 0 && fwrite(to, 1, strlen(to), f) == strlen(to);

	if (f)
		fclose(f);
	return ok;
}

/* A session changed flags in place (bumping the record's change counter)
 * and died before saving the index; then new mail came. The index looks
 * like a prefix of the file, but it must not serve the old flags. */
static void test_inplace_then_append(void)
{
	setup();
	write_file(spool_mb, sample);
	free(view(&sess, "INBOX", 0));
	CHECK(index_exists(spool_mb));
	CHECK(patch_file(spool_mb, "X-IMAP-Gen: 0000000000", "X-IMAP-Gen: 0000000001"));
	CHECK(patch_file(spool_mb, "\nStatus: O \n", "\nStatus: RO\n"));
	append_file(spool_mb, more);
	check_same("INBOX", 1);
	char *v = view(&bare, "INBOX", 1);
	CHECK(strstr(v, "n=4 ") != NULL);
	free(v);
}

static void test_corrupt_index(void)
{
	struct stat st;

	setup();
	write_file(mb, sample);
	free(view(&sess, mb, 0));
	char *good = view(&bare, mb, 1);
	char *ip = index_file(mb);
	stat(ip, &st);
	/* truncated */
	CHECK(truncate(ip, st.st_size / 2) == 0);
	char *v = view(&sess, mb, 1);
	CHECK_STR(v, good);
	free(v);
	/* a byte flipped in the records (view above rewrote nothing: the
	 * read-only session does not save; make a fresh one) */
	free(view(&sess, mb, 0));
	char *del = index_file(mb);
	unlink(del);
	free(del);
	free(view(&sess, mb, 1));   /* a fresh parse saves the index */
	CHECK(access(ip, F_OK) == 0);
	stat(ip, &st);
	int fd = open(ip, O_RDWR);
	char c;
	CHECK(pread(fd, &c, 1, st.st_size / 2) == 1);
	c ^= 0x40;
	CHECK(pwrite(fd, &c, 1, st.st_size / 2) == 1);
	close(fd);
	v = view(&sess, mb, 1);
	CHECK_STR(v, good);
	free(v);
	/* garbage, and an empty file */
	write_file(ip, "mbxidx01 and then nonsense that is long enough to be read as a header");
	v = view(&sess, mb, 1);
	CHECK_STR(v, good);
	free(v);
	write_file(ip, "");
	v = view(&sess, mb, 1);
	CHECK_STR(v, good);
	free(v);
	/* the index of another mailbox under this one's name */
	char other[512];
	snprintf(other, sizeof other, "%s/other", tmpdir);
	write_file(other, "From x Mon Jan  6 10:00:00 2025\nSubject: other\n\nz\n\n");
	free(view(&sess, other, 0));
	char *oip = index_file(other);
	CHECK(rename(oip, ip) == 0);
	v = view(&sess, mb, 1);
	CHECK_STR(v, good);
	free(v);
	free(oip);
	free(ip);
	free(good);
}

static void test_unwritable_home(void)
{
	struct mail_session root;

	setup();
	write_file(mb, sample);
	char *a = view(&bare, mb, 0);
	char *b = view(&bare, mb, 0);
	CHECK(strstr(a, "n=3 recent=2") != NULL);
	CHECK(strstr(b, "n=3 recent=0") != NULL);
	/* home "/" means no home: no index is written there */
	mail_session_init(&root, "alice", "/", path_of("spool"));
	root.allow_outside_home = 1;
	free(view(&root, mb, 1));
	CHECK(access("/.imapd-cache", F_OK) < 0);
	mail_session_free(&root);
	/* a directory we may not write: as root, permissions do not stop us,
	 * so only check the result is right */
	chmod(path_of("home"), 0500);
	check_same(mb, 1);
	chmod(path_of("home"), 0700);
	free(a);
	free(b);
}

/* Expunge and flag changes rewrite the file and save the index; every
 * reopen through it agrees with a fresh parse. */
static void test_index_after_changes(void)
{
	struct mailbox *box;
	struct mail_err err = { 0 };

	setup();
	write_file(mb, sample);
	append_file(mb, "\n\n");
	append_file(mb, more);
	CHECK(mail_open(&sess, mb, 0, NULL, NULL, &box, &err) == 0);
	if (!box)
		return;
	mail_store(box, 2, STORE_ADD, MF_DELETED, KW(0), &err);
	mail_store(box, 3, STORE_ADD, MF_SEEN | MF_ANSWERED, KW(0), &err);
	int k = mail_keyword(box, "Later", 1);
	CHECK(k >= 0);
	mail_store(box, 1, STORE_ADD, 0, KW(1ULL << k), &err);
	CHECK(mail_expunge(box, NULL, 0, &err) == 0);
	mail_close(box, 0, NULL);
	char *v = view(&sess, mb, 1);
	CHECK(strstr(v, "n=3 ") && strstr(v, "Later"));
	free(v);
	check_same(mb, 1);
	check_same(mb, 0);
}

/* ~/.imapd-cache/uidvalidity of sess (malloc'd). */
static char *counter_file(void)
{
	char *p = uidx_path(sess.home, "x"), *q = xmalloc(strlen(p) + 16);

	strcpy(q, p);
	strcpy(strrchr(q, '/') + 1, "uidvalidity");
	free(p);
	return q;
}

/* UIDVALIDITY: every value taken is above the last one, also within one
 * second and from a floor in the past; a peek says what the next take
 * gives; a planted link is not followed; no home leaves only the floor. */
static void test_validity_counter(void)
{
	setup();
	int home = fsafe_home(&sess);
	uint32_t now = (uint32_t)time(NULL);
	uint32_t a = uidx_validity(home, now, 1), b = uidx_validity(home, now, 1);
	CHECK(a >= now && b == a + 1);
	uint32_t peek = uidx_validity(home, 1000, 0);
	CHECK(peek == b + 1 && uidx_validity(home, 1000, 0) == peek);
	CHECK(uidx_validity(home, 1000, 1) == peek);
	CHECK(uidx_validity(home, peek + 100, 1) == peek + 100);   /* the floor wins */
	CHECK(uidx_validity(-1, 77, 1) == 77);
	/* a link in place of the counter file is refused, its target untouched */
	char *ctr = counter_file();
	size_t n;
	write_file(path_of("victim"), "keep");
	unlink(ctr);
	CHECK(symlink(path_of("victim"), ctr) == 0);
	CHECK(uidx_validity(home, 5000, 1) == 5000);
	char *v = read_file(path_of("victim"), &n);
	CHECK(v && n == 4 && !memcmp(v, "keep", 4));
	free(v);
	unlink(ctr);
	free(ctr);
	/* CREATE, DELETE, CREATE of one name in one second: a greater value */
	struct mail_err err = { 0 };
	struct mail_status st1, st2;
	CHECK(mail_create(&sess, mb, &err) == 0 && mail_status(&sess, mb, &st1, &err) == 0);
	CHECK(mail_delete(&sess, mb, &err) == 0);
	CHECK(mail_create(&sess, mb, &err) == 0 && mail_status(&sess, mb, &st2, &err) == 0);
	CHECK(st2.uidvalidity > st1.uidvalidity);
}

/* The \Recent claim: read back as written, for its own mailbox only; a
 * link in its place is neither read nor written through. */
static void test_recent_claim(void)
{
	uint32_t v = 0, hw = 0;

	setup();
	int home = fsafe_home(&sess);
	CHECK(uidx_recent_get(home, mb, &v, &hw) < 0);
	uidx_recent_put(home, mb, 1234, 56);
	CHECK(uidx_recent_get(home, mb, &v, &hw) == 0 && v == 1234 && hw == 56);
	CHECK(uidx_recent_get(home, spool_mb, &v, &hw) < 0);
	uidx_recent_put(home, mb, 1234, 57);
	CHECK(uidx_recent_get(home, mb, &v, &hw) == 0 && hw == 57);
	/* the claim file's name: the index's, with .rct for .idx */
	char *ip = uidx_path(sess.home, mb);
	strcpy(ip + strlen(ip) - 3, "rct");
	CHECK(access(ip, F_OK) == 0);
	unlink(ip);
	write_file(path_of("victim"), "1 2 x\n");
	CHECK(symlink(path_of("victim"), ip) == 0);
	CHECK(uidx_recent_get(home, mb, &v, &hw) < 0);
	uidx_recent_put(home, mb, 9, 9);   /* replaces the link, not its target */
	size_t n;
	char *d = read_file(path_of("victim"), &n);
	CHECK(d && !strcmp(d, "1 2 x\n"));
	free(d);
	CHECK(uidx_recent_get(home, mb, &v, &hw) == 0 && v == 9 && hw == 9);
	free(ip);
	CHECK(uidx_recent_get(-1, mb, &v, &hw) < 0);
}

int main(void)
{
	RUN(test_reopen_uses_index);
	RUN(test_stale_after_rewrite);
	RUN(test_appended_mail);
	RUN(test_inplace_then_append);
	RUN(test_corrupt_index);
	RUN(test_unwritable_home);
	RUN(test_index_after_changes);
	RUN(test_validity_counter);
	RUN(test_recent_claim);
	fixture_remove_tmpdir();
	mail_session_free(&sess);
	mail_session_free(&bare);
	return test_summary("test-index");
}
