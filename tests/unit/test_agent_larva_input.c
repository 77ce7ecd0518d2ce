/* test_agent_larva_input.c -- unit tests of edge-agent/larva_input.c: a Jumantik inspection
 * without its envelope, from JSON and from the pieces `pantau-agent report` takes. Every
 * refusal checks that err names the member. */
#include <stdio.h>
#include <string.h>

#include "larva_input.h"
#include "msg_err.h"
#include "tinytest.h"

#define BASE "\"inspector\":\"jmt-0412\",\"building\":\"house\",\"kelurahan\":\"32.75.01.1002\"," \
             "\"rw\":3,\"rt\":5"

struct json_case {
    const char *json;
    int rc;
    const char *why;
};

static const struct json_case json_cases[] = {
    {"{" BASE ",\"larvae_found\":false,\"containers\":[]}", MSG_OK, ""},
    {"{" BASE ",\"larvae_found\":true,\"containers\":[{\"type\":\"jar\",\"location\":"
     "\"indoor\",\"inspected\":2,\"positive\":1}],\"actions\":[\"drain\"],\"lat\":-6.24,"
     "\"lon\":107.0,\"address\":\"Jl. Melati No. 12\",\"note\":\"ok\"}", MSG_OK, ""},
    {"{" BASE ",\"larvae_found\":true,\"containers\":[{\"type\":\"jar\",\"location\":"
     "\"indoor\",\"inspected\":1,\"positive\":2}]}", MSG_ERR_SCHEMA, "containers[0].positive"},
    {"{" BASE ",\"larvae_found\":false,\"containers\":[{\"type\":\"jar\",\"location\":"
     "\"indoor\",\"inspected\":2,\"positive\":1}]}", MSG_ERR_SCHEMA, "larvae_found"},
    {"{" BASE ",\"larvae_found\":false,\"containers\":[{\"type\":\"pot\",\"location\":"
     "\"indoor\",\"inspected\":2,\"positive\":0}]}", MSG_ERR_SCHEMA, "containers[0].type"},
    {"{\"inspector\":\"jmt-0412\",\"building\":\"house\",\"kelurahan\":\"32.75.01.1002\","
     "\"rw\":3,\"larvae_found\":false,\"containers\":[]}", MSG_ERR_SCHEMA, "rt"},
    {"{\"inspector\":\"jmt-0412\",\"building\":\"house\",\"kelurahan\":\"32.75.07.1001\","
     "\"rw\":3,\"rt\":5,\"larvae_found\":false,\"containers\":[]}", MSG_ERR_SCHEMA, "kelurahan"},
    {"{" BASE ",\"larvae_found\":false,\"containers\":[],\"lat\":-6.2}", MSG_ERR_SCHEMA, "lon"},
    {"{" BASE ",\"larvae_found\":false,\"containers\":[],\"actions\":[\"drain\",\"drain\"]}",
     MSG_ERR_SCHEMA, "actions"},
    {"{" BASE ",\"larvae_found\":false,\"containers\":[],\"colour\":1}", MSG_ERR_SCHEMA,
     "colour"},
    {"{" BASE ",\"larvae_found\":false,\"containers\":[],\"seq\":1}", MSG_ERR_SCHEMA,
     "seq: not allowed"},
    {"{" BASE ",\"larvae_found\":false,\"containers\":[],\"store\":\"x\"}", MSG_ERR_SCHEMA,
     "store: not allowed"},
    {"{" BASE ",\"larvae_found\":false,\"containers\":[],\"rt\":6}", MSG_ERR_JSON, ""},
    {"{" BASE ",\"larvae_found\":false,\"containers\":[]", MSG_ERR_JSON, ""},
    {"[]", MSG_ERR_SCHEMA, "not an object"},
};

static void test_json(void)
{
    for (size_t i = 0; i < sizeof(json_cases) / sizeof(json_cases[0]); i++) {
        struct msg_larva l;
        char err[MSG_ERRLEN] = "";
        const char *j = json_cases[i].json;
        int rc = larva_input_from_json(j, strlen(j), &l, err, sizeof(err));

        TEST_CHECK(rc == json_cases[i].rc);
        TEST_MSG("case %zu: rc %d err '%s'", i, rc, err);
        TEST_CHECK(strstr(err, json_cases[i].why) != NULL);
        TEST_MSG("case %zu: err '%s' lacks '%s'", i, err, json_cases[i].why);
        if (rc == MSG_OK) {
            TEST_CHECK(strcmp(l.inspector, "jmt-0412") == 0 && l.rw == 3 && l.rt == 5);
            TEST_CHECK(larva_input_check(&l, err, sizeof(err)) == MSG_OK);
        }
    }
}

static void test_container_specs(void)
{
    struct msg_container c;
    char err[MSG_ERRLEN] = "";

    TEST_CHECK(larva_input_container_parse("bath_tub:indoor:3:1", &c, err, sizeof(err)) ==
               MSG_OK);
    TEST_CHECK(c.type == MSG_CONTAINER_BATH_TUB && c.location == MSG_LOCATION_INDOOR &&
               c.inspected == 3 && c.positive == 1);
    TEST_CHECK(larva_input_container_parse("used_goods:outdoor:0:0", &c, err, sizeof(err)) ==
               MSG_OK);
    TEST_CHECK(larva_input_container_parse("pot:indoor:3:1", &c, err, sizeof(err)) ==
               MSG_ERR_SCHEMA);
    TEST_CHECK(strstr(err, "type") != NULL && strstr(err, "pot:indoor") != NULL);
    TEST_CHECK(larva_input_container_parse("jar:garden:3:1", &c, err, sizeof(err)) ==
               MSG_ERR_SCHEMA);
    TEST_CHECK(strstr(err, "location") != NULL);
    TEST_CHECK(larva_input_container_parse("jar:indoor:x:1", &c, err, sizeof(err)) ==
               MSG_ERR_SCHEMA);
    TEST_CHECK(strstr(err, "inspected") != NULL);
    TEST_CHECK(larva_input_container_parse("jar:indoor:3:-1", &c, err, sizeof(err)) ==
               MSG_ERR_SCHEMA);
    TEST_CHECK(strstr(err, "positive") != NULL);
    TEST_CHECK(larva_input_container_parse("jar:indoor:1001:0", &c, err, sizeof(err)) ==
               MSG_ERR_SCHEMA);
    TEST_CHECK(larva_input_container_parse("jar:indoor:3", &c, err, sizeof(err)) ==
               MSG_ERR_SCHEMA);
    TEST_CHECK(strstr(err, "TYPE:LOCATION:INSPECTED:POSITIVE") != NULL);
    TEST_CHECK(larva_input_container_parse("jar:indoor:3:1:9", &c, err, sizeof(err)) ==
               MSG_ERR_SCHEMA);
}

static void test_actions(void)
{
    unsigned a = 0;
    char err[MSG_ERRLEN] = "";

    TEST_CHECK(larva_input_actions_parse("drain,cover,larvicide", &a, err, sizeof(err)) ==
               MSG_OK);
    TEST_CHECK(a == ((1u << MSG_ACTION_DRAIN) | (1u << MSG_ACTION_COVER) |
                     (1u << MSG_ACTION_LARVICIDE)));
    TEST_CHECK(larva_input_actions_parse("drain,sweep", &a, err, sizeof(err)) == MSG_ERR_SCHEMA);
    TEST_CHECK(strstr(err, "actions: 'sweep'") != NULL);
    TEST_CHECK(larva_input_actions_parse("net,net", &a, err, sizeof(err)) == MSG_ERR_SCHEMA);
    TEST_CHECK(strstr(err, "twice") != NULL);
    TEST_CHECK(larva_input_actions_parse("", &a, err, sizeof(err)) == MSG_ERR_SCHEMA);
}

static void test_check_and_derive(void)
{
    struct msg_larva l;
    char err[MSG_ERRLEN] = "";

    memset(&l, 0, sizeof(l));
    snprintf(l.inspector, sizeof(l.inspector), "jmt-0412");
    l.building = MSG_BUILDING_HOUSE;
    snprintf(l.kelurahan, sizeof(l.kelurahan), "32.75.01.1002");
    l.rw = 3;
    l.rt = 5;
    l.n_containers = 2;
    l.containers[0] = (struct msg_container){MSG_CONTAINER_JAR, MSG_LOCATION_INDOOR, 2, 0};
    l.containers[1] = (struct msg_container){MSG_CONTAINER_DRUM, MSG_LOCATION_OUTDOOR, 1, 1};
    larva_input_derive(&l);
    TEST_CHECK(l.larvae_found);
    TEST_CHECK(larva_input_check(&l, err, sizeof(err)) == MSG_OK);
    TEST_MSG("err: %s", err);
    l.containers[1].positive = 0;
    larva_input_derive(&l);
    TEST_CHECK(!l.larvae_found);
    l.containers[1] = l.containers[0];   /* the same (type, location) twice */
    TEST_CHECK(larva_input_check(&l, err, sizeof(err)) == MSG_ERR_SCHEMA);
    TEST_CHECK(strstr(err, "containers") != NULL);
    l.n_containers = 1;
    l.rw = 0;
    TEST_CHECK(larva_input_check(&l, err, sizeof(err)) == MSG_ERR_SCHEMA);
    TEST_CHECK(strstr(err, "rw") != NULL);
    TEST_MSG("err: %s", err);
}

TEST_LIST = {
    {"json", test_json},
    {"container_specs", test_container_specs},
    {"actions", test_actions},
    {"check_and_derive", test_check_and_derive},
    {NULL, NULL},
};
