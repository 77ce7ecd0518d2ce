/* webhook.h -- one HTTP POST per delivery (libcurl), for pantau-alertd's webhook channel.
 *
 * The body is the delivery's JSON (schema/json/alert.json), sent as it is in the outbox, with
 * the headers
 *   Content-Type: application/json
 *   Idempotency-Key: <alert_id>.<event_id>.<unit>.<channel>   (the same on every attempt)
 *   X-Pantau-Signature: sha256=<hex HMAC-SHA256 of the body>  (when a secret is configured)
 * A 2xx answer is a delivery; anything else (another status, a refused connection, a timeout)
 * is a failure the caller retries later. One connection is kept and reused.
 *
 * Not for: retries and their timing (alertd.c, with next_attempt_at in the outbox row). */
#ifndef WEBHOOK_H
#define WEBHOOK_H

#include <stddef.h>

#include "msg_err.h"

struct webhook;

/* url and secret (borrowed; secret "" = unsigned) are copied. Returns NULL with err set. Caller
 * frees with webhook_free. */
struct webhook *webhook_new(const char *url, const char *secret, long long timeout_ms,
                            long long connect_timeout_ms, char *err, size_t errlen);

/* webhook_free(NULL) is a no-op. Wipes the secret. */
void webhook_free(struct webhook *w);

/* POSTs body (borrowed, len bytes) with key (borrowed) as Idempotency-Key. Returns MSG_OK on a
 * 2xx answer, else MSG_ERR_IO with err naming the status or the transport error. */
int webhook_post(struct webhook *w, const char *key, const char *body, size_t len, char *err,
                 size_t errlen);

/* The HMAC-SHA256 of body (len bytes) under secret, as 64 lower-case hex digits and a NUL in
 * out. Exposed for the unit test. */
void webhook_signature(const char *secret, const char *body, size_t len, char out[65]);

#endif
