/* test-maildir.c: the Maildir driver on real directories: the file name,
 * uidlist and keywords formats, append and reopen, flags and keywords
 * through file names and dovecot-keywords, new/ to cur/, two sessions at
 * once, folders, links and FIFOs planted in cur/, and kill -9 at any moment
 * of an append or a flag write. */
#include "mail_api.h"
#include "maildir.h"
#include "mbox_fixture.h"
#include "test.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static struct mail_session sess;

static char *md(const char *name)
{
	return fixture_path("Maildir", name);
}

/* A fresh home with the session's INBOX at ~/Maildir (not made yet). */
static void setup(void)
{
	fixture_session(&sess, "test-maildir");
	mail_session_formats(&sess, "~/Maildir", NULL);
}

/* ~/Maildir made by hand, as another program leaves it. */
static void make_dirs(void)
{
	mkdir(md(""), 0700);
	mkdir(md("cur"), 0700);
	mkdir(md("new"), 0700);
	mkdir(md("tmp"), 0700);
}

static int name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Names in a directory (dot files skipped), sorted, one per line. */
static char *listing(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	char **v = NULL;
	size_t n = 0;
	struct buf b;

	buf_init(&b);
	while (d && (e = readdir(d)) != NULL)
		if (e->d_name[0] != '.') {
			v = xrealloc(v, (n + 1) * sizeof *v);
			v[n++] = xstrdup(e->d_name);
		}
	if (d)
		closedir(d);
	if (n)
		qsort(v, n, sizeof *v, name_cmp);
	for (size_t i = 0; i < n; i++) {
		buf_printf(&b, "%s\n", v[i]);
		free(v[i]);
	}
	free(v);
	return b.data ? buf_steal(&b) : xstrdup("");
}

/* The part of each listed name after ':' ("2,FS"), one per line. */
static char *infos(const char *dir)
{
	char *l = listing(dir);
	struct buf b;

	buf_init(&b);
	for (char *p = l; *p;) {
		char *nl = strchr(p, '\n'), *c = strchr(p, ':');
		if (c && c < nl)
			buf_append(&b, c + 1, (size_t)(nl - c));
		else
			buf_puts(&b, "-\n");
		p = nl + 1;
	}
	free(l);
	return b.data ? buf_steal(&b) : strdup("");
}

/* Line ends in the first n bytes of s. */
static size_t md_lines(const char *s, size_t n)
{
	size_t k = 0;
	for (size_t i = 0; i < n; i++)
		k += s[i] == '\n';
	return k;
}

static size_t count_lines(const char *s)
{
	size_t n = 0;
	for (; *s; s++)
		n += *s == '\n';
	return n;
}

/* APPEND to a mailbox of the test's session. */
#define append_one(...) fixture_append(&sess, __VA_ARGS__)

/* ---- the pure formats ---- */

static void test_name_parse(void)
{
	struct md_name pn;
	struct buf b;
	const char *n = "1700000000.M1P2.host,S=25,W=29:2,FSab";

	CHECK(md_name_parse(n, strlen(n), &pn) == 0);
	CHECK(pn.base_len == strlen("1700000000.M1P2.host,S=25,W=29"));
	CHECK(pn.size == 25 && pn.vsize == 29 && pn.has_info);
	CHECK(md_info_flags(&pn.info) == (MF_FLAGGED | MF_SEEN));
	CHECK(md_info_letters(&pn.info) == 3);
	/* \Answered and \Deleted in, \Flagged and 'b' out; sorted; an unknown
	 * character kept */
	const char *u = "x:2,FSbZ";
	CHECK(md_name_parse(u, strlen(u), &pn) == 0);
	struct md_info in = md_info_with(&pn.info, MF_ANSWERED | MF_DELETED | MF_SEEN, 1);
	buf_init(&b);
	md_name_format(&b, u, pn.base_len, &in);
	CHECK_STR(b.data, "x:2,RSTZa");
	buf_free(&b);
	CHECK(md_name_parse(".hidden", 7, &pn) < 0);
	CHECK(md_name_parse("a/b", 3, &pn) < 0);
	CHECK(md_name_parse("plain", 5, &pn) == 0 && !pn.has_info && pn.base_len == 5);
}

static void test_uidlist_parse(void)
{
	const char *t = "3 V1275660208 N25 G3085f01b7f11094c501100008c4a11c1 Xfuture\n"
			"3 W1200 :1.M1.h,S=10\n"
			"7 :2.M2.h\n"
			"5 :out.of.order\n"
			"garbage line\n"
			"9 P42 W77 :3.M3.h:2,S";
	struct md_uidlist ul;
	struct buf b;

	CHECK(md_uidlist_parse(t, strlen(t), &ul) == 0);
	CHECK(ul.version == 3 && ul.validity == 1275660208 && ul.next == 25);
	CHECK_STR(ul.guid, "3085f01b7f11094c501100008c4a11c1");
	CHECK(ul.n == 3);
	CHECK(ul.recs[0].uid == 3 && ul.recs[0].ext_len == 5 && !memcmp(ul.recs[0].ext, "W1200", 5));
	CHECK(ul.recs[2].uid == 9 && ul.recs[2].base_len == 6);
	const struct md_rec *r = md_uidlist_find(&ul, "2.M2.h", 6);
	CHECK(r && r->uid == 7);
	CHECK(!md_uidlist_find(&ul, "2.M2", 4));
	buf_init(&b);
	md_uidlist_header(&b, &ul);
	CHECK_STR(b.data, "3 V1275660208 N25 G3085f01b7f11094c501100008c4a11c1 Xfuture\n");
	buf_reset(&b);
	md_uidlist_record(&b, r->uid, r->ext, r->ext_len, r->base, r->base_len);
	md_uidlist_record(&b, 3, "W1200", 5, "1.M1.h,S=10", 11);
	CHECK_STR(b.data, "7 :2.M2.h\n3 W1200 :1.M1.h,S=10\n");
	buf_free(&b);
	md_uidlist_free(&ul);
	/* a next UID below one in use is raised; version 1; junk refused */
	const char *low = "3 V5 N2\n10 :a\n";
	CHECK(md_uidlist_parse(low, strlen(low), &ul) == 0 && ul.next == 11);
	md_uidlist_free(&ul);
	const char *v1 = "1 77 3\n1 old:2,S\n2 other\n";
	CHECK(md_uidlist_parse(v1, strlen(v1), &ul) == 0 && ul.validity == 77 && ul.n == 2);
	CHECK(ul.recs[0].base_len == 3);
	md_uidlist_free(&ul);
	CHECK(md_uidlist_parse("2 V1 N1\n", 8, &ul) < 0);
	CHECK(md_uidlist_parse("", 0, &ul) < 0);
}

static void test_keywords_parse(void)
{
	const char *t = "0 $Forwarded\n1 Junk\n3 bad name\n30 Far\n2 NonJunk\r\n1 Dup\n";
	char *names[MD_LETTERS];
	struct buf b;

	CHECK(md_keywords_parse(t, strlen(t), names) == 3);
	CHECK_STR(names[0], "$Forwarded");
	CHECK_STR(names[1], "Junk");
	CHECK_STR(names[2], "NonJunk");
	CHECK(names[3] == NULL);
	buf_init(&b);
	md_keywords_format(&b, names);
	CHECK_STR(b.data, "0 $Forwarded\n1 Junk\n2 NonJunk\n");
	buf_free(&b);
	for (int i = 0; i < MD_LETTERS; i++)
		free(names[i]);
}

/* ---- the driver ---- */

static const char msg1[] = FIXTURE_MSG1;
static const char msg2[] = FIXTURE_MSG2;

static void test_append_reopen(void)
{
	struct mailbox *box;
	struct mail_err err = { 0 };
	char *kw[] = { "Junk", "$Forwarded", NULL };
	uint32_t uid = 0, validity = 0;

	setup();
	CHECK(mail_open(&sess, "INBOX", 0, NULL, NULL, &box, &err) == 0);
	if (!box)
		return;
	CHECK(box->nmsgs == 0 && box->uidnext == 1 && box->uidvalidity);
	validity = box->uidvalidity;
	mail_close(box, 0, NULL);
	CHECK(append_one("INBOX", msg1, 0, NULL, &uid, &err) == 0 && uid == 1);
	CHECK(append_one("INBOX", msg2, MF_SEEN | MF_FLAGGED, kw, &uid, &err) == 0 && uid == 2);
	/* stored with LF line ends, sizes in the name, flags and letters sorted */
	char *inf = infos(md("cur"));
	CHECK_STR(inf, "2,\n2,FSab\n");
	free(inf);
	char *l = listing(md("cur")), sizes[64];
	snprintf(sizes, sizeof sizes, ",S=%zu,W=%zu:2,\n", strlen(msg1) - 4, strlen(msg1));
	CHECK(strstr(l, sizes) != NULL);
	free(l);
	size_t n;
	char *kf = read_file(md("dovecot-keywords"), &n);
	CHECK_STR(kf, "0 Junk\n1 $Forwarded\n");
	free(kf);
	char *ul = read_file(md("dovecot-uidlist"), &n);
	char head[64];
	snprintf(head, sizeof head, "3 V%u N3 G", validity);
	CHECK(ul && !strncmp(ul, head, strlen(head)) && count_lines(ul) == 3);
	free(ul);
	CHECK(mail_open(&sess, "INBOX", 0, NULL, NULL, &box, &err) == 0);
	if (!box)
		return;
	CHECK(box->nmsgs == 2 && box->uidvalidity == validity && box->uidnext == 3);
	CHECK_STR(text_of(box, 1), msg1);
	CHECK_STR(text_of(box, 2), msg2);
	CHECK(box->msgs[0]->size == strlen(msg1));
	CHECK(box->msgs[1]->internal_date == 1700000000);
	CHECK((box->msgs[1]->flags & MF_STORABLE) == (MF_SEEN | MF_FLAGGED));
	int j = mail_keyword(box, "junk", 0), f = mail_keyword(box, "$Forwarded", 0);
	CHECK(j >= 0 && f >= 0 && kwset_low(&box->msgs[1]->keywords) == ((1ULL << j) | (1ULL << f)));
	mail_close(box, 0, NULL);
}

/* ENVELOPE reads the header alone: through its blank line, as CRLF, also
 * when the header is longer than one read, stored with CRLF, or empty. */
static void test_fetch_header(void)
{
	struct mailbox *box;
	struct mail_err err = { 0 };
	struct buf big;
	const char *t;
	size_t n;

	setup();
	make_dirs();
	buf_init(&big);
	buf_puts(&big, "Subject: long\n");
	while (big.len < 9000)
		buf_puts(&big, "X-Filler: 0123456789012345678901234567890123456789\n");
	buf_puts(&big, "\nbody\n");
	write_file(md("cur/1.M1.mx:2,"), big.data);
	write_file(md("cur/2.M1.mx:2,"), "Subject: crlf\r\nTo: a@b\r\n\r\nbody\r\n");
	write_file(md("cur/3.M1.mx:2,"), "\nno header\n");
	CHECK(mail_open(&sess, "INBOX", 1, NULL, NULL, &box, &err) == 0);
	if (!box)
		return;
	CHECK(mail_fetch_header(box, 1, &t, &n, &err) == 0);
	size_t hl = strlen(big.data) - strlen("\nbody\n") + 1;
	CHECK(n == hl + md_lines(big.data, hl) && !memcmp(t + n - 4, "\r\n\r\n", 4));
	CHECK(mail_fetch_header(box, 2, &t, &n, &err) == 0);
	CHECK_MEM(t, n, "Subject: crlf\r\nTo: a@b\r\n\r\n");
	CHECK(mail_fetch_header(box, 3, &t, &n, &err) == 0);
	CHECK_MEM(t, n, "\r\n");
	struct envelope *env;
	CHECK(mail_fetch_envelope(box, 2, &env, &err) == 0 && env && env->subject &&
	      !strcmp(env->subject, "crlf"));
	/* the whole text afterwards is the whole text */
	CHECK_STR(text_of(box, 2), "Subject: crlf\r\nTo: a@b\r\n\r\nbody\r\n");
	CHECK(mail_fetch_header(box, 2, &t, &n, &err) == 0);
	CHECK_MEM(t, n, "Subject: crlf\r\nTo: a@b\r\n\r\n");
	buf_free(&big);
	mail_close(box, 0, NULL);
}

static void test_flags_roundtrip(void)
{
	struct mailbox *box;
	struct mail_err err = { 0 };

	setup();
	append_one("INBOX", msg1, 0, NULL, NULL, &err);
	CHECK(mail_open(&sess, "INBOX", 0, NULL, NULL, &box, &err) == 0);
	if (!box)
		return;
	int k = mail_keyword(box, "Work", 1);
	CHECK(k >= 0);
	CHECK(mail_store(box, 1, STORE_ADD, MF_ANSWERED | MF_DELETED | MF_DRAFT, KW(1ULL << k), &err) == 0);
	CHECK(mail_flush(box, &err) == 0);
	char *inf = infos(md("cur"));
	CHECK_STR(inf, "2,DRTa\n");
	free(inf);
	CHECK(mail_store(box, 1, STORE_REMOVE, MF_DELETED | MF_DRAFT, KW(0), &err) == 0);
	mail_close(box, 0, NULL);
	inf = infos(md("cur"));
	CHECK_STR(inf, "2,Ra\n");
	free(inf);
	CHECK(mail_open(&sess, "INBOX", 1, NULL, NULL, &box, &err) == 0);
	if (!box)
		return;
	k = mail_keyword(box, "work", 0);
	CHECK((box->msgs[0]->flags & MF_STORABLE) == MF_ANSWERED && k >= 0 &&
	      kwset_low(&box->msgs[0]->keywords) == 1ULL << k);
	mail_close(box, 0, NULL);
}

static void test_keyword_limit(void)
{
	struct mailbox *box;
	struct mail_err err = { 0 };
	char name[16];

	setup();
	append_one("INBOX", msg1, 0, NULL, NULL, &err);
	CHECK(mail_open(&sess, "INBOX", 0, NULL, NULL, &box, &err) == 0);
	if (!box)
		return;
	uint64_t all = 0;
	for (int i = 0; i < 26; i++) {
		snprintf(name, sizeof name, "kw%d", i);
		all |= 1ULL << mail_keyword(box, name, 1);
	}
	CHECK(mail_store(box, 1, STORE_ADD, 0, KW(all), &err) == 0);
	CHECK(mail_flush(box, &err) == 0);
	char *inf = infos(md("cur"));
	CHECK_STR(inf, "2,abcdefghijklmnopqrstuvwxyz\n");
	free(inf);
	int k = mail_keyword(box, "one-too-many", 1);
	CHECK(k == 26);
	CHECK(mail_store(box, 1, STORE_ADD, 0, KW(1ULL << k), &err) == 0);
	memset(&err, 0, sizeof err);
	CHECK(mail_flush(box, &err) < 0 && err.code == MAIL_LIMIT);
	CHECK(strstr(err.text, "at most 26 keywords") != NULL);
	/* nothing half-written: the file name is as before */
	inf = infos(md("cur"));
	CHECK_STR(inf, "2,abcdefghijklmnopqrstuvwxyz\n");
	free(inf);
	CHECK(mail_store(box, 1, STORE_REMOVE, 0, KW(1ULL << k), &err) == 0);
	mail_close(box, 0, NULL);
}

static void test_new_to_cur(void)
{
	struct mailbox *box;
	struct mail_err err = { 0 };
	struct events ev = { 0 };

	setup();
	CHECK(mail_open(&sess, "INBOX", 0, &evs, &ev, &box, &err) == 0);
	if (!box)
		return;
	/* an MTA's delivery: tmp/ then new/, no info */
	write_file(md("tmp/1700000001.V1I2.mx"), "Subject: delivered\n\nhello\n");
	rename(md("tmp/1700000001.V1I2.mx"), md("new/1700000001.V1I2.mx"));
	CHECK(mail_ping(box, &err) == 0);
	CHECK(ev.exists == 1 && ev.last_exists == 1);
	CHECK(box->nmsgs == 1 && box->msgs[0]->uid == 1 && (box->msgs[0]->flags & MF_RECENT));
	CHECK_STR(text_of(box, 1), "Subject: delivered\r\n\r\nhello\r\n");
	CHECK(box->msgs[0]->size == strlen("Subject: delivered\r\n\r\nhello\r\n"));
	char *l = listing(md("cur"));
	CHECK_STR(l, "1700000001.V1I2.mx:2,\n");
	free(l);
	l = listing(md("new"));
	CHECK_STR(l, "");
	free(l);
	CHECK(contains(md("dovecot-uidlist"), "\n1 W29 :1700000001.V1I2.mx\n"));
	/* a message some program stored with CRLF is served as it is */
	write_file(md("new/1700000002.V1I3.mx"), "Subject: crlf\r\n\r\nbody\r\nbare\n");
	CHECK(mail_ping(box, &err) == 0 && box->nmsgs == 2);
	CHECK_STR(text_of(box, 2), "Subject: crlf\r\n\r\nbody\r\nbare\r\n");
	CHECK(box->msgs[1]->size == strlen("Subject: crlf\r\n\r\nbody\r\nbare\r\n"));
	mail_close(box, 0, NULL);
	/* the next session: the same UID, no longer \Recent */
	CHECK(mail_open(&sess, "INBOX", 0, NULL, NULL, &box, &err) == 0);
	if (!box)
		return;
	CHECK(box->nmsgs == 2 && box->msgs[0]->uid == 1 && !(box->msgs[0]->flags & MF_RECENT));
	mail_close(box, 0, NULL);
}

/* APPEND adds at the end (RFC 3501 6.3.11): mail waiting in new/ without
 * a UID is numbered first, as Dovecot does. */
static void test_append_after_waiting_mail(void)
{
	struct mailbox *box;
	struct mail_err err = { 0 };
	uint32_t uid = 0;

	setup();
	append_one("INBOX", msg1, 0, NULL, NULL, &err);
	write_file(md("new/1700000005.V1I1.mx"), "Subject: waiting\n\nx\n");
	write_file(md("new/1700000004.V1I1.mx"), "Subject: waiting longer\n\nx\n");
	CHECK(append_one("INBOX", msg2, 0, NULL, &uid, &err) == 0 && uid == 4);
	CHECK(contains(md("dovecot-uidlist"), "\n2 :1700000004.V1I1.mx\n3 :1700000005.V1I1.mx\n4 :"));
	CHECK(mail_open(&sess, "INBOX", 1, NULL, NULL, &box, &err) == 0);
	if (!box)
		return;
	CHECK(box->nmsgs == 4 && box->msgs[3]->uid == 4);
	CHECK_STR(text_of(box, 2), "Subject: waiting longer\r\n\r\nx\r\n");
	CHECK_STR(text_of(box, 4), msg2);
	mail_close(box, 0, NULL);
}

static void test_dovecot_uidlist_kept(void)
{
	struct mailbox *box;
	struct mail_err err = { 0 };

	setup();
	make_dirs();
	write_file(md("cur/100.M1P1.dv,S=11,W=12:2,S"), "Subject: a\n");
	write_file(md("cur/200.M1P1.dv:2,Fa"), "Subject: b\n");
	write_file(md("dovecot-uidlist"), "3 V1234567 N43 G0123456789abcdef0123456789abcdef Zfield\n"
					  "41 W12 Q9 :100.M1P1.dv,S=11,W=12\n"
					  "42 W12 :200.M1P1.dv\n");
	write_file(md("dovecot-keywords"), "0 $Label1\n");
	struct stat before, after;
	stat(md("dovecot-uidlist"), &before);
	CHECK(mail_open(&sess, "INBOX", 0, NULL, NULL, &box, &err) == 0);
	if (!box)
		return;
	/* every file has its UID and size: the list is not rewritten */
	CHECK(stat(md("dovecot-uidlist"), &after) == 0 && after.st_ino == before.st_ino);
	CHECK(box->uidvalidity == 1234567 && box->uidnext == 43 && box->nmsgs == 2);
	CHECK(box->msgs[0]->uid == 41 && box->msgs[1]->uid == 42);
	CHECK(box->msgs[0]->size == 12 && (box->msgs[0]->flags & MF_STORABLE) == MF_SEEN);
	CHECK(kwset_low(&box->msgs[1]->keywords) == 1ULL << mail_keyword(box, "$Label1", 0));
	/* Dovecot's lists are not rewritten for nothing */
	CHECK(contains(md("dovecot-uidlist"), "Q9"));
	write_file(md("new/300.M1P1.mx"), "Subject: c\n");
	CHECK(mail_ping(box, &err) == 0);
	CHECK(box->nmsgs == 3 && box->msgs[2]->uid == 43 && box->uidnext == 44);
	/* rewritten for the new UID: unknown fields and extensions kept */
	CHECK(contains(md("dovecot-uidlist"), "3 V1234567 N44 G0123456789abcdef0123456789abcdef "
					      "Zfield\n41 W12 Q9 :100.M1P1.dv,S=11,W=12\n42 W12 :200"));
	CHECK(contains(md("dovecot-uidlist"), "\n43 W12 :300.M1P1.mx\n"));
	mail_close(box, 0, NULL);
}

static void test_sizes_kept(void)
{
	struct mailbox *box;
	struct mail_err err = { 0 };

	setup();
	make_dirs();
	/* numbered by Dovecot, delivered without sizes in the name */
	write_file(md("cur/100.V1I1.mx:2,S"), "Subject: a\n\nb\n");
	write_file(md("dovecot-uidlist"), "3 V99 N2 G0123456789abcdef0123456789abcdef\n1 :100.V1I1.mx\n");
	CHECK(mail_open(&sess, "INBOX", 1, NULL, NULL, &box, &err) == 0);
	if (box) {
		CHECK(box->msgs[0]->size == 17);
		mail_close(box, 0, NULL);
	}
	CHECK(!contains(md("dovecot-uidlist"), "W17"));
	CHECK(mail_open(&sess, "INBOX", 0, NULL, NULL, &box, &err) == 0);
	if (box) {
		CHECK(box->msgs[0]->size == 17 && box->msgs[0]->uid == 1);
		mail_close(box, 0, NULL);
	}
	CHECK(contains(md("dovecot-uidlist"), "\n1 W17 :100.V1I1.mx\n"));
}

static void test_status_moves_nothing(void)
{
	struct mailbox *box;
	struct mail_err err = { 0 };
	struct mail_status st;

	setup();
	append_one("INBOX", msg1, MF_SEEN, NULL, NULL, &err);
	write_file(md("new/1700000009.V1I1.mx"), "Subject: new\n\nx\n");
	CHECK(mail_status(&sess, "INBOX", &st, &err) == 0);
	CHECK(st.messages == 2 && st.unseen == 1 && st.recent == 2 && st.uidnext == 3);
	/* nothing moved, no UID given */
	char *l = listing(md("new"));
	CHECK_STR(l, "1700000009.V1I1.mx\n");
	free(l);
	CHECK(!contains(md("dovecot-uidlist"), "1700000009"));
	/* the SELECT that follows agrees */
	CHECK(mail_open(&sess, "INBOX", 0, NULL, NULL, &box, &err) == 0);
	if (!box)
		return;
	CHECK(box->uidvalidity == st.uidvalidity && box->uidnext == st.uidnext &&
	      box->nmsgs == 2 && box->recent == 2);
	mail_close(box, 0, NULL);
	CHECK(mail_status(&sess, "INBOX", &st, &err) == 0 && st.recent == 0);
}

/* tmp/ is cleaned of files older than 36 hours (Dovecot's rule) by their
 * ctime too: an APPEND in progress elsewhere has already given its file an
 * old internal date as mtime, and must not lose it. */
static void test_tmp_append_in_progress_kept(void)
{
	struct mailbox *box;
	struct mail_err err = { 0 };

	setup();
	append_one("INBOX", msg1, 0, NULL, NULL, &err);
	write_file(md("tmp/1700000000.M1P1Q1.mx,S=13,W=13"), "Subject: half");
	struct timespec old[2] = { { time(NULL) - 37 * 3600, 0 }, { time(NULL) - 37 * 3600, 0 } };
	utimensat(AT_FDCWD, md("tmp/1700000000.M1P1Q1.mx,S=13,W=13"), old, 0);
	CHECK(mail_open(&sess, "INBOX", 0, NULL, NULL, &box, &err) == 0);
	if (box)
		mail_close(box, 0, NULL);
	char *l = listing(md("tmp"));
	CHECK_STR(l, "1700000000.M1P1Q1.mx,S=13,W=13\n");
	free(l);
}

/* A letter in a file name whose keyword dovecot-keywords names only later
 * is that keyword from then on, and is kept on the next flag write. */
static void test_keyword_named_late(void)
{
	struct mailbox *box;
	struct mail_err err = { 0 };

	setup();
	make_dirs();
	write_file(md("cur/100.M1P1.mx:2,a"), "Subject: a\n\nb\n");
	CHECK(mail_open(&sess, "INBOX", 0, NULL, NULL, &box, &err) == 0);
	if (!box)
		return;
	CHECK(kwset_low(&box->msgs[0]->keywords) == 0);
	write_file(md("dovecot-keywords"), "0 Late\n");
	CHECK(mail_ping(box, &err) == 0);
	int k = mail_keyword(box, "Late", 0);
	CHECK(k >= 0 && kwset_low(&box->msgs[0]->keywords) == 1ULL << k);
	CHECK(mail_store(box, 1, STORE_ADD, MF_SEEN, KW(0), &err) == 0 && mail_check(box, &err) == 0);
	char *inf = infos(md("cur"));
	CHECK_STR(inf, "2,Sa\n");
	free(inf);
	mail_close(box, 0, NULL);
}

static void test_two_sessions(void)
{
	struct mailbox *a, *b;
	struct mail_err err = { 0 };
	struct events ea = { 0 }, eb = { 0 };

	setup();
	append_one("INBOX", msg1, 0, NULL, NULL, &err);
	append_one("INBOX", msg2, 0, NULL, NULL, &err);
	CHECK(mail_open(&sess, "INBOX", 0, &evs, &ea, &a, &err) == 0);
	CHECK(mail_open(&sess, "INBOX", 0, &evs, &eb, &b, &err) == 0);
	if (!a || !b)
		return;
	CHECK(mail_store(b, 1, STORE_ADD, MF_SEEN, KW(0), &err) == 0);
	CHECK(mail_store(b, 2, STORE_ADD, MF_DELETED, KW(0), &err) == 0);
	CHECK(mail_expunge(b, NULL, 0, &err) == 0);
	CHECK(eb.nexp == 1 && eb.expunged[0] == 2 && b->nmsgs == 1);
	/* the other session learns both at its next look */
	CHECK(mail_ping(a, &err) == 0);
	CHECK(ea.nexp == 1 && ea.expunged[0] == 2 && a->nmsgs == 1);
	CHECK(ea.nflags == 1 && ea.flagged[0] == 1 && (a->msgs[0]->flags & MF_SEEN));
	/* a's own change wins over b's older one, and b sees it */
	CHECK(mail_store(a, 1, STORE_ADD, MF_FLAGGED, KW(0), &err) == 0);
	CHECK(mail_check(a, &err) == 0);
	CHECK(mail_ping(b, &err) == 0);
	CHECK((b->msgs[0]->flags & MF_STORABLE) == (MF_SEEN | MF_FLAGGED));
	CHECK_STR(text_of(b, 1), msg1);
	mail_close(a, 0, NULL);
	mail_close(b, 0, NULL);
}

static void test_planted_files(void)
{
	struct mailbox *box;
	struct mail_err err = { 0 };

	setup();
	append_one("INBOX", msg1, 0, NULL, NULL, &err);
	write_file(fixture_path(NULL, "secret"), "Subject: someone else's\n\nsecret\n");
	CHECK(chown(fixture_path(NULL, "secret"), 65534, 65534) == 0);
	CHECK(symlink(fixture_path(NULL, "secret"), md("cur/999.link:2,")) == 0);
	CHECK(symlink(fixture_path(NULL, "secret"), md("new/998.link")) == 0);
	CHECK(link(fixture_path(NULL, "secret"), md("cur/997.hard:2,")) == 0);
	CHECK(mkfifo(md("cur/996.fifo:2,"), 0600) == 0);
	CHECK(mail_open(&sess, "INBOX", 0, NULL, NULL, &box, &err) == 0);
	if (!box)
		return;
	CHECK(box->nmsgs == 1);
	CHECK_STR(text_of(box, 1), msg1);
	mail_close(box, 0, NULL);
	/* nothing was moved or renamed */
	struct stat st;
	CHECK(lstat(md("new/998.link"), &st) == 0 && S_ISLNK(st.st_mode));
	CHECK(lstat(md("cur/999.link:2,"), &st) == 0 && S_ISLNK(st.st_mode));
	CHECK(lstat(md("cur/997.hard:2,"), &st) == 0 && st.st_nlink == 2);
	struct mail_status ss;
	CHECK(mail_status(&sess, "INBOX", &ss, &err) == 0);
	CHECK(ss.messages == 1);
}

/* Dovecot's count of UIDVALIDITYs in the INBOX Maildir is honoured and
 * kept: a folder either server makes gets a greater value than any the
 * other handed out, even when one runs ahead of the clock. */
static void test_dovecot_uidvalidity(void)
{
	struct mail_err err = { 0 };
	struct mailbox *box;
	char hex[16];
	uint32_t ahead = (uint32_t)time(NULL) + 1000;

	setup();
	make_dirs();
	snprintf(hex, sizeof hex, "%08x", ahead);
	write_file(md("dovecot-uidvalidity"), hex);
	snprintf(hex, sizeof hex, "%08x", ahead);
	char marker[64];
	snprintf(marker, sizeof marker, "dovecot-uidvalidity.%s", hex);
	write_file(md(marker), "");
	CHECK(mail_create(&sess, "Made", &err) == 0);
	CHECK(mail_open(&sess, "Made", 1, NULL, NULL, &box, &err) == 0);
	if (!box)
		return;
	CHECK(box->uidvalidity == ahead + 1);
	mail_close(box, 0, NULL);
	snprintf(hex, sizeof hex, "%08x", ahead + 1);
	CHECK(contains(md("dovecot-uidvalidity"), hex));
	snprintf(marker, sizeof marker, "dovecot-uidvalidity.%s", hex);
	struct stat st;
	CHECK(stat(md(marker), &st) == 0);
}

static void list_cb(void *ctx, const char *name, int attrs)
{
	buf_printf(ctx, "%s:%d\n", name, attrs);
}

/* With a Maildir INBOX, subscriptions are Dovecot's file in it. */
static void test_subscriptions(void)
{
	struct mail_err err = { 0 };
	struct buf b;

	setup();
	make_dirs();
	write_file(md("subscriptions"), "V\t2\n\na\tb\nINBOX\n");
	mail_create(&sess, "a/b", &err);
	mail_create(&sess, "c", &err);
	buf_init(&b);
	CHECK(mail_lsub(&sess, "", "*", list_cb, &b, &err) == 0);
	CHECK_STR(b.data, "a/b:0\nINBOX:0\n");
	buf_free(&b);
	CHECK(mail_subscribe(&sess, "c", 1, &err) == 0);
	CHECK(mail_subscribe(&sess, "a/b", 0, &err) == 0);
	size_t n;
	char *f = read_file(md("subscriptions"), &n);
	CHECK_STR(f, "V\t2\n\nINBOX\nc\n");
	free(f);
	struct stat st;
	CHECK(stat(fixture_path(NULL, ".mailboxlist"), &st) < 0);
}

static void test_folders(void)
{
	struct mail_err err = { 0 };
	struct mailbox *box;

	setup();
	CHECK(mail_create(&sess, "a/b", &err) == 0);
	struct stat st;
	CHECK(stat(md(".a.b/cur"), &st) == 0 && stat(md(".a.b/maildirfolder"), &st) == 0);
	CHECK(stat(md(".a.b/dovecot-uidlist"), &st) == 0);
	CHECK(stat(md(".a"), &st) < 0);
	/* the first folder made INBOX a Maildir too */
	CHECK(stat(md("cur"), &st) == 0 && stat(md("dovecot-uidlist"), &st) == 0);
	CHECK(stat(md("maildirfolder"), &st) < 0);
	CHECK(mail_create(&sess, "x.y", &err) < 0 && err.code == MAIL_BADNAME);
	CHECK(mail_create(&sess, "a/b", &err) < 0 && err.code == MAIL_EXISTS);
	CHECK(append_one("a/b", msg1, MF_FLAGGED, NULL, NULL, &err) == 0);
	CHECK(mail_create(&sess, "a", &err) == 0);
	CHECK(mail_rename(&sess, "a", "a/b/c", &err) < 0 && err.code == MAIL_BADNAME);
	CHECK(mail_rename(&sess, "a", "x", &err) == 0);
	CHECK(stat(md(".x/cur"), &st) == 0 && stat(md(".x.b/cur"), &st) == 0);
	CHECK(stat(md(".a.b"), &st) < 0);
	CHECK(mail_open(&sess, "x/b", 1, NULL, NULL, &box, &err) == 0);
	if (box) {
		CHECK(box->nmsgs == 1 && (box->msgs[0]->flags & MF_FLAGGED));
		mail_close(box, 0, NULL);
	}
	CHECK(mail_delete(&sess, "x", &err) == 0);
	CHECK(stat(md(".x"), &st) < 0 && stat(md(".x.b/cur"), &st) == 0);
	CHECK(mail_delete(&sess, "x/b", &err) == 0);
	CHECK(stat(md(".x.b"), &st) < 0 && stat(md(".DOVECOT-TRASHED"), &st) < 0);
	/* RENAME INBOX moves its messages into a new folder (RFC 3501 6.3.5) */
	CHECK(append_one("INBOX", msg2, MF_SEEN, NULL, NULL, &err) == 0);
	CHECK(mail_rename(&sess, "INBOX", "Saved", &err) == 0);
	CHECK(mail_open(&sess, "Saved", 1, NULL, NULL, &box, &err) == 0);
	if (box) {
		CHECK(box->nmsgs == 1 && !strcmp(text_of(box, 1), msg2));
		mail_close(box, 0, NULL);
	}
	CHECK(mail_open(&sess, "INBOX", 1, NULL, NULL, &box, &err) == 0);
	if (box) {
		CHECK(box->nmsgs == 0);
		mail_close(box, 0, NULL);
	}
	CHECK(mail_delete(&sess, "Saved", &err) == 0);
	/* no folder left: LIST has INBOX alone */
	struct buf b;
	buf_init(&b);
	CHECK(mail_list(&sess, "", "*", list_cb, &b, &err) == 0);
	CHECK_STR(b.data, "INBOX:0\n");
	buf_free(&b);
}

static void test_list(void)
{
	struct mail_err err = { 0 };
	struct buf b;

	setup();
	mail_create(&sess, "Sent", &err);
	mail_create(&sess, "p/q/r", &err);
	buf_init(&b);
	CHECK(mail_list(&sess, "", "*", list_cb, &b, &err) == 0);
	char want[256];
	snprintf(want, sizeof want, "INBOX:0\nSent:%d\np:%d\np/q:%d\np/q/r:%d\n", LA_HASNOCHILDREN,
		 LA_NOSELECT | LA_HASCHILDREN, LA_NOSELECT | LA_HASCHILDREN, LA_HASNOCHILDREN);
	CHECK_STR(b.data, want);
	/* a folder under INBOX, named in any case: INBOX is listed once */
	buf_reset(&b);
	CHECK(mail_create(&sess, "inbox/sub", &err) == 0);
	struct stat st;
	CHECK(stat(md(".INBOX.sub/cur"), &st) == 0);
	CHECK(mail_list(&sess, "", "INBOX*", list_cb, &b, &err) == 0);
	snprintf(want, sizeof want, "INBOX:0\nINBOX/sub:%d\n", LA_HASNOCHILDREN);
	CHECK_STR(b.data, want);
	buf_reset(&b);
	CHECK(mail_list(&sess, "", "%", list_cb, &b, &err) == 0);
	snprintf(want, sizeof want, "INBOX:0\nSent:%d\np:%d\n", LA_HASNOCHILDREN,
		 LA_NOSELECT | LA_HASCHILDREN);
	CHECK_STR(b.data, want);
	buf_free(&b);
}

static void test_copy_links(void)
{
	struct mailbox *box;
	struct mail_err err = { 0 };
	uint32_t uid = 0, validity = 0, msgno = 1;

	setup();
	append_one("INBOX", msg1, MF_SEEN, (char *[]){ "Blue", NULL }, NULL, &err);
	mail_create(&sess, "Archive", &err);
	CHECK(mail_open(&sess, "INBOX", 0, NULL, NULL, &box, &err) == 0);
	if (!box)
		return;
	CHECK(mail_copy(box, &msgno, 1, "Archive", &validity, &uid, &err) == 0);
	CHECK(uid == 1 && validity);
	mail_close(box, 0, NULL);
	char *l = listing(md(".Archive/cur"));
	char path[600];
	snprintf(path, sizeof path, "%s/%.*s", md(".Archive/cur"), (int)strcspn(l, "\n"), l);
	struct stat st;
	/* the fast path: the same file, linked */
	CHECK(stat(path, &st) == 0 && st.st_nlink == 2);
	CHECK(strstr(l, ":2,Sa\n") != NULL);
	free(l);
	CHECK(contains(md(".Archive/dovecot-keywords"), "0 Blue\n"));
	CHECK(mail_open(&sess, "Archive", 1, NULL, NULL, &box, &err) == 0);
	if (!box)
		return;
	CHECK(box->uidvalidity == validity && box->msgs[0]->uid == 1);
	CHECK_STR(text_of(box, 1), msg1);
	mail_close(box, 0, NULL);
}

/* COPY to a Maildir on another file system: no hard link is possible, the
 * bytes are copied (same text, flags, internal date). */
static void test_copy_bytes(void)
{
	struct mailbox *box;
	struct mail_err err = { 0 };
	uint32_t uid = 0, msgno = 1;
	char other[] = "/dev/shm/test-maildir-XXXXXX", name[128], cmd[512];
	struct stat st;

	setup();
	int made = mkdtemp(other) != NULL;
	CHECK(made);
	if (!made)
		return;
	snprintf(name, sizeof name, "#driver.maildir/%s/box", other);
	sess.allow_outside_home = 1;
	append_one("INBOX", msg1, MF_FLAGGED, NULL, NULL, &err);
	CHECK(mail_create(&sess, name, &err) == 0);
	CHECK(mail_open(&sess, "INBOX", 0, NULL, NULL, &box, &err) == 0);
	if (box) {
		CHECK(mail_copy(box, &msgno, 1, name, NULL, &uid, &err) == 0 && uid == 1);
		mail_close(box, 0, NULL);
	}
	CHECK(mail_open(&sess, name, 1, NULL, NULL, &box, &err) == 0);
	if (box) {
		CHECK(box->nmsgs == 1 && !strcmp(text_of(box, 1), msg1));
		CHECK((box->msgs[0]->flags & MF_STORABLE) == MF_FLAGGED);
		CHECK(box->msgs[0]->internal_date == 1700000000);
		mail_close(box, 0, NULL);
	}
	/* a copy of its own, not a link */
	snprintf(cmd, sizeof cmd, "%s/box/cur", other);
	char *l = listing(cmd);
	snprintf(cmd, sizeof cmd, "%s/box/cur/%.*s", other, (int)strcspn(l, "\n"), l);
	CHECK(stat(cmd, &st) == 0 && st.st_nlink == 1);
	free(l);
	snprintf(cmd, sizeof cmd, "rm -rf %s", other);
	if (system(cmd) != 0)
		fprintf(stderr, "cleanup of %s failed\n", other);
	sess.allow_outside_home = 0;
}

static void test_stale_lock(void)
{
	struct mail_err err = { 0 };
	uint32_t uid = 0;

	setup();
	append_one("INBOX", msg1, 0, NULL, NULL, &err);
	/* a lock a killed process left two minutes and more ago */
	write_file(md("dovecot-uidlist.lock"), "3 V1 N1\n");
	struct timespec old[2] = { { time(NULL) - 300, 0 }, { time(NULL) - 300, 0 } };
	utimensat(AT_FDCWD, md("dovecot-uidlist.lock"), old, 0);
	CHECK(append_one("INBOX", msg2, 0, NULL, &uid, &err) == 0 && uid == 2);
	struct stat st;
	CHECK(stat(md("dovecot-uidlist.lock"), &st) < 0);
}

/* Every file in cur/ and new/ is one whole message among the n texts. */
static int all_whole(const char *const *texts, size_t n)
{
	const char *dirs[2] = { "cur", "new" };
	int ok = 1;

	for (int d = 0; d < 2; d++) {
		char *l = listing(md(dirs[d]));
		for (char *p = l; *p;) {
			char *nl = strchr(p, '\n');
			*nl = '\0';
			char path[600];
			snprintf(path, sizeof path, "%s/%s", md(dirs[d]), p);
			size_t len;
			char *s = read_file(path, &len);
			int match = 0;
			for (size_t i = 0; s && i < n; i++)
				match |= len == strlen(texts[i]) && !memcmp(s, texts[i], len);
			ok &= match;
			free(s);
			p = nl + 1;
		}
		free(l);
	}
	return ok;
}

/* Kill a child after us microseconds; a uidlist lock it held is then made
 * old, as if Dovecot's two minutes for a stale lock had passed. */
static void kill_after(pid_t pid, int us)
{
	fixture_kill_after(pid, us);
	struct timespec old[2] = { { time(NULL) - 300, 0 }, { time(NULL) - 300, 0 } };
	utimensat(AT_FDCWD, md("dovecot-uidlist.lock"), old, 0);
}

static void test_crash_append(void)
{
	struct mail_err err = { 0 };
	const char *stored[] = { "From: a@example.com\nSubject: one\n\nbody one\n" };
	struct mailbox *box;

	setup();
	append_one("INBOX", msg1, 0, NULL, NULL, &err);
	for (int round = 0; round < 12; round++) {
		pid_t pid = fork();
		if (pid == 0) {
			for (;;)
				append_one("INBOX", msg1, MF_SEEN, NULL, NULL, &err);
		}
		/* the last round is long: on a loaded machine the short ones
		 * may kill every append before it ends */
		kill_after(pid, round == 11 ? 300000 : 300 + round * 700);
	}
	CHECK(all_whole(stored, 1));
	CHECK(mail_open(&sess, "INBOX", 0, NULL, NULL, &box, &err) == 0);
	if (!box)
		return;
	char *l = listing(md("cur"));
	CHECK(box->nmsgs == count_lines(l) && box->nmsgs > 1);
	if (box->nmsgs != count_lines(l) || box->nmsgs <= 1)
		printf("%u messages, %zu files in cur/\n", box->nmsgs, count_lines(l));
	free(l);
	for (uint32_t i = 1; i <= box->nmsgs; i++)
		CHECK(!strcmp(text_of(box, i), msg1) || !printf("message %u differs\n", i));
	for (uint32_t i = 1; i < box->nmsgs; i++)
		CHECK(box->msgs[i]->uid > box->msgs[i - 1]->uid);
	mail_close(box, 0, NULL);
}

static void test_crash_flags(void)
{
	struct mail_err err = { 0 };
	struct mailbox *box;

	setup();
	for (int i = 0; i < 20; i++)
		append_one("INBOX", msg1, 0, NULL, NULL, &err);
	fixture_killed_flag_writes(&sess, "INBOX", kill_after);
	char *l = listing(md("cur"));
	CHECK(count_lines(l) == 20);
	free(l);
	CHECK(mail_open(&sess, "INBOX", 0, NULL, NULL, &box, &err) == 0);
	if (!box) {
		printf("open: %s\n", err.text);
		return;
	}
	CHECK(box->nmsgs == 20);
	for (uint32_t i = 1; i <= box->nmsgs; i++)
		CHECK(box->msgs[i - 1]->uid == i && !strcmp(text_of(box, i), msg1));
	mail_close(box, 0, NULL);
}

int main(void)
{
	RUN(test_name_parse);
	RUN(test_uidlist_parse);
	RUN(test_keywords_parse);
	RUN(test_append_reopen);
	RUN(test_fetch_header);
	RUN(test_flags_roundtrip);
	RUN(test_keyword_limit);
	RUN(test_new_to_cur);
	RUN(test_append_after_waiting_mail);
	RUN(test_dovecot_uidlist_kept);
	RUN(test_sizes_kept);
	RUN(test_status_moves_nothing);
	RUN(test_tmp_append_in_progress_kept);
	RUN(test_keyword_named_late);
	RUN(test_two_sessions);
	RUN(test_planted_files);
	RUN(test_folders);
	RUN(test_list);
	RUN(test_dovecot_uidvalidity);
	RUN(test_subscriptions);
	RUN(test_copy_links);
	RUN(test_copy_bytes);
	RUN(test_stale_lock);
	RUN(test_crash_append);
	RUN(test_crash_flags);
	if (fixture_remove_tmpdir())
		mail_session_free(&sess);
	return test_summary("test-maildir");
}
