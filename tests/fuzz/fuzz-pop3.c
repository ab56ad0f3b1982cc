/* fuzz-pop3.c: libFuzzer harness for ipop3d's TRANSACTION commands (STAT,
 * LIST, RETR, TOP, DELE, NOOP, RSET, UIDL, CAPA) on a small read-only
 * maildrop, and for the dot-stuffing writer pop3_send_text. ipop3d.c's
 * dispatch() is static, so its checks are repeated here; QUIT and the
 * AUTHORIZATION commands (PAM, exit) are left out. */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pop3.h"
#include "pop3_text.h"

static const char sample[] =
	"From a@example.org Mon Jan  1 10:00:00 2024\n"
	"Subject: one\n\n.leading dot\nline two\n..two dots\n\n"
	"From b@example.org Tue Jan  2 11:00:00 2024\n"
	"Subject: two\r\n\r\nbody\r\n.\r\nmore\n\n";

static struct pop3 s;
static char box_path[] = "/tmp/fuzz-pop3-box-XXXXXX";
static volatile size_t sink;

/* Only SASL exchanges read more lines; they are not reached from TRANSACTION. */
void pop3_read_line(struct pop3 *st, struct buf *line)
{
	abort();
}

static void cleanup(void)
{
	unlink(box_path);
}

static void setup(void)
{
	int fd = mkstemp(box_path);
	struct mail_err err;

	if (fd < 0 || write(fd, sample, sizeof sample - 1) != (ssize_t)(sizeof sample - 1))
		abort();
	close(fd);
	atexit(cleanup);
	s.p.daemon = "ipop3d";
	s.p.lockfd = -1;
	s.state = P3_TRANS;
	io_init(&s.p.io, -1, open("/dev/null", O_WRONLY));
	mail_session_init(&s.p.sess, "fuzz", "/", "/nonexistent");
	s.p.sess.allow_outside_home = 1;
	if (mail_open(&s.p.sess, box_path, 1, NULL, NULL, &s.p.box, &err) < 0) {
		fprintf(stderr, "fuzz-pop3: %s\n", err.text);
		abort();
	}
	s.p.nmsgs = s.p.box->nmsgs;
	s.p.msgs = xcalloc(s.p.nmsgs + 1, sizeof *s.p.msgs);
	for (uint32_t i = 0; i < s.p.nmsgs; i++) {
		s.p.msgs[i].uid = s.p.box->msgs[i]->uid;
		s.p.msgs[i].size = s.p.box->msgs[i]->size;
	}
	s.p.uidvalidity = s.p.box->uidvalidity;
}

/* One command line, NUL-terminated as ipop3d's line buffer is. */
static void dispatch(char *line, size_t len)
{
	size_t klen = strcspn(line, " ");
	const struct pop3_command *c;

	if (!len || memchr(line, '\0', len))
		return;
	c = pop3_command_find(line, klen);
	if (!c || !(c->states & s.state) || c->fn == pop3_quit)
		return;
	c->fn(&s, klen < len ? line + klen + 1 : NULL);
	io_flush(&s.p.io);
}

static void sink_fn(void *ctx, const char *p, size_t n)
{
	if (n)
		sink += (unsigned char)p[0] + (unsigned char)p[n - 1];
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int ready;

	if (!ready) {
		setup();
		ready = 1;
	}
	if (size < 1)
		return 0;
	if (data[0] & 1) {
		/* exact-size copy: ASan sees any read past the text */
		char *t = xmalloc(size - 1 ? size - 1 : 1);
		memcpy(t, data + 1, size - 1);
		pop3_send_text(sink_fn, NULL, t, size - 1, (long long)(data[0] >> 1) - 64);
		free(t);
		return 0;
	}
	for (uint32_t i = 0; i < s.p.nmsgs; i++)
		s.p.msgs[i].deleted = 0;
	const uint8_t *p = data + 1, *end = data + size;
	while (p < end) {
		const uint8_t *nl = memchr(p, '\n', (size_t)(end - p));
		size_t n = (size_t)((nl ? nl : end) - p), whole = n;
		char *line = xmalloc(n + 1);
		memcpy(line, p, n);
		line[n] = '\0';
		if (n && line[n - 1] == '\r')
			line[--n] = '\0';
		dispatch(line, n);
		free(line);
		p += whole + 1;
	}
	return 0;
}
