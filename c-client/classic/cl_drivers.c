/* cl_drivers.c: the classic driver and authenticator objects, which
 * classic programs link by name. Each keeps its classic name and flags; a
 * stream's dtb names the format that serves it. The entries whose shape is
 * a mail_* call's point at it, so a program calling through dtb works. */
#include <string.h>

#include "cl_int.h"

/* The entries every format shares (local and IMAP). */
#define LOCAL_CALLS                                                                        \
	.list = mail_list, .lsub = mail_lsub, .subscribe = mail_subscribe,                 \
	.unsubscribe = mail_unsubscribe, .create = mail_create, .mbxdel = mail_delete,     \
	.mbxren = mail_rename, .status = mail_status, .fast = mail_fetch_fast,             \
	.msgflags = mail_fetch_flags, .uid = mail_uid, .msgno = mail_msgno,                \
	.flag = mail_flag, .search = mail_search_full, .ping = mail_ping,                  \
	.check = mail_check, .expunge = mail_expunge_full, .copy = mail_copy_full,         \
	.append = mail_append_multiple, .gc = mail_gc

#define LOCAL (DR_LOCAL | DR_MAIL)

DRIVER unixdriver = {.name = "unix", .flags = LOCAL | DR_LOCKING | DR_NONEWMAILRONLY, LOCAL_CALLS};
DRIVER mboxdriver = {.name = "mbox", .flags = LOCAL | DR_LOCKING | DR_NONEWMAILRONLY, LOCAL_CALLS};
DRIVER mmdfdriver = {.name = "mmdf", .flags = LOCAL | DR_LOCKING | DR_NONEWMAILRONLY, LOCAL_CALLS};
DRIVER mbxdriver = {.name = "mbx", .flags = LOCAL | DR_LOCKING | DR_CRLF, LOCAL_CALLS};
DRIVER mixdriver = {.name = "mix", .flags = LOCAL | DR_LOCKING | DR_CRLF | DR_DIRFMT, LOCAL_CALLS};
DRIVER mhdriver = {.name = "mh", .flags = LOCAL | DR_NOFAST | DR_DIRFMT, LOCAL_CALLS};
DRIVER mxdriver = {.name = "mx", .flags = LOCAL | DR_CRLF | DR_DIRFMT, LOCAL_CALLS};
DRIVER tenexdriver = {.name = "tenex", .flags = LOCAL | DR_LOCKING, LOCAL_CALLS};
DRIVER mtxdriver = {.name = "mtx", .flags = LOCAL | DR_LOCKING | DR_CRLF, LOCAL_CALLS};
DRIVER newsdriver = {.name = "news", .flags = DR_LOCAL | DR_NEWS | DR_READONLY, LOCAL_CALLS};
DRIVER philedriver = {.name = "phile", .flags = LOCAL | DR_READONLY, LOCAL_CALLS};
DRIVER dummydriver = {.name = "dummy", .flags = DR_LOCAL | DR_MAIL, LOCAL_CALLS};
/* This library's own formats, which the classic one did not have. */
static DRIVER maildirdriver = {.name = "maildir", .flags = LOCAL | DR_DIRFMT, LOCAL_CALLS};
/* Network formats, each through the library's client driver. */
DRIVER imapdriver = {.name = "imap", .flags = DR_MAIL | DR_NEWS | DR_NAMESPACE | DR_HALFOPEN,
		     LOCAL_CALLS};
DRIVER nntpdriver = {.name = "nntp", .flags = DR_NEWS | DR_READONLY | DR_HALFOPEN, LOCAL_CALLS};
DRIVER pop3driver = {.name = "pop3", .flags = DR_MAIL | DR_NOFAST, LOCAL_CALLS};

AUTHENTICATOR auth_gss = {.name = "GSSAPI"};
AUTHENTICATOR auth_ext = {.name = "EXTERNAL"};
AUTHENTICATOR auth_md5 = {.name = "CRAM-MD5"};
AUTHENTICATOR auth_pla = {.name = "PLAIN"};
AUTHENTICATOR auth_log = {.name = "LOGIN"};

DRIVER *cl_driver_for(const char *native)
{
	static DRIVER *const local[] = {&unixdriver, &mmdfdriver, &mbxdriver, &mixdriver,
					&mhdriver, &maildirdriver, &imapdriver,
					&pop3driver, &nntpdriver};

	for (size_t i = 0; i < sizeof(local) / sizeof(local[0]); i++)
		if (!strcmp(local[i]->name, native))
			return local[i];
	return &dummydriver;
}
