/* rfc822.h (classic): address helpers of the classic interface. */
#ifndef CLASSIC_RFC822_H
#define CLASSIC_RFC822_H
/* Append adr's address (mailbox@host, quoted where needed) to dest. */
void rfc822_address(char *dest, ADDRESS *adr);
#endif
