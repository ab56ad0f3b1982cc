/* test-search-raw.c: SEARCH TEXT and BODY with the stored-bytes pre-test
 * (search.c's raw_pretest) answer exactly as the full search does, on messages whose
 * searched text differs from their bytes (base64, quoted-printable, encoded
 * words, charsets, attached messages, skipped attachments), and the
 * pre-test spares the full parse where it can. */
#include <stdio.h>

#include "raw_box.h"
#include "test.h"

#define T(s) { s, sizeof s - 1, 0 }
#define T_CRLF(s) { s, sizeof s - 1, 1 }

static const struct rb_text corpus[] = {
	/* 1: plain, the word in the body */
	T("Subject: plain\r\n\r\nA zyzzogeton walked by.\r\n"),
	/* 2: plain, no word */
	T("Subject: nothing\r\n\r\nJust text.\r\n"),
	/* 3: a base64 text body hides it */
	T("Subject: b64\r\nContent-Type: text/plain; charset=utf-8\r\n"
	  "Content-Transfer-Encoding: base64\r\n\r\ndGhlIHp5enpvZ2V0b24gaXMgYSB3ZWV2aWwK\r\n"),
	/* 4: quoted-printable, a soft break inside the word */
	T("Subject: qp\r\nContent-Type: text/plain\r\nContent-Transfer-Encoding: "
	  "quoted-printable\r\n\r\nthe zyzzo=\r\ngeton\r\n"),
	/* 5: an encoded word in the header */
	T("Subject: =?utf-8?q?a_zyzzogeton?=\r\n\r\nbody\r\n"),
	/* 6: only a PDF's base64 holds the letters, and the PDF is not searched */
	T("Subject: pdf\r\nContent-Type: multipart/mixed; boundary=\"b1\"\r\n\r\n"
	  "--b1\r\nContent-Type: text/plain\r\n\r\nsee the file\r\n"
	  "--b1\r\nContent-Type: application/pdf\r\nContent-Transfer-Encoding: base64\r\n\r\n"
	  "zyzzogetonJVBERi0xLjQgenl6em9nZXRvbiBpbnNpZGUgYSBwZGY=\r\n--b1--\r\n"),
	/* 7: two attachments, then a base64 text part with the word */
	T("Subject: two\r\nContent-Type: multipart/mixed; boundary=b2\r\n\r\n"
	  "--b2\r\nContent-Type: image/jpeg\r\nContent-Transfer-Encoding: base64\r\n\r\n"
	  "YXR0YWNobWVudCBvbmUgYXR0YWNobWVudCBvbmUg\r\n"
	  "--b2\r\nContent-Type: application/zip\r\nContent-Transfer-Encoding: base64\r\n\r\n"
	  "YXR0YWNobWVudCBvbmUgYXR0YWNobWVudCBvbmUg\r\n"
	  "--b2\r\nContent-Type: text/plain\r\nContent-Transfer-Encoding: base64\r\n\r\n"
	  "dGhlIHp5enpvZ2V0b24gaXMgYSB3ZWV2aWwK\r\n--b2--\r\n"),
	/* 8: an attached message with an encoded word */
	T("Subject: fwd\r\nContent-Type: multipart/mixed; boundary=b3\r\n\r\n"
	  "--b3\r\nContent-Type: message/rfc822\r\n\r\n"
	  "Subject: =?iso-8859-1?b?enl6em9nZXRvbg==?=\r\n\r\ninner\r\n--b3--\r\n"),
	/* 9: UTF-16 text, 7bit: the bytes are not the letters in a row */
	T("Subject: u16\r\nContent-Type: text/plain; charset=utf-16le\r\n\r\n"
	  "z\0y\0z\0z\0o\0g\0e\0t\0o\0n\0\r\n"),
	/* 10: the same charset on a folded line */
	T("Subject: u16f\r\nContent-Type: text/plain;\r\n charset=\"UTF-16LE\"\r\n\r\n"
	  "z\0y\0z\0z\0o\0g\0e\0t\0o\0n\0\r\n"),
	/* 11: an RFC 2231 charset (which the full search does not decode) */
	T("Subject: u16r\r\nContent-Type: text/plain; charset*=''utf-16le\r\n\r\n"
	  "z\0y\0z\0z\0o\0g\0e\0t\0o\0n\0\r\n"),
	/* 12: a "--" header line between the part's first Content-Type (text)
	 * and a second one (PDF): the first decides, the text is decoded */
	T("Subject: trick\r\nContent-Type: multipart/mixed; boundary=b4\r\n\r\n"
	  "--b4\r\nContent-Type: text/plain\r\n--x: y\r\nContent-Type: application/pdf\r\n"
	  "Content-Transfer-Encoding: base64\r\n\r\ndGhlIHp5enpvZ2V0b24gaXMgYSB3ZWV2aWwK\r\n"
	  "--b4--\r\n"),
	/* 13: a digest: its parts are messages without a Content-Type */
	T("Subject: digest\r\nContent-Type: multipart/digest; boundary=b5\r\n\r\n"
	  "--b5\r\n\r\nSubject: =?utf-8?b?enl6em9nZXRvbg==?=\r\n\r\ndigest body\r\n--b5--\r\n"),
	/* 14: a single-part attachment, its Content-Type first */
	T("Content-Type: application/octet-stream\r\nContent-Transfer-Encoding: base64\r\n"
	  "Subject: single\r\n\r\ndGhlIHp5enpvZ2V0b24gaXMgYSB3ZWV2aWwK\r\n"),
	/* 15: stored with CRLF, the word plain */
	T_CRLF("Subject: crlf\r\n\r\nZYZZOGETON in capitals\r\n"),
	/* 16: no transfer encoding header for the base64-looking text part */
	T("Subject: none\r\nContent-Type: multipart/alternative; boundary=b6\r\n\r\n"
	  "--b6\r\nContent-Transfer-Encoding: base64\r\n\r\n"
	  "dGhlIHp5enpvZ2V0b24gaXMgYSB3ZWV2aWwK\r\n--b6--\r\n"),
	/* 17: what looks like a PDF part is text: the top type is misspelt, so
	 * the body is one text part and its "base64" is searched as it is */
	T("Subject: fake\r\nContent-Lype: multipart/mixed; boundary=b7\r\n\r\n"
	  "--b7\r\nContent-Type: application/pdf\r\nContent-Transfer-Encoding: base64\r\n\r\n"
	  "zyzzogetonJVBERi0x\r\n--b7--\r\n"),
	/* 18: the same nested in a second multipart: its parts are not known
	 * without the structure, so nothing is skipped */
	T("Subject: nest\r\nContent-Type: multipart/mixed; boundary=b8\r\n\r\n"
	  "--b8\r\nContent-Type: multipart/alternative; boundary=b9\r\n\r\n"
	  "--b9\r\nContent-Type: application/pdf\r\nContent-Transfer-Encoding: base64\r\n\r\n"
	  "zyzzogetonJVBERi0x\r\n--b9--\r\n--b8--\r\n"),
	/* 19: quoted-printable without the word: decoded from the stored
	 * bytes, it is ruled out there */
	T("Subject: qp2\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n"
	  "no w=C3=B6rd here\r\n"),
	/* 20: an encoded word in the header, neither it nor the body holds it */
	T("Subject: =?utf-8?q?nothing?=\r\n\r\nplain\r\n"),
	/* 21: a '>' line (a driver may unquote it): the full search decides */
	T("Subject: qp3\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n"
	  ">quoted\r\nzyzzo=\r\ngeton\r\n"),
	/* 22: stored with CRLF: the same */
	T_CRLF("Subject: qp4\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n"
	       "zyzz=\r\nogeton\r\n"),
	/* 23: the word only once decoded, in a part beside a large attachment */
	T("Subject: qp5\r\nContent-Type: multipart/mixed; boundary=c1\r\n\r\n"
	  "--c1\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\nzyzzog=65ton\r\n"
	  "--c1\r\nContent-Type: image/png\r\nContent-Transfer-Encoding: base64\r\n\r\n"
	  "iVBORw0KGgo=\r\n--c1--\r\n"),
	/* 24: the message's last line has no end: the full search decides */
	T("Subject: qp6\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\nzyzzog=65ton"),
};

#define N (sizeof corpus / sizeof *corpus)

static const char *const needles[] = { "zyzzogeton", "ZYZZOGETON", "zyzzo", "geton",
					"JVBERi0", "Content-Type", "utf-16le", "b2", "walked",
					"inner", "attachment" };

/* The answers of one key with and without the pre-test, as "1,3". */
static void answers(enum search_op op, const char *needle, int pretest, char *out, size_t cap)
{
	struct search_key k = { .op = op, .str = (char *)needle };
	uint8_t match[N];
	size_t n = 0;

	out[0] = '\0';
	if (rb_search(corpus, N, &k, pretest, match)) {
		snprintf(out, cap, "error");
		return;
	}
	for (size_t i = 0; i < N; i++)
		if (match[i])
			n += (size_t)snprintf(out + n, cap - n, "%s%zu", n ? "," : "", i + 1);
}

/* Every needle, TEXT and BODY: the same messages either way. */
static void test_same_answers(void)
{
	char a[128], b[128];

	for (size_t i = 0; i < sizeof needles / sizeof *needles; i++)
		for (int op = 0; op < 2; op++) {
			enum search_op o = op ? SK_BODY : SK_TEXT;
			answers(o, needles[i], 0, a, sizeof a);
			answers(o, needles[i], 1, b, sizeof b);
			if (strcmp(a, b))
				fprintf(stderr, "%s \"%s\": full %s, pre-tested %s\n",
					op ? "BODY" : "TEXT", needles[i], a, b);
			CHECK_STR(b, a);
		}
}

/* What each hiding place gives, so the corpus really tests the decodings. */
static void test_decoded_matches(void)
{
	char a[128];

	answers(SK_TEXT, "zyzzogeton", 1, a, sizeof a);
	CHECK_STR(a, "1,3,4,5,7,8,9,10,12,13,15,16,17,21,22,23,24");
	answers(SK_BODY, "zyzzogeton", 1, a, sizeof a);
	CHECK_STR(a, "1,3,4,7,8,9,10,12,13,15,16,17,21,22,23,24");
}

/* Messages whose bytes rule the word out are not parsed from their
 * canonical text: 2 (plain), 6 and 18 (the word only in a PDF's base64,
 * one and two levels deep), 11 (a charset the full search does not take
 * for one, so it reads the bytes as they are), 14 (an attachment) and 19
 * (quoted-printable decoded from its stored bytes). */
static void test_parses_spared(void)
{
	struct search_key k = { .op = SK_TEXT, .str = "zyzzogeton" };
	uint64_t all = (1ULL << N) - 1,
		 spared = 1ULL << 1 | 1ULL << 5 | 1ULL << 10 | 1ULL << 13 | 1ULL << 17 |
			  1ULL << 18;
	uint8_t match[N];

	rb_fetched = 0;
	CHECK(rb_search(corpus, N, &k, 1, match) == 0);
	CHECK(rb_fetched == (all & ~spared));
	CHECK(!match[10] && !match[17]);
	rb_fetched = 0;
	CHECK(rb_search(corpus, N, &k, 0, match) == 0);
	CHECK(rb_fetched == all);
}

/* The pre-test asks the driver for runs of messages (one lock each), the
 * run doubling while the search goes on message after message: 24
 * messages are 1 + 2 + 4 + 8 + 9, five calls. */
static void test_runs_grow(void)
{
	struct search_key k = { .op = SK_TEXT, .str = "zyzzogeton" };
	uint8_t match[N];
	char a[128];

	rb_runs = 0;
	rb_scanned = 0;
	CHECK(rb_search(corpus, N, &k, 1, match) == 0);
	CHECK(rb_runs == 5);
	CHECK(rb_scanned == (1ULL << N) - 1);
	answers(SK_TEXT, "zyzzogeton", 1, a, sizeof a);
	CHECK_STR(a, "1,3,4,5,7,8,9,10,12,13,15,16,17,21,22,23,24");
}

/* Where another key rules most messages out first, only the messages it
 * leaves are pre-tested: 2 and 20 are not one after the other, so each is
 * a run of one, and no other message is read. */
static void test_runs_only_where_asked(void)
{
	struct numrange r[2] = { { 2, 2 }, { 20, 20 } };
	struct search_key text = { .op = SK_TEXT, .str = "zyzzogeton" };
	struct search_key k = { .op = SK_MSGNOS, .set = { r, 2, 0 }, .next = &text };
	uint8_t match[N];

	rb_runs = 0;
	rb_scanned = 0;
	CHECK(rb_search(corpus, N, &k, 1, match) == 0);
	CHECK(rb_runs == 2);
	CHECK(rb_scanned == (1ULL << 1 | 1ULL << 19));
}

/* A driver that covers fewer messages than asked (the mbox driver stops
 * after a few MB under one lock), or passes one over (expunged by another
 * session): the answers stay the full search's, and the one passed over
 * gets the full search. */
static void test_short_runs_and_passed_over(void)
{
	char a[128], full[128];

	answers(SK_TEXT, "zyzzogeton", 0, full, sizeof full);
	for (uint32_t cap = 1; cap <= 3; cap++) {
		rb_cap = cap;
		answers(SK_TEXT, "zyzzogeton", 1, a, sizeof a);
		CHECK_STR(a, full);
	}
	rb_cap = 0;
	struct search_key k = { .op = SK_TEXT, .str = "zyzzogeton" };
	uint8_t match[N];

	rb_skip = 2;   /* plain text without the word: the pre-test spares it */
	rb_fetched = 0;
	CHECK(rb_search(corpus, N, &k, 1, match) == 0);
	CHECK(rb_fetched & 1ULL << 1);
	CHECK(!match[1]);
	answers(SK_TEXT, "zyzzogeton", 1, a, sizeof a);
	CHECK_STR(a, full);
	rb_skip = 0;
}

int main(void)
{
	RUN(test_same_answers);
	RUN(test_decoded_matches);
	RUN(test_parses_spared);
	RUN(test_runs_grow);
	RUN(test_runs_only_where_asked);
	RUN(test_short_runs_and_passed_over);
	buf_free(&rb_stored);
	return test_summary("test-search-raw");
}
