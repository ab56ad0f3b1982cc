/* mail.h (classic): the programming interface of UW c-client 2007, as
 * programs written for libc-client.so.2007e see it. Every structure here
 * keeps the classic layout field for field, since those programs were
 * compiled against it; the calls are served by this project's library
 * (the cl_ files beside this one, over the native API in ../mail.h). */
#ifndef CLASSIC_MAIL_H
#define CLASSIC_MAIL_H

#include <stddef.h>

#define CCLIENTVERSION "2007f"

#define MAILTMPLEN 1024          /* the classic scratch buffer size */
#define NUSERFLAGS 30            /* keywords a stream can name */
#define BASEYEAR 1970            /* elt->year counts from here */

#define NIL 0
#define T 1
#define LONGT (long)1

#include "mail_params.h"

/* Options of tcp_open and the network opens, in the high bits of a port. */
#define NET_SILENT ((unsigned long)0x80000000)
#define NET_NOVALIDATECERT ((unsigned long)0x40000000)
#define NET_NOOPENTIMEOUT ((unsigned long)0x20000000)
#define NET_TLSCLIENT ((unsigned long)0x10000000)
#define NET_TRYSSL ((unsigned long)0x8000000)

/* Driver flags (DRIVER.flags). */
#define DR_DISABLE (long)0x1
#define DR_LOCAL (long)0x2
#define DR_MAIL (long)0x4
#define DR_NEWS (long)0x8
#define DR_READONLY (long)0x10
#define DR_NOFAST (long)0x20
#define DR_NAMESPACE (long)0x40
#define DR_LOWMEM (long)0x80
#define DR_LOCKING (long)0x100
#define DR_CRLF (long)0x200
#define DR_NOSTICKY (long)0x400
#define DR_RECYCLE (long)0x800
#define DR_XPOINT (long)0x1000
#define DR_NOINTDATE (long)0x2000
#define DR_NONEWMAIL (long)0x4000
#define DR_NONEWMAILRONLY (long)0x8000
#define DR_HALFOPEN (long)0x10000
#define DR_DIRFMT (long)0x20000
#define DR_MODSEQ (long)0x40000

/* mail_open options. */
#define OP_DEBUG (long)0x1
#define OP_READONLY (long)0x2
#define OP_ANONYMOUS (long)0x4
#define OP_SHORTCACHE (long)0x8
#define OP_SILENT (long)0x10
#define OP_PROTOTYPE (long)0x20
#define OP_HALFOPEN (long)0x40
#define OP_EXPUNGE (long)0x80
#define OP_SECURE (long)0x100
#define OP_TRYSSL (long)0x200
#define OP_MULNEWSRC (long)0x400
#define OP_NOKOD (long)0x800
#define OP_SNIFF (long)0x1000

#define CL_EXPUNGE (long)1       /* mail_close_full */

#define FT_UID (long)0x1         /* mail_fetch_* */
#define FT_PEEK (long)0x2
#define FT_NOT (long)0x4
#define FT_INTERNAL (long)0x8
#define FT_PREFETCHTEXT (long)0x20
#define FT_NOHDRS (long)0x40
#define FT_NEEDENV (long)0x80
#define FT_NEEDBODY (long)0x100

#define ST_UID (long)0x1         /* mail_flag */
#define ST_SILENT (long)0x2
#define ST_SET (long)0x4

#define EX_UID (long)0x1         /* mail_expunge_full */

#define CP_UID (long)0x1         /* mail_copy_full */
#define CP_MOVE (long)0x2

#define SE_UID (long)0x1         /* mail_search_full */
#define SE_FREE (long)0x2
#define SE_NOPREFETCH (long)0x4
#define SE_NOSERVER (long)0x10
#define SE_RETAIN (long)0x20
#define SE_NOLOCAL (long)0x200

#define SA_MESSAGES (long)0x1    /* mail_status */
#define SA_RECENT (long)0x2
#define SA_UNSEEN (long)0x4
#define SA_UIDNEXT (long)0x8
#define SA_UIDVALIDITY (long)0x10

#define GC_ELT (long)0x1         /* mail_gc */
#define GC_ENV (long)0x2
#define GC_TEXTS (long)0x4

#define WARN (long)1             /* mm_log kinds */
#define ERROR (long)2
#define PARSE (long)3
#define BYE (long)4
#define TCPDEBUG (long)5

#define LATT_NOINFERIORS (long)0x1   /* mm_list attributes */
#define LATT_NOSELECT (long)0x2
#define LATT_MARKED (long)0x4
#define LATT_UNMARKED (long)0x8
#define LATT_REFERRAL (long)0x10
#define LATT_HASCHILDREN (long)0x20
#define LATT_HASNOCHILDREN (long)0x40

#define TYPETEXT 0               /* BODY.type */
#define TYPEMULTIPART 1
#define TYPEMESSAGE 2
#define TYPEAPPLICATION 3
#define TYPEAUDIO 4
#define TYPEIMAGE 5
#define TYPEVIDEO 6
#define TYPEMODEL 7
#define TYPEOTHER 8
#define TYPEMAX 15

#define ENC7BIT 0                /* BODY.encoding */
#define ENC8BIT 1
#define ENCBINARY 2
#define ENCBASE64 3
#define ENCQUOTEDPRINTABLE 4
#define ENCOTHER 5
#define ENCMAX 10

#define SIZEDTEXT struct mail_sizedtext
SIZEDTEXT {
	unsigned char *data;
	unsigned long size;
};

#define STRINGLIST struct string_list
STRINGLIST {
	SIZEDTEXT text;
	STRINGLIST *next;
};

#define NETMAXHOST 256
#define NETMAXUSER 65
#define NETMAXMBX (MAILTMPLEN / 4)
#define NETMAXSRV 21
/* A network name taken apart ({host:port/flags}mailbox). */
typedef struct net_mailbox {
	char host[NETMAXHOST];
	char orighost[NETMAXHOST];
	char user[NETMAXUSER];
	char authuser[NETMAXUSER];
	char mailbox[NETMAXMBX];
	char service[NETMAXSRV];
	unsigned long port;
	unsigned int anoflag : 1;
	unsigned int dbgflag : 1;
	unsigned int secflag : 1;
	unsigned int sslflag : 1;
	unsigned int trysslflag : 1;
	unsigned int novalidate : 1;
	unsigned int tlsflag : 1;
	unsigned int notlsflag : 1;
	unsigned int readonlyflag : 1;
	unsigned int norsh : 1;
	unsigned int loser : 1;
	unsigned int tlssslv23 : 1;
} NETMBX;

#define ADDRESS struct mail_address
ADDRESS {
	char *personal;
	char *adl;
	char *mailbox;
	char *host;
	char *error;
	struct {
		char *type;
		char *addr;
	} orcpt;
	ADDRESS *next;
};

typedef struct mail_envelope {
	unsigned int incomplete : 1;
	unsigned int imapenvonly : 1;
	char *remail;
	ADDRESS *return_path;
	unsigned char *date;
	ADDRESS *from;
	ADDRESS *sender;
	ADDRESS *reply_to;
	char *subject;
	ADDRESS *to;
	ADDRESS *cc;
	ADDRESS *bcc;
	char *in_reply_to;
	char *message_id;
	char *newsgroups;
	char *followup_to;
	char *references;
	void *sparep;
} ENVELOPE;

#define BODY struct mail_bodystruct
#define MESSAGE struct mail_body_message
#define PARAMETER struct mail_body_parameter
#define PART struct mail_body_part
#define PARTTEXT struct mail_body_text

PARTTEXT {
	unsigned long offset;
	SIZEDTEXT text;
};

BODY {
	unsigned short type;
	unsigned short encoding;
	char *subtype;
	PARAMETER *parameter;
	char *id;
	char *description;
	struct {
		char *type;
		PARAMETER *parameter;
	} disposition;
	STRINGLIST *language;
	char *location;
	PARTTEXT mime;
	PARTTEXT contents;
	union {
		PART *part;
		MESSAGE *msg;
	} nested;
	struct {
		unsigned long lines;
		unsigned long bytes;
	} size;
	char *md5;
	void *sparep;
};

PARAMETER {
	char *attribute;
	char *value;
	PARAMETER *next;
};

PART {
	BODY body;
	PART *next;
};

MESSAGE {
	ENVELOPE *env;
	BODY *body;
	PARTTEXT full;
	STRINGLIST *lines;
	PARTTEXT header;
	PARTTEXT text;
};

/* One message's cached state: flags and internal date as bit fields. */
typedef struct message_cache {
	unsigned long msgno;
	unsigned int lockcount : 8;
	unsigned long rfc822_size;
	struct {
		unsigned long uid;
		unsigned long mod;
		PARTTEXT special;
		MESSAGE msg;
		union {
			unsigned long data;
			void *ptr;
		} spare;
		unsigned int sequence : 1;
		unsigned int dirty : 1;
		unsigned int filter : 1;
		unsigned int ghost : 1;
	} private;
	unsigned int day : 5;
	unsigned int month : 4;
	unsigned int year : 7;
	unsigned int hours : 5;
	unsigned int minutes : 6;
	unsigned int seconds : 6;
	unsigned int zoccident : 1;
	unsigned int zhours : 4;
	unsigned int zminutes : 6;
	unsigned int seen : 1;
	unsigned int deleted : 1;
	unsigned int flagged : 1;
	unsigned int answered : 1;
	unsigned int draft : 1;
	unsigned int recent : 1;
	unsigned int valid : 1;
	unsigned int searched : 1;
	unsigned int sequence : 1;
	unsigned int spare : 1;
	unsigned int spare2 : 1;
	unsigned int spare3 : 1;
	unsigned int spare4 : 1;
	unsigned int spare5 : 1;
	unsigned int spare6 : 1;
	unsigned int spare7 : 1;
	unsigned int spare8 : 1;
	void *sparep;
	unsigned long user_flags;
} MESSAGECACHE;

/* A string read through a driver, a chunk at a time (mail_string reads
 * memory). */
#define STRINGDRIVER struct string_driver
typedef struct mailstring {
	void *data;
	unsigned long data1;
	unsigned long size;
	char *chunk;
	unsigned long chunksize;
	unsigned long offset;
	char *curpos;
	unsigned long cursize;
	STRINGDRIVER *dtb;
} STRING;

STRINGDRIVER {
	void (*init)(STRING *s, void *data, unsigned long size);
	char (*next)(STRING *s);
	void (*setpos)(STRING *s, unsigned long i);
};

#define INIT(s, d, data, size) ((*((s)->dtb = &d)->init)(s, data, size))
#define SIZE(s) ((s)->size - GETPOS(s))
#define CHR(s) (*(s)->curpos)
#define SNX(s) (--(s)->cursize ? *(s)->curpos++ : (*(s)->dtb->next)(s))
#define GETPOS(s) ((s)->offset + ((s)->curpos - (s)->chunk))
#define SETPOS(s, i) (*(s)->dtb->setpos)(s, i)

#define SEARCHPGM struct search_program
#define SEARCHHEADER struct search_header
#define SEARCHSET struct search_set
#define SEARCHOR struct search_or
#define SEARCHPGMLIST struct search_pgm_list

SEARCHHEADER {
	SIZEDTEXT line;
	SIZEDTEXT text;
	SEARCHHEADER *next;
};

SEARCHSET {
	unsigned long first;
	unsigned long last;
	SEARCHSET *next;
};

SEARCHOR {
	SEARCHPGM *first;
	SEARCHPGM *second;
	SEARCHOR *next;
};

SEARCHPGMLIST {
	SEARCHPGM *pgm;
	SEARCHPGMLIST *next;
};

/* Dates in a search program are days since BASEYEAR packed as
 * ((year - BASEYEAR) << 9) + (month << 5) + day. */
SEARCHPGM {
	SEARCHSET *msgno;
	SEARCHSET *uid;
	SEARCHOR *or;
	SEARCHPGMLIST *not;
	SEARCHHEADER *header;
	STRINGLIST *bcc;
	STRINGLIST *body;
	STRINGLIST *cc;
	STRINGLIST *from;
	STRINGLIST *keyword;
	STRINGLIST *unkeyword;
	STRINGLIST *subject;
	STRINGLIST *text;
	STRINGLIST *to;
	unsigned long larger;
	unsigned long smaller;
	unsigned long older;
	unsigned long younger;
	unsigned short sentbefore;
	unsigned short senton;
	unsigned short sentsince;
	unsigned short before;
	unsigned short on;
	unsigned short since;
	unsigned int answered : 1;
	unsigned int unanswered : 1;
	unsigned int deleted : 1;
	unsigned int undeleted : 1;
	unsigned int draft : 1;
	unsigned int undraft : 1;
	unsigned int flagged : 1;
	unsigned int unflagged : 1;
	unsigned int recent : 1;
	unsigned int old : 1;
	unsigned int seen : 1;
	unsigned int unseen : 1;
	STRINGLIST *return_path;
	STRINGLIST *sender;
	STRINGLIST *reply_to;
	STRINGLIST *in_reply_to;
	STRINGLIST *message_id;
	STRINGLIST *newsgroups;
	STRINGLIST *followup_to;
	STRINGLIST *references;
};

typedef struct mbx_status {
	long flags;
	unsigned long messages;
	unsigned long recent;
	unsigned long unseen;
	unsigned long uidnext;
	unsigned long uidvalidity;
} MAILSTATUS;

typedef void (*postsort_t)(void *sc);

#define SORTDATE 0               /* SORTPGM.function */
#define SORTARRIVAL 1
#define SORTFROM 2
#define SORTSUBJECT 3
#define SORTTO 4
#define SORTCC 5
#define SORTSIZE 6

#define SORTPGM struct sort_program
SORTPGM {
	unsigned int reverse : 1;
	unsigned int abort : 1;
	short function;
	unsigned long nmsgs;
	struct {
		unsigned long cached;
		unsigned long sorted;
		unsigned long postsorted;
	} progress;
	postsort_t postsort;
	SORTPGM *next;
};

#define SORTCACHE struct sort_cache
SORTCACHE;

/* A thread: next is a node's first child, branch its next sibling. */
#define THREADNODE struct thread_node
THREADNODE {
	unsigned long num;
	SORTCACHE *sc;
	THREADNODE *branch;
	THREADNODE *next;
};

#define DRIVER struct driver

/* An open mailbox, as the program sees it. */
typedef struct mail_stream {
	DRIVER *dtb;
	void *local;
	char *mailbox;
	char *original_mailbox;
	unsigned short use;
	unsigned short sequence;
	unsigned int inbox : 1;
	unsigned int lock : 1;
	unsigned int debug : 1;
	unsigned int silent : 1;
	unsigned int rdonly : 1;
	unsigned int anonymous : 1;
	unsigned int scache : 1;
	unsigned int halfopen : 1;
	unsigned int secure : 1;
	unsigned int tryssl : 1;
	unsigned int mulnewsrc : 1;
	unsigned int perm_seen : 1;
	unsigned int perm_deleted : 1;
	unsigned int perm_flagged : 1;
	unsigned int perm_answered : 1;
	unsigned int perm_draft : 1;
	unsigned int kwd_create : 1;
	unsigned int uid_nosticky : 1;
	unsigned int unhealthy : 1;
	unsigned int nokod : 1;
	unsigned int sniff : 1;
	unsigned long perm_user_flags;
	unsigned long gensym;
	unsigned long nmsgs;
	unsigned long recent;
	unsigned long uid_validity;
	unsigned long uid_last;
	char *user_flags[NUSERFLAGS];
	unsigned long cachesize;
	MESSAGECACHE **cache;
	SORTCACHE **sc;
	unsigned long msgno;
	ENVELOPE *env;
	BODY *body;
	SIZEDTEXT text;
	struct {
		char *name;
		unsigned long time;
		long options;
	} snarf;
	struct {
		struct {
			STRINGLIST *string;
			long result;
			char *text;
		} search;
		STRING string;
	} private;
	void *sparep;
	unsigned int spare : 1;
	unsigned int spare2 : 1;
	unsigned int spare3 : 1;
	unsigned int spare4 : 1;
	unsigned int spare5 : 1;
	unsigned int spare6 : 1;
	unsigned int spare7 : 1;
	unsigned int spare8 : 1;
} MAILSTREAM;

typedef long (*append_t)(MAILSTREAM *stream, void *data, char **flags, char **date,
			 STRING **message);
typedef long (*authcheck_t)(void);
typedef void *(*authchallenge_t)(void *stream, unsigned long *len);
typedef long (*authrespond_t)(void *stream, char *s, unsigned long size);
typedef long (*authclient_t)(authchallenge_t challenger, authrespond_t responder,
			     char *service, NETMBX *mb, void *s, unsigned long *trial,
			     char *user);
typedef char *(*authresponse_t)(void *challenge, unsigned long clen, unsigned long *rlen);
typedef char *(*authserver_t)(authresponse_t responder, int argc, char *argv[]);

#define AUTHENTICATOR struct mail_authenticator
AUTHENTICATOR {
	long flags;
	char *name;
	authcheck_t valid;
	authclient_t client;
	authserver_t server;
	AUTHENTICATOR *next;
};

/* A format's dispatch table. This library keeps every classic driver
 * object (programs link them by name) with its name and flags; the calls
 * go through the mail_* functions, which the entries point at where the
 * shapes agree. */
DRIVER {
	char *name;
	unsigned long flags;
	DRIVER *next;
	DRIVER *(*valid)(char *mailbox);
	void *(*parameters)(long function, void *value);
	void (*scan)(MAILSTREAM *stream, char *ref, char *pat, char *contents);
	void (*list)(MAILSTREAM *stream, char *ref, char *pat);
	void (*lsub)(MAILSTREAM *stream, char *ref, char *pat);
	long (*subscribe)(MAILSTREAM *stream, char *mailbox);
	long (*unsubscribe)(MAILSTREAM *stream, char *mailbox);
	long (*create)(MAILSTREAM *stream, char *mailbox);
	long (*mbxdel)(MAILSTREAM *stream, char *mailbox);
	long (*mbxren)(MAILSTREAM *stream, char *old, char *newname);
	long (*status)(MAILSTREAM *stream, char *mbx, long flags);
	MAILSTREAM *(*open)(MAILSTREAM *stream);
	void (*close)(MAILSTREAM *stream, long options);
	void (*fast)(MAILSTREAM *stream, char *sequence, long flags);
	void (*msgflags)(MAILSTREAM *stream, char *sequence, long flags);
	long (*overview)(MAILSTREAM *stream, void *ofn);
	ENVELOPE *(*structure)(MAILSTREAM *stream, unsigned long msgno, BODY **body, long flags);
	char *(*header)(MAILSTREAM *stream, unsigned long msgno, unsigned long *length, long flags);
	long (*text)(MAILSTREAM *stream, unsigned long msgno, STRING *bs, long flags);
	long (*msgdata)(MAILSTREAM *stream, unsigned long msgno, char *section, unsigned long first,
			unsigned long last, STRINGLIST *lines, long flags);
	unsigned long (*uid)(MAILSTREAM *stream, unsigned long msgno);
	unsigned long (*msgno)(MAILSTREAM *stream, unsigned long uid);
	void (*flag)(MAILSTREAM *stream, char *sequence, char *flag, long flags);
	void (*flagmsg)(MAILSTREAM *stream, MESSAGECACHE *elt);
	long (*search)(MAILSTREAM *stream, char *charset, SEARCHPGM *pgm, long flags);
	unsigned long *(*sort)(MAILSTREAM *stream, char *charset, SEARCHPGM *spg, SORTPGM *pgm,
			       long flags);
	THREADNODE *(*thread)(MAILSTREAM *stream, char *type, char *charset, SEARCHPGM *spg,
			      long flag);
	long (*ping)(MAILSTREAM *stream);
	void (*check)(MAILSTREAM *stream);
	long (*expunge)(MAILSTREAM *stream, char *sequence, long options);
	long (*copy)(MAILSTREAM *stream, char *sequence, char *mailbox, long options);
	long (*append)(MAILSTREAM *stream, char *mailbox, append_t af, void *data);
	void (*gc)(MAILSTREAM *stream, long gcflags);
};

#include "linkage.h"

/* The classic shorthands. */
#define mail_close(stream) mail_close_full(stream, NIL)
#define mail_fetchfast(stream, sequence) mail_fetch_fast(stream, sequence, NIL)
#define mail_fetchfast_full mail_fetch_fast
#define mail_fetchflags(stream, sequence) mail_fetch_flags(stream, sequence, NIL)
#define mail_fetchflags_full mail_fetch_flags
#define mail_expunge(stream) mail_expunge_full(stream, NIL, NIL)
#define mail_setflag(stream, sequence, flag) mail_flag(stream, sequence, flag, ST_SET)
#define mail_setflag_full(stream, sequence, flag, flags) \
	mail_flag(stream, sequence, flag, ST_SET | (flags))
#define mail_clearflag(stream, sequence, flag) mail_flag(stream, sequence, flag, NIL)
#define mail_clearflag_full mail_flag
#define mail_copy(stream, sequence, mailbox) mail_copy_full(stream, sequence, mailbox, NIL)
#define mail_move(stream, sequence, mailbox) mail_copy_full(stream, sequence, mailbox, CP_MOVE)
#define mail_append(stream, mailbox, message) \
	mail_append_full(stream, mailbox, NIL, NIL, message)
#define mail_fetchenvelope(stream, msgno) mail_fetch_structure(stream, msgno, NIL, NIL)
#define mail_fetchstructure(stream, msgno, body) mail_fetch_structure(stream, msgno, body, NIL)
#define mail_fetchstructure_full mail_fetch_structure
#define mail_fetchbody(stream, msgno, section, length) \
	mail_fetch_body(stream, msgno, section, length, NIL)
#define mail_fetchbody_full mail_fetch_body
#define mail_fetchheader(stream, msgno) mail_fetch_header(stream, msgno, NIL, NIL, NIL, FT_PEEK)
#define mail_fetchheader_full(stream, msgno, lines, len, flags) \
	mail_fetch_header(stream, msgno, NIL, lines, len, FT_PEEK | (flags))
#define mail_fetchtext(stream, msgno) mail_fetch_text(stream, msgno, NIL, NIL, NIL)
#define mail_fetchtext_full(stream, msgno, length, flags) \
	mail_fetch_text(stream, msgno, NIL, length, flags)
#define mail_search(stream, criteria) mail_search_full(stream, NIL, mail_criteria(criteria), SE_FREE)

/* Callbacks the program supplies. */
void mm_searched(MAILSTREAM *stream, unsigned long number);
void mm_exists(MAILSTREAM *stream, unsigned long number);
void mm_expunged(MAILSTREAM *stream, unsigned long number);
void mm_flags(MAILSTREAM *stream, unsigned long number);
void mm_notify(MAILSTREAM *stream, char *string, long errflg);
void mm_list(MAILSTREAM *stream, int delimiter, char *name, long attributes);
void mm_lsub(MAILSTREAM *stream, int delimiter, char *name, long attributes);
void mm_status(MAILSTREAM *stream, char *mailbox, MAILSTATUS *status);
void mm_log(char *string, long errflg);
void mm_dlog(char *string);
void mm_login(NETMBX *mb, char *user, char *pwd, long trial);
void mm_critical(MAILSTREAM *stream);
void mm_nocritical(MAILSTREAM *stream);
long mm_diskerror(MAILSTREAM *stream, long errcode, long serious);
void mm_fatal(char *string);

/* The library's calls. */
void mail_versioncheck(char *version);
void mail_link(DRIVER *driver);
void auth_link(AUTHENTICATOR *auth);
void *mail_parameters(MAILSTREAM *stream, long function, void *value);
MAILSTREAM *mail_open(MAILSTREAM *stream, char *name, long options);
MAILSTREAM *mail_close_full(MAILSTREAM *stream, long options);
long mail_ping(MAILSTREAM *stream);
void mail_check(MAILSTREAM *stream);
long mail_expunge_full(MAILSTREAM *stream, char *sequence, long options);
MESSAGECACHE *mail_elt(MAILSTREAM *stream, unsigned long msgno);
void mail_fetch_fast(MAILSTREAM *stream, char *sequence, long flags);
void mail_fetch_flags(MAILSTREAM *stream, char *sequence, long flags);
char *mail_fetch_header(MAILSTREAM *stream, unsigned long msgno, char *section,
			STRINGLIST *lines, unsigned long *len, long flags);
char *mail_fetch_text(MAILSTREAM *stream, unsigned long msgno, char *section,
		      unsigned long *len, long flags);
char *mail_fetch_body(MAILSTREAM *stream, unsigned long msgno, char *section,
		      unsigned long *len, long flags);
char *mail_fetch_mime(MAILSTREAM *stream, unsigned long msgno, char *section,
		      unsigned long *len, long flags);
BODY *mail_body(MAILSTREAM *stream, unsigned long msgno, unsigned char *section);
long mail_sequence(MAILSTREAM *stream, unsigned char *sequence);
long mail_uid_sequence(MAILSTREAM *stream, unsigned char *sequence);
void mail_scan(MAILSTREAM *stream, char *ref, char *pat, char *contents);
unsigned long *mail_sort(MAILSTREAM *stream, char *charset, SEARCHPGM *spg, SORTPGM *pgm,
			 long flags);
THREADNODE *mail_thread(MAILSTREAM *stream, char *type, char *charset, SEARCHPGM *spg,
			long flags);
SORTPGM *mail_newsortpgm(void);
void mail_free_sortpgm(SORTPGM **pgm);
void mail_free_threadnode(THREADNODE **thr);
unsigned long mail_longdate(MESSAGECACHE *elt);
char *mail_fetch_message(MAILSTREAM *stream, unsigned long msgno, unsigned long *len,
			 long flags);
ENVELOPE *mail_fetch_structure(MAILSTREAM *stream, unsigned long msgno, BODY **body,
			       long flags);
void mail_fetchfrom(char *s, MAILSTREAM *stream, unsigned long msgno, long length);
void mail_fetchsubject(char *s, MAILSTREAM *stream, unsigned long msgno, long length);
unsigned long mail_uid(MAILSTREAM *stream, unsigned long msgno);
unsigned long mail_msgno(MAILSTREAM *stream, unsigned long uid);
void mail_flag(MAILSTREAM *stream, char *sequence, char *flag, long flags);
long mail_search_full(MAILSTREAM *stream, char *charset, SEARCHPGM *pgm, long flags);
long mail_copy_full(MAILSTREAM *stream, char *sequence, char *mailbox, long options);
long mail_append_full(MAILSTREAM *stream, char *mailbox, char *flags, char *date,
		      STRING *message);
long mail_append_multiple(MAILSTREAM *stream, char *mailbox, append_t af, void *data);
void mail_gc(MAILSTREAM *stream, long gcflags);
long mail_status(MAILSTREAM *stream, char *mbx, long flags);
long mail_create(MAILSTREAM *stream, char *mailbox);
long mail_delete(MAILSTREAM *stream, char *mailbox);
long mail_rename(MAILSTREAM *stream, char *old, char *newname);
void mail_list(MAILSTREAM *stream, char *ref, char *pat);
void mail_lsub(MAILSTREAM *stream, char *ref, char *pat);
long mail_subscribe(MAILSTREAM *stream, char *mailbox);
long mail_unsubscribe(MAILSTREAM *stream, char *mailbox);
char *mail_date(char *string, MESSAGECACHE *elt);
char *mail_cdate(char *string, MESSAGECACHE *elt);
DRIVER *mail_valid(MAILSTREAM *stream, char *mailbox, char *purpose);
long mail_parse_date(MESSAGECACHE *elt, unsigned char *string);
ADDRESS *mail_newaddr(void);
ENVELOPE *mail_newenvelope(void);
BODY *mail_newbody(void);
PARAMETER *mail_newbody_parameter(void);
PART *mail_newbody_part(void);
MESSAGE *mail_newmsg(void);
void mail_free_address(ADDRESS **address);
void mail_free_envelope(ENVELOPE **env);
void mail_free_body(BODY **body);
void mail_free_body_parameter(PARAMETER **parameter);
SEARCHPGM *mail_newsearchpgm(void);
SEARCHSET *mail_newsearchset(void);
STRINGLIST *mail_newstringlist(void);
void mail_free_searchpgm(SEARCHPGM **pgm);
void mail_free_searchset(SEARCHSET **set);
void mail_free_stringlist(STRINGLIST **string);
SEARCHPGM *mail_criteria(char *criteria);
int mail_criteria_date(unsigned short *date, char **r);
int mail_criteria_string(STRINGLIST **s, char **r);

extern STRINGDRIVER mail_string;
extern char *body_types[];       /* type names by TYPE* number */
extern char *body_encodings[];   /* encoding names by ENC* number */
extern const char *days[];       /* "Sun" to "Sat" */
extern const char *months[];     /* "Jan" to "Dec" */

#include "mail_types.h"

#endif
