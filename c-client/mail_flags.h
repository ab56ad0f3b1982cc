/* mail_flags.h: the message flags and LIST attributes as numbers, apart
 * from mail_api.h so that the classic interface (c-client/classic/, whose
 * headers may not meet mail_api.h's) shares them through its bridge. */
#ifndef CCLIENT_MAIL_FLAGS_H
#define CCLIENT_MAIL_FLAGS_H

/* System flags. MF_RECENT is session state, never stored as a flag. */
enum {
	MF_SEEN = 1 << 0,
	MF_ANSWERED = 1 << 1,
	MF_FLAGGED = 1 << 2,
	MF_DELETED = 1 << 3,
	MF_DRAFT = 1 << 4,
	MF_RECENT = 1 << 5,
};

/* Attributes for LIST. */
enum {
	LA_NOINFERIORS = 1 << 0,
	LA_NOSELECT = 1 << 1,
	LA_MARKED = 1 << 2,
	LA_UNMARKED = 1 << 3,
	LA_HASCHILDREN = 1 << 4,
	LA_HASNOCHILDREN = 1 << 5,
	/* LIST-EXTENDED (RFC 5258), listext.c */
	LA_SUBSCRIBED = 1 << 6,
	LA_NONEXISTENT = 1 << 7,
	LA_CHILD_SUBSCRIBED = 1 << 8,   /* CHILDINFO ("SUBSCRIBED"), not an attribute */
	/* SPECIAL-USE (RFC 6154), specialuse.c: in the order of MAIL_SPECIAL_N */
	LA_ARCHIVE = 1 << 9,
	LA_DRAFTS = 1 << 10,
	LA_JUNK = 1 << 11,
	LA_SENT = 1 << 12,
	LA_TRASH = 1 << 13,
};
#define LA_SPECIAL (LA_ARCHIVE | LA_DRAFTS | LA_JUNK | LA_SENT | LA_TRASH)

#endif
