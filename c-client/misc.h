/* misc.h (classic): the small string helpers classic programs call. */
#ifndef CLASSIC_MISC_H
#define CLASSIC_MISC_H
unsigned char *ucase(unsigned char *string);
unsigned char *lcase(unsigned char *string);
char *cpystr(const char *string);
char *cpytxt(SIZEDTEXT *dst, char *text, unsigned long size);
unsigned long find_rightmost_bit(unsigned long *valptr);
/* the classic library exports these as Min and Max */
#undef min
#undef max
#define min Min
#define max Max
long min(long i, long j);
long max(long i, long j);
#endif
