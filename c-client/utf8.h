/* utf8.h (classic): character set helpers of the classic interface. */
#ifndef CLASSIC_UTF8_H
#define CLASSIC_UTF8_H
/* A script (a group of character sets) by name. */
typedef struct utf8_scent {
	char *name;
	char *description;
	unsigned long script;
} SCRIPT;

/* A character set's entry in the classic charset table. */
typedef struct utf8_csent {
	char *name;
	unsigned short type;
	unsigned short flags;
	void *tab;
	unsigned long script;
	char *preferred;
} CHARSET;

/* The row/column bounds of an EUC table. */
struct utf8_eucparam {
	unsigned int base_ku : 8;
	unsigned int base_ten : 8;
	unsigned int max_ku : 8;
	unsigned int max_ten : 8;
	void *tab;
};

/* A case mapping (cv) and a decomposition (de, more for the rest) of a
 * UCS-4 character, as utf8_text's converters take them. */
typedef unsigned long (*ucs4cn_t)(unsigned long c);
typedef unsigned long (*ucs4de_t)(unsigned long c, void **more);

/* Decode RFC 2047 encoded words to UTF-8 (dst is src when none). */
long utf8_mime2text(SIZEDTEXT *src, SIZEDTEXT *dst, long flags);
#endif
