/* privsep_int.h: what privsep.c (the login and session processes) and
 * privsep_url.c (another user's URLAUTH URL, fetched by a worker that P
 * starts as the URL's owner) share inside the library. */
#ifndef CCLIENT_PRIVSEP_INT_H
#define CCLIENT_PRIVSEP_INT_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "config.h"

#define PS_MAGIC PRIVSEP_MAGIC

/* P to C or S: a verdict, with a descriptor when one is passed. */
struct ps_reply {
	uint32_t magic;
	uint32_t status;
	uint32_t failures;
};

/* Send a on the SEQPACKET sock with fd attached (SCM_RIGHTS); 0 or -1. */
int ps_send_fd(int sock, const struct ps_reply *a, int fd);
/* Receive one reply with status want and its descriptor (close-on-exec):
 * the descriptor, or -1 for anything else. */
int ps_recv_fd(int sock, uint32_t want);
/* One request field: within max, NUL-free, NUL-terminated. */
int ps_field_ok(const char *f, uint16_t len, size_t max);
/* S, at its start: its URL request channel to P. */
void ps_url_set_channel(int fd);
/* No capability can come back, even through a setuid program. */
void ps_drop_bounding_set(void);

/* P during a session: S's request channel sctl is readable. Reads one
 * request and, when it passes P's checks, starts the worker (its pid in
 * *worker) and hands S the result channel. requester is the name P logged
 * in. 0 when S may go on asking, -1 when S's channel is finished. */
int ps_url_serve(int sctl, const struct config *cfg, const char *requester, pid_t *worker,
		 char owner[]);

/* P: the worker for owner ended with status (or was killed): one log line. */
void ps_url_log(const char *requester, const char *owner, int status, int timed_out);

/* Built with -DPRIVSEP_TEST_HOOKS: S's XURLFLOOD (privsep_url.c). */
void ps_url_test_hook(const char *line, size_t len);

#endif
