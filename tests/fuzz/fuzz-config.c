/* fuzz-config.c: libFuzzer harness for the configuration file reader: the
 * input is written to one temp file and loaded over the defaults; every
 * string the loader kept must be a proper C string. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"

static char path[] = "/tmp/fuzz-config-XXXXXX";
static volatile size_t sink;

static void cleanup(void)
{
	unlink(path);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int ready;
	struct config c;
	struct buf errors;
	FILE *f;

	if (!ready) {
		int fd = mkstemp(path);
		if (fd < 0)
			abort();
		close(fd);
		atexit(cleanup);
		ready = 1;
	}
	f = fopen(path, "w");
	if (!f || fwrite(data, 1, size, f) != size || fclose(f) != 0)
		abort();
	config_defaults(&c);
	buf_init(&errors);
	config_load(&c, path, 1, &errors);
	const char *strs[] = { c.ssl_dir, c.spool_dir, c.pam_service, c.tls_cert,
			       c.tls_key, c.tls_min_version, c.tls_ciphers };
	for (size_t i = 0; i < sizeof strs / sizeof strs[0]; i++)
		if (strs[i])
			sink += strlen(strs[i]);
	if (errors.len)
		sink += (size_t)errors.data[errors.len - 1];
	buf_free(&errors);
	config_free(&c);
	return 0;
}
