/* test_msg_utf8.c -- unit tests of msg/msg_utf8.c: strict UTF-8 and the protocol's text rule
 * (no control characters, no noncharacters; lengths in code points). */
#include <string.h>

#include "msg_utf8.h"
#include "tinytest.h"

struct row {
    const char *name;
    const char *in;
    size_t len;          /* 0: strlen */
    bool ok;
    size_t ncp;          /* when ok */
    size_t bad_off;      /* when not */
    const char *why;     /* when not */
};

static void test_text(void)
{
    static const struct row rows[] = {
        {"empty", "", 0, true, 0, 0, NULL},
        {"ASCII", "abc", 0, true, 3, 0, NULL},
        {"2-byte", "caf\xc3\xa9", 0, true, 4, 0, NULL},
        {"3-byte", "\xe2\x82\xac", 0, true, 1, 0, NULL},
        {"4-byte", "\xf0\x9f\x8c\x8a!", 0, true, 2, 0, NULL},
        {"U+10FFFD", "\xf4\x8f\xbf\xbd", 0, true, 1, 0, NULL},
        {"U+0080 (a C1 control, allowed)", "\xc2\x80", 0, true, 1, 0, NULL},
        {"U+D7FF", "\xed\x9f\xbf", 0, true, 1, 0, NULL},
        {"U+E000", "\xee\x80\x80", 0, true, 1, 0, NULL},
        {"overlong slash", "a\xc0\xaf", 0, false, 0, 1, "overlong encoding"},
        {"overlong C1", "\xc1\xbf", 0, false, 0, 0, "overlong encoding"},
        {"overlong 3-byte", "\xe0\x9f\xbf", 0, false, 0, 0, "overlong encoding"},
        {"overlong 4-byte", "\xf0\x8f\xbf\xbf", 0, false, 0, 0, "overlong encoding"},
        {"surrogate D800", "\xed\xa0\x80", 0, false, 0, 0, "surrogate"},
        {"surrogate DFFF", "ab\xed\xbf\xbf", 0, false, 0, 2, "surrogate"},
        {"above U+10FFFF", "\xf4\x90\x80\x80", 0, false, 0, 0, "code point above U+10FFFF"},
        {"F5 lead byte", "\xf5\x80\x80\x80", 0, false, 0, 0, "0xF5..0xFF"},
        {"byte FF", "\xff", 0, false, 0, 0, "0xF5..0xFF"},
        {"lone continuation", "\x80", 0, false, 0, 0, "unexpected continuation byte"},
        {"truncated 2-byte", "a\xc3", 0, false, 0, 1, "truncated sequence"},
        {"truncated 3-byte", "\xe2\x82", 0, false, 0, 0, "truncated sequence"},
        {"interrupted 3-byte", "\xe2\x82z", 0, false, 0, 0, "truncated sequence"},
        {"truncated 4-byte", "\xf0\x9f\x8c", 0, false, 0, 0, "truncated sequence"},
        {"NUL", "a\0b", 3, false, 0, 1, "control character"},
        {"tab", "a\tb", 0, false, 0, 1, "control character"},
        {"unit separator", "\x1f", 0, false, 0, 0, "control character"},
        {"DEL", "\x7f", 0, false, 0, 0, "control character"},
        {"noncharacter U+FFFE", "\xef\xbf\xbe", 0, false, 0, 0, "noncharacter"},
        {"noncharacter U+FDD0", "\xef\xb7\x90", 0, false, 0, 0, "noncharacter"},
        {"noncharacter U+FDEF", "\xef\xb7\xaf", 0, false, 0, 0, "noncharacter"},
        {"U+FDF0 is a character", "\xef\xb7\xb0", 0, true, 1, 0, NULL},
        {"noncharacter U+10FFFF", "\xf4\x8f\xbf\xbf", 0, false, 0, 0, "noncharacter"},
        {"noncharacter U+1FFFE", "\xf0\x9f\xbf\xbe", 0, false, 0, 0, "noncharacter"},
    };

    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        const struct row *r = &rows[i];
        size_t len = r->len != 0 ? r->len : strlen(r->in);
        size_t ncp = 99;
        size_t bad = 99;
        const char *why = NULL;
        bool ok = msg_utf8_text(r->in, len, &ncp, &bad, &why);

        TEST_CHECK(ok == r->ok);
        TEST_MSG("%s: why '%s'", r->name, why != NULL ? why : "");
        if (ok && r->ok) {
            TEST_CHECK(ncp == r->ncp);
            TEST_CHECK(msg_utf8_count(r->in, len) == r->ncp);
            TEST_MSG("%s: %zu code points", r->name, ncp);
        } else if (!ok && !r->ok) {
            TEST_CHECK(bad == r->bad_off);
            TEST_CHECK(why != NULL && strstr(why, r->why) != NULL);
            TEST_MSG("%s: at %zu, why '%s'", r->name, bad, why != NULL ? why : "");
        }
    }
}

static void test_decode(void)
{
    uint32_t cp = 0;
    const char *why = NULL;

    TEST_CHECK(msg_utf8_decode((const unsigned char *)"A", 1, &cp, NULL) == 1 && cp == 'A');
    TEST_CHECK(msg_utf8_decode((const unsigned char *)"\xc3\xa9", 2, &cp, NULL) == 2 &&
               cp == 0xE9);
    TEST_CHECK(msg_utf8_decode((const unsigned char *)"\xe2\x82\xac", 3, &cp, NULL) == 3 &&
               cp == 0x20AC);
    TEST_CHECK(msg_utf8_decode((const unsigned char *)"\xf4\x8f\xbf\xbf", 4, &cp, NULL) == 4 &&
               cp == 0x10FFFF);
    /* a length shorter than the sequence is a truncated sequence, whatever follows */
    TEST_CHECK(msg_utf8_decode((const unsigned char *)"\xe2\x82\xac", 2, &cp, &why) == 0);
    TEST_CHECK(why != NULL && strcmp(why, "truncated sequence") == 0);
    TEST_CHECK(msg_utf8_is_control(0) && msg_utf8_is_control(0x1F) && msg_utf8_is_control(0x7F));
    TEST_CHECK(!msg_utf8_is_control(0x20) && !msg_utf8_is_control(0x80));
    TEST_CHECK(msg_utf8_is_nonchar(0xFFFF) && msg_utf8_is_nonchar(0x2FFFE));
    TEST_CHECK(!msg_utf8_is_nonchar(0xFFFD) && !msg_utf8_is_nonchar(0xFDCF));
}

TEST_LIST = {
    {"text", test_text},
    {"decode", test_decode},
    {NULL, NULL},
};
