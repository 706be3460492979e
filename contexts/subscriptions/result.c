#include "result.h"

#include <stdarg.h>
#include <stdio.h>

enum sub_result sub_fail(enum sub_result result, char *why, size_t why_size, const char *fmt, ...)
{
    va_list ap;

    if (why && why_size > 0) {
        va_start(ap, fmt);
        if (vsnprintf(why, why_size, fmt, ap) < 0)
            why[0] = '\0';
        va_end(ap);
    }
    return result;
}
