/* msg_bucket.c -- the token bucket and the rate option: see msg_bucket.h.
 *
 * Moved from the broker plugin's ratelimit.c (bucket and rate option) and the edge agent's
 * agent_window.c (floor, debt, drain, wait): one arithmetic for both. */
#include "msg_bucket.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "msg_err.h"

/* The tokens b holds at now_ms under r, without changing b. */
static double tokens_at(const struct msg_bucket *b, const struct msg_bucket_rate *r, int64_t now_ms)
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

/* Brings b up to date at now_ms. */
static void refill(struct msg_bucket *b, const struct msg_bucket_rate *r, int64_t now_ms)
{
    double t = tokens_at(b, r, now_ms);

    /* a clock that went backwards keeps last_ms, so the same time is not credited twice */
    if (!b->primed || now_ms > b->last_ms) {
        b->last_ms = now_ms;
    }
    b->primed = true;
    b->tokens = t;
}

/* A floor the bucket can reach: at most burst - 1 (else the token would never come). */
static double clamp_floor(const struct msg_bucket_rate *r, double floor)
{
    if (floor > r->burst - 1.0) {
        floor = r->burst - 1.0;
    }
    return floor < 0.0 ? 0.0 : floor;
}

void msg_bucket_start(struct msg_bucket *b, double tokens, int64_t now_ms)
{
    b->primed = true;
    b->tokens = tokens;
    b->last_ms = now_ms;
}

bool msg_bucket_take(struct msg_bucket *b, const struct msg_bucket_rate *r, int64_t now_ms)
{
    return msg_bucket_take_above(b, r, now_ms, 0.0);
}

bool msg_bucket_take_above(struct msg_bucket *b, const struct msg_bucket_rate *r, int64_t now_ms,
                           double floor)
{
    floor = clamp_floor(r, floor);
    refill(b, r, now_ms);
    if (b->tokens >= 1.0 + floor) {
        b->tokens -= 1.0;
        return true;
    }
    return false;
}

void msg_bucket_spend(struct msg_bucket *b, const struct msg_bucket_rate *r, int64_t now_ms)
{
    refill(b, r, now_ms);
    b->tokens -= 1.0;
}

void msg_bucket_drain(struct msg_bucket *b, int64_t now_ms)
{
    msg_bucket_start(b, 0.0, now_ms);
}

int64_t msg_bucket_wait_ms(struct msg_bucket *b, const struct msg_bucket_rate *r, int64_t now_ms)
{
    return msg_bucket_wait_above_ms(b, r, now_ms, 0.0);
}

int64_t msg_bucket_wait_above_ms(struct msg_bucket *b, const struct msg_bucket_rate *r,
                                 int64_t now_ms, double floor)
{
    double need = 1.0 + clamp_floor(r, floor);

    refill(b, r, now_ms);
    if (b->tokens >= need) {
        return 0;
    }
    return (int64_t)ceil((need - b->tokens) * 1000.0 / r->per_s);
}

bool msg_bucket_full(const struct msg_bucket *b, const struct msg_bucket_rate *r, int64_t now_ms)
{
    return tokens_at(b, r, now_ms) >= r->burst;
}

/* ---- the rate option ------------------------------------------------------------------- */

static const char *skip_space(const char *s)
{
    while (*s == ' ' || *s == '\t') {
        s++;
    }
    return s;
}

int msg_bucket_rate_parse(const char *text, struct msg_bucket_rate *out, char *err, size_t errlen)
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

void msg_bucket_rate_format(const struct msg_bucket_rate *r, char *buf, size_t buflen)
{
    snprintf(buf, buflen, "%.6g/s burst %.0f", r->per_s, r->burst);
}
