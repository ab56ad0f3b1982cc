/* cl_misc.c: the classic library's small services: memory, strings, the
 * memory STRING driver, dates in elts, flag lists and sequences, driver
 * linking, parameters and the version check. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cl_int.h"

void *fs_get(size_t size)
{
	void *p = malloc(size ? size : 1);

	if (!p) {
		mm_fatal("Out of memory");
		abort();
	}
	return p;
}

void fs_resize(void **block, size_t size)
{
	void *p = realloc(*block, size ? size : 1);

	if (!p) {
		mm_fatal("Can't resize memory");
		abort();
	}
	*block = p;
}

void fs_give(void **block)
{
	free(*block);
	*block = NULL;
}

char *cpystr(const char *string)
{
	return string ? strcpy(fs_get(strlen(string) + 1), string) : NIL;
}

char *cpytxt(SIZEDTEXT *dst, char *text, unsigned long size)
{
	if (dst->data)
		fs_give((void **)&dst->data);
	dst->data = fs_get(size + 1);
	memcpy(dst->data, text, size);
	dst->data[size] = '\0';
	dst->size = size;
	return (char *)dst->data;
}

unsigned char *ucase(unsigned char *string)
{
	for (unsigned char *p = string; *p; p++)
		*p = (unsigned char)toupper(*p);
	return string;
}

unsigned char *lcase(unsigned char *string)
{
	for (unsigned char *p = string; *p; p++)
		*p = (unsigned char)tolower(*p);
	return string;
}

/* The lowest set bit's index, cleared from *valptr; 0xffffffff if none. */
unsigned long find_rightmost_bit(unsigned long *valptr)
{
	unsigned long bit;

	if (!(*valptr & 0xffffffffUL))
		return 0xffffffffUL;
	bit = (unsigned long)__builtin_ctzl(*valptr & 0xffffffffUL);
	*valptr &= ~(1UL << bit);
	return bit;
}

long min(long i, long j)
{
	return i < j ? i : j;
}

long max(long i, long j)
{
	return i > j ? i : j;
}

/* The memory STRING driver: the whole string is one chunk. */
static void mstring_init(STRING *s, void *data, unsigned long size)
{
	s->data = data;
	s->data1 = 0;
	s->size = size;
	s->chunk = s->curpos = data;
	s->chunksize = s->cursize = size;
	s->offset = 0;
}

/* SNX calls this on the last byte of the chunk: hand it out. */
static char mstring_next(STRING *s)
{
	return *s->curpos++;
}

static void mstring_setpos(STRING *s, unsigned long i)
{
	s->curpos = s->chunk + i;
	s->cursize = s->chunksize - i;
}

STRINGDRIVER mail_string = {mstring_init, mstring_next, mstring_setpos};

/* The file STRING driver: data is a FILE *, read a few bytes at a time
 * into the STRING itself (data1 is the only room it has). */
static void fstring_fill(STRING *s, unsigned long at)
{
	size_t got;

	s->offset = at;
	s->chunk = s->curpos = (char *)&s->data1;
	got = fseek((FILE *)s->data, (long)at, SEEK_SET) ? 0 :
	      fread(s->chunk, 1, sizeof(s->data1), (FILE *)s->data);
	/* past the end (or a read error): one NUL, which SIZE never asks for */
	if (!got)
		*s->chunk = '\0';
	s->chunksize = s->cursize = got ? got : 1;
}

static void fstring_init(STRING *s, void *data, unsigned long size)
{
	s->data = data;
	s->size = size;
	fstring_fill(s, 0);
}

static char fstring_next(STRING *s)
{
	char c = *s->curpos;

	fstring_fill(s, s->offset + s->chunksize);
	return c;
}

static void fstring_setpos(STRING *s, unsigned long i)
{
	fstring_fill(s, i);
}

STRINGDRIVER file_string = {fstring_init, fstring_next, fstring_setpos};

void cl_error(const char *what, const char *name, const char *reason)
{
	char msg[MAILTMPLEN];

	snprintf(msg, sizeof(msg), "%s %s: %s", what, name ? name : "", reason);
	mm_log(msg, ERROR);
}

void mail_versioncheck(char *version)
{
	char msg[MAILTMPLEN];

	if (strcmp(version, CCLIENTVERSION)) {
		snprintf(msg, sizeof(msg), "c-client library version skew, app=%s library=%s",
			 version, CCLIENTVERSION);
		mm_fatal(msg);
	}
}

static DRIVER *drivers;
static AUTHENTICATOR *auths;

void mail_link(DRIVER *driver)
{
	DRIVER **d = &drivers;

	while (*d && *d != driver)
		d = &(*d)->next;
	if (!*d) {
		*d = driver;
		driver->next = NIL;
	}
}

void auth_link(AUTHENTICATOR *auth)
{
	AUTHENTICATOR **a = &auths;

	while (*a && *a != auth)
		a = &(*a)->next;
	if (!*a) {
		*a = auth;
		auth->next = NIL;
	}
}

/* TLS is set up by the library when a connection needs it. */
void ssl_onceonlyinit(void)
{
}

char *myusername_full(unsigned long *flags)
{
	char err[CLB_ERRLEN];

	if (flags)
		*flags = 0;
	return clb_session(err) < 0 ? NIL : (char *)clb_user();
}

char *myhomedir(void)
{
	char err[CLB_ERRLEN];

	return clb_session(err) < 0 ? NIL : (char *)clb_home();
}

void *mail_parameters(MAILSTREAM *stream, long function, void *value)
{
	switch (function) {
	case GET_DRIVERS:
		return drivers;
	case SET_DRIVERS:
		drivers = value;
		return value;
	case GET_DRIVER:
		for (DRIVER *d = drivers; d && value; d = d->next)
			if (!strcasecmp(d->name, value))
				return d;
		return NIL;
	default:
		return cl_params(function, value);
	}
}

/* The classic library exports the English names (mail.h): programs format
 * dates with them, and a copy relocation copies Debian's 7 and 12 pointers. */
const char *days[7] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
const char *months[12] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
			  "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};

time_t cl_elt_time(const MESSAGECACHE *elt, int *tz_minutes)
{
	struct tm tm;
	int tz = elt->zhours * 60 + elt->zminutes;

	memset(&tm, 0, sizeof(tm));
	tm.tm_year = elt->year + BASEYEAR - 1900;
	tm.tm_mon = elt->month ? elt->month - 1 : 0;
	tm.tm_mday = elt->day ? elt->day : 1;
	tm.tm_hour = elt->hours;
	tm.tm_min = elt->minutes;
	tm.tm_sec = elt->seconds;
	if (elt->zoccident)
		tz = -tz;
	if (tz_minutes)
		*tz_minutes = tz;
	return timegm(&tm) - (time_t)tz * 60;
}

void cl_elt_set_time(MESSAGECACHE *elt, time_t when, int tz_minutes)
{
	time_t local = when + (time_t)tz_minutes * 60;
	int tz = tz_minutes < 0 ? -tz_minutes : tz_minutes;
	struct tm tm;

	gmtime_r(&local, &tm);
	elt->day = (unsigned)tm.tm_mday;
	elt->month = (unsigned)tm.tm_mon + 1;
	elt->year = (unsigned)(tm.tm_year + 1900 - BASEYEAR);
	elt->hours = (unsigned)tm.tm_hour;
	elt->minutes = (unsigned)tm.tm_min;
	elt->seconds = (unsigned)tm.tm_sec;
	elt->zoccident = tz_minutes < 0;
	elt->zhours = (unsigned)(tz / 60);
	elt->zminutes = (unsigned)(tz % 60);
}

/* The internal date as IMAP writes it, " 6-Dec-2026 18:50:06 +0000". */
char *mail_date(char *string, MESSAGECACHE *elt)
{
	sprintf(string, "%2d-%s-%d %02d:%02d:%02d %c%02d%02d", elt->day ? elt->day : 1,
		months[elt->month ? elt->month - 1 : 0], elt->year + BASEYEAR, elt->hours,
		elt->minutes, elt->seconds, elt->zoccident ? '-' : '+', elt->zhours, elt->zminutes);
	return string;
}

/* The month named by three letters, 1-12, or 0. */
static int month_of(const char *name)
{
	for (int i = 0; i < 12; i++)
		if (!strncasecmp(name, months[i], 3))
			return i + 1;
	return 0;
}

/* An IMAP date-time ("d-Mon-yyyy hh:mm:ss +zzzz") or an RFC 5322 date
 * ("[Day, ]d Mon yyyy hh:mm[:ss] +zzzz") into elt's date fields. */
long mail_parse_date(MESSAGECACHE *elt, unsigned char *string)
{
	const char *s = (const char *)string;
	char mon[4] = "", sign = '+';
	int day, year, h, m, sec = 0, zone = 0, n = 0;

	while (*s == ' ')
		s++;
	if (sscanf(s, "%2d-%3[A-Za-z]-%4d %2d:%2d:%2d %c%4d%n", &day, mon, &year, &h, &m, &sec,
		   &sign, &zone, &n) < 8) {
		const char *comma = strchr(s, ',');

		if (comma)
			s = comma + 1;
		n = 0;
		if (sscanf(s, " %2d %3[A-Za-z] %4d %2d:%2d%n", &day, mon, &year, &h, &m, &n) < 5)
			return NIL;
		s += n;
		if (*s == ':' && sscanf(s, ":%2d%n", &sec, &n) == 1)
			s += n;
		if (sscanf(s, " %c%4d", &sign, &zone) < 2)
			sign = '+', zone = 0;
	}
	if (!month_of(mon) || day < 1 || day > 31 || year < BASEYEAR || year > BASEYEAR + 127 ||
	    h > 23 || m > 59 || sec > 60 || (sign != '+' && sign != '-') || zone > 1259)
		return NIL;
	elt->day = (unsigned)day;
	elt->month = (unsigned)month_of(mon);
	elt->year = (unsigned)(year - BASEYEAR);
	elt->hours = (unsigned)h;
	elt->minutes = (unsigned)m;
	elt->seconds = (unsigned)(sec > 59 ? 59 : sec);
	elt->zoccident = sign == '-';
	elt->zhours = (unsigned)(zone / 100);
	elt->zminutes = (unsigned)(zone % 100);
	return T;
}

void cl_free_names(char **names)
{
	if (!names)
		return;
	for (char **n = names; *n; n++)
		free(*n);
	free(names);
}

int cl_flag_list(const char *list, uint32_t *flags, char ***kw)
{
	static const struct {
		const char *name;
		uint32_t flag;
	} sys[] = {{"\\Seen", MF_SEEN},       {"\\Answered", MF_ANSWERED},
		   {"\\Flagged", MF_FLAGGED}, {"\\Deleted", MF_DELETED},
		   {"\\Draft", MF_DRAFT}};
	size_t n = 0, len = strlen(list);
	char **names = calloc(len / 2 + 2, sizeof(*names));
	const char *p = list;

	*flags = 0;
	*kw = names;
	if (!names) {
		mm_fatal("out of memory");
		abort();
	}
	while (*p) {
		size_t w;
		size_t i;

		p += strspn(p, " ()");
		w = strcspn(p, " ()");
		if (!w)
			continue;
		if (*p != '\\') {
			names[n++] = strndup(p, w);
		} else {
			for (i = 0; i < sizeof(sys) / sizeof(sys[0]); i++)
				if (strlen(sys[i].name) == w && !strncasecmp(p, sys[i].name, w))
					break;
			if (i == sizeof(sys) / sizeof(sys[0]))
				return 0;
			*flags |= sys[i].flag;
		}
		p += w;
	}
	return 1;
}

/* One number of a sequence: digits, or "*" for the largest in use. */
static int seq_number(const char **p, unsigned long star, unsigned long *out)
{
	char *end;

	if (**p == '*') {
		(*p)++;
		*out = star;
		return 1;
	}
	if (!isdigit((unsigned char)**p))
		return 0;
	*out = strtoul(*p, &end, 10);
	*p = end;
	return *out > 0;
}

long cl_sequence(MAILSTREAM *stream, char *sequence, int uid)
{
	unsigned long star = 0;
	const char *p = sequence ? sequence : "";

	if (stream->nmsgs)
		star = uid ? mail_uid(stream, stream->nmsgs) : stream->nmsgs;
	for (unsigned long i = 1; i <= stream->nmsgs; i++)
		mail_elt(stream, i)->sequence = 0;
	while (*p) {
		unsigned long lo, hi;

		if (!seq_number(&p, star, &lo))
			break;
		hi = lo;
		if (*p == ':' && (p++, !seq_number(&p, star, &hi)))
			break;
		if (lo > hi) {
			unsigned long t = lo;

			lo = hi;
			hi = t;
		}
		for (unsigned long i = 1; i <= stream->nmsgs; i++) {
			unsigned long k = uid ? mail_uid(stream, i) : i;

			if (k >= lo && k <= hi)
				mail_elt(stream, i)->sequence = 1;
		}
		if (*p == ',')
			p++;
		else if (*p)
			break;
	}
	if (*p || !sequence || !*sequence) {
		mm_log("Syntax error in sequence", ERROR);
		return NIL;
	}
	return T;
}

/* The From-line date of an elt, "Sat Jan  1 10:00:00 2022 +0000\n". */
char *mail_cdate(char *string, MESSAGECACHE *elt)
{
	int tz;
	time_t when = cl_elt_time(elt, &tz) + (time_t)tz * 60;
	struct tm tm;

	gmtime_r(&when, &tm);
	sprintf(string, "%s %s %2d %02d:%02d:%02d %4d %c%02d%02d\n", days[tm.tm_wday],
		months[elt->month ? elt->month - 1 : 0], elt->day ? elt->day : 1, elt->hours,
		elt->minutes, elt->seconds, elt->year + BASEYEAR, elt->zoccident ? '-' : '+',
		elt->zhours, elt->zminutes);
	return string;
}

long env_init(char *user, char *home)
{
	char err[CLB_ERRLEN];

	return clb_session(err) < 0 ? NIL : T;
}
