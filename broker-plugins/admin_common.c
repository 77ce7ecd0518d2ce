/* admin_common.c -- what every command of pantau-admin shares (see admin_common.h). */
#include "admin_common.h"

#include <stdarg.h>
#include <stdio.h>

int admin_usage_fail(const char *fmt, ...)
{
    va_list ap;

    fprintf(stderr, "pantau-admin: ");
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\nTry 'pantau-admin --help'.\n");
    return 2;
}
