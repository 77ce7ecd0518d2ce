/* test_msg_wilayah.c -- unit tests of msg/msg_wilayah.c: the kelurahan codes generated at build
 * time from schema/data/bekasi_wilayah.csv (whose path CMake passes as PANTAU_WILAYAH_CSV). */
#include <stdio.h>
#include <string.h>

#include "msg_wilayah.h"
#include "tinytest.h"

static void test_count_and_known_codes(void)
{
    TEST_CHECK(msg_kelurahan_count() == 56);
    TEST_CHECK(msg_kelurahan_valid("32.75.01.1002", 13));   /* Margahayu */
    TEST_CHECK(msg_kelurahan_valid("32.75.07.1007", 13));   /* Ciketingudik, after the gap */
    TEST_CHECK(msg_kelurahan_valid("32.75.12.1004", 13));   /* the last one */
    TEST_CHECK(!msg_kelurahan_valid("32.75.07.1001", 13));  /* gap: Bantargebang has no 1001 */
    TEST_CHECK(!msg_kelurahan_valid("32.75.07.1005", 13));
    TEST_CHECK(!msg_kelurahan_valid("32.75.13.1001", 13));
    TEST_CHECK(!msg_kelurahan_valid("32.75.01", 8));        /* a kecamatan */
    TEST_CHECK(!msg_kelurahan_valid("32.75", 5));           /* the city */
    TEST_CHECK(!msg_kelurahan_valid("32.75.01.1002 ", 14));
    TEST_CHECK(!msg_kelurahan_valid("32.75.01.1002", 12));
    TEST_CHECK(!msg_kelurahan_valid("", 0));
    TEST_CHECK(msg_kelurahan_code(56) == NULL);
}

static void test_sorted_and_distinct(void)
{
    for (size_t i = 0; i < msg_kelurahan_count(); i++) {
        const char *c = msg_kelurahan_code(i);

        TEST_CHECK(c != NULL && strlen(c) == MSG_KELURAHAN_LEN);
        TEST_CHECK(msg_kelurahan_valid(c, strlen(c)));
        if (i > 0) {
            TEST_CHECK(strcmp(msg_kelurahan_code(i - 1), c) < 0);
            TEST_MSG("%s before %s", msg_kelurahan_code(i - 1), c);
        }
    }
}

/* The generated list is exactly the data file's kelurahan rows. */
static void test_matches_the_data_file(void)
{
    FILE *f = fopen(PANTAU_WILAYAH_CSV, "r");
    char line[256];
    size_t rows = 0;

    if (!TEST_CHECK(f != NULL)) {
        TEST_MSG("cannot open %s", PANTAU_WILAYAH_CSV);
        return;
    }
    while (fgets(line, sizeof(line), f) != NULL) {
        size_t len = strcspn(line, "\r\n");
        const char *comma = strchr(line, ',');

        line[len] = '\0';
        if (comma == NULL || len < 10 || strcmp(line + len - 10, ",kelurahan") != 0) {
            continue;
        }
        rows++;
        TEST_CHECK(msg_kelurahan_valid(line, (size_t)(comma - line)));
        TEST_MSG("%s", line);
    }
    fclose(f);
    TEST_CHECK(rows == msg_kelurahan_count());
}

TEST_LIST = {
    {"count_56_and_known_codes", test_count_and_known_codes},
    {"sorted_and_distinct", test_sorted_and_distinct},
    {"matches_the_data_file", test_matches_the_data_file},
    {NULL, NULL},
};
