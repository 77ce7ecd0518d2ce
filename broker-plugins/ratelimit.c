/* ratelimit.c -- token buckets and a bounded table of them: see ratelimit.h.
 *
 * The table is an array of entries (index 0 unused, so that 0 means "none" in the links),
 * chained hash buckets over it, a doubly linked list in order of use (head: most recent) and
 * a free list threaded through hash_next. All links are indices, so one calloc holds it all. */
#include "ratelimit.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "msg_err.h"

#define RATELIMIT_CAPACITY_MAX (1u << 24)

struct ratelimit_table {
    size_t capacity;
    size_t count;
    uint64_t evicted;
    uint32_t nbuckets; /* a power of two */
    uint32_t *buckets; /* heads of the hash chains */
    uint32_t lru_head, lru_tail;
    uint32_t free_head;
    uint32_t sweep_pos;        /* next index the sweep looks at */
    struct ratelimit_entry *e; /* capacity + 1 entries */
};

static double tokens_at(const struct ratelimit_bucket *b, const struct ratelimit_rate *r,
                        int64_t now_ms)
{
    double t;

    if (!b->primed) {
        return r->burst;
    }
    t = b->tokens;
    if (now_ms > b->last_ms) {
        t += (double)(now_ms - b->last_ms) * r->per_s / 1000.0;
    }
    return t > r->burst ? r->burst : t;
}

bool ratelimit_take(struct ratelimit_bucket *b, const struct ratelimit_rate *r, int64_t now_ms)
{
    double t = tokens_at(b, r, now_ms);

    /* a clock that went backwards keeps last_ms, so the same time is not credited twice */
    if (!b->primed || now_ms > b->last_ms) {
        b->last_ms = now_ms;
    }
    b->primed = true;
    b->tokens = t;
    if (t < 1.0) {
        return false;
    }
    b->tokens = t - 1.0;
    return true;
}

bool ratelimit_full(const struct ratelimit_bucket *b, const struct ratelimit_rate *r,
                    int64_t now_ms)
{
    return tokens_at(b, r, now_ms) >= r->burst;
}

static const char *skip_space(const char *s)
{
    while (*s == ' ' || *s == '\t') {
        s++;
    }
    return s;
}

int ratelimit_rate_parse(const char *text, struct ratelimit_rate *out, char *err, size_t errlen)
{
    const char *p = skip_space(text);
    char *end = NULL;
    double rate;
    double unit_s;
    long burst;

    if (*p < '0' || *p > '9') {
        snprintf(err, errlen, "'%.40s': expected RATE/UNIT burst N, e.g. 5/s burst 50", text);
        return MSG_ERR_CONFIG;
    }
    errno = 0;
    rate = strtod(p, &end);
    if (errno != 0 || end == p || !isfinite(rate) || rate <= 0.0 || rate > 1e6) {
        snprintf(err, errlen, "'%.40s': the rate must be a number above 0 and at most 1000000",
                 text);
        return MSG_ERR_CONFIG;
    }
    p = end;
    if (*p != '/') {
        snprintf(err, errlen, "'%.40s': expected '/' and a unit (s, m or h) after the rate", text);
        return MSG_ERR_CONFIG;
    }
    p++;
    if (*p == 's') {
        unit_s = 1.0;
    } else if (*p == 'm') {
        unit_s = 60.0;
    } else if (*p == 'h') {
        unit_s = 3600.0;
    } else {
        snprintf(err, errlen, "'%.40s': the unit must be s, m or h", text);
        return MSG_ERR_CONFIG;
    }
    p++;
    if (*p != ' ' && *p != '\t') {
        snprintf(err, errlen, "'%.40s': expected ' burst N' after the unit", text);
        return MSG_ERR_CONFIG;
    }
    p = skip_space(p);
    if (strncmp(p, "burst", 5) != 0 || (p[5] != ' ' && p[5] != '\t')) {
        snprintf(err, errlen, "'%.40s': expected 'burst N' after the rate", text);
        return MSG_ERR_CONFIG;
    }
    p = skip_space(p + 5);
    if (*p < '0' || *p > '9') {
        snprintf(err, errlen, "'%.40s': the burst must be an integer 1 to 1000000", text);
        return MSG_ERR_CONFIG;
    }
    errno = 0;
    burst = strtol(p, &end, 10);
    if (errno != 0 || burst < 1 || burst > 1000000) {
        snprintf(err, errlen, "'%.40s': the burst must be an integer 1 to 1000000", text);
        return MSG_ERR_CONFIG;
    }
    p = skip_space(end);
    if (*p != '\0') {
        snprintf(err, errlen, "'%.40s': unexpected text after the burst", text);
        return MSG_ERR_CONFIG;
    }
    out->per_s = rate / unit_s;
    out->burst = (double)burst;
    return MSG_OK;
}

void ratelimit_rate_format(const struct ratelimit_rate *r, char *buf, size_t buflen)
{
    snprintf(buf, buflen, "%.6g/s burst %.0f", r->per_s, r->burst);
}

/* ---- the table ------------------------------------------------------------------------- */

static uint32_t hash_key(const char *key)
{
    uint32_t h = 2166136261u; /* FNV-1a */

    for (const unsigned char *p = (const unsigned char *)key; *p != '\0'; p++) {
        h ^= *p;
        h *= 16777619u;
    }
    return h;
}

struct ratelimit_table *ratelimit_table_new(size_t capacity)
{
    struct ratelimit_table *t = NULL;
    uint32_t nb = 16;

    if (capacity < 1 || capacity > RATELIMIT_CAPACITY_MAX) {
        return NULL;
    }
    while (nb < capacity * 2) {
        nb *= 2;
    }
    t = calloc(1, sizeof(*t));
    if (t == NULL) {
        goto fail;
    }
    t->capacity = capacity;
    t->nbuckets = nb;
    t->buckets = calloc(nb, sizeof(t->buckets[0]));
    t->e = calloc(capacity + 1, sizeof(t->e[0]));
    if (t->buckets == NULL || t->e == NULL) {
        goto fail;
    }
    /* every entry starts on the free list */
    for (size_t i = capacity; i >= 1; i--) {
        t->e[i].hash_next = t->free_head;
        t->free_head = (uint32_t)i;
    }
    t->sweep_pos = 1;
    return t;
fail:
    ratelimit_table_free(t);
    return NULL;
}

void ratelimit_table_free(struct ratelimit_table *t)
{
    if (t == NULL) {
        return;
    }
    free(t->buckets);
    free(t->e);
    free(t);
}

static void lru_unlink(struct ratelimit_table *t, uint32_t i)
{
    struct ratelimit_entry *x = &t->e[i];

    if (x->lru_prev != 0) {
        t->e[x->lru_prev].lru_next = x->lru_next;
    } else {
        t->lru_head = x->lru_next;
    }
    if (x->lru_next != 0) {
        t->e[x->lru_next].lru_prev = x->lru_prev;
    } else {
        t->lru_tail = x->lru_prev;
    }
    x->lru_prev = 0;
    x->lru_next = 0;
}

static void lru_push_front(struct ratelimit_table *t, uint32_t i)
{
    struct ratelimit_entry *x = &t->e[i];

    x->lru_prev = 0;
    x->lru_next = t->lru_head;
    if (t->lru_head != 0) {
        t->e[t->lru_head].lru_prev = i;
    }
    t->lru_head = i;
    if (t->lru_tail == 0) {
        t->lru_tail = i;
    }
}

/* Index of key's entry, or 0; *slot (if not NULL) gets the link that points at it. */
static uint32_t lookup(struct ratelimit_table *t, const char *key, uint32_t **slot)
{
    uint32_t *link = &t->buckets[hash_key(key) & (t->nbuckets - 1)];

    while (*link != 0) {
        if (strcmp(t->e[*link].key, key) == 0) {
            break;
        }
        link = &t->e[*link].hash_next;
    }
    if (slot != NULL) {
        *slot = link;
    }
    return *link;
}

static void forget(struct ratelimit_table *t, uint32_t i)
{
    uint32_t *link = NULL;

    if (lookup(t, t->e[i].key, &link) != i) {
        return; /* not reachable: every used entry is in its chain */
    }
    *link = t->e[i].hash_next;
    lru_unlink(t, i);
    memset(&t->e[i], 0, sizeof(t->e[i]));
    t->e[i].hash_next = t->free_head;
    t->free_head = i;
    t->count--;
}

struct ratelimit_entry *ratelimit_table_find(struct ratelimit_table *t, const char *key)
{
    uint32_t i;

    if (key == NULL || key[0] == '\0' || strlen(key) > MSG_ID_MAX) {
        return NULL;
    }
    i = lookup(t, key, NULL);
    return i != 0 ? &t->e[i] : NULL;
}

struct ratelimit_entry *ratelimit_table_get(struct ratelimit_table *t, const char *key)
{
    uint32_t *link = NULL;
    uint32_t i;
    size_t len;

    if (key == NULL) {
        return NULL;
    }
    len = strlen(key);
    if (len == 0 || len > MSG_ID_MAX) {
        return NULL;
    }
    i = lookup(t, key, NULL);
    if (i != 0) {
        if (t->lru_head != i) {
            lru_unlink(t, i);
            lru_push_front(t, i);
        }
        return &t->e[i];
    }
    if (t->free_head == 0) {
        forget(t, t->lru_tail);
        t->evicted++;
    }
    i = t->free_head;
    t->free_head = t->e[i].hash_next;
    memset(&t->e[i], 0, sizeof(t->e[i]));
    memcpy(t->e[i].key, key, len + 1);
    lookup(t, key, &link); /* the end of its chain */
    *link = i;
    lru_push_front(t, i);
    t->count++;
    return &t->e[i];
}

void ratelimit_table_remove(struct ratelimit_table *t, const char *key)
{
    struct ratelimit_entry *x = ratelimit_table_find(t, key);

    if (x != NULL) {
        forget(t, (uint32_t)(x - t->e));
    }
}

size_t ratelimit_table_sweep(struct ratelimit_table *t, size_t max_visit,
                             bool (*drop)(void *ctx, const struct ratelimit_entry *e), void *ctx)
{
    size_t dropped = 0;

    for (size_t n = 0; n < max_visit && n < t->capacity; n++) {
        uint32_t i = t->sweep_pos;

        t->sweep_pos = i >= t->capacity ? 1 : i + 1;
        if (t->e[i].key[0] != '\0' && drop(ctx, &t->e[i])) {
            forget(t, i);
            dropped++;
        }
    }
    return dropped;
}

size_t ratelimit_table_count(const struct ratelimit_table *t)
{
    return t->count;
}

uint64_t ratelimit_table_evicted(const struct ratelimit_table *t)
{
    return t->evicted;
}
