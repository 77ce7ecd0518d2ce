/* msg_ack.c -- acknowledgements: see msg_ack.h. */
#include "msg_ack.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "msg_json.h"
#include "msg_schema.h"
#include "msg_write.h"

/* ranges or dead of one store: the list is read straight into the set's storage. */
static int check_set(const cJSON *item, struct msg_rangeset *rs, const struct msg_path *path,
                     char *err, size_t errlen)
{
    int count = cJSON_IsArray(item) ? cJSON_GetArraySize(item) : 0;

    if (count > MSG_ACK_RANGES_MAX) {
        return msg_schema_fail(path, err, errlen, "%d ranges, expected 1 to %d", count,
                               MSG_ACK_RANGES_MAX);
    }
    if ((size_t)count > rs->cap) {
        msg_schema_fail(path, err, errlen, "%d ranges, more than this struct msg_ack holds (%zu)",
                        count, rs->cap);
        return MSG_ERR_FULL;
    }
    return msg_schema_ranges(item, path, rs->r, rs->cap, &rs->n, err, errlen);
}

static int check_ranges(const struct msg_member *m, const cJSON *item, void *base,
                        const struct msg_path *path, char *err, size_t errlen)
{
    (void)m;
    return check_set(item, &((struct msg_ack_store *)base)->ranges, path, err, errlen);
}

static int check_dead(const struct msg_member *m, const cJSON *item, void *base,
                      const struct msg_path *path, char *err, size_t errlen)
{
    (void)m;
    return check_set(item, &((struct msg_ack_store *)base)->dead, path, err, errlen);
}

static const struct msg_member item_members[] = {
    {"store", MSG_M_STORE, true, false, 0, 0, offsetof(struct msg_ack_store, store_id),
     sizeof(((struct msg_ack_store *)0)->store_id), MSG_NO_HAS, NULL, NULL, NULL, NULL},
    {"ranges", MSG_M_CUSTOM, true, false, 0, 0, 0, 0, MSG_NO_HAS, NULL, check_ranges, NULL, NULL},
    {"dead", MSG_M_CUSTOM, false, false, 0, 0, 0, 0, MSG_NO_HAS, NULL, check_dead, NULL, NULL},
};

#define N_ITEM_MEMBERS (sizeof(item_members) / sizeof(item_members[0]))

static int check_acks(const struct msg_member *m, const cJSON *item, void *base,
                      const struct msg_path *path, char *err, size_t errlen)
{
    struct msg_ack *a = base;
    struct msg_path ip = {path, NULL, 0};
    struct msg_path sp = {&ip, "store", 0};
    struct msg_path dp = {&ip, "dead", 0};
    struct msg_path rp = {&dp, NULL, 0};
    size_t count = 0;
    size_t n = 0;
    int rc;

    (void)m;
    rc = msg_schema_want_array(item, path, 1, MSG_ACK_STORES_MAX, "items", &count, err, errlen);
    if (rc != MSG_OK) {
        return rc;
    }
    for (const cJSON *c = item->child; c != NULL; c = c->next, n++) {
        struct msg_ack_store *st = &a->stores[n];

        ip.index = n;
        st->ranges.n = 0;
        st->dead.n = 0;
        rc = msg_schema_object(c, item_members, N_ITEM_MEMBERS, true, st, &ip, NULL, err, errlen);
        if (rc != MSG_OK) {
            return rc;
        }
        for (size_t j = 0; j < n; j++) {
            if (strcmp(a->stores[j].store_id, st->store_id) == 0) {
                return msg_schema_fail(&sp, err, errlen, "'%s' repeats acks[%zu] (one item per "
                                       "store)", st->store_id, j);
            }
        }
        for (size_t k = 0; k < st->dead.n; k++) {
            const struct msg_range *d = &st->dead.r[k];

            if (!msg_ranges_cover(st->ranges.r, st->ranges.n, d->first, d->last)) {
                rp.index = k;
                return msg_schema_fail(&rp, err, errlen,
                                       "[%" PRIu64 ",%" PRIu64 "] is not inside ranges",
                                       d->first, d->last);
            }
        }
    }
    a->n_stores = n;
    return MSG_OK;
}

static const struct msg_member ack_members[] = {
    {"ts", MSG_M_TS, true, false, 0, 0, offsetof(struct msg_ack, ts_ms), sizeof(int64_t),
     MSG_NO_HAS, NULL, NULL, NULL, NULL},
    {"acks", MSG_M_CUSTOM, true, false, 0, 0, 0, 0, MSG_NO_HAS, NULL, check_acks, NULL, NULL},
};

struct msg_ack *msg_ack_new(size_t ranges_per_store)
{
    struct msg_ack *a = NULL;
    struct msg_range *pool;

    if (ranges_per_store < 1 || ranges_per_store > MSG_ACK_RANGES_MAX) {
        return NULL;
    }
    a = calloc(1, sizeof(*a) + MSG_ACK_STORES_MAX * 2 * ranges_per_store * sizeof(*pool));
    if (a == NULL) {
        return NULL;
    }
    pool = (struct msg_range *)(void *)(a + 1);
    for (size_t i = 0; i < MSG_ACK_STORES_MAX; i++) {
        msg_rangeset_init(&a->stores[i].ranges, pool, ranges_per_store);
        pool += ranges_per_store;
        msg_rangeset_init(&a->stores[i].dead, pool, ranges_per_store);
        pool += ranges_per_store;
    }
    return a;
}

void msg_ack_free(struct msg_ack *a)
{
    free(a);
}

void msg_ack_reset(struct msg_ack *a, int64_t ts_ms)
{
    for (size_t i = 0; i < MSG_ACK_STORES_MAX; i++) {
        a->stores[i].store_id[0] = '\0';
        msg_rangeset_clear(&a->stores[i].ranges);
        msg_rangeset_clear(&a->stores[i].dead);
    }
    a->n_stores = 0;
    a->ts_ms = ts_ms;
}

const struct msg_ack_store *msg_ack_find(const struct msg_ack *a, const char *store_id)
{
    for (size_t i = 0; i < a->n_stores; i++) {
        if (strcmp(a->stores[i].store_id, store_id) == 0) {
            return &a->stores[i];
        }
    }
    return NULL;
}

int msg_ack_add(struct msg_ack *a, const char *store_id, uint64_t first, uint64_t last,
                bool dead)
{
    struct msg_ack_store *st = (struct msg_ack_store *)msg_ack_find(a, store_id);

    if (!msg_schema_is_store_id(store_id) || first < 1 || first > last || last > MSG_SEQ_MAX) {
        return MSG_ERR_INVAL;
    }
    if (st == NULL) {
        if (a->n_stores == MSG_ACK_STORES_MAX) {
            return MSG_ERR_FULL;
        }
        st = &a->stores[a->n_stores];   /* an empty set has room for one range */
        memcpy(st->store_id, store_id, MSG_STORE_ID_LEN + 1);
        msg_rangeset_clear(&st->ranges);
        msg_rangeset_clear(&st->dead);
        a->n_stores++;
    }
    if (!msg_rangeset_fits(&st->ranges, first, last) ||
        (dead && !msg_rangeset_fits(&st->dead, first, last))) {
        return MSG_ERR_FULL;
    }
    msg_rangeset_add_range(&st->ranges, first, last);
    if (dead) {
        msg_rangeset_add_range(&st->dead, first, last);
    }
    return MSG_OK;
}

/* Whether items[0..n) make a valid acknowledgement (6.1, 9.5). */
static bool items_valid(const struct msg_ack_item *items, size_t n)
{
    if (n < 1 || n > MSG_ACK_STORES_MAX) {
        return false;
    }
    for (size_t i = 0; i < n; i++) {
        const struct msg_ack_item *it = &items[i];

        if (it->store_id == NULL || !msg_schema_is_store_id(it->store_id) ||
            it->n_ranges < 1 || it->n_ranges > MSG_ACK_RANGES_MAX ||
            it->n_dead > MSG_ACK_RANGES_MAX || (it->n_dead > 0 && it->dead == NULL) ||
            msg_ranges_check(it->ranges, it->n_ranges, NULL) != MSG_OK ||
            msg_ranges_check(it->dead, it->n_dead, NULL) != MSG_OK) {
            return false;
        }
        for (size_t k = 0; k < it->n_dead; k++) {
            if (!msg_ranges_cover(it->ranges, it->n_ranges, it->dead[k].first, it->dead[k].last)) {
                return false;
            }
        }
        for (size_t j = 0; j < i; j++) {
            if (strcmp(items[j].store_id, it->store_id) == 0) {
                return false;
            }
        }
    }
    return true;
}

int msg_ack_encode_items(int64_t ts_ms, const struct msg_ack_item *items, size_t n, char *buf,
                         size_t buflen, size_t *outlen)
{
    struct msg_buf b;

    if (!items_valid(items, n)) {
        return MSG_ERR_INVAL;
    }
    msg_buf_init(&b, buf, buflen < MSG_ACK_PAYLOAD_MAX + 1 ? buflen : MSG_ACK_PAYLOAD_MAX + 1);
    msg_buf_str(&b, "{\"ts\":");
    msg_buf_json_ts(&b, ts_ms);
    msg_buf_str(&b, ",\"acks\":[");
    for (size_t i = 0; i < n; i++) {
        msg_buf_str(&b, i > 0 ? ",{\"store\":" : "{\"store\":");
        msg_buf_json_str(&b, items[i].store_id);
        msg_buf_str(&b, ",\"ranges\":");
        msg_schema_emit_ranges(items[i].ranges, items[i].n_ranges, &b);
        if (items[i].n_dead > 0) {
            msg_buf_str(&b, ",\"dead\":");
            msg_schema_emit_ranges(items[i].dead, items[i].n_dead, &b);
        }
        msg_buf_raw(&b, "}", 1);
    }
    msg_buf_raw(&b, "]}", 2);
    return msg_buf_finish(&b, outlen);
}

int msg_ack_encode(const struct msg_ack *a, char *buf, size_t buflen, size_t *outlen)
{
    struct msg_ack_item items[MSG_ACK_STORES_MAX];
    size_t n = 0;

    for (size_t i = 0; i < a->n_stores && i < MSG_ACK_STORES_MAX; i++) {
        const struct msg_ack_store *st = &a->stores[i];

        if (st->ranges.n == 0) {
            continue;
        }
        items[n].store_id = st->store_id;
        items[n].ranges = st->ranges.r;
        items[n].n_ranges = st->ranges.n;
        items[n].dead = st->dead.r;
        items[n].n_dead = st->dead.n;
        n++;
    }
    return msg_ack_encode_items(a->ts_ms, items, n, buf, buflen, outlen);
}

int msg_ack_parse(const void *payload, size_t len, struct msg_ack *out, char *err,
                  size_t errlen)
{
    cJSON *doc = NULL;
    int rc;

    msg_ack_reset(out, 0);
    rc = msg_json_parse(payload, len, MSG_ACK_PAYLOAD_MAX, MSG_DEPTH_ACK, &doc, err, errlen);
    if (rc != MSG_OK) {
        goto out;
    }
    rc = msg_schema_object(doc, ack_members, sizeof(ack_members) / sizeof(ack_members[0]), true,
                           out, NULL, NULL, err, errlen);
    if (rc != MSG_OK) {
        msg_ack_reset(out, 0);
    }
out:
    cJSON_Delete(doc);
    return rc;
}
