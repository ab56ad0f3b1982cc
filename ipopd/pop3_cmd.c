/* pop3_cmd.c: the command table and the TRANSACTION state commands of
 * RFC 1939 (STAT, LIST, RETR, DELE, NOOP, RSET, TOP, UIDL). Numbers are the
 * session's message numbers, fixed at login; deletions only mark. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "log.h"
#include "pop3.h"
#include "pop3_text.h"

#define AUTH P3_AUTH
#define TRANS P3_TRANS

static const struct pop3_command commands[] = {
	{"CAPA", pop3_capa, AUTH | TRANS}, {"QUIT", pop3_quit, AUTH | TRANS},
	{"USER", pop3_user, AUTH},         {"PASS", pop3_pass, AUTH},
	{"AUTH", pop3_auth, AUTH},         {"STLS", pop3_stls, AUTH},
	{"STAT", pop3_stat, TRANS},        {"LIST", pop3_list, TRANS},
	{"RETR", pop3_retr, TRANS},        {"DELE", pop3_dele, TRANS},
	{"NOOP", pop3_noop, TRANS},        {"RSET", pop3_rset, TRANS},
	{"TOP", pop3_top, TRANS},          {"UIDL", pop3_uidl, TRANS},
};

const struct pop3_command *pop3_command_find(const char *name, size_t len)
{
	for (size_t i = 0; i < ARRAY_SIZE(commands); i++)
		if (strlen(commands[i].name) == len && !strncasecmp(commands[i].name, name, len))
			return &commands[i];
	return NULL;
}

static void reply(struct pop3 *s, const char *status, const char *fmt, va_list ap)
{
	char text[1024];

	vsnprintf(text, sizeof text, fmt, ap);
	io_printf(&s->p.io, "%s%s\r\n", status, text);
}

void pop3_ok(struct pop3 *s, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	reply(s, "+OK ", fmt, ap);
	va_end(ap);
}

void pop3_err(struct pop3 *s, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	reply(s, "-ERR ", fmt, ap);
	va_end(ap);
}

/* ---------------------------------------------------------------------- */
/* Arguments                                                               */

/* Next space-separated word of *args, or NULL. */
static char *next_word(char **args)
{
	char *s = *args, *w;

	if (!s)
		return NULL;
	while (*s == ' ')
		s++;
	if (!*s)
		return NULL;
	w = s;
	while (*s && *s != ' ')
		s++;
	if (*s)
		*s++ = '\0';
	*args = s;
	return w;
}

/* A decimal number of at most 18 digits, nothing else. */
static int parse_number(const char *w, unsigned long long *out)
{
	size_t n = w ? strlen(w) : 0;

	if (n == 0 || n > 18 || strspn(w, "0123456789") != n)
		return -1;
	*out = strtoull(w, NULL, 10);
	return 0;
}

static int no_more(char **args)
{
	return next_word(args) == NULL;
}

/* The message number argument; answers -ERR itself when it is wrong. */
static int message_arg(struct pop3 *s, char **args, uint32_t *n)
{
	unsigned long long v;
	char *w = next_word(args);

	if (!w)
		return pop3_err(s, "Message number required"), -1;
	if (parse_number(w, &v) < 0)
		return pop3_err(s, "Invalid message number \"%.40s\"", w), -1;
	if (v < 1 || v > s->p.nmsgs)
		return pop3_err(s, "No such message"), -1;
	if (s->p.msgs[v - 1].deleted)
		return pop3_err(s, "Message %llu is deleted", v), -1;
	*n = (uint32_t)v;
	return 0;
}

/* ---------------------------------------------------------------------- */
/* Commands                                                                */

void pop3_stat(struct pop3 *s, char *args)
{
	uint32_t count;
	uint64_t octets;

	if (!no_more(&args))
		return pop3_err(s, "STAT takes no arguments");
	pop_stat(&s->p, &count, &octets);
	pop3_ok(s, "%u %llu", count, (unsigned long long)octets);
}

void pop3_list(struct pop3 *s, char *args)
{
	uint32_t n, count;
	uint64_t octets;

	if (args && *args) {
		if (message_arg(s, &args, &n) < 0)
			return;
		if (!no_more(&args))
			return pop3_err(s, "LIST takes one message number");
		return pop3_ok(s, "%u %llu", n, (unsigned long long)s->p.msgs[n - 1].size);
	}
	pop_stat(&s->p, &count, &octets);
	pop3_ok(s, "%u messages (%llu octets)", count, (unsigned long long)octets);
	for (uint32_t i = 0; i < s->p.nmsgs; i++)
		if (!s->p.msgs[i].deleted)
			io_printf(&s->p.io, "%u %llu\r\n", i + 1,
				  (unsigned long long)s->p.msgs[i].size);
	io_puts(&s->p.io, ".\r\n");
}

void pop3_uidl(struct pop3 *s, char *args)
{
	uint32_t n;

	if (args && *args) {
		if (message_arg(s, &args, &n) < 0)
			return;
		if (!no_more(&args))
			return pop3_err(s, "UIDL takes one message number");
		return pop3_ok(s, "%u %u.%u", n, s->p.uidvalidity, s->p.msgs[n - 1].uid);
	}
	pop3_ok(s, "Unique-ID listing follows");
	for (uint32_t i = 0; i < s->p.nmsgs; i++)
		if (!s->p.msgs[i].deleted)
			io_printf(&s->p.io, "%u %u.%u\r\n", i + 1, s->p.uidvalidity,
				  s->p.msgs[i].uid);
	io_puts(&s->p.io, ".\r\n");
}

static void sink_io(void *ctx, const char *p, size_t n)
{
	io_write(ctx, p, n);
}

/* RETR and TOP: body_lines < 0 for the whole message. */
static void send_message(struct pop3 *s, uint32_t n, long long body_lines)
{
	struct mail_err err;
	const char *text;
	size_t len;

	if (pop_msg_text(&s->p, n, &text, &len, &err) < 0) {
		log_err("Cannot read message user=%s host=%s: %s", s->p.user.name,
			s->p.conn.peer_host, err.text);
		return pop3_err(s, "[SYS/TEMP] Cannot read message %u: %s", n, err.text);
	}
	if (body_lines < 0)
		pop3_ok(s, "%llu octets", (unsigned long long)s->p.msgs[n - 1].size);
	else
		pop3_ok(s, "Top of message %u follows", n);
	pop3_send_text(sink_io, &s->p.io, text, len, body_lines);
	if (body_lines < 0)
		pop_mark_seen(&s->p, n);
}

void pop3_retr(struct pop3 *s, char *args)
{
	uint32_t n;

	if (message_arg(s, &args, &n) < 0)
		return;
	if (!no_more(&args))
		return pop3_err(s, "RETR takes one message number");
	send_message(s, n, -1);
}

void pop3_top(struct pop3 *s, char *args)
{
	unsigned long long lines;
	uint32_t n;

	if (message_arg(s, &args, &n) < 0)
		return;
	if (parse_number(next_word(&args), &lines) < 0 || !no_more(&args))
		return pop3_err(s, "TOP needs a message number and a number of lines");
	send_message(s, n, (long long)lines);
}

void pop3_dele(struct pop3 *s, char *args)
{
	uint32_t n;

	if (message_arg(s, &args, &n) < 0)
		return;
	if (!no_more(&args))
		return pop3_err(s, "DELE takes one message number");
	s->p.msgs[n - 1].deleted = 1;
	pop3_ok(s, "Message %u deleted", n);
}

void pop3_noop(struct pop3 *s, char *args)
{
	if (!no_more(&args))
		return pop3_err(s, "NOOP takes no arguments");
	pop3_ok(s, "Nothing to do");
}

void pop3_rset(struct pop3 *s, char *args)
{
	uint32_t count;
	uint64_t octets;

	if (!no_more(&args))
		return pop3_err(s, "RSET takes no arguments");
	for (uint32_t i = 0; i < s->p.nmsgs; i++)
		s->p.msgs[i].deleted = 0;
	pop_stat(&s->p, &count, &octets);
	pop3_ok(s, "%u messages (%llu octets)", count, (unsigned long long)octets);
}

void pop3_quit(struct pop3 *s, char *args)
{
	struct mail_err err;
	unsigned removed;

	if (s->state != P3_TRANS) {
		pop3_ok(s, "Goodbye");
		pop_exit(&s->p, 0);
	}
	/* UPDATE state */
	if (pop_update(&s->p, &removed, &err) < 0)
		pop3_err(s, "[SYS/TEMP] Some deleted messages were not removed: %s", err.text);
	else
		pop3_ok(s, "Goodbye, %u message%s deleted", removed, removed == 1 ? "" : "s");
	pop_exit(&s->p, 0);
}
