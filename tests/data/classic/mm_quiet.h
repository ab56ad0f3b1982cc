/* mm_quiet.h: the mm_ callbacks a classic program must define but the test
 * programs have nothing to do in (include it after c-client.h); each
 * program defines mm_log, mm_login, mm_status and mm_fatal its own way. */
void mm_searched(MAILSTREAM *stream, unsigned long number) {}
void mm_exists(MAILSTREAM *stream, unsigned long number) {}
void mm_expunged(MAILSTREAM *stream, unsigned long number) {}
void mm_flags(MAILSTREAM *stream, unsigned long number) {}
void mm_notify(MAILSTREAM *stream, char *string, long errflg) {}
void mm_list(MAILSTREAM *stream, int delimiter, char *name, long attributes) {}
void mm_lsub(MAILSTREAM *stream, int delimiter, char *name, long attributes) {}
#ifndef MM_QUIET_OWN_DLOG   /* a program that shows the /debug trace defines it */
void mm_dlog(char *string) {}
#endif
void mm_critical(MAILSTREAM *stream) {}
void mm_nocritical(MAILSTREAM *stream) {}
long mm_diskerror(MAILSTREAM *stream, long errcode, long serious) { return NIL; }
