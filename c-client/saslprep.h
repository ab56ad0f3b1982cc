/* saslprep.h: SASLprep (RFC 4013), the preparation of user names and
 * passwords that SCRAM (RFC 5802) requires and PLAIN (RFC 4616) asks for,
 * done by libidn's stringprep so the tables are Unicode's, not ours. */
#ifndef CCLIENT_SASLPREP_H
#define CCLIENT_SASLPREP_H

#include "mail_api.h"

/* The prepared form of the NUL-ended in (what) into *out (malloc'd):
 * stored asks for a stored string (unassigned code points refused, RFC
 * 3454 7), else a query. Bytes that are not UTF-8 come back as they are:
 * a legacy program's Latin-1 password still reaches a server that
 * compares bytes. 0, or -1 with err naming what (never its text). */
int saslprep(const char *in, int stored, const char *what, char **out, struct mail_err *err);

#endif
