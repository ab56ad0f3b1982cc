/* mutf7.h: mailbox names in modified UTF-7 (RFC 3501 5.1.3), the form
 * IMAP4rev1 clients send and the form kept on disk (as Dovecot keeps
 * Maildir++ folder names), and their UTF-8 form (UTF8=ACCEPT, RFC 6855). */
#ifndef CCLIENT_MUTF7_H
#define CCLIENT_MUTF7_H

#include <stddef.h>

/* Is s (len bytes) modified UTF-7 as RFC 3501 fixes it: printable ASCII,
 * "&-" for "&", base64 runs of UTF-16 that is well formed and holds no
 * printable ASCII, ended by "-", with no stray bits? */
int mutf7_valid(const char *s, size_t len);
/* The UTF-8 form, malloc'd; NULL when s is not valid modified UTF-7. */
char *mutf7_to_utf8(const char *s, size_t len);
/* The modified UTF-7 form of UTF-8 text, malloc'd; NULL when s is not
 * well-formed UTF-8 (overlong forms, surrogates and NUL refused). */
char *mutf7_from_utf8(const char *s, size_t len);

#endif
