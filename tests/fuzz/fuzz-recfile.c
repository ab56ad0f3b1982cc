/* fuzz-recfile.c: libFuzzer harness for the per-user record files' readers
 * (recfile.c's frame under metadata.c, objectid.c, urlauth.c and
 * pop3_uidl.c), the name checks beside them and the POP3 UIDL line. Aborts when a parse keeps a record the writer
 * could not have written. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "imapurl.h"
#include "metadata.h"
#include "objectid.h"
#include "pop3_uidl.h"

/* A refused file leaves nothing behind; a read one no more records than
 * max. Whether there are records to look at. */
static int parsed(int rc, const void *v, size_t n, size_t max)
{
	if ((rc < 0 && (n || v)) || n > max)
		abort();
	return rc == 0;
}

/* ~/.imapd-metadata's reader. */
static void metadata(const char *s, size_t size)
{
	struct mail_meta_set set;

	mail_meta_name_valid(s, size);
	if (!parsed(mail_meta_parse(s, size, &set), set.v, set.n, MAIL_META_MAXENTRIES))
		return;
	for (size_t i = 0; i < set.n; i++) {
		const struct mail_meta *m = &set.v[i];
		if (!mail_meta_name_valid(m->name, strlen(m->name)) || m->len > MAIL_META_MAXSIZE ||
		    m->value[m->len] != '\0')
			abort();
	}
	mail_meta_free(&set);
}

/* ~/.imapd-mailboxids' reader. */
static void mailboxids(const char *s, size_t size)
{
	struct mail_mboxid_set set;

	mail_objectid_valid(s, size);
	if (!parsed(mail_mboxid_parse(s, size, &set), set.v, set.n, MAIL_MBOXID_MAX))
		return;
	for (size_t i = 0; i < set.n; i++)
		if (!mail_objectid_valid(set.v[i].id, strlen(set.v[i].id)) ||
		    strlen(set.v[i].id) != MAIL_OBJECTID_SIZE - 1 || !set.v[i].name[0])
			abort();
	mail_mboxid_free(&set);
}

/* ~/.imapd-urlauth's reader, for one mailbox and for any. */
static void urlauth_keys(const char *s, size_t size)
{
	static const char *const boxes[] = {"INBOX", NULL};
	char hex[URLAUTH_KEY_HEX];

	for (size_t k = 0; k < 2; k++) {
		if (urlauth_key_find(s, size, boxes[k], 1, hex) != 0)
			continue;
		if (strlen(hex) != URLAUTH_KEY_HEX - 1 ||
		    strspn(hex, "0123456789abcdef") != URLAUTH_KEY_HEX - 1)
			abort();
	}
}

/* A UIDL string as RFC 1939 has it. */
static int uidl_ok(const char *u)
{
	size_t n = strlen(u);

	for (size_t i = 0; i < n; i++)
		if (u[i] < 0x21 || u[i] > 0x7e)
			return 0;
	return n && n <= POP3_UIDL_MAX;
}

/* ~/.c-client-pop3's reader, and the input as one UIDL answer line. */
static void pop3_uidls(const char *s, size_t size)
{
	struct pop3_uidl_set set = {0};
	unsigned long no;
	const char *u;
	size_t ul;

	if (pop3_uidl_line(s, size, &no, &u, &ul) == 0) {
		char *one = strndup(u, ul);
		if (!no || no > UINT32_MAX || u + ul != s + size || !uidl_ok(one))
			abort();
		free(one);
	}
	if (!parsed(pop3_uidl_parse(s, size, &set), set.v, set.total, POP3_UIDL_ENTRIES))
		return;
	for (size_t i = 0; i < set.n; i++)
		for (size_t j = 0; j < set.v[i].n; j++)
			if (!uidl_ok(set.v[i].v[j].uidl) || set.v[i].v[j].uid >= set.v[i].next ||
			    (j && set.v[i].v[j].uid <= set.v[i].v[j - 1].uid))
				abort();
	pop3_uidl_free(&set);
}

/* The readers, each run on every input. */
static void (*const readers[])(const char *, size_t) = {metadata, mailboxids, urlauth_keys,
							pop3_uidls};

/* Each reader on a copy of just size bytes: a read past the end shows. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = malloc(size ? size : 1);

	memcpy(s, data, size);
	for (size_t i = 0; i < sizeof readers / sizeof readers[0]; i++)
		readers[i](s, size);
	free(s);
	return 0;
}
