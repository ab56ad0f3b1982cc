/* mbox_fixture.h: the scratch-directory plumbing and sample mbox text shared
 * by the unit tests that drive mailboxes on real files (test-mail, test-unix,
 * test-index, test-maildir), with a recorder of the events a mailbox reports.
 * Each program includes it once; helpers it does not call are marked unused
 * so -Wall -Werror stays quiet. */
#ifndef MBOX_FIXTURE_H
#define MBOX_FIXTURE_H

#include "mail_api.h"
#include "test.h"
#include "util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define FIXTURE_UNUSED __attribute__((unused))

/* The test's scratch directory; empty until fixture_make_tmpdir(). */
static char tmpdir[256];

/* tmpdir/sub/name, or tmpdir/name when sub is NULL. A few buffers rotate so
 * that two results can be used in one call (rename(a, b) and the like). */
static FIXTURE_UNUSED char *fixture_path(const char *sub, const char *name)
{
	static char p[4][1024];   /* more than tmpdir + two names: never cut */
	static int k;

	k = (k + 1) % 4;
	if (sub)
		snprintf(p[k], sizeof p[k], "%s/%s/%s", tmpdir, sub, name);
	else
		snprintf(p[k], sizeof p[k], "%s/%s", tmpdir, name);
	return p[k];
}

/* Removes the previous scratch directory, if any; returns 1 if there was
 * one, so the caller knows its sessions point at it and must be freed. */
static FIXTURE_UNUSED int fixture_remove_tmpdir(void)
{
	char cmd[600];

	if (!tmpdir[0])
		return 0;
	snprintf(cmd, sizeof cmd, "rm -rf %s", tmpdir);
	if (system(cmd) != 0)
		fprintf(stderr, "cleanup failed\n");
	return 1;
}

/* A fresh /tmp/<prog>-XXXXXX as tmpdir; a test cannot go on without it. */
static FIXTURE_UNUSED void fixture_make_tmpdir(const char *prog)
{
	snprintf(tmpdir, sizeof tmpdir, "/tmp/%s-XXXXXX", prog);
	if (!mkdtemp(tmpdir))
		abort();
}

/* A fresh scratch home (tmpdir) with a spool directory in it, and s
 * alice's session there (the previous test's session freed first). */
static FIXTURE_UNUSED void fixture_session(struct mail_session *s, const char *prog)
{
	if (fixture_remove_tmpdir())
		mail_session_free(s);
	fixture_make_tmpdir(prog);
	mkdir(fixture_path(NULL, "spool"), 0775);
	mail_session_init(s, "alice", tmpdir, fixture_path(NULL, "spool"));
}

/* SIGKILL pid after us microseconds, and reap it. */
static FIXTURE_UNUSED void fixture_kill_after(pid_t pid, int us)
{
	usleep((useconds_t)us);
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
}

/* Ten rounds of a child that opens name and writes \Seen and \Flagged,
 * always together and in runs (so a stored text's length changes), until
 * kill_fn kills it, a little later each round: a flag write cut anywhere.
 * The caller then checks that every message has both or neither. */
static FIXTURE_UNUSED void fixture_killed_flag_writes(struct mail_session *s, const char *name,
						      void (*kill_fn)(pid_t pid, int us))
{
	struct mail_err err = { 0 };

	for (int round = 0; round < 10; round++) {
		pid_t pid = fork();
		if (pid == 0) {
			struct mailbox *b;
			if (mail_open(s, name, 0, NULL, NULL, &b, &err) < 0)
				_exit(1);
			for (unsigned n = 0;; n++) {
				for (uint32_t i = 1; i <= b->nmsgs; i++)
					mail_store(b, i, ((n + i / (1 + n % 4)) & 1) ? STORE_ADD :
						   STORE_REMOVE, MF_SEEN | MF_FLAGGED, &KWSET_EMPTY, &err);
				mail_check(b, &err);
			}
		}
		kill_fn(pid, 2000 + round * 1500);
	}
}

static FIXTURE_UNUSED void write_file(const char *path, const char *data)
{
	FILE *f = fopen(path, "w");
	fputs(data, f);
	fclose(f);
}

static FIXTURE_UNUSED void append_file(const char *path, const char *data)
{
	FILE *f = fopen(path, "a");
	fputs(data, f);
	fclose(f);
}

/* The whole file, NUL-terminated, its length in *len; NULL if unreadable. */
static FIXTURE_UNUSED char *read_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "r");
	struct buf b;
	char chunk[65536];
	size_t n;

	buf_init(&b);
	if (!f)
		return NULL;
	while ((n = fread(chunk, 1, sizeof chunk, f)) > 0)
		buf_append(&b, chunk, n);
	fclose(f);
	if (len)
		*len = b.len;
	return buf_steal(&b);
}

static FIXTURE_UNUSED int contains(const char *path, const char *needle)
{
	size_t n;
	char *s = read_file(path, &n);
	int r = s && memmem(s, n, needle, strlen(needle)) != NULL;
	free(s);
	return r;
}

/* A three-message mbox as an MTA writes it, quirks included: a wrong
 * Content-Length, a ">From" line, a body line starting "From ", flags in
 * Status/X-Status/X-Keywords, a CRLF line, a zone on a From line, a folded
 * header. Kept as two pieces so a test can put headers after the first
 * From line; FIXTURE_MBOX_REST ends in "last" with no newline. */
#define FIXTURE_MBOX_FIRST_FROM "From bob@example.com  Mon Jan  6 10:00:00 2025\n"
#define FIXTURE_MBOX_REST                                      \
	"Subject: one\n"                                       \
	"Content-Length: 999\n"                                \
	"\n"                                                   \
	"Hello\n"                                              \
	">From the quoted line\n"                              \
	"\n"                                                   \
	"From here on it is body text, not a separator\n"      \
	"\n"                                                   \
	"From bob@example.com Tue Jan  7 11:30:15 2025\n"      \
	"Subject: two\n"                                       \
	"Status: RO\n"                                         \
	"X-Status: AF\n"                                       \
	"X-Keywords: $Forwarded  Junk\n"                       \
	"\n"                                                   \
	"line\r\n"                                             \
	"\n"                                                   \
	"From carol Wed Jan  8 12:00:00 2025 +0200\n"          \
	"Subject: three\n"                                     \
	" folded\n"                                            \
	"\n"                                                   \
	"last"

/* What a mailbox reported to its front-end (the first 64 of each). */
struct events {
	int exists, recent, nexp, nflags;
	uint32_t expunged[64], flagged[64];
	uint32_t last_exists;
};

static FIXTURE_UNUSED void on_exists(void *c, uint32_t n)
{
	struct events *e = c;
	e->exists++;
	e->last_exists = n;
}
static FIXTURE_UNUSED void on_recent(void *c, uint32_t n)
{
	(void)n;
	((struct events *)c)->recent++;
}
static FIXTURE_UNUSED void on_expunged(void *c, uint32_t m)
{
	struct events *e = c;
	if (e->nexp < 64)
		e->expunged[e->nexp] = m;
	e->nexp++;
}
static FIXTURE_UNUSED void on_flags(void *c, uint32_t m)
{
	struct events *e = c;
	if (e->nflags < 64)
		e->flagged[e->nflags] = m;
	e->nflags++;
}
static const FIXTURE_UNUSED struct mail_events evs = { on_exists, on_recent, on_expunged,
							 on_flags, NULL };

/* Message msgno's canonical text (valid until the next call), or "(error)". */
static FIXTURE_UNUSED const char *text_of(struct mailbox *box, uint32_t msgno)
{
	static struct buf b;
	const char *t;
	size_t n;
	struct mail_err err = { 0 };

	buf_reset(&b);
	if (mail_fetch_text(box, msgno, &t, &n, &err) < 0)
		return "(error)";
	buf_append(&b, t, n);
	return b.data;
}

/* Two small messages as a client sends them (CRLF), for the directory
 * formats' tests. */
#define FIXTURE_MSG1 "From: a@example.com\r\nSubject: one\r\n\r\nbody one\r\n"
#define FIXTURE_MSG2 "From: b@example.com\r\nSubject: two\r\n\r\nbody two\r\n"

/* APPEND text to mailbox name of session s, dated 1700000000. */
static FIXTURE_UNUSED int fixture_append(struct mail_session *s, const char *name,
					 const char *text, uint32_t flags, char **kw, uint32_t *uid,
					 struct mail_err *err)
{
	struct mail_new m = { .text = text, .len = strlen(text), .flags = flags, .keywords = kw,
			      .date = 1700000000 };
	return mail_append(s, name, &m, 1, NULL, uid, err);
}

/* A format's COPY fast path: box (message 1 \Seen, 2 \Flagged $Work) is
 * copied whole into dest and its message 2 into box itself, with the UIDs
 * answered; box is closed and dest returned open read-only after its
 * flags, keyword, dates and UIDVALIDITY are checked (NULL if it did not
 * open), for the format's own checks of the bytes. */
static FIXTURE_UNUSED struct mailbox *fixture_copy_two(struct mail_session *s,
						       struct mailbox *box, const char *dest)
{
	static const uint32_t msgnos[] = { 1, 2 };
	struct mail_err err = { 0 };
	uint32_t validity = 0, uids[2] = { 0 }, own = box->nmsgs + 1;
	time_t d1 = box->msgs[0]->internal_date, d2 = box->msgs[1]->internal_date;
	int tz = box->msgs[0]->tz_minutes;

	CHECK(mail_copy(box, msgnos, 2, dest, &validity, uids, &err) == 0);
	CHECK(uids[0] == 1 && uids[1] == 2);
	CHECK(mail_copy(box, msgnos + 1, 1, box->name, NULL, uids, &err) == 0 && uids[0] == own);
	mail_close(box, 0, NULL);
	CHECK(mail_open(s, dest, 1, NULL, NULL, &box, &err) == 0);
	if (!box)
		return NULL;
	int k = mail_keyword(box, "$Work", 0);
	CHECK(box->uidvalidity == validity && box->nmsgs == 2 && k >= 0);
	CHECK(box->msgs[0]->flags == (MF_SEEN | MF_RECENT) && kwset_empty(&box->msgs[0]->keywords));
	CHECK(box->msgs[1]->flags == (MF_FLAGGED | MF_RECENT) && k >= 0 &&
	      kwset_low(&box->msgs[1]->keywords) == 1ULL << k);
	CHECK(box->msgs[0]->internal_date == d1 && box->msgs[1]->internal_date == d2);
	CHECK(box->msgs[0]->tz_minutes == tz);
	return box;
}

#endif
