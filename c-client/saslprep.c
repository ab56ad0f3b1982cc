/* saslprep.c: SASLprep of the strings a SASL client sends, over libidn's
 * stringprep "SASLprep" profile; its refusal becomes an error value that
 * names the string, not what it holds (it may be a password). */
#include "saslprep.h"

#include <stdlib.h>
#include <string.h>
#include <stringprep.h>

#include "util.h"

int saslprep(const char *in, int stored, const char *what, char **out, struct mail_err *err)
{
	char *prep = NULL;
	int rc = stringprep_profile(in, &prep, "SASLprep", stored ? STRINGPREP_NO_UNASSIGNED : 0);

	if (rc == STRINGPREP_OK) {
		*out = prep;
		return 0;
	}
	free(prep);
	*out = NULL;
	if (rc == STRINGPREP_ICONV_ERROR) {
		*out = xstrdup(in);
		return 0;
	}
	mail_err_set(err, MAIL_FAIL, "the %s is refused by SASLprep (RFC 4013): %s; nothing sent",
		     what, stringprep_strerror((Stringprep_rc)rc));
	return -1;
}
