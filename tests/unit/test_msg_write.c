/* test_msg_write.c -- unit tests of msg/msg_write.c (internal to msg/): the bounded writer,
 * number spelling (shortest round trip, and 17 digits for canonical forms, '.' in any locale),
 * quoting of input echoed into error messages, and paths. */
#include <locale.h>
#include <stdlib.h>
#include <string.h>

#include "msg_err.h"
#include "msg_write.h"
#include "tinytest.h"

static void test_numbers(void)
{
    static const struct {
        double v;
        const char *shortest;
        const char *full;
    } rows[] = {
        {650, "650", "650"},
        {12.5, "12.5", "12.5"},
        {0.1, "0.1", "0.10000000000000001"},
        {-0.0, "0", "0"},
        {1e20, "1e+20", "1e+20"},
        {9007199254740991.0, "9007199254740991", "9007199254740991"},
        {100000.00000000001, "100000.00000000001", "100000.00000000001"},
        {-10000.000000000002, "-10000.000000000002", "-10000.000000000002"},
        {5e-324, "4.94065645841247e-324", "4.9406564584124654e-324"},
        {1.0 / 3.0, "0.3333333333333333", "0.33333333333333331"},
    };
    char out[MSG_NUM_MAX];

    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        TEST_CHECK(strcmp(msg_num_format(rows[i].v, true, out), rows[i].shortest) == 0);
        TEST_MSG("shortest: %s, expected %s", out, rows[i].shortest);
        TEST_CHECK(strtod(out, NULL) == rows[i].v);
        TEST_CHECK(strcmp(msg_num_format(rows[i].v, false, out), rows[i].full) == 0);
        TEST_MSG("full: %s, expected %s", out, rows[i].full);
        TEST_CHECK(strtod(out, NULL) == rows[i].v);
    }
}

/* Under a locale whose decimal point is ',' (when the system has one), numbers still use '.'. */
static void test_numbers_ignore_the_locale(void)
{
    static const char *const locales[] = {"de_DE.UTF-8", "id_ID.UTF-8", "fr_FR.UTF-8",
                                          "C.UTF-8"};
    char out[MSG_NUM_MAX];

    for (size_t i = 0; i < sizeof(locales) / sizeof(locales[0]); i++) {
        if (setlocale(LC_NUMERIC, locales[i]) != NULL) {
            break;
        }
    }
    TEST_CHECK(strcmp(msg_num_format(12.5, true, out), "12.5") == 0);
    TEST_CHECK(strcmp(msg_num_format(12.5, false, out), "12.5") == 0);
    TEST_MSG("%s (locale %s)", out, setlocale(LC_NUMERIC, NULL));
    setlocale(LC_NUMERIC, "C");
}

static void test_buffer(void)
{
    char buf[16];
    struct msg_buf b;
    size_t len = 99;
    bool first = true;

    msg_buf_init(&b, buf, sizeof(buf));
    msg_buf_raw(&b, "{", 1);
    msg_buf_json_key(&b, &first, "a\"b");
    msg_buf_u64(&b, 0);
    msg_buf_json_key(&b, &first, "c");
    msg_buf_i64(&b, -12);
    msg_buf_raw(&b, "}", 1);
    /* {"a\"b":0,"c":-12} is 18 bytes: it does not fit into 16 */
    TEST_CHECK(msg_buf_finish(&b, &len) == MSG_ERR_FULL && buf[0] == '\0');
    msg_buf_init(&b, buf, sizeof(buf));
    msg_buf_str(&b, "0123456789abcde");   /* exactly 15 + NUL */
    TEST_CHECK(msg_buf_finish(&b, &len) == MSG_OK && len == 15);
    msg_buf_init(&b, buf, sizeof(buf));
    msg_buf_str(&b, "0123456789abcdef");  /* one more */
    TEST_CHECK(msg_buf_finish(&b, &len) == MSG_ERR_FULL && buf[0] == '\0');
    msg_buf_init(&b, buf, 0);
    TEST_CHECK(msg_buf_finish(&b, &len) == MSG_ERR_FULL);
}

static void test_json_strings(void)
{
    char buf[128];
    struct msg_buf b;
    bool first = true;

    msg_buf_init(&b, buf, sizeof(buf));
    msg_buf_raw(&b, "{", 1);
    msg_buf_json_key(&b, &first, "k");
    msg_buf_json_str(&b, "a\"b\\c/\xc3\xa9");
    msg_buf_json_key(&b, &first, "t");
    msg_buf_json_ts(&b, 0);
    msg_buf_raw(&b, "}", 1);
    TEST_CHECK(msg_buf_finish(&b, NULL) == MSG_OK);
    TEST_CHECK(strcmp(buf, "{\"k\":\"a\\\"b\\\\c/\xc3\xa9\",\"t\":\"1970-01-01T00:00:00.000Z\"}") ==
               0);
    TEST_MSG("%s", buf);
    msg_buf_init(&b, buf, sizeof(buf));
    msg_buf_u64(&b, UINT64_MAX);
    TEST_CHECK(msg_buf_finish(&b, NULL) == MSG_OK && strcmp(buf, "18446744073709551615") == 0);
    msg_buf_init(&b, buf, sizeof(buf));
    msg_buf_i64(&b, INT64_MIN);
    TEST_CHECK(msg_buf_finish(&b, NULL) == MSG_OK && strcmp(buf, "-9223372036854775808") == 0);
}

static void test_quote(void)
{
    char q[MSG_QUOTE_MAX];
    char long_in[200];

    TEST_CHECK(strcmp(msg_quote("abc", 3, q), "abc") == 0);
    TEST_CHECK(strcmp(msg_quote("a\nb\0c\xff", 6, q), "a\\x0ab\\x00c\\xff") == 0);
    TEST_MSG("%s", q);
    memset(long_in, 'x', sizeof(long_in));
    msg_quote(long_in, sizeof(long_in), q);
    TEST_CHECK(strlen(q) < MSG_QUOTE_MAX && strcmp(q + strlen(q) - 3, "...") == 0);
    msg_quote(long_in, 64, q);   /* a whole id fits */
    TEST_CHECK(strlen(q) == 64);
}

static void test_path(void)
{
    struct msg_path top = {NULL, "containers", 0};
    struct msg_path item = {&top, NULL, 2};
    struct msg_path leaf = {&item, "positive", 0};
    struct msg_path odd = {NULL, "a\tb", 0};
    char out[MSG_PATH_TEXT_MAX];
    char tiny[8];

    msg_path_format(&leaf, out, sizeof(out));
    TEST_CHECK(strcmp(out, "containers[2].positive") == 0);
    TEST_MSG("%s", out);
    msg_path_format(NULL, out, sizeof(out));
    TEST_CHECK(out[0] == '\0');
    msg_path_format(&odd, out, sizeof(out));
    TEST_CHECK(strcmp(out, "a\\x09b") == 0);
    msg_path_format(&leaf, tiny, sizeof(tiny));
    TEST_CHECK(strcmp(tiny, "contain") == 0);
}

TEST_LIST = {
    {"numbers", test_numbers},
    {"numbers_ignore_the_locale", test_numbers_ignore_the_locale},
    {"buffer", test_buffer},
    {"json_strings", test_json_strings},
    {"quote", test_quote},
    {"path", test_path},
    {NULL, NULL},
};
