/* msg_err.c -- names and descriptions of the MSG_ERR_* codes: see msg_err.h. */
#include "msg_err.h"

#include <stddef.h>

struct err_name {
    const char *name;
    const char *text;
};

/* Indexed by code; keep in the order of the enum in msg_err.h. */
static const struct err_name err_names[] = {
    {"MSG_OK", "success"},
    {"MSG_ERR_NOMEM", "out of memory"},
    {"MSG_ERR_INVAL", "invalid argument"},
    {"MSG_ERR_TOPIC", "not a protocol topic"},
    {"MSG_ERR_JSON", "payload is not I-JSON"},
    {"MSG_ERR_SCHEMA", "payload breaks the contract"},
    {"MSG_ERR_IO", "input/output error"},
    {"MSG_ERR_DB", "database error"},
    {"MSG_ERR_FULL", "no room"},
    {"MSG_ERR_CONFIG", "bad configuration"},
    {"MSG_ERR_CLASH", "same reading stored before with other content"},
};

static const struct err_name *lookup(int rc)
{
    static const struct err_name unknown = {"MSG_ERR_UNKNOWN", "unknown error"};

    if (rc < 0 || (size_t)rc >= sizeof(err_names) / sizeof(err_names[0])) {
        return &unknown;
    }
    return &err_names[rc];
}

const char *msg_strerror(int rc)
{
    return lookup(rc)->text;
}

const char *msg_errname(int rc)
{
    return lookup(rc)->name;
}
