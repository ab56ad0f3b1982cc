/* fuzz-mbox.c: libFuzzer harness for the mbox driver (driver_unix.c): the
 * input becomes a mailbox file, opened read-only through the library; every
 * message's header (in order), text and structure is fetched, then STATUS
 * runs on the file.
 * Session home "/" makes uidx_path() refuse, so no index is read or written. */
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mail_api.h"
#include "rfc822_api.h"

static char path[] = "/tmp/fuzz-mbox-XXXXXX";
static volatile int sink;

static void cleanup(void)
{
	unlink(path);
}

/* Replace the file's contents with the input (one path for all runs). */
static int write_box(const uint8_t *data, size_t size)
{
	int fd = open(path, O_WRONLY | O_TRUNC);

	if (fd < 0)
		return -1;
	while (size) {
		ssize_t w = write(fd, data, size);
		if (w <= 0) {
			close(fd);
			return -1;
		}
		data += w;
		size -= (size_t)w;
	}
	return close(fd);
}

static void walk_box(struct mailbox *box)
{
	struct mail_err err;
	const char *text;
	size_t len;
	struct envelope *env;
	struct body *body;

	/* headers in order first: the driver reads them ahead (unix_ahead.c) */
	for (uint32_t i = 1; i <= box->nmsgs; i++)
		if (mail_fetch_header(box, i, &text, &len, &err) == 0 && len)
			sink += text[0] + text[len - 1];
	for (uint32_t i = 1; i <= box->nmsgs; i++) {
		if (mail_fetch_text(box, i, &text, &len, &err) == 0 && len)
			sink += text[0] + text[len - 1];   /* ASan checks both ends */
		if (mail_fetch_structure(box, i, &env, &body, &err) == 0 && body)
			sink += body->type ? body->type[0] : 0;
		sink += (int)mail_msgno(box, box->msgs[i - 1]->uid);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct mail_session sess;
	static int ready;
	struct mailbox *box;
	struct mail_status st;
	struct mail_err err;

	if (!ready) {
		int fd = mkstemp(path);
		if (fd < 0)
			abort();
		close(fd);
		atexit(cleanup);
		mail_session_init(&sess, "fuzz", "/", "/nonexistent");
		sess.allow_outside_home = 1;
		ready = 1;
	}
	if (write_box(data, size) < 0)
		abort();
	if (mail_open(&sess, path, 1, NULL, NULL, &box, &err) == 0) {
		walk_box(box);
		mail_ping(box, &err);
		mail_close(box, 0, NULL);
	}
	mail_status(&sess, path, &st, &err);
	return 0;
}
