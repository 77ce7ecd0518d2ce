/* test_agent_clock.c -- agent_clock: wall time, the synchronisation override, time since boot,
 * the kernel's boot id and the mode names (the clocks themselves: test_msg_clock.c). */
#include <stdint.h>
#include <string.h>
#include <time.h>

#include "agent_clock.h"
#include "msg_err.h"
#include "tinytest.h"

static void test_read_fills_all_three(void)
{
    struct agent_clock_now a;
    struct agent_clock_now b;
    struct timespec boot;
    int64_t now_ms = (int64_t)time(NULL) * 1000;

    agent_clock_read(AGENT_CLOCK_AUTO, &a);
    clock_gettime(CLOCK_BOOTTIME, &boot);
    agent_clock_read(AGENT_CLOCK_AUTO, &b);
    TEST_CHECK(a.wall_ms >= now_ms - 2000 && a.wall_ms <= now_ms + 2000);
    TEST_CHECK(a.mono_ms <= (uint64_t)boot.tv_sec * 1000 + (uint64_t)boot.tv_nsec / 1000000);
    TEST_CHECK(b.mono_ms >= a.mono_ms && b.mono_ms - a.mono_ms < 1000);
    TEST_CHECK(a.mono_ms > 0);
    TEST_CHECK(a.synced == agent_clock_kernel_synced());
}

static void test_override_forces_synced_state(void)
{
    struct agent_clock_now n;

    agent_clock_read(AGENT_CLOCK_SYNCED, &n);
    TEST_CHECK(n.synced);
    agent_clock_read(AGENT_CLOCK_UNSYNCED, &n);
    TEST_CHECK(!n.synced);
    TEST_CHECK(n.wall_ms > 0);
}

static void test_boot_id_is_a_uuid_and_stable(void)
{
    char a[AGENT_CLOCK_BOOT_ID_LEN + 1];
    char b[AGENT_CLOCK_BOOT_ID_LEN + 1];
    char err[MSG_ERRLEN] = "";

    TEST_CHECK(agent_clock_boot_id(a, err, sizeof(err)) == MSG_OK);
    TEST_MSG("%s", err);
    TEST_CHECK(strlen(a) == 36 && a[8] == '-' && a[13] == '-' && a[18] == '-' && a[23] == '-');
    TEST_CHECK(agent_clock_boot_id(b, err, sizeof(err)) == MSG_OK);
    TEST_CHECK(strcmp(a, b) == 0);
}

static void test_sync_names_round_trip(void)
{
    static const struct {
        const char *name;
        int rc;
        enum agent_clock_sync mode;
    } cases[] = {
        {"auto", MSG_OK, AGENT_CLOCK_AUTO},
        {"synced", MSG_OK, AGENT_CLOCK_SYNCED},
        {"unsynced", MSG_OK, AGENT_CLOCK_UNSYNCED},
        {"", MSG_ERR_CONFIG, AGENT_CLOCK_AUTO},
        {"Synced", MSG_ERR_CONFIG, AGENT_CLOCK_AUTO},
        {"ntp", MSG_ERR_CONFIG, AGENT_CLOCK_AUTO},
    };

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        enum agent_clock_sync m = AGENT_CLOCK_AUTO;
        int rc = agent_clock_sync_from_name(cases[i].name, &m);

        TEST_CHECK(rc == cases[i].rc);
        TEST_MSG("case '%s'", cases[i].name);
        if (rc == MSG_OK) {
            TEST_CHECK(m == cases[i].mode);
            TEST_CHECK(strcmp(agent_clock_sync_name(m), cases[i].name) == 0);
        }
    }
    TEST_CHECK(strcmp(agent_clock_sync_name((enum agent_clock_sync)7), "?") == 0);
}

TEST_LIST = {
    {"read_fills_all_three", test_read_fills_all_three},
    {"override_forces_synced_state", test_override_forces_synced_state},
    {"boot_id_is_a_uuid_and_stable", test_boot_id_is_a_uuid_and_stable},
    {"sync_names_round_trip", test_sync_names_round_trip},
    {NULL, NULL},
};
