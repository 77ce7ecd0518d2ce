/* fuzz_msg_ack.c -- libFuzzer target for the other parsers of msg/: msg_ack_parse(),
 * msg_health_parse(), msg_rejected_parse(), msg_restore_parse() and the I-JSON gate
 * msg_json_parse() itself.
 *
 * Input: one selector byte, then the payload. Selector % 5: 0 acknowledgement, 1 health (of
 * topic pantau/v1/_sys/health/collector-1), 2 rejected, 3 bare msg_json_parse at depth 5 and
 * 65536 bytes, 4 restore. Checks err texts, lexer/cJSON agreement, that msg_json_check() agrees with
 * msg_json_parse() (up to what only the tree shows), and that a valid acknowledgement, health
 * rejected or restore message re-encodes to one that parses to the same values. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "fuzz_check.h"
#include "msg_ack.h"
#include "msg_health.h"
#include "msg_json.h"
#include "msg_rejected.h"
#include "msg_restore.h"

#define HEALTH_TOPIC "pantau/v1/_sys/health/collector-1"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static bool same_sets(const struct msg_rangeset *a, const struct msg_rangeset *b)
{
    /* the parser keeps lists as sent; the encoder writes what msg_ack_add built: compare
     * the seqs they cover, range by range */
    for (size_t i = 0; i < a->n; i++) {
        if (!msg_ranges_cover(b->r, b->n, a->r[i].first, a->r[i].last)) {
            return false;
        }
    }
    return msg_rangeset_count(a) == msg_rangeset_count(b);
}

static void fuzz_ack(const char *p, size_t n)
{
    static struct msg_ack *a;
    static struct msg_ack *back;
    static char buf[MSG_ACK_PAYLOAD_MAX + 1];
    char err[MSG_ERRLEN] = "";
    size_t len = 0;
    int rc;

    if (a == NULL) {
        a = msg_ack_new(MSG_ACK_RANGES_MAX);
        back = msg_ack_new(MSG_ACK_RANGES_MAX);
        FUZZ_ASSERT(a != NULL && back != NULL);
    }
    rc = msg_ack_parse(p, n, a, err, sizeof(err));
    fuzz_check_err(rc, err);
    FUZZ_ASSERT(rc != MSG_ERR_FULL);
    if (rc != MSG_OK) {
        return;
    }
    rc = msg_ack_encode(a, buf, sizeof(buf), &len);
    if (rc == MSG_ERR_FULL) {
        return;   /* same ranges, longer spelling than the input's */
    }
    FUZZ_ASSERT(rc == MSG_OK);
    rc = msg_ack_parse(buf, len, back, err, sizeof(err));
    FUZZ_ASSERT(rc == MSG_OK);
    FUZZ_ASSERT(back->ts_ms == a->ts_ms && back->n_stores == a->n_stores);
    for (size_t i = 0; i < a->n_stores; i++) {
        FUZZ_ASSERT(strcmp(a->stores[i].store_id, back->stores[i].store_id) == 0);
        FUZZ_ASSERT(same_sets(&a->stores[i].ranges, &back->stores[i].ranges));
        FUZZ_ASSERT(same_sets(&a->stores[i].dead, &back->stores[i].dead));
    }
}

static void fuzz_health(const char *p, size_t n)
{
    struct msg_topic t;
    struct msg_health h;
    struct msg_health back;
    char buf[1024];
    char err[MSG_ERRLEN] = "";
    size_t len = 0;
    int rc;

    FUZZ_ASSERT(msg_topic_parse(HEALTH_TOPIC, strlen(HEALTH_TOPIC), &t, err, sizeof(err)) ==
                MSG_OK);
    rc = msg_health_parse(&t, p, n, &h, err, sizeof(err));
    fuzz_check_err(rc, err);
    if (rc != MSG_OK) {
        return;
    }
    FUZZ_ASSERT(msg_health_encode(&h, buf, sizeof(buf), &len) == MSG_OK);
    FUZZ_ASSERT(msg_health_parse(&t, buf, len, &back, err, sizeof(err)) == MSG_OK);
    FUZZ_ASSERT(back.online == h.online && back.db == h.db && back.ts_ms == h.ts_ms &&
                strcmp(back.collector, h.collector) == 0);
}

static void fuzz_rejected(const char *p, size_t n)
{
    static struct msg_rejected r;
    static struct msg_rejected back;
    static char buf[MSG_REJECTED_MSG_MAX + 1];
    char err[MSG_ERRLEN] = "";
    size_t len = 0;
    int rc;

    rc = msg_rejected_parse(p, n, &r, err, sizeof(err));
    fuzz_check_err(rc, err);
    if (rc != MSG_OK) {
        return;
    }
    rc = msg_rejected_encode(&r, buf, sizeof(buf), &len);
    FUZZ_ASSERT(rc == MSG_OK);   /* a valid message always fits into MSG_REJECTED_MSG_MAX */
    FUZZ_ASSERT(msg_rejected_parse(buf, len, &back, err, sizeof(err)) == MSG_OK);
    FUZZ_ASSERT(back.ts_ms == r.ts_ms && back.payload_len == r.payload_len &&
                memcmp(back.payload, r.payload, r.payload_len) == 0 &&
                strcmp(back.topic, r.topic) == 0 && strcmp(back.reason, r.reason) == 0 &&
                strcmp(back.device, r.device) == 0);
}

static void fuzz_restore(const char *p, size_t n)
{
    struct msg_restore r;
    struct msg_restore back;
    char buf[512];
    char err[MSG_ERRLEN] = "";
    size_t len = 0;
    int rc;

    rc = msg_restore_parse(p, n, &r, err, sizeof(err));
    fuzz_check_err(rc, err);
    if (rc != MSG_OK) {
        return;
    }
    FUZZ_ASSERT(r.epoch >= 1 && r.restored_ms >= r.target_ms);
    FUZZ_ASSERT(msg_restore_encode(&r, buf, sizeof(buf), &len) == MSG_OK);
    FUZZ_ASSERT(msg_restore_parse(buf, len, &back, err, sizeof(err)) == MSG_OK);
    FUZZ_ASSERT(back.epoch == r.epoch && back.target_ms == r.target_ms &&
                back.restored_ms == r.restored_ms && back.ts_ms == r.ts_ms);
}

static void fuzz_json(const char *p, size_t n)
{
    char err[MSG_ERRLEN] = "";
    char err2[MSG_ERRLEN] = "";
    cJSON *doc = NULL;
    int rc = msg_json_parse(p, n, MSG_ACK_PAYLOAD_MAX, MSG_DEPTH_ACK, &doc, err, sizeof(err));
    int rc2 = msg_json_check(p, n, MSG_ACK_PAYLOAD_MAX, MSG_DEPTH_ACK, err2, sizeof(err2));

    fuzz_check_err(rc, err);
    fuzz_check_err(rc2, err2);
    FUZZ_ASSERT((rc == MSG_OK) == (doc != NULL));
    /* the lexer refuses whatever the whole gate refuses, but duplicates and the decade of
     * numbers just below infinity, which only the tree shows */
    if (rc2 == MSG_OK && rc != MSG_OK) {
        FUZZ_ASSERT(strstr(err, "duplicate member name") != NULL ||
                    strstr(err, "range of a double") != NULL);
    }
    if (rc2 != MSG_OK) {
        FUZZ_ASSERT(rc == rc2 && strcmp(err, err2) == 0);
    }
    cJSON_Delete(doc);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *p = (const char *)data + 1;

    if (size == 0) {
        return 0;
    }
    switch (data[0] % 5) {
    case 0:
        fuzz_ack(p, size - 1);
        break;
    case 1:
        fuzz_health(p, size - 1);
        break;
    case 2:
        fuzz_rejected(p, size - 1);
        break;
    case 4:
        fuzz_restore(p, size - 1);
        break;
    default:
        fuzz_json(p, size - 1);
        break;
    }
    return 0;
}
