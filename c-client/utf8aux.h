/* utf8aux.h (classic): where classic programs look for utf8_mime2text. */
#include "utf8.h"
