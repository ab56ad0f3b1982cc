/* c-client.h (classic): what a classic c-client program includes. */
#ifndef __CCLIENT_H
#define __CCLIENT_H
#ifdef __cplusplus
extern "C" {
#define private cclientPrivate
#endif
#include "mail.h"
#include "osdep.h"
#include "rfc822.h"
#include "flstring.h"
#include "utf8.h"
#include "misc.h"
#include "smtp.h"
#include "nntp.h"
#ifdef __cplusplus
#undef private
}
#endif
#endif
