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

/* The hooks mail_parameters sets and gets (SET_MAILGETS, SET_READPROGRESS,
 * SET_SSLSTART ...), typed as the classic headers type them. */
typedef long (*readfn_t)(void *stream, unsigned long size, char *buffer);
typedef char *(*mailgets_t)(readfn_t f, void *stream, unsigned long size, GETS_DATA *md);
typedef char *(*readprogress_t)(GETS_DATA *md, unsigned long octets);
typedef void *(*mailcache_t)(MAILSTREAM *stream, unsigned long msgno, long op);
typedef long (*mailproxycopy_t)(MAILSTREAM *stream, char *sequence, char *mailbox,
				long options);
typedef long (*tcptimeout_t)(long overall, long last);
typedef void (*smtpverbose_t)(char *buffer);
typedef void (*imapenvelope_t)(MAILSTREAM *stream, unsigned long msgno, ENVELOPE *env);
typedef char *(*imapreferral_t)(MAILSTREAM *stream, char *url, long code);
typedef void (*overview_t)(MAILSTREAM *stream, unsigned long uid, OVERVIEW *ov,
			   unsigned long msgno);
typedef void (*parseline_t)(ENVELOPE *env, char *hdr, char *data, char *host);
typedef ADDRESS *(*parsephrase_t)(char *phrase, char *end, char *host);
typedef void *(*blocknotify_t)(int reason, void *data);
typedef long (*kinit_t)(char *host, char *reason);
typedef void (*sendcommand_t)(MAILSTREAM *stream, char *cmd, long flags);
typedef char *(*newsrcquery_t)(MAILSTREAM *stream, char *mulname, char *name);
typedef void (*getacl_t)(MAILSTREAM *stream, char *mailbox, ACLLIST *acl);
typedef void (*listrights_t)(MAILSTREAM *stream, char *mailbox, char *id, char *alwaysrights,
			     STRINGLIST *possiblerights);
typedef void (*myrights_t)(MAILSTREAM *stream, char *mailbox, char *rights);
typedef void (*quota_t)(MAILSTREAM *stream, char *qroot, QUOTALIST *qlist);
typedef void (*quotaroot_t)(MAILSTREAM *stream, char *mbx, STRINGLIST *qroot);
typedef void (*sortresults_t)(MAILSTREAM *stream, unsigned long *list, unsigned long size);
typedef char *(*userprompt_t)(void);
typedef void (*copyuid_t)(MAILSTREAM *stream, char *mailbox, unsigned long uidvalidity,
			  SEARCHSET *sourceset, SEARCHSET *destset);
typedef void (*appenduid_t)(char *mailbox, unsigned long uidvalidity, SEARCHSET *set);
typedef long (*dirfmttest_t)(char *name);
typedef long (*scancontents_t)(char *name, char *contents, unsigned long csiz,
			       unsigned long fsiz);
typedef void (*freeeltsparep_t)(void **sparep);
typedef void (*freeenvelopesparep_t)(void **sparep);
typedef void (*freebodysparep_t)(void **sparep);
typedef void (*freestreamsparep_t)(void **sparep);
typedef void *(*sslstart_t)(void *stream, char *host, unsigned long flags);
typedef long (*sslcertificatequery_t)(char *reason, char *host, char *cert);
typedef void (*sslfailure_t)(char *host, char *reason, unsigned long flags);
typedef void (*logouthook_t)(void *data);
typedef char *(*sslclientcert_t)(void);
typedef char *(*sslclientkey_t)(void);
typedef void (*getannotation_t)(MAILSTREAM *stream, ANNOTATION *annot);
typedef void (*threadresults_t)(MAILSTREAM *stream, THREADNODE *tree);
typedef void **container_t;

#endif
