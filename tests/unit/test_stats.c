/* test_stats.c -- unit tests of broker-plugins/stats.c's Prometheus text and promfile.c's
 * textfile writer: the series a module's counters become, and the file node_exporter reads,
 * written whole by the writer thread and kept current. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "promfile.h"
#include "stats.h"
#include "tinytest.h"

static const char *const reason_names[] = {"schema", "binding"};

/* A module's members as payval and devauth have them. */
static size_t sample(struct stats_member *m, struct stats_reasons *r, const uint64_t *counts)
{
    const struct stats_member members[] = {
        STATS_U64_MEMBER("accepted", 5),
        STATS_REASONS_MEMBER("refused", STATS_TOTAL),
        STATS_REASONS_MEMBER("refused_by_reason", STATS_BY_REASON),
        STATS_REASONS_MEMBER("refused_", STATS_EACH_REASON),
        STATS_GAUGE_MEMBER("devices", 7),
        STATS_BOOL_MEMBER("registry_db_ok", true),
        STATS_I64_MEMBER("registry_loaded_ms", 1765000000123),
    };

    memcpy(m, members, sizeof(members));
    r->names = reason_names;
    r->counts = counts;
    r->n = 2;
    return sizeof(members) / sizeof(members[0]);
}

static void test_prometheus_series(void)
{
    struct stats_member m[8];
    struct stats_reasons r;
    const uint64_t counts[] = {3, 0};
    size_t n = sample(m, &r, counts);
    char buf[STATS_PROM_MAX];
    size_t len = stats_prometheus("payval", &r, m, n, buf, sizeof(buf));
    const char *want =
        "# HELP pantau_broker_payval_accepted_total The payval module's accepted, as on $SYS/pantau/payval (protocol.md 7.4).\n"
        "# TYPE pantau_broker_payval_accepted_total counter\n"
        "pantau_broker_payval_accepted_total 5\n"
        "# HELP pantau_broker_payval_refused_total The payval module's refused, as on $SYS/pantau/payval (protocol.md 7.4).\n"
        "# TYPE pantau_broker_payval_refused_total counter\n"
        "pantau_broker_payval_refused_total{reason=\"schema\"} 3\n"
        "pantau_broker_payval_refused_total{reason=\"binding\"} 0\n"
        "# HELP pantau_broker_payval_devices The payval module's devices, as on $SYS/pantau/payval (protocol.md 7.4).\n"
        "# TYPE pantau_broker_payval_devices gauge\n"
        "pantau_broker_payval_devices 7\n"
        "# HELP pantau_broker_payval_registry_db_ok The payval module's registry_db_ok, as on $SYS/pantau/payval (protocol.md 7.4).\n"
        "# TYPE pantau_broker_payval_registry_db_ok gauge\n"
        "pantau_broker_payval_registry_db_ok 1\n"
        "# HELP pantau_broker_payval_registry_loaded_timestamp_seconds The payval module's registry_loaded, as on $SYS/pantau/payval (protocol.md 7.4).\n"
        "# TYPE pantau_broker_payval_registry_loaded_timestamp_seconds gauge\n"
        "pantau_broker_payval_registry_loaded_timestamp_seconds 1765000000.123\n";

    TEST_CHECK(len == strlen(want));
    TEST_CHECK(strcmp(buf, want) == 0);
    TEST_MSG("got:\n%s", buf);
    TEST_CHECK(stats_prometheus("payval", &r, m, n, buf, 100) == 0); /* does not fit */
}

/* Waits up to 5 s for path to hold needle; returns whether it did. */
static bool file_holds(const char *path, const char *needle)
{
    char buf[4 * STATS_PROM_MAX];

    for (int i = 0; i < 500; i++) {
        FILE *f = fopen(path, "r");
        struct timespec pause = {0, 10000000};

        if (f != NULL) {
            size_t n = fread(buf, 1, sizeof(buf) - 1, f);

            buf[n] = '\0';
            fclose(f);
            if (strstr(buf, needle) != NULL) {
                return true;
            }
        }
        nanosleep(&pause, NULL);
    }
    return false;
}

static void test_textfile_written_whole_and_kept_current(void)
{
    char dir[] = "/tmp/test_stats.XXXXXX";
    char path[64];
    char tmp[72];
    char err[256];
    struct promfile *pf;
    struct stats_member m[8];
    struct stats_reasons r;
    uint64_t counts[] = {1, 2};
    size_t n = sample(m, &r, counts);

    TEST_CHECK(mkdtemp(dir) != NULL);
    snprintf(path, sizeof(path), "%s/pantau_broker.txt", dir);
    TEST_CHECK(promfile_new(path, err, sizeof(err)) == NULL); /* not a .prom name */
    TEST_CHECK(strstr(err, ".prom") != NULL);
    snprintf(path, sizeof(path), "%s/pantau_broker.prom", dir);
    pf = promfile_new(path, err, sizeof(err));
    TEST_CHECK(pf != NULL);
    if (pf == NULL) {
        return;
    }
    stats_publish(pf, "payval", &r, m, n);
    promfile_put(pf, "devacl", "pantau_broker_devacl_allowed_total 9\n", 37);
    TEST_CHECK(file_holds(path, "pantau_broker_devacl_allowed_total 9\n"));
    TEST_CHECK(file_holds(path, "pantau_broker_payval_refused_total{reason=\"binding\"} 2\n"));
    counts[1] = 40; /* the next tick: the module's text replaced, the other kept */
    stats_publish(pf, "payval", &r, m, n);
    TEST_CHECK(file_holds(path, "pantau_broker_payval_refused_total{reason=\"binding\"} 40\n"));
    TEST_CHECK(file_holds(path, "pantau_broker_devacl_allowed_total 9\n"));
    promfile_free(pf);
    snprintf(tmp, sizeof(tmp), "%s.tmp", path);
    TEST_CHECK(access(tmp, F_OK) != 0);
    unlink(path);
    rmdir(dir);
}

TEST_LIST = {
    {"prometheus_series", test_prometheus_series},
    {"textfile_written_whole_and_kept_current", test_textfile_written_whole_and_kept_current},
    {NULL, NULL},
};
