/* fuzz_msg_event.c -- libFuzzer target for msg_event_parse(), the validator that the broker
 * plugin and the collector share.
 *
 * Input: TOPIC, then a NUL or a newline, then the payload's bytes (no separator: all of it is
 * the topic, with an empty payload). Besides "no crash, no leak, no undefined behaviour" it
 * checks that every err is a printable line, that the lexer and cJSON agree (no MSG_ERR_NOMEM),
 * and that a valid message round-trips: msg_event_encode() -> msg_event_parse() gives the same
 * canonical form and the same `replay`. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "fuzz_check.h"
#include "msg_event.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void round_trip(const struct msg_event *ev, const char *topic, size_t topic_len)
{
    static char payload[4 * MSG_PAYLOAD_MAX];
    static char c1[MSG_CANONICAL_MAX];
    static char c2[MSG_CANONICAL_MAX];
    struct msg_event back;
    char err[MSG_ERRLEN] = "";
    size_t len = 0;
    size_t l1 = 0;
    size_t l2 = 0;
    int rc;

    FUZZ_ASSERT(msg_event_canonical(ev, c1, sizeof(c1), &l1) == MSG_OK);
    FUZZ_ASSERT(msg_event_encode(ev, payload, sizeof(payload), &len) == MSG_OK);
    if (len > MSG_PAYLOAD_MAX) {
        return;   /* a longer spelling of the same numbers ("1e20" -> "1e+20") */
    }
    rc = msg_event_parse(topic, topic_len, payload, len, &back, err, sizeof(err));
    if (rc != MSG_OK) {
        fprintf(stderr, "re-encoded payload refused: %s: %s\n%.*s\n", msg_errname(rc), err,
                (int)len, payload);
        abort();
    }
    FUZZ_ASSERT(msg_event_canonical(&back, c2, sizeof(c2), &l2) == MSG_OK);
    FUZZ_ASSERT(l1 == l2 && memcmp(c1, c2, l1) == 0);
    FUZZ_ASSERT(back.env.replay == ev->env.replay);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *in = (const char *)data;
    size_t topic_len = 0;
    struct msg_event ev;
    char err[MSG_ERRLEN];
    int rc;

    while (topic_len < size && in[topic_len] != '\0' && in[topic_len] != '\n') {
        topic_len++;
    }
    memset(err, 'x', sizeof(err));   /* the callee must terminate what it writes */
    err[0] = '\0';
    rc = msg_event_parse(in, topic_len, topic_len < size ? in + topic_len + 1 : "",
                         topic_len < size ? size - topic_len - 1 : 0, &ev, err, sizeof(err));
    fuzz_check_err(rc, err);
    if (rc == MSG_OK) {
        round_trip(&ev, in, topic_len);
    }
    return 0;
}
