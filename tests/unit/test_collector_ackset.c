/* test_collector_ackset.c -- unit tests of collector/ackset.c: coalescing of acknowledgements
 * per device and store into range lists, and their split into messages (protocol.md 6.1, 8). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ackset.h"
#include "msg_topic.h"
#include "tinytest.h"

#define STORE_A "6f1c2b0e-9a57-4d1e-8d0c-3a1f2e4b5c6d"
#define STORE_B "0b8e6f3a-1c2d-4e5f-8a9b-0c1d2e3f4a5b"

/* What the drain handed out, flattened for checks. */
struct msg_seen {
    char device[MSG_ID_MAX + 1];
    size_t n_items;
    char stores[ACKSET_STORES_PER_MSG][40];
    size_t n_ranges[ACKSET_STORES_PER_MSG];
    size_t n_dead[ACKSET_STORES_PER_MSG];
    struct msg_range first_range[ACKSET_STORES_PER_MSG];
    struct msg_range last_range[ACKSET_STORES_PER_MSG];
    struct msg_range first_dead[ACKSET_STORES_PER_MSG];
    int dead_subset_ok;
};

struct capture {
    struct msg_seen msgs[2048];
    size_t n;
    int stop_after; /* return non-zero after this many messages (0: never) */
};

static int emit(void *ctx, const char *device_id, const struct ackset_item *items, size_t n)
{
    struct capture *c = ctx;
    struct msg_seen *m;

    if (c->n >= sizeof(c->msgs) / sizeof(c->msgs[0])) {
        return 1;
    }
    m = &c->msgs[c->n++];
    memset(m, 0, sizeof(*m));
    snprintf(m->device, sizeof(m->device), "%s", device_id);
    m->n_items = n;
    m->dead_subset_ok = 1;
    for (size_t i = 0; i < n; i++) {
        snprintf(m->stores[i], sizeof(m->stores[i]), "%s", items[i].store_id);
        m->n_ranges[i] = items[i].n_ranges;
        m->n_dead[i] = items[i].n_dead;
        m->first_range[i] = items[i].ranges[0];
        m->last_range[i] = items[i].ranges[items[i].n_ranges - 1];
        if (items[i].n_dead > 0) {
            m->first_dead[i] = items[i].dead[0];
        }
        if (msg_ranges_check(items[i].ranges, items[i].n_ranges, NULL) != MSG_OK) {
            m->dead_subset_ok = 0;
        }
        for (size_t d = 0; d < items[i].n_dead; d++) {
            if (!msg_ranges_cover(items[i].ranges, items[i].n_ranges, items[i].dead[d].first,
                                  items[i].dead[d].last)) {
                m->dead_subset_ok = 0;
            }
        }
    }
    return c->stop_after > 0 && (int)c->n >= c->stop_after ? 1 : 0;
}

static void consecutive_seqs_coalesce_into_one_range(void)
{
    struct ackset *a = ackset_new();
    static struct capture c;

    memset(&c, 0, sizeof(c));
    for (uint64_t s = 1; s <= 2000; s++) {
        TEST_CHECK(ackset_add(a, "gw-p2c-01", STORE_A, s, false) == MSG_OK);
    }
    TEST_CHECK(ackset_devices(a) == 1);
    TEST_CHECK(ackset_drain(a, emit, &c) == 1);
    TEST_CHECK(c.n == 1);
    TEST_CHECK(strcmp(c.msgs[0].device, "gw-p2c-01") == 0);
    TEST_CHECK(c.msgs[0].n_items == 1);
    TEST_CHECK(c.msgs[0].n_ranges[0] == 1);
    TEST_CHECK(c.msgs[0].first_range[0].first == 1 && c.msgs[0].first_range[0].last == 2000);
    TEST_CHECK(c.msgs[0].n_dead[0] == 0);
    ackset_free(a);
}

static void out_of_order_and_repeated_seqs_coalesce(void)
{
    struct ackset *a = ackset_new();
    static struct capture c;
    static const uint64_t seqs[] = {5, 3, 4, 1, 2, 2, 5, 9, 7, 8};

    memset(&c, 0, sizeof(c));
    for (size_t i = 0; i < sizeof(seqs) / sizeof(seqs[0]); i++) {
        TEST_CHECK(ackset_add(a, "gw-p2c-01", STORE_A, seqs[i], false) == MSG_OK);
    }
    TEST_CHECK(ackset_drain(a, emit, &c) == 1);
    TEST_CHECK(c.msgs[0].n_ranges[0] == 2);
    TEST_CHECK(c.msgs[0].first_range[0].first == 1 && c.msgs[0].first_range[0].last == 5);
    TEST_CHECK(c.msgs[0].last_range[0].first == 7 && c.msgs[0].last_range[0].last == 9);
    ackset_free(a);
}

static void dead_seqs_are_a_subset_of_ranges(void)
{
    struct ackset *a = ackset_new();
    static struct capture c;

    memset(&c, 0, sizeof(c));
    for (uint64_t s = 1; s <= 10; s++) {
        TEST_CHECK(ackset_add(a, "gw-p2c-01", STORE_A, s, s == 5) == MSG_OK);
    }
    TEST_CHECK(ackset_drain(a, emit, &c) == 1);
    TEST_CHECK(c.msgs[0].n_ranges[0] == 1);
    TEST_CHECK(c.msgs[0].n_dead[0] == 1);
    TEST_CHECK(c.msgs[0].first_dead[0].first == 5 && c.msgs[0].first_dead[0].last == 5);
    TEST_CHECK(c.msgs[0].dead_subset_ok);
    ackset_free(a);
}

/* issue 9 item 5: dead holds only readings of which no copy was stored, whichever copy of a
 * seq comes first within one acknowledgement */
static void stored_copy_keeps_a_seq_out_of_dead_9_5(void)
{
    struct ackset *a = ackset_new();
    static struct capture c;

    memset(&c, 0, sizeof(c));
    TEST_CHECK(ackset_add(a, "gw-p2c-01", STORE_A, 3, false) == MSG_OK); /* stored, then a dead */
    TEST_CHECK(ackset_add(a, "gw-p2c-01", STORE_A, 3, true) == MSG_OK);  /* copy (a clash) */
    for (uint64_t s = 5; s <= 9; s++) {
        TEST_CHECK(ackset_add(a, "gw-p2c-01", STORE_A, s, true) == MSG_OK); /* dead 5..9 */
    }
    TEST_CHECK(ackset_add(a, "gw-p2c-01", STORE_A, 7, false) == MSG_OK); /* then 7 stored */
    TEST_CHECK(ackset_add(a, "gw-p2c-01", STORE_A, 5, false) == MSG_OK); /* and 5 */
    TEST_CHECK(ackset_add(a, "gw-p2c-01", STORE_A, 11, true) == MSG_OK); /* 11 dead only */
    TEST_CHECK(ackset_add(a, "gw-p2c-01", STORE_A, 11, true) == MSG_OK); /* twice */
    TEST_CHECK(ackset_drain(a, emit, &c) == 1);
    TEST_CHECK(c.msgs[0].n_ranges[0] == 3); /* [3,3] [5,9] [11,11] */
    TEST_CHECK(c.msgs[0].n_dead[0] == 3);   /* [6,6] [8,9] [11,11] */
    TEST_CHECK(c.msgs[0].first_dead[0].first == 6 && c.msgs[0].first_dead[0].last == 6);
    TEST_CHECK(c.msgs[0].dead_subset_ok);
    ackset_free(a);
}

static void seventeen_stores_make_two_messages(void)
{
    struct ackset *a = ackset_new();
    static struct capture c;
    char store[40];

    memset(&c, 0, sizeof(c));
    for (int i = 0; i < 17; i++) {
        snprintf(store, sizeof(store), "6f1c2b0e-9a57-4d1e-8d0c-3a1f2e4b5c%02d", i);
        TEST_CHECK(ackset_add(a, "gw-p2c-01", store, 1, false) == MSG_OK);
    }
    TEST_CHECK(ackset_drain(a, emit, &c) == 2);
    TEST_CHECK(c.msgs[0].n_items == 16);
    TEST_CHECK(c.msgs[1].n_items == 1);
    ackset_free(a);
}

static void more_than_1000_ranges_split_the_store_across_messages(void)
{
    struct ackset *a = ackset_new();
    static struct capture c;

    memset(&c, 0, sizeof(c));
    /* odd seqs only: every one is its own range */
    for (uint64_t s = 1; s <= 2 * 1500; s += 2) {
        TEST_CHECK(ackset_add(a, "gw-p2c-01", STORE_A, s, s % 4 == 1) == MSG_OK);
    }
    TEST_CHECK(ackset_add(a, "gw-p2c-01", STORE_B, 7, false) == MSG_OK);
    TEST_CHECK(ackset_drain(a, emit, &c) == 2);
    TEST_CHECK(c.msgs[0].n_items == 1);
    TEST_CHECK(c.msgs[0].n_ranges[0] == ACKSET_RANGES_MAX);
    TEST_CHECK(c.msgs[0].dead_subset_ok);
    TEST_CHECK(c.msgs[1].n_items == 2); /* the rest of STORE_A, and STORE_B */
    TEST_CHECK(c.msgs[1].n_ranges[0] == 500);
    TEST_CHECK(c.msgs[1].dead_subset_ok);
    TEST_CHECK(strcmp(c.msgs[0].stores[0], c.msgs[1].stores[0]) == 0);
    TEST_CHECK(strcmp(c.msgs[1].stores[1], STORE_B) == 0);
    ackset_free(a);
}

static void many_devices_each_get_their_message(void)
{
    struct ackset *a = ackset_new();
    static struct capture c;
    char dev[40];
    int seen[1000] = {0};

    memset(&c, 0, sizeof(c));
    for (int round = 0; round < 3; round++) {
        for (int i = 0; i < 1000; i++) {
            snprintf(dev, sizeof(dev), "dev-%04d", i);
            TEST_CHECK(ackset_add(a, dev, STORE_A, (uint64_t)(round + 1), false) == MSG_OK);
        }
    }
    TEST_CHECK(ackset_devices(a) == 1000);
    TEST_CHECK(ackset_drain(a, emit, &c) == 1000);
    for (size_t m = 0; m < c.n; m++) {
        int i = (int)strtol(c.msgs[m].device + 4, NULL, 10);
        if (i >= 0 && i < 1000) {
            seen[i]++;
        }
        TEST_CHECK(c.msgs[m].n_ranges[0] == 1);
        TEST_CHECK(c.msgs[m].first_range[0].first == 1 && c.msgs[m].first_range[0].last == 3);
    }
    for (int i = 0; i < 1000; i++) {
        TEST_CHECK(seen[i] == 1);
    }
    ackset_free(a);
}

static void drain_empties_and_the_set_is_reusable(void)
{
    struct ackset *a = ackset_new();
    static struct capture c;

    memset(&c, 0, sizeof(c));
    TEST_CHECK(ackset_add(a, "gw-a", STORE_A, 1, false) == MSG_OK);
    TEST_CHECK(ackset_add(a, "gw-b", STORE_A, 1, false) == MSG_OK);
    c.stop_after = 1;
    TEST_CHECK(ackset_drain(a, emit, &c) == 1); /* stopped early: the rest is dropped */
    TEST_CHECK(ackset_devices(a) == 0);
    c.stop_after = 0;
    c.n = 0;
    TEST_CHECK(ackset_drain(a, emit, &c) == 0);
    TEST_CHECK(ackset_add(a, "gw-a", STORE_B, 42, true) == MSG_OK);
    TEST_CHECK(ackset_drain(a, emit, &c) == 1);
    TEST_CHECK(strcmp(c.msgs[0].stores[0], STORE_B) == 0);
    TEST_CHECK(c.msgs[0].first_range[0].first == 42);
    TEST_CHECK(c.msgs[0].n_dead[0] == 1);
    ackset_free(a);
}

static void invalid_input_is_refused(void)
{
    struct ackset *a = ackset_new();
    char long_id[MSG_ID_MAX + 2];

    memset(long_id, 'a', sizeof(long_id) - 1);
    long_id[sizeof(long_id) - 1] = '\0';
    TEST_CHECK(ackset_add(a, "gw-a", STORE_A, 0, false) == MSG_ERR_INVAL);
    TEST_CHECK(ackset_add(a, "gw-a", STORE_A, MSG_SEQ_MAX + 1, false) == MSG_ERR_INVAL);
    TEST_CHECK(ackset_add(a, "gw-a", STORE_A, MSG_SEQ_MAX, false) == MSG_OK);
    TEST_CHECK(ackset_add(a, long_id, STORE_A, 1, false) == MSG_ERR_INVAL);
    long_id[MSG_ID_MAX] = '\0'; /* exactly MSG_ID_MAX bytes */
    TEST_CHECK(ackset_add(a, long_id, STORE_A, 1, false) == MSG_OK);
    TEST_CHECK(ackset_devices(a) == 2);
    ackset_free(a);
    ackset_free(NULL);
}

TEST_LIST = {
    {"consecutive_seqs_coalesce_into_one_range", consecutive_seqs_coalesce_into_one_range},
    {"out_of_order_and_repeated_seqs_coalesce", out_of_order_and_repeated_seqs_coalesce},
    {"dead_seqs_are_a_subset_of_ranges", dead_seqs_are_a_subset_of_ranges},
    {"stored_copy_keeps_a_seq_out_of_dead_9_5", stored_copy_keeps_a_seq_out_of_dead_9_5},
    {"seventeen_stores_make_two_messages", seventeen_stores_make_two_messages},
    {"more_than_1000_ranges_split_the_store_across_messages",
     more_than_1000_ranges_split_the_store_across_messages},
    {"many_devices_each_get_their_message", many_devices_each_get_their_message},
    {"drain_empties_and_the_set_is_reusable", drain_empties_and_the_set_is_reusable},
    {"invalid_input_is_refused", invalid_input_is_refused},
    {NULL, NULL},
};
