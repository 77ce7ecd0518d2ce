/* test_agent_sources.c -- unit tests of edge-agent/agent_sources.c: the table of sources.
 * Every source is found by its name, has a summary, a key table whose defaults load, a config
 * struct that fits the agent's config (AGENT_SOURCE_CONF_MAX) and all four functions. */
#include <stdlib.h>
#include <string.h>

#include "agent_config.h"
#include "agent_source.h"
#include "conf.h"
#include "msg_err.h"
#include "tinytest.h"

static void test_every_source_is_complete(void)
{
    size_t n = 0;

    for (size_t i = 0; agent_sources[i] != NULL; i++) {
        const struct agent_source *s = agent_sources[i];
        char err[MSG_ERRLEN] = "";
        void *conf;

        n++;
        TEST_CHECK(agent_source_find(s->name) == s);
        TEST_MSG("source %s", s->name);
        TEST_CHECK(s->summary != NULL && s->keys != NULL && s->open != NULL &&
                   s->poll != NULL && s->close != NULL);
        TEST_CHECK(s->conf_size > 0 && s->conf_size <= AGENT_SOURCE_CONF_MAX);
        TEST_MSG("source %s: conf_size %zu", s->name, s->conf_size);
        conf = calloc(1, s->conf_size);
        TEST_CHECK(conf_defaults(s->keys, conf, err, sizeof(err)) == MSG_OK);
        TEST_MSG("source %s: %s", s->name, err);
        free(conf);
        s->close(NULL);   /* NULL is a no-op */
    }
    TEST_CHECK(n >= 4);
}

static void test_names(void)
{
    TEST_CHECK(agent_source_find("flood") != NULL);
    TEST_CHECK(agent_source_find("camera") != NULL);
    TEST_CHECK(agent_source_find("frigate") != NULL);
    TEST_CHECK(agent_source_find("larva") != NULL);
    TEST_CHECK(agent_source_find("Flood") == NULL);
    TEST_CHECK(agent_source_find("") == NULL);
    TEST_CHECK(agent_source_find("radar") == NULL);
}

TEST_LIST = {
    {"every_source_is_complete", test_every_source_is_complete},
    {"names", test_names},
    {NULL, NULL},
};
