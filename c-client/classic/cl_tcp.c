/* cl_tcp.c: the classic TCP calls (tcp.h) for programs that speak their
 * own protocol: a connection made by the library's resolver and connect
 * (every address, bounded by the open timeout), read through a buffer with
 * the read timeout, and the peer and local names of a server's stdin. */
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

struct cl_tcp;
#define TCPSTREAM struct cl_tcp
#include "cl_int.h"
#include "tcp.h"

struct cl_tcp {
	int fd;
	unsigned long port;
	char *host, *remotehost, *localhost;
	size_t pos, len;
	char buf[16384];
};

void *tcp_parameters(long function, void *value)
{
	return cl_params(function, value);
}

/* A timeout parameter in seconds (0: none). */
static long seconds_of(long get)
{
	return (long)cl_params(get, NIL);
}

/* The numeric address of a socket's end (peer or local) as text. */
static int sock_addr(int fd, int peer, char *out, size_t size, long *port)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof ss;

	if ((peer ? getpeername(fd, (struct sockaddr *)&ss, &len) :
		    getsockname(fd, (struct sockaddr *)&ss, &len)) < 0 ||
	    (ss.ss_family != AF_INET && ss.ss_family != AF_INET6))
		return -1;
	char serv[16];
	if (getnameinfo((struct sockaddr *)&ss, len, out, (socklen_t)size, serv, sizeof serv,
			NI_NUMERICHOST | NI_NUMERICSERV))
		return -1;
	if (port)
		*port = atol(serv);
	return 0;
}

/* "[address]", the classic way to name a host by its address. */
static char *bracketed(const char *addr)
{
	char *s = fs_get(strlen(addr) + 3);

	sprintf(s, "[%s]", addr);
	return s;
}

TCPSTREAM *tcp_open(char *host, char *service, unsigned long port)
{
	char err[CLB_ERRLEN], msg[MAILTMPLEN], addr[64];
	unsigned p = (unsigned)(port & 0xffff);
	struct servent *sv;

	if (!p && service && (sv = getservbyname(service, "tcp")))
		p = ntohs((unsigned short)sv->s_port);
	long timeout = port & NET_NOOPENTIMEOUT ? 0 : seconds_of(GET_OPENTIMEOUT);
	int fd = p ? clb_tcp_connect(host, p, (unsigned)timeout, err) : -1;
	if (fd < 0) {
		if (!(port & NET_SILENT)) {
			snprintf(msg, sizeof msg, "%s", p ? err : "no port for the service");
			mm_log(msg, ERROR);
		}
		return NIL;
	}
	TCPSTREAM *s = fs_get(sizeof *s);
	memset(s, 0, sizeof *s);
	s->fd = fd;
	s->port = p;
	s->host = cpystr(host);
	s->remotehost = sock_addr(fd, 1, addr, sizeof addr, NIL) ? cpystr(host) : bracketed(addr);
	s->localhost = sock_addr(fd, 0, addr, sizeof addr, NIL) ? cpystr("localhost")
								 : bracketed(addr);
	return s;
}

TCPSTREAM *tcp_aopen(NETMBX *mb, char *service, char *usrbuf)
{
	return NIL;   /* rsh and ssh are never run on the program's behalf */
}

long tcp_getdata(TCPSTREAM *s)
{
	struct pollfd pfd = {s->fd, POLLIN, 0};
	long timeout = seconds_of(GET_READTIMEOUT);

	if (s->fd < 0)
		return NIL;
	if (s->pos < s->len)
		return LONGT;
	int r;
	while ((r = poll(&pfd, 1, timeout > 0 ? (int)(timeout * 1000) : -1)) < 0 && errno == EINTR)
		;
	ssize_t n = r > 0 ? read(s->fd, s->buf, sizeof s->buf) : -1;
	if (n <= 0) {
		close(s->fd);   /* closed, broken or timed out: the stream is dead */
		s->fd = -1;
		return NIL;
	}
	s->pos = 0;
	s->len = (size_t)n;
	return LONGT;
}

char *tcp_getline(TCPSTREAM *s)
{
	char *out = NIL;
	size_t have = 0;

	for (;;) {
		if (!tcp_getdata(s)) {
			if (out)
				fs_give((void **)&out);
			return NIL;
		}
		char *start = s->buf + s->pos;
		char *nl = memchr(start, '\n', s->len - s->pos);
		size_t take = nl ? (size_t)(nl - start) + 1 : s->len - s->pos;
		if (out)
			fs_resize((void **)&out, have + take + 1);
		else
			out = fs_get(have + take + 1);
		memcpy(out + have, start, take);
		have += take;
		out[have] = 0;
		s->pos += take;
		if (nl) {
			out[--have] = 0;   /* the LF, and a CR before it */
			if (have && out[have - 1] == '\r')
				out[--have] = 0;
			return out;
		}
	}
}

long tcp_getbuffer(TCPSTREAM *s, unsigned long size, char *buffer)
{
	unsigned long got = 0;

	while (got < size) {
		if (!tcp_getdata(s))
			return NIL;
		size_t take = s->len - s->pos < size - got ? s->len - s->pos : size - got;
		memcpy(buffer + got, s->buf + s->pos, take);
		s->pos += take;
		got += take;
	}
	buffer[size] = 0;
	return LONGT;
}

long tcp_sout(TCPSTREAM *s, char *string, unsigned long size)
{
	while (s->fd >= 0 && size) {
		ssize_t n = send(s->fd, string, size, MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return NIL;
		string += n;
		size -= (unsigned long)n;
	}
	return s->fd >= 0 ? LONGT : NIL;
}

long tcp_soutr(TCPSTREAM *s, char *string)
{
	return tcp_sout(s, string, strlen(string));
}

void tcp_close(TCPSTREAM *s)
{
	if (s->fd >= 0)
		close(s->fd);
	fs_give((void **)&s->host);
	fs_give((void **)&s->remotehost);
	fs_give((void **)&s->localhost);
	fs_give((void **)&s);
}

char *tcp_host(TCPSTREAM *s)
{
	return s->host;
}

char *tcp_remotehost(TCPSTREAM *s)
{
	return s->remotehost;
}

unsigned long tcp_port(TCPSTREAM *s)
{
	return s->port;
}

char *tcp_localhost(TCPSTREAM *s)
{
	return s->localhost;
}

/* One end of the server's connection on stdin: its address, bracketed
 * address and port; "UNKNOWN" when stdin is not a socket. */
static char *stdin_end(int peer, int brackets, long *port)
{
	static char addr[2][64], name[2][68];
	long p = -1;

	if (sock_addr(0, peer, addr[peer], sizeof addr[peer], &p) < 0) {
		if (port)
			*port = -1;
		return "UNKNOWN";
	}
	if (port)
		*port = p;
	snprintf(name[peer], sizeof name[peer], "[%s]", addr[peer]);
	return brackets ? name[peer] : addr[peer];
}

/* The port of one end of stdin's connection, -1 when it is not a socket. */
static long stdin_port(int peer)
{
	long port;

	stdin_end(peer, 0, &port);
	return port;
}

char *tcp_clientaddr(void)
{
	return stdin_end(1, 0, NIL);
}

char *tcp_clienthost(void)
{
	return stdin_end(1, 1, NIL);
}

long tcp_clientport(void)
{
	return stdin_port(1);
}

char *tcp_serveraddr(void)
{
	return stdin_end(0, 0, NIL);
}

char *tcp_serverhost(void)
{
	return stdin_end(0, 1, NIL);
}

long tcp_serverport(void)
{
	return stdin_port(0);
}

char *tcp_canonical(char *name)
{
	static char canon[NETMAXHOST];
	struct addrinfo hints = {.ai_flags = AI_CANONNAME, .ai_socktype = SOCK_STREAM}, *res;

	if (*name == '[' || getaddrinfo(name, NIL, &hints, &res))
		return name;   /* an address, or a name the resolver does not know */
	snprintf(canon, sizeof canon, "%s", res->ai_canonname ? res->ai_canonname : name);
	freeaddrinfo(res);
	return canon;
}

long tcp_isclienthost(char *host)
{
	return !strcasecmp(host, tcp_clienthost()) || !strcmp(host, tcp_clientaddr());
}
