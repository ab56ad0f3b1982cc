/* pop3_text.c: dot-stuffing and TOP over the canonical message text. The
 * text is walked line by line and handed to the sink in runs, so a large
 * message is never copied as a whole. */
#include "pop3_text.h"

#include <string.h>

void pop3_send_text(pop3_sink *sink, void *ctx, const char *text, size_t len,
		    long long body_lines)
{
	size_t pos = 0;
	int in_body = 0;

	while (pos < len && (body_lines < 0 || !in_body || body_lines-- > 0)) {
		const char *nl = memchr(text + pos, '\n', len - pos);
		size_t end = nl ? (size_t)(nl - text) : len;   /* the LF, or the end */
		size_t content = end > pos && text[end - 1] == '\r' ? end - 1 : end;

		if (text[pos] == '.')
			sink(ctx, ".", 1);
		sink(ctx, text + pos, content - pos);
		/* CRLF whatever the text had: a bare LF or no line end at all */
		sink(ctx, "\r\n", 2);
		if (!in_body && content == pos)
			in_body = 1;   /* the empty line ending the header */
		pos = nl ? end + 1 : len;
	}
	sink(ctx, ".\r\n", 3);
}
