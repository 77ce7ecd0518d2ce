/* msg_utf8.c -- strict UTF-8: see msg_utf8.h. */
#include "msg_utf8.h"

/* Table 3-7 of the Unicode standard ("well-formed UTF-8 byte sequences") written as checks: the
 * second byte's range depends on the first byte, which is what rules out overlong forms (E0, F0),
 * surrogates (ED) and code points above U+10FFFF (F4). */
size_t msg_utf8_decode(const unsigned char *s, size_t len, uint32_t *cp, const char **why)
{
    const char *reason = NULL;
    unsigned char b0 = s[0];
    unsigned char lo = 0x80;
    unsigned char hi = 0xBF;
    size_t n;
    uint32_t c;

    if (b0 < 0x80) {
        *cp = b0;
        return 1;
    }
    if (b0 < 0xC2) {
        reason = b0 < 0xC0 ? "unexpected continuation byte" : "overlong encoding";
        goto bad;
    }
    if (b0 < 0xE0) {
        n = 2;
        c = b0 & 0x1Fu;
    } else if (b0 < 0xF0) {
        n = 3;
        c = b0 & 0x0Fu;
        if (b0 == 0xE0) {
            lo = 0xA0;
        } else if (b0 == 0xED) {
            hi = 0x9F;
        }
    } else if (b0 < 0xF5) {
        n = 4;
        c = b0 & 0x07u;
        if (b0 == 0xF0) {
            lo = 0x90;
        } else if (b0 == 0xF4) {
            hi = 0x8F;
        }
    } else {
        reason = "byte 0xF5..0xFF never appears in UTF-8";
        goto bad;
    }
    for (size_t i = 1; i < n; i++) {
        unsigned char b;

        if (i >= len) {
            reason = "truncated sequence";
            goto bad;
        }
        b = s[i];
        if (b < lo || b > hi) {
            if (b < 0x80 || b > 0xBF) {
                reason = "truncated sequence";
            } else if (b0 == 0xED) {
                reason = "surrogate";
            } else if (b0 == 0xF4) {
                reason = "code point above U+10FFFF";
            } else {
                reason = "overlong encoding";
            }
            goto bad;
        }
        lo = 0x80;
        hi = 0xBF;
        c = (c << 6) | (b & 0x3Fu);
    }
    *cp = c;
    return n;
bad:
    if (why != NULL) {
        *why = reason;
    }
    return 0;
}

bool msg_utf8_is_control(uint32_t cp)
{
    return cp < 0x20 || cp == 0x7F;
}

bool msg_utf8_is_nonchar(uint32_t cp)
{
    return (cp >= 0xFDD0 && cp <= 0xFDEF) || (cp & 0xFFFEu) == 0xFFFEu;
}

bool msg_utf8_text(const char *s, size_t len, size_t *ncp, size_t *bad_off, const char **why)
{
    const unsigned char *p = (const unsigned char *)s;
    const char *reason = NULL;
    size_t count = 0;
    size_t i = 0;

    while (i < len) {
        uint32_t cp = 0;
        size_t n;

        if (p[i] >= 0x20 && p[i] < 0x7F) {   /* fast path: printable ASCII */
            i++;
            count++;
            continue;
        }
        n = msg_utf8_decode(p + i, len - i, &cp, &reason);
        if (n == 0) {
            goto bad;
        }
        if (msg_utf8_is_control(cp)) {
            reason = "control character";
            goto bad;
        }
        if (msg_utf8_is_nonchar(cp)) {
            reason = "Unicode noncharacter";
            goto bad;
        }
        i += n;
        count++;
    }
    if (ncp != NULL) {
        *ncp = count;
    }
    return true;
bad:
    if (bad_off != NULL) {
        *bad_off = i;
    }
    if (why != NULL) {
        *why = reason;
    }
    return false;
}

size_t msg_utf8_count(const char *s, size_t len)
{
    size_t count = 0;

    for (size_t i = 0; i < len; i++) {
        if (((unsigned char)s[i] & 0xC0u) != 0x80u) {
            count++;
        }
    }
    return count;
}
