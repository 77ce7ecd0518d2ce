/* test_collector_redrive_tally.c -- collector/redrive_tally.c: a redrive's refusals grouped by
 * category with the first message as example, and their JSON for redrive_request.result. */
#include <string.h>

#include <cjson/cJSON.h>

#include "redrive_tally.h"
#include "tinytest.h"

static void test_refusals_grouped_by_category_first_example_kept_9_9(void)
{
    struct redrive_tally t;

    memset(&t, 0, sizeof(t));
    redrive_tally_refused(&t, "station", "station: 'a' is not bound to device 'gw' at X");
    redrive_tally_refused(&t, "identity", "device 'gw' is disabled");
    redrive_tally_refused(&t, "station", "station: 'b' is not bound to device 'gw' at Y");
    redrive_tally_refused(&t, NULL, "no category given");
    redrive_tally_refused(&t, "", NULL);
    TEST_CHECK(t.refused == 5);
    TEST_CHECK(t.n_groups == 3);
    TEST_CHECK(strcmp(t.groups[0].category, "station") == 0 && t.groups[0].count == 2);
    TEST_CHECK(strstr(t.groups[0].example, "'a'") != NULL);
    TEST_CHECK(strcmp(t.groups[1].category, "identity") == 0 && t.groups[1].count == 1);
    TEST_CHECK(strcmp(t.groups[2].category, "schema") == 0 && t.groups[2].count == 2);
    TEST_CHECK(strcmp(t.groups[2].example, "no category given") == 0);
}

static void test_more_categories_than_groups_count_in_the_last_9_9(void)
{
    struct redrive_tally t;
    char cat[8];

    memset(&t, 0, sizeof(t));
    for (int i = 0; i < REDRIVE_TALLY_GROUPS + 3; i++) {
        snprintf(cat, sizeof(cat), "c%d", i);
        redrive_tally_refused(&t, cat, "x");
    }
    TEST_CHECK(t.n_groups == REDRIVE_TALLY_GROUPS);
    TEST_CHECK(t.refused == REDRIVE_TALLY_GROUPS + 3);
    TEST_CHECK(t.groups[REDRIVE_TALLY_GROUPS - 1].count == 4);
}

static void test_json_lists_groups_and_escapes_9_9(void)
{
    struct redrive_tally t;
    char out[512];
    char tiny[16];
    cJSON *doc;
    const cJSON *g;

    memset(&t, 0, sizeof(t));
    TEST_CHECK(redrive_tally_json(&t, out, sizeof(out)) == MSG_OK);
    TEST_CHECK(strcmp(out, "[]") == 0);
    redrive_tally_refused(&t, "station", "say \"hi\"\n");
    redrive_tally_refused(&t, "station", "other");
    TEST_CHECK(redrive_tally_json(&t, out, sizeof(out)) == MSG_OK);
    doc = cJSON_Parse(out);
    TEST_CHECK(cJSON_IsArray(doc) && cJSON_GetArraySize(doc) == 1);
    g = cJSON_GetArrayItem(doc, 0);
    TEST_CHECK(strcmp(cJSON_GetObjectItem(g, "category")->valuestring, "station") == 0);
    TEST_CHECK(cJSON_GetObjectItem(g, "count")->valuedouble == 2);
    TEST_CHECK(strcmp(cJSON_GetObjectItem(g, "example")->valuestring, "say \"hi\"\n") == 0);
    cJSON_Delete(doc);
    /* too small a buffer: MSG_ERR_FULL and an empty string, never a cut document */
    TEST_CHECK(redrive_tally_json(&t, tiny, sizeof(tiny)) == MSG_ERR_FULL);
    TEST_CHECK(tiny[0] == '\0');
}

static void test_groups_so_far_load_back_from_their_json_9_9(void)
{
    struct redrive_tally t;
    struct redrive_tally u;
    char out[512];

    memset(&t, 0, sizeof(t));
    redrive_tally_refused(&t, "station", "first");
    redrive_tally_refused(&t, "station", "second");
    redrive_tally_refused(&t, "identity", "gone");
    TEST_CHECK(redrive_tally_json(&t, out, sizeof(out)) == MSG_OK);
    memset(&u, 0, sizeof(u));
    u.refused = 3; /* the totals come from the request's row */
    TEST_CHECK(redrive_tally_load_json(&u, out) == MSG_OK);
    TEST_CHECK(u.refused == 3 && u.n_groups == 2);
    TEST_CHECK(strcmp(u.groups[0].category, "station") == 0 && u.groups[0].count == 2);
    TEST_CHECK(strcmp(u.groups[0].example, "first") == 0);
    TEST_CHECK(strcmp(u.groups[1].category, "identity") == 0 && u.groups[1].count == 1);
    /* counting goes on in the same groups */
    redrive_tally_refused(&u, "station", "third");
    TEST_CHECK(u.groups[0].count == 3 && u.refused == 4);
    /* what is not such an array changes nothing */
    TEST_CHECK(redrive_tally_load_json(&u, "{}") == MSG_ERR_JSON);
    TEST_CHECK(redrive_tally_load_json(&u, "[{\"category\":\"x\",\"count\":0,"
                                           "\"example\":\"\"}]") == MSG_ERR_JSON);
    TEST_CHECK(redrive_tally_load_json(&u, "[1]") == MSG_ERR_JSON);
    TEST_CHECK(u.n_groups == 2 && u.groups[0].count == 3 && u.refused == 4);
    TEST_CHECK(redrive_tally_load_json(&u, "[]") == MSG_OK && u.n_groups == 2);
}

TEST_LIST = {
    {"refusals_grouped_by_category_first_example_kept_9_9",
     test_refusals_grouped_by_category_first_example_kept_9_9},
    {"more_categories_than_groups_count_in_the_last_9_9",
     test_more_categories_than_groups_count_in_the_last_9_9},
    {"json_lists_groups_and_escapes_9_9", test_json_lists_groups_and_escapes_9_9},
    {"groups_so_far_load_back_from_their_json_9_9",
     test_groups_so_far_load_back_from_their_json_9_9},
    {NULL, NULL},
};
