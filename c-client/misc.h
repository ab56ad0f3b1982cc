/* misc.h (classic): the small string helpers classic programs call. */
#ifndef CLASSIC_MISC_H
#define CLASSIC_MISC_H
/* The classic hash table, one entry a name and its data. */
#define HASHENT struct hash_entry
HASHENT {
	HASHENT *next;
	char *name;
	void *data[1];
};

#define HASHTAB struct hash_table
HASHTAB {
	size_t size;
	HASHENT *table[1];
};

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
