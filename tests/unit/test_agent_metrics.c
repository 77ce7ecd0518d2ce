/* test_agent_metrics.c -- the agent's metrics textfile (edge-agent/engine/agent_metrics.c):
 * the exposition text has every series with its HELP and TYPE, labelled with the device, values
 * as given; a buffer too small gives 0, not half a file; the file is replaced atomically and a
 * name that is not .prom, or a folder that is not there, is refused with a reason. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "agent_metrics.h"

static char dir[64];

static void make_dir(void)
{
    snprintf(dir, sizeof(dir), "/tmp/pantau-metrics-XXXXXX");
    if (mkdtemp(dir) == NULL) {
        dir[0] = '\0';
    }
}

static void remove_dir(void)
{
    char path[128];

    snprintf(path, sizeof(path), "%s/agent.prom", dir);
    unlink(path);
    rmdir(dir);
}

#define TEST_INIT make_dir()
#define TEST_FINI remove_dir()
#include "tinytest.h"

static struct agent_metrics sample(void)
{
    struct agent_metrics m;

    memset(&m, 0, sizeof(m));
    m.device_id = "gw-p2c-01";
    m.version = "pantau-agent 0.1.0";
    m.connected = true;
    m.clock_synced = false;
    m.held = 1234;
    m.held_bytes = 567890;
    m.kept = 77;
    m.kept_bytes = 31000;
    m.limit_readings = 1000000;
    m.limit_bytes = 268435456;
    m.file_bytes = 4096;
    m.acked = 99;
    m.rejected = 2;
    m.dropped = 151;
    m.published = 40;
    m.replayed = 30;
    m.resent = 5;
    m.refusals = 1;
    m.connects = 3;
    m.start_time_s = 1765000000.25;
    return m;
}

static void test_every_series_labelled_with_help_and_type(void)
{
    struct agent_metrics m = sample();
    char buf[8192];
    size_t n = agent_metrics_render(&m, buf, sizeof(buf));
    static const char *const want[] = {
        "pantau_agent_info{device=\"gw-p2c-01\",version=\"pantau-agent 0.1.0\"} 1\n",
        "pantau_agent_start_time_seconds{device=\"gw-p2c-01\"} 1765000000.250\n",
        "pantau_agent_connected{device=\"gw-p2c-01\"} 1\n",
        "pantau_agent_clock_synced{device=\"gw-p2c-01\"} 0\n",
        "pantau_agent_backlog_readings{device=\"gw-p2c-01\"} 1234\n",
        "pantau_agent_backlog_bytes{device=\"gw-p2c-01\"} 567890\n",
        "pantau_agent_kept_readings{device=\"gw-p2c-01\"} 77\n",
        "pantau_agent_kept_bytes{device=\"gw-p2c-01\"} 31000\n",
        "pantau_agent_store_limit_readings{device=\"gw-p2c-01\"} 1000000\n",
        "pantau_agent_store_limit_bytes{device=\"gw-p2c-01\"} 268435456\n",
        "pantau_agent_store_file_bytes{device=\"gw-p2c-01\"} 4096\n",
        "# TYPE pantau_agent_readings_acknowledged_total counter\n",
        "pantau_agent_readings_acknowledged_total{device=\"gw-p2c-01\"} 99\n",
        "pantau_agent_readings_rejected_total{device=\"gw-p2c-01\"} 2\n",
        "pantau_agent_readings_dropped_total{device=\"gw-p2c-01\"} 151\n",
        "pantau_agent_published_total{device=\"gw-p2c-01\"} 40\n",
        "pantau_agent_replayed_total{device=\"gw-p2c-01\"} 30\n",
        "pantau_agent_resent_total{device=\"gw-p2c-01\"} 5\n",
        "pantau_agent_refusals_total{device=\"gw-p2c-01\"} 1\n",
        "pantau_agent_connects_total{device=\"gw-p2c-01\"} 3\n",
        "# TYPE pantau_agent_backlog_readings gauge\n",
    };
    int helps = 0;
    const char *p;

    TEST_CHECK(n == strlen(buf) && n > 0);
    for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
        TEST_CHECK(strstr(buf, want[i]) != NULL);
        TEST_MSG("missing: %s", want[i]);
    }
    for (p = strstr(buf, "# HELP "); p != NULL; p = strstr(p + 1, "# HELP ")) {
        helps++;
    }
    TEST_CHECK(helps == 19);
    TEST_MSG("%d HELP lines", helps);
    TEST_CHECK(buf[n - 1] == '\n');
}

static void test_too_small_a_buffer_gives_nothing(void)
{
    struct agent_metrics m = sample();
    char buf[8192];
    size_t full = agent_metrics_render(&m, buf, sizeof(buf));

    TEST_CHECK(agent_metrics_render(&m, buf, full) == 0);
    TEST_CHECK(agent_metrics_render(&m, buf, full + 1) == full);
    TEST_CHECK(agent_metrics_render(&m, buf, 0) == 0);
}

static void test_file_replaced_whole_and_bad_names_refused(void)
{
    char path[128];
    char err[256] = "";
    char got[64] = "";
    FILE *f;
    struct stat st;

    TEST_CHECK(dir[0] != '\0');
    snprintf(path, sizeof(path), "%s/agent.prom", dir);
    TEST_CHECK(agent_metrics_write(path, "a 1\n", 4, err, sizeof(err)) == 0);
    TEST_CHECK(agent_metrics_write(path, "b 2\n", 4, err, sizeof(err)) == 0);
    f = fopen(path, "r");
    TEST_CHECK(f != NULL);
    if (f != NULL) {
        TEST_CHECK(fgets(got, sizeof(got), f) != NULL);
        fclose(f);
    }
    TEST_CHECK(strcmp(got, "b 2\n") == 0);
    snprintf(path, sizeof(path), "%s/agent.prom.tmp", dir);
    TEST_CHECK(stat(path, &st) != 0); /* no temporary left behind */

    TEST_CHECK(agent_metrics_write("/tmp/agent.txt", "x", 1, err, sizeof(err)) == -1);
    TEST_CHECK(strstr(err, "not a .prom") != NULL);
    TEST_MSG("err: %s", err);
    snprintf(path, sizeof(path), "%s/gone/agent.prom", dir);
    TEST_CHECK(agent_metrics_write(path, "x", 1, err, sizeof(err)) == -1);
    TEST_CHECK(strstr(err, "cannot write") != NULL);
    TEST_MSG("err: %s", err);
}

TEST_LIST = {
    {"every_series_labelled_with_help_and_type", test_every_series_labelled_with_help_and_type},
    {"too_small_a_buffer_gives_nothing", test_too_small_a_buffer_gives_nothing},
    {"file_replaced_whole_and_bad_names_refused", test_file_replaced_whole_and_bad_names_refused},
    {NULL, NULL},
};
