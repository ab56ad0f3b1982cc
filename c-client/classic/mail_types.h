/* mail_types.h (classic): the remaining structures of the classic mail.h
 * (sort cache, overview, ACL/quota/annotation lists, namespaces, threaders,
 * the gets data and stream handle), laid out as UW's so programs that
 * allocate or walk them work on this library unchanged. */
#ifndef CLASSIC_MAIL_TYPES_H
#define CLASSIC_MAIL_TYPES_H

/* What the sorter caches per message (declared early in mail.h). */
SORTCACHE {
	unsigned int sorted : 1;
	unsigned int postsorted : 1;
	unsigned int refwd : 1;
	unsigned int dirty : 1;
	SORTPGM *pgm;
	unsigned long num;
	unsigned long date;
	unsigned long arrival;
	unsigned long size;
	char *from;
	char *to;
	char *cc;
	char *subject;
	char *message_id;
	char *unique;
	STRINGLIST *references;
};

#define ACLLIST struct acl_list
ACLLIST {
	char *identifier;
	char *rights;
	ACLLIST *next;
};

#define ANNOTATION_VALUES struct annotation_value_list
ANNOTATION_VALUES {
	char *attr;
	char *value;
	ANNOTATION_VALUES *next;
};

#define ANNOTATION struct annotation
ANNOTATION {
	char *mbox;
	char *entry;
	ANNOTATION_VALUES *values;
};

#define QUOTALIST struct quota_list
QUOTALIST {
	char *name;
	unsigned long usage;
	unsigned long limit;
	QUOTALIST *next;
};

/* A handle that notices the stream was reused (sequence changed). */
typedef struct mail_stream_handle {
	MAILSTREAM *stream;
	unsigned short sequence;
} MAILHANDLE;

/* One message's overview, as mail_fetch_overview's callback gets it. */
typedef struct mail_overview {
	char *subject;
	ADDRESS *from;
	char *date;
	char *message_id;
	char *references;
	struct {
		unsigned long octets;
		unsigned long lines;
		char *xref;
	} optional;
} OVERVIEW;

typedef struct getsdata {
	MAILSTREAM *stream;
	unsigned long msgno;
	char *what;
	STRINGLIST *stl;
	unsigned long first;
	unsigned long last;
	long flags;
} GETS_DATA;

typedef unsigned long *(*sorter_t)(MAILSTREAM *stream, char *charset, SEARCHPGM *spg,
				   SORTPGM *pgm, long flags);

#define THREADER struct threader_list
THREADER {
	char *name;
	THREADNODE *(*dispatch)(MAILSTREAM *stream, char *charset, SEARCHPGM *spg, long flags,
				sorter_t sorter);
	THREADER *next;
};

#define NAMESPACE struct mail_namespace
NAMESPACE {
	char *name;
	int delimiter;
	PARAMETER *param;
	NAMESPACE *next;
};

#endif
