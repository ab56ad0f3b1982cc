/* tcp.h (classic): the TCP calls of c-client 2007 that programs use for
 * their own connections (tcp_open, tcp_getline, tcp_sout ...) and the
 * server's view of its client (tcp_clientaddr ...). A TCPSTREAM is opaque;
 * include mail.h first. rsh/ssh pre-authentication (tcp_aopen) is never
 * tried: it always answers NIL. */
#ifndef CLASSIC_TCP_H
#define CLASSIC_TCP_H

#ifndef TCPSTREAM
#define TCPSTREAM void
#endif

void *tcp_parameters(long function, void *value);
TCPSTREAM *tcp_open(char *host, char *service, unsigned long port);
TCPSTREAM *tcp_aopen(NETMBX *mb, char *service, char *usrbuf);
char *tcp_getline(TCPSTREAM *stream);
long tcp_getbuffer(TCPSTREAM *stream, unsigned long size, char *buffer);
long tcp_getdata(TCPSTREAM *stream);
long tcp_soutr(TCPSTREAM *stream, char *string);
long tcp_sout(TCPSTREAM *stream, char *string, unsigned long size);
void tcp_close(TCPSTREAM *stream);
char *tcp_host(TCPSTREAM *stream);
char *tcp_remotehost(TCPSTREAM *stream);
unsigned long tcp_port(TCPSTREAM *stream);
char *tcp_localhost(TCPSTREAM *stream);
char *tcp_clientaddr(void);
char *tcp_clienthost(void);
long tcp_clientport(void);
char *tcp_serveraddr(void);
char *tcp_serverhost(void);
long tcp_serverport(void);
char *tcp_canonical(char *name);
long tcp_isclienthost(char *host);

#endif
