/* msg_hex.c -- hexadecimal text and bytes (see msg_hex.h). */
#include "msg_hex.h"

#include <stdbool.h>

#include "msg_err.h"

static const char hex_digits[] = "0123456789abcdef";

void msg_hex_encode(const unsigned char *in, size_t n, char *out)
{
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = hex_digits[in[i] >> 4];
        out[2 * i + 1] = hex_digits[in[i] & 0x0f];
    }
    out[2 * n] = '\0';
}

static int nibble(char c, bool upper_too)
{
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }
    if (upper_too && c >= 'A' && c <= 'F') {
        return c - 'A' + 10;
    }
    return -1;
}

static int decode(const char *hex, size_t hexlen, unsigned char *out, size_t outlen,
                  size_t *bad_off, bool upper_too)
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
        int hi = nibble(hex[2 * i], upper_too);
        int lo = nibble(hex[2 * i + 1], upper_too);

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

int msg_hex_decode(const char *hex, size_t hexlen, unsigned char *out, size_t outlen,
                   size_t *bad_off)
{
    return decode(hex, hexlen, out, outlen, bad_off, false);
}

int msg_hex_decode_any(const char *hex, size_t hexlen, unsigned char *out, size_t outlen,
                       size_t *bad_off)
{
    return decode(hex, hexlen, out, outlen, bad_off, true);
}
