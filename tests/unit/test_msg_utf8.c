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

/* issue 9 item 14: the invisible set (ids refuse it, displays neutralise it) */
static void test_invisible(void)
{
    static const uint32_t yes[] = {
        0x0080, 0x0085, 0x009F, 0x00AD, 0x034F, 0x0600, 0x061C, 0x115F, 0x180E, 0x200B, 0x200C,
        0x200D, 0x200E, 0x200F, 0x2028, 0x2029, 0x202A, 0x202E, 0x2060, 0x2064, 0x2065, 0x2066,
        0x2069, 0x206F, 0x3164, 0xFE0F, 0xFEFF, 0xFFA0, 0xFFF9, 0xFFFB, 0x110BD, 0x1343F,
        0x1D173, 0xE0000, 0xE0001, 0xE007F, 0xE0100, 0xE0FFF,
    };
    static const uint32_t no[] = {
        0x0020, 0x0041, 0x007E, 0x00A0, 0x00AC, 0x00AE, 0x00E9, 0x2027, 0x202F, 0x205F, 0x2070,
        0x3000, 0xFFFC, 0xFFFD, 0x1F30A, 0xE1000, 0x10FFFD,
    };
    const char *why = NULL;
    size_t ncp = 0;
    size_t bad = 0;

    for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
        TEST_CHECK(msg_utf8_is_invisible(yes[i]));
        TEST_MSG("U+%04X should be invisible", (unsigned)yes[i]);
    }
    for (size_t i = 0; i < sizeof(no) / sizeof(no[0]); i++) {
        TEST_CHECK(!msg_utf8_is_invisible(no[i]));
        TEST_MSG("U+%04X should be visible", (unsigned)no[i]);
    }
    /* text keeps them, an id refuses them and says where */
    TEST_CHECK(msg_utf8_text("jmt-\xe2\x80\x8b" "0412", 11, &ncp, NULL, NULL) && ncp == 9);
    TEST_CHECK(!msg_utf8_id_text("jmt-\xe2\x80\x8b" "0412", 11, &ncp, &bad, &why));
    TEST_CHECK(bad == 4 && why != NULL && strcmp(why, "invisible character") == 0);
    TEST_CHECK(msg_utf8_id_text("Ibu S\xc3\xa9ti", 9, &ncp, NULL, NULL) && ncp == 8);
    TEST_CHECK(!msg_utf8_id_text("a\x01", 2, NULL, &bad, &why) && bad == 1);
    TEST_CHECK(why != NULL && strcmp(why, "control character") == 0);
}

struct display_row {
    const char *in;
    size_t len;
    const char *want;
};

static void test_display(void)
{
    static const struct display_row rows[] = {
        {"plain", 5, "plain"},
        {"", 0, ""},
        {"Jl. Melati No. 12 \xc3\xa9 \xf0\x9f\x8c\x8a", 25,
         "Jl. Melati No. 12 \xc3\xa9 \xf0\x9f\x8c\x8a"},
        /* a note that would read backwards: the override is shown, not obeyed */
        {"RT 05 \xe2\x80\xae" "50 WR", 14, "RT 05 \\u202E50 WR"},
        {"jmt-\xe2\x80\x8b" "0412", 11, "jmt-\\u200B0412"},
        {"a\xe2\x80\xa8" "b", 5, "a\\u2028b"},
        {"a\nb\x7f", 4, "a\\u000Ab\\u007F"},
        {"tag\xf3\xa0\x80\x81", 7, "tag\\u{E0001}"},
        {"bad \xff\xc3", 6, "bad \\xFF\\xC3"},
        {"non\xef\xbf\xbf", 6, "non\\uFFFF"},
        {"back\\slash", 10, "back\\slash"},
        {"nul\0x", 5, "nul\\u0000x"},
    };
    char out[128];

    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        size_t n = msg_utf8_display(rows[i].in, rows[i].len, out, sizeof(out));

        TEST_CHECK(strcmp(out, rows[i].want) == 0 && n == strlen(rows[i].want));
        TEST_MSG("row %zu: got '%s' (%zu), want '%s'", i, out, n, rows[i].want);
    }
}

/* A display form that does not fit is cut before the piece that does not fit, never inside an
 * escape or a code point, and the return says how long the whole would be. */
static void test_display_truncates_whole_pieces(void)
{
    char out[8];
    size_t n;

    n = msg_utf8_display("abcd\xe2\x80\xaeXYZ", 10, out, sizeof(out));
    TEST_CHECK(n == 13 && strcmp(out, "abcd") == 0);
    TEST_MSG("got '%s' (%zu)", out, n);
    n = msg_utf8_display("abcdef\xc3\xa9", 8, out, sizeof(out));
    TEST_CHECK(n == 8 && strcmp(out, "abcdef") == 0);
    TEST_MSG("got '%s' (%zu)", out, n);
    n = msg_utf8_display("abcdefg", 7, out, sizeof(out));
    TEST_CHECK(n == 7 && strcmp(out, "abcdefg") == 0);
    n = msg_utf8_display("abc", 3, out, 1);
    TEST_CHECK(n == 3 && out[0] == '\0');
}

/* One code point's display form; with MSG_UTF8_DISPLAY_C (pantau-admin's) a backslash, LF,
 * TAB and CR get C escapes, the rest as msg_utf8_display. */
static void test_display_cp_and_c_escapes(void)
{
    static const struct {
        const char *in;
        size_t len;
        unsigned flags;
        const char *want;
        size_t took;
        bool escaped;
    } rows[] = {
        {"\\x", 2, 0, "\\", 1, false},
        {"\\x", 2, MSG_UTF8_DISPLAY_C, "\\\\", 1, true},
        {"\n", 1, 0, "\\u000A", 1, true},
        {"\n", 1, MSG_UTF8_DISPLAY_C, "\\n", 1, true},
        {"\t", 1, MSG_UTF8_DISPLAY_C, "\\t", 1, true},
        {"\r", 1, MSG_UTF8_DISPLAY_C, "\\r", 1, true},
        {"\x01", 1, MSG_UTF8_DISPLAY_C, "\\u0001", 1, true},
        {"\xe2\x80\xae!", 4, MSG_UTF8_DISPLAY_C, "\\u202E", 3, true},
        {"\xf3\xa0\x80\x81", 4, 0, "\\u{E0001}", 4, true},
        {"\xc3\xa9", 2, MSG_UTF8_DISPLAY_C, "\xc3\xa9", 2, false},
        {"\xff\xfe", 2, MSG_UTF8_DISPLAY_C, "\\xFF", 1, true},
    };
    char out[MSG_UTF8_DISPLAY_CP_MAX + 1];

    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        bool escaped = !rows[i].escaped;
        size_t took = msg_utf8_display_cp(rows[i].in, rows[i].len, rows[i].flags, out, &escaped);

        TEST_CHECK(strcmp(out, rows[i].want) == 0 && took == rows[i].took &&
                   escaped == rows[i].escaped);
        TEST_MSG("row %zu: got '%s' (took %zu, escaped %d), want '%s'", i, out, took, escaped,
                 rows[i].want);
    }
}

TEST_LIST = {
    {"text", test_text},
    {"decode", test_decode},
    {"issue9_invisible", test_invisible},
    {"issue9_display", test_display},
    {"display_truncates_whole_pieces", test_display_truncates_whole_pieces},
    {"display_cp_and_c_escapes", test_display_cp_and_c_escapes},
    {NULL, NULL},
};
