/* driver_mmdf.c: MMDF files as UW writes them: the mbox driver's files with
 * each message between lines of four Ctrl-A bytes (unix_mmdf.c frames
 * them). Every file operation is the mbox driver's, which reads the frame
 * from the file's first bytes; this driver only recognises such files and
 * creates new ones in that frame. */
#include "driver.h"
#include "unix_int.h"

#include <unistd.h>

/* An MMDF file starts with the mark line (an empty file is an mbox, as
 * for UW). */
static int mmdf_valid(int dirfd, const char *leaf, const struct stat *st)
{
	char b[MMDF_MARK_LEN];
	int fd = mail_valid_open(dirfd, leaf, st);
	ssize_t n = fd < 0 ? -1 : pread(fd, b, sizeof b, 0);

	if (fd >= 0)
		close(fd);
	return n == (ssize_t)sizeof b && unix_mmdf_lead(b, sizeof b) != 0;
}

/* A new file holds the folder record in the MMDF frame, so UW knows it. */
static int mmdf_create(struct mail_session *sess, const char *path, struct mail_err *err)
{
	return unix_create_fmt(sess, path, UF_MMDF, err);
}

const struct driver driver_mmdf = {
	.name = "mmdf",
	.valid = mmdf_valid,
	.create = mmdf_create,
	UNIX_FILE_METHODS,
};
