/* conf.c -- `key value` configuration files: see conf.h. */
#include "conf.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "msg_err.h"

#define CONF_LINE_MAX 1024

static const struct conf_key *find_key(const struct conf_key *table, const char *key, size_t *idx)
{
    for (size_t i = 0; table[i].key != NULL; i++) {
        if (strcmp(table[i].key, key) == 0) {
            *idx = i;
            return &table[i];
        }
    }
    return NULL;
}

/* Parses a whole string as a number with strtod/strtoll: no trailing characters, no overflow. */
static int parse_ll(const char *s, long long *out)
{
    char *end = NULL;
    long long v;

    errno = 0;
    v = strtoll(s, &end, 10);
    if (end == s || errno == ERANGE) {
        return MSG_ERR_INVAL;
    }
    if (*end != '\0') {
        return MSG_ERR_INVAL;
    }
    *out = v;
    return MSG_OK;
}

static int parse_ms(const char *s, long long *out)
{
    static const struct {
        const char *suffix;
        long long mult;
    } units[] = {{"ms", 1}, {"s", 1000}, {"m", 60000}, {"h", 3600000}, {"", 1}};
    char *end = NULL;
    long long v;

    errno = 0;
    v = strtoll(s, &end, 10);
    if (end == s || errno == ERANGE || v < 0) {
        return MSG_ERR_INVAL;
    }
    for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
        if (strcmp(end, units[i].suffix) == 0) {
            if (v > INT64_MAX / units[i].mult) {
                return MSG_ERR_INVAL;
            }
            *out = v * units[i].mult;
            return MSG_OK;
        }
    }
    return MSG_ERR_INVAL;
}

static int parse_bool(const char *s, bool *out)
{
    static const char *yes[] = {"true", "yes", "on", "1"};
    static const char *no[] = {"false", "no", "off", "0"};

    for (size_t i = 0; i < 4; i++) {
        if (strcmp(s, yes[i]) == 0) {
            *out = true;
            return MSG_OK;
        }
        if (strcmp(s, no[i]) == 0) {
            *out = false;
            return MSG_OK;
        }
    }
    return MSG_ERR_INVAL;
}

/* Reads the first line of path into buf: the secret is never echoed into err. */
static int read_secret(const char *path, char *buf, size_t size, char *err, size_t errlen)
{
    FILE *f = NULL;
    size_t n;
    int rc = MSG_OK;

    f = fopen(path, "r");
    if (f == NULL) {
        /* the config names a file that is not there: a config error (exit 2), not I/O */
        snprintf(err, errlen, "cannot read secret file %s: %s", path, strerror(errno));
        rc = MSG_ERR_CONFIG;
        goto out;
    }
    if (fgets(buf, (int)size, f) == NULL) {
        snprintf(err, errlen, "secret file %s is empty", path);
        rc = MSG_ERR_CONFIG;
        goto out;
    }
    n = strcspn(buf, "\r\n");
    if (buf[n] == '\0' && !feof(f) && fgetc(f) != EOF) {
        snprintf(err, errlen, "secret in %s is longer than %zu bytes", path, size - 1);
        rc = MSG_ERR_CONFIG;
        goto out;
    }
    buf[n] = '\0';
    if (n == 0) {
        snprintf(err, errlen, "secret file %s is empty", path);
        rc = MSG_ERR_CONFIG;
    }
out:
    if (f != NULL) {
        fclose(f);
    }
    if (rc != MSG_OK) {
        memset(buf, 0, size);
    }
    return rc;
}

/* Stores one value into obj. err gets the reason only ("out of range 1..100"); the caller adds
 * file, line and key. */
static int set_value(const struct conf_key *k, void *obj, const char *value, char *err,
                     size_t errlen)
{
    char *field = (char *)obj + k->offset;
    long long ll = 0;
    double d = 0;
    char *end = NULL;

    switch (k->type) {
    case CONF_STR:
        if (strlen(value) >= k->size) {
            snprintf(err, errlen, "value longer than %zu bytes", k->size - 1);
            return MSG_ERR_CONFIG;
        }
        memcpy(field, value, strlen(value) + 1);
        return MSG_OK;
    case CONF_SECRET_FILE:
        if (value[0] == '\0') { /* only a default can be empty (a file line cannot): no secret */
            memset(field, 0, k->size);
            return MSG_OK;
        }
        return read_secret(value, field, k->size, err, errlen);
    case CONF_BOOL:
        if (parse_bool(value, (bool *)(void *)field) != MSG_OK) {
            snprintf(err, errlen, "'%s' is not a boolean (true/false, yes/no, on/off, 1/0)", value);
            return MSG_ERR_CONFIG;
        }
        return MSG_OK;
    case CONF_INT:
    case CONF_MS:
        if ((k->type == CONF_INT ? parse_ll(value, &ll) : parse_ms(value, &ll)) != MSG_OK) {
            snprintf(err, errlen, "'%s' is not %s", value,
                     k->type == CONF_INT ? "an integer" : "a duration (e.g. 250ms, 5s, 2m, 1h)");
            return MSG_ERR_CONFIG;
        }
        if ((double)ll < k->min || (double)ll > k->max) {
            snprintf(err, errlen, "%s out of range %.0f..%.0f%s", value, k->min, k->max,
                     k->type == CONF_MS ? " ms" : "");
            return MSG_ERR_CONFIG;
        }
        memcpy(field, &ll, sizeof(ll));
        return MSG_OK;
    case CONF_DOUBLE:
        errno = 0;
        d = strtod(value, &end);
        if (end == value || *end != '\0' || errno == ERANGE || !isfinite(d)) {
            snprintf(err, errlen, "'%s' is not a number", value);
            return MSG_ERR_CONFIG;
        }
        if (d < k->min || d > k->max) {
            snprintf(err, errlen, "%s out of range %g..%g", value, k->min, k->max);
            return MSG_ERR_CONFIG;
        }
        memcpy(field, &d, sizeof(d));
        return MSG_OK;
    }
    snprintf(err, errlen, "unknown key type");
    return MSG_ERR_CONFIG;
}

int conf_defaults(const struct conf_key *table, void *obj, char *err, size_t errlen)
{
    char why[MSG_ERRLEN];

    for (size_t i = 0; table[i].key != NULL; i++) {
        if (table[i].def == NULL) {
            continue;
        }
        if (set_value(&table[i], obj, table[i].def, why, sizeof(why)) != MSG_OK) {
            snprintf(err, errlen, "default of %s: %s", table[i].key, why);
            return MSG_ERR_CONFIG;
        }
    }
    return MSG_OK;
}

int conf_set(const struct conf_key *table, void *obj, const char *key, const char *value, char *err,
             size_t errlen)
{
    const struct conf_key *k;
    char why[MSG_ERRLEN];
    size_t idx = 0;

    k = find_key(table, key, &idx);
    if (k == NULL) {
        snprintf(err, errlen, "%s: unknown key", key);
        return MSG_ERR_CONFIG;
    }
    if (value[0] == '\0') {
        snprintf(err, errlen, "%s: missing value", key);
        return MSG_ERR_CONFIG;
    }
    if (set_value(k, obj, value, why, sizeof(why)) != MSG_OK) {
        snprintf(err, errlen, "%s: %s", key, why);
        return MSG_ERR_CONFIG;
    }
    return MSG_OK;
}

/* Every required key (no default) of a table must have been seen. */
static int check_required(const char *path, const char *where, const struct conf_key *table,
                          uint64_t seen, char *err, size_t errlen)
{
    for (size_t i = 0; table[i].key != NULL; i++) {
        if (table[i].def == NULL && (seen & ((uint64_t)1 << i)) == 0) {
            snprintf(err, errlen, "%s: %s%smissing required key %s", path, where,
                     where[0] != '\0' ? ": " : "", table[i].key);
            return MSG_ERR_CONFIG;
        }
    }
    return MSG_OK;
}

/* Splits a line in place into key and value; strips the comment-only and blank lines. Returns
 * false for a line with nothing to do. */
static bool split_line(char *line, char **key, char **value)
{
    char *p = line;
    char *end;

    while (isspace((unsigned char)*p)) {
        p++;
    }
    if (*p == '\0' || *p == '#') {
        return false;
    }
    end = p + strlen(p);
    while (end > p && isspace((unsigned char)end[-1])) {
        *--end = '\0';
    }
    *key = p;
    while (*p != '\0' && !isspace((unsigned char)*p)) {
        p++;
    }
    if (*p != '\0') {
        *p++ = '\0';
        while (isspace((unsigned char)*p)) {
            p++;
        }
    }
    *value = p;
    return true;
}

static size_t table_len(const struct conf_key *table)
{
    size_t n = 0;

    while (table[n].key != NULL) {
        n++;
    }
    return n;
}

int conf_load(const char *path, const struct conf_key *table, void *obj, conf_section_fn section,
              void *ctx, char *err, size_t errlen)
{
    FILE *f = NULL;
    char line[CONF_LINE_MAX + 2];
    char why[MSG_ERRLEN];
    char where[CONF_LINE_MAX] = "";
    const struct conf_key *cur = table;
    void *cur_obj = obj;
    uint64_t seen = 0;
    unsigned lineno = 0;
    int rc;

    if (table_len(table) > CONF_KEYS_MAX) {
        snprintf(err, errlen, "%s: internal: more than %d keys in a table", path, CONF_KEYS_MAX);
        return MSG_ERR_CONFIG;
    }
    rc = conf_defaults(table, obj, err, errlen);
    if (rc != MSG_OK) {
        return rc;
    }
    f = fopen(path, "r");
    if (f == NULL) {
        snprintf(err, errlen, "cannot open config file %s: %s", path, strerror(errno));
        return MSG_ERR_IO;
    }
    while (fgets(line, sizeof(line), f) != NULL) {
        char *key = NULL;
        char *value = NULL;
        const struct conf_key *k;
        size_t idx = 0;

        lineno++;
        if (strchr(line, '\n') == NULL && !feof(f)) {
            snprintf(err, errlen, "%s:%u: line longer than %d bytes", path, lineno, CONF_LINE_MAX);
            rc = MSG_ERR_CONFIG;
            goto out;
        }
        if (!split_line(line, &key, &value)) {
            continue;
        }
        if (key[0] == '[') {
            char *name = key + 1;
            char *arg = value;
            size_t vlen = strlen(value);

            /* "[name arg]" was split at the first blank: key "[name", value "arg]" */
            if (vlen > 0 && value[vlen - 1] == ']') {
                value[vlen - 1] = '\0';
            } else if (vlen == 0 && key[strlen(key) - 1] == ']') {
                key[strlen(key) - 1] = '\0';
            } else {
                snprintf(err, errlen, "%s:%u: section line must read [name arg]", path, lineno);
                rc = MSG_ERR_CONFIG;
                goto out;
            }
            rc = check_required(path, where, cur, seen, err, errlen);
            if (rc != MSG_OK) {
                goto out;
            }
            if (section == NULL) {
                snprintf(err, errlen, "%s:%u: [%s]: sections are not allowed in this file", path,
                         lineno, name);
                rc = MSG_ERR_CONFIG;
                goto out;
            }
            why[0] = '\0';
            cur = section(ctx, name, arg, &cur_obj, why, sizeof(why));
            if (cur == NULL) {
                snprintf(err, errlen, "%s:%u: [%s %s]: %s", path, lineno, name, arg, why);
                rc = MSG_ERR_CONFIG;
                goto out;
            }
            if (table_len(cur) > CONF_KEYS_MAX) {
                snprintf(err, errlen, "%s:%u: internal: section table too large", path, lineno);
                rc = MSG_ERR_CONFIG;
                goto out;
            }
            rc = conf_defaults(cur, cur_obj, why, sizeof(why));
            if (rc != MSG_OK) {
                snprintf(err, errlen, "%s:%u: [%s %s]: %s", path, lineno, name, arg, why);
                goto out;
            }
            snprintf(where, sizeof(where), "[%s %s]", name, arg);
            seen = 0;
            continue;
        }
        k = find_key(cur, key, &idx);
        if (k == NULL) {
            snprintf(err, errlen, "%s:%u: %s: unknown key%s%s", path, lineno, key,
                     where[0] != '\0' ? " in " : "", where);
            rc = MSG_ERR_CONFIG;
            goto out;
        }
        if (seen & ((uint64_t)1 << idx)) {
            snprintf(err, errlen, "%s:%u: %s: key given twice", path, lineno, key);
            rc = MSG_ERR_CONFIG;
            goto out;
        }
        if (value[0] == '\0') {
            snprintf(err, errlen, "%s:%u: %s: missing value", path, lineno, key);
            rc = MSG_ERR_CONFIG;
            goto out;
        }
        rc = set_value(k, cur_obj, value, why, sizeof(why));
        if (rc != MSG_OK) {
            snprintf(err, errlen, "%s:%u: %s: %s", path, lineno, key, why);
            goto out;
        }
        seen |= (uint64_t)1 << idx;
    }
    if (ferror(f)) {
        snprintf(err, errlen, "%s: read error: %s", path, strerror(errno));
        rc = MSG_ERR_IO;
        goto out;
    }
    rc = check_required(path, where, cur, seen, err, errlen);
out:
    fclose(f);
    return rc;
}

unsigned conf_key_line(const char *path, const char *key)
{
    FILE *f = fopen(path, "r");
    char line[CONF_LINE_MAX + 2];
    size_t klen = strlen(key);
    unsigned lineno = 0;
    unsigned found = 0;

    if (f == NULL) {
        return 0;
    }
    while (found == 0 && fgets(line, sizeof(line), f) != NULL) {
        const char *p = line;

        lineno++;
        while (*p == ' ' || *p == '\t') {
            p++;
        }
        if (*p == '[') {
            break; /* a section's keys are not the file's */
        }
        if (strncmp(p, key, klen) == 0 && (p[klen] == ' ' || p[klen] == '\t')) {
            found = lineno;
        }
    }
    fclose(f);
    return found;
}

void conf_key_error(char *err, size_t errlen, const char *path, const char *key, const char *fmt,
                    ...)
{
    unsigned line = conf_key_line(path, key);
    char why[MSG_ERRLEN];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(why, sizeof(why), fmt, ap);
    va_end(ap);
    if (line > 0) {
        snprintf(err, errlen, "%s:%u: %s: %s", path, line, key, why);
    } else {
        snprintf(err, errlen, "%s: %s: %s", path, key, why);
    }
}

void conf_print(FILE *f, const struct conf_key *table)
{
    for (size_t i = 0; table[i].key != NULL; i++) {
        fprintf(f, "%s%-24s %-16s # %s\n", table[i].def == NULL ? "" : "#", table[i].key,
                table[i].def == NULL ? "(required)" : table[i].def, table[i].help);
    }
}
