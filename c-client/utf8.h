/* utf8.h (classic): character set helpers of the classic interface. */
#ifndef CLASSIC_UTF8_H
#define CLASSIC_UTF8_H
/* Decode RFC 2047 encoded words to UTF-8 (dst is src when none). */
long utf8_mime2text(SIZEDTEXT *src, SIZEDTEXT *dst, long flags);
#endif
