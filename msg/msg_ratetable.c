/* msg_ratetable.c -- a bounded table of token buckets per identity: see msg_ratetable.h.
 *
 * The table is an array of entries (index 0 unused, so that 0 means "none" in the links),
 * chained hash buckets over it, a doubly linked list in order of use (head: most recent) and
 * a free list threaded through hash_next. All links are indices, so one calloc holds it all. */
#include "msg_ratetable.h"

#include <stdlib.h>
#include <string.h>

#include "msg_hash.h"

#define MSG_RATETABLE_CAPACITY_MAX (1u << 24)

struct msg_ratetable {
    size_t capacity;
    size_t count;
    uint64_t evicted;
    uint32_t nbuckets; /* a power of two */
    uint32_t *buckets; /* heads of the hash chains */
    uint32_t lru_head, lru_tail;
    uint32_t free_head;
    uint32_t sweep_pos;            /* next index the sweep looks at */
    struct msg_ratetable_entry *e; /* capacity + 1 entries */
};

struct msg_ratetable *msg_ratetable_new(size_t capacity)
{
    struct msg_ratetable *t = NULL;
    uint32_t nb = 16;

    if (capacity < 1 || capacity > MSG_RATETABLE_CAPACITY_MAX) {
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
    msg_ratetable_free(t);
    return NULL;
}

void msg_ratetable_free(struct msg_ratetable *t)
{
    if (t == NULL) {
        return;
    }
    free(t->buckets);
    free(t->e);
    free(t);
}

static void lru_unlink(struct msg_ratetable *t, uint32_t i)
{
    struct msg_ratetable_entry *x = &t->e[i];

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

static void lru_push_front(struct msg_ratetable *t, uint32_t i)
{
    struct msg_ratetable_entry *x = &t->e[i];

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
static uint32_t lookup(struct msg_ratetable *t, const char *key, uint32_t **slot)
{
    uint32_t *link = &t->buckets[msg_hash_fold32(msg_hash_of(key)) & (t->nbuckets - 1)];

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

static void forget(struct msg_ratetable *t, uint32_t i)
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

struct msg_ratetable_entry *msg_ratetable_find(struct msg_ratetable *t, const char *key)
{
    uint32_t i;

    if (key == NULL || key[0] == '\0' || strlen(key) > MSG_ID_MAX) {
        return NULL;
    }
    i = lookup(t, key, NULL);
    return i != 0 ? &t->e[i] : NULL;
}

struct msg_ratetable_entry *msg_ratetable_get(struct msg_ratetable *t, const char *key)
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

void msg_ratetable_remove(struct msg_ratetable *t, const char *key)
{
    struct msg_ratetable_entry *x = msg_ratetable_find(t, key);

    if (x != NULL) {
        forget(t, (uint32_t)(x - t->e));
    }
}

size_t msg_ratetable_sweep(struct msg_ratetable *t, size_t max_visit,
                           bool (*drop)(void *ctx, const struct msg_ratetable_entry *e), void *ctx)
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

size_t msg_ratetable_count(const struct msg_ratetable *t)
{
    return t->count;
}

uint64_t msg_ratetable_evicted(const struct msg_ratetable *t)
{
    return t->evicted;
}
