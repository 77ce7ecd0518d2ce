/* ackset.c -- per-device coalescing of acknowledgements: see ackset.h.
 *
 * A device's stores form a singly linked list of store entries (indices into one array). Each
 * entry holds two range sets, all and dead (dead is a subset of all, as the protocol requires
 * within one message). When a set reaches ACKSET_RANGES_MAX ranges, a new entry for the same
 * store starts: it goes into a later message, since a message names each store once.
 * Emptying the set bumps a generation number instead of wiping the hash table. */
#include "ackset.h"

#include <stdlib.h>
#include <string.h>

#include "msg_event.h"
#include "msg_hash.h"

#define NONE ((size_t)-1)
#define SLOTS_INITIAL 64
#define RANGES_INITIAL 4

struct store_entry {
    char store_id[MSG_STORE_ID_LEN + 1];
    struct msg_rangeset all;
    struct msg_rangeset dead;
    size_t next; /* next entry of the same device, or NONE */
};

struct device_slot {
    uint32_t gen; /* in use when equal to ackset.gen */
    char device_id[MSG_ID_MAX + 1];
    size_t first; /* first and last store entry */
    size_t last;
};

struct ackset {
    struct device_slot *slots;
    size_t nslots; /* a power of two */
    size_t ndevices;
    uint32_t gen;
    struct store_entry *stores; /* [0, nstores) in use; the rest keep their storage */
    size_t nstores;
    size_t cap_stores;
};

struct ackset *ackset_new(void)
{
    struct ackset *a = calloc(1, sizeof(*a));

    if (a == NULL) {
        return NULL;
    }
    a->slots = calloc(SLOTS_INITIAL, sizeof(*a->slots));
    if (a->slots == NULL) {
        free(a);
        return NULL;
    }
    a->nslots = SLOTS_INITIAL;
    a->gen = 1;
    return a;
}

void ackset_free(struct ackset *a)
{
    if (a == NULL) {
        return;
    }
    for (size_t i = 0; i < a->cap_stores; i++) {
        free(a->stores[i].all.r);
        free(a->stores[i].dead.r);
    }
    free(a->stores);
    free(a->slots);
    free(a);
}

/* The slot for device_id: its own, or the empty one where it would go. */
static struct device_slot *probe(struct device_slot *slots, size_t nslots, uint32_t gen,
                                 const char *device_id)
{
    size_t i = (size_t)msg_hash_of(device_id) & (nslots - 1);

    for (;;) {
        struct device_slot *s = &slots[i];

        if (s->gen != gen || strcmp(s->device_id, device_id) == 0) {
            return s;
        }
        i = (i + 1) & (nslots - 1);
    }
}

static int grow_table(struct ackset *a)
{
    size_t n = a->nslots * 2;
    struct device_slot *slots = calloc(n, sizeof(*slots));

    if (slots == NULL) {
        return MSG_ERR_NOMEM;
    }
    for (size_t i = 0; i < a->nslots; i++) {
        if (a->slots[i].gen == a->gen) {
            *probe(slots, n, a->gen, a->slots[i].device_id) = a->slots[i];
        }
    }
    free(a->slots);
    a->slots = slots;
    a->nslots = n;
    return MSG_OK;
}

/* A fresh store entry (reusing the storage of an earlier one if there is one). */
static size_t new_store(struct ackset *a, const char *store_id)
{
    struct store_entry *e;

    if (a->nstores == a->cap_stores) {
        size_t cap = a->cap_stores == 0 ? 16 : a->cap_stores * 2;
        struct store_entry *s = realloc(a->stores, cap * sizeof(*s));

        if (s == NULL) {
            return NONE;
        }
        memset(s + a->cap_stores, 0, (cap - a->cap_stores) * sizeof(*s));
        a->stores = s;
        a->cap_stores = cap;
    }
    e = &a->stores[a->nstores];
    if (e->all.r == NULL) {
        struct msg_range *r1 = malloc(RANGES_INITIAL * sizeof(*r1));
        struct msg_range *r2 = malloc(RANGES_INITIAL * sizeof(*r2));

        if (r1 == NULL || r2 == NULL) {
            free(r1);
            free(r2);
            return NONE;
        }
        msg_rangeset_init(&e->all, r1, RANGES_INITIAL);
        msg_rangeset_init(&e->dead, r2, RANGES_INITIAL);
    }
    msg_rangeset_clear(&e->all);
    msg_rangeset_clear(&e->dead);
    memcpy(e->store_id, store_id, strlen(store_id) + 1);
    e->next = NONE;
    return a->nstores++;
}

/* Makes room for one more range in rs, up to ACKSET_RANGES_MAX. */
static int grow_set(struct msg_rangeset *rs)
{
    size_t cap = rs->cap * 2;
    struct msg_range *r;

    if (rs->cap >= ACKSET_RANGES_MAX) {
        return MSG_ERR_FULL;
    }
    if (cap > ACKSET_RANGES_MAX) {
        cap = ACKSET_RANGES_MAX;
    }
    r = realloc(rs->r, cap * sizeof(*r));
    if (r == NULL) {
        return MSG_ERR_NOMEM;
    }
    rs->r = r;
    rs->cap = cap;
    return MSG_OK;
}

/* Whether seq can go into rs, growing its storage if needed. */
static int make_room(struct msg_rangeset *rs, uint64_t seq)
{
    while (!msg_rangeset_fits(rs, seq, seq)) {
        int rc = grow_set(rs);

        if (rc != MSG_OK) {
            return rc;
        }
    }
    return MSG_OK;
}

/* Takes seq out of rs if it is there (a range may split in two; if that finds no room, seq
 * stays: a dead mark too many is the lesser harm than dropping the acknowledgement). */
static void unmark(struct msg_rangeset *rs, uint64_t seq)
{
    for (size_t i = 0; i < rs->n; i++) {
        struct msg_range *r = &rs->r[i];

        if (seq < r->first || seq > r->last) {
            continue;
        }
        if (r->first == r->last) {
            memmove(r, r + 1, (rs->n - i - 1) * sizeof(*r));
            rs->n--;
        } else if (seq == r->first) {
            r->first++;
        } else if (seq == r->last) {
            r->last--;
        } else if (rs->n < rs->cap || grow_set(rs) == MSG_OK) {
            r = &rs->r[i]; /* grow_set may have moved the storage */
            memmove(r + 2, r + 1, (rs->n - i - 1) * sizeof(*r));
            r[1].first = seq + 1;
            r[1].last = r->last;
            r->last = seq - 1;
            rs->n++;
        }
        return;
    }
}

/* Settles the dead mark of seq against what the device's store already has in the set:
 * `dead` holds only readings of which no copy was stored (protocol.md 6.1), so a stored copy
 * wins over a dead one in either order. Returns whether seq is to be marked dead. */
static bool settle_dead(struct ackset *a, const struct device_slot *slot, const char *store_id,
                        uint64_t seq, bool dead)
{
    for (size_t e = slot->first; e != NONE; e = a->stores[e].next) {
        struct store_entry *st = &a->stores[e];

        if (strcmp(st->store_id, store_id) != 0 || !msg_rangeset_contains(&st->all, seq)) {
            continue;
        }
        if (!dead) {
            unmark(&st->dead, seq);
        } else if (!msg_rangeset_contains(&st->dead, seq)) {
            return false; /* a copy was acknowledged as stored */
        }
    }
    return dead;
}

int ackset_add(struct ackset *a, const char *device_id, const char *store_id, uint64_t seq,
               bool dead)
{
    struct device_slot *slot;
    size_t idx = NONE;
    int rc;

    if (seq == 0 || seq > MSG_SEQ_MAX || strlen(device_id) > MSG_ID_MAX ||
        strlen(store_id) > MSG_STORE_ID_LEN) {
        return MSG_ERR_INVAL;
    }
    if ((a->ndevices + 1) * 10 > a->nslots * 7) {
        rc = grow_table(a);
        if (rc != MSG_OK) {
            return rc;
        }
    }
    slot = probe(a->slots, a->nslots, a->gen, device_id);
    if (slot->gen != a->gen) {
        size_t e = new_store(a, store_id);

        if (e == NONE) {
            return MSG_ERR_NOMEM;
        }
        slot->gen = a->gen;
        memcpy(slot->device_id, device_id, strlen(device_id) + 1);
        slot->first = e;
        slot->last = e;
        a->ndevices++;
        idx = e;
    } else {
        dead = settle_dead(a, slot, store_id, seq, dead);
        /* the newest entry of this store: older ones are full */
        for (size_t e = slot->first; e != NONE; e = a->stores[e].next) {
            if (strcmp(a->stores[e].store_id, store_id) == 0) {
                idx = e;
            }
        }
    }
    if (idx != NONE) {
        struct store_entry *e = &a->stores[idx];

        rc = make_room(&e->all, seq);
        if (rc == MSG_OK && dead) {
            rc = make_room(&e->dead, seq);
        }
        if (rc == MSG_ERR_NOMEM) {
            return rc;
        }
        if (rc == MSG_ERR_FULL) {
            idx = NONE;
        }
    }
    if (idx == NONE) {
        idx = new_store(a, store_id);
        if (idx == NONE) {
            return MSG_ERR_NOMEM;
        }
        a->stores[slot->last].next = idx;
        slot->last = idx;
    }
    rc = msg_rangeset_add(&a->stores[idx].all, seq);
    if (rc == MSG_OK && dead) {
        rc = msg_rangeset_add(&a->stores[idx].dead, seq);
    }
    return rc;
}

size_t ackset_devices(const struct ackset *a)
{
    return a->ndevices;
}

void ackset_clear(struct ackset *a)
{
    a->gen++;
    if (a->gen == 0) {
        memset(a->slots, 0, a->nslots * sizeof(*a->slots));
        a->gen = 1;
    }
    a->ndevices = 0;
    a->nstores = 0;
}

static bool in_items(const struct ackset_item *items, size_t n, const char *store_id)
{
    for (size_t i = 0; i < n; i++) {
        if (strcmp(items[i].store_id, store_id) == 0) {
            return true;
        }
    }
    return false;
}

size_t ackset_drain(struct ackset *a, ackset_emit_fn emit, void *ctx)
{
    struct ackset_item items[ACKSET_STORES_PER_MSG];
    size_t sent = 0;

    for (size_t s = 0; s < a->nslots; s++) {
        const struct device_slot *slot = &a->slots[s];
        size_t n = 0;

        if (slot->gen != a->gen) {
            continue;
        }
        for (size_t e = slot->first; e != NONE; e = a->stores[e].next) {
            const struct store_entry *st = &a->stores[e];

            if (st->all.n == 0) {
                continue;
            }
            if (n == ACKSET_STORES_PER_MSG || in_items(items, n, st->store_id)) {
                sent++;
                if (emit(ctx, slot->device_id, items, n) != 0) {
                    goto out;
                }
                n = 0;
            }
            items[n].store_id = st->store_id;
            items[n].ranges = st->all.r;
            items[n].n_ranges = st->all.n;
            items[n].dead = st->dead.n > 0 ? st->dead.r : NULL;
            items[n].n_dead = st->dead.n;
            n++;
        }
        if (n > 0) {
            sent++;
            if (emit(ctx, slot->device_id, items, n) != 0) {
                goto out;
            }
        }
    }
out:
    ackset_clear(a);
    return sent;
}
