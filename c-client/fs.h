/* fs.h (classic): memory as the classic library hands it out; fs_get
 * never returns NULL (it ends the program through mm_fatal instead). */
#ifndef CLASSIC_FS_H
#define CLASSIC_FS_H
#include <stddef.h>
void *fs_get(size_t size);
void fs_resize(void **block, size_t size);
void fs_give(void **block);
#endif
