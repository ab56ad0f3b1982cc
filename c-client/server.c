/* server.c: connection facts for inetd-style daemons. The reverse lookup is
 * skipped (it can stall for seconds on a broken resolver); logs carry the
 * numeric address, which is what fail2ban needs anyway. */
#include "server.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <string.h>
#include <sys/socket.h>

#include "util.h"

static int addr_format(const struct sockaddr_storage *ss, char *out, size_t len, int *port)
{
	if (ss->ss_family == AF_INET) {
		const struct sockaddr_in *s4 = (const void *)ss;
		inet_ntop(AF_INET, &s4->sin_addr, out, (socklen_t)len);
		*port = ntohs(s4->sin_port);
		return 0;
	}
	if (ss->ss_family == AF_INET6) {
		const struct sockaddr_in6 *s6 = (const void *)ss;
		/* show v4-mapped peers as plain IPv4 */
		if (IN6_IS_ADDR_V4MAPPED(&s6->sin6_addr))
			inet_ntop(AF_INET, &s6->sin6_addr.s6_addr[12], out, (socklen_t)len);
		else
			inet_ntop(AF_INET6, &s6->sin6_addr, out, (socklen_t)len);
		*port = ntohs(s6->sin6_port);
		return 0;
	}
	return -1;
}

void server_conn_init(struct server_conn *conn, int fd)
{
	struct sockaddr_storage ss;
	socklen_t sl = sizeof ss;
	int port = 0;

	memset(conn, 0, sizeof *conn);
	str_copy(conn->peer_host, "local", sizeof conn->peer_host);
	if (getpeername(fd, (struct sockaddr *)&ss, &sl) == 0 &&
	    addr_format(&ss, conn->peer_addr, sizeof conn->peer_addr, &port) == 0) {
		str_copy(conn->peer_host, conn->peer_addr, sizeof conn->peer_host);
		/* Responses leave in whole buffers, flushed once per command: with
		 * Nagle on, the tail of a long one waits for the client's delayed
		 * ACK (40 ms on Linux) before it may go. */
		int on = 1;
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof on);
	}
	sl = sizeof ss;
	if (getsockname(fd, (struct sockaddr *)&ss, &sl) == 0 &&
	    addr_format(&ss, conn->local_addr, sizeof conn->local_addr, &port) == 0) {
		struct servent *se = getservbyport(htons((uint16_t)port), "tcp");
		conn->local_port = port;
		if (se)
			str_copy(conn->service, se->s_name, sizeof conn->service);
	}
}
