/* test-names.c: the name watch behind NOTIFY's MailboxName and
 * SubscriptionChange (mail_names.c): each change of the names told once,
 * a rename as a rename, nothing told when nothing changed, and a planted
 * link never taken for a mailbox. */
#include <unistd.h>

#include "mail_names.h"
#include "mbox_fixture.h"
#include "test.h"

static struct mail_session s;

/* What one mail_names_changed told: "C name", "R new old", ... */
static char seen[8][128];
static size_t nseen;

/* mail_names_changed's callback: the change as a short line. */
static void record(void *ctx, const struct mail_name_change *ch)
{
	static const char what[] = "CDRASU";

	if (nseen < ARRAY_SIZE(seen))
		snprintf(seen[nseen++], sizeof seen[0], "%c %s%s%s", what[ch->what], ch->name,
			 ch->oldname ? " " : "", ch->oldname ? ch->oldname : "");
}

/* The changes told now (after the library's own short wait). */
static size_t changes(struct mail_names *w)
{
	nseen = 0;
	CHECK(mail_names_changed(&s, w, record, NULL) == (int)nseen);
	return nseen;
}

static void made_renamed_deleted_subscribed(void)
{
	struct mail_err err;
	struct mail_names *w;

	fixture_session(&s, "test-names");
	CHECK((w = mail_names_watch(&s, &err)) != NULL);
	CHECK(changes(w) == 0);
	CHECK(mail_create(&s, "a", &err) == 0);
	CHECK(changes(w) == 1 && !strcmp(seen[0], "C a"));
	CHECK(mail_rename(&s, "a", "b", &err) == 0);
	CHECK(changes(w) == 1 && !strcmp(seen[0], "R b a"));
	CHECK(mail_subscribe(&s, "b", 1, &err) == 0);
	CHECK(changes(w) == 1 && !strcmp(seen[0], "S b"));
	CHECK(mail_subscribe(&s, "b", 0, &err) == 0);
	CHECK(changes(w) == 1 && !strcmp(seen[0], "U b"));
	CHECK(mail_delete(&s, "b", &err) == 0);
	CHECK(changes(w) == 1 && !strcmp(seen[0], "D b"));
	mail_names_free(w);
}

static void planted_link_is_no_mailbox(void)
{
	struct mail_err err;
	struct mail_names *w;

	fixture_session(&s, "test-names");
	CHECK(mail_create(&s, "real", &err) == 0);
	CHECK((w = mail_names_watch(&s, &err)) != NULL);
	CHECK(symlink(fixture_path(NULL, "real"), fixture_path(NULL, "evil")) == 0);
	CHECK(changes(w) == 0);
	/* the watch is still live behind it */
	CHECK(mail_create(&s, "good", &err) == 0);
	CHECK(changes(w) == 1 && !strcmp(seen[0], "C good"));
	mail_names_free(w);
}

int main(void)
{
	RUN(made_renamed_deleted_subscribed);
	RUN(planted_link_is_no_mailbox);
	fixture_remove_tmpdir();
	mail_session_free(&s);
	return test_summary("test-names");
}
