/* sendstream.c: the size and field offsets of SENDSTREAM and NETSTREAM,
 * built by tests/test_classic_smtp.py against our headers and Debian's:
 * a program built for one runs on the other only if they agree. */
#include <stddef.h>
#include <stdio.h>
#include "c-client.h"

int main(void)
{
	printf("SENDSTREAM %zu: host %zu reply %zu replycode %zu protocol %zu envid %zu "
	       "size.limit %zu deliverby.minby %zu atrn.domains %zu\n",
	       sizeof(SENDSTREAM), offsetof(SENDSTREAM, host), offsetof(SENDSTREAM, reply),
	       offsetof(SENDSTREAM, replycode), offsetof(SENDSTREAM, protocol),
	       offsetof(SENDSTREAM, protocol.esmtp.dsn.envid),
	       offsetof(SENDSTREAM, protocol.esmtp.size.limit),
	       offsetof(SENDSTREAM, protocol.esmtp.deliverby.minby),
	       offsetof(SENDSTREAM, protocol.esmtp.atrn.domains));
	printf("NETSTREAM %zu: dtb %zu; NETDRIVER %zu\n", sizeof(NETSTREAM),
	       offsetof(NETSTREAM, dtb), sizeof(NETDRIVER));
	return 0;
}
