/* test_collector_intake.c -- unit tests of collector/intake.c: the bounded byte ring between
 * libmosquitto's thread and the database thread (order, wrap-around, full, cut-off, threads). */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "intake.h"
#include "tinytest.h"

static void messages_come_out_in_order_across_wraps(void)
{
    struct intake *q = intake_new(INTAKE_BYTES_MIN);
    struct intake_item it;
    char topic[64];
    char payload[3000];
    unsigned next_out = 0;

    memset(payload, 'x', sizeof(payload));
    /* many rounds of varied sizes: the ring wraps many times */
    for (unsigned i = 0; i < 5000; i++) {
        size_t plen = (i * 7919u) % sizeof(payload);
        int n = snprintf(topic, sizeof(topic), "pantau/v1/dev-%u/flood", i);

        payload[0] = (char)('a' + i % 26);
        while (intake_put(q, topic, (size_t)n, payload, plen, (int64_t)i, 0) != MSG_OK) {
            /* full: consume one */
            TEST_CHECK(intake_peek(q, &it, 0));
            snprintf(topic, sizeof(topic), "pantau/v1/dev-%u/flood", next_out);
            TEST_CHECK(strcmp(it.topic, topic) == 0);
            TEST_CHECK(it.recv_us == (int64_t)next_out);
            TEST_CHECK(it.payload_len == (next_out * 7919u) % sizeof(payload));
            TEST_CHECK(it.payload[it.payload_len] == '\0');
            intake_pop(q);
            next_out++;
            n = snprintf(topic, sizeof(topic), "pantau/v1/dev-%u/flood", i);
        }
    }
    while (intake_peek(q, &it, 0)) {
        snprintf(topic, sizeof(topic), "pantau/v1/dev-%u/flood", next_out);
        TEST_CHECK(strcmp(it.topic, topic) == 0);
        intake_pop(q);
        next_out++;
    }
    TEST_CHECK(next_out == 5000);
    intake_free(q);
}

static void full_ring_times_out_and_close_refuses(void)
{
    struct intake *q = intake_new(INTAKE_BYTES_MIN);
    static char big[INTAKE_PAYLOAD_KEEP];
    size_t msgs = 0;
    size_t bytes = 0;
    int rc = MSG_OK;
    int n = 0;

    while (rc == MSG_OK && n < 100) {
        rc = intake_put(q, "t", 1, big, sizeof(big), 0, 10);
        n++;
    }
    TEST_CHECK(rc == MSG_ERR_FULL);
    intake_depth(q, &msgs, &bytes);
    TEST_CHECK(msgs == (size_t)(n - 1));
    TEST_CHECK(bytes <= INTAKE_BYTES_MIN + 8);
    intake_close(q);
    TEST_CHECK(intake_put(q, "t", 1, "x", 1, 0, 0) == MSG_ERR_FULL);
    intake_free(q);
}

static void long_payload_and_topic_are_cut_with_original_length_kept(void)
{
    struct intake *q = intake_new(INTAKE_BYTES_MIN);
    struct intake_item it;
    char *big = malloc(INTAKE_PAYLOAD_KEEP + 100);
    char topic[INTAKE_TOPIC_KEEP + 10];

    memset(big, 'p', INTAKE_PAYLOAD_KEEP + 100);
    memset(topic, 't', sizeof(topic));
    TEST_CHECK(intake_put(q, topic, sizeof(topic), big, INTAKE_PAYLOAD_KEEP + 100, 5, 0) == MSG_OK);
    TEST_CHECK(intake_peek(q, &it, 0));
    TEST_CHECK(it.payload_len == INTAKE_PAYLOAD_KEEP);
    TEST_CHECK(it.payload_len_orig == INTAKE_PAYLOAD_KEEP + 100);
    TEST_CHECK(it.topic_len == INTAKE_TOPIC_KEEP);
    TEST_CHECK(it.topic_len_orig == sizeof(topic));
    intake_pop(q);
    TEST_CHECK(!intake_peek(q, &it, 0));
    TEST_CHECK(intake_put(q, "t", 1, NULL, 0, 5, 0) == MSG_OK); /* empty payload */
    TEST_CHECK(intake_peek(q, &it, 0));
    TEST_CHECK(it.payload_len == 0 && it.payload[0] == '\0');
    intake_pop(q);
    free(big);
    intake_free(q);
}

struct producer_arg {
    struct intake *q;
    unsigned count;
};

static void *producer(void *arg)
{
    struct producer_arg *p = arg;
    char payload[600];

    for (unsigned i = 0; i < p->count; i++) {
        size_t len = 1 + i % sizeof(payload);

        memset(payload, (int)('A' + i % 26), len);
        while (intake_put(p->q, "pantau/v1/d/flood", 17, payload, len, (int64_t)i, 100) != MSG_OK) {
        }
    }
    return NULL;
}

static void two_threads_hand_over_every_message_intact(void)
{
    struct producer_arg pa;
    pthread_t t;
    struct intake_item it;
    unsigned got = 0;

    pa.q = intake_new(INTAKE_BYTES_MIN);
    pa.count = 200000;
    pthread_create(&t, NULL, producer, &pa);
    while (got < pa.count) {
        if (!intake_peek(pa.q, &it, 1000)) {
            TEST_CHECK(0 && "consumer starved");
            break;
        }
        TEST_CHECK(it.recv_us == (int64_t)got);
        TEST_CHECK(it.payload_len == 1 + got % 600);
        TEST_CHECK(it.payload[0] == (char)('A' + got % 26) &&
                   it.payload[it.payload_len - 1] == (char)('A' + got % 26));
        intake_pop(pa.q);
        got++;
    }
    pthread_join(t, NULL);
    TEST_CHECK(got == pa.count);
    intake_free(pa.q);
}

TEST_LIST = {
    {"messages_come_out_in_order_across_wraps", messages_come_out_in_order_across_wraps},
    {"full_ring_times_out_and_close_refuses", full_ring_times_out_and_close_refuses},
    {"long_payload_and_topic_are_cut_with_original_length_kept",
     long_payload_and_topic_are_cut_with_original_length_kept},
    {"two_threads_hand_over_every_message_intact", two_threads_hand_over_every_message_intact},
    {NULL, NULL},
};
