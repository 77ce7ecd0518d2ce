/* cmdline.h -- a command line from a config value split into argv, without a shell.
 *
 * The flood source runs a command (`command /usr/bin/read-sensor --port /dev/ttyUSB0`) every
 * sample interval. It is never given to system() or sh -c: the value is split here into words
 * at blanks, with '...' and "..." quoting blanks and a backslash escaping the next character
 * (outside single quotes), so no shell syntax ($, `, ;, |, >, globs) has any meaning.
 *
 * Not for: running it (source_flood.c does, with posix_spawnp). No allocation: the words are
 * written into the caller's buffer. */
#ifndef CMDLINE_H
#define CMDLINE_H

#include <stddef.h>

#define CMDLINE_ARGS_MAX 32   /* words, the program included */

/* Splits s (borrowed) into words written into buf (buflen bytes, caller-owned; strlen(s) + 1
 * always suffices) and pointed to by argv[0..*argc-1] (into buf), argv[*argc] = NULL (so argv
 * needs CMDLINE_ARGS_MAX + 1 slots). Returns MSG_OK, or MSG_ERR_CONFIG with err saying why
 * (empty, an unterminated quote, a trailing backslash, more than CMDLINE_ARGS_MAX words). */
int cmdline_split(const char *s, char *buf, size_t buflen, char *argv[CMDLINE_ARGS_MAX + 1],
                  size_t *argc, char *err, size_t errlen);

#endif
