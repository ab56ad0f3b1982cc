/* test-unix-form.c: which first messages are exactly a folder record of ours
 * or of UW imapd (hidden even when not believed), which differ by one header
 * or one byte (shown as mail), and the floor of a new UIDVALIDITY. */
#include "unix_int.h"
#include "test.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#define UW_TEXT                                                                     \
	"This text is part of the internal format of your mail folder, and is not\n" \
	"a real message.  It is created automatically by the mail system software.\n" \
	"If deleted, important folder data will be lost, and it will be re-created\n" \
	"with the data reset to initial values.\n"

/* As UW imap-2007f's mailutil writes it. */
static const char uw[] =
	"From MAILER-DAEMON Sun Dec  6 18:57:15 2026\n"
	"Date: 06 Dec 2026 18:57:15 +0000\n"
	"From: Mail System Internal Data <MAILER-DAEMON@vm>\n"
	"Subject: " PSEUDO_SUBJECT "\n"
	"Message-ID: <1796583435@vm>\n"
	"X-IMAP: 1796583435 0000000002 Work $Junk\n"
	"Status: RO\n\n" UW_TEXT;

/* As write_pseudo writes it. */
static const char ours[] =
	"From MAILER-DAEMON Mon Dec  7 04:32:10 2026\n"
	"Date: Mon, 07 Dec 2026 04:32:10 -0500\n"
	"From: Mail System Internal Data <MAILER-DAEMON@host.example.org>\n"
	"Subject: " PSEUDO_SUBJECT "\n"
	"Message-ID: <1796618730@host.example.org>\n"
	GEN_HDR " 0000000003\n"
	AUTH_HDR " 0000000002 0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef\n"
	"X-IMAP: 1796618730 0000000002\n"
	"Status: RO\n\n" PSEUDO_TEXT;

static int form(const char *s)
{
	return unix_record_form(s, strlen(s), 0);
}

/* s with the first occurrence of from replaced by to ("" if none); two
 * buffers in turn, so an edit of an edit works. */
static const char *edit(const char *s, const char *from, const char *to)
{
	static char bufs[2][2048];
	static int turn;
	char *b = bufs[turn ^= 1];
	const char *at = strstr(s, from);

	if (!at)
		return "";
	snprintf(b, sizeof bufs[0], "%.*s%s%s", (int)(at - s), s, to, at + strlen(from));
	return b;
}

static void test_exact_forms(void)
{
	char mmdf[2048];

	CHECK(form(uw) && form(ours));
	/* UW leaves no Message-ID sometimes; our older records had no auth */
	CHECK(form(edit(uw, "Message-ID: <1796583435@vm>\n", "")));
	CHECK(form(edit(ours, "X-IMAP-Auth: 0000000002 0123456789abcdef0123456789abcdef"
			      "0123456789abcdef0123456789abcdef\n", "")));
	CHECK(form(edit(uw, "Dec  6", "Dec 16")));
	snprintf(mmdf, sizeof mmdf, MMDF_MARK "%s\n", uw);   /* UW's blank line before the mark */
	CHECK(unix_record_form(mmdf, strlen(mmdf), 1));
	CHECK(!unix_record_form(mmdf, strlen(mmdf), 0) && !unix_record_form(uw, strlen(uw), 1));
}

static void test_one_difference_is_mail(void)
{
	static const char *const to_uw[][2] = {
		{ "From MAILER-DAEMON Sun", "From MAILER-DAEMONS Sun" },
		{ "2026\nDate", "2026 call me\nDate" },
		{ "06 Dec 2026 18:57", "6 Dec 2026 18:57" },
		{ "Data <MAILER", "Data: <MAILER" },
		{ "FOLDER INTERNAL DATA", "FOLDER INTERNAL DATA!" },
		{ "<1796583435@vm>", "<call-me@vm>" },
		{ "Message-ID: <1796583435@vm>\n", "Message-ID: <1796583435@vm>\nTo: you\n" },
		{ "Subject:", "subject:" },
		{ "0000000002 Work", "0000000002 (Work)" },
		{ "X-IMAP: 1796583435 ", "X-IMAP: 179658343 " },
		{ "Status: RO", "Status: R" },
		{ "Status: RO\n", "" },
		{ "\n\nThis text", "\n\nThis Text" },
		{ "initial values.\n", "initial values!\n" },
		{ "initial values.\n", "initial values.\nPS: hello\n" },
		{ "Date: 06", "Date:  06" },
		{ "\n", "\r\n" },
	};

	for (size_t i = 0; i < ARRAY_SIZE(to_uw); i++) {
		const char *e = edit(uw, to_uw[i][0], to_uw[i][1]);
		CHECK(*e && !form(e));
		if (*e && form(e))
			fprintf(stderr, "  took for a record: %s -> %s\n", to_uw[i][0], to_uw[i][1]);
	}
	CHECK(!form(edit(ours, "Gen: 0000000003", "Gen: 3")));
	CHECK(!form(edit(ours, "0123456789abcdef\n", "0123456789ABCDEF\n")));
	CHECK(!form(edit(ours, "that state.\n", "that state.")));
	/* order is fixed: the Message-ID after X-IMAP is not a record's */
	CHECK(!form(edit(edit(uw, "Message-ID: <1796583435@vm>\n", ""), "Status: RO\n",
			 "Message-ID: <1@vm>\nStatus: RO\n")));
}

static void test_validity_floor(void)
{
	uint32_t now = (uint32_t)time(NULL);

	CHECK(rec_validity_floor(now, now + 5) == now + 6);
	CHECK(rec_validity_floor(now, now - 5) == now);
	CHECK(rec_validity_floor(now, 0) == now);
	/* forged far ahead: never let near the end of the range */
	CHECK(rec_validity_floor(now, 4000000000u) == now);
	CHECK(rec_validity_floor(now, UINT32_MAX) == now);
}

int main(void)
{
	RUN(test_exact_forms);
	RUN(test_one_difference_is_mail);
	RUN(test_validity_floor);
	return test_summary("test-unix-form");
}
