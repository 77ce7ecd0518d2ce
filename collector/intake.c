/* intake.c -- bounded byte ring of raw MQTT messages: see intake.h.
 *
 * Records are laid out back to back, each an 8-byte aligned header followed by the topic and
 * the payload (each NUL-terminated). A record never wraps around the end of the buffer: when it
 * does not fit at the end, the producer marks the rest of the buffer as waste (a header with
 * size 0, or nothing if even a header does not fit) and starts again at offset 0. `used`
 * counts the waste too, so the consumer gives it back when it reaches it. */
#include "intake.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct rec_hdr {
    uint32_t size; /* whole record, header included; 0 = wrap to offset 0 */
    uint32_t topic_len;
    uint32_t topic_len_orig;
    uint32_t payload_len;
    uint32_t payload_len_orig;
    uint32_t reserved;
    int64_t recv_us;
};

struct intake {
    pthread_mutex_t lock;
    pthread_cond_t room; /* signalled when the consumer frees space */
    pthread_cond_t data; /* signalled when the producer adds a record */
    unsigned char *buf;
    size_t cap;
    size_t head;   /* next write offset */
    size_t tail;   /* oldest record */
    size_t used;   /* bytes between tail and head, waste included */
    size_t count;  /* records held */
    size_t peeked; /* size of the record handed out by intake_peek, 0 if none */
    int closed;
};

static size_t align8(size_t n)
{
    return (n + 7u) & ~(size_t)7u;
}

/* Absolute CLOCK_MONOTONIC deadline wait_ms from now, for pthread_cond_timedwait. */
static void deadline_in(struct timespec *ts, long wait_ms)
{
    clock_gettime(CLOCK_MONOTONIC, ts);
    ts->tv_sec += wait_ms / 1000;
    ts->tv_nsec += (wait_ms % 1000) * 1000000L;
    if (ts->tv_nsec >= 1000000000L) {
        ts->tv_sec++;
        ts->tv_nsec -= 1000000000L;
    }
}

struct intake *intake_new(size_t bytes)
{
    struct intake *q = NULL;
    pthread_condattr_t attr;

    if (bytes < INTAKE_BYTES_MIN) {
        bytes = INTAKE_BYTES_MIN;
    }
    q = calloc(1, sizeof(*q));
    if (q == NULL) {
        goto fail;
    }
    q->cap = align8(bytes);
    q->buf = malloc(q->cap);
    if (q->buf == NULL) {
        goto fail;
    }
    pthread_mutex_init(&q->lock, NULL);
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    pthread_cond_init(&q->room, &attr);
    pthread_cond_init(&q->data, &attr);
    pthread_condattr_destroy(&attr);
    return q;
fail:
    if (q != NULL) {
        free(q->buf);
    }
    free(q);
    return NULL;
}

void intake_free(struct intake *q)
{
    if (q == NULL) {
        return;
    }
    pthread_mutex_destroy(&q->lock);
    pthread_cond_destroy(&q->room);
    pthread_cond_destroy(&q->data);
    free(q->buf);
    free(q);
}

/* Where a record of `need` bytes can go, or SIZE_MAX if nowhere now. Sets *waste to the bytes
 * to skip at the end of the buffer first. Lock held. */
static size_t find_room(const struct intake *q, size_t need, size_t *waste)
{
    *waste = 0;
    if (q->used == 0) {
        return need <= q->cap ? 0 : SIZE_MAX;
    }
    if (q->head > q->tail) {
        /* free: [head, cap) and [0, tail) */
        if (q->cap - q->head >= need) {
            return q->head;
        }
        if (q->tail >= need) {
            *waste = q->cap - q->head;
            return 0;
        }
        return SIZE_MAX;
    }
    if (q->head < q->tail && q->tail - q->head >= need) {
        return q->head; /* free: [head, tail) */
    }
    return SIZE_MAX; /* head == tail with used > 0: full */
}

int intake_put(struct intake *q, const char *topic, size_t topic_len, const void *payload,
               size_t payload_len, int64_t recv_us, long wait_ms)
{
    struct rec_hdr h;
    size_t tkeep = topic_len < INTAKE_TOPIC_KEEP ? topic_len : INTAKE_TOPIC_KEEP;
    size_t pkeep = payload_len < INTAKE_PAYLOAD_KEEP ? payload_len : INTAKE_PAYLOAD_KEEP;
    size_t need = align8(sizeof(h) + tkeep + 1 + pkeep + 1);
    size_t at = SIZE_MAX;
    size_t waste = 0;
    struct timespec until;
    unsigned char *p;
    int rc = MSG_OK;

    deadline_in(&until, wait_ms);
    pthread_mutex_lock(&q->lock);
    for (;;) {
        if (q->closed) {
            rc = MSG_ERR_FULL;
            goto out;
        }
        if (q->used == 0) {
            q->head = 0; /* empty: start at the beginning, no wrap needed */
            q->tail = 0;
        }
        at = find_room(q, need, &waste);
        if (at != SIZE_MAX) {
            break;
        }
        if (pthread_cond_timedwait(&q->room, &q->lock, &until) == ETIMEDOUT) {
            rc = MSG_ERR_FULL;
            goto out;
        }
    }
    if (waste > 0) {
        if (waste >= sizeof(h)) {
            memset(&h, 0, sizeof(h));
            memcpy(q->buf + q->head, &h, sizeof(h));
        }
        q->used += waste;
    }
    memset(&h, 0, sizeof(h));
    h.size = (uint32_t)need;
    h.topic_len = (uint32_t)tkeep;
    h.topic_len_orig = topic_len > UINT32_MAX ? UINT32_MAX : (uint32_t)topic_len;
    h.payload_len = (uint32_t)pkeep;
    h.payload_len_orig = payload_len > UINT32_MAX ? UINT32_MAX : (uint32_t)payload_len;
    h.recv_us = recv_us;
    p = q->buf + at;
    memcpy(p, &h, sizeof(h));
    memcpy(p + sizeof(h), topic, tkeep);
    p[sizeof(h) + tkeep] = '\0';
    if (pkeep > 0) {
        memcpy(p + sizeof(h) + tkeep + 1, payload, pkeep);
    }
    p[sizeof(h) + tkeep + 1 + pkeep] = '\0';
    q->head = at + need;
    if (q->head == q->cap) {
        q->head = 0;
    }
    q->used += need;
    q->count++;
    pthread_cond_signal(&q->data);
out:
    pthread_mutex_unlock(&q->lock);
    return rc;
}

bool intake_peek(struct intake *q, struct intake_item *out, long wait_ms)
{
    struct rec_hdr h;
    struct timespec until;
    const unsigned char *p;
    bool got = false;

    deadline_in(&until, wait_ms);
    pthread_mutex_lock(&q->lock);
    while (q->count == 0) {
        if (q->closed || wait_ms <= 0) {
            goto out;
        }
        if (pthread_cond_timedwait(&q->data, &q->lock, &until) == ETIMEDOUT) {
            goto out;
        }
    }
    /* skip the waste at the end of the buffer, if the producer wrapped there */
    if (q->cap - q->tail < sizeof(h)) {
        q->used -= q->cap - q->tail;
        q->tail = 0;
    } else {
        memcpy(&h, q->buf + q->tail, sizeof(h));
        if (h.size == 0) {
            q->used -= q->cap - q->tail;
            q->tail = 0;
        }
    }
    p = q->buf + q->tail;
    memcpy(&h, p, sizeof(h));
    out->topic = (const char *)p + sizeof(h);
    out->topic_len = h.topic_len;
    out->topic_len_orig = h.topic_len_orig;
    out->payload = (const char *)p + sizeof(h) + h.topic_len + 1;
    out->payload_len = h.payload_len;
    out->payload_len_orig = h.payload_len_orig;
    out->recv_us = h.recv_us;
    q->peeked = h.size;
    got = true;
out:
    pthread_mutex_unlock(&q->lock);
    return got;
}

void intake_pop(struct intake *q)
{
    pthread_mutex_lock(&q->lock);
    if (q->peeked > 0) {
        q->tail += q->peeked;
        if (q->tail == q->cap) {
            q->tail = 0;
        }
        q->used -= q->peeked;
        q->count--;
        q->peeked = 0;
        pthread_cond_signal(&q->room);
    }
    pthread_mutex_unlock(&q->lock);
}

void intake_close(struct intake *q)
{
    pthread_mutex_lock(&q->lock);
    q->closed = 1;
    pthread_cond_broadcast(&q->room);
    pthread_cond_broadcast(&q->data);
    pthread_mutex_unlock(&q->lock);
}

void intake_depth(struct intake *q, size_t *messages, size_t *bytes)
{
    pthread_mutex_lock(&q->lock);
    *messages = q->count;
    *bytes = q->used;
    pthread_mutex_unlock(&q->lock);
}
