/* mime_cte.c: content transfer decoding for BINARY (RFC 3516): which
 * encodings a part may carry, and a section's octets decoded. Base64 and
 * quoted-printable are decoded as RFC 2045 asks of a reader (characters
 * outside the alphabet skipped, broken escapes kept); only an encoding
 * nobody defined is refused. */
#include "rfc822_int.h"

#include <string.h>

enum mime_cte mime_cte_of(const char *encoding)
{
	static const struct {
		const char *name;
		enum mime_cte cte;
	} known[] = {
		{"7BIT", MIME_CTE_IDENTITY},
		{"8BIT", MIME_CTE_IDENTITY},
		{"BINARY", MIME_CTE_IDENTITY},
		{"BASE64", MIME_CTE_BASE64},
		{"QUOTED-PRINTABLE", MIME_CTE_QP},
	};

	if (!encoding)
		return MIME_CTE_IDENTITY;
	for (size_t i = 0; i < ARRAY_SIZE(known); i++)
		if (!strcmp(encoding, known[i].name))
			return known[i].cte;
	return MIME_CTE_UNKNOWN;
}

int mime_cte_decode(enum mime_cte cte, const char *p, size_t n, struct buf *out)
{
	switch (cte) {
	case MIME_CTE_IDENTITY:
		buf_append(out, p, n);
		return 0;
	case MIME_CTE_BASE64:
		base64_decode(p, n, out);
		return 0;
	case MIME_CTE_QP:
		qp_decode(p, n, 0, out);
		return 0;
	default:
		return -1;
	}
}

/* The encoding the section's octets carry: a leaf part's own; the whole
 * message, a multipart or an encapsulated message is sent as it is. */
static enum mime_cte section_cte(const struct body *b, const struct section *sec)
{
	if (!sec->nparts || b->parts || !strcmp(b->type, "MULTIPART") || b->msg_body)
		return MIME_CTE_IDENTITY;
	return mime_cte_of(b->encoding);
}

int mime_binary_check(const struct body *root, const struct section *sec)
{
	const struct body *b = mime_section_part(root, sec);

	return b && section_cte(b, sec) == MIME_CTE_UNKNOWN ? -1 : 0;
}

int mime_binary_section(const char *msg, size_t len, const struct body *root,
			const struct section *sec, const char **p, size_t *n, struct buf *scratch)
{
	const struct body *b = mime_section_part(root, sec);
	const char *raw;
	size_t rawn;
	int rc = mime_section(msg, len, root, sec, &raw, &rawn, scratch);

	*p = raw;
	*n = rawn;
	if (rc || !b)
		return rc ? rc : 1;
	enum mime_cte cte = section_cte(b, sec);
	if (cte == MIME_CTE_IDENTITY)
		return 0;
	buf_reset(scratch);
	if (mime_cte_decode(cte, raw, rawn, scratch) < 0)
		return -1;
	*p = scratch->data ? scratch->data : "";
	*n = scratch->len;
	return 0;
}
