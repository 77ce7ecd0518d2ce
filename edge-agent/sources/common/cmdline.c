/* cmdline.c -- a config value split into argv without a shell (see cmdline.h). */
#include "cmdline.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "msg_err.h"

int cmdline_split(const char *s, char *buf, size_t buflen, char *argv[CMDLINE_ARGS_MAX + 1],
                  size_t *argc, char *err, size_t errlen)
{
    size_t out = 0;
    size_t n = 0;
    const char *p = s;

    *argc = 0;
    argv[0] = NULL;
    if (buflen < strlen(s) + 1) {
        snprintf(err, errlen, "command: internal: buffer too small");
        return MSG_ERR_CONFIG;
    }
    for (;;) {
        char quote = '\0';
        bool word = false;

        while (*p == ' ' || *p == '\t') {
            p++;
        }
        if (*p == '\0') {
            break;
        }
        if (n == CMDLINE_ARGS_MAX) {
            snprintf(err, errlen, "command: more than %d words", CMDLINE_ARGS_MAX);
            return MSG_ERR_CONFIG;
        }
        argv[n] = buf + out;
        while (*p != '\0') {
            if (quote == '\0' && (*p == ' ' || *p == '\t')) {
                break;
            }
            if (quote == '\0' && (*p == '\'' || *p == '"')) {
                quote = *p++;
                word = true;
                continue;
            }
            if (quote != '\0' && *p == quote) {
                quote = '\0';
                p++;
                continue;
            }
            if (*p == '\\' && quote != '\'') {
                p++;
                if (*p == '\0') {
                    snprintf(err, errlen, "command: ends in a backslash");
                    return MSG_ERR_CONFIG;
                }
            }
            buf[out++] = *p++;
            word = true;
        }
        if (quote != '\0') {
            snprintf(err, errlen, "command: unterminated %c quote", quote);
            return MSG_ERR_CONFIG;
        }
        if (word) {
            buf[out++] = '\0';
            n++;
        }
    }
    if (n == 0) {
        snprintf(err, errlen, "command: empty");
        return MSG_ERR_CONFIG;
    }
    argv[n] = NULL;
    *argc = n;
    return MSG_OK;
}
