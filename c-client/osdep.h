/* osdep.h (classic): what the classic Linux port declared for programs. */
#ifndef CLASSIC_OSDEP_H
#define CLASSIC_OSDEP_H
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "fs.h"
#include "env.h"
void ssl_onceonlyinit(void);
#endif
