/* cl_int.h: what the classic interface's files share. A classic stream's
 * `local` is a struct cl_local holding the native mailbox (through
 * bridge.h) and the texts last handed to the program. */
#ifndef CLASSIC_CL_INT_H
#define CLASSIC_CL_INT_H

#include <stdint.h>
#include <time.h>

#include "c-client.h"
#include "bridge.h"

struct cl_local {
	struct clb_box *box;
	char *header, *text;      /* copies the program may hold at once */
	unsigned long header_len, text_len;
};

/* The native mailbox behind an open stream, or NULL (closed, half-open). */
struct clb_box *cl_box(MAILSTREAM *stream);
/* Report a failure of what (with the native reason) through mm_log. */
void cl_error(const char *what, const char *name, const char *reason);
/* The driver object for a native driver name. */
DRIVER *cl_driver_for(const char *native);
/* Mark elt->sequence on the messages of sequence (numbers, or UIDs when
 * uid is set); 0 with an mm_log error when it does not parse. */
long cl_sequence(MAILSTREAM *stream, char *sequence, int uid);
/* Flags and keyword names of a classic flag list ("(\Seen foo)"); keyword
 * names go to *kw (malloc'd, NULL-terminated), 0 on a bad system flag. */
int cl_flag_list(const char *list, uint32_t *flags, char ***kw);
void cl_free_names(char **names);
/* mail_parameters() for everything but the driver list (cl_params.c). */
void *cl_params(long function, void *value);
/* Free what an elt holds (its envelope and body), before the elt goes. */
void cl_elt_free(MESSAGECACHE *elt);
/* An elt's internal date as seconds since the epoch and its zone. */
time_t cl_elt_time(const MESSAGECACHE *elt, int *tz_minutes);
/* Fill an elt's date fields from seconds since the epoch and a zone. */
void cl_elt_set_time(MESSAGECACHE *elt, time_t when, int tz_minutes);
/* A message written from the program's ENVELOPE and BODY as smtp_mail and
 * nntp_mail send it (fs_get memory, *len bytes). */
char *cl_message_text(ENVELOPE *env, BODY *body, size_t *len);
/* Free a SENDSTREAM (its netstream, host and reply), its connection gone. */
/* A sending stream over conn (the library's connection) to the host that
 * spec ("host[:port][/flags]") names. */
SENDSTREAM *cl_sendstream_new(void *conn, const char *spec, int debug);
void cl_sendstream_free(SENDSTREAM *stream);

#endif
