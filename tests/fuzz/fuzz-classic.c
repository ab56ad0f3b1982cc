/* fuzz-classic.c: libFuzzer harness for the classic interface's parsers of
 * text a program hands it, which often comes from mail or from a web user
 * (PHP's imap_search criteria, imap_rfc822_parse_adrlist, imap_qprint,
 * imap_base64 ...). The first byte picks the parser; base64 and
 * quoted-printable must round-trip any bytes exactly. Linked against the
 * library's classic object, as a program is. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "c-client.h"
#include "../data/classic/mm_quiet.h"

void mm_status(MAILSTREAM *stream, char *mailbox, MAILSTATUS *status) {}
void mm_log(char *string, long errflg) {}
void mm_login(NETMBX *mb, char *user, char *pwd, long trial) {}
void mm_fatal(char *string) { abort(); }

/* An RFC822BUFFER sink: take each flushed chunk, keep nothing. */
static long sink(void *stream, char *string)
{
	*(size_t *)stream += strlen(string);
	return T;
}

static void roundtrip_base64(unsigned char *s, size_t n)
{
	unsigned long elen, dlen;
	unsigned char *enc = rfc822_binary(s, n, &elen);
	void *dec = rfc822_base64(enc, elen, &dlen);

	if (dlen != n || memcmp(dec, s, n))
		abort();
	fs_give(&dec);
	fs_give((void **)&enc);
	dec = rfc822_base64(s, n, &dlen);   /* and any text as base64 */
	fs_give(&dec);
}

static void roundtrip_qprint(unsigned char *s, size_t n)
{
	unsigned long elen, dlen;
	unsigned char *enc = rfc822_8bit(s, n, &elen), *dec = rfc822_qprint(enc, elen, &dlen);

	if (dlen != n || memcmp(dec, s, n))
		abort();
	/* lines of at most 76 characters before their CRLF, 7-bit only */
	for (unsigned long i = 0, col = 0; i < elen; i++) {
		if (enc[i] == '\r' && i + 1 < elen && enc[i + 1] == '\n')
			col = 0, i++;
		else if (++col > 76 || enc[i] >= 0x7f)
			abort();
	}
	fs_give((void **)&dec);
	fs_give((void **)&enc);
	dec = rfc822_qprint(s, n, &dlen);   /* and any text as quoted-printable */
	fs_give((void **)&dec);
}

static void addresses(char *s)
{
	ADDRESS *a = NIL;
	char chunk[64];
	size_t total = 0;
	RFC822BUFFER buf = {sink, &total, chunk, chunk, chunk + sizeof(chunk) - 1};

	rfc822_parse_adrlist(&a, s, "example.org");
	rfc822_output_address_list(&buf, a, 0, NIL);
	rfc822_output_flush(&buf);
	mail_free_address(&a);
}

static void message(char *s, size_t n)
{
	ENVELOPE *env = NIL;
	BODY *body = NIL;
	char *split = strstr(s, "\n\n");
	size_t hlen = split ? (size_t)(split - s) + 2 : n;
	STRING bs;

	INIT(&bs, mail_string, s + hlen, n - hlen);
	rfc822_parse_msg(&env, &body, s, hlen, &bs, "example.org", 0);
	mail_free_envelope(&env);
	mail_free_body(&body);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s;
	SEARCHPGM *pgm;
	MESSAGECACHE elt;
	SIZEDTEXT src, dst;

	if (size < 1 || size > 1 << 16)
		return 0;
	s = malloc(size);
	memcpy(s, data + 1, size - 1);
	s[size - 1] = '\0';
	switch (data[0] % 7) {
	case 0:
		if ((pgm = mail_criteria(s)))
			mail_free_searchpgm(&pgm);
		break;
	case 1:
		roundtrip_base64((unsigned char *)s, size - 1);
		break;
	case 2:
		roundtrip_qprint((unsigned char *)s, size - 1);
		break;
	case 3:
		addresses(s);
		break;
	case 4:
		memset(&elt, 0, sizeof(elt));
		(void)mail_parse_date(&elt, (unsigned char *)s);
		break;
	case 5:
		message(s, strlen(s));
		break;
	case 6:
		src.data = (unsigned char *)s;
		src.size = size - 1;
		utf8_mime2text(&src, &dst, 0);
		if (dst.data != src.data)
			fs_give((void **)&dst.data);
		break;
	}
	free(s);
	return 0;
}
