/* config.c: parse the configuration file. One table maps each key to its
 * type and field, so adding a key is one line. */
#include "config.h"
#include "mail_api.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifndef SSLDIR
#define SSLDIR "/usr/local/ssl"
#endif
#ifndef SPOOLDIR
#define SPOOLDIR "/var/spool/mail"
#endif
#ifndef PRELOGIN_USER
#define PRELOGIN_USER "uwimap"
#endif
#ifndef ALLOW_PLAINTEXT_DEFAULT
#define ALLOW_PLAINTEXT_DEFAULT 0
#endif

enum ctype { C_STR, C_BOOL, C_SIZE, C_SECS, C_FORMAT };

struct ckey {
	const char *name;
	enum ctype type;
	size_t off;
	unsigned long long min;   /* for numbers */
};

#define F(field) offsetof(struct config, field)

static const struct ckey keys[] = {
	{"ssl_dir", C_STR, F(ssl_dir), 0},
	{"spool_dir", C_STR, F(spool_dir), 0},
	{"pam_service", C_STR, F(pam_service), 0},
	{"allow_plaintext", C_BOOL, F(allow_plaintext), 0},
	{"allow_outside_home", C_BOOL, F(allow_outside_home), 0},
	{"max_line", C_SIZE, F(max_line), 1024},
	{"max_literal", C_SIZE, F(max_literal), 1024},
	{"max_message", C_SIZE, F(max_message), 1024},
	{"timeout_login", C_SECS, F(timeout_login), 1},
	{"timeout_idle", C_SECS, F(timeout_idle), 1},
	{"login_delay", C_SECS, F(login_delay), 0},
	{"max_login_failures", C_SECS, F(max_login_failures), 1},
	{"tls_cert", C_STR, F(tls_cert), 0},
	{"tls_key", C_STR, F(tls_key), 0},
	{"tls_min_version", C_STR, F(tls_min_version), 0},
	{"tls_ciphers", C_STR, F(tls_ciphers), 0},
	{"prelogin_user", C_STR, F(prelogin_user), 0},
	{"inbox", C_STR, F(inbox), 0},
	{"mail_format", C_FORMAT, F(mail_format), 0},
	{"inbox_mbox", C_BOOL, F(inbox_mbox), 0},
	{"lock_timeout", C_SECS, F(lock_timeout), 1},
	/* SPECIAL-USE (specialuse.c) */
	{"special_use_archive", C_STR, F(special_use[0]), 0},
	{"special_use_drafts", C_STR, F(special_use[1]), 0},
	{"special_use_junk", C_STR, F(special_use[2]), 0},
	{"special_use_sent", C_STR, F(special_use[3]), 0},
	{"special_use_trash", C_STR, F(special_use[4]), 0},
	{"special_use_create", C_BOOL, F(special_use_create), 0},
	{"literal_minus", C_BOOL, F(literal_minus), 0},
	{"max_keywords", C_SECS, F(max_keywords), 1},
	{"quota_storage", C_SIZE, F(quota_storage), 0},
	{"quota_messages", C_SIZE, F(quota_messages), 0},
	/* URLAUTH across users (privsep_url.c) */
	{"urlauth_submit_users", C_STR, F(urlauth_submit_users), 0},
	{"urlauth_timeout", C_SECS, F(urlauth_timeout), 1},
};

void config_defaults(struct config *c)
{
	memset(c, 0, sizeof *c);
	c->ssl_dir = xstrdup(SSLDIR);
	c->spool_dir = xstrdup(SPOOLDIR);
	c->prelogin_user = xstrdup(PRELOGIN_USER);
	c->allow_plaintext = ALLOW_PLAINTEXT_DEFAULT;
	c->max_line = 64 * 1024;
	c->max_literal = 64 * 1024;
	c->max_message = 50 * 1024 * 1024;
	c->timeout_login = 60;
	c->timeout_idle = 30 * 60;
	c->login_delay = 3;
	c->max_login_failures = 3;
	c->lock_timeout = 60;
	c->urlauth_timeout = 15;
}

int config_list_next(const char **p, const char **name, size_t *len)
{
	if (!*p)
		return 0;
	*p += strspn(*p, ", \t");
	*name = *p;
	*len = strcspn(*p, ", \t");
	*p += *len;
	return *len > 0;
}

void config_free(struct config *c)
{
	for (size_t i = 0; i < ARRAY_SIZE(keys); i++)
		if (keys[i].type == C_STR || keys[i].type == C_FORMAT)
			free(*(char **)((char *)c + keys[i].off));
	memset(c, 0, sizeof *c);
}

static int parse_bool(const char *v, int *out)
{
	static const char *yes[] = {"yes", "true", "on", "1"};
	static const char *no[] = {"no", "false", "off", "0"};

	for (size_t i = 0; i < ARRAY_SIZE(yes); i++) {
		if (!strcasecmp(v, yes[i]))
			return *out = 1, 0;
		if (!strcasecmp(v, no[i]))
			return *out = 0, 0;
	}
	return -1;
}

/* Numbers may carry a unit: sizes k/m/g (KiB...), times s/m/h. */
static int parse_number(const char *v, enum ctype type, unsigned long long *out)
{
	char *end;
	unsigned long long n, mul = 1;

	if (!isdigit((unsigned char)*v))
		return -1;
	errno = 0;
	n = strtoull(v, &end, 10);
	if (errno)
		return -1;
	if (*end) {
		char u = (char)tolower((unsigned char)*end);
		if (end[1] && !(type == C_SIZE && tolower((unsigned char)end[1]) == 'b' && !end[2]))
			return -1;
		if (type == C_SIZE)
			mul = u == 'k' ? 1024ULL : u == 'm' ? 1024ULL * 1024 : u == 'g' ? 1024ULL * 1024 * 1024 : 0;
		else
			mul = u == 's' ? 1 : u == 'm' ? 60 : u == 'h' ? 3600 : 0;
		if (!mul)
			return -1;
	}
	if (n > ULLONG_MAX / mul)
		return -1;
	*out = n * mul;
	return 0;
}

static void set_value(struct config *c, const struct ckey *k, const char *v, const char *path,
		      int lineno, struct buf *errors)
{
	void *field = (char *)c + k->off;
	unsigned long long n;
	int b;

	switch (k->type) {
	case C_FORMAT:
		if (!mail_driver_named(v)) {
			buf_printf(errors, "%s:%d: %s: no mailbox format is called \"%s\" (known: %s)\n",
				   path, lineno, k->name, v, MAIL_FORMATS);
			return;
		}
		/* fall through */
	case C_STR:
		free(*(char **)field);
		*(char **)field = xstrdup(v);
		return;
	case C_BOOL:
		if (parse_bool(v, &b) == 0) {
			*(int *)field = b;
			return;
		}
		buf_printf(errors, "%s:%d: %s must be yes or no, not \"%s\"\n", path, lineno,
			   k->name, v);
		return;
	case C_SIZE:
	case C_SECS:
		if (parse_number(v, k->type, &n) == 0 && n >= k->min &&
		    (k->type == C_SIZE || n <= UINT_MAX)) {
			if (k->type == C_SIZE)
				*(size_t *)field = (size_t)n;
			else
				*(unsigned *)field = (unsigned)n;
			return;
		}
		buf_printf(errors, "%s:%d: %s needs a number%s of at least %llu, not \"%s\"\n", path,
			   lineno, k->name, k->type == C_SIZE ? " (k/m/g allowed)" : " of seconds",
			   k->min, v);
		return;
	}
}

static char *trim(char *s)
{
	char *e;

	while (isspace((unsigned char)*s))
		s++;
	e = s + strlen(s);
	while (e > s && isspace((unsigned char)e[-1]))
		*--e = '\0';
	return s;
}

int config_load(struct config *c, const char *path, int must_exist, struct buf *errors)
{
	FILE *f = fopen(path, "r");
	char line[4096];
	int lineno = 0;
	size_t before = errors->len;

	if (!f) {
		if (!must_exist && errno == ENOENT)
			return 0;
		buf_printf(errors, "%s: cannot read the configuration file: %s\n", path,
			   strerror(errno));
		return -1;
	}
	while (fgets(line, sizeof line, f)) {
		char *s, *eq, *key, *val;
		size_t i;

		lineno++;
		if (!strchr(line, '\n') && !feof(f)) {
			buf_printf(errors, "%s:%d: line too long\n", path, lineno);
			int ch;
			while ((ch = fgetc(f)) != EOF && ch != '\n')
				;
			continue;
		}
		s = trim(line);
		if (!*s || *s == '#')
			continue;
		eq = strchr(s, '=');
		if (!eq) {
			buf_printf(errors, "%s:%d: expected \"key = value\", got \"%s\"\n", path,
				   lineno, s);
			continue;
		}
		*eq = '\0';
		key = trim(s);
		val = trim(eq + 1);
		for (i = 0; i < ARRAY_SIZE(keys); i++)
			if (!strcasecmp(key, keys[i].name))
				break;
		if (i == ARRAY_SIZE(keys)) {
			buf_printf(errors, "%s:%d: unknown key \"%s\"\n", path, lineno, key);
			continue;
		}
		set_value(c, &keys[i], val, path, lineno, errors);
	}
	fclose(f);
	return errors->len == before ? 0 : -1;
}
