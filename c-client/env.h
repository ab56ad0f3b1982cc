/* env.h (classic): the process environment the library works in. */
#ifndef CLASSIC_ENV_H
#define CLASSIC_ENV_H
/* Name the user and home; the library takes both from the password
 * database for the process's user, so this only says whether that works. */
long env_init(char *user, char *home);
char *myusername_full(unsigned long *flags);
#define myusername() myusername_full(NIL)
char *myhomedir(void);
/* The current time as an RFC 5322 date. */
void rfc822_date(char *date);
#endif
