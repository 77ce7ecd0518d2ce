/* alertd.h -- pantau-alertd's run loop: evaluate, deliver, escalate.
 *
 * The rules run inside PostgreSQL (schema/013..016, docs/alerts.md); this program is the hand
 * that turns them and carries what they decide out of the database:
 *   1. LISTEN pantau_alert_pending and pantau_alert; on a NOTIFY (or every poll_interval)
 *      call SELECT pantau_alert.evaluate(n) until it returns 0;
 *   2. deliver the due outbox rows (pantau_alert.delivery_claim, FOR UPDATE SKIP LOCKED, in a
 *      transaction held while they are sent): MQTT QoS 1, marked delivered only after the
 *      PUBACK; webhook POST, marked delivered only after a 2xx; a failure is retried later with
 *      capped exponential backoff (next_attempt_at in the row), so nothing is lost on a crash
 *      and a repeat carries the same idempotency key;
 *   3. every escalate_interval, SELECT pantau_alert.escalate(now()); every
 *      time_rules_interval, SELECT pantau_alert.evaluate_time(now()) (the rules that time
 *      alone makes true: a silent gauge, an offline gateway, the dead-letter rate, a backlog).
 * Any number of instances may run: PostgreSQL serialises them (SKIP LOCKED, row locks).
 *
 * Threads: the caller's (everything above) and libmosquitto's (on_connect, on_publish), which
 * only records PUBACKs in a mutex-guarded table the caller's thread reads.
 *
 * Not for: configuration (alertd_config.h), argv and signals (main.c). */
#ifndef ALERTD_H
#define ALERTD_H

#include <signal.h>
#include <stddef.h>

#include "alertd_config.h"

struct alertd;

/* Copies cfg (borrowed). Connects nothing yet. Returns NULL with err set. Caller frees with
 * alertd_free. */
struct alertd *alertd_new(const struct alertd_config *cfg, char *err, size_t errlen);

/* alertd_free(NULL) is a no-op. */
void alertd_free(struct alertd *a);

/* Runs until *stop is set (then finishes the delivery in hand, commits and returns MSG_OK).
 * Database and broker outages are waited out with backoff. Returns MSG_ERR_* with err set on a
 * failure it cannot wait out. */
int alertd_run(struct alertd *a, volatile sig_atomic_t *stop, char *err, size_t errlen);

#endif
