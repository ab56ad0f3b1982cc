/* test-modseq.c: the modseq file's bytes (modseq.c: round trip, torn and
 * edited files refused, expunge ranges and their compaction) and mail.c's
 * modseqs on a real mailbox in a scratch home: kept across opens, a new
 * one per change, expunges answered by mail_vanished, a lost file rebuilt
 * above every earlier value, a new UIDVALIDITY starting afresh; save
 * dates (version 2 records), version 1 files read with dates unknown. */
#include "mail_api.h"
#include "mbox_fixture.h"
#include "modseq.h"
#include "search.h"
#include "test.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* A small state: keywords, three messages, two expunge ranges. */
static void sample(struct modseq_state *st)
{
	memset(st, 0, sizeof *st);
	st->uidvalidity = 77;
	st->uidnext = 9;
	st->base = 100;
	st->highest = 140;
	CHECK(modseq_kw_index(st, "$Junk") == 0);
	CHECK(modseq_kw_index(st, "work") == 1);
	CHECK(modseq_kw_index(st, "$Junk") == 0);
	CHECK(modseq_kw_index(st, "two words") == -1);
	uint32_t uids[] = {7, 1, 4};
	for (int i = 0; i < 3; i++) {
		struct modseq_msg *m = modseq_insert(st, uids[i]);
		m->flags = (uint32_t)i;
		m->kw = (uint64_t)i;
		m->modseq = 110 + (uint64_t)i;
		m->saved = i ? 1700000000u + (uint64_t)i : 0;
	}
	modseq_gone_add(st, 2, 120);
	modseq_gone_add(st, 3, 120);
	modseq_gone_add(st, 8, 140);
}

static void test_round_trip(void)
{
	struct modseq_state st, back;
	struct buf b, b2;

	sample(&st);
	CHECK(st.nmsgs == 3 && st.msgs[0].uid == 1 && st.msgs[1].uid == 4 && st.msgs[2].uid == 7);
	CHECK(st.ngone == 2 && st.gone[0].lo == 2 && st.gone[0].hi == 3);
	buf_init(&b);
	buf_init(&b2);
	modseq_write(&st, "/home/u/Mail/box", &b);
	CHECK(modseq_parse(b.data, b.len, "/home/u/Mail/box", &back) == 0);
	CHECK(back.uidvalidity == 77 && back.uidnext == 9 && back.highest == 140 &&
	      back.base == 100 && back.nkw == 2 && back.nmsgs == 3 && back.ngone == 2);
	CHECK_STR(back.kw[1], "work");
	CHECK(modseq_find(&back, 7) && modseq_find(&back, 7)->modseq == 110);
	CHECK(modseq_find(&back, 7)->saved == 0 && modseq_find(&back, 4)->saved == 1700000002u);
	CHECK(modseq_find(&back, 2) == NULL);
	modseq_write(&back, "/home/u/Mail/box", &b2);
	CHECK(b.len == b2.len && !memcmp(b.data, b2.data, b.len));
	modseq_free(&back);
	/* another mailbox whose name hashes alike is not this one */
	CHECK(modseq_parse(b.data, b.len, "/home/u/Mail/other", &back) < 0);
	modseq_free(&st);
	buf_free(&b);
	buf_free(&b2);
}

static void test_torn_and_edited(void)
{
	struct modseq_state st, back;
	struct buf b;
	int bad = 0;

	sample(&st);
	buf_init(&b);
	modseq_write(&st, "/m", &b);
	/* every cut, and every single changed byte, is refused */
	for (size_t n = 0; n < b.len; n++) {
		int r = modseq_parse(b.data, n, "/m", &back);
		bad += r < 0;
		if (r == 0)
			modseq_free(&back);
	}
	CHECK(bad == (int)b.len);
	bad = 0;
	for (size_t i = 0; i < b.len; i++) {
		b.data[i] ^= 0x04;
		int r = modseq_parse(b.data, b.len, "/m", &back);
		bad += r < 0;
		if (r == 0)
			modseq_free(&back);
		b.data[i] ^= 0x04;
	}
	CHECK(bad == (int)b.len);
	modseq_free(&st);
	buf_free(&b);
}

/* text with a correct "s" line added, so only the content is judged */
static int parse_summed(const char *text, struct modseq_state *st)
{
	char buf[1024];
	int n = snprintf(buf, sizeof buf, "%ss %llu\n", text,
			 (unsigned long long)modseq_sum(text, strlen(text)));
	return modseq_parse(buf, (size_t)n, "/m", st);
}

static void test_inconsistent_content(void)
{
	struct modseq_state st;

	CHECK(parse_summed("imapd-modseq 1\nv 1 5 9 2\nm 1 1 0 9\np /m\n", &st) == 0);
	modseq_free(&st);
	const char *bad[] = {
		"imapd-modseq 1\nv 1 5 9 2\nm 1 1 0 10\np /m\n",     /* above highest */
		"imapd-modseq 1\nv 1 5 9 12\np /m\n",                /* base above highest */
		"imapd-modseq 1\nv 1 5 9 2\nm 3 0 0 4\nm 2 0 0 4\np /m\n",  /* not ascending */
		"imapd-modseq 1\nv 1 5 9 2\nm 1 64 0 4\np /m\n",    /* not a flag */
		"imapd-modseq 1\nv 1 5 9 2\nm 1 0 1 4\np /m\n",     /* unknown keyword */
		"imapd-modseq 1\nv 1 5 9 2\ng 3 2 4\np /m\n",       /* lo above hi */
		"imapd-modseq 1\nv 1 5 9 2\ng 1 3 4\ng 3 4 5\np /m\n",   /* overlapping */
		"imapd-modseq 1\nv 1 5 9 2\nm 0 0 0 4\np /m\n",     /* UID 0 */
		"imapd-modseq 1\nv 1 5 99999999999999999999 2\np /m\n",
		"imapd-modseq 1\nv 1 5 9 2\np /m\nm 1 0 0 4\n",     /* out of order */
		"imapd-modseq 1\nv 1 5 9 2\n",                      /* no path */
	};
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
		CHECK(parse_summed(bad[i], &st) < 0);
}

/* Version 2 records carry a save date; a version 1 file still reads, its
 * dates unknown (0), and each version takes only its own records. */
static void test_save_dates(void)
{
	struct modseq_state st;

	CHECK(parse_summed("imapd-modseq 2\nv 1 5 9 2\nm 1 1 0 9 1700000000\np /m\n", &st) == 0);
	CHECK(st.nmsgs == 1 && st.msgs[0].saved == 1700000000u);
	modseq_free(&st);
	CHECK(parse_summed("imapd-modseq 1\nv 1 5 9 2\nm 1 1 0 9\np /m\n", &st) == 0);
	CHECK(st.nmsgs == 1 && st.msgs[0].modseq == 9 && st.msgs[0].saved == 0);
	modseq_free(&st);
	CHECK(parse_summed("imapd-modseq 2\nv 1 5 9 2\nm 1 1 0 9\np /m\n", &st) < 0);
	CHECK(parse_summed("imapd-modseq 1\nv 1 5 9 2\nm 1 1 0 9 1700000000\np /m\n", &st) < 0);
	CHECK(parse_summed("imapd-modseq 3\nv 1 5 9 2\np /m\n", &st) < 0);
}

static void test_gone_ranges(void)
{
	struct modseq_state st = {0};

	st.base = 5;
	modseq_gone_add(&st, 10, 50);
	modseq_gone_add(&st, 11, 50);   /* one expunge of two: one range */
	modseq_gone_add(&st, 12, 60);
	CHECK(st.ngone == 2);
	CHECK(modseq_gone_at(&st, 11) == 50 && modseq_gone_at(&st, 12) == 60);
	CHECK(modseq_gone_at(&st, 9) == 5 && !modseq_is_gone(&st, 9));
	/* thousands of scattered expunges stay bounded, and never answer
	 * with a modseq before the real one (only more is reported) */
	for (uint32_t u = 100; u < 5000; u += 2)
		modseq_gone_add(&st, u, 1000 + u);
	CHECK(st.ngone <= 512);
	int early = 0;
	for (uint32_t u = 100; u < 5000; u += 2)
		early += modseq_gone_at(&st, u) < 1000 + u;
	CHECK(early == 0);
	/* a merged range spans live UIDs; one of them going later raises it */
	uint32_t inside = st.gone[0].lo + 1;
	modseq_gone_add(&st, inside, 99999);
	CHECK(modseq_gone_at(&st, inside) == 99999);
	modseq_free(&st);
}

/* ---------- through mail.c on a real mailbox ---------- */

static struct mail_session sess;

static void setup(void)
{
	char home[300], spool[300];

	if (fixture_remove_tmpdir())
		mail_session_free(&sess);
	fixture_make_tmpdir("test-modseq");
	snprintf(home, sizeof home, "%s/home", tmpdir);
	snprintf(spool, sizeof spool, "%s/spool", tmpdir);
	mkdir(home, 0700);
	mkdir(spool, 0775);
	mail_session_init(&sess, "bob", home, spool);
	write_file(fixture_path("spool", "bob"),
		   "From a@b Mon Jan  6 10:00:00 2025\nSubject: 1\n\none\n\n"
		   "From a@b Mon Jan  6 10:00:00 2025\nSubject: 2\n\ntwo\n\n"
		   "From a@b Mon Jan  6 10:00:00 2025\nSubject: 3\n\nthree\n\n");
}

/* The mailbox under test: INBOX (the mbox spool file), or a Maildir or MH
 * folder holding the same three messages. */
static const char *boxname = "INBOX";

static void use_format(const char *fmt)
{
	static char name[64];
	struct mail_err err;

	setup();
	if (!strcmp(fmt, "mbox")) {
		boxname = "INBOX";
		return;
	}
	snprintf(name, sizeof name, "#driver.%s/box", fmt);
	boxname = name;
	CHECK(mail_create(&sess, boxname, &err) == 0);
	for (int i = 1; i <= 3; i++) {
		char text[64];
		int n = snprintf(text, sizeof text, "Subject: %d\n\nbody %d\n", i, i);
		struct mail_new nm = {.text = text, .len = (size_t)n};
		CHECK(mail_append(&sess, boxname, &nm, 1, NULL, NULL, &err) == 0);
	}
}

static struct mailbox *open_inbox(int readonly)
{
	struct mail_err err;
	struct mailbox *box = NULL;

	CHECK(mail_open(&sess, boxname, readonly, NULL, NULL, &box, &err) == 0);
	return box;
}

/* Remove the modseq files in ~/.imapd-cache (as if lost). */
static int remove_msq(void)
{
	DIR *d = opendir(fixture_path("home", ".imapd-cache"));
	struct dirent *e;
	int n = 0;

	while (d && (e = readdir(d)) != NULL)
		if (strstr(e->d_name, ".msq") && !strstr(e->d_name, ".tmp"))
			n += unlink(fixture_path("home/.imapd-cache", e->d_name)) == 0;
	if (d)
		closedir(d);
	return n;
}

/* The life of one mailbox's modseqs, in the format fmt. */
static void mailbox_modseqs(const char *fmt)
{
	struct mail_err err;
	uint64_t seen[3];

	use_format(fmt);
	/* nobody asked: nothing kept, nothing written */
	struct mailbox *box = open_inbox(0);
	CHECK(mail_highestmodseq(box) == 0);
	mail_close(box, 0, NULL);
	CHECK(remove_msq() == 0);

	box = open_inbox(0);
	CHECK(mail_modseq_enable(box) == 0);
	uint64_t h = mail_highestmodseq(box);
	CHECK(h > 0 && box->nmsgs == 3);
	for (int i = 0; i < 3; i++)
		seen[i] = box->msgs[i]->modseq;
	CHECK(seen[0] < seen[1] && seen[1] < seen[2] && seen[2] == h);
	/* every format has save dates now: its own, or the records' */
	time_t saved = box->msgs[1]->save_date;
	CHECK(saved > 1700000000);
	CHECK(mail_close(box, 0, &err) == 0);

	/* kept as they were, read-only too, and without asking: once a
	 * client has asked, every session keeps them */
	box = open_inbox(1);
	CHECK(mail_highestmodseq(box) == h && box->msgs[1]->modseq == seen[1]);
	CHECK(box->msgs[1]->save_date == saved);
	mail_close(box, 0, NULL);

	/* a change gets the next one; a STORE that changes nothing, none */
	box = open_inbox(0);
	CHECK(mail_store(box, 2, STORE_ADD, MF_FLAGGED, KW(0), &err) == 0);
	CHECK(mail_flush(box, &err) == 0);
	uint64_t h2 = mail_highestmodseq(box);
	CHECK(h2 > h && box->msgs[1]->modseq == h2 && box->msgs[0]->modseq == seen[0]);
	CHECK(mail_store(box, 2, STORE_ADD, MF_FLAGGED, KW(0), &err) == 0);
	CHECK(mail_flush(box, &err) == 0);
	CHECK(mail_highestmodseq(box) == h2);

	/* an expunge is recorded: VANISHED (EARLIER) since h finds it */
	CHECK(mail_store(box, 1, STORE_ADD, MF_DELETED, KW(0), &err) == 0);
	CHECK(mail_expunge(box, NULL, 0, &err) == 0);
	struct numrange *r;
	size_t n = mail_vanished(box, h, NULL, &r);
	CHECK(n == 1 && r[0].lo == 1 && r[0].hi == 1);
	free(r);
	CHECK(mail_vanished(box, mail_highestmodseq(box), NULL, &r) == 0 && !r);
	uint64_t h3 = mail_highestmodseq(box);
	mail_close(box, 0, NULL);

	/* lost: rebuilt above everything, the old expunge still reported */
	CHECK(remove_msq() == 1);
	box = open_inbox(0);
	CHECK(mail_modseq_enable(box) == 0);
	CHECK(mail_highestmodseq(box) > h3 && box->msgs[0]->modseq > h3);
	n = mail_vanished(box, h3, NULL, &r);
	CHECK(n == 1 && r[0].lo == 1 && r[0].hi == 1);
	free(r);
	mail_close(box, 0, NULL);
}

static void test_mbox_modseqs(void)
{
	mailbox_modseqs("mbox");
}

static void test_maildir_modseqs(void)
{
	mailbox_modseqs("maildir");
}

static void test_mh_modseqs(void)
{
	mailbox_modseqs("mh");
}

static void test_status_modseq(void)
{
	struct mail_err err;
	uint64_t h = 0, h2 = 0;

	use_format("mbox");
	CHECK(mail_status_modseq(&sess, "INBOX", &h, &err) == 0 && h > 0);
	struct mailbox *box = open_inbox(0);
	CHECK(mail_highestmodseq(box) == h);
	mail_close(box, 0, NULL);
	struct mail_new nm = {.text = "Subject: 4\n\nfour\n", .len = 17, .flags = MF_SEEN};
	CHECK(mail_append(&sess, "INBOX", &nm, 1, NULL, NULL, &err) == 0);
	CHECK(mail_status_modseq(&sess, "INBOX", &h2, &err) == 0 && h2 > h);
	box = open_inbox(1);
	CHECK(box->nmsgs == 4 && box->msgs[3]->modseq == h2);
	mail_close(box, 0, NULL);
}

int main(void)
{
	RUN(test_round_trip);
	RUN(test_torn_and_edited);
	RUN(test_inconsistent_content);
	RUN(test_save_dates);
	RUN(test_gone_ranges);
	RUN(test_mbox_modseqs);
	RUN(test_maildir_modseqs);
	RUN(test_mh_modseqs);
	RUN(test_status_modseq);
	fixture_remove_tmpdir();
	mail_session_free(&sess);
	return test_summary("test-modseq");
}
