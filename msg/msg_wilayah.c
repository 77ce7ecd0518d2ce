/* msg_wilayah.c -- kelurahan codes, from the data file at build time: see msg_wilayah.h. */
#include "msg_wilayah.h"

#include <string.h>

/* Sorted ascending by gen_wilayah.cmake, so that lookups can bisect. */
static const char *const kelurahan_codes[] = {
#include "msg_wilayah_codes.inc"
};

#define N_CODES (sizeof(kelurahan_codes) / sizeof(kelurahan_codes[0]))

bool msg_kelurahan_valid(const char *code, size_t len)
{
    size_t lo = 0;
    size_t hi = N_CODES;

    if (len != MSG_KELURAHAN_LEN) {
        return false;
    }
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = memcmp(code, kelurahan_codes[mid], MSG_KELURAHAN_LEN);

        if (c == 0) {
            return true;
        }
        if (c < 0) {
            hi = mid;
        } else {
            lo = mid + 1;
        }
    }
    return false;
}

size_t msg_kelurahan_count(void)
{
    return N_CODES;
}

const char *msg_kelurahan_code(size_t i)
{
    return i < N_CODES ? kelurahan_codes[i] : NULL;
}
