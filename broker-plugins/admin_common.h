/* admin_common.h -- what every command of pantau-admin shares (admin.c, admin_registry.c,
 * admin_redrive.c): the one way a bad argument is reported.
 *
 * Not for: the broker plugin (admin*.c are pantau-admin's alone). */
#ifndef ADMIN_COMMON_H
#define ADMIN_COMMON_H

/* Prints "pantau-admin: <fmt...>" and the hint to --help on stderr; returns 2, the exit status
 * of bad usage, so that a caller can `return admin_usage_fail(...)`. */
int admin_usage_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
