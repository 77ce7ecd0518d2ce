/* msg_hex.c -- lower-case hexadecimal text to bytes (see msg_hex.h). */
#include "msg_hex.h"

#include "msg_err.h"

static int nibble(char c)
{
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }
    return -1;
}

int msg_hex_decode(const char *hex, size_t hexlen, unsigned char *out, size_t outlen,
                   size_t *bad_off)
{
    size_t off = 0;
    int rc = MSG_ERR_INVAL;

    if (hexlen % 2 != 0) {
        off = hexlen;
        goto out;
    }
    if (outlen < hexlen / 2) {
        goto out;
    }
    for (size_t i = 0; i < hexlen / 2; i++) {
        int hi = nibble(hex[2 * i]);
        int lo = nibble(hex[2 * i + 1]);

        if (hi < 0 || lo < 0) {
            off = hi < 0 ? 2 * i : 2 * i + 1;
            goto out;
        }
        out[i] = (unsigned char)(hi << 4 | lo);
    }
    rc = MSG_OK;
out:
    if (rc != MSG_OK && bad_off != NULL) {
        *bad_off = off;
    }
    return rc;
}
