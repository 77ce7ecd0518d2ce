/* test_devacl_subfilter.c -- unit tests of broker-plugins/subfilter.c, the subscription filter
 * parser devacl uses (`$share/<group>/` included) and the "filter lies within pattern" rule.
 * (Named test_devacl_* so that broker-plugins/CMakeLists.txt picks it up.) */
#include <stdio.h>
#include <string.h>

#include "msg_err.h"
#include "subfilter.h"
#include "tinytest.h"

struct parse_row {
    const char *sub;
    int rc;
    int shared;
    const char *group;  /* expected group (shared only) */
    const char *filter; /* expected filter */
    const char *want;   /* error text */
};

static void test_parse(void)
{
    static const struct parse_row rows[] = {
        {"pantau/v1/gw-1/ack", MSG_OK, 0, NULL, "pantau/v1/gw-1/ack", NULL},
        {"#", MSG_OK, 0, NULL, "#", NULL},
        {"+", MSG_OK, 0, NULL, "+", NULL},
        {"pantau/+/x/#", MSG_OK, 0, NULL, "pantau/+/x/#", NULL},
        {"$share/collectors/pantau/v1/+/flood", MSG_OK, 1, "collectors", "pantau/v1/+/flood", NULL},
        {"$share/g/#", MSG_OK, 1, "g", "#", NULL},
        {"$SYS/pantau/#", MSG_OK, 0, NULL, "$SYS/pantau/#", NULL},
        {"$sharex/g/a", MSG_OK, 0, NULL, "$sharex/g/a", NULL},
        {"", MSG_ERR_INVAL, 0, NULL, NULL, "the filter is empty"},
        {"a/b+", MSG_ERR_INVAL, 0, NULL, NULL, "'+' is not a whole level"},
        {"a/#/b", MSG_ERR_INVAL, 0, NULL, NULL, "'#' is not the whole last level"},
        {"a#", MSG_ERR_INVAL, 0, NULL, NULL, "'#' is not the whole last level"},
        {"$share/", MSG_ERR_INVAL, 0, NULL, NULL, "without a group"},
        {"$share/g", MSG_ERR_INVAL, 0, NULL, NULL, "without a group and a filter"},
        {"$share//a", MSG_ERR_INVAL, 0, NULL, NULL, "empty group"},
        {"$share/g+/a", MSG_ERR_INVAL, 0, NULL, NULL, "group with a wildcard"},
        {"$share/#/a", MSG_ERR_INVAL, 0, NULL, NULL, "group with a wildcard"},
        {"$share/g/", MSG_ERR_INVAL, 0, NULL, NULL, "the filter is empty"},
    };

    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        struct subfilter sf;
        char err[MSG_ERRLEN] = "";
        int rc = subfilter_parse(rows[i].sub, &sf, err, sizeof(err));

        TEST_CHECK(rc == rows[i].rc);
        TEST_MSG("'%s': rc %d err '%s'", rows[i].sub, rc, err);
        if (rc != MSG_OK || rows[i].rc != MSG_OK) {
            if (rows[i].want != NULL) {
                TEST_CHECK(strstr(err, rows[i].want) != NULL);
                TEST_MSG("'%s': err '%s' should say '%s'", rows[i].sub, err, rows[i].want);
            }
            continue;
        }
        TEST_CHECK(sf.shared == (rows[i].shared != 0));
        TEST_CHECK(strcmp(sf.filter, rows[i].filter) == 0);
        TEST_MSG("'%s': filter '%s'", rows[i].sub, sf.filter);
        if (rows[i].shared) {
            TEST_CHECK(sf.group_len == strlen(rows[i].group) &&
                       memcmp(sf.group, rows[i].group, sf.group_len) == 0);
        } else {
            TEST_CHECK(sf.group == NULL && sf.group_len == 0);
        }
    }
    TEST_CHECK(subfilter_parse(NULL, &(struct subfilter){0}, (char[8]){0}, 8) == MSG_ERR_INVAL);
}

struct within_row {
    const char *filter;
    const char *pattern;
    int within;
};

static void test_within(void)
{
    static const struct within_row rows[] = {
        {"pantau/v1/gw-1/ack", "pantau/v1/gw-1/ack", 1},
        {"pantau/v1/gw-2/ack", "pantau/v1/gw-1/ack", 0},
        {"pantau/v1/+/ack", "pantau/v1/gw-1/ack", 0}, /* every device's acks */
        {"pantau/v1/gw-1/#", "pantau/v1/gw-1/ack", 0},
        {"#", "pantau/v1/gw-1/ack", 0},
        {"+/+/+/+", "pantau/v1/gw-1/ack", 0},
        {"pantau/v1/_sys/health/+", "pantau/v1/_sys/health/+", 1},
        {"pantau/v1/_sys/health/collector-1", "pantau/v1/_sys/health/+", 1},
        {"pantau/v1/_sys/health/#", "pantau/v1/_sys/health/+", 0},
        {"pantau/v1/_sys/health", "pantau/v1/_sys/health/+", 0},
        {"pantau/v1/_sys/health/a/b", "pantau/v1/_sys/health/+", 0},
        {"pantau/v1/+/flood", "pantau/v1/+/flood", 1},
        {"pantau/v1/gw-1/flood", "pantau/v1/+/flood", 1},
        {"pantau/v1/+/+", "pantau/v1/+/flood", 0},
        {"$SYS/pantau/devacl", "$SYS/pantau/#", 1},
        {"$SYS/pantau/#", "$SYS/pantau/#", 1},
        {"$SYS/pantau", "$SYS/pantau/#", 1}, /* "a" is within "a/#" */
        {"$SYS/#", "$SYS/pantau/#", 0},
        {"$SYS/+/devacl", "$SYS/pantau/#", 0},
        {"#", "$SYS/#", 0},
        {"$SYS/broker/uptime", "$SYS/#", 1},
        {"a/b", "a/b/c", 0},
        {"a/b/c", "a/b", 0},
        {"a//c", "a/+/c", 1}, /* an empty level is a level */
        {"a/", "a/+", 1},
        {"", "+", 1},
    };

    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        bool got = subfilter_within(rows[i].filter, rows[i].pattern);

        TEST_CHECK(got == (rows[i].within != 0));
        TEST_MSG("'%s' within '%s': got %d", rows[i].filter, rows[i].pattern, got);
    }
}

TEST_LIST = {
    {"parse", test_parse},
    {"within", test_within},
    {NULL, NULL},
};
