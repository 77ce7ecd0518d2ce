/* test_msg_time.c -- unit tests of msg/msg_time.c: timestamps `YYYY-MM-DDTHH:MM:SS.mmmZ`,
 * real calendar dates, years 1970 to 2099 (protocol.md 4.1, 9.2). */
#include <stdint.h>
#include <string.h>

#include "msg_err.h"
#include "msg_time.h"
#include "tinytest.h"

struct row {
    const char *in;
    int rc;
    int64_t ms;          /* for MSG_OK */
    const char *want;    /* for errors */
};

static void test_parse(void)
{
    static const struct row rows[] = {
        {"1970-01-01T00:00:00.000Z", MSG_OK, 0, NULL},
        {"1970-01-01T00:04:31.000Z", MSG_OK, 271000, NULL},
        {"1972-12-31T23:59:59.999Z", MSG_OK, INT64_C(94694399999), NULL},
        {"2000-02-29T12:34:56.789Z", MSG_OK, INT64_C(951827696789), NULL},
        {"2024-02-29T00:00:00.000Z", MSG_OK, INT64_C(1709164800000), NULL},
        {"2026-02-11T03:15:00.000Z", MSG_OK, INT64_C(1770779700000), NULL},
        {"2026-03-02T07:41:05.250Z", MSG_OK, INT64_C(1772437265250), NULL},
        {"2099-12-31T23:59:59.999Z", MSG_OK, MSG_TIME_MAX_MS, NULL},
        {"2026-02-29T00:00:00.000Z", MSG_ERR_INVAL, 0, "day 29 does not exist in 2026-02"},
        {"2026-02-30T03:19:00.000Z", MSG_ERR_INVAL, 0, "day 30 does not exist in 2026-02"},
        {"2100-02-29T00:00:00.000Z", MSG_ERR_INVAL, 0, "year 2100 outside 1970..2099"},
        {"2100-01-01T00:00:00.000Z", MSG_ERR_INVAL, 0, "year 2100 outside"},
        {"1969-12-31T23:59:59.999Z", MSG_ERR_INVAL, 0, "year 1969 outside"},
        {"2026-04-31T00:00:00.000Z", MSG_ERR_INVAL, 0, "day 31 does not exist in 2026-04"},
        {"2026-01-32T00:00:00.000Z", MSG_ERR_INVAL, 0, "day 32"},
        {"2026-01-00T00:00:00.000Z", MSG_ERR_INVAL, 0, "day 00"},
        {"2026-13-01T00:00:00.000Z", MSG_ERR_INVAL, 0, "month 13 out of range 01..12"},
        {"2026-00-01T00:00:00.000Z", MSG_ERR_INVAL, 0, "month 00"},
        {"2026-02-11T24:00:00.000Z", MSG_ERR_INVAL, 0, "hour 24 out of range 00..23"},
        {"2026-02-11T23:60:00.000Z", MSG_ERR_INVAL, 0, "minute 60"},
        {"2026-02-11T23:59:60.000Z", MSG_ERR_INVAL, 0, "second 60 out of range 00..59"},
        {"2026-02-11T03:15:00Z", MSG_ERR_INVAL, 0, "20 characters"},
        {"2026-02-11T03:15:00.0000Z", MSG_ERR_INVAL, 0, "25 characters"},
        {"2026-02-11T03:15:00.000+", MSG_ERR_INVAL, 0, "character 24 is not 'Z'"},
        {"2026-02-11t03:15:00.000Z", MSG_ERR_INVAL, 0, "character 11 is not 'T'"},
        {"2026-02-11T03:15:00.000z", MSG_ERR_INVAL, 0, "character 24 is not 'Z'"},
        {"2026-02-11 03:15:00.000Z", MSG_ERR_INVAL, 0, "character 11 is not 'T'"},
        {"2026/02/11T03:15:00.000Z", MSG_ERR_INVAL, 0, "character 5 is not '-'"},
        {"2026-02-11T03:15:00,000Z", MSG_ERR_INVAL, 0, "character 20 is not '.'"},
        {"+026-02-11T03:15:00.000Z", MSG_ERR_INVAL, 0, "a digit is expected"},
        {"2026-02-1aT03:15:00.000Z", MSG_ERR_INVAL, 0, "a digit is expected"},
        {"2026-02-11T03:15:00.00aZ", MSG_ERR_INVAL, 0, "a digit is expected"},
        {"", MSG_ERR_INVAL, 0, "0 characters"},
    };

    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        char err[MSG_ERRLEN] = "";
        int64_t ms = -1;
        int rc = msg_time_parse(rows[i].in, strlen(rows[i].in), &ms, err, sizeof(err));

        TEST_CHECK(rc == rows[i].rc);
        TEST_MSG("'%s': rc %d err '%s'", rows[i].in, rc, err);
        if (rows[i].rc == MSG_OK) {
            TEST_CHECK(ms == rows[i].ms);
            TEST_MSG("'%s': %lld, expected %lld", rows[i].in, (long long)ms,
                     (long long)rows[i].ms);
        } else {
            TEST_CHECK(strstr(err, rows[i].want) != NULL);
            TEST_MSG("'%s': err '%s' lacks '%s'", rows[i].in, err, rows[i].want);
        }
    }
}

static void test_format(void)
{
    char out[MSG_TIME_LEN + 1];

    msg_time_format(0, out);
    TEST_CHECK(strcmp(out, "1970-01-01T00:00:00.000Z") == 0);
    msg_time_format(INT64_C(1770779700123), out);
    TEST_CHECK(strcmp(out, "2026-02-11T03:15:00.123Z") == 0);
    msg_time_format(INT64_C(1709164800000), out);
    TEST_CHECK(strcmp(out, "2024-02-29T00:00:00.000Z") == 0);
    msg_time_format(MSG_TIME_MAX_MS, out);
    TEST_CHECK(strcmp(out, "2099-12-31T23:59:59.999Z") == 0);
    msg_time_format(-1, out);   /* clamped */
    TEST_CHECK(strcmp(out, "1970-01-01T00:00:00.000Z") == 0);
    msg_time_format(INT64_MAX, out);
    TEST_CHECK(strcmp(out, "2099-12-31T23:59:59.999Z") == 0);
}

/* Every day of the range, at two times of day: format and parse agree. */
static void test_every_day_round_trips(void)
{
    int64_t day = INT64_C(86400000);
    int bad = 0;

    for (int64_t ms = 0; ms <= MSG_TIME_MAX_MS; ms += day) {
        int64_t probes[2] = {ms, ms + day - 1};

        for (int i = 0; i < 2; i++) {
            char out[MSG_TIME_LEN + 1];
            char err[MSG_ERRLEN];
            int64_t back = -1;

            msg_time_format(probes[i], out);
            if (msg_time_parse(out, strlen(out), &back, err, sizeof(err)) != MSG_OK ||
                back != probes[i]) {
                bad++;
            }
        }
    }
    TEST_CHECK(bad == 0);
    TEST_MSG("%d days do not round-trip", bad);
}

TEST_LIST = {
    {"parse", test_parse},
    {"format", test_format},
    {"every_day_1970_2099_round_trips", test_every_day_round_trips},
    {NULL, NULL},
};
