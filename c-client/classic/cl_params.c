/* cl_params.c: mail_parameters() for every function number of c-client 2007
 * (mail_params.h). SET_x keeps the value (strings copied, since programs
 * free theirs) and GET_x gives it back; before any SET, GET_x answers what
 * this library really uses, or NIL where it has no such thing. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cl_int.h"

/* The blocks of numbers c-client 2007 defines; GET_x is odd in the first
 * two and even in the others, SET_x always GET_x + 1. */
static const struct {
	long first, last;
} blocks[] = {{101, 162}, {201, 232}, {300, 337}, {400, 455}, {500, 577}};

#define PARAM_SLOTS 478   /* GET numbers 100..577 */

static struct {
	void *value;
	int set;
} held[PARAM_SLOTS];

/* The string-valued parameters: SET copies them. */
static const long string_params[] = {
	GET_SERVICENAME, GET_USERNAME,    GET_HOMEDIR,       GET_LOCALHOST,      GET_SYSINBOX,
	GET_USERPROMPT,  GET_EXTERNALAUTHID, GET_SSLCAPATH,  GET_RSHCOMMAND,     GET_RSHPATH,
	GET_SSHCOMMAND,  GET_SSHPATH,     GET_SSLCLIENTCERT, GET_SSLCLIENTKEY,   GET_NEWSACTIVE,
	GET_NEWSSPOOL,   GET_NEWSRC,      GET_EXTENSION,     GET_ANONYMOUSHOME,  GET_FTPHOME,
	GET_PUBLICHOME,  GET_SHAREDHOME,  GET_MHPROFILE,     GET_MHPATH,         GET_SNARFMAILBOXNAME,
	GET_INBOXPATH,
};

/* Numbers this library lives by, answered until a program sets its own:
 * the ports and timeouts of its network drivers, the modes of new files. */
static const struct {
	long get, value;
} numbers[] = {
	{GET_MAXLOGINTRIALS, 3}, {GET_LOOKAHEAD, 20},     {GET_UIDLOOKAHEAD, 1000},
	{GET_IMAPPORT, 143},     {GET_SSLIMAPPORT, 993},  {GET_POP3PORT, 110},
	{GET_SSLPOPPORT, 995},   {GET_NNTPPORT, 119},     {GET_SSLNNTPPORT, 563},
	{GET_SMTPPORT, 25},      {GET_SSLSMTPPORT, 465},  {GET_OPENTIMEOUT, 120},
	{GET_READTIMEOUT, 120},  {GET_WRITETIMEOUT, 120}, {GET_CLOSETIMEOUT, 120},
	{GET_MBXPROTECTION, 0600}, {GET_DIRPROTECTION, 0700}, {GET_LOCKPROTECTION, 0666},
	{GET_LISTMAXLEVEL, 20},
};

/* The GET number of function, or 0 when c-client 2007 has no such number. */
static long get_of(long function, int *is_set)
{
	for (size_t i = 0; i < sizeof blocks / sizeof blocks[0]; i++) {
		if (function < blocks[i].first || function > blocks[i].last)
			continue;
		int get_odd = blocks[i].first < 300;
		*is_set = (function & 1) != get_odd;
		return *is_set ? function - 1 : function;
	}
	return 0;
}

static int is_string(long get)
{
	for (size_t i = 0; i < sizeof string_params / sizeof string_params[0]; i++)
		if (string_params[i] == get)
			return 1;
	return 0;
}

/* "dir/name" in buf, or NIL when dir is unknown. */
static char *path_in(char *buf, size_t size, const char *dir, const char *name)
{
	if (!dir)
		return NIL;
	snprintf(buf, size, "%s/%s", dir, name);
	return buf;
}

/* What GET answers before any SET. */
static void *default_of(long get)
{
	static char host[256], inbox[MAILTMPLEN], newsrc[MAILTMPLEN];

	switch (get) {
	case GET_USERNAME:
		return myusername_full(NIL);
	case GET_HOMEDIR:
		return myhomedir();
	case GET_LOCALHOST:
		if (gethostname(host, sizeof host - 1) < 0)
			return NIL;
		return host;
	case GET_SYSINBOX:
		return myusername_full(NIL) ? path_in(inbox, sizeof inbox, SPOOLDIR,
						      myusername_full(NIL)) : NIL;
	case GET_NEWSRC:
		return path_in(newsrc, sizeof newsrc, myhomedir(), ".newsrc");
	default:
		break;
	}
	for (size_t i = 0; i < sizeof numbers / sizeof numbers[0]; i++)
		if (numbers[i].get == get)
			return (void *)numbers[i].value;
	return NIL;
}

void *cl_params(long function, void *value)
{
	int is_set = 0;
	long get = get_of(function, &is_set);

	if (!get)
		return NIL;
	size_t slot = (size_t)(get - 100);
	if (!is_set)
		return held[slot].set ? held[slot].value : default_of(get);
	if (is_string(get)) {
		if (held[slot].set)
			fs_give(&held[slot].value);
		value = value ? cpystr(value) : NIL;
	}
	held[slot].value = value;
	held[slot].set = 1;
	return value;
}
