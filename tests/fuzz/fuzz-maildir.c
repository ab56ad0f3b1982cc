/* fuzz-maildir.c: libFuzzer harness for the Maildir formats (maildir.h):
 * the input is read as a message file name, a dovecot-uidlist, a
 * dovecot-keywords and a subscriptions file; what we write back from each parse must parse to
 * the same thing again (a rewrite never changes what it keeps). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mail_api.h"
#include "maildir.h"

/* A name's info survives format + parse unchanged, and so does its base. */
static void name_roundtrip(const char *p, size_t n)
{
	struct md_name a, b;
	struct buf out;

	if (md_name_parse(p, n, &a) < 0)
		return;
	struct md_info in = md_info_with(&a.info, md_info_flags(&a.info), md_info_letters(&a.info));
	if (memcmp(&in, &a.info, sizeof in))
		abort();
	buf_init(&out);
	md_name_format(&out, p, a.base_len, &a.info);
	if (md_name_parse(out.data, out.len, &b) < 0 || b.base_len != a.base_len ||
	    memcmp(&b.info, &a.info, sizeof b.info) || b.size != a.size || b.vsize != a.vsize)
		abort();
	buf_free(&out);
}

/* A uidlist written from a parse parses to the same header and records. */
static void uidlist_roundtrip(const char *p, size_t n)
{
	struct md_uidlist a, b;
	struct buf out;

	if (md_uidlist_parse(p, n, &a) < 0)
		return;
	buf_init(&out);
	md_uidlist_header(&out, &a);
	for (size_t i = 0; i < a.n; i++) {
		const struct md_rec *r = &a.recs[i];
		if (md_uidlist_find(&a, r->base, r->base_len) == NULL)
			abort();
		md_uidlist_record(&out, r->uid, r->ext, r->ext_len, r->base, r->base_len);
	}
	if (md_uidlist_parse(out.data, out.len, &b) < 0 || b.validity != a.validity ||
	    b.next != a.next || b.n != a.n || strcmp(b.guid, a.guid))
		abort();
	for (size_t i = 0; i < a.n; i++)
		if (b.recs[i].uid != a.recs[i].uid || b.recs[i].base_len != a.recs[i].base_len ||
		    memcmp(b.recs[i].base, a.recs[i].base, a.recs[i].base_len))
			abort();
	md_uidlist_free(&b);
	md_uidlist_free(&a);
	buf_free(&out);
}

/* Keywords written from a parse parse to the same names. */
static void keywords_roundtrip(const char *p, size_t n)
{
	char *a[MD_LETTERS], *b[MD_LETTERS];
	struct buf out;

	unsigned na = md_keywords_parse(p, n, a);
	buf_init(&out);
	md_keywords_format(&out, a);
	if (md_keywords_parse(out.data ? out.data : "", out.len, b) != na)
		abort();
	for (int i = 0; i < MD_LETTERS; i++) {
		if (!a[i] != !b[i] || (a[i] && strcmp(a[i], b[i])))
			abort();
		free(a[i]);
		free(b[i]);
	}
	buf_free(&out);
}

/* A subscriptions file written from a parse parses to the same names. */
static void subs_roundtrip(const char *p, size_t n)
{
	char **a, **b;
	size_t na = md_subs_parse(p, n, &a), nb;
	struct buf out;

	buf_init(&out);
	md_subs_format(&out, a, na);
	nb = md_subs_parse(out.data, out.len, &b);
	if (nb != na)
		abort();
	for (size_t i = 0; i < na; i++) {
		if (strcmp(a[i], b[i]))
			abort();
		free(a[i]);
		free(b[i]);
	}
	free(a);
	free(b);
	buf_free(&out);
}

/* Every parser on the same bytes. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* a copy of exactly size bytes: ASan catches any read past the end */
	char *p = malloc(size ? size : 1);

	memcpy(p, data, size);
	name_roundtrip(p, size);
	uidlist_roundtrip(p, size);
	keywords_roundtrip(p, size);
	subs_roundtrip(p, size);
	free(p);
	return 0;
}
