/* smtp.h (classic): sending mail as c-client 2007 programs do (smtp_open,
 * smtp_mail, smtp_close), with Debian's SENDSTREAM layout; the library's
 * own SMTP client does the work. Include mail.h first. */
#ifndef CLASSIC_SMTP_H
#define CLASSIC_SMTP_H

#define SMTPTCPPORT (long)25
#define SUBMITTCPPORT (long)587

/* smtp_open options; SOP_DEBUG is 1 for the old callers that passed a flag */
#define SOP_DEBUG (long)1
#define SOP_DSN (long)2
#define SOP_DSN_NOTIFY_FAILURE (long)4
#define SOP_DSN_NOTIFY_DELAY (long)8
#define SOP_DSN_NOTIFY_SUCCESS (long)16
#define SOP_DSN_RETURN_FULL (long)32
#define SOP_8BITMIME (long)64
#define SOP_SECURE (long)256
#define SOP_TRYSSL (long)512
#define SOP_TRYALT SOP_TRYSSL
#define SOP_RESERVED (unsigned long)0xff000000

/* Reply codes the library itself gives when no server reply applies. */
#define SMTPSOFTFATAL (long)421
#define SMTPWANTAUTH (long)505
#define SMTPWANTAUTH2 (long)530
#define SMTPUNAVAIL (long)550
#define SMTPHARDERROR (long)554

#ifndef MAXAUTHENTICATORS
#define MAXAUTHENTICATORS 8
#endif

#ifndef NETDRIVER
#define NETDRIVER struct net_driver
/* A transport's calls (tcp_*, ssl_*); programs pass NIL for the default. */
NETDRIVER {
	void *(*open)(char *host, char *service, unsigned long port);
	void *(*aopen)(NETMBX *mb, char *service, char *usrbuf);
	char *(*getline)(void *stream);
	long (*getbuffer)(void *stream, unsigned long size, char *buffer);
	long (*soutr)(void *stream, char *string);
	long (*sout)(void *stream, char *string, unsigned long size);
	void (*close)(void *stream);
	char *(*host)(void *stream);
	char *(*remotehost)(void *stream);
	unsigned long (*port)(void *stream);
	char *(*localhost)(void *stream);
};

typedef struct net_stream {
	void *stream;
	NETDRIVER *dtb;
} NETSTREAM;
#endif

/* A sending connection: only host, reply, replycode and debug mean
 * anything here (netstream->stream is the library's connection); the
 * rest keeps the classic size and offsets. */
typedef struct send_stream {
	NETSTREAM *netstream;
	char *host;
	char *reply;
	long replycode;
	unsigned int debug : 1;
	unsigned int sensitive : 1;
	unsigned int loser : 1;
	unsigned int saslcancel : 1;
	union {
		struct {
			unsigned int ok : 1;
			struct {
				unsigned int send : 1, soml : 1, saml : 1, expn : 1, help : 1,
					turn : 1, etrn : 1, starttls : 1, relay : 1, pipe : 1,
					ensc : 1, bmime : 1, chunk : 1;
			} service;
			struct {
				unsigned int ok : 1, want : 1;
			} eightbit;
			struct {
				unsigned int ok : 1, want : 1;
				struct {
					unsigned int failure : 1, delay : 1, success : 1;
				} notify;
				unsigned int full : 1;
				char *envid;
			} dsn;
			struct {
				unsigned int ok : 1;
				unsigned long limit;
			} size;
			struct {
				unsigned int ok : 1;
				unsigned long minby;
			} deliverby;
			struct {
				unsigned int ok : 1;
				char *domains;
			} atrn;
			unsigned int auth : MAXAUTHENTICATORS;
		} esmtp;
		struct {
			unsigned int post : 1;
			struct {
				unsigned int ok : 1, listgroup : 1, over : 1, hdr : 1, pat : 1,
					starttls : 1, multidomain : 1, authuser : 1;
				unsigned int sasl : MAXAUTHENTICATORS;
			} ext;
		} nntp;
	} protocol;
} SENDSTREAM;

#define smtp_open(hostlist, options) smtp_open_full(NIL, hostlist, "smtp", NIL, options)

void *smtp_parameters(long function, void *value);
SENDSTREAM *smtp_open_full(NETDRIVER *dv, char **hostlist, char *service, unsigned long port,
			   long options);
SENDSTREAM *smtp_close(SENDSTREAM *stream);
long smtp_mail(SENDSTREAM *stream, char *type, ENVELOPE *msg, BODY *body);
long smtp_verbose(SENDSTREAM *stream);

#endif
