/* conf.h -- `key value` configuration files for pantau's daemons.
 *
 * The format is mosquitto.conf's: one `key value` per line, `#` starts a comment line, blank lines
 * are skipped, the value is the rest of the line with surrounding white space removed. Keys are
 * declared in a const table (fluent-bit's config map): an unknown key, a repeated key or a bad
 * value is an error that names the file, the line and the key. Values land in fixed-size fields
 * of the caller's struct through offsetof(), so loading allocates nothing.
 *
 * conf_set sets one key from a name and a value, for settings that do not come from a file.
 *
 * A line `[name arg]` opens a section (the edge agent's sources); the caller's section callback
 * picks the table for the lines that follow, and a section's required keys are checked when it
 * closes. Files without sections never see one.
 *
 * Not for: secrets. A key of type CONF_SECRET_FILE names a file whose first line is read into the
 * field; the secret itself is never in the config file and never appears in an error message. */
#ifndef CONF_H
#define CONF_H

#include <stddef.h>
#include <stdio.h>

enum conf_type {
    CONF_STR,    /* char[size] */
    CONF_INT,    /* long long, checked against [min, max] */
    CONF_BOOL,   /* bool: true/false, yes/no, on/off, 1/0 */
    CONF_DOUBLE, /* double, finite, checked against [min, max] */
    CONF_MS,     /* long long milliseconds: "250ms", "5s", "2m", "1h", or a bare number of ms */
    /* char[size]: the first line of the file the value names; a default of "" means no secret
     * (an empty string) */
    CONF_SECRET_FILE,
};

struct conf_key {
    const char *key;
    enum conf_type type;
    const char *def; /* default as text, parsed like a file value; NULL = required */
    size_t offset;   /* offsetof(struct <prog>_config, field) */
    size_t size;     /* sizeof the field (strings: the buffer, NUL included) */
    double min;      /* numbers: allowed range, inclusive */
    double max;
    const char *help; /* one line for --help and the sample config */
};

#define CONF_END                               \
    {                                          \
        NULL, CONF_STR, NULL, 0, 0, 0, 0, NULL \
    }
#define CONF_KEYS_MAX 64 /* keys in one table: conf_load tracks them in a 64-bit set */

/* Called for a `[name arg]` line. Returns the table for the section's keys and sets *obj to the
 * struct they fill (borrowed by conf_load until the next section), or NULL with err set. */
typedef const struct conf_key *(*conf_section_fn)(void *ctx, const char *name, const char *arg,
                                                  void **obj, char *err, size_t errlen);

/* Sets every key of table that has a default in obj. Returns MSG_OK or MSG_ERR_CONFIG. */
int conf_defaults(const struct conf_key *table, void *obj, char *err, size_t errlen);

/* Sets the key named key (borrowed) of table in obj from value (borrowed), as a file line
 * `key value` would: for settings that come as name and value pairs, not as a file (the broker
 * plugin's plugin_opt_<key> options). Defaults are conf_defaults' job. Returns MSG_OK, or
 * MSG_ERR_CONFIG with err reading "KEY: why" (an unknown key, a missing value, a bad value), so
 * that the caller can name the option as its users write it. */
int conf_set(const struct conf_key *table, void *obj, const char *key, const char *value, char *err,
             size_t errlen);

/* Reads path (borrowed) into obj: defaults first, then the file. section may be NULL (a section
 * line is then an error). Returns MSG_OK, MSG_ERR_IO (err names the file and errno's text) or
 * MSG_ERR_CONFIG (err reads "FILE:LINE: KEY: why"; also when a secret file it names cannot be
 * read). A required key that is missing is an error
 * naming the file and the key. */
int conf_load(const char *path, const struct conf_key *table, void *obj, conf_section_fn section,
              void *ctx, char *err, size_t errlen);

/* The line of path (borrowed) that sets key (borrowed), counting from 1, or 0 when no line
 * before the first section sets it (a default) or the file cannot be read. For errors that
 * conf_load cannot see, which concern a value's meaning (or two keys together) rather than its
 * syntax: the daemons re-read the file to name the line, as conf_load's errors do. */
unsigned conf_key_line(const char *path, const char *key);

/* err = "FILE:LINE: KEY: why" (why a printf format), or "FILE: KEY: why" when no line sets key
 * (conf_key_line). path, key and fmt are borrowed. */
void conf_key_error(char *err, size_t errlen, const char *path, const char *key, const char *fmt,
                    ...) __attribute__((format(printf, 5, 6)));

/* Writes "key value  # help" lines with the defaults to f, for `--help` and sample configs. */
void conf_print(FILE *f, const struct conf_key *table);

#endif
