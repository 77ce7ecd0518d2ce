/* msg_utf8.c -- strict UTF-8: see msg_utf8.h. */
#include "msg_utf8.h"

#include <stdio.h>
#include <string.h>

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

/* Invisible code points (msg_utf8_is_invisible), ascending, inclusive ranges: C1 controls,
 * Unicode 15.1 general category Cf and Default_Ignorable_Code_Point, U+2028 and U+2029. Keep in
 * step with the `id_text` pattern of schema/json/defs.json. */
static const uint32_t invisible_ranges[][2] = {
    {0x0080, 0x009F},   {0x00AD, 0x00AD},   {0x034F, 0x034F},   {0x0600, 0x0605},
    {0x061C, 0x061C},   {0x06DD, 0x06DD},   {0x070F, 0x070F},   {0x0890, 0x0891},
    {0x08E2, 0x08E2},   {0x115F, 0x1160},   {0x17B4, 0x17B5},   {0x180B, 0x180F},
    {0x200B, 0x200F},   {0x2028, 0x202E},   {0x2060, 0x206F},   {0x3164, 0x3164},
    {0xFE00, 0xFE0F},   {0xFEFF, 0xFEFF},   {0xFFA0, 0xFFA0},   {0xFFF0, 0xFFFB},
    {0x110BD, 0x110BD}, {0x110CD, 0x110CD}, {0x13430, 0x1343F}, {0x1BCA0, 0x1BCA3},
    {0x1D173, 0x1D17A}, {0xE0000, 0xE0FFF},
};

bool msg_utf8_is_invisible(uint32_t cp)
{
    size_t lo = 0;
    size_t hi = sizeof(invisible_ranges) / sizeof(invisible_ranges[0]);

    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;

        if (cp < invisible_ranges[mid][0]) {
            hi = mid;
        } else if (cp > invisible_ranges[mid][1]) {
            lo = mid + 1;
        } else {
            return true;
        }
    }
    return false;
}

/* Text (ids: without invisible characters either). */
static bool check_text(const char *s, size_t len, bool id, size_t *ncp, size_t *bad_off,
                       const char **why)
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
        if (id && msg_utf8_is_invisible(cp)) {
            reason = "invisible character";
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

bool msg_utf8_text(const char *s, size_t len, size_t *ncp, size_t *bad_off, const char **why)
{
    return check_text(s, len, false, ncp, bad_off, why);
}

bool msg_utf8_id_text(const char *s, size_t len, size_t *ncp, size_t *bad_off, const char **why)
{
    return check_text(s, len, true, ncp, bad_off, why);
}

/* Appends piece (n bytes) to out at *used if it fits whole before the NUL; counts it anyway. */
static void put(char *out, size_t outlen, size_t *used, bool *full, size_t *total,
                const char *piece, size_t n)
{
    if (!*full && *used + n < outlen) {
        memcpy(out + *used, piece, n);
        *used += n;
    } else {
        *full = true;   /* nothing after a piece that did not fit: no gaps */
    }
    *total += n;
}

size_t msg_utf8_display_cp(const char *s, size_t len, unsigned flags,
                           char out[MSG_UTF8_DISPLAY_CP_MAX + 1], bool *escaped)
{
    const unsigned char *p = (const unsigned char *)s;
    uint32_t cp = 0;
    size_t n = msg_utf8_decode(p, len, &cp, NULL);
    const char *c_esc = NULL;

    *escaped = true;
    if (n == 0) {
        snprintf(out, MSG_UTF8_DISPLAY_CP_MAX + 1, "\\x%02X", (unsigned)p[0]);
        return 1;
    }
    if ((flags & MSG_UTF8_DISPLAY_C) != 0) {
        switch (cp) {
        case '\\':
            c_esc = "\\\\";
            break;
        case '\n':
            c_esc = "\\n";
            break;
        case '\t':
            c_esc = "\\t";
            break;
        case '\r':
            c_esc = "\\r";
            break;
        default:
            break;
        }
    }
    if (c_esc != NULL) {
        snprintf(out, MSG_UTF8_DISPLAY_CP_MAX + 1, "%s", c_esc);
    } else if (msg_utf8_is_control(cp) || msg_utf8_is_invisible(cp) || msg_utf8_is_nonchar(cp)) {
        if (cp > 0xFFFF) {
            snprintf(out, MSG_UTF8_DISPLAY_CP_MAX + 1, "\\u{%X}", (unsigned)cp);
        } else {
            snprintf(out, MSG_UTF8_DISPLAY_CP_MAX + 1, "\\u%04X", (unsigned)cp);
        }
    } else {
        memcpy(out, s, n);
        out[n] = '\0';
        *escaped = false;
    }
    return n;
}

size_t msg_utf8_display(const char *s, size_t len, char *out, size_t outlen)
{
    char piece[MSG_UTF8_DISPLAY_CP_MAX + 1];
    size_t used = 0;
    size_t total = 0;
    size_t i = 0;
    bool full = false;

    while (i < len) {
        bool escaped = false;

        i += msg_utf8_display_cp(s + i, len - i, 0, piece, &escaped);
        put(out, outlen, &used, &full, &total, piece, strlen(piece));
    }
    if (outlen > 0) {
        out[used] = '\0';
    }
    return total;
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
