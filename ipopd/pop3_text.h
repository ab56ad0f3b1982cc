/* pop3_text.h: a message as a POP3 multi-line response (RFC 1939 3):
 * CRLF line ends, a '.' doubled at the start of a line, the ".\r\n"
 * terminator; for TOP only the header and the first lines of the body. */
#ifndef IPOPD_POP3_TEXT_H
#define IPOPD_POP3_TEXT_H

#include <stddef.h>

/* Where the bytes go (the connection; a buffer in the unit test). */
typedef void pop3_sink(void *ctx, const char *p, size_t n);

/* Send text[0..len) dot-stuffed, then ".\r\n". body_lines < 0: the whole
 * message; else the header, the empty line and that many body lines. */
void pop3_send_text(pop3_sink *sink, void *ctx, const char *text, size_t len,
		    long long body_lines);

#endif
