/* subfilter.c -- subscription filters, `$share/<group>/` included: see subfilter.h. */
#include "subfilter.h"

#include <stdio.h>
#include <string.h>

#include "msg_err.h"

/* Checks the wildcard rules of one filter; returns NULL or what is wrong. */
static const char *filter_problem(const char *f)
{
    const char *p = f;

    if (*f == '\0') {
        return "the filter is empty";
    }
    for (; *p != '\0'; p++) {
        bool level_start = (p == f || p[-1] == '/');
        bool level_end = (p[1] == '\0' || p[1] == '/');

        if (*p == '+' && !(level_start && level_end)) {
            return "'+' is not a whole level";
        }
        if (*p == '#' && !(level_start && p[1] == '\0')) {
            return "'#' is not the whole last level";
        }
    }
    return NULL;
}

int subfilter_parse(const char *sub, struct subfilter *out, char *err, size_t errlen)
{
    const char *problem = NULL;
    const char *slash = NULL;

    memset(out, 0, sizeof(*out));
    if (sub == NULL) {
        snprintf(err, errlen, "no filter");
        return MSG_ERR_INVAL;
    }
    out->filter = sub;
    if (strncmp(sub, SUBFILTER_SHARE_PREFIX, strlen(SUBFILTER_SHARE_PREFIX)) == 0) {
        out->shared = true;
        out->group = sub + strlen(SUBFILTER_SHARE_PREFIX);
        slash = strchr(out->group, '/');
        if (slash == NULL) {
            snprintf(err, errlen, "$share without a group and a filter");
            return MSG_ERR_INVAL;
        }
        out->group_len = (size_t)(slash - out->group);
        if (out->group_len == 0) {
            snprintf(err, errlen, "$share with an empty group");
            return MSG_ERR_INVAL;
        }
        if (memchr(out->group, '+', out->group_len) != NULL ||
            memchr(out->group, '#', out->group_len) != NULL) {
            snprintf(err, errlen, "$share group with a wildcard");
            return MSG_ERR_INVAL;
        }
        out->filter = slash + 1;
    }
    problem = filter_problem(out->filter);
    if (problem != NULL) {
        snprintf(err, errlen, "%s", problem);
        return MSG_ERR_INVAL;
    }
    return MSG_OK;
}

/* The length of the level starting at s (up to '/' or the end). */
static size_t level_len(const char *s)
{
    size_t n = strcspn(s, "/");

    return n;
}

bool subfilter_within(const char *filter, const char *pattern)
{
    const char *f = filter;
    const char *p = pattern;

    for (;;) {
        size_t fl = level_len(f);
        size_t pl = level_len(p);
        bool f_last = (f[fl] == '\0');
        bool p_last = (p[pl] == '\0');

        if (pl == 1 && p[0] == '#') {
            return true; /* the pattern takes everything from here */
        }
        if (fl == 1 && f[0] == '#') {
            return false; /* the filter takes more than this level */
        }
        if (!(pl == 1 && p[0] == '+')) {
            if (fl == 1 && f[0] == '+') {
                return false; /* any level, where only one is allowed */
            }
            if (fl != pl || memcmp(f, p, fl) != 0) {
                return false;
            }
        }
        if (f_last && p_last) {
            return true;
        }
        if (f_last) {
            /* "a" is within "a/#": the pattern's rest must be exactly "#" */
            return strcmp(p + pl, "/#") == 0;
        }
        if (p_last) {
            return false; /* the filter goes deeper */
        }
        f += fl + 1;
        p += pl + 1;
    }
}
