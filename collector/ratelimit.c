/* ratelimit.c -- per-device token buckets: see ratelimit.h. */
#include "ratelimit.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "msg_topic.h"

struct bucket {
    char device_id[MSG_ID_MAX + 1]; /* "" = free */
    double tokens;
    int64_t last_ms; /* last refill */
};

struct ratelimit {
    double per_ms;
    double burst;
    struct bucket slots[RATELIMIT_SLOTS];
};

struct ratelimit *ratelimit_new(double per_minute, double burst)
{
    struct ratelimit *r = NULL;

    if (!(per_minute > 0) || !(burst > 0)) {
        return NULL;
    }
    r = calloc(1, sizeof(*r));
    if (r != NULL) {
        r->per_ms = per_minute / 60000.0;
        r->burst = burst;
    }
    return r;
}

void ratelimit_free(struct ratelimit *r)
{
    free(r);
}

static uint32_t hash(const char *s)
{
    uint32_t h = 2166136261u; /* FNV-1a */

    for (; *s != '\0'; s++) {
        h = (h ^ (unsigned char)*s) * 16777619u;
    }
    return h;
}

bool ratelimit_take(struct ratelimit *r, const char *device_id, int64_t now_ms)
{
    uint32_t h = hash(device_id);
    struct bucket *b = NULL;
    struct bucket *oldest = NULL;
    struct bucket *free_slot = NULL;

    for (uint32_t i = 0; i < RATELIMIT_PROBE; i++) {
        struct bucket *c = &r->slots[(h + i) % RATELIMIT_SLOTS];

        if (strcmp(c->device_id, device_id) == 0) {
            b = c;
            break;
        }
        if (c->device_id[0] == '\0') {
            if (free_slot == NULL) {
                free_slot = c;
            }
        } else if (oldest == NULL || c->last_ms < oldest->last_ms) {
            oldest = c;
        }
    }
    if (b == NULL) {
        b = free_slot != NULL ? free_slot : oldest;
        snprintf(b->device_id, sizeof(b->device_id), "%s", device_id);
        b->tokens = r->burst;
        b->last_ms = now_ms;
    }
    if (now_ms > b->last_ms) {
        b->tokens += (double)(now_ms - b->last_ms) * r->per_ms;
        if (b->tokens > r->burst) {
            b->tokens = r->burst;
        }
        b->last_ms = now_ms;
    }
    if (b->tokens < 1.0) {
        return false;
    }
    b->tokens -= 1.0;
    return true;
}
