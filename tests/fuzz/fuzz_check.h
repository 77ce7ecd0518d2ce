/* fuzz_check.h -- checks shared by the fuzz targets: a failed invariant aborts, so libFuzzer
 * keeps the input as a crash. Not for: anything but tests/fuzz. */
#ifndef FUZZ_CHECK_H
#define FUZZ_CHECK_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "msg_err.h"

#define FUZZ_ASSERT(cond)                                                                     \
    do {                                                                                      \
        if (!(cond)) {                                                                        \
            fprintf(stderr, "%s:%d: invariant failed: %s\n", __FILE__, __LINE__, #cond);      \
            abort();                                                                          \
        }                                                                                     \
    } while (0)

/* err is a NUL-terminated line of printable ASCII (it becomes a log line or a dead-letter
 * reason), and not empty when rc is an error. */
static inline void fuzz_check_err(int rc, const char *err)
{
    size_t n = strnlen(err, MSG_ERRLEN);

    FUZZ_ASSERT(n < MSG_ERRLEN);
    for (size_t i = 0; i < n; i++) {
        FUZZ_ASSERT(err[i] >= 0x20 && err[i] < 0x7f);
    }
    if (rc != MSG_OK) {
        FUZZ_ASSERT(n > 0);
    }
    /* the strict lexer accepted the bytes, so cJSON must have built the tree */
    FUZZ_ASSERT(rc != MSG_ERR_NOMEM);
}

#endif
