/* test_msg_ratetable.c -- unit tests of msg/msg_ratetable.c: the bounded table of token buckets
 * per identity (the broker plugin's per device and user, the collector's per device). */
#include <stdio.h>
#include <string.h>

#include "msg_ratetable.h"
#include "tinytest.h"

#define ID64 "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"

static void test_table_get_find_remove(void)
{
    struct msg_ratetable *t = msg_ratetable_new(4);
    struct msg_ratetable_entry *a = NULL;
    struct msg_ratetable_entry *again = NULL;

    if (!TEST_CHECK(t != NULL)) {
        return;
    }
    TEST_CHECK(msg_ratetable_find(t, "gw-1") == NULL);
    a = msg_ratetable_get(t, "gw-1");
    if (!TEST_CHECK(a != NULL)) {
        goto out;
    }
    TEST_CHECK(strcmp(a->key, "gw-1") == 0);
    TEST_CHECK(!a->b[0].primed && a->suppressed == 0);
    a->suppressed = 7;
    again = msg_ratetable_get(t, "gw-1");
    TEST_CHECK(again == a && again->suppressed == 7);
    TEST_CHECK(msg_ratetable_count(t) == 1);
    TEST_CHECK(msg_ratetable_get(t, ID64) != NULL);
    TEST_CHECK(msg_ratetable_get(t, ID64 "a") == NULL); /* longer than an id */
    TEST_CHECK(msg_ratetable_get(t, "") == NULL);
    TEST_CHECK(msg_ratetable_get(t, NULL) == NULL);
    TEST_CHECK(msg_ratetable_count(t) == 2);
    msg_ratetable_remove(t, "gw-1");
    TEST_CHECK(msg_ratetable_find(t, "gw-1") == NULL);
    TEST_CHECK(msg_ratetable_count(t) == 1);
    msg_ratetable_remove(t, "not-there");
    a = msg_ratetable_get(t, "gw-1");
    TEST_CHECK(a != NULL && a->suppressed == 0); /* made afresh */
out:
    msg_ratetable_free(t);
}

static void test_table_bounded_lru(void)
{
    struct msg_ratetable *t = msg_ratetable_new(3);
    char key[16];

    if (!TEST_CHECK(t != NULL)) {
        return;
    }
    msg_ratetable_get(t, "d1");
    msg_ratetable_get(t, "d2");
    msg_ratetable_get(t, "d3");
    msg_ratetable_get(t, "d1"); /* d2 is now the least recently used */
    msg_ratetable_get(t, "d4");
    TEST_CHECK(msg_ratetable_count(t) == 3);
    TEST_CHECK(msg_ratetable_find(t, "d2") == NULL);
    TEST_CHECK(msg_ratetable_find(t, "d1") != NULL);
    TEST_CHECK(msg_ratetable_find(t, "d3") != NULL);
    TEST_CHECK(msg_ratetable_find(t, "d4") != NULL);
    TEST_CHECK(msg_ratetable_evicted(t) == 1);
    /* many more keys than room: never more than capacity, every lookup still right */
    for (int i = 0; i < 1000; i++) {
        snprintf(key, sizeof(key), "dev-%d", i);
        TEST_CHECK(msg_ratetable_get(t, key) != NULL);
        TEST_CHECK(msg_ratetable_find(t, key) != NULL);
    }
    TEST_CHECK(msg_ratetable_count(t) == 3);
    TEST_CHECK(msg_ratetable_find(t, "dev-999") != NULL);
    TEST_CHECK(msg_ratetable_find(t, "dev-996") == NULL);
    msg_ratetable_free(t);
}

static bool drop_odd(void *ctx, const struct msg_ratetable_entry *e)
{
    int *visits = ctx;

    (*visits)++;
    return (e->key[strlen(e->key) - 1] - '0') % 2 == 1;
}

static void test_table_sweep(void)
{
    struct msg_ratetable *t = msg_ratetable_new(10);
    char key[16];
    int visits = 0;
    size_t dropped = 0;

    if (!TEST_CHECK(t != NULL)) {
        return;
    }
    for (int i = 0; i < 6; i++) {
        snprintf(key, sizeof(key), "d%d", i);
        msg_ratetable_get(t, key);
    }
    /* incremental: a few slots per call, wrapping around */
    dropped += msg_ratetable_sweep(t, 4, drop_odd, &visits);
    dropped += msg_ratetable_sweep(t, 4, drop_odd, &visits);
    dropped += msg_ratetable_sweep(t, 2, drop_odd, &visits); /* 10 slots: once round */
    TEST_CHECK(dropped == 3);
    TEST_MSG("dropped %zu", dropped);
    TEST_CHECK(visits == 6);
    TEST_CHECK(msg_ratetable_count(t) == 3);
    TEST_CHECK(msg_ratetable_find(t, "d1") == NULL && msg_ratetable_find(t, "d0") != NULL);
    /* the freed slots are used again */
    for (int i = 10; i < 17; i++) {
        snprintf(key, sizeof(key), "e%d", i);
        TEST_CHECK(msg_ratetable_get(t, key) != NULL);
    }
    TEST_CHECK(msg_ratetable_count(t) == 10);
    TEST_CHECK(msg_ratetable_evicted(t) == 0);
    msg_ratetable_free(t);
}

static void test_table_bad_capacity(void)
{
    TEST_CHECK(msg_ratetable_new(0) == NULL);
    TEST_CHECK(msg_ratetable_new((size_t)1 << 25) == NULL);
    msg_ratetable_free(NULL);
}

/* The collector's dead letters (moved from test_collector_ratelimit.c): 4096 devices tracked,
 * 1 a minute, 2 at once; many more device ids than that keep memory fixed, and the most recent
 * devices keep their buckets. */
static void test_table_many_devices_fixed_memory(void)
{
    enum {
        SLOTS = 4096
    };
    struct msg_bucket_rate r = {1 / 60.0, 2};
    struct msg_ratetable *t = msg_ratetable_new(SLOTS);
    struct msg_ratetable_entry *e = NULL;
    char id[32];
    int held = 0;

    if (!TEST_CHECK(t != NULL)) {
        return;
    }
    for (int i = 0; i < 3 * SLOTS; i++) {
        snprintf(id, sizeof(id), "gw-%05d", i);
        e = msg_ratetable_get(t, id);
        TEST_CHECK(e != NULL && msg_bucket_take(&e->b[0], &r, i)); /* starts with its burst */
    }
    TEST_CHECK(msg_ratetable_count(t) == SLOTS);
    for (int i = 3 * SLOTS - 100; i < 3 * SLOTS; i++) {
        snprintf(id, sizeof(id), "gw-%05d", i);
        e = msg_ratetable_get(t, id);
        held += e != NULL && msg_bucket_take(&e->b[0], &r, 3 * SLOTS) ? 1 : 0;
        held += e != NULL && !msg_bucket_take(&e->b[0], &r, 3 * SLOTS) ? 1 : 0;
    }
    TEST_CHECK(held == 200);
    TEST_MSG("held %d of 200", held);
    msg_ratetable_free(t);
}

TEST_LIST = {
    {"table_get_find_remove", test_table_get_find_remove},
    {"table_bounded_lru", test_table_bounded_lru},
    {"table_sweep", test_table_sweep},
    {"table_bad_capacity", test_table_bad_capacity},
    {"table_many_devices_fixed_memory", test_table_many_devices_fixed_memory},
    {NULL, NULL},
};
