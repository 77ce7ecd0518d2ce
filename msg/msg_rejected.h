/* msg_rejected.h -- a message the broker refused for its content (protocol.md 7.2), passed on
 * pantau/v1/_sys/rejected so that the collector stores it as a dead letter.
 *
 * The payload plugin encodes it (the refused payload goes in base64, RFC 4648 with padding);
 * the collector parses it. Also the base64 codec itself, and a helper that makes any bytes fit
 * the text rules of the `topic` and `reason` members.
 *
 * Not for: deciding what to refuse (msg_event_parse), deduplication (the collector). */
#ifndef MSG_REJECTED_H
#define MSG_REJECTED_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "msg_deadcat.h"
#include "msg_err.h"
#include "msg_event.h"
#include "msg_topic.h"

#define MSG_REJECTED_TOPIC_MAX 256        /* code points */
#define MSG_REJECTED_REASON_MAX 200       /* code points */
#define MSG_REJECTED_PAYLOAD_MAX 8192     /* bytes of the refused payload (longer ones are cut) */
#define MSG_REJECTED_MSG_MAX 16384        /* bytes of a rejected message (section 8) */
#define MSG_BASE64_LEN(n) (((n) + 2) / 3 * 4)   /* characters for n bytes, without NUL */
#define MSG_REJECTED_SIZE_MAX 268435455   /* `size`: the largest MQTT payload there can be */
#define MSG_REJECTED_SHA256_LEN 32

/* `category`: why, as a closed set (protocol.md 7.2): the first MSG_DEADCAT_WIRE_COUNT
 * dead-letter categories of msg_deadcat.h, with their values; the order is the wire's names'. */
enum msg_rejected_category {
    MSG_REJECTED_JSON = MSG_DEADCAT_JSON,
    MSG_REJECTED_SCHEMA = MSG_DEADCAT_SCHEMA,
    MSG_REJECTED_TOPIC = MSG_DEADCAT_TOPIC,
    MSG_REJECTED_STATION = MSG_DEADCAT_STATION,
    MSG_REJECTED_IDENTITY = MSG_DEADCAT_IDENTITY,
    MSG_REJECTED_CATEGORY_COUNT = MSG_DEADCAT_WIRE_COUNT
};

struct msg_rejected {
    int64_t ts_ms;                        /* when the broker refused it */
    char device[MSG_ID_MAX + 1];          /* the authenticated identity */
    char topic[MSG_CP_BYTES(MSG_REJECTED_TOPIC_MAX)];
    char reason[MSG_CP_BYTES(MSG_REJECTED_REASON_MAX)];
    bool has_category;
    int category;                         /* enum msg_rejected_category */
    bool has_size;
    uint64_t size;                        /* the whole payload's bytes, before any cut */
    bool has_sha256;
    unsigned char sha256[MSG_REJECTED_SHA256_LEN]; /* SHA-256 of the whole payload */
    size_t payload_len;
    unsigned char payload[MSG_REJECTED_PAYLOAD_MAX];
};

/* The wire name of a category ("json", ...: msg_deadcat_name), or NULL if c is not one the
 * broker may name. */
const char *msg_rejected_category_name(int c);

/* The category named name (NUL-terminated, borrowed), or -1 if it is none the broker may
 * name. */
int msg_rejected_category_find(const char *name);

/* Copies src (srclen bytes, borrowed, any content) into dst (dstsize bytes) as text that the
 * protocol accepts: invalid UTF-8, control characters and noncharacters become '?', the result
 * is cut to max_cp code points (and to what dstsize holds), and an empty result becomes "?".
 * For the plugin, before msg_rejected_encode: topic and err texts can hold anything. */
void msg_rejected_set_text(char *dst, size_t dstsize, const char *src, size_t srclen,
                           size_t max_cp);

/* Copies payload (len bytes, borrowed) into r and sets r->size to len (has_size). A payload
 * longer than MSG_REJECTED_PAYLOAD_MAX is cut to its first MSG_REJECTED_PAYLOAD_MAX bytes and
 * r->reason (set it first) gets " (payload cut to its first 8192 of N bytes)", shortening the
 * reason itself if the whole would exceed MSG_REJECTED_REASON_MAX code points (protocol.md
 * 7.2). The SHA-256 of the whole payload is the caller's to set (msg/ has no hash). */
void msg_rejected_set_payload(struct msg_rejected *r, const void *payload, size_t len);

/* Writes r (borrowed) as a JSON payload into buf (buflen bytes) with a NUL; *outlen gets its
 * length. The optional members category, size and sha256 are written when their has_ flag is
 * set. Returns MSG_OK; MSG_ERR_INVAL if a member breaks the contract (bad device id, topic or
 * reason that is not 1..max code points of text, payload_len too large, a category that is
 * none, size above MSG_REJECTED_SIZE_MAX); MSG_ERR_FULL if it does not fit into buf
 * (MSG_REJECTED_MSG_MAX + 1 bytes always suffice for a valid r). */
int msg_rejected_encode(const struct msg_rejected *r, char *buf, size_t buflen, size_t *outlen);

/* Validates payload (len bytes, borrowed) as a rejected message and fills caller-owned *out
 * (the refused payload decoded; has_category, has_size and has_sha256 say which optional
 * members were there). Returns MSG_OK, MSG_ERR_JSON, MSG_ERR_SCHEMA or MSG_ERR_NOMEM, with err
 * naming the member. `size` is not checked against the payload's length (it is the broker's
 * word on what it cut): a reader takes the larger of the two. */
int msg_rejected_parse(const void *payload, size_t len, struct msg_rejected *out, char *err,
                       size_t errlen);

/* Writes in (len bytes, borrowed) as base64 with padding and a NUL into out (outsize bytes).
 * Returns the number of characters, or 0 with out[0] = '\0' if they do not fit (len 0 also
 * gives 0). */
size_t msg_base64_encode(const void *in, size_t len, char *out, size_t outsize);

/* Decodes in (len characters, borrowed) strictly: the RFC 4648 alphabet, length a multiple of
 * 4, '=' only as the final one or two characters, padding bits zero (so every byte string has
 * exactly one encoding), no white space. Writes at most outsize bytes
 * into out and their number into *outlen. Returns MSG_OK, MSG_ERR_INVAL (not base64; *bad_off,
 * if not NULL, gets the offending character's offset) or MSG_ERR_FULL (out too small). */
int msg_base64_decode(const char *in, size_t len, void *out, size_t outsize, size_t *outlen,
                      size_t *bad_off);

#endif
