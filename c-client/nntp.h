/* nntp.h (classic): posting news as c-client 2007 programs do
 * (nntp_open, nntp_mail, nntp_close) over the same SENDSTREAM as smtp.h;
 * the library's NNTP client does the work. Include mail.h and smtp.h first. */
#ifndef CLASSIC_NNTP_H
#define CLASSIC_NNTP_H

#define NNTPTCPPORT (long)119

/* nntp_open options */
#define NOP_DEBUG (long)0x1
#define NOP_READONLY (long)0x2
#define NOP_TRYSSL (long)0x4
#define NOP_RESERVED (unsigned long)0xff000000

#define nntp_open(hostlist, options) nntp_open_full(NIL, hostlist, "nntp", NIL, options)

SENDSTREAM *nntp_open_full(NETDRIVER *dv, char **hostlist, char *service, unsigned long port,
			   long options);
SENDSTREAM *nntp_close(SENDSTREAM *stream);
long nntp_mail(SENDSTREAM *stream, ENVELOPE *msg, BODY *body);

#endif
