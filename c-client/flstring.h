/* flstring.h (classic): STRINGs read from a stdio FILE (INIT's data). */
#ifndef CLASSIC_FLSTRING_H
#define CLASSIC_FLSTRING_H
extern STRINGDRIVER file_string;
#endif
