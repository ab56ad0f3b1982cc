/* server.h: what an inetd-launched daemon learns about its connection:
 * the peer's address, the local address and port, the port's service name. */
#ifndef CCLIENT_SERVER_H
#define CCLIENT_SERVER_H

struct server_conn {
	char peer_host[256];   /* reverse name if known, else the address */
	char peer_addr[64];    /* numeric address, "" when stdin is not a socket */
	char local_addr[64];
	int local_port;        /* 0 when stdin is not a socket */
	char service[32];      /* /etc/services name of local_port, or "" */
};

/* Fill conn from fd (0 under inetd). Never fails: a pipe gives "local". */
void server_conn_init(struct server_conn *conn, int fd);

#endif
