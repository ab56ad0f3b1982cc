/* test-deliver.c: what tmail and dmail make of their input before storing
 * it: the mbox framing an MTA adds taken off, the envelope sender found,
 * Return-Path added only where missing; and which user+folder names a
 * stranger may choose. */
#include "deliver.h"
#include "test.h"

#include <stdio.h>
#include <string.h>
#include <sysexits.h>

/* deliver_prepare on s; the text (or NULL on failure) in *m. */
static int prep(const char *s, const char *sender, struct deliver_msg *m)
{
	return deliver_prepare(s, strlen(s), sender, "someone", m);
}

static void mbox_framing_is_the_envelope(void)
{
	struct deliver_msg m;

	CHECK(prep("From a@b.example  Sun Dec  6 10:00:00 2026\nSubject: x\n\nbody\n\n", NULL,
		   &m) == EX_OK);
	CHECK_STR(m.sender, "a@b.example");
	CHECK_STR(m.text.data, "Return-Path: <a@b.example>\nSubject: x\n\nbody\n");
	deliver_msg_free(&m);
	/* CRLF framing; MAILER-DAEMON is how MTAs write the null sender */
	CHECK(prep("From MAILER-DAEMON Sun Dec  6 10:00:00 2026\r\nSubject: x\r\n\r\nb\r\n\r\n",
		   NULL, &m) == EX_OK);
	CHECK_STR(m.sender, "");
	CHECK_STR(m.from_token, "");
	CHECK_STR(m.text.data, "Return-Path: <>\r\nSubject: x\r\n\r\nb\r\n");
	deliver_msg_free(&m);
	/* no From line: the text is kept whole, its blank last line too */
	CHECK(prep("Subject: x\n\nbody\n\n", NULL, &m) == EX_OK);
	CHECK(m.sender == NULL && m.from_token == NULL);
	CHECK_STR(m.text.data, "Subject: x\n\nbody\n\n");
	deliver_msg_free(&m);
}

static void dash_f_wins_and_return_path_is_added_once(void)
{
	struct deliver_msg m;

	CHECK(prep("From a@b  Sun Dec  6 10:00:00 2026\nSubject: x\n\nb\n", "<c@d>", &m) == EX_OK);
	CHECK_STR(m.text.data, "Return-Path: <c@d>\nSubject: x\n\nb\n");
	deliver_msg_free(&m);
	CHECK(prep("Subject: x\nreturn-path: <old@x>\n\nb\n", "c@d", &m) == EX_OK);
	CHECK_STR(m.text.data, "Subject: x\nreturn-path: <old@x>\n\nb\n");
	deliver_msg_free(&m);
	/* one in the body is not the header's */
	CHECK(prep("Subject: x\n\nReturn-Path: <body@x>\n", "c@d", &m) == EX_OK);
	CHECK_STR(m.text.data, "Return-Path: <c@d>\nSubject: x\n\nReturn-Path: <body@x>\n");
	deliver_msg_free(&m);
	/* a quoted local part keeps its blank in Return-Path, not in a From line */
	CHECK(prep("Subject: x\n\nb\n", "\"a b\"@c", &m) == EX_OK);
	CHECK_STR(m.from_token, "\"a_b\"@c");
	CHECK(!strncmp(m.text.data, "Return-Path: <\"a b\"@c>\n", 23));
	deliver_msg_free(&m);
}

static void refused_inputs(void)
{
	struct deliver_msg m;

	CHECK(prep("", NULL, &m) == EX_DATAERR);
	CHECK(prep("\r\n\n \t\n", NULL, &m) == EX_DATAERR);
	CHECK(prep("From a@b  Sun Dec  6 10:00:00 2026\n", NULL, &m) == EX_DATAERR);
	CHECK(prep("From a@b  Sun Dec  6 10:00:00 2026\n\n", NULL, &m) == EX_DATAERR);
	/* a sender that would add a header line of its own */
	CHECK(prep("Subject: x\n\nb\n", "a@b>\nX-UID: 5\nX: <", &m) == EX_USAGE);
	CHECK(prep("Subject: x\n\nb\n", "a\tb", &m) == EX_USAGE);
	char longest[DELIVER_SENDER_MAX + 2];
	memset(longest, 'a', sizeof longest - 1);
	longest[sizeof longest - 1] = '\0';
	CHECK(prep("Subject: x\n\nb\n", longest, &m) == EX_USAGE);
	longest[DELIVER_SENDER_MAX] = '\0';
	CHECK(prep("Subject: x\n\nb\n", longest, &m) == EX_OK);
	CHECK(strlen(m.sender) == DELIVER_SENDER_MAX);
	deliver_msg_free(&m);
	/* a From line's control characters make its sender unknown, no more */
	CHECK(prep("From a\x01@b Sun Dec  6 10:00:00 2026\nSubject: x\n\nb\n", NULL, &m) == EX_OK);
	CHECK(m.sender == NULL);
	CHECK_STR(m.text.data, "Subject: x\n\nb\n");
	deliver_msg_free(&m);
}

static void folder_names_from_an_address(void)
{
	static const char *ok[] = { "lists", "lists/debian", "Sent Items", "INBOX", "a.b" };
	static const char *bad[] = { "", ".forward", "lists/.hidden", "../etc", "lists/../x",
				     "/etc/passwd", "~root/x", "#driver.unix/x", "a//b", "a/",
				     "a\nb", "/" };

	for (size_t i = 0; i < sizeof ok / sizeof *ok; i++)
		CHECK(deliver_folder_ok(ok[i]));
	int accepted = 0;
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
		if (deliver_folder_ok(bad[i]))
			accepted += fprintf(stderr, "accepted \"%s\"\n", bad[i]) > 0;
	CHECK(accepted == 0);
}

int main(void)
{
	RUN(mbox_framing_is_the_envelope);
	RUN(dash_f_wins_and_return_path_is_added_once);
	RUN(refused_inputs);
	RUN(folder_names_from_an_address);
	return test_summary("test-deliver");
}
